"""Workspaces: the tenants of an installation. Every resource belongs to one.

Who may do what (the API enforces it with scopes, the CLI is the operator on the machine):

* the installation's operator (the ``operator`` scope, which only the CLI grants) creates
  workspaces, lists them all and renames any;
* a workspace's ``admin`` sees and renames its own workspace, and nothing of the others.

A new workspace comes with its first admin key, so whoever runs it needs no database access.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.models import ApiKey, Workspace, new_id

from .audit import SYSTEM_ACTOR, Actor
from .context import Services
from .errors import NotFound
from .keys import create_key

__all__ = [
    "all_workspaces",
    "bootstrap",
    "clean_name",
    "create_workspace",
    "get_workspace",
    "own_workspace",
    "rename_workspace",
    "workspace_or_first",
    "workspace_query",
]


MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(name: str) -> str:
    """A workspace name without surrounding space; ValueError when empty, longer than 200
    characters or holding control characters."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"a workspace name has 1 to {MAX_NAME} characters")
    if _CONTROL.search(name):
        raise ValueError("a workspace name cannot hold control characters")
    return name


def create_workspace(
    db: Session,
    services: Services,
    name: str,
    *,
    admin_key: bool = True,
    actor: Actor = SYSTEM_ACTOR,
) -> tuple[Workspace, ApiKey | None, str | None]:
    """A new workspace (audited as ``workspace.created`` in its own log) and, with
    ``admin_key``, its first admin key and that key's token (shown once). Flushed, not
    committed: the caller commits."""
    ws = Workspace(id=new_id("ws"), name=name)
    db.add(ws)
    db.flush()  # the key's row refers to it
    record_audit(
        db,
        workspace_id=ws.id,
        action="workspace.created",
        resource_type="workspace",
        resource_id=ws.id,
        details={"name": name},
        **actor,
    )
    key, token = None, None
    if admin_key:
        key, token = create_key(db, services, ws.id, "first admin key", ["admin"], actor=actor, commit=False)
    db.flush()  # defaults (created_at) are set
    return ws, key, token


def workspace_query() -> Select[Any]:
    """Every workspace of the installation (an operator's list pages it)."""
    return select(Workspace)


def all_workspaces(db: Session) -> list[Workspace]:
    """Every workspace, oldest first (the operator's CLI lists them whole)."""
    return list(db.scalars(workspace_query().order_by(Workspace.created_at, Workspace.id)))


def workspace_or_first(db: Session, workspace_id: str | None) -> Workspace:
    """Workspace ``workspace_id``, or without one the first ever made (the CLI's default)."""
    query = select(Workspace).order_by(Workspace.created_at, Workspace.id).limit(1)
    if workspace_id:
        query = select(Workspace).where(Workspace.id == workspace_id)
    ws = db.scalars(query).first()
    if ws is None:
        raise NotFound(
            f"no workspace {workspace_id}" if workspace_id else "no workspace yet (start the service once)"
        )
    return ws


def get_workspace(db: Session, workspace_id: str, *, of: str | None = None) -> Workspace:
    """Workspace ``workspace_id``; with ``of`` (the caller's workspace, for a caller who is no
    operator) any other workspace does not exist."""
    ws = db.get(Workspace, workspace_id)
    if ws is None or (of is not None and ws.id != of):
        raise NotFound(f"no workspace {workspace_id}")
    return ws


def own_workspace(db: Session, workspace_id: str) -> Workspace:
    """The calling credential's own workspace. Its key was just checked, so the workspace is
    missing only when its row went behind the service's back: NotFound says so."""
    ws = db.get(Workspace, workspace_id)
    if ws is None:
        raise NotFound("the workspace no longer exists")
    return ws


def rename_workspace(
    db: Session, workspace_id: str, name: str, *, of: str | None = None, actor: Actor = SYSTEM_ACTOR
) -> Workspace:
    """Rename the workspace (``of`` as in :func:`get_workspace`), audited as ``workspace.renamed``
    with the old and new names when the name changes; committed."""
    ws = get_workspace(db, workspace_id, of=of)
    if ws.name != name:
        record_audit(
            db,
            workspace_id=ws.id,
            action="workspace.renamed",
            resource_type="workspace",
            resource_id=ws.id,
            details={"old_name": ws.name, "name": name},
            **actor,
        )
        ws.name = name
        db.commit()
    return ws


def bootstrap(services: Services) -> str | None:
    """On a fresh database: make the first workspace (``default``) and an admin key; return the
    key's token (shown once), else None."""
    with services.sessions() as db:
        if db.scalar(select(Workspace.id).limit(1)) is not None:
            return None
        ws = Workspace(id=new_id("ws"), name="default")
        db.add(ws)
        db.commit()
        _, token = create_key(db, services, ws.id, "bootstrap admin key", ["admin"])
        return token
