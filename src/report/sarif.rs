//! SARIF 2.1.0 output (OASIS Static Analysis Results Interchange Format), for code-scanning
//! dashboards and security tooling that already read SARIF.
//!
//! One run per invocation; each scanned dump is an artifact (with its SHA-256), each finding a
//! result whose physical location is the artifact plus a *byte* region (`byteOffset`,
//! `byteLength`) — dumps have no lines — and, when known, the virtual address. Rules are the
//! distinct `detector/kind` pairs. In gate mode, allowlisted findings carry an accepted
//! external suppression with the policy's reason, and the decision goes into run properties.
//! Like every dumpguard output, nothing here holds secret bytes: messages are built from the
//! finding's kind, fingerprint and redacted preview.

use super::{Finding, Report, Severity};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The SARIF 2.1.0 schema URL every log names.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn rule_id(f: &Finding) -> String {
    format!("{}/{}", f.detector, f.kind)
}

/// Percent-encodes a file path into a URI reference (absolute paths become `file://` URIs).
pub fn path_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a gate decided about one report, as SARIF shows it. The gate's decision record (a
/// layer above this one) implements it, so the renderer serves `scan`, `gate` and `sweep`
/// without knowing the gate's types.
pub trait GateVerdict {
    /// The exit code the gate gave for this report.
    fn exit_code(&self) -> i32;
    /// The decision as the run's `properties.decisions[]` entry.
    fn run_properties(&self) -> Value;
    /// What the gate did with one finding (`blocking`, `below-threshold`, `suppressed` …) and
    /// why, by finding id; None for a finding the decision does not list.
    fn disposition(&self, finding_id: &str) -> Option<(&str, Option<&str>)>;
}

/// Renders reports (and, for the gate, their decisions, index-aligned) as one SARIF log.
pub fn render(reports: &[&Report], decisions: Option<&[&dyn GateVerdict]>) -> String {
    serde_json::to_string_pretty(&sarif(reports, decisions)).expect("SARIF serialises") + "\n"
}

/// The SARIF log of `reports` (and of the gate's decisions, when given), as a JSON value.
pub fn sarif(reports: &[&Report], decisions: Option<&[&dyn GateVerdict]>) -> Value {
    // Rules: distinct detector/kind, sorted, each with the highest severity seen.
    let mut rules: BTreeMap<String, &Finding> = BTreeMap::new();
    for f in reports.iter().flat_map(|r| &r.findings) {
        let e = rules.entry(rule_id(f)).or_insert(f);
        if f.severity > e.severity {
            *e = f;
        }
    }
    let rule_index: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|(id, f)| {
            let all_verified = reports
                .iter()
                .flat_map(|r| &r.findings)
                .filter(|x| rule_id(x) == *id)
                .all(|x| x.verified);
            rule(id, f, all_verified)
        })
        .collect();

    let mut artifacts = Vec::new();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    let mut all_complete = true;
    for (ai, r) in reports.iter().enumerate() {
        let uri = path_uri(&r.input.path);
        let mut artifact = json!({
            "location": { "uri": uri },
            "length": r.input.size,
            "properties": {
                "format": r.input.format,
                "complete": r.input.complete,
                "scannedBytes": r.input.scanned_bytes
            }
        });
        if !r.input.sha256.is_empty() {
            artifact["hashes"] = json!({ "sha-256": r.input.sha256 });
        } else if !r.input.blake3.is_empty() {
            // Not in the IANA registry SARIF recommends its names from, but the only hash
            // the scan computed (see `scan::InputHash`).
            artifact["hashes"] = json!({ "blake3": r.input.blake3 });
        }
        artifacts.push(artifact);
        all_complete &= r.input.complete;
        for w in &r.input.warnings {
            notifications.push(json!({
                "level": if r.input.complete { "warning" } else { "error" },
                "message": { "text": w },
                "locations": [ { "physicalLocation": { "artifactLocation": { "uri": uri, "index": ai } } } ]
            }));
        }
        let decision = decisions.and_then(|d| d.get(ai)).copied();
        for f in &r.findings {
            results.push(result(f, &uri, ai, &rule_index, decision));
        }
    }

    let mut invocation = json!({
        "executionSuccessful": all_complete,
        "toolExecutionNotifications": notifications,
    });
    let mut run = json!({
        "tool": { "driver": {
            "name": "dumpguard",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "rules": rules_json,
            "properties": {
                "rulesDigest": reports.first().map(|r| r.tool.rules_digest.clone()).unwrap_or_default()
            }
        } },
        "artifacts": artifacts,
        "results": results,
    });
    if let Some(ds) = decisions {
        if let Some(code) = ds.iter().map(|d| d.exit_code()).max() {
            invocation["exitCode"] = json!(code);
        }
        let list: Vec<Value> = ds.iter().map(|d| d.run_properties()).collect();
        run["properties"] = json!({ "decisions": list });
    }
    run["invocations"] = json!([invocation]);
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [run]
    })
}

/// GitHub code scanning's `security-severity` (a CVSS-like score as a string): over 9.0 shows
/// as critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}

/// How often a rule's results are true positives, in GitHub's words: a rule whose every
/// finding was proven mathematically is `very-high`; a well-formed private-key encoding that
/// could not be proven is `high`; pattern and entropy matches are `medium`.
fn precision(f: &Finding, all_verified: bool) -> &'static str {
    if all_verified {
        "very-high"
    } else if f.kind.as_str().ends_with("private-key") || f.key.is_some() {
        "high"
    } else {
        "medium"
    }
}

/// What a finding of this kind means and what to do: the rule's `fullDescription` and `help`,
/// read in the dashboard by someone who never saw the dump.
fn rule_texts(f: &Finding) -> (String, String, String) {
    let secret = if f.key.is_some() || f.kind.as_str().contains("key") {
        "key material"
    } else {
        "a credential"
    };
    let full = format!(
        "The `{}` detector found {secret} of kind `{}` in a crash dump or memory image. A \
         verified finding is mathematically proven (RSA p·q = n, EC d·G = Q, ...); an unverified \
         one is a well-formed encoding or a pattern match. The dump must not leave the isolated \
         network as it is.",
        f.detector, f.kind
    );
    let steps = [
        "Do not copy the dump out of the isolated network; use `dumpguard gate` (it can write a redacted copy).",
        "Match the finding's fingerprint to your key inventory: for a private key it is the SHA-256 of the DER public key, `openssl pkey -pubout -outform DER | sha256sum`.",
        "If the dump already left the network, treat the secret as compromised: revoke and rotate it.",
        "If the key is accepted (a test key), add its fingerprint to a baseline or the gate policy's allowlist with a reason.",
    ];
    let text = format!(
        "{full}\n{}",
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {}", i + 1, s.replace('`', "")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let markdown = format!(
        "## {}\n\n{full}\n\n### What to do\n\n{}",
        f.kind,
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    );
    (full, text, markdown)
}

/// One `reportingDescriptor`, carrying everything GitHub code scanning reads from a rule.
fn rule(id: &str, f: &Finding, all_verified: bool) -> Value {
    let (full, help_text, help_markdown) = rule_texts(f);
    json!({
        "id": id,
        "name": rule_name(id),
        "shortDescription": { "text": format!("{} found by the {} detector", f.kind, f.detector) },
        "fullDescription": { "text": full },
        "help": { "text": help_text, "markdown": help_markdown },
        "defaultConfiguration": { "level": level(f.severity) },
        "properties": {
            "tags": ["security", "secret", f.kind.clone()],
            "security-severity": security_severity(f.severity),
            "precision": precision(f, all_verified),
            "problem.severity": if level(f.severity) == "note" { "recommendation" } else { level(f.severity) }
        }
    })
}

/// A rule name in PascalCase (`der/ec-private-key` → `DerEcPrivateKey`), as SARIF suggests.
fn rule_name(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|h| h.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Stable identity of a result for dashboards that track alerts across runs: the same
/// secret at the same place in the same artifact path gives the same value whatever else
/// changed (timings, other findings, finding ids, which command wrote the log). A key found
/// twice in one dump is two results (two places to redact), so the position is part of it;
/// `keyFingerprint/v1` beside it groups results by key. Built from the rule, the artifact,
/// the public fingerprint and the position: nothing of the secret.
fn result_fingerprint(rule: &str, uri: &str, f: &Finding) -> String {
    use sha2::{Digest, Sha256};
    let fp = f.fingerprint.as_deref().unwrap_or("-");
    let h = Sha256::digest(format!("{rule}\0{uri}\0{fp}\0{}+{}", f.offset, f.length).as_bytes());
    hex::encode(&h[..16])
}

fn result(
    f: &Finding,
    uri: &str,
    artifact: usize,
    rule_index: &BTreeMap<&str, usize>,
    decision: Option<&dyn GateVerdict>,
) -> Value {
    let id = rule_id(f);
    let mut physical = json!({
        "artifactLocation": { "uri": uri, "index": artifact },
        "region": { "byteOffset": f.offset, "byteLength": f.length }
    });
    let mut props = Map::new();
    props.insert("findingId".into(), json!(f.id));
    props.insert("severity".into(), json!(f.severity));
    props.insert("verified".into(), json!(f.verified));
    props.insert("status".into(), json!(f.status));
    props.insert("verification".into(), json!(f.verification));
    props.insert("encoding".into(), json!(f.encoding));
    if let Some(k) = &f.known_key {
        props.insert("knownKey".into(), json!(k));
    }
    let mut logical = Vec::new();
    if let Some(l) = &f.location {
        if let Some(a) = l.address {
            props.insert("address".into(), json!(format!("{a:#x}")));
            if let Ok(a) = i64::try_from(a) {
                physical["address"] = json!({ "absoluteAddress": a });
            }
        }
        props.insert("region".into(), json!(l.region));
        if let Some(m) = &l.module {
            logical.push(json!({ "name": m, "kind": "module" }));
        }
        if let Some(t) = l.thread {
            props.insert("thread".into(), json!(t));
        }
    }
    let mut location = json!({ "physicalLocation": physical });
    if !logical.is_empty() {
        location["logicalLocations"] = json!(logical);
    }
    let what = match &f.fingerprint {
        Some(fp) => format!(
            "{} ({}, {}) with fingerprint {fp}",
            f.kind, f.status, f.encoding
        ),
        None => format!("{} ({}, {})", f.kind, f.status, f.encoding),
    };
    let mut res = json!({
        "ruleId": id,
        "ruleIndex": rule_index.get(id.as_str()).copied().unwrap_or(0),
        "level": level(f.severity),
        "message": { "text": format!("{what}: {}", f.preview) },
        "locations": [location],
    });
    let mut partial = Map::new();
    partial.insert(
        "dumpguardResult/v1".into(),
        json!(result_fingerprint(&id, uri, f)),
    );
    if let Some(fp) = &f.fingerprint {
        partial.insert("keyFingerprint/v1".into(), json!(fp));
    }
    res["partialFingerprints"] = Value::Object(partial);
    if let Some(sup) = &f.suppressed {
        res["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!("{}: {}", sup.by, sup.reason)
        }]);
    }
    if let Some((disposition, reason)) = decision.and_then(|d| d.disposition(&f.id)) {
        props.insert("disposition".into(), json!(disposition));
        if disposition == "suppressed" {
            res["suppressions"] = json!([{
                "kind": "external",
                "status": "accepted",
                "justification": reason.unwrap_or_default()
            }]);
        }
        // Under a policy, the level says what the gate did: blocking findings are errors,
        // findings below the threshold notes; suppressed ones keep their severity's level.
        match disposition {
            "blocking" => res["level"] = json!("error"),
            "below-threshold" => res["level"] = json!("note"),
            _ => {}
        }
    }
    res["properties"] = Value::Object(props);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(path_uri("/tmp/a b#c.dmp"), "file:///tmp/a%20b%23c.dmp");
        assert_eq!(path_uri("dumps/x.dmp"), "dumps/x.dmp");
        assert_eq!(path_uri("ü"), "%C3%BC");
    }
}
