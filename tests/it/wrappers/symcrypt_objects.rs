//! SymCrypt in-memory RSA and EC key objects (Windows CNG's engine), built byte-exact in gen.py
//! from microsoft/SymCrypt `inc/symcrypt_internal.h`, `lib/rsakey.c` and `lib/eckey.c` for
//! x86-64, matching what a process linked with SymCrypt holds (see the ignored test below,
//! which checks that against the real library).

use crate::wrappers::support::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn symcrypt_rsa_and_ec_keys_are_recovered_verified_and_fingerprinted() {
    check_planted("symcrypt");
    for s in samples("symcrypt")
        .iter()
        .filter(|s| s.encoding == "symcrypt-rsakey")
    {
        let r = scan_bytes(&plant(&s.data));
        let f = find(&r, s).unwrap();
        assert!(
            f.verification.contains("from key header"),
            "{}",
            f.verification
        );
        assert!(f.verification.contains("dP, dQ"), "{}", f.verification);
    }
}

#[test]
fn one_bit_corrupted_symcrypt_keys_are_corrupted() {
    check_corrupted("symcrypt");
}

#[test]
fn symcrypt_int_anchor_followed_by_noise_never_verifies() {
    let magics: Vec<&[u8]> = vec![
        b"\x00\x00\x49\x67",
        b"\x00\x00\x49\x67\x04\x00\x00\x00\x20\x01\x00\x00",
        b"\x00\x00\x44\x67\x04\x00\x00\x00\x40\x01\x00\x00\x00\x08\x00\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x00\x00\x49\x67\x04\x00\x00\x00\x20\x01\x00\x00",
    ];
    check_magic_noise(&magics);
}

#[test]
fn symcrypt_keys_in_real_process_dumps() {
    check_real_process(&["symcrypt"]);
}

/// Against the real library: a process linked with SymCrypt imports a fresh RSA-2048 key and
/// generates P-256/P-384/P-521 keys in SymCrypt's own objects; its ELF core and minidump must
/// yield all four, verified, with the fingerprints python `cryptography` computes.
/// Needs a SymCrypt checkout built with CMake (`cmake -S . -B bin -DSYMCRYPT_FIPS_BUILD=OFF &&
/// cmake --build bin`) named by `SYMCRYPT_DIR`: `cargo test --test it -- --ignored wrappers::`.
#[test]
#[ignore = "needs a local SymCrypt build (SYMCRYPT_DIR)"]
fn real_symcrypt_objects_in_process_dumps() {
    let dir =
        std::env::var("SYMCRYPT_DIR").expect("SYMCRYPT_DIR: a SymCrypt checkout built in bin/");
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/wrappers/symcrypt_holder.c"
    );
    let exe = crate::common::scratch().join("symcrypt_holder");
    let lib = format!("{dir}/bin/lib");
    let st = Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&exe)
        .arg(src)
        .arg(format!("-I{dir}/inc"))
        .arg(format!("-I{dir}/bin/inc"))
        .arg(format!("{lib}/libsymcrypt_common.a"))
        .arg(format!("{lib}/symcrypt_posixusermode.a"))
        .arg(format!("{lib}/libsymcrypt_common.a"))
        .arg("-lpthread")
        .status()
        .unwrap();
    assert!(st.success(), "compiling the SymCrypt holder failed");
    // A fresh RSA key: n, p, q as hex for the holder; its fingerprint from cryptography.
    let gen = Command::new("python3")
        .arg("-c")
        .arg(concat!(
            "from cryptography.hazmat.primitives.asymmetric import rsa\n",
            "from cryptography.hazmat.primitives import serialization as s\n",
            "import hashlib\n",
            "k=rsa.generate_private_key(65537,2048); n=k.private_numbers()\n",
            "d=k.public_key().public_bytes(s.Encoding.DER,s.PublicFormat.SubjectPublicKeyInfo)\n",
            "print(n.public_numbers.n.to_bytes(256,'big').hex(), n.p.to_bytes(128,'big').hex(), ",
            "n.q.to_bytes(128,'big').hex(), 'sha256:'+hashlib.sha256(d).hexdigest())\n",
        ))
        .output()
        .unwrap();
    let line = String::from_utf8(gen.stdout).unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    let mut child = Command::new(&exe)
        .args(&f[..3])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut fps = vec![f[3].to_string()];
    for l in BufReader::new(child.stdout.take().unwrap()).lines() {
        let l = l.unwrap();
        if l == "READY" {
            break;
        }
        if l.is_empty() {
            continue;
        }
        // "ECn <hex X‖Y>": the public point, turned into an SPKI fingerprint by cryptography.
        let (c, xy) = l.split_once(' ').unwrap();
        let curve = ["SECP256R1", "SECP384R1", "SECP521R1"][c[2..].parse::<usize>().unwrap()];
        let py = format!(
            "from cryptography.hazmat.primitives.asymmetric import ec\n\
             from cryptography.hazmat.primitives import serialization as s\nimport hashlib\n\
             h='{xy}'; n=len(h)//2\n\
             k=ec.EllipticCurvePublicNumbers(int(h[:n],16),int(h[n:],16),ec.{curve}()).public_key()\n\
             print('sha256:'+hashlib.sha256(k.public_bytes(s.Encoding.DER,s.PublicFormat.SubjectPublicKeyInfo)).hexdigest())"
        );
        let out = Command::new("python3").arg("-c").arg(py).output().unwrap();
        fps.push(String::from_utf8(out.stdout).unwrap().trim().to_string());
    }
    let pid = child.id() as i32;
    let core = crate::common::gcore(pid);
    let mini = crate::common::minidump(pid);
    let _ = child.kill();
    let _ = child.wait();
    for path in [&core, &mini] {
        let r = crate::common::scan(path);
        for fp in &fps {
            assert!(
                r.findings.iter().any(|f| f.verified
                    && f.fingerprint.as_deref() == Some(fp.as_str())
                    && f.detector == "symcrypt"),
                "{fp} not found verified in {}",
                path.display()
            );
        }
    }
}
