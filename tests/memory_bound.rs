//! Peak memory of a scan does not follow the dump size (docs/design.md principle 6): scanning a
//! 768 MiB file stays far below it. (Before paced page release, the hash alone kept every
//! page of the map resident and peak RSS was the size of the dump.)
//!
//! A test binary of its own, the one integration test outside `tests/it` on purpose: a
//! child's `ru_maxrss` starts from the parent's high-water mark, so no other test may allocate
//! in this process (in the merged binary the other tests' dumps pushed it past the bound).

use std::process::{Command, Stdio};

/// Peak RSS in bytes of `dumpguard scan -q PATH`, from `wait4`.
// The child is reaped by wait4 (which std's `wait` cannot do: it drops the rusage).
#[allow(clippy::zombie_processes)]
fn peak_rss(path: &std::path::Path) -> u64 {
    let child = Command::new(env!("CARGO_BIN_EXE_dumpguard"))
        .args(["scan", "-q", "--format", "json"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 on our own child; rusage is filled in by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn peak_rss_stays_far_below_the_dump_size() {
    const SIZE: u64 = 768 << 20;
    // Sparse: no disk space used, and every byte still goes through the map as a zero page.
    let f = tempfile::NamedTempFile::new().unwrap();
    f.as_file().set_len(SIZE).unwrap();
    let peak = peak_rss(f.path());
    assert!(
        peak < 160 << 20,
        "peak RSS {} MiB for a {} MiB dump",
        peak >> 20,
        SIZE >> 20
    );
}
