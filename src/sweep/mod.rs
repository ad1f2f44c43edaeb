//! The nightly sweep (`dumpguard sweep ROOT...`): walks debug shares, scans every dump (and
//! every dump inside an archive) in parallel, remembers what it saw in a SQLite state file so
//! the next night scans only what changed, survives being killed, splits across machines with
//! `--shard K/N`, and writes JSON Lines, a summary and a self-contained HTML report.
//!
//! Flow: `walk` the roots → compare each file with the `state` (size, mtime, digests) →
//! scan the rest (`scanfile`, `archive`) on a thread pool while this thread commits each
//! result → mark what disappeared as gone → stream the `record`s of every entry of this run
//! from the state into the outputs (`summary`, `html`) → mark the run finished.
//! Everything the outputs say comes from the state, which is why a killed and restarted sweep
//! writes the same results as an uninterrupted one.

/// Archives are read by the input layer; the sweep walks their members.
#[cfg(feature = "archives")]
use crate::input::archive;
#[cfg(feature = "sweep")]
mod error;
#[cfg(feature = "sweep")]
mod handoff;
#[cfg(feature = "sweep")]
mod html;
#[cfg(feature = "archives")]
mod layout;
#[cfg(feature = "sweep")]
mod merge;
#[cfg(feature = "sweep")]
mod observer;
// The sweep's verdicts: the scanner alone (no `sweep` feature) builds the type a unit carries but
// never judges, so the rest is unused there.
#[cfg_attr(not(feature = "sweep"), allow(dead_code))]
mod policy;
#[cfg(feature = "sweep")]
pub(crate) mod record;
#[cfg(feature = "sweep")]
mod sarif;
#[cfg(feature = "archives")]
pub(crate) mod scanfile;
#[cfg(feature = "sweep")]
mod shard;
#[cfg(feature = "sweep")]
mod state;
#[cfg(feature = "sweep")]
mod status;
#[cfg(feature = "sweep")]
pub(crate) mod summary;
#[cfg(feature = "sweep")]
mod walk;

#[cfg(feature = "sweep")]
pub use merge::{merge, MergeOptions};
#[cfg(feature = "sweep")]
pub use observer::{Observer, Silent};

#[cfg(feature = "sweep")]
use crate::output::AtomicFile;
#[cfg(feature = "sweep")]
use crate::Scanner;
#[cfg(feature = "sweep")]
pub use error::{ShardError, SweepError};
#[cfg(feature = "sweep")]
use handoff::Handoff;
#[cfg(feature = "sweep")]
use rayon::prelude::*;
#[cfg(feature = "sweep")]
pub use shard::Shard;
#[cfg(feature = "sweep")]
use state::{Digests, ScannedFile, State, Unscanned};
#[cfg(feature = "sweep")]
pub use status::EntryStatus;
#[cfg(feature = "sweep")]
use std::collections::HashSet;
#[cfg(feature = "sweep")]
use std::io::Write;
#[cfg(feature = "sweep")]
use std::path::{Path, PathBuf};
#[cfg(feature = "sweep")]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(feature = "sweep")]
use std::time::{Duration, Instant, SystemTime};
#[cfg(feature = "sweep")]
pub use summary::{human_bytes, Summary};
#[cfg(feature = "sweep")]
use walk::{Entry, EntryKind, Filter, WalkOptions};

#[cfg(feature = "sweep")]
/// What to sweep and where the results go (`dumpguard sweep` takes them from its options).
#[derive(Debug, Default, Clone)]
pub struct SweepOptions {
    /// Directory trees (or single files) to sweep.
    pub roots: Vec<PathBuf>,
    /// Incremental state (SQLite). Without it nothing is remembered: every file is scanned
    /// and every finding is new.
    pub state: Option<PathBuf>,
    /// Write one schema-v1 report per dump as JSON Lines (atomically, mode 0600).
    pub out: Option<PathBuf>,
    /// Write the self-contained HTML report (atomically, mode 0600).
    pub html: Option<PathBuf>,
    /// Write the findings as one SARIF 2.1.0 log (atomically, mode 0600), for code-scanning
    /// dashboards: the same rules and fingerprints as `scan --format sarif`.
    pub sarif: Option<PathBuf>,
    /// Sweep only shard K of N (1-based); N processes with K = 1..N cover the tree once.
    pub shard: Option<Shard>,
    /// Files scanned side by side (default: one per CPU); a large file also uses the pool.
    pub jobs: Option<usize>,
    /// Sweep only files matching GLOB (repeatable). Without `/` it matches the file name,
    /// with `/` the path relative to the root.
    pub include: Vec<String>,
    /// Skip files and prune directories matching GLOB (repeatable; same matching).
    pub exclude: Vec<String>,
    /// Also descend into .git, .hg, .svn, .snapshot, .zfs and lost+found.
    pub no_default_excludes: bool,
    /// Skip files modified less than SECONDS ago (dumps still being written).
    pub min_age: u64,
    /// Re-hash files whose size and mtime are unchanged and rescan those whose content
    /// changed anyway (reads every byte; catches tools that restore mtimes).
    pub rehash: bool,
    /// Archives inside archives, at most this deep.
    pub archive_depth: u32,
    /// Where archive members are expanded (anonymous files, freed even on SIGKILL).
    pub tmpdir: Option<PathBuf>,
    /// Give up on a file after this many seconds (its scan is then incomplete).
    pub time_limit: Option<u64>,
    /// The gate's policy file (TOML, `dumpguard gate --policy`): which findings block and
    /// which keys are allowlisted; each dump gets the verdict the gate would give it. The
    /// built-in default (rules/policy.toml) when absent. A change rescans on the next sweep.
    pub policy: Option<PathBuf>,
    /// Accepted keys (`dumpguard baseline`): their findings are reported as suppressed, with
    /// the reason, and neither block nor count towards the exit code (matched by
    /// fingerprint). A change rescans on the next sweep.
    pub baseline: Option<PathBuf>,
    /// Sweep a root even if it is empty (by default an empty root is refused: an unmounted
    /// share would otherwise mark every dump under it gone).
    pub allow_empty_root: bool,
}

#[cfg(feature = "sweep")]
/// Scanned files per transaction: the recording thread is woken when this many wait, and
/// takes all that wait (up to the queue's bound) into one transaction. A batch is also committed after [`LINGER`], so a sweep of large files commits
/// (and reports progress) as it goes; a SIGKILL loses at most the batch being recorded and
/// the files waiting or being scanned, which the next sweep scans again.
const BATCH: usize = 32;

#[cfg(feature = "sweep")]
/// How long the recording thread waits for a batch to fill before it commits what it has.
const LINGER: Duration = Duration::from_millis(25);

#[cfg(feature = "sweep")]
/// Results that may wait for the recording thread, per scanning worker, before a worker waits
/// too: enough to ride out a WAL checkpoint's fsync (~10 ms, ~10 files of 512 KiB) without
/// stopping the scanners, few enough to keep memory bounded whatever the tree.
const QUEUED_PER_JOB: usize = 32;

#[cfg(feature = "sweep")]
/// RFC 3339 UTC, seconds.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(feature = "sweep")]
fn canonical_roots(a: &SweepOptions) -> Result<Vec<PathBuf>, SweepError> {
    let mut roots = Vec::new();
    for r in &a.roots {
        let root = |error| SweepError::Root {
            path: r.clone(),
            error,
        };
        let c = std::fs::canonicalize(r).map_err(root)?;
        if c.is_dir() && !a.allow_empty_root {
            let empty = std::fs::read_dir(&c).map_err(root)?.next().is_none();
            if empty {
                return Err(SweepError::EmptyRoot { path: c });
            }
        }
        roots.push(c);
    }
    roots.sort();
    roots.dedup();
    Ok(roots)
}

#[cfg(feature = "sweep")]
/// What an existing output file must start with to be overwritten: what the sweep itself writes
/// there. Anything else — a dump under the swept tree, above all — is refused (issue #12,
/// part 3: `sweep TREE --out TREE/a.dmp` replaced a dump holding keys and exited 0).
fn check_outputs(a: &SweepOptions, state: Option<&Path>) -> Result<(), SweepError> {
    let mut outputs: Vec<(&str, &Path, &[&[u8]])> = Vec::new();
    if let Some(p) = state {
        outputs.push(("--state", p, &[b"SQLite format 3\0"]));
    }
    if let Some(p) = &a.out {
        outputs.push(("--out", p, &[b"{"]));
    }
    if let Some(p) = &a.html {
        outputs.push(("--html", p, &[b"<!DOCTYPE html>"]));
    }
    let named: Vec<(&str, &Path)> = outputs.iter().map(|(w, p, _)| (*w, *p)).collect();
    let mut inputs: Vec<(&str, &Path)> = Vec::new();
    if let Some(p) = &a.policy {
        inputs.push(("--policy", p));
    }
    if let Some(p) = &a.baseline {
        inputs.push(("--baseline", p));
    }
    crate::output::check_distinct(&inputs, &named)?;
    for (what, p, magics) in outputs {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            continue; // created by this sweep
        };
        if !meta.is_file() {
            return Err(SweepError::NotRegularFile {
                what,
                path: p.to_path_buf(),
            });
        }
        let mut head = [0u8; 16];
        let n = std::fs::File::open(p)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .map_err(|error| SweepError::Unreadable {
                what,
                path: p.to_path_buf(),
                error,
            })?;
        let head = &head[..n];
        if !head.is_empty() && !magics.iter().any(|m| head.starts_with(m)) {
            return Err(SweepError::NotSweepOutput {
                what,
                path: p.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[cfg(feature = "sweep")]
/// True when `path` lies under one of `roots`.
fn under(roots: &[PathBuf], path: &str) -> bool {
    roots.iter().any(|r| Path::new(path).starts_with(r))
}

#[cfg(feature = "sweep")]
/// Runs a sweep: walks, scans what changed, records everything in the state and writes the
/// outputs (`--out`, `--html`, `--sarif`); returns the summary of the run, from which the
/// binary derives its exit code. `obs` hears of the progress and receives each output line
/// and the summary before the run is marked finished.
pub fn run(a: &SweepOptions, obs: &dyn Observer) -> Result<summary::Summary, SweepError> {
    let started = Instant::now();
    let started_at = now();
    let roots = canonical_roots(a)?;
    check_outputs(a, a.state.as_deref())?;
    let policy = policy::Policy::load(a.policy.as_deref(), a.baseline.as_deref())?;
    let shard = a.shard.unwrap_or(Shard::ALL);
    let tmpdir = a.tmpdir.clone().unwrap_or_else(std::env::temp_dir);
    let jobs = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let jobs = jobs.max(1);

    // Without --state, a throwaway database: same code path, nothing remembered.
    let throwaway;
    let state_path = match &a.state {
        Some(p) => crate::output::absolute(p),
        None => {
            throwaway = tempfile::Builder::new()
                .prefix("dumpguard-sweep-state")
                .tempdir_in(&tmpdir)
                .map_err(|error| SweepError::TempState {
                    dir: tmpdir.clone(),
                    error,
                })?;
            throwaway.path().join("state.sqlite")
        }
    };
    let mut own = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = state_path.clone().into_os_string();
        p.push(suffix);
        own.push(PathBuf::from(p));
    }
    own.extend(
        a.out
            .iter()
            .chain(a.html.iter())
            .chain(a.sarif.iter())
            .map(|p| crate::output::absolute(p)),
    );

    // The detectors (the rule pack above all) take a few milliseconds to build: as long as
    // the rest of a sweep of an unchanged share. They build on another core while the state
    // opens and the tree is walked.
    let building = std::thread::spawn(Scanner::new);
    let filter = Filter::new(&a.include, &a.exclude, !a.no_default_excludes, own)?;
    let log = |m: &str| obs.note(m);
    log(&format!(
        "dumpguard sweep: shard {shard}; walking {}",
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut state = State::open(&state_path)?;
    let mut phases = std::collections::BTreeMap::new();
    let mut mark = Instant::now();
    let mut phase = |name: &str| {
        phases.insert(name.to_string(), mark.elapsed().as_millis() as u64);
        mark = Instant::now();
    };
    let entries = walk::walk(
        &roots,
        &WalkOptions {
            filter: &filter,
            shard,
            min_age_secs: a.min_age,
        },
    );

    let known = state.load_files()?;
    let scanner = building.join().map_err(|_| SweepError::Detectors)?;
    let digests = Digests {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        rules: scanner.engine().digest().into(),
        policy: policy.digest(),
    };
    let limits = archive::Limits {
        max_depth: a.archive_depth.max(1),
        ..Default::default()
    };
    let params = serde_json::json!({
        "roots": roots,
        "shard": shard.to_string(),
        "include": a.include,
        "exclude": a.exclude,
        "default_excludes": !a.no_default_excludes,
        "min_age": a.min_age,
        "archive_depth": limits.max_depth,
        "digests": digests,
    })
    .to_string();
    let run = state.begin_run(&params, &started_at)?;
    log(&format!(
        "dumpguard sweep: {} run {}",
        if run.resumed { "resuming" } else { "starting" },
        run.id,
    ));
    phase("walk");
    // Classify: not scanned (skipped/failed), unchanged, to scan.
    let mut unscanned = Vec::new();
    let mut unchanged: Vec<&Entry> = Vec::new();
    let mut todo: Vec<&Entry> = Vec::new();
    for e in &entries {
        match &e.kind {
            EntryKind::Skipped { reason } => {
                unscanned.push((e, EntryStatus::Skipped, reason.as_str()))
            }
            EntryKind::Failed { reason } => {
                unscanned.push((e, EntryStatus::Failed, reason.as_str()))
            }
            EntryKind::File { size, mtime_ns } => {
                let same = known.get(&e.key).is_some_and(|r| {
                    r.status == EntryStatus::Scanned
                        && r.size == *size
                        && r.mtime_ns == *mtime_ns
                        && r.digests == digests
                });
                if same {
                    unchanged.push(e);
                } else {
                    todo.push(e);
                }
            }
        }
    }
    // Threads only when there is work for them: a sweep of an unchanged share has none.
    let pool = if a.rehash || !todo.is_empty() {
        Some(rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?)
    } else {
        None
    };
    if let (true, Some(pool)) = (a.rehash, &pool) {
        let changed: Vec<bool> = pool.install(|| {
            unchanged
                .par_iter()
                .map(|e| {
                    let stored = known.get(&e.key).and_then(|r| r.content_hash.as_deref());
                    // Like for like: a state written by a SHA-256 sweep is checked with it.
                    let Some(alg) = stored.and_then(scanfile::stored_algorithm) else {
                        return true;
                    };
                    let now = std::fs::File::open(&e.path)
                        .and_then(|f| scanfile::hash_file(&f, alg))
                        .ok();
                    now.is_none() || now.as_deref() != stored
                })
                .collect()
        });
        let (mut keep, mut moved) = (Vec::new(), Vec::new());
        for (e, c) in unchanged.into_iter().zip(changed) {
            if c {
                moved.push(e);
            } else {
                keep.push(e);
            }
        }
        unchanged = keep;
        todo.extend(moved);
        todo.sort_by(|x, y| x.key.cmp(&y.key));
    }
    let rows: Vec<Unscanned<'_>> = unscanned
        .iter()
        .map(|(e, status, reason)| Unscanned {
            path: &e.key,
            rel: &e.rel,
            folder: &e.folder,
            size: 0,
            mtime_ns: 0,
            status: *status,
            reason,
        })
        .collect();
    state.record_unscanned(&run, &rows, &digests)?;
    for (e, status, reason) in &unscanned {
        obs.unscanned(*status, &e.key, reason);
    }

    phase("compare");
    let total_bytes: u64 = todo
        .iter()
        .map(|e| match e.kind {
            EntryKind::File { size, .. } => size,
            _ => 0,
        })
        .sum();
    log(&format!(
        "dumpguard sweep: {} entries: {} to scan ({}), {} unchanged, {} not scanned",
        entries.len(),
        todo.len(),
        summary::human_bytes(total_bytes),
        unchanged.len(),
        unscanned.len()
    ));
    obs.start(total_bytes, todo.len() as u64);
    let progress = obs;
    let ctx = scanfile::Ctx {
        scanner: &scanner,
        limits: &limits,
        tmpdir: &tmpdir,
        time_limit: a.time_limit.map(Duration::from_secs),
        // BLAKE3, as `scan` and `gate` by default: the workers hash what they scan, so the
        // hash costs no pass of its own (SHA-256 was 17.7% of a sweep of small dumps).
        input_hash: crate::scan::InputHash::Blake3,
    };
    let abort = AtomicBool::new(false);
    let mut bytes_scanned = 0u64;
    let mut failure: Option<state::StateError> = None;
    if let Some(pool) = pool.as_ref().filter(|_| !todo.is_empty()) {
        let handoff = Handoff::new(BATCH, jobs * QUEUED_PER_JOB);
        std::thread::scope(|s| {
            let (ctx, progress, abort, todo, handoff) = (&ctx, &progress, &abort, &todo, &handoff);
            s.spawn(move || {
                pool.install(|| {
                    todo.par_iter().for_each(|e| {
                        if abort.load(Ordering::Relaxed) {
                            return;
                        }
                        let res = ctx.scan_file(&e.path, &e.key, &|n| progress.bytes(n));
                        // Whether the file changed while it was scanned, asked right after
                        // the scan (here rather than on the recording thread, which does
                        // everything else in series).
                        let changed = match e.kind {
                            EntryKind::File { size, mtime_ns } => {
                                walk::stat(&e.path) != Some((size, mtime_ns))
                            }
                            _ => false,
                        };
                        handoff.push((*e, res, changed));
                    })
                });
                handoff.close();
            });
            loop {
                let batch = handoff.take(LINGER);
                if batch.is_empty() {
                    break;
                }
                if failure.is_some() {
                    continue; // drain so the producers finish
                }
                let now = now();
                let mut lines = Vec::with_capacity(batch.len());
                let outcome = (|| {
                    let tx = state.batch()?;
                    for (e, res, changed) in batch {
                        let (size, mtime_ns) = match e.kind {
                            EntryKind::File { size, mtime_ns } => (size, mtime_ns),
                            _ => (0, 0),
                        };
                        match res {
                            Ok(mut scanned) => {
                                let mut findings = 0;
                                for u in &mut scanned.units {
                                    if changed {
                                        scanfile::incomplete(
                                            &mut u.report,
                                            "the file changed while it was being scanned; it is scanned again by the next sweep".into(),
                                        );
                                    }
                                    u.verdict = Some(policy.apply(&mut u.report));
                                    bytes_scanned += u.report.input.scanned_bytes;
                                    findings += u.report.findings.len();
                                }
                                tx.record_scan(
                                    &run,
                                    &ScannedFile {
                                        path: &e.key,
                                        rel: &e.rel,
                                        folder: &e.folder,
                                        size,
                                        mtime_ns,
                                        content_hash: &scanned.content_hash,
                                        units: &scanned.units,
                                    },
                                    &digests,
                                    &now,
                                )?;
                                lines.push(Ok((e, scanned.units.len(), findings)));
                            }
                            Err(why) => {
                                let why = why.to_string();
                                tx.record_unscanned(
                                    &run,
                                    &[Unscanned {
                                        path: &e.key,
                                        rel: &e.rel,
                                        folder: &e.folder,
                                        size,
                                        mtime_ns,
                                        status: EntryStatus::Failed,
                                        reason: &why,
                                    }],
                                    &digests,
                                )?;
                                lines.push(Err((e, why)));
                            }
                        }
                    }
                    tx.commit()
                })();
                match outcome {
                    // Announced once committed: a file said to be scanned is in the state.
                    Ok(()) => {
                        for line in lines {
                            match line {
                                Ok((e, units, findings)) => progress.entry(&|| {
                                    format!(
                                        "scanned {}: {units} dump(s), {findings} finding(s)",
                                        e.key
                                    )
                                }),
                                Err((e, why)) => {
                                    progress.entry(&|| format!("failed {}: {why}", e.key))
                                }
                            }
                        }
                    }
                    Err(err) => {
                        abort.store(true, Ordering::Relaxed);
                        failure = Some(err);
                    }
                }
            }
        });
    }
    progress.finish();
    if let Some(f) = failure {
        return Err(f.into());
    }
    phase("scan");

    let in_scope = |path: &str, rel: &str| under(&roots, path) && shard.contains(rel);
    let seen: HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    let gone = state.mark_gone(&run, &seen, &in_scope, &now())?;
    // Byte order of the paths: the same total order in every shard, which sweep-merge needs.
    let mut order: Vec<&str> = seen
        .iter()
        .copied()
        .chain(gone.iter().map(String::as_str))
        .collect();
    order.sort_unstable();
    order.dedup();

    // Outputs, from the state.
    let mut jsonl = match &a.out {
        Some(p) => Some(AtomicFile::create(p).map_err(|error| SweepError::Output {
            path: p.clone(),
            error,
        })?),
        None => None,
    };
    let mut builder = summary::Builder::default();
    let mut html = a.html.as_ref().map(|_| html::Html::default());
    let mut sarif_reports = a.sarif.as_ref().map(|_| Vec::new());
    let write_err = SweepError::WriteReport;
    // One stored entry at a time, in path order: turning them into lines takes a few
    // microseconds each, less than handing batches to other threads would cost.
    state.for_each_output::<SweepError>(&order, &mut |fo| {
        for (line, rec) in record::lines_of(&fo, &run, &scanner) {
            if let Some(j) = jsonl.as_mut() {
                writeln!(j, "{line}").map_err(write_err)?;
            }
            obs.line(&line).map_err(write_err)?;
            builder.add(&rec);
            if let Some(h) = html.as_mut() {
                h.add(&rec);
            }
            if let Some(v) = sarif_reports.as_mut().filter(|_| !rec.findings.is_empty()) {
                v.push(sarif::report_of(&rec, scanner.engine().digest()));
            }
        }
        Ok(())
    })?;
    if let (Some(v), Some(p)) = (&sarif_reports, &a.sarif) {
        let refs: Vec<&crate::report::Report> = v.iter().collect();
        write_doc(p, &crate::report::sarif::render(&refs, None))?;
    }
    if let (Some(j), Some(p)) = (jsonl, &a.out) {
        j.commit().map_err(|error| SweepError::Output {
            path: p.clone(),
            error,
        })?;
    }
    phase("report");
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let summary = builder.finish(
        Some(summary::RunMeta {
            roots: roots.iter().map(|r| r.display().to_string()).collect(),
            shard: shard.to_string(),
            run: run.id,
            resumed: run.resumed,
            started_at: started_at.clone(),
            elapsed_ms,
            bytes_scanned,
            bytes_per_second: bytes_scanned
                .saturating_mul(1000)
                .checked_div(elapsed_ms)
                .unwrap_or(0),
            gone: gone.len() as u64,
            phases_ms: phases,
        }),
        vec![],
    );
    if let (Some(h), Some(p)) = (html, &a.html) {
        write_doc(p, &h.render(&summary, &now()))?;
    }
    obs.summary(&summary).map_err(write_err)?;
    state.finish_run(&run, &now())?;
    Ok(summary)
}

#[cfg(feature = "sweep")]
fn write_doc(p: &Path, doc: &str) -> Result<(), SweepError> {
    crate::output::write_atomic(p, doc.as_bytes()).map_err(|error| SweepError::Output {
        path: p.to_path_buf(),
        error,
    })
}
