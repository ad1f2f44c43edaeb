//! The rule-file reader (`--rules`, dumpguard or gitleaks TOML): parsing, then compiling
//! every rule (regexes, keywords, validators) as `--rules` does.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = dumpguard::fuzzing::parse_rules(text, "fuzz") else {
        return;
    };
    for spec in loaded.rules {
        let _ = dumpguard::fuzzing::compile_rule(spec, true);
    }
});
