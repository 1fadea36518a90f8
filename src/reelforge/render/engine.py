"""Render an edit: resolve and probe sources, compile, make artifacts, run FFmpeg, check outputs.

The side effects of rendering live here; :mod:`reelforge.render.compile` stays pure. Every
problem found before FFmpeg starts (a missing file, corrupt media, an unknown font, a trim past
the end) is collected and raised together as an :class:`EditError` with pointers.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reelforge.edit.errors import EditError, Problem, pointer
from reelforge.edit.models import CaptionAsset, Cue, Edit, TextAsset
from reelforge.edit.references import asset_references
from reelforge.ffmpeg.binary import base_args
from reelforge.ffmpeg.probe import MediaInfo, MediaProbeError, probe_cache
from reelforge.ffmpeg.runner import (
    CancelToken,
    FFmpegError,
    Progress,
    RenderTimeout,
    run_ffmpeg,
)

from .audio import parse_loudnorm_json
from .captions import CaptionFileError, build_ass, load_cues, load_placed_cues, write_srt, write_vtt
from .compile import Artifact, RenderPlan, Source, apply_loudness, compile_edit
from .effects import LutFileError, parse_cube_file
from .focus import find_focus
from .fonts import FONT_SUFFIXES, FontFace, FontNotFoundError, font_chain
from .glyphs import text_problems
from .layout import SafeZone
from .segments import SegmentedRender, SegmentPolicy, colour_filter, one_pass_reason, segment_plan
from .sources import LocalResolver, SourceError, SourceResolver

# Drawing text and shapes needs Pillow: loaded when an artifact is drawn, so planning or
# validating an edit does not pay for it.
if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "OutputResult",
    "RenderError",
    "RenderResult",
    "SegmentRunner",
    "check_joined",
    "collect_sources",
    "joined_streams",
    "make_artifacts",
    "plan_edit",
    "render_edit",
    "render_plan",
    "render_segment",
    "resolve_sources",
]

SourceKind = str  # "media" | "captions" | "lut" | "font" | "image"

log = logging.getLogger(__name__)


class RenderError(Exception):
    """FFmpeg failed. ``pointer`` names the clip concerned when it can be known."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "ffmpeg_failed",
        pointer: str | None = None,
        log_tail: tuple[str, ...] = (),
    ):
        self.code = code
        self.pointer = pointer
        self.log_tail = log_tail
        self.message = message
        text = message + (f" (at {pointer})" if pointer else "")
        if log_tail:
            text += "\nFFmpeg said:\n" + "\n".join(f"  {line}" for line in log_tail[-8:])
        super().__init__(text)


@dataclass(frozen=True)
class OutputResult:
    path: Path
    info: MediaInfo
    poster: Path | None = None
    thumbnail: Path | None = None
    sidecars: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RenderResult:
    plan: RenderPlan
    outputs: tuple[OutputResult, ...]
    elapsed: float
    """Wall-clock seconds of the whole render."""


def collect_sources(edit: Edit) -> dict[str, list[tuple[str, SourceKind]]]:
    """Every file an edit names, with the pointers naming it and how the engine reads it."""
    found: dict[str, list[tuple[str, SourceKind]]] = {}
    for ref in asset_references(edit):
        kind = "media" if ref.kind in ("video", "audio") else ref.kind
        found.setdefault(ref.src, []).append((ref.pointer, kind))
    return found


def _cues_duration(cues: list[Cue]) -> Fraction | None:
    from reelforge.edit.timing import parse_time

    ends = [parse_time(c.end).seconds for c in cues]
    return max((e for e in ends if e is not None), default=None)


def resolve_sources(edit: Edit, resolver: SourceResolver) -> dict[str, Source]:
    """Resolve and probe every file of the edit; all problems are raised together."""
    sources: dict[str, Source] = {}
    problems: list[Problem] = []
    for src, uses in collect_sources(edit).items():
        ptr, kind = uses[0]
        try:
            path = resolver.resolve(src)
        except SourceError as exc:
            problems += [Problem(p, f"cannot use {src!r}: {exc.reason}", "source") for p, _ in uses]
            continue
        try:
            if kind in ("media", "image"):
                info = probe_cache(path)
                if kind == "image" and not info.has_video:
                    raise MediaProbeError(path, "not an image or video file", code="not_media")
                sources[src] = Source(src, path, info, info.video_duration or info.duration)
            elif kind == "captions":
                sources[src] = Source(src, path, None, _cues_duration(load_cues(path)))
            elif kind == "lut":
                parse_cube_file(path)
                sources[src] = Source(src, path, None)
            else:
                sources[src] = Source(src, path, None)
        except MediaProbeError as exc:
            problems.append(Problem(ptr, f"cannot use {src!r}: {exc.reason}", "media"))
        except (CaptionFileError, LutFileError) as exc:
            problems.append(Problem(ptr, str(exc), "file"))
    # What the asset type promises must match the file (a "video" clip needs a picture).
    for t, track in enumerate(edit.timeline.tracks):
        for c, clip in enumerate(track.clips):
            asset = clip.asset
            if asset.type not in ("video", "audio") or asset.src not in sources:
                continue
            media = sources[asset.src].info
            stream = "video" if asset.type == "video" else "audio"
            if media is not None and not (media.has_video if stream == "video" else media.has_audio):
                hint = "; use an audio clip" if stream == "video" else ""
                problems.append(
                    Problem(
                        pointer("timeline", "tracks", t, "clips", c, "asset", "src"),
                        f"{asset.src!r} has no {stream} stream{hint}",
                        "media",
                    )
                )
    if problems:
        raise EditError(problems)
    return _with_focus(edit, sources)


def _auto_focus_sources(edit: Edit) -> set[str]:
    """The pictures some clip (or one of its per-output overrides) asks to find the subject of."""
    wanted: set[str] = set()
    for track in edit.timeline.tracks:
        for clip in track.clips:
            variants = [clip.focus, *(o.focus for o in (clip.overrides or {}).values())]
            if clip.asset.type in ("video", "image") and "auto" in variants:
                wanted.add(clip.asset.src)
    return wanted


def _with_focus(edit: Edit, sources: dict[str, Source]) -> dict[str, Source]:
    """``sources`` with the subject found in each picture that ``focus: "auto"`` needs: analysed
    here, at the edge, so the compiler gets it as data."""
    for src in _auto_focus_sources(edit):
        source = sources[src]
        if source.info is not None and source.focus is None:
            sources[src] = replace(source, focus=find_focus(source.path, source.info))
    return sources


def _font_files(edit: Edit, sources: Mapping[str, Source]) -> list[Path]:
    return [sources[f].path for f in edit.timeline.fonts if f in sources]


Transcribe = Callable[[Edit], Edit]
"""Turns an edit's ``transcribe`` captions into cues with word times (see
:func:`reelforge.media.transcribe.transcribe_edit`): run before compiling, like probing."""


def _untranscribed(edit: Edit) -> list[Problem]:
    return [
        Problem(
            pointer("timeline", "tracks", t, "clips", c, "asset", "transcribe"),
            "this caption needs its speech transcribed first, which this way of rendering does not do "
            "(the CLI and the service do; a library caller passes `transcribe=`)",
            "transcription",
        )
        for t, track in enumerate(edit.timeline.tracks)
        for c, clip in enumerate(track.clips)
        if isinstance(clip.asset, CaptionAsset) and clip.asset.transcribe is not None
    ]


def plan_edit(
    edit: Edit,
    *,
    resolver: SourceResolver,
    out_dir: Path,
    work_dir: Path,
    name: str | None = None,
    safe_zones: Mapping[str, SafeZone] | None = None,
    segmenting: SegmentPolicy | None = None,
    transcribe: Transcribe | None = None,
    mix_window: tuple[int, int] | None = None,
) -> RenderPlan:
    """Resolve and probe every source once, then compile: everything short of making files and
    running FFmpeg. The plan carries the probed sources, so :func:`render_plan` needs no more.
    ``safe_zones``: a brand kit's, for ``safe_area`` clips (default: the platform defaults).

    A plan that would open many inputs is also planned as sequential segments (bounded
    memory; see :mod:`reelforge.render.segments`) when ``segmenting`` (default: the
    ``REELFORGE_RENDER_SEGMENT_*`` settings) allows it. ``mix_window`` compiles one time range of
    the mix alone (see :func:`~reelforge.render.compile.compile_edit`). ``transcribe`` resolves captions made
    from speech before anything else (without it such captions are refused)."""
    if transcribe is not None:
        edit = transcribe(edit)
    untranscribed = _untranscribed(edit)
    if untranscribed:
        raise EditError(untranscribed)
    sources = resolve_sources(edit, resolver)
    # An unknown font or a character no font has is refused now, not drawn as empty boxes.
    font_problems = text_problems(edit, sources)
    if font_problems:
        raise EditError(font_problems)
    plan = compile_edit(
        edit,
        sources,
        out_dir=out_dir,
        work_dir=work_dir,
        name=name,
        safe_zones=safe_zones,
        mix_window=mix_window,
    )
    if mix_window is not None:
        return plan  # one range of a mix (an audio chunk): one run
    if segmenting is None:
        segmenting = SegmentPolicy.configured()
    if one_pass_reason(plan, segmenting) is None:
        try:
            plan = replace(plan, segmented=segment_plan(plan, segmenting, safe_zones=safe_zones))
        except EditError as exc:
            # The edit is valid (it compiled in one pass): a segment the compiler refuses is
            # a limit of segmenting, so render the edit as it is, in one run.
            log.warning("rendering in one pass: a segment did not compile: %s", exc)
    return plan


def _captions_fonts(
    asset: CaptionAsset, base_dir: Path | None, extra: list[Path], fonts_dir: Path
) -> tuple[str, Path, tuple[FontFace, ...]]:
    """Put the caption's font chain where libass looks (``fontsdir``); return the family name
    and file of its font, and the chain."""
    style = asset.style
    chain = font_chain(style.font, style.fallback, weight=style.weight, base_dir=base_dir, extra_fonts=extra)
    fonts_dir.mkdir(parents=True, exist_ok=True)
    for face in chain:
        target = fonts_dir / face.path.name
        if not target.exists():
            try:  # a CJK collection is tens of megabytes: link it rather than copy it
                target.symlink_to(face.path.resolve())
            except OSError:
                shutil.copyfile(face.path, target)
    return chain[0].family or style.font, chain[0].path, chain


def make_artifacts(plan: RenderPlan, *, base_dir: Path | None) -> None:
    """Make every file the graph reads: text and shapes as PNG, captions as ASS, copies."""
    sources = plan.sources
    problems: list[Problem] = []
    extra = _font_files(plan.edit, sources)
    fonts_dir = plan.graph_path.parent / "fonts"
    fonts_dir.mkdir(parents=True, exist_ok=True)
    font_files = {src: str(s.path) for src, s in sources.items() if src.lower().endswith(FONT_SUFFIXES)}
    for artifact in plan.artifacts:
        artifact.path.parent.mkdir(parents=True, exist_ok=True)
        asset = artifact.data.get("asset")
        if asset is not None and asset.type in ("text", "caption") and asset.style.font in font_files:
            style = asset.style.model_copy(update={"font": font_files[asset.style.font]})
            artifact = replace(
                artifact, data={**artifact.data, "asset": asset.model_copy(update={"style": style})}
            )
        try:
            _make(artifact, base_dir, extra, fonts_dir)
        except FontNotFoundError as exc:
            problems.append(Problem(artifact.pointer + "/asset/style/font", str(exc), "font"))
        except CaptionFileError as exc:
            problems.append(Problem(artifact.pointer + "/asset/src", str(exc), "file"))
        except ValueError as exc:  # text or shape too large to draw
            problems.append(Problem(artifact.pointer, str(exc), "too_large"))
    if problems:
        raise EditError(problems)


def _make(artifact: Artifact, base_dir: Path | None, extra: list[Path], fonts_dir: Path) -> None:
    from .shapes import render_shape
    from .text import render_text, scaled

    data: Mapping[str, Any] = artifact.data
    if artifact.kind in ("text", "typewriter"):
        asset: TextAsset = data["asset"]
        asset = scaled(asset, data.get("scale", 1))
        if artifact.kind == "text":
            image = render_text(asset, data["canvas"], base_dir=base_dir, extra_fonts=extra)
        else:
            image = _typewriter_frames(asset, data["canvas"], data["steps"] + 1, base_dir, extra)
        image.save(artifact.path)
    elif artifact.kind == "shape":
        render_shape(data["asset"], data["box"], data["canvas_height"]).save(artifact.path)
    elif artifact.kind == "captions":
        caption: CaptionAsset = data["asset"]
        placed = load_placed_cues(Path(data["src_path"])) if data["src_path"] else []
        cues = [cue for cue, _ in placed] if placed else list(caption.cues or [])
        family, font_file, chain = _captions_fonts(caption, base_dir, extra, fonts_dir)
        text = build_ass(
            cues,
            caption.style,
            canvas=data["canvas"],
            offset=data["start"],
            length=data["length"],
            fps=data["fps"],
            font_family=family,
            font_file=font_file,
            placements=[at for _, at in placed] if placed else None,
            chain=chain,
        )
        artifact.path.write_text(text, encoding="utf-8")
    elif artifact.kind == "copy":
        shutil.copyfile(data["from"], artifact.path)


def _typewriter_frames(
    asset: TextAsset, canvas: tuple[int, int], frames: int, base_dir: Path | None, extra: list[Path]
) -> Image.Image:
    """The typing strip with exactly ``frames`` frames, as the compiled graph expects."""
    from PIL import Image

    from .text import render_typewriter_strip

    strip, made = render_typewriter_strip(
        asset, canvas, max_frames=frames, base_dir=base_dir, extra_fonts=extra
    )
    if made == frames:
        return strip
    w, h = strip.width, strip.height // made
    if w * h * frames > 200_000_000:
        raise ValueError("the text is too large for the typewriter animation; shorten it or use `fade`")
    out = Image.new("RGBA", (w, h * frames), (0, 0, 0, 0))
    for j in range(frames):
        k = round(j * (made - 1) / (frames - 1))
        out.paste(strip.crop((0, k * h, w, (k + 1) * h)), (0, j * h))
    return out


def _write_sidecars(plan: RenderPlan) -> None:
    by_pointer = {}
    for t, track in enumerate(plan.edit.timeline.tracks):
        for c, clip in enumerate(track.clips):
            by_pointer[pointer("timeline", "tracks", t, "clips", c)] = clip
    for path, ptr, start, length, fps in plan.sidecar_cues:
        asset = by_pointer[ptr].asset
        assert isinstance(asset, CaptionAsset)
        cues = load_cues(plan.sources[asset.src].path) if asset.src is not None else list(asset.cues or [])
        writer = write_srt if path.suffix == ".srt" else write_vtt
        writer(cues, path, offset=start, fps=fps, length=length)


_LABEL = re.compile(r"\bc(\d+)_(\d+)_o\d+_")


def _clip_from_log(log: tuple[str, ...] | list[str], plan: RenderPlan) -> str | None:
    """Map a filter label or an input number in FFmpeg's log back to the clip that made it."""
    for line in reversed(log):
        if m := _LABEL.search(line):
            return pointer("timeline", "tracks", int(m[1]), "clips", int(m[2]))
    return None


@contextmanager
def _work_dir(work_dir: Path | None) -> Iterator[Path]:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        yield work_dir
        return
    with tempfile.TemporaryDirectory(prefix="reelforge-") as tmp:
        yield Path(tmp)


def render_plan(
    plan: RenderPlan,
    *,
    base_dir: str | Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
    timeout: float | None = None,
    stderr_lines: Callable[[str], None] | None = None,
    segment_runner: SegmentRunner | None = None,
) -> RenderResult:
    """Run a plan from :func:`plan_edit`: make its artifacts, run FFmpeg, check the outputs.

    A segmented plan's segments are rendered by ``segment_runner`` (default: one after the
    other, here; :mod:`reelforge.jobs.chunks` hands them to any worker instead).

    Nothing is resolved, probed or compiled again here: the plan carries its sources, and an
    edit with a loudness target is measured first, the measurement replacing the one chain of
    the graph it changes. Font families resolve relative to ``base_dir`` (default: the
    current directory). Raises :class:`EditError` when an artifact cannot be made,
    :class:`RenderError` when FFmpeg fails, and
    :class:`~reelforge.ffmpeg.runner.RenderCancelled` when cancelled; a failed or cancelled
    render leaves no partial output behind. ``stderr_lines`` hears every line FFmpeg writes to
    stderr (the loudness measurements' runs too).
    """
    started = time.monotonic()
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    plan.work_dir.mkdir(parents=True, exist_ok=True)
    # A segmented render measures its own audio run's mix (the same mix) instead.
    if plan.loudness_passes and plan.segmented is None:
        plan = _with_loudness(plan, cancel=cancel, timeout=timeout, stderr_lines=stderr_lines)
    if plan.segmented is not None:
        _run_segmented(
            plan,
            plan.segmented,
            base,
            on_progress,
            cancel,
            timeout,
            stderr_lines,
            segment_runner or run_segments_here,
        )
    else:
        make_artifacts(plan, base_dir=base)
        _run(plan, on_progress=on_progress, cancel=cancel, timeout=timeout, stderr_lines=stderr_lines)
    try:
        _write_sidecars(plan)
    except (OSError, CaptionFileError) as exc:
        raise RenderError(f"could not write subtitle files: {exc}", code="sidecar_failed") from None
    results = []
    for planned in plan.outputs:
        try:
            info = probe_cache(planned.path)
        except MediaProbeError as exc:
            raise RenderError(
                f"FFmpeg finished but {planned.path.name} is unusable: {exc.reason}", code="output_invalid"
            ) from None
        results.append(OutputResult(planned.path, info, planned.poster, planned.thumbnail, planned.sidecars))
    return RenderResult(plan, tuple(results), time.monotonic() - started)


def _deadline(timeout: float | None) -> Callable[[], float | None]:
    """The time left of ``timeout`` at each call (a segmented render runs FFmpeg many times)."""
    ends = None if timeout is None else time.monotonic() + timeout

    def left() -> float | None:
        if ends is None:
            return None
        remaining = ends - time.monotonic()
        if remaining <= 0:
            raise RenderError(f"the render took longer than its {timeout:g} s limit", code="timeout")
        return remaining

    return left


def _run(
    plan: RenderPlan,
    *,
    on_progress: Callable[[Progress], None] | None,
    cancel: CancelToken | None,
    timeout: float | None,
    total: float | None = None,
    stderr_lines: Callable[[str], None] | None = None,
) -> None:
    """One FFmpeg run of ``plan`` (its artifacts made), FFmpeg's failures as :class:`RenderError`."""
    plan.graph_path.parent.mkdir(parents=True, exist_ok=True)
    plan.graph_path.write_text(plan.graph, encoding="utf-8")
    try:
        run_ffmpeg(
            plan.ffmpeg_args(),
            duration=float(plan.duration),
            outputs=plan.output_paths(),
            on_progress=on_progress,
            cancel=cancel,
            timeout=timeout,
            stderr_lines=stderr_lines,
        )
    except RenderTimeout as exc:
        limit = total if total is not None else timeout
        raise RenderError(
            f"the render took longer than its {limit or 0:g} s limit",
            code="timeout",
            log_tail=tuple(exc.log_tail),
        ) from None
    except FFmpegError as exc:
        raise RenderError(
            "FFmpeg could not render the edit",
            pointer=_clip_from_log(exc.log_tail, plan),
            log_tail=tuple(exc.log_tail),
        ) from None


class SegmentRunner(Protocol):
    def __call__(
        self,
        segmented: SegmentedRender,
        *,
        base_dir: Path,
        on_progress: Callable[[float], None],
        cancel: CancelToken | None,
        time_left: Callable[[], float | None],
        stderr_lines: Callable[[str], None] | None,
        meanwhile: Callable[[], None],
    ) -> None:
        """Make every segment's files (the output paths of each segment's plan) and every audio
        range's file, reporting the frames made so far (of all segments); raise
        :class:`RenderError` naming the clip in the full edit when one fails. Call ``meanwhile``
        (the audio mix: the join of the ranges, or the whole chained mix when there are none)
        once, after the last audio range and while the segments render where they can."""
        ...


def render_segment(
    plan: RenderPlan,
    *,
    base_dir: Path,
    pointers: Mapping[str, str],
    on_progress: Callable[[Progress], None] | None,
    cancel: CancelToken | None,
    timeout: float | None,
    total: float | None = None,
    stderr_lines: Callable[[str], None] | None = None,
) -> None:
    """One segment's picture run (its plan compiled by :func:`plan_edit` or
    :func:`~reelforge.render.segments.segment_plan`); a failure names the clip by its pointer
    in the full edit (``pointers``)."""
    plan.work_dir.mkdir(parents=True, exist_ok=True)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    make_artifacts(plan, base_dir=base_dir)
    try:
        _run(
            plan,
            on_progress=on_progress,
            cancel=cancel,
            timeout=timeout,
            total=total,
            stderr_lines=stderr_lines,
        )
    except RenderError as exc:
        where = pointers.get(exc.pointer or "", exc.pointer)
        raise RenderError(exc.message, code=exc.code, pointer=where, log_tail=exc.log_tail) from None


def run_segments_here(
    segmented: SegmentedRender,
    *,
    base_dir: Path,
    on_progress: Callable[[float], None],
    cancel: CancelToken | None,
    time_left: Callable[[], float | None],
    stderr_lines: Callable[[str], None] | None,
    meanwhile: Callable[[], None],
) -> None:
    """The audio ranges and the segments one after the other in this process, ``meanwhile``
    between them (the :class:`SegmentRunner` of a render that is not chunked)."""
    for audio_range in segmented.audio_ranges:
        render_segment(
            audio_range.plan,
            base_dir=base_dir,
            pointers=audio_range.pointers,
            on_progress=None,
            cancel=cancel,
            timeout=time_left(),
            stderr_lines=stderr_lines,
        )
    meanwhile()
    done = 0
    for segment in segmented.segments:

        def forward(p: Progress, before: int = done, frames: int = segment.frames) -> None:
            on_progress(before + p.fraction * frames)

        render_segment(
            segment.plan,
            base_dir=base_dir,
            pointers=segment.pointers,
            on_progress=forward,
            cancel=cancel,
            timeout=time_left(),
            stderr_lines=stderr_lines,
        )
        done += segment.frames


def _run_segmented(
    plan: RenderPlan,
    segmented: SegmentedRender,
    base: Path,
    on_progress: Callable[[Progress], None] | None,
    cancel: CancelToken | None,
    timeout: float | None,
    stderr_lines: Callable[[str], None] | None,
    runner: SegmentRunner,
) -> None:
    """The audio mix (a chain of runs), each segment's picture, then each output joined by
    stream copy.

    Each run holds only its own inputs, so memory stays that of the largest segment. A
    failure removes what the runs wrote (the joins' outputs included)."""
    started = time.monotonic()
    left = _deadline(timeout)
    total = sum(s.frames for s in segmented.segments)

    def scaled(frames_done: float) -> None:
        if on_progress is None:
            return
        fraction = min(1.0, frames_done / total)
        elapsed = time.monotonic() - started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        seconds = float(frames_done / segmented.fps)
        on_progress(Progress(fraction, int(frames_done), 0.0, None, seconds, eta))

    audio_runs = [part.plan for part in segmented.audio_parts] + [r.plan for r in segmented.audio_ranges]
    for run in [*audio_runs, segmented.audio, *(s.plan for s in segmented.segments)]:
        if run is not None:
            run.work_dir.mkdir(parents=True, exist_ok=True)
            run.out_dir.mkdir(parents=True, exist_ok=True)

    def mix() -> None:
        # The chained mix: each run adds its clips to the sum the previous one wrote, which is
        # then no longer needed (a 10-minute sum is 220 MiB).
        for k, part in enumerate(segmented.audio_parts):
            make_artifacts(part.plan, base_dir=base)
            _run(
                part.plan,
                on_progress=None,
                cancel=cancel,
                timeout=left(),
                total=timeout,
                stderr_lines=stderr_lines,
            )
            if k > 0:
                segmented.audio_parts[k - 1].path.unlink(missing_ok=True)
        if segmented.audio_ranges:
            assert segmented.audio_sum is not None
            join_ranges(
                [r.path for r in segmented.audio_ranges],
                segmented.audio_sum,
                cancel=cancel,
                timeout=left(),
                stderr_lines=stderr_lines,
            )
            for r in segmented.audio_ranges:
                r.path.unlink(missing_ok=True)
        if segmented.audio is None:
            return
        audio = segmented.audio
        if audio.loudness_passes:
            audio = _with_loudness(audio, cancel=cancel, timeout=left(), stderr_lines=stderr_lines)
        make_artifacts(audio, base_dir=base)
        _run(audio, on_progress=None, cancel=cancel, timeout=left(), total=timeout, stderr_lines=stderr_lines)
        for part in segmented.audio_parts[-1:]:
            part.path.unlink(missing_ok=True)
        if segmented.audio_sum is not None:
            segmented.audio_sum.unlink(missing_ok=True)

    try:
        runner(
            segmented,
            base_dir=base,
            on_progress=scaled,
            cancel=cancel,
            time_left=left,
            stderr_lines=stderr_lines,
            meanwhile=mix,
        )
        for join in segmented.joins:
            join.list_path.write_text(join.list_text(), encoding="utf-8")
            args = list(join.args)
            args[-1:-1] = _colour_of(join.segment_files[0])
            try:
                run_ffmpeg(
                    args,
                    duration=float(plan.duration),
                    outputs=[join.path],
                    cancel=cancel,
                    timeout=left(),
                    stderr_lines=stderr_lines,
                )
            except RenderTimeout as exc:
                raise RenderError(
                    f"the render took longer than its {timeout or 0:g} s limit",
                    code="timeout",
                    log_tail=tuple(exc.log_tail),
                ) from None
            except FFmpegError as exc:
                raise RenderError(
                    f"FFmpeg could not join the segments of {join.path.name}", log_tail=tuple(exc.log_tail)
                ) from None
        for join in segmented.joins:
            check_joined(join.path, frames=total, fps=segmented.fps, audio=join.audio_file is not None)
    except BaseException:
        for join in segmented.joins:
            join.path.unlink(missing_ok=True)
        raise
    finally:
        # The segment files are intermediate: only the joined outputs stay.
        for segment in segmented.segments:
            for o in segment.plan.outputs:
                o.path.unlink(missing_ok=True)
        for part in segmented.audio_parts:
            part.path.unlink(missing_ok=True)
        for r in segmented.audio_ranges:
            r.path.unlink(missing_ok=True)
        if segmented.audio_sum is not None:
            segmented.audio_sum.unlink(missing_ok=True)
        if segmented.audio is not None:
            for o in segmented.audio.outputs:
                o.path.unlink(missing_ok=True)
    if on_progress is not None:
        on_progress(Progress(1.0, total, 0.0, None, float(plan.duration), 0.0))


def join_ranges(
    files: Sequence[Path],
    path: Path,
    *,
    cancel: CancelToken | None = None,
    timeout: float | None = None,
    stderr_lines: Callable[[str], None] | None = None,
) -> None:
    """Concatenate the audio ranges' 32-bit float WAV ``files`` into ``path``, sample for sample
    (FFmpeg's concat demuxer, stream copy: no sample is decoded or changed)."""
    listing = path.with_suffix(".txt")
    listing.write_text("".join(f"file '{_quoted(p)}'\n" for p in files), encoding="utf-8")
    args = [*base_args(), "-f", "concat", "-safe", "0", "-protocol_whitelist", "file", "-i", str(listing)]
    args += ["-map", "0:a", "-c:a", "copy", "-rf64", "auto", str(path)]
    try:
        run_ffmpeg(
            args, duration=0.0, outputs=[path], cancel=cancel, timeout=timeout, stderr_lines=stderr_lines
        )
    except RenderTimeout as exc:
        raise RenderError(
            f"the render took longer than its {timeout or 0:g} s limit",
            code="timeout",
            log_tail=tuple(exc.log_tail),
        ) from None
    except FFmpegError as exc:
        raise RenderError(
            "FFmpeg could not join the audio ranges", code="audio_failed", log_tail=tuple(exc.log_tail)
        ) from None
    finally:
        listing.unlink(missing_ok=True)


def _quoted(path: Path) -> str:
    # The concat list's quoting: inside single quotes, a quote is written '\''.
    return str(path).replace("'", "'\\''")


@dataclass(frozen=True, slots=True)
class JoinedStreams:
    """What the packets of a joined file say (nothing decoded)."""

    video_frames: int
    video_end: float
    """Seconds: the end of the last video frame."""
    audio_end: float | None
    audio_frame: float | None
    """Seconds of the last audio packet (one audio frame: 1024 samples of AAC)."""


def joined_streams(path: Path, *, read_packets: bool = False) -> JoinedStreams:
    """What a joined file holds. MP4 and MOV list every sample with its time in their sample
    tables: the same figures as reading every packet (what players go by), without a pass over
    the file (0.2 s for 5 minutes of 720p). Other containers, or ``read_packets``, are read
    packet by packet."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        if not read_packets and (indexed := _from_sample_tables(container, video, audio)):
            return indexed
        frames, video_end, audio_end, audio_frame = 0, 0.0, None, None
        streams = [video] if audio is None else [video, audio]
        for packet in container.demux(*streams):
            if packet.pts is None or packet.time_base is None:
                continue  # the demuxer's flush packet
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            if packet.stream.index == video.index:
                frames += 1
                video_end = max(video_end, end)
            else:
                audio_end = end if audio_end is None else max(audio_end, end)
                audio_frame = float((packet.duration or 0) * packet.time_base)
    return JoinedStreams(frames, video_end, audio_end, audio_frame)


def _from_sample_tables(container: Any, video: Any, audio: Any) -> JoinedStreams | None:
    """What a joined MP4 or MOV file's sample tables say; None for other containers (Matroska
    and WebM index only keyframes)."""
    if "mp4" not in container.format.name.split(","):
        return None

    def end(stream: Any) -> float | None:
        if not stream.frames or stream.duration is None or stream.time_base is None:
            return None
        return float(((stream.start_time or 0) + stream.duration) * stream.time_base)

    video_end = end(video)
    if video_end is None:
        return None
    if audio is None:
        return JoinedStreams(video.frames, video_end, None, None)
    audio_end = end(audio)
    frame_size = audio.codec_context.frame_size
    if audio_end is None or not frame_size or not audio.codec_context.sample_rate:
        return None
    return JoinedStreams(video.frames, video_end, audio_end, frame_size / audio.codec_context.sample_rate)


def check_joined(path: Path, *, frames: int, fps: Fraction, audio: bool) -> JoinedStreams:
    """Check a joined output: exactly the timeline's ``frames``, and the audio ending with the
    picture, within one audio frame; :class:`RenderError` (``join_invalid``) otherwise."""
    found = joined_streams(path)
    if found.video_frames != frames:
        raise RenderError(
            f"the joined {path.name} has {found.video_frames} frames, the timeline {frames}",
            code="join_invalid",
        )
    if audio:
        if found.audio_end is None or found.audio_frame is None:
            raise RenderError(f"the joined {path.name} has no audio", code="join_invalid")
        offset = abs(found.audio_end - found.video_end)
        # A frame's worth of tolerance (and a tick of the container's clock for rounding).
        if offset > found.audio_frame + 1 / 90000:
            raise RenderError(
                f"the audio of the joined {path.name} ends {offset * 1000:.1f} ms from its picture",
                code="join_invalid",
            )
    return found


def _colour_of(path: Path) -> list[str]:
    """The bitstream filter giving every joined segment the colour description of ``path``."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        return colour_filter(cc.name, cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range)


def _with_loudness(
    plan: RenderPlan,
    *,
    cancel: CancelToken | None,
    timeout: float | None,
    stderr_lines: Callable[[str], None] | None = None,
) -> RenderPlan:
    """Run the plan's loudness measurements and apply them to its audio mix."""
    measured = {}
    for lp in plan.loudness_passes:
        try:
            run_ffmpeg(
                list(lp.args),
                duration=float(plan.duration),
                cancel=cancel,
                timeout=timeout,
                stderr_lines=stderr_lines,
            )
            measured[lp.fps] = parse_loudnorm_json(lp.stats.read_text(encoding="utf-8"))
        except FFmpegError as exc:
            raise RenderError(
                "FFmpeg could not measure the audio mix",
                code="audio_failed",
                log_tail=tuple(exc.log_tail),
            ) from None
        except (OSError, ValueError) as exc:
            raise RenderError(f"the loudness measurement failed: {exc}", code="audio_failed") from None
    return apply_loudness(plan, measured)


def render_edit(
    edit: Edit,
    *,
    out_dir: str | Path,
    base_dir: str | Path | None = None,
    resolver: SourceResolver | None = None,
    name: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
    timeout: float | None = None,
    work_dir: Path | None = None,
    segmenting: SegmentPolicy | None = None,
    transcribe: Transcribe | None = None,
) -> RenderResult:
    """Render every output of ``edit`` into ``out_dir`` with one FFmpeg run (or, for a long
    timeline of many clips, as sequential segments: see ``segmenting`` of :func:`plan_edit`).

    :func:`plan_edit` then :func:`render_plan`, for library users. Sources resolve relative to
    ``base_dir`` (default: the current directory) unless a ``resolver`` is given. Raises
    :class:`EditError` before anything runs when the edit or its media has problems,
    :class:`RenderError` when FFmpeg fails, and
    :class:`~reelforge.ffmpeg.runner.RenderCancelled` when cancelled; a failed or cancelled
    render leaves no partial output behind.
    """
    started = time.monotonic()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    resolver = resolver or LocalResolver(base)
    with _work_dir(work_dir) as work:
        plan = plan_edit(
            edit,
            resolver=resolver,
            out_dir=out.resolve(),
            work_dir=work,
            name=name,
            segmenting=segmenting,
            transcribe=transcribe,
        )
        result = render_plan(plan, base_dir=base, on_progress=on_progress, cancel=cancel, timeout=timeout)
    return replace(result, elapsed=time.monotonic() - started)
