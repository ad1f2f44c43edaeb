//! GCP service-account key files (JSON). The finding names the service account and the key
//! id; the `private_key` inside is a PEM that the key detectors decode, verify and
//! fingerprint on their own, so it is not duplicated here.

use super::{clean, Assessment, Candidate};
use regex::bytes::Regex;
use std::sync::OnceLock;

pub fn validate(c: &Candidate<'_>) -> Option<Assessment> {
    static TYPE: OnceLock<Regex> = OnceLock::new();
    static EMAIL: OnceLock<Regex> = OnceLock::new();
    static PROJECT: OnceLock<Regex> = OnceLock::new();
    // A key file is about 2.3 KiB; private_key sits between the key id and the e-mail.
    let ctx = c.around(4096);
    let re = |cell: &'static OnceLock<Regex>, p: &str| {
        cell.get_or_init(|| Regex::new(p).expect("static regex"))
    };
    let is_sa = re(&TYPE, r#""type"\s*:\s*"service_account""#).is_match(ctx);
    let email = re(
        &EMAIL,
        r#""client_email"\s*:\s*"([A-Za-z0-9._%+-]{1,128}@[A-Za-z0-9.-]{1,128})""#,
    )
    .captures(ctx)
    .and_then(|m| m.get(1))
    .map(|m| &ctx[m.range()]);
    let gsa = email.is_some_and(|e| e.ends_with(b".gserviceaccount.com"));
    if !is_sa && !gsa {
        return None;
    }
    let has_key = ctx.windows(13).any(|w| w == b"\"private_key\"");
    let mut a = Assessment::verified(format!(
        "GCP service-account key file: {}{}",
        if is_sa {
            "type service_account"
        } else {
            "client_email of a service account"
        },
        if has_key {
            "; its private_key is reported by the key detectors"
        } else {
            ""
        }
    ));
    let mut preview = format!("GCP service account key id {}…", clean(&c.secret()[..8], 8));
    if let Some(e) = email {
        let e = clean(e, 128);
        preview.push_str(&format!(" for {e}"));
        a = a.attr("client_email", e);
    }
    if let Some(p) = re(&PROJECT, r#""project_id"\s*:\s*"([a-z0-9-]{1,64})""#)
        .captures(ctx)
        .and_then(|m| m.get(1))
    {
        a = a.attr("project_id", clean(&ctx[p.range()], 64));
    }
    Some(a.preview(preview))
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    const PAT: &str = r#""private_key_id"\s*:\s*"(?P<secret>[a-f0-9]{40})""#;

    #[test]
    fn needs_service_account_context() {
        let json = r#"{"type": "service_account", "project_id": "test-proj", "private_key_id": "0123456789abcdef0123456789abcdef01234567", "private_key": "-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----\n", "client_email": "svc@test-proj.iam.gserviceaccount.com"}"#;
        let a = run(validate, PAT, json).unwrap();
        assert_eq!(
            a.attributes["client_email"],
            "svc@test-proj.iam.gserviceaccount.com"
        );
        assert_eq!(a.attributes["project_id"], "test-proj");
        assert!(!a.preview.unwrap().contains("0123456789abcdef0123"));
        let other = r#"{"private_key_id": "0123456789abcdef0123456789abcdef01234567"}"#;
        assert!(run(validate, PAT, other).is_none());
    }
}
