//! Raw Ed25519 and X25519 keys in real processes (issue #15): python `cryptography` (OpenSSL
//! `ECX_KEY`), a Go 1.19 program (`crypto/ed25519`'s 64-byte seed ‖ public key), PyNaCl
//! (libsodium's secret key in a Python `bytes`). Each process loads a freshly generated key
//! from a file it then deletes and overwrites its PEM buffer; no `--known-keys` is given. The
//! key must be found by the `raw-ed25519` detector, verified, with the fingerprint `openssl
//! pkey -pubout -outform DER | sha256sum` prints, in the gcore ELF core, the minidump-writer
//! minidump and a Windows-style full-memory minidump of the same process; no output carries
//! the seed, and the gate's redacted copy holds it in no form. Negatives: random and
//! compressed bytes, system libraries and a clean process give no `raw-ed25519` finding.

use crate::common;

use common::{DumpFile, Holder};
use dumpguard::report::{Report, Severity};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const DETECTOR: &str = "raw-ed25519";

/// A fresh test key: its PKCS#8 PEM, its raw private bytes (Ed25519 seed, X25519 scalar;
/// empty for RSA and EC) and the fingerprint openssl computes for it.
struct Key {
    pem: Vec<u8>,
    private: Vec<u8>,
    fingerprint: String,
}

/// Generates keys with python `cryptography`: `ed25519`, `x25519`, `rsa`, `p256`.
fn fresh(kinds: &[&str]) -> Vec<Key> {
    let src = r#"
import sys, json
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519, rsa, ec
from cryptography.hazmat.primitives import serialization as s
gen = {"ed25519": ed25519.Ed25519PrivateKey.generate, "x25519": x25519.X25519PrivateKey.generate,
       "rsa": lambda: rsa.generate_private_key(65537, 2048), "p256": lambda: ec.generate_private_key(ec.SECP256R1())}
out = []
for kind in sys.argv[1:]:
    k = gen[kind]()
    pem = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode()
    raw = k.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption()).hex() if kind in ("ed25519", "x25519") else ""
    out.append({"pem": pem, "raw": raw})
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(src)
        .args(kinds)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "key generation: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let pem = k["pem"].as_str().unwrap().as_bytes().to_vec();
            Key {
                fingerprint: common::openssl_fingerprint(&pem),
                private: hex::decode(k["raw"].as_str().unwrap()).unwrap(),
                pem,
            }
        })
        .collect()
}

/// Writes `bytes` to a private scratch file for a holder process (which deletes it).
fn key_file(bytes: &[u8], tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = common::scratch().join(format!("{tag}-{n}.key"));
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

/// A holder process with one malloc arena (glibc would reserve 64 MiB per thread otherwise,
/// which only makes the dumps bigger).
fn spawn(cmd: &str, args: &[&str]) -> Holder {
    let mut c = Command::new(cmd);
    c.args(args).env("MALLOC_ARENA_MAX", "1");
    Holder::spawn_command(c)
}

/// The three dumps of one process, by name.
fn dumps(pid: i32) -> Vec<(DumpFile, &'static str)> {
    vec![
        (common::gcore(pid), "gcore ELF core"),
        (common::minidump(pid), "minidump-writer minidump"),
        (common::windows_full_minidump(pid), "Windows full minidump"),
    ]
}

fn scan(path: &Path) -> Report {
    common::scan(path)
}

/// Asserts `key` was found raw by this detector, verified, critical (an unnamed X25519 key:
/// medium, labelled ephemeral), with openssl's
/// fingerprint, and that no output of the scan carries its private bytes. Returns the
/// encodings it was found in.
fn assert_raw_key(r: &Report, key: &Key, what: &str) -> Vec<String> {
    let found: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.detector == DETECTOR && f.fingerprint.as_deref() == Some(&key.fingerprint))
        .collect();
    assert!(
        !found.is_empty(),
        "{what}: key {} not found raw; findings: {:#?}",
        key.fingerprint,
        r.findings
            .iter()
            .map(|f| (
                &f.detector,
                &f.encoding,
                &f.kind,
                f.verified,
                &f.fingerprint
            ))
            .collect::<Vec<_>>()
    );
    for f in &found {
        assert!(f.verified, "{what}: {}", f.verification);
        assert_eq!(f.status, "verified");
        if f.kind == "x25519-private-key" {
            // A raw X25519 key no public key names is, for all a dump can tell, a handshake's
            // ephemeral key: medium and labelled (src/scan/ephemeral_keys.rs).
            assert_eq!(f.severity, Severity::Medium, "{what}");
            assert!(
                f.known_key
                    .as_deref()
                    .is_some_and(|l| l.starts_with("likely an ephemeral key-exchange key")),
                "{what}: {:?}",
                f.known_key
            );
        } else {
            assert_eq!(f.severity, Severity::Critical);
        }
    }
    no_secret_in_outputs(r, &key.private);
    found.iter().map(|f| f.encoding.clone()).collect()
}

fn no_secret_in_outputs(r: &Report, secret: &[u8]) {
    if secret.is_empty() {
        return;
    }
    common::assert_no_secret(r.to_json(true).as_bytes(), secret);
    common::assert_no_secret(r.to_json(false).as_bytes(), secret);
}

/// The gate's redacted copy of `dump`: ALLOW_REDACTED, and every private key in `secrets` is
/// gone from it in every form `assert_no_secret` knows.
fn assert_redacted(dump: &Path, secrets: &[&[u8]], what: &str) {
    let out = common::scratch().join(format!("{}-redacted", what.replace(' ', "_")));
    let (copy, o) = common::redacted_copy(dump, &out, &[], what);
    for s in secrets {
        common::assert_no_secret(&copy, s);
        common::assert_no_secret(&o.stdout, s);
        common::assert_no_secret(&o.stderr, s);
    }
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn python_cryptography_ed25519_and_x25519_in_openssl_ecx_keys() {
    let keys = fresh(&["ed25519", "x25519"]);
    let (ed, x) = (&keys[0], &keys[1]);
    let src = r#"
import os, sys, gc
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import x25519
def load(p):
    buf = bytearray(os.path.getsize(p))
    with open(p, 'rb', buffering=0) as f:
        f.readinto(buf)
    os.unlink(p)
    k = s.load_pem_private_key(buf, None)
    buf[:] = bytes(len(buf))
    return k
signer = load(sys.argv[1])
kex = load(sys.argv[2])
sig = signer.sign(b"dumpguard")
peer = x25519.X25519PrivateKey.generate()
shared = kex.exchange(peer.public_key())
gc.collect()
print("READY", flush=True)
sys.stdin.read()
"#;
    let holder = spawn(
        "python3",
        &[
            "-c",
            src,
            &key_file(&ed.pem, "py-ed"),
            &key_file(&x.pem, "py-x"),
        ],
    );
    for (dump, kind) in dumps(holder.pid) {
        let r = scan(&dump);
        for (key, name) in [(ed, "Ed25519"), (x, "X25519")] {
            let enc = assert_raw_key(&r, key, &format!("python {name}, {kind}"));
            assert!(enc.iter().any(|e| e == "openssl-ecx-key"), "{enc:?}");
        }
        let f = r
            .findings
            .iter()
            .find(|f| f.detector == DETECTOR && f.fingerprint.as_deref() == Some(&ed.fingerprint))
            .unwrap();
        assert_eq!(f.kind, "ed25519-private-key");
        assert!(f.verification.contains("ECX_KEY"), "{}", f.verification);
        if kind == "gcore ELF core" {
            // The X25519 key is medium (an unnamed key-exchange key): below the built-in
            // policy's threshold, so the copy may keep it like a session key; the Ed25519
            // signing key must be gone.
            assert_redacted(&dump, &[&ed.private], "python ecx");
        }
    }
}

/// The Go holder, built once per test binary from the standard library only (no network),
/// with its build cache under target/.
fn go_holder() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = common::scratch().join("go-holder");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("go.mod"), "module holder\n\ngo 1.19\n").unwrap();
        std::fs::write(dir.join("main.go"), GO_HOLDER).unwrap();
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go");
        let out = dir.join("holder");
        let st = Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(&dir)
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOCACHE", cache.join("cache"))
            .env("GOPATH", cache.join("path"))
            .env("CGO_ENABLED", "0")
            .status()
            .expect("go (apt-get install golang-go; scripts/test.sh installs it)");
        assert!(st.success(), "go build of the holder failed");
        out
    })
}

/// A Go service: loads an RSA, an ECDSA P-256 and an Ed25519 key from PEM files, deletes the
/// files, overwrites the PEM text and the DER it decoded, signs with each key, keeps them.
const GO_HOLDER: &str = r#"package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"runtime"
)

func load(path string) crypto.Signer {
	buf, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	os.Remove(path)
	block, _ := pem.Decode(buf)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		panic(err)
	}
	for i := range block.Bytes {
		block.Bytes[i] = 0
	}
	for i := range buf {
		buf[i] = 0
	}
	return k.(crypto.Signer)
}

func main() {
	var keys []crypto.Signer
	for _, p := range os.Args[1:] {
		keys = append(keys, load(p))
	}
	digest := sha256.Sum256([]byte("dumpguard"))
	for _, k := range keys {
		var err error
		if _, isEd := k.(ed25519.PrivateKey); isEd {
			_, err = k.Sign(rand.Reader, []byte("dumpguard"), crypto.Hash(0))
		} else {
			_, err = k.Sign(rand.Reader, digest[:], crypto.SHA256)
		}
		if err != nil {
			panic(err)
		}
	}
	runtime.GC()
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(keys)
}
"#;

#[test]
fn go_rsa_ecdsa_and_ed25519_keys_loaded_from_deleted_pem_files() {
    let keys = fresh(&["rsa", "p256", "ed25519"]);
    let bin = go_holder();
    let files: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| key_file(&k.pem, &format!("go-{i}")))
        .collect();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let holder = spawn(bin.to_str().unwrap(), &args);
    for (dump, kind) in dumps(holder.pid) {
        let r = scan(&dump);
        for (key, name) in keys.iter().zip(["RSA", "ECDSA P-256", "Ed25519"]) {
            let any = r
                .findings
                .iter()
                .find(|f| f.verified && f.fingerprint.as_deref() == Some(key.fingerprint.as_str()));
            assert!(
                any.is_some(),
                "Go {name} key not found in the {kind}; findings: {:#?}",
                r.findings
                    .iter()
                    .map(|f| (&f.detector, &f.encoding, &f.kind, f.verified))
                    .collect::<Vec<_>>()
            );
            eprintln!(
                "Go {name} in the {kind}: {:?}",
                r.findings
                    .iter()
                    .filter(|f| f.fingerprint.as_deref() == Some(key.fingerprint.as_str()))
                    .map(|f| format!("{} {}", f.detector, f.encoding))
                    .collect::<Vec<_>>()
            );
        }
        let enc = assert_raw_key(&r, &keys[2], &format!("Go Ed25519, {kind}"));
        assert!(enc.iter().any(|e| e == "go-slice-seed-pk"), "{enc:?}");
        // No redaction round here: the Go core is 700 MB (gdb writes the runtime's
        // address-space reservations as zeros), and the python tests already show the seed
        // handed to the redaction.
    }
}

#[test]
fn pynacl_signing_key_held_by_libsodium_in_python_bytes() {
    let keys = fresh(&["ed25519"]);
    let key = &keys[0];
    let src = r#"
import os, sys, gc
import nacl.signing
p = sys.argv[1]
with open(p, 'rb') as f:
    seed = bytearray(f.read())
os.unlink(p)
sk = nacl.signing.SigningKey(bytes(seed))
seed[:] = bytes(len(seed))
signed = sk.sign(b"dumpguard")
gc.collect()
print("READY", flush=True)
sys.stdin.read()
"#;
    let holder = spawn("python3", &["-c", src, &key_file(&key.private, "nacl")]);
    for (dump, kind) in dumps(holder.pid) {
        let r = scan(&dump);
        let enc = assert_raw_key(&r, key, &format!("PyNaCl, {kind}"));
        assert!(enc.iter().any(|e| e == "python-bytes-seed-pk"), "{enc:?}");
        if kind == "gcore ELF core" {
            assert_redacted(&dump, &[&key.private], "pynacl");
        }
    }
    // The bytes sit inline in their object: a bare /proc/PID/mem image, with no address map
    // to follow pointers through, still shows them.
    let img = common::raw_image_bare(holder.pid);
    let r = scan(&img);
    let enc = assert_raw_key(&r, key, "PyNaCl, bare raw image");
    assert!(enc.iter().any(|e| e == "python-bytes-seed-pk"), "{enc:?}");
}

/// No Ed25519/X25519 finding where there is no key: random bytes, compressed bytes (the
/// densest real high-entropy data), the system's crypto libraries, and a clean python process
/// that imported `cryptography` and `nacl` without making a key.
#[test]
fn no_finding_without_a_key() {
    let mut random = vec![0u8; 32 << 20];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random))
        .unwrap();
    let mut inputs: Vec<(String, PathBuf)> = vec![("random".into(), common::write_temp(&random))];
    // xz output behind a prefix, so it is scanned as bytes rather than opened as an archive.
    let libs: Vec<PathBuf> = [
        "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
        "/usr/lib/x86_64-linux-gnu/libssl.so.3",
        "/usr/lib/x86_64-linux-gnu/libsodium.so.23",
        "/usr/lib/x86_64-linux-gnu/libgnutls.so.30",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|p| p.exists())
    .collect();
    assert!(!libs.is_empty(), "no system crypto library found");
    let mut all = Vec::new();
    for l in &libs {
        all.extend(std::fs::read(l).unwrap());
    }
    let xz = Command::new("xz")
        .args(["-c", "-1"])
        .stdin(std::fs::File::open(&libs[0]).unwrap())
        .output()
        .expect("xz");
    assert!(xz.status.success());
    let mut compressed = b"not an archive: ".to_vec();
    compressed.extend(&xz.stdout);
    inputs.push(("xz".into(), common::write_temp(&compressed)));
    inputs.push(("libraries".into(), common::write_temp(&all)));
    let src = "import sys, gc\nimport cryptography.hazmat.primitives.asymmetric.ed25519, nacl.signing\ngc.collect()\nprint('READY', flush=True)\nsys.stdin.read()\n";
    let holder = spawn("python3", &["-c", src]);
    let core = common::gcore(holder.pid);
    inputs.push(("clean python core".into(), core.path.clone()));
    for (what, path) in &inputs {
        let r = scan(path);
        let bad: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.detector == DETECTOR || f.kind.as_str().contains("25519"))
            .map(|f| (&f.detector, &f.encoding, f.offset))
            .collect();
        assert!(bad.is_empty(), "{what}: {bad:?}");
    }
}

/// libsodium's secret key (seed ‖ public key) in a C buffer with no header around it, in a
/// process that also holds the key's OpenSSH public line (an `authorized_keys` entry): found
/// through the public key, whose raw copy has the seed right before it.
#[test]
fn libsodium_secret_key_in_a_c_buffer_beside_its_public_key() {
    let keys = fresh(&["ed25519"]);
    let key = &keys[0];
    let src = r#"
import os, sys, gc, ctypes, base64
import nacl.bindings
p = sys.argv[1]
with open(p, 'rb') as f:
    seed = bytearray(f.read())
os.unlink(p)
pk, sk = nacl.bindings.crypto_sign_seed_keypair(bytes(seed))
seed[:] = bytes(len(seed))
buf = ctypes.create_string_buffer(sk, 64)
wire = b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + pk
authorized = "ssh-ed25519 " + base64.b64encode(wire).decode() + " service@dumpguard-test\n"
signed = nacl.bindings.crypto_sign(b"dumpguard", buf.raw)
del sk, signed
gc.collect()
print("READY", flush=True)
sys.stdin.read()
"#;
    let holder = spawn("python3", &["-c", src, &key_file(&key.private, "sodium")]);
    for (dump, kind) in dumps(holder.pid) {
        let r = scan(&dump);
        let enc = assert_raw_key(&r, key, &format!("libsodium C buffer, {kind}"));
        assert!(enc.iter().any(|e| e == "seed-pk"), "{kind}: {enc:?}");
    }
}

/// node's `crypto` with the system's OpenSSL 3.0 (python `cryptography` bundles its own,
/// newer OpenSSL): the same `ECX_KEY` layout, found through the same pointer.
#[test]
fn node_crypto_ed25519_key_object_in_system_openssl() {
    let keys = fresh(&["ed25519"]);
    let key = &keys[0];
    let src = r#"
const crypto = require('crypto'), fs = require('fs');
const p = process.argv[1];
let buf = fs.readFileSync(p); fs.unlinkSync(p);
const key = crypto.createPrivateKey(buf);
crypto.sign(null, Buffer.from('dumpguard'), key);
buf.fill(0); buf = null;
// The service keeps its key (a collected KeyObject would be freed and cleared).
global.keep = key;
if (global.gc) global.gc();
console.log('READY');
process.stdin.resume();
"#;
    // --jitless: V8 then reserves no JIT code space, which keeps the core small.
    let holder = spawn(
        "node",
        &[
            "--jitless",
            "--expose-gc",
            "-e",
            src,
            &key_file(&key.pem, "node"),
        ],
    );
    for (dump, kind) in dumps(holder.pid) {
        let r = scan(&dump);
        let enc = assert_raw_key(&r, key, &format!("node Ed25519, {kind}"));
        assert!(
            enc.iter().any(|e| e == "openssl-ecx-key"),
            "{kind}: {enc:?}"
        );
    }
}
