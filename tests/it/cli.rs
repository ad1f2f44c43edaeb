//! The command line contract: exit codes (docs/design.md), output formats, report files written
//! 0600, directory recursion, and the progress bar only on a terminal.

use crate::common;

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
        "blake3",
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

/// `dumpguard scan ARGS` with `input` on standard input and extra environment.
fn cli_with(args: &[&str], input: Option<&[u8]>, env: &[(&str, &str)]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dumpguard"));
    cmd.args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run dumpguard");
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().unwrap();
        // The child may stop reading early (size limit): a broken pipe here is expected.
        let _ = stdin.write_all(bytes);
    }
    child.wait_with_output().unwrap()
}

/// A directory holding copies of the named sample dumps.
fn dir_of(name: &str, samples_: &[&str]) -> PathBuf {
    let d = common::scratch().join(name);
    std::fs::create_dir_all(&d).unwrap();
    for s in samples_ {
        std::fs::copy(samples().join(s), d.join(s)).unwrap();
    }
    d
}

/// `--format json` prints exactly one document whose shape depends on the command line, never
/// on how many files a directory holds: a directory with 0, 1 or 2 dumps gives the same
/// `dumpguard.scan/v1` object; one file argument gives one report.
#[test]
fn json_is_one_document_whose_shape_follows_the_arguments() {
    for (name, files, want_code) in [
        ("shape-0", &[][..], 0),
        ("shape-1", &["test-keys.dmp"][..], 1),
        ("shape-2", &["clean.dmp", "test-keys.core"][..], 1),
    ] {
        let d = dir_of(name, files);
        let out = common::cli(&["scan", "--format", "json", d.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(want_code), "{name}");
        // One document: serde_json rejects trailing content.
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: not one JSON document: {e}"));
        assert_eq!(v["schema"], "dumpguard.scan/v1", "{name}");
        let reports = v["reports"].as_array().unwrap();
        assert_eq!(reports.len(), files.len(), "{name}");
        for r in reports {
            assert_eq!(r["schema"], "dumpguard.report/v1");
        }
        assert_eq!(v["summary"]["inputs"], files.len());
        assert_eq!(v["summary"]["complete"], files.len());
        let crit: u64 = reports
            .iter()
            .map(|r| r["summary"]["by_severity"]["critical"].as_u64().unwrap())
            .sum();
        assert_eq!(v["summary"]["by_severity"]["critical"], crit, "{name}");
        assert_eq!(v["errors"].as_array().unwrap().len(), 0);
    }
    // Two file arguments are "several" too; one file argument prints the report itself.
    let (a, b) = (samples().join("clean.dmp"), samples().join("test-keys.dmp"));
    let two = common::cli(&[
        "scan",
        "--format",
        "json",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&two.stdout).unwrap();
    assert_eq!(v["reports"].as_array().unwrap().len(), 2);
    let one = common::cli(&["scan", "--format", "json", b.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(v["schema"], "dumpguard.report/v1");
    // An input that cannot be opened is listed in `errors` and makes the exit code 2.
    let missing = common::cli(&[
        "scan",
        "--format",
        "json",
        b.to_str().unwrap(),
        "/nonexistent/x.dmp",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(v["errors"][0]["path"], "/nonexistent/x.dmp");
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(v["summary"]["inputs"], 2);
}

/// `scan -` scans a dump piped in: the same findings as the file, reported under the name
/// `-`; the spool file is private and removed; a dump over the limit is refused (exit 2).
#[test]
fn stdin_is_spooled_scanned_and_bounded() {
    let keys = samples().join("test-keys.dmp");
    let bytes = std::fs::read(&keys).unwrap();
    let tmp = common::scratch().join("stdin-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let tmp_env = [("TMPDIR", tmp.to_str().unwrap())];
    let piped = cli_with(&["scan", "--format", "json", "-"], Some(&bytes), &tmp_env);
    assert_eq!(piped.status.code(), Some(1), "{piped:?}");
    let file = common::cli(&["scan", "--format", "json", keys.to_str().unwrap()]);
    let p: serde_json::Value = serde_json::from_slice(&piped.stdout).unwrap();
    let f: serde_json::Value = serde_json::from_slice(&file.stdout).unwrap();
    assert_eq!(p["input"]["path"], "-");
    assert_eq!(p["input"]["blake3"], f["input"]["blake3"]);
    assert_eq!(p["findings"], f["findings"]);
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "spool file left behind"
    );
    let big = cli_with(
        &["scan", "--max-stdin-bytes", "4096", "-"],
        Some(&bytes),
        &tmp_env,
    );
    assert_eq!(big.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&big.stderr).contains("--max-stdin-bytes"));
    assert!(big.stdout.is_empty());
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    assert_eq!(code(&["scan", "-", "-"]), 2, "stdin twice");
}

/// A human scan of several inputs ends with one total line that agrees with the reports.
#[test]
fn human_scan_of_several_inputs_ends_with_a_total_line() {
    let d = dir_of("total", &["clean.dmp", "test-keys.dmp", "test-keys.core"]);
    let out = common::cli(&["scan", d.to_str().unwrap(), "/nonexistent/y.dmp"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().unwrap();
    let json = common::cli(&["scan", "--format", "json", d.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let s = &v["summary"];
    let want = format!(
        "total: 4 inputs (3 complete, 0 incomplete, 1 failed); findings: {} critical, {} high, {} medium, {} low; {} distinct keys",
        s["by_severity"]["critical"],
        s["by_severity"]["high"],
        s["by_severity"]["medium"],
        s["by_severity"]["low"],
        s["distinct_keys"]
    );
    assert_eq!(last, want);
    assert!(s["by_severity"]["critical"].as_u64().unwrap() > 0);
    // The same key in two dumps counts once: both test-keys dumps hold the same keys.
    let per_report: usize = v["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["summary"]["distinct_fingerprints"].as_u64().unwrap() as usize)
        .sum();
    assert!(s["distinct_keys"].as_u64().unwrap() < per_report as u64);
    // One file: no total line.
    let one = common::cli(&["scan", samples().join("clean.dmp").to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&one.stdout).contains("total:"));
}

/// Severities are coloured on a terminal, not when piped, not with NO_COLOR, and always
/// with `--color always`.
#[test]
fn colour_only_on_a_terminal_unless_asked() {
    const ESC: &str = "\x1b[";
    let keys = samples().join("test-keys.dmp");
    let cmd = format!(
        "{} scan {}",
        env!("CARGO_BIN_EXE_dumpguard"),
        keys.display()
    );
    let on_pty = |extra: &str, env: &[(&str, &str)]| {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &format!("{cmd} {extra}"), "/dev/null"])
            .env_remove("NO_COLOR")
            .env("TERM", "xterm");
        for (k, v) in env {
            c.env(k, v);
        }
        String::from_utf8_lossy(&c.output().expect("script (util-linux)").stdout).into_owned()
    };
    let tty = on_pty("", &[]);
    assert!(tty.contains(&format!("{ESC}1m{ESC}91mCRITICAL")), "{tty}");
    assert!(!on_pty("", &[("NO_COLOR", "1")]).contains(ESC), "NO_COLOR");
    assert!(!on_pty("--color never", &[]).contains(ESC));
    let piped = cli_with(&["scan", keys.to_str().unwrap()], None, &[]);
    assert!(!String::from_utf8_lossy(&piped.stdout).contains(ESC));
    assert!(String::from_utf8_lossy(&piped.stdout).contains("CRITICAL"));
    let forced = cli_with(
        &["scan", "--color", "always", keys.to_str().unwrap()],
        None,
        &[("NO_COLOR", "1")],
    );
    assert!(String::from_utf8_lossy(&forced.stdout).contains(ESC));
    // JSON is never coloured.
    let json = cli_with(
        &[
            "scan",
            "--color",
            "always",
            "--format",
            "json",
            keys.to_str().unwrap(),
        ],
        None,
        &[],
    );
    assert!(!String::from_utf8_lossy(&json.stdout).contains(ESC));
}

/// Completion scripts and man pages are generated from the real command line: they name every
/// command and a recent option, bash accepts its script, and every command has a page.
#[test]
fn completions_and_man_pages_are_generated() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = common::cli(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for word in ["scan", "gate", "sweep", "max-stdin-bytes"] {
            assert!(text.contains(word), "{shell} completion lacks {word}");
        }
    }
    let bash = common::scratch().join("dumpguard.bash");
    std::fs::write(&bash, common::cli(&["completions", "bash"]).stdout).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&bash)
        .status()
        .unwrap();
    assert!(syntax.success(), "bash rejects its completion script");
    assert_eq!(code(&["completions", "no-such-shell"]), 2);

    let main = String::from_utf8(common::cli(&["man"]).stdout).unwrap();
    assert!(
        main.starts_with(".ie") && main.contains(".TH dumpguard 1"),
        "{main}"
    );
    for cmd in ["scan", "gate", "watch", "sweep", "rules", "audit"] {
        assert!(main.contains(cmd), "main page lacks {cmd}");
        let page = common::cli(&["man", cmd]);
        assert_eq!(page.status.code(), Some(0), "{cmd}");
        let page = String::from_utf8(page.stdout).unwrap();
        assert!(page.contains(&format!(".TH dumpguard-{cmd} 1")), "{cmd}");
        assert!(page.contains(".SH OPTIONS"), "{cmd}");
    }
    let scan = String::from_utf8(common::cli(&["man", "scan"]).stdout).unwrap();
    assert!(scan.contains(r"\-\-max\-stdin\-bytes"));
    assert_eq!(code(&["man", "no-such-command"]), 2);
}

/// Baseline round trip: a baseline written from one scan's report makes a rescan — of the
/// same keys in another dump — report them as suppressed with the reason and exit 0, in
/// scan (human, JSON, SARIF) and gate (ALLOW, reasons in the decision); a key missing from
/// the baseline still fails; a malformed baseline is an error.
#[test]
fn baseline_round_trip_suppresses_accepted_keys() {
    let dir = common::scratch().join("baseline");
    std::fs::create_dir_all(&dir).unwrap();
    let (dmp, core) = (
        samples().join("test-keys.dmp"),
        samples().join("test-keys.core"),
    );
    let report = dir.join("r.json");
    let base = dir.join("baseline.json");
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    assert_eq!(
        code(&[
            "scan",
            "--format",
            "json",
            "--output",
            &s(&report),
            &s(&dmp)
        ]),
        1
    );
    let w = common::cli(&[
        "baseline",
        "--reason",
        "sample test keys",
        "-o",
        &s(&base),
        &s(&report),
    ]);
    assert_eq!(w.status.code(), Some(0), "{w:?}");
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    assert_eq!(b["schema"], "dumpguard.baseline/v1");
    let fps: Vec<&str> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps.len(), 2, "one entry per distinct key: {b}");

    let json = common::cli(&[
        "scan",
        "--format",
        "json",
        "--baseline",
        &s(&base),
        &s(&core),
    ]);
    assert_eq!(json.status.code(), Some(0), "all findings baselined");
    let r: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let findings = r["findings"].as_array().unwrap();
    assert!(
        !findings.is_empty(),
        "suppressed findings are still reported"
    );
    for f in findings {
        assert_eq!(f["suppressed"]["reason"], "sample test keys", "{f}");
        assert!(f["suppressed"]["by"]
            .as_str()
            .unwrap()
            .contains("baseline.json"));
    }
    let human = common::cli(&["scan", "--baseline", &s(&base), &s(&core)]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("suppressed by baseline"));
    let sarif = common::cli(&[
        "scan",
        "--format",
        "sarif",
        "--baseline",
        &s(&base),
        &s(&core),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    for res in v["runs"][0]["results"].as_array().unwrap() {
        assert_eq!(res["suppressions"][0]["status"], "accepted");
    }
    let gate = common::cli(&["gate", "--baseline", &s(&base), &s(&core)]);
    assert_eq!(gate.status.code(), Some(0), "gate ALLOWs baselined keys");
    let d: serde_json::Value = serde_json::from_slice(&gate.stdout).unwrap();
    assert_eq!(d["decision"]["verdict"], "ALLOW");
    for f in d["decision"]["findings"].as_array().unwrap() {
        assert_eq!(f["disposition"], "suppressed");
        assert!(f["reason"].as_str().unwrap().ends_with("sample test keys"));
    }
    assert!(d["decision"]["policy"]["source"]
        .as_str()
        .unwrap()
        .contains("baseline"));

    // Drop one key from the baseline: its findings count again.
    let mut partial = b.clone();
    partial["entries"].as_array_mut().unwrap().remove(0);
    let pb = dir.join("partial.json");
    std::fs::write(&pb, partial.to_string()).unwrap();
    assert_eq!(code(&["scan", "-q", "--baseline", &s(&pb), &s(&core)]), 1);
    assert_eq!(code(&["gate", "-q", "--baseline", &s(&pb), &s(&core)]), 1);
    // Malformed baselines are errors, not silent passes.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"schema":"dumpguard.baseline/v1","entries":[{"fingerprint":"sha256:zz","kind":"x","reason":"r","seen_in":"y"}]}"#).unwrap();
    assert_eq!(code(&["scan", "-q", "--baseline", &s(&bad), &s(&core)]), 2);
    assert_eq!(code(&["gate", "-q", "--baseline", &s(&bad), &s(&core)]), 2);
    assert_eq!(code(&["baseline", "--reason", " ", &s(&report)]), 2);
    // The baseline holds fingerprints only: no key bytes.
    let text = std::fs::read_to_string(&base).unwrap();
    assert!(!text.contains("BEGIN") && !text.contains("preview"));
}
