//! Base62 in the `0-9A-Za-z` order that GitHub's and npm's token checksums use.

pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `v` in base62, most significant digit first, left-padded with `0` to `width`.
pub fn encode_padded(mut v: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(v % 62) as usize];
        v /= 62;
    }
    String::from_utf8(out).expect("alphabet is ASCII")
}

#[cfg(test)]
mod tests {
    #[test]
    fn pads_and_orders_digits() {
        assert_eq!(super::encode_padded(0, 6), "000000");
        assert_eq!(super::encode_padded(61, 2), "0z");
        assert_eq!(super::encode_padded(62, 3), "010");
        assert_eq!(super::encode_padded(u32::MAX as u64, 6), "4gfFC3");
    }
}
