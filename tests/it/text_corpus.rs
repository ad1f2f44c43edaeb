//! Issue #11 part 5: token rules must not fire `high` on ordinary source code and
//! documentation, which Python, Perl and node processes keep in memory. The corpus is built at
//! test time from this machine's own files — Python sources (the system's and the running
//! `python3`'s standard library and packages), Perl modules, /usr/share/doc (gzip'd documents
//! uncompressed) — at least 200 MB, and scanned as one raw image by the built binary: no
//! finding may be high or critical. (It holds RFC 6749's `Authorization: Basic czZCaGRS…`,
//! PyJWT's README token, nntplib's `user=None, password=None`, wget's
//! `http://foo:bar@myhost.` and xmlsec1's published example RSA key.)

use crate::common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The corpus must reach this size.
const MIN_BYTES: u64 = 200 << 20;
/// And stops growing here, to bound the test's time and disk use.
const MAX_BYTES: u64 = 512 << 20;
/// A single compressed document is read up to this size uncompressed (bounded expansion).
const MAX_GZ: u64 = 32 << 20;

/// Directories matching `parent/prefix*`.
fn dirs_with_prefix(parent: &str, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    v.sort();
    v
}

/// The library directory of the `python3` on PATH (its standard library and packages).
fn python_lib() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    p.is_dir().then_some(p)
}

/// Which files of a root go into the corpus.
type Wanted = fn(&Path) -> bool;

/// (root, which files of it) in the order they are appended.
fn sources() -> Vec<(PathBuf, Wanted)> {
    let python: Wanted = |p| p.extension().is_some_and(|e| e == "py");
    let perl: Wanted = |p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["pm", "pl", "pod"].contains(&e))
    };
    let doc: Wanted = |_| true;
    let mut v: Vec<(PathBuf, Wanted)> = vec![(PathBuf::from("/usr/share/doc"), doc)];
    for d in dirs_with_prefix("/usr/share", "perl") {
        v.push((d, perl));
    }
    for d in dirs_with_prefix("/usr/lib/x86_64-linux-gnu", "perl") {
        v.push((d, perl));
    }
    for d in dirs_with_prefix("/usr/lib", "python3") {
        v.push((d, python));
    }
    if let Some(d) = python_lib() {
        v.push((d, python));
    }
    v
}

/// Appends the machine's text files to `out` until `MAX_BYTES`; returns bytes written and
/// files read.
fn build_corpus(out: &Path) -> (u64, usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    let (mut total, mut files) = (0u64, 0usize);
    let mut seen = std::collections::HashSet::new();
    'all: for (root, wanted) in sources() {
        let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(&root)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| wanted(p))
            .collect();
        paths.sort();
        for p in paths {
            // Packages pip installed are whatever this machine was given, not ordinary text:
            // some ship real private keys on purpose (moto's mock-AWS CA key), which the gate
            // is right to report. The interpreter's standard library and Debian's packages stay.
            if p.components().any(|c| c.as_os_str() == "site-packages") {
                continue;
            }
            // /usr/lib/python3 and the interpreter's own library may overlap.
            let Ok(canon) = p.canonicalize() else {
                continue;
            };
            if !seen.insert(canon) {
                continue;
            }
            let mut buf = Vec::new();
            let Ok(f) = std::fs::File::open(&p) else {
                continue;
            };
            let ok = if p.extension().is_some_and(|e| e == "gz") {
                flate2::read::GzDecoder::new(f)
                    .take(MAX_GZ)
                    .read_to_end(&mut buf)
                    .is_ok()
            } else {
                f.take(MAX_GZ).read_to_end(&mut buf).is_ok()
            };
            if !ok {
                continue;
            }
            w.write_all(&buf).unwrap();
            w.write_all(b"\n").unwrap();
            total += buf.len() as u64 + 1;
            files += 1;
            if total >= MAX_BYTES {
                break 'all;
            }
        }
    }
    w.flush().unwrap();
    (total, files)
}

#[test]
fn source_and_documentation_text_gives_no_high_finding() {
    let corpus = common::scratch().join("text-corpus.raw");
    let t = std::time::Instant::now();
    let (size, files) = build_corpus(&corpus);
    let built = t.elapsed();
    assert!(
        size >= MIN_BYTES,
        "only {} MB of source and documentation text on this machine",
        size >> 20
    );
    let t = std::time::Instant::now();
    let out = common::cli(&["scan", corpus.to_str().unwrap(), "--format", "json"]);
    let scanned = t.elapsed();
    std::fs::remove_file(&corpus).unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("scan output: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        report["input"]["complete"].as_bool(),
        Some(true),
        "{}",
        report["input"]
    );
    assert_eq!(report["input"]["scanned_bytes"].as_u64(), Some(size));
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let mut by: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut bad = Vec::new();
    for f in &findings {
        let sev = f["severity"].as_str().unwrap_or("?").to_string();
        let what = f["token"]["rule"]
            .as_str()
            .or(f["kind"].as_str())
            .unwrap_or("?")
            .to_string();
        if sev == "high" || sev == "critical" {
            bad.push(format!(
                "{sev} {what} at offset {}: {}",
                f["offset"], f["verification"]
            ));
        }
        *by.entry((sev, what)).or_default() += 1;
    }
    eprintln!(
        "corpus: {} files, {} MB, built in {built:.1?}, scanned in {scanned:.1?}; findings: {by:?}",
        files,
        size >> 20
    );
    assert!(
        bad.is_empty(),
        "high/critical findings on plain source and documentation text:\n{}",
        bad.join("\n")
    );
}
