"""Text rasterisation and font lookup: real fonts (DejaVu), real Pillow/RAQM, pixel checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from reelforge.edit.models import TextAsset
from reelforge.render.fonts import FontNotFoundError, _fc_escape, resolve_font
from reelforge.render.linebreak import break_units
from reelforge.render.text import (
    graphemes,
    render_text,
    render_typewriter_strip,
    typewriter_frame_count,
)

CANVAS = (320, 180)
SANS = resolve_font("DejaVu Sans")


def text(value: str, **style: Any) -> TextAsset:
    return TextAsset.model_validate({"type": "text", "text": value, "style": style})


def px(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBA")).astype(int)


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) inclusive bounds of the True pixels."""
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def is_color(a: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> np.ndarray:
    return (np.abs(a[..., :3] - np.array(rgb)).max(axis=-1) <= tol) & (a[..., 3] > 200)


# --------------------------------------------------------------------------- colour, box, stroke, shadow


def test_fill_colour_appears_and_translucency_has_no_dark_fringe() -> None:
    a = px(render_text(text("Hello", color="#ff0000", size=0.2), CANVAS))
    assert is_color(a, (255, 0, 0), tol=0).sum() > 100

    half = px(render_text(text("Hello", color="#00ff0080", size=0.2), CANVAS))
    assert 120 <= half[..., 3].max() <= 130
    covered = half[..., 3] > 0
    # colour channels stay the colour where the glyph edge is only partly covered
    assert (half[covered][:, :3] == [0, 255, 0]).all()


def test_background_box_surrounds_text_with_padding() -> None:
    size, pad = 0.2, 0.5
    a = px(
        render_text(
            text("Hi", color="#ff0000", size=size, background={"color": "#0000ff", "padding": pad}), CANVAS
        )
    )
    pad_px = pad * size * CANVAS[1]
    blue = is_color(a, (0, 0, 255), tol=0)
    # the box reaches every edge of the image, fully opaque
    assert blue[0].all() and blue[-1].all() and blue[:, 0].all() and blue[:, -1].all()
    x0, y0, x1, y1 = ink_box(is_color(a, (255, 0, 0), tol=60))
    h, w = a.shape[:2]
    assert x0 >= pad_px - 2 and y0 >= pad_px - 2
    assert w - 1 - x1 >= pad_px - 2 and h - 1 - y1 >= pad_px - 2


def test_rounded_background_leaves_corners_transparent() -> None:
    a = px(render_text(text("Hi", size=0.2, background={"color": "#0000ff", "radius": 1}), CANVAS))
    h, w = a.shape[:2]
    for y, x in ((0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1)):
        assert a[y, x, 3] == 0
    assert a[0, w // 2, 3] == 255 and a[h // 2, 0, 3] == 255


def test_stroke_surrounds_the_glyphs() -> None:
    a = px(
        render_text(text("O", color="#ffffff", size=0.3, stroke={"color": "#00ff00", "width": 0.15}), CANVAS)
    )
    green, white = is_color(a, (0, 255, 0)), is_color(a, (255, 255, 255))
    assert green.sum() > 50 and white.sum() > 50
    row = a[a.shape[0] // 2]
    opaque = np.nonzero(row[:, 3] > 200)[0]
    # across the middle of the "O", the outermost opaque pixels are the stroke's
    assert is_color(row[opaque[[0, -1]]], (0, 255, 0)).all()
    # the stroke is wider than the plain glyph
    plain = render_text(text("O", size=0.3), CANVAS)
    assert a.shape[1] > plain.width


@pytest.mark.parametrize("sx, sy", [(0.2, 0.2), (-0.2, 0.2), (0.2, -0.2)])
def test_shadow_falls_in_its_offset_direction(sx: float, sy: float) -> None:
    style = {"color": "#ffffff", "size": 0.25, "shadow": {"color": "#0000ff", "x": sx, "y": sy, "blur": 0}}
    a = px(render_text(text("T", **style), CANVAS))
    white_y, white_x = np.argwhere(is_color(a, (255, 255, 255))).mean(axis=0)
    blue_y, blue_x = np.argwhere(is_color(a, (0, 0, 255))).mean(axis=0)
    assert np.sign(blue_x - white_x) == np.sign(sx) and np.sign(blue_y - white_y) == np.sign(sy)


def test_blurred_shadow_is_inside_the_image() -> None:
    style = {"size": 0.2, "shadow": {"color": "#000000", "x": 0.3, "y": 0.3, "blur": 0.2}}
    a = px(render_text(text("Hi", **style), CANVAS))
    # the blur fades out before the image's edge: nothing is clipped
    assert a[-1, :, 3].max() < 8 and a[:, -1, 3].max() < 8


# --------------------------------------------------------------------------- layout


LONG = "The quick brown fox jumps over the lazy dog and keeps running far away"


def test_narrower_max_width_wraps_into_more_lines() -> None:
    wide = render_text(text(LONG, size=0.08, max_width=0.9), CANVAS)
    narrow = render_text(text(LONG, size=0.08, max_width=0.4), CANVAS)
    assert narrow.height > wide.height * 1.5
    assert wide.width <= 0.9 * CANVAS[0] + 4 and narrow.width <= 0.4 * CANVAS[0] + 4


def test_explicit_newlines_and_line_height() -> None:
    one = render_text(text("Ab", size=0.1), CANVAS)
    three = render_text(text("Ab\nAb\nAb", size=0.1), CANVAS)
    spaced = render_text(text("Ab\nAb\nAb", size=0.1, line_height=2.4), CANVAS)
    step = 1.2 * 0.1 * CANVAS[1]
    assert abs(three.height - one.height - 2 * step) <= 2
    assert abs(spaced.height - one.height - 4 * step) <= 2


def test_an_overlong_word_is_never_broken_between_letters() -> None:
    one_line = render_text(text("W" * 40, size=0.1, max_width=1), CANVAS)
    image = render_text(text("W" * 40, size=0.1, max_width=0.3), CANVAS)
    # it overflows its width on one line (`fit: "shrink"` is the way to make it fit)
    assert image.size == one_line.size
    assert image.width > 0.3 * CANVAS[0]


def test_cjk_without_spaces_wraps_per_character() -> None:
    wide = render_text(text("你好世界你好世界你好世界", size=0.1, max_width=1), CANVAS)
    narrow = render_text(text("你好世界你好世界你好世界", size=0.1, max_width=0.1), CANVAS)
    assert narrow.height > wide.height * 3
    assert narrow.width <= 0.1 * CANVAS[0] + 4
    # break opportunities: between CJK characters, never before closing punctuation
    assert [u.text for u in break_units("你好世界")] == ["你", "好", "世", "界"]
    assert [u.text for u in break_units("Hi 世界。")] == ["Hi ", "世", "界。"]
    assert [u.text for u in break_units("a\u00a0b c")] == ["a\u00a0b ", "c"]


@pytest.mark.parametrize("align", ["left", "right", "center"])
def test_alignment_of_a_short_line_under_a_long_one(align: str) -> None:
    a = px(render_text(text("Wide first line\nx", size=0.1, align=align), CANVAS))
    h, w = a.shape[:2]
    x0, _, x1, _ = ink_box(a[h // 2 + 2 :, :, 3] > 128)  # the second line
    left_gap, right_gap = x0, w - 1 - x1
    if align == "left":
        assert left_gap < 4 < right_gap
    elif align == "right":
        assert right_gap < 4 < left_gap
    else:
        assert abs(left_gap - right_gap) <= 3


def test_bold_has_more_ink_than_normal() -> None:
    normal = px(render_text(text("Bold", size=0.2), CANVAS))[..., 3].sum()
    bold = px(render_text(text("Bold", size=0.2, weight="bold"), CANVAS))[..., 3].sum()
    assert bold > normal * 1.2


# --------------------------------------------------------------------------- right to left


def basic_render(value: str, size: int) -> np.ndarray:
    """Codepoints drawn left to right with no shaping or reordering (Pillow's BASIC layout)."""
    font = ImageFont.truetype(str(SANS), size, layout_engine=ImageFont.Layout.BASIC)
    image = Image.new("L", (size * (len(value) + 2), size * 2), 0)
    ImageDraw.Draw(image).text((size, size // 2), value, fill=255, font=font)
    return np.asarray(image).astype(int)


def cropped(alpha: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = ink_box(alpha > 0)
    return alpha[y0 : y1 + 1, x0 : x1 + 1]


def test_hebrew_reads_right_to_left() -> None:
    word = "שלום"
    shown = cropped(px(render_text(text(word, size=0.2), CANVAS))[..., 3])
    visual = cropped(basic_render(word[::-1], 36))
    logical = cropped(basic_render(word, 36))
    assert shown.shape == visual.shape

    def diff(a: np.ndarray, b: np.ndarray) -> float:
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        return float(np.abs(a[:h, :w] - b[:h, :w]).mean())

    assert diff(shown, visual) < diff(shown, logical) / 3


def test_arabic_is_shaped_into_joined_forms() -> None:
    word = "مرحبا بالعالم"
    shaped = cropped(px(render_text(text(word, size=0.2), CANVAS))[..., 3])
    isolated = cropped(basic_render(word, 36))
    assert shaped.shape[1] < isolated.shape[1] * 0.9


def test_auto_direction_follows_the_first_strong_character() -> None:
    mixed = "שלום abc"
    auto = px(render_text(text(mixed, size=0.15), CANVAS))
    rtl = px(render_text(text(mixed, size=0.15, direction="rtl"), CANVAS))
    ltr = px(render_text(text(mixed, size=0.15, direction="ltr"), CANVAS))
    assert np.array_equal(auto, rtl)
    assert auto.shape == ltr.shape and not np.array_equal(auto, ltr)
    # a Latin-first text stays left to right
    latin = "abc שלום"
    assert np.array_equal(
        px(render_text(text(latin, size=0.15), CANVAS)),
        px(render_text(text(latin, size=0.15, direction="ltr"), CANVAS)),
    )


# --------------------------------------------------------------------------- fonts


def test_family_lookup_by_weight_and_slant() -> None:
    assert resolve_font("DejaVu Sans").name == "DejaVuSans.ttf"
    assert resolve_font("dejavu sans", weight="bold").name == "DejaVuSans-Bold.ttf"
    assert resolve_font("DejaVu Serif", weight="bold", italic=True).name == "DejaVuSerif-BoldItalic.ttf"


def test_unknown_family_raises_instead_of_falling_back() -> None:
    with pytest.raises(FontNotFoundError, match="No Such Family"):
        resolve_font("No Such Family")
    with pytest.raises(FontNotFoundError):
        render_text(text("x", font="No Such Family"), CANVAS)


@pytest.mark.parametrize(
    "hostile", ["DejaVu Sans:style=Bold", "x,y", "DejaVu Sans,DejaVu Serif", "DejaVu Sans-12", "-x", "a\nb"]
)
def test_hostile_family_names_cannot_alter_the_lookup(hostile: str) -> None:
    with pytest.raises(FontNotFoundError):
        resolve_font(hostile)


@pytest.mark.skipif(shutil.which("fc-pattern") is None, reason="needs fontconfig's fc-pattern")
@pytest.mark.parametrize("name", ["DejaVu Sans:style=Bold", "x,y", "a-b\\c", "p:q=r,s-t"])
def test_escaped_family_is_one_family_for_fontconfig(name: str) -> None:
    done = subprocess.run(
        ["fc-pattern", "-f", "%{family}|%{style}|%{size}", "--", _fc_escape(name)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == f"{name}||"


def test_font_file_relative_to_base_dir(tmp_path: Path) -> None:
    shutil.copy(SANS, tmp_path / "mine.ttf")
    assert resolve_font("mine.ttf", base_dir=tmp_path) == tmp_path / "mine.ttf"
    image = render_text(text("Hi", font="mine.ttf"), CANVAS, base_dir=tmp_path)
    assert px(image)[..., 3].max() == 255
    with pytest.raises(FontNotFoundError, match="no such font file"):
        resolve_font("missing.ttf", base_dir=tmp_path)
    (tmp_path / "junk.otf").write_bytes(b"not a font")
    with pytest.raises(FontNotFoundError, match="cannot read"):
        resolve_font("junk.otf", base_dir=tmp_path)


def test_extra_fonts_are_found_by_family_and_weight(tmp_path: Path) -> None:
    regular, bold = tmp_path / "a.ttf", tmp_path / "b.ttf"
    shutil.copy(resolve_font("DejaVu Serif"), regular)
    shutil.copy(resolve_font("DejaVu Serif", weight="bold"), bold)
    extra = [regular, bold]
    assert resolve_font("DejaVu Serif", extra_fonts=extra) == regular
    assert resolve_font("DejaVu Serif", weight="bold", extra_fonts=extra) == bold
    # other families still come from fontconfig
    assert resolve_font("DejaVu Sans", extra_fonts=extra).name == "DejaVuSans.ttf"


# --------------------------------------------------------------------------- typewriter


def test_graphemes_keep_marks_with_their_letter() -> None:
    assert graphemes("e\u0301a") == ["e\u0301", "a"]
    assert graphemes("🇫🇷🇩🇪") == ["🇫🇷", "🇩🇪"]


def test_typewriter_strip_frames() -> None:
    asset = text("Type me", size=0.15, align="center")
    full = px(render_text(asset, CANVAS))
    strip, frames = render_typewriter_strip(asset, CANVAS)
    assert frames == len("Type me") + 1
    h = full.shape[0]
    a = px(strip)
    assert a.shape == (h * frames, full.shape[1], 4)
    assert a[:h, :, 3].max() == 0
    assert np.array_equal(a[-h:], full)
    # ink only grows, and the first letter stays where the full render has it
    coverage = [int((a[k * h : (k + 1) * h, :, 3] > 0).sum()) for k in range(frames)]
    assert coverage == sorted(coverage)
    first = a[h : 2 * h, :, 3] > 128
    assert (full[..., 3][first] > 128).mean() > 0.95


def test_typewriter_groups_long_text_and_bounds_the_strip() -> None:
    _, frames = render_typewriter_strip(text("word " * 60, size=0.05), CANVAS)
    assert frames == 120
    tall = "\n".join(["line"] * 40)
    strip, frames = render_typewriter_strip(text(tall, size=0.1), CANVAS, max_height=4000)
    assert strip.height <= 4000 and frames >= 2
    assert typewriter_frame_count(text(tall, size=0.1), CANVAS, max_height=4000) == frames
    assert strip.height == frames * render_text(text(tall, size=0.1), CANVAS).height


def test_typewriter_types_right_to_left_text_from_the_right() -> None:
    strip, frames = render_typewriter_strip(text("שלום עולם", size=0.15), CANVAS)
    h = strip.height // frames
    alpha = px(strip)[..., 3]
    first_x0, _, first_x1, _ = ink_box(alpha[h : 2 * h] > 0)
    last_x0, _, last_x1, _ = ink_box(alpha[-h:] > 0)
    assert abs(first_x1 - last_x1) <= 2 and first_x0 > (last_x0 + last_x1) / 2
