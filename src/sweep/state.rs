//! The sweep's memory between runs: an embedded SQLite database (`--state FILE`).
//!
//! - `files`: one row per directory entry ever swept, keyed by path, with the size, mtime
//!   (ns) and content hash (`blake3:<hex>`; `sha256:<hex>` from states before version 3) it
//!   had when scanned, the tool version and rules/policy digests that
//!   scanned it, its status (`scanned`, `skipped`, `failed`, `gone`) and reason. A file whose
//!   size, mtime and digests match is not scanned again — and its row is not even written:
//!   a sweep of an unchanged share only reads the state (which entries a run saw comes from
//!   its walk, not from the database).
//! - `units`: the schema-v1 report (and layout picture, and the policy's verdict) of every dump
//!   a file holds — the file itself, or each archive member — so unchanged files are reported
//!   without a rescan.
//! - `secrets`: each distinct secret per dump (by fingerprint), with first-seen, last-seen and
//!   resolved times: what makes a finding *new* or *resolved*.
//! - `runs`: one row per sweep. A run killed before it finished is *resumed* by the next sweep
//!   with the same parameters: it keeps the run id, so what that run already scanned counts as
//!   scanned by it, and the final results equal those of an uninterrupted run.
//!
//! Durability: WAL journal, one transaction per batch of files ([`State::batch`]: whatever
//! finished scanning within 25 ms, or 32 files). SIGKILL loses at most the files being
//! scanned or waiting to be committed at that moment (they are scanned again), never a
//! committed one, and never leaves half a file's results (a transaction is all or nothing). The database is opened in
//! exclusive locking mode, so two sweeps cannot share a state file by accident; give each shard
//! its own (SQLite over NFS is unsafe anyway).

pub use super::error::StateError;
use super::scanfile::Unit;
use super::status::EntryStatus;
use crate::report::{Finding, Kind, Severity};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Bumped when the schema changes incompatibly.
const SCHEMA_VERSION: i64 = 3;

/// What a scan result depends on besides the file: a change in any of these rescans.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Digests {
    pub tool_version: String,
    pub rules: String,
    pub policy: String,
}

/// The current run.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: i64,
    /// The last run that finished before this one (0 if none): findings first seen after it
    /// are new, findings resolved after it are reported as resolved.
    pub prev_finished: i64,
    /// True when this sweep continues a run that was interrupted.
    pub resumed: bool,
    /// When the run started (the first attempt, for a resumed run): the time every open
    /// secret of an entry seen by this run was last seen.
    pub started_at: String,
}

/// A `files` row, as the incremental check needs it.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub size: u64,
    pub mtime_ns: i64,
    /// `<algorithm>:<hex>` (`scanfile::hash_file`).
    pub content_hash: Option<String>,
    pub status: EntryStatus,
    pub digests: Digests,
}

/// One secret of one dump, as stored.
#[derive(Debug, Clone)]
pub struct SecretRow {
    pub unit: String,
    pub secret: String,
    pub kind: Kind,
    pub severity: Severity,
    pub fingerprint: Option<String>,
    pub first_run: i64,
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_run: Option<i64>,
    pub resolved_at: Option<String>,
}

/// Everything stored about one entry seen in a run, for the output.
#[derive(Debug, Clone)]
pub struct FileOut {
    pub path: String,
    pub folder: String,
    pub status: EntryStatus,
    pub reason: Option<String>,
    pub size: u64,
    pub scanned_run: Option<i64>,
    pub scanned_at: Option<String>,
    /// (unit name, report JSON, layout JSON, verdict JSON), in order.
    pub units: Vec<(String, String, String, Option<String>)>,
    pub secrets: Vec<SecretRow>,
}

/// The identity of a finding's secret within a dump: its fingerprint when it has one (so the
/// same key found five times is one secret), else where and how it was found.
pub fn secret_id(f: &Finding) -> String {
    match &f.fingerprint {
        Some(fp) => fp.clone(),
        None => format!("{}:{}:{}@{:#x}", f.detector, f.kind, f.encoding, f.offset),
    }
}

pub struct State {
    conn: Connection,
}

type Result<T> = std::result::Result<T, StateError>;

fn db<T>(r: rusqlite::Result<T>) -> Result<T> {
    r.map_err(StateError::Db)
}

/// Creates the database file mode 0600, or narrows an existing one to 0600, before SQLite opens
/// it: it holds full reports (docs/design.md principle 3), and SQLite creates its `-wal` and `-shm`
/// files with the database file's mode. It was created 0644 (issue #12, part 7).
fn private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|error| StateError::Open {
            path: path.to_path_buf(),
            error,
        })?;
    let mode = f.metadata().map(|m| m.permissions().mode()).unwrap_or(0);
    if mode & 0o077 != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|error| StateError::Private {
                path: path.to_path_buf(),
                error,
            })?;
    }
    Ok(())
}

impl State {
    /// Opens (creating if needed) the state database, takes its exclusive lock and brings the
    /// schema up to date.
    pub fn open(path: &Path) -> Result<State> {
        private_file(path)?;
        let conn = Connection::open(path).map_err(|error| StateError::Sqlite {
            path: path.to_path_buf(),
            error,
        })?;
        // Exclusive locking before WAL: the WAL then lives without shared memory, and a second
        // sweep on the same file fails fast instead of interleaving.
        db(conn.pragma_update(None, "locking_mode", "EXCLUSIVE"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| busy_or(e, path))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StateError::NoWal { mode });
        }
        // NORMAL in WAL mode: a committed transaction survives the process being killed (it is
        // in the OS page cache); only a power loss may drop the last few.
        db(conn.pragma_update(None, "synchronous", "NORMAL"))?;
        let version: i64 = db(conn.query_row("PRAGMA user_version", [], |r| r.get(0)))?;
        if version > SCHEMA_VERSION {
            return Err(StateError::Newer {
                path: path.to_path_buf(),
                version,
            });
        }
        if version == 1 {
            // Version 2 adds the policy's per-dump verdict. Rows of version 1 have none; their
            // policy digest (the old built-in placeholder) differs from any real policy's, so
            // the next sweep rescans them and fills it in.
            conn.execute_batch(
                "BEGIN; ALTER TABLE units ADD COLUMN verdict TEXT; PRAGMA user_version = 2; COMMIT;",
            )
            .map_err(|e| busy_or(e, path))?;
        }
        if version == 1 || version == 2 {
            // Version 3 keeps the content hash with its algorithm (`blake3:<hex>`), since the
            // sweep hashes with BLAKE3 like `scan`. Older rows hold a bare SHA-256: prefixed,
            // `--rehash` still compares them with SHA-256.
            let has_files: i64 = db(conn.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'files'",
                [],
                |r| r.get(0),
            ))?;
            let rename = if has_files > 0 {
                "ALTER TABLE files RENAME COLUMN sha256 TO content_hash;
                 UPDATE files SET content_hash = 'sha256:' || content_hash
                     WHERE content_hash IS NOT NULL;"
            } else {
                ""
            };
            conn.execute_batch(&format!("BEGIN; {rename} PRAGMA user_version = 3; COMMIT;"))
                .map_err(|e| busy_or(e, path))?;
            return Ok(State { conn });
        }
        if version == SCHEMA_VERSION {
            // Up to date: only take the write lock now (kept, in exclusive mode), so a second
            // sweep on this file fails here rather than midway.
            conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")
                .map_err(|e| busy_or(e, path))?;
            return Ok(State { conn });
        }
        conn.execute_batch(
            "BEGIN;
            CREATE TABLE IF NOT EXISTS runs(
                id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
                params TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS files(
                path TEXT PRIMARY KEY, rel TEXT NOT NULL, folder TEXT NOT NULL,
                size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, content_hash TEXT,
                status TEXT NOT NULL, reason TEXT,
                tool_version TEXT NOT NULL, rules_digest TEXT NOT NULL, policy_digest TEXT NOT NULL,
                scanned_run INTEGER, scanned_at TEXT, seen_run INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS units(
                file TEXT NOT NULL, seq INTEGER NOT NULL, unit TEXT NOT NULL,
                report TEXT NOT NULL, layout TEXT NOT NULL, verdict TEXT,
                PRIMARY KEY(file, seq));
            CREATE TABLE IF NOT EXISTS secrets(
                unit TEXT NOT NULL, secret TEXT NOT NULL, file TEXT NOT NULL,
                kind TEXT NOT NULL, severity TEXT NOT NULL, fingerprint TEXT,
                first_run INTEGER NOT NULL, first_seen TEXT NOT NULL,
                last_run INTEGER NOT NULL, last_seen TEXT NOT NULL,
                resolved_run INTEGER, resolved_at TEXT, PRIMARY KEY(unit, secret));
            CREATE INDEX IF NOT EXISTS secrets_file ON secrets(file);
            PRAGMA user_version = 3;
            COMMIT;",
        )
        .map_err(|e| busy_or(e, path))?;
        Ok(State { conn })
    }

    /// Resumes the latest run if it was interrupted and had the same parameters, else starts
    /// a new one.
    pub fn begin_run(&mut self, params: &str, now: &str) -> Result<Run> {
        let prev_finished: i64 = db(self.conn.query_row(
            "SELECT COALESCE(MAX(id), 0) FROM runs WHERE finished_at IS NOT NULL",
            [],
            |r| r.get(0),
        ))?;
        let last: Option<(i64, Option<String>, String, String)> = db(self
            .conn
            .query_row(
                "SELECT id, finished_at, params, started_at FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional())?;
        if let Some((id, None, p, started_at)) = last {
            if p == params {
                return Ok(Run {
                    id,
                    prev_finished,
                    resumed: true,
                    started_at,
                });
            }
        }
        let tx = db(self.conn.transaction())?;
        // Entries reported gone by an earlier run are history now.
        db(tx.execute("DELETE FROM files WHERE status = 'gone'", []))?;
        db(tx.execute(
            "INSERT INTO runs(started_at, params) VALUES (?1, ?2)",
            params![now, params],
        ))?;
        let id = tx.last_insert_rowid();
        db(tx.commit())?;
        Ok(Run {
            id,
            prev_finished,
            resumed: false,
            started_at: now.to_string(),
        })
    }

    pub fn finish_run(&mut self, run: &Run, now: &str) -> Result<()> {
        db(self.conn.execute(
            "UPDATE runs SET finished_at = ?1 WHERE id = ?2",
            params![now, run.id],
        ))?;
        Ok(())
    }

    /// Every `files` row, for the unchanged check.
    pub fn load_files(&self) -> Result<HashMap<String, FileRow>> {
        let mut stmt = db(self.conn.prepare(
            "SELECT path, size, mtime_ns, content_hash, status, tool_version, rules_digest, policy_digest FROM files",
        ))?;
        let rows = db(stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                FileRow {
                    size: r.get::<_, i64>(1)? as u64,
                    mtime_ns: r.get(2)?,
                    content_hash: r.get(3)?,
                    status: r.get(4)?,
                    digests: Digests {
                        tool_version: r.get(5)?,
                        rules: r.get(6)?,
                        policy: r.get(7)?,
                    },
                },
            ))
        }))?;
        let mut out = HashMap::new();
        for row in rows {
            let (k, v) = db(row)?;
            out.insert(k, v);
        }
        Ok(out)
    }

    /// Records entries that were not scanned (skipped or failed) with their reason, in a
    /// transaction of their own (see [`Batch::record_unscanned`]).
    pub fn record_unscanned(
        &mut self,
        run: &Run,
        entries: &[Unscanned<'_>],
        digests: &Digests,
    ) -> Result<()> {
        let batch = self.batch()?;
        batch.record_unscanned(run, entries, digests)?;
        batch.commit()
    }

    /// Records a scanned file in a transaction of its own (see [`Batch::record_scan`]).
    #[cfg(test)]
    pub fn record_scan(
        &mut self,
        run: &Run,
        file: &ScannedFile<'_>,
        digests: &Digests,
        now: &str,
    ) -> Result<()> {
        let batch = self.batch()?;
        batch.record_scan(run, file, digests, now)?;
        batch.commit()
    }

    /// Starts a transaction that records several files at once: committing once per batch
    /// instead of once per file writes each touched page to the WAL once per batch (a sweep of
    /// 2000 dumps of 512 KiB wrote 53 MB for its 4 MB state, 14.7 MB in batches; and each
    /// checkpoint's fsync stalled the recording thread, and through it the scanners).
    pub fn batch(&mut self) -> Result<Batch<'_>> {
        Ok(Batch {
            tx: db(self.conn.transaction())?,
        })
    }

    /// Entries that were in scope but not seen by this run's walk are gone (deleted, moved,
    /// or now excluded): their secrets are resolved. Returns the paths of every entry gone in
    /// this run (also those marked by an earlier attempt of a resumed run).
    pub fn mark_gone(
        &mut self,
        run: &Run,
        seen: &HashSet<&str>,
        in_scope: &dyn Fn(&str, &str) -> bool,
        now: &str,
    ) -> Result<Vec<String>> {
        let mut already = Vec::new();
        let candidates: Vec<String> = {
            let mut stmt = db(self
                .conn
                .prepare("SELECT path, rel, status, seen_run FROM files"))?;
            let rows = db(stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            }))?;
            let mut v = Vec::new();
            for row in rows {
                let (p, rel, status, seen_run) = db(row)?;
                if status == "gone" {
                    if seen_run == run.id {
                        already.push(p);
                    }
                } else if !seen.contains(p.as_str()) && in_scope(&p, &rel) {
                    v.push(p);
                }
            }
            v
        };
        let tx = db(self.conn.transaction())?;
        for p in &candidates {
            let open = open_secrets(&tx, p)?;
            resolve(&tx, run, now, open.into_iter())?;
            db(tx.execute("DELETE FROM units WHERE file = ?1", params![p]))?;
            db(tx.execute(
                "UPDATE files SET status = 'gone', reason = 'no longer found under the roots (deleted, moved or now excluded)', seen_run = ?1 WHERE path = ?2",
                params![run.id, p],
            ))?;
        }
        db(tx.commit())?;
        already.extend(candidates);
        Ok(already)
    }

    /// Calls `each` for the entries `paths` (sorted in byte order, as `str` sorts), with
    /// their reports and their secrets (open and resolved). Each table is read in one pass in
    /// path order (SQLite's BINARY collation is that byte order) and joined on the path:
    /// three lookups per entry cost more than everything else a no-op sweep does.
    pub fn for_each_output<E: From<StateError>>(
        &self,
        paths: &[&str],
        each: &mut dyn FnMut(FileOut) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        debug_assert!(
            paths.windows(2).all(|w| w[0] < w[1]),
            "paths must be sorted"
        );
        let mut files = db(self.conn.prepare(
            "SELECT folder, status, reason, size, scanned_run, scanned_at, path FROM files
             ORDER BY path",
        ))?;
        let mut units = db(self
            .conn
            .prepare("SELECT unit, report, layout, verdict, file FROM units ORDER BY file, seq"))?;
        let mut secrets = db(self.conn.prepare(
            "SELECT unit, secret, kind, severity, fingerprint, first_run, first_seen, last_seen,
                resolved_run, resolved_at, file FROM secrets ORDER BY file, unit, secret",
        ))?;
        let mut files = Joined::new(db(files.query_map([], |r| {
            Ok((
                r.get::<_, String>(6)?,
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, EntryStatus>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ),
            ))
        }))?);
        let mut units = Joined::new(db(units.query_map([], |u| {
            Ok((
                u.get::<_, String>(4)?,
                (u.get(0)?, u.get(1)?, u.get(2)?, u.get(3)?),
            ))
        }))?);
        let mut secrets = Joined::new(db(
            secrets.query_map([], |r| Ok((r.get::<_, String>(10)?, secret_row(r)?)))
        )?);
        for path in paths {
            let Some((folder, status, reason, size, scanned_run, scanned_at)) =
                files.take(path)?.pop()
            else {
                continue;
            };
            each(FileOut {
                path: path.to_string(),
                folder,
                status,
                reason,
                size: size as u64,
                scanned_run,
                scanned_at,
                units: units.take(path)?,
                secrets: secrets.take(path)?,
            })?;
        }
        Ok(())
    }
}

/// Results of several files recorded in one transaction ([`State::batch`]): all of them are
/// in the state once [`Batch::commit`] returns, none of them if the sweep dies before (they
/// are then scanned again), and never part of a file.
pub struct Batch<'a> {
    tx: Transaction<'a>,
}

impl Batch<'_> {
    /// Records entries that were not scanned (skipped or failed) with their reason. Their
    /// earlier reports are dropped; their earlier secrets are left as they were (neither seen
    /// nor resolved: nobody looked).
    pub fn record_unscanned(
        &self,
        run: &Run,
        entries: &[Unscanned<'_>],
        digests: &Digests,
    ) -> Result<()> {
        let tx = &self.tx;
        {
            let mut up = db(tx.prepare_cached(
                "INSERT INTO files(path, rel, folder, size, mtime_ns, content_hash, status, reason,
                    tool_version, rules_digest, policy_digest, scanned_run, scanned_at, seen_run)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?8, ?9, ?10, NULL, NULL, ?11)
                 ON CONFLICT(path) DO UPDATE SET rel = excluded.rel, folder = excluded.folder,
                    size = excluded.size, mtime_ns = excluded.mtime_ns, content_hash = NULL,
                    status = excluded.status, reason = excluded.reason,
                    tool_version = excluded.tool_version, rules_digest = excluded.rules_digest,
                    policy_digest = excluded.policy_digest, scanned_run = NULL, scanned_at = NULL,
                    seen_run = excluded.seen_run",
            ))?;
            let mut del = db(tx.prepare_cached("DELETE FROM units WHERE file = ?1"))?;
            for e in entries {
                db(up.execute(params![
                    e.path,
                    e.rel,
                    e.folder,
                    e.size as i64,
                    e.mtime_ns,
                    e.status,
                    e.reason,
                    digests.tool_version,
                    digests.rules,
                    digests.policy,
                    run.id
                ]))?;
                db(del.execute(params![e.path]))?;
            }
        }
        Ok(())
    }

    /// Records a scanned file: its reports replace the earlier ones, its secrets are upserted
    /// (new ones first seen now), and secrets it no longer holds are resolved — or forgotten,
    /// if they first appeared in this very run (an interrupted run that saw the file change).
    pub fn record_scan(
        &self,
        run: &Run,
        file: &ScannedFile<'_>,
        digests: &Digests,
        now: &str,
    ) -> Result<()> {
        // Statements come from the connection's cache (`prepare_cached`), here and in the
        // helpers: parsing them again for every file was 3% of a sweep of 512 KiB dumps.
        let tx = &self.tx;
        let before = open_secrets(tx, file.path)?;
        db(db(tx.prepare_cached("DELETE FROM units WHERE file = ?1"))?.execute(params![file.path]))?;
        let mut now_held: HashSet<(String, String)> = HashSet::new();
        {
            let mut ins = db(tx.prepare_cached(
                "INSERT INTO units(file, seq, unit, report, layout, verdict)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            ))?;
            let mut up = db(tx.prepare_cached(
                "INSERT INTO secrets(unit, secret, file, kind, severity, fingerprint,
                    first_run, first_seen, last_run, last_seen, resolved_run, resolved_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7, ?8, NULL, NULL)
                 ON CONFLICT(unit, secret) DO UPDATE SET file = excluded.file,
                    kind = excluded.kind, severity = excluded.severity,
                    last_run = excluded.last_run, last_seen = excluded.last_seen,
                    resolved_run = NULL, resolved_at = NULL",
            ))?;
            for (seq, u) in file.units.iter().enumerate() {
                let report = u.report.to_json(false);
                let layout = serde_json::to_string(&u.layout).expect("layout serialises");
                let verdict = u
                    .verdict
                    .as_ref()
                    .map(|v| serde_json::to_string(v).expect("verdict serialises"));
                db(ins.execute(params![
                    file.path, seq as i64, u.name, report, layout, verdict
                ]))?;
                for (secret, (kind, severity, fp)) in secrets_of(&u.report.findings) {
                    db(up.execute(params![
                        u.name, secret, file.path, kind, severity, fp, run.id, now
                    ]))?;
                    now_held.insert((u.name.clone(), secret));
                }
            }
        }
        resolve(
            tx,
            run,
            now,
            before
                .into_iter()
                .filter(|s| !now_held.contains(&(s.0.clone(), s.1.clone()))),
        )?;
        db(db(tx.prepare_cached(
            "INSERT INTO files(path, rel, folder, size, mtime_ns, content_hash, status, reason,
                tool_version, rules_digest, policy_digest, scanned_run, scanned_at, seen_run)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'scanned', NULL, ?7, ?8, ?9, ?10, ?11, ?10)
             ON CONFLICT(path) DO UPDATE SET rel = excluded.rel, folder = excluded.folder,
                size = excluded.size, mtime_ns = excluded.mtime_ns,
                content_hash = excluded.content_hash,
                status = 'scanned', reason = NULL, tool_version = excluded.tool_version,
                rules_digest = excluded.rules_digest, policy_digest = excluded.policy_digest,
                scanned_run = excluded.scanned_run, scanned_at = excluded.scanned_at,
                seen_run = excluded.seen_run",
        ))?
        .execute(params![
            file.path,
            file.rel,
            file.folder,
            file.size as i64,
            file.mtime_ns,
            file.content_hash,
            digests.tool_version,
            digests.rules,
            digests.policy,
            run.id,
            now
        ]))?;
        Ok(())
    }

    /// Makes everything recorded in this batch durable.
    pub fn commit(self) -> Result<()> {
        db(self.tx.commit())
    }
}

/// The rows of one table, read in path order, handed out path by path to a merge join.
struct Joined<T, I> {
    rows: std::iter::Fuse<I>,
    /// The first row not yet handed out.
    next: Option<(String, T)>,
}

impl<T, I: Iterator<Item = rusqlite::Result<(String, T)>>> Joined<T, I> {
    fn new(rows: I) -> Self {
        Joined {
            rows: rows.fuse(),
            next: None,
        }
    }

    /// The rows of `path`, skipping those of paths before it (entries not asked for).
    fn take(&mut self, path: &str) -> Result<Vec<T>> {
        let mut out = Vec::new();
        loop {
            let (p, _) = match &self.next {
                Some(row) => row,
                None => match self.rows.next() {
                    Some(row) => self.next.insert(db(row)?),
                    None => return Ok(out),
                },
            };
            match p.as_str().cmp(path) {
                std::cmp::Ordering::Less => self.next = None,
                std::cmp::Ordering::Equal => out.extend(self.next.take().map(|(_, t)| t)),
                std::cmp::Ordering::Greater => return Ok(out),
            }
        }
    }
}

/// A file entry recorded without a scan.
pub struct Unscanned<'a> {
    pub path: &'a str,
    pub rel: &'a str,
    pub folder: &'a str,
    pub size: u64,
    pub mtime_ns: i64,
    /// `skipped` or `failed`.
    pub status: EntryStatus,
    pub reason: &'a str,
}

/// A scanned file and what it produced.
pub struct ScannedFile<'a> {
    pub path: &'a str,
    pub rel: &'a str,
    pub folder: &'a str,
    pub size: u64,
    pub mtime_ns: i64,
    /// `<algorithm>:<hex>` (`scanfile::hash_file`).
    pub content_hash: &'a str,
    pub units: &'a [Unit],
}

fn busy_or(e: rusqlite::Error, path: &Path) -> StateError {
    let path = path.to_path_buf();
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::DatabaseBusy
            || f.code == rusqlite::ErrorCode::DatabaseLocked
        {
            return StateError::Busy { path };
        }
    }
    StateError::File { path, error: e }
}

fn secret_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SecretRow> {
    Ok(SecretRow {
        unit: r.get(0)?,
        secret: r.get(1)?,
        kind: Kind::parse(&r.get::<_, String>(2)?),
        // As before the column was typed: an unreadable severity counts as high.
        severity: Severity::parse(&r.get::<_, String>(3)?).unwrap_or(Severity::High),
        fingerprint: r.get(4)?,
        first_run: r.get(5)?,
        first_seen: r.get(6)?,
        last_seen: r.get(7)?,
        resolved_run: r.get(8)?,
        resolved_at: r.get(9)?,
    })
}

/// The distinct secrets of a report's findings: id → (kind, highest severity, fingerprint).
fn secrets_of(findings: &[Finding]) -> BTreeMap<String, (String, String, Option<String>)> {
    let mut out: BTreeMap<String, (String, crate::report::Severity, Option<String>)> =
        BTreeMap::new();
    for f in findings {
        let e = out
            .entry(secret_id(f))
            .or_insert_with(|| (f.kind.to_string(), f.severity, f.fingerprint.clone()));
        e.1 = e.1.max(f.severity);
    }
    out.into_iter()
        .map(|(k, (kind, sev, fp))| (k, (kind, sev.as_str().to_string(), fp)))
        .collect()
}

/// Open secrets of a file: (unit, secret, first_run).
fn open_secrets(tx: &Connection, file: &str) -> Result<Vec<(String, String, i64)>> {
    let mut stmt = db(tx.prepare_cached(
        "SELECT unit, secret, first_run FROM secrets WHERE file = ?1 AND resolved_run IS NULL",
    ))?;
    let rows = db(stmt.query_map(params![file], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))?;
    db(rows.collect())
}

/// Resolves secrets no longer held; those that appeared after the last finished run never
/// made it into a finished report, so they are simply forgotten.
fn resolve(
    tx: &Connection,
    run: &Run,
    now: &str,
    gone: impl Iterator<Item = (String, String, i64)>,
) -> Result<()> {
    let mut del = db(tx.prepare_cached("DELETE FROM secrets WHERE unit = ?1 AND secret = ?2"))?;
    // Open secrets of the entries a run sees are seen by it, so the last sweep that saw a
    // secret now gone is the last finished one.
    let mut res = db(tx.prepare_cached(
        "UPDATE secrets SET resolved_run = ?3, resolved_at = ?4,
            last_seen = COALESCE((SELECT started_at FROM runs WHERE id = ?5), last_seen)
         WHERE unit = ?1 AND secret = ?2",
    ))?;
    for (unit, secret, first_run) in gone {
        if first_run > run.prev_finished {
            db(del.execute(params![unit, secret]))?;
        } else {
            db(res.execute(params![unit, secret, run.id, now, run.prev_finished]))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Finding, Severity};
    use crate::sweep::layout::Layout;
    use crate::sweep::scanfile::{placeholder, Unit};
    use crate::Scanner;

    fn finding(fp: &str) -> Finding {
        Finding::verified_rsa_for_test("F1", fp, Severity::Critical)
    }

    fn unit(scanner: &Scanner, fps: &[&str]) -> Unit {
        let mut report = placeholder(scanner, "/s/a.dmp", 100, "test");
        report.findings = fps.iter().map(|f| finding(f)).collect();
        Unit {
            name: "/s/a.dmp".into(),
            member: None,
            report,
            layout: Layout::default(),
            verdict: None,
        }
    }

    fn digests() -> Digests {
        Digests {
            tool_version: "t".into(),
            rules: "r".into(),
            policy: "p".into(),
        }
    }

    fn record(st: &mut State, run: &Run, u: &Unit) {
        let units = std::slice::from_ref(u);
        let f = ScannedFile {
            path: "/s/a.dmp",
            rel: "a.dmp",
            folder: "/s",
            size: 100,
            mtime_ns: 1,
            content_hash: "blake3:x",
            units,
        };
        st.record_scan(run, &f, &digests(), "now").unwrap();
    }

    fn secrets(st: &State, _run: &Run) -> Vec<SecretRow> {
        let mut out = Vec::new();
        st.for_each_output::<StateError>(&["/s/a.dmp"], &mut |f| {
            out.extend(f.secrets);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn new_resolved_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let scanner = Scanner::new();
        let mut st = State::open(&dir.path().join("s.sqlite")).unwrap();
        let r1 = st.begin_run("p", "t1").unwrap();
        assert_eq!((r1.id, r1.prev_finished, r1.resumed), (1, 0, false));
        record(&mut st, &r1, &unit(&scanner, &["sha256:a"]));
        st.finish_run(&r1, "t1").unwrap();

        // Run 2 sees B instead of A, and is killed before it finishes.
        let r2 = st.begin_run("p", "t2").unwrap();
        assert_eq!((r2.id, r2.prev_finished), (2, 1));
        record(&mut st, &r2, &unit(&scanner, &["sha256:b"]));
        let s = secrets(&st, &r2);
        let a = s.iter().find(|x| x.secret == "sha256:a").unwrap();
        assert_eq!(a.resolved_run, Some(2));
        drop(st);

        // The restart resumes run 2; the file changed back: A is open again (known, first seen
        // in run 1), B never reached a finished report and is forgotten, not "resolved".
        let mut st = State::open(&dir.path().join("s.sqlite")).unwrap();
        let r2b = st.begin_run("p", "t3").unwrap();
        assert_eq!((r2b.id, r2b.resumed), (2, true));
        record(&mut st, &r2b, &unit(&scanner, &["sha256:a"]));
        let s = secrets(&st, &r2b);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(
            (s[0].secret.as_str(), s[0].first_run, s[0].resolved_run),
            ("sha256:a", 1, None)
        );

        // Different parameters start a new run instead of resuming.
        let r3 = st.begin_run("other", "t4").unwrap();
        assert_eq!((r3.id, r3.resumed, r3.prev_finished), (3, false, 1));
    }

    /// A batch is all or nothing: files recorded in a batch that is never committed (the
    /// sweep was killed) are not in the state, so the next sweep scans them again; a committed
    /// batch holds every file it recorded.
    #[test]
    fn a_batch_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.sqlite");
        let scanner = Scanner::new();
        // One unit per file, named like it (a secret is kept per dump).
        let units: Vec<Unit> = ["/s/a.dmp", "/s/b.dmp", "/s/c.dmp"]
            .iter()
            .map(|name| Unit {
                name: name.to_string(),
                ..unit(&scanner, &["sha256:a"])
            })
            .collect();
        let file = |i: usize| ScannedFile {
            path: &units[i].name,
            rel: &units[i].name[3..],
            folder: "/s",
            size: 100,
            mtime_ns: 1,
            content_hash: "blake3:x",
            units: std::slice::from_ref(&units[i]),
        };
        let mut st = State::open(&p).unwrap();
        let run = st.begin_run("p", "t1").unwrap();
        {
            let batch = st.batch().unwrap();
            batch.record_scan(&run, &file(0), &digests(), "t1").unwrap();
            batch.record_scan(&run, &file(1), &digests(), "t1").unwrap();
            // Dropped uncommitted, as by a kill between recording and committing.
        }
        assert!(st.load_files().unwrap().is_empty());
        let batch = st.batch().unwrap();
        for i in 0..3 {
            batch.record_scan(&run, &file(i), &digests(), "t1").unwrap();
        }
        batch.commit().unwrap();
        drop(st);
        let st = State::open(&p).unwrap();
        let mut files: Vec<String> = st.load_files().unwrap().into_keys().collect();
        files.sort();
        assert_eq!(files, ["/s/a.dmp", "/s/b.dmp", "/s/c.dmp"]);
        let mut secrets = 0;
        st.for_each_output::<StateError>(&["/s/a.dmp", "/s/b.dmp", "/s/c.dmp"], &mut |f| {
            assert_eq!(f.units.len(), 1, "{}", f.path);
            secrets += f.secrets.len();
            Ok(())
        })
        .unwrap();
        assert_eq!(secrets, 3);
    }

    #[test]
    fn a_second_sweep_on_the_same_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.sqlite");
        let mut first = State::open(&p).unwrap();
        first.begin_run("p", "t").unwrap();
        let err = State::open(&p).err().expect("second open must fail");
        assert!(matches!(err, StateError::Busy { .. }), "{err}");
        drop(first);
        // An existing, up-to-date state is locked at open too, before any run begins.
        let _first = State::open(&p).unwrap();
        let err = State::open(&p).err().expect("second open must fail");
        assert!(matches!(err, StateError::Busy { .. }), "{err}");
    }

    #[test]
    fn a_version_1_state_gains_the_verdict_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("old.sqlite");
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch(
                "CREATE TABLE units(file TEXT NOT NULL, seq INTEGER NOT NULL, unit TEXT NOT NULL,
                    report TEXT NOT NULL, layout TEXT NOT NULL, PRIMARY KEY(file, seq));
                 INSERT INTO units VALUES ('/s/a.dmp', 0, '/s/a.dmp', '{}', '{}');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let st = State::open(&p).unwrap();
        let (version, verdict): (i64, Option<String>) = st
            .conn
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version), verdict FROM units",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((version, verdict), (3, None));
    }

    #[test]
    fn a_version_2_state_keeps_its_sha256_with_the_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v2.sqlite");
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch(
                "CREATE TABLE files(path TEXT PRIMARY KEY, size INTEGER NOT NULL, sha256 TEXT);
                 INSERT INTO files VALUES ('/s/a.dmp', 1, 'ab12'), ('/s/b.dmp', 2, NULL);
                 PRAGMA user_version = 2;",
            )
            .unwrap();
        }
        let st = State::open(&p).unwrap();
        let rows: Vec<Option<String>> = st
            .conn
            .prepare("SELECT content_hash FROM files ORDER BY path")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [Some("sha256:ab12".to_string()), None]);
        let version: i64 = st
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 3);
        assert_eq!(
            crate::sweep::scanfile::stored_algorithm("sha256:ab12"),
            Some(crate::scan::InputHash::Sha256)
        );
        assert_eq!(crate::sweep::scanfile::stored_algorithm("ab12"), None);
    }

    #[test]
    fn state_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.sqlite");
        drop(State::open(&fresh).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&fresh), 0o600, "a new state holds full reports: 0600");
        // A state an older dumpguard created 0644 is narrowed at open.
        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(State::open(&fresh).unwrap());
        assert_eq!(mode(&fresh), 0o600);
    }
}
