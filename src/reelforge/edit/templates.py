"""Templates: an edit plus typed variables, repeat blocks, conditions and per-locale values.

A template document is ``{"edit": {...}, "variables": [...], "locales": [...], "default_locale": "en"}``.
:func:`parse_template` checks it once (every problem at once, located by JSON pointers into the
template); :func:`fill_template` checks a values object against the declared variables (every
problem at once, located at ``/values/<name>``) and returns the merged edit document, which the
caller validates like any edit (``spec.validate.parse_edit``).

Inside ``edit``, three extra keys shape the timeline before placeholders are filled:

* ``"if": "name"`` / ``"unless": "name"`` on a clip, a group or a track keeps it only when the
  variable (or ``item.field``) is set and not false (resp. is unset or false);
* ``"repeat": {"for": "products", "as": "item"}`` on a clip or a group repeats it once per item of
  a list variable; the copies follow each other on their track (``start: "auto"``), so the
  video's length follows the data. Inside, ``{{item.field}}``, ``{{index}}`` (0-based) and
  ``{{number}}`` (1-based) refer to the current item;
* ``{"group": [clips...], ...}`` in a track's ``clips`` stands for its clips in order, so several
  clips can be repeated or switched together.

``{{brand.*}}`` placeholders belong to brand kits: they are kept as written (the service fills
them from the kit in the template's edit before the values go in, so a value is never scanned for
placeholders). ``{{locale}}`` is the locale being rendered.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import re2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import EditError, Problem, pointer
from .models import Edit
from .timing import TimeValueError, parse_time
from .validate import problems_from_validation_error
from .values import parse_color
from .variables import PLACEHOLDER

__all__ = [
    "LOCALES_KEY",
    "LOCALE_PATTERN",
    "MAX_CLIPS",
    "MAX_GROUP_DEPTH",
    "VARIABLE_TYPES",
    "AssetFacts",
    "Template",
    "Variable",
    "fill_template",
    "fill_template_traced",
    "is_template_document",
    "parse_template",
    "values_schema",
]

VARIABLE_TYPES = ("text", "number", "integer", "boolean", "color", "duration", "asset", "list")
ASSET_KINDS = ("video", "image", "audio", "subtitles", "font", "lut")
LOCALES_KEY = "$locales"
"""A localisable value given per locale: ``{"$locales": {"en": "Hello", "fr": "Bonjour"}}``."""
BUILTINS = ("locale",)
REPEAT_NAMES = ("index", "number")
RESERVED = ("brand", *BUILTINS, *REPEAT_NAMES)
TEMPLATE_KEYS = ("if", "unless", "repeat")

MAX_CLIPS = 2000
"""Clips in one filled edit, repeats expanded: values that make more are refused (at the list
whose repeat crossed it), so nested repeats cannot multiply into an edit nobody can render."""
MAX_REPEAT_COPIES = 10 * MAX_CLIPS
"""Copies made by repeats in one filled edit, counting those a condition then leaves out."""
MAX_GROUP_DEPTH = 8
"""Groups nested in groups, at most."""
MAX_NUMBER = 10**15
"""The largest magnitude a number or integer value may have (beyond it, floats lose whole units)."""
MAX_HINTED = 20
"""Unknown value names reported one by one with a "did you mean"; the rest are counted."""
MAX_DEPTH = 64
"""Nesting of objects and lists in a template document, at most (an edit needs about 10)."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
LOCALE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
"""A BCP 47 locale tag as templates take it: ``en``, ``fr``, ``pt-BR``, ``zh-Hant-TW``."""
_LOCALE = re.compile(LOCALE_PATTERN)

AssetFacts = Mapping[str, Any]
"""What an asset lookup knows about a reference: ``{"kind": "image", "width": 1920, "height": 1080}``
(width/height may be absent for audio). A lookup returns ``None`` for a reference it cannot find."""


# --------------------------------------------------------------------------- definitions


class Validation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float | None = Field(None, allow_inf_nan=False)
    """number, integer: the smallest value; duration: the shortest, in seconds."""
    max: float | None = Field(None, allow_inf_nan=False)
    min_length: int | None = Field(None, ge=0)
    """text: the fewest characters."""
    max_length: int | None = Field(None, ge=1)
    pattern: str | None = Field(None, max_length=1000)
    """text: a regular expression the text must contain a match of (anchor it with ^ and $)."""
    enum: list[Any] | None = Field(None, min_length=1)
    """text, number, integer, color: the only values allowed."""
    min_items: int | None = Field(None, ge=0)
    """list: the fewest items."""
    max_items: int | None = Field(None, ge=1)
    min_width: int | None = Field(None, ge=1)
    """asset: the smallest picture width in pixels (video and images)."""
    min_height: int | None = Field(None, ge=1)


class VariableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    type: Literal["text", "number", "integer", "boolean", "color", "duration", "asset", "list"]
    description: str = Field("", max_length=2000)
    default: Any = None
    required: bool = False
    localizable: bool = False
    validation: Validation = Validation()
    kinds: list[Literal["video", "image", "audio", "subtitles", "font", "lut"]] | None = None
    """asset: which kinds of media fit."""
    fields: list[VariableSpec] | None = None
    """list: the fields of each item (a record)."""


_ALLOWED_CHECKS: dict[str, tuple[str, ...]] = {
    "text": ("min_length", "max_length", "pattern", "enum"),
    "number": ("min", "max", "enum"),
    "integer": ("min", "max", "enum"),
    "boolean": (),
    "color": ("enum",),
    "duration": ("min", "max"),
    "asset": ("min_width", "min_height"),
    "list": ("min_items", "max_items"),
}


@dataclass(frozen=True)
class Variable:
    """A declared variable (or a field of a list variable's items)."""

    name: str
    type: str
    description: str = ""
    default: Any = None
    required: bool = False
    localizable: bool = False
    validation: Mapping[str, Any] = field(default_factory=dict)
    kinds: tuple[str, ...] | None = None
    fields: tuple[Variable, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.description:
            out["description"] = self.description
        if self.default is not None:
            out["default"] = self.default
        out["required"] = self.required
        if self.localizable:
            out["localizable"] = True
        if self.validation:
            out["validation"] = dict(self.validation)
        if self.kinds is not None:
            out["kinds"] = list(self.kinds)
        if self.type == "list":
            out["fields"] = [f.to_dict() for f in self.fields]
        return out


@dataclass(frozen=True)
class Template:
    """A checked template: its edit (with placeholders and template keys), variables and locales."""

    edit: dict[str, Any]
    variables: tuple[Variable, ...]
    locales: tuple[str, ...] = ()
    default_locale: str | None = None

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "edit": copy.deepcopy(self.edit),
            "variables": [v.to_dict() for v in self.variables],
        }
        if self.locales:
            doc["locales"] = list(self.locales)
        if self.default_locale is not None:
            doc["default_locale"] = self.default_locale
        return doc


def is_template_document(document: Any) -> bool:
    """A template has ``edit`` and ``variables``; a plain edit has ``timeline``."""
    return isinstance(document, dict) and "edit" in document and "timeline" not in document


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


def _is_number(value: Any) -> bool:
    """A JSON number that is finite (Python's ``int`` has no infinity; a huge one is a number,
    refused by :func:`_number_problem` for its size rather than by ``math.isfinite``)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _number_problem(value: Any) -> tuple[str, str] | None:
    """Why a value is not a usable number (message, code), or None when it is one."""
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number (NaN and Infinity are not numbers here)", "wrong_type"
    if not _is_number(value):
        return "", "wrong_type"
    if abs(value) > MAX_NUMBER:
        return f"too large: numbers are at most {MAX_NUMBER:,} in size", "out_of_range"
    return None


@functools.lru_cache(maxsize=256)
def _pattern(source: str) -> Any:
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


def _check_value(
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
        if checks.get("pattern") is not None and _pattern(checks["pattern"]).search(value) is None:
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
            _check_record(
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


def _check_record(
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
        hint = _closest(name, known)
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
                    " or ".join(repr(t) for t in _locale_chain(locale, default_locale)) or "(none asked for)"
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
            and all(isinstance(k, str) and _LOCALE.fullmatch(k) for k in value)
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
                    out[var.name] = _check_value(
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
        out[var.name] = _check_value(
            var, value, here, what, locale, default_locale, asset_info, problems, check_assets=check_assets
        )
    return out


def _closest(name: str, known: set[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    if found:
        return found[0]
    # "badge_colour" for "badge": one name is the start of the other.
    starts = sorted(k for k in known if len(k) >= 3 and (name.startswith(k) or k.startswith(name)))
    return max(starts, key=len) if starts else None


def _locale_chain(locale: str | None, default_locale: str | None) -> list[str]:
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
    bad_tags = [tag for tag in per_locale if not isinstance(tag, str) or not _LOCALE.fullmatch(tag)]
    for tag in bad_tags:
        problems.append(
            Problem(
                pointer(*here, LOCALES_KEY, tag),
                f"{label}: {tag!r} is not a locale tag such as en, fr or pt-BR",
                "invalid_locale",
            )
        )
    for tag in _locale_chain(locale, default_locale):
        if tag in per_locale:
            return per_locale[tag], (*here, LOCALES_KEY, tag)
    return None, here


def _check_locale_tags(
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


# --------------------------------------------------------------------------- parsing a template


def _variable(spec: VariableSpec) -> Variable:
    return Variable(
        name=spec.name,
        type=spec.type,
        description=spec.description,
        default=spec.default,
        required=spec.required,
        localizable=spec.localizable,
        validation={k: v for k, v in spec.validation.model_dump().items() if v is not None},
        kinds=tuple(spec.kinds) if spec.kinds is not None else None,
        fields=tuple(_variable(f) for f in spec.fields or ()),
    )


def _definition_problems(
    specs: Sequence[tuple[int, VariableSpec]], where: tuple[str | int, ...], nested: bool
) -> list[Problem]:
    """What is wrong with the definitions, each given with its index in the list."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, spec in specs:
        here = (*where, i)
        if not _NAME.fullmatch(spec.name):
            problems.append(
                Problem(
                    pointer(*here, "name"),
                    f"{spec.name!r}: a name starts with a letter or _ and "
                    "has letters, digits, _ and - (no dots: item.field is how fields are reached)",
                )
            )
        elif not nested and spec.name in RESERVED:
            problems.append(
                Problem(pointer(*here, "name"), f"{spec.name!r} is reserved ({', '.join(RESERVED)})")
            )
        if spec.name in seen:
            problems.append(
                Problem(pointer(*here, "name"), f"a second variable named {spec.name!r}", "duplicate")
            )
        seen.add(spec.name)
        allowed = _ALLOWED_CHECKS[spec.type]
        for key, value in spec.validation.model_dump().items():
            if value is not None and key not in allowed:
                problems.append(
                    Problem(
                        pointer(*here, "validation", key),
                        f"`{key}` does not apply to a {spec.type}"
                        + (f" (it takes {', '.join(allowed)})" if allowed else ""),
                    )
                )
        checks = spec.validation
        for e, choice in enumerate(checks.enum or ()):
            if isinstance(choice, float) and not math.isfinite(choice):
                problems.append(Problem(pointer(*here, "validation", "enum", e), "not a finite number"))
        if checks.min is not None and checks.max is not None and checks.min > checks.max:
            problems.append(Problem(pointer(*here, "validation", "max"), "`max` is below `min`"))
        if checks.pattern is not None:
            try:
                _pattern(checks.pattern)
            except ValueError as exc:
                problems.append(Problem(pointer(*here, "validation", "pattern"), str(exc)))
        if spec.kinds is not None and spec.type != "asset":
            problems.append(Problem(pointer(*here, "kinds"), "`kinds` goes with type asset"))
        if spec.type == "list":
            if nested:
                problems.append(Problem(pointer(*here, "type"), "a list's items cannot hold another list"))
            elif not spec.fields:
                problems.append(
                    Problem(
                        pointer(*here, "fields"), "a list variable declares its items' `fields`", "missing"
                    )
                )
            else:
                problems.extend(
                    _definition_problems(list(enumerate(spec.fields)), (*here, "fields"), nested=True)
                )
            if spec.localizable:
                problems.append(
                    Problem(pointer(*here, "localizable"), "make the items' fields localizable, not the list")
                )
        elif spec.fields is not None:
            problems.append(Problem(pointer(*here, "fields"), "`fields` goes with type list"))
        if spec.required and spec.default is not None:
            problems.append(Problem(pointer(*here, "required"), "a variable with a default is not required"))
    return problems


def _default_problems(
    variables: Sequence[Variable],
    locales: Sequence[str],
    default_locale: str | None,
    where: tuple[str | int, ...],
) -> list[Problem]:
    problems: list[Problem] = []
    for i, var in enumerate(variables):
        here = (*where, i)
        if var.type == "list":
            problems.extend(_default_problems(var.fields, locales, default_locale, (*here, "fields")))
        if var.default is None:
            continue
        found: list[Problem] = []
        defaults: list[tuple[Any, tuple[str | int, ...]]] = [(var.default, (*here, "default"))]
        if isinstance(var.default, dict) and LOCALES_KEY in var.default:
            per = var.default[LOCALES_KEY]
            if not var.localizable or not isinstance(per, dict) or set(var.default) != {LOCALES_KEY}:
                problems.append(
                    Problem(
                        pointer(*here, "default"),
                        "per-locale defaults need `localizable: true` "
                        f'and the form {{"{LOCALES_KEY}": {{"en": …}}}}',
                    )
                )
                continue
            defaults = [(v, (*here, "default", LOCALES_KEY, tag)) for tag, v in per.items()]
        for value, at in defaults:
            _check_value(
                var,
                value,
                at,
                f"the default of {var.name}",
                None,
                default_locale,
                None,
                found,
                check_assets=False,
            )
        problems.extend(found)
    return problems


@dataclass
class _Scope:
    """What a placeholder may name at one place of the template's edit."""

    lists: dict[str, Variable]
    """Repeat aliases in force: alias -> the list variable."""

    def knows(self, name: str, variables: Mapping[str, Variable]) -> bool:
        if name in variables or name in BUILTINS or name.startswith("brand."):
            return True
        if self.lists and name in REPEAT_NAMES:
            return True
        alias, _, rest = name.partition(".")
        if alias in self.lists:
            return not rest or any(f.name == rest for f in self.lists[alias].fields)
        return False


def _placeholder_problems(
    node: Any,
    path: tuple[str | int, ...],
    scope: _Scope,
    variables: Mapping[str, Variable],
    problems: list[Problem],
) -> None:
    if isinstance(node, str):
        for m in PLACEHOLDER.finditer(node):
            if not scope.knows(m[1], variables):
                problems.append(
                    Problem(pointer(*path), _unknown_placeholder(m[1], scope, variables), "unknown_variable")
                )
    elif isinstance(node, dict):
        for key, value in node.items():
            _placeholder_problems(value, (*path, key), scope, variables, problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _placeholder_problems(value, (*path, i), scope, variables, problems)


def _unknown_placeholder(name: str, scope: _Scope, variables: Mapping[str, Variable]) -> str:
    alias, _, rest = name.partition(".")
    if alias in scope.lists:
        fields = ", ".join(f.name for f in scope.lists[alias].fields)
        return f"{{{{{name}}}}}: the items of {scope.lists[alias].name} have no field {rest!r} (they have {fields})"
    if name in REPEAT_NAMES:
        return f"{{{{{name}}}}} is the item's position, only inside a `repeat`"
    if alias in variables and variables[alias].type == "list" and rest:
        return (
            f"{{{{{name}}}}}: reach the fields of {alias}'s items inside a "
            f'`"repeat": {{"for": "{alias}", "as": "item"}}` as {{{{item.{rest}}}}}'
        )
    hint = _closest(name, set(variables))
    return f"{{{{{name}}}}} has no declared variable" + (
        f" (did you mean {hint!r}?)" if hint else "; declare it in `variables`"
    )


def _condition_problems(
    node: Mapping[str, Any],
    path: tuple[str | int, ...],
    scope: _Scope,
    variables: Mapping[str, Variable],
    problems: list[Problem],
) -> None:
    for key in ("if", "unless"):
        if key not in node:
            continue
        name = node[key]
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(pointer(*path, key), f'`{key}` names a variable, e.g. "show_price"'))
        elif (
            not scope.knows(name.strip(), variables) or name.strip() in BUILTINS or name.startswith("brand.")
        ):
            problems.append(
                Problem(
                    pointer(*path, key),
                    f"`{key}`: {_unknown_placeholder(name.strip(), scope, variables)}",
                    "unknown_variable",
                )
            )


def _repeat_problems(
    node: Mapping[str, Any],
    path: tuple[str | int, ...],
    scope: _Scope,
    variables: Mapping[str, Variable],
    problems: list[Problem],
) -> _Scope:
    """Check a `repeat` and return the scope inside it."""
    repeat = node.get("repeat")
    if repeat is None:
        return scope
    here = (*path, "repeat")
    if not isinstance(repeat, dict):
        problems.append(Problem(pointer(*here), 'a repeat is {"for": "<list variable>", "as": "item"}'))
        return scope
    for key in repeat:
        if key not in ("for", "as"):
            problems.append(
                Problem(pointer(*here, key), "unknown field (a repeat has `for` and `as`)", "unknown_field")
            )
    target = repeat.get("for")
    alias = repeat.get("as", "item")
    var = variables.get(target) if isinstance(target, str) else None
    if var is None or var.type != "list":
        lists = [v.name for v in variables.values() if v.type == "list"]
        problems.append(
            Problem(
                pointer(*here, "for"),
                "`for` names a list variable"
                + (f" ({', '.join(lists)})" if lists else "; declare one with type list"),
                "unknown_variable" if var is None else "invalid",
            )
        )
        return scope
    if not isinstance(alias, str) or not _NAME.fullmatch(alias) or alias in variables or alias in RESERVED:
        problems.append(
            Problem(
                pointer(*here, "as"),
                '`as` is a new name for the current item (default "item"), not a variable\'s name',
            )
        )
        return scope
    if alias in scope.lists:
        problems.append(Problem(pointer(*here, "as"), f"{alias!r} already names the item of an outer repeat"))
        return scope
    return _Scope({**scope.lists, alias: var})


_GROUP_KEYS = ("group", *TEMPLATE_KEYS, "name")


def _clips_problems(
    clips: Any,
    path: tuple[str | int, ...],
    scope: _Scope,
    variables: Mapping[str, Variable],
    problems: list[Problem],
    depth: int = 0,
    repeated: bool = False,
) -> None:
    if not isinstance(clips, list):
        _placeholder_problems(clips, path, scope, variables, problems)
        return
    for c, element in enumerate(clips):
        here = (*path, c)
        if not isinstance(element, dict):
            continue
        inner = _repeat_problems(element, here, scope, variables, problems)
        in_repeat = repeated or "repeat" in element
        # A condition is checked per item, so it may name the item's fields.
        _condition_problems(element, here, inner, variables, problems)
        if "group" in element:
            for key in element:
                if key not in _GROUP_KEYS:
                    problems.append(
                        Problem(
                            pointer(*here, key),
                            "a group has `group` (its clips), `repeat`, `if`, "
                            "`unless` and `name`; put clip fields on its clips",
                            "unknown_field",
                        )
                    )
            if not isinstance(element["group"], list) or not element["group"]:
                problems.append(Problem(pointer(*here, "group"), "a group is a non-empty list of clips"))
            elif depth + 1 > MAX_GROUP_DEPTH:
                problems.append(
                    Problem(
                        pointer(*here, "group"), f"groups nest at most {MAX_GROUP_DEPTH} deep", "too_deep"
                    )
                )
            else:
                _clips_problems(
                    element["group"], (*here, "group"), inner, variables, problems, depth + 1, in_repeat
                )
        else:
            start = element.get("start", "auto")
            if in_repeat and start != "auto" and not (isinstance(start, str) and PLACEHOLDER.search(start)):
                # Every copy would start at the same time instead of following the previous one.
                problems.append(
                    Problem(
                        pointer(*here, "start"),
                        "a repeated clip's copies follow each other, so "
                        'its start is "auto" (leave it out); a start that differs per item is a '
                        'placeholder such as "{{item.start}}"',
                        "fixed_start",
                    )
                )
            rest = {k: v for k, v in element.items() if k not in TEMPLATE_KEYS}
            _placeholder_problems(rest, here, inner, variables, problems)


def _edit_problems(edit: Any, variables: Mapping[str, Variable]) -> list[Problem]:
    problems: list[Problem] = []
    root = ("edit",)
    if not isinstance(edit, dict):
        return [
            Problem(pointer(*root), "a template's `edit` is an edit: an object with `timeline` and `outputs`")
        ]
    scope = _Scope({})
    for key, value in edit.items():
        if key != "timeline" or not isinstance(value, dict):
            _placeholder_problems(value, (*root, key), scope, variables, problems)
            continue
        for tkey, tvalue in value.items():
            if tkey != "tracks" or not isinstance(tvalue, list):
                _placeholder_problems(tvalue, (*root, "timeline", tkey), scope, variables, problems)
                continue
            for t, track in enumerate(tvalue):
                here = (*root, "timeline", "tracks", t)
                if not isinstance(track, dict):
                    continue
                _condition_problems(track, here, scope, variables, problems)
                if "repeat" in track:
                    problems.append(
                        Problem(
                            pointer(*here, "repeat"),
                            "repeat a clip or a group of clips, not a track (put the clips in a group)",
                        )
                    )
                for key, item in track.items():
                    if key == "clips":
                        _clips_problems(item, (*here, "clips"), scope, variables, problems)
                    elif key not in ("if", "unless"):
                        _placeholder_problems(item, (*here, key), scope, variables, problems)
    return problems


def _top_level_problems(document: Mapping[str, Any]) -> tuple[list[Problem], tuple[str, ...], str | None]:
    problems: list[Problem] = []
    for key in document:
        if key not in ("edit", "variables", "locales", "default_locale", "name", "description"):
            problems.append(
                Problem(
                    pointer(key),
                    "unknown field (a template has `edit`, `variables`, `locales` and `default_locale`)",
                    "unknown_field",
                )
            )
    if "edit" not in document:
        problems.append(Problem("/edit", "this field is required", "missing"))
    locales: list[str] = []
    raw = document.get("locales", [])
    if not isinstance(raw, list):
        problems.append(Problem("/locales", 'a list of locale tags such as ["en", "fr", "ar"]'))
    else:
        for i, tag in enumerate(raw):
            if not isinstance(tag, str) or not _LOCALE.fullmatch(tag):
                problems.append(
                    Problem(pointer("locales", i), f"{tag!r} is not a locale tag such as en, fr or pt-BR")
                )
            elif tag in locales:
                problems.append(Problem(pointer("locales", i), f"{tag!r} is listed twice", "duplicate"))
            else:
                locales.append(tag)
    default_locale = document.get("default_locale")
    if default_locale is not None:
        if not isinstance(default_locale, str) or not _LOCALE.fullmatch(default_locale):
            problems.append(Problem("/default_locale", "a locale tag such as en"))
            default_locale = None
        elif locales and default_locale not in locales:
            problems.append(
                Problem(
                    "/default_locale", f"{default_locale!r} is not one of `locales` ({', '.join(locales)})"
                )
            )
    elif locales:
        default_locale = locales[0]
    return problems, tuple(locales), default_locale


def _too_deep(document: Any) -> str | None:
    """The pointer of the first value nested deeper than :data:`MAX_DEPTH` (walked with a stack)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return pointer(*path)
        if isinstance(node, dict):
            stack.extend((v, (*path, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
    return None


def parse_template(document: dict[str, Any]) -> Template:
    """Check a template document; raise :class:`EditError` listing every problem with its pointer.

    Checked: the variable definitions and their defaults, that every placeholder names a
    declared variable (or ``brand.*``, ``locale``, or inside a repeat its item, ``index`` and
    ``number``), the repeats and conditions, and the edit itself with sample values.
    """
    if not isinstance(document, dict):
        raise EditError([Problem("", "a template is a JSON object with `edit` and `variables`")])
    # First, before anything walks or copies it recursively.
    too_deep = _too_deep(document)
    if too_deep is not None:
        raise EditError([Problem(too_deep, f"nested more than {MAX_DEPTH} levels deep", "too_deep")])
    problems, locales, default_locale = _top_level_problems(document)
    raw_vars = document.get("variables", [])
    specs: list[tuple[int, VariableSpec]] = []
    if not isinstance(raw_vars, list):
        problems.append(Problem("/variables", "a list of variable definitions"))
    else:
        for i, raw in enumerate(raw_vars):
            try:
                specs.append((i, VariableSpec.model_validate(raw)))
            except ValidationError as exc:
                problems.extend(problems_from_validation_error(exc, ("variables", i)))
    # The definitions that parsed are checked further, so every problem is reported at once.
    found = _definition_problems(specs, ("variables",), nested=False)
    problems.extend(found)
    variables = tuple(_variable(s) for _, s in specs)
    definitions_parsed = isinstance(raw_vars, list) and len(specs) == len(raw_vars)
    if definitions_parsed and not found:
        problems.extend(_default_problems(variables, locales, default_locale, ("variables",)))
    by_name = {v.name: v for v in variables}
    edit = document.get("edit")
    if "edit" in document and definitions_parsed:
        problems.extend(_edit_problems(edit, by_name))
    if problems:
        raise EditError(problems)
    assert isinstance(edit, dict)
    template = Template(
        edit=copy.deepcopy(edit), variables=variables, locales=locales, default_locale=default_locale
    )
    _sample_check(template)
    return template


# --------------------------------------------------------------------------- expanding the edit


@dataclass
class _Budget:
    clips: int = 0
    copies: int = 0


class _TooManyClips(Exception):
    def __init__(self, list_name: str, what: str) -> None:
        super().__init__(list_name)
        self.list_name = list_name
        self.what = what


@dataclass
class _Context:
    values: dict[str, Any]
    """Variable values after checking, by name."""
    items: dict[str, tuple[Mapping[str, Any], int]] = field(default_factory=dict)
    """Repeat aliases in force: alias -> (the item, its index)."""
    sample: bool = False
    """Keep every conditional element and repeat once (checking the template at save time)."""
    raw: bool = False
    """Expand without filling placeholders."""
    budget: _Budget = field(default_factory=lambda: _Budget())
    """Shared by every context of one expansion."""
    lists: tuple[str, ...] = ()
    """The list variables whose repeats are in force, outermost first."""

    def lookup(self, name: str) -> tuple[bool, Any]:
        alias, _, rest = name.partition(".")
        if alias in self.items:
            item, _ = self.items[alias]
            return True, (item.get(rest) if rest else item)
        if name in REPEAT_NAMES and self.items:
            index = list(self.items.values())[-1][1]
            return True, index if name == "index" else index + 1
        if name in self.values:
            return True, self.values[name]
        return False, None

    def truthy(self, name: str) -> bool:
        _, value = self.lookup(name.strip())
        return value is not None and value is not False and value != "" and value != []

    def keeps(self, element: Mapping[str, Any]) -> bool:
        if self.sample:
            return True
        if "if" in element and not self.truthy(element["if"]):
            return False
        return not ("unless" in element and self.truthy(element["unless"]))


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))
    import json

    return json.dumps(value, ensure_ascii=False)


def _fill(node: Any, ctx: _Context) -> Any:
    if ctx.raw:
        return copy.deepcopy(node)
    if isinstance(node, str):
        value_of = ctx.lookup
        whole = PLACEHOLDER.fullmatch(node.strip())
        if whole:
            known, value = value_of(whole[1])
            return copy.deepcopy(value) if known else node

        def one(m: re.Match[str]) -> str:
            known, value = value_of(m[1])
            return _as_text(value) if known else m[0]

        return PLACEHOLDER.sub(one, node)
    if isinstance(node, dict):
        return {key: _fill(value, ctx) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, ctx) for value in node]
    return node


Origin = tuple[str | int, ...]
"""Where an element of the filled edit comes from in the template's edit."""


def _expand_clips(elements: Sequence[Any], ctx: _Context, path: Origin) -> list[tuple[Any, Origin]]:
    out: list[tuple[Any, Origin]] = []
    for c, element in enumerate(elements):
        here = (*path, c)
        if not isinstance(element, dict):
            out.append((element, here))
            continue
        for item_ctx in _repetitions(element, ctx):
            if not item_ctx.keeps(element):
                continue
            if "group" in element:
                out.extend(_expand_clips(element["group"], item_ctx, (*here, "group")))
            else:
                item_ctx.budget.clips += 1
                if item_ctx.budget.clips > MAX_CLIPS and item_ctx.lists:
                    raise _TooManyClips(item_ctx.lists[-1], f"more than {MAX_CLIPS} clips")
                clip = {k: v for k, v in element.items() if k not in TEMPLATE_KEYS}
                out.append((_fill(clip, item_ctx), here))
    return out


def _repetitions(element: Mapping[str, Any], ctx: _Context) -> Iterator[_Context]:
    repeat = element.get("repeat")
    if not isinstance(repeat, dict):
        yield ctx
        return
    alias = repeat.get("as", "item")
    items = ctx.values.get(repeat["for"]) or []
    if ctx.sample:
        items = items[:1] or [_sample_record(ctx, repeat["for"])]
    for i, item in enumerate(items):
        ctx.budget.copies += 1
        if ctx.budget.copies > MAX_REPEAT_COPIES:
            raise _TooManyClips(repeat["for"], f"more than {MAX_REPEAT_COPIES} repeated copies")
        yield _Context(
            ctx.values,
            {**ctx.items, alias: (item, i)},
            ctx.sample,
            ctx.raw,
            ctx.budget,
            (*ctx.lists, repeat["for"]),
        )


def _sample_record(ctx: _Context, name: str) -> dict[str, Any]:
    return ctx.values.get(f"\0fields:{name}", {})


def _expand(template: Template, ctx: _Context) -> tuple[dict[str, Any], dict[str, Origin]]:
    """The filled edit, and for each filled clip's pointer, where it comes from in the template."""
    origins: dict[str, Origin] = {}
    edit: dict[str, Any] = {}
    for key, value in template.edit.items():
        if key != "timeline" or not isinstance(value, dict):
            edit[key] = _fill(value, ctx)
            continue
        timeline: dict[str, Any] = {}
        for tkey, tvalue in value.items():
            if tkey != "tracks" or not isinstance(tvalue, list):
                timeline[tkey] = _fill(tvalue, ctx)
                continue
            tracks: list[Any] = []
            for t, track in enumerate(tvalue):
                origin: Origin = ("edit", "timeline", "tracks", t)
                if not isinstance(track, dict):
                    tracks.append(track)
                    continue
                if not ctx.keeps(track):
                    continue
                new: dict[str, Any] = {}
                for key2, item in track.items():
                    if key2 in ("if", "unless"):
                        continue
                    if key2 == "clips" and isinstance(item, list):
                        clips = _expand_clips(item, ctx, (*origin, "clips"))
                        if not clips:
                            new = {}
                            break
                        for c, (_, where) in enumerate(clips):
                            origins[pointer("timeline", "tracks", len(tracks), "clips", c)] = where
                        new["clips"] = [clip for clip, _ in clips]
                    else:
                        new[key2] = _fill(item, ctx)
                if not new:
                    continue  # every clip of the track was left out: so is the track
                origins[pointer("timeline", "tracks", len(tracks))] = origin
                tracks.append(new)
            timeline["tracks"] = tracks
        edit["timeline"] = timeline
    return edit, origins


# --------------------------------------------------------------------------- save-time check


_SAMPLES: dict[str, Any] = {
    "text": "Sample",
    "number": 1,
    "integer": 1,
    "boolean": True,
    "color": "#808080",
    "duration": 1,
    "asset": "sample",
    "list": [],
}


def _sample(var: Variable) -> Any:
    default = var.default
    if isinstance(default, dict) and LOCALES_KEY in default:
        default = next(iter(default[LOCALES_KEY].values()), None)
    if default is not None:
        return default
    enum = var.validation.get("enum")
    if enum:
        return enum[0]
    if var.type in ("number", "integer", "duration") and var.validation.get("min") is not None:
        return var.validation["min"]
    return _SAMPLES[var.type]


def _sample_check(template: Template) -> None:
    """Fill the edit with sample values (every condition kept, every repeat once) and validate it.

    Problems where a placeholder stands are left for fill time (they depend on the values);
    the rest (a misspelt field, a bad anchor, ...) are the template's, reported at their
    pointer in the template.
    """
    values: dict[str, Any] = {v.name: _sample(v) for v in template.variables}
    for v in template.variables:
        if v.type == "list":
            values[f"\0fields:{v.name}"] = {f.name: _sample(f) for f in v.fields}
    ctx = _Context(values, sample=True)
    edit, origins = _expand(template, ctx)
    raw, _ = _expand(template, _Context(values, sample=True, raw=True))
    # Pointers in the expanded (unfilled) edit where placeholders stand.
    from .variables import find_placeholders

    held = [p for ptrs in find_placeholders(raw).values() for p in ptrs]
    try:
        Edit.model_validate(edit)
    except ValidationError as exc:
        found = problems_from_validation_error(exc)
    else:
        return
    problems: list[Problem] = []
    for p in found:
        if any(
            p.pointer == h or p.pointer.startswith(h + "/") or h.startswith(p.pointer + "/") for h in held
        ):
            continue
        problems.append(Problem(_to_template_pointer(p.pointer, origins), p.message, p.code))
    if problems:
        raise EditError(problems)


def _to_template_pointer(ptr: str, origins: Mapping[str, Origin]) -> str:
    parts = ptr.split("/")
    # Longest known prefix: a clip ("/timeline/tracks/0/clips/3") or a track.
    for n in (6, 4):
        prefix = "/".join(parts[:n])
        if len(parts) >= n and prefix in origins:
            return pointer(*origins[prefix]) + ("/" + "/".join(parts[n:]) if len(parts) > n else "")
    return "/edit" + ptr


# --------------------------------------------------------------------------- filling


def fill_template(
    template: Template,
    values: Mapping[str, Any],
    *,
    locale: str | None = None,
    asset_info: Callable[[str], AssetFacts | None] | None = None,
) -> dict[str, Any]:
    """The edit document for ``values`` in ``locale``; raise :class:`EditError` listing every
    problem in the values, each at ``/values/<name>[/<index>/<field>]`` naming the variable.

    ``{{brand.*}}`` placeholders are kept as written. ``asset_info`` looks
    an asset reference up (kind, width, height) to check asset variables' kinds and resolution;
    without it, asset values are only checked to be references.
    """
    edit, _ = fill_template_traced(template, values, locale=locale, asset_info=asset_info)
    return edit


def fill_template_traced(
    template: Template,
    values: Mapping[str, Any],
    *,
    locale: str | None = None,
    asset_info: Callable[[str], AssetFacts | None] | None = None,
) -> tuple[dict[str, Any], Callable[[str], str]]:
    """:func:`fill_template`, and a function taking a pointer into the filled edit (a problem
    found when validating it) to the pointer in the template it comes from
    (``/timeline/tracks/1/clips/3/asset/text`` -> ``/edit/timeline/tracks/1/clips/0/group/1/asset/text``)."""
    problems: list[Problem] = []
    if not isinstance(values, Mapping):
        raise EditError(
            [Problem("/values", "values are a JSON object of variable name: value", "wrong_type")]
        )
    if locale is not None:
        if not isinstance(locale, str) or not _LOCALE.fullmatch(locale):
            problems.append(
                Problem(
                    "/locale", f"{locale!r} is not a locale tag such as en, fr or pt-BR", "invalid_locale"
                )
            )
            locale = None
        elif template.locales and not any(tag in template.locales for tag in _locale_chain(locale, None)):
            problems.append(
                Problem(
                    "/locale",
                    f"the template has no locale {locale!r} (it has {', '.join(template.locales)})",
                    "unknown_locale",
                )
            )
    locale_used = locale or template.default_locale
    _check_locale_tags(template, values, ("values",), problems)
    checked = _check_record(
        template.variables,
        values,
        ("values",),
        "",
        locale_used,
        template.default_locale,
        asset_info,
        problems,
        check_assets=True,
    )
    if problems:
        raise EditError(problems)
    checked["locale"] = locale_used
    try:
        edit, origins = _expand(template, _Context(checked))
    except _TooManyClips as exc:
        raise EditError(
            [
                Problem(
                    pointer("values", exc.list_name),
                    f"{exc.list_name}: with these items the repeats make {exc.what} in one edit; "
                    "give fewer items (or split them over several renders)",
                    "too_long",
                )
            ]
        ) from None
    return _numbers_as_text(edit), lambda ptr: _to_template_pointer(ptr, origins)


def _numbers_as_text(edit: dict[str, Any]) -> dict[str, Any]:
    """``"text": "{{price}}"`` with a number: where the edit takes text, the number is written as
    text (a whole-string placeholder keeps its type everywhere else)."""
    try:
        Edit.model_validate(edit)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            if err["type"] != "string_type" or not (
                _is_number(err["input"]) or isinstance(err["input"], bool)
            ):
                continue
            parent: Any = edit
            where = tuple(err["loc"])
            # The discriminated union puts the asset's type in the location, after "asset".
            loc = [
                part
                for i, part in enumerate(where)
                if not (i > 0 and where[i - 1] == "asset" and part in _ASSET_TAGS)
            ]
            try:
                for part in loc[:-1]:
                    parent = parent[part]
                if parent[loc[-1]] is err["input"]:
                    parent[loc[-1]] = _as_text(err["input"])
            except (KeyError, IndexError, TypeError):
                continue
    return edit


_ASSET_TAGS = ("video", "image", "audio", "text", "caption", "color", "shape")


# --------------------------------------------------------------------------- JSON Schema


def _value_schema(var: Variable, locales: Sequence[str]) -> dict[str, Any]:
    checks = var.validation
    schema: dict[str, Any]
    if var.type == "text":
        schema = {"type": "string"}
        for ours, theirs in (
            ("min_length", "minLength"),
            ("max_length", "maxLength"),
            ("pattern", "pattern"),
        ):
            if ours in checks:
                schema[theirs] = checks[ours]
    elif var.type in ("number", "integer"):
        schema = {"type": var.type}
        if "min" in checks:
            schema["minimum"] = checks["min"]
        if "max" in checks:
            schema["maximum"] = checks["max"]
    elif var.type == "boolean":
        schema = {"type": "boolean"}
    elif var.type == "color":
        schema = {
            "type": "string",
            "format": "color",
            "description": 'A colour: "#rrggbb", "#rrggbbaa" or a CSS name.',
        }
    elif var.type == "duration":
        schema = {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^(\d+f|\d+(\.\d+)?s?|(\d+:)?\d{1,2}:\d{1,2}(\.\d+)?)$"},
            ],
            "description": 'Seconds (2.5), "hh:mm:ss.mmm" or frames ("48f").',
        }
        if "min" in checks or "max" in checks:
            schema["x-seconds"] = {k: checks[k] for k in ("min", "max") if k in checks}
    elif var.type == "asset":
        schema = {"type": "string", "minLength": 1, "x-asset-kinds": list(var.kinds or ASSET_KINDS)}
        for side in ("min_width", "min_height"):
            if side in checks:
                schema[f"x-{side.replace('_', '-')}"] = checks[side]
    else:
        item = _record_schema(var.fields, locales)
        schema = {"type": "array", "items": item}
        if "min_items" in checks:
            schema["minItems"] = checks["min_items"]
        if "max_items" in checks:
            schema["maxItems"] = checks["max_items"]
    if "enum" in checks:
        schema["enum"] = list(checks["enum"])
    if var.description:
        schema["description"] = var.description
    if var.default is not None and not (isinstance(var.default, dict) and LOCALES_KEY in var.default):
        schema["default"] = var.default
    if var.localizable:
        per_locale: dict[str, Any] = {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {k: v for k, v in schema.items() if k != "description"},
        }
        if locales:
            per_locale["propertyNames"] = {"enum": list(locales)}
        wrapper = {
            "type": "object",
            "properties": {LOCALES_KEY: per_locale},
            "required": [LOCALES_KEY],
            "additionalProperties": False,
        }
        described = {"description": schema.pop("description")} if "description" in schema else {}
        schema = {"anyOf": [schema, wrapper], **described}
    return schema


def _record_schema(fields: Sequence[Variable], locales: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f.name: _value_schema(f, locales) for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }


def values_schema(template: Template) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a values object for ``template``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Template values",
        **_record_schema(template.variables, template.locales),
    }
