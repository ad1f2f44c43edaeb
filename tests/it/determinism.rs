//! The same input gives the same report byte for byte, timings aside (docs/design.md principle 7),
//! whatever the number of worker threads, including keys that cross chunk boundaries.

use base64::Engine as _;
use dumpguard::CHUNK_SIZE;
use pkcs8::EncodePrivateKey;
use rand::{RngCore, SeedableRng};
use serde_json::Value;
use std::io::Write;
use std::process::Command;

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("\n-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s.into_bytes()
}

/// About three chunks of pseudo-random filler with fresh test keys, two of them across
/// chunk boundaries.
fn input() -> Vec<u8> {
    let mut rng = rand::rngs::OsRng;
    let mut data = vec![0u8; 3 * CHUNK_SIZE - 12_345];
    rand_chacha::ChaCha8Rng::seed_from_u64(9).fill_bytes(&mut data);
    let ec = p256::SecretKey::random(&mut rng);
    let ec2 = p256::SecretKey::random(&mut rng);
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let ed = ed25519_dalek::SigningKey::from_bytes(&seed);
    let planted: Vec<(usize, Vec<u8>)> = vec![
        (1000, ec.to_sec1_der().unwrap().to_vec()),
        (
            CHUNK_SIZE - 7,
            ed.to_pkcs8_der().unwrap().as_bytes().to_vec(),
        ),
        (
            2 * CHUNK_SIZE - 4,
            pem("PRIVATE KEY", ec2.to_pkcs8_der().unwrap().as_bytes()),
        ),
        (
            2 * CHUNK_SIZE + 50_000,
            pem("EC PRIVATE KEY", &ec.to_sec1_der().unwrap())
                .iter()
                .flat_map(|&b| [b, 0])
                .collect(),
        ),
    ];
    for (at, bytes) in planted {
        data[at..at + bytes.len()].copy_from_slice(&bytes);
    }
    data
}

/// The JSON report with the timing fields removed.
fn report(path: &std::path::Path, threads: usize) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dumpguard"))
        .args(["scan", "--format", "json", "-q"])
        .arg(path)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "keys found: exit 1");
    let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = v["summary"].as_object_mut().unwrap();
    assert!(summary.remove("elapsed_ms").is_some());
    assert!(summary.remove("bytes_per_second").is_some());
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn same_input_same_report_whatever_the_thread_count() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&input()).unwrap();
    f.flush().unwrap();
    let first = report(f.path(), 2);
    let v: Value = serde_json::from_str(&first).unwrap();
    let verified = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["verified"] == Value::Bool(true))
        .count();
    assert!(verified >= 3, "the planted keys are found: {verified}");
    for threads in [2, 1, 3] {
        assert_eq!(report(f.path(), threads), first, "{threads} threads");
    }
}
