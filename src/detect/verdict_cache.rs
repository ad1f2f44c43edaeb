//! One verification per distinct encoding. The same key usually sits in a dump several times
//! (the `bytes` object and its copies, buffers on the stack), and a hostile dump can repeat
//! one blob millions of times; primality tests and scalar multiplications then run once per
//! distinct blob, keyed by the SHA-256 of the bytes that were verified.

use crate::keys::memo::{cached, Memo};
use crate::keys::Verdict;
use std::sync::OnceLock;

type Cache = Memo<Verdict>;

/// `compute()`'s verdict for the encoding `bytes`, computed once per distinct `bytes`
/// (`domain` separates detectors whose inputs could coincide).
pub fn verdict(domain: &str, bytes: &[u8], compute: impl FnOnce() -> Verdict) -> Verdict {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    cached(CACHE.get_or_init(Default::default), domain, bytes, compute)
}

/// Like [`verdict`] for detectors that get several verdicts from one container (PKCS#12).
pub fn verdicts(
    domain: &str,
    bytes: &[u8],
    compute: impl FnOnce() -> Vec<Verdict>,
) -> Vec<Verdict> {
    type Many = Memo<Vec<Verdict>>;
    static CACHE: OnceLock<Many> = OnceLock::new();
    cached(CACHE.get_or_init(Default::default), domain, bytes, compute)
}

/// Like [`verdict`] for a DER private key: the format the decoder recognised comes back with
/// the verdict, and bytes that decode to no key are remembered as such too.
pub fn der(
    bytes: &[u8],
    compute: impl FnOnce() -> Option<(Verdict, &'static str)>,
) -> Option<(Verdict, &'static str)> {
    type Der = Memo<Option<(Verdict, &'static str)>>;
    static CACHE: OnceLock<Der> = OnceLock::new();
    cached(CACHE.get_or_init(Default::default), "der", bytes, compute)
}
