//! Marvin32, the seeded hash Microsoft's identifiable secrets carry as their checksum
//! (microsoft/security-utilities). No maintained crate implements it; it is 30 lines.

fn block(p0: &mut u32, p1: &mut u32) {
    *p1 ^= *p0;
    *p0 = p0.rotate_left(20);
    *p0 = p0.wrapping_add(*p1);
    *p1 = p1.rotate_left(9);
    *p1 ^= *p0;
    *p0 = p0.rotate_left(27);
    *p0 = p0.wrapping_add(*p1);
    *p1 = p1.rotate_left(19);
}

/// The 64-bit Marvin hash of `data` under `seed`.
pub fn hash64(data: &[u8], seed: u64) -> u64 {
    let mut p0 = seed as u32;
    let mut p1 = (seed >> 32) as u32;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        p0 = p0.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        block(&mut p0, &mut p1);
    }
    let tail = words.remainder();
    let mut last = 0x80u32 << (8 * tail.len());
    for (i, &b) in tail.iter().enumerate() {
        last |= (b as u32) << (8 * i);
    }
    p0 = p0.wrapping_add(last);
    block(&mut p0, &mut p1);
    block(&mut p0, &mut p1);
    ((p1 as u64) << 32) | p0 as u64
}

/// The 32-bit fold used as a checksum: high half XOR low half.
pub fn hash32(data: &[u8], seed: u64) -> u32 {
    let h = hash64(data, seed);
    ((h >> 32) as u32) ^ (h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published vectors (.NET runtime Marvin tests, also used by security-utilities).
    #[test]
    fn known_answers() {
        let seed0 = 0x004f_b61a_001b_dbcc;
        assert_eq!(hash64(b"", seed0), 0x30ed35c100cd3c7d);
        assert_eq!(hash64(&[0xaf], seed0), 0x48e73fc77d75ddc1);
        assert_eq!(hash64(&[0xe7, 0x0f], seed0), 0xb5f6e1fc485dbff8);
        assert_eq!(hash64(&[0x37, 0xf4, 0x95], seed0), 0xf0b07c789b8cf7e8);
        assert_eq!(hash64(&[0x86, 0x42, 0xdc, 0x59], seed0), 0x7008f2e87e9cf556);
        assert_eq!(
            hash64(&[0xab, 0x42, 0x7e, 0xa8, 0xd1, 0x0f, 0xc7], seed0),
            0xe11847e4f0678c41
        );
        assert_eq!(hash64(b"abc", 0xd53cd9cecd0893b7), 0x22c74339492769bf);
        assert_eq!(hash32(b"abc", 0xd53cd9cecd0893b7), 0x6be02a86);
        assert_eq!(
            hash32(b"abcdefghijklmnopqrstuvwxyz", 0xddddeeeeffff000),
            0xd34847dc
        );
        assert_eq!(hash32(b"", seed0), 0x302009bc);
    }
}
