//! Public keys from their standard encodings (X.509 certificate, SubjectPublicKeyInfo,
//! PKCS#1 RSAPublicKey, JWK) into [`PublicKeyRecord`]s. Shared by the detector that harvests
//! public keys from a dump and by the known-key inventory, so a key gets the same fingerprint
//! and the same label whichever way it arrives.

use super::fingerprint;
use super::Curve;
use crate::keys::PublicKeyRecord;
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoRef;

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// Prefix of the `source` of records that come from a CA certificate (basicConstraints
/// CA:TRUE). Trust stores hold hundreds of those; their private keys are almost never in the
/// process, so the full raw-memory factor search gives them the lowest priority.
pub const CA_SOURCE_PREFIX: &str = "CA certificate ";

/// Longest subject string kept in a label.
const MAX_SUBJECT: usize = 160;

/// A record from a DER SubjectPublicKeyInfo (exactly one TLV).
pub fn from_spki(der: &[u8], source: &str) -> Option<PublicKeyRecord> {
    let spki = SubjectPublicKeyInfoRef::from_der(der).ok()?;
    let key = spki.subject_public_key.as_bytes()?;
    let oid = spki.algorithm.oid;
    let mut rec = PublicKeyRecord {
        spki: spki.to_der().ok()?,
        source: source.into(),
        ..Default::default()
    };
    if oid == fingerprint::RSA_ENCRYPTION {
        let pk = pkcs1::RsaPublicKey::from_der(key).ok()?;
        rec.algorithm = "RSA".into();
        rec.modulus = Some(pk.modulus.as_bytes().to_vec());
        rec.exponent = Some(pk.public_exponent.as_bytes().to_vec());
    } else if oid == ID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .and_then(|o| Curve::from_oid(&o))?;
        rec.algorithm = "EC".into();
        rec.point = Some(key.to_vec());
        // Reject points that are not on the curve: they cannot pair with anything.
        ec_spki(curve, key)?;
    } else if oid == fingerprint::ED25519 {
        rec.algorithm = "Ed25519".into();
        rec.point = Some(key.to_vec());
    } else if oid == fingerprint::X25519 {
        rec.algorithm = "X25519".into();
        rec.point = Some(key.to_vec());
    } else if oid == fingerprint::ID_DSA {
        rec.algorithm = "DSA".into();
    } else {
        return None;
    }
    Some(rec)
}

/// The curve named in an EC SubjectPublicKeyInfo.
pub fn ec_curve(spki_der: &[u8]) -> Option<Curve> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return None;
    }
    spki.algorithm
        .parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .and_then(|o| Curve::from_oid(&o))
}

/// What a certificate says about itself, for labels. Parsed with the record; no output shows
/// it yet (the fields were only read through the once-public module).
#[allow(dead_code)]
pub struct CertInfo {
    /// Subject common name, or the whole subject when it has no CN.
    pub subject: String,
    /// basicConstraints CA:TRUE.
    pub ca: bool,
}

/// A record from a DER X.509 certificate (exactly one TLV), labelled with its subject.
pub fn from_certificate(der: &[u8]) -> Option<(PublicKeyRecord, CertInfo)> {
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    from_tbs(&cert.tbs_certificate)
}

/// The same from a DER TBSCertificate alone (the signed part; OpenSSL keeps its encoding).
pub fn from_tbs_certificate(der: &[u8]) -> Option<(PublicKeyRecord, CertInfo)> {
    let tbs = x509_cert::TbsCertificate::from_der(der).ok()?;
    from_tbs(&tbs)
}

fn from_tbs(tbs: &x509_cert::TbsCertificate) -> Option<(PublicKeyRecord, CertInfo)> {
    let spki = tbs.subject_public_key_info.to_der().ok()?;
    let basic_ca = tbs
        .get::<x509_cert::ext::pkix::BasicConstraints>()
        .ok()
        .flatten()
        .is_some_and(|(_, bc)| bc.ca);
    // X.509 v1 roots (old VeriSign, Thawte ... still in trust stores) carry no extensions at
    // all; a self-issued v1 certificate is a trust anchor just the same.
    let v1_root = tbs.version == x509_cert::Version::V1 && tbs.issuer == tbs.subject;
    let ca = basic_ca || v1_root;
    let subject = subject_label(&tbs.subject.to_string());
    let source = if ca {
        format!("{CA_SOURCE_PREFIX}{subject}")
    } else {
        format!("certificate {subject}")
    };
    let rec = from_spki(&spki, &source)?;
    Some((rec, CertInfo { subject, ca }))
}

/// `CN=…` out of an RFC 4514 subject string, or the (shortened) whole subject.
fn subject_label(subject: &str) -> String {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in subject.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == ',' {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    let label = parts
        .iter()
        .find(|p| p.starts_with("CN="))
        .cloned()
        .unwrap_or_else(|| subject.to_string());
    let label = if label.is_empty() {
        "(empty subject)".to_string()
    } else {
        label
    };
    label.chars().take(MAX_SUBJECT).collect()
}

/// A record from a DER PKCS#1 RSAPublicKey (exactly one TLV).
pub fn from_rsa_public_key(der: &[u8], source: &str) -> Option<PublicKeyRecord> {
    let pk = pkcs1::RsaPublicKey::from_der(der).ok()?;
    let (n, e) = (pk.modulus.as_bytes(), pk.public_exponent.as_bytes());
    // A modulus below 512 bits is no RSA key anyone uses; this also keeps stray small
    // SEQUENCEs of two INTEGERs out of the index.
    if n.len() < 64 || e.len() > 8 {
        return None;
    }
    rsa_record(n, e, source)
}

/// A record for an RSA key given its modulus and exponent (big-endian).
pub fn rsa_record(n: &[u8], e: &[u8], source: &str) -> Option<PublicKeyRecord> {
    Some(PublicKeyRecord {
        algorithm: "RSA".into(),
        spki: fingerprint::rsa_spki(n, e)?,
        modulus: Some(strip(n).to_vec()),
        exponent: Some(strip(e).to_vec()),
        point: None,
        offset: None,
        source: source.into(),
    })
}

fn strip(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[i..]
}

/// SPKI of an EC public point (SEC1), or None when the point is not on the curve.
pub fn ec_spki(curve: Curve, point: &[u8]) -> Option<Vec<u8>> {
    use p256::pkcs8::EncodePublicKey;
    macro_rules! on {
        ($c:ident) => {{
            let pk = $c::PublicKey::from_sec1_bytes(point).ok()?;
            Some(pk.to_public_key_der().ok()?.as_bytes().to_vec())
        }};
    }
    match curve {
        Curve::P256 => on!(p256),
        Curve::P384 => on!(p384),
        Curve::P521 => on!(p521),
        Curve::Secp256k1 => on!(k256),
    }
}

/// The uncompressed public point d·G for a big-endian scalar `d` (any length up to the
/// curve's; shorter values are left-padded), or None when d is out of range.
pub fn ec_public_point(curve: Curve, d: &[u8]) -> Option<Vec<u8>> {
    let len = curve.scalar_len();
    if d.len() > len {
        return None;
    }
    let mut padded = vec![0u8; len];
    padded[len - d.len()..].copy_from_slice(d);
    // The curve crate only checks the range (0 < d < n); the multiplication uses a
    // precomputed base-point table (see `ec_base`), the same point for a fraction of the cost.
    let in_range = match curve {
        Curve::P256 => p256::SecretKey::from_slice(&padded).is_ok(),
        Curve::P384 => p384::SecretKey::from_slice(&padded).is_ok(),
        Curve::P521 => p521::SecretKey::from_slice(&padded).is_ok(),
        Curve::Secp256k1 => k256::SecretKey::from_slice(&padded).is_ok(),
    };
    in_range.then(|| super::ec_base::public_point(curve, &padded))
}

/// The uncompressed form of a SEC1 point (compressed or not).
pub fn ec_uncompressed(curve: Curve, point: &[u8]) -> Option<Vec<u8>> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    macro_rules! on {
        ($c:ident) => {{
            let pk = $c::PublicKey::from_sec1_bytes(point).ok()?;
            Some(pk.to_encoded_point(false).as_bytes().to_vec())
        }};
    }
    match curve {
        Curve::P256 => on!(p256),
        Curve::P384 => on!(p384),
        Curve::P521 => on!(p521),
        Curve::Secp256k1 => on!(k256),
    }
}

/// A record from one JWK (RFC 7517) public key: RSA (`n`, `e`), EC (`crv`, `x`, `y`) or OKP
/// Ed25519/X25519 (`x`). Private members, if present, are ignored: the inventory holds public
/// keys. The label carries the `kid` when there is one.
pub fn from_jwk(jwk: &serde_json::Value, file: &str) -> Option<PublicKeyRecord> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let field = |k: &str| -> Option<Vec<u8>> {
        let s = jwk.get(k)?.as_str()?;
        URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
    };
    let kid = jwk.get("kid").and_then(|k| k.as_str());
    let source = match kid {
        Some(k) => format!(
            "kid {} ({file})",
            k.chars().take(MAX_SUBJECT).collect::<String>()
        ),
        None => format!("JWK ({file})"),
    };
    match jwk.get("kty")?.as_str()? {
        "RSA" => rsa_record(&field("n")?, &field("e")?, &source),
        "EC" => {
            let curve = match jwk.get("crv")?.as_str()? {
                "P-256" => Curve::P256,
                "P-384" => Curve::P384,
                "P-521" => Curve::P521,
                "secp256k1" => Curve::Secp256k1,
                _ => return None,
            };
            let len = curve.scalar_len();
            let (x, y) = (field("x")?, field("y")?);
            if x.len() != len || y.len() != len {
                return None;
            }
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Some(PublicKeyRecord {
                algorithm: "EC".into(),
                spki: ec_spki(curve, &point)?,
                point: Some(point),
                source,
                ..Default::default()
            })
        }
        "OKP" => {
            let x: [u8; 32] = field("x")?.try_into().ok()?;
            let (alg, spki) = match jwk.get("crv")?.as_str()? {
                "Ed25519" => ("Ed25519", fingerprint::ed25519_spki(&x)?),
                "X25519" => ("X25519", fingerprint::x25519_spki(&x)?),
                _ => return None,
            };
            Some(PublicKeyRecord {
                algorithm: alg.into(),
                spki,
                point: Some(x.to_vec()),
                source,
                ..Default::default()
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_label_prefers_cn_and_keeps_escapes() {
        assert_eq!(
            subject_label("CN=signing\\, inc,O=Example"),
            "CN=signing\\, inc"
        );
        assert_eq!(subject_label("O=Example,C=DE"), "O=Example,C=DE");
        assert_eq!(subject_label(""), "(empty subject)");
    }

    #[test]
    fn rsa_public_key_too_small_is_ignored() {
        let der = fingerprint::integer_sequence(&[&[0xc5; 32], &[1, 0, 1]]).unwrap();
        assert!(from_rsa_public_key(&der, "x").is_none());
        let der = fingerprint::integer_sequence(&[&[0xc5; 128], &[1, 0, 1]]).unwrap();
        let rec = from_rsa_public_key(&der, "x").unwrap();
        assert_eq!(rec.modulus.as_deref(), Some(&[0xc5u8; 128][..]));
        assert_eq!(
            rec.spki,
            fingerprint::rsa_spki(&[0xc5; 128], &[1, 0, 1]).unwrap()
        );
    }

    #[test]
    fn jwk_rsa_and_ec() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let n = [0xd3u8; 256];
        let jwk = serde_json::json!({"kty": "RSA", "kid": "k1", "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"});
        let rec = from_jwk(&jwk, "jwks.json").unwrap();
        assert_eq!(rec.source, "kid k1 (jwks.json)");
        assert_eq!(rec.spki, fingerprint::rsa_spki(&n, &[1, 0, 1]).unwrap());
        // The P-256 generator is a valid public point.
        let gx = hex::decode("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")
            .unwrap();
        let gy = hex::decode("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
            .unwrap();
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(&gx), "y": URL_SAFE_NO_PAD.encode(&gy)});
        let rec = from_jwk(&jwk, "f").unwrap();
        assert_eq!(rec.algorithm, "EC");
        assert_eq!(ec_curve(&rec.spki), Some(Curve::P256));
        // Off-curve point: rejected.
        let mut bad = gy.clone();
        bad[31] ^= 1;
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(&gx), "y": URL_SAFE_NO_PAD.encode(&bad)});
        assert!(from_jwk(&jwk, "f").is_none());
    }
}
