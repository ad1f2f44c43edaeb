//! Gate policy: what blocks, what is allowlisted (and why), the per-dump limits, whether raw
//! images and redaction are accepted. A TOML file (`rules/policy.toml` is the shipped default,
//! embedded in the binary). Unknown keys are rejected so a typo cannot silently weaken a
//! policy, and the digest of the exact file bytes goes into every decision record, so a
//! decision can later be tied to the policy that made it.

use crate::report::baseline::Baseline;
use crate::report::{Finding, Kind, Severity};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

/// The default policy shipped in the repository.
pub const DEFAULT_POLICY: &str = include_str!("../../rules/policy.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: u32,
    #[serde(default)]
    block: BlockSection,
    #[serde(default)]
    allow: Vec<AllowEntry>,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    input: InputSection,
    #[serde(default)]
    redact: RedactSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockSection {
    #[serde(default = "default_severities")]
    severities: Vec<String>,
    #[serde(default)]
    kinds: Vec<String>,
}

impl Default for BlockSection {
    fn default() -> Self {
        BlockSection {
            severities: default_severities(),
            kinds: Vec::new(),
        }
    }
}

fn default_severities() -> Vec<String> {
    vec!["critical".into(), "high".into()]
}

/// One allowlist entry: findings with this fingerprint do not block, and say why.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// `sha256:` (or `der-sha256:`) fingerprint of the finding to let pass.
    pub fingerprint: String,
    /// Why it may pass (a published test key, an accepted risk): printed with every decision.
    pub reason: String,
    /// Restricts the entry to findings of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    #[serde(default = "default_max_size")]
    max_size_bytes: u64,
    #[serde(default = "default_time_limit")]
    time_limit_seconds: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_size_bytes: default_max_size(),
            time_limit_seconds: default_time_limit(),
        }
    }
}

fn default_max_size() -> u64 {
    64 << 30
}

fn default_time_limit() -> u64 {
    3600
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InputSection {
    #[serde(default)]
    allow_raw: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedactSection {
    #[serde(default = "yes")]
    enabled: bool,
}

impl Default for RedactSection {
    fn default() -> Self {
        RedactSection { enabled: true }
    }
}

fn yes() -> bool {
    true
}

/// A parsed, validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Where it came from: a file path or `built-in default`.
    pub source: String,
    /// `sha256:` + hex SHA-256 of the policy file bytes.
    pub digest: String,
    /// Severities that block.
    pub block_severities: Vec<Severity>,
    /// Kinds that block whatever their severity.
    pub block_kinds: Vec<Kind>,
    /// Findings that may pass, by fingerprint, each with its reason.
    pub allow: Vec<AllowEntry>,
    /// Larger dumps are refused unscanned (BLOCK): the gate's time and memory stay bounded.
    pub max_size_bytes: u64,
    /// A scan running longer is cut short, which makes it incomplete (BLOCK).
    pub time_limit: Duration,
    /// Whether a file in no recognised format (scanned as raw bytes) may be ALLOWed.
    pub allow_raw: bool,
    /// Whether blocking findings may be redacted into an allowed copy.
    pub redaction: bool,
}

/// How the policy treats one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// It makes the dump BLOCK (or be redacted).
    Blocking,
    /// It would have blocked, but an allowlist entry says why it may pass.
    Suppressed(String),
    /// Below the policy threshold: reported, does not block.
    Allowed,
}

impl Disposition {
    /// The word the decision record and SARIF use for it (the allowlist reason goes apart).
    pub fn as_str(&self) -> &'static str {
        self.tag().as_str()
    }

    /// This disposition as the decision record stores it.
    pub fn tag(&self) -> FindingDisposition {
        match self {
            Disposition::Blocking => FindingDisposition::Blocking,
            Disposition::Suppressed(_) => FindingDisposition::Suppressed,
            Disposition::Allowed => FindingDisposition::BelowThreshold,
        }
    }
}

/// A finding's `disposition` in the decision record and the sweep's verdicts: [`Disposition`]
/// without the allowlist entry's reason, which the record keeps in its own `reason` member.
/// Serialises as `blocking`, `suppressed` or `below-threshold`, the words the record always had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingDisposition {
    /// The finding makes the dump BLOCK (or be redacted).
    Blocking,
    /// An allowlist entry or baseline lets it pass.
    Suppressed,
    /// Below the policy's threshold: reported, does not block.
    BelowThreshold,
}

impl FindingDisposition {
    /// The record's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingDisposition::Blocking => "blocking",
            FindingDisposition::Suppressed => "suppressed",
            FindingDisposition::BelowThreshold => "below-threshold",
        }
    }
}

impl std::fmt::Display for FindingDisposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// In the published schemas a disposition is a string, as it was before it was typed.
impl schemars::JsonSchema for FindingDisposition {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FindingDisposition".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(g)
    }
}

/// Why a policy was refused. The gate refuses to start on any of them (exit 2): a policy it
/// cannot read completely must not silently gate with defaults.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read (missing, not a regular file, over the size cap).
    #[error("policy {path}: {error}")]
    Read {
        /// The policy file.
        path: String,
        #[source]
        /// Why it could not be read.
        error: std::io::Error,
    },
    /// The bytes are not UTF-8.
    #[error("policy {policy}: not UTF-8 text")]
    NotText {
        /// The policy file.
        policy: String,
    },
    /// Not TOML, or a field of the wrong type or unknown name.
    #[error("policy {policy}: {error}")]
    Syntax {
        /// The policy file.
        policy: String,
        #[source]
        /// The parser's error, with line and column.
        error: Box<toml::de::Error>,
    },
    /// A policy version this dumpguard does not read.
    #[error("policy {policy}: unsupported version {version} (this dumpguard reads version 1)")]
    Version {
        /// The policy file.
        policy: String,
        /// The version it declares.
        version: u32,
    },
    /// A field holds a value outside what it accepts.
    #[error("policy {policy}: {field}: {problem}")]
    Invalid {
        /// The policy file.
        policy: String,
        /// The field, as the file names it (`[block].kinds`).
        field: String,
        /// What is wrong with its value.
        problem: Problem,
    },
}

/// What is wrong with a policy field's value ([`PolicyError::Invalid`]).
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// A severity that is none of the four.
    #[error(transparent)]
    Severity(#[from] crate::report::UnknownSeverity),
    /// A kind no finding can have.
    #[error(transparent)]
    Kind(#[from] UnknownKind),
    /// A time limit out of range.
    #[error(transparent)]
    TimeLimit(#[from] crate::scan::TimeLimitError),
    /// An allowlist entry without a reason: every exception must say why it was made.
    #[error("has no reason")]
    NoReason,
    /// An allowlist entry whose fingerprint is not one.
    #[error("'{0}' is not a fingerprint (sha256:<64 hex> or der-sha256:<64 hex>)")]
    NotFingerprint(String),
}

/// A finding kind named in a policy that no finding can have (a typo would silently not block).
#[derive(Debug, thiserror::Error)]
#[error("unknown finding kind '{kind}' (known kinds: {})", known.join(", "))]
pub struct UnknownKind {
    /// The kind given.
    pub kind: String,
    /// Every kind a finding can have, sorted.
    pub known: Vec<String>,
}

impl Policy {
    /// The built-in default policy.
    pub fn default_policy() -> Policy {
        Policy::parse(DEFAULT_POLICY.as_bytes(), "built-in default")
            .expect("the shipped policy parses (tested)")
    }

    /// Adds a baseline's keys to this policy's allowlist (each entry's reason names the
    /// baseline) and folds the baseline into the policy's source and digest: a decision record
    /// (or a sweep's state) then ties a verdict to the exact policy *and* baseline that made
    /// it. `by` names the baseline (`baseline FILE`). Used by `gate --baseline` and
    /// `sweep --baseline`, so both judge a baselined key the same way.
    pub fn fold_baseline(&mut self, baseline: &Baseline, by: &str) {
        use sha2::{Digest, Sha256};
        self.allow
            .extend(baseline.entries.iter().map(|e| AllowEntry {
                fingerprint: e.fingerprint.to_ascii_lowercase(),
                reason: format!("{by}: {}", e.reason),
                kind: None,
            }));
        self.source = format!("{} + {by}", self.source);
        let mut h = Sha256::new();
        h.update(self.digest.as_bytes());
        h.update(baseline.to_json().as_bytes());
        self.digest = format!("sha256:{}", hex::encode(h.finalize()));
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let bytes =
            crate::input::config_file::read_config(path).map_err(|e| PolicyError::Read {
                path: path.display().to_string(),
                error: e,
            })?;
        Policy::parse(&bytes, &path.display().to_string())
    }

    /// Parses and validates policy bytes. `source` names them in errors and records.
    pub fn parse(bytes: &[u8], source: &str) -> Result<Policy, PolicyError> {
        let invalid = |field: String, problem: Problem| PolicyError::Invalid {
            policy: source.to_string(),
            field,
            problem,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| PolicyError::NotText {
            policy: source.to_string(),
        })?;
        let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Syntax {
            policy: source.to_string(),
            error: Box::new(e),
        })?;
        if file.version != 1 {
            return Err(PolicyError::Version {
                policy: source.to_string(),
                version: file.version,
            });
        }
        let mut block_severities = Vec::new();
        for s in &file.block.severities {
            block_severities.push(
                s.parse::<Severity>()
                    .map_err(|e| invalid("[block].severities".into(), e.into()))?,
            );
        }
        for k in &file.block.kinds {
            check_kind(k).map_err(|e| invalid("[block].kinds".into(), e.into()))?;
        }
        crate::scan::check_time_limit(file.limits.time_limit_seconds)
            .map_err(|e| invalid("[limits].time_limit_seconds".into(), e.into()))?;
        for (i, a) in file.allow.iter().enumerate() {
            let entry = format!("allow entry {}", i + 1);
            if let Some(k) = &a.kind {
                check_kind(k.as_str()).map_err(|e| invalid(format!("{entry}: kind"), e.into()))?;
            }
            if a.reason.trim().is_empty() {
                return Err(invalid(
                    format!("{entry} ({})", a.fingerprint),
                    Problem::NoReason,
                ));
            }
            if !valid_fingerprint(&a.fingerprint) {
                return Err(invalid(
                    entry,
                    Problem::NotFingerprint(a.fingerprint.clone()),
                ));
            }
        }
        Ok(Policy {
            source: source.into(),
            digest: format!("sha256:{}", hex::encode(Sha256::digest(bytes))),
            block_severities,
            block_kinds: file.block.kinds.iter().map(|k| Kind::parse(k)).collect(),
            allow: file
                .allow
                .into_iter()
                .map(|mut a| {
                    a.fingerprint = a.fingerprint.to_ascii_lowercase();
                    a
                })
                .collect(),
            max_size_bytes: file.limits.max_size_bytes,
            time_limit: Duration::from_secs(file.limits.time_limit_seconds),
            allow_raw: file.input.allow_raw,
            redaction: file.redact.enabled,
        })
    }

    /// Whether this finding blocks, is allowlisted, or is below the threshold.
    pub fn classify(&self, f: &Finding) -> Disposition {
        let blocks =
            self.block_severities.contains(&f.severity) || self.block_kinds.contains(&f.kind);
        if !blocks {
            return Disposition::Allowed;
        }
        match self.allow_entry(f) {
            Some(a) => Disposition::Suppressed(a.reason.clone()),
            None => Disposition::Blocking,
        }
    }

    fn allow_entry(&self, f: &Finding) -> Option<&AllowEntry> {
        let der = f.content_hash.as_ref().map(|h| format!("der-{h}"));
        self.allow.iter().find(|a| {
            let fp_match = f.fingerprint.as_deref() == Some(a.fingerprint.as_str())
                || der.as_deref() == Some(a.fingerprint.as_str());
            fp_match && a.kind.as_ref().map_or(true, |k| k == &f.kind)
        })
    }
}

/// Finding kinds that do not come from a token rule: private keys are `<algorithm>-private-key`
/// (`private-key` when the algorithm has no slug), raw symmetric keys `symmetric-key`, AES key
/// schedules `aes-key`.
const DETECTOR_KINDS: &[&str] = &[
    "rsa-private-key",
    "ec-private-key",
    "dsa-private-key",
    "ed25519-private-key",
    "x25519-private-key",
    "encrypted-private-key",
    "private-key",
    "symmetric-key",
    "aes-key",
];

/// A kind named in a policy must be one a finding can have: a kind that matches nothing (a
/// typo such as `rsa-privat-key`) would silently not block (issue #12, part 7). Accepted: the
/// detector kinds, the kinds of the built-in token rules, and `<alphanumeric>-private-key`
/// (keys of algorithms proven by name only).
fn check_kind(k: &str) -> Result<(), UnknownKind> {
    if DETECTOR_KINDS.contains(&k) {
        return Ok(());
    }
    if let Some(alg) = k.strip_suffix("-private-key") {
        if !alg.is_empty()
            && alg
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Ok(());
        }
    }
    let rules = crate::rules::RuleSet::builtin(true);
    if rules.rules.iter().any(|r| r.spec.kind == k) {
        return Ok(());
    }
    let mut known: Vec<String> = DETECTOR_KINDS.iter().map(|k| k.to_string()).collect();
    known.extend(rules.rules.iter().map(|r| r.spec.kind.clone()));
    known.sort_unstable();
    known.dedup();
    Err(UnknownKind {
        kind: k.into(),
        known,
    })
}

fn valid_fingerprint(s: &str) -> bool {
    let hex = s
        .strip_prefix("sha256:")
        .or_else(|| s.strip_prefix("der-sha256:"));
    hex.is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_policy_parses_and_blocks_critical_and_high() {
        let p = Policy::default_policy();
        assert_eq!(p.block_severities, vec![Severity::Critical, Severity::High]);
        assert!(!p.allow_raw);
        assert!(p.redaction);
        assert!(p.allow.is_empty());
        assert!(p.digest.starts_with("sha256:") && p.digest.len() == 71);
    }

    #[test]
    fn typo_in_policy_is_an_error() {
        let e = Policy::parse(b"version = 1\n[block]\nseverity = [\"low\"]\n", "t").unwrap_err();
        assert!(matches!(e, PolicyError::Syntax { .. }), "{e}");
        assert!(e.to_string().contains("severity"), "{e}");
        assert!(matches!(
            Policy::parse(b"version = 1\nallow_raw = true\n", "t"),
            Err(PolicyError::Syntax { .. })
        ));
        assert!(matches!(
            Policy::parse(b"version = 2\n", "t"),
            Err(PolicyError::Version { version: 2, .. })
        ));
        assert!(matches!(
            Policy::parse(b"\xff", "t"),
            Err(PolicyError::NotText { .. })
        ));
        assert!(Policy::parse(b"", "t").is_err(), "version is required");
    }

    #[test]
    fn unknown_kind_and_time_limit_out_of_range_are_errors() {
        let e = Policy::parse(b"version = 1\n[block]\nkinds = [\"rsa-privat-key\"]\n", "t")
            .unwrap_err();
        assert!(
            matches!(&e, PolicyError::Invalid { field, problem: Problem::Kind(k), .. }
                if field == "[block].kinds" && k.kind == "rsa-privat-key"),
            "{e}"
        );
        for ok in ["jwt", "aes-key", "rsa-private-key", "github-token"] {
            let p = format!("version = 1\n[block]\nkinds = [\"{ok}\"]\n");
            assert!(Policy::parse(p.as_bytes(), "t").is_ok(), "{ok}");
        }
        for bad in ["18446744073709551615", "2592001"] {
            let p = format!("version = 1\n[limits]\ntime_limit_seconds = {bad}\n");
            let e = Policy::parse(p.as_bytes(), "t").unwrap_err();
            assert!(
                matches!(&e, PolicyError::Invalid { field, problem: Problem::TimeLimit(_), .. }
                    if field == "[limits].time_limit_seconds"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn allow_entry_needs_reason_and_fingerprint() {
        let fp = format!("sha256:{}", "ab".repeat(32));
        let no_reason = format!("version = 1\n[[allow]]\nfingerprint = \"{fp}\"\nreason = \" \"\n");
        assert!(matches!(
            Policy::parse(no_reason.as_bytes(), "t"),
            Err(PolicyError::Invalid {
                problem: Problem::NoReason,
                ..
            })
        ));
        let bad_fp = "version = 1\n[[allow]]\nfingerprint = \"abc\"\nreason = \"x\"\n";
        assert!(matches!(
            Policy::parse(bad_fp.as_bytes(), "t"),
            Err(PolicyError::Invalid { field, problem: Problem::NotFingerprint(_), .. })
                if field == "allow entry 1"
        ));
        let ok = format!("version = 1\n[[allow]]\nfingerprint = \"{fp}\"\nreason = \"test key\"\n");
        assert_eq!(Policy::parse(ok.as_bytes(), "t").unwrap().allow.len(), 1);
    }

    #[test]
    fn digest_is_sha256_of_bytes() {
        let p = Policy::parse(b"version = 1\n", "t").unwrap();
        assert_eq!(
            p.digest,
            format!("sha256:{}", hex::encode(Sha256::digest(b"version = 1\n")))
        );
    }
}
