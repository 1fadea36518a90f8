"""Transcripts: the words spoken in an asset, made in the background and corrected by people.

A :class:`Transcript` is one transcription of one asset with one model: its state
(``queued``, ``running``, ``succeeded``, ``failed``), its progress, and once done the words
with their times and confidence, the language and the model. People correct the words
(``revision`` counts the changes) and approve them; a render with ``require_approval`` uses
only approved transcripts. A run claims the row with a lease (``claimed_by``,
``claimed_until``) like an import, so one process transcribes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["TRANSCRIPT_STATES", "Transcript"]

TRANSCRIPT_STATES = ("queued", "running", "succeeded", "failed")


class Transcript(Base):
    __tablename__ = "transcripts"
    __table_args__ = (Index("ix_transcripts_asset", "asset_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    model: Mapped[str] = mapped_column(String(255))
    """The model that made (or will make) the words: a name, or a local model's directory name."""
    requested_language: Mapped[str | None] = mapped_column(String(8), default=None)
    """The language asked for; NULL: detected."""
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    """The language of the words (detected or as asked)."""
    duration: Mapped[float | None] = mapped_column(Float, default=None)
    words: Mapped[list[Any]] = mapped_column(default=list)
    """[{"text", "start", "end", "confidence"}...], times in seconds from the asset's start."""
    revision: Mapped[int] = mapped_column(default=0)
    """Corrections made since the model's words (0: as recognised)."""
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    """When a person approved the words (cleared again by a later correction)."""
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(40), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
