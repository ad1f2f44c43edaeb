//! libgcrypt S-expressions (canonical, advanced, internal) and the gcrypt-sexp detector, on
//! arbitrary bytes: the parser stays within its bounds, and every reported finding lies
//! inside the input.
#![no_main]
use dumpguard::fuzzing::sexp::{self, Sexp, Syntax, MAX_DEPTH, MAX_NODES, MAX_SPAN};
use libfuzzer_sys::fuzz_target;

fn shape(s: &Sexp, depth: usize, nodes: &mut usize) {
    assert!(depth <= MAX_DEPTH + 1, "nested deeper than MAX_DEPTH");
    *nodes += 1;
    if let Some(l) = s.list() {
        for e in l {
            shape(e, depth + 1, nodes);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for syntax in [Syntax::Canonical, Syntax::Advanced, Syntax::Internal] {
        if let Some((tree, len)) = sexp::parse(data, syntax) {
            assert!(len <= data.len().min(MAX_SPAN), "consumed past the input");
            let mut nodes = 0;
            shape(&tree, 0, &mut nodes);
            assert!(nodes <= MAX_NODES + 1, "more nodes than MAX_NODES");
        }
    }
    // The detector path (anchors, look-behind for the list's opening, key math).
    let report = dumpguard_fuzz::scanner().scan_bytes("fuzz", data);
    dumpguard_fuzz::check_report(data, &report);
});
