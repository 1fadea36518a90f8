"""OpenAPI examples for members, invitations, connected apps and the OAuth authorization server.

Every value in ``recorded/accounts.json`` was recorded from a running service (a member
connecting an app through the real sign-in and consent pages): ``scripts/record_examples.py
accounts`` records them again. The arrangement per operation follows :mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import recorded, schemas

# Recorded from a running service (`scripts/record_examples.py`): see recorded/accounts.json.
_RECORDED = recorded.load("accounts")
INVITATION_CREATE: dict[str, Any] = _RECORDED["INVITATION_CREATE"]
INVITATION_CREATED: dict[str, Any] = _RECORDED["INVITATION_CREATED"]
ERROR_INVITATION_ROLE: dict[str, Any] = _RECORDED["ERROR_INVITATION_ROLE"]
ERROR_SCOPE_ADMIN: dict[str, Any] = _RECORDED["ERROR_SCOPE_ADMIN"]
MEMBER_LIST: dict[str, Any] = _RECORDED["MEMBER_LIST"]
MEMBER_UPDATE: dict[str, Any] = _RECORDED["MEMBER_UPDATE"]
MEMBER_UPDATED: dict[str, Any] = _RECORDED["MEMBER_UPDATED"]
ERROR_MEMBER_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_MEMBER_NOT_FOUND"]
APP_CREATE: dict[str, Any] = _RECORDED["APP_CREATE"]
APP_CREATED: dict[str, Any] = _RECORDED["APP_CREATED"]
ERROR_APP_INVALID: dict[str, Any] = _RECORDED["ERROR_APP_INVALID"]
ERROR_SCOPE_KEYS_WRITE: dict[str, Any] = _RECORDED["ERROR_SCOPE_KEYS_WRITE"]
ERROR_SCOPE_KEYS_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_KEYS_READ"]
APP_LIST: dict[str, Any] = _RECORDED["APP_LIST"]
SECRET_ROLL: dict[str, Any] = _RECORDED["SECRET_ROLL"]
APP_ROLLED: dict[str, Any] = _RECORDED["APP_ROLLED"]
ERROR_APP_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_APP_NOT_FOUND"]
ERROR_ROLL_GRACE: dict[str, Any] = _RECORDED["ERROR_ROLL_GRACE"]
CONNECTED_APP_LIST: dict[str, Any] = _RECORDED["CONNECTED_APP_LIST"]
INTROSPECT_FORM: dict[str, Any] = _RECORDED["INTROSPECT_FORM"]
INTROSPECTION: dict[str, Any] = _RECORDED["INTROSPECTION"]
INTROSPECTION_INACTIVE: dict[str, Any] = _RECORDED["INTROSPECTION_INACTIVE"]
REVOKE_FORM: dict[str, Any] = _RECORDED["REVOKE_FORM"]
REVOKE_ERROR_CLIENT: dict[str, Any] = _RECORDED["REVOKE_ERROR_CLIENT"]
REVOKE_ERROR_REQUEST: dict[str, Any] = _RECORDED["REVOKE_ERROR_REQUEST"]
CONNECTED_APP_REVOKED: dict[str, Any] = _RECORDED["CONNECTED_APP_REVOKED"]
ERROR_CONNECTED_APP_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_CONNECTED_APP_NOT_FOUND"]
APP_REVOKED: dict[str, Any] = _RECORDED["APP_REVOKED"]
CLIENT_ROLLED: dict[str, Any] = _RECORDED["CLIENT_ROLLED"]
ERROR_CLIENT_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_CLIENT_NOT_FOUND"]
METADATA: dict[str, Any] = _RECORDED["METADATA"]
ERROR_NO_SESSION: dict[str, Any] = _RECORDED["ERROR_NO_SESSION"]
SESSION: dict[str, Any] = _RECORDED["SESSION"]
MY_CONNECTED_APPS: dict[str, Any] = _RECORDED["MY_CONNECTED_APPS"]
ERROR_CSRF: dict[str, Any] = _RECORDED["ERROR_CSRF"]
MY_CONNECTED_APP_REVOKED: dict[str, Any] = _RECORDED["MY_CONNECTED_APP_REVOKED"]
ERROR_MY_CONNECTED_APP_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_MY_CONNECTED_APP_NOT_FOUND"]
SIGNED_OUT_EVERYWHERE: dict[str, Any] = _RECORDED["SIGNED_OUT_EVERYWHERE"]

_NEEDS_ADMIN = ("a credential without `admin`", ERROR_SCOPE_ADMIN)
_NEEDS_KEYS_WRITE = ("a credential without `keys:write`", ERROR_SCOPE_KEYS_WRITE)
_NEEDS_KEYS_READ = ("a credential without `keys:read`", ERROR_SCOPE_KEYS_READ)
_MEMBER_NOT_FOUND = ("no such member in this workspace", ERROR_MEMBER_NOT_FOUND)
_APP_NOT_FOUND = ("no such app in this workspace", ERROR_APP_NOT_FOUND)
_ROLL_GRACE = ("a grace period over 7 days", ERROR_ROLL_GRACE)


def _form(examples: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a form-encoded (RFC-shaped) request body."""
    return {
        "requestBody": {"content": {"application/x-www-form-urlencoded": {"examples": ex.body(examples)}}}
    }


# ------------------------------------------------------------------ members and invitations

INVITE_BODY = ex.body({"a reviewer": INVITATION_CREATE})
INVITE_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The invitation; without an SMTP relay its one-time `link` is in this answer only "
            "(`delivery: link`), with one it was e-mailed (`delivery: email`, no `link`).",
            {"a link to pass on": INVITATION_CREATED},
            model=schemas.InvitationCreated,
        )
    },
    *ex.AUTH,
    _NEEDS_ADMIN,
    ("a role that is not one of owner, admin, editor, reviewer, viewer", ERROR_INVITATION_ROLE),
)
LIST_MEMBERS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of the members, newest first, with their role.",
            {"the members": MEMBER_LIST},
            model=schemas.MemberList,
        )
    },
    *ex.AUTH,
    _NEEDS_ADMIN,
    *ex.LIST,
)
UPDATE_MEMBER_BODY = ex.body({"make an editor": MEMBER_UPDATE})
UPDATE_MEMBER_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The member with the new role.", {"now an editor": MEMBER_UPDATED}, model=schemas.MemberOut
        )
    },
    *ex.AUTH,
    _NEEDS_ADMIN,
    _MEMBER_NOT_FOUND,
    ("a role that is not one of owner, admin, editor, reviewer, viewer", ERROR_INVITATION_ROLE),
)
REMOVE_MEMBER_RESPONSES = ex.responses(
    {204: {"description": "Removed: their sessions and connected apps lose the workspace at once."}},
    *ex.AUTH,
    _NEEDS_ADMIN,
    _MEMBER_NOT_FOUND,
)

# ------------------------------------------------------------------ registered apps

CREATE_APP_BODY = ex.body({"a CMS plugin": APP_CREATE})
CREATE_APP_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The app; `client_secret` (a confidential app's) is in this response only.",
            {"a CMS plugin": APP_CREATED},
            model=schemas.OAuthAppCreated,
        )
    },
    *ex.AUTH,
    _NEEDS_KEYS_WRITE,
    ("no redirect URI", ERROR_APP_INVALID),
)
LIST_APPS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of apps, newest first (never their secrets).",
            {"one app": APP_LIST},
            model=schemas.OAuthAppList,
        )
    },
    *ex.AUTH,
    _NEEDS_KEYS_READ,
    *ex.LIST,
)
ROLL_BODY = ex.body({"one hour of overlap": SECRET_ROLL})
ROLL_APP_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The app with its new `client_secret` (shown only here); the previous one works until "
            "`previous_secret_expires_at`.",
            {"one hour of overlap": APP_ROLLED},
            model=schemas.OAuthAppCreated,
        )
    },
    *ex.AUTH,
    _NEEDS_KEYS_WRITE,
    _APP_NOT_FOUND,
    _ROLL_GRACE,
)
REVOKE_APP_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The app, revoked: its grants and tokens stop working at once.",
            {"a revoked app": APP_REVOKED},
            model=schemas.OAuthAppOut,
        )
    },
    *ex.AUTH,
    _NEEDS_KEYS_WRITE,
    _APP_NOT_FOUND,
)
ROLL_CLIENT_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The client with its new `client_secret` (shown only here); the previous one works "
            "until `previous_secret_expires_at`.",
            {"one hour of overlap": CLIENT_ROLLED},
            model=schemas.OAuthClientRolled,
        )
    },
    *ex.AUTH,
    _NEEDS_KEYS_WRITE,
    ("no such client in this workspace", ERROR_CLIENT_NOT_FOUND),
    _ROLL_GRACE,
)

# ------------------------------------------------------------------ connected apps (grants)

LIST_CONNECTED_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of the apps members connected and have not disconnected, newest first.",
            {"a CMS plugin connected by an editor": CONNECTED_APP_LIST},
            model=schemas.ConnectedAppList,
        )
    },
    *ex.AUTH,
    _NEEDS_KEYS_READ,
    *ex.LIST,
)
REVOKE_CONNECTED_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The grant, revoked: the app's access and refresh tokens stop working.",
            {"disconnected": CONNECTED_APP_REVOKED},
            model=schemas.ConnectedAppOut,
        )
    },
    *ex.AUTH,
    _NEEDS_KEYS_WRITE,
    ("no such connected app in this workspace", ERROR_CONNECTED_APP_NOT_FOUND),
)

# ------------------------------------------------------------------ RFC 7009, 7662, 8414

REVOKE_TOKEN_BODY = _form({"a refresh token": REVOKE_FORM})
REVOKE_TOKEN_RESPONSES = ex.responses(
    {
        200: {
            "description": "Revoked (the token's whole grant ends), or not a token of this app: the "
            "answer is the same (RFC 7009 §2.2), with no body."
        },
        400: ex.success(
            "An OAuth error (RFC 6749 §5.2, not a problem): `invalid_request` (no `token`).",
            {"no token": REVOKE_ERROR_REQUEST},
            model=schemas.OAuthError,
        ),
        401: ex.success(
            "`invalid_client`: unknown or revoked app, or a wrong secret (with `WWW-Authenticate`).",
            {"a wrong secret": REVOKE_ERROR_CLIENT},
            model=schemas.OAuthError,
        ),
    }
)
INTROSPECT_BODY = _form({"an access token": INTROSPECT_FORM})
INTROSPECT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "`active` and the token's claims when it is live in the caller's workspace; "
            '`{"active": false}` alone for anything else.',
            {"a live access token": INTROSPECTION, "anything else": INTROSPECTION_INACTIVE},
            model=schemas.TokenIntrospection,
        )
    },
    *ex.AUTH,
    _NEEDS_ADMIN,
)
METADATA_RESPONSES = ex.responses(
    {
        200: ex.success(
            "Where the endpoints are and what they support.",
            {"this server": METADATA},
            model=schemas.AuthorizationServerMetadata,
        )
    },
    default=False,
)

# ------------------------------------------------------------------ a person's session (the cookie)

_NO_SESSION = ("no session cookie, or an ended, idle or expired session", ERROR_NO_SESSION)
_CSRF = ("without the session's `X-CSRF-Token`", ERROR_CSRF)

SESSION_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The person, their memberships with each role's scopes, and the session's `csrf_token`.",
            {"an editor": SESSION},
            model=schemas.SessionOut,
        )
    },
    _NO_SESSION,
)
SIGN_OUT_RESPONSES = ex.responses(
    {204: {"description": "Ended; the cookie is cleared."}},
    _NO_SESSION,
    _CSRF,
)
SIGN_OUT_EVERYWHERE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "Every session of the person ended (console and `/auth` alike); the cookie is cleared.",
            {"two sessions": SIGNED_OUT_EVERYWHERE},
            model=schemas.SignedOutEverywhere,
        )
    },
    _NO_SESSION,
    _CSRF,
)
MY_CONNECTED_APPS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of the apps the signed-in person connected to the workspace and has not disconnected, newest first.",
            {"one app": MY_CONNECTED_APPS},
            model=schemas.ConnectedAppList,
        )
    },
    _NO_SESSION,
    *ex.LIST,
)
MY_CONNECTED_APP_REVOKE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The grant, revoked: the app's tokens stop working.",
            {"disconnected": MY_CONNECTED_APP_REVOKED},
            model=schemas.ConnectedAppOut,
        )
    },
    _NO_SESSION,
    _CSRF,
    ("not an app this person connected", ERROR_MY_CONNECTED_APP_NOT_FOUND),
)
