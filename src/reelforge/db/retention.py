"""Which assets are pinned (never expired by retention) and which were expired (their bytes
removed from storage by the retention run; the row stays, so renders still name them).

Kept beside ``assets`` rather than in it: the asset row's representation is cached by its
revision, and retention changes nothing a client sees in it except the download."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["AssetRetention"]


class AssetRetention(Base):
    __tablename__ = "asset_retention"
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    expired_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the retention run removed the bytes (None: stored)."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
