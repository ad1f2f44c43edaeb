//! Issue 11 (part 1): redaction leaves no residue, and a killed redaction leaves no copy.
//!
//! A real process holds fresh keys, each as PEM or DER *and* one more residue form of its
//! private material (big-endian d, little-endian 32/64-bit limbs, Java `int[]` order, hex in
//! both cases with and without colons, UTF-16LE hex, base64/base64url of the DER and of the
//! PEM, bare 16-byte fragments). Every form is built here by python `cryptography` and plain
//! python, independently of dumpguard. After `gate --redact-to`, no window of any form may be
//! left in the copy (searched byte for byte), and the verdict must be ALLOW_REDACTED. A second
//! test SIGKILLs the gate at random moments during `--redact-to` and searches every file left
//! under the destination directory for the keys.

use crate::common;

use aho_corasick::AhoCorasick;
use common::Holder;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

/// Cases: each a fresh key stored in the clear plus one residue form of it. `needles` are the
/// windows of the residue form (and of the key's private integers in the base forms) that
/// must not survive; `window` is how many bytes of the form carry 16 bytes of secret.
const CASES_PY: &str = r#"
import base64, json
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519
from cryptography.hazmat.primitives import serialization as s
B = lambda b: base64.b64encode(b).decode()
def be(x): return x.to_bytes((x.bit_length() + 7) // 8, "big")
def le(x, limb): 
    b = be(x)[::-1]
    return b + b"\0" * ((-len(b)) % limb)
def java(x):
    b = be(x); b = b"\0" * ((-len(b)) % 4) + b
    return b"".join(b[i:i + 4][::-1] for i in range(0, len(b), 4))
def hx(b, upper=False, colon=False):
    h = b.hex().upper() if upper else b.hex()
    return (":".join(h[i:i + 2] for i in range(0, len(h), 2)) if colon else h).encode()
def u16(t): return t.decode().encode("utf-16-le")
def windows(b, w): return [b[i:i + w] for i in range(0, len(b) - w + 1)]
def b64_inside(data, a, b):
    # base64 characters of data that encode only bytes [a, b)
    return (-(-8 * a // 6)) + 1, (8 * b) // 6 - 1
def rsa_ints(k):
    n = k.private_numbers()
    return [n.p, n.q, n.d, n.dmp1, n.dmq1, n.iqmp]
def text_needles(blob, der, ints, prefix_len, enc):
    # windows of base64(der) (enc=der) or base64(pem) (enc=pem) over each private integer only
    out = []
    for x in ints:
        v = be(x); i = der.find(v)
        if i < 0: continue
        ca, cb = b64_inside(der, i, i + len(v))
        if enc == "der":
            out += windows(blob[prefix_len + ca:prefix_len + cb], 22)
        else:
            pem_a = prefix_len + ca + ca // 64; pem_b = prefix_len + cb + cb // 64
            ea, eb = b64_inside(None, pem_a, pem_b)
            out += windows(blob[ea:eb], 30)
    return out
cases = []
def add(name, stored, form, needles, secrets):
    cases.append({"name": name, "key": B(stored), "form": B(form), "needles": [B(x) for x in needles],
                  "secrets": [B(x) for x in secrets]})
rsa_forms = ["d-be", "p-le64", "q-le32", "dp-java-int", "d-hex", "qinv-HEX-colon", "p-hex-utf16le",
             "dq-hex-colon-utf16le", "der-base64", "der-base64url", "pem-base64", "pem-base64url",
             "d-fragment", "p-hex-fragment"]
for i, name in enumerate(rsa_forms):
    k = rsa.generate_private_key(65537, 2048)
    p, q, d, dp, dq, qi = rsa_ints(k)
    pem = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption())
    der = k.private_bytes(s.Encoding.DER, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption())
    stored = pem if i % 2 == 0 else k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption())
    hdr = len(b"-----BEGIN RSA PRIVATE KEY-----\n")
    f = {"d-be": (be(d), 16), "p-le64": (le(p, 8), 16), "q-le32": (le(q, 4), 16),
         "dp-java-int": (java(dp), 16), "d-hex": (hx(be(d)), 32),
         "qinv-HEX-colon": (hx(be(qi), True, True), 47), "p-hex-utf16le": (u16(hx(be(p))), 64),
         "dq-hex-colon-utf16le": (u16(hx(be(dq), False, True)), 94),
         "d-fragment": (be(d)[40:56], 16), "p-hex-fragment": (hx(be(p)[20:36]), 32)}
    if name in f:
        form, w = f[name]
        needles = windows(form, w)
    elif name == "der-base64":
        form = b"DER=" + base64.b64encode(der); needles = text_needles(form, der, rsa_ints(k), 4, "der")
    elif name == "der-base64url":
        form = b"DER=" + base64.urlsafe_b64encode(der); needles = text_needles(form, der, rsa_ints(k), 4, "der")
    elif name == "pem-base64":
        form = base64.b64encode(pem); needles = text_needles(form, der, rsa_ints(k), hdr, "pem")
    else:
        form = base64.urlsafe_b64encode(pem); needles = text_needles(form, der, rsa_ints(k), hdr, "pem")
    assert needles, name
    add("rsa " + name, stored, form, needles, [be(x) for x in (p, q, d, dp, dq, qi)])
# Keys proven from encodings the residue module cannot decode again (JWK, OpenSSH): the
# detector hands the proven key to the redaction, which then removes its other forms too.
def b64u(x): return base64.urlsafe_b64encode(be(x)).rstrip(b"=").decode()
k = rsa.generate_private_key(65537, 2048)
p, q, d, dp, dq, qi = rsa_ints(k)
pub = k.public_key().public_numbers()
jwk = json.dumps({"kty": "RSA", "n": b64u(pub.n), "e": b64u(pub.e), "d": b64u(d), "p": b64u(p),
                  "q": b64u(q), "dp": b64u(dp), "dq": b64u(dq), "qi": b64u(qi)}).encode()
form = hx(be(d))
add("rsa jwk + d-hex", jwk, form, windows(form, 32), [be(x) for x in (p, q, d, dp, dq, qi)])
k = rsa.generate_private_key(65537, 2048)
p, q, d, dp, dq, qi = rsa_ints(k)
form = le(p, 8)
add("rsa openssh + p-le64", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.OpenSSH, s.NoEncryption()),
    form, windows(form, 16), [be(x) for x in (p, q, d, dp, dq, qi)])
k = ed25519.Ed25519PrivateKey.generate()
seed = k.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
form = hx(seed)
add("ed25519 openssh + seed-hex", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.OpenSSH, s.NoEncryption()),
    form, windows(form, 32), [seed])
k = ec.generate_private_key(ec.SECP256R1())
d = k.private_numbers().private_value.to_bytes(32, "big")
form = d[::-1]
add("p256 d-le", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()), form,
    windows(form, 16), [d])
k = ed25519.Ed25519PrivateKey.generate()
seed = k.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
form = u16(hx(seed, True))
add("ed25519 seed-HEX-utf16le", k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption()),
    form, windows(form, 64), [seed])
print(json.dumps(cases))
"#;

struct Case {
    name: String,
    key: Vec<u8>,
    form: Vec<u8>,
    needles: Vec<Vec<u8>>,
    secrets: Vec<Vec<u8>>,
}

fn cases() -> Vec<Case> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(CASES_PY)
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
        .map(|c| Case {
            name: c["name"].as_str().unwrap().into(),
            key: b(&c["key"]),
            form: b(&c["form"]),
            needles: c["needles"].as_array().unwrap().iter().map(b).collect(),
            secrets: c["secrets"].as_array().unwrap().iter().map(b).collect(),
        })
        .collect()
}

/// One process holding every case, dumped once per test binary (gcore: an ELF core).
struct Fixture {
    cases: Vec<Case>,
    dump: common::DumpFile,
    /// Every needle of every case, and which case it belongs to.
    searcher: AhoCorasick,
    owner: Vec<usize>,
    _holder: Holder,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let cases = cases();
        let mut blobs = Vec::new();
        for c in &cases {
            // Apart from each other, so one form's redaction is not another's.
            blobs.push(c.key.clone());
            blobs.push([b"residue: ".as_slice(), &c.form, b" ;"].concat());
        }
        let holder = holder(&blobs);
        let dump = common::gcore(holder.pid);
        let mut patterns = Vec::new();
        let mut owner = Vec::new();
        for (i, c) in cases.iter().enumerate() {
            for n in &c.needles {
                patterns.push(n.clone());
                owner.push(i);
            }
            // And every 16-byte window of each private integer, big- and little-endian and
            // as hex, whatever form the case is about.
            for v in &c.secrets {
                let mut le = v.clone();
                le.reverse();
                for w in v.windows(16).chain(le.windows(16)) {
                    for p in [
                        w.to_vec(),
                        hex::encode(w).into_bytes(),
                        hex::encode_upper(w).into_bytes(),
                    ] {
                        patterns.push(p);
                        owner.push(i);
                    }
                }
            }
        }
        let searcher = AhoCorasick::new(&patterns).unwrap();
        // The fixture must actually hold every form before redaction.
        let data = std::fs::read(&dump.path).unwrap();
        let mut seen = vec![false; cases.len()];
        for m in searcher.find_overlapping_iter(&data) {
            seen[owner[m.pattern().as_usize()]] = true;
        }
        for (c, s) in cases.iter().zip(&seen) {
            assert!(s, "{}: the dump does not hold the residue form", c.name);
        }
        Fixture {
            cases,
            dump,
            searcher,
            owner,
            _holder: holder,
        }
    })
}

/// python3 keeping each blob as `bytes` and `bytearray` (as `Holder::spawn`), then copying
/// noise of many sizes: the last key copies would otherwise linger in vector registers, which
/// a core keeps in its notes (container structure: the gate BLOCKs rather than edit it, and
/// this test is about the memory forms).
fn holder(blobs: &[Vec<u8>]) -> Holder {
    let dir = common::temp_dir_removed_at_exit("residue-blobs");
    let mut files = Vec::new();
    for (i, b) in blobs.iter().enumerate() {
        let p = dir.join(i.to_string());
        std::fs::write(&p, b).unwrap();
        files.push(format!("{:?}", p.to_str().unwrap()));
    }
    let src = format!(
        r#"
import os
keep = []
for p in [{}]:
    with open(p, 'rb') as f:
        b = f.read()
    os.unlink(p)
    keep.append(b)
    keep.append(bytearray(b))
noise = os.urandom(8192)
for i in range(4000):
    x = bytearray(noise[i % 97: i % 97 + 16 + i % 3000])
print("READY", flush=True)
import sys
sys.stdin.read()
"#,
        files.join(", ")
    );
    Holder::spawn_script(&src)
}

/// Names of the cases any of whose needles occur in `hay`.
fn leaks(f: &Fixture, hay: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = f
        .searcher
        .find_overlapping_iter(hay)
        .map(|m| f.cases[f.owner[m.pattern().as_usize()]].name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_residue_form_of_a_proven_key_is_removed() {
    let f = fixture();
    let dir = common::temp_dir_removed_at_exit("residue");
    let out = dir.join("redacted.core");
    let (copy, o) = common::redacted_copy(&f.dump.path, &out, &[], "residue forms");
    let left = leaks(f, &copy);
    assert!(
        left.is_empty(),
        "residue left in the redacted copy: {left:?}"
    );
    // The record names the residue check and what it searched for.
    let record: Value = serde_json::from_slice(&o.stdout).unwrap();
    // The scan itself reports the raw copies of proven keys' integers as those keys.
    let raw: Vec<&str> = record["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["detector"] == "raw-private-integer" && f["verified"] == true)
        .filter_map(|f| f["encoding"].as_str())
        .collect();
    for enc in ["be", "le64-limbs", "java-int-words"] {
        assert!(
            raw.contains(&enc),
            "no raw {enc} private integer reported: {raw:?}"
        );
    }
    let rescan = &record["decision"]["redaction"]["rescan"];
    assert_eq!(rescan["residue_found"], 0, "{rescan}");
    assert!(
        rescan["residue_keys"].as_u64().unwrap() >= f.cases.len() as u64,
        "{rescan}"
    );
    // Nothing printed or written holds key material either.
    let att = std::fs::read(dumpguard::gate::attestation_path(&out)).unwrap();
    for hay in [&o.stdout, &o.stderr, &att] {
        let l = leaks(f, hay);
        assert!(l.is_empty(), "outputs leak {l:?}");
    }
    let _ = std::fs::remove_file(&out);
}

/// SIGKILL `gate --redact-to` at random moments spread over a whole run (measured first):
/// no file anywhere under the destination directory may hold any of the keys.
#[test]
fn a_killed_redaction_leaves_no_key_on_disk() {
    let f = fixture();
    let dir = common::temp_dir_removed_at_exit("residue-kill");
    let out = dir.join("out").join("redacted.core");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_dumpguard"))
            .args(["gate", s(&f.dump.path), "--redact-to", s(&out)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let t0 = Instant::now();
    let st = run().wait().unwrap();
    let full = t0.elapsed();
    assert_eq!(st.code(), Some(3), "an uninterrupted run redacts");
    let check = |when: &str| {
        for e in walkdir::WalkDir::new(&dir) {
            let e = e.unwrap();
            if e.file_type().is_file() {
                let bytes = std::fs::read(e.path()).unwrap();
                let l = leaks(f, &bytes);
                assert!(l.is_empty(), "{when}: {} holds {l:?}", e.path().display());
            }
        }
    };
    check("after a full run");
    // Moments over the run, weighted to its second part (the first is the read-only scan of
    // the original). The run time is re-measured on every run that finishes first, so a
    // loaded machine does not push every kill past the end.
    let kills = 20;
    let mut finished = 0;
    let mut full = full;
    for i in 0..kills {
        let at = full.mul_f64(0.2 + 0.8 * rand::random::<f64>());
        let started = Instant::now();
        let mut child = run();
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_some() {
            finished += 1;
            full = full.min(started.elapsed());
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        check(&format!("kill {i} at {at:?}"));
    }
    // Most kills must land inside the work, or the test shows nothing.
    assert!(
        finished <= kills / 2,
        "{finished} of {kills} runs ended before their kill (run time {full:?})"
    );
    eprintln!("{kills} kills over a run of {full:?}; {finished} ended first");
}

/// `--known-keys`: the dump holds no encoded key, only p as little-endian limbs (found by the
/// factor search against the inventory's modulus), d big-endian and dQ as hex. The gate must
/// complete the key from the inventory and remove d and dQ too.
#[test]
fn a_key_known_only_from_the_inventory_loses_every_private_integer() {
    const PY: &str = r#"
import base64, json
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization as s
k = rsa.generate_private_key(65537, 2048)
n = k.private_numbers()
be = lambda x: x.to_bytes((x.bit_length() + 7) // 8, "big")
pub = k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)
print(json.dumps({"pub": pub.decode(), "p_le": base64.b64encode(be(n.p)[::-1]).decode(),
    "d": base64.b64encode(be(n.d)).decode(), "dq_hex": be(n.dmq1).hex(),
    "secrets": [base64.b64encode(be(x)).decode() for x in (n.p, n.q, n.d, n.dmp1, n.dmq1, n.iqmp)]}))
"#;
    let out = Command::new("python3").arg("-c").arg(PY).output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    use base64::Engine;
    let b = |x: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(x.as_str().unwrap())
            .unwrap()
    };
    let dir = common::temp_dir_removed_at_exit("residue-known");
    let inv = dir.join("known.pem");
    std::fs::write(&inv, v["pub"].as_str().unwrap()).unwrap();
    let blobs = vec![
        b(&v["p_le"]), // limbs are word-aligned: the buffer's own start
        [b"d: ".as_slice(), &b(&v["d"])].concat(),
        format!("dq={}", v["dq_hex"].as_str().unwrap()).into_bytes(),
    ];
    let h = holder(&blobs);
    let dump = common::gcore(h.pid);
    drop(h);
    let out = dir.join("redacted.core");
    let (copy, _) = common::redacted_copy(
        &dump.path,
        &out,
        &["--known-keys", s(&inv)],
        "known key from raw p",
    );
    for secret in v["secrets"].as_array().unwrap().iter().map(b) {
        common::assert_no_secret(&copy, &secret);
        let mut le = secret.clone();
        le.reverse();
        common::assert_no_secret(&copy, &le);
    }
    let _ = std::fs::remove_file(&out);
}
