//! Windows CryptoAPI key blobs (docs/key-formats.md §5), as `CryptExportKey` writes them and as
//! PFX import, PVK files and legacy providers leave them in memory:
//!
//! * `PRIVATEKEYBLOB`: `BLOBHEADER {bType 07, bVersion 02, reserved 0, aiKeyAlg
//!   CALG_RSA_KEYX (0xA400) | CALG_RSA_SIGN (0x2400)}` ‖ `RSAPUBKEY {'RSA2', bitlen, pubexp}` ‖
//!   modulus ‖ prime1 ‖ prime2 ‖ exponent1 ‖ exponent2 ‖ coefficient ‖ privateExponent, all
//!   **little-endian**, sizes fixed by bitlen (learn.microsoft.com …/seccrypto/base-provider-key-blobs,
//!   "Private Key BLOBs").
//! * `PUBLICKEYBLOB` (bType 06, 'RSA1'): a public-key record for pairing.
//! * `PLAINTEXTKEYBLOB` (bType 08): `BLOBHEADER ‖ DWORD dwKeySize ‖ key` for AES, 3DES, DES,
//!   RC2, RC4 (learn.microsoft.com …/seccrypto/example-c-program--importing-a-plaintext-key).
//!
//! The anchor is the first half of the `BLOBHEADER` (type, version 2, reserved 0); the ALG_ID,
//! the `RSAPUBKEY` magic, the bit length and the key size are checked against what the
//! algorithm allows before the body is read.

use super::binary::{all_zero, le, take, u32_le, Fields};
use super::symmetric::{self, SymmetricKey};
use super::{verdict_cache, Anchor, Detector, Family, PublicKeyRecord, ScanContext, Sink};
use crate::keys::{fingerprint, rsa_recover, RsaParts};
use crate::report::Finding;

pub struct Capi;

/// Anchors: the first half of `BLOBHEADER` (bType, bVersion 2, reserved 0) for
/// PUBLICKEYBLOB (06), PRIVATEKEYBLOB (07) and PLAINTEXTKEYBLOB (08); the ALG_ID and the
/// `RSAPUBKEY` magic that follow are checked on each hit.
const ANCHORS: [[u8; 4]; 3] = [[6, 2, 0, 0], [7, 2, 0, 0], [8, 2, 0, 0]];

const CALG_RSA_SIGN: u32 = 0x2400;
const CALG_RSA_KEYX: u32 = 0xa400;
/// RC2/RC4 keys: 40 to 128 bits.
const RC: &[usize] = &[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/// Symmetric ALG_IDs a PLAINTEXTKEYBLOB may carry, with the key sizes each allows.
fn plain_alg(alg: u32) -> Option<(&'static str, &'static [usize])> {
    Some(match alg {
        0x660e => ("AES-128", &[16]),
        0x660f => ("AES-192", &[24]),
        0x6610 => ("AES-256", &[32]),
        0x6611 => ("AES", &[16, 24, 32]),
        0x6603 => ("3DES", &[24]),
        0x6609 => ("3DES-112", &[16]),
        0x6601 => ("DES", &[8]),
        0x6602 => ("RC2", RC),
        0x6801 => ("RC4", RC),
        _ => return None,
    })
}

impl Detector for Capi {
    fn name(&self) -> &'static str {
        "capi"
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "CryptoAPI PRIVATEKEYBLOB and PLAINTEXTKEYBLOB"
    }

    fn anchors(&self) -> Vec<Anchor> {
        ANCHORS
            .iter()
            .enumerate()
            .map(|(i, bytes)| Anchor {
                bytes: bytes.to_vec(),
                tag: i as u32,
            })
            .collect()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, _tag: u32, sink: &mut Sink) {
        let d = cx.data;
        let (Some(&b_type), Some(alg)) = (d.get(pos), u32_le(d, pos + 4)) else {
            return;
        };
        let rsa_alg = alg == CALG_RSA_KEYX || alg == CALG_RSA_SIGN;
        let magic = take(d, pos + 8, 4);
        let _ = match b_type {
            7 if rsa_alg && magic == Some(b"RSA2") => rsa(d, pos, true, sink),
            6 if rsa_alg && magic == Some(b"RSA1") => rsa(d, pos, false, sink),
            8 => plain_alg(alg).and_then(|(name, sizes)| plaintext(d, pos, name, sizes, sink)),
            _ => None,
        };
    }
}

/// `BLOBHEADER ‖ RSAPUBKEY {magic, bitlen, pubexp}` then the little-endian body.
fn rsa(d: &[u8], pos: usize, private: bool, sink: &mut Sink) -> Option<()> {
    let bits = u32_le(d, pos + 12)? as usize;
    let e = u32_le(d, pos + 16)?;
    if !(384..=16384).contains(&bits) || bits % 16 != 0 || e < 3 || e % 2 == 0 {
        return None;
    }
    let (full, half) = (bits / 8, bits / 16);
    let mut f = Fields::new(d, pos + 20);
    let n = le(f.next(full)?)?;
    if n.bits() != bits {
        return None;
    }
    if !private {
        sink.public_keys.push(PublicKeyRecord {
            algorithm: "RSA".into(),
            spki: fingerprint::rsa_spki(&n.to_bytes_be(), &e.to_be_bytes()).unwrap_or_default(),
            modulus: Some(n.to_bytes_be()),
            exponent: Some(e.to_be_bytes().to_vec()),
            offset: Some(pos as u64),
            source: "CryptoAPI PUBLICKEYBLOB".into(),
            ..Default::default()
        });
        return Some(());
    }
    let (p, q, dp, dq, qinv) = (
        f.next(half)?,
        f.next(half)?,
        f.next(half)?,
        f.next(half)?,
        f.next(half)?,
    );
    let dd = f.next(full)?;
    if [p, q, dp, dq, qinv, dd].iter().all(|s| all_zero(s)) {
        return None; // wiped
    }
    let parts = RsaParts {
        n: Some(n),
        e: Some(e.into()),
        d: le(dd),
        p: le(p),
        q: le(q),
        dp: le(dp),
        dq: le(dq),
        qinv: le(qinv),
        format: "CryptoAPI PRIVATEKEYBLOB".into(),
    };
    let len = f.pos - pos;
    let v = verdict_cache::verdict("capi", &d[pos..f.pos], || rsa_recover::verify(parts));
    sink.push(Finding::key(
        "capi",
        "capi-privatekeyblob",
        pos as u64,
        len as u64,
        &v,
        format!("[CryptoAPI PRIVATEKEYBLOB, {len} bytes, redacted]"),
    ));
    Some(())
}

/// `BLOBHEADER ‖ DWORD dwKeySize ‖ BYTE key[dwKeySize]`.
fn plaintext(d: &[u8], pos: usize, name: &str, sizes: &[usize], sink: &mut Sink) -> Option<()> {
    let cb = u32_le(d, pos + 8)? as usize;
    if !sizes.contains(&cb) {
        return None;
    }
    let key = take(d, pos + 12, cb)?;
    if all_zero(key) {
        return None;
    }
    sink.push(symmetric::finding(
        "capi",
        "capi-plaintextkeyblob",
        pos as u64,
        (12 + cb) as u64,
        &SymmetricKey {
            algorithm: name,
            format: "CryptoAPI PLAINTEXTKEYBLOB",
            key,
        },
    ));
    Some(())
}
