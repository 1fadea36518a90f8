"""Pinning assets (a pinned asset is never expired by the workspace's output retention)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from reelforge.services import retention

from .. import examples_destinations as exd
from ..auth import Principal, require
from ..deps import SessionDep

__all__ = ["router"]

router = APIRouter(tags=["assets"])

PIN = "/v1/assets/{asset_id}/pin"


@router.put(PIN, summary="Pin an asset (never expired by retention)", responses=exd.PIN_RESPONSES)
def pin(
    asset_id: str, db: SessionDep, principal: Principal = Depends(require("assets:write"))
) -> dict[str, Any]:
    """A pinned asset keeps its bytes whatever the workspace's `output_retention_days`."""
    return retention.pin_asset(db, principal.workspace_id, asset_id, True)


@router.delete(PIN, summary="Unpin an asset", responses=exd.UNPIN_RESPONSES)
def unpin(
    asset_id: str, db: SessionDep, principal: Principal = Depends(require("assets:write"))
) -> dict[str, Any]:
    return retention.pin_asset(db, principal.workspace_id, asset_id, False)
