//! PuTTY private key files, PPK v2 and v3 (PuTTY manual appendix C; docs/key-formats.md §3.3), in
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

/// A PPK file's fields, as written.
struct Ppk<'a> {
    version: u8,
    alg: &'a [u8],
    encryption: &'a [u8],
    comment: &'a [u8],
    public_blob: Vec<u8>,
    public: SshPublic,
    /// v3 encrypted: `Key-Derivation` and the `Argon2-*` headers, as written.
    kdf: Option<String>,
    argon2: Vec<(&'a [u8], &'a [u8])>,
    private_blob: Vec<u8>,
    mac_hex: &'a [u8],
    /// Characters the file spans.
    chars: usize,
}

fn read(t: &[u8]) -> Option<Ppk<'_>> {
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
    let mut argon2 = Vec::new();
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
        } else if let Some(rest) = line.strip_prefix(b"Argon2-") {
            let colon = rest.iter().position(|&c| c == b':')?;
            if argon2.len() < 8 {
                argon2.push((&rest[..colon], rest[colon + 1..].trim_ascii()));
            }
        } else {
            return None;
        }
    };
    let private_blob = l.base64_lines(private_lines)?;
    let mac_hex = l.header("Private-MAC")?;
    Some(Ppk {
        version,
        alg,
        encryption,
        comment,
        public_blob,
        public,
        kdf,
        argon2,
        private_blob,
        mac_hex,
        chars: l.pos,
    })
}

/// Returns the verdict, the characters the file spans, and a description.
fn parse(t: &[u8]) -> Option<(Verdict, usize, String)> {
    let ppk = read(t)?;
    let format = format!("PuTTY PPK v{}", ppk.version);
    let what = format!("{format} {}", String::from_utf8_lossy(ppk.alg));
    let info = keys::KeyInfo {
        format: Some(format.clone()),
        ..ppk.public.info()
    };
    match ppk.encryption {
        b"none" => {}
        b"aes256-cbc" => {
            let kdf = match (ppk.version, &ppk.kdf) {
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
                spki: ppk.public.spki(),
            };
            return Some((v, ppk.chars, format!("{what}, aes256-cbc")));
        }
        _ => return None,
    }
    let mac_ok = mac_matches(&ppk, &ppk.private_blob, b"");
    Some((verdict(&ppk, &ppk.private_blob, mac_ok), ppk.chars, what))
}

/// Whether the file MAC verifies over the fields and the (decrypted) private blob. v2: HMAC-
/// SHA-1 keyed with SHA-1("putty-private-key-file-mac-key" ‖ passphrase); v3: HMAC-SHA-256
/// keyed with `v3_key` (empty for an unencrypted file, else the last 32 bytes of Argon2's).
fn mac_matches(ppk: &Ppk<'_>, private: &[u8], secret: &[u8]) -> bool {
    let mut mac_data = Vec::new();
    for s in [
        ppk.alg,
        ppk.encryption,
        ppk.comment,
        &ppk.public_blob,
        private,
    ] {
        ssh_string(&mut mac_data, s);
    }
    hex::decode(ppk.mac_hex)
        .ok()
        .is_some_and(|mac| match ppk.version {
            2 => {
                use sha1::Digest;
                let mut h = sha1::Sha1::new();
                h.update(b"putty-private-key-file-mac-key");
                h.update(secret);
                let key = h.finalize();
                let mut m = Hmac::<sha1::Sha1>::new_from_slice(&key).expect("any key length");
                m.update(&mac_data);
                m.verify_slice(&mac).is_ok()
            }
            _ => {
                let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
                m.update(&mac_data);
                m.verify_slice(&mac).is_ok()
            }
        })
}

/// The key math over the public blob and the (decrypted) private blob, with the MAC's word.
fn verdict(ppk: &Ppk<'_>, private: &[u8], mac_ok: bool) -> Verdict {
    let format = format!("PuTTY PPK v{}", ppk.version);
    let spki = ppk.public.spki();
    let info = keys::KeyInfo {
        format: Some(format.clone()),
        ..ppk.public.info()
    };
    let cache_id = [&ppk.public_blob[..], private].concat();
    let mut v = match putty_private(&ppk.public, private, &format) {
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
    v
}

/// Opens an encrypted PPK (`t`, its text) with `password`. `Ok(None)`: wrong password (the
/// file MAC, which covers the decrypted private blob, does not verify). `Err`: not tried —
/// Argon2 parameters beyond the bounds, or the dump's password budget is spent. Only a key
/// whose MAC verifies is returned, verified by the key math.
pub fn open_with(
    t: &[u8],
    password: &[u8],
    budget: &super::kdf_budget::Budget,
) -> Result<Option<Verdict>, ()> {
    use super::kdf_budget as b;
    use cbc::cipher::{BlockDecryptMut, KeyIvInit};
    let ppk = read(t).ok_or(())?;
    if ppk.encryption != b"aes256-cbc"
        || ppk.private_blob.is_empty()
        || ppk.private_blob.len() % 16 != 0
    {
        return Err(());
    }
    // key (32) ‖ IV (16) ‖ v3 MAC key (32).
    let (key, iv, mac_key) = if ppk.version == 2 {
        use sha1::Digest;
        if !budget.spend(2 * b::HASH_BLOCK) {
            return Err(());
        }
        let mut k = Vec::new();
        for counter in [0u32, 1] {
            let mut h = sha1::Sha1::new();
            h.update(counter.to_be_bytes());
            h.update(password);
            k.extend_from_slice(&h.finalize());
        }
        k.truncate(32);
        (k, vec![0u8; 16], password.to_vec())
    } else {
        let param = |name: &[u8]| ppk.argon2.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let num =
            |name: &[u8]| -> Option<u32> { std::str::from_utf8(param(name)?).ok()?.parse().ok() };
        let algorithm = match ppk.kdf.as_deref() {
            Some("Argon2id") => argon2::Algorithm::Argon2id,
            Some("Argon2i") => argon2::Algorithm::Argon2i,
            Some("Argon2d") => argon2::Algorithm::Argon2d,
            _ => return Err(()),
        };
        let (Some(memory), Some(passes), Some(lanes)) =
            (num(b"Memory"), num(b"Passes"), num(b"Parallelism"))
        else {
            return Err(());
        };
        let salt = param(b"Salt").and_then(|s| hex::decode(s).ok()).ok_or(())?;
        if memory > b::MAX_ARGON2_KIB
            || passes == 0
            || passes > b::MAX_ARGON2_PASSES
            || lanes == 0
            || lanes > b::MAX_ARGON2_LANES
        {
            return Err(());
        }
        let params = argon2::Params::new(memory, passes, lanes, Some(80)).map_err(|_| ())?;
        let cost = (params.block_count() as u64) * passes as u64 * b::ARGON2_BLOCK;
        if !budget.spend(cost) {
            return Err(());
        }
        let mut out = [0u8; 80];
        argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
            .hash_password_into(password, &salt, &mut out)
            .map_err(|_| ())?;
        (out[..32].to_vec(), out[32..48].to_vec(), out[48..].to_vec())
    };
    let mut plain = ppk.private_blob.clone();
    let mut d = cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv).map_err(|_| ())?;
    for block in plain.chunks_exact_mut(16) {
        d.decrypt_block_mut(block.into());
    }
    if !mac_matches(&ppk, &plain, &mac_key) {
        return Ok(None);
    }
    let mut v = verdict(&ppk, &plain, true);
    v.key.format = Some(format!(
        "PuTTY PPK v{} encrypted (aes256-cbc, {})",
        ppk.version,
        ppk.kdf.as_deref().unwrap_or("SHA-1 passphrase hash")
    ));
    Ok(Some(v))
}
