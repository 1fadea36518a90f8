"""Transcripts of an asset's speech: words with times, corrected and approved by people."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import JSONObject, Out

__all__ = ["TranscriptList", "TranscriptOut", "TranscriptWordOut"]


class TranscriptWordOut(Out):
    text: str
    start: float
    """Seconds from the asset's start."""
    end: float
    confidence: float
    """The model's probability of the word, 0..1 (1 for a word a person corrected)."""


class TranscriptOut(Out):
    """A transcription of one asset with one model; its progress and result also arrive as
    events (``transcript.progress``, ``transcript.succeeded``, ``transcript.failed``)."""

    id: str
    object: Literal["transcript"]
    asset_id: str
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    model: str
    language: str | None = None
    """The words' language: as asked, or detected."""
    duration: float | None = None
    revision: int
    """Corrections made since the model's words."""
    approved: bool
    approved_at: datetime | None = None
    error: JSONObject | None = None
    text: str | None = None
    """The words joined by spaces (not in lists)."""
    words: list[TranscriptWordOut] | None = None
    """Not in lists."""
    created_at: datetime
    updated_at: datetime


class TranscriptList(Out):
    """An asset's transcripts, newest first, without their words."""

    object: Literal["list"]
    data: list[TranscriptOut]
