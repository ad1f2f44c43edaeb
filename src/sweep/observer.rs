//! What a running sweep tells its caller. The sweep itself prints nothing: the binary
//! implements [`Observer`] to draw a progress bar, log lines and write to standard output; an
//! embedder may log the same events elsewhere, or take [`Silent`].

use super::status::EntryStatus;
use super::summary::Summary;

/// Events of a sweep, in order: notes and unscanned entries, then `start`, `bytes` and `entry`
/// while files are scanned (from the scanning threads, hence `Sync`), `finish`, every output
/// `line` in path order, and the `summary` last. Every method but the two outputs defaults to
/// doing nothing.
pub trait Observer: Sync {
    /// A note about the run: roots and shard, starting or resuming, what there is to scan.
    fn note(&self, _msg: &str) {}
    /// An entry that is not scanned (`status` skipped or failed), and why. Paths and reasons
    /// come from the tree: escape them before showing them on a terminal.
    fn unscanned(&self, _status: EntryStatus, _path: &str, _reason: &str) {}
    /// Scanning begins: this many bytes in this many files.
    fn start(&self, _total_bytes: u64, _total_files: u64) {}
    /// `n` more bytes were scanned.
    fn bytes(&self, _n: u64) {}
    /// One file is done; `line` says what came of it (built only when called).
    fn entry(&self, _line: &dyn Fn() -> String) {}
    /// Scanning is over (or aborted).
    fn finish(&self) {}
    /// One output record (a `dumpguard.report/v1` line with its sweep block), as written to
    /// `--out`. An error fails the sweep before the run is marked finished.
    fn line(&self, _line: &str) -> std::io::Result<()> {
        Ok(())
    }
    /// The summary, once every output is written; an error fails the sweep before the run is
    /// marked finished, so the next sweep resumes it.
    fn summary(&self, _summary: &Summary) -> std::io::Result<()> {
        Ok(())
    }
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {}
