//! Deduplication and ordering of findings, so the same input gives the same report.

use crate::report::Finding;

/// Sorts findings by position and drops (a) exact repeats and (b) a finding nested inside
/// another one that describes the same key (the PKCS#1 inside a PKCS#8, the bare base64 that
/// is also a PEM body): the outer finding already covers those bytes. Token findings are
/// merged by fingerprint first: one secret seen many times is one finding.
pub fn dedup(findings: Vec<Finding>) -> Vec<Finding> {
    let (tokens, keys): (Vec<Finding>, Vec<Finding>) =
        findings.into_iter().partition(|f| f.token.is_some());
    let mut out = dedup_keys(keys);
    out.extend(merge_tokens(tokens));
    out.sort_by(|a, b| {
        (a.offset, std::cmp::Reverse(a.length), &a.detector, &a.kind).cmp(&(
            b.offset,
            std::cmp::Reverse(b.length),
            &b.detector,
            &b.kind,
        ))
    });
    out
}

/// One finding per token fingerprint, with its occurrences. Merging happens in file order so
/// the result does not depend on how chunks were scheduled.
fn merge_tokens(mut tokens: Vec<Finding>) -> Vec<Finding> {
    tokens.sort_by(|a, b| {
        (a.offset, &a.encoding, &a.detector).cmp(&(b.offset, &b.encoding, &b.detector))
    });
    let mut by_fp: std::collections::BTreeMap<String, Finding> = Default::default();
    for f in tokens {
        let fp = f.fingerprint.clone().unwrap_or_default();
        match by_fp.get_mut(&fp) {
            Some(o) => o.absorb(f),
            None => {
                by_fp.insert(fp, f);
            }
        }
    }
    by_fp.into_values().collect()
}

fn dedup_keys(mut findings: Vec<Finding>) -> Vec<Finding> {
    // At one place, the verified reading first (a partial key completed with a modulus from
    // elsewhere is reported again, verified, at the place of its unverifiable first report).
    findings.sort_by(|a, b| {
        (
            a.offset,
            std::cmp::Reverse(a.length),
            &a.detector,
            !a.verified,
            &a.kind,
        )
            .cmp(&(
                b.offset,
                std::cmp::Reverse(b.length),
                &b.detector,
                !b.verified,
                &b.kind,
            ))
    });
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        let same_key = |o: &Finding| match (&o.fingerprint, &f.fingerprint) {
            (Some(a), Some(b)) => a == b,
            (None, None) => o.kind == f.kind,
            _ => false,
        };
        let same_place =
            |o: &Finding| o.offset == f.offset && o.length == f.length && o.detector == f.detector;
        // The encrypted key bags of a PKCS#12 file are what the `pkcs12` finding reports
        // (opened or not); the DER detector's reading of each bag adds nothing.
        let bag_of_pfx = |o: &Finding| o.detector == "pkcs12" && f.status == "encrypted";
        // A key opened with a default password carries the hash of its encrypted bytes: the
        // encrypted reading of those bytes nested in it (its PEM's bare base64 body) is it.
        let same_bytes = |o: &Finding| o.content_hash.is_some() && o.content_hash == f.content_hash;
        let covered = out.iter().rev().take(16).any(|o| {
            (o.offset <= f.offset
                && o.end() >= f.end()
                && (same_key(o) || bag_of_pfx(o) || same_bytes(o)))
                || (same_place(o) && o.verified && !f.verified)
        });
        if !covered {
            out.push(f);
        }
    }
    out
}
