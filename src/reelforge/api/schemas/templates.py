"""Templates: an edit with variables, its versions, its values schema and previews."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import RootModel

from .common import JSONObject, Out, Page
from .renders import TemplateRef

__all__ = [
    "TemplateList",
    "TemplateOut",
    "TemplatePreview",
    "TemplateVersionList",
    "TemplateVersionOut",
    "ValuesSchema",
]


class TemplateOut(Out):
    id: str
    object: Literal["template"]
    name: str
    version: int
    edit: JSONObject
    """The edit, with ``{{ variable }}`` placeholders."""
    variables: list[JSONObject]
    """The declared variables (name, type, validation...)."""
    locales: list[str]
    default_locale: str | None = None
    created_at: datetime
    updated_at: datetime
    versions_url: str
    variables_url: str


class TemplateList(Page):
    data: list[TemplateOut]


class TemplateVersionOut(Out):
    object: Literal["template_version"]
    template: str
    number: int
    edit: JSONObject
    variables: list[JSONObject]
    locales: list[str]
    default_locale: str | None = None
    message: str
    created_at: datetime


class TemplateVersionList(Page):
    data: list[TemplateVersionOut]


class ValuesSchema(RootModel[dict[str, Any]]):
    """A JSON Schema (2020-12) of the values the template takes."""


class TemplatePreview(Out):
    """The edit the values make, without rendering it."""

    object: Literal["template_preview"]
    template: TemplateRef
    edit: JSONObject
