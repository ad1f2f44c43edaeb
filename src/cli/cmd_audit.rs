//! `dumpguard audit verify`: checks an audit log's hash chain (and, when given, its expected
//! head and length).

use clap::Subcommand;
use dumpguard::gate::audit;
use dumpguard::gate::decision::{EXIT_BLOCK, EXIT_ERROR};
use std::path::{Path, PathBuf};

/// `dumpguard audit` subcommands.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check an audit log's hash chain: exit 0 if intact, 1 if a record was edited, removed,
    /// inserted or reordered (the first broken record is named), 2 if unreadable.
    Verify {
        /// The audit log (JSON Lines).
        file: PathBuf,
        /// The head (`sha256:` of the last line) recorded elsewhere earlier: also detects
        /// records removed from the end, and a rewritten log.
        #[arg(long, value_name = "HASH")]
        head: Option<String>,
        /// The number of records expected (at least): detects records removed from the end.
        #[arg(long, value_name = "N")]
        min_records: Option<u64>,
    },
}

/// Runs `dumpguard audit …`; returns the exit code.
pub fn run(cmd: AuditCommand) -> i32 {
    match cmd {
        AuditCommand::Verify {
            file,
            head,
            min_records,
        } => match audit::verify(&file) {
            Err(e) => {
                eprintln!("dumpguard: error: {}: {e}", file.display());
                EXIT_ERROR
            }
            Ok(Err(broken)) => {
                println!("TAMPERED {}: {broken}", file.display());
                EXIT_BLOCK
            }
            Ok(Ok(v)) => {
                let mut ok = true;
                if let Some(h) = head {
                    // The expected head must be the hash of one of the lines (the log only
                    // grows): checked by re-reading; cheap next to verification.
                    if !head_in_log(&file, &h) {
                        println!(
                            "TAMPERED {}: the expected head {h} is not a record of this log \
                             (records were removed from the end, or the log was rewritten)",
                            file.display()
                        );
                        ok = false;
                    }
                }
                if let Some(n) = min_records {
                    if v.records < n {
                        println!(
                            "TAMPERED {}: {} records, at least {n} expected (records were \
                             removed from the end)",
                            file.display(),
                            v.records
                        );
                        ok = false;
                    }
                }
                if ok {
                    println!(
                        "OK {}: {} records, chain intact, head {}",
                        file.display(),
                        v.records,
                        v.head
                    );
                    0
                } else {
                    EXIT_BLOCK
                }
            }
        },
    }
}

/// Whether `head` is the hash of one of the log's lines. Streams the file a line at a time
/// (each bounded by [`audit::MAX_RECORD`]): a log of any size is checked in constant memory.
fn head_in_log(file: &Path, head: &str) -> bool {
    use sha2::{Digest, Sha256};
    use std::io::{BufRead, Read};
    let Ok(f) = std::fs::File::open(file) else {
        return false;
    };
    let mut reader = std::io::BufReader::new(f);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(audit::MAX_RECORD + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if !line.is_empty() && format!("sha256:{}", hex::encode(Sha256::digest(&line))) == head {
            return true;
        }
    }
}
