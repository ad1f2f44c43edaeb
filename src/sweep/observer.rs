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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    /// Remembers what a sweep told it.
    #[derive(Default)]
    struct Recorder {
        started: Mutex<Option<(u64, u64)>>,
        bytes: AtomicU64,
        entries: AtomicU64,
        lines: Mutex<Vec<String>>,
        summaries: AtomicU64,
    }

    impl Observer for Recorder {
        fn start(&self, total_bytes: u64, total_files: u64) {
            *self.started.lock().unwrap() = Some((total_bytes, total_files));
        }
        fn bytes(&self, n: u64) {
            self.bytes.fetch_add(n, Ordering::Relaxed);
        }
        fn entry(&self, line: &dyn Fn() -> String) {
            assert!(line().starts_with("scanned "), "{}", line());
            self.entries.fetch_add(1, Ordering::Relaxed);
        }
        fn line(&self, line: &str) -> std::io::Result<()> {
            self.lines.lock().unwrap().push(line.to_string());
            Ok(())
        }
        fn summary(&self, _summary: &Summary) -> std::io::Result<()> {
            self.summaries.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }

    /// An embedder sees the whole run through its observer: totals, progress, one line per
    /// dump (what `--out` holds) and the summary once, which `run` also returns.
    #[test]
    fn a_sweep_tells_its_observer_everything_it_writes() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-dumps");
        let size: u64 = ["clean.dmp", "test-keys.core", "test-keys.dmp"]
            .iter()
            .map(|n| std::fs::metadata(dir.join(n)).unwrap().len())
            .sum();
        let tmp = tempfile::tempdir().unwrap();
        let opts = crate::sweep::SweepOptions {
            roots: vec![dir],
            tmpdir: Some(tmp.path().to_path_buf()),
            jobs: Some(2),
            archive_depth: 3,
            ..Default::default()
        };
        let rec = Recorder::default();
        let summary = crate::sweep::run(&opts, &rec).unwrap();
        assert_eq!(*rec.started.lock().unwrap(), Some((size, 3)));
        assert!(rec.bytes.load(Ordering::Relaxed) > 0);
        assert_eq!(rec.entries.load(Ordering::Relaxed), 3);
        let lines = rec.lines.lock().unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.contains("dumpguard.report/v1")));
        assert_eq!(rec.summaries.load(Ordering::Relaxed), 1);
        assert_eq!(summary.dumps, 3);
        assert!(summary.findings > 0 && !summary.has_errors());
    }
}
