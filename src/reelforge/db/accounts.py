"""People and the apps they connect: users, their workspace memberships and invitations,
console sessions, single sign-on identities, and the OAuth 2.0 authorization server's apps,
codes, grants and refresh tokens (migration 0020).

Secrets (session tokens, invitation tokens, codes, refresh tokens, client secrets) are stored
only as HMACs with the server's pepper; passwords only as argon2id hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = [
    "ConsoleSession",
    "Invitation",
    "Membership",
    "OAuthApp",
    "OAuthCode",
    "OAuthGrant",
    "OAuthRefreshToken",
    "User",
    "UserIdentity",
]


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    """Lower-cased; the sign-in name."""
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    """argon2id; NULL for a person who signs in only with single sign-on."""
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    """Wrong passwords in a row; reset by a right one."""
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)


class UserIdentity(Base):
    """A person's account at an OpenID Connect provider: ``(issuer, subject)`` is stable where
    e-mail addresses are not."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_user_identities_issuer_subject"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_memberships_workspace_user"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    """owner, admin, editor, reviewer or viewer (:data:`reelforge.services.accounts.ROLES`)."""
    source: Mapped[str] = mapped_column(String(16), default="invitation")
    """invitation, operator or sso (single sign-on sets the role from the person's groups)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Base):
    __tablename__ = "invitations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ConsoleSession(Base):
    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    """The person signed in; None for an API key's console session."""
    api_key_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True, default=None
    )
    """The API key a console session was opened with (its id: the key itself is never stored)."""
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL"), default=None
    )
    """The workspace a member chose in the console (a key's session is in the key's workspace)."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    """Sent back in forms and ``X-CSRF-Token``; tied to the session, compared in constant time."""
    method: Mapped[str] = mapped_column(String(16))
    """password, sso or api_key"""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    """The absolute timeout; the idle timeout runs from ``last_seen_at``."""
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthApp(Base):
    """A connected app's registration: acts for a member of the workspace, with the member's
    consent (authorization code + PKCE). Its ``id`` is the OAuth ``client_id``."""

    __tablename__ = "oauth_apps"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[Any]] = mapped_column(default=list)
    """Compared exactly, as strings."""
    confidential: Mapped[bool] = mapped_column(Boolean, default=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    """A rolled secret keeps working until then."""
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    """The most the app may ask for."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthGrant(Base):
    """A member's consent to an app: what its codes, access and refresh tokens hang on.
    Revoking it ends every token of it."""

    __tablename__ = "oauth_grants"
    __table_args__ = (Index("ix_oauth_grants_workspace_created", "workspace_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(32), default=None)


class OAuthCode(Base):
    __tablename__ = "oauth_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    code_challenge: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthRefreshToken(Base):
    __tablename__ = "oauth_refresh_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)
    """Exchanged for a new one: presenting it again is reuse, and revokes the grant."""
