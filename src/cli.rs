//! Command-line interface: argument parsing and mapping results to exit codes (DESIGN.md):
//! 0 nothing at or above the threshold · 1 findings at or above it · 2 usage/input error or
//! incomplete scan (outranks 1, as in ripgrep).

mod gate_cmd;
mod rules_cmd;

use clap::{Parser, Subcommand, ValueEnum};
use dumpguard::report::{human, Report, Severity};
use dumpguard::scan::Limits;
use dumpguard::Scanner;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "dumpguard",
    version,
    about = "Find and prove secrets in crash dumps and memory images"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
    Jsonl,
    /// SARIF 2.1.0 (one run, byte offsets in each result's region).
    Sarif,
}

#[derive(Subcommand)]
pub enum Command {
    /// Scan dumps (files or directories, recursed) and report what is found.
    Scan {
        /// Dump files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format. `json` is one pretty document for a single input and JSON Lines for
        /// several; `jsonl` is always one document per line.
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
        /// Write the report to FILE (atomically, mode 0600) instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Lowest severity that makes the exit code 1.
        #[arg(long, default_value = "high", value_parser = parse_severity)]
        fail_on: Severity,
        /// Give up on an input after this many seconds (the scan is then incomplete: exit 2).
        #[arg(long, value_name = "SECONDS")]
        time_limit: Option<u64>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Add token rules from FILE (dumpguard or gitleaks TOML); repeatable.
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Also run rules marked noisy (generic high-entropy assignments).
        #[arg(long)]
        include_noisy: bool,
        /// Run only these detector families (comma-separated): keys (PEM, DER, base64),
        /// wrappers (CNG, CAPI, SymCrypt, XML, JWK, OpenSSH, PuTTY, PGP, PKCS#12), raw (public
        /// keys, RSA factors, big integers, AES schedules), tokens. Default: all.
        #[arg(long, value_delimiter = ',', value_name = "FAMILIES")]
        detectors: Vec<String>,
        /// Known public keys (repeatable; a file or a directory): PEM/DER certificates and
        /// public keys, JWKS/JWK JSON, OpenSSH public keys. Findings of these keys are
        /// labelled with their entry, and their RSA moduli drive the raw prime-factor search.
        #[arg(long, value_name = "PATH")]
        known_keys: Vec<PathBuf>,
    },
    /// List or check the token rules (built-in pack plus --rules files).
    Rules {
        #[command(subcommand)]
        action: rules_cmd::RulesAction,
    },
    /// Decide whether one dump may leave: prints (and with --report writes) a decision record.
    /// Exit 0 ALLOW, 1 BLOCK, 2 error or incomplete scan (a BLOCK), 3 ALLOW only the redacted
    /// copy written to --redact-to.
    Gate {
        /// The dump file.
        dump: PathBuf,
        /// Policy file (TOML); the built-in default (rules/policy.toml) when absent.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Known public keys (repeatable; a file or a directory): PEM/DER certificates and
        /// public keys, JWKS/JWK JSON, OpenSSH public keys.
        #[arg(long, value_name = "PATH")]
        known_keys: Vec<PathBuf>,
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
        format: gate_cmd::GateFormat,
        /// Do not print the record on standard output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: gate_cmd::AuditCommand,
    },
    /// A long-running gate: takes complete files from the inbox, moves ALLOWed (or redacted)
    /// dumps to the outbox and the rest to quarantine; every decision goes to the audit log.
    Watch {
        /// Where dumps arrive (write them under a dot-name or *.part and rename when done).
        #[arg(long, value_name = "DIR")]
        inbox: PathBuf,
        /// Where ALLOWed dumps (and redacted copies) go.
        #[arg(long, value_name = "DIR")]
        outbox: PathBuf,
        /// Where BLOCKed dumps (and originals of redacted ones) go, each with
        /// NAME.decision.json.
        #[arg(long, value_name = "DIR")]
        quarantine: PathBuf,
        /// Work directory, on the same filesystem (default INBOX/.dumpguard-work).
        #[arg(long, value_name = "DIR")]
        work: Option<PathBuf>,
        /// Policy file (TOML); the built-in default when absent.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Known public keys (repeatable; a file or a directory): PEM/DER certificates and
        /// public keys, JWKS/JWK JSON, OpenSSH public keys.
        #[arg(long, value_name = "PATH")]
        known_keys: Vec<PathBuf>,
        /// Audit log (default WORK/audit.jsonl).
        #[arg(long, value_name = "FILE")]
        audit_log: Option<PathBuf>,
        /// A file is complete when its size and mtime stay unchanged this long (and no process
        /// has it open for writing).
        #[arg(long, value_name = "MS", default_value = "2000")]
        settle_ms: u64,
        /// How often the inbox is listed.
        #[arg(long, value_name = "MS", default_value = "500")]
        poll_ms: u64,
        /// Send a redacted copy to the outbox when only findings block (the original goes to
        /// quarantine).
        #[arg(long)]
        redact: bool,
        /// Recover, process the files complete now, and exit.
        #[arg(long)]
        once: bool,
    },
    /// Sweep directory trees of dumps (and archives of dumps): incremental, resumable,
    /// shardable; JSON Lines, summary and HTML report.
    Sweep(dumpguard::sweep::SweepArgs),
    /// Merge the JSON Lines outputs of sharded sweeps into one report.
    SweepMerge(dumpguard::sweep::MergeArgs),
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity '{s}' (low, medium, high, critical)"))
}

/// Expands directories (sorted, so output order is deterministic).
fn collect_inputs(paths: &[PathBuf], errors: &mut Vec<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = Vec::new();
            for e in walkdir::WalkDir::new(p).follow_links(false) {
                let e = match e {
                    Ok(e) => e,
                    Err(err) => {
                        errors.push(format!("{err}"));
                        continue;
                    }
                };
                // Never silently: what is not scanned is said, and makes the run exit 2.
                let t = e.file_type();
                if t.is_file() {
                    files.push(e.into_path());
                } else if !t.is_dir() {
                    let what = if t.is_symlink() {
                        "a symbolic link (not followed)"
                    } else {
                        "not a regular file (FIFO, socket or device)"
                    };
                    errors.push(format!("{}: skipped: {what}", e.path().display()));
                }
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Progress on a terminal for large inputs; nothing otherwise.
fn progress_bar(total: u64, quiet: bool) -> Option<ProgressBar> {
    const SHOW_FROM: u64 = 64 << 20;
    if quiet || total < SHOW_FROM || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
            .expect("static template"),
    );
    Some(pb)
}

pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Scan {
            paths,
            format,
            output,
            fail_on,
            time_limit,
            quiet,
            rules,
            include_noisy,
            detectors,
            known_keys,
        } => {
            let inventory = match dumpguard::keys::inventory::load(&known_keys) {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("dumpguard: error: --known-keys {e}");
                    return 2;
                }
            };
            let mut scanner = match rules_cmd::load(&rules, include_noisy) {
                Ok(set) => Scanner::new().with_rules(set).with_inventory(inventory),
                Err(code) => return code,
            };
            if !detectors.is_empty() {
                scanner = match scanner.with_families(&detectors) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("dumpguard: error: --detectors: {e}");
                        return 2;
                    }
                };
            }
            scan(
                &scanner,
                &paths,
                format,
                output.as_deref(),
                fail_on,
                time_limit,
                quiet,
            )
        }
        Command::Rules { action } => rules_cmd::run(action),
        Command::Gate {
            dump,
            policy,
            known_keys,
            redact_to,
            audit_log,
            report,
            format,
            quiet,
        } => gate_cmd::gate(gate_cmd::GateArgs {
            dump,
            policy,
            known_keys,
            redact_to,
            audit_log,
            report,
            format,
            quiet,
        }),
        Command::Audit { command } => gate_cmd::audit(command),
        Command::Watch {
            inbox,
            outbox,
            quarantine,
            work,
            policy,
            known_keys,
            audit_log,
            settle_ms,
            poll_ms,
            redact,
            once,
        } => gate_cmd::watch(gate_cmd::WatchArgs {
            inbox,
            outbox,
            quarantine,
            work,
            policy,
            known_keys,
            audit_log,
            settle_ms,
            poll_ms,
            redact,
            once,
        }),
        Command::Sweep(args) => dumpguard::sweep::run(args),
        Command::SweepMerge(args) => dumpguard::sweep::merge(args),
    }
}

fn scan(
    scanner: &Scanner,
    paths: &[PathBuf],
    format: OutputFormat,
    output: Option<&Path>,
    fail_on: Severity,
    time_limit: Option<u64>,
    quiet: bool,
) -> i32 {
    let mut errors = Vec::new();
    let inputs = collect_inputs(paths, &mut errors);
    let total: u64 = inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let pb = progress_bar(total, quiet);
    let mut reports: Vec<Report> = Vec::new();
    for path in &inputs {
        let limits = Limits {
            deadline: time_limit.map(|s| Instant::now() + Duration::from_secs(s)),
        };
        let tick = |n: u64| {
            if let Some(pb) = &pb {
                pb.inc(n);
            }
        };
        match scanner.scan_path_with_progress(path, &limits, &tick) {
            Ok(r) => reports.push(r),
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }

    let text = match format {
        OutputFormat::Human => reports
            .iter()
            .map(human::render)
            .collect::<Vec<_>>()
            .join("\n"),
        OutputFormat::Json if reports.len() == 1 => reports[0].to_json(true) + "\n",
        OutputFormat::Json | OutputFormat::Jsonl => {
            reports.iter().map(|r| r.to_json(false) + "\n").collect()
        }
        OutputFormat::Sarif => {
            dumpguard::report::sarif::render(&reports.iter().collect::<Vec<_>>(), None)
        }
    };
    match output {
        Some(p) => {
            if let Err(e) = dumpguard::output::write_atomic(p, text.as_bytes()) {
                errors.push(format!("cannot write {}: {e}", p.display()));
            }
        }
        None => print!("{text}"),
    }
    for e in &errors {
        eprintln!("dumpguard: error: {e}");
    }
    let incomplete = reports.iter().any(|r| !r.input.complete);
    if !errors.is_empty() || incomplete {
        2
    } else if reports
        .iter()
        .any(|r| r.max_severity().is_some_and(|s| s >= fail_on))
    {
        1
    } else {
        0
    }
}
