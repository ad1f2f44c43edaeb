//! The transfer gate: decides, for one dump, whether it may leave the isolated network.
//!
//! ALLOW only when the dump was read and scanned completely, its container was recognised (or
//! the policy accepts raw images) and nothing blocks under the policy; ALLOW_REDACTED when a
//! scrubbed copy was written and re-scanned clean; BLOCK otherwise — including every error,
//! time-out and output failure (docs/design.md principle 2). Every decision leaves a record
//! ([`decision::DecisionRecord`]) and, when asked, an audit-log entry ([`audit`]).
//!
//! One job per file: [`Gate::evaluate`] (`evaluate.rs`) scans and judges (and redacts);
//! [`outputs::finalize`] writes the outputs and downgrades the verdict if any of them cannot be
//! written; [`render`] turns a record into JSON, SARIF or text; [`audit`] is the hash-chained
//! log and its event; [`watch`] is the inbox daemon. `dumpguard gate` goes through `evaluate`
//! and `finalize`; `dumpguard watch` through `evaluate` and the audit log. Nothing here prints
//! to the terminal: `finalize` writes the record to the writer it is handed.

pub mod audit;
pub mod decision;
mod evaluate;
pub mod outputs;
pub mod policy;
pub(crate) mod redact;
pub mod render;
#[cfg(feature = "watch")]
pub mod watch;

use crate::scan::InputHash;
use crate::Scanner;
use decision::DecisionRecord;
use policy::Policy;
use std::path::{Path, PathBuf};

/// A scanner and a policy.
pub struct Gate {
    scanner: Scanner,
    policy: Policy,
    input_hash: InputHash,
}

/// Redact / re-scan rounds before the gate gives up on a redacted copy (see `Gate::redact`).
const MAX_REDACTION_ROUNDS: usize = 4;

/// A decision and the redacted copy it produced, if any.
pub struct Evaluation {
    /// The decision record: the report plus the decision.
    pub record: DecisionRecord,
    /// The committed redacted copy and its attestation file.
    pub redacted: Option<(PathBuf, PathBuf)>,
}

/// Where the attestation of a redacted copy `out` is written.
pub fn attestation_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".attestation.json");
    PathBuf::from(s)
}

/// True when `a` and `b` name the same existing file (same device and inode).
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

impl Gate {
    /// A gate that scans with `scanner` and decides under `policy`.
    pub fn new(scanner: Scanner, policy: Policy) -> Gate {
        Gate {
            scanner,
            policy,
            input_hash: InputHash::default(),
        }
    }

    /// The digest that identifies the judged bytes in the decision record, the audit event
    /// and a redaction's attestation (BLAKE3 unless asked otherwise; see [`InputHash`]).
    pub fn with_input_hash(mut self, input_hash: InputHash) -> Gate {
        self.input_hash = input_hash;
        self
    }

    /// The policy decisions are made under (its digest is in every record).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The scanner the gate runs; the watch mode reuses it for every file.
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }
}
