//! Issue 6, the rule pack from the command line: `dumpguard rules check` passes on the
//! built-in pack (CI runs this test) and fails on a rule whose examples do not behave;
//! `rules list` shows every rule; `scan --rules` adds dumpguard and gitleaks-format packs;
//! the report's rules digest covers the pack.

use crate::common;

use std::path::PathBuf;

fn write(name: &str, text: &str) -> PathBuf {
    let p = common::scratch().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn builtin_pack_passes_rules_check() {
    let o = common::cli(&["rules", "check"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
    // Every built-in rule is listed as ok, with at least two examples each way.
    let specs = dumpguard::builtin_rule_specs();
    assert!(specs.len() >= 25);
    for s in &specs {
        assert!(
            out.lines()
                .any(|l| l.starts_with("ok") && l.split_whitespace().nth(1) == Some(&s.id)),
            "{} not ok:\n{out}",
            s.id
        );
    }
}

#[test]
fn library_check_enforces_example_counts() {
    let set = dumpguard::RuleSet::builtin(true);
    for r in dumpguard::check_rules(&set) {
        assert!(r.passed(), "{}: {:?}", r.id, r.failures);
        assert!(r.positives >= 2 && r.negatives >= 2, "{}", r.id);
    }
}

#[test]
fn rules_check_fails_on_a_rule_that_misbehaves() {
    let f = write(
        "bad-rules.toml",
        r#"
[[rule]]
id = "acme-token"
name = "Acme token"
kind = "acme-token"
severity = "high"
pattern = '''acme_(?P<secret>[a-z0-9]{32})'''
keywords = ["acme_"]
examples = ["acme_0123456789abcdef0123456789abcdef", "acme_short"]
negative_examples = ["acme_ffffffffffffffffffffffffffffffff", "nothing here"]
"#,
    );
    let o = common::cli(&["rules", "check", "--rules", f.to_str().unwrap()]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL acme-token"), "{out}");
    assert!(
        out.contains("example not found (ASCII): \"acme_short\""),
        "{out}"
    );
    assert!(out.contains("negative example matched"), "{out}");
}

#[test]
fn rules_list_shows_validators_and_noisy_rules() {
    let o = common::cli(&["rules", "list"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(out.contains("jwt") && out.contains("crc32-base62"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("generic-secret-assignment") && l.contains(" yes ")),
        "{out}"
    );
}

#[test]
fn scan_with_a_gitleaks_pack_and_a_dumpguard_pack() {
    let gl = write(
        "org-gitleaks.toml",
        r#"
title = "org pack"
[[rules]]
id = "acme-api-key"
description = "Acme API key"
regex = '''\b(acmk_[a-z0-9]{32})\b'''
entropy = 3.0
keywords = ["acmk_"]
[[rules.allowlists]]
stopwords = ["deadbeef"]
"#,
    );
    let dg = write(
        "org-dumpguard.toml",
        r#"
[[rule]]
id = "widget-secret"
name = "Widget secret"
kind = "widget-secret"
severity = "medium"
pattern = '''WIDGET_SECRET=(?P<secret>[A-Za-z0-9]{24})'''
keywords = ["WIDGET_SECRET="]
"#,
    );
    // Test values.
    let acme = "acmk_q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3";
    let allowed = "acmk_deadbeefdeadbeefdeadbeefdeadbeef";
    let widget = "TESTwidget0123456789abcd";
    let mut dump = vec![0u8; 64];
    dump.extend(format!("key={acme}\n").bytes());
    dump.extend(common::utf16le(
        format!("WIDGET_SECRET={widget};").as_bytes(),
    ));
    dump.extend(format!(" {allowed} ").bytes());
    dump.extend([0u8; 64]);
    let d = write("org-dump.bin", "");
    std::fs::write(&d, &dump).unwrap();
    let o = common::cli(&[
        "scan",
        "--format",
        "json",
        "--rules",
        gl.to_str().unwrap(),
        "--rules",
        dg.to_str().unwrap(),
        d.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = r["findings"].as_array().unwrap();
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["token"]["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["acme-api-key", "widget-secret"], "{out}");
    assert_eq!(findings[1]["encoding"], "utf16le");
    common::assert_no_secret(out.as_bytes(), acme.as_bytes());
    common::assert_no_secret(out.as_bytes(), widget.as_bytes());
    // The digest differs from a scan without the extra packs.
    let plain = common::cli(&["scan", "--format", "json", d.to_str().unwrap()]);
    let p: serde_json::Value = serde_json::from_str(&stdout(&plain)).unwrap();
    assert_ne!(p["tool"]["rules_digest"], r["tool"]["rules_digest"]);
    assert_eq!(p["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn include_noisy_enables_the_generic_rule() {
    let d = common::scratch().join("noisy.bin");
    // A test value.
    std::fs::write(
        &d,
        b"\0client_secret = \"/aDf5c_dUjU2vdAv/256pclb8DqQLMTEST\"\0",
    )
    .unwrap();
    let path = d.to_str().unwrap();
    let off = common::cli(&["scan", "--format", "json", path]);
    let on = common::cli(&["scan", "--format", "json", "--include-noisy", path]);
    let n = |o: &std::process::Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["findings"].as_array().unwrap().len()
    };
    assert_eq!(n(&off), 0);
    assert_eq!(n(&on), 1);
    // Low severity: below the default --fail-on high.
    assert_eq!(on.status.code(), Some(0));
}

#[test]
fn a_broken_rule_file_is_a_usage_error() {
    let f = write("broken.toml", "[[rule]]\nid = \"x\"\n");
    let o = common::cli(&["scan", "--rules", f.to_str().unwrap(), "/dev/null"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broken.toml"));
}
