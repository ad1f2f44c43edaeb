//! SymCrypt in-memory RSA keys (key-formats.md §8.4): what Windows CNG (bcrypt.dll, the
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
//! The anchor is the INT type word. Only INTs that sit inside a divisor inside a modulus are
//! followed: the INTs after it (a bounded window) are read, and the key is accepted only when
//! two of the following moduli multiply to it — the RSA math, not the layout, decides. The
//! public exponent comes from the key header when it is consistent, else from d.

use super::binary::{u32_le, u64_le};
use super::{verdict_cache, Anchor, Detector, ScanContext, Sink};
use crate::keys::{rsa_recover, RsaParts};
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

    fn anchors(&self) -> Vec<Anchor> {
        vec![Anchor {
            bytes: INT_TYPE.to_vec(),
            tag: 0,
        }]
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, _tag: u32, sink: &mut Sink) {
        let _ = rsa_key(cx.data, pos, sink);
    }
}

fn rsa_key(d: &[u8], pos: usize, sink: &mut Sink) -> Option<()> {
    let n_int = int_at(d, pos)?;
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
