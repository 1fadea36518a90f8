"""How routes represent what a service returned: JSON bytes rendered once, strong ETags and
conditional answers, keyset pages of rows, reads on a pooled connection."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi import Request
from sqlalchemy import ColumnElement, Connection, Dialect, Text, type_coerce
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from reelforge.representations import json_ready  # re-exported: routes building responses by hand use it

from .deps import services_of
from .pagination import encode_cursor, next_link

__all__ = [
    "conditional_json",
    "decode_json_fields",
    "etag_matches",
    "json_bytes",
    "json_ready",
    "json_response",
    "page_of",
    "raw_datetime_column",
    "raw_json_column",
    "read_db",
    "strong_etag",
]

T = TypeVar("T")
R = TypeVar("R")


_DIGITS_ONLY = bytes(0x39 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
"""bytes.translate table: digits become ``9``, everything else a space (2 ns a character, where a
regular expression takes 15)."""
_LONG_NUMBER = b"9" * 19


def _loads_exact(text: str) -> Any:
    """``json.loads(text)``, with orjson when that gives the same: not for numbers of 19 or more
    digits (orjson makes integers beyond 64 bits floats) nor NaN/Infinity (which it refuses)."""
    if _LONG_NUMBER in text.encode().translate(_DIGITS_ONLY):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class _RawJSON(TypeDecorator[Any]):
    """A JSON column read as it comes from the driver: the text on SQLite (decoded in bulk by
    :func:`decode_json_fields`), already decoded on PostgreSQL (psycopg parses ``json``)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        raise TypeError("read-only: a column selected with raw_json_column() is not written")


def raw_json_column(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` (a JSON column) for a read-only select, under its own name, left undecoded: see
    :func:`decode_json_fields`."""
    return type_coerce(column, _RawJSON()).label(column.key)


class _RawDateTime(TypeDecorator[Any]):
    """A UTC datetime column read as it comes from the driver: SQLite's text (parsed by
    :func:`decode_json_fields` with ``datetime.fromisoformat``, a C function, where SQLAlchemy
    runs a regular expression per value), PostgreSQL's datetime."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        raise TypeError("read-only: a column selected with raw_datetime_column() is not written")


def raw_datetime_column(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` (a UTCDateTime column) for a read-only select, under its own name, left
    unparsed: see :func:`decode_json_fields`."""
    return type_coerce(column, _RawDateTime()).label(column.key)


def _utc(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # as models.UTCDateTime reads it
    return value


def decode_json_fields(
    rows: Sequence[Sequence[Any]], indexes: Sequence[int], datetimes: Sequence[int] = ()
) -> list[list[Any]]:
    """``rows`` as lists with the fields at ``indexes`` (columns of :func:`raw_json_column`
    holding objects, arrays or null) decoded as SQLAlchemy's JSON type would, in one orjson call
    for all of them (a page of 50 assets has 150 such fields, and SQLAlchemy's per-value
    ``json.loads`` was a third of its read), and those at ``datetimes`` (columns of
    :func:`raw_datetime_column`) as aware UTC datetimes."""
    out = [list(row) for row in rows]
    for row in out:
        for i in datetimes:
            row[i] = _utc(row[i])
    texts = [row[i] for row in out for i in indexes]
    if not texts:
        return out
    if all(type(t) is str for t in texts):
        values = _loads_exact("[" + ",".join(texts) + "]")
    else:  # decoded by the driver (PostgreSQL), or SQL NULL
        values = [_loads_exact(t) if isinstance(t, str) else t for t in texts]
    width = len(indexes)
    for n, row in enumerate(out):
        for j, i in enumerate(indexes):
            row[i] = values[n * width + j]
    return out


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
    cursor = encode_cursor(services_of(request).secrets.cursor_key, _utc(last.created_at), last.id, filters)
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
