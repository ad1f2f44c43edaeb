//! Kerberos messages that carry tickets (RFC 4120 §5): Ticket (`[APPLICATION 1]`), KRB-CRED
//! (`[APPLICATION 22]`, the `.kirbi` format tools export), AS-REP / TGS-REP and AP-REQ, as
//! binary DER or as base64 `.kirbi` text. The structure is parsed (versions, realm, service
//! principal, encryption types); the encrypted parts cannot be checked without keys. A
//! KRB-CRED whose own encrypted part uses etype 0 holds the session key in clear: that ticket
//! can be replayed (pass-the-ticket).
//!
//! The fingerprint is the SHA-256 of the message's DER bytes, so the binary and the base64
//! forms of one ticket get one fingerprint.

use super::{base64_any, clean, Assessment, Candidate};
use crate::report::Severity;
use std::ops::Range;

#[derive(Debug, Clone)]
struct Tlv {
    tag: u8,
    start: usize,
    body: Range<usize>,
    end: usize,
}

/// Reads one TLV at `at` (definite lengths, at most 3 length bytes), bounds-checked.
fn tlv(d: &[u8], at: usize) -> Option<Tlv> {
    let tag = *d.get(at)?;
    let l0 = *d.get(at.checked_add(1)?)?;
    let (len, hl) = if l0 < 0x80 {
        (l0 as usize, 2)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 3 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *d.get(at + 2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let start = at.checked_add(hl)?;
    let end = start.checked_add(len)?;
    (end <= d.len()).then_some(Tlv {
        tag,
        start: at,
        body: start..end,
        end,
    })
}

/// The TLVs inside `body`, at most 16 (every structure here has fewer fields).
fn children(d: &[u8], body: &Range<usize>) -> Option<Vec<Tlv>> {
    let mut out = Vec::new();
    let mut at = body.start;
    while at < body.end {
        let t = tlv(d, at)?;
        if t.end > body.end || out.len() >= 16 {
            return None;
        }
        at = t.end;
        out.push(t);
    }
    Some(out)
}

/// The value inside context tag `[n]` of a SEQUENCE's fields.
fn field<'a>(d: &[u8], fields: &'a [Tlv], n: u8) -> Option<Tlv> {
    let f: &'a Tlv = fields.iter().find(|f| f.tag == 0xa0 + n)?;
    let inner = tlv(d, f.body.start)?;
    (inner.end == f.end).then_some(inner)
}

fn int(d: &[u8], t: &Tlv) -> Option<i64> {
    if t.tag != 0x02 || t.body.is_empty() || t.body.len() > 8 {
        return None;
    }
    let b = &d[t.body.clone()];
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in b {
        v = (v << 8) | x as i64;
    }
    Some(v)
}

fn string(d: &[u8], t: &Tlv) -> Option<String> {
    let b = &d[t.body.clone()];
    (t.tag == 0x1b && !b.is_empty() && b.len() <= 256 && b.iter().all(|c| c.is_ascii_graphic()))
        .then(|| clean(b, 96))
}

/// Opens `[APPLICATION n] SEQUENCE {…}` at `at`: its fields and its end.
fn message(d: &[u8], at: usize, app_tag: u8) -> Option<(Vec<Tlv>, usize)> {
    let outer = tlv(d, at)?;
    if outer.tag != app_tag {
        return None;
    }
    let seq = tlv(d, outer.body.start)?;
    if seq.tag != 0x30 || seq.end != outer.end {
        return None;
    }
    Some((children(d, &seq.body)?, outer.end))
}

fn etype_name(e: i64) -> String {
    match e {
        0 => "none (clear)".into(),
        1 => "des-cbc-crc".into(),
        3 => "des-cbc-md5".into(),
        17 => "aes128-cts-hmac-sha1-96".into(),
        18 => "aes256-cts-hmac-sha1-96".into(),
        19 => "aes128-cts-hmac-sha256-128".into(),
        20 => "aes256-cts-hmac-sha384-192".into(),
        23 => "rc4-hmac".into(),
        24 => "rc4-hmac-exp".into(),
        _ => format!("etype {e}"),
    }
}

/// EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
fn encrypted_data(d: &[u8], t: &Tlv) -> Option<i64> {
    if t.tag != 0x30 {
        return None;
    }
    let f = children(d, &t.body)?;
    let etype = int(d, &field(d, &f, 0)?)?;
    let cipher = field(d, &f, 2)?;
    (cipher.tag == 0x04).then_some(etype)
}

struct Ticket {
    realm: String,
    sname: String,
    etype: i64,
    end: usize,
}

fn ticket(d: &[u8], at: usize) -> Option<Ticket> {
    let (f, end) = message(d, at, 0x61)?;
    if int(d, &field(d, &f, 0)?)? != 5 {
        return None;
    }
    let realm = string(d, &field(d, &f, 1)?)?;
    let sname_t = field(d, &f, 2)?;
    let sn = children(d, &sname_t.body)?;
    let names = field(d, &sn, 1)?;
    let parts: Vec<String> = children(d, &names.body)?
        .iter()
        .map(|p| string(d, p))
        .collect::<Option<_>>()?;
    if parts.is_empty() {
        return None;
    }
    let etype = encrypted_data(d, &field(d, &f, 3)?)?;
    Some(Ticket {
        realm,
        sname: parts.join("/"),
        etype,
        end,
    })
}

struct Parsed {
    what: &'static str,
    ticket: Ticket,
    /// KRB-CRED only: etype of its own encrypted part (0 = session key in clear).
    cred_etype: Option<i64>,
    end: usize,
}

/// Parses any ticket-carrying message at `at`.
fn parse(d: &[u8], at: usize) -> Option<Parsed> {
    let tag = *d.get(at)?;
    if tag == 0x61 {
        let t = ticket(d, at)?;
        let end = t.end;
        return Some(Parsed {
            what: "Ticket",
            ticket: t,
            cred_etype: None,
            end,
        });
    }
    let (what, msg_type, ticket_field) = match tag {
        0x76 => ("KRB-CRED", 22, 2),
        0x6b => ("AS-REP", 11, 5),
        0x6d => ("TGS-REP", 13, 5),
        0x6e => ("AP-REQ", 14, 3),
        _ => return None,
    };
    let (f, end) = message(d, at, tag)?;
    if int(d, &field(d, &f, 0)?)? != 5 || int(d, &field(d, &f, 1)?)? != msg_type {
        return None;
    }
    let tf = field(d, &f, ticket_field)?;
    let first = if tag == 0x76 {
        // tickets [2] SEQUENCE OF Ticket
        if tf.tag != 0x30 {
            return None;
        }
        tf.body.start
    } else {
        // The field holds the Ticket itself.
        tf.start
    };
    let t = ticket(d, first)?;
    let cred_etype = if tag == 0x76 {
        Some(encrypted_data(d, &field(d, &f, 3)?)?)
    } else {
        None
    };
    Some(Parsed {
        what,
        ticket: t,
        cred_etype,
        end,
    })
}

/// Tags of messages that can contain a Ticket.
const ENCLOSING: [u8; 4] = [0x76, 0x6b, 0x6d, 0x6e];

fn assess(p: &Parsed, form: &str) -> Assessment {
    let t = &p.ticket;
    let mut a = Assessment::verified(format!(
        "Kerberos {} ({form}): DER structure parses (version 5, realm, service principal, encrypted part); encrypted parts not checked (need keys)",
        p.what
    ))
    .attr("message", p.what)
    .attr("realm", t.realm.clone())
    .attr("service", t.sname.clone())
    .attr("ticket_etype", etype_name(t.etype));
    let mut preview = format!(
        "Kerberos {} for {}@{} (ticket {})",
        p.what,
        t.sname,
        t.realm,
        etype_name(t.etype)
    );
    match p.cred_etype {
        Some(0) => {
            a = a.attr("session_key", "in clear");
            preview.push_str(", session key in clear: replayable");
        }
        Some(e) => {
            a = a.attr("cred_etype", etype_name(e));
            a = a.severity(Severity::Medium);
        }
        // A ticket without its session key cannot be used, but a service ticket can be
        // cracked offline (RC4 especially).
        None => a = a.severity(Severity::Medium),
    }
    a.preview(preview)
}

/// Binary DER: the match starts at the message's APPLICATION tag.
pub fn validate_der(c: &Candidate<'_>) -> Option<Assessment> {
    let d = c.text;
    let at = c.whole.start;
    let p = parse(d, at)?;
    if p.what == "Ticket" {
        // A ticket inside a message seen as a whole is reported with that message.
        let lo = at.saturating_sub(512);
        if (lo..at)
            .rev()
            .any(|s| ENCLOSING.contains(&d[s]) && parse(d, s).is_some_and(|o| o.end >= p.end))
        {
            return None;
        }
    }
    let mut a = assess(&p, "DER");
    a.secret = Some(at..p.end);
    a.fingerprint_material = Some(d[at..p.end].to_vec());
    Some(a)
}

/// Base64 `.kirbi` text (possibly wrapped): decoded, then parsed as DER. Only as many
/// characters as the outer length says are decoded, so text that follows a wrapped block
/// (the next line of a tool's output) does not spoil the decoding.
pub fn validate_base64(c: &Candidate<'_>) -> Option<Assessment> {
    let chars: Vec<u8> = c
        .secret()
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .collect();
    let head = base64_any(chars.get(..8)?)?;
    let outer = tlv(&head, 0).map(|t| t.end).or_else(|| {
        // The header decodes but the body is not in `head`: compute the length directly.
        let l0 = *head.get(1)?;
        let n = (l0 & 0x7f) as usize;
        if l0 < 0x80 {
            return Some(2 + l0 as usize);
        }
        if n == 0 || n > 3 {
            return None;
        }
        let len = head
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, &b| (a << 8) | b as usize);
        Some(2 + n + len)
    })?;
    let need = outer.div_ceil(3) * 4;
    let der = base64_any(chars.get(..need.min(chars.len()))?)?;
    let p = parse(&der, 0)?;
    let mut a = assess(&p, "base64 .kirbi");
    a.fingerprint_material = Some(der[..p.end].to_vec());
    Some(a)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = body.len();
        if n < 0x80 {
            v.push(n as u8);
        } else if n < 0x100 {
            v.extend([0x81, n as u8]);
        } else {
            v.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(body);
        v
    }

    fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    fn int(v: u8) -> Vec<u8> {
        wrap(0x02, &[v])
    }

    fn gs(s: &str) -> Vec<u8> {
        wrap(0x1b, s.as_bytes())
    }

    fn enc(etype: u8, cipher_len: usize) -> Vec<u8> {
        wrap(
            0x30,
            &cat(&[
                wrap(0xa0, &int(etype)),
                wrap(0xa1, &int(2)),
                wrap(0xa2, &wrap(0x04, &vec![0x5a; cipher_len])),
            ]),
        )
    }

    /// A structurally valid Ticket (test value: the "cipher" is filler bytes).
    pub fn fake_ticket(realm: &str, service: &[&str]) -> Vec<u8> {
        let names: Vec<Vec<u8>> = service.iter().map(|s| gs(s)).collect();
        let sname = wrap(
            0x30,
            &cat(&[
                wrap(0xa0, &int(2)),
                wrap(0xa1, &wrap(0x30, &names.concat())),
            ]),
        );
        wrap(
            0x61,
            &wrap(
                0x30,
                &cat(&[
                    wrap(0xa0, &int(5)),
                    wrap(0xa1, &gs(realm)),
                    wrap(0xa2, &sname),
                    wrap(0xa3, &enc(18, 300)),
                ]),
            ),
        )
    }

    /// A KRB-CRED (.kirbi) around one ticket, with the session-key part in clear (etype 0).
    pub fn fake_kirbi(realm: &str, service: &[&str]) -> Vec<u8> {
        wrap(
            0x76,
            &wrap(
                0x30,
                &cat(&[
                    wrap(0xa0, &int(5)),
                    wrap(0xa1, &int(22)),
                    wrap(0xa2, &wrap(0x30, &fake_ticket(realm, service))),
                    wrap(0xa3, &enc(0, 120)),
                ]),
            ),
        )
    }

    #[test]
    fn parses_ticket_and_kirbi() {
        let t = fake_ticket("TEST.DUMPGUARD", &["krbtgt", "TEST.DUMPGUARD"]);
        let p = parse(&t, 0).unwrap();
        assert_eq!(p.what, "Ticket");
        assert_eq!(p.ticket.sname, "krbtgt/TEST.DUMPGUARD");
        assert_eq!(p.end, t.len());
        let k = fake_kirbi("TEST.DUMPGUARD", &["cifs", "fs01.test.dumpguard"]);
        let p = parse(&k, 0).unwrap();
        assert_eq!(p.what, "KRB-CRED");
        assert_eq!(p.cred_etype, Some(0));
        assert_eq!(p.ticket.etype, 18);
    }

    #[test]
    fn truncated_or_damaged_structures_fail() {
        let k = fake_kirbi("TEST.DUMPGUARD", &["cifs", "fs01"]);
        for cut in [10, k.len() / 2, k.len() - 1] {
            assert!(parse(&k[..cut], 0).is_none(), "cut {cut}");
        }
        let mut bad = k.clone();
        let v = bad
            .windows(5)
            .position(|w| w == [0xa0, 0x03, 0x02, 0x01, 0x05])
            .unwrap();
        bad[v + 4] = 4; // pvno 4
        assert!(parse(&bad, 0).is_none());
    }
}
