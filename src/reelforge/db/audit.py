"""The audit log: who did what to security-relevant things (keys, webhook endpoints and their
secrets, deletes, workspace settings). Written in the same transaction as the action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, new_id, utcnow

__all__ = ["AuditEntry", "record_audit"]


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_workspace_created", "workspace_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(64))
    """``key.created``, ``key.rolled``, ``webhook_endpoint.secret_rotated``, ``asset.deleted``, …"""
    actor_type: Mapped[str] = mapped_column(String(16))
    """``api_key``, ``oauth`` or ``system`` (the CLI, the server itself)."""
    actor_id: Mapped[str | None] = mapped_column(String(40), default=None)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What changed, never a secret."""
    request_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def record_audit(
    db: Session,
    *,
    workspace_id: str,
    action: str,
    resource_type: str,
    resource_id: str,
    actor_type: str = "system",
    actor_id: str | None = None,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditEntry:
    """Add an audit entry to ``db``'s transaction (it exists exactly when the action commits)."""
    row = AuditEntry(
        id=new_id("aud"),
        workspace_id=workspace_id,
        action=action,
        actor_type=actor_type,
        actor_id=actor_id,
        resource_type=resource_type,
        resource_id=resource_id,
        details=details or {},
        request_id=request_id,
        created_at=utcnow(),
    )
    db.add(row)
    return row
