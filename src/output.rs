//! Writing outputs safely: reports can name where keys are, so they are created mode 0600,
//! and written atomically (temp file, fsync, rename) so a crash never leaves half a report.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Atomically replaces `path` with `bytes`, mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// An output written atomically and privately (`scan --output`, the sweep's reports): streamed
/// into a temporary file beside the target (mode 0600: reports say where keys are), fsynced,
/// then renamed over it by [`AtomicFile::commit`]. Dropped uncommitted — an error, a run killed
/// mid-write — it removes the temporary file and the previous output stays intact.
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    w: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Opens the temporary file beside `target`.
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::other("output path has no file name"))?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        // A leftover of an earlier process with the same id goes first; `create_new` then
        // refuses a link planted at the predictable name instead of writing through it.
        let _ = fs::remove_file(&tmp);
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp,
            w: Some(BufWriter::with_capacity(1 << 16, f)),
        })
    }

    /// Flushes, fsyncs and renames the temporary file over the target, then makes the rename
    /// durable (fsync of the directory).
    pub fn commit(mut self) -> io::Result<()> {
        let w = self.w.take().expect("not committed twice");
        let result = (|| {
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            drop(f);
            fs::rename(&self.tmp, &self.target)?;
            sync_parent(&self.target)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.as_mut().expect("open").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.as_mut().expect("open").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.w.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The absolute form of a path that may not exist yet (its directory must): the directory
/// resolved, the name kept.
pub fn absolute(p: &Path) -> PathBuf {
    match (fs::canonicalize(parent_dir(p)), p.file_name()) {
        (Ok(d), Some(n)) => d.join(n),
        _ => p.to_path_buf(),
    }
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
    name: PathBuf,
}

fn identity(p: &Path) -> Identity {
    use std::os::unix::fs::MetadataExt;
    let ids = [fs::metadata(p), fs::symlink_metadata(p)]
        .into_iter()
        .flatten()
        .map(|m| (m.dev(), m.ino()))
        .collect();
    Identity {
        ids,
        name: absolute(p),
    }
}

fn same(a: &Identity, b: &Identity) -> bool {
    a.name == b.name || a.ids.iter().any(|x| b.ids.contains(x))
}

/// Refuses outputs that would destroy an input or another output (issue #12, part 3:
/// `scan --output d.dmp d.dmp` replaced the dump with its report; `--report L --audit-log L`
/// replaced the audit log). Paths are compared by device and inode — so a hard link or a
/// symbolic link to an input counts as the input — and, for files not created yet, by absolute
/// name. `inputs` and `outputs` are (option name, path) pairs; the error names both options.
pub fn check_distinct(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> Result<(), Clash> {
    let ins: Vec<Identity> = inputs.iter().map(|(_, p)| identity(p)).collect();
    let outs: Vec<Identity> = outputs.iter().map(|(_, p)| identity(p)).collect();
    for (i, (what, p)) in outputs.iter().enumerate() {
        if let Some(j) = ins.iter().position(|x| same(x, &outs[i])) {
            return Err(Clash::ReplacesInput {
                option: what.to_string(),
                path: p.to_path_buf(),
                input_option: inputs[j].0.to_string(),
                input: inputs[j].1.to_path_buf(),
            });
        }
        if let Some(j) = (0..i).find(|&j| same(&outs[j], &outs[i])) {
            return Err(Clash::SameOutput {
                option: what.to_string(),
                path: p.to_path_buf(),
                other_option: outputs[j].0.to_string(),
                other: outputs[j].1.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// An output that [`check_distinct`] refused: the options and paths of both files involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Clash {
    /// The output is one of the inputs.
    #[error(
        "{option} {} names {input_option} itself ({}): an output never replaces an input",
        path.display(),
        input.display()
    )]
    ReplacesInput {
        /// The option naming the output.
        option: String,
        /// The path concerned.
        path: PathBuf,
        /// The option naming the input.
        input_option: String,
        /// The input it would replace.
        input: PathBuf,
    },
    /// Two outputs are one file.
    #[error(
        "{option} {} is the same file as {other_option} {}: each output needs its own file",
        path.display(),
        other.display()
    )]
    SameOutput {
        /// The option naming the output.
        option: String,
        /// The path concerned.
        path: PathBuf,
        /// The option naming the other output.
        other_option: String,
        /// The other output.
        other: PathBuf,
    },
}
