"""People: sign-in (password and single sign-on), console sessions, invitations, members.

The ``/auth/...`` routes serve people in a browser (server-rendered pages, the session
cookie, CSRF); the ``/v1/members`` and ``/v1/invitations`` routes are the API, for a
credential holding ``admin``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session

from reelforge.db.accounts import Membership, OAuthGrant, User
from reelforge.services import accounts, sso
from reelforge.services import connected_apps as apps
from reelforge.services.errors import Forbidden, Invalid, NotFound, ServiceError
from reelforge.services.inputs import InputModel
from reelforge.services.mail import mail_configured

from .. import examples_accounts as ex
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import ServicesDep, SessionDep
from ..pagination import list_body
from ..pagination import page as page_of
from ..sessions import (
    ConsoleSessionDep,
    CsrfConsoleSessionDep,
    clear_session_cookie,
    page,
    safe_next,
    set_session_cookie,
)

# The pages for people (`/auth/...` sign-in, invitations, single sign-on) are not in the OpenAPI
# document; the JSON routes of a person's session (tag "sessions", the `sessionCookie` scheme)
# and the `/v1` API are.
router = APIRouter(tags=["members"])

SSO_COOKIE = "rf_sso_flow"


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signed_in(request: Request, db: Session, services: Any, user: User, method: str, to: str) -> Response:
    _, token = accounts.create_session(db, services, user, method)
    response = RedirectResponse(to, status_code=303)
    set_session_cookie(request, response, token, services.settings.session_absolute_timeout)
    return response


# ---------------------------------------------------------------- sign-in, sessions


@router.get("/auth/sign-in", include_in_schema=False)
def sign_in_page(services: ServicesDep, next: str | None = None) -> Response:
    return page("sign_in.html", title="Sign in", next=safe_next(next), sso=sso.enabled(services))


@router.post("/auth/sign-in", include_in_schema=False)
def sign_in(
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str | None, Form(max_length=4000)] = None,
) -> Response:
    """One answer for an unknown address, a wrong password and a locked account (401)."""
    try:
        user = accounts.sign_in(db, services, email, password, _client_address(request))
    except accounts.SignInRefused as refused:
        status = 429 if refused.code == "rate-limited" else 401
        return page(
            "sign_in.html",
            status,
            title="Sign in",
            error=refused.detail,
            next=safe_next(next),
            sso=sso.enabled(services),
        )
    return _signed_in(request, db, services, user, "password", safe_next(next))


@router.get(
    "/auth/session",
    tags=["sessions"],
    summary="The signed-in person, their workspaces and CSRF token",
    responses=ex.SESSION_RESPONSES,
)
def session_info(info: ConsoleSessionDep, db: SessionDep) -> dict[str, Any]:
    user = db.get(User, info.user_id)
    assert user is not None
    return {
        "user": {"id": user.id, "email": user.email, "name": user.name},
        "session_id": info.session_id,
        "csrf_token": info.csrf_token,
        "memberships": [
            {"workspace_id": m.workspace_id, "role": m.role, "scopes": sorted(accounts.role_scopes(m.role))}
            for m in accounts.user_memberships(db, user.id)
        ],
    }


@router.post(
    "/auth/sign-out",
    status_code=204,
    tags=["sessions"],
    summary="End this session",
    response_class=Response,
    responses=ex.SIGN_OUT_RESPONSES,
)
def sign_out(request: Request, info: CsrfConsoleSessionDep, db: SessionDep) -> Response:
    accounts.end_session(db, info.session_id)
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response


@router.post(
    "/auth/sign-out-everywhere",
    tags=["sessions"],
    summary="End every session of the signed-in person",
    responses=ex.SIGN_OUT_EVERYWHERE_RESPONSES,
)
def sign_out_everywhere(request: Request, info: CsrfConsoleSessionDep, db: SessionDep) -> JSONResponse:
    ended = accounts.end_sessions_everywhere(db, info.user_id)
    response = JSONResponse({"ended": ended})
    clear_session_cookie(request, response)
    return response


# ---------------------------------------------------------------- invitations (the link)


@router.get("/auth/invitations/{token}", include_in_schema=False)
def invitation_page(token: str) -> Response:
    return page("invitation.html", title="Join the workspace", token=token)


@router.post("/auth/invitations/accept", include_in_schema=False)
def accept_invitation(
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    token: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        user, _ = accounts.accept_invitation(db, services, token, password, name)
    except (NotFound, Forbidden, Invalid) as refused:
        status = {NotFound: 404, Forbidden: 403}.get(type(refused), 422)
        return page("invitation.html", status, title="Join the workspace", token=token, error=refused.detail)
    return _signed_in(request, db, services, user, "password", "/auth/session")


# ---------------------------------------------------------------- single sign-on


def _callback_url(services: Any) -> str:
    return f"{services.issuer}/auth/sso/callback"


@router.get("/auth/sso/start", include_in_schema=False)
def sso_start(request: Request, services: ServicesDep, next: str | None = None) -> Response:
    if not sso.enabled(services):
        return page("message.html", 404, title="Single sign-on", message="Single sign-on is not configured.")
    url, flow = sso.begin(services, _callback_url(services), safe_next(next))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        SSO_COOKIE,
        flow,
        max_age=sso.FLOW_SECONDS,
        path="/auth/sso",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/auth/sso/callback", include_in_schema=False)
def sso_callback(request: Request, db: SessionDep, services: ServicesDep) -> Response:
    if not sso.enabled(services):
        return page("message.html", 404, title="Single sign-on", message="Single sign-on is not configured.")
    params = {k: v for k, v in request.query_params.items() if k in ("code", "state", "error")}
    try:
        identity = sso.finish(services, _callback_url(services), request.cookies.get(SSO_COOKIE), params)
        settings = services.settings
        assert settings.oidc_workspace is not None
        user = accounts.sso_member(
            db,
            settings.oidc_workspace,
            identity.issuer,
            identity.subject,
            identity.email,
            identity.name,
            identity.groups,
            settings.oidc_group_roles,
            identity.email_verified,
        )
    except ServiceError as refused:
        status = 403 if refused.code == "forbidden" else 401
        return page("message.html", status, title="Single sign-on", message=refused.detail)
    response = _signed_in(request, db, services, user, "sso", identity.next_path)
    response.delete_cookie(SSO_COOKIE, path="/auth/sso")
    return response


# ---------------------------------------------------------------- a member's connected apps


@router.get(
    "/auth/connected-apps",
    tags=["sessions"],
    summary="The apps the signed-in person connected",
    responses=ex.MY_CONNECTED_APPS_RESPONSES,
)
def my_connected_apps(
    request: Request,
    response: Response,
    info: ConsoleSessionDep,
    db: SessionDep,
    services: ServicesDep,
    workspace_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    if accounts.membership(db, workspace_id, info.user_id) is None:
        raise NotFound(f"no workspace {workspace_id}")
    rows, nxt = page_of(
        request,
        response,
        apps.grant_query(workspace_id, info.user_id),
        OAuthGrant,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"workspace_id": workspace_id},
        db=db,
    )
    return list_body(request, apps.connected_apps_json(db, rows), nxt)


@router.post(
    "/auth/connected-apps/{grant_id}/revoke",
    tags=["sessions"],
    summary="Disconnect an app the signed-in person connected",
    responses=ex.MY_CONNECTED_APP_REVOKE_RESPONSES,
)
def revoke_my_connected_app(
    grant_id: str, info: CsrfConsoleSessionDep, db: SessionDep, services: ServicesDep
) -> dict[str, Any]:
    return apps.revoke_own_grant(db, services, grant_id, info.user_id)


# ---------------------------------------------------------------- the API: members, invitations


def actor_role(db: Session, principal: Principal) -> str | None:
    """The role the caller acts with: a connected app acts with its member's; a key with
    ``admin`` as an admin (only owners make or remove owners)."""
    if principal.user_id is not None:
        member = accounts.membership(db, principal.workspace_id, principal.user_id)
        return member.role if member else None
    return "admin" if "admin" in principal.scopes else None


class InvitationCreate(InputModel):
    email: str = Field(max_length=320, description="The person's e-mail address.")
    role: str = Field(max_length=16, description="owner, admin, editor, reviewer or viewer.")


class MemberUpdate(InputModel):
    role: str = Field(max_length=16, description="owner, admin, editor, reviewer or viewer.")


@router.post(
    "/v1/invitations",
    status_code=201,
    summary="Invite a person (the one-time link is shown only here)",
    responses=ex.INVITE_RESPONSES,
)
def create_invitation(
    body: Annotated[InvitationCreate, Body(openapi_examples=ex.INVITE_BODY)],
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """With an SMTP relay configured (`REELFORGE_SMTP_HOST`), the person is e-mailed the one-time
    link and the answer says `"delivery": "email"` without it (503 when the relay refuses: no
    invitation is made). Otherwise no e-mail is sent: pass the returned `link` to the person
    (`"delivery": "link"`). The link works once, until `expires_at`."""
    invitation, token = accounts.invite(
        db,
        services,
        principal.workspace_id,
        body.email,
        body.role,
        held=principal.scopes,
        actor_role=actor_role(db, principal),
        actor=audit_actor(principal, request),
    )
    if mail_configured(services.settings):
        return {**accounts.invitation_json(invitation), "delivery": "email"}
    return {
        **accounts.invitation_json(invitation, accounts.invitation_link(services, token)),
        "delivery": "link",
    }


@router.get(
    "/v1/members", summary="List the workspace's members and their roles", responses=ex.LIST_MEMBERS_RESPONSES
)
def list_members(
    request: Request,
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    rows, nxt = page_of(
        request,
        response,
        accounts.member_query(principal.workspace_id),
        Membership,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={},
        db=db,
    )
    return list_body(request, accounts.members_json(db, rows), nxt)


@router.patch(
    "/v1/members/{member_id}", summary="Change a member's role", responses=ex.UPDATE_MEMBER_RESPONSES
)
def update_member(
    member_id: str,
    body: Annotated[MemberUpdate, Body(openapi_examples=ex.UPDATE_MEMBER_BODY)],
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    member = accounts.set_role(
        db,
        services,
        principal.workspace_id,
        member_id,
        body.role,
        actor_role=actor_role(db, principal),
        actor=audit_actor(principal, request),
    )
    return accounts.member_body(db, member)


@router.delete(
    "/v1/members/{member_id}",
    status_code=204,
    summary="Remove a member from the workspace",
    responses=ex.REMOVE_MEMBER_RESPONSES,
)
def remove_member(
    member_id: str,
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("admin")),
) -> Response:
    accounts.remove_member(
        db,
        services,
        principal.workspace_id,
        member_id,
        actor_role=actor_role(db, principal),
        actor=audit_actor(principal, request),
    )
    return Response(status_code=204)
