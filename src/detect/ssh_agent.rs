//! OpenSSH ssh-agent "shielded" private keys (issue #15). Since OpenSSH 8.2 an agent (and sshd
//! for host keys) keeps every private key encrypted while it is not signing with it:
//! `sshkey_shield_private()` (sshkey.c) draws a 16 KiB random *prekey*, hashes it with
//! SHA-512, and encrypts the key's private serialisation with AES-256-CTR under the first 32
//! bytes of the hash (key) and the next 16 (IV). A dump of the agent therefore holds no plain
//! encoding of any key — which is why no scanner finds them — but it does hold both halves:
//! the `struct sshkey` ends with
//!
//! ```text
//! u_char *shielded_private;  size_t shielded_len;
//! u_char *shield_prekey;     size_t shield_prekey_len;   /* = 16384 */
//! ```
//!
//! so this detector looks for the 8-byte value 16384 preceded by a pointer, a length (a
//! multiple of the AES block, at most 64 KiB) and a pointer, follows both pointers through the
//! dump's address map (ELF core, minidump, raw image with an index; see
//! [`crate::keys::containers`] for the same technique on BIGNUMs), derives the key, decrypts,
//! and parses what `sshkey_private_serialize_opt(…, SSHKEY_SERIALIZE_SHIELD)` wrote: the key
//! type name, the private fields as in `openssh-key-v1` ([`super::ssh_wire`]), then the
//! deterministic padding 1, 2, 3 … to the block size, which is checked. The key is then proven
//! like any OpenSSH key (RSA p·q = n …, Ed25519 seed → public key, ECDSA d·G = Q) and its
//! embedded public key must match.
//!
//! Two findings per key, with the key's fingerprint: the shielded blob and the prekey. Either
//! one alone is useless to an attacker, but the gate removes every finding of a blocking key,
//! so a redacted copy loses both (and, through the key's material, any plain residue a signing
//! operation left behind).
//!
//! Not covered: certificate keys (`…-cert-v01@openssh.com`, whose serialisation embeds the
//! certificate), FIDO `sk-` keys (no private key in the agent at all), and agents from
//! OpenSSH 9.4 on that allocate the prekey with `mmap` and `madvise(MADV_DONTDUMP)` — the
//! kernel and gcore leave it out of core files, so the key cannot be recovered from them (a
//! Windows-style full-memory or /proc/PID/mem image still has it).

use super::ssh_wire::{openssh_private, Reader};
use super::{verdict_cache, Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::{self, Status};
use crate::report::Finding;
use sha2::{Digest, Sha512};

pub struct SshAgent;

const NAME: &str = "ssh-agent";
/// `SSHKEY_SHIELD_PREKEY_LEN`.
const PREKEY_LEN: usize = 16 * 1024;
/// Largest shielded blob followed (an RSA-16384 key serialises to about 9 KiB).
const MAX_SHIELDED: u64 = 64 * 1024;
const BLOCK: usize = 16;
/// Most unshielding attempts per chunk (an agent holds a handful of keys).
const MAX_TRIES: usize = 64;

impl Detector for SshAgent {
    fn name(&self) -> &'static str {
        NAME
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "OpenSSH ssh-agent shielded keys, unshielded with their prekey"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _cx: &ScanContext<'_>, _pos: usize, _tag: u32, _sink: &mut Sink) {}

    /// The prekey length as a little-endian `size_t` is rare enough in memory that a SIMD
    /// substring search over the chunk and a few comparisons per hit cost little (measured in
    /// the README); pointers can only be followed when the dump has an address map.
    fn scan_chunk(&self, cx: &ScanContext<'_>, start: usize, end: usize, sink: &mut Sink) {
        if !cx.space.has_va_map() {
            return;
        }
        let pat = (PREKEY_LEN as u64).to_le_bytes();
        let stop = end.saturating_add(pat.len() - 1).min(cx.data.len());
        let Some(hay) = cx.data.get(start..stop) else {
            return;
        };
        // Each attempt hashes 16 KiB: a hostile dump full of struct-like tails is held to
        // MAX_TRIES distinct (blob, prekey) pairs per chunk.
        let mut seen: Vec<(u64, u64)> = Vec::new();
        for i in memchr::memmem::find_iter(hay, &pat) {
            let o = start + i;
            if o < 24 {
                continue;
            }
            let word = |at: usize| u64::from_le_bytes(cx.data[at..at + 8].try_into().unwrap());
            let (blob, len, prekey) = (word(o - 24), word(o - 16), word(o - 8));
            if !pointer(blob) || !pointer(prekey) || len == 0 || len > MAX_SHIELDED {
                continue;
            }
            if len % BLOCK as u64 != 0 || seen.contains(&(blob, prekey)) || seen.len() >= MAX_TRIES
            {
                continue;
            }
            seen.push((blob, prekey));
            unshield(cx, blob, len as usize, prekey, sink);
        }
    }
}

/// A user-space heap pointer of a 64-bit process (malloc returns 16-byte-aligned blocks; 8 is
/// accepted for other allocators).
fn pointer(p: u64) -> bool {
    (0x10000..(1 << 47)).contains(&p) && p % 8 == 0
}

/// `len` bytes at virtual address `addr` and their file offset, when the dump maps them in
/// one piece.
fn read_va<'a>(cx: &ScanContext<'a>, addr: u64, len: usize) -> Option<(usize, &'a [u8])> {
    let (off, avail) = cx.space.to_file(addr)?;
    if avail < len as u64 {
        return None;
    }
    let off = usize::try_from(off).ok()?;
    Some((off, cx.data.get(off..off.checked_add(len)?)?))
}

/// AES-256-CTR with OpenSSH's 128-bit big-endian counter (`cipher-ctr.c`, and OpenSSL's
/// `EVP_aes_256_ctr`, which an agent uses when built with it, count the same way).
fn aes256_ctr(key: &[u8], iv: &[u8], buf: &mut [u8]) {
    use ctr::cipher::{KeyIvInit, StreamCipher};
    ctr::Ctr128BE::<aes::Aes256>::new_from_slices(key, iv)
        .expect("32-byte key, 16-byte iv")
        .apply_keystream(buf);
}

/// The key type name a shielded serialisation starts with: `string` length and printable name
/// of a key type OpenSSH shields.
fn starts_like_a_key(first: &[u8]) -> bool {
    let len = u32::from_be_bytes(first[..4].try_into().unwrap()) as usize;
    let name = &first[4..first.len().min(4 + len)];
    (7..=64).contains(&len)
        && (name.starts_with(b"ssh-") || name.starts_with(b"ecdsa-") || name.starts_with(b"sk-"))
}

fn unshield(cx: &ScanContext<'_>, blob: u64, len: usize, prekey: u64, sink: &mut Sink) {
    let Some((blob_off, enc)) = read_va(cx, blob, len) else {
        return;
    };
    let Some((prekey_off, pre)) = read_va(cx, prekey, PREKEY_LEN) else {
        return;
    };
    let keyiv = Sha512::digest(pre);
    let (key, iv) = (&keyiv[..32], &keyiv[32..48]);
    // One block first: random struct-like words almost never decrypt to a key type name.
    let mut first = [0u8; BLOCK];
    first.copy_from_slice(&enc[..BLOCK]);
    aes256_ctr(key, iv, &mut first);
    if !starts_like_a_key(&first) {
        return;
    }
    let mut plain = enc.to_vec();
    aes256_ctr(key, iv, &mut plain);
    let mut r = Reader::new(&plain);
    let Some(ty) = r.name().map(str::to_owned) else {
        return;
    };
    let Some((pk, embedded)) = openssh_private(&ty, &mut r, "OpenSSH agent (shielded)") else {
        return;
    };
    let pad = r.rest();
    let pad_ok = pad.len() < BLOCK && pad.iter().enumerate().all(|(i, &b)| b as usize == i + 1);
    let mut v = verdict_cache::verdict(NAME, &plain, || keys::verify(&pk));
    v.key.format = Some("OpenSSH agent shielded key".into());
    if !pad_ok {
        v.status = Status::Corrupted;
        v.material = None;
        v.verification = format!("unshielded key has damaged padding; {}", v.verification);
    } else if v.spki.is_some() && embedded.spki() != v.spki {
        v.status = Status::Corrupted;
        v.material = None;
        v.verification = format!(
            "unshielded key does not match its embedded public key; {}",
            v.verification
        );
    } else {
        v.verification = format!(
            "recovered from a shielded ssh-agent key (16 KiB prekey → SHA-512 → AES-256-CTR \
             key and IV; decrypted, padding checked): {}",
            v.verification
        );
    }
    let alg = embedded.algorithm();
    // The plain key leaves this function only inside the verdict (see keys::Material).
    plain.iter_mut().for_each(|b| *b = 0);
    sink.push(Finding::key(
        NAME,
        "ssh-agent-shielded",
        blob_off as u64,
        len as u64,
        &v,
        format!("[shielded {alg} key ({ty}), {len} bytes, redacted]"),
    ));
    sink.push(Finding::key(
        NAME,
        "ssh-agent-shield-prekey",
        prekey_off as u64,
        PREKEY_LEN as u64,
        &v,
        format!("[shielding prekey of a {alg} key, {PREKEY_LEN} bytes, redacted]"),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS SP 800-38A F.5.5 (CTR-AES256.Encrypt), first two blocks.
    #[test]
    fn ctr_matches_the_nist_vector() {
        let key = hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .unwrap();
        let iv = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").unwrap();
        let mut buf =
            hex::decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
                .unwrap();
        aes256_ctr(&key, &iv, &mut buf);
        assert_eq!(
            hex::encode(&buf),
            "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
        );
    }

    /// A memory image (raw, with its region index, so pointers can be followed) holding a
    /// `struct sshkey` tail, a prekey and an Ed25519 key shielded as sshkey.c does it.
    fn image(seed: [u8; 32], damage_padding: bool) -> (Vec<u8>, String) {
        let pk = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let mut plain = Vec::new();
        let put = |v: &mut Vec<u8>, b: &[u8]| {
            v.extend((b.len() as u32).to_be_bytes());
            v.extend(b);
        };
        put(&mut plain, b"ssh-ed25519");
        put(&mut plain, &pk);
        put(&mut plain, &[&seed[..], &pk[..]].concat());
        let mut i = 0u8;
        while plain.len() % BLOCK != 0 {
            i += 1;
            plain.push(if damage_padding { 0xee } else { i });
        }
        let base = 0x5555_0000_0000u64;
        let mut mem = vec![0u8; 64 * 1024];
        let (sk_at, blob_at, pre_at) = (0x100usize, 0x1000usize, 0x4000usize);
        for (j, b) in mem[pre_at..pre_at + PREKEY_LEN].iter_mut().enumerate() {
            *b = (j * 7 + 3) as u8;
        }
        let keyiv = Sha512::digest(&mem[pre_at..pre_at + PREKEY_LEN]);
        let mut enc = plain.clone();
        aes256_ctr(&keyiv[..32], &keyiv[32..48], &mut enc);
        mem[blob_at..blob_at + enc.len()].copy_from_slice(&enc);
        let words = [
            base + blob_at as u64,
            enc.len() as u64,
            base + pre_at as u64,
            PREKEY_LEN as u64,
        ];
        for (j, w) in words.iter().enumerate() {
            mem[sk_at + 8 * j..sk_at + 8 * j + 8].copy_from_slice(&w.to_le_bytes());
        }
        let index = format!(
            r#"[{{"va": {base}, "file_off": 0, "len": {}, "perms": "rw-p", "path": ""}}]"#,
            mem.len()
        );
        let fp = crate::keys::fingerprint::sha256_fingerprint(
            &crate::keys::fingerprint::ed25519_spki(&pk).unwrap(),
        );
        (mem, format!("{index}\n{fp}"))
    }

    fn scan(mem: &[u8], index: &str) -> Vec<Finding> {
        let dump = crate::input::Dump::from_slice_with_index(mem, index.as_bytes());
        let r = crate::Scanner::new().scan_dump(&dump, "t", &Default::default(), &|_| {});
        r.findings
            .into_iter()
            .filter(|f| f.detector == NAME)
            .collect()
    }

    #[test]
    fn shielded_key_is_unshielded_and_verified() {
        let (mem, meta) = image([5u8; 32], false);
        let (index, fp) = meta.split_once('\n').unwrap();
        let f = scan(&mem, index);
        assert_eq!(f.len(), 2, "{f:?}");
        for f in &f {
            assert!(f.verified, "{}", f.verification);
            assert_eq!(f.fingerprint.as_deref(), Some(fp));
        }
        assert_eq!(
            (f[0].encoding.as_str(), f[0].offset, f[0].length),
            ("ssh-agent-shielded", 0x1000, 128)
        );
        assert_eq!(
            (f[1].encoding.as_str(), f[1].offset, f[1].length),
            ("ssh-agent-shield-prekey", 0x4000, PREKEY_LEN as u64)
        );
        // Without an address map the pointers mean nothing: no finding.
        let r = crate::Scanner::new().scan_bytes("t", &mem);
        assert!(r.findings.iter().all(|f| f.detector != NAME));
    }

    #[test]
    fn damaged_padding_or_prekey() {
        let (mem, meta) = image([6u8; 32], true);
        let (index, _) = meta.split_once('\n').unwrap();
        let f = scan(&mem, index);
        assert!(
            !f.is_empty() && f.iter().all(|f| f.status == "corrupted"),
            "{f:?}"
        );
        // One prekey byte changed: another key stream, nothing that looks like a key.
        let (mut mem, meta) = image([6u8; 32], false);
        let (index, _) = meta.split_once('\n').unwrap();
        mem[0x4000 + 100] ^= 1;
        assert!(scan(&mem, index).is_empty());
    }

    #[test]
    fn key_type_prefilter() {
        assert!(starts_like_a_key(b"\0\0\0\x0bssh-ed25519\0"));
        assert!(starts_like_a_key(b"\0\0\0\x07ssh-rsa\0\0\0\x01\x81\0"));
        assert!(!starts_like_a_key(b"\0\0\0\x07xyz-rsa\0\0\0\x01\x81\0"));
        assert!(!starts_like_a_key(b"\xff\0\0\x07ssh-rsa\0\0\0\x01\x81\0"));
    }
}
