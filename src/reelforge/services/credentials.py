"""API keys and OAuth access tokens: formats, hashing, signing. No HTTP here.

API key: ``rf_<env>_<lookup>_<secret><crc>``. The lookup finds the row; the secret (256 random
bits) is only stored as an HMAC with a server-side pepper; the CRC32 tail lets us (and secret
scanners) reject a mistyped or made-up key without touching the database.

Access tokens are RFC 9068 JWTs (``typ: at+jwt``) signed with ES256.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reelforge.db.models import utcnow

__all__ = [
    "CLOCK_SKEW_SECONDS",
    "INSTALLATION_SCOPES",
    "METRICS",
    "OPERATOR",
    "SCOPES",
    "CredentialCache",
    "KeyFormatError",
    "Principal",
    "ServerSecrets",
    "expand_scopes",
    "generate_api_key",
    "hash_secret",
    "parse_api_key",
]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

FAMILIES = (
    "assets",
    "projects",
    "renders",
    "keys",
    "events",
    "webhooks",
    "templates",
    "brand_kits",
    "batches",
)
SCOPES = (*(f"{f}:{a}" for f in FAMILIES for a in ("read", "write")), "assets:approve", "admin")
"""``admin`` grants every scope; ``:write`` does not imply ``:read``. ``assets:approve``
changes asset versions' review states (approve, reject, archive); ``assets:write`` does not."""

CLOCK_SKEW_SECONDS = 5
"""How far in the future a token's ``iat`` may be (clocks of servers sharing the signing key
differ a little). Expiry has no such leeway: a token is refused from its ``exp`` on."""

OPERATOR = "operator"
"""The power over every workspace of the installation (create and list them, rename any). Not
one of :data:`SCOPES`: the API never grants it, and ``admin`` does not include it; only the
operator's CLI (``reelforge keys create --operator``) makes a key that holds it."""


METRICS = "metrics"
"""Reading the installation's ``/metrics`` (every workspace's counts, no content): the power
of a Prometheus scraper. Like :data:`OPERATOR` not one of :data:`SCOPES`, not included in
``admin``, and granted only by the operator's CLI (``reelforge keys create --metrics``); the
operator scope also reads the metrics."""

INSTALLATION_SCOPES = (OPERATOR, METRICS)
"""The powers over the whole installation that only the operator's CLI grants."""


def expand_scopes(scopes: list[str] | tuple[str, ...]) -> frozenset[str]:
    if "admin" not in scopes:
        return frozenset(scopes)
    return frozenset(SCOPES) | (set(INSTALLATION_SCOPES) & set(scopes))


def _b62(data: bytes, length: int) -> str:
    n = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(reversed(out))


def _crc(text: str) -> str:
    return _b62(zlib.crc32(text.encode()).to_bytes(4, "big"), 6)


class KeyFormatError(ValueError):
    """Not one of our keys: wrong shape or checksum."""


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    token: str
    lookup: str
    prefix: str
    last4: str


def generate_api_key(environment: str = "live") -> GeneratedKey:
    lookup = _b62(secrets.token_bytes(9), 12)
    secret = _b62(secrets.token_bytes(32), 43)
    body = f"rf_{environment}_{lookup}_{secret}"
    token = body + _crc(body)
    return GeneratedKey(token, lookup, f"rf_{environment}_{lookup}", token[-4:])


def parse_api_key(token: str) -> str:
    """The key's lookup part, or :class:`KeyFormatError`."""
    parts = token.split("_")
    if len(parts) != 4 or parts[0] != "rf" or parts[1] not in ("live", "test") or len(token) > 255:
        raise KeyFormatError("not a Reelforge API key")
    lookup, tail = parts[2], parts[3]
    if len(lookup) != 12 or len(tail) != 49:
        raise KeyFormatError("not a Reelforge API key")
    if not hmac.compare_digest(_crc(token[:-6]), token[-6:]):
        raise KeyFormatError("the key's checksum does not match (mistyped or truncated?)")
    return lookup


def hash_secret(pepper: bytes, token: str) -> str:
    return hmac.new(pepper, token.encode(), hashlib.sha256).hexdigest()


class ServerSecrets:
    """The pepper for key hashes, the cursor MAC key and the token signing key.

    Kept in ``<data_dir>/secrets.json`` (mode 0600), made on first start, so keys and tokens
    survive restarts and every process sharing the data directory agrees on them.
    """

    def __init__(self, pepper: bytes, cursor_key: bytes, signing_pem: bytes):
        self.pepper = pepper
        self.cursor_key = cursor_key
        self._signing = serialization.load_pem_private_key(signing_pem, password=None)
        public = self._signing.public_key()
        self.public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = hashlib.sha256(self.public_pem).hexdigest()[:16]

    @classmethod
    def load_or_create(cls, data_dir: Path) -> ServerSecrets:
        path = data_dir / "secrets.json"
        if path.exists():
            doc = json.loads(path.read_text())
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            doc = {
                "pepper": secrets.token_hex(32),
                "cursor_key": secrets.token_hex(32),
                "signing_key": pem.decode(),
            }
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f)
            # Another process may have won the race: keep whichever landed first.
            try:
                os.link(tmp, path)
            except FileExistsError:
                doc = json.loads(path.read_text())
            finally:
                tmp.unlink(missing_ok=True)
        return cls(
            bytes.fromhex(doc["pepper"]), bytes.fromhex(doc["cursor_key"]), doc["signing_key"].encode()
        )

    def issue_token(
        self,
        *,
        issuer: str,
        audience: str,
        client_id: str,
        workspace_id: str,
        scopes: list[str],
        ttl: int,
        subject: str | None = None,
        grant_id: str | None = None,
    ) -> str:
        """``subject``/``grant_id``: a token a connected app got for a member (``sub`` is the
        user, ``gid`` the grant it hangs on); without: a client's own token."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": subject or client_id,
            "client_id": client_id,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(16),
            "scope": " ".join(scopes),
            "ws": workspace_id,
        }
        if grant_id is not None:
            claims["gid"] = grant_id
        return jwt.encode(
            claims,
            self._signing,  # type: ignore[arg-type]
            algorithm="ES256",
            headers={"typ": "at+jwt", "kid": self.key_id},
        )

    def verify_token(self, token: str, *, issuer: str, audience: str) -> dict[str, Any]:
        """The claims of a valid token; :class:`jwt.InvalidTokenError` otherwise
        (:class:`jwt.ExpiredSignatureError` from the second its ``exp`` names: no leeway)."""
        header = jwt.get_unverified_header(token)
        if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise jwt.InvalidTokenError("not an access token")
        claims: dict[str, Any] = jwt.decode(
            token,
            self.public_pem,
            algorithms=["ES256"],
            audience=audience,
            issuer=issuer,
            leeway=CLOCK_SKEW_SECONDS,  # for iat (and nbf); exp is checked below, strictly
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"], "verify_exp": False},
        )
        try:
            expires = int(claims["exp"])
        except (TypeError, ValueError, OverflowError):
            raise jwt.DecodeError("Expiration Time claim (exp) must be an integer.") from None
        if expires <= time.time():
            raise jwt.ExpiredSignatureError("Signature has expired")
        return claims

    def jwks(self) -> dict[str, Any]:
        public = serialization.load_pem_public_key(self.public_pem)
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))  # type: ignore[arg-type]
        return {"keys": [{**jwk, "kid": self.key_id, "use": "sig", "alg": "ES256"}]}


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: str
    scopes: frozenset[str]
    credential_id: str
    kind: str
    """``api_key`` or ``oauth``."""
    user_id: str | None = None
    """The member a connected app acts for (``kind`` ``oauth``), or None."""


class CredentialCache:
    """Credentials verified in the last few seconds, so a request costs no database round trip.

    A revocation through this process clears the cache at once; another process sharing the
    database notices within ``ttl`` seconds. Entries never outlive the credential's own expiry.
    """

    def __init__(self, pepper: bytes, ttl: float = 5.0, size: int = 10_000):
        self._pepper = pepper
        self._ttl = ttl
        self._size = size
        self._entries: dict[str, tuple[Principal, float, datetime | None]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(hash_secret(self._pepper, token))
        if entry is None:
            return None
        principal, fresh_until, expires = entry
        if time.monotonic() > fresh_until or (expires is not None and expires <= utcnow()):
            return None
        return principal

    def put(self, token: str, principal: Principal, expires: datetime | None) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[hash_secret(self._pepper, token)] = (
                principal,
                time.monotonic() + self._ttl,
                expires,
            )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
