//! `--known-keys` for the gate: public keys the operator knows about (PEM `PUBLIC KEY` blocks
//! and DER SubjectPublicKeyInfo files). Findings of these keys are labelled by the scanner.
//!
//! A deliberately small reader: the full inventory (certificates, JWKS, OpenSSH) lives in
//! `keys::inventory` on the `rawkeys` branch; once merged, [`load`] should simply call it.

use crate::detect::PublicKeyRecord;
use base64::Engine as _;
use std::path::{Path, PathBuf};

/// Reads every file given (directories are walked). Any unreadable file or a file with no key
/// is an error: a gate told to know a key must not silently know none.
pub fn load(paths: &[PathBuf]) -> Result<Vec<PublicKeyRecord>, String> {
    let mut out = Vec::new();
    for p in paths {
        let files: Vec<PathBuf> = if p.is_dir() {
            let mut v: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .collect();
            v.sort();
            v
        } else {
            vec![p.clone()]
        };
        for f in files {
            let keys = load_file(&f)?;
            if keys.is_empty() {
                return Err(format!("{}: no public key found", f.display()));
            }
            out.extend(keys);
        }
    }
    Ok(out)
}

fn load_file(path: &Path) -> Result<Vec<PublicKeyRecord>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let source = format!("inventory {}", path.display());
    let mut ders = Vec::new();
    if let Ok(text) = std::str::from_utf8(&bytes) {
        let mut rest = text;
        while let Some(i) = rest.find("-----BEGIN PUBLIC KEY-----") {
            let body = &rest[i + 26..];
            let Some(j) = body.find("-----END PUBLIC KEY-----") else {
                break;
            };
            let b64: String = body[..j].split_whitespace().collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("{}: bad PEM body: {e}", path.display()))?;
            ders.push(der);
            rest = &body[j..];
        }
    }
    if ders.is_empty() && bytes.first() == Some(&0x30) {
        ders.push(bytes);
    }
    ders.into_iter()
        .map(|der| {
            record(&der, &source)
                .ok_or_else(|| format!("{}: not a SubjectPublicKeyInfo", path.display()))
        })
        .collect()
}

fn record(der: &[u8], source: &str) -> Option<PublicKeyRecord> {
    use der::Decode;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(der).ok()?;
    let algorithm = match spki.algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.10045.2.1" => "EC",
        "1.3.101.112" => "Ed25519",
        "1.3.101.110" => "X25519",
        "1.2.840.10040.4.1" => "DSA",
        _ => "unknown",
    };
    Some(PublicKeyRecord {
        algorithm: algorithm.into(),
        spki: der.to_vec(),
        source: source.into(),
        ..Default::default()
    })
}
