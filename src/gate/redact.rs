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
use crate::input::{Dump, Region, RegionKind};
use crate::keys::limbs::{self, Repr};
use crate::report::Report;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use num_bigint_dig::BigUint;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

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
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Removed {
    pub offset: u64,
    pub length: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub kind: String,
    pub encoding: String,
    /// The finding id in the original's report, when the range is a finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// `blocking finding`, `same key as F3`, `exact copy of the bytes of F3`.
    pub why: String,
}

/// A file named in the attestation.
#[derive(Debug, Clone, Serialize)]
pub struct FileRef {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// What the re-scan of the copy found.
#[derive(Debug, Clone, Serialize)]
pub struct Rescan {
    pub complete: bool,
    pub format: String,
    pub findings: usize,
    pub blocking: usize,
    pub by_severity: BTreeMap<String, u64>,
    /// The container still parses to the same regions as the original.
    pub container_unchanged: bool,
}

/// The attestation: what was removed, from what, into what, and how it was checked.
#[derive(Debug, Clone, Serialize)]
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
}

impl Plan {
    pub fn bytes(&self) -> u64 {
        self.intervals.iter().map(|(a, b)| b - a).sum()
    }

    /// Adds what a later round planned (on the copy, whose offsets are the original's).
    pub fn absorb(&mut self, later: Plan) {
        self.removed.extend(later.removed);
        self.intervals = merge(
            self.intervals
                .iter()
                .copied()
                .chain(later.intervals.iter().copied()),
        );
    }
}

/// Decides what to overwrite: every blocking finding, every other finding of the same key
/// (fingerprint or identical encoded key), and every exact copy of their bytes elsewhere in
/// the dump. Fails when any of it touches bytes that are not safely writable.
pub fn plan(dump: &Dump<'_>, report: &Report, policy: &Policy) -> Result<Plan, String> {
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
    removed.extend(exact_copies(data, &removed));
    removed.extend(other_representations(data, &removed));
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
            .ok_or_else(|| format!("{} lies outside the file", describe(r)))?;
        if let Some(region) = overlapping_structure(&dump.layout.regions, &structure, r.offset, end)
        {
            return Err(format!(
                "{} overlaps container structure ({}); it cannot be redacted without \
                 damaging the dump",
                describe(r),
                region
            ));
        }
        if !covered(&writable, r.offset, end) {
            return Err(format!(
                "{} lies (partly) in bytes the container parser did not attribute to memory; \
                 it cannot be redacted safely",
                describe(r)
            ));
        }
    }
    let intervals = merge(removed.iter().map(|r| (r.offset, r.offset + r.length)));
    Ok(Plan { removed, intervals })
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

/// How a raw-integer finding's bytes encode its value, by the finding's `encoding`.
fn integer_repr(encoding: &str) -> Option<Repr> {
    Some(match encoding {
        "le64-limbs" | "bignum-struct" | "go-slice" | "dotnet-uint-array" | "symcrypt-int" => {
            Repr::Le
        }
        "be" | "dotnet-byte-array" => Repr::Be,
        "be-sign-byte" => Repr::BeSigned,
        "java-int-words" | "java-int-array" => Repr::JavaWords,
        "go63-limbs" | "go63-slice" => Repr::Go63,
        _ => return None,
    })
}

/// Every representation of the raw integers being removed, whole or in pieces. A runtime that
/// keeps p as little-endian limbs may also have left it big-endian, whole or partly
/// overwritten, in a freed decode buffer, or in Java word order in a temporary; half of a
/// prime's bits already give the key away (Coppersmith). So each value is cut into 16-byte
/// pieces in each representation and every occurrence of a piece is removed: a remnant of 31
/// bytes or more always contains a whole piece, and 16 bytes of a random prime do not occur by
/// chance (measured on a python `cryptography` core: p big-endian in freed heap after its
/// limbs were found in a BIGNUM).
fn other_representations(data: &[u8], targets: &[Removed]) -> Vec<Removed> {
    let mut values: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let mut owners: Vec<(&Removed, &'static str)> = Vec::new();
    let mut primes: BTreeMap<&str, Vec<(BigUint, &Removed)>> = BTreeMap::new();
    for t in targets {
        let Some(repr) = integer_repr(&t.encoding) else {
            continue;
        };
        let (Ok(start), Ok(len)) = (usize::try_from(t.offset), usize::try_from(t.length)) else {
            continue;
        };
        let Some(bytes) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
            continue;
        };
        let Some(mut v) = limbs::decode(bytes, repr) else {
            continue;
        };
        limbs::trim(&mut v);
        // Short integers would match by chance; key primes are ≥ 256 bits.
        if limbs::bits(&v) < 256 || values.len() >= MAX_INTEGERS {
            continue;
        }
        let value = limbs::to_biguint(&v);
        if !values.insert(value.to_bytes_be()) {
            continue;
        }
        add_pieces(&value, t, &mut pieces, &mut owners);
        if let Some(fp) = &t.fingerprint {
            primes.entry(fp.as_str()).or_default().push((value, t));
        }
    }
    // Both primes of a key among them: n = p·q, and with the public exponent (the one whose
    // SPKI has the key's fingerprint) every private integer is known — d, dP, dQ, qInv are
    // removed too (d is what freed decode buffers most often keep).
    for (fp, ps) in &primes {
        'pairs: for (i, (a, t)) in ps.iter().enumerate().take(8) {
            for (b, _) in ps.iter().skip(i + 1).take(8) {
                let private = private_integers(a, b, fp);
                if !private.is_empty() {
                    for v in private {
                        add_pieces(&v, t, &mut pieces, &mut owners);
                    }
                    break 'pairs;
                }
            }
        }
    }
    let Some(ac) = every_occurrence(&pieces) else {
        return Vec::new();
    };
    ac.find_overlapping_iter(data)
        .map(|m| {
            let (t, name) = owners[m.pattern().as_usize()];
            Removed {
                offset: m.start() as u64,
                length: PIECE as u64,
                fingerprint: t.fingerprint.clone(),
                kind: t.kind.clone(),
                encoding: name.into(),
                finding: None,
                why: format!(
                    "part of the integer of {} in another representation ({name})",
                    t.finding.as_deref().unwrap_or("a removed copy")
                ),
            }
        })
        .collect()
}

/// `value` in each representation runtimes keep integers in (the encodings the detectors
/// decode, see [`limbs::encode`]), cut into [`PIECE`]-byte search patterns.
fn add_pieces<'a>(
    value: &BigUint,
    owner: &'a Removed,
    pieces: &mut Vec<Vec<u8>>,
    owners: &mut Vec<(&'a Removed, &'static str)>,
) {
    let v = limbs::from_biguint(value);
    let bits = limbs::bits(&v);
    for r in [Repr::Be, Repr::Le, Repr::JavaWords] {
        for piece in limbs::encode(&v, bits, r).chunks_exact(PIECE) {
            pieces.push(piece.to_vec());
            owners.push((owner, r.encoding()));
        }
    }
}

/// d, dP, dQ and qInv of the RSA key with primes `p`, `q` whose SPKI fingerprint is
/// `fingerprint`, trying the public exponents keys use; empty when none matches (then the two
/// integers are not this key's primes).
fn private_integers(p: &BigUint, q: &BigUint, fingerprint: &str) -> Vec<BigUint> {
    use num_bigint_dig::ModInverse;
    let n = p * q;
    let one = BigUint::from(1u32);
    for e in crate::keys::rsa_recover::COMMON_E {
        let e = BigUint::from(e);
        let spki = crate::keys::fingerprint::rsa_spki(&n.to_bytes_be(), &e.to_bytes_be());
        if spki
            .map(|s| crate::keys::fingerprint::sha256_fingerprint(&s))
            .as_deref()
            != Some(fingerprint)
        {
            continue;
        }
        let (p1, q1) = (p - &one, q - &one);
        let mut out = Vec::new();
        for m in [&p1 * &q1, num_integer::Integer::lcm(&p1, &q1)] {
            if let Some(d) = (&e).mod_inverse(&m).and_then(|d| d.to_biguint()) {
                out.push(&d % &p1);
                out.push(&d % &q1);
                out.push(d);
            }
        }
        for (a, b) in [(q, p), (p, q)] {
            if let Some(inv) = a.mod_inverse(b).and_then(|x| x.to_biguint()) {
                out.push(inv);
            }
        }
        // At least 32 bytes: shorter values would match by chance.
        out.retain(|v| v.bits() > 248);
        return out;
    }
    Vec::new()
}

/// Piece length for [`other_representations`], and how many distinct integers it follows.
const PIECE: usize = 16;
const MAX_INTEGERS: usize = 64;

/// Other occurrences of the exact bytes of the ranges to remove (a key copied to a buffer the
/// detectors did not report separately, e.g. because dedup folded it into another finding).
fn exact_copies(data: &[u8], targets: &[Removed]) -> Vec<Removed> {
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
    for m in ac.find_overlapping_iter(data) {
        let (off, len) = (m.start() as u64, (m.end() - m.start()) as u64);
        if known.contains(&(off, len)) {
            continue;
        }
        let owner = owners[m.pattern().as_usize()];
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

/// A redacted copy written to a temporary file beside its destination; renamed into place by
/// [`TempCopy::commit`], deleted on drop otherwise.
pub struct TempCopy {
    pub tmp: PathBuf,
    pub dest: PathBuf,
    committed: bool,
}

impl TempCopy {
    /// Renames the verified copy into place (atomically) and makes the rename durable.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        std::fs::rename(&self.tmp, &self.dest)?;
        self.committed = true;
        crate::output::sync_parent(&self.dest)?;
        Ok(self.dest.clone())
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Copies `src` to a temporary file beside `dest` (mode 0600, never the original itself) and
/// overwrites the planned intervals with zeros. The original is only read.
pub fn write_copy(src: &Path, plan: &Plan, dest: &Path) -> io::Result<TempCopy> {
    let dir = crate::output::parent_dir(dest);
    let name = dest
        .file_name()
        .ok_or_else(|| io::Error::other("redaction output has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.{}.redact.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let copy = TempCopy {
        tmp: tmp.clone(),
        dest: dest.to_path_buf(),
        committed: false,
    };
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let mut input = File::open(src)?;
    let copied = io::copy(&mut input, &mut out)?;
    let zeros = vec![0u8; 1 << 20];
    for &(a, b) in &plan.intervals {
        if b > copied {
            return Err(io::Error::other(
                "the dump changed while it was being copied",
            ));
        }
        let mut pos = a;
        while pos < b {
            let n = (b - pos).min(zeros.len() as u64) as usize;
            out.write_all_at(&zeros[..n], pos)?;
            pos += n as u64;
        }
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
            kind: "k".into(),
            encoding: "der".into(),
            finding: Some("F1".into()),
            why: "blocking finding".into(),
        };
        let c = exact_copies(&data, &[t]);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].offset, c[0].length), (200, 40));
        assert_eq!(c[0].why, "exact copy of the bytes of F1");
    }
}
