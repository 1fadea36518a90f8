"""Ken Burns motion (a slow zoom or pan over a clip) as FFmpeg filters.

One ``perspective`` filter does it: each frame it maps a window of the picture onto the whole
frame with bilinear interpolation at 1/256-pixel precision, so the motion is smooth at any
speed. ``zoompan`` (and ``scale`` + ``crop``) place the window on whole pixels - even ones for
yuv420p - which makes slow motion step and wobble; the usual cure, upscaling several times
before ``zoompan``, costs far more. Measured at 1080p on 2 cores: ``perspective`` about 40 ms of
CPU a frame, ``zoompan`` 6 ms but jittery, ``scale`` (eval=frame) + ``crop`` 10 ms but stepping
in whole pixels, perspective's cubic interpolation 80 ms.

Directions are a camera's: ``pan-left`` moves the view to the left across the picture, so the
content moves right in the frame; ``zoom-in`` enlarges the centre.
"""

from __future__ import annotations

from fractions import Fraction

from ..edit.models import Motion
from .graph import Filter, filt, fmt_num

__all__ = ["motion_filters"]


def _eased(progress: str, easing: str) -> str:
    """An FFmpeg expression easing ``progress`` (0..1): quadratic in and out, smoothstep both."""
    p = f"({progress})"
    if easing == "ease-in":
        return f"({p}*{p})"
    if easing == "ease-out":
        return f"(1-(1-{p})*(1-{p}))"
    if easing == "ease-in-out":
        return f"({p}*{p}*(3-2*{p}))"
    return p


def _moving(start: float, delta: float, progress: str) -> str:
    """``start + delta * progress`` as an expression (a constant when ``delta`` is 0)."""
    if delta == 0:
        return fmt_num(start)
    return f"{fmt_num(start)}{'+' if delta > 0 else '-'}{fmt_num(abs(delta))}*{progress}"


def motion_filters(motion: Motion, *, size: tuple[int, int], frames: int, fps: Fraction) -> list[Filter]:
    """Filters moving over a stream already scaled to ``size`` (w, h) at a constant ``fps``.

    The output has the same size and rate and is ``frames`` long; the motion runs from the first
    frame to the last. Zooms scale geometrically from 1 to 1 + ``amount`` (so the speed looks
    constant) about the centre; pans enlarge the picture by 1 + ``amount`` and travel ``amount``
    of the frame, centred across the other axis. The first frame of a zoom-in or the last of a
    zoom-out is the input unchanged. Works on video and on a looped still alike. The frames are
    counted, not timed, which is why the stream must be at a constant rate; ``fps`` documents
    that contract. ``perspective`` is 8-bit only and keeps an alpha plane.
    """
    w, h = size
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    if frames <= 0:
        raise ValueError(f"frames must be positive, got {frames}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    # perspective counts input frames from 1; after the trim, in-1 never passes frames-1.
    e = _eased(f"(in-1)/{max(frames - 1, 1)}", motion.easing)
    grow = fmt_num(1 + motion.amount)

    # perspective maps output pixel u to source x0 + u*(x1-x0)/w (pixel indices, not edges);
    # each window below is first given by its edges, then shifted half a source pixel minus half
    # an output pixel so that pixel centres line up and the unchanged frame is exact.
    if motion.type in ("zoom-in", "zoom-out"):
        inv = f"pow({grow},-{e})" if motion.type == "zoom-in" else f"pow({grow},{e}-1)"  # 1/zoom
        # Zoom about the centre pixel ((w-1)/2, (h-1)/2): it stays put.
        cx, cy = fmt_num((w - 1) / 2), fmt_num((h - 1) / 2)
        left, top = f"{cx}*(1-{inv})", f"{cy}*(1-{inv})"
        right, bottom = f"{left}+{w}*{inv}", f"{top}+{h}*{inv}"
    else:
        scale = 1 / (1 + motion.amount)
        ww, wh = w * scale, h * scale
        shift = 0.5 * scale - 0.5
        # The window's top-left edge: (x at the start, x travel, y at the start, y travel).
        x_start, dx, y_start, dy = {
            "pan-left": (w - ww, -(w - ww), (h - wh) / 2, 0.0),
            "pan-right": (0.0, w - ww, (h - wh) / 2, 0.0),
            "pan-up": ((w - ww) / 2, 0.0, h - wh, -(h - wh)),
            "pan-down": ((w - ww) / 2, 0.0, 0.0, h - wh),
        }[motion.type]
        left, top = _moving(x_start + shift, dx, e), _moving(y_start + shift, dy, e)
        right, bottom = f"{left}+{fmt_num(ww)}", f"{top}+{fmt_num(wh)}"
    return [
        filt("trim", end_frame=frames),
        filt(
            "perspective",
            x0=left, y0=top, x1=right, y1=top, x2=left, y2=bottom, x3=right, y3=bottom,
            interpolation="linear", eval="frame",
        ),
    ]  # fmt: skip
