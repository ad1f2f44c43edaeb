//! `dumpguard man [COMMAND]`: the man page (roff), generated from the clap definition.

use super::{emit, Cli};
use clap::{Args, CommandFactory};

/// `dumpguard man` options.
#[derive(Args)]
pub struct ManArgs {
    /// A command (e.g. `scan`, `gate`, `sweep`); the main page when absent.
    command: Option<String>,
}

/// Runs `dumpguard man`; returns the exit code.
pub fn run(a: ManArgs) -> i32 {
    match man_page(a.command.as_deref()) {
        Ok(man) => emit(|w| man.render(w)),
        Err(e) => {
            eprintln!("dumpguard: error: man: {e}");
            2
        }
    }
}

/// The man page of the program, or of one of its commands (`dumpguard-scan(1)` style).
fn man_page(command: Option<&str>) -> Result<clap_mangen::Man, String> {
    let root = Cli::command();
    let Some(name) = command else {
        return Ok(clap_mangen::Man::new(root));
    };
    let sub = root
        .get_subcommands()
        .find(|c| c.get_name() == name)
        .ok_or_else(|| format!("no command '{name}'"))?
        .clone();
    Ok(clap_mangen::Man::new(
        sub.bin_name(format!("dumpguard {name}"))
            .version(env!("CARGO_PKG_VERSION")),
    )
    .title(format!("dumpguard-{name}")))
}
