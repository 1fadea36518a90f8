"""The audit log: who an entry names when a service records one, and reading the log.

Entries are written by the operations themselves with :func:`reelforge.db.audit.record_audit`,
in their own transaction. Services take the actor as a mapping of ``actor_type``, ``actor_id``
and ``request_id`` (the API builds it from the caller with ``reelforge.api.audit.audit_actor``);
the CLI and the server itself act as :data:`SYSTEM_ACTOR`. Reading: a workspace's entries and
the filters the log takes (an action or an ``action.*`` prefix, the resource, the actor).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select

from reelforge.db.audit import AuditEntry

from .errors import Invalid

__all__ = ["SYSTEM_ACTOR", "Actor", "entries", "filtered"]

Actor = Mapping[str, Any]

SYSTEM_ACTOR: dict[str, Any] = {"actor_type": "system", "actor_id": None, "request_id": None}
"""The actor of changes made by the CLI or the server itself."""

_ACTION = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$")


def entries(workspace_id: str) -> Select[Any]:
    return select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)


def filtered(
    query: Select[Any], *, action: str | None, resource_id: str | None, actor_id: str | None
) -> Select[Any]:
    """``query`` limited to an action (or a prefix ``key.*``), a resource and an actor (None:
    any); 422 naming the ``action`` parameter when it is neither an action nor a prefix."""
    if action is not None:
        if not _ACTION.match(action):
            raise Invalid(
                f"not an action or prefix: {action!r}",
                errors=[
                    {
                        "parameter": "action",
                        "code": "invalid",
                        "detail": "an action like `key.revoked` or `key.*`",
                    }
                ],
            )
        query = query.where(
            AuditEntry.action.startswith(action[:-1], autoescape=True)
            if action.endswith(".*")
            else AuditEntry.action == action
        )
    if resource_id is not None:
        query = query.where(AuditEntry.resource_id == resource_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    return query
