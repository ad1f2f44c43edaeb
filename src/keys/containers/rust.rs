//! Big integers as Rust's RustCrypto crates keep them (issue #15), for the `bigint` pairing
//! ([`super`] has the other runtimes'):
//!
//! * num-bigint-dig `BigUint` (the `rsa` 0.9 crate's n, e, d, primes, dP, dQ, qInv): a
//!   `SmallVec<[u64; 4]>`. Integers of more than four limbs live on the heap, and the
//!   `SmallVec` holds `[tag = 1 (spilled)][len][ptr][16 unused inline bytes][capacity]` — the
//!   layout rustc gives the crate's `enum SmallVecData { Inline, Heap { ptr, len } }`
//!   (observed on x86-64 in tests/it/real_ec.rs; docs/key-formats.md §8). Four-limb values are
//!   inline and carry no header: no RSA integer is that short.
//! * RustCrypto ECDSA `SigningKey` (`ecdsa` 0.16 with `p256`/`p384` 0.13): the secret scalar
//!   followed by its verifying key's `primeorder` `AffinePoint { x, y, infinity: u8 }`, the
//!   coordinates in Montgomery form (R = 2^(64·limbs)). crypto-bigint `Uint` limb arrays have
//!   no header, so the structure is what identifies them: a Montgomery-form point on the
//!   curve ([`ec_forms::on_curve_montgomery`]) right after 4 random-looking limbs (p256 keeps
//!   the scalar canonical). The pairing then proves d·G = Q.
//!
//! Every field is checked before use, reads stay within the dump, and a candidate costs a
//! curve-equation check only after a one-byte filter (`infinity` = 0) and the randomness test.

use super::{plausible_pointer, push, read_va, u64_at, Candidate, Container};
use crate::input::AddressSpace;
use crate::keys::ec_forms;
use crate::keys::limbs::{self, Repr};
use crate::keys::Curve;

/// num-bigint-dig `BigUint` spilled to the heap, `o` at its `SmallVec`'s tag word and `len`
/// the word after it (the caller's filter: 3 ≤ len ≤ 256).
pub fn biguint(data: &[u8], space: &AddressSpace, o: usize, len: usize, out: &mut Vec<Candidate>) {
    let (Some(tag), Some(ptr), Some(cap)) =
        (u64_at(data, o), u64_at(data, o + 16), u64_at(data, o + 40))
    else {
        return;
    };
    if tag != 1 || !plausible_pointer(ptr) || cap < len as u64 || cap > 4096 {
        return;
    }
    if let Some((off, bytes)) = read_va(data, space, ptr, len * 8) {
        push(out, bytes, off, Container::RustBigUint, Repr::Le);
    }
}

/// At most one of the `n` words at `at` has its top 16 bits clear ([`looks_random`]), read
/// in place: this runs at every offset of the dump, so it must not allocate.
#[inline(always)]
fn random_words(data: &[u8], at: usize, n: usize) -> bool {
    let Some(b) = at.checked_add(8 * n).and_then(|end| data.get(at..end)) else {
        return false;
    };
    let mut small = 0;
    for c in b.chunks_exact(8) {
        if c[6] == 0 && c[7] == 0 {
            small += 1;
            if small > 1 {
                return false;
            }
        }
    }
    true
}

/// Zero bytes among 96 uniform ones that make [`signing_key`] refuse a candidate.
const MAX_ZERO_BYTES: u32 = 9;

/// Zero bytes in the `n` words at `at` (which the caller has checked are in the data), a
/// word at a time: a byte's high bit of `(b & 0x7f) + 0x7f | b` is set exactly when b ≠ 0.
#[inline(always)]
fn zero_bytes(data: &[u8], at: usize, n: usize) -> u32 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    (0..n)
        .map(|i| {
            let w = u64_at(data, at + 8 * i).unwrap_or(0);
            (!(((w & LOW7) + LOW7) | w) & !LOW7).count_ones()
        })
        .sum()
}

/// Offset of a p256 `SigningKey`'s `infinity` byte (after d, x, y): the caller's filter.
pub const SIGNING_KEY_INFINITY: usize = 96;

/// A RustCrypto ECDSA `SigningKey` whose scalar starts at `o` (8-aligned).
#[inline]
pub fn signing_key(data: &[u8], o: usize, out: &mut Vec<Candidate>) {
    // P-256 only: the check runs on 1 in 256 offsets of random-looking data (compressed or
    // encrypted buffers), and P-384's arithmetic doubled the cost for a curve few Rust
    // services sign with (measured in README "What it finds").
    for (curve, n) in [(Curve::P256, 4usize)] {
        // scalar, x, y, then `infinity` (0: a real point) and padding.
        let inf = o + 3 * n * 8;
        if data.get(inf) != Some(&0) {
            continue;
        }
        // y first: the words just before a zero byte are the likeliest to be zeros too.
        if !random_words(data, o + 2 * n * 8, n)
            || !random_words(data, o + n * 8, n)
            || !random_words(data, o, n)
        {
            continue;
        }
        // Code and tables pass the tests above at about one offset in eight (zero bytes are
        // common there, and so are words with non-zero tops), and the curve check below was
        // a sixth of the CPU of scanning shared-library pages. d, x·R and y·R are uniform:
        // 9 or more zero bytes among their 96 happen once in 5·10⁹ keys, a fortieth of what
        // the word tests above already refuse.
        if zero_bytes(data, o, 3 * n) >= MAX_ZERO_BYTES {
            continue;
        }
        // On the stack: one in 256 offsets of random-looking data gets this far.
        let mut x = [0u64; 4];
        let mut y = [0u64; 4];
        for i in 0..n {
            x[i] = u64_at(data, o + (n + i) * 8).unwrap_or(0);
            y[i] = u64_at(data, o + (2 * n + i) * 8).unwrap_or(0);
        }
        if !ec_forms::on_curve_montgomery(curve, &x[..n], &y[..n]) {
            continue;
        }
        let bytes = &data[o..o + n * 8];
        let Some(mut value) = limbs::decode(bytes, Repr::Le) else {
            continue;
        };
        limbs::trim(&mut value);
        if value.is_empty() {
            continue;
        }
        out.push(Candidate {
            value,
            offset: o,
            len: n * 8,
            container: Container::RustCryptoScalar,
        });
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::keys::pubkey::ec_public_point;
    use crate::keys::testkeys::noise;

    /// A p256 `SigningKey` laid out as the crate does: d LE, x·R, y·R, infinity 0.
    pub(in crate::keys::containers) fn p256_key(d: &[u8]) -> Vec<u8> {
        let q = ec_public_point(Curve::P256, d).unwrap();
        let mut out: Vec<u8> = d.iter().rev().copied().collect();
        for c in [&q[1..33], &q[33..65]] {
            let f = ec_forms::forms(Curve::P256, c);
            out.extend_from_slice(&f[2].1);
        }
        out.extend_from_slice(&[0u8; 8]);
        out
    }

    #[test]
    fn signing_key_structure_yields_the_scalar() {
        let d = noise(32, 3);
        let mut data = noise(4096, 4);
        data[0x208..0x208 + 104].copy_from_slice(&p256_key(&d));
        let mut out = Vec::new();
        for o in (0..data.len()).step_by(8) {
            signing_key(&data, o, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].offset, 0x208);
        assert_eq!(out[0].container, Container::RustCryptoScalar);
        assert_eq!(out[0].value, limbs::decode(&d, Repr::Be).unwrap());
        // A damaged y is no longer a point: nothing.
        data[0x208 + 70] ^= 4;
        let mut out = Vec::new();
        for o in (0..data.len()).step_by(8) {
            signing_key(&data, o, &mut out);
        }
        assert!(out.is_empty());
    }

    /// The word-at-a-time zero count equals counting byte by byte, for words with zeros in
    /// every position and bytes 0x01, 0x7f, 0x80 and 0xff beside them.
    #[test]
    fn zero_bytes_counts_each_byte() {
        let vals = [0u8, 1, 0x7f, 0x80, 0xff, 0x42];
        let mut data = Vec::new();
        for i in 0..4096usize {
            data.push(vals[(i * 7 + i / 6) % vals.len()]);
        }
        for at in (0..data.len() - 96).step_by(8) {
            let want = data[at..at + 96].iter().filter(|&&b| b == 0).count() as u32;
            assert_eq!(zero_bytes(&data, at, 12), want);
        }
    }

    #[test]
    fn biguint_header_is_followed() {
        use crate::input::{Region, RegionKind};
        let base = 0x5555_0000_0000u64;
        let mut data = noise(1 << 14, 9);
        let v = noise(256, 10);
        data[0x2000..0x2100].copy_from_slice(&v);
        let hdr = [1u64, 32, base + 0x2000, 0, 0, 33];
        for (i, w) in hdr.iter().enumerate() {
            data[0x100 + 8 * i..0x108 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        let mut space = AddressSpace::default();
        space.finish_with(&[Region {
            file_offset: 0,
            len: data.len() as u64,
            address: Some(base),
            kind: RegionKind::Memory,
            label: "heap".into(),
            truncated: false,
        }]);
        let mut out = Vec::new();
        biguint(&data, &space, 0x100, 32, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].offset, out[0].len), (0x2000, 256));
        // Capacity below the length, or the tag of an inline vector: not a BigUint.
        for (at, w) in [(0x128, 31u64), (0x100, 0)] {
            let mut bad = data.clone();
            bad[at..at + 8].copy_from_slice(&w.to_le_bytes());
            let mut out = Vec::new();
            biguint(&bad, &space, 0x100, 32, &mut out);
            assert!(out.is_empty());
        }
    }
}
