"""Request bodies that more than one router takes: a template's values (preview, renders, and
the brand check of a filled template)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from reelforge.edit.templates import LOCALE_PATTERN
from reelforge.services.inputs import InputModel

from .numbers import INTEGER_MAX

__all__ = ["TemplateValues"]


class TemplateValues(InputModel):
    values: dict[str, Any] = Field(default_factory=dict)
    """The variables' values by name; a localizable one may be `{"$locales": {"en": …, "fr": …}}`."""
    locale: str | None = Field(None, max_length=35, pattern=LOCALE_PATTERN)
    """Which locale's values to use (default: the template's default locale)."""
    version: int | None = Field(None, ge=1, le=INTEGER_MAX)
    """A version of the template (default: the current one)."""
