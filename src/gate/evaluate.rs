//! [`Gate::evaluate`]: scans one dump, judges it under the policy and, when only findings
//! block and a destination is given, writes and proves a redacted copy.

use super::decision::{
    judge, now_rfc3339, unscanned_report, Coverage, Decision, DecisionRecord, PolicyRef, Verdict,
    EXIT_ALLOW_REDACTED,
};
use super::policy::Disposition;
use super::redact::{self, Attestation, FileRef, Rescan};
use super::{attestation_path, same_file, Evaluation, Gate, MAX_REDACTION_ROUNDS};
use crate::input::Dump;
use crate::report::Report;
use crate::scan::Limits;
use crate::Scanner;
use std::path::Path;
use std::time::Instant;

impl Gate {
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
    /// `redact_to` is given, writes a redacted copy there (see `redact`).
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
        } else if rj.exit_code != super::decision::EXIT_ALLOW {
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
