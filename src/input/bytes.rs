//! The bytes of a dump: a read-only memory map of the file, or a caller's slice.

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

/// Dump contents. Memory-mapping keeps memory use independent of dump size: pages are read
/// on demand and, after a chunk is scanned, released again (see [`DumpBytes::release`]).
pub enum DumpBytes<'a> {
    Mapped(memmap2::Mmap),
    Borrowed(&'a [u8]),
    Empty,
}

impl DumpBytes<'static> {
    /// Maps a regular file read-only. An empty file cannot be mapped on Linux, so it becomes
    /// `Empty`. Anything else (a directory, a FIFO, a device) is refused: a device reports
    /// length 0 and would pass for an empty, completely scanned dump.
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
            return Ok(DumpBytes::Empty);
        }
        // SAFETY: the map is read-only. If another process truncates the file while we scan,
        // reads past the new end raise SIGBUS; dumps handed to dumpguard are expected to be
        // complete files (the gate's watch mode only takes files that stopped changing).
        let map = unsafe { memmap2::MmapOptions::new().map(&file)? };
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(DumpBytes::Mapped(map))
    }
}

impl DumpBytes<'_> {
    /// Tells the kernel we are done with a scanned range, so resident pages of a large dump do
    /// not accumulate in this process (peak RSS stays flat whatever the dump size). The pages
    /// stay in the page cache; touching them again simply faults them back in.
    pub fn release(&self, start: usize, end: usize) {
        if let DumpBytes::Mapped(map) = self {
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
            DumpBytes::Mapped(m) => m,
            DumpBytes::Borrowed(b) => b,
            DumpBytes::Empty => &[],
        }
    }
}
