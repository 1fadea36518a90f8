"""A clip as one output places it: its per-output overrides, its safe zone and its focus.

Pure functions the picture pipeline calls once per clip and output, so the rest of the compiler
sees one plain, resolved clip per output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reelforge.edit.models import CaptionAsset, Clip, Focus, Output
from reelforge.edit.overrides import resolve_clip
from reelforge.edit.timeline import ClipTiming

from .layout import SafeZone, safe_zone_for
from .outputs import OutputGeometry
from .plan import Source

__all__ = ["captions_in_safe_area", "clip_for_output", "focus_point", "safe_zone"]


def clip_for_output(ct: ClipTiming, output: Output, geo: OutputGeometry) -> ClipTiming:
    """``ct`` with its clip's overrides for ``output`` applied (its timing is the same on every output)."""
    if not ct.clip.overrides:
        return ct
    return replace(ct, clip=resolve_clip(ct.clip, output, (geo.width, geo.height)))


def safe_zone(clip: Clip, geo: OutputGeometry, zones: Mapping[str, SafeZone]) -> SafeZone | None:
    """The zone a ``safe_area`` clip keeps to on ``geo`` (None: the clip is free, or the output
    has no safe zone)."""
    if not clip.safe_area:
        return None
    found = safe_zone_for(zones, geo.width, geo.height)
    return found[1] if found is not None else None


def focus_point(clip: Clip, sources: Mapping[str, Source]) -> tuple[float, float] | None:
    """The point of the source a ``cover`` crop centres on: the clip's own, the one found in the
    source for ``focus: "auto"``, or None (the centre)."""
    if isinstance(clip.focus, Focus):
        return clip.focus.x, clip.focus.y
    if clip.focus == "auto" and clip.asset.type in ("video", "image"):
        found = sources[clip.asset.src].focus
        if found is not None:
            return found.x, found.y
    return None


def captions_in_safe_area(asset: CaptionAsset, zone: SafeZone | None) -> CaptionAsset:
    """Captions kept out of ``zone``: their margins at least the zone's sides (libass places
    captions by margins, so they move inside the room the zone leaves)."""
    if zone is None:
        return asset
    style = asset.style
    edge = {"bottom": zone.bottom, "top": zone.top, "center": 0.0}[style.position]
    margins = {
        "margin_y": min(0.45, max(style.margin_y, edge)),
        "margin_x": min(0.45, max(style.margin_x, zone.left, zone.right)),
    }
    return asset.model_copy(update={"style": style.model_copy(update=margins)})
