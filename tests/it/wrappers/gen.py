"""Builds every key wrapper the wrapper detectors decode, from freshly generated test keys,
with implementations independent of dumpguard (python `cryptography`, and for the byte-exact
Windows blobs the layouts of the Microsoft documents named at each builder).

Prints a JSON list of samples: {name, encoding, status, kind, data (hex), fingerprint,
corrupt (hex: the same encoding with one bit of key material flipped, or null), secret (hex
of a secret number, to check reports never contain it)}. Public-only samples have status
"public" and must give no finding. Every key here is a throwaway test key made per run.
"""

import hashlib
import json
import os
import struct
import sys
import warnings

warnings.filterwarnings("ignore")

from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

SAMPLES = []


def spki_fp(public_key):
    der = public_key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def be(x, n):
    return x.to_bytes(n, "big")


def le(x, n):
    return x.to_bytes(n, "little")


def nbytes(x):
    return (x.bit_length() + 7) // 8


def flip(data, at, bit=0):
    """The same bytes with one bit flipped at offset `at`."""
    b = bytearray(data)
    b[at] ^= 1 << bit
    return bytes(b)


def add(name, encoding, data, fingerprint, status="verified", kind=None, corrupt=None, secret=b"",
        corrupt_status="corrupted"):
    SAMPLES.append(
        {
            "name": name,
            "encoding": encoding,
            "status": status,
            "kind": kind,
            "data": data.hex(),
            "fingerprint": fingerprint,
            "corrupt": corrupt.hex() if corrupt is not None else None,
            "corrupt_status": corrupt_status,
            "secret": secret.hex(),
        }
    )


# ---------------------------------------------------------------------------------------------
# CNG: learn.microsoft.com/windows/win32/api/bcrypt/ns-bcrypt-bcrypt_rsakey_blob
#   BCRYPT_RSAKEY_BLOB {ULONG Magic, BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2}
#   RSAPUBLICBLOB:      PublicExponent[cbPublicExp] Modulus[cbModulus]                (BE)
#   RSAPRIVATEBLOB:     + Prime1[cbPrime1] Prime2[cbPrime2]
#   RSAFULLPRIVATEBLOB: + Exponent1[cbPrime1] Exponent2[cbPrime2] Coefficient[cbPrime1]
#                         PrivateExponent[cbModulus]
# ---------------------------------------------------------------------------------------------
def cng_rsa_blob(key, magic):
    pn = key.private_numbers()
    pub = pn.public_numbers
    bits = pub.n.bit_length()
    cb_e, cb_n, cb_p = nbytes(pub.e), (bits + 7) // 8, (bits + 15) // 16
    private = magic != b"RSA1"
    hdr = magic + struct.pack("<5I", bits, cb_e, cb_n, cb_p if private else 0, cb_p if private else 0)
    body = be(pub.e, cb_e) + be(pub.n, cb_n)
    p_at = len(hdr) + len(body)
    if private:
        body += be(pn.p, cb_p) + be(pn.q, cb_p)
    if magic == b"RSA3":
        body += be(pn.dmp1, cb_p) + be(pn.dmq1, cb_p) + be(pn.iqmp, cb_p) + be(pn.d, cb_n)
    return hdr + body, p_at + cb_p // 2


def cng():
    for magic, enc in ((b"RSA2", "cng-rsaprivate"), (b"RSA3", "cng-rsafullprivate")):
        k = rsa.generate_private_key(65537, 2048)
        blob, mid_p = cng_rsa_blob(k, magic)
        add(f"cng {magic.decode()}", enc, blob, spki_fp(k.public_key()),
            corrupt=flip(blob, mid_p, 3), secret=be(k.private_numbers().p, 128))
    k = rsa.generate_private_key(65537, 2048)
    add("cng RSA1", "cng-rsapublic", cng_rsa_blob(k, b"RSA1")[0], spki_fp(k.public_key()), status="public")

    # learn.microsoft.com/windows/win32/api/bcrypt/ns-bcrypt-bcrypt_ecckey_blob
    #   BCRYPT_ECCKEY_BLOB {ULONG dwMagic, cbKey}; public X[cbKey] Y[cbKey]; private + d[cbKey]
    curves = ((ec.SECP256R1(), 32, b"ECS2", b"ECK2"), (ec.SECP384R1(), 48, b"ECS4", b"ECK4"),
              (ec.SECP521R1(), 66, b"ECS6", b"ECK6"))
    for curve, cb, ecdsa_magic, ecdh_magic in curves:
        for magic in (ecdsa_magic, ecdh_magic):
            k = ec.generate_private_key(curve)
            n = k.private_numbers()
            blob = magic + struct.pack("<I", cb) + be(n.public_numbers.x, cb) + be(n.public_numbers.y, cb) \
                + be(n.private_value, cb)
            add(f"cng {magic.decode()}", "cng-eccprivate", blob, spki_fp(k.public_key()),
                corrupt=flip(blob, 8 + 2 * cb + cb // 2, 5), secret=be(n.private_value, cb))
    k = ec.generate_private_key(ec.SECP256R1())
    n = k.public_key().public_numbers()
    add("cng ECS1", "cng-eccpublic", b"ECS1" + struct.pack("<I", 32) + be(n.x, 32) + be(n.y, 32),
        spki_fp(k.public_key()), status="public")

    # learn.microsoft.com/windows/win32/api/bcrypt/ns-bcrypt-bcrypt_dsa_key_blob
    #   BCRYPT_DSA_KEY_BLOB {ULONG dwMagic, cbKey; UCHAR Count[4], Seed[20], q[20]}
    #   then Modulus[cbKey] Generator[cbKey] Public[cbKey] PrivateExponent[20]   (BE)
    k = dsa.generate_private_key(1024)
    n = k.private_numbers()
    pr = n.public_numbers.parameter_numbers
    blob = b"DSPV" + struct.pack("<I", 128) + b"\0\0\0\x07" + os.urandom(20) + be(pr.q, 20) \
        + be(pr.p, 128) + be(pr.g, 128) + be(n.public_numbers.y, 128) + be(n.x, 20)
    add("cng DSPV", "cng-dsaprivate", blob, spki_fp(k.public_key()),
        corrupt=flip(blob, len(blob) - 10, 1), secret=be(n.x, 20))
    # learn.microsoft.com/windows/win32/api/bcrypt/ns-bcrypt-bcrypt_dsa_key_blob_v2
    #   BCRYPT_DSA_KEY_BLOB_V2 {dwMagic, cbKey, hashAlgorithm, standardVersion, cbSeedLength,
    #   cbGroupSize, Count[4]} then Seed q Modulus Generator Public PrivateExponent[cbGroupSize]
    k = dsa.generate_private_key(2048)
    n = k.private_numbers()
    pr = n.public_numbers.parameter_numbers
    blob = b"DPV2" + struct.pack("<6I", 256, 1, 1, 32, 32, 0)[:20] + b"\0\0\0\x05" + os.urandom(32) \
        + be(pr.q, 32) + be(pr.p, 256) + be(pr.g, 256) + be(n.public_numbers.y, 256) + be(n.x, 32)
    add("cng DPV2", "cng-dsaprivate", blob, spki_fp(k.public_key()),
        corrupt=flip(blob, len(blob) - 300, 6), secret=be(n.x, 32))

    # learn.microsoft.com/windows/win32/api/bcrypt/ns-bcrypt-bcrypt_key_data_blob_header
    #   BCRYPT_KEY_DATA_BLOB_HEADER {dwMagic 'KDBM', dwVersion 1, cbKeyData} then the key
    key = os.urandom(32)
    add("cng KDBM", "cng-keydata", b"KDBM" + struct.pack("<II", 1, 32) + key,
        "sha256:" + hashlib.sha256(key).hexdigest(), status="unverifiable", kind="symmetric-key",
        secret=key)


# ---------------------------------------------------------------------------------------------
# CryptoAPI: learn.microsoft.com/windows/win32/seccrypto/base-provider-key-blobs
#   "Private key BLOBs": PUBLICKEYSTRUC {bType 07, bVersion 02, reserved 0, aiKeyAlg}
#   RSAPUBKEY {magic 'RSA2', bitlen, pubexp}; modulus[bitlen/8] prime1[bitlen/16]
#   prime2[bitlen/16] exponent1 exponent2 coefficient [bitlen/16] privateExponent[bitlen/8], LE
#   "Public key BLOBs": bType 06, 'RSA1', modulus. PLAINTEXTKEYBLOB: learn.microsoft.com/
#   windows/win32/seccrypto/example-c-program--importing-a-plaintext-key: BLOBHEADER, DWORD
#   dwKeySize, BYTE rgbKeyData[].
# ---------------------------------------------------------------------------------------------
def capi():
    for alg, label in ((0xA400, "KEYX"), (0x2400, "SIGN")):
        k = rsa.generate_private_key(65537, 2048)
        pn = k.private_numbers()
        hdr = struct.pack("<BBHI", 7, 2, 0, alg) + b"RSA2" + struct.pack("<II", 2048, 65537)
        body = le(pn.public_numbers.n, 256) + le(pn.p, 128) + le(pn.q, 128) + le(pn.dmp1, 128) \
            + le(pn.dmq1, 128) + le(pn.iqmp, 128) + le(pn.d, 256)
        blob = hdr + body
        add(f"capi PRIVATEKEYBLOB {label}", "capi-privatekeyblob", blob, spki_fp(k.public_key()),
            corrupt=flip(blob, 20 + 256 + 64, 2), secret=be(pn.p, 128))
    k = rsa.generate_private_key(65537, 2048)
    blob = struct.pack("<BBHI", 6, 2, 0, 0xA400) + b"RSA1" + struct.pack("<II", 2048, 65537) \
        + le(k.public_key().public_numbers().n, 256)
    add("capi PUBLICKEYBLOB", "capi-publickeyblob", blob, spki_fp(k.public_key()), status="public")
    key = os.urandom(32)
    blob = struct.pack("<BBHII", 8, 2, 0, 0x6610, 32) + key
    add("capi PLAINTEXTKEYBLOB AES-256", "capi-plaintextkeyblob", blob,
        "sha256:" + hashlib.sha256(key).hexdigest(), status="unverifiable", kind="symmetric-key",
        secret=key)


# ---------------------------------------------------------------------------------------------
# .NET RSA.ToXmlString(true), built by hand from the numbers in the documented element order
# (learn.microsoft.com/dotnet/api/system.security.cryptography.rsa.toxmlstring): Modulus,
# Exponent, P, Q, DP, DQ, InverseQ, D, each base64 of the big-endian value; .NET strings are
# UTF-16LE, config files UTF-8.
# ---------------------------------------------------------------------------------------------
def b64(x, n=None):
    import base64
    return base64.b64encode(be(x, n or nbytes(x))).decode()


def rsa_xml(pn, members=("Modulus", "Exponent", "P", "Q", "DP", "DQ", "InverseQ", "D"), sep=""):
    pub = pn.public_numbers
    half = (pub.n.bit_length() + 15) // 16
    vals = {"Modulus": b64(pub.n), "Exponent": b64(pub.e), "P": b64(pn.p, half), "Q": b64(pn.q, half),
            "DP": b64(pn.dmp1, half), "DQ": b64(pn.dmq1, half), "InverseQ": b64(pn.iqmp, half),
            "D": b64(pn.d, nbytes(pub.n))}
    return "<RSAKeyValue>" + sep + sep.join(f"<{m}>{vals[m]}</{m}>" for m in members) + sep + "</RSAKeyValue>"


def dotnet():
    for enc in ("ascii", "utf16"):
        k = rsa.generate_private_key(65537, 2048)
        pn = k.private_numbers()
        text = rsa_xml(pn, sep="\r\n  " if enc == "ascii" else "")
        bad = rsa_xml(rsa.RSAPrivateNumbers(pn.p ^ (1 << 700), pn.q, pn.d, pn.dmp1, pn.dmq1, pn.iqmp,
                                             pn.public_numbers))
        code = (lambda t: t.encode()) if enc == "ascii" else (lambda t: t.encode("utf-16-le"))
        suffix = "" if enc == "ascii" else "-utf16le"
        add(f"dotnet xml {enc}", "dotnet-xml" + suffix, code(text), spki_fp(k.public_key()),
            corrupt=code(bad), secret=be(pn.p, 128))
    # Partial: modulus, exponent and D only; the primes must be recovered from (n, e, d).
    k = rsa.generate_private_key(65537, 2048)
    add("dotnet xml partial (n, e, D)", "dotnet-xml",
        rsa_xml(k.private_numbers(), ("D", "Exponent", "Modulus")).encode(), spki_fp(k.public_key()),
        secret=be(k.private_numbers().d, 256))
    k = rsa.generate_private_key(65537, 2048)
    add("dotnet xml public", "dotnet-xml", rsa_xml(k.private_numbers(), ("Modulus", "Exponent")).encode(),
        spki_fp(k.public_key()), status="public")


# ---------------------------------------------------------------------------------------------
# JWK (RFC 7517, RFC 7518 §6.2/§6.3, RFC 8037), built by hand from the numbers: base64url
# without padding of big-endian values; EC coordinates and d fixed-length.
# ---------------------------------------------------------------------------------------------
def u(x, n=None):
    import base64
    return base64.urlsafe_b64encode(be(x, n or nbytes(x))).decode().rstrip("=")


def ub(b):
    import base64
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def rsa_jwk(pn, kid, members=("n", "e", "d", "p", "q", "dp", "dq", "qi")):
    pub = pn.public_numbers
    vals = {"n": u(pub.n), "e": u(pub.e), "d": u(pn.d), "p": u(pn.p), "q": u(pn.q), "dp": u(pn.dmp1),
            "dq": u(pn.dmq1), "qi": u(pn.iqmp)}
    j = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256"}
    j.update({m: vals[m] for m in members})
    return j


def ec_jwk(k, crv, cb):
    n = k.private_numbers()
    return {"crv": crv, "d": u(n.private_value, cb), "x": u(n.public_numbers.x, cb),
            "y": u(n.public_numbers.y, cb), "kty": "EC"}


def dump(obj, style):
    """JSON text in a few styles: compact, spread over lines, and members shuffled."""
    if style == "pretty":
        return json.dumps(obj, indent=3)
    if style == "shuffled":
        items = list(obj.items())
        items.reverse()
        return "{ " + " ,\n\t".join(f'"{k}" :  {json.dumps(v)}' for k, v in items) + " }"
    return json.dumps(obj, separators=(",", ":"))


def jwk():
    from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
    raw = (ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption())
    k = rsa.generate_private_key(65537, 2048)
    pn = k.private_numbers()
    good = rsa_jwk(pn, "rsa-test-kid-1")
    bad = dict(good, p=u(pn.p ^ (1 << 333)))
    for style, enc in (("compact", "ascii"), ("shuffled", "ascii"), ("pretty", "utf16")):
        code = (lambda t: t.encode()) if enc == "ascii" else (lambda t: t.encode("utf-16-le"))
        add(f"jwk rsa {style} {enc}", "jwk" + ("" if enc == "ascii" else "-utf16le"), code(dump(good, style)),
            spki_fp(k.public_key()), corrupt=code(dump(bad, style)), secret=be(pn.p, 128))
    # JSON-escaped inside another JSON document's string value.
    inner = json.dumps(good, separators=(",", ":"))
    add("jwk rsa json-escaped", "jwk-json-escaped", json.dumps({"config": inner}).encode(),
        spki_fp(k.public_key()), secret=be(pn.p, 128))
    # Partial RSA: n, e, d only.
    k2 = rsa.generate_private_key(65537, 2048)
    add("jwk rsa partial (n, e, d)", "jwk", dump(rsa_jwk(k2.private_numbers(), "p", ("n", "e", "d")), "compact").encode(),
        spki_fp(k2.public_key()), secret=be(k2.private_numbers().d, 256))
    for curve, crv, cb in ((ec.SECP256R1(), "P-256", 32), (ec.SECP384R1(), "P-384", 48),
                           (ec.SECP521R1(), "P-521", 66), (ec.SECP256K1(), "secp256k1", 32)):
        k = ec.generate_private_key(curve)
        j = ec_jwk(k, crv, cb)
        d = k.private_numbers().private_value
        add(f"jwk ec {crv}", "jwk", dump(j, "pretty").encode(), spki_fp(k.public_key()),
            corrupt=dump(dict(j, d=u(d ^ (1 << 100), cb)), "pretty").encode(), secret=be(d, cb))
    k = ed25519.Ed25519PrivateKey.generate()
    seed, pk = k.private_bytes(*raw), k.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    j = {"kty": "OKP", "crv": "Ed25519", "x": ub(pk), "d": ub(seed), "kid": "ed"}
    add("jwk okp Ed25519", "jwk", dump(j, "compact").encode(), spki_fp(k.public_key()),
        corrupt=dump(dict(j, d=ub(flip(seed, 7, 0))), "compact").encode(), secret=seed)
    k = x25519.X25519PrivateKey.generate()
    sk, pk = k.private_bytes(*raw), k.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    j = {"kty": "OKP", "crv": "X25519", "x": ub(pk), "d": ub(sk)}
    add("jwk okp X25519", "jwk", dump(j, "shuffled").encode(), spki_fp(k.public_key()),
        corrupt=dump(dict(j, d=ub(flip(sk, 20, 3))), "shuffled").encode(), secret=sk)
    # A JWKS with two private keys: both must be found.
    ka, kb = rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP256R1())
    jwks = json.dumps({"keys": [rsa_jwk(ka.private_numbers(), "a"), dict(ec_jwk(kb, "P-256", 32), kid="b")]})
    add("jwks member rsa", "jwk", jwks.encode(), spki_fp(ka.public_key()))
    add("jwks member ec", "jwk", b"", spki_fp(kb.public_key()))
    SAMPLES[-1]["data"] = SAMPLES[-2]["data"]
    key = os.urandom(32)
    add("jwk oct", "jwk", json.dumps({"kty": "oct", "alg": "HS256", "k": ub(key)}).encode(),
        "sha256:" + hashlib.sha256(key).hexdigest(), status="unverifiable", kind="symmetric-key", secret=key)
    k = rsa.generate_private_key(65537, 2048)
    add("jwk rsa public", "jwk", dump(rsa_jwk(k.private_numbers(), "pub", ("n", "e")), "compact").encode(),
        spki_fp(k.public_key()), status="public")


# ---------------------------------------------------------------------------------------------
# OpenSSH and PuTTY key files, made by ssh-keygen and puttygen; fingerprints from the public
# key files they write, converted to SPKI by python `cryptography`.
# ---------------------------------------------------------------------------------------------
import atexit
import base64
import shutil
import subprocess
import tempfile

# Scratch for the key files the tools write (test keys, but key files all the same): removed
# when the generator exits.
TMP = tempfile.mkdtemp(prefix="dumpguard-gen-")
atexit.register(shutil.rmtree, TMP, ignore_errors=True)


def run(*cmd, stdin=None):
    subprocess.run(cmd, check=True, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ssh_pub_fp(text):
    return spki_fp(ser.load_ssh_public_key(text))


def flip_inside(blob, secret, bit=4):
    """Flips one bit in the middle of the first copy of `secret` inside `blob`."""
    at = blob.find(secret)
    assert at >= 0, "secret not found in blob"
    return flip(blob, at + len(secret) // 2, bit)


def key_secret(priv):
    """Bytes of a secret number of a loaded private key (to locate and to leak-check)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519
    if isinstance(priv, rsa.RSAPrivateKey):
        return be(priv.private_numbers().p, nbytes(priv.private_numbers().p))
    if isinstance(priv, ec.EllipticCurvePrivateKey):
        v = priv.private_numbers().private_value
        return be(v, nbytes(v))
    if isinstance(priv, ed25519.Ed25519PrivateKey):
        return priv.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption())
    if isinstance(priv, dsa.DSAPrivateKey):
        x = priv.private_numbers().x
        return be(x, nbytes(x))
    raise ValueError(priv)


def armor(label, der):
    b = base64.b64encode(der).decode()
    lines = "\n".join(b[i:i + 70] for i in range(0, len(b), 70))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n".encode()


def openssh():
    for i, (t, extra) in enumerate((("rsa", ["-b", "2048"]), ("ed25519", []), ("ecdsa", ["-b", "256"]),
                                    ("ecdsa", ["-b", "384"]), ("ecdsa", ["-b", "521"]))):
        path = f"{TMP}/ssh{i}"
        run("ssh-keygen", "-q", "-t", t, *extra, "-N", "", "-C", "test-key", "-f", path)
        pem = open(path, "rb").read()
        fp = ssh_pub_fp(open(path + ".pub", "rb").read())
        priv = ser.load_ssh_private_key(pem, None)
        secret = key_secret(priv)
        body = b"".join(pem.splitlines()[1:-1])
        binary = base64.b64decode(body)
        bad = flip_inside(binary, secret)
        name = f"openssh {t} {' '.join(extra)}".strip()
        add(name + " pem", "pem", pem, fp, corrupt=armor("OPENSSH PRIVATE KEY", bad), secret=secret)
        add(name + " binary", "openssh-key-v1", binary, fp, corrupt=bad, secret=secret)
        if i == 0:
            add(name + " bare base64", "base64-openssh", body, fp, secret=secret)
            add(name + " pem utf16", "pem-utf16le", pem.decode().encode("utf-16-le"), fp, secret=secret)
    # Encrypted: reported with cipher and KDF, fingerprint of the public key, never verified.
    path = f"{TMP}/sshenc"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "correct horse", "-C", "enc", "-f", path)
    add("openssh ed25519 encrypted", "pem", open(path, "rb").read(),
        ssh_pub_fp(open(path + ".pub", "rb").read()), status="encrypted")
    # A public-key line is a pairing record, never a finding.
    path = f"{TMP}/sshpub"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pub", "-f", path)
    add("openssh public line", "openssh-public", open(path + ".pub", "rb").read(),
        ssh_pub_fp(open(path + ".pub", "rb").read()), status="public")


def putty():
    empty = f"{TMP}/empty"
    open(empty, "w").close()
    pw = f"{TMP}/pw"
    open(pw, "w").write("correct horse\n")
    specs = (("rsa", ["-b", "2048"], "3"), ("rsa", ["-b", "2048"], "2"), ("ed25519", [], "3"),
             ("ecdsa", ["-b", "256"], "3"), ("ecdsa", ["-b", "384"], "2"), ("dsa", ["-b", "1024"], "3"))
    for i, (t, extra, version) in enumerate(specs):
        path = f"{TMP}/putty{i}.ppk"
        run("puttygen", "-q", "-t", t, *extra, "-C", "test-key", "--new-passphrase", empty,
            "--ppk-param", f"version={version}", "-o", path)
        run("puttygen", path, "-O", "public-openssh", "-o", path + ".pub")
        run("puttygen", path, "-O", "private-openssh-new", "-o", path + ".openssh", "--new-passphrase", empty)
        fp = ssh_pub_fp(open(path + ".pub", "rb").read())
        priv = ser.load_ssh_private_key(open(path + ".openssh", "rb").read(), None)
        secret = key_secret(priv)
        text = open(path, "rb").read()
        lines = text.decode().split("\n")
        at = next(j for j, l in enumerate(lines) if l.startswith("Private-Lines: "))
        m = int(lines[at].split(": ")[1])
        blob = base64.b64decode("".join(lines[at + 1:at + 1 + m]))
        bad_blob = flip_inside(blob, secret, 2)
        b = base64.b64encode(bad_blob).decode()
        bad_lines = [b[j:j + 64] for j in range(0, len(b), 64)]
        bad = "\n".join(lines[:at] + [f"Private-Lines: {len(bad_lines)}"] + bad_lines + lines[at + 1 + m:])
        name = f"putty v{version} {t} {' '.join(extra)}".strip()
        add(name, "putty-ppk", text, fp, corrupt=bad.encode(), secret=secret)
        if i == 0:
            add(name + " utf16 crlf", "putty-ppk-utf16le", text.decode().replace("\n", "\r\n").encode("utf-16-le"),
                fp, secret=secret)
    path = f"{TMP}/puttyenc.ppk"
    run("puttygen", "-q", "-t", "ed25519", "-C", "enc", "--new-passphrase", pw, "-o", path)
    run("puttygen", path, "-O", "public-openssh", "-o", path + ".pub")
    add("putty v3 ed25519 encrypted", "putty-ppk", open(path, "rb").read(),
        ssh_pub_fp(open(path + ".pub", "rb").read()), status="encrypted")


# ---------------------------------------------------------------------------------------------
# OpenPGP secret keys made by gpg (temporary GNUPGHOME, empty passphrase). Primary-key
# fingerprints come from `gpg --export-ssh-key KEYID!` read by python `cryptography`; the
# cv25519 subkey's from its public packet (RFC 6637 / draft-koch point 0x40 ‖ u) via
# `cryptography`'s X25519 SPKI.
# ---------------------------------------------------------------------------------------------
def pgp():
    home = tempfile.mkdtemp(prefix="gpg-", dir=TMP)
    env = dict(os.environ, GNUPGHOME=home)

    def gpg(*args, stdin=None):
        return subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *args],
                              check=True, env=env, input=stdin, capture_output=True).stdout

    def keyids(uid):
        out = gpg("--with-colons", "--list-secret-keys", uid).decode().splitlines()
        return [l.split(":")[4] for l in out if l.startswith(("sec:", "ssb:"))]

    def ssh_fp(keyid):
        return ssh_pub_fp(gpg("--export-ssh-key", keyid + "!"))

    try:
        gpg("--quick-gen-key", "RSA Test <rsa@example.com>", "rsa2048", "sign", "never")
        prim, = keyids("rsa@example.com")
        gpg("--quick-add-key", gpg("--with-colons", "--list-keys", "rsa@example.com").decode().split("fpr:::::::::")[1].split(":")[0],
            "rsa2048", "encr", "never")
        prim, sub = keyids("rsa@example.com")
        armored = gpg("--armor", "--comment", "dumpguard test key", "--export-secret-keys", "rsa@example.com")
        binary = gpg("--export-secret-keys", "rsa@example.com")
        fp_prim, fp_sub = ssh_fp(prim), ssh_fp(sub)
        secret = secret_rsa_p(binary)
        add("pgp rsa armored", "pem", armored, fp_prim, secret=secret)
        add("pgp rsa binary primary", "openpgp", binary, fp_prim, corrupt=flip_inside(binary, secret), secret=secret)
        add("pgp rsa binary subkey", "openpgp", binary, fp_sub)
        bad = flip_inside(binary, secret)
        add("pgp rsa armored corrupted", "pem", armored, fp_prim,
            corrupt=armor_pgp(bad), secret=secret)

        gpg("--quick-gen-key", "Ed Test <ed@example.com>", "ed25519", "sign", "never")
        fpr = gpg("--with-colons", "--list-keys", "ed@example.com").decode().split("fpr:::::::::")[1].split(":")[0]
        gpg("--quick-add-key", fpr, "cv25519", "encr", "never")
        prim, sub = keyids("ed@example.com")
        armored = gpg("--armor", "--export-secret-keys", "ed@example.com")
        binary = gpg("--export-secret-keys", "ed@example.com")
        public = gpg("--export", "ed@example.com")
        from cryptography.hazmat.primitives.asymmetric import x25519
        cv = x25519.X25519PublicKey.from_public_bytes(cv25519_public(public))
        fp_prim = ssh_fp(prim)
        seed = eddsa_seed(binary)
        add("pgp ed25519 armored", "pem", armored, fp_prim, secret=seed)
        add("pgp ed25519 binary primary", "openpgp", binary, fp_prim, corrupt=flip_inside(binary, seed), secret=seed)
        add("pgp cv25519 binary subkey", "openpgp", binary, spki_fp(cv))

        gpg("--quick-gen-key", "EC Test <ec@example.com>", "nistp256", "sign", "never")
        prim, = keyids("ec@example.com")
        binary = gpg("--export-secret-keys", "ec@example.com")
        add("pgp nistp256 binary", "openpgp", binary, ssh_fp(prim))

        # Encrypted: a passphrase-protected key is reported encrypted, fingerprinted by its public key.
        subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "correct horse",
                        "--quick-gen-key", "Enc <enc@example.com>", "ed25519", "sign", "never"],
                       check=True, env=env, capture_output=True)
        prim, = keyids("enc@example.com")
        armored = subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "correct horse",
                                  "--armor", "--export-secret-keys", "enc@example.com"],
                                 check=True, env=env, capture_output=True).stdout
        add("pgp ed25519 encrypted armored", "pem", armored, ssh_fp(prim), status="encrypted")
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)


def mpis_after(data, at, count):
    """Skips `count` OpenPGP MPIs starting at `at`; returns the offset after them."""
    for _ in range(count):
        bits = int.from_bytes(data[at:at + 2], "big")
        at += 2 + (bits + 7) // 8
    return at


def first_packet_body(data, tag):
    """The body of the first packet with `tag` (old or new format headers)."""
    i = 0
    while i < len(data):
        ctb = data[i]
        if ctb & 0x40:
            t, o = ctb & 0x3f, data[i + 1]
            if o < 192:
                h, n = 2, o
            elif o < 224:
                h, n = 3, ((o - 192) << 8) + data[i + 2] + 192
            else:
                h, n = 6, int.from_bytes(data[i + 2:i + 6], "big")
        else:
            t, lt = (ctb >> 2) & 15, ctb & 3
            h = {0: 2, 1: 3, 2: 5}[lt]
            n = int.from_bytes(data[i + 1:i + h], "big")
        if t == tag:
            return data[i + h:i + h + n]
        i += h + n
    raise ValueError("no packet")


def secret_rsa_p(binary):
    body = first_packet_body(binary, 5)
    at = mpis_after(body, 6, 2) + 1  # n, e, S2K usage
    at = mpis_after(body, at, 1)  # d
    bits = int.from_bytes(body[at:at + 2], "big")
    return body[at + 2:at + 2 + (bits + 7) // 8]


def eddsa_seed(binary):
    body = first_packet_body(binary, 5)
    oid_len = body[6]
    at = mpis_after(body, 7 + oid_len, 1) + 1
    bits = int.from_bytes(body[at:at + 2], "big")
    return body[at + 2:at + 2 + (bits + 7) // 8]


def cv25519_public(public):
    body = first_packet_body(public, 14)
    oid_len = body[6]
    at = 7 + oid_len
    bits = int.from_bytes(body[at:at + 2], "big")
    point = body[at + 2:at + 2 + (bits + 7) // 8]
    assert point[0] == 0x40
    return point[1:]


def armor_pgp(binary):
    b = base64.b64encode(binary).decode()
    lines = "\n".join(b[i:i + 64] for i in range(0, len(b), 64))
    return f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{lines}\n-----END PGP PRIVATE KEY BLOCK-----\n".encode()


# ---------------------------------------------------------------------------------------------
# PKCS#12 made by `openssl pkcs12 -export` (OpenSSL 3 defaults: PBES2/PBKDF2/AES-256-CBC,
# SHA-256 MAC; and the legacy SHA1-3DES + SHA-1 MAC that Windows exports use), fingerprints by
# `openssl pkey -pubout -outform DER | sha256sum`.
# ---------------------------------------------------------------------------------------------
SHROUDED_BAG_OID = bytes.fromhex("060b2a864886f70d010c0a0102")


def key_ciphertext_middle(data):
    """Offset of the middle of the shrouded key bag's ciphertext: the first long-form OCTET
    STRING after the bag OID (salt and IV in the algorithm parameters are short-form)."""
    i = data.find(SHROUDED_BAG_OID)
    while i < len(data) - 4:
        if data[i] == 0x04 and data[i + 1] in (0x81, 0x82):
            n = data[i + 2] if data[i + 1] == 0x81 else int.from_bytes(data[i + 2:i + 4], "big")
            if n > 64:
                return i + 2 + (data[i + 1] - 0x80) + n // 2
        i += 1
    raise ValueError("no key ciphertext")


def pkcs12():
    def key_and_cert(kind, path):
        newkey = {"rsa": ["-newkey", "rsa:2048"], "ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]}[kind]
        run("openssl", "req", "-x509", *newkey, "-nodes", "-keyout", path + ".key", "-out", path + ".crt",
            "-days", "2", "-subj", "/CN=dumpguard test")
        der = subprocess.run(["openssl", "pkey", "-in", path + ".key", "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        priv = ser.load_pem_private_key(open(path + ".key", "rb").read(), None)
        return "sha256:" + hashlib.sha256(der).hexdigest(), key_secret(priv)

    specs = (("rsa", "modern", []), ("rsa", "legacy-3des", ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES",
                                                           "-macalg", "sha1"]),
             ("ec", "modern", []), ("rsa", "no-mac", ["-nomac"]))
    for i, (kind, label, extra) in enumerate(specs):
        path = f"{TMP}/p12-{i}"
        fp, secret = key_and_cert(kind, path)
        run("openssl", "pkcs12", "-export", "-inkey", path + ".key", "-in", path + ".crt", "-passout", "pass:",
            *extra, "-out", path + ".p12")
        data = open(path + ".p12", "rb").read()
        bag = data.find(SHROUDED_BAG_OID)
        assert bag > 0
        if label == "modern" and kind == "rsa":
            # A bit flipped in the certificate part: the MAC fails, the key bag still opens and
            # proves the key, so the file is reported corrupted (never verified).
            corrupt, cstatus = flip(data, bag // 2, 1), "corrupted"
        else:
            # A bit flipped in the key bag's ciphertext: CBC garbles one block, so either the
            # bag no longer decodes (encrypted) or it decodes to a key whose numbers disagree
            # (corrupted; 3DES's 8-byte blocks often land in a key number). Never verified.
            corrupt, cstatus = flip(data, key_ciphertext_middle(data), 1), "encrypted|corrupted"
        add(f"pkcs12 {kind} {label} empty password", "pkcs12", data, fp, corrupt=corrupt,
            corrupt_status=cstatus, secret=secret)
    path = f"{TMP}/p12-pw"
    fp, secret = key_and_cert("rsa", path)
    run("openssl", "pkcs12", "-export", "-inkey", path + ".key", "-in", path + ".crt", "-passout", "pass:correct horse",
        "-out", path + ".p12")
    add("pkcs12 rsa with a password", "pkcs12", open(path + ".p12", "rb").read(), None, status="encrypted",
        kind="encrypted-private-key", secret=secret)


# ---------------------------------------------------------------------------------------------
# SymCrypt in-memory RSA key object, byte-exact per microsoft/SymCrypt inc/symcrypt_internal.h
# (_SYMCRYPT_RSAKEY, _SYMCRYPT_MODULUS, _SYMCRYPT_DIVISOR, _SYMCRYPT_INT; AMD64: digit 64
# bytes, alignment 32) and lib/rsakey.c (SymCryptRsakeyCreate / CreateAllObjects: Modulus,
# prime slots, CRT inverses, private exponents, CRT private exponents), as SymCryptRsakey-
# SetValue leaves it on x86-64. Magic fields are zero (release builds do not set them).
# ---------------------------------------------------------------------------------------------
DIGIT = 64


def sc_int(value, n_digits):
    """SYMCRYPT_INT {type 'gI'<<16, nDigits, cbSize, pad, magic, pad} then LE digits."""
    cb = 32 + DIGIT * n_digits
    return struct.pack("<III", 0x67490000, n_digits, cb) + bytes(20) + le(value, DIGIT * n_digits)


def sc_divisor(value, n_digits):
    """SYMCRYPT_DIVISOR {type 'gD'<<16, nDigits, cbSize, nBits, magic, W} then its INT at +32."""
    cb = 32 + 32 + DIGIT * n_digits
    w = (-pow(value, -1, 1 << 64)) % (1 << 64) if value % 2 else 0
    return struct.pack("<IIII", 0x67440000, n_digits, cb, value.bit_length()) + bytes(8) + struct.pack("<Q", w) \
        + sc_int(value, n_digits)


def sc_modulus(value, n_digits, label=b"Mx", table=0x140):
    """SYMCRYPT_MODULUS {type, nDigits, cbSize, flags, cbModElement, inv64, magic, Rsqr ptr}
    then the DIVISOR at +64, then R^2 mod m and the negated divisor (nDigits digits each)."""
    size = 64 + (64 + DIGIT * n_digits) + 2 * DIGIT * n_digits
    r = 1 << (8 * DIGIT * n_digits)
    ty = (int.from_bytes(label, "little") << 16) | table
    inv64 = pow(value, -1, 1 << 64)
    hdr = struct.pack("<IIIII", ty, n_digits, size, 0, DIGIT * n_digits) + bytes(4) + struct.pack("<Q", inv64) \
        + bytes(8) + struct.pack("<Q", 0x00007ff6_1234_5000)
    hdr += bytes(64 - len(hdr))
    body = hdr + sc_divisor(value, n_digits) + le(r * r % value, DIGIT * n_digits) + le(r - value, DIGIT * n_digits)
    assert len(body) == size
    return body


def digits(bits):
    return (bits + 8 * DIGIT - 1) // (8 * DIGIT)


def sc_rsakey(key):
    pn = key.private_numbers()
    n, e = pn.public_numbers.n, pn.public_numbers.e
    nd, pd = digits(n.bit_length()), digits(pn.p.bit_length())
    mod_slot = len(sc_modulus(n, nd))
    int_slot = 32 + DIGIT * nd
    elem = DIGIT * nd
    base = 0x000001d2_3c4a_0000
    off_mod = 192
    off_p = off_mod + mod_slot
    off_q = off_p + mod_slot
    off_inv = off_q + mod_slot
    off_d = off_inv + 2 * elem
    off_dp = off_d + int_slot
    off_dq = off_dp + int_slot
    total = off_dq + int_slot
    hdr = struct.pack("<II", 0x1f, total) + b"\x01\0\0\0" + struct.pack(
        "<IIIII", n.bit_length(), n.bit_length(), nd, 1, 2) + struct.pack(
        "<IIIII", pn.p.bit_length(), pn.q.bit_length(), pd, pd, pd) + bytes(4) + struct.pack("<Q", e)
    ptrs = [off_p, off_q, off_inv, off_inv + elem, off_d, off_dp, off_dq,  # pb* buffers
            off_mod, off_p, off_q, off_inv, off_inv + elem, off_d, off_dp, off_dq]  # objects
    hdr += b"".join(struct.pack("<Q", base + o) for o in ptrs) + bytes(8)
    assert len(hdr) == 192, len(hdr)

    def slot(obj, size):
        return obj + bytes(size - len(obj))

    rp = 1 << (8 * DIGIT * pd)
    blob = hdr + sc_modulus(n, nd) + slot(sc_modulus(pn.p, pd), mod_slot) + slot(sc_modulus(pn.q, pd), mod_slot) \
        + slot(le(pn.iqmp * rp % pn.p, DIGIT * pd), elem) + slot(le(pow(pn.p, -1, pn.q) * rp % pn.q, DIGIT * pd), elem) \
        + sc_int(pn.d, nd) + slot(sc_int(pn.dmp1, pd), int_slot) + slot(sc_int(pn.dmq1, pd), int_slot)
    assert len(blob) == total
    return blob, off_d + 32 + 40


# SYMCRYPT_ECKEY (lib/eckey.c SymCryptEckeyCreate: ECKEY ‖ public ECPOINT ‖ private INT) as
# observed in a process linked with SymCrypt 103.10 on x86-64: 64-byte ECKEY header, 32-byte
# ECPOINT header, Jacobian X, Y, Z in Montgomery form (P-256: 64-byte elements, R = 2^256;
# P-384: 64, 2^384; P-521: 128, 2^576), then the private INT.
EC_LAYOUT = {"P-256": (ec.SECP256R1(), 2**256 - 2**224 + 2**192 + 2**96 - 1, 64, 256, 1),
             "P-384": (ec.SECP384R1(), 2**384 - 2**128 - 2**96 + 2**32 - 1, 64, 384, 1),
             "P-521": (ec.SECP521R1(), 2**521 - 1, 128, 576, 2)}


def sc_eckey(name):
    curve, p, elem, rbits, nd = EC_LAYOUT[name]
    k = ec.generate_private_key(curve)
    n = k.private_numbers()
    x, y, d = n.public_numbers.x, n.public_numbers.y, n.private_value
    z = int.from_bytes(os.urandom(elem), "little") % (p - 1) + 1
    mont = lambda v: v * (1 << rbits) % p  # noqa: E731
    coords = [mont(x * z * z % p), mont(y * z * z * z % p), mont(z)]
    base, curve_ptr = 0x00005586_a18b_b140, 0x00005586_a18b_c740
    cb_point = 32 + 3 * elem
    eckey = struct.pack("<IB3xQQQQ", 0x1100, 1, curve_ptr, base + 64, base + 64 + cb_point, 0)
    eckey += bytes(64 - len(eckey))
    point = struct.pack("<B7xQQ", 0, curve_ptr, 0) + bytes(8) + b"".join(le(c, elem) for c in coords)
    blob = eckey + point + sc_int(d, nd)
    return k, blob, len(eckey) + len(point) + 32 + 5


def symcrypt():
    for name in EC_LAYOUT:
        k, blob, d_at = sc_eckey(name)
        v = k.private_numbers().private_value
        add(f"symcrypt eckey {name}", "symcrypt-eckey", blob, spki_fp(k.public_key()),
            corrupt=flip(blob, d_at, 2), secret=be(v, nbytes(v)))
    for bits in (2048, 3072, 4096):
        k = rsa.generate_private_key(65537, bits)
        blob, d_at = sc_rsakey(k)
        add(f"symcrypt rsakey {bits}", "symcrypt-rsakey", blob, spki_fp(k.public_key()),
            corrupt=flip(blob, d_at, 3), secret=be(k.private_numbers().p, nbytes(k.private_numbers().p)))


def partial():
    """Partial RSA keys with no modulus in their own structure, each preceded by its public key
    (status "public"): the test plants the partial alone (unverifiable) and with the public key
    (verified, n taken from it)."""
    for name, build in (
        (".NET XML with P only", lambda pn: rsa_xml(pn, ("Exponent", "P")).encode()),
        (".NET XML with D only, UTF-16LE", lambda pn: rsa_xml(pn, ("D",)).encode("utf-16-le")),
        ("JWK with d only", lambda pn: dump(rsa_jwk(pn, "partial-d", ("e", "d")), "compact").encode()),
        ("JWK with dp only", lambda pn: dump(rsa_jwk(pn, "partial-dp", ("e", "dp")), "pretty").encode()),
    ):
        k = rsa.generate_private_key(65537, 2048)
        pn = k.private_numbers()
        pem = k.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
        add(f"public key for {name}", "pem", pem, spki_fp(k.public_key()), status="public")
        enc = "dotnet-xml-utf16le" if "UTF-16" in name else ("jwk" if "JWK" in name else "dotnet-xml")
        add(name, enc, build(pn), spki_fp(k.public_key()), secret=be(pn.d, 256))


GROUPS = {"partial": partial, "cng": cng, "capi": capi, "dotnet": dotnet, "jwk": jwk, "openssh": openssh, "putty": putty, "pgp": pgp,
          "pkcs12": pkcs12, "symcrypt": symcrypt}

if __name__ == "__main__":
    for g in sys.argv[1:] or GROUPS:
        GROUPS[g]()
    json.dump(SAMPLES, sys.stdout)
