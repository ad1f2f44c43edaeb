//! Findings for raw symmetric keys (CNG `KDBM` blobs, CryptoAPI `PLAINTEXTKEYBLOB`, JWK `oct`).
//! Nothing in a raw key proves it is one (docs/key-formats.md §12.6): the blob structure is the
//! only evidence, so such findings are `unverifiable` and high, never critical. The
//! fingerprint is SHA-256 of the raw key (docs/design.md), so the same key matches across encodings.

use crate::keys::{fingerprint::sha256_fingerprint, KeyInfo, Status, Verdict};
use crate::report::{Finding, Kind};

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
    let v = Verdict {
        material: None,
        status: Status::Unverifiable,
        verification: format!(
            "{} structure with a {}-byte key; raw keys carry no internal check",
            k.format,
            k.key.len()
        ),
        key: KeyInfo {
            algorithm: k.algorithm.into(),
            bits: (k.key.len() * 8) as u32,
            format: Some(k.format.into()),
            ..Default::default()
        },
        spki: None,
    };
    let mut f = Finding::key(
        detector,
        encoding,
        offset,
        length,
        &v,
        format!("[{} {}-byte key, redacted]", k.format, k.key.len()),
    );
    f.kind = Kind::SymmetricKey;
    f.fingerprint = Some(sha256_fingerprint(k.key));
    f
}
