//! The known-key inventory reader (`--known-keys`): PEM, DER, JWKS/JWK JSON, OpenSSH keys.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let keys = dumpguard::parse_known_keys(data, "fuzz");
    // Each key comes from some bytes of the file: a file cannot multiply into more keys than
    // it has bytes (a bound on what a hostile inventory makes us keep).
    assert!(keys.len() <= data.len());
});
