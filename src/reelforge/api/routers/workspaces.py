"""Workspaces for operators: create, list and rename the tenants of an installation over HTTP.

Who may call what (see :mod:`reelforge.services.workspaces`): creating and listing every
workspace needs the ``operator`` scope, which only the operator's CLI grants
(``reelforge keys create --operator``); a workspace's ``admin`` reads and renames its own
workspace, and any other workspace does not exist for it (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import Field, StringConstraints
from sqlalchemy.orm import Session

from reelforge.db.models import Workspace
from reelforge.representations import key_json, workspace_json
from reelforge.services import limits, workspaces
from reelforge.services.credentials import OPERATOR
from reelforge.services.inputs import InputModel

from .. import examples_workspaces as ex
from ..audit import audit_actor
from ..auth import Principal, authenticate, check_scope
from ..deps import ServicesDep, SessionDep
from ..idempotency import Idempotency, idempotency
from ..pagination import list_body, page

router = APIRouter(tags=["workspaces"])

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
]


class WorkspaceCreate(InputModel):
    name: Name
    admin_key: bool = Field(True, description="Also make the workspace's first admin key (shown once).")


class WorkspaceRename(InputModel):
    name: Name


async def operator(principal: Principal = Depends(authenticate)) -> Principal:
    """The caller, who must be the installation's operator."""
    return check_scope(principal, OPERATOR)


operator.required_scope = OPERATOR  # type: ignore[attr-defined]


async def admin_or_operator(principal: Principal = Depends(authenticate)) -> Principal:
    """The caller: the operator (any workspace) or an admin (its own workspace)."""
    return principal if OPERATOR in principal.scopes else check_scope(principal, "admin")


admin_or_operator.required_scope = "admin"  # type: ignore[attr-defined]
admin_or_operator.alternative_scope = OPERATOR  # type: ignore[attr-defined]


def _own(principal: Principal) -> str | None:
    """The only workspace the caller may see, or None for the operator (all of them)."""
    return None if OPERATOR in principal.scopes else principal.workspace_id


# ---------------------------------------------------------------- routes


@router.post(
    "/v1/workspaces",
    status_code=201,
    summary="Create a workspace with its first admin key (operator only)",
    responses=ex.CREATE_RESPONSES,
)
def create_workspace(
    body: Annotated[WorkspaceCreate, Body(openapi_examples=ex.CREATE_BODY)],
    request: Request,
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(operator),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Needs the `operator` scope (only `reelforge keys create --operator` grants it). The new
    workspace is empty; its first admin key (`admin_key`, with its `token` shown only here)
    works in it alone. Audited as `workspace.created` and `key.created` in the new workspace's
    log."""
    ws, key, token = workspaces.create_workspace(
        db, services, body.name, admin_key=body.admin_key, actor=audit_actor(principal, request)
    )
    created = workspace_json(ws)
    if key is not None:
        created["admin_key"] = key_json(key, token)
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/workspaces/{ws.id}"
    # The key's token is stored encrypted, with the workspace.
    idem.stage(db, created, status=201, headers=response.headers, secret=True)
    db.commit()
    return created


@router.get(
    "/v1/workspaces",
    summary="List every workspace, newest first (operator only)",
    responses=ex.LIST_RESPONSES,
)
def list_workspaces(
    request: Request,
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(operator),
) -> dict[str, Any]:
    """Needs the `operator` scope; a workspace's admin sees its own at `GET /v1/workspace`."""
    rows, nxt = page(
        request,
        response,
        workspaces.workspace_query(),
        Workspace,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"list": "workspaces"},
        db=db,
    )
    return list_body(request, [workspace_json(w) for w in rows], nxt)


@router.get("/v1/workspaces/{workspace_id}", summary="Get a workspace", responses=ex.GET_RESPONSES)
def get_workspace(
    workspace_id: str, db: SessionDep, principal: Principal = Depends(admin_or_operator)
) -> dict[str, Any]:
    """The operator reads any workspace; an `admin` its own (any other is 404)."""
    return workspace_json(workspaces.get_workspace(db, workspace_id, of=_own(principal)))


@router.patch("/v1/workspaces/{workspace_id}", summary="Rename a workspace", responses=ex.RENAME_RESPONSES)
def rename_workspace(
    workspace_id: str,
    body: Annotated[WorkspaceRename, Body(openapi_examples=ex.RENAME_BODY)],
    request: Request,
    db: SessionDep,
    principal: Principal = Depends(admin_or_operator),
) -> dict[str, Any]:
    """The operator renames any workspace; an `admin` its own (any other is 404). Audited as
    `workspace.renamed` with the old and the new name."""
    ws = workspaces.rename_workspace(
        db, workspace_id, body.name, of=_own(principal), actor=audit_actor(principal, request)
    )
    return workspace_json(ws)


# ---------------------------------------------------------------- limits


def _limits_body(db: Session, ws: Workspace) -> dict[str, Any]:
    return {
        "object": "workspace_limits",
        "workspace_id": ws.id,
        "limits": limits.limits_of(db, ws.id),
        "overrides": dict(ws.limits or {}),
        "usage": limits.usage_json(db, ws.id),
    }


@router.get(
    "/v1/workspaces/{workspace_id}/limits",
    summary="A workspace's limits and today's render seconds",
    responses=ex.LIMITS_RESPONSES,
)
def get_limits(
    workspace_id: str, db: SessionDep, principal: Principal = Depends(admin_or_operator)
) -> dict[str, Any]:
    """The operator reads any workspace's; an `admin` its own (any other is 404). `limits` are
    the numbers in force (the installation's defaults, `REELFORGE_LIMIT_*` and
    `REELFORGE_RENDER_SECONDS_PER_DAY`, unless `overrides` names another)."""
    return _limits_body(db, workspaces.get_workspace(db, workspace_id, of=_own(principal)))


@router.patch(
    "/v1/workspaces/{workspace_id}/limits",
    summary="Set a workspace's limits (operator only)",
    responses=ex.SET_LIMITS_RESPONSES,
)
def set_limits(
    workspace_id: str,
    body: Annotated[dict[str, Any], Body(openapi_examples=ex.LIMITS_BODY)],
    request: Request,
    db: SessionDep,
    principal: Principal = Depends(operator),
) -> dict[str, Any]:
    """Needs the `operator` scope. Each member sets one limit by name (`timeline_seconds`,
    `clips`, `tracks`, `outputs`, `output_seconds`, `output_pixel_frames`,
    `render_seconds_per_day`); `null` puts it back to the installation's default; limits not
    named keep their value. Audited as `workspace.limits_changed`."""
    ws = limits.set_workspace_limits(db, workspace_id, body, actor=audit_actor(principal, request))
    return _limits_body(db, ws)
