"""The compiler's state and its inputs: each source decoded once per clip, shared between outputs.

Each source file is decoded once per clip that uses it (input seeking keeps that cheap) and its
frames are shared between outputs with ``split``, so several outputs cost one decode. What does
not depend on the canvas is done once, before that split:

* a video clip's timing (trim, speed, frame rate, padding to its length), when every visual
  output has the same frame rate;
* colour effects (see ``_shared_colour``);
* for a run of full-frame footage joined by fades, the cross-fades themselves, at the
  sources' size (see ``_crossfade_before_split``); each output then only crops and scales the
  faded picture straight to its own pixel format;
* for other cross-faded footage, the conversion to the 4:4:4 that ``xfade`` works in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from reelforge.edit.errors import Problem
from reelforge.edit.models import AudioAsset, Clip, Edit, ImageAsset, VideoAsset
from reelforge.edit.timeline import ClipTiming, ResolvedTimeline, resolve_timeline
from reelforge.edit.timing import parse_time
from reelforge.ffmpeg.probe import MediaInfo

from . import audio as audio_mix
from . import effects as fx
from .graph import Filter, FilterGraph, filt
from .layout import DEFAULT_SAFE_ZONES, SafeZone, fit_in_box
from .outputs import geometry
from .plan import Artifact, LoudnessPass, Source
from .seeking import input_seek_options, source_clock

__all__ = [
    "NEUTRAL_COLOUR",
    "PER_PIXEL_TRANSITIONS",
    "XFADE_FORMAT",
    "CompilerState",
    "crossfade_groups",
]

XFADE_FORMAT = "yuv444p"
"""What a clip is converted to once, before the split, when it is cross-faded (see
``CompilerState._xfade_once``): xfade has no 4:2:0 formats, so its inputs end up 4:4:4 anyway."""

# The colour settings an output's look leaves out once they were applied before the split.
NEUTRAL_COLOUR: dict[str, Any] = {
    "brightness": 0,
    "contrast": 1,
    "saturation": 1,
    "gamma": 1,
    "hue": 0,
    "temperature": None,
    "preset": None,
    "lut": None,
}


PER_PIXEL_TRANSITIONS = frozenset({"fade", "fade-black", "fade-white"})
"""Transitions that blend each pixel with the same pixel of the other picture, whatever the
frame's size: they commute with cropping and scaling, so they can run once on the sources
before each output crops and scales. Wipes, slides, circles, zoom, pixelize and radial are laid
out on the canvas, and dissolve's noise is per pixel of the canvas."""


def crossfade_groups(track_clips: Sequence[ClipTiming]) -> list[list[ClipTiming]]:
    """A track's visual clips, grouped: clips joined by transitions form one group."""
    groups: list[list[ClipTiming]] = []
    for ct in track_clips:
        if ct.clip.asset.type in ("audio", "caption"):
            continue
        if ct.clip.transition is not None and groups and groups[-1][-1].index == ct.index - 1:
            groups[-1].append(ct)
        else:
            groups.append([ct])
    return groups


class CompilerState:
    """What one compilation works on (the edit, its sources, the graph being built, the
    timelines per frame rate), and the inputs added to the graph."""

    def __init__(
        self,
        edit: Edit,
        sources: Mapping[str, Source],
        out_dir: Path,
        work_dir: Path,
        name: str,
        loudness: Mapping[Fraction, audio_mix.LoudnessMeasurement] | None = None,
        safe_zones: Mapping[str, SafeZone] | None = None,
    ):
        self.edit = edit
        self.sources = sources
        self.out_dir = out_dir
        self.work_dir = work_dir
        self.name = name
        self.graph = FilterGraph()
        self.artifacts: dict[Path, Artifact] = {}
        self.problems: list[Problem] = []
        self.geometries = [geometry(o) for o in edit.outputs]
        self.visual_outputs = [i for i, o in enumerate(edit.outputs) if not o.is_audio_only]
        self.audio_outputs = [
            i
            for i, o in enumerate(edit.outputs)
            if o.is_audio_only or (o.audio and o.format in ("mp4", "mov", "webm"))
        ]
        # One audio mix per distinct frame rate: clip times are whole frames of that rate.
        self.audio_fps = sorted({self._timeline_fps(i) for i in self.audio_outputs})
        durations = {s.src: s.duration for s in sources.values()}
        self.timelines: dict[Fraction, ResolvedTimeline] = {}
        for fps in sorted({self._timeline_fps(i) for i in range(len(edit.outputs))}):
            self.timelines[fps] = resolve_timeline(edit, fps, durations)
        self._video_uses: dict[tuple[int, int], list[str]] = {}
        self._audio_uses: dict[tuple[int, int], list[str]] = {}
        self._soundtrack_audio: list[str] = []
        self._coloured: set[tuple[int, int]] = set()
        """Clips whose colour effects were applied once before the split between outputs."""
        per_timeline = [
            {
                (ct.track, ct.index)
                for track in tl.tracks
                for group in crossfade_groups(track)
                if len(group) > 1
                for ct in group
            }
            for tl in self.timelines.values()
        ]
        self._crossfaded: set[tuple[int, int]] = set.intersection(*per_timeline) if per_timeline else set()
        """Clips that enter an xfade in every output."""
        self._yuv444: set[tuple[int, int]] = set()
        """Clips converted to XFADE_FORMAT once before the split (see _xfade_once)."""
        visual_rates = {self._timeline_fps(i) for i in self.visual_outputs}
        self.shared_fps: Fraction | None = visual_rates.pop() if len(visual_rates) == 1 else None
        """The frame rate of every visual output when they share one: then a clip's timing is
        the same in all of them and is done once, before the split."""
        self._timed: set[tuple[int, int]] = set()
        """Video clips whose timing was applied once before the split (see _clip_timing)."""
        self._crossfade_groups: dict[tuple[int, int], tuple[int, int]] = {}
        """Clip -> the first clip of its group, for groups cross-faded once before the split."""
        self._crossfades: dict[tuple[int, int], list[str]] = {}
        """First clip of a group cross-faded before the split -> the faded picture's uses, one
        per visual output (made when the first output asks for it)."""
        if self.shared_fps is not None and len(self.visual_outputs) > 1:
            for track in self.timelines[self.shared_fps].tracks:
                for group in crossfade_groups(track):
                    if len(group) > 1 and self._crossfade_before_split(group):
                        first = (group[0].track, group[0].index)
                        self._crossfade_groups.update({(ct.track, ct.index): first for ct in group})
        # Which input each shared audio label comes from, for the loudness analysis pass.
        self._audio_input: dict[str, int] = {}
        self.loudness = dict(loudness or {})
        self.loudness_passes: list[LoudnessPass] = []
        self.safe_zones = dict(DEFAULT_SAFE_ZONES if safe_zones is None else safe_zones)
        """Where ``safe_area`` clips keep to, by aspect ratio."""

    def _timeline_fps(self, index: int) -> Fraction:
        return self.geometries[index].fps

    # ------------------------------------------------------------------ inputs

    def _source(self, src: str) -> Source:
        return self.sources[src]

    def _media(self, src: str) -> MediaInfo:
        info = self.sources[src].info
        assert info is not None, f"{src} was not probed as media"
        return info

    def _media_input(self, ct: ClipTiming, fps: Fraction) -> tuple[int, MediaInfo]:
        """Add the ``-i`` for one clip's source, seeking to its trim so only what plays is decoded."""
        asset = ct.clip.asset
        assert isinstance(asset, VideoAsset | AudioAsset | ImageAsset)
        source = self._source(asset.src)
        assert source.info is not None
        options: list[str] = []
        if isinstance(asset, VideoAsset | AudioAsset):
            options = input_seek_options(
                trim=parse_time(asset.trim).to_seconds(fps),
                span=Fraction(ct.length) / fps * Fraction(str(asset.speed)),
                loop=asset.loop,
                video=isinstance(asset, VideoAsset),
            )
        index = self.graph.add_input(str(source.path), options)
        return index, source.info

    def _clip_streams(self, ct: ClipTiming) -> None:
        """Create the clip's input once and split its streams between every output that uses them."""
        key = (ct.track, ct.index)
        if key in self._video_uses or key in self._audio_uses:
            return
        asset = ct.clip.asset
        if asset.type not in ("video", "audio", "image"):
            return
        # Input options depend on the frame grid only through the clip's length; use the first.
        fps = next(iter(self.timelines))
        timing = self._timing(fps, ct.track, ct.index)
        index, info = self._media_input(timing or ct, fps)
        # Only picture outputs use a picture (a split into none is an FFmpeg error).
        if asset.type in ("video", "image") and info.has_video and self.visual_outputs:
            stream = f"{index}:v"
            # Timing first: what it drops is never coloured or converted.
            before_split: list[Filter] = []
            if isinstance(asset, VideoAsset) and self.shared_fps is not None and len(self.visual_outputs) > 1:
                shared_timing = self._timing(self.shared_fps, ct.track, ct.index)
                assert shared_timing is not None
                before_split += self._clip_timing(shared_timing, info, self.shared_fps)
                self._timed.add(key)
            colour = self._shared_colour(ct.clip, info)
            if colour:
                self._coloured.add(key)
                before_split += colour
            if key in self._crossfade_groups or self._xfade_once(ct, info):
                # An explicit scale converts after the colour filters, which stay in 4:2:0; a
                # bare format would be merged upstream and convert before them.
                before_split += [filt("scale"), filt("format", XFADE_FORMAT)]
                self._yuv444.add(key)
            if before_split:
                stream = self.graph.chain([stream], before_split, hint=f"v{index}c")[0]
            # A clip cross-faded before the split has one user: its group's xfade.
            users = 1 if key in self._crossfade_groups else len(self.visual_outputs)
            self._video_uses[key] = self.graph.split(stream, users, hint=f"v{index}_")
        if asset.type in ("video", "audio") and info.has_audio and self.audio_fps:
            self._audio_uses[key] = self.graph.split(
                f"{index}:a", len(self.audio_fps), audio=True, hint=f"a{index}_"
            )
            self._audio_input.update({label: index for label in self._audio_uses[key]})

    def _shared_colour(self, clip: Clip, info: MediaInfo) -> list[Filter]:
        """Colour effects to apply once, before the picture is split between outputs.

        Colour is per pixel, so it does not depend on an output's canvas. Doing it once at the
        source's size is cheaper than once per output when there are several outputs and the
        source is no larger than what the outputs show of it together."""
        effects = clip.effects
        # Per-output overrides may change the look: each output then applies its own.
        if effects is None or len(self.visual_outputs) < 2 or info.has_alpha or clip.overrides:
            return []
        colour_only = effects.model_copy(
            update={"blur": 0, "sharpen": 0, "vignette": None, "chroma_key": None}
        )
        if colour_only == type(effects)():
            return []
        if not self._smaller_than_shown(clip, info):
            return []
        lut = self._lut(effects.lut) if effects.lut is not None else None
        return fx.effect_filters(colour_only, lut_path=lut, canvas_height=info.height or 1080)

    def _clip_timing(self, ct: ClipTiming, info: MediaInfo, fps: Fraction) -> list[Filter]:
        """A video clip's frames on the timeline: from its (seeked) start, at its speed, on the
        ``fps`` grid, padded or cut to exactly its length in frames."""
        asset = ct.clip.asset
        assert isinstance(asset, VideoAsset)
        timing = source_clock(
            trim=parse_time(asset.trim).to_seconds(fps),
            speed=Fraction(str(asset.speed)),
            fps=fps,
            loop=asset.loop,
        )
        timing.append(filt("tpad", stop=-1, stop_mode="clone" if asset.freeze else "add"))
        timing.append(filt("trim", end_frame=ct.length))
        return timing

    def _crossfade_before_split(self, group: Sequence[ClipTiming]) -> bool:
        """Whether a group of clips joined by transitions can be cross-faded once, on the
        sources, before the split between outputs (the caller checks that there are several
        visual outputs sharing one frame rate).

        Then each output crops and scales one faded picture instead of cross-fading its own
        copies: what a hand-written graph does. That needs the fades to commute with each
        output's crop and scale: per-pixel transitions only, between full-frame pictures of
        one size (no alpha) that every output crops and scales the same way to fill its whole
        canvas, with nothing per output in between (no effects but colour, no motion,
        rotation, opacity, keyframes, entrances or exits)."""
        for ct in group[1:]:
            transition = ct.clip.transition
            if transition is None or transition.type not in PER_PIXEL_TRANSITIONS:
                return False
        sizes: set[tuple[int, int]] = set()
        for ct in group:
            clip, asset = ct.clip, ct.clip.asset
            if not isinstance(asset, VideoAsset):
                return False
            info = self.sources[asset.src].info
            if info is None or not info.has_video or info.has_alpha or not info.width or not info.height:
                return False
            if (
                clip.fit not in (None, "cover", "fill")
                or clip.rotate
                or clip.opacity < 1
                or clip.motion is not None
                or clip.keyframes is not None
                or clip.transition_in is not None
                or clip.transition_out is not None
                # laid out per output: its overrides, its safe zone, its crop window's focus
                or clip.overrides
                or clip.safe_area
                or clip.focus is not None
            ):
                return False
            effects = clip.effects
            if effects is not None and effects.model_copy(update=NEUTRAL_COLOUR) != type(effects)():
                return False  # blur, sharpen, vignette, chroma key: laid out per canvas
            if not self._smaller_than_shown(clip, info):
                return False  # cheaper to fade each output's smaller copy
            sizes.add((info.width, info.height))
        if len(sizes) != 1:
            return False  # xfade needs pictures of one size
        ((src_w, src_h),) = sizes
        for o in self.visual_outputs:
            geo = self.geometries[o]
            fits = set()
            for ct in group:
                filters, size, box, _ = fit_in_box(ct.clip, geo, src_w, src_h, even_crop=True)
                if size != (geo.width, geo.height) or box != size:
                    return False  # not the whole canvas: each picture would be placed on its own
                fits.add(tuple(filters))
            if len(fits) != 1:
                return False  # cropped differently: the fade would not be the same picture
        return True

    def _smaller_than_shown(self, clip: Clip, info: MediaInfo) -> bool:
        """Whether the source has no more pixels than the outputs show of it together."""
        src_w, src_h = info.width or 0, info.height or 0
        shown = sum(
            math.prod(fit_in_box(clip, self.geometries[o], src_w, src_h)[1]) for o in self.visual_outputs
        )
        return src_w * src_h <= shown

    def _xfade_once(self, ct: ClipTiming, info: MediaInfo) -> bool:
        """Whether to convert a cross-faded clip to 4:4:4 once, before the split between outputs.

        xfade works in 4:4:4 only, so FFmpeg converts each output's copy of the clip on its way
        in: one conversion per output at the output's size. Converting once at the source's size
        instead also lets each output's scale work from 4:4:4 (it converts as it scales), which
        costs less than a 4:2:0 scale plus a conversion. Only for plain footage (cut, cropped
        and scaled per output, no alpha): per-output effects, motion or a blurred background
        would otherwise run on 4:4:4 at twice the cost of 4:2:0."""
        clip = ct.clip
        if (
            clip.asset.type != "video"
            or len(self.visual_outputs) < 2
            or (ct.track, ct.index) not in self._crossfaded
            or info.has_alpha
            or clip.fit == "blur"
            or clip.flip
            or clip.rotate
            or clip.opacity < 1
            or clip.motion is not None
            or clip.keyframes is not None
            or clip.transition_in is not None
            or clip.transition_out is not None
            or clip.overrides
        ):
            return False
        effects = clip.effects
        if effects is not None:
            if (ct.track, ct.index) in self._coloured:
                effects = effects.model_copy(update=NEUTRAL_COLOUR)
            if effects != type(effects)():
                return False
        return self._smaller_than_shown(clip, info)

    def _timing(self, fps: Fraction, track: int, index: int) -> ClipTiming | None:
        for ct in self.timelines[fps].tracks[track]:
            if ct.index == index:
                return ct
        return None

    def _artifact(self, artifact: Artifact) -> Path:
        self.artifacts.setdefault(artifact.path, artifact)
        return artifact.path

    def _lut(self, lut_src: str) -> Path:
        source = self.sources[lut_src]
        # The LUT is read by the filter itself, so it gets a name we chose (the graph is escaped
        # anyway; this keeps the printed command readable).
        index = sorted(self.sources).index(lut_src)
        return self._artifact(
            Artifact("copy", self.work_dir / f"lut{index}.cube", "", {"from": str(source.path)})
        )
