//! DER private-key structures → [`PrivateKey`]: PKCS#8 PrivateKeyInfo / OneAsymmetricKey,
//! PKCS#1 RSAPrivateKey, SEC1 ECPrivateKey, OpenSSL traditional DSA, and
//! EncryptedPrivateKeyInfo. Parsing is strict DER through the RustCrypto crates; callers pass
//! exactly one TLV (see [`tlv_len`]).

use super::dsa::DsaParts;
use super::ec::Curve;
use super::{PrivateKey, RsaParts};
use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef, UintRef};
use der::{Decode, Reader, SliceReader};
use num_bigint_dig::BigUint;
use pkcs8::PrivateKeyInfo;
use spki::AlgorithmIdentifierRef;

/// The container format a key was found in, for the report.
pub struct Decoded {
    /// The decoded key, not yet verified.
    pub key: PrivateKey,
    /// The container it was in (`PKCS#1`, `PKCS#8`, `SEC1` ...), for the report.
    pub format: &'static str,
}

/// Length of the DER TLV at the start of `data` (header + content), if it is definite and
/// fits. This is what lets detectors hand the strict decoders an exact slice.
pub fn tlv_len(data: &[u8]) -> Option<usize> {
    let &first = data.get(1)?;
    let (hdr, len) = match first {
        0..=0x7f => (2, first as usize),
        0x81 => (3, *data.get(2)? as usize),
        0x82 => (
            4,
            u16::from_be_bytes([*data.get(2)?, *data.get(3)?]) as usize,
        ),
        0x83 => (
            5,
            u32::from_be_bytes([0, *data.get(2)?, *data.get(3)?, *data.get(4)?]) as usize,
        ),
        _ => return None,
    };
    let total = hdr + len;
    (total <= data.len()).then_some(total)
}

/// Most INTEGERs a key structure read by [`integer_sequence`] has (OpenSSL DSA: 6). Reading
/// stops past it: a hostile 16 MiB SEQUENCE of tiny INTEGERs, found again from every anchor
/// inside it, would otherwise cost quadratic time.
const MAX_SEQUENCE_INTEGERS: usize = 16;

/// Reads a SEQUENCE whose elements are all unsigned INTEGERs (at most
/// `MAX_SEQUENCE_INTEGERS` of them).
pub fn integer_sequence(der: &[u8]) -> Option<Vec<&[u8]>> {
    let mut r = SliceReader::new(der).ok()?;
    let ints = r
        .sequence(|r| {
            let mut v = Vec::new();
            while !r.is_finished() {
                if v.len() == MAX_SEQUENCE_INTEGERS {
                    return Err(der::ErrorKind::Overlength.into());
                }
                v.push(UintRef::decode(r)?.as_bytes());
            }
            Ok(v)
        })
        .ok()?;
    r.finish(ints).ok()
}

fn big(b: &[u8]) -> BigUint {
    BigUint::from_bytes_be(b)
}

/// Decodes one DER private-key structure, trying each known container.
pub fn private_key_der(der: &[u8]) -> Option<Decoded> {
    if let Ok(pki) = PrivateKeyInfo::try_from(der) {
        return pkcs8(&pki).map(|key| Decoded {
            key,
            format: "PKCS#8",
        });
    }
    if let Ok(k) = pkcs1::RsaPrivateKey::try_from(der) {
        return Some(Decoded {
            key: PrivateKey::Rsa(pkcs1_parts(&k, "PKCS#1")?),
            format: "PKCS#1",
        });
    }
    if let Ok(k) = sec1::EcPrivateKey::try_from(der) {
        let curve = match k.parameters.and_then(|p| p.named_curve()) {
            Some(oid) => match Curve::from_oid(&oid) {
                Some(c) => c,
                None => {
                    let algorithm = format!("EC {}", oid_name(&oid.to_string()));
                    return Some(Decoded {
                        key: PrivateKey::Unsupported { algorithm },
                        format: "SEC1",
                    });
                }
            },
            None => curve_without_parameters(k.private_key, k.public_key)?,
        };
        return Some(Decoded {
            key: PrivateKey::Ec {
                curve,
                d: k.private_key.to_vec(),
                public: k.public_key.map(|p| p.to_vec()),
            },
            format: "SEC1",
        });
    }
    if let Some(ints) = integer_sequence(der) {
        if ints.len() == 6 && ints[0] == [0] {
            return Some(Decoded {
                key: PrivateKey::Dsa(DsaParts {
                    p: big(ints[1]),
                    q: big(ints[2]),
                    g: big(ints[3]),
                    y: Some(big(ints[4])),
                    x: big(ints[5]),
                    format: "OpenSSL DSA".into(),
                }),
                format: "OpenSSL DSA",
            });
        }
    }
    encrypted(der).map(|scheme| Decoded {
        key: PrivateKey::Encrypted { scheme },
        format: "PKCS#8 encrypted",
    })
}

/// A SEC1 key without parameters (as nested inside PKCS#8): the curve follows from the scalar
/// length, and for 32-byte scalars (P-256 or secp256k1) from which curve the stored public
/// point matches. Without a public point, P-256 — by far the more common — is assumed.
fn curve_without_parameters(d: &[u8], public: Option<&[u8]>) -> Option<Curve> {
    let candidates: &[Curve] = match d.len() {
        32 => &[Curve::P256, Curve::Secp256k1],
        48 => &[Curve::P384],
        65 | 66 => &[Curve::P521],
        _ => return None,
    };
    let Some(q) = public else {
        return Some(candidates[0]);
    };
    candidates
        .iter()
        .copied()
        .find(|&c| super::ec::verify(c, d, Some(q)).status == super::Status::Verified)
        .or(Some(candidates[0]))
}

/// The integers of a PKCS#1 structure, unless one is larger than any RSA key has (then it
/// is not a key: refusing it before converting keeps nested hostile structures, each holding
/// a 16 MiB "modulus", from costing a 16 MiB copy per anchor).
fn pkcs1_parts(k: &pkcs1::RsaPrivateKey<'_>, format: &str) -> Option<RsaParts> {
    let ints = [
        k.modulus.as_bytes(),
        k.public_exponent.as_bytes(),
        k.private_exponent.as_bytes(),
        k.prime1.as_bytes(),
        k.prime2.as_bytes(),
        k.exponent1.as_bytes(),
        k.exponent2.as_bytes(),
        k.coefficient.as_bytes(),
    ];
    if ints.iter().any(|i| i.len() > super::rsa::MAX_INT_BYTES) {
        return None;
    }
    let [n, e, d, p, q, dp, dq, qinv] = ints;
    Some(RsaParts::from_be(format, n, e, d, p, q, dp, dq, qinv))
}

const RSA: &str = "1.2.840.113549.1.1.1";
const RSA_PSS: &str = "1.2.840.113549.1.1.10";
const EC: &str = "1.2.840.10045.2.1";
const ED25519: &str = "1.3.101.112";
const X25519: &str = "1.3.101.110";
const DSA: &str = "1.2.840.10040.4.1";

fn pkcs8(pki: &PrivateKeyInfo<'_>) -> Option<PrivateKey> {
    let oid = pki.algorithm.oid.to_string();
    let public = pki.public_key.map(|p| p.to_vec());
    match oid.as_str() {
        RSA | RSA_PSS => {
            let k = pkcs1::RsaPrivateKey::try_from(pki.private_key).ok()?;
            Some(PrivateKey::Rsa(pkcs1_parts(&k, "PKCS#8")?))
        }
        EC => {
            let curve_oid: ObjectIdentifier = pki.algorithm.parameters_oid().ok()?;
            let Some(curve) = Curve::from_oid(&curve_oid) else {
                return Some(PrivateKey::Unsupported {
                    algorithm: format!("EC {}", oid_name(&curve_oid.to_string())),
                });
            };
            let k = sec1::EcPrivateKey::try_from(pki.private_key).ok()?;
            Some(PrivateKey::Ec {
                curve,
                d: k.private_key.to_vec(),
                public: k.public_key.map(|p| p.to_vec()).or(public),
            })
        }
        ED25519 | X25519 => {
            let inner = OctetStringRef::from_der(pki.private_key).ok()?;
            let k: [u8; 32] = inner.as_bytes().try_into().ok()?;
            Some(if oid == ED25519 {
                PrivateKey::Ed25519 { seed: k, public }
            } else {
                PrivateKey::X25519 { scalar: k, public }
            })
        }
        DSA => {
            let params = pki.algorithm.parameters?;
            let params = der::Encode::to_der(&params).ok()?;
            let pqg = integer_sequence(&params)?;
            if pqg.len() != 3 {
                return None;
            }
            let x = UintRef::from_der(pki.private_key).ok()?;
            Some(PrivateKey::Dsa(DsaParts {
                p: big(pqg[0]),
                q: big(pqg[1]),
                g: big(pqg[2]),
                x: big(x.as_bytes()),
                y: None,
                format: "PKCS#8".into(),
            }))
        }
        other => Some(PrivateKey::Unsupported {
            algorithm: oid_name(other),
        }),
    }
}

/// Readable names for algorithm and curve OIDs of keys dumpguard reports but cannot verify.
fn oid_name(oid: &str) -> String {
    let name = match oid {
        "1.3.101.113" => "Ed448",
        "1.3.101.111" => "X448",
        "1.3.132.0.33" => "P-224",
        "1.2.840.10045.3.1.1" => "P-192",
        "1.2.643.2.2.19" => "GOST R 34.10-2001",
        "1.2.643.7.1.1.1.1" => "GOST R 34.10-2012 (256-bit)",
        "1.2.643.7.1.1.1.2" => "GOST R 34.10-2012 (512-bit)",
        "1.2.156.10197.1.301" => "SM2",
        "1.2.840.113549.1.3.1" => "DH",
        _ => return format!("OID {oid}"),
    };
    name.to_string()
}

/// Generic EncryptedPrivateKeyInfo: SEQUENCE { AlgorithmIdentifier, OCTET STRING }. Parsed
/// by shape so PKCS#12 PBE schemes (which the pkcs5 crate does not model) are recognised too.
fn encrypted(der: &[u8]) -> Option<String> {
    let mut r = SliceReader::new(der).ok()?;
    let (alg, data) = r
        .sequence(|r| {
            let alg = AlgorithmIdentifierRef::decode(r)?;
            let data = OctetStringRef::decode(r)?;
            Ok((alg, data))
        })
        .ok()?;
    r.finish(()).ok()?;
    // Ciphertext of a private key is never tiny.
    if data.as_bytes().len() < 32 {
        return None;
    }
    let name = pbe_name(&alg.oid)?;
    Some(match name {
        "PBES2" => pbes2_detail(alg.parameters).unwrap_or_else(|| "PBES2".into()),
        other => other.into(),
    })
}

fn pbe_name(oid: &ObjectIdentifier) -> Option<&'static str> {
    Some(match oid.to_string().as_str() {
        "1.2.840.113549.1.5.13" => "PBES2",
        "1.2.840.113549.1.5.3" => "PBES1 MD5-DES",
        "1.2.840.113549.1.5.6" => "PBES1 MD5-RC2",
        "1.2.840.113549.1.5.10" => "PBES1 SHA1-DES",
        "1.2.840.113549.1.5.11" => "PBES1 SHA1-RC2",
        "1.2.840.113549.1.12.1.1" => "PKCS#12 SHA1-RC4-128",
        "1.2.840.113549.1.12.1.2" => "PKCS#12 SHA1-RC4-40",
        "1.2.840.113549.1.12.1.3" => "PKCS#12 SHA1-3DES",
        "1.2.840.113549.1.12.1.4" => "PKCS#12 SHA1-2DES",
        "1.2.840.113549.1.12.1.5" => "PKCS#12 SHA1-RC2-128",
        "1.2.840.113549.1.12.1.6" => "PKCS#12 SHA1-RC2-40",
        _ => return None,
    })
}

/// "PBES2, PBKDF2 (2048 iterations), AES-256-CBC" — from the parameter OIDs.
fn pbes2_detail(params: Option<AnyRef<'_>>) -> Option<String> {
    let bytes = der::Encode::to_der(&params?).ok()?;
    let mut r = SliceReader::new(&bytes).ok()?;
    let (kdf, enc) = r
        .sequence(|r| {
            Ok((
                AlgorithmIdentifierRef::decode(r)?,
                AlgorithmIdentifierRef::decode(r)?,
            ))
        })
        .ok()?;
    let kdf_name = match kdf.oid.to_string().as_str() {
        "1.2.840.113549.1.5.12" => {
            let iters = kdf.parameters.and_then(|p| {
                let b = der::Encode::to_der(&p).ok()?;
                let mut r = SliceReader::new(&b).ok()?;
                r.sequence(|r| {
                    let _salt = AnyRef::decode(r)?;
                    let n = UintRef::decode(r)?;
                    while !r.is_finished() {
                        AnyRef::decode(r)?;
                    }
                    Ok(n.as_bytes()
                        .iter()
                        .fold(0u64, |a, &b| a.saturating_mul(256).saturating_add(b as u64)))
                })
                .ok()
            });
            match iters {
                Some(n) => format!("PBKDF2, {n} iterations"),
                None => "PBKDF2".into(),
            }
        }
        "1.3.6.1.4.1.11591.4.11" => "scrypt".into(),
        o => format!("KDF {o}"),
    };
    let enc_name = match enc.oid.to_string().as_str() {
        "2.16.840.1.101.3.4.1.2" => "AES-128-CBC".to_string(),
        "2.16.840.1.101.3.4.1.22" => "AES-192-CBC".into(),
        "2.16.840.1.101.3.4.1.42" => "AES-256-CBC".into(),
        "1.2.840.113549.3.7" => "3DES-CBC".into(),
        "1.3.14.3.2.7" => "DES-CBC".into(),
        o => format!("cipher {o}"),
    };
    Some(format!("PBES2, {kdf_name}, {enc_name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// A public test key (GnuTLS self-test, P-224 SEC1): unsupported curves are reported as
    /// unverifiable keys, not dropped and not called corrupted.
    #[test]
    fn sec1_on_unsupported_curve_is_unverifiable() {
        let der = base64::engine::general_purpose::STANDARD
            .decode("MGgCAQEEHOKWJFdWdrR/CgVrUeTeawOrJ9GozE9KKx2a8PmgBwYFK4EEACGhPAM6AAQKQj3YpenWT7lFR41SnBvmj/+Bj+kgzQnaF65qWAtPRJsZXFlLTu3/IUNqSRu9DqPsk8xBHAB7pA==")
            .unwrap();
        let d = private_key_der(&der).expect("decodes");
        assert_eq!(d.format, "SEC1");
        assert!(
            matches!(d.key, PrivateKey::Unsupported { ref algorithm } if algorithm == "EC P-224")
        );
    }
}
