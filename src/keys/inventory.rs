//! The known-key inventory (`--known-keys PATH`): public keys the user cares about —
//! certificates (PEM or DER), SubjectPublicKeyInfo / RSA public keys (PEM or DER), JWKS or
//! single JWK JSON, OpenSSH public-key lines. A finding of one of these keys is labelled with
//! its entry ("this dump holds signing key X"), and every RSA modulus drives the raw-memory
//! factor search even when the dump holds no public copy of the key.
//!
//! Only public material is read. Private keys in an inventory file are ignored, never loaded.

use super::{fingerprint, pubkey, Curve};
use crate::encoding::text;
use crate::keys::PublicKeyRecord;
use std::path::{Path, PathBuf};

/// Largest inventory file read (a JWKS or certificate bundle is kilobytes).
const MAX_FILE: u64 = 64 << 20;
/// Longest PEM label read.
const MAX_PEM_LABEL: usize = 59;
/// Longest PEM body followed.
const MAX_PEM_BODY: usize = 64 * 1024;

/// Loads every public key from the given files and directories (recursed, sorted). A named
/// file that holds no usable public key is an error; inside a directory such files are
/// skipped, but a directory that yields nothing at all is an error too.
pub fn load(paths: &[PathBuf]) -> Result<Vec<PublicKeyRecord>, InventoryError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .follow_links(false)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .collect();
            files.sort();
            let before = out.len();
            for f in files {
                if let Ok(mut recs) = load_file(&f) {
                    out.append(&mut recs);
                }
            }
            if out.len() == before {
                return Err(InventoryError::EmptyDirectory { path: p.clone() });
            }
        } else {
            out.append(&mut load_file(p)?);
        }
    }
    Ok(out)
}

/// Public keys in one file, each labelled with the file name.
pub fn load_file(path: &Path) -> Result<Vec<PublicKeyRecord>, InventoryError> {
    let bytes = crate::input::config_file::read_bounded(path, MAX_FILE).map_err(|error| {
        InventoryError::Read {
            path: path.to_path_buf(),
            error,
        }
    })?;
    let recs = parse(&bytes, &path.display().to_string());
    if recs.is_empty() {
        return Err(InventoryError::NoKey {
            path: path.to_path_buf(),
        });
    }
    Ok(recs)
}

/// Why a known-key inventory was refused: a scan must not run with fewer known keys than the
/// user named, since unlabelled findings and a skipped factor search would go unnoticed.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A file could not be read (missing, unreadable, over the size cap).
    #[error("{}: {error}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    /// A named file holds no public key this reader understands.
    #[error(
        "{}: no public key found (expected PEM/DER certificates or public keys, JWKS/JWK JSON, or OpenSSH public keys)",
        path.display()
    )]
    NoKey { path: PathBuf },
    /// A named directory yields no public key from any of its files.
    #[error("{}: no public keys found in directory", path.display())]
    EmptyDirectory { path: PathBuf },
}

/// Public keys in a file's bytes.
pub fn parse(bytes: &[u8], file: &str) -> Vec<PublicKeyRecord> {
    let trimmed = bytes.trim_ascii_start();
    if trimmed.starts_with(b"{") || trimmed.starts_with(b"[") {
        return jwks(bytes, file);
    }
    if text::find(bytes, text::PEM_BEGIN).is_some() {
        return pem_blocks(bytes, file);
    }
    if trimmed.starts_with(b"ssh-") || trimmed.starts_with(b"ecdsa-sha2-") {
        return openssh_lines(bytes, file);
    }
    der(bytes, file).into_iter().collect()
}

fn labelled(mut rec: PublicKeyRecord, file: &str) -> PublicKeyRecord {
    rec.source = format!("{} ({file})", rec.source);
    rec
}

/// One DER structure: certificate, SPKI or PKCS#1 RSAPublicKey.
fn der(der: &[u8], file: &str) -> Option<PublicKeyRecord> {
    let len = super::decode::tlv_len(der)?;
    let der = &der[..len];
    if let Some((rec, _)) = pubkey::from_certificate(der) {
        return Some(labelled(rec, file));
    }
    pubkey::from_spki(der, "public key")
        .or_else(|| pubkey::from_rsa_public_key(der, "RSA public key"))
        .map(|r| labelled(r, file))
}

fn pem_blocks(bytes: &[u8], file: &str) -> Vec<PublicKeyRecord> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = text::find(&bytes[at..], text::PEM_BEGIN) {
        let Some(begin) = text::pem_begin(&bytes[at + i..], MAX_PEM_LABEL) else {
            at += i + text::PEM_BEGIN.len();
            continue;
        };
        let label = begin.label;
        let body_at = at + i + begin.body_start;
        at = body_at;
        let public = matches!(
            label,
            b"CERTIFICATE"
                | b"TRUSTED CERTIFICATE"
                | b"X509 CERTIFICATE"
                | b"PUBLIC KEY"
                | b"RSA PUBLIC KEY"
        );
        if !public {
            continue;
        }
        let body = text::base64_body(&bytes[body_at..], MAX_PEM_BODY);
        if let Some(rec) = text::decode_base64(&body.chars).and_then(|d| der(&d, file)) {
            out.push(rec);
        }
    }
    out
}

fn jwks(bytes: &[u8], file: &str) -> Vec<PublicKeyRecord> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    let keys: Vec<&serde_json::Value> = match &v {
        serde_json::Value::Object(o) => match o.get("keys") {
            Some(serde_json::Value::Array(a)) => a.iter().collect(),
            _ => vec![&v],
        },
        serde_json::Value::Array(a) => a.iter().collect(),
        _ => Vec::new(),
    };
    keys.into_iter()
        .filter_map(|k| pubkey::from_jwk(k, file))
        .collect()
}

/// `ssh-rsa AAAA… comment`, `ssh-ed25519 …`, `ecdsa-sha2-nistp256 …` lines (RFC 4253 §6.6,
/// RFC 5656 §3.1, RFC 8709).
fn openssh_lines(bytes: &[u8], file: &str) -> Vec<PublicKeyRecord> {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let mut out = Vec::new();
    for line in String::from_utf8_lossy(bytes).lines() {
        let mut parts = line.split_whitespace();
        let (Some(kind), Some(b64)) = (parts.next(), parts.next()) else {
            continue;
        };
        let comment: String = parts
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(80)
            .collect();
        let Ok(blob) = STANDARD.decode(b64) else {
            continue;
        };
        let source = if comment.is_empty() {
            format!("{kind} key ({file})")
        } else {
            format!("{kind} key {comment} ({file})")
        };
        if let Some(rec) = ssh_blob(kind, &blob, &source) {
            out.push(rec);
        }
    }
    out
}

fn ssh_blob(kind: &str, blob: &[u8], source: &str) -> Option<PublicKeyRecord> {
    let mut r = SshReader(blob);
    if r.string()? != kind.as_bytes() {
        return None;
    }
    match kind {
        "ssh-rsa" => {
            let e = r.string()?;
            let n = r.string()?;
            pubkey::rsa_record(n, e, source)
        }
        "ssh-ed25519" => {
            let pk: [u8; 32] = r.string()?.try_into().ok()?;
            Some(PublicKeyRecord {
                algorithm: "Ed25519".into(),
                spki: fingerprint::ed25519_spki(&pk)?,
                point: Some(pk.to_vec()),
                source: source.into(),
                ..Default::default()
            })
        }
        k if k.starts_with("ecdsa-sha2-") => {
            let curve = match r.string()? {
                b"nistp256" => Curve::P256,
                b"nistp384" => Curve::P384,
                b"nistp521" => Curve::P521,
                _ => return None,
            };
            let point = r.string()?;
            Some(PublicKeyRecord {
                algorithm: "EC".into(),
                spki: pubkey::ec_spki(curve, point)?,
                point: Some(point.to_vec()),
                source: source.into(),
                ..Default::default()
            })
        }
        _ => None,
    }
}

/// RFC 4251 `string` fields.
struct SshReader<'a>(&'a [u8]);

impl<'a> SshReader<'a> {
    fn string(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(self.0.get(..4)?.try_into().ok()?) as usize;
        let s = self.0.get(4..4usize.checked_add(len)?)?;
        self.0 = &self.0[4 + len..];
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn run(cmd: &str, args: &[&str], dir: &Path) {
        let o = Command::new(cmd)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    fn fp(spki: &[u8]) -> String {
        fingerprint::sha256_fingerprint(spki)
    }

    /// openssl's own fingerprint of a public key file.
    fn openssl_fp(dir: &Path, key: &str) -> String {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl pkey -in {key} -pubout -outform DER | sha256sum"
            ))
            .current_dir(dir)
            .output()
            .unwrap();
        format!(
            "sha256:{}",
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .unwrap()
        )
    }

    #[test]
    fn certificates_public_keys_and_ssh_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "k.pem",
                "-out",
                "c.pem",
                "-days",
                "2",
                "-subj",
                "/CN=token signing test",
            ],
            p,
        );
        run(
            "openssl",
            &["x509", "-in", "c.pem", "-outform", "DER", "-out", "c.der"],
            p,
        );
        run(
            "openssl",
            &["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"],
            p,
        );
        run(
            "openssl",
            &[
                "pkey", "-in", "k.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
            ],
            p,
        );
        run(
            "openssl",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "ec.pem",
            ],
            p,
        );
        run(
            "openssl",
            &["pkey", "-in", "ec.pem", "-pubout", "-out", "ecpub.pem"],
            p,
        );
        run(
            "ssh-keygen",
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "deploy@test",
                "-f",
                "ssh",
            ],
            p,
        );
        let want = openssl_fp(p, "k.pem");
        for f in ["c.pem", "c.der", "pub.pem", "pub.der"] {
            let recs = load_file(&p.join(f)).unwrap();
            assert_eq!(recs.len(), 1, "{f}");
            assert_eq!(fp(&recs[0].spki), want, "{f}");
            assert!(
                recs[0].source.ends_with(&format!("{f})")),
                "{}",
                recs[0].source
            );
        }
        let c = load_file(&p.join("c.pem")).unwrap();
        assert!(
            c[0].source
                .starts_with("CA certificate CN=token signing test"),
            "{}",
            c[0].source
        );
        let ec = load_file(&p.join("ecpub.pem")).unwrap();
        assert_eq!(fp(&ec[0].spki), openssl_fp(p, "ec.pem"));
        let ssh = load_file(&p.join("ssh.pub")).unwrap();
        assert_eq!(ssh[0].algorithm, "Ed25519");
        assert!(ssh[0].source.contains("deploy@test"));
        // A private key file alone is not inventory material.
        assert!(matches!(
            load_file(&p.join("k.pem")),
            Err(InventoryError::NoKey { .. })
        ));
        // A directory: every usable file, the private keys skipped.
        let all = load(&[p.to_path_buf()]).unwrap();
        assert_eq!(
            all.len(),
            6,
            "{:?}",
            all.iter().map(|r| &r.source).collect::<Vec<_>>()
        );
    }

    #[test]
    fn jwks_labels_with_kid() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        run(
            "openssl",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "k.pem",
            ],
            p,
        );
        let script = "import json,base64,sys\nfrom cryptography.hazmat.primitives import serialization as s\nk=s.load_pem_private_key(open('k.pem','rb').read(),None).public_key().public_numbers()\nb=lambda i:base64.urlsafe_b64encode(i.to_bytes((i.bit_length()+7)//8,'big')).rstrip(b'=').decode()\njson.dump({'keys':[{'kty':'RSA','kid':'signing-2021','use':'sig','n':b(k.n),'e':b(k.e)}]},open('jwks.json','w'))\n";
        run("python3", &["-c", script], p);
        let recs = load_file(&p.join("jwks.json")).unwrap();
        assert_eq!(recs.len(), 1);
        assert!(recs[0].source.starts_with("kid signing-2021 ("));
        assert_eq!(fp(&recs[0].spki), openssl_fp(p, "k.pem"));
    }

    #[test]
    fn garbage_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x.bin");
        std::fs::write(&f, [0x30u8, 0x82, 0xff, 0xff, 1, 2, 3]).unwrap();
        assert!(matches!(load_file(&f), Err(InventoryError::NoKey { .. })));
        std::fs::write(&f, b"{\"keys\": [{\"kty\": \"RSA\", \"n\": \"!!\"}]}").unwrap();
        assert!(matches!(load_file(&f), Err(InventoryError::NoKey { .. })));
        assert!(matches!(
            load(&[d.path().join("missing")]),
            Err(InventoryError::Read { .. })
        ));
        assert!(matches!(
            load(&[d.path().to_path_buf()]),
            Err(InventoryError::EmptyDirectory { .. })
        ));
    }
}
