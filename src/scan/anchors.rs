//! Finding every occurrence of every detector anchor, fast.
//!
//! The obvious tool, an Aho-Corasick automaton in overlapping mode, walks its state machine
//! one byte at a time (about 300 MB/s per core whatever the data) because overlapping search
//! cannot use a prefilter. Almost every byte of a dump matches nothing, so skipping quickly
//! to the few places where an anchor may start matters far more than the automaton itself.
//!
//! Anchors of three bytes or more (all of the built-in ones) are found by one *atom filter*
//! ([`Grams`]), the way YARA picks atoms: each anchor is represented by three-byte windows
//! inside its first bytes least likely to occur in a dump (two consecutive ones, so that one
//! of them starts at an even position: [`Plan`]), every even position of the dump is looked
//! up once in a 2^19-bit table of those atoms' hashes, and only positions whose bit is set
//! are compared with the anchors that own that atom. One pass serves all ≈ 300 anchors (PEM
//! and DER markers, wrappers, the token rules' keywords in ASCII and UTF-16LE). With AVX2 the
//! look-up runs 16 positions per step with gathers ([`candidates_avx2`]); the scalar loop
//! uses the same table, so the candidates never depend on the CPU. It replaced five Teddy passes (`aho_corasick::packed`, at most 64 patterns
//! each): with 64 patterns in 16 nibble-mask buckets, Teddy's candidates stopped being rare
//! and each pass ran at ≈ 1 GB/s on a real core dump even where no anchor occurred. Atoms
//! were byte pairs looked up at every position before: on the python core that passed 14.5 M
//! positions (1%, UTF-16 and ASCII text); now 2.2 M even positions pass.
//! The filter reports every hit of every anchor, overlapping ones included, so nothing needs
//! rebuilding; hits come in ascending position.
//!
//! Shorter anchors (none built in; a user rule may declare one) keep the vectorised
//! *non-overlapping, leftmost-longest* searcher (Teddy), with the overlapping semantics the
//! engine promises rebuilt around it:
//!
//! - after a match starting at `s`, the search resumes at `s + 1`, not at the match end, so
//!   every start position that has any match is visited;
//! - at a start position, the leftmost-longest match `L` is the longest anchor there; every
//!   other anchor occurring at the same position is a prefix of `L` (all of them are prefixes
//!   of the bytes at `s`), so it is reported from a table of `L`'s prefixes built once.
//!
//! Together these report exactly the set `find_overlapping_iter` reports, each hit once (the
//! tests below check both paths against the automaton on adversarial inputs).

use aho_corasick::{packed, AhoCorasick, AhoCorasickKind, Input, MatchKind, Span};

/// Teddy's own limit: beyond 64 patterns it refuses (its buckets saturate).
const GROUP_MAX: usize = 64;

/// The compiled anchor set.
pub struct AnchorSet {
    /// Anchors of at least [`MIN_GRAM`] bytes.
    grams: Option<Grams>,
    /// Shorter anchors.
    groups: Vec<Group>,
}

/// Anchors at least this long go through the atom filter.
const MIN_GRAM: usize = 3;
/// An atom is this many consecutive bytes of an anchor. Three bytes are far rarer in a dump
/// than two: on the 1.5 GB python core the byte-pair filter passed 1% of all positions (text
/// and UTF-16 text are full of `72 20`, `00 70`), each a table search and a comparison.
const ATOM: usize = 3;
/// Only every `STRIDE`-th position is looked up: the look-ups (gathers) bound the filter, so
/// this halves its time. Each anchor gives the table atoms at two consecutive offsets (two of
/// its own, or one and 256 with a wildcard byte, see [`Plan`]), so one of them sits at an even
/// position wherever the anchor starts.
const STRIDE: usize = 2;
/// An anchor's atoms are chosen among its first `MAX_ATOM_OFFSET + ATOM + 1` bytes: far
/// enough to step over a PEM header's dashes or a run of zeros, near enough that hits stay
/// almost in order.
const MAX_ATOM_OFFSET: usize = 16;
/// Atom positions per block; hits of a block are sorted before they are dispatched.
const GRAM_BLOCK: usize = 64 << 10;
/// Bits of the atom hash: a 2^19-bit table (64 KiB, in L1 and L2). The ≈ 2600 atoms of the
/// built-in anchors (about 2300 of them from nine wildcard plans) leave 99.5% of its bits
/// clear. Measured on the python core: 2^17 bits with every position looked up gave 2.0 M
/// candidates; a stride of two gave 6.5 M with 2^18 bits and 2.2 M with 2^19.
const HASH_BITS: u32 = 19;
/// `u32` words of the table.
const TABLE_WORDS: usize = 1 << (HASH_BITS - 5);
/// The first multiplier tried for the hash (odd: Knuth's 2^32 / φ); see [`choose_mul`]. The
/// hash keeps the top bits of the product, which depend on every bit of the 24-bit atom.
const HASH_MUL: u32 = 0x9E37_79B1;
/// Multipliers tried at most when building the table.
const MUL_TRIES: u32 = 32;

/// The atom starting at `i` as a little-endian integer (`b0 | b1 << 8 | b2 << 16`).
#[inline(always)]
fn atom_at(bytes: &[u8], i: usize) -> u32 {
    u32::from(bytes[i]) | u32::from(bytes[i + 1]) << 8 | u32::from(bytes[i + 2]) << 16
}

/// The table bit of an atom. The SIMD kernels compute the same function lane by lane.
#[inline(always)]
fn atom_hash(atom: u32, mul: u32) -> u32 {
    atom.wrapping_mul(mul) >> (32 - HASH_BITS)
}

/// Bit `h` of the table is set when some anchor's atom hashes to `h`.
type Table = [u32; TABLE_WORDS];

/// The atom filter (see the module documentation).
struct Grams {
    table: Box<Table>,
    /// Every anchor once, sorted by (hash, anchor index).
    entries: Vec<Entry>,
    /// The caller's anchors, by index.
    patterns: Vec<Vec<u8>>,
    max_off: usize,
    /// The anchors of [`Plan::After`]: compared directly where they end the data.
    at_end: Vec<u32>,
    /// The hash multiplier ([`choose_mul`]).
    mul: u32,
    /// The candidate loop this CPU runs; every kernel finds the same candidates.
    kernel: Kernel,
}

struct Entry {
    hash: u32,
    atom: u32,
    /// Where the atom starts inside the anchor: the anchor starts at `position - off` (-1 for
    /// the atoms that start one byte before a three-byte anchor).
    off: i32,
    anchor: u32,
}

/// How the table is looked up. Chosen once, when the set is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    /// One position at a time; any CPU.
    Scalar,
    /// 32 positions per step with AVX2 gathers (x86-64 only).
    Avx2,
}

impl Kernel {
    fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            return Kernel::Avx2;
        }
        Kernel::Scalar
    }
}

/// How likely bytes are to occur in a dump, roughly: zero, 0xFF and space fill, digits and
/// lower-case text, and runs of one byte (`----`, `::::`) are common; UTF-16LE text puts a
/// zero in every pair.
fn atom_cost(atom: &[u8]) -> u32 {
    let mut cost = 0;
    for (i, &b) in atom.iter().enumerate() {
        cost += match b {
            0x00 => 4,
            0xff => 3,
            b' ' | b'-' | b'=' | b'/' | b'\n' | b'e' | b't' | b'a' | b'o' | b's' => 2,
            b'0'..=b'9' | b'a'..=b'z' => 1,
            _ => 0,
        };
        if i > 0 && atom[i - 1] == b {
            cost += 2;
        }
    }
    cost
}

/// Which atoms represent an anchor in the table; see [`STRIDE`]. Every plan gives an atom at
/// an even position wherever the anchor starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// The atoms at offsets `o` and `o + 1`.
    Pair(usize),
    /// The atom at offset 0, and the 256 atoms "any byte, then the first two" at offset -1.
    Before,
    /// The last atom, and the 256 atoms "the last two bytes, then any byte" one further.
    /// Three bytes before the end of the data that atom would run past the end, so an anchor
    /// ending exactly there is compared directly ([`Grams::at_end`]).
    After,
}

/// What a wildcard atom costs on top of its two known bytes: its 256 table bits.
const WILDCARD_COST: u32 = 8;

/// The plan whose more common atom looks rarest (then the lower sum, then the earlier
/// offset): a pair of exact atoms usually, a wildcard where the anchor is short or its only
/// rare bytes are at one end (`\x06\x02\0\0`: `02 00 00` fills every table of small integers).
fn plan(a: &[u8]) -> Plan {
    let cost = |o: usize| atom_cost(&a[o..o + ATOM]);
    let mut options: Vec<((u32, u32), Plan)> = Vec::new();
    if a.len() > ATOM {
        for o in 0..=(a.len() - ATOM - 1).min(MAX_ATOM_OFFSET) {
            let (x, y) = (cost(o), cost(o + 1));
            options.push(((x.max(y), x + y), Plan::Pair(o)));
        }
    }
    let (x, y) = (cost(0), atom_cost(&a[..2]) + WILDCARD_COST);
    options.push(((x.max(y), x + y), Plan::Before));
    if a.len() - ATOM <= MAX_ATOM_OFFSET {
        let o = a.len() - ATOM;
        let (x, y) = (cost(o), atom_cost(&a[o + 1..]) + WILDCARD_COST);
        options.push(((x.max(y), x + y), Plan::After));
    }
    // `min_by_key` keeps the first of equal options: pairs, then `Before`, then `After`.
    options
        .into_iter()
        .min_by_key(|&(score, _)| score)
        .map(|(_, p)| p)
        .expect("a plan")
}

/// Three-byte values that fill process images: one byte among zeros (little-endian small
/// integers, the high bytes of pointers, padding), one byte among 0xFF, UTF-16LE text
/// (`c 00 d`). On the python core, with a fixed multiplier, `00 00 01` alone hashed onto a
/// wildcard atom's bit and made 5.4 M candidates.
fn frequent_atoms() -> Vec<u32> {
    let mut v = Vec::with_capacity(6 * 256 + 95 * 95);
    for b in 0..=255u32 {
        for shift in [0, 8, 16] {
            v.push(b << shift);
            v.push(0x00ff_ffff & !(0xff << shift) | b << shift);
        }
    }
    for c in 0x20..0x7f {
        for d in 0x20..0x7f {
            v.push(c | d << 16);
        }
    }
    v
}

/// The hash multiplier: the first of [`MUL_TRIES`] odd ones for which the fewest
/// [`frequent_atoms`] that are no atom land on an atom's bit. Only speed depends on it (a
/// candidate is compared with the atoms themselves); the choice is deterministic.
fn choose_mul(entries: &[Entry]) -> u32 {
    let mut atoms: Vec<u32> = entries.iter().map(|e| e.atom).collect();
    atoms.sort_unstable();
    atoms.dedup();
    let frequent: Vec<u32> = frequent_atoms()
        .into_iter()
        .filter(|x| atoms.binary_search(x).is_err())
        .collect();
    let mut bits = vec![0u64; 1 << (HASH_BITS - 6)];
    let mut best = (usize::MAX, HASH_MUL);
    for t in 0..MUL_TRIES {
        let mul = HASH_MUL.wrapping_add(t.wrapping_mul(0x2545_F492));
        bits.fill(0);
        for &a in &atoms {
            let h = atom_hash(a, mul);
            bits[(h >> 6) as usize] |= 1 << (h & 63);
        }
        let collisions = frequent
            .iter()
            .filter(|&&x| {
                let h = atom_hash(x, mul);
                bits[(h >> 6) as usize] & (1 << (h & 63)) != 0
            })
            .count();
        if collisions < best.0 {
            best = (collisions, mul);
        }
        if collisions == 0 {
            break;
        }
    }
    best.1
}

/// Candidate positions of one block: every even `i` with `i + ATOM <= bytes.len()` whose
/// atom's table bit is set, in an order that depends only on the kernel (the caller sorts hits).
/// Kept apart from the checks so the loop keeps its few values in registers.
#[inline(never)]
fn atom_candidates(kernel: Kernel, table: &Table, mul: u32, bytes: &[u8], out: &mut Vec<u32>) {
    match kernel {
        Kernel::Scalar => candidates_scalar(table, mul, bytes, 0, out),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => {
            // SAFETY: `Kernel::Avx2` is only chosen (`Kernel::detect`, and the tests) where
            // the CPU has AVX2.
            unsafe { candidates_avx2(table, mul, bytes, out) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Avx2 => unreachable!("AVX2 is never detected off x86-64"),
    }
}

/// The candidates at positions `from..` (`from` even; the SIMD kernels' tail, and the whole
/// block on CPUs without them).
fn candidates_scalar(table: &Table, mul: u32, bytes: &[u8], from: usize, out: &mut Vec<u32>) {
    debug_assert!(from % STRIDE == 0);
    let mut i = from;
    while i + ATOM <= bytes.len() {
        let h = atom_hash(atom_at(bytes, i), mul);
        if (table[(h >> 5) as usize] >> (h & 31)) & 1 != 0 {
            out.push(i as u32);
        }
        i += STRIDE;
    }
}

/// The candidates of `bytes`, the 16 even positions of 32 per step: two unaligned 32-byte
/// loads at `i` and `i + 2` hold, in their eight dword lanes, the atoms at `i + 4·lane + 2k`
/// (the top byte masked off); each lane is hashed like [`atom_hash`]
/// (`vpmulld`, shift), its table word gathered (`vpgatherdd`) and the tested bit shifted to
/// the sign (`vpsllvd`), where `vmovmskps` collects it. The gathers bound the loop (eight
/// loads each), hence the stride; positions the last step cannot load go to
/// [`candidates_scalar`].
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn candidates_avx2(table: &Table, mul: u32, bytes: &[u8], out: &mut Vec<u32>) {
    use std::arch::x86_64::*;
    /// Bytes the last load of a step reads past `i`: the load at `i + 2` reads 32 bytes.
    const READ: usize = 2 + 32;
    /// How far ahead the data is prefetched.
    const PREFETCH: usize = 2048;
    let n = bytes.len();
    let p = bytes.as_ptr();
    let low24 = _mm256_set1_epi32(0x00ff_ffff);
    let factor = _mm256_set1_epi32(mul as i32);
    let low5 = _mm256_set1_epi32(31);
    let mut i = 0;
    while i + READ <= n {
        // The block is usually read here for the first time; the hardware prefetcher stops at
        // each 4 KiB page. A prefetch never faults, and `wrapping_add` keeps the address
        // computation defined past the end of `bytes`.
        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(i + PREFETCH).cast::<i8>());
        let mut mask = 0u32;
        for k in 0..2 {
            // SAFETY: reads `bytes[i + 2k .. i + 2k + 32]`, inside `bytes` because
            // `i + 2k + 32 <= i + READ <= n`; `loadu` has no alignment requirement.
            let v = unsafe { _mm256_loadu_si256(p.add(i + 2 * k).cast::<__m256i>()) };
            let product = _mm256_mullo_epi32(_mm256_and_si256(v, low24), factor);
            let h = _mm256_srli_epi32::<{ 32 - HASH_BITS as i32 }>(product);
            let word = _mm256_srli_epi32::<5>(h);
            // SAFETY: every index is a hash shifted right by 5, below
            // 2^(HASH_BITS - 5) = TABLE_WORDS, the length of `table` (scale 4 = its word
            // size), so every gathered word is inside `table`.
            let w = unsafe { _mm256_i32gather_epi32::<4>(table.as_ptr().cast::<i32>(), word) };
            // Bit `h & 31` to bit 31: shift left by `31 - (h & 31)` = `!h & 31`.
            let at_sign = _mm256_sllv_epi32(w, _mm256_andnot_si256(h, low5));
            mask |= (_mm256_movemask_ps(_mm256_castsi256_ps(at_sign)) as u32) << (8 * k);
        }
        while mask != 0 {
            let j = mask.trailing_zeros() as usize;
            out.push((i + 4 * (j & 7) + 2 * (j >> 3)) as u32);
            mask &= mask - 1;
        }
        i += 32;
    }
    candidates_scalar(table, mul, bytes, i, out);
}

impl Grams {
    /// `None` when no anchor is long enough.
    fn with_kernel(anchors: &[Vec<u8>], kernel: Kernel) -> Option<Grams> {
        let mut table = Box::new([0u32; TABLE_WORDS]);
        let mut entries = Vec::new();
        let mut max_off = 0;
        let mut at_end = Vec::new();
        for (i, a) in anchors.iter().enumerate() {
            if a.len() < MIN_GRAM {
                continue;
            }
            let mut add = |atom: u32, off: i32| {
                entries.push(Entry {
                    hash: 0,
                    atom,
                    off,
                    anchor: i as u32,
                });
            };
            match plan(a) {
                Plan::Pair(o) => {
                    add(atom_at(a, o), o as i32);
                    add(atom_at(a, o + 1), o as i32 + 1);
                    max_off = max_off.max(o + 1);
                }
                Plan::Before => {
                    add(atom_at(a, 0), 0);
                    let known = u32::from(a[0]) << 8 | u32::from(a[1]) << 16;
                    for before in 0..=255 {
                        add(before | known, -1);
                    }
                }
                Plan::After => {
                    let o = a.len() - ATOM;
                    add(atom_at(a, o), o as i32);
                    let known = u32::from(a[o + 1]) | u32::from(a[o + 2]) << 8;
                    for after in 0..=255 {
                        add(known | after << 16, o as i32 + 1);
                    }
                    max_off = max_off.max(o + 1);
                    at_end.push(i as u32);
                }
            }
        }
        if entries.is_empty() {
            return None;
        }
        let mul = choose_mul(&entries);
        for e in &mut entries {
            e.hash = atom_hash(e.atom, mul);
            table[(e.hash >> 5) as usize] |= 1 << (e.hash & 31);
        }
        entries.sort_unstable_by_key(|e| (e.hash, e.anchor, e.off));
        Some(Grams {
            table,
            entries,
            patterns: anchors.to_vec(),
            max_off,
            at_end,
            mul,
            kernel,
        })
    }

    /// Every (start, anchor) with the anchor wholly inside `hay` and `start < owned_end`, in
    /// ascending (start, anchor) order.
    fn for_each_hit(&self, hay: &[u8], owned_end: usize, hit: &mut impl FnMut(usize, usize)) {
        // Atom positions: an anchor starting before `owned_end` has its atom before
        // `owned_end + max_off`, and an atom needs `ATOM` bytes.
        let atoms_end = (owned_end + self.max_off).min(hay.len().saturating_sub(ATOM - 1));
        let mut pending: Vec<(usize, u32)> = Vec::new();
        let mut candidates: Vec<u32> = Vec::new();
        let mut from = 0;
        while from < atoms_end {
            let to = (from + GRAM_BLOCK).min(atoms_end);
            candidates.clear();
            atom_candidates(
                self.kernel,
                &self.table,
                self.mul,
                &hay[from..to + ATOM - 1],
                &mut candidates,
            );
            for &c in &candidates {
                self.verify(hay, from + c as usize, owned_end, &mut pending);
            }
            if to == atoms_end {
                for &a in &self.at_end {
                    let pattern = &self.patterns[a as usize];
                    // The wildcard atom starts at `start + len - 2`; it fits whenever the
                    // anchor ends before the data does.
                    if let Some(start) = hay.len().checked_sub(pattern.len()) {
                        if (start + pattern.len() - 2) % STRIDE == 0
                            && start < owned_end
                            && hay[start..] == pattern[..]
                        {
                            pending.push((start, a));
                        }
                    }
                }
            }
            // Hits starting before `to - max_off` are all known now: later atoms start later.
            pending.sort_unstable();
            let ready = if to == atoms_end {
                pending.len()
            } else {
                pending.partition_point(|&(s, _)| s + self.max_off < to)
            };
            for (s, a) in pending.drain(..ready) {
                hit(s, a as usize);
            }
            from = to;
        }
        debug_assert!(pending.is_empty());
    }

    /// The anchors whose atom sits at `i`.
    fn verify(&self, hay: &[u8], i: usize, owned_end: usize, out: &mut Vec<(usize, u32)>) {
        let atom = atom_at(hay, i);
        let hash = atom_hash(atom, self.mul);
        let first = self.entries.partition_point(|e| e.hash < hash);
        for e in self.entries[first..].iter().take_while(|e| e.hash == hash) {
            if e.atom != atom {
                continue;
            }
            let Some(start) = i.checked_add_signed(-e.off as isize) else {
                continue;
            };
            if start < owned_end && hay[start..].starts_with(&self.patterns[e.anchor as usize]) {
                out.push((start, e.anchor));
            }
        }
    }
}

/// Up to [`GROUP_MAX`] distinct anchor byte strings and one searcher over them.
struct Group {
    searcher: Searcher,
    /// For each pattern of the group: the anchors (indices into the caller's list) that
    /// occur wherever it occurs: itself, its duplicates, and the group's anchors that are a
    /// prefix of it. Ascending, so dispatch order is deterministic.
    implied: Vec<Vec<usize>>,
}

enum Searcher {
    /// SIMD Teddy (SSSE3/AVX2 on x86-64, NEON on aarch64).
    Teddy(packed::Searcher),
    /// Where Teddy is unavailable: a DFA with its own (rare-byte) prefilter, still far
    /// faster than the overlapping walk.
    Dfa(AhoCorasick),
}

impl Searcher {
    fn build(patterns: &[Vec<u8>]) -> Searcher {
        let teddy = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostLongest)
            .builder()
            .extend(patterns)
            .build();
        match teddy {
            Some(t) => Searcher::Teddy(t),
            None => Searcher::Dfa(
                AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::DFA))
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(patterns)
                    .expect("anchor patterns are few and short"),
            ),
        }
    }

    fn find(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        let m = match self {
            Searcher::Teddy(t) => t.find_in(hay, Span::from(from..hay.len())),
            Searcher::Dfa(ac) => ac.find(Input::new(hay).span(from..hay.len())),
        }?;
        Some((m.start(), m.pattern().as_usize()))
    }
}

impl AnchorSet {
    /// Compiles `anchors`; hits are reported by index into this slice. Empty anchors would
    /// match everywhere and are ignored.
    pub fn new(anchors: &[Vec<u8>]) -> AnchorSet {
        AnchorSet::with_kernel(anchors, Kernel::detect())
    }

    fn with_kernel(anchors: &[Vec<u8>], kernel: Kernel) -> AnchorSet {
        // Distinct byte strings, sorted: a prefix sorts right before the strings extending
        // it, so prefix families mostly land in the same group.
        let mut distinct: Vec<&[u8]> = anchors
            .iter()
            .map(Vec::as_slice)
            .filter(|a| !a.is_empty() && a.len() < MIN_GRAM)
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        let groups = pack(&distinct)
            .into_iter()
            .map(|members| {
                let implied = members
                    .iter()
                    .map(|long| {
                        (0..anchors.len())
                            .filter(|&i| {
                                let a = anchors[i].as_slice();
                                !a.is_empty()
                                    && a.len() < MIN_GRAM
                                    && long.starts_with(a)
                                    && members.contains(&a)
                            })
                            .collect()
                    })
                    .collect();
                let patterns: Vec<Vec<u8>> = members.iter().map(|m| m.to_vec()).collect();
                Group {
                    searcher: Searcher::build(&patterns),
                    implied,
                }
            })
            .collect();
        AnchorSet {
            grams: Grams::with_kernel(anchors, kernel),
            groups,
        }
    }

    /// Calls `hit(pos, anchor)` for every occurrence of every anchor that lies wholly inside
    /// `hay` and starts before `owned_end`: first those of the atom filter, in ascending
    /// (position, anchor) order, then the short anchors' group by group, each in ascending
    /// position.
    pub fn for_each_hit(&self, hay: &[u8], owned_end: usize, mut hit: impl FnMut(usize, usize)) {
        if let Some(g) = &self.grams {
            g.for_each_hit(hay, owned_end, &mut hit);
        }
        for g in &self.groups {
            let mut from = 0;
            while from < owned_end {
                let Some((start, pattern)) = g.searcher.find(hay, from) else {
                    break;
                };
                if start >= owned_end {
                    break;
                }
                for &a in &g.implied[pattern] {
                    hit(start, a);
                }
                from = start + 1;
            }
        }
    }
}

/// Splits the anchors into Teddy groups that stay fast on the bytes that fill real dumps.
///
/// Teddy finds candidates with per-bucket nibble masks of the first few bytes of its
/// patterns: a bucket accepts any byte whose low nibble *and* high nibble each occur at that
/// position in *some* pattern of the bucket. Put `06 02 00 00` (a CryptoAPI header), a UTF-16
/// `2d 00 2d 00` and `00 00 49 67` (SymCrypt) in one bucket and it accepts `00 00 00 00`: every
/// byte of every zero page becomes a candidate to verify and the pass slows tenfold (measured:
/// 4.7 s instead of 0.3 s of CPU per GiB for the wrapper anchors alone). Which patterns share
/// a bucket follows from their order (see [`teddy_buckets`]), so the packer adds an anchor to
/// the first group whose model does not start accepting a frequent window because of it, and
/// opens a new group otherwise. The grouping only changes speed, never which hits are found.
fn pack<'a>(distinct: &[&'a [u8]]) -> Vec<Vec<&'a [u8]>> {
    let windows = frequent_windows();
    let cost = |g: &[&[u8]]| accepted(g, &windows);
    // Each group with its current cost, so only the candidate grouping is modelled per try.
    let mut groups: Vec<(Vec<&[u8]>, usize)> = Vec::new();
    for &p in distinct {
        let alone = cost(&[p]);
        let mut placed = false;
        for (g, c) in groups.iter_mut() {
            if g.len() >= GROUP_MAX {
                continue;
            }
            g.push(p);
            let with = cost(g);
            if with <= *c + alone {
                *c = with;
                placed = true;
                break;
            }
            g.pop();
        }
        if !placed {
            groups.push((vec![p], alone));
        }
    }
    groups.into_iter().map(|(g, _)| g).collect()
}

/// Four-byte windows that cover most of a process image: zero, 0xFF and text fill, UTF-16
/// text, and the little-endian small integers and pointer halves of heap words.
fn frequent_windows() -> Vec<[u8; 4]> {
    let mut w: Vec<[u8; 4]> = [0x00, 0xff, b' ', b'A', b'0']
        .iter()
        .map(|&b| [b; 4])
        .collect();
    for c in [b' ', b'A', b'a'] {
        w.push([c, 0, c, 0]);
        w.push([0, c, 0, c]);
    }
    for v in (1u8..=0x10).chain([0x55, 0x56, 0x7f, 0xfe]) {
        for at in 0..4 {
            let mut x = [0u8; 4];
            x[at] = v;
            w.push(x);
        }
    }
    w
}

/// How many of `windows` some Teddy bucket of `group` would take as a candidate.
fn accepted(group: &[&[u8]], windows: &[[u8; 4]]) -> usize {
    let masks = teddy_buckets(group);
    windows
        .iter()
        .filter(|w| {
            masks.iter().any(|m| {
                m.iter()
                    .zip(w.iter())
                    .all(|(&(lo, hi), &b)| lo & (1 << (b & 15)) != 0 && hi & (1 << (b >> 4)) != 0)
            })
        })
        .count()
}

/// A model of how `aho_corasick::packed` (1.1) builds Teddy for `group`: the mask covers the
/// first `min(4, shortest)` bytes; fat Teddy (16 buckets) is used with AVX2 beyond 32
/// patterns, slim (8) otherwise; patterns are visited longest first (leftmost-longest), and a
/// pattern joins the bucket of an earlier one with the same low-nibble prefix or else bucket
/// `B - 1 - (its index mod B)`. Returns per bucket, per mask byte, the (low, high) nibble sets.
fn teddy_buckets(group: &[&[u8]]) -> Vec<Vec<(u16, u16)>> {
    let mask_len = group.iter().map(|p| p.len()).min().unwrap_or(1).min(4);
    let buckets = if group.len() > 32 && has_avx2() {
        16
    } else {
        8
    };
    let mut order: Vec<usize> = (0..group.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(group[i].len()));
    // Low-nibble prefixes packed in a u16 (mask_len ≤ 4), with their bucket.
    let mut by_prefix: Vec<(u16, usize)> = Vec::with_capacity(group.len());
    let mut masks = vec![vec![(0u16, 0u16); mask_len]; buckets];
    for id in order {
        let p = &group[id][..mask_len];
        let lonybs = p.iter().fold(0u16, |k, b| k << 4 | u16::from(b & 15));
        let b = match by_prefix.iter().find(|(k, _)| *k == lonybs) {
            Some(&(_, b)) => b,
            None => {
                let b = buckets - 1 - id % buckets;
                by_prefix.push((lonybs, b));
                b
            }
        };
        for (m, &byte) in masks[b].iter_mut().zip(p) {
            m.0 |= 1 << (byte & 15);
            m.1 |= 1 << (byte >> 4);
        }
    }
    masks.retain(|m| m.iter().any(|&(lo, _)| lo != 0));
    masks
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (position, anchor) the overlapping automaton reports, sorted.
    fn reference(anchors: &[Vec<u8>], hay: &[u8], owned_end: usize) -> Vec<(usize, usize)> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(anchors)
            .unwrap();
        let mut v: Vec<(usize, usize)> = ac
            .find_overlapping_iter(hay)
            .filter(|m| m.start() < owned_end)
            .map(|m| (m.start(), m.pattern().as_usize()))
            .collect();
        v.sort_unstable();
        v
    }

    fn ours(anchors: &[Vec<u8>], hay: &[u8], owned_end: usize) -> Vec<(usize, usize)> {
        let mut v = in_order(anchors, hay, owned_end);
        v.sort_unstable();
        v
    }

    /// The kernels this CPU can run: the scalar loop always, AVX2 where the CPU has it.
    fn kernels() -> Vec<Kernel> {
        let mut k = vec![Kernel::Scalar];
        if Kernel::detect() != Kernel::Scalar {
            k.push(Kernel::detect());
        }
        k
    }

    /// Hits in the order the engine dispatches them, the same with every kernel.
    fn in_order(anchors: &[Vec<u8>], hay: &[u8], owned_end: usize) -> Vec<(usize, usize)> {
        let runs: Vec<Vec<(usize, usize)>> = kernels()
            .into_iter()
            .map(|k| {
                let set = AnchorSet::with_kernel(anchors, k);
                let mut v = Vec::new();
                set.for_each_hit(hay, owned_end, |p, a| v.push((p, a)));
                v
            })
            .collect();
        assert!(runs.windows(2).all(|w| w[0] == w[1]), "kernels disagree");
        runs.into_iter().next().unwrap()
    }

    fn xorshift(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[test]
    fn anchors_that_overlap_nest_and_repeat_are_all_found() {
        let anchors: Vec<Vec<u8>> = [
            &b"ab"[..],
            b"abc",
            b"abcd",
            b"bcd",
            b"cd",
            b"abc", // a duplicate from another detector
            b"-----BEGIN ",
            b"--BEGIN",
            b"\x02\x01\x00\x02\x82",
            b"\x02\x01\x00",
            b"\x00\x02\x82",
        ]
        .iter()
        .map(|a| a.to_vec())
        .collect();
        let mut hay = Vec::new();
        hay.extend_from_slice(b"xxabcdxx----------BEGIN abcabcd");
        hay.extend_from_slice(b"\x02\x01\x00\x02\x82\x02\x01\x00\x02\x82\x01");
        hay.extend_from_slice(&[0; 100]);
        hay.extend_from_slice(b"abcd");
        let want = reference(&anchors, &hay, hay.len());
        assert!(want.len() > 20, "the reference itself found {}", want.len());
        assert_eq!(ours(&anchors, &hay, hay.len()), want);
        // A hit starting before the owned end but running past it is still reported; one
        // starting at or after it is not.
        for end in [0, 3, 4, 20, 33, hay.len() - 3] {
            assert_eq!(
                ours(&anchors, &hay, end),
                reference(&anchors, &hay, end),
                "{end}"
            );
        }
    }

    #[test]
    fn same_hits_as_the_overlapping_automaton_on_dense_random_input() {
        // A small alphabet makes anchors occur (and overlap) constantly.
        let anchors: Vec<Vec<u8>> = ["aab", "ab", "abab", "b", "bba", "aaaa", "abba", "ba"]
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect();
        let mut seed = 7;
        let hay: Vec<u8> = (0..20_000)
            .map(|_| b"ab"[(xorshift(&mut seed) % 2) as usize])
            .collect();
        assert_eq!(
            ours(&anchors, &hay, hay.len() - 5),
            reference(&anchors, &hay, hay.len() - 5)
        );
    }

    #[test]
    fn the_fallback_searcher_gives_the_same_hits() {
        // Teddy declines more than 16 patterns when one of them is a single byte.
        let mut anchors: Vec<Vec<u8>> = (b'a'..=b't').map(|c| vec![c]).collect();
        anchors.push(b"abc".to_vec());
        anchors.push(b"bcd".to_vec());
        let set = AnchorSet::new(&anchors);
        assert!(matches!(set.groups[0].searcher, Searcher::Dfa(_)));
        let hay = b"xxabcdxxtsrqponmlkjihgfedcbaabcabcd".repeat(50);
        assert_eq!(
            ours(&anchors, &hay, hay.len() - 7),
            reference(&anchors, &hay, hay.len() - 7)
        );
    }

    #[test]
    fn more_short_anchors_than_one_group_holds() {
        // 200 distinct two-byte anchors (too short for the atom filter): several Teddy groups.
        let anchors: Vec<Vec<u8>> = (0..200u8)
            .map(|i| vec![b'A' + i / 26, b'a' + i % 26])
            .collect();
        let mut seed = 11;
        let hay: Vec<u8> = (0..30_000)
            .map(|i| {
                let r = xorshift(&mut seed) as u8;
                if i % 2 == 0 {
                    b'A' + r % 9
                } else {
                    b'a' + r % 26
                }
            })
            .collect();
        let set = AnchorSet::new(&anchors);
        assert!(set.grams.is_none());
        assert!(set.groups.len() > 1);
        assert_eq!(
            ours(&anchors, &hay, hay.len()),
            reference(&anchors, &hay, hay.len())
        );
    }

    #[test]
    fn many_long_anchors_share_one_filter() {
        let anchors: Vec<Vec<u8>> = (0..300u32)
            .map(|i| format!("k{}", i * 3).into_bytes())
            .collect();
        let hay: Vec<u8> = (0..4000u32)
            .flat_map(|i| format!("k{} ", i * 7 % 999).into_bytes())
            .collect();
        let set = AnchorSet::new(&anchors);
        assert!(set.groups.len() == 1, "k0 … k9 are short");
        assert!(set.grams.is_some());
        assert_eq!(
            ours(&anchors, &hay, hay.len()),
            reference(&anchors, &hay, hay.len())
        );
    }

    #[test]
    fn atom_filter_finds_every_hit_across_blocks_in_ascending_order() {
        // Anchors whose best atom is deep inside them (after dashes, zeros, a repeated byte),
        // duplicates, prefixes of one another, three-byte ones; a hay of several filter
        // blocks, dense with hits, and owned ends around the block edges.
        let anchors: Vec<Vec<u8>> = [
            &b"-----BEGIN "[..],
            b"-----BEGIN RSA",
            b"---BEG",
            b"\x00\x00\x00\x00\x00\x00\x00\x00XYZ!",
            b"\x00\x00XY",
            b"aaaaaaaaaaaaaaaaaaaaQ",
            b"eyJ",
            b"eyJh",
            b"eyJ", // a duplicate from another detector
            b"::::",
            b":::",
            b"ABC",
        ]
        .iter()
        .map(|a| a.to_vec())
        .collect();
        let pieces: [&[u8]; 9] = [
            b"-----BEGIN RSA",
            b"---BEGIN ",
            b"\x00\x00\x00\x00\x00\x00\x00\x00\x00XYZ!",
            b"aaaaaaaaaaaaaaaaaaaaaaaQ",
            b"eyJhbeyJ",
            b"::::::",
            b"AB",
            b"C",
            b"\x00\x00",
        ];
        let mut seed = 3;
        let mut hay = Vec::new();
        while hay.len() < 3 * GRAM_BLOCK + 1000 {
            let r = xorshift(&mut seed);
            hay.extend_from_slice(pieces[(r % 9) as usize]);
            if r % 5 == 0 {
                hay.push((r >> 8) as u8);
            }
        }
        hay.extend_from_slice(b"xeyJ");
        for end in [
            hay.len(),
            hay.len() - 1,
            hay.len() - 3,
            GRAM_BLOCK - 5,
            GRAM_BLOCK,
            GRAM_BLOCK + 7,
            2 * GRAM_BLOCK + 16,
            0,
        ] {
            let want = reference(&anchors, &hay, end);
            let got = in_order(&anchors, &hay, end);
            assert!(
                got.windows(2).all(|w| w[0] < w[1]),
                "ascending, each once ({end})"
            );
            let mut sorted = got.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, want, "{end}");
        }
        assert!(reference(&anchors, &hay, hay.len()).len() > 10_000);
        // Hays shorter than a window.
        for hay in [&b"eyJ"[..], b"eyJh", b"ey", b"", b"ABC:::"] {
            assert_eq!(
                ours(&anchors, hay, hay.len()),
                reference(&anchors, hay, hay.len())
            );
        }
    }
    /// Anchors of 3 to 21 bytes whose atoms sit at every offset the filter allows, and bytes
    /// made of their bytes, so candidates, hits and near misses are dense.
    fn dense_case(seed: u64, len: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut s = seed;
        let alphabet = b"\x00\xff-BEGIN RSAkey\x02\x01\x30\x82";
        let mut anchors: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                let n = 3 + i % 19;
                (0..n)
                    .map(|_| alphabet[(xorshift(&mut s) % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect();
        anchors.push(b"-----BEGIN RSA PRIVATE KEY-----".to_vec());
        anchors.push(b"\x00\x00\x00".to_vec());
        let mut hay = Vec::with_capacity(len + 64);
        while hay.len() < len {
            let r = xorshift(&mut s);
            if r % 3 == 0 {
                hay.extend_from_slice(&anchors[(r >> 8) as usize % anchors.len()]);
            } else {
                hay.push(alphabet[(r >> 16) as usize % alphabet.len()]);
            }
        }
        hay.truncate(len);
        (anchors, hay)
    }

    #[test]
    fn the_avx2_kernel_finds_exactly_the_scalar_candidates() {
        #[cfg(target_arch = "x86_64")]
        {
            if !std::is_x86_feature_detected!("avx2") {
                return;
            }
            assert_eq!(Kernel::detect(), Kernel::Avx2);
            let (anchors, hay) = dense_case(5, 3000);
            let g = Grams::with_kernel(&anchors, Kernel::Avx2).unwrap();
            let run = |k: Kernel, bytes: &[u8]| {
                let mut v = Vec::new();
                atom_candidates(k, &g.table, g.mul, bytes, &mut v);
                v.sort_unstable();
                v
            };
            // Every length around the step (35 bytes read per 32 positions) and the tail,
            // at every alignment of a 32-byte vector.
            for start in 0..32 {
                for len in (0..100).chain([1000, 2967 - start]) {
                    let bytes = &hay[start..start + len];
                    let want = run(Kernel::Scalar, bytes);
                    assert_eq!(run(Kernel::Avx2, bytes), want, "{start} {len}");
                    if len >= ATOM {
                        // The brute-force definition: every position, its own bit.
                        let brute: Vec<u32> = (0..=len - ATOM)
                            .step_by(STRIDE)
                            .filter(|&i| {
                                let h = atom_hash(atom_at(bytes, i), g.mul);
                                g.table[(h >> 5) as usize] & (1 << (h & 31)) != 0
                            })
                            .map(|i| i as u32)
                            .collect();
                        assert_eq!(want, brute);
                    }
                }
            }
            let all = run(Kernel::Scalar, &hay);
            assert!(all.len() > 150, "dense: {}", all.len());
        }
    }

    #[test]
    fn anchors_at_every_offset_of_a_vector_and_at_the_very_end() {
        let anchors: Vec<Vec<u8>> = [
            &b"-----BEGIN "[..],
            b"\x30\x82",
            b"RSA",
            b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00XYZ",
            b"key",
            b"keys",
            b"eyJ",
            b"://",
            b"\x06\x02\x00\x00",
            b"\x00\x00Ig",
        ]
        .iter()
        .map(|a| a.to_vec())
        .collect();
        // Every kind of plan is exercised.
        assert_eq!(plan(b"eyJ"), Plan::After);
        assert_eq!(plan(b"\x00\x00Ig"), Plan::After);
        assert_eq!(plan(b"://"), Plan::Before);
        assert_eq!(plan(b"\x06\x02\x00\x00"), Plan::Before);
        assert!(matches!(plan(b"-----BEGIN "), Plan::Pair(_)));
        let mut seed = 9;
        let noise: Vec<u8> = (0..200).map(|_| xorshift(&mut seed) as u8).collect();
        // Built once: the automaton's hits are filtered by end below.
        let ac = AhoCorasick::new(&anchors).unwrap();
        let sets: Vec<AnchorSet> = kernels()
            .into_iter()
            .map(|k| AnchorSet::with_kernel(&anchors, k))
            .collect();
        for a in &anchors {
            for at in 0..70 {
                // The anchor at `at`, then nothing, or a few bytes, or a whole step more.
                for tail in [0, 1, 2, 5, 40] {
                    let mut hay = noise[..at].to_vec();
                    hay.extend_from_slice(a);
                    hay.extend_from_slice(&noise[100..100 + tail]);
                    let mut all: Vec<(usize, usize)> = ac
                        .find_overlapping_iter(&hay)
                        .map(|m| (m.start(), m.pattern().as_usize()))
                        .collect();
                    all.sort_unstable();
                    assert!(all.contains(&(at, anchors.iter().position(|x| x == a).unwrap())));
                    for end in hay.len().saturating_sub(45)..=hay.len() {
                        let want: Vec<_> = all.iter().copied().filter(|h| h.0 < end).collect();
                        for set in &sets {
                            let mut got = Vec::new();
                            set.for_each_hit(&hay, end, |p, a| got.push((p, a)));
                            got.sort_unstable();
                            assert_eq!(got, want, "{at} {tail} {end}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn both_kernels_match_the_automaton_on_dense_input_across_blocks() {
        let (anchors, hay) = dense_case(13, 2 * GRAM_BLOCK + 777);
        for end in [hay.len(), hay.len() - 1, hay.len() - 20, GRAM_BLOCK + 3, 1] {
            let want = reference(&anchors, &hay, end);
            assert_eq!(ours(&anchors, &hay, end), want, "{end}");
        }
        let n = reference(&anchors, &hay, hay.len()).len();
        assert!(n > 5_000, "{n}");
    }
}
