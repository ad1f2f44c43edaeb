//! Azure credentials: storage account keys in connection strings, Microsoft "identifiable"
//! keys (a provider signature and a Marvin32 checksum inside the key), SAS tokens, shared
//! access keys of Service Bus / Event Hubs / IoT connection strings, and Entra ID (AAD)
//! client secrets (docs/key-formats.md §10; microsoft/security-utilities).

use super::{base64_any, clean, marvin, rfc3339, Assessment, Candidate};
use crate::report::Severity;
use regex::bytes::Regex;
use std::sync::OnceLock;

/// A provider of identifiable keys: its 4-character signature and the checksum seeds its
/// key kinds use.
struct Provider {
    signature: &'static [u8; 4],
    name: &'static str,
    seeds: &'static [u64],
}

const MESSAGING: &[u64] = &[
    0x53656e6430303030, // "Send0000"
    0x4c697374656e3030, // "Listen00"
    0x4d616e6167653030, // "Manage00"
    0x53797374656d3030, // "System00"
    0x556e6b6e6f776e30, // "Unknown0"
];

const PROVIDERS: &[Provider] = &[
    Provider {
        signature: b"+ASt",
        name: "Azure Storage account key",
        seeds: &[0x44656661756c7430],
    },
    Provider {
        signature: b"ACDb",
        name: "Azure Cosmos DB key",
        seeds: &[
            0x4d617374524f3030,
            0x4d61737452573030,
            0x537973416c6c3030,
            0x5265736f75723030,
            0x53797374524f3030,
            0x456e637279703030,
            0x5379737452573030,
        ],
    },
    Provider {
        signature: b"+ASb",
        name: "Azure Service Bus key",
        seeds: MESSAGING,
    },
    Provider {
        signature: b"+AEh",
        name: "Azure Event Hubs key",
        seeds: MESSAGING,
    },
    Provider {
        signature: b"+ARm",
        name: "Azure Relay key",
        seeds: MESSAGING,
    },
    Provider {
        signature: b"AzFu",
        name: "Azure Functions key",
        seeds: &[0x46756e6374693030, 0x53797374656d3030, 0x4d61737465723030],
    },
    Provider {
        signature: b"AzCa",
        name: "Azure Cache for Redis key",
        seeds: &[0x4163636573733030],
    },
    Provider {
        signature: b"AzSe",
        name: "Azure AI Search key",
        seeds: &[0x5175657279303030, 0x5041646d696e3030],
    },
    Provider {
        signature: b"+ABa",
        name: "Azure Batch key",
        seeds: &[0x4162416363743030],
    },
    Provider {
        signature: b"APIM",
        name: "Azure API Management key",
        seeds: &[
            0x54656e616e743030,
            0x496f544875623030,
            0x4761746577793030,
            0x4769744b65793030,
        ],
    },
    Provider {
        signature: b"AIoT",
        name: "Azure IoT key",
        seeds: &[0x496f544875623030, 0x4470734b65793030, 0x4465766963653030],
    },
    Provider {
        signature: b"+AMC",
        name: "Azure Machine Learning (classic) key",
        seeds: &[0x436c617373696330],
    },
    Provider {
        signature: b"+ACR",
        name: "Azure Container Registry key",
        seeds: &[0x41435244666c7430],
    },
];

/// The provider whose signature sits ten characters before the end of the unpadded base64,
/// where identifiable keys carry it.
fn signature_provider(key: &[u8]) -> Option<&'static Provider> {
    let trimmed = key
        .strip_suffix(b"==")
        .or(key.strip_suffix(b"="))
        .unwrap_or(key);
    let sig = trimmed.get(trimmed.len().checked_sub(10)?..trimmed.len() - 6)?;
    PROVIDERS.iter().find(|p| p.signature.as_slice() == sig)
}

/// If `key` is an identifiable key (signature ten characters before the end of its
/// unpadded base64, Marvin32 checksum in its last four decoded bytes), the provider's name.
pub fn identifiable(key: &[u8]) -> Option<&'static str> {
    let p = signature_provider(key)?;
    let raw = base64_any(key)?;
    let n = raw.len().checked_sub(4)?;
    if n < 20 {
        return None;
    }
    let stored = u32::from_le_bytes(raw[n..].try_into().ok()?);
    p.seeds
        .iter()
        .any(|&s| marvin::hash32(&raw[..n], s) == stored)
        .then_some(p.name)
}

fn find<'a>(re: &'static OnceLock<Regex>, pat: &str, hay: &'a [u8]) -> Option<&'a [u8]> {
    let re = re.get_or_init(|| Regex::new(pat).expect("static regex"));
    re.captures(hay)
        .and_then(|c| c.get(1))
        .map(|m| &hay[m.range()])
}

/// `AccountKey=` of a storage connection string: 64 random bytes in base64.
pub fn validate_account_key(c: &Candidate<'_>) -> Option<Assessment> {
    let key = c.secret();
    if base64_any(key)?.len() != 64 {
        return None;
    }
    static ACCOUNT: OnceLock<Regex> = OnceLock::new();
    static SUFFIX: OnceLock<Regex> = OnceLock::new();
    let ctx = c.around(512);
    let account = find(&ACCOUNT, r"(?i)AccountName\s*=\s*([A-Za-z0-9-]{3,24})", ctx);
    let suffix = find(
        &SUFFIX,
        r"(?i)EndpointSuffix\s*=\s*([A-Za-z0-9.-]{3,64})",
        ctx,
    );
    let mut a = match identifiable(key) {
        Some(name) => Assessment::verified(format!(
            "{name} (identifiable format): Marvin32 checksum matches"
        )),
        // A provider signature where identifiable keys carry it, but a wrong checksum: a
        // damaged key (a random legacy key has the signature there once in 16 million).
        None if signature_provider(key).is_some() => return None,
        None => Assessment::unverified(
            "storage account key: decodes to exactly 64 bytes (legacy format carries no checksum)",
        ),
    };
    let mut preview = "AccountKey=[88 chars, redacted]".to_string();
    if let Some(n) = account {
        let n = clean(n, 24);
        preview = format!("AccountName={n}; {preview}");
        a = a.attr("account_name", n);
    }
    if let Some(s) = suffix {
        a = a.attr("endpoint_suffix", clean(s, 64));
    }
    Some(a.preview(preview))
}

/// Any identifiable key, wherever it sits: the checksum decides.
pub fn validate_identifiable(c: &Candidate<'_>) -> Option<Assessment> {
    let key = c.secret();
    let name = identifiable(key)?;
    Some(
        Assessment::verified(format!(
            "{name} (identifiable format): Marvin32 checksum matches"
        ))
        .attr("type", name)
        .preview(format!(
            "[{} chars, redacted] ({name}, checksum valid)",
            key.len()
        )),
    )
}

fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let h = std::str::from_utf8(s.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Seconds since the epoch of a SAS time (`2030-01-01`, `2030-01-01T10:00Z`,
/// `2030-01-01T10:00:00Z`, percent-encoded colons allowed).
fn sas_time(v: &[u8]) -> Option<i64> {
    let v = percent_decode(v)?;
    let s = std::str::from_utf8(&v).ok()?;
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = if s.len() >= 16 {
        (num(11..13)?, num(14..16)?, num(17..19).unwrap_or(0))
    } else {
        (0, 0, 0)
    };
    let date =
        time::Date::from_calendar_date(y as i32, time::Month::try_from(mo as u8).ok()?, d as u8)
            .ok()?;
    let t = time::Time::from_hms(h as u8, mi as u8, sec as u8).ok()?;
    Some(date.with_time(t).assume_utc().unix_timestamp())
}

/// A shared access signature: `sv=` names the service version, `sig=` is the
/// HMAC-SHA256 (32 bytes) that makes the token work.
pub fn validate_sas(c: &Candidate<'_>) -> Option<Assessment> {
    let sig = percent_decode(c.secret())?;
    if base64_any(&sig)?.len() != 32 {
        return None;
    }
    let mut params = std::collections::BTreeMap::new();
    for kv in c.whole().split(|&b| b == b'&' || b == b'?') {
        if let Some(eq) = kv.iter().position(|&b| b == b'=') {
            params.insert(kv[..eq].to_vec(), &kv[eq + 1..]);
        }
    }
    let sv = params.get(b"sv".as_slice())?;
    let mut a = Assessment::verified(
        "SAS token: sv present and sig decodes to a 32-byte HMAC-SHA256 signature",
    )
    .attr("sv", clean(sv, 16));
    let mut preview = format!("SAS sv={}", clean(sv, 16));
    for (k, name) in [
        (&b"sp"[..], "permissions"),
        (b"sr", "resource"),
        (b"ss", "services"),
        (b"srt", "resource_types"),
    ] {
        if let Some(v) = params.get(k) {
            let v = clean(v, 32);
            preview.push_str(&format!(" {}={v}", String::from_utf8_lossy(k)));
            a = a.attr(name, v);
        }
    }
    if let Some(se) = params.get(b"se".as_slice()) {
        match sas_time(se) {
            Some(t) => {
                let expired = t <= c.now;
                let when = rfc3339(t).unwrap_or_default();
                preview.push_str(&format!(
                    " se={when} ({})",
                    if expired { "expired" } else { "not expired" }
                ));
                a = a.attr("expiry", when).attr("expired", expired.to_string());
                if expired {
                    a = a.severity(Severity::Medium);
                }
            }
            None => a = a.attr("expiry", clean(se, 32)),
        }
    }
    preview.push_str(" sig=[redacted]");
    Some(a.preview(preview))
}

/// `SharedAccessKey=` of Service Bus, Event Hubs, Relay and IoT Hub connection strings: a
/// 32- or 64-byte key in base64.
pub fn validate_shared_access_key(c: &Candidate<'_>) -> Option<Assessment> {
    let key = c.secret();
    let len = base64_any(key)?.len();
    if len != 32 && len != 64 {
        return None;
    }
    static ENDPOINT: OnceLock<Regex> = OnceLock::new();
    static HOST: OnceLock<Regex> = OnceLock::new();
    static NAME: OnceLock<Regex> = OnceLock::new();
    let ctx = c.around(512);
    let mut a = match identifiable(key) {
        Some(name) => Assessment::verified(format!(
            "{name} (identifiable format): Marvin32 checksum matches"
        )),
        None if signature_provider(key).is_some() => return None,
        None => Assessment::unverified(format!(
            "shared access key: decodes to exactly {len} bytes (legacy format carries no checksum)"
        )),
    };
    let mut preview = String::new();
    let endpoint = find(
        &ENDPOINT,
        r"(?i)Endpoint\s*=\s*sb://([A-Za-z0-9.-]{3,128})",
        ctx,
    )
    .or_else(|| find(&HOST, r"(?i)HostName\s*=\s*([A-Za-z0-9.-]{3,128})", ctx));
    if let Some(e) = endpoint {
        let e = clean(e, 128);
        preview.push_str(&format!("endpoint {e}; "));
        a = a.attr("endpoint", e);
    }
    if let Some(n) = find(&NAME, r"(?i)SharedAccessKeyName\s*=\s*([^;\s]{1,64})", ctx) {
        let n = clean(n, 64);
        preview.push_str(&format!("key name {n}; "));
        a = a.attr("key_name", n);
    }
    preview.push_str(&format!("SharedAccessKey=[{} chars, redacted]", key.len()));
    Some(a.preview(preview))
}

const AAD_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890.-_~";
const AAD_SEED: u64 = 0x4161645077643030;

/// Whether an Entra ID client secret's last three characters are the first three digits of
/// the Marvin32 checksum of the rest, in the secret's own 66-character alphabet.
pub fn aad_checksum_ok(s: &[u8]) -> bool {
    if s.len() < 12 || s.get(3..6) != Some(b"8Q~".as_slice()) {
        return false;
    }
    let (body, check) = s.split_at(s.len() - 3);
    let mut v = marvin::hash32(body, AAD_SEED);
    let mut digits = Vec::new();
    while v > 0 {
        digits.push(AAD_ALPHABET[(v % 66) as usize]);
        v /= 66;
    }
    digits.reverse();
    digits.len() >= 3 && digits[..3] == *check
}

pub fn validate_aad_client_secret(c: &Candidate<'_>) -> Option<Assessment> {
    let s = c.secret();
    if !aad_checksum_ok(s) {
        return None;
    }
    Some(
        Assessment::verified("Entra ID (Azure AD) client secret: Marvin32 checksum matches")
            .preview(format!(
                "[{} chars, redacted] (Entra ID client secret, checksum valid)",
                s.len()
            )),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::testing::run;
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    /// A fake identifiable key (test value) for a provider's first seed: deterministic
    /// "random" bytes, the signature spliced in as the generator does, then the checksum.
    pub fn fake_identifiable(sig: &[u8; 4], len: usize, fill: u8) -> String {
        let p = PROVIDERS.iter().find(|p| p.signature == sig).unwrap();
        let mut raw: Vec<u8> = (0..len as u32)
            .map(|i| (i.wrapping_mul(37) as u8) ^ fill)
            .collect();
        // Place the signature so that it renders at len-10 of the base64 text: decode a
        // base64 text with the signature there and take its bytes.
        let mut text = STANDARD.encode(&raw).into_bytes();
        let trimmed = text.iter().rposition(|&c| c != b'=').unwrap() + 1;
        text[trimmed - 10..trimmed - 6].copy_from_slice(sig);
        raw = STANDARD.decode(&text).unwrap();
        let n = raw.len() - 4;
        let sum = marvin::hash32(&raw[..n], p.seeds[0]);
        raw[n..].copy_from_slice(&sum.to_le_bytes());
        let key = STANDARD.encode(&raw);
        assert_eq!(&key.as_bytes()[trimmed - 10..trimmed - 6], sig, "{key}");
        key
    }

    #[test]
    fn identifiable_keys_verify_and_corruption_fails() {
        for (sig, len) in [(b"+ASt", 64), (b"+ASb", 32), (b"ACDb", 64), (b"AzCa", 32)] {
            let k = fake_identifiable(sig, len, 0x5a);
            assert!(identifiable(k.as_bytes()).is_some(), "{k}");
            let mut bad = k.clone().into_bytes();
            bad[5] = if bad[5] == b'A' { b'B' } else { b'A' };
            assert!(identifiable(&bad).is_none());
        }
    }

    #[test]
    fn account_key_legacy_and_identifiable() {
        let legacy = STANDARD.encode([0x42u8; 64]);
        let text = format!(
            "DefaultEndpointsProtocol=https;AccountName=teststorage1;AccountKey={legacy};EndpointSuffix=core.windows.net"
        );
        let pat = r"AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)";
        let a = run(validate_account_key, pat, &text).unwrap();
        assert!(!a.verified);
        assert_eq!(a.attributes["account_name"], "teststorage1");
        assert!(!a.preview.unwrap().contains(&legacy[..20]));
        let id = fake_identifiable(b"+ASt", 64, 1);
        let a = run(validate_account_key, pat, &text.replace(&legacy, &id)).unwrap();
        assert!(a.verified);
        // 48 bytes is not a storage key.
        let short = STANDARD.encode([1u8; 48]);
        assert!(run(
            validate_account_key,
            r"AccountKey=(?P<secret>\S+?);",
            &format!("AccountKey={short};")
        )
        .is_none());
    }

    #[test]
    fn sas_token_expiry_and_signature() {
        let sig = STANDARD
            .encode([9u8; 32])
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        let pat = r"(?:sv|sp|se|sr|st|spr)=[^&\s]*(?:&[a-z]{2,5}=[^&\s]*)*&sig=(?P<secret>[A-Za-z0-9%+/]{40,100})";
        let t = format!(
            "?sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&spr=https&sig={sig}"
        );
        let a = run(validate_sas, pat, &t).unwrap();
        assert!(a.verified);
        assert_eq!(a.attributes["expired"], "false");
        assert_eq!(a.attributes["permissions"], "rl");
        let old = t.replace("2030-01-01T00:00:00Z", "2020-01-01");
        assert_eq!(
            run(validate_sas, pat, &old).unwrap().severity,
            Some(Severity::Medium)
        );
        // 16-byte signature, or no sv: not a SAS token.
        let short = STANDARD.encode([9u8; 16]);
        assert!(run(
            validate_sas,
            pat,
            &format!("sv=2022-11-02&sig={short}xxxxxxxxxxxxxxxxxx")
        )
        .is_none());
        assert!(run(validate_sas, pat, &t.replace("sv=", "xv=")).is_none());
    }

    /// A fake Entra ID client secret (test value) with a valid checksum.
    pub fn fake_aad(body37: &str) -> String {
        assert_eq!(body37.len(), 37);
        assert_eq!(&body37[3..6], "8Q~");
        let mut v = marvin::hash32(body37.as_bytes(), AAD_SEED);
        let mut digits = Vec::new();
        while v > 0 {
            digits.push(AAD_ALPHABET[(v % 66) as usize]);
            v /= 66;
        }
        digits.reverse();
        format!("{body37}{}", String::from_utf8_lossy(&digits[..3]))
    }

    #[test]
    fn aad_secret_checksum() {
        let s = fake_aad("Tst8Q~TESTxDUMPGUARDxFAKExSECRETx0123");
        assert!(aad_checksum_ok(s.as_bytes()));
        let mut bad = s.clone().into_bytes();
        bad[20] ^= 0x01;
        assert!(!aad_checksum_ok(&bad));
    }
}
