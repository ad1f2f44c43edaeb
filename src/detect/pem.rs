//! PEM private keys, in ASCII and UTF-16LE, with lines broken by `\n`, `\r\n`, JSON-escaped
//! `\n`, or not at all (docs/key-formats.md §3.1). The payload is decoded and handed to the DER
//! decoders, so a PEM key is verified and fingerprinted exactly like a binary one.

use super::text::{self, Encoding};
use super::{der_key_finding, Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::{KeyInfo, Status, Verdict};
use crate::report::Finding;

pub struct Pem;

const BEGIN: &[u8] = text::PEM_BEGIN;
/// Longest body we follow: PKCS#8 of RSA-16384 is about 12 KiB of base64.
const MAX_BODY: usize = 64 * 1024;
const MAX_LABEL: usize = 48;
/// The smallest private key (Ed25519 PKCS#8) is 48 bytes = 64 base64 characters.
const MIN_BODY: usize = 64;

/// How a PEM label's payload is decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Payload {
    Der,
    OpenSsh,
    Pgp,
}

fn classify(label: &[u8]) -> Option<Payload> {
    Some(match label {
        b"RSA PRIVATE KEY"
        | b"PRIVATE KEY"
        | b"EC PRIVATE KEY"
        | b"DSA PRIVATE KEY"
        | b"ENCRYPTED PRIVATE KEY"
        | b"ANY PRIVATE KEY" => Payload::Der,
        b"OPENSSH PRIVATE KEY" => Payload::OpenSsh,
        b"PGP PRIVATE KEY BLOCK" => Payload::Pgp,
        _ => return None,
    })
}

impl Detector for Pem {
    fn name(&self) -> &'static str {
        "pem"
    }

    fn family(&self) -> Family {
        Family::Keys
    }

    fn describe(&self) -> &'static str {
        "PEM private-key armour of every label, ASCII and UTF-16LE"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Encoding::ALL
            .iter()
            .enumerate()
            .map(|(i, e)| Anchor {
                bytes: e.encode(BEGIN),
                tag: i as u32,
            })
            .collect()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let enc = Encoding::ALL[tag as usize];
        // Most PEM blocks in memory are certificates and public keys. Classify the label on
        // a short view first: a UTF-16LE view copies every character it covers, and a full
        // one per certificate made UTF-16 text scan at a third of the speed of ASCII.
        let head = text::view(cx.data, pos, BEGIN.len() + MAX_LABEL + 5, enc);
        match text::pem_begin(&head, MAX_LABEL) {
            Some(b) if classify(b.label).is_some() => {}
            _ => return,
        }
        // Read as much text as the armour needs, no more (UTF-16 views are copies): most
        // anchors are decided within the first view.
        const FULL: usize = MAX_BODY + 1024;
        for max in text::staged_views(FULL) {
            let t = text::view(cx.data, pos, max, enc);
            if max < FULL && t.len() == max && runs_past_view(&t) {
                continue;
            }
            if let Some(f) = parse(&t, pos, enc) {
                sink.push(f);
            }
            return;
        }
    }
}

/// True when a private-key armour at the start of `t` may continue past the end of `t` (its
/// body or END line is not complete within it), so a longer view is needed to decide.
fn runs_past_view(t: &[u8]) -> bool {
    let Some(begin) = text::pem_begin(t, MAX_LABEL) else {
        return false;
    };
    let Some(payload) = classify(begin.label) else {
        return false;
    };
    let (label_len, body_start) = (begin.label.len(), begin.body_start);
    let rest = &t[body_start..];
    let (skip, _) = armour_headers(payload, rest);
    let body = text::base64_body(&rest[skip..], MAX_BODY);
    // The END line is `-----END <label>-----`: it must fit in the view to be seen.
    body_start + skip + body.consumed + label_len + 14 >= t.len()
}

fn parse(t: &[u8], pos: usize, enc: Encoding) -> Option<Finding> {
    let begin = text::pem_begin(t, MAX_LABEL)?;
    let payload = classify(begin.label)?;
    let label_str = String::from_utf8_lossy(begin.label).into_owned();
    let body_start = begin.body_start;
    let rest = &t[body_start..];

    let (skip, dek_info) = armour_headers(payload, rest);
    let body = text::base64_body(&rest[skip..], MAX_BODY);
    let after_body = body_start + skip + body.consumed;
    let end_marker = format!("-----END {label_str}-----");
    let complete = t[after_body..].starts_with(end_marker.as_bytes());
    let end_chars = if complete {
        after_body + end_marker.len()
    } else {
        after_body
    };

    let mut encoding = format!("pem{}", enc.suffix());
    if body.json_escaped {
        encoding.push_str("-json-escaped");
    }
    let offset = pos as u64;
    let length = (end_chars * enc.stride()) as u64;
    // A label with (almost) no body is a string constant in code, not a key.
    if body.chars.len() < MIN_BODY {
        return None;
    }
    let der = text::decode_base64(&body.chars).unwrap_or_default();
    let preview = |fmt: &str| {
        format!(
            "-----BEGIN {label_str}----- [{} bytes of {fmt}, redacted]{}",
            der.len(),
            if complete {
                ""
            } else {
                " (no END line: truncated)"
            }
        )
    };

    if let Some(dek) = dek_info {
        let v = Verdict {
            material: None,
            status: Status::Encrypted,
            verification: format!(
                "legacy PEM encryption ({dek}); cannot be verified without the password"
            ),
            key: KeyInfo {
                algorithm: label_str.split(' ').next().unwrap_or("unknown").into(),
                format: Some("PEM legacy encrypted".into()),
                ..Default::default()
            },
            spki: None,
        };
        let mut f = Finding::key(
            "pem",
            encoding,
            offset,
            length,
            &v,
            preview("encrypted data"),
        );
        // The encrypted body has no public key to fingerprint; its hash still names it, so a
        // published example (rules/known-test-keys.txt, `der-sha256:`) can be recognised.
        if !der.is_empty() {
            f.content_hash = Some(crate::keys::fingerprint::sha256_fingerprint(&der));
        }
        return Some(f);
    }

    match payload {
        Payload::Der => {
            der_key_finding("pem", &encoding, offset, length, &der, preview).or_else(|| {
                let v = unparsed(
                    &label_str,
                    "PEM body does not decode as a private-key structure",
                );
                Some(Finding::key(
                    "pem",
                    encoding.clone(),
                    offset,
                    length,
                    &v,
                    preview("undecodable data"),
                ))
            })
        }
        Payload::OpenSsh | Payload::Pgp => {
            // The wrapper decoders verify what they can; the generic verdict below is for
            // bodies they do not understand.
            let decoded = if payload == Payload::OpenSsh {
                super::openssh::decode(&der).map(|d| (d.verdict, d.format))
            } else {
                super::pgp::decode_transferable(&der)
            };
            if let Some((v, what)) = decoded {
                return Some(Finding::key(
                    "pem",
                    encoding,
                    offset,
                    length,
                    &v,
                    preview(&what),
                ));
            }
            let (alg, why) = if payload == Payload::OpenSsh {
                if der.starts_with(b"openssh-key-v1\0") {
                    ("OpenSSH", "openssh-key-v1 private key container")
                } else {
                    (
                        "OpenSSH",
                        "OPENSSH PRIVATE KEY armour whose body is not openssh-key-v1",
                    )
                }
            } else {
                ("OpenPGP", "OpenPGP private key block")
            };
            let v = Verdict {
                material: None,
                status: Status::Unverifiable,
                verification: format!("{why}; key math not checked by this detector"),
                key: KeyInfo {
                    algorithm: alg.into(),
                    format: Some(label_str.clone()),
                    ..Default::default()
                },
                spki: None,
            };
            Some(Finding::key(
                "pem",
                encoding,
                offset,
                length,
                &v,
                preview(alg),
            ))
        }
    }
}

fn unparsed(label: &str, why: &str) -> Verdict {
    Verdict {
        material: None,
        status: Status::Corrupted,
        verification: why.into(),
        key: KeyInfo {
            algorithm: label
                .split(' ')
                .next()
                .filter(|w| *w != "PRIVATE")
                .unwrap_or("unknown")
                .into(),
            format: Some(label.into()),
            ..Default::default()
        },
        spki: None,
    }
}

/// Header lines between the BEGIN line and the body: legacy OpenSSL encryption headers
/// ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ..."), or for OpenPGP its own (`Comment:`,
/// `Version:`). Returns bytes skipped and the DEK-Info cipher when legacy-encrypted.
fn armour_headers(payload: Payload, rest: &[u8]) -> (usize, Option<String>) {
    if payload == Payload::Pgp {
        (super::pgp::armor_headers_len(rest), None)
    } else {
        legacy_headers(rest)
    }
}

/// RFC 1421 headers are two short lines ("Proc-Type: 4,ENCRYPTED", "DEK-Info: <cipher>,<iv>");
/// bounding them keeps a hostile run of "Proc-Type:" lines from costing each anchor the whole
/// view.
const MAX_HEADER_LINES: usize = 8;
const MAX_HEADER_LINE: usize = 256;

/// Skips RFC 1421 header lines after the BEGIN line. Returns bytes skipped (at most
/// `rest.len()`) and the DEK-Info cipher when the key is legacy-encrypted.
fn legacy_headers(rest: &[u8]) -> (usize, Option<String>) {
    let trimmed = rest
        .iter()
        .take_while(|c| matches!(c, b'\r' | b'\n'))
        .count();
    if !rest[trimmed..].starts_with(b"Proc-Type:") {
        return (0, None);
    }
    let mut i = trimmed;
    let mut dek = None;
    // Header lines end at an empty line.
    for _ in 0..MAX_HEADER_LINES {
        if i >= rest.len() {
            break;
        }
        let window = &rest[i..rest.len().min(i + MAX_HEADER_LINE)];
        let Some(p) = window.iter().position(|&c| c == b'\n') else {
            // No line break within a header line's length: the headers end here.
            break;
        };
        let line_end = i + p; // < rest.len(): a newline was found there
        let line = &rest[i..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return (line_end + 1, dek.or(Some("unknown cipher".into())));
        }
        if let Some(v) = line.strip_prefix(b"DEK-Info:") {
            let v = String::from_utf8_lossy(v);
            dek = Some(v.trim().split(',').next().unwrap_or("").to_string());
        }
        i = line_end + 1;
    }
    (i.min(rest.len()), dek.or(Some("unknown cipher".into())))
}
