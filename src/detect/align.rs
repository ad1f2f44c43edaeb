//! Alignment in the dumped process, not in the file. Runtimes align big-integer arrays and
//! object headers to 8 bytes of *virtual address*; a container may store a memory range at
//! any file offset (minidump memory lists are packed back to back). Detectors that test only
//! aligned positions ask here which file offsets are 8-aligned in memory.

use crate::input::{Region, RegionKind};

/// Spans of `[start, end)` with `delta` = address − file offset (wrapping), so the address
/// of file offset `o` is `o + delta`. Memory regions with an address give their own delta;
/// bytes outside them get 0 (raw images, container streams: file alignment). Every byte of
/// the range is in some span.
pub fn spans(regions: &[Region], start: usize, end: usize) -> Vec<(usize, usize, u64)> {
    let mut out = Vec::new();
    // Regions are sorted by file offset; look back a little for regions starting earlier
    // that still overlap (they may be long), bounded as `locate` bounds its search.
    let idx = regions.partition_point(|r| (r.file_offset as usize) < end);
    let mut covered: Vec<(usize, usize)> = Vec::new();
    for r in regions[..idx].iter().rev().take(4096) {
        let (Some(addr), true) = (
            r.address,
            matches!(r.kind, RegionKind::Memory | RegionKind::Physical),
        ) else {
            continue;
        };
        let (rs, re) = (r.file_offset as usize, r.end() as usize);
        let (s, e) = (rs.max(start), re.min(end));
        if s >= e {
            continue;
        }
        // Only the low bits matter to alignment tests; keep them so equal deltas merge.
        let delta = addr.wrapping_sub(r.file_offset) % 64;
        out.push((s, e, delta));
        covered.push((s, e));
    }
    // Gaps get the file's own alignment.
    covered.sort_unstable();
    let mut at = start;
    for (s, e) in covered {
        if s > at {
            out.push((at, s, 0));
        }
        at = at.max(e);
    }
    if at < end {
        out.push((at, end, 0));
    }
    out.sort_unstable();
    out.dedup();
    // Merge neighbours with the same phase so rolling windows are not restarted needlessly.
    let mut merged: Vec<(usize, usize, u64)> = Vec::with_capacity(out.len());
    for (s, e, p) in out {
        match merged.last_mut() {
            Some(last) if last.2 == p && s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e, p)),
        }
    }
    merged
}

/// The first file offset ≥ `at` whose address (`offset + delta`) is a multiple of `m`
/// (a power of two).
pub fn first_aligned(at: usize, delta: u64, m: u64) -> usize {
    let mis = (at as u64).wrapping_add(delta) % m;
    at + ((m - mis) % m) as usize
}

#[cfg(test)] // the unit tests state the alignment rule directly
/// Whether file offset `o` sits at an address that is a multiple of `m` (a power of two).
pub fn is_aligned(o: usize, delta: u64, m: u64) -> bool {
    (o as u64).wrapping_add(delta) % m == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_addresses() {
        let regions = vec![
            Region::memory(100, 1000, 0x7000_0000), // 100 ≡ 4 (mod 8) holds an aligned address
            Region::memory(1100, 50, 0x8000_0003),
        ];
        let s = spans(&regions, 0, 2000);
        let d1 = 0x7000_0000u64.wrapping_sub(100) % 64;
        let d2 = 0x8000_0003u64.wrapping_sub(1100) % 64;
        assert_eq!(
            s,
            vec![
                (0, 100, 0),
                (100, 1100, d1),
                (1100, 1150, d2),
                (1150, 2000, 0)
            ]
        );
        assert_eq!(first_aligned(100, d1, 8), 100);
        assert_eq!(first_aligned(101, d1, 8), 108);
        assert_eq!(first_aligned(1100, d2, 8), 1105);
        assert!(is_aligned(1105, d2, 8) && !is_aligned(1104, d2, 8));
        assert_eq!(first_aligned(0, 0, 8), 0);
        assert_eq!(spans(&[], 5, 9), vec![(5, 9, 0)]);
    }
}
