//! Issue #11, "no false BLOCK": the built-in gate policy on real processes, dumped at test
//! time with gcore (ELF core) and minidump-writer. Every clean process ALLOWs — python with
//! `ssl`+`certifi`, node with its TLS root store, a TLS client after several handshakes with a
//! local `openssl s_server`, `sleep` — although each keeps OpenSSL's random-generator key
//! schedules and (the TLS client) its session keys. Every process holding a private key, a
//! token or a password BLOCKs. An application's AES key alone is reported `medium` and does
//! not block by default; a policy that blocks `medium` blocks it (README "Symmetric keys and
//! the gate"). The test prints the verdict table (run with `--nocapture`).

use crate::common;

use common::{DumpFile, Holder};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// One row of the table: what was dumped, how, the verdict, and why.
struct Row {
    process: String,
    format: &'static str,
    expect: &'static str,
    verdict: String,
    why: String,
}

/// `dumpguard gate DUMP [EXTRA]` with the built-in policy: (verdict, exit code, summary of
/// the findings by disposition, kind and severity).
fn gate(dump: &Path, extra: &[&str]) -> (String, i32, String) {
    let mut args = vec!["gate", dump.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = common::cli(&args);
    let record: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let verdict = record["decision"]["verdict"]
        .as_str()
        .unwrap_or("(no record)")
        .to_string();
    let mut counts: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for f in record["decision"]["findings"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let s = |k: &str| f[k].as_str().unwrap_or("?").to_string();
        *counts
            .entry((s("disposition"), s("kind"), s("severity")))
            .or_default() += 1;
    }
    let why = if counts.is_empty() {
        "no findings".to_string()
    } else {
        counts
            .iter()
            .map(|((d, k, s), n)| format!("{n}× {k} {s} ({d})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (verdict, out.status.code().unwrap_or(-1), why)
}

/// Gates the gcore and the minidump of `pid`, recording one row each.
fn gate_process(rows: &mut Vec<Row>, process: &str, pid: i32, expect: &'static str) {
    let dumps: [(&str, DumpFile); 2] = [
        ("ELF core (gcore)", common::gcore(pid)),
        ("minidump", common::minidump(pid)),
    ];
    for (format, dump) in dumps {
        let (verdict, code, why) = gate(&dump, &[]);
        let want_code = if expect == "ALLOW" { 0 } else { 1 };
        let verdict = if code == want_code {
            verdict
        } else {
            format!("{verdict} (exit {code})")
        };
        rows.push(Row {
            process: process.into(),
            format,
            expect,
            verdict,
            why,
        });
    }
}

fn random_hex(n: usize) -> String {
    use std::io::Read;
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    hex::encode(b)
}

/// A fresh self-signed P-256 certificate and key for the local TLS server.
fn server_cert(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (key, cert) = (dir.join("server.key"), dir.join("server.crt"));
    let st = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl req");
    assert!(st.success(), "openssl req failed");
    (key, cert)
}

/// `openssl s_server` on 127.0.0.1, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(key: &Path, cert: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-key")
            .arg(key)
            .arg("-cert")
            .arg(cert)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        // It prints ACCEPT once listening (with -quiet too, on some versions not): wait for
        // the port instead.
        let _ = child
            .stdout
            .take()
            .map(|o| std::thread::spawn(move || for _ in BufReader::new(o).lines() {}));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "s_server did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clean runtimes: python `ssl`+`certifi`, node's TLS roots, `sleep`.
fn clean_runtimes() -> Vec<Row> {
    let mut rows = Vec::new();
    // Clean: python with ssl + certifi's root store.
    let h = Holder::spawn_script(
        r#"
import ssl, sys, certifi
ctx = ssl.create_default_context(cafile=certifi.where())
print("READY", flush=True)
sys.stdin.read()
"#,
    );
    gate_process(&mut rows, "python `ssl`+`certifi` (clean)", h.pid, "ALLOW");
    drop(h);

    // Clean: node with its TLS root store in use.
    let mut cmd = Command::new("node");
    cmd.arg("-e").arg(
        r#"
const tls = require('tls');
const roots = tls.rootCertificates;
const ctx = tls.createSecureContext({ ca: roots });
require('crypto').randomBytes(64);
console.log('READY');
process.stdin.on('data', () => {});
"#,
    );
    let h = Holder::spawn_command(cmd);
    gate_process(
        &mut rows,
        "node `tls.rootCertificates` (clean)",
        h.pid,
        "ALLOW",
    );
    drop(h);

    // Clean: sleep.
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg("echo READY; exec sleep 600");
    let h = Holder::spawn_command(cmd);
    gate_process(&mut rows, "`sleep` (clean)", h.pid, "ALLOW");
    drop(h);

    rows
}

/// A TLS client after handshakes with a local `s_server`, and the server itself.
fn tls_client_and_server(dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    // A TLS client after several handshakes with a local s_server, one session still open;
    // and the server itself, which holds its private key.
    let (key, cert) = server_cert(dir);
    let server = Server::start(&key, &cert);
    let client = Holder::spawn_script(&format!(
        r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile={cert:?})
ctx.check_hostname = False
kept = []
for i in range(4):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", {port})), server_hostname="localhost")
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    s.recv(1024)
    if i == 3:
        kept.append(s)
    else:
        s.close()
print("READY", flush=True)
sys.stdin.read()
"#,
        cert = cert.to_str().unwrap(),
        port = server.port
    ));
    gate_process(
        &mut rows,
        "python TLS client, 4 handshakes, 1 session open (clean)",
        client.pid,
        "ALLOW",
    );
    drop(client);
    // `openssl s_client -reconnect`: six handshakes (one full, five resumed), the last
    // connection kept open. The openssl program carries `openssl speed`'s published RSA keys.
    let mut s_client = Command::new("openssl")
        .args(["s_client", "-reconnect", "-connect"])
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("-CAfile")
        .arg(&cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_client");
    let (tx, rx) = std::sync::mpsc::channel();
    let out = s_client.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut handshakes = 0;
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("Verify return code") {
                handshakes += 1;
                if handshakes == 6 {
                    let _ = tx.send(());
                }
            }
        }
    });
    let ready = rx.recv_timeout(std::time::Duration::from_secs(60)).is_ok();
    if ready {
        gate_process(
            &mut rows,
            "`openssl s_client -reconnect`, 6 handshakes, 1 session open (clean)",
            s_client.id() as i32,
            "ALLOW",
        );
    }
    let _ = s_client.kill();
    let _ = s_client.wait();
    assert!(ready, "s_client did not complete six handshakes");
    gate_process(
        &mut rows,
        "`openssl s_server` (its EC private key)",
        server.child.id() as i32,
        "BLOCK",
    );
    drop(server);
    std::fs::remove_file(&key).unwrap();

    rows
}

/// Private keys, tokens and passwords held by python processes.
fn keys_and_tokens() -> Vec<Row> {
    let mut rows = Vec::new();
    // Private keys: fresh RSA-2048 and P-256 keys as PEM and DER.
    let keys = common::fresh_keys();
    let blobs: Vec<Vec<u8>> = keys
        .iter()
        .flat_map(|k| [k.pkcs8_pem.clone(), k.trad_der.clone()])
        .collect();
    let h = Holder::spawn(&blobs);
    gate_process(&mut rows, "python holding RSA and EC keys", h.pid, "BLOCK");
    drop(h);

    // Tokens and passwords, each alone in its own process.
    let jwt = format!(
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}",
        base64url(
            format!(
                r#"{{"iss":"https://login.test.dumpguard.invalid","sub":"t-{}","exp":4102444800}}"#,
                random_hex(4)
            )
            .as_bytes()
        ),
        base64url(&hex::decode(random_hex(256)).unwrap())
    );
    let password = format!("TEST-{}", random_hex(10));
    for (what, text) in [
        (
            "python holding a JWT bearer header",
            format!("GET /v1 HTTP/1.1\r\nHost: api.test.internal\r\nAuthorization: Bearer {jwt}\r\n\r\n"),
        ),
        (
            "python holding a database URL with a password",
            format!("postgres://svc_orders:{password}@db01.corp.internal:5432/orders"),
        ),
        (
            "python holding a libpq connection string",
            format!("host=pg01.corp.internal port=5432 dbname=app user=svc_app password={password} sslmode=require"),
        ),
    ] {
        let h = Holder::spawn(&[text.into_bytes()]);
        gate_process(&mut rows, what, h.pid, "BLOCK");
        drop(h);
    }

    rows
}

/// An application's AES key under the built-in and a stricter policy.
fn application_aes_key(dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    // An application's AES-256 key (python `cryptography`): reported, medium, not blocking by
    // default; blocked by a policy that lists kind `aes-key`.
    let aes_key = random_hex(32);
    let h = Holder::spawn_script(&format!(
        r#"
import sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
k = bytearray.fromhex("{aes_key}")
e = Cipher(algorithms.AES(bytes(k)), modes.CBC(b"\0" * 16)).encryptor()
e.update(b"x" * 64)
k[:] = bytes(len(k))
print("READY", flush=True)
sys.stdin.read()
"#
    ));
    let core = common::gcore(h.pid);
    drop(h);
    let fp = {
        use sha2::Digest;
        format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(hex::decode(&aes_key).unwrap()))
        )
    };
    let report = common::scan(&core);
    let app: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.fingerprint.as_deref() == Some(fp.as_str()))
        .collect();
    assert!(!app.is_empty(), "the application's AES key is found");
    assert!(
        app.iter()
            .all(|f| f.severity == dumpguard::report::Severity::Medium),
        "an application AES key is medium"
    );
    let (verdict, code, why) = gate(&core, &[]);
    rows.push(Row {
        process: "python `cryptography` AES-256 key (built-in policy)".into(),
        format: "ELF core (gcore)",
        expect: "ALLOW",
        verdict: if code == 0 {
            verdict
        } else {
            format!("{verdict} (exit {code})")
        },
        why,
    });
    let strict = dir.join("strict.toml");
    std::fs::write(
        &strict,
        "version = 1\n[block]\nseverities = [\"critical\", \"high\", \"medium\"]\n",
    )
    .unwrap();
    let (verdict, code, why) = gate(&core, &["--policy", strict.to_str().unwrap()]);
    rows.push(Row {
        process: "same, policy blocking `medium` too".into(),
        format: "ELF core (gcore)",
        expect: "BLOCK",
        verdict: if code == 1 {
            verdict
        } else {
            format!("{verdict} (exit {code})")
        },
        why,
    });
    drop(core);

    rows
}

#[test]
fn verdicts_of_the_built_in_policy_on_real_processes() {
    let dir = common::temp_dir_removed_at_exit("dumpguard-verdicts");
    // Two groups at once (the machine has two cores); rows keep a fixed order.
    let (a, b) = std::thread::scope(|s| {
        let d = &dir;
        let first = s.spawn(|| (clean_runtimes(), keys_and_tokens()));
        let second = s.spawn(move || (tls_client_and_server(d), application_aes_key(d)));
        (first.join().unwrap(), second.join().unwrap())
    });
    let rows: Vec<Row> = [a.0, b.0, a.1, b.1].into_iter().flatten().collect();
    eprintln!("\n| process | dump | verdict | findings (disposition) |\n|---|---|---|---|");
    for r in &rows {
        eprintln!(
            "| {} | {} | {} | {} |",
            r.process, r.format, r.verdict, r.why
        );
    }
    let wrong: Vec<String> = rows
        .iter()
        .filter(|r| r.verdict != r.expect)
        .map(|r| {
            format!(
                "{} / {}: {} (expected {})",
                r.process, r.format, r.verdict, r.expect
            )
        })
        .collect();
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
    // Every clean process was seen, and BLOCK rows name a blocking finding.
    assert!(rows.iter().filter(|r| r.expect == "ALLOW").count() >= 11);
    for r in rows.iter().filter(|r| r.expect == "BLOCK") {
        assert!(r.why.contains("(blocking)"), "{}: {}", r.process, r.why);
    }
}

fn base64url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
