"""API keys, OAuth clients and access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import Out, Page

__all__ = [
    "AccessToken",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyOut",
    "ApiKeyRolled",
    "OAuthClientCreated",
    "OAuthClientList",
    "OAuthClientOut",
    "OAuthError",
]


class ApiKeyOut(Out):
    """A key, never its secret: its prefix and last four characters identify it."""

    id: str
    object: Literal["api_key"]
    name: str
    prefix: str
    last4: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    token: str
    """The secret (``rf_live_…``), in this response only."""


class ApiKeyRolled(ApiKeyCreated):
    replaces: ApiKeyOut
    """The old key, expiring at the end of the grace period."""


class ApiKeyList(Page):
    data: list[ApiKeyOut]


class OAuthClientOut(Out):
    id: str
    object: Literal["oauth_client"]
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None = None


class OAuthClientCreated(OAuthClientOut):
    client_secret: str
    """In this response only."""


class OAuthClientList(Page):
    data: list[OAuthClientOut]


class AccessToken(Out):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    """The granted scopes, separated by spaces."""
    refresh_token: str | None = None
    """A connected app's (authorization code and refresh grants): spent by its next refresh."""


class OAuthError(Out):
    """RFC 6749 §5.2 (not a problem)."""

    error: Literal[
        "invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type", "invalid_scope"
    ]
    error_description: str
