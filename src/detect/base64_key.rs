//! Private keys as bare base64 with no PEM armour (environment variables, config values,
//! JSON fields), in ASCII and UTF-16LE. Anchors are the base64 images of the fixed DER
//! prefixes (docs/key-formats.md §3.5); each knows how many characters before it the DER starts.

use super::text::{self, Encoding};
use super::{der_key_finding, Anchor, Detector, Family, ScanContext, Sink};

pub struct Base64Key;

/// (anchor text, characters between the start of the DER's base64 and the anchor).
pub(super) const ANCHORS: &[(&str, usize)] = &[
    ("IBAAKCA", 6),                    // PKCS#1 RSA ≥ 2048, OpenSSL DSA
    ("IBAAKBgQ", 6),                   // PKCS#1 RSA-1024
    ("IBADANBgkqhkiG9w0BAQEFAASC", 6), // PKCS#8 RSA
    ("CAQEEI", 3),                     // SEC1 P-256 / secp256k1
    ("AgEBBD", 4),                     // SEC1 P-384
    ("AgEBBE", 4),                     // SEC1 P-521
    ("AgEAMBMGByqGSM49AgE", 4),        // PKCS#8 P-256
    ("AgEAMBAGByqGSM49AgE", 4),        // PKCS#8 P-384 / P-521 / secp256k1
    ("MC4CAQAwBQYDK2V", 0),            // PKCS#8 Ed25519 / X25519
    ("IBADCCA", 6),                    // PKCS#8 DSA
    ("BgkqhkiG9w0BBQ0w", 8),           // EncryptedPrivateKeyInfo, PBES2
];

/// Longest base64 body followed (RSA-16384 PKCS#8 ≈ 12 KiB).
const MAX_CHARS: usize = 32 * 1024;

impl Detector for Base64Key {
    fn name(&self) -> &'static str {
        "base64"
    }

    fn family(&self) -> Family {
        Family::Keys
    }

    fn describe(&self) -> &'static str {
        "armour-less base64 of DER private keys"
    }

    fn anchors(&self) -> Vec<Anchor> {
        let mut v = Vec::new();
        for (i, (a, _)) in ANCHORS.iter().enumerate() {
            for (e, enc) in Encoding::ALL.iter().enumerate() {
                v.push(Anchor {
                    bytes: enc.encode(a.as_bytes()),
                    tag: (i * 2 + e) as u32,
                });
            }
        }
        v
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let (idx, enc) = (tag as usize / 2, Encoding::ALL[tag as usize % 2]);
        let back = ANCHORS[idx].1 * enc.stride();
        let Some(start) = pos.checked_sub(back) else {
            return;
        };
        // The DER must begin the base64 run; a base64 character just before means we are
        // inside some other blob (or a PEM body, which the PEM detector reports).
        let before = text::walk_back(cx.data, start, 1, enc, text::is_base64);
        if before != start {
            return;
        }
        // Nor after a line break that ends a full line of base64: that is a wrapped body.
        if text::continues_wrapped_body(cx.data, start, enc) {
            return;
        }
        // Read as much text as the body needs, no more (UTF-16 views are copies).
        let mut body = None;
        for max in text::staged_views(MAX_CHARS + 1024) {
            let t = text::view(cx.data, start, max, enc);
            let b = text::base64_body(&t, MAX_CHARS);
            let done = t.len() < max || b.consumed < t.len();
            body = Some(b);
            if done {
                break;
            }
        }
        let Some(body) = body else {
            return;
        };
        let Some(der) = text::decode_base64(&body.chars) else {
            return;
        };
        let encoding = format!("base64{}", enc.suffix());
        let length = (body.consumed * enc.stride()) as u64;
        let preview = |fmt: &str| {
            format!(
                "base64 {fmt} private key [{} chars, redacted]",
                body.chars.len()
            )
        };
        if let Some(f) = der_key_finding("base64", &encoding, start as u64, length, &der, preview) {
            sink.push(f);
        }
    }
}
