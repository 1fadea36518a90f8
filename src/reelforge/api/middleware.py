"""Request ids and the headers every response carries."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from typing import Any

import structlog
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge.logs import ACCESS_LOGGER
from reelforge.settings import Settings
from reelforge.tracing import continued, span

__all__ = ["BodyLimitMiddleware", "RequestContextMiddleware", "body_limits", "route_limit"]

log = logging.getLogger(ACCESS_LOGGER)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


_CROCKFORD_PAIRS = [
    a + b for a in "0123456789abcdefghjkmnpqrstvwxyz" for b in "0123456789abcdefghjkmnpqrstvwxyz"
]


def new_request_id() -> str:
    """``req_`` and a lowercase ULID: 48 bits of milliseconds and 80 random bits, 26 Crockford
    base32 digits (two per 10 bits). The ``ulid`` package takes 5 times as long (a lock, os.urandom,
    monotonic bookkeeping); a correlation id needs neither secrecy nor strict ordering."""
    value = (time.time_ns() // 1_000_000) << 80 | random.getrandbits(80)
    return "req_" + "".join([_CROCKFORD_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])


class RequestContextMiddleware:
    """Give every request an id (``req_<ULID>``) and every response ``X-Request-Id``,
    ``X-Content-Type-Options: nosniff`` and, on authenticated requests, ``Cache-Control: no-store``.

    A client's own ``X-Request-Id`` is kept as ``client_request_id`` (when well-formed) but never
    replaces ours, so logs cannot be poisoned or collided.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        client_value = None
        authenticated = False
        for name, value in scope.get("headers") or ():
            if name == b"authorization":
                authenticated = True
            elif name == b"x-request-id":
                client_value = value.decode("latin-1")
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        if client_value is not None and _CLIENT_ID.match(client_value):
            state["client_request_id"] = client_value
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode()), (b"x-content-type-options", b"nosniff")]
                existing = {k.lower() for k, _ in message.get("headers", [])}
                if authenticated and b"cache-control" not in existing:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        method = scope.get("method")
        # Every line logged while the request is handled carries its id (authentication adds
        # the workspace); the server span continues a caller's `traceparent`.
        carrier = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope.get("headers") or ()
            if k in (b"traceparent", b"tracestate")
        }
        with (
            structlog.contextvars.bound_contextvars(request_id=request_id, workspace_id=None),
            continued(carrier),
            span(
                str(method),
                kind="server",
                http__request__method=method,
                url__path=scope.get("path"),
                url__scheme=scope.get("scheme"),
                reelforge__request__id=request_id,
            ) as server_span,
        ):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                principal = state.get("principal")
                route = getattr(scope.get("route"), "path", None)
                if server_span is not None:
                    _end_server_span(server_span, method, route, status, principal)
                log.info(
                    "request",
                    extra={
                        "access": {
                            "request_id": request_id,
                            "workspace_id": getattr(principal, "workspace_id", None),
                            "method": method,
                            "path": scope.get("path"),
                            "status": status,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        }
                    },
                )


def _end_server_span(
    server_span: Any, method: object, route: str | None, status: int, principal: object
) -> None:
    """Name the span by its route template and record the outcome (error only for a 5xx: a 4xx
    is the client's)."""
    from opentelemetry.trace import Status, StatusCode

    if route:
        server_span.update_name(f"{method} {route}")
        server_span.set_attribute("http.route", route)
    server_span.set_attribute("http.response.status_code", status)
    workspace = getattr(principal, "workspace_id", None)
    if workspace:
        server_span.set_attribute("reelforge.workspace.id", workspace)
    if status >= 500:
        server_span.set_status(Status(StatusCode.ERROR))
        server_span.set_attribute("error.type", str(status))


TUS_ROUTES = re.compile(r"^/v1/uploads(/[^/]+)?$")
"""The tus 1.0 routes (``/v1/uploads`` and one upload)."""
CONSOLE_TUS_ROUTES = re.compile(r"^/console/uploads(/[^/]+)?$")
"""The console's tus routes (``/console/uploads`` and one upload), for its upload script."""
TUS_RESUMABLE = (b"tus-resumable", b"1.0.0")


# Which limit a route's body gets: (methods, path pattern, limit class), first match wins; every
# other request body gets the "json" limit. Uploads stream into the route, which enforces the
# file limit itself; the middleware caps the whole multipart body a little above it.
ROUTE_LIMITS: tuple[tuple[frozenset[str], re.Pattern[str], str], ...] = (
    (frozenset({"POST"}), re.compile(r"^/v1/assets$"), "upload"),
    (frozenset({"POST"}), re.compile(r"^/console/assets/upload$"), "upload"),
    (frozenset({"POST", "PATCH"}), TUS_ROUTES, "tus"),
    (frozenset({"PATCH"}), re.compile(r"^/console/uploads/[^/]+$"), "tus"),
    (frozenset({"POST", "PUT", "PATCH"}), re.compile(r"^/v1/projects(/[^/]+)?$"), "edit"),
    (frozenset({"POST"}), re.compile(r"^/v1/renders$"), "edit"),
    (frozenset({"POST", "PUT", "PATCH"}), re.compile(r"^/v1/templates(/[^/]+)?$"), "edit"),
    (frozenset({"POST"}), re.compile(r"^/v1/templates/[^/]+/renders$"), "edit"),
    (frozenset({"POST"}), re.compile(r"^/v1/batches$"), "edit"),
)
UPLOAD_OVERHEAD = 1024 * 1024
"""What a multipart upload may carry beyond the file (boundaries, part headers, form fields)."""


def body_limits(settings: Settings) -> dict[str, int]:
    """Bytes per limit class, from the settings."""
    return {
        "json": settings.max_json_body_bytes,
        "edit": settings.max_edit_body_bytes,
        "upload": settings.max_upload_bytes + UPLOAD_OVERHEAD,
        "tus": settings.max_upload_patch_bytes,
    }


def route_limit(method: str, path: str, limits: dict[str, int]) -> tuple[str, int]:
    """The limit class and bytes for a request's body."""
    for methods, pattern, name in ROUTE_LIMITS:
        if method in methods and pattern.match(path):
            return name, limits[name]
    return "json", limits["json"]


class BodyLimitMiddleware:
    """Refuse request bodies over their route's limit with 413 ``content-too-large`` before the
    app reads them in full.

    Neither uvicorn nor Starlette caps a body. A declared ``Content-Length`` over the limit is
    answered at once, without reading a byte of the body; a chunked (or understated) body is
    counted as it arrives and cut at the limit: from then on the app sees the client disconnect
    (so no route acts on a truncated body), and whatever it answers is replaced by the 413. Limits per route (:data:`ROUTE_LIMITS`): most routes
    ``max_json_body_bytes``, routes carrying edits ``max_edit_body_bytes``, uploads
    ``max_upload_bytes`` plus the multipart overhead, a tus PATCH (the API's or the console's)
    ``max_upload_patch_bytes``.
    """

    def __init__(self, app: ASGIApp, settings: Settings | None = None, limits: dict[str, int] | None = None):
        self.app = app
        self.limits = limits or body_limits(settings or Settings())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        kind, limit = route_limit(scope["method"], scope.get("path", ""), self.limits)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, send, kind, limit)
            return
        seen = 0
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Stop reading. The app sees the client go away (Starlette raises
                    # ClientDisconnect), never an end of body: a valid prefix must not be parsed
                    # and acted on. Whatever the app answers is replaced by the 413 below.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        replaced = False

        async def replacing_send(message: Message) -> None:
            nonlocal replaced
            if exceeded:
                if not replaced:
                    replaced = True
                    await self._too_large(scope, send, kind, limit)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, replacing_send)
        except ClientDisconnect:
            if not exceeded:
                raise
        if exceeded and not replaced:
            await self._too_large(scope, send, kind, limit)

    @staticmethod
    async def _too_large(scope: Scope, send: Send, kind: str, limit: int) -> None:
        state = scope.get("state") or {}
        what = {"upload": "uploads", "edit": "requests carrying an edit"}.get(
            kind, "request bodies of this route"
        )
        body = json.dumps(
            {
                "type": "https://reelforge.dev/problems/content-too-large",
                "title": "The body is larger than allowed.",
                "status": 413,
                "detail": f"{what} are limited to {limit} bytes",
                "instance": scope.get("path", ""),
                "code": "content-too-large",
                "request_id": state.get("request_id"),
                "max_bytes": limit,
            }
        ).encode()
        # Connection: close, since the rest of the body is left unread.
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class StrictTransportMiddleware:
    """``Strict-Transport-Security`` on every response to a request that came over TLS (served
    with ``--tls-cert``, or from a trusted proxy saying ``X-Forwarded-Proto: https``): browsers
    then never use plain HTTP for the host again. Plain-HTTP responses never carry it."""

    def __init__(self, app: ASGIApp, max_age: int):
        self.app = app
        self.header = (b"strict-transport-security", f"max-age={max_age}; includeSubDomains".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_hsts)


class TusResumableMiddleware:
    """``Tus-Resumable`` on every answer of the tus routes, including those given before the
    route runs (the body limit's 413, the rate limit's 429): tus 1.0 requires it on every
    response, and the routes' own answers already carry it."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (TUS_ROUTES.match(path) or CONSOLE_TUS_ROUTES.match(path)):
            await self.app(scope, receive, send)
            return

        async def send_with_tus(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == TUS_RESUMABLE[0] for name, _ in headers):
                    message = {**message, "headers": [*headers, TUS_RESUMABLE]}
            await send(message)

        await self.app(scope, receive, send_with_tus)
