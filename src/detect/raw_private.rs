//! Private integers of a proven key, found again elsewhere in raw form.
//!
//! A process that loaded a PEM key keeps its integers apart from the PEM: d big-endian in a
//! freed decode buffer, p and q as little-endian limbs in a BIGNUM, Java `int[]` words, Go
//! 63-bit words. Once the scan has proven a key from an encoding that holds it whole (DER,
//! PEM, base64), every private integer of it is known exactly, so those copies are found by an
//! exact search — no divisibility search is needed — and reported as findings of that key
//! (its fingerprint; verified, because the bytes equal a component of a proven key). Copies
//! inside the key's own findings (the DER's big-endian d) are not reported again.

use super::{Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::limbs::{self, Repr};
use crate::keys::residue::{self, Secret};
use crate::keys::{Status, Verdict};
use crate::report::Finding;
use aho_corasick::{AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use rayon::prelude::*;
use std::collections::HashMap;

mod sampled;

pub struct RawPrivate;

const NAME: &str = "raw-private-integer";
/// Raw copies reported per key (a Java heap holds thousands; the redaction finds the rest).
const MAX_PER_KEY: usize = 64;
/// Decode attempts over the main pass's findings.
const MAX_DECODES: usize = 256;

/// Bytes searched between two page releases of the whole-dump pass (one slice per thread is
/// resident at a time).
const SLICE: usize = 16 << 20;
/// Matches kept from the whole-dump pass (a hostile dump can repeat a value millions of times;
/// at most `MAX_PER_KEY` per key are reported anyway).
const MAX_HITS: usize = 1 << 16;

const REPRS: [Repr; 4] = [Repr::Be, Repr::Le, Repr::JavaWords, Repr::Go63];

impl Detector for RawPrivate {
    fn name(&self) -> &'static str {
        NAME
    }

    fn family(&self) -> Family {
        Family::Raw
    }

    fn describe(&self) -> &'static str {
        "raw copies of the private integers of keys proven elsewhere in the dump"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}

    fn finish(&self, cx: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
        // The proven keys, each with the finding that proves it and its material.
        let mut keys: Vec<(Secret, &Finding)> = Vec::new();
        let mut tries = 0;
        for f in &found.findings {
            let Some(fp) = f.fingerprint.as_deref() else {
                continue;
            };
            if !f.verified || f.key.is_none() || keys.iter().any(|(s, _)| s.fingerprint == fp) {
                continue;
            }
            if keys.len() >= residue::MAX_SECRETS || tries >= MAX_DECODES {
                break;
            }
            tries += 1;
            // A key a wrapper detector proved (CNG, JWK, OpenSSH ...) comes with its material;
            // keys found as raw integers are that family's own findings, not copies of them.
            let handed = f
                .material
                .as_ref()
                .filter(|_| super::family_of(&f.detector) != Some(Family::Raw));
            let secret = match handed {
                Some(m) => Secret::from_key(m.key(), None),
                None => {
                    let (Ok(start), Ok(len)) =
                        (usize::try_from(f.offset), usize::try_from(f.length))
                    else {
                        continue;
                    };
                    let Some(bytes) = start.checked_add(len).and_then(|e| cx.data.get(start..e))
                    else {
                        continue;
                    };
                    let Some((key, _)) = residue::decode_key(bytes) else {
                        continue;
                    };
                    Secret::from_key(&key, None)
                }
            };
            if let Some(s) = secret.filter(|s| s.fingerprint == fp) {
                keys.push((s, f));
            }
        }
        if keys.is_empty() {
            return;
        }
        // Whole values in each raw representation.
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<(usize, Repr, usize)> = Vec::new();
        for (ki, (s, _)) in keys.iter().enumerate() {
            for v in s.values() {
                let mut le = v.clone();
                le.reverse();
                let Some(l) = limbs::decode(&le, Repr::Le) else {
                    continue;
                };
                let bits = limbs::bits(&l);
                for r in REPRS {
                    let p = limbs::encode(&l, bits, r);
                    if !patterns.contains(&p) {
                        patterns.push(p);
                        owners.push((ki, r, bits));
                    }
                }
            }
        }
        // Integers of 24 bytes and more: one word every `shortest − 7` bytes is read (see
        // `sampled`); the automaton only for what sampling declines.
        let searcher = match sampled::Sampled::new(&patterns) {
            Some(s) => Search::Sampled(s),
            // A contiguous NFA, not the DFA the builder picks for few patterns: the patterns
            // are the key's integers (an RSA-8192 key gives ≈ 20 KiB of them in four forms),
            // and a DFA over random bytes needs a full transition row per pattern byte (≈ 20 MB
            // and 4% of the scan of a 19 MB core to build). Same match semantics, same hits.
            None => match AhoCorasickBuilder::new()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
            {
                Ok(ac) => Search::Automaton(ac),
                Err(_) => return,
            },
        };
        // The key's own findings: a copy inside them is already reported.
        let mut own: HashMap<&str, Vec<(u64, u64)>> = HashMap::new();
        for f in &found.findings {
            if let Some(fp) = f.fingerprint.as_deref() {
                own.entry(fp).or_default().push((f.offset, f.end()));
            }
        }
        let mut count = vec![0usize; keys.len()];
        // Whole-dump pass in slices, handing each slice's pages back when done (as the factor
        // search does): one pass over a 1.5 GB core otherwise keeps every page resident. A
        // slice is searched with an overlap of the longest pattern, and a match belongs to the
        // slice it starts in.
        let overlap = patterns.iter().map(Vec::len).max().unwrap_or(0);
        // Slices are searched on every core, a batch of one slice per thread at a time (this
        // pass runs after the parallel scan, alone: on one thread it was a fifth of a scan's
        // wall time on a 1.5 GB core), and their hits appended in slice order, so the result
        // is the sequential one; at most one batch of hits is held beyond `MAX_HITS`.
        let mut hits: Vec<(usize, usize, usize)> = Vec::new();
        let starts: Vec<usize> = (0..cx.data.len()).step_by(SLICE).collect();
        for batch in starts.chunks(rayon::current_num_threads().max(1)) {
            if hits.len() >= MAX_HITS {
                break;
            }
            let found: Vec<Vec<(usize, usize, usize)>> = batch
                .par_iter()
                .map(|&start| {
                    let end = (start + SLICE).min(cx.data.len());
                    let zero = &found.handoffs.zero_pages;
                    let v = search_slice(&searcher, cx.data, start, end, overlap, zero);
                    cx.release(start, end);
                    v
                })
                .collect();
            for h in found.into_iter().flatten() {
                if hits.len() < MAX_HITS {
                    hits.push(h);
                }
            }
        }
        for (pattern, a, b) in hits {
            let (ki, r, bits) = owners[pattern];
            let (s, proof) = &keys[ki];
            let (a, b) = (a as u64, b as u64);
            let inside = own
                .get(s.fingerprint.as_str())
                .is_some_and(|v| v.iter().any(|&(x, y)| x <= a && b <= y));
            if inside || count[ki] >= MAX_PER_KEY {
                continue;
            }
            count[ki] += 1;
            let v = Verdict {
                material: None,
                status: Status::Verified,
                verification: format!(
                    "equals a private integer of the key proven by the {} at {:#x}",
                    proof.encoding, proof.offset
                ),
                key: proof.key.clone().unwrap_or_default(),
                spki: None,
            };
            let preview = format!(
                "[{bits}-bit private integer of a proven key, {}, {} bytes, redacted]",
                r.encoding(),
                b - a
            );
            let mut f = Finding::key(NAME, r.encoding(), a, b - a, &v, preview);
            f.kind = proof.kind.clone();
            f.fingerprint = Some(s.fingerprint.clone());
            sink.push(f);
        }
    }
}

/// How the whole-dump pass looks for the integers.
enum Search<'p> {
    Sampled(sampled::Sampled<'p>),
    Automaton(aho_corasick::AhoCorasick),
}

/// The matches (pattern, start, end) starting in `[start, end)`, searched in the window that
/// reaches `overlap` (the longest pattern) further, at most [`MAX_HITS`].
///
/// Runs of all-zero pages longer than two overlaps (`zero`, ascending, from the main pass) are
/// cut out of the window but for an overlap at each edge, and the pieces left are searched
/// one by one. The same matches come out: every pattern holds a non-zero byte (an integer's
/// encoding holds its top byte) and is at most `overlap` long, so no match starts in a cut
/// interior, a match starting in a piece ends in it, and no match crosses a cut (so the
/// leftmost-longest choice in each piece is the one over the whole window).
fn search_slice(
    searcher: &Search<'_>,
    data: &[u8],
    start: usize,
    end: usize,
    overlap: usize,
    zero: &[(usize, usize)],
) -> Vec<(usize, usize, usize)> {
    let window_end = (end + overlap).min(data.len());
    let mut pieces = Vec::new();
    let mut from = start;
    let first = zero.partition_point(|&(_, z1)| z1 <= start);
    for &(z0, z1) in &zero[first..] {
        if z0 >= window_end {
            break;
        }
        let (cut0, cut1) = (
            z0.max(start) + overlap,
            z1.min(window_end).saturating_sub(overlap),
        );
        if cut0 < cut1 {
            if from < cut0 {
                pieces.push((from, cut0));
            }
            from = cut1;
        }
    }
    if from < window_end {
        pieces.push((from, window_end));
    }
    let mut v = Vec::new();
    for (ps, pe) in pieces {
        let owned = end.min(pe).saturating_sub(ps);
        if owned == 0 || v.len() >= MAX_HITS {
            continue;
        }
        let hay = &data[ps..pe];
        match searcher {
            Search::Sampled(s) => {
                for (p, a, b) in s.find(hay, owned, MAX_HITS - v.len()) {
                    v.push((p, ps + a, ps + b));
                }
            }
            Search::Automaton(ac) => {
                for m in ac.find_iter(hay) {
                    if m.start() < owned && v.len() < MAX_HITS {
                        v.push((m.pattern().as_usize(), ps + m.start(), ps + m.end()));
                    }
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::{search_slice, Search};
    use crate::keys::testkeys;

    /// Cutting the zero runs the main pass saw out of a slice finds the same matches as
    /// searching all of it: patterns that start or end with zero bytes planted at the edges
    /// of zero runs, inside short runs, across the slice's end, and in the overlap, with both
    /// searchers, every noted zero run (as `note_zero_pages` gives them) or none.
    #[test]
    fn zero_runs_cut_out_change_no_match() {
        let noise = testkeys::noise(1 << 20, 77);
        let mut data = noise.clone();
        for (z0, pages) in [
            (0x1000, 3usize),
            (0x8000, 1),
            (0x10000, 40),
            (0x40000, 2),
            (0x7e000, 4),
            (0xf0000, 16),
        ] {
            data[z0..z0 + pages * 4096].fill(0);
        }
        let mut pat_a = noise[100..164].to_vec(); // starts and ends with zeros
        pat_a[..5].fill(0);
        pat_a[60..].fill(0);
        let pat_b = noise[5000..5040].to_vec();
        let mut pat_c = noise[9000..9020].to_vec();
        pat_c[0] = 0;
        for (at, p) in [
            (0x1000 - 30, &pat_a),
            (0x4000 - 5, &pat_a),
            (0x8000 + 4096 - 5, &pat_b),
            (0x10000 + 10, &pat_a),
            (0x10000 + 40 * 4096 - 59, &pat_a),
            (0x40000 + 4096, &pat_c),
            (0x80000 - 20, &pat_b),
            (0x80000 + 100, &pat_c),
            (0xf0000 - 3, &pat_a),
        ] {
            data[at..at + p.len()].copy_from_slice(p);
        }
        let mut zero = Vec::new();
        super::super::note_zero_pages(&data, 0, &mut zero);
        assert!(zero.len() >= 5, "{zero:?}");
        let long = vec![pat_a.clone(), pat_b.clone()];
        let short = vec![pat_a, pat_b, pat_c];
        let ac = aho_corasick::AhoCorasickBuilder::new()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&short)
            .unwrap();
        let searchers = [
            Search::Sampled(super::sampled::Sampled::new(&long).unwrap()),
            Search::Automaton(ac),
        ];
        for searcher in &searchers {
            let overlap = 64;
            let mut all = 0;
            for (start, end) in [
                (0, 0x80000),
                (0x80000, 0x100000),
                (0x3000, 0x12000),
                (0, 0x100000),
            ] {
                let whole = search_slice(searcher, &data, start, end, overlap, &[]);
                let cut = search_slice(searcher, &data, start, end, overlap, &zero);
                assert_eq!(whole, cut, "slice {start:#x}..{end:#x}");
                all += whole.len();
            }
            assert!(all >= 8, "{all}");
        }
    }

    use num_bigint_dig::{BigUint, ModInverse};

    #[test]
    fn raw_integers_beside_a_der_key_are_reported_as_that_key() {
        let t = testkeys::rsa(1024, false);
        let one = BigUint::from(1u32);
        let e = BigUint::from(65537u32);
        let (p1, q1) = (&t.p - &one, &t.q - &one);
        let qinv = t.q.clone().mod_inverse(&t.p).unwrap().to_biguint().unwrap();
        let ints: Vec<Vec<u8>> = [
            &BigUint::from(0u32),
            &t.n,
            &e,
            &t.d,
            &t.p,
            &t.q,
            &(&t.d % &p1),
            &(&t.d % &q1),
            &qinv,
        ]
        .iter()
        .map(|x| x.to_bytes_be())
        .collect();
        let refs: Vec<&[u8]> = ints.iter().map(|v| v.as_slice()).collect();
        let der = crate::keys::fingerprint::integer_sequence(&refs).unwrap();
        let d_be = t.d.to_bytes_be();
        let p_le = t.p.to_bytes_le();
        let data = [
            testkeys::noise(4096, 1),
            der,
            testkeys::noise(999, 2),
            d_be.clone(),
            testkeys::noise(1001, 3),
            p_le.clone(),
            testkeys::noise(4096, 4),
        ]
        .concat();
        let d_at = (data.len() - 4096 - p_le.len() - 1001 - d_be.len()) as u64;
        let p_at = (data.len() - 4096 - p_le.len()) as u64;
        let r = crate::Scanner::new().scan_bytes("raw", &data);
        for (at, enc) in [(d_at, "be"), (p_at, "le64-limbs")] {
            let f = r
                .findings
                .iter()
                .find(|f| f.offset == at)
                .unwrap_or_else(|| panic!("no finding at {at:#x}: {:?}", r.findings));
            assert_eq!(f.fingerprint.as_deref(), Some(t.fingerprint.as_str()));
            assert!(f.verified);
            assert_eq!(f.encoding, enc);
        }
        // The DER's own big-endian d is not reported a second time.
        assert_eq!(
            r.findings
                .iter()
                .filter(|f| f.detector == "raw-private-integer" && f.offset < d_at)
                .count(),
            0
        );
    }
}
