//! Encrypted keys opened with well-known default passwords (issue #15). A PKCS#12 keystore
//! protected by the JDK's `changeit` is encrypted only in name: the password is printed in
//! every Java manual, so the key is as exposed as a plaintext one and is reported as such —
//! proven and critical — once it opens. The finding names the password that opened it:
//! naming a password from a published list gives nothing away.
//!
//! The list ([`PASSWORDS`], README "Default passwords") goes to every password-protected key
//! the other detectors reported as `encrypted`, where it is cheap: PKCS#12 / PFX (the empty and
//! the absent password are already tried by the `pkcs12` detector itself), encrypted PKCS#8
//! (PBES2 with PBKDF2 or scrypt, PKCS#12 PBE) as DER, PEM or bare base64, OpenSSH
//! `openssh-key-v1` with the bcrypt KDF, PuTTY PPK v2 and v3 (Argon2). Legacy OpenSSL PEM
//! encryption (`DEK-Info`) is not tried.
//!
//! Cost is bounded twice. Per key, the KDF parameters are read first and a key whose
//! derivation would be absurd (2^31 PBKDF2 iterations, 4 GiB of Argon2 memory) is refused
//! before any work and stays `encrypted`. Per dump, every derivation is paid from one budget
//! of estimated CPU time ([`budget`]) and at most [`MAX_BLOBS`] distinct encrypted keys are
//! tried, in file order, so a dump full of keystores cannot make the scan spin; once spent,
//! the remaining keys stay `encrypted` (high, blocking by default). The work runs in the
//! whole-dump pass, after every chunk, so which keys are tried does not depend on how the
//! chunks were scheduled: the report is the same on every run.
//!
//! The opened finding takes the place (detector, offset, length, encoding) of the encrypted
//! one, which deduplication then drops in favour of the verified reading.

use super::text::{self, Encoding};
use super::{Anchor, Detector, ScanContext, Sink};
use crate::keys::decode::{private_key_der, tlv_len};
use crate::keys::{self, Status, Verdict};
use crate::report::Finding;
use budget::Budget;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub struct DefaultPasswords;

const NAME: &str = "default-passwords";

/// The well-known default passwords, most common first: `changeit` (the JDK's `cacerts` and
/// keytool documentation), `changeme` (Tomcat, Elastic, many appliance and Helm defaults),
/// `password` and `secret` (documentation and quick starts everywhere), and the empty
/// password. PKCS#12 also distinguishes the absent (NULL) password, which the `pkcs12`
/// detector tries with the empty one on every file.
pub const PASSWORDS: &[&str] = &["changeit", "changeme", "password", "secret", ""];

/// Distinct encrypted keys tried per dump.
pub const MAX_BLOBS: usize = 64;
/// Verified findings emitted per distinct key (one per place it was found).
const MAX_COPIES: usize = 64;
/// Encrypted findings read back per dump (a hostile dump can repeat one blob millions of
/// times; each read-back copies and hashes it).
const MAX_EXAMINED: usize = 1 << 16;
/// Longest text followed when reading a PEM, base64 or PPK finding back.
const MAX_TEXT: usize = 128 * 1024;

/// How a password is named in a finding.
pub fn describe(password: &str) -> String {
    if password.is_empty() {
        "the empty password".into()
    } else {
        format!("the well-known default password \"{password}\"")
    }
}

/// Per-dump work accounting for password tries, in estimated nanoseconds of one core
/// (measured on the project's CI-class machine; README "Default passwords" has the figures).
pub mod budget {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    /// One SHA-1/SHA-256 compression (PBKDF2 costs two per iteration, the PKCS#12 KDF one).
    pub const HASH_BLOCK: u64 = 300;
    /// One Salsa20/8 core over a 64-byte block (scrypt).
    pub const SALSA_BLOCK: u64 = 150;
    /// One bcrypt hash (64 Blowfish key expansions), per round and 32-byte output block.
    pub const BCRYPT_HASH: u64 = 1_800_000;
    /// One Argon2 pass over one KiB block.
    pub const ARGON2_BLOCK: u64 = 1_000;
    /// Estimated work per dump: ten seconds of one core.
    pub const PER_DUMP: u64 = 10_000_000_000;
    /// Wall-clock backstop for the whole pass, should the estimates be far off.
    pub const WALL: Duration = Duration::from_secs(30);

    /// PBKDF2 iterations per try (OpenSSL 2048, the JDK 10 000, OWASP's 600 000).
    pub const MAX_PBKDF2_ITERATIONS: u64 = super::super::pkcs12::MAX_ITERATIONS as u64;
    /// scrypt memory (128·r·N bytes) per try, and its parallelism.
    pub const MAX_SCRYPT_BYTES: u64 = 64 << 20;
    pub const MAX_SCRYPT_P: u64 = 16;
    /// bcrypt rounds per try (ssh-keygen's default is 16, `-a 100` is the documented maximum
    /// anyone uses).
    pub const MAX_BCRYPT_ROUNDS: u32 = 64;
    /// Argon2 memory (KiB), passes and lanes per try (puttygen: 8 MiB, passes calibrated to
    /// 100 ms, one lane).
    pub const MAX_ARGON2_KIB: u32 = 64 * 1024;
    pub const MAX_ARGON2_PASSES: u32 = 64;
    pub const MAX_ARGON2_LANES: u32 = 16;

    /// What is left of one dump's work budget.
    pub struct Budget {
        left: AtomicU64,
        deadline: Instant,
        spent: AtomicBool,
    }

    impl Budget {
        pub fn new(units: u64, wall: Duration) -> Budget {
            Budget {
                left: AtomicU64::new(units),
                deadline: Instant::now() + wall,
                spent: AtomicBool::new(false),
            }
        }

        /// Reserves `cost` for one key derivation; false (and nothing reserved) when the
        /// budget cannot pay it or the wall-clock backstop has passed.
        pub fn spend(&self, cost: u64) -> bool {
            let left = self.left.load(Ordering::Relaxed);
            if cost > left || Instant::now() > self.deadline {
                self.spent.store(true, Ordering::Relaxed);
                return false;
            }
            self.left.store(left - cost, Ordering::Relaxed);
            true
        }

        /// Whether a try was refused for lack of budget.
        pub fn was_spent(&self) -> bool {
            self.spent.load(Ordering::Relaxed)
        }
    }

    /// Pays `cost` from `budget`, if there is one (the main pass's trivial tries have none:
    /// their per-try bounds are all they need).
    pub fn pay(budget: Option<&Budget>, cost: u64) -> bool {
        match budget {
            Some(b) => b.spend(cost),
            None => true,
        }
    }

    /// The cost of one PBES2 key derivation, or None when its parameters are beyond the
    /// bounds (then it is not tried at all).
    pub fn pbes2_cost(kdf: &pkcs5::pbes2::Kdf<'_>) -> Option<u64> {
        if let Some(p) = kdf.pbkdf2() {
            let iterations = p.iteration_count as u64;
            if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
                return None;
            }
            // Output blocks of the PRF (AES-256 with HMAC-SHA-1 needs two).
            let out = match p.prf {
                pkcs5::pbes2::Pbkdf2Prf::HmacWithSha1 => 20,
                pkcs5::pbes2::Pbkdf2Prf::HmacWithSha224 => 28,
                pkcs5::pbes2::Pbkdf2Prf::HmacWithSha256 => 32,
                _ => 48,
            };
            let blocks = (p.key_length.unwrap_or(32) as u64).div_ceil(out).max(1);
            return Some(2 * iterations * blocks * HASH_BLOCK);
        }
        let s = kdf.scrypt()?;
        let (n, r, p) = (
            s.cost_parameter,
            s.block_size as u64,
            s.parallelization as u64,
        );
        if n < 2 || !n.is_power_of_two() || r == 0 || p == 0 || p > MAX_SCRYPT_P {
            return None;
        }
        let bytes = 128u64.checked_mul(r)?.checked_mul(n)?;
        if bytes > MAX_SCRYPT_BYTES {
            return None;
        }
        // ROMix: 2N BlockMix calls of 2r Salsa20/8 cores each, per lane.
        Some((4 * n * r * p).saturating_mul(SALSA_BLOCK))
    }
}

impl Detector for DefaultPasswords {
    fn name(&self) -> &'static str {
        NAME
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}

    fn finish(&self, cx: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
        let budget = Budget::new(budget::PER_DUMP, budget::WALL);
        sink.findings
            .extend(open_all(cx.data, &found.findings, &budget));
    }
}

/// A password-protected key read back from the dump.
enum Blob {
    Pfx(Vec<u8>),
    Epki(Vec<u8>),
    OpenSsh(Vec<u8>),
    Ppk(Vec<u8>),
}

impl Blob {
    fn id(&self) -> [u8; 32] {
        let (tag, b) = match self {
            Blob::Pfx(b) => (0u8, b),
            Blob::Epki(b) => (1, b),
            Blob::OpenSsh(b) => (2, b),
            Blob::Ppk(b) => (3, b),
        };
        let mut h = Sha256::new();
        h.update([tag]);
        h.update(b);
        h.finalize().into()
    }
}

/// Tries the list on every encrypted key among `findings`, in file order, and returns a
/// verified finding at each place an opened key was found.
fn open_all(data: &[u8], findings: &[Finding], budget: &Budget) -> Vec<Finding> {
    let mut todo: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.status == Status::Encrypted.as_str())
        .collect();
    todo.sort_by(|a, b| {
        (a.offset, a.length, &a.detector, &a.encoding).cmp(&(
            b.offset,
            b.length,
            &b.detector,
            &b.encoding,
        ))
    });
    // The key bags of a PFX are what the PFX finding opens (with the MAC's password).
    let pfx_ranges: Vec<(u64, u64)> = todo
        .iter()
        .filter(|f| f.detector == "pkcs12")
        .map(|f| (f.offset, f.offset + f.length))
        .collect();
    // Per distinct key: what opened (verdict, password) and how many places were reported.
    type Opened = (Vec<(Verdict, String)>, usize);
    let mut results: HashMap<[u8; 32], Opened> = HashMap::new();
    let mut out = Vec::new();
    for f in todo.into_iter().take(MAX_EXAMINED) {
        if f.detector != "pkcs12"
            && pfx_ranges
                .iter()
                .any(|&(s, e)| s <= f.offset && f.offset + f.length <= e)
        {
            continue;
        }
        let Some(blob) = read_back(data, f) else {
            continue;
        };
        let id = blob.id();
        if !results.contains_key(&id) {
            if results.len() >= MAX_BLOBS {
                continue;
            }
            results.insert(id, (open(&blob, budget), 0));
        }
        let Some((opened, copies)) = results.get_mut(&id) else {
            continue;
        };
        if *copies >= MAX_COPIES {
            continue;
        }
        *copies += 1;
        for (v, password) in opened.iter() {
            let preview = format!(
                "{} (opened with {password})",
                f.preview.replace("did not open, ", "")
            );
            let mut opened = Finding::key(
                &f.detector,
                f.encoding.clone(),
                f.offset,
                f.length,
                v,
                preview,
            );
            opened.content_hash = f.content_hash.clone();
            out.push(opened);
        }
    }
    out
}

/// The bytes of an encrypted key finding, decoded back from where it was found.
fn read_back(data: &[u8], f: &Finding) -> Option<Blob> {
    let start = usize::try_from(f.offset).ok()?;
    let len = usize::try_from(f.length).ok()?;
    let end = start.checked_add(len)?;
    let bytes = data.get(start..end)?;
    let enc = if f.encoding.contains("utf16le") {
        Encoding::Utf16Le
    } else {
        Encoding::Ascii
    };
    let text = || text::view(data, start, (len / enc.stride()).min(MAX_TEXT), enc);
    match (f.detector.as_str(), f.encoding.as_str()) {
        ("pkcs12", "pkcs12") => Some(Blob::Pfx(bytes.to_vec())),
        ("der", "der") => Some(Blob::Epki(bytes.to_vec())),
        ("base64", _) => {
            let body = text::base64_body(&text(), MAX_TEXT);
            Some(Blob::Epki(text::decode_base64(&body.chars)?))
        }
        ("pem", _) => {
            let t = text();
            let after = t.strip_prefix(b"-----BEGIN ")?;
            let label_len = text::find(&after[..after.len().min(64)], b"-----")?;
            let rest = &after[label_len + 5..];
            let body = text::base64_body(rest, MAX_TEXT);
            let der = text::decode_base64(&body.chars)?;
            match &after[..label_len] {
                b"ENCRYPTED PRIVATE KEY" => Some(Blob::Epki(der)),
                b"OPENSSH PRIVATE KEY" => Some(Blob::OpenSsh(der)),
                _ => None, // legacy DEK-Info encryption: not tried
            }
        }
        ("openssh", "openssh-key-v1") => Some(Blob::OpenSsh(bytes.to_vec())),
        ("openssh", _) => {
            let body = text::base64_body(&text(), MAX_TEXT);
            Some(Blob::OpenSsh(text::decode_base64(&body.chars)?))
        }
        ("putty", _) => Some(Blob::Ppk(text().into_owned())),
        _ => None,
    }
}

/// The keys that opened, each with the name of the password that opened it.
fn open(blob: &Blob, budget: &Budget) -> Vec<(Verdict, String)> {
    match blob {
        Blob::Pfx(pfx) => {
            // The empty and the absent password were tried by the `pkcs12` detector.
            let list: Vec<super::pkcs12::Password> = PASSWORDS
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| super::pkcs12::Password::text(p, describe(p)))
                .collect();
            super::pkcs12::open(pfx, &list, Some(budget))
                .into_iter()
                .filter(|v| v.status != Status::Encrypted)
                .map(|v| {
                    let which = list
                        .iter()
                        .find(|p| v.verification.contains(&p.name))
                        .map(|p| p.name.clone())
                        .unwrap_or_else(|| "a well-known default password".into());
                    (v, which)
                })
                .collect()
        }
        Blob::Epki(der) => open_epki(der, budget).into_iter().collect(),
        Blob::OpenSsh(b) => {
            for p in PASSWORDS {
                match super::openssh::open_with(b, p.as_bytes(), budget) {
                    Err(()) => break,
                    Ok(None) => {}
                    Ok(Some(mut v)) => {
                        v.verification = format!(
                            "OpenSSH private key decrypted with {}: {}",
                            describe(p),
                            v.verification
                        );
                        return vec![(v, describe(p))];
                    }
                }
            }
            Vec::new()
        }
        Blob::Ppk(t) => {
            for p in PASSWORDS {
                match super::putty::open_with(t, p.as_bytes(), budget) {
                    Err(()) => break,
                    Ok(None) => {}
                    Ok(Some(mut v)) => {
                        v.verification = format!(
                            "PuTTY private key decrypted with {}: {}",
                            describe(p),
                            v.verification
                        );
                        return vec![(v, describe(p))];
                    }
                }
            }
            Vec::new()
        }
    }
}

/// An EncryptedPrivateKeyInfo (PKCS#8) opened with the list: the plaintext must be a
/// private-key structure, which is then verified like any other.
fn open_epki(der: &[u8], budget: &Budget) -> Option<(Verdict, String)> {
    let (alg, data) = super::pkcs12::epki_parts(der)?;
    let scheme = match private_key_der(der)?.key {
        keys::PrivateKey::Encrypted { scheme } => scheme,
        _ => return None,
    };
    for p in PASSWORDS {
        let pw = super::pkcs12::Password::text(p, describe(p));
        let Ok(plain) = super::pkcs12::pbe_decrypt(&alg, &pw, data.as_bytes(), Some(budget)) else {
            if budget.was_spent() {
                return None;
            }
            continue;
        };
        let Some(len) = tlv_len(&plain) else { continue };
        if let Some(k) = private_key_der(&plain[..len]) {
            let mut v = keys::verify(&k.key);
            v.verification = format!(
                "encrypted PKCS#8 ({scheme}) opened with {}: {}",
                describe(p),
                v.verification
            );
            v.key.format = Some(format!("PKCS#8 encrypted ({})", k.format));
            return Some((v, describe(p)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_what_it_cannot_pay_and_remembers() {
        let b = Budget::new(1000, std::time::Duration::from_secs(60));
        assert!(b.spend(600));
        assert!(!b.was_spent());
        assert!(!b.spend(600), "only 400 left");
        assert!(b.was_spent());
        assert!(b.spend(400));
        assert!(!b.spend(1));
    }

    #[test]
    fn pbkdf2_beyond_the_bound_is_never_tried() {
        let salt = [7u8; 16];
        let ok = pkcs5::pbes2::Pbkdf2Params::hmac_with_sha256(10_000, &salt).unwrap();
        let cost = budget::pbes2_cost(&pkcs5::pbes2::Kdf::Pbkdf2(ok)).unwrap();
        assert_eq!(cost, 2 * 10_000 * budget::HASH_BLOCK);
        let absurd = pkcs5::pbes2::Pbkdf2Params {
            iteration_count: 1 << 31,
            ..ok
        };
        assert!(budget::pbes2_cost(&pkcs5::pbes2::Kdf::Pbkdf2(absurd)).is_none());
    }

    #[test]
    fn passwords_are_named_not_hidden() {
        assert_eq!(
            describe("changeit"),
            "the well-known default password \"changeit\""
        );
        assert_eq!(describe(""), "the empty password");
    }
}
