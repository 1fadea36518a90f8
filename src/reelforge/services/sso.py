"""OpenID Connect single sign-on against the company's identity provider, with Authlib.

The authorization-code flow with PKCE (S256), ``state`` and ``nonce``; the provider is found
by discovery (``<issuer>/.well-known/openid-configuration``, whose ``issuer`` must be the one
configured); the ID token is verified with the provider's published keys (signature,
``iss``, ``aud``, ``exp``, ``nonce``) before anything in it is believed. The person's groups
(``oidc_groups_claim``) map to a role in ``oidc_workspace`` (``oidc_group_roles``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .context import Services
from .errors import Forbidden, ServiceError

__all__ = ["SsoRefused", "begin", "enabled", "finish"]

FLOW_SECONDS = 600
"""How long a person has at the provider before the flow must start again."""

_DISCOVERY_SECONDS = 3600.0


class SsoRefused(ServiceError):
    default_code = "unauthenticated"


def enabled(services: Services) -> bool:
    s = services.settings
    return bool(s.oidc_issuer and s.oidc_client_id and s.oidc_workspace)


def _discovery(services: Services) -> dict[str, Any]:
    cached = services.extras.get("oidc_discovery")
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    issuer = str(services.settings.oidc_issuer).rstrip("/")
    try:
        doc = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).raise_for_status().json()
        doc["jwks"] = httpx.get(doc["jwks_uri"], timeout=10).raise_for_status().json()
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise ServiceError(
            f"the identity provider cannot be reached: {exc}", code="temporary-reduced-capacity"
        ) from None
    if str(doc.get("issuer", "")).rstrip("/") != issuer:
        raise ServiceError("the identity provider's discovery names another issuer", code="internal-error")
    services.extras["oidc_discovery"] = (time.monotonic() + _DISCOVERY_SECONDS, doc)
    return doc


def _client(services: Services, redirect_uri: str) -> OAuth2Client:
    s = services.settings
    secret = s.oidc_client_secret.get_secret_value() if s.oidc_client_secret else None
    return OAuth2Client(
        client_id=s.oidc_client_id,
        client_secret=secret,
        redirect_uri=redirect_uri,
        scope="openid email profile",
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        timeout=10,
    )


def _sign(services: Services, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    mac = hmac.new(services.secrets.pepper, b"sso:" + body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unsign(services: Services, value: str | None) -> dict[str, Any] | None:
    if not value or "." not in value:
        return None
    body, _, mac = value.rpartition(".")
    expected = hmac.new(services.secrets.pepper, b"sso:" + body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body))
    except ValueError:
        return None
    return payload if payload.get("exp", 0) > time.time() else None


def begin(services: Services, redirect_uri: str, next_path: str) -> tuple[str, str]:
    """The provider's authorization URL to send the browser to, and the signed flow cookie
    (state, nonce, PKCE verifier) that must come back with the callback."""
    doc = _discovery(services)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(48)
    url, _ = _client(services, redirect_uri).create_authorization_url(
        doc["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    flow = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": next_path,
        "exp": time.time() + FLOW_SECONDS,
    }
    return url, _sign(services, flow)


@dataclass(frozen=True, slots=True)
class Identity:
    issuer: str
    subject: str
    email: str
    name: str
    groups: list[str]
    next_path: str
    email_verified: bool = False


def finish(
    services: Services, redirect_uri: str, flow_cookie: str | None, params: dict[str, str]
) -> Identity:
    """The verified identity of the callback ``params`` (``code``, ``state``); SsoRefused
    when the flow is unknown, expired, forged, or the provider said no."""
    flow = _unsign(services, flow_cookie)
    if flow is None or not secrets.compare_digest(str(flow["state"]), params.get("state", "")):
        raise SsoRefused("the sign-in flow is unknown or expired; start again")
    if "error" in params:
        raise SsoRefused(f"the identity provider refused: {params['error']}")
    if not params.get("code"):
        raise SsoRefused("the identity provider sent no code")
    doc = _discovery(services)
    client = _client(services, redirect_uri)
    try:
        token = client.fetch_token(doc["token_endpoint"], code=params["code"], code_verifier=flow["verifier"])
    except Exception as exc:
        raise SsoRefused(f"the identity provider did not give a token: {exc}") from None
    finally:
        client.close()
    settings = services.settings
    issuer = str(settings.oidc_issuer).rstrip("/")
    try:
        decoded = jwt.decode(
            str(token.get("id_token", "")), KeySet.import_key_set(doc["jwks"]), algorithms=["RS256", "ES256"]
        )
        jwt.JWTClaimsRegistry(
            leeway=5,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": str(settings.oidc_client_id)},
            nonce={"essential": True, "value": flow["nonce"]},
            sub={"essential": True},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise SsoRefused(f"the ID token is not valid: {exc}") from None
    claims = decoded.claims
    groups = claims.get(settings.oidc_groups_claim) or []
    if not isinstance(groups, list):
        raise Forbidden("the ID token's groups are not a list")
    return Identity(
        issuer=issuer,
        subject=str(claims["sub"]),
        email=str(claims.get("email") or ""),
        name=str(claims.get("name") or ""),
        groups=[str(g) for g in groups],
        next_path=str(flow["next"]),
        email_verified=claims.get("email_verified") is True,
    )
