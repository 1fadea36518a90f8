"""Render analytics (``GET /v1/analytics/renders``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from .common import Out

__all__ = ["FailureRate", "Percentiles", "RenderAnalytics", "RenderGroup", "RenderStateCounts"]

AnalyticsGroupBy = Literal["tag", "template", "batch", "format", "locale", "day"]


class RenderStateCounts(Out):
    queued: int
    preparing: int
    rendering: int
    finishing: int
    succeeded: int
    failed: int
    cancelled: int


class FailureRate(Out):
    code: str
    """A render error code (`ffmpeg_failed`, `asset_missing`, …)."""
    count: int
    rate: float
    """Among the group's finished renders (succeeded or failed), 0 to 1."""


class Percentiles(Out):
    """Seconds; None when no render of the group has the value yet."""

    p50: float | None = None
    p95: float | None = None


class RenderGroup(Out):
    key: str | None = None
    """The tag, template id, batch id, output format, locale or UTC day (`YYYY-MM-DD`); None for
    the renders without one (and for the one group when nothing groups)."""
    renders: int
    states: RenderStateCounts
    success_rate: float | None = None
    """succeeded / (succeeded + failed); None before any render of the group finished."""
    errors: list[FailureRate]
    render_seconds: Percentiles
    """How long renders ran (start to end)."""
    queue_seconds: Percentiles
    """How long renders waited in the queue (creation to start)."""
    output_minutes: float
    """Minutes of video and audio made."""
    output_bytes: int
    """Bytes of every file made (outputs, posters, thumbnails, subtitles)."""


class RenderAnalytics(Out):
    model_config = ConfigDict(populate_by_name=True)

    object: Literal["render_analytics"]
    group_by: AnalyticsGroupBy | None = None
    from_: datetime = Field(alias="from")
    """The range's start (included): renders created at or after it."""
    to: datetime
    """The range's end (excluded)."""
    groups: list[RenderGroup]
