//! A raw image with a sidecar region index. Input layout: u16 LE length n, then n bytes of
//! index JSON, then the image.
#![no_main]
use dumpguard::Dump;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = (u16::from_le_bytes([data[0], data[1]]) as usize).min(data.len() - 2);
    let (json, image) = data[2..].split_at(n);
    let dump = Dump::from_slice_with_index(image, json);
    dumpguard_fuzz::check_layout(&dump);
});
