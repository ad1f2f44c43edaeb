//! Command-line interface: argument parsing and mapping results to exit codes (DESIGN.md):
//! 0 nothing at or above the threshold · 1 findings at or above it · 2 usage/input error or
//! incomplete scan (outranks 1, as in ripgrep).

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
        /// Known public keys (repeatable; a file or a directory): PEM/DER certificates and
        /// public keys, JWKS/JWK JSON, OpenSSH public keys. Findings of these keys are
        /// labelled with their entry, and their RSA moduli drive the raw prime-factor search.
        #[arg(long, value_name = "PATH")]
        known_keys: Vec<PathBuf>,
    },
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
            let mut files: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .follow_links(false)
                .into_iter()
                .filter_map(|e| match e {
                    Ok(e) => Some(e),
                    Err(err) => {
                        errors.push(format!("{err}"));
                        None
                    }
                })
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .collect();
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
            known_keys,
        } => {
            let inventory = match dumpguard::keys::inventory::load(&known_keys) {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("dumpguard: error: --known-keys {e}");
                    return 2;
                }
            };
            let scanner = Scanner::new().with_inventory(inventory);
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
