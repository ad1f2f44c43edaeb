//! `sweep --sarif FILE`: the sweep's findings as one SARIF 2.1.0 log, for the same
//! code-scanning dashboards `scan --format sarif` feeds.
//!
//! The sweep keeps its reports in the state database and reads them back as [`Record`]s
//! (a view of the stored JSON line); this turns each dump that has findings back into a
//! [`Report`] so that one renderer (`report::sarif`) serves scan, gate and sweep, and the
//! rules, `security-severity` and `partialFingerprints` are identical across them. Only dumps
//! with findings are kept in memory, so a sweep of a clean share of thousands of dumps holds
//! nothing here.

use super::record::{FindingView, Record};
use crate::input::Location;
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

fn finding_of(f: &FindingView) -> Finding {
    Finding {
        material: None,
        id: f.id.clone(),
        detector: f.detector.clone(),
        kind: f.kind.clone(),
        severity: f.severity,
        verified: f.verified,
        status: f.status.clone(),
        verification: f.verification.clone(),
        fingerprint: f.fingerprint.clone(),
        encoding: f.encoding.clone(),
        offset: f.offset,
        length: f.length,
        location: f.location.as_ref().map(|l| Location {
            address: l
                .address
                .as_deref()
                .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok()),
            region: l.region.clone(),
            module: l.module.clone(),
            thread: l.thread,
            member: l.member.clone(),
        }),
        key: None,
        preview: f.preview.clone(),
        occurrences: 1,
        locations: Vec::new(),
        token: None,
        known_key: f.known_key.clone(),
        content_hash: None,
        // Baselined or allowlisted: an accepted suppression in the log, as from `scan`.
        suppressed: f
            .suppressed
            .as_ref()
            .map(|x| crate::report::baseline::Suppression {
                by: x.by.clone(),
                reason: x.reason.clone(),
            }),
    }
}
