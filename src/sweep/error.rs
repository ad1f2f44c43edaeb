//! Why a sweep (or a merge of sweep outputs) stopped. A sweep that stops writes nothing
//! half-done: its outputs are atomic and its state resumes, so each of these ends the run with
//! exit 2 and the message below.

use std::path::PathBuf;

/// Why `sweep` or `sweep-merge` could not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A root cannot be resolved or listed.
    #[error("root {}: {error}", path.display())]
    Root {
        /// The path concerned.
        path: PathBuf,
        #[source]
        /// The underlying error.
        error: std::io::Error,
    },
    /// A root is an empty directory: most likely an unmounted share, whose dumps would all be
    /// marked gone.
    #[error(
        "root {} is empty (is the share mounted?); refusing to sweep it, which would mark every dump found there before as gone (--allow-empty-root to sweep it anyway)",
        path.display()
    )]
    EmptyRoot {
        /// The path concerned.
        path: PathBuf,
    },
    /// `--jobs` outside 1 ..= 1024.
    #[error("'{given}' is not a number of jobs from 1 to 1024")]
    Jobs {
        /// The value given.
        given: String,
    },
    /// `--shard` is not `K/N` with 1 <= K <= N.
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// An `--include` or `--exclude` pattern does not parse.
    #[error("bad pattern '{pattern}': {error}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        #[source]
        /// The underlying error.
        error: globset::Error,
    },
    /// The patterns do not build into one matcher.
    #[error(transparent)]
    Patterns(globset::Error),
    /// Two of the run's files are one.
    #[error(transparent)]
    Clash(#[from] crate::output::Clash),
    /// An output exists and is not a regular file.
    #[error("{what} {} exists and is not a regular file", path.display())]
    NotRegularFile {
        /// Which of the directories or outputs it is, as the options name it.
        what: &'static str,
        /// The path concerned.
        path: PathBuf,
    },
    /// An existing output cannot be read to check what it is.
    #[error("{what} {}: {error}", path.display())]
    Unreadable {
        /// Which of the directories or outputs it is, as the options name it.
        what: &'static str,
        /// The path concerned.
        path: PathBuf,
        #[source]
        /// The underlying error.
        error: std::io::Error,
    },
    /// An existing output is not one the sweep wrote (it might be a dump).
    #[error(
        "{what} {} exists and is not a sweep output (it might be a dump); refusing to overwrite it",
        path.display()
    )]
    NotSweepOutput {
        /// Which of the directories or outputs it is, as the options name it.
        what: &'static str,
        /// The path concerned.
        path: PathBuf,
    },
    /// `--policy` was refused (the gate's reasons, unchanged).
    #[error(transparent)]
    Policy(#[from] crate::gate::policy::PolicyError),
    /// `--baseline` was refused.
    #[error(transparent)]
    Baseline(#[from] crate::report::baseline::BaselineError),
    /// No temporary state database can be made.
    #[error("temporary state in {}: {error}", dir.display())]
    TempState {
        /// The directory concerned.
        dir: PathBuf,
        #[source]
        /// The underlying error.
        error: std::io::Error,
    },
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The thread building the detectors panicked.
    #[error("building the detectors failed")]
    Detectors,
    /// The worker threads cannot be started.
    #[error("thread pool: {0}")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
    /// An output file cannot be created, written or committed.
    #[error("{}: {error}", path.display())]
    Output {
        /// The path concerned.
        path: PathBuf,
        #[source]
        /// The underlying error.
        error: std::io::Error,
    },
    /// Standard output (or an output stream) refused a line of the report.
    #[error("writing the report: {0}")]
    WriteReport(#[source] std::io::Error),
    /// A merge input cannot be opened or read.
    #[error("{name}: {error}")]
    MergeInput {
        /// The merge input, as named on the command line.
        name: String,
        #[source]
        /// The underlying error.
        error: std::io::Error,
    },
    /// A merge input holds a line that is not a sweep record.
    #[error(
        "{name}:{line}: not a sweep record ({error}); merge the --out files of `dumpguard sweep`"
    )]
    NotARecord {
        /// The merge input, as named on the command line.
        name: String,
        /// The line number (1-based).
        line: usize,
        #[source]
        /// The underlying error.
        error: serde_json::Error,
    },
    /// One entry is in two merge inputs.
    #[error("{file} is in both {first} and {second}: the shard outputs overlap (same shard twice, or different shard counts)")]
    Overlap {
        /// The dump entry concerned.
        file: String,
        /// The first input holding it.
        first: String,
        /// The second input holding it.
        second: String,
    },
    /// A merge input is not sorted by path.
    #[error("{name}: not in path order at {file} (was it edited?)")]
    Order {
        /// The merge input, as named on the command line.
        name: String,
        /// The dump entry concerned.
        file: String,
    },
    /// The merged report cannot be written.
    #[error("writing the merged report: {0}")]
    WriteMerged(#[source] std::io::Error),
}

/// `--shard` refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// No `/`.
    #[error("shard '{0}' is not K/N (e.g. 2/8)")]
    Form(String),
    /// K is not a number.
    #[error("shard index '{0}' is not a number")]
    Index(String),
    /// N is not a number.
    #[error("shard count '{0}' is not a number")]
    Count(String),
    /// K or N out of range.
    #[error("shard {k}/{n}: need 1 <= K <= N")]
    Range {
        /// The shard index K.
        k: u64,
        /// The shard count N.
        n: u64,
    },
}

/// Why the state database failed. The sweep stops (exit 2) on any of them; what it committed
/// before stays, and the next sweep resumes from it.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A query failed.
    #[error("state database: {0}")]
    Db(#[source] rusqlite::Error),
    /// The file cannot be created or opened.
    #[error("cannot open state database {}: {error}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    /// SQLite cannot open it.
    #[error("cannot open state database {}: {error}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        error: rusqlite::Error,
    },
    /// Its mode cannot be narrowed to 0600.
    #[error("cannot make {} private (mode 0600): {error}", path.display())]
    Private {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    /// SQLite refused the WAL journal.
    #[error("state database: cannot use WAL journal (got {mode})")]
    NoWal { mode: String },
    /// A newer dumpguard wrote it.
    #[error("state database {} was written by a newer dumpguard (schema {version})", path.display())]
    Newer { path: PathBuf, version: i64 },
    /// Another sweep holds its lock.
    #[error(
        "state database {} is in use by another sweep (one state file per process; give each shard its own)",
        path.display()
    )]
    Busy { path: PathBuf },
    /// A statement on this file failed.
    #[error("state database {}: {error}", path.display())]
    File {
        path: PathBuf,
        #[source]
        error: rusqlite::Error,
    },
}
