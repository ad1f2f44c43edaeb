//! `sweep --sarif FILE`: the sweep's findings as one SARIF 2.1.0 log, for the same
//! code-scanning dashboards `scan --format sarif` feeds.
//!
//! The sweep keeps its reports in the state database and reads them back as [`Record`]s
//! (the stored JSON line, read with the report's own types); this turns each dump that has findings back into a
//! [`Report`] so that one renderer (`report::sarif`) serves scan, gate and sweep, and the
//! rules, `security-severity` and `partialFingerprints` are identical across them. Only dumps
//! with findings are kept in memory, so a sweep of a clean share of thousands of dumps holds
//! nothing here.

use super::record::Record;
use crate::report::{Finding, InputInfo, Report, Tool};

/// The report of a stored record, with what SARIF needs (no key or token details: the
/// renderer reads kind, status, encoding, fingerprint, preview and location).
pub fn report_of(rec: &Record, rules_digest: &str) -> Report {
    let findings: Vec<Finding> = rec.findings.iter().map(finding_of).collect();
    let i = &rec.input;
    Report {
        schema: crate::report::SCHEMA.into(),
        tool: Tool::new(rules_digest),
        input: InputInfo {
            path: i.path.clone(),
            size: i.size,
            sha256: String::new(),
            blake3: String::new(),
            format: i.format.clone(),
            description: i.description.clone(),
            regions: 0,
            scanned_bytes: i.scanned_bytes,
            complete: i.complete,
            warnings: i.warnings.clone(),
        },
        summary: Report::summarize(&findings, 0, i.scanned_bytes),
        findings,
    }
}

/// The stored finding as the sweep's SARIF has always rendered it: without key and token
/// details, repeats or the content hash, so the log does not depend on them.
fn finding_of(f: &Finding) -> Finding {
    Finding {
        key: None,
        occurrences: 1,
        locations: Vec::new(),
        token: None,
        content_hash: None,
        material: None,
        ..f.clone()
    }
}
