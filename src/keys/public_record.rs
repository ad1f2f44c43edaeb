//! The record of a public key, wherever it came from: the key model that detectors fill and
//! that the inventory, the moduli table and fingerprints read.

/// A public key seen in the dump (certificate, SPKI, JWK, CNG public blob ...) or supplied in
/// the inventory. Public keys are never findings; they pair with private material (a modulus
/// lets a lone prime factor prove a key) and give findings an identity.
#[derive(Debug, Clone, Default)]
pub struct PublicKeyRecord {
    /// `RSA`, `EC`, `Ed25519` ...
    pub algorithm: String,
    /// DER SubjectPublicKeyInfo; its SHA-256 is the key fingerprint.
    pub spki: Vec<u8>,
    /// RSA modulus, big-endian, when RSA.
    pub modulus: Option<Vec<u8>>,
    /// RSA public exponent, big-endian, when RSA.
    pub exponent: Option<Vec<u8>>,
    /// EC/EdDSA public point or key bytes, when EC.
    pub point: Option<Vec<u8>>,
    /// File offset where it was seen (None for inventory entries).
    pub offset: Option<u64>,
    /// Where it came from: "certificate CN=...", "inventory keys/signing.pem", "kid=...".
    pub source: String,
}
