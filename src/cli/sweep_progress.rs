//! The sweep's progress: a bar with bytes/s and ETA on a terminal; on anything else (cron, Kubernetes
//! logs, systemd journal) a plain line every ten seconds, so logs stay readable.
//! `--verbose` adds one line per entry (what was scanned, skipped or failed, and why).

use dumpguard::sweep::human_bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const LOG_EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    bar: Option<ProgressBar>,
    log: bool,
    verbose: bool,
    total_bytes: u64,
    total_files: u64,
    bytes: AtomicU64,
    files: AtomicU64,
    started: Instant,
    last_log: Mutex<Instant>,
}

impl Progress {
    pub fn new(total_bytes: u64, total_files: u64, quiet: bool, verbose: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty && total_files > 0).then(|| {
            let pb = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
                )
                .expect("static template"),
            );
            pb.enable_steady_tick(Duration::from_millis(200));
            pb
        });
        Progress {
            log: !quiet && !tty,
            bar,
            verbose,
            total_bytes,
            total_files,
            bytes: AtomicU64::new(0),
            files: AtomicU64::new(0),
            started: Instant::now(),
            last_log: Mutex::new(Instant::now()),
        }
    }

    /// A general message (start, end, warnings): above the bar, or a log line.
    pub fn say(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => eprintln!("{msg}"),
        }
    }

    pub fn bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc(n);
        }
        self.maybe_log();
    }

    /// An entry is done: `line` is printed with `--verbose`.
    pub fn entry(&self, line: &dyn Fn() -> String) {
        let done = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.set_message(format!("{done}/{} files", self.total_files));
        }
        if self.verbose {
            self.say(&line());
        }
        self.maybe_log();
    }

    fn maybe_log(&self) {
        if !self.log {
            return;
        }
        let Ok(mut last) = self.last_log.try_lock() else {
            return;
        };
        if last.elapsed() < LOG_EVERY {
            return;
        }
        *last = Instant::now();
        let done = self.bytes.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 {
            format!(
                "{:.0} s",
                self.total_bytes.saturating_sub(done) as f64 / rate
            )
        } else {
            "?".into()
        };
        eprintln!(
            "dumpguard sweep: {}/{} files, {} of {} ({:.0}%), {}/s, ETA {eta}",
            self.files.load(Ordering::Relaxed),
            self.total_files,
            human_bytes(done),
            human_bytes(self.total_bytes),
            done as f64 * 100.0 / self.total_bytes.max(1) as f64,
            human_bytes(rate as u64),
        );
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
