"""Destination credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) under the keys in the
settings, so a database dump alone reveals no password or access key.

``delivery_credential_keys`` lists Fernet keys, newest first: the first encrypts, every one
decrypts (:class:`cryptography.fernet.MultiFernet`). To rotate, put a new key first, run
``reelforge destinations rotate-keys`` (which re-encrypts every stored credential with it), then
drop the old key. With no key configured, one is derived (HKDF) from the server's secrets file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["CredentialBox", "CredentialError", "generate_key"]


class CredentialError(ValueError):
    """Stored credentials cannot be decrypted with the configured keys."""


def generate_key() -> str:
    """A new key for ``REELFORGE_DELIVERY_CREDENTIAL_KEYS``."""
    return Fernet.generate_key().decode()


def _derived(root_secret: bytes) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"reelforge destination credentials v1")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(root_secret)))


class CredentialBox:
    def __init__(self, keys: Sequence[str], root_secret: bytes):
        try:
            fernets = [Fernet(k.encode()) for k in keys]
        except (ValueError, TypeError) as exc:
            raise ValueError(f"delivery_credential_keys: not a Fernet key ({exc})") from None
        # The derived key always decrypts, so configuring keys later loses nothing.
        self._multi = MultiFernet([*fernets, _derived(root_secret)])

    def seal(self, credentials: dict[str, Any]) -> str:
        return self._multi.encrypt(json.dumps(credentials, separators=(",", ":")).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            opened = json.loads(self._multi.decrypt(sealed.encode()))
        except InvalidToken:
            raise CredentialError(
                "the stored credentials cannot be decrypted with the configured keys"
            ) from None
        return dict(opened)

    def rotate(self, sealed: str) -> str:
        """The same credentials encrypted with the first key."""
        try:
            return self._multi.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise CredentialError(
                "the stored credentials cannot be decrypted with the configured keys"
            ) from None
