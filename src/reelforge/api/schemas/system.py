"""Health, readiness and the calling credential's workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import Out

__all__ = ["Health", "Readiness", "WorkspaceOut"]


class Health(Out):
    status: Literal["ok"]


class Readiness(Out):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    """``ok`` or ``error: <why>`` for ``database``, ``storage`` and (when it runs here) ``worker``."""


class WorkspaceOut(Out):
    id: str
    object: Literal["workspace"]
    name: str
    created_at: datetime
    scopes: list[str]
    """The scopes the calling credential holds."""
