//! Small builders for minidumps, ELF cores and LiME images, well-formed or hostile, plus fresh
//! test keys from openssl. Tests build every dump they need; no binary is committed.

use std::path::PathBuf;
use std::process::Command;

/// Directory of the public sample minidumps (read-only, never copied into the repository):
/// `../shared/sample-dumps/public` next to the checkout, or `$DUMPGUARD_SAMPLES` (a worktree
/// that does not sit next to `shared/`).
pub fn samples_dir() -> PathBuf {
    match std::env::var_os("DUMPGUARD_SAMPLES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/sample-dumps/public"
        )),
    }
}

pub fn sample(name: &str) -> Vec<u8> {
    let p = samples_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn public_samples() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(samples_dir())
        .expect("public samples")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dmp"))
        .collect();
    v.sort();
    v.into_iter()
        .map(|n| {
            let d = sample(&n);
            (n, d)
        })
        .collect()
}

// ------------------------------------------------------------------------- test keys

/// A freshly generated TEST key: its encoded private key and the docs/design.md fingerprint that
/// `openssl pkey -pubout -outform DER | sha256sum` prints for it.
pub struct TestKey {
    pub bytes: Vec<u8>,
    pub fingerprint: String,
}

fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl {args:?} failed");
    out.stdout
}

fn fingerprint_of(key: &[u8], form: &str) -> String {
    use sha2::{Digest, Sha256};
    let spki = openssl(
        &["pkey", "-inform", form, "-pubout", "-outform", "DER"],
        Some(key),
    );
    format!("sha256:{}", hex::encode(Sha256::digest(spki)))
}

/// A P-256 key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
pub fn pem_key() -> TestKey {
    let pem = openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ],
        None,
    );
    let fingerprint = fingerprint_of(&pem, "PEM");
    TestKey {
        bytes: pem,
        fingerprint,
    }
}

/// An RSA-1024 key as PKCS#8 DER (binary, found by the DER detector).
pub fn der_key() -> TestKey {
    let der = openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-outform",
            "DER",
        ],
        None,
    );
    let fingerprint = fingerprint_of(&der, "DER");
    TestKey {
        bytes: der,
        fingerprint,
    }
}

// ------------------------------------------------------------------------- little helpers

pub fn u16le(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
pub fn u32le(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
pub fn u64le(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// Writes `x` at `off` (little-endian), growing nothing: the caller laid the bytes out.
pub fn put32(v: &mut [u8], off: usize, x: u32) {
    v[off..off + 4].copy_from_slice(&x.to_le_bytes());
}
pub fn put64(v: &mut [u8], off: usize, x: u64) {
    v[off..off + 8].copy_from_slice(&x.to_le_bytes());
}

// ------------------------------------------------------------------------- minidump

/// A minidump under construction: header and directory first, blobs appended after.
pub struct Minidump {
    pub buf: Vec<u8>,
    dir: Vec<(u32, u32, u32)>,
    slots: usize,
}

pub mod stream {
    pub const THREAD_LIST: u32 = 3;
    pub const MODULE_LIST: u32 = 4;
    pub const MEMORY_LIST: u32 = 5;
    pub const SYSTEM_INFO: u32 = 7;
    pub const MEMORY64_LIST: u32 = 9;
    pub const THREAD_NAMES: u32 = 24;
    pub const LINUX_ENVIRON: u32 = 0x4767_0007;
}

impl Minidump {
    /// Room for `slots` directory entries.
    pub fn new(slots: usize) -> Minidump {
        Minidump {
            buf: vec![0; 32 + 12 * slots],
            dir: Vec::new(),
            slots,
        }
    }

    /// Appends a blob (4-aligned) and returns its RVA.
    pub fn add(&mut self, data: &[u8]) -> u32 {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
        let rva = self.buf.len() as u32;
        self.buf.extend_from_slice(data);
        rva
    }

    /// A MINIDUMP_STRING.
    pub fn string(&mut self, s: &str) -> u32 {
        let units: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let mut b = Vec::new();
        u32le(&mut b, units.len() as u32);
        b.extend_from_slice(&units);
        b.extend_from_slice(&[0, 0]);
        self.add(&b)
    }

    pub fn stream(&mut self, kind: u32, data: &[u8]) -> u32 {
        let rva = self.add(data);
        self.dir.push((kind, data.len() as u32, rva));
        rva
    }

    /// A directory entry pointing wherever the caller says (hostile files).
    pub fn entry(&mut self, kind: u32, size: u32, rva: u32) {
        self.dir.push((kind, size, rva));
    }

    /// MemoryList stream from (address, bytes) pairs; returns each range's RVA.
    pub fn memory_list(&mut self, ranges: &[(u64, &[u8])]) -> Vec<u32> {
        let rvas: Vec<u32> = ranges.iter().map(|(_, d)| self.add(d)).collect();
        let mut s = Vec::new();
        u32le(&mut s, ranges.len() as u32);
        for ((addr, d), rva) in ranges.iter().zip(&rvas) {
            u64le(&mut s, *addr);
            u32le(&mut s, d.len() as u32);
            u32le(&mut s, *rva);
        }
        self.stream(stream::MEMORY_LIST, &s);
        rvas
    }

    /// Memory64List stream; the range data follows the descriptors contiguously. Returns the
    /// stream's RVA and BaseRva.
    pub fn memory64_list(&mut self, ranges: &[(u64, &[u8])]) -> (usize, u64) {
        let mut s = Vec::new();
        u64le(&mut s, ranges.len() as u64);
        u64le(&mut s, 0); // BaseRva, patched below
        for (addr, d) in ranges {
            u64le(&mut s, *addr);
            u64le(&mut s, d.len() as u64);
        }
        let rva = self.stream(stream::MEMORY64_LIST, &s) as usize;
        let base = self.buf.len() as u64;
        put64(&mut self.buf, rva + 8, base);
        for (_, d) in ranges {
            self.buf.extend_from_slice(d);
        }
        (rva, base)
    }

    /// A ThreadList with one thread whose stack is `stack_rva`/`len` at `stack_addr`.
    pub fn thread_list(&mut self, tid: u32, stack_addr: u64, len: u32, stack_rva: u32) {
        let ctx = self.add(&[0xcc; 64]);
        let mut s = Vec::new();
        u32le(&mut s, 1);
        u32le(&mut s, tid);
        s.extend_from_slice(&[0; 12]);
        u64le(&mut s, 0); // TEB
        u64le(&mut s, stack_addr);
        u32le(&mut s, len);
        u32le(&mut s, stack_rva);
        u32le(&mut s, 64);
        u32le(&mut s, ctx);
        self.stream(stream::THREAD_LIST, &s);
    }

    pub fn system_info_linux_x64(&mut self) {
        let mut s = Vec::new();
        u16le(&mut s, 9); // AMD64
        s.extend_from_slice(&[0; 18]);
        u32le(&mut s, 0x8201); // Linux
        s.resize(56, 0);
        self.stream(stream::SYSTEM_INFO, &s);
    }

    pub fn finish(mut self) -> Vec<u8> {
        assert!(
            self.dir.len() <= self.slots,
            "directory has room for {}",
            self.slots
        );
        let n = self.dir.len() as u32;
        let mut h = Vec::new();
        h.extend_from_slice(b"MDMP");
        u32le(&mut h, 0xA793);
        u32le(&mut h, n);
        u32le(&mut h, 32);
        h.resize(32, 0);
        self.buf[..32].copy_from_slice(&h);
        for (i, (k, size, rva)) in self.dir.iter().enumerate() {
            let e = 32 + 12 * i;
            put32(&mut self.buf, e, *k);
            put32(&mut self.buf, e + 4, *size);
            put32(&mut self.buf, e + 8, *rva);
        }
        self.buf
    }
}

// ------------------------------------------------------------------------- ELF core

pub const PT_LOAD: u32 = 1;
pub const PT_NOTE: u32 = 4;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// One ELF64 program header, as written (hostile values welcome).
#[derive(Clone, Copy)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

impl Phdr {
    pub fn bytes(&self, out: &mut Vec<u8>) {
        u32le(out, self.p_type);
        u32le(out, self.flags);
        u64le(out, self.offset);
        u64le(out, self.vaddr);
        u64le(out, 0);
        u64le(out, self.filesz);
        u64le(out, self.memsz);
        u64le(out, 1);
    }
}

/// An ELF64 little-endian note.
pub fn note(owner: &[u8], ntype: u32, desc: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    u32le(&mut v, owner.len() as u32 + 1);
    u32le(&mut v, desc.len() as u32);
    u32le(&mut v, ntype);
    v.extend_from_slice(owner);
    v.push(0);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.extend_from_slice(desc);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

/// NT_PRSTATUS for x86-64: pid and rsp.
pub fn prstatus(pid: u32, rsp: u64) -> Vec<u8> {
    let mut d = vec![0u8; 336];
    put32(&mut d, 32, pid);
    put64(&mut d, 112 + 19 * 8, rsp);
    d
}

/// NT_FILE (64-bit): (start, end, path) entries, page size 4096.
pub fn nt_file(files: &[(u64, u64, &str)]) -> Vec<u8> {
    let mut d = Vec::new();
    u64le(&mut d, files.len() as u64);
    u64le(&mut d, 4096);
    for (s, e, _) in files {
        u64le(&mut d, *s);
        u64le(&mut d, *e);
        u64le(&mut d, 0);
    }
    for (_, _, p) in files {
        d.extend_from_slice(p.as_bytes());
        d.push(0);
    }
    d
}

/// A 64-bit little-endian x86-64 core.
#[derive(Default)]
pub struct ElfCore {
    notes: Vec<u8>,
    loads: Vec<(u64, u32, Vec<u8>)>,
    /// Bytes between the notes and the first load that no program header describes.
    pub gap: Vec<u8>,
    /// Use PN_XNUM even for few headers.
    pub force_xnum: bool,
    /// Extra raw program headers appended after the generated ones.
    pub extra_phdrs: Vec<Phdr>,
}

impl ElfCore {
    pub fn new() -> ElfCore {
        ElfCore::default()
    }

    pub fn note(&mut self, n: Vec<u8>) -> &mut Self {
        self.notes.extend_from_slice(&n);
        self
    }

    pub fn load(&mut self, vaddr: u64, flags: u32, data: Vec<u8>) -> &mut Self {
        self.loads.push((vaddr, flags, data));
        self
    }

    /// Builds the file: header, program headers, notes, gap, loads, and (with PN_XNUM)
    /// a section header table holding the real count. Returns the bytes and the file offset
    /// of each load's data.
    pub fn build(&self) -> (Vec<u8>, Vec<u64>) {
        let nph = 1 + self.loads.len() + self.extra_phdrs.len();
        let xnum = self.force_xnum || nph >= 0xffff;
        let phoff = 64u64;
        let mut off = phoff + 56 * nph as u64;
        let notes_off = off;
        off += self.notes.len() as u64 + self.gap.len() as u64;
        let mut load_offs = Vec::new();
        for (_, _, d) in &self.loads {
            load_offs.push(off);
            off += d.len() as u64;
        }
        let shoff = if xnum { off } else { 0 };

        let mut out = Vec::new();
        out.extend_from_slice(b"\x7fELF\x02\x01\x01\0");
        out.extend_from_slice(&[0; 8]);
        u16le(&mut out, 4); // ET_CORE
        u16le(&mut out, 62); // EM_X86_64
        u32le(&mut out, 1);
        u64le(&mut out, 0); // entry
        u64le(&mut out, phoff);
        u64le(&mut out, shoff);
        u32le(&mut out, 0);
        u16le(&mut out, 64);
        u16le(&mut out, 56);
        u16le(&mut out, if xnum { 0xffff } else { nph as u16 });
        u16le(&mut out, if xnum { 64 } else { 0 });
        u16le(&mut out, if xnum { 1 } else { 0 });
        u16le(&mut out, 0);
        Phdr {
            p_type: PT_NOTE,
            flags: 0,
            offset: notes_off,
            vaddr: 0,
            filesz: self.notes.len() as u64,
            memsz: 0,
        }
        .bytes(&mut out);
        for ((vaddr, flags, d), o) in self.loads.iter().zip(&load_offs) {
            Phdr {
                p_type: PT_LOAD,
                flags: *flags,
                offset: *o,
                vaddr: *vaddr,
                filesz: d.len() as u64,
                memsz: d.len() as u64,
            }
            .bytes(&mut out);
        }
        for p in &self.extra_phdrs {
            p.bytes(&mut out);
        }
        out.extend_from_slice(&self.notes);
        out.extend_from_slice(&self.gap);
        for (_, _, d) in &self.loads {
            out.extend_from_slice(d);
        }
        if xnum {
            // Section header 0: sh_info holds the real program header count.
            let mut sh = vec![0u8; 64];
            put32(&mut sh, 44, nph as u32);
            out.extend_from_slice(&sh);
        }
        (out, load_offs)
    }
}

// ------------------------------------------------------------------------- LiME

pub const LIME_MAGIC: u32 = 0x4C69_4D45;

/// A LiME range header (end inclusive, as the format has it).
pub fn lime_header(start: u64, end_inclusive: u64) -> Vec<u8> {
    let mut h = Vec::new();
    u32le(&mut h, LIME_MAGIC);
    u32le(&mut h, 1);
    u64le(&mut h, start);
    u64le(&mut h, end_inclusive);
    u64le(&mut h, 0);
    h
}

/// A LiME image of (physical address, bytes) ranges.
pub fn lime(ranges: &[(u64, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (start, d) in ranges {
        out.extend_from_slice(&lime_header(*start, start + d.len() as u64 - 1));
        out.extend_from_slice(d);
    }
    out
}
