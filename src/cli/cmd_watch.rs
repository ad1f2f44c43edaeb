//! `dumpguard watch`: the gate as a long-running inbox daemon over the library's
//! [`dumpguard::gate::watch::Watcher`].

use super::args::{KnownKeysArgs, PolicyArgs};
use super::cmd_gate::build_gate;
use clap::Args;
use dumpguard::gate::decision::EXIT_ERROR;
use dumpguard::gate::watch::{WatchConfig, WatchReport, Watcher};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// `dumpguard watch` options.
#[derive(Args)]
pub struct WatchArgs {
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
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    known_keys: KnownKeysArgs,
    /// Audit log (default WORK/audit.jsonl).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// A file is complete when its size and mtime stay unchanged this long (and no process
    /// has it open for writing).
    #[arg(long, value_name = "MS", default_value = "2000",
          value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    settle_ms: u64,
    /// How often the inbox is listed.
    #[arg(long, value_name = "MS", default_value = "500",
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    poll_ms: u64,
    /// Send a redacted copy to the outbox when only findings block (the original goes to
    /// quarantine).
    #[arg(long)]
    redact: bool,
    /// Recover, process the files complete now, and exit.
    #[arg(long)]
    once: bool,
}

/// Runs `dumpguard watch` until it fails (or, with `--once`, after one pass); returns the
/// exit code.
pub fn run(a: WatchArgs) -> i32 {
    let gate = match build_gate(&a.policy, None, &a.known_keys) {
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
    let result = Watcher::new(&gate, cfg).and_then(|w| w.with_report(Box::new(Terminal)).run());
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dumpguard watch: error: {e}");
            EXIT_ERROR
        }
    }
}

/// Warnings on standard error, one JSON line per decision on standard output.
struct Terminal;

impl WatchReport for Terminal {
    fn warn(&mut self, msg: &str) {
        eprintln!("dumpguard watch: {msg}");
    }

    fn decided(&mut self, event: &serde_json::Value) {
        // Not `println!`: a closed standard output must not stop the daemon mid-protocol.
        let _ = writeln!(std::io::stdout(), "{event}");
    }
}
