//! The finding model (DESIGN.md, report schema v1).

use crate::input::Location;
use crate::keys::{KeyInfo, Status, Verdict};
use serde::Serialize;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

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
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: String,
    pub detector: String,
    pub kind: String,
    pub severity: Severity,
    pub verified: bool,
    pub status: String,
    pub verification: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub encoding: String,
    pub offset: u64,
    pub length: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyInfo>,
    pub preview: String,
    /// Set when the key is a well-known published test key (or an inventory entry): what it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_key: Option<String>,
    /// SHA-256 of the private key's exact encoded bytes: matches published test keys that
    /// have no SPKI fingerprint. Internal; never serialised.
    #[serde(skip)]
    pub content_hash: Option<String>,
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
            kind: v.kind(),
            severity: key_severity(v.status),
            verified: v.status == Status::Verified,
            status: v.status.as_str().into(),
            verification: v.verification.clone(),
            fingerprint: v.fingerprint(),
            encoding: encoding.into(),
            offset,
            length,
            location: None,
            key: Some(v.key.clone()),
            preview,
            known_key: None,
            content_hash: None,
        }
    }

    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}
