//! PKCS#12 / PFX files (RFC 7292; docs/key-formats.md §2.7) in memory: certificate exports, IIS and
//! Azure key vault downloads, Java keystores. A PFX is reported whenever it holds a private
//! key; dumpguard then tries the two passwords a careless export uses — the empty password and
//! no password at all — and says whether it opened:
//!
//! * opened (the MAC verifies, or without a MAC the key bag decrypts to a valid PKCS#8): every
//!   key inside is decoded and verified like any other key (critical when proven);
//! * not opened: an `encrypted` finding naming the MAC and key-bag schemes, which the
//!   whole-dump default-password pass (`default_passwords.rs`) then tries with `changeit` and
//!   the other well-known defaults, within its per-dump budget.
//!
//! Anchor: the PFX version `02 01 03` followed by the authSafe `SEQUENCE` (`30`), then a
//! pkcs7-data OID must follow and the enclosing SEQUENCE must be exact DER. Key derivation
//! comes from crates (pkcs12 for RFC 7292 appendix B, pkcs5 for PBES2), iteration counts are
//! capped so a hostile file cannot make the scan spin.

use super::kdf_budget::{self as budget, Budget};
use super::{verdict_cache, Anchor, Detector, Family, ScanContext, Sink};
use crate::keys::decode::{private_key_der, tlv_len};
use crate::keys::{self, KeyInfo, PrivateKey, Status, Verdict};
use crate::report::Finding;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use pkcs12::kdf::{derive_key, Pkcs12KeyType};
use spki::AlgorithmIdentifierOwned;

pub struct Pkcs12;

const ANCHOR: &[u8] = &[0x02, 0x01, 0x03, 0x30];
const PKCS7_DATA_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
];
/// Largest PFX followed (long certificate chains stay well below).
const MAX_PFX: usize = 4 << 20;
/// Key-derivation work allowed per password try (OpenSSL default 2048; Windows 2000–10000;
/// newer exports up to 600 000 for PBKDF2).
pub(super) const MAX_ITERATIONS: u32 = budget::MAX_PBKDF2_ITERATIONS as u32;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_2DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.4");

/// A password candidate in both forms PKCS#12 uses: BMPString with terminator for the RFC 7292
/// KDF, raw bytes for PBES2.
pub(super) struct Password {
    pub name: String,
    bmp: Vec<u8>,
    raw: Vec<u8>,
}

impl Password {
    /// The empty password: a BMPString of no characters still carries its two-byte
    /// terminator (RFC 7292 appendix B.1), which is what tells it from the absent password.
    fn empty() -> Password {
        Password {
            name: "the empty password".into(),
            bmp: vec![0, 0],
            raw: Vec::new(),
        }
    }

    /// No password at all (a NULL password in OpenSSL): the KDF gets zero bytes.
    fn absent() -> Password {
        Password {
            name: "no password".into(),
            bmp: Vec::new(),
            raw: Vec::new(),
        }
    }

    /// A text password, as `name` says it in the finding.
    pub fn text(password: &str, name: String) -> Password {
        let mut bmp: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
        bmp.extend_from_slice(&[0, 0]);
        Password {
            name,
            bmp,
            raw: password.as_bytes().to_vec(),
        }
    }
}

/// What the main pass tries on every PFX: the two passwords a careless export uses.
fn trivial_passwords() -> &'static [Password] {
    static P: std::sync::OnceLock<[Password; 2]> = std::sync::OnceLock::new();
    P.get_or_init(|| [Password::empty(), Password::absent()])
}

impl Detector for Pkcs12 {
    fn name(&self) -> &'static str {
        "pkcs12"
    }

    fn family(&self) -> Family {
        Family::Wrappers
    }

    fn describe(&self) -> &'static str {
        "PKCS#12 / PFX key stores"
    }

    fn anchors(&self) -> Vec<Anchor> {
        vec![Anchor {
            bytes: ANCHOR.to_vec(),
            tag: 0,
        }]
    }

    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, _tag: u32, sink: &mut Sink) {
        let d = cx.data;
        // The authSafe ContentInfo must start with the pkcs7-data OID within a few bytes.
        let after = &d[pos + 3..d.len().min(pos + 3 + 16)];
        if crate::detect::text::find(after, PKCS7_DATA_OID).is_none() {
            return;
        }
        for hdr in [4usize, 3, 2, 5] {
            let Some(start) = pos.checked_sub(hdr) else {
                continue;
            };
            if d[start] != 0x30 {
                continue;
            }
            let Some(len) = tlv_len(&d[start..d.len().min(start + MAX_PFX)]) else {
                continue;
            };
            let pfx = &d[start..start + len];
            // The header length must be exactly what sits before the version.
            if header_len(pfx) != Some(hdr) {
                continue;
            }
            let open = || open(pfx, trivial_passwords(), None);
            for v in verdict_cache::verdicts("pkcs12", pfx, open) {
                let state = if v.status == Status::Encrypted {
                    "did not open"
                } else {
                    "opened with a trivial password"
                };
                sink.push(finding(start as u64, pfx.len(), &v, state));
            }
            return;
        }
    }
}

fn header_len(der: &[u8]) -> Option<usize> {
    Some(match *der.get(1)? {
        0..=0x7f => 2,
        0x81 => 3,
        0x82 => 4,
        0x83 => 5,
        _ => return None,
    })
}

/// What became of the password tries.
enum Mac<'p> {
    /// The MAC verified with this password.
    Opened(&'p Password),
    /// No password tried opened it.
    Failed(String),
    /// No MAC: passwords are tried on the key bags directly.
    Absent,
    /// Not tried (iteration count above the cap, unknown digest, work budget spent).
    NotTried(String),
}

/// The verdicts of the keys in a PFX (or one `encrypted` verdict when none opens), trying
/// `passwords` in order. With a `budget`, every key derivation is paid from it first and
/// nothing more is derived once it is spent.
pub(super) fn open(
    pfx_der: &[u8],
    passwords: &[Password],
    budget: Option<&Budget>,
) -> Vec<Verdict> {
    let Ok(pfx) = pkcs12::pfx::Pfx::from_der(pfx_der) else {
        return Vec::new();
    };
    if pfx.auth_safe.content_type != ID_DATA {
        return Vec::new();
    }
    let Ok(auth) = pfx.auth_safe.content.decode_as::<OctetString>() else {
        return Vec::new();
    };
    let auth = auth.as_bytes();
    let mac = match &pfx.mac_data {
        None => Mac::Absent,
        Some(m) => check_mac(m, auth, passwords, budget),
    };
    // Even when the MAC fails the bags are tried: a bag that opens and verifies while the MAC
    // does not means the file was altered (or the MAC uses another password).
    let candidates: Vec<&Password> = match &mac {
        Mac::Opened(p) => vec![*p],
        // The default-password pass (it has a budget) does not pay for bag tries the MAC has
        // already ruled out: a file whose MAC none of the list verifies is locked by another.
        Mac::Failed(_) if budget.is_some() => Vec::new(),
        _ => passwords.iter().collect(),
    };
    let Ok(safes) = Vec::<cms::content_info::ContentInfo>::from_der(auth) else {
        return Vec::new();
    };

    let mut found = Vec::new(); // (verdict, how it opened)
    let mut locked = Vec::new(); // descriptions of key bags that did not open
    for ci in &safes {
        let bags = if ci.content_type == ID_DATA {
            ci.content
                .decode_as::<OctetString>()
                .ok()
                .map(|o| o.as_bytes().to_vec())
        } else if ci.content_type == ID_ENCRYPTED_DATA {
            // Certificates usually; keys rarely. Open with the known password only.
            decrypt_encrypted_data(ci, &candidates, budget)
        } else {
            None
        };
        let Some(bags) = bags else { continue };
        let Ok(bags) = Vec::<pkcs12::safe_bag::SafeBag>::from_der(&bags) else {
            continue;
        };
        for bag in bags.iter().take(64) {
            let Some(value) = explicit_inner(&bag.bag_value) else {
                continue;
            };
            if bag.bag_id == KEY_BAG {
                if let Some(k) = private_key_der(value) {
                    found.push((keys::verify(&k.key), "an unencrypted key bag".to_string()));
                }
            } else if bag.bag_id == SHROUDED_KEY_BAG {
                match open_shrouded(value, &candidates, budget) {
                    Ok((v, how)) => found.push((v, how)),
                    Err(Locked { scheme }) => locked.push(scheme),
                }
            }
        }
    }

    let mac_words = match &mac {
        Mac::Opened(p) => format!("MAC verified with {}", p.name),
        Mac::Failed(s) | Mac::NotTried(s) => s.clone(),
        Mac::Absent => "no MAC".into(),
    };
    let mut out = Vec::new();
    for (mut v, how) in found {
        v.verification = format!(
            "PKCS#12 opened ({mac_words}; key from {how}): {}",
            v.verification
        );
        if matches!(mac, Mac::Failed(_)) && v.status == Status::Verified {
            // The key is real, but the file does not match its MAC: report it damaged,
            // keeping the proven key's fingerprint.
            v.status = Status::Corrupted;
        }
        v.key.format = Some(format!(
            "PKCS#12 / {}",
            v.key.format.as_deref().unwrap_or("PKCS#8")
        ));
        out.push(v);
    }
    if out.is_empty() && !locked.is_empty() {
        let v = Verdict {
            material: None,
            status: Status::Encrypted,
            verification: format!(
                "PKCS#12 with {} key bag(s) ({}); {}: cannot be verified without the password",
                locked.len(),
                locked.join("; "),
                mac_words
            ),
            key: KeyInfo {
                algorithm: "encrypted".into(),
                format: Some("PKCS#12".into()),
                ..Default::default()
            },
            spki: None,
        };
        out.push(v);
    }
    out
}

fn finding(offset: u64, len: usize, v: &Verdict, state: &str) -> Finding {
    Finding::key(
        "pkcs12",
        "pkcs12",
        offset,
        len as u64,
        v,
        format!("[PKCS#12 / PFX, {len} bytes, {state}, redacted]"),
    )
}

/// The content of a `[0] EXPLICIT` wrapper (SafeBag.bagValue as the pkcs12 crate keeps it).
fn explicit_inner(tlv: &[u8]) -> Option<&[u8]> {
    if *tlv.first()? != 0xa0 {
        return None;
    }
    let h = header_len(tlv)?;
    let inner = tlv.get(h..tlv_len(tlv)?)?;
    Some(&inner[..tlv_len(inner)?])
}

/// Verifies the MacData (RFC 7292 §4: HMAC with a key from the appendix B KDF, ID 3).
fn check_mac<'p>(
    m: &pkcs12::mac_data::MacData,
    auth: &[u8],
    passwords: &'p [Password],
    budget: Option<&Budget>,
) -> Mac<'p> {
    let iterations = m.iterations;
    if !(1..=MAX_ITERATIONS as i32).contains(&iterations) {
        return Mac::NotTried(format!("MAC not tried ({iterations} iterations)"));
    }
    let tried = if std::ptr::eq(passwords.as_ptr(), trivial_passwords().as_ptr()) {
        "the empty or no password".to_string()
    } else {
        passwords
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let salt = m.mac_salt.as_bytes();
    let want = m.mac.digest.as_bytes();
    let oid = m.mac.algorithm.oid.to_string();
    macro_rules! try_with {
        ($d:ty, $name:expr) => {{
            for p in passwords {
                if !budget::pay(budget, pkcs12_kdf_cost(iterations as u64, 1)) {
                    return Mac::NotTried(format!(
                        "MAC {} not tried further: the dump's password work budget is spent",
                        $name
                    ));
                }
                let key = derive_key::<$d>(
                    &p.bmp,
                    salt,
                    Pkcs12KeyType::Mac,
                    iterations,
                    <$d as sha2::digest::OutputSizeUser>::output_size(),
                );
                use hmac::Mac as _;
                let mut h = hmac::Hmac::<$d>::new_from_slice(&key).expect("any key length");
                h.update(auth);
                if h.verify_slice(want).is_ok() {
                    return Mac::Opened(p);
                }
            }
            Mac::Failed(format!(
                "MAC {} ({iterations} iterations) not verified with {tried}",
                $name
            ))
        }};
    }
    match oid.as_str() {
        "1.3.14.3.2.26" => try_with!(sha1::Sha1, "SHA-1"),
        "2.16.840.1.101.3.4.2.1" => try_with!(sha2::Sha256, "SHA-256"),
        "2.16.840.1.101.3.4.2.2" => try_with!(sha2::Sha384, "SHA-384"),
        "2.16.840.1.101.3.4.2.3" => try_with!(sha2::Sha512, "SHA-512"),
        o => Mac::NotTried(format!("MAC digest {o} not supported")),
    }
}

/// A shrouded key bag none of the candidate passwords opened: reported as locked, named by its
/// encryption scheme.
struct Locked {
    scheme: String,
}

/// Opens a pkcs8ShroudedKeyBag (EncryptedPrivateKeyInfo) with the candidate passwords and
/// verifies the key inside. Err describes the bag when it stays locked.
fn open_shrouded(
    epki: &[u8],
    candidates: &[&Password],
    budget: Option<&Budget>,
) -> Result<(Verdict, String), Locked> {
    let describe = || match private_key_der(epki) {
        Some(d) => match d.key {
            PrivateKey::Encrypted { scheme } => scheme,
            _ => "unrecognised scheme".into(),
        },
        None => "unrecognised scheme".into(),
    };
    let locked = || Locked { scheme: describe() };
    // Parsed by shape: the pkcs8 crate's type only admits PBES1/PBES2, not the PKCS#12 PBEs.
    let Some((alg, data)) = epki_parts(epki) else {
        return Err(locked());
    };
    for p in candidates {
        let Ok(plain) = pbe_decrypt(&alg, p, data.as_bytes(), budget) else {
            continue;
        };
        let Some(len) = tlv_len(&plain) else { continue };
        if let Some(k) = private_key_der(&plain[..len]) {
            let v = keys::verify(&k.key);
            return Ok((
                v,
                format!("a shrouded key bag ({}) opened with {}", describe(), p.name),
            ));
        }
    }
    Err(locked())
}

/// EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }.
pub(super) fn epki_parts(der: &[u8]) -> Option<(AlgorithmIdentifierOwned, OctetString)> {
    use der::Reader;
    let mut r = der::SliceReader::new(der).ok()?;
    let parts = r
        .sequence(|r| {
            Ok((
                AlgorithmIdentifierOwned::decode(r)?,
                OctetString::decode(r)?,
            ))
        })
        .ok()?;
    r.finish(parts).ok()
}

fn decrypt_encrypted_data(
    ci: &cms::content_info::ContentInfo,
    candidates: &[&Password],
    budget: Option<&Budget>,
) -> Option<Vec<u8>> {
    let ed = ci
        .content
        .decode_as::<cms::encrypted_data::EncryptedData>()
        .ok()?;
    let ct = ed.enc_content_info.encrypted_content?;
    candidates.iter().find_map(|p| {
        pbe_decrypt(
            &ed.enc_content_info.content_enc_alg,
            p,
            ct.as_bytes(),
            budget,
        )
        .ok()
    })
}

/// Password-based decryption for the schemes PFX files and encrypted PKCS#8 use: PBES2
/// (PBKDF2 or scrypt + AES/3DES, via the pkcs5 crate) and the RFC 7292 appendix C SHA-1 3DES
/// schemes (pkcs12 KDF + des). Key derivation above the bounds is refused before any work.
pub(super) fn pbe_decrypt(
    alg: &AlgorithmIdentifierOwned,
    p: &Password,
    ct: &[u8],
    budget: Option<&Budget>,
) -> Result<Vec<u8>, ()> {
    if alg.oid == PBES2 {
        let der = alg.to_der().map_err(|_| ())?;
        let scheme = pkcs5::EncryptionScheme::from_der(&der).map_err(|_| ())?;
        let pkcs5::EncryptionScheme::Pbes2(params) = &scheme else {
            return Err(());
        };
        // The main pass (no budget) runs on every PFX anchor: scrypt, whose memory cost is
        // the point, is left to the budgeted default-password pass.
        if budget.is_none() && params.kdf.is_scrypt() {
            return Err(());
        }
        if !budget::pay(budget, budget::pbes2_cost(&params.kdf).ok_or(())?) {
            return Err(());
        }
        return scheme.decrypt(&p.raw, ct).map_err(|_| ());
    }
    let key_len = if alg.oid == PBE_SHA1_3DES {
        24
    } else if alg.oid == PBE_SHA1_2DES {
        16
    } else {
        return Err(());
    };
    let params = alg.parameters.as_ref().ok_or(())?;
    let params: pkcs12::pbe_params::Pkcs12PbeParams = params.decode_as().map_err(|_| ())?;
    if !(1..=MAX_ITERATIONS as i32).contains(&params.iterations) {
        return Err(());
    }
    // Two derivations (key, IV), each of one or two SHA-1 blocks.
    if !budget::pay(budget, pkcs12_kdf_cost(params.iterations as u64, 3)) {
        return Err(());
    }
    let salt = params.salt.as_bytes();
    let derive = |ty, len| derive_key::<sha1::Sha1>(&p.bmp, salt, ty, params.iterations, len);
    let key = derive(Pkcs12KeyType::EncryptionKey, key_len);
    let iv = derive(Pkcs12KeyType::Iv, 8);
    use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
    let mut buf = ct.to_vec();
    let n = if key_len == 24 {
        cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|_| ())?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| ())?
            .len()
    } else {
        cbc::Decryptor::<des::TdesEde2>::new_from_slices(&key, &iv)
            .map_err(|_| ())?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| ())?
            .len()
    };
    buf.truncate(n);
    Ok(buf)
}

/// Cost of the RFC 7292 appendix B KDF in hash blocks: one per iteration and output block.
fn pkcs12_kdf_cost(iterations: u64, blocks: u64) -> u64 {
    budget::HASH_BLOCK.saturating_mul(iterations.saturating_mul(blocks))
}
