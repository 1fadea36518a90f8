"""Formatting filters in placeholders: ``{{price | currency("EUR")}}`` written the render's way.

A placeholder may pass its value through one filter, written ``| name`` or
``| name(arguments)``. They format numbers, money, percentages and dates by the locale of the
render (the template's ``locale``; English when there is none), with Babel's CLDR data, so
``12.5 | currency("EUR")`` is ``€12.50`` in ``en`` and ``12,50 €`` in ``fr``. A filtered value
is always text.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = [
    "FILTERS",
    "FilterError",
    "PlaceholderFilter",
    "apply_filter",
    "apply_filters",
    "filter_type_problem",
    "parse_filters",
]

FILTERS: dict[str, str] = {
    "number": "number(decimals?): a number with the locale's separators (1,234.5 / 1 234,5)",
    "currency": 'currency("EUR"): an amount of money in that ISO 4217 currency (€12.50 / 12,50 €)',
    "percent": "percent(decimals?): a fraction as a percentage (0.25 is 25 % / 25%)",
    "date": 'date("short"|"medium"|"long"|"full"): an ISO date ("2026-03-01") in the locale\'s words',
}
"""Every filter, with how it is written and what it does."""

_NUMERIC = ("number", "currency", "percent")
DATE_STYLES = ("short", "medium", "long", "full")
_MAX_DECIMALS = 6

_CALL = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\((?P<args>[^()]*)\))?\s*$")


class FilterError(ValueError):
    """A filter written wrongly, or a value it cannot format; the message says which and why."""


@dataclass(frozen=True, slots=True)
class PlaceholderFilter:
    name: str
    args: tuple[Any, ...] = ()


def _arguments(text: str, name: str) -> tuple[Any, ...]:
    """A filter's arguments: JSON literals (strings in double quotes, numbers) separated by commas."""
    if not text.strip():
        return ()
    try:
        parsed = json.loads(f"[{text}]")
    except json.JSONDecodeError:
        raise FilterError(
            f'the arguments of {name} are not understood: write strings in double quotes ("EUR") '
            "and numbers as digits, separated by commas"
        ) from None
    return tuple(parsed)


def _check(f: PlaceholderFilter) -> None:
    args = f.args
    if f.name in ("number", "percent"):
        if len(args) > 1 or (
            args
            and (
                not isinstance(args[0], int) or isinstance(args[0], bool) or not 0 <= args[0] <= _MAX_DECIMALS
            )
        ):
            raise FilterError(f"{f.name} takes at most one argument: the decimals, 0 to {_MAX_DECIMALS}")
    elif f.name == "currency":
        if len(args) != 1 or not isinstance(args[0], str):
            raise FilterError('currency takes one argument: the currency code, e.g. currency("EUR")')
        if args[0] not in _currencies():
            raise FilterError(f"{args[0]!r} is not an ISO 4217 currency code such as EUR, USD or JPY")
    elif f.name == "date" and (len(args) > 1 or (args and args[0] not in DATE_STYLES)):
        raise FilterError(f"date takes at most one argument: the style, one of {', '.join(DATE_STYLES)}")


def parse_filters(text: str) -> tuple[PlaceholderFilter, ...]:
    """``| currency("EUR") | number`` (what follows a placeholder's name) as filters; raises
    :class:`FilterError` for anything that is not a known filter with valid arguments."""
    if not text.strip():
        return ()
    parts = text.split("|")
    if parts[0].strip():
        raise FilterError(f"expected | before a filter, got {parts[0].strip()!r}")
    if len(parts) > 2:
        raise FilterError("one filter per placeholder: a filter's result is text, already formatted")
    filters: list[PlaceholderFilter] = []
    for part in parts[1:]:
        m = _CALL.match(part)
        if m is None:
            raise FilterError(
                f'{part.strip()!r} is not a filter: write | name or | name(arguments), e.g. | currency("EUR")'
            )
        name = m["name"]
        if name not in FILTERS:
            raise FilterError(f"unknown filter {name!r}; the filters are {', '.join(FILTERS)}")
        f = PlaceholderFilter(name, _arguments(m["args"] or "", name))
        _check(f)
        filters.append(f)
    return tuple(filters)


def filter_type_problem(filters: Sequence[PlaceholderFilter], variable_type: str | None) -> str | None:
    """Why the filter cannot take a variable of ``variable_type`` (None if it can, or the type
    is unknown)."""
    if not filters or variable_type is None:
        return None
    first = filters[0]
    if first.name in _NUMERIC and variable_type not in ("number", "integer"):
        return f"{first.name} formats a number; this is a {variable_type} variable"
    if first.name == "date" and variable_type != "text":
        return f"date formats a date written as text (2026-03-01); this is a {variable_type} variable"
    return None


@cache
def _currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


@cache
def _locale(tag: str | None) -> Any:
    """The Babel locale for a BCP 47 tag, falling back to its language, then to English."""
    from babel import Locale, UnknownLocaleError

    for candidate in (tag, (tag or "").split("-")[0], "en"):
        if not candidate:
            continue
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


def _number(value: Any, name: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FilterError(f"{name} formats a number, got {json.dumps(value, ensure_ascii=False)[:60]}")
    return value


def _with_decimals(pattern: Any, decimals: int | None) -> Any:
    if decimals is None:
        return pattern
    fixed = copy.copy(pattern)
    fixed.frac_prec = (decimals, decimals)
    return fixed


def _date(value: Any) -> dt.date:
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    raise FilterError(
        f"date formats an ISO date such as 2026-03-01, got {json.dumps(value, ensure_ascii=False)[:60]}"
    )


def apply_filter(value: Any, f: PlaceholderFilter, locale: str | None) -> str:
    from babel.dates import format_date
    from babel.numbers import format_currency

    loc = _locale(locale)
    if f.name == "number":
        decimals = f.args[0] if f.args else None
        pattern = _with_decimals(loc.decimal_formats[None], decimals)
        return str(pattern.apply(_number(value, f.name), loc))
    if f.name == "percent":
        decimals = f.args[0] if f.args else None
        pattern = _with_decimals(loc.percent_formats[None], decimals)
        return str(pattern.apply(_number(value, f.name), loc))
    if f.name == "currency":
        return str(format_currency(_number(value, f.name), f.args[0], locale=loc))
    style = f.args[0] if f.args else "medium"
    return str(format_date(_date(value), style, locale=loc))


def apply_filters(value: Any, filters: Sequence[PlaceholderFilter], locale: str | None) -> Any:
    """``value`` through ``filters`` in ``locale``; unchanged when there are none."""
    for f in filters:
        value = apply_filter(value, f, locale)
    return value
