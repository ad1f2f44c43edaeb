//! Golden outputs: every format dumpguard writes, over the shipped `sample-dumps/`, pinned with
//! `insta`. A change to any output (a field renamed, a line reworded, a finding gained or lost)
//! fails here and shows the difference; an intended change is accepted by re-running with
//! `INSTA_UPDATE=always` (or `cargo insta review`) and committing the `.snap` files.
//!
//! What varies between runs is normalised before comparing: timings, throughput, decision
//! times, the engine's rules digest (it changes with every rule or detector added, which the
//! other tests cover), the audit record's host and pid, and temporary paths.

use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::Command;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-dumps")
}

/// Runs the binary in the repository root, so paths print as `sample-dumps/…`.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dumpguard"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run dumpguard");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn normalise(text: &str, tmp: Option<&Path>) -> String {
    let mut s = text.to_string();
    if let Some(t) = tmp {
        s = s.replace(&t.display().to_string(), "[tmp]");
    }
    s = s.replace(env!("CARGO_MANIFEST_DIR"), "[repo]");
    let rules: [(&str, &str); 11] = [
        (r"\d+ ms, [0-9.]+ [KMG]?B/s", "[time]"),
        (r"in [0-9.]+ s \([0-9.]+ [KMG]?i?B/s\)", "in [time]"),
        (
            r#""(elapsed_ms|bytes_per_second)": ?\d+"#,
            r#""$1": "[varies]""#,
        ),
        (r#""phases_ms": ?\{[^}]*\}"#, r#""phases_ms": "[varies]""#),
        (
            r#""(\w+_at|time|first_seen|last_seen)": ?"[^"]*""#,
            r#""$1": "[time]""#,
        ),
        (
            r#""rules_digest": ?"sha256:[0-9a-f]{64}""#,
            r#""rules_digest": "[rules-digest]""#,
        ),
        (
            r#""rulesDigest": ?"sha256:[0-9a-f]{64}""#,
            r#""rulesDigest": "[rules-digest]""#,
        ),
        (r#""host": ?"[^"]*""#, r#""host": "[host]""#),
        (r#""pid": ?\d+"#, r#""pid": "[pid]""#),
        (r"in \d+(\.\d+)? ?m?s\b", "in [time]"),
        (r"\b\d+(\.\d+)? s elapsed", "[time] elapsed"),
    ];
    for (re, with) in rules {
        s = Regex::new(re).unwrap().replace_all(&s, with).into_owned();
    }
    s
}

#[test]
fn scan_human() {
    let (code, out, _) = run(&["scan", "--color", "never", "sample-dumps/"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("scan_human", normalise(&out, None));
}

#[test]
fn scan_json_one_document() {
    let (code, out, _) = run(&["scan", "--format", "json", "sample-dumps/"]);
    assert_eq!(code, 1);
    serde_json::from_str::<serde_json::Value>(&out).expect("one JSON document");
    insta::assert_snapshot!("scan_json", normalise(&out, None));
}

#[test]
fn scan_jsonl() {
    let (code, out, _) = run(&["scan", "--format", "jsonl", "sample-dumps/"]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 3, "one report per input");
    insta::assert_snapshot!("scan_jsonl", normalise(&out, None));
}

#[test]
fn scan_sarif() {
    let (code, out, _) = run(&["scan", "--format", "sarif", "sample-dumps/"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("scan_sarif", normalise(&out, None));
}

#[test]
fn gate_decision_records_and_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let log = tmp.join("audit.jsonl");
    let mut shown = String::new();
    for (name, want) in [("clean.dmp", 0), ("test-keys.dmp", 1)] {
        let record = tmp.join(format!("{name}.record.json"));
        let dump = samples().join(name);
        let (code, out, err) = run(&[
            "gate",
            dump.to_str().unwrap(),
            "--report",
            record.to_str().unwrap(),
            "--audit-log",
            log.to_str().unwrap(),
        ]);
        assert_eq!(code, want, "{err}");
        let text = std::fs::read_to_string(&record).unwrap();
        shown += &format!(
            "== gate {name}: exit {code}\n-- stdout\n{}-- stderr\n{}-- record\n{}\n",
            normalise(&out, Some(tmp)),
            normalise(&err, Some(tmp)),
            normalise(&text, Some(tmp)),
        );
    }
    // The audit log chains records by hash: the hashes change with the normalised fields, so
    // only the events' shape is pinned here (gate_audit checks the chain itself).
    let audit: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&serde_json::Value> = audit.iter().map(|r| &r["event"]).collect();
    shown += "== audit events\n";
    shown += &normalise(&serde_json::to_string_pretty(&events).unwrap(), Some(tmp));
    insta::assert_snapshot!("gate_records", shown);
}

#[test]
fn sweep_summary_human_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let (code, human, _) = run(&["sweep", "sample-dumps/", "--min-age", "0", "-j", "1"]);
    assert_eq!(code, 1);
    let (code, json, _) = run(&[
        "sweep",
        "sample-dumps/",
        "--min-age",
        "0",
        "-j",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    serde_json::from_str::<serde_json::Value>(&json).expect("one JSON document");
    insta::assert_snapshot!(
        "sweep_summary",
        format!(
            "-- human\n{}\n-- json\n{}",
            normalise(&human, Some(tmp)),
            normalise(&json, Some(tmp))
        )
    );
}
