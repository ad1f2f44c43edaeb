//! Discarded key-generation candidates (issue #15). A JVM that generated one RSA-2048 key
//! with `KeyPairGenerator` still holds the candidates it threw away: pairs of primes whose
//! product came out a few bits short of the requested size (or failed a later check), each
//! with its modulus, as `BigInteger`s in the heap until the next collection. The `bigint`
//! pairing proves every one of them — p·q = n is as true of a discarded candidate as of the
//! key that was kept — so a dump of such a process used to list up to ten more critical keys.
//!
//! They are real private keys, but of public keys nobody has: no certificate, keystore or
//! peer binds them, so an attacker holding one can sign or decrypt only for a key nobody
//! trusts. This post-pass over the finished findings keeps them reported, labels them "likely
//! an unused key-generation candidate" and lowers them to `medium` (reported, not blocking by
//! default), but only when everything says "candidate":
//!
//! 1. an RSA key proven only from raw integers (`bigint`, `rsa-factor`, `raw-private-integer`)
//!    — no encoding of it (DER, PEM, JWK, PPK …) anywhere in the dump, because an encoding is
//!    how a key is stored, loaded and used;
//! 2. its modulus is 1 to [`MAX_SHORT_BITS`] bits shorter than a standard size
//!    ([`STANDARD_BITS`]): generators require the exact size, so a key just short of it is
//!    what they reject;
//! 3. the same dump holds a proven, critical RSA key of exactly that standard size (the key
//!    the generator returned), itself not a candidate;
//! 4. no public key with its fingerprint was seen in the dump (certificate, SPKI, SSH or JWK
//!    public key …) or given with `--known-keys`: a public key somewhere means it may be in
//!    use, and it then stays critical;
//! 5. it shares no prime with a key that is not a candidate: a candidate made of the kept
//!    key's p and a rejected q gives that p away (p = n′/q′), so it must be blocked and
//!    redacted like the kept key itself.
//!
//! Anything that fails one test stays critical, so the gate stays fail-closed on every key
//! that could be in use; a dump with candidates also holds the critical key they were
//! generated beside, so it is blocked anyway.

use crate::report::{Finding, Severity};
use std::collections::{HashMap, HashSet};

/// RSA sizes generators are asked for.
pub const STANDARD_BITS: &[u32] = &[1024, 1536, 2048, 3072, 4096, 6144, 7680, 8192, 15360, 16384];
/// How far below a standard size a candidate's modulus may fall.
pub const MAX_SHORT_BITS: u32 = 24;
/// Detectors that prove keys from bare integers, with no encoding around them.
const RAW_DETECTORS: &[&str] = &["bigint", "rsa-factor", "raw-private-integer"];
/// The label's first words (tests and policies may match on them).
pub const LABEL: &str = "likely an unused key-generation candidate";

/// Labels and lowers the candidates among `findings` (see the module documentation).
/// `public_keys` are the public keys seen in the dump, `inventory` the user's.
/// `public`: the fingerprints of every public key seen in the dump or the inventory
/// ([`crate::keys::fingerprint::public_fingerprints`]).
pub fn label(findings: &mut [Finding], public: &HashSet<String>) {
    // A proven RSA key that counts as in use: critical (a published test key is low), maybe
    // named by the inventory.
    let is_rsa_key =
        |f: &Finding| f.kind == "rsa-private-key" && f.verified && f.severity == Severity::Critical;
    let bits = |f: &Finding| f.key.as_ref().map_or(0, |k| k.bits);
    // Fingerprints found through an encoding, or with a public key anywhere.
    let mut bound: HashSet<&str> = HashSet::new();
    for f in findings.iter() {
        if let Some(fp) = f.fingerprint.as_deref() {
            if !RAW_DETECTORS.contains(&f.detector.as_str()) {
                bound.insert(fp);
            }
        }
    }
    // Proven critical keys of each standard size: the generators' results.
    let mut generated: HashMap<u32, &str> = HashMap::new();
    for f in findings.iter().filter(|f| is_rsa_key(f)) {
        if let (Some(fp), true) = (f.fingerprint.as_deref(), STANDARD_BITS.contains(&bits(f))) {
            let e = generated.entry(bits(f)).or_insert(fp);
            if fp < *e {
                *e = fp; // the same sibling named on every run
            }
        }
    }
    let mut relabel: Vec<(usize, String)> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let Some(fp) = f.fingerprint.as_deref() else {
            continue;
        };
        // A labelled key (inventory, published) is known, so not an unused candidate.
        if !is_rsa_key(f) || f.known_key.is_some() || bound.contains(fp) || public.contains(fp) {
            continue;
        }
        let b = bits(f);
        let Some((&size, sibling)) = STANDARD_BITS
            .iter()
            .filter(|&&s| s > b && s - b <= MAX_SHORT_BITS)
            .find_map(|s| generated.get(s).map(|sib| (s, *sib)))
        else {
            continue;
        };
        let short = size - b;
        relabel.push((
            i,
            format!(
                "{LABEL}: a {b}-bit key, {short} bit{} short of the {size}-bit key generated \
                 in the same process ({}…), proven only from raw integers, with no \
                 certificate or public key for it in the dump",
                if short == 1 { "" } else { "s" },
                &sibling[..sibling.len().min(23)]
            ),
        ));
    }
    // Test 5: the primes of every proven RSA key that stays critical.
    let chosen: HashSet<usize> = relabel.iter().map(|(i, _)| *i).collect();
    let primes = |f: &Finding| -> Vec<num_bigint_dig::BigUint> {
        match f.material.as_ref().map(|m| m.key()) {
            Some(crate::keys::PrivateKey::Rsa(r)) => {
                [&r.p, &r.q].into_iter().flatten().cloned().collect()
            }
            _ => Vec::new(),
        }
    };
    let kept: HashSet<num_bigint_dig::BigUint> = findings
        .iter()
        .enumerate()
        .filter(|(i, f)| !chosen.contains(i) && f.kind == "rsa-private-key" && f.verified)
        .flat_map(|(_, f)| primes(f))
        .collect();
    relabel.retain(|(i, _)| !primes(&findings[*i]).iter().any(|p| kept.contains(p)));
    for (i, why) in relabel {
        findings[i].severity = Severity::Medium;
        findings[i].known_key = Some(why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::fingerprint::public_fingerprints;
    use crate::keys::PublicKeyRecord;
    use crate::keys::{KeyInfo, Status, Verdict};

    fn rsa(detector: &str, bits: u32, fp: &str) -> Finding {
        let v = Verdict {
            status: Status::Verified,
            verification: "p·q = n".into(),
            key: KeyInfo {
                algorithm: "RSA".into(),
                bits,
                ..Default::default()
            },
            spki: None,
            material: None,
        };
        let mut f = Finding::key(detector, "java-int-array", 0, 256, &v, String::new());
        f.fingerprint = Some(format!("sha256:{fp}"));
        f
    }

    #[test]
    fn short_raw_keys_beside_a_generated_key_are_labelled_medium() {
        let mut v = vec![
            rsa("bigint", 2048, "aa"),
            rsa("bigint", 2045, "bb"),
            rsa("bigint", 2047, "cc"),
            rsa("bigint", 2020, "dd"), // 28 bits short: not a candidate
            rsa("bigint", 3071, "ee"), // no 3072-bit key in the dump
        ];
        label(&mut v, &HashSet::new());
        let sev: Vec<Severity> = v.iter().map(|f| f.severity).collect();
        use Severity::*;
        assert_eq!(sev, [Critical, Medium, Medium, Critical, Critical]);
        // The generated key named by `--known-keys` is still the generator's key.
        let mut w = vec![rsa("bigint", 2048, "aa"), rsa("bigint", 2045, "bb")];
        w[0].known_key = Some("inventory keys/signing.pem".into());
        label(&mut w, &HashSet::new());
        assert_eq!(w[1].severity, Severity::Medium);
        let why = v[1].known_key.as_deref().unwrap();
        assert!(why.starts_with(LABEL) && why.contains("3 bits short of the 2048-bit key"));
        assert!(v[0].known_key.is_none());
    }

    #[test]
    fn anything_that_could_be_in_use_stays_critical() {
        // Encoded somewhere in the dump (a PKCS#8 of the short key).
        let mut v = vec![
            rsa("bigint", 2048, "aa"),
            rsa("bigint", 2047, "bb"),
            rsa("der", 2047, "bb"),
        ];
        label(&mut v, &HashSet::new());
        assert!(v.iter().all(|f| f.severity == Severity::Critical));
        // Its public key is in the dump (a certificate names it).
        let mut v = vec![rsa("bigint", 2048, "aa"), rsa("bigint", 2047, "bb")];
        let spki = b"not really DER, hashed all the same".to_vec();
        let fp = crate::keys::fingerprint::sha256_fingerprint(&spki);
        v[1].fingerprint = Some(fp);
        let cert = PublicKeyRecord {
            spki,
            ..Default::default()
        };
        label(&mut v, &public_fingerprints(std::iter::once(&cert)));
        assert_eq!(v[1].severity, Severity::Critical);
        label(&mut v, &public_fingerprints(std::iter::once(&cert)));
        assert_eq!(v[1].severity, Severity::Critical);
        // It shares a prime with the kept key (p kept, q regenerated): it gives p away.
        let with_primes = |mut f: Finding, p: u32, q: u32| {
            let parts = crate::keys::RsaParts {
                p: Some(p.into()),
                q: Some(q.into()),
                ..Default::default()
            };
            let v = Verdict {
                status: Status::Verified,
                verification: String::new(),
                key: KeyInfo::default(),
                spki: None,
                material: None,
            };
            f.material =
                crate::keys::with_material(v, || crate::keys::PrivateKey::Rsa(parts)).material;
            f
        };
        let mut v = vec![
            with_primes(rsa("bigint", 2048, "aa"), 11, 13),
            with_primes(rsa("bigint", 2047, "bb"), 11, 17),
            with_primes(rsa("bigint", 2046, "cc"), 19, 23),
        ];
        label(&mut v, &HashSet::new());
        assert_eq!(
            v[1].severity,
            Severity::Critical,
            "shares p with the kept key"
        );
        assert_eq!(v[2].severity, Severity::Medium);
        // No standard-size key was generated beside it.
        let mut v = vec![rsa("bigint", 2047, "bb")];
        label(&mut v, &HashSet::new());
        assert_eq!(v[0].severity, Severity::Critical);
    }
}
