"""Health, readiness and the current workspace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from reelforge.representations import workspace_json
from reelforge.services import limits, workspaces
from reelforge.services.context import Services

from .. import examples as ex
from ..auth import Principal, authenticate
from ..deps import SessionDep, get_services

router = APIRouter()


@router.get("/healthz", tags=["system"], summary="The process is up", responses=ex.HEALTHZ_RESPONSES)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["system"],
    summary="The database and storage answer and the worker runs",
    responses=ex.READYZ_RESPONSES,
)
def readyz(services: Services = Depends(get_services)) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports any failure as not ready
        checks["database"] = f"error: {type(exc).__name__}"
    checks["storage"] = "ok" if services.storage.temp_dir().is_dir() else "error: missing"
    if services.worker is not None:
        checks["worker"] = "ok" if services.worker.alive() else "error: stopped"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "5"},
    )


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
