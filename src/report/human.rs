//! Human output: what was found, how sure, where — readable at a glance in a terminal.

use super::{Finding, Report};
use std::fmt::Write;

fn location(f: &Finding) -> String {
    let mut s = format!("file offset {:#x}", f.offset);
    if let Some(m) = f.location.as_ref().and_then(|l| l.member.as_ref()) {
        s = format!("member {m}, {s}");
    }
    if let Some(l) = &f.location {
        if let Some(a) = l.address {
            let _ = write!(s, ", address {a:#x}");
        }
        if !l.region.is_empty() {
            let _ = write!(s, ", {}", l.region);
        }
    }
    s
}

fn what(f: &Finding) -> String {
    match &f.key {
        Some(k) => {
            let mut s = k.algorithm.clone();
            if let Some(c) = &k.curve {
                let _ = write!(s, " {c}");
            } else if k.bits > 0 && !k.algorithm.ends_with("25519") {
                let _ = write!(s, "-{}", k.bits);
            }
            let noun = f
                .kind
                .rsplit_once('-')
                .map(|(a, b)| (a.rsplit('-').next().unwrap_or(a), b));
            match noun {
                Some((what, last)) => {
                    let _ = write!(s, " {what} {last}");
                }
                None => {
                    let _ = write!(s, " {}", f.kind);
                }
            }
            s
        }
        None => f.kind.replace('-', " "),
    }
}

/// Renders one report.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let i = &r.input;
    let _ = writeln!(
        out,
        "{}  [{}{}, {} bytes, {} regions]",
        i.path,
        i.format,
        if i.complete { "" } else { ", INCOMPLETE" },
        i.size,
        i.regions
    );
    if let Some(d) = &i.description {
        let _ = writeln!(out, "  {d}");
    }
    for w in &i.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    if r.findings.is_empty() {
        let _ = writeln!(out, "  no findings");
    }
    for f in &r.findings {
        let proof = if f.verified { "VERIFIED" } else { &f.status };
        let _ = writeln!(
            out,
            "  {} {:<8} {} ({}) [{}]",
            f.id,
            f.severity.as_str().to_uppercase(),
            what(f),
            f.encoding,
            proof
        );
        let _ = writeln!(out, "      where: {}", location(f));
        let _ = writeln!(out, "      why:   {}", f.verification);
        if let Some(fp) = &f.fingerprint {
            let _ = writeln!(out, "      fingerprint: {fp}");
        }
        if let Some(k) = &f.known_key {
            let _ = writeln!(out, "      known: {k}");
        }
        let _ = writeln!(out, "      preview: {}", f.preview);
        if f.occurrences > 1 {
            let encodings: std::collections::BTreeSet<&str> =
                f.locations.iter().map(|l| l.encoding.as_str()).collect();
            let _ = writeln!(
                out,
                "      seen:  {} times ({}; first {} locations in the JSON report)",
                f.occurrences,
                encodings.into_iter().collect::<Vec<_>>().join(", "),
                f.locations.len()
            );
        }
    }
    let s = &r.summary;
    let _ = writeln!(
        out,
        "  summary: {} critical, {} high, {} medium, {} low; {} distinct keys; {} ms, {:.1} MB/s",
        s.by_severity.get("critical").unwrap_or(&0),
        s.by_severity.get("high").unwrap_or(&0),
        s.by_severity.get("medium").unwrap_or(&0),
        s.by_severity.get("low").unwrap_or(&0),
        s.distinct_fingerprints,
        s.elapsed_ms,
        s.bytes_per_second as f64 / 1e6
    );
    out
}
