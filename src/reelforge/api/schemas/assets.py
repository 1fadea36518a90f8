"""Assets: uploaded or rendered media and the files an edit names."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from .common import JSONObject, Out, Page

__all__ = [
    "AssetKind",
    "AssetList",
    "AssetOut",
    "AssetUploaded",
    "CollectionList",
    "CollectionOut",
    "MediaInfo",
    "Previews",
]

AssetKind = Literal["video", "image", "audio", "subtitles", "font", "lut"]
Previews = Literal["none", "pending", "ready", "failed"]


class MediaInfo(Out):
    """What probing found; members apply to the kind (no ``width`` for audio, ...)."""

    format: str | None = None
    duration: float | None = None
    duration_exact: str | None = None
    """The duration as an exact fraction (``"11/2"``)."""
    width: int | None = None
    height: int | None = None
    coded_width: int | None = None
    coded_height: int | None = None
    rotation: int | None = None
    fps: float | None = None
    fps_exact: str | None = None
    video_codec: str | None = None
    pix_fmt: str | None = None
    has_alpha: bool | None = None
    has_video: bool | None = None
    has_audio: bool | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    sample_rate: int | None = None
    bit_rate: int | None = None
    rasterised_from: str | None = None
    """Set (``image/svg+xml``) on a PNG drawn at upload from an SVG."""


class ExternalRef(Out):
    system: str
    id: str


class AssetOut(Out):
    id: str
    object: Literal["asset"]
    name: str
    kind: AssetKind
    content_type: str
    size_bytes: int
    sha256: str
    media: MediaInfo
    tags: list[str]
    collections: list[str] = Field(default_factory=list)
    """The named collections the asset belongs to (``GET /v1/assets?collection=…``). Always
    sent; optional here because assets recorded in older examples lack it."""
    metadata: JSONObject
    source: str
    """``upload``, or ``render`` for a render's output."""
    derived_from: JSONObject
    """For a render's output: the ``render`` and ``project`` it came from."""
    created_at: datetime
    thumbnail_url: str | None = None
    waveform_url: str | None = None
    previews: Previews = "none"
    """Whether the thumbnail or waveform is made yet. Always sent; optional here because outputs
    recorded in older examples (batch renders) lack it."""
    content_url: str
    version: int = 1
    """The newest version's number (its bytes are what this asset describes). Always sent."""
    versions_url: str | None = None
    external_ref: ExternalRef | None = None
    """The asset in the DAM it is synced from (``PUT /v1/assets/by-ref/…``)."""


class AssetUploaded(AssetOut):
    deduplicated: bool
    """True when the same bytes were already an asset of the workspace (that asset is returned)."""


class AssetList(Page):
    data: list[AssetOut]


class CollectionOut(Out):
    object: Literal["collection"]
    name: str
    asset_count: int
    """How many of the workspace's assets it holds now."""
    assets_url: str
    """The list of those assets (``GET /v1/assets?collection=…``)."""


class CollectionList(Page):
    """A page of the workspace's collections, by name (A to Z)."""

    data: list[CollectionOut]
