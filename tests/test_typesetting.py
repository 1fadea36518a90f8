"""Line breaking (UAX #14 with typographic rules, balanced lines, hyphenation on request) and
`fit: "shrink"`, in text assets and captions, checked on the lines set and on rendered pixels
in 16:9, 1:1 and 9:16."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from reelforge.edit.models import CaptionStyle, Cue, TextAsset
from reelforge.render.captions import _pieces, build_ass
from reelforge.render.fonts import font_chain
from reelforge.render.linebreak import break_units, line_text
from reelforge.render.text import text_lines

PORTRAIT = (180, 320)  # 9:16
URL = "shop.example.com"


def text(value: str, **style: Any) -> TextAsset:
    return TextAsset.model_validate({"type": "text", "text": value, "style": style})


def lines_of(value: str, canvas: tuple[int, int] = PORTRAIT, **style: Any) -> list[str]:
    return text_lines(text(value, **style), canvas)[1]


# --------------------------------------------------------------------------- break opportunities


def test_break_opportunities_follow_unicode_and_typography() -> None:
    def units(value: str, **kw: Any) -> list[str]:
        return [u.text for u in break_units(value, **kw)]

    assert units(f"Visit {URL} today") == ["Visit ", f"{URL} ", "today"]
    assert units("Couchant · 49 €") == ["Couchant ", "· 49 €"]
    assert units("Save 12 % now | today") == ["Save ", "12 % ", "now ", "| today"]
    assert units("(hello) world!") == ["(hello) ", "world!"]
    # a separator at the end stays with the word before it
    assert units("Coming soon –") == ["Coming ", "soon –"]
    assert units("'\"; --") == ["'\"; --"]
    assert units("a\u00a0b c") == ["a\u00a0b ", "c"]
    # Korean words stay whole; Chinese and Japanese break between characters
    assert units("환영합니다 여러분") == ["환영합니다 ", "여러분"]
    assert units("欢迎ようこそ") == ["欢", "迎", "よ", "う", "こ", "そ"]
    # hyphenation points only when asked, and a hyphen shown only where a line ends
    assert units("wonderful") == ["wonderful"]
    hyphenated = break_units("wonderful", hyphenate_language="en")
    assert [u.text for u in hyphenated] == ["won", "der", "ful"]
    assert line_text(hyphenated[:1]) == "won-" and line_text(hyphenated) == "wonderful"


@pytest.mark.parametrize("size", [0.05, 0.06, 0.08, 0.1, 0.12])
def test_a_url_is_never_broken_inside_in_9_16(size: float) -> None:
    lines = lines_of(f"Order now at {URL} while stocks last", size=size)
    assert any(URL in line for line in lines), lines
    assert not any(line.endswith(("shop.example.co", "shop.example.")) for line in lines), lines


WORDS = st.lists(
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ.é"), min_size=1, max_size=24),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(words=WORDS, max_width=st.floats(0.05, 1), size=st.floats(0.03, 0.25))
def test_lines_only_ever_break_between_words(words: list[str], max_width: float, size: float) -> None:
    value = " ".join(words)
    lines = lines_of(value, size=size, max_width=max_width)
    assert " ".join(lines) == value


@pytest.mark.parametrize("size", [0.06, 0.08, 0.1, 0.12, 0.14])
def test_a_price_line_never_leaves_a_separator_dangling(size: float) -> None:
    for line in lines_of("Hotel Le Couchant · 49 € per night", size=size):
        assert not line.rstrip().endswith(("·", "|")), line
        assert not line.startswith("€"), line


def test_lines_are_balanced_rather_than_filled() -> None:
    value = "Fresh pastries and coffee every morning"
    # filling each line in turn gives "Fresh pastries and coffee every" / "morning"
    assert lines_of(value, canvas=(640, 360), size=0.1, max_width=0.9) == [
        "Fresh pastries and",
        "coffee every morning",
    ]
    # as few lines as filling needs: one when it all fits
    assert lines_of(value, canvas=(1280, 360), size=0.1, max_width=0.9) == [value]


def test_long_words_are_hyphenated_only_when_asked() -> None:
    value = "Extraordinarily comprehensive documentation"
    plain = lines_of(value, canvas=(320, 180), size=0.12, max_width=0.5)
    assert not any(line.endswith("-") for line in plain)
    hyphenated = lines_of(value, canvas=(320, 180), size=0.12, max_width=0.5, hyphenate=True, language="en")
    assert any(line.endswith("-") for line in hyphenated), hyphenated
    assert "".join(line.removesuffix("-") for line in hyphenated).replace(" ", "") == value.replace(" ", "")


def test_caption_lines_are_balanced() -> None:
    text = "这是一个很长的中文字幕需要两行才能显示完"  # 20 characters: about 14 fit on a line
    ass = build_ass(
        [Cue(start=0, end=2, text=text)],
        CaptionStyle(size=0.1, max_lines=2),
        canvas=(320, 180),
        offset=Fraction(0),
        length=Fraction(2),
        fps=Fraction(25),
        font_family="DejaVu Sans",
        chain=font_chain("DejaVu Sans", weight="bold"),
    )
    (dialogue,) = [line for line in ass.splitlines() if line.startswith("Dialogue:")]
    shown = re.sub(r"\{[^}]*\}", "", dialogue.split(",", 9)[9]).replace("\u200e", "")
    lines = shown.split("\\N")
    # filling the first line would leave 6 characters on the second
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) <= 1, lines
    assert "".join(lines) == text


def test_caption_pieces_keep_korean_words_whole() -> None:
    assert [p.text for p in _pieces("환영합니다 中文")] == ["환영합니다", "中", "文"]


def test_captions_keep_urls_and_separators_together() -> None:
    style = CaptionStyle(size=0.09)
    cue = Cue(start=0, end=2, text=f"Hotel Le Couchant · 49 € at {URL}")
    ass = build_ass(
        [cue],
        style,
        canvas=PORTRAIT,
        offset=Fraction(0),
        length=Fraction(2),
        fps=Fraction(25),
        font_family="DejaVu Sans",
        chain=font_chain("DejaVu Sans", weight="bold"),
    )
    dialogue = "".join(line for line in ass.splitlines() if line.startswith("Dialogue:"))
    # libass never wraps at a no-break space: the separator, the price and its sign stay together
    assert "·\u00a049\u00a0€" in dialogue
    assert URL in dialogue


# --------------------------------------------------------------------------- fit: shrink


BOX = {"max_width": 0.8, "max_height": 0.3, "max_lines": 3}
HEADLINE = f"Summer sale: everything 30 % off at {URL}"
OUTPUTS = {"16x9": (320, 180), "1x1": (240, 240), "9x16": (180, 320)}


def render_outputs(tmp_path: Path, style: dict[str, Any]) -> dict[str, np.ndarray]:
    clip = {"asset": {"type": "text", "text": HEADLINE, "style": style}, "start": 0, "length": 1}
    edit = {
        "timeline": {"background": "#000000", "tracks": [{"clips": [clip]}]},
        "outputs": [
            {"format": "png", "width": w, "height": h, "name": name} for name, (w, h) in OUTPUTS.items()
        ],
    }
    path = tmp_path / "edit.json"
    path.write_text(json.dumps(edit))
    done = subprocess.run(
        [sys.executable, "-m", "reelforge", "render", str(path), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {name: np.asarray(Image.open(tmp_path / "out" / f"{name}.png").convert("L")) for name in OUTPUTS}


def ink_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(frame > 40)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def inside(box: tuple[int, int, int, int], size: tuple[int, int]) -> bool:
    w, h = size
    left, right = (1 - BOX["max_width"]) / 2 * w, (1 + BOX["max_width"]) / 2 * w
    top, bottom = (1 - BOX["max_height"]) / 2 * h, (1 + BOX["max_height"]) / 2 * h
    return left - 1 <= box[0] and box[2] <= right + 1 and top - 1 <= box[1] and box[3] <= bottom + 1


def test_fit_shrink_keeps_the_text_inside_its_box_in_every_aspect_ratio(tmp_path: Path) -> None:
    frames = render_outputs(tmp_path, {"size": 0.25, "min_size": 0.02, "fit": "shrink", **BOX})
    for name, size in OUTPUTS.items():
        box = ink_box(frames[name])
        assert inside(box, size), (name, box)
        # the largest size that fits: the text fills its box in one direction or the other
        w, h = size
        filled = max((box[2] - box[0]) / (BOX["max_width"] * w), (box[3] - box[1]) / (BOX["max_height"] * h))
        assert filled > 0.7, (name, box, filled)
        _, lines = text_lines(text(HEADLINE, size=0.25, fit="shrink", **BOX), size)
        assert len(lines) <= BOX["max_lines"] and any(URL in line for line in lines), lines


def test_without_fit_the_same_text_overflows_its_box(tmp_path: Path) -> None:
    frames = render_outputs(tmp_path, {"size": 0.25, **BOX})
    assert not all(inside(ink_box(frames[name]), size) for name, size in OUTPUTS.items())
