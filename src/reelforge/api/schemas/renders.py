"""Renders, their outputs, and the plan a dry run answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from reelforge.db.models import RenderState

from .assets import AssetOut
from .brand_kits import BrandKitRef, ComplianceLevel, Finding
from .common import JSONObject, Out, Page

__all__ = [
    "PlannedOutput",
    "RenderBrand",
    "RenderCompliance",
    "RenderError",
    "RenderList",
    "RenderOut",
    "RenderOutput",
    "RenderPlan",
    "RenderState",
    "TemplateRef",
]


class RenderOutput(AssetOut):
    """An output asset, as ``GET /v1/assets/{id}`` shows it, plus what it is to this render."""

    role: str | None = None
    """``output`` (a file of ``edit.outputs``), ``poster``, ``thumbnail`` or a sidecar's role."""
    output: int | None = None
    """The index of the output in ``edit.outputs`` it belongs to."""
    file_name: str | None = None
    """The file's own name in this render (an identical file made earlier is one asset, named
    after the first file; this name is this output's)."""
    file_url: str | None = None
    """Where this file downloads under its own name (``?name_template=`` for another)."""


class RenderProblem(Out):
    pointer: str | None = None
    message: str
    code: str | None = None


class RenderError(Out):
    """Why a render failed."""

    code: str
    message: str
    pointer: str | None = None
    log_tail: list[str] | None = None
    problems: list[RenderProblem] | None = None


class TemplateRef(Out):
    id: str
    version: int | None = None
    locale: str | None = None


class RenderCompliance(Out):
    """The compliance check made when the render was asked for (workspace level ``warn``)."""

    level: ComplianceLevel
    passed: bool
    findings: list[Finding]


class RenderBrand(BrandKitRef):
    """The brand kit version the render used."""

    compliance: RenderCompliance | None = None
    """None when the workspace's level is ``off``."""


class ResolvedVersion(Out):
    pointer: str
    """Where the edit names the file."""
    reference: str
    """As written: an asset id, ``ast_…@3``, ``ast_…@approved``, ``ast_…@latest`` or a query."""
    asset: str
    version: int
    sha256: str
    state: str
    """The version's review state when the render was queued."""
    approved: bool
    approved_until: datetime | None = None


class RenderOut(Out):
    id: str
    object: Literal["render"]
    state: RenderState
    queue_position: int | None = None
    """While queued: 1 is next."""
    priority: int = 0
    """Within the workspace, queued renders start by priority (higher first), then in creation
    order: ``high`` 10, ``normal`` 0, ``low`` -10."""
    awaiting_approval: bool = False
    """Queued with ``require_approval``: waits until the transcripts its captions use are approved."""
    progress: float
    """0 to 100."""
    eta_seconds: float | None = None
    duration: float | None = None
    """Of the video, in seconds, once known."""
    project_id: str | None = None
    revision: int | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    render_seconds: float | None = None
    attempts: int
    cancel_requested: bool
    error: RenderError | None = None
    outputs: list[RenderOutput]
    metadata: JSONObject
    tags: list[str] = Field(default_factory=list)
    """Campaign tags given at creation (a batch's renders: the batch's tags)."""
    brand: RenderBrand | None = None
    template: TemplateRef | None = None
    purpose: Literal["publication", "draft", "preview"] = "draft"
    """``publication``: approved media only."""
    asset_versions: list[ResolvedVersion] = Field(default_factory=list)
    """The asset version each file of the edit resolved to when the render was queued."""


class RenderList(Page):
    data: list[RenderOut]


class PlannedOutput(Out):
    name: str
    format: str
    width: int
    height: int
    fps: float
    fps_exact: str
    frames: int
    duration: float
    quality: str
    audio: bool
    poster: str | None = None
    thumbnail: str | None = None
    sidecars: list[str]


class RenderPlan(Out):
    """A dry run: what would be made, and an estimate of how long it would take."""

    object: Literal["render_plan"]
    valid: bool
    duration: float
    outputs: list[PlannedOutput]
    estimated_render_seconds: float
    estimate: str
    project_id: str | None = None
    revision: int | None = None
    brand: RenderBrand | None = None
    template: TemplateRef | None = None
