//! `dumpguard schema [NAME]`: the JSON Schema of an output document, or the list of them.

use super::emit;
use clap::Args;
use dumpguard::schema;

/// `dumpguard schema` options.
#[derive(Args)]
pub struct SchemaArgs {
    /// Which document.
    name: Option<String>,
}

/// Runs `dumpguard schema`; returns the exit code.
pub fn run(a: SchemaArgs) -> i32 {
    match a.name.as_deref().map(|n| (n, schema::generate(n))) {
        Some((_, Some(text))) => emit(|w| w.write_all(text.as_bytes())),
        None => emit(|w| {
            schema::NAMES
                .iter()
                .try_for_each(|(n, tag, what)| writeln!(w, "{n}\t{tag}\t{what}"))
        }),
        Some((n, None)) => {
            eprintln!("dumpguard: error: no schema '{n}' (dumpguard schema lists them)");
            2
        }
    }
}
