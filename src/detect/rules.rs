//! The rule pack as one detector: every enabled rule's keywords, in ASCII and UTF-16LE (and
//! binary keywords as raw bytes), join the engine's single aho-corasick pass. On a hit, the
//! rules that own that keyword run over a bounded window around it (`rules::matcher`).
//!
//! Token findings of one secret seen many times are merged (here, cheaply, for repeats close
//! together; then across the whole dump in `scan/dedup.rs`): one finding, an occurrence count
//! and the first locations.

use super::{Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::Status;
use crate::report::{Finding, Kind, TokenInfo};
use crate::rules::matcher::{self, Hit, View};
use crate::rules::{CompiledRule, RuleSet};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// One anchor: a keyword in one view, and the rules that own it.
struct Target {
    view: View,
    rules: Vec<usize>,
    before: usize,
    after: usize,
    context: usize,
}

/// Window characters (times rules run on them) one chunk may search before windows stop
/// overlapping. Ordinary dumps stay far below it; a chunk built to be dense with anchors
/// (`eyJeyJeyJ…`, `::::`) then costs linear time instead of anchors × window.
const CHUNK_BUDGET: usize = super::CHUNK_SIZE;
/// What one regex search costs beyond its window, counted as characters.
const WINDOW_OVERHEAD: usize = 256;

/// Per-chunk state: where each target's next anchor needs a window of its own.
pub(crate) struct ChunkState {
    next: Vec<usize>,
    spent: usize,
}

pub struct Rules {
    set: Arc<RuleSet>,
    targets: Vec<Target>,
    anchors: Vec<Vec<u8>>,
}

/// How many recent findings a new token finding is compared with before being pushed; a
/// secret repeated in one area of memory merges early and keeps sinks small.
const MERGE_LOOKBACK: usize = 32;

impl Rules {
    pub fn new(set: Arc<RuleSet>) -> Rules {
        let mut by_anchor: BTreeMap<(Vec<u8>, View), Vec<usize>> = BTreeMap::new();
        for (i, r) in set.rules.iter().enumerate().filter(|(_, r)| r.enabled) {
            for k in &r.text_keywords {
                for v in [View::Ascii, View::Utf16Le] {
                    by_anchor.entry((v.encode(k), v)).or_default().push(i);
                }
            }
            for k in &r.raw_keywords {
                by_anchor.entry((k.clone(), View::Raw)).or_default().push(i);
            }
        }
        let mut targets = Vec::new();
        let mut anchors = Vec::new();
        for ((bytes, view), mut rules) in by_anchor {
            rules.dedup();
            let rs: Vec<&CompiledRule> = rules.iter().map(|&i| &set.rules[i]).collect();
            targets.push(Target {
                view,
                before: rs.iter().map(|r| r.before).max().unwrap_or(0),
                after: rs.iter().map(|r| r.after).max().unwrap_or(0),
                context: rs.iter().map(|r| r.context).max().unwrap_or(0),
                rules,
            });
            anchors.push(bytes);
        }
        Rules {
            set,
            targets,
            anchors,
        }
    }

    /// The built-in pack, compiled once per process.
    pub fn builtin() -> Rules {
        static SET: OnceLock<Arc<RuleSet>> = OnceLock::new();
        Rules::new(
            SET.get_or_init(|| Arc::new(RuleSet::builtin(false)))
                .clone(),
        )
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn finding(rule: &CompiledRule, h: Hit) -> Finding {
    let a = h.assessment;
    Finding {
        material: None,
        id: String::new(),
        detector: format!("rules/{}", rule.spec.id),
        kind: Kind::token(rule.spec.kind.as_str()),
        severity: a.severity.unwrap_or(rule.spec.severity),
        verified: a.verified,
        status: if a.verified {
            Status::Verified
        } else {
            Status::Unverifiable
        },
        verification: a.verification,
        fingerprint: Some(h.fingerprint),
        encoding: h.encoding.into(),
        offset: h.offset,
        length: h.length,
        location: None,
        key: None,
        preview: h.preview,
        occurrences: 1,
        locations: Vec::new(),
        known_key: None,
        content_hash: None,
        suppressed: None,
        token: Some(TokenInfo {
            rule: rule.spec.id.clone(),
            name: rule.spec.name.clone(),
            attributes: a.attributes,
        }),
    }
}

/// Pushes a token finding, folding it into a recent finding of the same secret.
fn push_merged(sink: &mut Sink, f: Finding) {
    let n = sink.findings.len();
    if let Some(o) = sink.findings[n.saturating_sub(MERGE_LOOKBACK)..]
        .iter_mut()
        .rev()
        .find(|o| o.token.is_some() && o.fingerprint == f.fingerprint)
    {
        o.absorb(f);
    } else {
        sink.push(f);
    }
}

impl Detector for Rules {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn family(&self) -> Family {
        Family::Tokens
    }

    fn describe(&self) -> &'static str {
        "token rules: JWTs, cloud keys, API tokens, passwords in URLs"
    }

    fn anchors(&self) -> Vec<Anchor> {
        self.anchors
            .iter()
            .enumerate()
            .map(|(i, b)| Anchor {
                bytes: b.clone(),
                tag: i as u32,
            })
            .collect()
    }

    fn digest_input(&self) -> Vec<u8> {
        self.set.digest().as_bytes().to_vec()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let Some(t) = self.targets.get(tag as usize) else {
            return;
        };
        let n = self.targets.len();
        let st = sink.scratch.rules.get_or_insert_with(|| ChunkState {
            next: vec![0; n],
            spent: 0,
        });
        // An earlier window of this anchor reached past here, and reported every match
        // inside it: a match around this anchor ending within half a window was seen.
        if pos < st.next[tag as usize] {
            return;
        }
        let w = matcher::window(cx.data, pos, t.view, t.before, t.after, t.context);
        st.spent += (w.text.len() + WINDOW_OVERHEAD) * t.rules.len();
        let stride = if st.spent > CHUNK_BUDGET {
            // Over budget: windows side by side, no longer overlapping.
            t.before + t.after
        } else {
            t.after / 2
        };
        let unit = if t.view == View::Utf16Le { 2 } else { 1 };
        st.next[tag as usize] = pos + stride.max(1) * unit;
        let now = now();
        for &r in &t.rules {
            let rule = &self.set.rules[r];
            for h in matcher::run(rule, &w, t.view, now) {
                push_merged(sink, finding(rule, h));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Engine;

    fn scan(data: &[u8]) -> Vec<Finding> {
        let engine = Engine::with_detectors(vec![Box::new(Rules::builtin())]);
        let dump = crate::input::Dump::from_slice(data);
        engine
            .scan(&dump, &[], &Default::default(), &|_| {})
            .findings
    }

    /// A fake, format-valid GitHub token (test value).
    fn fake_github() -> String {
        let body = "TESTxTOKENxDUMPGUARDx012345678";
        let crc = crc32fast::hash(body.as_bytes()) as u64;
        let mut check = [b'0'; 6];
        let mut v = crc;
        for c in check.iter_mut().rev() {
            *c = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                [(v % 62) as usize];
            v /= 62;
        }
        format!("ghp_{body}{}", String::from_utf8_lossy(&check))
    }

    #[test]
    fn ascii_and_utf16_copies_merge_into_one_finding() {
        let t = fake_github();
        let mut data = vec![0u8; 100];
        data.extend(t.as_bytes());
        data.extend([0u8; 50]);
        let u16_at = data.len();
        for b in t.bytes() {
            data.extend([b, 0]);
        }
        data.extend([0u8; 50]);
        let fs = scan(&data);
        assert_eq!(fs.len(), 1, "{fs:#?}");
        let f = &fs[0];
        assert_eq!(f.kind, "github-token");
        assert!(f.verified);
        assert_eq!(f.occurrences, 2);
        assert_eq!(f.offset, 100);
        assert_eq!(f.length, 40);
        assert_eq!(f.locations[1].offset, u16_at as u64);
        assert_eq!(f.locations[1].length, 80);
        assert_eq!(f.locations[1].encoding, "utf16le");
        use sha2::{Digest, Sha256};
        assert_eq!(
            f.fingerprint.as_deref().unwrap(),
            format!("sha256:{}", hex::encode(Sha256::digest(t.as_bytes())))
        );
    }

    #[test]
    fn repeats_are_counted_across_chunks() {
        let t = fake_github();
        let mut data = Vec::new();
        let n = 300;
        let step = (crate::detect::CHUNK_SIZE * 2) / n; // spread over chunks
        for i in 0..n {
            data.resize(i * step, 0);
            data.extend(t.as_bytes());
        }
        let fs = scan(&data);
        assert_eq!(fs.len(), 1);
        assert_eq!(fs[0].occurrences, n as u64);
        assert_eq!(fs[0].locations.len(), crate::report::MAX_LOCATIONS);
        assert_eq!(fs[0].offset, 0);
    }
}
