//! Bounds-checked little-endian reads. Every read from a dump goes through these, so a
//! hostile offset gives `None`, never a panic.

#[inline]
pub fn u16_at(d: &[u8], off: u64) -> Option<u16> {
    let o = usize::try_from(off).ok()?;
    Some(u16::from_le_bytes(
        d.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}

#[inline]
pub fn u32_at(d: &[u8], off: u64) -> Option<u32> {
    let o = usize::try_from(off).ok()?;
    Some(u32::from_le_bytes(
        d.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}

#[inline]
pub fn u64_at(d: &[u8], off: u64) -> Option<u64> {
    let o = usize::try_from(off).ok()?;
    Some(u64::from_le_bytes(
        d.get(o..o.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// A sub-slice `[off, off+len)` if it lies entirely inside `d`.
#[inline]
pub fn slice(d: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let o = usize::try_from(off).ok()?;
    let l = usize::try_from(len).ok()?;
    d.get(o..o.checked_add(l)?)
}
