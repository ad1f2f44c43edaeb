//! Bounds-checked reads for binary key blobs (CNG, CryptoAPI, SymCrypt, SSH wire data): every
//! size read from a dump is checked against the bytes actually there before it is used.

use num_bigint_dig::BigUint;

/// Little-endian u32 at `off`.
pub fn u32_le(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(off..off.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Little-endian u64 at `off`.
pub fn u64_le(d: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(off..off.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// `len` bytes at `off`, if they are all inside `d`.
pub fn take(d: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    d.get(off..off.checked_add(len)?)
}

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
