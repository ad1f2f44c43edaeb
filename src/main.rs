//! The dumpguard binary: parse the command line, run it, exit with its code.
//!
//! No panic reaches the user as exit 101 (docs/design.md lists 0–3 only): a panic hook prints one
//! line naming the bug, and `catch_unwind` turns it into exit 2, which every caller already
//! treats as "error, not allowed". A closed standard output (broken pipe) is not a bug: it ends
//! quietly, as in ripgrep.

mod cli;

use clap::Parser;
use std::panic;

fn main() {
    panic::set_hook(Box::new(|info| {
        if is_broken_pipe(payload_text(info.payload())) {
            return;
        }
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // `eprintln!` would panic again if standard error is gone: ignore that failure.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "dumpguard: internal error{at}: {}; nothing was allowed (exit 2)",
            payload_text(info.payload()).unwrap_or("panic")
        );
    }));
    // Usage errors exit 2 (clap's default), matching docs/design.md.
    let code = match panic::catch_unwind(|| cli::run(cli::Cli::parse())) {
        Ok(code) => code,
        Err(payload) if is_broken_pipe(payload_text(payload.as_ref())) => cli::EXIT_BROKEN_PIPE,
        Err(_) => 2,
    };
    std::process::exit(code);
}

fn payload_text(p: &(dyn std::any::Any + Send)) -> Option<&str> {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

/// `print!` panics with "failed printing to stdout: Broken pipe" when the reader has gone.
fn is_broken_pipe(msg: Option<&str>) -> bool {
    msg.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("os error 32"))
}
