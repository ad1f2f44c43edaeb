//! Every occurrence of a few long byte strings in a large haystack, found by sampling it.
//!
//! The raw-private-integer pass searches a whole dump for the private integers of the keys
//! the scan proved: a few dozen strings of 24 to ≈ 1000 random bytes. A multi-pattern
//! automaton (Teddy, then verification) still looks at every byte, and on the 1.5 GB python
//! core that pass was a seventh of a scan's CPU. But an occurrence of a string of `L` bytes
//! covers every window of 8 bytes starting in its first `L − 7` bytes, so reading one 8-byte
//! word every `stride = min L − 7` bytes meets every occurrence at least once: each word read
//! is looked up among all 8-byte windows of all the strings (a bit table first, which rejects
//! almost every word of a dump, then a map), and a hit is confirmed by comparing the whole
//! string. For RSA-2048 integers that is one look-up per ≈ 120 bytes.
//!
//! The matches are then the ones `aho_corasick`'s leftmost-longest search reports (the unit
//! tests compare both): occurrences in ascending start, the longest at a start, the next one
//! only after the end of the previous.

use std::collections::HashMap;

/// Bytes of the word read at each sampled position.
const W: usize = 8;
/// log2 of the bit table's size in bits: 2^21 bits = 256 KiB, in L2.
const BITS: u32 = 21;
/// Windows indexed in all, and windows of one word value: beyond them (thousands of keys, or
/// a string repeating one word, which no random integer does) the caller uses an automaton.
const MAX_WINDOWS: usize = 1 << 20;
const MAX_SAME_WORD: usize = 8;
/// Sampled positions between two settlements of the pending occurrences.
const BATCH: usize = 1 << 14;

pub struct Sampled<'p> {
    patterns: &'p [Vec<u8>],
    stride: usize,
    longest: usize,
    bits: Box<[u64]>,
    /// Word value → (pattern, offset of the word in it).
    index: HashMap<u64, Vec<(u32, u32)>>,
}

#[inline(always)]
fn word(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..W].try_into().unwrap_or_default())
}

#[inline(always)]
fn slot(w: u64) -> usize {
    (w.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BITS)) as usize
}

impl<'p> Sampled<'p> {
    /// `None` when sampling would not pay or not be exact: no pattern, one shorter than two
    /// words, too many windows, or a word repeated within the patterns.
    pub fn new(patterns: &'p [Vec<u8>]) -> Option<Sampled<'p>> {
        let shortest = patterns.iter().map(Vec::len).min()?;
        if shortest < 2 * W || patterns.len() > u32::MAX as usize {
            return None;
        }
        let windows: usize = patterns.iter().map(|p| p.len() - W + 1).sum();
        if windows > MAX_WINDOWS {
            return None;
        }
        let mut bits = vec![0u64; (1 << BITS) / 64].into_boxed_slice();
        let mut index: HashMap<u64, Vec<(u32, u32)>> = HashMap::new();
        for (pi, p) in patterns.iter().enumerate() {
            for off in 0..=p.len() - W {
                let w = word(&p[off..]);
                let s = slot(w);
                bits[s / 64] |= 1 << (s % 64);
                let at = index.entry(w).or_default();
                if at.len() == MAX_SAME_WORD {
                    return None;
                }
                at.push((pi as u32, off as u32));
            }
        }
        Some(Sampled {
            patterns,
            stride: shortest - W + 1,
            longest: patterns.iter().map(Vec::len).max().unwrap_or(0),
            bits,
            index,
        })
    }

    /// The leftmost-longest, non-overlapping matches in `hay` that start before `owned_end`,
    /// at most `limit` of them, as (pattern, start, end).
    pub fn find(&self, hay: &[u8], owned_end: usize, limit: usize) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        // Found occurrences (start, pattern) not yet settled, and where the next match may
        // start.
        let mut pending: Vec<(usize, usize)> = Vec::new();
        let mut cursor = 0;
        let last = hay.len().saturating_sub(W);
        let mut p = 0;
        while p <= last && hay.len() >= W {
            let batch_end = p.saturating_add(BATCH * self.stride).min(last + 1);
            while p < batch_end {
                let w = word(&hay[p..]);
                let s = slot(w);
                if self.bits[s / 64] >> (s % 64) & 1 != 0 {
                    self.confirm(hay, p, w, &mut pending);
                }
                p += self.stride;
            }
            // Every occurrence starting before `p − longest` has been met by a sample: those
            // can be settled in order.
            let settled = if p > last {
                usize::MAX
            } else {
                p.saturating_sub(self.longest)
            };
            if self.settle(
                &mut pending,
                settled,
                &mut cursor,
                owned_end,
                limit,
                &mut out,
            ) {
                break;
            }
        }
        out
    }

    fn confirm(&self, hay: &[u8], p: usize, w: u64, pending: &mut Vec<(usize, usize)>) {
        for &(pi, off) in self.index.get(&w).into_iter().flatten() {
            let Some(start) = p.checked_sub(off as usize) else {
                continue;
            };
            let pat = &self.patterns[pi as usize];
            if hay.get(start..start + pat.len()) == Some(pat.as_slice()) {
                pending.push((start, pi as usize));
            }
        }
    }

    /// Turns the pending occurrences starting before `settled` into matches; true when no
    /// more are wanted.
    fn settle(
        &self,
        pending: &mut Vec<(usize, usize)>,
        settled: usize,
        cursor: &mut usize,
        owned_end: usize,
        limit: usize,
        out: &mut Vec<(usize, usize, usize)>,
    ) -> bool {
        let len = |pi: usize| self.patterns[pi].len();
        // Ascending start, then longest first (equal lengths: lowest index, as the automaton).
        pending.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then(len(b.1).cmp(&len(a.1)))
                .then(a.1.cmp(&b.1))
        });
        pending.dedup();
        let ready = pending.partition_point(|&(s, _)| s < settled);
        for &(start, pi) in &pending[..ready] {
            if start >= owned_end || out.len() >= limit {
                return true;
            }
            if start >= *cursor {
                *cursor = start + len(pi);
                out.push((pi, start, *cursor));
            }
        }
        pending.drain(..ready);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::testkeys::noise;
    use aho_corasick::{AhoCorasickBuilder, MatchKind};

    fn automaton(
        patterns: &[Vec<u8>],
        hay: &[u8],
        owned_end: usize,
        limit: usize,
    ) -> Vec<(usize, usize, usize)> {
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)
            .unwrap();
        let mut v = Vec::new();
        for m in ac.find_iter(hay) {
            if m.start() < owned_end && v.len() < limit {
                v.push((m.pattern().as_usize(), m.start(), m.end()));
            }
        }
        v
    }

    #[test]
    fn same_matches_as_the_automaton() {
        let a = noise(300, 1);
        let b = noise(40, 2);
        // A prefix of `a` (overlaps it at the same start: the longer wins) and a string that
        // starts inside `a`'s tail (overlaps it: only the first of the two is reported).
        let patterns = vec![
            a.clone(),
            b.clone(),
            a[..120].to_vec(),
            [&a[250..], &b[..20]].concat(),
        ];
        let mut hay = noise(5000, 3);
        let mut put = |at: usize, p: &[u8]| hay[at..at + p.len()].copy_from_slice(p);
        put(0, &b);
        put(100, &a);
        put(100 + 250, &[&a[250..], &b[..20]].concat());
        put(1000, &a[..120]);
        put(1500, &b);
        put(1540, &b);
        put(2000, &[&a[250..], &b[..20]].concat());
        put(2050, &b);
        put(4960, &b);
        let s = Sampled::new(&patterns).unwrap();
        for owned_end in [hay.len(), 1540, 1541, 4000] {
            for limit in [usize::MAX, 0, 1, 3] {
                let want = automaton(&patterns, &hay, owned_end, limit);
                assert_eq!(s.find(&hay, owned_end, limit), want, "{owned_end} {limit}");
            }
        }
        // b@0, a@100 (not its prefix, not the string inside its tail), a[..120]@1000,
        // b@1500, b@1540, the tail string@2000 (not the b overlapping it), b@4960.
        assert_eq!(automaton(&patterns, &hay, hay.len(), 99).len(), 7);
    }

    #[test]
    fn dense_repeats_across_batches() {
        // More occurrences than one batch settles, back to back and one byte apart.
        let p = noise(24, 9);
        let mut hay = Vec::new();
        for i in 0..3000 {
            hay.extend_from_slice(&p);
            hay.extend(std::iter::repeat(0xAA).take(i % 3));
        }
        let patterns = vec![p];
        let s = Sampled::new(&patterns).unwrap();
        assert_eq!(
            s.find(&hay, hay.len(), usize::MAX),
            automaton(&patterns, &hay, hay.len(), usize::MAX)
        );
        assert_eq!(
            s.find(&hay, hay.len(), 7),
            automaton(&patterns, &hay, hay.len(), 7)
        );
    }

    #[test]
    fn declines_what_sampling_cannot_do_exactly() {
        assert!(Sampled::new(&[]).is_none());
        assert!(Sampled::new(&[vec![1; 15]]).is_none());
        // One word repeated inside a pattern.
        assert!(Sampled::new(&[vec![7; 64]]).is_none());
        assert!(Sampled::new(&[noise(64, 5)]).is_some());
    }
}
