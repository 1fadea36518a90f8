"""How long Reelforge takes to compile a large edit: 500 clips on four tracks, in-process.

The sources are probed once and handed to ``compile_edit`` as :class:`Source` objects, so only
the compiler is timed (no probing, no file made, no FFmpeg): the median of several runs after
one untimed warm-up, in wall time and in CPU time. Validation (``parse_edit``) is timed
separately.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_measure import median
from bench_media import Media
from reelforge.edit.validate import parse_edit
from reelforge.ffmpeg.probe import probe
from reelforge.render.compile import Source, compile_edit

__all__ = ["CompileResult", "big_edit", "time_compile"]

VIDEO_CLIPS = 200
IMAGE_CLIPS = 150
TEXT_CLIPS = 100
COLOR_CLIPS = 50


@dataclass(frozen=True)
class CompileResult:
    clips: int
    timeline_seconds: float
    compile_median: float
    compile_runs: tuple[float, ...]
    compile_cpu_median: float
    """The same runs measured in this process's CPU time (steadier on a busy machine)."""
    parse_median: float
    inputs: int
    graph_chars: int
    filters: int


def big_edit(media: Media) -> dict[str, Any]:
    """A 500-clip edit: 200 cut-up video clips (a crossfade every 4th, colour on every 3rd),
    150 logo stills, 100 animated titles and 50 translucent colour washes."""
    video_src, logo_src = media.clips[0].name, media.logo.name
    max_trim = media.scale.source_length - 2  # each clip plays 1 s from its trim
    footage = []
    for i in range(VIDEO_CLIPS):
        clip: dict[str, Any] = {
            "asset": {"type": "video", "src": video_src, "trim": (i * 0.25) % max_trim},
            "length": 1,
        }
        if i % 4 == 1:
            clip["transition"] = {
                "type": ("fade", "wipe-left", "slide-up", "circle-open")[i // 4 % 4],
                "duration": 0.25,
            }
        if i % 3 == 0:
            clip["effects"] = {"saturation": 1.2, "contrast": 1.05}
        footage.append(clip)
    anchors = ("top-left", "top-right", "bottom-left", "bottom-right")
    images = [
        {
            "asset": {"type": "image", "src": logo_src},
            "start": round(i * 1.2, 3),
            "length": 0.8,
            "fit": "contain",
            "width": 0.12,
            "anchor": anchors[i % 4],
            "offset": {"x": 0.02 if i % 2 == 0 else -0.02, "y": 0.03},
            "opacity": 0.8,
        }
        for i in range(IMAGE_CLIPS)
    ]
    texts = [
        {
            "asset": {
                "type": "text",
                "text": f"Title number {i}",
                "style": {"size": 0.06},
                "animation_in": {"type": ("fade", "slide-up", "pop")[i % 3], "duration": 0.3},
                "animation_out": {"type": "fade", "duration": 0.3},
            },
            "start": round(i * 1.8, 3),
            "length": 1.5,
            "anchor": "bottom",
            "offset": {"y": -0.1},
        }
        for i in range(TEXT_CLIPS)
    ]
    colors = [
        {
            "asset": {"type": "color", "color": "#1d355740"},
            "start": i * 3.6,
            "length": 2,
            "transition_in": {"type": "fade", "duration": 0.3},
        }
        for i in range(COLOR_CLIPS)
    ]
    return {
        "name": "compile-500",
        "timeline": {"tracks": [{"clips": footage}, {"clips": images}, {"clips": texts}, {"clips": colors}]},
        "outputs": [{"format": "mp4", "resolution": "1080p"}],
    }


def time_compile(media: Media, runs: int = 5) -> CompileResult:
    document = big_edit(media)
    parse_times = []
    for _ in range(runs):
        start = time.perf_counter()
        edit = parse_edit(document)
        parse_times.append(time.perf_counter() - start)
    sources = {}
    for path in (media.clips[0], media.logo):
        info = probe(path)
        sources[path.name] = Source(path.name, path, info, info.duration)
    with tempfile.TemporaryDirectory(prefix="rf-bench-compile-") as tmp:
        work = Path(tmp)
        plan = compile_edit(edit, sources, out_dir=work, work_dir=work)  # warm-up, untimed
        times, cpu_times = [], []
        for _ in range(runs):
            start, cpu_start = time.perf_counter(), time.process_time()
            plan = compile_edit(edit, sources, out_dir=work, work_dir=work)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    clips = sum(len(t.clips) for t in edit.timeline.tracks)
    filters = sum(1 for line in plan.graph.splitlines() for _ in line.split(","))
    return CompileResult(
        clips,
        float(plan.duration),
        median(times),
        tuple(times),
        median(cpu_times),
        median(parse_times),
        len(plan.inputs),
        len(plan.graph),
        filters,
    )
