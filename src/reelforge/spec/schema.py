"""The edit language as JSON Schema (draft 2020-12), for editors, validators and docs."""

from __future__ import annotations

from typing import Any

from .models import Edit

__all__ = ["SCHEMA_ID", "edit_json_schema"]

SCHEMA_ID = "https://reelforge.dev/schema/edit.json"


def edit_json_schema() -> dict[str, Any]:
    schema = Edit.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "Reelforge edit",
    }
