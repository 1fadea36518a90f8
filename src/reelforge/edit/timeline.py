"""Resolve an edit's timing to whole frames at one frame rate.

This is the one place where times become frames: ``start: "auto"``, ``length: "auto"`` and
``"end"``, trims, speeds and transition overlaps. Everything downstream works in frames.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from .errors import EditError, Problem, pointer
from .models import Clip, Edit
from .timing import frames_to_seconds, parse_time

__all__ = ["DEFAULT_STILL_LENGTH", "ClipTiming", "ResolvedTimeline", "resolve_timeline", "source_key"]

DEFAULT_STILL_LENGTH = Fraction(5)
"""`length: "auto"` for images, text, shapes and colours, in seconds."""


def source_key(clip: Clip) -> str | None:
    """The source whose duration `length: "auto"` depends on, if any."""
    asset = clip.asset
    if asset.type in ("video", "audio"):
        return asset.src
    if asset.type == "caption" and asset.src is not None:
        return asset.src
    return None


@dataclass(frozen=True, slots=True)
class ClipTiming:
    track: int
    index: int
    clip: Clip
    start: int
    """First frame on the timeline."""
    length: int
    """Frames on the timeline."""
    transition: int = 0
    """Frames of overlap with the previous clip of the track (its `transition`)."""

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def pointer(self) -> str:
        return pointer("timeline", "tracks", self.track, "clips", self.index)


@dataclass(frozen=True, slots=True)
class ResolvedTimeline:
    fps: Fraction
    frames: int
    tracks: tuple[tuple[ClipTiming, ...], ...]

    def seconds(self, frames: int) -> Fraction:
        return frames_to_seconds(frames, self.fps)

    @property
    def duration(self) -> Fraction:
        return self.seconds(self.frames)

    def clips(self) -> list[ClipTiming]:
        return [c for track in self.tracks for c in track]


def _cue_end(clip: Clip) -> Fraction | None:
    asset = clip.asset
    if asset.type == "caption" and asset.cues:
        ends = [parse_time(c.end).seconds for c in asset.cues]
        return max((e for e in ends if e is not None), default=None)
    return None


def _check_trim(
    clip: Clip, durations: Mapping[str, Fraction | None], here: str, fps: Fraction, problems: list[Problem]
) -> None:
    """A trim at or past the source's end leaves nothing to show, whatever the clip's length."""
    asset = clip.asset
    if asset.type not in ("video", "audio") or asset.loop:
        return
    duration = durations.get(asset.src)
    trim = parse_time(asset.trim).to_seconds(fps)
    if duration is not None and trim >= duration:
        problems.append(
            Problem(
                here + "/asset/trim",
                f"trim ({float(trim):g} s) is at or past the end of the source ({float(duration):g} s)",
            )
        )


def _auto_length(
    clip: Clip, fps: Fraction, durations: Mapping[str, Fraction | None], here: str, problems: list[Problem]
) -> int | None:
    asset = clip.asset
    if asset.type in ("image", "text", "shape", "color"):
        return math.floor(DEFAULT_STILL_LENGTH * fps)
    if asset.type == "caption" and asset.cues is not None:
        if not asset.cues:
            problems.append(Problem(here + "/length", 'a caption without cues needs a `length` (or `"end"`)'))
            return None
        end = _cue_end(clip)
        cue_frames = parse_time(asset.cues[-1].end).to_frames(fps) if end is None else math.ceil(end * fps)
        return max(cue_frames, 1)
    key = source_key(clip)
    duration = durations.get(key) if key is not None else None
    if duration is None:
        problems.append(
            Problem(here + "/length", "the source has no known duration; give the clip a `length`")
        )
        return None
    trim = Fraction(0)
    speed = Fraction(1)
    if asset.type in ("video", "audio"):
        trim = parse_time(asset.trim).to_seconds(fps)
        speed = Fraction(str(asset.speed))
    remaining = duration - trim
    if remaining <= 0:
        problems.append(
            Problem(
                here + "/asset/trim",
                f"trim ({float(trim):g} s) is at or past the end of the source ({float(duration):g} s)",
            )
        )
        return None
    # Floor: never ask for a frame the source does not have.
    return max(math.floor(remaining / speed * fps), 1)


def resolve_timeline(
    edit: Edit, fps: Fraction, durations: Mapping[str, Fraction | None] | None = None
) -> ResolvedTimeline:
    """Place every clip in whole frames at ``fps``.

    ``durations`` gives the probed duration (seconds) of each source named by a clip, keyed by
    its ``src``; only clips with ``length: "auto"`` need one. Raises :class:`EditError` with
    every timing problem found.
    """
    durations = durations or {}
    problems: list[Problem] = []
    placed: list[list[ClipTiming | None]] = []
    pending_end: list[tuple[int, int, int, int]] = []  # (track, index, start, transition)

    for t, track in enumerate(edit.timeline.tracks):
        row: list[ClipTiming | None] = []
        prev_end: int | None = 0
        prev_len: int | None = None
        for c, clip in enumerate(track.clips):
            here = pointer("timeline", "tracks", t, "clips", c)
            overlap = parse_time(clip.transition.duration).to_frames(fps) if clip.transition else 0
            if clip.transition is not None and overlap < 1:
                problems.append(
                    Problem(here + "/transition/duration", "a transition lasts at least one frame")
                )
            if clip.start == "auto":
                if prev_end is None:
                    problems.append(
                        Problem(
                            here + "/start",
                            'the previous clip lasts until the end of the timeline (`length: "end"`), '
                            "so this clip cannot start after it: give it a `start`",
                        )
                    )
                    start = None
                else:
                    start = prev_end - overlap
            else:
                start = parse_time(clip.start).to_frames(fps)
                if clip.transition is not None and prev_end is not None and prev_end - start != overlap:
                    right = frames_to_seconds(prev_end - overlap, fps)
                    problems.append(
                        Problem(
                            here + "/start",
                            f"with its {float(frames_to_seconds(overlap, fps)):g} s transition this clip must "
                            f"start at {float(right):g} s, where it overlaps the previous clip by the "
                            'transition\'s length (or use `start: "auto"`)',
                        )
                    )
            if start is not None and start < 0:
                problems.append(
                    Problem(here + "/transition/duration", "the transition is longer than the previous clip")
                )
                start = None

            length: int | None
            if clip.length == "end":
                length = None
                if start is not None:
                    pending_end.append((t, c, start, overlap))
            elif clip.length == "auto":
                length = _auto_length(clip, fps, durations, here, problems)
            else:
                length = parse_time(clip.length).to_frames(fps)
                if length < 1:
                    problems.append(Problem(here + "/length", "a clip lasts at least one frame"))
                    length = None
                _check_trim(clip, durations, here, fps, problems)

            if (
                clip.transition is not None
                and length is not None
                and prev_len is not None
                and (overlap >= length or overlap >= prev_len)
            ):
                problems.append(
                    Problem(
                        here + "/transition/duration", "a transition must be shorter than both clips it joins"
                    )
                )

            row.append(
                ClipTiming(t, c, clip, start, length, overlap)
                if start is not None and length is not None
                else None
            )
            prev_end = start + length if start is not None and length is not None else None
            prev_len = length
        placed.append(row)

    fixed_ends = [ct.end for row in placed for ct in row if ct is not None]
    if not fixed_ends and pending_end:
        problems.append(
            Problem(
                "/timeline/tracks",
                'every clip lasts until the end of the timeline (`length: "end"`): at least one needs a length',
            )
        )
    total = max(fixed_ends, default=0)
    for t, c, start, overlap in pending_end:
        if start >= total:
            problems.append(
                Problem(
                    pointer("timeline", "tracks", t, "clips", c, "start"),
                    f"the clip starts at or after the end of the timeline ({float(frames_to_seconds(total, fps)):g} s), "
                    'so `length: "end"` leaves it nothing',
                )
            )
            continue
        placed[t][c] = ClipTiming(t, c, edit.timeline.tracks[t].clips[c], start, total - start, overlap)

    if problems:
        raise EditError(problems)
    if total < 1:
        raise EditError([Problem("/timeline", "the timeline is empty")])
    tracks = tuple(tuple(ct for ct in row if ct is not None) for row in placed)
    return ResolvedTimeline(fps=fps, frames=total, tracks=tracks)
