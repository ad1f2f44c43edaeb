//! ELF core files (Linux kernel cores and gdb `gcore`), 32/64-bit, either byte order.
//!
//! goblin reads the ELF header and program headers; notes are walked by hand because their
//! payloads (NT_FILE, NT_PRSTATUS) are not decoded by goblin and must be bounds-checked
//! anyway. `Elf::parse` is avoided on purpose: it also parses sections, symbols and dynamic
//! info (failure modes irrelevant to cores) and ignores PN_XNUM (> 65,535 segments).

use super::region::clamp;
use super::{caps, short_label, Layout, MappedRange, Region, RegionKind, StackRange};
use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::ET_CORE;
use goblin::elf::program_header::{ProgramHeader, PF_W, PF_X, PT_LOAD, PT_NOTE};
use goblin::elf::section_header::SectionHeader;

const PN_XNUM: u16 = 0xffff;
const NT_PRSTATUS: u32 = 1;
const NT_PRPSINFO: u32 = 3;
const NT_FILE: u32 = 0x4649_4c45;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
/// brk heap randomisation on Linux is below 32 MiB; allow some slack.
const HEAP_WINDOW: u64 = 1 << 30;

/// True when `data` starts like an ELF file of type ET_CORE. Only the identification bytes and
/// `e_type` are looked at, so a core cut off inside its header is still recognised (and then
/// reported as truncated, not scanned as an unknown raw file).
pub fn is_core(data: &[u8]) -> bool {
    let (Some(ident), Some(ty)) = (data.get(..6), data.get(16..18)) else {
        return false;
    };
    let e_type = match ident[5] {
        1 => u16::from_le_bytes([ty[0], ty[1]]),
        2 => u16::from_be_bytes([ty[0], ty[1]]),
        _ => return false,
    };
    &ident[..4] == b"\x7fELF" && matches!(ident[4], 1 | 2) && e_type == ET_CORE
}

struct Load {
    vaddr: u64,
    memsz: u64,
    flags: u32,
}

struct FileMap {
    start: u64,
    end: u64,
    path: String,
}

pub fn parse(data: &[u8]) -> Layout {
    let mut l = Layout::new();
    let file_len = data.len() as u64;
    let header = match goblin::elf::Elf::parse_header(data) {
        Ok(h) => h,
        Err(e) => {
            l.lost(format_args!("ELF header unreadable: {e}"));
            return l;
        }
    };
    let ctx = match (header.container(), header.endianness()) {
        (Ok(c), Ok(e)) => Ctx::new(c, e),
        _ => {
            l.lost("ELF class or byte order invalid");
            return l;
        }
    };
    l.region(Region::other(
        0,
        header.e_ehsize as u64,
        RegionKind::Header,
        "ELF header",
    ));

    let mut phnum = header.e_phnum as u64;
    if header.e_phoff != 0 || header.e_shoff != 0 {
        check_section_table(data, &header, ctx, &mut l);
    }
    if header.e_phnum == PN_XNUM {
        // The real count lives in section header 0's sh_info.
        match SectionHeader::parse(data, header.e_shoff as usize, 1, ctx) {
            Ok(sh) if !sh.is_empty() => phnum = sh[0].sh_info as u64,
            _ => l.lost("PN_XNUM set but section header 0 unreadable"),
        }
    }
    let entsize = ProgramHeader::size(ctx) as u64;
    let room = file_len.saturating_sub(header.e_phoff) / entsize.max(1);
    if phnum > room {
        l.lost(format_args!(
            "program header table truncated: {phnum} claimed, room for {room}"
        ));
        phnum = room;
    }
    if phnum > caps::REGIONS as u64 {
        l.limit(format_args!(
            "{phnum} program headers; only the first {} are read (the rest is scanned without addresses)",
            caps::REGIONS
        ));
        phnum = caps::REGIONS as u64;
    }
    let phdrs = match ProgramHeader::parse(data, header.e_phoff as usize, phnum as usize, ctx) {
        Ok(p) => p,
        Err(e) => {
            l.lost(format_args!("program headers unreadable: {e}"));
            Vec::new()
        }
    };
    l.region(Region::other(
        header.e_phoff,
        phnum * entsize,
        RegionKind::Header,
        "ELF program headers",
    ));

    let mut loads = Vec::new();
    let mut notes = NoteState::default();
    // Legitimate note segments are disjoint, so together they hold at most the file. More
    // means segments point at the same bytes over and over (a hostile core): stop there.
    let mut note_budget = file_len;
    for ph in &phdrs {
        let (len, cut) = clamp(ph.p_offset, ph.p_filesz, file_len);
        if cut {
            l.lost(format_args!(
                "segment at {:#x}: {} of {} bytes are past the end of the file (truncated core)",
                ph.p_vaddr,
                ph.p_filesz - len,
                ph.p_filesz
            ));
        }
        match ph.p_type {
            PT_LOAD => {
                if ph.p_vaddr.checked_add(ph.p_memsz.max(len)).is_none() {
                    l.warn(format_args!(
                        "segment at {:#x} wraps the address space",
                        ph.p_vaddr
                    ));
                    continue;
                }
                if len > 0 {
                    let mut r = Region::memory(ph.p_offset, len, ph.p_vaddr);
                    r.truncated = cut;
                    l.region(r);
                }
                loads.push(Load {
                    vaddr: ph.p_vaddr,
                    memsz: ph.p_memsz,
                    flags: ph.p_flags,
                });
            }
            PT_NOTE if len > 0 => {
                if len > note_budget {
                    l.lost("note segments overlap or repeat; the rest are not walked");
                    note_budget = 0;
                    continue;
                }
                note_budget -= len;
                // In bounds: clamp() kept [p_offset, p_offset + len) inside the file.
                let bytes = &data[ph.p_offset as usize..(ph.p_offset + len) as usize];
                walk_notes(
                    bytes,
                    ph.p_offset,
                    &ctx,
                    header.e_machine,
                    &mut l,
                    &mut notes,
                );
            }
            _ => {}
        }
    }
    attribute(&mut l, &loads, &notes.files, &notes.threads);
    l.description = Some(format!(
        "ELF core ({}-bit, machine {}), {} segments, {} threads",
        if ctx.container == Container::Big {
            64
        } else {
            32
        },
        header.e_machine,
        loads.len(),
        notes.threads.len()
    ));
    l
}

/// gdb cores end with a section header table: if it is cut off, so is the file.
fn check_section_table(
    data: &[u8],
    header: &goblin::elf::header::Header,
    ctx: Ctx,
    l: &mut Layout,
) {
    if header.e_shoff == 0 {
        return;
    }
    let count = (header.e_shnum as u64).max(1);
    let size = SectionHeader::size(ctx) as u64;
    let end = count
        .checked_mul(size)
        .and_then(|n| n.checked_add(header.e_shoff));
    if !matches!(end, Some(e) if e <= data.len() as u64) {
        l.lost("section header table is cut off by the end of the file (truncated core)");
    }
}

fn word(d: &[u8], off: usize, ctx: &Ctx) -> Option<u64> {
    let big = ctx.container == Container::Big;
    let n = if big { 8 } else { 4 };
    let b = d.get(off..off.checked_add(n)?)?;
    let le = ctx.le == Endian::Little;
    Some(match (big, le) {
        (true, true) => u64::from_le_bytes(b.try_into().ok()?),
        (true, false) => u64::from_be_bytes(b.try_into().ok()?),
        (false, true) => u32::from_le_bytes(b.try_into().ok()?) as u64,
        (false, false) => u32::from_be_bytes(b.try_into().ok()?) as u64,
    })
}

fn u32w(d: &[u8], off: usize, ctx: &Ctx) -> Option<u32> {
    let b: [u8; 4] = d.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(if ctx.le == Endian::Little {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    })
}

fn note_name(t: u32) -> String {
    match t {
        1 => "NT_PRSTATUS".into(),
        2 => "NT_FPREGSET".into(),
        3 => "NT_PRPSINFO".into(),
        6 => "NT_AUXV".into(),
        0x202 => "NT_X86_XSTATE".into(),
        0x5349_4749 => "NT_SIGINFO".into(),
        0x4649_4c45 => "NT_FILE".into(),
        t => format!("{t:#x}"),
    }
}

/// What the notes of a core say about its process.
#[derive(Default)]
struct NoteState {
    files: Vec<FileMap>,
    /// (thread id, stack pointer) from NT_PRSTATUS.
    threads: Vec<(u32, u64)>,
}

/// Bytes of a note's owner name used in its label ("CORE", "LINUX", "GDB").
const MAX_OWNER: usize = 64;

fn walk_notes(
    notes: &[u8],
    base: u64,
    ctx: &Ctx,
    machine: u16,
    l: &mut Layout,
    st: &mut NoteState,
) {
    let align = |x: usize| x.checked_add(3).map(|v| v & !3);
    let mut off = 0usize;
    // Each round consumes at least the 12-byte note header, so this ends.
    while off + 12 <= notes.len() {
        let (Some(namesz), Some(descsz), Some(ntype)) = (
            u32w(notes, off, ctx),
            u32w(notes, off + 4, ctx),
            u32w(notes, off + 8, ctx),
        ) else {
            break;
        };
        let name_start = off + 12;
        let Some(desc_start) = align(namesz as usize).and_then(|n| name_start.checked_add(n))
        else {
            break;
        };
        let Some(desc_end) = desc_start.checked_add(descsz as usize) else {
            break;
        };
        if desc_end > notes.len() {
            l.lost(format_args!(
                "note at {:#x} claims {descsz} bytes past the end of its segment (truncated or corrupt)",
                base + off as u64
            ));
            break;
        }
        let name_len = (namesz as usize)
            .min(desc_start - name_start)
            .min(MAX_OWNER);
        let owner = String::from_utf8_lossy(&notes[name_start..name_start + name_len])
            .trim_end_matches('\0')
            .to_string();
        let desc = &notes[desc_start..desc_end];
        let label = match ntype {
            NT_PRPSINFO => "process info (command line)".to_string(),
            _ => format!("note {owner}/{}", note_name(ntype)),
        };
        l.region(Region::other(
            base + desc_start as u64,
            descsz as u64,
            RegionKind::Stream,
            label,
        ));
        if owner == "CORE" {
            match ntype {
                NT_PRSTATUS if st.threads.len() < caps::STACKS => {
                    let sp_index = match machine {
                        EM_X86_64 => Some(19),
                        EM_AARCH64 => Some(31),
                        _ => None,
                    };
                    let pid = u32w(desc, 32, ctx);
                    let sp = sp_index.and_then(|i| word(desc, 112 + i * 8, ctx));
                    if let (Some(pid), Some(sp)) = (pid, sp) {
                        st.threads.push((pid, sp));
                    }
                }
                NT_FILE => parse_nt_file(desc, ctx, &mut st.files),
                _ => {}
            }
        }
        match align(desc_end) {
            Some(next) if next > off => off = next,
            _ => break,
        }
    }
}

/// NT_FILE: count, page_size, count × {start, end, file_ofs}, then count NUL-terminated paths.
fn parse_nt_file(desc: &[u8], ctx: &Ctx, files: &mut Vec<FileMap>) {
    let w = if ctx.container == Container::Big {
        8
    } else {
        4
    };
    let Some(count) = word(desc, 0, ctx) else {
        return;
    };
    // Bounded by the bytes present and by what the address space index keeps.
    let max = (desc.len() / (3 * w)).min(caps::MAPPINGS.saturating_sub(files.len()));
    let count = usize::try_from(count).unwrap_or(usize::MAX).min(max);
    let mut names = desc
        .get(2 * w + count * 3 * w..)
        .unwrap_or(&[])
        .split(|&b| b == 0);
    for i in 0..count {
        let e = 2 * w + i * 3 * w;
        let (Some(start), Some(end)) = (word(desc, e, ctx), word(desc, e + w, ctx)) else {
            break;
        };
        let path = names
            .next()
            .map(|n| short_label(&String::from_utf8_lossy(n)))
            .unwrap_or_default();
        files.push(FileMap { start, end, path });
    }
}

/// Ranges sorted by start with a running maximum of their ends: "does any range overlap
/// [a, b)?" in O(log n), so attribution stays O(n log n) on hostile counts.
struct Overlaps {
    starts: Vec<u64>,
    max_end: Vec<u64>,
}

impl Overlaps {
    fn new(mut ranges: Vec<(u64, u64)>) -> Self {
        ranges.sort_unstable();
        let starts = ranges.iter().map(|r| r.0).collect();
        let max_end = ranges
            .iter()
            .scan(0u64, |m, r| {
                *m = (*m).max(r.1);
                Some(*m)
            })
            .collect();
        Overlaps { starts, max_end }
    }

    /// True when some range [s, e) has s < b and e > a.
    fn any(&self, a: u64, b: u64) -> bool {
        let n = self.starts.partition_point(|&s| s < b);
        n > 0 && self.max_end[n - 1] > a
    }
}

fn attribute(l: &mut Layout, loads: &[Load], files: &[FileMap], threads: &[(u32, u64)]) {
    let exec_loads = Overlaps::new(
        loads
            .iter()
            .filter(|ld| ld.flags & PF_X != 0)
            .map(|ld| (ld.vaddr, ld.vaddr + ld.memsz))
            .collect(),
    );
    let first_path = files.first().map(|f| f.path.as_str());
    for f in files {
        let short = f.path.rsplit('/').next().unwrap_or(&f.path).to_string();
        if !l.mapping(MappedRange {
            start: f.start,
            end: f.end,
            label: format!("mapping {}", f.path),
        }) {
            break;
        }
        let is_image = exec_loads.any(f.start, f.end)
            || short.contains(".so")
            || first_path == Some(f.path.as_str());
        if is_image {
            l.module(MappedRange {
                start: f.start,
                end: f.end,
                label: short,
            });
        }
    }
    // The main executable is the first file mapping; the brk heap is the first anonymous
    // writable segment after its end.
    let exe_end = first_path.map(|exe| {
        files
            .iter()
            .filter(|f| f.path == exe)
            .map(|f| f.end)
            .max()
            .unwrap_or(0)
    });
    let file_ranges = Overlaps::new(files.iter().map(|f| (f.start, f.end)).collect());
    // Stack pointers sorted, so each segment finds the threads inside it by binary search.
    // Several threads in one segment: the lowest stack pointer names it.
    let mut sps: Vec<(u64, u32)> = threads.iter().map(|&(tid, sp)| (sp, tid)).collect();
    sps.sort_unstable();
    let mut heap_found = false;
    let mut anon: Vec<&Load> = loads
        .iter()
        .filter(|ld| !file_ranges.any(ld.vaddr, ld.vaddr + ld.memsz))
        .collect();
    anon.sort_by_key(|ld| ld.vaddr);
    for ld in anon {
        let end = ld.vaddr + ld.memsz;
        let first = sps.partition_point(|&(sp, _)| sp < ld.vaddr);
        if let Some(&(_, tid)) = sps.get(first).filter(|&&(sp, _)| sp < end) {
            l.stack(StackRange {
                start: ld.vaddr,
                end,
                thread: tid,
                name: None,
            });
            continue;
        }
        let perms = format!(
            "r{}{}",
            if ld.flags & PF_W != 0 { 'w' } else { '-' },
            if ld.flags & PF_X != 0 { 'x' } else { '-' }
        );
        let is_heap = !heap_found
            && ld.flags & PF_W != 0
            && exe_end
                .map(|e| ld.vaddr >= e && ld.vaddr - e < HEAP_WINDOW)
                .unwrap_or(false);
        heap_found |= is_heap;
        if !l.mapping(MappedRange {
            start: ld.vaddr,
            end,
            label: if is_heap {
                "heap".into()
            } else {
                format!("anonymous {perms}")
            },
        }) {
            break;
        }
    }
}
