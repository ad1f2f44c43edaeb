//! CNG (`BCRYPT_RSAKEY_BLOB`, `BCRYPT_ECCKEY_BLOB`, `BCRYPT_DSA_KEY_BLOB[_V2]`,
//! `BCRYPT_KEY_DATA_BLOB`) and CryptoAPI (`PRIVATEKEYBLOB`, `PUBLICKEYBLOB`,
//! `PLAINTEXTKEYBLOB`) blobs, built byte-exact in gen.py from the MS Learn layouts named there.

use crate::wrappers::support::*;

#[test]
fn cng_blobs_are_found_verified_and_fingerprinted() {
    check_planted("cng");
}

#[test]
fn capi_blobs_are_found_verified_and_fingerprinted() {
    check_planted("capi");
}

#[test]
fn one_bit_corrupted_windows_blobs_are_corrupted() {
    check_corrupted("cng");
    check_corrupted("capi");
}

#[test]
fn windows_magics_followed_by_noise_never_verify() {
    let mut magics: Vec<Vec<u8>> = [
        "RSA1", "RSA2", "RSA3", "ECS1", "ECS2", "ECS4", "ECS6", "ECK2", "ECK4", "ECK6", "DSPV",
        "DPV2", "KDBM",
    ]
    .iter()
    .map(|m| m.as_bytes().to_vec())
    .collect();
    // Plausible headers with random bodies: RSA-2048 full private, P-256 private.
    let mut rsa3 = b"RSA3".to_vec();
    for v in [2048u32, 3, 256, 128, 128] {
        rsa3.extend_from_slice(&v.to_le_bytes());
    }
    rsa3.extend_from_slice(&[1, 0, 1]);
    rsa3.push(0xc5); // top byte of n with the top bit set
    magics.push(rsa3);
    magics.push(b"ECS2\x20\0\0\0".to_vec());
    magics.push(b"\x07\x02\0\0\0\xa4\0\0RSA2\0\x08\0\0\x01\0\x01\0".to_vec());
    magics.push(b"\x08\x02\0\0\x10\x66\0\0\x20\0\0\0".to_vec());
    let refs: Vec<&[u8]> = magics.iter().map(|m| m.as_slice()).collect();
    check_magic_noise(&refs);
}

#[test]
fn windows_blobs_in_real_process_dumps() {
    check_real_process(&["cng", "capi"]);
}
