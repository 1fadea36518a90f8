"""Where a picture goes on a canvas: boxes, fits, anchors and offsets.

Pure functions of a clip (or watermark) and an output's geometry. The picture pipeline lays
clips out with them and the compliance check measures with the very same code, so what the
check reports is where the render puts things.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from reelforge.edit.models import Clip, Output
from reelforge.edit.overrides import aspect_matches

from . import keyframes as kf
from .graph import Filter, filt, fmt_num
from .outputs import OutputGeometry, even

__all__ = [
    "ANCHORS",
    "DEFAULT_SAFE_ZONES",
    "SafeZone",
    "box_size",
    "cover_window",
    "fit_in_box",
    "media_sprite_size",
    "overlay_position",
    "overlay_to_pad",
    "safe_zone_for",
    "static_position",
    "watermark_box",
]

ANCHORS: dict[str, tuple[Fraction, Fraction]] = {
    "top-left": (Fraction(0), Fraction(0)),
    "top": (Fraction(1, 2), Fraction(0)),
    "top-right": (Fraction(1), Fraction(0)),
    "left": (Fraction(0), Fraction(1, 2)),
    "center": (Fraction(1, 2), Fraction(1, 2)),
    "right": (Fraction(1), Fraction(1, 2)),
    "bottom-left": (Fraction(0), Fraction(1)),
    "bottom": (Fraction(1, 2), Fraction(1)),
    "bottom-right": (Fraction(1), Fraction(1)),
}


# ---------------------------------------------------------------------- safe zones


@dataclass(frozen=True, slots=True)
class SafeZone:
    """Fractions of the output reserved for platform UI on each side (nothing of the brand's
    text or logo should sit there)."""

    top: float = 0.0
    bottom: float = 0.0
    left: float = 0.0
    right: float = 0.0


DEFAULT_SAFE_ZONES: dict[str, SafeZone] = {"9:16": SafeZone(top=0.14, bottom=0.20)}
"""Vertical video: the top 14 % and bottom 20 % are covered by the apps' own UI."""


def safe_zone_for(zones: Mapping[str, SafeZone], width: int, height: int) -> tuple[str, SafeZone] | None:
    """The zone of ``zones`` (by aspect ratio label) that applies to a ``width`` x ``height`` output."""
    for label, zone in zones.items():
        if aspect_matches(label, width, height):
            return label, zone
    return None


def _fit_in_safe_area(box: tuple[int, int], geo: OutputGeometry, safe: SafeZone) -> tuple[int, int]:
    """``box`` shrunk (keeping its shape) to fit the room the safe zone leaves."""
    room_w = geo.width * (1 - safe.left - safe.right)
    room_h = geo.height * (1 - safe.top - safe.bottom)
    factor = min(1.0, room_w / box[0], room_h / box[1])
    return (even(box[0] * factor), even(box[1] * factor)) if factor < 1 else box


def _clamp_expr(expr: str, low: float, high: float, canvas: str, sprite: str) -> str:
    """An overlay coordinate kept between ``low`` and ``high`` (fractions of the canvas) for the
    sprite's whole extent; a sprite larger than the room keeps to its low side."""
    return f"max({fmt_num(low)}*{canvas},min({expr},{fmt_num(high)}*{canvas}-{sprite}))"


_OVERLAY_VARS = re.compile(r"\b[WHwh]\b")


def overlay_to_pad(expr: str) -> str:
    """An overlay position (canvas W,H; sprite w,h) as a pad position (ow,oh; iw,ih)."""
    return _OVERLAY_VARS.sub(lambda m: {"W": "ow", "H": "oh", "w": "iw", "h": "ih"}[m[0]], expr)


def box_size(
    clip: Clip, geo: OutputGeometry, src_w: int, src_h: int, safe: SafeZone | None = None
) -> tuple[int, int]:
    """The clip's box in pixels; with ``safe`` (a ``safe_area`` clip), shrunk into the safe room."""
    W, H = geo.width, geo.height
    if clip.width is not None and clip.height is not None:
        box = even(clip.width * W), even(clip.height * H)
    elif clip.width is not None:
        bw = clip.width * W
        box = even(bw), even(bw * src_h / src_w)
    elif clip.height is not None:
        bh = clip.height * H
        box = even(bh * src_w / src_h), even(bh)
    else:
        box = W, H
    return _fit_in_safe_area(box, geo, safe) if safe is not None else box


def overlay_position(
    clip: Clip, start: int, fps: Fraction, safe: SafeZone | None = None
) -> tuple[str, str, bool]:
    """Overlay x/y: the sprite placed on the canvas by its anchor, then shifted by the offset.

    The box (width/height) only sizes the sprite; like CSS ``object-position``, a contained
    picture sits at the anchor's side of the canvas. Offsets may be keyframed. With ``safe``
    (a ``safe_area`` clip), the position is kept inside the safe zone, whatever the offset."""
    ax, ay = ANCHORS[clip.anchor]
    frames = clip.keyframes
    t0 = Fraction(start) / fps
    ox = (
        f"({kf.keyframe_expr(frames.offset_x, fps=fps, start=t0)})"
        if frames and frames.offset_x
        else fmt_num(clip.offset.x)
    )
    oy = (
        f"({kf.keyframe_expr(frames.offset_y, fps=fps, start=t0)})"
        if frames and frames.offset_y
        else fmt_num(clip.offset.y)
    )
    dynamic = bool(frames and (frames.offset_x or frames.offset_y))
    x, y = f"{fmt_num(ax)}*(W-w)+{ox}*W", f"{fmt_num(ay)}*(H-h)+{oy}*H"
    if safe is not None:
        x = _clamp_expr(x, safe.left, 1 - safe.right, "W", "w")
        y = _clamp_expr(y, safe.top, 1 - safe.bottom, "H", "h")
    return x, y, dynamic


def cover_window(
    src: tuple[int, int], window: tuple[int, int], focus: tuple[float, float] | None, *, even_origin: bool
) -> tuple[int, int]:
    """The top-left corner of the ``window`` a cover crop keeps of a ``src``-sized picture:
    centred on ``focus`` (fractions of the picture; default its centre) as far as the picture
    allows."""
    fx, fy = focus if focus is not None else (0.5, 0.5)
    x = min(max(math.floor(fx * src[0] - window[0] / 2), 0), src[0] - window[0])
    y = min(max(math.floor(fy * src[1] - window[1] / 2), 0), src[1] - window[1])
    return (x & ~1, y & ~1) if even_origin else (x, y)


def _focus_after_crop(
    focus: tuple[float, float] | None, clip: Clip, src_w: int, src_h: int, kept: tuple[int, int, int, int]
) -> tuple[float, float] | None:
    """A focus given as fractions of the source, as fractions of what the clip's ``crop`` kept
    (``kept`` = x, y, width, height in source pixels)."""
    if focus is None or clip.crop is None:
        return focus
    x, y, w, h = kept
    return (focus[0] * src_w - x) / w, (focus[1] * src_h - y) / h


def fit_in_box(
    clip: Clip,
    geo: OutputGeometry,
    src_w: int,
    src_h: int,
    *,
    even_crop: bool = False,
    focus: tuple[float, float] | None = None,
    safe: SafeZone | None = None,
) -> tuple[list[Filter], tuple[int, int], tuple[int, int], list[Filter] | None]:
    """Filters that crop/scale the source into its box.

    ``focus``: the point of the source (fractions) a ``cover`` crop centres on, when it is not
    the centre (see :func:`cover_window`); ``safe``: the safe zone a ``safe_area`` clip's box
    keeps to.

    ``even_crop``: the picture was converted to 4:4:4 before the split (see
    ``CompilerState._xfade_once``); its crops start on even pixels, where ``crop`` puts them on
    4:2:0, so that every output shows exactly what it shows when it converts its own copy.

    Returns (filters, sprite size, box size, blur-background filters or None)."""
    crop = clip.crop
    filters: list[Filter] = []
    if crop is not None and (crop.left or crop.right or crop.top or crop.bottom):
        cw = even(src_w * (1 - crop.left - crop.right))
        ch = even(src_h * (1 - crop.top - crop.bottom))
        x, y = int(src_w * crop.left), int(src_h * crop.top)
        x, y = (x & ~1, y & ~1) if even_crop else (x, y)
        filters.append(filt("crop", cw, ch, x, y))
        focus = _focus_after_crop(focus, clip, src_w, src_h, (x, y, cw, ch))
        src_w, src_h = cw, ch
    if focus is not None and clip.flip in ("horizontal", "both"):
        focus = (1 - focus[0], focus[1])
    if focus is not None and clip.flip in ("vertical", "both"):
        focus = (focus[0], 1 - focus[1])
    if clip.flip in ("horizontal", "both"):
        filters.append(filt("hflip"))
    if clip.flip in ("vertical", "both"):
        filters.append(filt("vflip"))
    box = box_size(clip, geo, src_w, src_h, safe)
    bw, bh = box
    fit = clip.fit or "cover"
    s = clip.scale
    blur_bg: list[Filter] | None = None
    if fit == "cover":
        factor = max(bw / src_w, bh / src_h) * s
        sw, sh = even(src_w * factor), even(src_h * factor)
        tw, th = even(bw * s), even(bh * s)
        size = (min(tw, sw), min(th, sh))
        # Crop the source to the box's shape first, then scale only what is kept.
        cw, ch = min(src_w, even(size[0] / factor)), min(src_h, even(size[1] / factor))
        if (cw, ch) != (src_w, src_h) and (even_crop or focus is not None):
            filters.append(
                filt("crop", cw, ch, *cover_window((src_w, src_h), (cw, ch), focus, even_origin=even_crop))
            )
        elif (cw, ch) != (src_w, src_h):
            filters.append(filt("crop", cw, ch))
        if (cw, ch) != size:
            filters.append(filt("scale", *size))
    elif fit == "contain" or fit == "blur":
        factor = min(bw / src_w, bh / src_h) * s
        size = (even(src_w * factor), even(src_h * factor))
        if size != (src_w, src_h):
            filters.append(filt("scale", *size))
        if fit == "blur":
            cover = max(bw / src_w, bh / src_h)
            blur_bg = [
                filt("scale", even(src_w * cover), even(src_h * cover)),
                filt("crop", bw, bh),
                filt("gblur", sigma=max(8, round(min(bw, bh) / 30))),
            ]
    elif fit == "fill":
        size = (even(bw * s), even(bh * s))
        if size != (src_w, src_h):
            filters.append(filt("scale", *size))
    else:  # none: the source's own pixels, times scale
        size = (even(src_w * s), even(src_h * s))
        if s != 1:
            filters.append(filt("scale", *size))
    return filters, size, box, blur_bg


def media_sprite_size(
    clip: Clip, geo: OutputGeometry, src_w: int, src_h: int, safe: SafeZone | None = None
) -> tuple[int, int]:
    """The pixel size an image or video clip's picture takes on ``geo``'s canvas, by the very
    code the compiler lays it out with (crop, box, fit, scale). For the compliance check."""
    return fit_in_box(clip, geo, src_w, src_h, safe=safe)[1]


def static_position(
    clip: Clip,
    canvas: tuple[int, int],
    sprite: tuple[int, int],
    offset: tuple[float, float] | None = None,
    safe: SafeZone | None = None,
) -> tuple[float, float]:
    """Where the sprite's top-left corner lands, as the overlay expressions of
    :func:`overlay_position` place it: by the anchor, then shifted by the offset (``offset``
    overrides the clip's, e.g. one keyframe's value), kept inside ``safe`` when given."""
    ax, ay = ANCHORS[clip.anchor]
    ox, oy = offset if offset is not None else (clip.offset.x, clip.offset.y)
    W, H = canvas
    x, y = float(ax) * (W - sprite[0]) + ox * W, float(ay) * (H - sprite[1]) + oy * H
    if safe is not None:
        x = max(safe.left * W, min(x, (1 - safe.right) * W - sprite[0]))
        y = max(safe.top * H, min(y, (1 - safe.bottom) * H - sprite[1]))
    return x, y


def watermark_box(
    output: Output, geo: OutputGeometry, src_w: int, src_h: int
) -> tuple[float, float, int, int]:
    """(x, y, width, height) of an output's watermark, as the picture pipeline places it."""
    wm = output.watermark
    assert wm is not None
    width = even(wm.width * geo.width)
    height = max(2, round(width * src_h / src_w / 2) * 2)  # scale=w:-2 keeps the ratio, even
    margin = round(wm.margin * min(geo.width, geo.height))
    ax, ay = ANCHORS[wm.anchor]
    x = margin + float(ax) * (geo.width - width - 2 * margin)
    y = margin + float(ay) * (geo.height - height - 2 * margin)
    return x, y, width, height
