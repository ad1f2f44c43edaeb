//! The RSA moduli a scan knows: from the user's inventory and from every public key seen in
//! the dump (certificates, SPKI, CNG/CAPI public blobs, JWK, XML ...), one entry per distinct
//! modulus with the best label for it.

use super::pubkey::CA_SOURCE_PREFIX;
use crate::keys::PublicKeyRecord;
use num_bigint_dig::BigUint;

/// A distinct RSA modulus and where it is known from.
#[derive(Debug, Clone)]
pub struct KnownModulus {
    pub n: BigUint,
    pub e: BigUint,
    /// The inventory entry, or the first public key in the dump that carried it.
    pub label: String,
    pub inventory: bool,
    /// Only ever seen as a CA certificate.
    pub ca: bool,
    /// How many public keys in the dump carried it.
    pub seen: usize,
}

/// Distinct moduli, inventory entries first, then the dump's own public keys ordered by how
/// likely their private key is to be in this process: not a CA, seen often.
pub fn collect(inventory: &[PublicKeyRecord], seen: &[PublicKeyRecord]) -> Vec<KnownModulus> {
    let mut out: Vec<KnownModulus> = Vec::new();
    let mut index: std::collections::HashMap<Vec<u8>, usize> = Default::default();
    let all = inventory
        .iter()
        .map(|r| (r, true))
        .chain(seen.iter().map(|r| (r, false)));
    for (r, inv) in all {
        if r.algorithm != "RSA" {
            continue;
        }
        let Some(n) = r.modulus.as_deref() else {
            continue;
        };
        let n = strip(n);
        if n.is_empty() {
            continue;
        }
        let ca = r.source.starts_with(CA_SOURCE_PREFIX);
        match index.get(n) {
            Some(&i) => {
                let m = &mut out[i];
                if !inv {
                    m.seen += 1;
                }
                m.ca &= ca;
            }
            None => {
                let e = r
                    .exponent
                    .as_deref()
                    .map(BigUint::from_bytes_be)
                    .unwrap_or_else(|| BigUint::from(65537u32));
                let label = match (inv, r.offset) {
                    (false, Some(o)) => format!("{} at file offset {o:#x}", r.source),
                    _ => r.source.clone(),
                };
                index.insert(n.to_vec(), out.len());
                out.push(KnownModulus {
                    n: BigUint::from_bytes_be(n),
                    e,
                    label,
                    inventory: inv,
                    ca,
                    seen: usize::from(!inv),
                });
            }
        }
    }
    out.sort_by_key(|m| (!m.inventory, m.ca, std::cmp::Reverse(m.seen)));
    out
}

fn strip(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: u8, source: &str) -> PublicKeyRecord {
        PublicKeyRecord {
            algorithm: "RSA".into(),
            modulus: Some(vec![0, n, 1, 2, 3]),
            exponent: Some(vec![3]),
            offset: Some(16),
            source: source.into(),
            ..Default::default()
        }
    }

    #[test]
    fn dedup_and_priority() {
        let inv = vec![rec(9, "kid k (jwks.json)")];
        let seen = vec![
            rec(1, "CA certificate CN=root"),
            rec(2, "certificate CN=leaf"),
            rec(9, "certificate CN=signer"),
            rec(1, "CA certificate CN=root"),
            rec(2, "SubjectPublicKeyInfo"),
            rec(2, "RSAPublicKey"),
        ];
        let m = collect(&inv, &seen);
        assert_eq!(m.len(), 3);
        assert!(m[0].inventory && m[0].label == "kid k (jwks.json)" && m[0].seen == 1);
        assert_eq!(m[1].label, "certificate CN=leaf at file offset 0x10");
        assert_eq!(m[1].seen, 3);
        assert!(m[2].ca && m[2].seen == 2);
        assert_eq!(m[0].e, BigUint::from(3u8));
    }
}
