//! DER private keys sitting directly in binary memory: PKCS#1, PKCS#8 (RSA, EC, Ed25519,
//! X25519, DSA), SEC1, OpenSSL DSA and EncryptedPrivateKeyInfo (docs/key-formats.md §2).
//!
//! Anchors are the version INTEGER followed by what must come next in each structure, or the
//! encryption-scheme OID; the enclosing SEQUENCE header is found by looking back a few bytes
//! and the exact TLV is handed to the strict decoders. A PKCS#1 structure whose outer length
//! is damaged is still walked integer by integer, so the RSA math decides, not the framing.

use super::{der_key_finding, Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::{self, RsaParts, Status};
use crate::report::Finding;

pub struct DerKey;

/// How far before an anchor the outermost SEQUENCE header can start.
const MAX_BACK: usize = 24;

const PKCS1_BIG: u32 = 0;
const PKCS1_1024: u32 = 1;
const OTHER: u32 = 2;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("static hex")
}

impl Detector for DerKey {
    fn name(&self) -> &'static str {
        "der"
    }

    fn family(&self) -> Family {
        Family::Keys
    }

    fn describe(&self) -> &'static str {
        "binary DER private keys: PKCS#1, PKCS#8, SEC1, DSA, encrypted PKCS#8"
    }

    fn anchors(&self) -> Vec<Anchor> {
        let a = |s: &str, tag| Anchor { bytes: h(s), tag };
        vec![
            // PKCS#1 RSAPrivateKey / OpenSSL DSA: version 0, then a ≥ 2048-bit / 1024-bit INTEGER.
            a("02 01 00 02 82", PKCS1_BIG),
            a("02 01 00 02 81", PKCS1_1024),
            // PKCS#8 v1/v2: version, AlgorithmIdentifier with the key algorithm OID.
            a("02 01 00 30 0d 06 09 2a 86 48 86 f7 0d 01 01", OTHER),
            a("02 01 00 30 13 06 07 2a 86 48 ce 3d 02 01", OTHER),
            a("02 01 00 30 10 06 07 2a 86 48 ce 3d 02 01", OTHER),
            a("02 01 01 30 13 06 07 2a 86 48 ce 3d 02 01", OTHER),
            a("02 01 01 30 10 06 07 2a 86 48 ce 3d 02 01", OTHER),
            a("02 01 00 30 05 06 03 2b 65", OTHER),
            a("02 01 01 30 05 06 03 2b 65", OTHER),
            a("02 01 00 30 82", OTHER), // PKCS#8 DSA (long parameters)
            // SEC1 ECPrivateKey: version 1, OCTET STRING of the scalar (P-256/k1, P-384, P-521).
            a("02 01 01 04 20", OTHER),
            a("02 01 01 04 30", OTHER),
            a("02 01 01 04 42", OTHER),
            a("02 01 01 04 41", OTHER),
            // EncryptedPrivateKeyInfo: PKCS#5 (PBES1/PBES2) and PKCS#12 PBE scheme OIDs.
            a("06 09 2a 86 48 86 f7 0d 01 05", OTHER),
            a("06 0a 2a 86 48 86 f7 0d 01 0c 01", OTHER),
        ]
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let data = cx.data;
        let lo = pos.saturating_sub(MAX_BACK);
        for s in (lo..pos).rev() {
            if data[s] != 0x30 {
                continue;
            }
            let Some(total) = keys::decode::tlv_len(&data[s..]) else {
                continue;
            };
            if s + total <= pos {
                continue;
            }
            let preview = |fmt: &str| format!("DER {fmt} private key [{total} bytes, redacted]");
            if let Some(f) = der_key_finding(
                "der",
                "der",
                s as u64,
                total as u64,
                &data[s..s + total],
                preview,
            ) {
                sink.push(f);
                return;
            }
        }
        if tag == PKCS1_BIG || tag == PKCS1_1024 {
            if let Some(f) = lenient_pkcs1(data, pos) {
                sink.push(f);
            }
        }
    }
}

/// Reads one DER INTEGER (tag, length, content) without any framing around it.
fn integer(data: &[u8], at: usize) -> Option<(&[u8], usize)> {
    if *data.get(at)? != 0x02 {
        return None;
    }
    let len = keys::decode::tlv_len(data.get(at..)?)?;
    let hdr = match data[at + 1] {
        0x81 => 3,
        0x82 => 4,
        0x83 => 5,
        _ => 2,
    };
    Some((&data[at + hdr..at + len], at + len))
}

/// A PKCS#1-looking run of INTEGERs whose SEQUENCE framing did not parse: walk the integers
/// directly. Nine integers are checked by the RSA math like any key; fewer is reported as a
/// damaged key only when the start is unmistakably RSA (a ≥ 1024-bit modulus).
fn lenient_pkcs1(data: &[u8], pos: usize) -> Option<Finding> {
    let mut ints = Vec::new();
    let mut at = pos;
    while ints.len() < 9 {
        match integer(data, at) {
            Some((v, next)) => {
                ints.push(v);
                at = next;
            }
            None => break,
        }
    }
    let strip = |b: &[u8]| b.iter().skip_while(|&&x| x == 0).count();
    if ints.len() < 3 || ints[0] != [0] || strip(ints[1]) < 128 || strip(ints[2]) > 8 {
        return None;
    }
    // No RSA key has integers this large; converting them would cost each anchor a copy.
    if ints.iter().any(|i| i.len() > keys::MAX_INT_BYTES) {
        return None;
    }
    let length = (at - pos) as u64;
    let preview = format!("DER RSA private key, damaged framing [{length} bytes, redacted]");
    let verdict = if ints.len() == 9 {
        let i = &ints;
        let parts = RsaParts::from_be(
            "PKCS#1 (damaged framing)",
            i[1],
            i[2],
            i[3],
            i[4],
            i[5],
            i[6],
            i[7],
            i[8],
        );
        keys::verify(&keys::PrivateKey::Rsa(parts))
    } else {
        let mut v = keys::verify(&keys::PrivateKey::Rsa(RsaParts {
            n: Some(num_bigint_dig::BigUint::from_bytes_be(ints[1])),
            format: "PKCS#1 (truncated)".into(),
            ..Default::default()
        }));
        v.status = Status::Corrupted;
        v.verification = format!(
            "PKCS#1 RSA structure with only {} of 9 integers readable",
            ints.len()
        );
        v
    };
    Some(Finding::key(
        "der", "der", pos as u64, length, &verdict, preview,
    ))
}
