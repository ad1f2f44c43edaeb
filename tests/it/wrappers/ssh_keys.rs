//! OpenSSH `openssh-key-v1` (ssh-keygen) and PuTTY PPK v2/v3 (puttygen from Debian's
//! putty-tools): PEM armour, binary, bare base64, UTF-16LE; unencrypted verified, encrypted
//! reported with cipher and KDF and fingerprinted by the public key.

use crate::wrappers::support::*;

#[test]
fn openssh_keys_are_found_verified_and_fingerprinted() {
    check_planted("openssh");
}

#[test]
fn putty_keys_are_found_verified_and_fingerprinted() {
    check_planted("putty");
}

#[test]
fn one_bit_corrupted_ssh_keys_are_corrupted() {
    check_corrupted("openssh");
    check_corrupted("putty");
}

#[test]
fn encrypted_ssh_keys_name_cipher_and_kdf() {
    for (group, words) in [
        ("openssh", ["aes256-ctr", "bcrypt"]),
        ("putty", ["aes256-cbc", "Argon2"]),
    ] {
        let s = samples(group);
        let enc = s.iter().find(|s| s.status == "encrypted").unwrap();
        let r = scan_bytes(&plant(&enc.data));
        let f = find(&r, enc).expect("encrypted key found");
        for w in words {
            assert!(
                f.verification.contains(w),
                "{}: {}",
                enc.name,
                f.verification
            );
        }
    }
}

#[test]
fn ssh_anchors_followed_by_noise_never_verify() {
    let utf16 = |s: &str| crate::common::utf16le(s.as_bytes());
    let magics: Vec<Vec<u8>> = vec![
        b"openssh-key-v1\0".to_vec(),
        b"openssh-key-v1\0\0\0\0\x04none\0\0\0\x04none\0\0\0\0\0\0\0\x01".to_vec(),
        b"b3BlbnNzaC1rZXktdjEA".to_vec(),
        utf16("b3BlbnNzaC1rZXktdjEA"),
        b"PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: x\nPublic-Lines: 1\n".to_vec(),
        utf16("PuTTY-User-Key-File-2: "),
        b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5".to_vec(),
    ];
    let refs: Vec<&[u8]> = magics.iter().map(|m| m.as_slice()).collect();
    check_magic_noise(&refs);
}

#[test]
fn ssh_keys_in_real_process_dumps() {
    check_real_process(&["openssh", "putty"]);
}
