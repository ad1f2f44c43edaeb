//! dumpguard: finds secrets in crash dumps and memory images, and proves what it finds.
//!
//! The library scans a path or a byte slice and returns a [`Report`] (schema
//! `dumpguard.report/v1`): every private key, token and password it found, each with how far
//! it was proven ([`Status`]), what it is ([`Kind`]) and its fingerprint, never the secret
//! itself. The `dumpguard` binary is a thin command line over this API and uses nothing else.
//!
//! # Embedding
//!
//! Scan bytes already in memory (here a freshly generated RSA key, as a PKCS#8 DER blob
//! surrounded by other bytes) and read the findings:
//!
//! ```
//! use dumpguard::{Kind, Scanner, Status};
//! use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
//! use sha2::{Digest, Sha256};
//!
//! let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
//! let der = key.to_pkcs8_der().unwrap();
//! let mut memory = vec![0u8; 4096];
//! memory.extend_from_slice(der.as_bytes());
//! memory.extend_from_slice(&[0u8; 4096]);
//!
//! let report = Scanner::new().scan_bytes("heap.bin", &memory);
//! let f = &report.findings[0];
//! assert_eq!(f.kind, Kind::private_key("RSA"));
//! assert_eq!(f.status, Status::Verified); // p·q = n and e·d ≡ 1 were checked
//! assert_eq!(f.offset, 4096);
//!
//! // The fingerprint is sha256 of the DER SubjectPublicKeyInfo, as
//! // `openssl pkey -pubout -outform DER | sha256sum` prints it.
//! let spki = key.to_public_key().to_public_key_der().unwrap();
//! let fp = format!("sha256:{}", hex::encode(Sha256::digest(spki.as_bytes())));
//! assert_eq!(f.fingerprint.as_deref(), Some(fp.as_str()));
//!
//! // The report never holds the key: not in JSON, not in any encoding of it.
//! assert!(!report.to_json(false).contains(&hex::encode(der.as_bytes())[..64]));
//! ```
//!
//! Files are scanned with [`Scanner::scan_path`] (memory-mapped; archives and compressed
//! files are expanded within bounds). The gate ([`gate`]) turns a report into an ALLOW /
//! BLOCK / ALLOW_REDACTED decision under a [`Policy`]; the sweep ([`sweep`]) scans whole
//! trees incrementally.
//!
//! # What is public, and why
//!
//! The layers (input → encodings → keys → report → rules → detect → scan → gate / sweep) are
//! private modules: their types change as detectors are added, and an embedder should not
//! depend on them. What an embedder needs is re-exported here: the scanner and its options,
//! the report model, dump opening, known-key loading, rule packs, and the extension points a
//! custom detector plugs into. [`report`], [`gate`], [`sweep`], [`schema`] and [`output`] are
//! public modules because they *are* documents and entry points others consume.

#![deny(missing_docs)]

mod detect;
mod encoding;
pub mod gate;
mod input;
mod keys;
pub mod output;
pub mod report;
mod rules;
mod scan;
pub mod schema;
pub mod sweep;

pub use detect::{
    families, families_help, registry, Anchor, Detector, Family, ScanContext, Sink, UnknownFamily,
};
pub use gate::decision::{Decision, Verdict};
pub use gate::policy::Policy;
pub use gate::Gate;
pub use input::archive::{Kind as ArchiveKind, Limits as ArchiveLimits};
pub use input::{Dump, Format};
pub use keys::inventory::{
    load as load_known_keys, load_file as load_known_keys_file, parse as parse_known_keys,
};
pub use keys::{PublicKeyRecord, Status};
pub use report::{Finding, Kind, Report, Severity};
pub use rules::builtin::specs as builtin_rule_specs;
pub use rules::spec::RuleSpec;
pub use rules::{GitleaksError, LoadError, PatternError, RuleError, RuleProblem, RuleSet};
pub use scan::rules_check::{check as check_rules, RuleCheck};
pub use scan::{
    check_time_limit, parse_time_limit, Engine, InputHash, Limits, TimeLimitError,
    UnknownInputHash, CHUNK_SIZE,
};

/// Single parsers and proofs, for the fuzz targets (`fuzz/fuzz_targets`) and the
/// hostile-input tests that feed them crafted bytes directly. Not part of the API: what is here
/// follows the internals and changes without notice. It exists because a fuzz target reaching
/// one parser finds in minutes what a whole-scan target needs hours for.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::detect::{der_key_finding, text};
    pub use crate::gate::redact::plan as redaction_plan;
    pub use crate::input::{caps, locate};
    pub use crate::keys::{decode, sexp, verify, PrivateKey, RsaParts};
    pub use crate::rules::compile::compile_rule;
    pub use crate::rules::load::parse as parse_rules;
}

use report::{InputInfo, Tool};
use std::path::Path;
use std::time::Instant;

/// A configured scanner: the compiled detectors and the known-key inventory, reusable across
/// many inputs.
#[derive(Default)]
pub struct Scanner {
    engine: Engine,
    inventory: Vec<detect::PublicKeyRecord>,
}

impl Scanner {
    /// A scanner with every built-in detector and rule pack, no known keys: what
    /// `dumpguard scan` runs without options.
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// Adds known public keys (`--known-keys`): findings of these keys are labelled with the
    /// inventory entry, and their moduli drive the factor search in raw memory.
    pub fn with_inventory(mut self, keys: Vec<detect::PublicKeyRecord>) -> Scanner {
        self.inventory = keys;
        self
    }

    /// Replaces the token rule pack (built-in rules plus `--rules` files, noisy rules on or
    /// off).
    pub fn with_rules(mut self, rules: rules::RuleSet) -> Scanner {
        self.engine =
            Engine::with_detectors(detect::registry_with_rules(std::sync::Arc::new(rules)));
        self
    }

    /// Replaces the detector set (tests inject detectors through [`Engine::with_detectors`],
    /// e.g. one that panics, to show the gate fails closed).
    pub fn with_engine(mut self, engine: Engine) -> Scanner {
        self.engine = engine;
        self
    }

    /// Keeps only the detector families named (see [`detect::Family`]); an unknown name
    /// is an error rather than a silently narrower scan.
    pub fn with_families(mut self, families: &[String]) -> Result<Scanner, detect::UnknownFamily> {
        let mut wanted = Vec::new();
        for f in families {
            wanted.push(
                detect::Family::from_name(f)
                    .ok_or_else(|| detect::UnknownFamily { name: f.clone() })?,
            );
        }
        self.engine = std::mem::take(&mut self.engine)
            .retain(|d| detect::family_of(d).is_some_and(|f| wanted.contains(&f)));
        Ok(self)
    }

    /// The known-key inventory (`--known-keys`): the gate completes a key from it when only a
    /// prime of it was found, to remove every private integer.
    pub fn inventory(&self) -> &[detect::PublicKeyRecord] {
        &self.inventory
    }

    /// The detectors this scanner runs; their digest names the rule set in every report.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Opens and scans one file: a dump is memory-mapped; an archive or compressed file
    /// (gzip, xz, zstd, bzip2, zip, tar, cab, nested) is opened the way `sweep` opens it,
    /// within [`input::archive::Limits::default`] (see [`Scanner::scan_path_bounded`]).
    pub fn scan_path(&self, path: &Path, limits: &Limits) -> std::io::Result<Report> {
        self.scan_path_with_progress(path, limits, &|_| {})
    }

    /// [`Scanner::scan_path`] reporting bytes scanned to `progress` (the CLI's progress bar,
    /// the sweep's throughput), called from the scanning threads.
    pub fn scan_path_with_progress(
        &self,
        path: &Path,
        limits: &Limits,
        progress: &(dyn Fn(u64) + Sync),
    ) -> std::io::Result<Report> {
        self.scan_path_bounded(path, limits, &input::archive::Limits::default(), progress)
    }

    /// What kind of archive or compressed file `path` is (by its magic bytes), if any. A
    /// non-regular file is refused before it is opened: opening a FIFO blocks.
    pub fn archive_kind(path: &Path) -> std::io::Result<Option<input::archive::Kind>> {
        if !std::fs::metadata(path)?.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let file = std::fs::File::open(path)?;
        Ok(input::archive::sniff(&input::archive::head(&file)?))
    }

    /// [`Scanner::scan_path`] with explicit expansion bounds for archives. An archive gives
    /// one report for the whole file (its size and input hash are the archive's): every member is
    /// scanned, each finding names its member (`location.member`), and the report is
    /// incomplete when a member could not be expanded within the bounds, the archive could
    /// not be read (it is then scanned as raw bytes too), or the file changed meanwhile. A
    /// compressed file is therefore never judged on bytes nobody decompressed.
    pub fn scan_path_bounded(
        &self,
        path: &Path,
        limits: &Limits,
        bounds: &input::archive::Limits,
        progress: &(dyn Fn(u64) + Sync),
    ) -> std::io::Result<Report> {
        let name = path.display().to_string();
        let Some(kind) = Scanner::archive_kind(path)? else {
            let dump = Dump::open(path)?;
            return Ok(self.scan_dump(&dump, &name, limits, progress));
        };
        self.scan_archive(path, &name, kind, limits, bounds, progress)
    }

    /// One report for an archive or compressed file (see [`Scanner::scan_path_bounded`]).
    #[cfg(feature = "archives")]
    fn scan_archive(
        &self,
        path: &Path,
        name: &str,
        kind: input::archive::Kind,
        limits: &Limits,
        bounds: &input::archive::Limits,
        progress: &(dyn Fn(u64) + Sync),
    ) -> std::io::Result<Report> {
        let started = Instant::now();
        let before = std::fs::metadata(path)?;
        let tmpdir = std::env::temp_dir();
        let ctx = sweep::scanfile::Ctx {
            scanner: self,
            limits: bounds,
            tmpdir: &tmpdir,
            time_limit: limits
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now())),
            input_hash: limits.input_hash,
        };
        let scanned = ctx
            .scan_file(path, name, progress)
            .map_err(std::io::Error::other)?;
        let mut report = archive_report(self, name, before.len(), kind, scanned, started);
        let same = std::fs::metadata(path)
            .is_ok_and(|after| input::FileStamp::of(&after) == input::FileStamp::of(&before));
        if !same {
            sweep::scanfile::incomplete(
                &mut report,
                "the file was modified while it was scanned: neither the findings nor the \
                 sha256 describe the file"
                    .into(),
            );
        }
        Ok(report)
    }

    /// Without the `archives` feature an archive is an error, never raw bytes: the gate then
    /// BLOCKs it instead of judging bytes nobody decompressed.
    #[cfg(not(feature = "archives"))]
    fn scan_archive(
        &self,
        _path: &Path,
        _name: &str,
        kind: input::archive::Kind,
        _limits: &Limits,
        _bounds: &input::archive::Limits,
        _progress: &(dyn Fn(u64) + Sync),
    ) -> std::io::Result<Report> {
        Err(std::io::Error::other(format!(
            "a {} archive, and this build of dumpguard reads no archives (feature `archives`)",
            kind.as_str()
        )))
    }

    /// Scans bytes already in memory.
    pub fn scan_bytes(&self, name: &str, data: &[u8]) -> Report {
        let dump = Dump::from_slice(data);
        self.scan_dump(&dump, name, &Limits::default(), &|_| {})
    }

    /// Scans an opened dump.
    pub fn scan_dump(
        &self,
        dump: &Dump<'_>,
        name: &str,
        limits: &Limits,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Report {
        let started = Instant::now();
        let data = dump.data();
        // The engine hashes the input beside the scan, pacing both over the same pages.
        let outcome = self.engine.scan(dump, &self.inventory, limits, progress);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let mut warnings = dump.layout.warnings.clone();
        warnings.extend(outcome.errors.iter().cloned());
        // A file truncated or rewritten behind the scan: what was read is no version of it.
        let changed = dump.bytes.changed();
        let complete = dump.layout.complete && outcome.errors.is_empty() && changed.is_none();
        warnings.extend(changed);
        let mut summary = Report::summarize(&outcome.findings, elapsed_ms, outcome.scanned_bytes);
        summary.public_keys_seen = outcome.public_keys;
        Report {
            schema: report::SCHEMA.into(),
            tool: Tool::new(self.engine.digest()),
            input: InputInfo {
                path: name.into(),
                size: data.len() as u64,
                sha256: outcome.sha256.clone(),
                blake3: outcome.blake3.clone(),
                format: dump.format.as_str().into(),
                description: dump.layout.description.clone(),
                regions: dump.layout.regions.len(),
                scanned_bytes: outcome.scanned_bytes,
                complete,
                warnings,
            },
            findings: outcome.findings,
            summary,
        }
    }
}

/// The hex of a stored content hash when it is of algorithm `alg`, else empty (the report
/// carries one input hash, named by its algorithm).
#[cfg(feature = "archives")]
fn stored_hex(content_hash: &str, alg: InputHash) -> String {
    match sweep::scanfile::parse_stored(content_hash) {
        Some((a, hex)) if a == alg => hex.to_string(),
        _ => String::new(),
    }
}

/// One report for an archive from the reports of its members (see
/// [`Scanner::scan_path_bounded`]).
#[cfg(feature = "archives")]
fn archive_report(
    scanner: &Scanner,
    name: &str,
    size: u64,
    kind: input::archive::Kind,
    scanned: sweep::scanfile::Scanned,
    started: Instant,
) -> Report {
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut formats = std::collections::BTreeSet::new();
    let (mut complete, mut regions, mut scanned_bytes, mut public_keys) = (true, 0, 0u64, 0);
    let mut members = Vec::new();
    for u in scanned.units {
        let member = u.member.unwrap_or(u.name);
        let r = u.report;
        complete &= r.input.complete;
        regions += r.input.regions;
        scanned_bytes += r.input.scanned_bytes;
        public_keys += r.summary.public_keys_seen;
        for w in r.input.warnings {
            if warnings.len() < input::caps::WARNINGS {
                warnings.push(format!("{member}: {w}"));
            }
        }
        if members.len() < 8 {
            members.push(format!(
                "{member} ({}, {} bytes)",
                r.input.format, r.input.size
            ));
        }
        formats.insert(r.input.format);
        for mut f in r.findings {
            f.location.get_or_insert_with(Default::default).member = Some(member.clone());
            findings.push(f);
        }
    }
    if !complete && warnings.is_empty() {
        warnings.push("a member was not scanned completely".into());
    }
    for (i, f) in findings.iter_mut().enumerate() {
        f.id = format!("F{}", i + 1);
    }
    // The gate's raw-image rule applies to what was inside: one member scanned as raw bytes
    // makes the whole input raw.
    formats.remove("unscanned");
    let format = if formats.contains("raw") {
        "raw".to_string()
    } else if formats.len() == 1 {
        formats.pop_first().unwrap_or_default()
    } else if formats.is_empty() {
        kind.as_str().to_string()
    } else {
        "mixed".to_string()
    };
    let description = format!(
        "{} archive; members: {}{}",
        kind.as_str(),
        members.join(", "),
        if members.len() == 8 { ", ..." } else { "" }
    );
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let mut summary = Report::summarize(&findings, elapsed_ms, scanned_bytes);
    summary.public_keys_seen = public_keys;
    Report {
        schema: report::SCHEMA.into(),
        tool: Tool::new(scanner.engine.digest()),
        input: InputInfo {
            path: name.into(),
            size,
            sha256: stored_hex(&scanned.content_hash, InputHash::Sha256),
            blake3: stored_hex(&scanned.content_hash, InputHash::Blake3),
            format,
            description: Some(description),
            regions,
            // Every byte of the archive went through its decompressor when it is complete;
            // the expanded bytes scanned are in the summary's rate.
            scanned_bytes: if complete {
                size
            } else {
                scanned_bytes.min(size)
            },
            complete,
            warnings,
        },
        findings,
        summary,
    }
}

#[cfg(all(test, not(feature = "archives")))]
mod without_archives {
    /// A build without the `archives` feature still knows an archive when it sees one, and
    /// refuses it: scanning the compressed bytes as a raw dump would pass a key that sits in
    /// it, uncompressed only after the gate said ALLOW.
    #[test]
    fn an_archive_is_an_error_not_a_raw_dump() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]).unwrap();
        let err = crate::Scanner::new()
            .scan_path(file.path(), &crate::scan::Limits::default())
            .unwrap_err();
        assert!(err.to_string().contains("feature `archives`"), "{err}");
    }
}
