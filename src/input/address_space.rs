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
}

/// Where a file offset sits, in words a debug engineer reads.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Location {
    /// Hex string ("0x7ffc6381c022"): 64-bit addresses do not survive JSON numbers in
    /// JavaScript-based consumers.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "hex_address"
    )]
    pub address: Option<u64>,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<u32>,
}

fn hex_address<S: serde::Serializer>(a: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.serialize_str(&format!("{a:#x}")),
        None => s.serialize_none(),
    }
}

fn find<T>(items: &[T], addr: u64, range: impl Fn(&T) -> (u64, u64)) -> Option<&T> {
    // Items are sorted by start; the candidate is the last one starting at or before addr.
    let idx = items.partition_point(|i| range(i).0 <= addr);
    items[..idx].iter().rev().take(4).find(|i| {
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
    }

    /// True when the dump gives a virtual-address map (pointer following is possible).
    pub fn has_va_map(&self) -> bool {
        !self.va.is_empty() && !self.physical
    }

    /// Translates an address to a file offset and the number of bytes available from there.
    pub fn to_file(&self, addr: u64) -> Option<(u64, u64)> {
        let v = find(&self.va, addr, |v| (v.start, v.end))?;
        Some((v.file_offset + (addr - v.start), v.end - addr))
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

/// Computes the location of a file offset from the region table and address space.
pub fn locate(regions: &[Region], space: &AddressSpace, offset: u64) -> Location {
    // Prefer the innermost (shortest) memory region containing the offset, then any region.
    let idx = regions.partition_point(|r| r.file_offset <= offset);
    let mut best: Option<&Region> = None;
    for r in regions[..idx].iter().rev().take(64) {
        if r.contains(offset) {
            let better = match best {
                None => true,
                Some(b) => {
                    let rank =
                        |x: &Region| matches!(x.kind, RegionKind::Memory | RegionKind::Physical);
                    (rank(r) && !rank(b)) || (rank(r) == rank(b) && r.len < b.len)
                }
            };
            if better {
                best = Some(r);
            }
        }
    }
    match best {
        Some(r) => match r.address {
            Some(base) => {
                let addr = base + (offset - r.file_offset);
                let (region, module, thread) = space.describe(addr);
                Location {
                    address: Some(addr),
                    region,
                    module,
                    thread,
                }
            }
            None => Location {
                address: None,
                region: r.label.clone(),
                module: None,
                thread: None,
            },
        },
        None => Location {
            address: None,
            region: "unparsed bytes".into(),
            module: None,
            thread: None,
        },
    }
}
