"""The console's sign-in sessions: the same database-backed sessions as the ``/auth`` pages
(:mod:`reelforge.api.sessions`, :func:`reelforge.services.accounts.console_access`).

A person signs in with their e-mail address and password, or with single sign-on; an API key
is a second way in. Either way the browser holds only the ``rf_session`` cookie (a random
value whose hash the database keeps: HTTP-only, SameSite=Lax, Secure over TLS, ``Path=/``), so a
session survives a restart of the server and works in every process sharing the database.
Each session has its own CSRF token that every form and every state-changing request sends
back; idle and absolute timeouts and "sign out everywhere" are the accounts' own.

Every request resolves the session again: a person acts in the workspace they chose with their
role's scopes there; a key's session with the key's scopes. A role change, a removal, a
revoked or expired key ends or narrows what the session may do at once.

Before a session exists, the sign-in form carries a nonce (signed with a key derived from the
server secrets, in its own SameSite=Strict cookie) against login CSRF.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from reelforge.services import accounts
from reelforge.services.accounts import ConsoleAccess
from reelforge.services.context import Services

from ..deps import services_of
from ..sessions import COOKIE

__all__ = ["COOKIE", "LOGIN_COOKIE", "ConsoleAccess", "LoginNonces", "access_for", "csrf_matches"]

LOGIN_COOKIE = "reelforge_console_login"
"""The sign-in form's CSRF nonce (before a session exists)."""
WORKSPACE_FIELD = "workspace_id"


class LoginNonces:
    """Signs and checks the sign-in form's nonce (no server state: any process can check it)."""

    def __init__(self, pepper: bytes):
        self._key = hmac.new(pepper, b"reelforge console cookie", hashlib.sha256).digest()

    def sign(self, value: str) -> str:
        mac = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return f"{value}.{mac}"

    def fresh(self) -> str:
        return self.sign(secrets.token_urlsafe(16))

    def unsign(self, cookie: str | None) -> str | None:
        """The value of a cookie this server signed; None for anything else."""
        if not cookie or "." not in cookie:
            return None
        value, _, mac = cookie.rpartition(".")
        expected = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return value if hmac.compare_digest(mac, expected) else None


async def access_for(services: Services, token: str | None) -> ConsoleAccess | None:
    """What the session a cookie value names may do now, or None (no, ended or idle session;
    a person without a workspace; a revoked or expired key)."""
    if not token or len(token) > 200:
        return None

    def lookup() -> ConsoleAccess | None:
        with services.sessions() as db:
            return accounts.console_access(db, services, token)

    return await run_in_threadpool(lookup)


async def request_access(request: Request) -> ConsoleAccess | None:
    """:func:`access_for` the request's session cookie, once per request."""
    if hasattr(request.state, "console_access"):
        cached: ConsoleAccess | None = request.state.console_access
        return cached
    found = await access_for(services_of(request), request.cookies.get(COOKIE))
    request.state.console_access = found
    return found


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
