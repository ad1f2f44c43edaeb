//! Elliptic-curve verification (docs/key-formats.md §12.4): d must lie in [1, n−1]; d·G is
//! computed and compared with the stored public point when there is one.

use super::{KeyInfo, Status, Verdict};
use der::asn1::ObjectIdentifier;

/// Curves dumpguard verifies (the ones real keys in memory use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
}

impl Curve {
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Curve> {
        match oid.to_string().as_str() {
            "1.2.840.10045.3.1.7" => Some(Curve::P256),
            "1.3.132.0.34" => Some(Curve::P384),
            "1.3.132.0.35" => Some(Curve::P521),
            "1.3.132.0.10" => Some(Curve::Secp256k1),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
            Curve::Secp256k1 => "secp256k1",
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            Curve::P256 | Curve::Secp256k1 => 256,
            Curve::P384 => 384,
            Curve::P521 => 521,
        }
    }

    /// Byte length of a scalar / field element.
    pub fn scalar_len(self) -> usize {
        (self.bits() as usize).div_ceil(8)
    }
}

/// (uncompressed public point, SPKI DER) for d on a curve, or None if d is out of range.
fn derive(curve: Curve, d: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::EncodePublicKey;
    macro_rules! on {
        ($c:ident) => {{
            let sk = $c::SecretKey::from_slice(d).ok()?;
            let pk = sk.public_key();
            let point = pk.to_encoded_point(false).as_bytes().to_vec();
            let spki = pk.to_public_key_der().ok()?.as_bytes().to_vec();
            Some((point, spki))
        }};
    }
    match curve {
        Curve::P256 => on!(p256),
        Curve::P384 => on!(p384),
        Curve::P521 => on!(p521),
        Curve::Secp256k1 => on!(k256),
    }
}

/// Normalises a SEC1 point (compressed or not) to its uncompressed form.
fn uncompressed(curve: Curve, q: &[u8]) -> Option<Vec<u8>> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    macro_rules! on {
        ($c:ident) => {{
            let pk = $c::PublicKey::from_sec1_bytes(q).ok()?;
            Some(pk.to_encoded_point(false).as_bytes().to_vec())
        }};
    }
    match curve {
        Curve::P256 => on!(p256),
        Curve::P384 => on!(p384),
        Curve::P521 => on!(p521),
        Curve::Secp256k1 => on!(k256),
    }
}

/// Verifies an EC scalar; a proven key carries it (see [`super::Material`]).
pub fn verify(curve: Curve, d: &[u8], public: Option<&[u8]>) -> Verdict {
    super::with_material(verify_scalar(curve, d, public), || super::PrivateKey::Ec {
        curve,
        d: d.to_vec(),
        public: public.map(<[u8]>::to_vec),
    })
}

fn verify_scalar(curve: Curve, d: &[u8], public: Option<&[u8]>) -> Verdict {
    let key = KeyInfo {
        algorithm: "EC".into(),
        bits: curve.bits(),
        curve: Some(curve.name().into()),
        ..Default::default()
    };
    let fail = |why: &str| Verdict {
        material: None,
        status: Status::Corrupted,
        verification: why.into(),
        key: key.clone(),
        spki: None,
    };
    if d.len() > curve.scalar_len() + 1 {
        return fail("private scalar longer than the curve order");
    }
    let Some((point, spki)) = derive(curve, d) else {
        return fail("private scalar out of range [1, n−1]");
    };
    match public {
        Some(q) => match uncompressed(curve, q) {
            Some(q) if q == point => Verdict {
                material: None,
                status: Status::Verified,
                verification: format!("d·G = Q on {} (stored public point matches)", curve.name()),
                key,
                spki: Some(spki),
            },
            Some(_) => fail("d·G ≠ Q: damaged or inconsistent EC key"),
            None => fail("stored public point is not on the curve"),
        },
        None => Verdict {
            material: None,
            status: Status::Derived,
            verification: format!(
                "scalar in range on {}; public key Q = d·G derived (no stored Q to confirm)",
                curve.name()
            ),
            key,
            spki: Some(spki),
        },
    }
}
