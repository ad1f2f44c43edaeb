//! Ed25519 and X25519 (key-formats.md §12.4): the public key is a function of the private
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
            status: Status::Verified,
            verification: format!("{alg} private key → stored public key matches"),
            key,
            spki,
        },
        Some(_) => Verdict {
            status: Status::Corrupted,
            verification: format!("{alg} stored public key does not match the private key"),
            key,
            spki: None,
        },
        None => Verdict {
            status: Status::Derived,
            verification: format!(
                "{alg} public key derived from the private key (no stored public key to confirm)"
            ),
            key,
            spki,
        },
    }
}

pub fn verify_ed25519(seed: &[u8; 32], stored: Option<&[u8]>) -> Verdict {
    let pk = ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes();
    verdict("Ed25519", pk, stored, fingerprint::ed25519_spki(&pk))
}

pub fn verify_x25519(scalar: &[u8; 32], stored: Option<&[u8]>) -> Verdict {
    let secret = x25519_dalek::StaticSecret::from(*scalar);
    let pk = x25519_dalek::PublicKey::from(&secret).to_bytes();
    verdict("X25519", pk, stored, fingerprint::x25519_spki(&pk))
}
