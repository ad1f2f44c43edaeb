//! File regions: what a stretch of the dump file is.

use serde::Serialize;

/// What kind of bytes a region holds. Drives the human label and the `region` field of a
/// finding's location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionKind {
    /// Process memory (a minidump memory range or an ELF PT_LOAD).
    Memory,
    /// Physical memory (LiME); the address is physical.
    Physical,
    /// A container stream or note that is not memory (environment, command line, thread
    /// context, Crashpad annotations ...). Secrets live there too.
    Stream,
    /// Container headers and directories.
    Header,
}

/// A stretch of the file with what the parser knows about it.
#[derive(Debug, Clone, Serialize)]
pub struct Region {
    pub file_offset: u64,
    pub len: u64,
    /// Address of the first byte, when the region is memory.
    pub address: Option<u64>,
    pub kind: RegionKind,
    /// Human label: "memory", "stream LinuxEnviron", "note CORE/NT_PRSTATUS" ...
    pub label: String,
    /// Set when the container claims more bytes than the file holds.
    pub truncated: bool,
}

impl Region {
    pub fn memory(file_offset: u64, len: u64, address: u64) -> Self {
        Region {
            file_offset,
            len,
            address: Some(address),
            kind: RegionKind::Memory,
            label: "memory".into(),
            truncated: false,
        }
    }

    pub fn other(file_offset: u64, len: u64, kind: RegionKind, label: impl Into<String>) -> Self {
        Region {
            file_offset,
            len,
            address: None,
            kind,
            label: label.into(),
            truncated: false,
        }
    }

    pub fn end(&self) -> u64 {
        self.file_offset.saturating_add(self.len)
    }

    pub fn contains(&self, off: u64) -> bool {
        off >= self.file_offset && off < self.end()
    }
}

/// Clamps `[off, off+len)` to a file of `file_len` bytes. Returns the clamped length and
/// whether anything was cut.
pub fn clamp(off: u64, len: u64, file_len: u64) -> (u64, bool) {
    if off >= file_len {
        return (0, len > 0);
    }
    let avail = file_len - off;
    if len > avail {
        (avail, true)
    } else {
        (len, false)
    }
}
