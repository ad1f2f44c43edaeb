//! Well-known published test keys. Some widely installed software embeds private keys for
//! self-tests (GnuTLS's FIPS power-on tests, for one), so every process that maps such a
//! library carries them. They are real keys but not secrets: reporting them as critical would
//! make every dump of such a process block. They are still reported — at low severity and
//! labelled — so nothing is silently dropped, and a policy can still choose to block them.
//!
//! The list (`rules/known-test-keys.txt`) holds SPKI fingerprints (`sha256:`) and, for keys
//! without one (algorithms dumpguard cannot verify), the SHA-256 of the key's DER
//! (`der-sha256:`). None of it is secret.

use std::collections::HashMap;
use std::sync::OnceLock;

const LIST: &str = include_str!("../../rules/known-test-keys.txt");

fn table() -> &'static HashMap<&'static str, &'static str> {
    static T: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    T.get_or_init(|| {
        LIST.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(char::is_whitespace))
            .map(|(k, v)| (k, v.trim()))
            .collect()
    })
}

/// The label of a published test key with this fingerprint or DER hash.
pub fn lookup(fingerprint: Option<&str>, content_hash: Option<&str>) -> Option<&'static str> {
    let t = table();
    fingerprint
        .and_then(|f| t.get(f))
        .or_else(|| content_hash.and_then(|h| t.get(format!("der-{h}").as_str())))
        .copied()
}

/// Whether this SPKI fingerprint (`sha256:…`) is a listed published test key. An RSA entry is
/// listed only after both its primes passed the full primality check (see the list's header),
/// which `rsa::verify` relies on.
pub fn is_listed(fingerprint: &str) -> bool {
    fingerprint.starts_with("sha256:") && table().contains_key(fingerprint)
}
