//! Raw images: no container, one region. A raw process image made from /proc/PID/mem may
//! carry a sidecar index `<image>.regions.json` (a JSON array of
//! `{"va", "file_off", "len", "perms", "path"}`) that restores addresses and mapping names.

use super::{short_label, Dump, Layout, MappedRange, Region, RegionKind};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// One entry of a raw image's sidecar index.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct RawIndexEntry {
    pub va: u64,
    pub file_off: u64,
    pub len: u64,
    #[serde(default)]
    pub perms: String,
    #[serde(default)]
    pub path: String,
}

pub fn parse(data: &[u8]) -> Layout {
    let mut layout = Layout::new();
    layout.region(Region::other(
        0,
        data.len() as u64,
        RegionKind::Memory,
        "raw image",
    ));
    layout.warn("no container format recognised: scanned as a raw image (file offsets only)");
    layout
}

/// The largest sidecar we read; an index of a real process is a few hundred entries.
const MAX_SIDECAR: u64 = 16 << 20;

/// Reads `<path>.regions.json` when it exists and is a regular file of sane size.
pub(super) fn apply_sidecar_file(path: &Path, dump: &mut Dump<'_>) {
    let mut side = path.as_os_str().to_owned();
    side.push(".regions.json");
    let side = Path::new(&side);
    // Only an index that exists is read; one that is there but cannot be used (not a
    // regular file, too large, unreadable, malformed) makes the scan incomplete: the user
    // asked for attribution and must not take a silently thinner report for a complete one.
    if std::fs::symlink_metadata(side).is_err() {
        return;
    }
    match super::config_file::read_bounded(side, MAX_SIDECAR) {
        Ok(json) => apply_sidecar_index(&json, &side.display().to_string(), dump),
        Err(e) => dump.layout.lost(format_args!(
            "region index {} not used: {e}",
            side.display()
        )),
    }
}

/// Replaces the raw layout with the regions of a sidecar index (`name` is how the report
/// refers to it). Entries are untrusted like any dump content: clamped to the image,
/// addresses that would wrap are dropped, counts are capped.
pub(super) fn apply_sidecar_index(json: &[u8], name: &str, dump: &mut Dump<'_>) {
    if json.len() as u64 > MAX_SIDECAR {
        dump.layout
            .lost(format_args!("{name} is too large to be a region index"));
        return;
    }
    let entries: Vec<RawIndexEntry> = match serde_json::from_slice(json) {
        Ok(e) => e,
        Err(e) => {
            dump.layout
                .lost(format_args!("region index {name} unreadable: {e}"));
            return;
        }
    };
    let file_len = dump.data().len() as u64;
    let layout = &mut dump.layout;
    layout.reset();
    // (path, start, end) of file-backed entries, and the paths mapped executable.
    let mut files: Vec<(String, u64, u64)> = Vec::new();
    let mut executable: HashSet<String> = HashSet::new();
    for e in entries {
        let (len, cut) = super::region::clamp(e.file_off, e.len, file_len);
        if cut {
            layout.lost(format_args!(
                "index entry at {:#x} claims {} bytes past the end of the image",
                e.va,
                e.len - len
            ));
        }
        if len == 0 {
            continue;
        }
        if e.va.checked_add(len).is_none() {
            layout.warn(format_args!(
                "index entry at {:#x} wraps the address space",
                e.va
            ));
            continue;
        }
        let mut r = Region::memory(e.file_off, len, e.va);
        r.truncated = cut;
        layout.region(r);
        let range = MappedRange {
            start: e.va,
            end: e.va.saturating_add(e.len),
            label: short_label(&mapping_label(&e.path, &e.perms)),
        };
        if !layout.mapping(range) {
            break;
        }
        if e.path.starts_with('/') {
            if e.perms.contains('x') {
                executable.insert(e.path.clone());
            }
            files.push((e.path, e.va, e.va.saturating_add(e.len)));
        }
    }
    // A file with an executable mapping is a loaded module; all its mappings (code, data,
    // relro) belong to it. Indexed by name, so a hostile index of 500,000 entries stays
    // O(n log n).
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut modules: Vec<MappedRange> = Vec::new();
    for (path, start, end) in &files {
        if !executable.contains(path) {
            continue;
        }
        let short = short_label(path.rsplit('/').next().unwrap_or(path));
        match by_name.get(&short) {
            Some(&i) => {
                let m = &mut modules[i];
                m.start = m.start.min(*start);
                m.end = m.end.max(*end);
            }
            None => {
                by_name.insert(short.clone(), modules.len());
                modules.push(MappedRange {
                    start: *start,
                    end: *end,
                    label: short,
                });
            }
        }
    }
    for m in modules {
        layout.module(m);
    }
    layout.finish(file_len);
    layout.description = Some(format!("raw process image with index {name}"));
}

/// Label for a mapping from its /proc/PID/maps path and permissions.
pub fn mapping_label(path: &str, perms: &str) -> String {
    match path {
        "[heap]" => "heap".into(),
        "[stack]" => "stack".into(),
        "" => format!("anonymous {perms}").trim_end().to_string(),
        p => format!("mapping {p}"),
    }
}
