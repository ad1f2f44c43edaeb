//! Watch mode: a long-running gate over an inbox directory.
//!
//! Complete files only: a file is taken when its size and mtime have not changed for the
//! settle interval *and* no process holds it open for writing (checked in `/proc/*/fdinfo`).
//! Dot-files and `*.tmp`/`*.part`/`*.partial` are never taken, so a writer that writes under
//! a temporary name and renames is always safe.
//!
//! Crash safety comes from renames on one filesystem and a recovery pass at start-up. Each
//! file moves through a per-file work directory `WORK/<name>/`:
//!
//! 1. claim: `rename(INBOX/<name>, WORK/<name>/dump)` (no-replace);
//! 2. gate it (a redacted copy, if any, is `WORK/<name>/redacted`);
//! 3. append the decision to the audit log;
//! 4. write `WORK/<name>/decision.json` (atomically) — the commit point, naming the
//!    destinations chosen;
//! 5. move: ALLOW → `OUTBOX/<dest>`; BLOCK → `QUARANTINE/<dest>` with `<dest>.decision.json`
//!    beside it; ALLOW_REDACTED → the redacted copy to `OUTBOX/<dest>`, the original to
//!    quarantine;
//! 6. remove `WORK/<name>/`.
//!
//! A kill at any point leaves the file in exactly one place. At start-up every work directory
//! is finished: with a `decision.json` the recorded moves are completed (each one is skipped
//! when its source is already gone); without one the file is gated again (the audit log then
//! holds a record for each decision made, marked `recovered`). Renames never replace an
//! existing file, so no file is ever overwritten, and a name already taken in the outbox or
//! quarantine gets a `.1`, `.2` … suffix.
//!
//! The watcher acts only on what it checked (issue #12, part 2: a file swapped for a symbolic
//! link after its type was checked was gated *through* the link, and the outbox received the
//! link). A file is opened once without following links (`O_NOFOLLOW`); the descriptor must be
//! a regular file with one link (a hard link would let its other name change what sits in the
//! outbox); after the claim rename the entry in the work directory must be that same inode
//! (device and inode compared), still with one link. Anything else is quarantined with a BLOCK
//! record saying why; a symbolic link, FIFO, device or hard-linked file in the inbox is left
//! there with a warning. The gate's view is checked again after the scan: size, mtime and
//! ctime unchanged, or the decision is BLOCK. The inbox, outbox, quarantine and work
//! directories must be distinct and not nested (the default work directory, a dot-name
//! directly in the inbox, is the one exception: dot-names are never taken). Names are kept as
//! bytes end to end, so two names that are not UTF-8 never share a destination.

use super::audit::audit_event;
use super::decision::Verdict;
use super::Gate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Configuration of one watcher.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Where dumps arrive; each one is decided once it stops changing.
    pub inbox: PathBuf,
    /// Where allowed dumps (or their redacted copies) are moved.
    pub outbox: PathBuf,
    /// Where blocked dumps are moved, never deleted.
    pub quarantine: PathBuf,
    /// Work directory (same filesystem as the others); default `INBOX/.dumpguard-work`.
    pub work: PathBuf,
    /// The hash-chained audit log every decision is appended to.
    pub audit_log: PathBuf,
    /// How long size and mtime must stay unchanged before a file is taken.
    pub settle: Duration,
    /// How often the inbox is listed.
    pub poll: Duration,
    /// Produce redacted copies for dumps that block only because of findings.
    pub redact: bool,
    /// Recover, process what is complete now, and exit.
    pub once: bool,
}

/// What `decision.json` in a work directory records: the full decision record plus where the
/// files go.
#[derive(Serialize, Deserialize)]
struct Journal {
    verdict: String,
    /// Outbox name for ALLOW (the dump) or ALLOW_REDACTED (the redacted copy), for reading
    /// (lossy when the name is not UTF-8).
    outbox: Option<String>,
    /// Quarantine name for BLOCK and ALLOW_REDACTED (the original), for reading.
    quarantine: Option<String>,
    /// The exact bytes of the outbox name, hex: the name used for the move. Journals written
    /// before this field existed fall back to `outbox`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_hex: Option<String>,
    /// The exact bytes of the quarantine name, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quarantine_hex: Option<String>,
    record: serde_json::Value,
}

/// The exact name a journal records (hex bytes), else its lossy form, else `fallback`.
fn journal_name(hex_name: &Option<String>, lossy: &Option<String>, fallback: &OsStr) -> OsString {
    if let Some(b) = hex_name.as_deref().and_then(|h| hex::decode(h).ok()) {
        return OsString::from_vec(b);
    }
    match lossy {
        Some(s) => OsString::from(s),
        None => fallback.to_os_string(),
    }
}

/// What identifies the file the watcher checked: a later look must see the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seal {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Seal {
    fn of(m: &fs::Metadata) -> Seal {
        Seal {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// Why the entry `m` describes may not be gated: only a regular file with one link is.
fn unfit(m: &fs::Metadata) -> Option<&'static str> {
    if !m.file_type().is_file() {
        Some("not a regular file")
    } else if m.nlink() > 1 {
        Some("it has another hard link, through which it could change after the decision")
    } else {
        None
    }
}

/// Opens `path` for reading without following a symbolic link and without blocking on a FIFO.
fn open_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// `a` and `b` (absolute, canonical) are the same directory or one holds the other.
fn nested(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Inbox, outbox, quarantine and work directory must be four distinct directories, none inside
/// another (issue #12, part 2: outbox = quarantine put BLOCKed dumps in the outbox; inbox =
/// outbox gated its own output forever). The one exception is a work directory whose first
/// component under the inbox is a dot-name, which the watcher never takes (the default
/// `INBOX/.dumpguard-work`). The audit log must not be where the watcher takes or delivers files.
fn check_layout(cfg: &WatchConfig) -> Result<(), WatchError> {
    let canon = |what: &str, d: &Path| {
        fs::canonicalize(d).map_err(|e| err(format!("{what} {}", d.display()), e))
    };
    let dirs = [
        ("inbox", canon("inbox", &cfg.inbox)?),
        ("outbox", canon("outbox", &cfg.outbox)?),
        ("quarantine", canon("quarantine", &cfg.quarantine)?),
        ("work directory", canon("work directory", &cfg.work)?),
    ];
    for i in 0..dirs.len() {
        for j in i + 1..dirs.len() {
            let ((a, pa), (b, pb)) = (&dirs[i], &dirs[j]);
            if !nested(pa, pb) {
                continue;
            }
            let hidden_work = *a == "inbox"
                && *b == "work directory"
                && pa != pb
                && pb
                    .strip_prefix(pa)
                    .ok()
                    .and_then(|r| r.components().next())
                    .is_some_and(|c| c.as_os_str().as_bytes().starts_with(b"."));
            if hidden_work {
                continue;
            }
            return Err(WatchError::Nested {
                a,
                a_path: pa.clone(),
                b,
                b_path: pb.clone(),
            });
        }
    }
    let log = crate::output::parent_dir(&cfg.audit_log);
    let log = canon("audit log directory", log)?;
    for (what, d) in &dirs[..3] {
        if log.starts_with(d) && !log.starts_with(&dirs[3].1) {
            return Err(WatchError::LogInside {
                log: cfg.audit_log.clone(),
                what,
                dir: d.clone(),
            });
        }
    }
    Ok(())
}

/// A step boundary; with `DUMPGUARD_WATCH_CRASH_AFTER=N` the process kills itself (SIGKILL) at
/// the N-th one. Used by tests to crash deterministically at every point of the protocol.
fn step() {
    static N: AtomicU64 = AtomicU64::new(0);
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let limit = *LIMIT.get_or_init(|| {
        std::env::var("DUMPGUARD_WATCH_CRASH_AFTER")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    let n = N.fetch_add(1, Ordering::SeqCst) + 1;
    if limit == Some(n) {
        // SAFETY: kill(2) on our own pid.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// A path for a message: inbox names are chosen by whoever writes there, so control characters
/// in them are shown as escapes, never sent to the terminal.
fn shown(p: &Path) -> String {
    crate::report::escape::visible(&p.display().to_string()).into_owned()
}

/// Why the watcher stopped or would not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A file-system operation on the watcher's own directories failed (`context` says which).
    #[error("{context}: {error}")]
    Io {
        /// What was being done, and to which path.
        context: String,
        #[source]
        /// The operating system's error.
        error: io::Error,
    },
    /// A directory to watch or deliver to is not a directory.
    #[error("{what} {} is not a directory", path.display())]
    NotADirectory {
        /// Which of the directories or outputs it is, as the options name it.
        what: &'static str,
        /// The path concerned.
        path: PathBuf,
    },
    /// Two of the directories are one, or one lies inside the other.
    #[error(
        "the {a} {} and the {b} {} {}: inbox, outbox, quarantine and work directory must be distinct and not nested",
        a_path.display(),
        b_path.display(),
        if a_path == b_path { "are the same directory" } else { "are nested" }
    )]
    Nested {
        /// The first directory's role.
        a: &'static str,
        /// The first directory.
        a_path: PathBuf,
        /// The second directory's role.
        b: &'static str,
        /// The second directory.
        b_path: PathBuf,
    },
    /// A directory is on another file system than the work directory (moves must be atomic
    /// renames).
    #[error(
        "the {what} is on another filesystem than the work directory {}: moves must be atomic renames, so inbox, outbox, quarantine and work directory must share one filesystem",
        work.display()
    )]
    OtherFilesystem {
        /// Which of the directories or outputs it is, as the options name it.
        what: &'static str,
        /// The work directory.
        work: PathBuf,
    },
    /// The audit log lies where the watcher takes or delivers files.
    #[error(
        "the audit log {} is inside the {what} {}: it would be taken or delivered",
        log.display(),
        dir.display()
    )]
    LogInside {
        /// The audit log.
        log: PathBuf,
        /// Which of the directories or outputs it is, as the options name it.
        what: &'static str,
        /// The directory concerned.
        dir: PathBuf,
    },
    /// A record cannot be appended to the audit log (`context` says which file waits).
    #[error("{context}: {error}")]
    Audit {
        /// Which file's decision waits to be logged.
        context: String,
        /// Why the log refused it.
        #[source]
        error: super::audit::AuditError,
    },
    /// Another watcher holds the work directory's lock.
    #[error("another watcher is using {0}")]
    Busy(String),
}

fn err(ctx: impl std::fmt::Display, e: io::Error) -> WatchError {
    WatchError::Io {
        context: ctx.to_string(),
        error: e,
    }
}

/// `rename` that never replaces an existing destination (`renameat2(RENAME_NOREPLACE)`).
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: valid NUL-terminated paths; AT_FDCWD resolves them like rename(2).
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Names writers use while a file is still being written.
fn is_temporary(name: &OsStr) -> bool {
    let b = name.as_bytes();
    b.starts_with(b".")
        || [".tmp", ".part", ".partial"]
            .iter()
            .any(|s| b.ends_with(s.as_bytes()))
}

/// The first of `name`, `name.1`, `name.2` … free in `dir` (and, with `sidecar`, whose
/// `<candidate><sidecar>` is free too).
fn free_name(dir: &Path, name: &OsStr, sidecar: Option<&str>) -> OsString {
    for i in 0u64.. {
        let mut c = name.to_os_string();
        if i > 0 {
            c.push(format!(".{i}"));
        }
        let taken = fs::symlink_metadata(dir.join(&c)).is_ok()
            || sidecar.is_some_and(|s| {
                let mut side = c.clone();
                side.push(s);
                fs::symlink_metadata(dir.join(side)).is_ok()
            });
        if !taken {
            return c;
        }
    }
    unreachable!("u64 names exhausted")
}

/// True when some process has `path` open for writing (`/proc/PID/fd` → same inode, with a
/// write access mode in `/proc/PID/fdinfo`). Processes we cannot inspect are skipped.
pub fn open_for_writing(path: &Path) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    let (dev, ino) = (meta.dev(), meta.ino());
    let Ok(procs) = fs::read_dir("/proc") else {
        return false;
    };
    for p in procs.flatten() {
        let pid = p.file_name();
        if !pid.as_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Ok(fds) = fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let same = fs::metadata(fd.path()).is_ok_and(|m| m.dev() == dev && m.ino() == ino);
            if !same {
                continue;
            }
            let info = fs::read_to_string(p.path().join("fdinfo").join(fd.file_name()))
                .unwrap_or_default();
            let flags = info
                .lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|f| u32::from_str_radix(f.trim(), 8).ok());
            match flags {
                Some(f) if f & libc::O_ACCMODE as u32 == libc::O_RDONLY as u32 => {}
                _ => return true, // a writer, or unknown: assume it is still being written
            }
        }
    }
    false
}

struct Seen {
    size: u64,
    mtime: Option<SystemTime>,
    since: Instant,
}

/// One watcher over one inbox.
pub struct Watcher<'g> {
    gate: &'g Gate,
    cfg: WatchConfig,
    seen: HashMap<OsString, Seen>,
    warned: std::collections::HashSet<OsString>,
    report: Box<dyn WatchReport + 'g>,
    _lock: File,
}

/// What the watcher reports as it goes. It prints nothing itself: `dumpguard watch` prints
/// warnings on standard error and one JSON line per decision on standard output; an embedder
/// may log them elsewhere. The default ([`Watcher::new`]) reports nothing.
pub trait WatchReport {
    /// A warning: a file left in the inbox and why, a destination name taken meanwhile.
    fn warn(&mut self, msg: &str);
    /// One decision, once it is journalled: `{file, verdict, exit_code, outbox, quarantine,
    /// recovered}`.
    fn decided(&mut self, event: &serde_json::Value);
}

/// Reports nothing.
struct Unreported;

impl WatchReport for Unreported {
    fn warn(&mut self, _msg: &str) {}
    fn decided(&mut self, _event: &serde_json::Value) {}
}

impl<'g> Watcher<'g> {
    /// Checks the directories (they must exist and share one filesystem, so every move is an
    /// atomic rename), creates the work directory and takes the watcher lock (one watcher per
    /// work directory).
    pub fn new(gate: &'g Gate, cfg: WatchConfig) -> Result<Watcher<'g>, WatchError> {
        let mut devs = Vec::new();
        for (what, d) in [
            ("inbox", &cfg.inbox),
            ("outbox", &cfg.outbox),
            ("quarantine", &cfg.quarantine),
        ] {
            let m = fs::metadata(d).map_err(|e| err(format!("{what} {}", d.display()), e))?;
            if !m.is_dir() {
                return Err(WatchError::NotADirectory {
                    what,
                    path: d.clone(),
                });
            }
            devs.push((what, m.dev()));
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&cfg.work)
            .map_err(|e| err(format!("work directory {}", cfg.work.display()), e))?;
        let work_dev = fs::metadata(&cfg.work)
            .map_err(|e| err(cfg.work.display(), e))?
            .dev();
        if let Some((what, _)) = devs.iter().find(|(_, d)| *d != work_dev) {
            return Err(WatchError::OtherFilesystem {
                what,
                work: cfg.work.clone(),
            });
        }
        check_layout(&cfg)?;
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(cfg.work.join(".lock"))
            .map_err(|e| err("watcher lock", e))?;
        // SAFETY: flock on our descriptor.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(WatchError::Busy(cfg.work.display().to_string()));
        }
        Ok(Watcher {
            gate,
            cfg,
            seen: HashMap::new(),
            warned: Default::default(),
            report: Box::new(Unreported),
            _lock: lock,
        })
    }

    /// Sends warnings and decisions to `report` (see [`WatchReport`]).
    pub fn with_report(mut self, report: Box<dyn WatchReport + 'g>) -> Watcher<'g> {
        self.report = report;
        self
    }

    /// Recovers, then watches until killed (or, with `once`, until the inbox has been through
    /// one pass). Errors are fatal: the audit log or a directory cannot be written, and going on
    /// would make decisions that leave no evidence.
    pub fn run(&mut self) -> Result<(), WatchError> {
        self.recover()?;
        if self.cfg.once {
            self.poll_once()?;
            if !self.cfg.settle.is_zero() {
                std::thread::sleep(self.cfg.settle);
            }
            self.poll_once()?;
            return Ok(());
        }
        loop {
            self.poll_once()?;
            std::thread::sleep(self.cfg.poll);
        }
    }

    /// Finishes every work directory a previous (killed) watcher left behind.
    pub fn recover(&mut self) -> Result<(), WatchError> {
        // Temporary files of an interrupted atomic write of a quarantine decision record.
        for e in fs::read_dir(&self.cfg.quarantine)
            .map_err(|e| err(self.cfg.quarantine.display(), e))?
            .flatten()
        {
            let n = e.file_name();
            let b = n.as_bytes();
            if b.starts_with(b".")
                && b.ends_with(b".tmp")
                && memchr::memmem::find(b, b".decision.json.").is_some()
            {
                let _ = fs::remove_file(e.path());
            }
        }
        let mut items: Vec<OsString> = fs::read_dir(&self.cfg.work)
            .map_err(|e| err(self.cfg.work.display(), e))?
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| !n.as_bytes().starts_with(b"."))
            .collect();
        items.sort();
        for name in items {
            let item = self.cfg.work.join(&name);
            if !item.is_dir() {
                continue;
            }
            match read_journal(&item) {
                Some(j) => self.complete(&item, &name, &j)?,
                None if item.join("dump").exists() => self.decide(&item, &name, true)?,
                None => remove_item(&item, &self.cfg.work)?,
            }
        }
        Ok(())
    }

    /// One look at the inbox: takes every file that is complete.
    pub fn poll_once(&mut self) -> Result<(), WatchError> {
        let mut names: Vec<OsString> = fs::read_dir(&self.cfg.inbox)
            .map_err(|e| err(self.cfg.inbox.display(), e))?
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| !is_temporary(n))
            .collect();
        names.sort();
        let present: std::collections::HashSet<&OsString> = names.iter().collect();
        self.seen.retain(|k, _| present.contains(k));
        let now = Instant::now();
        for name in names {
            let path = self.cfg.inbox.join(&name);
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if let Some(why) = unfit(&meta) {
                if self.warned.insert(name.clone()) {
                    self.report.warn(&format!(
                        "skipping {} ({why}); it stays in the inbox",
                        shown(&path)
                    ));
                }
                continue;
            }
            let (size, mtime) = (meta.len(), meta.modified().ok());
            let settled = match self.seen.get(&name) {
                Some(s) if s.size == size && s.mtime == mtime => {
                    now.duration_since(s.since) >= self.cfg.settle
                }
                _ => {
                    self.seen.insert(
                        name.clone(),
                        Seen {
                            size,
                            mtime,
                            since: now,
                        },
                    );
                    self.cfg.settle.is_zero()
                }
            };
            if !settled || open_for_writing(&path) {
                continue;
            }
            self.seen.remove(&name);
            self.take(&name)?;
        }
        Ok(())
    }

    fn take(&mut self, name: &OsStr) -> Result<(), WatchError> {
        let src = self.cfg.inbox.join(name);
        // What is checked is what is taken: one descriptor, opened without following a link.
        let checked = match open_nofollow(&src).and_then(|f| f.metadata().map(|m| (f, m))) {
            Ok((f, m)) => match unfit(&m) {
                None => (f, Seal::of(&m)),
                Some(why) => {
                    if self.warned.insert(name.to_os_string()) {
                        self.report.warn(&format!(
                            "skipping {} ({why}); it stays in the inbox",
                            shown(&src)
                        ));
                    }
                    return Ok(());
                }
            },
            Err(e) => {
                if self.warned.insert(name.to_os_string()) {
                    self.report.warn(&format!(
                        "skipping {} ({e}); it stays in the inbox",
                        shown(&src)
                    ));
                }
                return Ok(());
            }
        };
        let item = self.cfg.work.join(name);
        match fs::DirBuilder::new().mode(0o700).create(&item) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.report.warn(&format!(
                    "{} is already in the work directory; left in the inbox",
                    name.to_string_lossy()
                ));
                return Ok(());
            }
            Err(e) => return Err(err(item.display(), e)),
        }
        step();
        match rename_noreplace(&src, &item.join("dump")) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Gone before we took it (another process moved it): nothing to do.
                return remove_item(&item, &self.cfg.work);
            }
            Err(e) => return Err(err(format!("claiming {}", name.to_string_lossy()), e)),
        }
        sync_dir(&self.cfg.inbox).map_err(|e| err(self.cfg.inbox.display(), e))?;
        sync_dir(&item).map_err(|e| err(item.display(), e))?;
        step();
        // The entry renamed must be the inode checked, still with one link: between the check
        // and the rename the name could have been pointed elsewhere, or linked to.
        let (fd, seal) = checked;
        let now = fs::symlink_metadata(item.join("dump"));
        let after = fd.metadata();
        drop(fd);
        let problem = match (&now, &after) {
            (Ok(n), Ok(a)) => {
                if (n.dev(), n.ino()) != (seal.dev, seal.ino) || !n.file_type().is_file() {
                    Some("the inbox entry was replaced between its check and its claim".into())
                } else {
                    unfit(a).map(|w| format!("when claimed: {w}"))
                }
            }
            (Err(e), _) | (_, Err(e)) => Some(format!("cannot check the claimed file: {e}")),
        };
        match problem {
            Some(why) => {
                let size = now.map(|m| m.len()).unwrap_or(0);
                self.refuse(&item, name, size, why)
            }
            None => self.decide(&item, name, false),
        }
    }

    /// Quarantines `item/dump` with a BLOCK record saying `why`, without gating it.
    fn refuse(
        &mut self,
        item: &Path,
        name: &OsStr,
        size: u64,
        why: String,
    ) -> Result<(), WatchError> {
        let eval = self.gate.refuse(
            &self.cfg.inbox.join(name),
            size,
            format!("not gated: {why}"),
        );
        self.commit(item, name, eval, false)
    }

    /// Gates `item/dump`, logs the decision, writes the journal, completes the moves.
    fn decide(&mut self, item: &Path, name: &OsStr, recovered: bool) -> Result<(), WatchError> {
        // Leftovers of an interrupted attempt: only `dump` is kept.
        for e in fs::read_dir(item)
            .map_err(|e| err(item.display(), e))?
            .flatten()
        {
            if e.file_name() != "dump" {
                let _ = fs::remove_file(e.path());
            }
        }
        let dump = item.join("dump");
        let before = fs::symlink_metadata(&dump).map_err(|e| err(dump.display(), e))?;
        if let Some(why) = unfit(&before) {
            return self.refuse(item, name, before.len(), why.into());
        }
        let redacted = item.join("redacted");
        let mut eval = self.gate.evaluate(
            &dump,
            if self.cfg.redact {
                Some(&redacted)
            } else {
                None
            },
        );
        // The file the verdict is about must be the file that moves on.
        let after = fs::symlink_metadata(&dump).ok();
        if after.as_ref().map(Seal::of) != Some(Seal::of(&before))
            || after.as_ref().and_then(unfit).is_some()
        {
            eval.record.fail(
                "the dump changed (or gained a link) while it was being gated; nothing is allowed",
            );
            if let Some((copy, att)) = eval.redacted.take() {
                let _ = fs::remove_file(copy);
                let _ = fs::remove_file(att);
            }
        }
        self.commit(item, name, eval, recovered)
    }

    /// Logs a decision, writes the journal, completes the moves.
    fn commit(
        &mut self,
        item: &Path,
        name: &OsStr,
        mut eval: super::Evaluation,
        recovered: bool,
    ) -> Result<(), WatchError> {
        let shown = self.cfg.inbox.join(name).display().to_string();
        eval.record.report.input.path = shown.clone();
        if let Some(a) = eval.record.decision.redaction.as_mut() {
            a.original.path = shown.clone();
        }
        let verdict = eval.record.decision.verdict;
        let outbox = match verdict {
            Verdict::Allow | Verdict::AllowRedacted => {
                Some(free_name(&self.cfg.outbox, name, None))
            }
            Verdict::Block => None,
        };
        let quarantine = match verdict {
            Verdict::Block | Verdict::AllowRedacted => Some(free_name(
                &self.cfg.quarantine,
                name,
                Some(".decision.json"),
            )),
            Verdict::Allow => None,
        };
        if let (Some(a), Some(dest)) = (eval.record.decision.redaction.as_mut(), &outbox) {
            if let Some(c) = a.copy.as_mut() {
                c.path = self.cfg.outbox.join(dest).display().to_string();
            }
        }
        let lossy = |o: &Option<OsString>| o.as_ref().map(|s| s.to_string_lossy().into_owned());
        let extra = serde_json::json!({
            "watch": {
                "file": name.to_string_lossy(),
                "outbox": lossy(&outbox).map(|n| self.cfg.outbox.join(n).display().to_string()),
                "quarantine": lossy(&quarantine).map(|n| self.cfg.quarantine.join(n).display().to_string()),
                "recovered": recovered,
            }
        });
        let event = audit_event(&eval.record, None, Some(&extra));
        super::audit::append(&self.cfg.audit_log, &event).map_err(|error| WatchError::Audit {
            context: format!(
                "audit log {} (the file stays in {} until the log can be written)",
                self.cfg.audit_log.display(),
                item.display()
            ),
            error,
        })?;
        step();
        let hexed = |o: &Option<OsString>| o.as_ref().map(|s| hex::encode(s.as_bytes()));
        let journal = Journal {
            verdict: verdict.as_str().into(),
            outbox: lossy(&outbox),
            quarantine: lossy(&quarantine),
            outbox_hex: hexed(&outbox),
            quarantine_hex: hexed(&quarantine),
            record: serde_json::to_value(&eval.record).expect("record serialises"),
        };
        crate::output::write_atomic(
            &item.join("decision.json"),
            &serde_json::to_vec_pretty(&journal).expect("journal serialises"),
        )
        .map_err(|e| err(item.join("decision.json").display(), e))?;
        step();
        self.report.decided(&serde_json::json!({
            "file": name.to_string_lossy(),
            "verdict": verdict,
            "exit_code": eval.record.decision.exit_code,
            "outbox": journal.outbox,
            "quarantine": journal.quarantine,
            "recovered": recovered,
        }));
        self.complete(item, name, &journal)
    }

    /// Performs the moves the journal records; each is skipped when already done.
    fn complete(&mut self, item: &Path, name: &OsStr, j: &Journal) -> Result<(), WatchError> {
        let dump = item.join("dump");
        match j.verdict.as_str() {
            "ALLOW" => {
                let dest = journal_name(&j.outbox_hex, &j.outbox, name);
                self.move_to(&dump, &self.cfg.outbox.clone(), &dest)?;
            }
            "ALLOW_REDACTED" => {
                let dest = journal_name(&j.outbox_hex, &j.outbox, name);
                self.move_to(&item.join("redacted"), &self.cfg.outbox.clone(), &dest)?;
                step();
                self.quarantine(item, name, j)?;
            }
            _ => self.quarantine(item, name, j)?,
        }
        step();
        remove_item(item, &self.cfg.work)
    }

    fn quarantine(&mut self, item: &Path, name: &OsStr, j: &Journal) -> Result<(), WatchError> {
        let dump = item.join("dump");
        if !dump.exists() {
            return Ok(());
        }
        let dest = journal_name(&j.quarantine_hex, &j.quarantine, name);
        let q = self.cfg.quarantine.clone();
        let mut side = dest.clone();
        side.push(".decision.json");
        let side = q.join(side);
        let record = serde_json::to_vec_pretty(&j.record).expect("record serialises");
        crate::output::write_atomic(&side, &record).map_err(|e| err(side.display(), e))?;
        step();
        self.move_to(&dump, &q, &dest)
    }

    /// Moves `src` (if still there) to `dir/dest`, never replacing a file: when `dest` was taken
    /// meanwhile by someone else, a free `dest.N` is used.
    fn move_to(&mut self, src: &Path, dir: &Path, dest: &OsStr) -> Result<(), WatchError> {
        if fs::symlink_metadata(src).is_err() {
            return Ok(()); // already moved before a restart
        }
        let mut target = dir.join(dest);
        if let Err(e) = rename_noreplace(src, &target) {
            if e.kind() != io::ErrorKind::AlreadyExists {
                return Err(err(format!("moving to {}", target.display()), e));
            }
            target = dir.join(free_name(dir, dest, None));
            self.report.warn(&format!(
                "{}/{} appeared meanwhile; using {}",
                dir.display(),
                dest.to_string_lossy(),
                target.display()
            ));
            rename_noreplace(src, &target)
                .map_err(|e| err(format!("moving to {}", target.display()), e))?;
        }
        sync_dir(dir).map_err(|e| err(dir.display(), e))?;
        Ok(())
    }
}

fn read_journal(item: &Path) -> Option<Journal> {
    let bytes = fs::read(item.join("decision.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn remove_item(item: &Path, work: &Path) -> Result<(), WatchError> {
    match fs::remove_dir_all(item) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(item.display(), e)),
    }
    sync_dir(work).map_err(|e| err(work.display(), e))
}
