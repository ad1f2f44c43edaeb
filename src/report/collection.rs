//! The `dumpguard.scan/v1` document: what `scan --format json` prints when the command line
//! names several inputs or a directory.
//!
//! Why a separate document: a pipeline must be able to parse the output without knowing how
//! many files a directory happened to hold. The shape is therefore chosen by the command line,
//! never by the data: one file argument (or `-`) prints one `dumpguard.report/v1`; anything
//! that *can* expand to several inputs (a directory, several arguments) prints this object,
//! even when it expands to one input or none.

use super::{Report, Severity, Tool};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The `schema` of a `scan --format json` document over several inputs.
pub const SCAN_SCHEMA: &str = "dumpguard.scan/v1";

/// An input that could not be scanned at all (unreadable, vanished, over a size limit).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InputError {
    /// The input as named on the command line.
    pub path: String,
    /// Why it could not be scanned.
    pub error: String,
}

/// Totals over every input of one invocation: the human closing line and the `summary` of
/// the collection document.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Totals {
    /// Inputs attempted: scanned (complete or not) plus failed.
    pub inputs: usize,
    /// Reports whose scan was complete.
    pub complete: usize,
    /// Reports whose scan was not complete (truncated input, time-out ...).
    pub incomplete: usize,
    /// Inputs that could not be scanned at all (see `errors`).
    pub failed: usize,
    /// Findings by severity, summed over the reports (all four severities always present).
    pub by_severity: BTreeMap<String, u64>,
    /// Distinct fingerprints over all inputs: the same key in ten dumps counts once.
    pub distinct_keys: usize,
}

impl Totals {
    /// The totals over `reports`, with `failed` inputs that gave no report.
    pub fn of(reports: &[Report], failed: usize) -> Totals {
        let mut by_severity: BTreeMap<String, u64> = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
        ]
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
        let mut keys = BTreeSet::new();
        for f in reports.iter().flat_map(|r| &r.findings) {
            *by_severity
                .entry(f.severity.as_str().to_string())
                .or_default() += 1;
            if let Some(fp) = &f.fingerprint {
                keys.insert(fp.as_str());
            }
        }
        let complete = reports.iter().filter(|r| r.input.complete).count();
        Totals {
            inputs: reports.len() + failed,
            complete,
            incomplete: reports.len() - complete,
            failed,
            by_severity,
            distinct_keys: keys.len(),
        }
    }

    /// One line for the end of a human scan of several inputs.
    pub fn line(&self) -> String {
        let n = |s: &str| self.by_severity.get(s).copied().unwrap_or(0);
        format!(
            "total: {} input{} ({} complete, {} incomplete, {} failed); findings: {} critical, {} high, {} medium, {} low; {} distinct key{}",
            self.inputs,
            if self.inputs == 1 { "" } else { "s" },
            self.complete,
            self.incomplete,
            self.failed,
            n("critical"),
            n("high"),
            n("medium"),
            n("low"),
            self.distinct_keys,
            if self.distinct_keys == 1 { "" } else { "s" },
        )
    }
}

/// Several reports as one JSON document.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScanCollection<'a> {
    /// Always [`SCAN_SCHEMA`].
    pub schema: &'static str,
    /// The tool that wrote the document.
    pub tool: Tool,
    /// One report per input scanned.
    pub reports: &'a [Report],
    /// Inputs that could not be scanned.
    pub errors: &'a [InputError],
    /// Totals over all inputs.
    pub summary: Totals,
}

impl<'a> ScanCollection<'a> {
    /// `rules_digest` names the rule set used (the same for every report of one invocation).
    pub fn new(rules_digest: &str, reports: &'a [Report], errors: &'a [InputError]) -> Self {
        ScanCollection {
            schema: SCAN_SCHEMA,
            tool: Tool::new(rules_digest),
            reports,
            errors,
            summary: Totals::of(reports, errors.len()),
        }
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("collection serialises")
    }
}
