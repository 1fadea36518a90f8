"""The API's most frequent reads, answered without FastAPI's routing and dependency injection.

A client polls ``GET /v1/renders/{id}`` every second or two while its render runs, and an
integration pages ``GET /v1/assets`` to sync a library. For such a read, matching the path
against every route, solving the dependencies and validating the parameters cost more than
reading the row and writing the JSON.

Each read here stays an ordinary route (documented in the OpenAPI, and the reference for what it
answers). This layer, innermost of the middleware (request ids, rate limits and headers apply as
to any request), serves only the plain successful case: a valid credential holding the scope,
parameters it checks exactly, and a resource that exists. It answers by calling the very
function the route calls. Anything else (no or a bad credential, a missing scope, a parameter it
does not take, an unknown id, an error) goes on to the route, which answers as always, so a hot
read is faster but never different.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import Principal, authenticate
from .problems import ApiError
from .routers.assets import asset_list_response
from .routers.renders import render_response

__all__ = ["HotReadsMiddleware"]

log = logging.getLogger(__name__)
_LOGGED: set[type[BaseException]] = set()

HotRead = Callable[[Request, Principal], Awaitable[Response | None]]

_RENDER_PREFIX = "/v1/renders/"
_DEFAULT_ASSET_PAGE = 20
_MAX_ASSET_PAGE = 100


async def _render(request: Request, principal: Principal) -> Response | None:
    if "renders:read" not in principal.scopes:
        return None
    return await render_response(
        request, principal.workspace_id, request.scope["path"][len(_RENDER_PREFIX) :]
    )


async def _asset_page(request: Request, principal: Principal) -> Response | None:
    if "assets:read" not in principal.scopes:
        return None
    params = parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
    names = [name for name, _ in params]
    if len(set(names)) != len(names) or not set(names) <= {"limit", "cursor"}:
        return None  # filters, repeats and unknown names: the route validates them
    given = dict(params)
    limit = _DEFAULT_ASSET_PAGE
    if "limit" in given:
        text = given["limit"]
        if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= _MAX_ASSET_PAGE):
            return None
        limit = int(text)
    return await asset_list_response(request, principal.workspace_id, limit=limit, cursor=given.get("cursor"))


def _hot_read(scope: Scope) -> HotRead | None:
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if path == "/v1/assets":
        return _asset_page
    if (
        path.startswith(_RENDER_PREFIX)
        and len(path) > len(_RENDER_PREFIX)
        and "/" not in path[len(_RENDER_PREFIX) :]
    ):
        return _render
    return None


class HotReadsMiddleware:
    """Answers the hot reads' plain successful case; passes everything else on (module docstring)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = _hot_read(scope)
        if read is not None:
            response = await self._answer(read, Request(scope, receive))
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _answer(read: HotRead, request: Request) -> Response | None:
        try:
            # The rate limiter has usually authenticated the request already (authenticate() then
            # returns its principal); the checks are the ones the route's dependency makes.
            return await read(request, await authenticate(request))
        except ApiError:
            return None  # the route gives the same answer, with its problem document
        except Exception as exc:  # the route meets the same failure and reports it properly
            if type(exc) not in _LOGGED:  # a failure here alone would be a bug of this layer: say so once
                _LOGGED.add(type(exc))
                log.warning("hot read of %s failed; the route answers it", request.url.path, exc_info=True)
            return None
