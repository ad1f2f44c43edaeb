//! The integration tests, as one test binary: every module below was a binary of its own, each
//! compiling and linking `common` and the whole dependency tree again (35 links per `cargo
//! test`). One binary links once, builds each helper program (the C holder, the Java, Go and
//! Rust holders) once per run, and lets every helper in `common` be used somewhere or deleted.
//!
//! Run one group with `cargo test --test it gate::` (module path prefix), one test by its name.
//!
//! One test keeps a binary of its own: `tests/memory_bound.rs` measures a child's peak RSS,
//! which starts from this process's own high-water mark, so it must run where nothing else
//! allocates.
//!
//! No test here changes process-wide state that another test could see: no environment
//! variables are set, no working directory or umask is changed, no panic hook is installed.
//! `sweep` drops capabilities from the bounding set of the calling thread only, and libtest runs
//! every test on a fresh thread, so what it drops stays with that test.

mod common;
mod dumpbuild;
mod sweeptree;

mod cli;
mod deploy;
mod determinism;
mod encoded_keys;
mod engine_chunks;
mod gate;
mod gate_audit;
mod gate_redact;
mod gate_verdicts;
mod gate_watch;
mod hostile;
mod hostile_detectors;
mod hostile_env;
mod inputs;
mod key_encodings;
mod layers;
mod negatives;
mod raw_keys;
mod real_agents;
mod real_dumps;
mod real_ec;
mod real_ed25519;
mod real_keystores;
mod redact_residue;
mod rules_cli;
mod sarif;
mod schemas;
mod snapshots;
mod sweep;
mod sweep_policy;
mod text_corpus;
mod tokens_negative;
mod tokens_real;
mod wrappers;
