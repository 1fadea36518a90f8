"""Compile an edit into a render plan: the FFmpeg inputs, one filter graph and every output.

This is a pure function of the edit and the probed sources: it reads no file and runs nothing.
Files the graph needs that do not exist yet (text and shapes rasterised once, caption scripts)
are listed as :class:`Artifact` recipes that :mod:`reelforge.render.engine` makes before FFmpeg
runs.

How a picture is built, per output (each output has its own canvas and frame grid, so a 16:9
source follows its clip's ``fit`` in a 9:16 output):

* every visual clip becomes a stream of exactly its length in frames at the output's rate, fitted
  into its box, with its look applied (effects, motion, rotation, opacity, animations);
* clips joined by a ``transition`` are padded to the canvas and cross-faded with ``xfade``;
* tracks are painted bottom to top with ``overlay``, each layer shifted to its start frame;
* captions are burned onto what lies below them with libass.

Each source file is decoded once per clip that uses it (input seeking keeps that cheap) and its
frames are shared between outputs with ``split``, so several outputs cost one decode. What does
not depend on the canvas is done once, before that split: colour effects, and for cross-faded
footage the conversion to the 4:4:4 that ``xfade`` works in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from reelforge.edit.errors import EditError, Problem
from reelforge.edit.models import (
    AudioAsset,
    Clip,
    Edit,
    ImageAsset,
    Keyframe,
    Output,
    VideoAsset,
)
from reelforge.edit.timeline import ClipTiming, ResolvedTimeline, resolve_timeline
from reelforge.edit.timing import parse_time
from reelforge.edit.values import parse_color, parse_volume
from reelforge.ffmpeg.binary import base_args
from reelforge.ffmpeg.probe import MAX_PIXELS, MediaInfo

from . import audio as audio_mix
from . import effects as fx
from . import keyframes as kf
from . import motion as kenburns
from . import transitions as tr
from .graph import Filter, FilterGraph, filt, fmt_num
from .outputs import OutputGeometry, audio_codec_args, container_args, even, geometry, video_codec_args
from .text import graphemes

TYPEWRITER_MAX_STEPS = 59

XFADE_FORMAT = "yuv444p"
"""What a clip is converted to once, before the split, when it is cross-faded (see
``_Compiler._xfade_once``): xfade has no 4:2:0 formats, so its inputs end up 4:4:4 anyway."""

# The colour settings an output's look leaves out once they were applied before the split.
_NEUTRAL_COLOUR: dict[str, Any] = {
    "brightness": 0,
    "contrast": 1,
    "saturation": 1,
    "gamma": 1,
    "hue": 0,
    "temperature": None,
    "preset": None,
    "lut": None,
}

__all__ = [
    "Artifact",
    "LoudnessPass",
    "PlannedOutput",
    "RenderPlan",
    "Source",
    "compile_edit",
    "ffmpeg_color",
]

_ANCHORS: dict[str, tuple[Fraction, Fraction]] = {
    "top-left": (Fraction(0), Fraction(0)),
    "top": (Fraction(1, 2), Fraction(0)),
    "top-right": (Fraction(1), Fraction(0)),
    "left": (Fraction(0), Fraction(1, 2)),
    "center": (Fraction(1, 2), Fraction(1, 2)),
    "right": (Fraction(1), Fraction(1, 2)),
    "bottom-left": (Fraction(0), Fraction(1)),
    "bottom": (Fraction(1, 2), Fraction(1)),
    "bottom-right": (Fraction(1), Fraction(1)),
}


@dataclass(frozen=True, slots=True)
class Source:
    """A clip's ``src`` resolved to a local file and probed."""

    src: str
    path: Path
    info: MediaInfo | None
    """Probe results for media; ``None`` for other files (subtitles, LUTs, fonts)."""
    duration: Fraction | None = None
    """Seconds: the media's duration, or a subtitle file's last cue end."""


ArtifactKind = Literal["text", "typewriter", "shape", "captions", "copy"]


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file the graph reads that must be made before FFmpeg runs."""

    kind: ArtifactKind
    path: Path
    pointer: str
    """The clip (or field) it comes from, for errors."""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlannedOutput:
    index: int
    output: Output
    path: Path
    width: int
    height: int
    fps: Fraction
    frames: int
    """Video frames in the file (its duration at ``fps``)."""
    start_frame: int
    poster: Path | None = None
    thumbnail: Path | None = None
    sidecars: tuple[Path, ...] = ()

    @property
    def duration(self) -> Fraction:
        return Fraction(self.frames) / self.fps


@dataclass(frozen=True, slots=True)
class LoudnessPass:
    """An audio-only FFmpeg run that measures the mix at ``fps``'s frame grid into ``stats``."""

    fps: Fraction
    args: tuple[str, ...]
    stats: Path


@dataclass(frozen=True)
class RenderPlan:
    """Everything needed to render: printable, and runnable by the engine."""

    edit: Edit
    timelines: Mapping[Fraction, ResolvedTimeline]
    outputs: tuple[PlannedOutput, ...]
    artifacts: tuple[Artifact, ...]
    inputs: tuple[tuple[str, tuple[str, ...]], ...]
    """(path, input options) per ``-i``, in order."""
    graph: str
    maps: tuple[tuple[str, ...], ...]
    """Per output file: its ``-map``s, codec options and path."""
    graph_path: Path
    loudness_passes: tuple[LoudnessPass, ...] = ()
    """Measurements to make first; the engine then compiles again with them."""
    sidecar_cues: tuple[tuple[Path, str, Fraction, Fraction, Fraction], ...] = ()
    """(sidecar path, caption clip pointer, clip start s, clip length s, fps) for subtitle files."""

    @property
    def duration(self) -> Fraction:
        return max(o.duration for o in self.outputs)

    def ffmpeg_args(self, *, inline_graph: bool = False) -> list[str]:
        """FFmpeg's arguments (without the executable). The graph is read from ``graph_path``
        unless ``inline_graph``; a large graph would overflow the command line."""
        args = base_args()
        for path, options in self.inputs:
            # -max_pixels: no decoder allocates a frame bigger than any accepted picture.
            args += ["-protocol_whitelist", "file", "-max_pixels", str(MAX_PIXELS), *options, "-i", path]
        args += (
            ["-filter_complex", self.graph] if inline_graph else ["-/filter_complex", str(self.graph_path)]
        )
        for m in self.maps:
            args += list(m)
        return args

    def output_paths(self) -> list[Path]:
        paths: list[Path] = []
        for o in self.outputs:
            paths.append(o.path)
            paths += [p for p in (o.poster, o.thumbnail) if p is not None]
        return paths


def ffmpeg_color(value: str) -> str:
    """A validated colour as FFmpeg writes it: ``0xRRGGBB@alpha``."""
    r, g, b, a = parse_color(value)
    return f"0x{r:02x}{g:02x}{b:02x}@{fmt_num(round(a / 255, 4))}"


_OVERLAY_VARS = re.compile(r"\b[WHwh]\b")


def _overlay_to_pad(expr: str) -> str:
    """An overlay position (canvas W,H; sprite w,h) as a pad position (ow,oh; iw,ih)."""
    return _OVERLAY_VARS.sub(lambda m: {"W": "ow", "H": "oh", "w": "iw", "h": "ih"}[m[0]], expr)


def _remaining(duration: Fraction | None, trim: Fraction) -> Fraction | None:
    return None if duration is None else max(duration - trim, Fraction(0))


def _frame_grid(fps: Fraction, start: int = 0) -> list[Filter]:
    """Time base 1/fps and pts = frame number (+ ``start``): exact frame timing downstream."""
    return [
        filt("settb", f"{fps.denominator}/{fps.numerator}"),
        filt("setpts", f"N+{start}" if start else "N"),
    ]


def _seconds(value: Fraction) -> str:
    return fmt_num(float(value))


def _fps_text(fps: Fraction) -> str:
    return f"{fps.numerator}/{fps.denominator}"


@dataclass
class _Layer:
    label: str
    x: str
    y: str
    start: int
    length: int
    full_canvas_opaque: bool
    dynamic_position: bool


@dataclass
class _Look:
    plain: list[Filter] = field(default_factory=list)
    """Per-frame filters that keep the pixel format."""
    alpha: list[Filter] = field(default_factory=list)
    """Filters that need (or make) an alpha plane."""
    animated: list[Filter] = field(default_factory=list)
    """Filters whose effect changes over time (motion, keyframes); the others run once on a
    still, before it is looped."""
    opacity: list[Any] | None = None
    """Opacity keyframes for the fast blend, when the sprite's size is known."""
    graph_effects: tuple[Any, Path | None] | None = None
    """(effects, LUT) to apply alpha-safely on the graph."""
    size: tuple[int, int] | None = None
    """The sprite's size after the look, when known."""

    @property
    def needs_alpha(self) -> bool:
        # Keyframed scale and rotation move the picture within a larger transparent frame.
        return bool(
            self.alpha
            or self.opacity
            or self.graph_effects
            or any(f.name in ("perspective", "rotate", "geq") for f in self.animated)
        )


@dataclass
class _ClipVisual:
    """A clip's picture, before it is placed on the timeline."""

    label: str
    # overlay position expressions (canvas W,H; sprite w,h; timeline t)
    x: str
    y: str
    full_canvas: bool
    opaque: bool
    alpha: bool
    dynamic_position: bool
    yuv444: bool = False
    """The picture is already 4:4:4 (converted once before the split, for xfade)."""


def _with_alpha(visual: _ClipVisual) -> Filter:
    """The format that adds an alpha plane to ``visual`` without leaving 4:4:4 once it is in it."""
    return filt("format", "yuva444p" if visual.yuv444 else "yuva420p")


def _crossfade_groups(track_clips: Sequence[ClipTiming]) -> list[list[ClipTiming]]:
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


class _Compiler:
    def __init__(
        self,
        edit: Edit,
        sources: Mapping[str, Source],
        out_dir: Path,
        work_dir: Path,
        name: str,
        loudness: Mapping[Fraction, audio_mix.LoudnessMeasurement] | None = None,
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
                for group in _crossfade_groups(track)
                if len(group) > 1
                for ct in group
            }
            for tl in self.timelines.values()
        ]
        self._crossfaded: set[tuple[int, int]] = set.intersection(*per_timeline) if per_timeline else set()
        """Clips that enter an xfade in every output."""
        self._yuv444: set[tuple[int, int]] = set()
        """Clips converted to XFADE_FORMAT once before the split (see _xfade_once)."""
        # Which input each shared audio label comes from, for the loudness analysis pass.
        self._audio_input: dict[str, int] = {}
        self.loudness = dict(loudness or {})
        self.loudness_passes: list[LoudnessPass] = []

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
            trim = parse_time(asset.trim).to_seconds(fps)
            span = Fraction(ct.length) / fps * Fraction(str(asset.speed))
            if asset.loop:
                options += ["-stream_loop", "-1"]
                span += trim
            elif trim > 0:
                options += ["-ss", _seconds(trim)]
            # A little more than needed: exact lengths come from trim in the graph.
            options += ["-t", _seconds(span + Fraction(1, 2))]
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
        if asset.type in ("video", "image") and info.has_video:
            stream = f"{index}:v"
            colour = self._shared_colour(ct.clip, info)
            if colour:
                self._coloured.add(key)
            if self._xfade_once(ct, info):
                # An explicit scale converts after the colour filters, which stay in 4:2:0; a
                # bare format would be merged upstream and convert before them.
                colour += [filt("scale"), filt("format", XFADE_FORMAT)]
                self._yuv444.add(key)
            if colour:
                stream = self.graph.chain([stream], colour, hint=f"v{index}c")[0]
            self._video_uses[key] = self.graph.split(stream, len(self.visual_outputs), hint=f"v{index}_")
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
        if effects is None or len(self.visual_outputs) < 2 or info.has_alpha:
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

    def _smaller_than_shown(self, clip: Clip, info: MediaInfo) -> bool:
        """Whether the source has no more pixels than the outputs show of it together."""
        src_w, src_h = info.width or 0, info.height or 0
        shown = sum(
            math.prod(self._fit(clip, self.geometries[o], src_w, src_h)[1]) for o in self.visual_outputs
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
        ):
            return False
        effects = clip.effects
        if effects is not None:
            if (ct.track, ct.index) in self._coloured:
                effects = effects.model_copy(update=_NEUTRAL_COLOUR)
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

    # ------------------------------------------------------------------ layout

    def _box(self, clip: Clip, geo: OutputGeometry, src_w: int, src_h: int) -> tuple[int, int]:
        W, H = geo.width, geo.height
        if clip.width is not None and clip.height is not None:
            return even(clip.width * W), even(clip.height * H)
        if clip.width is not None:
            bw = clip.width * W
            return even(bw), even(bw * src_h / src_w)
        if clip.height is not None:
            bh = clip.height * H
            return even(bh * src_w / src_h), even(bh)
        return W, H

    def _position(self, clip: Clip, start: int, fps: Fraction) -> tuple[str, str, bool]:
        """Overlay x/y: the sprite placed on the canvas by its anchor, then shifted by the offset.

        The box (width/height) only sizes the sprite; like CSS ``object-position``, a contained
        picture sits at the anchor's side of the canvas. Offsets may be keyframed."""
        ax, ay = _ANCHORS[clip.anchor]
        frames = clip.keyframes
        t0 = Fraction(start) / fps
        ox = (
            f"({kf.keyframe_expr(frames.offset_x, fps=fps, start=t0)})"
            if frames and frames.offset_x
            else fmt_num(clip.offset.x)
        )
        oy = (
            f"({kf.keyframe_expr(frames.offset_y, fps=fps, start=t0)})"
            if frames and frames.offset_y
            else fmt_num(clip.offset.y)
        )
        dynamic = bool(frames and (frames.offset_x or frames.offset_y))
        return f"{fmt_num(ax)}*(W-w)+{ox}*W", f"{fmt_num(ay)}*(H-h)+{oy}*H", dynamic

    def _fit(
        self,
        clip: Clip,
        geo: OutputGeometry,
        src_w: int,
        src_h: int,
        *,
        even_crop: bool = False,
    ) -> tuple[list[Filter], tuple[int, int], tuple[int, int], list[Filter] | None]:
        """Filters that crop/scale the source into its box.

        ``even_crop``: the picture was converted to 4:4:4 before the split (see ``_xfade_once``);
        its crops start on even pixels, where ``crop`` puts them on 4:2:0, so that every output
        shows exactly what it shows when it converts its own copy.

        Returns (filters, sprite size, box size, blur-background filters or None)."""
        crop = clip.crop
        filters: list[Filter] = []
        if crop is not None and (crop.left or crop.right or crop.top or crop.bottom):
            cw = even(src_w * (1 - crop.left - crop.right))
            ch = even(src_h * (1 - crop.top - crop.bottom))
            x, y = int(src_w * crop.left), int(src_h * crop.top)
            filters.append(filt("crop", cw, ch, x & ~1 if even_crop else x, y & ~1 if even_crop else y))
            src_w, src_h = cw, ch
        if clip.flip in ("horizontal", "both"):
            filters.append(filt("hflip"))
        if clip.flip in ("vertical", "both"):
            filters.append(filt("vflip"))
        box = self._box(clip, geo, src_w, src_h)
        bw, bh = box
        fit = clip.fit or "cover"
        s = clip.scale
        blur_bg: list[Filter] | None = None
        if fit == "cover":
            factor = max(bw / src_w, bh / src_h) * s
            sw, sh = even(src_w * factor), even(src_h * factor)
            tw, th = even(bw * s), even(bh * s)
            size = (min(tw, sw), min(th, sh))
            # Crop the source to the box's shape first, then scale only what is kept.
            cw, ch = min(src_w, even(size[0] / factor)), min(src_h, even(size[1] / factor))
            if (cw, ch) != (src_w, src_h) and even_crop:
                filters.append(filt("crop", cw, ch, (src_w - cw) // 2 & ~1, (src_h - ch) // 2 & ~1))
            elif (cw, ch) != (src_w, src_h):
                filters.append(filt("crop", cw, ch))
            if (cw, ch) != size:
                filters.append(filt("scale", *size))
        elif fit == "contain" or fit == "blur":
            factor = min(bw / src_w, bh / src_h) * s
            size = (even(src_w * factor), even(src_h * factor))
            if size != (src_w, src_h):
                filters.append(filt("scale", *size))
            if fit == "blur":
                cover = max(bw / src_w, bh / src_h)
                blur_bg = [
                    filt("scale", even(src_w * cover), even(src_h * cover)),
                    filt("crop", bw, bh),
                    filt("gblur", sigma=max(8, round(min(bw, bh) / 30))),
                ]
        elif fit == "fill":
            size = (even(bw * s), even(bh * s))
            if size != (src_w, src_h):
                filters.append(filt("scale", *size))
        else:  # none: the source's own pixels, times scale
            size = (even(src_w * s), even(src_h * s))
            if s != 1:
                filters.append(filt("scale", *size))
        return filters, size, box, blur_bg

    # ------------------------------------------------------------------ clip pictures

    def _look(
        self,
        clip: Clip,
        geo: OutputGeometry,
        size: tuple[int, int] | None,
        frames: int,
        fps: Fraction,
        *,
        transparent: bool = False,
        coloured: bool = False,
    ) -> _Look:
        """The clip's look after layout. ``size`` is the sprite's size when known at compile time
        (not for text, which is measured when it is drawn); ``transparent``: the picture has its
        own alpha (text, shapes, PNGs with transparency)."""
        look = _Look(size=size)
        effects = clip.effects
        if effects is not None and coloured:
            # Colour was applied once before the split (see _shared_colour); the rest is per output.
            effects = effects.model_copy(update=_NEUTRAL_COLOUR)
        if effects is not None:
            lut = self._lut(effects.lut) if effects.lut is not None else None
            if transparent and (effects.vignette is not None or effects.chroma_key is not None):
                # vignette drops alpha and chromakey replaces it: carry the picture's own alpha
                # around them on the graph (see _apply_effects).
                look.graph_effects = (effects, lut)
            else:
                for f in fx.effect_filters(effects, lut_path=lut, canvas_height=geo.height):
                    (look.alpha if f.name in ("chromakey", "colorkey") else look.plain).append(f)
        if clip.motion is not None and size is not None:
            look.animated += kenburns.motion_filters(clip.motion, size=size, frames=frames, fps=fps)
        if clip.rotate:
            angle = fmt_num(math.radians(clip.rotate))
            look.alpha.append(filt("rotate", angle, ow=f"rotw({angle})", oh=f"roth({angle})", c="black@0"))
            look.size = None
        animated = clip.keyframes
        if animated is not None:
            if animated.scale:
                look.animated += kf.animated_scale(animated.scale, fps=fps)
                look.size = kf.scale_box(animated.scale, fps=fps, size=look.size) if look.size else None
            if animated.rotate:
                look.animated += kf.animated_rotation(animated.rotate, fps=fps)
                look.size = kf.rotation_box(look.size) if look.size else None
            if animated.opacity:
                if look.size is not None:
                    look.opacity = list(animated.opacity)  # the fast blend, applied on the graph
                else:
                    look.animated += kf.animated_opacity(animated.opacity, fps=fps)
        if clip.opacity < 1:
            look.alpha.append(filt("lutyuv", a=f"val*{fmt_num(clip.opacity)}"))
        return look

    def _apply_graph_look(self, label: str, look: _Look, fps: Fraction, canvas_height: int) -> str:
        """The parts of a look that need more than a filter chain: alpha-safe effects and the fast
        animated opacity."""
        if look.graph_effects is not None:
            effects, lut = look.graph_effects
            label = fx.add_effects(
                self.graph, label, effects, lut_path=lut, canvas_height=canvas_height, alpha=True
            )
        if look.opacity and look.size is not None:
            label = kf.animated_opacity_blend(self.graph, label, look.opacity, fps=fps, size=look.size)
        return label

    def _lut(self, lut_src: str) -> Path:
        source = self.sources[lut_src]
        # The LUT is read by the filter itself, so it gets a name we chose (the graph is escaped
        # anyway; this keeps the printed command readable).
        index = sorted(self.sources).index(lut_src)
        return self._artifact(
            Artifact("copy", self.work_dir / f"lut{index}.cube", "", {"from": str(source.path)})
        )

    def _clip_visual(
        self, ct: ClipTiming, out_index: int, geo: OutputGeometry, force_canvas: bool
    ) -> _ClipVisual | None:
        clip = ct.clip
        asset = clip.asset
        fps = geo.fps
        W, H = geo.width, geo.height
        n = ct.length
        g = self.graph
        hint = f"c{ct.track}_{ct.index}_o{out_index}_"
        loop_still: list[Filter] = [
            filt("loop", loop=-1, size=1, start=0),
            *_frame_grid(fps),
            filt("trim", end_frame=n),
        ]
        box: tuple[int, int] | None
        base_opaque = False
        if asset.type in ("video", "image"):
            self._clip_streams(ct)
            uses = self._video_uses.get((ct.track, ct.index))
            if not uses:
                self.problems.append(
                    Problem(ct.pointer + "/asset/src", "the file has no video stream", "media")
                )
                return None
            stream = uses.pop(0)
            yuv444 = (ct.track, ct.index) in self._yuv444
            info = self._media(asset.src)
            src_w, src_h = info.width or W, info.height or H
            fit_filters, size, box, blur_bg = self._fit(clip, geo, src_w, src_h, even_crop=yuv444)
            look = self._look(
                clip,
                geo,
                size,
                n,
                fps,
                transparent=info.has_alpha,
                coloured=(ct.track, ct.index) in self._coloured,
            )
            timing: list[Filter] = []
            if isinstance(asset, VideoAsset):
                speed = Fraction(str(asset.speed))
                pts = "PTS-STARTPTS" if speed == 1 else f"(PTS-STARTPTS)*{fmt_num(1 / speed)}"
                if asset.loop:
                    timing.append(filt("trim", start=_seconds(parse_time(asset.trim).to_seconds(fps))))
                timing.append(filt("setpts", pts))
                if info.fps != fps or speed != 1:
                    timing.append(filt("fps", _fps_text(fps)))
                timing.append(filt("tpad", stop=-1, stop_mode="clone" if asset.freeze else "add"))
                timing.append(filt("trim", end_frame=n))
                chain = timing + fit_filters
                post: list[Filter] = []
            else:
                chain = fit_filters
                post = loop_still
            opaque = not info.has_alpha and (clip.fit or "cover") in ("cover", "fill", "blur")
            base_opaque = opaque and size == (W, H) and box == (W, H)
            label = stream
            if blur_bg is not None:
                bg, fg = g.split(stream, 2, hint=hint + "b")
                bgl = g.chain([bg], blur_bg, hint=hint + "bg")[0]
                fgl = g.chain([fg], chain if chain else [filt("null")], hint=hint + "fg")[0]
                label = g.chain([bgl, fgl], [filt("overlay", "(W-w)/2", "(H-h)/2")], hint=hint + "fit")[0]
                size = box
                chain = []
                base_opaque = box == (W, H)
            needs_alpha = (
                look.needs_alpha or info.has_alpha or bool(clip.transition_in or clip.transition_out)
            )
            fmt = "yuva420p" if needs_alpha else "yuv420p"
            if yuv444:
                # Already converted for xfade: going back to 4:2:0 here would only be undone.
                fmt = XFADE_FORMAT
            if info.pix_fmt != fmt or chain or post or look.plain or look.animated:
                # On a still, everything that does not change runs once, before the loop.
                chain = [*chain, *look.plain, filt("format", fmt), *look.alpha, *post, *look.animated]
            else:
                chain = [*chain, *look.alpha]
            if chain:
                label = g.chain([label], chain, hint=hint)[0]
            label = self._apply_graph_look(label, look, fps, H)
            x, y, dynamic = self._position(clip, ct.start, fps)
            visual = _ClipVisual(
                label, x, y, False, opaque and not needs_alpha, bool(needs_alpha), dynamic, yuv444
            )
        elif asset.type == "color":
            box = self._box(clip, geo, W, H)
            bw, bh = box[0], box[1]
            color = ffmpeg_color(asset.color)
            _, _, _, a = parse_color(asset.color)
            look = self._look(clip, geo, box, n, fps)
            needs_alpha = a < 255 or look.needs_alpha or bool(clip.transition_in or clip.transition_out)
            fmt = "yuva420p" if needs_alpha else "yuv420p"
            label = g.chain(
                [],
                [
                    filt("color", c=color, s=f"{bw}x{bh}", r=_fps_text(fps)),
                    filt("trim", end_frame=n),
                    *look.plain,
                    filt("format", fmt),
                    *look.alpha,
                    *look.animated,
                ],
                hint=hint,
            )[0]
            label = self._apply_graph_look(label, look, fps, H)
            x, y, dynamic = self._position(clip, ct.start, fps)
            base_opaque = not needs_alpha and box == (W, H) and clip.scale >= 1 and not dynamic
            visual = _ClipVisual(label, x, y, False, base_opaque, needs_alpha, dynamic)
        elif asset.type in ("text", "shape"):
            if asset.type == "text":
                kind: ArtifactKind = "text"
                path = self.work_dir / f"text-{ct.track}-{ct.index}-{W}x{H}.png"
                data: dict[str, Any] = {"asset": asset, "canvas": (W, H), "scale": clip.scale}
                box = None
                shape_box = None
                anim_in, anim_out = asset.animation_in, asset.animation_out
            else:
                kind = "shape"
                box = self._box(clip, geo, W, H)
                shape_box = (even(box[0] * clip.scale), even(box[1] * clip.scale))
                path = self.work_dir / f"shape-{ct.track}-{ct.index}-{shape_box[0]}x{shape_box[1]}-{H}.png"
                data = {"asset": asset, "box": shape_box, "canvas_height": H}
                anim_in = anim_out = None
            index = g.add_input(str(self._artifact(Artifact(kind, path, ct.pointer, data))))
            look = self._look(
                clip, geo, shape_box if asset.type == "shape" else None, n, fps, transparent=True
            )
            chain = [filt("format", "yuva420p"), *look.plain, *look.alpha, *loop_still, *look.animated]
            typewriter = anim_in is not None and anim_in.type == "typewriter"
            if typewriter:
                assert asset.type == "text" and anim_in is not None
                strip = self.work_dir / f"typewriter-{ct.track}-{ct.index}-{W}x{H}.png"
                # The strip holds one frame per step; the artifact maker makes exactly this many.
                steps = min(len(graphemes(asset.text)), TYPEWRITER_MAX_STEPS)
                self._artifact(Artifact("typewriter", strip, ct.pointer, {**data, "steps": steps}))
                g.inputs[index].path = str(strip)
                reveal = parse_time(anim_in.duration).to_seconds(fps)
                frames_total = steps + 1
                chain = [
                    filt("format", "yuva420p"),
                    *loop_still,
                    filt(
                        "crop",
                        "iw",
                        f"ih/{frames_total}",
                        0,
                        f"min(floor(t/{_seconds(reveal)}*{steps}),{steps})*ih/{frames_total}",
                    ),
                    *look.plain,
                    *look.alpha,
                    *look.animated,
                ]
            label = g.chain([f"{index}:v"], chain, hint=hint)[0]
            label = self._apply_graph_look(label, look, fps, H)
            label = self._text_animations(label, anim_in if not typewriter else None, anim_out, n, fps, hint)
            x, y, dynamic = self._position(clip, ct.start, fps)
            x, y, dynamic = self._animated_position(
                x, y, dynamic, anim_in if not typewriter else None, anim_out, ct, fps
            )
            visual = _ClipVisual(label, x, y, False, False, True, dynamic)
        else:
            return None

        if clip.transition_in is not None or clip.transition_out is not None:
            visual.label = self._entrance_exit(visual.label, clip, n, fps, hint)
        if force_canvas and not (visual.full_canvas or base_opaque):
            pad_x, pad_y = _overlay_to_pad(visual.x), _overlay_to_pad(visual.y)
            pad_chain = [] if visual.alpha else [_with_alpha(visual)]
            pad_chain.append(filt("pad", W, H, pad_x, pad_y, color="black@0"))
            visual.label = g.chain([visual.label], pad_chain, hint=hint + "pad")[0]
            visual.x, visual.y, visual.alpha, visual.full_canvas = "0", "0", True, True
        elif base_opaque:
            visual.full_canvas = True
            visual.x, visual.y = "0", "0"
        visual.opaque = base_opaque and not visual.alpha
        return visual

    def _entrance_exit(self, label: str, clip: Clip, n: int, fps: Fraction, hint: str) -> str:
        if clip.transition_in is not None:
            d = parse_time(clip.transition_in.duration).to_seconds(fps)
            label = tr.entrance(self.graph, label, transition=clip.transition_in, fps=fps, duration=d)
        if clip.transition_out is not None:
            d = parse_time(clip.transition_out.duration).to_seconds(fps)
            label = tr.exit(
                self.graph,
                label,
                transition=clip.transition_out,
                fps=fps,
                length=Fraction(n) / fps,
                duration=d,
            )
        return label

    def _text_animations(
        self, label: str, anim_in: Any, anim_out: Any, n: int, fps: Fraction, hint: str
    ) -> str:
        """Fades and pops act on the sprite; slides act on its position (see _animated_position)."""
        filters: list[Filter] = []
        length = Fraction(n) / fps
        pop: list[Keyframe] = []
        for anim, kind in ((anim_in, "in"), (anim_out, "out")):
            if anim is None:
                continue
            d = min(parse_time(anim.duration).to_seconds(fps), length)
            start = Fraction(0) if kind == "in" else length - d
            if anim.type in ("fade", "slide-up", "slide-down", "slide-left", "slide-right", "pop"):
                filters.append(filt("fade", t=kind, st=_seconds(start), d=_seconds(d), alpha=1))
            if anim.type == "pop":
                # Grow from 60 % with an overshooting ease, or shrink back to 60 % on the way out.
                if kind == "in":
                    pop += [
                        Keyframe(time=0, value=0.6, easing=(0.34, 1.56, 0.64, 1)),
                        Keyframe(time=float(d), value=1),
                    ]
                else:
                    pop += [
                        Keyframe(time=float(start), value=1, easing="ease-in"),
                        Keyframe(time=float(length), value=0.6),
                    ]
        if pop:
            filters += kf.animated_scale(pop, fps=fps)
        if not filters:
            return label
        return self.graph.chain([label], filters, hint=hint + "anim")[0]

    def _animated_position(
        self, x: str, y: str, dynamic: bool, anim_in: Any, anim_out: Any, ct: ClipTiming, fps: Fraction
    ) -> tuple[str, str, bool]:
        t0 = Fraction(ct.start) / fps
        length = Fraction(ct.length) / fps
        for anim, kind in ((anim_in, "in"), (anim_out, "out")):
            if anim is None or not anim.type.startswith("slide-"):
                continue
            d = min(parse_time(anim.duration).to_seconds(fps), length)
            if kind == "in":
                # Remaining distance: 1 at the start, 0 after d, eased out.
                p = f"pow(1-clip((t-{_seconds(t0)})/{_seconds(d)},0,1),3)"
            else:
                p = f"pow(clip((t-{_seconds(t0 + length - d)})/{_seconds(d)},0,1),3)"
            # Slide in from / out towards the side the name points away from.
            dist = "0.08"
            if anim.type == "slide-up":
                y = f"{y}+{p}*{dist}*H" if kind == "in" else f"{y}-{p}*{dist}*H"
            elif anim.type == "slide-down":
                y = f"{y}-{p}*{dist}*H" if kind == "in" else f"{y}+{p}*{dist}*H"
            elif anim.type == "slide-left":
                x = f"{x}+{p}*{dist}*W" if kind == "in" else f"{x}-{p}*{dist}*W"
            else:
                x = f"{x}-{p}*{dist}*W" if kind == "in" else f"{x}+{p}*{dist}*W"
            dynamic = True
        return x, y, dynamic

    # ------------------------------------------------------------------ composition

    def _track_layers(
        self, track_clips: Sequence[ClipTiming], out_index: int, geo: OutputGeometry
    ) -> list[_Layer]:
        """A track's clips as layers; clips joined by transitions become one cross-faded layer."""
        layers: list[_Layer] = []
        fps = geo.fps
        for group in _crossfade_groups(track_clips):
            if len(group) == 1:
                ct = group[0]
                visual = self._clip_visual(ct, out_index, geo, force_canvas=False)
                if visual is None:
                    continue
                layers.append(
                    _Layer(
                        visual.label,
                        visual.x,
                        visual.y,
                        ct.start,
                        ct.length,
                        visual.full_canvas and visual.opaque,
                        visual.dynamic_position,
                    )
                )
                continue
            visuals = [self._clip_visual(ct, out_index, geo, force_canvas=True) for ct in group]
            if any(v is None for v in visuals):
                continue
            # Same pixel format on both sides of every xfade.
            any_alpha = any(v.alpha for v in visuals if v)
            label = visuals[0].label  # type: ignore[union-attr]
            if any_alpha and not visuals[0].alpha:  # type: ignore[union-attr]
                label = self.graph.chain([label], [_with_alpha(visuals[0])], hint="xa")[0]  # type: ignore[arg-type]
            length = group[0].length
            for ct, v in zip(group[1:], visuals[1:], strict=True):
                assert v is not None and ct.clip.transition is not None
                nxt = v.label
                if any_alpha and not v.alpha:
                    nxt = self.graph.chain([nxt], [_with_alpha(v)], hint="xa")[0]
                label = tr.crossfade(
                    self.graph,
                    label,
                    nxt,
                    transition=ct.clip.transition,
                    offset=Fraction(length - ct.transition) / fps,
                    duration=Fraction(ct.transition) / fps,
                )
                length += ct.length - ct.transition
            opaque = all(v.opaque for v in visuals if v) and not any_alpha
            layers.append(_Layer(label, "0", "0", group[0].start, length, opaque, False))
        return layers

    def _compose(self, out_index: int, geo: OutputGeometry, timeline: ResolvedTimeline) -> str:
        g = self.graph
        W, H, fps = geo.width, geo.height, geo.fps
        total = timeline.frames
        base: str | None = None
        for _t, track_clips in enumerate(timeline.tracks):
            if not track_clips:
                continue
            for layer in self._track_layers(track_clips, out_index, geo):
                # Every layer lands on the output's frame grid: time base 1/fps, pts = frame number,
                # so overlay pairs frames exactly (float time arithmetic can be a frame off).
                placed = g.chain([layer.label], _frame_grid(fps, layer.start), hint="at")[0]
                if base is None and layer.full_canvas_opaque and layer.start == 0 and layer.length >= total:
                    base = placed  # it hides the background entirely
                    continue
                if base is None:
                    base = g.chain(
                        [],
                        [
                            filt(
                                "color",
                                c=ffmpeg_color(self.edit.timeline.background),
                                s=f"{W}x{H}",
                                r=_fps_text(fps),
                            ),
                            filt("trim", end_frame=total),
                            filt("format", "yuv420p"),
                        ],
                        hint=f"bg{out_index}_",
                    )[0]
                base = g.chain(
                    [base, placed],
                    [
                        filt(
                            "overlay",
                            x=layer.x,
                            y=layer.y,
                            eof_action="pass",
                            repeatlast=0,
                            eval="frame" if layer.dynamic_position else "init",
                        )
                    ],
                    hint=f"o{out_index}_",
                )[0]
            for ct in track_clips:
                if ct.clip.asset.type == "caption":
                    if base is None:
                        base = self._background(out_index, geo, total)
                    base = self._captions(base, ct, out_index, geo)
        if base is None:
            base = self._background(out_index, geo, total)
        return base

    def _background(self, out_index: int, geo: OutputGeometry, total: int) -> str:
        return self.graph.chain(
            [],
            [
                filt(
                    "color",
                    c=ffmpeg_color(self.edit.timeline.background),
                    s=f"{geo.width}x{geo.height}",
                    r=_fps_text(geo.fps),
                ),
                filt("trim", end_frame=total),
                filt("format", "yuv420p"),
            ],
            hint=f"bg{out_index}_",
        )[0]

    def _captions(self, base: str, ct: ClipTiming, out_index: int, geo: OutputGeometry) -> str:
        from .captions import caption_filter

        asset = ct.clip.asset
        assert asset.type == "caption"
        fps = geo.fps
        path = (
            self.work_dir
            / f"captions-{ct.track}-{ct.index}-{geo.width}x{geo.height}-{fps.numerator}-{fps.denominator}.ass"
        )
        src_path = str(self.sources[asset.src].path) if asset.src is not None else None
        self._artifact(
            Artifact(
                "captions",
                path,
                ct.pointer,
                {
                    "asset": asset,
                    "src_path": src_path,
                    "canvas": (geo.width, geo.height),
                    "fps": geo.fps,
                    "start": Fraction(ct.start) / geo.fps,
                    "length": Fraction(ct.length) / geo.fps,
                },
            )
        )
        return self.graph.chain([base], [caption_filter(path, self.work_dir / "fonts")], hint="cap")[0]

    def _watermark(self, base: str, out_index: int, geo: OutputGeometry, frames: int) -> str:
        output = self.edit.outputs[out_index]
        wm = output.watermark
        assert wm is not None
        source = self.sources[wm.src]
        index = self.graph.add_input(str(source.path))
        width = even(wm.width * geo.width)
        margin = round(wm.margin * min(geo.width, geo.height))
        ax, ay = _ANCHORS[wm.anchor]
        x = f"{margin}+{fmt_num(ax)}*(W-w-{2 * margin})"
        y = f"{margin}+{fmt_num(ay)}*(H-h-{2 * margin})"
        fps = geo.fps
        label = self.graph.chain(
            [f"{index}:v"],
            [
                filt("scale", width, -2),
                filt("format", "yuva420p"),
                filt("lutyuv", a=f"val*{fmt_num(wm.opacity)}"),
                filt("loop", loop=-1, size=1, start=0),
                *_frame_grid(fps),
                filt("trim", end_frame=frames),
            ],
            hint=f"wm{out_index}_",
        )[0]
        return self.graph.chain(
            [base, label], [filt("overlay", x=x, y=y, eof_action="pass")], hint=f"wmo{out_index}_"
        )[0]

    # ------------------------------------------------------------------ audio

    def _audio(self, fps: Fraction, outputs: int) -> list[str]:
        timeline = self.timelines[fps]
        placements: list[audio_mix.AudioPlacement] = []
        slot = self.audio_fps.index(fps)
        for t, track in enumerate(timeline.tracks):
            if self.edit.timeline.tracks[t].muted:
                continue
            for ct in track:
                asset = ct.clip.asset
                if not isinstance(asset, VideoAsset | AudioAsset):
                    continue
                if isinstance(asset, VideoAsset) and asset.muted:
                    continue
                self._clip_streams(ct)
                uses = self._audio_uses.get((ct.track, ct.index))
                if not uses:
                    continue
                info = self._media(asset.src)
                trim = parse_time(asset.trim).to_seconds(fps)
                placements.append(
                    audio_mix.AudioPlacement(
                        stream=uses[slot],
                        start=Fraction(ct.start) / fps,
                        length=Fraction(ct.length) / fps,
                        # A looping input repeats by itself (no end); otherwise input seeking
                        # already skipped the trim.
                        trim=trim if asset.loop else Fraction(0),
                        source_duration=None if asset.loop else _remaining(info.duration, trim),
                        channels=info.audio_channels,
                        speed=float(asset.speed),
                        volume=parse_volume(asset.volume),
                        fade_in=parse_time(asset.fade_in).to_seconds(fps),
                        fade_out=parse_time(asset.fade_out).to_seconds(fps),
                        loop=False,
                        role=asset.role if isinstance(asset, AudioAsset) else "effect",
                        volume_keyframes=tuple(ct.clip.keyframes.volume)
                        if ct.clip.keyframes and ct.clip.keyframes.volume
                        else (),
                    )
                )
        soundtrack = self.edit.timeline.soundtrack
        if soundtrack is not None:
            source = self._source(soundtrack.src)
            if self._media(soundtrack.src).has_audio:
                if not self._soundtrack_audio:
                    options = ["-stream_loop", "-1"] if soundtrack.loop else []
                    trim = parse_time(soundtrack.trim).to_seconds(fps)
                    if trim and not soundtrack.loop:
                        options += ["-ss", _seconds(trim)]
                    longest = max(tl.duration for tl in self.timelines.values())
                    options += ["-t", _seconds(longest + trim + 1)]
                    index = self.graph.add_input(str(source.path), options)
                    self._soundtrack_audio = self.graph.split(
                        f"{index}:a", len(self.audio_fps), audio=True, hint="st"
                    )
                    self._audio_input.update({label: index for label in self._soundtrack_audio})
                trim = parse_time(soundtrack.trim).to_seconds(fps)
                placements.append(
                    audio_mix.AudioPlacement(
                        stream=self._soundtrack_audio[slot],
                        start=Fraction(0),
                        length=timeline.duration,
                        trim=trim if soundtrack.loop else Fraction(0),
                        source_duration=None if soundtrack.loop else _remaining(source.duration, trim),
                        channels=self._media(soundtrack.src).audio_channels,
                        volume=parse_volume(soundtrack.volume),
                        fade_in=parse_time(soundtrack.fade_in).to_seconds(fps),
                        fade_out=parse_time(soundtrack.fade_out).to_seconds(fps),
                        role=soundtrack.role,
                    )
                )
        settings = self.edit.audio
        measurement = self.loudness.get(fps)
        if settings.loudness is not None and measurement is None:
            self._loudness_pass(fps, placements, timeline.duration)
        mix = audio_mix.build_audio_mix(
            self.graph,
            placements,
            duration=timeline.duration,
            ducking=settings.ducking,
            loudness=settings.loudness,
            loudness_measurement=measurement,
            fps=fps,
        )
        return self.graph.split(mix, outputs, audio=True, hint="mix")

    def _loudness_pass(
        self, fps: Fraction, placements: Sequence[audio_mix.AudioPlacement], duration: Fraction
    ) -> None:
        """A cheap audio-only first pass measures the mix, so the render applies one exact gain
        (single-pass loudnorm misses short or sparse mixes by several LU)."""
        assert self.edit.audio.loudness is not None
        analysis = FilterGraph()
        remap: dict[int, int] = {}
        moved = []
        for p in placements:
            old = self._audio_input[p.stream]
            if old not in remap:
                inp = self.graph.inputs[old]
                remap[old] = analysis.add_input(inp.path, inp.options)
            moved.append(replace(p, stream=f"{remap[old]}:a"))
        stats = self.work_dir / f"loudness-{fps.numerator}-{fps.denominator}.json"
        label = audio_mix.build_loudness_analysis(
            analysis,
            moved,
            duration=duration,
            ducking=self.edit.audio.ducking,
            loudness=self.edit.audio.loudness,
            stats_file=str(stats),
            fps=fps,
        )
        self.loudness_passes.append(LoudnessPass(fps, tuple(audio_mix.analysis_args(analysis, label)), stats))

    # ------------------------------------------------------------------ outputs

    def _file_names(self) -> list[str]:
        outputs = self.edit.outputs
        names: list[str] = []
        for i, o in enumerate(outputs):
            geo = self.geometries[i]
            if o.name:
                base = o.name
            elif len(outputs) == 1:
                base = self.name
            else:
                base = f"{self.name}-{geo.label}"
            candidate, n = base, 2
            while candidate + "." + o.format in names:
                candidate, n = f"{base}-{n}", n + 1
            names.append(candidate + "." + o.format)
        return names

    def compile(self) -> RenderPlan:
        g = self.graph
        outputs = self.edit.outputs
        names = self._file_names()
        audio_labels: dict[Fraction, list[str]] = {}
        for fps in self.audio_fps:
            count = sum(1 for i in self.audio_outputs if self._timeline_fps(i) == fps)
            audio_labels[fps] = self._audio(fps, count)
        planned: list[PlannedOutput] = []
        maps: list[tuple[str, ...]] = []
        sidecars: list[tuple[Path, str, Fraction, Fraction, Fraction]] = []
        for i, output in enumerate(outputs):
            geo = self.geometries[i]
            timeline = self.timelines[geo.fps]
            fps = geo.fps
            start, end = 0, timeline.frames
            if output.range is not None:
                start = parse_time(output.range.start).to_frames(fps)
                if output.range.length is not None:
                    end = min(end, start + parse_time(output.range.length).to_frames(fps))
                if start >= timeline.frames:
                    self.problems.append(
                        Problem(f"/outputs/{i}/range/start", "the range starts after the timeline ends")
                    )
                    continue
            frames = end - start
            if output.is_still:
                at = parse_time(output.time).to_frames(fps)
                if at >= timeline.frames:
                    self.problems.append(
                        Problem(f"/outputs/{i}/time", "the moment is after the timeline ends")
                    )
                    continue
                start, frames = at, 1
            path = self.out_dir / names[i]
            poster = thumb = None
            args: list[str] = []
            if not output.is_audio_only:
                video = self._compose(i, geo, timeline)
                if output.watermark is not None:
                    video = self._watermark(video, i, geo, timeline.frames)
                cut: list[Filter] = []
                if start or frames != timeline.frames:
                    cut = [
                        filt("trim", start_frame=start, end_frame=start + frames),
                        filt("setpts", "PTS-STARTPTS"),
                    ]
                extras = [("poster", output.poster), ("thumbnail", output.thumbnail)]
                wanted = [(kind, p) for kind, p in extras if p is not None]
                if output.format == "gif":
                    cut += [filt("split")]
                    video_out, pal_in = g.chain([video], cut, 2, hint=f"gif{i}_")
                    pal = g.chain([pal_in], [filt("palettegen", stats_mode="diff")], hint="pal")[0]
                    video = g.chain(
                        [video_out, pal], [filt("paletteuse", dither="bayer", bayer_scale=3)], hint="gifo"
                    )[0]
                    cut = []
                labels = g.chain(
                    [video],
                    [*cut, filt("split", 1 + len(wanted)) if wanted else filt("null")],
                    1 + len(wanted),
                    hint=f"vout{i}_",
                )
                args += ["-map", f"[{labels[0]}]", *video_codec_args(output)]
                if output.is_video:
                    args += ["-r", _fps_text(fps)]
                for (kind, p), label in zip(wanted, labels[1:], strict=True):
                    assert p is not None
                    at = min(parse_time(p.time).to_frames(fps), frames - 1)
                    width = p.width or (geo.width if kind == "poster" else min(480, geo.width))
                    extra_path = self.out_dir / f"{Path(names[i]).stem}.{kind}.{p.format}"
                    still = g.chain(
                        [label],
                        [filt("trim", start_frame=at, end_frame=at + 1), filt("scale", width, -2)]
                        + ([filt("format", "yuvj420p")] if p.format == "jpg" else []),
                        hint=f"{kind}{i}_",
                    )[0]
                    if kind == "poster":
                        poster = extra_path
                    else:
                        thumb = extra_path
                    maps.append(("-map", f"[{still}]", "-frames:v", "1", "-update", "1", str(extra_path)))
            if i in self.audio_outputs:
                label = audio_labels[geo.fps].pop(0)
                if start or frames != timeline.frames:
                    label = g.chain(
                        [label],
                        [
                            filt(
                                "atrim",
                                start=_seconds(Fraction(start) / fps),
                                end=_seconds(Fraction(start + frames) / fps),
                            ),
                            filt("asetpts", "PTS-STARTPTS"),
                        ],
                        hint=f"aout{i}_",
                    )[0]
                args += ["-map", f"[{label}]", *audio_codec_args(output)]
            args += [*container_args(output), str(path)]
            maps.insert(len(maps) - (poster is not None) - (thumb is not None), tuple(args))
            side_paths: list[Path] = []
            if output.is_video:
                for tl_ct in timeline.clips():
                    asset = tl_ct.clip.asset
                    if asset.type == "caption":
                        for fmt in asset.sidecar:
                            sp = (
                                path.with_suffix(f".{fmt}")
                                if len(side_paths) < len(asset.sidecar)
                                else path.with_suffix(f".{tl_ct.track}-{tl_ct.index}.{fmt}")
                            )
                            side_paths.append(sp)
                            sidecars.append(
                                (
                                    sp,
                                    tl_ct.pointer,
                                    Fraction(tl_ct.start - start) / fps,
                                    Fraction(tl_ct.length) / fps,
                                    fps,
                                )
                            )
            planned.append(
                PlannedOutput(
                    i,
                    output,
                    path,
                    geo.width,
                    geo.height,
                    fps,
                    frames,
                    start,
                    poster,
                    thumb,
                    tuple(side_paths),
                )
            )
        if self.problems:
            raise EditError(self.problems)
        return RenderPlan(
            edit=self.edit,
            timelines=self.timelines,
            outputs=tuple(planned),
            artifacts=tuple(self.artifacts.values()),
            inputs=tuple((inp.path, inp.options) for inp in g.inputs),
            graph=g.render(),
            maps=tuple(maps),
            graph_path=self.work_dir / "graph.txt",
            sidecar_cues=tuple(sidecars),
            loudness_passes=tuple(self.loudness_passes),
        )


def compile_edit(
    edit: Edit,
    sources: Mapping[str, Source],
    *,
    out_dir: Path,
    work_dir: Path,
    name: str | None = None,
    loudness: Mapping[Fraction, audio_mix.LoudnessMeasurement] | None = None,
) -> RenderPlan:
    """Compile ``edit`` into a :class:`RenderPlan`.

    ``sources`` maps every ``src`` the edit names (clips, soundtrack, LUTs, watermarks, caption
    files) to its resolved, probed file. Raises :class:`EditError` for problems that only show
    once media is known (a trim past the end of a source, a clip with no video stream...).
    ``loudness`` holds the measurements of the plan's ``loudness_passes``, per frame rate.
    """
    return _Compiler(edit, sources, out_dir, work_dir, name or edit.name or "render", loudness).compile()


# ---------------------------------------------------------------------- layout for checks


def media_sprite_size(clip: Clip, geo: OutputGeometry, src_w: int, src_h: int) -> tuple[int, int]:
    """The pixel size an image or video clip's picture takes on ``geo``'s canvas, by the very
    code the compiler lays it out with (crop, box, fit, scale). For the compliance check."""
    # _fit and _box read nothing from the compiler's state, so an empty instance serves.
    return _Compiler._fit(_Compiler.__new__(_Compiler), clip, geo, src_w, src_h)[1]


def static_position(
    clip: Clip, canvas: tuple[int, int], sprite: tuple[int, int], offset: tuple[float, float] | None = None
) -> tuple[float, float]:
    """Where the sprite's top-left corner lands, as the overlay expressions of ``_position``
    place it: by the anchor, then shifted by the offset (``offset`` overrides the clip's, e.g.
    one keyframe's value)."""
    ax, ay = _ANCHORS[clip.anchor]
    ox, oy = offset if offset is not None else (clip.offset.x, clip.offset.y)
    W, H = canvas
    return float(ax) * (W - sprite[0]) + ox * W, float(ay) * (H - sprite[1]) + oy * H


def watermark_box(
    output: Output, geo: OutputGeometry, src_w: int, src_h: int
) -> tuple[float, float, int, int]:
    """(x, y, width, height) of an output's watermark, as ``_watermark`` places it."""
    wm = output.watermark
    assert wm is not None
    width = even(wm.width * geo.width)
    height = max(2, round(width * src_h / src_w / 2) * 2)  # scale=w:-2 keeps the ratio, even
    margin = round(wm.margin * min(geo.width, geo.height))
    ax, ay = _ANCHORS[wm.anchor]
    x = margin + float(ax) * (geo.width - width - 2 * margin)
    y = margin + float(ay) * (geo.height - height - 2 * margin)
    return x, y, width, height
