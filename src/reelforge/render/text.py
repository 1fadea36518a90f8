"""Rasterise text assets with Pillow into RGBA images the compiler overlays.

User text never reaches FFmpeg: it is laid out and drawn here, once per output canvas size,
with RAQM (HarfBuzz shaping, FriBiDi ordering) so Arabic joins and right-to-left text reads in
the right order. Each layer (background box, shadow, stroke, fill) is drawn as a coverage mask
and composited with real alpha blending, so translucent colours have no dark fringes.

Lines are laid out in "block" coordinates: x from the left of the widest line, y from the top
of the first line (baselines at ascent + i * line height). The image is the union of the block,
the ink (with stroke), the background box and the blurred shadow, so nothing is clipped.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

from ..edit.models import TextAsset, TextStyle
from ..edit.values import parse_color
from .fonts import resolve_font
from .shapes import colored, rounded_rect_mask

__all__ = ["MAX_TEXT_PIXELS", "graphemes", "render_text", "render_typewriter_strip", "typewriter_frame_count"]

MAX_TEXT_PIXELS = 40_000_000
"""The largest text image drawn (several layers of this size are held at once)."""

_RAQM = features.check("raqm")
_LAYOUT = ImageFont.Layout.RAQM if _RAQM else ImageFont.Layout.BASIC
# Break opportunities are at these spaces only: a no-break space must keep its words together.
_SPACES = " \t\u3000"
# CJK punctuation that must not start a line (a small part of the Japanese "kinsoku" rules).
_NO_BREAK_BEFORE = frozenset("、。，．,.!?！？：；:;)]}」』）】〕〉》ー…・々ゝゞヽヾ")

Rect = tuple[float, float, float, float]


# --------------------------------------------------------------------------- text units


def _extends(prev: str, char: str) -> bool:
    """Whether ``char`` belongs to the grapheme cluster ending in ``prev`` (a close
    approximation of UAX #29: marks, joiners, variation selectors, skin tones, flag pairs)."""
    code = ord(char)
    if unicodedata.category(char) in ("Mn", "Mc", "Me") or char == "\u200d":
        return True
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True
    if prev.endswith("\u200d"):
        return True
    regional = 0x1F1E6 <= code <= 0x1F1FF
    return regional and len(prev) == 1 and 0x1F1E6 <= ord(prev) <= 0x1F1FF


def graphemes(text: str) -> list[str]:
    """``text`` split into user-perceived characters (a letter with its accents is one)."""
    out: list[str] = []
    for char in text:
        if out and _extends(out[-1], char):
            out[-1] += char
        else:
            out.append(char)
    return out


def _wide(cluster: str) -> bool:
    # CJK ideographs, kana, hangul and fullwidth forms: lines may break between any two
    return unicodedata.east_asian_width(cluster[0]) in ("W", "F") and cluster[0] not in _SPACES


def _break_units(paragraph: str) -> list[str]:
    """Pieces that must stay on one line: a word with its trailing spaces, or one CJK character."""
    units: list[str] = []
    current, prev = "", ""
    for cluster in graphemes(paragraph):
        breaks = (
            bool(current)
            and cluster[0] not in _SPACES
            and cluster not in _NO_BREAK_BEFORE
            and (prev[0] in _SPACES or _wide(cluster) or _wide(prev))
        )
        if breaks:
            units.append(current)
            current = ""
        current += cluster
        prev = cluster
    if current:
        units.append(current)
    return units


def _wrap(paragraph: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy line breaking; a unit too long for a line of its own breaks between graphemes."""
    lines: list[str] = []
    line = ""
    for unit in _break_units(paragraph):
        if fits(line + unit):
            line += unit
            continue
        if line.strip(_SPACES):
            lines.append(line)
        line = ""
        if fits(unit):
            line = unit
            continue
        for cluster in graphemes(unit):
            if line and not fits(line + cluster):
                lines.append(line)
                line = ""
            line += cluster
    lines.append(line)
    return [line.rstrip(_SPACES) for line in lines]


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
class _Line:
    clusters: tuple[str, ...]
    x: float
    """Left end of the line's advance, in block coordinates."""
    baseline: float
    width: float
    direction: str


@dataclass(frozen=True, slots=True)
class _Layout:
    font: ImageFont.FreeTypeFont
    font_px: int
    lines: tuple[_Line, ...]
    size: tuple[int, int]
    origin: tuple[int, int]
    """Where block coordinates (0, 0) land in the image."""
    box: tuple[int, int, int, int] | None
    """The background box in image coordinates."""
    language: str | None


@functools.lru_cache(maxsize=64)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, layout_engine=_LAYOUT)


def _union(a: Rect | None, b: Rect) -> Rect:
    if a is None:
        return b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _grow(r: Rect, by: float, dx: float = 0, dy: float = 0) -> Rect:
    return r[0] - by + dx, r[1] - by + dy, r[2] + by + dx, r[3] + by + dy


def _layout(
    asset: TextAsset, canvas: tuple[int, int], base_dir: Path | None, extra_fonts: Sequence[Path]
) -> _Layout:
    style = asset.style
    font_px = max(1, round(style.size * canvas[1]))
    path = resolve_font(
        style.font, weight=style.weight, italic=style.italic, base_dir=base_dir, extra_fonts=extra_fonts
    )
    font = _load_font(str(path), font_px)
    language = style.language if _RAQM else None
    stroke_px = style.stroke.width * font_px if style.stroke else 0.0
    wrap_px = style.max_width * canvas[0] + 0.01

    def measure(text: str, direction: str) -> float:
        return font.getlength(text, direction=direction if _RAQM else None, language=language)

    text = asset.text.replace("\r\n", "\n").replace("\r", "\n")
    default = _strong_direction(text) or "ltr"
    rows: list[tuple[str, str]] = []
    for paragraph in text.split("\n"):
        direction: str = style.direction
        if direction == "auto":
            direction = _strong_direction(paragraph) or default

        def fits(candidate: str, direction: str = direction) -> bool:
            return measure(candidate.rstrip(_SPACES), direction) <= wrap_px

        rows.extend((row, direction) for row in _wrap(paragraph, fits))

    widths = [measure(row, d) if row else 0.0 for row, d in rows]
    block_w = max(widths, default=0.0)
    ascent, descent = font.getmetrics()
    step = style.line_height * font_px
    lines: list[_Line] = []
    ink: Rect | None = None
    for i, ((row, direction), width) in enumerate(zip(rows, widths, strict=True)):
        x = {"left": 0.0, "center": (block_w - width) / 2, "right": block_w - width}[style.align]
        baseline = ascent + i * step
        lines.append(_Line(tuple(graphemes(row)), x, baseline, width, direction))
        if row.strip():
            left, top, right, bottom = font.getbbox(
                row,
                direction=direction if _RAQM else None,
                language=language,
                stroke_width=stroke_px,
                anchor="ls",
            )
            # one pixel more: glyphs drawn at fractional positions spill into it
            ink = _union(ink, _grow((x + left, baseline + top, x + right, baseline + bottom), 1))

    body = _union(ink, (0.0, 0.0, block_w, ascent + (len(rows) - 1) * step + descent))
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
    return _Layout(font, font_px, tuple(lines), size, (-x0, -y0), image_box, language)


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
        shown = line.clusters if remaining is None else line.clusters[:remaining]
        if remaining is not None:
            remaining -= len(shown)
        text = "".join(shown)
        if not text.strip():
            continue
        if len(shown) < len(line.clusters) and line.direction == "rtl":
            # a partly typed right-to-left line grows leftwards from its right end
            xy, anchor = (ox + line.x + line.width, oy + line.baseline), "rs"
        else:
            xy, anchor = (ox + line.x, oy + line.baseline), "ls"
        pen.text(
            xy,
            text,
            fill=255,
            font=layout.font,
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
    total = sum(len(line.clusters) for line in layout.lines)
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
    total = sum(len(line.clusters) for line in layout.lines)
    frames = _frame_count(layout, max_frames, max_height, max_pixels)
    w, h = layout.size
    base = _background(layout, asset.style)
    strip = Image.new("RGBA", (w, h * frames), (0, 0, 0, 0))
    for k in range(frames):
        visible = None if k == frames - 1 else math.ceil(total * k / (frames - 1))
        strip.paste(_compose(layout, asset.style, base, visible), (0, k * h))
    return strip, frames
