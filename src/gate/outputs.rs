//! [`finalize`]: the outputs of one decision (report file, printed record, audit log), written
//! so that what they say is the verdict and exit code actually given.

use super::audit::{self, audit_event};
use super::decision::Verdict;
use super::render::{render, RecordFormat};
use super::{same_file, Evaluation};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What one gate run decided: the verdict, and the exit code docs/design.md gives it (the one the
/// decision record holds: 1 or 2 for a BLOCK, 3 for ALLOW_REDACTED). `dumpguard gate` exits
/// with [`GateOutcome::exit_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateOutcome {
    /// ALLOW, BLOCK or ALLOW_REDACTED, after any output failure downgraded it.
    pub verdict: Verdict,
    /// The exit code the decision record holds for that verdict.
    pub exit_code: i32,
}

impl GateOutcome {
    fn of(eval: &Evaluation) -> GateOutcome {
        GateOutcome {
            verdict: eval.record.decision.verdict,
            exit_code: eval.record.decision.exit_code,
        }
    }
}

/// Where the outputs of one decision go.
pub struct Outputs<'a> {
    /// Where to write the full decision record (`--report`), if anywhere.
    pub report: Option<&'a Path>,
    /// The hash-chained audit log to append the decision to (`--audit-log`).
    pub audit_log: Option<&'a Path>,
    /// The format of the record written to the caller's writer.
    pub format: RecordFormat,
    /// Extra members for the audit event (watch mode: where the file went).
    pub audit_extra: Option<serde_json::Value>,
}

/// Writes the report file, checks that the audit log can take a record, prints the record, then
/// appends the audit record. Any failure turns the verdict into BLOCK (exit 2); outputs already
/// written are brought in line (the report rewritten, a redacted copy that is no longer allowed
/// deleted). The audit record comes last so that it holds the verdict and exit code actually
/// given: a closed or full standard output used to leave "ALLOW, exit 0" in the log of a run
/// that exited 2 (issue #12, part 5).
/// `print`, when given, receives the record (standard output for `dumpguard gate`; a failure
/// to write it is a BLOCK too). Returns the outcome, whose exit code the binary exits with.
pub fn finalize(
    eval: &mut Evaluation,
    out: &Outputs<'_>,
    mut print: Option<&mut dyn Write>,
) -> GateOutcome {
    let dump_path = PathBuf::from(&eval.record.report.input.path);
    for (what, p) in [("--report", out.report), ("--audit-log", out.audit_log)] {
        if p.is_some_and(|p| same_file(&dump_path, p)) {
            eval.record.fail(format!(
                "{what} names the dump itself; the original is never modified"
            ));
            drop_unallowed_copy(eval);
            let _ = print_record(eval, out, &mut print);
            return GateOutcome::of(eval);
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
    if report_written && eval.record.decision.exit_code == super::decision::EXIT_ERROR {
        if let Some(p) = out.report {
            if crate::output::write_atomic(p, render(&eval.record, out.format).as_bytes()).is_err()
            {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    let mut changed = false;
    if let Err(e) = print_record(eval, out, &mut print) {
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
    GateOutcome::of(eval)
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

/// Writes the record to `print`, when given.
fn print_record(
    eval: &Evaluation,
    out: &Outputs<'_>,
    print: &mut Option<&mut dyn Write>,
) -> std::io::Result<()> {
    if let Some(w) = print.as_mut() {
        w.write_all(render(&eval.record, out.format).as_bytes())?;
        w.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::policy::Policy;
    use crate::gate::Gate;
    use crate::Scanner;

    fn evaluation() -> Evaluation {
        let gate = Gate::new(Scanner::new(), Policy::default_policy());
        let dump = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-dumps/test-keys.dmp");
        gate.evaluate(&dump, None)
    }

    fn outputs() -> Outputs<'static> {
        Outputs {
            report: None,
            audit_log: None,
            format: RecordFormat::Json,
            audit_extra: None,
        }
    }

    /// The record goes to the writer handed in, and the outcome is the record's verdict and
    /// exit code: the binary exits with what the record says.
    #[test]
    fn the_outcome_is_the_printed_record_s() {
        let mut eval = evaluation();
        let mut printed = Vec::new();
        let outcome = finalize(&mut eval, &outputs(), Some(&mut printed));
        assert_eq!(outcome.verdict, Verdict::Block);
        assert_eq!(outcome.exit_code, 1);
        let record: serde_json::Value = serde_json::from_slice(&printed).unwrap();
        assert_eq!(record["decision"]["verdict"], "BLOCK");
        assert_eq!(record["decision"]["exit_code"], 1);
    }

    /// A record that cannot be delivered is a BLOCK with exit 2, whatever the scan said.
    #[test]
    fn a_writer_that_fails_makes_the_outcome_an_error() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut eval = evaluation();
        let outcome = finalize(&mut eval, &outputs(), Some(&mut Closed));
        assert_eq!(outcome.verdict, Verdict::Block);
        assert_eq!(outcome.exit_code, crate::gate::decision::EXIT_ERROR);
        assert_eq!(eval.record.decision.exit_code, outcome.exit_code);
    }
}
