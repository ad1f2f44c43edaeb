//! The scan engine reports every anchor occurrence exactly once, wherever chunk boundaries
//! fall, for anchors that overlap or nest inside each other, over a caller's slice and over
//! a memory-mapped file, with one worker thread or several. And it hashes what it scanned.

use dumpguard::Dump;
use dumpguard::{Anchor, Detector, Family, ScanContext, Sink};
use dumpguard::{Engine, InputHash, Limits, CHUNK_SIZE};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// (position, anchor tag) pairs.
type HitList = Vec<(usize, u32)>;
type Hits = Arc<Mutex<HitList>>;

/// Records every call it gets.
struct Recorder {
    name: &'static str,
    anchors: Vec<Vec<u8>>,
    hits: Hits,
}

impl Detector for Recorder {
    fn name(&self) -> &'static str {
        self.name
    }
    fn family(&self) -> Family {
        Family::Raw
    }
    fn describe(&self) -> &'static str {
        "records the chunks it is given (test)"
    }
    fn anchors(&self) -> Vec<Anchor> {
        self.anchors
            .iter()
            .enumerate()
            .map(|(i, a)| Anchor {
                bytes: a.clone(),
                tag: i as u32,
            })
            .collect()
    }
    fn on_anchor(&self, _cx: &ScanContext<'_>, pos: usize, tag: u32, _sink: &mut Sink) {
        self.hits.lock().unwrap().push((pos, tag));
    }
}

fn anchors_x() -> Vec<Vec<u8>> {
    vec![
        b"-----BEGIN ".to_vec(),
        b"--BEGIN".to_vec(),              // overlaps the end of the first
        b"\x02\x01\x00\x02\x82".to_vec(), // DER-like
        b"\x02\x01\x00".to_vec(),         // a prefix of it
        b"\x00\x02\x82".to_vec(),         // starts inside it
    ]
}

fn anchors_y() -> Vec<Vec<u8>> {
    // Another detector: a duplicate of one of X's anchors, a suffix of another, and one that
    // starts one byte after X's DER-like anchors.
    vec![
        b"\x02\x01\x00".to_vec(),
        b"BEGIN".to_vec(),
        b"\x01\x00\x02".to_vec(),
    ]
}

/// Ten chunks and a bit (more than the hash and the workers may drift apart, so a mapped
/// scan exercises page release and pacing), with anchors around the first boundaries.
fn input() -> Vec<u8> {
    let n = 10 * CHUNK_SIZE + 4096;
    let mut d = vec![0xAAu8; n];
    let mut put = |at: usize, b: &[u8]| d[at..at + b.len()].copy_from_slice(b);
    put(0, b"\x02\x01\x00");
    // Straddles the first boundary: starts 3 bytes before it.
    put(CHUNK_SIZE - 3, b"\x02\x01\x00\x02\x82");
    // Self-overlapping repeats right after it.
    put(
        CHUNK_SIZE + 100,
        b"\x02\x01\x00\x02\x82\x02\x01\x00\x02\x82",
    );
    // "-----BEGIN " whose "BEGIN" starts exactly on the second boundary.
    put(2 * CHUNK_SIZE - 5, b"-----BEGIN ");
    put(9 * CHUNK_SIZE - 1, b"\x02\x01\x00\x02\x82");
    put(n - 3, b"\x00\x02\x82");
    d
}

/// Every (position, tag) of every anchor, overlapping ones included, one anchor at a time.
fn expected(data: &[u8], anchors: &[Vec<u8>]) -> HitList {
    let mut v = Vec::new();
    for (tag, a) in anchors.iter().enumerate() {
        let finder = memchr::memmem::Finder::new(a);
        let mut from = 0;
        while let Some(p) = data.get(from..).and_then(|d| finder.find(d)) {
            v.push((from + p, tag as u32));
            from += p + 1;
        }
    }
    v.sort_unstable();
    v
}

/// Scans with `threads` workers; the hits of both detectors and the input hash in `alg` (the
/// report holds only that one).
fn scan(dump: &Dump<'_>, threads: usize, alg: InputHash) -> (HitList, HitList, String) {
    let (hx, hy): (Hits, Hits) = Default::default();
    let engine = Engine::with_detectors(vec![
        Box::new(Recorder {
            name: "x",
            anchors: anchors_x(),
            hits: hx.clone(),
        }),
        Box::new(Recorder {
            name: "y",
            anchors: anchors_y(),
            hits: hy.clone(),
        }),
    ]);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let limits = Limits {
        input_hash: alg,
        ..Limits::default()
    };
    let outcome = pool.install(|| engine.scan(dump, &[], &limits, &|_| {}));
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(outcome.scanned_bytes, dump.data().len() as u64);
    let sorted = |h: Hits| {
        let mut v = h.lock().unwrap().clone();
        v.sort_unstable();
        v
    };
    let (hash, other) = match alg {
        InputHash::Blake3 => (outcome.blake3, outcome.sha256),
        InputHash::Sha256 => (outcome.sha256, outcome.blake3),
    };
    assert!(other.is_empty(), "only the {alg:?} hash is computed");
    (sorted(hx), sorted(hy), hash)
}

fn check(dump: &Dump<'_>, data: &[u8]) {
    let (want_x, want_y) = (expected(data, &anchors_x()), expected(data, &anchors_y()));
    assert!(
        want_x.len() >= 12 && want_y.len() >= 8,
        "the input plants enough anchors"
    );
    let b3 = blake3::hash(data).to_hex().to_string();
    let (_, _, sha) = scan(dump, 2, InputHash::Sha256);
    assert_eq!(sha, hex::encode(Sha256::digest(data)), "SHA-256 input hash");
    for threads in [1, 2, 4] {
        let (x, y, hash) = scan(dump, threads, InputHash::Blake3);
        assert_eq!(x, want_x, "detector x, {threads} threads");
        assert_eq!(y, want_y, "detector y, {threads} threads");
        assert_eq!(hash, b3, "input hash, {threads} threads");
        // Spelled out: the anchor across the first boundary is reported once, not twice
        // (both chunks see it) and not zero times (neither holds all of it).
        let straddling = x.iter().filter(|&&h| h == (CHUNK_SIZE - 3, 2)).count();
        assert_eq!(straddling, 1);
        assert_eq!(y.iter().filter(|&&h| h == (2 * CHUNK_SIZE, 1)).count(), 1);
    }
}

#[test]
fn every_anchor_once_across_chunk_boundaries_in_memory() {
    let data = input();
    check(&Dump::from_slice(&data), &data);
}

#[test]
fn every_anchor_once_across_chunk_boundaries_memory_mapped() {
    let data = input();
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&data).unwrap();
    f.flush().unwrap();
    let dump = Dump::open(f.path()).unwrap();
    check(&dump, &data);
}

#[test]
fn empty_and_tiny_inputs() {
    for data in [&b""[..], b"\x02\x01\x00", b"--BEGIN"] {
        let (x, y, hash) = scan(&Dump::from_slice(data), 2, InputHash::Blake3);
        assert_eq!(x, expected(data, &anchors_x()));
        assert_eq!(y, expected(data, &anchors_y()));
        assert_eq!(hash, blake3::hash(data).to_hex().to_string());
        let (_, _, sha) = scan(&Dump::from_slice(data), 2, InputHash::Sha256);
        assert_eq!(sha, hex::encode(Sha256::digest(data)));
    }
}
