//! `dumpguard completions SHELL`: a completion script generated from the same clap
//! definition as the parser, so it never drifts from the real options.

use super::{emit, Cli};
use clap::{Args, CommandFactory};

/// `dumpguard completions` options.
#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Runs `dumpguard completions`; returns the exit code.
pub fn run(a: CompletionsArgs) -> i32 {
    emit(|w| {
        clap_complete::generate(a.shell, &mut Cli::command(), "dumpguard", w);
        Ok(())
    })
}
