//! .NET `ToXmlString(true)` XML and JWK/JWKS JSON, ASCII and UTF-16LE, built by hand in gen.py
//! from numbers python `cryptography` generated (documented member names and encodings).

use crate::wrappers::support::*;

#[test]
fn dotnet_xml_keys_are_found_verified_and_fingerprinted() {
    check_planted("dotnet");
}

#[test]
fn jwk_keys_are_found_verified_and_fingerprinted() {
    check_planted("jwk");
}

#[test]
fn one_bit_corrupted_xml_and_jwk_are_corrupted() {
    check_corrupted("dotnet");
    check_corrupted("jwk");
}

#[test]
fn jwk_kid_is_reported() {
    let s = samples("jwk");
    let rsa = s
        .iter()
        .find(|s| s.name == "jwk rsa compact ascii")
        .unwrap();
    let r = scan_bytes(&plant(&rsa.data));
    let f = find(&r, rsa).expect("found");
    assert!(
        f.preview.contains("kid \"rsa-test-kid-1\""),
        "{}",
        f.preview
    );
}

#[test]
fn xml_and_jwk_anchors_followed_by_noise_never_verify() {
    let utf16 = |s: &str| crate::common::utf16le(s.as_bytes());
    let magics: Vec<Vec<u8>> = vec![
        b"<RSAKeyValue>".to_vec(),
        b"<RSAKeyValue><Modulus>AAAA</Modulus><Exponent>AQAB</Exponent><D>".to_vec(),
        utf16("<RSAKeyValue>"),
        b"{\"kty\"".to_vec(),
        b"{\"kty\":\"RSA\",\"n\":\"".to_vec(),
        b"{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\":\"".to_vec(),
        utf16("{\"kty\""),
        b"{\\\"kty\\\"".to_vec(),
    ];
    let refs: Vec<&[u8]> = magics.iter().map(|m| m.as_slice()).collect();
    check_magic_noise(&refs);
}

#[test]
fn xml_and_jwk_in_real_process_dumps() {
    check_real_process(&["dotnet", "jwk"]);
}

/// Partial RSA keys without a modulus (.NET XML with `<P>` or `<D>` only, JWK with `d` or `dp`
/// only): alone they are reported unverifiable, never verified; with their public key elsewhere
/// in the same real process (PEM SPKI), or given as `--known-keys`, they are completed by
/// computation and verified with the exact fingerprint.
#[test]
fn partial_rsa_keys_are_completed_with_a_modulus_from_elsewhere_in_the_dump() {
    let all = samples("partial");
    let pairs: Vec<(&Sample, &Sample)> = all.chunks(2).map(|c| (&c[0], &c[1])).collect();
    assert_eq!(pairs.len(), 4);
    for (public, partial) in &pairs {
        assert!(public.is_public() && !partial.is_public());
        // Alone: reported, but not verified and with no fingerprint claimed.
        let r = scan_bytes(&plant(&partial.data));
        let f = r
            .findings
            .iter()
            .find(|f| f.kind == "rsa-private-key")
            .unwrap_or_else(|| panic!("{}: not reported alone: {}", partial.name, describe(&r)));
        assert_eq!(
            f.status,
            "unverifiable",
            "{}: {}",
            partial.name,
            describe(&r)
        );
        assert!(!f.verified && f.fingerprint.is_none(), "{}", partial.name);
        // With its public key in the same bytes: verified, exact fingerprint, one finding.
        let mut both = plant(&public.data);
        both.extend(plant(&partial.data));
        let r = scan_bytes(&both);
        assert_found(&r, partial, "with its public key");
        let at_place: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.kind == "rsa-private-key")
            .collect();
        assert_eq!(at_place.len(), 1, "{}: {}", partial.name, describe(&r));
        assert!(
            at_place[0].verification.contains("n from"),
            "{}",
            partial.name
        );
        // With the public key given as the inventory instead.
        let inv = dumpguard::parse_known_keys(&public.data, "inventory.pem");
        let r = dumpguard::Scanner::new()
            .with_inventory(inv)
            .scan_bytes("planted", &plant(&partial.data));
        assert_found(&r, partial, "with --known-keys");
    }
    // All of them, with their public keys, in a real process dumped two ways.
    let blobs: Vec<Vec<u8>> = all.iter().map(|s| s.data.clone()).collect();
    let holder = crate::common::Holder::spawn(&blobs);
    let core = crate::common::gcore(holder.pid);
    let mini = crate::common::minidump(holder.pid);
    drop(holder);
    for (what, path) in [("ELF core", &core), ("minidump", &mini)] {
        let r = crate::common::scan(path);
        for (_, partial) in &pairs {
            assert_found(&r, partial, what);
        }
        let json = r.to_json(false);
        for (_, partial) in &pairs {
            crate::common::assert_no_secret(json.as_bytes(), &partial.secret);
        }
    }
}
