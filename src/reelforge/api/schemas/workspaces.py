"""Workspaces as the operator manages them (``/v1/workspaces``).

``GET /v1/workspace`` answers :class:`~reelforge.api.schemas.system.WorkspaceOut` instead: the
caller's own workspace with the scopes its credential holds, which means nothing here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import Out, Page
from .keys import ApiKeyCreated
from .system import WorkspaceLimits, WorkspaceUsage

__all__ = ["ManagedWorkspace", "ManagedWorkspaceCreated", "ManagedWorkspaceList", "WorkspaceLimitsOut"]


class ManagedWorkspace(Out):
    """A workspace (a tenant of the installation): everything else belongs to one."""

    id: str
    object: Literal["workspace"]
    name: str
    created_at: datetime


class ManagedWorkspaceCreated(ManagedWorkspace):
    admin_key: ApiKeyCreated | None = None
    """The workspace's first admin key, its ``token`` in this response only (absent when the
    request said ``"admin_key": false``)."""


class ManagedWorkspaceList(Page):
    data: list[ManagedWorkspace]


class WorkspaceLimitsOut(Out):
    """A workspace's limits: those in force, the operator's overrides, and today's rendering."""

    object: Literal["workspace_limits"]
    workspace_id: str
    limits: WorkspaceLimits
    overrides: dict[str, float]
    """The limits the operator set for this workspace (the others are the installation's defaults)."""
    usage: WorkspaceUsage
