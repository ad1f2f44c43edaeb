//! Private keys wrapped in one more transport encoding (issue #11): base64 or base64url of a
//! PEM (a Kubernetes Secret's `tls.key`, an environment variable), hex of DER (ASCII or
//! UTF-16LE, with or without `:`/space separators), a percent-encoded PEM, and a PEM whose line
//! breaks are XML entities (`&#xA;`) or JSON/YAML escapes the PEM detector cannot read
//! (`\u002B`, a doubly escaped `\\n`).
//!
//! This detector does not know any key format. It undoes one layer of encoding into a bounded
//! buffer (with, for every decoded byte, the span of text it came from) and runs the key
//! detectors that already exist (PEM, DER, bare base64, OpenSSH, JWK, XML, PuTTY, OpenPGP,
//! PKCS#12, `openssl -text`) over that buffer, itself included, so nested wrappings
//! (`base64(url(pem))`) unwrap one layer per level up to [`MAX_DEPTH`]. Their findings come
//! back with the offset and length of the *encoded* text in the dump, so the gate's redaction
//! removes exactly the text that carried the key, and with `encoding` naming the wrapping
//! (`base64(pem)`, `hex-utf16le(der)`, `url(pem)`, `json-escaped(pem)`).

use super::text::{self, Encoding};
use super::{Anchor, Detector, Family, ScanContext, Sink};
use crate::input::AddressSpace;
use crate::report::Finding;
use std::sync::OnceLock;

pub struct Encoded;

/// Most encoded characters followed from one anchor. Base64 of the PEM of an RSA-16384 key is
/// about 17,000 characters, its percent-encoded PEM at most three times its 13,000; a bundle of
/// a few certificates before the key fits too.
const MAX_TEXT: usize = 128 * 1024;
/// How far back from a base64 anchor the start of its base64 run is looked for: a key that
/// follows a few certificates in one base64 blob (a bundle) still decodes from the blob start.
const MAX_BACK: usize = 16 * 1024;
/// Encodings inside encodings are unwrapped this many levels deep, no deeper: real services
/// nest two (base64 of a JSON document holding an escaped PEM); a hostile dump may nest more.
const MAX_DEPTH: usize = 3;
/// Text ranges already decoded, remembered per chunk, at most this many: a base64 run holding
/// many `-----BEGIN` lines is decoded once, not once per line.
const MAX_DONE: usize = 64;

/// One layer of encoding, as an anchor announces it.
#[derive(Clone, Copy, Debug)]
enum Layer {
    /// Base64 or base64url of a PEM; the anchor starts `lead` characters into a quantum.
    Base64 { lead: usize },
    /// Base64url of DER (the plain base64 detector reads standard base64); the DER starts
    /// `back` characters before the anchor, the bare-base64 detector's own anchors.
    Base64Url { back: usize },
    /// Hex of DER; `sep` between bytes (0 for none).
    Hex { sep: u8 },
    /// Percent-encoding; `plus_space` when `+` stands for a space (form encoding).
    Url { plus_space: bool },
    /// XML entities or JSON/YAML escapes in PEM armour, told apart after the BEGIN line.
    Escaped,
}

const BEGIN: &[u8] = b"-----BEGIN ";

/// The anchors' text (ASCII; each also in UTF-16LE) and the layer each announces.
fn table() -> &'static [(Vec<u8>, Layer)] {
    static T: OnceLock<Vec<(Vec<u8>, Layer)>> = OnceLock::new();
    T.get_or_init(|| {
        use base64::Engine;
        let mut v = Vec::new();
        // Base64 of "-----BEGIN " in each of the three alignments, only the characters that
        // depend on those bytes alone: 14 characters, never found in ordinary base64.
        for a in 0..3usize {
            let mut raw = vec![0u8; a];
            raw.extend_from_slice(BEGIN);
            let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw);
            let first = (8 * a).div_ceil(6);
            let last = 8 * raw.len() / 6;
            v.push((
                b64.as_bytes()[first..last].to_vec(),
                Layer::Base64 { lead: first },
            ));
        }
        for (a, back) in super::base64_key::ANCHORS {
            v.push((a.as_bytes().to_vec(), Layer::Base64Url { back: *back }));
        }
        // Hex of the version INTEGER and what follows it in PKCS#1/OpenSSL DSA (`02 01 00 02`),
        // PKCS#8 v1/v2 (`02 01 0x 30`) and SEC1 (`02 01 01 04`): digits only, so the case of
        // the hex does not matter; the SEQUENCE header is looked for just before.
        for sep in [0u8, b':', b' '] {
            for bytes in [
                [2u8, 1, 0, 2],
                [2, 1, 0, 0x30],
                [2, 1, 1, 0x30],
                [2, 1, 1, 4],
            ] {
                let s: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let joined = if sep == 0 {
                    s.concat()
                } else {
                    s.join(&(sep as char).to_string())
                };
                v.push((joined.into_bytes(), Layer::Hex { sep }));
            }
        }
        v.push((b"-----BEGIN%20".to_vec(), Layer::Url { plus_space: false }));
        v.push((b"-----BEGIN+".to_vec(), Layer::Url { plus_space: true }));
        for dashes in ["%2D%2D%2D%2D%2DBEGIN", "%2d%2d%2d%2d%2dBEGIN"] {
            v.push((dashes.as_bytes().to_vec(), Layer::Url { plus_space: false }));
        }
        v.push((BEGIN.to_vec(), Layer::Escaped));
        v
    })
}

fn anchor_of(tag: u32) -> (Layer, Encoding) {
    (table()[tag as usize / 2].1, Encoding::ALL[tag as usize % 2])
}

impl Detector for Encoded {
    fn name(&self) -> &'static str {
        "encoded"
    }

    fn family(&self) -> Family {
        Family::Keys
    }

    fn describe(&self) -> &'static str {
        "keys wrapped once more: base64 of PEM, hex of DER, percent/XML/JSON escapes"
    }

    fn anchors(&self) -> Vec<Anchor> {
        own_anchors()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        for f in unwrap_at(
            cx.data,
            cx.inventory,
            pos,
            tag,
            0,
            &mut sink.scratch.encoded,
        ) {
            sink.push(f);
        }
    }
}

fn own_anchors() -> Vec<Anchor> {
    let mut v = Vec::new();
    for (i, (a, _)) in table().iter().enumerate() {
        for (e, enc) in Encoding::ALL.iter().enumerate() {
            v.push(Anchor {
                bytes: enc.encode(a),
                tag: (i * 2 + e) as u32,
            });
        }
    }
    v
}

/// One layer undone: the bytes, and for each byte the character span `[start, end)` of the
/// text view it came from.
struct Decoded {
    bytes: Vec<u8>,
    span: Vec<(u32, u32)>,
    /// Characters of the view consumed.
    consumed: usize,
    /// What the layer was: `base64`, `base64url`, `hex`, `url`, `xml-escaped`, `json-escaped`.
    name: &'static str,
}

impl Decoded {
    fn new(name: &'static str) -> Decoded {
        Decoded {
            bytes: Vec::new(),
            span: Vec::new(),
            consumed: 0,
            name,
        }
    }
    fn push(&mut self, b: u8, start: usize, end: usize) {
        self.bytes.push(b);
        self.span.push((start as u32, end as u32));
    }
}

/// Undoes the layer announced by anchor `tag` at `pos` of `data` and returns the findings of
/// the key detectors in the decoded bytes, placed on the encoded text in `data`.
fn unwrap_at(
    data: &[u8],
    inventory: &[super::PublicKeyRecord],
    pos: usize,
    tag: u32,
    depth: usize,
    done: &mut Vec<(usize, usize)>,
) -> Vec<Finding> {
    if done.iter().any(|&(s, e)| s <= pos && pos < e) {
        return Vec::new();
    }
    let (layer, enc) = anchor_of(tag);
    let stride = enc.stride();
    let Some((start, decoded)) = decode_at(data, pos, layer, enc) else {
        return Vec::new();
    };
    let findings = inner_findings(&decoded.bytes, inventory, depth);
    // A hex or base64url candidate that was not a key says nothing about the text after it; the other
    // layers decoded their whole run, and every anchor in it was seen by the inner pass.
    if !findings.is_empty() || !matches!(layer, Layer::Hex { .. } | Layer::Base64Url { .. }) {
        if done.len() >= MAX_DONE {
            done.remove(0);
        }
        done.push((start, start + decoded.consumed * stride));
    }
    let suffix = enc.suffix();
    findings
        .into_iter()
        .filter_map(|mut f| {
            let off = f.offset as usize;
            let end = off.checked_add(f.length as usize)?.min(decoded.span.len());
            if off >= end {
                return None;
            }
            let (s, e) = (
                decoded.span[off].0 as usize,
                decoded.span[end - 1].1 as usize,
            );
            f.offset = (start + s * stride) as u64;
            f.length = ((e - s) * stride) as u64;
            f.encoding = format!("{}{suffix}({})", decoded.name, f.encoding);
            f.detector = "encoded".into();
            f.locations.clear();
            Some(f)
        })
        .collect()
}

/// Finds where the encoded text starts for this anchor and decodes it: the file offset of
/// the text view and what it decoded to.
fn decode_at(data: &[u8], pos: usize, layer: Layer, enc: Encoding) -> Option<(usize, Decoded)> {
    let s = enc.stride();
    match layer {
        Layer::Base64 { lead } => {
            let quantum = pos.checked_sub(lead * s)?;
            // The run may start before the key (a bundle); start decoding at a quantum
            // boundary of it so the bytes line up with the anchor's.
            let run = text::walk_back(data, quantum, MAX_BACK, enc, is_b64_any);
            let skip = ((quantum - run) / s) % 4;
            let start = run + skip * s;
            let d = staged(data, start, enc, decode_base64)?;
            Some((start, d))
        }
        Layer::Base64Url { back } => {
            let start = pos.checked_sub(back * s)?;
            if text::walk_back(data, start, 1, enc, is_b64_any) != start {
                return None;
            }
            let d = staged(data, start, enc, decode_base64)?;
            // Standard base64 is the bare-base64 detector's; only the URL alphabet is ours.
            (d.name == "base64url").then_some((start, d))
        }
        Layer::Hex { sep } => {
            let per_byte = if sep == 0 { 2 } else { 3 };
            // The SEQUENCE header before the version: `30 82 LL LL`, `30 81 LL` or `30 LL`.
            for back in [4usize, 3, 2] {
                let Some(start) = pos.checked_sub(back * per_byte * s) else {
                    continue;
                };
                let head = text::view(data, start, back * per_byte, enc);
                let Some(h) = hex_bytes(&head, sep, back) else {
                    continue;
                };
                let fits = match back {
                    4 => h[0] == 0x30 && h[1] == 0x82,
                    3 => h[0] == 0x30 && h[1] == 0x81,
                    _ => h[0] == 0x30 && h[1] < 0x80,
                };
                if !fits {
                    continue;
                }
                if let Some(d) = staged(data, start, enc, |t| decode_hex(t, sep)) {
                    return Some((start, d));
                }
            }
            None
        }
        Layer::Url { plus_space } => {
            let d = staged(data, pos, enc, |t| decode_url(t, plus_space))?;
            Some((pos, d))
        }
        Layer::Escaped => {
            // Most BEGIN lines are plain PEM (certificates, keys the PEM detector reads):
            // decide on a short view which escaping follows the label, if any.
            let head = text::view(data, pos, BEGIN.len() + 64, enc);
            let after = head.get(BEGIN.len()..)?;
            let n = text::find(after, b"-----")?;
            let label = &after[..n];
            if n > 48 || text::find(label, b"PRIVATE").is_none() {
                return None;
            }
            let d = match after.get(n + 5)? {
                b'&' => staged(data, pos, enc, decode_xml)?,
                b'\\' => {
                    let d = staged(data, pos, enc, decode_json)?;
                    // Escapes the PEM detector reads itself (`\n`, `\r`, `\/`) need no layer.
                    if d.name.is_empty() {
                        return None;
                    }
                    d
                }
                _ => return None,
            };
            Some((pos, d))
        }
    }
}

/// Decodes with `f` over a text view grown in stages, so an anchor costs about the text it
/// uses (UTF-16 views are copies), up to [`MAX_TEXT`] characters.
fn staged(
    data: &[u8],
    start: usize,
    enc: Encoding,
    f: impl Fn(&[u8]) -> Option<Decoded>,
) -> Option<Decoded> {
    let mut last = None;
    for max in [4096, 32 * 1024, MAX_TEXT] {
        let t = text::view(data, start, max, enc);
        let d = f(&t)?;
        let more = t.len() == max && d.consumed + 8 >= t.len();
        last = Some(d);
        if !more {
            break;
        }
    }
    last
}

fn is_b64_any(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_')
}

/// Base64 or base64url, with line breaks (`\n`, `\r\n`, JSON-escaped `\n`), spaces, and JSON's
/// `\/` skipped; stops at padding or at any other character.
fn decode_base64(t: &[u8]) -> Option<Decoded> {
    use base64::engine::{
        general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig,
    };
    use base64::Engine;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let mut chars = Vec::new();
    let mut at = Vec::new();
    let mut url = false;
    let mut i = 0;
    while i < t.len() && chars.len() < MAX_TEXT {
        let c = t[i];
        let next = t.get(i + 1).copied();
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
            chars.push(c);
            at.push(i);
            i += 1;
        } else if c == b'-' || c == b'_' {
            url = true;
            chars.push(if c == b'-' { b'+' } else { b'/' });
            at.push(i);
            i += 1;
        } else if matches!(c, b'\n' | b'\r' | b' ' | b'\t') {
            i += 1;
        } else if c == b'\\' && matches!(next, Some(b'n' | b'r' | b't')) {
            i += 2;
        } else if c == b'\\' && next == Some(b'/') {
            chars.push(b'/');
            at.push(i);
            i += 2;
        } else {
            while i < t.len() && t[i] == b'=' {
                i += 1;
            }
            break;
        }
    }
    // A trailing single character carries no whole byte.
    let usable = chars.len() - usize::from(chars.len() % 4 == 1);
    let bytes = LENIENT.decode(&chars[..usable]).ok()?;
    let mut d = Decoded::new(if url { "base64url" } else { "base64" });
    for (k, b) in bytes.into_iter().enumerate() {
        let (first, last) = (8 * k / 6, (8 * k + 7) / 6);
        d.push(b, at[first], at[last.min(at.len() - 1)] + 1);
    }
    d.consumed = i;
    Some(d)
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|v| v as u8)
}

/// The first `n` bytes of hex text with separator `sep` (a quick look before decoding).
fn hex_bytes(t: &[u8], sep: u8, n: usize) -> Option<Vec<u8>> {
    let per = if sep == 0 { 2 } else { 3 };
    (0..n)
        .map(|k| {
            let p = k * per;
            if sep != 0 && k > 0 && t.get(p - 1) != Some(&sep) {
                return None;
            }
            Some(hex_val(*t.get(p)?)? << 4 | hex_val(*t.get(p + 1)?)?)
        })
        .collect()
}

/// Hex of one DER TLV: pairs of digits (either case), `sep` between them, line breaks and
/// indentation between lines (`xxd -p` wraps at 60 characters). Stops when the TLV's own
/// length is reached, so the text after it is never read.
fn decode_hex(t: &[u8], sep: u8) -> Option<Decoded> {
    let mut d = Decoded::new("hex");
    let mut want = usize::MAX;
    let mut i = 0;
    while d.bytes.len() < want && d.bytes.len() < MAX_TEXT / 2 {
        let (Some(hi), Some(lo)) = (
            t.get(i).copied().and_then(hex_val),
            t.get(i + 1).copied().and_then(hex_val),
        ) else {
            break;
        };
        d.push(hi << 4 | lo, i, i + 2);
        i += 2;
        if d.bytes.len() == 4 || (d.bytes.len() == 2 && d.bytes[1] < 0x80) {
            want = crate::keys::decode::tlv_len(&d.bytes)
                .or_else(|| der_total(&d.bytes))
                .unwrap_or(0);
        }
        if d.bytes.len() >= want {
            break;
        }
        if sep != 0 && t.get(i) == Some(&sep) {
            i += 1;
        }
        let ws = t[i.min(t.len())..]
            .iter()
            .take(16)
            .take_while(|c| matches!(c, b'\n' | b'\r' | b' ' | b'\t'))
            .count();
        i += ws;
    }
    d.consumed = i;
    (d.bytes.len() >= 8).then_some(d)
}

/// The total length a DER header announces (`tlv_len` wants the whole TLV present).
fn der_total(h: &[u8]) -> Option<usize> {
    match *h.get(1)? {
        n @ 0..=0x7f => Some(2 + n as usize),
        0x81 => Some(3 + *h.get(2)? as usize),
        0x82 => Some(4 + u16::from_be_bytes([*h.get(2)?, *h.get(3)?]) as usize),
        _ => None,
    }
}

/// Percent-encoding (`%XX`), with `+` a space in form encoding; stops at `&`, quotes, spaces
/// and anything else that ends a URL component.
fn decode_url(t: &[u8], plus_space: bool) -> Option<Decoded> {
    let mut d = Decoded::new("url");
    let mut i = 0;
    while i < t.len() && d.bytes.len() < MAX_TEXT {
        let c = t[i];
        if c == b'%' {
            let (Some(hi), Some(lo)) = (
                t.get(i + 1).copied().and_then(hex_val),
                t.get(i + 2).copied().and_then(hex_val),
            ) else {
                break;
            };
            d.push(hi << 4 | lo, i, i + 3);
            i += 3;
        } else if c == b'+' {
            d.push(if plus_space { b' ' } else { b'+' }, i, i + 1);
            i += 1;
        } else if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'/' | b'=')
        {
            d.push(c, i, i + 1);
            i += 1;
        } else {
            break;
        }
    }
    d.consumed = i;
    Some(d)
}

/// XML/HTML character references (`&#xA;`, `&#10;`) and the five named entities, in element
/// text or an attribute value; stops at `<`, a quote, or a character no PEM holds.
fn decode_xml(t: &[u8]) -> Option<Decoded> {
    let mut d = Decoded::new("xml-escaped");
    let mut i = 0;
    while i < t.len() && d.bytes.len() < MAX_TEXT {
        let c = t[i];
        if c == b'&' {
            let rest = &t[i + 1..t.len().min(i + 12)];
            let Some(semi) = rest.iter().position(|&c| c == b';') else {
                break;
            };
            let name = &rest[..semi];
            let v = match name {
                b"amp" => Some(b'&' as u32),
                b"lt" => Some(b'<' as u32),
                b"gt" => Some(b'>' as u32),
                b"quot" => Some(b'"' as u32),
                b"apos" => Some(b'\'' as u32),
                [b'#', b'x' | b'X', h @ ..] => number(h, 16),
                [b'#', n @ ..] => number(n, 10),
                _ => None,
            };
            match v {
                Some(v) if v < 0x80 && v != 0 => d.push(v as u8, i, i + 2 + semi),
                _ => break,
            }
            i += 2 + semi;
        } else if (0x20..0x7f).contains(&c) && c != b'<' && c != b'"' || matches!(c, b'\n' | b'\r')
        {
            d.push(c, i, i + 1);
            i += 1;
        } else {
            break;
        }
    }
    d.consumed = i;
    Some(d)
}

fn number(digits: &[u8], radix: u32) -> Option<u32> {
    if digits.is_empty() || digits.len() > 6 {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()
}

/// JSON and YAML double-quoted string escapes (`\n`, `\uXXXX`, `\xXX`, `\\`, `\"`, `\/`);
/// stops at the closing quote. Named empty when only escapes the PEM detector reads itself
/// were seen, so the key is not reported twice.
fn decode_json(t: &[u8]) -> Option<Decoded> {
    let mut d = Decoded::new("");
    let mut needed = false;
    let mut i = 0;
    while i < t.len() && d.bytes.len() < MAX_TEXT {
        let c = t[i];
        if c == b'\\' {
            let Some(&e) = t.get(i + 1) else { break };
            let (v, len) = match e {
                b'n' => (b'\n', 2),
                b'r' => (b'\r', 2),
                b't' => (b'\t', 2),
                b'/' => (b'/', 2),
                b'\\' | b'"' | b'\'' => (e, 2),
                b'u' | b'x' => {
                    let n = if e == b'u' { 4 } else { 2 };
                    let Some(v) = t.get(i + 2..i + 2 + n).and_then(|h| number(h, 16)) else {
                        break;
                    };
                    if v == 0 || v >= 0x80 {
                        break;
                    }
                    (v as u8, 2 + n)
                }
                _ => break,
            };
            needed |= !matches!(e, b'n' | b'r' | b't' | b'/');
            d.push(v, i, i + len);
            i += len;
        } else if (0x20..0x7f).contains(&c) && c != b'"' || matches!(c, b'\n' | b'\r') {
            d.push(c, i, i + 1);
            i += 1;
        } else {
            break;
        }
    }
    d.consumed = i;
    if needed {
        d.name = "json-escaped";
    }
    Some(d)
}

/// The detectors run over decoded bytes, and one automaton over all their anchors and ours.
struct Inner {
    detectors: Vec<Box<dyn Detector>>,
    automaton: aho_corasick::AhoCorasick,
    /// Per pattern: (index into `detectors`, or `None` for this detector; the anchor's tag).
    hits: Vec<(Option<usize>, u32)>,
}

fn inner() -> &'static Inner {
    static I: OnceLock<Inner> = OnceLock::new();
    I.get_or_init(|| {
        let detectors: Vec<Box<dyn Detector>> = vec![
            Box::new(super::pem::Pem),
            Box::new(super::der_key::DerKey),
            Box::new(super::base64_key::Base64Key),
            Box::new(super::openssh::OpenSsh),
            Box::new(super::jwk::Jwk),
            Box::new(super::dotnet_xml::DotnetXml),
            Box::new(super::putty::Putty),
            Box::new(super::pgp::Pgp),
            Box::new(super::pkcs12::Pkcs12),
            Box::new(super::openssl_text::OpensslText),
        ];
        let mut patterns = Vec::new();
        let mut hits = Vec::new();
        for (i, d) in detectors.iter().enumerate() {
            for a in d.anchors() {
                patterns.push(a.bytes);
                hits.push((Some(i), a.tag));
            }
        }
        for a in own_anchors() {
            patterns.push(a.bytes);
            hits.push((None, a.tag));
        }
        let automaton = aho_corasick::AhoCorasick::new(&patterns).expect("few short anchors");
        Inner {
            detectors,
            automaton,
            hits,
        }
    })
}

/// Findings of the key detectors in `buf` (offsets into `buf`), ours included while the
/// nesting allows. A finding inside another one about the same key is the same key seen
/// twice (the bare base64 body of a PEM) and is dropped.
fn inner_findings(buf: &[u8], inventory: &[super::PublicKeyRecord], depth: usize) -> Vec<Finding> {
    static SPACE: OnceLock<AddressSpace> = OnceLock::new();
    let cx = ScanContext {
        data: buf,
        regions: &[],
        space: SPACE.get_or_init(AddressSpace::default),
        inventory,
        pages: None,
    };
    let inner = inner();
    let mut sink = Sink::default();
    let mut done = Vec::new();
    for m in inner.automaton.find_overlapping_iter(buf) {
        let (det, tag) = inner.hits[m.pattern().as_usize()];
        match det {
            Some(i) => inner.detectors[i].on_anchor(&cx, m.start(), tag, &mut sink),
            None if depth + 1 < MAX_DEPTH => {
                let found = unwrap_at(buf, inventory, m.start(), tag, depth + 1, &mut done);
                sink.findings.extend(found);
            }
            None => {}
        }
    }
    let mut v = sink.findings;
    v.retain(|f| f.token.is_none());
    v.sort_by(|a, b| {
        (a.offset, std::cmp::Reverse(a.length)).cmp(&(b.offset, std::cmp::Reverse(b.length)))
    });
    let mut out: Vec<Finding> = Vec::new();
    for f in v {
        let inside = out.iter().any(|o| {
            o.offset <= f.offset
                && o.offset + o.length >= f.offset + f.length
                && ((o.fingerprint.is_some() && o.fingerprint == f.fingerprint)
                    || (o.content_hash.is_some() && o.content_hash == f.content_hash))
        });
        if !inside {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_spans_cover_the_characters_of_each_byte() {
        let d = decode_base64(b"TWFu\\nTWE=").unwrap();
        assert_eq!(d.bytes, b"ManMa");
        assert_eq!(d.span[0], (0, 2));
        assert_eq!(d.span[3], (6, 8));
        assert_eq!(d.consumed, 10);
    }

    #[test]
    fn hex_stops_at_the_der_length() {
        let d = decode_hex(b"30:06:02:01:00:02:01:05:ff:ff", b':').unwrap();
        assert_eq!(d.bytes, [0x30, 6, 2, 1, 0, 2, 1, 5]);
        assert!(decode_hex(b"30060201", 0).is_none());
    }

    #[test]
    fn escapes_decode_and_stop_where_the_string_ends() {
        let d = decode_xml(b"a&#xA;b&#13;&amp;#10;<x>").unwrap();
        assert_eq!(d.bytes, b"a\nb\r&#10;");
        let d = decode_json(b"a\\u002Bb\\\\n\" rest").unwrap();
        assert_eq!(d.bytes, b"a+b\\n");
        assert_eq!(d.name, "json-escaped");
        assert_eq!(decode_json(b"a\\nb\"").unwrap().name, "");
        let d = decode_url(b"%2D-+%2B&x", true).unwrap();
        assert_eq!(d.bytes, b"-- +");
    }

    #[test]
    fn anchors_are_the_base64_of_begin_in_every_alignment() {
        use base64::Engine;
        for pre in ["", "x", "xy"] {
            let s = format!("{pre}-----BEGIN RSA");
            let b = base64::engine::general_purpose::STANDARD.encode(s);
            assert!(
                table()[..3]
                    .iter()
                    .any(|(a, _)| text::find(b.as_bytes(), a).is_some()),
                "{pre:?}"
            );
        }
    }
}
