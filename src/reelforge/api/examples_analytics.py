"""Examples of the analytics route and of a render's FFmpeg log, in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from . import schemas
from .examples import AUTH, ERROR_RENDER_NOT_FOUND, responses, scope, success

__all__ = ["RENDER_ANALYTICS_RESPONSES", "RENDER_LOG_RESPONSES"]

_STATES = {"queued": 0, "preparing": 0, "rendering": 1, "finishing": 0, "cancelled": 2}
ANALYTICS_BY_TAG: dict[str, Any] = {
    "object": "render_analytics",
    "group_by": "tag",
    "from": "2026-11-06T00:00:00Z",
    "to": "2026-12-06T00:00:00Z",
    "groups": [
        {
            "key": "spring-sale",
            "renders": 1203,
            "states": {**_STATES, "succeeded": 1176, "failed": 24},
            "success_rate": 0.98,
            "errors": [
                {"code": "asset_missing", "count": 17, "rate": 0.0142},
                {"code": "ffmpeg_failed", "count": 7, "rate": 0.0058},
            ],
            "render_seconds": {"p50": 11.84, "p95": 27.313},
            "queue_seconds": {"p50": 0.412, "p95": 19.6},
            "output_minutes": 588.0,
            "output_bytes": 10913571840,
        },
        {
            "key": "black-friday",
            "renders": 310,
            "states": {**_STATES, "rendering": 0, "cancelled": 0, "succeeded": 310, "failed": 0},
            "success_rate": 1.0,
            "errors": [],
            "render_seconds": {"p50": 6.2, "p95": 9.75},
            "queue_seconds": {"p50": 0.3, "p95": 2.1},
            "output_minutes": 77.5,
            "output_bytes": 1593835520,
        },
    ],
}
ERROR_ANALYTICS_RANGE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "`from` must be before `to`",
    "instance": "/v1/analytics/renders",
    "code": "validation-error",
    "request_id": "req_01m8h9ygwmv0t23dwrs0w79nam",
    "errors": [{"detail": "`from` must be before `to`", "code": "range", "parameter": "from"}],
}
RENDER_ANALYTICS_RESPONSES = responses(
    {
        200: success(
            "The renders created in the range, aggregated per group.",
            {"by campaign tag": ANALYTICS_BY_TAG},
            model=schemas.RenderAnalytics,
        )
    },
    *AUTH,
    scope("renders:read"),
    ("`from` not before `to`, or a range over 366 days", ERROR_ANALYTICS_RANGE),
)
RENDER_LOG_RESPONSES = responses(
    {
        200: success(
            "What FFmpeg wrote to stderr, as plain text (empty before FFmpeg ran).",
            media_type="text/plain",
            schema={"type": "string"},
        )
    },
    *AUTH,
    scope("renders:read"),
    ("no such render in this workspace", ERROR_RENDER_NOT_FOUND),
)
