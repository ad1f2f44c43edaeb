//! Issue 5, the audit log: a hash chain that `dumpguard audit verify` checks, catching an
//! edited, removed, inserted or reordered record (and naming it), records removed from the
//! end (against a head kept elsewhere), and 10 gate processes appending at once.

use crate::common;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-dumps")
        .join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A log of `n` real gate decisions (alternating a clean and a blocked dump).
fn gate_log(dir: &Path, n: usize) -> PathBuf {
    let log = dir.join("audit.jsonl");
    for i in 0..n {
        let dump = if i % 2 == 0 {
            "clean.dmp"
        } else {
            "test-keys.dmp"
        };
        let o = common::cli(&["gate", s(&sample(dump)), "--audit-log", s(&log), "-q"]);
        assert!(matches!(o.status.code(), Some(0 | 1)));
    }
    log
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(p: &Path, l: &[String]) {
    std::fs::write(p, l.iter().map(|x| format!("{x}\n")).collect::<String>()).unwrap();
}

fn verify(p: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["audit", "verify", s(p)];
    args.extend_from_slice(extra);
    let o = common::cli(&args);
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

fn sha(line: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(line.as_bytes())))
}

/// Re-computes a record's own `hash` after an edit (what a careful forger would do).
fn rehash(line: &str) -> String {
    let cut = line.rfind(",\"hash\":\"").unwrap();
    let body = format!("{}}}", &line[..cut]);
    format!("{},\"hash\":\"{}\"}}", &line[..cut], sha(&body))
}

#[test]
fn intact_log_verifies_and_records_the_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let log = gate_log(dir.path(), 4);
    let (code, out) = verify(&log, &[]);
    assert_eq!(code, 0, "{out}");
    let l = lines(&log);
    assert!(out.contains("4 records"), "{out}");
    assert!(
        out.contains(&sha(&l[3])),
        "head is the last line's hash: {out}"
    );
    let recs: Vec<Value> = l.iter().map(|x| serde_json::from_str(x).unwrap()).collect();
    assert_eq!(recs[0]["prev"], dumpguard::gate::audit::GENESIS);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r["seq"], i as u64 + 1);
        if i > 0 {
            assert_eq!(r["prev"], sha(&l[i - 1]));
        }
        let e = &r["event"];
        assert_eq!(e["kind"], "gate");
        assert_eq!(e["verdict"], if i % 2 == 0 { "ALLOW" } else { "BLOCK" });
        assert!(e["dump"]["blake3"].as_str().unwrap().len() == 64);
        assert!(e["policy"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        assert!(e["rules_digest"].as_str().unwrap().starts_with("sha256:"));
    }
    assert!(!recs[1]["event"]["blocking_fingerprints"]
        .as_array()
        .unwrap()
        .is_empty());
}

fn tampered(edit: impl FnOnce(&mut Vec<String>)) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = gate_log(dir.path(), 5);
    let mut l = lines(&log);
    edit(&mut l);
    write_lines(&log, &l);
    verify(&log, &[])
}

#[test]
fn an_edited_record_is_detected() {
    let (code, out) = tampered(|l| l[2] = l[2].replacen("\"ALLOW\"", "\"BLOCK\"", 1));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 3") && out.contains("edited"), "{out}");
}

#[test]
fn an_edited_record_with_a_recomputed_hash_is_detected_by_the_next_one() {
    let (code, out) = tampered(|l| l[1] = rehash(&l[1].replacen("\"BLOCK\"", "\"ALLOW\"", 1)));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("line 3") && out.contains("previous record was edited"),
        "{out}"
    );
}

#[test]
fn a_removed_record_is_detected() {
    let (code, out) = tampered(|l| {
        l.remove(2);
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 3") && out.contains("removed"), "{out}");
}

#[test]
fn an_inserted_record_is_detected() {
    // A duplicate of record 2 inserted after it.
    let (code, out) = tampered(|l| {
        let dup = l[1].clone();
        l.insert(2, dup);
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 3") && out.contains("inserted"), "{out}");
    // A forged record (valid JSON, its own hash right, chained to record 2) before record 3.
    let (code, out) = tampered(|l| {
        let forged_body = format!(
            "{{\"seq\":3,\"time\":\"2024-01-01T00:00:00Z\",\"prev\":\"{}\",\"event\":{{\"kind\":\"gate\",\"verdict\":\"ALLOW\"}}}}",
            sha(&l[1])
        );
        let forged = rehash(&format!(
            "{},\"hash\":\"sha256:{}\"}}",
            &forged_body[..forged_body.len() - 1],
            "0".repeat(64)
        ));
        l.insert(2, forged);
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 4") && out.contains("inserted"), "{out}");
}

#[test]
fn reordered_records_are_detected() {
    let (code, out) = tampered(|l| l.swap(2, 3));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 3") && out.contains("reordered"), "{out}");
}

#[test]
fn a_non_record_line_is_detected() {
    let (code, out) = tampered(|l| l.insert(1, "{\"seq\":2}".into()));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 2"), "{out}");
}

#[test]
fn records_removed_from_the_end_are_detected_against_a_kept_head() {
    let dir = tempfile::tempdir().unwrap();
    let log = gate_log(dir.path(), 4);
    let l = lines(&log);
    let head = sha(&l[3]);
    assert_eq!(verify(&log, &["--head", &head, "--min-records", "4"]).0, 0);
    write_lines(&log, &l[..3]);
    // The chain itself is still consistent; the kept head and count say what is missing.
    assert_eq!(verify(&log, &[]).0, 0);
    let (code, out) = verify(&log, &["--head", &head]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("removed from the end"), "{out}");
    assert_eq!(verify(&log, &["--min-records", "4"]).0, 1);
}

#[test]
fn a_cut_last_record_is_detected_and_blocks_further_appends() {
    let dir = tempfile::tempdir().unwrap();
    let log = gate_log(dir.path(), 3);
    let bytes = std::fs::read(&log).unwrap();
    std::fs::write(&log, &bytes[..bytes.len() - 20]).unwrap();
    let (code, out) = verify(&log, &[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("line 3") && out.contains("incomplete"),
        "{out}"
    );
    // A gate cannot chain to a damaged log: it fails closed.
    let o = common::cli(&[
        "gate",
        s(&sample("clean.dmp")),
        "--audit-log",
        s(&log),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn missing_log_is_an_error() {
    assert_eq!(verify(Path::new("/nonexistent/audit.jsonl"), &[]).0, 2);
}

#[test]
fn ten_concurrent_gate_processes_keep_the_chain_intact() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    const N: usize = 10;
    const ROUNDS: usize = 3;
    let bin = env!("CARGO_BIN_EXE_dumpguard");
    for _ in 0..ROUNDS {
        let children: Vec<_> = (0..N)
            .map(|i| {
                let dump = if i % 2 == 0 {
                    "clean.dmp"
                } else {
                    "test-keys.dmp"
                };
                std::process::Command::new(bin)
                    .args(["gate", s(&sample(dump)), "--audit-log", s(&log), "-q"])
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut pids = Vec::new();
        for mut c in children {
            pids.push(c.id());
            let st = c.wait().unwrap();
            assert!(matches!(st.code(), Some(0 | 1)), "{st:?}");
        }
    }
    let (code, out) = verify(&log, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{} records", N * ROUNDS)), "{out}");
    // Every process wrote exactly one record.
    let mut pids: Vec<u64> = lines(&log)
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]["pid"]
                .as_u64()
                .unwrap()
        })
        .collect();
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), N * ROUNDS);
}

#[test]
fn many_threads_appending_keep_the_chain_intact() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    std::thread::scope(|sc| {
        for t in 0..8 {
            let log = &log;
            sc.spawn(move || {
                for i in 0..50 {
                    dumpguard::gate::audit::append(log, &serde_json::json!({"t": t, "i": i}))
                        .unwrap();
                }
            });
        }
    });
    let v = dumpguard::gate::audit::verify(&log).unwrap().unwrap();
    assert_eq!(v.records, 400);
}
