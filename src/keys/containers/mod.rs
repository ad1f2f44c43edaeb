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
    if two_small_limbs(bytes, r) {
        return;
    }
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

/// Whether two non-zero limbs of the value have their top 16 bits clear, read in place. Then
/// [`looks_random`] fails (non-zero limbs survive trimming), so [`push`] drops the value
/// without decoding it: heap words (pointers, lengths, small counters) pass the header tests
/// of the Java and .NET arrays at most offsets, and decoding up to 1 KiB per offset only to
/// refuse it was a quarter of the CPU of scanning a heap.
fn two_small_limbs(bytes: &[u8], r: Repr) -> bool {
    let mut small = 0;
    let mut i = 0;
    while let Some(l) = limbs::limb_at(bytes, r, i) {
        if l != 0 && l >> 48 == 0 {
            small += 1;
            if small == 2 {
                return true;
            }
        }
        i += 1;
    }
    false
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
///
/// Eight header positions (64 bytes) are screened at once by [`screen`] (in vector registers
/// where the CPU has AVX2), and [`header_at`] runs only at the positions it keeps: on the
/// 1.5 GB python core 93% of positions (text, code, random bytes, zeros, most heap words)
/// failed even a looser first version of the screen, and testing each word with
/// data-dependent branches had made this pass an eighth of a scan's CPU.
pub fn scan(
    data: &[u8],
    start: usize,
    end: usize,
    delta: u64,
    space: Option<&AddressSpace>,
    out: &mut Vec<Candidate>,
) {
    scan_with(data, start, end, delta, space, out, true)
}

/// [`scan`], with the vector screen when `simd` (and the CPU has AVX2) or the word-by-word
/// one (the unit tests compare them).
fn scan_with(
    data: &[u8],
    start: usize,
    end: usize,
    delta: u64,
    space: Option<&AddressSpace>,
    out: &mut Vec<Candidate>,
    simd: bool,
) {
    let first = start + ((8 - (start as u64).wrapping_add(delta) % 8) % 8) as usize;
    // Blocks whose every screened byte is in the data and whose eight positions are before
    // `end`; then the tail word by word.
    let blocks = end
        .saturating_sub(first)
        .min(data.len().saturating_sub(first + SCREEN_REACH - 64))
        / 64;
    if blocks > 0 {
        #[cfg(target_arch = "x86_64")]
        if simd && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), and `blocks` keeps every
            // block's screen reach inside `data` (computed just above).
            unsafe { avx2::scan_blocks(data, first, blocks, delta, space, out) };
        } else {
            scan_blocks(data, first, blocks, delta, space, out);
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = simd;
            scan_blocks(data, first, blocks, delta, space, out);
        }
    }
    let mut o = first + 64 * blocks;
    while o < end && header_at(data, o, delta, space, out) {
        o += 8;
    }
}

/// Bytes past a block's start that a screen reads: up to the last word's `infinity` byte.
const SCREEN_REACH: usize = rust::SIGNING_KEY_INFINITY + 64;

/// The two positions of every block of 8 (from `first`) at 32-byte aligned addresses.
fn aligned32_lanes(first: usize, delta: u64) -> u8 {
    let k = (32 - (first as u64).wrapping_add(delta) % 32) % 32 / 8;
    0x11 << k
}

/// `blocks` blocks of 64 bytes from `first`, screened word by word; the caller checked that
/// each block's screen reach is in the data.
fn scan_blocks(
    data: &[u8],
    first: usize,
    blocks: usize,
    delta: u64,
    space: Option<&AddressSpace>,
    out: &mut Vec<Candidate>,
) {
    let aligned32 = aligned32_lanes(first, delta);
    for b in 0..blocks {
        let o = first + 64 * b;
        let mut m = 0u8;
        for i in 0..8 {
            let at = o + 8 * i;
            let w = |k: usize| u64_at(data, at + k).unwrap_or(0);
            let (w0, w1, inf) = (w(0), w(8), w(rust::SIGNING_KEY_INFINITY));
            m |= u8::from(screen(w0, w1, inf, aligned32 >> i & 1 != 0)) << i;
        }
        while m != 0 {
            header_at(data, o + 8 * m.trailing_zeros() as usize, delta, space, out);
            m &= m - 1;
        }
    }
}

/// Whether [`header_at`] may find a candidate at a position whose first two words are `w0`
/// and `w1` and whose word at +96 is `inf` (`aligned32`: at a 32-byte aligned address). A pure
/// prefilter: false means `header_at` returns without a candidate, because every container
/// it tries needs one of
/// * the word at +8 in [3, `SMALL_MAX`] (BIGNUM `top` ≥ 4, Go `len` ≥ 3, Java length ≥ 6 in
///   the high half, .NET length ≥ 24) or a plausible pointer (Java without compressed class
///   pointers), *and* a plausible pointer at +0 (BIGNUM and Go data, .NET MethodTable) or a
///   word with low bits 001 below 2^39 there (a Java mark word, a `SmallVec`'s tag 1);
/// * else, for a RustCrypto signing key, a zero `infinity` byte at +96;
/// * for a SymCrypt integer (either branch), a 32-byte aligned address and the 'I' tag
///   byte at +2.
///
/// [`avx2::screen`] is the same test, four positions at a time; the unit test
/// `screen_is_a_pure_prefilter` compares both with testing every position.
#[inline(always)]
fn screen(w0: u64, w1: u64, inf: u64, aligned32: bool) -> bool {
    let counted = w1.wrapping_sub(3) <= SMALL_MAX - 3 || plausible_pointer(w1);
    let object = plausible_pointer(w0) || (w0 & 7 == 1 && w0 >> 39 == 0);
    let rust = w1 > SMALL_MAX && inf & 0xff == 0;
    let symcrypt = aligned32 && w0 & 0xff_0000 == u64::from(b'I') << 16;
    (counted && object) || rust || symcrypt
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{header_at, AddressSpace, Candidate, SCREEN_REACH, SMALL_MAX};
    use std::arch::x86_64::*;

    /// [`super::scan_blocks`] with [`screen`].
    ///
    /// # Safety
    /// The CPU must support AVX2, and `first + 64 · (blocks − 1) + SCREEN_REACH` must not
    /// exceed `data.len()`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scan_blocks(
        data: &[u8],
        first: usize,
        blocks: usize,
        delta: u64,
        space: Option<&AddressSpace>,
        out: &mut Vec<Candidate>,
    ) {
        assert!(blocks == 0 || first + 64 * (blocks - 1) + SCREEN_REACH <= data.len());
        let aligned32 = super::aligned32_lanes(first, delta);
        // Lanes (of four) at 32-byte aligned addresses, as all-ones words.
        let k = aligned32.trailing_zeros() as usize;
        let mut lanes = [0i64; 4];
        lanes[k] = -1;
        let sym_lanes = _mm256_loadu_si256(lanes.as_ptr().cast());
        for b in 0..blocks {
            let o = first + 64 * b;
            // SAFETY: o + 64 + 96 ≤ o + SCREEN_REACH ≤ data.len() (asserted above).
            let p = data.as_ptr().add(o);
            let lo = screen(p, sym_lanes);
            let hi = screen(p.add(32), sym_lanes);
            let mut m = (lo | hi << 4) as u8;
            while m != 0 {
                header_at(data, o + 8 * m.trailing_zeros() as usize, delta, space, out);
                m &= m - 1;
            }
        }
    }

    /// Unsigned `x < c` in each 64-bit lane (AVX2 compares signed: flip the sign bits).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn below(x: __m256i, c: i64) -> __m256i {
        let sign = _mm256_set1_epi64x(i64::MIN);
        _mm256_cmpgt_epi64(_mm256_set1_epi64x(c ^ i64::MIN), _mm256_xor_si256(x, sign))
    }

    /// `x` in [lo, lo + len) in each lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn within(x: __m256i, lo: i64, len: i64) -> __m256i {
        below(_mm256_sub_epi64(x, _mm256_set1_epi64x(lo)), len)
    }

    /// `x & m == v` in each lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn masked_eq(x: __m256i, m: i64, v: i64) -> __m256i {
        _mm256_cmpeq_epi64(
            _mm256_and_si256(x, _mm256_set1_epi64x(m)),
            _mm256_set1_epi64x(v),
        )
    }

    /// A plausible user-space pointer ([`super::plausible_pointer`]) in each lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn pointer(w: __m256i) -> __m256i {
        _mm256_and_si256(within(w, 0x10000, (1 << 47) - 0x10000), masked_eq(w, 7, 0))
    }

    /// [`super::screen`] for the four positions at `p`, as the low 4 bits.
    ///
    /// # Safety
    /// AVX2, and `p + SCREEN_REACH - 32` bytes readable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn screen(p: *const u8, sym_lanes: __m256i) -> i32 {
        let w0 = _mm256_loadu_si256(p.cast());
        let w1 = _mm256_loadu_si256(p.add(8).cast());
        let inf = _mm256_loadu_si256(p.add(super::rust::SIGNING_KEY_INFINITY).cast());
        let small = within(w1, 3, SMALL_MAX as i64 - 2);
        let counted = _mm256_or_si256(small, pointer(w1));
        let mark = _mm256_and_si256(masked_eq(w0, 7, 1), below(w0, 1 << 39));
        let object = _mm256_or_si256(pointer(w0), mark);
        // w1 > SMALL_MAX and a zero byte at +96.
        let large = _mm256_andnot_si256(below(w1, SMALL_MAX as i64 + 1), masked_eq(inf, 0xff, 0));
        let tag = _mm256_and_si256(masked_eq(w0, 0xff_0000, i64::from(b'I') << 16), sym_lanes);
        let any = _mm256_or_si256(
            _mm256_or_si256(_mm256_and_si256(counted, object), large),
            tag,
        );
        _mm256_movemask_pd(_mm256_castsi256_pd(any))
    }
}

/// Every container header that may start at `o`; false when the data ends before its word
/// at +8 (nothing further can start).
#[inline(never)]
fn header_at(
    data: &[u8],
    o: usize,
    delta: u64,
    space: Option<&AddressSpace>,
    out: &mut Vec<Candidate>,
) -> bool {
    let Some(w1) = u64_at(data, o + 8) else {
        return false;
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
        return true;
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
    true
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
    // The object header before the MethodTable pointer: on 64-bit CoreCLR its first half is
    // `ObjHeader::m_alignpad`, never written (debug runtimes assert it is zero), the second
    // the sync block value. Other runtimes' objects with a pointer and a small count at the
    // same places have no such zero word before them: CPython's `bytes` (refcount, type,
    // size, hash, data) made hundreds of false arrays, each a d·G to rule out, per Linux dump.
    if o >= 8 && u32_at(data, o - 8) != Some(0) {
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

    /// The in-place test `push` starts with only drops what the full check would drop: on
    /// heap-like words (pointers, small counters, zeros), random limbs with one or two small
    /// words planted, and values whose small words sit only in the trimmed top, every
    /// representation gives the same candidates as decoding first.
    #[test]
    fn small_limb_test_is_a_pure_prefilter() {
        fn reference(out: &mut Vec<Candidate>, bytes: &[u8], r: Repr) {
            let Some(value) = limbs::decode(bytes, r) else {
                return;
            };
            let bits = limbs::bits(&value);
            if bits >= MIN_BITS && value.len() <= MAX_LIMBS && looks_random(&value) {
                out.push(Candidate {
                    value,
                    offset: 0,
                    len: bytes.len(),
                    container: Container::Bignum,
                });
            }
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut kept, mut total) = (0, 0);
        for round in 0..4000 {
            let words = 3 + (next() % 40) as usize;
            let mut v: Vec<u64> = (0..words).map(|_| next()).collect();
            match round % 4 {
                0 => v.iter_mut().for_each(|w| {
                    *w = [0, 0x7ffd_1234_5678 & next(), next() % 512, *w][(*w % 4) as usize]
                }),
                1 => v[(next() as usize) % words] >>= 20,
                2 => {
                    v[(next() as usize) % words] >>= 20;
                    v[(next() as usize) % words] &= 0xffff;
                }
                _ => {
                    let top = words - 1;
                    v[top] = 0;
                    v[top - 1] &= 0xff;
                }
            }
            let mut bytes: Vec<u8> = v.iter().flat_map(|w| w.to_le_bytes()).collect();
            bytes.truncate(bytes.len() - (next() % 8) as usize);
            for r in [
                Repr::Le,
                Repr::Be,
                Repr::BeSigned,
                Repr::JavaWords,
                Repr::Go63,
            ] {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                push(&mut a, &bytes, 0, Container::Bignum, r);
                reference(&mut b, &bytes, r);
                assert_eq!(a.len(), b.len(), "round {round} {r:?}");
                assert!(a.iter().zip(&b).all(|(a, b)| a.value == b.value));
                kept += a.len();
                total += 1;
            }
        }
        // Both outcomes occur: the comparison is not vacuous.
        assert!(kept > 1000 && kept < total, "{kept} of {total}");
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

    /// The scan without [`screen`]: every position through [`header_at`].
    fn scan_word_by_word(
        data: &[u8],
        start: usize,
        end: usize,
        delta: u64,
        space: Option<&AddressSpace>,
    ) -> Vec<(Vec<u64>, usize, usize, Container)> {
        let mut out = Vec::new();
        let mut o = start + ((8 - (start as u64).wrapping_add(delta) % 8) % 8) as usize;
        while o < end && header_at(data, o, delta, space, &mut out) {
            o += 8;
        }
        out.into_iter()
            .map(|c| (c.value, c.offset, c.len, c.container))
            .collect()
    }

    /// Words that pass or nearly pass each header test, at random places among random words,
    /// zeros and zero bytes: the screened scan finds exactly what the word-by-word one does.
    #[test]
    fn screen_is_a_pure_prefilter() {
        let base = 0x7f00_0000_0000u64;
        let len = 1 << 18;
        let pool = |r: u64, i: u64| -> u64 {
            match r % 16 {
                0 => 0,
                1 => r >> 61,                                // 0..7
                2 => 3 + (r >> 56),                          // small counts
                3 => (r >> 55) | ((r >> 40) & 0x1fff) << 32, // top/dmax-like pairs
                4 => (base + ((r >> 20) % len as u64)) & !7, // pointers into the dump
                5 => SMALL_MAX + (r >> 62),                  // the small bound
                6 => 0x10000 + (r >> 63) * 8,                // the pointer bounds
                7 => (1 << 47) - 8 + (r >> 63) * 8,
                8 => 0x0049_0000 | (r & 0xff00_0000_0000_00ff), // SymCrypt 'I' tags
                9 => 1 | (r >> 40) << 8,                        // Java mark words
                10 => r & 0x00ff_ffff_ffff_ffff,                // a zero top byte
                11 => r & !0xff,                                // a zero low byte
                _ => r.rotate_left(i as u32),
            }
        };
        for seed in 0..12u64 {
            let words = noise(len, 100 + seed);
            let mut data = Vec::with_capacity(len);
            for (i, c) in words.chunks_exact(8).enumerate() {
                let r = u64::from_le_bytes(c.try_into().unwrap());
                // Runs of one kind, as memory has them, and mixtures.
                let kind_seed = if seed % 2 == 0 {
                    r
                } else {
                    r ^ (i as u64 / 64)
                };
                data.extend_from_slice(&pool(kind_seed, i as u64).to_le_bytes());
            }
            // Plant real headers too (a BIGNUM, a .NET array) so hits are not all misses.
            let v = random_limbs(8, seed);
            data[0x8000..0x8040].copy_from_slice(&limbs::encode(&v, 512, Repr::Le));
            data[0x800..0x808].copy_from_slice(&(base + 0x8000).to_le_bytes());
            data[0x808..0x810].copy_from_slice(&(8u64 | 9 << 32).to_le_bytes());
            data[0x810..0x818].copy_from_slice(&0u64.to_le_bytes());
            // A SymCrypt INT whose padding word makes the word at +8 neither small nor a
            // pointer (only its tag byte lets it through the screen), and a RustCrypto
            // signing key (only its `infinity` byte does).
            let at = 0x1000 + 32 * (seed as usize % 4);
            data[at..at + 4].copy_from_slice(&0x6749_0000u32.to_le_bytes());
            data[at + 4..at + 8].copy_from_slice(&2u32.to_le_bytes());
            data[at + 8..at + 12].copy_from_slice(&(2 * 32 + 64u32).to_le_bytes());
            data[at + 12..at + 16].copy_from_slice(&0xdead_beefu32.to_le_bytes());
            data[at + 32..at + 96].copy_from_slice(&limbs::encode(&v, 512, Repr::Le));
            let key = rust::tests::p256_key(&noise(32, seed));
            // A Java int[] (mark word, compressed klass, length 16), a Go slice, a .NET
            // byte[] and a spilled BigUint, all of `v`.
            let put = |data: &mut Vec<u8>, at: usize, words: &[u64]| {
                for (i, w) in words.iter().enumerate() {
                    data[at + 8 * i..at + 8 * i + 8].copy_from_slice(&w.to_le_bytes());
                }
            };
            put(&mut data, 0x5000, &[0x4d2 << 8 | 1, 0x0008_1234 | 16 << 32]);
            data[0x5010..0x5050].copy_from_slice(&limbs::encode(&v, 512, Repr::JavaWords));
            put(&mut data, 0x5100, &[base + 0x8000, 8, 9]);
            put(&mut data, 0x5200, &[base + 0x10, 64]);
            data[0x5210..0x5250].copy_from_slice(&limbs::encode(&v, 512, Repr::Be));
            put(&mut data, 0x5300, &[1, 8, base + 0x8000, 0, 0, 8]);
            data[0x3008 + 8 * seed as usize..][..key.len()].copy_from_slice(&key);
            let space = space_for(len as u64, base);
            for (start, end, delta) in [
                (0, len, 0),
                (3, len - 5, 0),
                (8, len, 8),
                (0, len - 100, 16),
                (1, len, 3),
                (len - 300, len, 0),
                (5, len, 24),
                (16, len - 64, 0x1234_5678_9ab8),
                (0, len, u64::MAX - 15),
            ] {
                for (sp, simd) in [(Some(&space), true), (None, true), (Some(&space), false)] {
                    let mut out = Vec::new();
                    scan_with(&data, start, end, delta, sp, &mut out, simd);
                    let got: Vec<_> = out
                        .into_iter()
                        .map(|c| (c.value, c.offset, c.len, c.container))
                        .collect();
                    let want = scan_word_by_word(&data, start, end, delta, sp);
                    assert_eq!(got, want, "seed {seed} {start} {end} {delta}");
                    if (start, end, delta) == (0, len, 0) && sp.is_some() {
                        for c in [
                            Container::Bignum,
                            Container::GoSlice,
                            Container::JavaIntArray,
                            Container::DotnetByteArray,
                            Container::RustBigUint,
                            Container::SymcryptInt,
                            Container::RustCryptoScalar,
                        ] {
                            assert!(got.iter().any(|g| g.3 == c), "{c:?} not planted");
                        }
                    }
                }
            }
        }
        // Random bytes and zeros alone, and a signing key's `infinity` bytes everywhere.
        let mut sparse = noise(len, 7);
        for i in (96..len).step_by(8) {
            sparse[i] = 0;
        }
        for data in [noise(len, 6), vec![0u8; len], sparse] {
            for simd in [true, false] {
                let mut out = Vec::new();
                scan_with(&data, 0, len, 0, None, &mut out, simd);
                assert_eq!(out.len(), scan_word_by_word(&data, 0, len, 0, None).len());
            }
        }
    }

    /// A .NET `byte[]` needs its object header's zero pad word before the MethodTable
    /// pointer: the same array with CPython's refcount there (a `bytes` object: refcount,
    /// type, size, hash, data) is not taken for one.
    #[test]
    fn dotnet_array_needs_the_zero_header_pad() {
        let base = 0x7f00_0000_0000u64;
        let v = random_limbs(4, 5);
        let object = |pad: u64| {
            let mut data = vec![0u8; 4096];
            data[0x1f8..0x200].copy_from_slice(&pad.to_le_bytes());
            data[0x200..0x208].copy_from_slice(&(base + 0x40).to_le_bytes());
            data[0x208..0x210].copy_from_slice(&32u64.to_le_bytes());
            data[0x210..0x230].copy_from_slice(&limbs::encode(&v, 256, Repr::Be));
            let mut out = Vec::new();
            scan(
                &data,
                0,
                data.len(),
                0,
                Some(&space_for(4096, base)),
                &mut out,
            );
            out.iter()
                .any(|c| c.container == Container::DotnetByteArray && c.offset == 0x210)
        };
        // CLR: pad 0, sync block value anything.
        assert!(object(0));
        assert!(object(0x0800_0000 << 32));
        // CPython: a refcount of 1, 3, or an immortal one.
        for refcount in [1u64, 3, 0xffff_ffff, 0xc000_0000] {
            assert!(!object(refcount), "{refcount:#x}");
        }
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
