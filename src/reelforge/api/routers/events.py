"""Events: list and get them, follow them live, and follow one render's progress.

Events come from the outbox (:mod:`reelforge.db.events`): each is written in the same
transaction as the change it reports. ``seq`` orders them; lists page by it and the streams
resume from it.

The two Server-Sent Events streams hold no database connection while idle: they wake when this
process commits an event (:data:`~reelforge.db.events.EVENTS_COMMITTED` sets an asyncio event
on the stream's loop; no polling of the signal) and otherwise look again every ``POLL_SECONDS``,
backing off to ``IDLE_POLL_SECONDS`` while nothing changes (other processes, such as separate
workers, commit too), each look a short query on a pooled connection. Before each look they
check the caller's credential again (the auth cache: a dictionary lookup, a database query at
most every few seconds; a revocation through this process clears it at once), and end when it
was revoked or expired. They also end when the client disconnects or the server shuts down
(sse-starlette watches uvicorn's exit), and send a keep-alive comment every 15 seconds.

What the streams read (the tail of the outbox with its sequence gaps, a render's snapshot) is
:mod:`reelforge.services.events`; here is how they wait and speak.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from reelforge.db.events import EVENTS_COMMITTED, Event
from reelforge.jobs.queue import TERMINAL_STATES
from reelforge.representations import event_json, json_ready
from reelforge.services import events
from reelforge.services.context import Services
from reelforge.services.errors import NotFound

from .. import examples_events as exe
from ..auth import Principal, principal_for, require
from ..deps import ServicesDep, SessionDep
from ..pagination import CreatedGte, CreatedLt, created_between, list_body, page_by_number
from ..problems import ApiError

__all__ = ["router"]

router = APIRouter(tags=["events"])

POLL_SECONDS = 1.0
"""How often a stream looks for events committed by another process, after a change."""
IDLE_POLL_SECONDS = 3.0
"""... and at most this long apart while nothing changes (also how often, at least, the
caller's credential is checked again)."""
PROGRESS_POLL_SECONDS = 0.25
"""How often the progress stream reads its render (progress is written about twice a second)
while it changes; it backs off to ``POLL_SECONDS`` while it does not (a queued render)."""
PING_SECONDS = 15

_SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}

TypeFilter = Annotated[
    list[str] | None,
    Query(
        alias="type",
        description="An event type (`render.succeeded`) or a prefix (`render.*`); repeat it for several "
        "(any may match).",
        max_length=20,
    ),
]


# ------------------------------------------------------------------ list and get


@router.get(
    "/v1/events", summary="List events, newest first, with filters", responses=exe.LIST_EVENTS_RESPONSES
)
def list_events(
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    types: TypeFilter = None,
    resource_id: Annotated[
        str | None, Query(max_length=40, description="Only this resource's events.")
    ] = None,
    created_gte: CreatedGte = None,
    created_lt: CreatedLt = None,
    order: Annotated[
        Literal["desc", "asc"],
        Query(description="`desc` (newest first, the default) or `asc` (oldest first, for catching up)."),
    ] = "desc",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("events:read")),
) -> dict[str, Any]:
    """Every event of the workspace the credential may read (an event about renders needs
    `renders:read` too, about assets `assets:read`, and so on): `render.queued`, `render.started`, `render.succeeded`,
    `render.failed`, `render.cancelled`, `asset.ready`, `asset.updated`, `asset.deleted`,
    `project.created`, `project.updated`, `project.deleted` (and the types other features add;
    ignore types you do not know). `data` is the resource as the API showed it at that moment
    (a project without its edit). Filters combine: `type` (exact or a `prefix.*`, repeatable), `resource_id`,
    `created[gte]`, `created[lt]`. Pages follow the event sequence, so no event is skipped or
    repeated between pages."""
    query = created_between(
        events.events(principal.workspace_id, principal.scopes), Event.created_at, created_gte, created_lt
    )
    query, wanted = events.filtered(query, types, resource_id)
    filters = {
        "type": wanted or None,
        "resource_id": resource_id,
        "order": order,
        "created_gte": json_ready(created_gte),
        "created_lt": json_ready(created_lt),
    }
    rows, next_cursor = page_by_number(
        request,
        response,
        query,
        Event.seq,
        stamp=Event.created_at,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters=filters,
        db=db,
        ascending=order == "asc",
    )
    return list_body(request, [event_json(e) for e in rows], next_cursor)


# ------------------------------------------------------------------ waiting without a connection


class _Commits:
    """Wakes a stream when this process commits an event: ``EVENTS_COMMITTED`` (notified on the
    committing thread) sets an asyncio event on the stream's loop. A commit between two waits is
    not missed: the event stays set until the next wait returns."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def _notify(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            self._loop.call_soon_threadsafe(self._event.set)

    def __enter__(self) -> _Commits:
        EVENTS_COMMITTED.subscribe(self._notify)
        return self

    def __exit__(self, *exc: object) -> None:
        EVENTS_COMMITTED.unsubscribe(self._notify)

    async def wait(self, timeout: float) -> bool:
        """Sleep until a commit or ``timeout``; True when a commit woke it."""
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True


def _bearer(request: Request) -> str:
    return request.headers.get("authorization", "").partition(" ")[2].strip()


async def _still_allowed(services: Services, token: str, principal: Principal, scope: str) -> bool:
    """The stream's credential is still valid, for the same workspace and scope."""
    try:
        now = await principal_for(token, services)
    except ApiError:
        return False
    return now.workspace_id == principal.workspace_id and scope in now.scopes


def _sse(event: str, data: Any, event_id: str | None = None) -> ServerSentEvent:
    return ServerSentEvent(
        json.dumps(json_ready(data), separators=(",", ":")), event=event, id=event_id, sep="\n"
    )


# ------------------------------------------------------------------ the workspace stream


@router.get(
    "/v1/events/stream",
    summary="Follow the workspace's events as they happen (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses=exe.STREAM_EVENTS_RESPONSES,
)
async def stream_events(
    services: ServicesDep,
    request: Request,
    types: TypeFilter = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=64,
            description="Resume after this event (sent by EventSource on reconnect).",
        ),
    ] = None,
    principal: Principal = Depends(require("events:read")),
) -> EventSourceResponse:
    """A `text/event-stream` of new events: each message has `id` (the event id), `event` (its
    type) and `data` (the event as `GET /v1/events/{id}` shows it); only events the credential
    may read, as in the list. Reconnect with
    `Last-Event-ID` to get what you missed (EventSource does this by itself); without it the
    stream starts with events committed from now on. `type` filters as in the list. A `: ping`
    comment every 15 s keeps proxies from closing an idle stream. The stream ends when the
    credential is revoked or expires (noticed within a few seconds)."""
    wanted, _ = events.type_filter(types)
    tail = events.Tail(services, principal.workspace_id, wanted, 0, principal.scopes)
    await run_in_threadpool(tail.start_after, last_event_id.strip() if last_event_id else None)
    token = _bearer(request)

    async def messages() -> AsyncIterator[ServerSentEvent]:
        interval = POLL_SECONDS
        with _Commits() as commits:
            while await _still_allowed(services, token, principal, "events:read"):
                rows = await run_in_threadpool(tail.read)
                for row in rows:
                    yield _sse(row.type, event_json(row), row.id)
                if tail.more:
                    continue
                # Another process's commits are only seen by looking: soon after a change (or
                # while a gap may still fill), less often while the stream is idle.
                interval = POLL_SECONDS if rows or tail.gaps else min(interval * 1.5, IDLE_POLL_SECONDS)
                if await commits.wait(interval):
                    interval = POLL_SECONDS

    return EventSourceResponse(messages(), ping=PING_SECONDS, headers=_SSE_HEADERS, sep="\n")


# The stream's path is matched first: it is declared before `/v1/events/{event_id}`.


@router.get("/v1/events/{event_id}", summary="Get an event", responses=exe.GET_EVENT_RESPONSES)
def get_event(
    event_id: str, db: SessionDep, principal: Principal = Depends(require("events:read"))
) -> dict[str, Any]:
    return event_json(events.event(db, principal.workspace_id, event_id, principal.scopes))


# ------------------------------------------------------------------ one render's progress


@router.get(
    "/v1/renders/{render_id}/progress",
    tags=["renders"],
    summary="Follow a render's state, progress and ETA until it ends (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses=exe.RENDER_PROGRESS_RESPONSES,
)
async def render_progress(
    services: ServicesDep,
    render_id: str,
    request: Request,
    principal: Principal = Depends(require("renders:read")),
) -> EventSourceResponse:
    """A `text/event-stream` of the render as `GET /v1/renders/{id}` shows it: first its current
    state (`event: state`), then a message whenever it changes: `event: state` when `state`
    changes, `event: progress` when only `progress`, `eta_seconds` or the like do (at most about
    four a second). The stream ends after the render reaches `succeeded` (with its outputs),
    `failed` (with its `error`) or `cancelled`; for a finished render that is at once. It
    also ends when the credential is revoked or expires."""
    first = await run_in_threadpool(events.render_snapshot, services, principal.workspace_id, render_id)
    if first is None:
        raise NotFound(f"no render {render_id}")
    token = _bearer(request)

    async def messages() -> AsyncIterator[ServerSentEvent]:
        body: dict[str, Any] | None = first
        previous: dict[str, Any] | None = None
        count = 0
        interval = PROGRESS_POLL_SECONDS
        with _Commits() as commits:
            while body is not None:
                if body != previous:
                    count += 1
                    kind = "state" if previous is None or previous["state"] != body["state"] else "progress"
                    yield _sse(kind, body, str(count))
                    interval = PROGRESS_POLL_SECONDS
                    previous = body
                else:
                    interval = min(interval * 1.5, POLL_SECONDS)
                if body["state"] in TERMINAL_STATES:
                    return
                if await commits.wait(interval):
                    interval = PROGRESS_POLL_SECONDS
                if not await _still_allowed(services, token, principal, "renders:read"):
                    return
                body = await run_in_threadpool(
                    events.render_snapshot, services, principal.workspace_id, render_id
                )

    return EventSourceResponse(messages(), ping=PING_SECONDS, headers=_SSE_HEADERS, sep="\n")
