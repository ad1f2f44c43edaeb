//! Opening dumps: recognise the container by content, build the region table and the
//! address-space index used for attribution.
//!
//! Parsing only ever *adds* information. The scanner always walks every byte of the file
//! (DESIGN.md principle 1), so a parser that gives up early costs attribution, never coverage.
//! Every offset and count read from a dump is untrusted and checked against the file length.

mod address_space;
mod bytes;
pub mod elf_core;
mod le;
pub mod lime;
pub mod minidump;
mod raw;
mod region;

pub use address_space::{locate, AddressSpace, Location, MappedRange, StackRange};
pub use bytes::DumpBytes;
pub use raw::RawIndexEntry;
pub use region::{Region, RegionKind};

use std::path::Path;

/// The container formats dumpguard recognises (by magic bytes, never by file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Minidump,
    ElfCore,
    Lime,
    Raw,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Minidump => "minidump",
            Format::ElfCore => "elf-core",
            Format::Lime => "lime",
            Format::Raw => "raw",
        }
    }
}

/// What a parser learned about a dump: the file layout and, where known, the address space.
#[derive(Debug, Default)]
pub struct Layout {
    /// File regions, sorted by file offset. They may overlap (a thread stack described twice)
    /// and need not cover the file: uncovered bytes are still scanned.
    pub regions: Vec<Region>,
    /// Virtual-address knowledge: modules, thread stacks, mappings.
    pub space: AddressSpace,
    /// What could not be parsed, in words. Non-empty together with `complete == false`
    /// whenever bytes or structure were lost.
    pub warnings: Vec<String>,
    /// False when the container was truncated or malformed.
    pub complete: bool,
    /// A short description of the dump (OS, CPU, writer) for the report.
    pub description: Option<String>,
}

impl Layout {
    fn new() -> Self {
        Layout {
            complete: true,
            ..Default::default()
        }
    }

    fn warn(&mut self, msg: impl Into<String>) {
        self.warnings.push(msg.into());
    }

    /// A warning that also marks the parse as incomplete.
    fn lost(&mut self, msg: impl Into<String>) {
        self.complete = false;
        self.warnings.push(msg.into());
    }
}

/// An opened dump: its bytes (memory-mapped when read from a file) and what the parser found.
pub struct Dump<'a> {
    pub bytes: DumpBytes<'a>,
    pub format: Format,
    pub layout: Layout,
}

impl<'a> Dump<'a> {
    /// Opens a file read-only and memory-maps it. The file is never written.
    pub fn open(path: &Path) -> std::io::Result<Dump<'static>> {
        let bytes = DumpBytes::map(path)?;
        let mut dump = Dump::parse(bytes);
        if dump.format == Format::Raw {
            raw::apply_sidecar_index(path, &mut dump);
        }
        Ok(dump)
    }

    /// Parses bytes already in memory (the library entry point for callers that hold a dump).
    pub fn from_slice(data: &'a [u8]) -> Dump<'a> {
        Dump::parse(DumpBytes::Borrowed(data))
    }

    fn parse(bytes: DumpBytes<'a>) -> Dump<'a> {
        let data: &[u8] = &bytes;
        let format = sniff(data);
        let layout = match format {
            Format::Minidump => minidump::parse(data),
            Format::ElfCore => elf_core::parse(data),
            Format::Lime => lime::parse(data),
            Format::Raw => raw::parse(data),
        };
        let mut layout = layout;
        layout
            .regions
            .sort_by_key(|r| (r.file_offset, std::cmp::Reverse(r.len)));
        layout.space.finish_with(&layout.regions);
        Dump {
            bytes,
            format,
            layout,
        }
    }

    pub fn data(&self) -> &[u8] {
        &self.bytes
    }
}

/// Recognises a container by its magic bytes.
pub fn sniff(data: &[u8]) -> Format {
    if data.len() >= 4 && (&data[..4] == b"MDMP" || &data[..4] == b"PMDM") {
        return Format::Minidump;
    }
    if elf_core::is_core(data) {
        return Format::ElfCore;
    }
    if lime::is_lime(data) {
        return Format::Lime;
    }
    Format::Raw
}
