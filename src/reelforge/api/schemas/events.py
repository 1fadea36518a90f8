"""Events (what happened to a resource) and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import JSONObject, Out, Page, ResourceRef

__all__ = ["AuditEntryOut", "AuditList", "EventList", "EventOut"]


class EventOut(Out):
    id: str
    object: Literal["event"]
    type: str
    """``render.succeeded``, ``asset.ready``, ``project.updated``..."""
    created_at: datetime
    sequence: int
    resource: ResourceRef
    data: JSONObject
    """The resource as ``GET`` showed it then (a project without its edit)."""


class EventList(Page):
    data: list[EventOut]


class AuditEntryOut(Out):
    id: str
    object: Literal["audit_entry"]
    action: str
    actor: ResourceRef
    resource: ResourceRef
    details: JSONObject
    request_id: str | None = None
    created_at: datetime


class AuditList(Page):
    data: list[AuditEntryOut]
