//! Issue 6, what the token rules must NOT find: random bytes, anchors followed by random
//! bytes, one-bit-corrupted tokens, zlib/gzip-compressed text full of tokens, the public
//! sample dumps and system shared libraries give zero token findings. Each negative has a
//! positive twin in the same test (the uncompressed text, the intact token), so the test can
//! fail.

use crate::common;

use dumpguard::report::{Finding, Report};
use dumpguard::Scanner;
use std::io::Write;
use std::process::{Command, Stdio};

fn tokens(r: &Report) -> Vec<&Finding> {
    r.findings.iter().filter(|f| f.token.is_some()).collect()
}

fn describe(fs: &[&Finding]) -> String {
    fs.iter()
        .map(|f| {
            format!(
                "{} {} at {:#x}: {}",
                f.detector, f.kind, f.offset, f.preview
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Deterministic pseudo-random bytes (xorshift64*), so a failure reproduces.
fn pseudo_random(n: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        v.extend_from_slice(&seed.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v.truncate(n);
    v
}

/// Every built-in positive example, ASCII and UTF-16LE, separated by NULs: text that is
/// full of (test) tokens.
fn example_text() -> Vec<u8> {
    let mut v = Vec::new();
    for r in dumpguard::builtin_rule_specs() {
        for e in &r.examples {
            v.extend_from_slice(e.as_bytes());
            v.extend_from_slice(&[0; 8]);
            v.extend(common::utf16le(e.as_bytes()));
            v.extend_from_slice(&[0; 8]);
        }
    }
    v
}

fn scan(name: &str, data: &[u8]) -> Report {
    Scanner::new().scan_bytes(name, data)
}

#[test]
fn random_bytes_give_no_token_findings() {
    let data = pseudo_random(48 << 20, 0x9e37_79b9_7f4a_7c15);
    let r = scan("random", &data);
    assert!(tokens(&r).is_empty(), "{}", describe(&tokens(&r)));
}

#[test]
fn anchors_followed_by_random_bytes_give_nothing() {
    // Every anchor of the pack, in ASCII and UTF-16LE, followed (and preceded) by random
    // bytes; and the same with random base64-alphabet text, which the token patterns accept.
    let set = dumpguard::RuleSet::builtin(true);
    let mut data = Vec::new();
    let mut seed = 1u64;
    for r in &set.rules {
        for k in r.text_keywords.iter().chain(&r.raw_keywords) {
            for enc in [k.clone(), common::utf16le(k)] {
                seed += 1;
                data.extend(pseudo_random(64, seed));
                data.extend(&enc);
                data.extend(pseudo_random(512, seed * 7));
                // A bearer token is opaque: random base64 after `Bearer ` is exactly what
                // one looks like, so that rule is left out of the base64 variant.
                if r.spec.id == "authorization-bearer" {
                    continue;
                }
                let b64: Vec<u8> = pseudo_random(512, seed * 13)
                    .iter()
                    .map(|b| {
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                            [(*b & 63) as usize]
                    })
                    .collect();
                data.extend(&enc);
                data.extend(&b64);
                data.extend([0u8; 16]);
            }
        }
    }
    let r = scan("anchors", &data);
    assert!(tokens(&r).is_empty(), "{}", describe(&tokens(&r)));
}

#[test]
fn one_bit_corrupted_checksummed_tokens_are_rejected() {
    // The intact examples are found; each with one bit flipped in its secret is not.
    let set = dumpguard::RuleSet::builtin(false);
    let mut checked = 0;
    for id in [
        "github-token",
        "npm-token",
        "azure-identifiable-key",
        "azure-ad-client-secret",
    ] {
        let rule = set.get(id).unwrap();
        for e in &rule.spec.examples {
            // (Another rule may describe the same secret, e.g. AccountKey= of an
            // identifiable key: the findings merge, so any token finding counts.)
            let intact = scan("intact", e.as_bytes());
            let f = tokens(&intact)
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("{id}: example not found: {e}"));
            // Flip one bit in the middle of the secret, keeping it in the token alphabet
            // (upper/lower case swap), so only the checksum or the structure can tell.
            let mut bad = e.as_bytes().to_vec();
            let mid = (f.offset + f.length / 2) as usize;
            let at = (mid..f.end() as usize)
                .chain(f.offset as usize..mid)
                .find(|&i| bad[i].is_ascii_alphabetic())
                .unwrap();
            bad[at] ^= 0x20;
            let r = scan("corrupted", &bad);
            let still = tokens(&r);
            assert!(
                still.is_empty(),
                "{id}: corrupted copy still found: {}",
                describe(&still)
            );
            checked += 1;
        }
    }
    assert!(checked >= 10);
}

fn python_compress(data: &[u8], how: &str) -> Vec<u8> {
    let src = format!(
        "import sys, zlib, gzip\nd = sys.stdin.buffer.read()\nsys.stdout.buffer.write({how})"
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(src)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn compressed_tokens_are_not_found() {
    let text = example_text();
    let plain = scan("plain", &text);
    assert!(
        tokens(&plain).len() >= 25,
        "the uncompressed text must be full of findings ({})",
        tokens(&plain).len()
    );
    // Many copies, so the compressed stream is long and varied.
    let mut big = Vec::new();
    for i in 0..64u8 {
        big.extend_from_slice(&text);
        big.push(i);
    }
    for how in [
        "zlib.compress(d, 6)",
        "zlib.compress(d, 9)",
        "gzip.compress(d)",
        "zlib.compress(bytes(b ^ 0x20 if 65 <= b <= 122 else b for b in d), 1)",
    ] {
        let z = python_compress(&big, how);
        let r = scan(how, &z);
        assert!(tokens(&r).is_empty(), "{how}: {}", describe(&tokens(&r)));
    }
}

#[test]
fn public_samples_give_no_token_findings() {
    let samples = common::public_samples();
    assert!(!samples.is_empty());
    for p in samples {
        let r = common::scan(&p);
        assert!(
            tokens(&r).is_empty(),
            "{}: {}",
            p.display(),
            describe(&tokens(&r))
        );
    }
}

#[test]
fn system_shared_libraries_give_no_token_findings() {
    // A bounded set (about 96 MiB) of distinct libraries, in name order.
    let mut libs: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/x86_64-linux-gnu")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".so"))
        })
        .filter_map(|p| p.canonicalize().ok())
        .filter(|p| p.is_file())
        .collect();
    libs.sort();
    libs.dedup();
    let mut total = 0u64;
    let mut scanned = 0;
    for p in libs {
        let len = std::fs::metadata(&p).unwrap().len();
        if total + len > 96 << 20 {
            continue;
        }
        total += len;
        scanned += 1;
        let r = common::scan(&p);
        assert!(
            tokens(&r).is_empty(),
            "{}: {}",
            p.display(),
            describe(&tokens(&r))
        );
    }
    assert!(scanned >= 50, "only {scanned} libraries");
}

#[test]
fn inputs_dense_with_anchors_are_scanned_in_linear_time() {
    // Hostile input: every position an anchor. Windows around anchors overlap, so without
    // the detector's skipping this is anchors x window (hours for a few MiB); with it the
    // scan is linear. No timing is asserted: a quadratic scan would hang this test.
    let mut kerberos = Vec::new();
    for _ in 0..(1 << 20) / 6 {
        kerberos.extend_from_slice(&[0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1]);
    }
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("eyJ", b"eyJ".repeat((4 << 20) / 3)),
        ("colons", vec![b':'; 4 << 20]),
        ("doI", b"doI".repeat((4 << 20) / 3)),
        ("Password=", b"Server=x;Password=;".repeat((4 << 20) / 19)),
        ("url", b"a://b:c".repeat((4 << 20) / 7)),
        ("utf16 eyJ", common::utf16le(&b"eyJ".repeat((2 << 20) / 3))),
        ("kerberos", kerberos),
    ];
    for (name, data) in inputs {
        let r = scan(name, &data);
        assert!(r.input.complete, "{name}");
        assert!(tokens(&r).is_empty(), "{name}: {}", describe(&tokens(&r)));
    }
}
