//! Golden outputs: every format dumpguard writes, over the shipped `sample-dumps/` and over the
//! public minidumps in `../shared/sample-dumps/public` (Breakpad, Crashpad, rust-minidump and
//! symbolic test files, some deliberately malformed), pinned with `insta`. A change to any output (a field renamed, a line reworded, a finding gained or lost)
//! fails here and shows the difference; an intended change is accepted by re-running with
//! `INSTA_UPDATE=always` (or `cargo insta review`) and committing the `.snap` files.
//!
//! What varies between runs is normalised before comparing: timings, throughput, decision
//! times, the engine's rules digest (it changes with every rule or detector added, which the
//! other tests cover), the audit record's host and pid, and temporary paths.

use crate::common;
use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::Command;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-dumps")
}

/// Runs the binary in the repository root, so paths print as `sample-dumps/…`.
fn run(args: &[&str]) -> (i32, String, String) {
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Runs the binary in `dir`, so inputs named relative to it print the same wherever the
/// checkout is (human output aligns columns by path length: replacing a path afterwards would
/// not be enough).
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dumpguard"))
        .current_dir(dir)
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
    // The crate's version changes with every release, not with the output's shape.
    let version = env!("CARGO_PKG_VERSION");
    s = s.replace(&format!("\"{version}\""), "\"[version]\"");
    s = s.replace(&format!("dumpguard {version}"), "dumpguard [version]");
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

/// The public sample minidumps, by file name, and the directory to run in.
fn public() -> (PathBuf, Vec<String>) {
    let files = common::public_samples();
    assert!(files.len() >= 10, "public samples missing? {files:?}");
    // Canonical: the sweep prints its roots resolved, and [`public_text`] replaces them.
    let dir = files[0].parent().unwrap().canonicalize().unwrap();
    let names = files
        .iter()
        .map(|f| f.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    (dir, names)
}

/// [`normalise`], with the public samples' directory shown as `[public]`.
fn public_text(text: &str, dir: &Path) -> String {
    normalise(&text.replace(&dir.display().to_string(), "[public]"), None)
}

fn with<'a>(head: &[&'a str], names: &'a [String]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.extend(names.iter().map(String::as_str));
    v
}

/// Real dumps from other tools' test suites, two of them malformed on purpose (a range past the
/// end, a record count larger than the stream): the malformed ones make the scan incomplete, so
/// every format reports exit 2 and says which dump and why, while the findings of the others
/// are still listed.
#[test]
fn public_samples_scan_every_format() {
    let (dir, names) = public();
    let mut shown = String::new();
    for format in ["human", "json", "jsonl", "sarif"] {
        let (code, out, err) = run_in(
            &dir,
            &with(&["scan", "--color", "never", "--format", format], &names),
        );
        if format != "human" {
            serde_json::Deserializer::from_str(&out)
                .into_iter::<serde_json::Value>()
                .for_each(|v| {
                    v.expect("JSON output");
                });
        }
        shown += &format!(
            "== scan --format {format}: exit {code}\n-- stdout\n{}\n-- stderr\n{}\n",
            public_text(&out, &dir),
            public_text(&err, &dir),
        );
    }
    insta::assert_snapshot!("public_scan", shown);
}

/// The gate's decision record for each public dump: ALLOW for a complete clean scan, BLOCK
/// (exit 2) where the dump is malformed, whatever else was found.
#[test]
fn public_samples_gate_records() {
    let (dir, names) = public();
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let mut shown = String::new();
    for name in &names {
        let record = tmp.join(format!("{name}.record.json"));
        let (code, out, err) = run_in(&dir, &["gate", name, "--report", record.to_str().unwrap()]);
        let text = std::fs::read_to_string(&record).unwrap();
        // The record written is the one printed: pinned once.
        assert_eq!(
            normalise(&text, Some(tmp)).trim_end(),
            normalise(&out, Some(tmp)).trim_end(),
            "{name}"
        );
        shown += &format!(
            "== gate {name}: exit {code}\n-- stderr\n{}-- record (= stdout)\n{}\n",
            normalise(&err, Some(tmp)),
            normalise(&text, Some(tmp)),
        );
    }
    insta::assert_snapshot!("public_gate_records", shown);
}

#[test]
fn public_samples_sweep_summary() {
    let (dir, _) = public();
    let mut shown = String::new();
    for format in ["human", "json"] {
        let (code, out, _) = run_in(
            &dir,
            &[
                "sweep",
                ".",
                "--min-age",
                "0",
                "-j",
                "1",
                "--format",
                format,
            ],
        );
        shown += &format!(
            "== sweep --format {format}: exit {code}\n{}\n",
            public_text(&out, &dir)
        );
    }
    insta::assert_snapshot!("public_sweep_summary", shown);
}
