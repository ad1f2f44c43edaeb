//! Pacing the input hash and the scan over one memory map, so that every page of the dump
//! is faulted in about once, released once, and never piles up (docs/design.md principle 6).
//!
//! The default input hash, BLAKE3, is computed by the workers themselves (`tree_hash`): a
//! chunk is released as soon as it is scanned. SHA-256 (`--input-hash sha256`) cannot be
//! split, so it is one sequential stream beside the parallel scan (≈ 1.45 GB/s per core with
//! SHA-NI, the critical path of a whole scan on two cores), and both passes read every
//! chunk. So the scan goes first and the hash follows:
//!
//! - workers claim chunks in ascending order and stay at most [`AHEAD`] chunks ahead of the
//!   hash while it runs (they wait, which costs nothing: the hash is the bottleneck). The
//!   pages they faulted in are still mapped when the hash arrives, so the hashing thread
//!   spends its time hashing, not in the page-fault handler;
//! - whichever of the two finishes a chunk second releases its pages (`MADV_DONTNEED`);
//! - if the hash runs ahead instead (slow detectors, or a single thread), it releases what
//!   it read once it is more than [`AHEAD`] chunks in front of the workers, and the scan
//!   faults those pages in again later.
//!
//! Resident dump pages are therefore bounded by about 2 × [`AHEAD`] chunks plus the chunks in
//! flight, whatever the dump size.

use crate::input::DumpBytes;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};

/// How many chunks one pass may run ahead of the other before pages are released early
/// (ahead of the hash: workers wait; ahead of the workers: the hash releases).
pub const AHEAD: usize = 4;

const SCANNED: u8 = 1;
const HASHED: u8 = 2;

pub struct Pacer<'a> {
    bytes: &'a DumpBytes<'a>,
    chunk: usize,
    chunks: usize,
    /// Only a memory map has pages to release; over a caller's slice nothing is paced.
    mapped: bool,
    state: Vec<AtomicU8>,
    /// Next chunk a worker will claim.
    claimed: AtomicUsize,
    /// Chunks fully hashed.
    hashed: AtomicUsize,
    hashing: AtomicBool,
    lock: Mutex<()>,
    progress: Condvar,
}

impl<'a> Pacer<'a> {
    /// `hash_beside`: whether [`Pacer::hash`] will run beside the workers (SHA-256). Without
    /// it (BLAKE3, which the workers compute themselves) a chunk is released as soon as it is
    /// scanned.
    pub fn new(bytes: &'a DumpBytes<'a>, chunk: usize, hash_beside: bool) -> Pacer<'a> {
        let chunks = bytes.len().div_ceil(chunk);
        let initial = if hash_beside { 0 } else { HASHED };
        Pacer {
            bytes,
            chunk,
            chunks,
            mapped: matches!(bytes, DumpBytes::Mapped(_)),
            state: (0..chunks).map(|_| AtomicU8::new(initial)).collect(),
            claimed: AtomicUsize::new(0),
            hashed: AtomicUsize::new(0),
            hashing: AtomicBool::new(false),
            lock: Mutex::new(()),
            progress: Condvar::new(),
        }
    }

    fn range(&self, c: usize) -> (usize, usize) {
        let start = c * self.chunk;
        (start, (start + self.chunk).min(self.bytes.len()))
    }

    /// The next chunk for a worker, in ascending order; `None` when all are claimed. Waits
    /// while the chunk is too far ahead of a running hash.
    pub fn claim(&self) -> Option<(usize, usize, usize)> {
        let c = self.claimed.fetch_add(1, SeqCst);
        if c >= self.chunks {
            return None;
        }
        if self.mapped {
            let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            // Waiting is safe only while the hash is running: it never waits on anything,
            // so it is certain to advance (a hash not yet started may be queued behind us).
            while self.hashing.load(SeqCst) && c >= self.hashed.load(SeqCst) + AHEAD {
                guard = self.progress.wait(guard).unwrap_or_else(|e| e.into_inner());
            }
        }
        let (start, end) = self.range(c);
        Some((c, start, end))
    }

    /// A worker is done with chunk `c` (scanned, skipped or failed).
    pub fn scanned(&self, c: usize) {
        let first = self.state[c].fetch_or(SCANNED, SeqCst) & HASHED == 0;
        // Done first, and the hash is still far behind (or will come much later): release
        // now rather than hold the pages; the hash faults them in again.
        let hash_far = c >= self.hashed.load(SeqCst) + AHEAD;
        if !first || hash_far {
            self.release(c);
        }
    }

    fn hashed_chunk(&self, c: usize) {
        {
            let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.hashed.store(c + 1, SeqCst);
        }
        self.progress.notify_all();
        let first = self.state[c].fetch_or(HASHED, SeqCst) & SCANNED == 0;
        let workers_far = c >= self.claimed.load(SeqCst) + AHEAD;
        if !first || workers_far {
            self.release(c);
        }
    }

    fn release(&self, c: usize) {
        let (start, end) = self.range(c);
        self.bytes.release(start, end);
    }

    /// The SHA-256 of all the bytes, chunk by chunk, as lowercase hex.
    pub fn hash(&self) -> String {
        struct Running<'p, 'a>(&'p Pacer<'a>);
        impl Drop for Running<'_, '_> {
            // Also on a panic, so no worker waits for a hash that will never advance.
            fn drop(&mut self) {
                {
                    let _guard = self.0.lock.lock().unwrap_or_else(|e| e.into_inner());
                    self.0.hashing.store(false, SeqCst);
                }
                self.0.progress.notify_all();
            }
        }
        self.hashing.store(true, SeqCst);
        let _running = Running(self);
        let mut hasher = Sha256::new();
        for c in 0..self.chunks {
            let (start, end) = self.range(c);
            hasher.update(&self.bytes[start..end]);
            self.hashed_chunk(c);
        }
        hex::encode(hasher.finalize())
    }
}
