//! Command-line interface: argument parsing and mapping results to exit codes (DESIGN.md):
//! 0 nothing at or above the threshold · 1 findings at or above it · 2 usage/input error or
//! incomplete scan (outranks 1, as in ripgrep).

mod gate_cmd;
mod rules_cmd;
mod stdout;

pub use stdout::EXIT_BROKEN_PIPE;

use clap::{Parser, Subcommand, ValueEnum};
use dumpguard::report::baseline::Baseline;
use dumpguard::report::{human, Report, Severity};
use dumpguard::scan::{InputHash, Limits};
use dumpguard::Scanner;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
    Jsonl,
    /// SARIF 2.1.0 (one run, byte offsets in each result's region).
    Sarif,
}

#[derive(Subcommand)]
pub enum Command {
    /// Scan dumps (files or directories, recursed) and report what is found.
    Scan {
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
        /// Lowest severity that makes the exit code 1.
        #[arg(long, default_value = "high", value_parser = <Severity as std::str::FromStr>::from_str)]
        fail_on: Severity,
        /// Give up on an input after this many seconds (the scan is then incomplete: exit 2).
        #[arg(long, value_name = "SECONDS", value_parser = stdout::parse_time_limit)]
        time_limit: Option<u64>,
        /// The input hash in the report: `blake3` (several GB/s, `b3sum` checks it) or
        /// `sha256` (one core at ≈ 1.45 GB/s, for tooling that needs SHA-256).
        #[arg(long, value_name = "ALG", default_value = "blake3", value_parser = <InputHash as std::str::FromStr>::from_str)]
        input_hash: InputHash,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Add token rules from FILE (dumpguard or gitleaks TOML); repeatable.
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Also run rules marked noisy (generic high-entropy assignments).
        #[arg(long)]
        include_noisy: bool,
        #[arg(
            long,
            value_delimiter = ',',
            value_name = "FAMILIES",
            help = "Run only these detector families (comma-separated): keys, wrappers, raw, tokens. Default: all",
            long_help = dumpguard::detect::families_help()
        )]
        detectors: Vec<String>,
        /// Known public keys (repeatable; a file or a directory): PEM/DER certificates and
        /// public keys, JWKS/JWK JSON, OpenSSH public keys. Findings of these keys are
        /// labelled with their entry, and their RSA moduli drive the raw prime-factor search.
        #[arg(long, value_name = "PATH")]
        known_keys: Vec<PathBuf>,
        /// Largest dump accepted on standard input (`-`), in bytes: the spool file never
        /// grows past it. Default: the gate's default size limit, 64 GiB.
        #[arg(long, value_name = "BYTES", default_value_t = 64 << 30)]
        max_stdin_bytes: u64,
        /// Accepted keys (`dumpguard baseline`): their findings are reported as suppressed,
        /// with the reason, and do not count towards the exit code.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },
    /// Write a baseline of accepted keys from reports (`scan --format json|jsonl`, sweep
    /// JSON Lines): one entry per fingerprint, with the reason. Review it, then pass it as
    /// --baseline to scan or gate.
    Baseline {
        /// Report files.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Why these keys are accepted (recorded in every entry and every suppressed finding).
        #[arg(long)]
        reason: String,
        /// Where to write the baseline (atomically, mode 0600); standard output when absent.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List or check the token rules (built-in pack plus --rules files).
    Rules {
        #[command(subcommand)]
        action: rules_cmd::RulesAction,
    },
    /// Decide whether one dump may leave: prints (and with --report writes) a decision record.
    /// Exit 0 ALLOW, 1 BLOCK, 2 error or incomplete scan (a BLOCK), 3 ALLOW only the redacted
    /// copy written to --redact-to.
    Gate {
        /// The dump file.
        dump: PathBuf,
        /// Policy file (TOML); the built-in default (rules/policy.toml) when absent.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Known public keys (repeatable; a file or a directory): PEM/DER certificates and
        /// public keys, JWKS/JWK JSON, OpenSSH public keys.
        #[arg(long, value_name = "PATH")]
        known_keys: Vec<PathBuf>,
        /// Write a redacted copy here (with OUT.attestation.json) when only findings block.
        #[arg(long, value_name = "OUT")]
        redact_to: Option<PathBuf>,
        /// Append the decision to this hash-chained audit log (JSON Lines).
        #[arg(long, value_name = "FILE")]
        audit_log: Option<PathBuf>,
        /// Write the decision record here (atomically, mode 0600).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Format of the printed and written record.
        #[arg(long, value_enum, default_value = "json")]
        format: gate_cmd::GateFormat,
        /// Do not print the record on standard output.
        #[arg(long, short)]
        quiet: bool,
        /// Accepted keys (`dumpguard baseline`): added to the policy's allowlist, so their
        /// findings are suppressed with the baseline's reason instead of blocking.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// The input hash in the report: `blake3` (several GB/s, `b3sum` checks it) or
        /// `sha256` (one core at ≈ 1.45 GB/s, for tooling that needs SHA-256).
        #[arg(long, value_name = "ALG", default_value = "blake3", value_parser = <InputHash as std::str::FromStr>::from_str)]
        input_hash: InputHash,
    },
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: gate_cmd::AuditCommand,
    },
    /// A long-running gate: takes complete files from the inbox, moves ALLOWed (or redacted)
    /// dumps to the outbox and the rest to quarantine; every decision goes to the audit log.
    Watch {
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
        /// Policy file (TOML); the built-in default when absent.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Known public keys (repeatable; a file or a directory): PEM/DER certificates and
        /// public keys, JWKS/JWK JSON, OpenSSH public keys.
        #[arg(long, value_name = "PATH")]
        known_keys: Vec<PathBuf>,
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
    },
    /// Sweep directory trees of dumps (and archives of dumps): incremental, resumable,
    /// shardable; JSON Lines, summary and HTML report.
    Sweep(dumpguard::sweep::SweepArgs),
    /// Merge the JSON Lines outputs of sharded sweeps into one report.
    SweepMerge(dumpguard::sweep::MergeArgs),
    /// Print a shell completion script: `dumpguard completions bash > /etc/bash_completion.d/dumpguard`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `dumpguard man | man -l -`, or `dumpguard man gate` for one
    /// command's page.
    Man {
        /// A command (e.g. `scan`, `gate`, `sweep`); the main page when absent.
        command: Option<String>,
    },
    /// Print the JSON Schema (draft 2020-12) of an output document: report, scan, decision,
    /// sweep-summary (the files in schemas/ are these); without NAME, list them.
    Schema {
        /// Which document.
        name: Option<String>,
    },
}

/// `dumpguard baseline`: accepted keys from report files.
fn write_baseline(reports: &[PathBuf], reason: &str, output: Option<&Path>) -> i32 {
    let paths: Vec<&Path> = reports.iter().map(PathBuf::as_path).collect();
    let b = match Baseline::from_report_files(&paths, reason) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("dumpguard: error: baseline: {e}");
            return 2;
        }
    };
    eprintln!("dumpguard: baseline of {} key(s)", b.entries.len());
    match output {
        Some(p) => match dumpguard::output::write_atomic(p, b.to_json().as_bytes()) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("dumpguard: error: cannot write {}: {e}", p.display());
                2
            }
        },
        None => emit(|w| w.write_all(b.to_json().as_bytes())),
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

/// The man page of the program, or of one of its commands (`dumpguard-scan(1)` style).
fn man_page(command: Option<&str>) -> Result<clap_mangen::Man, String> {
    use clap::CommandFactory;
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

pub fn run(cli: Cli) -> i32 {
    let color = cli.color;
    match cli.command {
        Command::Scan {
            paths,
            format,
            output,
            fail_on,
            time_limit,
            input_hash,
            quiet,
            rules,
            include_noisy,
            detectors,
            known_keys,
            max_stdin_bytes,
            baseline,
        } => {
            let baseline = match baseline
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
            let inventory = match dumpguard::keys::inventory::load(&known_keys) {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("dumpguard: error: --known-keys {e}");
                    return 2;
                }
            };
            let mut scanner = match rules_cmd::load(&rules, include_noisy) {
                Ok(set) => Scanner::new().with_rules(set).with_inventory(inventory),
                Err(code) => return code,
            };
            if !detectors.is_empty() {
                scanner = match scanner.with_families(&detectors) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("dumpguard: error: --detectors: {e}");
                        return 2;
                    }
                };
            }
            scan(
                &scanner,
                &paths,
                ScanOutput {
                    format,
                    output: output.as_deref(),
                    color,
                    baseline: baseline.as_ref().map(|(p, b)| (format!("baseline {p}"), b)),
                    input_hash,
                },
                fail_on,
                time_limit,
                quiet,
                max_stdin_bytes,
            )
        }
        Command::Rules { action } => rules_cmd::run(action),
        Command::Gate {
            dump,
            policy,
            known_keys,
            redact_to,
            audit_log,
            report,
            format,
            quiet,
            baseline,
            input_hash,
        } => gate_cmd::gate(gate_cmd::GateArgs {
            dump,
            policy,
            known_keys,
            redact_to,
            audit_log,
            report,
            format,
            quiet,
            baseline,
            input_hash,
        }),
        Command::Audit { command } => gate_cmd::audit(command),
        Command::Watch {
            inbox,
            outbox,
            quarantine,
            work,
            policy,
            known_keys,
            audit_log,
            settle_ms,
            poll_ms,
            redact,
            once,
        } => gate_cmd::watch(gate_cmd::WatchArgs {
            inbox,
            outbox,
            quarantine,
            work,
            policy,
            known_keys,
            audit_log,
            settle_ms,
            poll_ms,
            redact,
            once,
        }),
        Command::Sweep(args) => dumpguard::sweep::run(args),
        Command::SweepMerge(args) => dumpguard::sweep::merge(args),
        Command::Baseline {
            reports,
            reason,
            output,
        } => write_baseline(&reports, &reason, output.as_deref()),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            emit(|w| {
                clap_complete::generate(shell, &mut Cli::command(), "dumpguard", w);
                Ok(())
            })
        }
        Command::Schema { name } => {
            use dumpguard::schema;
            match name.as_deref().map(|n| (n, schema::generate(n))) {
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
        Command::Man { command } => match man_page(command.as_deref()) {
            Ok(man) => emit(|w| man.render(w)),
            Err(e) => {
                eprintln!("dumpguard: error: man: {e}");
                2
            }
        },
    }
}

/// Where and how `scan` prints.
struct ScanOutput<'a> {
    format: OutputFormat,
    output: Option<&'a Path>,
    color: ColorChoice,
    /// The baseline and how suppressions name it.
    baseline: Option<(String, &'a Baseline)>,
    /// What identifies each input in its report.
    input_hash: InputHash,
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
            stdout::error(&e);
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
