"""The edit language: models, time values, placeholders, validation and JSON Schema.

The names below load with their module on first use (PEP 562), so importing one light
submodule (``reelforge.edit.errors``) does not build every model: the CLI starts quicker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import EditError, Problem
    from .models import Clip, Edit, Output, Timeline, Track
    from .references import Reference, asset_references, is_asset_id
    from .schema import edit_json_schema
    from .timeline import ClipTiming, ResolvedTimeline, resolve_timeline
    from .validate import load_edit, parse_edit

_HOMES = {
    "EditError": "errors",
    "Problem": "errors",
    "Clip": "models",
    "Edit": "models",
    "Output": "models",
    "Timeline": "models",
    "Track": "models",
    "Reference": "references",
    "asset_references": "references",
    "is_asset_id": "references",
    "edit_json_schema": "schema",
    "ClipTiming": "timeline",
    "ResolvedTimeline": "timeline",
    "resolve_timeline": "timeline",
    "load_edit": "validate",
    "parse_edit": "validate",
}

__all__ = [
    "Clip",
    "ClipTiming",
    "Edit",
    "EditError",
    "Output",
    "Problem",
    "Reference",
    "ResolvedTimeline",
    "Timeline",
    "Track",
    "asset_references",
    "edit_json_schema",
    "is_asset_id",
    "load_edit",
    "parse_edit",
    "resolve_timeline",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
