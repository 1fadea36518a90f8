"""Request ids and the headers every response carries."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from ulid import ULID

__all__ = ["RequestContextMiddleware"]

log = logging.getLogger("reelforge.access")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


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
        request_id = f"req_{str(ULID()).lower()}"
        headers = dict(scope.get("headers") or [])
        client_value = headers.get(b"x-request-id", b"").decode("latin-1")
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        if _CLIENT_ID.match(client_value):
            state["client_request_id"] = client_value
        authenticated = b"authorization" in headers
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

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info(
                "request",
                extra={"request_id": request_id, "method": scope.get("method"), "path": scope.get("path"),
                       "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
            )
