//! Test keys planted in the benchmark dump: generated fresh from the seed on every run (never
//! stored), in the encodings the detectors handle, each with the fingerprint the report must
//! carry, computed here with the RustCrypto crates, independently of dumpguard's own code.

use base64::Engine as _;
use der::asn1::{AnyRef, BitStringRef, UintRef};
use der::Encode;
use num_bigint_dig::{BigUint, ModInverse, RandPrime};
use num_traits::One;
use pkcs8::EncodePrivateKey;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use spki::EncodePublicKey;

/// A key as it will appear in memory.
pub struct Planted {
    /// What a human reads in the benchmark output: "RSA-2048 PKCS#1 DER".
    pub what: String,
    /// The bytes written into the dump, framing included.
    pub bytes: Vec<u8>,
    /// Where in `bytes` the finding must start.
    pub finding_at: usize,
    /// Where in `bytes` the detector's anchor starts (to make it straddle a chunk boundary).
    pub anchor_at: usize,
    /// The report's `encoding` for it.
    pub encoding: &'static str,
    /// `sha256:` + hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub fingerprint: String,
}

/// rsaEncryption (PKCS#1).
const RSA_ENCRYPTION: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

struct Key {
    name: &'static str,
    /// The private key in the DER structure to plant.
    der: Vec<u8>,
    spki: Vec<u8>,
}

fn fingerprint(spki: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(spki)))
}

/// RSA-2048 built from two fresh primes; returns (PKCS#1 DER, SPKI DER).
fn rsa(rng: &mut ChaCha20Rng) -> (Vec<u8>, Vec<u8>) {
    let e = BigUint::from(65_537u32);
    loop {
        let p = rng.gen_prime(1024);
        let q = rng.gen_prime(1024);
        let n = &p * &q;
        if p == q || n.bits() != 2048 {
            continue;
        }
        let one = BigUint::one();
        let (p1, q1) = (&p - &one, &q - &one);
        let Some(d) = (&e).mod_inverse(&p1 * &q1).and_then(|d| d.to_biguint()) else {
            continue;
        };
        let Some(qinv) = (&q).mod_inverse(&p).and_then(|c| c.to_biguint()) else {
            continue;
        };
        let (dp, dq) = (&d % &p1, &d % &q1);
        let b = |x: &BigUint| x.to_bytes_be();
        let (nb, eb, db, pb, qb, dpb, dqb, qib) =
            (b(&n), b(&e), b(&d), b(&p), b(&q), b(&dp), b(&dq), b(&qinv));
        let private = pkcs1::RsaPrivateKey {
            modulus: u(&nb),
            public_exponent: u(&eb),
            private_exponent: u(&db),
            prime1: u(&pb),
            prime2: u(&qb),
            exponent1: u(&dpb),
            exponent2: u(&dqb),
            coefficient: u(&qib),
            other_prime_infos: None,
        }
        .to_der()
        .expect("PKCS#1 encodes");
        let public = pkcs1::RsaPublicKey {
            modulus: u(&nb),
            public_exponent: u(&eb),
        }
        .to_der()
        .expect("PKCS#1 public key encodes");
        let spki = spki::SubjectPublicKeyInfoRef {
            algorithm: spki::AlgorithmIdentifier {
                oid: RSA_ENCRYPTION,
                parameters: Some(AnyRef::NULL),
            },
            subject_public_key: BitStringRef::from_bytes(&public).expect("bit string"),
        }
        .to_der()
        .expect("SPKI encodes");
        return (private, spki);
    }
}

fn u(x: &[u8]) -> UintRef<'_> {
    UintRef::new(x).expect("integer")
}

/// PKCS#8 PrivateKeyInfo around a PKCS#1 key.
/// A fresh RSA-2048 public key (PEM SPKI) for the factor-search measurement: a known modulus
/// whose factors are nowhere in the random bytes, so every candidate window is tested and none
/// matches.
pub fn public_pem_2048() -> String {
    let mut rng = ChaCha20Rng::seed_from_u64(0x6661_6374);
    let (_, spki) = rsa(&mut rng);
    pem("PUBLIC KEY", &spki, "\n")
}

fn rsa_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
    pkcs8::PrivateKeyInfo::new(
        spki::AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        pkcs1,
    )
    .to_der()
    .expect("PKCS#8 encodes")
}

fn pem(label: &str, der: &[u8], eol: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----{eol}");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        s.push_str(eol);
    }
    s.push_str(&format!("-----END {label}-----{eol}"));
    s
}

fn utf16(s: &str) -> Vec<u8> {
    s.bytes().flat_map(|b| [b, 0]).collect()
}

/// Wraps `inner` with `before`/`after` and records where the finding starts.
fn framed(before: &[u8], inner: &[u8], after: &[u8]) -> (Vec<u8>, usize) {
    let mut v = before.to_vec();
    v.extend_from_slice(inner);
    v.extend_from_slice(after);
    (v, before.len())
}

/// The first five bytes after the outer SEQUENCE header: the version INTEGER and what follows,
/// which is what the DER detector anchors on.
fn version_integer(der: &[u8]) -> &[u8] {
    let header = if der[1] & 0x80 != 0 {
        2 + (der[1] & 0x7f) as usize
    } else {
        2
    };
    &der[header..header + 5]
}

/// Offset of the first occurrence of `needle` in `hay` (the anchor inside a planted key).
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("anchor present in planted key")
}

/// The planted keys. The last two are the ones the caller places across chunk boundaries.
pub fn generate(seed: u64) -> Vec<Planted> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x6b65_7973);
    let rsa_a = rsa(&mut rng);
    let rsa_b = rsa(&mut rng);
    let rsa_c = rsa(&mut rng);
    let ec = |rng: &mut ChaCha20Rng| p256::SecretKey::random(rng);
    let (p256_a, p256_b, p256_c) = (ec(&mut rng), ec(&mut rng), ec(&mut rng));
    let p384 = p384::SecretKey::random(&mut rng);
    let mut seed32 = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rng, &mut seed32);
    let ed = ed25519_dalek::SigningKey::from_bytes(&seed32);

    let p256_spki = |k: &p256::SecretKey| k.public_key().to_public_key_der().unwrap().to_vec();
    let keys = [
        Key {
            name: "RSA-2048 PKCS#1",
            der: rsa_a.0.clone(),
            spki: rsa_a.1.clone(),
        },
        Key {
            name: "RSA-2048 PKCS#8",
            der: rsa_pkcs8(&rsa_b.0),
            spki: rsa_b.1,
        },
        Key {
            name: "P-256 SEC1",
            der: p256_a.to_sec1_der().unwrap().to_vec(),
            spki: p256_spki(&p256_a),
        },
        Key {
            name: "P-256 SEC1",
            der: p256_b.to_sec1_der().unwrap().to_vec(),
            spki: p256_spki(&p256_b),
        },
        Key {
            name: "RSA-2048 PKCS#1",
            der: rsa_c.0,
            spki: rsa_c.1,
        },
        Key {
            name: "P-384 PKCS#8",
            der: p384.to_pkcs8_der().unwrap().as_bytes().to_vec(),
            spki: p384.public_key().to_public_key_der().unwrap().to_vec(),
        },
        Key {
            name: "Ed25519 PKCS#8 v2",
            der: ed.to_pkcs8_der().unwrap().as_bytes().to_vec(),
            spki: ed.verifying_key().to_public_key_der().unwrap().to_vec(),
        },
        Key {
            name: "P-256 PKCS#8",
            der: p256_c.to_pkcs8_der().unwrap().as_bytes().to_vec(),
            spki: p256_spki(&p256_c),
        },
        Key {
            name: "RSA-2048 PKCS#1",
            der: rsa_a.0,
            spki: rsa_a.1,
        },
    ];
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let mut out = Vec::new();
    for (i, k) in keys.into_iter().enumerate() {
        let (what, encoding, (bytes, finding_at), anchor): (_, _, _, Vec<u8>) = match i {
            0 | 5 | 6 | 8 => (
                format!("{} DER", k.name),
                "der",
                framed(b"", &k.der, b""),
                version_integer(&k.der).to_vec(),
            ),
            1 => (
                format!("{} PEM", k.name),
                "pem",
                framed(b"\n", pem("PRIVATE KEY", &k.der, "\n").as_bytes(), b"\0"),
                b"-----BEGIN ".to_vec(),
            ),
            2 => (
                format!("{} PEM UTF-16LE (CRLF)", k.name),
                "pem-utf16le",
                framed(
                    &[0, 0],
                    &utf16(&pem("EC PRIVATE KEY", &k.der, "\r\n")),
                    &[0, 0],
                ),
                utf16("-----BEGIN "),
            ),
            3 => (
                format!("{} bare base64 in JSON", k.name),
                "base64",
                framed(br#"{"signing_key":""#, b64(&k.der).as_bytes(), br#""}"#),
                b"CAQEEI".to_vec(),
            ),
            4 => (
                format!("{} bare base64 UTF-16LE", k.name),
                "base64-utf16le",
                framed(&utf16("KEY="), &utf16(&b64(&k.der)), &[0, 0]),
                utf16("IBAAKCA"),
            ),
            _ => (
                format!("{} PEM", k.name),
                "pem",
                framed(b"\n", pem("PRIVATE KEY", &k.der, "\n").as_bytes(), b"\0"),
                b"-----BEGIN ".to_vec(),
            ),
        };
        let anchor_at = find(&bytes, &anchor);
        out.push(Planted {
            what,
            bytes,
            finding_at,
            anchor_at,
            encoding,
            fingerprint: fingerprint(&k.spki),
        });
    }
    out
}
