//! The scan engine: one multi-pattern pass over every byte of the dump, in parallel chunks,
//! dispatching anchor hits to detectors; then dedup, attribution and a deterministic order.
//!
//! Chunks overlap by the longest anchor minus one byte, so an anchor that straddles a chunk
//! boundary is still seen, and it is owned by the chunk it *starts* in, so it is seen once.
//! Detectors read the whole (memory-mapped) dump, so decoding is never cut by a chunk edge.
//!
//! Speed and memory: anchors are found by a SIMD prefilter that still reports every
//! overlapping hit (`anchors`); the input's BLAKE3 is computed by the workers block by block
//! while the block is in cache (`tree_hash`), or, for SHA-256, by one sequential pass beside
//! them over the same pages; either way each page is faulted in and released about once and
//! resident memory stays bounded whatever the dump size (`pacing`).

mod anchors;
mod dedup;
mod ephemeral_keys;
mod keygen_candidates;
mod pacing;
pub mod rules_check;
mod tree_hash;

pub use anchors::AnchorSet;

use crate::detect::{self, Detector, PublicKeyRecord, ScanContext, Sink};
use crate::input::{locate, Dump};
use crate::report::Finding;
use pacing::Pacer;
use sha2::{Digest, Sha256};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Bytes per parallel work item (defined with the detectors, whose per-chunk budgets depend on it).
pub use crate::detect::CHUNK_SIZE;

/// Bytes one worker scans with every pass before moving on (see `Engine::scan_chunk`): a
/// quarter of a typical L2 cache, so a block, its overlap and what detectors read around it
/// stay cached.
const CACHE_BLOCK: usize = 256 << 10;

/// The smallest work item: one cache block, below which dispatch would cost more than it
/// balances.
const MIN_CHUNK: usize = CACHE_BLOCK;

/// The work item for a dump of `len` bytes on `threads` workers: [`CHUNK_SIZE`], or, for a
/// dump too small to give each worker about four of those, the power of two (at least
/// [`MIN_CHUNK`]) that does. A 3.4 MiB core of `openssl s_server` used to be one 4 MiB item on
/// one core while the other core waited. A power of two, because each item is a BLAKE3
/// subtree (`tree_hash`). Detectors see no difference: they read the whole dump, an anchor
/// belongs to the item it starts in, and their per-item budgets only bound adversarial
/// inputs (a smaller item has the same budget, so a small dump may get a little more work
/// before budgets bite, never less).
fn work_item(len: usize, threads: usize) -> usize {
    let share = len / (4 * threads.max(1));
    if share >= CHUNK_SIZE {
        return CHUNK_SIZE;
    }
    // The largest power of two not above the share.
    let floor = if share == 0 { 1 } else { 1 << share.ilog2() };
    floor.clamp(MIN_CHUNK, CHUNK_SIZE)
}

/// The compiled set of detectors and their anchors.
pub struct Engine {
    detectors: Vec<Box<dyn Detector>>,
    /// Every detector's anchor bytes, in `targets` order.
    patterns: Vec<Vec<u8>>,
    /// The searcher over `patterns`, built on the first scan: building it is most of an
    /// engine's construction, and a sweep of an unchanged share needs the engine's digest
    /// but scans nothing.
    anchors: std::sync::OnceLock<AnchorSet>,
    /// Anchor index → (detector index, detector tag).
    targets: Vec<(usize, u32)>,
    overlap: usize,
    digest: String,
}

/// What one scan produced, before it becomes a report.
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// How many public keys (certificates, SPKI, public blobs) were seen: context, not findings.
    pub public_keys: usize,
    pub scanned_bytes: u64,
    /// Errors during the scan (a detector panic, the time limit). Any of them makes the scan
    /// incomplete.
    pub errors: Vec<String>,
    /// Lowercase hex SHA-256 of the whole input, computed beside the scan when
    /// [`Limits::input_hash`] asks for it; empty otherwise.
    pub sha256: String,
    /// Lowercase hex BLAKE3 of the whole input, computed beside the scan when
    /// [`Limits::input_hash`] asks for it (the default); empty otherwise.
    pub blake3: String,
}

/// What one chunk produced; chunks are merged in index order, so the report does not depend
/// on which worker scanned what.
struct ChunkResult {
    index: usize,
    /// The chunk's part of the input's BLAKE3, when the workers compute it.
    hash: Option<tree_hash::Part>,
    sink: Sink,
    error: Option<String>,
    scanned: u64,
}

/// The longest time limit accepted (`--time-limit`, a policy's `time_limit_seconds`): thirty
/// days. A limit is a deadline `now + limit`; bounding it keeps that sum representable
/// (`u64::MAX` seconds used to panic) and a mistyped limit visible.
pub const MAX_TIME_LIMIT_SECONDS: u64 = 30 * 24 * 3600;

/// Checks a time limit in seconds (0 ..= `MAX_TIME_LIMIT_SECONDS`; 0 gives up at once, so
/// every scan is incomplete); the error says the range.
pub fn check_time_limit(secs: u64) -> Result<u64, TimeLimitError> {
    if secs <= MAX_TIME_LIMIT_SECONDS {
        Ok(secs)
    } else {
        Err(TimeLimitError::OutOfRange { secs })
    }
}

/// `--time-limit` of `scan`, `gate` and `sweep` (clap's `value_parser`): a whole number of
/// seconds within [`check_time_limit`]'s range (`u64::MAX` used to panic).
pub fn parse_time_limit(s: &str) -> Result<u64, TimeLimitError> {
    let n: u64 = s.parse().map_err(|e| TimeLimitError::NotANumber {
        given: s.into(),
        error: e,
    })?;
    check_time_limit(n)
}

/// A time limit refused: not a number, or above thirty days (refused rather than
/// clamped, so a mistyped limit is seen).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeLimitError {
    /// Not a whole number of seconds.
    #[error("'{given}' is not a number of seconds: {error}")]
    NotANumber {
        /// What was given.
        given: String,
        /// Why it did not parse.
        error: std::num::ParseIntError,
    },
    /// Above the longest limit accepted.
    #[error("time limit {secs} s is out of range (0 to {MAX_TIME_LIMIT_SECONDS} seconds)")]
    OutOfRange {
        /// The limit given, in seconds.
        secs: u64,
    },
}

/// Per-scan knobs.
#[derive(Default)]
pub struct Limits {
    /// Stop (and report the scan incomplete) after this instant.
    pub deadline: Option<Instant>,
    /// The digest that identifies the input in the report.
    pub input_hash: InputHash,
}

/// The algorithm of a report's input hash (`input.blake3` or `input.sha256`).
///
/// BLAKE3 by default: SHA-256 is one sequential stream at ≈ 1.45 GB/s per core (SHA-NI), a
/// whole core for the whole scan on a two-core machine and a floor under its wall time;
/// BLAKE3 hashes 16 leaves at once with AVX-512 on one core at several GB/s. Both identify
/// the exact bytes (`b3sum`, `sha256sum` verify them); SHA-256 stays for tooling that needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InputHash {
    /// `input.blake3` (the default).
    #[default]
    Blake3,
    /// `input.sha256` (`--input-hash sha256`).
    Sha256,
}

impl InputHash {
    /// The report field's name, and the value `--input-hash` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            InputHash::Blake3 => "blake3",
            InputHash::Sha256 => "sha256",
        }
    }
}

impl std::str::FromStr for InputHash {
    type Err = UnknownInputHash;

    fn from_str(s: &str) -> Result<InputHash, UnknownInputHash> {
        match s {
            "blake3" => Ok(InputHash::Blake3),
            "sha256" => Ok(InputHash::Sha256),
            _ => Err(UnknownInputHash { given: s.into() }),
        }
    }
}

/// `--input-hash` names neither algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{given}' is not an input hash (blake3 or sha256)")]
pub struct UnknownInputHash {
    /// The value given.
    pub given: String,
}

impl Engine {
    /// The engine with every built-in detector.
    pub fn new() -> Engine {
        Engine::with_detectors(detect::registry())
    }

    /// An engine running exactly these detectors (a narrower set, or an embedder's own).
    pub fn with_detectors(detectors: Vec<Box<dyn Detector>>) -> Engine {
        let mut patterns = Vec::new();
        let mut targets = Vec::new();
        let mut hasher = Sha256::new();
        for (i, d) in detectors.iter().enumerate() {
            hasher.update(d.name().as_bytes());
            hasher.update(d.digest_input());
            for a in d.anchors() {
                hasher.update(&a.bytes);
                patterns.push(a.bytes);
                targets.push((i, a.tag));
            }
        }
        let overlap = patterns
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(1)
            .saturating_sub(1);
        Engine {
            detectors,
            patterns,
            anchors: std::sync::OnceLock::new(),
            targets,
            overlap,
            digest: format!("sha256:{}", hex::encode(hasher.finalize())),
        }
    }

    /// The same engine with only the detectors `keep` accepts (by name); the anchor set and the
    /// digest are rebuilt, so a report says it came from the reduced set.
    pub fn retain(self, keep: impl Fn(&str) -> bool) -> Engine {
        let mut detectors = self.detectors;
        detectors.retain(|d| keep(d.name()));
        Engine::with_detectors(detectors)
    }

    /// Identifies the detector and anchor set, so reports say which rules produced them.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Scans every byte of `dump`. `progress` is called with byte counts as chunks finish.
    pub fn scan(
        &self,
        dump: &Dump<'_>,
        inventory: &[PublicKeyRecord],
        limits: &Limits,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Outcome {
        let data = dump.data();
        let cx = ScanContext {
            data,
            regions: &dump.layout.regions,
            space: &dump.layout.space,
            inventory,
            pages: Some(&dump.bytes),
        };
        let timed_out = AtomicBool::new(false);
        let blake3 = limits.input_hash == InputHash::Blake3;
        let chunk = work_item(data.len(), rayon::current_num_threads());
        let pacer = Pacer::new(&dump.bytes, chunk, !blake3);
        let mut digest = String::new();
        // One result list per worker; workers claim chunks in ascending order (see `pacing`).
        let mut per_worker: Vec<Vec<ChunkResult>> = Vec::new();
        per_worker.resize_with(rayon::current_num_threads().max(1), Vec::new);
        rayon::scope(|s| {
            for out in per_worker.iter_mut() {
                let (cx, pacer, timed_out) = (&cx, &pacer, &timed_out);
                s.spawn(move |_| {
                    while let Some((i, start, end)) = pacer.claim() {
                        let hash = blake3.then_some(chunk);
                        out.push(self.run_chunk(cx, i, start, end, limits, timed_out, hash));
                        pacer.scanned(i);
                        progress((end - start) as u64);
                    }
                });
            }
            if !blake3 {
                // Spawned last so this thread pops it first: the hash is the critical path.
                let (pacer, digest) = (&pacer, &mut digest);
                s.spawn(move |_| *digest = pacer.hash());
            }
        });
        let mut results: Vec<ChunkResult> = per_worker.into_iter().flatten().collect();
        results.sort_unstable_by_key(|r| r.index);
        if blake3 {
            let parts = results.iter_mut().filter_map(|r| r.hash.take()).collect();
            digest = tree_hash::root(parts, chunk, data.len());
        }

        let mut found = Sink::default();
        let mut errors = Vec::new();
        let mut scanned = 0;
        for mut r in results {
            found.findings.extend(r.sink.findings);
            found.public_keys.extend(r.sink.public_keys);
            found.handoffs.append(&mut r.sink.handoffs);
            errors.extend(r.error);
            scanned += r.scanned;
        }
        if timed_out.load(Ordering::Relaxed) {
            errors.push(format!(
                "time limit reached: {scanned} of {} bytes scanned",
                data.len()
            ));
        }
        // Whole-dump passes: pairing private material with public keys found anywhere. Each
        // pass also sees the findings of the passes before it, so a costly one can skip what
        // a cheaper one already proved (the factor search skips keys the BIGNUM pairing
        // proved).
        let mut late_public = Vec::new();
        for d in &self.detectors {
            let mut late = Sink::default();
            let run = catch_unwind(AssertUnwindSafe(|| d.finish(&cx, &found, &mut late)));
            if run.is_err() {
                errors.push(format!(
                    "detector {} failed in its whole-dump pass",
                    d.name()
                ));
            }
            found.findings.extend(late.findings);
            late_public.extend(late.public_keys);
        }
        found.public_keys.extend(late_public);
        let public_keys = found.public_keys.len();
        let mut findings = dedup::dedup(found.findings);
        label_known_keys(&mut findings, inventory);
        for (i, f) in findings.iter_mut().enumerate() {
            f.id = format!("F{}", i + 1);
            annotate_test_key(f);
            f.location = Some(locate(&dump.layout.regions, &dump.layout.space, f.offset));
            for o in &mut f.locations {
                o.location = Some(locate(&dump.layout.regions, &dump.layout.space, o.offset));
            }
        }
        let public = crate::keys::fingerprint::public_fingerprints(
            found.public_keys.iter().chain(inventory),
        );
        keygen_candidates::label(&mut findings, &public);
        ephemeral_keys::label(&mut findings, &public);
        let (sha256, blake3) = match limits.input_hash {
            InputHash::Sha256 => (digest, String::new()),
            InputHash::Blake3 => (String::new(), digest),
        };
        Outcome {
            findings,
            public_keys,
            scanned_bytes: scanned,
            errors,
            sha256,
            blake3,
        }
    }

    /// Scans one chunk, isolating a detector panic to it; with `blake3` (the work item's
    /// size), also hashes it (always all of it: a chunk skipped for the time limit or cut by
    /// a panic is still part of the input the report identifies).
    #[allow(clippy::too_many_arguments)]
    fn run_chunk(
        &self,
        cx: &ScanContext<'_>,
        index: usize,
        start: usize,
        end: usize,
        limits: &Limits,
        timed_out: &AtomicBool,
        blake3: Option<usize>,
    ) -> ChunkResult {
        let mut r = ChunkResult {
            index,
            hash: None,
            sink: Sink::default(),
            error: None,
            scanned: 0,
        };
        let new_hasher = |chunk| tree_hash::ChunkHasher::new(start, chunk, cx.data.len());
        if limits.deadline.is_some_and(|d| Instant::now() > d) {
            timed_out.store(true, Ordering::Relaxed);
        } else {
            let mut hasher = blake3.map(new_hasher);
            let run = catch_unwind(AssertUnwindSafe(|| {
                self.scan_chunk(cx, start, end, &mut r.sink, hasher.as_mut())
            }));
            match run {
                Ok(()) => {
                    r.scanned = (end - start) as u64;
                    r.hash = hasher.map(tree_hash::ChunkHasher::finish);
                }
                Err(_) => {
                    r.error = Some(format!(
                        "a detector failed on bytes {start:#x}..{end:#x}; that range is not fully scanned"
                    ))
                }
            }
        }
        if let (Some(chunk), None) = (blake3, &r.hash) {
            let mut h = new_hasher(chunk);
            h.update(&cx.data[start..end]);
            r.hash = Some(h.finish());
        }
        r
    }

    /// Scans `[start, end)` one cache-sized block at a time: the anchor search and every
    /// detector's own pass read a block while it is still in the core's L2 cache, instead of
    /// each streaming the whole chunk from memory again (on the 1.5 GB python core, six passes
    /// over 4 MiB chunks had made the AES pass wait on memory most of its time).
    ///
    /// With `hasher`, each block is hashed right after the detectors, while it is in cache.
    fn scan_chunk(
        &self,
        cx: &ScanContext<'_>,
        start: usize,
        end: usize,
        sink: &mut Sink,
        mut hasher: Option<&mut tree_hash::ChunkHasher>,
    ) {
        let anchors = self.anchors.get_or_init(|| AnchorSet::new(&self.patterns));
        let mut from = start;
        while from < end {
            let to = (from + CACHE_BLOCK).min(end);
            let window = &cx.data[from..(to + self.overlap).min(cx.data.len())];
            // Hits starting at or after `to` belong to the next block.
            anchors.for_each_hit(window, to - from, |at, anchor| {
                let (d, tag) = self.targets[anchor];
                self.detectors[d].on_anchor(cx, from + at, tag, sink);
            });
            for d in &self.detectors {
                d.scan_chunk(cx, from, to, sink);
            }
            if let Some(h) = hasher.as_deref_mut() {
                h.update(&cx.data[from..to]);
            }
            detect::note_zero_pages(&cx.data[from..to], from, &mut sink.handoffs.zero_pages);
            from = to;
        }
    }
}

/// Labels findings whose fingerprint is a key of the user's inventory with that entry.
/// Lowers a finding of a published test key (`rules/known-test-keys.txt`, read by
/// [`crate::keys::known`]) to low severity and says what it is.
fn annotate_test_key(f: &mut Finding) {
    if f.known_key.is_some() {
        return;
    }
    if let Some(label) =
        crate::keys::known::lookup(f.fingerprint.as_deref(), f.content_hash.as_deref())
    {
        f.severity = crate::report::Severity::Low;
        f.known_key = Some(format!("published test key: {label}"));
    }
}

fn label_known_keys(findings: &mut [Finding], inventory: &[PublicKeyRecord]) {
    if inventory.is_empty() {
        return;
    }
    let mut known: std::collections::HashMap<String, Vec<&str>> = Default::default();
    for r in inventory {
        let fp = crate::keys::fingerprint::sha256_fingerprint(&r.spki);
        let labels = known.entry(fp).or_default();
        if !labels.contains(&r.source.as_str()) {
            labels.push(&r.source);
        }
    }
    for f in findings {
        if let Some(labels) = f.fingerprint.as_ref().and_then(|fp| known.get(fp)) {
            f.known_key = Some(labels.join("; "));
        }
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_items_give_every_worker_several_and_stay_powers_of_two() {
        assert_eq!(work_item(0, 2), MIN_CHUNK);
        assert_eq!(work_item(1 << 20, 2), MIN_CHUNK);
        // The 3.4 MiB s_server core: 14 items for two workers instead of one.
        assert_eq!(work_item(3_565_000, 2), 256 << 10);
        assert_eq!(work_item(17 << 20, 2), 2 << 20);
        assert_eq!(work_item(32 << 20, 2), CHUNK_SIZE);
        assert_eq!(work_item(1 << 30, 2), CHUNK_SIZE);
        assert_eq!(work_item(1 << 30, 0), CHUNK_SIZE);
        for len in [0, 1, 5 << 20, 9 << 20, 100 << 20] {
            for threads in 1..9 {
                let c = work_item(len, threads);
                assert!(c.is_power_of_two() && (MIN_CHUNK..=CHUNK_SIZE).contains(&c));
            }
        }
    }
}
