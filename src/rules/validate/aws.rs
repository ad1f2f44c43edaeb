//! AWS access keys. The key id (`AKIA…`, `ASIA…`) carries no checksum, but new-format ids
//! encode the account id, which is decoded offline (base32 of characters 4..20; bits per Tal
//! Be'ery's analysis). A secret access key (40 base64 characters) is paired with the key id
//! found next to it, so the finding says whose key it is.

use super::{Assessment, Candidate};
use regex::bytes::Regex;
use std::sync::OnceLock;

fn kind(prefix: &[u8]) -> Option<&'static str> {
    Some(match prefix {
        b"AKIA" => "long-term IAM access key",
        b"ASIA" => "temporary (STS) access key",
        b"ABIA" => "STS service bearer token key",
        b"ACCA" => "context-specific credential",
        _ => return None,
    })
}

fn base32_value(c: u8) -> Option<u64> {
    match c {
        b'A'..=b'Z' => Some((c - b'A') as u64),
        b'2'..=b'7' => Some((c - b'2' + 26) as u64),
        _ => None,
    }
}

/// The account id encoded in a new-format key id, `None` for old-format ids (whose first
/// base32 digit after the prefix is below `Q`) or malformed ones.
pub fn account_id(key_id: &[u8]) -> Option<u64> {
    if key_id.len() != 20 {
        return None;
    }
    let digits: Vec<u64> = key_id[4..]
        .iter()
        .map(|&c| base32_value(c))
        .collect::<Option<_>>()?;
    if digits[0] < 16 {
        return None;
    }
    // The first 48 bits: ten 5-bit digits give 50 bits; drop the last two.
    let v = digits[..10].iter().fold(0u64, |acc, d| (acc << 5) | d) >> 2;
    Some((v & 0x7fff_ffff_ff80) >> 7)
}

/// `AKIA…WXYZ`: enough to recognise a key id, not the whole of it.
pub fn redact_key_id(k: &[u8]) -> String {
    let s = String::from_utf8_lossy(k);
    if s.len() == 20 {
        format!("{}…{}", &s[..4], &s[16..])
    } else {
        "[key id]".into()
    }
}

pub fn validate_key_id(c: &Candidate<'_>) -> Option<Assessment> {
    let k = c.secret();
    let what = kind(k.get(..4)?)?;
    let mut a = Assessment::unverified(format!(
        "AWS access key id ({what}); no checksum exists, validity only online"
    ))
    .attr("type", what);
    let mut preview = format!("{} ({what})", redact_key_id(k));
    if let Some(acct) = account_id(k) {
        a.verification
            .push_str(&format!("; account id {acct:012} decoded offline"));
        a = a.attr("account_id", format!("{acct:012}"));
        preview.push_str(&format!(", account {acct:012}"));
    }
    Some(a.preview(preview))
}

/// A secret access key: reported with the key id found within 512 characters of it.
pub fn validate_secret(c: &Candidate<'_>) -> Option<Assessment> {
    let s = c.secret();
    if s.len() != 40 {
        return None;
    }
    static KEY_ID: OnceLock<Regex> = OnceLock::new();
    let re = KEY_ID.get_or_init(|| {
        Regex::new(r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b").expect("static regex")
    });
    let ctx = c.around(512);
    let mut a = Assessment::unverified(
        "AWS secret access key (40 characters after a secret-key name); validity only online",
    );
    let mut preview = "aws_secret_access_key=[40 chars, redacted]".to_string();
    if let Some(m) = re.captures(ctx).and_then(|m| m.get(1)) {
        let id = &ctx[m.range()];
        a.verification.push_str(&format!(
            "; paired with access key id {}",
            redact_key_id(id)
        ));
        a = a.attr("access_key_id", redact_key_id(id));
        preview.push_str(&format!(" paired with {}", redact_key_id(id)));
        if let Some(acct) = account_id(id) {
            a = a.attr("account_id", format!("{acct:012}"));
            preview.push_str(&format!(" (account {acct:012})"));
        }
    }
    Some(a.preview(preview))
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    #[test]
    fn decodes_the_account_id_of_new_format_keys() {
        // The example from Tal Be'ery's write-up (a public, non-working key id).
        assert_eq!(account_id(b"ASIAY34FZKBOKMUTVV7A"), Some(609629065308));
        // Old-format ids carry no account id.
        assert_eq!(account_id(b"AKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(account_id(b"AKIA1234"), None);
    }

    #[test]
    fn pairs_a_secret_with_its_key_id() {
        let text = "[default]\naws_access_key_id = ASIAY34FZKBOKMUTVV7A\naws_secret_access_key = TESTxDUMPGUARDxFAKExSECRETxKEYx0123456789\n";
        let pat = r"aws_secret_access_key\s*=\s*(?P<secret>[A-Za-z0-9/+]{40})";
        let a = run(validate_secret, pat, text).unwrap();
        assert_eq!(a.attributes["account_id"], "609629065308");
        assert_eq!(a.attributes["access_key_id"], "ASIA…VV7A");
        let p = a.preview.unwrap();
        assert!(!p.contains("TESTxDUMPGUARD") && !p.contains("ASIAY34FZKBOKMUTVV7A"));
    }

    #[test]
    fn key_id_validation() {
        let pat = r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b";
        let a = run(validate_key_id, pat, "id=ASIAY34FZKBOKMUTVV7A").unwrap();
        assert_eq!(a.attributes["account_id"], "609629065308");
        assert!(!a.verified);
    }
}
