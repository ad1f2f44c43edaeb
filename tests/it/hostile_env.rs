//! Issue #12, parts 2, 3, 5, 6 and 7: the gate holds when its surroundings are hostile.
//! `watch` acts only on what it checked (symbolic-link swap race, hard links, overlapping
//! directories, names that are not UTF-8); outputs never replace inputs or each other; no panic
//! reaches the user (closed standard output, full disk, out-of-range numbers, and a table of
//! hostile arguments for every subcommand); strings from a dump never reach the terminal raw.
//! Every case runs the built binary on real files and processes.

use crate::common;

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dumpguard"))
}

/// Runs `cmd` with a time limit (a hang is a failure too) and returns its output.
fn run_limited(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dumpguard");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} did not finish within {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {o:?}"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A policy that accepts raw images, so plain test files can be ALLOWed.
fn raw_policy(dir: &Path) -> PathBuf {
    let p = dir.join("raw-policy.toml");
    std::fs::write(&p, "version = 1\n[input]\nallow_raw = true\n").unwrap();
    p
}

/// A raw dump holding a freshly generated private key (PKCS#8 PEM between random bytes).
fn dump_with_key(path: &Path) -> Vec<u8> {
    let keys = common::fresh_keys();
    let mut b = random(4096);
    b.extend_from_slice(&keys[1].pkcs8_pem);
    b.extend(random(4096));
    std::fs::write(path, &b).unwrap();
    keys[1].secret.clone()
}

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact_into(&mut b);
    b
}

trait ReadExact {
    fn read_exact_into(self, b: &mut [u8]);
}
impl ReadExact for std::fs::File {
    fn read_exact_into(mut self, b: &mut [u8]) {
        std::io::Read::read_exact(&mut self, b).unwrap();
    }
}

struct WatchDirs {
    root: tempfile::TempDir,
    inbox: PathBuf,
    outbox: PathBuf,
    quarantine: PathBuf,
    outside: PathBuf,
}

impl WatchDirs {
    fn new() -> WatchDirs {
        let root = tempfile::tempdir().unwrap();
        let mk = |n: &str| {
            let p = root.path().join(n);
            std::fs::create_dir(&p).unwrap();
            p
        };
        WatchDirs {
            inbox: mk("inbox"),
            outbox: mk("outbox"),
            quarantine: mk("quarantine"),
            outside: mk("outside"),
            root,
        }
    }

    fn watch(&self, extra: &[&str]) -> Command {
        let mut c = bin();
        c.arg("watch")
            .arg("--inbox")
            .arg(&self.inbox)
            .arg("--outbox")
            .arg(&self.outbox)
            .arg("--quarantine")
            .arg(&self.quarantine)
            .args(extra);
        c
    }
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Part 2: names in the inbox flip between a genuine file and a symbolic link to a file outside
/// it, as fast as renames go, for 12 seconds while the watcher runs. Before the fix about half the ALLOWed
/// outbox entries were links; replacing their target later delivered keys through the outbox.
#[test]
fn watch_symlink_swap_race_never_delivers_through_a_link() {
    let d = WatchDirs::new();
    let policy = raw_policy(d.root.path());
    let outside = d.outside.join("target.dmp");
    std::fs::write(&outside, b"OUTSIDE".repeat(512)).unwrap();
    let mut watcher = d
        .watch(&[
            "--policy",
            policy.to_str().unwrap(),
            "--settle-ms",
            "0",
            "--poll-ms",
            "10",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut written = 0u32;
    while started.elapsed() < Duration::from_secs(12) {
        // One name flips as fast as renames go between a genuine file and a link to the
        // outside file (with gaps where it is absent), until the watcher takes whatever is
        // there at that moment.
        let name = d.inbox.join(format!("f{written}.dmp"));
        let file = d.inbox.join(format!(".f{written}"));
        let link = d.inbox.join(format!(".l{written}"));
        let mut body = format!("INSIDE {written} ").into_bytes();
        body.resize(4096, b'.');
        std::fs::write(&file, &body).unwrap();
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let flip_started = Instant::now();
        'flip: while flip_started.elapsed() < Duration::from_millis(300) {
            for held in [&file, &link] {
                if std::fs::rename(held, &name).is_err() || std::fs::rename(&name, held).is_err() {
                    break 'flip; // taken by the watcher
                }
            }
        }
        written += 1;
    }
    // Let the watcher drain what is left (links stay in the inbox), then stop it.
    std::thread::sleep(Duration::from_millis(1500));
    watcher.kill().unwrap();
    watcher.wait().unwrap();

    let out = entries(&d.outbox);
    assert!(written > 20, "the race flipped only {written} names");
    assert!(
        !out.is_empty(),
        "some genuine files must win the race and be ALLOWed (or the test shows nothing)"
    );
    let links = out
        .iter()
        .filter(|p| !std::fs::symlink_metadata(p).unwrap().file_type().is_file())
        .count();
    assert_eq!(
        links,
        0,
        "{links} of {} outbox entries are links",
        out.len()
    );
    for p in &out {
        let m = std::fs::symlink_metadata(p).unwrap();
        assert!(
            m.file_type().is_file(),
            "{} is not a regular file",
            p.display()
        );
        assert_eq!(m.nlink(), 1, "{} has another link", p.display());
        let body = std::fs::read(p).unwrap();
        assert!(
            body.starts_with(b"INSIDE "),
            "{} came from outside",
            p.display()
        );
    }
    // Replacing the outside file now changes nothing that was delivered.
    let secret = dump_with_key(&outside);
    for p in entries(&d.outbox) {
        common::assert_no_secret(&std::fs::read(&p).unwrap(), &secret);
    }
    let quarantined: Vec<_> = entries(&d.quarantine)
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".decision.json"))
        .collect();
    for p in &quarantined {
        assert!(
            std::fs::symlink_metadata(p).unwrap().file_type().is_file()
                || std::fs::symlink_metadata(p)
                    .unwrap()
                    .file_type()
                    .is_symlink()
        );
    }
    eprintln!(
        "race: {written} names flipped in 12 s; {} ALLOWed (all genuine), {} quarantined, {} left in the inbox",
        out.len(),
        quarantined.len(),
        entries(&d.inbox).len()
    );
}

/// Part 2: a hard link to a file outside the inbox, a symbolic link and a FIFO are refused
/// (left in the inbox with a warning, never delivered); a file with one link is delivered.
#[test]
fn watch_refuses_hard_links_symlinks_and_fifos() {
    let d = WatchDirs::new();
    let policy = raw_policy(d.root.path());
    let outside = d.outside.join("a.dmp");
    std::fs::write(&outside, random(8192)).unwrap();
    std::fs::hard_link(&outside, d.inbox.join("a.dmp")).unwrap();
    std::os::unix::fs::symlink(&outside, d.inbox.join("b.dmp")).unwrap();
    let fifo = std::ffi::CString::new(d.inbox.join("c.dmp").as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::fs::write(d.inbox.join("ok.dmp"), random(8192)).unwrap();
    let o = run_limited(
        d.watch(&[
            "--policy",
            policy.to_str().unwrap(),
            "--once",
            "--settle-ms",
            "0",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("another hard link"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    let names = |d: &Path| -> Vec<String> {
        entries(d)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect()
    };
    assert_eq!(names(&d.outbox), vec!["ok.dmp"]);
    assert_eq!(names(&d.inbox), vec!["a.dmp", "b.dmp", "c.dmp"]);
    // Writing through the outside name cannot change anything delivered.
    assert_eq!(
        std::fs::metadata(d.outbox.join("ok.dmp")).unwrap().nlink(),
        1
    );
}

/// Part 2: the four directories must be distinct and not nested.
#[test]
fn watch_refuses_overlapping_directories() {
    let d = WatchDirs::new();
    let nested = d.outbox.join("q");
    std::fs::create_dir(&nested).unwrap();
    let cases: [(&Path, &Path, &Path, &str); 4] = [
        (&d.inbox, &d.outbox, &d.outbox, "same directory"),
        (&d.inbox, &d.inbox, &d.quarantine, "same directory"),
        (&d.inbox, &d.outbox, &nested, "nested"),
        (
            &d.outbox,
            &d.root.path().join("outbox/../outbox"),
            &d.quarantine,
            "same",
        ),
    ];
    for (inbox, outbox, quarantine, why) in cases {
        std::fs::write(d.inbox.join("x.dmp"), random(1024)).unwrap();
        let mut c = bin();
        c.arg("watch")
            .arg("--inbox")
            .arg(inbox)
            .arg("--outbox")
            .arg(outbox)
            .arg("--quarantine")
            .arg(quarantine)
            .args(["--once", "--settle-ms", "0"]);
        let o = run_limited(c, Duration::from_secs(30));
        assert_eq!(code(&o), 2, "{inbox:?} {outbox:?} {quarantine:?}");
        let err = stderr(&o);
        assert!(err.contains(why) && err.contains("distinct"), "{err}");
        assert!(d.inbox.join("x.dmp").exists(), "nothing is taken");
    }
    // An audit log in the outbox would leave the network: refused too.
    let mut c = d.watch(&["--once", "--settle-ms", "0", "--audit-log"]);
    c.arg(d.outbox.join("audit.jsonl"));
    let o = run_limited(c, Duration::from_secs(30));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("audit log"), "{}", stderr(&o));
}

/// Part 2: two names that are not UTF-8 and read the same once made lossy each keep their own
/// quarantine entry and decision record.
#[test]
fn watch_non_utf8_names_keep_their_own_decision_records() {
    let d = WatchDirs::new();
    let a = std::ffi::OsStr::from_bytes(b"a\xff.dmp");
    let b = std::ffi::OsStr::from_bytes(b"a\xfe.dmp");
    std::fs::write(d.inbox.join(a), random(2048)).unwrap();
    std::fs::write(d.inbox.join(b), random(3072)).unwrap();
    // The default policy refuses raw images: both are BLOCKed to quarantine.
    let o = run_limited(
        d.watch(&["--once", "--settle-ms", "0"]),
        Duration::from_secs(60),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let q = d.quarantine.clone();
    let mut ra = std::ffi::OsString::from(a);
    ra.push(".decision.json");
    let mut rb = std::ffi::OsString::from(b);
    rb.push(".decision.json");
    for n in [a, b, &ra, &rb] {
        assert!(
            q.join(n).exists(),
            "{n:?} missing from quarantine: {:?}",
            entries(&q)
        );
    }
    let size = |n: &std::ffi::OsStr| -> u64 {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(q.join(n)).unwrap()).unwrap();
        v["decision"]["coverage"]["size"].as_u64().unwrap()
    };
    assert_eq!((size(&ra), size(&rb)), (2048, 3072));
    assert_eq!(entries(&d.inbox).iter().filter(|p| p.is_file()).count(), 0);
}

/// Part 3: no output replaces an input or another output — by name, hard link or symbolic link.
#[test]
fn outputs_never_replace_inputs_or_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let secret = dump_with_key(&p("d.dmp"));
    let original = std::fs::read(p("d.dmp")).unwrap();
    std::fs::hard_link(p("d.dmp"), p("hard.dmp")).unwrap();
    std::os::unix::fs::symlink(p("d.dmp"), p("soft.dmp")).unwrap();
    for out in ["d.dmp", "hard.dmp", "soft.dmp"] {
        let o = common::cli(&[
            "scan",
            "--output",
            p(out).to_str().unwrap(),
            p("d.dmp").to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 2, "{out}");
        assert!(
            stderr(&o).contains("never replaces an input"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::read(p("d.dmp")).unwrap(), original, "{out}");
    }
    // A directory input: an existing file under it is an input.
    let tree = p("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::copy(p("d.dmp"), tree.join("a.dmp")).unwrap();
    let o = common::cli(&[
        "scan",
        "--output",
        tree.join("a.dmp").to_str().unwrap(),
        tree.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(std::fs::read(tree.join("a.dmp")).unwrap(), original);

    // sweep TREE --out TREE/a.dmp used to overwrite the dump and exit 0.
    let o = common::cli(&[
        "sweep",
        "-q",
        tree.to_str().unwrap(),
        "--out",
        tree.join("a.dmp").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("not a sweep output"), "{}", stderr(&o));
    assert_eq!(std::fs::read(tree.join("a.dmp")).unwrap(), original);
    let o = common::cli(&[
        "sweep",
        "-q",
        tree.to_str().unwrap(),
        "--out",
        p("s.out").to_str().unwrap(),
        "--html",
        p("s.out").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // A sweep's own outputs are still rewritten on the next run, and its state is private.
    let state = p("state.sqlite");
    for _ in 0..2 {
        let o = common::cli(&[
            "sweep",
            "-q",
            tree.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--out",
            p("s.jsonl").to_str().unwrap(),
            "--html",
            p("s.html").to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
    }
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // gate: --redact-to L --audit-log L deleted the log; --report L --audit-log L replaced it.
    let log = p("audit.jsonl");
    let o = common::cli(&[
        "gate",
        p("d.dmp").to_str().unwrap(),
        "--audit-log",
        log.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&o), 1);
    let before = std::fs::read(&log).unwrap();
    for flag in ["--redact-to", "--report"] {
        let o = common::cli(&[
            "gate",
            p("d.dmp").to_str().unwrap(),
            flag,
            log.to_str().unwrap(),
            "--audit-log",
            log.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 2, "{flag}");
        assert!(
            stderr(&o).contains("each output needs its own file"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::read(&log).unwrap(), before, "{flag}");
    }
    let o = common::cli(&[
        "gate",
        p("d.dmp").to_str().unwrap(),
        "--redact-to",
        p("hard.dmp").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(std::fs::read(p("d.dmp")).unwrap(), original);
    for out in std::fs::read_dir(dir.path()).unwrap() {
        let out = out.unwrap().path();
        if out.is_file() && !out.to_string_lossy().ends_with(".dmp") {
            common::assert_no_secret(&std::fs::read(&out).unwrap(), &secret);
        }
    }
}

/// Part 5: a closed standard output ends quietly with the scan's own code; a full one exits 2
/// with a message; the gate's audit record holds the verdict and exit code really given.
#[test]
fn closed_and_full_stdout_never_panic_and_are_audited_truthfully() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("d.dmp");
    dump_with_key(&dump);
    let clean = dir.path().join("clean.dmp");
    std::fs::write(&clean, random(65536)).unwrap();
    let policy = raw_policy(dir.path());

    // Broken pipe: the reader is gone before anything is written.
    let many: Vec<&Path> = std::iter::repeat(dump.as_path()).take(40).collect();
    let mut child = bin()
        .arg("scan")
        .args(&many)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        code(&o),
        1,
        "the scan's own code (a key was found): {}",
        stderr(&o)
    );
    assert!(o.stderr.is_empty(), "quiet: {}", stderr(&o));

    // /dev/full.
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let o = bin()
        .arg("scan")
        .arg(&dump)
        .stdout(full())
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("No space left"), "{}", stderr(&o));

    // gate: ALLOW turns into BLOCK (exit 2), and that is what the audit log says.
    let log = dir.path().join("audit.jsonl");
    let o = bin()
        .args([
            "gate",
            "--policy",
            policy.to_str().unwrap(),
            "--audit-log",
            log.to_str().unwrap(),
        ])
        .arg(&clean)
        .stdout(full())
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let mut child = bin()
        .args([
            "gate",
            "--policy",
            policy.to_str().unwrap(),
            "--audit-log",
            log.to_str().unwrap(),
        ])
        .arg(&clean)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // And with a working stdout it is ALLOW: the two failures above were the output's.
    let o = bin()
        .args([
            "gate",
            "--policy",
            policy.to_str().unwrap(),
            "--audit-log",
            log.to_str().unwrap(),
        ])
        .arg(&clean)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(String, i64)> = records
        .iter()
        .map(|r| {
            let e = &r["event"];
            (
                e["verdict"].as_str().unwrap().to_string(),
                e["exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("BLOCK".into(), 2),
            ("BLOCK".into(), 2),
            ("ALLOW".into(), 0)
        ],
        "{records:#?}"
    );
    assert_eq!(
        code(&common::cli(&["audit", "verify", log.to_str().unwrap()])),
        0
    );
}

/// Part 5: out-of-range numbers are refused with exit 2; a policy's out-of-range time limit
/// and an unknown kind are refused and still leave an audit record (part 7).
#[test]
fn numeric_options_are_range_checked_and_policy_typos_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("d.dmp");
    std::fs::write(&dump, random(4096)).unwrap();
    let d = dump.to_str().unwrap();
    for args in [
        vec!["scan", "--time-limit", "18446744073709551615", d],
        vec!["scan", "--time-limit", "2592001", d],
        vec!["sweep", "--time-limit", "18446744073709551615", d],
        vec!["sweep", "--jobs", "18446744073709551615", d],
        vec![
            "watch",
            "--inbox",
            d,
            "--outbox",
            d,
            "--quarantine",
            d,
            "--settle-ms",
            "18446744073709551615",
        ],
        vec![
            "watch",
            "--inbox",
            d,
            "--outbox",
            d,
            "--quarantine",
            d,
            "--poll-ms",
            "0",
        ],
    ] {
        let o = run_limited(
            {
                let mut c = bin();
                c.args(&args);
                c
            },
            Duration::from_secs(30),
        );
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(
            stderr(&o).contains("invalid value"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let log = dir.path().join("audit.jsonl");
    for (policy, why) in [
        (
            "version = 1\n[limits]\ntime_limit_seconds = 9223372036854775807\n",
            "time_limit_seconds",
        ),
        (
            "version = 1\n[block]\nkinds = [\"rsa-privat-key\"]\n",
            "unknown finding kind 'rsa-privat-key'",
        ),
    ] {
        let p = dir.path().join("p.toml");
        std::fs::write(&p, policy).unwrap();
        let o = common::cli(&[
            "gate",
            d,
            "--policy",
            p.to_str().unwrap(),
            "--audit-log",
            log.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 2);
        assert!(stderr(&o).contains(why), "{}", stderr(&o));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 2, "each refused policy is audited");
    assert!(text.contains("gate-error"));
}

/// Part 5: every subcommand, with a table of hostile arguments, never exits 101 (a panic), never
/// dies of a signal and never hangs.
#[test]
fn no_subcommand_exits_101_on_hostile_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    std::fs::write(p("d.dmp"), random(4096)).unwrap();
    std::fs::write(p("bad.toml"), "\u{0}\u{1b}[[[").unwrap();
    std::fs::write(p("empty"), "").unwrap();
    std::fs::write(p("log.jsonl"), "{\"not\": \"a record\"}\n\u{ff}\n").unwrap();
    let huge = "18446744073709551615";
    let over = "99999999999999999999999";
    let nul_dir = p("nodir/x");
    let table: Vec<Vec<String>> = [
        vec!["scan"],
        vec!["scan", "/nonexistent"],
        vec!["scan", "DIR"],
        vec!["scan", "/dev/null"],
        vec!["scan", "--time-limit", huge, "D"],
        vec!["scan", "--time-limit", over, "D"],
        vec!["scan", "--time-limit", "-1", "D"],
        vec!["scan", "--fail-on", "nope", "D"],
        vec!["scan", "--rules", "BAD", "D"],
        vec!["scan", "--rules", "/dev/null", "D"],
        vec!["scan", "--known-keys", "BAD", "D"],
        vec!["scan", "--detectors", ",,,x", "D"],
        vec!["scan", "--output", "/", "D"],
        vec!["scan", "--output", "NODIR", "D"],
        vec!["scan", "--format", "sarif", "--output", "D", "D"],
        vec!["gate", "D", "--policy", "BAD"],
        vec!["gate", "D", "--policy", "EMPTY"],
        vec!["gate", "/nonexistent", "--audit-log", "NODIR"],
        vec!["gate", "D", "--report", "/"],
        vec!["gate", "D", "--redact-to", "/"],
        vec!["gate", "D", "--audit-log", "/"],
        vec!["gate", "D", "--audit-log", "LOG"],
        vec!["gate", "/", "--format", "human"],
        vec!["audit", "verify", "LOG"],
        vec!["audit", "verify", "LOG", "--head", "sha256:zz"],
        vec!["audit", "verify", "LOG", "--min-records", huge],
        vec!["audit", "verify", "/"],
        vec!["rules", "list", "--rules", "BAD"],
        vec!["rules", "check", "--rules", "/dev/null"],
        vec![
            "watch",
            "--inbox",
            "/nonexistent",
            "--outbox",
            "/",
            "--quarantine",
            "/",
            "--once",
        ],
        vec![
            "watch",
            "--inbox",
            "D",
            "--outbox",
            "D",
            "--quarantine",
            "D",
            "--once",
        ],
        vec![
            "watch",
            "--inbox",
            "DIR",
            "--outbox",
            "DIR",
            "--quarantine",
            "DIR",
            "--settle-ms",
            huge,
        ],
        vec!["sweep", "/nonexistent"],
        vec!["sweep", "DIR", "--jobs", "0"],
        vec!["sweep", "DIR", "--jobs", huge],
        vec!["sweep", "DIR", "--min-age", huge],
        vec!["sweep", "DIR", "--archive-depth", "4294967295", "-q"],
        vec!["sweep", "DIR", "--shard", "5/0"],
        vec![
            "sweep",
            "DIR",
            "--shard",
            "18446744073709551615/18446744073709551615",
        ],
        vec!["sweep", "DIR", "--state", "D"],
        vec!["sweep", "DIR", "--state", "/"],
        vec!["sweep", "DIR", "--html", "/dev/full", "-q"],
        vec!["sweep", "DIR", "--include", "[", "-q"],
        vec!["sweep-merge", "LOG"],
        vec!["sweep-merge", "/nonexistent"],
        vec!["nonsense"],
        vec!["--version"],
    ]
    .iter()
    .map(|row| {
        row.iter()
            .map(|a| match *a {
                "D" => p("d.dmp"),
                "BAD" => p("bad.toml"),
                "EMPTY" => p("empty"),
                "LOG" => p("log.jsonl"),
                "NODIR" => nul_dir.clone(),
                "DIR" => dir.path().to_string_lossy().into_owned(),
                a => a.to_string(),
            })
            .collect()
    })
    .collect();
    let mut codes = Vec::new();
    for args in &table {
        let mut c = bin();
        c.args(args).env("TMPDIR", dir.path());
        let o = run_limited(c, Duration::from_secs(60));
        let rc = code(&o);
        assert!(
            (0..=3).contains(&rc),
            "{args:?} exited {rc}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
        codes.push(rc);
    }
    // The table is hostile: most rows must be refused, not silently accepted.
    assert!(
        codes.iter().filter(|&&c| c == 2).count() > table.len() / 2,
        "{codes:?}"
    );
}

/// Part 6: a module whose name holds ESC, CR and LF (the executable of a real process, dumped
/// with minidump-writer) cannot forge lines on the terminal: human output shows the bytes as
/// escapes and emits none of them.
#[test]
fn escape_bytes_in_a_module_name_never_reach_the_terminal() {
    let dir = common::scratch().join("esc");
    std::fs::create_dir_all(&dir).unwrap();
    // No LF: /proc/PID/maps shows it as "\012"; ESC sequences and CR are kept as they are.
    let evil = dir.join("evil\u{1b}[1A\u{1b}[2K\r  no findings; summary: 0 critical\u{1b}[8m");
    std::fs::copy(common::native_holder(), &evil).unwrap();
    let keys = common::fresh_keys();
    let mut global = b"GLOBAL ".to_vec();
    global.extend_from_slice(&keys[1].pkcs8_pem);
    let mut cmd = Command::new(&evil);
    cmd.arg(common::write_temp(b"stack"))
        .arg(common::write_temp(&global));
    let holder = common::Holder::spawn_command(cmd);
    let dump = common::minidump(holder.pid);
    drop(holder);
    let o = common::cli(&["scan", "--format", "human", dump.path.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = o.stdout;
    assert!(
        !text.iter().any(|&b| b == 0x1b || b == b'\r'),
        "raw control bytes reached the terminal"
    );
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("evil\\x1b[1A\\x1b[2K\\r  no findings; summary: 0 critical\\x1b[8m"),
        "the module name is shown escaped: {text}"
    );
    // The forged lines never stand alone.
    assert!(!text.lines().any(|l| l.starts_with("  no findings")));
    common::assert_no_secret(text.as_bytes(), &keys[1].secret);
    let gate = common::cli(&["gate", "--format", "human", dump.path.to_str().unwrap()]);
    assert_eq!(code(&gate), 1);
    assert!(!gate.stdout.iter().any(|&b| b == 0x1b || b == b'\r'));
    let _ = std::fs::remove_file(&evil);
    let _ = std::io::stderr().flush();
}

/// Part 1 for `watch`: a process truncates a dump the watcher has claimed, while the watcher
/// scans it. The watcher must quarantine that dump (BLOCK:
/// the bytes it checked are not the bytes it would deliver), never deliver it, and go on to
/// deliver the clean dump next to it.
#[test]
fn watch_quarantines_a_dump_truncated_while_it_is_scanned_and_carries_on() {
    let d = WatchDirs::new();
    let policy = raw_policy(d.root.path());
    // 192 MiB of pseudo-random bytes: long enough that the truncation lands mid-scan.
    let big = d.inbox.join("a-big.dmp");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let mut block = random(1 << 20);
        for i in 0..192u32 {
            block[..4].copy_from_slice(&i.to_le_bytes());
            f.write_all(&block).unwrap();
        }
        f.flush().unwrap();
    }
    std::fs::write(d.inbox.join("z-clean.dmp"), random(8192)).unwrap();
    let log = d.root.path().join("audit.jsonl");
    let mut child = d
        .watch(&[
            "--policy",
            policy.to_str().unwrap(),
            "--once",
            "--settle-ms",
            "0",
            "--audit-log",
            log.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The watcher takes only files nobody holds open for writing, then moves the dump into its
    // work directory and maps it. A process with write access there (the same user) opens the
    // claimed file by the path the watcher mapped and cuts it short mid-scan.
    let t = Instant::now();
    let claimed = loop {
        let maps =
            std::fs::read_to_string(format!("/proc/{}/maps", child.id())).unwrap_or_default();
        if let Some(line) = maps.lines().find(|l| l.contains("a-big.dmp")) {
            break PathBuf::from(line.split_whitespace().last().unwrap());
        }
        assert!(
            t.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none(),
            "the watcher never mapped the dump"
        );
        std::thread::sleep(Duration::from_micros(500));
    };
    std::fs::OpenOptions::new()
        .write(true)
        .open(&claimed)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "watch hung");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    let names = |dir: &Path| -> Vec<String> {
        entries(dir)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n.ends_with(".dmp"))
            .collect()
    };
    assert_eq!(names(&d.outbox), vec!["z-clean.dmp"], "{err}");
    assert_eq!(names(&d.quarantine), vec!["a-big.dmp"], "{err}");
    let audit = std::fs::read_to_string(&log).unwrap();
    let verdicts: Vec<String> = audit
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {}",
                v["event"]["dump"]["path"],
                v["event"]["verdict"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert!(
        verdicts
            .iter()
            .any(|v| v.contains("a-big.dmp") && v.ends_with("BLOCK")),
        "{verdicts:?}"
    );
    assert!(
        verdicts
            .iter()
            .any(|v| v.contains("z-clean.dmp") && v.ends_with("ALLOW")),
        "{verdicts:?}"
    );
}
