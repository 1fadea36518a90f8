"""The analytics SQL before ``render_facts`` (migration 0019), kept as the benchmark's reference:
it reads ``renders`` through the covering index ``ix_renders_analytics`` (joined to
``render_labels`` for tags and formats) and numbers each group's timings with a window function
(``row_number()`` over the group, ordered by the value), which sorts them on every request.
``bench/analytics_bench.py`` times it next to the service's, on the same database, in the same
run; both must give the same figures (the benchmark checks they do).
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
    bindparam,
    func,
    literal,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import String

from reelforge.db.models import RENDER_STATES, Render, RenderLabel
from reelforge.services.errors import Invalid

__all__ = ["render_analytics"]

GroupBy = Literal["tag", "template", "batch", "format", "locale", "day"]
GROUPS: tuple[GroupBy, ...] = get_args(GroupBy)
MAX_RANGE = timedelta(days=366)
"""The longest range one query may cover."""
DEFAULT_RANGE = timedelta(days=30)
PERCENTILES = (50, 95)
TIMINGS = ("run_seconds", "queue_seconds")

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


def _aggregates(workspace_id: str, start: datetime, end: datetime, group_by: GroupBy | None) -> Select[Any]:
    """Per group, state and failure code (None but for failed renders): renders, output totals,
    and how many have each timing. One pass over the range; its rows are added up per group
    here (grouping by the state costs the database less than a sum per state)."""
    columns: list[Any] = [
        _R.state.label("state"),
        _R.failure_code.label("failure_code"),
        func.count().label("renders"),
        func.sum(_R.output_seconds).label("output_seconds"),
        func.sum(_R.output_bytes).label("output_bytes"),
        func.count(_R.run_seconds).label("run_seconds_n"),
        func.count(_R.queue_seconds).label("queue_seconds_n"),
    ]
    return (
        _rows(workspace_id, start, end, group_by)
        .add_columns(*columns)
        .group_by("k", _R.state, _R.failure_code)
    )


_SUMMED = ("renders", "output_seconds", "output_bytes", "run_seconds_n", "queue_seconds_n")


def _totals(rows: Any) -> tuple[dict[Any, dict[str, Any]], dict[Any, list[tuple[str, int]]]]:
    """The rows of :func:`_aggregates` added up per group (renders by state too), and each
    group's failures by code."""
    groups: dict[Any, dict[str, Any]] = {}
    failures: dict[Any, list[tuple[str, int]]] = {}
    for row in rows:
        total = groups.setdefault(
            row.k, {**dict.fromkeys(_SUMMED, 0), **{f"n_{s}": 0 for s in RENDER_STATES}}
        )
        for name in _SUMMED:
            total[name] += getattr(row, name) or 0
        if row.state in RENDER_STATES:
            total[f"n_{row.state}"] += row.renders
        if row.state == "failed":
            failures.setdefault(row.k, []).append((row.failure_code or "internal", int(row.renders)))
    return groups, failures


def _ranked(
    workspace_id: str,
    start: datetime,
    end: datetime,
    group_by: GroupBy | None,
    name: str,
    ranks: Sequence[int],
) -> Select[Any]:
    """Per group, the values of ``name`` at the 1-based ``ranks`` in ascending order (a window
    function numbers each group's values; only the rows at the wanted ranks come back)."""
    key, _ = _key(group_by)
    value = _R[name]
    numbered = (
        _rows(workspace_id, start, end, group_by)
        .add_columns(
            value.label("v"),
            func.row_number().over(partition_by=key, order_by=value).label("r"),
        )
        .where(value.is_not(None))
        .subquery("numbered")
    )
    return select(numbered.c.k, numbered.c.r, numbered.c.v).where(
        numbered.c.r.in_(bindparam("ranks", sorted(set(ranks)), expanding=True))
    )


def _ranks(n: int, p: int) -> tuple[int, int]:
    """The two 1-based ranks ``percentile_cont(p / 100)`` interpolates between, of n values."""
    low = 1 + (n - 1) * p // 100
    return low, min(low + 1, n)


def _percentile(n: int, p: int, values: dict[int, float]) -> float | None:
    """``percentile_cont(p / 100)`` of n values, from those at its two ranks."""
    if not n:
        return None
    low, high = _ranks(n, p)
    if low not in values or high not in values:
        return None  # a render changed between the statements (SQLite reads without a snapshot)
    fraction = ((n - 1) * p % 100) / 100
    return round(values[low] + fraction * (values[high] - values[low]), 3)


def _window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = _utc(end, "to") if end is not None else now
    try:
        start = _utc(start, "from") if start is not None else end - DEFAULT_RANGE
    except OverflowError:
        raise _out_of_range("to") from None  # the default `from` would be before year 1
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


def _utc(value: datetime, parameter: str) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise _out_of_range(parameter) from None


def _out_of_range(parameter: str) -> Invalid:
    detail = f"`{parameter}` is out of the supported range of dates"
    return Invalid(detail, errors=[{"parameter": parameter, "code": "range", "detail": detail}])


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
    if conn.dialect.name == "postgresql" and not conn.in_transaction():
        # The totals and the ranked reads are separate statements: one snapshot for all of them,
        # so a render finishing in between cannot leave a rank without its value.
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    groups, failures = _totals(conn.execute(_aggregates(workspace_id, start, end, group_by)))
    # The values at the ranks each group's percentiles need: one ranked read per timing.
    ranked: dict[str, dict[Any, dict[int, float]]] = {}
    for name in TIMINGS:
        counts = [int(g[f"{name}_n"]) for g in groups.values()]
        found: dict[Any, dict[int, float]] = ranked.setdefault(name, {})
        if any(counts):
            wanted = [r for n in counts for p in PERCENTILES for r in _ranks(n, p)]
            for k, rank, value in conn.execute(_ranked(workspace_id, start, end, group_by, name, wanted)):
                found.setdefault(k, {})[int(rank)] = float(value)
    body = [
        _group(k, row, failures.get(k, []), {name: ranked[name].get(k, {}) for name in TIMINGS})
        for k, row in groups.items()
    ]
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


def _group(
    key: Any, row: dict[str, Any], failures: Sequence[tuple[str, int]], ranked: dict[str, dict[int, float]]
) -> dict[str, Any]:
    states = {s: int(row[f"n_{s}"]) for s in RENDER_STATES}
    finished = states["succeeded"] + states["failed"]
    merged: dict[str, int] = {}
    for code, count in failures:
        merged[code] = merged.get(code, 0) + count
    return {
        "key": key,
        "renders": int(row["renders"]),
        "states": states,
        "success_rate": round(states["succeeded"] / finished, 4) if finished else None,
        "errors": [
            {"code": code, "count": count, "rate": round(count / finished, 4)}
            for code, count in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "render_seconds": _percentiles(row, "run_seconds", ranked["run_seconds"]),
        "queue_seconds": _percentiles(row, "queue_seconds", ranked["queue_seconds"]),
        "output_minutes": round(float(row["output_seconds"]) / 60, 3),
        "output_bytes": int(row["output_bytes"]),
    }


def _percentiles(row: dict[str, Any], name: str, values: dict[int, float]) -> dict[str, float | None]:
    n = int(row[f"{name}_n"])
    return {f"p{p}": _percentile(n, p, values) for p in PERCENTILES}
