//! `dumpguard gate`: one decision over the library's [`dumpguard::gate`], its outputs checked
//! against each other first, the verdict line on standard error.

use super::args::{InputHashArgs, KnownKeysArgs, PolicyArgs};
use clap::{Args, ValueEnum};
use dumpguard::gate::decision::EXIT_ERROR;
use dumpguard::gate::outputs::{finalize, Outputs};
use dumpguard::gate::policy::Policy;
use dumpguard::gate::render::RecordFormat;
use dumpguard::gate::{audit, Gate};
use dumpguard::Scanner;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GateFormat {
    Json,
    Sarif,
    Human,
}

/// `dumpguard gate` options.
#[derive(Args)]
pub struct GateArgs {
    /// The dump file.
    dump: PathBuf,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    known_keys: KnownKeysArgs,
    /// Write a redacted copy here (with OUT.attestation.json) when only findings block.
    #[arg(long, value_name = "OUT")]
    redact_to: Option<PathBuf>,
    /// Append the decision to this hash-chained audit log (JSON Lines).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Write the decision record here (atomically, mode 0600).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Format of the printed and written record.
    #[arg(long, value_enum, default_value = "json")]
    format: GateFormat,
    /// Do not print the record on standard output.
    #[arg(long, short)]
    quiet: bool,
    /// Accepted keys (`dumpguard baseline`): added to the policy's allowlist, so their
    /// findings are suppressed with the baseline's reason instead of blocking.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    #[command(flatten)]
    input_hash: InputHashArgs,
}

/// The gate (policy + scanner with the inventory), or why it cannot be built.
pub(super) fn build_gate(
    policy: &PolicyArgs,
    baseline: Option<&Path>,
    known: &KnownKeysArgs,
) -> Result<Gate, String> {
    let mut policy = match &policy.policy {
        Some(p) => Policy::load(p).map_err(|e| e.to_string())?,
        None => Policy::default_policy(),
    };
    if let Some(b) = baseline {
        with_baseline(&mut policy, b)?;
    }
    let inventory = known.load()?;
    Ok(Gate::new(Scanner::new().with_inventory(inventory), policy))
}

/// Adds a baseline's keys to the policy's allowlist (each entry's reason names the baseline),
/// and folds the baseline into the policy's source and digest: a decision record then ties
/// the verdict to the exact policy *and* baseline that made it.
fn with_baseline(policy: &mut Policy, path: &Path) -> Result<(), String> {
    let b = dumpguard::report::baseline::Baseline::load(path).map_err(|e| e.to_string())?;
    policy.fold_baseline(&b, &format!("baseline {}", path.display()));
    Ok(())
}

/// The outputs of one `gate` run must not overwrite the dump, the policy or each other
/// (issue #12, part 3: `--redact-to L --audit-log L` deleted the audit log).
fn check_gate_outputs(a: &GateArgs) -> Result<(), String> {
    let mut inputs: Vec<(&str, &Path)> = vec![("the dump", a.dump.as_path())];
    if let Some(p) = &a.policy.policy {
        inputs.push(("--policy", p));
    }
    if let Some(p) = &a.baseline {
        inputs.push(("--baseline", p));
    }
    let attestation = a
        .redact_to
        .as_deref()
        .map(dumpguard::gate::attestation_path);
    let mut outputs: Vec<(&str, &Path)> = Vec::new();
    if let Some(p) = &a.audit_log {
        outputs.push(("--audit-log", p));
    }
    if let Some(p) = &a.report {
        outputs.push(("--report", p));
    }
    if let Some(p) = &a.redact_to {
        outputs.push(("--redact-to", p));
    }
    if let Some(p) = &attestation {
        outputs.push(("the attestation of --redact-to", p));
    }
    dumpguard::output::check_distinct(&inputs, &outputs).map_err(|e| e.to_string())
}

/// True when the audit log is none of the other files of the run (so a refused run can still
/// be logged).
fn audit_apart(a: &GateArgs) -> bool {
    let Some(log) = &a.audit_log else {
        return false;
    };
    let mut others: Vec<(&str, &Path)> = vec![("the dump", a.dump.as_path())];
    others.extend(a.policy.policy.as_deref().map(|p| ("--policy", p)));
    others.extend(a.report.as_deref().map(|p| ("--report", p)));
    others.extend(a.redact_to.as_deref().map(|p| ("--redact-to", p)));
    let att = a
        .redact_to
        .as_deref()
        .map(dumpguard::gate::attestation_path);
    others.extend(att.as_deref().map(|p| ("the attestation", p)));
    dumpguard::output::check_distinct(&others, &[("--audit-log", log)]).is_ok()
}

/// Runs `dumpguard gate`; returns the exit code (the decision record's).
pub fn run(a: GateArgs) -> i32 {
    let refused = check_gate_outputs(&a).err();
    let gate = match build_gate(&a.policy, a.baseline.as_deref(), &a.known_keys) {
        Ok(g) => g.with_input_hash(a.input_hash.input_hash),
        Err(e) => {
            eprintln!("dumpguard: error: {e}");
            // No policy, no decision — but the attempt still leaves evidence (unless the log
            // is itself one of the colliding outputs).
            if let (Some(log), true) = (&a.audit_log, refused.is_none() || audit_apart(&a)) {
                let event = serde_json::json!({
                    "kind": "gate-error",
                    "dump": { "path": a.dump.display().to_string() },
                    "verdict": "BLOCK",
                    "exit_code": EXIT_ERROR,
                    "reasons": [e],
                });
                if let Err(e) = audit::append(log, &event) {
                    eprintln!("dumpguard: error: audit log {}: {e}", log.display());
                }
            }
            return EXIT_ERROR;
        }
    };
    let format = match a.format {
        GateFormat::Json => RecordFormat::Json,
        GateFormat::Sarif => RecordFormat::Sarif,
        GateFormat::Human => RecordFormat::Human,
    };
    let mut eval = match &refused {
        // Not scanned, and no output written but the audit log when it is not one of the
        // colliding files: the BLOCK record is printed, the attempt is logged.
        Some(why) => {
            eprintln!("dumpguard: error: {why}");
            let size = std::fs::metadata(&a.dump).map(|m| m.len()).unwrap_or(0);
            gate.refuse(&a.dump, size, why.clone())
        }
        None => gate.evaluate(&a.dump, a.redact_to.as_deref()),
    };
    let outcome = finalize(
        &mut eval,
        &Outputs {
            report: a.report.as_deref().filter(|_| refused.is_none()),
            audit_log: a
                .audit_log
                .as_deref()
                .filter(|_| refused.is_none() || audit_apart(&a)),
            format,
            audit_extra: None,
        },
        // The record goes to standard output unless --quiet; a closed or full standard output
        // is a BLOCK (exit 2), which `finalize` records.
        (!a.quiet).then_some(&mut std::io::stdout().lock() as &mut dyn std::io::Write),
    );
    let code = outcome.exit_code;
    let d = &eval.record.decision;
    // Not `eprintln!`: a closed standard error must not turn the recorded exit code into a
    // panic's.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "dumpguard gate: {} {} (exit {code})",
        d.verdict.as_str(),
        a.dump.display()
    );
    code
}
