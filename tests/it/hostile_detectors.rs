//! Hostile input for the key detectors and decoders: inputs that crashed them, and the shapes
//! that used to cost quadratic time (each anchor re-reading the same kilobytes). Work is not
//! timed here (no timing assertions); these tests pin the *behaviour* that keeps it bounded,
//! and `examples/hostile_patterns.rs` measures it.

use crate::dumpbuild;

use dumpbuild::{der_key, pem_key};
use dumpguard::fuzzing::text::{self, Encoding};
use dumpguard::Scanner;
use dumpguard::{fuzzing as keys, Status};

fn scan(data: &[u8]) -> dumpguard::report::Report {
    Scanner::new().scan_bytes("test", data)
}

/// A scan that no detector aborted: complete, every byte counted.
fn assert_clean(data: &[u8]) -> dumpguard::report::Report {
    let r = scan(data);
    assert!(r.input.complete, "{:?}", r.input.warnings);
    assert_eq!(r.input.scanned_bytes, data.len() as u64);
    r
}

fn utf16(s: &[u8]) -> Vec<u8> {
    s.iter().flat_map(|&b| [b, 0]).collect()
}

// ------------------------------------------------------------------ PEM legacy headers

#[test]
fn pem_legacy_header_ending_in_cr_at_the_end_of_the_text() {
    // The header scanner returned one byte past the text when the last "line" was a lone
    // CR at the end of the view; slicing there panicked and the chunk was lost.
    for tail in [&b"\r"[..], b"\r\r", b"\n\r"] {
        let armour = [
            &b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"[..],
            tail,
        ]
        .concat();
        assert_clean(&armour);
        // In UTF-16 the view also ends where the UTF-16 text ends, not at the end of the file.
        assert_clean(&[&utf16(&armour)[..], &[0xff; 64]].concat());
    }
}

#[test]
fn pem_legacy_headers_are_bounded() {
    // Header lines without a line break are not headers; a legacy-encrypted key still is.
    let mut data = Vec::new();
    for _ in 0..200 {
        data.extend_from_slice(b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: ");
    }
    let r = assert_clean(&data);
    assert!(r.findings.is_empty());
    let key = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n";
    let body = "QUJD".repeat(300);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = [
        &key[..],
        lines.join("\n").as_bytes(),
        b"\n-----END RSA PRIVATE KEY-----\n",
    ]
    .concat();
    let r = assert_clean(&pem);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].status, "encrypted");
    assert!(r.findings[0].verification.contains("AES-128-CBC"));
}

// ------------------------------------------------------------------ staged text views

#[test]
fn long_utf16_pem_is_read_past_the_first_views() {
    // An RSA-4096 key, indented like YAML, in UTF-16 is longer than the first text views (512
    // and 4096 characters): it must still be read whole, verified, and reported once.
    let pem = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:4096",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap()
        .stdout;
    let indented: Vec<u8> = pem
        .split_inclusive(|&b| b == b'\n')
        .flat_map(|line| [&[b' '; 40][..], line].concat())
        .collect();
    assert!(indented.len() > 4096);
    for data in [
        [&[0u8; 16][..], &utf16(&pem), &[0u8; 16]].concat(),
        [&b"key: |\n"[..], &utf16(&indented), &[0u8; 16]].concat(),
        [&b"{\"key\":\""[..], &pem.replace_newlines_json(), b"\"}"].concat(),
    ] {
        let r = assert_clean(&data);
        let verified: Vec<_> = r.findings.iter().filter(|f| f.verified).collect();
        assert_eq!(verified.len(), 1, "{:?}", r.findings);
        assert_eq!(verified[0].key.as_ref().unwrap().bits, 4096);
    }
}

trait JsonEscape {
    fn replace_newlines_json(&self) -> Vec<u8>;
}
impl JsonEscape for Vec<u8> {
    fn replace_newlines_json(&self) -> Vec<u8> {
        self.iter()
            .flat_map(|&b| {
                if b == b'\n' {
                    vec![b'\\', b'n']
                } else {
                    vec![b]
                }
            })
            .collect()
    }
}

#[test]
fn repeated_armour_lines_find_nothing_and_finish() {
    let line = b"-----BEGIN PRIVATE KEY-----";
    let ascii: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(line.len() * 4000)
        .collect();
    assert!(assert_clean(&ascii).findings.is_empty());
    assert!(assert_clean(&utf16(&ascii)).findings.is_empty());
}

// ------------------------------------------------------------------ base64 bodies

#[test]
fn base64_body_ends_at_a_break_after_a_short_line() {
    // Wrapped bodies have full lines; a break after a short run ends the body (the break
    // itself is consumed, so an END line right after is still seen).
    let b = text::base64_body(b"MIIEpAIBAAKCAQEA MIIEpAIBAAKCAQEA", 1 << 16);
    assert_eq!(b.chars, b"MIIEpAIBAAKCAQEA");
    assert_eq!(b.consumed, 17);
    let full = "A".repeat(64);
    let wrapped = format!("{full}\n{full}\r\n{full}\\n{full}\nAB==\n-----END");
    let b = text::base64_body(wrapped.as_bytes(), 1 << 16);
    assert_eq!(b.chars.len(), 4 * 64 + 4);
    assert!(wrapped[b.consumed..].starts_with("-----END"));
    assert!(b.json_escaped);
}

#[test]
fn anchors_inside_a_wrapped_body_are_not_key_starts() {
    let full = "A".repeat(64);
    let data = format!("{full}\nMIIEpAIBAAKCAQEA");
    let start = data.len() - 16;
    assert!(text::continues_wrapped_body(
        data.as_bytes(),
        start,
        Encoding::Ascii
    ));
    let w = utf16(data.as_bytes());
    assert!(text::continues_wrapped_body(
        &w,
        start * 2,
        Encoding::Utf16Le
    ));
    // A key after a word, a JSON separator or a short line is a key start.
    for before in ["key ", "\"k\": \"", "short\n", ""] {
        let data = format!("{before}MIIEpAIBAAKCAQEA");
        let start = before.len();
        assert!(
            !text::continues_wrapped_body(data.as_bytes(), start, Encoding::Ascii),
            "{before:?}"
        );
    }
}

#[test]
fn spaced_base64_anchors_find_nothing_and_finish() {
    let unit = b" MIIEpAIBAAKCAQEA";
    let data: Vec<u8> = unit
        .iter()
        .copied()
        .cycle()
        .take(unit.len() * 8000)
        .collect();
    assert!(assert_clean(&data).findings.is_empty());
    assert!(assert_clean(&utf16(&data)).findings.is_empty());
}

#[test]
fn bare_base64_keys_are_still_found() {
    // Regression guard for the body rules: single-line, wrapped, after a word, in UTF-16.
    let key = der_key();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&key.bytes);
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    for text in [
        format!("PRIVATE_KEY={b64}\n"),
        format!("key {b64} tail"),
        format!("{{\"k\":\"{}\"}}", wrapped.join("\\n")),
        wrapped.join("\n"),
    ] {
        for data in [text.as_bytes().to_vec(), utf16(text.as_bytes())] {
            let r = assert_clean(&data);
            assert!(
                r.findings
                    .iter()
                    .any(|f| f.verified && f.fingerprint.as_deref() == Some(&key.fingerprint)),
                "{text:.40}: {:?}",
                r.findings
            );
        }
    }
    let pem = pem_key();
    let r = assert_clean(&utf16(&pem.bytes));
    assert!(r
        .findings
        .iter()
        .any(|f| f.verified && f.fingerprint.as_deref() == Some(&pem.fingerprint)));
}

// ------------------------------------------------------------------ DER decoders

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut v = vec![tag];
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else if n < 0x1_0000 {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    } else {
        v.extend_from_slice(&[0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

fn int(bytes: &[u8]) -> Vec<u8> {
    // Positive, minimal: a leading 0x01 keeps it from being negative or padded.
    der(0x02, &[&[0x01][..], bytes].concat())
}

#[test]
fn integer_sequences_of_any_length_are_not_keys() {
    // OpenSSL DSA has 6 integers; a long run of integers is refused without reading it all.
    for n in [6usize, 17, 100_000] {
        let mut content = vec![0x02, 0x01, 0x00];
        content.extend((1..n).flat_map(|_| int(&[0x22])));
        let seq = der(0x30, &content);
        let decoded = keys::decode::private_key_der(&seq);
        if n == 6 {
            assert!(decoded.is_some(), "six integers are an OpenSSL DSA shape");
        } else {
            assert!(decoded.is_none(), "{n} integers");
        }
    }
}

#[test]
fn rsa_structures_with_huge_integers_are_refused() {
    // A PKCS#1 shape whose modulus is 60 KB: no RSA key is that large. The strict decoders
    // and the lenient integer walk both refuse it.
    let big = vec![0x5a; 60_000];
    let mut content = vec![0x02, 0x01, 0x00];
    content.extend(int(&big));
    for _ in 0..7 {
        content.extend(int(&[0x03]));
    }
    let seq = der(0x30, &content);
    assert!(keys::decode::private_key_der(&seq).is_none());
    // In a dump, with the DER anchor in front: nothing found, nothing aborted.
    let r = assert_clean(&[&[0u8; 8][..], &seq].concat());
    assert!(r.findings.iter().all(|f| !f.verified));
}

#[test]
fn rsa_with_consistent_primes_but_huge_exponents_is_corrupted_not_slow() {
    // p·q = n holds (small primes), but e and d are 5 KB each: refused before e·d is formed.
    let p = keys::RsaParts::from_be(
        "test",
        &[0x8f], // n = 11 · 13
        &vec![0x7f; 5000],
        &vec![0x7f; 5000],
        &[11],
        &[13],
        &[1],
        &[1],
        &[1],
    );
    let v = keys::verify(&keys::PrivateKey::Rsa(p));
    assert_eq!(v.status, Status::Corrupted);
    assert!(v.verification.contains("implausible"), "{}", v.verification);
}

#[test]
fn nested_der_structures_finish() {
    // SEQUENCE headers nested inside a 64 KiB "modulus", each starting a PKCS#1 shape that
    // runs to the same end: every anchor sees a different, large structure.
    let mut data = Vec::new();
    for _ in 0..3000 {
        data.extend_from_slice(&[
            0x30, 0x82, 0xff, 0xf0, 0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x00,
        ]);
    }
    data.resize(0x1_0000 + 64, 0x41);
    let r = assert_clean(&data);
    assert!(r.findings.iter().all(|f| !f.verified));
}

#[test]
fn rsa_cheap_congruences_are_checked_before_primality() {
    // Fuzzing found RSA structures with intact n, p, q but a damaged d: each one paid for 40
    // Miller-Rabin rounds before the one-multiplication check that rejects it. The cheap
    // checks now come first, so with a composite "prime" *and* a wrong d, the d check speaks.
    let (p, q) = (143u32, 17u32); // 143 = 11 · 13
    let n = p * q;
    let parts = keys::RsaParts::from_be(
        "test",
        &n.to_be_bytes(),
        &[3],
        &[5], // 3 · 5 ≢ 1 (mod λ)
        &p.to_be_bytes(),
        &q.to_be_bytes(),
        &[1],
        &[1],
        &[1],
    );
    let v = keys::verify(&keys::PrivateKey::Rsa(parts));
    assert_eq!(v.status, Status::Corrupted);
    assert!(v.verification.contains("e·d"), "{}", v.verification);
}
