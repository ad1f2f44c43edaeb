//! Partial RSA keys whose own structure holds no modulus (docs/key-formats.md §12.3): a .NET
//! `<RSAKeyValue>` fragment with `<P>` or `<D>` but no `<Modulus>`, a JWK with `d` but no `n`.
//! On their own they prove nothing; with the modulus of a public key seen anywhere in the dump
//! (a certificate, an SPKI, a public blob) or given in the inventory they are completed by
//! computation — q = n / p, or p from (n, e, d), or from (n, e, dP) — and then verified like
//! any RSA key.
//!
//! The structure's detector reports the partial key at once (unverifiable, saying why) and
//! leaves its numbers here; [`PartialRsa::finish`] runs once every public key is known and
//! reports the completed key at the same place. Deduplication keeps the verified finding.

use super::{Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::moduli;
use crate::keys::{rsa_recover, RsaParts, Status};
use crate::report::Finding;
use num_bigint_dig::BigUint;
use num_integer::Integer;

pub struct PartialRsa;

const NAME: &str = "partial-rsa";
/// Partial keys completed per dump, and moduli tried per partial key: factoring from d or a
/// CRT exponent costs a few modular exponentiations per modulus (a trust store has hundreds).
const MAX_PENDING: usize = 64;
const MAX_MODULI: usize = 512;

/// A partial key waiting for a modulus: its finding as first reported and its numbers.
pub(crate) struct Pending {
    finding: Finding,
    parts: RsaParts,
}

/// Whether `parts` is a partial key this module can complete: some private number, and
/// neither a modulus nor both primes.
pub fn needs_modulus(parts: &RsaParts) -> bool {
    let private = [&parts.p, &parts.q, &parts.d, &parts.dp, &parts.dq]
        .iter()
        .any(|x| x.is_some());
    private && parts.n.is_none() && !(parts.p.is_some() && parts.q.is_some())
}

/// Reports a partial key without modulus as unverifiable (with the reason) and keeps its
/// numbers for [`PartialRsa::finish`].
pub fn defer(sink: &mut Sink, mut finding: Finding, parts: RsaParts) {
    finding.status = Status::Unverifiable;
    finding.verified = false;
    finding.verification = "partial RSA key without a modulus: verified only if the dump or \
                            the inventory holds its public key"
        .into();
    sink.push(finding.clone());
    sink.handoffs.partial_rsa.push(Pending { finding, parts });
}

impl Detector for PartialRsa {
    fn name(&self) -> &'static str {
        NAME
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "partial RSA keys (d, p or dP only) completed with a modulus seen elsewhere"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}

    fn finish(&self, cx: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
        let pending: Vec<&Pending> = found
            .handoffs
            .partial_rsa
            .iter()
            .take(MAX_PENDING)
            .collect();
        if pending.is_empty() {
            return;
        }
        let known = moduli::collect(cx.inventory, &found.public_keys);
        for p in pending {
            if let Some(f) = complete(p, &known) {
                sink.push(f);
            }
        }
    }
}

/// The first modulus that completes `p` into a verified key, as a finding at the same place.
fn complete(p: &Pending, known: &[moduli::KnownModulus]) -> Option<Finding> {
    let prime = p.parts.p.as_ref().or(p.parts.q.as_ref());
    for m in known.iter().take(MAX_MODULI) {
        // Cheap exact test first when a prime is stored: it must divide n.
        if let Some(prime) = prime {
            if *prime <= BigUint::from(1u32) || !m.n.is_multiple_of(prime) {
                continue;
            }
        }
        let mut parts = p.parts.clone();
        parts.n = Some(m.n.clone());
        if parts.e.as_ref().is_some_and(|e| *e != m.e) {
            continue;
        }
        parts.e = Some(m.e.clone());
        let mut v = rsa_recover::verify(parts);
        if v.status != Status::Verified {
            continue;
        }
        v.verification = format!("{}; n from {}", v.verification, m.label);
        let f = &p.finding;
        return Some(Finding::key(
            &f.detector,
            f.encoding.clone(),
            f.offset,
            f.length,
            &v,
            f.preview.clone(),
        ));
    }
    None
}
