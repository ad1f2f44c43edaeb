//! SymCrypt in-memory RSA key objects (Windows CNG's engine), built byte-exact in gen.py from
//! microsoft/SymCrypt `inc/symcrypt_internal.h` and `lib/rsakey.c` for x86-64.

use crate::support::*;

#[test]
fn symcrypt_rsa_keys_are_recovered_verified_and_fingerprinted() {
    check_planted("symcrypt");
    for s in samples("symcrypt") {
        let r = scan_bytes(&plant(&s.data));
        let f = find(&r, &s).unwrap();
        assert!(
            f.verification.contains("from key header"),
            "{}",
            f.verification
        );
        assert!(f.verification.contains("dP, dQ"), "{}", f.verification);
    }
}

#[test]
fn one_bit_corrupted_symcrypt_keys_are_corrupted() {
    check_corrupted("symcrypt");
}

#[test]
fn symcrypt_int_anchor_followed_by_noise_never_verifies() {
    let magics: Vec<&[u8]> = vec![
        b"\x00\x00\x49\x67",
        b"\x00\x00\x49\x67\x04\x00\x00\x00\x20\x01\x00\x00",
        b"\x00\x00\x44\x67\x04\x00\x00\x00\x40\x01\x00\x00\x00\x08\x00\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x00\x00\x49\x67\x04\x00\x00\x00\x20\x01\x00\x00",
    ];
    check_magic_noise(&magics);
}

#[test]
fn symcrypt_keys_in_real_process_dumps() {
    check_real_process(&["symcrypt"]);
}
