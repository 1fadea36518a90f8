"""HTTP metrics: each request counted by route template, method and status, and timed.

The route is the template the router matched (``/v1/renders/{render_id}``), never the raw path:
a label per id would make a series per id. A request answered before routing (a 429 of the
rate limiter, a 413 of the body limit) is matched here against the routes to find its
template; one that matches none is ``(unmatched)``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge import metrics

__all__ = ["UNMATCHED", "MetricsMiddleware"]

UNMATCHED = "(unmatched)"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _template(route: Any) -> str | None:
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else None


class MetricsMiddleware:
    """Counts and times every HTTP request (see the module)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self._requests = metrics.HTTP_REQUESTS
        self._duration = metrics.HTTP_DURATION
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope.get("method", "")
            method = method if method in _METHODS else "other"
            route = _template(scope.get("route")) or self._match(scope)
            self._duration.labels(route, method).observe(time.perf_counter() - started)
            self._requests.labels(route, method, str(status)).inc()

    def _match(self, scope: Scope) -> str:
        """The template of a request answered before routing (rare: refusals)."""
        if self._patterns is None:
            self._patterns = _patterns(scope.get("app"))
        path = scope.get("path", "")
        for regex, template in self._patterns:
            if regex.match(path):
                return template
        return UNMATCHED


def _patterns(app: Any) -> list[tuple[re.Pattern[str], str]]:
    """Each route's path pattern (routes of included routers too) and its template."""
    found: list[tuple[re.Pattern[str], str]] = []
    for route in iter_route_contexts(getattr(getattr(app, "router", None), "routes", [])):
        template = route.path_format
        if isinstance(template, str):
            regex, _, _ = compile_path(template)
            found.append((regex, template))
    return found
