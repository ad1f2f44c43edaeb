//! Scanning one swept file: a dump, or an archive whose members are dumps (recursively, up to
//! the nesting limit). Produces one schema-v1 report per dump, each named as the sweep
//! attributes it (`archive!member` for members), plus a compact layout for the HTML picture.

use super::archive::{self, Budget, Kind, Spilled};
use super::layout::Layout;
use crate::input::Dump;
use crate::report::Report;
use crate::scan::{InputHash, Limits};
use crate::Scanner;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

/// One scanned dump: a file, or a member of an archive.
pub struct Unit {
    /// `path` or `path!member[!inner...]`: the report's `input.path`.
    pub name: String,
    /// The member part (`member[!inner...]`), for archive members.
    pub member: Option<String>,
    /// What the scan found.
    pub report: Report,
    /// Where the dump's regions lie (the sweep's HTML draws it; unused without `sweep`).
    #[cfg_attr(not(feature = "sweep"), allow(dead_code))]
    pub layout: Layout,
    /// The policy's verdict ([`super::policy::Policy::apply`]), set before it is stored.
    #[cfg_attr(not(feature = "sweep"), allow(dead_code))]
    pub verdict: Option<super::policy::DumpVerdict>,
}

/// Everything a swept file produced.
pub struct Scanned {
    pub units: Vec<Unit>,
    /// The file's hash as the state keeps it, `<algorithm>:<hex>` ([`hash_file`]), of the file
    /// on disk (for an archive: of the archive as stored).
    pub content_hash: String,
}

/// What scanning needs, shared by all files of a sweep.
pub struct Ctx<'a> {
    pub scanner: &'a Scanner,
    pub limits: &'a archive::Limits,
    pub tmpdir: &'a Path,
    /// Per top-level file.
    pub time_limit: Option<Duration>,
    /// The input hash of reports and of the content hash ([`Scanned::content_hash`]).
    pub input_hash: InputHash,
}

/// A report for a dump that could not be scanned: no findings, incomplete, and why.
pub fn placeholder(scanner: &Scanner, name: &str, size: u64, why: &str) -> Report {
    Report::unscanned(name, size, "unscanned", scanner.engine().digest(), why)
}

/// Why a file could not be scanned at all: the sweep lists it as failed with this reason and
/// retries it on the next run.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// It cannot be opened or mapped.
    #[error("cannot open: {0}")]
    Open(#[source] std::io::Error),
    /// Reading it failed.
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    /// It changed while it was scanned (the words say how).
    #[error("{0}")]
    Changed(String),
}

impl Ctx<'_> {
    /// Scans the file at `path`, reported as `name`. `Err` only when the file cannot be read
    /// at all (it is then retried on the next sweep).
    pub fn scan_file(
        &self,
        path: &Path,
        name: &str,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Scanned, Unreadable> {
        let file = File::open(path).map_err(Unreadable::Open)?;
        let head = archive::head(&file).map_err(Unreadable::Read)?;
        let limits = Limits {
            deadline: self.time_limit.map(|t| Instant::now() + t),
            input_hash: self.input_hash,
        };
        match archive::sniff(&head) {
            None => {
                drop(file);
                let dump = Dump::open(path).map_err(Unreadable::Open)?;
                let (report, layout) = self.scan_dump(&dump, name, &limits, progress);
                // Truncated or rewritten while scanned: the report describes no version of
                // the file, so the sweep lists it as failed and retries it next run.
                if let Some(why) = dump.bytes.changed() {
                    return Err(Unreadable::Changed(why));
                }
                let hex = match self.input_hash {
                    InputHash::Blake3 => &report.input.blake3,
                    InputHash::Sha256 => &report.input.sha256,
                };
                Ok(Scanned {
                    content_hash: stored(self.input_hash, hex),
                    units: vec![Unit {
                        name: name.into(),
                        member: None,
                        report,
                        layout,
                        verdict: None,
                    }],
                })
            }
            Some(kind) => {
                let content_hash = hash_file(&file, self.input_hash).map_err(Unreadable::Read)?;
                (&file).seek(SeekFrom::Start(0)).map_err(Unreadable::Read)?;
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                let budget = Budget::for_file(size, self.limits);
                let mut units = Vec::new();
                self.expand(kind, file, path, name, 1, &budget, &limits, &mut units);
                let prefix = format!("{name}!");
                for u in &mut units {
                    u.member = u.name.strip_prefix(&prefix).map(str::to_string);
                }
                progress(size);
                Ok(Scanned {
                    units,
                    content_hash,
                })
            }
        }
    }

    fn scan_dump(
        &self,
        dump: &Dump<'_>,
        name: &str,
        limits: &Limits,
        progress: &(dyn Fn(u64) + Sync),
    ) -> (Report, Layout) {
        let report = self.scanner.scan_dump(dump, name, limits, progress);
        let layout = Layout::of(&dump.layout.regions, dump.data().len() as u64);
        (report, layout)
    }

    /// Expands an archive `file` (at `path`, for the raw fallback), named `name`, at nesting
    /// `depth`, appending one unit per dump found.
    #[allow(clippy::too_many_arguments)]
    fn expand(
        &self,
        kind: Kind,
        file: File,
        path: &Path,
        name: &str,
        depth: u32,
        budget: &Budget,
        limits: &Limits,
        units: &mut Vec<Unit>,
    ) {
        let first = units.len();
        let outcome = archive::for_each_member(
            kind,
            file,
            name,
            self.tmpdir,
            self.limits,
            budget,
            &mut |m| {
                let unit_name = format!("{name}!{}", m.name);
                match m.result {
                    Err(why) => units.push(Unit::new(
                        &unit_name,
                        placeholder(self.scanner, &unit_name, 0, &why.to_string()),
                        Layout::default(),
                    )),
                    Ok(spilled) => {
                        self.scan_spilled(spilled, &unit_name, depth, budget, limits, units)
                    }
                }
            },
        );
        match outcome {
            Ok(notes) if notes.is_empty() => {}
            Ok(notes) => {
                // Archive-level notes (members left unscanned) make its units incomplete.
                if units.len() == first {
                    let why = notes.join("; ");
                    let report = placeholder(self.scanner, name, 0, &why);
                    units.push(Unit::new(name, report, Layout::default()));
                }
                for u in &mut units[first..] {
                    for n in &notes {
                        incomplete(&mut u.report, format!("{} {name}: {n}", kind.as_str()));
                    }
                }
            }
            Err(why) => {
                // Every byte is scanned: an archive that cannot be read is scanned raw.
                let note = format!(
                    "could not be read as {}: {why}; scanned as raw bytes",
                    kind.as_str()
                );
                let unit = match Dump::open(path) {
                    Ok(dump) => {
                        let (mut report, layout) = self.scan_dump(&dump, name, limits, &|_| {});
                        incomplete(&mut report, note);
                        Unit::new(name, report, layout)
                    }
                    Err(e) => Unit::new(
                        name,
                        placeholder(self.scanner, name, 0, &format!("{note}; cannot open: {e}")),
                        Layout::default(),
                    ),
                };
                units.push(unit);
            }
        }
    }

    /// Scans an expanded member: a dump, or an archive inside the archive.
    fn scan_spilled(
        &self,
        spilled: Spilled,
        name: &str,
        depth: u32,
        budget: &Budget,
        limits: &Limits,
        units: &mut Vec<Unit>,
    ) {
        let first = units.len();
        let path = spilled.proc_path();
        let head = archive::head(&spilled.file).unwrap_or_default();
        let mut note = None;
        match archive::sniff(&head) {
            Some(kind) if depth < self.limits.max_depth => {
                // The clone shares the file offset, which the spill left at the end.
                match spilled
                    .file
                    .try_clone()
                    .and_then(|mut f| f.seek(SeekFrom::Start(0)).map(|_| f))
                {
                    Ok(f) => self.expand(kind, f, &path, name, depth + 1, budget, limits, units),
                    Err(e) => units.push(Unit::new(
                        name,
                        placeholder(
                            self.scanner,
                            name,
                            spilled.len,
                            &format!("cannot reopen: {e}"),
                        ),
                        Layout::default(),
                    )),
                }
            }
            found => {
                if let Some(kind) = found {
                    note = Some(format!(
                        "nesting limit of {} archives reached: this {} was scanned as raw bytes",
                        self.limits.max_depth,
                        kind.as_str()
                    ));
                }
                let unit = match Dump::open(&path) {
                    Ok(dump) => {
                        let (report, layout) = self.scan_dump(&dump, name, limits, &|_| {});
                        Unit::new(name, report, layout)
                    }
                    Err(e) => Unit::new(
                        name,
                        placeholder(
                            self.scanner,
                            name,
                            spilled.len,
                            &format!("cannot map the expanded member: {e}"),
                        ),
                        Layout::default(),
                    ),
                };
                units.push(unit);
            }
        }
        for u in &mut units[first..] {
            if let Some(n) = &note {
                incomplete(&mut u.report, n.clone());
            }
            if let Some(cut) = &spilled.cut {
                incomplete(&mut u.report, format!("{name}: {cut}"));
            }
        }
    }
}

impl Unit {
    fn new(name: &str, report: Report, layout: Layout) -> Unit {
        Unit {
            name: name.into(),
            member: None,
            report,
            layout,
            verdict: None,
        }
    }
}

/// Marks a report incomplete with a reason.
pub fn incomplete(report: &mut Report, why: String) {
    report.input.complete = false;
    report.input.warnings.push(why);
}

/// The `alg` hash of a whole file, streamed, as the state keeps it: `<algorithm>:<hex>`. The
/// algorithm is part of the value so a state written when the sweep used SHA-256 is still
/// compared like for like by `--rehash`.
pub fn hash_file(file: &File, alg: InputHash) -> std::io::Result<String> {
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    let hex = match alg {
        InputHash::Sha256 => {
            let mut h = Sha256::new();
            std::io::copy(&mut r, &mut h)?;
            hex::encode(h.finalize())
        }
        InputHash::Blake3 => {
            let mut h = blake3::Hasher::new();
            std::io::copy(&mut r, &mut h)?;
            h.finalize().to_hex().to_string()
        }
    };
    Ok(stored(alg, &hex))
}

/// A content hash as the state keeps it: `<algorithm>:<hex>`.
pub fn stored(alg: InputHash, hex: &str) -> String {
    format!("{}:{hex}", alg.as_str())
}

/// A stored content hash's algorithm and hex; `None` for anything else (nothing to compare
/// with: the file counts as changed).
pub fn parse_stored(stored: &str) -> Option<(InputHash, &str)> {
    let (alg, hex) = stored.split_once(':')?;
    Some((alg.parse().ok()?, hex))
}

/// The algorithm of a stored [`hash_file`] value (see [`parse_stored`]).
pub fn stored_algorithm(stored: &str) -> Option<InputHash> {
    parse_stored(stored).map(|(alg, _)| alg)
}
