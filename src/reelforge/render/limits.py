"""How much work an edit asks for, against a workspace's limits.

Pure: the edit, the limits and (for ``length: "auto"`` clips) the sources' known durations in,
the limits exceeded out. The cheap counts come first, and the timeline is resolved to frames
only when they pass, once per frame rate the outputs use: nothing is probed, compiled or
rendered, so a 10,000-clip or 1,000-hour edit is refused for the cost of reading it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from reelforge.configured import configured_settings
from reelforge.edit.errors import EditError
from reelforge.edit.models import Edit
from reelforge.edit.timeline import ResolvedTimeline, resolve_timeline
from reelforge.edit.timing import TimeValueError, parse_time

from .outputs import geometry
from .plan import RenderPlan

# The settings load only when they are read: a command with nothing configured checks an edit
# against the class defaults without pydantic-settings (see reelforge.configured).
if TYPE_CHECKING:
    from reelforge.settings import Settings

__all__ = [
    "BUDGET",
    "LIMIT_NAMES",
    "OUTPUT_RETENTION",
    "STORAGE_ASSETS",
    "STORAGE_BYTES",
    "STORAGE_LIMITS",
    "UPLOAD_EXPIRY",
    "WORKSPACE_LIMITS",
    "ZERO_IS_NONE",
    "LimitExceeded",
    "Limits",
    "configured_limits",
    "default_limits",
    "edit_limit_problems",
    "merged_limits",
    "plan_limit_problems",
]


@dataclass(frozen=True, slots=True)
class Limits:
    """The most one render (or project, template, batch row) may ask for. Defaults come from
    the settings (``REELFORGE_LIMIT_*``); an operator overrides them per workspace."""

    timeline_seconds: float = 3 * 3600
    """The timeline's duration."""
    clips: int = 1000
    """Clips on all tracks together."""
    tracks: int = 100
    outputs: int = 20
    """Files one render makes (posters and thumbnails not counted)."""
    output_seconds: float = 12 * 3600
    """The durations of all outputs added up (a still counts one frame)."""
    output_pixel_frames: float = 5e11
    """Width x height x frames of all outputs added up: the encoders' work (5e11 is about two
    hours of 1080p at 30 fps)."""

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Limits:
        """Limits from a mapping holding (at least) every field by name."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})


LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Limits))
BUDGET = "render_seconds_per_day"
STORAGE_BYTES = "storage_bytes"
STORAGE_ASSETS = "storage_assets"
OUTPUT_RETENTION = "output_retention_days"
STORAGE_LIMITS: tuple[str, ...] = (STORAGE_BYTES, STORAGE_ASSETS, OUTPUT_RETENTION)
"""The workspace's storage quotas and how long render outputs are kept (0: no quota, kept)."""
UPLOAD_EXPIRY = "upload_expiry_hours"
"""How long an unfinished resumable upload is kept after its last bytes arrived."""
WORKSPACE_LIMITS: tuple[str, ...] = (*LIMIT_NAMES, BUDGET, *STORAGE_LIMITS, UPLOAD_EXPIRY)
"""Every number an operator may set per workspace: the limits, the daily render budget, the
storage quotas, the outputs' retention and how long unfinished uploads are kept."""
ZERO_IS_NONE: frozenset[str] = frozenset({BUDGET, *STORAGE_LIMITS})
"""Limits for which 0 means none (no budget, no quota, kept forever)."""


def _setting(name: str) -> str:
    return name if name == BUDGET else f"limit_{name}"


def default_limits(settings: Settings | None) -> dict[str, float | int]:
    """The installation's defaults (the settings' class defaults without ``settings``)."""
    if settings is not None:
        return {name: getattr(settings, _setting(name)) for name in WORKSPACE_LIMITS}
    from reelforge.settings import Settings as Declared

    return {name: Declared.model_fields[_setting(name)].default for name in WORKSPACE_LIMITS}


def configured_limits() -> Limits:
    """The render limits of this installation (``REELFORGE_LIMIT_*``): :class:`Limits`' own
    defaults, which are the settings' defaults, when nothing is configured."""
    settings = configured_settings()
    return Limits() if settings is None else Limits.of(default_limits(settings))


def merged_limits(
    defaults: Mapping[str, float | int], overrides: Mapping[str, Any] | None
) -> dict[str, float | int]:
    """A workspace's numbers: its overrides over the defaults; whole numbers as ``int`` (10800,
    not 10800.0, wherever it came from)."""
    values = dict(defaults)
    values.update({k: v for k, v in (overrides or {}).items() if k in values and v is not None})
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """One limit an edit goes beyond: which (``limit``), by how much, and where (``pointer``
    into the edit)."""

    limit: str
    value: float
    maximum: float
    pointer: str
    detail: str

    def as_error(self, prefix: str = "") -> dict[str, Any]:
        """The member of a problem's ``errors`` that reports it (pointer ``#<prefix>…``)."""
        return {
            "pointer": "#" + prefix + self.pointer,
            "code": "limit_exceeded",
            "limit": self.limit,
            "value": self.value,
            "maximum": self.maximum,
            "detail": self.detail,
        }


def _number(value: float | Fraction | int) -> float | int:
    if isinstance(value, int):
        return value
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else round(number, 3)


def _exceeded(
    limit: str, value: float | Fraction | int, maximum: float, pointer: str, what: str
) -> LimitExceeded:
    shown, most = _number(value), _number(maximum)
    return LimitExceeded(
        limit, shown, most, pointer, f"{what} is {shown:g}; this workspace allows at most {most:g}"
    )


def _output_spans(
    edit: Edit, timelines: Mapping[Fraction, ResolvedTimeline]
) -> list[tuple[int, int, int, int]]:
    """(index, width, height, frames) of each output as the compiler cuts it (its range, one
    frame for a still; 0 width and height for sound only)."""
    spans = []
    for i, output in enumerate(edit.outputs):
        geo = geometry(output)
        total = timelines[geo.fps].frames
        start, end = 0, total
        if output.range is not None:
            start = parse_time(output.range.start).to_frames(geo.fps)
            if output.range.length is not None:
                end = min(end, start + parse_time(output.range.length).to_frames(geo.fps))
        frames = 1 if output.is_still else max(end - start, 0)
        width, height = (0, 0) if output.is_audio_only else (geo.width, geo.height)
        spans.append((i, width, height, frames))
    return spans


def _output_problems(
    limits: Limits, fps_of: list[Fraction], spans: list[tuple[int, int, int, int]]
) -> list[LimitExceeded]:
    problems = []
    seconds = sum((Fraction(frames) / fps_of[i] for i, _, _, frames in spans), Fraction(0))
    if seconds > Fraction(limits.output_seconds):
        problems.append(
            _exceeded(
                "output_seconds",
                seconds,
                limits.output_seconds,
                "/outputs",
                "the outputs' durations added up (seconds)",
            )
        )
    pixel_frames = sum(width * height * frames for _, width, height, frames in spans)
    if pixel_frames > limits.output_pixel_frames:
        problems.append(
            _exceeded(
                "output_pixel_frames",
                pixel_frames,
                limits.output_pixel_frames,
                "/outputs",
                "the outputs' width x height x frames added up",
            )
        )
    return problems


def edit_limit_problems(
    edit: Edit, limits: Limits, durations: Mapping[str, Fraction | None] | None = None
) -> list[LimitExceeded]:
    """Every limit ``edit`` goes beyond (empty: within them all).

    ``durations``: the known duration (seconds) of sources by ``src``, for ``length: "auto"``
    clips. An edit whose timing cannot be resolved (a source of unknown duration, an overlap
    that does not fit) is checked on its counts only: rendering it fails on the timing before
    any work, and the render checks its plan again (:func:`plan_limit_problems`)."""
    problems: list[LimitExceeded] = []
    if len(edit.outputs) > limits.outputs:
        problems.append(
            _exceeded("outputs", len(edit.outputs), limits.outputs, "/outputs", "the number of outputs")
        )
    tracks = edit.timeline.tracks
    if len(tracks) > limits.tracks:
        problems.append(
            _exceeded("tracks", len(tracks), limits.tracks, "/timeline/tracks", "the number of tracks")
        )
    clips = sum(len(track.clips) for track in tracks)
    if clips > limits.clips:
        problems.append(
            _exceeded("clips", clips, limits.clips, "/timeline/tracks", "the number of clips on all tracks")
        )
    if problems:
        return problems  # resolving a timeline that is too large already is work saved
    try:
        fps_of = [geometry(output).fps for output in edit.outputs]
        timelines = {fps: resolve_timeline(edit, fps, durations) for fps in sorted(set(fps_of))}
    except (EditError, TimeValueError, ValueError):
        return problems
    longest = max(tl.duration for tl in timelines.values())
    if longest > Fraction(limits.timeline_seconds):
        # The outputs follow from the timeline: its limit says what to shorten.
        return [
            _exceeded(
                "timeline_seconds",
                longest,
                limits.timeline_seconds,
                "/timeline",
                "the timeline's duration (seconds)",
            )
        ]
    return _output_problems(limits, fps_of, _output_spans(edit, timelines))


def plan_limit_problems(plan: RenderPlan, limits: Limits) -> list[LimitExceeded]:
    """:func:`edit_limit_problems` for a compiled plan, whose sources are probed: exact for
    ``length: "auto"`` clips whose duration was unknown when the edit was checked."""
    durations = {source.src: source.duration for source in plan.sources.values()}
    return edit_limit_problems(plan.edit, limits, durations)
