//! Shared integration-test harness: real processes holding freshly generated test keys,
//! dumped at test time with gcore, minidump-writer, /proc/PID/mem, or built into a
//! Windows-style full-memory minidump. Nothing here is shipped; every key is generated per run.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The public sample minidumps (`../shared/sample-dumps/public`, see
/// [`crate::dumpbuild::samples_dir`]), sorted by name.
pub fn public_samples() -> Vec<PathBuf> {
    let dir = crate::dumpbuild::samples_dir();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dmp"))
        .collect();
    v.sort();
    v
}

/// A scratch directory for this test process, removed when the test binary exits (statics are
/// never dropped, so a `TempDir` in one would leak: dumps of real processes add up to
/// gigabytes over a few runs).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| temp_dir_removed_at_exit("dumpguard-test"))
}

/// A fresh temporary directory that is deleted when this process exits normally.
pub fn temp_dir_removed_at_exit(prefix: &str) -> PathBuf {
    static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    extern "C" fn remove_all() {
        if let Ok(dirs) = DIRS.lock() {
            for d in dirs.iter() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .unwrap()
        .keep();
    let mut dirs = DIRS.lock().unwrap();
    if dirs.is_empty() {
        // SAFETY: registering a plain `extern "C" fn` with no arguments; it runs at exit().
        unsafe { libc::atexit(remove_all) };
    }
    dirs.push(dir.clone());
    dir
}

fn unique(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    scratch().join(format!("{}-{name}", N.fetch_add(1, Ordering::Relaxed)))
}

pub fn write_temp(bytes: &[u8]) -> PathBuf {
    let p = unique("blob");
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A running child process that holds test secrets. Killed when dropped.
pub struct Holder {
    child: Child,
    pub pid: i32,
}

impl Holder {
    fn start(mut cmd: Command) -> Holder {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn holder");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) if l.trim() == "READY" => {
                        let _ = tx.send(true);
                        return;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(false);
        });
        let ready = rx.recv_timeout(Duration::from_secs(120)).unwrap_or(false);
        let pid = child.id() as i32;
        let h = Holder { child, pid };
        assert!(ready, "holder process did not become ready");
        h
    }

    /// python3 keeping each blob alive as `bytes` and as a `bytearray` copy (its heap).
    pub fn spawn(blobs: &[Vec<u8>]) -> Holder {
        let files: Vec<PathBuf> = blobs.iter().map(|b| write_temp(b)).collect();
        let src = r#"
import os, sys
keep = []
for p in sys.argv[1:]:
    with open(p, 'rb') as f:
        b = f.read()
    os.unlink(p)
    keep.append(b)
    keep.append(bytearray(b))
print("READY", flush=True)
sys.stdin.read()
"#;
        let mut cmd = Command::new("python3");
        cmd.arg("-c").arg(src).args(&files);
        Holder::start(cmd)
    }

    /// python3 running `src`, which must print READY once its state is built and then block
    /// on stdin.
    pub fn spawn_script(src: &str) -> Holder {
        let mut cmd = Command::new("python3");
        cmd.arg("-c").arg(src);
        Holder::start(cmd)
    }

    /// Any program that prints READY on a line once its state is built, then blocks on stdin
    /// (node, java, ... holding keys the way their runtimes do).
    pub fn spawn_command(cmd: Command) -> Holder {
        Holder::start(cmd)
    }

    /// Like [`Holder::spawn_native`], with extra environment variables (secrets in the
    /// environment reach minidumps as the LinuxEnviron stream).
    pub fn spawn_native_env(
        stack: &[u8],
        global: &[u8],
        heap: &[Vec<u8>],
        env: &[(&str, &str)],
    ) -> Holder {
        let mut cmd = Command::new(native_holder());
        cmd.arg(write_temp(stack)).arg(write_temp(global));
        for h in heap {
            cmd.arg(write_temp(h));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        Holder::start(cmd)
    }

    /// A small C program keeping `stack` on its main thread's stack, `global` in an initialised
    /// global of the executable (a module's data), and each of `heap` in malloc()ed memory.
    pub fn spawn_native(stack: &[u8], global: &[u8], heap: &[Vec<u8>]) -> Holder {
        let mut cmd = Command::new(native_holder());
        cmd.arg(write_temp(stack)).arg(write_temp(global));
        for h in heap {
            cmd.arg(write_temp(h));
        }
        Holder::start(cmd)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compiles tests/it/common/holder.c once per test binary.
pub fn native_holder() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/common/holder.c");
        let out = scratch().join("holder");
        let st = Command::new("cc")
            .args(["-O0", "-g0", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("cc");
        assert!(st.success(), "compiling holder.c failed");
        out
    })
}

/// A dump file deleted (with its sidecars) when dropped.
pub struct DumpFile {
    pub path: PathBuf,
    extra: Vec<PathBuf>,
}

impl std::ops::Deref for DumpFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for DumpFile {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for DumpFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        for e in &self.extra {
            let _ = std::fs::remove_file(e);
        }
    }
}

/// One line of /proc/PID/maps.
#[derive(Debug, Clone)]
pub struct Map {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub path: String,
}

pub fn maps(pid: i32) -> Vec<Map> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (range, perms) = (it.next()?, it.next()?);
            let path = it.nth(3).unwrap_or("").to_string();
            let (a, b) = range.split_once('-')?;
            Some(Map {
                start: u64::from_str_radix(a, 16).ok()?,
                end: u64::from_str_radix(b, 16).ok()?,
                perms: perms.into(),
                path,
            })
        })
        .collect()
}

fn read_mem(pid: i32, start: u64, len: u64) -> Option<Vec<u8>> {
    let mut f = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = vec![0u8; len as usize];
    f.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// Readable mappings worth dumping, with their bytes (special kernel mappings skipped).
fn readable(pid: i32) -> Vec<(Map, Vec<u8>)> {
    maps(pid)
        .into_iter()
        .filter(|m| {
            m.perms.starts_with('r')
                && m.path != "[vvar]"
                && m.path != "[vsyscall]"
                && m.path != "[vvar_vclock]"
        })
        .filter_map(|m| read_mem(pid, m.start, m.end - m.start).map(|b| (m, b)))
        .collect()
}

/// ELF core via gdb's gcore (the process keeps running).
pub fn gcore(pid: i32) -> DumpFile {
    let prefix = unique("core");
    let st = Command::new("gcore")
        .arg("-o")
        .arg(&prefix)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("gcore (apt-get install gdb)");
    assert!(st.success(), "gcore failed");
    let mut made = prefix.as_os_str().to_owned();
    made.push(format!(".{pid}"));
    DumpFile {
        path: PathBuf::from(made),
        extra: vec![],
    }
}

/// Linux minidump via the minidump-writer crate, with the writable mappings (heap, anonymous
/// arenas, data segments) added as app memory so heap secrets are in it.
pub fn minidump(pid: i32) -> DumpFile {
    use minidump_writer::app_memory::AppMemory;
    use minidump_writer::minidump_writer::MinidumpWriterConfig;
    let app: Vec<AppMemory> = maps(pid)
        .into_iter()
        .filter(|m| {
            m.perms.starts_with("rw") && m.end - m.start <= 256 << 20 && !m.path.starts_with("[v")
        })
        .map(|m| AppMemory {
            ptr: m.start as usize,
            length: (m.end - m.start) as usize,
        })
        .collect();
    let path = unique("minidump.dmp");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut cfg = MinidumpWriterConfig::new(pid, pid);
    cfg.set_app_memory(app);
    cfg.write(&mut f).expect("minidump-writer");
    DumpFile {
        path,
        extra: vec![],
    }
}

/// Raw process image from /proc/PID/mem plus its `.regions.json` sidecar index.
pub fn raw_image(pid: i32) -> DumpFile {
    let path = unique("raw.img");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut index = Vec::new();
    let mut off = 0u64;
    for (m, bytes) in readable(pid) {
        f.write_all(&bytes).unwrap();
        index.push(serde_json::json!({"va": m.start, "file_off": off, "len": bytes.len(), "perms": m.perms, "path": m.path}));
        off += bytes.len() as u64;
    }
    let mut side = path.as_os_str().to_owned();
    side.push(".regions.json");
    let side = PathBuf::from(side);
    std::fs::write(&side, serde_json::to_vec(&index).unwrap()).unwrap();
    DumpFile {
        path,
        extra: vec![side],
    }
}

/// A LiME image of the process's memory: each readable mapping becomes one range record
/// (LiME "Memory Range Header Version 1": magic, version 1, start, inclusive end, 8 reserved
/// bytes), with the virtual address standing in for the physical one.
pub fn lime_image(pid: i32) -> DumpFile {
    let path = unique("mem.lime");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for (m, bytes) in readable(pid) {
        f.write_all(&0x4C69_4D45u32.to_le_bytes()).unwrap();
        f.write_all(&1u32.to_le_bytes()).unwrap();
        f.write_all(&m.start.to_le_bytes()).unwrap();
        f.write_all(&(m.start + bytes.len() as u64 - 1).to_le_bytes())
            .unwrap();
        f.write_all(&[0u8; 8]).unwrap();
        f.write_all(&bytes).unwrap();
    }
    f.flush().unwrap();
    DumpFile {
        path,
        extra: vec![],
    }
}

/// The same process's memory without the sidecar: a bare raw image.
pub fn raw_image_bare(pid: i32) -> DumpFile {
    let mut d = raw_image(pid);
    for e in d.extra.drain(..) {
        let _ = std::fs::remove_file(e);
    }
    d
}

/// A Windows-style full-memory minidump (what Task Manager / procdump -ma write) built from a
/// real process's memory: Memory64ListStream with every readable range after BaseRva,
/// MemoryInfoListStream, x64 SystemInfo (Windows 10), ModuleList and ThreadList.
/// Layouts: MS Learn minidumpapiset.h (MINIDUMP_HEADER, MINIDUMP_DIRECTORY,
/// MINIDUMP_MEMORY64_LIST, MINIDUMP_MEMORY_INFO_LIST, MINIDUMP_SYSTEM_INFO, MINIDUMP_MODULE,
/// MINIDUMP_THREAD, CONTEXT for AMD64).
pub fn windows_full_minidump(pid: i32) -> DumpFile {
    let mem = readable(pid);
    let all_maps = maps(pid);
    let mut meta: Vec<u8> = Vec::new();
    let put32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    let put64 = |v: &mut Vec<u8>, x: u64| v.extend_from_slice(&x.to_le_bytes());
    const N_STREAMS: u32 = 5;
    // Header; the directory follows at 32.
    meta.extend_from_slice(b"MDMP");
    put32(&mut meta, 0xA793 | (0x0f << 16));
    put32(&mut meta, N_STREAMS);
    put32(&mut meta, 32);
    put32(&mut meta, 0);
    put32(&mut meta, 0x6000_0000);
    put64(&mut meta, 0x2 | 0x4 | 0x800 | 0x1000); // FullMemory|HandleData|FullMemoryInfo|ThreadInfo
    let dir_at = meta.len();
    meta.resize(dir_at + 12 * N_STREAMS as usize, 0);
    let mut dir = Vec::new();

    // SystemInfo: AMD64, Windows 10 build 19045.
    let at = meta.len();
    let mut si = vec![0u8; 56];
    si[0..2].copy_from_slice(&9u16.to_le_bytes());
    si[6] = 2;
    si[7] = 1; // VER_NT_WORKSTATION
    si[8..12].copy_from_slice(&10u32.to_le_bytes());
    si[16..20].copy_from_slice(&19045u32.to_le_bytes());
    si[20..24].copy_from_slice(&2u32.to_le_bytes()); // VER_PLATFORM_WIN32_NT
    meta.extend_from_slice(&si);
    dir.push((7u32, 56u32, at as u32));

    // Modules: each file-backed ELF mapping, spanning all its mappings.
    let mut modules: Vec<(u64, u64, String)> = Vec::new();
    for m in all_maps.iter().filter(|m| m.path.starts_with('/')) {
        match modules.iter_mut().find(|x| x.2 == m.path) {
            Some(x) => {
                x.0 = x.0.min(m.start);
                x.1 = x.1.max(m.end);
            }
            None => modules.push((m.start, m.end, m.path.clone())),
        }
    }
    let mut names_at = Vec::new();
    for (_, _, name) in &modules {
        names_at.push(meta.len() as u32);
        let utf16: Vec<u8> = name.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        put32(&mut meta, utf16.len() as u32);
        meta.extend_from_slice(&utf16);
        meta.extend_from_slice(&[0, 0]);
    }
    let at = meta.len();
    put32(&mut meta, modules.len() as u32);
    for ((start, end, _), name_rva) in modules.iter().zip(&names_at) {
        let mut e = vec![0u8; 108];
        e[0..8].copy_from_slice(&start.to_le_bytes());
        e[8..12].copy_from_slice(&((end - start) as u32).to_le_bytes());
        e[20..24].copy_from_slice(&name_rva.to_le_bytes());
        meta.extend_from_slice(&e);
    }
    dir.push((4, (meta.len() - at) as u32, at as u32));

    // MemoryInfoList: every mapping, committed, typed like Windows would.
    let at = meta.len();
    put32(&mut meta, 16);
    put32(&mut meta, 48);
    put64(&mut meta, all_maps.len() as u64);
    for m in &all_maps {
        let protect = match &m.perms[..3] {
            "r--" => 0x02,
            "rw-" => 0x04,
            "r-x" => 0x20,
            "rwx" => 0x40,
            _ => 0x01,
        };
        let ty = if m.path.starts_with('/') {
            0x100_0000 // MEM_IMAGE
        } else if m.path.is_empty() || m.path == "[heap]" || m.path == "[stack]" {
            0x20000 // MEM_PRIVATE
        } else {
            0x40000 // MEM_MAPPED
        };
        put64(&mut meta, m.start);
        put64(&mut meta, m.start);
        put32(&mut meta, protect);
        put32(&mut meta, 0);
        put64(&mut meta, m.end - m.start);
        put32(&mut meta, 0x1000);
        put32(&mut meta, protect);
        put32(&mut meta, ty);
        put32(&mut meta, 0);
    }
    dir.push((16, (meta.len() - at) as u32, at as u32));

    // Memory64List descriptors; the data follows the metadata, contiguous from BaseRva.
    let m64_at = meta.len();
    let m64_size = 16 + 16 * mem.len();
    // ThreadList goes after the Memory64 descriptors; compute BaseRva after everything.
    let thread_at = m64_at + m64_size;
    let ctx_at = thread_at + 4 + 48;
    let base_rva = (ctx_at + 1232) as u64;
    let mut rvas = Vec::new();
    let mut r = base_rva;
    for (_, b) in &mem {
        rvas.push(r);
        r += b.len() as u64;
    }
    put64(&mut meta, mem.len() as u64);
    put64(&mut meta, base_rva);
    for (m, b) in &mem {
        put64(&mut meta, m.start);
        put64(&mut meta, b.len() as u64);
    }
    dir.push((9, m64_size as u32, m64_at as u32));

    // ThreadList: the main thread, its stack described by the [stack] range.
    let (stack_start, stack_len, stack_rva) = mem
        .iter()
        .zip(&rvas)
        .find(|((m, _), _)| m.path == "[stack]")
        .map(|((m, b), r)| (m.start, b.len() as u64, *r))
        .unwrap_or((0, 0, 0));
    put32(&mut meta, 1);
    put32(&mut meta, pid as u32);
    put32(&mut meta, 0);
    put32(&mut meta, 0);
    put32(&mut meta, 0);
    put64(&mut meta, 0); // TEB
    put64(&mut meta, stack_start);
    put32(&mut meta, stack_len as u32);
    put32(&mut meta, stack_rva as u32);
    put32(&mut meta, 1232);
    put32(&mut meta, ctx_at as u32);
    let mut ctx = vec![0u8; 1232];
    ctx[0x30..0x34].copy_from_slice(&0x10_001fu32.to_le_bytes()); // CONTEXT_AMD64 | CONTEXT_FULL
    ctx[0x98..0xa0].copy_from_slice(&(stack_start + stack_len.saturating_sub(0x100)).to_le_bytes()); // Rsp
    meta.extend_from_slice(&ctx);
    dir.push((3, (4 + 48) as u32, thread_at as u32));
    assert_eq!(meta.len() as u64, base_rva);

    for (i, (t, size, rva)) in dir.iter().enumerate() {
        let e = dir_at + 12 * i;
        meta[e..e + 4].copy_from_slice(&t.to_le_bytes());
        meta[e + 4..e + 8].copy_from_slice(&size.to_le_bytes());
        meta[e + 8..e + 12].copy_from_slice(&rva.to_le_bytes());
    }
    let path = unique("full.dmp");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(&meta).unwrap();
    for (_, b) in &mem {
        f.write_all(b).unwrap();
    }
    f.flush().unwrap();
    DumpFile {
        path,
        extra: vec![],
    }
}

/// Scans a file with the library.
pub fn scan(path: &Path) -> dumpguard::report::Report {
    dumpguard::Scanner::new()
        .scan_path(path, &Default::default())
        .unwrap_or_else(|e| panic!("scan {}: {e}", path.display()))
}

/// Runs the built `dumpguard` binary.
pub fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dumpguard"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dumpguard")
}

/// Runs `dumpguard gate DUMP --redact-to OUT EXTRA...`, asserts the verdict is ALLOW_REDACTED
/// (exit 3; `what` names the case in the failure) and returns the redacted copy's bytes with
/// the gate's output (for the tests that check it holds no secret).
pub fn redacted_copy(
    dump: &Path,
    out: &Path,
    extra: &[&str],
    what: &str,
) -> (Vec<u8>, std::process::Output) {
    let mut args = vec![
        "gate",
        dump.to_str().unwrap(),
        "--redact-to",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = cli(&args);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{what}: gate {}",
        String::from_utf8_lossy(&o.stdout)
    );
    (std::fs::read(out).unwrap(), o)
}

/// Asserts `secret` appears in `hay` in none of the encodings a leak could take: raw, hex
/// (lower and upper), base64 (three alignments), UTF-16LE. Uses 16-byte windows of the secret
/// so a partial leak is caught too.
pub fn assert_no_secret(hay: &[u8], secret: &[u8]) {
    use base64::Engine;
    let windows: Vec<&[u8]> = if secret.len() <= 24 {
        vec![secret]
    } else {
        secret.chunks(24).filter(|c| c.len() >= 16).collect()
    };
    for w in windows {
        let mut forms: Vec<(&str, Vec<u8>)> = vec![
            ("raw", w.to_vec()),
            ("hex", hex::encode(w).into_bytes()),
            ("HEX", hex::encode_upper(w).into_bytes()),
            ("utf16", w.iter().flat_map(|&b| [b, 0]).collect()),
        ];
        for skip in 0..3 {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&w[skip..]);
            // Drop the last quantum (padding-dependent) and the first (alignment-dependent).
            if b64.len() > 8 {
                forms.push(("base64", b64.as_bytes()[4..b64.len() - 4].to_vec()));
            }
        }
        for (name, f) in forms {
            assert!(
                memchr::memmem::find(hay, &f).is_none(),
                "output leaks secret bytes ({name} form)"
            );
        }
    }
}

/// The docs/design.md fingerprint of a private key, computed independently by the OpenSSL CLI:
/// `openssl pkey -pubout -outform DER | sha256sum`.
pub fn openssl_fingerprint(private_pem: &[u8]) -> String {
    let mut child = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().unwrap().write_all(private_pem).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl pkey failed");
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout)))
}

/// A freshly generated test key in the encodings tests plant.
pub struct TestKey {
    pub name: String,
    pub pkcs8_pem: Vec<u8>,
    pub pkcs8_der: Vec<u8>,
    /// PKCS#1 for RSA, SEC1 for EC.
    pub trad_pem: Vec<u8>,
    pub trad_der: Vec<u8>,
    /// The private scalar/exponent bytes (to check outputs never contain them).
    pub secret: Vec<u8>,
    pub fingerprint: String,
}

/// Generates an RSA-2048 and a P-256 key with python3 `cryptography` (fresh per call).
pub fn fresh_keys() -> Vec<TestKey> {
    let src = r#"
import base64, json
from cryptography.hazmat.primitives.asymmetric import rsa, ec
from cryptography.hazmat.primitives import serialization as s
out = []
for name, k in (("rsa-2048", rsa.generate_private_key(65537, 2048)), ("p256", ec.generate_private_key(ec.SECP256R1()))):
    n = k.private_numbers()
    secret = n.d if name.startswith("rsa") else n.private_value
    blen = (secret.bit_length() + 7) // 8
    e = lambda enc, fmt: base64.b64encode(k.private_bytes(enc, fmt, s.NoEncryption())).decode()
    out.append({"name": name,
        "pkcs8_pem": e(s.Encoding.PEM, s.PrivateFormat.PKCS8), "pkcs8_der": e(s.Encoding.DER, s.PrivateFormat.PKCS8),
        "trad_pem": e(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL), "trad_der": e(s.Encoding.DER, s.PrivateFormat.TraditionalOpenSSL),
        "secret": base64.b64encode(secret.to_bytes(blen, "big")).decode()})
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(src)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "key generation failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    use base64::Engine;
    let b = |x: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD
            .decode(x.as_str().unwrap())
            .unwrap()
    };
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let pkcs8_pem = b(&k["pkcs8_pem"]);
            TestKey {
                name: k["name"].as_str().unwrap().into(),
                fingerprint: openssl_fingerprint(&pkcs8_pem),
                pkcs8_pem,
                pkcs8_der: b(&k["pkcs8_der"]),
                trad_pem: b(&k["trad_pem"]),
                trad_der: b(&k["trad_der"]),
                secret: b(&k["secret"]),
            }
        })
        .collect()
}

/// UTF-16LE encoding of ASCII/UTF-8 text (what Windows and .NET strings look like).
pub fn utf16le(s: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(s)
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect()
}

/// Runs `cmd args` with `input` on its standard input and returns its standard output; the
/// command must succeed (key conversions through openssl in the real-process tests).
pub fn pipe(cmd: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut c = std::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    c.stdin.take().unwrap().write_all(input).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{cmd} failed");
    o.stdout
}
