"""Keyframe animation: easing curves, FFmpeg expressions, and the filters that animate a clip.

A property animated by keyframes becomes one FFmpeg expression of time. Every segment between
two keyframes, eased or not, is approximated by straight pieces (exact for ``linear``), so the
whole animation is a piecewise-linear function written as a flat sum of clipped ramps::

    v0 + dv1*clip((t-t1)/dt1,0,1) + dv2*clip((t-t2)/dt2,0,1) + ...

A flat sum rather than nested ``if``s: evaluation cost and parser depth stay linear, and before
the first keyframe every ramp is 0 (the first value holds) and after the last every ramp is 1
(the last value holds).

Times in keyframes are relative to the clip's start; ``start`` says where the clip starts on the
clock of the filter that evaluates the expression (0 for a stream whose timestamps begin with
the clip, the clip's timeline start for ``overlay``).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from fractions import Fraction

from reelforge.edit.models import Anchor, Easing, Keyframe
from reelforge.edit.timing import parse_time
from reelforge.render.graph import Filter, FilterGraph, filt

__all__ = [
    "CSS_EASINGS",
    "EASE_TOLERANCE",
    "EasingSpec",
    "animated_opacity",
    "animated_opacity_blend",
    "animated_rotation",
    "animated_scale",
    "animated_volume",
    "ease",
    "keyframe_expr",
    "position_exprs",
    "rotation_box",
    "scale_box",
]

EasingSpec = Easing | tuple[float, float, float, float]

#: The named easings are CSS's curves (``ease-in`` = ``cubic-bezier(.42, 0, 1, 1)``...).
CSS_EASINGS: dict[str, tuple[float, float, float, float]] = {
    "ease-in": (0.42, 0.0, 1.0, 1.0),
    "ease-out": (0.0, 0.0, 0.58, 1.0),
    "ease-in-out": (0.42, 0.0, 0.58, 1.0),
}

#: Largest error of the straight-piece approximation of an easing, as a fraction of the change
#: between the two keyframes; CSS curves need 10-15 pieces for it.
EASE_TOLERANCE = 0.0025

Knot = tuple[float, float]


# --------------------------------------------------------------------------- easing


def _bezier(easing: EasingSpec) -> tuple[float, float, float, float] | None:
    if isinstance(easing, str):
        return CSS_EASINGS.get(easing)  # None for "linear"
    return (float(easing[0]), float(easing[1]), float(easing[2]), float(easing[3]))


def _coord(a: float, b: float, s: float) -> float:
    """One coordinate of a cubic Bézier from 0 to 1 with control values ``a`` and ``b``."""
    return 3 * a * s * (1 - s) ** 2 + 3 * b * s * s * (1 - s) + s**3


def ease(easing: EasingSpec, p: float) -> float:
    """The eased progress for progress ``p`` (clamped to 0..1), as CSS computes it.

    A cubic-bezier ``(x1, y1, x2, y2)`` is solved for ``x(s) = p`` by bisection, which cannot
    diverge: ``x(s)`` never decreases when ``x1`` and ``x2`` are within 0..1.
    """
    p = min(max(float(p), 0.0), 1.0)
    curve = _bezier(easing)
    if curve is None:
        return p
    x1, y1, x2, y2 = curve
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _coord(x1, x2, mid) < p:
            lo = mid
        else:
            hi = mid
    return _coord(y1, y2, (lo + hi) / 2)


@functools.cache
def _ease_points(easing: EasingSpec) -> tuple[Knot, ...]:
    """Points ``(p, ease(p))`` from (0, 0) to (1, 1) joined by straight pieces within tolerance.

    Greedy on the curve's own parameter ``s``: each piece is made as long as it can be while
    staying within :data:`EASE_TOLERANCE`, so no equation needs solving here.
    """
    curve = _bezier(easing)
    if curve is None:
        return ((0.0, 0.0), (1.0, 1.0))
    x1, y1, x2, y2 = curve

    def point(s: float) -> Knot:
        return (_coord(x1, x2, s), _coord(y1, y2, s))

    def error(sa: float, sb: float) -> float:
        (xa, ya), (xb, yb) = point(sa), point(sb)
        worst = 0.0
        for i in range(1, 32):
            x, y = point(sa + (sb - sa) * i / 32)
            chord = ya if xb - xa < 1e-12 else ya + (yb - ya) * (x - xa) / (xb - xa)
            worst = max(worst, abs(y - chord))
        return worst

    points = [point(0.0)]
    sa = 0.0
    while sa < 1.0:
        if error(sa, 1.0) <= EASE_TOLERANCE:
            sb = 1.0
        else:
            lo, hi = sa, 1.0
            for _ in range(30):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if error(sa, mid) <= EASE_TOLERANCE else (lo, mid)
            sb = max(lo, sa + 1e-6)
        points.append(point(sb))
        sa = sb
    return tuple(points)


# --------------------------------------------------------------------------- expressions


def _num(value: float | Fraction) -> str:
    """A number for FFmpeg's evaluator: fixed point with 9 decimals, plenty for seconds and values."""
    text = f"{float(value):.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _knots(frames: Sequence[Keyframe], fps: Fraction, factor: float = 1.0) -> list[Knot]:
    """The animation as ``(clip time in seconds, value)`` points joined by straight lines."""
    if not frames:
        raise ValueError("an animation needs at least one keyframe")
    timed = sorted(((parse_time(k.time).to_seconds(fps), k) for k in frames), key=lambda item: item[0])
    knots: list[Knot] = [(float(timed[0][0]), timed[0][1].value * factor)]
    for (t0, k0), (t1, k1) in itertools.pairwise(timed):
        v0, v1 = k0.value * factor, k1.value * factor
        if t1 == t0:
            knots.append((float(t1), v1))  # two keyframes at one time: a jump
            continue
        span = float(t1 - t0)
        for p, e in _ease_points(k0.easing)[1:]:
            knots.append((float(t0) + p * span, v0 + e * (v1 - v0)))
    return knots


def piecewise_expr(knots: Sequence[Knot], time: str = "t", start: float = 0.0) -> str:
    """``knots`` (``(time, value)``, sorted) as a flat sum of clipped ramps in ``time`` (clip time =
    ``time - start``), holding the first and last values outside them. A flat sum rather than
    nested ``if``s keeps hundreds of breakpoints a shallow expression."""
    text = _num(knots[0][1])
    for (x0, y0), (x1, y1) in itertools.pairwise(knots):
        dy = y1 - y0
        if abs(dy) < 1e-12:
            continue
        at = _num(start + x0)
        jump = x1 - x0 <= 1e-9
        ramp = f"gte({time},{at})" if jump else f"clip(({time}-{at})/{_num(x1 - x0)},0,1)"
        text += ("-" if dy < 0 else "+") + f"{_num(abs(dy))}*{ramp}"
    return text


def keyframe_expr(
    frames: Sequence[Keyframe],
    *,
    fps: Fraction,
    time_var: str = "t",
    start: Fraction = Fraction(0),
    factor: float = 1.0,
) -> str:
    """An FFmpeg expression for the animated value at clip time ``time_var - start``.

    ``time_var`` is the evaluating filter's time in seconds (``t`` for overlay, rotate and
    volume, ``T`` for geq and blend); ``factor`` multiplies every value (e.g. degrees to
    radians). Keyframe times given in frames are converted with ``fps``.
    """
    time = time_var if time_var.isidentifier() else f"({time_var})"
    return piecewise_expr(_knots(frames, fps, factor), time, float(start))


def _value_range(frames: Sequence[Keyframe], fps: Fraction) -> tuple[float, float]:
    values = [v for _, v in _knots(frames, fps)]
    return min(values), max(values)


# --------------------------------------------------------------------------- sprite filters


def animated_opacity(
    frames: Sequence[Keyframe], *, fps: Fraction, start: Fraction = Fraction(0)
) -> list[Filter]:
    """Multiply the alpha of a ``yuva420p`` stream by the animated opacity, as a plain chain.

    This is ``geq``, evaluated per pixel: about 80 ms per 720p frame even though the level is
    computed once per frame and slice thread (cached in ``st``/``ld`` registers, which geq keeps
    per thread). Prefer :func:`animated_opacity_blend` where a graph is at hand; this is for
    small sprites or where only a chain fits.
    """
    level = f"clip({keyframe_expr(frames, fps=fps, time_var='T', start=start)},0,1)"
    # Register 1 holds the frame the cached level in register 0 belongs to; 0 is stored first.
    cached = f"if(eq(ld(1),N+1),ld(0),st(0,{level})+st(1,N+1)*0)"
    # +0.5: geq truncates to an integer.
    return [filt("geq", lum="lum(X,Y)", cb="cb(X,Y)", cr="cr(X,Y)", a=f"alpha(X,Y)*{cached}+0.5")]


def animated_opacity_blend(
    graph: FilterGraph,
    label: str,
    frames: Sequence[Keyframe],
    *,
    fps: Fraction,
    start: Fraction = Fraction(0),
    size: tuple[int, int],
) -> str:
    """Multiply the alpha of a ``yuva420p`` stream of ``size`` by the animated opacity.

    The fast way (about 1 ms per 720p frame): the level is drawn per frame into a 2x2 mask,
    scaled up to ``size`` and multiplied into the alpha plane by ``blend``; the colour planes
    are copied. Returns the output label.

    ``blend`` syncs its inputs by time, so its output time base is the common one of the stream
    and the mask (the stream's own when that is ``1/fps``).
    """
    width, height = size
    level = f"clip({keyframe_expr(frames, fps=fps, time_var='T', start=start)},0,1)"
    mask = graph.chain(
        [],
        [
            # The rate as a fraction: a float would drift from the stream's frames at 29.97.
            filt("color", c="black", s="2x2", r=str(fps)),
            filt("format", "yuva420p"),
            # +0.5: geq truncates to an integer.
            filt("geq", lum="0", cb="128", cr="128", a=f"255*{level}+0.5"),
            filt("scale", width, height, flags="neighbor"),
        ],
        hint="opacity_mask",
    )[0]
    return graph.chain([label, mask], [filt("blend", c3_mode="multiply", shortest=1)], hint="opacity")[0]


def _even_up(value: float) -> int:
    """The smallest even integer >= value (4:2:0 chroma needs even sizes); the same rounding
    as the ``2*ceil(v/2-0.000001)`` the filters evaluate, so float noise cannot add 2 pixels."""
    return 2 * math.ceil(value / 2 - 1e-6)


def _scale_margin(frames: Sequence[Keyframe], fps: Fraction) -> str:
    """How much of its size a sprite may grow by on each side (0 when it never grows), as the
    text both :func:`scale_box` and the pad filter compute with."""
    _, high = _value_range(frames, fps)
    return _num((max(high, 1.0) - 1.0) / 2)


def scale_box(frames: Sequence[Keyframe], *, fps: Fraction, size: tuple[int, int]) -> tuple[int, int]:
    """The frame size :func:`animated_scale` outputs for an input of ``size`` (even)."""
    grow = float(_scale_margin(frames, fps))
    width, height = size
    return width + 2 * (_even_up(width * grow) + 2), height + 2 * (_even_up(height * grow) + 2)


def rotation_box(size: tuple[int, int]) -> tuple[int, int]:
    """The frame size :func:`animated_rotation` outputs for an input of ``size``."""
    side = _even_up(math.hypot(*size))
    return side, side


def animated_scale(
    frames: Sequence[Keyframe],
    *,
    fps: Fraction,
    start: Fraction = Fraction(0),
    size: tuple[int, int] | None = None,
) -> list[Filter]:
    """Scale a ``yuva420p`` sprite about its centre by the animated factor.

    The output has one size for the whole clip (:func:`scale_box`): the input centred on a
    transparent margin with room for the largest factor. ``scale`` with ``eval=frame`` could
    change the frame size every frame (``overlay`` copes in FFmpeg 9), but whole-pixel sizes and
    positions make a slow zoom wobble; ``perspective`` resamples at 1/256 pixel and stays
    smooth. Strong shrinking (below ~0.5) aliases, as perspective does not low-pass.

    ``perspective`` has no clock, only a frame counter, so clip time is counted in frames from
    the stream's first frame, which must be the clip's first: ``start`` is then irrelevant and,
    like ``size`` (sizes follow the input frame), only accepted for symmetry with the others.
    """
    del start, size
    if _value_range(frames, fps)[0] <= 0:
        raise ValueError("a scale keyframe must be above 0")
    grow = _scale_margin(frames, fps)
    # The same margins as scale_box: even, plus 2 pixels that perspective repeats outwards.
    margin_w, margin_h = (f"(2*ceil({side}*{grow}/2-0.000001)+2)" for side in ("iw", "ih"))
    factor = keyframe_expr(frames, fps=fps, time_var=f"(in-1)*{fps.denominator}/{fps.numerator}")
    # The padded frame scaled about its centre: corners at the centre -/+ factor * half size.
    left, right = f"W/2-({factor})*W/2", f"W/2+({factor})*W/2"
    top, bottom = f"H/2-({factor})*H/2", f"H/2+({factor})*H/2"
    return [
        filt("pad", f"iw+2*{margin_w}", f"ih+2*{margin_h}", margin_w, margin_h, color="black@0"),
        filt(
            "perspective",
            x0=left,
            y0=top,
            x1=right,
            y1=top,
            x2=left,
            y2=bottom,
            x3=right,
            y3=bottom,
            sense="destination",
            eval="frame",
        ),
    ]


def animated_rotation(
    frames: Sequence[Keyframe],
    *,
    fps: Fraction,
    start: Fraction = Fraction(0),
    size: tuple[int, int] | None = None,
) -> list[Filter]:
    """Rotate a ``yuva420p`` sprite clockwise about its centre by the animated angle (degrees).

    The output is a square as wide as the input's diagonal (:func:`rotation_box`; computed from
    the input frame, so ``size`` is not needed), so no angle cuts a corner off. The uncovered
    area is transparent black: ``fillcolor=none`` would leave whatever the reused frame buffer
    held there.
    """
    del size
    angle = keyframe_expr(frames, fps=fps, time_var="t", start=start, factor=math.pi / 180)
    side = "2*ceil(hypot(iw,ih)/2-0.000001)"
    return [filt("rotate", a=angle, ow=side, oh=side, c="black@0")]


def animated_volume(frames: Sequence[Keyframe], *, fps: Fraction, start: Fraction = Fraction(0)) -> Filter:
    """A ``volume`` filter whose linear gain follows the keyframes (evaluated once per audio
    frame, i.e. every ~20 ms)."""
    gain = keyframe_expr(frames, fps=fps, time_var="t", start=start)
    return filt("volume", volume=f"max({gain},0)", eval="frame")


# --------------------------------------------------------------------------- position

# Where an anchor puts a box of width `w` on a canvas of width `W` (and likewise vertically).
_ALIGN = {"start": "0", "center": "({C}-{s})/2", "end": "{C}-{s}"}


def _anchor_parts(anchor: Anchor) -> tuple[str, str]:
    """Horizontal and vertical alignment: ``"top-left"`` -> ("start", "start"), ``"top"`` ->
    ("center", "start"), ``"right"`` -> ("end", "center")."""
    sides = {"left": ("start", None), "right": ("end", None), "top": (None, "start"), "bottom": (None, "end")}
    horizontal, vertical = "center", "center"
    for part in anchor.split("-"):
        h, v = sides.get(part, (None, None))
        horizontal, vertical = h or horizontal, v or vertical
    return horizontal, vertical


def _offset_term(offset: float | Sequence[Keyframe], canvas: str, fps: Fraction, start: Fraction) -> str:
    if isinstance(offset, int | float):
        if offset == 0:
            return ""
        return f"{'+' if offset > 0 else '-'}{canvas}*{_num(abs(offset))}"
    return f"+{canvas}*({keyframe_expr(offset, fps=fps, time_var='t', start=start)})"


def position_exprs(
    anchor: Anchor,
    offset_x: float | Sequence[Keyframe] = 0.0,
    offset_y: float | Sequence[Keyframe] = 0.0,
    *,
    fps: Fraction,
    start: Fraction = Fraction(0),
    box: tuple[int, int] | None = None,
) -> tuple[str, str]:
    """``overlay`` x and y expressions placing a sprite at an anchor plus an offset.

    Offsets are fractions of the canvas (``W``, ``H``; y grows downwards), constant or keyframes
    in clip time, with ``start`` the clip's start on the timeline (overlay's ``t``).

    ``box`` is the sprite's laid-out size when the overlaid frame is larger with the sprite
    centred in it (the output of :func:`animated_scale` / :func:`animated_rotation`): the box is
    anchored, so scaling and rotation happen about its centre. Without it the whole frame
    (``w`` x ``h``) is anchored.
    """
    horizontal, vertical = _anchor_parts(anchor)
    if box is None:
        x = _ALIGN[horizontal].format(C="W", s="w")
        y = _ALIGN[vertical].format(C="H", s="h")
    else:
        # Anchor the laid-out box, then step back by the margin around it.
        x = _ALIGN[horizontal].format(C="W", s=box[0]) + f"-(w-{box[0]})/2"
        y = _ALIGN[vertical].format(C="H", s=box[1]) + f"-(h-{box[1]})/2"
    return (
        x + _offset_term(offset_x, "W", fps, start),
        y + _offset_term(offset_y, "H", fps, start),
    )
