//! Keys that no encoding describes, recovered from the big integers runtimes keep in memory
//! (key-formats.md §8, §12.3): OpenSSL/BoringSSL `BIGNUM`s followed through the dump's address
//! map, Go limb slices, Java `int[]`, .NET arrays and SymCrypt integers ([`containers`]).
//!
//! The main pass collects those integers chunk by chunk; the whole-dump pass pairs them:
//! * RSA: an integer n (from a container, or any RSA public key in the dump or inventory)
//!   divisible by another integer p proves the private key (q = n/p; e from the public key,
//!   or found from d among the integers, else 65537);
//! * EC: an integer d with d·G equal to an EC public key seen in the dump or inventory.
//!
//! No known modulus is needed: a process that loaded and used an RSA key keeps n, p and q.

use super::rsa_factor::{cap_copies, factor_finding, FactorAt};
use super::{Anchor, Detector, ScanContext, Sink};
use crate::keys::containers::{self, Candidate, Container};
use crate::keys::limbs;
use crate::keys::moduli;
use crate::keys::{self, pubkey, Curve, PrivateKey};
use crate::report::Finding;
use num_bigint_dig::BigUint;
use num_integer::Integer;
use num_traits::One;
use rayon::prelude::*;
use std::collections::HashMap;

pub struct BigInt;

/// Distinct integers collected per chunk, and in all.
const MAX_PER_CHUNK: usize = 8192;
const MAX_DISTINCT: usize = 1 << 18;
/// Locations remembered per distinct value.
const MAX_LOCATIONS: usize = super::rsa_factor::MAX_COPIES;
/// Divisibility tests in the pairing (each ≈ 0.2 µs).
const MAX_PAIR_TESTS: usize = 20_000_000;
/// Scalars tried per curve (each d·G ≈ 50–100 µs).
const MAX_SCALARS: usize = 8192;

const NAME: &str = "bigint";

impl Detector for BigInt {
    fn name(&self) -> &'static str {
        NAME
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}

    fn scan_chunk(&self, cx: &ScanContext<'_>, start: usize, end: usize, sink: &mut Sink) {
        let space = cx.space.has_va_map().then_some(cx.space);
        let mut found = Vec::new();
        containers::scan(cx.data, start, end, space, &mut found);
        if found.is_empty() {
            return;
        }
        // Same value, many copies (Java keeps thousands): keep a few locations per value.
        let mut seen: HashMap<Vec<u64>, usize> = HashMap::new();
        found.retain(|c| {
            let n = seen.entry(c.value.clone()).or_default();
            *n += 1;
            *n <= MAX_LOCATIONS
        });
        found.truncate(MAX_PER_CHUNK);
        sink.state.push((NAME, Box::new(found)));
    }

    fn finish(&self, cx: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
        let values = gather(found.state_of::<Vec<Candidate>>(NAME));
        if values.is_empty() {
            return;
        }
        let mut out = rsa_pairs(&values, cx, found);
        out.extend(ec_pairs(&values, cx, found));
        cap_copies(&mut out);
        sink.findings.extend(out);
    }
}

/// A distinct integer and where it was seen.
struct Value {
    limbs: Vec<u64>,
    at: Vec<(usize, usize, Container)>,
}

fn gather<'a>(chunks: impl Iterator<Item = &'a Vec<Candidate>>) -> Vec<Value> {
    let mut index: HashMap<&[u64], usize> = HashMap::new();
    let mut out: Vec<Value> = Vec::new();
    let all: Vec<&Candidate> = chunks.flatten().collect();
    for c in all {
        match index.get(c.value.as_slice()) {
            Some(&i) => {
                if out[i].at.len() < MAX_LOCATIONS {
                    out[i].at.push((c.offset, c.len, c.container));
                }
            }
            None if out.len() < MAX_DISTINCT => {
                index.insert(&c.value, out.len());
                out.push(Value {
                    limbs: c.value.clone(),
                    at: vec![(c.offset, c.len, c.container)],
                });
            }
            None => {}
        }
    }
    out
}

/// A modulus to pair against: from a container or a known public key.
struct Modulus {
    n: Vec<u64>,
    e: Option<BigUint>,
    source: String,
}

fn rsa_pairs(values: &[Value], cx: &ScanContext<'_>, found: &Sink) -> Vec<Finding> {
    let mut mods: Vec<Modulus> = moduli::collect(cx.inventory, &found.public_keys)
        .into_iter()
        .map(|m| Modulus {
            n: limbs::from_biguint(&m.n),
            e: Some(m.e),
            source: format!("n from {}", m.label),
        })
        .collect();
    let known: std::collections::HashSet<Vec<u64>> = mods.iter().map(|m| m.n.clone()).collect();
    for v in values {
        let b = limbs::bits(&v.limbs);
        if b >= 512 && v.limbs[0] & 1 == 1 && !known.contains(&v.limbs) {
            let (off, _, c) = v.at[0];
            mods.push(Modulus {
                n: v.limbs.clone(),
                e: None,
                source: format!("n in a {} at file offset {off:#x}", c.describe()),
            });
        }
    }
    // Odd integers by bit length: the factor candidates.
    let mut by_bits: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, v) in values.iter().enumerate() {
        if v.limbs[0] & 1 == 1 {
            by_bits.entry(limbs::bits(&v.limbs)).or_default().push(i);
        }
    }
    let budget = std::sync::atomic::AtomicUsize::new(MAX_PAIR_TESTS);
    let hits: Vec<(usize, usize)> = mods
        .par_iter()
        .enumerate()
        .flat_map_iter(|(mi, m)| {
            let mut scratch = vec![0u64; limbs::MAX_MODULUS_LIMBS + 2];
            let h = limbs::bits(&m.n).div_ceil(2);
            let mut out = Vec::new();
            for bits in h.saturating_sub(2)..=h + 1 {
                for &vi in by_bits.get(&bits).into_iter().flatten() {
                    if budget.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) == 0 {
                        budget.store(0, std::sync::atomic::Ordering::Relaxed);
                        return out;
                    }
                    let p = &values[vi].limbs;
                    if limbs::divides(&m.n, p, &mut scratch)
                        && limbs::divides_exactly(&limbs::to_biguint(&m.n), &limbs::to_biguint(p))
                    {
                        out.push((mi, vi));
                    }
                }
            }
            out
        })
        .collect();
    let mut findings = Vec::new();
    for (mi, vi) in hits {
        let m = &mods[mi];
        let n = limbs::to_biguint(&m.n);
        let p = limbs::to_biguint(&values[vi].limbs);
        let (e, how) = match &m.e {
            Some(e) => (e.clone(), String::new()),
            None => exponent(values, &n, &p),
        };
        for &(offset, len, c) in &values[vi].at {
            let source = format!("p in a {}; {}{how}", c.describe(), m.source);
            let at = FactorAt {
                offset,
                len,
                encoding: c.encoding(),
                factor: &values[vi].limbs,
            };
            findings.extend(factor_finding(NAME, &at, &n, &e, &source));
        }
    }
    findings
}

/// The public exponent of a key known only from n and p: the small e for which some
/// collected integer is d (e·d ≡ 1 mod λ(n)); 65537 when none is.
fn exponent(values: &[Value], n: &BigUint, p: &BigUint) -> (BigUint, String) {
    let q = n / p;
    let one = BigUint::one();
    let lambda = (p - &one).lcm(&(&q - &one));
    let nb = n.bits();
    for e in [65537u32, 3, 5, 17, 257] {
        let e = BigUint::from(e);
        for v in values {
            let b = limbs::bits(&v.limbs);
            if b + 16 < nb || b > nb {
                continue;
            }
            let d = limbs::to_biguint(&v.limbs);
            if (&e * &d) % &lambda == one {
                return (e, ", e confirmed by d found in memory".into());
            }
        }
    }
    (BigUint::from(65537u32), ", e assumed 65537".into())
}

fn ec_pairs(values: &[Value], cx: &ScanContext<'_>, found: &Sink) -> Vec<Finding> {
    // EC public keys by curve and X coordinate.
    let mut points: HashMap<(u8, Vec<u8>), (Vec<u8>, String)> = HashMap::new();
    let mut curves: Vec<Curve> = Vec::new();
    for r in cx.inventory.iter().chain(&found.public_keys) {
        if r.algorithm != "EC" {
            continue;
        }
        let (Some(curve), Some(pt)) = (pubkey::ec_curve(&r.spki), r.point.as_deref()) else {
            continue;
        };
        let Some(full) = pubkey::ec_uncompressed(curve, pt) else {
            continue;
        };
        let x = full[1..1 + curve.scalar_len()].to_vec();
        let label = match r.offset {
            Some(o) if !cx.inventory.iter().any(|i| i.spki == r.spki) => {
                format!("{} at file offset {o:#x}", r.source)
            }
            _ => r.source.clone(),
        };
        points.entry((curve as u8, x)).or_insert((full, label));
        if !curves.contains(&curve) {
            curves.push(curve);
        }
    }
    let mut findings = Vec::new();
    for curve in curves {
        let bits = curve.bits() as usize;
        let scalars: Vec<&Value> = values
            .iter()
            .filter(|v| {
                let b = limbs::bits(&v.limbs);
                b <= bits && b + 48 > bits
            })
            .take(MAX_SCALARS)
            .collect();
        let hits: Vec<(&Value, Vec<u8>)> = scalars
            .par_iter()
            .filter_map(|v| {
                let d = be_bytes(&v.limbs);
                let q = pubkey::ec_public_point(curve, &d)?;
                let x = q[1..1 + curve.scalar_len()].to_vec();
                points
                    .contains_key(&(curve as u8, x.clone()))
                    .then_some((*v, x))
            })
            .collect();
        for (v, x) in hits {
            let (point, label) = &points[&(curve as u8, x)];
            let d = be_bytes(&v.limbs);
            let mut verdict = keys::verify(&PrivateKey::Ec {
                curve,
                d,
                public: Some(point.clone()),
            });
            if verdict.status != keys::Status::Verified {
                continue;
            }
            for &(offset, len, c) in &v.at {
                verdict.verification = format!(
                    "EC private scalar d in a {}: d·G = Q on {} of {label}",
                    c.describe(),
                    curve.name()
                );
                let preview = format!(
                    "[{} EC private scalar, {}, {len} bytes, redacted]",
                    curve.name(),
                    c.encoding()
                );
                findings.push(Finding::key(
                    NAME,
                    c.encoding(),
                    offset as u64,
                    len as u64,
                    &verdict,
                    preview,
                ));
            }
        }
    }
    findings
}

fn be_bytes(limbs: &[u64]) -> Vec<u8> {
    let mut b: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
    let lead = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.drain(..lead);
    b
}
