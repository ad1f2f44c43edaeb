//! SSH wire encoding (RFC 4251 §5: uint32, string, mpint) and SSH public/private key fields
//! (RFC 4253 §6.6, RFC 5656, RFC 8709), shared by the OpenSSH (`openssh-key-v1`) and PuTTY
//! (PPK) detectors. Every length is checked against the bytes left; nothing is trusted.
//!
//! Hand-written rather than taken from the `ssh-key` crate on purpose: a scanner must tell
//! "this is not a key file" from "this key file is damaged" field by field, and report the
//! second as corrupted, where a strict decoder only says "error".

use crate::keys::{self, fingerprint, Curve, DsaParts, PrivateKey, RsaParts};
use num_bigint_dig::BigUint;

/// Longest field we accept: RSA-16384 numbers are ~2 KiB, comments are short.
const MAX_FIELD: usize = 64 * 1024;

pub struct Reader<'a> {
    buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos.min(self.buf.len())..]
    }

    pub fn u32(&mut self) -> Option<u32> {
        let b = self.buf.get(self.pos..self.pos.checked_add(4)?)?;
        self.pos += 4;
        Some(u32::from_be_bytes(b.try_into().ok()?))
    }

    pub fn string(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        if len > MAX_FIELD {
            return None;
        }
        let b = self.buf.get(self.pos..self.pos.checked_add(len)?)?;
        self.pos += len;
        Some(b)
    }

    /// A short printable ASCII name (key type, cipher, curve).
    pub fn name(&mut self) -> Option<&'a str> {
        let s = self.string()?;
        if s.is_empty() || s.len() > 64 || !s.iter().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        std::str::from_utf8(s).ok()
    }

    /// A non-negative mpint as big-endian magnitude bytes (sign byte stripped).
    pub fn mpint(&mut self) -> Option<&'a [u8]> {
        let s = self.string()?;
        if s.first().is_some_and(|&b| b & 0x80 != 0) {
            return None; // negative: never a key number
        }
        let lead = s.iter().take_while(|&&b| b == 0).count();
        Some(&s[lead..])
    }

    pub fn big(&mut self) -> Option<BigUint> {
        self.mpint().map(BigUint::from_bytes_be)
    }
}

/// A public key in SSH form.
#[derive(Clone)]
pub enum SshPublic {
    Rsa {
        e: Vec<u8>,
        n: Vec<u8>,
    },
    Dsa {
        p: Vec<u8>,
        q: Vec<u8>,
        g: Vec<u8>,
        y: Vec<u8>,
    },
    Ecdsa {
        curve: Curve,
        point: Vec<u8>,
    },
    Ed25519([u8; 32]),
}

fn curve(name: &str) -> Option<Curve> {
    Some(match name {
        "nistp256" => Curve::P256,
        "nistp384" => Curve::P384,
        "nistp521" => Curve::P521,
        _ => return None,
    })
}

impl SshPublic {
    /// Parses an SSH public-key blob (`string type ‖ fields`).
    pub fn parse(blob: &[u8]) -> Option<SshPublic> {
        let mut r = Reader::new(blob);
        let ty = r.name()?;
        let k = Self::fields(ty, &mut r)?;
        r.rest().is_empty().then_some(k)
    }

    /// The public fields that follow the type name (in public blobs and in OpenSSH private
    /// sections alike).
    pub fn fields(ty: &str, r: &mut Reader<'_>) -> Option<SshPublic> {
        Some(match ty {
            "ssh-rsa" => {
                let e = r.mpint()?.to_vec();
                let n = r.mpint()?.to_vec();
                SshPublic::Rsa { e, n }
            }
            "ssh-dss" => SshPublic::Dsa {
                p: r.mpint()?.to_vec(),
                q: r.mpint()?.to_vec(),
                g: r.mpint()?.to_vec(),
                y: r.mpint()?.to_vec(),
            },
            "ssh-ed25519" => SshPublic::Ed25519(r.string()?.try_into().ok()?),
            t if t.starts_with("ecdsa-sha2-") => {
                let c = curve(r.name()?)?;
                if Some(c) != curve(&t["ecdsa-sha2-".len()..]) {
                    return None;
                }
                SshPublic::Ecdsa {
                    curve: c,
                    point: r.string()?.to_vec(),
                }
            }
            _ => return None,
        })
    }

    pub fn algorithm(&self) -> &'static str {
        match self {
            SshPublic::Rsa { .. } => "RSA",
            SshPublic::Dsa { .. } => "DSA",
            SshPublic::Ecdsa { .. } => "EC",
            SshPublic::Ed25519(_) => "Ed25519",
        }
    }

    pub fn info(&self) -> keys::KeyInfo {
        let bits = |b: &[u8]| BigUint::from_bytes_be(b).bits() as u32;
        let (bits, curve) = match self {
            SshPublic::Rsa { n, .. } => (bits(n), None),
            SshPublic::Dsa { p, .. } => (bits(p), None),
            SshPublic::Ecdsa { curve, .. } => (curve.bits(), Some(curve.name().to_string())),
            SshPublic::Ed25519(_) => (256, None),
        };
        keys::KeyInfo {
            algorithm: self.algorithm().into(),
            bits,
            curve,
            ..Default::default()
        }
    }

    pub fn spki(&self) -> Option<Vec<u8>> {
        match self {
            SshPublic::Rsa { e, n } => fingerprint::rsa_spki(n, e),
            SshPublic::Dsa { p, q, g, y } => fingerprint::dsa_spki(p, q, g, y),
            SshPublic::Ecdsa { curve, point } => keys::pubkey::ec_spki(*curve, point),
            SshPublic::Ed25519(pk) => fingerprint::ed25519_spki(pk),
        }
    }

    pub fn record(&self, offset: u64, source: String) -> Option<crate::detect::PublicKeyRecord> {
        let (modulus, exponent, point) = match self {
            SshPublic::Rsa { e, n } => (Some(n.clone()), Some(e.clone()), None),
            SshPublic::Ecdsa { point, .. } => (None, None, Some(point.clone())),
            SshPublic::Ed25519(pk) => (None, None, Some(pk.to_vec())),
            SshPublic::Dsa { .. } => (None, None, None),
        };
        Some(crate::detect::PublicKeyRecord {
            algorithm: self.algorithm().into(),
            spki: self.spki()?,
            modulus,
            exponent,
            point,
            offset: Some(offset),
            source,
        })
    }
}

/// Left-pads a big-endian scalar to the curve's size (mpints drop leading zeros).
fn pad(d: &[u8], len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len.saturating_sub(d.len())];
    v.extend_from_slice(d);
    v
}

/// The private fields of an OpenSSH private section (`PROTOCOL.key`; after the type name):
/// RSA n, e, d, iqmp, p, q; DSA p, q, g, y, x; ECDSA curve, Q, d; Ed25519 pk, sk (seed ‖ pk).
/// Returns the key and the public key embedded in the section.
pub fn openssh_private(
    ty: &str,
    r: &mut Reader<'_>,
    format: &str,
) -> Option<(PrivateKey, SshPublic)> {
    Some(match ty {
        "ssh-rsa" => {
            let (n, e, d, iqmp, p, q) = (
                r.mpint()?,
                r.mpint()?,
                r.big()?,
                r.big()?,
                r.big()?,
                r.big()?,
            );
            let key = PrivateKey::Rsa(RsaParts {
                n: Some(BigUint::from_bytes_be(n)),
                e: Some(BigUint::from_bytes_be(e)),
                d: Some(d),
                p: Some(p),
                q: Some(q),
                qinv: Some(iqmp),
                format: format.into(),
                ..Default::default()
            });
            let public = SshPublic::Rsa {
                e: e.to_vec(),
                n: n.to_vec(),
            };
            (key, public)
        }
        "ssh-dss" => {
            let public = SshPublic::fields(ty, r)?;
            let x = r.big()?;
            (dsa(&public, x, format)?, public)
        }
        "ssh-ed25519" => {
            let pk: [u8; 32] = r.string()?.try_into().ok()?;
            let sk = r.string()?;
            if sk.len() != 64 {
                return None;
            }
            let key = PrivateKey::Ed25519 {
                seed: sk[..32].try_into().ok()?,
                public: Some(sk[32..].to_vec()),
            };
            (key, SshPublic::Ed25519(pk))
        }
        t if t.starts_with("ecdsa-sha2-") => {
            let public = SshPublic::fields(ty, r)?;
            let d = r.mpint()?;
            (ec(&public, d)?, public)
        }
        _ => return None,
    })
}

/// The PuTTY private blob (PPK appendix C): RSA d, p, q, iqmp; DSA x; ECDSA d; Ed25519 the
/// 32-byte private key; the public numbers come from the public blob.
pub fn putty_private(public: &SshPublic, blob: &[u8], format: &str) -> Option<PrivateKey> {
    let mut r = Reader::new(blob);
    Some(match public {
        SshPublic::Rsa { e, n } => {
            let (d, p, q, iqmp) = (r.big()?, r.big()?, r.big()?, r.big()?);
            PrivateKey::Rsa(RsaParts {
                n: Some(BigUint::from_bytes_be(n)),
                e: Some(BigUint::from_bytes_be(e)),
                d: Some(d),
                p: Some(p),
                q: Some(q),
                qinv: Some(iqmp),
                format: format.into(),
                ..Default::default()
            })
        }
        SshPublic::Dsa { .. } => dsa(public, r.big()?, format)?,
        SshPublic::Ecdsa { .. } => ec(public, r.mpint()?)?,
        SshPublic::Ed25519(pk) => {
            let seed = r.string()?;
            PrivateKey::Ed25519 {
                seed: pad(seed, 32).as_slice().try_into().ok()?,
                public: Some(pk.to_vec()),
            }
        }
    })
}

fn dsa(public: &SshPublic, x: BigUint, format: &str) -> Option<PrivateKey> {
    let SshPublic::Dsa { p, q, g, y } = public else {
        return None;
    };
    Some(PrivateKey::Dsa(DsaParts {
        p: BigUint::from_bytes_be(p),
        q: BigUint::from_bytes_be(q),
        g: BigUint::from_bytes_be(g),
        x,
        y: Some(BigUint::from_bytes_be(y)),
        format: format.into(),
    }))
}

fn ec(public: &SshPublic, d: &[u8]) -> Option<PrivateKey> {
    let SshPublic::Ecdsa { curve, point } = public else {
        return None;
    };
    if d.len() > curve.scalar_len() {
        return None;
    }
    Some(PrivateKey::Ec {
        curve: *curve,
        d: pad(d, curve.scalar_len()),
        public: Some(point.clone()),
    })
}
