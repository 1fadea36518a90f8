"""Rasterise text assets with Pillow into RGBA images the compiler overlays.

User text never reaches FFmpeg: it is laid out and drawn here, once per output canvas size,
with RAQM (HarfBuzz shaping, FriBiDi ordering) so Arabic joins and right-to-left text reads in
the right order. Each character is drawn with the first font of the style's chain that has it
(its `font`, its `fallback` families, then the installed defaults: see :mod:`.fonts`), so a
CJK word in a Latin title is drawn by a CJK font rather than as empty boxes; lines break by
Unicode rules into balanced lines (:mod:`.linebreak`), and `fit: "shrink"` takes the largest
size whose lines fit the box. Each layer (background box, shadow, stroke, fill) is drawn as a coverage mask
and composited with real alpha blending, so translucent colours have no dark fringes.

Lines are laid out in "block" coordinates: x from the left of the widest line, y from the top
of the first line (baselines at ascent + i * line height). The image is the union of the block,
the ink (with stroke), the background box and the blurred shadow, so nothing is clipped.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

from ..edit.models import TextAsset, TextStyle
from ..edit.values import parse_color
from .clusters import graphemes
from .fonts import FontFace, font_chain, font_runs
from .linebreak import Unit, balance, break_units, hyphenation_language, line_text
from .shapes import colored, rounded_rect_mask

__all__ = [
    "MAX_TEXT_PIXELS",
    "graphemes",
    "render_text",
    "render_typewriter_strip",
    "scaled",
    "typewriter_frame_count",
]

MAX_TEXT_PIXELS = 40_000_000
"""The largest text image drawn (several layers of this size are held at once)."""

_RAQM = features.check("raqm")
_LAYOUT = ImageFont.Layout.RAQM if _RAQM else ImageFont.Layout.BASIC
# Break opportunities are at these spaces only: a no-break space must keep its words together.

Rect = tuple[float, float, float, float]


# --------------------------------------------------------------------------- text units


def _strong_direction(text: str) -> str | None:
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return None


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True, slots=True)
class _Run:
    """Part of a line drawn with one font of the chain."""

    clusters: tuple[str, ...]
    font: int
    """Index into the layout's fonts."""
    x: float
    """Left end of the run's advance, in block coordinates."""
    width: float


@dataclass(frozen=True, slots=True)
class _Line:
    runs: tuple[_Run, ...]
    x: float
    """Left end of the line's advance, in block coordinates."""
    baseline: float
    width: float
    direction: str

    @property
    def cluster_count(self) -> int:
        return sum(len(run.clusters) for run in self.runs)


@dataclass(frozen=True, slots=True)
class _Layout:
    fonts: tuple[ImageFont.FreeTypeFont, ...]
    font_px: int
    lines: tuple[_Line, ...]
    size: tuple[int, int]
    origin: tuple[int, int]
    """Where block coordinates (0, 0) land in the image."""
    box: tuple[int, int, int, int] | None
    """The background box in image coordinates."""
    language: str | None
    text_size: tuple[float, float]
    """Width and height of the text itself (every line's advance and ink, with the stroke)."""


@functools.lru_cache(maxsize=64)
def _load_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=_LAYOUT)


def _union(a: Rect | None, b: Rect) -> Rect:
    if a is None:
        return b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _grow(r: Rect, by: float, dx: float = 0, dy: float = 0) -> Rect:
    return r[0] - by + dx, r[1] - by + dy, r[2] + by + dx, r[3] + by + dy


class _Typesetter:
    """The font chain of a style at one pixel size: which font draws what, and how wide."""

    def __init__(self, chain: Sequence[FontFace], font_px: int, language: str | None) -> None:
        self.chain = tuple(chain)
        self.fonts = tuple(_load_font(str(face.path), face.index, font_px) for face in self.chain)
        self.language = language
        self._lengths: dict[tuple[str, str], float] = {}

    def runs(self, text: str) -> list[tuple[tuple[str, ...], int]]:
        index = {face: i for i, face in enumerate(self.chain)}
        return [(tuple(graphemes(run)), index[face]) for run, face in font_runs(graphemes(text), self.chain)]

    def run_length(self, text: str, font: int, direction: str) -> float:
        return float(
            self.fonts[font].getlength(text, direction=direction if _RAQM else None, language=self.language)
        )

    def length(self, text: str, direction: str) -> float:
        key = (text, direction)
        if key not in self._lengths:
            self._lengths[key] = sum(
                self.run_length("".join(clusters), font, direction) for clusters, font in self.runs(text)
            )
        return self._lengths[key]


def _paragraphs(text: str, wanted: str) -> list[tuple[str, str]]:
    """The text's paragraphs, each with its direction."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    default = _strong_direction(text) or "ltr"
    out = []
    for paragraph in text.split("\n"):
        direction = wanted if wanted != "auto" else _strong_direction(paragraph) or default
        out.append((paragraph, direction))
    return out


def _set_lines(
    paragraphs: Sequence[tuple[str, str]], setter: _Typesetter, wrap_px: float, hyphenate: str | None
) -> list[tuple[str, str]]:
    """Every line of the text with its direction: UAX #14 breaks, balanced lines."""
    rows: list[tuple[str, str]] = []
    for paragraph, direction in paragraphs:
        units = break_units(paragraph, hyphenate_language=hyphenate)

        def width(i: int, j: int, units: list[Unit] = units, direction: str = direction) -> float:
            return setter.length(line_text(units[i:j]), direction)

        rows.extend((line_text(line), direction) for line in balance(units, width, wrap_px))
    return rows


def _layout(
    asset: TextAsset, canvas: tuple[int, int], base_dir: Path | None, extra_fonts: Sequence[Path]
) -> _Layout:
    style = asset.style
    chain = font_chain(
        style.font,
        style.fallback,
        weight=style.weight,
        italic=style.italic,
        base_dir=base_dir,
        extra_fonts=extra_fonts,
    )
    paragraphs = _paragraphs(asset.text, style.direction)
    hyphenate = hyphenation_language(style.language) if style.hyphenate and style.language else None
    wrap_px = style.max_width * canvas[0] + 0.01
    largest = max(1, round(style.size * canvas[1]))
    if style.fit != "shrink":
        return _layout_at(style, chain, paragraphs, largest, wrap_px, hyphenate)

    height_px = style.max_height * canvas[1] if style.max_height is not None else math.inf

    def fits(layout: _Layout) -> bool:
        width, height = layout.text_size
        count_ok = style.max_lines is None or len(layout.lines) <= style.max_lines
        return count_ok and width <= wrap_px and height <= height_px

    # Text grows with its size (widths, and the line count at a fixed width), so the largest
    # size that fits is found by bisection over whole pixels.
    low = max(1, min(largest, round(style.min_size * canvas[1])))
    best = _layout_at(style, chain, paragraphs, low, wrap_px, hyphenate)
    if not fits(best):
        return best  # nothing fits: the smallest size allowed
    high = largest
    while low < high:
        mid = (low + high + 1) // 2
        layout = _layout_at(style, chain, paragraphs, mid, wrap_px, hyphenate)
        if fits(layout):
            low, best = mid, layout
        else:
            high = mid - 1
    return best


def _layout_at(
    style: TextStyle,
    chain: Sequence[FontFace],
    paragraphs: Sequence[tuple[str, str]],
    font_px: int,
    wrap_px: float,
    hyphenate: str | None,
) -> _Layout:
    language = style.language if _RAQM else None
    setter = _Typesetter(chain, font_px, language)
    stroke_px = style.stroke.width * font_px if style.stroke else 0.0
    rows = _set_lines(paragraphs, setter, wrap_px, hyphenate)

    widths = [setter.length(row, d) if row else 0.0 for row, d in rows]
    block_w = max(widths, default=0.0)
    ascent, descent = setter.fonts[0].getmetrics()
    step = style.line_height * font_px
    lines: list[_Line] = []
    ink: Rect | None = None
    for i, ((row, direction), width) in enumerate(zip(rows, widths, strict=True)):
        x = {"left": 0.0, "center": (block_w - width) / 2, "right": block_w - width}[style.align]
        baseline = ascent + i * step
        runs: list[_Run] = []
        pen = x if direction != "rtl" else x + width
        for clusters, font in setter.runs(row):
            text = "".join(clusters)
            advance = setter.run_length(text, font, direction)
            # a right-to-left line lays its runs out from its right end
            left = pen if direction != "rtl" else pen - advance
            pen = pen + advance if direction != "rtl" else pen - advance
            runs.append(_Run(clusters, font, left, advance))
            if text.strip():
                bbox = setter.fonts[font].getbbox(
                    text,
                    direction=direction if _RAQM else None,
                    language=language,
                    stroke_width=stroke_px,
                    anchor="ls",
                )
                # one pixel more: glyphs drawn at fractional positions spill into it
                ink = _union(
                    ink, _grow((left + bbox[0], baseline + bbox[1], left + bbox[2], baseline + bbox[3]), 1)
                )
        lines.append(_Line(tuple(runs), x, baseline, width, direction))

    body = _union(ink, (0.0, 0.0, block_w, ascent + (len(rows) - 1) * step + descent))
    text_size = (body[2] - body[0], body[3] - body[1])
    box: Rect | None = None
    if style.background is not None:
        pad = style.background.padding * font_px
        box = (
            math.floor(body[0] - pad),
            math.floor(body[1] - pad),
            math.ceil(body[2] + pad),
            math.ceil(body[3] + pad),
        )
        body = box
    extent = body
    if style.shadow is not None and ink is not None:
        reach = 3 * style.shadow.blur * font_px + 1
        extent = _union(extent, _grow(ink, reach, style.shadow.x * font_px, style.shadow.y * font_px))

    x0, y0 = math.floor(extent[0]), math.floor(extent[1])
    size = (max(1, math.ceil(extent[2]) - x0), max(1, math.ceil(extent[3]) - y0))
    if size[0] * size[1] > MAX_TEXT_PIXELS:
        raise ValueError(
            f"text block of {size[0]}x{size[1]} pixels is too large to draw; "
            "use a smaller font size or less text"
        )
    image_box = None
    if box is not None:
        image_box = (int(box[0]) - x0, int(box[1]) - y0, int(box[2]) - x0, int(box[3]) - y0)
    return _Layout(setter.fonts, font_px, tuple(lines), size, (-x0, -y0), image_box, language, text_size)


# --------------------------------------------------------------------------- drawing


def _text_mask(
    layout: _Layout, stroke_px: float, visible: int | None, shift: tuple[float, float] = (0, 0)
) -> Image.Image:
    """Coverage of the glyphs (and their stroke), showing only the first ``visible`` graphemes."""
    mask = Image.new("L", layout.size, 0)
    pen = ImageDraw.Draw(mask)
    ox, oy = layout.origin[0] + shift[0], layout.origin[1] + shift[1]
    remaining = visible
    for line in layout.lines:
        for run in line.runs:
            shown = run.clusters if remaining is None else run.clusters[: max(remaining, 0)]
            if remaining is not None:
                remaining -= len(shown)
            text = "".join(shown)
            if not text.strip():
                continue
            if len(shown) < len(run.clusters) and line.direction == "rtl":
                # a partly typed right-to-left run grows leftwards from its right end
                xy, anchor = (ox + run.x + run.width, oy + line.baseline), "rs"
            else:
                xy, anchor = (ox + run.x, oy + line.baseline), "ls"
            pen.text(
                xy,
                text,
                fill=255,
                font=layout.fonts[run.font],
                anchor=anchor,
                direction=line.direction if _RAQM else None,
                language=layout.language,
                stroke_width=stroke_px,
            )
    return mask


def _background(layout: _Layout, style: TextStyle) -> Image.Image:
    out = Image.new("RGBA", layout.size, (0, 0, 0, 0))
    if style.background is not None and layout.box is not None:
        x0, y0, x1, y1 = layout.box
        mask = Image.new("L", layout.size, 0)
        mask.paste(rounded_rect_mask((x1 - x0, y1 - y0), style.background.radius * layout.font_px), (x0, y0))
        out = colored(mask, parse_color(style.background.color))
    return out


def _compose(layout: _Layout, style: TextStyle, base: Image.Image, visible: int | None) -> Image.Image:
    out = base.copy()
    px = layout.font_px
    stroke_px = style.stroke.width * px if style.stroke is not None else 0.0
    if style.shadow is not None:
        shadow = _text_mask(layout, stroke_px, visible, (style.shadow.x * px, style.shadow.y * px))
        if style.shadow.blur > 0:
            shadow = shadow.filter(ImageFilter.GaussianBlur(style.shadow.blur * px))
        out = Image.alpha_composite(out, colored(shadow, parse_color(style.shadow.color)))
    if style.stroke is not None and stroke_px > 0:
        stroke = _text_mask(layout, stroke_px, visible)
        out = Image.alpha_composite(out, colored(stroke, parse_color(style.stroke.color)))
    return Image.alpha_composite(out, colored(_text_mask(layout, 0, visible), parse_color(style.color)))


def text_lines(
    asset: TextAsset,
    canvas: tuple[int, int],
    *,
    base_dir: Path | None = None,
    extra_fonts: Sequence[Path] = (),
) -> tuple[int, list[str]]:
    """How the text is set on a ``canvas``: the font size in pixels (after `fit`) and the
    text of each line, as :func:`render_text` draws them."""
    layout = _layout(asset, canvas, base_dir, extra_fonts)
    lines = ["".join(c for run in line.runs for c in run.clusters) for line in layout.lines]
    return layout.font_px, lines


def scaled(asset: TextAsset, scale: float) -> TextAsset:
    """``asset`` drawn ``scale`` times larger (a clip's `scale` enlarges the font, not a bitmap)."""
    if scale == 1:
        return asset
    sizes = {"size": min(1.0, asset.style.size * scale), "min_size": min(1.0, asset.style.min_size * scale)}
    return asset.model_copy(update={"style": asset.style.model_copy(update=sizes)})


def render_text(
    asset: TextAsset,
    canvas: tuple[int, int],
    *,
    base_dir: Path | None = None,
    extra_fonts: Sequence[Path] = (),
) -> Image.Image:
    """The text block drawn for a ``canvas`` of (width, height) pixels, as an RGBA image.

    The image holds the laid-out block plus everything drawn around it (background padding,
    stroke, shadow); the compiler places it by the clip's anchor and offset. Raises
    :class:`~reelforge.render.fonts.FontNotFoundError` for an unknown font.
    """
    layout = _layout(asset, canvas, base_dir, extra_fonts)
    return _compose(layout, asset.style, _background(layout, asset.style), None)


def _frame_count(layout: _Layout, max_frames: int, max_height: int, max_pixels: int) -> int:
    total = sum(line.cluster_count for line in layout.lines)
    w, h = layout.size
    frames = min(total, max_frames - 1) + 1
    return max(2, min(frames, max_height // h, max_pixels // (w * h)))


def typewriter_frame_count(
    asset: TextAsset,
    canvas: tuple[int, int],
    *,
    max_frames: int = 120,
    max_height: int = 16384,
    max_pixels: int = 32_000_000,
    base_dir: Path | None = None,
    extra_fonts: Sequence[Path] = (),
) -> int:
    """How many frames :func:`render_typewriter_strip` makes with these arguments, without
    drawing anything (it lays the text out, which takes milliseconds)."""
    layout = _layout(asset, canvas, base_dir, extra_fonts)
    return _frame_count(layout, max_frames, max_height, max_pixels)


def render_typewriter_strip(
    asset: TextAsset,
    canvas: tuple[int, int],
    *,
    max_frames: int = 120,
    max_height: int = 16384,
    max_pixels: int = 32_000_000,
    base_dir: Path | None = None,
    extra_fonts: Sequence[Path] = (),
) -> tuple[Image.Image, int]:
    """Frames of the text being typed, stacked top to bottom: (strip, frame count).

    Every frame has the size of :func:`render_text`'s image; frame 0 shows no text (only the
    background box, if any), the last frame is exactly :func:`render_text`'s image, and frame k
    shows the first graphemes at their final positions, so nothing moves while typing. Long
    texts reveal several graphemes per frame; the frame count also keeps the strip within
    ``max_height`` pixels and ``max_pixels`` (but there are always at least two frames).
    """
    layout = _layout(asset, canvas, base_dir, extra_fonts)
    total = sum(line.cluster_count for line in layout.lines)
    frames = _frame_count(layout, max_frames, max_height, max_pixels)
    w, h = layout.size
    base = _background(layout, asset.style)
    strip = Image.new("RGBA", (w, h * frames), (0, 0, 0, 0))
    for k in range(frames):
        visible = None if k == frames - 1 else math.ceil(total * k / (frames - 1))
        strip.paste(_compose(layout, asset.style, base, visible), (0, k * h))
    return strip, frames
