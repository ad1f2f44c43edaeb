//! Issue #15 on real processes: keys whose only trace in memory is the library's working
//! representation, found and proven without `--known-keys`:
//! * python `cryptography` (OpenSSL 3) P-256 and P-384 keys used to sign, PEM and DER buffers
//!   wiped: d is a `BIGNUM`, Q only in OpenSSL's internal coordinates (Montgomery form for
//!   P-256's nistz256);
//! * a Rust program with RustCrypto `rsa` 0.9 and `p256` 0.13 keys (num-bigint-dig `BigUint`s;
//!   a `SigningKey`'s scalar limbs beside its Montgomery-form point);
//! * an nginx worker serving TLS with an RSA and an ECDSA P-256 key, after handshakes with both.
//!
//! Each process is dumped three ways (gcore ELF core, minidump-writer minidump, Windows-style
//! full-memory minidump); each finding's fingerprint must equal what
//! `openssl pkey -pubout -outform DER | sha256sum` prints, and no report may hold the secret.
//! Negatives: random and compressed data and a clean python process give no EC key.

use crate::common;

use common::{DumpFile, Holder};
use dumpguard::report::{Finding, Report};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A fresh key made by the openssl CLI: its PEM, openssl's fingerprint, and the private
/// integers (big-endian) that no output may contain.
struct Key {
    name: &'static str,
    pem: Vec<u8>,
    fingerprint: String,
    secrets: Vec<Vec<u8>>,
}

fn genpkey(name: &'static str, args: &[&str]) -> Key {
    let out = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .output()
        .expect("openssl genpkey");
    assert!(out.status.success(), "openssl genpkey {args:?}");
    key_from_pem(name, out.stdout)
}

fn key_from_pem(name: &'static str, pem: Vec<u8>) -> Key {
    let fingerprint = common::openssl_fingerprint(&pem);
    // The private integers, printed by a separate python process (never by the holders).
    let script = "import sys\nfrom cryptography.hazmat.primitives import serialization as s\nk=s.load_pem_private_key(sys.stdin.buffer.read(),None).private_numbers()\nvals=[k.private_value] if hasattr(k,'private_value') else [k.d,k.p,k.q,k.dmp1,k.dmq1,k.iqmp]\nfor v in vals: print('%x'%v)";
    let secrets = String::from_utf8(common::pipe("python3", &["-c", script], &pem))
        .unwrap()
        .lines()
        .map(|l| hex::decode(format!("{}{l}", "0".repeat(l.len() % 2))).unwrap())
        .collect();
    Key {
        name,
        pem,
        fingerprint,
        secrets,
    }
}

fn write_private(name: &str, bytes: &[u8]) -> PathBuf {
    let p = common::scratch().join(format!("{name}-{}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Verified `bigint` findings (keys recovered from raw integers) of `key`.
fn raw_findings<'a>(r: &'a Report, key: &Key) -> Vec<&'a Finding> {
    r.findings
        .iter()
        .filter(|f| f.detector == "bigint" && f.verified)
        .filter(|f| f.fingerprint.as_deref() == Some(key.fingerprint.as_str()))
        .collect()
}

/// Scans the three dumps of `pid`; every key must be proven from raw integers in each, and the
/// reports must not hold any of its private integers. Returns each finding's `verification`
/// (for the caller's expectations about how Q was found).
fn check_dumps(pid: i32, keys: &[&Key], what: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for (dump, kind) in [
        (common::gcore(pid), "ELF core"),
        (common::minidump(pid), "minidump"),
        (common::windows_full_minidump(pid), "Windows full minidump"),
    ] {
        let r = common::scan(&dump);
        for key in keys {
            let found = raw_findings(&r, key);
            assert!(
                !found.is_empty(),
                "{what}: {} not proven from raw integers in the {kind}; findings: {:#?}",
                key.name,
                r.findings
                    .iter()
                    .map(|f| (&f.detector, &f.encoding, f.verified, &f.verification))
                    .collect::<Vec<_>>()
            );
            for f in found {
                assert_eq!(f.severity, dumpguard::report::Severity::Critical);
                eprintln!(
                    "{what} {kind} {}: {} {}",
                    key.name, f.encoding, f.verification
                );
                seen.push(format!("{kind} {}: {}", key.name, f.verification));
            }
            let json = r.to_json(true);
            for s in &key.secrets {
                common::assert_no_secret(json.as_bytes(), s);
            }
        }
    }
    seen
}

/// The gate's redacted copy of `dump` holds none of the keys' private integers, big- or
/// little-endian (a P-256 d is 4 LE limbs in RustCrypto and in a `BIGNUM`).
fn check_redaction(dump: &DumpFile, keys: &[&Key], what: &str) {
    let out = common::scratch().join(format!("{}-redacted", what.replace(' ', "_")));
    let (copy, _) = common::redacted_copy(dump, &out, &[], what);
    for key in keys {
        for s in &key.secrets {
            let le: Vec<u8> = s.iter().rev().copied().collect();
            common::assert_no_secret(&copy, s);
            common::assert_no_secret(&copy, &le);
        }
    }
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn python_cryptography_p256_p384_signing_with_buffers_wiped() {
    let keys = [
        genpkey(
            "P-256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        genpkey(
            "P-384",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        ),
    ];
    let paths: Vec<String> = keys
        .iter()
        .map(|k| write_private(k.name, &k.pem).display().to_string())
        .collect();
    let src = format!(
        r#"
import os, sys, gc
from cryptography.hazmat.primitives import serialization as s, hashes
from cryptography.hazmat.primitives.asymmetric import ec
keep = []
for p in {paths:?}:
    buf = bytearray(os.path.getsize(p))
    with open(p, 'rb', buffering=0) as f:
        f.readinto(buf)
    os.unlink(p)
    key = s.load_pem_private_key(buf, None)
    key.sign(b"dumpguard", ec.ECDSA(hashes.SHA256()))
    der = bytearray(key.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption()))
    for b in (buf, der):
        b[:] = bytes(len(b))
    del buf, der
    keep.append(key)
gc.collect()
print("READY", flush=True)
sys.stdin.read()
"#
    );
    let holder = Holder::spawn_script(&src);
    let seen = check_dumps(holder.pid, &keys.iter().collect::<Vec<_>>(), "python EC");
    // The issue's case: P-256's Q exists only in nistz256's Montgomery coordinates.
    assert!(
        seen.iter()
            .any(|v| v.contains("P-256") && v.contains("Montgomery form")),
        "{seen:#?}"
    );
}

/// Builds examples/rustcrypto_holder once per test binary (same profile and target dir as the
/// tests, so cargo only links it).
fn rustcrypto_holder() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
        let st = Command::new(cargo)
            .args(["build", "--quiet", "--example", "rustcrypto_holder"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build --example rustcrypto_holder");
        assert!(st.success(), "building examples/rustcrypto_holder failed");
        // target/<profile>/deps/real_ec-… → target/<profile>/examples/rustcrypto_holder
        let exe = std::env::current_exe().unwrap();
        let bin = exe
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .join("examples/rustcrypto_holder");
        assert!(bin.exists(), "{} missing", bin.display());
        bin
    })
}

fn der_to_pem(der: &[u8]) -> Vec<u8> {
    common::pipe("openssl", &["pkey", "-inform", "DER"], der)
}

#[test]
fn rustcrypto_rsa_and_p256_keys() {
    let dir = common::scratch();
    let (rsa_out, ec_out) = (dir.join("rc-rsa.der"), dir.join("rc-p256.der"));
    let mut cmd = Command::new(rustcrypto_holder());
    cmd.arg(&rsa_out).arg(&ec_out).env("MALLOC_ARENA_MAX", "1");
    let holder = Holder::spawn_command(cmd);
    let rsa = key_from_pem("RSA-2048", der_to_pem(&std::fs::read(&rsa_out).unwrap()));
    let ec = key_from_pem("P-256", der_to_pem(&std::fs::read(&ec_out).unwrap()));
    std::fs::remove_file(&rsa_out).unwrap();
    std::fs::remove_file(&ec_out).unwrap();
    let seen = check_dumps(holder.pid, &[&rsa, &ec], "rustcrypto");
    assert!(
        seen.iter()
            .any(|v| v.contains("RSA-2048") && v.contains("num-bigint-dig BigUint")),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|v| v.contains("P-256") && v.contains("RustCrypto ECDSA signing key")),
        "{seen:#?}"
    );
    // The Windows-style minidump: the ELF core also holds the registers, and the gate rightly
    // refuses to zero a piece of d that a thread's saved XMM register still holds.
    check_redaction(
        &common::windows_full_minidump(holder.pid),
        &[&rsa, &ec],
        "rustcrypto",
    );
}

/// nginx in the foreground with a private prefix; killed (with its worker) when dropped.
struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master stops the worker too; then reap it.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn worker(&self) -> i32 {
        let master = self.child.id();
        for _ in 0..100 {
            let children =
                std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
                    .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                return pid.parse().unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("nginx started no worker");
    }

    fn handshake(&self, sigalgs: &str) {
        let out = Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{}", self.port)])
            .args(["-sigalgs", sigalgs, "-tls1_3"])
            .stdin(Stdio::null())
            .output()
            .expect("openssl s_client");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Verify return code") && text.contains("Server certificate"),
            "TLS handshake with {sigalgs} failed: {text}"
        );
    }
}

fn self_signed(key: &Path, cert: &Path) {
    let st = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-x509",
            "-days",
            "2",
            "-subj",
            "/CN=dumpguard real_ec",
        ])
        .arg("-key")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .unwrap();
    assert!(st.status.success(), "openssl req");
}

#[test]
fn nginx_worker_with_rsa_and_ecdsa_keys() {
    let nginx = [
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("nginx (apt-get install nginx; scripts/test.sh installs it)");
    let keys = [
        genpkey(
            "RSA-2048",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        genpkey(
            "P-256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
    ];
    let dir = common::temp_dir_removed_at_exit("nginx");
    let mut files = Vec::new();
    for (k, tag) in keys.iter().zip(["rsa", "ec"]) {
        let key = dir.join(format!("{tag}.key"));
        let cert = dir.join(format!("{tag}.crt"));
        std::fs::write(&key, &k.pem).unwrap();
        self_signed(&key, &cert);
        files.push((key, cert));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = dir.display();
    let certs: String = files
        .iter()
        .map(|(k, c)| {
            format!(
                "ssl_certificate {}; ssl_certificate_key {};\n",
                c.display(),
                k.display()
            )
        })
        .collect();
    let conf = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 16; }}\nhttp {{\naccess_log off;\nclient_body_temp_path {d}/cb; proxy_temp_path {d}/px; fastcgi_temp_path {d}/fc; uwsgi_temp_path {d}/uw; scgi_temp_path {d}/sc;\nserver {{\nlisten 127.0.0.1:{port} ssl;\nssl_protocols TLSv1.2 TLSv1.3;\n{certs}location / {{ return 200 \"ok\\n\"; }}\n}}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(nginx)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .env("MALLOC_ARENA_MAX", "1")
        .stdin(Stdio::null())
        .spawn()
        .expect("start nginx");
    let server = Nginx { child, port };
    let mut up = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(
        up,
        "nginx did not listen: {}",
        std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
    );
    // One handshake per key, so the worker has used both.
    server.handshake("rsa_pss_rsae_sha256");
    server.handshake("ecdsa_secp256r1_sha256");
    // The key files are gone before the dump: only memory holds the keys.
    for (k, _) in &files {
        std::fs::remove_file(k).unwrap();
    }
    let worker = server.worker();
    let seen = check_dumps(worker, &keys.iter().collect::<Vec<_>>(), "nginx worker");
    assert!(
        seen.iter()
            .any(|v| v.contains("P-256") && v.contains("d·G = Q")),
        "{seen:#?}"
    );
}

/// No EC key where there is none: random bytes, compressed data (both random-looking, the
/// structures' worst case), and the core of a python process that loaded `cryptography` and
/// `ssl` but holds no key.
#[test]
fn no_ec_key_in_random_compressed_or_clean_process_data() {
    use std::io::Write;
    let ec = |r: &Report| -> Vec<String> {
        r.findings
            .iter()
            .filter(|f| f.kind == "ec-private-key" || f.detector == "bigint")
            .map(|f| format!("{} {} {}", f.detector, f.encoding, f.verification))
            .collect()
    };
    let mut random = vec![0u8; 32 << 20];
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    for c in random.chunks_mut(8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        c.copy_from_slice(&s.to_le_bytes()[..c.len()]);
    }
    let path = common::write_temp(&random);
    let r = common::scan(&path);
    assert!(ec(&r).is_empty(), "random: {:?}", ec(&r));
    // Compressed: the test binary itself, deflated.
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&exe).unwrap();
    let path = common::write_temp(&z.finish().unwrap());
    let r = common::scan(&path);
    assert!(ec(&r).is_empty(), "compressed: {:?}", ec(&r));
    let holder = Holder::spawn_script(
        "import sys, ssl, hashlib\nfrom cryptography.hazmat.primitives import hashes\nctx = ssl.create_default_context()\nhashlib.sha256(b'x').hexdigest()\nprint('READY', flush=True)\nsys.stdin.read()\n",
    );
    let core = common::gcore(holder.pid);
    let r = common::scan(&core);
    assert!(ec(&r).is_empty(), "clean python: {:?}", ec(&r));
}
