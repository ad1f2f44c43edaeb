//! Opening dumps: recognise the container by content, build the region table and the
//! address-space index used for attribution.
//!
//! Parsing only ever *adds* information. The scanner always walks every byte of the file
//! (docs/design.md principle 1), so a parser that gives up early costs attribution, never coverage.
//! Every offset and count read from a dump is untrusted and checked against the file length.

mod address_space;
pub mod archive;
mod bytes;
pub mod config_file;
pub mod elf_core;
mod guard;
pub(crate) mod le;
pub mod lime;
pub mod minidump;
mod raw;
mod region;

pub use address_space::{locate, AddressSpace, Location, MappedRange, StackRange};
#[cfg(feature = "archives")]
pub use bytes::FileStamp;
pub use bytes::{DumpBytes, STREAM_CAP};
pub use region::{Region, RegionKind};

use std::path::Path;

/// The container formats dumpguard recognises (by magic bytes, never by file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// A Windows, Breakpad or Crashpad minidump.
    Minidump,
    /// An ELF core file (gcore, the kernel's core dumps).
    ElfCore,
    /// A LiME physical-memory image.
    Lime,
    /// No container recognised: scanned as raw memory.
    Raw,
}

impl Format {
    /// The format's name in reports (`minidump`, `elf-core`, `lime`, `raw`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Minidump => "minidump",
            Format::ElfCore => "elf-core",
            Format::Lime => "lime",
            Format::Raw => "raw",
        }
    }
}

/// Upper bounds on what a parser keeps from a dump (docs/design.md principle 6: memory is bounded
/// and independent of dump size). Past a bound the parser stops *describing* the dump; the
/// bytes are still scanned, and the layout is marked incomplete.
pub mod caps {
    /// File regions. A kernel core has one PT_LOAD per mapping (Linux allows 65,530 by default,
    /// tuned systems a few 100,000); a Windows full dump a few 10,000 Memory64 ranges.
    pub const REGIONS: usize = 1 << 20;
    /// Mappings (maps lines, MemoryInfoList entries, NT_FILE entries, anonymous segments).
    pub const MAPPINGS: usize = 1 << 18;
    /// Modules and thread stacks.
    pub const MODULES: usize = 1 << 16;
    /// Most thread stacks described per dump: more is a hostile directory, not a process.
    pub const STACKS: usize = 1 << 16;
    /// Ordinary warnings kept verbatim; the rest are counted. Warnings about a cap being
    /// reached are always kept (there are at most a handful), so a flood of per-record
    /// complaints cannot hide them; the whole list is at most `WARNINGS + 16` entries.
    pub const WARNINGS: usize = 64;
    /// Bytes of any one label taken from the dump (module path, thread name, note owner).
    pub const LABEL: usize = 256;
}

/// What a parser learned about a dump: the file layout and, where known, the address space.
#[derive(Debug, Default)]
pub struct Layout {
    /// File regions, sorted by file offset. They may overlap (a thread stack described twice)
    /// and need not cover the file: uncovered bytes are still scanned. Every region lies
    /// inside the file.
    pub regions: Vec<Region>,
    /// Virtual-address knowledge: modules, thread stacks, mappings.
    pub space: AddressSpace,
    /// What could not be parsed, in words. Non-empty together with `complete == false`
    /// whenever bytes or structure were lost. Bounded (see [`caps::WARNINGS`]).
    pub warnings: Vec<String>,
    /// False when the container was truncated or malformed.
    pub complete: bool,
    /// A short description of the dump (OS, CPU, writer) for the report.
    pub description: Option<String>,
    /// Warnings beyond [`caps::WARNINGS`], counted instead of kept (a hostile file can make
    /// every one of a million records fail).
    suppressed: usize,
    /// Which caps were hit (reported once each).
    capped: [bool; 4],
}

impl Layout {
    fn new() -> Self {
        Layout {
            complete: true,
            ..Default::default()
        }
    }

    /// Records a warning. Takes `Display` (a `&str` or `format_args!`) so a warning past the
    /// cap is counted without ever being formatted: a hostile file can trigger thousands.
    fn warn(&mut self, msg: impl std::fmt::Display) {
        if self.warnings.len() < caps::WARNINGS {
            self.warnings.push(msg.to_string());
        } else {
            self.suppressed += 1;
        }
    }

    /// A warning that also marks the parse as incomplete.
    fn lost(&mut self, msg: impl std::fmt::Display) {
        self.complete = false;
        self.warn(msg);
    }

    /// A limit of dumpguard was reached (a cap): always recorded, never suppressed. Callers
    /// make sure each limit is reported once.
    fn limit(&mut self, msg: impl std::fmt::Display) {
        self.complete = false;
        self.warnings.push(msg.to_string());
    }

    /// Forgets everything a parser recorded (a sidecar index replaces the raw layout).
    fn reset(&mut self) {
        *self = Layout::new();
    }

    /// Reports a cap once; returns false when the list is full.
    fn room(&mut self, which: usize, len: usize, cap: usize, what: &str) -> bool {
        if len < cap {
            return true;
        }
        if !self.capped[which] {
            self.capped[which] = true;
            self.limit(format_args!(
                "more than {cap} {what}: the rest are not described (their bytes are still scanned)"
            ));
        }
        false
    }

    /// Adds a file region, up to [`caps::REGIONS`].
    fn region(&mut self, r: Region) {
        if self.room(0, self.regions.len(), caps::REGIONS, "regions") {
            self.regions.push(r);
        }
    }

    fn module(&mut self, m: MappedRange) {
        if self.room(1, self.space.modules.len(), caps::MODULES, "modules") {
            self.space.modules.push(m);
        }
    }

    fn stack(&mut self, s: StackRange) {
        if self.room(2, self.space.stacks.len(), caps::STACKS, "thread stacks") {
            self.space.stacks.push(s);
        }
    }

    /// Adds a mapping; false once [`caps::MAPPINGS`] is reached (callers stop reading).
    fn mapping(&mut self, m: MappedRange) -> bool {
        let ok = self.room(3, self.space.mappings.len(), caps::MAPPINGS, "mappings");
        if ok {
            self.space.mappings.push(m);
        }
        ok
    }

    /// Freezes the layout of a `file_len`-byte dump: regions are clipped to the file (a
    /// parser bug must not produce a region past the end), addresses that would wrap are
    /// dropped, regions are sorted, the address-space index is built, and suppressed
    /// warnings are summarised.
    fn finish(&mut self, file_len: u64) {
        self.regions.retain_mut(|r| {
            let (len, cut) = region::clamp(r.file_offset, r.len, file_len);
            r.len = len;
            r.truncated |= cut;
            if r.address.is_some_and(|a| a.checked_add(len).is_none()) {
                r.address = None;
            }
            len > 0
        });
        self.regions
            .sort_by_key(|r| (r.file_offset, std::cmp::Reverse(r.len)));
        self.space.finish_with(&self.regions);
        if self.suppressed > 0 {
            self.warnings
                .push(format!("... and {} more warnings", self.suppressed));
            self.suppressed = 0;
        }
    }
}

/// Cuts a label taken from the dump to [`caps::LABEL`] bytes (on a character boundary).
fn short_label(s: &str) -> String {
    if s.len() <= caps::LABEL {
        return s.to_string();
    }
    let mut end = caps::LABEL;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// An opened dump: its bytes (memory-mapped when read from a file) and what the parser found.
pub struct Dump<'a> {
    /// The bytes: a memory map of the file or a borrowed slice.
    pub bytes: DumpBytes<'a>,
    /// The container format it was parsed as.
    pub format: Format,
    /// What the parser found: regions, description, warnings, whether it is complete.
    pub layout: Layout,
}

impl<'a> Dump<'a> {
    /// Opens a regular file read-only and memory-maps it. The file is never written.
    /// A raw image may carry a sidecar index `<path>.regions.json` (see `raw::RawIndexEntry`).
    pub fn open(path: &Path) -> std::io::Result<Dump<'static>> {
        let bytes = DumpBytes::map(path)?;
        let streamed = match &bytes {
            DumpBytes::Streamed { data, cut } => Some((data.len(), *cut)),
            _ => None,
        };
        let mut dump = Dump::parse(bytes, None);
        if let Some((n, cut)) = streamed {
            dump.layout.warn(format_args!(
                "the file's size reads 0 (a procfs-like file); it was read as a stream: {n} bytes"
            ));
            if cut {
                dump.layout.limit(format_args!(
                    "the stream goes on past {STREAM_CAP} bytes; only those were scanned"
                ));
            }
        }
        if dump.format == Format::Raw {
            raw::apply_sidecar_file(path, &mut dump);
        }
        Ok(dump)
    }

    /// Parses bytes already in memory (the library entry point for callers that hold a dump).
    pub fn from_slice(data: &'a [u8]) -> Dump<'a> {
        Dump::parse(DumpBytes::Borrowed(data), None)
    }

    /// Parses bytes as `format` whatever their magic says (a damaged header, a fuzz target
    /// aimed at one parser). The scan still covers every byte.
    pub fn from_slice_as(data: &'a [u8], format: Format) -> Dump<'a> {
        Dump::parse(DumpBytes::Borrowed(data), Some(format))
    }

    /// Parses a raw image held in memory together with the text of its sidecar index.
    pub fn from_slice_with_index(data: &'a [u8], index_json: &[u8]) -> Dump<'a> {
        let mut dump = Dump::parse(DumpBytes::Borrowed(data), Some(Format::Raw));
        raw::apply_sidecar_index(index_json, "region index", &mut dump);
        dump
    }

    fn parse(bytes: DumpBytes<'a>, forced: Option<Format>) -> Dump<'a> {
        let data: &[u8] = &bytes;
        let format = forced.unwrap_or_else(|| sniff(data));
        // A parser bug must cost attribution, never coverage or the whole scan: if one
        // panics, the dump is scanned raw and the report says the parse failed.
        let parsed = std::panic::catch_unwind(|| match format {
            Format::Minidump => minidump::parse(data),
            Format::ElfCore => elf_core::parse(data),
            Format::Lime => lime::parse(data),
            Format::Raw => raw::parse(data),
        });
        let mut layout = parsed.unwrap_or_else(|_| {
            let mut l = raw::parse(data);
            l.lost(format_args!(
                "internal error while parsing the {} structure; scanned as raw bytes",
                format.as_str()
            ));
            l
        });
        layout.finish(data.len() as u64);
        Dump {
            bytes,
            format,
            layout,
        }
    }

    /// The dump's bytes; file offsets in findings index this slice.
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
