//! ELF core files (Linux kernel cores and gdb `gcore`), 32/64-bit, either byte order.
//!
//! goblin reads the ELF header and program headers; notes are walked by hand because their
//! payloads (NT_FILE, NT_PRSTATUS) are not decoded by goblin and must be bounds-checked
//! anyway. `Elf::parse` is avoided on purpose: it also parses sections, symbols and dynamic
//! info (failure modes irrelevant to cores) and ignores PN_XNUM (> 65,535 segments).

use super::region::clamp;
use super::{Layout, MappedRange, Region, RegionKind, StackRange};
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

/// True when `data` starts with an ELF header of type ET_CORE.
pub fn is_core(data: &[u8]) -> bool {
    data.len() >= 52
        && &data[..4] == b"\x7fELF"
        && goblin::elf::Elf::parse_header(data)
            .map(|h| h.e_type == ET_CORE)
            .unwrap_or(false)
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
            l.lost(format!("ELF header unreadable: {e}"));
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
    l.regions.push(Region::other(
        0,
        header.e_ehsize as u64,
        RegionKind::Header,
        "ELF header",
    ));

    let mut phnum = header.e_phnum as u64;
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
        l.lost(format!(
            "program header table truncated: {phnum} claimed, room for {room}"
        ));
        phnum = room;
    }
    let phdrs = match ProgramHeader::parse(data, header.e_phoff as usize, phnum as usize, ctx) {
        Ok(p) => p,
        Err(e) => {
            l.lost(format!("program headers unreadable: {e}"));
            Vec::new()
        }
    };
    l.regions.push(Region::other(
        header.e_phoff,
        phnum * entsize,
        RegionKind::Header,
        "ELF program headers",
    ));

    let mut loads = Vec::new();
    let mut files = Vec::new();
    let mut threads: Vec<(u32, u64)> = Vec::new();
    for ph in &phdrs {
        let (len, cut) = clamp(ph.p_offset, ph.p_filesz, file_len);
        if cut {
            l.lost(format!(
                "segment at {:#x}: {} of {} bytes are past the end of the file (truncated core)",
                ph.p_vaddr,
                ph.p_filesz - len,
                ph.p_filesz
            ));
        }
        match ph.p_type {
            PT_LOAD => {
                if ph.p_vaddr.checked_add(ph.p_memsz).is_none() {
                    l.warn(format!(
                        "segment at {:#x} wraps the address space",
                        ph.p_vaddr
                    ));
                    continue;
                }
                if len > 0 {
                    let mut r = Region::memory(ph.p_offset, len, ph.p_vaddr);
                    r.truncated = cut;
                    l.regions.push(r);
                }
                loads.push(Load {
                    vaddr: ph.p_vaddr,
                    memsz: ph.p_memsz,
                    flags: ph.p_flags,
                });
            }
            PT_NOTE if len > 0 => {
                let notes = &data[ph.p_offset as usize..(ph.p_offset + len) as usize];
                walk_notes(
                    notes,
                    ph.p_offset,
                    &ctx,
                    header.e_machine,
                    &mut l,
                    &mut files,
                    &mut threads,
                );
            }
            _ => {}
        }
    }
    attribute(&mut l, &loads, &files, &threads);
    l.description = Some(format!(
        "ELF core ({}-bit, machine {}), {} segments, {} threads",
        if ctx.container == Container::Big {
            64
        } else {
            32
        },
        header.e_machine,
        loads.len(),
        threads.len()
    ));
    l
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

#[allow(clippy::too_many_arguments)]
fn walk_notes(
    notes: &[u8],
    base: u64,
    ctx: &Ctx,
    machine: u16,
    l: &mut Layout,
    files: &mut Vec<FileMap>,
    threads: &mut Vec<(u32, u64)>,
) {
    let align = |x: usize| x.checked_add(3).map(|v| v & !3);
    let mut off = 0usize;
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
            l.lost("note segment truncated");
            break;
        }
        let owner = String::from_utf8_lossy(
            &notes[name_start..name_start + (namesz as usize).min(desc_start - name_start)],
        )
        .trim_end_matches('\0')
        .to_string();
        let desc = &notes[desc_start..desc_end];
        let label = match ntype {
            NT_PRPSINFO => "process info (command line)".to_string(),
            _ => format!("note {owner}/{}", note_name(ntype)),
        };
        l.regions.push(Region::other(
            base + desc_start as u64,
            descsz as u64,
            RegionKind::Stream,
            label,
        ));
        if owner == "CORE" {
            match ntype {
                NT_PRSTATUS => {
                    let sp_index = match machine {
                        EM_X86_64 => Some(19),
                        EM_AARCH64 => Some(31),
                        _ => None,
                    };
                    let pid = u32w(desc, 32, ctx);
                    let sp = sp_index.and_then(|i| word(desc, 112 + i * 8, ctx));
                    if let (Some(pid), Some(sp)) = (pid, sp) {
                        threads.push((pid, sp));
                    }
                }
                NT_FILE => parse_nt_file(desc, ctx, files),
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
    let max = desc.len() / (3 * w);
    let count = (count as usize).min(max);
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
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        files.push(FileMap { start, end, path });
    }
}

fn attribute(l: &mut Layout, loads: &[Load], files: &[FileMap], threads: &[(u32, u64)]) {
    for f in files {
        let short = f.path.rsplit('/').next().unwrap_or(&f.path).to_string();
        l.space.mappings.push(MappedRange {
            start: f.start,
            end: f.end,
            label: format!("mapping {}", f.path),
        });
        let is_image = loads
            .iter()
            .any(|ld| ld.flags & PF_X != 0 && ld.vaddr < f.end && f.start < ld.vaddr + ld.memsz)
            || short.contains(".so")
            || files.first().map(|x| x.path == f.path).unwrap_or(false);
        if is_image {
            l.space.modules.push(MappedRange {
                start: f.start,
                end: f.end,
                label: short,
            });
        }
    }
    // The main executable is the first file mapping; the brk heap is the first anonymous
    // writable segment after its end.
    let exe_end = files.first().map(|exe| {
        files
            .iter()
            .filter(|f| f.path == exe.path)
            .map(|f| f.end)
            .max()
            .unwrap_or(0)
    });
    let file_backed = |ld: &Load| {
        files
            .iter()
            .any(|f| f.start < ld.vaddr + ld.memsz && ld.vaddr < f.end)
    };
    let mut heap_found = false;
    let mut anon: Vec<&Load> = loads.iter().filter(|ld| !file_backed(ld)).collect();
    anon.sort_by_key(|ld| ld.vaddr);
    for ld in anon {
        let end = ld.vaddr + ld.memsz;
        if let Some((tid, _)) = threads.iter().find(|(_, sp)| *sp >= ld.vaddr && *sp < end) {
            l.space.stacks.push(StackRange {
                start: ld.vaddr,
                end,
                thread: *tid,
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
        l.space.mappings.push(MappedRange {
            start: ld.vaddr,
            end,
            label: if is_heap {
                "heap".into()
            } else {
                format!("anonymous {perms}")
            },
        });
    }
}
