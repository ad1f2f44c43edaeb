//! Writing outputs safely: reports can name where keys are, so they are created mode 0600,
//! and written atomically (temp file, fsync, rename) so a crash never leaves half a report.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Atomically replaces `path` with `bytes`, mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("output path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Makes a rename or creation in `path`'s directory durable (fsync of the directory).
pub fn sync_parent(path: &Path) -> std::io::Result<()> {
    File::open(parent_dir(path))?.sync_all()
}

/// How a path is identified when checking that outputs never overwrite inputs or each other:
/// the (device, inode) of what it names now, following links and not, and its absolute name
/// for a file that does not exist yet.
struct Identity {
    ids: Vec<(u64, u64)>,
    name: std::path::PathBuf,
}

fn identity(p: &Path) -> Identity {
    use std::os::unix::fs::MetadataExt;
    let ids = [fs::metadata(p), fs::symlink_metadata(p)]
        .into_iter()
        .flatten()
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let dir = parent_dir(p);
    let name = match (fs::canonicalize(dir), p.file_name()) {
        (Ok(d), Some(n)) => d.join(n),
        _ => p.to_path_buf(),
    };
    Identity { ids, name }
}

fn same(a: &Identity, b: &Identity) -> bool {
    a.name == b.name || a.ids.iter().any(|x| b.ids.contains(x))
}

/// Refuses outputs that would destroy an input or another output (issue #12, part 3:
/// `scan --output d.dmp d.dmp` replaced the dump with its report; `--report L --audit-log L`
/// replaced the audit log). Paths are compared by device and inode — so a hard link or a
/// symbolic link to an input counts as the input — and, for files not created yet, by absolute
/// name. `inputs` and `outputs` are (option name, path) pairs; the error names both options.
pub fn check_distinct(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> Result<(), String> {
    let ins: Vec<Identity> = inputs.iter().map(|(_, p)| identity(p)).collect();
    let outs: Vec<Identity> = outputs.iter().map(|(_, p)| identity(p)).collect();
    for (i, (what, p)) in outputs.iter().enumerate() {
        if let Some(j) = ins.iter().position(|x| same(x, &outs[i])) {
            return Err(format!(
                "{what} {} names {} itself ({}): an output never replaces an input",
                p.display(),
                inputs[j].0,
                inputs[j].1.display()
            ));
        }
        if let Some(j) = (0..i).find(|&j| same(&outs[j], &outs[i])) {
            return Err(format!(
                "{what} {} is the same file as {} {}: each output needs its own file",
                p.display(),
                outputs[j].0,
                outputs[j].1.display()
            ));
        }
    }
    Ok(())
}
