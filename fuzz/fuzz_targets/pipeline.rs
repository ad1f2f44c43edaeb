//! The whole pipeline: sniff the container, parse it, scan every byte with every detector,
//! attribute findings, render the report.
#![no_main]
use dumpguard::Dump;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dump = Dump::from_slice(data);
    dumpguard_fuzz::check_layout(&dump);
    let report = dumpguard_fuzz::scanner().scan_dump(&dump, "fuzz", &Default::default(), &|_| {});
    dumpguard_fuzz::check_report(data, &report);
});
