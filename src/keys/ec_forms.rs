//! The byte forms an EC public point takes in a process's memory, so that a private scalar
//! found alone (a `BIGNUM`, four RustCrypto limbs) can be proven by finding its own public
//! point Q = d·G beside it, in whatever form the library keeps Q.
//!
//! Libraries rarely keep Q in an encoding (SEC1, SPKI): they keep the coordinates they compute
//! with (docs/key-formats.md §8, §12.4):
//!
//! | library | representation of Q |
//! |---|---|
//! | OpenSSL `EC_GFp_nistz256` (P-256), `EC_GFp_mont` (secp256k1, other prime curves) | Jacobian `BIGNUM`s X·R, Y·R, Z = R mod p, R = 2^(64·limbs) |
//! | OpenSSL `EC_GFp_nistp384/521`, `EC_GFp_simple` | affine `BIGNUM`s, little-endian limbs |
//! | BoringSSL `EC_RAW_POINT` | Montgomery field elements, R = 2^(64·limbs) |
//! | RustCrypto `p256`/`p384` (`primeorder` `AffinePoint`) | Montgomery field elements, R = 2^(64·limbs) |
//! | SymCrypt, CNG | Montgomery or plain, little-endian |
//! | a decoded SEC1 point, JCA `ECPoint` bytes | affine big-endian |
//!
//! [`forms`] lists, for one coordinate, every form: big-endian, little-endian 64-bit limbs,
//! and Montgomery x·R mod p for R = 2^(64·limbs) and R = 2^(32·words) (they differ only for
//! P-521). A Jacobian point with Z = R mod p has X = x·R and Y = y·R: the Montgomery forms
//! cover it, and [`one_montgomery`] gives its Z. [`on_curve_montgomery`] is the reverse
//! direction: it recognises a Montgomery-form affine point by the curve equation, without
//! knowing d.

use super::Curve;
use num_bigint_dig::BigUint;
use num_traits::Num;
#[cfg(test)]
use p256::elliptic_curve::ff::PrimeField;

/// How a coordinate is laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// Affine, big-endian bytes (the coordinate as SEC1 writes it).
    Be,
    /// Affine, little-endian 64-bit limbs (a plain `BIGNUM`).
    Le,
    /// Montgomery form x·R mod p, little-endian, R = 2^`r_bits`.
    Montgomery { r_bits: u32 },
}

impl Form {
    /// In words, for the finding's `verification`.
    pub fn describe(self) -> String {
        match self {
            Form::Be => "as affine big-endian bytes".into(),
            Form::Le => "as affine little-endian limbs".into(),
            Form::Montgomery { r_bits } => format!("in Montgomery form (R = 2^{r_bits})"),
        }
    }
}

/// Field prime p of the curve.
pub fn field_prime(curve: Curve) -> BigUint {
    let hex = match curve {
        Curve::P256 => "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
        Curve::P384 => "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
        Curve::P521 => "1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        Curve::Secp256k1 => "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
    };
    BigUint::from_str_radix(hex, 16).expect("curve constant")
}

/// Group order n of the curve.
pub fn group_order(curve: Curve) -> BigUint {
    let hex = match curve {
        Curve::P256 => "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        Curve::P384 => "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
        Curve::P521 => "1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
        Curve::Secp256k1 => "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
    };
    BigUint::from_str_radix(hex, 16).expect("curve constant")
}

/// 64-bit limbs of a field element.
pub fn limbs(curve: Curve) -> usize {
    (curve.bits() as usize).div_ceil(64)
}

/// The Montgomery radixes libraries use for the curve: 2^(64·limbs), and 2^(32·words) when
/// it differs (32-bit builds of P-521).
fn radix_bits(curve: Curve) -> Vec<u32> {
    let bits = curve.bits();
    let r64 = bits.div_ceil(64) * 64;
    let r32 = bits.div_ceil(32) * 32;
    if r32 == r64 {
        vec![r64]
    } else {
        vec![r64, r32]
    }
}

fn le_padded(v: &BigUint, len: usize) -> Vec<u8> {
    let mut b = v.to_bytes_le();
    b.resize(len, 0);
    b
}

/// Every form of one affine coordinate `c` (big-endian, as in a SEC1 point), each as the bytes
/// a library stores.
pub fn forms(curve: Curve, c: &[u8]) -> Vec<(Form, Vec<u8>)> {
    let p = field_prime(curve);
    let v = BigUint::from_bytes_be(c);
    let len = limbs(curve) * 8;
    let mut out = vec![(Form::Be, c.to_vec()), (Form::Le, le_padded(&v, len))];
    for r_bits in radix_bits(curve) {
        let m = (&v << r_bits as usize) % &p;
        out.push((Form::Montgomery { r_bits }, le_padded(&m, len)));
    }
    out
}

#[cfg(test)] // the tests build Montgomery-form points; detectors only read them
/// R mod p for R = 2^(64·limbs): the Z of a Jacobian point in Montgomery form whose Z is one
/// (what OpenSSL's `EC_POINT_set_affine_coordinates` leaves), little-endian.
pub fn one_montgomery(curve: Curve) -> Vec<u8> {
    let p = field_prime(curve);
    let r = (BigUint::from(1u32) << (limbs(curve) * 64)) % &p;
    le_padded(&r, limbs(curve) * 8)
}

/// The scalar d in Montgomery form modulo the group order (d·R mod n, R = 2^(64·limbs)),
/// little-endian, minimal big-endian for [`super::residue`]: RustCrypto `p384`/`p521` keep
/// their `Scalar`s so, and OpenSSL computes with it while signing. It is as secret as d.
pub fn scalar_montgomery_be(curve: Curve, d: &[u8]) -> Vec<u8> {
    let n = group_order(curve);
    let m = (BigUint::from_bytes_be(d) << (limbs(curve) * 64)) % &n;
    m.to_bytes_be()
}

#[cfg(test)] // the tests build Montgomery-form points; detectors only read them
/// The plain scalar of a Montgomery-form one (little-endian `d·R mod n` bytes), big-endian.
pub fn scalar_from_montgomery(curve: Curve, le: &[u8]) -> Option<Vec<u8>> {
    use num_bigint_dig::ModInverse;
    let n = group_order(curve);
    let r = BigUint::from(1u32) << (limbs(curve) * 64);
    let r_inv = (&r % &n).mod_inverse(&n)?.to_biguint()?;
    let d = BigUint::from_bytes_le(le) * r_inv % &n;
    Some(d.to_bytes_be())
}

/// Constants of the curve check for Montgomery-form words read as plain field elements: with
/// X = x·R and Y = y·R, y² = x³ + ax + b becomes Y²·R = X³ + (a·R²)·X + b·R³.
#[cfg(test)]
struct Check<F> {
    r: F,
    a_r2: F,
    b_r3: F,
}

#[cfg(test)]
fn constants<F: PrimeField>(curve: Curve, a: &str, b: &str) -> Check<F> {
    let p = field_prime(curve);
    let r = (BigUint::from(1u32) << (limbs(curve) * 64)) % &p;
    let a = BigUint::from_str_radix(a, 16).expect("curve constant");
    let b = BigUint::from_str_radix(b, 16).expect("curve constant");
    let elt = |v: BigUint| field::<F>(&(v % &p).to_bytes_be()).expect("reduced constant");
    Check {
        a_r2: elt(&a * &r * &r),
        b_r3: elt(&b * &r * &r * &r),
        r: elt(r),
    }
}

/// A field element from big-endian bytes (left-padded), None when ≥ p.
#[cfg(test)]
fn field<F: PrimeField>(be: &[u8]) -> Option<F> {
    let mut repr = F::Repr::default();
    let buf = repr.as_mut();
    let at = buf.len().checked_sub(be.len())?;
    buf[at..].copy_from_slice(be);
    F::from_repr(repr).into()
}

/// Little-endian words as the big-endian bytes `from_repr` takes.
#[cfg(test)]
fn be_of(words: &[u64], len: usize) -> Vec<u8> {
    let mut b: Vec<u8> = words.iter().rev().flat_map(|w| w.to_be_bytes()).collect();
    b.drain(..b.len().saturating_sub(len));
    b
}

#[cfg(test)]
fn check<F: PrimeField>(c: &Check<F>, len: usize, x: &[u64], y: &[u64]) -> bool {
    // Field elements are reduced: a coordinate ≥ p (or wider than the field) is not one.
    if x.len() * 8 < len || y.len() * 8 < len {
        return false;
    }
    let wide = |w: &[u64]| {
        w.iter()
            .rev()
            .take(w.len() - len.div_ceil(8))
            .any(|&v| v != 0)
    };
    if wide(x) || wide(y) {
        return false;
    }
    let (Some(x), Some(y)) = (field::<F>(&be_of(x, len)), field::<F>(&be_of(y, len))) else {
        return false;
    };
    y.square() * c.r == x.square() * x + c.a_r2 * x + c.b_r3
}

/// Whether little-endian limbs `x`, `y` (4 for P-256, 6 for P-384) are the
/// Montgomery forms (R = 2^(64·limbs)) of a point on `curve`, by the curve equation. Random
/// words pass with probability about 1/p.
///
/// The words are taken as they are, as the Montgomery forms of field elements (crypto-bigint's
/// `Residue::from_montgomery`), so the test is y² = (x² + a)·x + b on the affine coordinates
/// themselves: three Montgomery multiplications. Reading them as plain field elements X = x·R,
/// Y = y·R and testing Y²·R = X³ + a·R²·X + b·R³ (the same equation times R³, R invertible
/// mod p) took seven and two conversions, and RustCrypto signing-key candidates run this at
/// one in 256 offsets of random-looking data (7% of a scan's CPU on the 1.5 GB python core).
/// The unit test `montgomery_check_matches_the_field_check` compares both.
pub fn on_curve_montgomery(curve: Curve, x: &[u64], y: &[u64]) -> bool {
    use crypto_bigint::modular::constant_mod::Residue;
    use crypto_bigint::{U256, U384};
    match curve {
        Curve::P256 => {
            const A: Residue<P256Field, 4> = Residue::new(&U256::from_be_hex(
                "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
            ));
            const B: Residue<P256Field, 4> = Residue::new(&U256::from_be_hex(
                "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
            ));
            on_curve_mont(x, y, A, B)
        }
        Curve::P384 => {
            const A: Residue<P384Field, 6> = Residue::new(&U384::from_be_hex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc"));
            const B: Residue<P384Field, 6> = Residue::new(&U384::from_be_hex("b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef"));
            on_curve_mont(x, y, A, B)
        }
        // k256's field is not Montgomery-based (5×52-bit limbs) and RustCrypto keeps no
        // Montgomery point for it; OpenSSL's secp256k1 points are found from d instead.
        Curve::Secp256k1 | Curve::P521 => false,
    }
}

crypto_bigint::impl_modulus!(
    P256Field,
    crypto_bigint::U256,
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
);
crypto_bigint::impl_modulus!(
    P384Field,
    crypto_bigint::U384,
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff"
);

/// The curve equation for Montgomery-form words `x`, `y` of `L` limbs (more limbs must be
/// zero), with the curve's coefficients `a`, `b`.
#[inline]
fn on_curve_mont<P, const L: usize>(
    x: &[u64],
    y: &[u64],
    a: crypto_bigint::modular::constant_mod::Residue<P, L>,
    b: crypto_bigint::modular::constant_mod::Residue<P, L>,
) -> bool
where
    P: crypto_bigint::modular::constant_mod::ResidueParams<L>,
{
    use crypto_bigint::modular::constant_mod::Residue;
    // Field elements are reduced: a coordinate ≥ p (or wider than the field) is not one.
    let words = |w: &[u64]| -> Option<Residue<P, L>> {
        if w.len() < L || w[L..].iter().any(|&v| v != 0) {
            return None;
        }
        let mut limbs = [crypto_bigint::Limb::ZERO; L];
        for (l, &v) in limbs.iter_mut().zip(w) {
            *l = crypto_bigint::Limb(v);
        }
        let u = crypto_bigint::Uint::new(limbs);
        (u < P::MODULUS).then(|| Residue::from_montgomery(u))
    };
    let (Some(x), Some(y)) = (words(x), words(y)) else {
        return false;
    };
    y.square() == (x.square() + a) * x + b
}

/// The check as it was (plain field elements, [`Check`]): the reference of the unit tests.
#[cfg(test)]
fn on_curve_montgomery_field(curve: Curve, x: &[u64], y: &[u64]) -> bool {
    let len = curve.scalar_len();
    match curve {
        Curve::P256 => check(
            &constants::<p256::FieldElement>(
                curve,
                "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
                "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
            ),
            len,
            x,
            y,
        ),
        Curve::P384 => check(
            &constants::<p384::FieldElement>(
                curve,
                "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc",
                "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
            ),
            len,
            x,
            y,
        ),
        Curve::Secp256k1 | Curve::P521 => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::limbs::{decode, Repr};
    use crate::keys::pubkey::ec_public_point;

    fn point(curve: Curve, d: u8) -> (Vec<u8>, Vec<u8>) {
        let mut s = vec![0x5au8; curve.scalar_len()];
        s[0] = 1;
        s[curve.scalar_len() - 1] = d;
        let q = ec_public_point(curve, &s).unwrap();
        let l = curve.scalar_len();
        (q[1..1 + l].to_vec(), q[1 + l..].to_vec())
    }

    fn mont(curve: Curve, c: &[u8]) -> Vec<u64> {
        let f = forms(curve, c);
        let (_, b) = f
            .iter()
            .find(|(f, _)| matches!(f, Form::Montgomery { .. }))
            .unwrap();
        let mut v = decode(b, Repr::Le).unwrap();
        v.resize(limbs(curve), 0);
        v
    }

    #[test]
    fn montgomery_points_are_recognised_and_others_are_not() {
        for curve in [Curve::P256, Curve::P384] {
            let (x, y) = point(curve, 7);
            let (xm, ym) = (mont(curve, &x), mont(curve, &y));
            assert!(on_curve_montgomery(curve, &xm, &ym), "{curve:?}");
            // The affine coordinates read as Montgomery words are not a point; neither is a
            // coordinate with one bit flipped.
            let mut xl = decode(&forms(curve, &x)[1].1, Repr::Le).unwrap();
            xl.resize(limbs(curve), 0);
            let mut yl = decode(&forms(curve, &y)[1].1, Repr::Le).unwrap();
            yl.resize(limbs(curve), 0);
            assert!(!on_curve_montgomery(curve, &xl, &yl), "{curve:?}");
            let mut bad = ym.clone();
            bad[1] ^= 1 << 9;
            assert!(!on_curve_montgomery(curve, &xm, &bad), "{curve:?}");
        }
        assert!(!on_curve_montgomery(
            Curve::P256,
            &[u64::MAX; 4],
            &[u64::MAX; 4]
        ));
        assert!(!on_curve_montgomery(Curve::P256, &[1; 3], &[1; 4]));
    }

    /// The three-multiplication check against the plain-field one it replaced: real points
    /// in Montgomery form (and with one bit flipped), random words, and the edges of the
    /// field (0, 1, p − 1, p, all ones) and of the word count.
    #[test]
    fn montgomery_check_matches_the_field_check() {
        use crate::keys::testkeys::noise;
        for curve in [Curve::P256, Curve::P384] {
            let n = limbs(curve);
            let p = decode(&field_prime(curve).to_bytes_le(), Repr::Le).unwrap();
            let mut p_minus_1 = p.clone();
            p_minus_1[0] -= 1;
            let mut edges = vec![vec![0u64; n], p.clone(), p_minus_1, vec![u64::MAX; n]];
            edges.push((0..n).map(|i| u64::from(i == 0)).collect());
            let mut cases: Vec<(Vec<u64>, Vec<u64>)> = Vec::new();
            for d in 1..=24u8 {
                let (x, y) = point(curve, d);
                let (xm, ym) = (mont(curve, &x), mont(curve, &y));
                let mut flipped = ym.clone();
                flipped[usize::from(d) % n] ^= 1 << (d % 64);
                cases.push((xm.clone(), flipped));
                for e in &edges {
                    cases.push((xm.clone(), e.clone()));
                    cases.push((e.clone(), ym.clone()));
                }
                // Too short, and one word too wide (zero and not).
                cases.push((xm[..n - 1].to_vec(), ym.clone()));
                cases.push(([&xm[..], &[0]].concat(), [&ym[..], &[0]].concat()));
                cases.push(([&xm[..], &[1]].concat(), ym.clone()));
                cases.push((xm, ym));
            }
            for (i, a) in edges.iter().enumerate() {
                for b in &edges[i..] {
                    cases.push((a.clone(), b.clone()));
                }
            }
            for seed in 0..2000u64 {
                let w = decode(&noise(16 * n, seed), Repr::Le).unwrap();
                let mut w = w.clone();
                w.resize(2 * n, 0);
                cases.push((w[..n].to_vec(), w[n..].to_vec()));
            }
            let mut points = 0;
            for (x, y) in &cases {
                let want = on_curve_montgomery_field(curve, x, y);
                assert_eq!(
                    on_curve_montgomery(curve, x, y),
                    want,
                    "{curve:?} {x:x?} {y:x?}"
                );
                points += usize::from(want);
            }
            // The 24 real points (with their zero-extended copies): the test sees both answers.
            assert_eq!(points, 48, "{curve:?}");
        }
    }

    #[test]
    fn montgomery_form_of_one_is_r_mod_p() {
        // OpenSSL's nistz256 ONE: 2^256 mod p256.
        let want = "010000000000000000000000fffffffffffffffffffffffffeffffff00000000";
        assert_eq!(hex::encode(one_montgomery(Curve::P256)), want);
        // secp256k1: 2^256 mod p = 2^32 + 977.
        let k = one_montgomery(Curve::Secp256k1);
        assert_eq!(&k[..8], &0x1_0000_03d1u64.to_le_bytes());
        assert!(k[8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn scalar_montgomery_round_trips() {
        for curve in [Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1] {
            let d = vec![0x42u8; curve.scalar_len() - 1];
            let m = scalar_montgomery_be(curve, &d);
            assert_ne!(m, d);
            let mut le = m.clone();
            le.reverse();
            assert_eq!(scalar_from_montgomery(curve, &le).unwrap(), d, "{curve:?}");
        }
    }

    #[test]
    fn redaction_residue_holds_the_montgomery_scalar() {
        use crate::keys::residue::Secret;
        use crate::keys::PrivateKey;
        for curve in [Curve::P256, Curve::P384] {
            let d = vec![0x37u8; curve.scalar_len()];
            let key = PrivateKey::Ec {
                curve,
                d: d.clone(),
                public: None,
            };
            let s = Secret::from_key(&key, None).unwrap();
            assert!(s.values().contains(&d));
            assert!(s.values().contains(&scalar_montgomery_be(curve, &d)));
        }
    }

    #[test]
    fn p521_has_both_radixes() {
        let (x, _) = point(Curve::P521, 3);
        let f = forms(Curve::P521, &x);
        assert!(f.contains(&(Form::Montgomery { r_bits: 576 }, f[2].1.clone())));
        assert!(f
            .iter()
            .any(|(f, _)| *f == Form::Montgomery { r_bits: 544 }));
        assert!(f.iter().all(|(_, b)| b.len() == 72 || b.len() == 66));
    }
}
