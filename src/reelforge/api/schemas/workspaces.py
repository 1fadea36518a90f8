"""Workspaces as the operator manages them (``/v1/workspaces``).

``GET /v1/workspace`` answers :class:`~reelforge.api.schemas.system.WorkspaceOut` instead: the
caller's own workspace with the scopes its credential holds, which means nothing here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import Out, Page
from .keys import ApiKeyCreated

__all__ = ["ManagedWorkspace", "ManagedWorkspaceCreated", "ManagedWorkspaceList"]


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
