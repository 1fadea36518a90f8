"""Health, readiness, metrics and the current workspace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reelforge import metrics as prometheus
from reelforge.representations import json_ready, workspace_json
from reelforge.services import health, limits, workspaces
from reelforge.services.context import Services
from reelforge.services.credentials import METRICS, OPERATOR

from .. import examples as ex
from ..auth import Principal, authenticate, check_scope
from ..deps import SessionDep, get_services

router = APIRouter()


@router.get("/healthz", tags=["system"], summary="The process is up", responses=ex.HEALTHZ_RESPONSES)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["system"],
    summary="The database, storage, render queue and workers answer",
    responses=ex.READYZ_RESPONSES,
)
async def readyz(request: Request, services: Services = Depends(get_services)) -> JSONResponse:
    """`checks` holds `ok` or `error: <why>` for `database`, `storage`, `broker` (the render
    queue), `worker` (this process's own render worker, when it runs one), each background loop
    this process runs (`webhook_dispatcher`, `delivery_worker`, `import_runner`, `transcript_runner`, `retention`)
    and `workers` (a live render worker exists; checked when this process runs one or
    `REELFORGE_READYZ_REQUIRES_WORKER` is set).
    503 when any check fails. No credential is needed; a key or token holding the `metrics`
    scope (or `operator`) also gets `workers`, the workers of the last day (each with its
    `kind`: `render`, `webhooks`, `delivery`, `imports`, `retention`), each `live`,
    `stale` (stopped heartbeating without saying so: crashed or hung) or `stopped`, and
    `queue`, the renders queued and running in the whole installation."""
    # Worker names (host and process) and the queue of every workspace describe the
    # installation, not one caller: only a scraper's or the operator's credential sees them.
    detailed = False
    if request.headers.get("authorization"):
        principal = await authenticate(request)
        detailed = METRICS in principal.scopes or OPERATOR in principal.scopes
    found = await run_in_threadpool(health.readiness, services)
    body: dict[str, Any] = {"status": "ok" if found.ready else "unavailable", "checks": found.checks}
    if detailed:
        body["workers"] = json_ready(found.workers)
        if found.queue is not None:
            body["queue"] = found.queue
    return JSONResponse(
        body,
        status_code=200 if found.ready else 503,
        headers={} if found.ready else {"Retry-After": "5"},
    )


async def metrics_reader(principal: Principal = Depends(authenticate)) -> Principal:
    """The caller, who must hold the ``metrics`` scope (or be the operator)."""
    return principal if OPERATOR in principal.scopes else check_scope(principal, METRICS)


metrics_reader.required_scope = METRICS  # type: ignore[attr-defined]
metrics_reader.alternative_scope = OPERATOR  # type: ignore[attr-defined]


@router.get("/metrics", include_in_schema=False)
async def metrics(
    services: Services = Depends(get_services), principal: Principal = Depends(metrics_reader)
) -> Response:
    """Prometheus metrics of the installation (text exposition format 0.0.4). Not part of the
    REST API (see docs/operations.md): a scraper sends an API key holding the ``metrics``
    scope, made with ``reelforge keys create --metrics``."""
    body = await run_in_threadpool(prometheus.exposition, lambda: health.scrape_gauges(services))
    return Response(body, media_type=prometheus.CONTENT_TYPE_LATEST)


@router.get(
    "/v1/workspace",
    tags=["workspace"],
    summary="The workspace of the calling credential",
    responses=ex.WORKSPACE_RESPONSES,
)
def workspace(db: SessionDep, principal: Principal = Depends(authenticate)) -> dict[str, Any]:
    ws = workspaces.own_workspace(db, principal.workspace_id)
    return {
        **workspace_json(ws),
        "scopes": sorted(principal.scopes),
        "limits": limits.limits_of(db, ws.id),
        "usage": limits.usage_json(db, ws.id),
    }
