"""Standard Webhooks v1 signatures, endpoint secrets, and the secrets' encryption at rest.

Signature: ``v1,`` + base64(HMAC-SHA256(key, f"{webhook_id}.{timestamp}.{body}")), where the key
is the base64-decoded part of ``whsec_…``. Several signatures are space-separated: during a
secret rotation both the new and the previous secret sign, so receivers switch without a gap.

Secrets must be recoverable to sign, so they cannot be hashed like API keys: they are stored
encrypted with AES-256-GCM under a key derived (HKDF) from the server's secrets file, with the
endpoint's id as associated data, so a database dump alone reveals no secret and a ciphertext
cannot be moved to another endpoint's row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "SECRET_PREFIX",
    "SecretBox",
    "generate_secret",
    "minified",
    "secret_key",
    "sign",
    "sign_stream",
    "signature_header",
]

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes (Standard Webhooks allows 24-64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 signature>`` of exactly these body bytes."""
    return sign_stream(secret, webhook_id, timestamp, (body,))


def sign_stream(secret: str, webhook_id: str, timestamp: int, body: Iterable[bytes]) -> str:
    """:func:`sign` of a body given in pieces (a file delivered to an HTTP destination is
    signed as it is read, never held in memory)."""
    mac = hmac.new(secret_key(secret), f"{webhook_id}.{timestamp}.".encode(), hashlib.sha256)
    for piece in body:
        mac.update(piece)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signature_header(active_secrets: Iterable[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one space-separated ``v1,`` entry per active secret."""
    return " ".join(sign(s, webhook_id, timestamp, body) for s in active_secrets)


def minified(payload: Any) -> bytes:
    """The exact bytes that are sent and signed (no whitespace; UTF-8 as is)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class SecretBox:
    """Encrypts endpoint secrets for the database (AES-256-GCM, HKDF-derived key)."""

    VERSION = "v1"

    def __init__(self, root_secret: bytes):
        hkdf = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"reelforge webhook endpoint secrets v1"
        )
        self._aead = AESGCM(hkdf.derive(root_secret))

    def seal(self, secret: str, endpoint_id: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), endpoint_id.encode())
        return f"{self.VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, stored: str, endpoint_id: str) -> str:
        version, _, data = stored.partition(":")
        if version != self.VERSION:
            raise ValueError(f"unknown secret encoding {version!r}")
        raw = base64.b64decode(data)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], endpoint_id.encode()).decode()
        except InvalidTag:
            raise ValueError("the secret cannot be decrypted with this server's key") from None
