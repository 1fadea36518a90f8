"""Peak memory of a long timeline of many clips: segmented render against one pass.

Renders the same edit (default: a 10-minute 1280x720 30 fps timeline of 300 chained clips from
20 generated sources, every fifth crossfading in, over looped music) twice with ``reelforge
render``: as sequential segments (the default policy) and in one FFmpeg run
(``REELFORGE_RENDER_SEGMENT_INPUTS=0``), alternately when ``--runs`` > 1. For each it reports
the process tree's peak RSS (``wait4``: the CLI and every FFmpeg it runs), CPU and wall time,
with the segmented/one-pass ratios. Then it checks the outputs against each other: frame
counts, the decoded audio (MD5 of the PCM) and, from FFmpeg's ``ssim`` and ``psnr`` filters,
the frames on each side of every segment join (boundaries from ``reelforge plan --json``).

    .venv/bin/python bench/segment_bench.py                  # the full edit (several minutes)
    .venv/bin/python bench/segment_bench.py --quick          # 60 s of 30 clips at 640x360
    .venv/bin/python bench/segment_bench.py --clips 500 --seconds 1000

Inputs are FFmpeg test sources (nothing is downloaded), made once under ``--cache-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_measure import Sample, run_measured, tree_rss_works  # noqa: E402

ROOT = HERE.parent
PATTERNS = ("testsrc2", "smptehdbars", "rgbtestsrc", "testsrc", "yuvtestsrc")


def ffmpeg_binary() -> str:
    import imageio_ffmpeg

    return os.environ.get("REELFORGE_FFMPEG") or imageio_ffmpeg.get_ffmpeg_exe()


def make_sources(ffmpeg: str, work: Path, count: int, size: tuple[int, int], seconds: float) -> list[Path]:
    made = []
    w, h = size
    for i in range(count):
        path = work / f"source-{w}x{h}-{i:03d}.mp4"
        if not path.exists():
            pattern = PATTERNS[i % len(PATTERNS)]
            hue = f",hue=h={(i * 37) % 360}"
            tmp = path.with_suffix(".tmp.mp4")
            subprocess.run(
                [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"{pattern}=s={w}x{h}:r=30:d={seconds}",
                 "-f", "lavfi", "-i", f"sine=f={220 + 20 * i}:d={seconds}", "-vf", f"format=yuv420p{hue}",
                 "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "aac", "-shortest", str(tmp)],
                check=True,
            )  # fmt: skip
            tmp.rename(path)
        made.append(path)
    music = work / "music.m4a"
    if not music.exists():
        subprocess.run(
            [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=330:d=60,volume=0.5",
             "-c:a", "aac", str(music)],
            check=True,
        )  # fmt: skip
    return [*made, music]


def make_edit(
    work: Path, files: list[Path], clips: int, seconds: float, size: tuple[int, int], quality: str
) -> Path:
    sources, music = files[:-1], files[-1]
    length = seconds / clips
    transition = min(0.5, length / 4)
    track: list[dict[str, Any]] = []
    for i in range(clips):
        clip: dict[str, Any] = {
            "asset": {
                "type": "video",
                "src": sources[i % len(sources)].name,
                "trim": round((i % 3) * 0.25, 2),
            },
            # Crossfades overlap: a clip that fades in is longer by the fade, so cuts stay on time.
            "length": round(length + (transition if i % 5 == 4 else 0), 4),
        }
        if i % 5 == 4:
            clip["transition"] = {"type": "fade", "duration": transition}
        track.append(clip)
    edit = {
        "timeline": {"tracks": [{"clips": track}], "soundtrack": {"src": music.name, "volume": 0.4}},
        "outputs": [{"width": size[0], "height": size[1], "fps": 30, "quality": quality}],
    }
    path = work / f"edit-{clips}-{int(seconds)}-{size[0]}x{size[1]}-{quality}.json"
    path.write_text(json.dumps(edit))
    return path


def audio_only(doc: dict[str, Any]) -> dict[str, Any]:
    """The edit's sound alone, to an M4A file: each video clip becomes the audio clip it
    contributes, at the frames the timeline gives it (an audio clip has no transition; the
    crossfades placed the clips)."""
    from fractions import Fraction

    from reelforge.edit.timeline import resolve_timeline
    from reelforge.edit.validate import parse_edit

    fps = doc["outputs"][0]["fps"]
    timeline = resolve_timeline(parse_edit(doc), Fraction(fps))
    for placed, track in zip(timeline.tracks, doc["timeline"]["tracks"], strict=True):
        for ct, clip in zip(placed, track["clips"], strict=True):
            clip.pop("transition", None)
            clip["start"], clip["length"] = f"{ct.start}f", f"{ct.length}f"
            clip["asset"]["type"] = "audio"
    doc["outputs"] = [{"format": "m4a", "fps": fps}]
    return doc


def _tree_rss_kib(root: int) -> int:
    """The resident memory of ``root`` and every descendant now, summed (from ``/proc``)."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_sampled(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[Sample, float]:
    """:func:`run_measured`'s figures, plus the peak of the whole tree's memory *summed* (MiB),
    sampled every 20 ms: ``wait4`` gives the largest single process, while the CLI and its
    FFmpeg are resident at the same time."""
    import threading

    peak = [0]
    done = threading.Event()
    holder: dict[str, Sample] = {}

    def render() -> None:
        try:
            holder["sample"] = run_measured(cmd, cwd=cwd, env=env)
        finally:
            done.set()

    before = set(os.listdir("/proc"))
    thread = threading.Thread(target=render)
    thread.start()
    root: int | None = None
    while not done.wait(0.02):
        if root is None:
            # The CLI is this process's newest child.
            children = _tree_children(os.getpid()) - {int(p) for p in before if p.isdigit()}
            root = max(children) if children else None
        if root is not None:
            peak[0] = max(peak[0], _tree_rss_kib(root))
    thread.join()
    return holder["sample"], peak[0] / 1024


def _tree_children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found |= {int(c) for c in f.read().split()}
        except OSError:
            continue
    return found


def boundaries(edit: Path, env: dict[str, str], work: Path) -> list[int]:
    proc = subprocess.run(
        [sys.executable, "-m", "reelforge", "plan", edit.name, "--json", "-o", "out"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    segmented = doc["segmented"]
    if "segments" not in segmented:
        raise SystemExit(f"the edit renders in one pass: {segmented['one_pass']}")
    return [s["start_frame"] for s in segmented["segments"][1:]]


def frame_count(ffmpeg: str, path: Path) -> int:
    out = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy", "-f", "framemd5", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return sum(1 for line in out.splitlines() if line and not line.startswith("#"))


def audio_md5(ffmpeg: str, path: Path) -> tuple[str, int]:
    """MD5 of the decoded audio (float PCM) and its number of samples."""
    raw = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-map", "0:a", "-f", "f32le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    import hashlib

    return hashlib.md5(raw).hexdigest(), len(raw) // 8


def compare(ffmpeg: str, a: Path, b: Path) -> tuple[list[float], list[float]]:
    """Per-frame SSIM (All) and PSNR (average) of ``a`` against ``b``."""
    out = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(a), "-i", str(b), "-lavfi",
         "[0:v]split[a0][a1];[1:v]split[b0][b1];[a0][b0]ssim=stats_file=ssim.log;[a1][b1]psnr=stats_file=psnr.log",
         "-f", "null", "-"],
        cwd=a.parent, capture_output=True, text=True, check=True,
    )  # fmt: skip
    del out
    ssim = [float(m[1]) for m in re.finditer(r"All:([0-9.]+)", (a.parent / "ssim.log").read_text())]
    psnr = [
        float("inf") if m[1] == "inf" else float(m[1])
        for m in re.finditer(r"psnr_avg:([0-9.]+|inf)", (a.parent / "psnr.log").read_text())
    ]
    return ssim, psnr


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--quality", default="medium", help="the output's quality preset (default medium)")
    parser.add_argument("--runs", type=int, default=1, help="alternating rounds (default 1)")
    parser.add_argument("--quick", action="store_true", help="60 s of 30 clips at 640x360")
    parser.add_argument("--cache-dir", type=Path, default=HERE / ".cache" / "segments")
    parser.add_argument(
        "--segmented-only",
        action="store_true",
        help="render only the segmented video; as the reference, mix the edit's audio alone in one "
        "run (what one pass mixes, to an M4A file): compare the memory of the two and the audio",
    )
    parser.add_argument(
        "--compare-only",
        action="store_true",
        help="skip the renders: compare the outputs a previous run left (same options)",
    )
    args = parser.parse_args()
    if args.quick:
        args.clips, args.seconds, args.size = 30, 60, "640x360"
    size = tuple(int(x) for x in args.size.split("x"))
    assert len(size) == 2
    work: Path = args.cache_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    ffmpeg = ffmpeg_binary()
    if not tree_rss_works():
        print(
            "warning: this system does not report a process tree's peak memory; RSS figures are the CLI's own"
        )
    files = make_sources(ffmpeg, work, args.sources, (size[0], size[1]), 4)
    edit = make_edit(work, files, args.clips, args.seconds, (size[0], size[1]), args.quality)
    base_env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    modes = {
        "segmented": {**base_env},
        "one pass": {**base_env, "REELFORGE_RENDER_SEGMENT_INPUTS": "0"},
    }
    if args.segmented_only:
        audio_edit = edit.with_name(edit.stem + "-audio.json")
        audio_edit.write_text(json.dumps(audio_only(json.loads(edit.read_text()))))
        modes = {"segmented": base_env, "one-run audio mix": base_env}
    cuts = boundaries(edit, modes["segmented"], work)
    samples: dict[str, list[Sample]] = {m: [] for m in modes}
    tree_peaks: dict[str, list[float]] = {m: [] for m in modes}
    outputs = {m: work / ("out-" + m.replace(" ", "-")) for m in modes}
    for _ in range(0 if args.compare_only else args.runs):
        for mode, env in modes.items():
            name = audio_edit.name if mode == "one-run audio mix" else edit.name
            cmd = [sys.executable, "-m", "reelforge", "render", name, "-q", "-o", str(outputs[mode])]
            sample, tree_peak = run_sampled(cmd, cwd=work, env=env)
            samples[mode].append(sample)
            tree_peaks[mode].append(tree_peak)
    print(f"edit: {args.clips} clips, {args.seconds:g} s at {args.size}, quality {args.quality}; "
          f"{len(cuts) + 1} segments")  # fmt: skip
    if not args.compare_only:
        report_runs(work, samples, tree_peaks)
    if args.segmented_only:
        joined = outputs["segmented"] / f"{edit.stem}.mp4"
        mixed = outputs["one-run audio mix"] / f"{audio_edit.stem}.m4a"
        sound = (audio_md5(ffmpeg, joined), audio_md5(ffmpeg, mixed))
        print(
            f"audio: {sound[0][1]} samples segmented, {sound[1][1]} mixed in one run; decoded PCM "
            f"{'identical' if sound[0] == sound[1] else 'DIFFERENT'}"
        )
        return
    compare_outputs(ffmpeg, work, edit, outputs, cuts, args)


def report_runs(work: Path, samples: dict[str, list[Sample]], tree_peaks: dict[str, list[float]]) -> None:
    print(f"{'':<18} {'tree peak MiB':>13} {'largest MiB':>11} {'CPU s':>9} {'wall s':>9}")
    med: dict[str, tuple[float, float, float]] = {}
    for mode, runs in samples.items():
        rss = max(tree_peaks[mode])
        largest = max(s.max_rss_mib for s in runs)
        cpu = statistics.median(s.cpu for s in runs)
        wall = statistics.median(s.wall for s in runs)
        med[mode] = (rss, cpu, wall)
        busy = [s.foreign for s in runs if s.foreign is not None]
        note = f"  (other load {max(busy):.0%})" if busy else ""
        print(f"{mode:<18} {rss:13.0f} {largest:11.0f} {cpu:9.1f} {wall:9.1f}{note}")
    reference = "one pass" if "one pass" in med else "one-run audio mix"
    seg, one = med["segmented"], med[reference]
    print(
        f"{'ratio':<18} {seg[0] / one[0]:13.2f} {'':>11} {seg[1] / one[1]:9.2f} {seg[2] / one[2]:9.2f}"
        f"  (segmented / {reference})"
    )
    print("tree peak: the CLI and its FFmpeg summed (sampled every 20 ms); largest: one process (wait4)")
    figures = {
        "tree_peak_rss_mib": {m: v[0] for m, v in med.items()},
        "largest_process_rss_mib": {m: max(s.max_rss_mib for s in runs) for m, runs in samples.items()},
        "cpu_s": {m: v[1] for m, v in med.items()},
        "wall_s": {m: v[2] for m, v in med.items()},
    }
    (work / "runs.json").write_text(json.dumps(figures, indent=2))


def compare_outputs(
    ffmpeg: str, work: Path, edit: Path, outputs: dict[str, Path], cuts: list[int], args: argparse.Namespace
) -> None:
    joined = outputs["segmented"] / f"{edit.stem}.mp4"
    single = outputs["one pass"] / f"{edit.stem}.mp4"
    frames = (frame_count(ffmpeg, joined), frame_count(ffmpeg, single))
    sound = (audio_md5(ffmpeg, joined), audio_md5(ffmpeg, single))
    print(
        f"frames: {frames[0]} segmented, {frames[1]} one pass: {'same' if frames[0] == frames[1] else 'DIFFERENT'}"
    )
    print(
        f"audio: {sound[0][1]} and {sound[1][1]} samples, decoded PCM "
        f"{'identical' if sound[0] == sound[1] else 'DIFFERENT'}"
    )
    ssim, psnr = compare(ffmpeg, joined, single)
    at_joins = sorted({f for c in cuts for f in (c - 1, c) if 0 <= f < len(ssim)})
    finite = [p for p in psnr if p != float("inf")]
    join_psnr = [psnr[f] for f in at_joins if psnr[f] != float("inf")]
    print(
        f"SSIM at the {len(cuts)} joins (frames either side): min {min(ssim[f] for f in at_joins):.4f}, "
        f"mean {statistics.mean(ssim[f] for f in at_joins):.4f}; all frames: mean {statistics.mean(ssim):.4f}"
    )
    if join_psnr and finite:
        print(
            f"PSNR at the joins: min {min(join_psnr):.1f} dB, mean {statistics.mean(join_psnr):.1f} dB; "
            f"all frames: mean {statistics.mean(finite):.1f} dB (identical frames, PSNR inf, left out)"
        )
    result = {
        "clips": args.clips,
        "seconds": args.seconds,
        "size": args.size,
        "quality": args.quality,
        "segments": len(cuts) + 1,
        "frames": frames,
        "audio_identical": sound[0] == sound[1],
        "join_ssim_min": min(ssim[f] for f in at_joins),
        "join_psnr_min": min(join_psnr) if join_psnr else None,
    }
    (work / "results.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
