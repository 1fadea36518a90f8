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
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response
from sqlalchemy import Select, and_, or_

from .problems import ApiError

__all__ = ["decode_cursor", "encode_cursor", "page"]

T = TypeVar("T")


def _filters_digest(filters: Mapping[str, Any]) -> str:
    text = json.dumps({k: v for k, v in sorted(filters.items()) if v is not None}, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(key: bytes, created_at: datetime, row_id: str, filters: Mapping[str, Any]) -> str:
    payload = json.dumps({"v": 1, "k": [created_at.isoformat(), row_id], "f": _filters_digest(filters)},
                         separators=(",", ":")).encode()
    tag = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(payload + tag).decode().rstrip("=")


def decode_cursor(key: bytes, cursor: str, filters: Mapping[str, Any]) -> tuple[datetime, str]:
    bad = ApiError("invalid-cursor", "the cursor is not valid for this list (was it used with other filters?)",
                   errors=[{"parameter": "cursor", "detail": "invalid cursor", "code": "invalid_cursor"}])
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
        query = query.where(or_(model.created_at < created, and_(model.created_at == created, model.id < row_id)))
    rows = list(db.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(key, last.created_at, last.id, filters)
        params = {k: v for k, v in request.query_params.items() if k != "cursor"}
        params["cursor"] = next_cursor
        response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return rows, next_cursor


def list_body(request: Request, data: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": next_cursor is not None, "next_cursor": next_cursor,
            "url": request.url.path}
