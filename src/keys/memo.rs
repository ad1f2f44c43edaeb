//! The one bounded, process-wide memo of the crate: results that depend only on some bytes
//! (is this number prime, what does this blob verify to), computed once per distinct bytes.
//! A key sits in a dump several times and a hostile dump can repeat one blob millions of times;
//! the costly arithmetic then runs once per distinct value. Entries are keyed by the SHA-256 of
//! a domain and the bytes (no secret kept in the clear, and a false hit would need a SHA-256
//! collision); when full the memo starts over, so memory stays independent of dump size.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept before the memo starts over.
pub const MAX_ENTRIES: usize = 4096;

/// A memo: a `static OnceLock<Memo<T>>` per kind of result.
pub type Memo<T> = Mutex<HashMap<[u8; 32], T>>;

/// The value cached for (`domain`, `bytes`), or `compute()`'s, stored (bounded). `domain`
/// separates callers whose inputs could coincide.
pub fn cached<T: Clone>(
    memo: &Memo<T>,
    domain: &str,
    bytes: &[u8],
    compute: impl FnOnce() -> T,
) -> T {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    h.update([0]);
    h.update(bytes);
    let id: [u8; 32] = h.finalize().into();
    if let Some(v) = memo.lock().ok().and_then(|c| c.get(&id).cloned()) {
        return v;
    }
    let v = compute();
    if let Ok(mut c) = memo.lock() {
        if c.len() >= MAX_ENTRIES {
            c.clear();
        }
        c.insert(id, v.clone());
    }
    v
}
