"""What an output's numbers mean to the encoders, and the ranges they accept.

Every number of an output that reaches FFmpeg is checked here when the edit is validated, so a
value the encoder would refuse (a bitrate of 10^20 bits, CRF 60 for x265, a picture 200,000
pixels wide from an extreme aspect ratio) is a problem with its pointer, not a failed render.
The picture size is computed here too, so validation and rendering agree on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction

from .models import Output, Poster

__all__ = [
    "AUDIO_BITRATE_KBPS",
    "BITRATE_MAX",
    "BITRATE_MIN",
    "CRF_MAX",
    "MAX_SIDE",
    "MIN_SIDE",
    "RESOLUTIONS",
    "even",
    "frame_size",
    "output_problems",
    "parse_bitrate",
    "scaled_output",
]

RESOLUTIONS = {
    "360p": 360,
    "480p": 480,
    "540p": 540,
    "720p": 720,
    "1080p": 1080,
    "1440p": 1440,
    "2160p": 2160,
}

MIN_SIDE, MAX_SIDE = 16, 7680
"""A picture's sides, in pixels, whichever way they are given (``width``/``height``, or derived
from ``resolution`` and ``aspect_ratio``; a poster's from its width)."""

BITRATE_MIN, BITRATE_MAX = 1_000, 1_000_000_000
"""A video bitrate, bits per second: 1k to 1000M (x264 reads it in whole kbit/s: below 1k it
is 0, no bitrate at all)."""

AUDIO_BITRATE_KBPS = {"mp3": (8, 320), "webm": (6, 510)}
"""Audio bitrates the encoder honours, kbit/s, by format (MP3's largest is 320k, Opus's 510k
for stereo); AAC (mp4, mov, m4a) takes 8k to 512k."""
AAC_BITRATE_KBPS = (8, 512)

CRF_MAX = {"h264": 51, "h265": 51, "vp9": 63}
"""The largest CRF each encoder accepts (x265 fails above 51; x264 clamps to it)."""

_BITRATE = re.compile(r"^(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<unit>[kKmM]?)$")
_UNITS = {"": 1, "k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}


def parse_bitrate(text: str) -> int:
    """``"4M"``, ``"2500k"``, ``"800000"`` -> bits per second. ``m`` means mega as ``M`` does
    (FFmpeg would read it as milli)."""
    match = _BITRATE.match(text)
    if match is None:
        raise ValueError(f'expected a bitrate such as "4M" or "2500k", got {text!r}')
    return round(Fraction(match["number"]) * _UNITS[match["unit"]])


def even(value: float | Fraction) -> int:
    """The nearest even whole number (at least 2): 4:2:0 video needs even sizes."""
    return max(2, round(value / 2) * 2)


def aspect(output: Output) -> Fraction | None:
    """The output's ``aspect_ratio`` as a fraction (None: not given, or a zero side)."""
    if not output.aspect_ratio:
        return None
    w, h = (int(x) for x in output.aspect_ratio.split(":"))
    return Fraction(w, h) if w and h else None


def frame_size(output: Output) -> tuple[int, int]:
    """The output's picture in pixels. A resolution preset names the shorter side; sizes are
    even because 4:2:0 video needs them to be."""
    ratio = aspect(output)
    if output.width is not None and output.height is not None:
        return even(output.width), even(output.height)
    if output.width is not None:
        assert ratio is not None
        return even(output.width), even(output.width / ratio)
    if output.height is not None:
        assert ratio is not None
        return even(output.height * ratio), even(output.height)
    short = RESOLUTIONS[output.resolution or "1080p"]
    ratio = ratio or Fraction(16, 9)
    if ratio >= 1:
        return even(short * ratio), short
    return short, even(short / ratio)


_SCALE = re.compile(r"^(?:(?P<short>[0-9]{2,4})p|(?P<w>[0-9]{2,4})x(?P<h>[0-9]{2,4}))$")


def scaled_output(output: Output, resolution: str) -> Output:
    """``output`` rendered at another size, its aspect ratio kept: ``"720p"`` (any ``<N>p``)
    makes the shorter side N pixels; ``"1280x1280"`` fits the picture inside that box. Raises
    ValueError naming what is wrong with ``resolution``."""
    m = _SCALE.match(resolution.strip().lower())
    if m is None:
        raise ValueError(f'expected a resolution such as "720p", "1080p" or "1280x720", got {resolution!r}')
    if output.is_audio_only:
        return output
    width, height = frame_size(output)
    if m["short"] is not None:
        factor = Fraction(int(m["short"]), min(width, height))
    else:
        factor = min(Fraction(int(m["w"]), width), Fraction(int(m["h"]), height))
    new_w, new_h = even(width * factor), even(height * factor)
    if not (MIN_SIDE <= new_w <= MAX_SIDE and MIN_SIDE <= new_h <= MAX_SIDE):
        raise ValueError(
            f"at {resolution} a {width}x{height} output would be {new_w}x{new_h}; "
            f"each side must be {MIN_SIDE} to {MAX_SIDE} pixels"
        )
    # The picture keeps its shape; width and height say it exactly.
    return output.model_copy(
        update={"width": new_w, "height": new_h, "resolution": None, "aspect_ratio": None}
    )


def _poster_problem(poster: Poster, size: tuple[int, int], default_width: int) -> str | None:
    width = poster.width or default_width
    height = even(Fraction(width * size[1], size[0]))
    if height > MAX_SIDE:
        return f"a still {width} pixels wide of this {size[0]}x{size[1]} output would be {height} pixels high; at most {MAX_SIDE}"
    return None


def output_problems(output: Output) -> Iterator[tuple[tuple[str, ...], str]]:
    """(field path inside the output, message) of each number an encoder would not take."""
    if output.aspect_ratio is not None and aspect(output) is None:
        yield ("aspect_ratio",), f"both sides of an aspect ratio are at least 1, got {output.aspect_ratio!r}"
        return
    width, height = frame_size(output)
    for side, value in (("width", width), ("height", height)):
        if not MIN_SIDE <= value <= MAX_SIDE:
            where = "aspect_ratio" if output.aspect_ratio is not None else side
            yield (
                (where,),
                f"the picture would be {width}x{height}; each side must be {MIN_SIDE} to {MAX_SIDE} pixels",
            )
            return
    codec = output.codec or {"mp4": "h264", "mov": "h264", "webm": "vp9"}.get(output.format)
    crf_max = CRF_MAX.get(codec or "") if output.is_video and output.format != "gif" else None
    if output.crf is not None and crf_max is not None and output.crf > crf_max:
        yield ("crf",), f"{codec} takes a crf from 0 to {crf_max}, got {output.crf}"
    if output.bitrate is not None:
        bits = parse_bitrate(output.bitrate)
        if not BITRATE_MIN <= bits <= BITRATE_MAX:
            yield ("bitrate",), f'a bitrate is 1k to 1000M bits per second, got "{output.bitrate}"'
    pcm = output.format == "mov" and codec == "prores"
    if output.audio and output.format in ("mp4", "mov", "m4a", "webm", "mp3") and not pcm:
        low, high = AUDIO_BITRATE_KBPS.get(output.format, AAC_BITRATE_KBPS)
        kbps = int(output.audio_bitrate[:-1])
        if not low <= kbps <= high:
            yield (
                ("audio_bitrate",),
                f'{output.format} audio takes {low}k to {high}k, got "{output.audio_bitrate}"',
            )
    if output.is_video:
        for name, still, default in (
            ("poster", output.poster, width),
            ("thumbnail", output.thumbnail, min(480, width)),
        ):
            if still is not None and (message := _poster_problem(still, (width, height), default)):
                yield (name, "width"), message
