//! Realistic process-memory content, generated deterministically from a seed.
//!
//! A dump is a sequence of *runs* of pages, each run of one kind. The byte shares follow what
//! full-memory dumps of server processes tend to hold: much zero and high-entropy memory
//! (freed pages, compressed or encrypted buffers), code and read-only data of shared
//! libraries, heaps full of pointers, and text in ASCII and UTF-16LE.

use base64::Engine;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

pub const PAGE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Zero,
    Random,
    Library,
    Pointers,
    Ascii,
    Utf16,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Zero,
        Kind::Random,
        Kind::Library,
        Kind::Pointers,
        Kind::Ascii,
        Kind::Utf16,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Zero => "zero",
            Kind::Random => "random",
            Kind::Library => "library",
            Kind::Pointers => "pointers",
            Kind::Ascii => "ascii-text",
            Kind::Utf16 => "utf16-text",
        }
    }

    /// Share of the dump's bytes, in percent.
    pub fn share(self) -> u32 {
        match self {
            Kind::Zero => 25,
            Kind::Random => 20,
            Kind::Library => 20,
            Kind::Pointers => 15,
            Kind::Ascii => 12,
            Kind::Utf16 => 8,
        }
    }

    /// Run length range in pages.
    fn run_pages(self) -> (usize, usize) {
        match self {
            Kind::Zero | Kind::Random => (1, 256),
            Kind::Library => (1, 64),
            Kind::Pointers => (1, 32),
            Kind::Ascii | Kind::Utf16 => (1, 16),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::Zero => "zero pages",
            Kind::Random => "high-entropy bytes (ChaCha8)",
            Kind::Library => "pages of the system's shared libraries",
            Kind::Pointers => "heap-like words: pointers, small integers, zeros",
            Kind::Ascii => {
                "log lines, JSON with base64 fields, prose, env vars, public certificates"
            }
            Kind::Utf16 => "the same text in UTF-16LE",
        }
    }
}

/// Picks run kinds and lengths so that each kind gets its byte share on average.
pub struct Planner {
    rng: ChaCha8Rng,
    /// Cumulative weights (probability of a kind per run ∝ share / mean run length).
    cumulative: Vec<(f64, Kind)>,
}

impl Planner {
    pub fn new(seed: u64) -> Planner {
        let mut acc = 0.0;
        let mut cumulative = Vec::new();
        for k in Kind::ALL {
            let (lo, hi) = k.run_pages();
            acc += k.share() as f64 / ((lo + hi) as f64 / 2.0);
            cumulative.push((acc, k));
        }
        for c in &mut cumulative {
            c.0 /= acc;
        }
        Planner {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x706c_616e),
            cumulative,
        }
    }

    /// The next run: its kind and length in bytes.
    pub fn next_run(&mut self) -> (Kind, usize) {
        let x: f64 = self.rng.gen();
        let kind = self
            .cumulative
            .iter()
            .find(|(c, _)| x < *c)
            .map_or(Kind::Utf16, |(_, k)| *k);
        let (lo, hi) = kind.run_pages();
        (kind, self.rng.gen_range(lo..=hi) * PAGE)
    }
}

/// Fills buffers with content of a given kind.
pub struct Generator {
    rng: ChaCha8Rng,
    libraries: Arc<Libraries>,
    certificates: Arc<Vec<String>>,
    text: Vec<u8>,
    heap_base: u64,
    image_base: u64,
}

impl Generator {
    pub fn new(seed: u64, sources: &Sources) -> Generator {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x636f_6e74);
        let heap_base = 0x0000_5555_0000_0000 | (rng.gen::<u64>() & 0x0fff_f000_0000);
        let image_base = 0x0000_7f00_0000_0000 | (rng.gen::<u64>() & 0xff_f000_0000);
        Generator {
            rng,
            libraries: Arc::clone(&sources.libraries),
            certificates: Arc::clone(&sources.certificates),
            text: Vec::new(),
            heap_base,
            image_base,
        }
    }

    pub fn fill(&mut self, kind: Kind, out: &mut [u8]) {
        match kind {
            Kind::Zero => out.fill(0),
            Kind::Random => self.rng.fill_bytes(out),
            Kind::Library => self.library(out),
            Kind::Pointers => self.pointers(out),
            Kind::Ascii => {
                self.text_into(out.len());
                out.copy_from_slice(&self.text[..out.len()]);
            }
            Kind::Utf16 => {
                self.text_into(out.len() / 2 + 1);
                for (pair, &c) in out.chunks_mut(2).zip(self.text.iter()) {
                    pair[0] = c;
                    if pair.len() > 1 {
                        pair[1] = 0;
                    }
                }
            }
        }
    }

    fn library(&mut self, out: &mut [u8]) {
        let lib = &self.libraries;
        if lib.pages == 0 {
            // No system libraries found: code-like bytes (mostly small opcodes and zeros).
            for b in out.iter_mut() {
                let r = self.rng.next_u32();
                *b = if r % 4 == 0 { 0 } else { (r >> 8) as u8 & 0x8f };
            }
            return;
        }
        let mut page = self.rng.gen_range(0..lib.pages);
        for chunk in out.chunks_mut(PAGE) {
            lib.read_page(page, chunk);
            page = (page + 1) % lib.pages;
        }
    }

    fn pointers(&mut self, out: &mut [u8]) {
        for word in out.chunks_mut(8) {
            let r = self.rng.next_u64();
            let v = match r % 20 {
                0..=6 => self.heap_base + ((r >> 8) & 0x0fff_fff0),
                7..=9 => self.image_base + ((r >> 8) & 0x3ff_fff8),
                10..=13 => 0,
                14..=17 => (r >> 32) & 0xfff,
                _ => r >> 5,
            };
            word.copy_from_slice(&v.to_le_bytes()[..word.len()]);
        }
    }

    /// Regenerates `self.text` with at least `n` bytes of text.
    fn text_into(&mut self, n: usize) {
        self.text.clear();
        while self.text.len() < n {
            self.line();
        }
    }

    fn word(&mut self) -> &'static str {
        WORDS[self.rng.gen_range(0..WORDS.len())]
    }

    fn line(&mut self) {
        use std::fmt::Write;
        let mut s = String::new();
        match self.rng.gen_range(0..1000) {
            0..=349 => {
                let lvl = ["INFO", "DEBUG", "WARN", "ERROR", "TRACE"][self.rng.gen_range(0..5)];
                let comp =
                    ["http", "db", "cache", "auth", "worker-3", "sched"][self.rng.gen_range(0..6)];
                let method = ["GET", "POST", "PUT", "DELETE"][self.rng.gen_range(0..4)];
                let status =
                    [200, 200, 200, 201, 204, 304, 400, 404, 500][self.rng.gen_range(0..9)];
                let what = self.word();
                let r = &mut self.rng;
                let _ = writeln!(
                    s,
                    "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {lvl:5} [{comp}] request_id={:016x} \
                     {method} /api/v1/{what}/{} status={status} bytes={} latency_ms={}",
                    r.gen_range(1..13),
                    r.gen_range(1..29),
                    r.gen_range(0..24),
                    r.gen_range(0..60),
                    r.gen_range(0..60),
                    r.gen_range(0..1000),
                    r.gen::<u64>(),
                    r.gen_range(0..100_000),
                    r.gen_range(0..100_000),
                    r.gen_range(0..2_000),
                );
            }
            350..=549 => {
                let mut blob = vec![0u8; self.rng.gen_range(12..96)];
                self.rng.fill_bytes(&mut blob);
                let blob = base64::engine::general_purpose::STANDARD.encode(&blob);
                let (a, b) = (self.word(), self.word());
                let r = &mut self.rng;
                let _ = writeln!(
                    s,
                    r#"{{"id":{},"name":"{a}-{b}","enabled":{},"tags":["{a}","{b}"],"payload":"{blob}","ts":{}}}"#,
                    r.gen_range(0..1_000_000),
                    r.gen_bool(0.5),
                    1_700_000_000 + r.gen_range(0..100_000_000u64),
                );
            }
            550..=849 => {
                let n = self.rng.gen_range(6..20);
                for i in 0..n {
                    let w = self.word();
                    if i == 0 {
                        s.push_str(&w[..1].to_ascii_uppercase());
                        s.push_str(&w[1..]);
                    } else {
                        s.push(' ');
                        s.push_str(w);
                    }
                }
                s.push_str(".\n");
            }
            850..=949 => {
                let (a, b, c) = (self.word(), self.word(), self.word());
                let _ = match self.rng.gen_range(0..4) {
                    0 => writeln!(
                        s,
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/opt/{a}/bin"
                    ),
                    1 => writeln!(s, "/home/{a}/.config/{b}/{c}.toml"),
                    2 => writeln!(
                        s,
                        "https://{a}.example.com/{b}/{c}?page={}",
                        self.rng.gen_range(0..50)
                    ),
                    _ => writeln!(s, "C:\\Program Files\\{a}\\{b}\\{c}.dll"),
                };
            }
            950..=994 => {
                // Separator and banner lines: runs of dashes are near-misses of PEM armour.
                let c = ['-', '=', '#', '*'][self.rng.gen_range(0..4)];
                let n = self.rng.gen_range(8..80);
                s.extend(std::iter::repeat(c).take(n));
                s.push('\n');
            }
            _ => {
                // A public CA certificate: PEM armour that is not a private key.
                match self.certificates.len() {
                    0 => {
                        s.push_str("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
                    }
                    n => s.push_str(&self.certificates[self.rng.gen_range(0..n)]),
                }
            }
        }
        self.text.extend_from_slice(s.as_bytes());
    }
}

/// Inputs read from the system once: shared libraries and public certificates.
pub struct Sources {
    pub libraries: Arc<Libraries>,
    pub certificates: Arc<Vec<String>>,
}

/// The system's shared libraries, read page by page on demand (`pread`, through the page
/// cache) rather than loaded into this process: the benchmark's own peak RSS must stay small,
/// because a spawned child's `ru_maxrss` starts from the parent's high-water mark.
pub struct Libraries {
    files: Vec<(std::fs::File, u64)>,
    /// Pages before each file, for finding the file of a global page index.
    starts: Vec<u64>,
    pub pages: u64,
}

impl Libraries {
    pub fn files(&self) -> usize {
        self.files.len()
    }

    fn read_page(&self, page: u64, out: &mut [u8]) {
        use std::os::unix::fs::FileExt;
        let i = self.starts.partition_point(|&s| s <= page) - 1;
        let (file, _) = &self.files[i];
        let at = (page - self.starts[i]) * PAGE as u64;
        if file.read_exact_at(out, at).is_err() {
            out.fill(0);
        }
    }
}

impl Sources {
    pub fn load() -> Sources {
        let mut files = Vec::new();
        for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"] {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut paths: Vec<_> = rd
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().contains(".so"))
                })
                .collect();
            paths.sort();
            for p in paths.into_iter().take(MAX_LIBRARIES) {
                let Ok(f) = std::fs::File::open(&p) else {
                    continue;
                };
                let pages = f.metadata().map_or(0, |m| m.len()) / PAGE as u64;
                if pages > 0 {
                    files.push((f, pages));
                }
            }
            if !files.is_empty() {
                break;
            }
        }
        let mut starts = Vec::with_capacity(files.len());
        let mut pages = 0;
        for (_, n) in &files {
            starts.push(pages);
            pages += n;
        }
        let certificates = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt")
            .map(|s| split_pem(&s))
            .unwrap_or_default();
        Sources {
            libraries: Arc::new(Libraries {
                files,
                starts,
                pages,
            }),
            certificates: Arc::new(certificates),
        }
    }
}

/// Open file handles kept for library sampling (well below the usual descriptor limit).
const MAX_LIBRARIES: usize = 512;

fn split_pem(s: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----\n";
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(b) = rest.find("-----BEGIN CERTIFICATE-----") {
        let Some(e) = rest[b..].find(END) else {
            break;
        };
        out.push(rest[b..b + e + END.len()].to_string());
        rest = &rest[b + e + END.len()..];
    }
    out
}

const WORDS: &[&str] = &[
    "the",
    "request",
    "session",
    "user",
    "account",
    "token",
    "service",
    "cache",
    "server",
    "client",
    "connection",
    "timeout",
    "retry",
    "config",
    "value",
    "default",
    "error",
    "warning",
    "handler",
    "queue",
    "message",
    "event",
    "stream",
    "buffer",
    "record",
    "index",
    "table",
    "column",
    "query",
    "result",
    "update",
    "delete",
    "insert",
    "select",
    "from",
    "where",
    "order",
    "group",
    "limit",
    "offset",
    "page",
    "items",
    "orders",
    "invoice",
    "payment",
    "customer",
    "address",
    "region",
    "cluster",
    "node",
    "replica",
    "shard",
    "primary",
    "backup",
    "snapshot",
    "volume",
    "mount",
    "device",
    "driver",
    "kernel",
    "process",
    "thread",
    "worker",
    "pool",
    "lock",
    "mutex",
    "signal",
    "memory",
    "heap",
    "stack",
    "frame",
    "module",
    "symbol",
    "version",
    "build",
    "release",
    "debug",
    "trace",
    "metric",
    "counter",
    "gauge",
    "latency",
    "throughput",
    "window",
    "and",
    "of",
    "to",
    "in",
    "is",
    "was",
    "for",
    "with",
    "on",
    "not",
    "by",
    "at",
    "this",
    "that",
];
