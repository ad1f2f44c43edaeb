//! What must NOT be reported as a key (issue 2): the public sample dumps, 256 MiB of random
//! bytes, compressed data (including compressed keys), system shared libraries, and a real
//! process that holds only CA certificates.

use crate::common;

use common::Holder;
use dumpguard::report::{Report, Severity};
use std::io::Write;
use std::process::{Command, Stdio};

fn key_findings(r: &Report) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.kind.as_str().ends_with("-key"))
        .map(|f| {
            format!(
                "{} {} at {:#x} ({})",
                f.kind, f.status, f.offset, f.verification
            )
        })
        .collect()
}

#[test]
fn public_sample_dumps_hold_no_keys() {
    let samples = common::public_samples();
    assert!(
        samples.len() >= 10,
        "../shared/sample-dumps/public missing?"
    );
    for p in samples {
        let r = common::scan(&p);
        assert!(
            key_findings(&r).is_empty(),
            "{}: {:?}",
            p.display(),
            key_findings(&r)
        );
        assert_eq!(
            r.input.scanned_bytes,
            r.input.size,
            "{}: not every byte scanned",
            p.display()
        );
    }
}

#[test]
fn random_256_mib_holds_no_keys() {
    let path = common::scratch().join("random-256m.bin");
    {
        use std::io::Read;
        let src = std::fs::File::open("/dev/urandom").unwrap();
        let mut dst = std::fs::File::create(&path).unwrap();
        std::io::copy(&mut src.take(256 << 20), &mut dst).unwrap();
    }
    let r = common::scan(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(r.input.size, 256 << 20);
    assert_eq!(r.input.scanned_bytes, 256 << 20);
    assert!(r.input.complete);
    assert!(r.findings.is_empty(), "{:?}", key_findings(&r));
}

fn compress(tool: &str, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    w.join().unwrap().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Keys compressed with gzip, xz and bzip2 are not keys any more: nothing is reported (a
/// compressed dump is the sweep's job to open, not the byte scanner's to guess at).
#[test]
fn compressed_data_holds_no_keys() {
    let keys = common::fresh_keys();
    let mut plain = Vec::new();
    for k in &keys {
        for b in [&k.pkcs8_pem, &k.pkcs8_der, &k.trad_pem, &k.trad_der] {
            plain.extend_from_slice(b);
            plain.extend_from_slice(&common::utf16le(&k.pkcs8_pem));
        }
    }
    // Sanity: uncompressed, they are all found.
    assert!(
        Severity::Critical <= common_max(&dumpguard::Scanner::new().scan_bytes("plain", &plain))
    );
    for tool in ["gzip", "xz", "bzip2"] {
        let z = compress(tool, &plain);
        let r = dumpguard::Scanner::new().scan_bytes(tool, &z);
        assert!(r.findings.is_empty(), "{tool}: {:?}", key_findings(&r));
    }
    // Real compressed files from the system.
    let mut n = 0;
    for e in std::fs::read_dir("/usr/share/doc")
        .unwrap()
        .flatten()
        .take(400)
    {
        for f in std::fs::read_dir(e.path()).into_iter().flatten().flatten() {
            if f.path().extension().is_some_and(|x| x == "gz") {
                let r = common::scan(&f.path());
                assert!(
                    r.findings.is_empty(),
                    "{}: {:?}",
                    f.path().display(),
                    key_findings(&r)
                );
                n += 1;
            }
        }
    }
    assert!(n > 20, "too few compressed system files checked ({n})");
}

fn common_max(r: &Report) -> Severity {
    r.max_severity().unwrap_or(Severity::Low)
}

/// Every shared library of the system: no key finding at or above medium. The only keys in
/// them are published self-test keys (GnuTLS embeds a dozen), reported as low and labelled.
#[test]
fn system_shared_libraries_hold_no_secret_keys() {
    let mut libs = 0;
    let mut known = 0;
    for e in std::fs::read_dir("/usr/lib/x86_64-linux-gnu")
        .unwrap()
        .flatten()
    {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains(".so") || !p.is_file() {
            continue;
        }
        libs += 1;
        let r = common::scan(&p);
        for f in &r.findings {
            assert!(
                f.severity == Severity::Low && f.known_key.is_some(),
                "{name}: {} {} at {:#x}: {}",
                f.kind,
                f.status,
                f.offset,
                f.verification
            );
            known += 1;
        }
    }
    assert!(libs > 100, "only {libs} libraries found");
    eprintln!("{libs} libraries scanned, {known} published test keys labelled");
}

/// A real process holding every CA certificate of the system (PEM and DER, ASCII and UTF-16):
/// certificates are public keys, not findings.
#[test]
fn process_holding_only_ca_certificates_has_no_findings() {
    let src = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization as s
pem = open('/etc/ssl/certs/ca-certificates.crt', 'rb').read()
certs = x509.load_pem_x509_certificates(pem)
keep = [pem, pem.decode().encode('utf-16-le')]
for c in certs:
    keep.append(c.public_bytes(s.Encoding.DER))
    keep.append(c.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo))
    keep.append(c.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
print("READY", flush=True)
sys.stdin.read()
"#;
    let h = Holder::spawn_script(src);
    for dump in [common::gcore(h.pid), common::minidump(h.pid)] {
        let r = common::scan(&dump);
        assert!(
            r.findings.is_empty(),
            "{}: {:?}",
            r.input.path,
            key_findings(&r)
        );
    }
}
