//! dumpguard: finds secrets in crash dumps and memory images, and proves what it finds.
//!
//! The library scans a path or a byte slice and returns a [`report::Report`]
//! (schema `dumpguard.report/v1`). The binary is a thin CLI over it.
//!
//! ```no_run
//! let scanner = dumpguard::Scanner::new();
//! let report = scanner.scan_path(std::path::Path::new("core.1234"), &Default::default()).unwrap();
//! for f in &report.findings {
//!     println!("{} {} {:?}", f.kind, f.status, f.fingerprint);
//! }
//! ```

pub mod detect;
pub mod gate;
pub mod input;
pub mod keys;
pub mod output;
pub mod report;
pub mod rules;
pub mod scan;
pub mod sweep;

use input::Dump;
use report::{InputInfo, Report, Tool};
use scan::{Engine, Limits};
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

    /// Keeps only the detector families named (see [`detect::FAMILIES`]); an unknown name
    /// is an error rather than a silently narrower scan.
    pub fn with_families(mut self, families: &[String]) -> Result<Scanner, String> {
        for f in families {
            if !detect::FAMILIES.iter().any(|(name, _)| name == f) {
                let known: Vec<&str> = detect::FAMILIES.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown detector family '{f}' (known: {})",
                    known.join(", ")
                ));
            }
        }
        self.engine = std::mem::take(&mut self.engine)
            .retain(|d| detect::family_of(d).is_some_and(|f| families.iter().any(|x| x == f)));
        Ok(self)
    }

    /// The known-key inventory (`--known-keys`): the gate completes a key from it when only a
    /// prime of it was found, to remove every private integer.
    pub fn inventory(&self) -> &[detect::PublicKeyRecord] {
        &self.inventory
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Opens (memory-maps) and scans one file.
    pub fn scan_path(&self, path: &Path, limits: &Limits) -> std::io::Result<Report> {
        self.scan_path_with_progress(path, limits, &|_| {})
    }

    pub fn scan_path_with_progress(
        &self,
        path: &Path,
        limits: &Limits,
        progress: &(dyn Fn(u64) + Sync),
    ) -> std::io::Result<Report> {
        let dump = Dump::open(path)?;
        Ok(self.scan_dump(&dump, &path.display().to_string(), limits, progress))
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
        let complete = dump.layout.complete && outcome.errors.is_empty();
        let mut summary = Report::summarize(&outcome.findings, elapsed_ms, outcome.scanned_bytes);
        summary.public_keys_seen = outcome.public_keys;
        Report {
            schema: report::SCHEMA.into(),
            tool: Tool::new(self.engine.digest()),
            input: InputInfo {
                path: name.into(),
                size: data.len() as u64,
                sha256: outcome.sha256.clone(),
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
