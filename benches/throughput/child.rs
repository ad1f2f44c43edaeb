//! Runs the scanner as a child process and measures it from the outside: wall time, CPU
//! time and peak resident memory (`ru_maxrss` from `wait4`), exactly what a user of the
//! binary would observe.

use std::ffi::OsString;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Measured {
    pub wall: Duration,
    pub cpu: Duration,
    pub max_rss_bytes: u64,
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// `bin scan --format json -q PATH`.
pub fn scan(bin: &Path, dump: &Path) -> io::Result<Measured> {
    let mut args: Vec<OsString> = ["scan", "--format", "json", "-q"].map(Into::into).into();
    args.push(dump.into());
    run(bin, &args)
}

/// `bin ARGS...`, measured.
// The child is reaped by wait4 (which std's `wait` cannot do: it drops the rusage).
#[allow(clippy::zombie_processes)]
pub fn run(bin: &Path, args: &[OsString]) -> io::Result<Measured> {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v)
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).map(|_| v)
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; rusage is a C struct the kernel fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let wall = started.elapsed();
    // The child is reaped by wait4 above; `child` must not be waited on again (drop does not).
    drop(child);
    let stdout = out.join().expect("reader thread")?;
    let stderr = err.join().expect("reader thread")?;
    Ok(Measured {
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        // Linux reports ru_maxrss in KiB.
        max_rss_bytes: usage.ru_maxrss as u64 * 1024,
        exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout,
        stderr,
    })
}
