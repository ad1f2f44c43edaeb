//! The sweep judges every dump with the gate's policy (`src/gate/policy.rs`), so a sweep of a
//! share and a gate run on one of its dumps agree on what BLOCKs: the same severities and
//! kinds block, the same allowlist suppresses, the same fail-closed rules (incomplete scan,
//! unrecognised format) apply — the verdict comes from the gate's own [`judge`].
//!
//! `--baseline FILE` is folded into the policy's allowlist exactly as `gate --baseline` does;
//! beyond that, like `scan --baseline`, every finding of a baselined key is marked suppressed
//! whatever its severity, with the baseline's reason.
//!
//! The policy and baseline are applied when a dump is scanned, and their digest is part of
//! every state row: changing either rescans the share on the next sweep, so every stored
//! report and verdict was made under the policy in force.

use crate::gate::decision::{judge, Verdict};
use crate::gate::policy::Policy as GatePolicy;
use crate::report::baseline::{Baseline, Suppression};
use crate::report::Report;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Most reasons kept per dump verdict (the gate's record spells out at most 50 too).
const MAX_REASONS: usize = 20;

/// The policy and baseline applied to every report before it is stored.
#[derive(Debug, Clone)]
pub struct Policy {
    gate: GatePolicy,
    /// `baseline FILE` and the baseline.
    baseline: Option<(String, Baseline)>,
}

/// What the policy made of one dump: the gate's verdict, why, and which findings block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DumpVerdict {
    /// `ALLOW` or `BLOCK` (as `dumpguard gate` would decide, without redaction).
    pub verdict: String,
    /// The gate's reasons (at most 20, then a count).
    pub reasons: Vec<String>,
    /// Ids of the findings that block under the policy.
    pub blocking: Vec<String>,
    /// How many findings the allowlist or the baseline suppressed.
    pub suppressed: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::builtin()
    }
}

impl Policy {
    /// The gate's built-in policy (`rules/policy.toml`), no baseline.
    pub fn builtin() -> Policy {
        Policy {
            gate: GatePolicy::default_policy(),
            baseline: None,
        }
    }

    /// `--policy FILE` (the gate's format; the built-in default when absent) and
    /// `--baseline FILE`.
    pub fn load(policy: Option<&Path>, baseline: Option<&Path>) -> Result<Policy, String> {
        let mut gate = match policy {
            Some(p) => GatePolicy::load(p)?,
            None => GatePolicy::default_policy(),
        };
        let baseline = match baseline {
            Some(p) => {
                let b = Baseline::load(p)?;
                let by = format!("baseline {}", p.display());
                b.fold_into(&mut gate, &by);
                Some((by, b))
            }
            None => None,
        };
        Ok(Policy { gate, baseline })
    }

    /// Identifies policy and baseline in the state database: a different digest rescans.
    pub fn digest(&self) -> String {
        self.gate.digest.clone()
    }

    /// Where the policy came from (`built-in default`, a path, `+ baseline FILE`).
    pub fn source(&self) -> &str {
        &self.gate.source
    }

    /// Marks suppressed findings (baseline, allowlist) and judges the dump.
    pub fn apply(&self, report: &mut Report) -> DumpVerdict {
        if let Some((by, b)) = &self.baseline {
            b.apply(by, report);
        }
        let j = judge(report, &self.gate);
        let by_policy = format!("policy {}", self.gate.source);
        let mut blocking = Vec::new();
        for (f, d) in report.findings.iter_mut().zip(&j.findings) {
            match d.disposition.as_str() {
                "blocking" => blocking.push(f.id.clone()),
                "suppressed" if f.suppressed.is_none() => {
                    f.suppressed = Some(Suppression {
                        by: by_policy.clone(),
                        reason: d.reason.clone().unwrap_or_default(),
                    })
                }
                _ => {}
            }
        }
        let mut reasons = j.reasons;
        if reasons.len() > MAX_REASONS {
            let more = reasons.len() - MAX_REASONS;
            reasons.truncate(MAX_REASONS);
            reasons.push(format!("... and {more} more"));
        }
        DumpVerdict {
            verdict: match j.verdict {
                Verdict::Allow => "ALLOW",
                _ => "BLOCK",
            }
            .into(),
            reasons,
            blocking,
            suppressed: report
                .findings
                .iter()
                .filter(|f| f.suppressed.is_some())
                .count() as u64,
        }
    }
}
