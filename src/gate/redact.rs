//! Redaction: a scrubbed copy of a dump in which the bytes of every blocking finding — and of
//! every other finding of the same key, in whatever encoding, and every exact byte copy of
//! them — are overwritten with zeros.
//!
//! Generic over findings: it needs only each finding's byte range and fingerprint, so new
//! detectors (new encodings) are redacted without touching this file. Zero is the fill because
//! no detector anchors on zeros, so the re-scan cannot find a key where one was removed, and
//! because a zeroed stretch of memory is what a debugger expects of unused memory.
//!
//! Only bytes the container parser attributed to *memory* (process or physical) or to a
//! free-text stream (environment, command line) are ever written. A blocking finding that
//! touches container structure (headers, directories, descriptors, register contexts, notes) or
//! bytes no parser described cannot be removed without risking a broken container: the gate
//! then BLOCKs and says why. The copy is written next to its destination with mode 0600, and
//! only renamed into place after the caller has re-scanned it.

use super::policy::{Disposition, Policy};
use crate::detect::PublicKeyRecord;
use crate::input::{Dump, Region, RegionKind};
use crate::keys::residue::{self, Residue, ResidueError, Secret};
use crate::report::{Kind, Report};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use num_bigint_dig::BigUint;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Free-text streams whose bytes may be overwritten without changing any structure.
const TEXT_STREAMS: &[&str] = &[
    "stream LinuxEnviron",
    "stream LinuxCmdLine",
    "stream LinuxProcStatus",
    "stream CommentA",
    "stream CommentW",
];

/// Exact-copy sweep: contents shorter than this are not searched for (too likely to match
/// unrelated bytes), and the total searched for is capped so a hostile dump with a million
/// distinct blobs cannot make the pattern set unbounded.
const MIN_COPY_LEN: usize = 32;
const MAX_COPY_PATTERN_BYTES: usize = 64 << 20;

/// One range that was (or is to be) overwritten.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Removed {
    pub offset: u64,
    pub length: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub kind: Kind,
    pub encoding: String,
    /// The finding id in the original's report, when the range is a finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// `blocking finding`, `same key as F3`, `exact copy of the bytes of F3`.
    pub why: String,
}

/// A file named in the attestation.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileRef {
    pub path: String,
    pub size: u64,
    /// The gate's input hash of the file (BLAKE3 unless `--input-hash sha256`): one of the
    /// two is present.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blake3: String,
}

/// What the re-scan of the copy found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Rescan {
    pub complete: bool,
    pub format: String,
    pub findings: usize,
    pub blocking: usize,
    pub by_severity: BTreeMap<String, u64>,
    /// The container still parses to the same regions as the original.
    pub container_unchanged: bool,
    /// Keys whose private material the residue check searched the copy for, and how many
    /// pieces of it it found (anything but 0 means BLOCK).
    pub residue_keys: usize,
    pub residue_found: usize,
}

/// The attestation: what was removed, from what, into what, and how it was checked.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Attestation {
    pub schema: String,
    pub original: FileRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<FileRef>,
    pub fill: String,
    pub removed: Vec<Removed>,
    pub bytes_overwritten: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rescan: Option<Rescan>,
    /// `verified` when the copy was written, re-scanned clean and kept; otherwise why not.
    pub outcome: String,
    pub policy_digest: String,
    pub rules_digest: String,
    pub created_at: String,
}

pub const ATTESTATION_SCHEMA: &str = "dumpguard.redaction/v1";

/// What to overwrite.
#[derive(Debug, Clone)]
pub struct Plan {
    pub removed: Vec<Removed>,
    /// `removed` as sorted, merged, non-overlapping `[start, end)` intervals.
    pub intervals: Vec<(u64, u64)>,
    /// Every form of the private material of the keys being removed: what the residue check
    /// searches the copy for before it may be allowed.
    pub residue: Arc<Residue>,
}

impl Plan {
    pub fn bytes(&self) -> u64 {
        self.intervals.iter().map(|(a, b)| b - a).sum()
    }

    /// Adds what a later round planned (on the copy, whose offsets are the original's).
    pub fn absorb(&mut self, later: Plan) {
        self.residue = later.residue;
        self.removed.extend(later.removed);
        self.intervals = merge(
            self.intervals
                .iter()
                .copied()
                .chain(later.intervals.iter().copied()),
        );
    }
}

/// Why no redacted copy can be planned: the gate then refuses the copy (fails closed) and says
/// why in the decision.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// The residue of the keys to remove cannot be searched.
    #[error("residue check impossible: {0}")]
    Residue(#[from] ResidueError),
    /// A range to overwrite lies past the end of the file.
    #[error("{what} lies outside the file")]
    OutsideFile { what: String },
    /// A range to overwrite overlaps the container's own structure.
    #[error(
        "{what} overlaps container structure ({region}); it cannot be redacted without damaging the dump"
    )]
    Structure { what: String, region: String },
    /// A range to overwrite lies in bytes not attributed to memory.
    #[error(
        "{what} lies (partly) in bytes the container parser did not attribute to memory; it cannot be redacted safely"
    )]
    NotMemory { what: String },
}

/// Decides what to overwrite: every blocking finding, every other finding of the same key
/// (fingerprint or identical encoded key), every exact copy of their bytes elsewhere in the
/// dump, and every residue of the private material of the keys among them (see
/// `crate::keys::residue`): whole or in 16-byte pieces, in every representation. `prior` is
/// the previous round's residue (its keys stay searched for); `inventory` completes an RSA
/// key of which only a prime was found. Fails when any of it touches bytes that are not
/// safely writable, or when the residue cannot be searched.
pub fn plan(
    dump: &Dump<'_>,
    report: &Report,
    policy: &Policy,
    inventory: &[PublicKeyRecord],
    prior: Option<&Residue>,
) -> Result<Plan, RedactError> {
    let data = dump.data();
    let blocking: Vec<&crate::report::Finding> = report
        .findings
        .iter()
        .filter(|f| policy.classify(f) == Disposition::Blocking)
        .collect();
    // The first blocking finding of each key names the key in `why`.
    let mut by_fp: BTreeMap<&str, &str> = BTreeMap::new();
    let mut by_content: BTreeMap<&str, &str> = BTreeMap::new();
    for f in &blocking {
        if let Some(fp) = &f.fingerprint {
            by_fp.entry(fp).or_insert(&f.id);
        }
        if let Some(h) = &f.content_hash {
            by_content.entry(h).or_insert(&f.id);
        }
    }
    let blocking_ids: HashSet<&str> = blocking.iter().map(|f| f.id.as_str()).collect();
    let mut removed = Vec::new();
    for f in &report.findings {
        let why = if blocking_ids.contains(f.id.as_str()) {
            "blocking finding".to_string()
        } else if let Some(first) = f
            .fingerprint
            .as_deref()
            .and_then(|fp| by_fp.get(fp))
            .or_else(|| f.content_hash.as_deref().and_then(|h| by_content.get(h)))
        {
            format!("same key as {first}")
        } else {
            continue;
        };
        removed.push(Removed {
            offset: f.offset,
            length: f.length,
            fingerprint: f.fingerprint.clone(),
            kind: f.kind.clone(),
            encoding: f.encoding.clone(),
            finding: Some(f.id.clone()),
            why: why.clone(),
        });
        // A token seen many times is one finding with its locations (the first of each
        // encoding always among them); each is removed, and exact copies of each below.
        for o in f.locations.iter().skip(1) {
            removed.push(Removed {
                offset: o.offset,
                length: o.length,
                fingerprint: f.fingerprint.clone(),
                kind: f.kind.clone(),
                encoding: o.encoding.clone(),
                finding: Some(f.id.clone()),
                why: why.clone(),
            });
        }
    }
    let secrets = recover_secrets(data, report, &removed, inventory, prior);
    let residue = Residue::build(secrets)?;
    // Both whole-dump passes hand the mapped pages back slice by slice (a 150 MB dump kept
    // 150 MB resident per pass otherwise).
    let release = |a: usize, b: usize| dump.bytes.release(a, b);
    removed.extend(exact_copies(data, &removed, release));
    removed.extend(residue.find_paged(data, release).into_iter().map(|h| {
        let why = match by_fp.get(h.fingerprint.as_str()) {
            Some(id) => format!("private material of the key of {id} ({})", h.form),
            None => format!("private material of key {} ({})", h.fingerprint, h.form),
        };
        Removed {
            offset: h.offset,
            length: h.length,
            fingerprint: Some(h.fingerprint),
            kind: Kind::PrivateKeyMaterial,
            encoding: h.form.into(),
            finding: None,
            why,
        }
    }));
    removed.sort_by_key(|r| (r.offset, r.length));
    removed.dedup_by_key(|r| (r.offset, r.length));

    let writable = merge(
        dump.layout
            .regions
            .iter()
            .filter(|r| is_writable(r))
            .map(|r| (r.file_offset, r.end())),
    );
    let structure = merge(
        dump.layout
            .regions
            .iter()
            .filter(|r| !is_writable(r))
            .map(|r| (r.file_offset, r.end())),
    );
    for r in &removed {
        let end = r
            .offset
            .checked_add(r.length)
            .filter(|&e| e <= data.len() as u64)
            .ok_or_else(|| RedactError::OutsideFile { what: describe(r) })?;
        if let Some(region) = overlapping_structure(&dump.layout.regions, &structure, r.offset, end)
        {
            return Err(RedactError::Structure {
                what: describe(r),
                region,
            });
        }
        if !covered(&writable, r.offset, end) {
            return Err(RedactError::NotMemory { what: describe(r) });
        }
    }
    let intervals = merge(removed.iter().map(|r| (r.offset, r.offset + r.length)));
    Ok(Plan {
        removed,
        intervals,
        residue: Arc::new(residue),
    })
}

/// Most decode attempts per key (a key seen thousands of times is decoded from its first
/// few readable encodings), and most bytes of raw-integer findings considered.
const MAX_DECODES_PER_KEY: usize = 4;
const MAX_RAW_PER_KEY: usize = 16;

/// The private material of every key among the findings being removed: decoded again from
/// the bytes of a finding that holds the whole key in the clear (DER, PEM, base64), from raw
/// integers (both primes, or one prime and the modulus of an inventory key with the same
/// fingerprint), merged with what an earlier round recovered. Only material whose
/// fingerprint is the finding's is kept: a decode is its own proof.
fn recover_secrets(
    data: &[u8],
    report: &Report,
    removed: &[Removed],
    inventory: &[PublicKeyRecord],
    prior: Option<&Residue>,
) -> Vec<Secret> {
    let ids: HashSet<&str> = removed
        .iter()
        .filter_map(|r| r.finding.as_deref())
        .collect();
    let mut secrets: BTreeMap<String, Secret> = BTreeMap::new();
    for s in prior.map(|p| p.secrets()).unwrap_or_default() {
        secrets.insert(s.fingerprint.clone(), s.clone());
    }
    let mut decodes: HashMap<String, usize> = HashMap::new();
    let mut decoded: HashSet<String> = HashSet::new();
    let mut primes: BTreeMap<String, Vec<BigUint>> = BTreeMap::new();
    for f in &report.findings {
        let Some(fp) = f.fingerprint.as_deref() else {
            continue;
        };
        if f.key.is_none()
            || !matches!(f.status.as_str(), "verified" | "derived")
            || !ids.contains(f.id.as_str())
        {
            continue;
        }
        let own = [(f.offset, f.length, f.encoding.as_str())];
        let all = own.into_iter().chain(
            f.locations
                .iter()
                .map(|o| (o.offset, o.length, o.encoding.as_str())),
        );
        for (offset, length, encoding) in all {
            let (Ok(start), Ok(len)) = (usize::try_from(offset), usize::try_from(length)) else {
                continue;
            };
            let Some(bytes) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
                continue;
            };
            if residue::integer_repr(encoding).is_some() {
                let list = primes.entry(fp.to_string()).or_default();
                if list.len() < MAX_RAW_PER_KEY {
                    if let Some(v) = residue::raw_integer(bytes, encoding) {
                        if v.bits() >= 192 && !list.contains(&v) {
                            list.push(v);
                        }
                    }
                }
                continue;
            }
            let tries = decodes.entry(fp.to_string()).or_default();
            if decoded.contains(fp) || *tries >= MAX_DECODES_PER_KEY {
                continue;
            }
            *tries += 1;
            let Some((key, der)) = residue::decode_key(bytes) else {
                continue;
            };
            if let Some(s) = Secret::from_key(&key, Some(&der)) {
                if s.fingerprint == fp {
                    decoded.insert(fp.to_string());
                    secrets
                        .entry(fp.to_string())
                        .or_insert_with(|| Secret::new(fp))
                        .merge(s);
                }
            }
        }
        // A key proven from an encoding the residue module cannot decode again (CNG/CAPI
        // blobs, JWK, .NET XML, OpenSSH, PuTTY, PGP, PKCS#12, SymCrypt ...): the detector
        // handed over the key it proved.
        if !decoded.contains(fp) {
            if let Some(s) = f
                .material
                .as_ref()
                .and_then(|m| Secret::from_key(m.key(), None))
                .filter(|s| s.fingerprint == fp)
            {
                decoded.insert(fp.to_string());
                secrets
                    .entry(fp.to_string())
                    .or_insert_with(|| Secret::new(fp))
                    .merge(s);
            }
        }
    }
    for (fp, ps) in primes {
        let s = secrets
            .entry(fp.clone())
            .or_insert_with(|| Secret::new(&fp));
        for p in &ps {
            s.add_value(p.to_bytes_be());
        }
        if s.has_rsa_public() {
            for p in &ps {
                s.complete_rsa(p);
            }
            continue;
        }
        if s.complete_rsa_from_primes(&ps) {
            continue;
        }
        'inventory: for r in inventory {
            let (Some(n), Some(e)) = (&r.modulus, &r.exponent) else {
                continue;
            };
            if crate::keys::fingerprint::sha256_fingerprint(&r.spki) != fp {
                continue;
            }
            let (n, e) = (BigUint::from_bytes_be(n), BigUint::from_bytes_be(e));
            for p in &ps {
                if s.complete_rsa_with_public(&n, &e, p) {
                    break 'inventory;
                }
            }
        }
    }
    secrets.into_values().collect()
}

fn describe(r: &Removed) -> String {
    format!(
        "{} ({} {}, {} bytes at file offset {:#x})",
        r.finding.as_deref().unwrap_or("a copy"),
        r.kind,
        r.encoding,
        r.length,
        r.offset
    )
}

/// Bytes a redaction may overwrite: memory, and free-text streams.
fn is_writable(r: &Region) -> bool {
    match r.kind {
        RegionKind::Memory | RegionKind::Physical => true,
        RegionKind::Stream => TEXT_STREAMS.contains(&r.label.as_str()),
        RegionKind::Header => false,
    }
}

/// Other occurrences of the exact bytes of the ranges to remove (a key copied to a buffer the
/// detectors did not report separately, e.g. because dedup folded it into another finding).
fn exact_copies(data: &[u8], targets: &[Removed], done: impl Fn(usize, usize)) -> Vec<Removed> {
    let mut seen = BTreeSet::new();
    let mut patterns: Vec<&[u8]> = Vec::new();
    let mut owners: Vec<&Removed> = Vec::new();
    let mut total = 0usize;
    for t in targets {
        let (Ok(start), Ok(len)) = (usize::try_from(t.offset), usize::try_from(t.length)) else {
            continue;
        };
        let Some(bytes) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
            continue;
        };
        if len < MIN_COPY_LEN || total + len > MAX_COPY_PATTERN_BYTES || !seen.insert(bytes) {
            continue;
        }
        total += len;
        patterns.push(bytes);
        owners.push(t);
    }
    let Some(ac) = every_occurrence(&patterns) else {
        return Vec::new();
    };
    let known: HashSet<(u64, u64)> = targets.iter().map(|t| (t.offset, t.length)).collect();
    let mut out = Vec::new();
    // In slices that overlap by the longest pattern, each match owned by the slice it starts
    // in; `done` hands each slice's pages back.
    let overlap = ac.max_pattern_len();
    let mut matches = Vec::new();
    let mut slice = 0;
    while slice < data.len() {
        let slice_end = (slice + residue::SLICE).min(data.len());
        let stop = (slice_end + overlap).min(data.len());
        for m in ac.find_overlapping_iter(&data[slice..stop]) {
            if slice + m.start() < slice_end {
                matches.push((slice + m.start(), slice + m.end(), m.pattern()));
            }
        }
        done(slice, slice_end);
        slice = slice_end;
    }
    for (start, end, pattern) in matches {
        let (off, len) = (start as u64, (end - start) as u64);
        if known.contains(&(off, len)) {
            continue;
        }
        let owner = owners[pattern.as_usize()];
        out.push(Removed {
            offset: off,
            length: len,
            fingerprint: owner.fingerprint.clone(),
            kind: owner.kind.clone(),
            encoding: owner.encoding.clone(),
            finding: None,
            why: format!(
                "exact copy of the bytes of {}",
                owner.finding.as_deref().unwrap_or("a removed range")
            ),
        });
    }
    out
}

/// Sorted, merged `[start, end)` intervals.
fn merge(it: impl Iterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = it.filter(|(a, b)| b > a).collect();
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Whether `[a, b)` lies entirely inside the merged intervals.
fn covered(intervals: &[(u64, u64)], a: u64, b: u64) -> bool {
    let i = intervals.partition_point(|&(_, end)| end <= a);
    intervals.get(i).is_some_and(|&(s, e)| s <= a && b <= e)
}

/// The label of a structural region overlapping `[a, b)`, if any.
fn overlapping_structure(
    regions: &[Region],
    structure: &[(u64, u64)],
    a: u64,
    b: u64,
) -> Option<String> {
    let i = structure.partition_point(|&(_, end)| end <= a);
    let hit = structure.get(i).is_some_and(|&(s, _)| s < b);
    if !hit {
        return None;
    }
    regions
        .iter()
        .find(|r| !is_writable(r) && r.file_offset < b && a < r.end())
        .map(|r| r.label.clone())
        .or_else(|| Some("container structure".into()))
}

/// A redacted copy being written beside its destination. It is an unnamed file (O_TMPFILE)
/// until [`TempCopy::commit`] links it in: a process killed at any moment leaves nothing
/// behind, and an earlier round's copy (redacted, but not yet checked for residue) is never
/// visible. Where the file system has no O_TMPFILE, a 0600 hidden file is used instead; it
/// only ever receives redacted content (the original is never copied first and patched
/// after), and is deleted on drop.
pub struct TempCopy {
    file: File,
    /// The hidden file's name, when O_TMPFILE was not available.
    named: Option<PathBuf>,
    pub dest: PathBuf,
    committed: bool,
}

impl TempCopy {
    /// A path that opens the copy (for the re-scan): `/proc/self/fd/N` for an unnamed file.
    pub fn path(&self) -> PathBuf {
        match &self.named {
            Some(p) => p.clone(),
            None => PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd())),
        }
    }

    /// Links the verified copy into place (atomically replacing `dest`) and makes it durable.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        let tmp = match &self.named {
            Some(p) => p.clone(),
            None => {
                // linkat cannot replace an existing name: link under a fresh hidden name,
                // then rename over the destination. The content is final and verified here.
                let tmp = hidden_name(&self.dest, "redacted")?;
                let _ = std::fs::remove_file(&tmp);
                let from = CString::new(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
                    .map_err(io::Error::other)?;
                let to = CString::new(tmp.as_os_str().as_bytes()).map_err(io::Error::other)?;
                // SAFETY: both are valid NUL-terminated paths; AT_FDCWD needs no descriptor.
                let rc = unsafe {
                    libc::linkat(
                        libc::AT_FDCWD,
                        from.as_ptr(),
                        libc::AT_FDCWD,
                        to.as_ptr(),
                        libc::AT_SYMLINK_FOLLOW,
                    )
                };
                if rc != 0 {
                    return Err(io::Error::last_os_error());
                }
                tmp
            }
        };
        if let Err(e) = std::fs::rename(&tmp, &self.dest) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.committed = true;
        crate::output::sync_parent(&self.dest)?;
        Ok(self.dest.clone())
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        if let (false, Some(p)) = (self.committed, &self.named) {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// `DIR/.NAME.PID.WHAT.tmp` beside `dest`.
fn hidden_name(dest: &Path, what: &str) -> io::Result<PathBuf> {
    let dir = crate::output::parent_dir(dest);
    let name = dest
        .file_name()
        .ok_or_else(|| io::Error::other("redaction output has no file name"))?;
    Ok(dir.join(format!(
        ".{}.{}.{what}.tmp",
        name.to_string_lossy(),
        std::process::id()
    )))
}

/// Opens the copy's file: unnamed (O_TMPFILE) in `dest`'s directory when the file system
/// supports it, else a new hidden 0600 file.
fn create_copy_file(dest: &Path) -> io::Result<(File, Option<PathBuf>)> {
    let dir = crate::output::parent_dir(dest);
    match OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
    {
        Ok(f) => return Ok((f, None)),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
            ) => {}
        Err(e) => return Err(e),
    }
    let tmp = hidden_name(dest, "redact")?;
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    Ok((f, Some(tmp)))
}

/// Streams `src` into a new copy beside `dest`, writing zeros over the planned intervals as it
/// goes: only redacted bytes are ever written, and memory stays at one buffer whatever the
/// dump's size. The original is only read.
pub fn write_copy(src: &Path, plan: &Plan, dest: &Path) -> io::Result<TempCopy> {
    let (mut out, named) = create_copy_file(dest)?;
    let copy = TempCopy {
        file: out.try_clone()?,
        named,
        dest: dest.to_path_buf(),
        committed: false,
    };
    let mut input = File::open(src)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    let mut next = 0usize; // first interval that may still overlap
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let end = pos + n as u64;
        while let Some(&(a, b)) = plan.intervals.get(next) {
            if a >= end {
                break;
            }
            let (za, zb) = (a.max(pos), b.min(end));
            if za < zb {
                buf[(za - pos) as usize..(zb - pos) as usize].fill(0);
            }
            if b <= end {
                next += 1;
            } else {
                break;
            }
        }
        out.write_all(&buf[..n])?;
        pos = end;
    }
    if plan.intervals.last().is_some_and(|&(_, b)| b > pos) {
        return Err(io::Error::other(
            "the dump changed while it was being copied",
        ));
    }
    out.sync_all()?;
    Ok(copy)
}

/// One searcher for every copy of any of `patterns` in the dump (standard semantics, so
/// overlapping copies are all found); none when there is nothing to look for.
fn every_occurrence<P: AsRef<[u8]>>(patterns: &[P]) -> Option<AhoCorasick> {
    if patterns.is_empty() {
        return None;
    }
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(patterns)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_cover() {
        let m = merge([(10, 20), (15, 30), (40, 50), (50, 60), (5, 5)].into_iter());
        assert_eq!(m, vec![(10, 30), (40, 60)]);
        assert!(covered(&m, 10, 30));
        assert!(covered(&m, 45, 60));
        assert!(!covered(&m, 25, 41));
        assert!(!covered(&m, 0, 11));
        assert!(!covered(&m, 60, 61));
    }

    #[test]
    fn exact_copies_are_found_once_each() {
        let key = [7u8; 40];
        let mut data = vec![1u8; 400];
        data[10..50].copy_from_slice(&key);
        data[200..240].copy_from_slice(&key);
        let t = Removed {
            offset: 10,
            length: 40,
            fingerprint: Some("sha256:x".into()),
            kind: Kind::token("k"),
            encoding: "der".into(),
            finding: Some("F1".into()),
            why: "blocking finding".into(),
        };
        let c = exact_copies(&data, &[t], |_, _| {});
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].offset, c[0].length), (200, 40));
        assert_eq!(c[0].why, "exact copy of the bytes of F1");
    }
}
