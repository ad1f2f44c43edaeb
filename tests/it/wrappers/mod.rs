//! Issue 4: every wrapper a private key hides in. Each encoding is built from a freshly
//! generated key by an implementation independent of dumpguard (`gen.py`: python
//! `cryptography`, ssh-keygen, puttygen, gpg, openssl; Windows blobs byte-exact per the
//! Microsoft documents named there), planted in noise and in a real process that is dumped as
//! an ELF core and as a minidump, and must be found, verified and fingerprinted exactly. A
//! one-bit-corrupted copy must never verify, and a magic followed by noise must not either.

mod support;

mod pgp_keys;
mod pkcs12_files;
mod redaction;
mod ssh_keys;
mod symcrypt_objects;
mod text_keys;
mod windows_blobs;

/// Mutated samples of every encoding never make a detector panic.
#[test]
fn hostile_variants_never_panic() {
    for g in [
        "cng", "capi", "dotnet", "jwk", "openssh", "putty", "pgp", "pkcs12", "symcrypt",
    ] {
        support::check_mutations(g);
    }
}
