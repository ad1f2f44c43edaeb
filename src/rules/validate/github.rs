//! GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm (`npm_`) tokens: prefix, 30
//! random base62 characters, then the CRC32 of those 30 characters in base62 (6 digits).
//! A matching checksum makes a false positive about one in four billion (docs/key-formats.md
//! §10; github.blog 2021-04-05).

use super::base62;
use super::{Assessment, Candidate};

fn kind(prefix: &[u8]) -> Option<&'static str> {
    Some(match prefix {
        b"ghp" => "GitHub personal access token",
        b"gho" => "GitHub OAuth access token",
        b"ghu" => "GitHub user-to-server token",
        b"ghs" => "GitHub server-to-server (app installation) token",
        b"ghr" => "GitHub refresh token",
        b"npm" => "npm access token",
        _ => return None,
    })
}

/// Whether the token's last six characters are the CRC32 of the random part.
pub fn checksum_ok(token: &[u8]) -> bool {
    if token.len() != 40 || token.get(3) != Some(&b'_') {
        return false;
    }
    let (body, check) = (&token[4..34], &token[34..]);
    base62::encode_padded(crc32fast::hash(body) as u64, 6).as_bytes() == check
}

pub fn validate(c: &Candidate<'_>) -> Option<Assessment> {
    let t = c.secret();
    let what = kind(t.get(..3)?)?;
    if !checksum_ok(t) {
        return None;
    }
    Some(
        Assessment::verified(format!("{what}: CRC32 checksum (base62) matches"))
            .attr("type", what)
            .preview(format!(
                "{}…[{} chars, redacted] ({what}, checksum valid)",
                String::from_utf8_lossy(&t[..4]),
                t.len()
            )),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    /// A fake, format-valid token (test value): its checksum is computed here.
    pub fn fake(prefix: &str, body: &str) -> String {
        assert_eq!(body.len(), 30);
        format!(
            "{prefix}{body}{}",
            base62::encode_padded(crc32fast::hash(body.as_bytes()) as u64, 6)
        )
    }

    const PAT: &str = r"\b((?:gh[pousr]|npm)_[A-Za-z0-9]{36})\b";

    #[test]
    fn accepts_checksummed_tokens() {
        for p in ["ghp_", "gho_", "ghs_", "npm_"] {
            let t = fake(p, "TESTxTOKENxDUMPGUARDx012345678");
            let a = run(validate, PAT, &format!("token={t}")).expect(p);
            assert!(a.verified);
            assert!(!a.preview.unwrap().contains(&t[4..]));
        }
    }

    #[test]
    fn rejects_one_changed_character() {
        let t = fake("ghp_", "TESTxTOKENxDUMPGUARDx012345678");
        let mut b = t.clone().into_bytes();
        b[10] = if b[10] == b'a' { b'b' } else { b'a' };
        let bad = String::from_utf8(b).unwrap();
        assert!(run(validate, PAT, &bad).is_none());
        assert!(run(validate, PAT, "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").is_none());
    }
}
