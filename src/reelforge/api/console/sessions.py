"""The console's sign-in sessions: the credential stays on the server, the browser holds an id.

A session is made from a bearer credential the API accepts (an API key today; a password or SSO
sign-in plugs in by calling :meth:`ConsoleSessions.open` with the credential it obtained). The
cookie carries only a random session id and its HMAC under a key derived from the server
secrets, HTTP-only and SameSite=Strict; each session has its own CSRF token that every form and
every state-changing request sends back. Each request verifies the credential again through
:func:`reelforge.api.auth.principal_for` (cached a few seconds), so a revoked or expired key
ends the session and scopes and workspaces apply exactly as in the API.

Sessions live in the serving process's memory: a restart signs everyone out, and several
processes behind one address need sticky sessions (documented in docs/console.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

COOKIE = "reelforge_console"
"""The session cookie's name."""
LOGIN_COOKIE = "reelforge_console_login"
"""The sign-in form's CSRF nonce (before a session exists)."""
IDLE_SECONDS = 8 * 3600
"""A session unused this long is gone."""
MAX_SESSIONS = 10_000


@dataclass
class ConsoleSession:
    credential: str
    csrf: str
    touched: float


class ConsoleSessions:
    """Open sessions by id, and the signing of their cookie."""

    def __init__(self, pepper: bytes, idle: float = IDLE_SECONDS):
        self._key = hmac.new(pepper, b"reelforge console cookie", hashlib.sha256).digest()
        self._idle = idle
        self._sessions: dict[str, ConsoleSession] = {}
        self._lock = threading.Lock()

    def sign(self, value: str) -> str:
        mac = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return f"{value}.{mac}"

    def unsign(self, cookie: str | None) -> str | None:
        """The value of a cookie this server signed; None for anything else."""
        if not cookie or "." not in cookie:
            return None
        value, _, mac = cookie.rpartition(".")
        expected = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return value if hmac.compare_digest(mac, expected) else None

    def open(self, credential: str) -> tuple[str, ConsoleSession]:
        """A new session for ``credential``: its signed cookie value and the session."""
        session_id = secrets.token_urlsafe(32)
        session = ConsoleSession(credential, secrets.token_urlsafe(32), time.monotonic())
        with self._lock:
            self._sweep()
            self._sessions[session_id] = session
        return self.sign(session_id), session

    def get(self, cookie: str | None) -> ConsoleSession | None:
        """The live session a cookie names (refreshing its idle time), or None."""
        session_id = self.unsign(cookie)
        if session_id is None:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.touched > self._idle:
                del self._sessions[session_id]
                return None
            session.touched = now
            return session

    def close(self, cookie: str | None) -> None:
        session_id = self.unsign(cookie)
        if session_id is not None:
            with self._lock:
                self._sessions.pop(session_id, None)

    def _sweep(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if now - s.touched > self._idle]:
            del self._sessions[key]
        while len(self._sessions) >= MAX_SESSIONS:  # the least recently used go first
            del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].touched)]


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
