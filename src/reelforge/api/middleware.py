"""Request ids and the headers every response carries."""

from __future__ import annotations

import json
import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from ulid import ULID

__all__ = ["BodyLimitMiddleware", "RequestContextMiddleware"]

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


class BodyLimitMiddleware:
    """Refuse JSON and form bodies over ``limit`` bytes with 413 before the app reads them.

    Neither uvicorn nor Starlette caps a body; uploads (multipart, octet-stream) have their own
    limit, enforced while streaming. A declared ``Content-Length`` is checked up front; a chunked
    body is counted as it arrives.
    """

    LIMITED = (b"application/json", b"application/json-patch+json", b"application/x-www-form-urlencoded")

    def __init__(self, app: ASGIApp, limit: int = 1024 * 1024):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type not in self.LIMITED:
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(scope, send)
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
                if seen > self.limit:
                    # Stop reading; whatever the app answers to the cut body is replaced below.
                    exceeded = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        replaced = False

        async def replacing_send(message: Message) -> None:
            nonlocal replaced
            if exceeded:
                if not replaced:
                    replaced = True
                    await self._too_large(scope, send)
                return
            await send(message)

        await self.app(scope, counting_receive, replacing_send)
        if exceeded and not replaced:
            await self._too_large(scope, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        state = scope.get("state") or {}
        body = json.dumps({
            "type": "https://reelforge.dev/problems/content-too-large", "title": "The body is larger than allowed.",
            "status": 413, "detail": f"request bodies of this type are limited to {self.limit} bytes",
            "instance": scope.get("path", ""), "code": "content-too-large", "request_id": state.get("request_id"),
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
