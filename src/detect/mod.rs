//! Detectors: small units with one job each. A detector declares literal *anchors*; the scan
//! engine finds every anchor in one multi-pattern pass (aho-corasick) and calls the detector
//! at each hit with the whole dump in reach, so decoding may look before and after the hit.
//! Adding a detector = one file here + one line in [`registry`].

mod base64_key;
mod der_key;
mod pem;
pub mod text;

use crate::input::{AddressSpace, Region};
use crate::report::Finding;

/// A literal byte pattern a detector wants to be called for.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub bytes: Vec<u8>,
    /// Detector-private tag passed back on a hit.
    pub tag: u32,
}

/// Everything a detector may read: the whole dump and its attribution data.
pub struct ScanContext<'a> {
    pub data: &'a [u8],
    pub regions: &'a [Region],
    pub space: &'a AddressSpace,
}

/// Where detectors put what they find.
#[derive(Default)]
pub struct Sink {
    pub findings: Vec<Finding>,
}

impl Sink {
    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }
}

pub trait Detector: Send + Sync {
    /// Stable detector family name, e.g. `pem`, `der`.
    fn name(&self) -> &'static str;
    /// The anchors this detector is called for.
    fn anchors(&self) -> Vec<Anchor>;
    /// Called once per anchor hit at file offset `pos`.
    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink);
}

/// All built-in detectors.
pub fn registry() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(pem::Pem),
        Box::new(der_key::DerKey),
        Box::new(base64_key::Base64Key),
    ]
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
    let decoded = crate::keys::decode::private_key_der(&der[..len])?;
    let verdict = crate::keys::verify(&decoded.key);
    let preview = preview(decoded.format);
    Some(Finding::key(
        detector, encoding, offset, length, &verdict, preview,
    ))
}
