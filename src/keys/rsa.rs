//! RSA verification (key-formats.md §12.2): p·q = n decides; then primality, e·d ≡ 1 mod
//! λ(n) (accepting d mod φ as CNG exports it), and the CRT values, tolerating swapped p/q.

use super::{fingerprint, KeyInfo, Status, Verdict};
use num_bigint_dig::{prime::probably_prime, BigUint};
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};

/// The numbers of an RSA private key. Any of them may be missing in a partial structure.
#[derive(Default, Clone)]
pub struct RsaParts {
    pub n: Option<BigUint>,
    pub e: Option<BigUint>,
    pub d: Option<BigUint>,
    pub p: Option<BigUint>,
    pub q: Option<BigUint>,
    pub dp: Option<BigUint>,
    pub dq: Option<BigUint>,
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

/// Miller–Rabin rounds. p·q = n already ties the factors to the modulus; primality only rules
/// out a crafted composite factorisation, for which 2^-16 per structure is ample.
const MR_ROUNDS: usize = 8;
/// Refuse to do arithmetic on absurd sizes (hostile input): RSA-16384 is the largest seen.
const MAX_BITS: usize = 16384 + 64;

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
        status: Status::Corrupted,
        verification: why.into(),
        key: info(parts, parts.n.as_ref()),
        spki: None,
    }
}

pub fn verify(parts: &RsaParts) -> Verdict {
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
    if *p <= one || *q <= one || !probably_prime(p, MR_ROUNDS) || !probably_prime(q, MR_ROUNDS) {
        return corrupted(parts, "p·q = n but a factor is not prime");
    }
    let e = parts.e.clone().unwrap_or_else(|| BigUint::from(65537u32));
    let (p1, q1) = (p - &one, q - &one);
    let lambda = p1.lcm(&q1);
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
    Verdict {
        status: Status::Verified,
        verification: proven.join(", "),
        key: info(parts, Some(&n)),
        spki,
    }
}
