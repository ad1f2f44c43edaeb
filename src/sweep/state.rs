//! The sweep's memory between runs: an embedded SQLite database (`--state FILE`).
//!
//! - `files`: one row per directory entry ever swept, keyed by path, with the size, mtime
//!   (ns) and SHA-256 it had when scanned, the tool version and rules/policy digests that
//!   scanned it, its status (`scanned`, `skipped`, `failed`, `gone`) and reason. A file whose
//!   size, mtime and digests match is not scanned again.
//! - `units`: the schema-v1 report (and layout picture) of every dump a file holds — the file
//!   itself, or each archive member — so unchanged files are reported without a rescan.
//! - `secrets`: each distinct secret per dump (by fingerprint), with first-seen, last-seen and
//!   resolved times: what makes a finding *new* or *resolved*.
//! - `runs`: one row per sweep. A run killed before it finished is *resumed* by the next sweep
//!   with the same parameters: it keeps the run id, so what that run already scanned counts as
//!   scanned by it, and the final results equal those of an uninterrupted run.
//!
//! Durability: WAL journal, one transaction per file. SIGKILL loses at most the files being
//! scanned at that moment (they are scanned again), never a committed one, and never leaves
//! half a file's results (a transaction is all or nothing). The database is opened in
//! exclusive locking mode, so two sweeps cannot share a state file by accident; give each shard
//! its own (SQLite over NFS is unsafe anyway).

use super::scanfile::Unit;
use crate::report::Finding;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Bumped when the schema changes incompatibly.
const SCHEMA_VERSION: i64 = 1;

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
}

/// A `files` row, as the incremental check needs it.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: Option<String>,
    pub status: String,
    pub digests: Digests,
}

/// One secret of one dump, as stored.
#[derive(Debug, Clone)]
pub struct SecretRow {
    pub unit: String,
    pub secret: String,
    pub kind: String,
    pub severity: String,
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
    pub status: String,
    pub reason: Option<String>,
    pub size: u64,
    pub scanned_run: Option<i64>,
    pub scanned_at: Option<String>,
    /// (unit name, report JSON, layout JSON), in order.
    pub units: Vec<(String, String, String)>,
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

type Result<T> = std::result::Result<T, String>;

fn db<T>(r: rusqlite::Result<T>) -> Result<T> {
    r.map_err(|e| format!("state database: {e}"))
}

impl State {
    /// Opens (creating if needed) the state database, takes its exclusive lock and brings the
    /// schema up to date.
    pub fn open(path: &Path) -> Result<State> {
        let conn = Connection::open(path)
            .map_err(|e| format!("cannot open state database {}: {e}", path.display()))?;
        // Exclusive locking before WAL: the WAL then lives without shared memory, and a second
        // sweep on the same file fails fast instead of interleaving.
        db(conn.pragma_update(None, "locking_mode", "EXCLUSIVE"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| busy_or(e, path))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("state database: cannot use WAL journal (got {mode})"));
        }
        // NORMAL in WAL mode: a committed transaction survives the process being killed (it is
        // in the OS page cache); only a power loss may drop the last few.
        db(conn.pragma_update(None, "synchronous", "NORMAL"))?;
        let version: i64 = db(conn.query_row("PRAGMA user_version", [], |r| r.get(0)))?;
        if version > SCHEMA_VERSION {
            return Err(format!(
                "state database {} was written by a newer dumpguard (schema {version})",
                path.display()
            ));
        }
        conn.execute_batch(
            "BEGIN;
            CREATE TABLE IF NOT EXISTS runs(
                id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
                params TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS files(
                path TEXT PRIMARY KEY, rel TEXT NOT NULL, folder TEXT NOT NULL,
                size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT,
                status TEXT NOT NULL, reason TEXT,
                tool_version TEXT NOT NULL, rules_digest TEXT NOT NULL, policy_digest TEXT NOT NULL,
                scanned_run INTEGER, scanned_at TEXT, seen_run INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS files_seen ON files(seen_run);
            CREATE TABLE IF NOT EXISTS units(
                file TEXT NOT NULL, seq INTEGER NOT NULL, unit TEXT NOT NULL,
                report TEXT NOT NULL, layout TEXT NOT NULL, PRIMARY KEY(file, seq));
            CREATE TABLE IF NOT EXISTS secrets(
                unit TEXT NOT NULL, secret TEXT NOT NULL, file TEXT NOT NULL,
                kind TEXT NOT NULL, severity TEXT NOT NULL, fingerprint TEXT,
                first_run INTEGER NOT NULL, first_seen TEXT NOT NULL,
                last_run INTEGER NOT NULL, last_seen TEXT NOT NULL,
                resolved_run INTEGER, resolved_at TEXT, PRIMARY KEY(unit, secret));
            CREATE INDEX IF NOT EXISTS secrets_file ON secrets(file);
            PRAGMA user_version = 1;
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
        let last: Option<(i64, Option<String>, String)> = db(self
            .conn
            .query_row(
                "SELECT id, finished_at, params FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional())?;
        if let Some((id, None, p)) = &last {
            if p == params {
                return Ok(Run {
                    id: *id,
                    prev_finished,
                    resumed: true,
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
            "SELECT path, size, mtime_ns, sha256, status, tool_version, rules_digest, policy_digest FROM files",
        ))?;
        let rows = db(stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                FileRow {
                    size: r.get::<_, i64>(1)? as u64,
                    mtime_ns: r.get(2)?,
                    sha256: r.get(3)?,
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

    /// Marks unchanged files as seen in this run, and their open secrets as seen now.
    pub fn mark_unchanged(&mut self, run: &Run, paths: &[&str], now: &str) -> Result<()> {
        let tx = db(self.conn.transaction())?;
        {
            let mut f = db(tx.prepare("UPDATE files SET seen_run = ?1 WHERE path = ?2"))?;
            let mut s = db(tx.prepare(
                "UPDATE secrets SET last_run = ?1, last_seen = ?2 WHERE file = ?3 AND resolved_run IS NULL",
            ))?;
            for p in paths {
                db(f.execute(params![run.id, p]))?;
                db(s.execute(params![run.id, now, p]))?;
            }
        }
        db(tx.commit())
    }

    /// Records entries that were not scanned (skipped or failed) with their reason. Their
    /// earlier reports are dropped; their earlier secrets are left as they were (neither seen
    /// nor resolved: nobody looked).
    pub fn record_unscanned(
        &mut self,
        run: &Run,
        entries: &[Unscanned<'_>],
        digests: &Digests,
    ) -> Result<()> {
        let tx = db(self.conn.transaction())?;
        {
            let mut up = db(tx.prepare(
                "INSERT INTO files(path, rel, folder, size, mtime_ns, sha256, status, reason,
                    tool_version, rules_digest, policy_digest, scanned_run, scanned_at, seen_run)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?8, ?9, ?10, NULL, NULL, ?11)
                 ON CONFLICT(path) DO UPDATE SET rel = excluded.rel, folder = excluded.folder,
                    size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = NULL,
                    status = excluded.status, reason = excluded.reason,
                    tool_version = excluded.tool_version, rules_digest = excluded.rules_digest,
                    policy_digest = excluded.policy_digest, scanned_run = NULL, scanned_at = NULL,
                    seen_run = excluded.seen_run",
            ))?;
            let mut del = db(tx.prepare("DELETE FROM units WHERE file = ?1"))?;
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
        db(tx.commit())
    }

    /// Records a scanned file: its reports replace the earlier ones, its secrets are upserted
    /// (new ones first seen now), and secrets it no longer holds are resolved — or forgotten,
    /// if they first appeared in this very run (an interrupted run that saw the file change).
    pub fn record_scan(
        &mut self,
        run: &Run,
        file: &ScannedFile<'_>,
        digests: &Digests,
        now: &str,
    ) -> Result<()> {
        let tx = db(self.conn.transaction())?;
        let before = open_secrets(&tx, file.path)?;
        db(tx.execute("DELETE FROM units WHERE file = ?1", params![file.path]))?;
        let mut now_held: HashSet<(String, String)> = HashSet::new();
        {
            let mut ins = db(tx.prepare(
                "INSERT INTO units(file, seq, unit, report, layout) VALUES (?1, ?2, ?3, ?4, ?5)",
            ))?;
            let mut up = db(tx.prepare(
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
                db(ins.execute(params![file.path, seq as i64, u.name, report, layout]))?;
                for (secret, (kind, severity, fp)) in secrets_of(&u.report.findings) {
                    db(up.execute(params![
                        u.name, secret, file.path, kind, severity, fp, run.id, now
                    ]))?;
                    now_held.insert((u.name.clone(), secret));
                }
            }
        }
        resolve(&tx, run, now, before.into_iter().filter(|s| !now_held.contains(&(s.0.clone(), s.1.clone()))))?;
        db(tx.execute(
            "INSERT INTO files(path, rel, folder, size, mtime_ns, sha256, status, reason,
                tool_version, rules_digest, policy_digest, scanned_run, scanned_at, seen_run)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'scanned', NULL, ?7, ?8, ?9, ?10, ?11, ?10)
             ON CONFLICT(path) DO UPDATE SET rel = excluded.rel, folder = excluded.folder,
                size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,
                status = 'scanned', reason = NULL, tool_version = excluded.tool_version,
                rules_digest = excluded.rules_digest, policy_digest = excluded.policy_digest,
                scanned_run = excluded.scanned_run, scanned_at = excluded.scanned_at,
                seen_run = excluded.seen_run",
            params![
                file.path,
                file.rel,
                file.folder,
                file.size as i64,
                file.mtime_ns,
                file.sha256,
                digests.tool_version,
                digests.rules,
                digests.policy,
                run.id,
                now
            ],
        ))?;
        db(tx.commit())
    }

    /// Entries that were in scope but not seen by this run are gone (deleted, moved, or now
    /// excluded): their secrets are resolved. Returns how many.
    pub fn mark_gone(
        &mut self,
        run: &Run,
        in_scope: &dyn Fn(&str, &str) -> bool,
        now: &str,
    ) -> Result<usize> {
        let candidates: Vec<String> = {
            let mut stmt = db(self.conn.prepare(
                "SELECT path, rel FROM files WHERE seen_run < ?1 AND status != 'gone'",
            ))?;
            let rows = db(stmt.query_map(params![run.id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            }))?;
            let mut v = Vec::new();
            for row in rows {
                let (p, rel) = db(row)?;
                if in_scope(&p, &rel) {
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
        Ok(candidates.len())
    }

    /// Calls `each` for every entry seen in this run, in path order, with its reports and its
    /// secrets (open and resolved).
    pub fn for_each_output(&self, run: &Run, each: &mut dyn FnMut(FileOut) -> Result<()>) -> Result<()> {
        let mut files = db(self.conn.prepare(
            "SELECT path, folder, status, reason, size, scanned_run, scanned_at FROM files
             WHERE seen_run = ?1 ORDER BY path",
        ))?;
        let mut units = db(self
            .conn
            .prepare("SELECT unit, report, layout FROM units WHERE file = ?1 ORDER BY seq"))?;
        let mut secrets = db(self.conn.prepare(
            "SELECT unit, secret, kind, severity, fingerprint, first_run, first_seen, last_seen,
                resolved_run, resolved_at FROM secrets WHERE file = ?1 ORDER BY unit, secret",
        ))?;
        let mut rows = db(files.query(params![run.id]))?;
        while let Some(r) = db(rows.next())? {
            let path: String = db(r.get(0))?;
            let us = db(units.query_map(params![path], |u| Ok((u.get(0)?, u.get(1)?, u.get(2)?))))?
                .collect::<rusqlite::Result<Vec<_>>>();
            let ss = db(secrets.query_map(params![path], secret_row))?
                .collect::<rusqlite::Result<Vec<_>>>();
            each(FileOut {
                folder: db(r.get(1))?,
                status: db(r.get(2))?,
                reason: db(r.get(3))?,
                size: db(r.get::<_, i64>(4))? as u64,
                scanned_run: db(r.get(5))?,
                scanned_at: db(r.get(6))?,
                units: db(us)?,
                secrets: db(ss)?,
                path,
            })?;
        }
        Ok(())
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
    pub status: &'a str,
    pub reason: &'a str,
}

/// A scanned file and what it produced.
pub struct ScannedFile<'a> {
    pub path: &'a str,
    pub rel: &'a str,
    pub folder: &'a str,
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: &'a str,
    pub units: &'a [Unit],
}

fn busy_or(e: rusqlite::Error, path: &Path) -> String {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::DatabaseBusy || f.code == rusqlite::ErrorCode::DatabaseLocked {
            return format!(
                "state database {} is in use by another sweep (one state file per process; give each shard its own)",
                path.display()
            );
        }
    }
    format!("state database {}: {e}", path.display())
}

fn secret_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SecretRow> {
    Ok(SecretRow {
        unit: r.get(0)?,
        secret: r.get(1)?,
        kind: r.get(2)?,
        severity: r.get(3)?,
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
    let mut out: BTreeMap<String, (String, crate::report::Severity, Option<String>)> = BTreeMap::new();
    for f in findings {
        let e = out
            .entry(secret_id(f))
            .or_insert_with(|| (f.kind.clone(), f.severity, f.fingerprint.clone()));
        e.1 = e.1.max(f.severity);
    }
    out.into_iter()
        .map(|(k, (kind, sev, fp))| (k, (kind, sev.as_str().to_string(), fp)))
        .collect()
}

/// Open secrets of a file: (unit, secret, first_run).
fn open_secrets(tx: &Transaction<'_>, file: &str) -> Result<Vec<(String, String, i64)>> {
    let mut stmt = db(tx.prepare(
        "SELECT unit, secret, first_run FROM secrets WHERE file = ?1 AND resolved_run IS NULL",
    ))?;
    let rows = db(stmt.query_map(params![file], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))?;
    db(rows.collect())
}

/// Resolves secrets no longer held; those that appeared after the last finished run never
/// made it into a finished report, so they are simply forgotten.
fn resolve(
    tx: &Transaction<'_>,
    run: &Run,
    now: &str,
    gone: impl Iterator<Item = (String, String, i64)>,
) -> Result<()> {
    let mut del = db(tx.prepare("DELETE FROM secrets WHERE unit = ?1 AND secret = ?2"))?;
    let mut res = db(tx.prepare(
        "UPDATE secrets SET resolved_run = ?3, resolved_at = ?4 WHERE unit = ?1 AND secret = ?2",
    ))?;
    for (unit, secret, first_run) in gone {
        if first_run > run.prev_finished {
            db(del.execute(params![unit, secret]))?;
        } else {
            db(res.execute(params![unit, secret, run.id, now]))?;
        }
    }
    Ok(())
}
