//! LiME physical-memory images: a chain of 32-byte range headers, each followed by the
//! range's bytes (504ensicsLabs/LiME doc/README.md, "Memory Range Header Version 1").
//! Addresses are physical; there is no process or virtual-address attribution.

use super::le::{u32_at, u64_at};
use super::{Layout, Region, RegionKind};

const MAGIC: u32 = 0x4C69_4D45;
const HEADER_LEN: u64 = 32;
/// A chain longer than this is hostile; real images have tens of ranges (AVML-style writers
/// that split ranges into 16 MiB blocks, a few thousand).
const MAX_RANGES: usize = 1 << 19;

pub fn is_lime(data: &[u8]) -> bool {
    u32_at(data, 0) == Some(MAGIC) && u32_at(data, 4) == Some(1)
}

pub fn parse(data: &[u8]) -> Layout {
    let mut l = Layout::new();
    l.space.physical = true;
    let file_len = data.len() as u64;
    let mut off = 0u64;
    let mut n = 0usize;
    while off < file_len {
        if n >= MAX_RANGES {
            l.limit("LiME: too many ranges; the rest is scanned without addresses");
            break;
        }
        let (Some(magic), Some(version), Some(start), Some(end)) = (
            u32_at(data, off),
            u32_at(data, off + 4),
            u64_at(data, off + 8),
            u64_at(data, off + 16),
        ) else {
            l.lost(format_args!("LiME: range header at {off:#x} truncated"));
            break;
        };
        if magic != MAGIC || version != 1 || end < start {
            l.lost(format_args!("LiME: invalid range header at {off:#x}"));
            break;
        }
        l.region(Region::other(
            off,
            HEADER_LEN,
            RegionKind::Header,
            "LiME range header",
        ));
        // The end address is inclusive.
        let Some(len) = (end - start).checked_add(1) else {
            l.lost("LiME: range length overflows");
            break;
        };
        let data_off = off + HEADER_LEN;
        let avail = file_len.saturating_sub(data_off);
        let kept = len.min(avail);
        if kept > 0 {
            let mut r = Region::memory(data_off, kept, start);
            r.kind = RegionKind::Physical;
            r.label = "physical memory".into();
            r.truncated = kept < len;
            l.region(r);
        }
        if kept < len {
            l.lost(format_args!(
                "LiME: range {start:#x}-{end:#x} cut off by the end of the file ({} bytes missing)",
                len - kept
            ));
            break;
        }
        // Each range consumes its 32-byte header, so the walk ends; kept == len here, and
        // data_off + len <= file_len.
        off = data_off + len;
        n += 1;
    }
    l.description = Some(format!("LiME physical memory image, {n} ranges"));
    l
}
