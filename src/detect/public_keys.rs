//! Public keys seen in the dump: X.509 certificates (DER, and PEM in ASCII or UTF-16LE),
//! SubjectPublicKeyInfo and PKCS#1 RSAPublicKey. They are never findings; they feed the
//! public-key index: an RSA modulus lets a lone prime factor in raw memory prove a private key
//! (docs/key-formats.md §13), an EC point lets a bare scalar be checked (§12.4), and a certificate
//! subject names the key a finding belongs to.

use super::text::{self, Encoding};
use super::{Anchor, Detector, Family, PublicKeyRecord, ScanContext, Sink};
use crate::keys::{decode::tlv_len, pubkey};

pub struct PublicKeys;

/// SubjectPublicKeyInfo algorithm OIDs (DER), each found inside the SPKI's AlgorithmIdentifier.
const SPKI: u32 = 0;
/// `02 03 01 00 01`: the exponent 65537 that ends most RSAPublicKey structures.
const RSA_E65537: u32 = 1;
/// PEM armour labels of public material; tag = PEM_BASE + index·2 + encoding.
const PEM_BASE: u32 = 16;
const PEM_LABELS: [&str; 5] = [
    "CERTIFICATE",
    "TRUSTED CERTIFICATE",
    "X509 CERTIFICATE",
    "PUBLIC KEY",
    "RSA PUBLIC KEY",
];

/// How far before an SPKI a certificate may start (serial, issuer, validity, subject).
const MAX_CERT_LEAD: usize = 8192;
/// Longest PEM body followed (a certificate with an RSA-16384 key and many extensions).
const MAX_PEM_BODY: usize = 64 * 1024;

impl Detector for PublicKeys {
    fn name(&self) -> &'static str {
        "public-keys"
    }

    fn family(&self) -> Family {
        Family::Raw
    }

    fn describe(&self) -> &'static str {
        "public keys and certificates (never findings: they name keys and feed the factor search)"
    }

    fn anchors(&self) -> Vec<Anchor> {
        let h = |s: &str| hex::decode(s.replace(' ', "")).expect("static hex");
        let mut v = vec![
            // rsaEncryption, id-ecPublicKey, Ed25519, X25519 inside an AlgorithmIdentifier.
            Anchor {
                bytes: h("06 09 2a 86 48 86 f7 0d 01 01 01"),
                tag: SPKI,
            },
            Anchor {
                bytes: h("06 07 2a 86 48 ce 3d 02 01"),
                tag: SPKI,
            },
            Anchor {
                bytes: h("30 05 06 03 2b 65 70 03 21 00"),
                tag: SPKI,
            },
            Anchor {
                bytes: h("30 05 06 03 2b 65 6e 03 21 00"),
                tag: SPKI,
            },
            Anchor {
                bytes: h("02 03 01 00 01"),
                tag: RSA_E65537,
            },
        ];
        for (i, label) in PEM_LABELS.iter().enumerate() {
            for (e, enc) in Encoding::ALL.iter().enumerate() {
                v.push(Anchor {
                    bytes: enc.encode(format!("-----BEGIN {label}-----").as_bytes()),
                    tag: PEM_BASE + (i * 2 + e) as u32,
                });
            }
        }
        v
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        match tag {
            SPKI => spki_at(cx.data, pos, sink),
            RSA_E65537 => rsa_public_key_ending_at(cx.data, pos, sink),
            t if t >= PEM_BASE => {
                let i = ((t - PEM_BASE) / 2) as usize;
                let enc = Encoding::ALL[((t - PEM_BASE) % 2) as usize];
                pem_at(cx.data, pos, PEM_LABELS[i], enc, sink);
            }
            _ => {}
        }
    }
}

/// The SPKI SEQUENCE whose AlgorithmIdentifier contains the OID at `pos`.
fn spki_at(data: &[u8], pos: usize, sink: &mut Sink) {
    // The OID sits 2 bytes into the AlgorithmIdentifier, except for the Ed25519/X25519
    // anchors, which start with the AlgorithmIdentifier itself.
    let alg = if data.get(pos) == Some(&0x30) {
        pos
    } else {
        match pos.checked_sub(2) {
            Some(a) if data[a] == 0x30 => a,
            _ => return,
        }
    };
    for hdr in [2usize, 3, 4] {
        let Some(s) = alg.checked_sub(hdr) else {
            continue;
        };
        if data[s] != 0x30 || !matches!((hdr, data[s + 1]), (2, 0..=0x7f) | (3, 0x81) | (4, 0x82)) {
            continue;
        }
        let Some(len) = tlv_len(&data[s..]) else {
            continue;
        };
        let der = &data[s..s + len];
        let Some(mut rec) = pubkey::from_spki(der, "SubjectPublicKeyInfo") else {
            continue;
        };
        rec.offset = Some(s as u64);
        if let Some((cert_rec, cert_at)) = enclosing_certificate(data, s, der) {
            let mut r = cert_rec;
            r.offset = Some(cert_at as u64);
            sink.public_keys.push(r);
        } else {
            sink.public_keys.push(rec);
        }
        return;
    }
}

/// Looks back from an SPKI at `spki_at` for the certificate that contains it.
fn enclosing_certificate(
    data: &[u8],
    spki_at: usize,
    spki: &[u8],
) -> Option<(PublicKeyRecord, usize)> {
    let lo = spki_at.saturating_sub(MAX_CERT_LEAD);
    let mut tries = 0;
    for s in (lo..spki_at).rev() {
        // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE ... }, or a TBSCertificate on
        // its own (OpenSSL caches only that encoding): SEQUENCE { [0] version ... }. Both
        // have long lengths.
        if data[s] != 0x30
            || data.get(s + 1) != Some(&0x82)
            || !matches!(data.get(s + 4), Some(&0x30) | Some(&0xa0))
        {
            continue;
        }
        tries += 1;
        if tries > 16 {
            return None;
        }
        let Some(len) = tlv_len(&data[s..]) else {
            continue;
        };
        if s + len < spki_at + spki.len() {
            continue;
        }
        let der = &data[s..s + len];
        let parsed = if data[s + 4] == 0x30 {
            pubkey::from_certificate(der)
        } else {
            pubkey::from_tbs_certificate(der)
        };
        if let Some((rec, _)) = parsed {
            if rec.spki == spki {
                // A TBSCertificate inside a whole certificate: report the certificate.
                if data[s + 4] == 0xa0 && s >= 4 {
                    if let Some((cert, _)) = data[s - 4..]
                        .get(..tlv_len(&data[s - 4..]).unwrap_or(0))
                        .and_then(pubkey::from_certificate)
                    {
                        if cert.spki == spki {
                            return Some((cert, s - 4));
                        }
                    }
                }
                return Some((rec, s));
            }
        }
    }
    None
}

/// A PKCS#1 RSAPublicKey `SEQUENCE { INTEGER n, INTEGER 65537 }` whose exponent starts at
/// `pos`. The modulus length is unknown when looking backwards, so the common sizes are tried.
fn rsa_public_key_ending_at(data: &[u8], pos: usize, sink: &mut Sink) {
    let end = pos + 5;
    for bytes in [64usize, 96, 128, 192, 256, 384, 512, 768, 1024, 2048] {
        for c in [bytes + 1, bytes] {
            let hdr = match c {
                0..=127 => 2,
                128..=255 => 3,
                _ => 4,
            };
            let Some(n_at) = pos.checked_sub(c + hdr) else {
                continue;
            };
            if tlv_len(&data[n_at..]) != Some(c + hdr) || data[n_at] != 0x02 {
                continue;
            }
            let body = end - n_at;
            let seq_hdr = match body {
                0..=127 => 2,
                128..=255 => 3,
                _ => 4,
            };
            let Some(s) = n_at.checked_sub(seq_hdr) else {
                continue;
            };
            if data[s] != 0x30 || tlv_len(&data[s..]) != Some(end - s) {
                continue;
            }
            // Inside an SPKI's BIT STRING: the SPKI anchor reports it (with its certificate).
            if s >= 5 && data[s - 1] == 0 && data[s - 5] == 0x03 && data[s - 4] == 0x82 {
                return;
            }
            if let Some(mut rec) = pubkey::from_rsa_public_key(&data[s..end], "RSAPublicKey") {
                rec.offset = Some(s as u64);
                sink.public_keys.push(rec);
            }
            return;
        }
    }
}

/// A PEM block of public material: decode the body and index what it holds.
///
/// The view grows in stages ([`text::staged_views`]): a UTF-16 view is a copy, and a flat
/// 64 K characters per certificate anchor made UTF-16 text scan at a third of ASCII's speed.
/// A shorter view gives the same body whenever the body ends inside it (`base64_body` looks
/// one character past where it stops), so only a body running to the view's end is read again.
fn pem_at(data: &[u8], pos: usize, label: &str, enc: Encoding, sink: &mut Sink) {
    const FULL: usize = MAX_PEM_BODY + 256;
    for max in text::staged_views(FULL) {
        let t = text::view(data, pos, max, enc);
        let Some(begin) = text::pem_begin(&t, label.len()) else {
            return;
        };
        let body = text::base64_body(&t[begin.body_start..], MAX_PEM_BODY);
        if max < FULL && t.len() == max && begin.body_start + body.consumed + 2 > t.len() {
            continue;
        }
        return index_pem(&body.chars, pos, label, sink);
    }
}

/// Decodes the base64 `chars` of a PEM block of `label` at `pos` and indexes what it holds.
fn index_pem(chars: &[u8], pos: usize, label: &str, sink: &mut Sink) {
    let Some(der) = text::decode_base64(chars) else {
        return;
    };
    let Some(len) = tlv_len(&der) else {
        return;
    };
    let der = &der[..len];
    let rec = match label {
        "PUBLIC KEY" => pubkey::from_spki(der, "PEM public key"),
        "RSA PUBLIC KEY" => pubkey::from_rsa_public_key(der, "PEM RSA public key"),
        // A TRUSTED CERTIFICATE is a certificate followed by OpenSSL trust settings.
        _ => pubkey::from_certificate(der).map(|(r, _)| r),
    };
    if let Some(mut rec) = rec {
        rec.offset = Some(pos as u64);
        sink.public_keys.push(rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Detector;
    use crate::input::AddressSpace;
    use der::Decode;

    fn harvest(data: &[u8]) -> Vec<PublicKeyRecord> {
        let space = AddressSpace::default();
        let cx = ScanContext {
            data,
            regions: &[],
            space: &space,
            inventory: &[],
            pages: None,
        };
        let mut sink = Sink::default();
        let d = PublicKeys;
        let anchors = d.anchors();
        for a in &anchors {
            for (i, w) in data.windows(a.bytes.len()).enumerate() {
                if w == a.bytes.as_slice() {
                    d.on_anchor(&cx, i, a.tag, &mut sink);
                }
            }
        }
        sink.public_keys
    }

    fn openssl(args: &[&str], dir: &std::path::Path) {
        let st = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    }

    /// Fresh test key + self-signed certificate made by openssl.
    fn cert_fixture() -> (tempfile::TempDir, Vec<u8>, Vec<u8>, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "k.pem",
                "-out",
                "c.pem",
                "-days",
                "2",
                "-subj",
                "/CN=dumpguard test leaf/O=Test",
                "-addext",
                "basicConstraints=CA:FALSE",
            ],
            dir.path(),
        );
        openssl(
            &["x509", "-in", "c.pem", "-outform", "DER", "-out", "c.der"],
            dir.path(),
        );
        openssl(
            &[
                "pkey", "-in", "k.pem", "-pubout", "-outform", "DER", "-out", "p.der",
            ],
            dir.path(),
        );
        let r = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
        let (pem, der, spki) = (r("c.pem"), r("c.der"), r("p.der"));
        (dir, pem, der, spki)
    }

    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect()
    }

    #[test]
    fn certificate_der_pem_and_utf16_are_indexed_with_subject() {
        let (_d, pem, der, spki) = cert_fixture();
        let mut data = noise(5000, 1);
        data.extend_from_slice(&der);
        data.extend(noise(3000, 2));
        data.extend_from_slice(&pem);
        data.extend(noise(3000, 3));
        data.extend(Encoding::Utf16Le.encode(&pem));
        data.extend(noise(100, 4));
        let recs = harvest(&data);
        assert_eq!(
            recs.len(),
            3,
            "{:?}",
            recs.iter().map(|r| &r.source).collect::<Vec<_>>()
        );
        for r in &recs {
            assert_eq!(r.spki, spki);
            assert_eq!(r.source, "certificate CN=dumpguard test leaf");
            assert_eq!(r.algorithm, "RSA");
            assert_eq!(r.modulus.as_ref().unwrap().len(), 256);
        }
        assert_eq!(recs[0].offset, Some(5000));
    }

    #[test]
    fn tbs_certificate_alone_still_names_the_key() {
        let (_d, _pem, der, spki) = cert_fixture();
        let cert = x509_cert::Certificate::from_der(&der).unwrap();
        let tbs = der::Encode::to_der(&cert.tbs_certificate).unwrap();
        let mut data = noise(1000, 21);
        data.extend_from_slice(&tbs);
        data.extend(noise(100, 22));
        let recs = harvest(&data);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].spki, spki);
        assert_eq!(recs[0].source, "certificate CN=dumpguard test leaf");
        assert_eq!(recs[0].offset, Some(1000));
    }

    #[test]
    fn bare_spki_and_pkcs1_public_key() {
        let (_d, _pem, _der, spki) = cert_fixture();
        let rec = pubkey::from_spki(&spki, "x").unwrap();
        let n = rec.modulus.unwrap();
        let pkcs1 = crate::keys::fingerprint::integer_sequence(&[&n, &[1, 0, 1]]).unwrap();
        let mut data = noise(777, 5);
        data.extend_from_slice(&spki);
        data.extend(noise(333, 6));
        data.extend_from_slice(&pkcs1);
        data.extend(noise(100, 7));
        let recs = harvest(&data);
        assert_eq!(recs.len(), 2);
        assert!(recs.iter().all(|r| r.spki == spki));
        assert_eq!(recs[0].source, "SubjectPublicKeyInfo");
        assert_eq!(recs[1].source, "RSAPublicKey");
    }

    #[test]
    fn noise_corruption_and_magic_followed_by_noise_give_nothing() {
        assert!(harvest(&noise(1 << 20, 9)).is_empty());
        let (_d, _pem, der, _spki) = cert_fixture();
        // One flipped bit inside the modulus breaks the certificate's DER? No: DER still
        // parses, but a flipped bit in a length byte must not yield a record.
        let mut bad = der.clone();
        bad[1] ^= 0x01;
        let mut data = noise(100, 10);
        data.extend_from_slice(&bad[..bad.len() / 2]);
        let recs = harvest(&data);
        assert!(recs
            .iter()
            .all(|r| r.source != "certificate CN=dumpguard test leaf"));
        let mut data = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        data.extend(noise(4000, 11));
        let mut magic = hex::decode("300d06092a864886f70d0101010500").unwrap();
        magic.extend(noise(600, 12));
        data.extend(magic);
        assert!(harvest(&data).is_empty());
    }

    #[test]
    fn compressed_certificate_gives_nothing() {
        let (_d, pem, der, _spki) = cert_fixture();
        assert!(harvest(&gzip(&[der, pem].concat())).is_empty());
    }

    /// gzip via the system tool: no compression crate is needed for one negative test.
    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("gzip")
            .arg("-c")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(data).unwrap();
        child.wait_with_output().unwrap().stdout
    }
}
