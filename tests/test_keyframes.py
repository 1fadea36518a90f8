"""Keyframe animation: easing maths in Python, and the expressions and filters run by FFmpeg."""

from __future__ import annotations

import itertools
import re
import subprocess
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pytest

from frames import graph_planes
from reelforge.edit.models import Keyframe
from reelforge.ffmpeg.binary import base_args, ffmpeg_exe
from reelforge.render.graph import Filter, FilterGraph, filt
from reelforge.render.keyframes import (
    animated_opacity,
    animated_opacity_blend,
    animated_rotation,
    animated_scale,
    animated_volume,
    ease,
    keyframe_expr,
    position_exprs,
    rotation_box,
    scale_box,
)

FPS = Fraction(25)


def kf(*points: tuple[float | str, float] | tuple[float | str, float, object]) -> list[Keyframe]:
    """``kf((0, 0), (1, 1, "ease-in"))`` -> keyframes; the third item is the easing."""
    return [
        Keyframe.model_validate({"time": p[0], "value": p[1], **({"easing": p[2]} if len(p) > 2 else {})})
        for p in points
    ]


def reference(frames: Sequence[Keyframe], t: float, fps: Fraction = FPS) -> float:
    """The animated value at clip time ``t``, straight from the definition."""
    from reelforge.edit.timing import parse_time

    timed = sorted(((float(parse_time(k.time).to_seconds(fps)), k) for k in frames), key=lambda p: p[0])
    if t < timed[0][0]:
        return timed[0][1].value
    for (t0, k0), (t1, k1) in itertools.pairwise(timed):
        if t0 <= t < t1:
            return k0.value + (k1.value - k0.value) * ease(k0.easing, (t - t0) / (t1 - t0))
    return timed[-1][1].value


# --------------------------------------------------------------------------- ffmpeg helpers


render = graph_planes


def sprite(
    graph: FilterGraph,
    size: tuple[int, int],
    frames: int,
    *,
    color: str = "white",
    marker: tuple[int, int, int, int] | None = None,
    fps: Fraction = FPS,
) -> str:
    filters = [filt("color", c=color, s=f"{size[0]}x{size[1]}", r=str(fps)), filt("format", "yuva420p")]
    if marker is not None:
        x, y, w, h = marker
        filters.append(filt("drawbox", x=x, y=y, w=w, h=h, color="black", t="fill"))
    filters.append(filt("trim", end_frame=frames))
    return graph.chain([], filters, hint="sprite")[0]


def run_chain(
    size: tuple[int, int], frames: int, chain: list[Filter], out_size: tuple[int, int], **kw: object
) -> tuple[np.ndarray, np.ndarray]:
    graph = FilterGraph()
    label = graph.chain([sprite(graph, size, frames, **kw)], chain, hint="out")[0]  # type: ignore[arg-type]
    return render(graph, label, out_size)


def eval_in_ffmpeg(expr: str, seconds: float, rate: int = 1000) -> np.ndarray:
    """Evaluate ``expr`` of ``t`` with FFmpeg's own evaluator, ``rate`` times a second."""
    graph = FilterGraph()
    out = graph.chain([], [filt("aevalsrc", expr, s=rate, d=seconds)], hint="e")[0]
    cmd = [
        ffmpeg_exe(),
        *base_args(),
        "-filter_complex",
        graph.render(),
        "-map",
        f"[{out}]",
        "-f",
        "f64le",
        "-",
    ]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return np.frombuffer(proc.stdout, np.float64)


# --------------------------------------------------------------------------- easing


@pytest.mark.parametrize(
    "curve", [(0.42, 0, 1, 1), (0, 0, 0.58, 1), (0.25, 0.1, 0.25, 1), (0.34, 1.56, 0.64, 1), (1, 0, 0, 1)]
)
def test_cubic_bezier_matches_an_independent_evaluation(curve: tuple[float, float, float, float]) -> None:
    # Dense samples of the parametric curve, interpolated: no equation solving involved.
    s = np.linspace(0, 1, 200_001)
    x1, y1, x2, y2 = curve
    x = 3 * x1 * s * (1 - s) ** 2 + 3 * x2 * s**2 * (1 - s) + s**3
    y = 3 * y1 * s * (1 - s) ** 2 + 3 * y2 * s**2 * (1 - s) + s**3
    for p in np.linspace(0, 1, 41):
        assert ease(curve, float(p)) == pytest.approx(float(np.interp(p, x, y)), abs=1e-4)


def test_named_easings_are_the_css_curves() -> None:
    assert ease("linear", 0.3) == 0.3
    assert ease("ease-in", 0.5) == pytest.approx(ease((0.42, 0, 1, 1), 0.5))
    assert ease("ease-in", 0.5) == pytest.approx(0.3153, abs=1e-3)  # as browsers compute it
    assert ease("ease-out", 0.5) == pytest.approx(1 - 0.3153, abs=1e-3)
    assert ease("ease-in-out", 0.5) == pytest.approx(0.5)
    assert ease((0.25, 0.1, 0.25, 1), 0.5) == pytest.approx(0.8024, abs=1e-3)  # CSS "ease"
    for name in ("linear", "ease-in", "ease-out", "ease-in-out"):
        assert ease(name, 0) == pytest.approx(0) and ease(name, 1) == pytest.approx(1)
        assert ease(name, -1) == pytest.approx(0) and ease(name, 2) == pytest.approx(1)


# --------------------------------------------------------------------------- expressions

ANIMATIONS = {
    "linear": kf((0.2, 10), (1.2, -30)),
    "named": kf((0, 0, "ease-in"), (0.5, 1, "ease-out"), (1, 0, "ease-in-out"), (1.6, 2)),
    "bezier-overshoot": kf((0.1, 0, (0.34, 1.56, 0.64, 1)), (1.1, 100)),
    "frames-and-jump": kf(("5f", 1), ("10f", 3), ("10f", -1), ("30f", 0, "ease-out")),
    "single": kf((0.5, 7)),
}


@pytest.mark.parametrize("name", sorted(ANIMATIONS))
def test_expression_matches_the_definition_in_ffmpeg(name: str) -> None:
    frames = ANIMATIONS[name]
    start = 0.25
    expr = keyframe_expr(frames, fps=FPS, start=Fraction(1, 4))
    assert re.fullmatch(r"[a-z0-9.+\-*/(),]+", expr), expr  # nothing for the escaper to do
    values = eval_in_ffmpeg(expr, 2.0)
    times = np.arange(len(values)) / 1000
    expected = np.array([reference(frames, t - start) for t in times])
    span = max(abs(k.value) for k in frames) or 1
    # Jumps happen between two samples; compare away from them.
    steady = np.abs(np.diff(expected, prepend=expected[0])) < span / 10
    assert np.abs(values - expected)[steady].max() <= 0.005 * span


def test_expression_holds_before_and_after_and_scales() -> None:
    frames = kf((1, 2), (2, 4))
    values = eval_in_ffmpeg(keyframe_expr(frames, fps=FPS, factor=10), 3.0, rate=10)
    assert values[:11] == pytest.approx([20] * 11)
    assert values[15] == pytest.approx(30)
    assert values[20:] == pytest.approx([40] * 10)


def test_easing_expression_stays_short() -> None:
    # The named curves need about a dozen straight pieces each.
    assert len(keyframe_expr(kf((0, 0, "ease-in-out"), (1, 1)), fps=FPS)) < 800


# --------------------------------------------------------------------------- opacity

FPS30 = Fraction(30)
SIZE = (64, 36)


def _opacity_levels(frames: list[Keyframe], *, blend: bool, color: str = "white") -> np.ndarray:
    graph = FilterGraph()
    src = sprite(graph, SIZE, 40, fps=FPS30, color=color)
    if blend:
        out = animated_opacity_blend(graph, src, frames, fps=FPS30, size=SIZE)
    else:
        out = graph.chain([src], animated_opacity(frames, fps=FPS30), hint="out")[0]
    _, alpha = render(graph, out, SIZE)
    assert len(alpha) == 40
    assert (alpha == alpha[:, :1, :1]).all()  # uniform in every frame
    return alpha[:, 0, 0].astype(float)


@pytest.mark.parametrize("blend", [True, False], ids=["blend", "geq"])
def test_opacity_linear_ease_in_and_bezier(blend: bool) -> None:
    linear = _opacity_levels(kf((0, 0), (1, 1)), blend=blend)
    assert linear[0] == 0 and linear[30:].min() == 255
    assert linear[15] == pytest.approx(127.5, abs=1.5)  # 0.5 s at 30 fps
    eased = _opacity_levels(kf((0, 0, "ease-in"), (1, 1)), blend=blend)
    assert eased[15] < linear[15] - 30
    curve = (0.7, 0.1, 0.2, 0.95)
    bezier = _opacity_levels(kf((0, 0, curve), (1, 1)), blend=blend)
    expected = [255 * ease(curve, n / 30) for n in range(40)]
    assert bezier == pytest.approx(expected, abs=0.01 * 255 + 1)


def test_opacity_multiplies_the_existing_alpha() -> None:
    levels = _opacity_levels(kf((0, 1), (1, 0.5)), blend=True, color="white@0.5")
    assert levels[0] == pytest.approx(128, abs=2)
    assert levels[-1] == pytest.approx(64, abs=2)


# --------------------------------------------------------------------------- rotation and scale


def test_rotation_by_90_degrees_turns_a_marked_corner() -> None:
    size = (80, 40)
    side = rotation_box(size)
    assert side == (90, 90)
    marker = (2, 2, 10, 10)  # a black square in the top-left corner of a white sprite
    chain = animated_rotation(kf((0, 0), (1, 90)), fps=FPS, size=size)
    luma, alpha = run_chain(size, 30, chain, side, marker=marker)
    # Frame 0: unrotated, centred: the marker's centre is at (45 - 33, 45 - 13) = (12, 32).
    assert luma[0][32, 12] < 40 and alpha[0][32, 12] == 255
    assert alpha[0][5, 5] == 0 and alpha[0][45, 45] == 255  # corner transparent, centre opaque
    # Half way: 45 degrees; the end: 90 degrees clockwise, so (-33, -13) -> (13, -33).
    assert luma[28][12, 58] < 40 and alpha[28][12, 58] == 255
    assert luma[28][32, 12] > 200 or alpha[28][32, 12] == 0  # nothing dark left at the old place
    assert alpha[28][45, 28] == 255 and alpha[28][45, 22] == 0  # now 40 wide (25..65)...
    assert alpha[28][8, 45] == 255 and alpha[28][2, 45] == 0  # ...and 80 tall (5..85)


def _coverage_widths(alpha: np.ndarray) -> np.ndarray:
    """Opaque width of each frame's middle row, with sub-pixel edges counted fractionally."""
    return alpha[:, alpha.shape[1] // 2, :].sum(axis=1) / 255


def test_scale_grows_smoothly_about_the_centre() -> None:
    size = (40, 20)
    frames = kf((0, 1), (1, 2, "ease-in-out"))
    box = scale_box(frames, fps=FPS, size=size)
    assert box == (84, 44)
    _, alpha = run_chain(size, 30, animated_scale(frames, fps=FPS, size=size), box)
    widths = _coverage_widths(alpha)
    assert widths[0] == pytest.approx(40, abs=1)
    assert widths[25:] == pytest.approx([80] * 5, abs=1)
    assert widths[12] == pytest.approx(40 * (1 + ease("ease-in-out", 12 / 25)), abs=1)
    assert (np.diff(widths[:25]) > 0).all()  # sub-pixel steps: grows every single frame
    assert (alpha[:, :, 0] == 0).all() and (alpha[:, 0, :] == 0).all()  # margins stay transparent
    columns = np.nonzero(alpha[12][18] > 128)[0]
    assert (columns[0] + columns[-1]) / 2 == pytest.approx(41.5, abs=1)  # centred


def test_scale_down_leaves_transparency_around() -> None:
    size = (40, 20)
    frames = kf((0, 1), (0.4, 0.5))
    box = scale_box(frames, fps=FPS, size=size)
    assert box == (44, 24)
    _, alpha = run_chain(size, 15, animated_scale(frames, fps=FPS, size=size), box)
    assert _coverage_widths(alpha)[10:] == pytest.approx([20] * 5, abs=1)
    assert (alpha[-1][:, :10] == 0).all() and (alpha[-1][:5, :] == 0).all()


def test_scale_refuses_zero() -> None:
    with pytest.raises(ValueError, match="above 0"):
        animated_scale(kf((0, 1), (1, 0)), fps=FPS)


# --------------------------------------------------------------------------- position


@pytest.mark.parametrize(
    ("anchor", "x", "y"),
    [
        ("top-left", "0", "0"),
        ("top", "(W-w)/2", "0"),
        ("top-right", "W-w", "0"),
        ("left", "0", "(H-h)/2"),
        ("center", "(W-w)/2", "(H-h)/2"),
        ("right", "W-w", "(H-h)/2"),
        ("bottom-left", "0", "H-h"),
        ("bottom", "(W-w)/2", "H-h"),
        ("bottom-right", "W-w", "H-h"),
    ],
)
def test_anchor_positions(anchor: str, x: str, y: str) -> None:
    assert position_exprs(anchor, fps=FPS) == (x, y)  # type: ignore[arg-type]
    assert position_exprs(anchor, 0.25, -0.1, fps=FPS) == (f"{x}+W*0.25", f"{y}-H*0.1")  # type: ignore[arg-type]


def _overlay(x: str, y: str, sprite_chain: list[Filter], *, start: Fraction, frames: int = 50) -> np.ndarray:
    graph = FilterGraph()
    canvas = graph.chain(
        [], [filt("color", c="black", s="320x180", r=str(FPS)), filt("trim", end_frame=frames)]
    )[0]
    src = sprite(graph, (20, 20), 40)
    moved = graph.chain([src], [*sprite_chain, filt("setpts", f"PTS+{start}/TB")], hint="moved")[0]
    out = graph.chain(
        [canvas, moved], [filt("overlay", x=x, y=y, eof_action="pass"), filt("format", "yuva420p")]
    )[0]
    luma, _ = render(graph, out, (320, 180))
    return luma


def _bbox(frame: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(frame > 128)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_offset_keyframes_move_the_sprite_on_the_timeline() -> None:
    start = Fraction(2, 5)  # the clip starts at 0.4 s: frame 10
    x, y = position_exprs("bottom-left", kf((0, 0), (1, 0.5)), 0, fps=FPS, start=start)
    luma = _overlay(x, y, [], start=start)
    assert not (luma[9] > 128).any()  # not there before its start
    assert _bbox(luma[10]) == (0, 160, 20, 180)
    assert _bbox(luma[20])[0] == 64  # 0.4 s into the clip: 0.2 of 320
    assert _bbox(luma[35])[0] == 160 and _bbox(luma[45])[0] == 160  # arrived, and stays


def test_box_anchoring_keeps_a_scaled_sprite_growing_about_its_place() -> None:
    frames = kf((0, 1), (1, 2))
    chain = animated_scale(frames, fps=FPS, size=(20, 20))
    x, y = position_exprs("top-left", 0.25, 0.25, fps=FPS, box=(20, 20))
    luma = _overlay(x, y, chain, start=Fraction(0))
    # overlay puts a sprite on even coordinates over 4:2:0, hence 2 pixels of tolerance.
    assert _bbox(luma[0]) == pytest.approx((80, 45, 100, 65), abs=2)
    assert _bbox(luma[30]) == pytest.approx((70, 35, 110, 75), abs=2)  # twice as big, same centre


# --------------------------------------------------------------------------- volume


def test_volume_keyframes_change_the_level() -> None:
    graph = FilterGraph()
    tone = graph.chain([], [filt("sine", f=440, r=48000, d=2)])[0]
    out = graph.chain([tone], [animated_volume(kf((0, 1), (1, 0.1)), fps=FPS, start=Fraction(1, 2))])[0]
    cmd = [
        ffmpeg_exe(),
        *base_args(),
        "-filter_complex",
        graph.render(),
        "-map",
        f"[{out}]",
        "-f",
        "f32le",
        "-",
    ]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    samples = np.frombuffer(proc.stdout, np.float32)

    def rms(a: float, b: float) -> float:
        return float(np.sqrt(np.mean(samples[int(a * 48000) : int(b * 48000)] ** 2)))

    before, after = rms(0, 0.45), rms(1.6, 2.0)
    assert after / before == pytest.approx(0.1, rel=0.05)  # -20 dB once the keyframes are done
    assert rms(0.98, 1.02) / before == pytest.approx(0.55, abs=0.04)  # half way through the ramp
