//! Offline validators: what can be proven about a token from its own bytes (and the text
//! around it), without a network. Each validator is named in rule files (`validator = "jwt"`)
//! and either rejects a candidate (it is not what the rule claims: a checksum fails, a JWT
//! header is not JSON, a password is a placeholder) or describes it.
//!
//! A validator never puts secret material into its assessment: attributes and previews hold
//! structure (algorithm, issuer, expiry, account id, user and host names), never the secret.

mod aws;
mod azure;
mod base62;
mod gcp;
mod github;
mod http;
mod jwt;
mod kerberos;
pub mod marvin;
mod ntlm;
mod password;

use crate::report::Severity;
use regex::bytes::Captures;
use std::collections::BTreeMap;
use std::ops::Range;

/// What a validator sees: the text window the rule matched in (ASCII bytes, or UTF-16LE
/// transcoded to UTF-8), the match and where the secret is in it.
pub struct Candidate<'a> {
    pub text: &'a [u8],
    pub caps: &'a Captures<'a>,
    /// The whole match, in `text`.
    pub whole: Range<usize>,
    /// The secret, in `text`.
    pub secret: Range<usize>,
    /// Seconds since the Unix epoch, for expiry checks.
    pub now: i64,
}

impl<'a> Candidate<'a> {
    pub fn secret(&self) -> &'a [u8] {
        &self.text[self.secret.clone()]
    }

    pub fn whole(&self) -> &'a [u8] {
        &self.text[self.whole.clone()]
    }

    /// A named capture group, when it took part in the match.
    pub fn group(&self, name: &str) -> Option<&'a [u8]> {
        self.caps.name(name).map(|m| &self.text[m.range()])
    }

    /// Text around the match (up to `n` characters each side), for context lookups such as
    /// the account name of a connection string or the access key id next to a secret key.
    pub fn around(&self, n: usize) -> &'a [u8] {
        let lo = self.whole.start.saturating_sub(n);
        let hi = self.whole.end.saturating_add(n).min(self.text.len());
        &self.text[lo..hi]
    }
}

/// What a validator established.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    /// An offline check passed (checksum, structure decode).
    pub verified: bool,
    /// What was checked, in words.
    pub verification: String,
    /// Overrides the rule's severity (an expired token is less urgent).
    pub severity: Option<Severity>,
    /// Replaces the default preview; must not contain the secret.
    pub preview: Option<String>,
    /// Non-secret facts (`alg`, `iss`, `exp`, `account_id` ...).
    pub attributes: BTreeMap<String, String>,
    /// Moves or narrows the secret span in the text (quotes stripped, a DER TLV's full length).
    pub secret: Option<Range<usize>>,
    /// Bytes fingerprinted instead of the secret text (a Kerberos message's DER, so its binary
    /// and base64 forms get one fingerprint).
    pub fingerprint_material: Option<Vec<u8>>,
}

impl Assessment {
    pub fn verified(words: impl Into<String>) -> Assessment {
        Assessment {
            verified: true,
            verification: words.into(),
            ..Default::default()
        }
    }

    pub fn unverified(words: impl Into<String>) -> Assessment {
        Assessment {
            verified: false,
            verification: words.into(),
            ..Default::default()
        }
    }

    pub fn attr(mut self, k: &str, v: impl Into<String>) -> Assessment {
        self.attributes.insert(k.into(), v.into());
        self
    }

    pub fn severity(mut self, s: Severity) -> Assessment {
        self.severity = Some(s);
        self
    }

    pub fn preview(mut self, p: impl Into<String>) -> Assessment {
        self.preview = Some(p.into());
        self
    }
}

/// A validator: `None` rejects the candidate.
pub type Validator = fn(&Candidate<'_>) -> Option<Assessment>;

/// Every validator, by the name rule files use.
pub const VALIDATORS: &[(&str, Validator)] = &[
    ("jwt", jwt::validate),
    ("crc32-base62", github::validate),
    ("aws-access-key-id", aws::validate_key_id),
    ("aws-secret-access-key", aws::validate_secret),
    ("azure-account-key", azure::validate_account_key),
    ("azure-identifiable-key", azure::validate_identifiable),
    ("azure-sas", azure::validate_sas),
    ("azure-shared-access-key", azure::validate_shared_access_key),
    ("azure-ad-client-secret", azure::validate_aad_client_secret),
    ("gcp-service-account", gcp::validate),
    ("bearer", http::validate_bearer),
    ("basic-auth", http::validate_basic),
    ("password", password::validate),
    ("ntlm-pwdump", ntlm::validate_pwdump),
    ("netntlmv2", ntlm::validate_netntlmv2),
    ("kerberos-der", kerberos::validate_der),
    ("kerberos-base64", kerberos::validate_base64),
];

pub fn lookup(name: &str) -> Option<Validator> {
    VALIDATORS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// Makes a value from the dump safe and short enough to show: printable ASCII only, at most
/// `max` characters.
pub fn clean(v: &[u8], max: usize) -> String {
    let s: String = String::from_utf8_lossy(v)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// Formats Unix seconds as RFC 3339 (UTC); `None` when out of range.
pub fn rfc3339(secs: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Decodes base64 in any of the common alphabets, padding optional.
pub fn base64_any(s: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::{
        general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig,
    };
    use base64::Engine;
    const CFG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CFG);
    const URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CFG);
    if s.iter().any(|&c| c == b'-' || c == b'_') {
        URL.decode(s).ok()
    } else {
        STD.decode(s).ok()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs a validator on a text the way the matcher would.
    use super::*;
    use regex::bytes::Regex;

    pub fn run(v: Validator, pattern: &str, text: &str) -> Option<Assessment> {
        let re = Regex::new(pattern).unwrap();
        let caps = re.captures(text.as_bytes())?;
        let whole = caps.get(0).unwrap().range();
        let secret = caps
            .name("secret")
            .or_else(|| caps.get(1))
            .unwrap_or(caps.get(0).unwrap())
            .range();
        let c = Candidate {
            text: text.as_bytes(),
            caps: &caps,
            whole,
            secret,
            now: 1_800_000_000, // 2027-01-15
        };
        v(&c)
    }
}
