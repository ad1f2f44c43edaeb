//! The speed floor for the peer benchmark (`scripts/bench-peer.py`, README "Benchmark"): map
//! a file and search it for the PEM marker with `memchr::memmem` on every core, nothing else.
//! No scanner reading every byte can beat this on the same machine, so it shows how much of
//! a scanner's time is the input itself. Prints one JSON line: wall seconds (mapping
//! included), hits, and the process's peak RSS.

use std::time::Instant;

fn main() {
    // Without a file (`cargo test --benches`), a smoke run over this executable.
    let path = std::env::args_os()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with("--"))
        .unwrap_or_else(|| std::env::current_exe().expect("own path").into());
    let started = Instant::now();
    let file = std::fs::File::open(&path).expect("open");
    // SAFETY: read-only map of a file nobody writes while the benchmark runs.
    let map = unsafe { memmap2::Mmap::map(&file) }.expect("mmap");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let part = map.len().div_ceil(threads).max(1);
    let finder = memchr::memmem::Finder::new(b"-----BEGIN");
    let hits: usize = std::thread::scope(|s| {
        let workers: Vec<_> = map
            .chunks(part)
            .map(|c| s.spawn(|| finder.find_iter(c).count()))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let wall = started.elapsed().as_secs_f64();
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    println!(
        "{{\"wall_s\":{wall},\"hits\":{hits},\"threads\":{threads},\"maxrss_kb\":{}}}",
        usage.ru_maxrss
    );
}
