"""The audit log: who did what to security-relevant things, readable by admins.

Entries are written by the operations (and the CLI) in the same transaction as the action, through
:func:`reelforge.db.audit.record_audit` with the actor of :func:`reelforge.api.audit.audit_actor`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from reelforge.db.audit import AuditEntry
from reelforge.services import audit

from .. import examples_events as exe
from ..auth import Principal, require
from ..deps import ServicesDep, SessionDep
from ..pagination import CreatedGte, CreatedLt, created_between, list_body, page
from ..responses import json_ready

__all__ = ["audit_json", "router"]

router = APIRouter(tags=["audit"])


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "object": "audit_entry",
        "action": entry.action,
        "actor": {"type": entry.actor_type, "id": entry.actor_id},
        "resource": {"type": entry.resource_type, "id": entry.resource_id},
        "details": entry.details,
        "request_id": entry.request_id,
        "created_at": entry.created_at,
    }


@router.get(
    "/v1/audit", summary="List the audit log, newest first (admins only)", responses=exe.LIST_AUDIT_RESPONSES
)
def list_audit(
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    action: Annotated[
        str | None, Query(max_length=64, description="An action (`key.revoked`) or a prefix (`key.*`).")
    ] = None,
    resource_id: Annotated[str | None, Query(max_length=40)] = None,
    actor_id: Annotated[
        str | None, Query(max_length=40, description="The key or OAuth client that acted.")
    ] = None,
    created_gte: CreatedGte = None,
    created_lt: CreatedLt = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """Actions: `key.created`, `key.rolled`, `key.revoked`, `oauth_client.created`,
    `oauth_client.revoked`, `asset.deleted`, `project.deleted`, and webhook endpoint and secret
    changes (`webhook_endpoint.*`). `actor` is the API key or OAuth client that acted (`system`
    for the CLI and the server itself); `request_id` leads to the request's log line; `details`
    says what changed and never holds a secret."""
    query = created_between(
        audit.entries(principal.workspace_id), AuditEntry.created_at, created_gte, created_lt
    )
    query = audit.filtered(query, action=action, resource_id=resource_id, actor_id=actor_id)
    filters = {
        "action": action,
        "resource_id": resource_id,
        "actor_id": actor_id,
        "created_gte": json_ready(created_gte),
        "created_lt": json_ready(created_lt),
    }
    rows, nxt = page(
        request,
        response,
        query,
        AuditEntry,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters=filters,
        db=db,
    )
    return list_body(request, [audit_json(e) for e in rows], nxt)
