//! Bounds-checked reads for binary key blobs (CNG, CryptoAPI, SymCrypt, SSH wire data): every
//! size read from a dump is checked against the bytes actually there before it is used.

use num_bigint_dig::BigUint;

/// The crate's one little-endian reader.
pub use crate::input::le::{take, u32_le, u64_le};

/// A cursor over consecutive fixed-size fields.
pub struct Fields<'a> {
    data: &'a [u8],
    pub pos: usize,
}

impl<'a> Fields<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Fields { data, pos }
    }

    pub fn next(&mut self, len: usize) -> Option<&'a [u8]> {
        let s = take(self.data, self.pos, len)?;
        self.pos += len;
        Some(s)
    }
}

pub fn all_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// A big-endian number; None when it is all zeros (absent or wiped).
pub fn be(b: &[u8]) -> Option<BigUint> {
    (!all_zero(b)).then(|| BigUint::from_bytes_be(b))
}

/// A little-endian number; None when it is all zeros (absent or wiped).
pub fn le(b: &[u8]) -> Option<BigUint> {
    (!all_zero(b)).then(|| BigUint::from_bytes_le(b))
}
