"""A template's values as JSON Schema (draft 2020-12), for clients and forms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .template_model import ASSET_KINDS, LOCALES_KEY, Template, Variable

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
            "description": 'A CSS colour: "#rgb[a]", "#rrggbb[aa]", "rgb()", "rgba()", "hsl()", "hsla()" or a CSS name.',
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
