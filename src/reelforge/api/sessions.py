"""Console sessions over HTTP: the cookie, the CSRF check and the server-rendered pages.

Reusable by any router that serves people: ``ConsoleSessionDep`` (the signed-in person, 401
otherwise) and ``CsrfConsoleSessionDep`` (the same, and for unsafe methods the session's CSRF token
must come back as the ``X-CSRF-Token`` header or a ``csrf_token`` form field).

The cookie is ``HttpOnly``, ``SameSite=Lax``, ``Path=/`` and ``Secure`` whenever the request
came over TLS (directly, or from a trusted proxy that says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from reelforge.services import accounts
from reelforge.services.accounts import SessionInfo

from .deps import services_of
from .problems import ApiError

__all__ = [
    "COOKIE",
    "ConsoleSessionDep",
    "CsrfConsoleSessionDep",
    "clear_session_cookie",
    "console_session",
    "page",
    "safe_next",
    "set_session_cookie",
]

COOKIE = "rf_session"

_pages = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("pages")),
    autoescape=select_autoescape(["html"]),
)

# Pages that hold a form or a grant decision are never framed or cached.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _pages.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this server only (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/auth/session"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/auth/session"
    return value


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


async def optional_session(request: Request) -> SessionInfo | None:
    """The signed-in person, or None."""
    cached = getattr(request.state, "console_session", None)
    if cached is not None:
        return cached
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 200:
        return None
    services = services_of(request)

    def lookup() -> SessionInfo | None:
        with services.sessions() as db:
            return accounts.session_for(db, services, token)

    info = await run_in_threadpool(lookup)
    request.state.console_session = info
    return info


async def console_session(request: Request) -> SessionInfo:
    info = await optional_session(request)
    if info is None:
        raise ApiError("unauthenticated", "sign in first (the session is missing, expired or was ended)")
    return info


async def csrf_session(request: Request, info: SessionInfo = Depends(console_session)) -> SessionInfo:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return info
    presented = request.headers.get("x-csrf-token")
    if presented is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token")
        presented = value if isinstance(value, str) else None
    if not accounts.csrf_matches(info, presented):
        raise ApiError("forbidden", "the CSRF token is missing or wrong (send the session's X-CSRF-Token)")
    return info


console_session.session_cookie = True  # type: ignore[attr-defined]
"""The OpenAPI document's ``sessionCookie`` requirement (:mod:`reelforge.api.contract`)."""

OptionalConsoleSessionDep = Annotated[SessionInfo | None, Depends(optional_session)]
ConsoleSessionDep = Annotated[SessionInfo, Depends(console_session)]
CsrfConsoleSessionDep = Annotated[SessionInfo, Depends(csrf_session)]
