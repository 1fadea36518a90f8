"""``{{name}}`` placeholders filled from a variables mapping.

A string that is exactly one placeholder takes the variable's value with its JSON type (so
``"{{price}}"`` can become the number 9.5); a placeholder inside a longer string is replaced
by the value's text. Substitution works on parsed JSON, never on JSON text, so a value
cannot break out of the string it lands in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import EditError, Problem, pointer
from .template_filters import FilterError, apply_filters, parse_filters

__all__ = ["PLACEHOLDER", "find_placeholders", "is_template_document", "substitute"]

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(\|[^{}]*?)?\s*\}\}")
"""``{{name}}`` or ``{{name | filter(arguments)}}``: group 1 is the name, group 2 the filter
(see :mod:`.template_filters`), if any."""


def is_template_document(document: Any) -> bool:
    """A template has ``edit`` and ``variables``; a plain edit has ``timeline``."""
    return isinstance(document, dict) and "edit" in document and "timeline" not in document


def find_placeholders(document: Any) -> dict[str, list[str]]:
    """Every placeholder name in a document, with the pointers where it stands."""
    found: dict[str, list[str]] = {}

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, str):
            for m in PLACEHOLDER.finditer(node):
                found.setdefault(m[1], []).append(pointer(*path))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*path, i))

    walk(document, ())
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))
    return json.dumps(value, ensure_ascii=False)


def substitute(document: Any, variables: Mapping[str, Any], *, strict: bool = True) -> Any:
    """Return a copy of ``document`` with placeholders filled.

    With ``strict``, a placeholder that has no variable is an error (all of them reported at
    once, each with its pointer); otherwise it is left as written.
    """
    problems: list[Problem] = []

    def filtered(m: re.Match[str], path: tuple[str | int, ...]) -> Any:
        """The variable's value through the placeholder's filter (English: an edit has no locale)."""
        try:
            return apply_filters(variables[m[1]], parse_filters(m[2] or ""), None)
        except FilterError as exc:
            problems.append(Problem(pointer(*path), f"{m[0]}: {exc}", code="invalid_filter"))
            return m[0]

    def fill(text: str, path: tuple[str | int, ...]) -> Any:
        whole = PLACEHOLDER.fullmatch(text.strip())
        if whole and whole[1] in variables:
            return filtered(whole, path)

        def one(m: re.Match[str]) -> str:
            if m[1] in variables:
                return _as_text(filtered(m, path))
            if strict:
                problems.append(
                    Problem(pointer(*path), f"no value for the variable {m[1]!r}", code="unknown_variable")
                )
            return m[0]

        return PLACEHOLDER.sub(one, text)

    def walk(node: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(node, str):
            return fill(node, path)
        if isinstance(node, dict):
            return {key: walk(value, (*path, key)) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value, (*path, i)) for i, value in enumerate(node)]
        return node

    result = walk(document, ())
    if problems:
        raise EditError(problems)
    return result
