//! The HTML report: one self-contained file (inline CSS and JavaScript, no network) that a
//! security team opens in the morning. It holds the summary, a sortable table of the dumps
//! with findings (new ones highlighted), and per dump a picture of its file layout and address
//! space with where each finding sits. It is built only from the JSON Lines records, which
//! carry no secret bytes (fingerprints, locations, redacted previews), and every string from a
//! dump (paths, member names, module names) is escaped.

use super::layout::Layout;
use super::record::{Record, Resolved};
use super::summary::{human_bytes, Summary};
use crate::report::Finding;
use crate::report::Severity;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Entries listed in the "not scanned completely" section (the counts cover all of them).
const MAX_PROBLEMS: usize = 500;
/// Dumps listed per key in the per-key view, and places listed per dump (the counts cover
/// all of them).
const MAX_KEY_DUMPS: usize = 20;
const MAX_PLACES: usize = 6;
/// Keys listed in the per-key view (the most severe and new first).
const MAX_KEYS: usize = 2000;

/// Collects what the report shows while the lines stream by.
#[derive(Default)]
pub struct Html {
    dumps: Vec<Record>,
    resolved: Vec<Resolved>,
    problems: Vec<(String, String, String)>,
    problems_total: usize,
    /// The per-key view: every fingerprint seen in this sweep.
    keys: BTreeMap<String, KeyView>,
}

/// One key (by fingerprint) over the whole sweep: where it was seen, since when, and whether
/// it is new since the previous sweep.
struct KeyView {
    kind: crate::report::Kind,
    severity: Severity,
    verified: bool,
    known_key: Option<String>,
    /// Why it is suppressed (baseline or allowlist), when every sighting is.
    suppressed: Option<String>,
    all_suppressed: bool,
    blocking: bool,
    first_seen: String,
    last_seen: String,
    /// Every sighting first seen after the previous sweep (and no dump held it then).
    all_new: bool,
    /// Every dump it was seen in, with (file offset, where) of its first [`MAX_PLACES`]
    /// sightings there; only the first [`MAX_KEY_DUMPS`] dumps keep their places.
    dumps: BTreeMap<String, Vec<(u64, String)>>,
    sightings_total: u64,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => crate::report::escape::push_visible(&mut o, c),
        }
    }
    o
}

fn sev_rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

fn sev_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#b71c1c",
        Severity::High => "#e65100",
        Severity::Medium => "#f9a825",
        Severity::Low => "#607d8b",
    }
}

fn span_color(kind: char) -> &'static str {
    match kind {
        'm' => "#90caf9",
        'p' => "#b39ddb",
        's' => "#a5d6a7",
        _ => "#d6d6d6",
    }
}

fn span_kind(kind: char) -> &'static str {
    match kind {
        'm' => "memory",
        'p' => "physical memory",
        's' => "stream / note",
        _ => "header",
    }
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

impl Html {
    pub fn add(&mut self, r: &Record) {
        self.resolved.extend(r.sweep.resolved.iter().cloned());
        let problem = match r.sweep.status.as_str() {
            "failed" => Some(r.sweep.reason.clone().unwrap_or_default()),
            "scanned" | "unchanged" if !r.input.complete => Some(r.input.warnings.join("; ")),
            _ => None,
        };
        if let Some(why) = problem {
            self.problems_total += 1;
            if self.problems.len() < MAX_PROBLEMS {
                self.problems
                    .push((r.input.path.clone(), r.sweep.status.to_string(), why));
            }
        }
        if r.is_dump() && !r.findings.is_empty() {
            self.add_keys(r);
            self.dumps.push(r.clone());
        }
    }

    fn add_keys(&mut self, r: &Record) {
        for f in &r.findings {
            let Some(fp) = &f.fingerprint else { continue };
            let st = r.sweep.findings.iter().find(|s| s.id == f.id);
            let k = self.keys.entry(fp.clone()).or_insert_with(|| KeyView {
                kind: f.kind.clone(),
                severity: f.severity,
                verified: f.verified,
                known_key: f.known_key.clone(),
                suppressed: None,
                all_suppressed: true,
                blocking: false,
                first_seen: String::new(),
                last_seen: String::new(),
                all_new: true,
                dumps: BTreeMap::new(),
                sightings_total: 0,
            });
            if f.severity > k.severity {
                k.severity = f.severity;
                k.kind = f.kind.clone();
            }
            k.verified |= f.verified;
            match &f.suppressed {
                Some(sup) => {
                    k.suppressed
                        .get_or_insert_with(|| format!("{}: {}", sup.by, sup.reason));
                }
                None => k.all_suppressed = false,
            }
            k.blocking |= r.blocks(f);
            if let Some(st) = st {
                k.all_new &= st.new;
                if !st.first_seen.is_empty()
                    && (k.first_seen.is_empty() || st.first_seen < k.first_seen)
                {
                    k.first_seen = st.first_seen.clone();
                }
                if st.last_seen > k.last_seen {
                    k.last_seen = st.last_seen.clone();
                }
            }
            k.sightings_total += f.occurrences.max(1);
            let listed = k.dumps.len() < MAX_KEY_DUMPS;
            let places = k.dumps.entry(r.input.path.clone()).or_default();
            if listed && places.len() < MAX_PLACES {
                places.push((f.offset, where_of(f)));
            }
        }
    }

    /// The whole document.
    pub fn render(&self, s: &Summary, generated_at: &str) -> String {
        let mut dumps: Vec<&Record> = self.dumps.iter().collect();
        // New first, then the most severe, then by path.
        dumps.sort_by(|a, b| {
            let key = |r: &Record| {
                (
                    std::cmp::Reverse(new_count(r) > 0),
                    std::cmp::Reverse(max_sev(r).map(sev_rank).unwrap_or(0)),
                )
            };
            key(a)
                .cmp(&key(b))
                .then_with(|| a.input.path.cmp(&b.input.path))
        });
        let mut o = String::with_capacity(64 << 10);
        o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        o.push_str("<title>dumpguard sweep report</title><style>");
        o.push_str(CSS);
        o.push_str("</style></head><body>\n");
        self.render_summary(&mut o, s, generated_at);
        render_table(&mut o, &dumps);
        self.render_keys(&mut o);
        o.push_str("<section id=\"dumps\"><h2>Where the findings sit</h2>\n");
        o.push_str(LEGEND);
        for (i, r) in dumps.iter().enumerate() {
            render_dump(&mut o, i, r);
        }
        o.push_str("</section>\n");
        self.render_resolved(&mut o);
        self.render_problems(&mut o, s);
        o.push_str("<script>");
        o.push_str(JS);
        o.push_str("</script></body></html>\n");
        o
    }

    fn render_summary(&self, o: &mut String, s: &Summary, generated_at: &str) {
        let _ = write!(
            o,
            "<header><h1>dumpguard sweep</h1><p class=\"meta\">generated {}",
            esc(generated_at)
        );
        match &s.run {
            Some(r) => {
                let _ = write!(
                    o,
                    " · roots {} · shard {} · run {}{} · {} read in {:.1} s",
                    esc(&r.roots.join(", ")),
                    esc(&r.shard),
                    r.run,
                    if r.resumed { " (resumed)" } else { "" },
                    human_bytes(r.bytes_scanned),
                    r.elapsed_ms as f64 / 1000.0
                );
            }
            None => {
                let _ = write!(o, " · merged from {} shard outputs", s.merged_from.len());
            }
        }
        o.push_str("</p></header>\n<section id=\"summary\"><div class=\"cards\">");
        let card = |o: &mut String, n: u64, label: &str, class: &str| {
            let _ = write!(
                o,
                "<div class=\"card {class}\"><b>{n}</b><span>{}</span></div>",
                esc(label)
            );
        };
        let sv = |k: &str| s.by_severity.get(k).copied().unwrap_or(0);
        card(
            o,
            s.keys.new,
            "new keys/secrets since last sweep",
            if s.keys.new > 0 { "new" } else { "" },
        );
        card(o, s.keys.distinct, "distinct keys/secrets", "");
        let blocked = s.by_verdict.get("BLOCK").copied().unwrap_or(0);
        card(
            o,
            blocked,
            "dumps the policy BLOCKs",
            if blocked > 0 { "crit" } else { "" },
        );
        card(
            o,
            sv("critical"),
            "critical findings",
            if sv("critical") > 0 { "crit" } else { "" },
        );
        card(
            o,
            sv("high"),
            "high findings",
            if sv("high") > 0 { "high" } else { "" },
        );
        card(o, s.dumps_with_findings, "dumps with findings", "");
        card(o, s.secrets.resolved, "resolved", "");
        card(o, s.dumps, "dumps swept", "");
        card(
            o,
            s.incomplete + s.count("failed"),
            "not fully scanned",
            if s.incomplete + s.count("failed") > 0 {
                "warn"
            } else {
                ""
            },
        );
        o.push_str(
            "</div>\n<div class=\"cols\"><table class=\"small\"><caption>Entries</caption><tbody>",
        );
        let _ = write!(
            o,
            "<tr><td>entries accounted for</td><td class=\"n\">{}</td></tr>",
            s.entries
        );
        for (k, n) in &s.by_status {
            let _ = write!(o, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(k));
        }
        let _ = write!(
            o,
            "<tr><td>dump bytes</td><td class=\"n\">{}</td></tr><tr><td>distinct fingerprints</td><td class=\"n\">{}</td></tr></tbody></table>",
            human_bytes(s.dump_bytes),
            s.distinct_fingerprints
        );
        o.push_str("<table class=\"small\"><caption>Findings by severity</caption><tbody>");
        for k in ["critical", "high", "medium", "low"] {
            let _ = write!(
                o,
                "<tr><td><span class=\"sev {k}\">{k}</span></td><td class=\"n\">{}</td></tr>",
                sv(k)
            );
        }
        o.push_str(
            "</tbody></table><table class=\"small\"><caption>Findings by kind</caption><tbody>",
        );
        for (k, n) in &s.by_kind {
            let _ = write!(o, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(k));
        }
        o.push_str("</tbody></table></div>\n<table class=\"sortable\" id=\"folders\"><caption>By share / folder</caption><thead><tr>");
        o.push_str("<th>folder</th><th data-sort=\"num\">dumps</th><th data-sort=\"num\">with findings</th><th data-sort=\"num\">findings</th><th data-sort=\"num\">critical</th><th data-sort=\"num\">high</th><th data-sort=\"num\">new</th></tr></thead><tbody>");
        for (f, c) in &s.by_folder {
            let g = |k: &str| c.by_severity.get(k).copied().unwrap_or(0);
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(f), c.dumps, c.dumps_with_findings, c.findings, g("critical"), g("high"), c.new_secrets
            );
        }
        o.push_str("</tbody></table></section>\n");
    }

    /// The per-key view: one row per fingerprint, where it was seen, first and last seen, and
    /// whether it is new since the previous sweep (a key some dump held then is not).
    fn render_keys(&self, o: &mut String) {
        o.push_str("<section id=\"keys\"><h2>Keys and secrets, by fingerprint</h2>");
        if self.keys.is_empty() {
            o.push_str("<p>No key or secret with a fingerprint.</p></section>\n");
            return;
        }
        let resolved: BTreeSet<&str> = self.resolved.iter().map(|r| r.secret_id.as_str()).collect();
        let is_new = |fp: &str, k: &KeyView| k.all_new && !resolved.contains(fp);
        let mut keys: Vec<(&String, &KeyView)> = self.keys.iter().collect();
        keys.sort_by_key(|(fp, k)| {
            (
                std::cmp::Reverse(is_new(fp, k)),
                std::cmp::Reverse(sev_rank(k.severity)),
                std::cmp::Reverse(k.dumps.len()),
            )
        });
        let _ = write!(
            o,
            "<p class=\"hint\">{} distinct fingerprints; a key is new when no dump held it at the previous sweep. First and last seen come from the sweep state (runs recorded in SQLite).</p>",
            keys.len()
        );
        o.push_str("<table class=\"sortable\" id=\"key-table\"><thead><tr><th>fingerprint</th><th>kind</th><th data-sort=\"num\">severity</th><th>policy</th><th data-sort=\"num\">dumps</th><th data-sort=\"num\">sightings</th><th>where (dump: file offset and region)</th><th>first seen</th><th>last seen</th></tr></thead><tbody>");
        for (fp, k) in keys.iter().take(MAX_KEYS) {
            let new = is_new(fp, k);
            let policy = if k.blocking {
                "<span class=\"verdict block\">blocks</span>".to_string()
            } else if k.all_suppressed {
                format!(
                    "<span class=\"supp\" title=\"{}\">suppressed</span>",
                    esc(k.suppressed.as_deref().unwrap_or(""))
                )
            } else {
                "below threshold".to_string()
            };
            let mut places = String::new();
            for (d, at) in k.dumps.iter().take(MAX_KEY_DUMPS) {
                let at: Vec<String> = at
                    .iter()
                    .map(|(off, w)| {
                        format!(
                            "<code>{off:#x}</code>{}",
                            if w.is_empty() {
                                String::new()
                            } else {
                                format!(" {}", esc(w))
                            }
                        )
                    })
                    .collect();
                let _ = write!(
                    places,
                    "<li><span class=\"path\">{}</span>: {}</li>",
                    esc(d),
                    at.join(", ")
                );
            }
            if k.dumps.len() > MAX_KEY_DUMPS {
                let _ = write!(
                    places,
                    "<li>… and {} more dumps</li>",
                    k.dumps.len() - MAX_KEY_DUMPS
                );
            }
            let _ = write!(
                o,
                "<tr class=\"{}\"><td><code>{}</code>{}{}</td><td>{}{}</td><td data-v=\"{}\"><span class=\"sev {}\">{}</span></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><ul class=\"where\">{}</ul></td><td>{}</td><td>{}</td></tr>",
                if new { "new" } else { "" },
                esc(fp),
                if new { " <span class=\"badge\">NEW</span>" } else { "" },
                if k.verified { " <span class=\"ok\">verified</span>" } else { "" },
                esc(k.kind.as_str()),
                k.known_key.as_deref().map(|x| format!(" <i>(known: {})</i>", esc(x))).unwrap_or_default(),
                sev_rank(k.severity),
                k.severity.as_str(),
                k.severity.as_str(),
                policy,
                k.dumps.len(),
                k.sightings_total,
                places,
                esc(&k.first_seen),
                esc(&k.last_seen),
            );
        }
        o.push_str("</tbody></table>");
        if keys.len() > MAX_KEYS {
            let _ = write!(
                o,
                "<p>… and {} more keys (see the JSON Lines output).</p>",
                keys.len() - MAX_KEYS
            );
        }
        o.push_str("</section>\n");
    }

    fn render_resolved(&self, o: &mut String) {
        if self.resolved.is_empty() {
            return;
        }
        o.push_str("<section id=\"resolved\"><h2>Resolved since the last sweep</h2><table class=\"sortable\"><thead><tr><th>dump</th><th>kind</th><th>severity</th><th>fingerprint</th><th>first seen</th><th>last seen</th><th>resolved</th></tr></thead><tbody>");
        for r in &self.resolved {
            let _ = write!(
                o,
                "<tr><td class=\"path\">{}</td><td>{}</td><td data-v=\"{}\"><span class=\"sev {}\">{}</span></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.dump),
                esc(r.kind.as_str()),
                sev_rank(r.severity),
                r.severity.as_str(),
                r.severity.as_str(),
                esc(r.fingerprint.as_deref().unwrap_or(&r.secret_id)),
                esc(&r.first_seen),
                esc(&r.last_seen),
                esc(&r.resolved_at)
            );
        }
        o.push_str("</tbody></table></section>\n");
    }

    fn render_problems(&self, o: &mut String, s: &Summary) {
        o.push_str("<section id=\"problems\"><h2>Not scanned completely</h2>");
        if !s.reasons.is_empty() {
            o.push_str("<p>");
            let rs: Vec<String> = s
                .reasons
                .iter()
                .map(|(k, n)| format!("{} ×{n}", esc(k)))
                .collect();
            o.push_str(&rs.join(" · "));
            o.push_str("</p>");
        }
        if self.problems.is_empty() {
            o.push_str("<p>Every dump was scanned completely.</p></section>\n");
            return;
        }
        o.push_str("<table class=\"sortable\"><thead><tr><th>entry</th><th>status</th><th>why</th></tr></thead><tbody>");
        for (p, st, why) in &self.problems {
            let _ = write!(
                o,
                "<tr><td class=\"path\">{}</td><td>{}</td><td class=\"why\">{}</td></tr>",
                esc(p),
                esc(st),
                esc(why)
            );
        }
        o.push_str("</tbody></table>");
        if self.problems_total > self.problems.len() {
            let _ = write!(
                o,
                "<p>… and {} more (see the JSON Lines output).</p>",
                self.problems_total - self.problems.len()
            );
        }
        o.push_str("</section>\n");
    }
}

/// Distinct secrets of this dump first seen since the last sweep.
fn new_count(r: &Record) -> usize {
    let mut ids: Vec<&str> = r
        .sweep
        .findings
        .iter()
        .filter(|f| f.new)
        .map(|f| f.secret_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

fn max_sev(r: &Record) -> Option<Severity> {
    r.findings.iter().map(|f| f.severity).max()
}

fn is_new(r: &Record, f: &Finding) -> bool {
    r.sweep.findings.iter().any(|s| s.id == f.id && s.new)
}

fn first_seen<'a>(r: &'a Record, f: &Finding) -> &'a str {
    r.sweep
        .findings
        .iter()
        .find(|s| s.id == f.id)
        .map(|s| s.first_seen.as_str())
        .unwrap_or("")
}

fn render_table(o: &mut String, dumps: &[&Record]) {
    o.push_str("<section id=\"table\"><h2>Dumps with findings</h2>");
    if dumps.is_empty() {
        o.push_str("<p>No dump holds a finding.</p></section>\n");
        return;
    }
    o.push_str("<p class=\"hint\">Click a column to sort. Rows with findings new since the last sweep are highlighted.</p>");
    o.push_str("<table class=\"sortable\" id=\"dump-table\"><thead><tr><th>dump</th><th data-sort=\"num\">max severity</th><th data-sort=\"num\">findings</th><th data-sort=\"num\">critical</th><th data-sort=\"num\">high</th><th data-sort=\"num\">new secrets</th><th>policy verdict</th><th>kinds</th><th>format</th><th data-sort=\"num\">size</th><th>first seen</th></tr></thead><tbody>");
    for (i, r) in dumps.iter().enumerate() {
        let count = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
        let mut kinds: Vec<&str> = r.findings.iter().map(|f| f.kind.as_str()).collect();
        kinds.sort();
        kinds.dedup();
        let ms = max_sev(r).unwrap_or(Severity::Low);
        let new = new_count(r);
        let first = r
            .sweep
            .findings
            .iter()
            .map(|f| f.first_seen.as_str())
            .filter(|s| !s.is_empty())
            .min()
            .unwrap_or("");
        let _ = write!(
            o,
            "<tr class=\"{}\"><td class=\"path\"><a href=\"#d{i}\">{}</a>{}</td><td data-v=\"{}\"><span class=\"sev {}\">{}</span></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\" data-v=\"{new}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\" data-v=\"{}\">{}</td><td>{}</td></tr>",
            if new > 0 { "new" } else { "" },
            esc(&r.input.path),
            if r.input.complete {
                ""
            } else {
                " <span class=\"inc\" title=\"scan incomplete: see the warnings\">incomplete</span>"
            },
            sev_rank(ms),
            ms.as_str(),
            ms.as_str(),
            r.findings.len(),
            count(Severity::Critical),
            count(Severity::High),
            if new > 0 { format!("<span class=\"badge\">NEW</span> {new}") } else { "0".into() },
            verdict_badge(r),
            esc(&kinds.join(", ")),
            esc(&r.input.format),
            r.input.size,
            human_bytes(r.input.size),
            esc(first)
        );
    }
    o.push_str("</tbody></table></section>\n");
}

/// Where a finding sits: its region, with the module when the region does not name it.
fn where_of(f: &Finding) -> String {
    f.location
        .as_ref()
        .map(|l| {
            let mut w = l.region.clone();
            if let Some(m) = &l.module {
                if !w.contains(m.as_str()) {
                    w.push_str(&format!(" ({m})"));
                }
            }
            if let Some(m) = &l.member {
                w.push_str(&format!(" [in {m}]"));
            }
            w
        })
        .unwrap_or_default()
}

/// The policy's verdict on a dump, as a badge (its reasons in the tooltip).
fn verdict_badge(r: &Record) -> String {
    match &r.sweep.verdict {
        Some(v) => format!(
            "<span class=\"verdict {}\" title=\"{}\">{}</span>",
            if v.verdict == "ALLOW" {
                "allow"
            } else {
                "block"
            },
            esc(&v.reasons.join("\n")),
            esc(&v.verdict)
        ),
        None => "<span class=\"meta\">not judged</span>".into(),
    }
}

/// What the policy makes of one finding.
fn disposition(r: &Record, f: &Finding) -> String {
    if let Some(s) = &f.suppressed {
        format!(
            "<span class=\"supp\">suppressed</span> by {}: {}",
            esc(&s.by),
            esc(&s.reason)
        )
    } else if r.blocks(f) {
        "<span class=\"verdict block\">blocks</span>".into()
    } else {
        "below threshold".into()
    }
}

fn render_dump(o: &mut String, i: usize, r: &Record) {
    let new = new_count(r) > 0;
    let layout = r.sweep.layout();
    let _ = write!(
        o,
        "<div class=\"dump{}\" id=\"d{i}\"><h3>{}{} {}</h3><p class=\"meta\">{} · {} · {} region(s) pictured{}</p>",
        if new { " new" } else { "" },
        if new { "<span class=\"badge\">NEW</span> " } else { "" },
        esc(&r.input.path),
        verdict_badge(r),
        esc(&r.input.format),
        human_bytes(r.input.size),
        layout.as_ref().map_or(0, |l| l.spans.len()),
        r.input.description.as_deref().map(|d| format!(" · {}", esc(d))).unwrap_or_default()
    );
    file_strip(o, r, layout.as_ref());
    address_strip(o, r, layout.as_ref());
    o.push_str("<table class=\"findings\"><thead><tr><th>id</th><th>severity</th><th>kind</th><th>status</th><th>encoding</th><th>file offset</th><th>address</th><th>where</th><th>fingerprint</th><th>policy</th><th>first seen</th></tr></thead><tbody>");
    for f in &r.findings {
        let loc = f.location.as_ref();
        let where_ = where_of(f);
        let _ = write!(
            o,
            "<tr class=\"{}\"><td>{}{}</td><td><span class=\"sev {}\">{}</span></td><td>{}{}</td><td>{}</td><td>{}</td><td><code>{:#x}</code></td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            if is_new(r, f) { "new" } else { "" },
            esc(&f.id),
            if is_new(r, f) { " <span class=\"badge\">NEW</span>" } else { "" },
            f.severity.as_str(),
            f.severity.as_str(),
            esc(f.kind.as_str()),
            f.known_key.as_deref().map(|k| format!(" <i>(known: {})</i>", esc(k))).unwrap_or_default(),
            esc(f.status.as_str()),
            esc(&f.encoding),
            f.offset,
            esc(&loc.and_then(|l| l.address).map(|a| format!("{a:#x}")).unwrap_or_default()),
            esc(&where_),
            esc(f.fingerprint.as_deref().unwrap_or("")),
            disposition(r, f),
            esc(first_seen(r, f))
        );
    }
    o.push_str("</tbody></table></div>\n");
}

const W: f64 = 1000.0;

fn marker(o: &mut String, x: f64, w: f64, f: &Finding, new: bool, title: &str) {
    let w = w.max(3.0);
    let x = x.clamp(0.0, W - w);
    let _ = write!(
        o,
        "<g class=\"mark{}\"><title>{}</title><rect x=\"{x:.1}\" y=\"0\" width=\"{w:.1}\" height=\"34\" fill=\"{}\"{}/><path d=\"M{:.1} 0 l5 -0 l-5 8 l-5 -8z\" fill=\"{}\"/></g>",
        if new { " new" } else { "" },
        esc(title),
        sev_color(f.severity),
        if new { " stroke=\"#000\" stroke-width=\"1\"" } else { "" },
        x + w / 2.0,
        sev_color(f.severity)
    );
}

fn finding_title(f: &Finding) -> String {
    let loc = f.location.as_ref();
    format!(
        "{} {} {} ({}) at file offset {:#x}{}{}",
        f.id,
        f.severity.as_str(),
        f.kind,
        f.status,
        f.offset,
        loc.and_then(|l| l.address)
            .map(|a| format!(", address {a:#x}"))
            .unwrap_or_default(),
        loc.map(|l| format!(", {}", l.region)).unwrap_or_default()
    )
}

/// The file, left to right: regions coloured by kind, findings as markers.
fn file_strip(o: &mut String, r: &Record, layout: Option<&Layout>) {
    let size = r.input.size.max(1) as f64;
    let _ = write!(o, "<div class=\"strip\"><span class=\"axis\">file layout · 0 – {}</span><svg viewBox=\"0 -2 {W} 38\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"file layout of {}\"><rect x=\"0\" y=\"8\" width=\"{W}\" height=\"22\" fill=\"#f4f4f4\" stroke=\"#ccc\"/>", human_bytes(r.input.size), esc(&r.input.path));
    if let Some(l) = layout {
        for s in &l.spans {
            let x = s.off as f64 / size * W;
            let w = (s.len as f64 / size * W).max(0.3);
            let _ = write!(
                o,
                "<rect x=\"{x:.2}\" y=\"8\" width=\"{w:.2}\" height=\"22\" fill=\"{}\"><title>{}: {} · file {:#x}+{:#x}{}</title></rect>",
                span_color(s.kind),
                span_kind(s.kind),
                esc(&s.label),
                s.off,
                s.len,
                s.addr.as_deref().map(|a| format!(" · address {}", esc(a))).unwrap_or_default()
            );
        }
    }
    for f in &r.findings {
        let x = f.offset as f64 / size * W;
        let w = f.length as f64 / size * W;
        marker(o, x, w, f, is_new(r, f), &finding_title(f));
    }
    o.push_str("</svg></div>");
}

/// Memory regions in address order, each as wide as its share of the bytes, gaps between
/// non-adjacent ranges drawn as thin separators; findings placed by their address.
fn address_strip(o: &mut String, r: &Record, layout: Option<&Layout>) {
    let Some(l) = layout else { return };
    let mut mem: Vec<(u64, u64, &str)> = l
        .spans
        .iter()
        .filter(|s| matches!(s.kind, 'm' | 'p'))
        .filter_map(|s| Some((parse_hex(s.addr.as_deref()?)?, s.len, s.label.as_str())))
        .collect();
    if mem.is_empty() {
        return;
    }
    mem.sort();
    let total: u64 = mem.iter().map(|m| m.1).sum::<u64>().max(1);
    const GAP: f64 = 2.0;
    let usable = W - GAP * mem.len() as f64;
    let mut xs = Vec::with_capacity(mem.len());
    let mut x = 0.0;
    for (i, m) in mem.iter().enumerate() {
        if i > 0 && mem[i - 1].0.saturating_add(mem[i - 1].1) != m.0 {
            x += GAP;
        }
        let w = (m.1 as f64 / total as f64 * usable).max(0.3);
        xs.push((x, w));
        x += w;
    }
    let (lo, hi) = (
        mem[0].0,
        mem.last().map(|m| m.0.saturating_add(m.1)).unwrap_or(0),
    );
    let _ = write!(o, "<div class=\"strip\"><span class=\"axis\">address space · {lo:#x} – {hi:#x} (gaps collapsed)</span><svg viewBox=\"0 -2 {W} 38\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"address space\">");
    for (m, (x, w)) in mem.iter().zip(&xs) {
        let _ = write!(
            o,
            "<rect x=\"{x:.2}\" y=\"8\" width=\"{w:.2}\" height=\"22\" fill=\"#90caf9\" stroke=\"#5c8fbf\" stroke-width=\"0.3\"><title>{:#x}–{:#x} {}</title></rect>",
            m.0,
            m.0.saturating_add(m.1),
            esc(m.2)
        );
    }
    for f in &r.findings {
        let Some(a) = f.location.as_ref().and_then(|l| l.address) else {
            continue;
        };
        let idx = mem.partition_point(|m| m.0 <= a);
        if idx == 0 {
            continue;
        }
        let (start, len, _) = mem[idx - 1];
        if a >= start.saturating_add(len) {
            continue;
        }
        let (x, w) = xs[idx - 1];
        let fx = x + (a - start) as f64 / len.max(1) as f64 * w;
        marker(o, fx, 0.0, f, is_new(r, f), &finding_title(f));
    }
    o.push_str("</svg></div>");
}

const LEGEND: &str = "<p class=\"legend\"><span style=\"background:#90caf9\"></span>memory <span style=\"background:#a5d6a7\"></span>stream / note <span style=\"background:#d6d6d6\"></span>header <span style=\"background:#f4f4f4;border:1px solid #ccc\"></span>not described by the container · markers: <span style=\"background:#b71c1c\"></span>critical <span style=\"background:#e65100\"></span>high <span style=\"background:#f9a825\"></span>medium <span style=\"background:#607d8b\"></span>low (outlined: new)</p>\n";

const CSS: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1280px;padding:16px 24px;color:#222;background:#fff}
h1{margin:0 0 4px;font-size:24px}h2{margin:28px 0 8px;font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{margin:0 0 2px;font-size:15px;word-break:break-all}
.meta{color:#666;margin:0 0 8px;font-size:12px}.hint{color:#666;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px;background:#fafafa}
.card b{display:block;font-size:22px}.card span{color:#555;font-size:12px}.card.new{background:#fff8c4;border-color:#e6c200}.card.crit{background:#ffebee;border-color:#b71c1c}.card.high{background:#fff3e0;border-color:#e65100}.card.warn{background:#fff3e0}
.cols{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:600;padding:4px 0}table.small td{padding:2px 8px}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none;background:#f5f5f5}table.sortable th:hover{background:#e8e8e8}th[data-dir=asc]::after{content:" ▲"}th[data-dir=desc]::after{content:" ▼"}
td.path{word-break:break-all;max-width:520px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}#dump-table td{white-space:nowrap}#dump-table td.path{white-space:normal}tr.new td{background:#fff8c4}
.sev{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;font-size:12px;font-weight:600}.sev.critical{background:#b71c1c}.sev.high{background:#e65100}.sev.medium{background:#f9a825;color:#222}.sev.low{background:#607d8b}
.inc{background:#fff3e0;border:1px solid #e65100;color:#8a3300;border-radius:3px;padding:0 4px;font-size:11px}.badge{background:#e6c200;color:#222;border-radius:3px;padding:0 5px;font-size:11px;font-weight:700}
.dump{border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin:14px 0}.dump.new{border-color:#e6c200;box-shadow:0 0 0 2px #fff8c4}
.strip{margin:6px 0}.strip svg{width:100%;height:40px;display:block}.axis{font-size:11px;color:#666}
.legend span{display:inline-block;width:12px;height:12px;vertical-align:middle;margin:0 3px 0 10px}
code{font-size:12px;word-break:break-all}table.findings td{font-size:12px}
.verdict{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:700;border:1px solid}.verdict.block{color:#b71c1c;border-color:#b71c1c;background:#ffebee}.verdict.allow{color:#1b5e20;border-color:#1b5e20;background:#e8f5e9}
.supp{color:#555;border:1px dashed #888;border-radius:3px;padding:0 4px;font-size:11px}.ok{color:#1b5e20;font-size:11px}
ul.where{margin:0;padding-left:16px;font-size:12px}ul.where .path{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}#key-table code{font-size:11px}
"#;

const JS: &str = r#"
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('thead th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var num = th.getAttribute('data-sort') === 'num';
      var asc = th.getAttribute('data-dir') !== 'asc';
      t.querySelectorAll('thead th').forEach(function (h) { h.removeAttribute('data-dir'); });
      th.setAttribute('data-dir', asc ? 'asc' : 'desc');
      var body = t.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var val = function (r) { var c = r.cells[i]; var v = c.getAttribute('data-v'); return v !== null ? v : c.textContent; };
      rows.sort(function (a, b) {
        var x = val(a), y = val(b);
        var c = num || (x !== '' && y !== '' && !isNaN(x) && !isNaN(y)) ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_markup_sensitive() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        // Control characters are shown as visible escapes (report::escape), never emitted.
        assert_eq!(esc("a\u{0}b\nc"), "a\\x00b\\nc");
    }
}
