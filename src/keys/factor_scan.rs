//! Searching raw memory for a prime factor of a known RSA modulus (docs/key-formats.md §13.2), in
//! every representation runtimes keep big integers in (§8.1): little-endian limbs, big-endian
//! bytes (with or without a sign byte), Java `int[]` word order and Go 1.20's 63-bit limbs.
//!
//! Every 8-byte-aligned window is a candidate: heap allocators, Java and .NET arrays, Go slices
//! and SymCrypt integers all align their limb arrays at least that much. Windows are thinned
//! by exact filters before any arithmetic — exact meaning a real factor always passes:
//! * the factor's bit length (top bit set) and oddness, per representation;
//! * no more than one limb with its top 16 bits clear (a random prime has one such limb with
//!   probability ≈ 2^-12; pointers, small integers, text and zero pages have many);
//! * no factor 3, 5, 17 or 257 (window sum modulo 2^64 − 1, rolled along with the window);
//! * no factor 7 … 31 (residue modulo their product);
//! * p ≥ n / 2^h, i.e. the cofactor fits in h bits as it does for every generated key;
//!
//! and only then the Hensel divisibility test ([`limbs::divides`]). On random data about one
//! window in ten reaches it.

use super::limbs::{self, Repr};
use num_bigint_dig::BigUint;

/// A modulus to search factors of.
pub struct Target {
    pub n: Vec<u64>,
    pub n_big: BigUint,
    /// Bits of each factor: ⌈bits(n) / 2⌉.
    pub h: usize,
    /// When bits(n) = 2h: the top 64 bits of n, a lower bound for a factor's top 64 bits.
    top_min: u64,
}

impl Target {
    /// A target for an RSA modulus; None for sizes no RSA key has (below 512 or above 16384
    /// bits) or an even "modulus".
    pub fn new(n_big: BigUint) -> Option<Target> {
        let n = limbs::from_biguint(&n_big);
        let b = limbs::bits(&n);
        if !(512..=16384).contains(&b) || n[0] & 1 == 0 {
            return None;
        }
        let h = b.div_ceil(2);
        let top_min = if b == 2 * h { limbs::top64(&n).0 } else { 0 };
        Some(Target {
            n,
            n_big,
            h,
            top_min,
        })
    }
}

/// A window that divides a target.
#[derive(Debug, Clone)]
pub struct Hit {
    pub offset: usize,
    pub len: usize,
    pub repr: Repr,
    pub target: usize,
    /// The factor, trimmed little-endian limbs.
    pub factor: Vec<u64>,
}

/// Precomputed values shared by every window.
pub struct Sieve {
    powers: Vec<u64>,
}

impl Default for Sieve {
    fn default() -> Self {
        Sieve {
            powers: limbs::sieve_powers(),
        }
    }
}

#[inline(always)]
fn limb_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().expect("8 bytes"))
}

#[inline(always)]
fn small(x: u64) -> u32 {
    (x >> 48 == 0) as u32
}

/// Ones'-complement subtraction modulo 2^64 − 1.
#[inline(always)]
fn ones_sub(a: u64, b: u64) -> u64 {
    limbs::ones_sum(a, !b)
}

/// Searches windows starting in [start, end) at 8-aligned addresses (address = offset +
/// `delta`, see `detect::align`) for factors of `targets`, which all have the same factor
/// size `h` bits. Appends hits to `out`.
pub fn scan(
    data: &[u8],
    start: usize,
    end: usize,
    delta: u64,
    targets: &[&Target],
    sieve: &Sieve,
    out: &mut Vec<Hit>,
) {
    let Some(h) = targets.first().map(|t| t.h) else {
        return;
    };
    let start = start + ((8 - (start as u64).wrapping_add(delta) % 8) % 8) as usize;
    if h % 64 == 0 {
        scan_aligned(data, start, end, h, targets, sieve, out);
    } else {
        scan_generic(data, start, end, h, targets, out);
    }
    scan_go63(data, start, end, h, targets, out);
}

/// Per-window tests after the representation-independent filters.
struct Checker<'a> {
    targets: &'a [&'a Target],
    sieve: &'a Sieve,
    scratch: Vec<u64>,
    buf: Vec<u64>,
}

impl Checker<'_> {
    /// `buf` holds the window's value as little-endian limbs, `top` its top 64 bits.
    fn test(&mut self, offset: usize, len: usize, repr: Repr, top: u64, out: &mut Vec<Hit>) {
        // Residue modulo 7·11·…·31 (< 2^29): 16 products (< 2^58 each) fit a u64 sum.
        let mut m = 0u64;
        for (xs, cs) in self.buf.chunks(16).zip(self.sieve.powers.chunks(16)) {
            let s: u64 = xs
                .iter()
                .zip(cs)
                .map(|(&x, &c)| (x % limbs::SIEVE_M) * c)
                .sum();
            m = (m + s % limbs::SIEVE_M) % limbs::SIEVE_M;
        }
        if limbs::has_factor_7_to_31(m) {
            return;
        }
        for (ti, t) in self.targets.iter().enumerate() {
            if top < t.top_min {
                continue;
            }
            if limbs::divides(&t.n, &self.buf, &mut self.scratch) {
                let w = limbs::to_biguint(&self.buf);
                if limbs::divides_exactly(&t.n_big, &w) {
                    out.push(Hit {
                        offset,
                        len,
                        repr,
                        target: ti,
                        factor: self.buf.clone(),
                    });
                }
            }
        }
    }
}

/// Factors of a multiple of 64 bits: windows of whole limbs, filters rolled along.
fn scan_aligned(
    data: &[u8],
    start: usize,
    end: usize,
    h: usize,
    targets: &[&Target],
    sieve: &Sieve,
    out: &mut Vec<Hit>,
) {
    let k = h / 8;
    let l = h / 64;
    let mut ck = Checker {
        targets,
        sieve,
        scratch: vec![0u64; limbs::MAX_MODULUS_LIMBS + 2],
        buf: Vec::with_capacity(l),
    };
    let mut o = start;
    // Windows must fit in the data (the sign-byte form checks its extra byte itself).
    let last = end.min((data.len() + 1).saturating_sub(k));
    if o >= last {
        return;
    }
    // Rolling state over the window's limbs.
    let mut sum_le = 0u64;
    let mut sum_be = 0u64;
    let mut smalls = 0u32;
    for i in 0..l {
        let x = limb_at(data, o + 8 * i);
        sum_le = limbs::ones_sum(sum_le, x);
        sum_be = limbs::ones_sum(sum_be, x.swap_bytes());
        smalls += small(x);
    }
    let min_top = targets.iter().map(|t| t.top_min).min().unwrap_or(0);
    loop {
        // Branch-free on random data: one mask bit per representation that passes the
        // bit-length, oddness, small-limb, 3·5·17·257 and p ≥ n/2^h filters. Every bit needed
        // sits in the window's first or last limb.
        let first = limb_at(data, o);
        let lastl = limb_at(data, o + k - 8);
        // The Java value is 2^32 · (LE value) modulo 2^64 − 1, and 2^32 ≡ 1 modulo
        // 2^16 − 1, so LE and Java share the 3·5·17·257 test.
        let ok_le = (smalls <= 1) & !limbs::has_factor_3_5_17_257(sum_le);
        let ok_be = (smalls <= 1) & !limbs::has_factor_3_5_17_257(sum_be);
        // Little-endian limbs: top byte last. Big-endian: top byte first. Java int[]: top
        // word first, each word little-endian.
        let (top_le, top_be, top_java) = (lastl, first.swap_bytes(), first.rotate_left(32));
        let le = ok_le & (top_le >> 63 == 1) & (top_le >= min_top) & (first & 1 == 1);
        let be = ok_be & (top_be >> 63 == 1) & (top_be >= min_top) & ((lastl >> 56) & 1 == 1);
        let java = ok_le & (top_java >> 63 == 1) & (top_java >= min_top) & ((lastl >> 32) & 1 == 1);
        if le | be | java {
            if le {
                ck.buf.clear();
                ck.buf.extend((0..l).map(|i| limb_at(data, o + 8 * i)));
                ck.test(o, k, Repr::Le, top_le, out);
            }
            if be {
                ck.buf.clear();
                ck.buf
                    .extend((0..l).rev().map(|i| limb_at(data, o + 8 * i).swap_bytes()));
                ck.test(o, k, Repr::Be, top_be, out);
            }
            if java {
                ck.buf.clear();
                ck.buf.extend(
                    (0..l)
                        .rev()
                        .map(|i| limb_at(data, o + 8 * i).rotate_left(32)),
                );
                ck.test(o, k, Repr::JavaWords, top_java, out);
            }
        }
        // Big-endian after a 0x00 sign byte (Java `toByteArray`): unaligned, rare enough
        // (needs the zero byte) to be tested directly.
        if first & 0x80ff == 0x8000 && o + k < data.len() && data[o + k] & 1 == 1 {
            ck.buf.clear();
            ck.buf.extend(
                (0..l)
                    .rev()
                    .map(|i| limb_at(data, o + 1 + 8 * i).swap_bytes()),
            );
            let s = ck.buf.iter().fold(0, |a, &x| limbs::ones_sum(a, x));
            let smalls: u32 = ck.buf.iter().map(|&x| small(x)).sum();
            if smalls <= 1 && !limbs::has_factor_3_5_17_257(s) {
                let top = ck.buf[l - 1];
                ck.test(o, k + 1, Repr::BeSigned, top, out);
            }
        }
        // Slide by one limb.
        let next = o + 8;
        if next >= last {
            break;
        }
        let old = first;
        let new = limb_at(data, o + k);
        sum_le = limbs::ones_sum(ones_sub(sum_le, old), new);
        sum_be = limbs::ones_sum(ones_sub(sum_be, old.swap_bytes()), new.swap_bytes());
        smalls = smalls - small(old) + small(new);
        o = next;
    }
}

/// Factor sizes that are not whole limbs (odd key sizes): decode each plausible window.
fn scan_generic(
    data: &[u8],
    start: usize,
    end: usize,
    h: usize,
    targets: &[&Target],
    out: &mut Vec<Hit>,
) {
    let mut scratch = vec![0u64; limbs::MAX_MODULUS_LIMBS + 2];
    let mut o = start;
    while o < end {
        for repr in [Repr::Le, Repr::Be, Repr::BeSigned, Repr::JavaWords] {
            let len = repr.byte_len(h);
            let Some(bytes) = data.get(o..o + len) else {
                continue;
            };
            let Some(w) = limbs::decode(bytes, repr) else {
                continue;
            };
            if limbs::bits(&w) != h || w[0] & 1 == 0 {
                continue;
            }
            push_if_divides(targets, &w, o, len, repr, &mut scratch, out);
        }
        o += 8;
    }
}

fn push_if_divides(
    targets: &[&Target],
    w: &[u64],
    offset: usize,
    len: usize,
    repr: Repr,
    scratch: &mut [u64],
    out: &mut Vec<Hit>,
) {
    for (ti, t) in targets.iter().enumerate() {
        if limbs::divides(&t.n, w, scratch)
            && limbs::divides_exactly(&t.n_big, &limbs::to_biguint(w))
        {
            out.push(Hit {
                offset,
                len,
                repr,
                target: ti,
                factor: w.to_vec(),
            });
        }
    }
}

/// Go 1.20 `bigmod` naturals: 63 bits per word, top bit clear. The top word of an h-bit
/// factor holds its last h − 63·(L−1) bits, which alone rejects almost every position.
fn scan_go63(
    data: &[u8],
    start: usize,
    end: usize,
    h: usize,
    targets: &[&Target],
    out: &mut Vec<Hit>,
) {
    let words = h.div_ceil(63);
    let top_bits = h - 63 * (words - 1);
    let len = 8 * words;
    let mut scratch = vec![0u64; limbs::MAX_MODULUS_LIMBS + 2];
    let mut o = start;
    while o < end && o + len <= data.len() {
        let top = limb_at(data, o + len - 8);
        if top >> (top_bits - 1) == 1 && data[o] & 1 == 1 {
            // Every word below 2^63, at most one with its top 16 value bits clear.
            let mut ok = true;
            let mut smalls = 0;
            for i in 0..words - 1 {
                let x = limb_at(data, o + 8 * i);
                ok &= x >> 63 == 0;
                smalls += (x >> 47 == 0) as u32;
            }
            if ok && smalls <= 1 {
                if let Some(w) = limbs::decode(&data[o..o + len], Repr::Go63) {
                    push_if_divides(targets, &w, o, len, Repr::Go63, &mut scratch, out);
                }
            }
        }
        o += 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::limbs::tests::{rng, test_prime};
    use crate::keys::testkeys::noise;

    fn run(data: &[u8], t: &Target) -> Vec<Hit> {
        let sieve = Sieve::default();
        let mut out = Vec::new();
        let chunk = 1 << 16;
        let mut start = 0;
        while start < data.len() {
            scan(
                data,
                start,
                (start + chunk).min(data.len()),
                0,
                &[t],
                &sieve,
                &mut out,
            );
            start += chunk;
        }
        out
    }

    #[test]
    fn factors_in_every_representation_are_found() {
        let mut r = rng();
        for bits in [512usize, 1024, 1000] {
            let p = test_prime(&mut r, bits);
            let q = test_prime(&mut r, bits);
            let t = Target::new(&p * &q).unwrap();
            assert_eq!(t.h, bits);
            let (pl, ql) = (limbs::from_biguint(&p), limbs::from_biguint(&q));
            let mut data = noise(200_000, bits as u64);
            let mut planted = Vec::new();
            let mut at = 4096usize;
            for (i, repr) in [
                Repr::Le,
                Repr::Be,
                Repr::JavaWords,
                Repr::Go63,
                Repr::BeSigned,
            ]
            .into_iter()
            .enumerate()
            {
                let v = if i % 2 == 0 { &pl } else { &ql };
                let bytes = limbs::encode(v, bits, repr);
                data[at..at + bytes.len()].copy_from_slice(&bytes);
                planted.push((at, repr));
                at += 30_000;
            }
            // Across a chunk boundary.
            let bytes = limbs::encode(&pl, bits, Repr::Le);
            let edge = (1 << 16) * 2 - 40;
            data[edge..edge + bytes.len()].copy_from_slice(&bytes);
            planted.push((edge, Repr::Le));
            let hits = run(&data, &t);
            for (at, repr) in &planted {
                assert!(
                    hits.iter().any(|h| h.offset == *at && h.repr == *repr),
                    "{bits} bits: {repr:?} at {at} missing; got {:?}",
                    hits.iter().map(|h| (h.offset, h.repr)).collect::<Vec<_>>()
                );
            }
            assert_eq!(hits.len(), planted.len(), "{bits}: {hits:?}");
        }
    }

    #[test]
    fn nothing_in_noise_zeros_or_damaged_copies() {
        let mut r = rng();
        let p = test_prime(&mut r, 1024);
        let q = test_prime(&mut r, 1024);
        let t = Target::new(&p * &q).unwrap();
        assert!(run(&noise(1 << 20, 42), &t).is_empty());
        assert!(run(&vec![0u8; 1 << 18], &t).is_empty());
        // A one-bit-damaged factor is not a factor.
        let mut bytes = limbs::encode(&limbs::from_biguint(&p), 1024, Repr::Le);
        bytes[60] ^= 0x10;
        let mut data = noise(10_000, 7);
        data[800..800 + bytes.len()].copy_from_slice(&bytes);
        assert!(run(&data, &t).is_empty());
        // The modulus itself, and its halves, are not factors.
        let n = limbs::encode(&t.n, 2048, Repr::Le);
        let mut data = noise(10_000, 8);
        data[1000..1000 + n.len()].copy_from_slice(&n);
        assert!(run(&data, &t).is_empty());
    }
}
