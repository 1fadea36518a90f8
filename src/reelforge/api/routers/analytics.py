"""Render analytics: counts, rates, percentiles and totals per campaign tag, template, batch,
output format, locale or day. The aggregation is :mod:`reelforge.services.analytics`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection

from reelforge.services import analytics
from reelforge.services.analytics import GroupBy

from .. import examples_analytics as ex
from ..auth import Principal, require
from ..responses import json_bytes, json_response, read_db

router = APIRouter(tags=["analytics"])


@router.get(
    "/v1/analytics/renders",
    summary="Render analytics by campaign tag, template, batch, format, locale or day",
    responses=ex.RENDER_ANALYTICS_RESPONSES,
)
async def render_analytics(
    request: Request,
    group_by: Annotated[GroupBy | None, Query(description="What to group by (default: one group)")] = None,
    start: Annotated[
        datetime | None,
        Query(
            alias="from", description="Renders created at or after (RFC 3339; default 30 days before `to`)"
        ),
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="Renders created before (RFC 3339; default now)")
    ] = None,
    principal: Principal = Depends(require("renders:read")),
) -> Response:
    """The workspace's renders created in `[from, to)` (at most 366 days), per group: renders by
    state, `success_rate` (succeeded / (succeeded + failed)), failures by `code` with their rate,
    p50/p95 of `render_seconds` (running) and `queue_seconds` (waiting), `output_minutes` and
    `output_bytes`. A render with several tags or output formats counts in each of their groups;
    renders without a value (no template, no batch, no locale) form the group whose `key` is
    null. Groups come largest first (by day: in date order). Needs `renders:read`."""

    def read(conn: Connection) -> bytes:
        return json_bytes(
            analytics.render_analytics(conn, principal.workspace_id, group_by=group_by, start=start, end=end)
        )

    return json_response(await read_db(request, read))
