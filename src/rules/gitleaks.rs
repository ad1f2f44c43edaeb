//! Import of gitleaks-style TOML rule packs (`[[rules]]`), so an organisation can reuse the
//! pack it already maintains. What is supported, and what is not, is listed in
//! `rules/README.md`; every skipped feature leaves a warning rather than silently changing
//! what the pack means.
//!
//! Translation:
//! - `id`, `description` → id, name; `regex` → pattern; `secretGroup` → secret group (gitleaks'
//!   default, the first non-empty group, is also ours); `entropy` → minimum entropy;
//! - `keywords` are case-insensitive in gitleaks; here each becomes its original, lower,
//!   UPPER and Capitalised spellings (anchors are exact literals in the single pass);
//! - allowlist `regexes` (target `secret`, `match` or `line`) and `stopwords` become
//!   placeholder filters; `paths` and `commits` have no meaning in a memory dump;
//! - rules without keywords cannot join the anchor pass and are skipped;
//! - `severity` (a dumpguard extension) is honoured; otherwise imported rules are `high`.

use super::spec::{GitleaksError, Loaded, RuleSpec};
use crate::report::Severity;
use toml::{Table, Value};

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Go's RE2 reads a `{` that does not start a repetition (`{n}`, `{n,}`, `{n,m}`) as a
/// literal; Rust's regex rejects it. Such braces are escaped, outside character classes.
pub fn go_regex_compat(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < b.len() {
        let c = b[i] as char;
        if c == '\\' {
            // Copy the escape and the escaped character as they are.
            let end = (i + 1 + p[i + 1..].chars().next().map_or(0, char::len_utf8)).min(b.len());
            out.push_str(&p[i..end]);
            i = end;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
        } else if c == '[' {
            in_class = true;
            // A `]` right after `[` or `[^` is a literal member.
            out.push('[');
            i += 1;
            if b.get(i) == Some(&b'^') {
                out.push('^');
                i += 1;
            }
            if b.get(i) == Some(&b']') {
                out.push_str("\\]");
                i += 1;
            }
            continue;
        } else if c == '{' && !is_repetition(&p[i..]) {
            out.push_str("\\{");
            i += 1;
            continue;
        }
        let ch = p[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// `{n}`, `{n,}` or `{n,m}` at the start of `s`.
fn is_repetition(s: &str) -> bool {
    let Some(end) = s.find('}') else {
        return false;
    };
    let inner = &s[1..end];
    let (a, b) = inner.split_once(',').unwrap_or((inner, "0"));
    !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
}

/// Translates a regex, or says why it cannot be used.
fn translate(p: &str) -> Result<String, regex::Error> {
    let t = go_regex_compat(p);
    regex::bytes::RegexBuilder::new(&t)
        .size_limit(16 << 20)
        .build()
        .map(|_| t)
}

/// The spellings of a case-insensitive keyword that are searched for.
pub fn keyword_variants(k: &str) -> Vec<String> {
    let mut out = vec![
        k.to_string(),
        k.to_ascii_lowercase(),
        k.to_ascii_uppercase(),
    ];
    let lower = k.to_ascii_lowercase();
    let mut cap = lower.clone();
    if let Some(f) = cap.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    out.push(cap);
    out.sort();
    out.dedup();
    out
}

/// Placeholder filters from one allowlist: regexes over the secret, and over the match.
#[derive(Default, Clone)]
struct Allow {
    secret: Vec<String>,
    matched: Vec<String>,
}

impl Allow {
    fn extend(&mut self, o: &Allow) {
        self.secret.extend(o.secret.iter().cloned());
        self.matched.extend(o.matched.iter().cloned());
    }
}

/// Allowlist entries that apply to one rule. `regexTarget = "line"` is applied to the match:
/// a dump has no lines, and the match is the nearest thing.
fn allowlist_regexes(al: &Table, rule_id: &str, warnings: &mut Vec<String>) -> Allow {
    let mut out = Allow::default();
    if al.get("condition").and_then(Value::as_str) == Some("AND") {
        warnings.push(format!(
            "rule {rule_id}: allowlist with condition AND is applied as OR (paths and commits do not exist in a dump)"
        ));
    }
    let on_match = matches!(
        al.get("regexTarget").and_then(Value::as_str),
        Some("match") | Some("line")
    );
    for r in strings(al.get("regexes")) {
        let r = match translate(&r) {
            Ok(r) => r,
            Err(e) => {
                warnings.push(format!(
                    "rule {rule_id}: allowlist regex skipped ({e}): {r}"
                ));
                continue;
            }
        };
        if on_match {
            out.matched.push(r);
        } else {
            out.secret.push(r);
        }
    }
    // gitleaks stopwords are substrings of the secret, compared case-insensitively.
    for w in strings(al.get("stopwords")) {
        out.secret.push(format!("(?i){}", regex::escape(&w)));
    }
    out
}

fn allowlists(t: &Table) -> Vec<&Table> {
    let mut out = Vec::new();
    if let Some(Value::Table(a)) = t.get("allowlist") {
        out.push(a);
    }
    if let Some(Value::Array(a)) = t.get("allowlists") {
        out.extend(a.iter().filter_map(Value::as_table));
    }
    out
}

/// Translates a parsed gitleaks configuration.
pub fn import(doc: Table, source: &str) -> Result<Loaded, GitleaksError> {
    let mut warnings = Vec::new();
    if doc
        .get("extend")
        .and_then(Value::as_table)
        .is_some_and(|e| !e.is_empty())
    {
        warnings.push(
            "[extend] is ignored: dumpguard's built-in pack is always loaded, gitleaks' default pack is not"
                .into(),
        );
    }
    // Global allowlists: those without targetRules apply to every rule of this file.
    let mut global = Allow::default();
    let mut targeted: Vec<(Vec<String>, Allow)> = Vec::new();
    for al in allowlists(&doc) {
        let regs = allowlist_regexes(al, "(global)", &mut warnings);
        let targets = strings(al.get("targetRules"));
        if targets.is_empty() {
            global.extend(&regs);
        } else {
            targeted.push((targets, regs));
        }
    }
    let rules = match doc.get("rules") {
        Some(Value::Array(a)) => a.as_slice(),
        None => &[],
        Some(_) => return Err(GitleaksError::RulesNotArray),
    };
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let Some(t) = r.as_table() else {
            return Err(GitleaksError::RuleNotTable(i));
        };
        let id = t
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("rule-{}", i + 1));
        let Some(regex) = t.get("regex").and_then(Value::as_str) else {
            warnings.push(format!(
                "rule {id}: skipped (no regex; path-only rules mean nothing in a dump)"
            ));
            continue;
        };
        let regex = match translate(regex) {
            Ok(r) => r,
            Err(e) => {
                // The last line of regex's message says what is wrong; the lines above
                // repeat the pattern.
                let e = e.to_string();
                let e = e.lines().last().unwrap_or("");
                warnings.push(format!("rule {id}: skipped (regex does not compile: {e})"));
                continue;
            }
        };
        let declared = strings(t.get("keywords"));
        let (usable, short): (Vec<String>, Vec<String>) = declared
            .into_iter()
            .partition(|k| k.len() >= 3 && k.len() <= super::spec::MAX_KEYWORD);
        let keywords: Vec<String> = usable.iter().flat_map(|k| keyword_variants(k)).collect();
        if keywords.is_empty() {
            warnings.push(format!(
                "rule {id}: skipped (no keyword of 3..={} characters: every rule needs a specific literal anchor for the single pass)",
                super::spec::MAX_KEYWORD
            ));
            continue;
        }
        if !short.is_empty() {
            warnings.push(format!(
                "rule {id}: keywords {short:?} too short to anchor on, dropped; the rule runs only where its other keywords occur"
            ));
        }
        if t.contains_key("required") {
            warnings.push(format!(
                "rule {id}: `required` (composite rule) is ignored; the rule runs alone"
            ));
        }
        if t.contains_key("path") {
            warnings.push(format!(
                "rule {id}: `path` is ignored (dumps have no paths)"
            ));
        }
        let mut allow = global.clone();
        for al in allowlists(t) {
            allow.extend(&allowlist_regexes(al, &id, &mut warnings));
        }
        for (targets, regs) in &targeted {
            if targets.iter().any(|x| x == &id) {
                allow.extend(regs);
            }
        }
        let severity = match t.get("severity").and_then(Value::as_str) {
            Some(s) => Severity::parse(s).ok_or_else(|| GitleaksError::Severity {
                rule: id.clone(),
                given: s.into(),
            })?,
            None => Severity::High,
        };
        let secret_group = t
            .get("secretGroup")
            .and_then(Value::as_integer)
            .filter(|g| *g > 0)
            .map(|g| g.to_string());
        out.push(RuleSpec {
            name: t
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or(&id)
                .to_string(),
            kind: id.clone(),
            id,
            severity,
            description: String::new(),
            pattern: regex,
            secret_group,
            keywords,
            keywords_hex: Vec::new(),
            min_entropy: t
                .get("entropy")
                .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64))),
            validator: None,
            noisy: false,
            window_before: None,
            window_after: None,
            context_after: None,
            preview_prefix: 0,
            allow: allow.secret,
            allow_match: allow.matched,
            examples: Vec::new(),
            negative_examples: Vec::new(),
            examples_hex: Vec::new(),
            negative_examples_hex: Vec::new(),
            source: source.to_string(),
        });
    }
    Ok(Loaded {
        rules: out,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_literal_braces_are_escaped() {
        assert_eq!(go_regex_compat(r"^\$(?:\d+|{\d+})$"), r"^\$(?:\d+|\{\d+})$");
        assert_eq!(go_regex_compat(r"a{2,3}[{}]\{x"), r"a{2,3}[{}]\{x");
        assert_eq!(
            go_regex_compat(r"^\{\{[ \t]*[\w ().|]+[ \t]*}}$"),
            r"^\{\{[ \t]*[\w ().|]+[ \t]*}}$"
        );
        assert!(regex::Regex::new(&go_regex_compat(r"^\$(?:\d+|{\d+})$")).is_ok());
    }

    #[test]
    fn variants_cover_common_spellings() {
        assert_eq!(
            keyword_variants("akia"),
            vec!["AKIA".to_string(), "Akia".into(), "akia".into()]
        );
    }

    #[test]
    fn imports_rules_allowlists_and_skips_what_cannot_work() {
        let doc: Table = toml::from_str(
            r#"
title = "org pack"
[extend]
useDefault = true
[allowlist]
stopwords = ["example"]
[[rules]]
id = "acme-token"
description = "Acme API token"
regex = '''acme_([a-z0-9]{32})'''
secretGroup = 1
entropy = 3.0
keywords = ["acme_"]
[[rules.allowlists]]
regexes = ['''^0+$''']
[[rules]]
id = "no-keywords"
regex = '''x'''
[[rules]]
id = "path-only"
path = '''\.pem$'''
keywords = ["x"]
"#,
        )
        .unwrap();
        let l = import(doc, "org.toml").unwrap();
        assert_eq!(l.rules.len(), 1);
        let r = &l.rules[0];
        assert_eq!(r.id, "acme-token");
        assert_eq!(r.name, "Acme API token");
        assert_eq!(r.secret_group.as_deref(), Some("1"));
        assert_eq!(r.min_entropy, Some(3.0));
        assert_eq!(r.severity, Severity::High);
        assert!(r.keywords.contains(&"ACME_".to_string()));
        assert_eq!(r.allow, vec!["(?i)example".to_string(), "^0+$".into()]);
        assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
    }
}
