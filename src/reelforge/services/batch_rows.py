"""Value rows of a batch from CSV: columns are variables, cells typed by the variable's type.

* The first line names the columns; every later non-blank line is a row, numbered by its
  1-based line in the file (the header is line 1, so the first row is line 2; a quoted cell
  spanning lines gives its row the line it starts on).
* A column is a variable's name. A list-of-records variable takes either one column holding
  JSON (``products`` = ``[{"name": "Mug", "price": 9.5}]``) or one column per item field,
  ``products.0.name``, ``products.0.price``, ``products.1.name`` … (``products[0].name`` too);
  an item whose cells are all empty is left out, so rows may have different item counts.
* Cells are typed by the variable (or list field) they fill: ``number`` and ``integer`` parse
  as numbers,
  ``boolean`` accepts true/false, yes/no, y/n, on/off, 1/0 (any case), ``list`` cells parse as JSON,
  everything else (text, colour, duration, asset ids) stays text. A cell that does not parse is
  passed on as written, so the template's own check reports it with its variable's name.
* A localisable variable takes one column per locale, ``title@en``, ``title@fr`` (the value is
  then ``{"$locales": {"en": …, "fr": …}}``); a plain ``title`` column beside them is the
  template's default locale's value.
* An empty cell is "not given": the variable's default applies (or it is reported missing when
  required). Write ``""`` (two double quotes inside a quoted cell) for an empty text.
* A line with more cells than the header has is refused (with its line number).

The parser tells, for each value pointer it makes, which column it came from, so a problem
the template reports at ``/values/products/0/price`` is shown with its column
``products.0.price`` and the row's line.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CsvRow", "parse_csv_rows"]

_INDEXED = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_-]*)(?:\.(?P<dot>\d+)|\[(?P<bracket>\d+)\])\.(?P<field>.+)$"
)
_LOCALISED = re.compile(r"^(?P<name>[^@]+)@(?P<locale>[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)$")
"""``title@pt-BR``: the locale tag as templates take it (spec.templates.LOCALE_PATTERN)."""
LOCALES_KEY = "$locales"
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
MAX_LIST_ITEMS = 500

TypeOf = Callable[[str, str | None], str | None]
"""``(variable, list field or None) -> type name`` (``None`` when unknown)."""


@dataclass
class CsvRow:
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    """Value pointer (``/products/0/price``) -> the column it came from."""
    problems: list[dict[str, Any]] = field(default_factory=list)
    """Problems of the line itself (``{pointer, column, detail, code}``, pointer relative to the row)."""


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _typed(cell: str, kind: str | None) -> Any:
    """The cell as the type wants it, or the text as written when it does not parse."""
    if kind in ("number", "integer"):
        text = cell.strip()
        if not _NUMBER.fullmatch(text):
            return cell
        if "." not in text and "e" not in text.lower():
            try:
                return int(text)  # exact (the template bounds the size)
            except ValueError:  # more digits than Python converts
                return cell
        number = float(text)
        # "1e999" is no number a float holds: left as text, the template says what is wrong.
        return number if math.isfinite(number) else cell
    if kind == "boolean":
        lowered = cell.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else cell
    if kind == "list":
        try:
            return json.loads(cell)
        except ValueError:
            return cell
    if kind == "duration" and _NUMBER.fullmatch(cell.strip()):
        seconds = float(cell.strip())
        return seconds if math.isfinite(seconds) else cell
    return cell


def parse_csv_rows(
    text: str, type_of: TypeOf, default_locale: str | None = None
) -> tuple[list[CsvRow], list[dict[str, Any]]]:
    """The rows of a CSV document, and the problems of the document as a whole (no header,
    duplicate or empty column names). Problems of a single line are on its :class:`CsvRow`."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        return [], [
            {"line": 1, "detail": "the CSV is empty: its first line must name the columns", "code": "empty"}
        ]
    except csv.Error as exc:
        return [], [{"line": 1, "detail": f"the header line is not valid CSV: {exc}", "code": "csv_invalid"}]
    names = [h.strip() for h in header]
    document: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        if not name:
            document.append(
                {"line": 1, "column": i + 1, "detail": f"column {i + 1} has no name", "code": "empty_column"}
            )
        elif names.index(name) != i:
            document.append(
                {
                    "line": 1,
                    "column": i + 1,
                    "detail": f"the column {name!r} appears twice",
                    "code": "duplicate_column",
                }
            )
    if document:
        return [], document
    rows: list[CsvRow] = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append(
                CsvRow(
                    line, problems=[{"pointer": "", "detail": f"not valid CSV: {exc}", "code": "csv_invalid"}]
                )
            )
            line = reader.line_num + 1
            continue
        start, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue  # blank lines separate nothing
        rows.append(_row(start, names, cells, type_of, default_locale))
    return rows, []


def _row(
    line: int, names: list[str], cells: list[str], type_of: TypeOf, default_locale: str | None
) -> CsvRow:
    row = CsvRow(line)
    if len(cells) > len(names):
        extra = len(cells) - len(names)
        row.problems.append(
            {
                "pointer": "",
                "detail": f"{len(cells)} cells where the header names {len(names)} "
                f"columns ({extra} too many; quote cells that hold commas)",
                "code": "too_many_cells",
            }
        )
        return row
    items: dict[str, dict[int, dict[str, Any]]] = {}
    localised: dict[str, dict[str, Any]] = {}
    for name, cell in zip(names, cells, strict=False):
        if cell == "":
            continue
        per_locale = _LOCALISED.fullmatch(name)
        if per_locale:
            variable, tag = per_locale["name"], per_locale["locale"]
            localised.setdefault(variable, {})[tag] = _typed(cell, type_of(variable, None))
            row.columns[f"/{_escape(variable)}/{LOCALES_KEY}/{_escape(tag)}"] = name
            continue
        indexed = _INDEXED.fullmatch(name)
        if indexed and type_of(indexed["name"], None) in ("list", None) and indexed["name"] not in names:
            variable, number = indexed["name"], int(indexed["dot"] or indexed["bracket"])
            if number >= MAX_LIST_ITEMS:
                row.problems.append(
                    {
                        "pointer": f"/{_escape(variable)}",
                        "column": name,
                        "detail": f"at most {MAX_LIST_ITEMS} items in a list",
                        "code": "too_many_items",
                    }
                )
                continue
            item_field = indexed["field"]
            items.setdefault(variable, {}).setdefault(number, {})[item_field] = _typed(
                cell, type_of(variable, item_field)
            )
            row.columns[f"/{_escape(variable)}/{number}/{_escape(item_field)}"] = name
            continue
        row.values[name] = _typed(cell, type_of(name, None))
        row.columns[f"/{_escape(name)}"] = name
    for variable, by_number in items.items():
        # Items in index order; gaps close up, and the pointers follow the item's new place.
        ordered = sorted(by_number)
        row.values[variable] = [by_number[n] for n in ordered]
        for place, number in enumerate(ordered):
            if place != number:
                for ptr, column in list(row.columns.items()):
                    prefix = f"/{_escape(variable)}/{number}/"
                    if ptr.startswith(prefix):
                        row.columns[f"/{_escape(variable)}/{place}/" + ptr[len(prefix) :]] = column
        row.columns.setdefault(f"/{_escape(variable)}", f"{variable}.*")
    for variable, by_locale in localised.items():
        plain = row.values.pop(variable, None)
        if plain is not None:
            if default_locale is None:
                row.problems.append(
                    {
                        "pointer": f"/{_escape(variable)}",
                        "column": variable,
                        "detail": f"both {variable!r} and {variable}@<locale> columns, and the template "
                        "has no default locale to give the plain one",
                        "code": "ambiguous",
                    }
                )
                continue
            by_locale.setdefault(default_locale, plain)
            row.columns[f"/{_escape(variable)}/{LOCALES_KEY}/{_escape(default_locale)}"] = variable
        row.values[variable] = {LOCALES_KEY: by_locale}
        row.columns.setdefault(f"/{_escape(variable)}", f"{variable}@*")
    return row
