//! Finding every occurrence of every detector anchor, fast.
//!
//! The obvious tool, an Aho-Corasick automaton in overlapping mode, walks its state machine
//! one byte at a time (about 300 MB/s per core whatever the data) because overlapping search
//! cannot use a prefilter. Almost every byte of a dump matches nothing, so skipping quickly
//! to the few places where an anchor may start matters far more than the automaton itself.
//!
//! So anchors are searched with a vectorised *non-overlapping, leftmost-longest* searcher
//! (Teddy, from `aho_corasick::packed`: several GB/s on binary data), and the overlapping
//! semantics the engine promises are rebuilt around it:
//!
//! - after a match starting at `s`, the search resumes at `s + 1`, not at the match end, so
//!   every start position that has any match is visited;
//! - at a start position, the leftmost-longest match `L` is the longest anchor there; every
//!   other anchor occurring at the same position is a prefix of `L` (all of them are prefixes
//!   of the bytes at `s`), so it is reported from a table of `L`'s prefixes built once.
//!
//! Together these report exactly the set `find_overlapping_iter` reports, each hit once (the
//! tests below check it against the automaton on adversarial inputs).

use aho_corasick::{packed, AhoCorasick, AhoCorasickKind, Input, MatchKind, Span};

/// Teddy's own limit: beyond 64 patterns it refuses (its buckets saturate).
const GROUP_MAX: usize = 64;

/// The compiled anchor set.
pub struct AnchorSet {
    groups: Vec<Group>,
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
        // Distinct byte strings, sorted: a prefix sorts right before the strings extending
        // it, so prefix families mostly land in the same group.
        let mut distinct: Vec<&[u8]> = anchors
            .iter()
            .map(Vec::as_slice)
            .filter(|a| !a.is_empty())
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
                                !a.is_empty() && long.starts_with(a) && members.contains(&a)
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
        AnchorSet { groups }
    }

    /// Calls `hit(pos, anchor)` for every occurrence of every anchor that lies wholly inside
    /// `hay` and starts before `owned_end`. Within a group, hits come in ascending position.
    pub fn for_each_hit(&self, hay: &[u8], owned_end: usize, mut hit: impl FnMut(usize, usize)) {
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
        let set = AnchorSet::new(anchors);
        let mut v = Vec::new();
        set.for_each_hit(hay, owned_end, |p, a| v.push((p, a)));
        v.sort_unstable();
        v
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
    fn more_anchors_than_one_group_holds() {
        // 200 distinct anchors, some prefixes of others across group boundaries.
        let anchors: Vec<Vec<u8>> = (0..200u32)
            .map(|i| format!("k{}", i).into_bytes())
            .collect();
        let hay: Vec<u8> = (0..400u32)
            .flat_map(|i| format!("k{} ", i * 7 % 250).into_bytes())
            .collect();
        let set = AnchorSet::new(&anchors);
        assert!(set.groups.len() > 1);
        assert_eq!(
            ours(&anchors, &hay, hay.len()),
            reference(&anchors, &hay, hay.len())
        );
    }
}
