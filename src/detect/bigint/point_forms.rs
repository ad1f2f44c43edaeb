//! EC scalars proven by their own public point, found in memory in the form the library
//! computes with (issue #15): OpenSSL keeps Q of a P-256 key as Montgomery-form Jacobian
//! `BIGNUM`s (nistz256), of secp256k1 and other curves likewise (`EC_GFp_mont`), of P-384/P-521
//! as plain little-endian `BIGNUM`s; RustCrypto keeps Montgomery field elements right after
//! the scalar; no encoding (SEC1, SPKI) is left once the PEM buffers are gone, so
//! [`super::ec_pairs`] has nothing to pair with.
//!
//! For each collected scalar d that may be a key (bounded: [`MAX_SCALARS`] per curve, the
//! randomness filter of the RSA pairing), Q = d·G is computed and its x coordinate looked for
//! in every form [`keys::ec_forms::forms`] lists, in two places that cost no pass over the
//! dump:
//! * among the integers the main pass collected (OpenSSL's `EC_POINT` coordinates are
//!   `BIGNUM`s, so they are there whatever their distance from d);
//! * in a window of [`WINDOW`] bytes around each copy of d (structures that hold the point
//!   inline beside the scalar: RustCrypto's `SigningKey`, BoringSSL's `EC_KEY` allocations).
//!
//! A 32-byte (48, 66) coordinate equal to the one d·G gives cannot occur by chance, so a hit
//! proves the key as an encoded public key would.

use super::{be_bytes, looks_random, Index, Value};
use crate::detect::ScanContext;
use crate::keys::ec_forms::{self, Form};
use crate::keys::{limbs, pubkey, Curve};
use crate::report::Finding;
use rayon::prelude::*;

/// Scalars tried per curve (each d·G ≈ 50–100 µs).
const MAX_SCALARS: usize = 4096;
/// Bytes searched on each side of a scalar's copy.
const WINDOW: usize = 4096;
/// Copies of a scalar whose neighbourhood is searched.
const MAX_WINDOWS: usize = 4;

/// Where Q turned up.
struct Evidence {
    form: Form,
    /// In words: "in an OpenSSL/BoringSSL BIGNUM at file offset 0x…" (describes the first
    /// copy of d whose neighbourhood held Q; the other copies are reported with it).
    place: String,
}

pub(super) fn pairs(values: &[Value], index: &Index<'_>, cx: &ScanContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for curve in [Curve::P256, Curve::Secp256k1, Curve::P384, Curve::P521] {
        let bits = curve.bits() as usize;
        let scalars: Vec<&Value> = values
            .iter()
            .filter(|v| {
                let b = limbs::bits(v.limbs);
                b <= bits && b + 48 > bits && looks_random(v.limbs, curve.scalar_len() - 6)
            })
            .take(MAX_SCALARS)
            .collect();
        let hits: Vec<(&Value, Vec<u8>, Evidence)> = scalars
            .par_iter()
            .filter_map(|v| {
                let q = pubkey::ec_public_point(curve, &be_bytes(v.limbs))?;
                let x = &q[1..1 + curve.scalar_len()];
                let ev = locate(curve, x, v, values, index, cx.data)?;
                Some((*v, q, ev))
            })
            .collect();
        for (v, q, ev) in hits {
            super::push_ec_scalar(&mut findings, curve, v, q, |where_| {
                format!(
                    "EC private scalar d in {where_}: d·G = Q on {}, Q's x coordinate found {} {}",
                    curve.name(),
                    ev.form.describe(),
                    ev.place
                )
            });
        }
    }
    findings
}

/// Looks for the coordinate `x` (big-endian) of d·G among the collected integers, then near
/// the copies of d.
fn locate(
    curve: Curve,
    x: &[u8],
    d: &Value,
    values: &[Value],
    index: &Index<'_>,
    data: &[u8],
) -> Option<Evidence> {
    let forms = ec_forms::forms(curve, x);
    for (form, bytes) in &forms {
        if *form == Form::Be {
            continue; // containers hold limbs, never big-endian bytes
        }
        let Some(mut limbs) = limbs::decode(bytes, limbs::Repr::Le) else {
            continue;
        };
        limbs::trim(&mut limbs);
        if let Some(&i) = index.get(limbs.as_slice()) {
            let (off, _, c) = values[i].at[0];
            return Some(Evidence {
                form: *form,
                place: format!("in {} at file offset {off:#x}", c.describe()),
            });
        }
    }
    for &(offset, len, _) in d.at.iter().take(MAX_WINDOWS) {
        let start = offset.saturating_sub(WINDOW);
        let end = offset
            .saturating_add(len)
            .saturating_add(WINDOW)
            .min(data.len());
        let Some(hay) = data.get(start..end) else {
            continue;
        };
        for (form, bytes) in &forms {
            if let Some(i) = memchr::memmem::find(hay, bytes) {
                return Some(Evidence {
                    form: *form,
                    place: format!("at file offset {:#x}, beside a copy of d", start + i),
                });
            }
        }
    }
    None
}
