//! The key model shared by every key detector: what a key is, how sure we are of it, and its
//! fingerprint. Detectors decode bytes into a [`PrivateKey`]; [`verify`] proves (or fails to
//! prove) it; the verdict carries the DESIGN.md fingerprint.

pub mod aes;
pub mod containers;
pub mod decode;
mod dsa;
mod ec;
mod ec_base;
pub mod ec_forms;
mod edwards;
pub mod factor_scan;
pub mod fingerprint;
pub mod inventory;
pub mod known;
pub mod limbs;
pub mod moduli;
pub mod pubkey;
mod public_record;
pub mod residue;
mod rsa;
pub mod rsa_recover;
pub mod sexp;
#[cfg(test)]
pub(crate) mod testkeys;

pub use dsa::DsaParts;
pub use ec::Curve;
pub use public_record::PublicKeyRecord;
pub use rsa::RsaParts;
pub(crate) use rsa::MAX_INT_BYTES;

use serde::Serialize;

/// How far a key was proven (key-formats.md §12.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Internal consistency proves a real key (RSA p·q = n ..., EC d·G = Q, Ed25519 seed → pk).
    Verified,
    /// The private value is in range and the public key was computed from it, but nothing in
    /// the encoding confirms it (EC or Ed25519 without a stored public key).
    Derived,
    /// Well-formed private-key encoding that cannot be checked offline (encrypted keys).
    Encrypted,
    /// Well-formed private-key encoding whose numbers dumpguard does not (yet) check.
    Unverifiable,
    /// Well-formed structure, but the numbers do not agree: damaged or partial key material.
    Corrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Derived => "derived",
            Status::Encrypted => "encrypted",
            Status::Unverifiable => "unverifiable",
            Status::Corrupted => "corrupted",
        }
    }
}

/// Public facts about a key, safe to print.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct KeyInfo {
    pub algorithm: String,
    pub bits: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_exponent: Option<u64>,
    /// The container the key was wrapped in (PKCS#1, PKCS#8, SEC1 ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// A decoded private key, before verification. Holds secret material: never serialised,
/// never printed (no Debug).
#[derive(Clone)]
pub enum PrivateKey {
    Rsa(RsaParts),
    Ec {
        curve: Curve,
        d: Vec<u8>,
        /// SEC1-encoded public point, when the encoding carries one.
        public: Option<Vec<u8>>,
    },
    Ed25519 {
        seed: [u8; 32],
        public: Option<Vec<u8>>,
    },
    X25519 {
        scalar: [u8; 32],
        public: Option<Vec<u8>>,
    },
    Dsa(dsa::DsaParts),
    /// An encrypted container; `scheme` says how it is protected.
    Encrypted {
        scheme: String,
    },
    /// A well-formed private key of an algorithm or curve dumpguard cannot check (GOST,
    /// Ed448, P-224 ...): reported, unverified.
    Unsupported {
        algorithm: String,
    },
}

/// The outcome of verification.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub status: Status,
    /// What was proven (or what failed), in words.
    pub verification: String,
    pub key: KeyInfo,
    /// DER SubjectPublicKeyInfo of the (proven or derived) public key.
    pub spki: Option<Vec<u8>>,
    /// The proven key itself, kept in memory only (see [`Material`]).
    pub material: Option<Material>,
}

/// The private key a verdict proved, carried in process memory from the detector that
/// decoded it to the gate's redaction, whatever encoding it was found in (CNG blob, JWK,
/// OpenSSH, PuTTY, PGP, PKCS#12 ...). Redaction needs the private integers to remove every
/// other copy of them (hex, limbs, base64 of the DER, fragments); re-decoding the finding's
/// bytes only works for DER/PEM/base64. Never serialised (findings skip it) and never
/// printed: its `Debug` says only that it is there.
#[derive(Clone)]
pub struct Material(std::sync::Arc<PrivateKey>);

impl Material {
    /// The proven key.
    pub fn key(&self) -> &PrivateKey {
        &self.0
    }
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Material(<redacted>)")
    }
}

/// Attaches the key to a verdict that proved (or derived) it; other verdicts carry nothing.
pub(crate) fn with_material(mut v: Verdict, key: impl FnOnce() -> PrivateKey) -> Verdict {
    if matches!(v.status, Status::Verified | Status::Derived) {
        v.material = Some(Material(std::sync::Arc::new(key())));
    }
    v
}

impl Verdict {
    /// `sha256:<hex>` of the SPKI, as `openssl pkey -pubout -outform DER | sha256sum` prints.
    pub fn fingerprint(&self) -> Option<String> {
        self.spki.as_deref().map(fingerprint::sha256_fingerprint)
    }

    /// The kind string used in reports: `rsa-private-key`, `ec-private-key` ...
    pub fn kind(&self) -> String {
        let a = &self.key.algorithm;
        let slug_ok = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric());
        if slug_ok {
            format!("{}-private-key", a.to_ascii_lowercase())
        } else {
            "private-key".into()
        }
    }
}

/// Proves what can be proven about a decoded key.
pub fn verify(key: &PrivateKey) -> Verdict {
    match key {
        PrivateKey::Rsa(parts) => rsa::verify(parts),
        PrivateKey::Ec { curve, d, public } => ec::verify(*curve, d, public.as_deref()),
        PrivateKey::Ed25519 { seed, public } => edwards::verify_ed25519(seed, public.as_deref()),
        PrivateKey::X25519 { scalar, public } => edwards::verify_x25519(scalar, public.as_deref()),
        PrivateKey::Dsa(parts) => dsa::verify(parts),
        PrivateKey::Unsupported { algorithm } => Verdict {
            material: None,
            status: Status::Unverifiable,
            verification: format!(
                "well-formed {algorithm} private key; this algorithm is not verified by dumpguard"
            ),
            key: KeyInfo {
                algorithm: algorithm.clone(),
                ..Default::default()
            },
            spki: None,
        },
        PrivateKey::Encrypted { scheme } => Verdict {
            material: None,
            status: Status::Encrypted,
            verification: format!(
                "encrypted private key ({scheme}); cannot be verified without the password"
            ),
            key: KeyInfo {
                algorithm: "encrypted".into(),
                ..Default::default()
            },
            spki: None,
        },
    }
}
