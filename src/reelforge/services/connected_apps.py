"""The OAuth 2.0 authorization server for connected apps (a CMS or DAM plugin acting for a
member): app registration, authorization codes with PKCE, access and refresh tokens, rotation
with reuse detection, revocation (RFC 7009) and introspection (RFC 7662).

* Redirect URIs are compared exactly, as strings; a wrong one is never redirected to.
* PKCE is required, ``S256`` only (RFC 7636); codes live ``authorization_code_ttl`` seconds and
  are used once: a replayed code revokes its grant (RFC 6749 §4.1.2).
* A grant never holds more than the consenting member's role; a token is narrowed at every use
  to what the member's role holds *now* (a demoted or removed member's apps lose it too).
* Each refresh returns a new refresh token; presenting a rotated one again is reuse, and
  revokes the whole grant (OAuth 2.0 Security BCP §4.14).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from reelforge.db.accounts import OAuthApp, OAuthCode, OAuthGrant, OAuthRefreshToken, User
from reelforge.db.models import new_id, utcnow
from reelforge.representations import json_ready

from .accounts import APPROVE_SCOPE, _audit_and_event, member_scopes
from .audit import SYSTEM_ACTOR, Actor
from .context import Services, owned
from .credentials import SCOPES, expand_scopes, hash_secret
from .errors import Conflict, Invalid, NotFound
from .keys import MAX_GRACE, OAuthRefused, check_grant

__all__ = [
    "APP_SCOPES",
    "app_json",
    "app_query",
    "authenticate_app",
    "check_redirect",
    "connected_apps_json",
    "consent",
    "create_app",
    "exchange_code",
    "grant_json",
    "grant_query",
    "introspect",
    "refresh",
    "revoke_app",
    "revoke_grant",
    "revoke_token",
    "roll_app_secret",
]

APP_SCOPES = (*SCOPES, APPROVE_SCOPE)
"""What an app may be registered for."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redirect_uri_problem(uri: str) -> str | None:
    if len(uri) > 2000 or any(ord(c) < 33 for c in uri):
        return "a redirect URI is at most 2000 characters, without blanks or control characters"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not a URL"
    if parts.fragment or "#" in uri:
        return "a redirect URI has no fragment"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return None  # native apps on the same machine (RFC 8252 §7.3)
    return "a redirect URI is https, or http on a loopback address"


def create_app(
    db: Session,
    services: Services,
    workspace_id: str,
    name: str,
    redirect_uris: list[str],
    confidential: bool,
    scopes: list[str],
    *,
    held: Collection[str],
    actor: Actor,
) -> tuple[OAuthApp, str | None]:
    """A registered app and, when confidential, its secret (shown once); committed."""
    errors = [
        {"pointer": f"/redirect_uris/{i}", "detail": problem}
        for i, uri in enumerate(redirect_uris)
        if (problem := _redirect_uri_problem(uri)) is not None
    ]
    unknown = [
        {"pointer": f"/scopes/{i}", "detail": f"not a scope; choose from {', '.join(APP_SCOPES)}"}
        for i, s in enumerate(scopes)
        if s not in APP_SCOPES
    ]
    if errors or unknown:
        raise Invalid("the app's registration is not valid", errors=[*errors, *unknown])
    check_grant(held, [s for s in scopes if s in SCOPES])
    secret = secrets.token_urlsafe(32) if confidential else None
    app = OAuthApp(
        id=new_id("app"),
        workspace_id=workspace_id,
        name=name,
        redirect_uris=list(redirect_uris),
        confidential=confidential,
        secret_hash=hash_secret(services.secrets.pepper, secret) if secret else None,
        scopes=sorted(set(scopes)),
        created_at=utcnow(),
    )
    db.add(app)
    _audit_and_event(
        db,
        workspace_id,
        "oauth_app.created",
        "oauth_app",
        app.id,
        {
            "name": name,
            "scopes": app.scopes,
            "redirect_uris": app.redirect_uris,
            "confidential": confidential,
        },
        actor,
    )
    db.commit()
    return app, secret


def app_json(app: OAuthApp, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": app.id,
        "client_id": app.id,
        "name": app.name,
        "redirect_uris": list(app.redirect_uris),
        "client_type": "confidential" if app.confidential else "public",
        "scopes": list(app.scopes),
        "created_at": json_ready(app.created_at),
        "revoked_at": json_ready(app.revoked_at),
        "previous_secret_expires_at": json_ready(app.previous_secret_expires_at),
    }
    if secret is not None:
        body["client_secret"] = secret
    return body


def app_query(workspace_id: str) -> Select[Any]:
    return select(OAuthApp).where(OAuthApp.workspace_id == workspace_id)


def roll_app_secret(
    db: Session, services: Services, workspace_id: str, app_id: str, grace: timedelta, *, actor: Actor
) -> tuple[OAuthApp, str]:
    """A new secret; the current one keeps working for ``grace`` (at most :data:`MAX_GRACE`),
    then is refused. Committed, audited and an event."""
    app = owned(db, OAuthApp, app_id, workspace_id, "OAuth app")
    if app.revoked_at is not None:
        raise Conflict("a revoked app cannot be rolled")
    if not app.confidential:
        raise Conflict("a public app has no secret")
    secret = secrets.token_urlsafe(32)
    app.previous_secret_hash = app.secret_hash
    app.previous_secret_expires_at = utcnow() + min(grace, MAX_GRACE)
    app.secret_hash = hash_secret(services.secrets.pepper, secret)
    _audit_and_event(
        db,
        workspace_id,
        "oauth_app.secret_rolled",
        "oauth_app",
        app.id,
        {"previous_secret_expires_at": json_ready(app.previous_secret_expires_at)},
        actor,
    )
    db.commit()
    return app, secret


def revoke_app(db: Session, services: Services, workspace_id: str, app_id: str, *, actor: Actor) -> OAuthApp:
    """Revoke the app and every grant of it (so every token); again changes nothing."""
    app = owned(db, OAuthApp, app_id, workspace_id, "OAuth app")
    if app.revoked_at is None:
        app.revoked_at = utcnow()
        db.execute(
            update(OAuthGrant)
            .where(OAuthGrant.app_id == app.id, OAuthGrant.revoked_at.is_(None))
            .values(revoked_at=app.revoked_at, revoked_reason="app_revoked")
        )
        _audit_and_event(
            db, workspace_id, "oauth_app.revoked", "oauth_app", app.id, {"name": app.name}, actor
        )
        db.commit()
        services.credentials.clear()
    return app


def _secret_ok(services: Services, app: OAuthApp, secret: str) -> bool:
    presented = hash_secret(services.secrets.pepper, secret)
    if app.secret_hash and hmac.compare_digest(app.secret_hash, presented):
        return True
    return bool(
        app.previous_secret_hash
        and app.previous_secret_expires_at is not None
        and app.previous_secret_expires_at > utcnow()
        and hmac.compare_digest(app.previous_secret_hash, presented)
    )


def _app(db: Session, client_id: str | None) -> OAuthApp | None:
    # Ids are short and plain: anything else is no app (and never reaches the database).
    if not client_id or len(client_id) > 40 or "\x00" in client_id:
        return None
    return db.get(OAuthApp, client_id)


def authenticate_app(db: Session, services: Services, client_id: str | None, secret: str | None) -> OAuthApp:
    """The app making a token request: a confidential one with its secret (or the rolled one
    within its window), a public one by its id alone. ``invalid_client`` otherwise."""
    app = _app(db, client_id)
    if app is None or app.revoked_at is not None:
        raise OAuthRefused("invalid_client", "client authentication failed", unauthenticated=True)
    if app.confidential and (not secret or not _secret_ok(services, app, secret)):
        raise OAuthRefused("invalid_client", "client authentication failed", unauthenticated=True)
    return app


def check_redirect(db: Session, client_id: str | None, redirect_uri: str | None) -> OAuthApp | None:
    """The app if ``redirect_uri`` is exactly one it registered; None otherwise (the caller
    shows an error page and never redirects)."""
    app = _app(db, client_id)
    if app is None or app.revoked_at is not None or redirect_uri not in app.redirect_uris:
        return None
    return app


def consent(
    db: Session,
    services: Services,
    app: OAuthApp,
    user: User,
    requested: list[str],
    redirect_uri: str,
    code_challenge: str,
) -> tuple[OAuthGrant, str]:
    """A grant of ``requested`` narrowed to what the member holds, and its authorization code.
    ``invalid_scope`` when nothing is left."""
    held = member_scopes(db, app.workspace_id, user.id)
    granted = sorted(s for s in set(requested) if s in app.scopes and s in held)
    if not granted:
        raise OAuthRefused("invalid_scope", "none of the requested scopes can be granted")
    now = utcnow()
    grant = OAuthGrant(
        id=new_id("grt"),
        workspace_id=app.workspace_id,
        app_id=app.id,
        user_id=user.id,
        scopes=granted,
        created_at=now,
    )
    db.add(grant)
    db.flush()
    code = secrets.token_urlsafe(32)
    db.add(
        OAuthCode(
            code_hash=hash_secret(services.secrets.pepper, code),
            grant_id=grant.id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            expires_at=now + timedelta(seconds=services.settings.authorization_code_ttl),
        )
    )
    _audit_and_event(
        db,
        app.workspace_id,
        "oauth_grant.created",
        "oauth_grant",
        grant.id,
        {"app_id": app.id, "user_id": user.id, "scopes": granted},
        {"actor_type": "user", "actor_id": user.id},
    )
    db.commit()
    return grant, code


def _revoke_grant_now(db: Session, services: Services, grant: OAuthGrant, reason: str, actor: Actor) -> None:
    if grant.revoked_at is not None:
        return
    grant.revoked_at = utcnow()
    grant.revoked_reason = reason
    _audit_and_event(
        db,
        grant.workspace_id,
        "oauth_grant.revoked",
        "oauth_grant",
        grant.id,
        {"app_id": grant.app_id, "user_id": grant.user_id, "reason": reason},
        actor,
    )
    db.commit()
    services.credentials.clear()


def _tokens(db: Session, services: Services, grant: OAuthGrant) -> dict[str, Any]:
    """A new access token and refresh token of ``grant`` (committed)."""
    ttl = services.settings.token_ttl
    access = services.secrets.issue_token(
        issuer=services.issuer,
        audience=services.audience,
        client_id=grant.app_id,
        workspace_id=grant.workspace_id,
        scopes=list(grant.scopes),
        ttl=ttl,
        subject=grant.user_id,
        grant_id=grant.id,
    )
    refresh_token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        OAuthRefreshToken(
            token_hash=hash_secret(services.secrets.pepper, refresh_token),
            grant_id=grant.id,
            created_at=now,
            expires_at=now + timedelta(seconds=services.settings.refresh_token_ttl),
        )
    )
    db.commit()
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": refresh_token,
        "scope": " ".join(grant.scopes),
    }


PKCE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
"""A PKCE code verifier (RFC 7636 section 4.1): unreserved characters, 43 to 128 of them."""


def _pkce_s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def exchange_code(
    db: Session,
    services: Services,
    app: OAuthApp,
    code: str | None,
    redirect_uri: str | None,
    verifier: str | None,
) -> dict[str, Any]:
    if not code:
        raise OAuthRefused("invalid_request", "code is required")
    row = db.get(OAuthCode, hash_secret(services.secrets.pepper, code))
    grant = db.get(OAuthGrant, row.grant_id) if row is not None else None
    if row is None or grant is None or grant.app_id != app.id:
        raise OAuthRefused("invalid_grant", "the code is not valid")
    # Checked before the code is used up: a malformed request leaves it to a good one.
    if redirect_uri != row.redirect_uri:
        raise OAuthRefused("invalid_grant", "redirect_uri does not match the authorization request")
    if not verifier:
        raise OAuthRefused("invalid_grant", "code_verifier is required (PKCE)")
    if not PKCE_VERIFIER.fullmatch(verifier):
        raise OAuthRefused("invalid_grant", "code_verifier must be 43-128 characters of A-Z a-z 0-9 . _ ~ -")
    # Used once, claimed in one statement; a second use means the code leaked: end the grant.
    claimed = db.execute(
        update(OAuthCode)
        .where(OAuthCode.code_hash == row.code_hash, OAuthCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    db.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        _revoke_grant_now(db, services, grant, "code_replayed", SYSTEM_ACTOR)
        raise OAuthRefused("invalid_grant", "the code was already used")
    if row.expires_at <= utcnow():
        raise OAuthRefused("invalid_grant", "the code expired")
    if grant.revoked_at is not None:
        raise OAuthRefused("invalid_grant", "the grant was revoked")
    if not hmac.compare_digest(_pkce_s256(verifier), row.code_challenge):
        raise OAuthRefused("invalid_grant", "code_verifier does not match the code challenge")
    return _tokens(db, services, grant)


def refresh(db: Session, services: Services, app: OAuthApp, token: str | None) -> dict[str, Any]:
    if not token:
        raise OAuthRefused("invalid_request", "refresh_token is required")
    row = db.get(OAuthRefreshToken, hash_secret(services.secrets.pepper, token))
    grant = db.get(OAuthGrant, row.grant_id) if row is not None else None
    if row is None or grant is None or grant.app_id != app.id:
        raise OAuthRefused("invalid_grant", "the refresh token is not valid")
    claimed = db.execute(
        update(OAuthRefreshToken)
        .where(OAuthRefreshToken.token_hash == row.token_hash, OAuthRefreshToken.rotated_at.is_(None))
        .values(rotated_at=utcnow())
    )
    db.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        _revoke_grant_now(db, services, grant, "refresh_token_reused", SYSTEM_ACTOR)
        raise OAuthRefused("invalid_grant", "the refresh token was already used; the grant is revoked")
    if grant.revoked_at is not None:
        raise OAuthRefused("invalid_grant", "the grant was revoked")
    if row.expires_at <= utcnow():
        raise OAuthRefused("invalid_grant", "the refresh token expired")
    if not member_scopes(db, grant.workspace_id, grant.user_id):
        raise OAuthRefused("invalid_grant", "the member no longer belongs to the workspace")
    return _tokens(db, services, grant)


def _grant_of_access_token(services: Services, token: str) -> dict[str, Any] | None:
    try:
        claims = services.secrets.verify_token(token, issuer=services.issuer, audience=services.audience)
    except jwt.InvalidTokenError:
        return None
    return claims


def revoke_token(db: Session, services: Services, app: OAuthApp, token: str | None) -> None:
    """RFC 7009: a refresh or access token of this app revokes its grant; anything else
    (unknown, another app's) is answered the same, with nothing done."""
    if not token:
        raise OAuthRefused("invalid_request", "token is required")
    row = db.get(OAuthRefreshToken, hash_secret(services.secrets.pepper, token))
    grant_id = row.grant_id if row is not None else None
    if grant_id is None and token.count(".") == 2:
        claims = _grant_of_access_token(services, token)
        grant_id = claims.get("gid") if claims else None
    grant = db.get(OAuthGrant, grant_id) if grant_id else None
    if grant is not None and grant.app_id == app.id:
        _revoke_grant_now(db, services, grant, "revoked_by_app", {"actor_type": "oauth", "actor_id": app.id})


def introspect(db: Session, services: Services, workspace_id: str, token: str | None) -> dict[str, Any]:
    """RFC 7662 for the workspace's admins: ``active`` and the claims of a live access or
    refresh token of this workspace; ``{"active": false}`` for anything else."""
    inactive: dict[str, Any] = {"active": False}
    if not token:
        return inactive
    row = db.get(OAuthRefreshToken, hash_secret(services.secrets.pepper, token))
    if row is not None:
        grant = db.get(OAuthGrant, row.grant_id)
        if grant is None or row.rotated_at is not None or row.expires_at <= utcnow():
            return inactive
        expires, kind, scopes = int(row.expires_at.timestamp()), "refresh_token", list(grant.scopes)
    else:
        claims = _grant_of_access_token(services, token) if token.count(".") == 2 else None
        grant = db.get(OAuthGrant, claims["gid"]) if claims and claims.get("gid") else None
        if claims is None or grant is None:
            return inactive
        held = member_scopes(db, grant.workspace_id, grant.user_id)
        granted = expand_scopes(str(claims.get("scope", "")).split()) | set(
            str(claims.get("scope", "")).split()
        )
        expires, kind, scopes = int(claims["exp"]), "access_token", sorted(granted & held)
    if grant.workspace_id != workspace_id or grant.revoked_at is not None:
        return inactive
    app = db.get(OAuthApp, grant.app_id)
    if app is None or app.revoked_at is not None or not member_scopes(db, grant.workspace_id, grant.user_id):
        return inactive
    return {
        "active": True,
        "scope": " ".join(scopes),
        "client_id": grant.app_id,
        "sub": grant.user_id,
        "exp": expires,
        "iat": int(grant.created_at.timestamp()) if kind == "refresh_token" else None,
        "token_type": "Bearer" if kind == "access_token" else kind,
        "iss": services.issuer,
        "workspace_id": grant.workspace_id,
    }


def grant_json(grant: OAuthGrant, app: OAuthApp | None) -> dict[str, Any]:
    return {
        "id": grant.id,
        "app": {"id": grant.app_id, "name": app.name if app else None},
        "user_id": grant.user_id,
        "scopes": list(grant.scopes),
        "created_at": json_ready(grant.created_at),
        "revoked_at": json_ready(grant.revoked_at),
    }


def grant_query(workspace_id: str, user_id: str | None = None) -> Select[Any]:
    """The workspace's live grants (``user_id``: one member's)."""
    query = select(OAuthGrant).where(OAuthGrant.workspace_id == workspace_id, OAuthGrant.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(OAuthGrant.user_id == user_id)
    return query


def connected_app_json(db: Session, grant: OAuthGrant) -> dict[str, Any]:
    """The representation of a grant, with its app."""
    return grant_json(grant, db.get(OAuthApp, grant.app_id))


def connected_apps_json(db: Session, grants: Sequence[OAuthGrant]) -> list[dict[str, Any]]:
    """The representations of ``grants`` (a page of :func:`grant_query`) in their order, with
    their apps."""
    found = {a.id: a for a in db.scalars(select(OAuthApp).where(OAuthApp.id.in_({g.app_id for g in grants})))}
    return [grant_json(g, found.get(g.app_id)) for g in grants]


def revoke_own_grant(db: Session, services: Services, grant_id: str, user_id: str) -> dict[str, Any]:
    """A person disconnects an app they connected (in whichever workspace); NotFound for any
    other grant (another's is not shown to exist)."""
    grant = db.get(OAuthGrant, grant_id)
    if grant is None or grant.user_id != user_id:
        raise NotFound(f"no connected app {grant_id}")
    revoke_grant(
        db,
        services,
        grant.workspace_id,
        grant_id,
        user_id=user_id,
        actor={"actor_type": "user", "actor_id": user_id},
    )
    return connected_app_json(db, grant)


def revoke_grant(
    db: Session, services: Services, workspace_id: str, grant_id: str, *, user_id: str | None, actor: Actor
) -> OAuthGrant:
    """A member disconnects an app (``user_id``: only their own grants); an admin any."""
    grant = owned(db, OAuthGrant, grant_id, workspace_id, "connected app")
    if user_id is not None and grant.user_id != user_id:
        raise Conflict("this app was connected by another member")
    _revoke_grant_now(db, services, grant, "disconnected", actor)
    return grant
