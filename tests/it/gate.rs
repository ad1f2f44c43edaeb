//! Issue 5, the transfer gate: every verdict, the decision record, the policy (allowlist,
//! kinds, limits), and every fail-closed path — unreadable, truncated, unknown format, detector
//! panic, time-out, size limit, outputs that cannot be written — none of which may ALLOW.
//! Baseline for the failure cases: `sample-dumps/clean.dmp` is ALLOWed when nothing fails.

use crate::common;

use dumpguard::gate::decision::Verdict;
use dumpguard::gate::policy::Policy;
use dumpguard::gate::Gate;
use dumpguard::Engine;
use dumpguard::Scanner;
use dumpguard::{Anchor, Detector, Family, ScanContext, Sink};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-dumps")
        .join(name)
}

fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

/// What `b3sum` prints: the gate's default input hash.
fn blake3_file(p: &Path) -> String {
    blake3::hash(&std::fs::read(p).unwrap())
        .to_hex()
        .to_string()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

struct Run {
    code: i32,
    record: Value,
    stderr: String,
}

/// Runs `dumpguard gate ARGS` and parses the printed decision record.
fn gate(args: &[&str]) -> Run {
    let mut all = vec!["gate"];
    all.extend_from_slice(args);
    let out = common::cli(&all);
    let record = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    Run {
        code: out.status.code().expect("exit code"),
        record,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn verdict(r: &Run) -> &str {
    r.record["decision"]["verdict"].as_str().unwrap_or("")
}

fn reasons(r: &Run) -> String {
    r.record["decision"]["reasons"].to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write_policy(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The fingerprints of the keys in a dump, from a plain scan.
fn fingerprints(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = common::scan(p)
        .findings
        .iter()
        .filter_map(|f| f.fingerprint.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// `--input-hash sha256` for tooling that needs SHA-256: the record and its audit event name
/// the bytes by `sha256sum`'s digest instead of `b3sum`'s.
#[test]
fn input_hash_sha256_on_request() {
    let dump = sample("clean.dmp");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let r = gate(&[s(&dump), "--input-hash", "sha256", "--audit-log", s(&log)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.record["input"]["sha256"], sha256_file(&dump));
    assert!(r.record["input"].get("blake3").is_none(), "one input hash");
    let line = std::fs::read_to_string(&log).unwrap();
    let event: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(event["event"]["dump"]["sha256"], sha256_file(&dump));
    assert!(event["event"]["dump"].get("blake3").is_none());
    let bad = gate(&[s(&dump), "--input-hash", "md5"]);
    assert_eq!(bad.code, 2, "an unknown algorithm is a usage error");
}

#[test]
fn clean_minidump_is_allowed_with_a_complete_record() {
    let dump = sample("clean.dmp");
    let r = gate(&[s(&dump)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(verdict(&r), "ALLOW");
    let rec = &r.record;
    assert_eq!(rec["schema"], "dumpguard.report/v1");
    assert_eq!(rec["input"]["path"], s(&dump));
    assert_eq!(
        rec["input"]["size"].as_u64().unwrap(),
        std::fs::metadata(&dump).unwrap().len()
    );
    assert_eq!(rec["input"]["blake3"], blake3_file(&dump));
    assert!(rec["input"].get("sha256").is_none(), "one input hash");
    assert_eq!(rec["input"]["format"], "minidump");
    assert_eq!(rec["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(rec["tool"]["rules_digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    let d = &rec["decision"];
    assert_eq!(d["exit_code"], 0);
    assert_eq!(d["coverage"]["complete"], true);
    assert_eq!(d["coverage"]["scanned_bytes"], rec["input"]["size"]);
    assert_eq!(d["coverage"]["format_recognised"], true);
    // The policy digest is the SHA-256 of the shipped default policy's bytes.
    let shipped =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/policy.toml")).unwrap();
    assert_eq!(
        d["policy"]["digest"],
        format!("sha256:{}", hex::encode(Sha256::digest(&shipped)))
    );
    assert_eq!(d["policy"]["source"], "built-in default");
    assert!(d["decided_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn dump_with_keys_is_blocked_and_each_blocking_finding_is_a_reason() {
    let dump = sample("test-keys.dmp");
    let r = gate(&[s(&dump)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(verdict(&r), "BLOCK");
    let findings = r.record["decision"]["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    let why = reasons(&r);
    for f in findings {
        assert_eq!(f["disposition"], "blocking");
        assert!(f["fingerprint"].as_str().unwrap().starts_with("sha256:"));
        assert!(
            why.contains(f["fingerprint"].as_str().unwrap()),
            "reason names the key"
        );
    }
    // The report's findings (with previews) are in the record too, and hold no key text.
    let text = r.record.to_string();
    assert!(!text.contains("MII"), "base64 DER in the record");
}

#[test]
fn redacted_copy_is_allowed_with_exit_3_and_attested() {
    let dir = tempfile::tempdir().unwrap();
    let dump = sample("test-keys.dmp");
    let before = sha256_file(&dump);
    let out = dir.path().join("out.dmp");
    let report = dir.path().join("decision.json");
    let r = gate(&[s(&dump), "--redact-to", s(&out), "--report", s(&report)]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(verdict(&r), "ALLOW_REDACTED");
    assert_eq!(sha256_file(&dump), before, "the original was modified");
    for p in [&out, &report, &dumpguard::gate::attestation_path(&out)] {
        assert_eq!(mode(p), 0o600, "{} is not mode 0600", p.display());
    }
    let att: Value =
        serde_json::from_slice(&std::fs::read(dumpguard::gate::attestation_path(&out)).unwrap())
            .unwrap();
    assert_eq!(att["schema"], "dumpguard.redaction/v1");
    assert_eq!(att["original"]["blake3"], blake3_file(&dump));
    assert_eq!(att["copy"]["blake3"], blake3_file(&out));
    assert_eq!(att["outcome"], "verified");
    assert_eq!(att["rescan"]["blocking"], 0);
    assert_eq!(att["rescan"]["container_unchanged"], true);
    let copy = std::fs::read(&out).unwrap();
    let orig = std::fs::read(&dump).unwrap();
    assert_eq!(copy.len(), orig.len());
    let removed = att["removed"].as_array().unwrap();
    let mut in_ranges = vec![false; copy.len()];
    for r in removed {
        let (o, l) = (
            r["offset"].as_u64().unwrap() as usize,
            r["length"].as_u64().unwrap() as usize,
        );
        assert!(r["fingerprint"].as_str().unwrap().starts_with("sha256:"));
        assert!(copy[o..o + l].iter().all(|&b| b == 0), "range not zeroed");
        in_ranges[o..o + l].iter_mut().for_each(|x| *x = true);
    }
    // Nothing outside the listed ranges changed.
    for (i, (a, b)) in orig.iter().zip(&copy).enumerate() {
        if a != b {
            assert!(
                in_ranges[i],
                "byte {i:#x} changed outside the attested ranges"
            );
        }
    }
    // Every key finding of the original is gone from the copy.
    let again = common::scan(&out);
    assert!(again.input.complete);
    assert!(
        again
            .findings
            .iter()
            .all(|f| f.severity < dumpguard::report::Severity::High),
        "{:?}",
        again.findings
    );
    // The record written to --report is the one printed.
    let written: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["decision"]["verdict"], "ALLOW_REDACTED");
    assert_eq!(
        written["decision"]["redaction"]["copy"]["blake3"],
        blake3_file(&out)
    );
}

#[test]
fn clean_dump_with_redact_to_is_plain_allow_and_writes_no_copy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.dmp");
    let r = gate(&[s(&sample("clean.dmp")), "--redact-to", s(&out)]);
    assert_eq!(r.code, 0);
    assert!(!out.exists());
}

#[test]
fn allowlisted_keys_are_suppressed_with_their_reason_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let dump = sample("test-keys.dmp");
    let mut text = String::from("version = 1\n");
    for fp in fingerprints(&dump) {
        text.push_str(&format!(
            "[[allow]]\nfingerprint = \"{fp}\"\nreason = \"DUMPGUARD TEST KEY of the sample dumps\"\n"
        ));
    }
    let policy = write_policy(dir.path(), "allow.toml", &text);
    let r = gate(&[s(&dump), "--policy", s(&policy)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(verdict(&r), "ALLOW");
    let findings = r.record["decision"]["findings"].as_array().unwrap();
    assert!(
        !findings.is_empty(),
        "suppressed findings must still be reported"
    );
    assert_eq!(
        r.record["findings"].as_array().unwrap().len(),
        findings.len()
    );
    for f in findings {
        assert_eq!(f["disposition"], "suppressed");
        assert_eq!(f["reason"], "DUMPGUARD TEST KEY of the sample dumps");
    }
    assert_eq!(
        r.record["decision"]["policy"]["digest"],
        format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
    );
    // The human rendering shows them as suppressed, with the reason.
    let h = common::cli(&[
        "gate",
        s(&dump),
        "--policy",
        s(&policy),
        "--format",
        "human",
    ]);
    let h = String::from_utf8_lossy(&h.stdout);
    assert!(h.contains("decision: ALLOW"), "{h}");
    assert!(h.contains("suppressed F1"), "{h}");
    assert!(h.contains("DUMPGUARD TEST KEY of the sample dumps"));
}

#[test]
fn policy_chooses_blocking_kinds_and_severities() {
    let dir = tempfile::tempdir().unwrap();
    let dump = sample("test-keys.dmp");
    let only_ec = write_policy(
        dir.path(),
        "ec.toml",
        "version = 1\n[block]\nseverities = []\nkinds = [\"ec-private-key\"]\n",
    );
    let r = gate(&[s(&dump), "--policy", s(&only_ec)]);
    assert_eq!(r.code, 1);
    for f in r.record["decision"]["findings"].as_array().unwrap() {
        let want = if f["kind"] == "ec-private-key" {
            "blocking"
        } else {
            "below-threshold"
        };
        assert_eq!(f["disposition"], want, "{f}");
    }
    let nothing = write_policy(
        dir.path(),
        "none.toml",
        "version = 1\n[block]\nseverities = [\"medium\"]\n",
    );
    let r = gate(&[s(&dump), "--policy", s(&nothing)]);
    assert_eq!(
        r.code, 0,
        "critical findings do not block a policy that blocks only medium"
    );
}

#[test]
fn a_bad_policy_is_an_error_and_is_still_audited() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_policy(
        dir.path(),
        "bad.toml",
        "version = 1\n[block]\nseverity = [\"low\"]\n",
    );
    let log = dir.path().join("audit.jsonl");
    let r = gate(&[
        s(&sample("clean.dmp")),
        "--policy",
        s(&bad),
        "--audit-log",
        s(&log),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("severity"), "{}", r.stderr);
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(line["event"]["kind"], "gate-error");
    assert_eq!(line["event"]["verdict"], "BLOCK");
    let missing = gate(&[
        s(&sample("clean.dmp")),
        "--policy",
        "/nonexistent/policy.toml",
    ]);
    assert_eq!(missing.code, 2);
}

// ---- fail closed -------------------------------------------------------------------------

fn assert_blocked_error(r: &Run, needle: &str) {
    assert_eq!(r.code, 2, "exit code; stderr: {}", r.stderr);
    assert_eq!(verdict(r), "BLOCK");
    assert_eq!(r.record["decision"]["exit_code"], 2);
    let why = reasons(r);
    assert!(why.contains(needle), "reasons lack '{needle}': {why}");
}

#[test]
fn unreadable_input_blocks() {
    let r = gate(&["/nonexistent/dump.dmp"]);
    assert_blocked_error(&r, "cannot read the dump");
    let dir = tempfile::tempdir().unwrap();
    let r = gate(&[s(dir.path())]);
    assert_blocked_error(&r, "not a regular file");
}

#[test]
fn truncated_minidump_blocks_as_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(sample("clean.dmp")).unwrap();
    let cut = dir.path().join("cut.dmp");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let r = gate(&[s(&cut)]);
    assert_blocked_error(&r, "incomplete scan");
    assert_eq!(r.record["decision"]["coverage"]["complete"], false);
}

#[test]
fn unknown_format_is_scanned_raw_with_a_warning_and_blocked_unless_the_policy_allows_raw() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let raw = dir.path().join("unknown.bin");
    std::fs::write(&raw, &data).unwrap();
    let r = gate(&[s(&raw)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(verdict(&r), "BLOCK");
    assert!(reasons(&r).contains("unknown container format"));
    assert_eq!(r.record["input"]["format"], "raw");
    assert_eq!(r.record["input"]["scanned_bytes"], data.len() as u64);
    assert!(r.record["input"]["warnings"][0]
        .as_str()
        .unwrap()
        .contains("raw"));
    assert_eq!(r.record["decision"]["coverage"]["format_recognised"], false);
    let allow_raw = write_policy(
        dir.path(),
        "raw.toml",
        "version = 1\n[input]\nallow_raw = true\n",
    );
    let r = gate(&[s(&raw), "--policy", s(&allow_raw)]);
    assert_eq!(r.code, 0, "explicitly allowed raw image");
}

/// A detector that panics on every chunk: the engine catches it and reports the scan
/// incomplete, and the gate must BLOCK.
struct Panicker;

impl Detector for Panicker {
    fn name(&self) -> &'static str {
        "test/panicker"
    }
    fn family(&self) -> Family {
        Family::Raw
    }
    fn describe(&self) -> &'static str {
        "panics on every chunk (test)"
    }
    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }
    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}
    fn scan_chunk(&self, _: &ScanContext<'_>, _: usize, _: usize, _: &mut Sink) {
        panic!("injected detector failure");
    }
}

#[test]
fn detector_panic_blocks() {
    let mut detectors = dumpguard::registry();
    detectors.push(Box::new(Panicker));
    let scanner = Scanner::new().with_engine(Engine::with_detectors(detectors));
    let gate = Gate::new(scanner, Policy::default_policy());
    let eval = gate.evaluate(&sample("clean.dmp"), None);
    let d = &eval.record.decision;
    assert_eq!(d.verdict, Verdict::Block);
    assert_eq!(d.exit_code, 2);
    assert!(
        d.reasons.iter().any(|r| r.contains("a detector failed")),
        "{:?}",
        d.reasons
    );
    // The workers hash what they scan: a chunk a panic cut short is still hashed whole, so
    // the record names the exact bytes it judged (one chunk here, several below).
    assert_eq!(
        eval.record.report.input.blake3,
        blake3_file(&sample("clean.dmp"))
    );
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.raw");
    let bytes: Vec<u8> = (0..(9 << 20) + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(&big, &bytes).unwrap();
    let eval = gate.evaluate(&big, None);
    assert!(
        eval.record
            .decision
            .reasons
            .iter()
            .any(|r| r.contains("a detector failed")),
        "{:?}",
        eval.record.decision.reasons
    );
    assert_eq!(eval.record.report.input.blake3, blake3_file(&big));
    // Without the panicking detector the same dump is allowed.
    let ok =
        Gate::new(Scanner::new(), Policy::default_policy()).evaluate(&sample("clean.dmp"), None);
    assert_eq!(ok.record.decision.verdict, Verdict::Allow);
}

#[test]
fn time_out_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(
        dir.path(),
        "t.toml",
        "version = 1\n[limits]\ntime_limit_seconds = 0\n",
    );
    let r = gate(&[s(&sample("clean.dmp")), "--policy", s(&p)]);
    assert_blocked_error(&r, "time limit reached");
    // Nothing was scanned, and the record still identifies every byte of the input.
    assert_eq!(
        r.record["input"]["blake3"],
        blake3_file(&sample("clean.dmp"))
    );
}

#[test]
fn size_limit_blocks_without_scanning() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(
        dir.path(),
        "s.toml",
        "version = 1\n[limits]\nmax_size_bytes = 1000\n",
    );
    let r = gate(&[s(&sample("clean.dmp")), "--policy", s(&p)]);
    assert_blocked_error(&r, "over the policy's size limit");
    assert_eq!(r.record["input"]["scanned_bytes"], 0);
}

#[test]
fn unwritable_report_blocks() {
    let r = gate(&[
        s(&sample("clean.dmp")),
        "--report",
        "/nonexistent/dir/r.json",
    ]);
    assert_blocked_error(&r, "cannot write the report");
}

#[test]
fn unwritable_audit_log_blocks_and_the_report_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let r = gate(&[
        s(&sample("clean.dmp")),
        "--report",
        s(&report),
        "--audit-log",
        "/nonexistent/dir/audit.jsonl",
    ]);
    assert_blocked_error(&r, "cannot append to the audit log");
    let written: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(
        written["decision"]["verdict"], "BLOCK",
        "report left saying ALLOW"
    );
}

#[test]
fn unwritable_redacted_copy_blocks() {
    let r = gate(&[
        s(&sample("test-keys.dmp")),
        "--redact-to",
        "/nonexistent/dir/out.dmp",
    ]);
    assert_blocked_error(&r, "cannot write the redacted copy");
}

#[test]
fn a_failed_audit_deletes_the_redacted_copy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.dmp");
    let r = gate(&[
        s(&sample("test-keys.dmp")),
        "--redact-to",
        s(&out),
        "--audit-log",
        "/nonexistent/dir/audit.jsonl",
    ]);
    assert_blocked_error(&r, "cannot append to the audit log");
    assert!(
        !out.exists(),
        "a copy without an ALLOW_REDACTED verdict was left"
    );
    assert!(!dumpguard::gate::attestation_path(&out).exists());
}

#[test]
fn outputs_naming_the_dump_itself_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("k.dmp");
    std::fs::copy(sample("test-keys.dmp"), &dump).unwrap();
    let before = sha256_file(&dump);
    let r = gate(&[s(&dump), "--redact-to", s(&dump)]);
    assert_blocked_error(&r, "names the dump itself");
    let r = gate(&[s(&dump), "--report", s(&dump)]);
    assert_blocked_error(&r, "names the dump itself");
    let r = gate(&[s(&dump), "--audit-log", s(&dump)]);
    assert_blocked_error(&r, "names the dump itself");
    assert_eq!(sha256_file(&dump), before);
}

#[test]
fn known_keys_are_loaded_and_a_bad_inventory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = common::fresh_keys().pop().unwrap();
    let mut child = std::process::Command::new("openssl")
        .args(["pkey", "-pubout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&key.pkcs8_pem)
        .unwrap();
    let public = child.wait_with_output().unwrap().stdout;
    let inv = dir.path().join("pub.pem");
    std::fs::write(&inv, &public).unwrap();
    let r = gate(&[s(&sample("clean.dmp")), "--known-keys", s(&inv)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, b"no keys here\n").unwrap();
    for bad in [empty.as_path(), Path::new("/nonexistent/keys.pem")] {
        let r = gate(&[s(&sample("clean.dmp")), "--known-keys", s(bad)]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("--known-keys"), "{}", r.stderr);
    }
}
