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

This module is the public entry; the language lives in focused modules: definitions
(:mod:`.template_model`), checking values (:mod:`.template_values`), parsing
(:mod:`.template_parse`), expanding conditions and repeats (:mod:`.template_expand`), filling
(:mod:`.template_fill`) and the values' JSON Schema (:mod:`.template_schema`).
"""

from __future__ import annotations

from .template_fill import fill_template, fill_template_traced
from .template_model import (
    ASSET_KINDS,
    LOCALE_PATTERN,
    LOCALES_KEY,
    MAX_CLIPS,
    MAX_GROUP_DEPTH,
    VARIABLE_TYPES,
    AssetFacts,
    Template,
    Validation,
    Variable,
    VariableSpec,
    is_template_document,
)
from .template_parse import parse_template
from .template_schema import values_schema

__all__ = [
    "ASSET_KINDS",
    "LOCALES_KEY",
    "LOCALE_PATTERN",
    "MAX_CLIPS",
    "MAX_GROUP_DEPTH",
    "VARIABLE_TYPES",
    "AssetFacts",
    "Template",
    "Validation",
    "Variable",
    "VariableSpec",
    "fill_template",
    "fill_template_traced",
    "is_template_document",
    "parse_template",
    "values_schema",
]
