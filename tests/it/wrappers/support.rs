//! Shared helpers for the wrapper-detector tests: samples built by `gen.py` (fresh keys per
//! run, independent implementations), planting in filler, and the assertions every encoding
//! must pass.

use dumpguard::report::{Finding, Report};
use std::collections::HashMap;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub encoding: String,
    /// Expected status: verified, encrypted, unverifiable, or "public" (no finding at all).
    pub status: String,
    pub kind: Option<String>,
    pub data: Vec<u8>,
    pub fingerprint: Option<String>,
    /// The same encoding with one bit of key material flipped.
    pub corrupt: Option<Vec<u8>>,
    /// What the corrupted copy must be reported as: `corrupted`, or for a flipped bit in
    /// ciphertext `encrypted|corrupted` (a PKCS#12 key bag that no longer opens, or opens to a
    /// damaged key).
    pub corrupt_status: String,
    pub secret: Vec<u8>,
}

impl Sample {
    pub fn is_public(&self) -> bool {
        self.status == "public"
    }
}

/// The samples of one generator group (`cng`, `capi` ...), generated once per test binary.
pub fn samples(group: &str) -> Vec<Sample> {
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<Sample>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(s) = cache.lock().unwrap().get(group) {
        return s.clone();
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/wrappers/gen.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(group)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "gen.py {group} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hex = |x: &serde_json::Value| x.as_str().map(|s| hex::decode(s).unwrap());
    let s: Vec<Sample> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| Sample {
            name: x["name"].as_str().unwrap().into(),
            encoding: x["encoding"].as_str().unwrap().into(),
            status: x["status"].as_str().unwrap().into(),
            kind: x["kind"].as_str().map(String::from),
            data: hex(&x["data"]).unwrap(),
            fingerprint: x["fingerprint"].as_str().map(String::from),
            corrupt: hex(&x["corrupt"]),
            corrupt_status: x["corrupt_status"].as_str().unwrap_or("corrupted").into(),
            secret: hex(&x["secret"]).unwrap_or_default(),
        })
        .collect();
    cache.lock().unwrap().insert(group.into(), s.clone());
    s
}

/// Deterministic filler (xorshift), so failures reproduce.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `data` at an odd offset inside random filler.
pub fn plant(data: &[u8]) -> Vec<u8> {
    let mut v = noise(4097, data.len() as u64);
    v.extend_from_slice(data);
    v.extend(noise(3001, 7));
    v
}

pub fn scan_bytes(bytes: &[u8]) -> Report {
    dumpguard::Scanner::new().scan_bytes("planted", bytes)
}

/// The finding for sample `s`: right encoding, status, kind and exact fingerprint.
pub fn find<'a>(r: &'a Report, s: &Sample) -> Option<&'a Finding> {
    r.findings.iter().find(|f| {
        f.encoding == s.encoding
            && f.status == s.status
            && f.verified == (s.status == "verified")
            && f.fingerprint == s.fingerprint
            && s.kind.as_ref().map_or(true, |k| f.kind == *k)
    })
}

pub fn describe(r: &Report) -> String {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "\n  {} {} {} {:?} {}",
                f.encoding, f.kind, f.status, f.fingerprint, f.verification
            )
        })
        .collect()
}

/// Asserts `s` is found exactly as expected in `r` (or, for public samples, gives no finding).
pub fn assert_found(r: &Report, s: &Sample, context: &str) {
    if s.is_public() {
        assert!(
            r.findings.iter().all(|f| f.fingerprint != s.fingerprint),
            "{context}: public sample {} became a finding:{}",
            s.name,
            describe(r)
        );
        return;
    }
    assert!(
        find(r, s).is_some(),
        "{context}: {} ({} {} {:?}) not found; findings:{}",
        s.name,
        s.encoding,
        s.status,
        s.fingerprint,
        describe(r)
    );
}

/// Plants each sample alone in noise: found, exact fingerprint, no secret in the JSON report;
/// public samples give no finding but a public-key record.
pub fn check_planted(group: &str) {
    for s in samples(group) {
        let r = scan_bytes(&plant(&s.data));
        assert_found(&r, &s, "planted");
        if s.is_public() {
            assert!(r.findings.is_empty(), "{}:{}", s.name, describe(&r));
            assert!(
                r.summary.public_keys_seen >= 1,
                "{}: no public record",
                s.name
            );
        }
        if !s.secret.is_empty() {
            crate::common::assert_no_secret(r.to_json(true).as_bytes(), &s.secret);
        }
    }
}

/// A one-bit-corrupted copy of each sample is never verified (no verified finding of that
/// key), and is reported as corrupted.
pub fn check_corrupted(group: &str) {
    for s in samples(group) {
        let Some(bad) = &s.corrupt else { continue };
        let r = scan_bytes(&plant(bad));
        // Other, intact keys in the same data (a PGP subkey) may verify; this one must not.
        assert!(
            r.findings
                .iter()
                .all(|f| !f.verified || f.fingerprint != s.fingerprint),
            "{}: corrupted copy verified:{}",
            s.name,
            describe(&r)
        );
        assert!(
            r.findings
                .iter()
                .any(|f| s.corrupt_status.split('|').any(|st| f.status == st)),
            "{}: corrupted copy not reported as {}:{}",
            s.name,
            s.corrupt_status,
            describe(&r)
        );
    }
}

/// Each magic followed by random bytes (and by a plausible header with a random body) gives no
/// verified finding.
pub fn check_magic_noise(magics: &[&[u8]]) {
    for (i, m) in magics.iter().enumerate() {
        for seed in 0..8u64 {
            let mut v = noise(1000, seed + 100 * i as u64);
            v.extend_from_slice(m);
            v.extend(noise(8192, seed ^ 0x5555));
            let r = scan_bytes(&v);
            assert!(
                r.findings.iter().all(|f| !f.verified),
                "magic {:?} + noise verified:{}",
                String::from_utf8_lossy(m),
                describe(&r)
            );
        }
    }
}

/// One holder process with every sample of `groups`, dumped as an ELF core (gcore) and as a
/// minidump (minidump-writer, heap included): every sample found, verified, exact fingerprint.
pub fn check_real_process(groups: &[&str]) {
    let all: Vec<Sample> = groups.iter().flat_map(|g| samples(g)).collect();
    let blobs: Vec<Vec<u8>> = all.iter().map(|s| s.data.clone()).collect();
    let holder = crate::common::Holder::spawn(&blobs);
    let core = crate::common::gcore(holder.pid);
    let mini = crate::common::minidump(holder.pid);
    drop(holder);
    for (what, path) in [("ELF core", &core), ("minidump", &mini)] {
        let r = crate::common::scan(path);
        assert!(
            r.input.complete,
            "{what}: incomplete {:?}",
            r.input.warnings
        );
        for s in &all {
            assert_found(&r, s, what);
        }
        let json = r.to_json(false);
        for s in all.iter().filter(|s| !s.secret.is_empty()) {
            crate::common::assert_no_secret(json.as_bytes(), &s.secret);
        }
    }
}

/// Hostile variants of every sample (bytes flipped, size fields overwritten with extreme
/// values, truncated, bytes cut out) never make a detector panic (a panic makes the scan
/// incomplete).
pub fn check_mutations(group: &str) {
    for (n, s) in samples(group).iter().enumerate() {
        let mut rng = noise(4096, 0x9e37_79b9 ^ n as u64).into_iter().cycle();
        let mut next = move || rng.next().unwrap() as usize;
        for round in 0..24 {
            let mut v = s.data.clone();
            if v.is_empty() {
                break;
            }
            match round % 4 {
                0 => {
                    for _ in 0..1 + next() % 8 {
                        let i = (next() << 8 | next()) % v.len();
                        v[i] ^= 1 << (next() % 8);
                    }
                }
                1 => {
                    let i = (next() << 8 | next()) % v.len();
                    let val: [u8; 4] = match next() % 4 {
                        0 => [0xff; 4],
                        1 => [0; 4],
                        2 => [0xff, 0xff, 0xff, 0x7f],
                        _ => [next() as u8, next() as u8, 0, 0],
                    };
                    for (k, b) in val.iter().enumerate() {
                        if let Some(x) = v.get_mut(i + k) {
                            *x = *b;
                        }
                    }
                }
                2 => v.truncate((next() << 8 | next()) % v.len()),
                _ => {
                    let i = (next() << 8 | next()) % v.len();
                    v.drain(i..(i + 1 + next() % 16).min(v.len()));
                }
            }
            let r = scan_bytes(&v);
            assert!(
                r.input.complete,
                "{} variant {round}: scan incomplete {:?}",
                s.name, r.input.warnings
            );
        }
    }
}
