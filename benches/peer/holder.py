"""A python process shaped like the one in issue #14, for the peer benchmark (bench-peer.py).

It holds large text, random buffers, copies of shared libraries and many small objects, and
three fresh RSA keys: one as PEM, one as a CNG 'RSA2' blob, one only as OpenSSL BIGNUMs
(a `cryptography` key object that was never serialised). It prints one JSON line with the
keys' SPKI fingerprints (`openssl pkey -pubout -outform DER | sha256sum`, computed here with
hashlib) and then READY, and sleeps until killed. Keys are generated per run: no secret is
ever stored.
"""

import glob
import hashlib
import json
import os
import sys
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MIB = 1 << 20
scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def fingerprint(key):
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def be(x, n=None):
    n = n or (x.bit_length() + 7) // 8
    return x.to_bytes(n, "big")


def cng_rsa2(key):
    """BCRYPT_RSAKEY_BLOB, magic 'RSA2': header (LE) then e, n, p, q big-endian."""
    pn = key.private_numbers()
    pub = pn.public_numbers
    e, n, p, q = be(pub.e), be(pub.n), be(pn.p), be(pn.q)
    head = b"RSA2" + b"".join(
        v.to_bytes(4, "little") for v in (pub.n.bit_length(), len(e), len(n), len(p), len(q))
    )
    return head + e + n + p + q


# Text: word-like ASCII lines, every MiB different (random bytes mapped onto letters).
table = bytes((b"abcdefghijklmnopqrstuvwxyz" * 10)[i] if i < 230 else (32 if i < 252 else 10) for i in range(256))
text = [os.urandom(MIB).translate(table) for _ in range(int(420 * scale))]
# High-entropy buffers (compressed or encrypted data, key material of other kinds).
random_bufs = [os.urandom(MIB) for _ in range(int(464 * scale))]
# Copies of shared libraries, as loaded plugins and caches hold them.
libs, total = [], 0
for path in sorted(glob.glob("/usr/lib/x86_64-linux-gnu/*.so*")):
    if total >= 300 * scale * MIB:
        break
    try:
        with open(path, "rb") as f:
            b = f.read(int(300 * scale * MIB) - total)
    except OSError:
        continue
    libs.append(b)
    total += len(b)
# Many small objects (a pointer-heavy heap).
objects = [{"id": i, "name": "user%d" % i, "score": i * 1.5, "tags": (i, str(i))} for i in range(int(600_000 * scale))]

k_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048)
k_cng = rsa.generate_private_key(public_exponent=65537, key_size=2048)
k_bn = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = k_pem.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
blob = cng_rsa2(k_cng)
keys = {
    "pem": fingerprint(k_pem),
    "cng": fingerprint(k_cng),
    "bignum": fingerprint(k_bn),
}
print(json.dumps(keys), flush=True)
print("READY", flush=True)
while True:
    time.sleep(60)
