"""Health, readiness and the calling credential's workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import Out

__all__ = [
    "Health",
    "QueueStatus",
    "Readiness",
    "WorkerStatus",
    "WorkspaceLimits",
    "WorkspaceOut",
    "WorkspaceUsage",
]


class Health(Out):
    status: Literal["ok"]


class WorkerStatus(Out):
    """A background worker as its heartbeats tell."""

    name: str
    kind: str
    """``render``."""
    state: Literal["live", "stale", "stopped"]
    """``stale``: it stopped heartbeating without saying it stopped (crashed or hangs)."""
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age_seconds: float


class QueueStatus(Out):
    queued: int
    running: int


class Readiness(Out):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    """``ok`` or ``error: <why>`` for ``database``, ``storage``, ``broker`` (the render queue),
    ``worker`` (when one runs in this process) and ``workers`` (a live worker exists, when one is
    expected)."""
    workers: list[WorkerStatus] | None = None
    """The workers of the last day (only for a credential with the ``metrics`` or ``operator``
    scope)."""
    queue: QueueStatus | None = None
    """Renders queued and running now in the whole installation (only for a credential with the
    ``metrics`` or ``operator`` scope; absent when the database does not answer)."""


class WorkspaceLimits(Out):
    """The most one request may ask for, and the daily render budget: the installation's
    defaults unless the operator set others for the workspace (a 422 ``limit-exceeded`` or 429
    ``render-budget-exhausted`` names the one reached)."""

    timeline_seconds: float
    """The timeline's duration, seconds."""
    clips: int
    """Clips of one edit, all tracks together."""
    tracks: int
    outputs: int
    """Files one render makes (posters and thumbnails not counted)."""
    output_seconds: float
    """The durations of one render's outputs added up, seconds."""
    output_pixel_frames: float
    """Width x height x frames of one render's outputs added up."""
    render_seconds_per_day: float
    """Wall seconds of rendering per UTC day (0: no budget)."""
    storage_bytes: float | None = None
    """Bytes the workspace may store (0: no quota). Always sent; optional here because older
    examples lack it, as the three below."""
    storage_assets: float | None = None
    """Assets the workspace may store (0: no quota)."""
    output_retention_days: float | None = None
    """Days render outputs are kept (0: kept)."""
    upload_expiry_hours: float | None = None
    """Hours an unfinished resumable upload is kept after its last bytes arrived."""


class WorkspaceUsage(Out):
    """Rendering used today (UTC): the wall seconds of the renders that ended since midnight."""

    render_seconds_today: float
    render_seconds_per_day: float | None
    """The budget (None: no budget)."""
    render_seconds_left: float | None
    resets_at: datetime
    """Midnight UTC, when the count starts again."""
    storage_bytes_used: int | None = None
    """Bytes the workspace stores now. Always sent; optional here because older examples lack it."""
    storage_assets_used: int | None = None
    """Assets the workspace stores now."""


class WorkspaceOut(Out):
    id: str
    object: Literal["workspace"]
    name: str
    created_at: datetime
    scopes: list[str]
    """The scopes the calling credential holds."""
    limits: WorkspaceLimits
    usage: WorkspaceUsage
