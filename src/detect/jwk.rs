//! JSON Web Keys and key sets (RFC 7517, 7518 §6, 8037; docs/key-formats.md §7) in ASCII/UTF-8 and
//! UTF-16LE, also when JSON-escaped inside another JSON string (`{\"kty\":…}`).
//!
//! The anchor is the `"kty"` member name; the enclosing object is found by walking back to
//! its opening brace and parsed with serde_json, so member order and whitespace do not matter.
//! Private keys (RSA with d/p/q/dp/dq/qi, EC with d, OKP with d) are verified like any other
//! key; public JWKs become pairing records; `oct` keys are symmetric-key findings. The `kid`
//! is reported (it names the key in a JWKS without revealing it).

use super::symmetric::{self, SymmetricKey};
use super::text::{self, Encoding};
use super::{
    partial_rsa, verdict_cache, Anchor, Detector, Family, PublicKeyRecord, ScanContext, Sink,
};
use crate::keys::{self, fingerprint, rsa_recover, Curve, KeyInfo, PrivateKey, RsaParts};
use crate::keys::{Status, Verdict};
use crate::report::Finding;
use num_bigint_dig::BigUint;
use serde_json::{Map, Value};

pub struct Jwk;

/// How far before `"kty"` the object may start: all other members of an RSA-16384 private
/// JWK come to about 12 400 characters.
const MAX_BACK: usize = 16 * 1024;
/// How much text after the anchor one object may take (RSA-16384 private ≈ 14 000 chars).
const MAX_FWD: usize = 48 * 1024;

/// `"kty` without the closing quote: the same four characters start the member name in plain
/// JSON (`"kty"`) and in escaped JSON (`\"kty\"`), so one anchor per text encoding covers both.
const ANCHOR: &[u8] = b"\"kty";

#[derive(Clone, Copy)]
struct Tag {
    enc: Encoding,
    escaped: bool,
}

impl Detector for Jwk {
    fn name(&self) -> &'static str {
        "jwk"
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "JWK / JWKS private keys"
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
        let Some(&enc) = Encoding::ALL.get(tag as usize) else {
            return;
        };
        // A backslash before the quote: the JWK is itself inside a JSON string.
        let s = enc.stride();
        let escaped = pos >= s
            && cx.data[pos - s] == b'\\'
            && (enc == Encoding::Ascii || cx.data[pos - 1] == 0);
        let _ = scan(cx.data, pos, Tag { enc, escaped }, sink);
    }
}

fn scan(data: &[u8], pos: usize, t: Tag, sink: &mut Sink) -> Option<()> {
    let stride = t.enc.stride();
    // Cheap shape check first: `"kty"` (or `\"kty\"`), optional blanks, then a colon.
    let head = text::view(data, pos + stride, 24, t.enc);
    let rest = head.strip_prefix(b"kty")?;
    let rest = if t.escaped {
        rest.strip_prefix(b"\\\"")?
    } else {
        rest.strip_prefix(b"\"")?
    };
    if rest.iter().find(|c| !c.is_ascii_whitespace()) != Some(&b':') {
        return None;
    }
    let open = enclosing_brace(data, pos, t.enc)?;
    let view = text::view(data, open, MAX_FWD, t.enc);
    // Escaped text is parsed from an unescaped copy whose positions map back to the original.
    let unescaped = if t.escaped {
        let end = object_end(&view)?;
        Some(unescape(&view[..=end]))
    } else {
        None
    };
    let txt: &[u8] = match &unescaped {
        Some((u, _)) => u,
        None => &view,
    };
    let mut it = serde_json::Deserializer::from_slice(txt).into_iter::<Value>();
    let Some(Ok(Value::Object(obj))) = it.next() else {
        return None;
    };
    let last = it.byte_offset().checked_sub(1)?;
    obj.get("kty")?.as_str()?;
    let end = match &unescaped {
        Some((_, map)) => *map.get(last)? + 1,
        None => last + 1,
    };
    let length = (end * stride) as u64;
    let mut encoding = format!("jwk{}", t.enc.suffix());
    if t.escaped {
        encoding.push_str("-json-escaped");
    }
    decode(&obj, &txt[..=last], open as u64, length, &encoding, sink)
}

/// File offset of the `{` opening the object that contains the anchor at `pos`: braces are
/// found with SIMD search backwards (at most [`MAX_BACK`] characters) and nesting counted.
fn enclosing_brace(data: &[u8], pos: usize, enc: Encoding) -> Option<usize> {
    let stride = enc.stride();
    let from = pos.saturating_sub(MAX_BACK * stride);
    let mut depth = 0usize;
    for i in memchr::memrchr2_iter(b'{', b'}', &data[from..pos]) {
        let at = from + i;
        if enc == Encoding::Utf16Le && ((pos - at) % 2 != 0 || data.get(at + 1) != Some(&0)) {
            continue;
        }
        match data[at] {
            b'}' => depth += 1,
            _ if depth == 0 => return Some(at),
            _ => depth -= 1,
        }
    }
    None
}

/// Index of the `}` closing the object that starts at `t[0]` (brace nesting only; JWK values
/// are base64url and hold no braces).
fn object_end(t: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    for i in memchr::memchr2_iter(b'{', b'}', t) {
        if t[i] == b'{' {
            depth += 1;
        } else {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Removes one level of JSON string escaping (`\"`, `\\`, `\/`), enough to parse an escaped
/// JWK (other escapes are left for serde_json). Also returns, for each output character, its
/// index in the input.
fn unescape(s: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        map.push(i);
        if s[i] == b'\\' && i + 1 < s.len() && matches!(s[i + 1], b'"' | b'\\' | b'/') {
            out.push(s[i + 1]);
            i += 2;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    (out, map)
}

/// base64url without padding (RFC 7515 §2), tolerating the standard alphabet and padding.
fn b64url(v: Option<&Value>) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let s = v?.as_str()?;
    let norm: String = s
        .chars()
        .filter(|c| *c != '=' && !c.is_ascii_whitespace())
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(norm).ok().filter(|b| !b.is_empty())
}

/// A printable, bounded rendering of `kid` (an identifier, not a secret).
fn kid(obj: &Map<String, Value>) -> Option<String> {
    let k = obj.get("kid")?.as_str()?;
    let mut s: String = k
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(64)
        .collect();
    if k.chars().count() > 64 {
        s.push('…');
    }
    Some(s)
}

fn decode(
    obj: &Map<String, Value>,
    raw: &[u8],
    offset: u64,
    length: u64,
    encoding: &str,
    sink: &mut Sink,
) -> Option<()> {
    let kty = obj.get("kty")?.as_str()?;
    let kid = kid(obj);
    let named = |what: &str| match &kid {
        Some(k) => format!("JWK {what}, kid \"{k}\""),
        None => format!("JWK {what}"),
    };
    let field = |name: &str| b64url(obj.get(name));
    let public = |sink: &mut Sink, algorithm: &str, spki: Option<Vec<u8>>, rec: PublicKeyRecord| {
        if let Some(spki) = spki {
            sink.public_keys.push(PublicKeyRecord {
                algorithm: algorithm.into(),
                spki,
                offset: Some(offset),
                source: named("public key"),
                ..rec
            });
        }
    };
    let verdict = match kty {
        "RSA" => {
            let (n, e) = (field("n"), field("e"));
            let big = |name: &str| field(name).map(|b| BigUint::from_bytes_be(&b));
            let parts = RsaParts {
                n: n.as_deref().map(BigUint::from_bytes_be),
                e: e.as_deref().map(BigUint::from_bytes_be),
                d: big("d"),
                p: big("p"),
                q: big("q"),
                dp: big("dp"),
                dq: big("dq"),
                qinv: big("qi"),
                format: "JWK".into(),
            };
            let private = [&parts.d, &parts.p, &parts.q, &parts.dp, &parts.dq];
            if private.iter().all(|x| x.is_none()) {
                let (n, e) = (n?, e?);
                let spki = fingerprint::rsa_spki(&n, &e);
                let rec = PublicKeyRecord {
                    modulus: Some(n),
                    exponent: Some(e),
                    ..Default::default()
                };
                public(sink, "RSA", spki, rec);
                return Some(());
            }
            if obj.contains_key("oth") {
                unverifiable("RSA", "multi-prime JWK (\"oth\"): not verified")
            } else if partial_rsa::needs_modulus(&parts) {
                // `d` (or a prime) without `n`: completed later from a modulus seen elsewhere.
                let mut v = rsa_recover::verify(parts.clone());
                v.key.format = Some("JWK".into());
                let preview = format!("[{}, {length} bytes, redacted]", named("RSA private key"));
                let f = Finding::key("jwk", encoding, offset, length, &v, preview);
                partial_rsa::defer(sink, f, parts);
                return Some(());
            } else {
                verdict_cache::verdict("jwk", raw, || rsa_recover::verify(parts))
            }
        }
        "EC" => {
            let curve = match obj.get("crv")?.as_str()? {
                "P-256" => Curve::P256,
                "P-384" => Curve::P384,
                "P-521" => Curve::P521,
                "secp256k1" => Curve::Secp256k1,
                other => return unsupported(obj, other, offset, length, encoding, sink, &named),
            };
            let len = curve.scalar_len();
            let (x, y) = (field("x"), field("y"));
            let point = match (&x, &y) {
                (Some(x), Some(y)) if x.len() <= len && y.len() <= len => {
                    let mut p = vec![4u8];
                    p.extend(std::iter::repeat(0).take(len - x.len()));
                    p.extend_from_slice(x);
                    p.extend(std::iter::repeat(0).take(len - y.len()));
                    p.extend_from_slice(y);
                    Some(p)
                }
                _ => None,
            };
            let Some(d) = field("d") else {
                if let Some(p) = point {
                    let spki = keys::pubkey::ec_spki(curve, &p);
                    let rec = PublicKeyRecord {
                        point: Some(p),
                        ..Default::default()
                    };
                    public(sink, "EC", spki, rec);
                }
                return Some(());
            };
            verdict_cache::verdict("jwk", raw, || {
                keys::verify(&PrivateKey::Ec {
                    curve,
                    d,
                    public: point,
                })
            })
        }
        "OKP" => {
            let crv = obj.get("crv")?.as_str()?;
            let x = field("x");
            let Some(d) = field("d") else {
                if let Some(pk) = x.as_deref().and_then(|x| <[u8; 32]>::try_from(x).ok()) {
                    let spki = match crv {
                        "Ed25519" => fingerprint::ed25519_spki(&pk),
                        "X25519" => fingerprint::x25519_spki(&pk),
                        _ => None,
                    };
                    let rec = PublicKeyRecord {
                        point: Some(pk.to_vec()),
                        ..Default::default()
                    };
                    public(sink, crv, spki, rec);
                }
                return Some(());
            };
            let Ok(k) = <[u8; 32]>::try_from(d.as_slice()) else {
                return unsupported(obj, crv, offset, length, encoding, sink, &named);
            };
            match crv {
                "Ed25519" => keys::verify(&PrivateKey::Ed25519 { seed: k, public: x }),
                "X25519" => keys::verify(&PrivateKey::X25519 {
                    scalar: k,
                    public: x,
                }),
                other => return unsupported(obj, other, offset, length, encoding, sink, &named),
            }
        }
        "oct" => {
            let k = field("k")?;
            let alg = obj
                .get("alg")
                .and_then(Value::as_str)
                .filter(|a| a.len() <= 16 && a.bytes().all(|c| c.is_ascii_graphic()))
                .unwrap_or("symmetric");
            let mut f = symmetric::finding(
                "jwk",
                encoding,
                offset,
                length,
                &SymmetricKey {
                    algorithm: alg,
                    format: "JWK oct",
                    key: &k,
                },
            );
            f.preview = format!("[{}, {} bytes, redacted]", named("oct key"), k.len());
            sink.push(f);
            return Some(());
        }
        _ => return None,
    };
    emit(verdict, offset, length, encoding, sink, &named)
}

fn emit(
    mut v: Verdict,
    offset: u64,
    length: u64,
    encoding: &str,
    sink: &mut Sink,
    named: &dyn Fn(&str) -> String,
) -> Option<()> {
    v.key.format = Some("JWK".into());
    let what = format!("{} private key", v.key.algorithm);
    sink.push(Finding::key(
        "jwk",
        encoding,
        offset,
        length,
        &v,
        format!("[{}, {length} bytes, redacted]", named(&what)),
    ));
    Some(())
}

fn unverifiable(alg: &str, why: &str) -> Verdict {
    Verdict {
        material: None,
        status: Status::Unverifiable,
        verification: why.into(),
        key: KeyInfo {
            algorithm: alg.into(),
            ..Default::default()
        },
        spki: None,
    }
}

/// A private JWK on a curve dumpguard does not compute on (Ed448, X448, brainpool ...): still
/// a private key, reported unverifiable.
fn unsupported(
    obj: &Map<String, Value>,
    crv: &str,
    offset: u64,
    length: u64,
    encoding: &str,
    sink: &mut Sink,
    named: &dyn Fn(&str) -> String,
) -> Option<()> {
    obj.get("d")?;
    let crv: String = crv
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    let v = unverifiable(&crv, "private JWK on a curve dumpguard does not verify");
    emit(v, offset, length, encoding, sink, named)
}
