//! The command line contract: exit codes (DESIGN.md), output formats, report files written
//! 0600, directory recursion, and the progress bar only on a terminal.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-dumps")
}

fn code(args: &[&str]) -> i32 {
    common::cli(args).status.code().expect("exit code")
}

#[test]
fn exit_codes_follow_the_design() {
    let s = samples();
    let clean = s.join("clean.dmp");
    let keys = s.join("test-keys.dmp");
    assert_eq!(
        code(&["scan", "-q", clean.to_str().unwrap()]),
        0,
        "clean dump"
    );
    assert_eq!(
        code(&["scan", "-q", keys.to_str().unwrap()]),
        1,
        "verified keys"
    );
    assert_eq!(
        code(&["scan", "-q", "/nonexistent/dump.dmp"]),
        2,
        "missing input"
    );
    assert_eq!(
        code(&["scan", "-q", "--bogus-flag", clean.to_str().unwrap()]),
        2,
        "usage error"
    );
    // Threshold above what was found: keys are critical, so --fail-on critical still fails,
    // and a clean dump passes any threshold.
    assert_eq!(
        code(&[
            "scan",
            "-q",
            "--fail-on",
            "critical",
            keys.to_str().unwrap()
        ]),
        1
    );
    assert_eq!(
        code(&["scan", "-q", "--fail-on", "low", clean.to_str().unwrap()]),
        0
    );
    // An error outranks a match: a truncated dump holding a key exits 2, and still reports it.
    let bytes = std::fs::read(&keys).unwrap();
    let cut = common::scratch().join("truncated.dmp");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 4]).unwrap();
    let out = common::cli(&["scan", "--format", "json", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["input"]["complete"], false);
    assert!(
        !r["findings"].as_array().unwrap().is_empty(),
        "findings still reported"
    );
}

#[test]
fn json_report_follows_schema_v1() {
    let keys = samples().join("test-keys.core");
    let out = common::cli(&["scan", "--format", "json", keys.to_str().unwrap()]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["schema"], "dumpguard.report/v1");
    for k in ["name", "version", "rules_digest"] {
        assert!(r["tool"][k].is_string(), "tool.{k}");
    }
    for k in [
        "path",
        "size",
        "sha256",
        "format",
        "regions",
        "scanned_bytes",
        "complete",
        "warnings",
    ] {
        assert!(!r["input"][k].is_null(), "input.{k}");
    }
    assert_eq!(r["input"]["scanned_bytes"], r["input"]["size"]);
    let f = &r["findings"][0];
    for k in [
        "id",
        "detector",
        "kind",
        "severity",
        "verified",
        "verification",
        "fingerprint",
        "encoding",
        "offset",
        "length",
        "location",
        "key",
        "preview",
    ] {
        assert!(!f[k].is_null(), "finding.{k}");
    }
    assert!(f["location"]["address"].as_str().unwrap().starts_with("0x"));
    for k in ["by_severity", "elapsed_ms", "bytes_per_second"] {
        assert!(!r["summary"][k].is_null(), "summary.{k}");
    }
}

#[test]
fn directories_are_recursed_and_jsonl_has_one_report_per_input() {
    let out = common::cli(&["scan", "--format", "jsonl", samples().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let paths: Vec<&str> = lines
        .iter()
        .map(|r| r["input"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "deterministic order");
}

#[test]
fn report_file_is_written_atomically_with_mode_0600() {
    let out_path = common::scratch().join("report.json");
    let keys = samples().join("test-keys.dmp");
    let out = common::cli(&[
        "scan",
        "--format",
        "json",
        "--output",
        out_path.to_str().unwrap(),
        keys.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "report went to the file, not stdout");
    let mode = std::fs::metadata(&out_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(r["schema"], "dumpguard.report/v1");
    // An output that cannot be written is an error (exit 2), not a silent pass.
    let bad = common::cli(&[
        "scan",
        "--output",
        "/nonexistent-dir/r.json",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

/// A large input shows a progress bar on a terminal and nothing otherwise.
#[test]
fn progress_bar_only_on_a_terminal() {
    let big = common::scratch().join("big-zero.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(96 << 20)
        .unwrap();
    let plain = common::cli(&["scan", big.to_str().unwrap()]);
    assert_eq!(plain.status.code(), Some(0));
    assert!(
        plain.stderr.is_empty(),
        "no progress output when stderr is not a terminal"
    );
    // `script` runs the command on a pseudo-terminal.
    let cmd = format!("{} scan {}", env!("CARGO_BIN_EXE_dumpguard"), big.display());
    let tty = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(
        text.contains("ETA"),
        "no progress bar on a terminal: {text}"
    );
    let quiet = std::process::Command::new("script")
        .args(["-qec", &format!("{cmd} --quiet"), "/dev/null"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&quiet.stdout).contains("ETA"),
        "--quiet still drew a bar"
    );
    std::fs::remove_file(&big).unwrap();
}
