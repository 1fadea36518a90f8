"""Asset versions, their review, and the DAM sync's answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .assets import AssetKind, AssetOut, MediaInfo
from .common import JSONObject, Out

__all__ = [
    "AssetSyncOut",
    "AssetVersionList",
    "AssetVersionOut",
    "MediaProblem",
    "MediaReport",
    "RecordedEdit",
    "ResolvedFile",
    "ReviewOut",
    "ReviewState",
]

ReviewState = Literal["draft", "in_review", "approved", "rejected", "archived"]


class ReviewOut(Out):
    state: ReviewState
    by: str | None = None
    """The credential that set the state."""
    at: datetime | None = None
    comment: str = ""
    approved_until: datetime | None = None
    """An approval ends here (licensed media): from then on the version is not approved."""


class AssetVersionOut(Out):
    object: Literal["asset_version"]
    asset_id: str
    version: int
    current: bool
    """Whether it is the asset's newest version (what the asset itself describes)."""
    kind: AssetKind
    content_type: str
    size_bytes: int
    sha256: str
    media: MediaInfo
    source: str
    """upload, import, render, restore."""
    derived_from: JSONObject
    external_version: str | None = None
    """The source system's version id (``PUT /v1/assets/by-ref/…``)."""
    created_by: str | None = None
    created_at: datetime
    review: ReviewOut
    approved: bool
    """Approved now: approved, and the approval has not ended."""
    revision: int
    """Bumped by every review; the ETag."""
    content_url: str


class AssetVersionList(Out):
    object: Literal["list"]
    data: list[AssetVersionOut]


class AssetSyncOut(Out):
    object: Literal["asset_sync"]
    created: bool
    """False: this external version was synced before, and nothing changed."""
    asset: AssetOut
    version: AssetVersionOut


class ResolvedFile(Out):
    pointer: str
    """Where the edit names the file."""
    reference: str
    """As written: an asset id, ``ast_…@3``, ``ast_…@approved``, ``ast_…@latest`` or a query."""
    asset: str
    version: int
    sha256: str
    state: ReviewState
    approved: bool
    approved_until: datetime | None = None


class MediaProblem(Out):
    pointer: str
    code: str
    """``asset_not_found``, ``reference_unresolved``, ``reference_ambiguous``,
    ``unapproved_media`` or ``approval_expired``."""
    detail: str


class MediaReport(Out):
    """What each file of an edit resolves to now, and what stands in the way of publishing it."""

    object: Literal["media_report"]
    passed: bool
    """A render for publication would take every file."""
    files: list[ResolvedFile]
    problems: list[MediaProblem]


class RecordedEdit(Out):
    """An edit as a render recorded it: every asset pinned (``ast_…@3``), brand filled."""

    timeline: JSONObject
    outputs: list[JSONObject]
