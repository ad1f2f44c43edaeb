//! Reports: the `dumpguard.report/v1` document (docs/design.md) and its renderings.

pub mod baseline;
pub mod collection;
pub mod escape;
mod finding;
pub mod human;
mod kind;
pub mod sarif;

pub use finding::{
    key_severity, Finding, Occurrence, Severity, TokenInfo, UnknownSeverity, MAX_LOCATIONS,
};
pub use kind::{Kind, PrivateKeyKind, TokenKind};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `schema` of one dump's report.
pub const SCHEMA: &str = "dumpguard.report/v1";

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
/// Which dumpguard wrote a report, and with which rules: two reports compare only when these agree.
pub struct Tool {
    /// Always `dumpguard`.
    pub name: String,
    /// The crate version.
    pub version: String,
    /// Digest of the detector set and rule packs the scan ran.
    pub rules_digest: String,
}

impl Tool {
    /// This build of dumpguard, with the given rules digest.
    pub fn new(rules_digest: &str) -> Tool {
        Tool {
            name: "dumpguard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            rules_digest: rules_digest.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
/// The input a report describes.
pub struct InputInfo {
    /// The path as given (or the name passed to `scan_bytes`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the input (`--input-hash sha256`; for an archive, of the
    /// compressed file as stored). Absent when the input was hashed with BLAKE3.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// Lowercase hex BLAKE3 of the input (the default input hash, also of `sweep`; for an
    /// archive, of the compressed file as stored: `b3sum` verifies it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blake3: String,
    /// The container format (`minidump`, `elf-core`, `lime`, `raw`, an archive's).
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// What the parser read from the headers (OS, architecture, streams).
    pub description: Option<String>,
    /// Number of regions the parser described.
    pub regions: usize,
    /// Bytes the detectors looked at.
    pub scanned_bytes: u64,
    /// Whether every byte was scanned; an incomplete scan exits 2 and never ALLOWs.
    pub complete: bool,
    /// What the parser or the scan could not do (truncated streams, a time-out ...).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
/// Totals of a report.
pub struct Summary {
    /// Findings per severity (all four always present).
    pub by_severity: BTreeMap<String, u64>,
    /// Distinct keys by fingerprint: one key is often found many times.
    pub distinct_fingerprints: usize,
    /// Public keys and certificates seen (context for pairing, not findings).
    pub public_keys_seen: usize,
    /// Wall time of the scan.
    pub elapsed_ms: u64,
    /// Scan throughput.
    pub bytes_per_second: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
/// One dump's report (schema `dumpguard.report/v1`): what was scanned and what was found.
/// Serialises to the documented JSON and reads back from it byte for byte, so stored reports
/// (the sweep's state, baselines) are read with this same type.
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Which dumpguard wrote it.
    pub tool: Tool,
    /// The input scanned.
    pub input: InputInfo,
    /// What was found, in file order.
    pub findings: Vec<Finding>,
    /// Totals.
    pub summary: Summary,
}

impl Report {
    /// A report for an input that could not be scanned at all: no findings, incomplete, and
    /// `why` as its one warning. `format` says how far it got (`unknown`, `unscanned`). The
    /// gate's decision record and the sweep's failed entries both name such inputs this way.
    pub fn unscanned(path: &str, size: u64, format: &str, rules_digest: &str, why: &str) -> Report {
        Report {
            schema: SCHEMA.into(),
            tool: Tool::new(rules_digest),
            input: InputInfo {
                path: path.into(),
                size,
                sha256: String::new(),
                blake3: String::new(),
                format: format.into(),
                description: None,
                regions: 0,
                scanned_bytes: 0,
                complete: false,
                warnings: vec![why.into()],
            },
            findings: Vec::new(),
            summary: Report::summarize(&[], 0, 0),
        }
    }

    /// The summary of `findings` over `bytes` scanned in `elapsed_ms`.
    pub fn summarize(findings: &[Finding], elapsed_ms: u64, bytes: u64) -> Summary {
        let mut by_severity = BTreeMap::new();
        for s in ["critical", "high", "medium", "low"] {
            by_severity.insert(s.to_string(), 0);
        }
        for f in findings {
            *by_severity
                .entry(f.severity.as_str().to_string())
                .or_default() += 1;
        }
        let distinct: std::collections::BTreeSet<_> = findings
            .iter()
            .filter_map(|f| f.fingerprint.as_ref())
            .collect();
        Summary {
            by_severity,
            distinct_fingerprints: distinct.len(),
            public_keys_seen: 0,
            elapsed_ms,
            bytes_per_second: bytes
                .saturating_mul(1000)
                .checked_div(elapsed_ms)
                .unwrap_or(bytes.saturating_mul(1000)),
        }
    }

    /// The highest severity found, if any; findings a baseline suppressed do not count.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .map(|f| f.severity)
            .max()
    }

    /// The report as JSON, compact (JSON Lines) or pretty.
    pub fn to_json(&self, pretty: bool) -> String {
        if pretty {
            serde_json::to_string_pretty(self).expect("report serialises")
        } else {
            serde_json::to_string(self).expect("report serialises")
        }
    }
}
