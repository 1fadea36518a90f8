"""Renders: create one from a project revision or an inline edit, follow it, cancel it.

``POST /v1/renders`` answers at once (202) with the render resource; the worker takes queued
renders in creation order. ``dry_run`` validates and plans instead, creating nothing (200).
The operations are :mod:`reelforge.services.renders`; this module parses, calls and represents.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import ConfigDict, Field
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from reelforge.jobs.queue import RenderState
from reelforge.services import destinations, imports, renders, webhooks
from reelforge.services.context import Services
from reelforge.services.inputs import InputModel

from .. import examples as ex
from .. import examples_analytics as ex_log
from .. import examples_asset_versions as ex_versions
from ..auth import Principal, check_scope, require
from ..deps import get_db, get_services, services_of
from ..idempotency import Idempotency, idempotency
from ..numbers import INTEGER_MAX
from ..pagination import decode_cursor, list_body
from ..params import CampaignTags, Priority
from ..responses import conditional_json, json_bytes, json_response, page_of, read_db

router = APIRouter(tags=["renders"])


class RenderCreate(InputModel):
    """Give ``project_id`` (optionally a ``revision``; default the current one) or an inline ``edit``."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.RENDER_FROM_PROJECT, ex.RENDER_INLINE]})
    project_id: str | None = Field(None, max_length=40)
    revision: int | None = Field(None, ge=1, le=INTEGER_MAX)
    edit: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free JSON kept with the render (at most 16 KiB)."""
    webhook_url: str | None = Field(None, min_length=1, max_length=2048)
    """A one-off callback: this render's events (and its files' deliveries) are POSTed there,
    signed like webhook endpoints with a secret returned once as ``webhook_secret``."""
    destinations: list[str] = Field(default_factory=list, max_length=20)
    """Destinations (``dst_…``) its files are delivered to once it succeeds, besides the
    workspace's ``auto`` ones."""
    tags: CampaignTags
    """Campaign tags (at most 20): `GET /v1/analytics/renders?group_by=tag` groups by them."""
    priority: Priority = 0
    """`high` (10), `normal` (0, the default), `low` (-10) or an integer from -100 to 100: within
    the workspace, queued renders start by priority, then in creation order; across
    workspaces, the ones running fewest renders go first whatever the priority."""
    dry_run: bool = False
    """Validate and return the plan; create nothing."""
    require_approval: bool = False
    """Wait (queued, `awaiting_approval`) until the transcripts of the assets its speech
    captions (`transcribe`) use are approved; a missing transcript is started."""
    purpose: Literal["publication", "draft", "preview"] | None = None
    """``publication`` refuses media that is not approved (422 ``unapproved-media``, one error
    per place); ``draft`` and ``preview`` may use any version. Default: ``publication`` when the
    installation sets ``REELFORGE_REQUIRE_APPROVED_MEDIA``, else ``draft``."""


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
    purpose = body.purpose or ("publication" if services.settings.require_approved_media else "draft")
    if body.project_id is not None and body.edit is None:
        check_scope(principal, "projects:read")
    if body.edit is not None:
        if imports.names_urls(body.edit):
            check_scope(principal, "assets:write")  # importing a URL creates an asset
        # Sources given as http(s) URLs are imported first (once per URL) and named by asset id;
        # a dry run only checks them and imports nothing.
        body.edit = imports.import_url_sources(
            services, principal.workspace_id, body.edit, dry_run=dry_run or body.dry_run
        )
    request = renders.render_request(
        db,
        principal.workspace_id,
        project_id=body.project_id,
        revision=body.revision,
        edit=body.edit,
        metadata=body.metadata,
        purpose=purpose,
    )
    if dry_run or body.dry_run:
        response.status_code = 200
        return renders.plan_request(db, services, principal.workspace_id, request)
    render = renders.enqueue_render(
        db,
        services,
        principal,
        request.document,
        prepared=request.prepared,
        pointer_prefix=request.prefix,
        project_id=request.project_id,
        revision=request.revision,
        metadata=body.metadata,
        tags=body.tags,
        priority=body.priority,
        commit=False,
        require_approval=body.require_approval,
        purpose=purpose,
    )
    if body.destinations:
        destinations.attach_to_render(db, principal.workspace_id, render.id, body.destinations)
    secret = None
    if body.webhook_url is not None:
        secret = webhooks.create_render_callback(
            db, services, render, body.webhook_url, held=principal.scopes
        )
    return renders.queued_answer(db, services, idem, response, render, webhook_secret=secret)


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
    before = decode_cursor(services_of(request).secrets.cursor_key, cursor, filters) if cursor else None

    def read(conn: Connection) -> bytes:
        found = renders.list_renders(
            conn, principal.workspace_id, state=state, project_id=project_id, before=before, limit=limit + 1
        )
        rows, next_cursor, link = page_of(request, found, limit, filters)
        headers.update(link)
        return json_bytes(list_body(request, renders.represent(conn, rows), next_cursor))

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

    def read(conn: Connection) -> bytes:
        return json_bytes(renders.read_render(conn, principal.workspace_id, render_id))

    # A strong ETag of the representation: pollers can ask "changed?" with If-None-Match.
    return conditional_json(request, await read_db(request, read))


@router.get(
    "/v1/renders/{render_id}/edit",
    summary="The edit a render was made from, versions pinned",
    responses=ex_versions.RENDER_EDIT_RESPONSES,
)
async def get_render_edit(
    render_id: str, request: Request, principal: Principal = Depends(require("renders:read"))
) -> Response:
    """The edit as recorded when the render was queued: brand placeholders filled, and every
    asset named by the version it resolved to (`ast_…@3`). Render it again (`POST /v1/renders`
    with it as `edit`) to make the same files, whatever versions arrived since."""

    def read(conn: Connection) -> bytes:
        return json_bytes(renders.render_edit(conn, principal.workspace_id, render_id))

    return conditional_json(request, await read_db(request, read))


@router.get(
    "/v1/renders/{render_id}/log",
    summary="FFmpeg's log of a render",
    responses=ex_log.RENDER_LOG_RESPONSES,
    response_class=PlainTextResponse,
)
async def get_render_log(
    render_id: str, request: Request, principal: Principal = Depends(require("renders:read"))
) -> Response:
    """What FFmpeg wrote to stderr while the render ran (its last attempt), as `text/plain`: kept
    when the render ends (empty before), bounded to 256 KiB (the first and the last lines, with
    a line saying how many were left out between them). Server paths are redacted: an input
    shows as its asset id, scratch files relative to the render's directory, any other path as
    its last part."""

    def read(conn: Connection) -> str:
        return renders.render_log(conn, principal.workspace_id, render_id)

    return PlainTextResponse(await read_db(request, read))


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
    body, stopping = renders.cancel_render(db, principal.workspace_id, render_id)
    if stopping:
        response.status_code = 202
    return body
