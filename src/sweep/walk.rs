//! Walking the roots: which directory entries are swept, which are skipped and why.
//!
//! Rules (documented in the README, "Sweeping a share"):
//! - Dumps are recognised by content, not by name, so by default every regular file is a
//!   candidate. `--include` narrows that; `--exclude` removes files and prunes directories.
//!   A pattern without `/` matches the entry's name (`*.dmp`, `tmp`); a pattern with `/`
//!   matches the path relative to the root (`teamA/**/*.core`), `*` stopping at `/`.
//! - Directories named `.git`, `.hg`, `.svn`, `.snapshot`, `.zfs` and `lost+found` are pruned
//!   unless `--no-default-excludes` (snapshot directories would sweep every file again per
//!   snapshot).
//! - Symbolic links are not followed (they could leave the share or count a dump twice), and
//!   fifos, sockets and devices are never opened (a fifo would block the sweep); both are
//!   recorded as skipped with the reason.
//! - Empty files and files modified less than `--min-age` seconds ago (still being written)
//!   are skipped with the reason.
//!
//! Every entry inside the shard is returned — swept, skipped or failed — so the report accounts
//! for each one.

use super::error::SweepError;
use super::shard::Shard;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Directory names pruned by default.
pub const DEFAULT_EXCLUDED_DIRS: &[&str] =
    &[".git", ".hg", ".svn", ".snapshot", ".zfs", "lost+found"];

/// Include/exclude patterns, compiled.
#[derive(Default)]
pub struct Filter {
    include: Option<Patterns>,
    exclude: Option<Patterns>,
    default_excludes: bool,
    /// Files the sweep itself writes (state database, outputs): never swept.
    own_files: Vec<PathBuf>,
}

/// A set of patterns split by what they match: names, or root-relative paths.
struct Patterns {
    names: GlobSet,
    paths: GlobSet,
    sources: Vec<String>,
    name_idx: Vec<usize>,
    path_idx: Vec<usize>,
}

impl Patterns {
    fn new(pats: &[String]) -> Result<Option<Patterns>, SweepError> {
        if pats.is_empty() {
            return Ok(None);
        }
        let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        let (mut name_idx, mut path_idx) = (Vec::new(), Vec::new());
        for (i, p) in pats.iter().enumerate() {
            let glob = GlobBuilder::new(p.trim_start_matches('/'))
                .literal_separator(true)
                .build()
                .map_err(|error| SweepError::Pattern {
                    pattern: p.clone(),
                    error,
                })?;
            if p.contains('/') {
                paths.add(glob);
                path_idx.push(i);
            } else {
                names.add(glob);
                name_idx.push(i);
            }
        }
        Ok(Some(Patterns {
            names: names.build().map_err(SweepError::Patterns)?,
            paths: paths.build().map_err(SweepError::Patterns)?,
            sources: pats.to_vec(),
            name_idx,
            path_idx,
        }))
    }

    /// The first pattern matching this entry, if any.
    fn matching(&self, rel: &str, name: &str) -> Option<&str> {
        if let Some(&i) = self.names.matches(name).first() {
            return Some(&self.sources[self.name_idx[i]]);
        }
        if let Some(&i) = self.paths.matches(rel).first() {
            return Some(&self.sources[self.path_idx[i]]);
        }
        None
    }
}

impl Filter {
    pub fn new(
        include: &[String],
        exclude: &[String],
        default_excludes: bool,
        own_files: Vec<PathBuf>,
    ) -> Result<Filter, SweepError> {
        Ok(Filter {
            include: Patterns::new(include)?,
            exclude: Patterns::new(exclude)?,
            default_excludes,
            own_files,
        })
    }

    /// Why a directory is pruned, if it is.
    fn prune_dir(&self, rel: &str, name: &str) -> Option<String> {
        if self.default_excludes && DEFAULT_EXCLUDED_DIRS.contains(&name) {
            return Some(format!(
                "excluded directory ({name} is excluded by default; --no-default-excludes)"
            ));
        }
        self.exclude
            .as_ref()
            .and_then(|p| p.matching(rel, name))
            .map(|p| format!("excluded directory (--exclude {p})"))
    }

    /// Why a file is not swept by pattern, if it is not.
    fn skip_file(&self, path: &Path, rel: &str, name: &str) -> Option<String> {
        if self.own_files.iter().any(|o| o == path) {
            return Some("the sweep's own state or output file".into());
        }
        if let Some(p) = self.exclude.as_ref().and_then(|p| p.matching(rel, name)) {
            return Some(format!("excluded (--exclude {p})"));
        }
        match &self.include {
            Some(inc) if inc.matching(rel, name).is_none() => {
                Some("not included (no --include pattern matches)".into())
            }
            _ => None,
        }
    }
}

/// What the walk decided for one directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file to sweep (or to find unchanged in the state).
    File { size: u64, mtime_ns: i64 },
    /// Not swept, for a reason (symlink, fifo, excluded, empty, too new ...).
    Skipped { reason: String },
    /// Could not be read (a directory that cannot be listed, a file that cannot be stat'ed).
    Failed { reason: String },
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// The path to open.
    pub path: PathBuf,
    /// The path as reported and as keyed in the state (lossy UTF-8 of `path`).
    pub key: String,
    /// Relative to its root, `/`-separated: what sharding and path patterns see.
    pub rel: String,
    /// The share/folder it is counted under in the summary: `root/first-component`.
    pub folder: String,
    pub kind: EntryKind,
}

/// The walk's options.
pub struct WalkOptions<'a> {
    pub filter: &'a Filter,
    pub shard: Shard,
    /// Files modified more recently than this many seconds ago are skipped.
    pub min_age_secs: u64,
}

/// Walks every root (already canonical) in sorted order and returns the entries in `shard`.
pub fn walk(roots: &[PathBuf], opts: &WalkOptions<'_>) -> Vec<Entry> {
    let now = SystemTime::now();
    let mut out = Vec::new();
    for root in roots {
        let root_key = root.to_string_lossy().into_owned();
        let base = if root.is_dir() {
            root.clone()
        } else {
            root.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let mut it = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter();
        loop {
            let item = match it.next() {
                None => break,
                Some(i) => i,
            };
            let entry = match item {
                Ok(e) => e,
                Err(err) => {
                    let path = err.path().map(Path::to_path_buf).unwrap_or(root.clone());
                    let reason = match err.io_error() {
                        Some(io) => format!("cannot read: {io}"),
                        None => format!("cannot read: {err}"),
                    };
                    push(
                        &mut out,
                        opts,
                        &base,
                        &root_key,
                        path,
                        EntryKind::Failed { reason },
                    );
                    continue;
                }
            };
            let path = entry.path().to_path_buf();
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = rel_of(&base, &path);
            let ft = entry.file_type();
            if ft.is_dir() {
                if entry.depth() > 0 {
                    if let Some(reason) = opts.filter.prune_dir(&rel, &name) {
                        it.skip_current_dir();
                        push(
                            &mut out,
                            opts,
                            &base,
                            &root_key,
                            path,
                            EntryKind::Skipped { reason },
                        );
                    }
                }
                continue;
            }
            let kind = if ft.is_symlink() {
                let target = std::fs::metadata(&path);
                EntryKind::Skipped {
                    reason: match target {
                        Ok(_) => "symlink (not followed)".into(),
                        Err(e) => format!("symlink (not followed; its target cannot be read: {e})"),
                    },
                }
            } else if !ft.is_file() {
                let what = if ft.is_fifo() {
                    "fifo"
                } else if ft.is_socket() {
                    "socket"
                } else if ft.is_block_device() {
                    "block device"
                } else if ft.is_char_device() {
                    "character device"
                } else {
                    "special file"
                };
                EntryKind::Skipped {
                    reason: format!("not a regular file ({what}); never opened"),
                }
            } else if let Some(reason) = opts.filter.skip_file(&path, &rel, &name) {
                EntryKind::Skipped { reason }
            } else {
                match entry.metadata() {
                    Err(e) => EntryKind::Failed {
                        reason: format!("cannot stat: {e}"),
                    },
                    Ok(md) => file_kind(&md, now, opts.min_age_secs),
                }
            };
            push(&mut out, opts, &base, &root_key, path, kind);
        }
    }
    out
}

fn file_kind(md: &std::fs::Metadata, now: SystemTime, min_age: u64) -> EntryKind {
    let size = md.len();
    let mtime_ns = md.mtime().saturating_mul(1_000_000_000) + md.mtime_nsec();
    if size == 0 {
        return EntryKind::Skipped {
            reason: "empty file".into(),
        };
    }
    if min_age > 0 {
        let age = md
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if age < min_age {
            return EntryKind::Skipped {
                reason: format!(
                    "modified {age} s ago, under --min-age {min_age} s (still being written?)"
                ),
            };
        }
    }
    EntryKind::File { size, mtime_ns }
}

fn push(
    out: &mut Vec<Entry>,
    opts: &WalkOptions<'_>,
    base: &Path,
    root_key: &str,
    path: PathBuf,
    kind: EntryKind,
) {
    let rel = rel_of(base, &path);
    if !opts.shard.contains(&rel) {
        return;
    }
    out.push(Entry {
        key: path.to_string_lossy().into_owned(),
        folder: folder_of(root_key, &rel),
        rel,
        path,
        kind,
    });
}

/// `path` relative to `base`, `/`-separated.
pub fn rel_of(base: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// The share/folder a file is counted under: the root plus the first directory below it.
fn folder_of(root_key: &str, rel: &str) -> String {
    match rel.split_once('/') {
        Some((first, _)) => format!("{}/{first}", root_key.trim_end_matches('/')),
        None => root_key.to_string(),
    }
}

/// Reads the current stat of a file the way the walk does (for the rescan-after-change check).
pub fn stat(path: &Path) -> Option<(u64, i64)> {
    let md = std::fs::symlink_metadata(path).ok()?;
    Some((
        md.len(),
        md.mtime().saturating_mul(1_000_000_000) + md.mtime_nsec(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filt(inc: &[&str], exc: &[&str]) -> Filter {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Filter::new(&s(inc), &s(exc), true, vec![]).unwrap()
    }

    #[test]
    fn name_and_path_patterns() {
        let f = filt(&["*.dmp", "cores/**"], &["tmp", "teamB/**/*.dmp"]);
        let p = Path::new("/x");
        assert_eq!(f.skip_file(p, "a/b/crash.dmp", "crash.dmp"), None);
        assert_eq!(f.skip_file(p, "cores/x/core.1", "core.1"), None);
        assert!(f.skip_file(p, "a/notes.txt", "notes.txt").is_some());
        assert!(f
            .skip_file(p, "teamB/h/crash.dmp", "crash.dmp")
            .unwrap()
            .contains("--exclude teamB/**/*.dmp"));
        assert!(f.prune_dir("a/tmp", "tmp").is_some());
        assert!(f.prune_dir("a/.snapshot", ".snapshot").is_some());
        assert!(f.prune_dir("a/keep", "keep").is_none());
        // `*` does not cross `/` in path patterns.
        let g = filt(&[], &["teamA/*.dmp"]);
        assert!(g.skip_file(p, "teamA/x.dmp", "x.dmp").is_some());
        assert!(g.skip_file(p, "teamA/sub/x.dmp", "x.dmp").is_none());
    }

    #[test]
    fn default_excludes_can_be_turned_off() {
        let f = Filter::new(&[], &[], false, vec![]).unwrap();
        assert!(f.prune_dir(".snapshot", ".snapshot").is_none());
    }

    #[test]
    fn folders() {
        assert_eq!(folder_of("/s", "teamA/x/y.dmp"), "/s/teamA");
        assert_eq!(folder_of("/s/", "y.dmp"), "/s/");
    }
}
