//! `dumpguard gate`, `dumpguard audit verify` and `dumpguard watch`: argument handling over
//! the library's [`dumpguard::gate`]. Kept apart from `cli.rs` so the shared file only wires
//! subcommands.

use clap::{Subcommand, ValueEnum};
use dumpguard::gate::decision::{EXIT_BLOCK, EXIT_ERROR};
use dumpguard::gate::policy::Policy;
use dumpguard::gate::watch::{WatchConfig, Watcher};
use dumpguard::gate::{audit, finalize, Gate, Outputs, RecordFormat};
use dumpguard::keys::inventory;
use dumpguard::Scanner;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GateFormat {
    Json,
    Sarif,
    Human,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check an audit log's hash chain: exit 0 if intact, 1 if a record was edited, removed,
    /// inserted or reordered (the first broken record is named), 2 if unreadable.
    Verify {
        /// The audit log (JSON Lines).
        file: PathBuf,
        /// The head (`sha256:` of the last line) recorded elsewhere earlier: also detects
        /// records removed from the end, and a rewritten log.
        #[arg(long, value_name = "HASH")]
        head: Option<String>,
        /// The number of records expected (at least): detects records removed from the end.
        #[arg(long, value_name = "N")]
        min_records: Option<u64>,
    },
}

/// Arguments of `dumpguard gate`.
pub struct GateArgs {
    pub dump: PathBuf,
    pub policy: Option<PathBuf>,
    pub known_keys: Vec<PathBuf>,
    pub redact_to: Option<PathBuf>,
    pub audit_log: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub format: GateFormat,
    pub quiet: bool,
    pub baseline: Option<PathBuf>,
    pub input_hash: dumpguard::scan::InputHash,
}

/// Arguments of `dumpguard watch`.
pub struct WatchArgs {
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub quarantine: PathBuf,
    pub work: Option<PathBuf>,
    pub policy: Option<PathBuf>,
    pub known_keys: Vec<PathBuf>,
    pub audit_log: Option<PathBuf>,
    pub settle_ms: u64,
    pub poll_ms: u64,
    pub redact: bool,
    pub once: bool,
}

/// The gate (policy + scanner with the inventory), or why it cannot be built.
fn build_gate(
    policy: Option<&Path>,
    baseline: Option<&Path>,
    known: &[PathBuf],
) -> Result<Gate, String> {
    let mut policy = match policy {
        Some(p) => Policy::load(p).map_err(|e| e.to_string())?,
        None => Policy::default_policy(),
    };
    if let Some(b) = baseline {
        with_baseline(&mut policy, b)?;
    }
    let inventory = inventory::load(known).map_err(|e| format!("--known-keys {e}"))?;
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
    if let Some(p) = &a.policy {
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
    dumpguard::output::check_distinct(&inputs, &outputs)
}

/// True when the audit log is none of the other files of the run (so a refused run can still
/// be logged).
fn audit_apart(a: &GateArgs) -> bool {
    let Some(log) = &a.audit_log else {
        return false;
    };
    let mut others: Vec<(&str, &Path)> = vec![("the dump", a.dump.as_path())];
    others.extend(a.policy.as_deref().map(|p| ("--policy", p)));
    others.extend(a.report.as_deref().map(|p| ("--report", p)));
    others.extend(a.redact_to.as_deref().map(|p| ("--redact-to", p)));
    let att = a
        .redact_to
        .as_deref()
        .map(dumpguard::gate::attestation_path);
    others.extend(att.as_deref().map(|p| ("the attestation", p)));
    dumpguard::output::check_distinct(&others, &[("--audit-log", log)]).is_ok()
}

pub fn gate(a: GateArgs) -> i32 {
    let refused = check_gate_outputs(&a).err();
    let gate = match build_gate(a.policy.as_deref(), a.baseline.as_deref(), &a.known_keys) {
        Ok(g) => g.with_input_hash(a.input_hash),
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
    let code = finalize(
        &mut eval,
        &Outputs {
            report: a.report.as_deref().filter(|_| refused.is_none()),
            audit_log: a
                .audit_log
                .as_deref()
                .filter(|_| refused.is_none() || audit_apart(&a)),
            format,
            print: !a.quiet,
            audit_extra: None,
        },
    );
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

pub fn audit(cmd: AuditCommand) -> i32 {
    match cmd {
        AuditCommand::Verify {
            file,
            head,
            min_records,
        } => match audit::verify(&file) {
            Err(e) => {
                eprintln!("dumpguard: error: {}: {e}", file.display());
                EXIT_ERROR
            }
            Ok(Err(broken)) => {
                println!("TAMPERED {}: {broken}", file.display());
                EXIT_BLOCK
            }
            Ok(Ok(v)) => {
                let mut ok = true;
                if let Some(h) = head {
                    // The expected head must be the hash of one of the lines (the log only
                    // grows): checked by re-reading; cheap next to verification.
                    if !head_in_log(&file, &h) {
                        println!(
                            "TAMPERED {}: the expected head {h} is not a record of this log \
                             (records were removed from the end, or the log was rewritten)",
                            file.display()
                        );
                        ok = false;
                    }
                }
                if let Some(n) = min_records {
                    if v.records < n {
                        println!(
                            "TAMPERED {}: {} records, at least {n} expected (records were \
                             removed from the end)",
                            file.display(),
                            v.records
                        );
                        ok = false;
                    }
                }
                if ok {
                    println!(
                        "OK {}: {} records, chain intact, head {}",
                        file.display(),
                        v.records,
                        v.head
                    );
                    0
                } else {
                    EXIT_BLOCK
                }
            }
        },
    }
}

/// Whether `head` is the hash of one of the log's lines. Streams the file a line at a time
/// (each bounded by [`audit::MAX_RECORD`]): a log of any size is checked in constant memory.
fn head_in_log(file: &Path, head: &str) -> bool {
    use sha2::{Digest, Sha256};
    use std::io::{BufRead, Read};
    let Ok(f) = std::fs::File::open(file) else {
        return false;
    };
    let mut reader = std::io::BufReader::new(f);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(audit::MAX_RECORD + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if !line.is_empty() && format!("sha256:{}", hex::encode(Sha256::digest(&line))) == head {
            return true;
        }
    }
}

pub fn watch(a: WatchArgs) -> i32 {
    let gate = match build_gate(a.policy.as_deref(), None, &a.known_keys) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("dumpguard: error: {e}");
            return EXIT_ERROR;
        }
    };
    let work = a.work.unwrap_or_else(|| a.inbox.join(".dumpguard-work"));
    let audit_log = a.audit_log.unwrap_or_else(|| work.join("audit.jsonl"));
    let cfg = WatchConfig {
        inbox: a.inbox,
        outbox: a.outbox,
        quarantine: a.quarantine,
        work,
        audit_log,
        settle: Duration::from_millis(a.settle_ms),
        poll: Duration::from_millis(a.poll_ms.max(10)),
        redact: a.redact,
        once: a.once,
    };
    let result = Watcher::new(&gate, cfg).and_then(|mut w| w.run());
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dumpguard watch: error: {e}");
            EXIT_ERROR
        }
    }
}
