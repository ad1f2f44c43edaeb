//! Fingerprints (docs/design.md contract) and SubjectPublicKeyInfo builders.

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, UintRef};
use der::Encode;
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub const ID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");
pub const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
pub const X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");

/// `sha256:` + lowercase hex of SHA-256 over `bytes`.
pub fn sha256_fingerprint(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The fingerprints of the public keys `records` hold, each distinct SPKI hashed once: a dump
/// holds the same certificates many times (every copy of a CA bundle, of a PEM in a log), and
/// hashing every record on the scan's one serial thread took 80 ms of a 1 GiB scan.
pub fn public_fingerprints<'a>(
    records: impl Iterator<Item = &'a super::PublicKeyRecord>,
) -> std::collections::HashSet<String> {
    let mut seen = std::collections::HashSet::new();
    records
        .filter(|r| seen.insert(r.spki.as_slice()))
        .map(|r| sha256_fingerprint(&r.spki))
        .collect()
}

fn spki(oid: ObjectIdentifier, params: Option<AnyRef<'_>>, key: &[u8]) -> Option<Vec<u8>> {
    SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid,
            parameters: params,
        },
        subject_public_key: BitStringRef::from_bytes(key).ok()?,
    }
    .to_der()
    .ok()
}

/// Minimal big-endian magnitude (no leading zeros) for DER INTEGER encoding.
fn trim(b: &[u8]) -> &[u8] {
    let i = b
        .iter()
        .position(|&x| x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    &b[i..]
}

/// DER of a SEQUENCE of unsigned INTEGERs.
pub fn integer_sequence(ints: &[&[u8]]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    for i in ints {
        UintRef::new(trim(i)).ok()?.encode_to_vec(&mut body).ok()?;
    }
    let mut out = Vec::with_capacity(body.len() + 4);
    der::Header::new(der::Tag::Sequence, der::Length::try_from(body.len()).ok()?)
        .ok()?
        .encode_to_vec(&mut out)
        .ok()?;
    out.extend_from_slice(&body);
    Some(out)
}

/// SPKI of an RSA public key (rsaEncryption, NULL parameters, PKCS#1 RSAPublicKey), exactly
/// what OpenSSL writes for `-pubout`.
pub fn rsa_spki(n: &[u8], e: &[u8]) -> Option<Vec<u8>> {
    let key = integer_sequence(&[n, e])?;
    spki(RSA_ENCRYPTION, Some(AnyRef::NULL), &key)
}

pub fn ed25519_spki(pk: &[u8; 32]) -> Option<Vec<u8>> {
    spki(ED25519, None, pk)
}

pub fn x25519_spki(pk: &[u8; 32]) -> Option<Vec<u8>> {
    spki(X25519, None, pk)
}

/// SPKI of a DSA public key: parameters SEQUENCE {p, q, g}, key INTEGER y.
pub fn dsa_spki(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Option<Vec<u8>> {
    let params = integer_sequence(&[p, q, g])?;
    let mut key = Vec::new();
    UintRef::new(trim(y)).ok()?.encode_to_vec(&mut key).ok()?;
    let params = AnyRef::try_from(params.as_slice()).ok()?;
    spki(ID_DSA, Some(params), &key)
}
