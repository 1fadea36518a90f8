"""Renders: create one from a project revision or an inline edit, follow it, cancel it.

``POST /v1/renders`` answers at once (202) with the render resource; the worker takes queued
renders in creation order. ``dry_run`` validates and plans instead, creating nothing (200).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reelforge.db.models import Asset, AssetTag, Project, ProjectRevision, Render, RenderAsset, new_id, utcnow
from reelforge.jobs.render_job import (
    RUNNING_STATES,
    TERMINAL_STATES,
    client_metadata,
    output_refs,
    rows_updated,
)
from reelforge.media.resolver import AssetResolver, asset_ids_in, is_asset_id
from reelforge.render.compile import PlannedOutput, RenderPlan
from reelforge.render.engine import collect_sources, plan_edit
from reelforge.spec.errors import EditError
from reelforge.spec.models import Edit

from .. import examples as ex
from ..auth import Principal, check_scope, require
from ..edits import validate_service_edit
from ..pagination import list_body, page
from ..problems import ApiError
from ..services import Services, get_db, get_services, json_ready
from .assets import asset_json

router = APIRouter(tags=["renders"])

RenderState = Literal["queued", "preparing", "rendering", "finishing", "succeeded", "failed", "cancelled"]
MAX_METADATA_BYTES = 16 * 1024


class RenderCreate(BaseModel):
    """Give ``project_id`` (optionally a ``revision``; default the current one) or an inline ``edit``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [ex.RENDER_FROM_PROJECT, ex.RENDER_INLINE]})
    project_id: str | None = Field(None, max_length=40)
    revision: int | None = Field(None, ge=1)
    edit: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free JSON kept with the render (at most 16 KiB)."""
    dry_run: bool = False
    """Validate and return the plan; create nothing."""


# ------------------------------------------------------------------ representation

_Outputs = dict[str, tuple[Asset, list[str]]]


def _output_json(ref: dict[str, Any], asset: Asset, tags: list[str]) -> dict[str, Any]:
    # The asset resource as GET /v1/assets/{id} shows it, plus what it is to this render.
    return {**asset_json(asset, tags), "role": ref.get("role"), "output": ref.get("output")}


def _render_seconds(render: Render) -> float | None:
    if render.started_at is None or render.finished_at is None:
        return None
    return round((render.finished_at - render.started_at).total_seconds(), 3)


def render_json(render: Render, assets: _Outputs) -> dict[str, Any]:
    """The render resource; ``assets`` holds output assets and their tags by id (an output
    deleted since is left out)."""
    outputs = [_output_json(ref, *assets[ref["asset_id"]]) for ref in output_refs(render)
               if ref.get("asset_id") in assets]
    return {
        "id": render.id, "object": "render", "state": render.state, "progress": round(render.progress or 0.0, 1),
        "eta_seconds": render.eta_seconds, "duration": render.duration, "project_id": render.project_id,
        "revision": render.revision, "created_at": render.created_at, "started_at": render.started_at,
        "finished_at": render.finished_at, "render_seconds": _render_seconds(render), "attempts": render.attempts,
        "cancel_requested": render.cancel_requested, "error": render.error, "outputs": outputs,
        "metadata": client_metadata(render),
    }


def _output_assets(db: Session, renders: Sequence[Render]) -> _Outputs:
    ids = {ref["asset_id"] for r in renders for ref in output_refs(r) if isinstance(ref.get("asset_id"), str)}
    if not ids:
        return {}
    tags: dict[str, list[str]] = {}
    for asset_id, tag in db.execute(select(AssetTag.asset_id, AssetTag.tag).where(AssetTag.asset_id.in_(ids))):
        tags.setdefault(asset_id, []).append(tag)
    return {a.id: (a, tags.get(a.id, [])) for a in db.scalars(select(Asset).where(Asset.id.in_(ids)))}


def _one_json(db: Session, render: Render) -> dict[str, Any]:
    return render_json(render, _output_assets(db, [render]))


def _render(db: Session, principal: Principal, render_id: str) -> Render:
    render = db.get(Render, render_id)
    if render is None or render.workspace_id != principal.workspace_id:
        raise ApiError("not-found", f"no render {render_id}")
    return render


# ------------------------------------------------------------------ planning


def _invalid(problems: list[dict[str, Any]], detail: str | None = None, **extra: Any) -> ApiError:
    count = len(problems)
    return ApiError("validation-error", detail or f"{count} problem{'s' if count != 1 else ''} in the request",
                    errors=problems, **extra)


def _plan_problems(exc: EditError, prefix: str) -> ApiError:
    count = len(exc.problems)
    return ApiError("edit-invalid", f"{count} problem{'s' if count != 1 else ''} in the edit",
                    errors=[{"pointer": "#" + prefix + p.pointer, "detail": p.message, "code": p.code}
                            for p in exc.problems])


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
            rate = _PIXELS_PER_SECOND_2_CORES[output.quality] * _CODEC_FACTOR.get(output.codec or "", 1.0) * scale
        seconds += planned.width * planned.height * planned.frames / rate
        seconds += _STILL_SECONDS * sum(p is not None for p in (planned.poster, planned.thumbnail))
    return round(seconds, 1)


def _planned_json(planned: PlannedOutput) -> dict[str, Any]:
    out = planned.output
    return {
        "name": planned.path.name, "format": out.format, "width": planned.width, "height": planned.height,
        "fps": float(planned.fps), "fps_exact": f"{planned.fps.numerator}/{planned.fps.denominator}",
        "frames": planned.frames, "duration": round(float(planned.duration), 3), "quality": out.quality,
        "audio": out.audio and out.is_video and out.format != "gif",
        "poster": planned.poster.name if planned.poster else None,
        "thumbnail": planned.thumbnail.name if planned.thumbnail else None,
        "sidecars": [p.name for p in planned.sidecars],
    }


def _dry_run(services: Services, workspace_id: str, edit: Edit, prefix: str) -> dict[str, Any]:
    resolver = AssetResolver(services.sessions, services.storage, workspace_id)
    with tempfile.TemporaryDirectory(dir=services.storage.temp_dir(), prefix="plan-") as tmp:
        try:
            plan, _ = plan_edit(edit, resolver=resolver, out_dir=Path(tmp) / "out", work_dir=Path(tmp) / "work")
        except EditError as exc:
            raise _plan_problems(exc, prefix) from None
    return {
        "object": "render_plan", "valid": True, "duration": round(float(plan.duration), 3),
        "outputs": [_planned_json(p) for p in plan.outputs],
        "estimated_render_seconds": estimate_render_seconds(plan),
        "estimate": "output pixels x frames at x264's rate for the quality, scaled by CPU cores; "
                    "detailed footage takes about this long, flat graphics less",
    }


def _source(body: RenderCreate, db: Session, principal: Principal) -> tuple[dict[str, Any], str | None, int | None, str]:
    """The edit document to render, its project and revision, and where its pointers start."""
    if (body.project_id is None) == (body.edit is None):
        where = "#/edit" if body.edit is not None else "#"
        raise _invalid([{"pointer": where, "code": "one_of", "detail": "give either `project_id` or `edit`, not both"
                         if body.edit is not None else "give `project_id` (a stored project) or `edit` (inline)"}])
    if body.edit is not None:
        if body.revision is not None:
            raise _invalid([{"pointer": "#/revision", "code": "not_allowed",
                             "detail": "`revision` goes with `project_id`, not with an inline edit"}])
        return body.edit, None, None, "/edit"
    check_scope(principal, "projects:read")
    project = db.get(Project, body.project_id)
    if project is None or project.workspace_id != principal.workspace_id:
        raise ApiError("not-found", f"no project {body.project_id}",
                       errors=[{"pointer": "#/project_id", "code": "not_found", "detail": "no such project"}])
    number = body.revision or project.revision
    revision = db.scalar(select(ProjectRevision).where(ProjectRevision.project_id == project.id,
                                                       ProjectRevision.number == number))
    if revision is None:
        raise ApiError("not-found", f"project {project.id} has no revision {number} (the latest is {project.revision})",
                       errors=[{"pointer": "#/revision", "code": "not_found", "detail": f"no revision {number}"}])
    return dict(revision.edit), project.id, number, ""


def _validate(document: dict[str, Any], db: Session, workspace_id: str, prefix: str,
              project_id: str | None, revision: int | None) -> Edit:
    try:
        return validate_service_edit(document, db, workspace_id, pointer_prefix=prefix)
    except ApiError as exc:
        if project_id is None:
            raise
        # The pointers are into the stored revision's edit, not into this request's body.
        raise ApiError(exc.code, f"revision {revision} of project {project_id}: {exc.detail}", errors=exc.errors,
                       project_id=project_id, revision=revision) from None


def _next_seq(db: Session) -> int:
    """Queue order: microseconds since the epoch, and after every render already queued.

    Two creations racing may get the same value; the worker breaks ties by id (a ULID, also
    time-ordered), so the order stays total and follows creation."""
    highest = db.scalar(select(func.max(Render.seq))) or 0
    return max(time.time_ns() // 1000, int(highest) + 1)


# ------------------------------------------------------------------ routes


@router.post("/v1/renders", status_code=202, summary="Render a project revision or an inline edit",
             responses=ex.CREATE_RENDER_RESPONSES)
def create_render(
    body: Annotated[RenderCreate, Body(openapi_examples=ex.CREATE_RENDER_BODY)],
    response: Response,
    dry_run: Annotated[bool, Query(description="validate and return the plan; create nothing")] = False,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("renders:write")),
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
        raise _invalid([{"pointer": "#/metadata", "code": "too_large",
                         "detail": f"at most {MAX_METADATA_BYTES // 1024} KiB of metadata"}])
    edit = _validate(document, db, principal.workspace_id, prefix, project_id, revision)
    if dry_run or body.dry_run:
        plan = _dry_run(services, principal.workspace_id, edit, prefix)
        response.status_code = 200
        return {**plan, "project_id": project_id, "revision": revision}

    render = Render(id=new_id("rnd"), seq=_next_seq(db), workspace_id=principal.workspace_id, project_id=project_id,
                    revision=revision, edit=document, state="queued", meta=dict(body.metadata))
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
    present = set(db.scalars(select(Asset.id).where(Asset.id.in_(needed), Asset.workspace_id == principal.workspace_id)
                             .with_for_update(read=True))) if needed else set()
    if needed - present:
        db.rollback()
        _validate(document, db, principal.workspace_id, prefix, project_id, revision)  # names them with pointers
        raise ApiError("conflict", "an asset of the edit was deleted meanwhile; try again")
    db.commit()
    if services.worker is not None:
        services.worker.wake()
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/renders/{render.id}"
    return render_json(render, {})


@router.get("/v1/renders", summary="List renders, newest first", responses=ex.LIST_RENDERS_RESPONSES)
def list_renders(
    request: Request,
    response: Response,
    state: RenderState | None = None,
    project_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("renders:read")),
) -> dict[str, Any]:
    query = select(Render).where(Render.workspace_id == principal.workspace_id)
    if state is not None:
        query = query.where(Render.state == state)
    if project_id is not None:
        query = query.where(Render.project_id == project_id)
    rows, nxt = page(request, response, query, Render, key=services.secrets.cursor_key, limit=limit, cursor=cursor,
                     filters={"state": state, "project_id": project_id}, db=db)
    assets = _output_assets(db, rows)
    return list_body(request, [render_json(r, assets) for r in rows], nxt)


@router.get("/v1/renders/{render_id}", summary="Get a render (poll it: state, progress, ETA, outputs)",
            responses=ex.GET_RENDER_RESPONSES)
def get_render(render_id: str, request: Request, db: Session = Depends(get_db),
               principal: Principal = Depends(require("renders:read"))) -> Response:
    """The render with its state, progress, ETA, times, error and, once it succeeded, its
    outputs as assets (video, poster, thumbnail, subtitles; each probed from the file). Send the
    `ETag` back in `If-None-Match` to get 304 while nothing changed."""
    body = json_ready(_one_json(db, _render(db, principal, render_id)))
    # A strong ETag of the representation: pollers can ask "changed?" with If-None-Match.
    etag = '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32] + '"'
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(body, headers={"ETag": etag})


@router.post("/v1/renders/{render_id}/cancel", summary="Cancel a render", responses=ex.CANCEL_RENDER_RESPONSES)
def cancel_render(render_id: str, response: Response, db: Session = Depends(get_db),
                  principal: Principal = Depends(require("renders:write"))) -> dict[str, Any]:
    """A queued render is cancelled at once (200). A running one is asked to stop (202): FFmpeg
    stops within seconds, partial files are removed and the state becomes `cancelled`; one
    already `finishing` completes. A finished render cannot be cancelled (409)."""
    render = _render(db, principal, render_id)
    if render.state not in TERMINAL_STATES:
        # Queued: cancelled at once. Conditional, since a worker may claim it right now.
        queued = rows_updated(db, update(Render).where(Render.id == render_id, Render.state == "queued")
                            .values(state="cancelled", cancel_requested=True, finished_at=utcnow(), eta_seconds=None))
        running = None
        if queued != 1:
            # Running: the worker sees the flag with its next heartbeat and stops FFmpeg.
            running = rows_updated(db, update(Render).where(Render.id == render_id, Render.state.in_(RUNNING_STATES))
                                 .values(cancel_requested=True))
        db.commit()
        db.refresh(render)
        if running is None:
            return _one_json(db, render)
        if running == 1:
            response.status_code = 202
            return _one_json(db, render)
    raise ApiError("conflict", f"the render already {render.state}; there is nothing to cancel", state=render.state)
