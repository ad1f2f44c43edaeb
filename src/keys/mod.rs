//! The key model shared by every key detector: what a key is, how sure we are of it, and its
//! fingerprint. Detectors decode bytes into a [`PrivateKey`]; [`verify`] proves (or fails to
//! prove) it; the verdict carries the docs/design.md fingerprint.

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
pub(crate) mod memo;
pub mod moduli;
mod monty;
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

use serde::{Deserialize, Serialize};

/// How far a key was proven (docs/key-formats.md §12.1).
///
/// A finding's `status` member is this type: it serialises to the lowercase word the report
/// schema lists (`verified`, `derived` ...) and reads back from it. Token findings use
/// `Verified` (a validator proved the token well-formed and consistent) or `Unverifiable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// Every status, for parsers and tests that must cover them all.
    pub const ALL: [Status; 5] = [
        Status::Verified,
        Status::Derived,
        Status::Encrypted,
        Status::Unverifiable,
        Status::Corrupted,
    ];

    /// The report's word for this status.
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

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads the report's word (`verified` ...), as stored reports and the sweep's database hold it.
impl std::str::FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Status, UnknownStatus> {
        Status::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// A status word that is none of [`Status::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status '{0}' (verified, derived, encrypted, unverifiable, corrupted)")]
pub struct UnknownStatus(pub String);

impl PartialEq<&str> for Status {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Status {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

/// In the published schemas a status is a string, as it was before it was typed.
impl schemars::JsonSchema for Status {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Status".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(g)
    }
}

/// Public facts about a key, safe to print.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct KeyInfo {
    pub algorithm: String,
    pub bits: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_exponent: Option<u64>,
    /// The container the key was wrapped in (PKCS#1, PKCS#8, SEC1 ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// A decoded private key, before verification. Holds secret material: never serialised,
/// never printed (no Debug).
#[derive(Clone)]
pub enum PrivateKey {
    /// An RSA key (any subset of its integers; verification says which sufficed).
    Rsa(RsaParts),
    /// An elliptic-curve key on a named curve.
    Ec {
        /// The curve.
        curve: Curve,
        /// The private scalar, big-endian.
        d: Vec<u8>,
        /// SEC1-encoded public point, when the encoding carries one.
        public: Option<Vec<u8>>,
    },
    /// An Ed25519 key (RFC 8032).
    Ed25519 {
        /// The 32-byte seed the signing key is derived from.
        seed: [u8; 32],
        /// The stored public key, when the encoding carries one: what proves the seed.
        public: Option<Vec<u8>>,
    },
    /// An X25519 key (RFC 7748).
    X25519 {
        /// The 32-byte private scalar.
        scalar: [u8; 32],
        /// The stored public key, when the encoding carries one.
        public: Option<Vec<u8>>,
    },
    /// A DSA key.
    Dsa(dsa::DsaParts),
    /// An encrypted container; `scheme` says how it is protected.
    Encrypted {
        /// The encryption scheme (`PBES2`, `aes256-ctr/bcrypt` ...), for the report.
        scheme: String,
    },
    /// A well-formed private key of an algorithm or curve dumpguard cannot check (GOST,
    /// Ed448, P-224 ...): reported, unverified.
    Unsupported {
        /// The algorithm's name or OID, for the report.
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
