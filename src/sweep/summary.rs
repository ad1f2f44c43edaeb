//! The sweep summary: counts by status, kind, severity and share/folder, and what is new,
//! known and resolved — computed from the output lines, so a merge of shard outputs gets the
//! same numbers as one sweep of the whole tree.

use super::record::Record;
use crate::report::Severity;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

pub const SCHEMA: &str = "dumpguard.sweep-summary/v1";

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct FolderCounts {
    pub dumps: u64,
    pub dumps_with_findings: u64,
    /// Dumps the policy BLOCKs (what `dumpguard gate` would decide).
    pub blocked: u64,
    pub findings: u64,
    pub new_secrets: u64,
    pub by_severity: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct SecretCounts {
    /// Distinct secrets per dump (one key found five times in a dump is one).
    pub open: u64,
    pub new: u64,
    pub known: u64,
    pub resolved: u64,
}

/// Distinct keys and secrets over the whole sweep, by identity (fingerprint): a key found in
/// five dumps is one key.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct KeyCounts {
    pub distinct: u64,
    /// Keys no dump held at the last finished sweep: every sighting is new.
    pub new: u64,
    pub known: u64,
}

/// How this summary came about: one sweep (run details) or a merge.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct RunMeta {
    pub roots: Vec<String>,
    pub shard: String,
    pub run: i64,
    pub resumed: bool,
    pub started_at: String,
    pub elapsed_ms: u64,
    /// Bytes read and scanned by this run (0 when nothing changed).
    pub bytes_scanned: u64,
    pub bytes_per_second: u64,
    pub gone: u64,
    /// Where the time went: walking, comparing with the state, scanning, writing reports.
    pub phases_ms: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "dumpguard.sweep-summary/v1")]
/// What a sweep (or a merge of shard outputs) found, for the morning read and for machines:
/// the sweep's exit code, `--format json` and the HTML report all derive from it.
pub struct Summary {
    /// Always `dumpguard.sweep-summary/v1`.
    pub schema: String,
    /// When the run started and ended, and its roots (absent for a merge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunMeta>,
    /// The shard outputs a merge read (empty for a sweep).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// Directory entries accounted for (lines of the JSON Lines output that are not archive
    /// members, i.e. one per file on disk).
    pub entries: u64,
    /// Entries by status: scanned, unchanged, skipped, failed, gone.
    pub by_status: BTreeMap<String, u64>,
    /// Why entries were skipped or failed, by reason class.
    pub reasons: BTreeMap<String, u64>,
    /// Dumps reported (files and archive members, scanned now or unchanged).
    pub dumps: u64,
    /// Dumps whose scan was incomplete (truncated, unparseable, cut by a bound).
    pub incomplete: u64,
    /// Bytes of the dumps reported.
    pub dump_bytes: u64,
    /// Dumps with at least one finding.
    pub dumps_with_findings: u64,
    /// Findings over all dumps (one key in ten dumps counts ten times).
    pub findings: u64,
    /// Findings by severity (`critical`, `high`, `medium`, `low`).
    pub by_severity: BTreeMap<String, u64>,
    /// Findings by kind (`rsa-private-key`, `aws-access-key` ...).
    pub by_kind: BTreeMap<String, u64>,
    /// Dumps and findings by top-level folder under the roots: who to ask.
    pub by_folder: BTreeMap<String, FolderCounts>,
    /// Findings by what they are: private keys, tokens, passwords, symmetric keys.
    pub secrets: SecretCounts,
    /// Distinct keys/secrets over the whole sweep, and how many are new since the last sweep.
    pub keys: KeyCounts,
    /// Distinct fingerprints over the whole sweep (one key in ten dumps is one).
    pub distinct_fingerprints: u64,
    /// Dumps by the policy's verdict (`ALLOW`, `BLOCK`).
    pub by_verdict: BTreeMap<String, u64>,
    /// Findings a baseline or the policy's allowlist suppressed (reported, never counted
    /// towards the exit code).
    pub suppressed: u64,
    /// The highest severity of a finding that is not suppressed.
    #[serde(skip)]
    pub max_open: Option<Severity>,
}

fn severities() -> BTreeMap<String, u64> {
    ["critical", "high", "medium", "low"]
        .iter()
        .map(|s| (s.to_string(), 0))
        .collect()
}

/// The class of a reason: its text before the first parenthesis or colon.
pub fn reason_class(reason: &str) -> String {
    let end = reason.find([' ', ':']).map_or(reason.len(), |_| {
        reason
            .find(" (")
            .into_iter()
            .chain(reason.find(':'))
            .min()
            .unwrap_or(reason.len())
    });
    reason[..end].trim().to_string()
}

/// Accumulates a summary line by line.
pub struct Builder {
    s: Summary,
    fingerprints: BTreeSet<String>,
    /// Every open secret id: whether all its sightings so far are new.
    keys: BTreeMap<String, bool>,
    /// Secret ids some dump held at the last sweep and holds no more.
    resolved: BTreeSet<String>,
    last_file: Option<String>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            s: Summary {
                schema: SCHEMA.into(),
                run: None,
                merged_from: vec![],
                entries: 0,
                by_status: ["scanned", "unchanged", "skipped", "failed", "gone"]
                    .iter()
                    .map(|s| (s.to_string(), 0))
                    .collect(),
                reasons: BTreeMap::new(),
                dumps: 0,
                incomplete: 0,
                dump_bytes: 0,
                dumps_with_findings: 0,
                findings: 0,
                by_severity: severities(),
                by_kind: BTreeMap::new(),
                by_folder: BTreeMap::new(),
                secrets: SecretCounts::default(),
                keys: KeyCounts::default(),
                distinct_fingerprints: 0,
                by_verdict: [("ALLOW".to_string(), 0), ("BLOCK".to_string(), 0)].into(),
                suppressed: 0,
                max_open: None,
            },
            fingerprints: BTreeSet::new(),
            keys: BTreeMap::new(),
            resolved: BTreeSet::new(),
            last_file: None,
        }
    }
}

impl Builder {
    pub fn add(&mut self, r: &Record) {
        let s = &mut self.s;
        // Lines of one file are adjacent (outputs are in path order): an archive's members
        // are one entry.
        if self.last_file.as_deref() != Some(r.sweep.file.as_str()) {
            self.last_file = Some(r.sweep.file.clone());
            s.entries += 1;
            *s.by_status.entry(r.sweep.status.to_string()).or_default() += 1;
            if let Some(reason) = &r.sweep.reason {
                *s.reasons
                    .entry(format!("{}: {}", r.sweep.status, reason_class(reason)))
                    .or_default() += 1;
            }
        }
        s.secrets.resolved += r.sweep.resolved.len() as u64;
        self.resolved
            .extend(r.sweep.resolved.iter().map(|x| x.secret_id.clone()));
        if !r.is_dump() {
            return;
        }
        s.dumps += 1;
        s.dump_bytes += r.input.size;
        if !r.input.complete {
            s.incomplete += 1;
        }
        let folder = s
            .by_folder
            .entry(r.sweep.folder.clone())
            .or_insert_with(|| FolderCounts {
                by_severity: severities(),
                ..Default::default()
            });
        folder.dumps += 1;
        if let Some(v) = r.verdict() {
            *s.by_verdict.entry(v.to_string()).or_default() += 1;
            if v == "BLOCK" {
                folder.blocked += 1;
            }
        }
        if !r.findings.is_empty() {
            s.dumps_with_findings += 1;
            folder.dumps_with_findings += 1;
        }
        for f in &r.findings {
            s.findings += 1;
            folder.findings += 1;
            *s.by_severity.entry(f.severity.as_str().into()).or_default() += 1;
            *folder
                .by_severity
                .entry(f.severity.as_str().into())
                .or_default() += 1;
            *s.by_kind.entry(f.kind.to_string()).or_default() += 1;
            if let Some(fp) = &f.fingerprint {
                self.fingerprints.insert(fp.clone());
            }
            if f.suppressed.is_some() {
                s.suppressed += 1;
            } else {
                s.max_open = s.max_open.max(Some(f.severity));
            }
        }
        let mut seen = BTreeSet::new();
        for st in &r.sweep.findings {
            self.keys
                .entry(st.secret_id.clone())
                .and_modify(|n| *n &= st.new)
                .or_insert(st.new);
            if seen.insert(st.secret_id.as_str()) {
                s.secrets.open += 1;
                if st.new {
                    s.secrets.new += 1;
                    folder.new_secrets += 1;
                } else {
                    s.secrets.known += 1;
                }
            }
        }
    }

    pub fn finish(mut self, run: Option<RunMeta>, merged_from: Vec<String>) -> Summary {
        self.s.distinct_fingerprints = self.fingerprints.len() as u64;
        // A key some dump held at the last sweep is not new, even if it now sits elsewhere.
        let new = self
            .keys
            .iter()
            .filter(|(id, all_new)| **all_new && !self.resolved.contains(*id))
            .count() as u64;
        self.s.keys = KeyCounts {
            distinct: self.keys.len() as u64,
            new,
            known: self.keys.len() as u64 - new,
        };
        self.s.run = run;
        self.s.merged_from = merged_from;
        self.s
    }
}

impl Summary {
    /// The highest severity reported and not suppressed (by a baseline or the allowlist).
    pub fn max_severity(&self) -> Option<Severity> {
        self.max_open
    }

    /// Whether anything could not be scanned completely (exit code 2, as for `scan`).
    pub fn has_errors(&self) -> bool {
        self.incomplete > 0 || self.by_status.get("failed").copied().unwrap_or(0) > 0
    }

    /// Entries with `status` (`scanned`, `unchanged`, `skipped`, `failed`, `gone`).
    pub fn count(&self, status: &str) -> u64 {
        self.by_status.get(status).copied().unwrap_or(0)
    }

    /// The morning-read text: what was swept, what was found, what is new.
    pub fn render_human(&self) -> String {
        let mut o = String::new();
        let sev = |m: &BTreeMap<String, u64>| {
            ["critical", "high", "medium", "low"]
                .iter()
                .map(|k| format!("{} {k}", m.get(*k).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.run {
            Some(r) => {
                let _ = writeln!(
                    o,
                    "dumpguard sweep of {} (shard {}, run {}{})",
                    r.roots.join(", "),
                    r.shard,
                    r.run,
                    if r.resumed { ", resumed" } else { "" }
                );
                let _ = writeln!(
                    o,
                    "  {} entries: {} scanned, {} unchanged, {} skipped, {} failed, {} gone; {} read in {:.1} s ({}/s)",
                    self.entries,
                    self.count("scanned"),
                    self.count("unchanged"),
                    self.count("skipped"),
                    self.count("failed"),
                    self.count("gone"),
                    human_bytes(r.bytes_scanned),
                    r.elapsed_ms as f64 / 1000.0,
                    human_bytes(r.bytes_per_second),
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "dumpguard sweep (merged from {} outputs)",
                    self.merged_from.len()
                );
                let _ = writeln!(
                    o,
                    "  {} entries: {} scanned, {} unchanged, {} skipped, {} failed, {} gone",
                    self.entries,
                    self.count("scanned"),
                    self.count("unchanged"),
                    self.count("skipped"),
                    self.count("failed"),
                    self.count("gone"),
                );
            }
        }
        let _ = writeln!(
            o,
            "  {} dumps ({}), {} incomplete",
            self.dumps,
            human_bytes(self.dump_bytes),
            self.incomplete
        );
        let _ = writeln!(
            o,
            "  findings: {} in {} dumps ({}); {} distinct keys/secrets by fingerprint",
            self.findings,
            self.dumps_with_findings,
            sev(&self.by_severity),
            self.distinct_fingerprints
        );
        let _ = writeln!(
            o,
            "  keys/secrets: {} distinct, {} new since the last sweep, {} already known; per dump: {} new, {} known, {} resolved",
            self.keys.distinct,
            self.keys.new,
            self.keys.known,
            self.secrets.new,
            self.secrets.known,
            self.secrets.resolved
        );
        let _ = writeln!(
            o,
            "  policy verdicts: {} dumps BLOCK, {} ALLOW; {} findings suppressed (baseline or allowlist)",
            self.by_verdict.get("BLOCK").copied().unwrap_or(0),
            self.by_verdict.get("ALLOW").copied().unwrap_or(0),
            self.suppressed
        );
        if !self.by_kind.is_empty() {
            let kinds: Vec<String> = self
                .by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let _ = writeln!(o, "  by kind: {}", kinds.join(", "));
        }
        for (folder, c) in &self.by_folder {
            if c.findings > 0 {
                let _ = writeln!(
                    o,
                    "  {folder}: {} findings in {} of {} dumps ({}); {} new",
                    c.findings,
                    c.dumps_with_findings,
                    c.dumps,
                    sev(&c.by_severity),
                    c.new_secrets
                );
            }
        }
        if !self.reasons.is_empty() {
            let rs: Vec<String> = self
                .reasons
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect();
            let _ = writeln!(o, "  not scanned: {}", rs.join("; "));
        }
        o
    }
}

/// 1536 → "1.5 KiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_classes() {
        assert_eq!(reason_class("symlink (not followed)"), "symlink");
        assert_eq!(
            reason_class("cannot open: Permission denied (os error 13)"),
            "cannot open"
        );
        assert_eq!(reason_class("empty file"), "empty file");
        assert_eq!(
            reason_class("not a regular file (fifo); never opened"),
            "not a regular file"
        );
    }

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
