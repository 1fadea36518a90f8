"""Connected apps: the OAuth 2.0 authorization server (authorization code + PKCE) and the
API that registers apps, rolls their secrets and lists or disconnects them.

``/oauth/authorize`` is a page for people (sign-in, then a consent page); the token endpoint
is ``POST /v1/oauth/token`` (shared with client credentials); revocation (RFC 7009),
introspection (RFC 7662) and the server metadata (RFC 8414) follow the RFCs: OAuth errors
(``{"error": ...}``), not problems.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Body, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import Field
from sqlalchemy.orm import Session

from reelforge.db.accounts import OAuthApp, OAuthGrant, User
from reelforge.representations import client_json
from reelforge.services import accounts, keys
from reelforge.services import connected_apps as apps
from reelforge.services.inputs import InputModel
from reelforge.services.keys import MAX_GRACE, OAuthRefused

from .. import examples_accounts as ex
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import ServicesDep, SessionDep
from ..pagination import list_body, page
from ..sessions import CsrfConsoleSessionDep, OptionalConsoleSessionDep
from ..sessions import page as html_page

# The authorization endpoint and its consent page serve a browser: not in the OpenAPI document.
router = APIRouter(tags=["connected apps"])

_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
"""An S256 code challenge: a SHA-256 digest, base64url without padding."""

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class AppCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    redirect_uris: list[str] = Field(min_length=1, max_length=20)
    client_type: str = Field("confidential", pattern="^(confidential|public)$")
    """``public``: an app that cannot keep a secret (a desktop or single-page app); PKCE alone."""
    scopes: list[str] = Field(min_length=1, max_length=64)


class SecretRoll(InputModel):
    grace_seconds: int = Field(86400, ge=0, le=int(MAX_GRACE.total_seconds()))
    """How long the current secret keeps working next to the new one."""


@router.post(
    "/v1/oauth/apps",
    status_code=201,
    summary="Register a connected app (its secret is shown only here)",
    responses=ex.CREATE_APP_RESPONSES,
)
def create_app(
    body: Annotated[AppCreate, Body(openapi_examples=ex.CREATE_APP_BODY)],
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("keys:write")),
) -> dict[str, Any]:
    app, secret = apps.create_app(
        db,
        services,
        principal.workspace_id,
        body.name,
        body.redirect_uris,
        body.client_type == "confidential",
        body.scopes,
        held=principal.scopes,
        actor=audit_actor(principal, request),
    )
    return apps.app_json(app, secret)


@router.get(
    "/v1/oauth/apps", summary="List the workspace's registered apps", responses=ex.LIST_APPS_RESPONSES
)
def list_apps(
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
        apps.app_query(principal.workspace_id),
        OAuthApp,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={},
        db=db,
    )
    return list_body(request, [apps.app_json(a) for a in rows], nxt)


@router.post(
    "/v1/oauth/apps/{app_id}/roll-secret",
    status_code=201,
    summary="Roll an app's secret with an overlap",
    responses=ex.ROLL_APP_RESPONSES,
)
def roll_app_secret(
    app_id: str,
    body: Annotated[SecretRoll, Body(openapi_examples=ex.ROLL_BODY)],
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("keys:write")),
) -> dict[str, Any]:
    """The old secret keeps working until `previous_secret_expires_at`, then is refused."""
    app, secret = apps.roll_app_secret(
        db,
        services,
        principal.workspace_id,
        app_id,
        timedelta(seconds=body.grace_seconds),
        actor=audit_actor(principal, request),
    )
    return apps.app_json(app, secret)


@router.post(
    "/v1/oauth/apps/{app_id}/revoke",
    summary="Revoke an app and every grant and token of it",
    responses=ex.REVOKE_APP_RESPONSES,
)
def revoke_app(
    app_id: str,
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("keys:write")),
) -> dict[str, Any]:
    return apps.app_json(
        apps.revoke_app(db, services, principal.workspace_id, app_id, actor=audit_actor(principal, request))
    )


@router.post(
    "/v1/oauth/clients/{client_id}/roll-secret",
    status_code=201,
    summary="Roll an OAuth client's secret with an overlap",
    responses=ex.ROLL_CLIENT_RESPONSES,
)
def roll_client_secret(
    client_id: str,
    body: Annotated[SecretRoll, Body(openapi_examples=ex.ROLL_BODY)],
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("keys:write")),
) -> dict[str, Any]:
    """The old secret keeps working until `previous_secret_expires_at`, then is refused."""
    client, secret = keys.roll_client(
        db,
        services,
        principal.workspace_id,
        client_id,
        timedelta(seconds=body.grace_seconds),
        held=principal.scopes,
        actor=audit_actor(principal, request),
    )
    return {**client_json(client, secret), "previous_secret_expires_at": client.previous_secret_expires_at}


@router.get(
    "/v1/connected-apps",
    summary="List the apps members connected to the workspace",
    responses=ex.LIST_CONNECTED_RESPONSES,
)
def list_connected_apps(
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
        apps.grant_query(principal.workspace_id),
        OAuthGrant,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={},
        db=db,
    )
    return list_body(request, apps.connected_apps_json(db, rows), nxt)


@router.post(
    "/v1/connected-apps/{grant_id}/revoke",
    summary="Disconnect an app (its tokens stop working)",
    responses=ex.REVOKE_CONNECTED_RESPONSES,
)
def revoke_connected_app(
    grant_id: str,
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("keys:write")),
) -> dict[str, Any]:
    grant = apps.revoke_grant(
        db, services, principal.workspace_id, grant_id, user_id=None, actor=audit_actor(principal, request)
    )
    return apps.connected_app_json(db, grant)


# ---------------------------------------------------------------- the authorization endpoint


AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _redirect(uri: str, **params: str | None) -> RedirectResponse:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=303, headers=NO_STORE)


def _error_page(message: str, status: int = 400) -> Response:
    return html_page("message.html", status, title="Cannot connect the app", message=message)


def _check_request(
    db: Session, fields: dict[str, str | None]
) -> tuple[OAuthApp | None, Response | None, list[str]]:
    """The app and the requested scopes; or the answer to give: an error page when the client or
    its redirect URI is wrong (never redirect there), else an error sent to the redirect URI."""
    app = apps.check_redirect(db, fields["client_id"], fields["redirect_uri"])
    if app is None:
        return None, _error_page("The app is unknown, or the redirect URI is not one it registered."), []
    uri, state = str(fields["redirect_uri"]), fields["state"]
    if fields["response_type"] != "code":
        return app, _redirect(uri, error="unsupported_response_type", state=state), []
    challenge = fields["code_challenge"] or ""
    if fields["code_challenge_method"] != "S256" or not _CHALLENGE.fullmatch(challenge):
        return (
            app,
            _redirect(
                uri, error="invalid_request", error_description="PKCE with S256 is required", state=state
            ),
            [],
        )
    requested = (fields["scope"] or " ".join(app.scopes)).split()
    if not requested or any(s not in app.scopes for s in requested):
        return app, _redirect(uri, error="invalid_scope", state=state), []
    return app, None, requested


@router.get("/oauth/authorize", include_in_schema=False)
def authorize(request: Request, db: SessionDep, info: OptionalConsoleSessionDep) -> Response:
    fields = {name: request.query_params.get(name) for name in AUTHORIZE_FIELDS}
    app, answer, requested = _check_request(db, fields)
    if answer is not None:
        return answer
    assert app is not None
    if info is None:
        return RedirectResponse(
            "/auth/sign-in?" + urlencode({"next": f"/oauth/authorize?{request.url.query}"}), status_code=303
        )
    held = accounts.member_scopes(db, app.workspace_id, info.user_id)
    if not held:
        return _error_page("You are not a member of the workspace this app belongs to.", 403)
    granted = [s for s in requested if s in held]
    if not granted:
        return _redirect(str(fields["redirect_uri"]), error="invalid_scope", state=fields["state"])
    return html_page(
        "consent.html",
        title="Connect an app",
        app_name=app.name,
        email=info.email,
        scopes=granted,
        refused=[s for s in requested if s not in held],
        csrf_token=info.csrf_token,
        request_fields=[(k, v) for k, v in fields.items() if v is not None],
    )


@router.post("/oauth/authorize", include_in_schema=False)
def authorize_decision(
    db: SessionDep,
    services: ServicesDep,
    info: CsrfConsoleSessionDep,
    decision: Annotated[str, Form()] = "deny",
    response_type: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    redirect_uri: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    state: Annotated[str | None, Form()] = None,
    code_challenge: Annotated[str | None, Form()] = None,
    code_challenge_method: Annotated[str | None, Form()] = None,
) -> Response:
    fields = {
        "response_type": response_type,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": code_challenge_method,
    }
    app, answer, requested = _check_request(db, fields)
    if answer is not None:
        return answer
    assert app is not None and redirect_uri is not None and code_challenge is not None
    if decision != "allow":
        return _redirect(redirect_uri, error="access_denied", state=state)
    user = db.get(User, info.user_id)
    assert user is not None
    try:
        _, code = apps.consent(db, services, app, user, requested, redirect_uri, code_challenge)
    except OAuthRefused as refused:
        return _redirect(redirect_uri, error=refused.error, state=state)
    return _redirect(redirect_uri, code=code, state=state, iss=services.issuer)


# ---------------------------------------------------------------- revocation, introspection, metadata


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def client_credentials(
    request: Request, client_id: str | None, client_secret: str | None
) -> tuple[str | None, str | None]:
    """HTTP Basic (RFC 6749 §2.3.1: form-urlencoded parts) or the form fields."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        user, _, password = decoded.partition(":")
        return unquote_plus(user), unquote_plus(password)
    return client_id, client_secret


@router.post(
    "/v1/oauth/revoke",
    summary="Revoke a connected app's token (RFC 7009)",
    response_class=Response,
    openapi_extra=ex.REVOKE_TOKEN_BODY,
    responses=ex.REVOKE_TOKEN_RESPONSES,
)
def revoke(
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    token: Annotated[str | None, Form()] = None,
    token_type_hint: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> Response:
    """The app authenticates as at the token endpoint: HTTP Basic (`client_id:client_secret`) or
    the form fields (a public app: `client_id` alone). Revoking a refresh or access token ends
    its whole grant; an unknown token, or another app's, is answered the same (200, nothing done).
    Errors are OAuth errors (`{"error": ...}`), not problems."""
    try:
        cid, secret = client_credentials(request, client_id, client_secret)
        app = apps.authenticate_app(db, services, cid, secret)
        apps.revoke_token(db, services, app, token)
    except (ValueError, UnicodeDecodeError):
        return oauth_error("invalid_request", "malformed Basic credentials")
    except OAuthRefused as refused:
        return oauth_error(refused.error, refused.description, 401 if refused.unauthenticated else 400)
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/v1/oauth/introspect",
    summary="Introspect a connected app's token (RFC 7662; admins)",
    openapi_extra=ex.INTROSPECT_BODY,
    responses=ex.INTROSPECT_RESPONSES,
)
def introspect(
    db: SessionDep,
    services: ServicesDep,
    token: Annotated[str | None, Form()] = None,
    token_type_hint: Annotated[str | None, Form()] = None,
    principal: Principal = Depends(require("admin")),
) -> JSONResponse:
    """`{"active": false}` for anything not live in the caller's workspace."""
    return JSONResponse(apps.introspect(db, services, principal.workspace_id, token), headers=NO_STORE)


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
    responses=ex.METADATA_RESPONSES,
)
def metadata(services: ServicesDep) -> dict[str, Any]:
    base = services.issuer
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/v1/oauth/token",
        "revocation_endpoint": f"{base}/v1/oauth/revoke",
        "introspection_endpoint": f"{base}/v1/oauth/introspect",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "scopes_supported": list(apps.APP_SCOPES),
        "authorization_response_iss_parameter_supported": True,
    }
