"""Checking values against a template's variables: each value's type and validation, list
items and record fields, and per-locale values (``{"$locales": {...}}``) picked for a locale.
Every problem is located at ``/values/<name>[/<index>/<field>]``."""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import re2

from .errors import Problem, pointer
from .template_model import LOCALE_RE, LOCALES_KEY, MAX_HINTED, MAX_NUMBER, AssetFacts, Template, Variable
from .timing import MAX_SECONDS, TimeTooLarge, TimeValueError, parse_time
from .values import parse_color

# --------------------------------------------------------------------------- checking one value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float) and not math.isfinite(value):
        return "a non-finite number (NaN or Infinity)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _expected(var: Variable) -> str:
    return {
        "text": "text",
        "number": "a number",
        "integer": "an integer",
        "boolean": "true or false",
        "color": "a colour",
        "duration": "a duration",
        "asset": "an asset reference",
        "list": "a list of items",
    }[var.type]


def is_number(value: Any) -> bool:
    """A JSON number that is finite (Python's ``int`` has no infinity; a huge one is a number,
    refused by :func:`_number_problem` for its size rather than by ``math.isfinite``)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _number_problem(value: Any) -> tuple[str, str] | None:
    """Why a value is not a usable number (message, code), or None when it is one."""
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number (NaN and Infinity are not numbers here)", "wrong_type"
    if not is_number(value):
        return "", "wrong_type"
    if abs(value) > MAX_NUMBER:
        return f"too large: numbers are at most {MAX_NUMBER:,} in size", "out_of_range"
    return None


@functools.lru_cache(maxsize=256)
def compiled_pattern(source: str) -> Any:
    """A text variable's `pattern`, compiled by RE2: it matches in time linear in the text, so
    a pattern such as ``^(a+)+$`` cannot stall a request (Python's ``re`` backtracks
    exponentially on it). RE2 has no backreferences nor lookaround; such a pattern is refused
    when the template is saved. :class:`ValueError` says why a pattern does not compile."""
    options = re2.Options()
    options.log_errors = False  # the reason comes back in the exception; RE2 would also print it
    try:
        return re2.compile(source, options)
    except re2.error as exc:
        reason = (
            exc.args[0].decode("utf-8", "replace")
            if exc.args and isinstance(exc.args[0], bytes)
            else str(exc)
        )
        raise ValueError(
            f"not a regular expression RE2 accepts ({reason}; backreferences and lookaround "
            "are not supported)"
        ) from None


def check_value(
    var: Variable,
    value: Any,
    where: tuple[str | int, ...],
    label: str,
    locale: str | None,
    default_locale: str | None,
    asset_info: Callable[[str], AssetFacts | None] | None,
    problems: list[Problem],
    *,
    check_assets: bool = True,
) -> Any:
    """The value, checked against ``var`` (and normalised: an integral float for an integer
    becomes an int); problems are added to ``problems`` with ``label`` naming the variable."""
    ptr = pointer(*where)

    def bad(message: str, code: str = "invalid_value") -> None:
        problems.append(Problem(ptr, f"{label}: {message}", code))

    checks = var.validation
    kind = var.type
    if kind == "text":
        if not isinstance(value, str):
            bad(f"expected text, got {_type_name(value)}", "wrong_type")
            return value
        if checks.get("min_length") is not None and len(value) < checks["min_length"]:
            bad(f"at least {checks['min_length']} characters, got {len(value)}", "too_short")
        if checks.get("max_length") is not None and len(value) > checks["max_length"]:
            bad(f"at most {checks['max_length']} characters, got {len(value)}", "too_long")
        if checks.get("pattern") is not None and compiled_pattern(checks["pattern"]).search(value) is None:
            bad(f"{value!r} does not match the pattern {checks['pattern']!r}", "pattern")
    elif kind in ("number", "integer"):
        wrong = _number_problem(value)
        if wrong is not None:
            message, code = wrong
            bad(
                message
                or f"expected {'an integer' if kind == 'integer' else 'a number'}, got {_type_name(value)}",
                code,
            )
            return value
        if kind == "integer":
            if isinstance(value, float) and not value.is_integer():
                bad(f"expected an integer, got {value!r}", "wrong_type")
                return value
            value = int(value)
        _check_range(value, checks, bad)
    elif kind == "boolean":
        if not isinstance(value, bool):
            bad(f"expected true or false, got {_type_name(value)}", "wrong_type")
    elif kind == "color":
        if not isinstance(value, str):
            bad(f'expected a colour such as "#ff8800", got {_type_name(value)}', "wrong_type")
            return value
        try:
            parse_color(value)
        except ValueError as exc:
            bad(str(exc), "invalid_color")
    elif kind == "duration":
        try:
            seconds = parse_time(value).seconds
        except TimeTooLarge:
            bad(f"too long: at most {MAX_SECONDS:,} seconds", "out_of_range")
            return value
        except TimeValueError as exc:
            bad(str(exc), "invalid_duration")
            return value
        if seconds is not None and seconds > MAX_NUMBER:
            bad(f"too long: at most {MAX_NUMBER:,} seconds", "out_of_range")
        elif seconds is not None:
            _check_range(float(seconds), checks, bad, unit=" s")
    elif kind == "asset":
        if not isinstance(value, str) or not value.strip():
            bad(
                f"expected an asset reference (an asset id, or a file path locally), got {_type_name(value)}",
                "wrong_type",
            )
            return value
        if check_assets and asset_info is not None:
            _check_asset(var, value, asset_info(value), bad)
    elif kind == "list":
        return _check_list(
            var, value, where, label, locale, default_locale, asset_info, problems, check_assets=check_assets
        )
    if checks.get("enum") is not None and value not in checks["enum"]:
        bad(f"{value!r} is not one of {', '.join(repr(v) for v in checks['enum'])}", "not_allowed")
    return value


def _check_range(
    value: float, checks: Mapping[str, Any], bad: Callable[[str, str], None], unit: str = ""
) -> None:
    if checks.get("min") is not None and value < checks["min"]:
        bad(f"{value:g}{unit} is below the minimum {checks['min']:g}{unit}", "out_of_range")
    if checks.get("max") is not None and value > checks["max"]:
        bad(f"{value:g}{unit} is above the maximum {checks['max']:g}{unit}", "out_of_range")


def _check_asset(var: Variable, ref: str, facts: AssetFacts | None, bad: Callable[[str, str], None]) -> None:
    if facts is None:
        bad(f"no asset {ref}", "asset_not_found")
        return
    kind = facts.get("kind")
    if var.kinds and kind not in var.kinds:
        bad(
            f"{ref} is {'an' if str(kind)[:1] in 'aeiou' else 'a'} {kind} asset; this variable takes "
            f"{' or '.join(var.kinds)}",
            "asset_kind",
        )
        return
    checks = var.validation
    for side in ("width", "height"):
        need = checks.get(f"min_{side}")
        have = facts.get(side)
        if need is not None and isinstance(have, int | float) and have < need:
            bad(
                f"{ref} is {int(have)} pixels {'wide' if side == 'width' else 'high'}; at least {need} needed",
                "resolution",
            )


def _check_list(
    var: Variable,
    value: Any,
    where: tuple[str | int, ...],
    label: str,
    locale: str | None,
    default_locale: str | None,
    asset_info: Callable[[str], AssetFacts | None] | None,
    problems: list[Problem],
    *,
    check_assets: bool,
) -> Any:
    ptr = pointer(*where)
    if not isinstance(value, list):
        problems.append(
            Problem(ptr, f"{label}: expected a list of items, got {_type_name(value)}", "wrong_type")
        )
        return value
    checks = var.validation
    if checks.get("min_items") is not None and len(value) < checks["min_items"]:
        problems.append(
            Problem(ptr, f"{label}: at least {_items(checks['min_items'])}, got {len(value)}", "too_short")
        )
    if checks.get("max_items") is not None and len(value) > checks["max_items"]:
        problems.append(
            Problem(ptr, f"{label}: at most {_items(checks['max_items'])}, got {len(value)}", "too_long")
        )
    items: list[Any] = []
    for i, item in enumerate(value):
        here = (*where, i)
        if not isinstance(item, dict):
            problems.append(
                Problem(
                    pointer(*here),
                    f"{label}[{i}]: expected an object with "
                    f"{', '.join(f.name for f in var.fields)}, got {_type_name(item)}",
                    "wrong_type",
                )
            )
            items.append(item)
            continue
        items.append(
            check_record(
                var.fields,
                item,
                here,
                f"{label}[{i}]",
                locale,
                default_locale,
                asset_info,
                problems,
                check_assets=check_assets,
            )
        )
    return items


def _items(count: int) -> str:
    return f"{count} item{'s' if count != 1 else ''}"


def check_record(
    fields: Sequence[Variable],
    record: Mapping[str, Any],
    where: tuple[str | int, ...],
    label: str,
    locale: str | None,
    default_locale: str | None,
    asset_info: Callable[[str], AssetFacts | None] | None,
    problems: list[Problem],
    *,
    check_assets: bool,
) -> dict[str, Any]:
    """Check a values object (``label`` "" for the top level) or a list item; the filled record
    holds every declared name (None for an optional one not given)."""
    known = {f.name for f in fields}
    out: dict[str, Any] = {}
    unknown = [name for name in record if name not in known]
    for name in unknown[:MAX_HINTED]:
        what = f"{label}.{name}" if label else name
        hint = closest_name(name, known)
        problems.append(
            Problem(
                pointer(*where, name),
                f"{what}: unknown variable"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + (f"; this template declares {', '.join(sorted(known))}" if known and not hint else ""),
                "unknown_variable",
            )
        )
    if len(unknown) > MAX_HINTED:
        # Looking for a close name costs time per pair; past a few, the list says enough.
        rest = unknown[MAX_HINTED:]
        shown = ", ".join(rest[:5]) + (", …" if len(rest) > 5 else "")
        problems.append(
            Problem(
                pointer(*where),
                f"{label + ': ' if label else ''}{len(rest)} more unknown variables ({shown})",
                "unknown_variable",
            )
        )
    for var in fields:
        what = f"{label}.{var.name}" if label else var.name
        here = (*where, var.name)
        given = var.name in record and record[var.name] is not None
        value = record.get(var.name)
        if given and isinstance(value, dict) and LOCALES_KEY in value:
            before = len(problems)
            per_locale = value[LOCALES_KEY]
            value, here = _pick_locale(var, value, here, what, locale, default_locale, problems)
            given = value is not None
            if not given and len(problems) == before and var.default is None and isinstance(per_locale, dict):
                wanted = (
                    " or ".join(repr(t) for t in locale_chain(locale, default_locale)) or "(none asked for)"
                )
                problems.append(
                    Problem(
                        pointer(*here),
                        f"{what}: no value for the locale {wanted}; given for "
                        f"{', '.join(sorted(map(str, per_locale)))}",
                        "missing_locale",
                    )
                )
                out[var.name] = None
                continue
        elif (
            given
            and isinstance(value, dict)
            and value
            and all(isinstance(k, str) and LOCALE_RE.fullmatch(k) for k in value)
        ):
            problems.append(
                Problem(
                    pointer(*here),
                    f"{what}: expected {_expected(var)}, got an object; per-locale "
                    f'values are written {{"{LOCALES_KEY}": {{"en": …, "fr": …}}}}',
                    "wrong_type",
                )
            )
            continue
        if not given:
            default = var.default
            if isinstance(default, dict) and LOCALES_KEY in default:
                default, _ = _pick_locale(var, default, here, what, locale, default_locale, [])
            if default is None:
                if var.required:
                    problems.append(
                        Problem(pointer(*here), f"{what}: required, and no value was given", "missing")
                    )
                    out[var.name] = [] if var.type == "list" else None
                elif var.type == "list":
                    # No items is a value of its own: `min_items` still applies.
                    out[var.name] = check_value(
                        var,
                        [],
                        here,
                        what,
                        locale,
                        default_locale,
                        asset_info,
                        problems,
                        check_assets=check_assets,
                    )
                else:
                    out[var.name] = None
                continue
            value = copy.deepcopy(default)
            # Defaults were checked when the template was saved; assets are checked where used.
        out[var.name] = check_value(
            var, value, here, what, locale, default_locale, asset_info, problems, check_assets=check_assets
        )
    return out


def closest_name(name: str, known: set[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    if found:
        return found[0]
    # "badge_colour" for "badge": one name is the start of the other.
    starts = sorted(k for k in known if len(k) >= 3 and (name.startswith(k) or k.startswith(name)))
    return max(starts, key=len) if starts else None


def locale_chain(locale: str | None, default_locale: str | None) -> list[str]:
    chain: list[str] = []
    for tag in (locale, locale.split("-")[0] if locale else None, default_locale):
        if tag and tag not in chain:
            chain.append(tag)
    return chain


def _pick_locale(
    var: Variable,
    value: dict[str, Any],
    here: tuple[str | int, ...],
    label: str,
    locale: str | None,
    default_locale: str | None,
    problems: list[Problem],
) -> tuple[Any, tuple[str | int, ...]]:
    """The value for ``locale`` from ``{"$locales": {...}}``: the locale, its language, then the
    template's default locale."""
    if not var.localizable:
        problems.append(
            Problem(
                pointer(*here),
                f"{label}: this variable is not localizable; give one value",
                "not_localizable",
            )
        )
        return None, here
    extra = set(value) - {LOCALES_KEY}
    per_locale = value[LOCALES_KEY]
    if extra or not isinstance(per_locale, dict) or not per_locale:
        problems.append(
            Problem(
                pointer(*here),
                f'{label}: per-locale values are {{"{LOCALES_KEY}": {{"en": …, "fr": …}}}} and nothing else',
                "invalid_locales",
            )
        )
        return None, here
    bad_tags = [tag for tag in per_locale if not isinstance(tag, str) or not LOCALE_RE.fullmatch(tag)]
    for tag in bad_tags:
        problems.append(
            Problem(
                pointer(*here, LOCALES_KEY, tag),
                f"{label}: {tag!r} is not a locale tag such as en, fr or pt-BR",
                "invalid_locale",
            )
        )
    for tag in locale_chain(locale, default_locale):
        if tag in per_locale:
            return per_locale[tag], (*here, LOCALES_KEY, tag)
    return None, here


def check_locale_tags(
    template: Template, values: Any, where: tuple[str | int, ...], problems: list[Problem]
) -> None:
    """Per-locale values for a locale the template does not declare are a mistake worth naming."""
    if not template.locales:
        return
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(values, where)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get(LOCALES_KEY), dict):
                for tag in node[LOCALES_KEY]:
                    if tag not in template.locales:
                        problems.append(
                            Problem(
                                pointer(*path, LOCALES_KEY, tag),
                                f"{_label(path)}: the template has no locale {tag!r} "
                                f"(it has {', '.join(template.locales)})",
                                "unknown_locale",
                            )
                        )
            else:
                stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))


def _label(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path[1:]:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
