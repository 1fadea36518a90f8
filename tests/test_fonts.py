"""Fonts chosen per character by coverage: CJK, Arabic and emoji drawn by a font that has them
(in text assets through Pillow, in captions through FFmpeg's libass), never as empty boxes;
an unknown family or a character no font has is refused when the edit is validated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from reelforge.edit.models import Edit, TextAsset
from reelforge.render.fonts import FontFace, covers, font_chain, font_runs, resolve_face
from reelforge.render.glyphs import text_problems
from reelforge.render.text import graphemes, render_text

CJK = "中"
ARABIC = "مرحبا"
EMOJI = "😀"
NO_FONT_HAS = "\U00010000"  # LINEAR B SYLLABLE B008 A: in none of the installed fonts


def face_for(text: str, *, weight: str = "normal") -> FontFace:
    """The face the chain of the default style draws ``text`` with."""
    runs = font_runs(graphemes(text), font_chain("DejaVu Sans", weight=weight))
    assert len(runs) == 1, runs
    return runs[0][1]


def ink(alpha: np.ndarray, threshold: int = 96) -> np.ndarray:
    """The glyph's inked pixels, cropped to their bounding box, resampled to 48x48."""
    mask = alpha > threshold
    ys, xs = np.nonzero(mask)
    assert len(xs), "nothing drawn"
    crop = Image.fromarray((mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] * 255).astype(np.uint8))
    return np.asarray(crop.resize((48, 48), Image.Resampling.BILINEAR)) > 127


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def drawn_with(face: FontFace, text: str, size: int = 96) -> np.ndarray:
    """``text`` drawn directly with ``face`` (shaped by RAQM), as an alpha array."""
    font = ImageFont.truetype(str(face.path), size, index=face.index, layout_engine=ImageFont.Layout.RAQM)
    image = Image.new("L", (size * (len(text) + 2), size * 3), 0)
    ImageDraw.Draw(image).text((size, size), text, fill=255, font=font)
    return np.asarray(image)


def tofu(size: int = 96) -> np.ndarray:
    """What a font without the character draws: its .notdef glyph, an empty box."""
    return drawn_with(resolve_face("DejaVu Sans"), CJK, size)


def text_alpha(value: str, size: float = 0.4) -> np.ndarray:
    asset = TextAsset.model_validate({"type": "text", "text": value, "style": {"size": size}})
    return np.asarray(render_text(asset, (320, 320)))[..., 3]


# --------------------------------------------------------------------------- coverage


def test_the_chain_has_a_font_for_every_script_and_picks_it_per_run() -> None:
    chain = font_chain("DejaVu Sans")
    assert chain[0] == resolve_face("DejaVu Sans")
    for sample in ("Hello", "Ελληνικά", "Кириллица", ARABIC, "שלום", "नमस्ते", "中文かなカナ한국어", EMOJI):
        assert any(covers(face, c) for c in sample for face in chain), sample
        assert all(any(covers(face, g) for face in chain) for g in graphemes(sample)), sample
    # DejaVu lacks CJK: that run, and only it, goes to the CJK font
    runs = font_runs(graphemes("Price 中文 now"), chain)
    assert [text for text, _ in runs] == ["Price ", "中文 ", "now"]
    assert runs[0][1] == runs[2][1] == chain[0]
    assert "CJK" in runs[1][1].family and covers(runs[1][1], "中文")
    assert not covers(chain[0], CJK)


# --------------------------------------------------------------------------- text assets


@pytest.mark.parametrize("sample", [CJK, ARABIC, EMOJI], ids=["cjk", "arabic", "emoji"])
def test_text_assets_draw_the_glyphs_of_the_font_that_has_them(sample: str) -> None:
    shown = ink(text_alpha(sample))
    own = ink(drawn_with(face_for(sample), sample))
    assert iou(shown, own) > 0.8
    assert iou(shown, ink(tofu())) < 0.5


def test_a_tofu_box_would_be_told_apart() -> None:
    # the comparison itself can fail: DejaVu's own drawing of 中 is the box, not the glyph
    own = ink(drawn_with(face_for(CJK), CJK))
    assert iou(ink(tofu()), own) < 0.5


# --------------------------------------------------------------------------- captions (libass)


def render_still(tmp_path: Path, clip: dict[str, Any], size: tuple[int, int] = (320, 180)) -> np.ndarray:
    edit = {
        "timeline": {"background": "#000000", "tracks": [{"clips": [clip]}]},
        "outputs": [{"format": "png", "width": size[0], "height": size[1], "name": "still"}],
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
    return np.asarray(Image.open(tmp_path / "out" / "still.png").convert("L"))


@pytest.mark.parametrize("sample", [CJK, ARABIC], ids=["cjk", "arabic"])
def test_captions_draw_the_glyphs_of_the_font_that_has_them(tmp_path: Path, sample: str) -> None:
    clip = {
        "asset": {
            "type": "caption",
            "cues": [{"start": 0, "end": 1, "text": sample}],
            "style": {"size": 0.3, "outline": 0, "position": "center"},
        },
        "start": 0,
        "length": 1,
    }
    shown = ink(render_still(tmp_path, clip))
    own = ink(drawn_with(face_for(sample, weight="bold"), sample))
    assert iou(shown, own) > 0.7
    assert iou(shown, ink(tofu())) < 0.5


# --------------------------------------------------------------------------- validation


def edit_with(asset: dict[str, Any]) -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": asset, "start": 0, "length": 1}]}]},
        "outputs": [{"format": "mp4", "width": 320, "height": 180}],
    }


def problems_of(document: dict[str, Any]) -> dict[str, str]:
    return {p.pointer: p.message for p in text_problems(Edit.model_validate(document))}


def test_uncovered_characters_and_unknown_families_are_problems_with_pointers() -> None:
    clip = "/timeline/tracks/0/clips/0/asset"
    found = problems_of(edit_with({"type": "text", "text": f"ok {NO_FONT_HAS} 中文"}))
    assert list(found) == [f"{clip}/text"]
    assert "U+10000" in found[f"{clip}/text"] and "LINEAR B" in found[f"{clip}/text"]
    assert "中" not in found[f"{clip}/text"]

    found = problems_of(edit_with({"type": "text", "text": "x", "style": {"font": "No Such Family"}}))
    assert list(found) == [f"{clip}/style/font"] and "No Such Family" in found[f"{clip}/style/font"]
    found = problems_of(
        edit_with({"type": "text", "text": "x", "style": {"fallback": ["Noto Sans", "Nope"]}})
    )
    assert list(found) == [f"{clip}/style/fallback/1"]

    caption = {
        "type": "caption",
        "cues": [{"start": 0, "end": 1, "text": "fine"}, {"start": 1, "end": 2, "text": NO_FONT_HAS}],
    }
    found = problems_of(edit_with(caption))
    assert list(found) == [f"{clip}/cues/1/text"] and "U+10000" in found[f"{clip}/cues/1/text"]
    found = problems_of(edit_with({**caption, "style": {"font": "Nope Sans"}}))
    assert list(found) == [f"{clip}/style/font"]

    # everything the installed fonts have passes
    assert problems_of(edit_with({"type": "text", "text": f"Ελ Кир {ARABIC} שלום नम 中文 {EMOJI}"})) == {}


def test_per_output_overrides_are_checked_as_each_output_draws_them() -> None:
    document = edit_with({"type": "text", "text": "Hello"})
    clip = document["timeline"]["tracks"][0]["clips"][0]
    clip["overrides"] = {
        "9:16": {"asset": {"text": f"Hi {NO_FONT_HAS}"}},
        "wide": {"asset": {"style": {"font": "Nope Sans"}}},
        "square": {"asset": {"style": {"size": 0.1}}},
    }
    document["outputs"] += [
        {"format": "mp4", "width": 180, "height": 320},
        {"name": "wide", "format": "mp4", "width": 320, "height": 180},
        {"name": "square", "format": "mp4", "width": 180, "height": 180},
    ]
    at = "/timeline/tracks/0/clips/0/overrides"
    found = problems_of(document)
    assert list(found) == [f"{at}/9:16/asset/text", f"{at}/wide/asset/style/font"]
    assert "U+10000" in found[f"{at}/9:16/asset/text"]

    # a problem of the clip as written is reported once, at the clip, not again per override
    clip["asset"]["text"] = f"Hello {NO_FONT_HAS}"
    del clip["overrides"]["9:16"], clip["overrides"]["wide"]
    assert list(problems_of(document)) == ["/timeline/tracks/0/clips/0/asset/text"]


def test_the_cli_refuses_them_at_validation(tmp_path: Path) -> None:
    path = tmp_path / "edit.json"
    path.write_text(
        json.dumps(edit_with({"type": "text", "text": f"a{NO_FONT_HAS}", "style": {"fallback": ["Nope"]}}))
    )
    done = subprocess.run(
        [sys.executable, "-m", "reelforge", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "/timeline/tracks/0/clips/0/asset/style/fallback/0" in done.stdout + done.stderr
    path.write_text(json.dumps(edit_with({"type": "text", "text": f"a{NO_FONT_HAS}"})))
    done = subprocess.run(
        [sys.executable, "-m", "reelforge", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    out = done.stdout + done.stderr
    assert "/timeline/tracks/0/clips/0/asset/text" in out and "U+10000" in out


def test_a_subtitle_file_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "subs.srt").write_text(
        f"1\n00:00:00,000 --> 00:00:01,000\n中文 fine\n\n2\n00:00:01,000 --> 00:00:02,000\nnot {NO_FONT_HAS}\n",
        encoding="utf-8",
    )
    path = tmp_path / "edit.json"
    path.write_text(json.dumps(edit_with({"type": "caption", "src": "subs.srt"})))
    done = subprocess.run(
        [sys.executable, "-m", "reelforge", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "/timeline/tracks/0/clips/0/asset/src" in out and "U+10000" in out and "U+4E2D" not in out


def test_the_api_refuses_them_with_422(sqlite_service: Any) -> None:
    cases = [
        (
            edit_with({"type": "text", "text": f"a{NO_FONT_HAS}"}),
            "#/edit/timeline/tracks/0/clips/0/asset/text",
        ),
        (
            edit_with({"type": "text", "text": "a", "style": {"font": "Nope Sans"}}),
            "#/edit/timeline/tracks/0/clips/0/asset/style/font",
        ),
        (
            edit_with({"type": "caption", "cues": [{"start": 0, "end": 1, "text": NO_FONT_HAS}]}),
            "#/edit/timeline/tracks/0/clips/0/asset/cues/0/text",
        ),
    ]
    for edit, where in cases:
        r = sqlite_service.post("/v1/renders", json={"edit": edit})
        assert r.status_code == 422, r.text
        errors = {e["pointer"]: e["detail"] for e in r.json()["errors"]}
        assert where in errors, r.json()
    assert "U+10000" in errors[cases[-1][1]]
