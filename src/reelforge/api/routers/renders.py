"""Renders: create one from a project revision or an inline edit, follow it, cancel it.

``POST /v1/renders`` answers at once (202) with the render resource; the worker takes queued
renders in creation order. ``dry_run`` validates and plans instead, creating nothing (200).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, cast

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Select, and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from reelforge.db.batches import settle_batches
from reelforge.db.brands import BRAND_META
from reelforge.db.models import Asset, Project, Render, RenderAsset, new_id, utcnow
from reelforge.edit.errors import EditError
from reelforge.edit.models import Edit
from reelforge.jobs.queue import RUNNING_STATES, TERMINAL_STATES, queue_positions, rows_updated
from reelforge.media.resolver import AssetResolver, asset_ids_in, is_asset_id
from reelforge.render.compile import PlannedOutput, RenderPlan
from reelforge.render.engine import collect_sources, plan_edit
from reelforge.representations import OutputAssets, output_assets, record_render_event, render_json
from reelforge.services.context import Services, owned

from .. import examples as ex
from ..auth import Principal, check_scope, require
from ..brands import check_before_render
from ..deps import get_db, get_services, services_of
from ..edits import PreparedEdit, prepare_service_edit
from ..idempotency import Idempotency, idempotency
from ..pagination import decode_cursor, list_body
from ..problems import ApiError
from ..responses import (
    conditional_json,
    decode_json_fields,
    json_bytes,
    json_response,
    page_of,
    raw_json_column,
    read_db,
)
from .projects import PROJECTS

router = APIRouter(tags=["renders"])

RenderState = Literal["queued", "preparing", "rendering", "finishing", "succeeded", "failed", "cancelled"]
MAX_METADATA_BYTES = 16 * 1024


class RenderCreate(BaseModel):
    """Give ``project_id`` (optionally a ``revision``; default the current one) or an inline ``edit``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [ex.RENDER_FROM_PROJECT, ex.RENDER_INLINE]}
    )
    project_id: str | None = Field(None, max_length=40)
    revision: int | None = Field(None, ge=1)
    edit: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free JSON kept with the render (at most 16 KiB)."""
    dry_run: bool = False
    """Validate and return the plan; create nothing."""


# ------------------------------------------------------------------ representation
# render_json and output_assets live in reelforge.representations: the worker records the same
# representation in its events.


def _one_json(db: Session, render: Render) -> dict[str, Any]:
    return render_json(render, output_assets(db, [render]), queue_positions(db, [render]).get(render.id))


def _render(db: Session, principal: Principal, render_id: str) -> Render:
    return owned(db, Render, render_id, principal.workspace_id, "render")


_RENDERS = Render.__table__.c
_QUEUED = Render.__table__.alias("ahead")


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
    queue_position: int | None


_READ_FIELDS = RenderRow._fields[:-1]
_JSON_FIELDS = ("error", "outputs", "meta")
_JSON_INDEXES = tuple(_READ_FIELDS.index(c) for c in _JSON_FIELDS)
_RENDER_COLUMNS = (
    *(raw_json_column(_RENDERS[c]) if c in _JSON_FIELDS else _RENDERS[c] for c in _READ_FIELDS),
    # queue_positions() of jobs.worker as a subquery, so a read is one round trip.
    case(
        (
            _RENDERS.state == "queued",
            select(func.count() + 1)
            .where(
                _QUEUED.c.state == "queued",
                _QUEUED.c.workspace_id == _RENDERS.workspace_id,
                or_(
                    _QUEUED.c.seq < _RENDERS.seq,
                    (_QUEUED.c.seq == _RENDERS.seq) & (_QUEUED.c.id < _RENDERS.id),
                ),
            )
            .scalar_subquery(),
        ),
        else_=None,
    ).label("queue_position"),
)
_READ_RENDER = select(*_RENDER_COLUMNS).where(
    _RENDERS.id == bindparam("id"), _RENDERS.workspace_id == bindparam("workspace_id")
)


def _read_renders(
    conn: Connection, query: Select[Any], params: dict[str, Any] | None = None
) -> list[RenderRow]:
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


"""What the render resource shows, without the edit (which can be large), as plain rows."""


# ------------------------------------------------------------------ planning


def _invalid(problems: list[dict[str, Any]], detail: str | None = None, **extra: Any) -> ApiError:
    count = len(problems)
    return ApiError(
        "validation-error",
        detail or f"{count} problem{'s' if count != 1 else ''} in the request",
        errors=problems,
        **extra,
    )


def _plan_problems(exc: EditError, prefix: str) -> ApiError:
    count = len(exc.problems)
    return ApiError(
        "edit-invalid",
        f"{count} problem{'s' if count != 1 else ''} in the edit",
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


def _dry_run(services: Services, workspace_id: str, edit: Edit, prefix: str) -> dict[str, Any]:
    resolver = AssetResolver(services.sessions, services.storage, workspace_id)
    with tempfile.TemporaryDirectory(dir=services.storage.temp_dir(), prefix="plan-") as tmp:
        try:
            plan, _ = plan_edit(
                edit, resolver=resolver, out_dir=Path(tmp) / "out", work_dir=Path(tmp) / "work"
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


def _source(
    body: RenderCreate, db: Session, principal: Principal
) -> tuple[dict[str, Any], str | None, int | None, str]:
    """The edit document to render, its project and revision, and where its pointers start."""
    if (body.project_id is None) == (body.edit is None):
        where = "#/edit" if body.edit is not None else "#"
        raise _invalid(
            [
                {
                    "pointer": where,
                    "code": "one_of",
                    "detail": "give either `project_id` or `edit`, not both"
                    if body.edit is not None
                    else "give `project_id` (a stored project) or `edit` (inline)",
                }
            ]
        )
    if body.edit is not None:
        if body.revision is not None:
            raise _invalid(
                [
                    {
                        "pointer": "#/revision",
                        "code": "not_allowed",
                        "detail": "`revision` goes with `project_id`, not with an inline edit",
                    }
                ]
            )
        return body.edit, None, None, "/edit"
    check_scope(principal, "projects:read")
    project = db.get(Project, body.project_id)
    if project is None or project.workspace_id != principal.workspace_id:
        raise ApiError(
            "not-found",
            f"no project {body.project_id}",
            errors=[{"pointer": "#/project_id", "code": "not_found", "detail": "no such project"}],
        )
    revision = PROJECTS.version(db, project, body.revision, "#/revision")
    return dict(revision.edit), project.id, revision.number, ""


def _validate(
    document: dict[str, Any],
    db: Session,
    workspace_id: str,
    prefix: str,
    project_id: str | None,
    revision: int | None,
) -> Edit:
    return _prepare(document, db, workspace_id, prefix, project_id, revision).edit


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
    except ApiError as exc:
        if project_id is None:
            raise
        # The pointers are into the stored revision's edit, not into this request's body.
        raise ApiError(
            exc.code,
            f"revision {revision} of project {project_id}: {exc.detail}",
            errors=exc.errors,
            project_id=project_id,
            revision=revision,
        ) from None


def _next_seq(db: Session) -> int:
    """Queue order: microseconds since the epoch, and after every render already queued.

    Two creations racing may get the same value; the worker breaks ties by id (a ULID, also
    time-ordered), so the order stays total and follows creation."""
    highest = db.scalar(select(func.max(Render.seq))) or 0
    return max(time.time_ns() // 1000, int(highest) + 1)


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
    commit: bool = True,
    prepared: PreparedEdit | None = None,
) -> Render:
    """Queue a render of ``document`` (an edit document) and return it: what ``POST /v1/renders``
    does once it knows the edit. ``edit`` is the document already checked with
    ``validate_service_edit`` (checked here when None; problems raise ``edit-invalid`` with
    pointers ``#<pointer_prefix>…``). With ``commit=False`` the caller commits (several renders in
    one transaction, or with other rows) and then wakes the worker (``services.worker.wake()``).
    ``prepared``: the edit as :func:`prepare_service_edit` made it, brand kit included (a template
    fills its brand placeholders itself, so the document is not resolved again)."""
    brand = None
    if prepared is not None:
        document, edit, brand = dict(prepared.document), prepared.edit, prepared.brand
    elif edit is None or "brand" in document:
        # A brand kit's placeholders are filled now, from its current version (for the locale):
        # the render stores the filled edit, so later kit changes do not alter it.
        prepared = _prepare(
            document, db, principal.workspace_id, pointer_prefix, project_id, revision, locale
        )
        document, edit, brand = prepared.document, prepared.edit, prepared.brand
    meta = dict(metadata or {})
    if BRAND_META in meta:
        raise ApiError(
            "validation-error",
            "1 problem in the request",
            errors=[
                {
                    "pointer": "#/metadata/" + BRAND_META,
                    "code": "reserved",
                    "detail": f"`{BRAND_META}` is reserved for the brand kit the render used",
                }
            ],
        )
    # The workspace's compliance level: a `block` refuses here (422), a `warn` keeps the findings.
    brand_record = check_before_render(
        db, services.storage, principal.workspace_id, edit, brand, pointer_prefix
    )
    if brand_record is not None:
        meta[BRAND_META] = brand_record
    render = Render(
        id=new_id("rnd"),
        seq=_next_seq(db),
        workspace_id=principal.workspace_id,
        project_id=project_id,
        revision=revision,
        edit=document,
        state="queued",
        meta=meta,
        template_id=template_id,
        template_version=template_version,
        locale=locale,
    )
    db.add(render)
    db.flush()  # the render row first: render_assets references it
    # Which assets it reads, so deleting one is refused while the render may still need it.
    referenced = asset_ids_in(document)
    db.add_all(RenderAsset(render_id=render.id, asset_id=a) for a in sorted(referenced))
    db.flush()
    # An asset deleted between validation and now would leave the render without its file. The
    # shared lock waits for a deletion in flight (which holds the row FOR UPDATE) and keeps new
    # ones out until this commit, after which they see the render and refuse (SQLite: this
    # transaction already holds the write lock, so no deletion runs meanwhile).
    needed = {src for src in collect_sources(edit) if is_asset_id(src)}
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
        _validate(document, db, principal.workspace_id, pointer_prefix, project_id, revision)  # names them
        raise ApiError("conflict", "an asset of the edit was deleted meanwhile; try again")
    record_render_event(db, render, "render.queued", queue_positions(db, [render]).get(render.id))
    if commit:
        db.commit()
        if services.worker is not None:
            services.worker.wake()
    return render


# ------------------------------------------------------------------ routes


@router.post(
    "/v1/renders",
    status_code=202,
    summary="Render a project revision or an inline edit",
    responses=ex.CREATE_RENDER_RESPONSES,
)
def create_render(
    body: Annotated[RenderCreate, Body(openapi_examples=ex.CREATE_RENDER_BODY)],
    response: Response,
    dry_run: Annotated[bool, Query(description="validate and return the plan; create nothing")] = False,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("renders:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Queue a render of a stored project (`project_id`, optional `revision`; needs
    `projects:read` too) or of an inline `edit` (exactly one of them). The edit is validated
    first: problems come back as 422 `edit-invalid` with a pointer each (into the body for an
    inline edit, into the revision's edit for a project).

    Answers 202 with the render and `Location`; poll it until `state` is `succeeded`, `failed`
    or `cancelled`. States: `queued` -> `preparing` -> `rendering` (with `progress` 0-100 and
    `eta_seconds`) -> `finishing` -> `succeeded`. Renders start in creation order. A failed
    render's `error` has a stable `code` (`edit_invalid`, `asset_missing`, `media_invalid`,
    `ffmpeg_failed`, `timeout`, `output_invalid`, `interrupted`, `internal`), a `message`, the
    `pointer` of the clip concerned when known, and FFmpeg's last lines in `log_tail`.

    `dry_run` (query or body) validates, probes the assets and returns the plan instead (200),
    creating nothing: duration, outputs (name, size, fps, frames) and `estimated_render_seconds`,
    a heuristic of output pixels x frames at x264's rate for the quality, scaled by CPU cores.
    """
    document, project_id, revision, prefix = _source(body, db, principal)
    if len(json.dumps(body.metadata, default=str)) > MAX_METADATA_BYTES:
        raise _invalid(
            [
                {
                    "pointer": "#/metadata",
                    "code": "too_large",
                    "detail": f"at most {MAX_METADATA_BYTES // 1024} KiB of metadata",
                }
            ]
        )
    prepared = _prepare(document, db, principal.workspace_id, prefix, project_id, revision)
    edit = prepared.edit
    if dry_run or body.dry_run:
        # The brand kit's compliance check too, at the workspace's level, as the render would.
        brand = check_before_render(
            db, services.storage, principal.workspace_id, edit, prepared.brand, prefix
        )
        plan = _dry_run(services, principal.workspace_id, edit, prefix)
        response.status_code = 200
        return {**plan, "project_id": project_id, "revision": revision, "brand": brand}

    render = enqueue_render(
        db,
        services,
        principal,
        document,
        edit=edit,
        pointer_prefix=prefix,
        project_id=project_id,
        revision=revision,
        metadata=body.metadata,
        commit=False,
    )
    return queued_answer(db, services, idem, response, render)


def queued_answer(
    db: Session, services: Services, idem: Idempotency, response: Response, render: Render
) -> dict[str, Any]:
    """The 202 answer to a render queued with ``commit=False``: staged for ``Idempotency-Key``
    and committed with the render, then the worker is woken."""
    location = f"{services.settings.public_url.rstrip('/')}/v1/renders/{render.id}"
    created = render_json(render, {}, queue_positions(db, [render]).get(render.id))
    idem.stage(db, created, status=202, headers={"Location": location})  # commits with the render
    db.commit()
    if services.worker is not None:
        services.worker.wake()
    response.headers["Location"] = location
    return created


@router.get("/v1/renders", summary="List renders, newest first", responses=ex.LIST_RENDERS_RESPONSES)
async def list_renders(
    request: Request,
    state: RenderState | None = None,
    project_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("renders:read")),
) -> Response:
    filters = {"state": state, "project_id": project_id}
    query = select(*_RENDER_COLUMNS).where(_RENDERS.workspace_id == principal.workspace_id)
    if state is not None:
        query = query.where(_RENDERS.state == state)
    if project_id is not None:
        query = query.where(_RENDERS.project_id == project_id)
    if cursor:
        created, row_id = decode_cursor(services_of(request).secrets.cursor_key, cursor, filters)
        query = query.where(
            or_(_RENDERS.created_at < created, and_(_RENDERS.created_at == created, _RENDERS.id < row_id))
        )
    query = query.order_by(_RENDERS.created_at.desc(), _RENDERS.id.desc()).limit(limit + 1)

    def read(conn: Connection) -> bytes:
        rows, next_cursor, link = page_of(request, _read_renders(conn, query), limit, filters)
        headers.update(link)
        assets = _outputs_of(conn, rows)
        data = [render_json(cast(Render, r), assets, r.queue_position) for r in rows]
        return json_bytes(list_body(request, data, next_cursor))

    headers: dict[str, str] = {}
    content = await read_db(request, read)
    return json_response(content, headers=headers)


@router.get(
    "/v1/renders/{render_id}",
    summary="Get a render (poll it: state, progress, ETA, outputs)",
    responses=ex.GET_RENDER_RESPONSES,
)
async def get_render(
    render_id: str, request: Request, principal: Principal = Depends(require("renders:read"))
) -> Response:
    """The render with its state, progress, ETA, times, error and, once it succeeded, its
    outputs as assets (video, poster, thumbnail, subtitles; each probed from the file). Send the
    `ETag` back in `If-None-Match` to get 304 while nothing changed."""
    return await render_response(request, principal.workspace_id, render_id)


async def render_response(request: Request, workspace_id: str, render_id: str) -> Response:
    """``GET /v1/renders/{id}``'s answer; 404
    ``not-found`` for a render the workspace does not have."""

    def read(conn: Connection) -> bytes:
        found = _read_renders(conn, _READ_RENDER, {"id": render_id, "workspace_id": workspace_id})
        if not found:
            raise ApiError("not-found", f"no render {render_id}")
        # A row with the attributes render_json reads, not an ORM object.
        return json_bytes(
            render_json(cast(Render, found[0]), _outputs_of(conn, found), found[0].queue_position)
        )

    # A strong ETag of the representation: pollers can ask "changed?" with If-None-Match.
    return conditional_json(request, await read_db(request, read))


@router.post(
    "/v1/renders/{render_id}/cancel", summary="Cancel a render", responses=ex.CANCEL_RENDER_RESPONSES
)
def cancel_render(
    render_id: str,
    response: Response,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("renders:write")),
) -> dict[str, Any]:
    """A queued render is cancelled at once (200). A running one is asked to stop (202): FFmpeg
    stops within seconds, partial files are removed and the state becomes `cancelled`; one
    already `finishing` completes. A finished render cannot be cancelled (409)."""
    render = _render(db, principal, render_id)
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
        if running is None:
            return _one_json(db, render)
        if running == 1:
            response.status_code = 202
            return _one_json(db, render)
    raise ApiError(
        "conflict", f"the render already {render.state}; there is nothing to cancel", state=render.state
    )
