//! Times a first sweep (fresh state) and no-op sweeps (nothing changed) of a tree, spawning
//! the release binary directly: a no-op sweep of a few hundred dumps takes a few
//! milliseconds, so a shell's fork and redirections around it would be a fifth of what is
//! measured. Used by `scripts/bench-sweep.sh --tree DIR`.
//!
//! Usage: cargo run --release --example time_sweep -- DUMPGUARD_BINARY TREE

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Milliseconds one `dumpguard sweep` of `tree` with state `state` takes, spawn to exit.
fn sweep(bin: &Path, tree: &Path, state: &Path, out: &Path) -> f64 {
    let t = Instant::now();
    let st = Command::new(bin)
        .arg("sweep")
        .arg(tree)
        .arg("--state")
        .arg(state)
        .arg("--out")
        .arg(out)
        .args(["--format", "json", "-q"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run dumpguard");
    let ms = t.elapsed().as_secs_f64() * 1e3;
    // 0: clean, 1: findings, 2: some entry could not be read; anything else is a failure.
    assert!(matches!(st.code(), Some(0..=2)), "sweep failed: {st}");
    ms
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [bin, tree] = args.as_slice() else {
        eprintln!("usage: time_sweep DUMPGUARD_BINARY TREE");
        std::process::exit(2);
    };
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out.jsonl");
    let first: Vec<f64> = (0..7)
        .map(|i| {
            sweep(
                bin,
                tree,
                &work.path().join(format!("fresh{i}.sqlite")),
                &out,
            )
        })
        .collect();
    let state = work.path().join("state.sqlite");
    sweep(bin, tree, &state, &out);
    let second = sweep(bin, tree, &state, &out);
    let noop: Vec<f64> = (0..21).map(|_| sweep(bin, tree, &state, &out)).collect();
    let (first, noop) = (median(first), median(noop));
    println!("first sweep (fresh state), median of 7 : {first:8.1} ms");
    println!(
        "second sweep (unchanged tree)          : {second:8.1} ms  ({:.1}x faster)",
        first / second
    );
    println!(
        "no-op sweeps, median of 21             : {noop:8.1} ms  ({:.1}x faster)",
        first / noop
    );
}
