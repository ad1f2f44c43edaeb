//! Container framing for the generated memory: a Windows-style full-memory minidump
//! (Memory64List, MemoryInfoList, SystemInfo) or an ELF core (one PT_LOAD per range).
//! Both put all range data contiguously after the headers, so memory is streamed to disk in
//! one pass after the header is written.

use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Container {
    Minidump,
    Elf,
    /// No container: the memory bytes alone (scanned as a raw image).
    Raw,
}

/// A captured memory range.
#[derive(Clone, Copy)]
pub struct Range {
    pub address: u64,
    pub size: u64,
}

/// Alignment of the memory data in the file, so pages in memory are pages in the file.
const DATA_ALIGN: u64 = 4096;

fn align(x: u64) -> u64 {
    x.div_ceil(DATA_ALIGN) * DATA_ALIGN
}

/// Writes the headers; returns the file offset where the memory data of `ranges` begins
/// (the caller writes exactly the sum of the range sizes after it).
pub fn write_header(w: &mut impl Write, kind: Container, ranges: &[Range]) -> io::Result<u64> {
    let header = match kind {
        Container::Minidump => minidump(ranges),
        Container::Elf => elf(ranges),
        Container::Raw => Vec::new(),
    };
    w.write_all(&header)?;
    Ok(header.len() as u64)
}

struct Buf(Vec<u8>);

impl Buf {
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn pad_to(&mut self, at: u64) {
        self.0.resize(at as usize, 0);
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

fn minidump(ranges: &[Range]) -> Vec<u8> {
    const SYSTEM_INFO: u32 = 7;
    const MEMORY64_LIST: u32 = 9;
    const MEMORY_INFO_LIST: u32 = 16;
    let n = ranges.len() as u64;
    let dir = 32u64;
    let sysinfo = dir + 3 * 12;
    let csd = sysinfo + 56;
    let info = align8(csd + 6);
    let info_len = 16 + 48 * n;
    let mem64 = align8(info + info_len);
    let mem64_len = 16 + 16 * n;
    let data = align(mem64 + mem64_len);

    let mut b = Buf(Vec::with_capacity(data as usize));
    b.0.extend_from_slice(b"MDMP");
    b.u32(0xA793);
    b.u32(3); // streams
    b.u32(dir as u32);
    b.u32(0); // checksum
    b.u32(1_700_000_000); // timestamp
    b.u64(0x2); // MiniDumpWithFullMemory
    for (kind, rva, len) in [
        (SYSTEM_INFO, sysinfo, 56),
        (MEMORY_INFO_LIST, info, info_len),
        (MEMORY64_LIST, mem64, mem64_len),
    ] {
        b.u32(kind);
        b.u32(len as u32);
        b.u32(rva as u32);
    }
    // MINIDUMP_SYSTEM_INFO: x86-64, Windows 10.
    b.pad_to(sysinfo);
    b.u16(9); // PROCESSOR_ARCHITECTURE_AMD64
    b.u16(6);
    b.u16(0x5507);
    b.0.push(2); // processors
    b.0.push(1); // VER_NT_WORKSTATION
    b.u32(10);
    b.u32(0);
    b.u32(19045);
    b.u32(2); // VER_PLATFORM_WIN32_NT
    b.u32(csd as u32);
    b.u16(0);
    b.u16(0);
    b.pad_to(csd);
    b.u32(0); // empty CSD version string
    b.u16(0);
    // MINIDUMP_MEMORY_INFO_LIST: committed private read-write memory.
    b.pad_to(info);
    b.u32(16);
    b.u32(48);
    b.u64(n);
    for r in ranges {
        b.u64(r.address);
        b.u64(r.address);
        b.u32(0x04); // PAGE_READWRITE
        b.u32(0);
        b.u64(r.size);
        b.u32(0x1000); // MEM_COMMIT
        b.u32(0x04);
        b.u32(0x20000); // MEM_PRIVATE
        b.u32(0);
    }
    // MINIDUMP_MEMORY64_LIST.
    b.pad_to(mem64);
    b.u64(n);
    b.u64(data);
    for r in ranges {
        b.u64(r.address);
        b.u64(r.size);
    }
    b.pad_to(data);
    b.0
}

fn align8(x: u64) -> u64 {
    x.div_ceil(8) * 8
}

fn elf(ranges: &[Range]) -> Vec<u8> {
    assert!(ranges.len() < 0xffff, "too many ranges for e_phnum");
    let n = ranges.len() as u64;
    let data = align(64 + 56 * n);
    let mut b = Buf(Vec::with_capacity(data as usize));
    b.0.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    b.u16(4); // ET_CORE
    b.u16(62); // EM_X86_64
    b.u32(1);
    b.u64(0); // entry
    b.u64(64); // phoff
    b.u64(0); // shoff
    b.u32(0);
    b.u16(64);
    b.u16(56);
    b.u16(n as u16);
    b.u16(64);
    b.u16(0);
    b.u16(0);
    let mut offset = data;
    for r in ranges {
        b.u32(1); // PT_LOAD
        b.u32(6); // PF_R | PF_W
        b.u64(offset);
        b.u64(r.address);
        b.u64(0);
        b.u64(r.size);
        b.u64(r.size);
        b.u64(4096);
        offset += r.size;
    }
    debug_assert!(b.len() <= data);
    b.pad_to(data);
    b.0
}
