//! Issue 6, end to end on a real process: a python child holds a JWT, a connection string
//! with a password, an AWS key pair, an Azure storage connection string and a GitHub token,
//! each in ASCII and in UTF-16LE. It is dumped with gcore (ELF core), with minidump-writer and
//! as a Windows-style full-memory minidump. Every secret must be found with its exact
//! fingerprint (SHA-256 of the token text) in both encodings, and no output may contain any
//! of them in any encoding.
//!
//! All tokens are TEST VALUES generated per run: random, format-valid (checksums computed
//! here), never issued by any service.

use crate::common;

use base64::Engine;
use common::Holder;
use dumpguard::report::{Finding, Report};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Read;

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    b
}

const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_from(alphabet: &[u8], n: usize) -> String {
    random(n)
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

fn fingerprint(s: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(s.as_bytes())))
}

/// The secrets a run plants (test values).
struct Secrets {
    jwt: String,
    password: String,
    aws_id: String,
    aws_account: u64,
    aws_secret: String,
    azure_key: String,
    github: String,
    /// The texts the process holds (ASCII; each is also held as UTF-16LE).
    texts: Vec<String>,
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// An AWS access key id whose account id decodes to `account` (new format: top bit set).
fn aws_key_id(account: u64) -> String {
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let r = random(2);
    let v48 = (1u64 << 47) | (account << 7) | (r[0] as u64 & 0x7f);
    let bits50 = (v48 << 2) | (r[1] as u64 & 3);
    let digits: String = (0..10)
        .map(|i| B32[((bits50 >> (5 * (9 - i))) & 31) as usize] as char)
        .collect();
    format!("AKIA{digits}{}", random_from(B32, 2) + "TEST")
}

fn github_token() -> String {
    let body = random_from(B62, 30);
    let mut v = crc32fast::hash(body.as_bytes()) as u64;
    let mut check = [b'0'; 6];
    for c in check.iter_mut().rev() {
        *c = B62[(v % 62) as usize];
        v /= 62;
    }
    format!("ghp_{body}{}", String::from_utf8_lossy(&check))
}

fn secrets() -> Secrets {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let kid = hex::encode(random(4));
    let jwt = format!(
        "{}.{}.{}",
        b64url(format!(r#"{{"alg":"RS256","kid":"test-{kid}","typ":"JWT"}}"#).as_bytes()),
        b64url(
            format!(
                r#"{{"iss":"https://issuer.test.dumpguard.invalid","aud":"api://dumpguard-test","exp":{},"sub":"test-{}"}}"#,
                now + 365 * 86400,
                hex::encode(random(6))
            )
            .as_bytes()
        ),
        b64url(&random(256))
    );
    let password = format!("TEST-{}", random_from(B62, 20));
    let aws_account =
        100_000_000_000 + u64::from_le_bytes(random(8).try_into().unwrap()) % 899_999_999_999;
    let aws_id = aws_key_id(aws_account);
    let aws_secret = random_from(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        40,
    );
    let azure_key = base64::engine::general_purpose::STANDARD.encode(random(64));
    let github = github_token();
    let texts = vec![
        format!("GET /v1/orders HTTP/1.1\r\nHost: api.test.internal\r\nAuthorization: Bearer {jwt}\r\n\r\n"),
        format!("Server=sql01.test.internal;Database=Orders;User Id=svc_test;Password={password};Encrypt=True"),
        format!("[default]\naws_access_key_id = {aws_id}\naws_secret_access_key = {aws_secret}\nregion = eu-west-1\n"),
        format!("DefaultEndpointsProtocol=https;AccountName=dgtest{};AccountKey={azure_key};EndpointSuffix=core.windows.net", hex::encode(random(3))),
        format!("GITHUB_TOKEN={github}\n"),
    ];
    Secrets {
        jwt,
        password,
        aws_id,
        aws_account,
        aws_secret,
        azure_key,
        github,
        texts,
    }
}

fn spawn(s: &Secrets) -> Holder {
    let mut blobs = Vec::new();
    for t in &s.texts {
        blobs.push(t.as_bytes().to_vec());
        blobs.push(common::utf16le(t.as_bytes()));
    }
    Holder::spawn(&blobs)
}

/// The one finding of this secret, found in both encodings.
fn found<'a>(r: &'a Report, what: &str, secret: &str, kind: &str) -> &'a Finding {
    let fp = fingerprint(secret);
    let matching: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.fingerprint.as_deref() == Some(fp.as_str()))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "{what}: expected exactly one finding with fingerprint {fp} in {}",
        r.input.path
    );
    let f = matching[0];
    assert_eq!(f.kind, kind, "{what}");
    let encodings: BTreeSet<&str> = if f.locations.is_empty() {
        [f.encoding.as_str()].into()
    } else {
        f.locations.iter().map(|l| l.encoding.as_str()).collect()
    };
    assert!(
        encodings.contains("ascii") && encodings.contains("utf16le"),
        "{what}: seen in {encodings:?} in {}",
        r.input.path
    );
    assert!(f.occurrences >= 2, "{what}");
    assert!(f.occurrences as usize >= f.locations.len());
    f
}

fn check_report(r: &Report, s: &Secrets) {
    let jwt = found(r, "JWT", &s.jwt, "jwt");
    assert!(jwt.verified);
    let a = &jwt.token.as_ref().unwrap().attributes;
    assert_eq!(a["alg"], "RS256");
    assert_eq!(a["iss"], "https://issuer.test.dumpguard.invalid");
    assert_eq!(a["aud"], "api://dumpguard-test");
    assert_eq!(a["expired"], "false");

    let pw = found(r, "password", &s.password, "password");
    let a = &pw.token.as_ref().unwrap().attributes;
    assert_eq!(a["user"], "svc_test");
    assert_eq!(a["host"], "sql01.test.internal");

    let id = found(r, "AWS key id", &s.aws_id, "aws-access-key-id");
    let account = format!("{:012}", s.aws_account);
    assert_eq!(id.token.as_ref().unwrap().attributes["account_id"], account);
    let sk = found(r, "AWS secret key", &s.aws_secret, "aws-secret-access-key");
    assert_eq!(sk.token.as_ref().unwrap().attributes["account_id"], account);

    let az = found(r, "Azure AccountKey", &s.azure_key, "azure-account-key");
    assert!(az.token.as_ref().unwrap().attributes["account_name"].starts_with("dgtest"));

    let gh = found(r, "GitHub token", &s.github, "github-token");
    assert!(gh.verified);

    for f in [jwt, pw, sk, az, gh] {
        assert!(
            f.severity >= dumpguard::report::Severity::High,
            "{}",
            f.kind
        );
    }
}

fn assert_outputs_clean(outputs: &[Vec<u8>], s: &Secrets) {
    for out in outputs {
        for secret in [
            &s.jwt,
            &s.password,
            &s.aws_id,
            &s.aws_secret,
            &s.azure_key,
            &s.github,
        ] {
            common::assert_no_secret(out, secret.as_bytes());
        }
    }
}

#[test]
fn tokens_in_a_real_process_are_found_in_every_dump_format() {
    let s = secrets();
    let holder = spawn(&s);
    let dumps = [
        ("ELF core", common::gcore(holder.pid)),
        ("minidump", common::minidump(holder.pid)),
        (
            "Windows full minidump",
            common::windows_full_minidump(holder.pid),
        ),
    ];
    drop(holder);
    for (name, d) in &dumps {
        let r = common::scan(d);
        eprintln!("{name}: {} findings", r.findings.len());
        check_report(&r, &s);
        let path = d.path.to_str().unwrap();
        let json = common::cli(&["scan", "--format", "json", path]);
        let human = common::cli(&["scan", path]);
        assert_eq!(json.status.code(), Some(1), "{name}: high findings exit 1");
        assert_outputs_clean(
            &[
                r.to_json(true).into_bytes(),
                dumpguard::report::human::render(&r).into_bytes(),
                json.stdout,
                json.stderr,
                human.stdout,
                human.stderr,
            ],
            &s,
        );
    }
}

#[test]
fn gcp_service_account_json_names_the_account_and_its_key_is_verified() {
    // A service-account key file around a freshly generated key (a test value), as the
    // JSON sits in memory: the PEM's line breaks are JSON-escaped.
    let key = common::fresh_keys().remove(0);
    let pem = String::from_utf8(key.pkcs8_pem.clone())
        .unwrap()
        .replace('\n', "\\n");
    let key_id = hex::encode(random(20));
    let json = format!(
        r#"{{"type": "service_account", "project_id": "dg-test-proj", "private_key_id": "{key_id}", "private_key": "{pem}", "client_email": "dg-test@dg-test-proj.iam.gserviceaccount.com", "client_id": "100000000000000000042"}}"#
    );
    let mut data = vec![0u8; 256];
    data.extend(json.as_bytes());
    data.extend([0u8; 64]);
    data.extend(common::utf16le(json.as_bytes()));
    let r = dumpguard::Scanner::new().scan_bytes("gcp", &data);
    let sa = found(&r, "service account", &key_id, "gcp-service-account");
    let a = &sa.token.as_ref().unwrap().attributes;
    assert_eq!(
        a["client_email"],
        "dg-test@dg-test-proj.iam.gserviceaccount.com"
    );
    assert_eq!(a["project_id"], "dg-test-proj");
    let keys: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.verified && f.fingerprint.as_deref() == Some(key.fingerprint.as_str()))
        .collect();
    assert!(
        keys.iter().any(|f| f.encoding.contains("json-escaped")),
        "the private_key PEM is found and verified by the key detectors: {:#?}",
        r.findings
    );
    let out = r.to_json(false);
    common::assert_no_secret(out.as_bytes(), &key.secret);
    common::assert_no_secret(out.as_bytes(), key_id.as_bytes());
}

#[test]
fn gate_redacts_every_copy_of_a_merged_token() {
    // One finding per token, many occurrences in both encodings: the redacted copy must lose
    // every one of them (the ASCII copies and the UTF-16LE ones), and re-scan clean.
    let s = secrets();
    let mut data = vec![0u8; 4096];
    for i in 0..150 {
        // More ASCII copies than the 100 listed locations, then the UTF-16LE ones.
        data.extend(format!("token{i}={}\n", s.github).bytes());
        data.extend([0u8; 32]);
    }
    for _ in 0..3 {
        data.extend(common::utf16le(
            format!("GITHUB_TOKEN={}\n", s.github).as_bytes(),
        ));
        data.extend(common::utf16le(s.texts[1].as_bytes()));
        data.extend([0u8; 32]);
    }
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("tokens.raw");
    std::fs::write(&dump, &data).unwrap();
    let r = dumpguard::Scanner::new().scan_bytes("tokens", &data);
    let gh = r
        .findings
        .iter()
        .find(|f| f.fingerprint.as_deref() == Some(fingerprint(&s.github).as_str()))
        .unwrap();
    assert_eq!(gh.occurrences, 153);
    assert_eq!(gh.locations.len(), 100);
    assert!(gh.locations.iter().any(|l| l.encoding == "utf16le"));
    let policy = dir.path().join("raw.toml");
    std::fs::write(&policy, "version = 1\n[input]\nallow_raw = true\n").unwrap();
    let out = dir.path().join("tokens.redacted");
    let (copy, o) = common::redacted_copy(
        &dump,
        &out,
        &["--policy", policy.to_str().unwrap()],
        "tokens",
    );
    common::assert_no_secret(&copy, s.github.as_bytes());
    common::assert_no_secret(&copy, s.password.as_bytes());
    let again = dumpguard::Scanner::new().scan_bytes("redacted", &copy);
    assert!(
        again.findings.iter().all(|f| f.token.is_none()),
        "{:?}",
        again.findings
    );
    assert_outputs_clean(&[o.stdout, o.stderr], &s);
}
