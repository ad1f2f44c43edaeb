//! PuTTY private key files, PPK v2 and v3 (PuTTY manual appendix C; key-formats.md §3.3), in
//! ASCII and UTF-16LE:
//!
//! ```text
//! PuTTY-User-Key-File-3: ssh-rsa
//! Encryption: none | aes256-cbc
//! Comment: …
//! Public-Lines: N        + N lines of base64 (SSH public blob)
//! Key-Derivation: …      (v3 encrypted only, with Argon2-Memory/-Passes/-Parallelism/-Salt)
//! Private-Lines: M       + M lines of base64 (private blob)
//! Private-MAC: <hex>
//! ```
//!
//! Unencrypted files are verified twice over: the key math (the private blob against the
//! public blob) and the file MAC (v2: HMAC-SHA-1 keyed with SHA-1("putty-private-key-file-
//! mac-key"); v3: HMAC-SHA-256 with an empty key), which covers algorithm, encryption,
//! comment and both blobs. Encrypted files are reported with cipher and KDF, fingerprinted by
//! the public blob.

use super::ssh_wire::{putty_private, SshPublic};
use super::text::{self, Encoding};
use super::{verdict_cache, Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::{self, Status, Verdict};
use crate::report::Finding;
use hmac::{Hmac, Mac};

pub struct Putty;

const MAGIC: &[u8] = b"PuTTY-User-Key-File-";
/// A PPK of RSA-16384 is about 10 000 characters.
const MAX_CHARS: usize = 32 * 1024;
const MAX_LINES: usize = 512;

impl Detector for Putty {
    fn name(&self) -> &'static str {
        "putty"
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "PuTTY PPK v2/v3 private keys"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Encoding::ALL
            .iter()
            .enumerate()
            .map(|(i, e)| Anchor {
                bytes: e.encode(MAGIC),
                tag: i as u32,
            })
            .collect()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let Some(&enc) = Encoding::ALL.get(tag as usize) else {
            return;
        };
        let t = text::view(cx.data, pos, MAX_CHARS, enc);
        if let Some((v, chars, what)) = parse(&t) {
            sink.push(Finding::key(
                "putty",
                format!("putty-ppk{}", enc.suffix()),
                pos as u64,
                (chars * enc.stride()) as u64,
                &v,
                format!("[{what}, redacted]"),
            ));
        }
    }
}

/// Lines of the file with their end offsets (LF or CRLF).
struct Lines<'a> {
    t: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.t.len() {
            return None;
        }
        let rest = &self.t[self.pos..];
        let (line, adv) = match rest.iter().position(|&c| c == b'\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += adv;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }

    /// `Key: value`, requiring the given key.
    fn header(&mut self, key: &str) -> Option<&'a [u8]> {
        let line = self.next_line()?;
        let v = line.strip_prefix(key.as_bytes())?.strip_prefix(b": ")?;
        Some(v)
    }

    fn base64_lines(&mut self, n: usize) -> Option<Vec<u8>> {
        if n == 0 || n > MAX_LINES {
            return None;
        }
        let mut chars = Vec::new();
        for _ in 0..n {
            let l = self.next_line()?;
            if !l.iter().all(|&c| text::is_base64(c) || c == b'=') {
                return None;
            }
            chars.extend_from_slice(l);
        }
        text::decode_base64(&chars)
    }
}

fn count(v: &[u8]) -> Option<usize> {
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

fn ssh_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// Returns the verdict, the characters the file spans, and a description.
fn parse(t: &[u8]) -> Option<(Verdict, usize, String)> {
    let mut l = Lines { t, pos: 0 };
    let first = l.next_line()?.strip_prefix(MAGIC)?;
    let (version, alg) = match first {
        [v @ (b'2' | b'3'), b':', b' ', alg @ ..] => (v - b'0', alg),
        _ => return None,
    };
    let encryption = l.header("Encryption")?;
    let comment = l.header("Comment")?;
    let public_lines = count(l.header("Public-Lines")?)?;
    let public_blob = l.base64_lines(public_lines)?;
    let public = SshPublic::parse(&public_blob)?;
    let mut kdf = None;
    let private_lines = loop {
        let line = l.next_line()?;
        if let Some(v) = line.strip_prefix(b"Private-Lines: ") {
            break count(v)?;
        }
        // v3 encrypted: Key-Derivation and Argon2 parameters.
        if let Some(v) = line.strip_prefix(b"Key-Derivation: ") {
            kdf = Some(
                String::from_utf8_lossy(v)
                    .chars()
                    .take(16)
                    .collect::<String>(),
            );
        } else if !line.starts_with(b"Argon2-") {
            return None;
        }
    };
    let private_blob = l.base64_lines(private_lines)?;
    let mac_hex = l.header("Private-MAC")?;
    let chars = l.pos;
    let format = format!("PuTTY PPK v{version}");
    let what = format!("{format} {}", String::from_utf8_lossy(alg));
    let spki = public.spki();
    let info = keys::KeyInfo {
        format: Some(format.clone()),
        ..public.info()
    };
    match encryption {
        b"none" => {}
        b"aes256-cbc" => {
            let kdf = match (version, kdf) {
                (3, Some(k)) => format!("Argon2 ({k})"),
                _ => "SHA-1 passphrase hash (v2)".into(),
            };
            let v = Verdict {
                material: None,
                status: Status::Encrypted,
                verification: format!(
                    "PuTTY private key encrypted with aes256-cbc, key from {kdf}; cannot be \
                     verified without the passphrase (fingerprint is of the file's public key)"
                ),
                key: info,
                spki,
            };
            return Some((v, chars, format!("{what}, aes256-cbc")));
        }
        _ => return None,
    }

    let mut mac_data = Vec::new();
    for s in [alg, encryption, comment, &public_blob, &private_blob] {
        ssh_string(&mut mac_data, s);
    }
    let mac_ok = hex::decode(mac_hex).ok().is_some_and(|mac| match version {
        2 => {
            use sha1::Digest;
            let key = sha1::Sha1::digest(b"putty-private-key-file-mac-key");
            let mut m = Hmac::<sha1::Sha1>::new_from_slice(&key).expect("any key length");
            m.update(&mac_data);
            m.verify_slice(&mac).is_ok()
        }
        _ => {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(b"").expect("any key length");
            m.update(&mac_data);
            m.verify_slice(&mac).is_ok()
        }
    });
    let cache_id = [&public_blob[..], &private_blob[..]].concat();
    let mut v = match putty_private(&public, &private_blob, &format) {
        Some(key) => verdict_cache::verdict("putty", &cache_id, || keys::verify(&key)),
        None => Verdict {
            material: None,
            status: Status::Corrupted,
            verification: "private blob does not parse".into(),
            key: info.clone(),
            spki: spki.clone(),
        },
    };
    v.key.format = Some(format);
    if mac_ok {
        if v.status == Status::Verified {
            v.verification = format!("{}; file MAC verified", v.verification);
        }
    } else {
        // The file was altered after it was written: whatever the math says, the file is
        // damaged. Keep the public key's fingerprint so the damaged file is still attributable.
        v.status = Status::Corrupted;
        v.verification = format!(
            "Private-MAC does not match (file altered); {}",
            v.verification
        );
        v.spki = spki;
    }
    Some((v, chars, what))
}
