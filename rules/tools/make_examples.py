#!/usr/bin/env python3
"""Prints fake, format-valid credentials for rule examples (TEST VALUES, never real).

Checksummed formats (GitHub/npm CRC32, Microsoft identifiable keys and Entra ID secrets
with Marvin32, JWT structure, Kerberos DER) are computed here so that `dumpguard rules check`
exercises the validators on inputs that pass them. Run it to regenerate or add examples:

    python3 rules/tools/make_examples.py
"""
import base64
import binascii
import json
import struct

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
M32 = 0xFFFFFFFF


def base62(v, width):
    out = ""
    for _ in range(width):
        out = B62[v % 62] + out
        v //= 62
    return out


def github(prefix, body):
    assert len(body) == 30
    return prefix + body + base62(binascii.crc32(body.encode()), 6)


def rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & M32


def marvin32(data, seed):
    p0, p1 = seed & M32, seed >> 32

    def block(p0, p1):
        p1 ^= p0
        p0 = rotl(p0, 20)
        p0 = (p0 + p1) & M32
        p1 = rotl(p1, 9)
        p1 ^= p0
        p0 = rotl(p0, 27)
        p0 = (p0 + p1) & M32
        p1 = rotl(p1, 19)
        return p0, p1

    n = len(data) & ~3
    for i in range(0, n, 4):
        p0 = (p0 + struct.unpack("<I", data[i:i + 4])[0]) & M32
        p0, p1 = block(p0, p1)
    tail = data[n:]
    last = 0x80 << (8 * len(tail))
    for i, b in enumerate(tail):
        last |= b << (8 * i)
    p0 = (p0 + last) & M32
    p0, p1 = block(p0, p1)
    p0, p1 = block(p0, p1)
    return (p1 ^ p0) & M32


def identifiable(sig, nbytes, seed, fill):
    raw = bytes(((i * 37) & 0xFF) ^ fill for i in range(nbytes))
    text = bytearray(base64.b64encode(raw))
    t = len(text.rstrip(b"="))
    text[t - 10:t - 6] = sig.encode()
    raw = bytearray(base64.b64decode(bytes(text)))
    raw[-4:] = struct.pack("<I", marvin32(bytes(raw[:-4]), seed))
    key = base64.b64encode(bytes(raw)).decode()
    assert key[t - 10:t - 6] == sig
    return key


AAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890.-_~"


def aad(body37):
    v = marvin32(body37.encode(), 0x4161645077643030)
    digits = ""
    while v:
        digits = AAD[v % 66] + digits
        v //= 66
    return body37 + digits[:3]


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(header, claims, sig=b"\x5a" * 32):
    return ".".join([b64u(json.dumps(header, separators=(",", ":")).encode()),
                     b64u(json.dumps(claims, separators=(",", ":")).encode()), b64u(sig)])


def der(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    if n < 0x100:
        return bytes([tag, 0x81, n]) + body
    return bytes([tag, 0x82, n >> 8, n & 0xFF]) + body


def integer(v):
    return der(0x02, bytes([v]))


def gs(s):
    return der(0x1b, s.encode())


def enc(etype, n):
    return der(0x30, der(0xa0, integer(etype)) + der(0xa1, integer(2)) + der(0xa2, der(0x04, b"\x5a" * n)))


def ticket(realm, service):
    sname = der(0x30, der(0xa0, integer(2)) + der(0xa1, der(0x30, b"".join(gs(s) for s in service))))
    return der(0x61, der(0x30, der(0xa0, integer(5)) + der(0xa1, gs(realm)) + der(0xa2, sname) + der(0xa3, enc(18, 300))))


def kirbi(realm, service):
    return der(0x76, der(0x30, der(0xa0, integer(5)) + der(0xa1, integer(22)) +
                         der(0xa2, der(0x30, ticket(realm, service))) + der(0xa3, enc(0, 120))))


if __name__ == "__main__":
    print("github ghp:", github("ghp_", "TESTxTOKENxDUMPGUARDx012345678"))
    print("github gho:", github("gho_", "FAKExOAUTHxDUMPGUARDxabcdefghi"))
    print("github ghs:", github("ghs_", "TESTxAPPxINSTALLxDUMPGUARDx987"))
    print("npm:", github("npm_", "TESTxNPMxTOKENxDUMPGUARDx01234"))
    print("npm2:", github("npm_", "FAKExPUBLISHxDUMPGUARDxZYXWVUT"))
    for sig, n, seed, fill in [("+ASt", 64, 0x44656661756c7430, 0x11), ("+ASt", 64, 0x44656661756c7430, 0x22),
                               ("ACDb", 64, 0x4d61737452573030, 0x33), ("+ASb", 32, 0x53656e6430303030, 0x44),
                               ("AzCa", 32, 0x4163636573733030, 0x55), ("+AEh", 32, 0x4c697374656e3030, 0x66),
                               ("AIoT", 32, 0x496f544875623030, 0x77)]:
        print("azure", sig, identifiable(sig, n, seed, fill))
    print("aad:", aad("Tst8Q~TESTxDUMPGUARDxFAKExSECRETx0123"))
    print("aad2:", aad("Fk18Q~fake.client-secret_TESTxVALUE.9"))
    print("jwt rs256:", jwt({"alg": "RS256", "kid": "test-key-1", "typ": "JWT"},
                            {"iss": "https://login.test.dumpguard.invalid", "aud": "api://test",
                             "exp": 4102444800, "sub": "test-user"}, b"\x5a" * 256))
    print("jwt hs256 expired:", jwt({"alg": "HS256", "typ": "JWT"}, {"iss": "test-issuer", "exp": 1500000000}))
    print("jwt no-alg:", jwt({"typ": "JWT"}, {"iss": "x"}))
    print("sas sig:", base64.b64encode(b"\x5a" * 32).decode(), base64.b64encode(bytes(range(32))).decode())
    print("ticket:", ticket("TEST.DUMPGUARD", ["krbtgt", "TEST.DUMPGUARD"]).hex())
    k = kirbi("TEST.DUMPGUARD", ["cifs", "fs01.test.dumpguard"])
    print("kirbi hex:", k.hex())
    print("kirbi b64:", base64.b64encode(k).decode())
    k2 = kirbi("CORP.TEST", ["http", "web.corp.test"])
    print("kirbi2 b64:", base64.b64encode(k2).decode())
    print("legacy storage key:", base64.b64encode(bytes((i * 7 + 3) & 0xFF for i in range(64))).decode())
    print("sb key:", base64.b64encode(bytes((i * 11 + 5) & 0xFF for i in range(32))).decode())
