//! Raw Ed25519 and X25519 private keys, held by runtimes with no encoding around them
//! (issue #15: about 4 in 10 keys in dumps of real programs were missed, most of them these).
//!
//! An Ed25519 or X25519 private key is 32 random bytes: nothing in them says "key", and
//! deriving a public key for every 32-byte window of a dump would cost hours. But every
//! runtime keeps the public key next to the private one, in a structure of its own, so the
//! candidates are found by *structure* and proven by *derivation*:
//!
//! | layout | structure found | private bytes |
//! |---|---|---|
//! | OpenSSL 3.x `ECX_KEY` (`include/crypto/ecx.h`) | `haspubkey` bit, inline `pubkey[57]` (32 bytes used, the rest zero), `privkey` pointer, `keylen` = 32, `type` X25519 (0) or ED25519 (2) | 32 bytes at `privkey`, followed through the dump's address map |
//! | Go `ed25519.PrivateKey` | a `[]byte` header `{ptr, len 64, cap 64}` | seed ‖ public key at `ptr` |
//! | libsodium / PyNaCl secret key in a Python `bytes` | `{ob_refcnt, ob_type, ob_size 64, ob_shash}` then 64 bytes and a NUL | seed ‖ public key inline |
//! | any seed ‖ public key (libsodium `crypto_sign` sk, BoringSSL, OpenSSH's key blob) | the public key seen in the dump in an encoding (SPKI, certificate, `ssh-ed25519` line or wire, JWK) or given in `--known-keys`, found again raw | the 32 bytes before it |
//!
//! A candidate is reported only when the public key derived from its private bytes equals
//! the stored one (Ed25519: SHA-512 of the seed, clamped, times the base point; X25519:
//! X25519(k, 9)), so every finding is verified and carries the docs/design.md fingerprint of
//! that public key. The headers are checked field by field before anything is derived, and
//! derivations are capped per chunk ([`MAX_DERIVE_PER_CHUNK`]): on a 1.5 GB python core the
//! structure filters leave a handful of candidates (see the README).
//!
//! The proven key is handed to the gate in the verdict's [`crate::keys::Material`], so the
//! redaction removes the seed wherever and however it is stored.

use super::{align, Anchor, Detector, Family, ScanContext, Sink};
use crate::input::AddressSpace;
use crate::keys::{self, PrivateKey, Status};
use crate::report::Finding;
use aho_corasick::AhoCorasick;
use std::collections::HashMap;

pub struct RawEd25519;

const NAME: &str = "raw-ed25519";

/// Public-key derivations (a SHA-512 and a base-point multiplication, about 20 µs) per 4 MiB
/// chunk. Real dumps need a few per dump; this bounds a hostile chunk to about 10 ms.
const MAX_DERIVE_PER_CHUNK: usize = 512;
/// Public keys searched for raw in the whole-dump pass, occurrences of them examined, and
/// bytes searched between two page releases.
const MAX_PUBLIC: usize = 64;
const MAX_OCCURRENCES: usize = 4096;
const SLICE: usize = 64 << 20;

/// `ECX_KEY_TYPE` values (OpenSSL 3.x `include/crypto/ecx.h`).
const ECX_X25519: u32 = 0;
const ECX_ED25519: u32 = 2;
/// `ECX_KEY` field offsets on 64-bit targets: `libctx` 0, `propq` 8, the `haspubkey:1`
/// bit-field at 16, `pubkey[57]`, `privkey` 80, `keylen` 88, `type` 96. Unchanged from 3.0 to
/// 3.5 and 4.0 (later versions only changed the fields after `type`).
const ECX_HASPUB: usize = 16;
const ECX_PRIV: usize = 80;
const ECX_KEYLEN: usize = 88;
const ECX_TYPE: usize = 96;
/// Where `pubkey` starts: GCC and Clang (System V ABI) pack the `char` array into the byte
/// after the bit-field's (17: checked against real processes, the system's OpenSSL 3.0 and
/// python `cryptography`'s bundled OpenSSL); MSVC starts it after the bit-field's whole
/// `unsigned int` (20: from MSVC's bit-field rules, no Windows process was at hand). A 25519
/// key uses 32 of its 57 bytes; the rest and the padding up to `privkey` stay zero (the
/// struct is allocated zeroed).
const ECX_PUB_GNU: usize = 17;
const ECX_PUB_MSVC: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Alg {
    Ed25519,
    X25519,
}

/// How the key was held: the finding's `encoding`, and words for its verification.
#[derive(Clone, Copy)]
enum Layout {
    EcxKey,
    GoSlice,
    PyBytes,
    BesidePublic,
}

impl Layout {
    fn encoding(self) -> &'static str {
        match self {
            Layout::EcxKey => "openssl-ecx-key",
            Layout::GoSlice => "go-slice-seed-pk",
            Layout::PyBytes => "python-bytes-seed-pk",
            Layout::BesidePublic => "seed-pk",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Layout::EcxKey => "the private key behind an OpenSSL ECX_KEY's privkey pointer",
            Layout::GoSlice => "a Go []byte of seed ‖ public key (crypto/ed25519 PrivateKey)",
            Layout::PyBytes => {
                "a Python bytes object of seed ‖ public key (libsodium / PyNaCl secret key)"
            }
            Layout::BesidePublic => "the 32 bytes before a raw copy of a public key",
        }
    }

    fn stored(self) -> &'static str {
        match self {
            Layout::EcxKey => "the struct's inline pubkey",
            Layout::GoSlice | Layout::PyBytes => "the stored public half",
            Layout::BesidePublic => "the public key",
        }
    }
}

impl Detector for RawEd25519 {
    fn name(&self) -> &'static str {
        NAME
    }

    fn family(&self) -> Family {
        Family::Raw
    }

    fn describe(&self) -> &'static str {
        "raw Ed25519/X25519 keys: OpenSSL ECX_KEY, Go ed25519, libsodium seed and public key"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}

    fn scan_chunk(&self, cx: &ScanContext<'_>, start: usize, end: usize, sink: &mut Sink) {
        let space = cx.space.has_va_map().then_some(cx.space);
        let mut prover = Prover::new(MAX_DERIVE_PER_CHUNK);
        for (s, e, delta) in align::spans(cx.regions, start, end) {
            // A word that starts before `e` is this chunk's even when it ends past it.
            let first = align::first_aligned(s, delta, 8);
            let Some(words) = cx.data.get(first..(e + 7).min(cx.data.len())) else {
                continue;
            };
            // Every header here has a small length word (32 or 64) at an aligned address. Most
            // blocks of eight words hold neither: one branch-free test per word (it
            // vectorises), the per-word work only in the few blocks that do.
            for (b, block) in words.chunks(64).enumerate() {
                let hit = block
                    .chunks_exact(8)
                    .fold(false, |a, w| a | is_length_word(word(w)));
                if !hit {
                    continue;
                }
                for (i, w) in block.chunks_exact(8).enumerate() {
                    let w = word(w);
                    if !is_length_word(w) {
                        continue;
                    }
                    let p = first + 64 * b + 8 * i;
                    if w == 32 {
                        if let Some(space) = space {
                            ecx_key(cx.data, space, p, &mut prover);
                        }
                    } else {
                        if let Some(space) = space {
                            go_slice(cx.data, space, p, &mut prover);
                        }
                        py_bytes(cx.data, p, &mut prover);
                    }
                }
            }
        }
        sink.findings.extend(prover.findings);
    }

    fn finish(&self, cx: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
        beside_public_keys(cx, found, sink);
    }
}

/// An 8-byte little-endian word.
#[inline(always)]
fn word(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().unwrap_or_default())
}

/// 32 (`ECX_KEY.keylen`) or 64 (a Go slice's `len`, a Python bytes' `ob_size`): then
/// `w − 32` is 0 or 32.
#[inline(always)]
fn is_length_word(w: u64) -> bool {
    w.wrapping_sub(32) & !32 == 0
}

#[inline(always)]
fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

#[inline(always)]
fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn bytes32(d: &[u8], at: usize) -> Option<[u8; 32]> {
    d.get(at..at.checked_add(32)?)?.try_into().ok()
}

/// A user-space pointer as 64-bit processes have them: canonical lower half, aligned.
fn plausible_pointer(p: u64) -> bool {
    (0x10000..(1 << 47)).contains(&p) && p % 8 == 0
}

/// Key bytes are uniform: 32 random bytes hold five zeros about once in 10⁷ keys, while
/// pointers, counters, text and padding that happen to sit where a header expects a key
/// are full of them (and of repeated bytes).
fn looks_random(b: &[u8; 32]) -> bool {
    let zeros = b.iter().filter(|&&x| x == 0).count();
    let mut distinct = [false; 256];
    for &x in b {
        distinct[x as usize] = true;
    }
    zeros <= 4 && distinct.iter().filter(|&&d| d).count() >= 16
}

/// `len` bytes at virtual address `addr`, when the dump maps them contiguously: the file
/// offset and the bytes.
fn read_va<'a>(
    data: &'a [u8],
    space: &AddressSpace,
    addr: u64,
    len: usize,
) -> Option<(usize, &'a [u8])> {
    let (off, avail) = space.to_file(addr)?;
    if avail < len as u64 {
        return None;
    }
    let off = usize::try_from(off).ok()?;
    Some((off, data.get(off..off.checked_add(len)?)?))
}

/// `keylen` = 32 at `p`: an `ECX_KEY` starts 88 bytes before it.
fn ecx_key(data: &[u8], space: &AddressSpace, p: usize, prover: &mut Prover) -> Option<()> {
    let base = p.checked_sub(ECX_KEYLEN)?;
    let alg = match u32_at(data, base + ECX_TYPE)? {
        ECX_X25519 => Alg::X25519,
        ECX_ED25519 => Alg::Ed25519,
        _ => return None,
    };
    let ptr = u64_at(data, base + ECX_PRIV)?;
    if !plausible_pointer(ptr) {
        return None;
    }
    // The MSVC layout has `haspubkey` as a whole little-endian word of 1; the GNU one only
    // its first byte (the next ones are the key).
    let at = if u32_at(data, base + ECX_HASPUB)? == 1 {
        ECX_PUB_MSVC
    } else if *data.get(base + ECX_HASPUB)? == 1 {
        ECX_PUB_GNU
    } else {
        return None;
    };
    let zero_tail = data.get(base + at + 32..base + ECX_PRIV)?;
    if zero_tail.iter().any(|&b| b != 0) {
        return None;
    }
    let public = bytes32(data, base + at)?;
    if !looks_random(&public) {
        return None;
    }
    let (off, private) = read_va(data, space, ptr, 32)?;
    let private: [u8; 32] = private.try_into().ok()?;
    prover.try_pair(alg, private, public, off, 32, Layout::EcxKey);
    Some(())
}

/// `len` = 64 at `p` and `cap` = 64 after it: a Go slice header whose `ptr` precedes.
fn go_slice(data: &[u8], space: &AddressSpace, p: usize, prover: &mut Prover) -> Option<()> {
    if u64_at(data, p + 8)? != 64 {
        return None;
    }
    let ptr = u64_at(data, p.checked_sub(8)?)?;
    if !plausible_pointer(ptr) {
        return None;
    }
    let (off, pair) = read_va(data, space, ptr, 64)?;
    seed_pk(pair, off, Layout::GoSlice, prover)
}

/// `ob_size` = 64 at `p`: a `PyBytesObject` (`ob_refcnt`, `ob_type`, `ob_size`, `ob_shash`,
/// then the bytes and a terminating NUL). Needs no address map: the bytes are inline.
fn py_bytes(data: &[u8], p: usize, prover: &mut Prover) -> Option<()> {
    let refcnt = u64_at(data, p.checked_sub(16)?)?;
    let ty = u64_at(data, p - 8)?;
    if refcnt == 0 || refcnt > u32::MAX as u64 || !plausible_pointer(ty) {
        return None;
    }
    let at = p + 16;
    if *data.get(at + 64)? != 0 {
        return None;
    }
    seed_pk(data.get(at..at + 64)?, at, Layout::PyBytes, prover)
}

/// 64 bytes of seed ‖ public key (Ed25519; libsodium's `crypto_sign` secret key, Go's
/// `ed25519.PrivateKey`).
fn seed_pk(pair: &[u8], off: usize, layout: Layout, prover: &mut Prover) -> Option<()> {
    let seed = bytes32(pair, 0)?;
    let public = bytes32(pair, 32)?;
    if looks_random(&seed) && looks_random(&public) {
        prover.try_pair(Alg::Ed25519, seed, public, off, 64, layout);
    }
    Some(())
}

/// Derives public keys within a budget, remembers what it derived (a key is often held
/// several times), and turns matches into findings.
struct Prover {
    budget: usize,
    derived: HashMap<(Alg, [u8; 32]), [u8; 32]>,
    findings: Vec<Finding>,
}

impl Prover {
    fn new(budget: usize) -> Prover {
        Prover {
            budget,
            derived: HashMap::new(),
            findings: Vec::new(),
        }
    }

    fn derive(&mut self, alg: Alg, private: [u8; 32]) -> Option<[u8; 32]> {
        if let Some(p) = self.derived.get(&(alg, private)) {
            return Some(*p);
        }
        if self.budget == 0 {
            return None;
        }
        self.budget -= 1;
        let p = match alg {
            Alg::Ed25519 => ed25519_dalek::SigningKey::from_bytes(&private)
                .verifying_key()
                .to_bytes(),
            Alg::X25519 => {
                x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(private)).to_bytes()
            }
        };
        self.derived.insert((alg, private), p);
        Some(p)
    }

    fn try_pair(
        &mut self,
        alg: Alg,
        private: [u8; 32],
        public: [u8; 32],
        offset: usize,
        len: usize,
        layout: Layout,
    ) {
        if self.derive(alg, private) != Some(public) {
            return;
        }
        // The derivation matched: the key module proves it again and builds the verdict
        // (fingerprint, material for the redaction).
        let key = match alg {
            Alg::Ed25519 => PrivateKey::Ed25519 {
                seed: private,
                public: Some(public.to_vec()),
            },
            Alg::X25519 => PrivateKey::X25519 {
                scalar: private,
                public: Some(public.to_vec()),
            },
        };
        let mut verdict = keys::verify(&key);
        if verdict.status != Status::Verified {
            return;
        }
        let name = verdict.key.algorithm.clone();
        verdict.verification = format!(
            "{name} private key in {}: derived public key equals {}",
            layout.describe(),
            layout.stored()
        );
        verdict.key.format = Some(layout.encoding().into());
        let preview = format!(
            "[{name} private key, {}, {len} bytes, redacted]",
            layout.encoding()
        );
        self.findings.push(Finding::key(
            NAME,
            layout.encoding(),
            offset as u64,
            len as u64,
            &verdict,
            preview,
        ));
    }
}

/// Keys held as seed ‖ public key with no header around them: the public key is seen in the
/// dump in an encoding (or given in the inventory) and found again raw; the 32 bytes before
/// each raw copy are tried as its private key. Runs only when such a public key has no
/// verified private key yet, so most dumps pay nothing for it.
fn beside_public_keys(cx: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
    let proven: std::collections::HashSet<&str> = found
        .findings
        .iter()
        .filter(|f| f.verified)
        .filter_map(|f| f.fingerprint.as_deref())
        .collect();
    let mut publics: Vec<(Alg, [u8; 32])> = Vec::new();
    for r in cx.inventory.iter().chain(&found.public_keys) {
        let alg = match r.algorithm.as_str() {
            "Ed25519" => Alg::Ed25519,
            "X25519" => Alg::X25519,
            _ => continue,
        };
        let Some(pk) = r
            .point
            .as_deref()
            .and_then(|p| <[u8; 32]>::try_from(p).ok())
        else {
            continue;
        };
        let fp = crate::keys::fingerprint::sha256_fingerprint(&r.spki);
        if proven.contains(fp.as_str()) || publics.contains(&(alg, pk)) || !looks_random(&pk) {
            continue;
        }
        publics.push((alg, pk));
        if publics.len() >= MAX_PUBLIC {
            break;
        }
    }
    if publics.is_empty() {
        return;
    }
    let Ok(ac) = AhoCorasick::new(publics.iter().map(|(_, pk)| pk)) else {
        return;
    };
    let mut prover = Prover::new(MAX_OCCURRENCES);
    let mut seen = 0;
    let mut at = 0;
    // Whole-dump pass in slices, handing pages back as the other whole-dump passes do; a
    // match belongs to the slice it starts in.
    while at < cx.data.len() && seen < MAX_OCCURRENCES {
        let end = (at + SLICE).min(cx.data.len());
        let hay = &cx.data[at..(end + 31).min(cx.data.len())];
        for m in ac.find_overlapping_iter(hay) {
            let o = at + m.start();
            if o >= end || seen >= MAX_OCCURRENCES {
                break;
            }
            seen += 1;
            let (alg, pk) = publics[m.pattern().as_usize()];
            let Some(private) = o.checked_sub(32).and_then(|s| bytes32(cx.data, s)) else {
                continue;
            };
            if looks_random(&private) {
                prover.try_pair(alg, private, pk, o - 32, 64, Layout::BesidePublic);
            }
        }
        cx.release(at, end);
        at = end;
    }
    sink.findings.extend(prover.findings);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Region, RegionKind};
    use crate::keys::testkeys::noise;
    use crate::Scanner;

    const BASE: u64 = 0x7f00_0000_0000;

    fn space_for(len: u64) -> AddressSpace {
        let mut s = AddressSpace::default();
        let r = Region {
            file_offset: 0,
            len,
            address: Some(BASE),
            kind: RegionKind::Memory,
            label: "memory".into(),
            truncated: false,
        };
        s.finish_with(&[r]);
        s
    }

    fn ed_pair(seed: u64) -> ([u8; 32], [u8; 32]) {
        let s: [u8; 32] = noise(32, seed).try_into().unwrap();
        let p = ed25519_dalek::SigningKey::from_bytes(&s)
            .verifying_key()
            .to_bytes();
        (s, p)
    }

    fn x_pair(seed: u64) -> ([u8; 32], [u8; 32]) {
        let s: [u8; 32] = noise(32, seed).try_into().unwrap();
        let p = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(s)).to_bytes();
        (s, p)
    }

    fn put(d: &mut [u8], at: usize, b: &[u8]) {
        d[at..at + b.len()].copy_from_slice(b);
    }

    /// An `ECX_KEY` at `at` (GCC layout) whose privkey points at `priv_at`.
    fn ecx(d: &mut [u8], at: usize, ty: u32, public: &[u8; 32], priv_at: usize) {
        ecx_with(d, at, ECX_PUB_GNU, ty, public, priv_at)
    }

    fn ecx_with(
        d: &mut [u8],
        at: usize,
        pub_at: usize,
        ty: u32,
        public: &[u8; 32],
        priv_at: usize,
    ) {
        d[at..at + 104].fill(0);
        d[at + ECX_HASPUB] = 1;
        put(d, at + pub_at, public);
        put(d, at + ECX_PRIV, &(BASE + priv_at as u64).to_le_bytes());
        put(d, at + ECX_KEYLEN, &32u64.to_le_bytes());
        put(d, at + ECX_TYPE, &ty.to_le_bytes());
        put(d, at + ECX_TYPE + 4, &1u32.to_le_bytes());
    }

    fn scan(d: &[u8]) -> Vec<Finding> {
        scan_range(d, 0, d.len())
    }

    fn scan_range(d: &[u8], start: usize, end: usize) -> Vec<Finding> {
        let regions = vec![Region {
            file_offset: 0,
            len: d.len() as u64,
            address: Some(BASE),
            kind: RegionKind::Memory,
            label: "memory".into(),
            truncated: false,
        }];
        let space = space_for(d.len() as u64);
        let cx = ScanContext {
            data: d,
            regions: &regions,
            space: &space,
            inventory: &[],
            pages: None,
        };
        let mut sink = Sink::default();
        RawEd25519.scan_chunk(&cx, start, end, &mut sink);
        sink.findings
    }

    #[test]
    fn each_layout_is_found_and_verified() {
        let mut d = noise(1 << 16, 1);
        let (es, ep) = ed_pair(2);
        let (xs, xp) = x_pair(3);
        let (gs, gp) = ed_pair(4);
        let (ps, pp) = ed_pair(5);
        ecx(&mut d, 0x100, ECX_ED25519, &ep, 0x1000);
        put(&mut d, 0x1000, &es);
        ecx(&mut d, 0x200, ECX_X25519, &xp, 0x1100);
        put(&mut d, 0x1100, &xs);
        // The MSVC layout (pubkey after the bit-field's whole word).
        let (ms, mp) = ed_pair(6);
        ecx_with(&mut d, 0x500, ECX_PUB_MSVC, ECX_ED25519, &mp, 0x1200);
        put(&mut d, 0x1200, &ms);
        // Go slice header at 0x300 → seed ‖ pk at 0x2000.
        put(&mut d, 0x300, &(BASE + 0x2000).to_le_bytes());
        put(&mut d, 0x308, &64u64.to_le_bytes());
        put(&mut d, 0x310, &64u64.to_le_bytes());
        put(&mut d, 0x2000, &gs);
        put(&mut d, 0x2020, &gp);
        // Python bytes at 0x400.
        put(&mut d, 0x400, &1u64.to_le_bytes());
        put(&mut d, 0x408, &(BASE + 0x40).to_le_bytes());
        put(&mut d, 0x410, &64u64.to_le_bytes());
        put(&mut d, 0x418, &u64::MAX.to_le_bytes());
        put(&mut d, 0x420, &ps);
        put(&mut d, 0x440, &pp);
        d[0x460] = 0;
        let f = scan(&d);
        let got: Vec<(&str, u64, &str)> = f
            .iter()
            .map(|f| (f.encoding.as_str(), f.offset, f.kind.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("openssl-ecx-key", 0x1000, "ed25519-private-key"),
                ("openssl-ecx-key", 0x1100, "x25519-private-key"),
                ("go-slice-seed-pk", 0x2000, "ed25519-private-key"),
                ("python-bytes-seed-pk", 0x420, "ed25519-private-key"),
                ("openssl-ecx-key", 0x1200, "ed25519-private-key"),
            ]
        );
        assert!(f.iter().all(|f| f.verified && f.material.is_some()));
        let want = crate::keys::fingerprint::sha256_fingerprint(
            &crate::keys::fingerprint::ed25519_spki(&ep).unwrap(),
        );
        assert_eq!(f[0].fingerprint.as_deref(), Some(want.as_str()));
        let want = crate::keys::fingerprint::sha256_fingerprint(
            &crate::keys::fingerprint::x25519_spki(&xp).unwrap(),
        );
        assert_eq!(f[1].fingerprint.as_deref(), Some(want.as_str()));
    }

    #[test]
    fn a_header_across_a_chunk_boundary_is_found_once() {
        let mut d = noise(1 << 14, 16);
        let (s, p) = ed_pair(17);
        put(&mut d, 0x300, &(BASE + 0x2000).to_le_bytes());
        put(&mut d, 0x308, &64u64.to_le_bytes());
        put(&mut d, 0x310, &64u64.to_le_bytes());
        put(&mut d, 0x2000, &s);
        put(&mut d, 0x2020, &p);
        // The chunk ends in the middle of the `len` word at 0x308.
        for cut in [0x30c, 0x308, 0x310] {
            let n = scan_range(&d, 0, cut).len() + scan_range(&d, cut, d.len()).len();
            assert_eq!(n, 1, "cut at {cut:#x}");
        }
    }

    #[test]
    fn wrong_public_keys_and_damaged_headers_prove_nothing() {
        let mut d = noise(1 << 16, 6);
        let (es, _) = ed_pair(7);
        let (_, other) = ed_pair(8);
        // A stored public key of another key.
        ecx(&mut d, 0x100, ECX_ED25519, &other, 0x1000);
        put(&mut d, 0x1000, &es);
        // The right key, but an Ed25519 struct marked X25519.
        let (s2, p2) = ed_pair(9);
        ecx(&mut d, 0x200, ECX_X25519, &p2, 0x1100);
        put(&mut d, 0x1100, &s2);
        // The right key, but the pointer leads outside the dump.
        let (s3, p3) = ed_pair(10);
        ecx(&mut d, 0x300, ECX_ED25519, &p3, 0x10_0000);
        put(&mut d, 0x1200, &s3);
        // A seed ‖ pk whose public half has one bit flipped.
        let (s4, mut p4) = ed_pair(11);
        p4[5] ^= 1;
        put(&mut d, 0x400, &(BASE + 0x2000).to_le_bytes());
        put(&mut d, 0x408, &64u64.to_le_bytes());
        put(&mut d, 0x410, &64u64.to_le_bytes());
        put(&mut d, 0x2000, &s4);
        put(&mut d, 0x2020, &p4);
        assert!(scan(&d).is_empty());
        // Headers over zeros and over noise alone.
        assert!(scan(&vec![0u8; 1 << 16]).is_empty());
        assert!(scan(&noise(1 << 20, 12)).is_empty());
    }

    #[test]
    fn hostile_headers_are_bounded() {
        // Thousands of well-formed Go slice headers pointing at distinct random bytes: each
        // costs a derivation, and the chunk stops at its budget.
        let n = 4096;
        let mut d = noise(n * 24 + n * 64, 13);
        for i in 0..n {
            let h = i * 24;
            put(&mut d, h, &(BASE + (n * 24 + i * 64) as u64).to_le_bytes());
            put(&mut d, h + 8, &64u64.to_le_bytes());
            put(&mut d, h + 16, &64u64.to_le_bytes());
        }
        let t = std::time::Instant::now();
        assert!(scan(&d).is_empty());
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        // Headers at the very end of the data, pointers at the last bytes.
        let mut d = vec![0u8; 256];
        put(&mut d, 240, &64u64.to_le_bytes());
        put(&mut d, 248, &64u64.to_le_bytes());
        put(&mut d, 232, &(BASE + 250).to_le_bytes());
        put(&mut d, 168, &32u64.to_le_bytes());
        assert!(scan(&d).is_empty());
    }

    #[test]
    fn seed_before_a_public_key_seen_in_the_dump() {
        // A libsodium secret key (seed ‖ pk) with no header, and the key's SPKI elsewhere.
        let (s, p) = ed_pair(14);
        let spki = crate::keys::fingerprint::ed25519_spki(&p).unwrap();
        let mut d = noise(1 << 18, 15);
        put(&mut d, 0x1000, &spki);
        put(&mut d, 0x9003, &s);
        put(&mut d, 0x9023, &p);
        let r = Scanner::new().scan_bytes("sk", &d);
        let f: Vec<_> = r.findings.iter().filter(|f| f.detector == NAME).collect();
        assert_eq!(f.len(), 1, "{:#?}", r.findings);
        assert_eq!((f[0].offset, f[0].length), (0x9003, 64));
        assert_eq!(f[0].encoding, "seed-pk");
        assert!(f[0].verified);
        let want = crate::keys::fingerprint::sha256_fingerprint(&spki);
        assert_eq!(f[0].fingerprint.as_deref(), Some(want.as_str()));
        let json = r.to_json(false);
        assert!(!json.contains(&hex::encode(s)[..32]));
        // Without the SPKI nothing points at it.
        let mut d = noise(1 << 18, 15);
        put(&mut d, 0x9003, &s);
        put(&mut d, 0x9023, &p);
        let r = Scanner::new().scan_bytes("sk", &d);
        assert!(r.findings.iter().all(|f| f.detector != NAME));
    }
}
