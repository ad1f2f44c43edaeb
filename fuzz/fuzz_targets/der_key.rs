//! The DER private-key decoders and the key math, on arbitrary bytes.
#![no_main]
use dumpguard::{fuzzing as keys, Status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(decoded) = keys::decode::private_key_der(data) {
        let v = keys::verify(&decoded.key);
        if v.status == Status::Verified {
            assert!(v.fingerprint().is_some(), "verified key without fingerprint");
        }
    }
    // The detector path: exactly one TLV cut from the front, decoded, verified, reported.
    let _ = dumpguard::fuzzing::der_key_finding("der", "der", 0, data.len() as u64, data, |f| {
        format!("[{f}, redacted]")
    });
});
