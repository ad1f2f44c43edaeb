//! Invariants shared by the fuzz targets. A target fails (libFuzzer reports a crash) on a
//! panic anywhere in dumpguard or on a broken invariant below.

use dumpguard::input::{caps, locate, Dump};
use dumpguard::report::Report;
use dumpguard::Scanner;
use std::sync::OnceLock;

/// What every parsed layout must satisfy, whatever the input.
pub fn check_layout(dump: &Dump<'_>) {
    let len = dump.data().len() as u64;
    let l = &dump.layout;
    assert!(l.regions.len() <= caps::REGIONS);
    assert!(l.space.modules.len() <= caps::MODULES);
    assert!(l.space.stacks.len() <= caps::STACKS);
    assert!(l.space.mappings.len() <= caps::MAPPINGS);
    assert!(l.warnings.len() <= caps::WARNINGS + 1, "warnings are capped");
    assert!(l.complete || !l.warnings.is_empty(), "incomplete without a reason");
    for r in &l.regions {
        assert!(r.len > 0, "empty region kept");
        assert!(r.end() <= len, "region past the end of the file");
        if let Some(a) = r.address {
            assert!(a.checked_add(r.len).is_some(), "region address wraps");
        }
    }
    assert!(
        l.regions.windows(2).all(|w| w[0].file_offset <= w[1].file_offset),
        "regions unsorted"
    );
    // Attribution of any offset and address translation of any region never fail.
    let probes = l
        .regions
        .iter()
        .take(256)
        .flat_map(|r| [r.file_offset, r.end() - 1])
        .chain([0, len / 2, len.saturating_sub(1)]);
    for off in probes {
        let _ = locate(&l.regions, &l.space, off);
    }
    for r in l.regions.iter().take(256) {
        if let Some(a) = r.address {
            if let Some((off, avail)) = l.space.to_file(a) {
                assert!(off < len && avail > 0, "to_file outside the file");
            }
        }
    }
}

/// The scanner, built once per process (compiling the anchor automaton is the slow part).
pub fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(Scanner::new)
}

/// What every report must satisfy: every byte scanned, findings inside the file, renderers
/// that never fail.
pub fn check_report(data: &[u8], report: &Report) {
    let len = data.len() as u64;
    assert_eq!(report.input.scanned_bytes, len, "every byte is scanned");
    assert!(report.input.complete || !report.input.warnings.is_empty());
    for f in &report.findings {
        assert!(f.offset < len, "finding offset past the end");
        assert!(
            f.offset.checked_add(f.length).is_some_and(|e| e <= len),
            "finding runs past the end"
        );
    }
    let _ = report.to_json(false);
    let _ = dumpguard::report::human::render(report);
}
