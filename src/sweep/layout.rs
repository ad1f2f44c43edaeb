//! A compact picture of a dump's file layout and address space, kept per dump in the state
//! and in the JSON Lines (`sweep.layout`) so the HTML report can draw where each finding sits
//! — also when it is rebuilt from merged shard outputs.
//!
//! A full-memory dump can have tens of thousands of regions; a picture needs a few hundred at
//! most, so neighbouring regions are merged into at most [`MAX_SPANS`] spans.

use crate::input::{Region, RegionKind};
use serde::{Deserialize, Serialize};

pub const MAX_SPANS: usize = 256;
const MAX_LABEL: usize = 80;

/// One stretch of the file: `[off, off+len)`, what it is, and its first virtual address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub off: u64,
    pub len: u64,
    /// `m` memory, `p` physical memory, `s` stream/note, `h` header.
    pub kind: char,
    /// Hex address of the first byte, for memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    pub label: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub size: u64,
    pub spans: Vec<Span>,
}

fn kind_char(k: RegionKind) -> char {
    match k {
        RegionKind::Memory => 'm',
        RegionKind::Physical => 'p',
        RegionKind::Stream => 's',
        RegionKind::Header => 'h',
    }
}

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        return label.to_string();
    }
    let mut s: String = label.chars().take(MAX_LABEL - 1).collect();
    s.push('…');
    s
}

impl Layout {
    /// Summarises `regions` (sorted by file offset, as the parsers leave them) of a file of
    /// `size` bytes.
    pub fn of(regions: &[Region], size: u64) -> Layout {
        let group = regions.len().div_ceil(MAX_SPANS).max(1);
        let spans = regions
            .chunks(group)
            .map(|g| {
                let first = &g[0];
                let end = g.iter().map(Region::end).max().unwrap_or(first.end());
                // The group's kind: memory if any of it is memory (that is where keys live).
                let kind = g
                    .iter()
                    .map(|r| r.kind)
                    .find(|k| matches!(k, RegionKind::Memory | RegionKind::Physical))
                    .unwrap_or(first.kind);
                Span {
                    off: first.file_offset.min(size),
                    len: end.min(size).saturating_sub(first.file_offset.min(size)),
                    kind: kind_char(kind),
                    addr: first.address.map(|a| format!("{a:#x}")),
                    label: if g.len() == 1 {
                        short(&first.label)
                    } else {
                        format!("{} regions from {}", g.len(), short(&first.label))
                    },
                }
            })
            .collect();
        Layout { size, spans }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_span_count_and_keeps_coverage() {
        let regions: Vec<Region> = (0..10_000u64)
            .map(|i| Region::memory(i * 100, 100, 0x1000_0000 + i * 0x1000))
            .collect();
        let l = Layout::of(&regions, 1_000_000);
        assert!(l.spans.len() <= MAX_SPANS);
        assert_eq!(l.spans[0].off, 0);
        let last = l.spans.last().unwrap();
        assert_eq!(last.off + last.len, 1_000_000);
        assert_eq!(l.spans[0].addr.as_deref(), Some("0x10000000"));
    }

    #[test]
    fn clamps_regions_past_the_end() {
        let r = vec![Region::other(900, 500, RegionKind::Stream, "x".repeat(500))];
        let l = Layout::of(&r, 1000);
        assert_eq!((l.spans[0].off, l.spans[0].len), (900, 100));
        assert!(l.spans[0].label.chars().count() <= MAX_LABEL);
    }
}
