//! Deduplication and ordering of findings, so the same input gives the same report.

use crate::report::Finding;

/// Sorts findings by position and drops (a) exact repeats and (b) a finding nested inside
/// another one that describes the same key (the PKCS#1 inside a PKCS#8, the bare base64 that
/// is also a PEM body): the outer finding already covers those bytes.
pub fn dedup(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| {
        (a.offset, std::cmp::Reverse(a.length), &a.detector, &a.kind).cmp(&(
            b.offset,
            std::cmp::Reverse(b.length),
            &b.detector,
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
        let covered = out
            .iter()
            .rev()
            .take(16)
            .any(|o| o.offset <= f.offset && o.end() >= f.end() && same_key(o));
        if !covered {
            out.push(f);
        }
    }
    out
}
