"""The render plan: what a compiled edit is, as data.

A plan names every FFmpeg input, the one filter graph, every output with its ``-map``s, the
files to make before FFmpeg runs (:class:`Artifact` recipes) and the probed sources it was
compiled from. Invariant: running a plan runs exactly what it prints (``reelforge plan`` shows
:meth:`RenderPlan.ffmpeg_args`), and nothing in it is worked out again when it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from reelforge.edit.models import Edit, Output
from reelforge.edit.timeline import ResolvedTimeline
from reelforge.ffmpeg.binary import render_args
from reelforge.ffmpeg.probe import MAX_PIXELS, MediaInfo

if TYPE_CHECKING:
    from .segments import SegmentedRender

__all__ = [
    "Artifact",
    "ArtifactKind",
    "FocusPoint",
    "LoudnessPass",
    "MixTail",
    "PlannedOutput",
    "RenderPlan",
    "Source",
]


@dataclass(frozen=True, slots=True)
class FocusPoint:
    """Where the subject of a picture is, as fractions of it (0,0 = top-left), and how it was found."""

    x: float
    y: float
    method: Literal["faces", "motion", "contrast", "centre"]


@dataclass(frozen=True, slots=True)
class Source:
    """A clip's ``src`` resolved to a local file and probed."""

    src: str
    path: Path
    info: MediaInfo | None
    """Probe results for media; ``None`` for other files (subtitles, LUTs, fonts)."""
    duration: Fraction | None = None
    """Seconds: how long a clip of it lasts (a video's picture, however long its sound), or a
    subtitle file's last cue end."""
    focus: FocusPoint | None = None
    """The subject found in the picture, for clips with ``focus: "auto"`` (analysed at the edge,
    before compiling)."""


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
class MixTail:
    """The audio mix's last chain, ``[mixed]…[out]``: normalisation and the exact length.

    A loudness measurement changes this chain and nothing else in the graph."""

    chain: int
    """Its index in :attr:`RenderPlan.chains`."""
    mixed: str
    out: str
    samples: int
    sample_rate: int


@dataclass(frozen=True, slots=True)
class LoudnessPass:
    """An audio-only FFmpeg run that measures the mix at ``fps``'s frame grid into ``stats``;
    the measurement then replaces the mix's ``tail`` (see
    :func:`~reelforge.render.compile.apply_loudness`)."""

    fps: Fraction
    args: tuple[str, ...]
    stats: Path
    tail: MixTail


@dataclass(frozen=True)
class RenderPlan:
    """Everything needed to render: printable, and runnable by the engine.

    It carries the resolved and probed sources it was compiled from, so running it (and
    compiling it again with loudness measurements) never resolves or probes a source again.
    """

    edit: Edit
    sources: Mapping[str, Source]
    """Every file the edit names, resolved and probed, by ``src``."""
    name: str
    """The base name of the output files."""
    out_dir: Path
    work_dir: Path
    """Where the graph script and the artifacts go."""
    timelines: Mapping[Fraction, ResolvedTimeline]
    outputs: tuple[PlannedOutput, ...]
    artifacts: tuple[Artifact, ...]
    inputs: tuple[tuple[str, tuple[str, ...]], ...]
    """(path, input options) per ``-i``, in order."""
    chains: tuple[str, ...]
    """The filter graph, one chain per entry (see :attr:`graph`)."""
    maps: tuple[tuple[str, ...], ...]
    """Per output file: its ``-map``s, codec options and path."""
    loudness_passes: tuple[LoudnessPass, ...] = ()
    """Measurements to make first; each then replaces one chain of the graph."""
    sidecar_cues: tuple[tuple[Path, str, Fraction, Fraction, Fraction], ...] = ()
    """(sidecar path, caption clip pointer, clip start s, clip length s, fps) for subtitle files."""
    segmented: SegmentedRender | None = None
    """When set, the engine renders this plan as these sequential segments instead of one
    run (:mod:`reelforge.render.segments`); the one-pass fields still describe the result."""

    @property
    def duration(self) -> Fraction:
        return max(o.duration for o in self.outputs)

    @property
    def graph(self) -> str:
        """The ``-filter_complex`` text."""
        return ";\n".join(self.chains)

    @property
    def graph_path(self) -> Path:
        """The file FFmpeg reads the graph from (see :meth:`ffmpeg_args`)."""
        return self.work_dir / "graph.txt"

    def ffmpeg_args(self, *, inline_graph: bool = False) -> list[str]:
        """FFmpeg's arguments (without the executable). The graph is read from ``graph_path``
        unless ``inline_graph``; a large graph would overflow the command line."""
        args = render_args()  # informational lines too, for the render's log
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
