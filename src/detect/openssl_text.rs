//! The text `openssl rsa -text` / `openssl pkey -text` prints: every component of the key as
//! colon-separated hex under its name (`modulus:`, `privateExponent:`, `prime1:` ... for RSA;
//! `priv:`, `pub:`, `ASN1 OID:` for EC; `priv:`/`pub:` under `ED25519 Private-Key:`). People
//! paste it into tickets and logs, and tools that shell out to openssl keep it in memory.
//!
//! There is no binary structure to decode, so the parser rebuilds one from the components
//! (PKCS#1 for RSA, SEC1 for EC, PKCS#8 for the Edwards/Montgomery curves) and hands it to
//! the same DER decoder and verifier every other key goes through: the finding is proven
//! (p·q = n, e·d ≡ 1; d·G = Q) and carries the docs/design.md fingerprint like any other.

use super::text::{self, Encoding};
use super::{der_key_finding, Anchor, Detector, Family, ScanContext, Sink};

pub struct OpensslText;

const ANCHOR: &[u8] = b"Private-Key:";
/// Longest text followed: RSA-16384 prints about 40,000 characters.
const MAX_TEXT: usize = 64 * 1024;
/// At most this many named fields (RSA has 8, with a few header lines around them).
const MAX_FIELDS: usize = 16;
/// Longest single component, in bytes (an RSA-16384 modulus is 2,049).
const MAX_COMPONENT: usize = 4096;

impl Detector for OpensslText {
    fn name(&self) -> &'static str {
        "openssl-text"
    }

    fn family(&self) -> Family {
        Family::Keys
    }

    fn describe(&self) -> &'static str {
        "the listing `openssl pkey -text` prints"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Encoding::ALL
            .iter()
            .enumerate()
            .map(|(i, e)| Anchor {
                bytes: e.encode(ANCHOR),
                tag: i as u32,
            })
            .collect()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let enc = Encoding::ALL[tag as usize];
        let s = enc.stride();
        // The algorithm word before the anchor (`ED25519 `, `X448 `, `RSA `): at most a word.
        let word_start = text::walk_back(cx.data, pos.saturating_sub(s), 8, enc, |c| {
            c.is_ascii_alphanumeric()
        });
        let has_word = pos >= s && word_start < pos - s && cx.data.get(pos - s) == Some(&b' ');
        let start = if has_word { word_start } else { pos };
        let word = if has_word {
            text::view(cx.data, start, (pos - s - start) / s, enc).into_owned()
        } else {
            Vec::new()
        };
        for max in [4096, MAX_TEXT] {
            let t = text::view(cx.data, pos, max, enc);
            let Some(p) = parse(&t) else {
                return;
            };
            if t.len() == max && p.consumed + 64 >= t.len() && max < MAX_TEXT {
                continue;
            }
            let Some(der) = rebuild(&word, &p) else {
                return;
            };
            let encoding = format!("openssl-text{}", enc.suffix());
            let length = (pos - start + p.consumed * s) as u64;
            let preview =
                |fmt: &str| format!("openssl -text listing of a {fmt} private key [redacted]");
            if let Some(f) = der_key_finding(
                "openssl-text",
                &encoding,
                start as u64,
                length,
                &der,
                preview,
            ) {
                sink.push(f);
            }
            return;
        }
    }
}

/// The named components of a listing, and the characters it spans.
struct Listing {
    fields: Vec<(String, Vec<u8>)>,
    /// Single-line values (`publicExponent: 65537 (0x10001)`, `ASN1 OID: prime256v1`).
    values: Vec<(String, String)>,
    consumed: usize,
}

impl Listing {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
    fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the lines after the `Private-Key:` header: `name:` lines, each followed by indented
/// lines of colon-separated hex, or `name: value` lines. Stops at the first line that is
/// neither.
fn parse(t: &[u8]) -> Option<Listing> {
    let mut lines = LineIter { t, at: 0 };
    lines.next()?; // the header line
    let mut l = Listing {
        fields: Vec::new(),
        values: Vec::new(),
        consumed: lines.at,
    };
    let mut current: Option<(String, Vec<u8>)> = None;
    while let Some(line) = lines.next() {
        let indented = line.first().is_some_and(|c| *c == b' ' || *c == b'\t');
        let body = trim(line);
        if indented && current.is_some() && !body.is_empty() {
            let Some(bytes) = colon_hex(body) else { break };
            let cur = current.as_mut()?;
            if cur.1.len() + bytes.len() > MAX_COMPONENT {
                break;
            }
            cur.1.extend_from_slice(&bytes);
            l.consumed = lines.at;
            continue;
        }
        if indented {
            break;
        }
        let Some(colon) = body.iter().position(|&c| c == b':') else {
            break;
        };
        let name = &body[..colon];
        if name.is_empty()
            || name.len() > 24
            || !name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b' ')
        {
            break;
        }
        if let Some(f) = current.take() {
            l.fields.push(f);
        }
        if l.fields.len() + l.values.len() >= MAX_FIELDS {
            break;
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let rest = trim(&body[colon + 1..]);
        if rest.is_empty() {
            current = Some((name, Vec::new()));
        } else {
            l.values
                .push((name, String::from_utf8_lossy(rest).into_owned()));
        }
        l.consumed = lines.at;
    }
    if let Some(f) = current.take() {
        l.fields.push(f);
    }
    Some(l)
}

struct LineIter<'a> {
    t: &'a [u8],
    at: usize,
}

impl<'a> Iterator for LineIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.at >= self.t.len() {
            return None;
        }
        let rest = &self.t[self.at..];
        let n = rest.iter().position(|&c| c == b'\n');
        let line = &rest[..n.unwrap_or(rest.len())];
        self.at += n.map_or(rest.len(), |n| n + 1);
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let a = s.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let b = s
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    if a == s.len() {
        &[]
    } else {
        &s[a..s.len() - b]
    }
}

/// `00:e1:de:` → bytes; every group exactly two hex digits.
fn colon_hex(s: &[u8]) -> Option<Vec<u8>> {
    let s = s.strip_suffix(b":").unwrap_or(s);
    s.split(|&c| c == b':')
        .map(|g| {
            if g.len() != 2 {
                return None;
            }
            u8::from_str_radix(std::str::from_utf8(g).ok()?, 16).ok()
        })
        .collect()
}

/// `65537 (0x10001)` → big-endian bytes.
fn small_number(v: &str) -> Option<Vec<u8>> {
    let n: u64 = v.split_whitespace().next()?.parse().ok()?;
    Some(n.to_be_bytes().to_vec())
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = body.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(body);
    v
}

/// A DER INTEGER of a non-negative big-endian number.
fn int(be: &[u8]) -> Vec<u8> {
    let z = be.iter().take_while(|&&b| b == 0).count();
    let mut body = Vec::with_capacity(be.len() + 1);
    let digits = &be[z..];
    if digits.first().map_or(true, |&b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(digits);
    tlv(0x02, &body)
}

/// `len` bytes, big-endian: leading zeros dropped or added. None when it does not fit.
fn fixed(be: &[u8], len: usize) -> Option<Vec<u8>> {
    let z = be.iter().take_while(|&&b| b == 0).count();
    let digits = &be[z..];
    if digits.len() > len {
        return None;
    }
    let mut v = vec![0u8; len - digits.len()];
    v.extend_from_slice(digits);
    Some(v)
}

/// The DER structure the listing describes, for the DER decoder to verify.
fn rebuild(word: &[u8], l: &Listing) -> Option<Vec<u8>> {
    if let (Some(n), Some(d)) = (l.get("modulus"), l.get("privateExponent")) {
        let e = match l.get("publicExponent") {
            Some(e) => e.to_vec(),
            None => small_number(l.value("publicExponent")?)?,
        };
        let mut body = int(&[0]);
        body.extend(int(n));
        body.extend(int(&e));
        body.extend(int(d));
        for name in ["prime1", "prime2", "exponent1", "exponent2", "coefficient"] {
            body.extend(int(l.get(name)?));
        }
        return Some(tlv(0x30, &body));
    }
    let private = l.get("priv")?;
    // RFC 8410 curves: PKCS#8 with the algorithm OID and the raw private key.
    let edwards: Option<(&[u8], usize)> = match word {
        b"ED25519" => Some((&[0x2b, 0x65, 0x70], 32)),
        b"X25519" => Some((&[0x2b, 0x65, 0x6e], 32)),
        b"ED448" => Some((&[0x2b, 0x65, 0x71], 57)),
        b"X448" => Some((&[0x2b, 0x65, 0x6f], 56)),
        _ => None,
    };
    if let Some((oid, len)) = edwards {
        let mut body = int(&[0]);
        body.extend(tlv(0x30, &tlv(0x06, oid)));
        body.extend(tlv(0x04, &tlv(0x04, &fixed(private, len)?)));
        return Some(tlv(0x30, &body));
    }
    // EC: SEC1 ECPrivateKey with the named curve and the public point.
    let curve = l.value("ASN1 OID")?;
    let (oid, len): (&[u8], usize) = match curve {
        "prime256v1" => (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], 32),
        "secp384r1" => (&[0x2b, 0x81, 0x04, 0x00, 0x22], 48),
        "secp521r1" => (&[0x2b, 0x81, 0x04, 0x00, 0x23], 66),
        "secp256k1" => (&[0x2b, 0x81, 0x04, 0x00, 0x0a], 32),
        _ => return None,
    };
    let mut body = int(&[1]);
    body.extend(tlv(0x04, &fixed(private, len)?));
    body.extend(tlv(0xa0, &tlv(0x06, oid)));
    if let Some(point) = l.get("pub") {
        let mut bits = vec![0u8];
        bits.extend_from_slice(point);
        body.extend(tlv(0xa1, &tlv(0x03, &bits)));
    }
    Some(tlv(0x30, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_stops_at_other_text() {
        let t = b"Private-Key: (256 bit)\npriv:\n    00:01:\n    02\npub:\n    04:05\nASN1 OID: prime256v1\nNIST CURVE: P-256\nnext: thing\n  zz\n";
        let l = parse(t).unwrap();
        assert_eq!(l.get("priv").unwrap(), [0, 1, 2]);
        assert_eq!(l.get("pub").unwrap(), [4, 5]);
        assert_eq!(l.value("ASN1 OID"), Some("prime256v1"));
        // `  zz` is not hex: the listing ends before `next:`'s body.
        assert!(l.consumed < t.len());
        assert_eq!(int(&[0x80]), [2, 2, 0, 0x80]);
        assert_eq!(int(&[0, 0, 5]), [2, 1, 5]);
        assert_eq!(fixed(&[0, 0, 7], 2), Some(vec![0, 7]));
    }
}
