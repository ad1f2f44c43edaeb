//! Keys that no encoding describes, recovered from the big integers runtimes keep in memory
//! (docs/key-formats.md §8, §12.3): OpenSSL/BoringSSL `BIGNUM`s followed through the dump's address
//! map, Go limb slices, Java `int[]`, .NET arrays and SymCrypt integers ([`containers`]).
//!
//! The main pass collects those integers chunk by chunk; the whole-dump pass pairs them:
//! * RSA: an integer n (from a container, or any RSA public key in the dump or inventory)
//!   divisible by another integer p proves the private key (q = n/p; e from the public key,
//!   or found from d among the integers, else 65537);
//! * EC: an integer d with d·G equal to an EC public key seen in the dump or inventory.
//!
//! No known modulus is needed: a process that loaded and used an RSA key keeps n, p and q.

use super::rsa_factor::{cap_copies, FactorAt, Prover};
use super::{Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::containers::{self, Candidate, Container};
use crate::keys::limbs;
use crate::keys::moduli;
use crate::keys::{self, pubkey, Curve, PrivateKey};
use crate::report::Finding;
use num_bigint_dig::BigUint;
use num_integer::Integer;
use num_traits::One;
use num_traits::ToPrimitive;
use rayon::prelude::*;
use std::collections::HashMap;

mod point_forms;

/// The distinct collected integers by value, borrowed from the chunks' candidates: built once
/// by [`gather`] and shared by the RSA pairing and the point-form search. Hashed with
/// foldhash rather than the standard SipHash: the finish pass runs on one thread while the
/// workers wait, and hashing every candidate (up to [`MAX_DISTINCT`], each up to 2 KiB of
/// limbs) three times with SipHash was most of its serial part. foldhash is seeded per
/// process like the standard hasher, and the map is bounded, so a hostile dump can neither
/// grow it nor predict its layout.
type Index<'a> = HashMap<&'a [u64], usize, foldhash::fast::RandomState>;

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

    fn family(&self) -> Family {
        Family::Raw
    }

    fn describe(&self) -> &'static str {
        "big integers in runtime containers (OpenSSL BIGNUM, Go, Java, .NET, SymCrypt) paired into keys"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}

    fn scan_chunk(&self, cx: &ScanContext<'_>, start: usize, end: usize, sink: &mut Sink) {
        let space = cx.space.has_va_map().then_some(cx.space);
        let mut found = Vec::new();
        for (s, e, delta) in super::align::spans(cx.regions, start, end) {
            containers::scan(cx.data, s, e, delta, space, &mut found);
        }
        if found.is_empty() {
            return;
        }
        // Same value, many copies (Java keeps thousands): keep a few locations per value.
        let mut seen: HashMap<&[u64], usize, foldhash::fast::RandomState> = HashMap::default();
        let keep: Vec<bool> = found
            .iter()
            .map(|c| {
                let n = seen.entry(&c.value).or_default();
                *n += 1;
                *n <= MAX_LOCATIONS
            })
            .collect();
        drop(seen);
        let mut keep = keep.into_iter();
        found.retain(|_| keep.next().unwrap_or(false));
        found.truncate(MAX_PER_CHUNK);
        sink.handoffs.bigint_candidates.push(found);
    }

    fn finish(&self, cx: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
        let (values, index) = gather(found.handoffs.bigint_candidates.iter());
        if values.is_empty() {
            return;
        }
        // Side by side: the RSA pairing is mostly serial (collecting the moduli, proving the
        // few hits) and the EC passes are parallel scalar multiplications, so the pairing no
        // longer leaves a worker idle. Each half computes what it computed before, and the
        // findings are put together in the same order.
        let (mut out, (ec, forms)) = rayon::join(
            || rsa_pairs(&values, &index, cx, found),
            || {
                let ec = ec_pairs(&values, cx, found);
                (ec, point_forms::pairs(&values, &index, cx))
            },
        );
        out.extend(ec);
        // Scalars whose public point the dump keeps only in a library's internal form.
        let have: std::collections::HashSet<(u64, Option<String>)> = out
            .iter()
            .map(|f| (f.offset, f.fingerprint.clone()))
            .collect();
        out.extend(
            forms
                .into_iter()
                .filter(|f| !have.contains(&(f.offset, f.fingerprint.clone()))),
        );
        cap_copies(&mut out);
        sink.findings.extend(out);
    }
}

/// At most [`MAX_ZERO_BYTES`] zero bytes among the low `n` bytes of the value. A private
/// scalar is uniform: 26 random bytes hold four zeros about once in 300 000 keys, while the
/// integers that container headers turn up by chance in heaps, code and tables (pointers,
/// lengths, small counters) are full of them. Each candidate costs a scalar multiplication
/// (tens of microseconds), so this keeps the pairing off the profile.
fn looks_random(limbs: &[u64], n: usize) -> bool {
    let zeros = limbs
        .iter()
        .flat_map(|l| l.to_le_bytes())
        .take(n)
        .filter(|&b| b == 0)
        .count();
    zeros <= MAX_ZERO_BYTES
}

/// See [`looks_random`].
const MAX_ZERO_BYTES: usize = 3;

/// A distinct integer (borrowed from the candidates it was collected as) and where it was seen.
struct Value<'a> {
    limbs: &'a [u64],
    at: Vec<(usize, usize, Container)>,
}

/// The distinct values in first-seen order (at most [`MAX_DISTINCT`], each with at most
/// [`MAX_LOCATIONS`] places), and their [`Index`].
fn gather<'a>(chunks: impl Iterator<Item = &'a Vec<Candidate>>) -> (Vec<Value<'a>>, Index<'a>) {
    let mut index = Index::default();
    let mut out: Vec<Value<'a>> = Vec::new();
    let all: Vec<&Candidate> = chunks.flatten().collect();
    for c in all {
        match index.get(c.value.as_slice()) {
            Some(&i) if out[i].at.len() < MAX_LOCATIONS => {
                out[i].at.push((c.offset, c.len, c.container));
            }
            Some(_) => {}
            None if out.len() < MAX_DISTINCT => {
                index.insert(&c.value, out.len());
                out.push(Value {
                    limbs: &c.value,
                    at: vec![(c.offset, c.len, c.container)],
                });
            }
            None => {}
        }
    }
    (out, index)
}

/// A modulus to pair against: from a container or a known public key.
struct Modulus {
    n: Vec<u64>,
    e: Option<BigUint>,
    source: String,
}

fn rsa_pairs(
    values: &[Value],
    index: &Index<'_>,
    cx: &ScanContext<'_>,
    found: &Sink,
) -> Vec<Finding> {
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
        let b = limbs::bits(v.limbs);
        if b >= 512 && v.limbs[0] & 1 == 1 && !known.contains(v.limbs) {
            let (off, _, c) = v.at[0];
            mods.push(Modulus {
                n: v.limbs.to_vec(),
                e: None,
                source: format!("n in {} at file offset {off:#x}", c.describe()),
            });
        }
    }
    // Odd integers by bit length: the factor candidates.
    let mut by_bits: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, v) in values.iter().enumerate() {
        if v.limbs[0] & 1 == 1 {
            by_bits.entry(limbs::bits(v.limbs)).or_default().push(i);
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
                    let p = values[vi].limbs;
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
    let mut exponents: HashMap<usize, (BigUint, String)> = HashMap::new();
    for (mi, vi) in hits {
        let m = &mods[mi];
        let n = limbs::to_biguint(&m.n);
        let p = limbs::to_biguint(values[vi].limbs);
        let (e, how) = match &m.e {
            Some(e) => (e.clone(), String::new()),
            None => exponents
                .entry(mi)
                .or_insert_with(|| exponent(index, &n, &p))
                .clone(),
        };
        let mut prover = Prover::new(&n, &e);
        for &(offset, len, c) in &values[vi].at {
            let source = format!("p in {}; {}{how}", c.describe(), m.source);
            let at = FactorAt {
                offset,
                len,
                encoding: c.encoding(),
                factor: values[vi].limbs,
            };
            findings.extend(prover.finding(NAME, &at, &source));
        }
    }
    findings
}

/// The public exponent of a key known only from n and p: the small e whose inverse d is
/// among the collected integers, else 65537. Runtimes store d = e⁻¹ mod λ(n) or mod φ(n);
/// φ = λ·g with g = gcd(p−1, q−1) small, so d is one of e⁻¹ mod λ + k·λ (k < g): a few
/// lookups, no search.
fn exponent(index: &Index<'_>, n: &BigUint, p: &BigUint) -> (BigUint, String) {
    use num_bigint_dig::ModInverse;
    let q = n / p;
    let one = BigUint::one();
    let (p1, q1) = (p - &one, &q - &one);
    let g = p1.gcd(&q1);
    let lambda = &p1 / &g * &q1;
    let g = g.to_u64().unwrap_or(64).min(64);
    for e in [65537u32, 3, 5, 17, 257] {
        let e = BigUint::from(e);
        let Some(t) = (&e).mod_inverse(&lambda).and_then(|t| t.to_biguint()) else {
            continue;
        };
        let mut d = t;
        for _ in 0..g.max(1) {
            if index.contains_key(limbs::from_biguint(&d).as_slice()) {
                return (e, ", e confirmed by d found in memory".into());
            }
            d += &lambda;
        }
    }
    (BigUint::from(65537u32), ", e assumed 65537".into())
}

fn ec_pairs(values: &[Value], cx: &ScanContext<'_>, found: &Sink) -> Vec<Finding> {
    // EC public keys by curve and X coordinate.
    let mut points: HashMap<(u8, Vec<u8>), (Vec<u8>, String)> = HashMap::new();
    let mut curves: Vec<Curve> = Vec::new();
    // A public key whose private key the main pass already verified needs no scalar found
    // for it: each candidate costs a scalar multiplication, and a curve with no unproven
    // public key is not searched at all.
    let proven: std::collections::HashSet<&str> = found
        .findings
        .iter()
        .filter(|f| f.verified)
        .filter_map(|f| f.fingerprint.as_deref())
        .collect();
    for r in cx.inventory.iter().chain(&found.public_keys) {
        if r.algorithm != "EC" {
            continue;
        }
        if proven.contains(crate::keys::fingerprint::sha256_fingerprint(&r.spki).as_str()) {
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
                let b = limbs::bits(v.limbs);
                b <= bits && b + 48 > bits && looks_random(v.limbs, curve.scalar_len() - 6)
            })
            .take(MAX_SCALARS)
            .collect();
        let hits: Vec<(&Value, Vec<u8>)> = scalars
            .par_iter()
            .filter_map(|v| {
                let d = be_bytes(v.limbs);
                let q = pubkey::ec_public_point(curve, &d)?;
                let x = q[1..1 + curve.scalar_len()].to_vec();
                points
                    .contains_key(&(curve as u8, x.clone()))
                    .then_some((*v, x))
            })
            .collect();
        for (v, x) in hits {
            let (point, label) = &points[&(curve as u8, x)];
            push_ec_scalar(&mut findings, curve, v, point.clone(), |where_| {
                format!(
                    "EC private scalar d in {where_}: d·G = Q on {} of {label}",
                    curve.name()
                )
            });
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

/// Proves the collected scalar `v` against the public point `public` on `curve` and reports it
/// once per place it was collected; `says(where)` words the verification for each place.
/// Shared by the pairing with public keys seen in the dump and by the point-form search.
fn push_ec_scalar(
    findings: &mut Vec<Finding>,
    curve: Curve,
    v: &Value,
    public: Vec<u8>,
    says: impl Fn(&str) -> String,
) {
    let mut verdict = keys::verify(&PrivateKey::Ec {
        curve,
        d: be_bytes(v.limbs),
        public: Some(public),
    });
    if verdict.status != keys::Status::Verified {
        return;
    }
    for &(offset, len, c) in &v.at {
        verdict.verification = says(c.describe());
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

#[cfg(test)]
mod tests {
    use crate::keys::limbs::{self, Repr};
    use crate::keys::testkeys::{self, noise};
    use crate::Scanner;
    use num_bigint_dig::BigUint;

    /// A Java `int[]` (compressed class pointers) holding `v`, as HotSpot lays it out.
    fn java_array(v: &BigUint, bits: usize) -> Vec<u8> {
        let words = limbs::encode(&limbs::from_biguint(v), bits, Repr::JavaWords);
        let mut out = 1u64.to_le_bytes().to_vec(); // unlocked mark word
        out.extend_from_slice(&0x0008_4e10u32.to_le_bytes()); // klass
        out.extend_from_slice(&((words.len() / 4) as u32).to_le_bytes());
        out.extend(words);
        out
    }

    fn place(data: &mut [u8], at: usize, bytes: &[u8]) {
        data[at..at + bytes.len()].copy_from_slice(bytes);
    }

    #[test]
    fn rsa_key_from_java_arrays_without_any_public_key() {
        let k = testkeys::rsa(2048, false);
        let mut data = noise(1 << 20, 11);
        place(&mut data, 0x10000, &java_array(&k.n, 2048));
        place(&mut data, 0x20000, &java_array(&k.p, 1024));
        place(&mut data, 0x30000, &java_array(&k.q, 1024));
        place(&mut data, 0x40000, &java_array(&k.d, 2048));
        let r = Scanner::new().scan_bytes("java", &data);
        let f: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.detector == "bigint")
            .collect();
        assert_eq!(f.len(), 2, "{:#?}", r.findings);
        for f in &f {
            assert!(f.verified);
            assert_eq!(f.encoding, "java-int-array");
            assert_eq!(f.fingerprint.as_deref(), Some(k.fingerprint.as_str()));
            assert!(
                f.verification.contains("e confirmed by d"),
                "{}",
                f.verification
            );
        }
        assert_eq!(f[0].offset, 0x20010);
        let json = r.to_json(false);
        assert!(!json.contains(&format!("{:x}", k.p)[..40]));
    }

    #[test]
    fn ec_scalar_paired_with_a_public_key_in_the_dump() {
        let out = std::process::Command::new("python3")
            .args(["-c", "from cryptography.hazmat.primitives.asymmetric import ec\nfrom cryptography.hazmat.primitives import serialization as s\nk=ec.generate_private_key(ec.SECP256R1())\nprint('%x'%k.private_numbers().private_value)\nprint(k.public_key().public_bytes(s.Encoding.DER,s.PublicFormat.SubjectPublicKeyInfo).hex())"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let mut l = text.lines();
        let d = BigUint::parse_bytes(l.next().unwrap().as_bytes(), 16).unwrap();
        let spki = hex::decode(l.next().unwrap()).unwrap();
        let mut data = noise(1 << 19, 12);
        place(&mut data, 0x1000, &spki);
        place(&mut data, 0x8000, &java_array(&d, 256));
        let r = Scanner::new().scan_bytes("ec", &data);
        let f: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.detector == "bigint")
            .collect();
        assert_eq!(f.len(), 1, "{:#?}", r.findings);
        assert!(f[0].verified);
        assert_eq!(f[0].kind, "ec-private-key");
        let want = crate::keys::fingerprint::sha256_fingerprint(&spki);
        assert_eq!(f[0].fingerprint.as_deref(), Some(want.as_str()));
        // Without the public key there is nothing to prove: no finding.
        let mut data = noise(1 << 19, 12);
        place(&mut data, 0x8000, &java_array(&d, 256));
        let r = Scanner::new().scan_bytes("ec", &data);
        assert!(r.findings.iter().all(|f| f.detector != "bigint"));
    }

    #[test]
    fn damaged_or_unrelated_integers_prove_nothing() {
        let k = testkeys::rsa(2048, false);
        let other = testkeys::rsa(2048, false);
        let mut data = noise(1 << 20, 13);
        place(&mut data, 0x10000, &java_array(&k.n, 2048));
        let mut p = java_array(&k.p, 1024);
        p[40] ^= 0x20; // one flipped bit
        place(&mut data, 0x20000, &p);
        place(&mut data, 0x30000, &java_array(&other.q, 1024));
        let r = Scanner::new().scan_bytes("bad", &data);
        assert!(r.findings.iter().all(|f| !f.verified), "{:#?}", r.findings);
    }
}
