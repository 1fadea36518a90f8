"""The service's tables. Every resource row carries its workspace; ids are prefixed ULIDs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator
from ulid import ULID

__all__ = [
    "RENDER_STATES",
    "REVIEW_STATES",
    "RUNNING_STATES",
    "TERMINAL_STATES",
    "ApiKey",
    "Asset",
    "AssetCollection",
    "AssetReview",
    "AssetTag",
    "AssetVersion",
    "Base",
    "OAuthClient",
    "Project",
    "ProjectRevision",
    "Render",
    "RenderAsset",
    "RenderFact",
    "RenderLabel",
    "RenderState",
    "Workspace",
    "new_id",
    "utcnow",
]


def new_id(prefix: str) -> str:
    """``ast_01JD…``: sortable by creation time, opaque to clients."""
    return f"{prefix}_{str(ULID()).lower()}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on SQLite too (which stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """The operator's overrides of the installation's per-request limits and daily render
    budget, by name (migration 0012); a limit not named here has the settings' default."""


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    lookup: Mapped[str] = mapped_column(String(32), unique=True)
    """The public part of the key, used to find the row."""
    prefix: Mapped[str] = mapped_column(String(64))
    """What is shown in lists: ``rf_live_<lookup>``."""
    hash: Mapped[str] = mapped_column(String(64))
    last4: Mapped[str] = mapped_column(String(4))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthClient(Base):
    __tablename__ = "oauth_clients"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    secret_hash: Mapped[str] = mapped_column(String(64))
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    """A rolled secret keeps working until then (migration 0020)."""
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("workspace_id", "sha256", name="uq_assets_workspace_sha256"),
        Index("ix_assets_workspace_created", "workspace_id", "created_at", "id"),
        Index("uq_assets_external_ref", "workspace_id", "external_system", "external_id", unique=True),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    """video, image, audio, subtitles, font, lut"""
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    media: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What probing found: duration, width, height, fps, codecs, audio channels..."""
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Free metadata the client sets."""
    source: Mapped[str] = mapped_column(String(16), default="upload")
    """upload, render, import"""
    derived_from: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Provenance, e.g. {"render": "rnd_…", "project": "prj_…", "revision": 3}."""
    render_id: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    thumbnail_key: Mapped[str | None] = mapped_column(String(255), default=None)
    waveform_key: Mapped[str | None] = mapped_column(String(255), default=None)
    previews: Mapped[str | None] = mapped_column(String(16), default=None)
    """pending, ready, failed or none (the kind has no preview); migration 0010. NULL: an older row."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """Bumped by database triggers on every change of the row or its tags (migration 0011): the
    key under which the asset list caches the representation. Never set it."""
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """The number of the newest version, whose bytes the row's content columns describe
    (migration 0021); every version is a row of ``asset_versions``."""
    external_system: Mapped[str | None] = mapped_column(String(64), default=None)
    """With ``external_id``: the asset in the DAM it is synced from, unique per workspace."""
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)


ReviewState = Literal["draft", "in_review", "approved", "rejected", "archived"]
REVIEW_STATES: tuple[ReviewState, ...] = get_args(ReviewState)


class AssetVersion(Base):
    """One version of an asset: its bytes, what probing found, where it came from, and its
    review state (migration 0021). Version 1 is the asset as first ingested."""

    __tablename__ = "asset_versions"
    __table_args__ = (
        UniqueConstraint("asset_id", "number", name="uq_asset_versions_number"),
        Index("ix_asset_versions_workspace_sha256", "workspace_id", "sha256"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    media: Mapped[dict[str, Any]] = mapped_column(default=dict)
    thumbnail_key: Mapped[str | None] = mapped_column(String(255), default=None)
    waveform_key: Mapped[str | None] = mapped_column(String(255), default=None)
    source: Mapped[str] = mapped_column(String(16), default="upload")
    """upload, import, render, sync (``PUT /v1/assets/by-ref/…``) or restore."""
    derived_from: Mapped[dict[str, Any]] = mapped_column(default=dict)
    external_version: Mapped[str | None] = mapped_column(String(100), default=None)
    """The source system's version id (a DAM sync adds each once)."""
    created_by: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    """One of :data:`REVIEW_STATES`."""
    reviewed_by: Mapped[str | None] = mapped_column(String(40), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    review_comment: Mapped[str] = mapped_column(String(2000), default="")
    approved_until: Mapped[datetime | None] = mapped_column(default=None)
    """An approval of licensed media ends here: the version stops resolving as approved."""
    expiry_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether ``asset.approval_expired`` was recorded for the current approval."""
    revision: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped on every review; the ETag a review's ``If-Match`` names."""


class AssetReview(Base):
    """Every change of a version's review state, in order: who, when, why; what "approved at
    time T" is answered from."""

    __tablename__ = "asset_reviews"
    __table_args__ = (Index("ix_asset_reviews_version_at", "version_id", "at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("asset_versions.id", ondelete="CASCADE"))
    asset_id: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str | None] = mapped_column(String(40), default=None)
    comment: Mapped[str] = mapped_column(String(2000), default="")
    approved_until: Mapped[datetime | None] = mapped_column(default=None)


class AssetTag(Base):
    __tablename__ = "asset_tags"
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class AssetCollection(Base):
    """An asset's membership of a named collection (an explicit grouping, apart from tags)."""

    __tablename__ = "asset_collections"
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    collection: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_workspace_created", "workspace_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    """The current revision number; also the ETag."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectRevision(Base):
    __tablename__ = "project_revisions"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_revisions_project_number"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    edit: Mapped[dict[str, Any]] = mapped_column()
    message: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


RenderState = Literal["queued", "preparing", "rendering", "finishing", "succeeded", "failed", "cancelled"]
"""A render's states, in the order it passes through them (:mod:`reelforge.jobs.queue` moves it
between them). Named here, beside the column, as the lowest layer every other one may import."""
RENDER_STATES: tuple[RenderState, ...] = get_args(RenderState)
RUNNING_STATES: tuple[RenderState, ...] = ("preparing", "rendering", "finishing")
"""Claimed by a worker: the render holds one of the workspace's running slots."""
TERMINAL_STATES: tuple[RenderState, ...] = ("succeeded", "failed", "cancelled")
"""Final: nothing changes the render any more."""


ANALYTICS_COLUMNS = (
    "workspace_id",
    "created_at",
    "state",
    "failure_code",
    "run_seconds",
    "queue_seconds",
    "output_seconds",
    "output_bytes",
    "template_id",
    "batch_id",
    "locale",
    "id",
)
"""The columns of the index analytics reads instead of the table: the range's columns first,
then every column a query aggregates or groups by."""


FACT_GROUP_COLUMNS = (
    "workspace_id",
    "dim",
    "key",
    "state",
    "created_at",
    "failure_code",
    "run_seconds",
    "queue_seconds",
    "output_seconds",
    "output_bytes",
)
"""The columns of the index analytics adds up ``render_facts`` with: a grouping's rows by key,
then state, then creation time (a group's renders in one state and the range are one stretch
of it), then every column aggregated (migration 0024)."""


class Render(Base):
    __tablename__ = "renders"
    __table_args__ = (
        Index("ix_renders_workspace_created", "workspace_id", "created_at", "id"),
        Index("ix_renders_state_seq", "state", "seq"),
        Index("ix_renders_workspace_finished", "workspace_id", "finished_at"),
        # Analytics reads a range of a workspace's renders from this index alone (migration 0015).
        Index("ix_renders_analytics", *ANALYTICS_COLUMNS),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    """Queue order: renders start in the order they were created."""
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    """Before ``seq`` within a workspace: higher starts first (``high`` 10, ``normal`` 0,
    ``low`` -10, or any integer from -100 to 100; migration 0022)."""
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[str | None] = mapped_column(String(40), default=None)
    revision: Mapped[int | None] = mapped_column(Integer, default=None)
    edit: Mapped[dict[str, Any]] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="queued")
    """One of :data:`RENDER_STATES`."""
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    eta_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    duration: Mapped[float | None] = mapped_column(Float, default=None)
    """The timeline's length in seconds."""
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(100), default=None)
    """Who runs it now; a render is claimed by one worker at a time."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The client's metadata."""
    template_id: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    """The template it was made from (``tpl_…``; migration 0007), with the version and locale used."""
    template_version: Mapped[int | None] = mapped_column(Integer, default=None)
    locale: Mapped[str | None] = mapped_column(String(35), default=None)
    outputs: Mapped[list[Any]] = mapped_column(default=list)
    """``[{"asset_id", "role", "output"}]`` in the order the files were made. (An identical file
    is deduplicated to an asset made earlier, so ``assets.render_id`` cannot list them.)"""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    log_tail: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    """Campaign tags given at creation (a batch's renders: the batch's); migration 0015."""
    batch_id: Mapped[str | None] = mapped_column(String(40), default=None)
    """The batch that queued it (``bat_…``), for grouping and logs; migration 0015."""
    failure_code: Mapped[str | None] = mapped_column(String(32), default=None)
    """``error.code`` of a failed render, as a column so analytics can group by it."""
    queue_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    """Seconds from creation to the (last) start, written when the render ends."""
    run_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    """Seconds from the (last) start to the end, written when the render ends."""
    output_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    """The durations of the video/audio outputs made, added up (succeeded renders)."""
    awaiting_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Queued with ``require_approval`` while a transcript its captions need is not approved:
    workers skip it until then (migration 0017)."""
    output_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Bytes of every file made (outputs, posters, thumbnails, subtitles), added up."""
    ffmpeg_log: Mapped[str | None] = mapped_column(Text, default=None)
    """What FFmpeg wrote to stderr during the last attempt, bounded and with server paths
    redacted (``GET /v1/renders/{id}/log``)."""
    asset_versions: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    """``[{"pointer", "asset", "version", "sha256", "state", "reference"}]``: the asset version
    each file of the edit resolved to when it was queued (migration 0021)."""
    purpose: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    """publication (approved media only), draft or preview."""
    origin: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """The request that queued it: ``request_id`` (on the job's log lines) and, when tracing,
    its W3C trace context (``traceparent``, ``tracestate``), continued by the worker."""


class RenderChunk(Base):
    """A chunk of a long render's picture, a sub-job any worker may take (see
    :mod:`reelforge.jobs.chunks`); migration 0018. Rows belong to one attempt of the render."""

    __tablename__ = "render_chunks"
    __table_args__ = (Index("ix_render_chunks_state", "state", "render_id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    render_id: Mapped[str] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    """The render's attempt that made it."""
    index: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column()
    """What to render: the sub-edit of its clips, its frames, its clips' pointers in the edit."""
    state: Mapped[str] = mapped_column(String(16), default="queued")
    """``queued``, ``running``, ``succeeded``, ``failed`` or ``cancelled``."""
    worker: Mapped[str | None] = mapped_column(String(100), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    files: Mapped[list[Any]] = mapped_column(default=list)
    """Storage keys of the chunk's files, one per output, once it succeeded."""
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    seconds: Mapped[float | None] = mapped_column(Float, default=None)
    """How long its FFmpeg run took (the cost model of docs/scaling.md)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RenderLabel(Base):
    """What a render can be grouped by that it may have several of: its campaign tags
    (``kind`` ``tag``) and its outputs' formats (``format``). Written once, at creation."""

    __tablename__ = "render_labels"
    __table_args__ = (Index("ix_render_labels_kind_value", "kind", "value", "render_id"),)
    render_id: Mapped[str] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)


FACT_DIMENSIONS = ("all", "template", "batch", "locale", "day")
"""The groupings a render has exactly one fact row of (``all``: no grouping); its labels (campaign
tags, output formats) add one row each, of dimension ``tag`` or ``format``."""


class RenderFact(Base):
    """What analytics reads of a render, once per grouping it falls in (see
    :data:`FACT_DIMENSIONS` and :class:`RenderLabel`): the grouping's key next to the render's
    state, failure code, timings and output totals. Written by the database's triggers on
    ``renders`` and ``render_labels`` (:mod:`reelforge.db.facts`, migration 0019), so no write
    path can leave it behind; nothing else writes it."""

    __tablename__ = "render_facts"
    __table_args__ = (
        # A group's renders in one state and range are one stretch of it; covering.
        Index("ix_render_facts_groups", *FACT_GROUP_COLUMNS),
        # A group's timings in order, for the percentiles: the rows at a rank are read by offset.
        Index("ix_render_facts_run", "workspace_id", "dim", "key", "run_seconds", "created_at"),
        Index("ix_render_facts_queue", "workspace_id", "dim", "key", "queue_seconds", "created_at"),
    )
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    render_id: Mapped[str] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), index=True)
    dim: Mapped[str] = mapped_column(String(8))
    key: Mapped[str | None] = mapped_column(String(100), default=None)
    workspace_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(20))
    failure_code: Mapped[str | None] = mapped_column(String(32), default=None)
    run_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    queue_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    output_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    output_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)


class RenderAsset(Base):
    """Which assets a render reads, so deleting one can refuse while the render needs it."""

    __tablename__ = "render_assets"
    render_id: Mapped[str] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
