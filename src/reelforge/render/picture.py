"""The picture pipeline: per clip and per output, the filter chains that build each frame.

How a picture is built, per output (each output has its own canvas and frame grid, so a 16:9
source follows its clip's ``fit`` in a 9:16 output):

* every visual clip becomes a stream of exactly its length in frames at the output's rate, fitted
  into its box, with its look applied (effects, motion, rotation, opacity, animations);
* clips joined by a ``transition`` are padded to the canvas and cross-faded with ``xfade``;
* tracks are painted bottom to top with ``overlay``, each layer shifted to its start frame;
* captions are burned onto what lies below them with libass; the watermark goes on last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from reelforge.edit.errors import Problem
from reelforge.edit.models import Clip, Keyframe, VideoAsset
from reelforge.edit.timeline import ClipTiming, ResolvedTimeline
from reelforge.edit.timing import parse_time
from reelforge.edit.values import parse_color

from . import effects as fx
from . import keyframes as kf
from . import motion as kenburns
from . import transitions as tr
from .clusters import graphemes
from .graph import Filter, filt, fmt_num, fmt_rate, fmt_seconds
from .inputs import NEUTRAL_COLOUR, XFADE_FORMAT, CompilerState, crossfade_groups
from .layout import ANCHORS, box_size, fit_in_box, overlay_position, overlay_to_pad
from .outputs import OutputGeometry, even, final_pixel_format
from .placement import captions_in_safe_area, clip_for_output, focus_point, safe_zone
from .plan import Artifact, ArtifactKind

__all__ = ["TYPEWRITER_MAX_STEPS", "PictureCompiler", "ffmpeg_color", "frame_grid"]

TYPEWRITER_MAX_STEPS = 59


def ffmpeg_color(value: str) -> str:
    """A validated colour as FFmpeg writes it: ``0xRRGGBB@alpha``."""
    r, g, b, a = parse_color(value)
    return f"0x{r:02x}{g:02x}{b:02x}@{fmt_num(round(a / 255, 4))}"


def frame_grid(fps: Fraction, start: int = 0) -> list[Filter]:
    """Time base 1/fps and pts = frame number (+ ``start``): exact frame timing downstream."""
    return [
        filt("settb", f"{fps.denominator}/{fps.numerator}"),
        filt("setpts", f"N+{start}" if start else "N"),
    ]


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


class PictureCompiler(CompilerState):
    """Adds each output's picture to the graph: clip visuals, layers, captions, watermark."""

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
            effects = effects.model_copy(update=NEUTRAL_COLOUR)
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
            *frame_grid(fps),
            filt("trim", end_frame=n),
        ]
        box: tuple[int, int] | None
        base_opaque = False
        safe = safe_zone(clip, geo, self.safe_zones)
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
            fit_filters, size, box, blur_bg = fit_in_box(
                clip, geo, src_w, src_h, even_crop=yuv444, focus=focus_point(clip, self.sources), safe=safe
            )
            look = self._look(
                clip,
                geo,
                size,
                n,
                fps,
                transparent=info.has_alpha,
                coloured=(ct.track, ct.index) in self._coloured,
            )
            if isinstance(asset, VideoAsset):
                timed = (ct.track, ct.index) in self._timed  # once, before the split
                chain = (self._clip_timing(ct, info, fps) if not timed else []) + fit_filters
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
            x, y, dynamic = overlay_position(clip, ct.start, fps, safe)
            visual = _ClipVisual(
                label, x, y, False, opaque and not needs_alpha, bool(needs_alpha), dynamic, yuv444
            )
        elif asset.type == "color":
            box = box_size(clip, geo, W, H, safe)
            bw, bh = box[0], box[1]
            color = ffmpeg_color(asset.color)
            _, _, _, a = parse_color(asset.color)
            look = self._look(clip, geo, box, n, fps)
            needs_alpha = a < 255 or look.needs_alpha or bool(clip.transition_in or clip.transition_out)
            fmt = "yuva420p" if needs_alpha else "yuv420p"
            label = g.chain(
                [],
                [
                    filt("color", c=color, s=f"{bw}x{bh}", r=fmt_rate(fps)),
                    filt("trim", end_frame=n),
                    *look.plain,
                    filt("format", fmt),
                    *look.alpha,
                    *look.animated,
                ],
                hint=hint,
            )[0]
            label = self._apply_graph_look(label, look, fps, H)
            x, y, dynamic = overlay_position(clip, ct.start, fps, safe)
            base_opaque = not needs_alpha and box == (W, H) and clip.scale >= 1 and not dynamic
            visual = _ClipVisual(label, x, y, False, base_opaque, needs_alpha, dynamic)
        elif asset.type in ("text", "shape"):
            if asset.type == "text":
                kind: ArtifactKind = "text"
                path = self.work_dir / f"text-{ct.track}-{ct.index}{self._variant(ct, out_index)}-{W}x{H}.png"
                data: dict[str, Any] = {"asset": asset, "canvas": (W, H), "scale": clip.scale}
                box = None
                shape_box = None
                anim_in, anim_out = asset.animation_in, asset.animation_out
            else:
                kind = "shape"
                box = box_size(clip, geo, W, H, safe)
                shape_box = (even(box[0] * clip.scale), even(box[1] * clip.scale))
                path = (
                    self.work_dir
                    / f"shape-{ct.track}-{ct.index}{self._variant(ct, out_index)}-{shape_box[0]}x{shape_box[1]}-{H}.png"
                )
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
                strip = (
                    self.work_dir
                    / f"typewriter-{ct.track}-{ct.index}{self._variant(ct, out_index)}-{W}x{H}.png"
                )
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
                        f"min(floor(t/{fmt_seconds(reveal)}*{steps}),{steps})*ih/{frames_total}",
                    ),
                    *look.plain,
                    *look.alpha,
                    *look.animated,
                ]
            label = g.chain([f"{index}:v"], chain, hint=hint)[0]
            label = self._apply_graph_look(label, look, fps, H)
            label = self._text_animations(label, anim_in if not typewriter else None, anim_out, n, fps, hint)
            x, y, dynamic = overlay_position(clip, ct.start, fps, safe)
            x, y, dynamic = self._animated_position(
                x, y, dynamic, anim_in if not typewriter else None, anim_out, ct, fps
            )
            visual = _ClipVisual(label, x, y, False, False, True, dynamic)
        else:
            return None

        if clip.transition_in is not None or clip.transition_out is not None:
            visual.label = self._entrance_exit(visual.label, clip, n, fps, hint)
        if force_canvas and not (visual.full_canvas or base_opaque):
            pad_x, pad_y = overlay_to_pad(visual.x), overlay_to_pad(visual.y)
            pad_chain = [] if visual.alpha else [_with_alpha(visual)]
            pad_chain.append(filt("pad", W, H, pad_x, pad_y, color="black@0"))
            visual.label = g.chain([visual.label], pad_chain, hint=hint + "pad")[0]
            visual.x, visual.y, visual.alpha, visual.full_canvas = "0", "0", True, True
        elif base_opaque:
            visual.full_canvas = True
            visual.x, visual.y = "0", "0"
        visual.opaque = base_opaque and not visual.alpha
        return visual

    def _variant(self, ct: ClipTiming, out_index: int) -> str:
        """A file-name part that keeps one output's overridden text, shape or captions apart from
        another's of the same size."""
        return f"-o{out_index}" if self.edit.timeline.tracks[ct.track].clips[ct.index].overrides else ""

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
                filters.append(filt("fade", t=kind, st=fmt_seconds(start), d=fmt_seconds(d), alpha=1))
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
                p = f"pow(1-clip((t-{fmt_seconds(t0)})/{fmt_seconds(d)},0,1),3)"
            else:
                p = f"pow(clip((t-{fmt_seconds(t0 + length - d)})/{fmt_seconds(d)},0,1),3)"
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
        # Each clip as this output shows it (its overrides for the output applied).
        output = self.edit.outputs[out_index]
        track_clips = [clip_for_output(ct, output, geo) for ct in track_clips]
        for group in crossfade_groups(track_clips):
            if (group[0].track, group[0].index) in self._crossfade_groups:
                layers.append(self._crossfaded_layer(group, out_index, geo))
                continue
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
                    fps=fps,
                )
                length += ct.length - ct.transition
            opaque = all(v.opaque for v in visuals if v) and not any_alpha
            layers.append(_Layer(label, "0", "0", group[0].start, length, opaque, False))
        return layers

    def _crossfaded_layer(self, group: Sequence[ClipTiming], out_index: int, geo: OutputGeometry) -> _Layer:
        """One output's share of a group cross-faded before the split (see
        ``_crossfade_before_split``): the faded picture cropped and scaled straight to the
        output's pixel format, filling the canvas."""
        first = (group[0].track, group[0].index)
        uses = self._crossfades.get(first)
        if uses is None:
            uses = self._crossfades[first] = self._crossfade_sources(group)
        asset = group[0].clip.asset
        assert isinstance(asset, VideoAsset)
        info = self._media(asset.src)
        assert info.width and info.height
        fit_filters = fit_in_box(group[0].clip, geo, info.width, info.height, even_crop=True)[0]
        chain = [*fit_filters, filt("format", final_pixel_format(self.edit.outputs[out_index]))]
        label = self.graph.chain([uses.pop(0)], chain, hint=f"c{first[0]}_{first[1]}_o{out_index}_fit")[0]
        length = group[0].length + sum(ct.length - ct.transition for ct in group[1:])
        return _Layer(label, "0", "0", group[0].start, length, True, False)

    def _crossfade_sources(self, group: Sequence[ClipTiming]) -> list[str]:
        """Cross-fade a group's clips once, at their sources' size, and split the faded picture
        between the visual outputs."""
        assert self.shared_fps is not None
        fps = self.shared_fps
        labels = []
        for ct in group:
            self._clip_streams(ct)  # timed, coloured and in 4:4:4, with one use: this xfade
            labels.append(self._video_uses[(ct.track, ct.index)][0])
        label, length = labels[0], group[0].length
        for ct, nxt in zip(group[1:], labels[1:], strict=True):
            assert ct.clip.transition is not None
            label = tr.crossfade(
                self.graph,
                label,
                nxt,
                transition=ct.clip.transition,
                offset=Fraction(length - ct.transition) / fps,
                duration=Fraction(ct.transition) / fps,
                fps=fps,
            )
            length += ct.length - ct.transition
        return self.graph.split(label, len(self.visual_outputs), hint=f"x{group[0].track}_{group[0].index}_")

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
                placed = g.chain([layer.label], frame_grid(fps, layer.start), hint="at")[0]
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
                                r=fmt_rate(fps),
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
                    ct = clip_for_output(ct, self.edit.outputs[out_index], geo)
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
                    r=fmt_rate(geo.fps),
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
        asset = captions_in_safe_area(asset, safe_zone(ct.clip, geo, self.safe_zones))
        fps = geo.fps
        path = (
            self.work_dir
            / f"captions-{ct.track}-{ct.index}{self._variant(ct, out_index)}-{geo.width}x{geo.height}-{fps.numerator}-{fps.denominator}.ass"
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
        ax, ay = ANCHORS[wm.anchor]
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
                *frame_grid(fps),
                filt("trim", end_frame=frames),
            ],
            hint=f"wm{out_index}_",
        )[0]
        return self.graph.chain(
            [base, label], [filt("overlay", x=x, y=y, eof_action="pass")], hint=f"wmo{out_index}_"
        )[0]
