//! PKCS#12 / PFX from `openssl pkcs12 -export`: modern (PBES2 + SHA-256 MAC), legacy
//! (SHA1-3DES + SHA-1 MAC, as Windows exports), EC, without MAC, and password-protected.

use crate::wrappers::support::*;

#[test]
fn pkcs12_files_are_opened_verified_and_fingerprinted() {
    check_planted("pkcs12");
}

#[test]
fn pkcs12_reports_whether_the_empty_password_opened_it() {
    for s in samples("pkcs12") {
        let r = scan_bytes(&plant(&s.data));
        let f = find(&r, &s).expect("found");
        // One finding per file: the encrypted key bag inside it is the PFX finding's business,
        // not a second "encrypted PKCS#8" finding.
        assert_eq!(r.findings.len(), 1, "{}:{}", s.name, describe(&r));
        if s.status == "verified" {
            assert!(f.verification.contains("opened"), "{}", f.verification);
            assert!(
                f.verification.contains("empty password") || f.verification.contains("no password")
            );
        } else {
            assert!(
                f.verification
                    .contains("not verified with the empty or no password"),
                "{}",
                f.verification
            );
        }
    }
}

#[test]
fn one_bit_corrupted_pkcs12_is_never_verified() {
    check_corrupted("pkcs12");
}

#[test]
fn pkcs12_anchor_followed_by_noise_never_verifies() {
    let magics: Vec<&[u8]> = vec![
        b"\x02\x01\x03\x30",
        b"\x30\x82\x09\xcf\x02\x01\x03\x30\x82\x09\x85\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01",
    ];
    check_magic_noise(&magics);
}

#[test]
fn pkcs12_in_real_process_dumps() {
    check_real_process(&["pkcs12"]);
}
