//! libgcrypt / GnuPG S-expression private keys (issue #15): gpg-agent's memory and GnuPG's
//! `private-keys-v1.d/*.key` files, in the canonical, advanced (text) and libgcrypt-internal
//! syntaxes (see [`crate::keys::sexp`]), and the "extended key format" files whose `Key:`
//! value is the advanced form.
//!
//! Key lists: `(rsa (n)(e)(d)(p)(q)(u))`; `(ecc (curve …)(flags …)(q)(d))` (also the older
//! `ecdsa`/`ecdh`/`eddsa` names) on Ed25519, Curve25519/cv25519, NIST P-256/384/521,
//! secp256k1; `(dsa (p)(q)(g)(y)(x))`; `(elg (p)(g)(y)(x))`. Plain keys are proven (RSA
//! p·q = n …; EC d·G = q; Ed25519 seed → q; X25519 scalar → q; DSA and Elgamal y = g^x mod p)
//! and fingerprinted by their SPKI. `protected-private-key` (passphrase-encrypted) is reported
//! as encrypted, fingerprinted by the public numbers it carries; `shadowed-private-key` (a
//! reference to a smartcard key, no private material) as a low-severity unverifiable record.
//!
//! Anchors: the word `private-key` (every syntax, with the `protected-`/`shadowed-` forms),
//! and the algorithm lists' heads in canonical and internal form, because in a gpg-agent heap
//! the `(private-key` head of a freed buffer is overwritten by the allocator (16 bytes: exactly
//! the internal form of `(private-key`), leaving `(rsa (n …` intact.

use super::{verdict_cache, Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::sexp::{self, Sexp, Syntax};
use crate::keys::{self, fingerprint, Curve, DsaParts, KeyInfo, PrivateKey, RsaParts};
use crate::keys::{Status, Verdict};
use crate::report::{Finding, Severity};
use num_bigint_dig::BigUint;
use num_traits::{One, Zero};

pub struct GcryptSexp;

const NAME: &str = "gcrypt-sexp";

/// Algorithm list names libgcrypt and GnuPG write for private keys.
const ALGORITHMS: &[&[u8]] = &[b"rsa", b"ecc", b"dsa", b"elg", b"ecdsa", b"ecdh", b"eddsa"];

const TAG_WRAPPER: u32 = 0;
const TAG_INTERNAL: u32 = 1;
const TAG_CANONICAL: u32 = 2;

/// Largest Elgamal/DSA prime checked (y = g^x mod p costs one modular exponentiation).
const MAX_P_BITS: usize = 16384;

impl Detector for GcryptSexp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "libgcrypt / GnuPG S-expression keys (gpg-agent memory, private-keys-v1.d files)"
    }

    fn anchors(&self) -> Vec<Anchor> {
        let mut v = vec![Anchor {
            bytes: b"private-key".to_vec(),
            tag: TAG_WRAPPER,
        }];
        for a in ALGORITHMS {
            // The list's opening is left out: it is the 16th byte of a freed buffer's head,
            // which the allocator overwrites (see `sexp::parse_headless`). Internal: the u16 LE
            // length, the name, ST_OPEN of the first parameter — the ST_DATA byte before them
            // too, lost when the buffer started one byte further in (measured: an RSA list in
            // a gpg-agent heap with 17 bytes gone).
            let mut i = vec![a.len() as u8, 0];
            i.extend_from_slice(a);
            i.push(3);
            v.push(Anchor {
                bytes: i,
                tag: TAG_INTERNAL,
            });
            v.push(Anchor {
                bytes: format!("{}:{}(", a.len(), String::from_utf8_lossy(a)).into_bytes(),
                tag: TAG_CANONICAL,
            });
        }
        v
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let d = cx.data;
        let found = match tag {
            TAG_WRAPPER => wrapped(d, pos),
            TAG_INTERNAL => bare_internal(d, pos),
            TAG_CANONICAL => bare(d, pos, Syntax::Canonical),
            _ => None,
        };
        if let Some(k) = found {
            let mut f = Finding::key(
                NAME,
                format!("gcrypt-sexp-{}", k.syntax.as_str()),
                k.start as u64,
                k.len as u64,
                &k.verdict,
                format!(
                    "[libgcrypt {} S-expression, {}, {} bytes, redacted]",
                    k.syntax.as_str(),
                    k.what,
                    k.len
                ),
            );
            if k.shadowed {
                // No private material at all: a pointer to a key on a card.
                f.severity = Severity::Low;
            }
            sink.push(f);
        }
    }
}

/// A decoded key expression.
pub struct Decoded {
    pub verdict: Verdict,
    pub start: usize,
    pub len: usize,
    pub syntax: Syntax,
    pub what: String,
    pub shadowed: bool,
}

/// The wrapper word at `pos` (`private-key`, possibly the tail of `protected-private-key` or
/// `shadowed-private-key`): finds the list's opening in whichever syntax precedes it.
fn wrapped(d: &[u8], pos: usize) -> Option<Decoded> {
    let word_start = [&b"protected-"[..], b"shadowed-"]
        .iter()
        .find(|p| pos >= p.len() && &d[pos - p.len()..pos] == **p)
        .map_or(pos, |p| pos - p.len());
    let wlen = pos + b"private-key".len() - word_start;
    let (start, syntax) = open_before(d, word_start, wlen)?;
    let (tree, len) = sexp::parse(&d[start..], syntax)?;
    let items = tree.list()?;
    let wrapper = items.first()?.atom()?.to_vec();
    let alg = items.get(1)?;
    let v = key_verdict(Some(&wrapper), alg, &d[start..start + len])?;
    Some(Decoded {
        start,
        len,
        syntax,
        ..v
    })
}

/// Where the list whose first atom (`wlen` bytes) starts at `word` opens, and its syntax.
fn open_before(d: &[u8], word: usize, wlen: usize) -> Option<(usize, Syntax)> {
    // Internal: 03 01 LEN 00 word.
    if word >= 4 && d[word - 4..word] == [3, 1, wlen as u8, 0] {
        return Some((word - 4, Syntax::Internal));
    }
    // Canonical: ( LEN : word.
    let digits = wlen.to_string();
    let n = digits.len() + 2;
    if word >= n && d[word - n] == b'(' && &d[word - n + 1..word - 1] == digits.as_bytes() {
        return (d[word - 1] == b':').then_some((word - n, Syntax::Canonical));
    }
    // Advanced: ( then optional whitespace.
    let mut i = word;
    while i > 0 && word - i < 16 && d[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    (i > 0 && d[i - 1] == b'(').then(|| (i - 1, Syntax::Advanced))
}

/// Whether the algorithm list at `pos` is the second element of a `…private-key` list (the
/// wrapper anchor reports it then).
fn after_wrapper(d: &[u8], pos: usize, syntax: Syntax) -> bool {
    [
        &b"private-key"[..],
        b"protected-private-key",
        b"shadowed-private-key",
    ]
    .iter()
    .any(|w| {
        let head: Vec<u8> = match syntax {
            Syntax::Internal => [&[3, 1, w.len() as u8, 0][..], w].concat(),
            _ => [format!("({}:", w.len()).as_bytes(), w].concat(),
        };
        pos >= head.len() && d[pos - head.len()..pos] == head[..]
    })
}

/// An algorithm list without its wrapper (overwritten, or never there); `name` is the position
/// of its first element. With its opening byte intact it is parsed whole (and left to the
/// wrapper anchor when a `…private-key` head precedes it); without, headless.
fn bare(d: &[u8], name: usize, syntax: Syntax) -> Option<Decoded> {
    let open = if syntax == Syntax::Internal { 3 } else { b'(' };
    let (start, parsed) = if name > 0 && d[name - 1] == open {
        if after_wrapper(d, name - 1, syntax) {
            return None;
        }
        (name - 1, sexp::parse(&d[name - 1..], syntax)?)
    } else {
        (name, sexp::parse_headless(&d[name..], syntax)?)
    };
    let (tree, len) = parsed;
    let v = key_verdict(None, &tree, &d[start..start + len])?;
    Some(Decoded {
        start,
        len,
        syntax,
        ..v
    })
}

/// An internal algorithm list whose name's length bytes are at `at`: the ST_DATA byte before
/// them is there (then as [`bare`]) or was overwritten too.
fn bare_internal(d: &[u8], at: usize) -> Option<Decoded> {
    const ST_DATA: u8 = 1;
    if at > 0 && d[at - 1] == ST_DATA {
        return bare(d, at - 1, Syntax::Internal);
    }
    let (tree, len) = sexp::parse_internal_headless_atom(&d[at..])?;
    let v = key_verdict(None, &tree, &d[at..at + len])?;
    Some(Decoded {
        start: at,
        len,
        syntax: Syntax::Internal,
        ..v
    })
}

/// The verdict for an algorithm list; `span` (the expression's bytes) keys the verdict cache.
/// None when the list is not a private key (a public key, a signature, random bytes).
fn key_verdict(wrapper: Option<&[u8]>, alg: &Sexp, span: &[u8]) -> Option<Decoded> {
    let name = alg.name()?;
    if !ALGORITHMS.contains(&name) {
        return None;
    }
    let protected = wrapper == Some(b"protected-private-key") || alg.find(b"protected").is_some();
    let shadowed = wrapper == Some(b"shadowed-private-key") || alg.find(b"shadowed").is_some();
    match wrapper {
        None | Some(b"private-key" | b"protected-private-key" | b"shadowed-private-key") => {}
        _ => return None,
    }
    let public = Public::of(alg)?;
    let algorithm = public.algorithm();
    let info = KeyInfo {
        algorithm: algorithm.into(),
        bits: public.bits(),
        curve: public.curve_name(),
        format: Some("libgcrypt S-expression".into()),
        ..Default::default()
    };
    let mk = |verdict: Verdict, what: String, shadowed: bool| Decoded {
        verdict,
        start: 0,
        len: 0,
        syntax: Syntax::Canonical,
        what,
        shadowed,
    };
    if protected {
        let mode = alg
            .find(b"protected")
            .and_then(|p| p.list()?.get(1)?.atom())
            .map(|m| String::from_utf8_lossy(&m[..m.len().min(48)]).into_owned())
            .unwrap_or_else(|| "unknown".into());
        let v = Verdict {
            material: None,
            status: Status::Encrypted,
            verification: format!(
                "GnuPG protected private key ({}); cannot be verified without the passphrase \
                 (fingerprint is of the public key it carries)",
                printable(&mode)
            ),
            key: info,
            spki: public.spki(),
        };
        return Some(mk(v, format!("protected {algorithm} key"), false));
    }
    if shadowed {
        let v = Verdict {
            material: None,
            status: Status::Unverifiable,
            verification: "GnuPG shadowed private key: a reference to a key held on a \
                           smartcard or token; it carries no private material"
                .into(),
            key: info,
            spki: public.spki(),
        };
        return Some(mk(v, format!("shadowed {algorithm} key"), true));
    }
    // Without its private number the list is a public key (gpg-agent keeps those too).
    let secret = if matches!(public, Public::Dsa { .. } | Public::Elg { .. }) {
        b"x"
    } else {
        b"d"
    };
    alg.value(secret)?;
    let verdict = verdict_cache::verdict(NAME, span, || {
        private_verdict(alg, &public, info.clone()).unwrap_or_else(|| Verdict {
            material: None,
            status: Status::Corrupted,
            verification: "private numbers of implausible size".into(),
            key: info.clone(),
            spki: public.spki(),
        })
    });
    Some(mk(verdict, format!("{algorithm} private key"), false))
}

fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// The public half of an algorithm list: what identifies the key.
enum Public<'a> {
    Rsa {
        n: &'a [u8],
        e: &'a [u8],
    },
    Ec {
        curve: CurveKind,
        q: Option<&'a [u8]>,
    },
    Dsa {
        p: &'a [u8],
        q: &'a [u8],
        g: &'a [u8],
        y: &'a [u8],
    },
    Elg {
        p: &'a [u8],
        g: &'a [u8],
        y: &'a [u8],
    },
}

#[derive(Clone, Copy)]
enum CurveKind {
    Ed25519,
    Cv25519,
    Nist(Curve),
    /// Known to libgcrypt, not verified here (brainpool, Ed448, X448, GOST …).
    Other,
}

/// libgcrypt's names and aliases for the curves (cipher/ecc-curves.c).
fn curve_kind(name: &[u8]) -> CurveKind {
    match name {
        b"Ed25519" | b"ed25519" | b"1.3.6.1.4.1.11591.15.1" | b"1.3.101.112" => CurveKind::Ed25519,
        b"Curve25519" | b"cv25519" | b"X25519" | b"1.3.6.1.4.1.3029.1.5.1" | b"1.3.101.110" => {
            CurveKind::Cv25519
        }
        b"NIST P-256" | b"nistp256" | b"prime256v1" | b"secp256r1" | b"1.2.840.10045.3.1.7" => {
            CurveKind::Nist(Curve::P256)
        }
        b"NIST P-384" | b"nistp384" | b"secp384r1" | b"1.3.132.0.34" => {
            CurveKind::Nist(Curve::P384)
        }
        b"NIST P-521" | b"nistp521" | b"secp521r1" | b"1.3.132.0.35" => {
            CurveKind::Nist(Curve::P521)
        }
        b"secp256k1" | b"1.3.132.0.10" => CurveKind::Nist(Curve::Secp256k1),
        _ => CurveKind::Other,
    }
}

impl<'a> Public<'a> {
    fn of(alg: &'a Sexp) -> Option<Public<'a>> {
        Some(match alg.name()? {
            b"rsa" => Public::Rsa {
                n: alg.value(b"n")?,
                e: alg.value(b"e")?,
            },
            b"dsa" => Public::Dsa {
                p: alg.value(b"p")?,
                q: alg.value(b"q")?,
                g: alg.value(b"g")?,
                y: alg.value(b"y")?,
            },
            b"elg" => Public::Elg {
                p: alg.value(b"p")?,
                g: alg.value(b"g")?,
                y: alg.value(b"y")?,
            },
            _ => Public::Ec {
                curve: curve_kind(alg.value(b"curve")?),
                q: alg.value(b"q"),
            },
        })
    }

    fn algorithm(&self) -> &'static str {
        match self {
            Public::Rsa { .. } => "RSA",
            Public::Dsa { .. } => "DSA",
            Public::Elg { .. } => "Elgamal",
            Public::Ec { curve, .. } => match curve {
                CurveKind::Ed25519 => "Ed25519",
                CurveKind::Cv25519 => "X25519",
                _ => "EC",
            },
        }
    }

    fn bits(&self) -> u32 {
        let bits = |b: &[u8]| BigUint::from_bytes_be(b).bits() as u32;
        match self {
            Public::Rsa { n, .. } => bits(n),
            Public::Dsa { p, .. } | Public::Elg { p, .. } => bits(p),
            Public::Ec { curve, .. } => match curve {
                CurveKind::Ed25519 | CurveKind::Cv25519 => 256,
                CurveKind::Nist(c) => c.bits(),
                CurveKind::Other => 0,
            },
        }
    }

    fn curve_name(&self) -> Option<String> {
        match self {
            Public::Ec {
                curve: CurveKind::Nist(c),
                ..
            } => Some(c.name().into()),
            _ => None,
        }
    }

    /// SPKI of the stored public key (encrypted and shadowed keys are fingerprinted by it).
    fn spki(&self) -> Option<Vec<u8>> {
        match self {
            Public::Rsa { n, e } => fingerprint::rsa_spki(n, e),
            Public::Dsa { p, q, g, y } => fingerprint::dsa_spki(p, q, g, y),
            Public::Elg { .. } => None,
            Public::Ec { curve, q } => {
                let q = (*q)?;
                match curve {
                    CurveKind::Ed25519 => fingerprint::ed25519_spki(&native_point(q)?),
                    CurveKind::Cv25519 => fingerprint::x25519_spki(&native_point(q)?),
                    CurveKind::Nist(c) => keys::pubkey::ec_spki(*c, q),
                    CurveKind::Other => None,
                }
            }
        }
    }
}

/// libgcrypt writes EdDSA/X25519 points with a 0x40 "native" prefix; plain 32 bytes are
/// accepted too.
fn native_point(q: &[u8]) -> Option<[u8; 32]> {
    q.strip_prefix(&[0x40])
        .filter(|r| r.len() == 32)
        .unwrap_or(q)
        .try_into()
        .ok()
}

/// Left-pads a big-endian number (MPIs drop leading zeros) to `len` bytes.
fn pad(d: &[u8], len: usize) -> Option<Vec<u8>> {
    let d = &d[d.iter().take_while(|&&b| b == 0).count().min(d.len())..];
    if d.len() > len {
        return None;
    }
    let mut v = vec![0u8; len - d.len()];
    v.extend_from_slice(d);
    Some(v)
}

/// Proves a plain private key. None when the list lacks the private numbers (a public key).
fn private_verdict(alg: &Sexp, public: &Public<'_>, info: KeyInfo) -> Option<Verdict> {
    let b = BigUint::from_bytes_be;
    let format = "libgcrypt S-expression";
    let mut v = match public {
        Public::Rsa { n, e } => {
            let d = alg.value(b"d")?;
            keys::verify(&PrivateKey::Rsa(RsaParts {
                n: Some(b(n)),
                e: Some(b(e)),
                d: Some(b(d)),
                p: alg.value(b"p").map(b),
                q: alg.value(b"q").map(b),
                // libgcrypt's u is p⁻¹ mod q; the RSA check accepts either convention.
                qinv: alg.value(b"u").map(b),
                format: format.into(),
                ..Default::default()
            }))
        }
        Public::Dsa { p, q, g, y } => keys::verify(&PrivateKey::Dsa(DsaParts {
            p: b(p),
            q: b(q),
            g: b(g),
            y: Some(b(y)),
            x: b(alg.value(b"x")?),
            format: format.into(),
        })),
        Public::Elg { p, g, y } => elgamal(b(p), b(g), b(y), b(alg.value(b"x")?), info.clone()),
        Public::Ec { curve, q } => {
            let d = alg.value(b"d")?;
            match curve {
                CurveKind::Ed25519 => keys::verify(&PrivateKey::Ed25519 {
                    seed: pad(d, 32)?.try_into().ok()?,
                    public: q.and_then(native_point).map(|p| p.to_vec()),
                }),
                CurveKind::Cv25519 => x25519(d, *q)?,
                CurveKind::Nist(c) => keys::verify(&PrivateKey::Ec {
                    curve: *c,
                    d: pad(d, c.scalar_len())?,
                    public: q.map(<[u8]>::to_vec),
                }),
                CurveKind::Other => keys::verify(&PrivateKey::Unsupported {
                    algorithm: format!(
                        "EC on curve {}",
                        printable(&String::from_utf8_lossy(
                            alg.value(b"curve").unwrap_or_default()
                        ))
                    ),
                }),
            }
        }
    };
    v.key.format = Some(format.into());
    if v.key.algorithm.is_empty() {
        v.key = info;
    }
    Some(v)
}

/// Curve25519 (GnuPG's cv25519): the secret is stored as an OpenPGP MPI, big-endian (the
/// reverse of X25519's little-endian scalar), or with the 0x40 native prefix in libgcrypt's
/// own order. Both readings are tried against the stored public point; the one that matches
/// is the proof. Without a point, the OpenPGP reading is used and the key is only derived.
fn x25519(d: &[u8], q: Option<&[u8]>) -> Option<Verdict> {
    let stored = q.and_then(native_point);
    let mut readings: Vec<[u8; 32]> = Vec::new();
    if let Some(native) = d.strip_prefix(&[0x40]).filter(|r| r.len() == 32) {
        readings.push(native.try_into().ok()?);
    }
    let mut be = pad(d, 32)?;
    be.reverse();
    readings.push(be.clone().try_into().ok()?);
    be.reverse();
    readings.push(be.try_into().ok()?);
    let mut first = None;
    for r in readings {
        let v = keys::verify(&PrivateKey::X25519 {
            scalar: r,
            public: stored.map(|p| p.to_vec()),
        });
        if v.status == Status::Verified {
            return Some(v);
        }
        first.get_or_insert(v);
    }
    first
}

/// Elgamal: y = g^x mod p proves the private value; no SPKI exists for Elgamal keys, so the
/// finding has no fingerprint (docs/design.md: absent where no canonical form exists).
fn elgamal(p: BigUint, g: BigUint, y: BigUint, x: BigUint, key: KeyInfo) -> Verdict {
    let one = BigUint::one();
    let bad = |why: &str| Verdict {
        material: None,
        status: Status::Corrupted,
        verification: why.into(),
        key: key.clone(),
        spki: None,
    };
    if p.bits() > MAX_P_BITS || p <= one || g.is_zero() || x.is_zero() || x >= p || y >= p {
        return bad("Elgamal numbers out of range");
    }
    if g.modpow(&x, &p) != y {
        return bad("y ≠ g^x mod p: damaged or inconsistent Elgamal key");
    }
    Verdict {
        material: None,
        status: Status::Verified,
        verification: "y = g^x mod p (Elgamal; no SPKI form, so no fingerprint)".into(),
        key,
        spki: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_at_the_start_of_the_data_has_no_opening_before_it() {
        // Found by the fuzz target: the look-behind for a list's `(` underflowed when the
        // algorithm word was the very first byte (`private-key(` followed by a word).
        assert_eq!(open_before(b"rsa(1:n", 0, 3), None);
        assert_eq!(open_before(b" rsa", 1, 3), None);
        let r = crate::Scanner::new().scan_bytes("fuzz", b"private-key(`");
        assert!(r.input.complete);
    }
    use crate::keys::testkeys;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02X}")).collect()
    }

    fn canonical_atom(b: &[u8]) -> Vec<u8> {
        [format!("{}:", b.len()).as_bytes(), b].concat()
    }

    /// An Ed25519 key in the three syntaxes, with its SPKI fingerprint.
    fn ed25519() -> ([u8; 32], [u8; 32], String) {
        let seed = [7u8; 32];
        let pk = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let fp = fingerprint::sha256_fingerprint(&fingerprint::ed25519_spki(&pk).unwrap());
        (seed, pk, fp)
    }

    fn scan(data: &[u8]) -> Vec<Finding> {
        let r = crate::Scanner::new().scan_bytes("t", data);
        r.findings
            .into_iter()
            .filter(|f| f.detector == NAME)
            .collect()
    }

    #[test]
    fn ed25519_in_every_syntax_is_verified() {
        let (seed, pk, fp) = ed25519();
        let q = [&[0x40][..], &pk].concat();
        let advanced = format!(
            "Created: 20261206T182128\nKey: (private-key (ecc (curve Ed25519)(flags eddsa)(q\n  #{}#)\n (d #{}#)\n ))\n",
            hex(&q),
            hex(&seed)
        );
        let mut canonical = b"(11:private-key(3:ecc(5:curve7:Ed25519)(5:flags5:eddsa)(1:q".to_vec();
        canonical.extend(canonical_atom(&q));
        canonical.extend(b")(1:d");
        canonical.extend(canonical_atom(&seed));
        canonical.extend(b")))");
        // Internal form with the head overwritten by 16 bytes of allocator pointers.
        // (`03 01 0b 00 private-key 03`, 16 bytes, gone; `01 03 00 ecc` left.)
        let mut internal = vec![0x90, 0, 0, 0xa4, 0x64, 0x7f, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        internal.extend([1, 3, 0]);
        internal.extend(b"ecc");
        internal.extend([3, 1, 5, 0]);
        internal.extend(b"curve");
        internal.extend([1, 7, 0]);
        internal.extend(b"Ed25519");
        internal.extend([4, 3, 1, 1, 0, b'q', 1, 33, 0]);
        internal.extend(&q);
        internal.extend([4, 3, 1, 1, 0, b'd', 1, 32, 0]);
        internal.extend(&seed);
        internal.extend([4, 4, 4, 0]);
        // The same list with its opening byte intact, after other bytes.
        let mut opened = vec![0x94, 5, 0, 0, 0, 0, 0, 0, 3];
        opened.extend(&internal[16..]);
        // One byte more gone (the buffer started a byte further in).
        let mut seventeen = vec![
            0x26, 0, 0xcf, 0xf9, 7, 0, 0, 0, 0x13, 0x31, 0xae, 0x91, 0x66,
        ];
        seventeen.extend([0x77, 0x29, 0x2a, 0x2a]);
        seventeen.extend(&internal[17..]);
        // And the canonical form with its head overwritten the same way.
        let mut headless = vec![0xee; 16];
        headless.extend(&canonical[16..]);
        for (data, enc) in [
            (advanced.into_bytes(), "gcrypt-sexp-advanced"),
            (canonical, "gcrypt-sexp-canonical"),
            (headless, "gcrypt-sexp-canonical"),
            (internal, "gcrypt-sexp-internal"),
            (opened, "gcrypt-sexp-internal"),
            (seventeen, "gcrypt-sexp-internal"),
        ] {
            let f = scan(&data);
            assert_eq!(f.len(), 1, "{enc}: {f:?}");
            assert_eq!(f[0].encoding, enc);
            assert!(f[0].verified, "{enc}: {}", f[0].verification);
            assert_eq!(f[0].fingerprint.as_deref(), Some(fp.as_str()));
            let j = serde_json::to_string(&f[0]).unwrap();
            assert!(
                !j.contains(&hex(&seed)) && !j.to_lowercase().contains(&hex(&seed).to_lowercase())
            );
        }
    }

    #[test]
    fn rsa_canonical_and_damaged() {
        let k = testkeys::rsa(2048, false);
        let two = BigUint::from(2u32);
        let u = k.p.modpow(&(&k.q - &two), &k.q); // p⁻¹ mod q (q is prime)
        let atoms: Vec<(&str, Vec<u8>)> = vec![
            ("n", k.n.to_bytes_be()),
            ("e", vec![1, 0, 1]),
            ("d", k.d.to_bytes_be()),
            ("p", k.p.to_bytes_be()),
            ("q", k.q.to_bytes_be()),
            ("u", u.to_bytes_be()),
        ];
        let fp = fingerprint::sha256_fingerprint(&k.spki_der);
        let build = |atoms: &[(&str, Vec<u8>)]| {
            let mut s = b"(11:private-key(3:rsa".to_vec();
            for (n, v) in atoms {
                s.extend(format!("(1:{n}").as_bytes());
                s.extend(canonical_atom(v));
                s.push(b')');
            }
            s.extend(b"))");
            s
        };
        let f = scan(&build(&atoms));
        assert_eq!(f.len(), 1);
        assert!(f[0].verified, "{}", f[0].verification);
        assert_eq!(f[0].fingerprint.as_deref(), Some(fp.as_str()));
        // One flipped bit in d: still found, never verified.
        let mut bad = atoms.clone();
        let last = bad[2].1.len() - 1;
        bad[2].1[last] ^= 1;
        let f = scan(&build(&bad));
        assert_eq!(f.len(), 1);
        assert!(!f[0].verified);
        assert_eq!(f[0].status, "corrupted");
        // A public key is not a finding.
        let public = b"(10:public-key(3:rsa(1:n3:\x00\xc4\x01)(1:e3:\x01\x00\x01)))";
        assert!(scan(public).is_empty());
    }

    #[test]
    fn protected_and_shadowed_keys() {
        let (_, pk, fp) = ed25519();
        let q = hex(&[&[0x40][..], &pk].concat());
        let protected = format!(
            "(protected-private-key (ecc (curve Ed25519)(flags eddsa)(q #{q}#)(protected \
             openpgp-s2k3-ocb-aes ((sha1 #0102030405060708# \"20971520\")#0102030405060708090a0b0c#)#{}#)(protected-at \"20261206T182128\")))",
            "AB".repeat(80)
        );
        let f = scan(protected.as_bytes());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].status, "encrypted");
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].verification.contains("openpgp-s2k3-ocb-aes"));
        assert_eq!(f[0].fingerprint.as_deref(), Some(fp.as_str()));
        let shadowed = format!(
            "(shadowed-private-key (ecc (curve Ed25519)(q #{q}#)(shadowed t1-v1 (#D2760001240103#\"OPENPGP.1\"))))"
        );
        let f = scan(shadowed.as_bytes());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].status, "unverifiable");
        assert_eq!(f[0].severity, Severity::Low);
    }

    #[test]
    fn nist_and_cv25519_keys() {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let sk = p256::SecretKey::from_slice(&[9u8; 32]).unwrap();
        let q = sk.public_key().to_encoded_point(false);
        let s = format!(
            "(private-key (ecc (curve \"NIST P-256\")(q #{}#)(d #{}#)))",
            hex(q.as_bytes()),
            hex(&[9u8; 32])
        );
        let f = scan(s.as_bytes());
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].verified, "{}", f[0].verification);
        // cv25519: big-endian secret as GnuPG stores it.
        let scalar = {
            let mut s = [0x11u8; 32];
            s[0] &= 248;
            s[31] = (s[31] & 127) | 64;
            s
        };
        let pk = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(scalar));
        let mut be = scalar;
        be.reverse();
        let s = format!(
            "(private-key (ecc (curve Curve25519)(flags djb-tweak)(q #40{}#)(d #{}#)))",
            hex(pk.as_bytes()),
            hex(&be)
        );
        let f = scan(s.as_bytes());
        assert_eq!(f.len(), 1);
        assert!(f[0].verified, "{}", f[0].verification);
        assert_eq!(f[0].kind, "x25519-private-key");
    }

    /// A megabyte of anchors, each starting a list that nests until the depth bound: every
    /// hit costs a bounded parse, never a copy or a walk to the end of the data.
    #[test]
    fn dense_anchors_stay_cheap() {
        for unit in [
            &b"\x01\x03\x00rsa\x03"[..],
            b"\x03\x00rsa\x03",
            b"(3:rsa(",
            b"3:ecc(",
            b"(private-key ",
            b"(11:private-key",
        ] {
            let data: Vec<u8> = unit.iter().copied().cycle().take(1 << 20).collect();
            let t = std::time::Instant::now();
            assert!(scan(&data).is_empty());
            assert!(
                t.elapsed() < std::time::Duration::from_secs(20),
                "{:?}: {:?}",
                String::from_utf8_lossy(unit),
                t.elapsed()
            );
        }
    }

    #[test]
    fn elgamal_is_checked() {
        // p = 2·q + 1 with small numbers is enough for the algebra.
        let p = BigUint::from(1_000_000_007u64);
        let g = BigUint::from(5u32);
        let x = BigUint::from(123_456_789u64);
        let y = g.modpow(&x, &p);
        let s = |y: &BigUint| {
            format!(
                "(private-key (elg (p #{}#)(g #{}#)(y #{}#)(x #{}#)))",
                hex(&p.to_bytes_be()),
                hex(&g.to_bytes_be()),
                hex(&y.to_bytes_be()),
                hex(&x.to_bytes_be())
            )
        };
        let f = scan(s(&y).as_bytes());
        assert_eq!(f.len(), 1);
        assert!(f[0].verified);
        assert!(f[0].fingerprint.is_none());
        let f = scan(s(&(y + 1u32)).as_bytes());
        assert_eq!(f[0].status, "corrupted");
    }
}
