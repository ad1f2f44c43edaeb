//! The ELF core parser on arbitrary bytes (whatever the magic says).
#![no_main]
use dumpguard::{Dump, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dump = Dump::from_slice_as(data, Format::ElfCore);
    dumpguard_fuzz::check_layout(&dump);
});
