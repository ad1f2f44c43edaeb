//! Ed25519 and X25519 (docs/key-formats.md §12.4): the public key is a function of the private
//! one, so a stored public key confirms the pair; without one the public key is derived.

use super::{fingerprint, KeyInfo, Status, Verdict};

fn verdict(alg: &str, derived: [u8; 32], stored: Option<&[u8]>, spki: Option<Vec<u8>>) -> Verdict {
    let key = KeyInfo {
        algorithm: alg.into(),
        bits: 256,
        ..Default::default()
    };
    match stored {
        Some(pk) if pk == derived => Verdict {
            material: None,
            status: Status::Verified,
            verification: format!("{alg} private key → stored public key matches"),
            key,
            spki,
        },
        Some(_) => Verdict {
            material: None,
            status: Status::Corrupted,
            verification: format!("{alg} stored public key does not match the private key"),
            key,
            spki: None,
        },
        None => Verdict {
            material: None,
            status: Status::Derived,
            verification: format!(
                "{alg} public key derived from the private key (no stored public key to confirm)"
            ),
            key,
            spki,
        },
    }
}

/// Verifies an Ed25519 seed; a derived or proven key carries it (see [`super::Material`]).
pub fn verify_ed25519(seed: &[u8; 32], stored: Option<&[u8]>) -> Verdict {
    super::with_material(verify_ed25519_seed(seed, stored), || {
        super::PrivateKey::Ed25519 {
            seed: *seed,
            public: stored.map(<[u8]>::to_vec),
        }
    })
}

fn verify_ed25519_seed(seed: &[u8; 32], stored: Option<&[u8]>) -> Verdict {
    let pk = ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes();
    verdict("Ed25519", pk, stored, fingerprint::ed25519_spki(&pk))
}

/// Verifies an X25519 scalar; a derived or proven key carries it (see [`super::Material`]).
pub fn verify_x25519(scalar: &[u8; 32], stored: Option<&[u8]>) -> Verdict {
    super::with_material(verify_x25519_scalar(scalar, stored), || {
        super::PrivateKey::X25519 {
            scalar: *scalar,
            public: stored.map(<[u8]>::to_vec),
        }
    })
}

fn verify_x25519_scalar(scalar: &[u8; 32], stored: Option<&[u8]>) -> Verdict {
    let secret = x25519_dalek::StaticSecret::from(*scalar);
    let pk = x25519_dalek::PublicKey::from(&secret).to_bytes();
    verdict("X25519", pk, stored, fingerprint::x25519_spki(&pk))
}
