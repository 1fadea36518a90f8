"""Captions: scripts rendered by the real FFmpeg/libass onto a black canvas, checked by pixels."""

from __future__ import annotations

import itertools
import math
import re
import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pysubs2
import pytest
from PIL import ImageFont

from reelforge.edit.models import CaptionStyle, Cue, Word
from reelforge.edit.timing import parse_time
from reelforge.ffmpeg.binary import ffmpeg_exe
from reelforge.render.captions import (
    CaptionFileError,
    CuePlacement,
    _boundary_cs,
    build_ass,
    caption_filter,
    load_cues,
    load_placed_cues,
    write_srt,
    write_vtt,
)

W, H = 320, 180
NTSC = Fraction(30000, 1001)

# DejaVu Sans has Latin, Arabic and Hebrew: the tests need one font that covers all three.
try:
    from reelforge.render.fonts import resolve_font

    FONT_FILE: Path | None = resolve_font("DejaVu Sans", weight="bold")
except Exception:
    FONT_FILE = None
needs_dejavu = pytest.mark.skipif(FONT_FILE is None, reason="DejaVu Sans is not installed")


def style(**options: object) -> CaptionStyle:
    """A caption style with a font big enough for pixel checks on the small test canvas."""
    return CaptionStyle.model_validate({"size": 0.12, **options})


def script(
    cues: list[Cue],
    caption_style: CaptionStyle | None = None,
    *,
    fps: Fraction = Fraction(25),
    offset: Fraction = Fraction(0),
    length: Fraction = Fraction(60),
) -> str:
    return build_ass(
        cues,
        caption_style or style(),
        canvas=(W, H),
        offset=offset,
        length=length,
        fps=fps,
        font_family="DejaVu Sans",
        font_file=FONT_FILE,
    )


def render(
    tmp_path: Path,
    ass_text: str,
    *,
    fps: str = "25",
    duration: float = 2,
    start: float = 0,
    name: str = "captions.ass",
    fonts_dir: Path | None = None,
) -> np.ndarray:
    """Frames (n, H, W, 3) of a black canvas with the script burned in, from ``start`` s."""
    ass_path = tmp_path / name
    ass_path.parent.mkdir(parents=True, exist_ok=True)
    ass_path.write_text(ass_text, encoding="utf-8")
    # RGB throughout, so colours are checked exactly rather than through 4:2:0 chroma.
    graph = f"format=rgb24,{caption_filter(ass_path, fonts_dir)}"
    args = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"color=c=black:s={W}x{H}:r={fps}:d={duration}",
        "-vf",
        graph,
    ]
    if start:
        args += ["-ss", str(start)]  # output seeking: frames keep their canvas timestamps
    args += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    done = subprocess.run(args, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return np.frombuffer(done.stdout, np.uint8).reshape(-1, H, W, 3).astype(int)


def ink(frame: np.ndarray) -> np.ndarray:
    return frame.max(axis=2) > 100


def ink_count(frame: np.ndarray) -> int:
    return int(ink(frame).sum())


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) inclusive of a non-empty mask."""
    ys, xs = np.nonzero(mask)
    assert len(xs), "no pixels"
    return int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())


def near(frame: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> np.ndarray:
    return (np.abs(frame - np.array(rgb)) <= tol).all(axis=2)


def events(ass_text: str) -> list[tuple[int, int, str]]:
    """(start cs, end cs, text) of each Dialogue line."""
    out = []
    for line in ass_text.splitlines():
        if line.startswith("Dialogue:"):
            _, start, end, *_rest = line.split(",", 9)
            text = line.split(",", 9)[9]
            out.append((_cs(start), _cs(end), text))
    return out


def _cs(stamp: str) -> int:
    h, m, s = stamp.split(":")
    sec, cs = s.split(".")
    return ((int(h) * 60 + int(m)) * 60 + int(sec)) * 100 + int(cs)


# --------------------------------------------------------------------------- timing


def test_cue_shows_from_the_frame_at_its_start_to_the_frame_before_its_end(tmp_path: Path) -> None:
    frames = render(tmp_path, script([Cue(start=0.48, end=1.2, text="Hello")]))
    shown = [ink_count(f) > 0 for f in frames]
    assert shown.index(True) == 12  # 0.48 s is frame 12 at 25 fps; frame 11 has nothing
    assert not shown[11] and shown[12] and shown[29] and not shown[30]
    assert sum(shown) == 30 - 12


def test_frame_exact_at_ntsc_rate(tmp_path: Path) -> None:
    # "15f" = 0.5005 s; 1.0 s falls between frames 29 (0.967 s) and 30 (1.001 s).
    cues = [Cue(start="15f", end=1.0, text="Hi"), Cue(start=1.4, end="60f", text="Hi")]
    frames = render(tmp_path, script(cues, fps=NTSC), fps="30000/1001")
    shown = [i for i, f in enumerate(frames) if ink_count(f)]
    # 1.4 s * 29.97 = 41.96 -> frame 42; "60f" ends it, last shown is 59.
    assert shown == [*range(15, 30), *range(42, 60)]


def test_late_frames_at_25fps_still_land_on_their_frame(tmp_path: Path) -> None:
    # FFmpeg computes frame 803's time as 32119 ms (803 * 0.04 * 1000 in doubles): a cue
    # starting exactly at 32.12 s would miss it if its start were written as 32.12.
    frames = render(tmp_path, script([Cue(start=32.12, end=32.2, text="Hi")]), duration=32.32, start=32)
    shown = [800 + i for i, f in enumerate(frames) if ink_count(f)]
    assert shown == [803, 804]


@pytest.mark.parametrize(
    "fps", [Fraction(25), NTSC, Fraction(24000, 1001), Fraction(30), Fraction(50), Fraction(60)]
)
def test_event_boundaries_fall_strictly_between_frames(fps: Fraction) -> None:
    tb = float(1 / fps)  # what FFmpeg's subtitle filters do: pts * av_q2d(tb) * 1000, truncated
    for frame in range(1, 30000, 7):
        ms = _boundary_cs(frame, fps) * 10
        assert int((frame - 1) * tb * 1000) < ms <= int(frame * tb * 1000), frame


def test_offset_shifts_and_length_clips(tmp_path: Path) -> None:
    cues = [Cue(start=0, end=5, text="Long"), Cue(start=1.5, end=2, text="After the clip")]
    ass = script(cues, offset=Fraction(2, 5), length=Fraction(4, 5))
    frames = render(tmp_path, ass)
    shown = [i for i, f in enumerate(frames) if ink_count(f)]
    assert shown == list(range(10, 30))  # 0.4 s to 1.2 s
    assert len(events(ass)) == 1


# --------------------------------------------------------------------------- look


@pytest.mark.parametrize(
    ("position", "band"), [("bottom", (135, 180)), ("top", (0, 45)), ("center", (60, 120))]
)
def test_position(tmp_path: Path, position: str, band: tuple[int, int]) -> None:
    frame = render(
        tmp_path, script([Cue(start=0, end=1, text="Position")], style(position=position)), duration=0.04
    )[0]
    _, _, y0, y1 = bbox(ink(frame))
    assert band[0] <= y0 and y1 < band[1]
    x0, x1, _, _ = bbox(ink(frame))
    assert abs((x0 + x1) / 2 - W / 2) < 10  # centred


def test_colours_outline_and_font_size(tmp_path: Path) -> None:
    white = render(tmp_path, script([Cue(start=0, end=1, text="Colour")]), duration=0.04)[0]
    assert near(white, (255, 255, 255), 10).sum() > 50
    red = style(color="#ff0000", outline_color="#00ff00", outline=0.15, size=0.3)
    big = render(tmp_path, script([Cue(start=0, end=1, text="Colour")], red), duration=0.04)[0]
    assert near(big, (255, 0, 0), 30).sum() > 300
    assert near(big, (0, 255, 0), 30).sum() > 100
    assert near(big, (255, 255, 255), 60).sum() == 0
    _, _, y0, y1 = bbox(ink(big))
    _, _, sy0, sy1 = bbox(ink(white))
    assert (y1 - y0) > 3 * (sy1 - sy0)


def test_semi_transparent_colour(tmp_path: Path) -> None:
    half = style(color="#ffffff80", outline=0)
    frame = render(tmp_path, script([Cue(start=0, end=1, text="Half")], half), duration=0.04)[0]
    assert frame.max() < 140  # half-opaque white on black is mid grey
    assert near(frame, (128, 128, 128), 8).sum() > 50


def test_background_box(tmp_path: Path) -> None:
    frame = render(
        tmp_path, script([Cue(start=0, end=1, text="Boxed")], style(background="#0000ff")), duration=0.04
    )[0]
    blue = near(frame, (0, 0, 255), 10)
    assert blue.sum() > 400
    x0, x1, y0, y1 = bbox(blue)
    tx0, tx1, ty0, ty1 = bbox(near(frame, (255, 255, 255), 10))
    assert x0 < tx0 and tx1 < x1 and y0 < ty0 and ty1 < y1  # the box surrounds the text
    translucent = render(
        tmp_path, script([Cue(start=0, end=1, text="Boxed")], style(background="#0000ff80")), duration=0.04
    )[0]
    assert near(translucent, (0, 0, 128), 6).sum() > 400


def test_line_breaks_in_the_text_are_kept(tmp_path: Path) -> None:
    one = render(tmp_path, script([Cue(start=0, end=1, text="top bottom")]), duration=0.04)[0]
    two = render(tmp_path, script([Cue(start=0, end=1, text="top\nbottom")]), duration=0.04)[0]
    _, _, y0, y1 = bbox(ink(one))
    _, _, z0, z1 = bbox(ink(two))
    assert (z1 - z0) > 1.7 * (y1 - y0)


# --------------------------------------------------------------------------- word highlight


def test_only_the_current_word_is_highlighted(tmp_path: Path) -> None:
    cue = Cue(
        start=0,
        end=1.6,
        text="first second",
        words=[Word(text="first", start=0.2, end=0.6), Word(text="second", start=0.8, end=1.4)],
    )
    frames = render(tmp_path, script([cue], style(highlight_color="#00ff00")))
    text = ink(frames[2])
    x0, x1, _, _ = bbox(text)

    def green(i: int) -> np.ndarray:
        return near(frames[i], (0, 255, 0), 40)

    for i in (0, 4, 15, 19, 35, 39):  # before, between and after the words
        assert green(i).sum() == 0, i
        assert near(frames[i], (255, 255, 255), 10).sum() > 50
    first = [bbox(green(i)) for i in (5, 14)]  # "first" is spoken (0.2-0.6 s)
    second = [bbox(green(i)) for i in (20, 34)]  # "second" is spoken (0.8-1.4 s)
    assert first[0] == first[1] and second[0] == second[1]
    assert abs(first[0][0] - x0) <= 3 and abs(second[0][1] - x1) <= 3
    assert first[0][1] < second[0][0]  # a word's worth of green each, left then right
    assert near(frames[5], (255, 255, 255), 10)[:, second[0][0] :].sum() > 50  # "second" still white
    assert ink_count(frames[40]) == 0
    # The highlight changes colours only: the text does not move.
    assert all(bbox(ink(frames[i])) == bbox(text) for i in (0, 5, 20, 39))


def test_words_that_do_not_match_the_text_are_shown_instead() -> None:
    cue = Cue(
        start=0,
        end=2,
        text="something else",
        words=[Word(text="spoken", start=0, end=1), Word(text="words", start=1, end=2)],
    )
    texts = [t for _, _, t in events(script([cue]))]
    assert all("spoken" in t and "words" in t and "something" not in t for t in texts)
    # Punctuation-only tokens of the text may go without a word.
    cue = Cue(
        start=0,
        end=2,
        text="Yes — no!",
        words=[Word(text="yes", start=0, end=1), Word(text="no", start=1, end=2)],
    )
    texts = [t for _, _, t in events(script([cue]))]
    assert all("—" in t for t in texts)


def test_words_are_found_ignoring_case_and_punctuation() -> None:
    cue = Cue(
        start=0,
        end=3,
        text="Hello, New York! (yes)",
        words=[
            Word(text=" hello", start=0, end=1),
            Word(text="New York", start=1, end=2),
            Word(text="Yes.", start=2, end=3),
        ],
    )
    texts = [
        re.sub(r"\{\\1c[^}]*\}", "<", t).replace("{\\r}", ">").replace("\u200e", "")
        for _, _, t in events(script([cue]))
    ]
    assert texts == ["<Hello>, New York! (yes)", "Hello, <New York>! (yes)", "Hello, New York! (<yes>)"]


def test_cjk_breaks_between_characters_without_adding_spaces() -> None:
    text = "这是一个很长的中文字幕，它需要被分成好几个部分才能在屏幕上显示出来，因为它太长了。"
    evs = events(script([Cue(start=0, end=4, text=text)], style(size=0.1, max_lines=1)))
    assert len(evs) >= 3
    parts = [t.replace("\u200e", "") for _, _, t in evs]
    assert "".join(parts) == text
    assert not any(p[0] in "，。" for p in parts)  # no line starts with closing punctuation
    two = events(script([Cue(start=0, end=4, text=text)], style(size=0.1, max_lines=2)))
    # libass only wraps at spaces, so a break inside CJK text is written out.
    assert "\\N" in two[0][2]
    cue = Cue(
        start=0,
        end=2,
        text="你好，世界",
        words=[Word(text="你好", start=0, end=1), Word(text="世界", start=1, end=2)],
    )
    first = events(script([cue]))[0][2]
    assert re.search(r"\{\\1c[^}]*\}你好\{\\r\}，世界$", first)


# --------------------------------------------------------------------------- right to left


@needs_dejavu
def test_arabic_renders_right_to_left(tmp_path: Path) -> None:
    cue = Cue(
        start=0,
        end=1,
        text="مرحبا بالعالم",
        words=[Word(text="مرحبا", start=0, end=0.5), Word(text="بالعالم", start=0.5, end=1)],
    )
    frames = render(tmp_path, script([cue], style(highlight_color="#00ff00")), duration=1)
    x0, x1, _, _ = bbox(ink(frames[0]))
    middle = (x0 + x1) / 2
    assert ink_count(frames[0]) > 100
    # The first word read is the rightmost one.
    gx0, _, _, _ = bbox(near(frames[2], (0, 255, 0), 40))
    assert gx0 > middle
    _, gx1, _, _ = bbox(near(frames[20], (0, 255, 0), 40))
    assert gx1 < middle


@needs_dejavu
@pytest.mark.parametrize(
    ("text", "direction", "bang_left"),
    [
        ("abc !!!!", "auto", False),
        ("abc !!!!", "rtl", True),  # a right-to-left paragraph puts the trailing "!!!!" on the left
        ("שלום !!!!", "auto", True),
        ("שלום !!!!", "ltr", False),
    ],
)
def test_paragraph_direction(tmp_path: Path, text: str, direction: str, bang_left: bool) -> None:
    first, bang = text.split()
    cue = Cue(
        start=0,
        end=1,
        text=text,
        words=[Word(text=first, start=0, end=0.5), Word(text=bang, start=0.5, end=1)],
    )
    frame = render(
        tmp_path,
        script([cue], style(highlight_color="#00ff00", direction=direction)),
        duration=0.64,
        start=0.6,
    )[0]
    x0, x1, _, _ = bbox(ink(frame))
    gx0, gx1, _, _ = bbox(near(frame, (0, 255, 0), 40))
    assert (gx1 < (x0 + x1) / 2) == bang_left
    assert (gx0 > (x0 + x1) / 2) != bang_left


# --------------------------------------------------------------------------- hostile text


def test_override_tags_in_text_render_literally(tmp_path: Path) -> None:
    hostile = r"{\fs300\c&H0000FF&}X"
    frame = render(tmp_path, script([Cue(start=0, end=1, text=hostile)]), duration=0.04)[0]
    x0, x1, y0, y1 = bbox(ink(frame))
    assert y1 - y0 < 25  # not 300 px tall
    assert x1 - x0 > 120  # the whole text is drawn, braces and all
    assert ((frame[..., 0] > 150) & (frame[..., 1] < 80)).sum() == 0  # and not red
    plain = render(tmp_path, script([Cue(start=0, end=1, text="X")]), duration=0.04)[0]
    assert ink_count(frame) > 5 * ink_count(plain)


@pytest.mark.parametrize("text", [r"a\Nb", r"a\nb", r"a\hb", "a\\", "a\\{b}", "}{"])
def test_backslash_sequences_render_literally(tmp_path: Path, text: str) -> None:
    frame = render(tmp_path, script([Cue(start=0, end=1, text=text)]), duration=0.04)[0]
    _, _, y0, y1 = bbox(ink(frame))
    assert y1 - y0 < 20  # one line
    assert "\\" not in text or ink_count(frame) > ink_count(
        render(tmp_path, script([Cue(start=0, end=1, text=text.replace("\\", ""))]), duration=0.04)[0]
    )


def test_hostile_text_cannot_break_the_script() -> None:
    ass = script(
        [Cue(start=0, end=1, text="a\r\nDialogue: 0,0:00:00.00,9:00:00.00,Default,,0,0,0,,pwned\x00")]
    )
    assert ass.count("\nDialogue: ") == len(events(ass)) >= 1
    assert all(0 <= start < end <= 100 for start, end, _ in events(ass))
    assert "\x00" not in ass and "\r" not in ass
    odd_font = build_ass(
        [],
        CaptionStyle(),
        canvas=(W, H),
        offset=Fraction(0),
        length=Fraction(1),
        fps=Fraction(25),
        font_family="Evil,1,2\nStyle: x",
    )
    style_lines = [line for line in odd_font.splitlines() if line.startswith("Style:")]
    assert len(style_lines) == 1 and len(style_lines[0].split(",")) == 23


# --------------------------------------------------------------------------- max_lines


@pytest.mark.parametrize("font_file", [FONT_FILE, None], ids=["measured", "estimated"])
def test_long_cue_is_split_into_parts_of_at_most_max_lines(tmp_path: Path, font_file: Path | None) -> None:
    text = (
        "This caption is far too long to fit on the lines it is allowed, so it must be "
        "shown in several parts one after the other"
    )
    style = CaptionStyle(max_lines=1, size=0.08)
    ass = build_ass(
        [Cue(start=0, end=4, text=text)],
        style,
        canvas=(W, H),
        offset=Fraction(0),
        length=Fraction(4),
        fps=Fraction(25),
        font_family="DejaVu Sans",
        font_file=font_file,
    )
    evs = events(ass)
    assert len(evs) >= 3
    assert evs[0][0] == 0 and evs[-1][1] == 398
    assert all(a[1] == b[0] for a, b in itertools.pairwise(evs))  # back to back
    assert " ".join(t.replace("\u200e", "") for _, _, t in evs) == text
    starts = [s for s, _, _ in evs]
    frames = render(tmp_path, ass, duration=4)
    single = bbox(ink(render(tmp_path, script([Cue(start=0, end=1, text="Thy")], style), duration=0.04)[0]))
    line_height = single[3] - single[2]
    for cs in starts:
        frame = frames[cs * 25 // 100 + 1]
        _, _, y0, y1 = bbox(ink(frame))
        assert y1 - y0 <= line_height + 2, cs  # one line, never wrapped to two


def test_split_follows_word_timings() -> None:
    words = [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
    ]
    cue = Cue(
        start=0,
        end=8,
        text=" ".join(words),
        words=[Word(text=w, start=i * 0.5, end=i * 0.5 + 0.4) for i, w in enumerate(words)],
    )
    evs = events(script([cue], CaptionStyle(max_lines=1, size=0.1)))
    parts: list[tuple[int, str]] = []
    for start, _, text in evs:
        plain = re.sub(r"\{\\[^}]*\}|\u200e", "", text)
        if not parts or parts[-1][1] != plain:
            parts.append((start, plain))
    assert len(parts) >= 2
    for start, text in parts[1:]:
        first = text.split()[0]
        # A part starts at its first word, on the frame boundary before it.
        assert start == _boundary_cs(math.ceil(words.index(first) * 0.5 * 25), Fraction(25))


# --------------------------------------------------------------------------- filter


def test_filter_path_with_special_characters(tmp_path: Path) -> None:
    weird = tmp_path / "a dir: it's, [odd]; yes"
    fonts = weird / "fonts: 'x', [y]"
    fonts.mkdir(parents=True)
    # Pillow's built-in font (Aileron) is installed nowhere else: it proves fontsdir reached libass.
    (fonts / "aileron.ttf").write_bytes(ImageFont.load_default(20).font_bytes)  # type: ignore[union-attr]
    ass = build_ass(
        [Cue(start=0, end=1, text="Fonts dir")],
        CaptionStyle(weight="normal"),
        canvas=(W, H),
        offset=Fraction(0),
        length=Fraction(1),
        fps=Fraction(25),
        font_family="Aileron",
    )
    with_dir = render(weird, ass, duration=0.04, name="cap: 'x', [y].ass", fonts_dir=fonts)[0]
    without = render(weird, ass, duration=0.04, name="cap: 'x', [y].ass")[0]
    assert ink_count(with_dir) > 50
    assert not (ink(with_dir) == ink(without)).all()


def test_filter_text_is_escaped() -> None:
    text = str(caption_filter(Path("/tmp/a:b,c[d]'e.ass"), Path("/f;o")))
    assert text.startswith("ass=")
    assert "," not in text.replace("\\,", "") and ";" not in text.replace("\\;", "")


# --------------------------------------------------------------------------- sidecars

SIDECAR_CUES = [
    Cue(start=0.5, end=1.25, text="First <b>line</b> & {brace}"),
    Cue(start="50f", end=3, text="Two\nlines"),
    Cue(start=3.5, end=4, text=r"back\Nslash"),
]


@pytest.mark.parametrize(("writer", "fmt"), [(write_srt, "srt"), (write_vtt, "vtt")])
def test_sidecar_round_trip(tmp_path: Path, writer: Callable[..., None], fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    writer(SIDECAR_CUES, path, Fraction(10), Fraction(25))
    subs = pysubs2.load(str(path))
    assert subs.format == fmt
    assert [(e.start, e.end) for e in subs] == [(10500, 11250), (12000, 13000), (13500, 14000)]
    cues = load_cues(path)
    texts = [c.text for c in SIDECAR_CUES]
    if fmt == "srt":
        texts[0] = "First line & {brace}"  # SRT has no escapes: <b> is bold there
    assert [c.text.replace("\u2060", "") for c in cues] == texts
    assert [parse_time(c.start).seconds for c in cues] == [Fraction(21, 2), 12, Fraction(27, 2)]


def test_sidecar_negative_offset_and_length(tmp_path: Path) -> None:
    path = tmp_path / "late.srt"
    write_srt(SIDECAR_CUES, path, Fraction(-1), Fraction(25), length=Fraction(3))
    subs = pysubs2.load(str(path))
    # The output starts 1 s into the clip and the clip lasts 3 s: [0, 2) of the output.
    assert [(e.start, e.end) for e in subs] == [(0, 250), (1000, 2000)]


def test_vtt_escapes_markup(tmp_path: Path) -> None:
    path = tmp_path / "out.vtt"
    write_vtt([Cue(start=0, end=1, text="a <b> & c --> d")], path, Fraction(0), Fraction(25))
    body = path.read_text(encoding="utf-8")
    assert "a &lt;b&gt; &amp; c --&gt; d" in body


# --------------------------------------------------------------------------- load_cues


def test_load_srt_strips_tags(tmp_path: Path) -> None:
    path = tmp_path / "in.srt"
    path.write_text(
        '1\n00:00:01,000 --> 00:00:02,500\n<i>Hello</i> {\\an8}<font color="red">there</font>\n'
        "second line\n\n2\n00:00:03,000 --> 00:00:04,000\nBye\n",
        encoding="utf-8",
    )
    cues = load_cues(path)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.0, 2.5, "Hello there\nsecond line"),
        (3.0, 4.0, "Bye"),
    ]


@pytest.mark.parametrize("suffix", [".srt", ".vtt"])
def test_a_literal_backslash_n_in_srt_and_vtt_stays_text(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"in{suffix}"
    header = "WEBVTT\n\n" if suffix == ".vtt" else "1\n"
    stamp = "00:00:00.000 --> 00:00:01.000" if suffix == ".vtt" else "00:00:00,000 --> 00:00:01,000"
    path.write_text(f"{header}{stamp}\n{{\\an8}}a\\Nb\n", encoding="utf-8")
    cues = load_cues(path)
    assert [c.text for c in cues] == ["a\\Nb"]
    frame = render(tmp_path, script(cues), duration=0.04)[0]
    _, _, y0, y1 = bbox(ink(frame))
    assert y1 - y0 < 20  # one line, the backslash and N drawn


@pytest.mark.parametrize(
    ("settings", "region"),
    [
        # (x0, x1, y0, y1) as fractions of the frame that must hold all the ink
        ("line:0 position:5% align:start", (0.0, 0.75, 0.0, 0.4)),
        ("line:50%,center position:95% align:end", (0.25, 1.0, 0.25, 0.75)),
        ("line:1", (0.0, 1.0, 0.1, 0.55)),
    ],
)
def test_webvtt_cue_settings_place_burned_in_captions(
    tmp_path: Path, settings: str, region: tuple[float, float, float, float]
) -> None:
    path = tmp_path / "placed.vtt"
    path.write_text(f"WEBVTT\n\n00:00.000 --> 00:01.000 {settings}\nHi there\n", encoding="utf-8")
    placed = load_placed_cues(path)
    cues, placements = [c for c, _ in placed], [p for _, p in placed]
    ass = build_ass(
        cues,
        style(),
        canvas=(W, H),
        offset=Fraction(0),
        length=Fraction(60),
        fps=Fraction(25),
        font_family="DejaVu Sans",
        font_file=FONT_FILE,
        placements=placements,
    )
    x0, x1, y0, y1 = bbox(ink(render(tmp_path, ass, duration=0.04)[0]))
    left, right, top, bottom = region
    assert left * W <= x0 and x1 <= right * W and top * H <= y0 and y1 <= bottom * H, (x0, x1, y0, y1)
    # Without settings the same cue sits at the bottom, in the middle.
    default = bbox(ink(render(tmp_path, script(cues), duration=0.04)[0]))
    assert (x0, y0) != (default[0], default[2])


def test_cue_text_that_looks_like_a_placement_mark_is_only_text(tmp_path: Path) -> None:
    # Marks naming a cue's settings are added while reading; the same text typed in a cue
    # (or a mark past the end of the list) must neither pick a placement nor crash.
    path = tmp_path / "forged.vtt"
    path.write_text(
        "WEBVTT\n\n00:00.000 --> 00:01.000 line:0\nTop\n\n"
        "00:01.000 --> 00:02.000\n{\\vtt9}Plain\n\n"
        "00:02.000 --> 00:03.000\n{\\vtt0}Also plain\n",
        encoding="utf-8",
    )
    placed = load_placed_cues(path)
    assert [(c.text, p) for c, p in placed] == [
        ("Top", CuePlacement(line_number=0)),
        ("Plain", None),
        ("Also plain", None),
    ]


def test_file_that_the_parser_chokes_on_is_a_caption_file_error(tmp_path: Path) -> None:
    # Every private-use character present: no marker is left to protect backslashes with.
    path = tmp_path / "odd.srt"
    filler = "".join(chr(c) for c in range(0xE000, 0xF900))
    path.write_text(f"1\n00:00:00,000 --> 00:00:01,000\na\\b {filler}\n", encoding="utf-8")
    with pytest.raises(CaptionFileError, match="cannot be parsed as SRT"):
        load_placed_cues(path)


def test_load_vtt_with_identifiers_notes_and_entities(tmp_path: Path) -> None:
    path = tmp_path / "in.vtt"
    path.write_text(
        "WEBVTT - title\n\nNOTE a comment\nover two lines\n\nintro\n00:01.000 --> 00:02.000 line:0\n"
        "<v Bob>Fish &amp; chips</v>\n\nSTYLE\n::cue { color: red }\n\n"
        "second\n00:00:03.000 --> 00:00:04.000\n<c.yellow>Tom</c> &lt;3\n",
        encoding="utf-8",
    )
    cues = load_cues(path)
    assert [(c.start, c.end, c.text) for c in cues] == [(1.0, 2.0, "Fish & chips"), (3.0, 4.0, "Tom <3")]


def test_load_ass_skips_comments_and_drawings(tmp_path: Path) -> None:
    ass = script([Cue(start=0, end=1, text="Shown")]).replace(
        "Dialogue: 0,0:00:00.00,0:00:00.98", "Dialogue: 0,0:00:00.00,0:00:01.00"
    )
    ass += "Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,hidden\n"
    ass += "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\p1}m 0 0 l 10 0 10 10{\\p0}\n"
    ass += "Dialogue: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,{\\b1}Bold{\\b0}\\Nnext\n"
    path = tmp_path / "in.ass"
    path.write_text(ass, encoding="utf-8")
    cues = load_cues(path)
    assert [(c.start, c.end, c.text.replace("\u200e", "")) for c in cues] == [
        (0.0, 1.0, "Shown"),
        (2.0, 3.0, "Bold\nnext"),
    ]


def test_format_comes_from_the_content(tmp_path: Path) -> None:
    vtt_named_srt = tmp_path / "really-vtt.srt"
    vtt_named_srt.write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nHi &amp; bye\n", encoding="utf-8")
    assert load_cues(vtt_named_srt)[0].text == "Hi & bye"
    srt_as_txt = tmp_path / "subs.txt"
    srt_as_txt.write_bytes("1\r\n00:00:01,000 --> 00:00:02,000\r\nCafé\r\n".encode("cp1252"))
    assert load_cues(srt_as_txt)[0].text == "Café"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"just some words\nnothing timed\n", "not an SRT, WebVTT or ASS"),
        (b"{1}{25}MicroDVD line\n{30}{50}another\n", "MICRODVD"),
        (b"1\n00:00:01,000 --> 00:00:02,000\n\n", "no cues"),
        (b"\x00\x01\x02\xff\xfe\x00garbage", "not an SRT"),
        (b"big", "larger than"),
    ],
)
def test_load_errors_name_the_file(tmp_path: Path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "bad.srt"
    if content is not None:
        path.write_bytes(content)
    if content == b"big":
        with path.open("r+b") as f:
            f.truncate(21 * 2**20)  # sparse: instant
    with pytest.raises(CaptionFileError) as info:
        load_cues(path)
    assert str(path) in str(info.value)
    assert reason.lower() in str(info.value).lower()
    assert info.value.path == path


def test_load_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CaptionFileError, match="directory"):
        load_cues(tmp_path)
