//! SubjectPublicKeyInfo for public keys seen in a dump (CNG/CAPI public blobs, JWK, OpenSSH
//! public lines), so a [`crate::detect::PublicKeyRecord`] carries the same fingerprint a
//! private-key finding of that key would.

use super::Curve;

/// SPKI of an EC public point (SEC1, compressed or not), or None when the point is not on the
/// curve.
pub fn ec_spki(curve: Curve, point: &[u8]) -> Option<Vec<u8>> {
    use p256::pkcs8::EncodePublicKey;
    macro_rules! on {
        ($c:ident) => {{
            let pk = $c::PublicKey::from_sec1_bytes(point).ok()?;
            Some(pk.to_public_key_der().ok()?.as_bytes().to_vec())
        }};
    }
    match curve {
        Curve::P256 => on!(p256),
        Curve::P384 => on!(p384),
        Curve::P521 => on!(p521),
        Curve::Secp256k1 => on!(k256),
    }
}
