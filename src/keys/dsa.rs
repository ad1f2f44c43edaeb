//! DSA verification (docs/key-formats.md §12.5): y = g^x mod p, 1 < x < q, q | p − 1.

use super::{fingerprint, KeyInfo, Status, Verdict};
use num_bigint_dig::BigUint;
use num_traits::{One, Zero};

#[derive(Clone)]
pub struct DsaParts {
    pub p: BigUint,
    pub q: BigUint,
    pub g: BigUint,
    pub x: BigUint,
    pub y: Option<BigUint>,
    pub format: String,
}

const MAX_P_BITS: usize = 16384;

/// Verifies DSA parts; a proven key carries them (see [`super::Material`]).
pub fn verify(k: &DsaParts) -> Verdict {
    super::with_material(verify_parts(k), || super::PrivateKey::Dsa(k.clone()))
}

fn verify_parts(k: &DsaParts) -> Verdict {
    let key = KeyInfo {
        algorithm: "DSA".into(),
        bits: k.p.bits() as u32,
        format: Some(k.format.clone()),
        ..Default::default()
    };
    let fail = |why: &str| Verdict {
        material: None,
        status: Status::Corrupted,
        verification: why.into(),
        key: key.clone(),
        spki: None,
    };
    let one = BigUint::one();
    if k.p.bits() > MAX_P_BITS || k.q.is_zero() || k.p <= one || k.q.bits() > k.p.bits() {
        return fail("DSA parameters of implausible size");
    }
    if !((&k.p - &one) % &k.q).is_zero() {
        return fail("q does not divide p − 1");
    }
    if k.x <= one || k.x >= k.q {
        return fail("private value x out of range (1, q)");
    }
    let y = k.g.modpow(&k.x, &k.p);
    let spki = fingerprint::dsa_spki(
        &k.p.to_bytes_be(),
        &k.q.to_bytes_be(),
        &k.g.to_bytes_be(),
        &y.to_bytes_be(),
    );
    match &k.y {
        Some(stored) if *stored == y => Verdict {
            material: None,
            status: Status::Verified,
            verification: "y = g^x mod p, q | p − 1, 1 < x < q".into(),
            key,
            spki,
        },
        Some(_) => fail("y ≠ g^x mod p: damaged or inconsistent DSA key"),
        None => Verdict {
            material: None,
            status: Status::Derived,
            verification: "x in range; public value y = g^x mod p derived".into(),
            key,
            spki,
        },
    }
}
