"""Renders: queue one from a project revision or an inline edit, plan one without creating it,
read them, cancel one.

A render is queued in the caller's transaction (``commit=False``: a batch queues many, a template
its filled edit) and runs in a worker (:mod:`reelforge.jobs`); the queue itself, its states and
positions, is :mod:`reelforge.jobs.queue`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol, cast

import structlog
from sqlalchemy import Connection, Select, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from reelforge.db.batches import settle_batches
from reelforge.db.brands import BRAND_META
from reelforge.db.models import (
    Asset,
    Project,
    ProjectRevision,
    Render,
    RenderAsset,
    RenderLabel,
    new_id,
    utcnow,
)
from reelforge.db.raw import decode_json_fields, raw_json_column
from reelforge.edit.errors import EditError
from reelforge.edit.models import Edit
from reelforge.edit.references import asset_id_of
from reelforge.jobs.queue import (
    RUNNING_STATES,
    TERMINAL_STATES,
    RenderState,
    next_seq,
    queue_position,
    queue_positions,
    rows_updated,
)
from reelforge.jobs.render_job import transcription_step
from reelforge.media.resolver import AssetResolver, asset_ids_in
from reelforge.render.compile import PlannedOutput, RenderPlan
from reelforge.render.engine import collect_sources, plan_edit
from reelforge.representations import OutputAssets, output_assets, record_render_event, render_json

# Edit checks and brand compliance (moving to reelforge.services.edits and .brand_kits).
from reelforge.services.brand_kits import check_before_render
from reelforge.services.edits import PreparedEdit, prepare_service_edit, refuse_unapproved
from reelforge.tracing import current_trace_context

from .context import Services, owned
from .credentials import Principal
from .errors import Conflict, Invalid, NotFound, ServiceError
from .limits import check_render_budget

__all__ = [
    "MAX_METADATA_BYTES",
    "RenderRequest",
    "RenderRow",
    "cancel_render",
    "enqueue_render",
    "estimate_render_seconds",
    "list_renders",
    "plan_render",
    "plan_request",
    "queued_answer",
    "read_render",
    "render_log",
    "render_request",
]

MAX_METADATA_BYTES = 16 * 1024
"""Client metadata kept with a render: at most this many bytes of JSON."""


def _invalid(problems: list[dict[str, Any]], detail: str | None = None, **extra: Any) -> Invalid:
    count = len(problems)
    return Invalid(
        detail or f"{count} problem{'s' if count != 1 else ''} in the request", errors=problems, **extra
    )


# ------------------------------------------------------------------ planning


def _plan_problems(exc: EditError, prefix: str) -> Invalid:
    count = len(exc.problems)
    return Invalid(
        f"{count} problem{'s' if count != 1 else ''} in the edit",
        code="edit-invalid",
        errors=[
            {"pointer": "#" + prefix + p.pointer, "detail": p.message, "code": p.code} for p in exc.problems
        ],
    )


# Encode throughput in output pixels per second of x264 at the preset each quality picks, measured
# on 2 cores with detailed content (FFmpeg's testsrc2 at 720p). HEVC and VP9 are about four times
# slower. x264 spreads over the cores, so the rate scales with them (up to 16).
_PIXELS_PER_SECOND_2_CORES = {"draft": 70e6, "low": 35e6, "medium": 20e6, "high": 13e6, "max": 7e6}
_CODEC_FACTOR = {"h265": 0.25, "vp9": 0.25, "prores": 1.5}
_GIF_PIXELS_PER_SECOND = 15e6
_STARTUP_SECONDS = 0.5
_STILL_SECONDS = 0.3


def estimate_render_seconds(plan: RenderPlan, cores: int | None = None) -> float:
    """A heuristic, not a promise: FFmpeg start-up, plus per video output its pixels x frames
    divided by the encoder's rate for the output's quality and codec (scaled by the cores), plus
    0.3 s per still (poster, thumbnail, png/jpg output). Detailed footage takes about this long;
    flat graphics encode faster, many layers and heavy effects slower."""
    scale = min(max(cores or os.cpu_count() or 2, 1), 16) / 2
    seconds = _STARTUP_SECONDS
    for planned in plan.outputs:
        output = planned.output
        if not output.is_video:
            seconds += _STILL_SECONDS
            continue
        if output.format == "gif":
            rate = _GIF_PIXELS_PER_SECOND
        else:
            rate = (
                _PIXELS_PER_SECOND_2_CORES[output.quality]
                * _CODEC_FACTOR.get(output.codec or "", 1.0)
                * scale
            )
        seconds += planned.width * planned.height * planned.frames / rate
        seconds += _STILL_SECONDS * sum(p is not None for p in (planned.poster, planned.thumbnail))
    return round(seconds, 1)


def _planned_json(planned: PlannedOutput) -> dict[str, Any]:
    out = planned.output
    return {
        "name": planned.path.name,
        "format": out.format,
        "width": planned.width,
        "height": planned.height,
        "fps": float(planned.fps),
        "fps_exact": f"{planned.fps.numerator}/{planned.fps.denominator}",
        "frames": planned.frames,
        "duration": round(float(planned.duration), 3),
        "quality": out.quality,
        "audio": out.audio and out.is_video and out.format != "gif",
        "poster": planned.poster.name if planned.poster else None,
        "thumbnail": planned.thumbnail.name if planned.thumbnail else None,
        "sidecars": [p.name for p in planned.sidecars],
    }


def plan_render(services: Services, workspace_id: str, edit: Edit, prefix: str) -> dict[str, Any]:
    """What rendering ``edit`` would make (a ``render_plan``), its assets resolved and probed,
    creating nothing; problems raise ``edit-invalid`` with pointers ``#<prefix>…``."""
    resolver = AssetResolver(services.sessions, services.storage, workspace_id)
    with tempfile.TemporaryDirectory(dir=services.storage.temp_dir(), prefix="plan-") as tmp:
        try:
            plan = plan_edit(
                edit,
                resolver=resolver,
                out_dir=Path(tmp) / "out",
                work_dir=Path(tmp) / "work",
                transcribe=transcription_step(services, workspace_id, resolver),
            )
        except EditError as exc:
            raise _plan_problems(exc, prefix) from None
    return {
        "object": "render_plan",
        "valid": True,
        "duration": round(float(plan.duration), 3),
        "outputs": [_planned_json(p) for p in plan.outputs],
        "estimated_render_seconds": estimate_render_seconds(plan),
        "estimate": "output pixels x frames at x264's rate for the quality, scaled by CPU cores; "
        "detailed footage takes about this long, flat graphics less",
    }


# ------------------------------------------------------------------ what to render


@dataclass(frozen=True)
class RenderRequest:
    """A render asked for, checked: the edit document, the project revision it comes from (if
    any), where its pointers start in the request, and the edit prepared for rendering."""

    document: dict[str, Any]
    project_id: str | None
    revision: int | None
    prefix: str
    prepared: PreparedEdit
    purpose: str = "draft"


def _revision_edit(db: Session, workspace_id: str, project_id: str, number: int | None) -> tuple[int, Any]:
    """The number and edit of a project's revision (None: the current one); 404s name the body's
    member at fault."""
    project = db.get(Project, project_id)
    if project is None or project.workspace_id != workspace_id:
        raise NotFound(
            f"no project {project_id}",
            errors=[{"pointer": "#/project_id", "code": "not_found", "detail": "no such project"}],
        )
    wanted = project.revision if number is None else number
    edit = db.scalar(
        select(ProjectRevision.edit).where(
            ProjectRevision.project_id == project.id, ProjectRevision.number == wanted
        )
    )
    if edit is None:
        raise NotFound(
            f"project {project.id} has no revision {wanted} (the latest is {project.revision})",
            errors=[{"pointer": "#/revision", "code": "not_found", "detail": f"no revision {wanted}"}],
        )
    return wanted, edit


def _prepare(
    document: dict[str, Any],
    db: Session,
    workspace_id: str,
    prefix: str,
    project_id: str | None,
    revision: int | None,
    locale: str | None = None,
) -> PreparedEdit:
    try:
        return prepare_service_edit(document, db, workspace_id, pointer_prefix=prefix, locale=locale)
    except ServiceError as exc:
        if project_id is None:
            raise
        # The pointers are into the stored revision's edit, not into this request's body.
        raise Invalid(
            f"revision {revision} of project {project_id}: {exc.detail}",
            code=exc.code,
            errors=exc.errors,
            project_id=project_id,
            revision=revision,
        ) from None


def render_request(
    db: Session,
    workspace_id: str,
    *,
    project_id: str | None,
    revision: int | None,
    edit: dict[str, Any] | None,
    metadata: Mapping[str, Any],
    purpose: str = "draft",
) -> RenderRequest:
    """Check a request to render a stored project (``project_id``, optional ``revision``;
    default the current one) or an inline ``edit`` (exactly one of them): problems with the edit
    raise 422 ``edit-invalid`` with a pointer each (into the body for an inline edit, into the
    revision's edit for a project). The caller checks that it may read projects."""
    if (project_id is None) == (edit is None):
        raise _invalid(
            [
                {
                    "pointer": "#/edit" if edit is not None else "#",
                    "code": "one_of",
                    "detail": "give either `project_id` or `edit`, not both"
                    if edit is not None
                    else "give `project_id` (a stored project) or `edit` (inline)",
                }
            ]
        )
    if edit is not None:
        if revision is not None:
            raise _invalid(
                [
                    {
                        "pointer": "#/revision",
                        "code": "not_allowed",
                        "detail": "`revision` goes with `project_id`, not with an inline edit",
                    }
                ]
            )
        document, prefix = edit, "/edit"
    else:
        assert project_id is not None
        revision, stored = _revision_edit(db, workspace_id, project_id, revision)
        document, prefix = dict(stored), ""
    if len(json.dumps(metadata, default=str)) > MAX_METADATA_BYTES:
        raise _invalid(
            [
                {
                    "pointer": "#/metadata",
                    "code": "too_large",
                    "detail": f"at most {MAX_METADATA_BYTES // 1024} KiB of metadata",
                }
            ]
        )
    project = project_id if edit is None else None
    prepared = _prepare(document, db, workspace_id, prefix, project, revision)
    refuse_unapproved(prepared, purpose, prefix)
    return RenderRequest(document, project, revision if project else None, prefix, prepared, purpose)


def plan_request(
    db: Session, services: Services, workspace_id: str, request: RenderRequest
) -> dict[str, Any]:
    """A dry run of ``request``: the plan, and the brand kit's compliance findings at the
    workspace's level, as the render would check them (a ``block`` level refuses)."""
    brand = check_before_render(
        db, services.storage, workspace_id, request.prepared.edit, request.prepared.brand, request.prefix
    )
    plan = plan_render(services, workspace_id, request.prepared.edit, request.prefix)
    return {**plan, "project_id": request.project_id, "revision": request.revision, "brand": brand}


# ------------------------------------------------------------------ queueing


def _origin() -> dict[str, str] | None:
    found = {**current_trace_context()}
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if isinstance(request_id, str):
        found["request_id"] = request_id
    return found or None


def render_labels(render_id: str, tags: Sequence[str], edit: Edit) -> list[RenderLabel]:
    """What analytics groups the render by that it can have several of: its campaign tags and
    its outputs' formats (a render making an MP4 and a WebM counts in both groups)."""
    formats = dict.fromkeys(str(o.format) for o in edit.outputs)
    return [RenderLabel(render_id=render_id, kind="tag", value=t) for t in dict.fromkeys(tags)] + [
        RenderLabel(render_id=render_id, kind="format", value=f) for f in formats
    ]


def enqueue_render(
    db: Session,
    services: Services,
    principal: Principal,
    document: dict[str, Any],
    *,
    edit: Edit | None = None,
    pointer_prefix: str = "/edit",
    project_id: str | None = None,
    revision: int | None = None,
    metadata: dict[str, Any] | None = None,
    template_id: str | None = None,
    template_version: int | None = None,
    locale: str | None = None,
    tags: Sequence[str] = (),
    priority: int = 0,
    batch_id: str | None = None,
    commit: bool = True,
    prepared: PreparedEdit | None = None,
    require_approval: bool = False,
    purpose: str = "draft",
) -> Render:
    """Queue a render of ``document`` (an edit document) and return it: what ``POST /v1/renders``
    does once it knows the edit. ``edit`` is the document already checked with
    ``validate_service_edit`` (checked here when None; problems raise ``edit-invalid`` with
    pointers ``#<pointer_prefix>…``). With ``commit=False`` the caller commits (several renders in
    one transaction, or with other rows) and then wakes the worker (``services.worker.wake()``).
    ``prepared``: the edit as :func:`prepare_service_edit` made it, brand kit included (a template
    fills its brand placeholders itself, so the document is not resolved again).
    ``tags``: campaign tags (analytics groups by them); ``batch_id``: the batch queueing it.
    ``require_approval``: the render waits for its speech captions' transcripts to be approved.
    ``priority``: before creation order within the workspace's queue (see :mod:`reelforge.jobs.queue`)."""
    # The day's render seconds: once spent, no new render (429 render-budget-exhausted).
    check_render_budget(db, principal.workspace_id)
    brand = None
    if prepared is not None:
        document, edit, brand = dict(prepared.document), prepared.edit, prepared.brand
    else:
        # A brand kit's placeholders are filled now, from its current version (for the locale),
        # and every asset is pinned to a version: the render stores the filled, pinned edit, so
        # later kit changes and new asset versions do not alter it.
        prepared = _prepare(
            document, db, principal.workspace_id, pointer_prefix, project_id, revision, locale
        )
        document, edit, brand = prepared.document, prepared.edit, prepared.brand
    refuse_unapproved(prepared, purpose, pointer_prefix)
    meta = dict(metadata or {})
    if BRAND_META in meta:
        raise _invalid(
            [
                {
                    "pointer": "#/metadata/" + BRAND_META,
                    "code": "reserved",
                    "detail": f"`{BRAND_META}` is reserved for the brand kit the render used",
                }
            ]
        )
    # The workspace's compliance level: a `block` refuses here (422), a `warn` keeps the findings.
    brand_record = check_before_render(
        db, services.storage, principal.workspace_id, edit, brand, pointer_prefix
    )
    if brand_record is not None:
        meta[BRAND_META] = brand_record
    render = Render(
        id=new_id("rnd"),
        seq=next_seq(db),
        priority=priority,
        workspace_id=principal.workspace_id,
        project_id=project_id,
        revision=revision,
        edit=document,
        state="queued",
        meta=meta,
        template_id=template_id,
        template_version=template_version,
        locale=locale,
        tags=list(dict.fromkeys(tags)),
        batch_id=batch_id,
        # The request's id and trace go on in the worker's log lines and spans.
        origin=_origin(),
        asset_versions=[r.as_json() for r in prepared.resolutions],
        purpose=purpose,
    )
    db.add(render)
    db.flush()  # the render row first: render_assets references it
    db.add_all(render_labels(render.id, render.tags, edit))
    # Which assets it reads, so deleting one is refused while the render may still need it.
    referenced = asset_ids_in(document)
    db.add_all(RenderAsset(render_id=render.id, asset_id=a) for a in sorted(referenced))
    db.flush()
    # An asset deleted between validation and now would leave the render without its file. The
    # shared lock waits for a deletion in flight (which holds the row FOR UPDATE) and keeps new
    # ones out until this commit, after which they see the render and refuse (SQLite: this
    # transaction already holds the write lock, so no deletion runs meanwhile).
    needed = {named for named in map(asset_id_of, collect_sources(edit)) if named is not None}
    present = (
        set(
            db.scalars(
                select(Asset.id)
                .where(Asset.id.in_(needed), Asset.workspace_id == principal.workspace_id)
                .with_for_update(read=True)
            )
        )
        if needed
        else set()
    )
    if needed - present:
        db.rollback()
        # Names them, as edit-invalid.
        _prepare(document, db, principal.workspace_id, pointer_prefix, project_id, revision)
        raise Conflict("an asset of the edit was deleted meanwhile; try again")
    if require_approval:
        from .transcripts import hold_for_approval  # here: transcripts reaches renders through imports

        hold_for_approval(db, services, render, edit)
    record_render_event(db, render, "render.queued", queue_positions(db, [render]).get(render.id))
    if commit:
        db.commit()
        services.wake_renders()
    return render


class Stage(Protocol):
    """Where an answer is kept to replay for a repeated request (an ``Idempotency-Key``)."""

    def stage(
        self,
        db: Session,
        body: Mapping[str, Any] | bytes,
        *,
        status: int,
        headers: Mapping[str, str] | None,
        secret: bool = False,
    ) -> None: ...


class _Headers(Protocol):
    def __setitem__(self, key: str, value: str) -> None: ...


class Answer(Protocol):
    """The response being made: its headers."""

    @property
    def headers(self) -> _Headers: ...


def queued_answer(
    db: Session,
    services: Services,
    stage: Stage,
    response: Answer,
    render: Render,
    webhook_secret: str | None = None,
) -> dict[str, Any]:
    """The answer to a render queued with ``commit=False`` (202 with ``Location``): staged for
    replay and committed with the render, then the worker is woken. ``webhook_secret``: the
    signing secret of the render's one-off callback, shown in this answer only (and stored
    encrypted for an idempotent replay)."""
    location = f"{services.settings.public_url.rstrip('/')}/v1/renders/{render.id}"
    created = render_json(render, {}, queue_positions(db, [render]).get(render.id))
    if webhook_secret is not None:
        created["webhook_secret"] = webhook_secret
        stage.stage(db, created, status=202, headers={"Location": location}, secret=True)
    else:
        stage.stage(db, created, status=202, headers={"Location": location})  # commits with the render
    db.commit()
    services.wake_renders()
    response.headers["Location"] = location
    return created


# ------------------------------------------------------------------ reads

_RENDERS = Render.__table__.c


class RenderRow(NamedTuple):
    """A read row with plain attributes (a SQLAlchemy Row's named access costs ~0.5 µs each):
    what ``render_json`` reads, and the queue position."""

    id: str
    workspace_id: str
    state: str
    progress: float
    eta_seconds: float | None
    duration: float | None
    project_id: str | None
    revision: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    cancel_requested: bool
    error: dict[str, Any] | None
    outputs: list[Any]
    meta: dict[str, Any]
    template_id: str | None
    template_version: int | None
    locale: str | None
    tags: list[Any]
    awaiting_approval: bool
    asset_versions: list[Any]
    purpose: str
    priority: int
    queue_position: int | None


_READ_FIELDS = RenderRow._fields[:-1]
_JSON_FIELDS = ("error", "outputs", "meta", "tags", "asset_versions")
_JSON_INDEXES = tuple(_READ_FIELDS.index(c) for c in _JSON_FIELDS)
# What the render resource shows, without the edit (which can be large), in one round trip.
_RENDER_COLUMNS = (
    *(raw_json_column(_RENDERS[c]) if c in _JSON_FIELDS else _RENDERS[c] for c in _READ_FIELDS),
    queue_position(),
)
_READ_RENDER = select(*_RENDER_COLUMNS).where(
    _RENDERS.id == bindparam("id"), _RENDERS.workspace_id == bindparam("workspace_id")
)


def _read_rows(conn: Connection, query: Select[Any], params: dict[str, Any] | None = None) -> list[RenderRow]:
    """Rows of ``_RENDER_COLUMNS`` as :class:`RenderRow` (plain attributes, JSON decoded at once)."""
    return [
        RenderRow._make(r) for r in decode_json_fields(conn.execute(query, params or {}).all(), _JSON_INDEXES)
    ]


def _outputs_of(conn: Connection, rows: list[RenderRow]) -> OutputAssets:
    """The output assets of finished renders (none to read for the others)."""
    if not any(row.outputs for row in rows):
        return {}
    with Session(conn) as db:
        return output_assets(db, cast(list[Render], rows))


def represent(conn: Connection, rows: list[RenderRow]) -> list[dict[str, Any]]:
    """The render resource of each row (their outputs read in one query)."""
    assets = _outputs_of(conn, rows)
    # A row has the attributes render_json reads; it is no ORM object.
    return [render_json(cast(Render, row), assets, row.queue_position) for row in rows]


def read_render(conn: Connection, workspace_id: str, render_id: str) -> dict[str, Any]:
    """The render resource; 404 for a render the workspace does not have."""
    found = _read_rows(conn, _READ_RENDER, {"id": render_id, "workspace_id": workspace_id})
    if not found:
        raise NotFound(f"no render {render_id}")
    return represent(conn, found)[0]


def render_edit(conn: Connection, workspace_id: str, render_id: str) -> Any:
    """The edit the render was made from, as recorded when it was queued: brand placeholders
    filled and every asset pinned to the version it resolved to, so rendering it again makes
    the same files whatever versions arrived since. 404 for a render the workspace lacks."""
    found = conn.execute(
        select(_RENDERS.edit).where(_RENDERS.id == render_id, _RENDERS.workspace_id == workspace_id)
    ).first()
    if found is None:
        raise NotFound(f"no render {render_id}")
    return found[0]


def render_log(conn: Connection, workspace_id: str, render_id: str) -> str:
    """What FFmpeg wrote to stderr during the render's last attempt, bounded (the first and last
    lines) and with the server's paths redacted, as the render kept it when it ended; empty
    before that. 404 for a render the workspace does not have."""
    found = conn.execute(
        select(_RENDERS.ffmpeg_log).where(_RENDERS.id == render_id, _RENDERS.workspace_id == workspace_id)
    ).first()
    if found is None:
        raise NotFound(f"no render {render_id}")
    return str(found.ffmpeg_log or "")


def list_renders(
    conn: Connection,
    workspace_id: str,
    *,
    state: RenderState | None = None,
    project_id: str | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int,
) -> list[RenderRow]:
    """The workspace's renders, newest first, those older than ``before`` (``created_at``, id)
    if given, at most ``limit``."""
    query = select(*_RENDER_COLUMNS).where(_RENDERS.workspace_id == workspace_id)
    if state is not None:
        query = query.where(_RENDERS.state == state)
    if project_id is not None:
        query = query.where(_RENDERS.project_id == project_id)
    if before is not None:
        created, row_id = before
        query = query.where(
            or_(_RENDERS.created_at < created, and_(_RENDERS.created_at == created, _RENDERS.id < row_id))
        )
    return _read_rows(conn, query.order_by(_RENDERS.created_at.desc(), _RENDERS.id.desc()).limit(limit))


# ------------------------------------------------------------------ cancelling


def cancel_render(db: Session, workspace_id: str, render_id: str) -> tuple[dict[str, Any], bool]:
    """Cancel a render: a queued one at once; a running one is asked to stop (its worker ends
    FFmpeg within seconds and records ``cancelled``; one already ``finishing`` completes). The
    render resource, and whether it is still stopping. A finished render raises ``conflict``."""
    render = owned(db, Render, render_id, workspace_id, "render")
    if render.state not in TERMINAL_STATES:
        # Queued: cancelled at once. Conditional, since a worker may claim it right now.
        queued = rows_updated(
            db,
            update(Render)
            .where(Render.id == render_id, Render.state == "queued")
            .values(state="cancelled", cancel_requested=True, finished_at=utcnow(), eta_seconds=None),
        )
        if queued == 1:
            db.refresh(render)
            record_render_event(db, render, "render.cancelled")
            settle_batches(db, [render_id])  # it may have been its batch's last render
        running = None
        if queued != 1:
            # Running: the worker sees the flag with its next heartbeat and stops FFmpeg.
            running = rows_updated(
                db,
                update(Render)
                .where(Render.id == render_id, Render.state.in_(RUNNING_STATES))
                .values(cancel_requested=True),
            )
        db.commit()
        db.refresh(render)
        if running is None or running == 1:
            body = render_json(
                render, output_assets(db, [render]), queue_positions(db, [render]).get(render.id)
            )
            return body, running == 1
    raise Conflict(f"the render already {render.state}; there is nothing to cancel", state=render.state)
