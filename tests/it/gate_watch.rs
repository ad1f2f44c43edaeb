//! Issue 5, watch mode: files are routed by verdict (outbox / quarantine, a redacted copy out
//! and its original kept), files still being written are not taken, every decision is in the
//! audit log, and no file is lost or duplicated when the watcher is killed (SIGKILL) at random
//! moments — and at every step boundary of the move protocol, deterministically — then
//! restarted.

use crate::common;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-dumps")
        .join(name)
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allow,
    Redacted,
    Block,
}

struct Dirs {
    _root: tempfile::TempDir,
    inbox: PathBuf,
    outbox: PathBuf,
    quarantine: PathBuf,
    audit: PathBuf,
    /// name → (expected verdict, sha256 of the original bytes)
    files: BTreeMap<String, (Expect, String)>,
}

impl Dirs {
    fn new() -> Dirs {
        let root = tempfile::tempdir().unwrap();
        let d = |n: &str| {
            let p = root.path().join(n);
            std::fs::create_dir(&p).unwrap();
            p
        };
        Dirs {
            inbox: d("inbox"),
            outbox: d("outbox"),
            quarantine: d("quarantine"),
            audit: root.path().join("audit.jsonl"),
            _root: root,
            files: BTreeMap::new(),
        }
    }

    /// Drops a file into the inbox the safe way: written under a dot-name, then renamed.
    fn drop_file(&mut self, name: &str, bytes: &[u8], expect: Expect) {
        let tmp = self.inbox.join(format!(".{name}.writing"));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, self.inbox.join(name)).unwrap();
        self.files.insert(name.into(), (expect, sha(bytes)));
    }

    fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = vec![
            "watch".into(),
            "--inbox".into(),
            self.inbox.display().to_string(),
            "--outbox".into(),
            self.outbox.display().to_string(),
            "--quarantine".into(),
            self.quarantine.display().to_string(),
            "--audit-log".into(),
            self.audit.display().to_string(),
            "--settle-ms".into(),
            "0".into(),
            "--poll-ms".into(),
            "20".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dumpguard"));
        c.args(self.args(extra))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    }

    /// `watch --once`: recover, drain what is complete, exit.
    fn once(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["--once"];
        args.extend_from_slice(extra);
        self.command(&args).output().unwrap()
    }

    fn spawn(&self, extra: &[&str]) -> Child {
        self.command(extra).spawn().unwrap()
    }

    fn listing(dir: &Path) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect()
    }

    /// Every file is in exactly the place(s) its verdict sends it, with the right bytes; none
    /// is left behind, lost or duplicated; the audit chain is intact and names every file.
    fn check(&self) {
        let inbox = Dirs::listing(&self.inbox);
        assert!(inbox.is_empty(), "left in the inbox: {inbox:?}");
        let work = Dirs::listing(&self.inbox.join(".dumpguard-work"));
        assert!(work.is_empty(), "left in the work directory: {work:?}");
        let outbox = Dirs::listing(&self.outbox);
        let quarantine = Dirs::listing(&self.quarantine);
        let mut want_out = BTreeSet::new();
        let mut want_q = BTreeSet::new();
        for (name, (expect, orig)) in &self.files {
            let out = self.outbox.join(name);
            let q = self.quarantine.join(name);
            match expect {
                Expect::Allow => {
                    want_out.insert(name.clone());
                    assert_eq!(&sha(&std::fs::read(&out).unwrap()), orig, "{name} changed");
                }
                Expect::Redacted => {
                    want_out.insert(name.clone());
                    want_q.insert(name.clone());
                    want_q.insert(format!("{name}.decision.json"));
                    assert_eq!(&sha(&std::fs::read(&q).unwrap()), orig, "{name}: original");
                    let copy = std::fs::read(&out).unwrap();
                    assert_ne!(&sha(&copy), orig, "{name}: the outbox holds the original");
                    let r = common::scan(&out);
                    assert!(
                        r.findings
                            .iter()
                            .all(|f| f.severity < dumpguard::report::Severity::High),
                        "{name}: the redacted copy still holds keys"
                    );
                }
                Expect::Block => {
                    want_q.insert(name.clone());
                    want_q.insert(format!("{name}.decision.json"));
                    assert_eq!(&sha(&std::fs::read(&q).unwrap()), orig, "{name} changed");
                }
            }
        }
        assert_eq!(outbox, want_out, "outbox");
        assert_eq!(quarantine, want_q, "quarantine");
        for n in want_q.iter().filter(|n| n.ends_with(".decision.json")) {
            let d: Value =
                serde_json::from_slice(&std::fs::read(self.quarantine.join(n)).unwrap()).unwrap();
            let name = n.trim_end_matches(".decision.json");
            let want = match self.files[name].0 {
                Expect::Block => "BLOCK",
                _ => "ALLOW_REDACTED",
            };
            assert_eq!(d["decision"]["verdict"], want, "{n}");
            assert_eq!(
                d["input"]["path"],
                self.inbox.join(name).display().to_string()
            );
        }
        let v = dumpguard::gate::audit::verify(&self.audit)
            .unwrap()
            .unwrap_or_else(|b| panic!("audit chain broken: {b}"));
        let text = std::fs::read_to_string(&self.audit).unwrap();
        let mut audited: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for l in text.lines() {
            let r: Value = serde_json::from_str(l).unwrap();
            let e = &r["event"];
            audited
                .entry(e["extra"]["watch"]["file"].as_str().unwrap().to_string())
                .or_default()
                .insert(e["verdict"].as_str().unwrap().to_string());
        }
        assert!(v.records as usize >= self.files.len());
        for (name, (expect, _)) in &self.files {
            let want = match expect {
                Expect::Allow => "ALLOW",
                Expect::Redacted => "ALLOW_REDACTED",
                Expect::Block => "BLOCK",
            };
            let got = audited
                .get(name)
                .unwrap_or_else(|| panic!("{name} not audited"));
            assert_eq!(got, &BTreeSet::from([want.to_string()]), "{name}");
        }
    }
}

fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn clean() -> Vec<u8> {
    std::fs::read(sample("clean.dmp")).unwrap()
}

fn keys() -> Vec<u8> {
    std::fs::read(sample("test-keys.dmp")).unwrap()
}

#[test]
fn files_are_routed_by_verdict_and_audited() {
    let mut d = Dirs::new();
    d.drop_file("a-clean.dmp", &clean(), Expect::Allow);
    d.drop_file("b-keys.dmp", &keys(), Expect::Redacted);
    d.drop_file("c-unknown.bin", &noise(100_000, 3), Expect::Block);
    let full = clean();
    d.drop_file("d-truncated.dmp", &full[..full.len() / 2], Expect::Block);
    let o = d.once(&["--redact"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    d.check();
    let trunc: Value = serde_json::from_slice(
        &std::fs::read(d.quarantine.join("d-truncated.dmp.decision.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(trunc["decision"]["exit_code"], 2);
}

#[test]
fn without_redaction_a_dump_with_keys_is_quarantined() {
    let mut d = Dirs::new();
    d.drop_file("keys.dmp", &keys(), Expect::Block);
    assert!(d.once(&[]).status.success());
    d.check();
}

#[test]
fn a_file_still_being_written_is_not_taken() {
    let mut d = Dirs::new();
    let bytes = clean();
    let path = d.inbox.join("growing.dmp");
    let mut writer = std::fs::File::create(&path).unwrap();
    writer.write_all(&bytes[..bytes.len() / 2]).unwrap();
    writer.flush().unwrap();
    // Temporary names are never taken either.
    std::fs::write(d.inbox.join("upload.part"), b"x").unwrap();
    std::fs::write(d.inbox.join(".hidden"), b"x").unwrap();
    assert!(d.once(&[]).status.success());
    assert!(path.exists(), "a file open for writing was taken");
    assert!(Dirs::listing(&d.outbox).is_empty() && Dirs::listing(&d.quarantine).is_empty());
    writer.write_all(&bytes[bytes.len() / 2..]).unwrap();
    drop(writer);
    std::fs::remove_file(d.inbox.join("upload.part")).unwrap();
    assert!(d.once(&[]).status.success());
    d.files
        .insert("growing.dmp".into(), (Expect::Allow, sha(&bytes)));
    d.check();
}

#[test]
fn a_name_already_in_the_outbox_is_never_overwritten() {
    let mut d = Dirs::new();
    std::fs::write(d.outbox.join("x.dmp"), b"earlier file").unwrap();
    d.drop_file("x.dmp", &clean(), Expect::Allow);
    assert!(d.once(&[]).status.success());
    assert_eq!(
        std::fs::read(d.outbox.join("x.dmp")).unwrap(),
        b"earlier file"
    );
    assert_eq!(std::fs::read(d.outbox.join("x.dmp.1")).unwrap(), clean());
}

#[test]
fn two_watchers_cannot_share_a_work_directory() {
    let d = Dirs::new();
    let mut first = d.spawn(&[]);
    // Wait until the first one holds the lock (its work directory exists with the lock file).
    let lock = d.inbox.join(".dumpguard-work/.lock");
    for _ in 0..500 {
        if lock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut second = None;
    for _ in 0..50 {
        let o = d.once(&[]);
        if !o.status.success() {
            second = Some(String::from_utf8_lossy(&o.stderr).into_owned());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let msg = second.expect("a second watcher ran beside the first");
    assert!(msg.contains("another watcher"), "{msg}");
}

/// The three kinds of file of the crash tests.
fn mixed(d: &mut Dirs, prefix: &str, n: usize, seed: u64) {
    let (c, k) = (clean(), keys());
    for i in 0..n {
        match i % 3 {
            0 => d.drop_file(&format!("{prefix}{i:03}-clean.dmp"), &c, Expect::Allow),
            1 => d.drop_file(&format!("{prefix}{i:03}-keys.dmp"), &k, Expect::Redacted),
            _ => d.drop_file(
                &format!("{prefix}{i:03}-raw.bin"),
                &noise(200_000, seed + i as u64),
                Expect::Block,
            ),
        }
    }
}

#[test]
fn killed_at_every_step_boundary_then_restarted_loses_and_duplicates_nothing() {
    let mut crash_points = 0;
    for k in 1.. {
        let mut d = Dirs::new();
        mixed(&mut d, "f", 3, 11);
        let st = d
            .command(&["--once", "--redact"])
            .env("DUMPGUARD_WATCH_CRASH_AFTER", k.to_string())
            .status()
            .unwrap();
        if st.success() {
            break; // k is past the last step: the whole run completed
        }
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.signal(), Some(9), "step {k}: {st:?}");
        crash_points += 1;
        let o = d.once(&["--redact"]);
        assert!(
            o.status.success(),
            "restart after step {k}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        d.check();
        assert!(k < 200, "the protocol does not terminate");
    }
    assert!(
        crash_points >= 15,
        "only {crash_points} step boundaries exercised"
    );
}

#[test]
fn killed_at_random_moments_then_restarted_loses_and_duplicates_nothing() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("random kill schedule seed: {seed}");
    let mut rng = seed | 1;
    let mut next = move |m: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % m
    };
    // Kill moments are drawn from the time one batch really takes on this machine (start-up
    // included), so the schedule lands inside the work on a fast CI runner as on a slow laptop.
    let batch_ms = {
        let mut cal = Dirs::new();
        mixed(&mut cal, "c", 3, 7);
        let t = std::time::Instant::now();
        assert!(cal.once(&["--redact"]).status.success());
        (t.elapsed().as_millis() as u64).max(20)
    };
    eprintln!("one batch of 3 takes {batch_ms} ms here");
    let mut d = Dirs::new();
    mixed(&mut d, "a", 18, 100);
    let (mut interrupted, mut busy) = (0, 0);
    for round in 0..12 {
        if round > 0 {
            // More files arrive while the watcher keeps being killed.
            mixed(&mut d, &format!("r{round}-"), 3, 1000 + round);
        }
        let mut child = d.spawn(&["--redact"]);
        std::thread::sleep(Duration::from_millis(next(batch_ms)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let pending = Dirs::listing(&d.inbox).len();
        let in_work = Dirs::listing(&d.inbox.join(".dumpguard-work")).len();
        eprintln!("round {round}: {pending} waiting, {in_work} in progress at the kill");
        interrupted += usize::from(in_work > 0);
        busy += usize::from(pending + in_work > 0);
    }
    // The schedule must actually have hit the watcher while it was working.
    assert!(
        busy >= 3,
        "only {busy} kills landed while files were pending"
    );
    eprintln!("{interrupted} kills landed with a file in progress");
    let o = d.once(&["--redact"]);
    assert!(
        o.status.success(),
        "final run: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    d.check();
}
