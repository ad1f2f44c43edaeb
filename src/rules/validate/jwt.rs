//! JSON Web Tokens (JWS compact form, RFC 7515/7519): the header and the claims must be
//! base64url JSON objects, the header must name an algorithm. What is reported is the
//! non-secret structure (alg, kid, iss, aud, exp, and whether it has expired); never the
//! signature, never the token. The signature is not checked: that needs the issuer's key.

use super::{base64_any, clean, rfc3339, Assessment, Candidate};
use crate::report::Severity;
use serde_json::{Map, Value};

fn json_object(part: &[u8]) -> Option<Map<String, Value>> {
    if part.is_empty() || part.len() > 16 * 1024 {
        return None;
    }
    let raw = base64_any(part)?;
    match serde_json::from_slice::<Value>(&raw).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(clean(s.as_bytes(), 96)),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().take(4).filter_map(text).collect();
            (!items.is_empty()).then(|| items.join(","))
        }
        _ => None,
    }
}

pub fn validate(c: &Candidate<'_>) -> Option<Assessment> {
    let tok = c.secret();
    let mut parts = tok.split(|&b| b == b'.');
    let (h, p, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header = json_object(h)?;
    let claims = json_object(p)?;
    let alg = header.get("alg").and_then(Value::as_str)?;
    let alg = clean(alg.as_bytes(), 16);
    if !sig.is_empty() && base64_any(sig).is_none() {
        return None;
    }
    let mut a = Assessment::verified(format!(
        "JWT structure decodes: header and claims are JSON (alg {alg}); signature not checked (needs the issuer's key)"
    ))
    .attr("alg", alg.clone());
    let mut preview = format!("JWT alg={alg}");
    for (k, v) in [
        ("kid", header.get("kid")),
        ("iss", claims.get("iss")),
        ("aud", claims.get("aud")),
    ] {
        if let Some(t) = v.and_then(text) {
            preview.push_str(&format!(" {k}={t}"));
            a = a.attr(k, t);
        }
    }
    match claims
        .get("exp")
        .and_then(|e| e.as_i64().or(e.as_f64().map(|f| f as i64)))
    {
        Some(exp) => {
            let when = rfc3339(exp).unwrap_or_else(|| exp.to_string());
            let expired = exp <= c.now;
            preview.push_str(&format!(
                " exp={when} ({})",
                if expired { "expired" } else { "not expired" }
            ));
            a = a.attr("exp", when).attr("expired", expired.to_string());
            if expired {
                // A token past its expiry is no longer accepted, but its claims still describe
                // who had access: worth a look, not a block.
                a = a.severity(Severity::Medium);
            }
        }
        None => preview.push_str(" (no exp: does not expire)"),
    }
    if sig.is_empty() || alg.eq_ignore_ascii_case("none") {
        preview.push_str(" unsigned");
        a = a.severity(Severity::Medium);
    } else if let Some(secret) = published_hmac_secret(&alg, &tok[..h.len() + 1 + p.len()], sig) {
        // Anyone can make this token: its key is printed in documentation. Holding it gives
        // an attacker nothing they could not forge (jwt.io's and PyJWT's examples).
        preview.push_str(" signed with a published example key");
        a.verification = format!(
            "JWT structure decodes (alg {alg}); its HMAC signature verifies with {secret}, a key \
             published in documentation: an example anyone can forge, not a credential"
        );
        a = a
            .attr("signing_key", "published example".to_string())
            .severity(Severity::Low);
    }
    Some(a.preview(preview))
}

/// HMAC keys that documentation and tutorials sign their example tokens with (jwt.io's
/// defaults, PyJWT's and node-jsonwebtoken's READMEs, common tutorial values). A token whose
/// signature verifies with one of them proves only that it is an example; it is checked, not
/// guessed: the signature must match exactly.
const PUBLISHED_HMAC_KEYS: &[&str] = &[
    "secret",
    "your-256-bit-secret",
    "your-384-bit-secret",
    "your-512-bit-secret",
    "shhhhh",
    "secretkey",
    "secret-key",
    "secret_key",
    "mysecret",
    "my-secret",
    "my_secret",
    "my-secret-key",
    "your-secret-key",
    "your_secret_key",
    "supersecret",
    "key",
    "",
];

/// The published key (described, never printed if it were secret: these are public) whose
/// HMAC over `signing_input` equals the signature, for HS256/384/512 tokens.
fn published_hmac_secret(alg: &str, signing_input: &[u8], sig: &[u8]) -> Option<String> {
    use hmac::{Hmac, Mac};
    let sig = base64_any(sig)?;
    let verifies = |key: &[u8]| -> bool {
        fn check<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
            let Ok(mut m) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
                return false;
            };
            m.update(msg);
            m.verify_slice(sig).is_ok()
        }
        match alg {
            "HS256" => check::<Hmac<sha2::Sha256>>(key, signing_input, &sig),
            "HS384" => check::<Hmac<sha2::Sha384>>(key, signing_input, &sig),
            "HS512" => check::<Hmac<sha2::Sha512>>(key, signing_input, &sig),
            _ => false,
        }
    };
    PUBLISHED_HMAC_KEYS
        .iter()
        .find(|k| verifies(k.as_bytes()))
        .map(|k| format!("the published example key \"{k}\""))
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const PAT: &str = r"(?P<secret>eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)";

    fn jwt(header: &str, claims: &str, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    #[test]
    fn reports_structure_not_the_token() {
        let t = jwt(
            r#"{"alg":"RS256","kid":"key-1","typ":"JWT"}"#,
            r#"{"iss":"https://login.example.test","aud":["api","web"],"exp":1900000000,"sub":"alice"}"#,
            &[7u8; 256],
        );
        let a = run(validate, PAT, &format!("Authorization: Bearer {t}")).unwrap();
        assert!(a.verified);
        assert_eq!(a.attributes["alg"], "RS256");
        assert_eq!(a.attributes["kid"], "key-1");
        assert_eq!(a.attributes["iss"], "https://login.example.test");
        assert_eq!(a.attributes["aud"], "api,web");
        assert_eq!(a.attributes["exp"], "2030-03-17T17:46:40Z");
        assert_eq!(a.attributes["expired"], "false");
        assert_eq!(a.severity, None);
        let p = a.preview.unwrap();
        assert!(!p.contains(&t[..20]) && !p.contains("alice"), "{p}");
    }

    #[test]
    fn expired_and_unsigned_tokens_are_medium() {
        let t = jwt(r#"{"alg":"HS256"}"#, r#"{"exp":1500000000}"#, &[1u8; 32]);
        let a = run(validate, PAT, &t).unwrap();
        assert_eq!(a.attributes["expired"], "true");
        assert_eq!(a.severity, Some(Severity::Medium));
        let t = jwt(r#"{"alg":"none"}"#, r#"{"sub":"x"}"#, b"");
        assert_eq!(
            run(validate, PAT, &t).unwrap().severity,
            Some(Severity::Medium)
        );
    }

    fn hs256(header: &str, claims: &str, key: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        m.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
        )
    }

    #[test]
    fn tokens_signed_with_published_example_keys_are_low() {
        let h = r#"{"alg":"HS256","typ":"JWT"}"#;
        let c = r#"{"sub":"1234567890","name":"Test Doc","iat":1516239022}"#;
        for key in [&b"secret"[..], b"your-256-bit-secret"] {
            let a = run(validate, PAT, &hs256(h, c, key)).unwrap();
            assert_eq!(a.severity, Some(Severity::Low), "{}", a.verification);
            assert!(a.verification.contains("published"));
        }
        // A fresh key: the token stays a credential.
        let key: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(97) ^ 0x3c).collect();
        let a = run(validate, PAT, &hs256(h, c, &key)).unwrap();
        assert_eq!(a.severity, None);
        // A signature that is not the example key's (one byte changed).
        let mut t = hs256(h, c, b"secret").into_bytes();
        let n = t.len();
        t[n - 2] = if t[n - 2] == b'A' { b'B' } else { b'A' };
        let a = run(validate, PAT, std::str::from_utf8(&t).unwrap()).unwrap();
        assert_eq!(a.severity, None);
    }

    #[test]
    fn rejects_what_is_not_a_jwt() {
        // Header without alg; header not JSON; claims not an object.
        for t in [
            jwt(r#"{"typ":"JWT"}"#, r#"{"a":1}"#, b"s"),
            format!(
                "eyJhbGciOiJIUzI1NiJ9x.{}.AAAA",
                URL_SAFE_NO_PAD.encode("{}")
            ),
            jwt(r#"{"alg":"HS256"}"#, "[1,2]", b"s"),
        ] {
            assert!(run(validate, PAT, &t).is_none(), "{t}");
        }
    }
}
