//! The policy reader (`--policy`): TOML of any shape, bytes that are not UTF-8.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = dumpguard::gate::policy::Policy::parse(data, "fuzz") {
        // A policy that parses is usable: its digest names these bytes.
        assert!(p.digest.starts_with("sha256:"));
    }
});
