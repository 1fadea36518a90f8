"""API keys and OAuth clients of a workspace: create (the secret is returned once), list,
revoke, roll, and the client-credentials exchange for access tokens.

The API, the CLI (``reelforge keys …``) and the first start (:func:`reelforge.services.workspaces.bootstrap`)
all make keys here, so every key is audited the same way.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.events import record_event
from reelforge.db.models import ApiKey, OAuthClient, new_id, utcnow
from reelforge.representations import json_ready

from .audit import SYSTEM_ACTOR, Actor
from .context import Services, owned
from .credentials import INSTALLATION_SCOPES, SCOPES, expand_scopes, generate_api_key, hash_secret
from .errors import Conflict, Forbidden, NotFound

__all__ = [
    "MAX_GRACE",
    "OAuthRefused",
    "check_grant",
    "client_query",
    "create_client",
    "create_key",
    "get_key",
    "issue_token",
    "key_query",
    "known_scopes",
    "revoke",
    "revoke_client",
    "revoke_key",
    "revoke_key_by_id",
    "roll",
    "roll_by_id",
    "roll_client",
    "roll_key",
    "workspace_keys",
]

MAX_GRACE = timedelta(days=7)
"""The longest an old key keeps working after a roll."""


def known_scopes(scopes: Collection[str], *, operator: bool = False) -> list[str]:
    """``scopes`` sorted and without repeats; ValueError naming those that are not scopes.
    ``operator``: the installation's powers (``operator``, ``metrics``) are allowed too (only the
    CLI grants them)."""
    allowed = (*SCOPES, *INSTALLATION_SCOPES) if operator else SCOPES
    unknown = [s for s in scopes if s not in allowed]
    if unknown:
        raise ValueError(f"unknown scopes {unknown}; choose from {', '.join(SCOPES)}")
    return sorted(set(scopes))


def _audited_event(
    db: Session,
    *,
    workspace_id: str,
    action: str,
    resource_type: str,
    resource_id: str,
    details: dict[str, Any],
    **actor: Any,
) -> None:
    """A credential change is both audited and an event (``type`` = the audit action), so
    webhooks and ``GET /v1/events`` see keys and clients made, rolled and revoked. The event
    carries what the audit entry does, never a secret."""
    record_audit(
        db,
        workspace_id=workspace_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        details=details,
        **actor,
    )
    record_event(
        db,
        workspace_id=workspace_id,
        type=action,
        resource_type=resource_type,
        resource_id=resource_id,
        data={"id": resource_id, **details},
    )


def check_grant(held: Collection[str], scopes: Collection[str], action: str = "grant") -> None:
    """No credential can hand out more than it holds (403 ``forbidden``), nor ``action`` (roll,
    revoke) a credential that holds more: otherwise a ``keys:write`` key could take an admin's
    key or client away, or mint its successor."""
    beyond = sorted(expand_scopes(list(scopes)) - set(held))
    if beyond:
        if action == "grant":
            raise Forbidden(f"you cannot grant scopes you do not hold: {', '.join(beyond)}")
        raise Forbidden(f"you cannot {action} a credential with scopes you do not hold: {', '.join(beyond)}")


def create_key(
    db: Session,
    services: Services,
    workspace_id: str,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    *,
    actor: Actor = SYSTEM_ACTOR,
    commit: bool = True,
) -> tuple[ApiKey, str]:
    """A new key and its token (shown once), audited as ``key.created`` by ``actor``."""
    generated = generate_api_key(services.settings.key_environment)
    key = ApiKey(
        id=new_id("key"),
        workspace_id=workspace_id,
        name=name,
        lookup=generated.lookup,
        prefix=generated.prefix,
        hash=hash_secret(services.secrets.pepper, generated.token),
        last4=generated.last4,
        scopes=scopes,
        expires_at=expires_at,
    )
    db.add(key)
    _audited_event(
        db,
        workspace_id=workspace_id,
        action="key.created",
        resource_type="api_key",
        resource_id=key.id,
        details={
            "name": name,
            "scopes": list(scopes),
            "prefix": key.prefix,
            "expires_at": json_ready(expires_at),
        },
        **actor,
    )
    if commit:
        db.commit()
    return key, generated.token


def key_query(workspace_id: str) -> Select[Any]:
    """The workspace's keys (a list pages it)."""
    return select(ApiKey).where(ApiKey.workspace_id == workspace_id)


def get_key(db: Session, workspace_id: str, key_id: str) -> ApiKey:
    return owned(db, ApiKey, key_id, workspace_id, "API key")


def workspace_keys(db: Session, workspace_id: str) -> list[ApiKey]:
    """All of the workspace's keys, oldest first (the operator's CLI lists them whole)."""
    return list(db.scalars(key_query(workspace_id).order_by(ApiKey.created_at, ApiKey.id)))


def roll_key(
    db: Session,
    services: Services,
    old: ApiKey,
    grace: timedelta,
    *,
    actor: Actor = SYSTEM_ACTOR,
    commit: bool = True,
) -> tuple[ApiKey, str]:
    """A new key with the same name and scopes; the old one keeps working for ``grace`` (never
    longer than it would have anyway). One transaction, audited as ``key.rolled`` on the old
    key. ``commit=False`` leaves the commit (and clearing the credential cache after it) to the
    caller."""
    new, token = create_key(
        db, services, old.workspace_id, old.name, list(old.scopes), actor=actor, commit=False
    )
    expiry = utcnow() + min(grace, MAX_GRACE)
    old.expires_at = min(old.expires_at, expiry) if old.expires_at else expiry
    _audited_event(
        db,
        workspace_id=old.workspace_id,
        action="key.rolled",
        resource_type="api_key",
        resource_id=old.id,
        details={"replaced_by": new.id, "old_expires_at": json_ready(old.expires_at)},
        **actor,
    )
    if commit:
        db.commit()
        services.credentials.clear()
    return new, token


def roll(
    db: Session,
    services: Services,
    workspace_id: str,
    key_id: str,
    grace: timedelta,
    *,
    held: Collection[str],
    actor: Actor,
) -> tuple[ApiKey, ApiKey, str]:
    """Roll key ``key_id`` of the workspace for a caller holding ``held``: the old key, the new
    one and its token, uncommitted (the caller commits, then clears the credential cache).
    409 for a revoked key; 403 when the key has scopes the caller does not hold."""
    old = get_key(db, workspace_id, key_id)
    if old.revoked_at is not None:
        raise Conflict("a revoked key cannot be rolled")
    check_grant(held, list(old.scopes), "roll")
    new, token = roll_key(db, services, old, grace, actor=actor, commit=False)
    return old, new, token


def roll_by_id(
    db: Session, services: Services, key_id: str, grace: timedelta, *, actor: Actor = SYSTEM_ACTOR
) -> tuple[ApiKey, ApiKey, str]:
    """Roll any workspace's key ``key_id`` (the operator's CLI), committed: the old key, the new
    one and its token; 404 when there is no such key or it was revoked."""
    old = db.get(ApiKey, key_id)
    if old is None or old.revoked_at is not None:
        raise NotFound(f"no active key {key_id}")
    new, token = roll_key(db, services, old, grace, actor=actor)
    return old, new, token


def revoke_key(db: Session, services: Services, key: ApiKey, *, actor: Actor = SYSTEM_ACTOR) -> None:
    """Revoke ``key`` now (audited as ``key.revoked``); revoking again changes nothing."""
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    _audited_event(
        db,
        workspace_id=key.workspace_id,
        action="key.revoked",
        resource_type="api_key",
        resource_id=key.id,
        details={"name": key.name, "prefix": key.prefix},
        **actor,
    )
    db.commit()
    services.credentials.clear()


def revoke(
    db: Session, services: Services, workspace_id: str, key_id: str, *, held: Collection[str], actor: Actor
) -> ApiKey:
    """Revoke key ``key_id`` of the workspace for a caller holding ``held`` (committed); 403 when
    the key has scopes the caller does not hold (an admin may revoke any key of its workspace)."""
    key = get_key(db, workspace_id, key_id)
    check_grant(held, list(key.scopes), "revoke")
    revoke_key(db, services, key, actor=actor)
    return key


def revoke_key_by_id(db: Session, services: Services, key_id: str, *, actor: Actor = SYSTEM_ACTOR) -> ApiKey:
    """Revoke any workspace's key ``key_id`` (the operator's CLI); 404 when there is none."""
    key = db.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no key {key_id}")
    revoke_key(db, services, key, actor=actor)
    return key


# ---------------------------------------------------------------- OAuth 2.0 client credentials


def create_client(
    db: Session,
    services: Services,
    workspace_id: str,
    name: str,
    scopes: list[str],
    *,
    held: Collection[str],
    actor: Actor,
) -> tuple[OAuthClient, str]:
    """A new client and its secret (shown once), audited, flushed but not committed."""
    check_grant(held, scopes)
    secret = secrets.token_urlsafe(32)
    client = OAuthClient(
        id=new_id("cli"),
        workspace_id=workspace_id,
        name=name,
        secret_hash=hash_secret(services.secrets.pepper, secret),
        scopes=scopes,
    )
    db.add(client)
    _audited_event(
        db,
        workspace_id=client.workspace_id,
        action="oauth_client.created",
        resource_type="oauth_client",
        resource_id=client.id,
        details={"name": client.name, "scopes": list(client.scopes)},
        **actor,
    )
    db.flush()  # defaults (created_at) are set
    return client, secret


def client_query(workspace_id: str) -> Select[Any]:
    return select(OAuthClient).where(OAuthClient.workspace_id == workspace_id)


def revoke_client(
    db: Session,
    services: Services,
    workspace_id: str,
    client_id: str,
    *,
    held: Collection[str],
    actor: Actor,
) -> OAuthClient:
    """Revoke the client and so every token it got (audited); revoking again changes nothing.
    403 when the client has scopes the caller (``held``) does not hold."""
    client = owned(db, OAuthClient, client_id, workspace_id, "OAuth client")
    check_grant(held, list(client.scopes), "revoke")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        _audited_event(
            db,
            workspace_id=client.workspace_id,
            action="oauth_client.revoked",
            resource_type="oauth_client",
            resource_id=client.id,
            details={"name": client.name},
            **actor,
        )
        db.commit()
        services.credentials.clear()
    return client


def roll_client(
    db: Session,
    services: Services,
    workspace_id: str,
    client_id: str,
    grace: timedelta,
    *,
    held: Collection[str],
    actor: Actor,
) -> tuple[OAuthClient, str]:
    """A new secret for the client; the current one keeps working for ``grace`` (at most
    :data:`MAX_GRACE`), then is refused, as a rolled key. Audited as
    ``oauth_client.secret_rolled``; committed."""
    client = owned(db, OAuthClient, client_id, workspace_id, "OAuth client")
    if client.revoked_at is not None:
        raise Conflict("a revoked client cannot be rolled")
    check_grant(held, list(client.scopes), "roll")
    secret = secrets.token_urlsafe(32)
    client.previous_secret_hash = client.secret_hash
    client.previous_secret_expires_at = utcnow() + min(grace, MAX_GRACE)
    client.secret_hash = hash_secret(services.secrets.pepper, secret)
    details = {"previous_secret_expires_at": json_ready(client.previous_secret_expires_at)}
    _audited_event(
        db,
        workspace_id=workspace_id,
        action="oauth_client.secret_rolled",
        resource_type="oauth_client",
        resource_id=client.id,
        details=details,
        **actor,
    )
    db.commit()
    return client, secret


@dataclass
class OAuthRefused(Exception):
    """An RFC 6749 error (``invalid_client``, ``invalid_scope``...): token clients expect these,
    not problems. ``unauthenticated``: the client's credentials were refused (401)."""

    error: str
    description: str
    unauthenticated: bool = False


def issue_token(
    db: Session, services: Services, client_id: str | None, client_secret: str | None, scope: str | None
) -> dict[str, Any]:
    """An access token for a client's credentials, narrowed to ``scope`` (space-separated) if
    given; :class:`OAuthRefused` otherwise."""
    if not client_id or not client_secret or len(client_id) > 40 or "\x00" in client_id:
        raise OAuthRefused("invalid_client", "client authentication failed", unauthenticated=True)
    client = db.get(OAuthClient, client_id)
    presented = hash_secret(services.secrets.pepper, client_secret)
    if (
        client is None
        or client.revoked_at is not None
        or not (
            hmac.compare_digest(client.secret_hash, presented)
            or (
                client.previous_secret_hash is not None
                and client.previous_secret_expires_at is not None
                and client.previous_secret_expires_at > utcnow()
                and hmac.compare_digest(client.previous_secret_hash, presented)
            )
        )
    ):
        raise OAuthRefused("invalid_client", "client authentication failed", unauthenticated=True)
    granted = list(client.scopes)
    if scope:
        requested = scope.split()
        if not set(requested) <= expand_scopes(granted):
            raise OAuthRefused("invalid_scope", "the client may not request these scopes")
        granted = requested
    ttl = services.settings.token_ttl
    access = services.secrets.issue_token(
        issuer=services.issuer,
        audience=services.audience,
        client_id=client.id,
        workspace_id=client.workspace_id,
        scopes=granted,
        ttl=ttl,
    )
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": " ".join(granted)}
