//! Detectors: small units with one job each. A detector declares literal *anchors*; the scan
//! engine finds every anchor in one multi-pattern pass (aho-corasick) and calls the detector
//! at each hit with the whole dump in reach, so decoding may look before and after the hit.
//! Adding a detector = one file here + one line in [`registry`].

mod aes_schedule;
pub mod align;
mod base64_key;
mod bigint;
pub mod binary;
mod capi;
mod cng;
mod der_key;
mod dotnet_xml;
mod encoded;
mod gcrypt_sexp;
mod jwk;
mod openssh;
mod openssl_text;
mod partial_rsa;
mod pem;
mod pgp;
mod pkcs12;
mod public_keys;
mod putty;
mod raw_private;
mod rsa_factor;
pub mod rules;
mod ssh_agent;
pub mod ssh_wire;
mod symcrypt;
pub mod symmetric;
pub mod text;
mod verdict_cache;

use crate::input::{AddressSpace, Region};
use crate::report::Finding;

/// A literal byte pattern a detector wants to be called for.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub bytes: Vec<u8>,
    /// Detector-private tag passed back on a hit.
    pub tag: u32,
}

/// Everything a detector may read: the whole dump, its attribution data, and the known-key
/// inventory supplied by the user.
pub struct ScanContext<'a> {
    pub data: &'a [u8],
    pub regions: &'a [Region],
    pub space: &'a AddressSpace,
    /// Public keys the user told us about (`--known-keys`); empty when none.
    pub inventory: &'a [PublicKeyRecord],
    /// The mapped file behind `data`, when there is one: a whole-dump pass after the main one
    /// (the factor search) hands its pages back with [`ScanContext::release`] so peak memory
    /// stays flat, as the main pass does.
    pub pages: Option<&'a crate::input::DumpBytes<'a>>,
}

impl ScanContext<'_> {
    /// Done with `[start, end)` of `data` for now (see [`crate::input::DumpBytes::release`]).
    pub fn release(&self, start: usize, end: usize) {
        if let Some(p) = self.pages {
            p.release(start, end);
        }
    }
}

/// A public key seen in the dump (certificate, SPKI, JWK, CNG public blob ...) or supplied in
/// the inventory. Public keys are never findings; they pair with private material (a modulus
/// lets a lone prime factor prove a key) and give findings an identity.
#[derive(Debug, Clone, Default)]
pub struct PublicKeyRecord {
    /// `RSA`, `EC`, `Ed25519` ...
    pub algorithm: String,
    /// DER SubjectPublicKeyInfo; its SHA-256 is the key fingerprint.
    pub spki: Vec<u8>,
    /// RSA modulus, big-endian, when RSA.
    pub modulus: Option<Vec<u8>>,
    /// RSA public exponent, big-endian, when RSA.
    pub exponent: Option<Vec<u8>>,
    /// EC/EdDSA public point or key bytes, when EC.
    pub point: Option<Vec<u8>>,
    /// File offset where it was seen (None for inventory entries).
    pub offset: Option<u64>,
    /// Where it came from: "certificate CN=...", "inventory keys/signing.pem", "kid=...".
    pub source: String,
}

/// Where detectors put what they find. One sink per chunk.
#[derive(Default)]
pub struct Sink {
    pub findings: Vec<Finding>,
    pub public_keys: Vec<PublicKeyRecord>,
    /// Per-chunk working state of detectors, by detector name: the token rules remember how
    /// far each anchor's window reached, so a chunk dense with anchors costs linear time.
    /// Dropped with the chunk.
    pub scratch: std::collections::BTreeMap<&'static str, Box<dyn std::any::Any + Send>>,
    /// Detector-private intermediate results, keyed by detector name: what a detector's
    /// `scan_chunk` collects (candidate integers, say) and its `finish` consumes. Kept per
    /// scan, so a scanner shared between threads never mixes two dumps.
    pub state: Vec<(&'static str, Box<dyn std::any::Any + Send>)>,
}

impl Sink {
    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// The intermediate results of type `T` that detector `name` left in `state`.
    pub fn state_of<'a, T: 'static>(&'a self, name: &'a str) -> impl Iterator<Item = &'a T> + 'a {
        self.state
            .iter()
            .filter(move |(n, _)| *n == name)
            .filter_map(|(_, b)| b.downcast_ref::<T>())
    }
}

pub trait Detector: Send + Sync {
    /// Stable detector family name, e.g. `pem`, `der`.
    fn name(&self) -> &'static str;
    /// The anchors this detector is called for.
    fn anchors(&self) -> Vec<Anchor>;
    /// Called once per anchor hit at file offset `pos`.
    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink);

    /// Called for every chunk `[start, end)` of the dump, in parallel, for detectors that
    /// look at all bytes rather than at anchors (key schedules, prime hunting). Reads past
    /// `end` are allowed; a match is owned by the chunk it starts in.
    fn scan_chunk(&self, _cx: &ScanContext<'_>, _start: usize, _end: usize, _sink: &mut Sink) {}

    /// Called once after every chunk was scanned, with everything found so far (findings and
    /// public keys from all detectors), for work that needs the whole picture: pairing private
    /// material with public keys seen anywhere in the dump.
    fn finish(&self, _cx: &ScanContext<'_>, _found: &Sink, _sink: &mut Sink) {}

    /// Configuration beyond the anchors that decides what the detector finds (the rule
    /// pack's digest), hashed into the engine digest that reports carry as `rules_digest`.
    fn digest_input(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// Detector families, by detector name. `scan --detectors` selects families, so a debug
/// engineer can ask for only what they need and the benchmark can price each family against
/// the core key scan; the gate and the sweep always run every family.
pub const FAMILIES: &[(&str, &[&str])] = &[
    ("keys", &["pem", "der", "base64", "encoded", "openssl-text"]),
    (
        "wrappers",
        &[
            "cng",
            "capi",
            "dotnet-xml",
            "jwk",
            "openssh",
            "putty",
            "pgp",
            "pkcs12",
            "symcrypt",
            "partial-rsa",
            "gcrypt-sexp",
        ],
    ),
    (
        "raw",
        &[
            "public-keys",
            "aes-schedule",
            "rsa-factor",
            "bigint",
            "raw-private-integer",
            "ssh-agent",
        ],
    ),
    ("tokens", &["rules"]),
];

/// The family a detector belongs to.
pub fn family_of(detector: &str) -> Option<&'static str> {
    FAMILIES
        .iter()
        .find(|(_, names)| names.contains(&detector))
        .map(|(f, _)| *f)
}

/// All built-in detectors.
pub fn registry() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(pem::Pem),
        Box::new(der_key::DerKey),
        Box::new(base64_key::Base64Key),
        Box::new(encoded::Encoded),
        Box::new(openssl_text::OpensslText),
        Box::new(cng::Cng),
        Box::new(capi::Capi),
        Box::new(dotnet_xml::DotnetXml),
        Box::new(jwk::Jwk),
        Box::new(openssh::OpenSsh),
        Box::new(putty::Putty),
        Box::new(pgp::Pgp),
        Box::new(pkcs12::Pkcs12),
        Box::new(symcrypt::SymCrypt),
        Box::new(partial_rsa::PartialRsa),
        Box::new(gcrypt_sexp::GcryptSexp),
        Box::new(rules::Rules::builtin()),
        Box::new(public_keys::PublicKeys),
        Box::new(aes_schedule::AesSchedule),
        Box::new(ssh_agent::SshAgent),
        // bigint's whole-dump pass first: the factor search skips moduli it proved.
        Box::new(bigint::BigInt),
        Box::new(rsa_factor::RsaFactor),
        // Last: it reports raw copies of the private integers of keys proven above.
        Box::new(raw_private::RawPrivate),
    ]
}

/// The built-in detectors with the token rules replaced by `rules` (`--rules FILE`,
/// `--include-noisy`).
pub fn registry_with_rules(rules: std::sync::Arc<crate::rules::RuleSet>) -> Vec<Box<dyn Detector>> {
    let mut v = registry();
    v.retain(|d| d.name() != "rules");
    v.push(Box::new(rules::Rules::new(rules)));
    v
}

/// Decodes a DER private-key blob (exactly one TLV at the start of `der`) and turns it into a
/// finding. Shared by every detector that ends up holding DER bytes (binary DER, PEM, bare
/// base64), so they all verify and fingerprint the same way.
pub fn der_key_finding(
    detector: &str,
    encoding: &str,
    offset: u64,
    length: u64,
    der: &[u8],
    preview: impl FnOnce(&str) -> String,
) -> Option<Finding> {
    let len = crate::keys::decode::tlv_len(der)?;
    let der = &der[..len];
    let (verdict, format) = verify_der_cached(der)?;
    let mut f = Finding::key(
        detector,
        encoding,
        offset,
        length,
        &verdict,
        preview(format),
    );
    f.content_hash = Some(crate::keys::fingerprint::sha256_fingerprint(der));
    Some(f)
}

/// The same key is usually found many times in one dump (PEM, DER, copies); a hostile dump
/// can repeat one key millions of times. Verification (primality tests, scalar
/// multiplications) runs once per distinct encoding.
fn verify_der_cached(der: &[u8]) -> Option<(crate::keys::Verdict, &'static str)> {
    use sha2::{Digest, Sha256};
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Cache = Mutex<HashMap<[u8; 32], Option<(crate::keys::Verdict, &'static str)>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    const MAX_ENTRIES: usize = 4096;
    let id: [u8; 32] = Sha256::digest(der).into();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&id).cloned()) {
        return hit;
    }
    let result = crate::keys::decode::private_key_der(der).map(|decoded| {
        let mut verdict = crate::keys::verify(&decoded.key);
        verdict
            .key
            .format
            .get_or_insert_with(|| decoded.format.to_string());
        (verdict, decoded.format)
    });
    if let Ok(mut c) = cache.lock() {
        if c.len() >= MAX_ENTRIES {
            c.clear();
        }
        c.insert(id, result.clone());
    }
    result
}

#[cfg(test)]
mod family_tests {
    use super::*;

    #[test]
    fn every_detector_is_in_exactly_one_family() {
        for d in registry() {
            let n = FAMILIES
                .iter()
                .filter(|(_, names)| names.contains(&d.name()))
                .count();
            assert_eq!(n, 1, "detector {} is in {n} families", d.name());
        }
        let all: usize = FAMILIES.iter().map(|(_, n)| n.len()).sum();
        assert_eq!(
            all,
            registry().len(),
            "a family names a detector that does not exist"
        );
    }
}
