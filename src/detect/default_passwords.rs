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

use super::kdf_budget::{self, Budget};
use super::text::{self, Encoding};
use super::{Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::decode::{private_key_der, tlv_len};
use crate::keys::{self, Status, Verdict};
use crate::report::Finding;
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

impl Detector for DefaultPasswords {
    fn name(&self) -> &'static str {
        NAME
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "encrypted keys opened with well-known default passwords (changeit, changeme, …)"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}

    fn finish(&self, cx: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
        let budget = Budget::new(kdf_budget::PER_DUMP, kdf_budget::WALL);
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
        let cost = kdf_budget::pbes2_cost(&pkcs5::pbes2::Kdf::Pbkdf2(ok)).unwrap();
        assert_eq!(cost, 2 * 10_000 * kdf_budget::HASH_BLOCK);
        let absurd = pkcs5::pbes2::Pbkdf2Params {
            iteration_count: 1 << 31,
            ..ok
        };
        assert!(kdf_budget::pbes2_cost(&pkcs5::pbes2::Kdf::Pbkdf2(absurd)).is_none());
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
