//! The audit-log verifier (`dumpguard audit verify`): any bytes as a log.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = dumpguard::gate::audit::verify_reader(std::io::Cursor::new(data))
        .expect("reading from memory cannot fail");
    if let Ok(v) = r {
        // Every verified record is one complete line.
        let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
        assert!(v.records <= lines);
        assert!(v.head.starts_with("sha256:"));
    }
});
