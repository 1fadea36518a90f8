"""Resumable uploads (tus 1.0) and imports from URLs: the state of bytes still arriving.

An :class:`Upload` is the tus resource: how many bytes are stored (``offset``), how many are
expected (``length``; NULL while deferred), the client's metadata, who is writing it now
(``writer``, a claim with a deadline, so two requests can never append at once, whichever
process they reach) and, once complete, the asset it became. The bytes themselves are a file in
the storage's upload area, named after the id.

An :class:`Import` is a fetch of a URL into an asset: its state, how far it got, what the
server said about the file (``etag``, used with the URL to import the same file only once) and
the asset, or the coarse reason it failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["IMPORT_STATES", "UPLOAD_STATES", "Import", "Upload"]

UPLOAD_STATES = ("receiving", "complete", "failed", "terminated", "expired")
IMPORT_STATES = ("queued", "fetching", "succeeded", "failed")


class Upload(Base):
    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_state_expires", "state", "expires_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    length: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Bytes expected; NULL while the client defers it (creation-defer-length)."""
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    """Bytes stored and committed; only ever grows."""
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``Upload-Metadata`` decoded: key -> text (or null for a key without a value)."""
    raw_metadata: Mapped[str | None] = mapped_column(String(4096), default=None)
    """The header as the client sent it, echoed on HEAD."""
    state: Mapped[str] = mapped_column(String(16), default="receiving")
    """receiving, complete (an asset), failed (the bytes are not media), terminated, expired."""
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    asset_id: Mapped[str | None] = mapped_column(String(40), default=None)
    writer: Mapped[str | None] = mapped_column(String(40), default=None)
    """The request appending now (a random token), or NULL."""
    writer_until: Mapped[datetime | None] = mapped_column(default=None)
    """The writer's claim lapses at this time unless renewed (a request that died)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)


class Import(Base):
    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_workspace_url", "workspace_id", "url_sha256"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    url_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    collections: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    """The new asset's named collections (migration 0023)."""
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    total_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    etag: Mapped[str | None] = mapped_column(String(255), default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(40), default=None)
    """The run fetching it now (a random token), or NULL."""
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    """The run's lease lapses at this time unless renewed (a process that died)."""
    asset_id: Mapped[str | None] = mapped_column(String(40), default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version_of: Mapped[str | None] = mapped_column(String(40), default=None)
    """The asset the fetched file becomes a new version of (migration 0021); None: a new asset."""
