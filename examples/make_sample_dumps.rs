//! Recreates `sample-dumps/`: real dumps of a small process holding freshly generated TEST
//! keys (RSA-2048 and P-256, marked as test keys in the process's memory), and of a clean
//! process. Run: `cargo run --example make_sample_dumps -- sample-dumps`
//! Needs: cc, openssl, gdb (gcore). The keys are generated at run time and never saved
//! anywhere but inside the dumps; they protect nothing.

use minidump_writer::app_memory::AppMemory;
use minidump_writer::minidump_writer::MinidumpWriterConfig;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const MARK: &[u8] = b"DUMPGUARD TEST KEY - generated for sample-dumps, protects nothing\n";

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn genkey(args: &[&str]) -> Vec<u8> {
    run(Command::new("openssl").arg("genpkey").args(args))
}

fn holder(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/common/holder.c");
    let bin = dir.join("holder");
    run(Command::new("cc").args(["-O0", "-o"]).arg(&bin).arg(src));
    bin
}

/// Starts the holder with the given stack/global/heap blobs and waits until it is ready.
fn spawn(bin: &Path, dir: &Path, blobs: [&[u8]; 3]) -> std::process::Child {
    let mut args = Vec::new();
    for (i, b) in blobs.iter().enumerate() {
        let p = dir.join(format!("blob{i}"));
        std::fs::write(&p, b).unwrap();
        args.push(p);
    }
    let mut child = Command::new(bin)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "READY");
    child
}

fn gcore(pid: u32, out: &Path) {
    let prefix = out.with_extension("tmp");
    run(Command::new("gcore")
        .arg("-o")
        .arg(&prefix)
        .arg(pid.to_string()));
    let mut made = prefix.into_os_string();
    made.push(format!(".{pid}"));
    std::fs::rename(made, out).unwrap();
}

fn minidump(pid: u32, out: &Path) {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let app = maps
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|p| p.starts_with("rw"))
                && !l.contains("[v")
        })
        .filter_map(|l| {
            let (a, b) = l.split_whitespace().next()?.split_once('-')?;
            let (a, b) = (
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            );
            Some(AppMemory {
                ptr: a,
                length: b - a,
            })
        })
        .collect();
    let mut f = std::fs::File::create(out).unwrap();
    let mut cfg = MinidumpWriterConfig::new(pid as i32, pid as i32);
    cfg.set_app_memory(app);
    cfg.write(&mut f).expect("minidump-writer");
    f.flush().unwrap();
}

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "sample-dumps".into()),
    );
    std::fs::create_dir_all(&out).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bin = holder(tmp.path());

    let rsa = genkey(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
    let ec = genkey(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let ec_der = run(Command::new("openssl")
        .args(["pkey", "-outform", "DER"])
        .stdin(Stdio::piped())
        .arg("-in")
        .arg({
            let p = tmp.path().join("ec.pem");
            std::fs::write(&p, &ec).unwrap();
            p
        }));
    let utf16: Vec<u8> = String::from_utf8_lossy(&rsa)
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let stack = [MARK, &ec_der[..]].concat();
    let global = [MARK, &utf16[..]].concat();
    let heap = [MARK, &rsa[..], MARK, &ec[..]].concat();
    let mut child = spawn(&bin, tmp.path(), [&stack, &global, &heap]);
    gcore(child.id(), &out.join("test-keys.core"));
    minidump(child.id(), &out.join("test-keys.dmp"));
    child.kill().unwrap();
    child.wait().unwrap();

    let clean = b"nothing secret here\n";
    let mut child = spawn(&bin, tmp.path(), [clean, clean, clean]);
    minidump(child.id(), &out.join("clean.dmp"));
    child.kill().unwrap();
    child.wait().unwrap();
    for name in ["test-keys.core", "test-keys.dmp", "clean.dmp"] {
        let p = out.join(name);
        println!(
            "{} ({} bytes)",
            p.display(),
            std::fs::metadata(&p).unwrap().len()
        );
    }
}
