//! `Authorization: Bearer` values. A bearer token is a credential by where it sits; nothing
//! in an opaque token can be checked offline. JWTs sent as bearer tokens get the same
//! fingerprint from the JWT rule, and the two findings merge into the JWT one.

use super::{base64_any, clean, password, Assessment, Candidate};
use crate::report::Severity;

pub fn validate_bearer(c: &Candidate<'_>) -> Option<Assessment> {
    let t = c.secret();
    // Templates and format strings in binaries and docs, not tokens.
    if t.iter()
        .any(|&b| matches!(b, b'%' | b'{' | b'}' | b'<' | b'>' | b'$'))
    {
        return None;
    }
    let header = c
        .around(32)
        .windows(13)
        .any(|w| w.eq_ignore_ascii_case(b"authorization"));
    let mut a = Assessment::unverified(if header {
        "value of an Authorization: Bearer header (opaque token: nothing to check offline)"
    } else {
        "bearer token (opaque: nothing to check offline)"
    })
    .preview(format!("Bearer [{} chars, redacted]", t.len()));
    if !header {
        // Without the header name the context is weaker: a log line, a config value.
        a = a.severity(Severity::Medium);
    }
    Some(a)
}

/// `Authorization: Basic base64(user:password)`: decoded, the password must not be a
/// placeholder; the user is reported, the password never.
pub fn validate_basic(c: &Candidate<'_>) -> Option<Assessment> {
    let raw = base64_any(c.secret())?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (user, pass) = text.split_once(':')?;
    if user.is_empty()
        || pass.is_empty()
        || text.chars().any(|ch| ch.is_control())
        || password::placeholder(pass.as_bytes())
        || password::self_describing_pair(user.as_bytes(), pass.as_bytes())
        || documentation_request(c.around(DOC_CONTEXT))
    {
        return None;
    }
    let user = clean(user.as_bytes(), 64);
    Some(
        Assessment::unverified(
            "Authorization: Basic credentials decode to user:password (the password has no format to check offline)",
        )
        .attr("user", user.clone())
        .preview(format!("Basic credentials for user {user}, password [redacted]")),
    )
}

/// How far around an Authorization header its request's `Host:` header is looked for.
const DOC_CONTEXT: usize = 512;

/// Whether the HTTP request around a header is addressed to a documentation host (RFC 2606:
/// `example.com`, `.example`, ...): specifications and API docs show requests with made-up
/// credentials that way (RFC 6749's `Authorization: Basic czZCaGRS…` to
/// `server.example.com`), and interpreters keep such docstrings in memory. A real request
/// never goes to a reserved name.
pub(super) fn documentation_request(around: &[u8]) -> bool {
    around
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.trim_ascii();
            let (name, value) = (line.get(..5)?, line.get(5..)?);
            name.eq_ignore_ascii_case(b"host:").then_some(value)
        })
        .any(|value| {
            let value = value.trim_ascii();
            let host = value.split(|&b| b == b':').next().unwrap_or(value);
            !host.is_empty() && password::example_host(host)
        })
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    const PAT: &str = r"(?i)bearer\s+(?P<secret>[A-Za-z0-9._~+/-]{20,}=*)";

    #[test]
    fn basic_credentials_decode() {
        let pat = r"(?i)authorization:\s*basic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})";
        // base64("svc_test:TESTxBasicPw1")
        let a = run(
            validate_basic,
            pat,
            "Authorization: Basic c3ZjX3Rlc3Q6VEVTVHhCYXNpY1B3MQ==",
        )
        .unwrap();
        assert_eq!(a.attributes["user"], "svc_test");
        assert!(!a.preview.unwrap().contains("TESTxBasicPw1"));
        // base64("user:password"), base64 of binary.
        assert!(run(
            validate_basic,
            pat,
            "Authorization: Basic dXNlcjpwYXNzd29yZA=="
        )
        .is_none());
        assert!(run(validate_basic, pat, "Authorization: Basic AAECAwQFBgcICQoL").is_none());
    }

    #[test]
    fn basic_credentials_of_documentation_requests_are_examples() {
        let pat = r"(?i)authorization:\s*basic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})";
        // base64("svc_test:TESTxBasicPw1") in a request to a documentation host, the way
        // RFCs and API docs show one.
        let doc = "POST /token HTTP/1.1\r\nHost: server.example.com\r\nAuthorization: Basic c3ZjX3Rlc3Q6VEVTVHhCYXNpY1B3MQ==\r\n";
        assert!(run(validate_basic, pat, doc).is_none());
        let real = "POST /token HTTP/1.1\r\nHost: auth.corp.internal\r\nAuthorization: Basic c3ZjX3Rlc3Q6VEVTVHhCYXNpY1B3MQ==\r\n";
        assert!(run(validate_basic, pat, real).is_some());
        // base64("proxyuser:proxypass")
        assert!(run(
            validate_basic,
            pat,
            "Authorization: Basic cHJveHl1c2VyOnByb3h5cGFzcw=="
        )
        .is_none());
    }

    #[test]
    fn header_context_sets_severity() {
        let a = run(
            validate_bearer,
            PAT,
            "Authorization: Bearer TESTxDUMPGUARDxFAKExTOKENx0123456789",
        )
        .unwrap();
        assert_eq!(a.severity, None);
        let a = run(
            validate_bearer,
            PAT,
            "token: Bearer TESTxDUMPGUARDxFAKExTOKENx0123456789",
        )
        .unwrap();
        assert_eq!(a.severity, Some(Severity::Medium));
    }
}
