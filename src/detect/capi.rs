//! Windows CryptoAPI key blobs (key-formats.md §5), as `CryptExportKey` writes them and as
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
//! The 8- or 12-byte header is the anchor; the bit length and key size are checked against
//! what the algorithm allows before the body is read.

use super::binary::{all_zero, le, take, u32_le, Fields};
use super::symmetric::{self, SymmetricKey};
use super::{verdict_cache, Anchor, Detector, PublicKeyRecord, ScanContext, Sink};
use crate::keys::{fingerprint, rsa_recover, RsaParts};
use crate::report::Finding;

pub struct Capi;

#[derive(Clone, Copy)]
enum Kind {
    RsaPrivate,
    RsaPublic,
    /// PLAINTEXTKEYBLOB for one ALG_ID: name and the key sizes it allows.
    Plain(&'static str, &'static [usize]),
}

const CALG_RSA_KEYX: [u8; 4] = [0x00, 0xa4, 0x00, 0x00];
const CALG_RSA_SIGN: [u8; 4] = [0x00, 0x24, 0x00, 0x00];

/// Anchor bytes and what each announces, built once.
fn table() -> &'static [(Vec<u8>, Kind)] {
    static TABLE: std::sync::OnceLock<Vec<(Vec<u8>, Kind)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(build_table)
}

fn build_table() -> Vec<(Vec<u8>, Kind)> {
    let mut t = Vec::new();
    for alg in [CALG_RSA_KEYX, CALG_RSA_SIGN] {
        t.push((
            [&[7, 2, 0, 0][..], &alg, b"RSA2"].concat(),
            Kind::RsaPrivate,
        ));
        t.push(([&[6, 2, 0, 0][..], &alg, b"RSA1"].concat(), Kind::RsaPublic));
    }
    const RC: &[usize] = &[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    let plain: [(u16, &'static str, &'static [usize]); 9] = [
        (0x660e, "AES-128", &[16]),
        (0x660f, "AES-192", &[24]),
        (0x6610, "AES-256", &[32]),
        (0x6611, "AES", &[16, 24, 32]),
        (0x6603, "3DES", &[24]),
        (0x6609, "3DES-112", &[16]),
        (0x6601, "DES", &[8]),
        (0x6602, "RC2", RC),
        (0x6801, "RC4", RC),
    ];
    for (alg, name, sizes) in plain {
        let a = alg.to_le_bytes();
        t.push((vec![8, 2, 0, 0, a[0], a[1], 0, 0], Kind::Plain(name, sizes)));
    }
    t
}

impl Detector for Capi {
    fn name(&self) -> &'static str {
        "capi"
    }

    fn anchors(&self) -> Vec<Anchor> {
        table()
            .iter()
            .enumerate()
            .map(|(i, (bytes, _))| Anchor {
                bytes: bytes.clone(),
                tag: i as u32,
            })
            .collect()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let Some((_, kind)) = table().get(tag as usize) else {
            return;
        };
        let _ = match *kind {
            Kind::RsaPrivate => rsa(cx.data, pos, true, sink),
            Kind::RsaPublic => rsa(cx.data, pos, false, sink),
            Kind::Plain(name, sizes) => plaintext(cx.data, pos, name, sizes, sink),
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
