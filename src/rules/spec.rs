//! Rules as written in rule files: dumpguard's own TOML format (documented in
//! `rules/README.md`) and the loader that also recognises gitleaks packs.
//!
//! A spec is plain data. [`super::compile`] turns specs into matchers; nothing here runs a
//! regex, so a rule file can be listed and diffed without compiling it.

use crate::report::Severity;
use serde::{Deserialize, Serialize};

/// One rule, as declared.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable identifier (`jwt`, `github-token` ...); findings carry it.
    pub id: String,
    /// Human name.
    pub name: String,
    /// The finding `kind` (`jwt`, `github-token`, `password` ...).
    pub kind: String,
    /// Severity of a match; a validator may lower or raise it (an expired JWT is medium).
    pub severity: Severity,
    #[serde(default)]
    /// What the rule finds and why it matters, for `dumpguard rules list`.
    pub description: String,
    /// `regex::bytes` syntax. The secret is the capture group named `secret`, else group 1,
    /// else the whole match (or `secret_group`).
    pub pattern: String,
    /// Which capture group holds the secret: a group name or number.
    #[serde(default)]
    pub secret_group: Option<String>,
    /// Literal anchors, case-sensitive, searched in ASCII and UTF-16LE. At least one of them
    /// must lie inside every match: they are what the single pass over the dump looks for.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Binary anchors (hex), searched as raw bytes only, for rules over binary structures.
    #[serde(default)]
    pub keywords_hex: Vec<String>,
    /// Minimum Shannon entropy (bits per character) of the secret text.
    #[serde(default)]
    pub min_entropy: Option<f64>,
    /// Named offline validator (`jwt`, `github-checksum` ...; see `src/rules/validate`).
    #[serde(default)]
    pub validator: Option<String>,
    /// Generic rule with a known false-positive rate: off unless asked for.
    #[serde(default)]
    pub noisy: bool,
    /// Characters of text before an anchor that a match may start at. A window reports
    /// every match inside it, so it also covers nearby anchors: a match must end within
    /// half of `window_after` past its own keyword to be sure of being seen.
    #[serde(default)]
    pub window_before: Option<usize>,
    /// Characters of text after an anchor that a match may reach.
    #[serde(default)]
    pub window_after: Option<usize>,
    /// Characters after the window that a validator may read (a DER structure's body
    /// beyond its matched header) without the regex searching them.
    #[serde(default)]
    pub context_after: Option<usize>,
    /// How many leading characters of the secret are a public prefix (`ghp_`) that previews
    /// may show.
    #[serde(default)]
    pub preview_prefix: usize,
    /// Regexes over the secret: a secret matching any of them is a placeholder, not reported.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Regexes over the whole match (context included), same effect.
    #[serde(default)]
    pub allow_match: Vec<String>,
    /// Texts the rule must find something in (checked by `dumpguard rules check`, in ASCII
    /// and in UTF-16LE).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Texts the rule must find nothing in.
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// Binary positive examples, hex (for `keywords_hex` rules).
    #[serde(default)]
    pub examples_hex: Vec<String>,
    /// Binary negative examples, hex.
    #[serde(default)]
    pub negative_examples_hex: Vec<String>,
    /// Where the rule came from (`builtin:rules/jwt.toml`, a file path); not part of the file.
    #[serde(skip_deserializing, default)]
    pub source: String,
}

/// A dumpguard rule file: `[[rule]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    #[serde(default)]
    pub(super) rule: Vec<RuleSpec>,
}

/// Longest keyword accepted: anchors decide the engine's chunk overlap.
pub const MAX_KEYWORD: usize = 64;

/// A rule file could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The rule file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Not TOML, or TOML of neither shape.
    #[error("{path}: not a dumpguard or gitleaks rule file: {error}")]
    Syntax {
        /// The rule file.
        path: String,
        /// The TOML parser's error.
        #[source]
        error: Box<toml::de::Error>,
    },
    /// A gitleaks pack whose structure is wrong.
    #[error("{path}: not a dumpguard or gitleaks rule file: {error}")]
    Gitleaks {
        /// The rule file.
        path: String,
        /// What is wrong with the pack's structure.
        #[source]
        error: GitleaksError,
    },
}

/// What is wrong with the structure of a gitleaks pack.
#[derive(Debug, thiserror::Error)]
pub enum GitleaksError {
    /// `rules` is not an array.
    #[error("`rules` must be an array of tables ([[rules]])")]
    RulesNotArray,
    /// One of `rules` is not a table.
    #[error("rules[{0}] is not a table")]
    RuleNotTable(usize),
    /// A rule's severity is none of the four.
    #[error("rule {rule}: bad severity {given}")]
    Severity {
        /// The rule's id.
        rule: String,
        /// The value given.
        given: String,
    },
}

/// What a rule file turned into: specs, plus notes on what was skipped (gitleaks features
/// that have no meaning for a memory dump).
#[derive(Debug, Default)]
pub struct Loaded {
    pub rules: Vec<RuleSpec>,
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::super::load::parse;
    use super::LoadError;

    const RULE: &str = r#"
[[rule]]
id = "test-token"
name = "Test token"
kind = "test-token"
severity = "high"
pattern = 'tst_[a-z]{8}'
keywords = ["tst_"]
"#;

    #[test]
    fn a_dumpguard_file_parses_and_a_misspelt_key_is_an_error_naming_it() {
        let loaded = parse(RULE, "t.toml").unwrap();
        assert_eq!(loaded.rules.len(), 1);
        assert_eq!(loaded.rules[0].source, "t.toml");
        let typo = RULE.replace("keywords =", "keyword =");
        let e = parse(&typo, "t.toml").unwrap_err();
        assert!(
            matches!(&e, LoadError::Syntax { path, .. } if path == "t.toml"),
            "{e}"
        );
        assert!(e.to_string().contains("keyword"), "{e}");
        let e = parse("[[rule]\nid=", "t.toml").unwrap_err();
        assert!(
            matches!(&e, LoadError::Syntax { path, .. } if path == "t.toml"),
            "{e}"
        );
    }

    #[test]
    fn a_gitleaks_pack_is_recognised_after_the_dumpguard_parse_fails() {
        let pack = r#"
title = "pack"
[[rules]]
id = "tst"
regex = '''tst_[a-z]{8}'''
keywords = ["tst_"]
"#;
        let loaded = parse(pack, "g.toml").unwrap();
        assert_eq!(loaded.rules.len(), 1);
        assert_eq!(loaded.rules[0].id, "tst");
    }
}
