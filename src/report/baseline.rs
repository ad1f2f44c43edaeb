//! Baselines (like gitleaks' `--baseline-path`): keys someone looked at and accepted, so
//! `scan`, `gate` and `sweep` report them as suppressed, with the reason, instead of failing
//! on them every time.
//!
//! A baseline lists fingerprints (docs/design.md: the public-key hash for a private key), never
//! anything secret, so it can be reviewed and committed. Matching is by fingerprint alone:
//! the same key found in a new dump, at another offset or in another encoding, is still the
//! accepted key. Findings without a fingerprint cannot be baselined: nothing identifies them
//! across dumps.

use super::{Finding, Report};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The `schema` of a baseline file.
pub const BASELINE_SCHEMA: &str = "dumpguard.baseline/v1";

/// Most bytes read from a baseline or report file: a baseline is small, and a hostile file
/// must not make dumpguard allocate without bound.
const MAX_FILE: u64 = 256 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// One accepted secret: findings with this fingerprint are reported but do not count.
pub struct BaselineEntry {
    /// The accepted fingerprint.
    pub fingerprint: String,
    /// The finding's kind when accepted (informational: matching is by fingerprint).
    pub kind: super::Kind,
    /// Why it was accepted.
    pub reason: String,
    /// The input it was accepted from.
    pub seen_in: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// Secrets accepted as known (`scan --baseline`), so only new ones fail a build.
pub struct Baseline {
    /// Always [`BASELINE_SCHEMA`].
    pub schema: String,
    /// The accepted secrets, by fingerprint.
    pub entries: Vec<BaselineEntry>,
}

/// Why a finding is not counted: shown in every output format.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Suppression {
    /// `baseline FILE` (or the gate's policy allowlist).
    pub by: String,
    /// The baseline entry's reason.
    pub reason: String,
}

/// Why a baseline could not be read or built.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read: missing, not a regular file (a FIFO or a device is refused
    /// at once, never read), over the size cap, or not UTF-8.
    #[error("baseline {path}: {error}")]
    Read {
        /// The baseline or report file.
        path: String,
        #[source]
        /// Why it could not be read.
        error: std::io::Error,
    },
    /// The file was read but is not what it must be (a baseline, or reports to build one from).
    #[error("baseline {path}: {problem}")]
    Invalid {
        /// The baseline or report file.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `dumpguard baseline` without a reason: every accepted key must say why.
    #[error("a baseline entry needs a reason (--reason)")]
    NoReason,
}

/// The file's text, through the bounded reader every configuration file goes through
/// (regular files only, capped at [`MAX_FILE`]).
fn read_bounded(path: &Path) -> Result<String, BaselineError> {
    let read = |error| BaselineError::Read {
        path: path.display().to_string(),
        error,
    };
    let bytes = crate::input::config_file::read_bounded(path, MAX_FILE).map_err(read)?;
    String::from_utf8(bytes).map_err(|_| {
        read(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })
}

fn valid_fingerprint(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Baseline {
    /// Reads and validates a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let invalid = |problem: String| BaselineError::Invalid {
            path: path.display().to_string(),
            problem,
        };
        let text = read_bounded(path)?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if b.schema != BASELINE_SCHEMA {
            return Err(invalid(format!(
                "schema '{}', expected {BASELINE_SCHEMA}",
                b.schema
            )));
        }
        for e in &b.entries {
            if !valid_fingerprint(&e.fingerprint) {
                return Err(invalid(format!(
                    "'{}' is not a fingerprint (sha256:<64 hex>)",
                    e.fingerprint
                )));
            }
            if e.reason.trim().is_empty() {
                return Err(invalid(format!("entry {} has no reason", e.fingerprint)));
            }
        }
        Ok(b)
    }

    /// A baseline of every fingerprinted finding in report files: a single report, a
    /// `dumpguard.scan/v1` collection, or JSON Lines of reports (`scan --format jsonl`, sweep
    /// output). One entry per fingerprint, sorted, so the file diffs well.
    pub fn from_report_files(paths: &[&Path], reason: &str) -> Result<Baseline, BaselineError> {
        if reason.trim().is_empty() {
            return Err(BaselineError::NoReason);
        }
        let mut entries: BTreeMap<String, BaselineEntry> = BTreeMap::new();
        for path in paths {
            let text = read_bounded(path)?;
            let docs: Vec<serde_json::Value> = match serde_json::from_str(&text) {
                Ok(v) => vec![v],
                Err(_) => text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(serde_json::from_str)
                    .collect::<Result<_, _>>()
                    .map_err(|e| BaselineError::Invalid {
                        path: path.display().to_string(),
                        problem: format!("not a report nor JSON Lines: {e}"),
                    })?,
            };
            let mut reports = Vec::new();
            for d in &docs {
                match d["reports"].as_array() {
                    Some(rs) => reports.extend(rs),
                    None => reports.push(d),
                }
            }
            for r in reports {
                let Some(findings) = r["findings"].as_array() else {
                    return Err(BaselineError::Invalid {
                        path: path.display().to_string(),
                        problem: "a document without findings[]".into(),
                    });
                };
                let seen_in = r["input"]["path"].as_str().unwrap_or_default();
                for f in findings {
                    let Some(fp) = f["fingerprint"].as_str().filter(|s| valid_fingerprint(s))
                    else {
                        continue;
                    };
                    entries
                        .entry(fp.to_ascii_lowercase())
                        .or_insert_with(|| BaselineEntry {
                            fingerprint: fp.to_ascii_lowercase(),
                            kind: super::Kind::parse(f["kind"].as_str().unwrap_or_default()),
                            reason: reason.into(),
                            seen_in: seen_in.into(),
                        });
                }
            }
        }
        Ok(Baseline {
            schema: BASELINE_SCHEMA.into(),
            entries: entries.into_values().collect(),
        })
    }

    /// The baseline as pretty JSON, as `scan --write-baseline` writes it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("baseline serialises") + "\n"
    }

    /// The entry accepting this finding, if any.
    pub fn entry_for(&self, f: &Finding) -> Option<&BaselineEntry> {
        let fp = f.fingerprint.as_deref()?;
        self.entries
            .iter()
            .find(|e| e.fingerprint.eq_ignore_ascii_case(fp))
    }

    /// Marks baselined findings of a report as suppressed (`by` names the baseline file);
    /// returns how many.
    pub fn apply(&self, by: &str, r: &mut Report) -> usize {
        let mut n = 0;
        for f in &mut r.findings {
            if let Some(e) = self.entry_for(f) {
                f.suppressed = Some(Suppression {
                    by: by.into(),
                    reason: e.reason.clone(),
                });
                n += 1;
            }
        }
        n
    }
}
