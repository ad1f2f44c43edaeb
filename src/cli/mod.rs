//! Command-line interface: argument parsing and mapping results to exit codes (docs/design.md):
//! 0 nothing at or above the threshold · 1 findings at or above it · 2 usage/input error or
//! incomplete scan (outranks 1, as in ripgrep).
//!
//! The library ([`dumpguard`]) knows nothing of the command line: it returns reports, decisions
//! and outcomes. Each subcommand is one `cmd_<verb>.rs` here that parses its options (groups
//! shared between commands are in [`args`]), calls the library, prints, and maps the outcome to
//! the exit code.

mod args;
mod cmd_audit;
mod cmd_baseline;
mod cmd_completions;
mod cmd_gate;
mod cmd_man;
mod cmd_rules;
mod cmd_scan;
mod cmd_schema;
mod cmd_sweep;
mod cmd_watch;
mod stdout;
mod sweep_progress;

pub use stdout::EXIT_BROKEN_PIPE;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;

#[derive(Parser)]
#[command(
    name = "dumpguard",
    version,
    about = "Find and prove secrets in crash dumps and memory images"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour severities in human output: `auto` when standard output is a terminal and
    /// NO_COLOR is unset or empty; `always` even then.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour what goes to standard output (`to_stdout` false: to a file).
    /// `always` wins over NO_COLOR, as no-color.org asks of an explicit flag.
    pub fn enabled(self, to_stdout: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                to_stdout
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").unwrap_or_default().is_empty()
                    && std::env::var_os("TERM").unwrap_or_default() != "dumb"
            }
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Scan dumps (files or directories, recursed) and report what is found.
    Scan(cmd_scan::ScanArgs),
    /// Write a baseline of accepted keys from reports (`scan --format json|jsonl`, sweep
    /// JSON Lines): one entry per fingerprint, with the reason. Review it, then pass it as
    /// --baseline to scan or gate.
    Baseline(cmd_baseline::BaselineArgs),
    /// List or check the token rules (built-in pack plus --rules files).
    Rules {
        #[command(subcommand)]
        action: cmd_rules::RulesAction,
    },
    /// Decide whether one dump may leave: prints (and with --report writes) a decision record.
    /// Exit 0 ALLOW, 1 BLOCK, 2 error or incomplete scan (a BLOCK), 3 ALLOW only the redacted
    /// copy written to --redact-to.
    Gate(cmd_gate::GateArgs),
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: cmd_audit::AuditCommand,
    },
    /// A long-running gate: takes complete files from the inbox, moves ALLOWed (or redacted)
    /// dumps to the outbox and the rest to quarantine; every decision goes to the audit log.
    Watch(cmd_watch::WatchArgs),
    /// Sweep directory trees of dumps (and archives of dumps): incremental, resumable,
    /// shardable; JSON Lines, summary and HTML report.
    Sweep(cmd_sweep::SweepArgs),
    /// Merge the JSON Lines outputs of sharded sweeps into one report.
    SweepMerge(cmd_sweep::MergeArgs),
    /// Print a shell completion script: `dumpguard completions bash > /etc/bash_completion.d/dumpguard`.
    Completions(cmd_completions::CompletionsArgs),
    /// Print the man page (roff): `dumpguard man | man -l -`, or `dumpguard man gate` for one
    /// command's page.
    Man(cmd_man::ManArgs),
    /// Print the JSON Schema (draft 2020-12) of an output document: report, scan, decision,
    /// sweep-summary (the files in schemas/ are these); without NAME, list them.
    Schema(cmd_schema::SchemaArgs),
}

/// Runs the command line; returns the process's exit code (docs/design.md).
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Scan(a) => cmd_scan::run(a, cli.color),
        Command::Baseline(a) => cmd_baseline::run(a),
        Command::Rules { action } => cmd_rules::run(action),
        Command::Gate(a) => cmd_gate::run(a),
        Command::Audit { command } => cmd_audit::run(command),
        Command::Watch(a) => cmd_watch::run(a),
        Command::Sweep(a) => cmd_sweep::run(a),
        Command::SweepMerge(a) => cmd_sweep::run_merge(a),
        Command::Completions(a) => cmd_completions::run(a),
        Command::Man(a) => cmd_man::run(a),
        Command::Schema(a) => cmd_schema::run(a),
    }
}

/// Writes generated text (completions, man pages) to standard output: 0, or 2 when it cannot
/// be written (a closed pipe is not an error worth reporting: the reader is gone).
fn emit(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> i32 {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    match write(&mut lock).and_then(|()| std::io::Write::flush(&mut lock)) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("dumpguard: error: writing standard output: {e}");
            2
        }
    }
}
