//! The bytes of a dump: a read-only memory map of the file, or a caller's slice.

use super::guard::Guarded;
use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Largest file read as a stream because its size reads 0 (`/proc/self/environ`, other
/// procfs and sysfs files): such files are small, and past this the read stops and the scan
/// is incomplete rather than growing without bound.
pub const STREAM_CAP: u64 = 64 << 20;

/// Dump contents. Memory-mapping keeps memory use independent of dump size: pages are read
/// on demand and, after a chunk is scanned, released again (see [`DumpBytes::release`]).
pub enum DumpBytes<'a> {
    Mapped(Box<MappedFile>),
    Borrowed(&'a [u8]),
    /// A file whose size reads 0 but which has content, read as a stream up to
    /// [`STREAM_CAP`]; `cut` when more was there.
    Streamed {
        data: Vec<u8>,
        cut: bool,
    },
    Empty,
}

/// A mapped file, its SIGBUS guard (see [`super::guard`]) and what `fstat` said when it was
/// opened, to tell afterwards whether the file changed while it was scanned.
pub struct MappedFile {
    // Field order is drop order: deregister from the guard before unmapping.
    guard: Guarded,
    map: memmap2::Mmap,
    file: File,
    opened: FileStamp,
}

/// What identifies one version of a file's content: size, modification and change times
/// (a rewrite moves mtime; resetting mtime with `utimensat` moves ctime).
#[derive(PartialEq, Eq, Debug)]
pub struct FileStamp {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    pub fn of(m: &std::fs::Metadata) -> FileStamp {
        FileStamp {
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

impl DumpBytes<'static> {
    /// Maps a regular file read-only. A file whose size reads 0 is read as a stream up to
    /// [`STREAM_CAP`] (procfs files report 0 and have content; an empty file cannot be mapped
    /// on Linux anyway). Anything else (a directory, a FIFO, a device) is refused: a device
    /// reports length 0 and would pass for an empty, completely scanned dump.
    pub fn map(path: &Path) -> std::io::Result<Self> {
        // Checked before opening too: opening a FIFO for reading blocks until a writer comes.
        let not_regular =
            || std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
        if !std::fs::metadata(path)?.is_file() {
            return Err(not_regular());
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(not_regular());
        }
        let len = meta.len();
        if len == 0 {
            let mut data = Vec::new();
            (&file).take(STREAM_CAP + 1).read_to_end(&mut data)?;
            if data.is_empty() {
                return Ok(DumpBytes::Empty);
            }
            let cut = data.len() as u64 > STREAM_CAP;
            data.truncate(STREAM_CAP as usize);
            return Ok(DumpBytes::Streamed { data, cut });
        }
        // SAFETY: the map is read-only. If another process truncates the file while we scan,
        // reads past the new end raise SIGBUS, which the guard answers with zero pages and
        // records (the scan is then incomplete); a rewrite is caught by comparing `fstat`.
        let map = unsafe { memmap2::MmapOptions::new().map(&file)? };
        let guard = Guarded::register(map.as_ptr(), map.len())?;
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(DumpBytes::Mapped(Box::new(MappedFile {
            guard,
            map,
            file,
            opened: FileStamp::of(&meta),
        })))
    }
}

impl DumpBytes<'_> {
    /// Why the bytes read may not be the file's content, if they may not: it was truncated
    /// (a read past its new end was answered with zeros) or modified while it was scanned.
    /// Callers check after the scan; a `Some` makes the scan incomplete.
    pub fn changed(&self) -> Option<String> {
        let DumpBytes::Mapped(m) = self else {
            return None;
        };
        if m.guard.faulted() {
            return Some(
                "the file was truncated while it was scanned: bytes past its new end were read \
                 as zeros, so neither the findings nor the sha256 describe the file"
                    .into(),
            );
        }
        match m.file.metadata() {
            Ok(now) if FileStamp::of(&now) == m.opened => None,
            Ok(now) => Some(format!(
                "the file was modified while it was scanned (size {} -> {}, mtime or ctime \
                 changed): neither the findings nor the sha256 describe the file",
                m.opened.size,
                now.len()
            )),
            Err(e) => Some(format!("cannot check whether the file changed: {e}")),
        }
    }

    /// Tells the kernel we are done with a scanned range, so resident pages of a large dump do
    /// not accumulate in this process (peak RSS stays flat whatever the dump size). The pages
    /// stay in the page cache; touching them again simply faults them back in.
    pub fn release(&self, start: usize, end: usize) {
        if let DumpBytes::Mapped(m) = self {
            let map = &m.map;
            let page = 4096;
            let start = start.div_ceil(page) * page;
            let end = end / page * page;
            if end > start && end <= map.len() {
                // SAFETY: DontNeed on a private read-only file mapping only drops our page
                // table entries; the contents are re-read from the file on the next access.
                unsafe {
                    let _ = map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        start,
                        end - start,
                    );
                }
            }
        }
    }
}

impl Deref for DumpBytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            DumpBytes::Mapped(m) => &m.map,
            DumpBytes::Streamed { data, .. } => data,
            DumpBytes::Borrowed(b) => b,
            DumpBytes::Empty => &[],
        }
    }
}
