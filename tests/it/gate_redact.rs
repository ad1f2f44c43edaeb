//! Issue 5, redaction: every key encoding the scanner supports is removed from the redacted
//! copy (its re-scan finds nothing that blocks), every copy of the same key goes with it, the
//! container stays valid (the `minidump` crate still reads a redacted minidump, gdb still reads
//! a redacted ELF core, registers and all), findings inside container structure are refused,
//! and no output holds a secret.
//!
//! When a detector for a new encoding lands, add a sample of it to `ENCODINGS_PY` (and its
//! `encoding` name to `EXPECTED_ENCODINGS`): the redaction code is generic over findings, and
//! this test is what shows it.

use crate::common;

use common::{Holder, TestKey};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every private-key encoding the scanner reports at the time of writing, each built by python
/// `cryptography` (independent of our code) from fresh keys.
const ENCODINGS_PY: &str = r#"
import base64, json
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519, dsa
from cryptography.hazmat.primitives import serialization as s
keys = [("rsa-2048", rsa.generate_private_key(65537, 2048)), ("p256", ec.generate_private_key(ec.SECP256R1())),
        ("ed25519", ed25519.Ed25519PrivateKey.generate()), ("dsa-2048", dsa.generate_private_key(2048))]
out = []
for name, k in keys:
    pem8 = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
    der8 = k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption())
    enc = s.BestAvailableEncryption(b"test password")
    e = {"pkcs8-der": der8, "pkcs8-pem": pem8, "pkcs8-pem-crlf": pem8.replace(b"\n", b"\r\n"),
         "pkcs8-pem-json": json.dumps({"key": pem8.decode()}).encode(),
         "pkcs8-pem-oneline": pem8.replace(b"\n", b""),
         "pkcs8-pem-utf16le": pem8.decode().encode("utf-16-le"),
         "pkcs8-base64": b"KEY=" + base64.b64encode(der8) + b";",
         "pkcs8-base64-utf16le": ("KEY=" + base64.b64encode(der8).decode() + ";").encode("utf-16-le"),
         "pkcs8-encrypted-der": k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, enc),
         "pkcs8-encrypted-pem": k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, enc)}
    if name != "ed25519":
        tder = k.private_bytes(s.Encoding.DER, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption())
        e["trad-der"] = tder
        e["trad-pem"] = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption())
        e["trad-base64"] = b"\"" + base64.b64encode(tder) + b"\""
        e["trad-pem-legacy-encrypted"] = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, enc)
    n = k.private_numbers() if hasattr(k, "private_numbers") else None
    if name == "ed25519":
        secret = k.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
    elif name.startswith("rsa"):
        secret = n.d.to_bytes((n.d.bit_length() + 7) // 8, "big")
    elif name.startswith("dsa"):
        secret = n.x.to_bytes((n.x.bit_length() + 7) // 8, "big")
    else:
        secret = n.private_value.to_bytes(32, "big")
    for enc_name, b in e.items():
        out.append({"key": name, "encoding": enc_name, "bytes": base64.b64encode(b).decode(),
                    "secret": base64.b64encode(secret).decode(), "encrypted": "encrypted" in enc_name})
print(json.dumps(out))
"#;

/// The `encoding` values the scanner reports for the samples above. A new detector adds its
/// own here together with a sample.
const EXPECTED_ENCODINGS: &[&str] = &[
    "base64",
    "base64-utf16le",
    "der",
    "pem",
    "pem-json-escaped",
    "pem-utf16le",
];

struct Sample {
    name: String,
    bytes: Vec<u8>,
    secret: Vec<u8>,
    encrypted: bool,
}

fn samples() -> Vec<Sample> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(ENCODINGS_PY)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    use base64::Engine;
    let b = |x: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(x.as_str().unwrap())
            .unwrap()
    };
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| Sample {
            name: format!(
                "{} {}",
                x["key"].as_str().unwrap(),
                x["encoding"].as_str().unwrap()
            ),
            bytes: b(&x["bytes"]),
            secret: b(&x["secret"]),
            encrypted: x["encrypted"].as_bool().unwrap(),
        })
        .collect()
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A policy that accepts raw images (the planted samples are raw files).
fn raw_policy(dir: &Path) -> PathBuf {
    let p = dir.join("raw.toml");
    std::fs::write(&p, "version = 1\n[input]\nallow_raw = true\n").unwrap();
    p
}

struct Gated {
    code: i32,
    record: Value,
    stdout: Vec<u8>,
    attestation: Option<Value>,
    attestation_bytes: Vec<u8>,
}

fn gate(dump: &Path, out: &Path, extra: &[&str]) -> Gated {
    let mut args = vec!["gate", s(dump), "--redact-to", s(out)];
    args.extend_from_slice(extra);
    let o = common::cli(&args);
    let att_path = dumpguard::gate::attestation_path(out);
    let attestation_bytes = std::fs::read(&att_path).unwrap_or_default();
    Gated {
        code: o.status.code().unwrap(),
        record: serde_json::from_slice(&o.stdout).unwrap_or(Value::Null),
        stdout: [o.stdout, o.stderr].concat(),
        attestation: serde_json::from_slice(&attestation_bytes).ok(),
        attestation_bytes,
    }
}

fn blocking_high(r: &dumpguard::report::Report) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.severity >= dumpguard::report::Severity::High)
        .map(|f| format!("{} {} at {:#x}", f.kind, f.encoding, f.offset))
        .collect()
}

#[test]
fn every_key_encoding_is_redacted_and_the_copy_rescans_clean() {
    let dir = tempfile::tempdir().unwrap();
    let policy = raw_policy(dir.path());
    let mut seen = BTreeSet::new();
    let all = samples();
    for (i, smp) in all.iter().enumerate() {
        let mut data = noise(48 << 10, i as u64 + 7);
        let at = data.len();
        data.extend_from_slice(&smp.bytes);
        data.extend(noise(48 << 10, i as u64 + 1000));
        let dump = dir.path().join(format!("s{i}.bin"));
        std::fs::write(&dump, &data).unwrap();
        let before = common::scan(&dump);
        let blocking = blocking_high(&before);
        assert!(
            !blocking.is_empty(),
            "{}: nothing to redact was found",
            smp.name
        );
        for f in &before.findings {
            seen.insert(f.encoding.clone());
            assert!(f.offset >= at as u64 && f.end() <= (at + smp.bytes.len()) as u64);
        }
        let out = dir.path().join(format!("s{i}.red"));
        let g = gate(&dump, &out, &["--policy", s(&policy)]);
        assert_eq!(
            g.code,
            3,
            "{}: {}",
            smp.name,
            String::from_utf8_lossy(&g.stdout)
        );
        let after = common::scan(&out);
        assert!(after.input.complete);
        assert_eq!(
            blocking_high(&after),
            Vec::<String>::new(),
            "{}: left in the copy",
            smp.name
        );
        let copy = std::fs::read(&out).unwrap();
        // The noise around the sample is untouched; the sample's bytes are gone.
        assert_eq!(&copy[..at], &data[..at], "{}", smp.name);
        assert_eq!(&copy[at + smp.bytes.len()..], &data[at + smp.bytes.len()..]);
        if !smp.encrypted {
            common::assert_no_secret(&copy, &smp.secret);
        }
        for output in [&g.stdout, &g.attestation_bytes] {
            common::assert_no_secret(output, &smp.secret);
        }
    }
    let expected: BTreeSet<String> = EXPECTED_ENCODINGS.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        seen, expected,
        "the scanner reports encodings this test has no sample for (or lost one)"
    );
}

#[test]
fn all_encodings_in_one_dump_are_redacted_together() {
    let dir = tempfile::tempdir().unwrap();
    let all = samples();
    let mut data = Vec::new();
    for (i, smp) in all.iter().enumerate() {
        data.extend(noise(4096, i as u64 + 3));
        data.extend_from_slice(&smp.bytes);
    }
    data.extend(noise(4096, 99));
    let dump = dir.path().join("all.bin");
    std::fs::write(&dump, &data).unwrap();
    let out = dir.path().join("all.red");
    let g = gate(&dump, &out, &["--policy", s(&raw_policy(dir.path()))]);
    assert_eq!(g.code, 3, "{}", String::from_utf8_lossy(&g.stdout));
    assert!(blocking_high(&common::scan(&out)).is_empty());
    let copy = std::fs::read(&out).unwrap();
    for smp in all.iter().filter(|s| !s.encrypted) {
        common::assert_no_secret(&copy, &smp.secret);
    }
}

#[test]
fn every_copy_of_the_key_goes_but_an_allowlisted_key_stays() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = common::fresh_keys();
    let ec = keys.pop().unwrap();
    let rsa = keys.pop().unwrap();
    // The RSA key three times in three encodings, the EC key (allowlisted) once.
    let parts: Vec<Vec<u8>> = vec![
        rsa.pkcs8_pem.clone(),
        rsa.trad_der.clone(),
        common::utf16le(&rsa.pkcs8_pem),
        ec.pkcs8_pem.clone(),
    ];
    let mut data = noise(8192, 1);
    for p in &parts {
        data.extend_from_slice(p);
        data.extend(noise(8192, p.len() as u64));
    }
    let dump = dir.path().join("k.bin");
    std::fs::write(&dump, &data).unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[input]\nallow_raw = true\n[[allow]]\nfingerprint = \"{}\"\nreason = \"test: allowlisted\"\n",
            ec.fingerprint
        ),
    )
    .unwrap();
    let out = dir.path().join("k.red");
    let g = gate(&dump, &out, &["--policy", s(&policy)]);
    assert_eq!(g.code, 3);
    let att = g.attestation.unwrap();
    let removed = att["removed"].as_array().unwrap();
    assert!(removed.len() >= 3, "{removed:?}");
    assert!(removed
        .iter()
        .all(|r| r["fingerprint"] == rsa.fingerprint.as_str()));
    let copy = std::fs::read(&out).unwrap();
    common::assert_no_secret(&copy, &rsa.secret);
    // The allowlisted key is still there, byte for byte, and still reported as suppressed.
    assert!(memchr::memmem::find(&copy, &ec.pkcs8_pem).is_some());
    let fs = g.record["decision"]["findings"].as_array().unwrap();
    assert!(fs
        .iter()
        .any(|f| f["fingerprint"] == ec.fingerprint.as_str() && f["disposition"] == "suppressed"));
}

#[test]
fn a_copy_the_detectors_did_not_report_is_still_removed() {
    // Two identical DER copies of a key; the report is made to list only the first (as if a
    // detector had missed the second). The exact-copy sweep of the plan still finds it.
    let key = common::fresh_keys().pop().unwrap();
    let data = [
        noise(4096, 5),
        key.trad_der.clone(),
        noise(512, 6),
        key.trad_der.clone(),
        noise(4096, 7),
    ]
    .concat();
    let dump = dumpguard::Dump::from_slice(&data);
    let mut report = dumpguard::Scanner::new().scan_bytes("twice", &data);
    assert_eq!(report.findings.len(), 2, "{:?}", report.findings);
    report.findings.truncate(1);
    let policy =
        dumpguard::gate::policy::Policy::parse(b"version = 1\n[input]\nallow_raw = true\n", "test")
            .unwrap();
    let plan = dumpguard::fuzzing::redaction_plan(&dump, &report, &policy, &[], None).unwrap();
    let second = (4096 + key.trad_der.len() + 512) as u64;
    let copy = plan
        .removed
        .iter()
        .find(|r| r.offset == second)
        .expect("the unreported copy is planned for removal");
    assert_eq!(copy.length, key.trad_der.len() as u64);
    assert_eq!(copy.why, "exact copy of the bytes of F1");
    assert_eq!(copy.fingerprint.as_deref(), Some(key.fingerprint.as_str()));
}

/// Builds a minidump by hand: header, directory, and the given streams.
fn minidump_with_streams(streams: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"MDMP");
    v.extend_from_slice(&0xA793u32.to_le_bytes());
    v.extend_from_slice(&(streams.len() as u32).to_le_bytes());
    v.extend_from_slice(&32u32.to_le_bytes());
    v.extend_from_slice(&[0u8; 16]);
    let mut rva = 32 + 12 * streams.len() as u32;
    for (t, body) in streams {
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v.extend_from_slice(&rva.to_le_bytes());
        rva += body.len() as u32;
    }
    for (_, body) in streams {
        v.extend_from_slice(body);
    }
    v
}

#[test]
fn a_key_inside_container_structure_is_not_redacted_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let key = common::fresh_keys().pop().unwrap();
    // An unknown stream type: its layout is not understood, so writing into it is refused.
    let mut body = noise(256, 2);
    body.extend_from_slice(&key.pkcs8_der);
    let dump = dir.path().join("structure.dmp");
    std::fs::write(&dump, minidump_with_streams(&[(0x1234_5678, body)])).unwrap();
    let out = dir.path().join("structure.red");
    let g = gate(&dump, &out, &[]);
    assert_eq!(g.code, 1, "{}", String::from_utf8_lossy(&g.stdout));
    assert_eq!(g.record["decision"]["verdict"], "BLOCK");
    let why = g.record["decision"]["reasons"].to_string();
    assert!(why.contains("overlaps container structure"), "{why}");
    assert!(!out.exists());
    assert_eq!(
        g.record["decision"]["redaction"]["outcome"]
            .as_str()
            .unwrap()
            .split(':')
            .next(),
        Some("refused")
    );
}

#[test]
fn a_key_in_the_environment_stream_is_redacted_and_the_minidump_still_parses() {
    let dir = tempfile::tempdir().unwrap();
    let key = common::fresh_keys().pop().unwrap();
    use base64::Engine;
    let mut env = b"PATH=/usr/bin\0SIGNING_KEY=".to_vec();
    env.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(&key.pkcs8_der)
            .as_bytes(),
    );
    env.extend_from_slice(b"\0HOME=/root\0");
    let dump = dir.path().join("env.dmp");
    std::fs::write(&dump, minidump_with_streams(&[(0x4767_0007, env.clone())])).unwrap();
    let out = dir.path().join("env.red");
    let g = gate(&dump, &out, &[]);
    assert_eq!(g.code, 3, "{}", String::from_utf8_lossy(&g.stdout));
    let copy = std::fs::read(&out).unwrap();
    common::assert_no_secret(&copy, &key.secret);
    assert!(memchr::memmem::find(&copy, b"HOME=/root").is_some());
    let md = minidump::Minidump::read_path(&out).expect("the redacted minidump opens");
    assert_eq!(md.all_streams().count(), 1);
}

// ---- real processes -----------------------------------------------------------------------

struct Planted {
    rsa: TestKey,
    ec: TestKey,
    holder: Holder,
}

fn plant() -> Planted {
    let mut keys = common::fresh_keys();
    let ec = keys.pop().unwrap();
    let rsa = keys.pop().unwrap();
    let pad = |v: &[u8]| [v, &[0x5a; 64]].concat();
    let stack = [pad(&rsa.trad_der), pad(&ec.trad_pem)].concat();
    let global = [pad(&rsa.pkcs8_pem), pad(&ec.pkcs8_der)].concat();
    let heap = vec![
        rsa.trad_pem.clone(),
        ec.trad_der.clone(),
        common::utf16le(&rsa.pkcs8_pem),
    ];
    let holder = Holder::spawn_native(&stack, &global, &heap);
    Planted { rsa, ec, holder }
}

/// Gates `dump` with redaction and an audit log; checks the verdict, the copy (re-scan clean,
/// no secret), and that no output holds a secret. Returns the record.
fn redact_real(dump: &Path, p: &Planted, dir: &Path) -> (PathBuf, Value) {
    let out = dir.join("redacted");
    let log = dir.join("audit.jsonl");
    let sarif = dir.join("report.sarif");
    let g = gate(dump, &out, &["--audit-log", s(&log)]);
    assert_eq!(g.code, 3, "{}", String::from_utf8_lossy(&g.stdout));
    let after = common::scan(&out);
    assert!(after.input.complete, "{:?}", after.input.warnings);
    assert_eq!(blocking_high(&after), Vec::<String>::new());
    let copy = std::fs::read(&out).unwrap();
    let s_out = common::cli(&[
        "gate",
        s(dump),
        "--format",
        "sarif",
        "--report",
        s(&sarif),
        "-q",
    ]);
    assert_eq!(s_out.status.code(), Some(1));
    let outputs = [
        g.stdout.clone(),
        g.attestation_bytes.clone(),
        std::fs::read(&log).unwrap(),
        std::fs::read(&sarif).unwrap(),
    ];
    for key in [&p.rsa, &p.ec] {
        common::assert_no_secret(&copy, &key.secret);
        for o in &outputs {
            common::assert_no_secret(o, &key.secret);
            common::assert_no_secret(o, &key.trad_der[key.trad_der.len() / 2..]);
        }
    }
    (out, g.record)
}

/// The addresses of the removed ranges that are process memory.
fn removed_addresses(record: &Value) -> Vec<(u64, u64)> {
    let findings = record["findings"].as_array().unwrap();
    record["decision"]["redaction"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let id = r["finding"].as_str()?;
            let f = findings.iter().find(|f| f["id"] == id)?;
            let a = f["location"]["address"].as_str()?;
            Some((
                u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap(),
                r["length"].as_u64().unwrap(),
            ))
        })
        .collect()
}

fn check_minidump_copy(original: &Path, copy: &Path, record: &Value) {
    let orig = minidump::Minidump::read_path(original).unwrap();
    let red = minidump::Minidump::read_path(copy).expect("the minidump crate opens the copy");
    let (om, rm) = (orig.get_memory().unwrap(), red.get_memory().unwrap());
    assert_eq!(om.iter().count(), rm.iter().count());
    let threads = red
        .get_stream::<minidump::MinidumpThreadList>()
        .expect("thread list");
    assert!(!threads.threads.is_empty());
    let addrs = removed_addresses(record);
    assert!(!addrs.is_empty());
    for (addr, len) in addrs {
        let o = om.memory_at_address(addr).unwrap();
        let r = rm
            .memory_at_address(addr)
            .expect("memory still mapped in the copy");
        let at = (addr - r.base_address()) as usize;
        let bytes = &r.bytes()[at..at + len as usize];
        assert!(
            bytes.iter().all(|&b| b == 0),
            "key bytes at {addr:#x} remain"
        );
        let ob = &o.bytes()[at..at + len as usize];
        assert!(ob.iter().any(|&b| b != 0), "original unexpectedly zero");
    }
}

#[test]
fn redacted_minidump_writer_dump_still_opens_with_the_minidump_crate() {
    let p = plant();
    let dmp = common::minidump(p.holder.pid);
    let dir = tempfile::tempdir().unwrap();
    let (out, record) = redact_real(&dmp, &p, dir.path());
    check_minidump_copy(&dmp, &out, &record);
    // Keys on the stack, in module data and on the heap were all removed.
    let regions: BTreeSet<String> = record["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["location"]["region"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        regions.contains("stack") && regions.contains("heap") && regions.contains("module"),
        "{regions:?}"
    );
}

#[test]
fn redacted_windows_full_memory_minidump_still_opens_with_the_minidump_crate() {
    let p = plant();
    let dmp = common::windows_full_minidump(p.holder.pid);
    let dir = tempfile::tempdir().unwrap();
    let (out, record) = redact_real(&dmp, &p, dir.path());
    check_minidump_copy(&dmp, &out, &record);
}

fn gdb(core: &Path, commands: &[String]) -> String {
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-c"]).arg(core);
    for c in commands {
        cmd.arg("-ex").arg(c);
    }
    let out = cmd.output().expect("gdb (apt-get install gdb)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redacted_elf_core_still_reads_in_gdb() {
    let p = plant();
    let core = common::gcore(p.holder.pid);
    let dir = tempfile::tempdir().unwrap();
    let (out, record) = redact_real(&core, &p, dir.path());
    let addrs = removed_addresses(&record);
    assert!(!addrs.is_empty());
    let mut cmds = vec![
        "info registers rip rsp".to_string(),
        "info proc mappings".to_string(),
    ];
    for (a, _) in &addrs {
        cmds.push(format!("x/4gx {a:#x}"));
    }
    let before = gdb(&core, &cmds);
    let after = gdb(&out, &cmds);
    // Same registers and mappings; the key bytes read back as zeros.
    let head = |t: &str| {
        t.lines()
            .filter(|l| {
                l.starts_with("rip") || l.starts_with("rsp") || l.contains("0x") && l.contains("/")
            })
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(!head(&after).is_empty(), "gdb read nothing: {after}");
    assert_eq!(head(&before), head(&after));
    for (a, _) in &addrs {
        let line = |t: &str| {
            t.lines()
                .find(|l| l.starts_with(&format!("{a:#x}:")))
                .unwrap_or_else(|| panic!("gdb printed no memory at {a:#x}: {t}"))
                .to_string()
        };
        let (b, r) = (line(&before), line(&after));
        assert!(r.ends_with("0x0000000000000000\t0x0000000000000000"), "{r}");
        assert_ne!(b, r);
    }
}

#[test]
fn a_copy_of_the_key_below_the_threshold_is_removed_with_the_blocking_one() {
    // The same Ed25519 key twice: PKCS#8 v2 with its public key (verified: critical) and v1
    // without (derived: high). A policy blocking only critical findings blocks the first; the
    // second does not block on its own but is the same key, so it must go too.
    let seed: [u8; 32] = noise(32, 77).try_into().unwrap();
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let alg = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
    let inner = [[0x04, 0x22, 0x04, 0x20].as_slice(), &seed].concat();
    let v2 = [
        [0x30, 0x51, 0x02, 0x01, 0x01].as_slice(),
        &alg,
        &inner,
        &[0x81, 0x21, 0x00],
        &public,
    ]
    .concat();
    let v1 = [[0x30, 0x2e, 0x02, 0x01, 0x00].as_slice(), &alg, &inner].concat();
    let dir = tempfile::tempdir().unwrap();
    let data = [noise(4096, 1), v2, noise(4096, 2), v1, noise(4096, 3)].concat();
    let dump = dir.path().join("ed.bin");
    std::fs::write(&dump, &data).unwrap();
    let before = common::scan(&dump);
    let statuses: BTreeSet<&str> = before.findings.iter().map(|f| f.status.as_str()).collect();
    assert_eq!(
        statuses,
        BTreeSet::from(["verified", "derived"]),
        "{:?}",
        before.findings
    );
    let policy = dir.path().join("critical.toml");
    std::fs::write(
        &policy,
        "version = 1\n[block]\nseverities = [\"critical\"]\n[input]\nallow_raw = true\n",
    )
    .unwrap();
    let out = dir.path().join("ed.red");
    let g = gate(&dump, &out, &["--policy", s(&policy)]);
    assert_eq!(g.code, 3, "{}", String::from_utf8_lossy(&g.stdout));
    let why: Vec<String> = g.attestation.unwrap()["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["why"].as_str().unwrap().to_string())
        .collect();
    assert!(
        why.iter().any(|w| w.starts_with("same key as F")),
        "{why:?}"
    );
    common::assert_no_secret(&std::fs::read(&out).unwrap(), &seed);
}
