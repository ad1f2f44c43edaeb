//! Argument groups shared by several commands, flattened into each (`#[command(flatten)]`):
//! an option several commands take is declared once, so its name, help and parsing cannot
//! drift between them.

use clap::Args;
use dumpguard::report::Severity;
use std::path::PathBuf;

/// `--known-keys` (scan, gate, watch).
#[derive(Args, Debug, Clone, Default)]
pub struct KnownKeysArgs {
    /// Known public keys (repeatable; a file or a directory): PEM/DER certificates and
    /// public keys, JWKS/JWK JSON, OpenSSH public keys. Findings of these keys are
    /// labelled with their entry, and their RSA moduli drive the raw prime-factor search.
    #[arg(long, value_name = "PATH")]
    pub known_keys: Vec<PathBuf>,
}

impl KnownKeysArgs {
    /// The key inventory, or the message naming the option that failed.
    pub fn load(&self) -> Result<Vec<dumpguard::PublicKeyRecord>, String> {
        dumpguard::load_known_keys(&self.known_keys).map_err(|e| format!("--known-keys {e}"))
    }
}

/// `--policy` of the gate (gate, watch).
#[derive(Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Policy file (TOML); the built-in default (rules/policy.toml) when absent.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// `--fail-on` (scan, sweep, sweep-merge).
#[derive(Args, Debug, Clone)]
pub struct FailOnArgs {
    /// Lowest severity that makes the exit code 1 (suppressed findings do not count).
    #[arg(long, default_value = "high", value_parser = <Severity as std::str::FromStr>::from_str)]
    pub fail_on: Severity,
}

/// `--time-limit` (scan, sweep).
#[derive(Args, Debug, Clone)]
pub struct TimeLimitArgs {
    /// Give up on an input after this many seconds (its scan is then incomplete: exit 2).
    #[arg(long, value_name = "SECONDS", value_parser = dumpguard::parse_time_limit)]
    pub time_limit: Option<u64>,
}

/// `--rules` (scan, rules list, rules check).
#[derive(Args, Debug, Clone, Default)]
pub struct RulesArgs {
    /// Add token rules from FILE (dumpguard or gitleaks TOML); repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
}

/// `--input-hash` (scan, gate): which digest names the input in the report and the decision
/// record.
#[derive(Args, Debug, Clone)]
pub struct InputHashArgs {
    /// The input hash in the report: `blake3` (several GB/s, `b3sum` checks it) or `sha256`
    /// (one core at ≈ 1.45 GB/s, for tooling that needs SHA-256).
    #[arg(long, value_name = "ALG", default_value = "blake3", value_parser = <dumpguard::InputHash as std::str::FromStr>::from_str)]
    pub input_hash: dumpguard::InputHash,
}
