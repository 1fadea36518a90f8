"""Reading a source from its in-point: the input's seek options and the picture's clock.

The rule is the one an editor follows: the output frame at clip time ``t`` shows the source
frame whose display interval contains ``trim + t * speed``, and the sound at ``t`` is the
source's sound at that same instant.

FFmpeg's accurate input seeking (``-ss T -i``) drops every frame whose timestamp is before ``T``,
including the one still on screen at ``T`` when ``T`` falls between two frames: the picture then
started one frame late and ran one frame ahead of its own sound, which is cut at the exact
sample. So a trimmed video input is seeked with ``-noaccurate_seek``: decoding starts at the
keyframe before ``T`` and every frame keeps its timestamp relative to ``T`` (negative before it).
The graph then picks frames itself with ``fps=round=up:start_time=0``, which shows at output
frame ``n`` the last source frame whose timestamp is at or before ``n / fps``: exactly the frame
whose display interval contains that time. The sound is cut at time 0 to the sample (see
:func:`reelforge.render.audio._placement_filters`).
"""

from __future__ import annotations

from fractions import Fraction

from .graph import Filter, filt, fmt_num, fmt_rate, fmt_seconds

__all__ = ["TIMESTAMP_TOLERANCE", "input_seek_options", "source_clock"]

TIMESTAMP_TOLERANCE = Fraction(1, 1000)
"""A frame whose timestamp is at most this much after the in-point counts as starting on it.

Container timestamps are rounded (to the millisecond in Matroska and WebM, to the time base
elsewhere) and FFmpeg's seek offset to the microsecond, so a trim given as a whole number of
frames can land a hair before the frame it names; without this margin the frame before it would
be shown."""

#: Source read beyond what a clip needs (exact lengths are cut in the graph).
_READ_MARGIN = Fraction(1, 2)


def input_seek_options(*, trim: Fraction, span: Fraction, loop: bool, video: bool) -> list[str]:
    """The ``-i`` options that start reading a source at its in-point ``trim``.

    ``span`` is the source time the clip plays (its length times its speed). A looping input
    is read from its start (the graph cuts the trim, as it repeats). A video input is seeked to
    the keyframe before ``trim``, keeping the frames up to it (see the module's docstring); it
    has no ``-t``, which would count from that keyframe: decoding stops when the graph has
    taken what it needs."""
    if loop:
        return ["-stream_loop", "-1", "-t", fmt_seconds(trim + span + _READ_MARGIN)]
    if trim <= 0:
        return ["-t", fmt_seconds(span + _READ_MARGIN)]
    if video:
        return ["-noaccurate_seek", "-ss", fmt_seconds(trim)]
    return ["-ss", fmt_seconds(trim), "-t", fmt_seconds(span + _READ_MARGIN)]


def source_clock(*, trim: Fraction, speed: Fraction, fps: Fraction, loop: bool) -> list[Filter]:
    """Filters that put a video input on the clip's clock at ``fps``: output frame ``n`` is the
    source frame on screen at ``trim + n / fps * speed``.

    Input timestamps are the source's own, relative to ``trim`` when the input was seeked (see
    :func:`input_seek_options`) or to the source's start otherwise (a looping input). Frames
    before the in-point are dropped, and a source that starts late is held on its first frame."""
    offset = TIMESTAMP_TOLERANCE + (trim if loop else 0)
    pts = f"PTS-{fmt_seconds(offset)}/TB"
    if speed != 1:
        pts = f"({pts})*{fmt_num(1 / speed)}"
    return [filt("setpts", pts), filt("fps", fmt_rate(fps), round="up", start_time=0)]
