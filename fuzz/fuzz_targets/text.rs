//! The text detectors (PEM armour, bare base64, ASCII and UTF-16LE): scan a byte slice.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let report = dumpguard_fuzz::scanner().scan_bytes("fuzz", data);
    dumpguard_fuzz::check_report(data, &report);
});
