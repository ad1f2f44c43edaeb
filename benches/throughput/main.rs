//! dumpguard throughput benchmark (README "Benchmark").
//!
//! `cargo bench --bench throughput -- --size 1G`
//!
//! Generates, deterministically from `--seed`, a dump of the given size in a real container
//! format (default: a Windows-style full-memory minidump) whose memory mixes zero pages,
//! high-entropy bytes, pages of the system's shared libraries, pointer-heavy heap, ASCII and
//! UTF-16LE text, with fresh test keys planted in DER, PEM, UTF-16LE PEM and bare base64,
//! two of them across scan-chunk boundaries. It then runs the release `dumpguard` binary on
//! it as a child process, `--runs` times, and reports wall time, MB/s, CPU time and peak RSS,
//! checks that every planted key was found, at its offset, verified, with the right
//! fingerprint (exit status 1 otherwise), and scans one single-kind file per content kind for
//! a per-kind throughput table. The last line is a JSON summary for machines.
//!
//! Without `--bench` (i.e. under `cargo test --benches`), it does a small smoke run unless a
//! size is given, so the benchmark itself stays tested.

mod child;
mod container;
mod content;
mod generate;
mod keys;

use clap::Parser;
use container::Container;
use content::{Kind, Sources};
use serde_json::{json, Value};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "dumpguard throughput benchmark")]
struct Args {
    /// Memory bytes in the dump: 1G, 4G, 512M (binary units). Default 1G (24M for a smoke run).
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// Seed for content and keys: the same seed gives the same dump.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Container format of the dump.
    #[arg(long, value_enum, default_value = "minidump")]
    format: Container,
    /// Timed scans of the dump; the fastest is the headline, all are printed.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Size of each single-kind file for the per-kind table; 0 skips it. Default 256M.
    #[arg(long, value_parser = parse_size)]
    per_kind_size: Option<u64>,
    /// Where the temporary directory is created (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also time each detector family against the core key scan, and the gate against a plain
    /// scan, on the same dump (best of `--runs` each); and the RSA factor search alone on
    /// 256 MiB of random bytes with one known 2048-bit modulus.
    #[arg(long)]
    profiles: bool,
    /// Keep the generated files and print where they are.
    #[arg(long)]
    keep: bool,
    /// The scanner binary (default: the one cargo built for this benchmark).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Set by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().trim_end_matches("iB").trim_end_matches('B');
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (
            &t[..i],
            match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix in '{s}'")),
            },
        ),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| format!("bad size '{s}'"))?;
    Ok((n * mult as f64) as u64)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn main() -> ExitCode {
    let args = Args::parse();
    let smoke = !args.bench && args.size.is_none();
    let size = args.size.unwrap_or(if smoke { 24 << 20 } else { 1 << 30 });
    let runs = if smoke { 1 } else { args.runs.max(1) };
    let per_kind = args
        .per_kind_size
        .unwrap_or(if smoke { 1 << 20 } else { 256 << 20 });
    let bin = args
        .bin
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_dumpguard")));
    match run(&args, size, runs, per_kind, &bin) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("benchmark error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args, size: u64, runs: usize, per_kind: u64, bin: &Path) -> std::io::Result<bool> {
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::Builder::new()
        .prefix("dumpguard-bench-")
        .tempdir_in(&parent)?;
    println!("dumpguard throughput benchmark");
    println!("  binary: {}", bin.display());
    println!(
        "  seed {}, {} runs, container {:?}",
        args.seed, runs, args.format
    );

    let t = Instant::now();
    let sources = Sources::load();
    let keys = keys::generate(args.seed);
    println!(
        "  sources: {:.0} MiB in {} shared libraries, {} public certificates; {} test keys generated in {:.1}s",
        mib(sources.libraries.pages * content::PAGE as u64),
        sources.libraries.files(),
        sources.certificates.len(),
        keys.len(),
        t.elapsed().as_secs_f64()
    );

    let ext = match args.format {
        Container::Minidump => "dmp",
        Container::Elf => "core",
        Container::Raw => "raw",
    };
    let path = tmp.path().join(format!("bench-{}.{ext}", args.seed));
    let t = Instant::now();
    let chunk = dumpguard::CHUNK_SIZE as u64;
    let spec = generate::Spec {
        memory: size,
        seed: args.seed,
        container: args.format,
        only: None,
        chunk,
    };
    let written = generate::dump(&path, &spec, &sources, &keys)?;
    let total = written.file_size;
    println!(
        "  generated {} ({:.0} MiB, {} memory ranges) in {:.1}s",
        path.display(),
        mib(total),
        written.ranges,
        t.elapsed().as_secs_f64()
    );
    for (kind, bytes) in &written.composition {
        println!(
            "    {:>5.1}%  {:11} {}",
            *bytes as f64 * 100.0 / total as f64,
            kind.name(),
            kind.describe()
        );
    }
    warm(&path)?;
    println!(
        "  this process's peak RSS: {:.1} MiB (a child's ru_maxrss starts from it, so it is a floor for the figures below)",
        own_peak_rss().map_or(f64::NAN, mib)
    );

    let mut ok = true;
    let mut results: Vec<child::Measured> = Vec::new();
    for i in 0..runs {
        let m = child::scan(bin, &path)?;
        let mb_s = total as f64 / m.wall.as_secs_f64() / 1e6;
        println!(
            "  run {}: {:.3}s wall, {:.0} MB/s, {:.2}s CPU, peak RSS {:.1} MiB, exit {:?}",
            i + 1,
            m.wall.as_secs_f64(),
            mb_s,
            m.cpu.as_secs_f64(),
            mib(m.max_rss_bytes),
            m.exit_code
        );
        if i == 0 {
            ok &= check(&m, &written, args.format);
        } else if without_timings(&m.stdout) != without_timings(&results[0].stdout) {
            ok = false;
            println!("  CHECK FAILED: the report differs from run 1 (timings aside)");
        }
        results.push(m);
    }
    if runs > 1 && ok {
        println!("    reports of all {runs} runs identical, timings aside");
    }

    let mut per_kind_rows = Vec::new();
    if per_kind > 0 {
        println!(
            "  per content kind ({:.0} MiB raw files, best of {}):",
            mib(per_kind),
            runs.min(2)
        );
        for kind in Kind::ALL {
            let p = tmp.path().join(format!("kind-{}.raw", kind.name()));
            let spec = generate::Spec {
                memory: per_kind,
                seed: args.seed,
                container: Container::Raw,
                only: Some(kind),
                chunk,
            };
            let w = generate::dump(&p, &spec, &sources, &[])?;
            warm(&p)?;
            let best = (0..runs.min(2))
                .map(|_| child::scan(bin, &p))
                .collect::<std::io::Result<Vec<_>>>()?
                .into_iter()
                .min_by_key(|m| m.wall)
                .expect("at least one run");
            let mb_s = w.file_size as f64 / best.wall.as_secs_f64() / 1e6;
            println!(
                "    {:11} {:6.0} MB/s  {:.2}s CPU  peak RSS {:.1} MiB",
                kind.name(),
                mb_s,
                best.cpu.as_secs_f64(),
                mib(best.max_rss_bytes)
            );
            per_kind_rows.push((kind.name(), mb_s));
            if !args.keep {
                std::fs::remove_file(&p)?;
            }
        }
    }

    let profile_rows = if args.profiles {
        profiles(bin, &path, total, runs, tmp.path())?
    } else {
        Vec::new()
    };

    let best = results.iter().min_by_key(|m| m.wall).expect("runs ≥ 1");
    let mut walls: Vec<f64> = results.iter().map(|m| m.wall.as_secs_f64()).collect();
    walls.sort_by(f64::total_cmp);
    let median = walls[walls.len() / 2];
    let peak = results.iter().map(|m| m.max_rss_bytes).max().unwrap_or(0);
    let best_mb_s = total as f64 / best.wall.as_secs_f64() / 1e6;
    println!(
        "  RESULT {:.0} MiB in {:.3}s: {:.0} MB/s (median {:.0} MB/s), {:.2}s CPU, peak RSS {:.1} MiB, planted keys {}",
        mib(total),
        best.wall.as_secs_f64(),
        best_mb_s,
        total as f64 / median / 1e6,
        best.cpu.as_secs_f64(),
        mib(peak),
        if ok { "all found and verified" } else { "CHECK FAILED" },
    );
    let summary = json!({
        "benchmark": "dumpguard-throughput",
        "container": format!("{:?}", args.format).to_lowercase(),
        "seed": args.seed,
        "size_bytes": total,
        "runs": runs,
        "best_wall_s": best.wall.as_secs_f64(),
        "best_mb_s": best_mb_s,
        "median_mb_s": total as f64 / median / 1e6,
        "cpu_s": best.cpu.as_secs_f64(),
        "peak_rss_mib": mib(peak),
        "planted_keys": written.placements.len(),
        "ok": ok,
        "profiles_mb_s": profile_rows.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "per_kind_mb_s": per_kind_rows.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
    });
    println!("{summary}");

    if args.keep {
        println!("  kept {}", tmp.keep().display());
    }
    Ok(ok)
}

/// Best wall time of `runs` runs of `bin ARGS`.
fn best_of(bin: &Path, args: &[OsString], runs: usize) -> std::io::Result<child::Measured> {
    let mut best: Option<child::Measured> = None;
    for _ in 0..runs {
        let m = child::run(bin, args)?;
        if !matches!(m.exit_code, Some(0 | 1)) {
            return Err(std::io::Error::other(format!(
                "{args:?} exited {:?}: {}",
                m.exit_code,
                String::from_utf8_lossy(&m.stderr)
            )));
        }
        if best.as_ref().map_or(true, |b| m.wall < b.wall) {
            best = Some(m);
        }
    }
    Ok(best.expect("runs ≥ 1"))
}

/// Each detector family priced against the core key scan (`--detectors keys`), the gate
/// against a plain scan of the same dump, and the factor search on random bytes.
fn profiles(
    bin: &Path,
    dump: &Path,
    total: u64,
    runs: usize,
    dir: &Path,
) -> std::io::Result<Vec<(String, f64)>> {
    let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
    let scan = |families: Option<&str>| {
        let mut a = os(&["scan", "--format", "json", "-q"]);
        if let Some(f) = families {
            a.extend(os(&["--detectors", f]));
        }
        a.push(dump.into());
        a
    };
    let mut gate = os(&["gate", "-q"]);
    gate.push(dump.into());
    // The dump's own RSA moduli are all trust-store roots, which the full factor search
    // skips; one known modulus makes it run over every window of the dump.
    let known = dir.join("known-2048.pem");
    std::fs::write(&known, keys::public_pem_2048())?;
    let mut raw_known = scan(Some("keys,raw"));
    raw_known.insert(raw_known.len() - 1, "--known-keys".into());
    raw_known.insert(raw_known.len() - 1, known.clone().into());
    let rows: [(&str, Vec<OsString>); 7] = [
        ("keys (core)", scan(Some("keys"))),
        ("keys+wrappers", scan(Some("keys,wrappers"))),
        ("keys+raw", scan(Some("keys,raw"))),
        ("keys+raw+known", raw_known),
        ("keys+tokens", scan(Some("keys,tokens"))),
        ("all (scan)", scan(None)),
        ("gate", gate),
    ];
    println!("  detector families on the same dump (best of {runs}):");
    let mut out = Vec::new();
    let mut core = f64::NAN;
    let mut all = f64::NAN;
    for (name, a) in rows {
        let m = best_of(bin, &a, runs)?;
        let secs = m.wall.as_secs_f64();
        if name == "keys (core)" {
            core = secs;
        }
        if name == "all (scan)" {
            all = secs;
        }
        let vs = if name == "gate" {
            format!("{:+.1}% vs all (scan)", (secs / all - 1.0) * 100.0)
        } else {
            format!("{:.2}x core time", secs / core)
        };
        let mb_s = total as f64 / secs / 1e6;
        println!(
            "    {name:14} {secs:7.3}s  {mb_s:6.0} MB/s  {:.2}s CPU  peak RSS {:.1} MiB  {vs}",
            m.cpu.as_secs_f64(),
            mib(m.max_rss_bytes)
        );
        out.push((name.to_string(), mb_s));
    }

    // The factor search alone: random bytes, one known 2048-bit modulus.
    let random = dir.join("factor-random.raw");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&random)?);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut buf = vec![0u8; 1 << 20];
        for _ in 0..256 {
            for w in buf.chunks_exact_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                w.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all(&buf)?;
        }
    }
    let mut a = os(&[
        "scan",
        "--format",
        "json",
        "-q",
        "--detectors",
        "raw",
        "--known-keys",
    ]);
    a.push(known.into());
    a.push(random.clone().into());
    let m = best_of(bin, &a, runs)?;
    let mb_s = (256u64 << 20) as f64 / m.wall.as_secs_f64() / 1e6;
    let findings = serde_json::from_slice::<Value>(&m.stdout)
        .ok()
        .and_then(|v| v["findings"].as_array().map(Vec::len))
        .unwrap_or(usize::MAX);
    println!(
        "    factor search, 256 MiB random + one known 2048-bit modulus: {:.3}s, {mb_s:.0} MB/s, {findings} findings",
        m.wall.as_secs_f64()
    );
    out.push(("raw on random with a known modulus".into(), mb_s));
    std::fs::remove_file(&random)?;
    Ok(out)
}

/// The report with its timing fields removed (docs/design.md: same input, same report).
fn without_timings(report: &[u8]) -> Option<Value> {
    let mut v: Value = serde_json::from_slice(report).ok()?;
    let summary = v.get_mut("summary")?.as_object_mut()?;
    summary.remove("elapsed_ms");
    summary.remove("bytes_per_second");
    Some(v)
}

/// VmHWM of this process.
fn own_peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Reads the file once so every timed run sees a warm page cache.
fn warm(path: &Path) -> std::io::Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}

/// Every planted key must be reported at its offset, verified, with its fingerprint.
fn check(m: &child::Measured, written: &generate::Written<'_>, container: Container) -> bool {
    if !matches!(m.exit_code, Some(0 | 1)) {
        println!(
            "  CHECK FAILED: scanner exited {:?}: {}",
            m.exit_code,
            String::from_utf8_lossy(&m.stderr)
        );
        return false;
    }
    let report: Value = match serde_json::from_slice(&m.stdout) {
        Ok(v) => v,
        Err(e) => {
            println!("  CHECK FAILED: report is not JSON: {e}");
            return false;
        }
    };
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let mut ok = report["input"]["complete"] == json!(true);
    if !ok {
        println!(
            "  CHECK FAILED: scan incomplete: {}",
            report["input"]["warnings"]
        );
    }
    let format = match container {
        Container::Minidump => "minidump",
        Container::Elf => "elf-core",
        Container::Raw => "raw",
    };
    let input = &report["input"];
    let parsed =
        container == Container::Raw || input["regions"].as_u64() >= Some(written.ranges as u64);
    if input["format"] != json!(format)
        || input["scanned_bytes"] != json!(written.file_size)
        || !parsed
    {
        ok = false;
        println!(
            "  CHECK FAILED: expected a complete {format} with {} memory ranges and {} bytes scanned; \
             the report says {} with {} regions and {} bytes scanned",
            written.ranges,
            written.file_size,
            input["format"],
            input["regions"],
            input["scanned_bytes"]
        );
    }
    let mut expected = Vec::new();
    for p in &written.placements {
        let at = p.finding_offset();
        expected.push(at);
        let hit = findings.iter().find(|f| {
            f["offset"] == json!(at)
                && f["fingerprint"] == json!(p.key.fingerprint)
                && f["verified"] == json!(true)
                && f["encoding"] == json!(p.key.encoding)
        });
        let place = match p.straddles {
            Some(b) => format!("{at:#x}, anchor across chunk boundary {b:#x}"),
            None => format!("{at:#x}"),
        };
        match hit {
            Some(_) => println!("    found   {} at {place}", p.key.what),
            None => {
                ok = false;
                println!("    MISSING {} at {place} ({})", p.key.what, p.key.encoding);
                for f in findings.iter().filter(|f| {
                    f["offset"]
                        .as_u64()
                        .is_some_and(|o| o.abs_diff(at) < 1 << 16)
                }) {
                    println!(
                        "            nearby: offset {} {} {} {} {}",
                        f["offset"], f["detector"], f["encoding"], f["status"], f["verification"]
                    );
                }
            }
        }
    }
    let extra: Vec<&Value> = findings
        .iter()
        .filter(|f| f["verified"] == json!(true))
        .filter(|f| !f["offset"].as_u64().is_some_and(|o| expected.contains(&o)))
        .collect();
    if !extra.is_empty() {
        println!(
            "    note: {} verified finding(s) that were not planted (keys inside system libraries?):",
            extra.len()
        );
        for f in extra {
            println!(
                "            offset {} {} {}",
                f["offset"], f["detector"], f["fingerprint"]
            );
        }
    }
    ok
}
