#!/usr/bin/env python3
"""Seed corpora for the dumpguard fuzz targets.

Writes fuzz/corpus/<target>/ (git-ignored): small generated minidumps, ELF cores (64-bit LE,
32-bit BE, PN_XNUM), LiME images, raw images with region indexes, DER keys of every supported
kind, PEM/base64 text in ASCII and UTF-16LE, and the public sample minidumps under 128 KiB
with truncated copies. Every key is generated fresh by python3 `cryptography` (test keys,
never committed). Usage: python3 fuzz/gen_corpus.py [OUTDIR]
"""

import hashlib
import json
import os
import struct
import sys

from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa, x25519

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
SAMPLES = os.path.join(HERE, "..", "..", "shared", "sample-dumps", "public")
if not os.path.isdir(SAMPLES):
    SAMPLES = "/work/shared/sample-dumps/public"


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- keys (fresh test keys)

def keys():
    """(name, DER, PEM) of one fresh test key per supported structure."""
    out = []
    r = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    e256 = ec.generate_private_key(ec.SECP256R1())
    e384 = ec.generate_private_key(ec.SECP384R1())
    e521 = ec.generate_private_key(ec.SECP521R1())
    k1 = ec.generate_private_key(ec.SECP256K1())
    ed = ed25519.Ed25519PrivateKey.generate()
    xk = x25519.X25519PrivateKey.generate()
    d = dsa.generate_private_key(key_size=1024)
    P8, TL, DER, PEM = ser.PrivateFormat.PKCS8, ser.PrivateFormat.TraditionalOpenSSL, \
        ser.Encoding.DER, ser.Encoding.PEM
    none = ser.NoEncryption()
    for name, k, fmt in [
        ("rsa-pkcs1", r, TL), ("rsa-pkcs8", r, P8),
        ("p256-sec1", e256, TL), ("p256-pkcs8", e256, P8),
        ("p384-sec1", e384, TL), ("p521-pkcs8", e521, P8),
        ("k1-sec1", k1, TL), ("ed25519", ed, P8), ("x25519", xk, P8),
        ("dsa-openssl", d, TL), ("dsa-pkcs8", d, P8),
    ]:
        out.append((name, k.private_bytes(DER, fmt, none), k.private_bytes(PEM, fmt, none)))
    enc = ser.BestAvailableEncryption(b"fuzz-test-password")
    out.append(("p256-encrypted", e256.private_bytes(DER, P8, enc),
                e256.private_bytes(PEM, P8, enc)))
    legacy = r.private_bytes(PEM, TL, ser.BestAvailableEncryption(b"pw"))
    out.append(("rsa-legacy-encrypted", b"", legacy))
    ssh = ed.private_bytes(PEM, ser.PrivateFormat.OpenSSH, none)
    out.append(("ed25519-openssh", b"", ssh))
    return out


KEYS = keys()
PEM_RSA = next(p for n, _, p in KEYS if n == "rsa-pkcs1")
DER_P256 = next(d for n, d, _ in KEYS if n == "p256-pkcs8")


def utf16(b):
    return b.decode("ascii").encode("utf-16-le")


def text_variants():
    out = []
    for name, der, pem in KEYS:
        if der:
            out.append((f"{name}.der", der))
            body = pem.split(b"\n", 1)[1].rsplit(b"-----END", 1)[0].replace(b"\n", b"")
            out.append((f"{name}.b64", b"KEY=" + body + b"\n"))
        out.append((f"{name}.pem", pem))
        out.append((f"{name}.pem-crlf", pem.replace(b"\n", b"\r\n")))
        out.append((f"{name}.pem-json", b'{"key": "' + pem.replace(b"\n", b"\\n") + b'"}'))
        out.append((f"{name}.pem-utf16", utf16(pem)))
    out.append(("pem-no-end", PEM_RSA[: len(PEM_RSA) // 2]))
    flipped = bytearray(DER_P256)
    flipped[40] ^= 1
    out.append(("p256-bitflip.der", bytes(flipped)))
    return out


# ---------------------------------------------------------------- minidump

class Mdmp:
    """Lays out a minidump: header, directory, then appended blobs."""

    def __init__(self, nstreams):
        self.buf = bytearray(32 + 12 * nstreams)
        self.dir = []

    def add(self, data, align=4):
        while len(self.buf) % align:
            self.buf.append(0)
        rva = len(self.buf)
        self.buf += data
        return rva

    def string(self, s):
        b = s.encode("utf-16-le")
        return self.add(struct.pack("<I", len(b)) + b + b"\0\0")

    def stream(self, kind, data):
        rva = self.add(data)
        self.dir.append((kind, len(data), rva))

    def bytes(self):
        struct.pack_into("<4sIIIIIQ", self.buf, 0, b"MDMP", 0xA793, len(self.dir), 32, 0, 0, 0)
        for i, (k, size, rva) in enumerate(self.dir):
            struct.pack_into("<III", self.buf, 32 + 12 * i, k, size, rva)
        return bytes(self.buf)


def minidump(memory64=False):
    m = Mdmp(9)
    stack = b"\0" * 64 + PEM_RSA[:300] + b"\0" * 64
    heap = b"\x11" * 32 + DER_P256 + b"\x22" * 32
    m.stream(7, struct.pack("<HHHBBIIII", 9, 6, 0, 2, 0, 10, 0, 0, 0x8201) + b"\0" * 32)
    name = m.string("/usr/lib/libfuzz.so")
    mod = struct.pack("<QIIII", 0x7f0000000000, 0x10000, 0, 0, name) + b"\0" * 84
    m.stream(4, struct.pack("<I", 1) + mod)
    tname = m.string("worker")
    m.stream(24, struct.pack("<I", 1) + struct.pack("<IQ", 42, tname))
    ctx = m.add(b"\xcc" * 64)
    if memory64:
        base = 0x10000
        ranges = [(0x7ffd0000, stack), (0x55550000, heap)]
        desc = b"".join(struct.pack("<QQ", a, len(d)) for a, d in ranges)
        hdr_rva = len(m.buf) + (-len(m.buf)) % 4
        data_rva = hdr_rva + 16 + len(desc)
        m.stream(9, struct.pack("<QQ", len(ranges), data_rva) + desc)
        for _, d in ranges:
            m.buf += d
        stack_rva = data_rva
    else:
        stack_rva = m.add(stack)
        heap_rva = m.add(heap)
        m.stream(5, struct.pack("<I", 2) + struct.pack("<QII", 0x7ffd0000, len(stack), stack_rva)
                 + struct.pack("<QII", 0x55550000, len(heap), heap_rva))
    thread = struct.pack("<IIIIQQIIII", 42, 0, 0, 0, 0, 0x7ffd0000, len(stack), stack_rva,
                         64, ctx)
    m.stream(3, struct.pack("<I", 1) + thread)
    maps = (b"55550000-55560000 rw-p 00000000 00:00 0 [heap]\n"
            b"7ffd0000-7ffe0000 rw-p 00000000 00:00 0 [stack]\n"
            b"7f0000000000-7f0000010000 r-xp 00000000 08:01 12 /usr/lib/libfuzz.so\n")
    m.stream(0x47670009, maps)
    m.stream(0x47670007, b"HOME=/root\0PRIVATE_KEY=" + PEM_RSA.replace(b"\n", b"\\n") + b"\0")
    info = struct.pack("<IIQ", 16, 48, 1) + struct.pack("<QQIIQIIII", 0x55550000, 0x55550000,
                                                        4, 0, 0x10000, 0x1000, 4, 0x20000, 0)
    m.stream(16, info)
    return m.bytes()


# ---------------------------------------------------------------- ELF core

def note(owner, ntype, desc, be=False):
    e = ">" if be else "<"
    name = owner + b"\0"
    pad = lambda b: b + b"\0" * ((-len(b)) % 4)
    return struct.pack(e + "III", len(name), len(desc), ntype) + pad(name) + pad(desc)


def elf_core(is64=True, be=False, xnum=False, file_note=True):
    e = ">" if be else "<"
    ehsize, phsize = (64, 56) if is64 else (52, 32)
    prstatus = bytearray(336 if is64 else 144)
    struct.pack_into(e + "I", prstatus, 32, 4242)
    if is64:
        struct.pack_into(e + "Q", prstatus, 112 + 19 * 8, 0x7ffd0010)
    notes = note(b"CORE", 1, bytes(prstatus), be) + note(b"CORE", 3, b"fuzz --key\0" + b"\0" * 60, be)
    if file_note:
        w = "Q" if is64 else "I"
        nt = struct.pack(e + w * 2, 1, 4096) + struct.pack(e + w * 3, 0x400000, 0x401000, 0) \
            + b"/usr/bin/fuzzme\0"
        notes += note(b"CORE", 0x46494C45, nt, be)
    loads = [(0x400000, 5, b"\x7fELF" + b"\0" * 60), (0x602000, 6, b"\0" * 16 + PEM_RSA[:400]),
             (0x7ffd0000, 6, b"\0" * 32 + DER_P256 + b"\0" * 32)]
    nph = 1 + len(loads)
    phoff = ehsize
    off = phoff + phsize * nph
    shoff = 0
    body = bytearray()
    segs = [(4, 0, off, notes)]
    off += len(notes)
    for va, flags, data in loads:
        segs.append((1, flags, off, data, va))
        off += len(data)
    if xnum:
        shoff = off
    out = bytearray()
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if be else 1, 1, 0]) + b"\0" * 8
    phnum = 0xFFFF if xnum else nph
    shnum = 1 if xnum else 0
    if is64:
        out += ident + struct.pack(e + "HHIQQQIHHHHHH", 4, 62, 1, 0, phoff, shoff, 0, ehsize,
                                   phsize, phnum, 64 if xnum else 0, shnum, 0)
    else:
        out += ident + struct.pack(e + "HHIIIIIHHHHHH", 4, 3, 1, 0, phoff, shoff, 0, ehsize,
                                   phsize, phnum, 40 if xnum else 0, shnum, 0)
    for s in segs:
        ptype, flags, o, data = s[:4]
        va = s[4] if len(s) > 4 else 0
        if is64:
            out += struct.pack(e + "IIQQQQQQ", ptype, flags, o, va, 0, len(data), len(data), 1)
        else:
            out += struct.pack(e + "IIIIIIII", ptype, o, va, 0, len(data), len(data), flags, 1)
    for s in segs:
        body += s[3]
    out += body
    if xnum:
        if is64:
            out += struct.pack(e + "IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, nph, 0, 0)
        else:
            out += struct.pack(e + "IIIIIIIIII", 0, 0, 0, 0, 0, 0, 0, nph, 0, 0)
    return bytes(out)


# ---------------------------------------------------------------- LiME / raw

def lime():
    out = b""
    for start, data in [(0x1000, b"\0" * 64 + PEM_RSA[:500]), (0x100000, DER_P256 + b"\0" * 16)]:
        out += struct.pack("<IIQQQ", 0x4C694D45, 1, start, start + len(data) - 1, 0) + data
    return out


def raw_index():
    image = b"\0" * 128 + PEM_RSA[:600] + b"\0" * 64 + DER_P256
    idx = [{"va": 0x7ffd0000, "file_off": 0, "len": 800, "perms": "rw-p", "path": "[stack]"},
           {"va": 0x400000, "file_off": 800, "len": len(image) - 800, "perms": "r-xp",
            "path": "/usr/bin/fuzzme"}]
    j = json.dumps(idx).encode()
    return struct.pack("<H", len(j)) + j + image


# ---------------------------------------------------------------- write

def truncations(name, data):
    for frac in (0.1, 0.5, 0.9):
        yield f"{name}.cut{int(frac * 100)}", data[: int(len(data) * frac)]


def main():
    md = {"mdmp-memlist": minidump(False), "mdmp-mem64": minidump(True)}
    cores = {"core64le": elf_core(), "core32be": elf_core(is64=False, be=True),
             "core64-xnum": elf_core(xnum=True), "core64-nofile": elf_core(file_note=False)}
    lm = {"lime": lime()}
    samples = {}
    if os.path.isdir(SAMPLES):
        for f in sorted(os.listdir(SAMPLES)):
            p = os.path.join(SAMPLES, f)
            if f.endswith(".dmp") and os.path.getsize(p) <= 128 * 1024:
                samples[f] = open(p, "rb").read()
    for target, sets in [("minidump", [md, samples]), ("elf_core", [cores]), ("lime", [lm])]:
        for s in sets:
            for name, data in s.items():
                put(target, name, data)
                for n, d in truncations(name, data):
                    put(target, n, d)
    put("raw_index", "raw-index", raw_index())
    put("raw_index", "raw-index-bad", struct.pack("<H", 12) + b'[{"va": -1}]' + b"\0" * 32)
    for name, der, _ in KEYS:
        if der:
            put("der_key", name, der)
    flipped = bytearray(DER_P256)
    flipped[40] ^= 1
    put("der_key", "p256-bitflip", bytes(flipped))
    for name, data in text_variants():
        put("text", name, data)
    every = {**md, **cores, **lm, **samples, **dict(text_variants())}
    for name, data in every.items():
        put("pipeline", name, data)
        for n, d in truncations(name, data):
            put("pipeline", n, d)
    total = sum(len(v) for v in every.values())
    print(f"corpus written to {OUT} ({len(every)} seeds, {total} bytes before truncations)")


if __name__ == "__main__":
    main()
