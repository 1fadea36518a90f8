"""Reelforge's render benchmark: Reelforge against a hand-written FFmpeg command (and MoviePy).

Usage: ``.venv/bin/python bench/render_bench.py [--runs N] [--quick] [--moviepy]``

Every figure that matters is a ratio against a reference measured in the same run, on the
same machine, alternately (A B A B ...), so the results say how much Reelforge costs compared
with doing the same work by hand, not how fast this machine is. See ``bench/README.md``.

Sections:

1. ``reference``: one 28 s 1080p edit (three clips, two crossfades, logo, title, captions,
   music), rendered by ``reelforge render`` and by one hand-written FFmpeg command.
2. ``aspect``: the edit in ``aspect/edit.json`` (the same video in 16:9, 1:1 and 9:16) from one
   Reelforge render, against the hand-written FFmpeg command in
   ``aspect/ffmpeg-three-outputs.sh`` writing all three, and three hand-written processes.
3. ``loudness``: the reference edit with Reelforge's default loudness normalisation, against
   the same render without it.
4. ``moviepy``: the same edit in MoviePy 2 (optional; one run).
5. ``compile``: ``compile_edit`` on a 500-clip timeline, in-process.

The table is printed at the end and written as JSON to ``bench/.cache/results.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench_commands import Canvas, Look, aspect_canvases, hand_command, reelforge_edit
from bench_compile import time_compile
from bench_measure import CommandFailed, Sample, median, run_measured, run_sequence, tree_rss_works
from bench_media import FULL, QUICK, Media, Scale, make_media
from reelforge.ffmpeg.binary import FFMPEG_ENV, ffmpeg_exe
from reelforge.ffmpeg.probe import MediaProbeError, probe

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".cache"
SECTIONS = ("reference", "aspect", "loudness", "moviepy", "compile")
ASPECT_EDIT = HERE / "aspect" / "edit.json"
ASPECT_COMMAND = HERE / "aspect" / "ffmpeg-three-outputs.sh"
TITLE = "Reelforge"
COMPILE_TARGET = 0.5  # seconds for the 500-clip timeline
REFERENCE_TARGET = 1.05
ASPECT_TARGET = 1.02
LOUDNESS_TARGET = 1.15


# ---------------------------------------------------------------------------------- results


@dataclass
class Row:
    section: str
    measure: str
    value: float | None = None
    unit: str = ""
    ratio: float | None = None
    target: float | None = None
    """A ratio the row should stay at or under."""
    note: str = ""
    graded: bool = True
    """False when the target does not apply to this run (render ratios in a quick run)."""

    @property
    def verdict(self) -> str:
        if self.ratio is None or self.target is None:
            return ""
        if not self.graded:
            return "n/a"
        return "ok" if self.ratio <= self.target else "OVER"


@dataclass
class Report:
    meta: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.rows.append(Row(*args, **kwargs))

    def table(self) -> str:
        header = ("section", "measure", "value", "ratio", "target", "", "note")
        lines = []
        for r in self.rows:
            value = "" if r.value is None else f"{r.value:.3f} {r.unit}".rstrip()
            ratio = "" if r.ratio is None else f"{r.ratio:.3f}"
            target = "" if r.target is None else f"<= {r.target:g}"
            lines.append((r.section, r.measure, value, ratio, target, r.verdict, r.note))
        widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
        fmt = "  ".join(f"{{:{'>' if i in (2, 3) else '<'}{w}}}" for i, w in enumerate(widths))
        out = [fmt.format(*header).rstrip(), "  ".join("-" * w for w in widths)]
        out += [fmt.format(*line).rstrip() for line in lines]
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "rows": [{**asdict(r), "verdict": r.verdict} for r in self.rows],
            "raw": self.raw,
        }


# ---------------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(message, flush=True)


def reelforge_cli() -> list[str]:
    """The ``reelforge`` console script next to this Python, else ``python -m reelforge``."""
    script = Path(sys.executable).with_name("reelforge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reelforge"]


def font_file() -> str:
    """DejaVu Sans's file, as fontconfig finds it (Reelforge's default text font)."""
    fc = shutil.which("fc-match")
    if fc is None:
        sys.exit("fc-match (fontconfig) is needed to find DejaVu Sans for the hand-written drawtext")
    path = subprocess.run(
        [fc, "-f", "%{file}", "DejaVu Sans"], check=True, capture_output=True, text=True
    ).stdout
    if not path or not Path(path).exists():
        sys.exit("fontconfig found no file for 'DejaVu Sans'; install fonts-dejavu")
    return path


def source_version() -> str:
    """The commit of the Reelforge tree being measured, ``+dirty`` when ``src/`` has changes."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    root = HERE.parent
    head = subprocess.run(
        [git, "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        return "unknown"
    dirty = subprocess.run(
        [git, "-C", str(root), "status", "--porcelain", "--", "src"], capture_output=True, text=True
    ).stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def ffmpeg_version(ffmpeg: str) -> str:
    first = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.splitlines()
    return first[0] if first else "unknown"


def describe(path: Path) -> dict[str, Any]:
    """What an output holds, for the equivalence check."""
    try:
        info = probe(path)
    except MediaProbeError as exc:
        return {"path": str(path), "error": exc.reason}
    return {
        "path": str(path),
        "width": info.width,
        "height": info.height,
        "duration": float(info.duration) if info.duration is not None else None,
        "fps": float(info.fps) if info.fps else None,
        "audio": info.has_audio,
        "audio_channels": info.audio_channels,
        "bytes": info.size_bytes,
    }


def check_outputs(label: str, paths: Sequence[Path], canvases: Sequence[Canvas], duration: float) -> bool:
    """Print what each output holds; whether each has the expected size, length and sound."""
    ok = True
    for path, canvas in zip(paths, canvases, strict=True):
        d = describe(path)
        good = (
            (d.get("width"), d.get("height")) == (canvas.width, canvas.height)
            and d.get("audio") is True
            and d.get("duration") is not None
            and abs(d["duration"] - duration) < 0.1
        )
        ok &= good
        shown = (
            f"{d.get('width')}x{d.get('height')}, {d.get('duration')} s, fps {d.get('fps')}, "
            f"audio {d.get('audio_channels')} ch, {d.get('bytes', 0) / 1e6:.1f} MB"
        )
        log(f"  {label:<24} {path.name:<18} {shown}{'' if good else '   <-- NOT AS EXPECTED'}")
    return ok


def psnr(ffmpeg: str, a: Path, b: Path) -> float | None:
    """Average PSNR (dB) of ``b``'s picture against ``a``'s: both sides draw the same thing."""
    proc = subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-nostdin",
            "-i",
            str(a),
            "-i",
            str(b),
            "-lavfi",
            "[0:v][1:v]psnr",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
    )
    found = re.findall(r"PSNR .*average:([0-9.]+|inf)", proc.stderr)
    return float(found[-1]) if found else None


def clear(paths: Sequence[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


@dataclass
class Contender:
    name: str
    run: Callable[[], Sample]
    outputs: list[Path]
    samples: list[Sample] = field(default_factory=list)

    @property
    def walls(self) -> list[float]:
        return [s.wall for s in self.samples]

    @property
    def cpus(self) -> list[float]:
        return [s.cpu for s in self.samples]

    @property
    def peak_mib(self) -> float:
        """The largest peak of the whole process tree over the rounds (see ``Sample.peak_mib``)."""
        return max(s.peak_mib for s in self.samples)

    @property
    def foreign(self) -> float | None:
        """The largest share of the machine other processes used during a timed run."""
        shares = [s.foreign for s in self.samples if s.foreign is not None]
        return max(shares) if shares else None


def alternate(contenders: Sequence[Contender], runs: int, retry_busy: int = 0) -> None:
    """One untimed warm-up round, then ``runs`` timed rounds, each running every contender in turn.

    A timed round in which another process used more than ``BUSY`` of the machine during any
    run is run again, up to ``retry_busy`` times; the last attempt is kept either way."""
    for rnd in range(runs + 1):
        timed = rnd > 0
        for attempt in range(retry_busy + 1 if timed else 1):
            samples = []
            for c in contenders:
                clear(c.outputs)
                sample = c.run()
                samples.append(sample)
                log_sample("round " + str(rnd) if timed else "warm-up", c.name, sample)
            worst = max((s.foreign or 0.0) for s in samples)
            if not timed or worst <= BUSY or attempt == retry_busy:
                break
            log(f"  round {rnd} was disturbed ({100 * worst:.0f} % other load): running it again")
        if timed:
            for c, sample in zip(contenders, samples, strict=True):
                c.samples.append(sample)


def log_sample(when: str, name: str, sample: Sample) -> None:
    other = "" if sample.foreign is None else f"  other load {100 * sample.foreign:3.0f} %"
    log(
        f"  {when:<8} {name:<34} {sample.wall:8.2f} s wall {sample.cpu:8.2f} s cpu "
        f"{sample.peak_mib:6.0f} MiB tree ({sample.max_rss_mib:.0f} largest process){other}"
    )


def round_ratios(a: Contender, b: Contender, *, cpu: bool = False) -> list[float]:
    xs, ys = (a.cpus, b.cpus) if cpu else (a.walls, b.walls)
    return [x / y for x, y in zip(xs, ys, strict=True)]


BUSY = 0.10
"""Other processes using more than this share of the machine make wall times unreliable."""


def load_row(report: Report, section: str, contenders: Sequence[Contender]) -> None:
    shares = [c.foreign for c in contenders if c.foreign is not None]
    if not shares:
        return
    worst = max(shares)
    note = "machine busy: wall ratios unreliable, trust the cpu ratios" if worst > BUSY else "quiet machine"
    report.add(section, "other load during timed runs (worst run)", 100 * worst, "%", note=note)


def rounds_note(ratios: Sequence[float]) -> str:
    return f"min {min(ratios):.3f}; rounds: " + ", ".join(f"{r:.3f}" for r in ratios)


# ---------------------------------------------------------------------------------- sections


@dataclass
class Setup:
    ffmpeg: str
    env: dict[str, str]
    media: Media
    look: Look
    out: Path
    runs: int
    quick: bool
    retry_busy: int


def write_edit(setup: Setup, name: str, canvases: tuple[Canvas, ...]) -> Path:
    path = setup.media.dir / f"{name}.json"
    path.write_text(
        json.dumps(reelforge_edit(setup.media, setup.look, canvases), indent=2) + "\n", encoding="utf-8"
    )
    return path


def section_reference(setup: Setup, report: Report) -> Contender:
    s = setup.media.scale
    canvas = Canvas("wide-16x9", s.width, s.height)
    edit = write_edit(setup, "edit-reference", (canvas,))
    rf_dir, hand_dir = setup.out / "reelforge-reference", setup.out / "ffmpeg-reference"
    hand = hand_command(setup.ffmpeg, setup.media, setup.look, (canvas,), hand_dir)
    for d in (rf_dir, hand_dir):
        d.mkdir(parents=True, exist_ok=True)
    (setup.out / "ffmpeg-reference.txt").write_text(" \\\n  ".join(hand) + "\n", encoding="utf-8")
    rf_cmd = [*reelforge_cli(), "render", str(edit), "-o", str(rf_dir), "-q"]
    validate_cmd = [*reelforge_cli(), "validate", str(edit)]
    rf = Contender(
        "reelforge render", lambda: run_measured(rf_cmd, env=setup.env), [rf_dir / "wide-16x9.mp4"]
    )
    ff = Contender(
        "hand-written ffmpeg", lambda: run_measured(hand, env=setup.env), [hand_dir / "wide-16x9.mp4"]
    )
    va = Contender("reelforge validate (no render)", lambda: run_measured(validate_cmd, env=setup.env), [])
    log(f"\n== reference: one {s.width}x{s.height} output, {s.total} s, {setup.runs} rounds after a warm-up")
    alternate([rf, ff, va], setup.runs, setup.retry_busy)
    same = check_outputs("reelforge", rf.outputs, [canvas], s.total)
    same &= check_outputs("hand-written ffmpeg", ff.outputs, [canvas], s.total)
    quality = psnr(setup.ffmpeg, ff.outputs[0], rf.outputs[0])
    ratios, cpu_ratios = round_ratios(rf, ff), round_ratios(rf, ff, cpu=True)
    sec = "reference"
    report.add(sec, "reelforge render: median wall", median(rf.walls), "s")
    report.add(sec, "hand-written ffmpeg: median wall", median(ff.walls), "s")
    report.add(
        sec,
        "reelforge / ffmpeg wall (median of rounds)",
        ratio=median(ratios),
        target=REFERENCE_TARGET,
        note=rounds_note(ratios),
        graded=not setup.quick,
    )
    report.add(sec, "reelforge render: median cpu (user+sys)", median(rf.cpus), "s")
    report.add(sec, "hand-written ffmpeg: median cpu (user+sys)", median(ff.cpus), "s")
    report.add(
        sec,
        "reelforge / ffmpeg cpu (median of rounds)",
        ratio=median(cpu_ratios),
        target=REFERENCE_TARGET,
        note=rounds_note(cpu_ratios),
        graded=not setup.quick,
    )
    report.add(sec, "reelforge render: peak RSS", rf.peak_mib, "MiB", note="CLI + FFmpeg process tree")
    report.add(sec, "hand-written ffmpeg: peak RSS", ff.peak_mib, "MiB")
    report.add(sec, "reelforge / ffmpeg peak RSS", ratio=rf.peak_mib / ff.peak_mib)
    report.add(
        sec,
        "reelforge validate (startup, probe, compile)",
        median(va.walls),
        "s",
        ratio=median(va.walls) / median(ff.walls),
        note="ratio: share of the ffmpeg wall time",
    )
    load_row(report, sec, [rf, ff, va])
    report.add(
        sec, "outputs equivalent (size, length, audio)", note="yes" if same else "NO: see the log above"
    )
    if quality is not None:
        report.add(
            sec,
            "PSNR reelforge vs ffmpeg picture",
            quality,
            "dB",
            note="same picture; captions/title rasterised differently",
        )
    report.raw["reference"] = {
        "reelforge": [asdict(x) for x in rf.samples],
        "ffmpeg": [asdict(x) for x in ff.samples],
        "validate": [asdict(x) for x in va.samples],
        "ratios": ratios,
        "cpu_ratios": cpu_ratios,
        "outputs": [describe(p) for p in (*rf.outputs, *ff.outputs)],
        "ffmpeg_command": hand,
    }
    return rf


def aspect_edit(scale: Scale) -> dict[str, Any]:
    """``aspect/edit.json``, with its clip lengths and output size set to ``scale``'s (the
    file is the full-size edit; a quick run plays shorter clips at a smaller size)."""
    edit: dict[str, Any] = json.loads(ASPECT_EDIT.read_text(encoding="utf-8"))
    for clip in edit["timeline"]["tracks"][0]["clips"]:
        clip["length"] = scale.clip_length
    for output in edit["outputs"]:
        output["resolution"] = f"{scale.height}p"
        output["fps"] = scale.fps
    return edit


def aspect_hand_command(setup: Setup, out_dir: Path) -> list[str]:
    """The hand-written three-output command for ``setup``'s media, as the script runs it."""
    bash = shutil.which("bash")
    if bash is None:
        sys.exit("bash is needed to run the hand-written aspect/ffmpeg-three-outputs.sh")
    return [bash, str(ASPECT_COMMAND), setup.ffmpeg, str(setup.media.dir), str(out_dir)]


def reelforge_ffmpeg_command(setup: Setup, edit: Path, out_dir: Path, work_dir: Path) -> list[str]:
    """The FFmpeg command Reelforge runs for ``edit``, with the files its graph reads (text,
    captions) made in ``work_dir``: Reelforge's filter graph without its start-up, probing,
    compiling and drawing, to tell the graph's cost from the fixed costs around it."""
    from reelforge.edit.validate import parse_edit
    from reelforge.render.engine import make_artifacts, plan_edit
    from reelforge.render.sources import LocalResolver

    doc = parse_edit(json.loads(edit.read_text(encoding="utf-8")))
    base = edit.parent
    plan = plan_edit(doc, resolver=LocalResolver(base, [base]), out_dir=out_dir, work_dir=work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    make_artifacts(plan, base_dir=base)
    return [setup.ffmpeg, *plan.ffmpeg_args(inline_graph=True)]


def section_aspect(setup: Setup, report: Report, reference: Contender | None) -> None:
    s = setup.media.scale
    canvases = aspect_canvases(s.width, s.height)
    edit = setup.media.dir / "edit-aspect.json"
    edit.write_text(json.dumps(aspect_edit(s), indent=2) + "\n", encoding="utf-8")
    rf_dir, graph_dir, one_dir, three_dir = (
        setup.out / n
        for n in ("reelforge-aspect", "reelforge-aspect-graph", "ffmpeg-aspect-1proc", "ffmpeg-aspect-3proc")
    )
    for d in (rf_dir, graph_dir, one_dir, three_dir):
        d.mkdir(parents=True, exist_ok=True)
    graph_only = reelforge_ffmpeg_command(setup, edit, graph_dir, setup.out / "reelforge-aspect-work")
    one = aspect_hand_command(setup, one_dir)
    script_env = {
        **setup.env,
        "SHORT_SIDE": str(s.height),
        "CLIP_SECONDS": str(s.clip_length),
        "FONT_FILE": setup.look.font_file,
    }
    three = [hand_command(setup.ffmpeg, setup.media, setup.look, (c,), three_dir) for c in canvases]
    rf_cmd = [*reelforge_cli(), "render", str(edit), "-o", str(rf_dir), "-q"]

    def files(d: Path) -> list[Path]:
        return [d / f"{c.name}.mp4" for c in canvases]

    rf = Contender("reelforge render (3 outputs)", lambda: run_measured(rf_cmd, env=setup.env), files(rf_dir))
    rg = Contender(
        "reelforge's ffmpeg command alone", lambda: run_measured(graph_only, env=setup.env), files(graph_dir)
    )
    ff1 = Contender("ffmpeg, one process", lambda: run_measured(one, env=script_env), files(one_dir))
    ff3 = Contender("ffmpeg, three processes", lambda: run_sequence(three, env=setup.env), files(three_dir))
    log(f"\n== aspect: 16:9, 1:1 and 9:16 at {s.height}p, {setup.runs} rounds after a warm-up")
    alternate([rf, rg, ff1, ff3], setup.runs, setup.retry_busy)
    same = check_outputs("reelforge", rf.outputs, canvases, s.total)
    same &= check_outputs("ffmpeg, one process", ff1.outputs, canvases, s.total)
    same &= check_outputs("ffmpeg, three processes", ff3.outputs, canvases, s.total)
    quality = [psnr(setup.ffmpeg, a, b) for a, b in zip(ff1.outputs, rf.outputs, strict=True)]
    sec = "aspect"
    r1, r3 = round_ratios(rf, ff1), round_ratios(rf, ff3)
    c1, c3 = round_ratios(rf, ff1, cpu=True), round_ratios(rf, ff3, cpu=True)
    report.add(sec, "reelforge render, 3 outputs: median wall", median(rf.walls), "s")
    report.add(sec, "ffmpeg one process, 3 outputs: median wall", median(ff1.walls), "s")
    report.add(sec, "ffmpeg three processes: median total wall", median(ff3.walls), "s")
    report.add(
        sec,
        "reelforge / ffmpeg one process wall",
        ratio=median(r1),
        target=ASPECT_TARGET,
        note=rounds_note(r1),
        graded=not setup.quick,
    )
    report.add(sec, "reelforge / ffmpeg three processes wall", ratio=median(r3), note=rounds_note(r3))
    report.add(sec, "reelforge render, 3 outputs: median cpu", median(rf.cpus), "s")
    report.add(sec, "ffmpeg one process: median cpu", median(ff1.cpus), "s")
    report.add(sec, "ffmpeg three processes: median cpu", median(ff3.cpus), "s")
    report.add(
        sec,
        "reelforge / ffmpeg one process cpu",
        ratio=median(c1),
        target=ASPECT_TARGET,
        note=rounds_note(c1),
        graded=not setup.quick,
    )
    report.add(sec, "reelforge / ffmpeg three processes cpu", ratio=median(c3), note=rounds_note(c3))
    cg = round_ratios(rg, ff1, cpu=True)
    report.add(
        sec,
        "reelforge's ffmpeg command alone / ffmpeg one process cpu",
        ratio=median(cg),
        note="the graph's cost without start-up, probing and drawing; " + rounds_note(cg),
    )
    if reference is not None:
        report.add(
            sec,
            "reelforge 3 outputs / reelforge 1 output wall",
            ratio=median(rf.walls) / median(reference.walls),
            note="what the two extra shapes cost",
        )
    report.add(sec, "reelforge render: peak RSS", rf.peak_mib, "MiB")
    report.add(sec, "ffmpeg one process: peak RSS", ff1.peak_mib, "MiB")
    report.add(sec, "ffmpeg three processes: peak RSS", ff3.peak_mib, "MiB", note="largest of the three")
    report.add(sec, "reelforge / ffmpeg one process peak RSS", ratio=rf.peak_mib / ff1.peak_mib)
    load_row(report, sec, [rf, ff1, ff3])
    report.add(
        sec, "outputs equivalent (size, length, audio)", note="yes" if same else "NO: see the log above"
    )
    for canvas, q in zip(canvases, quality, strict=True):
        if q is not None:
            report.add(
                sec,
                f"PSNR reelforge vs ffmpeg one process, {canvas.name}",
                q,
                "dB",
                note="same picture; title and captions drawn differently",
            )
    report.raw["aspect"] = {
        "reelforge": [asdict(x) for x in rf.samples],
        "reelforge_ffmpeg_alone": [asdict(x) for x in rg.samples],
        "ffmpeg_one": [asdict(x) for x in ff1.samples],
        "ffmpeg_three": [asdict(x) for x in ff3.samples],
        "ratios_one": r1,
        "ratios_three": r3,
        "cpu_ratios_one": c1,
        "cpu_ratios_three": c3,
        "outputs": [describe(p) for p in (*rf.outputs, *ff1.outputs, *ff3.outputs)],
    }


def section_loudness(setup: Setup, report: Report) -> None:
    """Reelforge's default loudness normalisation (an audio-only measuring pass, then one gain
    in the render) against the same render without it."""
    s = setup.media.scale
    canvas = Canvas("wide-16x9", s.width, s.height)
    base = reelforge_edit(setup.media, setup.look, (canvas,))
    normalised = {**base, "audio": {"ducking": None}}  # the default loudness target
    edits = []
    for name, doc in (("edit-loudness", normalised), ("edit-no-loudness", base)):
        path = setup.media.dir / f"{name}.json"
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        edits.append(path)
    dirs = [setup.out / "reelforge-loudness", setup.out / "reelforge-no-loudness"]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    cmds = [
        [*reelforge_cli(), "render", str(e), "-o", str(d), "-q"] for e, d in zip(edits, dirs, strict=True)
    ]
    with_pass = Contender(
        "reelforge, default loudness",
        lambda: run_measured(cmds[0], env=setup.env),
        [dirs[0] / "wide-16x9.mp4"],
    )
    without = Contender(
        "reelforge, no loudness", lambda: run_measured(cmds[1], env=setup.env), [dirs[1] / "wide-16x9.mp4"]
    )
    log(f"\n== loudness: one {s.width}x{s.height} output with and without normalisation, {setup.runs} rounds")
    alternate([with_pass, without], setup.runs, setup.retry_busy)
    sec = "loudness"
    walls, cpus = round_ratios(with_pass, without), round_ratios(with_pass, without, cpu=True)
    report.add(sec, "reelforge with loudness: median cpu", median(with_pass.cpus), "s")
    report.add(sec, "reelforge without loudness: median cpu", median(without.cpus), "s")
    report.add(
        sec,
        "with / without loudness cpu",
        ratio=median(cpus),
        target=LOUDNESS_TARGET,
        note=rounds_note(cpus),
        graded=not setup.quick,
    )
    report.add(sec, "with / without loudness wall", ratio=median(walls), note=rounds_note(walls))
    report.add(sec, "with / without loudness peak RSS", ratio=with_pass.peak_mib / without.peak_mib)
    load_row(report, sec, [with_pass, without])
    report.raw["loudness"] = {
        "with": [asdict(x) for x in with_pass.samples],
        "without": [asdict(x) for x in without.samples],
        "ratios": walls,
        "cpu_ratios": cpus,
    }


def section_moviepy(setup: Setup, report: Report, reference: Contender | None, why_skip: str | None) -> None:
    sec = "moviepy"
    if why_skip is not None:
        log(f"\n== moviepy: {why_skip}")
        report.add(sec, "moviepy render", note=why_skip)
        return
    s, look, media = setup.media.scale, setup.look, setup.media
    out_dir = setup.out / "moviepy"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "wide-16x9.mp4"
    spec = {
        "clips": [str(p) for p in media.clips],
        "clip_length": s.clip_length,
        "transition": s.transition,
        "total": s.total,
        "width": s.width,
        "height": s.height,
        "fps": s.fps,
        "saturation": 1.2,
        "logo": str(media.logo),
        "logo_size": list(media.logo_size),
        "logo_opacity": 0.8,
        "margin_x": round(look.margin_x * s.width),
        "margin_y": round(look.margin_y * s.height),
        "title": look.title,
        "font_file": look.font_file,
        "title_size": round(look.title_size * s.height),
        "title_length": 3,
        "title_fade": 0.5,
        "captions": str(media.captions),
        "caption_size": round(0.055 * s.height),
        "caption_margin": 0.08,
        "music": str(media.music),
        "music_db": -12,
        "music_fade_out": 2,
        "preset": "veryfast",
        "crf": 23,
        "audio_bitrate": "128k",
        "out": str(out),
    }
    spec_path = out_dir / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    log(f"\n== moviepy: one run, {s.width}x{s.height}, {s.total} s (MoviePy is slow)")
    clear([out])
    try:
        sample = run_measured([sys.executable, str(HERE / "bench_moviepy.py"), str(spec_path)], env=setup.env)
    except CommandFailed as exc:
        log(f"  moviepy failed: {exc}")
        report.add(sec, "moviepy render", note=f"failed (exit {exc.code}); see the log")
        return
    log_sample("run 1", "moviepy", sample)
    canvas = Canvas("wide-16x9", s.width, s.height)
    same = check_outputs("moviepy", [out], [canvas], s.total)
    report.add(sec, "moviepy render: wall (1 run)", sample.wall, "s")
    report.add(sec, "moviepy render: cpu (user+sys)", sample.cpu, "s")
    if sample.foreign is not None:
        report.add(
            sec,
            "other load during the run",
            100 * sample.foreign,
            "%",
            note="machine busy: wall ratio unreliable" if sample.foreign > BUSY else "quiet machine",
        )
    if reference is not None:
        ref = median(reference.walls)
        report.add(
            sec, "moviepy / reelforge wall", ratio=sample.wall / ref, note=f"reelforge median {ref:.2f} s"
        )
        report.add(
            sec,
            "moviepy / reelforge cpu",
            ratio=sample.cpu / median(reference.cpus),
            note=f"reelforge median {median(reference.cpus):.2f} s",
        )
        report.add(sec, "moviepy / reelforge peak RSS", ratio=sample.peak_mib / reference.peak_mib)
    report.add(sec, "moviepy render: peak RSS", sample.peak_mib, "MiB")
    report.add(
        sec, "output as expected (size, length, audio)", note="yes" if same else "NO: see the log above"
    )
    report.raw["moviepy"] = {"sample": asdict(sample), "output": describe(out)}


def section_compile(setup: Setup, report: Report) -> None:
    log("\n== compile: 500-clip timeline, compile_edit in-process, median of 5 after a warm-up")
    result = time_compile(setup.media, runs=5)
    log(f"  compile_edit: {', '.join(f'{t:.3f}' for t in result.compile_runs)} s")
    sec = "compile"
    report.add(
        sec,
        f"compile_edit, {result.clips} clips: median",
        result.compile_median,
        "s",
        ratio=result.compile_median / COMPILE_TARGET,
        target=1.0,
        note=f"ratio to {COMPILE_TARGET} s; {result.inputs} inputs, {result.filters} filters, "
        f"{result.graph_chars / 1e6:.2f} MB graph",
    )
    report.add(
        sec,
        f"compile_edit, {result.clips} clips: median cpu",
        result.compile_cpu_median,
        "s",
        ratio=result.compile_cpu_median / COMPILE_TARGET,
        target=1.0,
        note="the same runs in CPU time",
    )
    report.add(sec, "parse_edit (validation), 500 clips: median", result.parse_median, "s")
    report.raw["compile"] = asdict(result)


# ---------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--runs", type=int, default=None, help="timed rounds per comparison (default 3; 1 with --quick)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK.width}x{QUICK.height}, {QUICK.total} s timeline: about a minute; MoviePy skipped",
    )
    p.add_argument("--moviepy", action="store_true", help="run MoviePy even with --quick")
    p.add_argument("--no-moviepy", action="store_true", help="never run MoviePy")
    p.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    p.add_argument(
        "--retry-busy",
        type=int,
        default=0,
        metavar="N",
        help="run a timed round again (up to N times) when other processes used more than "
        f"{BUSY:.0%} of the machine during it",
    )
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="inputs, outputs and results.json")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scale: Scale = QUICK if args.quick else FULL
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    if runs < 1:
        sys.exit("--runs must be at least 1")
    sections = tuple(args.only) if args.only else SECTIONS
    cache: Path = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    ffmpeg = ffmpeg_exe()
    # Reelforge's CLI and the hand-written commands must run the very same FFmpeg.
    env = {**os.environ, FFMPEG_ENV: ffmpeg}
    started = time.perf_counter()
    tree_rss = tree_rss_works()
    meta = {
        "mode": "quick" if args.quick else "full",
        "runs": runs,
        "scale": asdict(scale),
        "total_seconds": scale.total,
        "ffmpeg": ffmpeg,
        "ffmpeg_version": ffmpeg_version(ffmpeg),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "tree_rss": tree_rss,
        "retry_busy": args.retry_busy,
        "reelforge_commit": source_version(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    log(
        f"reelforge render benchmark ({meta['mode']}): {scale.width}x{scale.height}, {scale.total} s timeline, "
        f"{runs} timed round(s)"
    )
    log(
        f"ffmpeg: {ffmpeg}\n        {meta['ffmpeg_version']}\ncpus: {meta['cpus']}, python {meta['python']}, "
        f"reelforge at {meta['reelforge_commit']}"
    )
    if not tree_rss:
        log(
            "warning: this system does not report grandchildren in wait4; peak RSS covers direct children only"
        )
    log(f"inputs in {cache}")
    media = make_media(ffmpeg, cache, scale)
    setup = Setup(
        ffmpeg,
        env,
        media,
        Look.for_media(media, TITLE, font_file()),
        cache / "out" / scale.label,
        runs,
        args.quick,
        args.retry_busy,
    )
    setup.out.mkdir(parents=True, exist_ok=True)
    report = Report(meta)
    reference: Contender | None = None
    if "reference" in sections:
        reference = section_reference(setup, report)
    if "aspect" in sections:
        section_aspect(setup, report, reference)
    if "loudness" in sections:
        section_loudness(setup, report)
    if "moviepy" in sections:
        why: str | None = None
        if args.no_moviepy:
            why = "skipped (--no-moviepy)"
        elif args.quick and not args.moviepy:
            why = "skipped with --quick (pass --moviepy to run it)"
        elif importlib.util.find_spec("moviepy") is None:
            why = "moviepy not installed, skipped (pip install 'moviepy>=2')"
        section_moviepy(setup, report, reference, why)
    if "compile" in sections:
        section_compile(setup, report)
    meta["elapsed_seconds"] = round(time.perf_counter() - started, 1)
    results = cache / "results.json"
    results.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    log(
        f"\nresults ({meta['mode']}, {runs} round(s), {scale.width}x{scale.height}, {scale.total} s timeline; "
        f"ratios are reelforge / reference unless named otherwise):\n"
    )
    log(report.table())
    if args.quick:
        log(
            "\nquick run: start-up costs weigh far more on a short, small render, so the render targets are only "
            "graded on the full run (n/a)."
        )
    log(f"\nwritten to {results} in {meta['elapsed_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
