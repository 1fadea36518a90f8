"""How routes represent what a service returned: JSON bytes rendered once, strong ETags and
conditional answers, keyset pages of rows, reads on a pooled connection."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
from fastapi import Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from reelforge.db.raw import as_utc
from reelforge.representations import json_ready

from .deps import services_of
from .pagination import encode_cursor, next_link

__all__ = [
    "conditional_json",
    "etag_matches",
    "json_bytes",
    "json_ready",
    "json_response",
    "page_of",
    "read_db",
    "strong_etag",
]

T = TypeVar("T")
R = TypeVar("R")


def json_bytes(body: Any) -> bytes:
    """``body`` as the compact UTF-8 JSON a response sends: the very bytes ``JSONResponse(json_ready(body))``
    writes (datetimes as RFC 3339 ``…Z``, no ASCII escaping), in one pass with orjson.

    Values orjson does not take (integers beyond 64 bits in client metadata, unusual types)
    go the slow way, with the same result."""
    try:
        return orjson.dumps(body, option=orjson.OPT_UTC_Z)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(
            json_ready(body), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()


def page_of(
    request: Request, rows: list[R], limit: int, filters: Mapping[str, Any]
) -> tuple[list[R], str | None, dict[str, str]]:
    """Keyset pagination of rows read with ``limit + 1`` (newest first, by ``created_at`` then
    ``id``), as :func:`reelforge.api.pagination.page` does it for ORM queries: the page, the next
    cursor and the ``Link`` header."""
    if len(rows) <= limit:
        return rows, None, {}
    rows = rows[:limit]
    last: Any = rows[-1]
    # _utc: a row may carry its time as SQLite's text (raw_datetime_column), parsed only here.
    cursor = encode_cursor(services_of(request).secrets.cursor_key, as_utc(last.created_at), last.id, filters)
    return rows, cursor, {"Link": next_link(request, cursor)}


def strong_etag(content: bytes) -> str:
    """A strong ETag of a representation's bytes."""
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def etag_matches(header: str | None, etag: str, *, weak: bool = False) -> bool:
    """Whether ``header``, a list of entity tags, names ``etag`` (``*`` matches anything): RFC
    9110's strong comparison for ``If-Match``, its weak one (``W/`` ignored) for
    ``If-None-Match`` (``weak=True``)."""
    if header is None:
        return False
    values = [v.strip() for v in header.split(",")]
    if weak:
        values = [v.removeprefix("W/") for v in values]
    return "*" in values or etag in values


def conditional_json(request: Request, content: bytes) -> Response:
    """A representation's JSON bytes with a strong ``ETag``, or 304 when ``If-None-Match`` names
    it (a poller asking "changed?" gets no body while nothing changed)."""
    etag = strong_etag(content)
    if etag_matches(request.headers.get("if-none-match"), etag, weak=True):
        return Response(status_code=304, headers={"ETag": etag})
    return json_response(content, headers={"ETag": etag})


def json_response(content: bytes, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response of bytes already encoded (:func:`json_bytes`): nothing is serialised again."""
    return Response(content, status_code=status, headers=headers, media_type="application/json")


async def read_db(request: Request, read: Callable[[Connection], T]) -> T:
    """Run ``read(connection)`` on a pooled connection in the thread pool, for a route that only
    reads: Core statements on a plain connection, no session or ORM objects. The event loop
    never waits on the database, whichever it is."""
    engine = services_of(request).engine

    def run() -> T:
        with engine.connect() as conn:
            return read(conn)

    return await run_in_threadpool(run)
