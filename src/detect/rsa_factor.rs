//! RSA private keys with no wrapper at all, proven by a prime factor of a known modulus
//! (docs/key-formats.md §13). Live processes rarely keep a key as DER or PEM: OpenSSL keeps p and
//! q as little-endian limb arrays, Java as `int[]` words, Go as limbs. Given n — from the
//! user's inventory (`--known-keys`) or from any public key in the dump — a window of memory
//! that divides n *is* the private key: q = n / p, d = e⁻¹ mod λ(n).
//!
//! Runs after the main pass (it needs every public key the dump holds), as one more parallel
//! pass over the dump for the moduli most likely to have their key in the process: every
//! inventory modulus, then the dump's own non-CA public keys (and CA certificates when there
//! are at most [`MAX_CA_SEARCHED`]), up to [`MAX_FULL_SEARCH`]. The rest (trust stores hold
//! hundreds of CA certificates) are still paired with the integers the `bigint` detector
//! collects from runtime containers.

use super::{Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::factor_scan::{self, Hit, Sieve, Target};
use crate::keys::limbs;
use crate::keys::moduli::{self, KnownModulus};
use crate::keys::{self, PrivateKey, RsaParts};
use crate::report::Finding;
use rayon::prelude::*;
use std::collections::HashMap;

pub struct RsaFactor;

/// Moduli searched over every window of the dump.
pub const MAX_FULL_SEARCH: usize = 8;
/// CA certificates searched when the dump holds no more than this many.
pub const MAX_CA_SEARCHED: usize = 2;
/// Copies of one key reported (Java heaps hold thousands of temporaries of p and q); the
/// last reported copy says how many more there were.
pub const MAX_COPIES: usize = 64;
/// Largest work item of the parallel pass.
const CHUNK: usize = 4 << 20;
/// Smallest work item: below it, handing a piece to another thread costs more than it saves.
const MIN_CHUNK: usize = 256 << 10;
/// Bytes the passes of one work item share while they are in the core's L2 cache.
const BLOCK: usize = 128 << 10;

/// The work item for a dump of `len` bytes: [`CHUNK`], or for a small dump a fraction of it,
/// so every thread gets several pieces. Why: a 3.6 MB `openssl s_server` core was one 4 MiB
/// piece, so this pass (a sixth of that scan's CPU) ran on one core while the other waited,
/// and a gate deciding on one small dump waits for its wall time. Hits do not depend on the
/// cut: a window is owned by the piece it starts in, reads past the piece's end, and starts
/// on the same 8-byte grid whatever the piece (see `factor_scan::scan`); a test compares
/// every cut with the whole-dump piece.
fn chunk_for(len: usize) -> usize {
    let pieces = 4 * rayon::current_num_threads().max(1);
    len.div_ceil(pieces)
        .clamp(MIN_CHUNK, CHUNK)
        .next_multiple_of(4096)
}

impl Detector for RsaFactor {
    fn name(&self) -> &'static str {
        "rsa-factor"
    }

    fn family(&self) -> Family {
        Family::Raw
    }

    fn describe(&self) -> &'static str {
        "prime factors of known moduli in any window of memory"
    }

    fn anchors(&self) -> Vec<Anchor> {
        Vec::new()
    }

    fn on_anchor(&self, _: &ScanContext<'_>, _: usize, _: u32, _: &mut Sink) {}

    fn finish(&self, cx: &ScanContext<'_>, found: &Sink, sink: &mut Sink) {
        let known = moduli::collect(cx.inventory, &found.public_keys);
        // The search over every window is the costliest pass of a whole scan (half its CPU on
        // a large process dump), and it only adds something for a modulus whose private key
        // is not proven yet: when the main pass already verified that key (PEM, DER, a CNG
        // blob ...) or the `bigint` pairing (which runs before this pass and pairs the
        // runtime's own BIGNUMs), another copy of its primes changes neither the verdict nor
        // the fingerprint the report and the gate decide on. Those moduli are skipped, so the
        // pass runs only where it can turn an unproven public key into a proven private one.
        let proven = proven_fingerprints(found);
        let known: Vec<KnownModulus> = known
            .into_iter()
            .filter(|m| !proven.contains(&modulus_fingerprint(m)))
            .collect();
        // A trust store is many CA certificates whose keys are elsewhere; one or two CA
        // certificates are more likely the process's own (a CA service, a self-signed cert).
        let cas = known.iter().filter(|m| m.ca && !m.inventory).count();
        let chosen: Vec<(&KnownModulus, Target)> = known
            .iter()
            .filter(|m| m.inventory || !m.ca || cas <= MAX_CA_SEARCHED)
            .filter_map(|m| Some((m, Target::new(m.n.clone())?)))
            .take(MAX_FULL_SEARCH)
            .collect();
        if chosen.is_empty() {
            return;
        }
        let hits = search(cx, &chosen.iter().map(|(_, t)| t).collect::<Vec<_>>());
        let mut provers: Vec<Prover<'_>> = chosen
            .iter()
            .map(|(m, _)| Prover::new(&m.n, &m.e))
            .collect();
        let mut findings: Vec<Finding> = hits
            .iter()
            .filter_map(|(hit, ti)| {
                let label = format!("n from {}", chosen[*ti].0.label);
                let at = FactorAt {
                    offset: hit.offset,
                    len: hit.len,
                    encoding: hit.repr.encoding(),
                    factor: &hit.factor,
                };
                provers[*ti].finding("rsa-factor", &at, &label)
            })
            .collect();
        cap_copies(&mut findings);
        sink.findings.extend(findings);
    }
}

/// Fingerprints of the RSA private keys the main pass already verified.
fn proven_fingerprints(found: &Sink) -> std::collections::HashSet<String> {
    found
        .findings
        .iter()
        .filter(|f| f.verified && f.kind == "rsa-private-key")
        .filter_map(|f| f.fingerprint.clone())
        .collect()
}

/// The report fingerprint a private key of this modulus would have (empty if none: an
/// unencodable modulus is never proven, so it is never skipped).
fn modulus_fingerprint(m: &KnownModulus) -> String {
    crate::keys::fingerprint::rsa_spki(&m.n.to_bytes_be(), &m.e.to_bytes_be())
        .map(|s| crate::keys::fingerprint::sha256_fingerprint(&s))
        .unwrap_or_default()
}

/// Every window dividing one of `targets`, as (hit, target index), in file order.
pub fn search(cx: &ScanContext<'_>, targets: &[&Target]) -> Vec<(Hit, usize)> {
    search_in(cx, targets, chunk_for(cx.data.len()), BLOCK)
}

/// [`search`] in work items of `chunk` bytes, each searched `block` bytes at a time.
fn search_in(
    cx: &ScanContext<'_>,
    targets: &[&Target],
    chunk: usize,
    block: usize,
) -> Vec<(Hit, usize)> {
    let (data, regions) = (cx.data, cx.regions);
    // Group targets by factor size: each group is one pass of window filters.
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, t) in targets.iter().enumerate() {
        groups.entry(t.h).or_default().push(i);
    }
    let mut groups: Vec<(usize, Vec<usize>)> = groups.into_iter().collect();
    groups.sort();
    let sieve = Sieve::default();
    let chunks = data.len().div_ceil(chunk);
    let mut hits: Vec<(Hit, usize)> = (0..chunks)
        .into_par_iter()
        .flat_map_iter(|c| {
            let (start, end) = (c * chunk, ((c + 1) * chunk).min(data.len()));
            let mut out = Vec::new();
            let groups: Vec<(&Vec<usize>, Vec<&Target>)> = groups
                .iter()
                .map(|(_, idx)| (idx, idx.iter().map(|&i| targets[i]).collect()))
                .collect();
            // Block by block, every group and every representation pass over a block while it
            // is in the core's cache, instead of each pass streaming the whole piece from
            // memory again. Hits do not depend on the cut (see `chunk_for`), and for one
            // offset the groups still come in the same order, so the sorted list is the same.
            for (s, e, delta) in super::align::spans(regions, start, end) {
                let mut from = s;
                while from < e {
                    let to = e.min(from.saturating_add(block));
                    for (idx, ts) in &groups {
                        let mut local = Vec::new();
                        factor_scan::scan(data, from, to, delta, ts, &sieve, &mut local);
                        out.extend(local.into_iter().map(|mut h| {
                            let ti = idx[h.target];
                            h.target = ti;
                            (h, ti)
                        }));
                    }
                    from = to;
                }
            }
            cx.release(start, end);
            out
        })
        .collect();
    hits.sort_by_key(|(h, _)| (h.offset, h.repr));
    hits
}

/// Where a prime factor was found and how it is laid out.
pub struct FactorAt<'a> {
    pub offset: usize,
    pub len: usize,
    /// The report's `encoding` (`le64-limbs`, `bignum-struct` ...).
    pub encoding: &'a str,
    /// Trimmed little-endian limbs of the factor.
    pub factor: &'a [u64],
}

/// Proves keys from prime factors of one modulus. Verification (primality of p and q) costs
/// milliseconds and a Java heap holds thousands of copies of each prime, so each distinct
/// factor is verified once and its verdict reused for every copy.
pub struct Prover<'a> {
    n: &'a num_bigint_dig::BigUint,
    e: &'a num_bigint_dig::BigUint,
    cache: HashMap<Vec<u64>, Option<keys::Verdict>>,
}

impl<'a> Prover<'a> {
    pub fn new(n: &'a num_bigint_dig::BigUint, e: &'a num_bigint_dig::BigUint) -> Self {
        Prover {
            n,
            e,
            cache: HashMap::new(),
        }
    }

    /// A verified RSA finding for the factor at `at`; `source` says where n came from.
    pub fn finding(&mut self, detector: &str, at: &FactorAt<'_>, source: &str) -> Option<Finding> {
        let (n, e) = (self.n, self.e);
        let verdict = self
            .cache
            .entry(at.factor.to_vec())
            .or_insert_with(|| {
                let p = limbs::to_biguint(at.factor);
                let q = n / &p;
                let parts = RsaParts {
                    n: Some(n.clone()),
                    e: Some(e.clone()),
                    p: Some(p),
                    q: Some(q),
                    format: String::new(),
                    ..Default::default()
                };
                let v = keys::verify(&PrivateKey::Rsa(parts));
                (v.status == keys::Status::Verified).then_some(v)
            })
            .as_ref()?;
        let mut v = verdict.clone();
        v.key.format = Some(format!("raw prime factor, {}", at.encoding));
        v.verification = format!(
            "prime factor p of the modulus found ({source}); {}; private key follows (q = n/p, d = e⁻¹ mod λ(n))",
            v.verification
        );
        let preview = format!(
            "[{}-bit prime factor, {}, {} bytes, redacted]",
            limbs::bits(at.factor),
            at.encoding,
            at.len
        );
        Some(Finding::key(
            detector,
            at.encoding,
            at.offset as u64,
            at.len as u64,
            &v,
            preview,
        ))
    }
}

/// Keeps at most [`MAX_COPIES`] findings per key; the last kept one counts the rest.
pub fn cap_copies(findings: &mut Vec<Finding>) {
    let mut count: HashMap<String, usize> = HashMap::new();
    for f in findings.iter() {
        if let Some(fp) = &f.fingerprint {
            *count.entry(fp.clone()).or_default() += 1;
        }
    }
    let mut kept: HashMap<String, usize> = HashMap::new();
    findings.retain_mut(|f| {
        let Some(fp) = f.fingerprint.clone() else {
            return true;
        };
        let k = kept.entry(fp.clone()).or_default();
        *k += 1;
        if *k < MAX_COPIES {
            return true;
        }
        if *k == MAX_COPIES {
            let more = count[&fp] - MAX_COPIES;
            if more > 0 {
                f.verification
                    .push_str(&format!(" ({more} further copies of this key not listed)"));
            }
            return true;
        }
        false
    });
}

#[cfg(test)]
mod tests {
    use crate::keys::limbs::{self, Repr};
    use crate::keys::testkeys::{self, noise};
    use crate::Scanner;

    fn place(data: &mut [u8], at: usize, bytes: &[u8]) {
        data[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// The hits do not depend on how the dump is cut into work items: factors in every
    /// representation, at every alignment, across piece edges, at the very end, in regions
    /// whose addresses are misaligned against the file, for a whole-limb and an odd factor
    /// size, are found the same with one piece for the whole dump and with many.
    #[test]
    fn hits_do_not_depend_on_the_cut() {
        use super::{chunk_for, search_in, ScanContext, Target, BLOCK};
        use crate::input::{AddressSpace, Region};
        let keys = [testkeys::rsa(2048, false), testkeys::rsa(1100, false)];
        let len = 1_300_003;
        let mut data = noise(len, 9);
        let reprs = [
            Repr::Le,
            Repr::Be,
            Repr::BeSigned,
            Repr::JavaWords,
            Repr::Go63,
        ];
        let mut at = 1_000;
        for (ki, k) in keys.iter().enumerate() {
            let h = k.n.bits().div_ceil(2);
            for (ri, &repr) in reprs.iter().enumerate() {
                for prime in [&k.p, &k.q] {
                    let bytes = limbs::encode(&limbs::from_biguint(prime), h, repr);
                    place(&mut data, at, &bytes);
                    // Straddling the next 4 KiB edge, then a 256 KiB edge, at odd offsets.
                    let edge = (at / 4096 + 1) * 4096 + 8 * ri + ki;
                    place(&mut data, edge - bytes.len() / 2, &bytes);
                    at += 37_000 + 3 * ri;
                }
            }
        }
        let p = limbs::encode(&limbs::from_biguint(&keys[0].p), 1024, Repr::Le);
        // The last window on the 8-byte grid of the gap after the last region (the file's own).
        let last = len - p.len() - 3;
        place(&mut data, last, &p);
        place(&mut data, (256 << 10) - 64, &p);
        let regions = vec![
            Region::memory(0, 400_000, 0x7f00_0000_0000),
            Region::memory(400_000, 500_003, 0x7f10_0000_0003),
            Region::memory(900_003, 300_000, 0x7f20_0000_0005),
        ];
        let mut space = AddressSpace::default();
        space.finish_with(&regions);
        let cx = ScanContext {
            data: &data,
            regions: &regions,
            space: &space,
            inventory: &[],
            pages: None,
        };
        let targets: Vec<Target> = keys
            .iter()
            .map(|k| Target::new(k.n.clone()).unwrap())
            .collect();
        let targets: Vec<&Target> = targets.iter().collect();
        let key = |hits: Vec<(super::Hit, usize)>| -> Vec<_> {
            hits.into_iter()
                .map(|(h, t)| (h.offset, h.len, h.repr, h.target, h.factor, t))
                .collect()
        };
        // One piece, one block: the reference every cut is compared with.
        let whole = key(search_in(&cx, &targets, len, len));
        // Not a vacuous comparison: both sizes and the forms each size is searched in (all
        // five for whole limbs, Java words and Go limbs for the odd size) are among the hits.
        let kinds: std::collections::HashSet<_> = whole.iter().map(|h| (h.5, h.2)).collect();
        assert_eq!(kinds.len(), 7, "{kinds:?}");
        assert!(whole.iter().any(|h| h.0 == last));
        for chunk in [4096, 1000, 65_536, 256 << 10, chunk_for(len)] {
            let cut = key(search_in(&cx, &targets, chunk, BLOCK));
            assert_eq!(cut, whole, "chunk {chunk}");
        }
        // Blocks cut inside a piece (windows straddle them as they straddle pieces).
        for (chunk, block) in [(len, BLOCK), (len, 1000), (256 << 10, 4096)] {
            let cut = key(search_in(&cx, &targets, chunk, block));
            assert_eq!(cut, whole, "chunk {chunk} block {block}");
        }
    }

    #[test]
    fn factor_next_to_a_certificate_proves_the_key() {
        let k = testkeys::rsa(2048, false);
        let mut data = noise(3 << 20, 1);
        place(&mut data, 10_000, &k.cert_der);
        let p = limbs::encode(&limbs::from_biguint(&k.p), 1024, Repr::Le);
        place(&mut data, 2_000_008, &p);
        let q = limbs::encode(&limbs::from_biguint(&k.q), 1024, Repr::JavaWords);
        place(&mut data, 2_500_000, &q);
        let r = Scanner::new().scan_bytes("t", &data);
        let f: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.detector == "rsa-factor")
            .collect();
        assert_eq!(f.len(), 2, "{:#?}", r.findings);
        for f in &f {
            assert!(f.verified);
            assert_eq!(f.fingerprint.as_deref(), Some(k.fingerprint.as_str()));
            assert!(
                f.verification
                    .contains("certificate CN=dumpguard unit test"),
                "{}",
                f.verification
            );
            assert_eq!(f.kind, "rsa-private-key");
        }
        assert_eq!(
            (f[0].offset, f[0].encoding.as_str()),
            (2_000_008, "le64-limbs")
        );
        assert_eq!(
            (f[1].offset, f[1].encoding.as_str()),
            (2_500_000, "java-int-words")
        );
        let json = r.to_json(false);
        for secret in [&k.p, &k.q, &k.d] {
            let hexs = format!("{secret:x}");
            assert!(!json.contains(&hexs[..32]), "secret leaked");
        }
    }

    #[test]
    fn inventory_modulus_drives_the_search_and_labels() {
        let k = testkeys::rsa(2048, false);
        let mut data = noise(1 << 20, 2);
        let p = limbs::encode(&limbs::from_biguint(&k.p), 1024, Repr::Be);
        place(&mut data, 77_776, &p);
        // Without the inventory: nothing (no public key in the dump).
        let r = Scanner::new().scan_bytes("t", &data);
        assert!(r.findings.iter().all(|f| f.detector != "rsa-factor"));
        let inv = crate::keys::pubkey::from_spki(&k.spki_der, "public key (signing.pem)").unwrap();
        let r = Scanner::new()
            .with_inventory(vec![inv])
            .scan_bytes("t", &data);
        let f: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.detector == "rsa-factor")
            .collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].known_key.as_deref(), Some("public key (signing.pem)"));
        assert_eq!(f[0].fingerprint.as_deref(), Some(k.fingerprint.as_str()));
        assert!(r
            .to_json(false)
            .contains("\"known_key\":\"public key (signing.pem)\""));
    }

    #[test]
    fn negatives_noise_corrupted_factor_wrong_modulus() {
        let k = testkeys::rsa(2048, false);
        let other = testkeys::rsa(2048, false);
        let mut data = noise(1 << 20, 3);
        place(&mut data, 5_000, &k.cert_der);
        // One flipped bit in the factor.
        let mut p = limbs::encode(&limbs::from_biguint(&k.p), 1024, Repr::Le);
        p[100] ^= 4;
        place(&mut data, 400_000, &p);
        // The other key's factor is no factor of this modulus.
        let q = limbs::encode(&limbs::from_biguint(&other.q), 1024, Repr::Le);
        place(&mut data, 600_000, &q);
        let r = Scanner::new().scan_bytes("t", &data);
        assert!(r.findings.iter().all(|f| !f.verified), "{:#?}", r.findings);
    }
}
