"""Time values of the edit language and their conversion to whole output frames.

Every time in an edit (seconds, ``"hh:mm:ss.mmm"`` or frames such as ``"48f"``) is parsed here
into an exact rational number, and converted to frames here and nowhere else, so rounding
happens once and NTSC rates (23.976, 29.97, 59.94) stay exact.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "MAX_FRAMES",
    "MAX_SECONDS",
    "NTSC_RATES",
    "TimeRef",
    "TimeTooLarge",
    "TimeValueError",
    "frames_to_seconds",
    "parse_fps",
    "parse_time",
    "seconds_to_frames",
]


class TimeValueError(ValueError):
    """A time or frame rate that cannot be understood; the message says what is accepted."""


class TimeTooLarge(TimeValueError):
    """A time beyond :data:`MAX_SECONDS` (or :data:`MAX_FRAMES`)."""


# Rates people write as decimals but mean as NTSC fractions.
NTSC_RATES: dict[str, Fraction] = {
    "23.976": Fraction(24000, 1001),
    "23.98": Fraction(24000, 1001),
    "29.97": Fraction(30000, 1001),
    "47.952": Fraction(48000, 1001),
    "59.94": Fraction(60000, 1001),
    "119.88": Fraction(120000, 1001),
}

_CLOCK = re.compile(r"^(?:(?P<h>\d+):)?(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:\.\d+)?)$")
_FRAMES = re.compile(r"^(?P<n>\d+)f$")
_SECONDS = re.compile(r"^(?P<s>\d+(?:\.\d+)?)s?$")

TIME_HELP = 'a number of seconds (2.5), "hh:mm:ss.mmm" ("00:01:02.500"), or frames ("48f")'

MAX_SECONDS = 1_000_000
"""The largest time of an edit, about 11.5 days: far above any timeline a workspace may render,
low enough that every time stays a frame count FFmpeg holds in 32 bits (at 240 fps too)."""
MAX_FRAMES = 240 * MAX_SECONDS
"""The largest time written in frames (``"240000000f"``)."""


@dataclass(frozen=True, slots=True)
class TimeRef:
    """A parsed time: exact seconds, or a frame count that becomes seconds once the fps is known."""

    seconds: Fraction | None = None
    frames: int | None = None

    def to_frames(self, fps: Fraction) -> int:
        if self.frames is not None:
            return self.frames
        assert self.seconds is not None
        return seconds_to_frames(self.seconds, fps)

    def to_seconds(self, fps: Fraction) -> Fraction:
        if self.seconds is not None:
            return self.seconds
        assert self.frames is not None
        return frames_to_seconds(self.frames, fps)


def parse_time(value: float | int | str) -> TimeRef:
    """Parse a time value of the edit language. Negative times, and times beyond
    :data:`MAX_SECONDS` (or :data:`MAX_FRAMES`), are refused."""
    try:
        ref = _parse_time(value)
    except TimeValueError:
        raise
    except ValueError:  # more digits than int() reads: far beyond the largest time
        raise TimeTooLarge(f"a time is at most {MAX_SECONDS} seconds or {MAX_FRAMES} frames") from None
    if (ref.seconds is not None and ref.seconds > MAX_SECONDS) or (
        ref.frames is not None and ref.frames > MAX_FRAMES
    ):
        shown = value if len(str(value)) <= 30 else f"{str(value)[:20]}…"
        raise TimeTooLarge(f"a time is at most {MAX_SECONDS} seconds or {MAX_FRAMES} frames, got {shown!r}")
    return ref


def _parse_time(value: float | int | str) -> TimeRef:
    if isinstance(value, bool):
        raise TimeValueError(f"expected {TIME_HELP}, got a boolean")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):  # an int is finite, however large
            raise TimeValueError(f"expected {TIME_HELP}, got {value!r}")
        if value < 0:
            raise TimeValueError(f"a time cannot be negative (got {value})")
        # Through str() so 0.1 means exactly 1/10, not the nearest binary double.
        return TimeRef(seconds=Fraction(str(value)))
    if isinstance(value, str):
        text = value.strip()
        if m := _FRAMES.match(text):
            return TimeRef(frames=int(m["n"]))
        if m := _SECONDS.match(text):
            return TimeRef(seconds=Fraction(m["s"]))
        if m := _CLOCK.match(text):
            minutes, secs = int(m["m"]), Fraction(m["s"])
            if m["h"] is not None and minutes >= 60:
                raise TimeValueError(f"minutes must be below 60 in {value!r}")
            if secs >= 60:
                raise TimeValueError(f"seconds must be below 60 in {value!r}")
            return TimeRef(seconds=int(m["h"] or 0) * 3600 + minutes * 60 + secs)
        raise TimeValueError(f"expected {TIME_HELP}, got {value!r}")
    raise TimeValueError(f"expected {TIME_HELP}, got {type(value).__name__}")


def parse_fps(value: float | int | str | Fraction) -> Fraction:
    """Parse a frame rate: 25, 29.97 (read as 30000/1001), "30000/1001"."""
    if isinstance(value, Fraction):
        fps = value
    elif isinstance(value, bool):
        raise TimeValueError("fps must be a number")
    elif isinstance(value, int):
        fps = Fraction(value)
    elif isinstance(value, float | str):
        text = str(value).strip()
        if text in NTSC_RATES:
            fps = NTSC_RATES[text]
        else:
            try:
                fps = Fraction(text)
            except (ValueError, ZeroDivisionError):
                raise TimeValueError(
                    f'fps must be a number or a fraction such as "30000/1001", got {value!r}'
                ) from None
    else:
        raise TimeValueError("fps must be a number")
    if not (1 <= fps <= 240):
        raise TimeValueError(f"fps must be between 1 and 240, got {value}")
    return fps


def seconds_to_frames(seconds: Fraction, fps: Fraction) -> int:
    """Round to the nearest frame, halves up, exactly."""
    return math.floor(seconds * fps + Fraction(1, 2))


def frames_to_seconds(frames: int, fps: Fraction) -> Fraction:
    return Fraction(frames) / fps
