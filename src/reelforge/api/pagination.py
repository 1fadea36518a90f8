"""Cursor pagination: opaque, tamper-evident cursors over (created_at, id), newest first.

A cursor carries the last row's sort key and a digest of the list's filters; it is signed,
so a forged cursor, or one reused with other filters, is refused with 400 ``invalid-cursor``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from sqlalchemy import Select, and_, or_

from .problems import ApiError

__all__ = [
    "CreatedGte",
    "CreatedLt",
    "created_between",
    "decode_cursor",
    "encode_cursor",
    "link_next",
    "list_body",
    "next_link",
    "page",
    "page_by_number",
]

T = TypeVar("T")

CreatedGte = Annotated[datetime | None, Query(alias="created[gte]", description="RFC 3339; inclusive.")]
CreatedLt = Annotated[datetime | None, Query(alias="created[lt]", description="RFC 3339; exclusive.")]
"""The ``created[gte]``/``created[lt]`` filters of a list (see :func:`created_between`)."""


def _filters_digest(filters: Mapping[str, Any]) -> str:
    text = json.dumps(
        {k: v for k, v in sorted(filters.items()) if v is not None}, default=str, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(key: bytes, created_at: datetime, row_id: str, filters: Mapping[str, Any]) -> str:
    payload = json.dumps(
        {"v": 1, "k": [created_at.isoformat(), row_id], "f": _filters_digest(filters)}, separators=(",", ":")
    ).encode()
    tag = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(payload + tag).decode().rstrip("=")


def decode_cursor(key: bytes, cursor: str, filters: Mapping[str, Any]) -> tuple[datetime, str]:
    bad = ApiError(
        "invalid-cursor",
        "the cursor is not valid for this list (was it used with other filters?)",
        errors=[{"parameter": "cursor", "detail": "invalid cursor", "code": "invalid_cursor"}],
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload, tag = raw[:-16], raw[-16:]
        if not hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest()[:16], tag):
            raise bad
        doc = json.loads(payload)
        if doc.get("v") != 1 or doc.get("f") != _filters_digest(filters):
            raise bad
        created, row_id = doc["k"]
        return datetime.fromisoformat(created), str(row_id)
    except (ValueError, KeyError, TypeError):
        raise bad from None


def page(
    request: Request,
    response: Response,
    query: Select[Any],
    model: Any,
    *,
    key: bytes,
    limit: int,
    cursor: str | None,
    filters: Mapping[str, Any],
    db: Any,
) -> tuple[Sequence[Any], str | None]:
    """Run a keyset-paginated query (newest first); set the ``Link`` header; return rows and the
    next cursor."""
    if cursor:
        created, row_id = decode_cursor(key, cursor, filters)
        query = query.where(
            or_(model.created_at < created, and_(model.created_at == created, model.id < row_id))
        )
    rows = list(db.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(key, last.created_at, last.id, filters)
        link_next(request, response, next_cursor)
    return rows, next_cursor


def next_link(request: Request, next_cursor: str) -> str:
    """The ``Link`` header of a page: this request with the next cursor (its other parameters,
    repeated ones too, kept), ``rel="next"``."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    return f'<{request.url.path}?{urlencode([*params, ("cursor", next_cursor)])}>; rel="next"'


def link_next(request: Request, response: Response, next_cursor: str) -> None:
    response.headers["Link"] = next_link(request, next_cursor)


def page_by_number(
    request: Request,
    response: Response,
    query: Select[Any],
    column: Any,
    *,
    stamp: Any,
    key: bytes,
    limit: int,
    cursor: str | None,
    filters: Mapping[str, Any],
    db: Any,
    ascending: bool = False,
    then: Sequence[Any] = (),
) -> tuple[list[Any], str | None]:
    """:func:`page` over an integer ``column`` that orders the rows by itself (a version
    number, an event's sequence), newest (largest) first unless ``ascending``; ``then`` breaks
    ties. ``stamp`` is the rows' time column, carried in the cursor as usual."""
    if cursor:
        _, after = decode_cursor(key, cursor, filters)
        if not (after.isascii() and after.isdigit()):
            raise ApiError(
                "invalid-cursor",
                "the cursor is not valid for this list",
                errors=[{"parameter": "cursor", "detail": "invalid cursor", "code": "invalid_cursor"}],
            )
        query = query.where(column > int(after) if ascending else column < int(after))
    order = column.asc() if ascending else column.desc()
    rows = list(db.scalars(query.order_by(order, *then).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(key, getattr(last, stamp.key), str(getattr(last, column.key)), filters)
        link_next(request, response, next_cursor)
    return rows, next_cursor


def list_body(request: Request, data: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "has_more": next_cursor is not None,
        "next_cursor": next_cursor,
        "url": request.url.path,
    }


def check_utc_range(name: str, value: datetime | None) -> None:
    """A 422 naming the parameter for a time whose UTC value falls outside years 1-9999
    (``0001-01-01T00:00:00+05:00``): the database stores times in UTC."""
    if value is None or value.tzinfo is None:
        return
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ApiError(
            "validation-error",
            f"`{name}` is outside the years 1 to 9999 in UTC",
            errors=[
                {"parameter": name, "code": "range", "detail": "give a time between years 1 and 9999 in UTC"}
            ],
        ) from None


def created_between(
    query: Select[Any], column: Any, created_gte: datetime | None, created_lt: datetime | None
) -> Select[Any]:
    """``query`` limited to ``created[gte] <= column < created[lt]``; a time without a zone is
    ambiguous, so it is a 422 naming the parameter."""
    for name, value in (("created[gte]", created_gte), ("created[lt]", created_lt)):
        if value is not None and value.tzinfo is None:
            raise ApiError(
                "validation-error",
                f"`{name}` needs a time zone (e.g. `Z`)",
                errors=[
                    {
                        "parameter": name,
                        "code": "timezone",
                        "detail": "give an RFC 3339 time with an offset or `Z`",
                    }
                ],
            )
        check_utc_range(name, value)
    if created_gte is not None:
        query = query.where(column >= created_gte)
    if created_lt is not None:
        query = query.where(column < created_lt)
    return query
