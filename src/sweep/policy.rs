//! The sweep judges every dump with the gate's policy (`src/gate/policy.rs`), so a sweep of a
//! share and a gate run on one of its dumps agree on what BLOCKs: the same severities and
//! kinds block, the same allowlist suppresses, the same fail-closed rules (incomplete scan,
//! unrecognised format) apply — the verdict comes from the gate's own [`judge`].
//!
//! `--baseline FILE` is folded into the policy's allowlist exactly as `gate --baseline` does;
//! beyond that, like `scan --baseline`, every finding of a baselined key is marked suppressed
//! whatever its severity, with the baseline's reason.
//!
//! The policy's `[limits]`: a dump over `max_size_bytes` BLOCKs as in the gate (the sweep still
//! scans it and reports its findings); the time limit is the sweep's own `--time-limit`, and a
//! scan it cuts short is incomplete, which BLOCKs.
//!
//! The policy and baseline are applied when a dump is scanned, and their digest is part of
//! every state row: changing either rescans the share on the next sweep, so every stored
//! report and verdict was made under the policy in force.

#[cfg(feature = "sweep")]
use super::error::SweepError;
use crate::gate::decision::{judge, Verdict};
use crate::gate::policy::Policy as GatePolicy;
use crate::report::baseline::{Baseline, Suppression};
use crate::report::Report;
use serde::{Deserialize, Serialize};
#[cfg(feature = "sweep")]
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
    /// Refused with the gate's reasons, unchanged.
    #[cfg(feature = "sweep")]
    pub fn load(policy: Option<&Path>, baseline: Option<&Path>) -> Result<Policy, SweepError> {
        let mut gate = match policy {
            Some(p) => GatePolicy::load(p)?,
            None => GatePolicy::default_policy(),
        };
        let baseline = match baseline {
            Some(p) => {
                let b = Baseline::load(p)?;
                let by = format!("baseline {}", p.display());
                gate.fold_baseline(&b, &by);
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
        let mut verdict = j.verdict;
        // The gate does not even scan a dump over the policy's size limit; the sweep has
        // scanned it (its findings are worth knowing) but judges it as the gate would.
        if report.input.size > self.gate.max_size_bytes {
            verdict = Verdict::Block;
            reasons.insert(
                0,
                format!(
                    "the dump is {} bytes, over the policy's size limit of {} bytes",
                    report.input.size, self.gate.max_size_bytes
                ),
            );
        }
        if reasons.len() > MAX_REASONS {
            let more = reasons.len() - MAX_REASONS;
            reasons.truncate(MAX_REASONS);
            reasons.push(format!("... and {more} more"));
        }
        DumpVerdict {
            verdict: match verdict {
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

#[cfg(all(test, feature = "sweep"))]
mod tests {
    use super::*;
    use crate::report::{Finding, Severity};

    fn report(findings: Vec<Finding>) -> Report {
        let mut r = crate::gate::decision::unscanned_report("/s/a.dmp", 4096, "r", "x");
        r.input.complete = true;
        r.input.scanned_bytes = 4096;
        r.input.format = "minidump".into();
        r.input.warnings.clear();
        r.findings = findings;
        r
    }

    fn key(id: &str, fp: &str, severity: Severity) -> Finding {
        Finding::verified_rsa_for_test(id, fp, severity)
    }

    #[test]
    fn verdicts_follow_the_gate_policy() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let builtin = Policy::builtin();
        let mut r = report(vec![key("F1", &a, Severity::Critical)]);
        let v = builtin.apply(&mut r);
        assert_eq!((v.verdict.as_str(), v.blocking.len()), ("BLOCK", 1));
        let mut clean = report(vec![]);
        assert_eq!(builtin.apply(&mut clean).verdict, "ALLOW");

        // Allowlisted: suppressed by the policy with its reason; the other key still blocks.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        std::fs::write(
            &p,
            format!("version = 1\n[[allow]]\nfingerprint = \"{a}\"\nreason = \"lab key\"\n"),
        )
        .unwrap();
        let pol = Policy::load(Some(&p), None).unwrap();
        assert_ne!(pol.digest(), builtin.digest(), "a policy change rescans");
        let mut r = report(vec![
            key("F1", &a, Severity::Critical),
            key("F2", &b, Severity::Critical),
        ]);
        let v = pol.apply(&mut r);
        assert_eq!(v.blocking, vec!["F2".to_string()]);
        assert_eq!(v.suppressed, 1);
        let sup = r.findings[0].suppressed.as_ref().unwrap();
        assert_eq!(
            (sup.by.as_str(), sup.reason.as_str()),
            (format!("policy {}", p.display()).as_str(), "lab key")
        );

        // Over the size limit: BLOCK, as the gate would, even with nothing found.
        std::fs::write(&p, "version = 1\n[limits]\nmax_size_bytes = 100\n").unwrap();
        let pol = Policy::load(Some(&p), None).unwrap();
        let mut r = report(vec![]);
        let v = pol.apply(&mut r);
        assert_eq!(v.verdict, "BLOCK");
        assert!(v.reasons[0].contains("size limit"), "{:?}", v.reasons);
    }
}
