//! Surviving a file that is truncated while it is memory-mapped.
//!
//! Reading a page of a file mapping that lies past the file's (new) end raises SIGBUS, whose
//! default action kills the process: one truncated dump used to end a whole sweep or the watch
//! daemon, with no decision record. Reading the file with `pread` into buffers instead would
//! cost a copy of every byte and rework every detector, which all take one `&[u8]`; a mapping
//! costs nothing until something goes wrong, so dumpguard keeps the mapping and handles the
//! fault.
//!
//! Every mapping of an input file is registered here. The SIGBUS handler looks the faulting
//! address up; when it lies in a registered mapping, it maps anonymous zero pages (MAP_FIXED)
//! over the rest of that mapping, from the faulting page to its end, flags the mapping as
//! faulted and returns: the faulting instruction is retried and reads zeros. The scan goes on
//! and its report is marked incomplete ([`Guarded::faulted`]), so nothing read from a file
//! that changed is ever reported as complete. A fault anywhere else is handed on to the
//! handler installed before (Rust's stack-overflow reporter) or to the default action.
//!
//! The handler only does async-signal-safe work: atomic loads and stores, and `mmap`/
//! `sigaction` system calls. The registry is a fixed array (no allocation, no lock).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Mappings guarded at once. A sweep maps one file per scan thread (plus spilled archive
/// members); past this, a mapping is refused rather than left unguarded (see
/// [`Guarded::register`]).
const SLOTS: usize = 1024;

struct Slot {
    /// Start address of the mapping; 0 while the slot is free.
    start: AtomicUsize,
    /// Length in bytes, rounded up to whole pages (the kernel maps whole pages).
    len: AtomicUsize,
    faulted: AtomicBool,
    /// Claimed by a registration (set before `start`, cleared after it).
    taken: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise the array
const FREE: Slot = Slot {
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    faulted: AtomicBool::new(false),
    taken: AtomicBool::new(false),
};

static SLOT: [Slot; SLOTS] = [FREE; SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(4096);
/// The SIGBUS action in place before ours, to hand foreign faults to.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

/// Installs the handler once per process.
fn install() -> std::io::Result<()> {
    static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();
    let r = INSTALLED.get_or_init(|| {
        // SAFETY: sysconf and sigaction with fully initialised arguments.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE);
            if page > 0 {
                PAGE.store(page as usize, Ordering::Relaxed);
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_sigbus as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut act.sa_mask);
            if libc::sigaction(libc::SIGBUS, &act, &mut old) != 0 {
                return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
            let _ = PREVIOUS.set(old);
        }
        Ok(())
    });
    r.map_err(std::io::Error::from_raw_os_error)
}

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for s in &SLOT {
        let start = s.start.load(Ordering::Acquire);
        let len = s.len.load(Ordering::Acquire);
        if start == 0 || addr < start || addr - start >= len {
            continue;
        }
        let from = addr & !(page - 1);
        // SAFETY: [from, start + len) lies inside a live read-only file mapping owned by a
        // `Guarded` (it deregisters before unmapping); replacing its pages with anonymous zero
        // pages only changes what those reads return.
        let r = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                start + len - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if r != libc::MAP_FAILED {
            s.faulted.store(true, Ordering::Release);
            return;
        }
        break;
    }
    // Not ours (or the zero page could not be mapped): let the previous handler decide, or
    // restore the default action so the retried access ends the process as before.
    // SAFETY: calling or reinstalling the action that was in place before ours.
    unsafe {
        if let Some(prev) = PREVIOUS.get() {
            let h = prev.sa_sigaction;
            if h != libc::SIG_DFL && h != libc::SIG_IGN {
                if prev.sa_flags & libc::SA_SIGINFO != 0 {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(h);
                    f(sig, info, ctx);
                } else {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(h);
                    f(sig);
                }
                return;
            }
        }
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
    }
}

/// A registration of one mapping; deregisters on drop. Drop it before unmapping.
pub struct Guarded {
    slot: usize,
}

impl Guarded {
    /// Registers `[start, start + len)`. Fails (the caller refuses the file) when the handler
    /// cannot be installed or every slot is taken: an unguarded mapping could kill the process.
    pub fn register(start: *const u8, len: usize) -> std::io::Result<Guarded> {
        install()?;
        let page = PAGE.load(Ordering::Relaxed);
        let len = len.div_ceil(page) * page;
        for (i, s) in SLOT.iter().enumerate() {
            if s.taken
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                s.faulted.store(false, Ordering::Relaxed);
                s.len.store(len, Ordering::Release);
                s.start.store(start as usize, Ordering::Release);
                return Ok(Guarded { slot: i });
            }
        }
        Err(std::io::Error::other(format!(
            "more than {SLOTS} dumps mapped at once"
        )))
    }

    /// True once a read past the file's end was answered with zeros: the file was truncated
    /// while it was read.
    pub fn faulted(&self) -> bool {
        SLOT[self.slot].faulted.load(Ordering::Acquire)
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let s = &SLOT[self.slot];
        s.start.store(0, Ordering::Release);
        s.len.store(0, Ordering::Release);
        s.taken.store(false, Ordering::Release);
    }
}
