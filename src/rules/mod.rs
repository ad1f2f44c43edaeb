//! The declarative rule engine for tokens, passwords and other text secrets.
//!
//! Rules live in TOML files (`rules/*.toml`, format in `rules/README.md`; gitleaks packs are
//! imported too). Each rule has literal keyword anchors, a confirming `regex::bytes` pattern,
//! an optional minimum entropy of the secret and an optional named offline validator. The
//! anchors join the scan's single aho-corasick pass (see `detect/rules.rs`); only on an
//! anchor hit does a rule's regex run, over a bounded window in ASCII or UTF-16LE.
//!
//! - [`spec`]: rule files → [`spec::RuleSpec`]; [`gitleaks`]: gitleaks import;
//! - [`compile`]: specs → [`RuleSet`]; [`matcher`]: one rule at one anchor;
//! - [`validate`]: offline validators (JWT, checksums, AWS, Azure, Kerberos ...);
//! - [`check`]: `dumpguard rules check`, every example behaves as declared.

pub mod builtin;
pub mod compile;
pub mod entropy;
pub mod gitleaks;
pub mod load;
pub mod matcher;
pub mod spec;
pub mod validate;

pub use compile::{CompiledRule, PatternError, RuleError, RuleProblem, RuleSet};
pub use spec::{GitleaksError, LoadError};
