//! d·G for many candidate scalars: fixed-base multiplication with a table built once per
//! curve and process.
//!
//! Why: the whole-dump EC passes (`detect::bigint`: scalars beside points, scalars paired with
//! public keys) try d·G for every random-looking integer of a curve's size that a runtime
//! container holds, up to thousands per dump. The curve crates' `generator() * d` (p256,
//! p384, p521 through `primeorder`) has no base-point table: a 4-bit window over the whole
//! scalar width, i.e. one doubling per bit plus an addition per nibble (576 doublings for
//! P-521). That was 51–62% of the CPU time of scanning a 3.6 MB `openssl s_server` core. With
//! a table of the multiples of 32^i·G precomputed, d·G is one addition per non-zero digit of d
//! and no doubling.
//!
//! The digits are signed, base 32: d = Σ dᵢ·32^i with dᵢ in [−16, 15], so a row holds only
//! 1..16 times its unit (−P is free: negate y) and a scalar needs ⌈bits/5⌉ + 1 additions at
//! most instead of the 2 per byte of unsigned nibbles: 107 instead of 132 for P-521, with a
//! smaller table too (16 points a row, 107 rows instead of 132). It was a quarter of the CPU of
//! the `s_server` core after the table came; about a fifth of that goes.
//!
//! The result is the same point (the group law does not depend on how a multiple is
//! computed; a test compares with the crates' `SecretKey::public_key`), so reports are
//! unchanged. Timing side channels are no concern here: the scalars are candidates read from
//! a dump file, and the scanner is not an oracle anyone can time per scalar.
//! secp256k1 uses k256's own precomputed `mul_by_generator`.

use super::Curve;
use p256::elliptic_curve::group::Group;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ModulusSize, ToEncodedPoint};
use p256::elliptic_curve::FieldBytesSize;
use primeorder::{AffinePoint, PrimeCurveParams, ProjectivePoint};
use std::sync::OnceLock;

/// Bits per signed digit.
const W: usize = 5;
/// Points per row: the multiples 1..=2^(W−1) of the row's unit (negatives cost nothing).
const HALF: usize = 1 << (W - 1);

/// One row per digit of a scalar: `row[j] = (j + 1)·32^i·G`.
type Table<C> = Vec<[ProjectivePoint<C>; HALF]>;

/// Digits of a scalar of `len` bytes: one more than its bits need, for the last carry.
fn rows(len: usize) -> usize {
    (8 * len).div_ceil(W) + 1
}

/// Builds the table for a curve whose scalars are `len` bytes: [`rows`] rows of 15 additions
/// and a doubling, the cost of about three ordinary multiplications. (Kept projective: the
/// curve crates offer no batched inversion — `primeorder`'s `BatchNormalize` needs an `Invert`
/// their field elements do not implement — and one inversion per entry would cost more than
/// mixed additions save.)
fn table<C>(len: usize) -> Table<C>
where
    C: PrimeCurveParams,
    ProjectivePoint<C>: primeorder::Double,
{
    let rows = rows(len);
    let mut table = Vec::with_capacity(rows);
    let mut base = ProjectivePoint::<C>::generator();
    for _ in 0..rows {
        let mut row = [base; HALF];
        for j in 1..HALF {
            row[j] = row[j - 1] + base;
        }
        // 32·base = 2·(16·base), the next row's unit.
        base = primeorder::Double::double(&row[HALF - 1]);
        table.push(row);
    }
    table
}

/// The signed base-32 digits of the big-endian scalar `d`, least significant first: each
/// 5-bit group plus the carry from below, taken as a negative digit (and a carry up) from 16
/// on, so every digit is in [−16, 15] and Σ digit·32^i = d. `rows(d.len())` digits absorb
/// the last carry.
fn digits(d: &[u8]) -> Vec<i8> {
    let bits = 8 * d.len();
    let bit = |k: usize| -> u32 {
        if k >= bits {
            0
        } else {
            u32::from(d[d.len() - 1 - k / 8] >> (k % 8) & 1)
        }
    };
    let mut carry = 0u32;
    (0..rows(d.len()))
        .map(|i| {
            let v = carry + (0..W).map(|b| bit(W * i + b) << b).sum::<u32>();
            if v >= HALF as u32 {
                carry = 1;
                (v as i32 - (1 << W)) as i8
            } else {
                carry = 0;
                v as i8
            }
        })
        .collect()
}

/// d·G from `table`, for a big-endian scalar `d` of exactly the table's width (the caller
/// checks 0 < d < n), as an uncompressed SEC1 point.
fn mul<C>(table: &Table<C>, d: &[u8]) -> Vec<u8>
where
    C: PrimeCurveParams,
    FieldBytesSize<C>: ModulusSize,
    AffinePoint<C>: FromEncodedPoint<C> + ToEncodedPoint<C>,
    ProjectivePoint<C>: primeorder::Double,
{
    let mut acc = ProjectivePoint::<C>::identity();
    for (row, digit) in table.iter().zip(digits(d)) {
        match digit {
            0 => {}
            1.. => acc += &row[digit as usize - 1],
            _ => acc -= &row[digit.unsigned_abs() as usize - 1],
        }
    }
    acc.to_affine().to_encoded_point(false).as_bytes().to_vec()
}

/// The uncompressed point d·G for a big-endian scalar `padded` of the curve's scalar length
/// that the curve's `SecretKey::from_slice` accepted (0 < d < n), remembered per scalar: the
/// two whole-dump EC passes (scalars paired with public keys, scalars beside their points)
/// try the same candidates, and each multiplication costs tens of microseconds. Keyed by the
/// SHA-256 of the scalar, so no private value is kept; only public points are stored, and
/// the map is bounded, so a hostile dump cannot grow it.
pub(crate) fn public_point(curve: Curve, padded: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    use std::collections::HashMap;
    use std::sync::Mutex;
    const MAX_ENTRIES: usize = 1 << 14;
    type Memo = Mutex<HashMap<(u8, [u8; 32]), Vec<u8>>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let id = (curve as u8, Sha256::digest(padded).into());
    if let Some(q) = memo.lock().ok().and_then(|m| m.get(&id).cloned()) {
        return q;
    }
    let q = compute(curve, padded);
    if let Ok(mut m) = memo.lock() {
        if m.len() >= MAX_ENTRIES {
            m.clear();
        }
        m.insert(id, q.clone());
    }
    q
}

fn compute(curve: Curve, padded: &[u8]) -> Vec<u8> {
    static P256: OnceLock<Table<p256::NistP256>> = OnceLock::new();
    static P384: OnceLock<Table<p384::NistP384>> = OnceLock::new();
    static P521: OnceLock<Table<p521::NistP521>> = OnceLock::new();
    let len = curve.scalar_len();
    match curve {
        Curve::P256 => mul(P256.get_or_init(|| table(len)), padded),
        Curve::P384 => mul(P384.get_or_init(|| table(len)), padded),
        Curve::P521 => mul(P521.get_or_init(|| table(len)), padded),
        Curve::Secp256k1 => {
            use k256::elliptic_curve::ops::MulByGenerator;
            use k256::elliptic_curve::PrimeField;
            let mut repr = k256::FieldBytes::default();
            repr.copy_from_slice(padded);
            let d = Option::<k256::Scalar>::from(k256::Scalar::from_repr(repr))
                .expect("the caller checked 0 < d < n");
            k256::ProjectivePoint::mul_by_generator(&d)
                .to_affine()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signed digits are in range and sum back to the scalar, for all-ones (the longest
    /// carry chain), all-zero and patterned scalars of every curve's width.
    #[test]
    fn digits_sum_to_the_scalar() {
        use num_bigint_dig::BigInt;
        for len in [32, 48, 66] {
            for fill in [0x00u8, 0xff, 0x10, 0x84, 0x5a] {
                let mut d = vec![fill; len];
                d[len / 2] ^= 0x3c;
                let digits = digits(&d);
                assert_eq!(digits.len(), rows(len));
                assert!(digits.iter().all(|&x| (-16..16).contains(&x)));
                let sum = digits
                    .iter()
                    .rev()
                    .fold(BigInt::from(0), |acc, &x| acc * 32 + BigInt::from(x));
                assert_eq!(sum, BigInt::from_bytes_be(num_bigint_dig::Sign::Plus, &d));
            }
        }
    }

    /// The table gives the same point as the curve crates' own multiplication, for scalars
    /// with every nibble pattern that matters: 1, small, n−1, all-ones nibbles, random.
    #[test]
    fn same_point_as_the_curve_crates() {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = |len: usize| -> Vec<u8> {
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect()
        };
        for curve in [Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1] {
            let len = curve.scalar_len();
            let mut one = vec![0u8; len];
            one[len - 1] = 1;
            let mut small = vec![0u8; len];
            small[len - 2..].copy_from_slice(&[0xf0, 0x0f]);
            // All ones below a clear top bit: every digit carries (5-bit groups of 31 and 32).
            let mut ones = vec![0xff; len];
            ones[0] = if curve == Curve::P521 { 0x00 } else { 0x7f };
            let mut scalars = vec![one, small, vec![0x11; len], ones, vec![0x10; len]];
            for _ in 0..20 {
                let mut s = random(len);
                if curve == Curve::P521 {
                    s[0] &= 1;
                }
                scalars.push(s);
            }
            macro_rules! reference {
                ($c:ident, $s:expr) => {
                    $c::SecretKey::from_slice($s)
                        .ok()
                        .map(|sk| sk.public_key().to_encoded_point(false).as_bytes().to_vec())
                };
            }
            let mut checked = 0;
            for s in &scalars {
                let want = match curve {
                    Curve::P256 => reference!(p256, s),
                    Curve::P384 => reference!(p384, s),
                    Curve::P521 => reference!(p521, s),
                    Curve::Secp256k1 => reference!(k256, s),
                };
                let Some(want) = want else { continue };
                assert_eq!(public_point(curve, s), want, "{curve:?}");
                checked += 1;
            }
            assert!(checked >= 20, "{curve:?}: only {checked} scalars in range");
        }
    }
}
