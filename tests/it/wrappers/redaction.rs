//! Issue 5 over issue 4's encodings: the gate's redacted copy of a dump holding any wrapper
//! encoding (CNG, CryptoAPI, SymCrypt, .NET XML, JWK, OpenSSH, PuTTY, OpenPGP, PKCS#12, partial
//! RSA completed from a public key) rescans with nothing that blocks, keeps every byte around
//! the key, and holds none of the key's secret bytes.

use crate::wrappers::support::*;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_wrapper_encoding_is_redacted_and_the_copy_rescans_clean() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("raw.toml");
    std::fs::write(&policy, "version = 1\n[input]\nallow_raw = true\n").unwrap();
    let groups = [
        "cng", "capi", "dotnet", "jwk", "openssh", "putty", "pgp", "pkcs12", "symcrypt", "partial",
    ];
    let mut redacted = 0;
    for g in groups {
        let all = samples(g);
        for (i, smp) in all.iter().enumerate() {
            if smp.is_public() {
                continue;
            }
            // A partial key blocks only once completed: plant its public key (the sample
            // before it) first.
            let mut data = noise(16 << 10, i as u64 + 11);
            if g == "partial" {
                data.extend_from_slice(&all[i - 1].data);
                data.extend(noise(4 << 10, i as u64 + 12));
            }
            let at = data.len();
            data.extend_from_slice(&smp.data);
            let end = data.len();
            data.extend(noise(16 << 10, i as u64 + 13));
            let dump = dir.path().join(format!("{g}-{i}.bin"));
            std::fs::write(&dump, &data).unwrap();
            let out = dir.path().join(format!("{g}-{i}.red"));
            let (copy, o) =
                crate::common::redacted_copy(&dump, &out, &["--policy", s(&policy)], &smp.name);
            let said = String::from_utf8_lossy(&o.stdout).to_string();
            let after = crate::common::scan(&out);
            assert!(after.input.complete, "{}", smp.name);
            let left: Vec<String> = after
                .findings
                .iter()
                .filter(|f| f.severity >= dumpguard::report::Severity::High)
                .map(|f| format!("{} {} at {:#x}", f.kind, f.encoding, f.offset))
                .collect();
            assert!(left.is_empty(), "{}: left in the copy: {left:?}", smp.name);
            assert_eq!(copy.len(), data.len());
            assert_eq!(
                &copy[end..],
                &data[end..],
                "{}: bytes after the key",
                smp.name
            );
            assert_ne!(
                &copy[at..end],
                &data[at..end],
                "{}: key bytes kept",
                smp.name
            );
            if !smp.secret.is_empty() {
                if smp.status != "encrypted" {
                    crate::common::assert_no_secret(&copy, &smp.secret);
                }
                crate::common::assert_no_secret(said.as_bytes(), &smp.secret);
            }
            redacted += 1;
        }
    }
    assert!(redacted >= 40, "only {redacted} samples redacted");
}
