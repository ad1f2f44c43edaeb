//! The finding model (docs/design.md, report schema v1).

use super::kind::Kind;
use crate::input::Location;
use crate::keys::{KeyInfo, Status, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most locations listed for one merged token finding; `occurrences` keeps counting.
pub const MAX_LOCATIONS: usize = 100;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
/// How bad a finding is, by what it lets an attacker do (README "What blocks").
pub enum Severity {
    /// Context worth knowing, not a secret by itself.
    Low,
    /// A weak or expired secret, or a likely false positive.
    Medium,
    /// A secret that is usable but not proven (a well-formed key that could not be checked).
    High,
    /// A proven private key or a validated live credential.
    Critical,
}

/// In the published schemas a severity is one of its four words, as it was before its
/// variants were documented (documented variants would turn the schema's `enum` into `oneOf`).
impl schemars::JsonSchema for Severity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Severity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "enum": ["low", "medium", "high", "critical"] })
    }
}

/// `--fail-on high`, a policy's `block_at`: one parser for every place a severity is read, with
/// one error message naming the choices (clap uses it through `value_parser = Severity::from_str`).
impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Severity, UnknownSeverity> {
        Severity::parse(s).ok_or_else(|| UnknownSeverity { given: s.into() })
    }
}

/// A severity name that is none of the four: refused, never read as a default.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity '{given}' (low, medium, high, critical)")]
pub struct UnknownSeverity {
    /// The name given.
    pub given: String,
}

impl Severity {
    /// The severity as reports spell it (`critical` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Reads a severity, case-insensitively; `None` for anything else.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// One thing found in a dump. Holds no secret bytes: only fingerprints, sizes, locations and
/// a preview built from non-secret structure.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// `F1`, `F2` ... in file order, unique within the report.
    pub id: String,
    /// The detector that found it (`der`, `cng`, `rules/jwt` ...).
    pub detector: String,
    /// What it is (`rsa-private-key`, `aes-key`, `jwt` ...).
    pub kind: Kind,
    /// How bad it is; the exit code and the gate's default policy go by it.
    pub severity: Severity,
    /// Whether the secret was proven (`status` is `verified`).
    pub verified: bool,
    /// How far it was proven.
    pub status: Status,
    /// What was proven, in words (`p·q = n and e·d ≡ 1 mod λ(n)`).
    pub verification: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `sha256:` of the public key's DER SPKI (keys) or of the secret (symmetric keys,
    /// tokens); absent where no canonical form exists.
    pub fingerprint: Option<String>,
    /// How the secret was encoded where it was found (`der`, `pem-utf16le`, `cng-rsafullprivate` ...).
    pub encoding: String,
    /// File offset of the first byte.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Where the offset sits in the process: address, region, module, thread.
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Public facts about the key (algorithm, bits, curve, container).
    pub key: Option<KeyInfo>,
    /// A redacted description built from non-secret structure.
    pub preview: String,
    /// How many times this secret was seen (token findings merge repeats by fingerprint).
    /// Serialised only when more than one.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub occurrences: u64,
    /// Where it was seen, in file order (at most [`MAX_LOCATIONS`]); only when more than one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Occurrence>,
    /// For tokens and passwords: the rule and what its validator established.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenInfo>,
    /// Set when the key is a well-known published test key (or an inventory entry): what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_key: Option<String>,
    /// SHA-256 of the private key's exact encoded bytes: matches published test keys that
    /// have no SPKI fingerprint. Internal; never serialised.
    #[serde(skip)]
    pub content_hash: Option<String>,
    /// Set when a baseline accepted this finding: it is reported, but does not count towards
    /// the exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<super::baseline::Suppression>,
    /// The proven private key, in process memory only, for the gate's redaction and residue
    /// check (see `crate::keys::Material`). Never serialised, never printed.
    #[serde(skip)]
    pub material: Option<crate::keys::Material>,
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

/// A stored finding without `occurrences` was seen once.
fn one() -> u64 {
    1
}

/// Truncates sorted locations to [`MAX_LOCATIONS`], keeping the first location of every
/// encoding (so a redaction that removes exact copies of each listed form reaches them all).
fn keep_first_locations(v: &mut Vec<Occurrence>) {
    if v.len() <= MAX_LOCATIONS {
        return;
    }
    let mut firsts: Vec<Occurrence> = Vec::new();
    for o in v.iter() {
        if !firsts.iter().any(|f| f.encoding == o.encoding) {
            firsts.push(o.clone());
        }
    }
    v.truncate(MAX_LOCATIONS);
    for f in firsts {
        if !v.iter().any(|o| o.encoding == f.encoding) {
            v.pop();
            v.push(f);
        }
    }
    v.sort_by_key(|o| o.offset);
}

/// One place a repeated secret was seen.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Occurrence {
    /// File offset.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// The encoding there.
    pub encoding: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Where the offset sits in the process.
    pub location: Option<Location>,
}

/// What a token rule established: never the secret, only structure (`alg`, `iss`, `exp`,
/// `account_id`, user and host names ...).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenInfo {
    /// Rule id (`jwt`, `github-token` ...).
    pub rule: String,
    /// Rule name.
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    /// What the validator read from the token's structure (`alg`, `iss`, `exp` ...).
    pub attributes: BTreeMap<String, String>,
}

/// Severity of a key finding by how far it was proven. Verified private keys are critical;
/// well-formed private-key encodings that cannot be proven still block by default (high).
pub fn key_severity(status: Status) -> Severity {
    match status {
        Status::Verified => Severity::Critical,
        _ => Severity::High,
    }
}

impl Finding {
    /// A verified RSA key finding with fixed placement, for unit tests of what consumes
    /// findings (the sweep's state, its policy): one fixture instead of one per module.
    #[cfg(all(test, feature = "sweep"))]
    pub(crate) fn verified_rsa_for_test(
        id: &str,
        fingerprint: &str,
        severity: Severity,
    ) -> Finding {
        Finding {
            material: None,
            id: id.into(),
            detector: "der".into(),
            kind: Kind::private_key("RSA"),
            severity,
            verified: true,
            status: Status::Verified,
            verification: "test".into(),
            fingerprint: Some(fingerprint.into()),
            encoding: "der".into(),
            offset: 16,
            length: 1190,
            location: None,
            key: None,
            preview: "[redacted]".into(),
            known_key: None,
            content_hash: None,
            occurrences: 1,
            locations: Vec::new(),
            token: None,
            suppressed: None,
        }
    }

    /// A finding for a private key, from its verification verdict.
    pub fn key(
        detector: &str,
        encoding: impl Into<String>,
        offset: u64,
        length: u64,
        v: &Verdict,
        preview: String,
    ) -> Finding {
        Finding {
            id: String::new(),
            detector: detector.into(),
            kind: Kind::private_key(&v.key.algorithm),
            severity: key_severity(v.status),
            verified: v.status == Status::Verified,
            status: v.status,
            verification: v.verification.clone(),
            fingerprint: v.fingerprint(),
            encoding: encoding.into(),
            offset,
            length,
            location: None,
            key: Some(v.key.clone()),
            preview,
            occurrences: 1,
            locations: Vec::new(),
            token: None,
            known_key: None,
            content_hash: None,
            suppressed: None,
            material: v.material.clone(),
        }
    }

    fn own_occurrence(&self) -> Occurrence {
        Occurrence {
            offset: self.offset,
            length: self.length,
            encoding: self.encoding.clone(),
            location: self.location.clone(),
        }
    }

    /// Rank of a finding among those describing one secret: the most proven, then the most
    /// severe, describes it (a JWT sent as a bearer token is reported as the JWT).
    fn rank(&self) -> (bool, Severity) {
        (self.verified, self.severity)
    }

    /// Folds `other`, a finding of the same secret (same fingerprint), into this one: the
    /// occurrence count adds up (an occurrence already listed is not counted twice), the
    /// locations stay in file order and bounded, and the better-proven description wins.
    /// The finding's own offset, length and encoding are those of its first occurrence.
    pub fn absorb(&mut self, other: Finding) {
        let mut mine = std::mem::take(&mut self.locations);
        if mine.is_empty() {
            mine.push(self.own_occurrence());
        }
        let theirs = if other.locations.is_empty() {
            vec![other.own_occurrence()]
        } else {
            other.locations.clone()
        };
        let mut count = self.occurrences + other.occurrences;
        for o in theirs {
            if mine
                .iter()
                .any(|m| m.offset == o.offset && m.encoding == o.encoding)
            {
                count -= 1;
            } else {
                mine.push(o);
            }
        }
        mine.sort_by_key(|o| o.offset);
        keep_first_locations(&mut mine);
        if other.rank() > self.rank() {
            self.detector = other.detector;
            self.kind = other.kind;
            self.severity = other.severity;
            self.verified = other.verified;
            self.status = other.status;
            self.verification = other.verification;
            self.preview = other.preview;
            self.token = other.token;
        }
        let first = &mine[0];
        self.offset = first.offset;
        self.length = first.length;
        self.encoding = first.encoding.clone();
        self.occurrences = count.max(1);
        self.locations = if self.occurrences > 1 {
            mine
        } else {
            Vec::new()
        };
    }

    /// File offset one past the finding's last byte.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}
