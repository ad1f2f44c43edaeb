//! `dumpguard baseline`: a baseline of accepted keys from report files.

use super::emit;
use clap::Args;
use dumpguard::report::baseline::Baseline;
use std::path::{Path, PathBuf};

/// `dumpguard baseline` options.
#[derive(Args)]
pub struct BaselineArgs {
    /// Report files.
    #[arg(required = true)]
    reports: Vec<PathBuf>,
    /// Why these keys are accepted (recorded in every entry and every suppressed finding).
    #[arg(long)]
    reason: String,
    /// Where to write the baseline (atomically, mode 0600); standard output when absent.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Runs `dumpguard baseline`; returns the exit code.
pub fn run(a: BaselineArgs) -> i32 {
    let paths: Vec<&Path> = a.reports.iter().map(PathBuf::as_path).collect();
    let b = match Baseline::from_report_files(&paths, &a.reason) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("dumpguard: error: baseline: {e}");
            return 2;
        }
    };
    eprintln!("dumpguard: baseline of {} key(s)", b.entries.len());
    match a.output.as_deref() {
        Some(p) => match dumpguard::output::write_atomic(p, b.to_json().as_bytes()) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("dumpguard: error: cannot write {}: {e}", p.display());
                2
            }
        },
        None => emit(|w| w.write_all(b.to_json().as_bytes())),
    }
}
