//! The JSON Schemas shipped in `schemas/` (issue 16): each equals what `dumpguard schema NAME`
//! generates from the Rust types, and real outputs validate against the shipped files with
//! python `jsonschema` (draft 2020-12): scans of the sample dumps (a gcore core and
//! minidump-writer minidumps of a process holding fresh test keys, a clean one) and of the
//! public sample minidumps, gate decision records (BLOCK, ALLOW, ALLOW_REDACTED with its
//! attestation), the JSON Lines records and summaries of two sweeps (the second with a dump
//! gone, so resolved secrets) and of a sweep-merge.

use crate::common;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NAMES: &[&str] = &[
    "report",
    "scan",
    "decision",
    "sweep-record",
    "sweep-summary",
];

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The shipped schema file of `name`.
fn shipped(name: &str) -> PathBuf {
    repo(&format!("schemas/{name}.schema.json"))
}

/// Validates each document against the shipped schema `name` (after checking the schema is
/// itself valid draft 2020-12); returns the validator's errors, `doc index: path: message`.
fn schema_errors(name: &str, docs: &[Value]) -> Vec<String> {
    let src = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", schema["$schema"]
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
for i, doc in enumerate(json.load(sys.stdin)):
    for e in sorted(v.iter_errors(doc), key=lambda e: list(e.path)):
        print(f"{i}: " + "/".join(map(str, e.path)) + ": " + e.message[:300])
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(src)
        .arg(shipped(name))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let input = serde_json::to_vec(docs).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "schema validation did not run (scripts/test.sh installs python jsonschema): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn assert_valid(name: &str, docs: &[Value]) {
    assert!(!docs.is_empty());
    let errors = schema_errors(name, docs);
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}

/// Runs the binary; returns (exit code, stdout as JSON).
fn json_of(args: &[&str]) -> (i32, Value) {
    let o = common::cli(args);
    let code = o.status.code().expect("exited");
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (code, v)
}

#[test]
fn shipped_schemas_equal_the_generated_ones() {
    let o = common::cli(&["schema"]);
    assert!(o.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(
        listed, NAMES,
        "`dumpguard schema` lists every shipped schema"
    );
    for name in NAMES {
        let o = common::cli(&["schema", name]);
        assert!(o.status.success(), "{name}");
        let want = std::fs::read_to_string(shipped(name)).unwrap();
        assert!(
            o.stdout == want.as_bytes(),
            "schemas/{name}.schema.json differs from the types: regenerate it with \
             `cargo run -- schema {name} > schemas/{name}.schema.json`"
        );
    }
    assert_eq!(common::cli(&["schema", "nope"]).status.code(), Some(2));
}

#[test]
fn the_validator_rejects_documents_that_break_the_schemas() {
    // The check can fail: a real report with a member renamed, a severity that does not
    // exist, a negative offset and an unknown member each give an error.
    let (_, mut report) = json_of(&[
        "scan",
        "--format",
        "json",
        s(&repo("sample-dumps/test-keys.core")),
    ]);
    assert_valid("report", std::slice::from_ref(&report));
    let f = &mut report["findings"][0];
    f["severity"] = "catastrophic".into();
    f["offset"] = (-5).into();
    f["fingerprnt"] = "sha256:00".into();
    let inp = report["input"].as_object_mut().unwrap();
    let size = inp.remove("size").unwrap();
    inp.insert("bytes".into(), size);
    let errors = schema_errors("report", &[report]);
    for want in [
        "catastrophic",
        "offset",
        "fingerprnt",
        "'size' is a required",
        "bytes",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{want} not reported: {errors:#?}"
        );
    }
    // A scan document is not a report, nor a decision record.
    let (_, scan) = json_of(&["scan", "--format", "json", s(&repo("sample-dumps"))]);
    assert!(!schema_errors("report", std::slice::from_ref(&scan)).is_empty());
    assert!(!schema_errors("decision", &[scan]).is_empty());
}

#[test]
fn scans_of_real_dumps_validate() {
    let samples = repo("sample-dumps");
    // A directory: the scan/v1 document, with the keyed core and minidump and the clean one.
    let (code, scan) = json_of(&["scan", "--format", "json", s(&samples)]);
    assert_eq!(code, 1, "the sample dumps hold verified keys");
    assert_eq!(scan["schema"], "dumpguard.scan/v1");
    assert_eq!(scan["reports"].as_array().unwrap().len(), 3);
    assert_valid("scan", &[scan]);

    // One file each, and the JSON Lines form: reports. The public sample minidumps too.
    let mut files: Vec<PathBuf> = ["test-keys.core", "test-keys.dmp", "clean.dmp"]
        .iter()
        .map(|n| samples.join(n))
        .collect();
    files.extend(common::public_samples());
    let mut reports = Vec::new();
    for f in &files {
        let (_, r) = json_of(&["scan", "--format", "json", s(f)]);
        reports.push(r);
    }
    let mut args = vec!["scan", "--format", "jsonl"];
    args.extend(files.iter().map(|f| s(f)));
    let o = common::cli(&args);
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        reports.push(serde_json::from_str(l).unwrap());
    }
    assert_eq!(reports.len(), 2 * files.len());
    assert!(
        reports
            .iter()
            .any(|r| r["findings"].as_array().is_some_and(|f| f.len() >= 4)),
        "the keyed dumps' findings are part of what is validated"
    );
    assert_valid("report", &reports);
}

#[test]
fn gate_decision_records_validate() {
    let samples = repo("sample-dumps");
    let dir = tempfile::tempdir().unwrap();
    let (block, rec_block) = json_of(&["gate", s(&samples.join("test-keys.core"))]);
    assert_eq!(block, 1);
    let (allow, rec_allow) = json_of(&["gate", s(&samples.join("clean.dmp"))]);
    assert_eq!(allow, 0);
    let out = dir.path().join("red.dmp");
    let (red, rec_red) = json_of(&[
        "gate",
        s(&samples.join("test-keys.dmp")),
        "--redact-to",
        s(&out),
    ]);
    assert_eq!(red, 3, "{rec_red}");
    assert!(rec_red["decision"]["redaction"].is_object());
    assert_eq!(rec_block["decision"]["verdict"], "BLOCK");
    assert_valid("decision", &[rec_block, rec_allow, rec_red]);
}

#[test]
fn sweep_records_and_summaries_validate() {
    let dir = tempfile::tempdir().unwrap();
    let share = dir.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    for n in ["test-keys.core", "test-keys.dmp", "clean.dmp"] {
        std::fs::copy(repo(&format!("sample-dumps/{n}")), share.join(n)).unwrap();
    }
    std::fs::write(share.join("notes.txt"), "not a dump\n").unwrap();
    let state = dir.path().join("state.sqlite");
    let out = dir.path().join("out.jsonl");
    let html = dir.path().join("report.html");
    let sweep = |out: &Path| {
        json_of(&[
            "sweep",
            s(&share),
            "--state",
            s(&state),
            "--format",
            "json",
            "-q",
            "--out",
            s(out),
            "--html",
            s(&html),
        ])
    };
    let (code, first) = sweep(&out);
    assert_eq!(code, 1);
    assert_eq!(first["schema"], "dumpguard.sweep-summary/v1");
    // The two keyed dumps, and notes.txt: not a dump format, scanned raw, which the default
    // policy does not allow (as the gate would decide).
    assert_eq!(first["by_verdict"]["BLOCK"], 3, "{first}");
    let mut records = read_lines(&out);
    // The next night: a dump is gone, its secrets resolved.
    std::fs::remove_file(share.join("test-keys.core")).unwrap();
    let out2 = dir.path().join("out2.jsonl");
    let (_, second) = sweep(&out2);
    assert_eq!(second["by_status"]["gone"], 1, "{second}");
    assert!(second["secrets"]["resolved"].as_u64().unwrap() > 0);
    let lines2 = read_lines(&out2);
    assert!(lines2.iter().any(|l| l["sweep"]["resolved"].is_array()));
    assert!(lines2.iter().any(|l| l["sweep"]["verdict"].is_object()));
    records.extend(lines2);
    let merged_out = dir.path().join("merged.jsonl");
    let (_, merged) = json_of(&[
        "sweep-merge",
        s(&out2),
        "--format",
        "json",
        "-q",
        "--out",
        s(&merged_out),
    ]);
    assert_eq!(merged["findings"], second["findings"]);
    records.extend(read_lines(&merged_out));
    assert_valid("sweep-record", &records);
    assert_valid("sweep-summary", &[first, second, merged]);
    // A sweep record is not a bare report (it has `sweep`), and the check says so.
    assert!(!schema_errors("report", &records[..1]).is_empty());
}

fn read_lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `Report` reads back what it wrote, byte for byte (issue #13: the sweep reads its stored
/// reports with the report's own types): every JSON Lines report of the sample dumps (keys with
/// locations, modules, threads and key info), of the public sample minidumps, and of a file
/// holding one signed-looking JWT twice (a token finding with attributes, `occurrences` and
/// `locations`), in compact and pretty form.
#[test]
fn reports_read_back_byte_for_byte() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let dir = tempfile::tempdir().unwrap();
    let jwt = format!(
        "{}.{}.{}",
        b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(br#"{"sub":"svc-build","iss":"https://issuer.example","exp":4102444800}"#),
        b64.encode(rand::random::<[u8; 32]>())
    );
    let tokens = dir.path().join("tokens.bin");
    let mut bytes = vec![0u8; 4096];
    bytes.extend_from_slice(format!("Authorization: Bearer {jwt}\n").as_bytes());
    bytes.extend(vec![0u8; 4096]);
    bytes.extend_from_slice(format!("token={jwt}\n").as_bytes());
    std::fs::write(&tokens, bytes).unwrap();

    let samples = repo("sample-dumps");
    let mut files: Vec<PathBuf> = ["test-keys.core", "test-keys.dmp", "clean.dmp"]
        .iter()
        .map(|n| samples.join(n))
        .collect();
    files.extend(common::public_samples());
    files.push(tokens);
    let mut args = vec!["scan", "--format", "jsonl"];
    args.extend(files.iter().map(|f| s(f)));
    let o = common::cli(&args);
    let lines: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), files.len());
    let mut seen = (0, false);
    for line in lines {
        let r: dumpguard::report::Report = serde_json::from_str(line).expect("a report reads");
        assert_eq!(r.to_json(false), line);
        let pretty = r.to_json(true);
        let again: dumpguard::report::Report = serde_json::from_str(&pretty).unwrap();
        assert_eq!(again.to_json(true), pretty);
        seen.0 += r.findings.len();
        seen.1 |= r
            .findings
            .iter()
            .any(|f| f.token.is_some() && f.occurrences == 2 && f.locations.len() == 2);
    }
    assert!(seen.0 >= 8, "findings of the keyed dumps were read back");
    assert!(
        seen.1,
        "the repeated JWT was read back as one finding with two locations"
    );
}
