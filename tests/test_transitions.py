"""Transitions rendered by the real FFmpeg on lavfi sources, checked frame by frame."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from frames import graph_planes
from reelforge.edit.models import Transition
from reelforge.render.graph import FilterGraph, filt
from reelforge.render.transitions import XFADE_NAMES, crossfade, entrance, exit

W, H = 320, 180
FPS = Fraction(25)
COLOR_A = "#e0e020"  # yellow: luma ~190
COLOR_B = "#2060e0"  # blue: luma ~80


# --------------------------------------------------------------------------- helpers


def source(
    graph: FilterGraph,
    color: str,
    frames: int,
    fps: Fraction = FPS,
    *,
    size: tuple[int, int] = (W, H),
    box: tuple[int, int, int, int] | None = None,
) -> str:
    """A solid ``yuva420p`` clip of exactly ``frames`` frames, optionally with a black box."""
    filters = [filt("color", c=color, s=f"{size[0]}x{size[1]}", r=str(fps)), filt("format", "yuva420p")]
    if box is not None:
        x, y, w, h = box
        filters.append(filt("drawbox", x=x, y=y, w=w, h=h, color="black", t="fill"))
    filters.append(filt("trim", end_frame=frames))
    return graph.chain([], filters, hint="src")[0]


def render(graph: FilterGraph, label: str, size: tuple[int, int] = (W, H)) -> tuple[np.ndarray, np.ndarray]:
    return graph_planes(graph, label, size)


def near(values: np.ndarray, target: float, tolerance: float = 4) -> np.ndarray:
    return np.abs(values.astype(int) - target) <= tolerance


def transition(kind: str, seconds: float = 0.4) -> Transition:
    return Transition.model_validate({"type": kind, "duration": seconds})


# --------------------------------------------------------------------------- crossfade

# 20 + 20 frames with a 10-frame transition: frames 10-19 blend, frame 15 is half way.
LEN_A, LEN_B, N = 20, 20, 10
MID = LEN_A - N + N // 2


def crossfade_frames(kind: str, *, box_a: tuple[int, int, int, int] | None = None) -> np.ndarray:
    graph = FilterGraph()
    a = source(graph, COLOR_A, LEN_A, box=box_a)
    b = source(graph, COLOR_B, LEN_B)
    out = crossfade(
        graph,
        a,
        b,
        transition=transition(kind),
        offset=Fraction(LEN_A - N) / FPS,
        duration=Fraction(N) / FPS,
        fps=FPS,
    )
    return render(graph, out)[0]


@pytest.fixture(scope="module")
def luma_ab() -> tuple[float, float]:
    lumas = []
    for color in (COLOR_A, COLOR_B):
        graph = FilterGraph()
        lumas.append(float(render(graph, source(graph, color, 1))[0].mean()))
    return lumas[0], lumas[1]


def _pattern_ok(kind: str, frames: np.ndarray, ya: float, yb: float) -> None:
    mid = frames[MID]
    is_a, is_b = near(mid, ya), near(mid, yb)
    left, right = (slice(None), slice(20, 140)), (slice(None), slice(180, 300))
    top, bottom = (slice(10, 80), slice(None)), (slice(100, 170), slice(None))
    centre, corner = (slice(80, 100), slice(150, 170)), (slice(0, 10), slice(0, 10))
    halves = {
        # (region that already shows B, region that still shows A)
        "left": (right, left),
        "right": (left, right),
        "up": (bottom, top),
        "down": (top, bottom),
    }
    if kind.startswith(("wipe-", "slide-")):
        new, old = halves[kind.split("-")[1]]
        assert is_b[new].all() and is_a[old].all()
    elif kind == "circle-open":
        assert is_b[centre].all() and is_a[corner].all()
    elif kind == "circle-close":
        assert is_a[centre].all() and is_b[corner].all()
    elif kind in ("fade", "zoom"):
        # Half way, half the new picture (zoom: the flat old picture zoomed is the same colour).
        assert near(mid, (ya + yb) / 2, 6).all()
    elif kind == "dissolve":
        assert (is_a | is_b).mean() > 0.95
        assert 0.3 < is_a.mean() < 0.7
    elif kind == "fade-black":
        assert min(f.mean() for f in frames[LEN_A - N : LEN_A]) < 25
    elif kind == "fade-white":
        assert max(f.mean() for f in frames[LEN_A - N : LEN_A]) > 235
    elif kind == "radial":
        assert is_a.mean() > 0.2 and is_b.mean() > 0.2
    elif kind == "pixelize":
        # With flat colours this is a blend; its spatial effect is tested separately.
        assert yb < mid.mean() < ya + 2
    else:  # pragma: no cover - a new type needs a check here
        raise AssertionError(f"no check for {kind}")


@pytest.mark.parametrize("kind", sorted(XFADE_NAMES))
def test_crossfade_length_ends_and_midpoint(kind: str, luma_ab: tuple[float, float]) -> None:
    ya, yb = luma_ab
    frames = crossfade_frames(kind)
    assert len(frames) == LEN_A + LEN_B - N
    assert near(frames[0], ya).all() and near(frames[LEN_A - N - 1], ya).all()
    assert near(frames[LEN_A], yb).all() and near(frames[-1], yb).all()
    _pattern_ok(kind, frames, ya, yb)


def test_every_transition_type_has_an_xfade_name() -> None:
    kinds = Transition.model_fields["type"].annotation.__args__  # type: ignore[union-attr]
    assert set(kinds) == set(XFADE_NAMES)


def test_slide_moves_the_old_picture_while_wipe_does_not(luma_ab: tuple[float, float]) -> None:
    # A black box in the right quarter of A: a slide to the left carries it to the left half.
    box = (240, 60, 80, 60)
    slide = crossfade_frames("slide-left", box_a=box)[MID]
    wipe = crossfade_frames("wipe-left", box_a=box)[MID]
    assert slide[70:110, 90:150].mean() < 30  # the box moved 160 px left
    assert wipe[70:110, 90:150].mean() > 150  # still yellow where the box was not


def test_zoom_and_pixelize_change_the_picture_spatially() -> None:
    box = (150, 80, 20, 20)  # a small black square at the centre
    zoom = crossfade_frames("zoom", box_a=box)
    # The square grows steadily: 1 + k/n times its size on frame k of the transition (n = 10).
    square = [(f < np.median(f) - 20).sum() for f in (zoom[LEN_A - N + k] for k in (0, 3, 6))]
    assert square[0] == (zoom[0] < 40).sum()
    assert 1.3**2 * 0.8 < square[1] / square[0] < 1.3**2 * 1.25
    assert 1.6**2 * 0.8 < square[2] / square[0] < 1.6**2 * 1.25
    pixel = crossfade_frames("pixelize", box_a=(0, 0, 161, 91))
    frame = pixel[MID].astype(int)
    blocks = frame[:, :-1] != frame[:, 1:]
    assert blocks.sum() < 0.2 * blocks.size  # flat blocks, few edges


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(30000, 1001)], ids=["25", "29.97"])
@pytest.mark.parametrize(("len_a", "len_b", "n"), [(23, 19, 7), (13, 9, 13), (30, 30, 1)])
def test_crossfade_is_frame_exact(fps: Fraction, len_a: int, len_b: int, n: int) -> None:
    graph = FilterGraph()
    a = source(graph, COLOR_A, len_a, fps, size=(64, 36))
    b = source(graph, COLOR_B, len_b, fps, size=(64, 36))
    out = crossfade(
        graph,
        a,
        b,
        transition=transition("wipe-left"),
        offset=Fraction(len_a - n) / fps,
        duration=Fraction(n) / fps,
    )
    luma, _ = render(graph, out, (64, 36))
    assert len(luma) == len_a + len_b - n
    # The transition starts exactly at frame len_a - n: the frame before it is still all A...
    if len_a > n:
        assert len(np.unique(luma[len_a - n - 1])) == 1
    # ...and (for more than one frame) the one after the start already shows some B.
    if n > 1:
        assert len(np.unique(luma[len_a - n + 1])) > 1


def test_crossfade_refuses_a_zero_duration() -> None:
    graph = FilterGraph()
    with pytest.raises(ValueError, match="duration"):
        crossfade(graph, "a", "b", transition=transition("fade"), offset=Fraction(1), duration=Fraction(0))


# --------------------------------------------------------------------------- entrance and exit

CLIP = 20


def entrance_frames(
    kind: str, n: int = 10, fps: Fraction = FPS, frames: int = CLIP
) -> tuple[np.ndarray, np.ndarray]:
    graph = FilterGraph()
    clip = source(graph, COLOR_A, frames, fps)
    out = entrance(graph, clip, transition=transition(kind), fps=fps, duration=Fraction(n) / fps)
    return render(graph, out)


def exit_frames(kind: str, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    graph = FilterGraph()
    clip = source(graph, COLOR_A, CLIP)
    out = exit(
        graph,
        clip,
        transition=transition(kind),
        fps=FPS,
        length=Fraction(CLIP) / FPS,
        duration=Fraction(n) / FPS,
    )
    return render(graph, out)


def test_fade_entrance_ramps_alpha() -> None:
    luma, alpha = entrance_frames("fade")
    assert len(alpha) == CLIP
    levels = alpha.reshape(CLIP, -1).mean(axis=1)
    assert levels[:11] == pytest.approx([255 * k / 10 for k in range(11)], abs=2)
    assert (levels[10:] == 255).all()
    assert near(luma[5], luma[-1].mean()).all()  # the colour itself is not darkened


def test_fade_exit_ramps_alpha_down() -> None:
    _, alpha = exit_frames("fade")
    levels = alpha.reshape(CLIP, -1).mean(axis=1)
    assert len(levels) == CLIP
    assert (levels[:11] == 255).all()
    assert levels[10:] == pytest.approx([255 * (1 - k / 10) for k in range(10)], abs=2)


def test_zoom_exit_fades_while_it_zooms() -> None:
    graph = FilterGraph()
    clip = source(graph, COLOR_A, CLIP, box=(150, 80, 20, 20))
    out = exit(
        graph,
        clip,
        transition=transition("zoom"),
        fps=FPS,
        length=Fraction(CLIP) / FPS,
        duration=Fraction(10) / FPS,
    )
    luma, alpha = render(graph, out)
    levels = alpha.reshape(CLIP, -1).mean(axis=1)
    assert levels[10:] == pytest.approx([255 * (1 - k / 10) for k in range(10)], abs=3)
    # Half way the square is 1.5 times its size (half blended with the transparent copy's colour,
    # which is the unzoomed clip's, so darker than the yellow around it).
    square = [int((luma[10 + k] < 140).sum()) for k in (0, 5)]
    assert 1.5**2 * 0.8 < square[1] / square[0] < 1.5**2 * 1.25


def test_zoom_entrance_fades_in() -> None:
    _, alpha = entrance_frames("zoom")
    levels = alpha.reshape(CLIP, -1).mean(axis=1)
    assert levels[:11] == pytest.approx([255 * k / 10 for k in range(11)], abs=3)


def test_wipe_entrance_reveals_progressively_and_keeps_the_rest_transparent() -> None:
    luma, alpha = entrance_frames("wipe-left")
    clip_luma = luma[-1].mean()
    assert len(alpha) == CLIP
    assert (alpha[0] == 0).all()
    mid = 5
    assert (alpha[mid][:, :150] == 0).all()  # not yet revealed: transparent
    assert (alpha[mid][:, 170:] == 255).all() and near(luma[mid][:, 170:], clip_luma).all()
    covered = (alpha > 128).reshape(CLIP, -1).mean(axis=1)
    assert np.all(np.diff(covered[:11]) > 0)  # grows every frame
    assert (alpha[10:] == 255).all()


def test_wipe_exit_erases_from_the_right() -> None:
    luma, alpha = exit_frames("wipe-left")
    assert len(alpha) == CLIP
    assert (alpha[:11] == 255).all()
    mid = 15
    assert (alpha[mid][:, :150] == 255).all() and (alpha[mid][:, 170:] == 0).all()
    assert near(luma[mid][:, :150], luma[0].mean()).all()
    assert (alpha[-1] > 0).mean() == pytest.approx(0.1, abs=0.02)  # 1/n of it left


def test_circle_open_entrance_starts_at_the_centre() -> None:
    _, alpha = entrance_frames("circle-open")
    assert (alpha[5][85:95, 155:165] >= 250).all() and (alpha[5][:10, :10] <= 5).all()


def test_dissolve_entrance_has_no_half_transparent_pixels() -> None:
    _, alpha = entrance_frames("dissolve")
    mid = alpha[5]
    assert ((mid == 0) | (mid == 255)).mean() > 0.98
    assert 0.3 < (mid == 255).mean() < 0.7


def test_fade_black_entrance_passes_through_black() -> None:
    luma, alpha = entrance_frames("fade-black")
    assert (alpha[0] == 0).all()
    dark = [k for k in range(10) if alpha[k].mean() > 200 and luma[k].mean() < 40]
    assert dark, "no opaque black frame during the entrance"
    assert near(luma[-1], luma[-1].mean()).all() and (alpha[-1] == 255).all()


def test_fade_white_exit_passes_through_white() -> None:
    luma, alpha = exit_frames("fade-white")
    assert any(alpha[k].mean() > 200 and luma[k].mean() > 235 for k in range(10, CLIP))


def test_entrance_keeps_the_length_at_ntsc_rates() -> None:
    fps = Fraction(30000, 1001)
    for kind in ("fade", "slide-up"):
        _, alpha = entrance_frames(kind, n=7, fps=fps, frames=23)
        assert len(alpha) == 23
        assert (alpha[0] == 0).all() and (alpha[7:] == 255).all()


def test_exit_longer_than_the_clip_is_cut_to_it() -> None:
    graph = FilterGraph()
    clip = source(graph, COLOR_A, 6)
    out = exit(
        graph, clip, transition=transition("wipe-up"), fps=FPS, length=Fraction(6) / FPS, duration=Fraction(1)
    )
    _, alpha = render(graph, out)
    assert len(alpha) == 6 and (alpha[0] == 255).all() and (alpha[-1] == 0).mean() > 0.7


def test_entrance_and_exit_on_one_small_sprite() -> None:
    graph = FilterGraph()
    clip = source(graph, COLOR_A, 30, size=(100, 60))
    clip = entrance(graph, clip, transition=transition("slide-right"), fps=FPS, duration=Fraction(8) / FPS)
    clip = exit(
        graph,
        clip,
        transition=transition("fade"),
        fps=FPS,
        length=Fraction(30) / FPS,
        duration=Fraction(2, 5),
    )
    _, alpha = render(graph, clip, (100, 60))
    assert len(alpha) == 30
    assert (alpha[4][:, :40] == 255).all() and (alpha[4][:, 60:] == 0).all()  # enters from the left
    assert (alpha[8:21] == 255).all()
    assert alpha[25].mean() == pytest.approx(255 * 5 / 10, abs=2)
