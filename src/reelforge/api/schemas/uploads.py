"""Resumable uploads (tus) and imports from URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import JSONObject, Out

__all__ = ["ImportOut", "UploadOut"]


class UploadOut(Out):
    """A tus upload as ``GET /v1/uploads/{id}`` shows it (tus clients read the headers of HEAD)."""

    id: str
    object: Literal["upload"]
    state: Literal["receiving", "complete", "failed", "terminated", "expired"]
    offset: int
    """Bytes stored so far."""
    length: int | None = None
    """Bytes expected; null while the client defers it."""
    metadata: JSONObject
    """``Upload-Metadata`` decoded (``filename``, ``filetype``, ``name``, ``tags``, ...)."""
    asset_id: str | None = None
    """The asset the finished upload became (an existing one when the bytes were known)."""
    error: JSONObject | None = None
    """Why a finished upload did not become an asset (``code``, ``detail``)."""
    created_at: datetime
    expires_at: datetime | None = None
    """When an unfinished upload is dropped (24 h after its last append, 7 days at most)."""


class ImportOut(Out):
    """A fetch of a URL into an asset; its progress and result also arrive as events
    (``import.progress``, ``import.succeeded``, ``import.failed``)."""

    id: str
    object: Literal["import"]
    url: str
    state: Literal["queued", "fetching", "succeeded", "failed"]
    received_bytes: int
    total_bytes: int | None = None
    asset_id: str | None = None
    error: JSONObject | None = None
    """``code`` (``url-not-allowed``, ``import-failed``, ``media-unsupported``, ...), a coarse
    ``reason`` (``blocked``, ``timeout``, ``too_large``, ``http_4xx``, ...) and ``detail``."""
    created_at: datetime
    updated_at: datetime
