//! What the scanner reads (issues 11 part 3 and 12 parts 1, 4, 7): compressed and archived
//! dumps of real processes opened by `scan` and `gate` with the member named; bomb-like and
//! unreadable containers bounded and incomplete; files truncated or rewritten by a concurrent
//! process while `gate` or `sweep` maps them; zero-size procfs files; configuration files
//! that are devices or FIFOs; symlinks and FIFOs met by `scan DIR`.

use crate::common;

use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn code(out: &std::process::Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {:?}", out.status))
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(s(p)).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

// ============================================================ compressed and archived input

/// A minidump of a real process holding a fresh RSA key (PKCS#8 DER in its heap), made once
/// per test binary, with the key's openssl fingerprint and secret bytes.
struct KeyDump {
    bytes: Vec<u8>,
    fingerprint: String,
    secret: Vec<u8>,
}

fn key_dump() -> &'static KeyDump {
    static D: OnceLock<KeyDump> = OnceLock::new();
    D.get_or_init(|| {
        let key = common::fresh_keys()
            .into_iter()
            .find(|k| k.name.starts_with("rsa"))
            .unwrap();
        let holder =
            common::Holder::spawn_native(b"stack", b"global", std::slice::from_ref(&key.pkcs8_der));
        let dump = common::minidump(holder.pid);
        KeyDump {
            bytes: std::fs::read(&dump.path).unwrap(),
            fingerprint: key.fingerprint,
            secret: key.secret,
        }
    })
}

fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o600);
    h.set_cksum();
    b.append_data(&mut h, name, data).unwrap();
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The dump in every container the issue names, with the member the finding must name.
fn containers(dump: &[u8]) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let xz = {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 0);
        e.write_all(dump).unwrap();
        e.finish().unwrap()
    };
    let bz2 = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(dump).unwrap();
        e.finish().unwrap()
    };
    let zip = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("dumps/app.dmp", o).unwrap();
        w.write_all(dump).unwrap();
        w.finish().unwrap().into_inner()
    };
    vec![
        ("crash.dmp.gz", gzip(dump), "crash.dmp"),
        ("crash.dmp.xz", xz, "crash.dmp"),
        (
            "crash.dmp.zst",
            zstd::encode_all(dump, 1).unwrap(),
            "crash.dmp",
        ),
        ("crash.dmp.bz2", bz2, "crash.dmp"),
        ("crash.zip", zip, "dumps/app.dmp"),
        ("crash.tar", tar_of("dir/core.1234", dump), "dir/core.1234"),
        // Nested: a gzip holding a tar holding the dump.
        (
            "crash.tar.gz",
            gzip(&tar_of("dir/core.1234", dump)),
            "crash.tar!dir/core.1234",
        ),
    ]
}

#[test]
fn scan_and_gate_open_compressed_and_archived_dumps_and_name_the_member() {
    let kd = key_dump();
    let dir = tempfile::tempdir().unwrap();
    // Raw images allowed: the archive must still be opened, never taken as one.
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "version = 1\n[input]\nallow_raw = true\n").unwrap();
    for (name, bytes, member) in containers(&kd.bytes) {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();

        let out = common::cli(&["scan", "--format", "json", "-q", s(&p)]);
        assert_eq!(
            code(&out),
            1,
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        common::assert_no_secret(&out.stdout, &kd.secret);
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["input"]["complete"], true, "{name}: {}", r["input"]);
        assert_eq!(r["input"]["format"], "minidump", "{name}");
        assert_eq!(r["input"]["size"], bytes.len() as u64, "{name}");
        let f = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["fingerprint"] == kd.fingerprint.as_str())
            .unwrap_or_else(|| panic!("{name}: the key was not found: {r}"));
        assert_eq!(f["location"]["member"], member, "{name}");
        assert_eq!(f["verified"], true, "{name}");

        let out = common::cli(&["gate", "--policy", s(&policy), s(&p)]);
        assert_eq!(code(&out), 1, "{name}");
        common::assert_no_secret(&out.stdout, &kd.secret);
        let rec: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(rec["decision"]["verdict"], "BLOCK", "{name}");
        assert!(
            rec["decision"]["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["fingerprint"] == kd.fingerprint.as_str()
                    && f["disposition"] == "blocking"),
            "{name}: {}",
            rec["decision"]
        );
        // The record identifies the bytes judged: the archive's, with the input hash asked
        // for (BLAKE3 by default).
        assert_eq!(
            rec["input"]["blake3"],
            blake3::hash(&bytes).to_hex().as_str(),
            "{name}"
        );
        assert!(
            rec["input"].get("sha256").is_none(),
            "{name}: one input hash"
        );
        let out = common::cli(&[
            "gate",
            "--policy",
            s(&policy),
            "--input-hash",
            "sha256",
            s(&p),
        ]);
        let rec: Value = serde_json::from_slice(&out.stdout).unwrap();
        use sha2::Digest;
        assert_eq!(
            rec["input"]["sha256"],
            hex::encode(sha2::Sha256::digest(&bytes)),
            "{name}"
        );
    }
}

#[test]
fn gate_refuses_to_redact_an_archive_and_blocks() {
    let kd = key_dump();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("crash.dmp.gz");
    std::fs::write(&p, gzip(&kd.bytes)).unwrap();
    let out_copy = dir.path().join("redacted.dmp");
    let out = common::cli(&["gate", s(&p), "--redact-to", s(&out_copy)]);
    assert_eq!(code(&out), 1);
    let rec: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rec["decision"]["reasons"]
        .to_string()
        .contains("no redacted copy: the dump is a gzip archive"));
    assert!(!out_copy.exists());
}

#[test]
fn bomb_like_and_unreadable_containers_are_bounded_and_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    // 64 MiB of zeros gzip to ~64 KiB: far over a 10x budget with a 1 MiB floor.
    let bomb = dir.path().join("bomb.gz");
    std::fs::write(&bomb, gzip(&vec![0u8; 64 << 20])).unwrap();
    let bounds = dumpguard::ArchiveLimits {
        max_ratio: 10,
        min_budget: 1 << 20,
        ..Default::default()
    };
    let t = Instant::now();
    let r = dumpguard::Scanner::new()
        .scan_path_bounded(&bomb, &Default::default(), &bounds, &|_| {})
        .unwrap();
    assert!(!r.input.complete);
    assert!(
        r.input.warnings.iter().any(|w| w.contains("zip-bomb")),
        "{:?}",
        r.input.warnings
    );
    assert!(t.elapsed() < Duration::from_secs(20));

    // The gate bounds expansion by the policy's size limit, even with raw images allowed.
    let policy = dir.path().join("small.toml");
    std::fs::write(
        &policy,
        "version = 1\n[limits]\nmax_size_bytes = 1048576\n[input]\nallow_raw = true\n",
    )
    .unwrap();
    let out = common::cli(&["gate", "--policy", s(&policy), s(&bomb)]);
    assert_eq!(code(&out), 2);
    let rec: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rec["decision"]["verdict"], "BLOCK");
    assert_eq!(rec["input"]["complete"], false);

    // A nest deeper than the limit: the innermost archive is scanned raw, incomplete.
    let mut nest = b"clean".to_vec();
    for _ in 0..5 {
        nest = gzip(&nest);
    }
    let deep = dir.path().join("deep.gz");
    std::fs::write(&deep, &nest).unwrap();
    let out = common::cli(&["gate", "--policy", s(&policy), s(&deep)]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nesting limit"));

    // gzip magic and garbage: not openable, so never ALLOWed, even as a raw image.
    let bad = dir.path().join("bad.gz");
    std::fs::write(&bad, b"\x1f\x8b\x08\x00garbage that is not deflate at all").unwrap();
    for args in [
        vec!["gate", "--policy", s(&policy), s(&bad)],
        vec!["scan", "-q", s(&bad)],
    ] {
        let out = common::cli(&args);
        assert_eq!(code(&out), 2, "{args:?}");
    }
}

// ============================================================ zero-size and special files

#[test]
fn a_zero_size_procfs_file_with_a_token_is_read_not_passed_as_empty() {
    // A child whose environment holds a fresh GitHub token (30 base62 characters and their
    // CRC32 in 6 more, as the rule checks); its /proc/PID/environ reports size 0.
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ (u64::from(std::process::id()) << 32);
    let body: String = (0..30)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            B62[(x >> 33) as usize % 62] as char
        })
        .collect();
    let mut v = crc32fast::hash(body.as_bytes()) as u64;
    let mut check = [b'0'; 6];
    for c in check.iter_mut().rev() {
        *c = B62[(v % 62) as usize];
        v /= 62;
    }
    let token = format!("ghp_{body}{}", String::from_utf8_lossy(&check));
    let mut child = Command::new("sleep")
        .arg("30")
        .env("GITHUB_TOKEN", &token)
        .spawn()
        .unwrap();
    let environ = PathBuf::from(format!("/proc/{}/environ", child.id()));
    assert_eq!(std::fs::metadata(&environ).unwrap().len(), 0);
    // Raw images allowed: only the token may block.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "version = 1\n[input]\nallow_raw = true\n").unwrap();
    let out = common::cli(&["gate", "--policy", s(&policy), s(&environ)]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stdout));
    common::assert_no_secret(&out.stdout, token.as_bytes());
    let rec: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rec["decision"]["verdict"], "BLOCK");
    assert!(
        rec["input"]["size"].as_u64().unwrap() > 0,
        "{}",
        rec["input"]
    );
    assert!(rec["input"]["warnings"]
        .to_string()
        .contains("read as a stream"));
    assert!(
        rec["decision"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"].as_str().unwrap().contains("github")
                && f["disposition"] == "blocking"),
        "{}",
        rec["decision"]
    );
}

#[test]
fn scan_dir_reports_symlinks_and_fifos_instead_of_skipping_them_silently() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clean.bin"), b"nothing here").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link")).unwrap();
    mkfifo(&dir.path().join("fifo"));
    let out = common::cli(&["scan", "-q", "--format", "jsonl", s(dir.path())]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("link: skipped: a symbolic link"), "{err}");
    assert!(err.contains("fifo: skipped: not a regular file"), "{err}");
    // The regular file was still scanned.
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

// ============================================================ configuration files

#[test]
fn configuration_files_that_are_devices_or_fifos_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let clean = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-dumps/clean.dmp");
    for bad in [
        Path::new("/dev/zero"),
        Path::new("/dev/null"),
        fifo.as_path(),
    ] {
        let cases: Vec<Vec<&str>> = vec![
            vec!["gate", "--policy", s(bad), s(&clean)],
            vec!["gate", "--known-keys", s(bad), s(&clean)],
            vec!["scan", "-q", "--known-keys", s(bad), s(&clean)],
            vec!["scan", "-q", "--rules", s(bad), s(&clean)],
            vec!["rules", "check", "--rules", s(bad)],
            vec!["audit", "verify", s(bad)],
            // A device or a FIFO as the audit log would swallow (or block on) the records
            // the gate promises to keep.
            vec!["gate", "--audit-log", s(bad), s(&clean)],
            vec!["scan", "-q", "--baseline", s(bad), s(&clean)],
            vec!["gate", "--baseline", s(bad), s(&clean)],
        ];
        for args in cases {
            let t = Instant::now();
            let out = common::cli(&args);
            assert_eq!(
                code(&out),
                2,
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(t.elapsed() < Duration::from_secs(10), "{args:?}");
            let text = String::from_utf8_lossy(&out.stderr).to_string()
                + &String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("not a regular file"), "{args:?}: {text}");
        }
    }
}

// ============================================================ files that change under a scan

/// A 256 MiB file of pseudo-random bytes: long enough to scan that a concurrent process can
/// truncate or rewrite it mid-scan.
fn big_file(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for b in block.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    for i in 0..256u32 {
        block[..4].copy_from_slice(&i.to_le_bytes());
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
    p
}

/// Waits until process `pid` has `path` memory-mapped (its scan has begun).
fn wait_mapped(pid: u32, path: &Path) {
    let want = path.canonicalize().unwrap();
    let want = want.to_str().unwrap();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        if std::fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|m| m.contains(want)) {
            return;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    panic!("{want} was never mapped by {pid}");
}

/// Runs `gate` on a big file and, once it has the file mapped, lets `change` alter the file.
fn gate_while(change: impl FnOnce(&Path)) -> (i32, Value, Vec<Value>) {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let p = big_file(dir.path(), "big.raw");
    let log = dir.path().join("audit.jsonl");
    let report = dir.path().join("record.json");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "version = 1\n[input]\nallow_raw = true\n").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_dumpguard"))
        .args(["gate", "-q", "--policy", s(&policy), "--audit-log", s(&log)])
        .args(["--report", s(&report), s(&p)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_mapped(child.id(), &p);
    change(&p);
    let out = child.wait_with_output().unwrap();
    let code = code(&out);
    let record: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let audit: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let verify = common::cli(&["audit", "verify", s(&log)]);
    assert_eq!(code_of(&verify), 0);
    (code, record, audit)
}

fn code_of(out: &std::process::Output) -> i32 {
    code(out)
}

#[test]
fn a_dump_truncated_during_the_gate_is_blocked_with_a_record_and_an_audit_entry() {
    let (code, record, audit) = gate_while(|p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(4096)
            .unwrap()
    });
    assert_eq!(code, 2, "{}", record["decision"]);
    assert_eq!(record["decision"]["verdict"], "BLOCK");
    assert_eq!(record["input"]["complete"], false);
    assert!(
        record["decision"]["reasons"]
            .to_string()
            .contains("truncated while it was scanned"),
        "{}",
        record["decision"]["reasons"]
    );
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["event"]["verdict"], "BLOCK");
}

#[test]
fn a_dump_rewritten_during_the_gate_is_blocked_with_a_record_and_an_audit_entry() {
    let (code, record, audit) = gate_while(|p| {
        let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        // Same size, new bytes, early in the file (the scan may already be past them).
        f.write_all_at(b"rewritten behind the scan", 100).unwrap();
    });
    assert_eq!(code, 2, "{}", record["decision"]);
    assert_eq!(record["decision"]["verdict"], "BLOCK");
    assert!(
        record["decision"]["reasons"]
            .to_string()
            .contains("modified while it was scanned"),
        "{}",
        record["decision"]["reasons"]
    );
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["event"]["verdict"], "BLOCK");
}

#[test]
fn a_file_truncated_while_mapped_makes_the_scan_incomplete_not_a_crash() {
    // In-process, deterministic: the library maps the file, another descriptor truncates it,
    // then the scan reads past the new end.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.raw");
    std::fs::write(&p, vec![0x41u8; 1 << 20]).unwrap();
    let dump = dumpguard::Dump::open(&p).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(8192)
        .unwrap();
    let r = dumpguard::Scanner::new().scan_dump(&dump, "t.raw", &Default::default(), &|_| {});
    assert!(!r.input.complete);
    assert!(r.input.warnings.iter().any(|w| w.contains("truncated")));
    // An untouched file stays complete.
    let q = dir.path().join("u.raw");
    std::fs::write(&q, vec![0x41u8; 1 << 20]).unwrap();
    assert!(common::scan(&q).input.complete);
}

#[test]
fn sweep_lists_a_file_truncated_under_it_and_goes_on() {
    let kd = key_dump();
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let root = dir.path().join("tree");
    std::fs::create_dir(&root).unwrap();
    let big = big_file(&root, "a-big.raw");
    std::fs::write(root.join("z-key.dmp"), &kd.bytes).unwrap();
    let out_file = dir.path().join("out.jsonl");
    let child = Command::new(env!("CARGO_BIN_EXE_dumpguard"))
        .args([
            "sweep",
            s(&root),
            "--state",
            s(&dir.path().join("state.sqlite")),
        ])
        .args(["--out", s(&out_file), "-j", "1", "--min-age", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_mapped(child.id(), &big);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 2);
    let lines: Vec<Value> = std::fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let file_is = |l: &&Value, name: &str| {
        l["sweep"]["file"]
            .as_str()
            .is_some_and(|p| p.ends_with(name))
    };
    let big_line = lines
        .iter()
        .find(|l| file_is(l, "a-big.raw"))
        .expect("the truncated file is listed");
    assert_eq!(
        big_line["sweep"]["status"], "failed",
        "{}",
        big_line["sweep"]
    );
    assert_eq!(big_line["input"]["complete"], false);
    assert!(big_line.to_string().contains("truncated"), "{big_line}");
    let key_line = lines
        .iter()
        .find(|l| file_is(l, "z-key.dmp"))
        .expect("the sweep went on to the next file");
    assert!(key_line["findings"].to_string().contains(&kd.fingerprint));
}
