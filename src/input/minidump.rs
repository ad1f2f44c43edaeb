//! Minidumps (Windows dbghelp, Breakpad, Crashpad, minidump-writer).
//!
//! Parsed by hand, tolerantly: the `minidump` crate rejects a whole Memory64 list when one
//! range runs past the end of the file (exactly what a truncated full-memory dump looks like)
//! and a whole module list when one CodeView record is out of bounds. Here every stream,
//! range and record is checked and clamped on its own, and what was lost is reported.
//! Layouts: MS Learn minidumpapiset.h; docs/dump-formats.md §1.

use super::le::{slice, u16_at, u32_at, u64_at};
use super::raw::mapping_label;
use super::region::clamp;
use super::{caps, short_label, Layout, MappedRange, Region, RegionKind, StackRange};
use std::collections::HashMap;

const HEADER_LEN: u64 = 32;
const DIR_ENTRY_LEN: u64 = 12;
/// No real dump has more streams than this; more means a hostile or corrupt header.
const MAX_STREAMS: u64 = 4096;
/// MINIDUMP_STRING lengths above this are corrupt (Windows paths stop at 32,767 UTF-16 units).
const MAX_STRING_BYTES: u32 = 64 * 1024;
/// Bytes of a MINIDUMP_STRING decoded for a label: names are cut to [`caps::LABEL`] anyway,
/// and decoding only a window keeps a million modules pointing at one 64 KiB string cheap.
const STRING_WINDOW: u64 = 2 * caps::LABEL as u64;

mod stream {
    pub const THREAD_LIST: u32 = 3;
    pub const MODULE_LIST: u32 = 4;
    pub const MEMORY_LIST: u32 = 5;
    pub const EXCEPTION: u32 = 6;
    pub const SYSTEM_INFO: u32 = 7;
    pub const MEMORY64_LIST: u32 = 9;
    pub const MEMORY_INFO_LIST: u32 = 16;
    pub const THREAD_NAMES: u32 = 24;
    pub const LINUX_MAPS: u32 = 0x4767_0009;
}

/// Human name of a stream type (minidump-common's MINIDUMP_STREAM_TYPE and vendor streams).
pub fn stream_name(t: u32) -> String {
    StreamName(t).to_string()
}

/// A stream type that formats as its name, or in hex when unknown; formatted only when used.
struct StreamName(u32);

impl std::fmt::Display for StreamName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match known_stream(self.0) {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#x}", self.0),
        }
    }
}

fn known_stream(t: u32) -> Option<&'static str> {
    Some(match t {
        0 => "Unused",
        3 => "ThreadList",
        4 => "ModuleList",
        5 => "MemoryList",
        6 => "Exception",
        7 => "SystemInfo",
        8 => "ThreadExList",
        9 => "Memory64List",
        10 => "CommentA",
        11 => "CommentW",
        12 => "HandleData",
        13 => "FunctionTable",
        14 => "UnloadedModuleList",
        15 => "MiscInfo",
        16 => "MemoryInfoList",
        17 => "ThreadInfoList",
        18 => "HandleOperationList",
        19 => "Token",
        20 => "JavaScriptData",
        21 => "SystemMemoryInfo",
        22 => "ProcessVmCounters",
        23 => "IptTrace",
        24 => "ThreadNames",
        0x4767_0001 => "BreakpadInfo",
        0x4767_0002 => "AssertionInfo",
        0x4767_0003 => "LinuxCpuInfo",
        0x4767_0004 => "LinuxProcStatus",
        0x4767_0005 => "LinuxLsbRelease",
        0x4767_0006 => "LinuxCmdLine",
        0x4767_0007 => "LinuxEnviron",
        0x4767_0008 => "LinuxAuxv",
        0x4767_0009 => "LinuxMaps",
        0x4767_000A => "LinuxDsoDebug",
        0x4350_0001 => "CrashpadInfo",
        0x4b6b_0002 => "StabilityReport",
        0x4d7a_0001 => "MozMacosCrashInfo",
        0x4d7a_0002 => "MozMacosBootargs",
        0x4d7a_0003 => "MozLinuxLimits",
        0x4d7a_0004 => "MozSoftErrors",
        _ => return None,
    })
}

struct Stream {
    kind: u32,
    rva: u64,
    size: u64,
}

pub fn parse(data: &[u8]) -> Layout {
    let mut l = Layout::new();
    let file_len = data.len() as u64;
    if file_len < HEADER_LEN {
        l.lost("minidump header truncated");
        return l;
    }
    if &data[..4] == b"PMDM" {
        l.lost("big-endian minidump: structure not parsed, bytes scanned raw");
        return l;
    }
    let version = u32_at(data, 4).unwrap_or(0);
    if version & 0xffff != 0xA793 {
        l.warn(format_args!("unexpected minidump version {version:#x}"));
    }
    let count = u32_at(data, 8).unwrap_or(0) as u64;
    let dir_rva = u32_at(data, 12).unwrap_or(0) as u64;
    let flags = u64_at(data, 24).unwrap_or(0);
    l.region(Region::other(
        0,
        HEADER_LEN,
        RegionKind::Header,
        "minidump header",
    ));

    let mut count_ok = count.min(MAX_STREAMS);
    if count > MAX_STREAMS {
        l.lost(format_args!(
            "minidump claims {count} streams; only {MAX_STREAMS} read"
        ));
    }
    let dir_room = file_len.saturating_sub(dir_rva) / DIR_ENTRY_LEN;
    if count_ok > dir_room {
        l.lost(format_args!(
            "stream directory truncated: {count_ok} entries claimed, {dir_room} present"
        ));
        count_ok = dir_room;
    }
    l.region(Region::other(
        dir_rva,
        count_ok * DIR_ENTRY_LEN,
        RegionKind::Header,
        "minidump stream directory",
    ));

    let mut streams = Vec::new();
    for i in 0..count_ok {
        let e = dir_rva + i * DIR_ENTRY_LEN;
        let (Some(kind), Some(size), Some(rva)) =
            (u32_at(data, e), u32_at(data, e + 4), u32_at(data, e + 8))
        else {
            break;
        };
        if kind == 0 || size == 0 {
            continue;
        }
        let (len, cut) = clamp(rva as u64, size as u64, file_len);
        if cut {
            l.lost(format_args!(
                "stream {} at {rva:#x} runs {} bytes past the end of the file",
                StreamName(kind),
                size as u64 - len
            ));
        }
        if len > 0 && kind != stream::MEMORY64_LIST && kind != stream::MEMORY_LIST {
            let mut r = Region::other(
                rva as u64,
                len,
                RegionKind::Stream,
                format!("stream {}", stream_name(kind)),
            );
            r.truncated = cut;
            l.region(r);
        }
        streams.push(Stream {
            kind,
            rva: rva as u64,
            size: len,
        });
    }

    let mut ctx = Ctx { data, l: &mut l };
    let get = |k: u32| streams.iter().rev().find(|s| s.kind == k);
    if let Some(s) = get(stream::MEMORY_LIST) {
        ctx.memory_list(s);
    }
    if let Some(s) = get(stream::MEMORY64_LIST) {
        ctx.memory64_list(s);
    }
    let names = get(stream::THREAD_NAMES)
        .map(|s| ctx.thread_names(s))
        .unwrap_or_default();
    if let Some(s) = get(stream::THREAD_LIST) {
        ctx.thread_list(s, &names);
    }
    if let Some(s) = get(stream::EXCEPTION) {
        ctx.exception(s);
    }
    if let Some(s) = get(stream::MODULE_LIST) {
        ctx.module_list(s);
    }
    let has_maps = match get(stream::LINUX_MAPS) {
        Some(s) => ctx.linux_maps(s),
        None => false,
    };
    if !has_maps {
        if let Some(s) = get(stream::MEMORY_INFO_LIST) {
            ctx.memory_info_list(s);
        }
    }
    let sys = get(stream::SYSTEM_INFO).and_then(|s| system_info(data, s));
    l.description = Some(format!(
        "minidump{}, {} streams, flags {flags:#x}",
        sys.map(|s| format!(" ({s})")).unwrap_or_default(),
        streams.len()
    ));
    l
}

struct Ctx<'d, 'l> {
    data: &'d [u8],
    l: &'l mut Layout,
}

impl Ctx<'_, '_> {
    fn file_len(&self) -> u64 {
        self.data.len() as u64
    }

    /// Number of `entry`-byte records that fit after `header` bytes of a stream.
    fn bounded(&mut self, s: &Stream, header: u64, entry: u64, claimed: u64, what: &str) -> u64 {
        let room = s.size.saturating_sub(header) / entry;
        if claimed > room {
            self.l.lost(format_args!(
                "{what}: {claimed} entries claimed, room for {room}"
            ));
            room
        } else {
            claimed
        }
    }

    fn push_memory(&mut self, addr: u64, rva: u64, size: u64, what: &str) {
        let (len, cut) = clamp(rva, size, self.file_len());
        if cut {
            self.l.lost(format_args!(
                "{what} range at {addr:#x} ({size} bytes) is cut off by the end of the file; {len} bytes kept"
            ));
        }
        if len == 0 || addr.checked_add(len).is_none() {
            return;
        }
        let mut r = Region::memory(rva, len, addr);
        r.truncated = cut;
        self.l.region(r);
    }

    fn memory_list(&mut self, s: &Stream) {
        let Some(count) = u32_at(self.data, s.rva) else {
            return;
        };
        // Some writers pad the 4-byte count to 8 bytes, others leave 4 bytes after the list:
        // a stream of 8 + 16·N bytes is ambiguous, so take the reading whose ranges fit the file.
        let fits = |header: u64| {
            (0..count.min(64) as u64)
                .filter(|i| {
                    let e = s.rva + header + i * 16;
                    matches!((u32_at(self.data, e + 8), u32_at(self.data, e + 12)),
                        (Some(size), Some(rva)) if rva as u64 + size as u64 <= self.file_len() && rva != 0)
                })
                .count()
        };
        let header = if s.size == 8 + 16 * count as u64 && fits(8) > fits(4) {
            8
        } else {
            4
        };
        let n = self.bounded(s, header, 16, count as u64, "MemoryList");
        for i in 0..n {
            let e = s.rva + header + i * 16;
            let (Some(addr), Some(size), Some(rva)) = (
                u64_at(self.data, e),
                u32_at(self.data, e + 8),
                u32_at(self.data, e + 12),
            ) else {
                break;
            };
            if rva == 0 || size == 0 {
                continue;
            }
            self.push_memory(addr, rva as u64, size as u64, "MemoryList");
        }
    }

    /// Memory64: all range data is contiguous from BaseRva, in descriptor order.
    fn memory64_list(&mut self, s: &Stream) {
        let (Some(count), Some(base_rva)) =
            (u64_at(self.data, s.rva), u64_at(self.data, s.rva + 8))
        else {
            self.l.lost("Memory64List header truncated");
            return;
        };
        let n = self.bounded(s, 16, 16, count, "Memory64List");
        let mut rva = base_rva;
        for i in 0..n {
            let e = s.rva + 16 + i * 16;
            let (Some(addr), Some(size)) = (u64_at(self.data, e), u64_at(self.data, e + 8)) else {
                break;
            };
            if rva >= self.file_len() {
                let left = n - i;
                self.l.lost(format_args!(
                    "Memory64List: {left} of {n} ranges lie past the end of the file (truncated dump)"
                ));
                break;
            }
            self.push_memory(addr, rva, size, "Memory64List");
            match rva.checked_add(size) {
                Some(next) => rva = next,
                None => {
                    self.l.lost("Memory64List: range sizes overflow");
                    break;
                }
            }
        }
    }

    /// A MINIDUMP_STRING (byte length, UTF-16LE) as a label: its first or, for paths whose
    /// file name matters, last [`STRING_WINDOW`] bytes. A string cut off by the end of the file
    /// is a sign of truncation.
    fn string_at(&mut self, rva: u64, tail: bool) -> Option<String> {
        let len = u32_at(self.data, rva)?;
        if len > MAX_STRING_BYTES {
            self.l.warn(format_args!(
                "string at {rva:#x} claims {len} bytes; ignored"
            ));
            return None;
        }
        let len = (len & !1) as u64;
        let start = rva + 4;
        if start + len > self.file_len() {
            self.l.lost(format_args!(
                "string at {rva:#x} is cut off by the end of the file"
            ));
            return None;
        }
        let window = len.min(STRING_WINDOW);
        let from = if tail { start + len - window } else { start };
        let b = slice(self.data, from, window)?;
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Some(String::from_utf16_lossy(&units))
    }

    /// Thread id → name. The first name given for a thread wins.
    fn thread_names(&mut self, s: &Stream) -> HashMap<u32, String> {
        let mut names = HashMap::new();
        let Some(count) = u32_at(self.data, s.rva) else {
            return names;
        };
        let n = self.bounded(s, 4, 12, count as u64, "ThreadNames");
        for i in 0..n.min(caps::STACKS as u64) {
            let e = s.rva + 4 + i * 12;
            let (Some(tid), Some(rva)) = (u32_at(self.data, e), u64_at(self.data, e + 4)) else {
                break;
            };
            if names.contains_key(&tid) {
                continue;
            }
            if let Some(name) = self.string_at(rva, false) {
                names.insert(tid, short_label(&name));
            }
        }
        names
    }

    fn thread_list(&mut self, s: &Stream, names: &HashMap<u32, String>) {
        let Some(count) = u32_at(self.data, s.rva) else {
            return;
        };
        let header = if s.size == 8 + 48 * count as u64 {
            8
        } else {
            4
        };
        let n = self.bounded(s, header, 48, count as u64, "ThreadList");
        for i in 0..n.min(caps::STACKS as u64) {
            let e = s.rva + header + i * 48;
            let (Some(tid), Some(start), Some(size), Some(ctx_size), Some(ctx_rva)) = (
                u32_at(self.data, e),
                u64_at(self.data, e + 24),
                u32_at(self.data, e + 32),
                u32_at(self.data, e + 40),
                u32_at(self.data, e + 44),
            ) else {
                break;
            };
            if size > 0 {
                self.l.stack(StackRange {
                    start,
                    end: start.saturating_add(size as u64),
                    thread: tid,
                    name: names.get(&tid).cloned(),
                });
            }
            if ctx_rva == 0 || ctx_size == 0 {
                continue;
            }
            let (len, cut) = clamp(ctx_rva as u64, ctx_size as u64, self.file_len());
            if cut {
                self.l.lost(format_args!(
                    "registers of thread {tid} are cut off by the end of the file"
                ));
            }
            if len > 0 {
                let mut r = Region::other(
                    ctx_rva as u64,
                    len,
                    RegionKind::Stream,
                    format!("registers of thread {tid}"),
                );
                r.truncated = cut;
                self.l.region(r);
            }
        }
        if n > caps::STACKS as u64 {
            self.l.limit(format_args!(
                "ThreadList: {n} threads; only the first {} are described",
                caps::STACKS
            ));
        }
    }

    /// MINIDUMP_EXCEPTION_STREAM: the crashing thread's registers (a LOCATION at offset 160)
    /// are a blob of their own, often the last bytes of the file.
    fn exception(&mut self, s: &Stream) {
        let (Some(tid), Some(size), Some(rva)) = (
            u32_at(self.data, s.rva),
            u32_at(self.data, s.rva + 160),
            u32_at(self.data, s.rva + 164),
        ) else {
            return;
        };
        if s.size < 168 || size == 0 || rva == 0 {
            return;
        }
        let (len, cut) = clamp(rva as u64, size as u64, self.file_len());
        if cut {
            self.l.lost(format_args!(
                "exception registers of thread {tid} are cut off by the end of the file"
            ));
        }
        if len > 0 {
            let mut r = Region::other(
                rva as u64,
                len,
                RegionKind::Stream,
                format!("exception registers of thread {tid}"),
            );
            r.truncated = cut;
            self.l.region(r);
        }
    }

    fn module_list(&mut self, s: &Stream) {
        const MODULE_LEN: u64 = 108;
        let Some(count) = u32_at(self.data, s.rva) else {
            return;
        };
        let header = if s.size == 8 + MODULE_LEN * count as u64 {
            8
        } else {
            4
        };
        let n = self.bounded(s, header, MODULE_LEN, count as u64, "ModuleList");
        for i in 0..n.min(caps::MODULES as u64) {
            let e = s.rva + header + i * MODULE_LEN;
            let (Some(base), Some(size), Some(name_rva)) = (
                u64_at(self.data, e),
                u32_at(self.data, e + 8),
                u32_at(self.data, e + 20),
            ) else {
                break;
            };
            let name = self
                .string_at(name_rva as u64, true)
                .unwrap_or_else(|| format!("module@{base:#x}"));
            let short = name.rsplit(['/', '\\']).next().unwrap_or(&name);
            // CodeView and misc records: not needed for attribution, but a record cut off by
            // the end of the file means the dump was truncated.
            for (what, at) in [("CodeView", 76), ("misc", 84)] {
                if let (Some(len), Some(rva)) =
                    (u32_at(self.data, e + at), u32_at(self.data, e + at + 4))
                {
                    if len > 0 && rva as u64 + len as u64 > self.file_len() {
                        self.l.lost(format_args!(
                            "{what} record of module {} is cut off by the end of the file",
                            short_label(short)
                        ));
                    }
                }
            }
            self.l.module(MappedRange {
                start: base,
                end: base.saturating_add(size as u64),
                label: short_label(short),
            });
        }
        if n > caps::MODULES as u64 {
            self.l.limit(format_args!(
                "ModuleList: {n} modules; only the first {} are described",
                caps::MODULES
            ));
        }
    }

    /// /proc/PID/maps text (Breakpad/minidump-writer): the best Linux attribution.
    fn linux_maps(&mut self, s: &Stream) -> bool {
        let Some(text) = slice(self.data, s.rva, s.size) else {
            return false;
        };
        let mut any = false;
        for line in text.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            let mut parts = line.split_whitespace();
            let (Some(range), Some(perms)) = (parts.next(), parts.next()) else {
                continue;
            };
            let path = parts.nth(3).unwrap_or("");
            let Some((a, b)) = range.split_once('-') else {
                continue;
            };
            let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16))
            else {
                continue;
            };
            any = true;
            if !self.l.mapping(MappedRange {
                start,
                end,
                label: short_label(&mapping_label(path, perms)),
            }) {
                break;
            }
        }
        any
    }

    /// MemoryInfoList: type and protection of every region (dbghelp full dumps).
    fn memory_info_list(&mut self, s: &Stream) {
        let (Some(hdr), Some(entry), Some(count)) = (
            u32_at(self.data, s.rva),
            u32_at(self.data, s.rva + 4),
            u64_at(self.data, s.rva + 8),
        ) else {
            return;
        };
        if !(16..=1024).contains(&hdr) || !(48..=1024).contains(&entry) {
            self.l
                .warn("MemoryInfoList has unexpected header or entry size; ignored");
            return;
        }
        let n = self.bounded(s, hdr as u64, entry as u64, count, "MemoryInfoList");
        for i in 0..n {
            let e = s.rva + hdr as u64 + i * entry as u64;
            let (Some(base), Some(size), Some(state), Some(protect), Some(ty)) = (
                u64_at(self.data, e),
                u64_at(self.data, e + 24),
                u32_at(self.data, e + 32),
                u32_at(self.data, e + 36),
                u32_at(self.data, e + 40),
            ) else {
                break;
            };
            if state != 0x1000 {
                continue; // only committed memory has contents
            }
            let kind = match ty {
                0x20000 => "private memory",
                0x40000 => "mapped memory",
                0x100_0000 => "image memory",
                _ => "memory",
            };
            if !self.l.mapping(MappedRange {
                start: base,
                end: base.saturating_add(size),
                label: format!("{kind} {}", protection(protect)),
            }) {
                break;
            }
        }
    }
}

/// `rwx` string for a Windows PAGE_* protection value.
fn protection(p: u32) -> &'static str {
    match p & 0xff {
        0x01 => "---",
        0x02 => "r--",
        0x04 => "rw-",
        0x08 => "rw- (copy-on-write)",
        0x10 => "--x",
        0x20 => "r-x",
        0x40 => "rwx",
        0x80 => "rwx (copy-on-write)",
        _ => "?",
    }
}

fn system_info(data: &[u8], s: &Stream) -> Option<String> {
    let arch = u16_at(data, s.rva)?;
    let platform = u32_at(data, s.rva + 20)?;
    let os = match platform {
        0..=3 => "Windows",
        0x8000 => "Unix",
        0x8101 => "macOS",
        0x8102 => "iOS",
        0x8201 => "Linux",
        0x8202 => "Solaris",
        0x8203 => "Android",
        _ => "unknown OS",
    };
    let cpu = match arch {
        0 => "x86",
        5 => "ARM",
        9 => "x86-64",
        12 | 0x8003 => "ARM64",
        _ => "unknown CPU",
    };
    Some(format!("{os}, {cpu}"))
}
