"""Templates' definitions: variables (types, validation, defaults, localizable), the
parsed :class:`Template`, and the limits and names the template language reserves."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Told apart where placeholders live, so a plain edit is loaded without the template models.
from .variables import is_template_document as is_template_document

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

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
LOCALE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
"""A BCP 47 locale tag as templates take it: ``en``, ``fr``, ``pt-BR``, ``zh-Hant-TW``."""
LOCALE_RE = re.compile(LOCALE_PATTERN)

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


ALLOWED_CHECKS: dict[str, tuple[str, ...]] = {
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
