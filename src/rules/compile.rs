//! Compiling rule specs into matchers: one `regex::bytes` per rule for confirmation, the
//! literal anchors that join the scan's single aho-corasick pass, placeholder filters and the
//! named validator. Compilation happens once per scanner; a bad rule is an error with the
//! rule's id and file, never a silent skip (imported gitleaks packs warn instead, see
//! `gitleaks.rs`).

use super::spec::{LoadError, RuleSpec};
use super::validate::{self, Validator};
use regex::bytes::{Regex, RegexBuilder};
use sha2::{Digest, Sha256};

/// Default text window around an anchor, in characters.
pub const DEFAULT_BEFORE: usize = 64;
pub const DEFAULT_AFTER: usize = 512;
/// Upper bound on any rule's window, so a rule file cannot make each hit read megabytes.
pub const MAX_WINDOW: usize = 64 * 1024;
/// Longest keyword accepted (a spec limit, kept there so the gitleaks translation needs no
/// compiler).
pub use super::spec::MAX_KEYWORD;

/// Where the secret is in a match.
#[derive(Debug, Clone)]
pub enum SecretGroup {
    /// The first capture group that took part in the match (gitleaks' rule), else the whole
    /// match.
    FirstNonEmpty,
    Index(usize),
}

/// A regex built on first use. Building the built-in pack's ~150 regexes takes longer than a
/// sweep of an unchanged share takes in all (measured: over half of a no-op sweep's 90 ms), and
/// a scan only ever runs the rules whose anchors occur. Built-in patterns are compiled
/// eagerly by the tests, so they are known to build; file rules are built at load, so a bad
/// pattern is an error then.
pub struct LazyRegex {
    pattern: String,
    compiled: std::sync::OnceLock<Regex>,
}

impl LazyRegex {
    fn eager(pattern: &str) -> Result<LazyRegex, PatternError> {
        let r = LazyRegex::lazy(pattern)?;
        let built = build_regex(pattern)?;
        let _ = r.compiled.set(built);
        Ok(r)
    }

    /// Checks the syntax now (cheap) and leaves the build for the first match.
    fn lazy(pattern: &str) -> Result<LazyRegex, PatternError> {
        syntax(pattern)?;
        Ok(LazyRegex::checked(pattern))
    }

    /// A pattern whose syntax the caller has already checked.
    fn checked(pattern: &str) -> LazyRegex {
        LazyRegex {
            pattern: pattern.to_string(),
            compiled: std::sync::OnceLock::new(),
        }
    }

    pub fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            build_regex(&self.pattern).expect("built-in patterns build (tests compile them all)")
        })
    }
}

/// Parses `p` to its syntax tree and returns its capture groups: (count including group 0,
/// names by index). Only the syntax tree: translating it (Unicode classes into tables) costs
/// as much as the rest of loading the built-in pack, and `regex` itself does it when the
/// pattern is built (file rules at load, built-in ones on first use, all of them in the tests).
fn syntax(p: &str) -> Result<(usize, Vec<Option<String>>), PatternError> {
    use regex_syntax::ast::{Ast, GroupKind};
    let ast = regex_syntax::ast::parse::Parser::new()
        .parse(p)
        .map_err(|e| PatternError::Syntax(Box::new(e)))?;
    // The parser's nest limit bounds this recursion.
    fn walk(a: &Ast, names: &mut Vec<Option<String>>) {
        match a {
            Ast::Group(g) => {
                let (i, name) = match &g.kind {
                    GroupKind::CaptureIndex(i) => (Some(*i), None),
                    GroupKind::CaptureName { name, .. } => (Some(name.index), Some(&name.name)),
                    GroupKind::NonCapturing(_) => (None, None),
                };
                if let Some(i) = i {
                    let i = i as usize;
                    if names.len() <= i {
                        names.resize(i + 1, None);
                    }
                    names[i] = name.cloned();
                }
                walk(&g.ast, names);
            }
            Ast::Concat(c) => c.asts.iter().for_each(|x| walk(x, names)),
            Ast::Alternation(c) => c.asts.iter().for_each(|x| walk(x, names)),
            Ast::Repetition(r) => walk(&r.ast, names),
            _ => {}
        }
    }
    let mut names = vec![None];
    walk(&ast, &mut names);
    Ok((names.len(), names))
}

/// A rule ready to run.
pub struct CompiledRule {
    pub spec: RuleSpec,
    pub regex: LazyRegex,
    pub secret: SecretGroup,
    pub allow: Vec<LazyRegex>,
    pub allow_match: Vec<LazyRegex>,
    pub validator: Option<Validator>,
    /// Text anchors (ASCII; searched in ASCII and UTF-16LE).
    pub text_keywords: Vec<Vec<u8>>,
    /// Binary anchors (searched as raw bytes only).
    pub raw_keywords: Vec<Vec<u8>>,
    pub before: usize,
    pub after: usize,
    /// Extra characters validators may read past the window.
    pub context: usize,
    /// Whether the rule runs in scans (noisy rules are off unless asked for).
    pub enabled: bool,
}

/// A compiled rule pack.
pub struct RuleSet {
    /// The compiled rules, in file order (noisy ones only when asked for).
    pub rules: Vec<CompiledRule>,
    /// Notes from loading (skipped gitleaks features ...).
    pub warnings: Vec<String>,
    digest: String,
}

/// Why a rule could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The rule file itself could not be read or parsed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// One rule of a file that parsed is refused.
    #[error("{file}: rule {id}: {problem}")]
    Rule {
        /// The rule file (or `built-in`).
        file: String,
        /// The rule's id.
        id: String,
        /// What is wrong with it.
        problem: RuleProblem,
    },
}

/// What is wrong with one rule ([`RuleError::Rule`]).
#[derive(Debug, thiserror::Error)]
pub enum RuleProblem {
    /// Findings and `rules check` name rules by id.
    #[error("id must be non-empty printable ASCII")]
    BadId,
    /// Another rule has the same id.
    #[error("duplicate rule id")]
    DuplicateId,
    /// The pattern is refused.
    #[error("pattern: {0}")]
    Pattern(PatternError),
    /// An `allow` pattern is refused.
    #[error("allow: {0}")]
    Allow(PatternError),
    /// An `allow_match` pattern is refused.
    #[error("allow_match: {0}")]
    AllowMatch(PatternError),
    /// `secret_group` names a group index the pattern does not have.
    #[error("secret_group {0} does not exist in the pattern")]
    NoGroup(usize),
    /// `secret_group` names a group name the pattern does not have.
    #[error("secret_group `{0}` is not a group name")]
    NoGroupName(String),
    /// No validator of this name.
    #[error("unknown validator `{0}`")]
    UnknownValidator(String),
    /// A keyword out of bounds.
    #[error("keyword {0:?} must be 1..={MAX_KEYWORD} ASCII characters without NUL")]
    Keyword(String),
    /// A `keywords_hex` entry that is not hex.
    #[error("keywords_hex {keyword}: {error}")]
    KeywordHex {
        /// The entry as written.
        keyword: String,
        /// Why it is not hex.
        error: hex::FromHexError,
    },
    /// A `keywords_hex` entry of the wrong length.
    #[error("keywords_hex {0}: 3..={MAX_KEYWORD} bytes, or the anchor pass drowns")]
    KeywordHexLength(String),
    /// No anchor at all.
    #[error("no keywords: a rule needs a literal anchor for the single pass")]
    NoKeywords,
    /// An anchor too short to be selective.
    #[error("keywords shorter than 3 characters would fire everywhere")]
    ShortKeyword,
}

/// Why a rule's pattern was refused: its syntax, or its build (over the size limits, say).
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// Not a regular expression.
    #[error("{0}")]
    Syntax(Box<regex_syntax::ast::Error>),
    /// A valid expression `regex` refused to build.
    #[error("{0}")]
    Build(#[from] regex::Error),
}

fn build_regex(p: &str) -> Result<Regex, PatternError> {
    Ok(RegexBuilder::new(p)
        .size_limit(16 << 20)
        .dfa_size_limit(8 << 20)
        .build()?)
}

/// Compiles one spec.
pub fn compile_rule(spec: RuleSpec, include_noisy: bool) -> Result<CompiledRule, RuleError> {
    let err = |problem: RuleProblem| RuleError::Rule {
        file: spec.source.clone(),
        id: spec.id.clone(),
        problem,
    };
    if spec.id.is_empty() || !spec.id.bytes().all(|c| c.is_ascii_graphic()) {
        return Err(err(RuleProblem::BadId));
    }
    let (groups, names) = syntax(&spec.pattern).map_err(|e| err(RuleProblem::Pattern(e)))?;
    // Built-in rules build on first use; anything from a file is built now, so a bad
    // pattern is reported at load.
    let builtin = spec.source.starts_with("builtin:");
    let make = if builtin {
        LazyRegex::lazy
    } else {
        LazyRegex::eager
    };
    let regex = if builtin {
        LazyRegex::checked(&spec.pattern)
    } else {
        LazyRegex::eager(&spec.pattern).map_err(|e| err(RuleProblem::Pattern(e)))?
    };
    let named = |g: &str| names.iter().position(|n| n.as_deref() == Some(g));
    let secret = match spec.secret_group.as_deref() {
        None => named("secret").map_or(SecretGroup::FirstNonEmpty, SecretGroup::Index),
        Some(g) => match g.parse::<usize>() {
            Ok(i) if i < groups => SecretGroup::Index(i),
            Ok(i) => return Err(err(RuleProblem::NoGroup(i))),
            Err(_) => {
                SecretGroup::Index(named(g).ok_or_else(|| err(RuleProblem::NoGroupName(g.into())))?)
            }
        },
    };
    let allow = spec
        .allow
        .iter()
        .map(|p| make(p).map_err(|e| err(RuleProblem::Allow(e))))
        .collect::<Result<Vec<_>, _>>()?;
    let allow_match = spec
        .allow_match
        .iter()
        .map(|p| make(p).map_err(|e| err(RuleProblem::AllowMatch(e))))
        .collect::<Result<Vec<_>, _>>()?;
    let validator = match &spec.validator {
        None => None,
        Some(name) => Some(
            validate::lookup(name)
                .ok_or_else(|| err(RuleProblem::UnknownValidator(name.clone())))?,
        ),
    };
    let mut text_keywords = Vec::new();
    for k in &spec.keywords {
        if k.is_empty() || k.len() > MAX_KEYWORD || !k.is_ascii() || k.contains('\0') {
            return Err(err(RuleProblem::Keyword(k.clone())));
        }
        text_keywords.push(k.as_bytes().to_vec());
    }
    let mut raw_keywords = Vec::new();
    for k in &spec.keywords_hex {
        let b = hex::decode(k.replace(' ', "")).map_err(|error| {
            err(RuleProblem::KeywordHex {
                keyword: k.clone(),
                error,
            })
        })?;
        if b.len() < 3 || b.len() > MAX_KEYWORD {
            return Err(err(RuleProblem::KeywordHexLength(k.clone())));
        }
        raw_keywords.push(b);
    }
    if text_keywords.is_empty() && raw_keywords.is_empty() {
        return Err(err(RuleProblem::NoKeywords));
    }
    if text_keywords.iter().any(|k| k.len() < 3) {
        return Err(err(RuleProblem::ShortKeyword));
    }
    let before = spec.window_before.unwrap_or(DEFAULT_BEFORE).min(MAX_WINDOW);
    let after = spec.window_after.unwrap_or(DEFAULT_AFTER).min(MAX_WINDOW);
    let context = spec.context_after.unwrap_or(0).min(MAX_WINDOW);
    let enabled = !spec.noisy || include_noisy;
    Ok(CompiledRule {
        spec,
        regex,
        secret,
        allow,
        allow_match,
        validator,
        text_keywords,
        raw_keywords,
        before,
        after,
        context,
        enabled,
    })
}

impl RuleSet {
    /// Compiles specs. Rule ids must be unique: findings and `rules check` name rules by id.
    pub fn compile(
        specs: Vec<RuleSpec>,
        warnings: Vec<String>,
        include_noisy: bool,
    ) -> Result<RuleSet, RuleError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut rules = Vec::with_capacity(specs.len());
        for s in specs {
            if !seen.insert(s.id.clone()) {
                return Err(RuleError::Rule {
                    file: s.source.clone(),
                    id: s.id.clone(),
                    problem: RuleProblem::DuplicateId,
                });
            }
            rules.push(compile_rule(s, include_noisy)?);
        }
        let digest = digest(&rules);
        Ok(RuleSet {
            rules,
            warnings,
            digest,
        })
    }

    /// The built-in pack (rules/*.toml, embedded at build time).
    pub fn builtin(include_noisy: bool) -> RuleSet {
        RuleSet::compile(super::builtin::specs(), Vec::new(), include_noisy)
            .expect("the built-in rule pack compiles (checked by tests)")
    }

    /// The built-in pack plus rule files (dumpguard or gitleaks format). A file rule with the
    /// id of a built-in rule replaces it (an organisation's tuned version wins), with a
    /// warning; two file rules with one id are an error.
    pub fn with_files(
        files: &[std::path::PathBuf],
        include_noisy: bool,
    ) -> Result<RuleSet, RuleError> {
        let mut specs = super::builtin::specs();
        let mut warnings = Vec::new();
        for f in files {
            let loaded = super::load::load_file(f)?;
            warnings.extend(
                loaded
                    .warnings
                    .into_iter()
                    .map(|w| format!("{}: {w}", f.display())),
            );
            for r in loaded.rules {
                if let Some(i) = specs
                    .iter()
                    .position(|b| b.id == r.id && b.source.starts_with("builtin:"))
                {
                    warnings.push(format!(
                        "{}: rule {} replaces the built-in rule of the same id",
                        f.display(),
                        r.id
                    ));
                    specs.remove(i);
                }
                specs.push(r);
            }
        }
        RuleSet::compile(specs, warnings, include_noisy)
    }

    /// SHA-256 over everything that decides what the pack finds: reports carry it (through
    /// the engine digest) so two reports can be compared knowing whether the rules differed.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The rule with this id, if the set holds it.
    pub fn get(&self, id: &str) -> Option<&CompiledRule> {
        self.rules.iter().find(|r| r.spec.id == id)
    }
}

fn digest(rules: &[CompiledRule]) -> String {
    let mut h = Sha256::new();
    for r in rules {
        let s = &r.spec;
        // Length-prefixed fields, so no two different packs hash alike.
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(s.id.as_bytes());
        field(s.kind.as_bytes());
        field(s.severity.as_str().as_bytes());
        field(s.pattern.as_bytes());
        field(s.secret_group.as_deref().unwrap_or("").as_bytes());
        field(s.validator.as_deref().unwrap_or("").as_bytes());
        field(format!("{:?}", s.min_entropy).as_bytes());
        field(&[r.enabled as u8]);
        field(
            format!(
                "{}/{}/{}/{}",
                r.before, r.after, r.context, s.preview_prefix
            )
            .as_bytes(),
        );
        for k in r.text_keywords.iter().chain(&r.raw_keywords) {
            field(k);
        }
        for a in s.allow.iter().chain(&s.allow_match) {
            field(a.as_bytes());
        }
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod lazy_tests {
    use super::*;

    #[test]
    fn every_builtin_pattern_builds_and_agrees_on_its_groups() {
        // Built-in regexes are built on first use; here every one of them is built.
        for r in RuleSet::builtin(true).rules {
            let built = r.regex.get();
            let (groups, _) = syntax(&r.spec.pattern).unwrap();
            assert_eq!(built.captures_len(), groups, "rule {}", r.spec.id);
            if let SecretGroup::Index(i) = r.secret {
                assert!(i < built.captures_len(), "rule {}", r.spec.id);
            }
            for a in r.allow.iter().chain(&r.allow_match) {
                a.get();
            }
        }
    }

    #[test]
    fn a_file_rule_with_a_pattern_too_big_to_build_fails_at_load() {
        let mut spec = super::super::builtin::specs().remove(0);
        spec.id = "huge".into();
        spec.pattern = r"\w{1000}\w{1000}\w{1000}".into();
        spec.source = "file.toml".into();
        assert!(matches!(
            compile_rule(spec, false),
            Err(RuleError::Rule {
                problem: RuleProblem::Pattern(PatternError::Build(_)),
                ..
            })
        ));
    }
}
