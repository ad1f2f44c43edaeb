//! Human output: what was found, how sure, where — readable at a glance in a terminal.

//!
//! Every line goes through [`super::escape::visible`]: most of what is printed (paths, module
//! and thread names, region labels, previews, rule kinds from rule files) comes from the dump
//! or from files, and a control character in it must never reach the terminal. The one
//! exception is the severity word's colour, which is ours: it is added after escaping.

use super::escape::visible;
use super::{Finding, Report, Severity};
use anstyle::AnsiColor;
use std::fmt::Write;

/// `writeln!` for one line of human output: the line is escaped, then ended.
macro_rules! emit {
    ($out:expr, $($arg:tt)*) => {{
        let text = format!($($arg)*);
        $out.push_str(&visible(&text));
        $out.push('\n');
    }};
}

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
                .as_str()
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
        None => f.kind.as_str().replace('-', " "),
    }
}

/// Renders one report without colour (files, pipes, tests).
pub fn render(r: &Report) -> String {
    render_styled(r, false)
}

/// The severity word, padded to one column width, coloured when `color` (a terminal asked
/// for it: see `--color`). Padding is applied before the escape codes so columns line up.
pub fn severity_label(s: Severity, color: bool) -> String {
    let word = format!("{:<8}", s.as_str().to_uppercase());
    if !color {
        return word;
    }
    let style = match s {
        Severity::Critical => AnsiColor::BrightRed.on_default().bold(),
        Severity::High => AnsiColor::Red.on_default(),
        Severity::Medium => AnsiColor::Yellow.on_default(),
        Severity::Low => AnsiColor::Cyan.on_default(),
    };
    let pad = word.len() - word.trim_end().len();
    format!("{style}{}{style:#}{}", word.trim_end(), " ".repeat(pad))
}

/// Renders one report, colouring severities when `color`.
pub fn render_styled(r: &Report, color: bool) -> String {
    let mut out = String::new();
    let i = &r.input;
    emit!(
        out,
        "{}  [{}{}, {} bytes, {} regions]",
        i.path,
        i.format,
        if i.complete { "" } else { ", INCOMPLETE" },
        i.size,
        i.regions
    );
    if let Some(d) = &i.description {
        emit!(out, "  {d}");
    }
    for w in &i.warnings {
        emit!(out, "  warning: {w}");
    }
    if r.findings.is_empty() {
        emit!(out, "  no findings");
    }
    for f in &r.findings {
        let proof = if f.verified {
            "VERIFIED"
        } else {
            f.status.as_str()
        };
        // The severity label may carry our own colour codes, so it is joined after escaping.
        let _ = writeln!(
            out,
            "  {} {} {}",
            visible(&f.id),
            severity_label(f.severity, color),
            visible(&format!("{} ({}) [{}]", what(f), f.encoding, proof))
        );
        emit!(out, "      where: {}", location(f));
        emit!(out, "      why:   {}", f.verification);
        if let Some(fp) = &f.fingerprint {
            emit!(out, "      fingerprint: {fp}");
        }
        if let Some(k) = &f.known_key {
            emit!(out, "      known: {k}");
        }
        emit!(out, "      preview: {}", f.preview);
        if let Some(sup) = &f.suppressed {
            emit!(out, "      suppressed by {}: {}", sup.by, sup.reason);
        }
        if f.occurrences > 1 {
            let encodings: std::collections::BTreeSet<&str> =
                f.locations.iter().map(|l| l.encoding.as_str()).collect();
            emit!(
                out,
                "      seen:  {} times ({}; first {} locations in the JSON report)",
                f.occurrences,
                encodings.into_iter().collect::<Vec<_>>().join(", "),
                f.locations.len()
            );
        }
    }
    let s = &r.summary;
    emit!(
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
