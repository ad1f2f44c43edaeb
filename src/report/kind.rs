//! What a finding is: the report's `kind` member, typed.
//!
//! The JSON keeps the plain strings it always had (`rsa-private-key`, `aes-key`, `jwt` ...):
//! [`Kind`] serialises to exactly that text and reads it back, so a report written by any
//! version reads as the same kinds. In the program, code that means "a private key" or "a token
//! of some rule" matches on a variant instead of comparing strings, and a typo in a kind is a
//! compile error rather than a silently unmatched condition.
//!
//! Most kinds are fixed by dumpguard itself. Two families are open-ended by design:
//! - private keys are named after their algorithm (`<algorithm>-private-key`), and a PKCS#8
//!   decoder can meet algorithms dumpguard does not verify; the algorithm part is kept as a
//!   validated slug ([`PrivateKeyKind`]) rather than a variant per algorithm, so an algorithm
//!   new to dumpguard still gets a precise kind;
//! - token rules come from rule files (built-in packs, `--rules`, gitleaks packs), and each
//!   rule names its own kind; those are [`Kind::Token`] holding the rule's text
//!   ([`TokenKind`]), so a new rule needs no code change.
//!
//! A kind read back from text is classified by its spelling: a rule whose `kind` spells a key
//! kind (`rsa-private-key`) reads back as that key kind. Its text is identical either way, and
//! every consumer of stored reports (the sweep, baselines) only compares or prints kinds.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// The `kind` of a finding. Displays and serialises as the report's kind string.
///
/// Two kinds are equal when their text is: a rule-defined kind that spells a key kind equals
/// that key kind, as it did when kinds were strings (a policy's `kinds = [...]` matches it).
#[derive(Debug, Clone)]
pub enum Kind {
    /// A private key: `rsa-private-key`, `ec-private-key`, `ed25519-private-key` ... or plain
    /// `private-key` when the algorithm has no name fit for a slug.
    PrivateKey(PrivateKeyKind),
    /// An AES key found as a key schedule (`aes-key`).
    AesKey,
    /// A raw symmetric key inside a known structure (`symmetric-key`): HMAC, Kerberos keytab
    /// or KDBM blob keys, which carry no internal check.
    SymmetricKey,
    /// Bytes of a proven key's private integers that the gate removes without a finding of
    /// their own (`private-key-material`); appears only in redaction attestations.
    PrivateKeyMaterial,
    /// A token, password or other secret matched by a rule; the kind is the rule's own
    /// (`jwt`, `github-token`, `password` ...).
    Token(TokenKind),
}

/// The kind of a private key, `<algorithm>-private-key` or `private-key`: kept as its text so
/// that [`Kind::as_str`] borrows instead of formatting on every comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrivateKeyKind(Cow<'static, str>);

/// The kind a token rule gives its findings (`jwt`, `aws-access-key-id` ...), as the rule
/// file spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKind(String);

const PRIVATE_KEY: &str = "private-key";
const SUFFIX: &str = "-private-key";

impl PrivateKeyKind {
    /// The kind of a private key of `algorithm` (a key's `KeyInfo::algorithm`, e.g. `RSA`,
    /// `Ed25519`): `rsa-private-key`; `private-key` when the name is empty or not plain ASCII
    /// letters and digits (`EC P-224`, an OID), which would not make a stable slug.
    pub fn of_algorithm(algorithm: &str) -> PrivateKeyKind {
        let slug_ok = !algorithm.is_empty() && algorithm.chars().all(|c| c.is_ascii_alphanumeric());
        PrivateKeyKind(if slug_ok {
            Cow::Owned(format!("{}{SUFFIX}", algorithm.to_ascii_lowercase()))
        } else {
            Cow::Borrowed(PRIVATE_KEY)
        })
    }

    /// The algorithm slug (`rsa`, `ec` ...), or `None` for plain `private-key`.
    pub fn algorithm(&self) -> Option<&str> {
        self.0.strip_suffix(SUFFIX)
    }

    fn parse(s: &str) -> Option<PrivateKeyKind> {
        if s == PRIVATE_KEY {
            return Some(PrivateKeyKind(Cow::Borrowed(PRIVATE_KEY)));
        }
        let alg = s.strip_suffix(SUFFIX)?;
        let slug = !alg.is_empty()
            && alg
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        slug.then(|| PrivateKeyKind(Cow::Owned(s.to_string())))
    }
}

impl TokenKind {
    /// The kind named by a rule file.
    pub fn new(kind: impl Into<String>) -> TokenKind {
        TokenKind(kind.into())
    }

    /// The rule's kind text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Kind {
    /// The kind of a private key of `algorithm` (see [`PrivateKeyKind::of_algorithm`]).
    pub fn private_key(algorithm: &str) -> Kind {
        Kind::PrivateKey(PrivateKeyKind::of_algorithm(algorithm))
    }

    /// The kind a token rule declares.
    pub fn token(kind: impl Into<String>) -> Kind {
        Kind::Token(TokenKind::new(kind))
    }

    /// The report's text for this kind.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::PrivateKey(k) => &k.0,
            Kind::AesKey => "aes-key",
            Kind::SymmetricKey => "symmetric-key",
            Kind::PrivateKeyMaterial => "private-key-material",
            Kind::Token(t) => t.as_str(),
        }
    }

    /// Reads a kind from its text; never fails (see the module documentation for how rule
    /// kinds that spell a key kind are classified).
    pub fn parse(s: &str) -> Kind {
        match s {
            "aes-key" => Kind::AesKey,
            "symmetric-key" => Kind::SymmetricKey,
            "private-key-material" => Kind::PrivateKeyMaterial,
            _ => match PrivateKeyKind::parse(s) {
                Some(k) => Kind::PrivateKey(k),
                None => Kind::token(s),
            },
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Kind, Self::Err> {
        Ok(Kind::parse(s))
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Kind {}

impl std::hash::Hash for Kind {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl PartialEq<str> for Kind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Kind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Kind {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

/// Kinds order as their text, the order every sorted output (sweep summaries, SARIF rules)
/// had when kinds were strings.
impl Ord for Kind {
    fn cmp(&self, other: &Kind) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Kind) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        Ok(Kind::parse(&s))
    }
}

/// In the published schemas a kind is a string, as before: the set of kinds is open (rule
/// files add their own), so the schema cannot enumerate it.
impl schemars::JsonSchema for Kind {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Kind".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_as_itself() {
        for text in [
            "rsa-private-key",
            "ec-private-key",
            "ed25519-private-key",
            "x25519-private-key",
            "dsa-private-key",
            "encrypted-private-key",
            "private-key",
            "aes-key",
            "symmetric-key",
            "private-key-material",
            "jwt",
            "github-token",
            "password",
        ] {
            let k = Kind::parse(text);
            assert_eq!(k.as_str(), text);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{text}\""));
            let back: Kind = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(back, k);
            assert_eq!(Kind::token(text), k, "equality is by text");
        }
    }

    #[test]
    fn classification() {
        assert_eq!(Kind::private_key("RSA"), Kind::parse("rsa-private-key"));
        assert_eq!(Kind::private_key("EC P-224").as_str(), "private-key");
        assert_eq!(Kind::private_key("").as_str(), "private-key");
        assert!(matches!(Kind::parse("jwt"), Kind::Token(_)));
        // Not a slug: a rule's own kind, not a key.
        assert!(matches!(Kind::parse("-private-key"), Kind::Token(_)));
        assert!(matches!(Kind::parse("RSA-private-key"), Kind::Token(_)));
        match Kind::parse("ed25519-private-key") {
            Kind::PrivateKey(k) => assert_eq!(k.algorithm(), Some("ed25519")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn orders_as_text() {
        let mut v = [Kind::token("jwt"), Kind::AesKey, Kind::private_key("RSA")];
        v.sort();
        let t: Vec<&str> = v.iter().map(Kind::as_str).collect();
        assert_eq!(t, ["aes-key", "jwt", "rsa-private-key"]);
    }
}
