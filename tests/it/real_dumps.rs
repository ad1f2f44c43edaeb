//! Issue 2, end to end on real processes: a child holding freshly generated RSA-2048 and P-256
//! keys (PEM, DER, UTF-16LE PEM) on its stack, in a module's data and on its heap is dumped
//! with gcore, with minidump-writer (heap included), as a raw /proc/PID/mem image and as a
//! Windows-style full-memory minidump. Every key must be found, verified, carry the
//! fingerprint the OpenSSL CLI computes, and be attributed to the right region.

use crate::common;

use common::{Holder, TestKey};
use dumpguard::report::{Finding, Report};

/// Joins blobs with filler so they sit at distinct offsets.
fn pack(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p);
        v.extend_from_slice(&[0x5a; 64]);
    }
    v
}

struct Planted {
    rsa: TestKey,
    ec: TestKey,
    holder: Holder,
}

/// Stack: RSA PKCS#1 DER + P-256 SEC1 PEM. Module data: RSA PKCS#8 PEM + P-256 PKCS#8 DER.
/// Heap: RSA PKCS#1 PEM, P-256 SEC1 DER, RSA PKCS#8 PEM as UTF-16LE.
fn plant() -> Planted {
    let mut keys = common::fresh_keys();
    let ec = keys.pop().unwrap();
    let rsa = keys.pop().unwrap();
    let stack = pack(&[&rsa.trad_der, &ec.trad_pem]);
    let global = pack(&[&rsa.pkcs8_pem, &ec.pkcs8_der]);
    let heap = vec![
        rsa.trad_pem.clone(),
        ec.trad_der.clone(),
        common::utf16le(&rsa.pkcs8_pem),
    ];
    let holder = Holder::spawn_native(&stack, &global, &heap);
    Planted { rsa, ec, holder }
}

fn verified<'a>(r: &'a Report, key: &TestKey) -> Vec<&'a Finding> {
    r.findings
        .iter()
        .filter(|f| f.verified && f.fingerprint.as_deref() == Some(key.fingerprint.as_str()))
        .collect()
}

/// The verified finding of `key` with this encoding/format, and its region label.
fn region_of(r: &Report, key: &TestKey, encoding: &str, format: &str) -> String {
    let f = verified(r, key)
        .into_iter()
        .find(|f| {
            f.encoding == encoding
                && f.key.as_ref().and_then(|k| k.format.as_deref()) == Some(format)
        })
        .unwrap_or_else(|| {
            panic!(
                "{}: no verified {encoding} {format} finding in {}",
                key.name, r.input.path
            )
        });
    f.location.as_ref().expect("location").region.clone()
}

/// Checks all planted keys and their attribution. `stack`, `module`, `heap` are the region
/// labels this dump format is expected to give (prefix match).
fn check(r: &Report, p: &Planted, stack: &str, module: &str, heap: &str) {
    assert!(
        r.input.complete,
        "{}: incomplete: {:?}",
        r.input.path, r.input.warnings
    );
    for key in [&p.rsa, &p.ec] {
        assert!(
            !verified(r, key).is_empty(),
            "{} not found verified",
            key.name
        );
    }
    // No finding is a wrong key: every key finding names one of our two fingerprints.
    for f in r.findings.iter().filter(|f| f.verified) {
        let fp = f.fingerprint.as_deref();
        assert!(
            fp == Some(&p.rsa.fingerprint) || fp == Some(&p.ec.fingerprint),
            "unexpected key {f:?}"
        );
    }
    let expect = |got: String, want: &str, what: &str| {
        assert!(
            got.starts_with(want),
            "{}: {what} attributed to '{got}', expected '{want}'",
            r.input.path
        );
    };
    expect(
        region_of(r, &p.rsa, "der", "PKCS#1"),
        stack,
        "RSA DER on the stack",
    );
    expect(
        region_of(r, &p.ec, "pem", "SEC1"),
        stack,
        "EC PEM on the stack",
    );
    expect(
        region_of(r, &p.rsa, "pem", "PKCS#8"),
        module,
        "RSA PEM in module data",
    );
    expect(
        region_of(r, &p.ec, "der", "PKCS#8"),
        module,
        "EC DER in module data",
    );
    expect(
        region_of(r, &p.rsa, "pem", "PKCS#1"),
        heap,
        "RSA PEM on the heap",
    );
    expect(
        region_of(r, &p.ec, "der", "SEC1"),
        heap,
        "EC DER on the heap",
    );
    expect(
        region_of(r, &p.rsa, "pem-utf16le", "PKCS#8"),
        heap,
        "UTF-16LE PEM on the heap",
    );
}

/// The CLI's JSON and human outputs for this dump name the keys but never contain them.
fn check_outputs_hold_no_secret(path: &std::path::Path, p: &Planted) {
    for format in ["json", "human"] {
        let out = common::cli(&["scan", "--format", format, path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "verified keys must give exit code 1"
        );
        let text = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert!(String::from_utf8_lossy(&text).contains(&p.rsa.fingerprint));
        for key in [&p.rsa, &p.ec] {
            common::assert_no_secret(&text, &key.secret);
            common::assert_no_secret(&text, &key.trad_der[key.trad_der.len() / 2..]);
        }
    }
}

#[test]
fn gcore_of_native_process() {
    let p = plant();
    let core = common::gcore(p.holder.pid);
    let r = common::scan(&core);
    assert_eq!(r.input.format, "elf-core");
    let stack = format!("stack of thread {}", p.holder.pid);
    check(&r, &p, &stack, "module holder", "heap");
    check_outputs_hold_no_secret(&core, &p);
}

#[test]
fn minidump_writer_dump_with_heap() {
    let p = plant();
    let dmp = common::minidump(p.holder.pid);
    let r = common::scan(&dmp);
    assert_eq!(r.input.format, "minidump");
    let stack = format!("stack of thread {}", p.holder.pid);
    check(&r, &p, &stack, "module holder", "heap");
    check_outputs_hold_no_secret(&dmp, &p);
}

#[test]
fn raw_proc_mem_image_with_index() {
    let p = plant();
    let img = common::raw_image(p.holder.pid);
    let r = common::scan(&img);
    assert_eq!(r.input.format, "raw");
    check(&r, &p, "stack", "module holder", "heap");
}

#[test]
fn raw_proc_mem_image_without_index_still_finds_keys() {
    let p = plant();
    let img = common::raw_image_bare(p.holder.pid);
    let r = common::scan(&img);
    for key in [&p.rsa, &p.ec] {
        assert!(
            !verified(&r, key).is_empty(),
            "{} not found in bare raw image",
            key.name
        );
    }
}

#[test]
fn windows_style_full_memory_minidump() {
    let p = plant();
    let dmp = common::windows_full_minidump(p.holder.pid);
    let r = common::scan(&dmp);
    assert_eq!(r.input.format, "minidump");
    assert!(r
        .input
        .description
        .as_deref()
        .unwrap_or("")
        .contains("Windows, x86-64"));
    let stack = format!("stack of thread {}", p.holder.pid);
    check(&r, &p, &stack, "module holder", "private memory rw-");
    // Addresses are virtual addresses of the process, inside its mappings.
    let f = verified(&r, &p.rsa)[0];
    let addr = f
        .location
        .as_ref()
        .unwrap()
        .address
        .expect("virtual address");
    assert!(common::maps(p.holder.pid)
        .iter()
        .any(|m| addr >= m.start && addr < m.end));
    check_outputs_hold_no_secret(&dmp, &p);
}

/// The issue's reference process: python3 `cryptography` loading both keys from PEM and from
/// DER and keeping the buffers alive.
#[test]
fn python_cryptography_process() {
    let mut keys = common::fresh_keys();
    let ec = keys.pop().unwrap();
    let rsa = keys.pop().unwrap();
    let dir = common::scratch();
    let mut paths = Vec::new();
    for (i, b) in [&rsa.pkcs8_pem, &rsa.trad_der, &ec.trad_pem, &ec.pkcs8_der]
        .iter()
        .enumerate()
    {
        let p = dir.join(format!("pykey{i}-{}", std::process::id()));
        std::fs::write(&p, b).unwrap();
        paths.push(p.display().to_string());
    }
    let src = format!(
        r#"
import os, sys
from cryptography.hazmat.primitives import serialization as s
paths = {paths:?}
bufs, keys = [], []
for p in paths:
    b = open(p, 'rb').read()
    os.unlink(p)
    bufs.append(b)
    keys.append(s.load_pem_private_key(b, None) if b.startswith(b'-----') else s.load_der_private_key(b, None))
print("READY", flush=True)
sys.stdin.read()
"#
    );
    let holder = Holder::spawn_script(&src);
    for dump in [common::gcore(holder.pid), common::minidump(holder.pid)] {
        let r = common::scan(&dump);
        for key in [&rsa, &ec] {
            let found = verified(&r, key);
            assert!(
                !found.is_empty(),
                "{} not found in {}",
                key.name,
                r.input.path
            );
            for f in found {
                let region = &f.location.as_ref().unwrap().region;
                assert!(
                    region == "heap"
                        || region.starts_with("anonymous")
                        || region.starts_with("stack"),
                    "python buffer attributed to {region}"
                );
            }
        }
    }
}

#[test]
fn lime_image_of_process_memory() {
    let p = plant();
    let img = common::lime_image(p.holder.pid);
    let r = common::scan(&img);
    assert_eq!(r.input.format, "lime");
    assert!(r.input.complete, "{:?}", r.input.warnings);
    for key in [&p.rsa, &p.ec] {
        let found = verified(&r, key);
        assert!(!found.is_empty(), "{} not found in LiME image", key.name);
        let loc = found[0].location.as_ref().unwrap();
        assert_eq!(loc.region, "physical memory");
        assert!(loc.address.is_some());
    }
}

/// Secrets in the environment reach a minidump as the LinuxEnviron stream, and in an ELF
/// core sit at the top of the main thread's stack: both are scanned and attributed.
#[test]
fn key_in_environment_is_found_in_environ_stream() {
    let mut keys = common::fresh_keys();
    let ec = keys.pop().unwrap();
    let pem = String::from_utf8(ec.pkcs8_pem.clone()).unwrap();
    let h = Holder::spawn_native_env(b"x", b"x", &[], &[("SERVICE_SIGNING_KEY", &pem)]);
    let dmp = common::minidump(h.pid);
    let r = common::scan(&dmp);
    let f = verified(&r, &ec);
    assert!(
        f.iter()
            .any(|f| f.location.as_ref().unwrap().region == "stream LinuxEnviron"),
        "not attributed to the environment stream: {:?}",
        f.iter().map(|f| &f.location).collect::<Vec<_>>()
    );
    let core = common::gcore(h.pid);
    let r = common::scan(&core);
    let f = verified(&r, &ec);
    assert!(f.iter().any(|f| f
        .location
        .as_ref()
        .unwrap()
        .region
        .starts_with("stack of thread")));
}
