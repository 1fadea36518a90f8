"""Parsing a template document once: variable definitions and defaults, placeholders that
name no variable, ``if``/``unless`` conditions, ``repeat`` blocks and groups, the edit's own
fields; every problem at once, located by JSON pointers into the template."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .errors import EditError, Problem, pointer
from .template_expand import sample_check
from .template_filters import FilterError, filter_type_problem, parse_filters
from .template_model import (
    ALLOWED_CHECKS,
    BUILTINS,
    LOCALE_RE,
    LOCALES_KEY,
    MAX_DEPTH,
    MAX_GROUP_DEPTH,
    NAME_RE,
    REPEAT_NAMES,
    RESERVED,
    TEMPLATE_KEYS,
    Template,
    Variable,
    VariableSpec,
)
from .template_values import check_value, closest_name, compiled_pattern
from .validate import problems_from_validation_error
from .variables import PLACEHOLDER

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
        if not NAME_RE.fullmatch(spec.name):
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
        allowed = ALLOWED_CHECKS[spec.type]
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
                compiled_pattern(checks.pattern)
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
            check_value(
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

    def type_of(self, name: str, variables: Mapping[str, Variable]) -> str | None:
        """The type of the value ``name`` stands for, when a filter needs to know it."""
        if name in variables:
            return variables[name].type
        if name in BUILTINS:
            return "text"
        if name in REPEAT_NAMES:
            return "integer"
        alias, _, rest = name.partition(".")
        if alias in self.lists and rest:
            return next((f.type for f in self.lists[alias].fields if f.name == rest), None)
        return None


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
            elif m[2]:
                problem = _filter_problem(m[2], scope.type_of(m[1], variables))
                if problem is not None:
                    problems.append(Problem(pointer(*path), f"{m[0]}: {problem}", "invalid_filter"))
    elif isinstance(node, dict):
        for key, value in node.items():
            _placeholder_problems(value, (*path, key), scope, variables, problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _placeholder_problems(value, (*path, i), scope, variables, problems)


def _filter_problem(text: str, variable_type: str | None) -> str | None:
    """What is wrong with a placeholder's filter, for a variable of ``variable_type``."""
    try:
        filters = parse_filters(text)
    except FilterError as exc:
        return str(exc)
    return filter_type_problem(filters, variable_type)


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
    hint = closest_name(name, set(variables))
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
    if not isinstance(alias, str) or not NAME_RE.fullmatch(alias) or alias in variables or alias in RESERVED:
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
            if not isinstance(tag, str) or not LOCALE_RE.fullmatch(tag):
                problems.append(
                    Problem(pointer("locales", i), f"{tag!r} is not a locale tag such as en, fr or pt-BR")
                )
            elif tag in locales:
                problems.append(Problem(pointer("locales", i), f"{tag!r} is listed twice", "duplicate"))
            else:
                locales.append(tag)
    default_locale = document.get("default_locale")
    if default_locale is not None:
        if not isinstance(default_locale, str) or not LOCALE_RE.fullmatch(default_locale):
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
    sample_check(template)
    return template
