//! `dumpguard rules check`: every rule's examples behave as declared, through the same scan
//! path a dump takes (anchors, window, regex, entropy, validator, finding). Positive examples
//! must be found in ASCII *and* in UTF-16LE, with the same fingerprint in both, and the
//! finding's preview must not contain the secret; negative examples must give nothing.
//!
//! It lives with the scan engine, not in the rule engine, because it runs scans: the rule
//! engine sits below the detectors and the engine and must not reach up to them.

use super::{Engine, Limits};
use crate::detect::rules::Rules;
use crate::input::Dump;
use crate::report::Finding;
use crate::rules::compile::RuleSet;
use crate::rules::spec::RuleSpec;
use std::sync::Arc;

/// The outcome for one rule.
#[derive(Debug, Default)]
pub struct RuleCheck {
    /// The rule's id.
    pub id: String,
    /// The file the rule came from.
    pub source: String,
    /// Positive examples that matched, as they must.
    pub positives: usize,
    /// Negative examples that did not match, as they must not.
    pub negatives: usize,
    /// What makes the rule unfit (an example that fails, a secret outside its anchors).
    pub failures: Vec<String>,
    /// What is doubtful but not fatal.
    pub warnings: Vec<String>,
}

impl RuleCheck {
    /// Whether the rule may be used: no failures.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Built-in rules must carry at least this many positive and negative examples.
pub const MIN_EXAMPLES: usize = 2;

fn scan(engine: &Engine, bytes: &[u8]) -> Vec<Finding> {
    let dump = Dump::from_slice(bytes);
    engine
        .scan(&dump, &[], &Limits::default(), &|_| {})
        .findings
}

/// Memory around an example: NULs, as strings sit in a heap.
fn planted(example: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 16];
    v.extend_from_slice(example);
    v.extend_from_slice(&[0u8; 16]);
    v
}

fn utf16(s: &str) -> Vec<u8> {
    let mut v = vec![0u8; 16];
    for u in s.encode_utf16() {
        v.extend(u.to_le_bytes());
    }
    v.extend_from_slice(&[0u8; 16]);
    v
}

fn short(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).take(48).collect();
    format!("{s:?}")
}

/// The bytes a finding points at (its secret, as stored), for the preview check.
fn secret_in(bytes: &[u8], f: &Finding) -> Vec<u8> {
    let s = bytes
        .get(f.offset as usize..(f.offset + f.length) as usize)
        .unwrap_or(&[]);
    if f.encoding == "utf16le" {
        s.chunks_exact(2)
            .filter(|c| c[1] == 0)
            .map(|c| c[0])
            .collect()
    } else {
        s.to_vec()
    }
}

fn check_one(spec: &RuleSpec) -> RuleCheck {
    let mut rc = RuleCheck {
        id: spec.id.clone(),
        source: spec.source.clone(),
        ..Default::default()
    };
    let set = match RuleSet::compile(vec![spec.clone()], Vec::new(), true) {
        Ok(s) => s,
        Err(e) => {
            rc.failures.push(e.to_string());
            return rc;
        }
    };
    let engine = Engine::with_detectors(vec![Box::new(Rules::new(Arc::new(set)))]);
    let mine = |fs: Vec<Finding>| -> Vec<Finding> {
        fs.into_iter()
            .filter(|f| f.token.as_ref().is_some_and(|t| t.rule == spec.id))
            .collect()
    };
    let text_rule = !spec.keywords.is_empty();

    for ex in &spec.examples {
        rc.positives += 1;
        let a = planted(ex.as_bytes());
        let fa = mine(scan(&engine, &a));
        let Some(first) = fa.first() else {
            rc.failures
                .push(format!("example not found (ASCII): {}", short(ex)));
            continue;
        };
        let secret = secret_in(&a, first);
        if secret.len() >= 8
            && fa.iter().any(|f| {
                f.preview
                    .as_bytes()
                    .windows(secret.len())
                    .any(|w| w == secret)
            })
        {
            rc.failures
                .push(format!("preview reveals the secret: {}", short(ex)));
        }
        if text_rule {
            let u = utf16(ex);
            let fu = mine(scan(&engine, &u));
            match fu.first() {
                None => rc
                    .failures
                    .push(format!("example not found (UTF-16LE): {}", short(ex))),
                Some(g) if g.fingerprint != first.fingerprint => rc.failures.push(format!(
                    "ASCII and UTF-16LE fingerprints differ: {}",
                    short(ex)
                )),
                Some(_) => {}
            }
        }
    }
    for ex in &spec.negative_examples {
        rc.negatives += 1;
        if !mine(scan(&engine, &planted(ex.as_bytes()))).is_empty() {
            rc.failures
                .push(format!("negative example matched (ASCII): {}", short(ex)));
        }
        if text_rule && !mine(scan(&engine, &utf16(ex))).is_empty() {
            rc.failures.push(format!(
                "negative example matched (UTF-16LE): {}",
                short(ex)
            ));
        }
    }
    for (hexes, positive) in [
        (&spec.examples_hex, true),
        (&spec.negative_examples_hex, false),
    ] {
        for h in hexes {
            let Ok(b) = hex::decode(h.split_whitespace().collect::<String>()) else {
                rc.failures
                    .push(format!("example is not hex: {}", short(h)));
                continue;
            };
            let found = !mine(scan(&engine, &planted(&b))).is_empty();
            if positive {
                rc.positives += 1;
                if !found {
                    rc.failures
                        .push(format!("binary example not found ({} bytes)", b.len()));
                }
            } else {
                rc.negatives += 1;
                if found {
                    rc.failures.push(format!(
                        "binary negative example matched ({} bytes)",
                        b.len()
                    ));
                }
            }
        }
    }
    if rc.positives < MIN_EXAMPLES || rc.negatives < MIN_EXAMPLES {
        let msg = format!(
            "{} positive and {} negative examples (at least {MIN_EXAMPLES} of each expected)",
            rc.positives, rc.negatives
        );
        if spec.source.starts_with("builtin:") {
            rc.failures.push(msg);
        } else {
            rc.warnings.push(msg);
        }
    }
    rc
}

/// Checks every rule of `set` (noisy ones too).
pub fn check(set: &RuleSet) -> Vec<RuleCheck> {
    set.rules.iter().map(|r| check_one(&r.spec)).collect()
}
