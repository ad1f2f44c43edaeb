//! Issue 5, SARIF 2.1.0: `scan --format sarif` and `gate --format sarif` validate against the
//! official OASIS schema (vendored in tests/data with its notice; validated by python
//! `jsonschema`), and each result locates its finding by byte offset and length.

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-dumps")
        .join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Validates `doc` against the SARIF 2.1.0 schema; returns the validator's error list.
fn schema_errors(doc: &[u8]) -> Vec<String> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let src = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(sys.stdin)
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("/".join(map(str, e.path)) + ": " + e.message)
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(src)
        .arg(&schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(doc).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "schema validation did not run (pip install jsonschema): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_validator_rejects_an_invalid_log() {
    // The check can fail: a result without a message, a bad level, a negative offset.
    let bad = br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},
        "results":[{"ruleId":"r","level":"fatal","locations":[{"physicalLocation":
        {"artifactLocation":{"uri":"a"},"region":{"byteOffset":-5}}}]}]}]}"#;
    let errors = schema_errors(bad);
    assert!(errors.len() >= 3, "{errors:?}");
}

#[test]
fn scan_sarif_is_valid_and_locates_findings_by_byte_offset() {
    let dumps = [
        sample("clean.dmp"),
        sample("test-keys.dmp"),
        sample("test-keys.core"),
    ];
    let mut args = vec!["scan", "--format", "sarif"];
    args.extend(dumps.iter().map(|p| s(p)));
    let out = common::cli(&args);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(schema_errors(&out.stdout), Vec::<String>::new());
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["artifacts"].as_array().unwrap().len(), 3);
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    // Each result matches a finding of the JSON report: same offset and length.
    let results = run["results"].as_array().unwrap();
    let mut expected = Vec::new();
    for (i, d) in dumps.iter().enumerate() {
        for f in common::scan(d).findings {
            expected.push((
                i as u64,
                f.offset,
                f.length,
                f.fingerprint.unwrap_or_default(),
            ));
        }
    }
    let mut got: Vec<(u64, u64, u64, String)> = results
        .iter()
        .map(|r| {
            let pl = &r["locations"][0]["physicalLocation"];
            assert_eq!(r["level"], "error");
            (
                pl["artifactLocation"]["index"].as_u64().unwrap(),
                pl["region"]["byteOffset"].as_u64().unwrap(),
                pl["region"]["byteLength"].as_u64().unwrap(),
                r["partialFingerprints"]["keyFingerprint/v1"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    got.sort();
    expected.sort();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    // Rules are referenced by index.
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        assert_eq!(
            rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
            r["ruleId"]
        );
    }
}

#[test]
fn gate_sarif_is_valid_and_carries_the_decision_and_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    let dump = sample("test-keys.dmp");
    let fps: Vec<String> = common::scan(&dump)
        .findings
        .iter()
        .filter_map(|f| f.fingerprint.clone())
        .collect();
    // Allowlist one of the two keys: its results are suppressed, the other's block.
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[[allow]]\nfingerprint = \"{}\"\nreason = \"sample test key\"\n",
            fps[0]
        ),
    )
    .unwrap();
    let report = dir.path().join("gate.sarif");
    let out = common::cli(&[
        "gate",
        s(&dump),
        "--policy",
        s(&policy),
        "--format",
        "sarif",
        "--report",
        s(&report),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read(&report).unwrap(),
        out.stdout,
        "printed and written differ"
    );
    assert_eq!(schema_errors(&out.stdout), Vec::<String>::new());
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(run["properties"]["decisions"][0]["verdict"], "BLOCK");
    assert_eq!(run["invocations"][0]["exitCode"], 1);
    let results = run["results"].as_array().unwrap();
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert!(!suppressed.is_empty());
    for r in &suppressed {
        assert_eq!(
            r["partialFingerprints"]["keyFingerprint/v1"],
            fps[0].as_str()
        );
        assert_eq!(r["suppressions"][0]["justification"], "sample test key");
        assert_eq!(r["properties"]["disposition"], "suppressed");
    }
    assert!(results
        .iter()
        .any(|r| r["properties"]["disposition"] == "blocking"));
    // An input that could not be read is still a valid log, with an error notification.
    let out = common::cli(&["gate", "/nonexistent.dmp", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(schema_errors(&out.stdout), Vec::<String>::new());
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
}

/// What GitHub code scanning reads from a SARIF upload ("SARIF support for code scanning"):
/// rules with shortDescription, fullDescription, help (text and markdown), a numeric
/// `security-severity` string in 0–10, a `precision`, the `security` tag; results with a
/// known ruleId, a message, at least one location with an artifact URI, and
/// `partialFingerprints`; at most 25,000 results and rules per run. Returns the fingerprints.
fn assert_github_ready(sarif: &Value) -> Vec<String> {
    let run = &sarif["runs"][0];
    assert_eq!(sarif["runs"].as_array().unwrap().len(), 1);
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert!(!rules.is_empty() && rules.len() <= 25_000);
    assert!(!results.is_empty() && results.len() <= 25_000);
    for r in rules {
        let id = r["id"].as_str().unwrap();
        for path in [
            "/shortDescription/text",
            "/fullDescription/text",
            "/help/text",
            "/help/markdown",
        ] {
            let t = r.pointer(path).and_then(Value::as_str).unwrap_or("");
            assert!(!t.trim().is_empty(), "rule {id}: {path} missing");
        }
        assert!(r["shortDescription"]["text"].as_str().unwrap().len() <= 1024);
        let sev = r["properties"]["security-severity"]
            .as_str()
            .unwrap_or_else(|| panic!("rule {id}: security-severity must be a string"));
        let sev: f64 = sev.parse().unwrap();
        assert!((0.1..=10.0).contains(&sev), "rule {id}: {sev}");
        let precision = r["properties"]["precision"].as_str().unwrap();
        assert!(
            ["very-high", "high", "medium", "low"].contains(&precision),
            "{precision}"
        );
        assert!(r["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("security")));
    }
    let mut fps = Vec::new();
    for res in results {
        let rule = rules
            .iter()
            .find(|r| r["id"] == res["ruleId"])
            .expect("result's rule is declared");
        assert!(!res["message"]["text"].as_str().unwrap().is_empty());
        let locs = res["locations"].as_array().unwrap();
        assert!(!locs.is_empty() && locs.len() <= 10);
        assert!(locs[0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
        let pf = res["partialFingerprints"]
            .as_object()
            .expect("partialFingerprints");
        let own = pf["dumpguardResult/v1"].as_str().unwrap();
        assert_eq!(own.len(), 32);
        // A verified key's rule is proven, so its precision says so.
        if res["properties"]["verified"] == true
            && results
                .iter()
                .filter(|x| x["ruleId"] == res["ruleId"])
                .all(|x| x["properties"]["verified"] == true)
        {
            assert_eq!(rule["properties"]["precision"], "very-high");
        }
        fps.push(format!("{}:{own}", res["ruleId"].as_str().unwrap()));
    }
    fps.sort();
    fps
}

/// `scan --format sarif` and `sweep --sarif` produce logs GitHub accepts, valid against the
/// 2.1.0 schema, with result fingerprints that are stable: the same across two scans and the
/// same between a scan and a sweep of the same files, and distinct within a run.
#[test]
fn sarif_meets_github_requirements_and_fingerprints_are_stable() {
    let dir = common::scratch().join("sarif-gh");
    std::fs::create_dir_all(&dir).unwrap();
    for n in ["clean.dmp", "test-keys.dmp", "test-keys.core"] {
        std::fs::copy(sample(n), dir.join(n)).unwrap();
    }
    let dir = std::fs::canonicalize(&dir).unwrap();
    let scan = || common::cli(&["scan", "--format", "sarif", s(&dir)]);
    let first = scan();
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(schema_errors(&first.stdout), Vec::<String>::new());
    let a = assert_github_ready(&serde_json::from_slice(&first.stdout).unwrap());
    let b = assert_github_ready(&serde_json::from_slice(&scan().stdout).unwrap());
    assert_eq!(a, b, "fingerprints changed between identical scans");
    let mut dedup = a.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), a.len(), "two results share a fingerprint");

    let out = common::scratch().join("sweep.sarif");
    let sweep = common::cli(&["sweep", s(&dir), "-q", "--sarif", s(&out)]);
    assert_eq!(sweep.status.code(), Some(1), "{sweep:?}");
    let doc = std::fs::read(&out).unwrap();
    assert_eq!(schema_errors(&doc), Vec::<String>::new());
    let c = assert_github_ready(&serde_json::from_slice(&doc).unwrap());
    assert_eq!(
        a, c,
        "sweep and scan fingerprint the same findings differently"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
