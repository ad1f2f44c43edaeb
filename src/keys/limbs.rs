//! Big integers as little-endian 64-bit limbs, the in-memory representations runtimes use for
//! them (docs/key-formats.md §8.1), and a fast exact test for "does this window divide n".
//!
//! The raw factor search tests millions of windows per second against a known modulus, so
//! the divisibility test must not allocate or divide: [`divides`] runs a 2-adic (Hensel)
//! exact division, which yields the only possible quotient from the low limbs upwards with
//! one multiplication per limb pair, then checks that quotient × window reproduces n's top
//! bits. A window that passes is confirmed with `BigUint` arithmetic by the caller.

use num_bigint_dig::BigUint;

/// Largest modulus handled, in limbs (RSA-16384).
pub const MAX_MODULUS_LIMBS: usize = 256;

/// How a big integer's bytes are laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Repr {
    /// Little-endian bytes = little-endian 32- or 64-bit limbs (OpenSSL, BoringSSL, Go
    /// `big.Int`, SymCrypt, NSS, .NET `BigInteger` words, CryptoAPI blobs).
    Le,
    /// Big-endian bytes (DER contents, CNG blobs, .NET `RSAParameters`, JWK/XML decoded).
    Be,
    /// Big-endian bytes after a 0x00 sign byte (Java `BigInteger.toByteArray`, DER INTEGER).
    BeSigned,
    /// Java `int[] mag`: most significant 32-bit word first, each word little-endian.
    JavaWords,
    /// Go 1.20 `bigmod`: 63 bits per 64-bit little-endian word, top bit clear.
    Go63,
}

impl Repr {
    /// The `encoding` string used in reports.
    pub fn encoding(self) -> &'static str {
        match self {
            Repr::Le => "le64-limbs",
            Repr::Be => "be",
            Repr::BeSigned => "be-sign-byte",
            Repr::JavaWords => "java-int-words",
            Repr::Go63 => "go63-limbs",
        }
    }

    /// Bytes a `bits`-bit integer occupies in this representation (excluding any header).
    pub fn byte_len(self, bits: usize) -> usize {
        match self {
            Repr::Le | Repr::Be => bits.div_ceil(8),
            Repr::BeSigned => bits.div_ceil(8) + 1,
            Repr::JavaWords => bits.div_ceil(32) * 4,
            Repr::Go63 => bits.div_ceil(63) * 8,
        }
    }
}

/// Removes high zero limbs.
pub fn trim(v: &mut Vec<u64>) {
    while v.last() == Some(&0) {
        v.pop();
    }
}

fn trimmed(v: &[u64]) -> &[u64] {
    let n = v.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
    &v[..n]
}

/// Decodes `bytes` in representation `r` into trimmed little-endian limbs. `None` when the
/// bytes cannot be that representation (a Go63 word with its top bit set, a missing sign
/// byte) or are too long.
pub fn decode(bytes: &[u8], r: Repr) -> Option<Vec<u64>> {
    if bytes.len() > MAX_MODULUS_LIMBS * 8 + 8 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len().div_ceil(8));
    match r {
        // One reading of each layout: `limb_at`'s (the containers' prefilter reads the same
        // limbs in place).
        Repr::Le | Repr::Be | Repr::BeSigned | Repr::JavaWords => {
            let refused = match r {
                Repr::BeSigned => bytes.first() != Some(&0),
                Repr::JavaWords => bytes.len() % 4 != 0,
                _ => false,
            };
            if refused {
                return None;
            }
            out.extend((0..).map_while(|i| limb_at(bytes, r, i)));
        }
        Repr::Go63 => {
            if bytes.len() % 8 != 0 {
                return None;
            }
            let mut acc: u128 = 0;
            let mut have = 0u32;
            for c in bytes.chunks_exact(8) {
                let w = u64::from_le_bytes(c.try_into().ok()?);
                if w >> 63 != 0 {
                    return None;
                }
                acc |= (w as u128) << have;
                have += 63;
                while have >= 64 {
                    out.push(acc as u64);
                    acc >>= 64;
                    have -= 64;
                }
            }
            if have > 0 {
                out.push(acc as u64);
            }
        }
    }
    trim(&mut out);
    Some(out)
}

/// Limb `i` (least significant first) of `bytes` in representation `r`, read in place: the
/// limb [`decode`] gives at index `i` before trimming (bytes it would refuse aside; `decode`
/// reads these representations through it). `None`
/// past the last limb, and for [`Repr::Go63`], whose limbs straddle words. Lets a caller
/// reject a candidate without the allocation and copy of decoding it.
#[inline]
pub fn limb_at(bytes: &[u8], r: Repr, i: usize) -> Option<u64> {
    // Whole words are read directly (a variable-length copy is a `memmove` call).
    let padded = |c: &[u8], be: bool| {
        if let Ok(w) = <[u8; 8]>::try_from(c) {
            return if be {
                u64::from_be_bytes(w)
            } else {
                u64::from_le_bytes(w)
            };
        }
        let mut b = [0u8; 8];
        if be {
            b[8 - c.len()..].copy_from_slice(c);
            u64::from_be_bytes(b)
        } else {
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        }
    };
    match r {
        Repr::Le => {
            let start = i.checked_mul(8).filter(|&s| s < bytes.len())?;
            Some(padded(&bytes[start..bytes.len().min(start + 8)], false))
        }
        Repr::Be | Repr::BeSigned => {
            let body = if r == Repr::BeSigned {
                bytes.get(1..)?
            } else {
                bytes
            };
            let end = body
                .len()
                .checked_sub(i.checked_mul(8)?)
                .filter(|&e| e > 0)?;
            Some(padded(&body[end.saturating_sub(8)..end], true))
        }
        Repr::JavaWords => {
            // Words most significant first: word j from the end is limb j/2's low or high half.
            let k = bytes.len() / 4;
            let word = |j: usize| -> Option<u64> {
                let at = 4 * k.checked_sub(j + 1)?;
                Some(u64::from(u32::from_le_bytes(
                    bytes[at..at + 4].try_into().ok()?,
                )))
            };
            let lo = word(2 * i)?;
            Some(lo | word(2 * i + 1).unwrap_or(0) << 32)
        }
        Repr::Go63 => None,
    }
}

/// Encodes trimmed limbs of a `bits`-bit integer in representation `r` (tests and the
/// modulus-anchored search use it to look for a known value).
pub fn encode(limbs: &[u64], bits: usize, r: Repr) -> Vec<u8> {
    let k = bits.div_ceil(8);
    let mut le: Vec<u8> = limbs.iter().flat_map(|l| l.to_le_bytes()).collect();
    le.resize(k.max(1), 0);
    match r {
        Repr::Le => le,
        Repr::Be => le.into_iter().rev().collect(),
        Repr::BeSigned => std::iter::once(0).chain(le.into_iter().rev()).collect(),
        Repr::JavaWords => {
            le.resize(bits.div_ceil(32) * 4, 0);
            le.chunks_exact(4).rev().flatten().copied().collect()
        }
        Repr::Go63 => {
            let n = bits.div_ceil(63);
            let mut out = Vec::with_capacity(n * 8);
            for i in 0..n {
                let mut w: u64 = 0;
                for b in 0..63 {
                    let bit = i * 63 + b;
                    let limb = limbs.get(bit / 64).copied().unwrap_or(0);
                    w |= ((limb >> (bit % 64)) & 1) << b;
                }
                out.extend_from_slice(&w.to_le_bytes());
            }
            out
        }
    }
}

pub fn to_biguint(limbs: &[u64]) -> BigUint {
    let bytes: Vec<u8> = limbs.iter().flat_map(|l| l.to_le_bytes()).collect();
    BigUint::from_bytes_le(&bytes)
}

pub fn from_biguint(n: &BigUint) -> Vec<u64> {
    let mut v = decode(&n.to_bytes_le(), Repr::Le).unwrap_or_default();
    trim(&mut v);
    v
}

/// Bit length of trimmed limbs.
pub fn bits(limbs: &[u64]) -> usize {
    match limbs.last() {
        None => 0,
        Some(&top) => (limbs.len() - 1) * 64 + (64 - top.leading_zeros() as usize),
    }
}

/// The top 64 bits of a nonzero integer, normalised so the top bit is set, and the
/// exponent: value ≈ mantissa · 2^exponent (truncated).
pub fn top64(limbs: &[u64]) -> (u64, i64) {
    let l = trimmed(limbs);
    let Some(&top) = l.last() else {
        return (0, 0);
    };
    let t = l.len() - 1;
    let lz = top.leading_zeros();
    let mut m = top << lz;
    if lz > 0 && t > 0 {
        m |= l[t - 1] >> (64 - lz);
    }
    (m, 64 * t as i64 - lz as i64)
}

/// Inverse of an odd `a` modulo 2^64 (Newton iteration; each step doubles correct bits).
pub fn inv64(a: u64) -> u64 {
    debug_assert!(a & 1 == 1);
    let mut x = a; // a·a ≡ 1 (mod 8): 3 correct bits
    for _ in 0..5 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

/// Quick exact-division test: true when the odd, trimmed `w` may divide `n` (trimmed), with
/// a false-positive rate near 2^-58; callers confirm a `true` with exact arithmetic. Never
/// false for a real divisor. `scratch` must hold at least `n.len() - w.len() + 1` limbs.
///
/// Why it works: if w | n the quotient q is the unique value with q·w ≡ n (mod 2^(64·ql)),
/// which Hensel lifting yields limb by limb; for a non-divisor the same procedure yields an
/// essentially random ql-limb number whose top bits cannot match n / w.
pub fn divides(n: &[u64], w: &[u64], scratch: &mut [u64]) -> bool {
    let (nl, wl) = (n.len(), w.len());
    if wl == 0 || wl > nl || w[0] & 1 == 0 {
        return false;
    }
    let ql = nl - wl + 1;
    let r = &mut scratch[..ql];
    let winv = inv64(w[0]);
    // Product scanning: column i of q·w must equal n_i (mod 2^64) given the carry from the
    // columns below; that fixes q_i. Accumulating a column in registers keeps the carry
    // chain short (no read-modify-write of a remainder array).
    let mut carry: u128 = 0;
    for i in 0..ql {
        let mut acc = carry;
        let mut top = 0u64;
        let jlo = (i + 1).saturating_sub(wl);
        for j in jlo..i {
            let p = (r[j] as u128) * (w[i - j] as u128);
            let (s, o) = acc.overflowing_add(p);
            acc = s;
            top += o as u64;
        }
        let qi = n[i].wrapping_sub(acc as u64).wrapping_mul(winv);
        r[i] = qi;
        let (s, o) = acc.overflowing_add((qi as u128) * (w[0] as u128));
        acc = s;
        top += o as u64;
        carry = (acc >> 64) | ((top as u128) << 64);
    }
    let q = trimmed(r);
    if q.is_empty() {
        return false;
    }
    // q·w must have n's bit length and n's top bits.
    let total = bits(q) + bits(w);
    let nb = bits(n);
    if total != nb && total != nb + 1 {
        return false;
    }
    let (mq, eq) = top64(q);
    let (mw, ew) = top64(w);
    let (mn, en) = top64(n);
    let p = (mq as u128) * (mw as u128);
    let (pm, pe) = if p >> 127 == 1 {
        ((p >> 64) as u64, eq + ew + 64)
    } else {
        ((p >> 63) as u64, eq + ew + 63)
    };
    // Truncating q and w to 64 bits underestimates the product by < 2^-61 relative.
    let (a, b) = match pe - en {
        0 => (pm as u128, mn as u128),
        1 => ((pm as u128) << 1, mn as u128),
        -1 => (pm as u128, (mn as u128) << 1),
        _ => return false,
    };
    b >= a && b - a <= 64
}

/// Exact confirmation with `BigUint`: w is a proper divisor of n.
pub fn divides_exactly(n: &BigUint, w: &BigUint) -> bool {
    use num_traits::{One, Zero};
    !w.is_zero() && !w.is_one() && w != n && (n % w).is_zero()
}

/// Sum of limbs modulo 2^64 − 1 (end-around carry): the residue of any integer written in
/// 64-bit limbs, in any limb order, because 2^64 ≡ 1.
#[inline]
pub fn ones_sum(acc: u64, x: u64) -> u64 {
    let (s, c) = acc.overflowing_add(x);
    s.wrapping_add(c as u64)
}

/// Bit r set when r (a residue modulo 2^16 − 1) is divisible by 3, 5, 17 or 257.
static SMALL_16: [u64; 1024] = small_16();

const fn small_16() -> [u64; 1024] {
    let mut t = [0u64; 1024];
    let mut r = 0usize;
    while r < 65536 {
        if r % 3 == 0 || r % 5 == 0 || r % 17 == 0 || r % 257 == 0 {
            t[r / 64] |= 1 << (r % 64);
        }
        r += 1;
    }
    t
}

/// True when the residue `r` of a value modulo 2^64 − 1 shows a factor 3, 5, 17 or 257
/// (the factors of 2^16 − 1, which divides 2^64 − 1). A prime factor never has one.
/// Branch-free: folds to 16 bits and reads one bit of a table.
#[inline(always)]
pub fn has_factor_3_5_17_257(r: u64) -> bool {
    let r32 = (r & 0xffff_ffff) + (r >> 32);
    let r16 = (r32 & 0xffff) + (r32 >> 16);
    let r16 = (r16 & 0xffff) + (r16 >> 16);
    let r16 = ((r16 & 0xffff) + (r16 >> 16)) as usize; // < 65536; 65535 ≡ 0 is divisible too
    (SMALL_16[r16 >> 6] >> (r16 & 63)) & 1 == 1
}

/// Product of the small primes 7 … 31, for the second sieve stage.
pub const SIEVE_M: u64 = 7 * 11 * 13 * 19 * 23 * 29 * 31;

/// Powers 2^(64·i) mod [`SIEVE_M`], for residues of limb arrays.
pub fn sieve_powers() -> Vec<u64> {
    let c = ((1u128 << 64) % SIEVE_M as u128) as u64;
    let mut v = Vec::with_capacity(MAX_MODULUS_LIMBS);
    let mut p = 1u64;
    for _ in 0..MAX_MODULUS_LIMBS {
        v.push(p);
        p = p * c % SIEVE_M;
    }
    v
}

/// True when the residue modulo [`SIEVE_M`] shows one of its prime factors.
#[inline]
pub fn has_factor_7_to_31(r: u64) -> bool {
    r % 7 == 0
        || r % 11 == 0
        || r % 13 == 0
        || r % 19 == 0
        || r % 23 == 0
        || r % 29 == 0
        || r % 31 == 0
}

#[cfg(test)]
pub(crate) mod tests {

    /// `decode` and `limb_at` (which `decode` reads these representations with) give the
    /// limbs of the integer the bytes encode, computed independently with `BigUint`, in every
    /// representation they cover and at every length (partial words, odd word counts, sign
    /// bytes, leading zeros), and nothing but zeros beyond them (the trimmed top).
    #[test]
    fn limb_at_reads_what_decode_gives() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..80 {
            for zeros in [false, true] {
                let bytes: Vec<u8> = (0..len)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        if zeros && (i % 5 == 0 || i < 9) {
                            0
                        } else {
                            x as u8
                        }
                    })
                    .collect();
                for r in [Repr::Le, Repr::Be, Repr::BeSigned, Repr::JavaWords] {
                    // The integer, by the representation's definition.
                    let value = match r {
                        Repr::Le => Some(BigUint::from_bytes_le(&bytes)),
                        Repr::Be => Some(BigUint::from_bytes_be(&bytes)),
                        Repr::BeSigned => {
                            (bytes.first() == Some(&0)).then(|| BigUint::from_bytes_be(&bytes[1..]))
                        }
                        _ => (bytes.len() % 4 == 0).then(|| {
                            let be: Vec<u8> = bytes
                                .chunks_exact(4)
                                .flat_map(|w| w.iter().rev().copied())
                                .collect();
                            BigUint::from_bytes_be(&be)
                        }),
                    };
                    let limbs = decode(&bytes, r);
                    let want = value.map(|v| {
                        let mut le = v.to_bytes_le();
                        le.resize(le.len().div_ceil(8) * 8, 0);
                        let mut l: Vec<u64> = le
                            .chunks_exact(8)
                            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                            .collect();
                        trim(&mut l);
                        l
                    });
                    assert_eq!(limbs, want, "{r:?} len {len}");
                    let Some(limbs) = limbs else {
                        continue;
                    };
                    for i in 0..limbs.len() + 3 {
                        let want = limbs.get(i).copied().unwrap_or(0);
                        assert_eq!(
                            limb_at(&bytes, r, i).unwrap_or(0),
                            want,
                            "{r:?} len {len} limb {i}"
                        );
                    }
                }
            }
        }
    }

    use super::*;
    pub(crate) fn rng() -> rand_core_rng::Rng {
        rand_core_rng::Rng(0x1234_5678_9abc_def1)
    }

    /// A tiny xorshift generator: tests need reproducible, not secure, numbers.
    pub(crate) mod rand_core_rng {
        pub struct Rng(pub u64);
        impl Rng {
            pub fn next(&mut self) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            }
            pub fn limbs(&mut self, n: usize) -> Vec<u64> {
                (0..n).map(|_| self.next()).collect()
            }
        }
    }

    #[test]
    fn representations_round_trip() {
        let mut r = rng();
        for bits in [256usize, 521, 1024, 1536, 2048] {
            let mut v = r.limbs(bits.div_ceil(64));
            let top = bits % 64;
            if top != 0 {
                *v.last_mut().unwrap() &= (1u64 << top) - 1;
            }
            *v.last_mut().unwrap() |= 1u64 << ((bits - 1) % 64);
            for rep in [
                Repr::Le,
                Repr::Be,
                Repr::BeSigned,
                Repr::JavaWords,
                Repr::Go63,
            ] {
                let enc = encode(&v, bits, rep);
                assert_eq!(enc.len(), rep.byte_len(bits), "{rep:?} {bits}");
                assert_eq!(decode(&enc, rep).unwrap(), v, "{rep:?} {bits}");
            }
        }
    }

    #[test]
    fn java_word_order_is_msw_first_each_word_le() {
        // 0x01020304_05060708 as two Java ints: [0x01020304, 0x05060708], each stored LE.
        let enc = encode(&[0x0102_0304_0506_0708], 64, Repr::JavaWords);
        assert_eq!(enc, [4, 3, 2, 1, 8, 7, 6, 5]);
    }

    #[test]
    fn inverse_mod_2_64() {
        let mut r = rng();
        for _ in 0..1000 {
            let a = r.next() | 1;
            assert_eq!(a.wrapping_mul(inv64(a)), 1);
        }
    }

    /// A random `bits`-bit prime from the test generator.
    pub(crate) fn test_prime(r: &mut rand_core_rng::Rng, bits: usize) -> BigUint {
        let mut v = r.limbs(bits.div_ceil(64));
        if bits % 64 != 0 {
            *v.last_mut().unwrap() &= (1u64 << (bits % 64)) - 1;
        }
        *v.last_mut().unwrap() |= 1u64 << ((bits - 1) % 64);
        num_bigint_dig::prime::next_prime(&to_biguint(&v))
    }

    #[test]
    fn divides_finds_true_factors_and_rejects_others() {
        let mut r = rng();
        let mut scratch = vec![0u64; MAX_MODULUS_LIMBS];
        for bits in [512usize, 1024, 1536] {
            let p = test_prime(&mut r, bits);
            let q = test_prime(&mut r, bits);
            let n = &p * &q;
            let (nl, pl, ql) = (from_biguint(&n), from_biguint(&p), from_biguint(&q));
            assert!(divides(&nl, &pl, &mut scratch));
            assert!(divides(&nl, &ql, &mut scratch));
            // Neighbours and random odd windows never pass.
            for delta in [2u32, 4, 6] {
                let w = from_biguint(&(&p + BigUint::from(delta)));
                assert!(!divides(&nl, &w, &mut scratch));
            }
            for _ in 0..2000 {
                let mut w = r.limbs(bits / 64);
                w[0] |= 1;
                assert!(!divides(&nl, &w, &mut scratch));
            }
        }
    }

    #[test]
    fn small_prime_sieves() {
        let powers = sieve_powers();
        let mut r = rng();
        for _ in 0..500 {
            let v = r.limbs(16);
            let big = to_biguint(&v);
            let sum = v.iter().fold(0, |a, &x| ones_sum(a, x));
            let expect = [3u32, 5, 17, 257]
                .iter()
                .any(|&p| (&big % BigUint::from(p)) == BigUint::from(0u8));
            assert_eq!(has_factor_3_5_17_257(sum), expect);
            let m: u64 = v
                .iter()
                .zip(&powers)
                .map(|(&l, &c)| (l % SIEVE_M) * c % SIEVE_M)
                .sum::<u64>()
                % SIEVE_M;
            let expect = [7u32, 11, 13, 19, 23, 29, 31]
                .iter()
                .any(|&p| (&big % BigUint::from(p)) == BigUint::from(0u8));
            assert_eq!(has_factor_7_to_31(m), expect);
        }
    }
}
#[cfg(test)]
mod speed {
    #[test]
    #[ignore]
    fn divides_speed() {
        let mut r = super::tests::rng();
        let p = super::tests::test_prime(&mut r, 1024);
        let q = super::tests::test_prime(&mut r, 1024);
        let n = super::from_biguint(&(&p * &q));
        let mut scratch = vec![0u64; 300];
        let ws: Vec<Vec<u64>> = (0..1000)
            .map(|_| {
                let mut w = r.limbs(16);
                w[0] |= 1;
                w[15] |= 1 << 63;
                w
            })
            .collect();
        let cpu = || {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: valid out-pointer.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
        };
        let t = cpu();
        let mut c = 0;
        for _ in 0..1000 {
            for w in &ws {
                c += super::divides(&n, w, &mut scratch) as u32;
            }
        }
        eprintln!("divides: {:.1} ns/call cpu ({c})", (cpu() - t) / 1e6);
    }
}
