//! Issue 7, the nightly sweep, end to end on a generated share of 200+ entries (see
//! `sweeptree`): every entry accounted for, planted keys found where they were planted (also
//! inside gzip/xz/zstd, zip, CAB and tar, and nested), a second run that scans nothing, a touched
//! file rescanned alone, resolved and gone findings, shards whose union is the whole sweep,
//! and a sweep killed with SIGKILL at random moments that still ends with identical results.
//!
//! The sweep runs as the built binary. As root (CI), it runs without
//! CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH so that the mode-000 file really is unreadable.

use crate::common;
use crate::sweeptree;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;
use sweeptree::Tree;

fn tree() -> &'static Tree {
    static T: OnceLock<Tree> = OnceLock::new();
    T.get_or_init(sweeptree::build)
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// `dumpguard sweep ARGS`, without the DAC override capabilities when run as root: this
/// thread drops them from its capability bounding set (what `setpriv --bounding-set` does),
/// which the processes it starts inherit and which takes them from an exec'd root process.
/// This thread keeps its own capabilities; only what it runs loses them.
fn sweep_cmd(args: &[&str]) -> Command {
    if is_root() {
        // CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (linux/capability.h).
        for cap in [1, 2] {
            // SAFETY: a plain prctl on the calling thread.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
        }
    }
    let mut c = Command::new(env!("CARGO_BIN_EXE_dumpguard"));
    c.args(args).stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    sweep_cmd(args).output().expect("run dumpguard")
}

/// A sweep of `root` with state and JSON Lines; returns (exit code, summary JSON, lines).
fn sweep(root: &Path, state: &Path, out: &Path, extra: &[&str]) -> (i32, Value, Vec<Value>) {
    timed_sweep(root, state, out, extra).1
}

/// [`sweep`], with how long the sweep process ran (from spawn to exit, without the reading
/// of its outputs here).
fn timed_sweep(
    root: &Path,
    state: &Path,
    out: &Path,
    extra: &[&str],
) -> (std::time::Duration, (i32, Value, Vec<Value>)) {
    let mut args = vec![
        "sweep",
        root.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
        "-q",
    ];
    args.extend_from_slice(extra);
    let t = Instant::now();
    let o = run(&args);
    let took = t.elapsed();
    let code = o.status.code().expect("exited");
    assert!(
        code == 0 || code == 1 || code == 2,
        "sweep crashed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "summary JSON: {e}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (took, (code, summary, read_lines(out)))
}

fn read_lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// A line without what legitimately differs between runs: timings, timestamps, the run id,
/// the root directory.
fn normalize(v: &Value, root: &Path) -> String {
    let mut v = v.clone();
    if let Some(s) = v.get_mut("summary").and_then(Value::as_object_mut) {
        s.remove("elapsed_ms");
        s.remove("bytes_per_second");
    }
    if let Some(s) = v.get_mut("sweep").and_then(Value::as_object_mut) {
        s.remove("scanned_at");
        for key in ["findings", "resolved"] {
            if let Some(a) = s.get_mut(key).and_then(Value::as_array_mut) {
                for f in a {
                    let f = f.as_object_mut().unwrap();
                    f.remove("first_seen");
                    f.remove("last_seen");
                    f.remove("resolved_at");
                }
            }
        }
    }
    serde_json::to_string(&v)
        .unwrap()
        .replace(root.to_str().unwrap(), "<root>")
}

fn normalized(lines: &[Value], root: &Path) -> Vec<String> {
    lines.iter().map(|l| normalize(l, root)).collect()
}

fn by_path(lines: &[Value]) -> BTreeMap<String, &Value> {
    lines
        .iter()
        .map(|l| (l["input"]["path"].as_str().unwrap().to_string(), l))
        .collect()
}

fn count(summary: &Value, status: &str) -> u64 {
    summary["by_status"][status].as_u64().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let d = common::scratch().join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_entry_is_accounted_for_and_planted_keys_are_found() {
    let t = tree();
    let copy = sweeptree::copy(t);
    let root = std::fs::canonicalize(copy.path()).unwrap();
    let work = scratch("accounted");
    let out = work.join("out.jsonl");
    let html = work.join("report.html");
    let o = run(&[
        "sweep",
        root.to_str().unwrap(),
        "--state",
        work.join("state.sqlite").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "-v",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    // Failed and incomplete entries outrank findings, as for `scan`.
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let lines = read_lines(&out);
    let entries = sweeptree::all_entries(&root);
    assert!(entries.len() >= 200, "only {} entries", entries.len());

    // Every directory entry appears in the output, and nothing else does.
    let files: BTreeSet<String> = lines
        .iter()
        .map(|l| l["sweep"]["file"].as_str().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> = entries
        .iter()
        .map(|e| root.join(e).to_str().unwrap().to_string())
        .collect();
    assert_eq!(files, expected);
    for l in &lines {
        assert_eq!(l["schema"], "dumpguard.report/v1");
    }

    let dumps = by_path(&lines);
    let name = |rel: &str| format!("{}/{rel}", root.display());
    for (unit, fps) in &t.keyed {
        let r = dumps
            .get(&name(unit))
            .unwrap_or_else(|| panic!("no report for {unit}"));
        for fp in fps {
            assert!(
                r["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["verified"] == true && f["fingerprint"] == fp.as_str()),
                "{unit}: key {fp} not found verified: {}",
                r["findings"]
            );
        }
        let states = r["sweep"]["findings"].as_array().unwrap();
        assert!(!states.is_empty() && states.iter().all(|s| s["new"] == true));
    }
    for unit in &t.clean {
        let r = dumps
            .get(&name(unit))
            .unwrap_or_else(|| panic!("no report for {unit}"));
        assert_eq!(r["findings"], serde_json::json!([]), "{unit}");
        assert_eq!(
            r["input"]["complete"], true,
            "{unit}: {}",
            r["input"]["warnings"]
        );
    }
    for unit in &t.truncated {
        let r = dumps[&name(unit)];
        assert_eq!(r["input"]["complete"], false, "{unit} should be incomplete");
    }
    let corrupt = dumps[&name("odd/corrupt.dmp.gz")];
    assert!(corrupt["input"]["warnings"]
        .to_string()
        .contains("could not be read as gzip"));
    // Members are attributed as archive!member, with file and member split out.
    let nested = dumps[&name("archives/bundle4.zip!nested/inner.core.gz!inner.core")];
    assert_eq!(nested["sweep"]["file"], name("archives/bundle4.zip"));
    assert_eq!(nested["sweep"]["member"], "nested/inner.core.gz!inner.core");
    assert_eq!(nested["input"]["format"], "elf-core");

    let un = dumps[&name(&t.unreadable)];
    assert_eq!(un["sweep"]["status"], "failed");
    assert!(
        un["sweep"]["reason"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{}",
        un["sweep"]
    );
    for (rel, why) in &t.skipped {
        let r = dumps[&name(rel)];
        assert_eq!(r["sweep"]["status"], "skipped", "{rel}");
        assert!(
            r["sweep"]["reason"].as_str().unwrap().contains(why),
            "{rel}: {}",
            r["sweep"]
        );
    }

    // Outputs are private and hold no secret in any encoding.
    use std::os::unix::fs::PermissionsExt;
    for p in [&out, &html] {
        assert_eq!(
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let bytes = std::fs::read(p).unwrap();
        for s in &t.secrets {
            common::assert_no_secret(&bytes, s);
        }
    }
    for s in &t.secrets {
        common::assert_no_secret(&o.stdout, s);
        common::assert_no_secret(&o.stderr, s);
    }
    // -v: one line per entry that was scanned, skipped or failed.
    assert!(stderr.contains(&format!("failed {}", name(&t.unreadable))));
    assert!(stderr.contains(&format!("skipped {}", name("odd/pipe.dmp"))));
    assert!(stderr.contains(&format!("scanned {}", name("wer/Report0.cab"))));
}

#[test]
fn second_run_scans_nothing_touch_rescans_one_and_changes_resolve() {
    let t = tree();
    let copy = sweeptree::copy(t);
    let root = std::fs::canonicalize(copy.path()).unwrap();
    let work = scratch("incremental");
    let state = work.join("state.sqlite");
    let out = work.join("out.jsonl");

    let (first, (_, s1, l1)) = timed_sweep(&root, &state, &out, &[]);
    let scanned1 = count(&s1, "scanned");
    assert!(scanned1 >= 200, "{s1}");
    assert!(s1["secrets"]["new"].as_u64().unwrap() > 40);

    let (second, (_, s2, l2)) = timed_sweep(&root, &state, &out, &[]);
    // Two more no-op sweeps, for a best-of-three beside the single second run.
    let best = (0..2)
        .map(|_| timed_sweep(&root, &state, &out, &[]).0)
        .fold(second, std::cmp::min);
    // Measured, not asserted (timing is the benchmark's job), and only meaningful when this
    // test runs alone: `cargo test --release --test it sweep::second_run -- --nocapture`.
    eprintln!(
        "first sweep {first:?}, second sweep {second:?} ({:.0}x), best no-op sweep of 3 {best:?} ({:.0}x)",
        first.as_secs_f64() / second.as_secs_f64(),
        first.as_secs_f64() / best.as_secs_f64()
    );
    assert_eq!(count(&s2, "scanned"), 0, "{s2}");
    assert_eq!(s2["run"]["bytes_scanned"], 0);
    assert_eq!(count(&s2, "unchanged"), scanned1);
    // The unreadable entry is retried every run.
    assert_eq!(count(&s2, "failed"), 1);
    assert_eq!(s2["secrets"]["new"], 0);
    assert_eq!(s2["secrets"]["known"], s1["secrets"]["new"]);
    // Same reports; only the status and the new flags differ.
    let strip = |lines: &[Value]| -> Vec<String> {
        normalized(lines, &root)
            .into_iter()
            .map(|l| {
                l.replace("\"status\":\"unchanged\"", "\"status\":\"scanned\"")
                    .replace("\"new\":false", "\"new\":true")
            })
            .collect()
    };
    assert_eq!(strip(&l1), strip(&l2));

    // Touch one file: it alone is rescanned.
    let touched = root.join("teamB/host1/crash-001.dmp");
    let f = std::fs::File::options().write(true).open(&touched).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(f);
    let (_, s3, l3) = sweep(&root, &state, &out, &[]);
    assert_eq!(count(&s3, "scanned"), 1, "{s3}");
    let rescanned: Vec<&str> = l3
        .iter()
        .filter(|l| l["sweep"]["status"] == "scanned")
        .map(|l| l["sweep"]["file"].as_str().unwrap())
        .collect();
    assert_eq!(rescanned, [touched.to_str().unwrap()]);

    // Same size and mtime, different content: only --rehash notices.
    let keyed = "teamA/host0/crash-000.img";
    let fp = &t.keyed[keyed][0];
    let p = root.join(keyed);
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    let len = std::fs::metadata(&p).unwrap().len() as usize;
    let mut rng = sweeptree::Rng::new(99);
    std::fs::write(&p, sweeptree::filler(&mut rng, len)).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (_, s4, _) = sweep(&root, &state, &out, &[]);
    assert_eq!(count(&s4, "scanned"), 0);
    assert_eq!(s4["secrets"]["resolved"], 0);

    // And delete a keyed dump: its secrets are resolved, the entry is reported gone.
    let deleted = "teamC/host0/crash-000.core";
    std::fs::remove_file(root.join(deleted)).unwrap();
    let (_, s5, l5) = sweep(&root, &state, &out, &["--rehash"]);
    assert_eq!(count(&s5, "scanned"), 1, "{s5}");
    assert_eq!(count(&s5, "gone"), 1, "{s5}");
    assert_eq!(s5["secrets"]["resolved"], 2, "{s5}");
    let m = by_path(&l5);
    let changed = m[&format!("{}/{keyed}", root.display())];
    assert_eq!(changed["findings"], serde_json::json!([]));
    assert_eq!(changed["sweep"]["resolved"][0]["fingerprint"], fp.as_str());
    let gone = m[&format!("{}/{deleted}", root.display())];
    assert_eq!(gone["sweep"]["status"], "gone");
    assert_eq!(
        gone["sweep"]["resolved"][0]["fingerprint"],
        t.keyed[deleted][0].as_str()
    );

    // Resolved is reported once: the next run has nothing resolved and nothing gone.
    let (_, s6, _) = sweep(&root, &state, &out, &[]);
    assert_eq!(s6["secrets"]["resolved"], 0);
    assert_eq!(count(&s6, "gone"), 0);
    assert_eq!(count(&s6, "scanned"), 0);
}

#[test]
fn shards_cover_the_tree_exactly_once_and_merge_to_the_whole() {
    let t = tree();
    let copy = sweeptree::copy(t);
    let root = std::fs::canonicalize(copy.path()).unwrap();
    let work = scratch("shards");
    let (_, whole_summary, whole) = sweep(
        &root,
        &work.join("all.sqlite"),
        &work.join("all.jsonl"),
        &[],
    );
    let mut outs = Vec::new();
    let mut union: Vec<String> = Vec::new();
    let mut files_seen = BTreeMap::new();
    for k in 1..=4 {
        let out = work.join(format!("shard-{k}.jsonl"));
        let shard = format!("{k}/4");
        let (_, s, lines) = sweep(
            &root,
            &work.join(format!("shard-{k}.sqlite")),
            &out,
            &["--shard", &shard],
        );
        assert!(
            s["entries"].as_u64().unwrap() > 20,
            "shard {k} is nearly empty: {s}"
        );
        for l in &lines {
            let f = l["sweep"]["file"].as_str().unwrap().to_string();
            let prev = files_seen.insert(f.clone(), k);
            assert!(
                prev.is_none() || prev == Some(k),
                "{f} in shards {prev:?} and {k}"
            );
        }
        union.extend(normalized(&lines, &root));
        outs.push(out);
    }
    let mut whole_n = normalized(&whole, &root);
    whole_n.sort();
    union.sort();
    assert_eq!(union, whole_n);

    // sweep-merge gives back the unsharded output and summary.
    let merged = work.join("merged.jsonl");
    let mut args = vec![
        "sweep-merge",
        "--out",
        merged.to_str().unwrap(),
        "--format",
        "json",
        "-q",
    ];
    let names: Vec<String> = outs
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    args.extend(names.iter().map(String::as_str));
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        normalized(&read_lines(&merged), &root),
        normalized(&whole, &root),
        "merged output differs from the unsharded one"
    );
    let ms: Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "entries",
        "by_status",
        "dumps",
        "incomplete",
        "findings",
        "by_severity",
        "by_kind",
        "by_folder",
        "secrets",
        "distinct_fingerprints",
    ] {
        assert_eq!(ms[key], whole_summary[key], "{key}");
    }
    // Overlapping inputs are refused.
    let o = run(&["sweep-merge", "-q", &names[0], &names[0]]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("overlap"));
}

/// Random seed for the kill moments, printed so a failure can be replayed
/// (`SWEEP_KILL_SEED=...`).
fn seed() -> u64 {
    std::env::var("SWEEP_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

#[test]
fn sigkill_at_random_moments_then_restart_gives_identical_results() {
    let t = tree();
    let copy = sweeptree::copy(t);
    let root = std::fs::canonicalize(copy.path()).unwrap();
    let work = scratch("sigkill");
    let (_, _, reference) = sweep(
        &root,
        &work.join("ref.sqlite"),
        &work.join("ref.jsonl"),
        &[],
    );

    let seed = seed();
    eprintln!("SWEEP_KILL_SEED={seed}");
    let mut rng = sweeptree::Rng::new(seed);
    let state = work.join("killed.sqlite");
    let out = work.join("killed.jsonl");
    let args = [
        "sweep",
        root.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
        "-v",
        "--jobs",
        "2",
    ];
    let mut kills = 0;
    let mut finished = false;
    for attempt in 0..5 {
        // Kill after the k-th file this attempt scans (k = 0: right after start); later
        // attempts have fewer files left, so k shrinks.
        let k = rng.below([40, 30, 20, 10, 5][attempt]) as usize;
        let mut child = sweep_cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut scanned = 0;
        if k == 0 {
            child.kill().unwrap();
        } else {
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap();
                if line.starts_with("scanned ") {
                    scanned += 1;
                    if scanned == k {
                        child.kill().unwrap(); // SIGKILL
                        break;
                    }
                }
            }
        }
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(9) {
            kills += 1;
            eprintln!("attempt {attempt}: killed after {scanned} scanned files");
            // Killed after it had already marked the run finished: that run is complete.
            if run_finished(&state) {
                finished = true;
                break;
            }
        } else {
            eprintln!("attempt {attempt}: finished before the kill ({status})");
            finished = true;
            break;
        }
    }
    assert!(kills >= 1, "no attempt was killed");
    if !finished {
        let o = sweep_cmd(&args).output().unwrap();
        assert!(o.status.code().is_some(), "final run crashed");
    }
    let got = read_lines(&out);
    assert_eq!(
        normalized(&got, &root),
        normalized(&reference, &root),
        "a killed and restarted sweep must give the uninterrupted sweep's results"
    );
    // Nothing left behind: member spills are anonymous files.
    let leftovers: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    // A temporary output file of a killed attempt may remain (it is never swept: outputs
    // live outside the roots); the final output is complete regardless.
    eprintln!("temporary files left by killed attempts: {leftovers:?}");
}

fn run_finished(state: &Path) -> bool {
    let Ok(c) = rusqlite::Connection::open(state) else {
        return false;
    };
    c.query_row(
        "SELECT finished_at IS NOT NULL FROM runs ORDER BY id DESC LIMIT 1",
        [],
        |r| r.get::<_, bool>(0),
    )
    .unwrap_or(false)
}

#[test]
fn html_report_shows_every_dump_with_findings_in_chromium() {
    let t = tree();
    let copy = sweeptree::copy(t);
    let root = std::fs::canonicalize(copy.path()).unwrap();
    let work = scratch("html");
    let html = work.join("report.html");
    let out = work.join("out.jsonl");
    let o = run(&[
        "sweep",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.code().is_some());
    let with_findings: Vec<String> = read_lines(&out)
        .iter()
        .filter(|l| !l["findings"].as_array().unwrap().is_empty())
        .map(|l| l["input"]["path"].as_str().unwrap().to_string())
        .collect();
    assert!(with_findings.len() >= t.keyed.len());

    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium is needed (apt-get install chromium)");
    let profile = tempfile::tempdir().unwrap();
    let flags = |extra: &[String]| {
        let mut c = Command::new(chromium);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", html.display()))
        .stdin(Stdio::null());
        c
    };
    let dom = flags(&["--dump-dom".into()]).output().unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout).to_string();
    // The DOM after the browser parsed it (and ran the report's script): a row of the dump
    // table and a picture for each dump with findings.
    let table_start = dom.find("id=\"dump-table\"").expect("dump table rendered");
    let table = &dom[table_start..dom[table_start..].find("</table>").unwrap() + table_start];
    for p in &with_findings {
        let escaped = p
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(table.contains(&escaped), "{p} missing from the dump table");
        assert!(
            dom.contains(&format!("aria-label=\"file layout of {escaped}\"")),
            "{p} has no layout picture"
        );
    }
    assert_eq!(table.matches("<tr").count(), with_findings.len() + 1);
    for s in &t.secrets {
        common::assert_no_secret(dom.as_bytes(), s);
    }
    assert!(
        !dom.contains("http://") && !dom.contains("https://"),
        "report must be self-contained"
    );

    // A screenshot for the README (copied to docs/sweep-report.png by hand).
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sweep-report.png");
    let st = flags(&[
        format!("--screenshot={}", shot.display()),
        "--window-size=1400,1700".into(),
    ])
    .output()
    .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    eprintln!("screenshot: {}", shot.display());
}

/// The shell script of a YAML block scalar (`- |`) following the `n`-th `args:` key.
fn yaml_block_script(yaml: &str, n: usize) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let args = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim() == "args:")
        .nth(n)
        .expect("args: key")
        .0;
    let dash = lines[args + 1];
    assert_eq!(dash.trim(), "- |", "args must be a block scalar");
    let indent = |l: &str| l.len() - l.trim_start().len();
    let body: Vec<&str> = lines[args + 2..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > indent(dash))
        .copied()
        .collect();
    let strip = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap();
    body.iter()
        .map(|l| l.get(strip..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The shipped manifests are run as written (paths mapped onto a scratch tree): the
/// Kubernetes Indexed Job's four pods and its merge job, the Slurm array and the systemd
/// unit's command all produce the result of one unsharded sweep.
#[test]
fn shipped_manifests_run_and_merge_to_the_unsharded_result() {
    let t = tree();
    let copy = sweeptree::copy(t);
    let root = std::fs::canonicalize(copy.path()).unwrap();
    // The manifests skip files younger than 5 minutes (--min-age 300): age the tree.
    let st = Command::new("find")
        .arg(&root)
        .args(["-exec", "touch", "-h", "-d", "1 hour ago", "{}", "+"])
        .status()
        .unwrap();
    assert!(st.success());
    let work = scratch("manifests");
    let bin_dir = work.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    // `dumpguard` on PATH, run like every sweep in these tests (without DAC override as root).
    let wrapper = bin_dir.join("dumpguard");
    let prefix = if is_root() {
        "setpriv --bounding-set=-dac_override,-dac_read_search "
    } else {
        ""
    };
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {prefix}{} \"$@\"\n",
            env!("CARGO_BIN_EXE_dumpguard")
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let (_, _, whole) = sweep(
        &root,
        &work.join("whole.sqlite"),
        &work.join("whole.jsonl"),
        &[],
    );
    let want = normalized(&whole, &root);
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");

    // Kubernetes: pods 0..3 of the Indexed Job, then the merge CronJob.
    let yaml = std::fs::read_to_string(deploy.join("kubernetes/sweep-indexed-job.yaml")).unwrap();
    let k8s = work.join("k8s");
    for d in ["state", "reports"] {
        std::fs::create_dir_all(k8s.join(d)).unwrap();
    }
    let map = |s: &str| {
        s.replace("/share", root.to_str().unwrap())
            .replace("/state/", &format!("{}/state/", k8s.display()))
            .replace("/reports/", &format!("{}/reports/", k8s.display()))
    };
    let pod = map(&yaml_block_script(&yaml, 0));
    for index in 0..4 {
        let o = Command::new("sh")
            .arg("-c")
            .arg(&pod)
            .env("PATH", &path)
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "pod {index}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let merge = map(&yaml_block_script(&yaml, 1));
    let o = Command::new("sh")
        .arg("-c")
        .arg(&merge)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        normalized(&read_lines(&k8s.join("reports/sweep.jsonl")), &root),
        want
    );
    assert!(k8s.join("reports/index.html").exists());

    // Slurm: array tasks 1..8, merged by hand as the script's header says.
    let sbatch = std::fs::read_to_string(deploy.join("slurm/sweep-array.sbatch")).unwrap();
    let slurm = work.join("slurm");
    std::fs::create_dir_all(&slurm).unwrap();
    // Adapted only through its environment, as tests/it/deploy.rs submits it to a real cluster.
    for task in 1..=8 {
        let o = Command::new("bash")
            .arg("-c")
            .arg(&sbatch)
            .env("PATH", &path)
            .env("DUMPGUARD_SHARE", &root)
            .env("DUMPGUARD_OUT", &slurm)
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "task {task}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let mut shards: Vec<String> = (1..=8)
        .map(|k| format!("{}/shard-{k}.jsonl", slurm.display()))
        .collect();
    let merged = slurm.join("all.jsonl");
    let mut args = vec![
        "sweep-merge".to_string(),
        "-q".into(),
        "--out".into(),
        merged.display().to_string(),
    ];
    args.append(&mut shards);
    let o = Command::new(env!("CARGO_BIN_EXE_dumpguard"))
        .args(&args)
        .output()
        .unwrap();
    assert!(o.status.code().is_some());
    assert_eq!(normalized(&read_lines(&merged), &root), want);

    // systemd: the service's ExecStart, line continuations joined.
    let unit = std::fs::read_to_string(deploy.join("systemd/dumpguard-sweep.service")).unwrap();
    let exec = unit
        .replace("\\\n", " ")
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap()
        .to_string();
    let sd = work.join("systemd");
    std::fs::create_dir_all(sd.join("reports")).unwrap();
    let exec = exec
        .replace("/usr/local/bin/dumpguard", wrapper.to_str().unwrap())
        .replace("/srv/debug-share", root.to_str().unwrap())
        .replace("/var/lib/dumpguard", sd.to_str().unwrap());
    let o = Command::new("sh").arg("-c").arg(&exec).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        normalized(&read_lines(&sd.join("reports/sweep.jsonl")), &root),
        want
    );
}

/// Not a test: writes the mixed tree to `$DUMPGUARD_SWEEP_TREE_OUT` for the sweep benchmark
/// (`scripts/bench-sweep.sh --tree DIR`), which times a first and a no-op sweep of it outside
/// any test harness. Run with `cargo test --release --test it -- --ignored sweep::write_mixed_tree`.
#[test]
#[ignore]
fn write_mixed_tree_for_the_benchmark() {
    let dst = std::env::var_os("DUMPGUARD_SWEEP_TREE_OUT")
        .map(PathBuf::from)
        .expect("set DUMPGUARD_SWEEP_TREE_OUT to the directory to write");
    assert!(
        !dst.exists(),
        "{} exists; the tree is written to a new directory",
        dst.display()
    );
    let st = Command::new("cp")
        .arg("-a")
        .arg(tree().root())
        .arg(&dst)
        .status()
        .unwrap();
    assert!(st.success());
    eprintln!("mixed tree written to {}", dst.display());
}
