//! One verification per distinct encoding. The same key usually sits in a dump several times
//! (the `bytes` object and its copies, buffers on the stack), and a hostile dump can repeat
//! one blob millions of times; primality tests and scalar multiplications then run once per
//! distinct blob, keyed by the SHA-256 of the bytes that were verified.

use crate::keys::Verdict;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Bounded: when full, the cache starts over (memory stays independent of dump size).
const MAX_ENTRIES: usize = 4096;

type Cache = Mutex<HashMap<[u8; 32], Verdict>>;

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
    type Many = Mutex<HashMap<[u8; 32], Vec<Verdict>>>;
    static CACHE: OnceLock<Many> = OnceLock::new();
    cached(CACHE.get_or_init(Default::default), domain, bytes, compute)
}

/// Like [`verdict`] for a DER private key: the format the decoder recognised comes back with
/// the verdict, and bytes that decode to no key are remembered as such too.
pub fn der(
    bytes: &[u8],
    compute: impl FnOnce() -> Option<(Verdict, &'static str)>,
) -> Option<(Verdict, &'static str)> {
    type Der = Mutex<HashMap<[u8; 32], Option<(Verdict, &'static str)>>>;
    static CACHE: OnceLock<Der> = OnceLock::new();
    cached(CACHE.get_or_init(Default::default), "der", bytes, compute)
}

/// The value cached for (`domain`, `bytes`), or `compute()`'s, stored (bounded).
fn cached<T: Clone>(
    cache: &Mutex<HashMap<[u8; 32], T>>,
    domain: &str,
    bytes: &[u8],
    compute: impl FnOnce() -> T,
) -> T {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    h.update([0]);
    h.update(bytes);
    let id: [u8; 32] = h.finalize().into();
    if let Some(v) = cache.lock().ok().and_then(|c| c.get(&id).cloned()) {
        return v;
    }
    let v = compute();
    if let Ok(mut c) = cache.lock() {
        if c.len() >= MAX_ENTRIES {
            c.clear();
        }
        c.insert(id, v.clone());
    }
    v
}
