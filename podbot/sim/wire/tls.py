"""A self-signed serving certificate for the simulator, made in pure Python.

Why TLS at all: client-go (kubectl) sends credentials — bearer tokens *and* ``--as``
impersonation headers — only over TLS (kubernetes/kubectl#744: over ``http://`` it sends no
``Authorization`` header), so the simulator serves HTTPS with a certificate for
127.0.0.1/localhost/::1 whose PEM goes into the kubeconfig as ``certificate-authority-data``.

Why pure Python: the stdlib ``ssl`` module can serve TLS but cannot make certificates, and a
dependency on ``cryptography`` or the ``openssl`` binary for a test double is not worth it. The
code is a minimal DER encoder plus RSA-2048 key generation (Miller-Rabin) and a PKCS#1 v1.5
SHA-256 signature. The key is generated once per process (~0.2-1 s) and is never written
anywhere but the simulator's private state directory.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# --- DER -----------------------------------------------------------------------------------------


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _len(len(value)) + value


def _int(n: int) -> bytes:
    body = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")
    return _tlv(0x02, body)


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _set(*items: bytes) -> bytes:
    return _tlv(0x31, b"".join(items))


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        rest = part >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _utf8(text: str) -> bytes:
    return _tlv(0x0C, text.encode())


def _time(when: datetime) -> bytes:
    if when.year < 2050:
        return _tlv(0x17, when.strftime("%y%m%d%H%M%SZ").encode())
    return _tlv(0x18, when.strftime("%Y%m%d%H%M%SZ").encode())


def _bits(data: bytes) -> bytes:
    return _tlv(0x03, b"\x00" + data)


def _octets(data: bytes) -> bytes:
    return _tlv(0x04, data)


def _explicit(n: int, value: bytes) -> bytes:
    return _tlv(0xA0 | n, value)


_NULL = b"\x05\x00"
_TRUE = b"\x01\x01\xff"
_SHA256_RSA = _seq(_oid("1.2.840.113549.1.1.11"), _NULL)


# --- RSA -------------------------------------------------------------------------------------------
_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]


def _probable_prime(n: int) -> bool:
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(40):
        a = secrets.randbelow(n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if candidate % 65537 != 1 and _probable_prime(candidate):
            return candidate


@dataclass(frozen=True)
class RsaKey:
    n: int
    e: int
    d: int
    p: int
    q: int

    def public_der(self) -> bytes:
        return _seq(_int(self.n), _int(self.e))

    def private_pem(self) -> bytes:
        der = _seq(
            _int(0),
            _int(self.n),
            _int(self.e),
            _int(self.d),
            _int(self.p),
            _int(self.q),
            _int(self.d % (self.p - 1)),
            _int(self.d % (self.q - 1)),
            _int(pow(self.q, -1, self.p)),
        )
        return _pem("RSA PRIVATE KEY", der)

    def sign_sha256(self, data: bytes) -> bytes:
        digest_info = _seq(
            _seq(_oid("2.16.840.1.101.3.4.2.1"), _NULL), _octets(hashlib.sha256(data).digest())
        )
        size = (self.n.bit_length() + 7) // 8
        padded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
        # m^d mod n through the Chinese remainder theorem: the same signature, a third of the work
        m = int.from_bytes(padded, "big")
        m1, m2 = pow(m, self.d % (self.p - 1), self.p), pow(m, self.d % (self.q - 1), self.q)
        signature = m2 + (pow(self.q, -1, self.p) * (m1 - m2) % self.p) * self.q
        return signature.to_bytes(size, "big")


@functools.cache
def process_key(bits: int = 2048) -> RsaKey:
    """One RSA key per process: every simulator started by this process reuses it."""
    e = 65537
    while True:
        p, q = _prime(bits // 2), _prime(bits // 2)
        if p != q and (p * q).bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    return RsaKey(p * q, e, d, p, q)


def _pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


# --- the certificate -------------------------------------------------------------------------------
def self_signed(hosts: Sequence[str], *, days: int = 3650, key: RsaKey | None = None) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for ``hosts`` (DNS names or IP addresses)."""
    key = key or process_key()
    now = datetime.now(UTC).replace(microsecond=0)
    name = _seq(
        _set(_seq(_oid("2.5.4.3"), _utf8("podbot-sim"))), _set(_seq(_oid("2.5.4.10"), _utf8("podbot.sim")))
    )
    alt_names = []
    for host in dict.fromkeys(hosts):
        try:
            alt_names.append(_tlv(0x87, ipaddress.ip_address(host).packed))
        except ValueError:
            alt_names.append(_tlv(0x82, host.encode()))
    spki = _seq(_seq(_oid("1.2.840.113549.1.1.1"), _NULL), _bits(key.public_der()))
    key_id = hashlib.sha1(key.public_der(), usedforsecurity=False).digest()
    extensions = _seq(
        _seq(_oid("2.5.29.19"), _TRUE, _octets(_seq(_TRUE))),  # basicConstraints CA:TRUE (it is its own CA)
        _seq(
            _oid("2.5.29.15"), _TRUE, _octets(_tlv(0x03, b"\x02\xa4"))
        ),  # digitalSignature, keyEncipherment, keyCertSign
        _seq(_oid("2.5.29.37"), _octets(_seq(_oid("1.3.6.1.5.5.7.3.1")))),  # extKeyUsage serverAuth
        _seq(_oid("2.5.29.14"), _octets(_octets(key_id))),  # subjectKeyIdentifier
        _seq(_oid("2.5.29.17"), _octets(_seq(*alt_names))),  # subjectAltName
    )
    tbs = _seq(
        _explicit(0, _int(2)),
        _int(secrets.randbits(63) | 1),
        _SHA256_RSA,
        name,
        _seq(_time(now - timedelta(days=1)), _time(now + timedelta(days=days))),
        name,
        spki,
        _explicit(3, extensions),
    )
    certificate = _seq(tbs, _SHA256_RSA, _bits(key.sign_sha256(tbs)))
    return _pem("CERTIFICATE", certificate), key.private_pem()
