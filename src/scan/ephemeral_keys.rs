//! Key-agreement keys that only a handshake made. A TLS 1.3 client or server generates a fresh
//! X25519 key for every handshake (ECDHE) and OpenSSL keeps it in an `ECX_KEY` until the
//! connection's state is freed, so the dump of any process that spoke TLS holds some. They are
//! real private keys and the `raw-ed25519` detector proves them, but what one lets an
//! attacker do is decrypt the recorded traffic of the session it negotiated — the same as the
//! session's AES key, which is `medium`. No certificate, key file or public key names them:
//! that is what tells them from a long-term X25519 key (a WireGuard or `age` identity, a Noise
//! static key), whose public key is usually published and so seen in the dump or given in
//! `--known-keys`.
//!
//! Rule: a verified X25519 private key proven from a raw structure, whose fingerprint matches
//! no public key seen in the dump or in the inventory and no key found through an encoding
//! (PEM, DER, JWK, OpenSSH …), is labelled "likely an ephemeral key-exchange key" and set to
//! `medium`: reported, redacted from a copy like every proven key, and blocking under a policy
//! that blocks `medium` (as session keys do). Ed25519 keys sign; they are never lowered.

use crate::report::{Finding, Severity};
use std::collections::HashSet;

/// The label's first words (tests and policies may match on them).
pub const LABEL: &str = "likely an ephemeral key-exchange key";

/// Detectors that prove keys from raw structures, with no encoding around them.
const RAW_DETECTORS: &[&str] = &["raw-ed25519", "bigint", "raw-private-integer"];

/// Labels and lowers the ephemeral key-exchange keys among `findings`.
/// `public`: the fingerprints of every public key seen in the dump or the inventory
/// ([`crate::keys::fingerprint::public_fingerprints`]).
pub fn label(findings: &mut [Finding], public: &HashSet<String>) {
    // Keys found through an encoding are named by it.
    let encoded: HashSet<String> = findings
        .iter()
        .filter(|f| !RAW_DETECTORS.contains(&f.detector.as_str()))
        .filter_map(|f| f.fingerprint.clone())
        .collect();
    for f in findings.iter_mut() {
        let raw_x25519 = f.kind == "x25519-private-key"
            && f.verified
            && f.severity == Severity::Critical
            && f.known_key.is_none()
            && RAW_DETECTORS.contains(&f.detector.as_str());
        let unnamed = f
            .fingerprint
            .as_ref()
            .is_some_and(|fp| !public.contains(fp) && !encoded.contains(fp));
        if raw_x25519 && unnamed {
            f.severity = Severity::Medium;
            f.known_key = Some(format!(
                "{LABEL} (such as a TLS ECDHE key): no certificate, key file or public key \
                 names it; it decrypts the session it negotiated, like a session key"
            ));
        }
    }
}
