//! SymCrypt in-memory RSA keys (docs/key-formats.md §8.4): what Windows CNG (bcrypt.dll, the
//! key-isolation service in lsass) and SymCrypt-based Linux providers keep for a live key.
//! The layouts follow microsoft/SymCrypt `inc/symcrypt_internal.h` and `lib/rsakey.c`:
//!
//! * `SYMCRYPT_INT { UINT32 type; UINT32 nDigits; UINT32 cbSize; SIZE_T magic; digits }` with
//!   `type = 'gI' << 16` (bytes `00 00 49 67`), digits aligned to the asymmetric alignment, the
//!   value stored as little-endian 32-bit words; `cbSize = header + nDigits · digit size`
//!   (AMD64: 32 + 64·n, ARM64: 32 + 32·n).
//! * `SYMCRYPT_DIVISOR` (`'gD' << 16`) embeds the INT of its value 32 bytes in;
//!   `SYMCRYPT_MODULUS` (type set by the implementation chosen, e.g. `'mM'`, `'xM'`) embeds
//!   the divisor 64 bytes in.
//! * `SYMCRYPT_RSAKEY` (192-byte header on 64-bit builds, `au64PubExp[0]` at +56,
//!   `nBitsOfModulus` at +16) is followed by Modulus(n), Modulus(p), Modulus(q), the CRT
//!   inverses (Montgomery form, not used), INT(d), INT(dP), INT(dQ).
//!
//! * `SYMCRYPT_ECKEY` (64 bytes: `hasPrivateKey` at +4, `pCurve` +8, `poPublicKey` +16,
//!   `piPrivateKey` +24) is followed by the public `SYMCRYPT_ECPOINT` (32-byte header, then
//!   the coordinates as Montgomery-form field elements — observed on x86-64: Jacobian X, Y, Z
//!   of 64 bytes each, R = 2^256 for P-256) and the private INT.
//!
//! The anchor is the INT type word. Only INTs that sit inside a divisor inside a modulus are
//! followed: the INTs after it (a bounded window) are read, and the key is accepted only when
//! two of the following moduli multiply to it — the RSA math, not the layout, decides. The
//! public exponent comes from the key header when it is consistent, else from d. An EC
//! private INT is accepted when an ECKEY header before it points (relatively) at it and at a
//! public point; the point is decoded under each representation SymCrypt uses until one lies
//! on the curve, and d·G must equal it.

use super::binary::{u32_le, u64_le};
use super::{verdict_cache, Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::{rsa_recover, Curve, RsaParts};
use crate::report::Finding;
use num_bigint_dig::{BigUint, ModInverse};
use num_integer::Integer;
use num_traits::{One, ToPrimitive};

pub struct SymCrypt;

/// `'gI' << 16` as it sits in memory.
const INT_TYPE: [u8; 4] = [0x00, 0x00, 0x49, 0x67];
const DIVISOR_TYPE: u32 = 0x6744_0000;
/// Offsets inside the objects (64-bit builds: AMD64 and ARM64 share the 32-byte alignment).
const INT_IN_DIVISOR: usize = 32;
const DIVISOR_IN_MODULUS: usize = 64;
const RSAKEY_HEADER: usize = 192;
/// RSA up to 16384 bits: 4 digits of 512 bits on AMD64, 8 of 256 on ARM64 (and a margin).
const MAX_DIGITS: u32 = 64;
/// How many SymCrypt integers after the modulus are examined.
const MAX_INTS: usize = 12;

/// A SymCrypt integer found in the dump.
struct SymInt {
    pos: usize,
    n_digits: u32,
    /// Offset just past the object.
    end: usize,
    value: BigUint,
}

/// Parses the INT at `pos`, trying the 64-bit digit layouts (AMD64, ARM64).
fn int_at(d: &[u8], pos: usize) -> Option<SymInt> {
    if d.get(pos..pos + 4)? != INT_TYPE {
        return None;
    }
    let n_digits = u32_le(d, pos + 4)?;
    let cb = u32_le(d, pos + 8)? as usize;
    if !(1..=MAX_DIGITS).contains(&n_digits) {
        return None;
    }
    for digit in [64usize, 32] {
        if cb == 32 + digit * n_digits as usize {
            let bytes = d.get(pos + 32..pos + cb)?;
            return Some(SymInt {
                pos,
                n_digits,
                end: pos + cb,
                value: BigUint::from_bytes_le(bytes),
            });
        }
    }
    None
}

/// The start of the modulus object whose divisor holds the INT at `int_pos`, if it is one.
fn modulus_of(d: &[u8], int: &SymInt) -> Option<usize> {
    let div = int.pos.checked_sub(INT_IN_DIVISOR)?;
    if u32_le(d, div)? != DIVISOR_TYPE || u32_le(d, div + 4)? != int.n_digits {
        return None;
    }
    let m = div.checked_sub(DIVISOR_IN_MODULUS)?;
    let ty = u32_le(d, m)?;
    // Implementation label in the high half (two ASCII characters), a function-table offset
    // in the low half; the same digit count as its divisor.
    let label = ((ty >> 16) as u16).to_le_bytes();
    if !label.iter().all(|c| c.is_ascii_alphanumeric()) || u32_le(d, m + 4)? != int.n_digits {
        return None;
    }
    Some(m)
}

impl Detector for SymCrypt {
    fn name(&self) -> &'static str {
        "symcrypt"
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "SymCrypt in-memory RSA and EC key objects"
    }

    fn anchors(&self) -> Vec<Anchor> {
        vec![Anchor {
            bytes: INT_TYPE.to_vec(),
            tag: 0,
        }]
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, _tag: u32, sink: &mut Sink) {
        let Some(int) = int_at(cx.data, pos) else {
            return;
        };
        if int.n_digits <= 2 && ec_key(cx.data, &int, sink).is_some() {
            return;
        }
        let _ = rsa_key(cx.data, int, sink);
    }
}

fn rsa_key(d: &[u8], n_int: SymInt, sink: &mut Sink) -> Option<()> {
    let n = &n_int.value;
    if n.bits() < 512 || n.is_even() {
        return None;
    }
    let modulus = modulus_of(d, &n_int)?;
    // The INTs that follow, in order: p and q (inside their moduli), then d, dP, dQ.
    let window_end = d.len().min(n_int.end + 8 * (n_int.end - modulus) + 4096);
    let mut ints = Vec::new();
    let mut at = n_int.end;
    while ints.len() < MAX_INTS && at < window_end {
        let Some(i) = memchr::memmem::find(&d[at..window_end], &INT_TYPE) else {
            break;
        };
        let p = at + i;
        match int_at(d, p) {
            Some(int) => {
                at = int.end;
                ints.push(int);
            }
            None => at = p + 1,
        }
    }
    // Two consecutive moduli whose values multiply to n.
    let pq = ints.windows(2).position(|w| {
        modulus_of(d, &w[0]).is_some()
            && modulus_of(d, &w[1]).is_some()
            && w[0].value.bits() + w[1].value.bits() >= n.bits()
            && &(&w[0].value * &w[1].value) == n
    })?;
    let (p, q) = (&ints[pq], &ints[pq + 1]);
    let rest: Vec<&SymInt> = ints[pq + 2..]
        .iter()
        .filter(|i| modulus_of(d, i).is_none())
        .collect();
    let priv_exp = rest.first().map(|i| i.value.clone());
    let (dp, dq) = (
        rest.get(1).map(|i| i.value.clone()),
        rest.get(2).map(|i| i.value.clone()),
    );
    let (e, e_source) = public_exponent(d, modulus, n, p, q, priv_exp.as_ref());
    let last = rest.get(2).or(rest.first()).map_or(q.end, |i| i.end);
    let header_ok = e_source == "key header";
    let start = if header_ok {
        modulus - RSAKEY_HEADER
    } else {
        modulus
    };
    let parts = RsaParts {
        n: Some(n.clone()),
        e: Some(e),
        d: priv_exp,
        p: Some(p.value.clone()),
        q: Some(q.value.clone()),
        dp,
        dq,
        qinv: None,
        format: "SymCrypt RSAKEY".into(),
    };
    let mut v = verdict_cache::verdict("symcrypt", &d[start..last], || rsa_recover::verify(parts));
    v.verification = format!("{} (public exponent from {e_source})", v.verification);
    sink.push(Finding::key(
        "symcrypt",
        "symcrypt-rsakey",
        start as u64,
        (last - start) as u64,
        &v,
        format!(
            "[SymCrypt RSA key object, {}-bit, {} bytes, redacted]",
            n.bits(),
            last - start
        ),
    ));
    Some(())
}

/// e from the RSAKEY header (`au64PubExp[0]`) when the header describes this modulus, else
/// computed from d (e = d⁻¹ mod λ(n), accepted when it fits 64 bits as SymCrypt requires),
/// else 65537 assumed.
fn public_exponent(
    d: &[u8],
    modulus: usize,
    n: &BigUint,
    p: &SymInt,
    q: &SymInt,
    priv_exp: Option<&BigUint>,
) -> (BigUint, &'static str) {
    if let Some(h) = modulus.checked_sub(RSAKEY_HEADER) {
        let bits = u32_le(d, h + 16);
        let e = u64_le(d, h + 56);
        if let (Some(bits), Some(e)) = (bits, e) {
            if bits as usize == n.bits() && e >= 3 && e % 2 == 1 {
                return (BigUint::from(e), "key header");
            }
        }
    }
    if let Some(dv) = priv_exp {
        let one = BigUint::one();
        let lambda = (&p.value - &one).lcm(&(&q.value - &one));
        if let Some(e) = dv
            .clone()
            .mod_inverse(&lambda)
            .and_then(|e| e.to_biguint())
            .filter(|e| e.to_u64().is_some())
        {
            return (e, "d");
        }
    }
    (BigUint::from(65537u32), "assumption: 65537")
}

/// A short-Weierstrass curve SymCrypt keeps ECKEYs on (a = −3).
struct CurveParams {
    curve: Curve,
    p: &'static str,
    b: &'static str,
}

const CURVES: [CurveParams; 3] = [
    CurveParams {
        curve: Curve::P256,
        p: "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
        b: "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    },
    CurveParams {
        curve: Curve::P384,
        p: "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
        b: "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
    },
    CurveParams {
        curve: Curve::P521,
        p: "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        b: "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
    },
];

const ECKEY_HEADER: usize = 64;
const ECPOINT_HEADER: usize = 32;

/// An ECKEY whose private INT is `int`: finds the header by its two object pointers (their
/// difference must be the distance between the public point and the INT), decodes the public
/// point, and verifies d·G = Q.
fn ec_key(d: &[u8], int: &SymInt, sink: &mut Sink) -> Option<()> {
    if int.value.bits() == 0 || int.value.bits() > 521 {
        return None;
    }
    // Point sizes: 2..4 coordinates of 32..144 bytes; step by the 32-byte alignment.
    for back in
        (ECKEY_HEADER + ECPOINT_HEADER + 64..=ECKEY_HEADER + ECPOINT_HEADER + 4 * 144).step_by(32)
    {
        let Some(e) = int.pos.checked_sub(back) else {
            break;
        };
        let (Some(curve_ptr), Some(pub_ptr), Some(priv_ptr)) =
            (u64_le(d, e + 8), u64_le(d, e + 16), u64_le(d, e + 24))
        else {
            continue;
        };
        let point = e + ECKEY_HEADER;
        if d[e + 4] != 1
            || pub_ptr == 0
            || pub_ptr % 32 != 0
            || priv_ptr.wrapping_sub(pub_ptr) != (int.pos - point) as u64
            || curve_ptr == 0
            || u64_le(d, point + 8) != Some(curve_ptr)
        {
            continue;
        }
        let coords = &d[point + ECPOINT_HEADER..int.pos];
        let (curve, q) = decode_point(coords)?;
        let len = curve.scalar_len();
        let scalar = int.value.to_bytes_be();
        if scalar.len() > len {
            return None;
        }
        let mut k = vec![0u8; len - scalar.len()];
        k.extend_from_slice(&scalar);
        let mut public = vec![4u8];
        public.extend(pad_be(&q.0, len));
        public.extend(pad_be(&q.1, len));
        let mut v = verdict_cache::verdict("symcrypt-ec", &d[e..int.end], || {
            crate::keys::verify(&crate::keys::PrivateKey::Ec {
                curve,
                d: k,
                public: Some(public),
            })
        });
        v.key.format = Some("SymCrypt ECKEY".into());
        v.verification = format!(
            "{} (public point decoded from the ECKEY's Montgomery-form coordinates)",
            v.verification
        );
        let length = int.end - e;
        sink.push(Finding::key(
            "symcrypt",
            "symcrypt-eckey",
            e as u64,
            length as u64,
            &v,
            format!(
                "[SymCrypt EC key object, {}, {length} bytes, redacted]",
                curve.name()
            ),
        ));
        return Some(());
    }
    None
}

fn pad_be(x: &BigUint, len: usize) -> Vec<u8> {
    let b = x.to_bytes_be();
    let mut v = vec![0u8; len.saturating_sub(b.len())];
    v.extend_from_slice(&b);
    v
}

/// Decodes SymCrypt point coordinates: 2 (affine), 3 (Jacobian or projective) field elements
/// of equal size, little-endian, in Montgomery form for R = 2^(8·element size) or R = 2^bits
/// rounded to 64, or plain. The representation that yields a point on a curve is the one.
fn decode_point(coords: &[u8]) -> Option<(Curve, (BigUint, BigUint))> {
    let one = BigUint::one();
    for k in [3usize, 2] {
        if coords.len() % k != 0 {
            continue;
        }
        let m = coords.len() / k;
        let c: Vec<BigUint> = coords.chunks(m).map(BigUint::from_bytes_le).collect();
        for cp in &CURVES {
            let p = BigUint::parse_bytes(cp.p.as_bytes(), 16)?;
            let b = BigUint::parse_bytes(cp.b.as_bytes(), 16)?;
            if m * 8 < p.bits() || c.iter().any(|x| *x >= (&p << 64usize)) {
                continue;
            }
            let r_bits = [8 * m, p.bits().div_ceil(64) * 64, 0];
            for rb in r_bits {
                let r_inv = if rb == 0 {
                    one.clone()
                } else {
                    match (BigUint::one() << rb)
                        .mod_inverse(&p)
                        .and_then(|x| x.to_biguint())
                    {
                        Some(x) => x,
                        None => continue,
                    }
                };
                let f: Vec<BigUint> = c.iter().map(|x| x * &r_inv % &p).collect();
                let candidates: Vec<(BigUint, BigUint)> = if k == 2 {
                    vec![(f[0].clone(), f[1].clone())]
                } else {
                    let Some(zi) = f[2].clone().mod_inverse(&p).and_then(|x| x.to_biguint()) else {
                        continue;
                    };
                    let zi2 = &zi * &zi % &p;
                    vec![
                        (&f[0] * &zi2 % &p, &f[1] * &zi2 % &p * &zi % &p),
                        (&f[0] * &zi % &p, &f[1] * &zi % &p),
                    ]
                };
                for (x, y) in candidates {
                    if on_curve(&x, &y, &p, &b) {
                        return Some((cp.curve, (x, y)));
                    }
                }
            }
        }
    }
    None
}

/// y² = x³ − 3x + b (mod p).
fn on_curve(x: &BigUint, y: &BigUint, p: &BigUint, b: &BigUint) -> bool {
    let lhs = y * y % p;
    let x3 = x * x % p * x % p;
    let rhs = (x3 + b + p * 3u32 - (x * 3u32) % p) % p;
    lhs == rhs
}
