//! A debug share in miniature for the sweep tests: 200+ entries of mixed formats — synthetic
//! raw images, minidumps and ELF cores, real gcore/minidump-writer dumps of a process holding
//! freshly generated test keys, gzip/xz/zstd-compressed dumps, zip/CAB/tar archives (one
//! nested), truncated dumps, test tokens, and the awkward entries a share really has: a file
//! nobody may read, a dangling symlink, a fifo, an empty file, a corrupt archive.
//!
//! Every key is generated at test time by `common::fresh_keys` and protects nothing.

use crate::common::{self, TestKey};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the tests expect of the tree.
pub struct Tree {
    pub dir: tempfile::TempDir,
    /// Dump (as the sweep names it, relative to the root: `a/b.dmp` or `a/b.zip!m.dmp`) →
    /// fingerprints of the keys planted in it.
    pub keyed: BTreeMap<String, Vec<String>>,
    /// Dumps without planted keys (relative names, as above).
    pub clean: Vec<String>,
    /// Dumps cut short: their scan must be incomplete (relative names).
    pub truncated: Vec<String>,
    /// The entry that cannot be read (mode 000; the tests drop root's DAC override).
    pub unreadable: String,
    /// Entries the sweep must skip, never open: relative path → reason fragment.
    pub skipped: BTreeMap<String, &'static str>,
    /// Secret bytes that must never appear in any output.
    pub secrets: Vec<Vec<u8>>,
    pub keys: Vec<TestKey>,
}

impl Tree {
    pub fn root(&self) -> PathBuf {
        std::fs::canonicalize(self.dir.path()).unwrap()
    }
}

/// xorshift64*: fast, deterministic filler.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

/// Memory-like filler: zero pages, repeated text, pointers and some random bytes, so it
/// compresses like real dumps do (and holds no anchor by accident).
pub fn filler(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let n = (1024 + rng.below(8192) as usize).min(len - v.len());
        match rng.below(4) {
            0 => v.resize(v.len() + n, 0),
            1 => {
                let text = b"libfoo.so.1 session cache entry; worker thread idle; ";
                v.extend(text.iter().cycle().take(n));
            }
            2 => {
                for _ in 0..n / 8 {
                    v.extend_from_slice(
                        &(0x7f3a_0000_0000u64 + rng.below(1 << 24) * 8).to_le_bytes(),
                    );
                }
                v.resize(v.len() + n % 8, 0);
            }
            _ => {
                let start = v.len();
                v.resize(start + n, 0);
                rng.fill(&mut v[start..]);
            }
        }
    }
    v.truncate(len);
    v
}

/// Plants `secret` at a random offset of `buf` (replacing bytes).
fn plant(rng: &mut Rng, buf: &mut [u8], secret: &[u8]) -> usize {
    let at = 64 + rng.below((buf.len() - secret.len() - 128) as u64) as usize;
    buf[at..at + secret.len()].copy_from_slice(secret);
    at
}

/// A minidump with a MemoryListStream of `ranges` (address, bytes).
pub fn minidump(ranges: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"MDMP");
    v.extend_from_slice(&0xA793u32.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes()); // one stream
    v.extend_from_slice(&32u32.to_le_bytes()); // directory rva
    v.extend_from_slice(&[0u8; 8]); // checksum, timestamp
    v.extend_from_slice(&0u64.to_le_bytes()); // flags
    let list_rva = 32 + 12;
    let list_size = 4 + 16 * ranges.len();
    v.extend_from_slice(&5u32.to_le_bytes()); // MemoryListStream
    v.extend_from_slice(&(list_size as u32).to_le_bytes());
    v.extend_from_slice(&(list_rva as u32).to_le_bytes());
    v.extend_from_slice(&(ranges.len() as u32).to_le_bytes());
    let mut rva = list_rva + list_size;
    for (addr, bytes) in ranges {
        v.extend_from_slice(&addr.to_le_bytes());
        v.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        v.extend_from_slice(&(rva as u32).to_le_bytes());
        rva += bytes.len();
    }
    for (_, bytes) in ranges {
        v.extend_from_slice(bytes);
    }
    v
}

/// An ELF64 core (x86-64) with one PT_LOAD per range.
pub fn elf_core(ranges: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut v = vec![0u8; 64];
    v[..4].copy_from_slice(b"\x7fELF");
    v[4] = 2; // 64-bit
    v[5] = 1; // little-endian
    v[6] = 1;
    v[16..18].copy_from_slice(&4u16.to_le_bytes()); // ET_CORE
    v[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    v[20..24].copy_from_slice(&1u32.to_le_bytes());
    v[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    v[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    v[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    v[56..58].copy_from_slice(&(ranges.len() as u16).to_le_bytes());
    let mut off = 64 + 56 * ranges.len() as u64;
    for (addr, bytes) in ranges {
        let mut ph = vec![0u8; 56];
        ph[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        ph[4..8].copy_from_slice(&6u32.to_le_bytes()); // rw-
        ph[8..16].copy_from_slice(&off.to_le_bytes());
        ph[16..24].copy_from_slice(&addr.to_le_bytes());
        ph[32..40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        ph[40..48].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        ph[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
        v.extend_from_slice(&ph);
        off += bytes.len() as u64;
    }
    for (_, bytes) in ranges {
        v.extend_from_slice(bytes);
    }
    v
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zst(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

pub fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    for (name, data) in members {
        w.start_file(*name, o).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A CAB with one MSZIP folder, as Windows Error Reporting writes them.
pub fn cab(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = cab::CabinetBuilder::new();
    {
        let f = b.add_folder(cab::CompressionType::MsZip);
        for (name, _) in members {
            f.add_file(*name);
        }
    }
    let mut w = b.build(std::io::Cursor::new(Vec::new())).unwrap();
    let mut i = 0;
    while let Some(mut fw) = w.next_file().unwrap() {
        fw.write_all(members[i].1).unwrap();
        i += 1;
    }
    w.finish().unwrap().into_inner()
}

pub fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A random-looking test token in a well-known format (GitHub PAT shape): 36 base62 chars.
fn test_token(rng: &mut Rng) -> Vec<u8> {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut t = b"ghp_".to_vec();
    for _ in 0..36 {
        t.push(B62[rng.below(62) as usize]);
    }
    t
}

struct Builder {
    root: PathBuf,
    rng: Rng,
    tree: Tree,
}

impl Builder {
    fn write(&self, rel: &str, bytes: &[u8]) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// A key encoding chosen round-robin: PKCS#8 PEM, traditional DER, UTF-16LE PEM, PKCS#8 DER.
    fn encoding(&self, key: &TestKey, i: usize) -> Vec<u8> {
        match i % 4 {
            0 => key.pkcs8_pem.clone(),
            1 => key.trad_der.clone(),
            2 => common::utf16le(&key.pkcs8_pem),
            _ => key.pkcs8_der.clone(),
        }
    }

    /// Memory ranges for a synthetic process, with `key` (if any) planted in one of them.
    fn ranges(&mut self, size: usize, key: Option<&[u8]>) -> Vec<(u64, Vec<u8>)> {
        let n = 2 + self.rng.below(4) as usize;
        let each = size / n;
        let mut base = 0x5555_0000_0000u64 + self.rng.below(1 << 20) * 0x1000;
        let hit = self.rng.below(n as u64) as usize;
        (0..n)
            .map(|i| {
                let mut b = filler(&mut self.rng, each.max(8192));
                if i == hit {
                    if let Some(k) = key {
                        plant(&mut self.rng, &mut b, k);
                    }
                }
                let r = (base, b);
                base += (each as u64 + 0x10_0000) & !0xfff;
                r
            })
            .collect()
    }

    fn size(&mut self) -> usize {
        (32 << 10) + self.rng.below(192 << 10) as usize
    }

    /// A synthetic dump of `format` (0 raw, 1 minidump, 2 ELF core), maybe holding a key.
    fn dump(&mut self, format: usize, key: Option<&[u8]>) -> Vec<u8> {
        let size = self.size();
        match format {
            0 => {
                let mut b = filler(&mut self.rng, size);
                if let Some(k) = key {
                    plant(&mut self.rng, &mut b, k);
                }
                b
            }
            1 => {
                let r = self.ranges(size, key);
                minidump(&r)
            }
            _ => {
                let r = self.ranges(size, key);
                elf_core(&r)
            }
        }
    }

    fn keyed(&mut self, name: &str, fp: &str) {
        self.tree
            .keyed
            .entry(name.to_string())
            .or_default()
            .push(fp.to_string());
    }
}

/// Builds the tree in a fresh temporary directory.
pub fn build() -> Tree {
    let mut keys = common::fresh_keys();
    keys.extend(common::fresh_keys());
    // Inside the test process's scratch directory, which is removed at exit (the tree lives
    // in a static, and statics are never dropped).
    let dir = tempfile::Builder::new()
        .prefix("sweep-tree")
        .tempdir_in(common::scratch())
        .unwrap();
    let root = dir.path().to_path_buf();
    let mut b = Builder {
        root,
        rng: Rng::new(0x5eed),
        tree: Tree {
            dir,
            keyed: BTreeMap::new(),
            clean: vec![],
            truncated: vec![],
            unreadable: String::new(),
            skipped: BTreeMap::new(),
            secrets: keys.iter().map(|k| k.secret.clone()).collect(),
            keys: vec![],
        },
    };
    let mut k = 0usize;
    let mut next_key = |b: &Builder| {
        k += 1;
        let key = &keys[k % keys.len()];
        (b.encoding(key, k), key.fingerprint.clone())
    };

    // Plain dumps in three team folders: raw images, minidumps, ELF cores; 1 in 6 keyed.
    for (folder, format, count) in [("teamA", 0, 60), ("teamB", 1, 50), ("teamC", 2, 40)] {
        for i in 0..count {
            let ext = ["img", "dmp", "core"][format];
            let name = format!("{folder}/host{}/crash-{i:03}.{ext}", i % 5);
            if i % 6 == 0 {
                let (enc, fp) = next_key(&b);
                let d = b.dump(format, Some(&enc));
                b.write(&name, &d);
                b.keyed(&name, &fp);
            } else {
                let d = b.dump(format, None);
                b.write(&name, &d);
                b.tree.clean.push(name);
            }
        }
    }

    // Compressed dumps: 15 gzip, 10 xz, 10 zstd; 1 in 3 keyed.
    for (ext, count) in [("gz", 15), ("xz", 10), ("zst", 10)] {
        for i in 0..count {
            let format = i % 3;
            let inner = format!("c{i:02}.{}", ["img", "dmp", "core"][format]);
            let name = format!("compressed/{inner}.{ext}");
            let key = (i % 3 == 1).then(|| next_key(&b));
            let d = b.dump(format, key.as_ref().map(|k| k.0.as_slice()));
            let packed = match ext {
                "gz" => gzip(&d),
                "xz" => xz(&d),
                _ => zst(&d),
            };
            b.write(&name, &packed);
            let unit = format!("{name}!{inner}");
            match key {
                Some((_, fp)) => b.keyed(&unit, &fp),
                None => b.tree.clean.push(unit),
            }
        }
    }

    // Zip archives of three members, the last zip also holding a nested .dmp.gz.
    for z in 0..5 {
        let mut members: Vec<(String, Vec<u8>)> = Vec::new();
        for m in 0..3 {
            let inner = format!("dumps/w{z}-{m}.dmp");
            let key = (m == z % 3).then(|| next_key(&b));
            let d = b.dump(1, key.as_ref().map(|k| k.0.as_slice()));
            let unit = format!("archives/bundle{z}.zip!{inner}");
            match key {
                Some((_, fp)) => b.keyed(&unit, &fp),
                None => b.tree.clean.push(unit),
            }
            members.push((inner, d));
        }
        if z == 4 {
            let (enc, fp) = next_key(&b);
            let d = b.dump(2, Some(&enc));
            members.push(("nested/inner.core.gz".into(), gzip(&d)));
            b.keyed("archives/bundle4.zip!nested/inner.core.gz!inner.core", &fp);
        }
        let refs: Vec<(&str, &[u8])> = members
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        b.write(&format!("archives/bundle{z}.zip"), &zip(&refs));
    }
    // Windows Error Reporting style CABs: a minidump and a second member each.
    for c in 0..4 {
        let key = (c % 2 == 0).then(|| next_key(&b));
        let d = b.dump(1, key.as_ref().map(|k| k.0.as_slice()));
        let extra = b.dump(0, None);
        let name = format!("wer/Report{c}.cab");
        b.write(
            &name,
            &cab(&[("memory.hdmp", &d), ("WERInternalMetadata.xml", &extra)]),
        );
        match key {
            Some((_, fp)) => b.keyed(&format!("{name}!memory.hdmp"), &fp),
            None => b.tree.clean.push(format!("{name}!memory.hdmp")),
        }
        b.tree.clean.push(format!("{name}!WERInternalMetadata.xml"));
    }
    // A tar.gz of two cores.
    {
        let (enc, fp) = next_key(&b);
        let d1 = b.dump(2, Some(&enc));
        let d2 = b.dump(2, None);
        b.write(
            "archives/cores.tar.gz",
            &gzip(&tar(&[("core.1", &d1), ("core.2", &d2)])),
        );
        b.keyed("archives/cores.tar.gz!cores.tar!core.1", &fp);
        b.tree
            .clean
            .push("archives/cores.tar.gz!cores.tar!core.2".into());
    }

    // Truncated dumps: cut in the last memory range, after the planted key.
    for i in 0..8 {
        let format = 1 + i % 2;
        let key = next_key(&b);
        let size = b.size();
        let mut ranges = b.ranges(size, None);
        let at = plant(&mut b.rng, &mut ranges[0].1, &key.0);
        let _ = at;
        let d = if format == 1 {
            minidump(&ranges)
        } else {
            elf_core(&ranges)
        };
        let cut = d.len() - ranges.last().unwrap().1.len() / 2;
        let name = format!("truncated/t{i}.{}", ["", "dmp", "core"][format]);
        b.write(&name, &d[..cut]);
        b.keyed(&name, &key.1);
        b.tree.truncated.push(name);
    }

    // Dumps holding test tokens (reported if a token detector is present; never leaked).
    for i in 0..10 {
        let tok = test_token(&mut b.rng);
        let mut text = b"GITHUB_TOKEN=".to_vec();
        text.extend_from_slice(&tok);
        let d = b.dump(i % 3, Some(&text));
        b.write(&format!("tokens/svc{i}.dmp"), &d);
        b.tree.secrets.push(tok);
    }

    // The awkward entries.
    let un = "odd/locked.dmp";
    let d = b.dump(1, None);
    b.write(un, &d);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.root.join(un), std::fs::Permissions::from_mode(0o000)).unwrap();
    b.tree.unreadable = un.into();
    std::os::unix::fs::symlink("../gone/missing.dmp", b.root.join("odd/dangling.dmp")).unwrap();
    b.tree.skipped.insert("odd/dangling.dmp".into(), "symlink");
    let fifo = b.root.join("odd/pipe.dmp");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
    b.tree
        .skipped
        .insert("odd/pipe.dmp".into(), "not a regular file");
    b.write("odd/empty.dmp", b"");
    b.tree.skipped.insert("odd/empty.dmp".into(), "empty file");
    // Gzip magic, then garbage: cannot be decompressed, so it is scanned raw and incomplete.
    let mut bad = vec![0x1f, 0x8b, 0x08, 0x00];
    let mut junk = vec![0u8; 4096];
    b.rng.fill(&mut junk);
    bad.extend_from_slice(&junk);
    b.write("odd/corrupt.dmp.gz", &bad);
    b.tree.truncated.push("odd/corrupt.dmp.gz".into());

    // Real dumps of a process holding the first two keys.
    {
        let rsa = &keys[0];
        let ec = &keys[1];
        let holder = common::Holder::spawn_native(
            &rsa.trad_der,
            &ec.pkcs8_pem,
            std::slice::from_ref(&rsa.pkcs8_pem),
        );
        let core = common::gcore(holder.pid);
        let md = common::minidump(holder.pid);
        drop(holder);
        let core_bytes = std::fs::read(&*core).unwrap();
        let md_bytes = std::fs::read(&*md).unwrap();
        b.write("real/holder.core", &core_bytes);
        b.write("real/holder.dmp", &md_bytes);
        b.write("real/holder.core.zst", &zst(&core_bytes));
        b.write("real/bundle.zip", &zip(&[("holder.dmp", &md_bytes)]));
        for unit in [
            "real/holder.core",
            "real/holder.dmp",
            "real/holder.core.zst!holder.core",
            "real/bundle.zip!holder.dmp",
        ] {
            b.keyed(unit, &rsa.fingerprint);
            b.keyed(unit, &ec.fingerprint);
        }
    }
    b.tree.keys = keys;
    b.tree
}

/// Every directory entry under `root` that is not a directory, relative, sorted.
pub fn all_entries(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            e.path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

/// Copies a tree (`cp -a`: modes, mtimes, symlinks and fifos preserved).
pub fn copy(tree: &Tree) -> tempfile::TempDir {
    let dst = tempfile::Builder::new()
        .prefix("sweep-copy")
        .tempdir_in(common::scratch())
        .unwrap();
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", tree.dir.path().display()))
        .arg(dst.path())
        .status()
        .unwrap();
    assert!(st.success());
    dst
}
