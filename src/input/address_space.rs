//! The virtual address space of a dumped process, as far as the container describes it:
//! where memory ranges live in the file (for pointer-following detectors), and which module,
//! thread stack or mapping an address belongs to (for attribution).

use super::{Region, RegionKind};
use serde::Serialize;

/// A labelled address range `[start, end)`.
#[derive(Debug, Clone, Serialize)]
pub struct MappedRange {
    pub start: u64,
    pub end: u64,
    pub label: String,
}

/// A thread stack `[start, end)`.
#[derive(Debug, Clone)]
pub struct StackRange {
    pub start: u64,
    pub end: u64,
    pub thread: u32,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct VaSpan {
    start: u64,
    end: u64,
    file_offset: u64,
}

/// Address-space index. Filled by the container parsers, then frozen by [`AddressSpace::finish`].
#[derive(Debug, Default)]
pub struct AddressSpace {
    /// Loaded images (PE/ELF/Mach-O modules).
    pub modules: Vec<MappedRange>,
    pub stacks: Vec<StackRange>,
    /// Other mappings: heap, file mappings, anonymous memory, with protection where known.
    pub mappings: Vec<MappedRange>,
    /// True when addresses are physical (LiME) rather than virtual.
    pub physical: bool,
    va: Vec<VaSpan>,
    /// The file cut into disjoint segments, each with the region [`locate`] reports for it
    /// (the innermost memory region covering it): one binary search per lookup, however many
    /// overlapping regions a hostile file declares.
    segments: Vec<Segment>,
    /// Number of regions `segments` was built from.
    indexed: usize,
}

/// From `start` to the next segment's start, offsets belong to region `region`
/// ([`NO_REGION`]: none).
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: u64,
    region: u32,
}

const NO_REGION: u32 = u32::MAX;

/// Where a file offset sits, in words a debug engineer reads.
#[derive(
    Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq, schemars::JsonSchema,
)]
pub struct Location {
    /// Hex string ("0x7ffc6381c022"): 64-bit addresses do not survive JSON numbers in
    /// JavaScript-based consumers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "hex_address",
        deserialize_with = "parse_hex_address"
    )]
    #[schemars(with = "Option<String>")]
    pub address: Option<u64>,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<u32>,
    /// For a dump inside an archive or compressed file: the member it was found in
    /// (`dir/core.1234`, nested members joined by `!`); offsets are in that member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

/// Reads back what [`hex_address`] wrote (`0x7ffc6381c022`): stored reports are read by the
/// sweep with the same types that wrote them.
fn parse_hex_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::Deserialize;
    let Some(s) = Option::<std::borrow::Cow<'de, str>>::deserialize(d)? else {
        return Ok(None);
    };
    let hex = s.strip_prefix("0x").unwrap_or(&s);
    u64::from_str_radix(hex, 16)
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("address '{s}' is not 0x<hex>")))
}

fn hex_address<S: serde::Serializer>(a: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.serialize_str(&format!("{a:#x}")),
        None => s.serialize_none(),
    }
}

/// How many overlapping candidates a lookup examines. Real dumps nest a handful of ranges
/// (a stack inside a mapping); a hostile one may stack thousands, and a lookup must stay cheap.
const MAX_PROBE: usize = 64;

fn find<T>(items: &[T], addr: u64, range: impl Fn(&T) -> (u64, u64)) -> Option<&T> {
    // Items are sorted by start; the candidate is among the last ones starting at or before
    // addr.
    let idx = items.partition_point(|i| range(i).0 <= addr);
    items[..idx].iter().rev().take(MAX_PROBE).find(|i| {
        let (s, e) = range(i);
        addr >= s && addr < e
    })
}

impl AddressSpace {
    /// Sorts the indexes and builds the address → file map from the memory regions.
    pub fn finish_with(&mut self, regions: &[Region]) {
        self.modules.sort_by_key(|m| (m.start, m.end));
        self.stacks.sort_by_key(|s| (s.start, s.end));
        self.mappings.sort_by_key(|m| (m.start, m.end));
        self.va = regions
            .iter()
            .filter(|r| matches!(r.kind, RegionKind::Memory | RegionKind::Physical))
            .filter_map(|r| {
                let start = r.address?;
                Some(VaSpan {
                    start,
                    end: start.checked_add(r.len)?,
                    file_offset: r.file_offset,
                })
            })
            .collect();
        self.va.sort_by_key(|v| (v.start, v.file_offset));
        self.segments = segments(regions);
        self.indexed = regions.len();
    }

    /// True when the dump gives a virtual-address map (pointer following is possible).
    pub fn has_va_map(&self) -> bool {
        !self.va.is_empty() && !self.physical
    }

    /// Translates an address to a file offset and the number of bytes available from there.
    pub fn to_file(&self, addr: u64) -> Option<(u64, u64)> {
        let v = find(&self.va, addr, |v| (v.start, v.end))?;
        Some((v.file_offset.checked_add(addr - v.start)?, v.end - addr))
    }

    pub fn module_at(&self, addr: u64) -> Option<&MappedRange> {
        find(&self.modules, addr, |m| (m.start, m.end))
    }

    pub fn stack_at(&self, addr: u64) -> Option<&StackRange> {
        find(&self.stacks, addr, |s| (s.start, s.end))
    }

    pub fn mapping_at(&self, addr: u64) -> Option<&MappedRange> {
        find(&self.mappings, addr, |m| (m.start, m.end))
    }

    /// Describes an address: thread stack first, then module, then mapping.
    pub fn describe(&self, addr: u64) -> (String, Option<String>, Option<u32>) {
        if let Some(s) = self.stack_at(addr) {
            let name = match &s.name {
                Some(n) => format!("stack of thread {} ({n})", s.thread),
                None => format!("stack of thread {}", s.thread),
            };
            return (name, None, Some(s.thread));
        }
        if let Some(m) = self.module_at(addr) {
            return (format!("module {}", m.label), Some(m.label.clone()), None);
        }
        if let Some(m) = self.mapping_at(addr) {
            return (m.label.clone(), None, None);
        }
        let what = if self.physical {
            "physical memory"
        } else {
            "memory"
        };
        (what.to_string(), None, None)
    }
}

/// Which of two regions covering the same byte describes it best: memory over other kinds,
/// then the shorter (innermost) one, then the earlier in the table (deterministic).
fn preference(i: usize, r: &Region) -> (bool, u64, usize) {
    let memory = matches!(r.kind, RegionKind::Memory | RegionKind::Physical);
    (!memory, r.len, i)
}

/// Sweeps region boundaries once (O(n log n)) to cut the file into segments that each have
/// one best region.
fn segments(regions: &[Region]) -> Vec<Segment> {
    use std::collections::BTreeSet;
    if regions.len() >= NO_REGION as usize {
        return Vec::new();
    }
    // (position, is_start, region index); ends sort before starts at the same position.
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(regions.len() * 2);
    for (i, r) in regions.iter().enumerate() {
        if r.len > 0 {
            events.push((r.file_offset, true, i));
            events.push((r.end(), false, i));
        }
    }
    events.sort_unstable();
    let mut active = BTreeSet::new();
    let mut out: Vec<Segment> = Vec::new();
    let mut k = 0;
    while k < events.len() {
        let pos = events[k].0;
        while k < events.len() && events[k].0 == pos {
            let (_, start, i) = events[k];
            let key = preference(i, &regions[i]);
            if start {
                active.insert(key);
            } else {
                active.remove(&key);
            }
            k += 1;
        }
        let region = active
            .first()
            .map(|&(_, _, i)| i as u32)
            .unwrap_or(NO_REGION);
        if out.last().map(|s| s.region) != Some(region) {
            out.push(Segment { start: pos, region });
        }
    }
    out
}

/// Computes the location of a file offset from the region table and address space.
/// `regions` must be the table `space` was finished with.
pub fn locate(regions: &[Region], space: &AddressSpace, offset: u64) -> Location {
    let best = if space.indexed == regions.len() {
        let idx = space.segments.partition_point(|s| s.start <= offset);
        idx.checked_sub(1)
            .map(|i| space.segments[i].region)
            .filter(|&r| r != NO_REGION)
            .and_then(|r| regions.get(r as usize))
            .filter(|r| r.contains(offset))
    } else {
        // A table the index was not built from: look at the nearest regions only.
        let idx = regions.partition_point(|r| r.file_offset <= offset);
        regions[..idx]
            .iter()
            .enumerate()
            .rev()
            .take(MAX_PROBE)
            .filter(|(_, r)| r.contains(offset))
            .min_by_key(|(i, r)| preference(*i, r))
            .map(|(_, r)| r)
    };
    let Some(r) = best else {
        return Location {
            address: None,
            region: "unparsed bytes".into(),
            module: None,
            thread: None,
            member: None,
        };
    };
    match r
        .address
        .and_then(|base| base.checked_add(offset - r.file_offset))
    {
        Some(addr) => {
            let (region, module, thread) = space.describe(addr);
            Location {
                address: Some(addr),
                region,
                module,
                thread,
                member: None,
            }
        }
        None => Location {
            address: None,
            region: r.label.clone(),
            module: None,
            thread: None,
            member: None,
        },
    }
}
