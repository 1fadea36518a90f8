"""The edit language: models, time values, placeholders, validation and JSON Schema."""

from .errors import EditError, Problem
from .models import Clip, Edit, Output, Timeline, Track
from .references import Reference, asset_references, is_asset_id
from .schema import edit_json_schema
from .timeline import ClipTiming, ResolvedTimeline, resolve_timeline
from .validate import load_edit, parse_edit

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
