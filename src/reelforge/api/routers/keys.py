"""API keys and OAuth clients of a workspace: create (the secret is shown once), list, revoke, roll."""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.models import ApiKey, OAuthClient, new_id, utcnow
from reelforge.services.context import Services, owned
from reelforge.services.credentials import SCOPES, expand_scopes, generate_api_key, hash_secret

from .. import examples as ex
from ..audit import SYSTEM_ACTOR, audit_actor
from ..auth import Principal, require
from ..deps import get_db, get_services
from ..idempotency import Idempotency, idempotency
from ..pagination import list_body, page
from ..problems import ApiError
from ..responses import json_ready

router = APIRouter(tags=["keys"])

MAX_GRACE = timedelta(days=7)


def _known_scopes(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scopes {unknown}; choose from {', '.join(SCOPES)}")
    return sorted(set(scopes))


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("", max_length=200)
    scopes: list[str] = Field(min_length=1, examples=[["renders:write", "renders:read", "assets:read"]])
    expires_at: datetime | None = None

    _known = field_validator("scopes")(_known_scopes)


class KeyRoll(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_seconds: int = Field(86400, ge=0, le=int(MAX_GRACE.total_seconds()))
    """How long the old key keeps working."""


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("", max_length=200)
    scopes: list[str] = Field(min_length=1)

    _known = field_validator("scopes")(_known_scopes)


def key_json(key: ApiKey, token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": key.id,
        "object": "api_key",
        "name": key.name,
        "prefix": key.prefix,
        "last4": key.last4,
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }
    if token is not None:
        body["token"] = token
    return body


def _check_grant(principal: Principal, scopes: list[str]) -> None:
    """No credential can hand out more than it holds."""
    beyond = sorted(expand_scopes(scopes) - principal.scopes)
    if beyond:
        raise ApiError("forbidden", f"you cannot grant scopes you do not hold: {', '.join(beyond)}")


def create_key(
    db: Session,
    services: Services,
    workspace_id: str,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    *,
    actor: Mapping[str, Any] = SYSTEM_ACTOR,
    commit: bool = True,
) -> tuple[ApiKey, str]:
    """A new key, audited as ``key.created`` by ``actor`` (see :mod:`reelforge.api.audit`)."""
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
    record_audit(
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


def roll_key(
    db: Session,
    services: Services,
    old: ApiKey,
    grace: timedelta,
    *,
    actor: Mapping[str, Any] = SYSTEM_ACTOR,
    commit: bool = True,
) -> tuple[ApiKey, str]:
    """A new key with the same scopes; the old one keeps working for ``grace`` (never longer
    than it would have anyway). One transaction, audited as ``key.rolled`` on the old key.
    ``commit=False`` leaves the commit (and clearing the credential cache after it) to the caller."""
    new, token = create_key(
        db, services, old.workspace_id, old.name, list(old.scopes), actor=actor, commit=False
    )
    expiry = utcnow() + min(grace, MAX_GRACE)
    old.expires_at = min(old.expires_at, expiry) if old.expires_at else expiry
    record_audit(
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


def revoke_key(
    db: Session, services: Services, key: ApiKey, *, actor: Mapping[str, Any] = SYSTEM_ACTOR
) -> None:
    """Revoke ``key`` now (audited as ``key.revoked``); revoking again changes nothing."""
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    record_audit(
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


def _key(db: Session, principal: Principal, key_id: str) -> ApiKey:
    return owned(db, ApiKey, key_id, principal.workspace_id, "API key")


@router.post(
    "/v1/keys",
    status_code=201,
    summary="Create an API key (its token is shown only here)",
    responses=ex.CREATE_KEY_RESPONSES,
)
def create(
    body: Annotated[KeyCreate, Body(openapi_examples=ex.CREATE_KEY_BODY)],
    request: Request,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("keys:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Scopes are per family and access (`assets:read`, `renders:write`, ...) or `admin`; a
    credential can only grant scopes it holds. `expires_at` (optional) ends the key by itself."""
    _check_grant(principal, body.scopes)
    key, token = create_key(
        db,
        services,
        principal.workspace_id,
        body.name,
        body.scopes,
        body.expires_at,
        actor=audit_actor(principal, request),
        commit=False,
    )
    db.flush()  # defaults (created_at) are set
    created = key_json(key, token)
    idem.stage(db, created, status=201, secret=True)  # the token is stored encrypted, with the key
    db.commit()
    return created


@router.get(
    "/v1/keys",
    summary="List API keys (prefix and last use; never the secret)",
    responses=ex.LIST_KEYS_RESPONSES,
)
def list_keys(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("keys:read")),
) -> dict[str, Any]:
    query = select(ApiKey).where(ApiKey.workspace_id == principal.workspace_id)
    rows, nxt = page(
        request,
        response,
        query,
        ApiKey,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={},
        db=db,
    )
    return list_body(request, [key_json(k) for k in rows], nxt)


@router.get("/v1/keys/{key_id}", summary="Get an API key", responses=ex.GET_KEY_RESPONSES)
def get_key(
    key_id: str, db: Session = Depends(get_db), principal: Principal = Depends(require("keys:read"))
) -> dict[str, Any]:
    return key_json(_key(db, principal, key_id))


@router.post("/v1/keys/{key_id}/revoke", summary="Revoke an API key now", responses=ex.REVOKE_KEY_RESPONSES)
def revoke(
    key_id: str,
    request: Request,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("keys:write")),
) -> dict[str, Any]:
    key = _key(db, principal, key_id)
    revoke_key(db, services, key, actor=audit_actor(principal, request))
    return key_json(key)


@router.post(
    "/v1/keys/{key_id}/roll",
    status_code=201,
    summary="Replace an API key: a new key now, the old one expires after a grace period",
    responses=ex.ROLL_KEY_RESPONSES,
)
def roll(
    key_id: str,
    request: Request,
    body: Annotated[KeyRoll | None, Body(openapi_examples=ex.ROLL_KEY_BODY)] = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("keys:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The new key has the old one's name and scopes. The old key keeps working for
    `grace_seconds` (default 86400, at most 7 days; never beyond its own expiry), so deployed
    clients can switch over."""
    old = _key(db, principal, key_id)
    if old.revoked_at is not None:
        raise ApiError("conflict", "a revoked key cannot be rolled")
    _check_grant(principal, list(old.scopes))
    new, token = roll_key(
        db,
        services,
        old,
        timedelta(seconds=(body or KeyRoll()).grace_seconds),
        actor=audit_actor(principal, request),
        commit=False,
    )
    db.flush()  # defaults (created_at) are set
    rolled = {**key_json(new, token), "replaces": key_json(old)}
    idem.stage(db, rolled, status=201, secret=True)  # the token is stored encrypted, with the key
    db.commit()
    services.credentials.clear()
    return rolled


# ---------------------------------------------------------------- OAuth 2.0 client credentials


def client_json(client: OAuthClient, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": client.id,
        "object": "oauth_client",
        "name": client.name,
        "scopes": list(client.scopes),
        "created_at": client.created_at,
        "revoked_at": client.revoked_at,
    }
    if secret is not None:
        body["client_secret"] = secret
    return body


@router.post(
    "/v1/oauth/clients",
    status_code=201,
    summary="Create an OAuth client (its secret is shown only here)",
    responses=ex.CREATE_CLIENT_RESPONSES,
)
def create_client(
    body: Annotated[ClientCreate, Body(openapi_examples=ex.CREATE_CLIENT_BODY)],
    request: Request,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("keys:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    _check_grant(principal, body.scopes)
    secret = secrets.token_urlsafe(32)
    client = OAuthClient(
        id=new_id("cli"),
        workspace_id=principal.workspace_id,
        name=body.name,
        secret_hash=hash_secret(services.secrets.pepper, secret),
        scopes=body.scopes,
    )
    db.add(client)
    record_audit(
        db,
        workspace_id=client.workspace_id,
        action="oauth_client.created",
        resource_type="oauth_client",
        resource_id=client.id,
        details={"name": client.name, "scopes": list(client.scopes)},
        **audit_actor(principal, request),
    )
    db.flush()  # defaults (created_at) are set
    created = client_json(client, secret)
    idem.stage(db, created, status=201, secret=True)  # the secret is stored encrypted, with the client
    db.commit()
    return created


@router.get("/v1/oauth/clients", summary="List OAuth clients", responses=ex.LIST_CLIENTS_RESPONSES)
def list_clients(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("keys:read")),
) -> dict[str, Any]:
    query = select(OAuthClient).where(OAuthClient.workspace_id == principal.workspace_id)
    rows, nxt = page(
        request,
        response,
        query,
        OAuthClient,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={},
        db=db,
    )
    return list_body(request, [client_json(c) for c in rows], nxt)


@router.post(
    "/v1/oauth/clients/{client_id}/revoke",
    summary="Revoke an OAuth client and its tokens",
    responses=ex.REVOKE_CLIENT_RESPONSES,
)
def revoke_client(
    client_id: str,
    request: Request,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("keys:write")),
) -> dict[str, Any]:
    client = owned(db, OAuthClient, client_id, principal.workspace_id, "OAuth client")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        record_audit(
            db,
            workspace_id=client.workspace_id,
            action="oauth_client.revoked",
            resource_type="oauth_client",
            resource_id=client.id,
            details={"name": client.name},
            **audit_actor(principal, request),
        )
        db.commit()
        services.credentials.clear()
    return client_json(client)


def _oauth_error(error: str, description: str, status: int = 400, basic: bool = False) -> JSONResponse:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth"' if basic else 'Bearer realm="oauth"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


@router.post(
    "/v1/oauth/token",
    summary="Exchange client credentials for an access token (RFC 6749 §4.4)",
    openapi_extra=ex.TOKEN_BODY,
    responses=ex.TOKEN_RESPONSES,
)
def token(
    request: Request,
    grant_type: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
) -> JSONResponse:
    """Authenticate the client with HTTP Basic (`client_id:client_secret`, preferred) or with
    `client_id` and `client_secret` form fields; `scope` (space-separated) narrows the token to
    some of the client's scopes. Errors are OAuth errors (`{"error": ...}`), not problems."""
    # OAuth clients expect RFC 6749 errors here, not problem+json.
    header = request.headers.get("authorization", "")
    basic = header.lower().startswith("basic ")
    if basic:
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            client_id, _, client_secret = decoded.partition(":")
        except (ValueError, UnicodeDecodeError):
            return _oauth_error("invalid_request", "malformed Basic credentials")
    if grant_type is None:
        return _oauth_error("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type", "only client_credentials is supported")
    if not client_id or not client_secret:
        return _oauth_error("invalid_client", "client authentication failed", 401, basic)
    client = db.get(OAuthClient, client_id)
    if (
        client is None
        or client.revoked_at is not None
        or not hmac.compare_digest(client.secret_hash, hash_secret(services.secrets.pepper, client_secret))
    ):
        return _oauth_error("invalid_client", "client authentication failed", 401, basic)
    granted = list(client.scopes)
    if scope:
        requested = scope.split()
        if not set(requested) <= expand_scopes(granted):
            return _oauth_error("invalid_scope", "the client may not request these scopes")
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
    return JSONResponse(
        {"access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": " ".join(granted)},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.get("/.well-known/jwks.json", include_in_schema=False)
def jwks(services: Services = Depends(get_services)) -> dict[str, Any]:
    return services.secrets.jwks()
