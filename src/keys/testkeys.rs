//! Fresh test keys for unit tests, made at test time by python3 `cryptography` (never a
//! stored secret).

use num_bigint_dig::BigUint;
use std::process::Command;

/// An RSA test key with its self-signed certificate.
pub struct TestRsa {
    pub n: BigUint,
    pub p: BigUint,
    pub q: BigUint,
    pub d: BigUint,
    pub cert_der: Vec<u8>,
    pub spki_der: Vec<u8>,
    /// `sha256:` fingerprint of the SPKI, computed independently (python hashlib).
    pub fingerprint: String,
}

const SCRIPT: &str = r#"
import sys, hashlib, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
bits = int(sys.argv[1]); ca = sys.argv[2] == "ca"
k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
n = k.private_numbers()
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dumpguard unit test")])
now = datetime.datetime(2024, 1, 1)
b = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
     .serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
     .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
cert = b.sign(k, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
spki = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
for v in (n.public_numbers.n, n.public_numbers.e, n.p, n.q, n.d):
    print("%x" % v)
print(cert.hex()); print(spki.hex()); print(hashlib.sha256(spki).hexdigest())
"#;

pub fn rsa(bits: usize, ca: bool) -> TestRsa {
    let out = Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            &bits.to_string(),
            if ca { "ca" } else { "leaf" },
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let l: Vec<&str> = text.lines().collect();
    let big = |s: &str| BigUint::parse_bytes(s.as_bytes(), 16).unwrap();
    TestRsa {
        n: big(l[0]),
        p: big(l[2]),
        q: big(l[3]),
        d: big(l[4]),
        cert_der: hex::decode(l[5]).unwrap(),
        spki_der: hex::decode(l[6]).unwrap(),
        fingerprint: format!("sha256:{}", l[7]),
    }
}

/// Reproducible filler bytes (xorshift): "random data" for tests.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}
