"""Who is calling: API keys and OAuth access tokens, both as ``Authorization: Bearer``.

Errors follow RFC 6750: no credentials -> 401 with a bare challenge; a malformed header -> 400
``invalid_request``; an unknown, revoked or expired credential -> 401 ``invalid_token``; a
valid one without the scope -> 403 ``insufficient_scope``. Nothing tells whether a key exists.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import structlog
from fastapi import Depends, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from reelforge.db.accounts import OAuthApp, OAuthGrant
from reelforge.db.models import ApiKey, OAuthClient, utcnow
from reelforge.services.accounts import member_scopes
from reelforge.services.context import Services
from reelforge.services.credentials import (
    CredentialCache,
    KeyFormatError,
    Principal,
    expand_scopes,
    hash_secret,
    parse_api_key,
)

from .deps import services_of
from .problems import ApiError

__all__ = ["CredentialCache", "Principal", "authenticate", "check_scope", "principal_for", "require"]


def _challenge(
    error: str | None = None, description: str | None = None, scope: str | None = None
) -> dict[str, str]:
    parts = ['Bearer realm="api"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return {"WWW-Authenticate": ", ".join(parts)}


def _invalid(description: str) -> ApiError:
    return ApiError("unauthenticated", description, headers=_challenge("invalid_token", description))


async def authenticate(request: Request) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(
            "unauthenticated",
            "send an API key or access token as `Authorization: Bearer <token>`",
            headers=_challenge(),
        )
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise ApiError(
            "invalid-request",
            "the Authorization header must be `Bearer <token>`",
            headers=_challenge("invalid_request", "malformed Authorization header"),
            status=400,
        )
    refused: ApiError | None = getattr(request.state, "auth_refused", None)
    if refused is not None:  # verified once for this request already (rate limiter, hot read, route)
        raise refused
    try:
        principal = await principal_for(token, services_of(request))
    except ApiError as exc:
        request.state.auth_refused = exc
        raise
    request.state.principal = principal
    structlog.contextvars.bind_contextvars(workspace_id=principal.workspace_id)
    return principal


async def principal_for(token: str, services: Services) -> Principal:
    """The principal of a bearer token, verified at most ``ttl`` seconds ago (the cache); 401
    ``unauthenticated`` when it is not valid (any more). Long-lived responses (event streams)
    call it again now and then, so a revoked or expired credential stops them."""
    principal = services.credentials.get(token)
    if principal is None:
        verify = _from_jwt if token.count(".") == 2 else _from_key
        principal, expires = await run_in_threadpool(verify, token, services)  # database I/O
        services.credentials.put(token, principal, expires)
    return principal


def _from_key(token: str, services: Services) -> tuple[Principal, datetime | None]:
    try:
        lookup = parse_api_key(token)
    except KeyFormatError:
        raise _invalid("the API key is not valid") from None
    now = utcnow()
    with services.sessions() as db:
        key = db.scalar(select(ApiKey).where(ApiKey.lookup == lookup))
        if key is None or not hmac.compare_digest(key.hash, hash_secret(services.secrets.pepper, token)):
            raise _invalid("the API key is not valid")
        if key.revoked_at is not None:
            raise _invalid("the API key was revoked")
        if key.expires_at is not None and key.expires_at <= now:
            raise _invalid("the API key expired")
        # Record use, at most once a minute per key, so reads stay cheap.
        if key.last_used_at is None or now - key.last_used_at > timedelta(seconds=60):
            key.last_used_at = now
            db.commit()
        return Principal(key.workspace_id, expand_scopes(list(key.scopes)), key.id, "api_key"), key.expires_at


def _from_jwt(token: str, services: Services) -> tuple[Principal, datetime | None]:
    try:
        claims = services.secrets.verify_token(token, issuer=services.issuer, audience=services.audience)
    except jwt.ExpiredSignatureError:
        raise _invalid("the access token expired") from None
    except jwt.InvalidTokenError:
        raise _invalid("the access token is not valid") from None
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    if claims.get("gid") is not None:
        return _from_grant(claims, services), expires
    with services.sessions() as db:
        client = db.get(OAuthClient, claims.get("client_id", ""))
        if client is None or client.revoked_at is not None or client.workspace_id != claims.get("ws"):
            raise _invalid("the access token's client was revoked")
    principal = Principal(
        client.workspace_id, expand_scopes(str(claims.get("scope", "")).split()), client.id, "oauth"
    )
    return principal, expires


def _from_grant(claims: dict[str, Any], services: Services) -> Principal:
    """A connected app's token for a member: valid while its grant and app are, and holding
    what was granted *and* what the member's role holds now (a demotion narrows it, leaving
    the workspace ends it)."""
    with services.sessions() as db:
        grant = db.get(OAuthGrant, str(claims["gid"]))
        if grant is None or grant.revoked_at is not None or grant.workspace_id != claims.get("ws"):
            raise _invalid("the access token was revoked")
        app = db.get(OAuthApp, grant.app_id)
        if app is None or app.revoked_at is not None:
            raise _invalid("the access token's app was revoked")
        held = member_scopes(db, grant.workspace_id, grant.user_id)
    if not held:
        raise _invalid("the member no longer belongs to the workspace")
    named = str(claims.get("scope", "")).split()
    scopes = (expand_scopes(named) | frozenset(named)) & held
    return Principal(grant.workspace_id, scopes, app.id, "oauth", grant.user_id)


def check_scope(principal: Principal, scope: str) -> Principal:
    """``principal`` if it holds ``scope``; else 403 ``insufficient-scope``."""
    if scope not in principal.scopes:
        raise ApiError(
            "insufficient-scope",
            f"this needs the `{scope}` scope",
            headers=_challenge("insufficient_scope", None, scope),
            required_scope=scope,
        )
    return principal


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who must hold ``scope``."""

    async def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        return check_scope(principal, scope)

    dependency.required_scope = scope  # type: ignore[attr-defined]
    return dependency
