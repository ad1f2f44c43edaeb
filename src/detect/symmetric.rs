//! Findings for raw symmetric keys (CNG `KDBM` blobs, CryptoAPI `PLAINTEXTKEYBLOB`, JWK `oct`).
//! Nothing in a raw key proves it is one (key-formats.md §12.6): the blob structure is the
//! only evidence, so such findings are `unverifiable` and high, never critical. The
//! fingerprint is SHA-256 of the raw key (DESIGN.md), so the same key matches across encodings.

use crate::keys::{fingerprint::sha256_fingerprint, KeyInfo, Status};
use crate::report::{key_severity, Finding};

pub struct SymmetricKey<'a> {
    /// `AES-256`, `3DES`, or `symmetric` when the container does not say.
    pub algorithm: &'a str,
    /// Container name for the report (`CNG KDBM`, `CAPI PLAINTEXTKEYBLOB` ...).
    pub format: &'a str,
    pub key: &'a [u8],
}

pub fn finding(
    detector: &str,
    encoding: &str,
    offset: u64,
    length: u64,
    k: &SymmetricKey<'_>,
) -> Finding {
    let status = Status::Unverifiable;
    Finding {
        id: String::new(),
        detector: detector.into(),
        kind: "symmetric-key".into(),
        severity: key_severity(status),
        verified: false,
        status: status.as_str().into(),
        verification: format!(
            "{} structure with a {}-byte key; raw keys carry no internal check",
            k.format,
            k.key.len()
        ),
        fingerprint: Some(sha256_fingerprint(k.key)),
        encoding: encoding.into(),
        offset,
        length,
        location: None,
        key: Some(KeyInfo {
            algorithm: k.algorithm.into(),
            bits: (k.key.len() * 8) as u32,
            format: Some(k.format.into()),
            ..Default::default()
        }),
        preview: format!("[{} {}-byte key, redacted]", k.format, k.key.len()),
    }
}
