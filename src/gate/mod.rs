//! The transfer gate: decides, for one dump, whether it may leave the isolated network.
//!
//! ALLOW only when the dump was read and scanned completely, its container was recognised (or
//! the policy accepts raw images) and nothing blocks under the policy; ALLOW_REDACTED when a
//! scrubbed copy was written and re-scanned clean; BLOCK otherwise — including every error,
//! time-out and output failure (DESIGN.md principle 2). Every decision leaves a record
//! ([`decision::DecisionRecord`]) and, when asked, an audit-log entry ([`audit`]).
//!
//! [`Gate::evaluate`] scans and judges (and redacts); [`finalize`] writes the outputs and
//! downgrades the verdict if any of them cannot be written. `dumpguard gate` and
//! `dumpguard watch` both go through these two functions.

pub mod audit;
pub mod decision;
pub mod policy;
pub mod redact;
pub mod watch;

use crate::input::Dump;
use crate::report::Report;
use crate::scan::{InputHash, Limits};
use crate::Scanner;
use decision::{
    judge, now_rfc3339, unscanned_report, Coverage, Decision, DecisionRecord, PolicyRef, Verdict,
    EXIT_ALLOW_REDACTED,
};
use policy::{Disposition, Policy};
use redact::{Attestation, FileRef, Rescan};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A scanner and a policy.
pub struct Gate {
    scanner: Scanner,
    policy: Policy,
    input_hash: InputHash,
}

/// Redact / re-scan rounds before the gate gives up on a redacted copy (see `Gate::redact`).
const MAX_REDACTION_ROUNDS: usize = 4;

/// A decision and the redacted copy it produced, if any.
pub struct Evaluation {
    pub record: DecisionRecord,
    /// The committed redacted copy and its attestation file.
    pub redacted: Option<(PathBuf, PathBuf)>,
}

/// Where the attestation of a redacted copy `out` is written.
pub fn attestation_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".attestation.json");
    PathBuf::from(s)
}

/// True when `a` and `b` name the same existing file (same device and inode).
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

impl Gate {
    pub fn new(scanner: Scanner, policy: Policy) -> Gate {
        Gate {
            scanner,
            policy,
            input_hash: InputHash::default(),
        }
    }

    /// The digest that identifies the judged bytes in the decision record, the audit event
    /// and a redaction's attestation (BLAKE3 unless asked otherwise; see [`InputHash`]).
    pub fn with_input_hash(mut self, input_hash: InputHash) -> Gate {
        self.input_hash = input_hash;
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    fn record(&self, report: Report, started: Instant) -> DecisionRecord {
        let j = judge(&report, &self.policy);
        let coverage = Coverage {
            size: report.input.size,
            scanned_bytes: report.input.scanned_bytes,
            complete: report.input.complete,
            format: report.input.format.clone(),
            format_recognised: report.input.format != "raw" && report.input.format != "unknown",
        };
        DecisionRecord {
            decision: Decision {
                verdict: j.verdict,
                exit_code: j.exit_code,
                reasons: j.reasons,
                policy: PolicyRef {
                    source: self.policy.source.clone(),
                    digest: self.policy.digest.clone(),
                },
                coverage,
                findings: j.findings,
                redaction: None,
                decided_at: now_rfc3339(),
                elapsed_ms: started.elapsed().as_millis() as u64,
            },
            report,
        }
    }

    /// The record for an input that could not be scanned: `why` becomes its input warning, and
    /// [`judge`] turns the incomplete scan into a BLOCK (exit 2).
    fn unscanned(&self, path: &Path, size: u64, why: String, started: Instant) -> Evaluation {
        let report = unscanned_report(
            &path.display().to_string(),
            size,
            self.scanner.engine().digest(),
            &why,
        );
        let record = self.record(report, started);
        Evaluation {
            record,
            redacted: None,
        }
    }

    /// The BLOCK record (exit 2) of an input the caller refused to gate — `watch` refuses a file
    /// that was swapped, linked or changed while it was being taken — with `why` as its input
    /// warning and reason.
    pub fn refuse(&self, path: &Path, size: u64, why: String) -> Evaluation {
        self.unscanned(path, size, why, Instant::now())
    }

    /// Scans `path`, applies the policy and, when the dump blocks only because of findings and
    /// `redact_to` is given, writes a redacted copy there (see [`redact`]).
    pub fn evaluate(&self, path: &Path, redact_to: Option<&Path>) -> Evaluation {
        let started = Instant::now();
        let deadline = started + self.policy.time_limit;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                return self.unscanned(path, 0, format!("cannot read the dump: {e}"), started)
            }
        };
        if !meta.is_file() {
            return self.unscanned(
                path,
                0,
                "cannot read the dump: not a regular file".into(),
                started,
            );
        }
        if meta.len() > self.policy.max_size_bytes {
            return self.unscanned(
                path,
                meta.len(),
                format!(
                    "the dump is {} bytes, over the policy's size limit of {} bytes; not scanned",
                    meta.len(),
                    self.policy.max_size_bytes
                ),
                started,
            );
        }
        if let Some(out) = redact_to {
            if same_file(path, out) {
                return self.unscanned(
                    path,
                    meta.len(),
                    "--redact-to names the dump itself; the original is never modified".into(),
                    started,
                );
            }
        }
        let limits = Limits {
            deadline: Some(deadline),
            input_hash: self.input_hash,
        };
        match Scanner::archive_kind(path) {
            Err(e) => {
                let why = format!("cannot read the dump: {e}");
                return self.unscanned(path, meta.len(), why, started);
            }
            Ok(Some(kind)) => {
                return self.evaluate_archive(path, kind, redact_to, &limits, started)
            }
            Ok(None) => {}
        }
        let dump = match Dump::open(path) {
            Ok(d) => d,
            Err(e) => {
                return self.unscanned(
                    path,
                    meta.len(),
                    format!("cannot read the dump: {e}"),
                    started,
                )
            }
        };
        let report = self
            .scanner
            .scan_dump(&dump, &path.display().to_string(), &limits, &|_| {});
        let redactable = judge(&report, &self.policy).redactable;
        let mut eval = Evaluation {
            record: self.record(report, started),
            redacted: None,
        };
        if let (true, Some(out)) = (redactable, redact_to) {
            if self.policy.redaction {
                self.redact(&dump, path, out, &limits, &mut eval);
            } else {
                eval.record
                    .decision
                    .reasons
                    .push("redaction is disabled by the policy ([redact] enabled = false)".into());
            }
        }
        // A redacted copy is written from the file after the scan: if the file changed since,
        // neither the verdict nor the copy is about the bytes judged.
        if let Some(why) = dump.bytes.changed() {
            if eval.record.report.input.complete {
                eval.record.fail(why);
            }
        }
        eval.record.decision.elapsed_ms = started.elapsed().as_millis() as u64;
        eval
    }

    /// An archive or compressed dump is opened and every member scanned (see
    /// [`Scanner::scan_path_bounded`]); nothing in it is judged unopened, whatever
    /// `allow_raw` says. Expansion is bounded by the sweep's limits and, per member and in
    /// total, by the policy's size limit. A redacted copy of an archive is refused: the copy
    /// would have to be a re-packed archive, and the gate only vouches for bytes it re-scanned
    /// in the form it ships them; decompress the dump and gate it instead.
    fn evaluate_archive(
        &self,
        path: &Path,
        kind: crate::input::archive::Kind,
        redact_to: Option<&Path>,
        limits: &Limits,
        started: Instant,
    ) -> Evaluation {
        let defaults = crate::input::archive::Limits::default();
        let bounds = crate::input::archive::Limits {
            max_member_bytes: defaults.max_member_bytes.min(self.policy.max_size_bytes),
            max_total: defaults.max_total.min(self.policy.max_size_bytes),
            ..defaults
        };
        let report = match self
            .scanner
            .scan_path_bounded(path, limits, &bounds, &|_| {})
        {
            Ok(r) => r,
            Err(e) => {
                let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                let why = format!("cannot read the {} archive: {e}", kind.as_str());
                return self.unscanned(path, size, why, started);
            }
        };
        let redactable = judge(&report, &self.policy).redactable;
        let mut record = self.record(report, started);
        if redactable && redact_to.is_some() {
            record.decision.reasons.push(format!(
                "no redacted copy: the dump is a {} archive; redaction only writes uncompressed \
                 dumps (decompress it and gate the dump itself)",
                kind.as_str()
            ));
        }
        record.decision.elapsed_ms = started.elapsed().as_millis() as u64;
        Evaluation {
            record,
            redacted: None,
        }
    }

    fn redact(
        &self,
        dump: &Dump<'_>,
        path: &Path,
        out: &Path,
        limits: &Limits,
        eval: &mut Evaluation,
    ) {
        let record = &mut eval.record;
        let original = FileRef {
            path: record.report.input.path.clone(),
            size: record.report.input.size,
            sha256: record.report.input.sha256.clone(),
            blake3: record.report.input.blake3.clone(),
        };
        let mut att = Attestation {
            schema: redact::ATTESTATION_SCHEMA.into(),
            original,
            copy: None,
            fill: "zero bytes (0x00)".into(),
            removed: Vec::new(),
            bytes_overwritten: 0,
            rescan: None,
            outcome: String::new(),
            policy_digest: self.policy.digest.clone(),
            rules_digest: self.scanner.engine().digest().into(),
            created_at: now_rfc3339(),
        };
        let inventory = self.scanner.inventory();
        let mut plan = match redact::plan(dump, &record.report, &self.policy, inventory, None) {
            Ok(p) => p,
            Err(why) => {
                record
                    .decision
                    .reasons
                    .push(format!("no redacted copy: {why}"));
                att.outcome = format!("refused: {why}");
                record.decision.redaction = Some(att);
                return;
            }
        };
        // Rounds: a runtime may keep more copies of a key than one scan reports (a Java heap
        // holds thousands of temporaries of p and q; reports keep the first 64 per key), and
        // removing the reported ones lets the re-scan see the next. Each round plans on the
        // previous copy's re-scan and writes a fresh copy of the original with everything
        // planned so far, until the re-scan finds nothing that blocks and the residue check
        // (every form of the removed keys' private material, see keys::residue) finds nothing.
        let mut round = 1;
        let (tmp, again, copy, residue) = loop {
            let tmp = match redact::write_copy(path, &plan, out) {
                Ok(t) => t,
                Err(e) => {
                    att.removed = plan.removed.clone();
                    att.bytes_overwritten = plan.bytes();
                    att.outcome = format!("failed: cannot write the copy: {e}");
                    record.decision.redaction = Some(att);
                    record.fail(format!(
                        "cannot write the redacted copy {}: {e}",
                        out.display()
                    ));
                    return;
                }
            };
            // Re-scan the copy exactly as the original was scanned.
            let copy = match Dump::open(&tmp.path()) {
                Ok(d) => d,
                Err(e) => {
                    att.outcome = format!("failed: cannot re-read the copy: {e}");
                    record.decision.redaction = Some(att);
                    record.fail(format!("cannot re-read the redacted copy: {e}"));
                    return;
                }
            };
            let again = self
                .scanner
                .scan_dump(&copy, &out.display().to_string(), limits, &|_| {});
            let residue = plan
                .residue
                .find_paged(copy.data(), |a, b| copy.bytes.release(a, b));
            let blocking = !residue.is_empty()
                || again
                    .findings
                    .iter()
                    .any(|f| self.policy.classify(f) == Disposition::Blocking);
            if !blocking || !again.input.complete || round == MAX_REDACTION_ROUNDS {
                break (tmp, again, copy, residue);
            }
            match redact::plan(&copy, &again, &self.policy, inventory, Some(&plan.residue)) {
                Ok(more) if more.bytes() > 0 => plan.absorb(more),
                _ => break (tmp, again, copy, residue),
            }
            drop(copy);
            drop(tmp); // deleted: the next round writes a fresh copy of the original
            round += 1;
        };
        att.removed = plan.removed.clone();
        att.bytes_overwritten = plan.bytes();
        let rj = judge(&again, &self.policy);
        let same_container = copy.format == dump.format
            && copy.layout.complete == dump.layout.complete
            && copy.layout.regions.len() == dump.layout.regions.len()
            && copy
                .layout
                .regions
                .iter()
                .zip(&dump.layout.regions)
                .all(|(a, b)| {
                    (a.file_offset, a.len, a.address, a.kind, &a.label)
                        == (b.file_offset, b.len, b.address, b.kind, &b.label)
                });
        let still_blocking: Vec<&crate::report::Finding> = again
            .findings
            .iter()
            .filter(|f| self.policy.classify(f) == Disposition::Blocking)
            .collect();
        att.copy = Some(FileRef {
            path: out.display().to_string(),
            size: again.input.size,
            sha256: again.input.sha256.clone(),
            blake3: again.input.blake3.clone(),
        });
        att.rescan = Some(Rescan {
            complete: again.input.complete,
            format: again.input.format.clone(),
            findings: again.findings.len(),
            blocking: still_blocking.len(),
            by_severity: again.summary.by_severity.clone(),
            container_unchanged: same_container,
            residue_keys: plan.residue.secrets().len(),
            residue_found: residue.len(),
        });
        drop(copy);
        let problem = if !again.input.complete {
            Some((
                "the re-scan of the redacted copy was incomplete".to_string(),
                true,
            ))
        } else if !same_container {
            Some((
                "the redacted copy no longer parses like the original".to_string(),
                false,
            ))
        } else if let Some(h) = residue.first() {
            Some((
                format!(
                    "the residue check still finds {} piece(s) of private key material in the \
                     redacted copy, e.g. key {} as {} at {:#x}",
                    residue.len(),
                    h.fingerprint,
                    h.form,
                    h.offset
                ),
                false,
            ))
        } else if !still_blocking.is_empty() {
            Some((
                format!(
                    "the re-scan of the redacted copy still finds {} blocking finding(s), e.g. {} at {:#x}",
                    still_blocking.len(),
                    still_blocking[0].kind,
                    still_blocking[0].offset
                ),
                false,
            ))
        } else if rj.exit_code != decision::EXIT_ALLOW {
            Some((
                format!(
                    "the redacted copy is not allowed: {}",
                    rj.reasons.join("; ")
                ),
                false,
            ))
        } else {
            None
        };
        if let Some((why, is_error)) = problem {
            att.outcome = format!("failed: {why}; the copy was deleted");
            record.decision.redaction = Some(att);
            if is_error {
                record.fail(format!("no redacted copy: {why}"));
            } else {
                record
                    .decision
                    .reasons
                    .push(format!("no redacted copy: {why}"));
            }
            return; // `tmp` is deleted on drop
        }
        att.outcome = "verified".into();
        let att_path = attestation_path(out);
        let att_json = serde_json::to_string_pretty(&att).expect("attestation serialises") + "\n";
        record.decision.redaction = Some(att);
        if let Err(e) = crate::output::write_atomic(&att_path, att_json.as_bytes()) {
            record.fail(format!(
                "cannot write the attestation {}: {e}",
                att_path.display()
            ));
            return;
        }
        match tmp.commit() {
            Ok(dest) => {
                let removed = record
                    .decision
                    .redaction
                    .as_ref()
                    .map(|a| (a.removed.len(), a.bytes_overwritten))
                    .unwrap_or_default();
                record.decision.verdict = Verdict::AllowRedacted;
                record.decision.exit_code = EXIT_ALLOW_REDACTED;
                record.decision.reasons.push(format!(
                    "ALLOW only the redacted copy {}: {} range(s), {} bytes overwritten with zeros; \
                     its re-scan is complete and finds nothing that blocks",
                    dest.display(),
                    removed.0,
                    removed.1
                ));
                eval.redacted = Some((dest, att_path));
            }
            Err(e) => {
                let _ = std::fs::remove_file(&att_path);
                record.fail(format!(
                    "cannot move the redacted copy into {}: {e}",
                    out.display()
                ));
            }
        }
    }
}

/// Output rendering of the decision record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    Json,
    Sarif,
    Human,
}

pub fn render(record: &DecisionRecord, format: RecordFormat) -> String {
    match format {
        RecordFormat::Json => record.to_json(true) + "\n",
        RecordFormat::Sarif => crate::report::sarif::render(
            &[&record.report],
            Some(&[&record.decision as &dyn crate::report::sarif::GateVerdict]),
        ),
        RecordFormat::Human => {
            let mut s = crate::report::human::render(&record.report);
            let d = &record.decision;
            // Reasons quote paths and input warnings: escaped like the report's lines.
            let mut line = |t: String| {
                s.push_str(&crate::report::escape::visible(&t));
                s.push('\n');
            };
            line(format!(
                "decision: {} (exit {}) under policy {} ({})",
                d.verdict.as_str(),
                d.exit_code,
                d.policy.source,
                d.policy.digest
            ));
            for r in &d.reasons {
                line(format!("  - {r}"));
            }
            for f in d.findings.iter().filter(|f| f.disposition == "suppressed") {
                line(format!(
                    "  suppressed {} {}: {}",
                    f.id,
                    f.fingerprint.as_deref().unwrap_or("-"),
                    f.reason.as_deref().unwrap_or("")
                ));
            }
            s
        }
    }
}

/// Where the outputs of one decision go.
pub struct Outputs<'a> {
    pub report: Option<&'a Path>,
    pub audit_log: Option<&'a Path>,
    pub format: RecordFormat,
    /// Print the record on standard output.
    pub print: bool,
    /// Extra members for the audit event (watch mode: where the file went).
    pub audit_extra: Option<serde_json::Value>,
}

/// The audit-log event for a decision: enough to prove what happened, bounded in size, no
/// secret bytes.
#[derive(Serialize)]
pub struct AuditEvent<'a> {
    pub kind: &'static str,
    pub dump: AuditDump<'a>,
    pub verdict: Verdict,
    pub exit_code: i32,
    pub reasons: &'a [String],
    pub complete: bool,
    pub policy: &'a PolicyRef,
    pub tool_version: &'a str,
    pub rules_digest: &'a str,
    pub findings: AuditCounts,
    pub blocking_fingerprints: Vec<&'a str>,
    pub suppressed: Vec<AuditSuppressed<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redacted_copy: Option<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_file: Option<String>,
    pub host: String,
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
pub struct AuditDump<'a> {
    pub path: &'a str,
    pub size: u64,
    /// The input hash the decision record holds: `sha256` or `blake3`, the other one absent.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub sha256: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub blake3: &'a str,
    pub format: &'a str,
}

#[derive(Serialize)]
pub struct AuditCounts {
    pub total: usize,
    pub blocking: usize,
    pub suppressed: usize,
    pub below_threshold: usize,
}

#[derive(Serialize)]
pub struct AuditSuppressed<'a> {
    pub fingerprint: Option<&'a str>,
    pub reason: &'a str,
}

const AUDIT_LIST_CAP: usize = 100;

pub fn audit_event<'a>(
    record: &'a DecisionRecord,
    report_file: Option<&Path>,
    extra: Option<&'a serde_json::Value>,
) -> AuditEvent<'a> {
    let d = &record.decision;
    let count = |s: &str| d.findings.iter().filter(|f| f.disposition == s).count();
    let mut blocking: Vec<&str> = d
        .findings
        .iter()
        .filter(|f| f.disposition == "blocking")
        .filter_map(|f| f.fingerprint.as_deref())
        .collect();
    blocking.sort_unstable();
    blocking.dedup();
    blocking.truncate(AUDIT_LIST_CAP);
    let mut suppressed: Vec<AuditSuppressed<'_>> = Vec::new();
    for f in d.findings.iter().filter(|f| f.disposition == "suppressed") {
        let fp = f.fingerprint.as_deref();
        if suppressed.len() < AUDIT_LIST_CAP && !suppressed.iter().any(|s| s.fingerprint == fp) {
            suppressed.push(AuditSuppressed {
                fingerprint: fp,
                reason: f.reason.as_deref().unwrap_or(""),
            });
        }
    }
    AuditEvent {
        kind: "gate",
        dump: AuditDump {
            path: &record.report.input.path,
            size: record.report.input.size,
            sha256: &record.report.input.sha256,
            blake3: &record.report.input.blake3,
            format: &record.report.input.format,
        },
        verdict: d.verdict,
        exit_code: d.exit_code,
        reasons: &d.reasons[..d.reasons.len().min(AUDIT_LIST_CAP)],
        complete: record.report.input.complete,
        policy: &d.policy,
        tool_version: &record.report.tool.version,
        rules_digest: &record.report.tool.rules_digest,
        findings: AuditCounts {
            total: d.findings.len(),
            blocking: count("blocking"),
            suppressed: count("suppressed"),
            below_threshold: count("below-threshold"),
        },
        blocking_fingerprints: blocking,
        suppressed,
        redacted_copy: d
            .redaction
            .as_ref()
            .filter(|_| d.verdict == Verdict::AllowRedacted)
            .and_then(|a| a.copy.clone()),
        report_file: report_file.map(|p| p.display().to_string()),
        host: hostname(),
        pid: std::process::id(),
        extra,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Writes the report file, checks that the audit log can take a record, prints the record, then
/// appends the audit record. Any failure turns the verdict into BLOCK (exit 2); outputs already
/// written are brought in line (the report rewritten, a redacted copy that is no longer allowed
/// deleted). The audit record comes last so that it holds the verdict and exit code actually
/// given: a closed or full standard output used to leave "ALLOW, exit 0" in the log of a run
/// that exited 2 (issue #12, part 5).
/// Returns the exit code.
pub fn finalize(eval: &mut Evaluation, out: &Outputs<'_>) -> i32 {
    let dump_path = PathBuf::from(&eval.record.report.input.path);
    for (what, p) in [("--report", out.report), ("--audit-log", out.audit_log)] {
        if p.is_some_and(|p| same_file(&dump_path, p)) {
            eval.record.fail(format!(
                "{what} names the dump itself; the original is never modified"
            ));
            drop_unallowed_copy(eval);
            let _ = print(eval, out);
            return eval.record.decision.exit_code;
        }
    }
    let mut report_written = false;
    if let Some(p) = out.report {
        match crate::output::write_atomic(p, render(&eval.record, out.format).as_bytes()) {
            Ok(()) => report_written = true,
            Err(e) => eval
                .record
                .fail(format!("cannot write the report {}: {e}", p.display())),
        }
    }
    if let Some(log) = out.audit_log {
        // Before anything is announced: a log that cannot take the record means BLOCK, and
        // the printed record must say so.
        if let Err(e) = audit::check_appendable(log) {
            eval.record.fail(format!(
                "cannot append to the audit log {}: {e}",
                log.display()
            ));
        }
    }
    drop_unallowed_copy(eval);
    if report_written && eval.record.decision.exit_code == decision::EXIT_ERROR {
        if let Some(p) = out.report {
            if crate::output::write_atomic(p, render(&eval.record, out.format).as_bytes()).is_err()
            {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    let mut changed = false;
    if let Err(e) = print(eval, out) {
        eval.record.fail(format!(
            "cannot write the record to standard output: {e}; nothing is allowed"
        ));
        changed = true;
    }
    if let Some(log) = out.audit_log {
        let event = audit_event(&eval.record, out.report, out.audit_extra.as_ref());
        // Rare after the check above (a full disk, say): the printed record then said more
        // than the exit code, which is what callers act on.
        if let Err(e) = audit::append(log, &event) {
            eval.record.fail(format!(
                "cannot append to the audit log {}: {e}",
                log.display()
            ));
            changed = true;
        }
    }
    if changed {
        drop_unallowed_copy(eval);
        if let (true, Some(p)) = (report_written, out.report) {
            // The report said otherwise a moment ago: bring it in line, or remove it.
            if crate::output::write_atomic(p, render(&eval.record, out.format).as_bytes()).is_err()
            {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    eval.record.decision.exit_code
}

/// A committed redacted copy is only ever left in place with an ALLOW_REDACTED verdict.
fn drop_unallowed_copy(eval: &mut Evaluation) {
    if eval.record.decision.verdict == Verdict::AllowRedacted {
        return;
    }
    if let Some((copy, att)) = eval.redacted.take() {
        let _ = std::fs::remove_file(&copy);
        let _ = std::fs::remove_file(&att);
        eval.record.decision.reasons.push(format!(
            "the redacted copy {} was deleted: the verdict is no longer ALLOW_REDACTED",
            copy.display()
        ));
    }
}

/// Prints the record on standard output when asked.
fn print(eval: &Evaluation, out: &Outputs<'_>) -> std::io::Result<()> {
    if out.print {
        use std::io::Write;
        let text = render(&eval.record, out.format);
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
    }
    Ok(())
}
