//! Bounds-checked little-endian reads: the one reader of the crate. Every read from a dump
//! goes through these (container parsers with file offsets as `u64`, key-blob detectors and
//! the in-memory container scan with `usize`), so a hostile offset gives `None`, never a panic.

/// `N` bytes at `off`, if they are all inside `d`.
#[inline(always)]
fn array<const N: usize>(d: &[u8], off: usize) -> Option<[u8; N]> {
    d.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// Little-endian u16 at `off`.
#[inline(always)]
pub fn u16_le(d: &[u8], off: usize) -> Option<u16> {
    array(d, off).map(u16::from_le_bytes)
}

/// Little-endian u32 at `off`.
#[inline(always)]
pub fn u32_le(d: &[u8], off: usize) -> Option<u32> {
    array(d, off).map(u32::from_le_bytes)
}

/// Little-endian u64 at `off`.
#[inline(always)]
pub fn u64_le(d: &[u8], off: usize) -> Option<u64> {
    array(d, off).map(u64::from_le_bytes)
}

/// `len` bytes at `off`, if they are all inside `d`.
#[inline(always)]
pub fn take(d: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    d.get(off..off.checked_add(len)?)
}

/// [`u16_le`] at a file offset (which may not fit a `usize`).
#[inline]
pub fn u16_at(d: &[u8], off: u64) -> Option<u16> {
    u16_le(d, usize::try_from(off).ok()?)
}

/// [`u32_le`] at a file offset.
#[inline]
pub fn u32_at(d: &[u8], off: u64) -> Option<u32> {
    u32_le(d, usize::try_from(off).ok()?)
}

/// [`u64_le`] at a file offset.
#[inline]
pub fn u64_at(d: &[u8], off: u64) -> Option<u64> {
    u64_le(d, usize::try_from(off).ok()?)
}

/// A sub-slice `[off, off+len)` if it lies entirely inside `d`.
#[inline]
pub fn slice(d: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    take(d, usize::try_from(off).ok()?, usize::try_from(len).ok()?)
}
