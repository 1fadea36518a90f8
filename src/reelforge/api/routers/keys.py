"""API keys and OAuth clients of a workspace: create (the secret is shown once), list, revoke, roll."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Body, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from reelforge.db.models import ApiKey, OAuthClient
from reelforge.representations import client_json, key_json
from reelforge.services import connected_apps, keys
from reelforge.services.inputs import InputModel
from reelforge.services.keys import MAX_GRACE

from .. import examples as ex
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import ServicesDep, SessionDep
from ..idempotency import Idempotency, idempotency
from ..pagination import list_body, page

router = APIRouter(tags=["keys"])


def _known_scopes(scopes: list[str]) -> list[str]:
    return keys.known_scopes(scopes)


class KeyCreate(InputModel):
    name: str = Field("", max_length=200)
    scopes: list[str] = Field(min_length=1, examples=[["renders:write", "renders:read", "assets:read"]])
    expires_at: datetime | None = None

    _known = field_validator("scopes")(_known_scopes)


class KeyRoll(InputModel):
    grace_seconds: int = Field(86400, ge=0, le=int(MAX_GRACE.total_seconds()))
    """How long the old key keeps working."""


class ClientCreate(InputModel):
    name: str = Field("", max_length=200)
    scopes: list[str] = Field(min_length=1)

    _known = field_validator("scopes")(_known_scopes)


def _key(db: Session, principal: Principal, key_id: str) -> ApiKey:
    return keys.get_key(db, principal.workspace_id, key_id)


@router.post(
    "/v1/keys",
    status_code=201,
    summary="Create an API key (its token is shown only here)",
    responses=ex.CREATE_KEY_RESPONSES,
)
def create(
    body: Annotated[KeyCreate, Body(openapi_examples=ex.CREATE_KEY_BODY)],
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("keys:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Scopes are per family and access (`assets:read`, `renders:write`, ...) or `admin`; a
    credential can only grant scopes it holds. `expires_at` (optional) ends the key by itself."""
    keys.check_grant(principal.scopes, body.scopes)
    key, token = keys.create_key(
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
    db: SessionDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("keys:read")),
) -> dict[str, Any]:
    rows, nxt = page(
        request,
        response,
        keys.key_query(principal.workspace_id),
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
    key_id: str, db: SessionDep, principal: Principal = Depends(require("keys:read"))
) -> dict[str, Any]:
    return key_json(_key(db, principal, key_id))


@router.post("/v1/keys/{key_id}/revoke", summary="Revoke an API key now", responses=ex.REVOKE_KEY_RESPONSES)
def revoke(
    key_id: str,
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("keys:write")),
) -> dict[str, Any]:
    """A credential can only revoke keys whose scopes it holds itself (`admin`: every key)."""
    key = keys.revoke(
        db,
        services,
        principal.workspace_id,
        key_id,
        held=principal.scopes,
        actor=audit_actor(principal, request),
    )
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
    db: SessionDep,
    services: ServicesDep,
    body: Annotated[KeyRoll | None, Body(openapi_examples=ex.ROLL_KEY_BODY)] = None,
    principal: Principal = Depends(require("keys:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The new key has the old one's name and scopes. The old key keeps working for
    `grace_seconds` (default 86400, at most 7 days; never beyond its own expiry), so deployed
    clients can switch over."""
    old, new, token = keys.roll(
        db,
        services,
        principal.workspace_id,
        key_id,
        timedelta(seconds=(body or KeyRoll()).grace_seconds),
        held=principal.scopes,
        actor=audit_actor(principal, request),
    )
    db.flush()  # defaults (created_at) are set
    rolled = {**key_json(new, token), "replaces": key_json(old)}
    idem.stage(db, rolled, status=201, secret=True)  # the token is stored encrypted, with the key
    db.commit()
    services.credentials.clear()
    return rolled


# ---------------------------------------------------------------- OAuth 2.0 client credentials


@router.post(
    "/v1/oauth/clients",
    status_code=201,
    summary="Create an OAuth client (its secret is shown only here)",
    responses=ex.CREATE_CLIENT_RESPONSES,
)
def create_client(
    body: Annotated[ClientCreate, Body(openapi_examples=ex.CREATE_CLIENT_BODY)],
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("keys:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    client, secret = keys.create_client(
        db,
        services,
        principal.workspace_id,
        body.name,
        body.scopes,
        held=principal.scopes,
        actor=audit_actor(principal, request),
    )
    created = client_json(client, secret)
    idem.stage(db, created, status=201, secret=True)  # the secret is stored encrypted, with the client
    db.commit()
    return created


@router.get("/v1/oauth/clients", summary="List OAuth clients", responses=ex.LIST_CLIENTS_RESPONSES)
def list_clients(
    request: Request,
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("keys:read")),
) -> dict[str, Any]:
    rows, nxt = page(
        request,
        response,
        keys.client_query(principal.workspace_id),
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
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("keys:write")),
) -> dict[str, Any]:
    """A credential can only revoke clients whose scopes it holds itself (`admin`: every client)."""
    client = keys.revoke_client(
        db,
        services,
        principal.workspace_id,
        client_id,
        held=principal.scopes,
        actor=audit_actor(principal, request),
    )
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
    summary="Get an access token: client credentials, authorization code + PKCE, refresh (RFC 6749)",
    openapi_extra=ex.TOKEN_BODY,
    responses=ex.TOKEN_RESPONSES,
)
def token(
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    grant_type: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    code: Annotated[str | None, Form()] = None,
    redirect_uri: Annotated[str | None, Form()] = None,
    code_verifier: Annotated[str | None, Form()] = None,
    refresh_token: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    """Authenticate the client with HTTP Basic (`client_id:client_secret`, preferred) or with
    `client_id` and `client_secret` form fields (a public connected app: `client_id` alone).

    * `client_credentials`: an OAuth client's own token; `scope` (space-separated) narrows it.
    * `authorization_code`: a connected app exchanges the code from `/oauth/authorize` with its
      `redirect_uri` and PKCE `code_verifier` for an access and a refresh token.
    * `refresh_token`: a new access token and a new refresh token (the old one is spent;
      presenting it again revokes the grant).

    Errors are OAuth errors (`{"error": ...}`), not problems."""
    # OAuth clients expect RFC 6749 errors here, not problem+json.
    header = request.headers.get("authorization", "")
    basic = header.lower().startswith("basic ")
    if basic:
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            client_id, _, client_secret = decoded.partition(":")
            client_id, client_secret = unquote_plus(client_id), unquote_plus(client_secret)
        except (ValueError, UnicodeDecodeError):
            return _oauth_error("invalid_request", "malformed Basic credentials")
    if grant_type is None:
        return _oauth_error("invalid_request", "grant_type is required")
    try:
        if grant_type == "client_credentials":
            issued = keys.issue_token(db, services, client_id, client_secret, scope)
        elif grant_type in ("authorization_code", "refresh_token"):
            app = connected_apps.authenticate_app(db, services, client_id, client_secret)
            if grant_type == "authorization_code":
                issued = connected_apps.exchange_code(db, services, app, code, redirect_uri, code_verifier)
            else:
                issued = connected_apps.refresh(db, services, app, refresh_token)
        else:
            return _oauth_error(
                "unsupported_grant_type", "use client_credentials, authorization_code or refresh_token"
            )
    except keys.OAuthRefused as refused:
        status = 401 if refused.unauthenticated else 400
        return _oauth_error(refused.error, refused.description, status, basic)
    return JSONResponse(issued, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/.well-known/jwks.json", include_in_schema=False)
def jwks(services: ServicesDep) -> dict[str, Any]:
    return services.secrets.jwks()
