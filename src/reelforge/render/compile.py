"""Compile an edit into a render plan: the FFmpeg inputs, one filter graph and every output.

This is a pure function of the edit and the probed sources: it reads no file and runs nothing.
Files the graph needs that do not exist yet (text and shapes rasterised once, caption scripts)
are listed as :class:`Artifact` recipes that :mod:`reelforge.render.engine` makes before FFmpeg
runs. The work is shared out by concept:

* :mod:`.plan`: what a plan is (the contract the engine runs and ``reelforge plan`` prints);
* :mod:`.inputs`: the compiler's state, and each source decoded once and split between outputs;
* :mod:`.picture`: the picture pipeline, per clip and per output;
* :mod:`.layout`: where pictures go on a canvas (shared with the compliance check);
* here: the audio mix, the output files and their ``-map``s, and the plan they make.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from reelforge.edit.errors import EditError, Problem
from reelforge.edit.models import AudioAsset, Edit, VideoAsset
from reelforge.edit.timing import parse_time
from reelforge.edit.values import parse_volume

from . import audio as audio_mix
from .graph import Filter, FilterGraph, chain_text, filt, fmt_rate, fmt_seconds
from .layout import SafeZone
from .outputs import audio_codec_args, container_args, picture_range, video_codec_args
from .picture import PictureCompiler, ffmpeg_color
from .plan import Artifact, LoudnessPass, MixTail, PlannedOutput, RenderPlan, Source

__all__ = [
    "Artifact",
    "LoudnessPass",
    "PlannedOutput",
    "RenderPlan",
    "Source",
    "apply_loudness",
    "compile_edit",
    "ffmpeg_color",
]


def _remaining(duration: Fraction | None, trim: Fraction) -> Fraction | None:
    return None if duration is None else max(duration - trim, Fraction(0))


class _Compiler(PictureCompiler):
    mix_window: tuple[int, int] | None = None
    """Samples ``[first, end)`` of the mix to render alone, before its tail (see
    :func:`compile_edit`)."""

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
                        options += ["-ss", fmt_seconds(trim)]
                    longest = max(tl.duration for tl in self.timelines.values())
                    options += ["-t", fmt_seconds(longest + trim + 1)]
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
        if self.mix_window is not None:
            window = audio_mix.add_mix_window(
                self.graph, placements, duration=timeline.duration, window=self.mix_window, fps=fps
            )
            return self.graph.split(window, outputs, audio=True, hint="mix")
        measurement = self.loudness.get(fps)
        mix = audio_mix.add_audio_mix(
            self.graph,
            placements,
            duration=timeline.duration,
            ducking=settings.ducking,
            loudness=settings.loudness,
            loudness_measurement=measurement,
            fps=fps,
        )
        if settings.loudness is not None and measurement is None:
            self._loudness_pass(fps, placements, timeline.duration, mix)
        return self.graph.split(mix.out, outputs, audio=True, hint="mix")

    def _loudness_pass(
        self,
        fps: Fraction,
        placements: Sequence[audio_mix.AudioPlacement],
        duration: Fraction,
        tail: MixTail,
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
        args = tuple(audio_mix.analysis_args(analysis, label))
        self.loudness_passes.append(LoudnessPass(fps, args, stats, tail))

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
                cut: list[Filter] = picture_range(output)
                if start or frames != timeline.frames:
                    cut += [
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
                    args += ["-r", fmt_rate(fps)]
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
                                start=fmt_seconds(Fraction(start) / fps),
                                end=fmt_seconds(Fraction(start + frames) / fps),
                            ),
                            filt("asetpts", "PTS-STARTPTS"),
                        ],
                        hint=f"aout{i}_",
                    )[0]
                if self.mix_window is not None:
                    # The mix's own sample format (16-bit would round the sum), RF64 past 4 GiB.
                    args += ["-map", f"[{label}]", "-c:a", "pcm_f32le", "-rf64", "auto"]
                else:
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
            sources=self.sources,
            name=self.name,
            out_dir=self.out_dir,
            work_dir=self.work_dir,
            timelines=self.timelines,
            outputs=tuple(planned),
            artifacts=tuple(self.artifacts.values()),
            inputs=tuple((inp.path, inp.options) for inp in g.inputs),
            chains=tuple(g.chains),
            maps=tuple(maps),
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
    safe_zones: Mapping[str, SafeZone] | None = None,
    mix_window: tuple[int, int] | None = None,
) -> RenderPlan:
    """Compile ``edit`` into a :class:`RenderPlan`.

    ``sources`` maps every ``src`` the edit names (clips, soundtrack, LUTs, watermarks, caption
    files) to its resolved, probed file. Raises :class:`EditError` for problems that only show
    once media is known (a trim past the end of a source, a clip with no video stream...).
    ``loudness`` holds the measurements of the plan's ``loudness_passes``, per frame rate.
    ``safe_zones``: where ``safe_area`` clips keep to, by aspect ratio (a brand kit's; default
    :data:`~reelforge.render.layout.DEFAULT_SAFE_ZONES`).

    ``mix_window`` (samples ``[first, end)`` of the timeline at the mix rate) makes every output
    with audio a 32-bit float WAV of only those samples of the mix before its tail (no ducking,
    no loudness: see :func:`~reelforge.render.audio.add_mix_window`); the outputs must be WAV.
    """
    if mix_window is not None and any(o.format != "wav" for o in edit.outputs):
        raise ValueError("a mix window renders into WAV outputs only")
    compiler = _Compiler(
        edit, sources, out_dir, work_dir, name or edit.name or "render", loudness, safe_zones
    )
    compiler.mix_window = mix_window
    return compiler.compile()


def apply_loudness(
    plan: RenderPlan, measured: Mapping[Fraction, audio_mix.LoudnessMeasurement]
) -> RenderPlan:
    """The plan with its loudness passes' measurements (per frame rate) applied.

    A measurement changes only the mix's tail chain, so this replaces that chain and keeps
    everything else: the same plan ``compile_edit(..., loudness=measured)`` makes, without
    compiling again.
    """
    loudness = plan.edit.audio.loudness
    chains = list(plan.chains)
    for lp in plan.loudness_passes:
        tail = lp.tail
        filters = audio_mix.mix_tail(
            loudness, measured[lp.fps], samples=tail.samples, sample_rate=tail.sample_rate
        )
        chains[tail.chain] = chain_text([tail.mixed], filters, [tail.out])
    return replace(plan, chains=tuple(chains), loudness_passes=())
