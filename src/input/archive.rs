//! Dumps inside archives: `.zip`, `.gz`, `.zst`, `.xz`, `.bz2`, `.cab` (Windows Error Reporting packs
//! its dumps in CAB files) and `.tar`, recognised by their magic bytes, not their names.
//!
//! Members are never held in memory: each is streamed through its decompressor into an
//! anonymous temporary file (`O_TMPFILE`, or created and unlinked at once), which the kernel
//! frees even if the sweep is killed, and that file is then memory-mapped and scanned like any
//! dump. Member names are only labels (`archive!member`): nothing is ever written under them,
//! so hostile names (`../../etc/passwd`) are harmless.
//!
//! Zip bombs and their kind are bounded three ways: a cap on any one member, an expansion
//! budget per top-level file (a multiple of its compressed size, with a floor, and an absolute
//! cap), and a nesting limit. Reaching a bound never hides what was already expanded: those
//! bytes are scanned and the report says the scan is incomplete.

use std::fs::File;
use std::io;
#[cfg(feature = "archives")]
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
#[cfg(feature = "archives")]
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// The archive or compression formats an input may be in, recognised by magic bytes.
pub enum Kind {
    /// A zip archive.
    Zip,
    /// A gzip stream.
    Gzip,
    /// A zstd stream.
    Zstd,
    /// An xz stream.
    Xz,
    /// A bzip2 stream.
    Bzip2,
    /// A Microsoft cabinet (how Windows Error Reporting ships dumps).
    Cab,
    /// A tar archive.
    Tar,
}

impl Kind {
    /// The format's name in reports (`zip`, `gzip` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Zip => "zip",
            Kind::Gzip => "gzip",
            Kind::Zstd => "zstd",
            Kind::Xz => "xz",
            Kind::Bzip2 => "bzip2",
            Kind::Cab => "cab",
            Kind::Tar => "tar",
        }
    }

    /// Single-stream compressors have one unnamed member.
    #[cfg(feature = "archives")]
    fn single_stream(self) -> bool {
        matches!(self, Kind::Gzip | Kind::Zstd | Kind::Xz | Kind::Bzip2)
    }
}

/// How many leading bytes [`sniff`] needs (the tar magic sits at 257).
pub const SNIFF_LEN: usize = 512;

/// Recognises an archive or compressed stream by its first bytes.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        Some(Kind::Zip)
    } else if starts(&[0x1f, 0x8b]) {
        Some(Kind::Gzip)
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Kind::Zstd)
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Kind::Xz)
    } else if head.len() >= 10
        && starts(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || head[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    {
        // "BZh", the block size, then a block or end-of-stream magic: three letters alone
        // would take text starting "BZh1" for a compressed stream.
        Some(Kind::Bzip2)
    } else if starts(b"MSCF\0\0\0\0") {
        Some(Kind::Cab)
    } else if head.get(257..262) == Some(b"ustar") {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// Reads the first [`SNIFF_LEN`] bytes of a file without moving its cursor.
pub fn head(file: &File) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; SNIFF_LEN];
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// The bounds on expansion.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Archives inside archives, counting the outermost as 1.
    pub max_depth: u32,
    /// Largest single member expanded.
    pub max_member_bytes: u64,
    /// Expansion budget per top-level file: `ratio × its size`, at least `min_budget`, at most
    /// `max_total`.
    pub max_ratio: u64,
    /// Smallest expansion budget, so that a tiny archive of a real dump is still expanded.
    pub min_budget: u64,
    /// Largest expansion budget, whatever the ratio gives: the disk spent on one file.
    pub max_total: u64,
    /// Members listed per archive (a directory of millions of entries is itself a bomb).
    pub max_members: usize,
    /// xz decoder memory limit.
    pub xz_memlimit: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 3,
            max_member_bytes: 64 << 30,
            max_ratio: 1000,
            min_budget: 1 << 30,
            max_total: 256 << 30,
            max_members: 100_000,
            xz_memlimit: 512 << 20,
        }
    }
}

/// Bytes still allowed to be expanded for one top-level file, shared by its nested archives
/// (hence a `Cell`: one file is expanded by one thread).
#[cfg(feature = "archives")]
pub struct Budget {
    remaining: std::cell::Cell<u64>,
}

#[cfg(feature = "archives")]
impl Budget {
    pub fn for_file(size: u64, l: &Limits) -> Budget {
        Budget {
            remaining: std::cell::Cell::new(
                size.saturating_mul(l.max_ratio)
                    .max(l.min_budget)
                    .min(l.max_total),
            ),
        }
    }

    pub fn remaining(&self) -> u64 {
        self.remaining.get()
    }
}

/// A member expanded into an anonymous temporary file.
#[cfg(feature = "archives")]
pub struct Spilled {
    pub file: File,
    pub len: u64,
    /// Why expansion stopped early, if it did (a bound, or a decompression error).
    pub cut: Option<String>,
}

#[cfg(feature = "archives")]
impl Spilled {
    /// A path that opens this anonymous file (Linux procfs), for the memory-mapping scanner.
    pub fn proc_path(&self) -> std::path::PathBuf {
        use std::os::fd::AsRawFd;
        std::path::PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
    }
}

/// Streams `r` into an anonymous file in `tmpdir`, within the member cap and the budget.
/// A read error keeps what was expanded before it and says why it stopped.
#[cfg(feature = "archives")]
pub fn spill(
    r: &mut dyn Read,
    tmpdir: &Path,
    limits: &Limits,
    budget: &Budget,
) -> io::Result<Spilled> {
    let mut file = tempfile::tempfile_in(tmpdir)?;
    let cap = limits.max_member_bytes.min(budget.remaining());
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    let mut cut = None;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                cut = Some(format!("decompression failed after {len} bytes: {e}"));
                break;
            }
        };
        let room = cap - len;
        let take = (n as u64).min(room) as usize;
        file.write_all(&buf[..take])?;
        len += take as u64;
        if take < n {
            cut = Some(if cap == limits.max_member_bytes {
                format!("member larger than the {cap}-byte cap; only its first {len} bytes were scanned")
            } else {
                format!(
                    "expansion budget of this archive exhausted (zip-bomb guard); only the first {len} bytes of this member were scanned"
                )
            });
            break;
        }
    }
    budget.remaining.set(budget.remaining().saturating_sub(len));
    Ok(Spilled { file, len, cut })
}

/// Why an archive, or one of its members, could not be expanded. The archive is then scanned
/// raw (every byte is still scanned), or the member reported unscanned with these words.
#[cfg(feature = "archives")]
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Reading or spilling failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The zip directory is unreadable.
    #[error("{0}")]
    Zip(#[from] zip::result::ZipError),
    /// The xz decoder cannot start.
    #[error("{0}")]
    Xz(#[from] liblzma::stream::Error),
    /// A compressed stream that yields no byte: not an archive of this kind (the words say
    /// where the stream failed).
    #[error("{0}")]
    Empty(String),
    /// One member cannot be read.
    #[error("cannot read this member: {0}")]
    Member(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One member of an archive: expanded, or the reason it could not be.
#[cfg(feature = "archives")]
pub struct Member {
    pub name: String,
    pub result: Result<Spilled, ArchiveError>,
}

/// Makes an untrusted member name printable and bounded.
#[cfg(feature = "archives")]
fn clean_name(raw: &str) -> String {
    let s: String = raw
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(512)
        .collect();
    if s.is_empty() {
        "(unnamed)".into()
    } else {
        s
    }
}

/// The member name of a single-stream compressed file: its own name minus the extension.
#[cfg(feature = "archives")]
fn stream_member_name(container: &str, kind: Kind) -> String {
    let last = container.rsplit(['/', '!']).next().unwrap_or(container);
    let lower = last.to_ascii_lowercase();
    let exts: &[(&str, &str)] = match kind {
        Kind::Gzip => &[(".tgz", ".tar"), (".gz", ""), (".gzip", ""), (".z", "")],
        Kind::Zstd => &[(".tzst", ".tar"), (".zst", ""), (".zstd", "")],
        Kind::Xz => &[(".txz", ".tar"), (".xz", "")],
        Kind::Bzip2 => &[(".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")],
        _ => &[],
    };
    for (ext, repl) in exts {
        if lower.ends_with(ext) && last.len() > ext.len() {
            return format!("{}{repl}", &last[..last.len() - ext.len()]);
        }
    }
    format!("{last} (decompressed)")
}

/// Expands each member of `file` (an archive of `kind`) in turn and hands it to `each`.
/// `Err` means the archive itself could not be read (not even its directory).
#[cfg(feature = "archives")]
pub fn for_each_member(
    kind: Kind,
    file: File,
    container: &str,
    tmpdir: &Path,
    limits: &Limits,
    budget: &Budget,
    each: &mut dyn FnMut(Member),
) -> Result<Vec<String>, ArchiveError> {
    let mut notes = Vec::new();
    if kind.single_stream() {
        let name = stream_member_name(container, kind);
        let reader = BufReader::with_capacity(1 << 16, file);
        let mut dec: Box<dyn Read> = match kind {
            Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            Kind::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
            Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
            _ => {
                let stream = liblzma::stream::Stream::new_stream_decoder(
                    limits.xz_memlimit,
                    liblzma::stream::CONCATENATED,
                )?;
                Box::new(liblzma::read::XzDecoder::new_stream(reader, stream))
            }
        };
        let result = spill(&mut dec, tmpdir, limits, budget).map_err(ArchiveError::from);
        // A stream that fails before its first byte is not an archive of this kind at all.
        if let Ok(s) = &result {
            if s.len == 0 {
                if let Some(cut) = &s.cut {
                    return Err(ArchiveError::Empty(cut.clone()));
                }
            }
        }
        each(Member { name, result });
        return Ok(notes);
    }
    match kind {
        Kind::Zip => {
            let mut zip = zip::ZipArchive::new(file)?;
            let n = zip.len();
            if n > limits.max_members {
                notes.push(format!(
                    "{n} members; only the first {} were scanned",
                    limits.max_members
                ));
            }
            for i in 0..n.min(limits.max_members) {
                let raw_name = zip.name_for_index(i).unwrap_or("").to_string();
                let name = clean_name(&raw_name);
                if raw_name.ends_with('/') {
                    continue; // a directory entry
                }
                let result = match zip.by_index(i) {
                    Ok(mut m) => {
                        if m.is_dir() {
                            continue;
                        }
                        spill(&mut m, tmpdir, limits, budget).map_err(ArchiveError::from)
                    }
                    Err(e) => Err(ArchiveError::Member(e.into())),
                };
                each(Member { name, result });
                if budget.remaining() == 0 {
                    notes.push("expansion budget exhausted (zip-bomb guard); later members were not scanned".into());
                    break;
                }
            }
        }
        Kind::Cab => {
            let mut cab = cab::Cabinet::new(file)?;
            let names: Vec<String> = cab
                .folder_entries()
                .flat_map(|f| f.file_entries().map(|e| e.name().to_string()))
                .collect();
            if names.len() > limits.max_members {
                notes.push(format!(
                    "{} members; only the first {} were scanned",
                    names.len(),
                    limits.max_members
                ));
            }
            for raw_name in names.iter().take(limits.max_members) {
                let result = match cab.read_file(raw_name) {
                    Ok(mut r) => spill(&mut r, tmpdir, limits, budget).map_err(ArchiveError::from),
                    Err(e) => Err(ArchiveError::Member(e.into())),
                };
                each(Member {
                    name: clean_name(raw_name),
                    result,
                });
                if budget.remaining() == 0 {
                    notes.push("expansion budget exhausted (zip-bomb guard); later members were not scanned".into());
                    break;
                }
            }
        }
        Kind::Tar => {
            let mut ar = tar::Archive::new(BufReader::with_capacity(1 << 16, file));
            let entries = ar.entries()?;
            let mut count = 0usize;
            for entry in entries {
                let mut entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        notes.push(format!("tar stream unreadable after {count} members: {e}"));
                        break;
                    }
                };
                if !entry.header().entry_type().is_file() {
                    continue;
                }
                count += 1;
                if count > limits.max_members {
                    notes.push(format!(
                        "more than {} members; the rest were not scanned",
                        limits.max_members
                    ));
                    break;
                }
                let name = clean_name(
                    &entry
                        .path_bytes()
                        .iter()
                        .map(|&b| b as char)
                        .collect::<String>(),
                );
                let result = spill(&mut entry, tmpdir, limits, budget).map_err(ArchiveError::from);
                each(Member { name, result });
                if budget.remaining() == 0 {
                    notes.push("expansion budget exhausted (zip-bomb guard); later members were not scanned".into());
                    break;
                }
            }
        }
        _ => unreachable!("single-stream kinds handled above"),
    }
    Ok(notes)
}

#[cfg(all(test, feature = "archives"))]
mod tests {
    use super::*;
    use std::io::Seek;

    /// A member as the tests see it: name, bytes (or why not), why expansion stopped.
    type Collected = (String, Result<Vec<u8>, ArchiveError>, Option<String>);

    fn tmp() -> std::path::PathBuf {
        std::env::temp_dir()
    }

    fn collect(
        kind: Kind,
        bytes: &[u8],
        name: &str,
        limits: &Limits,
    ) -> Result<(Vec<Collected>, Vec<String>), ArchiveError> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f.rewind().unwrap();
        let budget = Budget::for_file(bytes.len() as u64, limits);
        let mut out = Vec::new();
        let notes = for_each_member(kind, f, name, &tmp(), limits, &budget, &mut |m| {
            let r = m.result.map(|mut s| {
                let mut v = Vec::new();
                s.file.rewind().unwrap();
                s.file.read_to_end(&mut v).unwrap();
                assert_eq!(v.len() as u64, s.len);
                (v, s.cut)
            });
            match r {
                Ok((v, cut)) => out.push((m.name, Ok(v), cut)),
                Err(e) => out.push((m.name, Err(e), None)),
            }
        })?;
        Ok((out, notes))
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn sniffs_by_magic() {
        assert_eq!(sniff(&gz(b"x")), Some(Kind::Gzip));
        assert_eq!(
            sniff(&zstd::encode_all(&b"x"[..], 1).unwrap()),
            Some(Kind::Zstd)
        );
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(b"x").unwrap();
        assert_eq!(sniff(&bz.finish().unwrap()), Some(Kind::Bzip2));
        assert_eq!(sniff(b"BZh1 is text"), None);
        assert_eq!(sniff(b"MDMP\x93\xa7"), None);
        assert_eq!(sniff(b"\x7fELF"), None);
        assert_eq!(sniff(b""), None);
        let mut t = vec![0u8; 512];
        t[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&t), Some(Kind::Tar));
    }

    #[test]
    fn gzip_member_named_after_the_file() {
        let (m, _) = collect(
            Kind::Gzip,
            &gz(b"hello dump"),
            "/s/a/crash.dmp.gz",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].0, "crash.dmp");
        assert_eq!(m[0].1.as_deref().unwrap(), b"hello dump");
        assert!(m[0].2.is_none());
    }

    #[test]
    fn member_cap_cuts_and_says_so() {
        let data = vec![7u8; 3 << 20];
        let limits = Limits {
            max_member_bytes: 1 << 20,
            ..Limits::default()
        };
        let (m, _) = collect(Kind::Gzip, &gz(&data), "x.gz", &limits).unwrap();
        assert_eq!(m[0].1.as_ref().unwrap().len(), 1 << 20);
        assert!(m[0].2.as_ref().unwrap().contains("cap"));
    }

    #[test]
    fn bomb_budget_bounds_total_expansion() {
        // 64 MiB of zeros gzips to ~64 KiB: over a 100x ratio with a 1 MiB floor it must stop.
        let data = vec![0u8; 64 << 20];
        let z = gz(&data);
        let limits = Limits {
            max_ratio: 100,
            min_budget: 1 << 20,
            ..Limits::default()
        };
        let (m, _) = collect(Kind::Gzip, &z, "bomb.gz", &limits).unwrap();
        let got = m[0].1.as_ref().unwrap().len() as u64;
        assert!(got <= (z.len() as u64 * 100).max(1 << 20), "{got}");
        assert!(m[0].2.as_ref().unwrap().contains("zip-bomb"));
    }

    #[test]
    fn corrupt_stream_keeps_prefix_or_fails() {
        let mut z = gz(&vec![9u8; 1 << 20]);
        let l = z.len();
        z.truncate(l / 2);
        match collect(Kind::Gzip, &z, "t.gz", &Limits::default()) {
            Ok((m, _)) => assert!(m[0].2.as_ref().unwrap().contains("decompression failed")),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        // Not gzip at all after the magic: an error, not a panic.
        assert!(matches!(
            collect(
                Kind::Gzip,
                b"\x1f\x8bgarbage-garbage",
                "g.gz",
                &Limits::default()
            ),
            Err(ArchiveError::Empty(_))
        ));
    }

    #[test]
    fn zip_members_and_hostile_names() {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        w.add_directory("dir/", o).unwrap();
        w.start_file("dir/a.dmp", o).unwrap();
        w.write_all(b"AAAA").unwrap();
        w.start_file("../../etc/evil\n.dmp", o).unwrap();
        w.write_all(b"BB").unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let (m, _) = collect(Kind::Zip, &bytes, "x.zip", &Limits::default()).unwrap();
        let names: Vec<&str> = m.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names, ["dir/a.dmp", "../../etc/evil?.dmp"]);
        assert_eq!(m[0].1.as_deref().unwrap(), b"AAAA");
        // A corrupt zip directory is an error for the caller to handle.
        assert!(matches!(
            collect(Kind::Zip, b"PK\x03\x04broken", "b.zip", &Limits::default()),
            Err(ArchiveError::Zip(_))
        ));
    }

    #[test]
    fn cab_members() {
        let mut b = cab::CabinetBuilder::new();
        {
            let f = b.add_folder(cab::CompressionType::MsZip);
            f.add_file("one.dmp");
            f.add_file("two.dmp");
        }
        let mut w = b.build(std::io::Cursor::new(Vec::new())).unwrap();
        let mut i = 0;
        while let Some(mut fw) = w.next_file().unwrap() {
            fw.write_all(if i == 0 { b"first" } else { b"second" })
                .unwrap();
            i += 1;
        }
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(sniff(&bytes), Some(Kind::Cab));
        let (m, _) = collect(Kind::Cab, &bytes, "r.cab", &Limits::default()).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].0, "two.dmp");
        assert_eq!(m[1].1.as_deref().unwrap(), b"second");
    }

    #[test]
    fn stream_names() {
        assert_eq!(stream_member_name("/a/b.core.xz", Kind::Xz), "b.core");
        assert_eq!(stream_member_name("a.zip!c.tgz", Kind::Gzip), "c.tar");
        assert_eq!(
            stream_member_name("/a/blob", Kind::Zstd),
            "blob (decompressed)"
        );
    }
}
