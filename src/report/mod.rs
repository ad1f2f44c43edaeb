//! Reports: the `dumpguard.report/v1` document (DESIGN.md) and its renderings.

pub mod baseline;
pub mod collection;
pub mod escape;
mod finding;
pub mod human;
pub mod sarif;

pub use finding::{key_severity, Finding, Occurrence, Severity, TokenInfo, MAX_LOCATIONS};

use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "dumpguard.report/v1";

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
    pub rules_digest: String,
}

impl Tool {
    pub fn new(rules_digest: &str) -> Tool {
        Tool {
            name: "dumpguard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            rules_digest: rules_digest.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InputInfo {
    pub path: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the input (`--input-hash sha256`, and archives: the
    /// compressed file as stored). Absent when the input was hashed with BLAKE3.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// Lowercase hex BLAKE3 of the input (the default input hash: `b3sum` verifies it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blake3: String,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Number of regions the parser described.
    pub regions: usize,
    pub scanned_bytes: u64,
    pub complete: bool,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub by_severity: BTreeMap<String, u64>,
    /// Distinct keys by fingerprint: one key is often found many times.
    pub distinct_fingerprints: usize,
    /// Public keys and certificates seen (context for pairing, not findings).
    pub public_keys_seen: usize,
    pub elapsed_ms: u64,
    pub bytes_per_second: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub input: InputInfo,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl Report {
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

    pub fn to_json(&self, pretty: bool) -> String {
        if pretty {
            serde_json::to_string_pretty(self).expect("report serialises")
        } else {
            serde_json::to_string(self).expect("report serialises")
        }
    }
}
