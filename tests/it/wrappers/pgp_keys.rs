//! OpenPGP secret keys exported by gpg: armoured (through the PEM detector, with a `Comment:`
//! header) and binary (packet anchors), RSA + RSA subkey, Ed25519 + cv25519 subkey, NIST P-256,
//! and a passphrase-protected key.

use crate::wrappers::support::*;

#[test]
fn pgp_keys_are_found_verified_and_fingerprinted() {
    check_planted("pgp");
}

#[test]
fn one_bit_corrupted_pgp_keys_are_corrupted() {
    check_corrupted("pgp");
}

#[test]
fn pgp_anchors_followed_by_noise_never_verify() {
    let magics: Vec<&[u8]> = vec![
        b"\x00\x11\x01\x00\x01\x00",
        b"\x00\x11\x01\x00\x01\xfe",
        b"\x16\x09\x2b\x06\x01\x04\x01\xda\x47\x0f\x01",
        b"\x95\x01\x18\x04\x00\x00\x00\x00\x16\x09\x2b\x06\x01\x04\x01\xda\x47\x0f\x01",
        b"\x13\x08\x2a\x86\x48\xce\x3d\x03\x01\x07",
        b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n",
    ];
    check_magic_noise(&magics);
}

#[test]
fn pgp_keys_in_real_process_dumps() {
    check_real_process(&["pgp"]);
}
