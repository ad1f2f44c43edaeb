//! The dumpguard binary: parse the command line, run it, exit with its code.

mod cli;

use clap::Parser;

fn main() {
    // Usage errors exit 2 (clap's default), matching DESIGN.md.
    let cli = cli::Cli::parse();
    std::process::exit(cli::run(cli));
}
