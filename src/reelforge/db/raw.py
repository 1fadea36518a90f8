"""Reading rows without the ORM's per-value work: JSON columns left as the driver's text and
decoded in bulk with orjson, SQLite's datetime text parsed with ``datetime.fromisoformat``.

For read paths that run often (an asset list page has 150 JSON fields): select the columns with
:func:`raw_json_column` / :func:`raw_datetime_column`, then :func:`decode_json_fields`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Dialect, Text, type_coerce
from sqlalchemy.types import TypeDecorator

__all__ = ["decode_json_fields", "raw_datetime_column", "raw_json_column", "utc"]

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


def utc(value: Any) -> Any:
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
            row[i] = utc(row[i])
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
