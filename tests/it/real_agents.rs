//! Key agents, as they really run (issue #15): a gpg-agent that loaded RSA, Ed25519 and P-256
//! keys to sign and a cv25519 subkey to decrypt, and one whose key is passphrase-protected
//! (libgcrypt S-expressions in its heap, and the
//! `private-keys-v1.d/*.key` files themselves), and an ssh-agent holding RSA-3072, Ed25519
//! and ECDSA P-256 keys, which it keeps only
//! *shielded* (AES-256-CTR under a key hashed from a 16 KiB prekey in the same process). Every
//! key is generated fresh, loaded by the real agent, dumped with gcore, minidump-writer and as
//! a Windows-style full-memory minidump, found without `--known-keys`, verified, and
//! fingerprinted exactly as `openssl pkey -pubout -outform DER | sha256sum` does (the PEM fed
//! to openssl is built by python `cryptography` from the key files, independently of
//! dumpguard). Agents without keys give no verified finding; the gate's redacted copy holds no
//! trace of the keys.

use crate::common;

use dumpguard::report::Report;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A test key: the fingerprint openssl computes, and its secret bytes (d or the seed).
struct Key {
    name: String,
    fingerprint: String,
    secret: Vec<u8>,
}

/// Reads a private key with python `cryptography` and returns (PKCS#8 PEM, secret bytes).
/// `kind` is `gnupg` (a `private-keys-v1.d/*.key` file in the extended text format) or
/// `openssh` (an unencrypted OpenSSH key file).
fn independent_pem(kind: &str, path: &Path) -> (Vec<u8>, Vec<u8>) {
    const SCRIPT: &str = r#"
import sys, re, json
from cryptography.hazmat.primitives.asymmetric import rsa, ed25519, x25519, ec
from cryptography.hazmat.primitives import serialization as s
kind, path = sys.argv[1], sys.argv[2]
raw = open(path, 'rb').read()
if kind == 'openssh':
    k = s.load_ssh_private_key(raw, None)
else:
    t = raw.decode()
    v = {m.group(1): re.sub(r'\s', '', m.group(2)) for m in re.finditer(r'\((\w)\s*#([0-9A-Fa-f\s]+)#\)', t)}
    if '(rsa' in t:
        i = {x: int(v[x], 16) for x in 'nedpq'}
        p, q, d = i['p'], i['q'], i['d']
        k = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                  rsa.RSAPublicNumbers(i['e'], i['n'])).private_key()
    elif 'Ed25519' in t:
        k = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v['d']).rjust(32, b'\0'))
    elif 'Curve25519' in t or 'cv25519' in t:
        # Whichever byte order of d gives the stored public point q (0x40 ‖ u).
        d, q = bytes.fromhex(v['d']), bytes.fromhex(v['q'])[-32:]
        d = d[1:] if len(d) == 33 else d.rjust(32, b'\0')
        raw = (s.Encoding.Raw, s.PublicFormat.Raw)
        k = next(c for c in (x25519.X25519PrivateKey.from_private_bytes(x) for x in (d, d[::-1]))
                 if c.public_key().public_bytes(*raw) == q)
    else:
        k = ec.derive_private_key(int(v['d'], 16), ec.SECP256R1())
if isinstance(k, rsa.RSAPrivateKey):
    d = k.private_numbers().d
    secret = d.to_bytes((d.bit_length() + 7) // 8, 'big')
elif isinstance(k, ec.EllipticCurvePrivateKey):
    secret = k.private_numbers().private_value.to_bytes(32, 'big')
else:
    secret = k.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
pem = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
print(json.dumps({"pem": pem.decode(), "secret": secret.hex()}))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT, kind])
        .arg(path)
        .output()
        .expect("python3 with cryptography");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["pem"].as_str().unwrap().as_bytes().to_vec(),
        hex::decode(v["secret"].as_str().unwrap()).unwrap(),
    )
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e} (scripts/test.sh installs it)"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn summary(r: &Report) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {:?} {}",
                f.detector, f.encoding, f.kind, f.status, f.fingerprint, f.verification
            )
        })
        .collect()
}

/// The key is among the report's findings, verified, from `detector`, with its fingerprint.
fn assert_found(r: &Report, detector: &str, key: &Key, what: &str) {
    assert!(
        r.findings.iter().any(|f| f.detector == detector
            && f.verified
            && f.fingerprint.as_deref() == Some(key.fingerprint.as_str())),
        "{what}: {} ({}) not found verified by {detector}:\n{:#?}",
        key.name,
        key.fingerprint,
        summary(r)
    );
}

/// A gpg-agent with its own GNUPGHOME; killed (and the home removed) when dropped.
struct GpgHome {
    dir: PathBuf,
}

impl GpgHome {
    fn new(tag: &str) -> GpgHome {
        let dir = common::scratch().join(format!("gnupg-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        GpgHome { dir }
    }

    fn gpg(&self) -> Command {
        let mut c = Command::new("gpg");
        c.arg("--homedir").arg(&self.dir).args(["--batch", "--yes"]);
        c
    }

    /// Starts the agent (if it is not running) and returns its process id.
    fn agent_pid(&self) -> i32 {
        let out = run(
            Command::new("gpg-connect-agent")
                .arg("--homedir")
                .arg(&self.dir)
                .args(["getinfo pid", "/bye"]),
            "gpg-connect-agent (gnupg)",
        );
        out.lines()
            .find_map(|l| l.strip_prefix("D "))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no agent pid in {out:?}"))
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.dir)
            .args(["--kill", "gpg-agent"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl GpgHome {
    fn gen(&self, uid: &str, algo: &str) {
        run(
            self.gpg().args([
                "--passphrase",
                "",
                "--quick-gen-key",
                uid,
                algo,
                "sign",
                "never",
            ]),
            "gpg --quick-gen-key",
        );
    }

    /// Signs a message with the key of `uid`, so the agent loads it.
    fn sign(&self, uid: &str) {
        let msg = self.dir.join("msg.txt");
        std::fs::write(&msg, b"sign me").unwrap();
        run(
            self.gpg()
                .args(["--pinentry-mode", "loopback", "--passphrase", "", "-u", uid])
                .arg("-o")
                .arg(self.dir.join(format!("{uid}.sig")))
                .arg("-s")
                .arg(&msg),
            "gpg --sign",
        );
    }

    /// Every secret key of the home with its `.key` file, fingerprinted independently.
    fn keys(&self) -> Vec<(Key, PathBuf)> {
        let mut keys = Vec::new();
        for e in std::fs::read_dir(self.dir.join("private-keys-v1.d")).unwrap() {
            let path = e.unwrap().path();
            let (pem, secret) = independent_pem("gnupg", &path);
            let text = std::fs::read_to_string(&path).unwrap();
            let name = if text.contains("(rsa") {
                "gpg RSA-3072"
            } else if text.contains("Ed25519") {
                "gpg Ed25519"
            } else if text.contains("Curve25519") || text.contains("cv25519") {
                "gpg cv25519"
            } else {
                "gpg P-256"
            };
            keys.push((
                Key {
                    name: name.into(),
                    fingerprint: common::openssl_fingerprint(&pem),
                    secret,
                },
                path,
            ));
        }
        keys.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        keys
    }
}

/// Fresh RSA-3072 and Ed25519 keys in a new GnuPG home, each used once to sign, so the agent
/// has loaded both. Returns the home and the keys with their `.key` files.
fn gpg_with_keys() -> (GpgHome, Vec<(Key, PathBuf)>) {
    let home = GpgHome::new("keys");
    home.gen("RSA <rsa@test>", "rsa3072");
    home.gen("Ed <ed@test>", "ed25519");
    home.sign("rsa@test");
    home.sign("ed@test");
    let keys = home.keys();
    assert_eq!(keys.len(), 2, "gpg made two secret keys");
    (home, keys)
}

/// A NIST P-256 signing key with a Curve25519 (cv25519) encryption subkey: both key files, and
/// the agent's memory right after each key was used (the agent frees a key's buffers after
/// use and later operations reuse that memory: measured, a key used three operations earlier
/// was often gone, so each is looked for while it is the most recent).
#[test]
fn gpg_p256_and_cv25519_keys() {
    let home = GpgHome::new("ecc");
    home.gen("P256 <p256@test>", "nistp256");
    let listing = run(
        home.gpg()
            .args(["--with-colons", "--list-keys", "p256@test"]),
        "gpg --list-keys",
    );
    let fpr = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|l| l.split(':').find(|f| f.len() == 40))
        .expect("fingerprint of the P-256 key")
        .to_string();
    run(
        home.gpg().args([
            "--passphrase",
            "",
            "--quick-add-key",
            &fpr,
            "cv25519",
            "encr",
            "never",
        ]),
        "gpg --quick-add-key cv25519",
    );
    let keys = home.keys();
    assert_eq!(
        keys.len(),
        2,
        "{:?}",
        keys.iter().map(|k| &k.0.name).collect::<Vec<_>>()
    );
    for (k, path) in &keys {
        let r = common::scan(path);
        assert_found(&r, "gcrypt-sexp", k, &format!("{}", path.display()));
    }
    let key = |name: &str| &keys.iter().find(|k| k.0.name.contains(name)).unwrap().0;
    let (cv, p256) = (key("cv25519"), key("P-256"));
    home.sign("p256@test");
    let r = common::scan(&common::gcore(home.agent_pid()));
    assert_found(&r, "gcrypt-sexp", p256, "gpg-agent after signing");
    let msg = home.dir.join("msg.txt");
    let enc = home.dir.join("msg.gpg");
    run(
        home.gpg()
            .args(["--trust-model", "always", "-r", "p256@test", "-o"])
            .arg(&enc)
            .arg("-e")
            .arg(&msg),
        "gpg --encrypt",
    );
    run(
        home.gpg()
            .args(["--pinentry-mode", "loopback", "--passphrase", "", "-o"])
            .arg(home.dir.join("msg.out"))
            .arg("-d")
            .arg(&enc),
        "gpg --decrypt",
    );
    let r = common::scan(&common::gcore(home.agent_pid()));
    assert_found(&r, "gcrypt-sexp", cv, "gpg-agent after decrypting");
}

#[test]
fn gpg_agent_keys_in_cores_minidumps_and_key_files() {
    let (home, keys) = gpg_with_keys();
    // The key files themselves (GnuPG's extended key format: `Key: (private-key …)`).
    for (k, path) in &keys {
        let r = common::scan(path);
        assert_found(&r, "gcrypt-sexp", k, &format!("{}", path.display()));
    }
    let pid = home.agent_pid();
    let dumps = [
        ("gcore", common::gcore(pid)),
        ("minidump-writer", common::minidump(pid)),
        ("windows full", common::windows_full_minidump(pid)),
    ];
    for (what, dump) in &dumps {
        let r = common::scan(dump);
        for (k, _) in &keys {
            assert_found(&r, "gcrypt-sexp", k, &format!("gpg-agent {what}"));
        }
        // Published libgcrypt self-test keys may sit in a full dump's copy of the library's
        // constants; they are recognised, never reported as a secret.
        for f in r.findings.iter().filter(|f| f.verified) {
            let ours = keys
                .iter()
                .any(|(k, _)| f.fingerprint.as_deref() == Some(k.fingerprint.as_str()));
            assert!(
                ours || f.known_key.is_some(),
                "gpg-agent {what}: unexpected verified finding {} {} {:?}",
                f.detector,
                f.kind,
                f.fingerprint
            );
        }
    }
    // The report never carries the keys; the gate's redacted copy holds none of them. (The
    // full-memory minidump: a gcore core also saves the signing thread's vector registers,
    // where pieces of a key may sit, and the gate refuses to edit container structure.)
    let (_, core) = &dumps[2];
    let out = common::cli(&["scan", "--format", "json", core.path.to_str().unwrap()]);
    let out_dir = common::scratch().join("gpg-redacted");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (copy, gate) = common::redacted_copy(core, &out_dir.join("core"), &[], "gpg-agent core");
    for (k, _) in &keys {
        common::assert_no_secret(&out.stdout, &k.secret);
        common::assert_no_secret(&gate.stdout, &k.secret);
        common::assert_no_secret(&copy, &k.secret);
    }
    // Only the published libgcrypt self-test keys (low, never blocking) are left.
    let r = common::scan(&out_dir.join("core"));
    assert!(
        r.findings
            .iter()
            .all(|f| f.detector != "gcrypt-sexp" || f.known_key.is_some()),
        "redacted copy: {:#?}",
        summary(&r)
    );
}

/// A passphrase-protected Ed25519 key: its `.key` file (`protected-private-key`, OCB-AES
/// under an S2K-derived key) is reported as encrypted, fingerprinted by the public key it
/// carries; once the agent has unlocked it to sign, the agent's heap holds it in the clear
/// and the core gives it away, verified, with the same fingerprint.
#[test]
fn gpg_protected_key_file_and_unlocked_key_in_the_agent() {
    let home = GpgHome::new("protected");
    let pass = [
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "test passphrase",
    ];
    run(
        home.gpg()
            .args(pass)
            .args(["--quick-gen-key", "P <p@test>", "ed25519", "sign", "never"]),
        "gpg --quick-gen-key (protected)",
    );
    let file = std::fs::read_dir(home.dir.join("private-keys-v1.d"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "key"))
        .expect("a .key file");
    // GnuPG writes the extended text format, or (seen once in the tests) the canonical binary
    // form: both carry the public point q in the clear. The text form may hold raw non-UTF-8
    // bytes in a quoted string of the protection parameters (seen once in the full suite), so
    // the script reads it as Latin-1.
    let bytes = std::fs::read(&file).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("protected-private-key"), "{text}");
    // The public key's fingerprint, by python (q → SPKI PEM) and openssl.
    const SCRIPT: &str = r#"
import sys, re
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization as s
raw = open(sys.argv[1], 'rb').read()
m = re.search(rb'\(1:q(\d+):', raw)
if m:
    q = raw[m.end():m.end() + int(m.group(1))]
else:
    q = bytes.fromhex(re.sub(r'\s', '', re.search(r'\(q\s*#([0-9A-Fa-f\s]+)#', raw.decode('latin-1')).group(1)))
pk = ed25519.Ed25519PublicKey.from_public_bytes(q[-32:])
sys.stdout.buffer.write(pk.public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
"#;
    let script = SCRIPT;
    let public_pem = run(
        Command::new("python3").args(["-c", script]).arg(&file),
        "python3 public key",
    );
    let pub_path = common::scratch().join("protected.pub.pem");
    std::fs::write(&pub_path, public_pem).unwrap();
    let der = Command::new("openssl")
        .args(["pkey", "-pubin", "-pubout", "-outform", "DER", "-in"])
        .arg(&pub_path)
        .output()
        .expect("openssl");
    assert!(der.status.success());
    use sha2::Digest;
    let fingerprint = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&der.stdout)));
    let r = common::scan(&file);
    let f: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.detector == "gcrypt-sexp")
        .collect();
    assert_eq!(f.len(), 1, "{:#?}", summary(&r));
    assert_eq!(f[0].status, "encrypted");
    assert_eq!(f[0].severity, dumpguard::report::Severity::High);
    assert_eq!(f[0].fingerprint.as_deref(), Some(fingerprint.as_str()));
    // Unlocked to sign: the agent now holds the plain key. (Its freed buffers may be reused
    // by the agent's own next steps; one of six parallel runs missed it once, so a second
    // signature and dump are allowed before failing.)
    let msg = home.dir.join("msg.txt");
    std::fs::write(&msg, b"sign me").unwrap();
    let mut last = Vec::new();
    for attempt in 0..2 {
        run(
            home.gpg()
                .args(pass)
                .args(["-u", "p@test", "-o"])
                .arg(home.dir.join(format!("msg.{attempt}.sig")))
                .arg("-s")
                .arg(&msg),
            "gpg --sign (protected)",
        );
        let r = common::scan(&common::gcore(home.agent_pid()));
        if r.findings.iter().any(|f| {
            f.detector == "gcrypt-sexp"
                && f.verified
                && f.fingerprint.as_deref() == Some(fingerprint.as_str())
        }) {
            return;
        }
        last = summary(&r);
    }
    panic!("unlocked key not found in the agent: {last:#?}");
}

#[test]
fn gpg_agent_without_secret_keys_gives_no_verified_finding() {
    let home = GpgHome::new("empty");
    let pid = home.agent_pid();
    for (what, dump) in [
        ("gcore", common::gcore(pid)),
        ("windows full", common::windows_full_minidump(pid)),
    ] {
        let r = common::scan(&dump);
        let bad: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.verified && f.known_key.is_none())
            .map(|f| format!("{} {} {:?}", f.detector, f.kind, f.fingerprint))
            .collect();
        assert!(bad.is_empty(), "empty gpg-agent {what}: {bad:?}");
    }
}

/// An `ssh-agent -D` on a private socket; killed when dropped.
struct SshAgent {
    child: Child,
    sock: PathBuf,
}

impl SshAgent {
    fn start(tag: &str) -> SshAgent {
        let sock = common::scratch().join(format!("ssh-agent-{tag}.sock"));
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent (openssh-client; scripts/test.sh installs it)");
        let t = Instant::now();
        while !sock.exists() {
            assert!(t.elapsed() < Duration::from_secs(20), "ssh-agent socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        SshAgent { child, sock }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh unencrypted OpenSSH key made by ssh-keygen, as (Key, file).
fn ssh_key(kind: &str, bits: Option<&str>) -> (Key, PathBuf) {
    let path = common::scratch().join(format!("id_{kind}"));
    let _ = std::fs::remove_file(&path);
    let mut c = Command::new("ssh-keygen");
    c.args(["-q", "-t", kind, "-N", "", "-C", "dumpguard test", "-f"])
        .arg(&path);
    if let Some(b) = bits {
        c.args(["-b", b]);
    }
    run(&mut c, "ssh-keygen (openssh-client)");
    let (pem, secret) = independent_pem("openssh", &path);
    let key = Key {
        name: format!("ssh {kind}"),
        fingerprint: common::openssl_fingerprint(&pem),
        secret,
    };
    (key, path)
}

#[test]
fn ssh_agent_shielded_keys_are_recovered() {
    let agent = SshAgent::start("keys");
    let keys = [
        ssh_key("rsa", Some("3072")),
        ssh_key("ed25519", None),
        ssh_key("ecdsa", Some("256")),
    ];
    for (_, path) in &keys {
        run(
            Command::new("ssh-add")
                .env("SSH_AUTH_SOCK", &agent.sock)
                .arg(path),
            "ssh-add",
        );
        // The agent has it; the file is not needed any more.
        std::fs::remove_file(path).unwrap();
    }
    let pid = agent.pid();
    let dumps = [
        ("gcore", common::gcore(pid)),
        ("minidump-writer", common::minidump(pid)),
        ("windows full", common::windows_full_minidump(pid)),
    ];
    for (what, dump) in &dumps {
        let r = common::scan(dump);
        for (k, _) in &keys {
            assert_found(&r, "ssh-agent", k, &format!("ssh-agent {what}"));
            // Both halves are reported (the gate removes both).
            for enc in ["ssh-agent-shielded", "ssh-agent-shield-prekey"] {
                assert!(
                    r.findings.iter().any(|f| f.encoding == enc
                        && f.fingerprint.as_deref() == Some(k.fingerprint.as_str())),
                    "ssh-agent {what}: no {enc} finding for {}",
                    k.name
                );
            }
            let f = r
                .findings
                .iter()
                .find(|f| f.detector == "ssh-agent" && f.verified)
                .unwrap();
            assert!(
                f.verification.contains("shielded ssh-agent key"),
                "{}",
                f.verification
            );
        }
    }
    // (The full-memory minidump, as for the gpg-agent.)
    let (_, core) = &dumps[2];
    let out = common::cli(&["scan", "--format", "json", core.path.to_str().unwrap()]);
    let out_dir = common::scratch().join("ssh-redacted");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (copy, gate) = common::redacted_copy(core, &out_dir.join("core"), &[], "ssh-agent core");
    for (k, _) in &keys {
        common::assert_no_secret(&out.stdout, &k.secret);
        common::assert_no_secret(&gate.stdout, &k.secret);
        common::assert_no_secret(&copy, &k.secret);
    }
    let r = common::scan(&out_dir.join("core"));
    assert!(
        !r.findings.iter().any(|f| f.detector == "ssh-agent"),
        "redacted copy still unshields: {:#?}",
        summary(&r)
    );
}

#[test]
fn ssh_agent_without_keys_gives_no_finding() {
    let agent = SshAgent::start("empty");
    for (what, dump) in [
        ("gcore", common::gcore(agent.pid())),
        ("windows full", common::windows_full_minidump(agent.pid())),
    ] {
        let r = common::scan(&dump);
        let bad: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.detector == "ssh-agent" || (f.verified && f.known_key.is_none()))
            .map(|f| format!("{} {} {:?}", f.detector, f.kind, f.fingerprint))
            .collect();
        assert!(bad.is_empty(), "empty ssh-agent {what}: {bad:?}");
    }
}

/// Random and compressed bytes, mapped as process memory (a raw image with its region index,
/// so the agent detector follows pointers), with planted struct-sshkey-like words pointing
/// into them: nothing is reported.
#[test]
fn random_and_compressed_memory_gives_no_finding() {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(15);
    let mut data = vec![0u8; 4 << 20];
    rng.fill_bytes(&mut data);
    let base: u64 = 0x5555_0000_0000;
    // Plant 64 shield-like tails: blob pointer, length, prekey pointer, 16384.
    for i in 0..64u64 {
        let at = 4096 + i as usize * 64;
        let blob = base + 0x10_0000 + i * 4096;
        let prekey = base + 0x20_0000 + i * 16384;
        for (j, w) in [blob, 1392, prekey, 16384].iter().enumerate() {
            data[at + 8 * j..at + 8 * j + 8].copy_from_slice(&w.to_le_bytes());
        }
    }
    // Half of it compressed, as a dump may hold compressed payloads.
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::default());
        enc.write_all(&data[..2 << 20]).unwrap();
        enc.finish().unwrap();
    }
    let n = gz.len().min(1 << 20);
    data[3 << 20..(3 << 20) + n].copy_from_slice(&gz[..n]);
    let path = common::scratch().join("random.img");
    std::fs::write(&path, &data).unwrap();
    let index = serde_json::json!([{"va": base, "file_off": 0, "len": data.len(), "perms": "rw-p", "path": ""}]);
    let mut side = path.clone().into_os_string();
    side.push(".regions.json");
    std::fs::write(&side, index.to_string()).unwrap();
    let r = common::scan(&path);
    let ours: Vec<String> = summary(&r)
        .into_iter()
        .filter(|s| s.starts_with("ssh-agent") || s.starts_with("gcrypt-sexp"))
        .collect();
    assert!(ours.is_empty(), "{ours:?}");
    assert!(r.findings.iter().all(|f| !f.verified));
}
