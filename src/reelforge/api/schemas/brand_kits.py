"""Brand kits, their versions, the workspace's compliance level and compliance reports."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import JSONObject, Out, Page

__all__ = [
    "BrandKitList",
    "BrandKitOut",
    "BrandKitRef",
    "BrandKitVersionList",
    "BrandKitVersionOut",
    "ComplianceLevel",
    "ComplianceReport",
    "ComplianceSettingsOut",
    "Finding",
]

ComplianceLevel = Literal["off", "warn", "block"]


class BrandKitOut(Out):
    """A kit: its body as sent (with defaults filled in) plus the resource's own members."""

    id: str
    object: Literal["brand_kit"]
    version: int
    name: str
    logos: dict[str, str] | None = None
    """Logo asset ids by role (``logo``, ``logo_white``...)."""
    colors: dict[str, str] | None = None
    fonts: dict[str, JSONObject] | None = None
    caption_style: JSONObject | None = None
    watermark: JSONObject | None = None
    intro: str | None = None
    outro: str | None = None
    safe_zones: dict[str, JSONObject] | None = None
    rules: JSONObject | None = None
    created_at: datetime
    updated_at: datetime
    versions_url: str


class BrandKitList(Page):
    data: list[BrandKitOut]


class BrandKitVersionOut(Out):
    object: Literal["brand_kit_version"]
    brand_kit: str
    number: int
    kit: JSONObject
    """The kit's body at that version."""
    message: str
    created_at: datetime


class BrandKitVersionList(Page):
    data: list[BrandKitVersionOut]


class ComplianceSettingsOut(Out):
    object: Literal["compliance_settings"]
    workspace: str
    level: ComplianceLevel
    levels: list[ComplianceLevel]
    updated_at: datetime | None = None


class BrandKitRef(Out):
    id: str
    name: str
    version: int


class Finding(Out):
    rule: str
    severity: Literal["error", "warning"]
    message: str
    pointer: str
    """Where in the body (a JSON Pointer as a URI fragment, ``#/timeline/tracks/0/clips/1``)."""
    output: int | None = None
    output_label: str | None = None


class ComplianceReport(Out):
    object: Literal["compliance_report"]
    brand_kit: BrandKitRef
    level: ComplianceLevel
    passed: bool
    findings: list[Finding]
    project_id: str | None = None
    revision: int | None = None
    edit: JSONObject | None = None
    """For a template: the filled edit that was checked."""
    media: JSONObject | None = None
    """The edit's files as they resolve now, with what is not approved (a ``media_report``:
    ``passed``, ``files``, ``problems``)."""
    template: JSONObject | None = None
