"""Where a picture goes on a canvas: boxes, fits, anchors and offsets.

Pure functions of a clip (or watermark) and an output's geometry. The picture pipeline lays
clips out with them and the compliance check measures with the very same code, so what the
check reports is where the render puts things.
"""

from __future__ import annotations

import re
from fractions import Fraction

from reelforge.edit.models import Clip, Output

from . import keyframes as kf
from .graph import Filter, filt, fmt_num
from .outputs import OutputGeometry, even

__all__ = [
    "ANCHORS",
    "box_size",
    "fit_in_box",
    "media_sprite_size",
    "overlay_position",
    "overlay_to_pad",
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


_OVERLAY_VARS = re.compile(r"\b[WHwh]\b")


def overlay_to_pad(expr: str) -> str:
    """An overlay position (canvas W,H; sprite w,h) as a pad position (ow,oh; iw,ih)."""
    return _OVERLAY_VARS.sub(lambda m: {"W": "ow", "H": "oh", "w": "iw", "h": "ih"}[m[0]], expr)


def box_size(clip: Clip, geo: OutputGeometry, src_w: int, src_h: int) -> tuple[int, int]:
    W, H = geo.width, geo.height
    if clip.width is not None and clip.height is not None:
        return even(clip.width * W), even(clip.height * H)
    if clip.width is not None:
        bw = clip.width * W
        return even(bw), even(bw * src_h / src_w)
    if clip.height is not None:
        bh = clip.height * H
        return even(bh * src_w / src_h), even(bh)
    return W, H


def overlay_position(clip: Clip, start: int, fps: Fraction) -> tuple[str, str, bool]:
    """Overlay x/y: the sprite placed on the canvas by its anchor, then shifted by the offset.

    The box (width/height) only sizes the sprite; like CSS ``object-position``, a contained
    picture sits at the anchor's side of the canvas. Offsets may be keyframed."""
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
    return f"{fmt_num(ax)}*(W-w)+{ox}*W", f"{fmt_num(ay)}*(H-h)+{oy}*H", dynamic


def fit_in_box(
    clip: Clip,
    geo: OutputGeometry,
    src_w: int,
    src_h: int,
    *,
    even_crop: bool = False,
) -> tuple[list[Filter], tuple[int, int], tuple[int, int], list[Filter] | None]:
    """Filters that crop/scale the source into its box.

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
        filters.append(filt("crop", cw, ch, x & ~1 if even_crop else x, y & ~1 if even_crop else y))
        src_w, src_h = cw, ch
    if clip.flip in ("horizontal", "both"):
        filters.append(filt("hflip"))
    if clip.flip in ("vertical", "both"):
        filters.append(filt("vflip"))
    box = box_size(clip, geo, src_w, src_h)
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
        if (cw, ch) != (src_w, src_h) and even_crop:
            filters.append(filt("crop", cw, ch, (src_w - cw) // 2 & ~1, (src_h - ch) // 2 & ~1))
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


def media_sprite_size(clip: Clip, geo: OutputGeometry, src_w: int, src_h: int) -> tuple[int, int]:
    """The pixel size an image or video clip's picture takes on ``geo``'s canvas, by the very
    code the compiler lays it out with (crop, box, fit, scale). For the compliance check."""
    return fit_in_box(clip, geo, src_w, src_h)[1]


def static_position(
    clip: Clip, canvas: tuple[int, int], sprite: tuple[int, int], offset: tuple[float, float] | None = None
) -> tuple[float, float]:
    """Where the sprite's top-left corner lands, as the overlay expressions of
    :func:`overlay_position` place it: by the anchor, then shifted by the offset (``offset``
    overrides the clip's, e.g. one keyframe's value)."""
    ax, ay = ANCHORS[clip.anchor]
    ox, oy = offset if offset is not None else (clip.offset.x, clip.offset.y)
    W, H = canvas
    return float(ax) * (W - sprite[0]) + ox * W, float(ay) * (H - sprite[1]) + oy * H


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
