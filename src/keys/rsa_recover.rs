//! Partial RSA keys (docs/key-formats.md §12.3): structures that hold the modulus but only part of
//! the private numbers (d without the primes, one prime, a CRT exponent) are completed into a
//! full key *by computation* before verification, so a partial key is proven, not guessed.
//! Recovery only ever produces factors that multiply to the stored modulus, and the normal
//! verifier then checks every stored number against them; a damaged part fails to factor n
//! and the key is reported corrupted.

use super::{rsa, RsaParts, Verdict};
use num_bigint_dig::BigUint;
use num_integer::Integer;
use num_traits::{One, Zero};

/// Public exponents tried when a structure stores d but not e (and by the gate's redaction
/// when it has both primes of a key but not its exponent).
pub const COMMON_E: [u32; 5] = [65537, 3, 17, 5, 257];
/// Bases tried by the (n, e, d) factoring loop; each succeeds with probability ≥ 1/2.
const BASES: [u32; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
/// Refuse arithmetic on absurd sizes (hostile input).
const MAX_BITS: usize = 16384 + 64;

/// Completes `parts` when it lacks a prime, then verifies it like any RSA key. The verdict's
/// text says what was recovered, so a reader knows the primes were computed, not stored.
pub fn verify(mut parts: RsaParts) -> Verdict {
    let note = complete(&mut parts);
    let mut v = rsa::verify(&parts);
    if let Some(note) = note {
        v.verification = format!("{note}; {}", v.verification);
    }
    v
}

/// Fills in p and q (and e when only d is known) where the stored numbers allow it.
/// Returns what was done, in words.
pub fn complete(parts: &mut RsaParts) -> Option<&'static str> {
    if parts.p.is_some() && parts.q.is_some() {
        return None;
    }
    let n = parts.n.clone()?;
    if n.bits() > MAX_BITS || n.bits() < 64 || n.is_even() {
        return None;
    }
    // One prime present: the other is n / p when it divides.
    if let Some(p) = parts.p.clone().or_else(|| parts.q.clone()) {
        if p > BigUint::one() && p < n && (&n % &p).is_zero() {
            let q = &n / &p;
            set_primes(parts, p, q);
            return Some("second prime computed as n / p");
        }
        return None;
    }
    // d known: factor n from (n, e, d), trying common exponents when e is absent.
    if let Some(d) = parts.d.clone() {
        let exponents: Vec<BigUint> = match &parts.e {
            Some(e) => vec![e.clone()],
            None => COMMON_E.iter().map(|&e| BigUint::from(e)).collect(),
        };
        for e in exponents {
            if let Some(p) = factor_with_d(&n, &e, &d) {
                let q = &n / &p;
                parts.e = Some(e);
                set_primes(parts, p, q);
                return Some("primes recovered from (n, e, d)");
            }
        }
        return None;
    }
    // A CRT exponent known: p = gcd(n, m^(e·dP) − m) for any m.
    let e = parts.e.clone().unwrap_or_else(|| BigUint::from(65537u32));
    for dx in [parts.dp.clone(), parts.dq.clone()].into_iter().flatten() {
        if let Some(p) = factor_with_crt_exponent(&n, &e, &dx) {
            let q = &n / &p;
            set_primes(parts, p, q);
            return Some("primes recovered from (n, e, a CRT exponent)");
        }
    }
    None
}

fn set_primes(parts: &mut RsaParts, a: BigUint, b: BigUint) {
    // Keep the stored order when one prime was stored; otherwise larger first, as PKCS#1
    // generators usually do (the verifier tolerates either order for qInv).
    match (&parts.p, &parts.q) {
        (Some(p), None) if *p == a => parts.q = Some(b),
        (Some(p), None) if *p == b => parts.q = Some(a),
        (None, Some(q)) if *q == a => parts.p = Some(b),
        (None, Some(q)) if *q == b => parts.p = Some(a),
        _ => {
            let (p, q) = if a > b { (a, b) } else { (b, a) };
            parts.p = Some(p);
            parts.q = Some(q);
        }
    }
}

/// The standard randomized factorisation from a private exponent (RFC 8017 does not give it;
/// it is the classic Miller argument): k = e·d − 1 = 2^t·r; for a base g, some g^(r·2^i) is
/// a non-trivial square root of 1, and gcd(x − 1, n) is a factor.
fn factor_with_d(n: &BigUint, e: &BigUint, d: &BigUint) -> Option<BigUint> {
    let one = BigUint::one();
    if d.is_zero() || d >= n {
        return None;
    }
    let k = e * d - &one;
    if k.is_zero() || k.is_odd() {
        return None;
    }
    let t = k.trailing_zeros()?;
    let r = &k >> t;
    let n1 = n - &one;
    for g in BASES {
        let g = BigUint::from(g);
        let mut x = g.modpow(&r, n);
        if x == one || x == n1 {
            continue;
        }
        for _ in 0..t {
            let y = x.modpow(&BigUint::from(2u32), n);
            if y == one {
                let p = (&x - &one).gcd(n);
                if p > one && &p < n {
                    return Some(p);
                }
                break;
            }
            if y == n1 {
                break;
            }
            x = y;
        }
    }
    None
}

/// m^(e·dP) ≡ m (mod p) for every m, so p divides m^(e·dP) − m while q almost never does.
fn factor_with_crt_exponent(n: &BigUint, e: &BigUint, dx: &BigUint) -> Option<BigUint> {
    let one = BigUint::one();
    if dx.is_zero() || dx >= n {
        return None;
    }
    let m = BigUint::from(2u32);
    let x = m.modpow(&(e * dx), n);
    let diff = if x >= m { x - &m } else { x + n - &m };
    let p = diff.gcd(n);
    (p > one && &p < n).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Status;

    /// A small test-only key (p, q 256-bit primes generated for this test; not a real secret).
    fn toy() -> RsaParts {
        let p = BigUint::parse_bytes(
            b"f3b1d4f4a0d3b8b6f6e0f5c4f9b3a2b2c9e7d1f3b5a7c9e1f3d5b7a9c1e3f5a7",
            16,
        )
        .unwrap();
        let p = next_prime(p);
        let q = next_prime(
            BigUint::parse_bytes(
                b"c1e3f5a7b9d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1a3",
                16,
            )
            .unwrap(),
        );
        let n = &p * &q;
        let e = BigUint::from(65537u32);
        let lambda = (&p - 1u32).lcm(&(&q - 1u32));
        let d = num_bigint_dig::ModInverse::mod_inverse(e.clone(), &lambda)
            .unwrap()
            .to_biguint()
            .unwrap();
        RsaParts {
            dp: Some(&d % (&p - 1u32)),
            dq: Some(&d % (&q - 1u32)),
            n: Some(n),
            e: Some(e),
            d: Some(d),
            p: Some(p),
            q: Some(q),
            qinv: None,
            format: "test".into(),
        }
    }

    fn next_prime(mut x: BigUint) -> BigUint {
        if x.is_even() {
            x += 1u32;
        }
        while !num_bigint_dig::prime::probably_prime(&x, 20) {
            x += 2u32;
        }
        x
    }

    #[test]
    fn recovers_from_n_e_d() {
        let full = toy();
        let mut part = full.clone();
        part.p = None;
        part.q = None;
        let v = verify(part);
        assert_eq!(v.status, Status::Verified, "{}", v.verification);
        assert!(v.verification.contains("recovered from (n, e, d)"));
        assert_eq!(v.spki, rsa::verify(&full).spki);
    }

    #[test]
    fn recovers_from_n_and_d_without_e() {
        let mut part = toy();
        part.p = None;
        part.q = None;
        part.e = None;
        assert_eq!(verify(part).status, Status::Verified);
    }

    #[test]
    fn recovers_from_one_prime_and_from_dp() {
        let mut one = toy();
        one.q = None;
        assert_eq!(verify(one).status, Status::Verified);
        let mut crt = toy();
        crt.p = None;
        crt.q = None;
        crt.d = None;
        crt.dq = None;
        let v = verify(crt);
        assert_eq!(v.status, Status::Verified, "{}", v.verification);
    }

    #[test]
    fn damaged_d_is_corrupted() {
        let mut part = toy();
        part.p = None;
        part.q = None;
        part.d = Some(part.d.unwrap() ^ BigUint::from(1u32 << 9));
        assert_eq!(verify(part).status, Status::Corrupted);
    }
}
