//! Every DER/PEM/base64 private-key encoding of issue 2, for every supported algorithm, planted
//! in random bytes: found, verified (or correctly marked encrypted/derived), with the exact
//! fingerprint OpenSSL computes. And the negatives: one-bit-corrupted copies are never
//! verified, random data behind planted anchors gives no verified finding.

use crate::common;

use dumpguard::report::{Finding, Report};
use dumpguard::Scanner;
use std::process::Command;

struct Sample {
    name: String,
    encoding: String,
    bytes: Vec<u8>,
    fingerprint: Option<String>,
    /// Expected status: verified, derived, encrypted.
    status: String,
}

/// Generated once per test binary (key generation dominates the run time).
fn samples() -> &'static [Sample] {
    static S: std::sync::OnceLock<Vec<Sample>> = std::sync::OnceLock::new();
    S.get_or_init(generate)
}

/// python3 `cryptography` builds every key type in every encoding (an implementation
/// independent of ours); fingerprints come from the OpenSSL CLI.
fn generate() -> Vec<Sample> {
    let src = r#"
import base64, json
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519, x25519, dsa
from cryptography.hazmat.primitives import serialization as s
keys = [("rsa-1024", rsa.generate_private_key(65537, 1024)), ("rsa-2048", rsa.generate_private_key(65537, 2048)),
        ("rsa-3072", rsa.generate_private_key(65537, 3072)), ("rsa-4096", rsa.generate_private_key(65537, 4096)),
        ("dsa-2048", dsa.generate_private_key(2048)),
        ("p256", ec.generate_private_key(ec.SECP256R1())), ("p384", ec.generate_private_key(ec.SECP384R1())),
        ("p521", ec.generate_private_key(ec.SECP521R1())), ("k256", ec.generate_private_key(ec.SECP256K1())),
        ("ed25519", ed25519.Ed25519PrivateKey.generate()), ("x25519", x25519.X25519PrivateKey.generate())]
out = []
for name, k in keys:
    pem8 = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
    der8 = k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption())
    # What proves the key: a stored public part (SEC1/PKCS#1/OpenSSL DSA), or only derivation.
    derived8 = name in ("ed25519", "x25519", "dsa-2048")
    e = {"pkcs8-der": (der8, "derived" if derived8 else "verified"),
         "pkcs8-pem": (pem8, "derived" if derived8 else "verified"),
         "pkcs8-pem-crlf": (pem8.replace(b"\n", b"\r\n"), "derived" if derived8 else "verified"),
         "pkcs8-pem-json": (json.dumps({"key": pem8.decode()}).encode(), "derived" if derived8 else "verified"),
         "pkcs8-pem-oneline": (pem8.replace(b"\n", b""), "derived" if derived8 else "verified"),
         "pkcs8-pem-utf16le": (pem8.decode().encode("utf-16-le"), "derived" if derived8 else "verified"),
         "pkcs8-base64": (b"KEY=" + base64.b64encode(der8) + b";", "derived" if derived8 else "verified"),
         "pkcs8-base64-utf16le": (("KEY=" + base64.b64encode(der8).decode() + ";").encode("utf-16-le"), "derived" if derived8 else "verified"),
         "pkcs8-encrypted-der": (k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.BestAvailableEncryption(b"test password")), "encrypted"),
         "pkcs8-encrypted-pem": (k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.BestAvailableEncryption(b"test password")), "encrypted")}
    if name.startswith(("rsa", "p", "k", "dsa")):
        tder = k.private_bytes(s.Encoding.DER, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption())
        tpem = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption())
        e["trad-der"] = (tder, "verified")
        e["trad-pem"] = (tpem, "verified")
        e["trad-base64"] = (b"\"" + base64.b64encode(tder) + b"\"", "verified")
        e["trad-pem-legacy-encrypted"] = (k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.BestAvailableEncryption(b"test password")), "encrypted")
    for enc, (b, status) in e.items():
        out.append({"name": name, "encoding": enc, "bytes": base64.b64encode(b).decode(), "status": status, "pem": pem8.decode()})
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(src)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    use base64::Engine;
    let mut fps = std::collections::HashMap::new();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let pem = s["pem"].as_str().unwrap().to_string();
            let status = s["status"].as_str().unwrap().to_string();
            let fingerprint = if status == "encrypted" {
                None
            } else {
                Some(
                    fps.entry(pem.clone())
                        .or_insert_with(|| common::openssl_fingerprint(pem.as_bytes()))
                        .clone(),
                )
            };
            Sample {
                name: s["name"].as_str().unwrap().into(),
                encoding: s["encoding"].as_str().unwrap().into(),
                bytes: base64::engine::general_purpose::STANDARD
                    .decode(s["bytes"].as_str().unwrap())
                    .unwrap(),
                fingerprint,
                status,
            }
        })
        .collect()
}

/// Deterministic pseudo-random filler (xorshift), so failures reproduce.
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(n);
    v
}

fn scan(bytes: &[u8]) -> Report {
    Scanner::new().scan_bytes("test", bytes)
}

#[test]
fn every_encoding_of_every_key_is_found_with_its_fingerprint() {
    let all = samples();
    assert!(all.len() > 100);
    // All samples in one buffer, at odd offsets, separated by random bytes.
    let mut buf = noise(4099, 1);
    let mut at = Vec::new();
    for (i, s) in all.iter().enumerate() {
        at.push(buf.len());
        buf.extend_from_slice(&s.bytes);
        buf.extend_from_slice(&noise(1000 + i * 7, i as u64 + 2));
    }
    let r = scan(&buf);
    for (s, &off) in all.iter().zip(&at) {
        let end = off + s.bytes.len();
        let hits: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| f.offset as usize >= off && (f.offset as usize) < end)
            .collect();
        assert!(!hits.is_empty(), "{} {}: not found", s.name, s.encoding);
        let f = hits[0];
        assert_eq!(
            f.status, s.status,
            "{} {}: {}",
            s.name, s.encoding, f.verification
        );
        assert_eq!(f.fingerprint, s.fingerprint, "{} {}", s.name, s.encoding);
        assert_eq!(f.verified, s.status == "verified");
        if s.encoding.contains("utf16") {
            assert!(
                f.encoding.ends_with("utf16le"),
                "{} {}: encoding {}",
                s.name,
                s.encoding,
                f.encoding
            );
        }
    }
    // Nothing else was reported: no finding outside the planted samples.
    for f in &r.findings {
        let inside = all.iter().zip(&at).any(|(s, &off)| {
            (f.offset as usize) >= off && (f.offset as usize) < off + s.bytes.len()
        });
        assert!(inside, "finding outside any planted key: {f:?}");
    }
}

/// Flips one bit inside the key material of each verified DER/PEM sample: the result is
/// never reported as verified (usually as corrupted).
#[test]
fn one_bit_corrupted_keys_are_never_verified() {
    let mut corrupted_reported = 0;
    let mut total = 0;
    for s in samples().iter().filter(|s| {
        s.status == "verified"
            && matches!(
                s.encoding.as_str(),
                "pkcs8-der" | "trad-der" | "pkcs8-pem" | "trad-pem"
            )
    }) {
        for frac in [3, 5, 7] {
            let mut b = s.bytes.clone();
            // A byte in the body, past the headers: inside the numbers.
            let i = b.len() * (frac * 2 + 1) / (frac * 2 + 4);
            if s.encoding.ends_with("pem") {
                // Change one base64 character to another (a 1–6 bit flip in the DER).
                b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            } else {
                b[i] ^= 0x10;
            }
            let mut buf = noise(512, 9);
            buf.extend_from_slice(&b);
            buf.extend_from_slice(&noise(512, 10));
            let r = scan(&buf);
            total += 1;
            for f in &r.findings {
                assert!(
                    !f.verified,
                    "{} {} with a flipped bit at {i} was verified: {}",
                    s.name, s.encoding, f.verification
                );
            }
            if r.findings.iter().any(|f| f.status == "corrupted") {
                corrupted_reported += 1;
            }
        }
    }
    // Most flips land in key numbers and are reported as a damaged key, not dropped.
    assert!(
        corrupted_reported * 10 >= total * 7,
        "only {corrupted_reported} of {total} reported corrupted"
    );
}

/// Anchors followed by random bytes: never a verified finding.
#[test]
fn anchors_followed_by_random_bytes_are_not_keys() {
    use base64::Engine;
    let mut buf = Vec::new();
    let anchors: Vec<Vec<u8>> = vec![
        b"-----BEGIN RSA PRIVATE KEY-----\n".to_vec(),
        b"-----BEGIN PRIVATE KEY-----\n".to_vec(),
        b"-----BEGIN EC PRIVATE KEY-----\n".to_vec(),
        common::utf16le(b"-----BEGIN PRIVATE KEY-----\n"),
        hex::decode("308204a3020100028201010")
            .unwrap_or_else(|_| hex::decode("308204a302010002820101").unwrap()),
        hex::decode("308204bd020100300d06092a864886f70d0101010500048204a7").unwrap(),
        hex::decode("30770201010420").unwrap(),
        hex::decode("302e020100300506032b657004220420").unwrap(),
        hex::decode("3082053530").unwrap(),
    ];
    for (i, a) in anchors.iter().enumerate() {
        for round in 0..20u64 {
            buf.extend_from_slice(&noise(300, round * 31 + i as u64));
            buf.extend_from_slice(a);
            let tail = noise(2000, round * 97 + i as u64 + 5);
            if a.starts_with(b"-----") {
                let b64 = base64::engine::general_purpose::STANDARD.encode(&tail);
                for line in b64.as_bytes().chunks(64) {
                    buf.extend_from_slice(line);
                    buf.push(b'\n');
                }
            } else {
                buf.extend_from_slice(&tail);
            }
        }
    }
    let r = scan(&buf);
    // (Any 32 bytes after the Ed25519 PKCS#8 prefix *are* an Ed25519 key: reported as derived,
    // never as verified.)
    assert!(
        r.findings.iter().all(|f| !f.verified),
        "random data reported as a verified key"
    );
}

/// Outputs never contain key material, in any encoding.
#[test]
fn reports_hold_no_key_bytes() {
    let all = samples();
    let mut buf = Vec::new();
    for s in all {
        buf.extend_from_slice(&s.bytes);
        buf.extend_from_slice(&noise(300, 3));
    }
    let r = scan(&buf);
    let json = r.to_json(true);
    let human = dumpguard::report::human::render(&r);
    for s in all
        .iter()
        .filter(|s| s.encoding == "pkcs8-der" || s.encoding == "trad-der")
    {
        // The tail of a DER key is private material (the last CRT values / the scalar).
        let secret = &s.bytes[s.bytes.len().saturating_sub(32)..];
        common::assert_no_secret(json.as_bytes(), secret);
        common::assert_no_secret(human.as_bytes(), secret);
    }
}
