"""Render analytics: a workspace's renders created in a time range, grouped by campaign tag,
template, batch, output format, locale or UTC day, aggregated by the database.

Per group: renders by state, the success rate (succeeded / (succeeded + failed); cancelled
renders are left out), the failures by code with their rate among finished renders, the 50th
and 95th percentiles of the seconds renders ran and waited in the queue, the minutes of video
made and the bytes of every file made.

The same SQL runs on SQLite and PostgreSQL. Percentiles are those of PostgreSQL's
``percentile_cont`` (linear between the two nearest ranks), computed without it, which SQLite
lacks: a window function ranks each group's values (``row_number`` over the group ordered by
the value, ``count`` of the values over the group), the aggregate picks the values at the ranks
``1 + floor((n - 1) p)`` and the next one, and the interpolation between those two is done here.
A render with several tags or output formats counts in each of their groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast, get_args

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    and_,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import String

from reelforge.db.models import RENDER_STATES, Render, RenderLabel

from .errors import Invalid

__all__ = ["GROUPS", "MAX_RANGE", "GroupBy", "render_analytics"]

GroupBy = Literal["tag", "template", "batch", "format", "locale", "day"]
GROUPS: tuple[GroupBy, ...] = get_args(GroupBy)
MAX_RANGE = timedelta(days=366)
"""The longest range one query may cover."""
DEFAULT_RANGE = timedelta(days=30)
PERCENTILES = (50, 95)

_R = cast(FromClause, Render.__table__).c
_L = cast(FromClause, RenderLabel.__table__)


class _utc_day(FunctionElement[str]):
    """``YYYY-MM-DD`` of a timestamp column, in UTC."""

    type = String()
    inherit_cache = True


@compiles(_utc_day)
def _utc_day_sqlite(element: _utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as ISO text: the day is its first ten characters.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(_utc_day, "postgresql")
def _utc_day_postgresql(element: _utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def _key(group_by: GroupBy | None) -> tuple[ColumnElement[Any], str | None]:
    """The grouping key's column, and the label kind to join for it (tags, formats)."""
    if group_by is None:
        return literal(None, String()), None
    if group_by == "tag":
        return _L.c.value, "tag"
    if group_by == "format":
        return _L.c.value, "format"
    if group_by == "day":
        return _utc_day(_R.created_at), None
    return {"template": _R.template_id, "batch": _R.batch_id, "locale": _R.locale}[group_by], None


def _rows(workspace_id: str, start: datetime, end: datetime, group_by: GroupBy | None) -> Select[Any]:
    key, label = _key(group_by)
    query = select(key.label("k"))
    table: FromClause = cast(FromClause, Render.__table__)
    if label is not None:
        table = table.join(_L, and_(_L.c.render_id == _R.id, _L.c.kind == label))
    return query.select_from(table).where(
        _R.workspace_id == workspace_id, _R.created_at >= start, _R.created_at < end
    )


def _ranked(workspace_id: str, start: datetime, end: datetime, group_by: GroupBy | None) -> Any:
    key, _ = _key(group_by)
    columns: list[ColumnElement[Any]] = [_R.state, _R.output_seconds, _R.output_bytes]
    for name in ("run_seconds", "queue_seconds"):
        value = _R[name]
        columns += [
            value.label(name),
            func.row_number().over(partition_by=key, order_by=value.asc().nulls_last()).label(f"{name}_rank"),
            func.count(value).over(partition_by=key).label(f"{name}_n"),
        ]
    return _rows(workspace_id, start, end, group_by).add_columns(*columns).subquery("ranked")


def _aggregates(ranked: Any) -> Select[Any]:
    c = ranked.c
    columns: list[Any] = [c.k, func.count().label("renders")]
    columns += [func.sum(case((c.state == s, 1), else_=0)).label(f"n_{s}") for s in RENDER_STATES]
    columns += [
        func.sum(c.output_seconds).label("output_seconds"),
        func.sum(c.output_bytes).label("output_bytes"),
    ]
    for name in ("run_seconds", "queue_seconds"):
        rank, n, value = c[f"{name}_rank"], c[f"{name}_n"], c[name]
        columns.append(func.max(n).label(f"{name}_n"))
        for p in PERCENTILES:
            # Integer arithmetic, the same on both databases: floor((n - 1) p / 100).
            low = 1 + (n - 1) * p // 100
            columns += [
                func.max(case((rank == low, value))).label(f"{name}_p{p}_low"),
                func.max(case((rank == low + 1, value))).label(f"{name}_p{p}_high"),
            ]
    return select(*columns).group_by(c.k)


def _percentile(n: int | None, p: int, low: float | None, high: float | None) -> float | None:
    """``percentile_cont(p / 100)`` from the values at ranks ``1 + floor((n - 1) p / 100)`` and
    the next one."""
    if not n or low is None:
        return None
    fraction = ((n - 1) * p % 100) / 100
    upper = low if high is None else high
    return round(low + fraction * (upper - low), 3)


def _window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = _utc(end) if end is not None else now
    start = _utc(start) if start is not None else end - DEFAULT_RANGE
    problems = []
    if start >= end:
        problems.append({"parameter": "from", "code": "range", "detail": "`from` must be before `to`"})
    elif end - start > MAX_RANGE:
        problems.append(
            {"parameter": "to", "code": "range", "detail": f"at most {MAX_RANGE.days} days from `from`"}
        )
    if problems:
        raise Invalid(problems[0]["detail"], errors=problems)
    return start, end


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def render_analytics(
    conn: Connection,
    workspace_id: str,
    *,
    group_by: GroupBy | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The workspace's renders created in ``[start, end)`` (default: the 30 days before now),
    aggregated per ``group_by`` value (one group with key None without ``group_by``; renders
    without a value, such as renders made from no template, form the group None)."""
    start, end = _window(start, end, now or datetime.now(UTC))
    ranked = _ranked(workspace_id, start, end, group_by)
    groups = {row.k: row for row in conn.execute(_aggregates(ranked))}
    failures: dict[Any, list[tuple[str, int]]] = {}
    failed = (
        _rows(workspace_id, start, end, group_by)
        .add_columns(_R.failure_code, func.count().label("n"))
        .where(_R.state == "failed")
        .group_by("k", _R.failure_code)
    )
    for k, code, count in conn.execute(failed):
        failures.setdefault(k, []).append((code or "internal", int(count)))
    body = [_group(row, failures.get(row.k, [])) for row in groups.values()]
    if group_by == "day":
        body.sort(key=lambda g: g["key"] or "")
    else:
        body.sort(key=lambda g: (-g["renders"], g["key"] is None, g["key"] or ""))
    return {
        "object": "render_analytics",
        "group_by": group_by,
        "from": start,
        "to": end,
        "groups": body,
    }


def _group(row: Any, failures: Sequence[tuple[str, int]]) -> dict[str, Any]:
    states = {s: int(getattr(row, f"n_{s}") or 0) for s in RENDER_STATES}
    finished = states["succeeded"] + states["failed"]
    merged: dict[str, int] = {}
    for code, count in failures:
        merged[code] = merged.get(code, 0) + count
    return {
        "key": row.k,
        "renders": int(row.renders),
        "states": states,
        "success_rate": round(states["succeeded"] / finished, 4) if finished else None,
        "errors": [
            {"code": code, "count": count, "rate": round(count / finished, 4)}
            for code, count in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "render_seconds": _percentiles(row, "run_seconds"),
        "queue_seconds": _percentiles(row, "queue_seconds"),
        "output_minutes": round(float(row.output_seconds or 0.0) / 60, 3),
        "output_bytes": int(row.output_bytes or 0),
    }


def _percentiles(row: Any, name: str) -> dict[str, float | None]:
    n = getattr(row, f"{name}_n")
    return {
        f"p{p}": _percentile(n, p, getattr(row, f"{name}_p{p}_low"), getattr(row, f"{name}_p{p}_high"))
        for p in PERCENTILES
    }
