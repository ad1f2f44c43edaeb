//! The decision record as the gate prints and writes it: JSON, SARIF or text.

use super::decision::DecisionRecord;
use super::policy::FindingDisposition;

/// Output rendering of the decision record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// The decision record as JSON (`dumpguard.report/v1` plus `decision`).
    Json,
    /// The record as a SARIF 2.1.0 log, each finding with its disposition.
    Sarif,
    /// A short text summary for a terminal.
    Human,
}

/// The record in `format`, as `dumpguard gate` prints and writes it.
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
            for f in d
                .findings
                .iter()
                .filter(|f| f.disposition == FindingDisposition::Suppressed)
            {
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
