//! Raw images: no container, one region. A raw process image made from /proc/PID/mem may
//! carry a sidecar index `<image>.regions.json` (a JSON array of
//! `{"va", "file_off", "len", "perms", "path"}`) that restores addresses and mapping names.

use super::{Dump, Layout, MappedRange, Region, RegionKind};
use serde::Deserialize;
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
    layout.regions.push(Region::other(
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

pub(super) fn apply_sidecar_index(path: &Path, dump: &mut Dump<'_>) {
    let mut side = path.as_os_str().to_owned();
    side.push(".regions.json");
    let side = Path::new(&side);
    let Ok(meta) = std::fs::metadata(side) else {
        return;
    };
    if meta.len() > MAX_SIDECAR {
        dump.layout.warn(format!(
            "{} is too large to be a region index",
            side.display()
        ));
        return;
    }
    let parsed: Result<Vec<RawIndexEntry>, _> = std::fs::read(side)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
    let entries = match parsed {
        Ok(e) => e,
        Err(e) => {
            dump.layout
                .warn(format!("region index {} unreadable: {e}", side.display()));
            return;
        }
    };
    let file_len = dump.data().len() as u64;
    let layout = &mut dump.layout;
    layout.warnings.clear();
    layout.regions.clear();
    let mut files: Vec<(String, u64, u64, bool)> = Vec::new();
    for e in entries {
        let (len, cut) = super::region::clamp(e.file_off, e.len, file_len);
        if cut {
            layout.lost(format!(
                "index entry at {:#x} claims {} bytes past the end of the image",
                e.va,
                e.len - len
            ));
        }
        if len == 0 {
            continue;
        }
        let mut r = Region::memory(e.file_off, len, e.va);
        r.truncated = cut;
        layout.regions.push(r);
        layout.space.mappings.push(MappedRange {
            start: e.va,
            end: e.va.saturating_add(e.len),
            label: mapping_label(&e.path, &e.perms),
        });
        if e.path.starts_with('/') {
            files.push((
                e.path.clone(),
                e.va,
                e.va.saturating_add(e.len),
                e.perms.contains('x'),
            ));
        }
    }
    // A file with an executable mapping is a loaded module; all its mappings (code, data,
    // relro) belong to it.
    let mut modules: Vec<MappedRange> = Vec::new();
    for (path, start, end, _) in &files {
        if !files.iter().any(|(p, _, _, x)| p == path && *x) {
            continue;
        }
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        match modules.iter_mut().find(|m| m.label == name) {
            Some(m) => {
                m.start = m.start.min(*start);
                m.end = m.end.max(*end);
            }
            None => modules.push(MappedRange {
                start: *start,
                end: *end,
                label: name,
            }),
        }
    }
    layout.space.modules = modules;
    layout.regions.sort_by_key(|r| r.file_offset);
    layout.space.finish_with(&layout.regions);
    layout.description = Some(format!("raw process image with index {}", side.display()));
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
