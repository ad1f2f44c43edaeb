//! `dumpguard scan`: scans files, directories or standard input and prints the reports in
//! the chosen format; exit 0, 1 (a finding at or above `--fail-on`) or 2 (an input failed or
//! was scanned incompletely).

use super::args::{FailOnArgs, InputHashArgs, KnownKeysArgs, RulesArgs, TimeLimitArgs};
use super::{cmd_rules, stdout, ColorChoice};
use clap::{Args, ValueEnum};
use dumpguard::report::baseline::Baseline;
use dumpguard::report::{human, Report, Severity};
use dumpguard::Limits;
use dumpguard::Scanner;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
    Jsonl,
    /// SARIF 2.1.0 (one run, byte offsets in each result's region).
    Sarif,
}

/// `dumpguard scan` options.
#[derive(Args)]
pub struct ScanArgs {
    /// Dump files or directories; `-` reads one dump from standard input (spooled to a
    /// private temporary file, at most --max-stdin-bytes).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format. `json` is always exactly one document: the report for a single file
    /// argument, a `dumpguard.scan/v1` object holding every report when the arguments are
    /// several or a directory (whatever it holds). `jsonl` is always one report per line.
    #[arg(long, value_enum, default_value = "human")]
    format: OutputFormat,
    /// Write the report to FILE (atomically, mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    fail_on: FailOnArgs,
    #[command(flatten)]
    time_limit: TimeLimitArgs,
    #[command(flatten)]
    input_hash: InputHashArgs,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    rules: RulesArgs,
    /// Also run rules marked noisy (generic high-entropy assignments).
    #[arg(long)]
    include_noisy: bool,
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "FAMILIES",
        help = "Run only these detector families (comma-separated): keys, wrappers, raw, tokens. Default: all",
        long_help = dumpguard::families_help()
    )]
    detectors: Vec<String>,
    #[command(flatten)]
    known_keys: KnownKeysArgs,
    /// Largest dump accepted on standard input (`-`), in bytes: the spool file never
    /// grows past it. Default: the gate's default size limit, 64 GiB.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 30)]
    max_stdin_bytes: u64,
    /// Accepted keys (`dumpguard baseline`): their findings are reported as suppressed,
    /// with the reason, and do not count towards the exit code.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
}

/// Runs `dumpguard scan`; returns the exit code.
pub fn run(a: ScanArgs, color: ColorChoice) -> i32 {
    let baseline = match a
        .baseline
        .as_deref()
        .map(|p| {
            Ok::<_, String>((
                p.display().to_string(),
                Baseline::load(p).map_err(|e| e.to_string())?,
            ))
        })
        .transpose()
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("dumpguard: error: --baseline {e}");
            return 2;
        }
    };
    let inventory = match a.known_keys.load() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("dumpguard: error: {e}");
            return 2;
        }
    };
    let mut scanner = match cmd_rules::load(&a.rules.rules, a.include_noisy) {
        Ok(set) => Scanner::new().with_rules(set).with_inventory(inventory),
        Err(code) => return code,
    };
    if !a.detectors.is_empty() {
        scanner = match scanner.with_families(&a.detectors) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("dumpguard: error: --detectors: {e}");
                return 2;
            }
        };
    }
    scan(
        &scanner,
        &a.paths,
        ScanOutput {
            format: a.format,
            output: a.output.as_deref(),
            color,
            baseline: baseline.as_ref().map(|(p, b)| (format!("baseline {p}"), b)),
            input_hash: a.input_hash.input_hash,
        },
        a.fail_on.fail_on,
        a.time_limit.time_limit,
        a.quiet,
        a.max_stdin_bytes,
    )
}

/// Expands directories (sorted, so output order is deterministic).
fn collect_inputs(paths: &[PathBuf], errors: &mut Vec<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = Vec::new();
            for e in walkdir::WalkDir::new(p).follow_links(false) {
                let e = match e {
                    Ok(e) => e,
                    Err(err) => {
                        errors.push(format!("{err}"));
                        continue;
                    }
                };
                // Never silently: what is not scanned is said, and makes the run exit 2.
                let t = e.file_type();
                if t.is_file() {
                    files.push(e.into_path());
                } else if !t.is_dir() {
                    let what = if t.is_symlink() {
                        "a symbolic link (not followed)"
                    } else {
                        "not a regular file (FIFO, socket or device)"
                    };
                    errors.push(format!("{}: skipped: {what}", e.path().display()));
                }
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Progress on a terminal for large inputs; nothing otherwise.
fn progress_bar(total: u64, quiet: bool) -> Option<ProgressBar> {
    const SHOW_FROM: u64 = 64 << 20;
    if quiet || total < SHOW_FROM || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
            .expect("static template"),
    );
    Some(pb)
}

/// Where and how `scan` prints.
struct ScanOutput<'a> {
    format: OutputFormat,
    output: Option<&'a Path>,
    color: ColorChoice,
    /// The baseline and how suppressions name it.
    baseline: Option<(String, &'a Baseline)>,
    /// What identifies each input in its report.
    input_hash: dumpguard::InputHash,
}

/// Whether the arguments can name several inputs: then the JSON output is a collection
/// document even if they expand to one file or none, so its shape never depends on the data.
fn several_inputs(paths: &[PathBuf]) -> bool {
    paths.len() > 1 || paths.iter().any(|p| p.is_dir())
}

/// Copies standard input into a private (0600, unlinked on drop) temporary file, refusing
/// more than `limit` bytes: the scanner memory-maps files, and a pipe cannot be mapped.
fn spool_stdin(limit: u64) -> Result<tempfile::NamedTempFile, String> {
    use std::io::{Read, Write};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err("standard input is a terminal; pipe a dump into `scan -`".into());
    }
    let mut file = tempfile::Builder::new()
        .prefix("dumpguard-stdin-")
        .tempfile()
        .map_err(|e| format!("cannot create a temporary file: {e}"))?;
    let copied = std::io::copy(&mut stdin.lock().take(limit.saturating_add(1)), &mut file)
        .map_err(|e| format!("reading standard input: {e}"))?;
    if copied > limit {
        return Err(format!(
            "standard input is larger than --max-stdin-bytes ({limit} bytes); not scanned"
        ));
    }
    file.flush()
        .map_err(|e| format!("writing the temporary file: {e}"))?;
    Ok(file)
}

/// Scans one input argument (a file, or `-` for standard input).
fn scan_one(
    scanner: &Scanner,
    path: &Path,
    limits: &Limits,
    tick: &(dyn Fn(u64) + Sync),
    max_stdin_bytes: u64,
) -> Result<Report, String> {
    if path.as_os_str() == "-" {
        let spool = spool_stdin(max_stdin_bytes)?;
        let mut r = scanner
            .scan_path_with_progress(spool.path(), limits, tick)
            .map_err(|e| format!("standard input: {e}"))?;
        // The report names what the user gave, not the spool file (which is gone after this).
        r.input.path = "-".into();
        return Ok(r);
    }
    scanner
        .scan_path_with_progress(path, limits, tick)
        .map_err(|e| e.to_string())
}

fn scan(
    scanner: &Scanner,
    paths: &[PathBuf],
    out: ScanOutput<'_>,
    fail_on: Severity,
    time_limit: Option<u64>,
    quiet: bool,
    max_stdin_bytes: u64,
) -> i32 {
    use dumpguard::report::collection::{InputError, ScanCollection, Totals};
    let several = several_inputs(paths);
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        stdout::error("`-` (standard input) can be given only once");
        return 2;
    }
    let mut walk_errors = Vec::new();
    let inputs = collect_inputs(paths, &mut walk_errors);
    if let Some(o) = out.output {
        let named: Vec<(&str, &Path)> = inputs
            .iter()
            .filter(|p| p.as_os_str() != "-")
            .map(|p| ("an input", p.as_path()))
            .collect();
        if let Err(e) = dumpguard::output::check_distinct(&named, &[("--output", o)]) {
            stdout::error(&e.to_string());
            return 2;
        }
    }
    let mut errors: Vec<InputError> = walk_errors
        .into_iter()
        .map(|e| InputError {
            path: String::new(),
            error: e,
        })
        .collect();
    let total: u64 = inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let pb = progress_bar(total, quiet);
    let mut reports: Vec<Report> = Vec::new();
    for path in &inputs {
        let limits = Limits {
            deadline: time_limit.and_then(|s| Instant::now().checked_add(Duration::from_secs(s))),
            input_hash: out.input_hash,
        };
        let tick = |n: u64| {
            if let Some(pb) = &pb {
                pb.inc(n);
            }
        };
        match scan_one(scanner, path, &limits, &tick, max_stdin_bytes) {
            Ok(mut r) => {
                if let Some((by, b)) = &out.baseline {
                    b.apply(by, &mut r);
                }
                reports.push(r)
            }
            Err(e) => errors.push(InputError {
                path: path.display().to_string(),
                error: e,
            }),
        }
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }

    let text = match out.format {
        OutputFormat::Human => {
            let color = out.color.enabled(out.output.is_none());
            let mut text = reports
                .iter()
                .map(|r| human::render_styled(r, color))
                .collect::<Vec<_>>()
                .join("\n");
            if several {
                if !reports.is_empty() {
                    text.push('\n');
                }
                text.push_str(&Totals::of(&reports, errors.len()).line());
                text.push('\n');
            }
            text
        }
        OutputFormat::Json if several => {
            ScanCollection::new(scanner.engine().digest(), &reports, &errors).to_json() + "\n"
        }
        OutputFormat::Json => reports.iter().map(|r| r.to_json(true) + "\n").collect(),
        OutputFormat::Jsonl => reports.iter().map(|r| r.to_json(false) + "\n").collect(),
        OutputFormat::Sarif => {
            dumpguard::report::sarif::render(&reports.iter().collect::<Vec<_>>(), None)
        }
    };
    let mut failed = !errors.is_empty();
    for e in &errors {
        if e.path.is_empty() {
            stdout::error(&e.error);
        } else {
            stdout::error(&format!("{}: {}", e.path, e.error));
        }
    }
    match out.output {
        Some(p) => {
            if let Err(e) = dumpguard::output::write_atomic(p, text.as_bytes()) {
                eprintln!("dumpguard: error: cannot write {}: {e}", p.display());
                failed = true;
            }
        }
        None => {
            if let Err(e) = stdout::write(text.as_bytes()) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    // The reader has gone (`| head`): end quietly, with the scan's own code.
                } else {
                    stdout::error(&format!("cannot write the report to standard output: {e}"));
                    failed = true;
                }
            }
        }
    }
    let incomplete = reports.iter().any(|r| !r.input.complete);
    if failed || incomplete {
        2
    } else if reports
        .iter()
        .any(|r| r.max_severity().is_some_and(|s| s >= fail_on))
    {
        1
    } else {
        0
    }
}
