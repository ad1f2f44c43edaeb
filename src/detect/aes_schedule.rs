//! AES keys as expanded key schedules (docs/key-formats.md §9): AES-128/192/256, encryption and
//! decryption ("equivalent inverse cipher": reversed round keys, InvMixColumns on the inner
//! rounds) schedules, in FIPS byte order (OpenSSL AES-NI, SymCrypt, most C code) and with
//! bytes reversed in each 32-bit word (OpenSSL's C `AES_KEY`), tolerating a few damaged bits.
//!
//! Every byte offset is covered without testing every offset. Most schedule words obey a
//! linear relation w[i] = w[i−Nk] ⊕ w[i−1]; byte-wise that is d[y] ⊕ d[y+a] ⊕ d[y+b] = 0 for
//! a fixed (a, b) per key size and direction, and it survives InvMixColumns (linear) and the
//! per-word byte reversal (it holds byte by byte). One vectorisable pass counts, for each
//! 32-byte block and each of six (a, b) shapes, the bytes where the relation holds; random
//! data scores ≈ 0.06, a schedule ≥ 8 of 16 in every inner block. Only offsets near a block
//! that scores are checked, first with a few relation words, then with every constraint
//! (1280–1664 bits), which no non-schedule data satisfies.
//!
//! Severity follows what the key lets an attacker do (README "Symmetric keys and the gate").
//! A schedule says nothing of what the key protects: every process that uses OpenSSL keeps
//! several (its random generator's, its TLS sessions'), and such a key only decrypts data the
//! attacker must also hold, for as long as that data matters. So a schedule alone is `medium`:
//! reported, not blocking by default (a policy can block kind `aes-key`). The key of an
//! OpenSSL CTR-DRBG, recognised by the `PROV_DRBG_CTR` structure around its raw copy (see
//! [`drbg_keys`]), only predicts that process's next random bytes until its next reseed, so
//! it is `low`, as are published test keys (FIPS-197, SP 800-38A) and constant keys. Keys in
//! exchange formats (CNG, CryptoAPI blobs, JWK `oct`) are meant to be stored or sent, so they
//! stay `high` (src/detect/symmetric.rs).

use super::{Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::aes::{self, KeySize};
use crate::keys::{KeyInfo, Status, Verdict};
use crate::report::{Finding, Kind, Severity};
use std::sync::OnceLock;

pub struct AesSchedule;

/// Schedule bits allowed to disagree (counted the way aeskeyfind counts them; its default
/// threshold is 10, with `<` for AES-128).
pub const MAX_BIT_ERRORS: u32 = 16;

/// A byte relation d[y] ⊕ d[y+a] ⊕ d[y+b] = 0 that one kind of schedule satisfies densely.
struct Shape {
    a: usize,
    b: usize,
    size: KeySize,
    decrypt: bool,
    /// Matching bytes in a 32-byte block that make the block worth a closer look.
    min: u32,
}

/// Encryption: w[i] = w[i−Nk] ⊕ w[i−1] → (a, b) = (4Nk−4, 4Nk). Decryption round keys are
/// reversed, so the same relation reads w'[m] = w'[m−1] ⊕ w'[m+k]: (4, 4k+4) with k = 4 for
/// AES-128 and 8 for AES-256; AES-192 mixes k = 2 and k = 10 (6-word key in 4-word rounds)
/// and the k = 2 relation covers half of each round key.
const SHAPES: [Shape; 6] = [
    Shape {
        a: 12,
        b: 16,
        size: KeySize::Aes128,
        decrypt: false,
        min: 8,
    },
    Shape {
        a: 20,
        b: 24,
        size: KeySize::Aes192,
        decrypt: false,
        min: 8,
    },
    Shape {
        a: 28,
        b: 32,
        size: KeySize::Aes256,
        decrypt: false,
        min: 8,
    },
    Shape {
        a: 4,
        b: 20,
        size: KeySize::Aes128,
        decrypt: true,
        min: 8,
    },
    Shape {
        a: 4,
        b: 12,
        size: KeySize::Aes192,
        decrypt: true,
        min: 6,
    },
    Shape {
        a: 4,
        b: 36,
        size: KeySize::Aes256,
        decrypt: true,
        min: 8,
    },
];

/// Widest reach of a shape past its block.
const MAX_B: usize = 36;
/// Bytes per trigger block: one AVX2 vector.
const BLOCK: usize = 32;

impl Detector for AesSchedule {
    fn name(&self) -> &'static str {
        NAME
    }

    fn family(&self) -> Family {
        Family::Raw
    }

    fn describe(&self) -> &'static str {
        "AES-128/192/256 expanded key schedules"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}

    /// Schedules are held back in the chunk's state, with the DRBG keys seen in the same
    /// chunk: whether a schedule's key is a DRBG key is only known once every chunk was read
    /// (the `PROV_DRBG_CTR` often sits megabytes away from the cipher contexts).
    fn scan_chunk(&self, cx: &ScanContext<'_>, start: usize, end: usize, sink: &mut Sink) {
        let mut local = Sink::default();
        scan(cx.data, start, end, &mut local);
        sink.handoffs.aes_schedules.append(&mut local.findings);
        sink.handoffs
            .drbg_keys
            .extend(drbg_keys(cx.data, start, end).0);
    }

    fn finish(&self, _: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
        let drbg: std::collections::HashMap<u64, u64> = found
            .handoffs
            .drbg_keys
            .iter()
            .map(|k| (k.id, k.offset))
            .collect();
        for f in &found.handoffs.aes_schedules {
            let mut f = f.clone();
            let id = f.fingerprint.as_deref().map(key_id);
            if let Some(&at) = id.and_then(|id| drbg.get(&id)) {
                mark_drbg(&mut f, at);
            }
            sink.push(f);
        }
    }
}

const NAME: &str = "aes-schedule";

/// Keys found in OpenSSL CTR-DRBG state: a short id of the key (never the key) and where the
/// structure was.
#[derive(Default)]
struct DrbgKeys(Vec<DrbgKey>);

pub(crate) struct DrbgKey {
    id: u64,
    offset: u64,
}

/// A short identifier of a key fingerprint: the first 8 bytes of its SHA-256, enough to match
/// the few schedules of a dump against the few DRBG keys of the same dump.
fn key_id(fingerprint: &str) -> u64 {
    let hex = fingerprint.strip_prefix("sha256:").unwrap_or(fingerprint);
    u64::from_str_radix(hex.get(..16).unwrap_or("0"), 16).unwrap_or(0)
}

/// At most this many DRBG structures are remembered per chunk: a process has two per thread
/// plus one, and a hostile dump full of look-alikes must not grow the state without bound.
const MAX_DRBG_PER_CHUNK: usize = 512;

/// OpenSSL's CTR-DRBG state (providers/implementations/rands/drbg_ctr.c), 64-bit:
///
/// ```text
/// PROV_DRBG_CTR (3.x)                      RAND_DRBG_CTR (1.1.1)
///   EVP_CIPHER_CTX *ctx_ecb, *ctx_ctr;       EVP_CIPHER_CTX *ctx_ecb, *ctx_ctr;
///   EVP_CIPHER_CTX *ctx_df;                  EVP_CIPHER_CTX *ctx_df;
///   EVP_CIPHER *cipher_ecb, *cipher_ctr;     const EVP_CIPHER *cipher_ecb, *cipher_ctr;
///   size_t keylen;                           size_t keylen;
///   int use_df;                              unsigned char K[32];
///   unsigned char K[32]; /* no padding */    unsigned char V[16];
///   unsigned char V[16]; ...
/// ```
///
/// The raw key K follows five pointers (`ctx_df` is null without a derivation function) and
/// its own length (16, 24 or 32). A schedule whose key sits in such a structure is the
/// generator's key, found in every process that draws random numbers through OpenSSL (python
/// `ssl`, node, any TLS client): measured on a python `ssl`+`certifi` process, all six
/// non-test schedules were the keys of its three DRBGs (each kept by `ctx_ecb` and `ctx_ctr`),
/// and the other three were the fixed derivation-function key 00 01 … 1f (a FIPS-197 test key).
fn drbg_keys(data: &[u8], start: usize, end: usize) -> DrbgKeys {
    let mut out = DrbgKeys::default();
    let end = end.min(data.len());
    if start >= end {
        return out;
    }
    for keylen in [16u64, 24, 32] {
        let needle = keylen.to_le_bytes();
        // `keylen` starts in this chunk; the pointers before it may lie in the previous one.
        for at in memchr::memmem::find_iter(&data[start..end], &needle) {
            let at = start + at;
            let k = keylen as usize;
            // 3.x: keylen, use_df (0 or 1), then K (a byte array: no padding).
            let v3 = data
                .get(at + 8..at + 12)
                .map(|u| u32::from_le_bytes([u[0], u[1], u[2], u[3]]))
                .filter(|&use_df| use_df <= 1)
                .map(|use_df| (at + 12, use_df == 1));
            // 1.1.1: K right after keylen (use_df is a flag elsewhere, so ctx_df may be null).
            let v1 = Some((at + 8, false));
            for (key_at, needs_df) in [v3, v1].into_iter().flatten() {
                if key_at + k > data.len() || at < 40 || !drbg_pointers(data, at - 40, needs_df) {
                    continue;
                }
                let key = &data[key_at..key_at + k];
                if aes::well_known(key).is_some() {
                    continue;
                }
                let fp = crate::keys::fingerprint::sha256_fingerprint(key);
                out.0.push(DrbgKey {
                    id: key_id(&fp),
                    offset: at as u64 - 40,
                });
                if out.0.len() >= MAX_DRBG_PER_CHUNK {
                    return out;
                }
                break;
            }
        }
    }
    out
}

/// The five pointers of a CTR-DRBG state at `at`: ctx_ecb, ctx_ctr, (ctx_df), cipher_ecb,
/// cipher_ctr, each a user-space address (x86-64 and AArch64 keep them below 2^47 and above
/// the first page). `ctx_df` may be null unless the 3.x layout says a derivation function is
/// in use.
fn drbg_pointers(data: &[u8], at: usize, needs_df: bool) -> bool {
    let ptr = |i: usize| {
        let b = &data[at + 8 * i..at + 8 * i + 8];
        u64::from_le_bytes(b.try_into().expect("8 bytes"))
    };
    let user = |p: u64| (0x1000..1 << 47).contains(&p);
    [0, 1, 3, 4].iter().all(|&i| user(ptr(i)))
        && (user(ptr(2)) || (!needs_df && ptr(2) == 0))
        // The two cipher contexts are distinct objects.
        && ptr(0) != ptr(1)
}

/// Lowers a schedule whose key is a DRBG key to `low` and says why.
fn mark_drbg(f: &mut Finding, at: u64) {
    if f.severity > Severity::Low {
        f.severity = Severity::Low;
    }
    f.verification.push_str(&format!(
        "; the key of an OpenSSL CTR-DRBG (its PROV_DRBG_CTR state is at offset {at:#x}): \
         the random generator's own key, not a data key"
    ));
    f.known_key
        .get_or_insert_with(|| "OpenSSL CTR-DRBG key (random generator state)".into());
}

/// Bit s set when block `at` scores at least `SHAPES[s].min`: the number of bytes y in the
/// block with d[y] ⊕ d[y+a] ⊕ d[y+b] = 0 and none of the three bytes zero. Zero-filled
/// memory satisfies every relation, and code, tables and heap words satisfy them through zero
/// padding (x = x' beside a zero); a schedule byte is zero only 1 time in 256, so requiring
/// three non-zero bytes costs a schedule about 1% of its score and cut the blocks worth a
/// closer look fifteenfold on the benchmark dump.
#[inline(always)]
fn block_triggers(d: &[u8], at: usize) -> u8 {
    // One bounds check for the block and its reach; the shapes' views at constant offsets
    // then need none.
    let w: &[u8; BLOCK + MAX_B] = d[at..at + BLOCK + MAX_B]
        .try_into()
        .expect("block in range");
    let v = |off: usize| -> &[u8; BLOCK] { w[off..off + BLOCK].try_into().expect("in the reach") };
    let x = v(0);
    let mut hits = [[0u8; BLOCK]; 6];
    let mut union = [0u8; BLOCK];
    for (s, shape) in SHAPES.iter().enumerate() {
        let (xa, xb) = (v(shape.a), v(shape.b));
        for i in 0..BLOCK {
            hits[s][i] =
                ((x[i] ^ xa[i] ^ xb[i]) == 0 && x[i] != 0 && xa[i] != 0 && xb[i] != 0) as u8;
            union[i] |= hits[s][i];
        }
    }
    // A shape's count is at most the count of bytes where any shape holds: below the
    // smallest threshold there, no shape triggers (almost every block), and the six counts
    // are not needed.
    if union.iter().map(|&u| u32::from(u)).sum::<u32>() < MIN_SCORE {
        return 0;
    }
    let mut mask = 0u8;
    for (s, shape) in SHAPES.iter().enumerate() {
        let c: u32 = hits[s].iter().map(|&h| u32::from(h)).sum();
        if c >= shape.min {
            mask |= 1 << s;
        }
    }
    mask
}

/// The smallest of the shapes' thresholds.
const MIN_SCORE: u32 = {
    let mut m = u32::MAX;
    let mut s = 0;
    while s < SHAPES.len() {
        if SHAPES[s].min < m {
            m = SHAPES[s].min;
        }
        s += 1;
    }
    m
};

/// Every pair of neighbouring blocks `(at, at + BLOCK)` in [first, last) (step BLOCK, from
/// `first`) that trigger a common shape, as `(at, common mask)`, ascending.
///
/// Every such pair contains exactly one block of even index (counted from `first`), so only
/// even blocks are scored first and their two neighbours only when they trigger: the same
/// pairs as scoring every block, for half the work where nothing triggers (almost everywhere).
#[inline(always)]
fn trigger_pairs_generic(d: &[u8], first: usize, last: usize, out: &mut Vec<(usize, u8)>) {
    let mut at = first;
    while at < last {
        let m = block_triggers(d, at);
        if m != 0 {
            if at >= first + BLOCK {
                let p = block_triggers(d, at - BLOCK) & m;
                if p != 0 {
                    out.push((at - BLOCK, p));
                }
            }
            if at + BLOCK < last {
                let n = block_triggers(d, at + BLOCK) & m;
                if n != 0 {
                    out.push((at, n));
                }
            }
        }
        at += 2 * BLOCK;
    }
}

/// With `popcnt`, which every AVX2 CPU has: without it each block's six counts took a
/// bit-twiddling population count each (a third of this pass's instructions).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn trigger_pairs_avx2(d: &[u8], first: usize, last: usize, out: &mut Vec<(usize, u8)>) {
    trigger_pairs_generic(d, first, last, out)
}

fn trigger_pairs(d: &[u8], first: usize, last: usize, out: &mut Vec<(usize, u8)>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt")
    {
        // SAFETY: the CPU supports AVX2 and POPCNT (checked just above); the function is
        // ordinary safe Rust compiled with them enabled.
        unsafe { trigger_pairs_avx2(d, first, last, out) };
        return;
    }
    trigger_pairs_generic(d, first, last, out)
}

fn scan(data: &[u8], start: usize, end: usize, sink: &mut Sink) {
    let max_len = KeySize::Aes256.schedule_len();
    let first = start & !(BLOCK - 1);
    // Blocks past `end` still matter: a schedule starting in this chunk extends beyond it.
    let last = (end + max_len).min(data.len().saturating_sub(BLOCK + MAX_B));
    // Every schedule covers at least three whole consecutive blocks in which its relation
    // holds, so a shape counts only where two neighbouring blocks score for it: structured
    // data that scores by accident in one block rarely does in the next.
    let mut hits = Vec::new();
    trigger_pairs(data, first, last, &mut hits);
    let mut pending: [Option<(usize, usize)>; 6] = [None; 6];
    for (at, mask) in hits {
        for (s, shape) in SHAPES.iter().enumerate() {
            if mask & (1 << s) == 0 {
                continue;
            }
            let len = shape.size.schedule_len();
            let lo = at.saturating_sub(len).max(start);
            let hi = (at + BLOCK)
                .min(end)
                .min(data.len().saturating_sub(len - 1));
            if lo >= hi {
                continue;
            }
            pending[s] = match pending[s] {
                Some((plo, phi)) if lo <= phi => Some((plo, phi.max(hi))),
                Some(range) => {
                    check_range(data, range, shape, sink);
                    Some((lo, hi))
                }
                None => Some((lo, hi)),
            };
        }
    }
    for (s, shape) in SHAPES.iter().enumerate() {
        if let Some(range) = pending[s] {
            check_range(data, range, shape, sink);
        }
    }
}

/// Relation triples (w[i], w[i−Nk], w[i−1]) as memory word indexes, for the quick per-offset
/// test: only relations without an S-box, and for decryption schedules only those whose three
/// words lie in inner rounds (where InvMixColumns preserved them).
fn linear_triples(size: KeySize, decrypt: bool) -> &'static [(usize, usize, usize)] {
    static TABLES: OnceLock<Vec<Vec<(usize, usize, usize)>>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        let mut all = Vec::new();
        for decrypt in [false, true] {
            for size in KeySize::ALL {
                let (nk, nr) = (size.nk(), size.rounds());
                let at = |i: usize| -> Option<usize> {
                    if !decrypt {
                        return Some(i);
                    }
                    let r = i / 4;
                    (r >= 1 && r < nr).then(|| 4 * (nr - r) + i % 4)
                };
                let mut v: Vec<(usize, usize, usize)> = (nk..size.words())
                    .filter(|&i| i % nk != 0 && !(nk > 6 && i % nk == 4))
                    .filter_map(|i| Some((at(i)?, at(i - nk)?, at(i - 1)?)))
                    .collect();
                v.sort_by_key(|&(x, y, z)| x.max(y).max(z));
                all.push(v);
            }
        }
        all
    });
    let idx = usize::from(decrypt) * 3 + KeySize::ALL.iter().position(|&s| s == size).unwrap_or(0);
    &tables[idx]
}

fn word(d: &[u8], o: usize, i: usize) -> u32 {
    let p = o + 4 * i;
    u32::from_le_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]])
}

fn check_range(data: &[u8], (lo, hi): (usize, usize), shape: &Shape, sink: &mut Sink) {
    let size = shape.size;
    let len = size.schedule_len();
    let triples = linear_triples(size, shape.decrypt);
    let quick = &triples[..triples.len().min(6)];
    let mut o = lo;
    while o < hi {
        if o + len > data.len() {
            break;
        }
        // Cheap: a handful of linear relations (byte order does not matter for them).
        let bad: u32 = quick
            .iter()
            .map(|&(x, y, z)| (word(data, o, x) ^ word(data, o, y) ^ word(data, o, z)).count_ones())
            .sum();
        if bad <= MAX_BIT_ERRORS {
            if let Some(f) = full_check(data, o, shape) {
                sink.push(f);
                // Schedules of one kind do not overlap.
                o += len;
                continue;
            }
        }
        o += 1;
    }
}

/// Every constraint, in both byte layouts; the finding when one holds.
fn full_check(data: &[u8], o: usize, shape: &Shape) -> Option<Finding> {
    let size = shape.size;
    for swapped in [false, true] {
        let mut w: Vec<u32> = (0..size.words()).map(|i| word(data, o, i)).collect();
        if swapped {
            for x in &mut w {
                *x = x.swap_bytes();
            }
        }
        if shape.decrypt {
            w = aes::decryption_to_encryption(&w, size);
        }
        let Some(errors) = aes::schedule_errors(&w, size, MAX_BIT_ERRORS) else {
            continue;
        };
        let (key, flipped) = if errors == 0 {
            (
                w[..size.nk()]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect(),
                0,
            )
        } else {
            aes::recover_key(&w, size)
        };
        if flipped > 2 * MAX_BIT_ERRORS {
            continue;
        }
        return Some(finding(o, shape, swapped, &key, flipped));
    }
    None
}

fn finding(o: usize, shape: &Shape, swapped: bool, key: &[u8], flipped: u32) -> Finding {
    let size = shape.size;
    let bits = size.bits();
    let dir = if shape.decrypt {
        "decryption"
    } else {
        "encryption"
    };
    let layout = if swapped {
        "bytes reversed in each 32-bit word, as OpenSSL's C AES_KEY"
    } else {
        "FIPS-197 byte order"
    };
    let mut verification = format!(
        "AES-{bits} {dir} key schedule ({layout}): the key expands to the {} bytes found",
        size.schedule_len()
    );
    if flipped > 0 {
        verification.push_str(&format!(
            " except {flipped} bit(s) (damaged memory; key recovered from the intact part)"
        ));
    }
    let known = aes::well_known(key);
    if let Some(why) = known {
        verification.push_str(&format!("; {why}, not a secret"));
    }
    let verdict = Verdict {
        material: None,
        status: Status::Verified,
        verification,
        key: KeyInfo {
            algorithm: "AES".into(),
            bits,
            format: Some(format!("{dir} key schedule")),
            ..Default::default()
        },
        spki: None,
    };
    let encoding = format!(
        "aes-schedule{}{}",
        if shape.decrypt { "-dec" } else { "" },
        if swapped { "-wordswap" } else { "" }
    );
    let preview = format!(
        "[AES-{bits} {dir} key schedule, {} bytes, redacted]",
        size.schedule_len()
    );
    let mut f = Finding::key(
        "aes-schedule",
        encoding,
        o as u64,
        size.schedule_len() as u64,
        &verdict,
        preview,
    );
    f.kind = Kind::AesKey;
    f.fingerprint = Some(crate::keys::fingerprint::sha256_fingerprint(key));
    f.severity = if known.is_some() {
        Severity::Low
    } else {
        Severity::Medium
    };
    f.known_key = known.map(|why| format!("published test key: {why}"));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::testkeys::noise;

    fn bytes(w: &[u32], swapped: bool) -> Vec<u8> {
        w.iter()
            .flat_map(|x| if swapped { x.swap_bytes() } else { *x }.to_le_bytes())
            .collect()
    }

    fn run(data: &[u8]) -> Vec<Finding> {
        let mut sink = Sink::default();
        let chunk = 1 << 16;
        let mut start = 0;
        while start < data.len() {
            scan(data, start, (start + chunk).min(data.len()), &mut sink);
            start += chunk;
        }
        sink.findings
    }

    fn fp(key: &[u8]) -> String {
        crate::keys::fingerprint::sha256_fingerprint(key)
    }

    /// The union early-out of `block_triggers` changes no mask: against counting each shape
    /// on its own, on planted schedules and on bytes from a small alphabet ({1, 2, 3}: the
    /// relations hold often, so counts fall on both sides of the thresholds).
    #[test]
    fn block_triggers_equal_counting_each_shape() {
        let mut data = noise(60_000, 8);
        let coin = noise(20_000, 9);
        for (i, b) in data[20_000..40_000].iter_mut().enumerate() {
            // The share of small-alphabet bytes rises from 40% to 100% along the region, so
            // the union count passes through the thresholds.
            if u32::from(coin[i]) < 256 * (8_000 + 12 * i as u32 / 20) / 20_000 {
                *b = 1 + *b % 3;
            }
        }
        // Blocks where only the AES-192 decryption relation (4, 12) holds, at 4 to 9 bytes:
        // around its threshold (6), where no other shape adds to the union.
        for (k, at) in (10_000..14_000).step_by(100).enumerate() {
            for i in 0..4 + k % 6 {
                data[at + i + 12] = data[at + i] ^ data[at + i + 4];
            }
        }
        for (i, at) in (42_000..58_000).step_by(400).enumerate() {
            let size = KeySize::ALL[i % 3];
            let w = aes::expand(&noise(32, 50 + i as u64)[..4 * size.nk()], size);
            let b = bytes(&w, i % 2 == 1);
            data[at..at + b.len()].copy_from_slice(&b);
        }
        let (mut near, mut triggered) = (0, 0);
        for at in 0..data.len() - BLOCK - MAX_B {
            let mut want = 0u8;
            for (s, shape) in SHAPES.iter().enumerate() {
                let c = (0..BLOCK)
                    .filter(|&i| {
                        let (x, a, b) =
                            (data[at + i], data[at + i + shape.a], data[at + i + shape.b]);
                        x ^ a ^ b == 0 && x != 0 && a != 0 && b != 0
                    })
                    .count() as u32;
                want |= u8::from(c >= shape.min) << s;
                near += usize::from(c + 2 >= shape.min && c <= shape.min + 1);
            }
            triggered += usize::from(want != 0);
            assert_eq!(block_triggers(&data, at), want, "{at}");
        }
        assert!(near > 1000 && triggered > 1000, "{near} {triggered}");
    }

    /// Scoring only even blocks first finds exactly the pairs that scoring every block does.
    #[test]
    fn trigger_pairs_equal_scoring_every_block() {
        let mut data = noise(200_000, 5);
        // Schedules at every alignment, some back to back, so runs of triggering blocks
        // start on even and odd blocks alike.
        let mut at = 3000;
        for i in 0..40usize {
            let size = KeySize::ALL[i % 3];
            let mut w = aes::expand(&noise(32, i as u64)[..4 * size.nk()], size);
            if i % 2 == 1 {
                w = aes::encryption_to_decryption(&w, size);
            }
            let b = bytes(&w, i % 4 == 3);
            data[at..at + b.len()].copy_from_slice(&b);
            at += b.len() + [0, 1, 7, 32, 100][i % 5];
        }
        let mut any = 0;
        for first in [0usize, 32, 64, 96, 2976, 3008] {
            for last in [data.len() - 100, data.len() - 132, 50_000, 50_032] {
                let mut every = Vec::new();
                let mut b = first;
                while b < last {
                    every.push((b, block_triggers(&data, b)));
                    b += BLOCK;
                }
                let want: Vec<(usize, u8)> = every
                    .windows(2)
                    .filter(|w| w[0].1 & w[1].1 != 0)
                    .map(|w| (w[0].0, w[0].1 & w[1].1))
                    .collect();
                let mut got = Vec::new();
                trigger_pairs(&data, first, last, &mut got);
                assert_eq!(got, want, "{first} {last}");
                any += want.len();
            }
        }
        assert!(any > 500, "the planted schedules trigger ({any})");
    }

    #[test]
    fn every_size_direction_and_layout_is_found_at_any_offset() {
        let mut data = noise(300_000, 1);
        let mut planted = Vec::new();
        let mut at = 1001; // odd offsets on purpose
        for size in KeySize::ALL {
            for decrypt in [false, true] {
                for swapped in [false, true] {
                    let key = noise(32, at as u64)[..4 * size.nk()].to_vec();
                    let mut w = aes::expand(&key, size);
                    if decrypt {
                        w = aes::encryption_to_decryption(&w, size);
                    }
                    let b = bytes(&w, swapped);
                    data[at..at + b.len()].copy_from_slice(&b);
                    planted.push((at, key, size, decrypt, swapped));
                    at += 20_011;
                }
            }
        }
        // Straddle a chunk boundary too.
        let key = noise(16, 77);
        let b = bytes(&aes::expand(&key, KeySize::Aes128), false);
        let edge = (1 << 16) * 4 - 50;
        data[edge..edge + b.len()].copy_from_slice(&b);
        planted.push((edge, key, KeySize::Aes128, false, false));

        let found = run(&data);
        assert_eq!(
            found.len(),
            planted.len(),
            "{:?}",
            found
                .iter()
                .map(|f| (f.offset, &f.encoding))
                .collect::<Vec<_>>()
        );
        for (at, key, size, decrypt, swapped) in planted {
            let f = found
                .iter()
                .find(|f| f.offset == at as u64)
                .unwrap_or_else(|| panic!("missing {at}"));
            assert_eq!(f.fingerprint.as_deref(), Some(fp(&key).as_str()));
            assert_eq!(f.key.as_ref().unwrap().bits, size.bits());
            assert_eq!(f.encoding.contains("-dec"), decrypt);
            assert_eq!(f.encoding.contains("wordswap"), swapped);
            assert!(f.verified);
            assert_eq!(f.severity, Severity::Medium);
            assert_eq!(f.kind, "aes-key");
            let shown = format!("{f:?}");
            assert!(!shown.contains(&hex::encode(&key)), "key bytes leaked");
        }
    }

    /// Scan and finish as the engine does: chunks, then the whole-dump pass.
    fn run_engine(data: &[u8]) -> Vec<Finding> {
        let space = crate::input::AddressSpace::default();
        let cx = ScanContext {
            data,
            regions: &[],
            space: &space,
            inventory: &[],
            pages: None,
        };
        let mut found = Sink::default();
        let chunk = 1 << 16;
        let mut start = 0;
        while start < data.len() {
            AesSchedule.scan_chunk(&cx, start, (start + chunk).min(data.len()), &mut found);
            start += chunk;
        }
        let mut late = Sink::default();
        AesSchedule.finish(&cx, &found, &mut late);
        assert!(
            found.findings.is_empty(),
            "schedules wait for the whole-dump pass"
        );
        late.findings
    }

    /// A `PROV_DRBG_CTR` (3.x) or `RAND_DRBG_CTR` (1.1.1) with `key` as K.
    fn drbg_state(key: &[u8], v3: bool, use_df: bool) -> Vec<u8> {
        let mut b = Vec::new();
        for (i, p) in [
            0x5581_0000_1000u64,
            0x5581_0000_2000,
            0x5581_0000_3000,
            0x7f00_0000_4000,
            0x7f00_0000_5000,
        ]
        .into_iter()
        .enumerate()
        {
            let p = if i == 2 && !use_df { 0 } else { p };
            b.extend(p.to_le_bytes());
        }
        b.extend((key.len() as u64).to_le_bytes());
        if v3 {
            b.extend(u32::from(use_df).to_le_bytes());
        }
        b.extend(key);
        b.extend(noise(16, 99)); // V
        b
    }

    #[test]
    fn drbg_keys_are_low_and_other_keys_medium() {
        let mut data = noise(600_000, 21);
        let drbg3 = noise(32, 22);
        let drbg1 = noise(16, 23);
        let app = noise(32, 24);
        // DRBG states far from their schedules (another chunk), as in a real heap.
        let s = drbg_state(&drbg3, true, true);
        data[10_003..10_003 + s.len()].copy_from_slice(&s);
        let s = drbg_state(&drbg1, false, false);
        data[20_001..20_001 + s.len()].copy_from_slice(&s);
        // The application key also sits raw in memory, but in no DRBG structure.
        data[30_000..30_032].copy_from_slice(&app);
        for (at, key, size) in [
            (400_000, &drbg3, KeySize::Aes256),
            (400_500, &drbg3, KeySize::Aes256),
            (450_000, &drbg1, KeySize::Aes128),
            (500_000, &app, KeySize::Aes256),
        ] {
            let b = bytes(&aes::expand(key, size), false);
            data[at..at + b.len()].copy_from_slice(&b);
        }
        let found = run_engine(&data);
        assert_eq!(found.len(), 4);
        for f in &found {
            let is_app = f.fingerprint.as_deref() == Some(fp(&app).as_str());
            if is_app {
                assert_eq!(f.severity, Severity::Medium, "{}", f.verification);
                assert!(f.known_key.is_none());
            } else {
                assert_eq!(f.severity, Severity::Low, "{}", f.verification);
                assert!(f.verification.contains("CTR-DRBG"), "{}", f.verification);
            }
        }
        // Without the structure (keylen overwritten), the same schedules are medium.
        data[10_003 + 40] = 0x21;
        data[20_001 + 40] = 0x11;
        let found = run_engine(&data);
        assert!(found.iter().all(|f| f.severity == Severity::Medium));
    }

    #[test]
    fn drbg_look_alikes_are_bounded_and_not_drbg_without_pointers() {
        // Millions of keylen words and pointer-less structures: bounded state, no match.
        let key = noise(32, 31);
        let mut s = drbg_state(&key, true, true);
        s[..8].copy_from_slice(&[0u8; 8]); // ctx_ecb null: not a live DRBG
        let mut data: Vec<u8> = s.iter().cycle().take(1 << 20).copied().collect();
        assert!(drbg_keys(&data, 0, data.len()).0.is_empty());
        let b = bytes(&aes::expand(&key, KeySize::Aes256), false);
        data[500_000..500_000 + b.len()].copy_from_slice(&b);
        let found = run_engine(&data);
        assert!(found.iter().all(|f| f.severity == Severity::Medium));
        let good = drbg_state(&key, true, true);
        let many: Vec<u8> = good.iter().cycle().take(4 << 20).copied().collect();
        assert!(drbg_keys(&many, 0, many.len()).0.len() <= MAX_DRBG_PER_CHUNK);
    }

    #[test]
    fn damaged_schedule_is_found_and_key_recovered() {
        let mut data = noise(10_000, 3);
        let key = noise(32, 4);
        let w = aes::expand(&key, KeySize::Aes256);
        let mut b = bytes(&w, false);
        for bit in [5usize, 300, 901, 1400, 1700, 1850] {
            b[bit / 8] ^= 1 << (bit % 8);
        }
        data[4000..4000 + b.len()].copy_from_slice(&b);
        let found = run(&data);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].fingerprint.as_deref(), Some(fp(&key).as_str()));
        assert!(
            found[0].verification.contains("6 bit(s)"),
            "{}",
            found[0].verification
        );
    }

    #[test]
    fn test_vector_and_zero_keys_are_low() {
        let mut data = noise(4000, 5);
        let k = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let b = bytes(&aes::expand(&k, KeySize::Aes128), false);
        data[100..100 + b.len()].copy_from_slice(&b);
        let b = bytes(&aes::expand(&[0u8; 32], KeySize::Aes256), false);
        data[1000..1000 + b.len()].copy_from_slice(&b);
        let found = run(&data);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|f| f.severity == Severity::Low));
    }

    #[test]
    fn negatives() {
        // Random, zeros, constant bytes, text.
        assert!(run(&noise(2 << 20, 7)).is_empty());
        assert!(run(&vec![0u8; 1 << 20]).is_empty());
        assert!(run(&vec![0x41u8; 1 << 16]).is_empty());
        let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog 0123456789 "
            .iter()
            .cycle()
            .take(1 << 18)
            .copied()
            .collect();
        assert!(run(&text).is_empty());
        // A key schedule inside compressed data is no longer a schedule (the surrounding text
        // keeps deflate from storing the block verbatim).
        let key = noise(16, 8);
        let mut plain = text[..5000].to_vec();
        plain.extend(bytes(&aes::expand(&key, KeySize::Aes128), false));
        plain.extend_from_slice(&text[..5000]);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("gzip -c")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&plain)?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(run(&out.stdout).is_empty());
        // The first round key (the raw key) followed by random bytes is no schedule.
        let mut data = noise(3000, 10);
        data[500..516].copy_from_slice(&key);
        assert!(run(&data).is_empty());
        // Too much damage: 40 flipped bits spread over the schedule.
        let mut b = bytes(&aes::expand(&key, KeySize::Aes128), false);
        for i in 0..40 {
            b[(i * 37) % 176] ^= 1 << (i % 8);
        }
        let mut data = noise(3000, 11);
        data[700..700 + b.len()].copy_from_slice(&b);
        assert!(run(&data).is_empty());
    }
}
