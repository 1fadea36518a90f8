"""OpenAPI examples for events, the progress and event streams, and the audit log.

Every value in ``recorded/events.json`` was recorded from a running service (a worker rendering
real media with FFmpeg, real keys and deletes): ``scripts/record_examples.py`` records them
again. The arrangement per operation follows
:mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import recorded, schemas

# Recorded from a running service (`scripts/record_examples.py`): see recorded/events.json.
_RECORDED = recorded.load("events")
ERROR_SCOPE_EVENTS_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_EVENTS_READ"]
ERROR_SCOPE_ADMIN: dict[str, Any] = _RECORDED["ERROR_SCOPE_ADMIN"]
ERROR_EVENT_TYPE: dict[str, Any] = _RECORDED["ERROR_EVENT_TYPE"]
ERROR_EVENT_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_EVENT_NOT_FOUND"]
ERROR_LAST_EVENT_ID: dict[str, Any] = _RECORDED["ERROR_LAST_EVENT_ID"]
PROGRESS_STREAM_SAMPLE: str = _RECORDED["PROGRESS_STREAM_SAMPLE"]
EVENT_STREAM_SAMPLE: str = _RECORDED["EVENT_STREAM_SAMPLE"]
EVENT_LIST: dict[str, Any] = _RECORDED["EVENT_LIST"]
EVENT_RENDER_SUCCEEDED: dict[str, Any] = _RECORDED["EVENT_RENDER_SUCCEEDED"]
EVENT_ASSET_READY: dict[str, Any] = _RECORDED["EVENT_ASSET_READY"]
EVENT_PROJECT_UPDATED: dict[str, Any] = _RECORDED["EVENT_PROJECT_UPDATED"]
AUDIT_LIST: dict[str, Any] = _RECORDED["AUDIT_LIST"]

_SSE = "text/event-stream"


def _stream(description: str, example: str) -> dict[str, Any]:
    return {"description": description, "content": {_SSE: {"schema": {"type": "string"}, "example": example}}}


def _scope(name: str, problem: dict[str, Any]) -> ex.Named:
    return f"a credential without `{name}`", problem


_EVENTS_SCOPE = _scope("events:read", ERROR_SCOPE_EVENTS_READ)
_ADMIN_SCOPE = _scope("admin", ERROR_SCOPE_ADMIN)

LIST_EVENTS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of events, newest first (or oldest first with `order=asc`), matching the filters.",
            {"a render's events": EVENT_LIST},
            model=schemas.EventList,
        )
    },
    *ex.AUTH,
    _EVENTS_SCOPE,
    *ex.LIST,
    ("a `type` that is neither a type nor a prefix", ERROR_EVENT_TYPE),
)
GET_EVENT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The event.",
            {
                "render.succeeded": EVENT_RENDER_SUCCEEDED,
                "asset.ready": EVENT_ASSET_READY,
                "project.updated": EVENT_PROJECT_UPDATED,
            },
            model=schemas.EventOut,
        )
    },
    *ex.AUTH,
    _EVENTS_SCOPE,
    ("no such event in this workspace", ERROR_EVENT_NOT_FOUND),
)
STREAM_EVENTS_RESPONSES = ex.responses(
    {
        200: _stream(
            "New events as Server-Sent Events (`id`: the event id, `event`: its type, `data`: the event), "
            "and a `: ping` comment every 15 s.",
            EVENT_STREAM_SAMPLE,
        )
    },
    *ex.AUTH,
    _EVENTS_SCOPE,
    ("a `Last-Event-ID` that is no event of the workspace", ERROR_LAST_EVENT_ID),
)
RENDER_PROGRESS_RESPONSES = ex.responses(
    {
        200: _stream(
            "The render as Server-Sent Events (`event: state` or `event: progress`, `data`: the render) "
            "until it ends.",
            PROGRESS_STREAM_SAMPLE,
        )
    },
    *ex.AUTH,
    ex.scope("renders:read"),
    ("no such render", ex.ERROR_RENDER_NOT_FOUND),
)
LIST_AUDIT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of audit entries, newest first, matching the filters.",
            {"key and asset changes": AUDIT_LIST},
            model=schemas.AuditList,
        )
    },
    *ex.AUTH,
    _ADMIN_SCOPE,
    *ex.LIST,
)
