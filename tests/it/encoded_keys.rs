//! Keys encoded once more (issue #11): a real python process parses a Kubernetes Secret
//! manifest (base64 of a PEM; base64 of a service-account JSON with an escaped PEM), an XML
//! config with `&#xA;` line breaks, a .NET-style JSON file (`\u002B`), a YAML file with a
//! double-quoted PEM, a URL query string, and keeps hex (ASCII and UTF-16LE), colon hex,
//! base64url and the `openssl pkey -text` listing of freshly generated keys. Its gcore and
//! minidump must give, for each encoding, a verified finding with OpenSSL's fingerprint; the
//! gate must BLOCK, print no key bytes, and its redacted copy must hold none of the encodings.
//! Negatives: random, compressed, base64 and hex of random bytes, and anchors followed by
//! noise give no finding; hostile repetitions finish.

use crate::common;

use common::{Holder, TestKey};
use dumpguard::report::Report;
use std::path::Path;

/// Every encoding, each made by the library a service would use: name → text (str or bytes).
const FORMS: &str = r#"
import base64, binascii, json, subprocess, urllib.parse, yaml
from xml.sax.saxutils import escape
def forms(pem, trad, der):
    sa = json.dumps({"type": "service_account", "private_key": pem})
    return {
        "Kubernetes tls.key": "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:\n  tls.key: " + base64.b64encode(trad.encode()).decode() + "\n",
        "Kubernetes sa.json (nested)": "apiVersion: v1\nkind: Secret\ndata:\n  sa.json: " + base64.b64encode(sa.encode()).decode() + "\n",
        "XML entities": "<config><signingKey>" + escape(pem, {"\n": "&#xA;"}) + "</signingKey></config>",
        # System.Text.Json escapes '+' as \u002B.
        "JSON \\u002B": json.dumps({"Key": pem}).replace("+", "\\u002B"),
        "YAML double-quoted": yaml.dump({"key": pem}, default_style='"', width=1 << 20),
        "URL-encoded": "client=a&key=" + urllib.parse.quote(pem, safe="") + "&x=1",
        "hex": der.hex(),
        "hex UTF-16LE": der.hex().upper().encode("utf-16-le"),
        "colon hex": binascii.hexlify(der, ":").decode(),
        "base64url": "KEY=" + base64.urlsafe_b64encode(der).decode().rstrip("="),
        "openssl -text": subprocess.run(["openssl", "pkey", "-text", "-noout"], input=pem.encode(), capture_output=True, check=True).stdout,
    }
def read(name):
    import os
    pem = open(name + ".pem", "rb").read().decode()
    trad = open(name + ".trad.pem", "rb").read().decode()
    der = open(name + ".der", "rb").read()
    for p in (".pem", ".trad.pem", ".der"):
        os.unlink(name + p)
    return pem, trad, der
"#;

/// The holder keeps every form and what parsing it gives, as the service that read it would.
const HOLDER: &str = r#"
import sys, json, urllib.parse, yaml
import xml.etree.ElementTree as ET
keep = []
for name in sys.argv[1:]:
    f = forms(*read(name))
    for k in ("Kubernetes tls.key", "Kubernetes sa.json (nested)", "YAML double-quoted"):
        keep += [f[k], yaml.safe_load(f[k])]
    keep += [f["XML entities"], ET.fromstring(f["XML entities"]).find("signingKey").text]
    keep += [f["JSON \\u002B"], json.loads(f["JSON \\u002B"])]
    keep += [f["URL-encoded"], urllib.parse.parse_qs(f["URL-encoded"])]
    import os
    os.environ["SIGNING_KEY_HEX"] = f.pop("hex")
    keep.append(f)
# Copy noise of many sizes last: the final key copies would otherwise linger in vector
# registers, which a core keeps in its notes (container structure, which the gate BLOCKs on
# rather than edit; this test is about the memory forms).
noise = os.urandom(8192)
for i in range(4000):
    x = bytearray(noise[i % 97: i % 97 + 16 + i % 3000])
print("READY", flush=True)
sys.stdin.read()
"#;

/// Prints every form of each key, base64'd, as JSON.
const PRINTER: &str = r#"
import sys, json, base64
out = {}
for name in sys.argv[1:]:
    f = forms(*read(name))
    out[name] = {k: base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode() for k, v in f.items()}
print(json.dumps(out))
"#;

/// Every encoding the holder keeps, with the `encoding` names that may report it (a short
/// EC key's base64url may happen to use no URL-only character; its JSON may need no escape
/// the PEM detector cannot read).
fn expected(key: &TestKey) -> Vec<(&'static str, Vec<&'static str>)> {
    let rsa = key.name.starts_with("rsa");
    vec![
        ("Kubernetes tls.key", vec!["base64(pem)"]),
        (
            "Kubernetes sa.json (nested)",
            vec!["base64(pem-json-escaped)"],
        ),
        ("XML entities", vec!["xml-escaped(pem)"]),
        (
            "JSON \\u002B",
            if rsa {
                vec!["json-escaped(pem)"]
            } else {
                vec!["json-escaped(pem)", "pem-json-escaped"]
            },
        ),
        ("YAML double-quoted", vec!["pem-json-escaped"]),
        ("URL-encoded", vec!["url(pem)"]),
        ("hex", vec!["hex(der)"]),
        ("colon hex", vec!["hex(der)"]),
        ("hex UTF-16LE", vec!["hex-utf16le(der)"]),
        (
            "base64url",
            if rsa {
                vec!["base64url(der)"]
            } else {
                vec!["base64url(der)", "base64"]
            },
        ),
        ("openssl -text", vec!["openssl-text"]),
    ]
}

struct Setup {
    keys: Vec<TestKey>,
    holder: Holder,
}

/// One holder process for the whole binary (key generation and python start dominate).
fn setup() -> &'static Setup {
    static S: std::sync::OnceLock<Setup> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let keys = common::fresh_keys();
        let mut cmd = std::process::Command::new("python3");
        cmd.arg("-c")
            .arg(format!("{FORMS}{HOLDER}"))
            .args(key_files(&keys, "holder"));
        let holder = Holder::spawn_command(cmd);
        Setup { keys, holder }
    })
}

/// Writes each key's PEM, traditional PEM and DER for the python side (which deletes them);
/// returns the base names.
fn key_files(keys: &[TestKey], tag: &str) -> Vec<String> {
    keys.iter()
        .map(|k| {
            let base = common::scratch().join(format!("{tag}-{}", k.name));
            let path = |ext: &str| format!("{}.{ext}", base.display());
            std::fs::write(path("pem"), &k.pkcs8_pem).unwrap();
            std::fs::write(path("trad.pem"), &k.trad_pem).unwrap();
            std::fs::write(path("der"), &k.pkcs8_der).unwrap();
            base.display().to_string()
        })
        .collect()
}

/// Each encoding alone, between random bytes: the scan finds that key in that encoding,
/// verified, and the gate BLOCKs (exit 1) on it.
#[test]
fn each_encoding_alone_is_found_and_blocks() {
    use base64::Engine;
    let keys = &setup().keys;
    let names = key_files(keys, "printer");
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("{FORMS}{PRINTER}"))
        .args(&names)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (key, name) in keys.iter().zip(&names) {
        for (form, encodings) in expected(key) {
            let text = base64::engine::general_purpose::STANDARD
                .decode(v[name][form].as_str().unwrap())
                .unwrap();
            let mut data = vec![0u8; 4096];
            getrandom(&mut data);
            data.extend_from_slice(&text);
            data.extend_from_within(..4096);
            let what = format!("{} {form} alone", key.name);
            let r = scan_bytes(&data);
            assert!(
                r.findings.iter().any(|f| f.verified
                    && encodings.contains(&f.encoding.as_str())
                    && f.fingerprint.as_deref() == Some(key.fingerprint.as_str())),
                "{what}: {:?}",
                r.findings.iter().map(|f| &f.encoding).collect::<Vec<_>>()
            );
            let path = common::scratch().join("alone.bin");
            std::fs::write(&path, &data).unwrap();
            let o = common::cli(&["gate", path.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(1), "{what}: gate must BLOCK");
            common::assert_no_secret(&o.stdout, &key.secret);
        }
    }
}

fn check_findings(report: &Report, what: &str) {
    for key in &setup().keys {
        for (form, names) in expected(key) {
            let hit = report.findings.iter().find(|f| {
                names.contains(&f.encoding.as_str())
                    && f.fingerprint.as_deref() == Some(key.fingerprint.as_str())
            });
            let Some(f) = hit else {
                let seen: Vec<_> = report
                    .findings
                    .iter()
                    .filter(|f| f.fingerprint.as_deref() == Some(key.fingerprint.as_str()))
                    .map(|f| f.encoding.clone())
                    .collect();
                panic!(
                    "{what}: {} {form}: no {names:?} finding; seen {seen:?}",
                    key.name
                );
            };
            assert!(
                f.verified,
                "{what}: {} {form}: {}",
                key.name, f.verification
            );
        }
    }
}

fn check_gate(dump: &Path, what: &str) {
    let o = common::cli(&["gate", dump.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{what}: gate must BLOCK");
    let s = common::cli(&["scan", dump.to_str().unwrap(), "--format", "json"]);
    for key in &setup().keys {
        for (i, out) in [&o.stdout, &o.stderr, &s.stdout, &s.stderr]
            .iter()
            .enumerate()
        {
            eprintln!("{what}: {} output {i}", key.name);
            common::assert_no_secret(out, &key.secret);
            // The DER past its fixed header (algorithm identifiers are no secret).
            common::assert_no_secret(out, &key.pkcs8_der[36..]);
        }
    }
}

/// ALLOW_REDACTED; the copy holds no finding of the keys, and every encoded text the scan
/// reported is gone from its place. (Not every fragment of the secret anywhere: python leaves
/// freed pieces of PEM lines and hex strings whose start was overwritten, which nothing can
/// anchor on — raw_keys.rs meets the same limit.)
fn check_redaction(dump: &Path, report: &Report, what: &str) {
    let out = common::scratch().join(format!("{}-redacted", what.replace(' ', "_")));
    let (copy, _) = common::redacted_copy(dump, &out, &[], what);
    let original = std::fs::read(dump).unwrap();
    let rescan = common::scan(&out);
    for key in &setup().keys {
        assert!(
            !rescan
                .findings
                .iter()
                .any(|f| f.fingerprint.as_deref() == Some(key.fingerprint.as_str())),
            "{what}: {} still found in the redacted copy",
            key.name
        );
    }
    let mut checked = 0;
    for f in report
        .findings
        .iter()
        .filter(|f| f.detector == "encoded" || f.detector == "openssl-text")
    {
        let (s, e) = (f.offset as usize, (f.offset + f.length) as usize);
        let mid = &original[s + (e - s) / 3..(s + (e - s) / 3 + 32).min(e)];
        assert!(
            memchr::memmem::find(&copy[s..e], mid).is_none(),
            "{what}: {} at {s} survives redaction",
            f.encoding
        );
        checked += 1;
    }
    assert!(
        checked >= 2 * expected(&setup().keys[0]).len() - 2,
        "{checked}"
    );
    let _ = std::fs::remove_file(&out);
}

#[test]
fn every_encoding_in_a_gcore_of_a_python_service() {
    let s = setup();
    let dump = common::gcore(s.holder.pid);
    let report = common::scan(&dump);
    check_findings(&report, "gcore");
    check_gate(&dump, "gcore");
    check_redaction(&dump, &report, "gcore");
}

#[test]
fn every_encoding_in_a_minidump_of_a_python_service() {
    let s = setup();
    let dump = common::minidump(s.holder.pid);
    check_findings(&common::scan(&dump), "minidump");
}

fn scan_bytes(data: &[u8]) -> Report {
    let r = dumpguard::Scanner::new().scan_bytes("test", data);
    assert!(r.input.complete, "{:?}", r.input.warnings);
    r
}

/// Random bytes and the text forms of random bytes, with and without the anchors this
/// layer looks for in front of them: nothing is a key.
#[test]
fn encodings_of_random_bytes_give_nothing() {
    use base64::Engine;
    use std::io::Write;
    let mut rnd = vec![0u8; 1 << 20];
    getrandom(&mut rnd);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&common::utf16le(&hex::encode(&rnd[..4096]).into_bytes()))
        .unwrap();
    let compressed = z.finish().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&rnd[..60000]);
    let b64url = base64::engine::general_purpose::URL_SAFE.encode(&rnd[..60000]);
    let hex_plain = hex::encode(&rnd[..30000]);
    let hex_colon: Vec<String> = rnd[..3000].iter().map(|b| format!("{b:02X}")).collect();
    let mut data = rnd.clone();
    for part in [
        compressed,
        b64.into_bytes(),
        b64url.into_bytes(),
        hex_plain.clone().into_bytes(),
        hex_colon.join(":").into_bytes(),
        common::utf16le(hex_plain.as_bytes()),
    ] {
        data.extend_from_slice(b"\n");
        data.extend_from_slice(&part);
    }
    // Anchors followed by noise: base64 of a BEGIN line, a DER header in hex, escaped and
    // percent-encoded armour, an openssl -text header.
    let noise = base64::engine::general_purpose::STANDARD.encode(&rnd[..3000]);
    let armours: Vec<Vec<u8>> = vec![
        format!(
            "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSU{}",
            &noise[..2000]
        )
        .into_bytes(),
        format!("308204a5020100{}", hex::encode(&rnd[..1200])).into_bytes(),
        format!("30:82:04:a5:02:01:00:02:{}", hex_colon[..1200].join(":")).into_bytes(),
        format!(
            "-----BEGIN PRIVATE KEY-----&#xA;{}&#xA;-----END PRIVATE KEY-----",
            &noise[..1600]
        )
        .into_bytes(),
        format!(
            "-----BEGIN%20PRIVATE%20KEY-----%0A{}%0A-----END%20PRIVATE%20KEY-----",
            &noise[..1600].replace('+', "%2B").replace('/', "%2F")
        )
        .into_bytes(),
        format!(
            "Private-Key: (2048 bit, 2 primes)\nmodulus:\n    {}\nprivateExponent:\n    {}\n",
            hex_colon[..256].join(":"),
            hex_colon[256..512].join(":")
        )
        .into_bytes(),
    ];
    let r = scan_bytes(&data);
    let found: Vec<_> = r
        .findings
        .iter()
        .map(|f| (&f.detector, &f.encoding, &f.status))
        .collect();
    assert!(found.is_empty(), "random data: {found:?}");
    let mut data = Vec::new();
    for a in &armours {
        data.extend_from_slice(b"\n");
        data.extend_from_slice(a);
        data.extend_from_slice(&common::utf16le(a));
    }
    // A PRIVATE KEY armour whose body is noise is what the PEM detector reports as a
    // corrupted key; unwrapped, it is the same. Nothing else, and nothing verified.
    let r = scan_bytes(&data);
    let wrong: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.verified || f.status != "corrupted" || !f.encoding.ends_with("(pem)"))
        .map(|f| (&f.detector, &f.encoding, &f.status))
        .collect();
    assert!(wrong.is_empty(), "anchors before noise: {wrong:?}");
}

/// Repetitions that would make every anchor decode the same text again, and encodings nested
/// deeper than the layer follows: the scan finishes quickly and complete.
#[test]
fn hostile_repetitions_and_nesting_finish() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let begin = b64(b"-----BEGIN PRIVATE KEY-----\n");
    let mut data = begin.repeat(4 << 20 >> 5).into_bytes();
    data.extend_from_slice(&"020100300d".repeat(100_000).into_bytes());
    data.extend_from_slice(
        &"-----BEGIN%20PRIVATE%20KEY-----"
            .repeat(50_000)
            .into_bytes(),
    );
    data.extend_from_slice(
        &"-----BEGIN RSA PRIVATE KEY-----&#xA;"
            .repeat(50_000)
            .into_bytes(),
    );
    // Base64 nested 6 deep around a BEGIN line run.
    let mut nested = "-----BEGIN PRIVATE KEY-----\n".repeat(2000).into_bytes();
    for _ in 0..6 {
        nested = b64(&nested).into_bytes();
    }
    data.extend_from_slice(&nested);
    let t = std::time::Instant::now();
    let r = scan_bytes(&data);
    let took = t.elapsed();
    let found: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.verified || f.status != "corrupted")
        .map(|f| (&f.detector, &f.encoding, &f.status, f.offset))
        .collect();
    assert!(found.is_empty(), "{found:?}");
    eprintln!(
        "hostile: {} bytes in {took:?}, {} findings",
        data.len(),
        r.findings.len()
    );
    // Generous for a debug build on a loaded 2-core machine; quadratic work takes minutes.
    assert!(took.as_secs() < 60, "took {took:?}");
}

fn getrandom(buf: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(buf)
        .unwrap();
}
