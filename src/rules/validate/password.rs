//! Passwords in URLs (`scheme://user:pass@host`) and connection strings (`Password=`,
//! `Pwd=`, libpq `password=`). A password has no format to check; what can be checked is
//! that it is not a placeholder from documentation or a format string, which is what these
//! strings are in binaries. Nothing of the password is shown, not even its length.

use super::{clean, Assessment, Candidate};
use regex::bytes::Regex;
use std::sync::OnceLock;

/// Words that stand for a password in examples and templates.
const PLACEHOLDERS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "null",
    "none",
    "nil",
    "undefined",
    "redacted",
    "hidden",
    "masked",
    "example",
    "sample",
    "dummy",
    "placeholder",
    "your_password",
    "yourpassword",
    "your-password",
    "mypassword",
    "my_password",
    "password_here",
    "changeme_in_production",
    "anonymous",
    "anoncvs",
    "guest",
    // Metasyntactic words of examples (`http://foo:bar@myhost`).
    "foo",
    "bar",
    "baz",
    "qux",
    "quux",
    "foobar",
    "xyzzy",
];

/// User names of documentation examples: `https://user:secret@host` is a template.
const PLACEHOLDER_USERS: &[&str] = &[
    "user",
    "username",
    "myuser",
    "your_user",
    "yourname",
    "login",
];

/// Hosts of documentation examples: placeholder names and the domains RFC 2606 / RFC 6761
/// reserve for documentation. A trailing dot (the end of a sentence: "e.g.
/// http://foo:bar@myhost.") is not part of the name.
pub(super) fn example_host(h: &[u8]) -> bool {
    let h = h.to_ascii_lowercase();
    let mut h = h.as_slice();
    while let [rest @ .., b'.'] = h {
        h = rest;
    }
    matches!(
        h,
        b"host"
            | b"hostname"
            | b"server"
            | b"domain"
            | b"myhost"
            | b"myserver"
            | b"proxyhost"
            | b"yourhost"
    ) || [
        &b"example.com"[..],
        b"example.org",
        b"example.net",
        b".example",
        b".invalid",
    ]
    .iter()
    .any(|s| h.ends_with(s))
}

/// Whether `p` is a placeholder, a template or a format string rather than a password.
pub fn placeholder(p: &[u8]) -> bool {
    let lower = p.to_ascii_lowercase();
    if PLACEHOLDERS
        .iter()
        .any(|w| w.as_bytes() == lower.as_slice())
    {
        return true;
    }
    if p.iter().all(|&c| c == p[0]) {
        return true; // "****", "xxxxxxxx", "...."
    }
    let has = |s: &[u8]| p.windows(s.len()).any(|w| w == s);
    p.starts_with(b"$")
        || p.starts_with(b"%")
        || has(b"${")
        || has(b"$(")
        || has(b"{{")
        || has(b"%s")
        || has(b"%(")
        || (p.starts_with(b"<") && p.ends_with(b">"))
        || (p.starts_with(b"[") && p.ends_with(b"]"))
}

/// A user and a password that only name their role (`proxyuser:proxypass`,
/// `dbuser:dbpassword`): documentation writes credentials this way; a password made of
/// lowercase letters that says "pass", next to a user that says "user", protects nothing.
pub(super) fn self_describing_pair(user: &[u8], pass: &[u8]) -> bool {
    let word = |s: &[u8]| !s.is_empty() && s.iter().all(|c| c.is_ascii_lowercase() || *c == b'_');
    let has = |s: &[u8], w: &[u8]| s.windows(w.len()).any(|x| x == w);
    word(user) && word(pass) && has(user, b"user") && (has(pass, b"pass") || has(pass, b"pwd"))
}

/// Strips one layer of quoting: `"…"`, `'…'`, `{…}` (ODBC).
fn unquote(text: &[u8], r: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let s = &text[r.clone()];
    if s.len() >= 2 {
        let (a, b) = (s[0], s[s.len() - 1]);
        if (a == b'"' && b == b'"') || (a == b'\'' && b == b'\'') || (a == b'{' && b == b'}') {
            return r.start + 1..r.end - 1;
        }
    }
    r
}

fn context_value(cell: &'static OnceLock<Regex>, pat: &str, hay: &[u8]) -> Option<String> {
    let re = cell.get_or_init(|| Regex::new(pat).expect("static regex"));
    re.captures(hay)
        .and_then(|c| c.get(1))
        .map(|m| clean(&hay[m.range()], 64))
}

pub fn validate(c: &Candidate<'_>) -> Option<Assessment> {
    let secret = unquote(c.text, c.secret.clone());
    let p = &c.text[secret.clone()];
    if p.is_empty() || placeholder(p) {
        return None;
    }
    static USER: OnceLock<Regex> = OnceLock::new();
    static HOST: OnceLock<Regex> = OnceLock::new();
    let whole = c.whole();
    let user = c.group("user").map(|u| clean(u, 64)).or_else(|| {
        context_value(
            &USER,
            r"(?i)(?:^|[;\s])(?:user id|userid|uid|user|username|user name)\s*=\s*([^;\s]{1,64})",
            whole,
        )
    });
    let host = c.group("host").map(|h| clean(h, 128)).or_else(|| {
        context_value(
            &HOST,
            r"(?i)(?:^|[;\s])(?:server|data source|host|hostname|address|addr)\s*=\s*([^;\s]{1,128})",
            whole,
        )
    });
    if host.as_deref().is_some_and(|h| example_host(h.as_bytes()))
        || user
            .as_deref()
            .is_some_and(|u| PLACEHOLDER_USERS.contains(&u.to_ascii_lowercase().as_str()))
        || user
            .as_deref()
            .is_some_and(|u| self_describing_pair(u.as_bytes(), p))
    {
        return None;
    }
    let form = match c.group("scheme") {
        Some(s) => format!("{} URL", clean(s, 24)),
        None => "connection string".into(),
    };
    let mut a = Assessment::unverified(format!(
        "password in a {form} (not a placeholder; a password has no format to check offline)"
    ))
    .attr("form", form.clone());
    let mut preview = "password [redacted]".to_string();
    if let Some(u) = &user {
        preview.push_str(&format!(" for user {u}"));
        a = a.attr("user", u.clone());
    }
    if let Some(h) = &host {
        preview.push_str(&format!(" at {h}"));
        a = a.attr("host", h.clone());
    }
    preview.push_str(&format!(" ({form})"));
    a.secret = Some(secret);
    Some(a.preview(preview))
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    const URL: &str = r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{1,20})://(?P<user>[^:/?#@\s]{0,64}):(?P<secret>[^@/?#\s]{1,128})@(?P<host>[A-Za-z0-9.-]{1,128})";
    const CONN: &str = r"(?i)(?:server|user id)\s*=[^;]*;(?:[^;]*;){0,8}?\s*(?:password|pwd)\s*=\s*(?P<secret>'[^']*'|[^;]+)";

    #[test]
    fn url_password_with_user_and_host() {
        let a = run(
            validate,
            URL,
            "postgres://app:TESTxDUMPGUARDxPW1@db.internal:5432/x",
        )
        .unwrap();
        assert_eq!(a.attributes["user"], "app");
        assert_eq!(a.attributes["host"], "db.internal");
        assert!(!a.preview.unwrap().contains("TESTxDUMPGUARD"));
    }

    #[test]
    fn connection_string_password_is_unquoted() {
        let t = "Server=db01;User Id=sa;Password='TESTxDUMPGUARD;PW2';";
        let a = run(
            validate,
            r"(?i)Server=[^;]*;User Id=(?P<user>[^;]*);Password=(?P<secret>'[^']*')",
            t,
        )
        .unwrap();
        let r = a.secret.unwrap();
        assert_eq!(&t.as_bytes()[r], b"TESTxDUMPGUARD;PW2");
        assert_eq!(a.attributes["user"], "sa");
        let a = run(
            validate,
            CONN,
            "Server=db02;Database=x;User Id=svc;Password=TESTxPW3;",
        )
        .unwrap();
        assert_eq!(a.attributes["host"], "db02");
        assert_eq!(a.attributes["user"], "svc");
    }

    #[test]
    fn real_looking_passwords_still_count() {
        for t in [
            "http://proxyuser:Pr0xyPass-TEST@proxy.internal:3128",
            "http://svc:proxypass@proxy.internal:3128",
            "https://deploy:foo-bar-TEST-9@git.internal/",
        ] {
            assert!(run(validate, URL, t).is_some(), "{t}");
        }
    }

    #[test]
    fn placeholders_are_not_passwords() {
        for t in [
            "https://user:password@host.internal/",
            "https://user:%s@db.internal/",
            "https://u:${DB_PASSWORD}@db.internal/",
            "https://u:****@db.internal/",
            "https://u:s3cr3tTEST@db.example.com/",
            // Documentation: metasyntactic words, a host at the end of a sentence, a pair
            // that names its roles.
            "http://foo:bar@myhost.",
            "http://u:s3cr3tTEST@myhost.",
            "http://proxyuser:proxypass@proxyhost:3128",
            "ftp://ftpuser:ftppass@files.internal/",
        ] {
            assert!(run(validate, URL, t).is_none(), "{t}");
        }
    }
}
