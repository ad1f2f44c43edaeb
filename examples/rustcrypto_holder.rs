//! Test helper for tests/it/real_ec.rs, not a user tool: a Rust process holding keys the way a
//! service built on RustCrypto does — an `rsa` 0.9 `RsaPrivateKey` (n, d, primes and CRT
//! values as num-bigint-dig `BigUint`s) and a `p256` 0.13 ECDSA `SigningKey` (the scalar as
//! four little-endian limbs next to its verifying key's Montgomery-form point) — each used
//! once to sign.
//!
//! Usage: `rustcrypto_holder RSA_DER_OUT P256_DER_OUT`. The PKCS#8 DER of each key is written
//! to the given file (the test derives the openssl fingerprint from it and deletes it); the
//! process keeps no encoded copy (the `SecretDocument`s are zeroized on drop), prints READY
//! and blocks on stdin, so a dump holds only the crates' own in-memory representations.

use p256::ecdsa::signature::Signer;
use p256::pkcs8::EncodePrivateKey;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(
        args.len(),
        3,
        "usage: rustcrypto_holder RSA_DER_OUT P256_DER_OUT"
    );
    let mut rng = rand::thread_rng();

    let rsa_key = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation");
    let ec_key = p256::ecdsa::SigningKey::random(&mut rng);
    {
        let der = rsa_key.to_pkcs8_der().expect("RSA PKCS#8");
        std::fs::write(&args[1], der.as_bytes()).expect("write RSA DER");
        let der = ec_key.to_pkcs8_der().expect("P-256 PKCS#8");
        std::fs::write(&args[2], der.as_bytes()).expect("write P-256 DER");
    }

    // Use both keys, as a service does (signing is what leaves the key's working state).
    let digest = <sha2::Sha256 as sha2::Digest>::digest(b"dumpguard real_ec");
    let rsa_sig = rsa_key
        .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
        .expect("RSA signature");
    let ec_sig: p256::ecdsa::Signature = ec_key.sign(b"dumpguard real_ec");

    // The keys stay reachable (boxed on the heap, like a long-lived service's state) until the
    // test kills the process.
    let keep = Box::new((rsa_key, ec_key));
    println!(
        "signed {} + {} bytes",
        rsa_sig.len(),
        ec_sig.to_bytes().len()
    );
    println!("READY");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(std::hint::black_box(keep));
}
