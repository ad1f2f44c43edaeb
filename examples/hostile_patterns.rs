//! Scan time of hostile text patterns against random bytes of the same size: the shapes that
//! used to cost each anchor a re-read of kilobytes (quadratic work). Speed is measured here,
//! never asserted in tests.
//!
//! `cargo run --release --example hostile_patterns [BYTES]` (default 1 MiB per pattern).
fn time(name: &str, data: &[u8]) {
    let s = dumpguard::Scanner::new();
    let t = std::time::Instant::now();
    let r = s.scan_bytes(name, data);
    println!(
        "{name:40} {:>8} bytes {:>10.3?} findings {}",
        data.len(),
        t.elapsed(),
        r.findings.len()
    );
}
fn rep(p: &[u8], n: usize) -> Vec<u8> {
    p.iter().copied().cycle().take(n).collect()
}
fn u16le(p: &[u8]) -> Vec<u8> {
    p.iter().flat_map(|&b| [b, 0]).collect()
}
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1 << 20);
    let mut x = 0x12345678u64;
    let rnd: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    time("random", &rnd);
    time("base64 anchors spaced", &rep(b" MIIEpAIBAAKCAQEA", n));
    time(
        "base64 anchors dashed utf16",
        &rep(&u16le(b"-MIIEpAIBAAKCAQEA"), n),
    );
    time(
        "pem begin repeated utf16",
        &rep(&u16le(b"-----BEGIN PRIVATE KEY-----"), n),
    );
    time(
        "pem begin + 600 b64 repeated utf16",
        &rep(
            &u16le(&[&b"-----BEGIN PRIVATE KEY-----\n"[..], &[b'A'; 600]].concat()),
            n,
        ),
    );
    time(
        "pem proc-type no newline",
        &rep(b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: x", n),
    );
    time(
        "der nested pkcs1 seqs",
        &rep(b"\x30\x82\xff\xff\x02\x01\x00\x02\x82\x01\x00", n),
    );
    time("der int seq", &rep(b"\x02\x01\x00\x02\x82\x00\x80", n));
    time(
        "der nested 0x83",
        &rep(b"\x30\x83\x0f\xff\xff\x02\x01\x00\x02\x82\x01\x00", n),
    );
    time("der pkcs8 rsa nested", &rep(b"\x30\x83\x0f\xff\xff\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00\x04\x83\x0f\xff\xe0", n));
    time(
        "pem begin repeated ascii",
        &rep(b"-----BEGIN PRIVATE KEY-----", n),
    );
    time(
        "base64 json-escaped lines",
        &rep(b"\\nMIIEpAIBAAKCAQEAMIIEpAIBAAKCAQEAMIIEpAIBAAKCAQEA", n),
    );
    time(
        "pem body then begin",
        &rep(
            &[&b"-----BEGIN PRIVATE KEY-----\n"[..], &[b'A'; 64], b"\n"].concat(),
            n,
        ),
    );
}
