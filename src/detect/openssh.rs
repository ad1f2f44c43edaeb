//! OpenSSH private keys, `openssh-key-v1` (openssh-portable `PROTOCOL.key`; docs/key-formats.md
//! §3.2): as binary (a decoded key file in memory), as bare base64 (`b3BlbnNzaC1rZXktdjEA`,
//! ASCII or UTF-16LE), and — through [`decode`], called by the PEM detector — inside
//! `-----BEGIN OPENSSH PRIVATE KEY-----` armour. Unencrypted keys are verified (RSA p·q = n
//! …, Ed25519 seed → public key, ECDSA d·G = Q, DSA y = g^x) and checked against the public
//! key in the file header; encrypted keys are reported with their cipher and KDF, fingerprinted
//! by that public key. OpenSSH public-key lines (`ssh-ed25519 AAAA…`) become pairing records.
//!
//! The magic string also sits in the rodata of every ssh binary, so nothing is reported
//! unless the header after it parses (known cipher and KDF names, a key count, a public key).

use super::ssh_wire::{openssh_private, Reader, SshPublic};
use super::text::{self, Encoding};
use super::{verdict_cache, Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::{self, Status, Verdict};
use crate::report::Finding;

pub struct OpenSsh;

pub const MAGIC: &[u8] = b"openssh-key-v1\0";
const B64_MAGIC: &[u8] = b"b3BlbnNzaC1rZXktdjEA";
/// Longest key file followed (RSA-16384 with comment ≈ 10 KiB binary).
const MAX_BLOB: usize = 64 * 1024;

const CIPHERS: &[&str] = &[
    "none",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "3des-cbc",
];

/// Public-key lines (`ssh-ed25519 AAAAC3…`): the space and the start of the base64 blob,
/// which encodes the key type (ECDSA covers all three NIST curves).
const PUBLIC_LINES: &[&[u8]] = &[
    b" AAAAB3NzaC1yc2E",
    b" AAAAC3NzaC1lZDI1NTE5",
    b" AAAAE2VjZHNhLXNoYTItbmlzdHA",
    b" AAAAB3NzaC1kc3M",
];

/// A decoded key file: the verdict, the bytes it spans, and a structural description.
pub struct Decoded {
    pub verdict: Verdict,
    pub len: usize,
    pub format: String,
}

impl Detector for OpenSsh {
    fn name(&self) -> &'static str {
        "openssh"
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "openssh-key-v1 private keys"
    }

    fn anchors(&self) -> Vec<Anchor> {
        let mut v = vec![Anchor {
            bytes: MAGIC.to_vec(),
            tag: 0,
        }];
        for (i, e) in Encoding::ALL.iter().enumerate() {
            v.push(Anchor {
                bytes: e.encode(B64_MAGIC),
                tag: 1 + i as u32,
            });
        }
        for (i, l) in PUBLIC_LINES.iter().enumerate() {
            v.push(Anchor {
                bytes: l.to_vec(),
                tag: 10 + i as u32,
            });
        }
        v
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        match tag {
            0 => {
                let end = cx.data.len().min(pos.saturating_add(MAX_BLOB));
                if let Some(d) = decode(&cx.data[pos..end]) {
                    push(sink, "openssh-key-v1", pos, d.len, &d);
                }
            }
            1 | 2 => bare_base64(cx.data, pos, Encoding::ALL[tag as usize - 1], sink),
            _ => public_line(cx.data, pos, sink),
        }
    }
}

fn push(sink: &mut Sink, encoding: &str, pos: usize, len: usize, d: &Decoded) {
    sink.push(Finding::key(
        "openssh",
        encoding,
        pos as u64,
        len as u64,
        &d.verdict,
        format!("[{}, redacted]", d.format),
    ));
}

fn bare_base64(data: &[u8], pos: usize, enc: Encoding, sink: &mut Sink) {
    // The key must begin the base64 run (armoured bodies are the PEM detector's).
    if text::walk_back(data, pos, 1, enc, text::is_base64) != pos {
        return;
    }
    let t = text::view(data, pos, MAX_BLOB * 4 / 3 + 2048, enc);
    let body = text::base64_body(&t, MAX_BLOB * 4 / 3);
    let Some(blob) = text::decode_base64(&body.chars) else {
        return;
    };
    if let Some(d) = decode(&blob) {
        let len = body.consumed * enc.stride();
        push(
            sink,
            &format!("base64-openssh{}", enc.suffix()),
            pos,
            len,
            &d,
        );
    }
}

fn public_line(data: &[u8], pos: usize, sink: &mut Sink) {
    let t = text::view(data, pos + 1, 4096, Encoding::Ascii);
    // The blob ends at the space before the comment (no line wrapping in public lines).
    let chars: Vec<u8> = t
        .iter()
        .copied()
        .take_while(|&c| text::is_base64(c) || c == b'=')
        .take(3000)
        .collect();
    let Some(blob) = text::decode_base64(&chars) else {
        return;
    };
    if let Some(rec) =
        SshPublic::parse(&blob).and_then(|k| k.record(pos as u64, "OpenSSH public key line".into()))
    {
        sink.public_keys.push(rec);
    }
}

/// Decodes an `openssh-key-v1` blob starting at `blob[0]`. None when the bytes are not a key
/// file (e.g. the magic string in a program's constants); a key file whose private part fails
/// to parse or to verify is a corrupted verdict.
pub fn decode(blob: &[u8]) -> Option<Decoded> {
    let mut r = Reader::new(blob.strip_prefix(MAGIC)?);
    let cipher = r.name()?;
    let kdf = r.name()?;
    let kdf_options = r.string()?;
    if !CIPHERS.contains(&cipher) || !matches!(kdf, "none" | "bcrypt") {
        return None;
    }
    let count = r.u32()?;
    if !(1..=16).contains(&count) {
        return None;
    }
    let mut publics = Vec::new();
    for _ in 0..count {
        publics.push(SshPublic::parse(r.string()?)?);
    }
    let private = r.string()?;
    let len = MAGIC.len() + r.pos;
    let first = &publics[0];
    let spki = first.spki();
    let info = |format: String| keys::KeyInfo {
        format: Some(format),
        ..first.info()
    };
    let what = format!(
        "openssh-key-v1 {}{}",
        first.algorithm(),
        if count > 1 {
            format!(" (+{} more keys)", count - 1)
        } else {
            String::new()
        }
    );
    if cipher != "none" {
        let mut k = Reader::new(kdf_options);
        let rounds = k
            .string()
            .and_then(|_salt| k.u32())
            .map(|n| format!(" ({n} rounds)"))
            .unwrap_or_default();
        let verdict = Verdict {
            material: None,
            status: Status::Encrypted,
            verification: format!(
                "OpenSSH private key encrypted with {cipher}, KDF {kdf}{rounds}; cannot be \
                 verified without the passphrase (fingerprint is of the file's public key)"
            ),
            key: info("openssh-key-v1 encrypted".into()),
            spki,
        };
        return Some(Decoded {
            verdict,
            len,
            format: format!("{what}, {cipher}"),
        });
    }
    let corrupted = |why: &str| Decoded {
        verdict: Verdict {
            material: None,
            status: Status::Corrupted,
            verification: format!("openssh-key-v1 private section damaged: {why}"),
            key: info("openssh-key-v1".into()),
            spki: spki.clone(),
        },
        len,
        format: what.clone(),
    };
    let mut p = Reader::new(private);
    let (Some(c1), Some(c2)) = (p.u32(), p.u32()) else {
        return Some(corrupted("truncated"));
    };
    if c1 != c2 {
        return Some(corrupted("check integers differ"));
    }
    let Some(ty) = p.name() else {
        return Some(corrupted("key type unreadable"));
    };
    let Some((key, embedded)) = openssh_private(ty, &mut p, "openssh-key-v1") else {
        return Some(corrupted("private key fields do not parse"));
    };
    let mut v = verdict_cache::verdict("openssh", private, || keys::verify(&key));
    v.key.format = Some("openssh-key-v1".into());
    if embedded.spki() != spki || (v.spki.is_some() && v.spki != spki) {
        v.status = Status::Corrupted;
        v.verification = format!(
            "private key does not match the public key in the file header ({})",
            v.verification
        );
        v.spki = spki;
    }
    Some(Decoded {
        verdict: v,
        len,
        format: what,
    })
}

/// Opens an encrypted `openssh-key-v1` blob with `password` (the bcrypt KDF, then AES in CTR
/// or CBC mode, as ssh-keygen writes them). `Ok(None)`: the password is wrong (the two check
/// integers differ). `Err`: not tried — another cipher or KDF, more bcrypt rounds than the
/// bound, or the dump's password budget is spent — and no other password would be either.
/// The decrypted key is verified by [`decode`], with the header's public key.
pub fn open_with(
    blob: &[u8],
    password: &[u8],
    budget: &super::kdf_budget::Budget,
) -> Result<Option<Verdict>, ()> {
    use super::kdf_budget::{BCRYPT_HASH, MAX_BCRYPT_ROUNDS};
    use cbc::cipher::{BlockDecryptMut, KeyIvInit, StreamCipher};
    let mut r = Reader::new(blob.strip_prefix(MAGIC).ok_or(())?);
    let (cipher, kdf, kdf_options) = (
        r.name().ok_or(())?,
        r.name().ok_or(())?,
        r.string().ok_or(())?,
    );
    let (key_len, ctr_mode) = match cipher {
        "aes128-ctr" => (16, true),
        "aes192-ctr" => (24, true),
        "aes256-ctr" => (32, true),
        "aes128-cbc" => (16, false),
        "aes192-cbc" => (24, false),
        "aes256-cbc" => (32, false),
        _ => return Err(()),
    };
    if kdf != "bcrypt" {
        return Err(());
    }
    let mut k = Reader::new(kdf_options);
    let salt = k.string().ok_or(())?;
    let rounds = k.u32().ok_or(())?;
    if rounds == 0 || rounds > MAX_BCRYPT_ROUNDS || salt.is_empty() || salt.len() > 1024 {
        return Err(());
    }
    let count = r.u32().ok_or(())?;
    if !(1..=16).contains(&count) {
        return Err(());
    }
    let mut publics = Vec::new();
    for _ in 0..count {
        publics.push(r.string().ok_or(())?);
    }
    let private = r.string().ok_or(())?;
    if private.len() < 16 || private.len() % 16 != 0 {
        return Err(());
    }
    // bcrypt_pbkdf refuses an empty passphrase; ssh-keygen never encrypts with one.
    if password.is_empty() {
        return Ok(None);
    }
    let out_len: usize = key_len + 16;
    let blocks = out_len.div_ceil(32) as u64;
    if !budget.spend(BCRYPT_HASH.saturating_mul(rounds as u64 * blocks)) {
        return Err(());
    }
    let mut kiv = vec![0u8; out_len];
    if bcrypt_pbkdf::bcrypt_pbkdf(password, salt, rounds, &mut kiv).is_err() {
        return Ok(None);
    }
    let (key, iv) = kiv.split_at(key_len);
    let mut plain = private.to_vec();
    macro_rules! run {
        ($aes:ty) => {
            if ctr_mode {
                ctr::Ctr128BE::<$aes>::new_from_slices(key, iv)
                    .map_err(|_| ())?
                    .apply_keystream(&mut plain);
            } else {
                let mut d = cbc::Decryptor::<$aes>::new_from_slices(key, iv).map_err(|_| ())?;
                for block in plain.chunks_exact_mut(16) {
                    d.decrypt_block_mut(block.into());
                }
            }
        };
    }
    match key_len {
        16 => run!(aes::Aes128),
        24 => run!(aes::Aes192),
        _ => run!(aes::Aes256),
    }
    if plain[0..4] != plain[4..8] {
        return Ok(None);
    }
    // The same file, unencrypted: decoded and verified like any other.
    let mut clear = MAGIC.to_vec();
    for s in [&b"none"[..], b"none", b""] {
        clear.extend_from_slice(&(s.len() as u32).to_be_bytes());
        clear.extend_from_slice(s);
    }
    clear.extend_from_slice(&count.to_be_bytes());
    for s in publics.iter().copied().chain([&plain[..]]) {
        clear.extend_from_slice(&(s.len() as u32).to_be_bytes());
        clear.extend_from_slice(s);
    }
    let Some(d) = decode(&clear) else {
        return Ok(None);
    };
    // Check integers that agree by chance (one wrong password in 2^32) give no key.
    if !matches!(d.verdict.status, Status::Verified | Status::Derived) {
        return Ok(None);
    }
    let mut v = d.verdict;
    v.key.format = Some(format!(
        "openssh-key-v1 encrypted ({cipher}, bcrypt {rounds} rounds)"
    ));
    Ok(Some(v))
}
