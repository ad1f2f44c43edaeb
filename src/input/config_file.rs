//! Reading the files dumpguard is configured with (policy, rule packs, known-key inventories,
//! sidecar indexes): a regular file under a size cap, or a clear error.
//!
//! `std::fs::read` on `/dev/zero` grows until the OOM killer ends the process, and on a FIFO
//! it blocks until a writer comes, possibly forever. A configuration file is small and
//! regular; anything else is a mistake or an attack, and refusing it (exit 2) is the only
//! answer that fails closed.

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The cap on a configuration file: a policy or a rule pack is a few KiB (gitleaks' whole
/// pack is ~100 KiB); 16 MiB leaves room for generated allowlists and inventories.
pub const CONFIG_MAX_BYTES: u64 = 16 << 20;

/// Reads a whole regular file of at most `cap` bytes. The file is opened non-blocking, so
/// a FIFO is refused at once instead of waiting for a writer; its type is checked on the
/// opened descriptor (no race with a rename), and the read stops one byte past the cap (a
/// file that grows meanwhile, or a procfs file whose size reads 0, cannot run it over).
pub fn read_bounded(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    let t = meta.file_type();
    if !t.is_file() {
        let what = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "a special file"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({what})"),
        ));
    }
    let too_big = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than the {cap}-byte limit for this kind of file"),
        )
    };
    if meta.len() > cap {
        return Err(too_big());
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut data)?;
    if data.len() as u64 > cap {
        return Err(too_big());
    }
    Ok(data)
}

/// [`read_bounded`] with [`CONFIG_MAX_BYTES`].
pub fn read_config(path: &Path) -> io::Result<Vec<u8>> {
    read_bounded(path, CONFIG_MAX_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_fifos_directories_and_oversized_files() {
        let e = read_config(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("device"), "{e}");
        assert!(read_config(Path::new("/")).is_err());
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_config(&fifo).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'#'; 1025]).unwrap();
        assert!(read_bounded(&big, 1024).is_err());
        assert_eq!(read_bounded(&big, 1025).unwrap().len(), 1025);
    }

    #[test]
    fn a_procfs_file_whose_size_reads_zero_is_read_up_to_the_cap() {
        let got = read_bounded(Path::new("/proc/self/status"), 1 << 20).unwrap();
        assert!(got.starts_with(b"Name:"));
        assert!(read_bounded(Path::new("/proc/self/status"), 16).is_err());
    }
}
