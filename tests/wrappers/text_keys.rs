//! .NET `ToXmlString(true)` XML and JWK/JWKS JSON, ASCII and UTF-16LE, built by hand in gen.py
//! from numbers python `cryptography` generated (documented member names and encodings).

use crate::support::*;

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
