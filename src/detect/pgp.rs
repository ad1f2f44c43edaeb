//! OpenPGP secret keys (RFC 4880 §5.5.3, RFC 9580; docs/key-formats.md §3.4): v4 Secret-Key and
//! Secret-Subkey packets, binary (a decoded keyring in memory) and — through
//! [`decode_transferable`], called by the PEM detector — inside `PGP PRIVATE KEY BLOCK` armour.
//!
//! Packet headers are weak anchors (one byte), so binary packets are anchored on what a v4
//! secret key must contain: for RSA the public exponent 65537 as an MPI (`00 11 01 00 01`)
//! followed by an S2K usage byte (00, fd, fe, ff), walking back to a modulus MPI, the
//! algorithm, the version and a packet header whose length covers the parsed body exactly;
//! for EC keys the curve OID, preceded by its length, an EC algorithm id, and the version. Plaintext secrets (S2K usage 0) are verified
//! (RSA p·q = n …, u = p⁻¹ mod q, EdDSA seed → public point, ECDSA/ECDH d·G = Q, X25519,
//! DSA) and their two-byte checksum checked; encrypted ones are reported with their S2K.

use super::{verdict_cache, Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::{self, fingerprint, Curve, DsaParts, KeyInfo, PrivateKey, RsaParts};
use crate::keys::{Status, Verdict};
use crate::report::Finding;
use num_bigint_dig::BigUint;

pub struct Pgp;

/// Public-key algorithm ids (RFC 4880 §9.1, RFC 6637, draft-koch-eddsa-for-openpgp).
const RSA: [u8; 3] = [1, 2, 3];
const ELGAMAL: u8 = 16;
const DSA: u8 = 17;
const ECDH: u8 = 18;
const ECDSA: u8 = 19;
const EDDSA: u8 = 22;

const OID_ED25519: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01];
const OID_CV25519: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];

/// The largest secret-key packet followed (RSA-16384 ≈ 5 KiB).
const MAX_PACKET: usize = 16 * 1024;

/// Anchors: the RSA public exponent 65537 as an MPI (tag 0), and curve OIDs (tag 1). The
/// last NIST anchor is the shared prefix of the P-384, P-521 and secp256k1 OIDs.
fn anchor_bytes() -> Vec<Vec<u8>> {
    vec![
        vec![0x00, 0x11, 0x01, 0x00, 0x01],
        OID_ED25519.to_vec(),
        OID_CV25519.to_vec(),
        OID_P256.to_vec(),
        OID_P384[..4].to_vec(),
    ]
}

impl Detector for Pgp {
    fn name(&self) -> &'static str {
        "pgp"
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "OpenPGP secret keys and subkeys"
    }

    fn anchors(&self) -> Vec<Anchor> {
        anchor_bytes()
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| Anchor {
                bytes,
                tag: (i > 0) as u32,
            })
            .collect()
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink) {
        let d = cx.data;
        // Position of the version byte of the candidate packet body.
        let candidates: Vec<usize> = if tag == 0 {
            // S2K usage right after e: plaintext, or one of the encrypted forms.
            if !matches!(d.get(pos + 5), Some(0 | 253 | 254 | 255)) {
                return;
            }
            rsa_version_positions(d, pos)
        } else {
            // `04 ‖ time(4) ‖ algorithm ‖ OID length ‖ OID`.
            let ok = pos >= 7
                && matches!(d[pos - 2], ECDH | ECDSA | EDDSA)
                && (d[pos - 1] as usize) <= 16
                && d[pos - 7] == 4;
            if !ok {
                return;
            }
            vec![pos - 7]
        };
        for ver in candidates {
            if let Some((start, body)) = packet_ending_body_at(d, ver) {
                if let Some((v, what)) = secret_key(body) {
                    let len = ver - start + body.len();
                    sink.push(Finding::key(
                        "pgp",
                        "openpgp",
                        start as u64,
                        len as u64,
                        &v,
                        format!("[{what}, {len} bytes, redacted]"),
                    ));
                    return;
                }
            }
        }
    }
}

/// For an RSA anchor at `e_at` (the e MPI), the version-byte positions of bodies whose modulus
/// MPI ends right before it: `04 ‖ time(4) ‖ algo ‖ bits(2) ‖ n`. Candidates are the `04`
/// bytes 72..2056 bytes back (found with a SIMD search, so repeated anchors stay cheap).
fn rsa_version_positions(d: &[u8], e_at: usize) -> Vec<usize> {
    const MIN_N: usize = 64;
    const MAX_N: usize = 2048;
    let lo = e_at.saturating_sub(MAX_N + 8);
    let hi = e_at.saturating_sub(MIN_N + 8 - 1);
    if hi <= lo {
        return Vec::new();
    }
    let mut out = Vec::new();
    for i in memchr::memrchr_iter(4, &d[lo..hi]) {
        let v = lo + i;
        let n_at = v + 8;
        let len = e_at - n_at;
        let bits = u16::from_be_bytes([d[n_at - 2], d[n_at - 1]]) as usize;
        if RSA.contains(&d[v + 5])
            && bits.div_ceil(8) == len
            && d[n_at] != 0
            && bits_of(d[n_at]) == bits - 8 * (len - 1)
        {
            out.push(v);
        }
    }
    out
}

fn bits_of(b: u8) -> usize {
    8 - b.leading_zeros() as usize
}

/// A Secret-Key (5) or Secret-Subkey (7) packet whose body starts at `body_at`: tries the
/// header forms that could precede it. Returns the header start and the body.
fn packet_ending_body_at(d: &[u8], body_at: usize) -> Option<(usize, &[u8])> {
    for hlen in [2usize, 3, 5, 6] {
        let Some(start) = body_at.checked_sub(hlen) else {
            continue;
        };
        let Some((tag, hdr, len)) = header(&d[start..]) else {
            continue;
        };
        if hdr == hlen && matches!(tag, 5 | 7) && len <= MAX_PACKET {
            if let Some(body) = d.get(body_at..body_at.checked_add(len)?) {
                return Some((start, body));
            }
        }
    }
    None
}

/// Packet header: (tag, header length, body length). Partial lengths are not used by key
/// packets and are rejected.
fn header(d: &[u8]) -> Option<(u8, usize, usize)> {
    let ctb = *d.first()?;
    if ctb & 0x80 == 0 {
        return None;
    }
    if ctb & 0x40 == 0 {
        // Old format: tag in bits 5..2, length type in bits 1..0.
        let tag = (ctb >> 2) & 0x0f;
        let (h, len) = match ctb & 3 {
            0 => (2, *d.get(1)? as usize),
            1 => (3, u16::from_be_bytes([*d.get(1)?, *d.get(2)?]) as usize),
            2 => (
                5,
                u32::from_be_bytes(d.get(1..5)?.try_into().ok()?) as usize,
            ),
            _ => return None,
        };
        return Some((tag, h, len));
    }
    let tag = ctb & 0x3f;
    let o = *d.get(1)? as usize;
    let (h, len) = match o {
        0..=191 => (2, o),
        192..=223 => (3, ((o - 192) << 8) + *d.get(2)? as usize + 192),
        255 => (
            6,
            u32::from_be_bytes(d.get(2..6)?.try_into().ok()?) as usize,
        ),
        _ => return None,
    };
    Some((tag, h, len))
}

/// Decodes the packets of a transferable secret key (armour payload): the primary key's
/// verdict, with the subkeys' outcomes appended to its text. None when no secret-key packet
/// decodes.
pub fn decode_transferable(data: &[u8]) -> Option<(Verdict, String)> {
    let mut pos = 0;
    let mut keys: Vec<(Verdict, String)> = Vec::new();
    for _ in 0..256 {
        let Some((tag, h, len)) = header(data.get(pos..)?) else {
            break;
        };
        let Some(body) = data.get(pos + h..(pos + h).checked_add(len)?) else {
            break;
        };
        if matches!(tag, 5 | 7) {
            if let Some(k) = secret_key(body) {
                keys.push(k);
            }
        }
        pos += h + len;
        if pos >= data.len() {
            break;
        }
    }
    let mut it = keys.into_iter();
    let (mut v, what) = it.next()?;
    let subs: Vec<String> = it
        .map(|(s, w)| format!("{w}: {}", s.status.as_str()))
        .collect();
    if !subs.is_empty() {
        v.verification = format!("{}; subkeys: {}", v.verification, subs.join(", "));
    }
    Some((v, what))
}

/// Reads OpenPGP MPIs: 2-byte bit count, then the big-endian bytes.
struct Mpis<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Mpis<'a> {
    fn mpi(&mut self) -> Option<&'a [u8]> {
        let bits = u16::from_be_bytes(self.b.get(self.pos..self.pos + 2)?.try_into().ok()?);
        let len = (bits as usize).div_ceil(8);
        let v = self.b.get(self.pos + 2..self.pos + 2 + len)?;
        self.pos += 2 + len;
        Some(v)
    }

    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let v = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(v)
    }
}

/// The public part of a v4 key packet.
enum Public<'a> {
    Rsa {
        n: &'a [u8],
        e: &'a [u8],
    },
    Dsa {
        p: &'a [u8],
        q: &'a [u8],
        g: &'a [u8],
        y: &'a [u8],
    },
    Elgamal,
    Ec {
        alg: u8,
        oid: &'a [u8],
        point: &'a [u8],
    },
}

fn pad(d: &[u8], len: usize) -> Option<Vec<u8>> {
    if d.len() > len {
        return None;
    }
    let mut v = vec![0u8; len - d.len()];
    v.extend_from_slice(d);
    Some(v)
}

fn ec_curve(oid: &[u8]) -> Option<Curve> {
    Some(match oid {
        OID_P256 => Curve::P256,
        OID_P384 => Curve::P384,
        OID_P521 => Curve::P521,
        OID_SECP256K1 => Curve::Secp256k1,
        _ => return None,
    })
}

fn alg_name(p: &Public<'_>) -> &'static str {
    match p {
        Public::Rsa { .. } => "RSA",
        Public::Dsa { .. } => "DSA",
        Public::Elgamal => "Elgamal",
        Public::Ec { oid, .. } if *oid == OID_ED25519 => "Ed25519",
        Public::Ec { oid, .. } if *oid == OID_CV25519 => "X25519",
        Public::Ec { .. } => "EC",
    }
}

/// SPKI of the packet's public key (the fingerprint of encrypted keys).
fn public_spki(p: &Public<'_>) -> Option<Vec<u8>> {
    match p {
        Public::Rsa { n, e } => fingerprint::rsa_spki(n, e),
        Public::Dsa { p, q, g, y } => fingerprint::dsa_spki(p, q, g, y),
        Public::Elgamal => None,
        Public::Ec { oid, point, .. } => {
            let native = point
                .strip_prefix(&[0x40])
                .and_then(|x| <[u8; 32]>::try_from(x).ok());
            match *oid {
                OID_ED25519 => fingerprint::ed25519_spki(&native?),
                OID_CV25519 => fingerprint::x25519_spki(&native?),
                o => keys::pubkey::ec_spki(ec_curve(o)?, point),
            }
        }
    }
}

/// Decodes and verifies one v4 secret-key packet body. None when the body is not one.
fn secret_key(body: &[u8]) -> Option<(Verdict, String)> {
    let mut m = Mpis { b: body, pos: 0 };
    if m.byte()? != 4 {
        return None;
    }
    m.bytes(4)?; // creation time
    let alg = m.byte()?;
    let public = match alg {
        a if RSA.contains(&a) => Public::Rsa {
            n: m.mpi()?,
            e: m.mpi()?,
        },
        DSA => Public::Dsa {
            p: m.mpi()?,
            q: m.mpi()?,
            g: m.mpi()?,
            y: m.mpi()?,
        },
        ELGAMAL => {
            m.mpi()?;
            m.mpi()?;
            m.mpi()?;
            Public::Elgamal
        }
        ECDH | ECDSA | EDDSA => {
            let oid_len = m.byte()? as usize;
            if !(1..=16).contains(&oid_len) {
                return None;
            }
            let oid = m.bytes(oid_len)?;
            let point = m.mpi()?;
            if alg == ECDH {
                let kdf_len = m.byte()? as usize;
                m.bytes(kdf_len)?;
            }
            Public::Ec { alg, oid, point }
        }
        _ => return None,
    };
    let usage = m.byte()?;
    let name = alg_name(&public);
    let what = format!("OpenPGP v4 {name} secret key");
    let info = KeyInfo {
        algorithm: name.into(),
        format: Some("OpenPGP".into()),
        ..Default::default()
    };
    if usage != 0 {
        let detail = match usage {
            254 => "SHA-1-checked",
            255 => "checksummed",
            253 => "AEAD",
            _ => "legacy",
        };
        let cipher = m.byte().map(cipher_name).unwrap_or("unknown cipher");
        let v = Verdict {
            material: None,
            status: Status::Encrypted,
            verification: format!(
                "OpenPGP secret key encrypted ({detail} S2K, {cipher}); cannot be verified \
                 without the passphrase (fingerprint is of the packet's public key)"
            ),
            key: info,
            spki: public_spki(&public),
        };
        return Some((v, what));
    }
    let secret_at = m.pos;
    let key = match &public {
        Public::Rsa { n, e } => {
            let (d, p, q, u) = (m.mpi()?, m.mpi()?, m.mpi()?, m.mpi()?);
            let b = BigUint::from_bytes_be;
            PrivateKey::Rsa(RsaParts {
                n: Some(b(n)),
                e: Some(b(e)),
                d: Some(b(d)),
                p: Some(b(p)),
                q: Some(b(q)),
                qinv: Some(b(u)),
                format: "OpenPGP".into(),
                ..Default::default()
            })
        }
        Public::Dsa { p, q, g, y } => {
            let b = BigUint::from_bytes_be;
            PrivateKey::Dsa(DsaParts {
                p: b(p),
                q: b(q),
                g: b(g),
                y: Some(b(y)),
                x: b(m.mpi()?),
                format: "OpenPGP".into(),
            })
        }
        Public::Elgamal => {
            m.mpi()?;
            let v = Verdict {
                material: None,
                status: Status::Unverifiable,
                verification: "plaintext OpenPGP Elgamal secret key; not checked".into(),
                key: info,
                spki: None,
            };
            return Some((v, what));
        }
        Public::Ec { alg, oid, point } => {
            let d = m.mpi()?;
            let native = point.strip_prefix(&[0x40]).map(<[u8]>::to_vec);
            match (*alg, *oid) {
                (EDDSA, OID_ED25519) => PrivateKey::Ed25519 {
                    seed: pad(d, 32)?.try_into().ok()?,
                    public: native,
                },
                (ECDH, OID_CV25519) => {
                    // Stored big-endian; X25519 scalars are little-endian.
                    let mut k = pad(d, 32)?;
                    k.reverse();
                    PrivateKey::X25519 {
                        scalar: k.try_into().ok()?,
                        public: native,
                    }
                }
                (ECDSA | ECDH, o) => {
                    let curve = ec_curve(o)?;
                    PrivateKey::Ec {
                        curve,
                        d: pad(d, curve.scalar_len())?,
                        public: Some(point.to_vec()),
                    }
                }
                _ => return None,
            }
        }
    };
    let secret_end = m.pos;
    let stored = m.bytes(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
    let sum = body[secret_at..secret_end]
        .iter()
        .fold(0u16, |a, &b| a.wrapping_add(b as u16));
    let mut v = verdict_cache::verdict("pgp", body, || keys::verify(&key));
    v.key.format = Some("OpenPGP".into());
    if stored != Some(sum) {
        v.status = Status::Corrupted;
        v.verification = format!("secret-key checksum does not match; {}", v.verification);
    } else if v.status == Status::Verified {
        v.verification = format!("{}; checksum", v.verification);
    }
    Some((v, what))
}

fn cipher_name(id: u8) -> &'static str {
    match id {
        2 => "3DES",
        3 => "CAST5",
        7 => "AES-128",
        8 => "AES-192",
        9 => "AES-256",
        10 => "Twofish",
        11..=13 => "Camellia",
        _ => "cipher id unknown",
    }
}

/// Characters of armour header lines (`Comment: …`, `Version: …`) before the blank line that
/// starts the base64 body, so the PEM detector can skip them.
pub fn armor_headers_len(rest: &[u8]) -> usize {
    // Bounded like the legacy PEM headers: a few short lines, so hostile text costs little.
    const MAX_LINE: usize = 256;
    let mut i = rest
        .iter()
        .take(8)
        .take_while(|&&c| c == b'\r' || c == b'\n')
        .count();
    let start = i;
    for _ in 0..16 {
        let window = &rest[i.min(rest.len())..rest.len().min(i + MAX_LINE)];
        let line_end = match window.iter().position(|&c| c == b'\n') {
            Some(p) => i + p,
            None => return start,
        };
        let line = &rest[i..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return line_end + 1;
        }
        let is_header = line.iter().position(|&c| c == b':').is_some_and(|c| {
            c > 0
                && line[..c]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        });
        if !is_header {
            return start;
        }
        i = line_end + 1;
    }
    start
}
