"""The edit language as JSON Schema (draft 2020-12), for editors, validators and docs."""

from __future__ import annotations

import ast
import inspect
from functools import cache
from typing import Any

from . import models
from .models import Edit

__all__ = ["SCHEMA_ID", "edit_json_schema"]

SCHEMA_ID = "https://reelforge.dev/schema/edit.json"


@cache
def field_docs() -> dict[str, dict[str, str]]:
    """The docstring under each model field in models.py, per class: parsed once, on demand."""
    tree = ast.parse(inspect.getsource(models))
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields = docs.setdefault(node.name, {})
        for item, following in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                fields[item.target.id] = inspect.cleandoc(following.value.value)
    return docs


def edit_json_schema() -> dict[str, Any]:
    schema = Edit.model_json_schema(mode="validation")
    docs = field_docs()
    for name, definition in [("Edit", schema), *schema.get("$defs", {}).items()]:
        for field, prop in definition.get("properties", {}).items():
            # An override takes the clip's own fields: it documents them the same way.
            doc = docs.get("Clip" if name == "ClipOverride" else name, {}).get(field)
            if doc and "description" not in prop:
                prop["description"] = doc
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "Reelforge edit",
    }
