//! `dumpguard rules list|check`, and loading `--rules` files for `scan`.

use super::args::RulesArgs;
use clap::Subcommand;
use std::path::PathBuf;

/// `dumpguard rules` subcommands.
#[derive(Subcommand)]
pub enum RulesAction {
    /// List every rule: id, kind, severity, validator, anchors.
    List {
        #[command(flatten)]
        rules: RulesArgs,
    },
    /// Check that every rule's examples behave as declared (exit 1 if one does not).
    Check {
        #[command(flatten)]
        rules: RulesArgs,
    },
}

/// Runs `dumpguard rules …`; returns the exit code.
pub fn run(action: RulesAction) -> i32 {
    match action {
        RulesAction::List { rules } => list(&rules.rules),
        RulesAction::Check { rules } => check(&rules.rules),
    }
}

/// The built-in pack plus rule files; a bad file is a usage error (exit 2).
pub fn load(files: &[PathBuf], include_noisy: bool) -> Result<dumpguard::RuleSet, i32> {
    match dumpguard::RuleSet::with_files(files, include_noisy) {
        Ok(set) => {
            for w in &set.warnings {
                eprintln!("dumpguard: warning: {w}");
            }
            Ok(set)
        }
        Err(e) => {
            eprintln!("dumpguard: error: {e}");
            Err(2)
        }
    }
}

fn list(files: &[PathBuf]) -> i32 {
    let set = match load(files, true) {
        Ok(s) => s,
        Err(code) => return code,
    };
    println!(
        "{:<28} {:<24} {:<8} {:<24} {:<6} ANCHORS",
        "ID", "KIND", "SEVERITY", "VALIDATOR", "NOISY"
    );
    for r in &set.rules {
        let s = &r.spec;
        let anchors: Vec<String> = r
            .text_keywords
            .iter()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .chain(
                r.raw_keywords
                    .iter()
                    .map(|k| format!("hex:{}", hex::encode(k))),
            )
            .collect();
        println!(
            "{:<28} {:<24} {:<8} {:<24} {:<6} {}",
            s.id,
            s.kind,
            s.severity.as_str(),
            s.validator.as_deref().unwrap_or("-"),
            if s.noisy { "yes" } else { "no" },
            anchors.join(" ")
        );
    }
    println!(
        "{} rules ({} noisy, off by default); rules digest {}",
        set.rules.len(),
        set.rules.iter().filter(|r| r.spec.noisy).count(),
        set.digest()
    );
    0
}

fn check(files: &[PathBuf]) -> i32 {
    let set = match load(files, true) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let results = dumpguard::check_rules(&set);
    let mut failed = 0;
    for r in &results {
        let verdict = if r.passed() { "ok  " } else { "FAIL" };
        println!(
            "{verdict} {:<28} {} positive, {} negative  ({})",
            r.id, r.positives, r.negatives, r.source
        );
        for f in &r.failures {
            println!("       failure: {f}");
        }
        for w in &r.warnings {
            println!("       warning: {w}");
        }
        if !r.passed() {
            failed += 1;
        }
    }
    println!("{} rules checked, {} failed", results.len(), failed);
    i32::from(failed > 0)
}
