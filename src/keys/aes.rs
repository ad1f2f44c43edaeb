//! AES key-schedule mathematics (FIPS-197 §5.2 and §5.3.5): expansion, the constraint check
//! that tells a schedule from any other bytes, conversion of decryption ("equivalent inverse
//! cipher") schedules back to encryption form, and recovery of the key from a schedule with a
//! few damaged bits (docs/key-formats.md §9).
//!
//! Words are `u32` loaded little-endian from FIPS byte order, so byte 0 of a word is its low
//! byte: RotWord is a rotate right by 8 and Rcon XORs the low byte.

/// The AES S-box, computed at compile time from its definition (multiplicative inverse in
/// GF(2^8) followed by the affine map), so no table can be mistyped.
pub const SBOX: [u8; 256] = sbox();

const fn gmul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

const fn sbox() -> [u8; 256] {
    // Walk the multiplicative group with generator 3: 3^i and its inverse 3^(255−i).
    let mut exp = [0u8; 256];
    let mut x = 1u8;
    let mut i = 0;
    while i < 255 {
        exp[i] = x;
        x = gmul(x, 3);
        i += 1;
    }
    let mut t = [0u8; 256];
    t[0] = 0x63;
    let mut i = 0;
    while i < 255 {
        let a = exp[i];
        let inv = exp[(255 - i) % 255];
        t[a as usize] = inv
            ^ inv.rotate_left(1)
            ^ inv.rotate_left(2)
            ^ inv.rotate_left(3)
            ^ inv.rotate_left(4)
            ^ 0x63;
        i += 1;
    }
    t
}

const RCON: [u8; 11] = [
    0, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36,
];

/// Key sizes: Nk words of key, Nr rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySize {
    Aes128,
    Aes192,
    Aes256,
}

impl KeySize {
    pub const ALL: [KeySize; 3] = [KeySize::Aes128, KeySize::Aes192, KeySize::Aes256];

    pub fn nk(self) -> usize {
        match self {
            KeySize::Aes128 => 4,
            KeySize::Aes192 => 6,
            KeySize::Aes256 => 8,
        }
    }

    pub fn rounds(self) -> usize {
        self.nk() + 6
    }

    /// Words in the expanded schedule: 4·(Nr+1).
    pub fn words(self) -> usize {
        4 * (self.rounds() + 1)
    }

    /// Bytes of the expanded schedule: 176, 208, 240.
    pub fn schedule_len(self) -> usize {
        4 * self.words()
    }

    pub fn bits(self) -> u32 {
        32 * self.nk() as u32
    }
}

#[inline]
fn sub_word(w: u32) -> u32 {
    let b = w.to_le_bytes();
    u32::from_le_bytes([
        SBOX[b[0] as usize],
        SBOX[b[1] as usize],
        SBOX[b[2] as usize],
        SBOX[b[3] as usize],
    ])
}

/// The value XORed into w[i−Nk] to give w[i], from w[i−1].
#[inline]
fn temp(i: usize, nk: usize, prev: u32) -> u32 {
    if i % nk == 0 {
        sub_word(prev.rotate_right(8)) ^ RCON[i / nk] as u32
    } else if nk > 6 && i % nk == 4 {
        sub_word(prev)
    } else {
        prev
    }
}

#[cfg(test)] // the tests build schedules from keys; the detector only checks them
/// Expands a key (16, 24 or 32 bytes) into its encryption schedule.
pub fn expand(key: &[u8], size: KeySize) -> Vec<u32> {
    let nk = size.nk();
    let mut w: Vec<u32> = key[..4 * nk]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    for i in nk..size.words() {
        let t = temp(i, nk, w[i - 1]);
        w.push(w[i - nk] ^ t);
    }
    w
}

/// Counts bits that violate the schedule relations, predicting each word from its stored
/// neighbours (so one damaged word costs only the relations it takes part in). `None` as
/// soon as the count exceeds `limit`.
pub fn schedule_errors(w: &[u32], size: KeySize, limit: u32) -> Option<u32> {
    let nk = size.nk();
    let mut errs = 0u32;
    for i in nk..size.words() {
        let pred = w[i - nk] ^ temp(i, nk, w[i - 1]);
        errs += (pred ^ w[i]).count_ones();
        if errs > limit {
            return None;
        }
    }
    Some(errs)
}

fn xtime(a: u8) -> u8 {
    gmul(a, 2)
}

/// MixColumns on one column (the inverse of what a decryption schedule applied).
pub fn mix_column(w: u32) -> u32 {
    let [a0, a1, a2, a3] = w.to_le_bytes();
    let m3 = |a: u8| xtime(a) ^ a;
    u32::from_le_bytes([
        xtime(a0) ^ m3(a1) ^ a2 ^ a3,
        a0 ^ xtime(a1) ^ m3(a2) ^ a3,
        a0 ^ a1 ^ xtime(a2) ^ m3(a3),
        m3(a0) ^ a1 ^ a2 ^ xtime(a3),
    ])
}

#[cfg(test)] // the tests build decryption schedules; the detector only checks them
/// InvMixColumns on one column (how OpenSSL, AES-NI `aesimc` and SymCrypt build decryption
/// round keys).
pub fn inv_mix_column(w: u32) -> u32 {
    let [a0, a1, a2, a3] = w.to_le_bytes();
    let m = |a: u8, k: u8| gmul(a, k);
    u32::from_le_bytes([
        m(a0, 14) ^ m(a1, 11) ^ m(a2, 13) ^ m(a3, 9),
        m(a0, 9) ^ m(a1, 14) ^ m(a2, 11) ^ m(a3, 13),
        m(a0, 13) ^ m(a1, 9) ^ m(a2, 14) ^ m(a3, 11),
        m(a0, 11) ^ m(a1, 13) ^ m(a2, 9) ^ m(a3, 14),
    ])
}

/// Decryption schedule (round keys in reverse order, InvMixColumns on rounds 1..Nr−1) →
/// encryption schedule.
pub fn decryption_to_encryption(dk: &[u32], size: KeySize) -> Vec<u32> {
    let nr = size.rounds();
    let mut ek = vec![0u32; size.words()];
    for j in 0..=nr {
        for c in 0..4 {
            let v = dk[4 * j + c];
            ek[4 * (nr - j) + c] = if j == 0 || j == nr { v } else { mix_column(v) };
        }
    }
    ek
}

#[cfg(test)] // the tests build decryption schedules; the detector only checks them
/// Encryption schedule → decryption schedule (for tests and fixtures).
pub fn encryption_to_decryption(ek: &[u32], size: KeySize) -> Vec<u32> {
    let nr = size.rounds();
    let mut dk = vec![0u32; size.words()];
    for j in 0..=nr {
        for c in 0..4 {
            let v = ek[4 * (nr - j) + c];
            dk[4 * j + c] = if j == 0 || j == nr {
                v
            } else {
                inv_mix_column(v)
            };
        }
    }
    dk
}

/// The key whose expansion is closest to the (possibly damaged) schedule `w`, and the number
/// of bits by which they differ. Every run of Nk consecutive words determines the whole
/// schedule (the expansion runs backwards too), so trying each run as the seed finds the key
/// whenever some run escaped the damage.
pub fn recover_key(w: &[u32], size: KeySize) -> (Vec<u8>, u32) {
    let nk = size.nk();
    let total = size.words();
    let mut best: Option<(Vec<u32>, u32)> = None;
    for s in 0..=total - nk {
        let mut v = vec![0u32; total];
        v[s..s + nk].copy_from_slice(&w[s..s + nk]);
        // Backwards: w[i−Nk] = w[i] ⊕ temp(w[i−1]).
        for i in (nk..s + nk).rev() {
            v[i - nk] = v[i] ^ temp(i, nk, v[i - 1]);
        }
        for i in s + nk..total {
            v[i] = v[i - nk] ^ temp(i, nk, v[i - 1]);
        }
        let d: u32 = v.iter().zip(w).map(|(a, b)| (a ^ b).count_ones()).sum();
        if best.as_ref().map_or(true, |(_, bd)| d < *bd) {
            best = Some((v, d));
            if d == 0 {
                break;
            }
        }
    }
    let (v, d) = best.expect("at least one seed");
    let key = v[..nk].iter().flat_map(|x| x.to_le_bytes()).collect();
    (key, d)
}

/// Published test-vector keys (FIPS-197 appendices A and C, SP 800-38A) and trivial keys:
/// present in every process that runs a self-test, never a secret.
pub fn well_known(key: &[u8]) -> Option<&'static str> {
    const KNOWN: [(&str, &str); 6] = [
        (
            "000102030405060708090a0b0c0d0e0f",
            "FIPS-197 appendix C test key",
        ),
        (
            "000102030405060708090a0b0c0d0e0f1011121314151617",
            "FIPS-197 appendix C test key",
        ),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "FIPS-197 appendix C test key, also the fixed key of the CTR-DRBG derivation function (SP 800-90A 10.3.2) every OpenSSL DRBG keeps",
        ),
        (
            "2b7e151628aed2a6abf7158809cf4f3c",
            "FIPS-197 appendix A / SP 800-38A test key",
        ),
        (
            "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
            "FIPS-197 appendix A / SP 800-38A test key",
        ),
        (
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            "FIPS-197 appendix A / SP 800-38A test key",
        ),
    ];
    if key.iter().all(|&b| b == key[0]) {
        return Some(if key[0] == 0 {
            "all-zero key"
        } else {
            "constant-byte key"
        });
    }
    let h = hex::encode(key);
    KNOWN.iter().find(|(k, _)| *k == h).map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_hex(w: &[u32]) -> String {
        hex::encode(w.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
    }

    #[test]
    fn sbox_matches_fips_197() {
        assert_eq!(SBOX[0x00], 0x63);
        assert_eq!(SBOX[0x01], 0x7c);
        assert_eq!(SBOX[0x53], 0xed);
        assert_eq!(SBOX[0xff], 0x16);
        let mut seen = [false; 256];
        for &s in &SBOX {
            seen[s as usize] = true;
        }
        assert!(seen.iter().all(|&x| x), "S-box is a permutation");
    }

    #[test]
    fn expansion_matches_fips_197_appendix_a() {
        let k128 = hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap();
        let w = expand(&k128, KeySize::Aes128);
        assert_eq!(words_hex(&w[40..]), "d014f9a8c9ee2589e13f0cc8b6630ca6");
        let k192 = hex::decode("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b").unwrap();
        let w = expand(&k192, KeySize::Aes192);
        assert_eq!(words_hex(&w[48..]), "e98ba06f448c773c8ecc720401002202");
        let k256 = hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .unwrap();
        let w = expand(&k256, KeySize::Aes256);
        assert_eq!(words_hex(&w[56..]), "fe4890d1e6188d0b046df344706c631e");
    }

    #[test]
    fn constraint_check_and_recovery() {
        for size in KeySize::ALL {
            let key: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
            let w = expand(&key, size);
            assert_eq!(schedule_errors(&w, size, 0), Some(0));
            let mut bad = w.clone();
            bad[3] ^= 1 << 9;
            bad[20] ^= 1 << 30;
            let e = schedule_errors(&bad, size, 64).unwrap();
            assert!(e > 0 && e <= 12, "{size:?}: {e}");
            assert!(schedule_errors(&bad, size, 0).is_none());
            let (k, d) = recover_key(&bad, size);
            assert_eq!(k, key[..4 * size.nk()]);
            assert_eq!(d, 2);
            let dk = encryption_to_decryption(&w, size);
            assert_eq!(decryption_to_encryption(&dk, size), w);
        }
        for c in [0u32, 1, 0xdeadbeef, 0x01020304] {
            assert_eq!(mix_column(inv_mix_column(c)), c);
        }
    }

    #[test]
    fn random_words_are_not_schedules() {
        let mut s = 0x9e3779b97f4a7c15u64;
        for size in KeySize::ALL {
            for _ in 0..1000 {
                let w: Vec<u32> = (0..size.words())
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        s as u32
                    })
                    .collect();
                assert!(schedule_errors(&w, size, 40).is_none());
            }
        }
    }

    #[test]
    fn known_keys() {
        assert!(well_known(&[0u8; 16]).is_some());
        assert!(well_known(&hex::decode("000102030405060708090a0b0c0d0e0f").unwrap()).is_some());
        assert!(well_known(&[7u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]).is_none());
    }
}
