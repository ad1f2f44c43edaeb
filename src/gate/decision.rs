//! The decision record: the scan report (schema `dumpguard.report/v1`) plus a `decision`
//! object saying ALLOW / BLOCK / ALLOW_REDACTED, why, under which policy, and what the policy
//! made of every finding. It holds fingerprints, sizes and offsets — never secret bytes.
//!
//! [`judge`] is the whole verdict logic in one pure function, so every fail-closed rule is in
//! one place: a dump is ALLOWed only when its scan was complete, its format was recognised
//! (or the policy accepts raw images) and no finding blocks.

use super::policy::{Disposition, Policy};
use super::redact::Attestation;
use crate::report::{InputInfo, Report, Severity, Tool};
use serde::Serialize;

/// Exit codes (DESIGN.md): 0 ALLOW · 1 BLOCK · 2 error or incomplete scan (a BLOCK) ·
/// 3 ALLOW only the redacted copy that was written.
pub const EXIT_ALLOW: i32 = 0;
pub const EXIT_BLOCK: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
pub const EXIT_ALLOW_REDACTED: i32 = 3;

/// At most this many per-finding reasons are spelled out; the rest are counted. A hostile dump
/// can hold a million copies of one key, and the record must stay readable and bounded.
const MAX_REASONS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Verdict {
    #[serde(rename = "ALLOW")]
    Allow,
    #[serde(rename = "BLOCK")]
    Block,
    #[serde(rename = "ALLOW_REDACTED")]
    AllowRedacted,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "ALLOW",
            Verdict::Block => "BLOCK",
            Verdict::AllowRedacted => "ALLOW_REDACTED",
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PolicyRef {
    pub source: String,
    pub digest: String,
}

/// How much of the dump was looked at.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Coverage {
    pub size: u64,
    pub scanned_bytes: u64,
    pub complete: bool,
    pub format: String,
    /// False when no container format was recognised and the file was scanned as raw bytes.
    pub format_recognised: bool,
}

/// What the policy made of one finding.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FindingDecision {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub kind: String,
    pub severity: Severity,
    pub offset: u64,
    pub length: u64,
    /// `blocking`, `suppressed` (allowlisted) or `below-threshold`.
    pub disposition: String,
    /// For suppressed findings: the allowlist entry's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Decision {
    pub verdict: Verdict,
    pub exit_code: i32,
    pub reasons: Vec<String>,
    pub policy: PolicyRef,
    pub coverage: Coverage,
    pub findings: Vec<FindingDecision>,
    /// Set when a redacted copy was attempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redaction: Option<Attestation>,
    /// RFC 3339, UTC.
    pub decided_at: String,
    pub elapsed_ms: u64,
}

impl crate::report::sarif::GateVerdict for Decision {
    fn exit_code(&self) -> i32 {
        self.exit_code
    }

    fn run_properties(&self) -> serde_json::Value {
        serde_json::json!({
            "verdict": self.verdict,
            "exitCode": self.exit_code,
            "reasons": self.reasons,
            "policy": self.policy,
            "coverage": self.coverage,
            "decidedAt": self.decided_at,
        })
    }

    fn disposition(&self, finding_id: &str) -> Option<(&str, Option<&str>)> {
        self.findings
            .iter()
            .find(|x| x.id == finding_id)
            .map(|d| (d.disposition.as_str(), d.reason.as_deref()))
    }
}

/// The full record: the report fields at top level (schema v1) and `decision`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DecisionRecord {
    #[serde(flatten)]
    pub report: Report,
    pub decision: Decision,
}

impl DecisionRecord {
    pub fn to_json(&self, pretty: bool) -> String {
        if pretty {
            serde_json::to_string_pretty(self).expect("record serialises")
        } else {
            serde_json::to_string(self).expect("record serialises")
        }
    }

    /// Turns the verdict into a BLOCK because something failed (an output could not be
    /// written, the redacted copy did not verify ...). An error always wins: exit 2.
    pub fn fail(&mut self, reason: impl Into<String>) {
        self.decision.verdict = Verdict::Block;
        self.decision.exit_code = EXIT_ERROR;
        self.decision.reasons.push(reason.into());
    }
}

/// The policy's verdict on a scan report, before any redaction.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub verdict: Verdict,
    pub exit_code: i32,
    pub reasons: Vec<String>,
    pub findings: Vec<FindingDecision>,
    /// True when findings are the *only* reason to block: a redacted copy could be allowed.
    pub redactable: bool,
}

/// Applies the policy to a report. Fail closed: incomplete → BLOCK (exit 2); raw format not
/// accepted → BLOCK; any blocking finding → BLOCK; otherwise ALLOW.
pub fn judge(report: &Report, policy: &Policy) -> Judgement {
    let mut reasons = Vec::new();
    let mut error = false;
    let mut other_block = false;
    if !report.input.complete {
        error = true;
        reasons.push(format!(
            "incomplete scan ({} of {} bytes scanned): an incomplete scan never allows",
            report.input.scanned_bytes, report.input.size
        ));
        for w in report.input.warnings.iter().take(MAX_REASONS) {
            reasons.push(format!("input: {w}"));
        }
    }
    if report.input.scanned_bytes < report.input.size && report.input.complete {
        // Defence in depth: the engine marks a partial scan incomplete, but never trust it.
        error = true;
        reasons.push(format!(
            "only {} of {} bytes were scanned",
            report.input.scanned_bytes, report.input.size
        ));
    }
    if report.input.format == "raw" && !policy.allow_raw {
        other_block = true;
        reasons.push(
            "unknown container format: the file was scanned as raw bytes, and the policy \
             does not allow raw images ([input] allow_raw = false)"
                .into(),
        );
    }
    let mut findings = Vec::with_capacity(report.findings.len());
    let mut blocking = 0usize;
    for f in &report.findings {
        let d = policy.classify(f);
        if d == Disposition::Blocking {
            blocking += 1;
            if blocking <= MAX_REASONS {
                reasons.push(finding_reason(f));
            }
        }
        findings.push(FindingDecision {
            id: f.id.clone(),
            fingerprint: f.fingerprint.clone(),
            kind: f.kind.clone(),
            severity: f.severity,
            offset: f.offset,
            length: f.length,
            disposition: d.as_str().into(),
            reason: match d {
                Disposition::Suppressed(r) => Some(r),
                _ => None,
            },
        });
    }
    if blocking > MAX_REASONS {
        reasons.push(format!(
            "... and {} more blocking findings",
            blocking - MAX_REASONS
        ));
    }
    let (verdict, exit_code) = if error {
        (Verdict::Block, EXIT_ERROR)
    } else if other_block || blocking > 0 {
        (Verdict::Block, EXIT_BLOCK)
    } else {
        reasons.push(format!(
            "scan complete ({} bytes, {}); nothing blocks under the policy",
            report.input.size, report.input.format
        ));
        (Verdict::Allow, EXIT_ALLOW)
    };
    Judgement {
        verdict,
        exit_code,
        reasons,
        findings,
        redactable: !error && !other_block && blocking > 0,
    }
}

fn finding_reason(f: &crate::report::Finding) -> String {
    format!(
        "{} {} {} ({}, {}) at file offset {:#x}, {} bytes{}",
        f.id,
        f.severity.as_str(),
        f.kind,
        f.status,
        f.encoding,
        f.offset,
        f.length,
        f.fingerprint
            .as_deref()
            .map(|fp| format!(", {fp}"))
            .unwrap_or_default()
    )
}

/// A report for an input that could not be scanned at all (unreadable, over the size limit):
/// the decision record still names the input and says why.
pub fn unscanned_report(path: &str, size: u64, rules_digest: &str, why: &str) -> Report {
    Report {
        schema: crate::report::SCHEMA.into(),
        tool: Tool::new(rules_digest),
        input: InputInfo {
            path: path.into(),
            size,
            sha256: String::new(),
            blake3: String::new(),
            format: "unknown".into(),
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

/// Now, RFC 3339 UTC (`2024-05-01T12:00:00.123456Z`).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}
