"""Long timelines as sequential segments: the segment plan, as data.

One FFmpeg run holds every input's decoder and buffers for the whole run, so its memory grows
with the number of clips. A segmented render bounds it instead:

* the picture is rendered in segments, each a separate FFmpeg run that opens only the inputs
  of the clips on screen in its time span (a sub-edit of those clips, compiled by the same
  compiler), each encoded from a keyframe at its own start (every run starts a new, closed GOP);
* the audio is mixed for the whole timeline, never cut in time, so a join never clicks or
  drifts. One run opening every sounding clip would grow with the clips again (about 1.5 MiB
  per input), so the mix is a chain of audio-only runs (:func:`audio_groups`): each opens a
  group of sounding clips and adds them, in the one-pass mix's order, to the running sum the
  previous run wrote (32-bit float PCM, the mix's own sample format). FFmpeg's ``amix`` (with
  ``normalize=0``) adds its inputs one after the other into a zeroed buffer, so
  ``((s + a) + b)`` here is ``(((x + y) + a) + b)`` of one pass bit for bit; the last run
  normalises the whole sum, as one pass does;
* each output's segments are joined without re-encoding (FFmpeg's concat demuxer, stream
  copy) and muxed with that audio.

Segments start and end on whole frames of the timeline, only where no picture clip is on
screen across the cut (so a transition, which overlaps two clips, is never split), each as long
as it can be within :attr:`SegmentPolicy.max_clips` picture clips and
:attr:`SegmentPolicy.max_seconds` (a run's memory grows with the inputs it opens: one per clip). This module is pure: :func:`segment_plan` takes a
compiled one-pass plan and returns what to run; :mod:`reelforge.render.engine` runs it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reelforge.edit.errors import pointer
from reelforge.edit.models import AudioAsset, Clip, Edit, Output, Track, VideoAsset
from reelforge.edit.timeline import ClipTiming, ResolvedTimeline
from reelforge.edit.timing import parse_time
from reelforge.ffmpeg.binary import base_args
from reelforge.ffmpeg.probe import MediaInfo

from .audio import SAMPLE_RATE, sample_at
from .compile import compile_edit
from .layout import SafeZone
from .outputs import audio_codec_args, container_args
from .plan import RenderPlan, Source

if TYPE_CHECKING:
    from reelforge.settings import Settings

__all__ = [
    "AudioPart",
    "AudioRange",
    "Join",
    "Segment",
    "SegmentPolicy",
    "SegmentedRender",
    "audio_groups",
    "cut_points",
    "one_pass_reason",
    "segment_bounds",
    "segment_plan",
    "source_end",
    "splittable",
]

# Formats whose video streams the concat demuxer joins by stream copy.
_JOINABLE = ("mp4", "mov", "webm")


@dataclass(frozen=True, slots=True)
class SegmentPolicy:
    """When to segment and how long segments aim to be (settings ``REELFORGE_RENDER_SEGMENT_*``)."""

    min_inputs: int = 24
    """Segment when the one-pass plan would open at least this many FFmpeg inputs (0: never)."""
    max_clips: int = 4
    """Picture clips in one segment at most (each opens about one input), where cuts allow
    (0: never segment)."""
    max_seconds: float = 60.0
    split_clips: bool = False
    """Where a stretch longer than ``max_seconds`` has no cut, cut inside clips whose picture
    only depends on the source frame shown (see :func:`splittable`): each part seeks into the
    clip at its offset. Chunked renders do, so one long clip is spread over workers."""
    audio_range_seconds: float = 0.0
    """Mix the audio as independent time ranges of about this length (chunked renders: any
    worker mixes a range), joined sample for sample before the mix's tail; 0: one chained mix."""

    @classmethod
    def of(cls, settings: Settings) -> SegmentPolicy:
        return cls(
            settings.render_segment_inputs, settings.render_segment_clips, settings.render_segment_seconds
        )

    @classmethod
    def configured(cls) -> SegmentPolicy:
        """This installation's policy: the settings' when anything configures them, else the
        class defaults (the settings' defaults), without loading the settings."""
        from reelforge.configured import configured_settings

        settings = configured_settings()
        return cls() if settings is None else cls.of(settings)


@dataclass(frozen=True, slots=True)
class Segment:
    """One picture-only FFmpeg run over the timeline's frames ``[start_frame, end_frame)``."""

    index: int
    start_frame: int
    end_frame: int
    clips: tuple[str, ...]
    """Pointers of the clips it renders (in the full edit)."""
    plan: RenderPlan
    """The sub-edit of those clips, shifted to start at 0 and compiled; one file per output."""
    pointers: Mapping[str, str] = field(default_factory=dict)
    """A clip's pointer in the sub-edit -> its pointer in the full edit (for errors)."""

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


@dataclass(frozen=True, slots=True)
class Join:
    """One output: its segment files joined by stream copy, muxed with the mixed audio."""

    output: int
    path: Path
    list_path: Path
    """The concat demuxer's list of segment files."""
    segment_files: tuple[Path, ...]
    audio_file: Path | None
    args: tuple[str, ...]
    """FFmpeg's arguments (without the executable); the engine adds :func:`colour_filter`'s
    bitstream filter before the output path once the first segment exists."""

    def list_text(self) -> str:
        return "".join(f"file '{_quote(p)}'\n" for p in self.segment_files)


@dataclass(frozen=True, slots=True)
class AudioPart:
    """One audio-only run of a chained mix: writes the sum so far to ``path`` (32-bit float
    WAV, RF64 when long), which the next run reads as its first sound."""

    plan: RenderPlan
    path: Path


@dataclass(frozen=True, slots=True)
class AudioRange:
    """One audio-only run mixing samples ``[first_sample, end_sample)`` of the whole timeline's
    mix before its tail (:func:`~reelforge.render.audio.add_mix_window`) into ``path`` (32-bit
    float WAV). The ranges tile the timeline; concatenated they are the whole mix's sum, bit for
    bit, which :attr:`SegmentedRender.audio` then normalises and encodes once."""

    index: int
    first_sample: int
    end_sample: int
    edit: Edit
    """The sounds of the range (every clip sounding in it, where it is on the whole timeline):
    what a worker compiles again with ``mix_window`` to run it elsewhere."""
    plan: RenderPlan
    path: Path
    pointers: Mapping[str, str] = field(default_factory=dict)
    """A clip's pointer in ``edit`` -> its pointer in the full edit (for errors)."""

    @property
    def window(self) -> tuple[int, int]:
        return (self.first_sample, self.end_sample)


@dataclass(frozen=True, slots=True)
class SegmentedRender:
    """What a segmented render runs, in order: ``audio_parts``, ``audio`` (if any),
    ``segments``, ``joins``."""

    fps: Fraction
    segments: tuple[Segment, ...]
    audio: RenderPlan | None
    """The last audio-only run: the whole edit's mix (the running sum of ``audio_parts`` plus its
    own clips), normalised, one file per output with audio."""
    joins: tuple[Join, ...]
    audio_parts: tuple[AudioPart, ...] = ()
    """The audio runs before ``audio``, in order, each adding its clips to the sum so far."""
    audio_ranges: tuple[AudioRange, ...] = ()
    """Instead of ``audio_parts``: the mix's sum in independent time ranges (any order, any
    worker), concatenated into ``audio_sum``, which ``audio`` reads as its only sound."""
    audio_sum: Path | None = None

    def describe(self, ffmpeg: str) -> dict[str, Any]:
        """The runs as JSON-ready data (``reelforge plan --json``), each with its command."""

        def command(args: Sequence[str]) -> list[str]:
            return [ffmpeg, *args]

        return {
            "fps": f"{self.fps.numerator}/{self.fps.denominator}",
            "audio_parts": [
                {
                    "inputs": [path for path, _ in part.plan.inputs],
                    "sum": str(part.path),
                    "command": command(part.plan.ffmpeg_args(inline_graph=True)),
                }
                for part in self.audio_parts
            ],
            "audio_ranges": [
                {
                    "index": r.index,
                    "samples": [r.first_sample, r.end_sample],
                    "inputs": [path for path, _ in r.plan.inputs],
                    "file": str(r.path),
                    "command": command(r.plan.ffmpeg_args(inline_graph=True)),
                }
                for r in self.audio_ranges
            ],
            "audio": None
            if self.audio is None
            else {
                "inputs": [path for path, _ in self.audio.inputs],
                "files": [str(o.path) for o in self.audio.outputs],
                "command": command(self.audio.ffmpeg_args(inline_graph=True)),
            },
            "segments": [
                {
                    "index": s.index,
                    "start_frame": s.start_frame,
                    "end_frame": s.end_frame,
                    "clips": list(s.clips),
                    "inputs": [path for path, _ in s.plan.inputs],
                    "files": [str(o.path) for o in s.plan.outputs],
                    "command": command(s.plan.ffmpeg_args(inline_graph=True)),
                }
                for s in self.segments
            ],
            "joins": [
                {
                    "output": j.output,
                    "path": str(j.path),
                    "segment_files": [str(p) for p in j.segment_files],
                    "audio_file": None if j.audio_file is None else str(j.audio_file),
                    "command": command(j.args),
                }
                for j in self.joins
            ],
        }

    @property
    def inputs(self) -> int:
        """The most inputs one run opens."""
        runs = [s.plan for s in self.segments] + [part.plan for part in self.audio_parts]
        runs += [r.plan for r in self.audio_ranges]
        runs += [self.audio] if self.audio is not None else []
        return max(len(p.inputs) for p in runs)


def colour_filter(codec: str, colorspace: int, primaries: int, trc: int, colour_range: int) -> list[str]:
    """A bitstream filter writing one colour description into every segment's headers.

    Each segment's encoder describes the colours of its own first frame (sources differ:
    one tagged BT.601, one untagged), so joined segments could change description mid-stream,
    which one pass never does. The first segment's description (FFmpeg's values, which are
    those of H.273) is copied onto all, without touching a pixel."""
    full = 1 if colour_range == 2 else 0
    if codec in ("h264", "hevc"):
        return [
            "-bsf:v",
            f"{codec}_metadata=video_full_range_flag={full}:colour_primaries={primaries}"
            f":transfer_characteristics={trc}:matrix_coefficients={colorspace}",
        ]
    if codec == "vp9":
        space = {1: "bt709", 5: "bt601", 6: "smpte170", 7: "smpte240", 9: "bt2020", 0: "rgb"}.get(
            colorspace, "unknown"
        )
        return ["-bsf:v", f"vp9_metadata=color_space={space}:color_range={'pc' if full else 'tv'}"]
    return []


def _quote(path: Path) -> str:
    # The concat list's quoting: inside single quotes, a quote is written '\''.
    return str(path).replace("'", "'\\''")


def _is_picture(ct: ClipTiming) -> bool:
    return ct.clip.asset.type != "audio"


def cut_points(timeline: ResolvedTimeline) -> list[int]:
    """Frames where the timeline can be cut: no picture clip is on screen across them."""
    spans = sorted((ct.start, ct.end) for ct in timeline.clips() if _is_picture(ct))
    candidates = sorted({f for span in spans for f in span if 0 < f < timeline.frames})
    cuts: list[int] = []
    # Sweep: a candidate is a cut when no span starts before it and ends after it.
    reach, i = 0, 0
    for frame in candidates:
        while i < len(spans) and spans[i][0] < frame:
            reach = max(reach, spans[i][1])
            i += 1
        if reach <= frame:
            cuts.append(frame)
    return cuts


_TIMED_FIELDS = ("keyframes", "motion", "transition_in", "transition_out")
"""Clip fields that change the picture with the clip's own clock."""


def splittable(clip: Clip) -> bool:
    """Whether a clip can be cut in two anywhere after its transition in: its picture at a frame
    depends only on the source frame shown then (a video, not looped, seeked to its offset; a
    still image; a colour), nothing animates on the clip's clock, and automatic focus (which
    looks at the whole clip) is off."""
    asset = clip.asset
    if not isinstance(asset, VideoAsset) and asset.type not in ("image", "color"):
        return False
    if isinstance(asset, VideoAsset) and asset.loop:
        return False
    looks = [clip, *(clip.overrides or {}).values()]
    if any(getattr(look, name, None) is not None for look in looks for name in _TIMED_FIELDS):
        return False
    return all(getattr(look, "focus", None) != "auto" for look in looks)


def source_end(ct: ClipTiming, fps: Fraction, durations: Mapping[str, Fraction | None]) -> int | None:
    """The first timeline frame of a video clip that its source no longer covers whole (the
    source's time there plus one frame's worth is past its end), or ``None`` when nothing ends
    it before the clip does (not a video, looped, or a source of unknown duration).

    A part of a clip split at or after this frame would seek at or past the source's end: a
    clip held on its last frame (``freeze``) or padded past the end is never split there."""
    asset = ct.clip.asset
    if not isinstance(asset, VideoAsset) or asset.loop:
        return None
    duration = durations.get(asset.src)
    if duration is None:
        return None
    remaining = duration - parse_time(asset.trim).to_seconds(fps)
    # The part starting at frame f shows the source from trim + (f - start) * speed / fps; its
    # first frame is whole within the source while f - start + 1 <= remaining * fps / speed.
    end = ct.start + math.floor(remaining * fps / Fraction(str(asset.speed)))
    return end if end < ct.end else None


def _split_at(
    timeline: ResolvedTimeline, frame: int, durations: Mapping[str, Fraction | None] | None = None
) -> bool:
    """Whether every picture clip across ``frame`` can be cut there: each part stays longer than
    the transition it takes part in (a transition must be shorter than the clips it joins), so
    none is cut within its transition in, nor where the next clip's transition begins; and no
    part after the cut starts where its source has ended (:func:`source_end`)."""
    for ct in timeline.clips():
        if not _is_picture(ct):
            continue
        if ct.start == frame and ct.transition > 0:
            return False
        if ct.start < frame < ct.end:
            if not splittable(ct.clip) or frame <= ct.start + ct.transition:
                return False
            end = source_end(ct, timeline.fps, durations or {})
            if end is not None and frame >= end:
                return False
    return True


def segment_bounds(
    timeline: ResolvedTimeline, policy: SegmentPolicy, durations: Mapping[str, Fraction | None] | None = None
) -> list[int]:
    """Segment starts and the end, greedily: the farthest cut within the policy's frames and
    clips, else (a stretch with no cut) the farthest frame within them where the clips across
    it can be split (:attr:`SegmentPolicy.split_clips`), else the next cut.

    ``durations`` (seconds, by ``src``) are the sources' probed durations: a video clip longer
    than what its source has left is only split where the source still covers the part after
    the cut (:func:`source_end`)."""
    max_frames = max(1, math.floor(Fraction(str(policy.max_seconds)) * timeline.fps))
    cuts = cut_points(timeline)
    starts = sorted(ct.start for ct in timeline.clips() if _is_picture(ct))
    durations = durations or {}
    # Where a split may fall: the window's end, or next to a clip's start, just after its
    # transition in or just before its source ends (the frames where what may be cut changes).
    marks = sorted(
        {
            f
            for ct in timeline.clips()
            if _is_picture(ct)
            for f in (ct.start - 1, ct.start, ct.start + ct.transition + 1)
        }
        | {end - 1 for ct in timeline.clips() if (end := source_end(ct, timeline.fps, durations)) is not None}
    )
    bounds = [0]
    position = 0
    while position < timeline.frames:
        first = bisect_right(starts, position - 1)  # the first clip starting at or after here
        fits = [
            c
            for c in cuts
            if position < c <= position + max_frames
            and bisect_right(starts, c - 1) - first <= policy.max_clips
        ]
        if not fits and policy.split_clips and position + max_frames < timeline.frames:
            reach = position + max_frames
            candidates = [reach, *reversed([m for m in marks if position < m < reach])]
            fits = [
                c
                for c in candidates
                if bisect_right(starts, c - 1) - first <= policy.max_clips
                and _split_at(timeline, c, durations)
            ][:1]
        after = [c for c in cuts if c > position]
        nxt = fits[-1] if fits else (after[0] if after else timeline.frames)
        # The rest fits in one segment: no cut needed.
        rest = len(starts) - first
        if timeline.frames - position <= max_frames and rest <= policy.max_clips:
            nxt = timeline.frames
        bounds.append(nxt)
        position = nxt
    return bounds


def one_pass_reason(plan: RenderPlan, policy: SegmentPolicy) -> str | None:
    """Why ``plan`` renders in one FFmpeg run, or ``None`` when it can be segmented."""
    if policy.min_inputs <= 0 or policy.max_clips <= 0:
        return "segmenting is off"
    if len(plan.inputs) < policy.min_inputs:
        return f"{len(plan.inputs)} inputs (segmenting starts at {policy.min_inputs})"
    outputs = plan.edit.outputs
    if any(o.format not in _JOINABLE for o in outputs):
        return "an output is not a video file (mp4, mov or webm)"
    if any(o.range is not None or o.poster is not None or o.thumbnail is not None for o in outputs):
        return "an output has a range, poster or thumbnail"
    if len({o.fps for o in plan.outputs}) != 1:
        return "the outputs have different frame rates"
    fps = plan.outputs[0].fps
    timeline = plan.timelines[fps]
    if len(segment_bounds(timeline, policy, _durations(plan))) < 3:
        return "no cut where no picture clip is on screen across it"
    return None


def _durations(plan: RenderPlan) -> dict[str, Fraction | None]:
    return {source.src: source.duration for source in plan.sources.values()}


def _in_window(ct: ClipTiming, start: int, end: int) -> bool:
    return _is_picture(ct) and ct.start < end and ct.end > start


def _window_tracks(edit: Edit, timeline: ResolvedTimeline, start: int, end: int) -> list[Track]:
    """The picture clips on screen in ``[start, end)``, moved to start at 0, track by track; a
    clip split by the window (see :func:`splittable`) keeps its part in it, seeking into its
    source at the part's offset."""
    tracks: list[Track] = []
    for t, placed in enumerate(timeline.tracks):
        clips: list[Clip] = []
        for ct in placed:
            if not _in_window(ct, start, end):
                continue
            # Frames, not seconds: the sub-edit resolves to exactly these frames.
            first, last = max(ct.start, start), min(ct.end, end)
            update: dict[str, Any] = {"start": f"{first - start}f", "length": f"{last - first}f"}
            if first > ct.start:
                # The part after a split: no transition in (it was before), the source from the
                # frame this part begins with.
                update["transition"] = None
                asset = ct.clip.asset
                if isinstance(asset, VideoAsset):
                    trim = parse_time(asset.trim).to_seconds(timeline.fps)
                    offset = Fraction(first - ct.start) / timeline.fps * Fraction(asset.speed)
                    update["asset"] = asset.model_copy(update={"trim": f"{float(trim + offset):.6f}"})
            clips.append(ct.clip.model_copy(update=update))
        if clips:
            tracks.append(edit.timeline.tracks[t].model_copy(update={"clips": clips}))
    return tracks


def _segment_edit(edit: Edit, timeline: ResolvedTimeline, start: int, end: int, index: int) -> Edit:
    tracks = _window_tracks(edit, timeline, start, end)
    last = max((min(ct.end, end) for ct in timeline.clips() if _in_window(ct, start, end)), default=start)
    if last < end:
        # Nothing on screen until the segment ends (the timeline ends with audio only): an
        # invisible clip gives the segment its length; the background shows, as in one pass.
        filler = Clip.model_validate(
            {
                "asset": {"type": "color", "color": "#00000000"},
                "start": f"{last - start}f",
                "length": f"{end - last}f",
            }
        )
        tracks.insert(0, Track(clips=[filler]))
    outputs = [
        o.model_copy(update={"audio": False, "name": f"segment-{index:04d}-{i}"})
        for i, o in enumerate(edit.outputs)
    ]
    timeline_model = edit.timeline.model_copy(update={"tracks": tracks, "soundtrack": None})
    return edit.model_copy(update={"timeline": timeline_model, "outputs": outputs})


def _audio_clips(edit: Edit, timeline: ResolvedTimeline) -> list[list[Clip]]:
    """Each track's clips as the audio runs see them: each sounding video clip becomes the audio
    clip it contributes (the same source, trim, speed, volume and fades, in the same frames), so
    no audio run opens a picture."""
    tracks: list[list[Clip]] = []
    for placed in timeline.tracks:
        clips: list[Clip] = []
        for ct in placed:
            # Frames, not seconds, and no transition: the clip stays exactly where it was even
            # without the clip before it (a transition moves no sound: the mix places clips by
            # their frames and fades them by their own fades).
            update: dict[str, Any] = {"start": f"{ct.start}f", "length": f"{ct.length}f", "transition": None}
            asset = ct.clip.asset
            if isinstance(asset, VideoAsset) and not asset.muted:
                fields = ("src", "trim", "volume", "speed", "loop", "fade_in", "fade_out")
                update["asset"] = AudioAsset.model_validate(
                    {"type": "audio", "role": "effect", **{f: getattr(asset, f) for f in fields}}
                )
            clips.append(ct.clip.model_copy(update=update))
        tracks.append(clips)
    return tracks


def audio_groups(edit: Edit, size: int) -> list[list[tuple[int, int]]] | None:
    """The sounding clips ``(track, index)`` each run of a chained mix adds, in the order the
    one-pass mix adds them: the first run takes every ``music`` clip (and the soundtrack) and the
    first other sounds, each later run the next ``size - 1`` (it also reads the sum so far),
    so no run opens more than ``size`` inputs (unless the music alone does).

    ``None`` when the mix cannot be chained: ducking follows every voice on the timeline, and
    the music it lowers is mixed in the first run."""
    music: list[tuple[int, int]] = []
    others: list[tuple[int, int]] = []
    voices = False
    for t, track in enumerate(edit.timeline.tracks):
        if track.muted:
            continue
        for i, clip in enumerate(track.clips):
            asset = clip.asset
            if isinstance(asset, AudioAsset):
                voices = voices or asset.role == "voice"
                (music if asset.role == "music" else others).append((t, i))
            elif isinstance(asset, VideoAsset) and not asset.muted:
                others.append((t, i))
    soundtrack = edit.timeline.soundtrack
    voices = voices or (soundtrack is not None and soundtrack.role == "voice")
    if voices and edit.audio.ducking is not None:
        return None
    step = max(1, size - 1)
    first = max(0, size - len(music) - (soundtrack is not None))
    groups = [music + others[:first]]
    groups += [others[i : i + step] for i in range(first, len(others), step)]
    return groups


def _audio_group_edit(
    edit: Edit,
    clips: list[list[Clip]],
    frames: int,
    group: list[tuple[int, int]],
    carry: str | None,
    outputs: list[Output],
    *,
    first: bool,
    last: bool,
) -> Edit:
    """One run of a chained mix: the sum so far (``carry``, on the first track: the one-pass mix
    adds the sounds in track order) and the group's clips; the first run also the soundtrack,
    the last the edit's loudness normalisation."""
    length = f"{frames}f"
    if carry is not None:
        head = Clip.model_validate(
            {"asset": {"type": "audio", "src": carry}, "start": "0f", "length": length}
        )
    else:
        # Silent and invisible: gives the run the timeline's length.
        head = Clip.model_validate(
            {"asset": {"type": "color", "color": "#00000000"}, "start": "0f", "length": length}
        )
    chosen = set(group)
    tracks = [Track(clips=[head])]
    for t, track in enumerate(edit.timeline.tracks):
        kept = [c for i, c in enumerate(clips[t]) if (t, i) in chosen]
        if kept:
            tracks.append(track.model_copy(update={"clips": kept}))
    timeline_model = edit.timeline.model_copy(
        update={"tracks": tracks, "soundtrack": edit.timeline.soundtrack if first else None}
    )
    audio = edit.audio if last else edit.audio.model_copy(update={"loudness": None})
    return edit.model_copy(update={"timeline": timeline_model, "outputs": outputs, "audio": audio})


def _sum_source(path: Path, duration: Fraction) -> Source:
    """The running sum a chained mix's run writes, described before it exists."""
    info = MediaInfo(
        path=path,
        kind="audio",
        format_name="wav",
        duration=duration,
        has_audio=True,
        audio_codec="pcm_f32le",
        audio_channels=2,
        sample_rate=SAMPLE_RATE,
    )
    return Source(src=str(path), path=path, info=info, duration=duration)


def _float_wav(plan: RenderPlan) -> RenderPlan:
    """``plan`` with its one (WAV) output written as 32-bit float, the mix's own sample format
    (16-bit would round the sum), and as RF64 past WAV's 4 GiB."""
    (out,) = plan.maps
    codec = out.index("pcm_s16le")
    args = (*out[:codec], "pcm_f32le", *out[codec + 1 : -1], "-rf64", "auto", out[-1])
    return replace(plan, maps=(args,))


def _audio_runs(
    plan: RenderPlan,
    timeline: ResolvedTimeline,
    policy: SegmentPolicy,
    outputs: list[Output],
    parts: Path,
) -> tuple[tuple[AudioPart, ...], RenderPlan]:
    """The chained mix (see the module's docstring): its partial runs and its last run."""
    edit = plan.edit
    clips = _audio_clips(edit, timeline)
    groups = audio_groups(edit, max(2, policy.min_inputs))
    if groups is None:
        # One run mixes every sound (ducking): as before the chain, memory grows with them.
        everything = [(t, i) for t, track in enumerate(edit.timeline.tracks) for i in range(len(track.clips))]
        groups = [everything]
    sources = dict(plan.sources)
    done: list[AudioPart] = []
    carry: str | None = None
    for k, group in enumerate(groups):
        last = k == len(groups) - 1
        if last:
            run_outputs = outputs
        else:
            run_outputs = [
                Output.model_validate({"format": "wav", "fps": outputs[0].fps, "name": f"sum-{k:04d}"})
            ]
        sub = _audio_group_edit(
            edit, clips, timeline.frames, group, carry, run_outputs, first=k == 0, last=last
        )
        work = parts / ("audio" if last else f"audio-{k:04d}")
        compiled = compile_edit(
            sub, sources, out_dir=work if not last else parts, work_dir=work, name=plan.name
        )
        if last:
            return tuple(done), compiled
        part = AudioPart(_float_wav(compiled), compiled.outputs[0].path)
        done.append(part)
        carry = str(part.path)
        sources[carry] = _sum_source(part.path, timeline.duration)
    raise AssertionError("a mix has at least one run")


def _sound_clip(ct: ClipTiming) -> Clip | None:
    """The clip as an audio range's run mixes it, or None when it makes no sound: a sounding
    video clip becomes the audio clip it contributes, at its frames, with only what the mix
    reads (a clip's picture fields would not be valid on an audio clip, and a range's edit is
    validated again wherever a worker runs it)."""
    asset = ct.clip.asset
    if isinstance(asset, VideoAsset) and not asset.muted:
        fields = ("src", "trim", "volume", "speed", "loop", "fade_in", "fade_out")
        sound: AudioAsset = AudioAsset.model_validate(
            {"type": "audio", "role": "effect", **{f: getattr(asset, f) for f in fields}}
        )
    elif isinstance(asset, AudioAsset):
        sound = asset
    else:
        return None
    data: dict[str, Any] = {"asset": sound, "start": f"{ct.start}f", "length": f"{ct.length}f"}
    if ct.clip.keyframes is not None and ct.clip.keyframes.volume:
        data["keyframes"] = {"volume": ct.clip.keyframes.volume}
    if ct.clip.name:
        data["name"] = ct.clip.name
    return Clip.model_validate(data)


def _range_edit(edit: Edit, timeline: ResolvedTimeline, start: int, end: int) -> tuple[Edit, dict[str, str]]:
    """The sounds of frames ``[start, end)``: every sounding clip overlapping them, where it is
    on the whole timeline, the soundtrack, and an invisible clip giving the timeline its length;
    no ducking, no loudness (the tail is applied once to the joined ranges). With the pointers
    of its clips in the full edit, by their pointers in it."""
    head = Clip.model_validate(
        {"asset": {"type": "color", "color": "#00000000"}, "start": "0f", "length": f"{timeline.frames}f"}
    )
    tracks = [Track(clips=[head])]
    pointers: dict[str, str] = {}
    for t, placed in enumerate(timeline.tracks):
        if edit.timeline.tracks[t].muted:
            continue
        sounds = [(ct, _sound_clip(ct)) for ct in placed if ct.start < end and ct.end > start]
        kept = [(ct, c) for ct, c in sounds if c is not None]
        for i, (ct, _) in enumerate(kept):
            pointers[pointer("timeline", "tracks", len(tracks), "clips", i)] = ct.pointer
        if kept:
            tracks.append(edit.timeline.tracks[t].model_copy(update={"clips": [c for _, c in kept]}))
    timeline_model = edit.timeline.model_copy(update={"tracks": tracks})
    output = Output.model_validate({"format": "wav", "fps": edit.outputs[0].fps, "name": "range"})
    audio = edit.audio.model_copy(update={"loudness": None, "ducking": None})
    sub = edit.model_copy(update={"timeline": timeline_model, "outputs": [output], "audio": audio})
    return sub, pointers


def _audio_ranges(
    plan: RenderPlan,
    timeline: ResolvedTimeline,
    policy: SegmentPolicy,
    outputs: list[Output],
    parts: Path,
) -> tuple[tuple[AudioRange, ...], Path, RenderPlan]:
    """The mix in time ranges (see :class:`AudioRange`), the file they are joined into, and the
    last run that normalises and encodes it."""
    edit = plan.edit
    clips = _audio_clips(edit, timeline)
    step = max(1, math.floor(Fraction(str(policy.audio_range_seconds)) * timeline.fps))
    bounds = [*range(0, timeline.frames, step), timeline.frames]
    ranges: list[AudioRange] = []
    for k, (start, end) in enumerate(pairwise(bounds)):
        sub, pointers = _range_edit(edit, timeline, start, end)
        window = (sample_at(Fraction(start) / timeline.fps), sample_at(Fraction(end) / timeline.fps))
        work = parts / f"range-{k:04d}"
        compiled = compile_edit(
            sub, plan.sources, out_dir=work, work_dir=work, name=plan.name, mix_window=window
        )
        ranges.append(AudioRange(k, window[0], window[1], sub, compiled, compiled.outputs[0].path, pointers))
    joined = parts / "audio-sum.wav"
    sources = {**plan.sources, str(joined): _sum_source(joined, timeline.duration)}
    last = _audio_group_edit(edit, clips, timeline.frames, [], str(joined), outputs, first=False, last=True)
    final = compile_edit(last, sources, out_dir=parts, work_dir=parts / "audio", name=plan.name)
    return tuple(ranges), joined, final


def _rangeable(edit: Edit, policy: SegmentPolicy) -> bool:
    """Whether the mix can be made in independent time ranges: ducking follows every voice on
    the whole timeline, so a mix where voices duck music is made in one chain."""
    if policy.audio_range_seconds <= 0:
        return False
    roles = {
        clip.asset.role
        for track in edit.timeline.tracks
        if not track.muted
        for clip in track.clips
        if isinstance(clip.asset, AudioAsset)
    }
    if edit.timeline.soundtrack is not None:
        roles.add(edit.timeline.soundtrack.role)
    return edit.audio.ducking is None or not {"voice", "music"} <= roles


def _audio_output(output: Output, index: int) -> Output:
    """An audio-only output encoding as ``output`` does (WAV where no audio-only format does)."""
    fmt = "m4a" if audio_codec_args(output)[1] == "aac" else "wav"
    return Output.model_validate(
        {"format": fmt, "fps": output.fps, "audio_bitrate": output.audio_bitrate, "name": f"audio-{index}"}
    )


def _has_audio(output: Output) -> bool:
    return output.audio and output.format in _JOINABLE


def segment_plan(
    plan: RenderPlan, policy: SegmentPolicy, *, safe_zones: Mapping[str, SafeZone] | None = None
) -> SegmentedRender:
    """The segmented render of a compiled one-pass ``plan`` (see :func:`one_pass_reason`);
    ``safe_zones`` are the ones the plan was compiled with.

    Every run's files go under the plan's ``work_dir``; only the joins write ``out_dir``.
    """
    reason = one_pass_reason(plan, policy)
    if reason is not None:
        raise ValueError(f"this plan renders in one pass: {reason}")
    edit = plan.edit
    fps = plan.outputs[0].fps
    timeline = plan.timelines[fps]
    bounds = segment_bounds(timeline, policy, _durations(plan))
    parts = plan.work_dir / "segments"
    segments: list[Segment] = []
    for k, (start, end) in enumerate(pairwise(bounds)):
        sub = _segment_edit(edit, timeline, start, end, k)
        sub_plan = compile_edit(
            sub,
            plan.sources,
            out_dir=parts,
            work_dir=parts / f"{k:04d}",
            name=plan.name,
            safe_zones=safe_zones,
        )
        pointers = tuple(ct.pointer for ct in timeline.clips() if _in_window(ct, start, end))
        # The sub-edit lists the same clips in the same order, after the filler if it has one.
        inner = [ct.pointer for ct in sub_plan.timelines[fps].clips()]
        mapping = dict(zip(inner[len(inner) - len(pointers) :], pointers, strict=True))
        segments.append(Segment(k, start, end, pointers, sub_plan, mapping))
    with_audio = [i for i, o in enumerate(edit.outputs) if _has_audio(o)]
    audio: RenderPlan | None = None
    audio_parts: tuple[AudioPart, ...] = ()
    audio_ranges: tuple[AudioRange, ...] = ()
    audio_sum: Path | None = None
    audio_files: dict[int, Path] = {}
    if with_audio:
        mixes = [_audio_output(edit.outputs[i], i) for i in with_audio]
        if _rangeable(edit, policy):
            audio_ranges, audio_sum, audio = _audio_ranges(plan, timeline, policy, mixes, parts)
        else:
            audio_parts, audio = _audio_runs(plan, timeline, policy, mixes, parts)
        audio_files = {i: o.path for i, o in zip(with_audio, audio.outputs, strict=True)}
    joins = tuple(
        _join(planned.index, planned.output, planned.path, [s.plan.outputs[n].path for s in segments],
              audio_files.get(planned.index), parts)
        for n, planned in enumerate(plan.outputs)
    )  # fmt: skip
    return SegmentedRender(fps, tuple(segments), audio, joins, audio_parts, audio_ranges, audio_sum)


def _join(
    index: int, output: Output, path: Path, files: Sequence[Path], audio_file: Path | None, parts: Path
) -> Join:
    list_path = parts / f"join-{index}.txt"
    args = [*base_args(), "-f", "concat", "-safe", "0", "-protocol_whitelist", "file", "-i", str(list_path)]
    maps = ["-map", "0:v"]
    codecs = ["-c:v", "copy"]
    if audio_file is not None:
        args += ["-protocol_whitelist", "file", "-i", str(audio_file)]
        maps += ["-map", "1:a"]
        # The mix was encoded once with the output's own codec, except where no audio-only
        # format carries it (Opus for WebM): then it is encoded here, from the mix as 16-bit PCM.
        same = audio_codec_args(_audio_output(output, index)) == audio_codec_args(output)
        codecs += ["-c:a", "copy"] if same else audio_codec_args(output)
    args += [*maps, *codecs, *container_args(output), str(path)]
    return Join(index, path, list_path, tuple(files), audio_file, tuple(args))
