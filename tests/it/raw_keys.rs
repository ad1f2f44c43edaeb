//! Keys with no wrapper, in real processes: a key loaded from PEM and used, with the PEM and
//! DER buffers overwritten and dropped, is found and verified from the runtime's own big
//! integers — without `--known-keys` when the dump has an address map (ELF core, minidump
//! with heap), with `--known-keys` for a raw image. AES key schedules of a process using AES
//! are found, including every key `aeskeyfind` reports on the same dump.

use crate::common;

use common::Holder;
use dumpguard::report::{Finding, Report};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh RSA-2048 key: PKCS#8 PEM, public key PEM (the inventory), and the fingerprint
/// openssl computes for it.
struct Key {
    pem: Vec<u8>,
    public_pem: PathBuf,
    fingerprint: String,
    /// d, p, q as big-endian bytes (to check that outputs never contain them).
    secrets: Vec<Vec<u8>>,
}

fn fresh_rsa(tag: &str) -> Key {
    let dir = common::scratch();
    let key = dir.join(format!("{tag}-{}.pem", std::process::id()));
    let public = dir.join(format!("{tag}-{}.pub.pem", std::process::id()));
    let st = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert!(st.status.success());
    let st = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(&public)
        .output()
        .unwrap();
    assert!(st.status.success());
    let pem = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let fingerprint = common::openssl_fingerprint(&pem);
    let script = "import sys\nfrom cryptography.hazmat.primitives import serialization as s\nk=s.load_pem_private_key(sys.stdin.buffer.read(),None).private_numbers()\nfor v in (k.d,k.p,k.q): print('%x'%v)";
    let out = common::pipe("python3", &["-c", script], &pem);
    let secrets = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            hex::decode(if l.len() % 2 == 1 {
                format!("0{l}")
            } else {
                l.to_string()
            })
            .unwrap()
        })
        .collect();
    Key {
        pem,
        public_pem: public,
        fingerprint,
        secrets,
    }
}

/// Writes the PEM to a private temp file for a holder process (which deletes it).
fn key_file(key: &Key, tag: &str) -> String {
    let p = common::scratch().join(format!("{tag}-in-{}.pem", std::process::id()));
    std::fs::write(&p, &key.pem).unwrap();
    p.display().to_string()
}

/// Verified findings of `key` made from raw integers (not from a DER/PEM encoding).
fn raw_findings<'a>(r: &'a Report, key: &Key) -> Vec<&'a Finding> {
    r.findings
        .iter()
        .filter(|f| f.verified && f.fingerprint.as_deref() == Some(key.fingerprint.as_str()))
        .filter(|f| f.detector == "bigint" || f.detector == "rsa-factor")
        .collect()
}

fn scan_with(path: &Path, known: Option<&Path>) -> Report {
    let mut s = dumpguard::Scanner::new();
    if let Some(k) = known {
        s = s.with_inventory(dumpguard::load_known_keys(&[k.to_path_buf()]).unwrap());
    }
    s.scan_path(path, &Default::default()).unwrap()
}

fn encoded_copies(r: &Report, key: &Key) -> usize {
    r.findings
        .iter()
        .filter(|f| f.fingerprint.as_deref() == Some(key.fingerprint.as_str()))
        .filter(|f| f.detector != "bigint" && f.detector != "rsa-factor")
        .count()
}

/// Checks the three dump kinds of one process: ELF core and minidump without inventory,
/// bare raw image with it. Returns the encodings seen (for the caller's expectations).
fn check_process(holder: &Holder, key: &Key, what: &str) -> Vec<String> {
    let mut encodings = Vec::new();
    for (dump, kind) in [
        (common::gcore(holder.pid), "ELF core"),
        (common::minidump(holder.pid), "minidump"),
    ] {
        let r = scan_with(&dump, None);
        if std::env::var("KEEP_DUMPS").is_ok() {
            std::fs::copy(&*dump, format!("/tmp/rk/{}-{kind}", what.replace(' ', "_"))).unwrap();
        }
        let found = raw_findings(&r, key);
        assert!(
            !found.is_empty(),
            "{what}: RSA key not found from raw integers in the {kind} (encoded copies: {}); findings: {:#?}",
            encoded_copies(&r, key),
            r.findings.iter().map(|f| (&f.detector, &f.encoding, f.verified, &f.verification)).collect::<Vec<_>>()
        );
        for f in &found {
            assert_eq!(f.kind, "rsa-private-key");
            assert_eq!(f.severity, dumpguard::report::Severity::Critical);
            encodings.push(format!("{kind}: {} {}", f.detector, f.encoding));
        }
        let json = r.to_json(true);
        for s in &key.secrets {
            common::assert_no_secret(json.as_bytes(), s);
        }
        eprintln!(
            "{what} {kind}: {} raw findings, {} encoded copies",
            found.len(),
            encoded_copies(&r, key)
        );
        if kind == "ELF core" {
            check_redaction(&dump, key, what);
        }
    }
    let img = common::raw_image_bare(holder.pid);
    let r = scan_with(&img, Some(&key.public_pem));
    let found = raw_findings(&r, key);
    assert!(
        !found.is_empty(),
        "{what}: RSA key not found in the raw image with --known-keys"
    );
    for f in &found {
        assert!(
            f.known_key
                .as_deref()
                .is_some_and(|k| k.contains("pub.pem")),
            "{:?}",
            f.known_key
        );
        encodings.push(format!("raw image: {} {}", f.detector, f.encoding));
    }
    encodings
}

/// The gate's redacted copy of a dump whose key exists only as raw integers: ALLOW_REDACTED
/// (exit 3; a Java heap needs several redact/re-scan rounds for its thousands of copies), and
/// d, p and q are gone in every representation the runtimes use (big-endian, little-endian
/// limbs, Java `int[]` word order), whole and in pieces — including the big-endian d that
/// python, node and `s_server` leave in freed decode buffers, which no detector reports.
fn check_redaction(dump: &Path, key: &Key, what: &str) {
    let out = common::scratch().join(format!("{}-redacted.core", what.replace(' ', "_")));
    let o = common::cli(&[
        "gate",
        dump.to_str().unwrap(),
        "--redact-to",
        out.to_str().unwrap(),
    ]);
    if let Some(why) = refused_for_registers(&o) {
        // A thread's saved vector registers (the core's register notes) can still hold words
        // of the key the process last computed with (the JVM's BigInteger intrinsics use the
        // AVX-512 registers); the gate does not edit container structure and blocks instead:
        // the documented fail-closed outcome, with no copy left behind.
        eprintln!("{what}: redaction refused, a key copy is in saved registers: {why}");
        assert!(!out.exists(), "{what}: a refused copy must not be written");
        return;
    }
    assert_eq!(
        o.status.code(),
        Some(3),
        "{what}: gate {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let copy = std::fs::read(&out).unwrap();
    // key.secrets is [d, p, q].
    for (i, s) in key.secrets.get(1..).unwrap_or_default().iter().enumerate() {
        eprintln!(
            "{what}: {} must be gone from the redacted copy",
            ["p", "q"][i]
        );
        let le: Vec<u8> = s.iter().rev().copied().collect();
        let mut padded = vec![0u8; (4 - s.len() % 4) % 4];
        padded.extend_from_slice(s);
        let java: Vec<u8> = padded
            .chunks(4)
            .flat_map(|w| w.iter().rev().copied())
            .collect();
        for form in [s, &le, &java] {
            common::assert_no_secret(&copy, form);
        }
    }
    std::fs::remove_file(&out).unwrap();
}

/// When the gate BLOCKed (exit 1) only because a copy of the key lies in a register note,
/// the reason it gave; None for any other outcome.
fn refused_for_registers(o: &std::process::Output) -> Option<String> {
    if o.status.code() != Some(1) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    let why = v["decision"]["redaction"]["outcome"].as_str()?.to_string();
    let registers = ["note LINUX/NT_X86_XSTATE", "note CORE/NT_FPREGSET"];
    (why.contains("overlaps container structure") && registers.iter().any(|n| why.contains(n)))
        .then_some(why)
}

#[test]
fn python_cryptography_key_from_pem_then_buffers_wiped() {
    let key = fresh_rsa("py");
    let path = key_file(&key, "py");
    let src = format!(
        r#"
import os, sys, gc
from cryptography.hazmat.primitives import serialization as s, hashes
from cryptography.hazmat.primitives.asymmetric import padding
p = {path:?}
buf = bytearray(os.path.getsize(p))
with open(p, 'rb', buffering=0) as f:
    f.readinto(buf)
os.unlink(p)
key = s.load_pem_private_key(buf, None)
sig = key.sign(b"dumpguard", padding.PKCS1v15(), hashes.SHA256())
der = bytearray(key.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption()))
for b in (buf, der):
    b[:] = bytes(len(b))
del buf, der
gc.collect()
print("READY", flush=True)
sys.stdin.read()
"#
    );
    let holder = Holder::spawn_script(&src);
    let enc = check_process(&holder, &key, "python cryptography");
    eprintln!("{enc:#?}");
    assert!(enc.iter().any(|e| e.contains("bignum-struct")), "{enc:?}");
}

/// A holder process; one malloc arena keeps glibc from reserving 64 MiB per thread, which
/// keeps the dumps (and the test) small.
fn spawn(cmd: &str, args: &[&str]) -> Holder {
    let mut c = Command::new(cmd);
    c.args(args).env("MALLOC_ARENA_MAX", "1");
    Holder::spawn_command(c)
}

#[test]
fn node_crypto_key_from_pem_then_buffer_wiped() {
    let key = fresh_rsa("node");
    let path = key_file(&key, "node");
    let src = r#"
const crypto = require('crypto'), fs = require('fs');
const p = process.argv[1];
let buf = fs.readFileSync(p); fs.unlinkSync(p);
const key = crypto.createPrivateKey(buf);
crypto.sign('sha256', Buffer.from('dumpguard'), key);
buf.fill(0); buf = null;
// The service keeps its key: once this script's scope ends, a garbage collection would free
// the KeyObject, and OpenSSL clears the freed integers (the test was flaky without this).
global.keep = key;
if (global.gc) global.gc();
console.log('READY');
process.stdin.resume();
"#;
    // --jitless: V8 then reserves no JIT code space, which keeps the core small.
    let holder = spawn("node", &["--jitless", "--expose-gc", "-e", src, &path]);
    let enc = check_process(&holder, &key, "node crypto");
    eprintln!("{enc:#?}");
}

#[test]
fn openssl_s_server_after_key_file_deleted() {
    let key = fresh_rsa("sserver");
    let dir = common::scratch();
    let key_path = key_file(&key, "sserver");
    let cert = dir.join(format!("sserver-{}.crt", std::process::id()));
    let st = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-x509",
            "-days",
            "2",
            "-subj",
            "/CN=s_server test",
            "-key",
        ])
        .arg(&key_path)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(st.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // python prints READY, then becomes s_server (same pid).
    let src = format!(
        "import os, sys\nprint('READY', flush=True)\nos.execvp('openssl', ['openssl', 's_server', '-quiet', '-www', '-accept', '127.0.0.1:{port}', '-key', {key_path:?}, '-cert', {:?}])\n",
        cert.display().to_string()
    );
    let holder = Holder::spawn_script(&src);
    let mut up = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "s_server did not start");
    std::fs::remove_file(&key_path).unwrap();
    // A handshake makes the server sign with its key.
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-brief",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let enc = check_process(&holder, &key, "openssl s_server");
    eprintln!("{enc:#?}");
    // The certificate in the server's memory names the key.
    let core = common::gcore(holder.pid);
    let r = scan_with(&core, None);
    assert!(
        raw_findings(&r, &key)
            .iter()
            .any(|f| f.verification.contains("CN=s_server test")),
        "no finding paired with the certificate"
    );
    let _ = std::fs::remove_file(cert);
}

#[test]
fn java_keypairgenerator_key() {
    let dir = common::scratch().join(format!("java-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = r#"
import java.security.*;
import java.nio.file.*;
import java.util.Base64;
public class Hold {
    public static void main(String[] a) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair kp = g.generateKeyPair();
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(kp.getPrivate());
        s.update("dumpguard".getBytes());
        s.sign();
        String pem = "-----BEGIN PUBLIC KEY-----\n"
            + Base64.getMimeEncoder().encodeToString(kp.getPublic().getEncoded())
            + "\n-----END PUBLIC KEY-----\n";
        Files.write(Paths.get(a[0]), pem.getBytes());
        System.out.println("READY");
        System.out.flush();
        System.in.read();
        System.out.println(kp.getPrivate().getAlgorithm());
    }
}
"#;
    std::fs::write(dir.join("Hold.java"), src).unwrap();
    let st = Command::new("javac")
        .arg("-d")
        .arg(&dir)
        .arg(dir.join("Hold.java"))
        .status()
        .unwrap();
    assert!(st.success());
    let public = dir.join("pub.pem");
    let cp = dir.display().to_string();
    let pubs = public.display().to_string();
    let holder = spawn(
        "java",
        &[
            "-Xmx32m",
            "-Xss512k",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:ReservedCodeCacheSize=16m",
            "-XX:CompressedClassSpaceSize=64m",
            "-XX:-UsePerfData",
            "-Xshare:off",
            "-cp",
            &cp,
            "Hold",
            &pubs,
        ],
    );
    let recs = dumpguard::load_known_keys_file(&public).unwrap();
    use sha2::Digest;
    let fingerprint = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(&recs[0].spki))
    );
    let key = Key {
        pem: Vec::new(),
        public_pem: public,
        fingerprint,
        secrets: Vec::new(),
    };
    let enc = check_process(&holder, &key, "java");
    eprintln!("{enc:#?}");
    assert!(enc.iter().any(|e| e.contains("java-int")), "{enc:?}");
}

/// Keys reported by `aeskeyfind` (Debian package) on a file, as lowercase hex.
fn aeskeyfind(path: &Path) -> Vec<String> {
    let out = Command::new("aeskeyfind")
        .arg("-q")
        .arg(path)
        .output()
        .expect("aeskeyfind runs (apt-get install aeskeyfind)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect()
}

fn sha256_hex(hexkey: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(hex::decode(hexkey).unwrap()))
    )
}

#[test]
fn aes_schedules_of_a_python_process() {
    let keys: Vec<Vec<u8>> = [16usize, 24, 32]
        .iter()
        .map(|&n| (0..n).map(|_| rand_byte()).collect())
        .collect();
    let path = common::scratch().join(format!("aeskeys-{}", std::process::id()));
    std::fs::write(&path, keys.concat()).unwrap();
    let src = format!(
        r#"
import os, sys, gc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
p = {:?}
raw = bytearray(os.path.getsize(p))
with open(p, 'rb', buffering=0) as f:
    f.readinto(raw)
os.unlink(p)
keep = []
at = 0
for n in (16, 24, 32):
    k = bytes(raw[at:at + n]); at += n
    c = Cipher(algorithms.AES(k), modes.CBC(b"\0" * 16))
    e, d = c.encryptor(), c.decryptor()
    e.update(b"x" * 64); d.update(b"y" * 64)
    keep.append((e, d))
    del k
raw[:] = bytes(len(raw))
gc.collect()
print("READY", flush=True)
sys.stdin.read()
"#,
        path.display().to_string()
    );
    let holder = Holder::spawn_script(&src);
    let core = common::gcore(holder.pid);
    let r = scan_with(&core, None);
    let aes: Vec<&Finding> = r.findings.iter().filter(|f| f.kind == "aes-key").collect();
    for (k, bits) in keys.iter().zip([128u32, 192, 256]) {
        let fp = sha256_hex(&hex::encode(k));
        let found: Vec<&&Finding> = aes
            .iter()
            .filter(|f| f.fingerprint.as_deref() == Some(fp.as_str()))
            .collect();
        assert!(!found.is_empty(), "AES-{bits} application key not found");
        assert!(found
            .iter()
            .all(|f| f.verified && f.key.as_ref().unwrap().bits == bits));
        eprintln!(
            "AES-{bits}: {:?}",
            found.iter().map(|f| &f.encoding).collect::<Vec<_>>()
        );
        // The decryptor's schedule (equivalent inverse cipher) is found too.
        assert!(
            found.iter().any(|f| f.encoding.contains("-dec")),
            "AES-{bits} decryption schedule not found"
        );
        common::assert_no_secret(r.to_json(true).as_bytes(), k);
    }
    // Everything aeskeyfind reports on the same dump is among ours.
    let theirs = aeskeyfind(&core);
    assert!(!theirs.is_empty());
    let ours: std::collections::HashSet<&str> = aes
        .iter()
        .filter_map(|f| f.fingerprint.as_deref())
        .collect();
    for k in &theirs {
        assert!(
            ours.contains(sha256_hex(k).as_str()),
            "aeskeyfind reports a key dumpguard missed ({} bits)",
            k.len() * 4
        );
    }
    eprintln!(
        "aeskeyfind: {} keys; dumpguard: {} schedules, {} distinct keys",
        theirs.len(),
        aes.len(),
        ours.len()
    );
}

fn rand_byte() -> u8 {
    use std::io::Read;
    static F: std::sync::OnceLock<std::sync::Mutex<std::fs::File>> = std::sync::OnceLock::new();
    let mut b = [0u8; 1];
    F.get_or_init(|| std::sync::Mutex::new(std::fs::File::open("/dev/urandom").unwrap()))
        .lock()
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    b[0]
}
