//! Residue: every byte pattern under which the private material of a proven key can survive
//! in a dump, and one searcher for all of them.
//!
//! Removing the finding a detector reported is not enough. A process that loaded a PEM key
//! also holds its integers big-endian in a freed decode buffer, as little-endian limbs in a
//! BIGNUM, in Java `int[]` order, as hex text in a log line, as base64 of the PEM in a
//! Kubernetes secret; half of a prime's bits already give the key away (Coppersmith). So for
//! each proven key this module derives *all* of its private integers (RSA p, q, d, dP, dQ,
//! qInv — both d variants, mod φ and mod λ; EC d; Ed25519 and X25519 seeds; DSA x) and
//! encodes each of them every way dumpguard or a person could read it back:
//!
//! - binary: big-endian, little-endian (= little-endian 32- and 64-bit limbs), Java `int[]`
//!   word order, Go `bigmod` 63-bit words;
//! - hex: lower and upper case, with and without `:` separators, ASCII and UTF-16LE;
//! - base64 and base64url of the integer at each of the three alignments it can have inside
//!   a longer blob (this covers base64 of the DER of any container holding it), ASCII and
//!   UTF-16LE;
//! - the PEM text of the key's DER (line breaks included) and base64/base64url of that PEM
//!   text (three alignments).
//!
//! Each form is searched as every window that carries [`FRAGMENT`] bytes of secret (a 16-byte
//! window of the binary forms, 32 hex digits, 47 colon-hex characters, 22 base64 characters
//! ...), at every position, so a whole copy and any surviving 16-byte piece are both found.
//! Windows are cut only from secret bytes (never from DER headers, PEM armor or public
//! values), so they cannot match another key's structure; 16 random bytes do not occur by
//! chance.
//!
//! The same [`Residue`] is used to plan a redaction and to check its result, so the check
//! searches exactly for what the redaction claims to have removed. A [`Secret`] holds private
//! key material in memory only while a redaction runs; it is never serialised and its
//! `Debug` prints the fingerprint alone.

use super::{decode, fingerprint, limbs, limbs::Repr, PrivateKey, Status};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use num_bigint_dig::{BigUint, ModInverse};
use num_integer::Integer;
use std::collections::{HashMap, HashSet};

/// Bytes of secret every search pattern carries.
pub const FRAGMENT: usize = 16;
/// Values shorter than this are not searched (too likely to match by chance); key material is
/// at least 32 bytes (a P-256 scalar), CRT values of RSA-512 32 bytes.
const MIN_VALUE_BYTES: usize = 24;
/// Most keys followed in one redaction, and most pattern bytes for all of them: beyond these
/// the searcher is not built and the caller fails closed (a hostile dump with thousands of
/// distinct proven keys is refused, not searched with an unbounded automaton).
pub const MAX_SECRETS: usize = 64;
const MAX_PATTERN_BYTES: usize = 96 << 20;
/// Longest finding re-decoded to recover a key (PEM of RSA-16384 with slack).
const MAX_DECODE_BYTES: usize = 64 << 10;
/// Public exponents tried when only primes are known.
use super::rsa_recover::COMMON_E;

/// The private material of one proven key.
#[derive(Clone, Default)]
pub struct Secret {
    /// docs/design.md fingerprint of the key.
    pub fingerprint: String,
    /// Private integers and seeds, minimal big-endian.
    values: Vec<Vec<u8>>,
    /// DER encodings of the private key (as found, and PKCS#1 rebuilt for RSA): the PEM forms
    /// depend on where each integer falls in its 64-character lines.
    ders: Vec<Vec<u8>>,
    /// RSA n and e, when known: completes a key of which only a prime turns up later.
    rsa: Option<(BigUint, BigUint)>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Secret({}, {} values, {} encodings)",
            self.fingerprint,
            self.values.len(),
            self.ders.len()
        )
    }
}

impl Secret {
    /// A key with no material yet (filled by [`Secret::add_value`]).
    pub fn new(fingerprint: &str) -> Secret {
        Secret {
            fingerprint: fingerprint.into(),
            ..Default::default()
        }
    }

    /// The material of a decoded key, when verification proves (or derives) it; `der` is the
    /// encoding it was decoded from, if any.
    pub fn from_key(key: &PrivateKey, der: Option<&[u8]>) -> Option<Secret> {
        let v = super::verify(key);
        if !matches!(v.status, Status::Verified | Status::Derived) {
            return None;
        }
        let mut s = Secret::new(&v.fingerprint()?);
        match key {
            PrivateKey::Rsa(parts) => {
                for x in [
                    &parts.p,
                    &parts.q,
                    &parts.d,
                    &parts.dp,
                    &parts.dq,
                    &parts.qinv,
                ]
                .into_iter()
                .flatten()
                {
                    s.add_value(x.to_bytes_be());
                }
                let e = parts.e.clone().unwrap_or_else(|| BigUint::from(65537u32));
                if let (Some(p), Some(q)) = (&parts.p, &parts.q) {
                    let n = parts.n.clone().unwrap_or_else(|| p * q);
                    s.rsa = Some((n.clone(), e.clone()));
                    s.complete_rsa(p);
                }
            }
            PrivateKey::Ec { curve, d, .. } => {
                s.add_value(d.clone());
                // RustCrypto p384/p521 keep the scalar as d·R mod n; OpenSSL signs with it.
                s.add_value(super::ec_forms::scalar_montgomery_be(*curve, d));
            }
            PrivateKey::Ed25519 { seed, .. } => s.add_value(seed.to_vec()),
            PrivateKey::X25519 { scalar, .. } => s.add_value(scalar.to_vec()),
            PrivateKey::Dsa(parts) => s.add_value(parts.x.to_bytes_be()),
            PrivateKey::Encrypted { .. } | PrivateKey::Unsupported { .. } => return None,
        }
        if let Some(der) = der {
            s.add_der(der.to_vec());
        }
        Some(s)
    }

    /// Adds a private integer or seed (big-endian; leading zeros are dropped).
    pub fn add_value(&mut self, mut v: Vec<u8>) {
        let lead = v.iter().position(|&b| b != 0).unwrap_or(v.len());
        v.drain(..lead);
        if v.len() >= MIN_VALUE_BYTES && !self.values.contains(&v) {
            self.values.push(v);
        }
    }

    fn add_der(&mut self, der: Vec<u8>) {
        if !self.ders.contains(&der) && self.ders.len() < 4 {
            self.ders.push(der);
        }
    }

    /// The private integers and seeds, big-endian.
    pub fn values(&self) -> &[Vec<u8>] {
        &self.values
    }

    /// Whether RSA n and e are known (then every private integer is).
    pub fn has_rsa_public(&self) -> bool {
        self.rsa.is_some()
    }

    /// Merges another secret of the same key.
    pub fn merge(&mut self, other: Secret) {
        for v in other.values {
            self.add_value(v);
        }
        for d in other.ders {
            self.add_der(d);
        }
        if self.rsa.is_none() {
            self.rsa = other.rsa;
        }
    }

    /// With n and e known and `p` a factor of n: adds q, both variants of d (mod φ(n) and
    /// mod λ(n)), dP, dQ and the CRT coefficient in both orders, and the PKCS#1 DER. False
    /// when `p` does not divide n.
    pub fn complete_rsa(&mut self, p: &BigUint) -> bool {
        let Some((n, e)) = self.rsa.clone() else {
            return false;
        };
        let Some(values) = rsa_private_values(&n, &e, p) else {
            return false;
        };
        for v in &values {
            self.add_value(v.to_bytes_be());
        }
        // values: q, d (λ), dP, dQ, qInv (PKCS#1 order: q⁻¹ mod p), ...
        let q = &values[0];
        let ints: Vec<Vec<u8>> = [
            &BigUint::from(0u32),
            &n,
            &e,
            &values[1],
            p,
            q,
            &values[2],
            &values[3],
            &values[4],
        ]
        .iter()
        .map(|x| x.to_bytes_be())
        .collect();
        let refs: Vec<&[u8]> = ints.iter().map(|v| v.as_slice()).collect();
        if let Some(der) = fingerprint::integer_sequence(&refs) {
            self.add_der(der);
        }
        true
    }

    /// With only primes known: tries the pairs among the values whose product, with a common
    /// public exponent, has this key's fingerprint; completes the key from the first that does.
    pub fn complete_rsa_from_primes(&mut self, primes: &[BigUint]) -> bool {
        for (i, a) in primes.iter().enumerate().take(8) {
            for b in primes.iter().skip(i + 1).take(8) {
                let n = a * b;
                for e in COMMON_E {
                    let e = BigUint::from(e);
                    let fp = fingerprint::rsa_spki(&n.to_bytes_be(), &e.to_bytes_be())
                        .map(|s| fingerprint::sha256_fingerprint(&s));
                    if fp.as_deref() == Some(self.fingerprint.as_str()) {
                        self.rsa = Some((n, e));
                        return self.complete_rsa(a);
                    }
                }
            }
        }
        false
    }

    /// Completes an RSA key from a prime and a known public key (n, e) with this key's
    /// fingerprint (the `--known-keys` inventory).
    pub fn complete_rsa_with_public(&mut self, n: &BigUint, e: &BigUint, p: &BigUint) -> bool {
        let fp = fingerprint::rsa_spki(&n.to_bytes_be(), &e.to_bytes_be())
            .map(|s| fingerprint::sha256_fingerprint(&s));
        if fp.as_deref() != Some(self.fingerprint.as_str()) {
            return false;
        }
        self.rsa = Some((n.clone(), e.clone()));
        self.complete_rsa(p)
    }
}

/// For a modulus `n` with factor `p` and exponent `e`: q, d mod λ(n), dP, dQ, q⁻¹ mod p, then
/// d mod φ(n) and p⁻¹ mod q (runtimes and exporters use either convention).
pub fn rsa_private_values(n: &BigUint, e: &BigUint, p: &BigUint) -> Option<Vec<BigUint>> {
    let one = BigUint::from(1u32);
    if *p <= one || p >= n || !(n % p).eq(&BigUint::from(0u32)) {
        return None;
    }
    let q = n / p;
    if q <= one {
        return None;
    }
    let (p1, q1) = (p - &one, &q - &one);
    let lambda = p1.lcm(&q1);
    let d = e.mod_inverse(&lambda)?.to_biguint()?;
    let d_phi = e.mod_inverse(&(&p1 * &q1))?.to_biguint()?;
    let qinv = q.clone().mod_inverse(p)?.to_biguint()?;
    let pinv = p.clone().mod_inverse(&q)?.to_biguint()?;
    let dp = &d % &p1;
    let dq = &d % &q1;
    Some(vec![q, d, dp, dq, qinv, d_phi, pinv])
}

/// How a raw-integer finding's bytes encode its value, by the finding's `encoding`.
pub fn integer_repr(encoding: &str) -> Option<Repr> {
    Some(match encoding {
        "le64-limbs" | "bignum-struct" | "go-slice" | "dotnet-uint-array" | "symcrypt-int"
        | "rust-biguint" | "rustcrypto-scalar" => Repr::Le,
        "be" | "dotnet-byte-array" => Repr::Be,
        "be-sign-byte" => Repr::BeSigned,
        "java-int-words" | "java-int-array" => Repr::JavaWords,
        "go63-limbs" | "go63-slice" => Repr::Go63,
        _ => return None,
    })
}

/// The integer a raw-integer finding's bytes hold, big-endian.
pub fn raw_integer(bytes: &[u8], encoding: &str) -> Option<BigUint> {
    let mut v = limbs::decode(bytes, integer_repr(encoding)?)?;
    limbs::trim(&mut v);
    Some(limbs::to_biguint(&v))
}

/// Decodes the private key a key finding covers, for the encodings that carry a complete
/// private-key structure in the clear: DER (PKCS#8, PKCS#1, SEC1, OpenSSL DSA), PEM (also
/// UTF-16LE, JSON-escaped, on one line) and bare base64 or base64url of the DER. Returns the
/// key and its DER. Encrypted PEM is not decoded (it has no material in the clear).
pub fn decode_key(bytes: &[u8]) -> Option<(PrivateKey, Vec<u8>)> {
    if bytes.len() > MAX_DECODE_BYTES {
        return None;
    }
    if bytes.first() == Some(&0x30) {
        if let Some(len) = decode::tlv_len(bytes) {
            if let Some(d) = decode::private_key_der(&bytes[..len]) {
                return Some((d.key, bytes[..len].to_vec()));
            }
        }
    }
    let text: Vec<u8> = if bytes.len() >= 4 && bytes.iter().skip(1).step_by(2).all(|&b| b == 0) {
        bytes.iter().step_by(2).copied().collect()
    } else {
        bytes.to_vec()
    };
    let body = match memchr::memmem::find(&text, b"-----BEGIN") {
        Some(b) => {
            let after = b + 10;
            let open_end = memchr::memmem::find(&text[after..], b"-----")? + after + 5;
            let end = memchr::memmem::find(&text[open_end..], b"-----END")
                .map_or(text.len(), |e| e + open_end);
            &text[open_end..end]
        }
        None => &text[..],
    };
    if memchr::memmem::find(body, b"Proc-Type").is_some() {
        return None;
    }
    // Drop JSON/C escapes of line breaks, then everything that is not base64.
    let mut chars = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'\\' && matches!(body.get(i + 1), Some(b'n' | b'r' | b't')) {
            i += 2;
            continue;
        }
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => chars.push(c),
            b'-' => chars.push(b'+'),
            b'_' => chars.push(b'/'),
            _ => {}
        }
        i += 1;
    }
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let der = lenient.decode(&chars).ok()?;
    let len = decode::tlv_len(&der)?;
    let d = decode::private_key_der(&der[..len])?;
    Some((d.key, der[..len].to_vec()))
}

/// A form: encoded bytes, which of them carry secret, and how long a window must be to hold
/// [`FRAGMENT`] bytes of secret.
struct Form {
    bytes: Vec<u8>,
    secret: Vec<bool>,
    window: usize,
    name: &'static str,
}

impl Form {
    fn all_secret(bytes: Vec<u8>, window: usize, name: &'static str) -> Form {
        let secret = vec![true; bytes.len()];
        Form {
            bytes,
            secret,
            window,
            name,
        }
    }

    /// The same text in UTF-16LE.
    fn utf16(&self, name: &'static str) -> Form {
        Form {
            bytes: self.bytes.iter().flat_map(|&b| [b, 0]).collect(),
            secret: self.secret.iter().flat_map(|&s| [s, s]).collect(),
            window: self.window * 2,
            name,
        }
    }
}

/// Base64 text of `bytes` (standard or URL alphabet, no padding) and, per character, whether
/// all the bits it encodes are secret.
fn base64_form(
    bytes: &[u8],
    secret: &[bool],
    url: bool,
    window: usize,
    name: &'static str,
) -> Form {
    let text = if url {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    } else {
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
    };
    let total_bits = bytes.len() * 8;
    let mask = (0..text.len())
        .map(|i| {
            let (first, last) = (6 * i, 6 * i + 5);
            last < total_bits && secret[first / 8] && secret[last / 8]
        })
        .collect();
    Form {
        bytes: text.into_bytes(),
        secret: mask,
        window,
        name,
    }
}

fn hex_colon(v: &[u8], upper: bool) -> Vec<u8> {
    let h = if upper {
        hex::encode_upper(v)
    } else {
        hex::encode(v)
    };
    let mut out = Vec::with_capacity(v.len() * 3);
    for (i, pair) in h.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            out.push(b':');
        }
        out.extend_from_slice(pair);
    }
    out
}

/// Every form of one value.
fn value_forms(v: &[u8], out: &mut Vec<Form>) {
    let mut le = v.to_vec();
    le.reverse();
    let l = limbs::decode(&le, Repr::Le).unwrap_or_default();
    let bits = limbs::bits(&l);
    out.push(Form::all_secret(v.to_vec(), FRAGMENT, "be"));
    out.push(Form::all_secret(le, FRAGMENT, "le-limbs"));
    out.push(Form::all_secret(
        limbs::encode(&l, bits, Repr::JavaWords),
        FRAGMENT,
        "java-int-words",
    ));
    out.push(Form::all_secret(
        limbs::encode(&l, bits, Repr::Go63),
        FRAGMENT,
        "go63-limbs",
    ));
    let hexes = [
        (
            hex::encode(v).into_bytes(),
            2 * FRAGMENT,
            "hex",
            "hex-utf16le",
        ),
        (
            hex::encode_upper(v).into_bytes(),
            2 * FRAGMENT,
            "hex",
            "hex-utf16le",
        ),
        (
            hex_colon(v, false),
            3 * FRAGMENT - 1,
            "hex-colon",
            "hex-colon-utf16le",
        ),
        (
            hex_colon(v, true),
            3 * FRAGMENT - 1,
            "hex-colon",
            "hex-colon-utf16le",
        ),
    ];
    for (text, window, name, wide) in hexes {
        let f = Form::all_secret(text, window, name);
        out.push(f.utf16(wide));
        out.push(f);
    }
    // Base64 at the three alignments the value can have inside a longer blob.
    let secret = vec![true; v.len()];
    let window = (FRAGMENT * 8).div_ceil(6) + 1;
    for k in 0..3.min(v.len()) {
        for (url, name, wide) in [
            (false, "base64", "base64-utf16le"),
            (true, "base64url", "base64url-utf16le"),
        ] {
            let f = base64_form(&v[k..], &secret[k..], url, window, name);
            out.push(f.utf16(wide));
            out.push(f);
        }
    }
}

/// PEM text of `der` (64-character lines, LF) with its secret mask, and base64 of that text.
fn der_forms(der: &[u8], values: &[Vec<u8>], out: &mut Vec<Form>) {
    let mut secret = vec![false; der.len()];
    for v in values {
        for at in memchr::memmem::find_iter(der, v) {
            secret[at..at + v.len()].iter_mut().for_each(|s| *s = true);
        }
    }
    let body = base64_form(der, &secret, false, 0, "");
    let mut pem = b"-----BEGIN PRIVATE KEY-----\n".to_vec();
    let mut mask = vec![false; pem.len()];
    for (i, (chunk, m)) in body
        .bytes
        .chunks(64)
        .zip(body.secret.chunks(64))
        .enumerate()
    {
        if i > 0 {
            // A line break inside secret text is part of a fragment that spans it.
            let joined = *mask.last().unwrap_or(&false) && m[0];
            pem.push(b'\n');
            mask.push(joined);
        }
        pem.extend_from_slice(chunk);
        mask.extend_from_slice(m);
    }
    pem.extend_from_slice(b"\n-----END PRIVATE KEY-----\n");
    mask.resize(pem.len(), false);
    let window = (FRAGMENT * 8).div_ceil(6) + 1;
    out.push(Form {
        bytes: pem.clone(),
        secret: mask.clone(),
        window,
        name: "pem",
    });
    // Base64 of the PEM text (Kubernetes secrets, .env files): 4 characters per 3 of PEM.
    let window = (window * 4).div_ceil(3) + 1;
    for k in 0..3 {
        for (url, name) in [(false, "base64-of-pem"), (true, "base64url-of-pem")] {
            out.push(base64_form(&pem[k..], &mask[k..], url, window, name));
        }
    }
}

/// One searcher for every residue form of a set of proven keys.
///
/// Searching every window of every form would take hundreds of thousands of patterns per
/// key. Instead each form is cut into blocks of `window / 2 + 1` bytes at every
/// `window / 2`-th position: any window of `window` secret bytes contains a whole block (so
/// every 16-byte fragment is found), a block still carries over 8 bytes of secret (no chance
/// matches), and a block hit is then grown byte by byte, in both directions, over whatever
/// of the same form surrounds it, so the whole surviving stretch is reported.
pub struct Residue {
    secrets: Vec<Secret>,
    forms: Vec<(usize, Form)>,
    ac: Option<AhoCorasick>,
    /// Per pattern: (index into `forms`, position of the block in the form).
    owners: Vec<(usize, usize)>,
}

impl std::fmt::Debug for Residue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Residue({} keys, {} patterns)",
            self.secrets.len(),
            self.owners.len()
        )
    }
}

/// How much of a copy [`Residue::find_paged`] searches before handing its pages back.
pub const SLICE: usize = 64 << 20;

/// One occurrence of a residue form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub offset: u64,
    pub length: u64,
    pub fingerprint: String,
    pub form: &'static str,
}

/// Why the residue of a set of keys cannot be searched: the caller must then fail closed (a
/// redacted copy whose residue was not checked is never handed out).
#[derive(Debug, thiserror::Error)]
pub enum ResidueError {
    /// More keys than [`MAX_SECRETS`].
    #[error(
        "{keys} distinct proven keys: more than the {MAX_SECRETS} whose residue can be searched"
    )]
    TooManyKeys { keys: usize },
    /// Their patterns exceed `MAX_PATTERN_BYTES`.
    #[error("the residue patterns of the proven keys exceed the search budget")]
    OverBudget,
    /// The multi-pattern searcher refused the patterns.
    #[error("cannot build the residue searcher: {0}")]
    Searcher(#[source] aho_corasick::BuildError),
}

impl Residue {
    /// Builds the searcher; an error when the keys are too many or their patterns too large
    /// to search (the caller must then fail closed).
    pub fn build(secrets: Vec<Secret>) -> Result<Residue, ResidueError> {
        if secrets.len() > MAX_SECRETS {
            return Err(ResidueError::TooManyKeys {
                keys: secrets.len(),
            });
        }
        let mut forms: Vec<(usize, Form)> = Vec::new();
        for (si, s) in secrets.iter().enumerate() {
            let mut fs = Vec::new();
            for v in &s.values {
                value_forms(v, &mut fs);
            }
            for d in &s.ders {
                der_forms(d, &s.values, &mut fs);
            }
            forms.extend(fs.into_iter().map(|f| (si, f)));
        }
        let mut seen: HashSet<&[u8]> = HashSet::new();
        let mut patterns: Vec<&[u8]> = Vec::new();
        let mut owners = Vec::new();
        let mut total = 0usize;
        for (fi, (_, f)) in forms.iter().enumerate() {
            let step = f.window / 2;
            let block = step + 1;
            let mut start = 0;
            while start + block <= f.bytes.len() {
                let end = start + block;
                if f.secret[start..end].iter().all(|&x| x) {
                    let w = &f.bytes[start..end];
                    if seen.insert(w) {
                        total += w.len();
                        if total > MAX_PATTERN_BYTES {
                            return Err(ResidueError::OverBudget);
                        }
                        patterns.push(w);
                        owners.push((fi, start));
                    }
                }
                start += step;
            }
        }
        let ac = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(ResidueError::Searcher)?,
            )
        };
        Ok(Residue {
            secrets,
            forms,
            ac,
            owners,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.ac.is_none()
    }

    pub fn secrets(&self) -> &[Secret] {
        &self.secrets
    }

    /// Every residue in `data`: each block hit grown over the stretch of its form that
    /// surrounds it; one range per stretch, sorted by offset.
    pub fn find(&self, data: &[u8]) -> Vec<Hit> {
        self.find_paged(data, |_, _| {})
    }

    /// [`Residue::find`] in slices of [`SLICE`] bytes, calling `done(start, end)` after each
    /// so the caller can hand a mapped file's pages back: the check of a redacted copy then
    /// keeps a slice resident, not the whole copy. The hits are the same as one pass's (a
    /// block hit belongs to the slice it starts in; slices overlap by the longest block).
    pub fn find_paged(&self, data: &[u8], done: impl Fn(usize, usize)) -> Vec<Hit> {
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        let overlap = ac.max_pattern_len();
        let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
        // The stretch last grown per form: later blocks of the same stretch are skipped, so a
        // dump full of copies costs one grow per copy, not one per block.
        let mut last: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut slice = 0;
        while slice < data.len() {
            let slice_end = (slice + SLICE).min(data.len());
            let stop = (slice_end + overlap).min(data.len());
            for hit in ac.find_overlapping_iter(&data[slice..stop]) {
                if slice + hit.start() >= slice_end {
                    continue; // the next slice's
                }
                let m =
                    aho_corasick::Match::new(hit.pattern(), slice + hit.start()..slice + hit.end());
                let (fi, pos) = self.owners[m.pattern().as_usize()];
                if last
                    .get(&fi)
                    .is_some_and(|&(a, b)| a <= m.start() && m.end() <= b)
                {
                    continue;
                }
                let f = &self.forms[fi].1;
                let (mut s, mut p) = (m.start(), pos);
                while s > 0 && p > 0 && f.secret[p - 1] && data[s - 1] == f.bytes[p - 1] {
                    s -= 1;
                    p -= 1;
                }
                let (mut e, mut q) = (m.end(), pos + (m.end() - m.start()));
                while e < data.len() && q < f.bytes.len() && f.secret[q] && data[e] == f.bytes[q] {
                    e += 1;
                    q += 1;
                }
                last.insert(fi, (s, e));
                ranges.push((s as u64, e as u64, fi));
            }
            done(slice, slice_end);
            slice = slice_end;
        }
        ranges.sort_unstable();
        ranges.dedup_by(|b, a| {
            a.2 == b.2 && b.0 <= a.1 && {
                a.1 = a.1.max(b.1);
                true
            }
        });
        ranges
            .into_iter()
            .map(|(s, e, fi)| {
                let (si, f) = &self.forms[fi];
                Hit {
                    offset: s,
                    length: e - s,
                    fingerprint: self.secrets[*si].fingerprint.clone(),
                    form: f.name,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_of(values: &[Vec<u8>]) -> Secret {
        let mut s = Secret::new("sha256:test");
        for v in values {
            s.add_value(v.clone());
        }
        s
    }

    fn random(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn a_copy_across_a_slice_boundary_is_found_whole_and_every_slice_is_released() {
        let v = random(128, 11);
        let r = Residue::build(vec![secret_of(std::slice::from_ref(&v))]).unwrap();
        let mut data = vec![0u8; SLICE + 4096];
        let at = SLICE - 50; // straddles the first slice's end
        data[at..at + v.len()].copy_from_slice(&v);
        let released = std::cell::RefCell::new(Vec::new());
        let hits = r.find_paged(&data, |a, b| released.borrow_mut().push((a, b)));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(
            (hits[0].offset, hits[0].length),
            (at as u64, v.len() as u64)
        );
        assert_eq!(*released.borrow(), vec![(0, SLICE), (SLICE, SLICE + 4096)]);
    }

    #[test]
    fn every_form_of_a_fragment_is_found_and_nothing_else() {
        let v = random(128, 7);
        let r = Residue::build(vec![secret_of(std::slice::from_ref(&v))]).unwrap();
        let frag = &v[37..37 + FRAGMENT];
        let mut le = frag.to_vec();
        le.reverse();
        let wide = |t: &[u8]| t.iter().flat_map(|&b| [b, 0]).collect::<Vec<u8>>();
        let forms: Vec<(&str, Vec<u8>)> = vec![
            ("be", frag.to_vec()),
            ("le", le),
            ("hex", hex::encode(frag).into_bytes()),
            ("HEX", hex::encode_upper(frag).into_bytes()),
            ("colon", hex_colon(frag, false)),
            ("COLON", hex_colon(frag, true)),
            ("utf16 hex", wide(hex::encode(frag).as_bytes())),
            ("utf16 colon", wide(&hex_colon(frag, true))),
        ];
        for (name, f) in forms {
            let mut data = random(4096, 99);
            data[1000..1000 + f.len()].copy_from_slice(&f);
            let hits = r.find(&data);
            assert!(!hits.is_empty(), "{name} not found");
            assert!(hits
                .iter()
                .all(|h| h.offset >= 1000 && h.offset + h.length <= 1000 + f.len() as u64));
        }
        // Base64 of a blob holding the value at any offset.
        for k in 0..3 {
            let mut blob = random(50 + k, 3);
            blob.extend_from_slice(&v);
            blob.extend(random(20, 4));
            let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
            let hits = r.find(b64.as_bytes());
            assert!(!hits.is_empty(), "base64 at alignment {k}");
        }
        assert!(r.find(&random(1 << 16, 1234)).is_empty());
    }

    #[test]
    fn too_many_keys_are_refused() {
        let many: Vec<Secret> = (0..=MAX_SECRETS as u64)
            .map(|i| secret_of(&[random(32, i + 1)]))
            .collect();
        assert!(matches!(
            Residue::build(many),
            Err(ResidueError::TooManyKeys { .. })
        ));
    }
}
