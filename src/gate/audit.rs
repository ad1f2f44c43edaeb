//! The audit log: append-only JSON Lines, each record chained to the one before it.
//!
//! A record is one line:
//! `{"seq":N,"time":"…","prev":"sha256:…","event":{…},"hash":"sha256:…"}` where
//! - `seq` counts records from 1,
//! - `prev` is the SHA-256 of the previous line's exact bytes (without its newline); the first
//!   record's `prev` is `sha256:` followed by 64 zeros,
//! - `hash` is the SHA-256 of this line's bytes with the `,"hash":"…"` member removed, i.e. of
//!   `{"seq":…,"time":…,"prev":…,"event":…}` exactly as written.
//!
//! Hashing the bytes as written (not a re-serialisation) means verification needs no canonical
//! JSON. Editing a record breaks its `hash`; re-computing that hash breaks the next record's
//! `prev`; removing, inserting or reordering records breaks `prev` and `seq`. Only a rewrite
//! of the whole tail after the edit, or dropping the last records, cannot be seen from the file
//! alone: `verify` reports the head (count and last line hash) so it can be compared with a copy
//! kept elsewhere (`audit verify --head`).
//!
//! Many gate processes may append at once: each append holds an exclusive `flock` on the log
//! while it reads the last line and writes its own, in one `write` on an `O_APPEND` descriptor,
//! then `fsync`s. The file is created with mode 0600.

use super::decision::{DecisionRecord, PolicyRef, Verdict};
use super::policy::FindingDisposition;
use super::redact::FileRef;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The `prev` hash of the first record of a log: a chain must start here, so a log cut at its
/// beginning is detected.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A record is at most this long; the tail search stops there (a longer "line" means the file
/// is not an audit log written by dumpguard).
pub const MAX_RECORD: u64 = 16 << 20;

#[derive(Serialize)]
struct Body<'a, E: Serialize> {
    seq: u64,
    time: &'a str,
    prev: &'a str,
    event: &'a E,
}

/// What an append wrote.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Position in the log, 1-based, so a removed record leaves a gap.
    pub seq: u64,
    /// SHA-256 of the previous line (or [`GENESIS`]): the chain that makes edits detectable.
    pub hash: String,
    /// SHA-256 of the whole line: the next record's `prev`, and the head `verify` reports.
    pub line_hash: String,
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Why a record cannot be appended to the log. The gate then blocks (fail closed): a decision
/// that cannot be recorded is not announced as ALLOW.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Opening, locking, reading or writing the log failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The log is a device, a FIFO or a directory.
    #[error("audit log {}: not a regular file", path.display())]
    NotRegularFile {
        /// The audit log.
        path: PathBuf,
    },
    /// The last line is not terminated: a write was cut short.
    #[error(
        "audit log ends with an incomplete record (a write was cut short); run `dumpguard audit verify` and repair it before appending"
    )]
    Incomplete,
    /// No newline within `MAX_RECORD` bytes before the end.
    #[error("audit log: last record is implausibly long")]
    TooLong,
    /// The last record has no sequence number: the file is not a dumpguard audit log.
    #[error(
        "audit log {}: the last record is not a dumpguard audit record; run `dumpguard audit verify`",
        path.display()
    )]
    NotAuditRecord {
        /// The audit log.
        path: PathBuf,
    },
    /// The event does not serialise.
    #[error("{0}")]
    Encode(#[from] serde_json::Error),
}

/// Holds an exclusive `flock` until dropped.
struct Locked<'f>(&'f File);

impl<'f> Locked<'f> {
    fn new(f: &'f File) -> io::Result<Locked<'f>> {
        loop {
            // SAFETY: flock on a descriptor we own; no memory is passed.
            let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(Locked(f));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// Appends one event to the log at `path` (created mode 0600 if missing), chained to the
/// current last record. Refuses to append after a damaged (incomplete) last line.
pub fn append<E: Serialize>(path: &Path, event: &E) -> Result<Appended, AuditError> {
    let file = open_log(path)?;
    let _lock = Locked::new(&file)?;
    let (seq, prev) = head(&file, path)?;
    let time = super::decision::now_rfc3339();
    let body = serde_json::to_string(&Body {
        seq,
        time: &time,
        prev: &prev,
        event,
    })?;
    let hash = sha256(body.as_bytes());
    let mut line = String::with_capacity(body.len() + 90);
    line.push_str(&body[..body.len() - 1]);
    line.push_str(",\"hash\":\"");
    line.push_str(&hash);
    line.push_str("\"}");
    let line_hash = sha256(line.as_bytes());
    line.push('\n');
    // One write of the whole line on an O_APPEND descriptor, under the lock.
    (&file).write_all(line.as_bytes())?;
    file.sync_data()?;
    Ok(Appended {
        seq,
        hash,
        line_hash,
    })
}

/// Opens (or creates) the log for appending. Only a regular file is a log: a device
/// (`/dev/zero`, `/dev/null`) would swallow the records the gate promises to keep, and a FIFO
/// would block the gate or hand the records to whoever reads it. `O_NONBLOCK` makes the open of
/// a FIFO return at once so the type check can refuse it; it is cleared again for the writes.
fn open_log(path: &Path) -> Result<File, AuditError> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(AuditError::NotRegularFile {
            path: path.to_path_buf(),
        });
    }
    // SAFETY: fcntl on our own descriptor; clearing O_NONBLOCK only changes how writes wait.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// The next record's sequence number and `prev` hash.
fn head(file: &File, path: &Path) -> Result<(u64, String), AuditError> {
    Ok(match last_line(file)? {
        None => (1, GENESIS.to_string()),
        Some(line) => {
            let seq = serde_json::from_slice::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v.get("seq").and_then(|s| s.as_u64()))
                .ok_or_else(|| AuditError::NotAuditRecord {
                    path: path.to_path_buf(),
                })?;
            (seq + 1, sha256(&line))
        }
    })
}

/// Checks, before a decision is announced, that a record can be appended to `path`: it opens
/// (or creates), locks and reads the log's last record as [`append`] will. The gate prints its
/// record only after this, so a log that cannot be written turns the printed verdict into
/// BLOCK, and the record appended afterwards can hold the exit code really returned.
pub fn check_appendable(path: &Path) -> Result<(), AuditError> {
    let file = open_log(path)?;
    let _lock = Locked::new(&file)?;
    head(&file, path).map(|_| ())
}

/// The last complete line (without its newline), or None for an empty file. An unterminated
/// last line is an error: a write was cut short, and chaining to it would hide that.
fn last_line(file: &File) -> Result<Option<Vec<u8>>, AuditError> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    if last[0] != b'\n' {
        return Err(AuditError::Incomplete);
    }
    // Search backwards from before the final newline for the previous one.
    let end = len - 1;
    let mut start = end;
    let mut buf = vec![0u8; 64 << 10];
    while start > 0 {
        let n = (start.min(buf.len() as u64)) as usize;
        let at = start - n as u64;
        file.read_exact_at(&mut buf[..n], at)?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            start = at + i as u64 + 1;
            break;
        }
        start = at;
        if end - start > MAX_RECORD {
            return Err(AuditError::TooLong);
        }
    }
    let mut line = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut line, start)?;
    Ok(Some(line))
}

/// The result of checking a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// How many records the chain holds.
    pub records: u64,
    /// SHA-256 of the last line (GENESIS for an empty log).
    pub head: String,
}

/// A broken chain: which record (1-based line number) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The 1-based line number of the first record that does not chain.
    pub line: u64,
    /// What is wrong with it, in words.
    pub problem: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record at line {}: {}", self.line, self.problem)
    }
}

/// Checks every record's own hash, its `seq` and its link to the record before it. Returns the
/// first break found. Takes a shared lock, so it never reads a half-written append.
pub fn verify(path: &Path) -> io::Result<Result<Verified, Broken>> {
    // Non-blocking open and a type check on the descriptor: a FIFO or a device (`/dev/zero`)
    // is refused instead of hanging or being read forever.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    // SAFETY: flock on our descriptor.
    unsafe {
        libc::flock(file.as_raw_fd(), libc::LOCK_SH);
    }
    verify_reader(BufReader::new(&file))
}

/// [`verify`] on the log's bytes from any reader (the fuzz target feeds it arbitrary bytes):
/// memory stays bounded by [`MAX_RECORD`] per line whatever the input.
pub fn verify_reader(mut reader: impl BufRead) -> io::Result<Result<Verified, Broken>> {
    let mut prev_line_hash = GENESIS.to_string();
    let mut expected_seq = 1u64;
    let mut line_no = 0u64;
    let mut raw = Vec::new();
    loop {
        raw.clear();
        // One record is bounded (MAX_RECORD): a longer line is not one, and reading it whole
        // could take any amount of memory.
        let n = (&mut reader)
            .take(MAX_RECORD + 1)
            .read_until(b'\n', &mut raw)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if n as u64 > MAX_RECORD {
            return Ok(Err(Broken {
                line: line_no,
                problem: format!("longer than {MAX_RECORD} bytes: not a dumpguard audit record"),
            }));
        }
        let broken = |problem: String| {
            Ok(Err(Broken {
                line: line_no,
                problem,
            }))
        };
        if raw.last() != Some(&b'\n') {
            return broken("the last line is incomplete (no newline): a write was cut short or the file was truncated".into());
        }
        raw.pop();
        let line = &raw[..];
        let Some((body, claimed)) = split_hash(line) else {
            return broken(
                "not a chained record (no trailing \"hash\" member): inserted or edited".into(),
            );
        };
        let value: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return broken(format!("not valid JSON ({e}): edited")),
        };
        if sha256(&body) != claimed {
            return broken("its content does not match its hash: the record was edited".into());
        }
        let seq = value.get("seq").and_then(|s| s.as_u64());
        let prev = value.get("prev").and_then(|s| s.as_str());
        if prev != Some(prev_line_hash.as_str()) {
            let later = later_seqs(&mut reader)?;
            return broken(chain_break(seq, expected_seq, &later, line_no));
        }
        if seq != Some(expected_seq) {
            return broken(format!(
                "sequence number {} where {expected_seq} was expected",
                seq.map(|s| s.to_string())
                    .unwrap_or_else(|| "missing".into())
            ));
        }
        prev_line_hash = sha256(line);
        expected_seq += 1;
    }
    Ok(Ok(Verified {
        records: expected_seq - 1,
        head: prev_line_hash,
    }))
}

/// The sequence numbers of the lines after a break (only read when the chain is broken, to say
/// what happened).
fn later_seqs(reader: &mut impl BufRead) -> io::Result<Vec<Option<u64>>> {
    // Enough to explain a reordering; bounded in lines and in bytes per line.
    const MAX_LATER: usize = 1 << 20;
    let mut out = Vec::new();
    let mut raw = Vec::new();
    while out.len() < MAX_LATER {
        raw.clear();
        if (&mut *reader)
            .take(MAX_RECORD + 1)
            .read_until(b'\n', &mut raw)?
            == 0
        {
            return Ok(out);
        }
        out.push(
            serde_json::from_slice::<serde_json::Value>(raw.trim_ascii_end())
                .ok()
                .and_then(|v| v.get("seq").and_then(|s| s.as_u64())),
        );
    }
    Ok(out)
}

/// Explains a record that does not chain to the one before it.
fn chain_break(seq: Option<u64>, expected: u64, later: &[Option<u64>], line: u64) -> String {
    let head = "it does not chain to the record before it";
    let found_later = later
        .iter()
        .position(|s| *s == Some(expected))
        .map(|i| line + 1 + i as u64);
    match (seq, found_later) {
        (Some(s), Some(at)) if s > expected => format!(
            "{head}: record {s} stands where record {expected} belongs, which appears later at \
             line {at}: records were reordered"
        ),
        (Some(s), None) if s > expected => format!(
            "{head}: record {s} follows record {}: record(s) {expected}..{} were removed",
            expected - 1,
            s - 1
        ),
        (Some(s), _) if s < expected => format!(
            "{head}: sequence number {s} again after record {}: a record was inserted (or \
             duplicated) here",
            expected - 1
        ),
        _ => format!(
            "{head}: the previous record was edited, or this record was inserted or replaced"
        ),
    }
}

/// Splits `{…,"hash":"sha256:<64 hex>"}` into the hashed body `{…}` and the claimed hash.
fn split_hash(line: &[u8]) -> Option<(Vec<u8>, String)> {
    const TAIL: usize = ",\"hash\":\"sha256:\"}".len() + 64;
    if line.len() < TAIL + 2 {
        return None;
    }
    let (head, tail) = line.split_at(line.len() - TAIL);
    let tail = std::str::from_utf8(tail).ok()?;
    let hex = tail
        .strip_prefix(",\"hash\":\"sha256:")?
        .strip_suffix("\"}")?;
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut body = head.to_vec();
    body.push(b'}');
    Some((body, format!("sha256:{hex}")))
}

/// The audit-log event for a decision: enough to prove what happened, bounded in size, no
/// secret bytes.
#[derive(Serialize)]
pub(crate) struct AuditEvent<'a> {
    pub kind: &'static str,
    pub dump: AuditDump<'a>,
    pub verdict: Verdict,
    pub exit_code: i32,
    pub reasons: &'a [String],
    pub complete: bool,
    pub policy: &'a PolicyRef,
    pub tool_version: &'a str,
    pub rules_digest: &'a str,
    pub findings: AuditCounts,
    pub blocking_fingerprints: Vec<&'a str>,
    pub suppressed: Vec<AuditSuppressed<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redacted_copy: Option<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_file: Option<String>,
    pub host: String,
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
pub(crate) struct AuditDump<'a> {
    pub path: &'a str,
    pub size: u64,
    /// The input hash the decision record holds: `sha256` or `blake3`, the other one absent.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub sha256: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub blake3: &'a str,
    pub format: &'a str,
}

#[derive(Serialize)]
pub(crate) struct AuditCounts {
    pub total: usize,
    pub blocking: usize,
    pub suppressed: usize,
    pub below_threshold: usize,
}

#[derive(Serialize)]
pub(crate) struct AuditSuppressed<'a> {
    pub fingerprint: Option<&'a str>,
    pub reason: &'a str,
}

const AUDIT_LIST_CAP: usize = 100;

/// The audit event of `record` (`report_file`: where the record was written; `extra`: watch
/// mode's destinations).
pub(crate) fn audit_event<'a>(
    record: &'a DecisionRecord,
    report_file: Option<&Path>,
    extra: Option<&'a serde_json::Value>,
) -> AuditEvent<'a> {
    let d = &record.decision;
    let count = |s: FindingDisposition| d.findings.iter().filter(|f| f.disposition == s).count();
    let mut blocking: Vec<&str> = d
        .findings
        .iter()
        .filter(|f| f.disposition == FindingDisposition::Blocking)
        .filter_map(|f| f.fingerprint.as_deref())
        .collect();
    blocking.sort_unstable();
    blocking.dedup();
    blocking.truncate(AUDIT_LIST_CAP);
    let mut suppressed: Vec<AuditSuppressed<'_>> = Vec::new();
    for f in d
        .findings
        .iter()
        .filter(|f| f.disposition == FindingDisposition::Suppressed)
    {
        let fp = f.fingerprint.as_deref();
        if suppressed.len() < AUDIT_LIST_CAP && !suppressed.iter().any(|s| s.fingerprint == fp) {
            suppressed.push(AuditSuppressed {
                fingerprint: fp,
                reason: f.reason.as_deref().unwrap_or(""),
            });
        }
    }
    AuditEvent {
        kind: "gate",
        dump: AuditDump {
            path: &record.report.input.path,
            size: record.report.input.size,
            sha256: &record.report.input.sha256,
            blake3: &record.report.input.blake3,
            format: &record.report.input.format,
        },
        verdict: d.verdict,
        exit_code: d.exit_code,
        reasons: &d.reasons[..d.reasons.len().min(AUDIT_LIST_CAP)],
        complete: record.report.input.complete,
        policy: &d.policy,
        tool_version: &record.report.tool.version,
        rules_digest: &record.report.tool.rules_digest,
        findings: AuditCounts {
            total: d.findings.len(),
            blocking: count(FindingDisposition::Blocking),
            suppressed: count(FindingDisposition::Suppressed),
            below_threshold: count(FindingDisposition::BelowThreshold),
        },
        blocking_fingerprints: blocking,
        suppressed,
        redacted_copy: d
            .redaction
            .as_ref()
            .filter(|_| d.verdict == Verdict::AllowRedacted)
            .and_then(|a| a.copy.clone()),
        report_file: report_file.map(|p| p.display().to_string()),
        host: hostname(),
        pid: std::process::id(),
        extra,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(n: u64) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        for i in 0..n {
            append(
                &p,
                &serde_json::json!({"n": i, "text": "a,\"hash\":\"x\"}"}),
            )
            .unwrap();
        }
        (d, p)
    }

    #[test]
    fn chain_verifies_and_head_is_last_line_hash() {
        let (_d, p) = log_with(5);
        let v = verify(&p).unwrap().unwrap();
        assert_eq!(v.records, 5);
        let text = std::fs::read_to_string(&p).unwrap();
        let last = text.lines().last().unwrap();
        assert_eq!(v.head, sha256(last.as_bytes()));
        let mode = std::fs::metadata(&p).unwrap().permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    #[test]
    fn append_refuses_after_a_cut_write() {
        let (_d, p) = log_with(2);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"seq\":3,").unwrap();
        assert!(append(&p, &serde_json::json!({})).is_err());
        let b = verify(&p).unwrap().unwrap_err();
        assert_eq!(b.line, 3);
        assert!(b.problem.contains("incomplete"), "{b}");
    }

    #[test]
    fn empty_log_verifies() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a");
        std::fs::write(&p, b"").unwrap();
        assert_eq!(
            verify(&p).unwrap().unwrap(),
            Verified {
                records: 0,
                head: GENESIS.into()
            }
        );
    }
}
