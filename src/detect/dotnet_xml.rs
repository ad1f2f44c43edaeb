//! .NET `RSA.ToXmlString(true)` keys (docs/key-formats.md §6): `<RSAKeyValue>` with `<Modulus>`,
//! `<Exponent>`, `<P>`, `<Q>`, `<DP>`, `<DQ>`, `<InverseQ>`, `<D>`, each the base64 of a
//! big-endian number, in ASCII/UTF-8 (config files) and UTF-16LE (.NET strings on the heap).
//! Element order and whitespace are not relied on. An element set without private members is
//! a public key (a pairing record); a partial private set (say `<D>` alone) is completed
//! against the modulus by [`rsa_recover`](crate::keys::rsa_recover).

use super::text::{self, Encoding};
use super::{
    partial_rsa, verdict_cache, Anchor, Detector, Family, PublicKeyRecord, ScanContext, Sink,
};
use crate::keys::{fingerprint, rsa_recover, RsaParts};
use crate::report::Finding;
use num_bigint_dig::BigUint;

pub struct DotnetXml;

const OPEN: &[u8] = b"<RSAKeyValue>";
const CLOSE: &[u8] = b"</RSAKeyValue>";
/// RSA-16384 as XML is about 14 000 characters; anything longer is not one key.
const MAX_CHARS: usize = 24 * 1024;

impl Detector for DotnetXml {
    fn name(&self) -> &'static str {
        "dotnet-xml"
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        ".NET <RSAKeyValue> XML, whole or partial"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Encoding::ALL
            .iter()
            .enumerate()
            .map(|(i, e)| Anchor {
                bytes: e.encode(OPEN),
                tag: i as u32,
            })
            .collect()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let Some(&enc) = Encoding::ALL.get(tag as usize) else {
            return;
        };
        // Find the closing tag in the raw bytes before building a text view, and only up to
        // the next opening tag (documents do not nest), so repeated tags cost little.
        let s = enc.stride();
        let from = pos + OPEN.len() * s;
        let window = &cx.data[from.min(cx.data.len())..cx.data.len().min(pos + MAX_CHARS * s)];
        let window = match text::find(window, &enc.encode(OPEN)) {
            Some(next) => &window[..next],
            None => window,
        };
        let Some(close) = text::find(window, &enc.encode(CLOSE)) else {
            return; // truncated or not a key document
        };
        let end = OPEN.len() + close / s; // characters from the anchor to the closing tag
        let t = text::view(cx.data, pos, end, enc);
        if t.len() != end {
            return; // non-text inside: not one document
        }
        let body = &t[OPEN.len()..end];
        let length = ((end + CLOSE.len()) * s) as u64;
        decode(body, pos as u64, length, enc, sink);
    }
}

/// The base64 content of `<name>…</name>` in `body`, decoded.
fn element(body: &[u8], name: &str) -> Option<Vec<u8>> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let s = text::find(body, open.as_bytes())? + open.len();
    let e = s + text::find(&body[s..], close.as_bytes())?;
    let chars: Vec<u8> = body[s..e]
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if chars.is_empty() || !chars.iter().all(|&c| text::is_base64(c) || c == b'=') {
        return None;
    }
    text::decode_base64(&chars).filter(|v| !v.is_empty())
}

fn decode(body: &[u8], offset: u64, length: u64, enc: Encoding, sink: &mut Sink) -> Option<()> {
    let n = element(body, "Modulus");
    let e = element(body, "Exponent");
    let get = |name| element(body, name).map(|v| BigUint::from_bytes_be(&v));
    let parts = RsaParts {
        n: n.as_deref().map(BigUint::from_bytes_be),
        e: e.as_deref().map(BigUint::from_bytes_be),
        d: get("D"),
        p: get("P"),
        q: get("Q"),
        dp: get("DP"),
        dq: get("DQ"),
        qinv: get("InverseQ"),
        format: ".NET RSAKeyValue XML".into(),
    };
    if parts.d.is_none() && parts.p.is_none() && parts.q.is_none() && parts.dp.is_none() {
        let (n, e) = (n?, e?);
        sink.public_keys.push(PublicKeyRecord {
            algorithm: "RSA".into(),
            spki: fingerprint::rsa_spki(&n, &e).unwrap_or_default(),
            modulus: Some(n),
            exponent: Some(e),
            offset: Some(offset),
            source: ".NET RSAKeyValue XML (public)".into(),
            ..Default::default()
        });
        return Some(());
    }
    let present: Vec<&str> = [
        ("P", &parts.p),
        ("Q", &parts.q),
        ("DP", &parts.dp),
        ("DQ", &parts.dq),
        ("InverseQ", &parts.qinv),
        ("D", &parts.d),
    ]
    .iter()
    .filter(|(_, v)| v.is_some())
    .map(|(k, _)| *k)
    .collect();
    let preview = format!(
        "<RSAKeyValue> with {} [{} chars, redacted]",
        present.join(", "),
        length / enc.stride() as u64
    );
    let partial = partial_rsa::needs_modulus(&parts);
    let keep = partial.then(|| parts.clone());
    let v = verdict_cache::verdict("dotnet-xml", body, || rsa_recover::verify(parts));
    let f = Finding::key(
        "dotnet-xml",
        format!("dotnet-xml{}", enc.suffix()),
        offset,
        length,
        &v,
        preview,
    );
    match keep {
        Some(parts) => partial_rsa::defer(sink, f, parts),
        None => sink.push(f),
    }
    Some(())
}
