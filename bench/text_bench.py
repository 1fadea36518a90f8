"""What typesetting costs: Reelforge's text against drawing the same text with Pillow by hand.

Usage: ``.venv/bin/python bench/text_bench.py [--runs N]``

Every figure is a ratio against a reference measured in the same run, alternately (A B A B ...):

* ``draw``: a title drawn by ``render_text`` (UAX #14 breaks, balanced lines, the font chosen per
  character) against the same lines drawn with one ``ImageDraw.text`` call on one font;
* ``shrink``: the same title with ``fit: "shrink"`` (a bisection over sizes) against ``draw``;
* ``fallback``: a line in eight scripts (five fonts) against ``draw``;
* ``validate``: ``text_problems`` (every character looked up in the font chain) on a 40-clip
  edit against ``parse_edit`` of the same edit.

Font files and character maps are read once before timing (they are cached per process, as in
a worker).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from reelforge.edit.models import TextAsset
from reelforge.edit.validate import parse_edit
from reelforge.render.fonts import resolve_face
from reelforge.render.glyphs import text_problems
from reelforge.render.text import render_text, text_lines

CANVAS = (1080, 1920)
TITLE = "Summer sale: everything 30 % off at shop.example.com, this weekend only"
MIXED = "Bienvenue · Καλώς ήρθατε · Добро пожаловать · 欢迎 · مرحبا · ברוכים הבאים · स्वागत है · 😀"


def asset(text: str, **style: Any) -> TextAsset:
    return TextAsset.model_validate({"type": "text", "text": text, "style": {"size": 0.06, **style}})


def by_hand(lines: list[str], px: int) -> Callable[[], None]:
    """The reference: the lines already known, one font, one draw call, no fallback."""
    face = resolve_face("DejaVu Sans")
    font = ImageFont.truetype(str(face.path), px, layout_engine=ImageFont.Layout.RAQM)
    text = "\n".join(lines)

    def draw() -> None:
        left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).multiline_textbbox(
            (0, 0), text, font=font, align="center"
        )
        image = Image.new("L", (int(right - left) + 2, int(bottom - top) + 2), 0)
        ImageDraw.Draw(image).multiline_text((-left, -top), text, fill=255, font=font, align="center")

    return draw


def edit_document(clips: int) -> dict[str, Any]:
    texts = [TITLE, MIXED, "Hotel Le Couchant · 49 € per night", "字幕も同じフォントの連鎖で描かれます。"]
    return {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "text", "text": texts[i % len(texts)]}, "length": 1}
                        for i in range(clips)
                    ]
                }
            ]
        },
        "outputs": [{"width": 1080, "height": 1920}],
    }


def alternate(a: Callable[[], Any], b: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median seconds of ``a`` and of ``b``, measured alternately."""
    times_a, times_b = [], []
    for _ in range(runs):
        for fn, times in ((a, times_a), (b, times_b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times_a), statistics.median(times_b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    title = asset(TITLE, max_width=0.9)
    px, lines = text_lines(title, CANVAS)
    shrink = asset(TITLE, size=0.12, fit="shrink", max_width=0.8, max_height=0.2, max_lines=3)
    mixed = asset(MIXED, max_width=0.9)
    document = edit_document(40)
    edit = parse_edit(document)
    for warm in (title, shrink, mixed):
        render_text(warm, CANVAS)
    text_problems(edit)

    rows = []
    hand = by_hand(lines, px)
    ours, ref = alternate(lambda: render_text(title, CANVAS), hand, args.runs)
    rows.append(("draw", "render_text / Pillow by hand", ours, ref))
    ours, ref = alternate(lambda: render_text(shrink, CANVAS), lambda: render_text(title, CANVAS), args.runs)
    rows.append(("shrink", 'fit: "shrink" / fixed size', ours, ref))
    ours, ref = alternate(lambda: render_text(mixed, CANVAS), lambda: render_text(title, CANVAS), args.runs)
    rows.append(("fallback", "eight scripts / one script", ours, ref))
    ours, ref = alternate(
        lambda: (parse_edit(document), text_problems(edit)), lambda: parse_edit(document), args.runs
    )
    rows.append(("validate", "parse + glyph check / parse", ours, ref))

    print(f"{'section':<10} {'what':<32} {'ours ms':>9} {'ref ms':>9} {'ratio':>7}")
    for name, what, a, b in rows:
        print(f"{name:<10} {what:<32} {a * 1000:9.2f} {b * 1000:9.2f} {a / b:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
