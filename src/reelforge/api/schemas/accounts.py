"""People and connected apps: members, invitations, registered apps, connected apps (grants),
and the OAuth authorization server's RFC-shaped answers (introspection, metadata)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import Out, Page

__all__ = [
    "AuthorizationServerMetadata",
    "ConnectedAppList",
    "ConnectedAppOut",
    "ConnectedAppRef",
    "InvitationCreated",
    "MemberList",
    "MemberOut",
    "OAuthAppCreated",
    "OAuthAppList",
    "OAuthAppOut",
    "OAuthClientRolled",
    "Role",
    "SessionMembership",
    "SessionOut",
    "SessionUser",
    "SignedOutEverywhere",
    "TokenIntrospection",
]

Role = Literal["owner", "admin", "editor", "reviewer", "viewer"]
"""Highest first; each a documented set of scopes (docs/accounts.md)."""


class MemberOut(Out):
    """A person's membership of the workspace, with their role."""

    id: str
    user_id: str
    email: str
    name: str
    role: Role
    source: Literal["invitation", "sso", "operator"]
    """How they became a member: an accepted invitation, single sign-on, or the operator's command."""
    created_at: datetime


class MemberList(Page):
    """A page of the workspace's members, newest first."""

    data: list[MemberOut]


class InvitationCreated(Out):
    """An invitation: the one-time ``link`` is in this answer only (``delivery`` ``link``), or was
    e-mailed to the person (``delivery`` ``email``, no ``link``)."""

    id: str
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
    link: str | None = None
    delivery: Literal["link", "email"]


class OAuthAppOut(Out):
    """A connected app registered in the workspace (an OAuth client of the authorization-code flow)."""

    id: str
    client_id: str
    """The same as ``id``: what the app sends as ``client_id``."""
    name: str
    redirect_uris: list[str]
    """Compared exactly with the ``redirect_uri`` of an authorization request."""
    client_type: Literal["confidential", "public"]
    scopes: list[str]
    """The most the app may ask for; a member grants at most their own role's scopes."""
    created_at: datetime
    revoked_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None
    """After a roll: until then the previous secret works too."""


class OAuthAppCreated(OAuthAppOut):
    client_secret: str | None = None
    """In this response only (none for a public app)."""


class OAuthAppList(Out):
    object: Literal["list"]
    data: list[OAuthAppOut]
    has_more: bool
    next_cursor: str | None = None
    url: str


class OAuthClientRolled(Out):
    """An OAuth client with its new secret (in this response only)."""

    id: str
    object: Literal["oauth_client"]
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None = None
    client_secret: str
    previous_secret_expires_at: datetime | None = None
    """Until then the previous secret works too; then it is refused."""


class ConnectedAppRef(Out):
    id: str
    name: str | None = None


class ConnectedAppOut(Out):
    """A grant: a member connected an app to the workspace with these scopes."""

    id: str
    app: ConnectedAppRef
    user_id: str
    """The member the app acts for."""
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None = None


class ConnectedAppList(Page):
    """A page of live grants, newest first."""

    data: list[ConnectedAppOut]


class TokenIntrospection(Out):
    """RFC 7662 §2.2: ``active`` false alone for a token that is not live in the caller's workspace."""

    active: bool
    scope: str | None = None
    client_id: str | None = None
    sub: str | None = None
    """The member the token acts for."""
    exp: int | None = None
    iat: int | None = None
    token_type: str | None = None
    """``Bearer`` for an access token, ``refresh_token`` for a refresh token."""
    iss: str | None = None
    workspace_id: str | None = None


class AuthorizationServerMetadata(Out):
    """RFC 8414 §2."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    introspection_endpoint: str
    jwks_uri: str
    response_types_supported: list[str]
    grant_types_supported: list[str]
    code_challenge_methods_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
    authorization_response_iss_parameter_supported: bool


class SessionUser(Out):
    id: str
    email: str
    name: str


class SessionMembership(Out):
    workspace_id: str
    role: Role
    scopes: list[str]
    """What the role holds in that workspace."""


class SessionOut(Out):
    """The signed-in person (the session cookie), their workspaces, and the session's CSRF token
    to send back as ``X-CSRF-Token`` on every unsafe request made with the session."""

    user: SessionUser
    session_id: str
    csrf_token: str
    memberships: list[SessionMembership]


class SignedOutEverywhere(Out):
    ended: int
    """How many sessions of the person were live (this one included)."""
