//! Outputs written atomically and privately, like `scan --output` (docs/design.md principle 5):
//! streamed into a temporary file beside the target (mode 0600: reports say where keys are),
//! fsynced, then renamed over it. A sweep killed mid-write leaves the previous report intact.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    w: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        let dir = parent(target);
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::other("output path has no file name"))?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp,
            w: Some(BufWriter::with_capacity(1 << 16, f)),
        })
    }

    pub fn commit(mut self) -> io::Result<()> {
        let w = self.w.take().expect("not committed twice");
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&self.tmp, &self.target)?;
        File::open(parent(&self.target))?.sync_all()
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

fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The absolute form of a path that may not exist yet (its directory must).
pub fn absolute(p: &Path) -> PathBuf {
    let dir = parent(p);
    match (fs::canonicalize(dir), p.file_name()) {
        (Ok(d), Some(n)) => d.join(n),
        _ => p.to_path_buf(),
    }
}
