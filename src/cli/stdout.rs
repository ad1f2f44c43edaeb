//! Writing to the terminal without panicking: `print!` panics when standard output is closed
//! or full, and a panic is exit 101, which docs/design.md does not allow. Reports go through
//! [`write`], which returns the error so the caller can give the exit code it documents;
//! messages go through [`error`], which gives up silently when standard error is gone.

use std::io::Write;

/// Exit code when the reader of standard output has gone (`dumpguard … | head`) and the
/// command has no verdict of its own to return: quiet success, as in ripgrep. `scan` keeps its
/// own code (0, 1 or 2) and `gate` exits 2 (its record was not delivered).
pub const EXIT_BROKEN_PIPE: i32 = 0;

/// Writes and flushes `bytes` to standard output.
pub fn write(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// `dumpguard: error: MSG` on standard error, ignoring a failure to write it.
pub fn error(msg: &str) {
    let _ = writeln!(std::io::stderr(), "dumpguard: error: {msg}");
}
