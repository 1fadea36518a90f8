"""Brand kits with versions, and the workspace's compliance level.

A kit's ``version`` is its current version number (also its ETag), like a project's revision;
every change writes a new :class:`BrandKitVersion` holding the whole kit, so a render can name
the exact version it used and the history is never rewritten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["BRAND_META", "COMPLIANCE_LEVELS", "BrandKit", "BrandKitVersion", "WorkspaceCompliance"]

COMPLIANCE_LEVELS = ("off", "warn", "block")
BRAND_META = "$brand"
"""Key of a render's ``meta`` holding the brand kit and version it used and the compliance
findings; not client metadata (the render resource shows it as ``brand``)."""


class BrandKit(Base):
    __tablename__ = "brand_kits"
    __table_args__ = (Index("ix_brand_kits_workspace_created", "workspace_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    """The current version number; also the ETag."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BrandKitVersion(Base):
    __tablename__ = "brand_kit_versions"
    __table_args__ = (UniqueConstraint("kit_id", "number", name="uq_brand_kit_versions_kit_number"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kit_id: Mapped[str] = mapped_column(ForeignKey("brand_kits.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column()
    """The whole kit as stored: logos, colours, fonts (with the family read from each file), ..."""
    message: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkspaceCompliance(Base):
    """The workspace's compliance level; a workspace without a row is at ``off``."""

    __tablename__ = "workspace_compliance"
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(8), default="off")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
