"""Rasterise shape assets (rectangles, circles, lines) into RGBA images the compiler overlays.

Shapes are drawn as coverage masks at several times the final size and averaged down, which
antialiases edges exactly. The averaging uses a box filter rather than Lanczos: Lanczos rings
around hard edges, leaving a faint halo outside the shape and transparent corners that are not
quite transparent.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw

from ..edit.models import ShapeAsset
from ..edit.values import parse_color

__all__ = ["MAX_SHAPE_PIXELS", "colored", "render_shape", "rounded_rect_mask"]

SUPERSAMPLE = 4
MAX_SHAPE_PIXELS = 64_000_000
"""The largest box drawn (an 8K canvas fits); the supersampling factor drops for big boxes so
the oversized mask stays below this too."""

Rgba = tuple[int, int, int, int]


def _factor(size: tuple[int, int]) -> int:
    w, h = size
    if w * h > MAX_SHAPE_PIXELS:
        raise ValueError(f"shape box {w}x{h} is too large to draw (limit {MAX_SHAPE_PIXELS} pixels)")
    factor = SUPERSAMPLE
    while factor > 1 and w * h * factor * factor > MAX_SHAPE_PIXELS:
        factor -= 1
    return factor


def _downsample(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    return mask if mask.size == size else mask.resize(size, Image.Resampling.BOX)


def _shape_masks(
    size: tuple[int, int], kind: str, radius: float, stroke: float
) -> tuple[Image.Image, Image.Image | None]:
    """(whole shape, stroke band inside its edge or None) coverage masks of ``size``."""
    f = _factor(size)
    w, h = size[0] * f, size[1] * f

    def draw(inset: int) -> Image.Image:
        mask = Image.new("L", (w, h), 0)
        box = (inset, inset, w - 1 - inset, h - 1 - inset)
        if box[2] < box[0] or box[3] < box[1]:
            return mask
        pen = ImageDraw.Draw(mask)
        if kind == "circle":
            pen.ellipse(box, fill=255)
        else:
            corner = max(0, round(radius * f) - inset)
            pen.rounded_rectangle(
                box, radius=min(corner, (box[2] - box[0]) // 2, (box[3] - box[1]) // 2), fill=255
            )
        return mask

    outer = draw(0)
    band = None
    inset = round(stroke * f)
    if inset > 0:
        band = _downsample(ImageChops.subtract(outer, draw(inset)), size)
    return _downsample(outer, size), band


def rounded_rect_mask(size: tuple[int, int], radius: float) -> Image.Image:
    """An antialiased coverage mask ("L") of a rectangle filling ``size`` with rounded corners."""
    return _shape_masks(size, "rectangle", radius, 0)[0]


def colored(mask: Image.Image, color: Rgba) -> Image.Image:
    """An RGBA layer of ``color`` whose alpha is ``mask`` scaled by the colour's own alpha."""
    r, g, b, a = color
    layer = Image.new("RGBA", mask.size, (r, g, b, 0))
    alpha = mask if a == 255 else mask.point(lambda v: v * a // 255)
    layer.putalpha(alpha)
    return layer


def _line_mask(size: tuple[int, int], thickness: float) -> Image.Image:
    f = _factor(size)
    w, h = size[0] * f, size[1] * f
    mask = Image.new("L", (w, h), 0)
    t = round(thickness * f)
    if t > 0:
        top = (h - t) // 2
        ImageDraw.Draw(mask).rectangle((0, max(0, top), w - 1, min(h, top + t) - 1), fill=255)
    return _downsample(mask, size)


def render_shape(asset: ShapeAsset, box: tuple[int, int], canvas_height: int) -> Image.Image:
    """The shape drawn to fill ``box`` (width, height in pixels), as an RGBA image of that size.

    Rectangles and circles (an ellipse filling the box) get ``fill`` and a ``stroke`` of
    ``stroke_width`` drawn inside their edge, so the shape never outgrows its box; a line runs
    across the box's width, centred vertically, ``stroke_width`` thick, in ``stroke`` (or
    ``fill``). Widths and the corner radius are fractions of ``canvas_height``.
    """
    size = (max(1, box[0]), max(1, box[1]))
    _factor(size)  # refuse an oversized box before allocating anything
    out = Image.new("RGBA", size, (0, 0, 0, 0))
    stroke_px = asset.stroke_width * canvas_height
    if asset.shape == "line":
        color = asset.stroke or asset.fill
        if color is not None:
            out = colored(_line_mask(size, stroke_px), parse_color(color))
        return out
    whole, band = _shape_masks(
        size, asset.shape, asset.radius * canvas_height, stroke_px if asset.stroke else 0
    )
    if asset.fill is not None:
        # the fill covers the whole shape and the stroke lies on top, so no seam shows between them
        out = Image.alpha_composite(out, colored(whole, parse_color(asset.fill)))
    if asset.stroke is not None and band is not None:
        out = Image.alpha_composite(out, colored(band, parse_color(asset.stroke)))
    return out
