"""Transitions as filter-graph fragments: between two clips of a track, and a clip's entrance
and exit over what lies below it.

All of them are FFmpeg's ``xfade`` except the plain ``fade`` entrance and exit, which only
ramp the alpha plane. Directions follow xfade's names, checked against its pixels:

* ``wipe-left``: the edge moves from right to left; the new picture appears on the right.
  ``wipe-right``, ``wipe-up`` (new picture rises from the bottom), ``wipe-down`` likewise.
* ``slide-left``: both pictures move leftwards, the new one entering from the right edge.
  So ``wipe-X`` and ``slide-X`` uncover the new picture from the same side.
* ``circle-open``: the new picture shows in a growing circle at the centre; ``circle-close``
  keeps the old picture in a shrinking circle. ``zoom`` zooms into the old picture (up to
  twice its size) while fading; ``radial`` sweeps like a clock hand.

Timing is frame exact: xfade passes through the frames of the first input before ``offset``,
then blends frame ``k`` of the transition with weight ``k / n`` for the new picture (the first
transition frame is still entirely the old one), then passes the rest of the second input. The
output has ``offset + len(second)`` frames.
"""

from __future__ import annotations

import math
from fractions import Fraction

from reelforge.edit.models import Transition
from reelforge.edit.timing import seconds_to_frames
from reelforge.render.graph import FilterGraph, filt

__all__ = ["XFADE_NAMES", "crossfade", "entrance", "exit"]

XFADE_NAMES: dict[str, str] = {
    "fade": "fade",
    "fade-black": "fadeblack",
    "fade-white": "fadewhite",
    "dissolve": "dissolve",
    "wipe-left": "wipeleft",
    "wipe-right": "wiperight",
    "wipe-up": "wipeup",
    "wipe-down": "wipedown",
    "slide-left": "slideleft",
    "slide-right": "slideright",
    "slide-up": "slideup",
    "slide-down": "slidedown",
    "circle-open": "circleopen",
    "circle-close": "circleclose",
    "zoom": "fade",  # under a zoom of the old picture: see _zooming
    "pixelize": "pixelize",
    "radial": "radial",
}


ZOOM_SCALE = 2
"""How far ``zoom`` enlarges the old picture by the end of the transition."""


def _us(seconds: Fraction, *, floor: bool = False) -> str:
    """A duration in whole microseconds, the precision of xfade's options.

    An offset is rounded down: xfade starts at the first frame whose timestamp is at or past
    it, so rounding up by a microsecond could push the start one frame later on a fine time
    base.
    """
    micros = seconds * 1_000_000
    return f"{math.floor(micros) if floor else round(micros)}us"


def _xfade(
    graph: FilterGraph, first: str, second: str, kind: str, offset: Fraction, duration: Fraction
) -> str:
    if duration <= 0:
        raise ValueError("a transition needs a duration above 0")  # xfade would take 0 as 1 s
    xfade = filt("xfade", transition=kind, duration=_us(duration), offset=_us(offset, floor=True))
    return graph.chain([first, second], [xfade], hint="xfade")[0]


def crossfade(
    graph: FilterGraph,
    first: str,
    second: str,
    *,
    transition: Transition,
    offset: Fraction,
    duration: Fraction,
    fps: Fraction | None = None,
) -> str:
    """Transition from ``first`` to ``second`` (full-canvas streams of one size, pixel format,
    frame rate and time base), starting ``offset`` seconds into ``first``.

    With ``offset = len(first) - duration`` the output lasts ``len(first) + len(second) -
    duration``. ``fps``, the streams' frame rate, is needed by ``zoom``. Returns the output label.
    """
    if transition.type == "zoom":
        if fps is None:
            raise ValueError("a zoom transition needs the frame rate")
        first = _zooming(graph, first, start=round(offset * fps), frames=round(duration * fps))
        return _xfade(graph, first, second, "fade", offset, duration)
    return _xfade(graph, first, second, XFADE_NAMES[transition.type], offset, duration)


def _zooming(graph: FilterGraph, label: str, *, start: int, frames: int) -> str:
    """``label`` zoomed about its centre from frame ``start`` on: frame ``start + k`` scaled by
    ``1 + (ZOOM_SCALE - 1) * k / frames``, the frames before it untouched.

    xfade's own ``zoomin`` zooms through the first half of the transition, down to the centre
    pixel, and only fades in the second half: its midpoint frame was still entirely the old
    picture. Here the zoom runs under a plain fade, so frame ``k`` of ``n`` holds ``k/n`` of the
    new picture like every other transition. ``perspective`` resamples smoothly (see
    :mod:`reelforge.render.motion`) and, enabled from ``start`` only, costs nothing before it."""
    k = f"(in-1-{start})"
    scale = f"(1+{ZOOM_SCALE - 1}*{k}/{frames})"
    left, right = f"W/2-W/2/{scale}", f"W/2+W/2/{scale}"
    top, bottom = f"H/2-H/2/{scale}", f"H/2+H/2/{scale}"
    zoom = filt(
        "perspective",
        x0=left,
        y0=top,
        x1=right,
        y1=top,
        x2=left,
        y2=bottom,
        x3=right,
        y3=bottom,
        eval="frame",
        enable=f"gte(n,{start})",
    )
    return graph.chain([label], [zoom], hint="zoom")[0]


def _ghost(transition: Transition) -> dict[str, object]:
    """``lutyuv`` options for the transparent stand-in a clip enters from or exits to.

    It is the clip itself with alpha 0, not transparent black: xfade blends the colour planes
    too, and straight-alpha overlay would show a blend with black as a dark fringe in fades,
    pixelize and zoom. ``fade-black`` and ``fade-white`` do pass through black or white, so
    there the colour is that (xfade's own black and white are Y 0 and 255).
    """
    if transition.type == "fade-black":
        return {"y": 0, "u": 128, "v": 128, "a": 0}
    if transition.type == "fade-white":
        return {"y": 255, "u": 128, "v": 128, "a": 0}
    return {"a": 0}


def entrance(
    graph: FilterGraph, label: str, *, transition: Transition, fps: Fraction, duration: Fraction
) -> str:
    """A clip's entrance over what lies below it, on a ``yuva420p`` stream of ``fps``.

    ``fade`` ramps the alpha plane (``fade=alpha=1``); other types run xfade from a transparent
    copy of the clip's first frames, so the part not yet revealed stays transparent. The first
    frame is fully transparent; the length is unchanged. Returns the output label.
    """
    frames = max(1, seconds_to_frames(duration, fps))
    if transition.type == "fade":
        return graph.chain([label], [filt("fade", t="in", alpha=1, s=0, n=frames)], hint="enter")[0]
    clip, ghost = graph.split(label, 2, hint="enter_")
    ghost = graph.chain(
        [ghost], [filt("trim", end_frame=frames), filt("lutyuv", **_ghost(transition))], hint="ghost"
    )[0]
    # A zoom zooms the old picture, here the transparent copy: what shows is the fade.
    kind = "fade" if transition.type == "zoom" else XFADE_NAMES[transition.type]
    return _xfade(graph, ghost, clip, kind, Fraction(0), Fraction(frames) / fps)


def exit(  # shadows the builtin only inside this module, which never calls it
    graph: FilterGraph,
    label: str,
    *,
    transition: Transition,
    fps: Fraction,
    length: Fraction,
    duration: Fraction,
) -> str:
    """A clip's exit to what lies below it, over the last ``duration`` of its ``length``.

    The mirror of :func:`entrance`: ``fade`` ramps alpha down, other types run xfade into a
    transparent copy of the clip's last frames. The last frame keeps ``1/n`` of the clip, like
    the last frame of a cross-fade. Returns the output label.
    """
    total = seconds_to_frames(length, fps)
    frames = min(max(1, seconds_to_frames(duration, fps)), total)
    if transition.type == "fade":
        fade = filt("fade", t="out", alpha=1, s=total - frames, n=frames)
        return graph.chain([label], [fade], hint="exit")[0]
    clip, ghost = graph.split(label, 2, hint="exit_")
    ghost = graph.chain(
        [ghost],
        [filt("trim", start_frame=total - frames), filt("lutyuv", **_ghost(transition))],
        hint="ghost",
    )[0]
    offset = Fraction(total - frames) / fps
    if transition.type == "zoom":
        clip = _zooming(graph, clip, start=total - frames, frames=frames)
        return _xfade(graph, clip, ghost, "fade", offset, Fraction(frames) / fps)
    return _xfade(graph, clip, ghost, XFADE_NAMES[transition.type], offset, Fraction(frames) / fps)
