"""Hot read statements, run by the SQLite driver itself.

For a select answered from an index, SQLAlchemy's execution (the compiled-cache lookup, the
parameter dictionary, the execution context, the result object and its row processors) costs
several times SQLite's own work. A :class:`PreparedSelect` compiles its statement once per
dialect and, on SQLite, hands the SQL string and a tuple of parameters straight to the driver,
converting parameters and results with the very bind and result processors SQLAlchemy would
apply, so the rows are the same. On other databases it is ``connection.execute``, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Select
from sqlalchemy.exc import InvalidRequestError

__all__ = ["PreparedSelect", "fetch_rows"]

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _DriverStatement:
    sql: str
    names: tuple[str, ...]
    """The parameters' names, in the order of the ``?`` marks."""
    fixed: dict[str, Any]
    """Values bound in the statement itself, already processed."""
    binds: dict[str, Processor]
    """Bind processors of the parameters a call gives."""
    results: tuple[Processor, ...]


def _compile_for_driver(statement: Select[Any], dialect: Dialect) -> _DriverStatement:
    per_call = set()
    for name, bind in statement.compile(dialect=dialect).binds.items():
        if bind.callable is not None:
            raise ValueError(
                f"a PreparedSelect cannot take {name!r}: its value is computed on each execution"
            )
        if bind.expanding:
            raise ValueError(f"a PreparedSelect cannot take {name!r}: an IN list is rendered per execution")
        if bind.required:
            if bind.literal_execute:
                raise ValueError(
                    f"a PreparedSelect cannot take {name!r} per call: it is rendered into the SQL"
                )
            per_call.add(name)
    # Literal-execute values (such as group_concat's separator) are rendered into the SQL now;
    # rendering needs a value for every parameter, so those given per call get a stand-in.
    compiled = statement.params({name: None for name in per_call}).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    if compiled.positiontup is None or "POSTCOMPILE" in compiled.string:
        raise ValueError("a PreparedSelect needs a dialect with positional parameters")
    binds: dict[str, Processor] = {}
    fixed: dict[str, Any] = {}
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in per_call:
            binds[name] = processor
        else:
            value = bind.effective_value
            fixed[name] = processor(value) if processor else value
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in statement.selected_columns
    )
    return _DriverStatement(compiled.string, tuple(compiled.positiontup), fixed, binds, results)


class PreparedSelect:
    """A Core select for a hot read (see the module docstring); build it once, at import."""

    def __init__(self, statement: Select[Any]):
        self.statement = statement
        self._driver: dict[Dialect, _DriverStatement] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows as tuples, as ``conn.execute(statement, params).all()`` gives them."""
        dialect = conn.dialect
        if dialect.name != "sqlite":
            return [tuple(row) for row in conn.execute(self.statement, dict(params)).all()]
        prepared = self._driver.get(dialect)
        if prepared is None:
            prepared = self._driver[dialect] = _compile_for_driver(self.statement, dialect)
        values = []
        for name in prepared.names:
            if name in prepared.fixed:
                values.append(prepared.fixed[name])
                continue
            try:
                value = params[name]
            except KeyError:
                raise InvalidRequestError(f"A value is required for bind parameter {name!r}") from None
            processor = prepared.binds[name]
            values.append(processor(value) if processor else value)
        driver = conn.connection.driver_connection
        assert driver is not None
        fetched = driver.execute(prepared.sql, values).fetchall()
        results = prepared.results
        if not any(results):
            return fetched
        return [tuple(p(v) if p else v for p, v in zip(results, row, strict=True)) for row in fetched]


def fetch_rows(
    conn: Connection, query: Select[Any] | PreparedSelect, params: Mapping[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """The rows of a prepared select, or of a statement built for this one read."""
    if isinstance(query, PreparedSelect):
        return query.rows(conn, params or {})
    return [tuple(row) for row in conn.execute(query, dict(params or {})).all()]
