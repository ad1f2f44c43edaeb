//! `dumpguard sweep` and `dumpguard sweep-merge`: options over the library's
//! [`dumpguard::sweep`], the terminal side of its [`Observer`] (progress, log lines, what goes
//! to standard output) and the exit code of its summary.

use super::args::{FailOnArgs, TimeLimitArgs};
use super::sweep_progress::Progress;
use clap::{Args, ValueEnum};
use dumpguard::report::escape::visible;
use dumpguard::report::Severity;
use dumpguard::sweep::Shard;
use dumpguard::sweep::Summary;
use dumpguard::sweep::{MergeOptions, Observer, SweepOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// What `sweep` and `sweep-merge` print on standard output.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SweepFormat {
    /// The summary as text.
    Human,
    /// The summary as one JSON document (`dumpguard.sweep-summary/v1`).
    Json,
    /// The per-dump records (JSON Lines) on standard output; the summary goes to stderr.
    Jsonl,
}

/// `dumpguard sweep` options.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Directory trees (or single files) to sweep.
    #[arg(required = true, value_name = "ROOT")]
    roots: Vec<PathBuf>,
    /// Incremental state (SQLite). Without it nothing is remembered: every file is scanned
    /// and every finding is new.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Write one schema-v1 report per dump as JSON Lines (atomically, mode 0600).
    #[arg(long, value_name = "FILE.jsonl")]
    out: Option<PathBuf>,
    /// Write the self-contained HTML report (atomically, mode 0600).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the findings as one SARIF 2.1.0 log (atomically, mode 0600), for code-scanning
    /// dashboards: the same rules and fingerprints as `scan --format sarif`.
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// What goes to standard output.
    #[arg(long, value_enum, default_value = "human")]
    format: SweepFormat,
    /// Sweep only shard K of N (1-based); N processes with K = 1..N cover the tree once.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Files scanned side by side (default: one per CPU); a large file also uses the pool.
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    jobs: Option<usize>,
    /// Sweep only files matching GLOB (repeatable). Without `/` it matches the file name,
    /// with `/` the path relative to the root.
    #[arg(long = "include", value_name = "GLOB")]
    include: Vec<String>,
    /// Skip files and prune directories matching GLOB (repeatable; same matching).
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
    /// Also descend into .git, .hg, .svn, .snapshot, .zfs and lost+found.
    #[arg(long)]
    no_default_excludes: bool,
    /// Skip files modified less than SECONDS ago (dumps still being written).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    min_age: u64,
    /// Re-hash files whose size and mtime are unchanged and rescan those whose content
    /// changed anyway (reads every byte; catches tools that restore mtimes).
    #[arg(long)]
    rehash: bool,
    /// Archives inside archives, at most this deep.
    #[arg(long, value_name = "N", default_value_t = 3)]
    archive_depth: u32,
    /// Where archive members are expanded (anonymous files, freed even on SIGKILL).
    #[arg(long, value_name = "DIR")]
    tmpdir: Option<PathBuf>,
    #[command(flatten)]
    time_limit: TimeLimitArgs,
    /// The gate's policy file (TOML, `dumpguard gate --policy`): which findings block and
    /// which keys are allowlisted; each dump gets the verdict the gate would give it. The
    /// built-in default (rules/policy.toml) when absent. A change rescans on the next sweep.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Accepted keys (`dumpguard baseline`): their findings are reported as suppressed, with
    /// the reason, and neither block nor count towards the exit code (matched by
    /// fingerprint). A change rescans on the next sweep.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    #[command(flatten)]
    fail_on: FailOnArgs,
    /// Exit 0 whenever the sweep ran to the end, whatever it found (findings and incomplete
    /// dumps are in the reports); non-zero only when the sweep itself failed. For schedulers
    /// that retry failed jobs (a retried sweep resumes where it stopped).
    #[arg(long)]
    exit_zero: bool,
    /// Sweep a root even if it is empty (by default an empty root is refused: an unmounted
    /// share would otherwise mark every dump under it gone).
    #[arg(long)]
    allow_empty_root: bool,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
    /// One line per entry on stderr: scanned (with findings), skipped or failed, and why.
    #[arg(long, short)]
    verbose: bool,
}

/// `--jobs`: 1 to 1024 (each job is a thread; a huge count used to be passed to the pool).
fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' is not a number of jobs from 1 to 1024")),
    }
}

/// Runs `dumpguard sweep`; returns the exit code (docs/design.md): 2 if an entry failed or a dump
/// could not be scanned completely (or the sweep itself failed), else 1 if a finding reaches
/// `--fail-on`, else 0 (always 0 with `--exit-zero` when the sweep ran to the end).
pub fn run(a: SweepArgs) -> i32 {
    let opts = SweepOptions {
        roots: a.roots,
        state: a.state,
        out: a.out,
        html: a.html,
        sarif: a.sarif,
        shard: a.shard,
        jobs: a.jobs,
        include: a.include,
        exclude: a.exclude,
        no_default_excludes: a.no_default_excludes,
        min_age: a.min_age,
        rehash: a.rehash,
        archive_depth: a.archive_depth,
        tmpdir: a.tmpdir,
        time_limit: a.time_limit.time_limit,
        policy: a.policy,
        baseline: a.baseline,
        allow_empty_root: a.allow_empty_root,
    };
    let term = Terminal::new(a.format, a.quiet, a.verbose);
    exit_code(
        dumpguard::sweep::run(&opts, &term),
        a.fail_on.fail_on,
        a.exit_zero,
    )
}

/// `dumpguard sweep-merge` options.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// JSON Lines outputs of `dumpguard sweep --out` (one per shard).
    #[arg(required = true, value_name = "SHARD.jsonl")]
    inputs: Vec<PathBuf>,
    /// Write the merged JSON Lines (atomically, mode 0600).
    #[arg(long, value_name = "FILE.jsonl")]
    out: Option<PathBuf>,
    /// Write the HTML report of the whole sweep.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// What goes to standard output.
    #[arg(long, value_enum, default_value = "human")]
    format: SweepFormat,
    #[command(flatten)]
    fail_on: FailOnArgs,
    /// Exit 0 whenever the merge succeeds, whatever the sweep found.
    #[arg(long)]
    exit_zero: bool,
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `dumpguard sweep-merge`; returns the exit code, as `sweep` does.
pub fn run_merge(a: MergeArgs) -> i32 {
    let opts = MergeOptions {
        inputs: a.inputs,
        out: a.out,
        html: a.html,
    };
    let term = Terminal::new(a.format, a.quiet, false);
    exit_code(
        dumpguard::sweep::merge(&opts, &term),
        a.fail_on.fail_on,
        a.exit_zero,
    )
}

/// The exit code of a sweep's (or merge's) outcome.
fn exit_code(
    outcome: Result<Summary, dumpguard::sweep::SweepError>,
    fail_on: Severity,
    exit_zero: bool,
) -> i32 {
    match outcome {
        Err(e) => {
            eprintln!("dumpguard: error: {e}");
            2
        }
        Ok(_) if exit_zero => 0,
        Ok(s) if s.has_errors() => 2,
        Ok(s) if s.max_severity().is_some_and(|m| m >= fail_on) => 1,
        Ok(_) => 0,
    }
}

/// The sweep on a terminal (or in a log): notes and the progress on standard error unless
/// `--quiet`, unscanned entries with `--verbose`, records and summary on standard output as
/// `--format` says.
struct Terminal {
    format: SweepFormat,
    quiet: bool,
    verbose: bool,
    progress: OnceLock<Progress>,
}

impl Terminal {
    fn new(format: SweepFormat, quiet: bool, verbose: bool) -> Terminal {
        Terminal {
            format,
            quiet,
            verbose,
            progress: OnceLock::new(),
        }
    }
}

impl Observer for Terminal {
    fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    fn unscanned(&self, status: dumpguard::sweep::EntryStatus, path: &str, reason: &str) {
        if self.verbose {
            eprintln!("{status} {}: {}", visible(path), visible(reason));
        }
    }

    fn start(&self, total_bytes: u64, total_files: u64) {
        let _ = self.progress.set(Progress::new(
            total_bytes,
            total_files,
            self.quiet,
            self.verbose,
        ));
    }

    fn bytes(&self, n: u64) {
        if let Some(p) = self.progress.get() {
            p.bytes(n);
        }
    }

    fn entry(&self, line: &dyn Fn() -> String) {
        if let Some(p) = self.progress.get() {
            p.entry(line);
        }
    }

    fn finish(&self) {
        if let Some(p) = self.progress.get() {
            p.finish();
        }
    }

    fn line(&self, line: &str) -> std::io::Result<()> {
        if self.format == SweepFormat::Jsonl {
            writeln!(std::io::stdout().lock(), "{line}")?;
        }
        Ok(())
    }

    fn summary(&self, s: &Summary) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match self.format {
            SweepFormat::Human => write!(stdout, "{}", s.render_human()),
            SweepFormat::Json => writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(s).expect("summary serialises")
            ),
            SweepFormat::Jsonl => {
                if !self.quiet {
                    // Paths and kinds come from the tree and its dumps: escaped like every
                    // human output.
                    for l in s.render_human().lines() {
                        let _ = writeln!(std::io::stderr(), "{}", visible(l));
                    }
                }
                Ok(())
            }
        }
    }
}
