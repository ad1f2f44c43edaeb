//! The sweep's JSON Lines output: one schema-v1 report per dump (file or archive member) and
//! one per entry that was not scanned, each with a `sweep` member saying what the sweep did
//! with it and what is new or resolved. The summary and the HTML report are computed from
//! these lines alone, so `dumpguard sweep-merge` rebuilds them from shard outputs.

use super::layout::Layout;
use super::policy::DumpVerdict;
use super::scanfile::placeholder;
use super::state::{FileOut, Run, SecretRow};
pub use super::status::EntryStatus;
use crate::report::{Finding, InputInfo, Kind, Report, Severity};
use crate::Scanner;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::HashMap;

/// What the sweep adds to a report.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepInfo {
    /// `scanned` (in this run), `unchanged` (scanned earlier, report reused), `skipped`,
    /// `failed` (could not be read; retried next run), `gone` (no longer under the roots).
    pub status: EntryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The file on disk.
    pub file: String,
    /// The member inside it (`member[!inner]`), for dumps inside archives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The share/folder it is counted under.
    pub folder: String,
    /// When this report was produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanned_at: Option<String>,
    /// The policy's verdict on this dump (`--policy`, `--baseline`): what `dumpguard gate`
    /// would decide. Only on dumps (scanned or unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<DumpVerdict>,
    /// New/known state of each finding of the report, by finding id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingState>,
    /// Secrets this dump held at the last finished sweep and holds no more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<Resolved>,
    /// The picture of the dump's layout (a [`Layout`]), kept as the JSON text stored at scan
    /// time: only the HTML report reads it, and re-encoding it for every line was a fifth of
    /// a no-op sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Box<RawValue>>,
}

impl SweepInfo {
    /// The layout picture, decoded.
    pub fn layout(&self) -> Option<Layout> {
        serde_json::from_str(self.layout.as_ref()?.get()).ok()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FindingState {
    pub id: String,
    /// The finding's secret identity: its fingerprint, or where it was found when it has none.
    pub secret_id: String,
    /// First seen after the last finished sweep.
    pub new: bool,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Resolved {
    pub dump: String,
    pub secret_id: String,
    pub kind: Kind,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_at: String,
}

/// One line of the sweep's JSON Lines output, as written: a `dumpguard.report/v1` report with
/// a `sweep` member. Only its JSON Schema is derived from this type (`dumpguard schema
/// sweep-record`); lines are written by [`lines_of`] without re-encoding the stored report.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(title = "dumpguard sweep record")]
pub struct Line {
    #[serde(flatten)]
    pub report: crate::report::Report,
    pub sweep: SweepInfo,
}

/// The parts of a line the summary and the HTML report read: the report's own input and
/// findings, read with the types that wrote them ([`crate::report`]), and the sweep's member.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// The scanned input, as the report describes it.
    pub input: InputInfo,
    /// The report's findings.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// What the sweep did with the dump.
    pub sweep: SweepInfo,
}

impl Record {
    /// Status of this line's dump: scanned now or reused.
    pub fn is_dump(&self) -> bool {
        matches!(
            self.sweep.status,
            EntryStatus::Scanned | EntryStatus::Unchanged
        )
    }

    /// The policy's verdict on this dump (`ALLOW`/`BLOCK`), if it was judged.
    pub fn verdict(&self) -> Option<&str> {
        self.sweep.verdict.as_ref().map(|v| v.verdict.as_str())
    }

    /// Whether the policy makes this finding block the dump.
    pub fn blocks(&self, f: &Finding) -> bool {
        self.sweep
            .verdict
            .as_ref()
            .is_some_and(|v| v.blocking.contains(&f.id))
    }
}

fn resolved_of(s: &SecretRow) -> Resolved {
    Resolved {
        dump: s.unit.clone(),
        secret_id: s.secret.clone(),
        kind: s.kind.clone(),
        severity: s.severity,
        fingerprint: s.fingerprint.clone(),
        first_seen: s.first_seen.clone(),
        last_seen: s.last_seen.clone(),
        resolved_at: s.resolved_at.clone().unwrap_or_default(),
    }
}

/// Appends the `sweep` member to a report's JSON object, keeping the report's own field order
/// (schema, tool, input, findings, summary) as `dumpguard scan` prints it.
fn with_sweep(report_json: &str, info: &SweepInfo) -> String {
    let body = report_json.trim_end();
    let body = body.strip_suffix('}').unwrap_or(body);
    let layout = info.layout.as_ref().map_or(0, |l| l.get().len());
    let mut out = Vec::with_capacity(body.len() + layout + 512);
    out.extend_from_slice(body.as_bytes());
    out.extend_from_slice(b",\"sweep\":");
    serde_json::to_writer(&mut out, info).expect("sweep info serialises");
    out.push(b'}');
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// The output lines (JSON, one per dump) of one stored entry, each with its parsed record for
/// the summary and the HTML report.
pub fn lines_of(out: &FileOut, run: &Run, scanner: &Scanner) -> Vec<(String, Record)> {
    let mut open: HashMap<(&str, &str), &SecretRow> = HashMap::new();
    let mut resolved: Vec<&SecretRow> = Vec::new();
    for s in &out.secrets {
        match s.resolved_run {
            None => {
                open.insert((s.unit.as_str(), s.secret.as_str()), s);
            }
            Some(r) if r > run.prev_finished => resolved.push(s),
            Some(_) => {}
        }
    }
    let status = match out.status {
        EntryStatus::Scanned if out.scanned_run != Some(run.id) => EntryStatus::Unchanged,
        other => other,
    };
    let member_of = |unit: &str| {
        unit.strip_prefix(out.path.as_str())
            .and_then(|m| m.strip_prefix('!'))
            .map(str::to_string)
    };
    let mut lines = Vec::new();
    if out.units.is_empty() {
        let why = out
            .reason
            .clone()
            .unwrap_or_else(|| "no dump in this file".into());
        let report = placeholder(scanner, &out.path, out.size, &format!("{status}: {why}"));
        let sweep = SweepInfo {
            status,
            reason: out.reason.clone(),
            file: out.path.clone(),
            member: None,
            folder: out.folder.clone(),
            scanned_at: None,
            verdict: None,
            findings: vec![],
            resolved: resolved.iter().map(|s| resolved_of(s)).collect(),
            layout: None,
        };
        lines.push(line(report.to_json(false), None, sweep));
        return lines;
    }
    let units: Vec<&str> = out.units.iter().map(|u| u.0.as_str()).collect();
    for (i, (unit, report, layout, verdict)) in out.units.iter().enumerate() {
        // Read once per line (a no-op sweep spends most of its time reading stored reports
        // back), with the types that wrote it.
        let (report, view) = match serde_json::from_str::<Report>(report) {
            Ok(v) => (report.clone(), v),
            Err(_) => {
                let p = placeholder(
                    scanner,
                    unit,
                    0,
                    "stored report unreadable; it will be rescanned when the file changes",
                );
                let json = p.to_json(false);
                let view = serde_json::from_str(&json).expect("a report reads back");
                (json, view)
            }
        };
        let findings = view
            .findings
            .iter()
            .map(|f| {
                let sid = super::state::secret_id(f);
                let row = open.get(&(unit.as_str(), sid.as_str()));
                FindingState {
                    id: f.id.clone(),
                    new: row.is_some_and(|r| r.first_run > run.prev_finished),
                    first_seen: row.map(|r| r.first_seen.clone()).unwrap_or_default(),
                    // Seen by this run (its entry was walked): as of its start.
                    last_seen: row.map(|_| run.started_at.clone()).unwrap_or_default(),
                    secret_id: sid,
                }
            })
            .collect();
        // Resolved secrets go with their dump; those of dumps no longer in the file (an
        // archive member removed) go with the file's first dump.
        let mine: Vec<Resolved> = resolved
            .iter()
            .filter(|s| s.unit == *unit || (i == 0 && !units.contains(&s.unit.as_str())))
            .map(|s| resolved_of(s))
            .collect();
        let sweep = SweepInfo {
            status,
            reason: None,
            file: out.path.clone(),
            member: member_of(unit),
            folder: out.folder.clone(),
            scanned_at: out.scanned_at.clone(),
            verdict: verdict
                .as_deref()
                .and_then(|v| serde_json::from_str(v).ok()),
            findings,
            resolved: mine,
            layout: RawValue::from_string(layout.clone()).ok(),
        };
        lines.push(line(report, Some(view), sweep));
    }
    lines
}

/// One output line and its record. `view` is the report already read, when it was.
fn line(report_json: String, view: Option<Report>, sweep: SweepInfo) -> (String, Record) {
    let text = with_sweep(&report_json, &sweep);
    let view =
        view.unwrap_or_else(|| serde_json::from_str(&report_json).expect("a report reads back"));
    let record = Record {
        input: view.input,
        findings: view.findings,
        sweep,
    };
    (text, record)
}
