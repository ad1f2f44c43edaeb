//! NTLM hashes in their common text forms: pwdump / secretsdump lines
//! (`user:rid:LMHASH:NTHASH:::`) and NetNTLMv2 responses in hashcat form
//! (`user::domain:challenge:NTProofStr:blob`). An NT hash is a password equivalent
//! (pass-the-hash); a NetNTLMv2 response can only be cracked offline.

use super::{clean, Assessment, Candidate};
use crate::report::Severity;

/// NT hash of the empty password, MD4(UTF-16LE("")).
const EMPTY_NT: &[u8] = b"31d6cfe0d16ae931b73c59d7e0c089c0";
/// LM hash of the empty password (LM storage disabled).
const EMPTY_LM: &[u8] = b"aad3b435b51404eeaad3b435b51404ee";

pub fn validate_pwdump(c: &Candidate<'_>) -> Option<Assessment> {
    let nt = c.secret().to_ascii_lowercase();
    let user = c.group("user").map(|u| clean(u, 64)).unwrap_or_default();
    let rid = c.group("rid").map(|r| clean(r, 10)).unwrap_or_default();
    let lm = c.group("lm").map(|l| l.to_ascii_lowercase());
    let mut a = Assessment::unverified(
        "NT hash in pwdump form (a password equivalent for pass-the-hash; correctness needs the password)",
    )
    .attr("user", user.clone())
    .attr("rid", rid.clone());
    let mut preview = format!("{user}:{rid}:[LM]:[NT hash redacted]:::");
    if nt == EMPTY_NT {
        a.verification = "NT hash of the empty password".into();
        a = a.severity(Severity::Low);
        preview.push_str(" (empty password)");
    }
    if lm.as_deref().is_some_and(|l| l != EMPTY_LM) {
        a = a.attr("lm_hash", "present");
        preview.push_str(" (LM hash present: weak)");
    }
    Some(a.preview(preview))
}

pub fn validate_netntlmv2(c: &Candidate<'_>) -> Option<Assessment> {
    let user = c.group("user").map(|u| clean(u, 64)).unwrap_or_default();
    let domain = c.group("domain").map(|d| clean(d, 64)).unwrap_or_default();
    Some(
        Assessment::unverified(
            "NetNTLMv2 challenge-response in hashcat form (crackable offline, not replayable)",
        )
        .attr("user", user.clone())
        .attr("domain", domain.clone())
        .preview(format!("{domain}\\{user} NetNTLMv2 response [redacted]")),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    const PW: &str = r"(?P<user>[^:\s]{1,64}):(?P<rid>\d{1,10}):(?P<lm>[0-9a-fA-F]{32}):(?P<secret>[0-9a-fA-F]{32}):::";

    #[test]
    fn pwdump_lines() {
        let a = run(
            validate_pwdump,
            PW,
            "svc_test:1105:aad3b435b51404eeaad3b435b51404ee:0123456789abcdef0123456789abcdef:::",
        )
        .unwrap();
        assert_eq!(a.attributes["user"], "svc_test");
        assert_eq!(a.severity, None);
        assert!(!a.preview.unwrap().contains("0123456789abcdef"));
        let a = run(
            validate_pwdump,
            PW,
            "Guest:501:aad3b435b51404eeaad3b435b51404ee:31d6cfe0d16ae931b73c59d7e0c089c0:::",
        )
        .unwrap();
        assert_eq!(a.severity, Some(Severity::Low));
    }
}
