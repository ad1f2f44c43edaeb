//! RSA verification (docs/key-formats.md §12.2): p·q = n decides; then primality, e·d ≡ 1 mod
//! λ(n) (accepting d mod φ as CNG exports it), and the CRT values, tolerating swapped p/q.

use super::{fingerprint, KeyInfo, Status, Verdict};
use num_bigint_dig::prime::{probably_prime, probably_prime_miller_rabin};
use num_bigint_dig::BigUint;
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};

/// The numbers of an RSA private key. Any of them may be missing in a partial structure.
#[derive(Default, Clone)]
pub struct RsaParts {
    /// The modulus.
    pub n: Option<BigUint>,
    /// The public exponent.
    pub e: Option<BigUint>,
    /// The private exponent.
    pub d: Option<BigUint>,
    /// The first prime.
    pub p: Option<BigUint>,
    /// The second prime.
    pub q: Option<BigUint>,
    /// d mod (p − 1) (CRT).
    pub dp: Option<BigUint>,
    /// d mod (q − 1) (CRT).
    pub dq: Option<BigUint>,
    /// q⁻¹ mod p (CRT).
    pub qinv: Option<BigUint>,
    /// Container name for the report (PKCS#1, PKCS#8 ...).
    pub format: String,
}

impl RsaParts {
    /// Builds parts from big-endian byte strings in PKCS#1 order.
    #[allow(clippy::too_many_arguments)]
    pub fn from_be(
        format: &str,
        n: &[u8],
        e: &[u8],
        d: &[u8],
        p: &[u8],
        q: &[u8],
        dp: &[u8],
        dq: &[u8],
        qinv: &[u8],
    ) -> Self {
        let b = |x: &[u8]| Some(BigUint::from_bytes_be(x));
        RsaParts {
            n: b(n),
            e: b(e),
            d: b(d),
            p: b(p),
            q: b(q),
            dp: b(dp),
            dq: b(dq),
            qinv: b(qinv),
            format: format.into(),
        }
    }
}

/// Miller–Rabin rounds per prime below [`ONE_ROUND_FROM_BITS`]: one with base 2 and one with
/// a base derived from the number.
/// Why so few, and no Lucas test: p·q = n already ties the factors to the modulus, so
/// primality only rules out a crafted composite factorisation. Every round is one-sided — a
/// prime always passes — so fewer rounds can never make a real key look damaged; the only
/// possible error is a crafted composite reported as a verified key, which makes the gate
/// BLOCK: the fail-closed direction, and nothing an attacker could not get by planting a real
/// key. (More rounds would not stop a crafter either: the library derives its bases from the
/// number itself, so they are predictable.) For numbers that were not crafted, two strong
/// probable-prime rounds on a ≥ 512-bit number err with probability far below 2^-80
/// (Damgård–Landrock–Pomerance). The Lucas half of Baillie–PSW was dropped because
/// `num-bigint-dig` runs it with plain division: it cost five times a Miller–Rabin round, and
/// 70% of the scan of a small dump holding an RSA-8192 key.
const MR_ROUNDS: usize = 2;
/// From this size on a prime gets one Miller–Rabin round, with base 2. Why one is enough
/// there: a round is one modular exponentiation at the prime's size, which grows with the cube
/// of it (≈ 3.5 ms for 2048 bits, ≈ 30 ms for 4096, the primes of RSA-4096 and RSA-8192), and
/// it was 38% of the CPU time of scanning a small dump with those two keys. The second round
/// adds nothing against a crafter (its base is predictable too), and for a number nobody
/// crafted one strong round already errs with probability below 2^-64 at 2048 bits and
/// 2^-100 at 4096 (Damgård–Landrock–Pomerance: k²·4^(2−√k) for k bits), before counting
/// that such a composite would also have to satisfy p·q = n, e·d ≡ 1 (mod λ) and the CRT
/// values exactly. Smaller primes keep two rounds: they cost well under a millisecond and the
/// bound is weaker there.
const ONE_ROUND_FROM_BITS: usize = 2048;
/// Refuse to do arithmetic on absurd sizes (hostile input): RSA-16384 is the largest seen.
const MAX_BITS: usize = 16384 + 64;
/// Longest RSA integer worth decoding, in bytes: a modulus of two [`MAX_BITS`] primes.
pub(crate) const MAX_INT_BYTES: usize = 2 * MAX_BITS / 8 + 1;

fn info(parts: &RsaParts, n: Option<&BigUint>) -> KeyInfo {
    KeyInfo {
        algorithm: "RSA".into(),
        bits: n.map(|n| n.bits() as u32).unwrap_or(0),
        curve: None,
        public_exponent: parts.e.as_ref().and_then(|e| e.to_u64()),
        format: Some(parts.format.clone()),
    }
}

fn corrupted(parts: &RsaParts, why: impl Into<String>) -> Verdict {
    Verdict {
        material: None,
        status: Status::Corrupted,
        verification: why.into(),
        key: info(parts, parts.n.as_ref()),
        spki: None,
    }
}

/// Verifies RSA parts; a proven key carries its parts (see [`super::Material`]).
pub fn verify(parts: &RsaParts) -> Verdict {
    super::with_material(verify_parts(parts), || {
        super::PrivateKey::Rsa(parts.clone())
    })
}

fn verify_parts(parts: &RsaParts) -> Verdict {
    let (Some(p), Some(q)) = (parts.p.as_ref(), parts.q.as_ref()) else {
        return corrupted(
            parts,
            "RSA structure without both primes: cannot be verified",
        );
    };
    if p.bits() > MAX_BITS || q.bits() > MAX_BITS || p.is_zero() || q.is_zero() {
        return corrupted(parts, "RSA primes of implausible size");
    }
    let product = p * q;
    let n = match parts.n.as_ref() {
        Some(n) if *n != product => {
            return corrupted(parts, "p·q ≠ n: damaged or inconsistent RSA key")
        }
        Some(n) => n.clone(),
        None => product,
    };
    let one = BigUint::one();
    if *p <= one || *q <= one {
        return corrupted(parts, "p·q = n but a factor is not prime");
    }
    // Every other number is bounded before any arithmetic: a hostile structure may carry a
    // 16 MiB "exponent", and e·d on that would take minutes.
    let oversized = [&parts.e, &parts.d, &parts.dp, &parts.dq, &parts.qinv]
        .iter()
        .any(|x| x.as_ref().is_some_and(|x| x.bits() > 2 * MAX_BITS));
    if oversized {
        return corrupted(
            parts,
            "p·q = n but other RSA integers have implausible sizes",
        );
    }
    let e = parts.e.clone().unwrap_or_else(|| BigUint::from(65537u32));
    let (p1, q1) = (p - &one, q - &one);
    let lambda = p1.lcm(&q1);
    // The cheap congruences first, the primality tests (the costly part) last: a damaged key
    // costs little, whatever order its defects come in.
    let mut proven = vec!["p·q = n", "p and q prime"];
    if let Some(d) = &parts.d {
        if (&e * d) % &lambda != one {
            return corrupted(
                parts,
                "p·q = n but e·d ≢ 1 (mod λ(n)): private exponent damaged",
            );
        }
        proven.push("e·d ≡ 1 (mod λ(n))");
        let crt_ok = |dp: &Option<BigUint>, m: &BigUint| dp.as_ref().map(|v| *v == d % m);
        match (crt_ok(&parts.dp, &p1), crt_ok(&parts.dq, &q1)) {
            (Some(false), _) | (_, Some(false)) => {
                return corrupted(parts, "p·q = n but a CRT exponent (dP/dQ) is wrong")
            }
            (Some(true), Some(true)) => proven.push("dP, dQ"),
            _ => {}
        }
    }
    if let Some(qinv) = &parts.qinv {
        // PKCS#1: qInv·q ≡ 1 (mod p). Tolerate swapped primes and the OpenPGP convention.
        if (qinv * q) % p == one || (qinv * p) % q == one {
            proven.push("qInv");
        } else {
            return corrupted(parts, "p·q = n but the CRT coefficient qInv is wrong");
        }
    }
    let spki = fingerprint::rsa_spki(&n.to_bytes_be(), &e.to_bytes_be());
    // A published test key's modulus was proven to be the product of two primes when it was
    // listed (`rules/known-test-keys.txt`); its SPKI fingerprint pins n, and n has exactly one
    // factorisation, so p·q = n with both factors > 1 (checked above) *is* that pair of primes.
    // The openssl binary alone carries seven such keys of up to 15360 bits, whose primality
    // tests took seconds per dump.
    let listed = spki
        .as_ref()
        .is_some_and(|s| super::known::is_listed(&fingerprint::sha256_fingerprint(s)));
    if !listed && !primes(p, q) {
        return corrupted(parts, "p·q = n but a factor is not prime");
    }
    if listed {
        proven[1] = "p and q prime (a published test key's modulus, proven when listed)";
    }
    Verdict {
        material: None,
        status: Status::Verified,
        verification: proven.join(", "),
        key: info(parts, Some(&n)),
        spki,
    }
}

/// Whether both factors pass the primality test. Large ones are tested on two threads: the
/// tests are the bulk of proving a key of 4096 bits and more, and a gate waits for them.
fn primes(p: &BigUint, q: &BigUint) -> bool {
    const PARALLEL_FROM_BITS: usize = 1024;
    if p.bits() + q.bits() < 2 * PARALLEL_FROM_BITS {
        return prime(p) && prime(q);
    }
    let (a, b) = rayon::join(|| prime(p), || prime(q));
    a && b
}

/// Miller–Rabin rounds for a prime of `bits` bits (the last one always with base 2).
fn rounds(bits: usize) -> usize {
    if bits >= ONE_ROUND_FROM_BITS {
        1
    } else {
        MR_ROUNDS
    }
}

/// Whether `x` passes the primality test, remembered per distinct value: one key is proven
/// by several detectors (its DER, the runtime's BIGNUMs, the factor search finding p and then
/// q) and a dump can hold it many times, but whether a number is prime does not depend on
/// where it was found, so each distinct prime is tested once per process (in the crate's one
/// bounded memo, [`super::memo`]).
fn prime(x: &BigUint) -> bool {
    use std::sync::OnceLock;
    static CACHE: OnceLock<super::memo::Memo<bool>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    super::memo::cached(cache, "prime", &x.to_bytes_be(), || {
        if x.bits() <= 64 {
            // Exact below 2^64 (and the Miller–Rabin routine needs n > 3).
            probably_prime(x, 0)
        } else if rounds(x.bits()) == 1 {
            // The same round as `probably_prime_miller_rabin(x, 1, true)`, about twice as
            // fast (see `keys::monty`).
            x.is_odd() && super::monty::strong_probable_prime_base2(&super::limbs::from_biguint(x))
        } else {
            x.is_odd() && probably_prime_miller_rabin(x, rounds(x.bits()), true)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::testkeys;
    use num_bigint_dig::ModInverse;

    fn parts(p: &BigUint, q: &BigUint) -> RsaParts {
        let e = BigUint::from(65537u32);
        let lambda = (p - 1u32).lcm(&(q - 1u32));
        // (e is not invertible once in ≈ 30000 fresh factors: then there is no d to check.)
        let d = (&e).mod_inverse(&lambda).and_then(|d| d.to_biguint());
        RsaParts {
            n: Some(p * q),
            e: Some(e),
            d,
            p: Some(p.clone()),
            q: Some(q.clone()),
            format: "test".into(),
            ..Default::default()
        }
    }

    /// Fresh keys whose primes take each path (two rounds below 2048 bits, one from there on)
    /// are proven, and a composite factor of either size is refused although p·q = n and
    /// e·d ≡ 1 (mod lcm(p−1, q−1)) hold exactly: the one base-2 round still tells them apart.
    #[test]
    fn primes_of_both_sizes_proven_composites_refused() {
        let small = testkeys::rsa(2048, false);
        let large = testkeys::rsa(4096, false);
        assert_eq!(rounds(small.p.bits()), MR_ROUNDS);
        assert_eq!(rounds(large.p.bits()), 1);
        for key in [&small, &large] {
            let v = verify(&parts(&key.p, &key.q));
            assert_eq!(v.status, Status::Verified, "{}", v.verification);
        }
        // 2048-bit composite (one round) and 1024-bit-ish composite (two rounds) factors.
        let composite_large = &small.p * &small.q;
        let composite_small = &small.p * BigUint::from(65521u32);
        for (c, other) in [(&composite_large, &large.p), (&composite_small, &large.q)] {
            let v = verify(&parts(c, other));
            assert_eq!(v.status, Status::Corrupted, "{}", v.verification);
            assert_eq!(v.verification, "p·q = n but a factor is not prime");
        }
    }
}
