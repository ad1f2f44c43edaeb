//! Running one rule at one anchor hit: take a bounded text window around the anchor (the raw
//! bytes, or UTF-16LE transcoded to UTF-8), run the rule's regex there, filter (entropy,
//! placeholders, validator) and map the secret back to file offsets.
//!
//! A window reports every match that lies wholly inside it and contains one of the rule's
//! keywords, so one processed anchor covers the anchors near it: the detector skips them
//! (`detect/rules.rs`), which keeps a dump dense with anchors linear in time. A match seen
//! from two windows has one offset and one fingerprint, and merges into one finding.
//!
//! Windows keep one character of real context beyond each end of their search range, so
//! boundaries (`\b`, `[^A-Za-z0-9]`) are judged on the dump's bytes, not on the window's
//! edges; a match that runs into that margin may be cut short and is dropped.

use super::compile::{CompiledRule, SecretGroup};
use super::entropy;
use super::validate::{Assessment, Candidate};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::ops::Range;

/// How the bytes at an anchor are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    /// ASCII / UTF-8 text, read as is.
    Ascii,
    /// UTF-16LE text, transcoded to UTF-8 for matching.
    Utf16Le,
    /// Binary structures (hex anchors), read as is.
    Raw,
}

impl View {
    /// The finding's `encoding`.
    pub fn encoding(self) -> &'static str {
        match self {
            View::Ascii => "ascii",
            View::Utf16Le => "utf16le",
            View::Raw => "binary",
        }
    }

    /// How an anchor looks in the dump.
    pub fn encode(self, keyword: &[u8]) -> Vec<u8> {
        match self {
            View::Utf16Le => keyword.iter().flat_map(|&b| [b, 0]).collect(),
            View::Ascii | View::Raw => keyword.to_vec(),
        }
    }
}

/// Text around an anchor, and how to get back to the file.
pub struct Window<'a> {
    pub text: Cow<'a, [u8]>,
    /// File offset of `text[0]` (byte views).
    file_start: usize,
    /// For UTF-16LE: the file offset of each text byte's code unit, plus one past the end.
    units: Option<Vec<usize>>,
    /// Index of the anchor in `text` (kept for debugging a window; nothing reads it).
    #[allow(dead_code)]
    pub anchor: usize,
    /// Where matches may lie: `text[search.start..search.end]`. Outside it on each side is at
    /// most one character of margin, then (after it) validator context.
    pub search: Range<usize>,
}

impl Window<'_> {
    /// File offset of text index `i` (`i == text.len()` is the end).
    pub fn file_offset(&self, i: usize) -> usize {
        match &self.units {
            None => self.file_start + i,
            Some(u) => u[i.min(u.len() - 1)],
        }
    }
}

/// A UTF-16 code unit that can be part of text: not NUL, not a lone control character, not
/// a surrogate (supplementary characters end a window; tokens never contain them), not a
/// noncharacter (`FFFE`/`FFFF`, which are what `ff` filler bytes read as).
fn text_unit(u: u16) -> bool {
    (u >= 0x20 || matches!(u, 0x09 | 0x0a | 0x0d)) && !(0xd800..=0xdfff).contains(&u) && u < 0xfffe
}

fn unit(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// The window around the anchor at `pos`: matches may lie from `before` characters before
/// it to `after` characters after it; validators may also read `context` characters beyond
/// that. Clamped to the dump; for UTF-16LE also stopped by anything that is not text.
pub fn window(
    data: &[u8],
    pos: usize,
    view: View,
    before: usize,
    after: usize,
    context: usize,
) -> Window<'_> {
    match view {
        View::Ascii | View::Raw => {
            let lo = pos.saturating_sub(before);
            let margin_lo = lo.saturating_sub(1);
            let hi = pos.saturating_add(after).min(data.len());
            let hic = hi.saturating_add(context.max(1)).min(data.len());
            Window {
                text: Cow::Borrowed(&data[margin_lo..hic]),
                file_start: margin_lo,
                units: None,
                anchor: pos - margin_lo,
                search: lo - margin_lo..hi - margin_lo,
            }
        }
        View::Utf16Le => {
            // One unit more than asked on each side is the margin.
            let mut lo = pos;
            for _ in 0..before + 1 {
                match lo.checked_sub(2).and_then(|p| unit(data, p)) {
                    Some(u) if text_unit(u) => lo -= 2,
                    _ => break,
                }
            }
            let back = (pos - lo) / 2;
            // The margin is there only if the walk went past `before`.
            let skip = back.saturating_sub(before);
            // Sized for the whole window up front, and ASCII units (most text) copied without
            // the UTF-8 encoder: keyword anchors hit often in UTF-16 text, and building these
            // windows unit by unit was a sixth of the CPU of scanning it.
            let limit = back + after + context.max(1);
            let mut text = Vec::with_capacity(limit);
            let mut units = Vec::with_capacity(limit + 1);
            let (mut anchor, mut start, mut end) = (0, 0, None);
            let mut at = lo;
            let mut n = 0;
            while n < limit {
                if n == skip {
                    start = text.len();
                }
                if n == back + after {
                    end = Some(text.len());
                }
                let Some(u) = unit(data, at) else { break };
                if !text_unit(u) {
                    break;
                }
                if at == pos {
                    anchor = text.len();
                }
                if u < 0x80 {
                    text.push(u as u8);
                    units.push(at);
                } else {
                    let ch = char::from_u32(u as u32).expect("not a surrogate");
                    let mut buf = [0u8; 4];
                    for &b in ch.encode_utf8(&mut buf).as_bytes() {
                        text.push(b);
                        units.push(at);
                    }
                }
                at += 2;
                n += 1;
            }
            units.push(at);
            let end = end.unwrap_or(text.len());
            Window {
                text: Cow::Owned(text),
                file_start: lo,
                units: Some(units),
                anchor,
                search: start.min(end)..end,
            }
        }
    }
}

/// One reportable match.
#[derive(Debug, Clone)]
pub struct Hit {
    pub offset: u64,
    pub length: u64,
    pub encoding: &'static str,
    pub fingerprint: String,
    pub assessment: Assessment,
    /// Redacted description (the validator's, or a default built from the rule).
    pub preview: String,
    /// Shannon entropy of the secret (bits per character); the preview already states it
    /// when the rule has a minimum.
    #[allow(dead_code)]
    pub entropy: f64,
}

/// Whether the match contains one of the rule's keywords (every match must: keywords are
/// what the scan looks for).
fn contains_keyword(rule: &CompiledRule, view: View, m: &[u8]) -> bool {
    let kws = if view == View::Raw {
        &rule.raw_keywords
    } else {
        &rule.text_keywords
    };
    kws.iter().any(|k| memchr::memmem::find(m, k).is_some())
}

fn default_preview(rule: &CompiledRule, secret: &[u8]) -> String {
    // Never more than a quarter of the secret, and only what the rule declares public.
    let show = rule.spec.preview_prefix.min(secret.len() / 4);
    if show > 0 {
        format!(
            "{}…[{} chars, redacted]",
            String::from_utf8_lossy(&secret[..show]),
            secret.len()
        )
    } else {
        format!("[{} chars, redacted]", secret.len())
    }
}

/// Runs `rule` in `w`, returning every match wholly inside the window's search range.
pub fn run(rule: &CompiledRule, w: &Window<'_>, view: View, now: i64) -> Vec<Hit> {
    let text: &[u8] = &w.text;
    // The haystack keeps the one-character margin after the search range, if there is one,
    // so trailing boundaries are judged on real bytes.
    let hay = &text[..(w.search.end + 1).min(text.len())];
    let mut hits = Vec::new();
    let mut at = w.search.start;
    // Bounded: each iteration moves `at` forward.
    while at <= w.search.end {
        let Some(caps) = rule.regex.get().captures_at(hay, at) else {
            break;
        };
        let m = caps.get(0).expect("group 0 always matches").range();
        at = if m.end > m.start { m.end } else { m.end + 1 };
        if m.end > w.search.end {
            break; // runs past the window: possibly cut short, and later ones would too
        }
        if !contains_keyword(rule, view, &text[m.clone()]) {
            continue;
        }
        let secret = match rule.secret {
            SecretGroup::Index(i) => caps.get(i).map(|g| g.range()),
            SecretGroup::FirstNonEmpty => (1..caps.len())
                .find_map(|i| caps.get(i).filter(|g| !g.is_empty()))
                .map(|g| g.range())
                .or(Some(m.clone())),
        };
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            continue;
        };
        let sbytes = &text[secret.clone()];
        if rule.allow.iter().any(|a| a.get().is_match(sbytes))
            || rule
                .allow_match
                .iter()
                .any(|a| a.get().is_match(&text[m.clone()]))
        {
            continue;
        }
        let h = entropy::shannon(sbytes);
        if rule.spec.min_entropy.is_some_and(|min| h < min) {
            continue;
        }
        let mut assessment = match rule.validator {
            Some(v) => {
                let c = Candidate {
                    text,
                    caps: &caps,
                    whole: m.clone(),
                    secret: secret.clone(),
                    now,
                };
                match v(&c) {
                    Some(a) => a,
                    None => continue,
                }
            }
            None => Assessment::unverified(format!(
                "matched rule pattern{}; this format has no offline check",
                rule.spec
                    .min_entropy
                    .map(|_| format!(" (entropy {h:.2} bits/char)"))
                    .unwrap_or_default()
            )),
        };
        let span = assessment
            .secret
            .clone()
            .filter(|s| s.start < s.end && s.end <= text.len())
            .unwrap_or(secret);
        let material: Cow<'_, [u8]> = match assessment.fingerprint_material.take() {
            Some(m) => Cow::Owned(m),
            None => Cow::Borrowed(&text[span.clone()]),
        };
        let fingerprint = format!("sha256:{}", hex::encode(Sha256::digest(&material)));
        let preview = assessment
            .preview
            .clone()
            .unwrap_or_else(|| default_preview(rule, &text[span.clone()]));
        let start = w.file_offset(span.start);
        let end = w.file_offset(span.end);
        hits.push(Hit {
            offset: start as u64,
            length: (end - start) as u64,
            encoding: view.encoding(),
            fingerprint,
            assessment,
            preview,
            entropy: h,
        });
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_window_maps_offsets_back() {
        let mut data = vec![0u8; 7];
        let s = "x=ÄB token";
        for u in s.encode_utf16() {
            data.extend(u.to_le_bytes());
        }
        data.extend([0, 0, 0xff]);
        let pos = 7 + 2 * 6; // "token"
        let w = window(&data, pos, View::Utf16Le, 64, 64, 0);
        assert_eq!(&*w.text, s.as_bytes());
        assert_eq!(w.anchor, 7); // 'Ä' is two bytes of UTF-8
        assert_eq!(w.search, 0..w.text.len());
        assert_eq!(w.file_offset(w.anchor), pos);
        assert_eq!(w.file_offset(0), 7);
        assert_eq!(w.file_offset(w.text.len()), 7 + 2 * s.chars().count());
        // Two characters before, two after: one more each side is margin.
        let w = window(&data, pos, View::Utf16Le, 2, 2, 0);
        assert_eq!(&*w.text, b"B toke");
        assert_eq!(&w.text[w.search.clone()], b" tok");
    }

    #[test]
    fn byte_window_is_clamped_with_margins() {
        let data = b"abcdefghij";
        let w = window(data, 1, View::Ascii, 10, 10, 0);
        assert_eq!(&*w.text, b"abcdefghij");
        assert_eq!(w.search, 0..10);
        assert_eq!(w.anchor, 1);
        let w = window(data, 5, View::Ascii, 2, 2, 0);
        assert_eq!(&*w.text, b"cdefgh");
        assert_eq!(&w.text[w.search.clone()], b"defg");
        assert_eq!(w.file_offset(w.search.start), 3);
        let w = window(data, 5, View::Ascii, 2, 2, 3);
        assert_eq!(&*w.text, b"cdefghij");
    }
}
