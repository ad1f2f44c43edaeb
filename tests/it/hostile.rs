//! Hostile and broken input (docs/design.md principles 1 and 6): malformed public samples,
//! truncated dumps, hand-built hostile containers and odd files. Each must finish with
//! bounded structure, say what it lost, scan every byte it has, and still find and verify the
//! test keys planted in the bytes that survive.

use crate::dumpbuild;

use dumpbuild::*;
use dumpguard::fuzzing::{caps, locate};
use dumpguard::report::Report;
use dumpguard::Scanner;
use dumpguard::{Dump, Format};
use std::path::Path;
use std::process::Command;

fn scan_bytes(data: &[u8]) -> Report {
    Scanner::new().scan_bytes("test", data)
}

fn write_temp(data: &[u8]) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(data).unwrap();
    f.flush().unwrap();
    f
}

/// The CLI's exit code and JSON report for one file.
fn cli(path: &Path) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_dumpguard"))
        .args(["scan", "--quiet", "--format", "json"])
        .arg(path)
        .output()
        .unwrap();
    let code = out.status.code().expect("exit code");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (code, json)
}

/// Asserts `report` holds a verified finding with the key's fingerprint.
fn assert_found(report: &Report, key: &TestKey, what: &str) {
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.verified && f.fingerprint.as_deref() == Some(key.fingerprint.as_str())),
        "{what}: key {} not found and verified; findings: {:?}",
        key.fingerprint,
        report
            .findings
            .iter()
            .map(|f| (&f.detector, &f.status, f.offset))
            .collect::<Vec<_>>()
    );
}

/// Structural bounds every layout keeps, whatever the input.
fn assert_bounded(dump: &Dump<'_>) {
    let l = &dump.layout;
    let len = dump.data().len() as u64;
    assert!(l.regions.len() <= caps::REGIONS);
    assert!(l.space.modules.len() <= caps::MODULES);
    assert!(l.space.stacks.len() <= caps::STACKS);
    assert!(l.space.mappings.len() <= caps::MAPPINGS);
    assert!(l.warnings.len() <= caps::WARNINGS + 16);
    assert!(l.complete || !l.warnings.is_empty());
    for r in &l.regions {
        assert!(
            r.len > 0 && r.end() <= len,
            "region {r:?} outside a {len}-byte file"
        );
        assert!(r.label.len() <= caps::LABEL + 64);
    }
    for m in l.space.modules.iter().chain(&l.space.mappings) {
        assert!(
            m.label.len() <= caps::LABEL + 64,
            "label of {} bytes",
            m.label.len()
        );
    }
    for s in &l.space.stacks {
        assert!(s.name.as_ref().map_or(true, |n| n.len() <= caps::LABEL + 3));
    }
}

/// Parses `data` (as `format`, or sniffed), checks the bounds, and requires a warning that
/// mentions `needle`.
fn parse_expect<'a>(data: &'a [u8], format: Option<Format>, needle: &str) -> Dump<'a> {
    let dump = match format {
        Some(f) => Dump::from_slice_as(data, f),
        None => Dump::from_slice(data),
    };
    assert_bounded(&dump);
    assert!(
        dump.layout.warnings.iter().any(|w| w.contains(needle)),
        "no warning containing {needle:?}: {:?}",
        dump.layout.warnings
    );
    dump
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("planted bytes present")
}

// =============================================================== (a) malformed public samples

#[test]
fn malformed_public_samples_are_bounded_and_incomplete() {
    for name in [
        "rust-minidump__invalid-range.dmp",
        "rust-minidump__invalid-record-count.dmp",
    ] {
        let data = sample(name);
        let dump = Dump::from_slice(&data);
        assert_bounded(&dump);
        assert_eq!(dump.format, Format::Minidump);
        assert!(!dump.layout.complete, "{name} must be reported incomplete");
        assert!(dump
            .layout
            .warnings
            .iter()
            .any(|w| w.contains("past the end of the file")));
        let report = scan_bytes(&data);
        assert_eq!(report.input.scanned_bytes, data.len() as u64);
        assert!(!report.input.complete);
        assert!(report.findings.iter().all(|f| !f.verified), "{name}");
    }
}

#[test]
fn crash_macos_memory_list_is_read_with_its_padding() {
    // rust-minidump reads this MemoryList without the 4 padding bytes after the count and
    // sees a 32767-byte range at RVA 2568 running past the end of the 17288-byte file. With
    // the padding (the stream is exactly 8 + 16·N bytes and both ranges then fit) the ranges
    // are a 2568-byte stack at 0x7fff5daa35f8 and 256 bytes at 0x10215d321: the dump is whole.
    let data = sample("symbolic__crash_macos.dmp");
    let dump = Dump::from_slice(&data);
    assert_bounded(&dump);
    assert!(dump.layout.complete, "{:?}", dump.layout.warnings);
    let stack = dump
        .layout
        .regions
        .iter()
        .find(|r| r.address == Some(0x7fff_5daa_35f8))
        .expect("stack range");
    assert_eq!((stack.file_offset, stack.len), (176, 2568));
    let report = scan_bytes(&data);
    assert_eq!(report.input.scanned_bytes, data.len() as u64);
    assert!(report.findings.iter().all(|f| !f.verified));
}

// =============================================================== (b) truncation

/// A dump with test keys planted at known places, some in bytes no region describes.
struct Planted {
    name: &'static str,
    data: Vec<u8>,
    /// (key, file offset of its first byte)
    keys: Vec<(TestKey, usize)>,
    /// Truncation points: (what, length kept).
    cuts: Vec<(&'static str, usize)>,
}

fn planted_minidump() -> Planted {
    let (gap_key, stack_key, heap_key) = (der_key(), pem_key(), der_key());
    let mut m = Minidump::new(6);
    // Unreferenced bytes right after the directory: no stream or range describes them.
    m.add(&[&[0xee; 40][..], &gap_key.bytes, &[0xee; 40]].concat());
    let stack = [&[0u8; 256][..], &stack_key.bytes, &[0u8; 256]].concat();
    let heap = [&[0x11u8; 64][..], &heap_key.bytes, &[0x22u8; 64]].concat();
    let rvas = m.memory_list(&[(0x7ffd_0000, &stack), (0x5555_0000, &heap)]);
    m.thread_list(7, 0x7ffd_0000, stack.len() as u32, rvas[0]);
    m.system_info_linux_x64();
    m.stream(stream::LINUX_ENVIRON, b"HOME=/root\0LANG=C\0");
    let data = m.finish();
    let mid_heap = rvas[1] as usize + heap.len() / 2;
    let cuts = vec![
        ("header", 20),
        ("directory", 32 + 12 + 5),
        ("middle of memory", mid_heap),
        ("last byte", data.len() - 1),
    ];
    Planted {
        name: "minidump",
        keys: vec![
            (find(&data, &gap_key.bytes), gap_key),
            (find(&data, &stack_key.bytes), stack_key),
            (find(&data, &heap_key.bytes), heap_key),
        ]
        .into_iter()
        .map(|(o, k)| (k, o))
        .collect(),
        data,
        cuts,
    }
}

fn planted_core() -> Planted {
    let (gap_key, heap_key, stack_key) = (der_key(), pem_key(), der_key());
    let mut c = ElfCore::new();
    c.note(note(b"CORE", 1, &prstatus(4242, 0x7ffd_0010)))
        .note(note(
            b"CORE",
            0x4649_4c45,
            &nt_file(&[(0x40_0000, 0x40_1000, "/usr/bin/victim")]),
        ));
    c.gap = [&[0xee; 24][..], &gap_key.bytes, &[0xee; 24]].concat();
    c.load(0x40_0000, PF_R | PF_X, vec![0x7f; 4096])
        .load(
            0x60_2000,
            PF_R | PF_W,
            [&[0u8; 100][..], &heap_key.bytes, &[0u8; 100]].concat(),
        )
        .load(
            0x7ffd_0000,
            PF_R | PF_W,
            [&[0u8; 200][..], &stack_key.bytes, &[0u8; 200]].concat(),
        );
    c.force_xnum = true; // ends with a section header table, like a gdb core
    let (data, offs) = c.build();
    let cuts = vec![
        ("header", 40),
        ("program headers", 64 + 56 + 10),
        ("middle of memory", offs[2] as usize + 100),
        ("last byte", data.len() - 1),
    ];
    Planted {
        name: "ELF core",
        keys: vec![
            (find(&data, &gap_key.bytes), gap_key),
            (find(&data, &heap_key.bytes), heap_key),
            (find(&data, &stack_key.bytes), stack_key),
        ]
        .into_iter()
        .map(|(o, k)| (k, o))
        .collect(),
        data,
        cuts,
    }
}

fn planted_lime() -> Planted {
    let (a, b) = (pem_key(), der_key());
    let r1 = [&[0u8; 128][..], &a.bytes, &[0u8; 128]].concat();
    let r2 = [&[0u8; 64][..], &b.bytes, &[0u8; 64]].concat();
    let data = lime(&[(0x1000, &r1), (0x10_0000, &r2)]);
    let second = 32 + r1.len();
    let cuts = vec![
        ("header", 16),
        ("second header", second + 20),
        ("middle of memory", second + 32 + r2.len() / 2),
        ("last byte", data.len() - 1),
    ];
    Planted {
        name: "LiME",
        keys: vec![(find(&data, &a.bytes), a), (find(&data, &b.bytes), b)]
            .into_iter()
            .map(|(o, k)| (k, o))
            .collect(),
        data,
        cuts,
    }
}

/// Cuts `p` at each point: the report is incomplete, the CLI exits 2, every byte kept is
/// scanned, and every planted key that survives whole is found and verified.
fn check_truncations(p: &Planted) {
    // The whole file first: complete, every key found.
    let f = write_temp(&p.data);
    let whole = Scanner::new()
        .scan_path(f.path(), &Default::default())
        .unwrap();
    assert!(
        whole.input.complete,
        "{} intact: {:?}",
        p.name, whole.input.warnings
    );
    for (k, _) in &p.keys {
        assert_found(&whole, k, p.name);
    }
    assert_eq!(cli(f.path()).0, 1, "{} intact: findings exit 1", p.name);

    for &(what, cut) in &p.cuts {
        let data = &p.data[..cut];
        let f = write_temp(data);
        let report = Scanner::new()
            .scan_path(f.path(), &Default::default())
            .unwrap();
        let ctx = format!("{} cut in the {what} at {cut}", p.name);
        assert!(!report.input.complete, "{ctx}: reported complete");
        assert!(!report.input.warnings.is_empty(), "{ctx}: no warning");
        assert_eq!(report.input.scanned_bytes, cut as u64, "{ctx}");
        assert_bounded(&Dump::from_slice(data));
        let mut surviving = 0;
        for (k, off) in &p.keys {
            if off + k.bytes.len() <= cut {
                surviving += 1;
                assert_found(&report, k, &ctx);
            }
        }
        let (code, json) = cli(f.path());
        assert_eq!(code, 2, "{ctx}: an incomplete scan exits 2");
        assert_eq!(json["input"]["complete"], false, "{ctx}");
        assert_eq!(
            json["findings"].as_array().map(|a| a.len() >= surviving),
            Some(true),
            "{ctx}: findings are still reported"
        );
    }
}

#[test]
fn truncated_minidump_scans_every_byte_it_has() {
    check_truncations(&planted_minidump());
}

#[test]
fn truncated_elf_core_scans_every_byte_it_has() {
    check_truncations(&planted_core());
}

#[test]
fn truncated_lime_scans_every_byte_it_has() {
    check_truncations(&planted_lime());
}

#[test]
fn truncated_public_samples_scan_every_byte_they_have() {
    let key = der_key();
    for (name, pristine) in public_samples() {
        // Plant the key inside the first memory range that holds it, so the structure stays
        // intact and the key sits where a real one would.
        let mut data = pristine.clone();
        let dump = Dump::from_slice(&pristine);
        let spot = dump
            .layout
            .regions
            .iter()
            .filter(|r| r.address.is_some() && r.len as usize >= key.bytes.len())
            .map(|r| r.file_offset as usize)
            .find(|&o| o + key.bytes.len() < data.len() / 2);
        drop(dump);
        if let Some(o) = spot {
            data[o..o + key.bytes.len()].copy_from_slice(&key.bytes);
        }
        for (what, cut) in [
            ("header", 20),
            ("directory", 32 + 12 + 6),
            ("middle", data.len() / 2),
            ("last byte", data.len() - 1),
        ] {
            let ctx = format!("{name} cut in the {what} at {cut}");
            let f = write_temp(&data[..cut]);
            let report = Scanner::new()
                .scan_path(f.path(), &Default::default())
                .unwrap();
            assert!(!report.input.complete, "{ctx}: reported complete");
            assert_eq!(report.input.scanned_bytes, cut as u64, "{ctx}");
            assert_bounded(&Dump::from_slice(&data[..cut]));
            if let Some(o) = spot {
                if o + key.bytes.len() <= cut {
                    assert_found(&report, &key, &ctx);
                }
            }
            assert_eq!(cli(f.path()).0, 2, "{ctx}: exit code");
        }
    }
}

// =============================================================== (c) hostile minidumps

#[test]
fn minidump_with_four_billion_streams() {
    let mut m = Minidump::new(1);
    m.system_info_linux_x64();
    let mut data = m.finish();
    put32(&mut data, 8, u32::MAX);
    let dump = parse_expect(&data, None, "streams");
    assert!(!dump.layout.complete);
}

#[test]
fn minidump_memory64_count_of_two_to_the_64_minus_one() {
    let key = der_key();
    let mut m = Minidump::new(1);
    let rva = m.stream(stream::MEMORY64_LIST, &[0; 32]) as usize;
    let base = m.add(&key.bytes) as u64;
    let mut data = m.finish();
    put64(&mut data, rva, u64::MAX);
    put64(&mut data, rva + 8, base);
    put64(&mut data, rva + 16, 0x1000); // one real descriptor
    put64(&mut data, rva + 24, key.bytes.len() as u64);
    let dump = parse_expect(&data, None, "Memory64List");
    assert!(!dump.layout.complete);
    assert!(dump
        .layout
        .regions
        .iter()
        .any(|r| r.address == Some(0x1000)));
    assert_found(&scan_bytes(&data), &key, "Memory64 count 2^64-1");
}

#[test]
fn minidump_memory64_sizes_summing_past_u64() {
    let key = der_key();
    let mut m = Minidump::new(1);
    let big = [0u8; 8];
    let (rva, _) = m.memory64_list(&[(0x1000, &key.bytes), (0x2000, &big), (0x3000, &big)]);
    let mut data = m.finish();
    // Descriptor 1 claims u64::MAX - 8 bytes: base + Σ sizes overflows at descriptor 2.
    let desc1 = rva + 16 + 16;
    assert_eq!(data[desc1..desc1 + 8], 0x2000u64.to_le_bytes());
    put64(&mut data, desc1 + 8, u64::MAX - 8);
    let dump = parse_expect(&data, None, "overflow");
    assert!(!dump.layout.complete);
    assert_found(&scan_bytes(&data), &key, "Memory64 overflow");
}

#[test]
fn minidump_rvas_past_the_end() {
    let key = pem_key();
    let mut m = Minidump::new(8);
    m.add(&key.bytes);
    // A stream, a memory range, a thread context, a module name and a thread name, all
    // pointing past the end of the file.
    m.entry(0x4767_0007, 100, 0xffff_ff00);
    let mut ml = Vec::new();
    u32le(&mut ml, 2);
    u64le(&mut ml, 0x1000);
    u32le(&mut ml, 64);
    u32le(&mut ml, 0xffff_fff0);
    u64le(&mut ml, u64::MAX - 2); // wraps the address space
    u32le(&mut ml, 64);
    u32le(&mut ml, 32);
    m.stream(stream::MEMORY_LIST, &ml);
    let mut th = Vec::new();
    u32le(&mut th, 1);
    th.extend_from_slice(&[0; 24]);
    u64le(&mut th, 0x7000);
    u32le(&mut th, 64);
    u32le(&mut th, 0xffff_0000);
    u32le(&mut th, 1232);
    u32le(&mut th, 0xffff_ff00);
    m.stream(stream::THREAD_LIST, &th);
    let mut md = Vec::new();
    u32le(&mut md, 1);
    let mut module = vec![0u8; 108];
    put64(&mut module, 0, 0x40_0000);
    put32(&mut module, 8, 0x1000);
    put32(&mut module, 20, 0xffff_fff0); // name
    put32(&mut module, 76, 0x100); // CodeView size
    put32(&mut module, 80, 0xffff_0000); // CodeView rva
    md.extend_from_slice(&module);
    m.stream(stream::MODULE_LIST, &md);
    let mut tn = Vec::new();
    u32le(&mut tn, 1);
    u32le(&mut tn, 0);
    u64le(&mut tn, u64::MAX);
    m.stream(stream::THREAD_NAMES, &tn);
    let data = m.finish();
    let dump = parse_expect(&data, None, "past the end of the file");
    assert!(!dump.layout.complete);
    for r in &dump.layout.regions {
        let _ = locate(&dump.layout.regions, &dump.layout.space, r.file_offset);
    }
    assert_found(&scan_bytes(&data), &key, "RVAs past EOF");
}

#[test]
fn minidump_names_cannot_amplify_memory() {
    // 20,000 modules and 20,000 thread names all point at one 64 KiB string: labels are cut,
    // so the layout holds kilobytes per entry at most, not 64 KiB.
    let mut m = Minidump::new(3);
    let long = "x".repeat(30_000) + "/evil.so";
    let name = m.string(&long);
    let n = 20_000u32;
    let mut md = Vec::new();
    u32le(&mut md, n);
    for i in 0..n {
        let mut module = vec![0u8; 108];
        put64(&mut module, 0, 0x1000_0000 + i as u64 * 0x1000);
        put32(&mut module, 8, 0x1000);
        put32(&mut module, 20, name);
        md.extend_from_slice(&module);
    }
    m.stream(stream::MODULE_LIST, &md);
    let mut tn = Vec::new();
    u32le(&mut tn, n);
    for i in 0..n {
        u32le(&mut tn, i);
        u64le(&mut tn, name as u64);
    }
    m.stream(stream::THREAD_NAMES, &tn);
    let mut th = Vec::new();
    u32le(&mut th, n);
    for i in 0..n {
        let mut t = vec![0u8; 48];
        put32(&mut t, 0, i);
        put64(&mut t, 24, 0x7000_0000 + i as u64 * 0x1000);
        put32(&mut t, 32, 0x1000);
        th.extend_from_slice(&t);
    }
    m.stream(stream::THREAD_LIST, &th);
    let data = m.finish();
    let dump = Dump::from_slice(&data);
    assert_bounded(&dump);
    assert_eq!(dump.layout.space.modules.len(), n as usize);
    assert!(dump
        .layout
        .space
        .modules
        .iter()
        .all(|m| m.label == "evil.so"));
    assert_eq!(dump.layout.space.stacks.len(), n as usize);
    let named = dump.layout.space.stacks.iter().filter(|s| s.name.is_some());
    assert_eq!(named.count(), n as usize);
}

#[test]
fn minidump_module_count_is_capped() {
    let n = caps::MODULES as u32 + 10;
    let mut md = Vec::new();
    u32le(&mut md, n);
    md.resize(4 + 108 * n as usize, 0);
    let mut m = Minidump::new(1);
    m.stream(stream::MODULE_LIST, &md);
    let data = m.finish();
    let dump = parse_expect(&data, None, "modules");
    assert_eq!(dump.layout.space.modules.len(), caps::MODULES);
    assert!(!dump.layout.complete);
}

#[test]
fn minidump_overlapping_and_duplicate_ranges() {
    // 5,000 descriptors for the same bytes at different addresses, one wrapping the address
    // space, plus one range covering the whole file: lookups stay cheap and correct.
    let key = der_key();
    let mut m = Minidump::new(1);
    let blob = [&[0u8; 64][..], &key.bytes, &[0u8; 64]].concat();
    let rva = m.add(&blob);
    let mut ml = Vec::new();
    let n = 5_000u32;
    u32le(&mut ml, n + 2);
    for i in 0..n {
        u64le(&mut ml, 0x10_0000 + i as u64 * 0x1_0000);
        u32le(&mut ml, blob.len() as u32);
        u32le(&mut ml, rva);
    }
    u64le(&mut ml, u64::MAX - 10);
    u32le(&mut ml, blob.len() as u32);
    u32le(&mut ml, rva);
    u64le(&mut ml, 0x9000_0000);
    u32le(&mut ml, 1 << 20); // past the end: clamped to the file
    u32le(&mut ml, 32);
    m.stream(stream::MEMORY_LIST, &ml);
    let data = m.finish();
    let dump = Dump::from_slice(&data);
    assert_bounded(&dump);
    let at = find(&data, &key.bytes) as u64;
    let loc = locate(&dump.layout.regions, &dump.layout.space, at);
    assert!(loc.address.is_some(), "{loc:?}");
    let report = scan_bytes(&data);
    assert_found(&report, &key, "overlapping ranges");
    let f = report
        .findings
        .iter()
        .find(|f| f.fingerprint.as_deref() == Some(&key.fingerprint))
        .unwrap();
    assert!(f.location.as_ref().unwrap().address.is_some());
}

#[test]
fn locate_finds_the_enclosing_range_behind_many_small_ones() {
    // One 64 KiB range and 2,000 one-byte ranges inside it: an offset between the small ones
    // belongs to the big range (a lookup that only looks at the nearest few regions misses
    // it), an offset on a small one to the small one (innermost wins).
    let mut m = Minidump::new(1);
    let blob = vec![0x33u8; 1 << 16];
    let rva = m.add(&blob);
    let mut ml = Vec::new();
    let n = 2_000u32;
    u32le(&mut ml, n + 1);
    u64le(&mut ml, 0x10_0000);
    u32le(&mut ml, blob.len() as u32);
    u32le(&mut ml, rva);
    for i in 0..n {
        u64le(&mut ml, 0x9000_0000 + i as u64 * 0x100);
        u32le(&mut ml, 1);
        u32le(&mut ml, rva + i * 16);
    }
    m.stream(stream::MEMORY_LIST, &ml);
    let data = m.finish();
    let dump = Dump::from_slice(&data);
    assert_bounded(&dump);
    let (regions, space) = (&dump.layout.regions, &dump.layout.space);
    let gap = rva as u64 + 1000 * 16 + 8;
    assert_eq!(
        locate(regions, space, gap).address,
        Some(0x10_0000 + gap - rva as u64)
    );
    let small = rva as u64 + 1000 * 16;
    assert_eq!(
        locate(regions, space, small).address,
        Some(0x9000_0000 + 1000 * 0x100)
    );
    let past = rva as u64 + blob.len() as u64;
    assert_eq!(locate(regions, space, past).address, None);
}

// =============================================================== (c) hostile ELF cores

#[test]
fn elf_core_with_more_than_65535_program_headers() {
    // PN_XNUM: e_phnum = 0xffff, the real count (70,001) in section header 0's sh_info.
    let key = der_key();
    let n = 70_000u64;
    let mut c = ElfCore::new();
    c.note(note(b"CORE", 1, &prstatus(1, 0x1000)));
    for i in 0..n {
        c.load(0x1_0000_0000 + i * 0x1000, PF_R | PF_W, vec![i as u8; 16]);
    }
    c.load(0x7000_0000, PF_R | PF_W, key.bytes.clone());
    let (data, _) = c.build();
    let dump = Dump::from_slice(&data);
    assert_bounded(&dump);
    assert_eq!(dump.format, Format::ElfCore);
    assert!(dump.layout.complete, "{:?}", dump.layout.warnings);
    assert!(
        dump.layout
            .description
            .as_deref()
            .is_some_and(|d| d.contains(&format!("{} segments", n + 1))),
        "{:?}",
        dump.layout.description
    );
    let memory = dump
        .layout
        .regions
        .iter()
        .filter(|r| r.address.is_some())
        .count();
    assert_eq!(memory as u64, n + 1);
    let report = scan_bytes(&data);
    assert_found(&report, &key, "PN_XNUM core");
    let f = report
        .findings
        .iter()
        .find(|f| f.fingerprint.as_deref() == Some(&key.fingerprint))
        .unwrap();
    assert_eq!(f.location.as_ref().unwrap().address, Some(0x7000_0000));
}

#[test]
fn elf_core_pn_xnum_with_hostile_section_header() {
    let mut c = ElfCore::new();
    c.load(0x1000, PF_R, vec![0; 64]);
    c.force_xnum = true;
    let (mut data, _) = c.build();
    // sh_info = u32::MAX program headers.
    let sh = data.len() - 64;
    put32(&mut data, sh + 44, u32::MAX);
    parse_expect(&data, None, "program header table truncated");
    // Section header table past the end of the file.
    let (mut data, _) = c.build();
    put64(&mut data, 40, u64::MAX - 100);
    parse_expect(&data, None, "section header");
}

#[test]
fn elf_core_note_with_huge_sizes() {
    let key = pem_key();
    let mut c = ElfCore::new();
    let mut n = note(b"CORE", 1, &[0u8; 32]);
    put32(&mut n, 4, 0xffff_fff0); // descsz
    c.note(n).note(key.bytes.clone());
    let (data, _) = c.build();
    let dump = parse_expect(&data, None, "past the end of its segment");
    assert!(!dump.layout.complete);
    assert_found(&scan_bytes(&data), &key, "note with huge descsz");
    // namesz near u32::MAX.
    let mut c = ElfCore::new();
    let mut n = note(b"CORE", 1, &[0u8; 32]);
    put32(&mut n, 0, u32::MAX);
    c.note(n);
    let (data, _) = c.build();
    parse_expect(&data, None, "past the end of its segment");
}

#[test]
fn elf_core_repeated_note_segments_are_walked_once() {
    // 20,000 PT_NOTE headers all pointing at 120 KB of 12-byte notes: walking each would be
    // 200 million notes.
    let mut c = ElfCore::new();
    let mut notes = Vec::new();
    for _ in 0..10_000 {
        notes.extend_from_slice(&note(b"", 7, &[]));
    }
    c.note(notes.clone());
    let (data, _) = c.build();
    let nph = 1 + 20_000u64;
    let mut out = data[..64].to_vec();
    let notes_off = 64 + 56 * nph;
    for _ in 0..nph {
        Phdr {
            p_type: PT_NOTE,
            flags: 0,
            offset: notes_off,
            vaddr: 0,
            filesz: notes.len() as u64,
            memsz: 0,
        }
        .bytes(&mut out);
    }
    out.extend_from_slice(&notes);
    out[56..58].copy_from_slice(&(nph as u16).to_le_bytes());
    let dump = parse_expect(&out, None, "note segments overlap");
    assert!(dump.layout.regions.len() < 20_000);
}

#[test]
fn elf_core_many_files_times_many_loads() {
    // Attribution joins NT_FILE entries with segments; 30,000 × 30,000 must not be quadratic.
    let n = 30_000u64;
    let files: Vec<(u64, u64, String)> = (0..n)
        .map(|i| {
            (
                0x1000_0000 + i * 0x2000,
                0x1000_1000 + i * 0x2000,
                format!("/lib/f{i}.so"),
            )
        })
        .collect();
    let refs: Vec<(u64, u64, &str)> = files.iter().map(|(s, e, p)| (*s, *e, p.as_str())).collect();
    let mut c = ElfCore::new();
    c.note(note(b"CORE", 0x4649_4c45, &nt_file(&refs)));
    for i in 0..n {
        // Alternate: file-backed executable segments and anonymous ones.
        c.load(
            0x1000_0000 + i * 0x1000,
            if i % 2 == 0 { PF_R | PF_X } else { PF_R | PF_W },
            vec![0; 8],
        );
    }
    let (data, _) = c.build();
    let dump = Dump::from_slice(&data);
    assert_bounded(&dump);
    assert!(dump.layout.complete, "{:?}", dump.layout.warnings);
    assert!(dump.layout.space.modules.len() as u64 >= n / 2);
    assert!(dump.layout.space.mappings.len() as u64 >= n);
}

#[test]
fn elf_core_wrapping_overlapping_and_out_of_file_segments() {
    let key = der_key();
    let mut c = ElfCore::new();
    c.load(0x1000, PF_R | PF_W, [&[0u8; 32][..], &key.bytes].concat());
    let (_, offs) = c.build();
    let ext = |p: Phdr| {
        let mut c2 = ElfCore::new();
        c2.load(0x1000, PF_R | PF_W, [&[0u8; 32][..], &key.bytes].concat());
        c2.extra_phdrs.push(p);
        c2.build().0
    };
    let base = Phdr {
        p_type: PT_LOAD,
        flags: PF_R,
        offset: offs[0],
        vaddr: 0,
        filesz: 64,
        memsz: 64,
    };
    for (what, p, needle) in [
        (
            "wrapping vaddr",
            Phdr {
                vaddr: u64::MAX - 4,
                memsz: 4,
                filesz: 100,
                ..base
            },
            "wraps",
        ),
        (
            "offset past EOF",
            Phdr {
                offset: u64::MAX - 10,
                filesz: 100,
                ..base
            },
            "past the end",
        ),
        (
            "size past EOF",
            Phdr {
                filesz: u64::MAX,
                ..base
            },
            "past the end",
        ),
    ] {
        let data = ext(p);
        let dump = parse_expect(&data, None, needle);
        let at = find(&data, &key.bytes) as u64;
        let _ = locate(&dump.layout.regions, &dump.layout.space, at);
        assert_found(&scan_bytes(&data), &key, what);
    }
    // Overlapping segments describing the same bytes at two addresses.
    let mut c = ElfCore::new();
    c.load(0x1000, PF_R | PF_W, key.bytes.clone());
    c.extra_phdrs.push(base);
    let offs = c.build().1;
    c.extra_phdrs[0] = Phdr {
        vaddr: 0x9000,
        filesz: key.bytes.len() as u64,
        memsz: key.bytes.len() as u64,
        offset: offs[0],
        ..base
    };
    let (d2, _) = c.build();
    let dump = Dump::from_slice(&d2);
    assert_bounded(&dump);
    assert!(dump.layout.complete);
    assert_eq!(
        dump.layout
            .regions
            .iter()
            .filter(|r| r.file_offset == offs[0])
            .count(),
        2
    );
    assert_found(&scan_bytes(&d2), &key, "overlapping segments");
}

// =============================================================== (c) hostile LiME

#[test]
fn lime_hostile_range_headers() {
    let key = der_key();
    let body = [&[0u8; 16][..], &key.bytes].concat();
    let good = lime(&[(0x1000, &body)]);
    for (what, header, needle) in [
        (
            "end before start",
            lime_header(0x2000, 0x1000),
            "invalid range header",
        ),
        ("whole address space", lime_header(0, u64::MAX), "overflows"),
        (
            "longer than the file",
            lime_header(0x5000, 0x5000 + (1 << 40)),
            "cut off",
        ),
    ] {
        let data = [&good[..], &header, &[0xab; 100][..], &key.bytes].concat();
        let dump = parse_expect(&data, None, needle);
        assert!(!dump.layout.complete, "{what}");
        let report = scan_bytes(&data);
        assert_eq!(report.input.scanned_bytes, data.len() as u64);
        assert_found(&report, &key, what);
    }
    // 100,000 one-byte ranges: bounded, complete.
    let mut data = Vec::new();
    for i in 0..100_000u64 {
        data.extend_from_slice(&lime_header(i * 2, i * 2));
        data.push(0x55);
    }
    let dump = Dump::from_slice(&data);
    assert_bounded(&dump);
    assert!(dump.layout.complete);
    assert_eq!(dump.layout.regions.len(), 200_000);
}

// =============================================================== (c) hostile raw indexes

#[test]
fn raw_sidecar_index_is_untrusted() {
    let key = der_key();
    let image = [&[0u8; 100][..], &key.bytes, &[0u8; 100]].concat();
    let json = format!(
        r#"[{{"va": {}, "file_off": 0, "len": 64}},
            {{"va": 4096, "file_off": {}, "len": {}}},
            {{"va": 8192, "file_off": 18446744073709551615, "len": 10}},
            {{"va": 12288, "file_off": 0, "len": 18446744073709551615, "path": "{}"}}]"#,
        u64::MAX - 3,
        100,
        key.bytes.len(),
        "p".repeat(5000)
    );
    let dump = Dump::from_slice_with_index(&image, json.as_bytes());
    assert_bounded(&dump);
    assert!(!dump.layout.complete);
    assert!(dump.layout.warnings.iter().any(|w| w.contains("wraps")));
    assert!(dump
        .layout
        .warnings
        .iter()
        .any(|w| w.contains("past the end")));
    let loc = locate(&dump.layout.regions, &dump.layout.space, 120);
    assert!(loc.address.is_some());
    // Malformed index: the image is still a raw image, and the scan is incomplete (the
    // attribution asked for is missing).
    let dump = Dump::from_slice_with_index(&image, b"[{\"va\": -1}]");
    assert_bounded(&dump);
    assert!(!dump.layout.complete);
    assert!(dump
        .layout
        .warnings
        .iter()
        .any(|w| w.contains("unreadable")));
}

#[test]
fn raw_sidecar_that_is_not_a_file_makes_the_scan_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("mem.raw");
    std::fs::write(&image, [0u8; 64]).unwrap();
    std::fs::create_dir(dir.path().join("mem.raw.regions.json")).unwrap();
    let report = Scanner::new()
        .scan_path(&image, &Default::default())
        .unwrap();
    assert!(report
        .input
        .warnings
        .iter()
        .any(|w| w.contains("not a regular file")));
    assert!(!report.input.complete);
}

// =============================================================== (d) odd files

#[test]
fn empty_and_one_byte_files() {
    for data in [&b""[..], b"M", b"\x7f", b"E"] {
        let f = write_temp(data);
        let report = Scanner::new()
            .scan_path(f.path(), &Default::default())
            .unwrap();
        assert_eq!(report.input.size, data.len() as u64);
        assert_eq!(report.input.scanned_bytes, data.len() as u64);
        assert_eq!(report.input.format, "raw");
        assert!(report.findings.is_empty());
        // Too short to be any container: a raw image, scanned completely.
        assert!(report.input.complete);
        assert_eq!(cli(f.path()).0, 0);
    }
    // Short prefixes of real containers are recognised and reported truncated.
    for data in [
        &b"MDMP"[..],
        b"MDMP\x93\xa7\0\0",
        b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x04\0",
    ] {
        let report = scan_bytes(data);
        assert!(!report.input.complete, "{data:?}");
        assert_ne!(report.input.format, "raw");
    }
    let lime_prefix = &lime_header(0, 15)[..12];
    assert!(!scan_bytes(lime_prefix).input.complete);
}

#[test]
fn directory_given_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = Scanner::new()
        .scan_path(dir.path(), &Default::default())
        .err()
        .map(|e| e.kind());
    assert_eq!(
        err,
        Some(std::io::ErrorKind::InvalidInput),
        "a directory is not a dump"
    );
    // The CLI recurses into directories: an empty one has nothing to scan.
    let (code, _) = cli(dir.path());
    assert_eq!(code, 0);
}

#[test]
fn fifo_and_device_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    // Opening a FIFO for reading would block until a writer comes; it must be refused first.
    let err = Scanner::new().scan_path(&fifo, &Default::default()).err();
    assert_eq!(
        err.map(|e| e.kind()),
        Some(std::io::ErrorKind::InvalidInput)
    );
    // A device reports length 0: it must not pass for an empty, completely scanned dump.
    let err = Scanner::new()
        .scan_path(Path::new("/dev/null"), &Default::default())
        .err();
    assert_eq!(
        err.map(|e| e.kind()),
        Some(std::io::ErrorKind::InvalidInput)
    );
    let (code, _) = cli(Path::new("/dev/null"));
    assert_eq!(code, 2);
}
