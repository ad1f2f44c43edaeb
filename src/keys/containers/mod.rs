//! Big integers in the containers runtimes keep them in (docs/key-formats.md §8.2–8.5), found by
//! their headers rather than by their (random-looking) contents:
//!
//! | container | header | value |
//! |---|---|---|
//! | OpenSSL/BoringSSL `BIGNUM` | `{ BN_ULONG *d; int top; int dmax; int neg; int flags; }` | `top` LE limbs at `d` (followed through the address map) |
//! | Go slice (`big.Int.abs`, `bigmod.nat`) | `{ ptr; len; cap }` | `len` LE limbs at `ptr` (also read as 63-bit limbs) |
//! | Java `int[]` (HotSpot, 64-bit) | mark word, klass, `int length` | `length` words, most significant first |
//! | .NET `byte[]` / `uint[]` (CoreCLR, 64-bit) | MethodTable*, `int length`, padding | BE bytes / LE words |
//! | SymCrypt `SYMCRYPT_INT` | `type` with 'I' in bits 16–23, `nDigits`, `cbSize` | LE 32-bit words at +32 |
//! | Rust num-bigint-dig `BigUint`, RustCrypto ECDSA `SigningKey` | see [`rust`] | LE limbs |
//!
//! Pointer-based containers need the dump's virtual-address map (minidump, ELF core, raw
//! image with a region index); the others are self-contained. Every header field is checked
//! before use and every value is bounded ([`MAX_LIMBS`]).

mod rust;

use super::limbs::{self, Repr};
use crate::input::AddressSpace;

/// Largest integer collected: 16384 bits (an RSA-16384 modulus).
pub const MAX_LIMBS: usize = 256;
/// Smallest integer collected: an EC P-256 scalar may be a little shorter than 256 bits.
pub const MIN_BITS: usize = 192;

/// The container an integer was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Container {
    Bignum,
    GoSlice,
    Go63Slice,
    JavaIntArray,
    DotnetByteArray,
    DotnetUintArray,
    SymcryptInt,
    RustBigUint,
    RustCryptoScalar,
}

impl Container {
    /// The `encoding` string of findings.
    pub fn encoding(self) -> &'static str {
        match self {
            Container::Bignum => "bignum-struct",
            Container::GoSlice => "go-slice",
            Container::Go63Slice => "go63-slice",
            Container::JavaIntArray => "java-int-array",
            Container::DotnetByteArray => "dotnet-byte-array",
            Container::DotnetUintArray => "dotnet-uint-array",
            Container::SymcryptInt => "symcrypt-int",
            Container::RustBigUint => "rust-biguint",
            Container::RustCryptoScalar => "rustcrypto-scalar",
        }
    }

    /// With its article, for sentences ("p in an OpenSSL/BoringSSL BIGNUM").
    pub fn describe(self) -> &'static str {
        match self {
            Container::Bignum => "an OpenSSL/BoringSSL BIGNUM",
            Container::GoSlice => "a Go big.Int limb slice",
            Container::Go63Slice => "a Go bigmod 63-bit limb slice",
            Container::JavaIntArray => "a Java BigInteger int[]",
            Container::DotnetByteArray => "a .NET byte[]",
            Container::DotnetUintArray => "a .NET uint[]",
            Container::SymcryptInt => "a SymCrypt integer",
            Container::RustBigUint => "a Rust num-bigint-dig BigUint",
            Container::RustCryptoScalar => {
                "a RustCrypto ECDSA signing key (scalar beside its Montgomery-form point)"
            }
        }
    }
}

/// One integer found in a container.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Trimmed little-endian limbs.
    pub value: Vec<u64>,
    /// File offset and length of the integer's bytes (not of the header).
    pub offset: usize,
    pub len: usize,
    pub container: Container,
}

/// The crate's one little-endian reader, by `usize` offset.
pub(super) use crate::input::le::{u32_le as u32_at, u64_le as u64_at};

/// Largest word at +8 any non-pointer header accepts (BIGNUM `dmax` ≤ 4096 in the high half).
const SMALL_MAX: u64 = (4097 << 32) - 1;

/// A user-space pointer as 64-bit processes have them: canonical lower half, aligned.
#[inline(always)]
pub(super) fn plausible_pointer(p: u64) -> bool {
    (0x10000..(1 << 47)).contains(&p) && p % 8 == 0
}

/// Key material looks random: at most one 64-bit limb with its top 16 bits clear (pointers,
/// small integers, text and padding have many). Limb 0 of a short value is exempt.
pub(super) fn looks_random(v: &[u64]) -> bool {
    v.len() >= 3 && v.iter().filter(|&&x| x >> 48 == 0).count() <= 1
}

pub(super) fn push(out: &mut Vec<Candidate>, bytes: &[u8], offset: usize, c: Container, r: Repr) {
    let Some(value) = limbs::decode(bytes, r) else {
        return;
    };
    let bits = limbs::bits(&value);
    if bits < MIN_BITS || value.len() > MAX_LIMBS || !looks_random(&value) {
        return;
    }
    out.push(Candidate {
        value,
        offset,
        len: bytes.len(),
        container: c,
    });
}

/// Reads `len` bytes at virtual address `addr`, when the dump maps them contiguously.
pub(super) fn read_va<'a>(
    data: &'a [u8],
    space: &AddressSpace,
    addr: u64,
    len: usize,
) -> Option<(usize, &'a [u8])> {
    let (off, avail) = space.to_file(addr)?;
    if (avail as usize) < len {
        return None;
    }
    let off = usize::try_from(off).ok()?;
    Some((off, data.get(off..off.checked_add(len)?)?))
}

/// Scans headers at 8-byte-aligned addresses starting in [start, end); `delta` maps file
/// offsets to addresses (address = offset + delta, see `detect::align`). `space` enables the
/// pointer-based containers; pass `None` when the dump has no address map.
pub fn scan(
    data: &[u8],
    start: usize,
    end: usize,
    delta: u64,
    space: Option<&AddressSpace>,
    out: &mut Vec<Candidate>,
) {
    let mut o = start + ((8 - (start as u64).wrapping_add(delta) % 8) % 8) as usize;
    while o < end {
        let Some(w1) = u64_at(data, o + 8) else {
            break;
        };
        // Every header below needs the word at +8 to be a small count (< 4097·2^32) or a
        // pointer; text, random bytes and most code fail both, and only the SymCrypt check is
        // left for them.
        if w1 > SMALL_MAX && !plausible_pointer(w1) {
            // A RustCrypto signing key is random words (so is its scalar's second limb, w1),
            // then a zero `infinity` byte: tested here, as most offsets fail it.
            if data.get(o + rust::SIGNING_KEY_INFINITY) == Some(&0) {
                rust::signing_key(data, o, out);
            }
            if (o as u64).wrapping_add(delta) % 32 == 0 {
                symcrypt_int(data, o, out);
            }
            o += 8;
            continue;
        }
        let lo = w1 as u32;
        let hi = (w1 >> 32) as u32;
        if let Some(space) = space {
            // BIGNUM: top in [4, 256], top ≤ dmax ≤ 4096, neg ∈ {0,1}, small flags.
            if (4..=256).contains(&lo) && hi >= lo && hi <= 4096 {
                bignum(data, space, o, lo as usize, out);
            }
            // Go slice: len in [3, 256], len ≤ cap ≤ 4096.
            if (3..=256).contains(&w1) {
                go_slice(data, space, o, w1 as usize, out);
                rust::biguint(data, space, o, w1 as usize, out);
            }
        }
        // Java int[] (compressed class pointers): length at +12, data at +16.
        if (6..=512).contains(&hi) && lo != 0 {
            java_array(data, o, hi as usize, 16, out);
        }
        // Java int[] without compressed class pointers: klass at +8, length at +16.
        if plausible_pointer(w1) {
            if let Some(len) = u64_at(data, o + 16) {
                if (6..=512).contains(&len) {
                    java_array(data, o, len as usize, 24, out);
                }
            }
        }
        // .NET array: MethodTable*, int32 length, 4 bytes padding, data at +16.
        if (24..=1024).contains(&w1) {
            dotnet_array(data, o, w1 as usize, out);
        }
        // SymCrypt INT: 'I' type tag, 32-byte aligned objects.
        if (o as u64).wrapping_add(delta) % 32 == 0 {
            symcrypt_int(data, o, out);
        }
        o += 8;
    }
}

fn bignum(data: &[u8], space: &AddressSpace, o: usize, top: usize, out: &mut Vec<Candidate>) {
    let (Some(ptr), Some(nf)) = (u64_at(data, o), u64_at(data, o + 16)) else {
        return;
    };
    let (neg, flags) = (nf as u32, (nf >> 32) as u32);
    if !plausible_pointer(ptr) || neg > 1 || flags > 0x1f {
        return;
    }
    if let Some((off, bytes)) = read_va(data, space, ptr, top * 8) {
        push(out, bytes, off, Container::Bignum, Repr::Le);
    }
}

fn go_slice(data: &[u8], space: &AddressSpace, o: usize, len: usize, out: &mut Vec<Candidate>) {
    let (Some(ptr), Some(cap)) = (u64_at(data, o), u64_at(data, o + 16)) else {
        return;
    };
    if !plausible_pointer(ptr) || cap < len as u64 || cap > 4096 {
        return;
    }
    if let Some((off, bytes)) = read_va(data, space, ptr, len * 8) {
        push(out, bytes, off, Container::GoSlice, Repr::Le);
        let all63 = bytes.chunks_exact(8).all(|c| c[7] & 0x80 == 0);
        if all63 {
            push(out, bytes, off, Container::Go63Slice, Repr::Go63);
        }
    }
}

fn java_array(data: &[u8], o: usize, words: usize, base: usize, out: &mut Vec<Candidate>) {
    let Some(mark) = u64_at(data, o) else {
        return;
    };
    // Unlocked, unbiased mark word: lock bits 001, identity hash in bits 8..38.
    if mark & 7 != 1 || mark >> 39 != 0 {
        return;
    }
    let at = o + base;
    let Some(bytes) = data.get(at..at + 4 * words) else {
        return;
    };
    // mag[] has no leading zero word.
    if bytes[..4] == [0, 0, 0, 0] {
        return;
    }
    push(out, bytes, at, Container::JavaIntArray, Repr::JavaWords);
}

fn dotnet_array(data: &[u8], o: usize, len: usize, out: &mut Vec<Candidate>) {
    let Some(mt) = u64_at(data, o) else {
        return;
    };
    if !plausible_pointer(mt) {
        return;
    }
    let at = o + 16;
    if let Some(bytes) = data.get(at..at + len) {
        if bytes[0] != 0 {
            push(out, bytes, at, Container::DotnetByteArray, Repr::Be);
        }
    }
    if len <= 256 {
        if let Some(bytes) = data.get(at..at + 4 * len) {
            push(out, bytes, at, Container::DotnetUintArray, Repr::Le);
        }
    }
}

fn symcrypt_int(data: &[u8], o: usize, out: &mut Vec<Candidate>) {
    let (Some(ty), Some(n_digits), Some(cb)) =
        (u32_at(data, o), u32_at(data, o + 4), u32_at(data, o + 8))
    else {
        return;
    };
    let tag = (ty >> 16) as u8;
    let imp = (ty >> 24) as u8;
    if tag != b'I' || !imp.is_ascii_alphanumeric() || !(1..=256).contains(&n_digits) {
        return;
    }
    // cbSize = header (≤ 128 bytes) + nDigits · digit size (16, 32 or 64 bytes).
    let n = n_digits as usize;
    let Some(ds) = [64usize, 32, 16]
        .into_iter()
        .find(|&ds| (cb as usize) >= n * ds + 32 && (cb as usize) <= n * ds + 128)
    else {
        return;
    };
    let len = (n * ds).min(MAX_LIMBS * 8);
    if let Some(bytes) = data.get(o + 32..o + 32 + len) {
        push(out, bytes, o + 32, Container::SymcryptInt, Repr::Le);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Region, RegionKind};
    use crate::keys::testkeys::noise;

    fn random_limbs(n: usize, seed: u64) -> Vec<u64> {
        let b = noise(n * 8, seed);
        let mut v = limbs::decode(&b, Repr::Le).unwrap();
        v.resize(n, 1);
        v[n - 1] |= 1 << 63;
        v[0] |= 1;
        v
    }

    fn space_for(len: u64, base: u64) -> AddressSpace {
        let mut s = AddressSpace::default();
        let r = Region {
            file_offset: 0,
            len,
            address: Some(base),
            kind: RegionKind::Memory,
            label: "memory".into(),
            truncated: false,
        };
        s.finish_with(&[r]);
        s
    }

    #[test]
    fn each_container_yields_its_value() {
        let base = 0x7f00_0000_0000u64;
        let mut data = vec![0u8; 1 << 16];
        let v = random_limbs(16, 1);
        let le = limbs::encode(&v, 1024, Repr::Le);
        // BIGNUM at 0x100 → limbs at 0x1000.
        data[0x1000..0x1080].copy_from_slice(&le);
        data[0x100..0x108].copy_from_slice(&(base + 0x1000).to_le_bytes());
        data[0x108..0x110].copy_from_slice(&(16u64 | 17 << 32).to_le_bytes());
        data[0x110..0x118].copy_from_slice(&(1u64 << 32).to_le_bytes()); // neg 0, flags 1
                                                                         // Go slice at 0x200 → limbs at 0x2000.
        data[0x2000..0x2080].copy_from_slice(&le);
        data[0x200..0x208].copy_from_slice(&(base + 0x2000).to_le_bytes());
        data[0x208..0x210].copy_from_slice(&16u64.to_le_bytes());
        data[0x210..0x218].copy_from_slice(&20u64.to_le_bytes());
        // Java int[] at 0x3000 (compressed class pointer).
        data[0x3000..0x3008].copy_from_slice(&1u64.to_le_bytes());
        data[0x3008..0x300c].copy_from_slice(&0x0008_1234u32.to_le_bytes());
        data[0x300c..0x3010].copy_from_slice(&32u32.to_le_bytes());
        data[0x3010..0x3090].copy_from_slice(&limbs::encode(&v, 1024, Repr::JavaWords));
        // .NET byte[] at 0x4000.
        data[0x4000..0x4008].copy_from_slice(&(base + 0x10).to_le_bytes());
        data[0x4008..0x4010].copy_from_slice(&128u64.to_le_bytes());
        data[0x4010..0x4090].copy_from_slice(&limbs::encode(&v, 1024, Repr::Be));
        // SymCrypt INT at 0x5000: 'g','I' tag, 4 digits of 32 bytes.
        data[0x5000..0x5004].copy_from_slice(&0x6749_0000u32.to_le_bytes());
        data[0x5004..0x5008].copy_from_slice(&4u32.to_le_bytes());
        data[0x5008..0x500c].copy_from_slice(&(4 * 32 + 64u32).to_le_bytes());
        data[0x5020..0x50a0].copy_from_slice(&le);

        let space = space_for(data.len() as u64, base);
        let mut out = Vec::new();
        scan(&data, 0, data.len(), 0, Some(&space), &mut out);
        let got: Vec<(Container, usize)> = out
            .iter()
            .filter(|c| c.value == v)
            .map(|c| (c.container, c.offset))
            .collect();
        for want in [
            (Container::Bignum, 0x1000),
            (Container::GoSlice, 0x2000),
            (Container::JavaIntArray, 0x3010),
            (Container::DotnetByteArray, 0x4010),
            (Container::SymcryptInt, 0x5020),
        ] {
            assert!(got.contains(&want), "{want:?} missing from {got:?}");
        }
        // Without an address map the pointer-based containers are skipped.
        let mut out = Vec::new();
        scan(&data, 0, data.len(), 0, None, &mut out);
        assert!(out
            .iter()
            .all(|c| !matches!(c.container, Container::Bignum | Container::GoSlice)));
    }

    #[test]
    fn noise_and_zeros_yield_nothing() {
        let space = space_for(1 << 20, 0x7f00_0000_0000);
        let mut out = Vec::new();
        scan(&noise(1 << 20, 5), 0, 1 << 20, 0, Some(&space), &mut out);
        assert!(out.is_empty(), "{}", out.len());
        scan(&vec![0u8; 1 << 20], 0, 1 << 20, 0, Some(&space), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn hostile_headers_stay_in_bounds() {
        // Headers that point or extend past the end of the data.
        let mut data = vec![0u8; 4096];
        data[4056..4064].copy_from_slice(&(0x7f00_0000_0000u64 + 4000).to_le_bytes());
        data[4064..4072].copy_from_slice(&(256u64 | 256 << 32).to_le_bytes());
        data[4000..4008].copy_from_slice(&1u64.to_le_bytes());
        data[4012..4016].copy_from_slice(&512u32.to_le_bytes());
        let space = space_for(4096, 0x7f00_0000_0000);
        let mut out = Vec::new();
        scan(&data, 0, data.len(), 0, Some(&space), &mut out);
        assert!(out.is_empty());
    }
}
