"""Render analytics: a workspace's renders created in a time range, grouped by campaign tag,
template, batch, output format, locale or UTC day, aggregated by the database.

Per group: renders by state, the success rate (succeeded / (succeeded + failed); cancelled
renders are left out), the failures by code with their rate among finished renders, the 50th
and 95th percentiles of the seconds renders ran and waited in the queue, the minutes of video
made and the bytes of every file made.

The same SQL runs on SQLite and PostgreSQL, reading ``render_facts`` (migration 0019): one compact
row per render and grouping, which the database's triggers keep equal to the renders and their
labels (:mod:`reelforge.db.facts`). Nothing sorts the range's rows. The grouping's keys are
walked in the order of an index holding each key's rows by state, then by creation time
(``ix_render_facts_groups``, migration 0024): one seek per key finds the next key, and per key
and state one seek and a walk of exactly the range's rows add up its counts and totals. A
``GROUP BY`` of the range would sort all its rows first, which costs SQLite more than reading
them. Percentiles are those of PostgreSQL's ``percentile_cont`` (linear between the two nearest
ranks), computed without it, which SQLite lacks: knowing each group's count n, the values at
the ranks ``1 + floor((n - 1) p)`` and the next one are read from an index holding each group's
timings in order, skipping to the rank (from the nearer end) rather than sorting the group; the
value is interpolated between them here.
A render with several tags or output formats counts in each of their groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast, get_args

from sqlalchemy import (
    JSON,
    ColumnElement,
    CompoundSelect,
    Connection,
    FromClause,
    Select,
    String,
    bindparam,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from reelforge.db.models import RENDER_STATES, RenderFact

from .errors import Invalid

__all__ = ["GROUPS", "MAX_RANGE", "GroupBy", "render_analytics"]

GroupBy = Literal["tag", "template", "batch", "format", "locale", "day"]
GROUPS: tuple[GroupBy, ...] = get_args(GroupBy)
MAX_RANGE = timedelta(days=366)
"""The longest range one query may cover."""
DEFAULT_RANGE = timedelta(days=30)
PERCENTILES = (50, 95)
TIMINGS = ("run_seconds", "queue_seconds")

_F = cast(FromClause, RenderFact.__table__)
_C = _F.c


class _array(FunctionElement[Any]):
    """A JSON array of its arguments: the aggregates of one scalar subquery as one value."""

    type = JSON()
    inherit_cache = True


@compiles(_array)
def _array_sqlite(element: _array, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array({compiler.process(element.clauses, **kw)})"


@compiles(_array, "postgresql")
def _array_postgresql(element: _array, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_build_array({compiler.process(element.clauses, **kw)})"


class _object_of(FunctionElement[Any]):
    """Aggregate: a JSON object of the rows' keys (first argument) and values (second)."""

    type = JSON()
    inherit_cache = True


@compiles(_object_of)
def _object_of_sqlite(element: _object_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_object({compiler.process(element.clauses, **kw)})"


@compiles(_object_of, "postgresql")
def _object_of_postgresql(element: _object_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object_agg({compiler.process(element.clauses, **kw)})"


class _exact(FunctionElement[Any]):
    """A float as a JSON array carries it without loss. SQLite writes a REAL into JSON with 15
    significant digits; as text with 17 it reads back as the same double. PostgreSQL writes
    the shortest text that does."""

    inherit_cache = True


@compiles(_exact)
def _exact_sqlite(element: _exact, compiler: SQLCompiler, **kw: Any) -> str:
    return f"printf('%!.17g', {compiler.process(element.clauses, **kw)})"


@compiles(_exact, "postgresql")
def _exact_postgresql(element: _exact, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


def _constant(value: str) -> ColumnElement[str]:
    """A string of this module written into the SQL (a state, a code): no parameter to bind."""
    return literal_column("'" + value.replace("'", "''") + "'", String())


def _keys(bounded: bool) -> Any:
    """The grouping's distinct keys other than null, in order: each found by one seek in an
    index beginning with ``(workspace_id, dim, key)`` for the smallest key after the one before
    (a loose index scan), rather than reading every row. When ``bounded`` (days), from ``low``
    on, up to the first key at or after ``high`` (a single bound keeps each seek a seek)."""
    later = _F.alias("later")
    first = select(func.min(_C.key).label("k")).where(
        _C.workspace_id == bindparam("workspace_id"),
        _C.dim == bindparam("dim"),
        *((_C.key >= bindparam("low"),) if bounded else ()),
    )
    keys = first.cte("keys", recursive=True)
    following = (
        select(func.min(later.c.key))
        .where(
            later.c.workspace_id == bindparam("workspace_id"),
            later.c.dim == bindparam("dim"),
            later.c.key > keys.c.k,
        )
        .scalar_subquery()
    )
    more = select(following).where(
        keys.c.k.is_not(None), *((keys.c.k < bindparam("high"),) if bounded else ())
    )
    return keys.union_all(more)


def _of_group(key: Any, *more: ColumnElement[bool]) -> Select[Any]:
    """A group's fact rows in the range (``key`` a column of the keys, or None for the group of
    renders without a value)."""
    return select().where(
        _C.workspace_id == bindparam("workspace_id"),
        _C.dim == bindparam("dim"),
        _C.key.is_(None) if key is None else _C.key == key,
        *more,
        _C.created_at >= bindparam("start"),
        _C.created_at < bindparam("end"),
    )


_PACKED = ("renders", "run_seconds_n", "queue_seconds_n", "output_bytes", "output_seconds")
"""What :func:`_state_totals` packs, in order."""


def _state_totals(key: Any, state: str) -> Any:
    """A group's renders in ``state``: their count, how many have each timing and their output
    totals, as one JSON array. The index ``ix_render_facts_groups`` holds the group's rows by
    state, then creation time: one seek, then only the range's rows."""
    totals = _array(
        func.count(),
        func.count(_C.run_seconds),
        func.count(_C.queue_seconds),
        func.sum(_C.output_bytes),
        _exact(func.sum(_C.output_seconds)),
    )
    return _of_group(key, _C.state == _constant(state)).add_columns(totals).scalar_subquery()


def _failure_codes(key: Any, keys: Any) -> Any:
    """A group's failed renders by failure code, as a JSON object (no code: ``""``)."""
    code = func.coalesce(_C.failure_code, _constant(""))
    counted = (
        _of_group(key, _C.state == _constant("failed"))
        .add_columns(code.label("code"), func.count().label("n"))
        .group_by(code)
        .correlate(keys)
        .subquery("codes")
    )
    return select(_object_of(counted.c.code, counted.c.n)).scalar_subquery()


def _aggregates(bounded: bool) -> CompoundSelect:
    """Per group of the grouping (the group of renders without a value first): its totals per
    state (:func:`_state_totals`) and its failures by code, one row per key of every time (the
    keys without a render in the range have only zeros)."""
    keys = _keys(bounded)

    def columns(key: Any) -> list[Any]:
        return [
            *(_state_totals(key, state).label(state) for state in RENDER_STATES),
            _failure_codes(key, keys).label("failures"),
        ]

    return union_all(
        select(null().label("k"), *columns(None)),
        select(keys.c.k, *columns(keys.c.k)).where(keys.c.k.is_not(None)),
    )


_AGGREGATES = {bounded: _aggregates(bounded) for bounded in (False, True)}


def _totals(rows: Any) -> tuple[dict[Any, dict[str, Any]], dict[Any, list[tuple[str, int]]]]:
    """The rows of :func:`_aggregates` added up per group with a render in the range (renders
    by state too), and each group's failures by code."""
    groups: dict[Any, dict[str, Any]] = {}
    failures: dict[Any, list[tuple[str, int]]] = {}
    for row in rows:
        total: dict[str, Any] = {**dict.fromkeys(_PACKED, 0), **{f"n_{s}": 0 for s in RENDER_STATES}}
        for state in RENDER_STATES:
            renders, run_n, queue_n, output_bytes, output_seconds = getattr(row, state)
            total["renders"] += renders
            total[f"n_{state}"] += renders
            total["run_seconds_n"] += run_n
            total["queue_seconds_n"] += queue_n
            total["output_bytes"] += int(output_bytes or 0)
            total["output_seconds"] += float(output_seconds or 0)
        if not total["renders"]:
            continue  # a key with renders only outside the range
        groups[row.k] = total
        if row.failures:
            failures[row.k] = [(code or "internal", int(n)) for code, n in row.failures.items()]
    return groups, failures


_READS = tuple((name, p) for name in TIMINGS for p in PERCENTILES)
"""A group's reads for its percentiles, in the order of :func:`_at_ranks`' parts."""


def _descending(p: int) -> bool:
    """Whether percentile p's ranks are read from the highest value: the nearer end."""
    return p > 50


def _at_ranks(keyed: bool) -> CompoundSelect:
    """A group's values at the ranks its percentiles need, in one statement: per read of
    :data:`_READS` (``n``), up to ``limit_n`` values of the timing in the range from rank
    ``offset_n + 1`` on, counted from the highest for a percentile above the median. The
    equalities and the order are those of the timing's index (``ix_render_facts_run``,
    ``ix_render_facts_queue``), which the database reads from the group's nearer end, skipping
    to the offset, rather than sorting the group."""
    parts = []
    for i, (name, p) in enumerate(_READS):
        value = _C[name]
        ranked = (
            select(value.label("v"))
            .where(
                _C.workspace_id == bindparam("workspace_id"),
                _C.dim == bindparam("dim"),
                _C.key == bindparam("key") if keyed else _C.key.is_(None),
                value.is_not(None),
                _C.created_at >= bindparam("start"),
                _C.created_at < bindparam("end"),
            )
            .order_by(value.desc() if _descending(p) else value)
            .limit(bindparam(f"limit_{i}"))
            .offset(bindparam(f"offset_{i}"))
            .subquery(f"read_{i}")
        )
        parts.append(select(literal_column(str(i)).label("read"), ranked.c.v))
    return union_all(*parts)


_STATEMENTS = {keyed: _at_ranks(keyed) for keyed in (False, True)}


_DRIVER_SQL: dict[tuple[str, bool], tuple[str, tuple[str, ...] | None]] = {}
""":data:`_STATEMENTS` compiled per dialect: the SQL and, for positional parameters, their
order. A grouping by batch reads hundreds of groups; run on the driver's cursor, each read
costs a fraction of a statement executed through SQLAlchemy (measured on SQLite: about a
third)."""


def _driver_sql(conn: Connection, keyed: bool) -> tuple[str, tuple[str, ...] | None]:
    key = (conn.dialect.name, keyed)
    found = _DRIVER_SQL.get(key)
    if found is None:
        compiled = _STATEMENTS[keyed].compile(dialect=conn.dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _DRIVER_SQL[key] = (str(compiled), order)
    return found


def _bound(conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
    """The range's timestamps as the column stores them (text on SQLite), for the driver."""
    process = _C.created_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if process is None:
        return params
    return {**params, "start": process(params["start"]), "end": process(params["end"])}


def _values_at(
    conn: Connection, cursor: Any, params: dict[str, Any], key: Any, counts: dict[str, int]
) -> dict[str, dict[int, float]]:
    """Per timing, its values at the ranks of a group's percentiles (``counts``: the group's
    number of values of each timing), read in one statement on ``cursor`` (the connection's
    own, in its transaction)."""
    sql, order = _driver_sql(conn, key is not None)
    bound = {**params, "key": key}
    ranks: list[tuple[int, int]] = []
    for i, (name, p) in enumerate(_READS):
        n = counts[name]
        low, high = _ranks(n, p) if n else (1, 0)
        ranks.append((low, high))
        bound[f"limit_{i}"] = high - low + 1
        bound[f"offset_{i}"] = (n - high if _descending(p) else low - 1) if n else 0
    cursor.execute(sql, tuple(bound[name] for name in order) if order is not None else bound)
    read: list[list[float]] = [[] for _ in _READS]
    for i, value in cursor.fetchall():
        read[int(i)].append(float(value))
    found: dict[str, dict[int, float]] = {name: {} for name in TIMINGS}
    for (name, _), (low, _high), values in zip(_READS, ranks, read, strict=True):
        # The values of ranks low to high, ascending, whichever end they were read from.
        found[name].update((low + j, v) for j, v in enumerate(sorted(values)))
    return found


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
    params: dict[str, Any] = {
        "workspace_id": workspace_id,
        "dim": group_by or "all",
        "start": start,
        "end": end,
    }
    bounded = group_by == "day"
    if bounded:  # only the days of the range are keys worth visiting
        params.update(low=start.strftime("%Y-%m-%d"), high=end.strftime("%Y-%m-%d"))
    groups, failures = _totals(conn.execute(_AGGREGATES[bounded], params))
    # The values at the ranks each group's percentiles need, read group by group.
    params = _bound(conn, params)
    ranked: dict[Any, dict[str, dict[int, float]]] = {}
    cursor = conn.connection.cursor()
    try:
        for k, row in groups.items():
            counts = {name: int(row[f"{name}_n"]) for name in TIMINGS}
            ranked[k] = _values_at(conn, cursor, params, k, counts)
    finally:
        cursor.close()
    body = [_group(k, row, failures.get(k, []), ranked[k]) for k, row in groups.items()]
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
