"""People: users, their roles in workspaces, invitations, password sign-in and console sessions.

A role is a documented set of the API's scopes (:data:`ROLE_SCOPES`); what a member may do, and
the most a connected app may do on the member's behalf, is the role's scopes now (a demotion
narrows tokens already issued).

Passwords are argon2id hashes. Sign-in answers the same for an unknown address and a wrong
password (and spends the same time: a dummy hash is verified), locks an account after
``sign_in_max_failures`` wrong passwords in a row, and limits attempts per client address.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from reelforge.db.accounts import ConsoleSession, Invitation, Membership, User, UserIdentity
from reelforge.db.audit import record_audit
from reelforge.db.events import record_event
from reelforge.db.models import ApiKey, Workspace, new_id, utcnow
from reelforge.representations import json_ready

from .audit import SYSTEM_ACTOR, Actor
from .context import Services
from .credentials import INSTALLATION_SCOPES, Principal, expand_scopes, hash_secret
from .errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unavailable
from .mail import mail_configured, send_invitation

__all__ = [
    "APPROVE_SCOPE",
    "ROLES",
    "ROLE_SCOPES",
    "ConsoleAccess",
    "SessionInfo",
    "SignInRefused",
    "accept_invitation",
    "add_member",
    "choose_workspace",
    "console_access",
    "create_key_session",
    "create_owner",
    "create_session",
    "end_session",
    "end_sessions_everywhere",
    "hash_password",
    "invitation_link",
    "invite",
    "member_query",
    "member_scopes",
    "members_json",
    "membership",
    "remove_member",
    "role_scopes",
    "session_for",
    "set_role",
    "sign_in",
    "sso_member",
]

APPROVE_SCOPE = "assets:approve"
"""Approving assets for use (the asset review flow's scope): reviewers and up hold it."""

ROLES = ("owner", "admin", "editor", "reviewer", "viewer")
"""Highest first."""

_READ = (
    "assets:read",
    "projects:read",
    "renders:read",
    "events:read",
    "templates:read",
    "brand_kits:read",
    "batches:read",
)
_EDIT = (
    "assets:write",
    "projects:write",
    "renders:write",
    "templates:write",
    "brand_kits:write",
    "batches:write",
)

ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "owner": ("admin", APPROVE_SCOPE),
    "admin": ("admin", APPROVE_SCOPE),
    "editor": (*_READ, *_EDIT),
    "reviewer": (*_READ, APPROVE_SCOPE),
    "viewer": _READ,
}
"""The scopes each role holds. ``admin`` is every scope of the API (keys and webhooks too);
owners alone can make or remove owners, and a workspace always keeps one."""

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
"""Verified when the address is unknown, so both answers take as long."""


def role_scopes(role: str) -> frozenset[str]:
    """What ``role`` holds: its scopes expanded (``admin``: every API scope), plus scopes the
    role names that are not one of the API's families (``assets:approve``)."""
    named = ROLE_SCOPES[role]
    return (expand_scopes(named) | frozenset(named)) - frozenset(INSTALLATION_SCOPES)


def member_scopes(db: Session, workspace_id: str, user_id: str) -> frozenset[str]:
    """What the user may do in the workspace now (nothing when not a member or disabled)."""
    member = membership(db, workspace_id, user_id)
    user = db.get(User, user_id)
    if member is None or user is None or user.disabled_at is not None:
        return frozenset()
    return role_scopes(member.role)


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise Invalid(
            f"unknown role {role!r}; choose from {', '.join(ROLES)}",
            errors=[{"pointer": "/role", "detail": f"one of {', '.join(ROLES)}"}],
        )
    return role


def normal_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or any(c.isspace() or ord(c) < 32 for c in email):
        raise Invalid("not an e-mail address", errors=[{"pointer": "/email", "detail": "an e-mail address"}])
    return email


def _plain_name(name: str, pointer: str = "/name") -> str:
    name = name.strip()
    if len(name) > 200 or any(ord(c) < 32 for c in name):
        raise Invalid(
            "the name is too long or holds control characters",
            errors=[{"pointer": pointer, "detail": "at most 200 printable characters"}],
        )
    return name


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise Invalid(
            "the password must be at least 12 characters",
            errors=[{"pointer": "/password", "detail": "at least 12 characters"}],
        )
    if len(password) > 1024:
        raise Invalid("the password is too long", errors=[{"pointer": "/password", "detail": "at most 1024"}])
    return _hasher.hash(password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def membership(db: Session, workspace_id: str, user_id: str) -> Membership | None:
    return db.scalar(
        select(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    )


def _audit_and_event(
    db: Session,
    workspace_id: str,
    action: str,
    resource_type: str,
    resource_id: str,
    details: dict[str, Any],
    actor: Actor,
) -> None:
    """Every change of who holds which credential is both audited and an event."""
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


def member_query(workspace_id: str) -> Select[Any]:
    """The workspace's memberships (to page with their users: :func:`members_json`)."""
    return select(Membership).where(Membership.workspace_id == workspace_id)


def members_json(db: Session, members: Sequence[Membership]) -> list[dict[str, Any]]:
    """The representations of ``members`` in their order, each with its user."""
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_({m.user_id for m in members})))}
    return [member_json(m, users[m.user_id]) for m in members]


def member_body(db: Session, member: Membership) -> dict[str, Any]:
    """The representation of ``member``, with its user."""
    user = db.get(User, member.user_id)
    assert user is not None  # a membership goes with its user
    return member_json(member, user)


def member_json(member: Membership, user: User) -> dict[str, Any]:
    return {
        "id": member.id,
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "role": member.role,
        "source": member.source,
        "created_at": json_ready(member.created_at),
    }


def _user_by_email(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email))


def add_member(
    db: Session,
    workspace_id: str,
    user: User,
    role: str,
    *,
    source: str,
    actor: Actor = SYSTEM_ACTOR,
) -> Membership:
    """Make ``user`` a member with ``role`` (or set the role of a member), audited; uncommitted."""
    _check_role(role)
    member = membership(db, workspace_id, user.id)
    if member is None:
        member = Membership(
            id=new_id("mem"), workspace_id=workspace_id, user_id=user.id, role=role, source=source
        )
        db.add(member)
        _audit_and_event(
            db, workspace_id, "member.added", "member", member.id, {"user_id": user.id, "role": role}, actor
        )
    elif member.role != role:
        old = member.role
        member.role = role
        _audit_and_event(
            db,
            workspace_id,
            "member.role_changed",
            "member",
            member.id,
            {"user_id": user.id, "role": role, "previous_role": old},
            actor,
        )
    db.flush()
    return member


def create_owner(
    db: Session, workspace_id: str, email: str, password: str | None, name: str = ""
) -> tuple[User, Membership]:
    """The operator's command: a user (new, or the one with this address) who owns the workspace."""
    if db.get(Workspace, workspace_id) is None:
        raise NotFound(f"no workspace {workspace_id}")
    email = normal_email(email)
    user = _user_by_email(db, email)
    if user is None:
        user = User(id=new_id("usr"), email=email, name=_plain_name(name), failed_sign_ins=0)
        db.add(user)
    if password is not None:
        user.password_hash = hash_password(password)
    member = add_member(db, workspace_id, user, "owner", source="operator")
    db.commit()
    return user, member


def _owners(db: Session, workspace_id: str) -> int:
    return len(
        list(
            db.scalars(
                select(Membership.id).where(
                    Membership.workspace_id == workspace_id, Membership.role == "owner"
                )
            )
        )
    )


def _acting_role_may(actor_role: str | None, old_role: str | None, new_role: str | None) -> None:
    """Owners alone touch owners (an API key with ``admin`` acts as an admin)."""
    if actor_role != "owner" and "owner" in (old_role, new_role):
        raise Forbidden("only an owner can make or remove owners")


def set_role(
    db: Session,
    services: Services,
    workspace_id: str,
    member_id: str,
    role: str,
    *,
    actor_role: str | None,
    actor: Actor,
) -> Membership:
    _check_role(role)
    member = db.get(Membership, member_id)
    if member is None or member.workspace_id != workspace_id:
        raise NotFound(f"no member {member_id}")
    _acting_role_may(actor_role, member.role, role)
    if member.role == "owner" and role != "owner" and _owners(db, workspace_id) <= 1:
        raise Conflict("a workspace keeps at least one owner")
    user = db.get(User, member.user_id)
    assert user is not None
    add_member(db, workspace_id, user, role, source=member.source, actor=actor)
    db.commit()
    services.credentials.clear()  # tokens of the member narrow at once
    return member


def remove_member(
    db: Session,
    services: Services,
    workspace_id: str,
    member_id: str,
    *,
    actor_role: str | None,
    actor: Actor,
) -> Membership:
    member = db.get(Membership, member_id)
    if member is None or member.workspace_id != workspace_id:
        raise NotFound(f"no member {member_id}")
    _acting_role_may(actor_role, member.role, None)
    if member.role == "owner" and _owners(db, workspace_id) <= 1:
        raise Conflict("a workspace keeps at least one owner")
    _audit_and_event(
        db,
        workspace_id,
        "member.removed",
        "member",
        member.id,
        {"user_id": member.user_id, "role": member.role},
        actor,
    )
    db.delete(member)
    db.commit()
    services.credentials.clear()
    return member


# ---------------------------------------------------------------- invitations


def invite(
    db: Session,
    services: Services,
    workspace_id: str,
    email: str,
    role: str,
    *,
    held: Collection[str],
    actor_role: str | None,
    actor: Actor,
) -> tuple[Invitation, str]:
    """An invitation and its one-time link token (shown once); never a role beyond the inviter's."""
    _check_role(role)
    _acting_role_may(actor_role, None, role)
    beyond = [] if "admin" in held else sorted(role_scopes(role) - set(held))
    if beyond:
        raise Forbidden(f"you cannot invite to a role with scopes you do not hold: {', '.join(beyond)}")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        id=new_id("inv"),
        workspace_id=workspace_id,
        email=normal_email(email),
        role=role,
        token_hash=hash_secret(services.secrets.pepper, token),
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(seconds=services.settings.invitation_ttl),
    )
    db.add(invitation)
    _audit_and_event(
        db,
        workspace_id,
        "invitation.created",
        "invitation",
        invitation.id,
        {"email": invitation.email, "role": role, "expires_at": json_ready(invitation.expires_at)},
        actor,
    )
    if mail_configured(services.settings):
        # sent before the commit: an invitation nobody received does not exist (503, try again)
        workspace = db.get(Workspace, workspace_id)
        try:
            send_invitation(
                services.settings,
                invitation.email,
                workspace.name if workspace else workspace_id,
                role,
                invitation_link(services, token),
                str(json_ready(invitation.expires_at)),
            )
        except Unavailable:
            db.rollback()
            raise
    db.commit()
    return invitation, token


def invitation_link(services: Services, token: str) -> str:
    """The one-time link that opens the invitation's page."""
    return f"{services.issuer}/auth/invitations/{token}"


def invitation_json(invitation: Invitation, link: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "created_at": json_ready(invitation.created_at),
        "expires_at": json_ready(invitation.expires_at),
        "accepted_at": json_ready(invitation.accepted_at),
        "revoked_at": json_ready(invitation.revoked_at),
    }
    if link is not None:
        body["link"] = link
    return body


def accept_invitation(
    db: Session, services: Services, token: str, password: str, name: str = ""
) -> tuple[User, Membership]:
    """Use an invitation once: a new user with ``password``, or the existing one with that
    address when ``password`` is theirs. 404 for an unknown, used, revoked or expired link."""
    invitation = db.scalar(
        select(Invitation).where(Invitation.token_hash == hash_secret(services.secrets.pepper, token))
    )
    now = utcnow()
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= now
    ):
        raise NotFound("this invitation link is not valid (used, revoked or expired)")
    user = _user_by_email(db, invitation.email)
    if user is None:
        user = User(id=new_id("usr"), email=invitation.email, name=_plain_name(name), failed_sign_ins=0)
        user.password_hash = hash_password(password)
        db.add(user)
    elif not _verify(user.password_hash, password):
        raise Forbidden("sign in with the password of this address to accept the invitation")
    # Claimed in one statement: a link used twice at once makes one member.
    claimed = db.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise NotFound("this invitation link is not valid (used, revoked or expired)")
    member = add_member(
        db,
        invitation.workspace_id,
        user,
        invitation.role,
        source="invitation",
        actor={"actor_type": "user", "actor_id": user.id},
    )
    db.commit()
    return user, member


# ---------------------------------------------------------------- sign-in and sessions


class SignInRefused(ServiceError):
    """Wrong address or password, locked, or too many attempts: one message for all of them."""

    default_code = "unauthenticated"


SIGN_IN_REFUSED = "the e-mail address or the password is wrong, or the account is locked for a while"


class AttemptWindow:
    """Sign-in attempts per client address in a sliding window (in this process)."""

    def __init__(self, quota: int, window: float) -> None:
        self.quota, self.window = quota, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 100_000:
                self._seen.clear()
            seen = self._seen.setdefault(address, deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.quota:
                return False
            seen.append(now)
            return True


def _attempts(services: Services) -> AttemptWindow:
    window = services.extras.get("sign_in_attempts")
    if window is None:
        settings = services.settings
        window = services.extras["sign_in_attempts"] = AttemptWindow(
            settings.sign_in_attempts, settings.sign_in_window
        )
    return window


def sign_in(db: Session, services: Services, email: str, password: str, address: str) -> User:
    """The user whose password this is; :class:`SignInRefused` (the same message) otherwise."""
    if not _attempts(services).allow(address):
        raise SignInRefused("too many sign-in attempts from your address; wait a minute", code="rate-limited")
    try:
        email = normal_email(email)
    except Invalid:
        email = ""
    user = _user_by_email(db, email) if email else None
    now = utcnow()
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    right = _verify(user.password_hash if user is not None else None, password)
    if user is None or user.disabled_at is not None or locked or not right:
        if user is not None and not locked:
            user.failed_sign_ins += 1
            if user.failed_sign_ins >= services.settings.sign_in_max_failures:
                user.locked_until = now + timedelta(seconds=services.settings.sign_in_lockout)
                user.failed_sign_ins = 0
            db.commit()
        raise SignInRefused(SIGN_IN_REFUSED)
    user.failed_sign_ins = 0
    user.locked_until = None
    db.commit()
    return user


@dataclass(frozen=True, slots=True)
class SessionInfo:
    session_id: str
    user_id: str
    email: str
    csrf_token: str


def create_session(db: Session, services: Services, user: User, method: str) -> tuple[ConsoleSession, str]:
    """A new console session and its cookie value (shown once)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ConsoleSession(
        id=new_id("ses"),
        user_id=user.id,
        token_hash=hash_secret(services.secrets.pepper, token),
        csrf_token=secrets.token_urlsafe(32),
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=services.settings.session_absolute_timeout),
    )
    db.add(row)
    db.commit()
    return row, token


def create_key_session(db: Session, services: Services, api_key_id: str) -> tuple[ConsoleSession, str]:
    """A console session opened with an API key (the caller verified the key's secret): the
    session names the key by id, so revoking or expiring the key ends the session; the key
    itself is not stored."""
    key = db.get(ApiKey, api_key_id)
    if key is None or key.revoked_at is not None:
        raise ServiceError("the API key is not valid", code="unauthenticated")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    absolute = now + timedelta(seconds=services.settings.session_absolute_timeout)
    row = ConsoleSession(
        id=new_id("ses"),
        user_id=None,
        api_key_id=key.id,
        workspace_id=key.workspace_id,
        token_hash=hash_secret(services.secrets.pepper, token),
        csrf_token=secrets.token_urlsafe(32),
        method="api_key",
        created_at=now,
        last_seen_at=now,
        expires_at=min(absolute, key.expires_at) if key.expires_at is not None else absolute,
    )
    db.add(row)
    db.commit()
    return row, token


def _live_session(db: Session, services: Services, token: str) -> ConsoleSession | None:
    """The session a cookie value names, if neither ended, expired nor idle too long (its idle
    clock restarted)."""
    row = db.scalar(
        select(ConsoleSession).where(ConsoleSession.token_hash == hash_secret(services.secrets.pepper, token))
    )
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(seconds=services.settings.session_idle_timeout) <= now:
        return None
    if now - row.last_seen_at > timedelta(seconds=10):  # a write at most every few seconds
        row.last_seen_at = now
        db.commit()
    return row


def session_for(db: Session, services: Services, token: str) -> SessionInfo | None:
    """The live session of a person for a cookie value (its idle clock restarted), or None
    (also for a session opened with an API key: the ``/auth`` pages serve people)."""
    row = _live_session(db, services, token)
    if row is None or row.user_id is None:
        return None
    user = db.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return SessionInfo(row.id, user.id, user.email, row.csrf_token)


@dataclass(frozen=True, slots=True)
class ConsoleAccess:
    """What a console session may do now: the principal it acts as, and for a person the
    workspaces they can switch between."""

    session_id: str
    csrf_token: str
    principal: Principal
    method: str
    user_id: str | None = None
    email: str | None = None
    memberships: tuple[tuple[str, str], ...] = ()
    """``(workspace_id, role)`` of each of the person's workspaces (empty for an API key)."""

    @property
    def csrf(self) -> str:
        return self.csrf_token

    @property
    def role(self) -> str | None:
        """The person's role in the workspace they act in (None for an API key)."""
        return next((r for w, r in self.memberships if w == self.principal.workspace_id), None)


def console_access(db: Session, services: Services, token: str) -> ConsoleAccess | None:
    """The principal a console session acts as now, or None when it does not (any more).

    A person acts in the workspace they chose (their first one until they choose, or when they
    left the chosen one) with their role's scopes there, exactly as a connected app acting for
    them would; a person with no workspace left, a disabled person, and a key revoked or expired
    since sign-in have no access. Every request reads this again, so a role change, a removal or
    a revocation applies at once, in every process sharing the database."""
    row = _live_session(db, services, token)
    if row is None:
        return None
    if row.api_key_id is not None:
        key = db.get(ApiKey, row.api_key_id)
        now = utcnow()
        if (
            key is None
            or key.revoked_at is not None
            or (key.expires_at is not None and key.expires_at <= now)
        ):
            return None
        principal = Principal(key.workspace_id, expand_scopes(list(key.scopes)), key.id, "api_key")
        return ConsoleAccess(row.id, row.csrf_token, principal, row.method)
    if row.user_id is None:
        return None
    user = db.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    members = user_memberships(db, user.id)
    if not members:
        return None
    chosen = next((m for m in members if m.workspace_id == row.workspace_id), members[0])
    principal = Principal(chosen.workspace_id, role_scopes(chosen.role), user.id, "user", user.id)
    return ConsoleAccess(
        row.id,
        row.csrf_token,
        principal,
        row.method,
        user.id,
        user.email,
        tuple((m.workspace_id, m.role) for m in members),
    )


def choose_workspace(db: Session, session_id: str, user_id: str, workspace_id: str) -> None:
    """The workspace the person's console session acts in from now on (404 when they are not a
    member of it: a workspace is not revealed to someone outside it)."""
    if membership(db, workspace_id, user_id) is None:
        raise NotFound(
            f"no workspace {workspace_id}",
            errors=[{"field": "workspace_id", "detail": "not one of your workspaces"}],
        )
    db.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id, ConsoleSession.user_id == user_id)
        .values(workspace_id=workspace_id)
    )
    db.commit()


def csrf_matches(info: SessionInfo, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(info.csrf_token.encode(), presented.encode())


def end_session(db: Session, session_id: str) -> None:
    db.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.commit()


def end_sessions_everywhere(db: Session, user_id: str) -> int:
    """Sign the user out of every session; how many were live."""
    result = db.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def user_memberships(db: Session, user_id: str) -> list[Membership]:
    return list(
        db.scalars(select(Membership).where(Membership.user_id == user_id).order_by(Membership.created_at))
    )


# ---------------------------------------------------------------- single sign-on


def sso_member(
    db: Session,
    workspace_id: str,
    issuer: str,
    subject: str,
    email: str,
    name: str,
    groups: list[str],
    group_roles: dict[str, str],
    email_verified: bool = False,
) -> User:
    """The user of a verified ID token, a member of ``workspace_id`` with the highest role its
    groups map to (set at every sign-in, so leaving a group demotes, for the memberships single
    sign-on made, and never the last owner's); Forbidden when no group maps to a role."""
    mapped = [group_roles[g] for g in groups if g in group_roles and group_roles[g] in ROLES]
    if not mapped:
        raise Forbidden("none of your groups gives access to this workspace")
    role = min(mapped, key=ROLES.index)
    if not subject or len(subject) > 255 or len(issuer) > 500 or "\x00" in subject:
        raise Forbidden("the identity provider's subject is not usable")
    name = name.strip()[:200] if all(ord(c) >= 32 for c in name) else ""
    identity = db.scalar(
        select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)
    )
    if identity is not None:
        user = db.get(User, identity.user_id)
        assert user is not None
    else:
        try:
            email = normal_email(email) if email else f"{subject}@sso.invalid"
        except Invalid:
            raise Forbidden("the identity provider's e-mail address is not usable") from None
        found = _user_by_email(db, email)
        if found is not None and not email_verified:
            # Linking an existing account by an address the provider does not vouch for would
            # hand it to whoever typed that address at the provider.
            raise Forbidden("an account with this e-mail address exists and the provider does not verify it")
        user = found or User(id=new_id("usr"), email=email, name=name, failed_sign_ins=0)
        if found is None:
            db.add(user)
        db.add(UserIdentity(id=new_id("uid"), user_id=user.id, issuer=issuer, subject=subject))
    if user.disabled_at is not None:
        raise Forbidden("this account is disabled")
    member = membership(db, workspace_id, user.id)
    # Groups decide the roles they gave, not those an operator or an invitation gave; and like
    # set_role, never take the workspace's last owner away.
    last_owner = member is not None and member.role == "owner" and _owners(db, workspace_id) <= 1
    if member is None or (member.source == "sso" and not last_owner):
        add_member(
            db, workspace_id, user, role, source="sso", actor={"actor_type": "user", "actor_id": user.id}
        )
    db.commit()
    return user
