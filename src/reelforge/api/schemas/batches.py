"""Batches: one template rendered for many rows of values."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import JSONObject, Out, Page

__all__ = ["BatchCounts", "BatchList", "BatchOut", "BatchRows", "BatchState", "RejectedRow"]

BatchState = Literal["running", "succeeded", "partially_failed", "failed", "cancelled"]


class BatchCounts(Out):
    """The batch's renders by state."""

    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int


class BatchRows(Out):
    source: str
    """``json``, ``csv``..."""
    total: int
    rejected: int


class RowError(Out):
    pointer: str | None = None
    detail: str | None = None
    code: str | None = None
    line: int | None = None
    column: str | None = None


class RejectedRow(Out):
    row: int
    locale: str | None = None
    errors: list[RowError]


class BatchOut(Out):
    id: str
    object: Literal["batch"]
    state: BatchState
    progress: float
    counts: BatchCounts
    template_id: str
    template_version: int
    locales: list[str]
    outputs: list[JSONObject]
    """The outputs each render makes (edit-language output objects)."""
    tags: list[str]
    all_or_nothing: bool
    rows: BatchRows
    items: int
    renders: int
    duplicates: list[JSONObject]
    rejected: list[RejectedRow]
    cancel_requested: bool
    metadata: JSONObject
    created_at: datetime
    cancelled_at: datetime | None = None
    finished_at: datetime | None = None
    renders_url: str


class BatchList(Page):
    data: list[BatchOut]
