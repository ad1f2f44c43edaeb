//! Windows CNG key blobs (docs/key-formats.md §4), as `BCryptExportKey` writes them and as they sit
//! in the memory of any process that imports or exports keys:
//!
//! * `BCRYPT_RSAKEY_BLOB` — 'RSA1' public (a pairing record), 'RSA2' private (e, n, p, q),
//!   'RSA3' full private (+ dP, dQ, qInv, d); header fields little-endian, numbers big-endian.
//! * `BCRYPT_ECCKEY_BLOB` — 'ECS1'…'ECS6' (ECDSA), 'ECK1'…'ECK6' (ECDH); private blobs hold
//!   X ‖ Y ‖ d, so d·G = (X, Y) proves them.
//! * `BCRYPT_DSA_KEY_BLOB` ('DSPB'/'DSPV') and `BCRYPT_DSA_KEY_BLOB_V2` ('DPB2'/'DPV2').
//! * `BCRYPT_KEY_DATA_BLOB` ('KDBM'): a raw symmetric key, reported by size and fingerprint.
//!
//! The magic is only an anchor: every size in the header is checked against the documented
//! relations (modulus length = ⌈BitLength/8⌉, cbKey = the curve's field size ...) before a
//! byte of the body is read. A blob whose private part is all zeros was wiped and is skipped.

use super::binary::{all_zero, be, take, u32_le, Fields};
use super::symmetric::{self, SymmetricKey};
use super::{verdict_cache, Anchor, Detector, Family, PublicKeyRecord, ScanContext, Sink};
use crate::keys::{self, fingerprint, rsa_recover, Curve, DsaParts, PrivateKey, RsaParts};
use crate::report::Finding;
use num_bigint_dig::BigUint;
use num_traits::ToPrimitive;

pub struct Cng;

#[derive(Clone, Copy)]
enum Kind {
    Rsa {
        private: bool,
        full: bool,
    },
    Ecc {
        curve: Curve,
        private: bool,
        ecdh: bool,
    },
    DsaV1 {
        private: bool,
    },
    DsaV2 {
        private: bool,
    },
    KeyData,
}

/// Magic bytes as they appear in memory (the little-endian DWORDs of bcrypt.h).
const MAGICS: &[(&[u8; 4], Kind)] = &[
    (
        b"RSA1",
        Kind::Rsa {
            private: false,
            full: false,
        },
    ),
    (
        b"RSA2",
        Kind::Rsa {
            private: true,
            full: false,
        },
    ),
    (
        b"RSA3",
        Kind::Rsa {
            private: true,
            full: true,
        },
    ),
    (
        b"ECS1",
        Kind::Ecc {
            curve: Curve::P256,
            private: false,
            ecdh: false,
        },
    ),
    (
        b"ECS2",
        Kind::Ecc {
            curve: Curve::P256,
            private: true,
            ecdh: false,
        },
    ),
    (
        b"ECS3",
        Kind::Ecc {
            curve: Curve::P384,
            private: false,
            ecdh: false,
        },
    ),
    (
        b"ECS4",
        Kind::Ecc {
            curve: Curve::P384,
            private: true,
            ecdh: false,
        },
    ),
    (
        b"ECS5",
        Kind::Ecc {
            curve: Curve::P521,
            private: false,
            ecdh: false,
        },
    ),
    (
        b"ECS6",
        Kind::Ecc {
            curve: Curve::P521,
            private: true,
            ecdh: false,
        },
    ),
    (
        b"ECK1",
        Kind::Ecc {
            curve: Curve::P256,
            private: false,
            ecdh: true,
        },
    ),
    (
        b"ECK2",
        Kind::Ecc {
            curve: Curve::P256,
            private: true,
            ecdh: true,
        },
    ),
    (
        b"ECK3",
        Kind::Ecc {
            curve: Curve::P384,
            private: false,
            ecdh: true,
        },
    ),
    (
        b"ECK4",
        Kind::Ecc {
            curve: Curve::P384,
            private: true,
            ecdh: true,
        },
    ),
    (
        b"ECK5",
        Kind::Ecc {
            curve: Curve::P521,
            private: false,
            ecdh: true,
        },
    ),
    (
        b"ECK6",
        Kind::Ecc {
            curve: Curve::P521,
            private: true,
            ecdh: true,
        },
    ),
    (b"DSPB", Kind::DsaV1 { private: false }),
    (b"DSPV", Kind::DsaV1 { private: true }),
    (b"DPB2", Kind::DsaV2 { private: false }),
    (b"DPV2", Kind::DsaV2 { private: true }),
    (b"KDBM", Kind::KeyData),
];

impl Detector for Cng {
    fn name(&self) -> &'static str {
        "cng"
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "Windows CNG key blobs (RSA2/RSA3, ECS2/4/6, DSA, KDBM)"
    }

    fn anchors(&self) -> Vec<Anchor> {
        MAGICS
            .iter()
            .enumerate()
            .map(|(i, (m, _))| Anchor {
                bytes: m.to_vec(),
                tag: i as u32,
            })
            .collect()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let Some(&(_, kind)) = MAGICS.get(tag as usize) else {
            return;
        };
        let d = cx.data;
        let _ = match kind {
            Kind::Rsa { private, full } => rsa(d, pos, private, full, sink),
            Kind::Ecc {
                curve,
                private,
                ecdh,
            } => ecc(d, pos, curve, private, ecdh, sink),
            Kind::DsaV1 { private } => dsa_v1(d, pos, private, sink),
            Kind::DsaV2 { private } => dsa_v2(d, pos, private, sink),
            Kind::KeyData => key_data(d, pos, sink),
        };
    }
}

fn preview(blob: &str, len: usize) -> String {
    format!("[CNG {blob}, {len} bytes, redacted]")
}

/// `BCRYPT_RSAKEY_BLOB`: Magic, BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2, then
/// PublicExponent ‖ Modulus [‖ Prime1 ‖ Prime2 [‖ Exponent1 ‖ Exponent2 ‖ Coefficient ‖
/// PrivateExponent]] (learn.microsoft.com …/ns-bcrypt-bcrypt_rsakey_blob).
fn rsa(d: &[u8], pos: usize, private: bool, full: bool, sink: &mut Sink) -> Option<()> {
    let h = |i: usize| u32_le(d, pos + 4 * i).map(|v| v as usize);
    let (bits, cb_e, cb_n, cb_p, cb_q) = (h(1)?, h(2)?, h(3)?, h(4)?, h(5)?);
    if !(512..=16384).contains(&bits) || cb_n != bits.div_ceil(8) || !(1..=8).contains(&cb_e) {
        return None;
    }
    if private {
        let half = cb_n / 2;
        let ok = |c: usize| c + 8 >= half && c <= half + 8;
        if !ok(cb_p) || !ok(cb_q) {
            return None;
        }
    } else if cb_p != 0 || cb_q != 0 {
        return None;
    }
    let mut f = Fields::new(d, pos + 24);
    let e = be(f.next(cb_e)?)?;
    let n_bytes = f.next(cb_n)?;
    let n = be(n_bytes)?;
    if n.bits() != bits || !matches!(e.to_u64(), Some(e) if e >= 3 && e % 2 == 1) {
        return None;
    }
    if !private {
        sink.public_keys.push(PublicKeyRecord {
            algorithm: "RSA".into(),
            spki: fingerprint::rsa_spki(&n.to_bytes_be(), &e.to_bytes_be()).unwrap_or_default(),
            modulus: Some(n.to_bytes_be()),
            exponent: Some(e.to_bytes_be()),
            point: None,
            offset: Some(pos as u64),
            source: "CNG RSAPUBLICBLOB".into(),
        });
        return Some(());
    }
    let (p, q) = (f.next(cb_p)?, f.next(cb_q)?);
    let mut secret = vec![p, q];
    let mut parts = RsaParts {
        n: Some(n),
        e: Some(e),
        p: be(p),
        q: be(q),
        format: "CNG RSAPRIVATEBLOB".into(),
        ..Default::default()
    };
    if full {
        let (dp, dq, qinv, dd) = (f.next(cb_p)?, f.next(cb_q)?, f.next(cb_p)?, f.next(cb_n)?);
        secret.extend([dp, dq, qinv, dd]);
        parts.dp = be(dp);
        parts.dq = be(dq);
        parts.qinv = be(qinv);
        parts.d = be(dd);
        parts.format = "CNG RSAFULLPRIVATEBLOB".into();
    }
    if secret.iter().all(|s| all_zero(s)) {
        return None; // wiped: nothing secret left
    }
    let (blob, encoding) = if full {
        ("RSAFULLPRIVATEBLOB", "cng-rsafullprivate")
    } else {
        ("RSAPRIVATEBLOB", "cng-rsaprivate")
    };
    let len = f.pos - pos;
    let v = verdict_cache::verdict("cng", &d[pos..f.pos], || rsa_recover::verify(parts));
    sink.push(Finding::key(
        "cng",
        encoding,
        pos as u64,
        len as u64,
        &v,
        preview(blob, len),
    ));
    Some(())
}

/// `BCRYPT_ECCKEY_BLOB`: dwMagic, cbKey, then X ‖ Y [‖ d], big-endian
/// (learn.microsoft.com …/ns-bcrypt-bcrypt_ecckey_blob).
fn ecc(
    d: &[u8],
    pos: usize,
    curve: Curve,
    private: bool,
    ecdh: bool,
    sink: &mut Sink,
) -> Option<()> {
    let cb = u32_le(d, pos + 4)? as usize;
    if cb != curve.scalar_len() {
        return None;
    }
    let mut f = Fields::new(d, pos + 8);
    let (x, y) = (f.next(cb)?, f.next(cb)?);
    let mut point = Vec::with_capacity(1 + 2 * cb);
    point.push(4);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    let flavour = if ecdh { "ECDH" } else { "ECDSA" };
    if !private {
        if let Some(spki) = keys::pubkey::ec_spki(curve, &point) {
            sink.public_keys.push(PublicKeyRecord {
                algorithm: "EC".into(),
                spki,
                point: Some(point),
                offset: Some(pos as u64),
                source: format!("CNG ECCPUBLICBLOB ({flavour} {})", curve.name()),
                ..Default::default()
            });
        }
        return Some(());
    }
    let k = f.next(cb)?;
    if all_zero(k) {
        return None;
    }
    let public = (!all_zero(x) || !all_zero(y)).then_some(point);
    let mut v = verdict_cache::verdict("cng", &d[pos..f.pos], || {
        keys::verify(&PrivateKey::Ec {
            curve,
            d: k.to_vec(),
            public,
        })
    });
    v.key.format = Some(format!("CNG ECCPRIVATEBLOB ({flavour})"));
    let len = f.pos - pos;
    sink.push(Finding::key(
        "cng",
        "cng-eccprivate",
        pos as u64,
        len as u64,
        &v,
        preview("ECCPRIVATEBLOB", len),
    ));
    Some(())
}

/// `BCRYPT_DSA_KEY_BLOB` (keys ≤ 1024 bits): dwMagic, cbKey, Count[4], Seed[20], q[20], then
/// Modulus ‖ Generator ‖ Public [‖ PrivateExponent[20]]
/// (learn.microsoft.com …/ns-bcrypt-bcrypt_dsa_key_blob).
fn dsa_v1(d: &[u8], pos: usize, private: bool, sink: &mut Sink) -> Option<()> {
    let cb = u32_le(d, pos + 4)? as usize;
    if !(64..=128).contains(&cb) || cb % 8 != 0 {
        return None;
    }
    let q = take(d, pos + 32, 20)?;
    let mut f = Fields::new(d, pos + 52);
    let (p, g, y) = (f.next(cb)?, f.next(cb)?, f.next(cb)?);
    let x = if private { Some(f.next(20)?) } else { None };
    dsa_common(pos, f.pos - pos, "BCRYPT_DSA_KEY_BLOB", p, q, g, y, x, sink)
}

/// `BCRYPT_DSA_KEY_BLOB_V2` (1024 < bits ≤ 3072): dwMagic, cbKey, hashAlgorithm,
/// standardVersion, cbSeedLength, cbGroupSize, Count[4], then Seed ‖ q ‖ Modulus ‖ Generator ‖
/// Public [‖ PrivateExponent[cbGroupSize]] (learn.microsoft.com …/ns-bcrypt-bcrypt_dsa_key_blob_v2).
fn dsa_v2(d: &[u8], pos: usize, private: bool, sink: &mut Sink) -> Option<()> {
    let h = |i: usize| u32_le(d, pos + 4 * i).map(|v| v as usize);
    let (cb, hash, version, cb_seed, cb_group) = (h(1)?, h(2)?, h(3)?, h(4)?, h(5)?);
    if !(128..=512).contains(&cb)
        || cb % 8 != 0
        || hash > 2
        || version > 1
        || !(20..=64).contains(&cb_seed)
        || !matches!(cb_group, 20 | 28 | 32)
    {
        return None;
    }
    let mut f = Fields::new(d, pos + 28);
    f.next(cb_seed)?;
    let q = f.next(cb_group)?;
    let (p, g, y) = (f.next(cb)?, f.next(cb)?, f.next(cb)?);
    let x = if private {
        Some(f.next(cb_group)?)
    } else {
        None
    };
    dsa_common(
        pos,
        f.pos - pos,
        "BCRYPT_DSA_KEY_BLOB_V2",
        p,
        q,
        g,
        y,
        x,
        sink,
    )
}

#[allow(clippy::too_many_arguments)]
fn dsa_common(
    pos: usize,
    len: usize,
    blob_name: &str,
    p: &[u8],
    q: &[u8],
    g: &[u8],
    y: &[u8],
    x: Option<&[u8]>,
    sink: &mut Sink,
) -> Option<()> {
    let (bp, bq, bg, by) = (be(p)?, be(q)?, be(g)?, be(y)?);
    // p is a full-size prime and q divides p − 1: a cheap structural filter before any math.
    if bp.bits() + 8 < p.len() * 8 || bq.bits() + 8 < q.len() * 8 {
        return None;
    }
    let Some(x) = x else {
        if let Some(spki) = fingerprint::dsa_spki(p, q, g, y) {
            sink.public_keys.push(PublicKeyRecord {
                algorithm: "DSA".into(),
                spki,
                offset: Some(pos as u64),
                source: format!("CNG {blob_name} (public)"),
                ..Default::default()
            });
        }
        return Some(());
    };
    if all_zero(x) {
        return None;
    }
    let blob = [p, q, g, y, x].concat();
    let v = verdict_cache::verdict("cng-dsa", &blob, || {
        keys::verify(&PrivateKey::Dsa(DsaParts {
            p: bp,
            q: bq,
            g: bg,
            x: BigUint::from_bytes_be(x),
            y: Some(by),
            format: format!("CNG {blob_name}"),
        }))
    });
    sink.push(Finding::key(
        "cng",
        "cng-dsaprivate",
        pos as u64,
        len as u64,
        &v,
        preview(blob_name, len),
    ));
    Some(())
}

/// `BCRYPT_KEY_DATA_BLOB_HEADER`: dwMagic 'KDBM', dwVersion 1, cbKeyData, then the raw key
/// (learn.microsoft.com …/ns-bcrypt-bcrypt_key_data_blob_header).
fn key_data(d: &[u8], pos: usize, sink: &mut Sink) -> Option<()> {
    if u32_le(d, pos + 4)? != 1 {
        return None;
    }
    let cb = u32_le(d, pos + 8)? as usize;
    // AES 16/24/32, 3DES 16/24, DES 8, RC2/RC4 5..16, HMAC secrets up to a hash block or two.
    if !(5..=128).contains(&cb) {
        return None;
    }
    let key = take(d, pos + 12, cb)?;
    if all_zero(key) {
        return None;
    }
    sink.push(symmetric::finding(
        "cng",
        "cng-keydata",
        pos as u64,
        (12 + cb) as u64,
        &SymmetricKey {
            algorithm: "symmetric",
            format: "CNG KDBM",
            key,
        },
    ));
    Some(())
}
