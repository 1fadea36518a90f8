"""What the app's routes share: settings, database, storage, secrets and the render queue."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import orjson
from fastapi import Request
from sqlalchemy import ColumnElement, Connection, Dialect, Engine, Text, type_coerce
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from reelforge.media.previews import PreviewRunner
from reelforge.media.storage import LocalStorage
from reelforge.representations import json_ready  # re-exported: routes building responses by hand use it
from reelforge.settings import Settings

from .credentials import ServerSecrets
from .pagination import encode_cursor, next_link
from .problems import ApiError

__all__ = [
    "RepresentationCache",
    "Services",
    "conditional_json",
    "decode_json_fields",
    "etag_matches",
    "get_db",
    "get_services",
    "json_bytes",
    "json_ready",
    "json_response",
    "owned",
    "page_of",
    "raw_datetime_column",
    "raw_json_column",
    "read_db",
    "services_of",
    "strong_etag",
]

T = TypeVar("T")
R = TypeVar("R")


class RepresentationCache:
    """Encoded representations by id, each kept with the revision it was made from.

    A row's revision changes with every change of what its representation shows (for assets,
    database triggers bump it), so an entry is served only while it is current: there is
    nothing to invalidate, across processes too. When the entries pass ``budget`` bytes, the
    cache starts again empty.
    """

    def __init__(self, budget: int = 32 * 1024 * 1024):
        self._budget = budget
        self._bytes = 0
        self._entries: dict[str, tuple[int, bytes]] = {}

    def get(self, key: str, revision: int) -> bytes | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] == revision else None

    def put(self, key: str, revision: int, content: bytes) -> None:
        cost = len(content) + len(key) + 100  # the tuple, the dict slot, the objects' headers
        if self._bytes + cost > self._budget:
            # A new dict: a reader iterating the old one is not disturbed.
            self._entries, self._bytes = {}, 0
        old = self._entries.get(key)
        if old is not None:
            self._bytes -= len(old[1]) + len(key) + 100
        self._entries[key] = (revision, content)
        self._bytes += cost


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: LocalStorage
    secrets: ServerSecrets
    worker: Any = None
    """The in-process render worker, when this process runs one."""
    credentials: Any = None
    """Recently verified credentials (:class:`reelforge.api.auth.CredentialCache`)."""
    asset_docs: RepresentationCache = field(default_factory=lambda: RepresentationCache())
    """Assets' encoded representations, for the asset list."""
    extras: dict[str, Any] = field(default_factory=dict)
    _previews: PreviewRunner | None = field(default=None, repr=False)
    _previews_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def issuer(self) -> str:
        return self.settings.public_url.rstrip("/")

    @property
    def audience(self) -> str:
        return self.settings.public_url.rstrip("/") + "/v1"

    def previews(self) -> PreviewRunner:
        """This process's runner of deferred previews, started on first use (blocking: it also
        queues the assets a previous process left pending)."""
        with self._previews_lock:
            if self._previews is None:
                self._previews = PreviewRunner(self.sessions, self.storage)
                self._previews.recover()
            return self._previews

    def stop_previews(self) -> None:
        """Finish the preview in progress; the rest stay pending for the next process."""
        with self._previews_lock:
            if self._previews is not None:
                self._previews.shutdown()
                self._previews = None


# Dependencies are ``async def`` when they do not block: FastAPI runs a sync dependency in its
# thread pool, and every such hop costs more than the work of a typical read.


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    return services_of(request)


def owned(db: Session, model: type[T], row_id: str, workspace_id: str, what: str) -> T:
    """Row ``row_id`` of ``model`` (a table with ``workspace_id``) if the workspace owns it;
    404 ``no <what> <id>`` otherwise: another workspace's row does not exist."""
    row = db.get(model, row_id)
    if row is None or cast(Any, row).workspace_id != workspace_id:
        raise ApiError("not-found", f"no {what} {row_id}")
    return row


async def get_db(request: Request) -> AsyncIterator[Session]:
    # Making a session does no I/O; it connects on first use, inside the (threaded) route.
    session = services_of(request).sessions()
    try:
        yield session
    finally:
        session.close()


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
