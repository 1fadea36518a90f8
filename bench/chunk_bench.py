"""One long video across workers: a chunked render on 2 worker processes against one pass.

Renders the same edit (default: a 5-minute 1280x720 30 fps timeline of 60 chained clips from
10 generated sources, every fifth crossfading in, over music) through the service, twice in
the same run:

* **unchunked**: one ``reelforge serve`` process with one render worker, chunking off
  (``REELFORGE_RENDER_CHUNK_MIN_SECONDS=0``): the render runs as one FFmpeg pass (or as the
  sequential segments the memory policy picks), as before chunking existed;
* **chunked**: two ``reelforge serve`` processes, one render worker each, on the same database
  and storage, chunking on: the render's chunks are taken by both processes.

For each it reports the wall time (from POST to ``succeeded``) and the CPU time of the server
processes and every FFmpeg they ran, and the chunked/unchunked ratios. It then checks the two
files against each other (frame counts, decoded audio, SSIM and PSNR of every frame and of the
frames on both sides of every chunk join).

Then a **simulation** from the measured per-task times: a picture chunk costs
``a + b * seconds`` (fitted to the chunks of this run); an audio range (an exact sample range of
the whole mix, mixed by any worker) costs ``ra + rc * start`` (fitted to the ranges of this
run: a range mixes every clip sounding in it from the clip's own start, so a clip that began
long before it, like music under the whole timeline, costs more the later the range); the
parent's part of the mix (joining the ranges, the loudness pass, encoding once) costs what it
cost here, per second of video, and runs on the parent's worker as soon as the last range is in,
while the other workers render chunks; what only the parent does before and after (planning,
queueing, the join, the check, storing the output: the render's own time, from created to
finished, minus its chunk phase) is serial, per second of video. Tasks go to ``N`` workers in
the queue's order (the ranges first, then the chunks; the next free worker takes the next; the
parent takes only ranges until it has run the mix's last pass). It prints the speed-up
over one worker for N = 1..64 for ``--simulate-minutes`` of video (default 10) and where it
stops reaching ``0.8 x N``.

    .venv/bin/python bench/chunk_bench.py              # the 5-minute edit (tens of minutes on 2 cores)
    .venv/bin/python bench/chunk_bench.py --quick      # 40 s of 8 clips at 640x360
    .venv/bin/python bench/chunk_bench.py --chunk-seconds 15 --simulate-minutes 30

Inputs are FFmpeg test sources (nothing is downloaded), made once under ``--cache-dir``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import re
import shutil
import statistics
import sys
import time
from datetime import datetime
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from api_procs import Server, proc_cpu_seconds, start_reelforge  # noqa: E402
from segment_bench import audio_md5, compare, ffmpeg_binary, frame_count, make_edit, make_sources  # noqa: E402

_CHUNK_TIMES = re.compile(r"render chunks took \[([^\]]*)\]")
_RANGE_TIMES = re.compile(r"render audio ranges took \[([^\]]*)\]")
_CHUNK_PHASES = re.compile(r"render chunk phases: mix ([0-9.]+) s, chunks ([0-9.]+) s")


def server_cpu(servers: list[Server]) -> float:
    """CPU seconds of the servers and of the FFmpeg runs they waited for."""
    return sum(proc_cpu_seconds(s.pid) + proc_cpu_seconds(s.pid, children=True) for s in servers)


def render(server: Server, edit: dict[str, Any], servers: list[Server], timeout: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
        cpu0, wall0 = server_cpu(servers), time.monotonic()
        r = client.post("/v1/renders", json={"edit": edit})
        r.raise_for_status()
        render_id = r.json()["id"]
        deadline = wall0 + timeout
        while True:
            body = client.get(f"/v1/renders/{render_id}").json()
            if body["state"] in ("succeeded", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"render {render_id} still {body['state']} after {timeout:.0f} s")
            time.sleep(0.25)
        wall = time.monotonic() - wall0
        cpu = server_cpu(servers) - cpu0
        if body["state"] != "succeeded":
            raise SystemExit(f"render {render_id} {body['state']}: {body['error']}")
        out = next(o for o in body["outputs"] if o["role"] == "output")
        content = client.get(out["content_url"], follow_redirects=True)
        content.raise_for_status()
    # The service's own time, created to finished: the wall above also holds the request and
    # up to one polling interval, which are the client's, not the render's.
    own = (
        datetime.fromisoformat(body["finished_at"]) - datetime.fromisoformat(body["created_at"])
    ).total_seconds()
    return {"id": render_id, "wall": wall, "own": own, "cpu": cpu, "bytes": content.content}


def upload_sources(server: Server, files: list[Path]) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {server.token}"}
    ids = {}
    with httpx.Client(base_url=server.base, headers=headers, timeout=300) as client:
        for path in files:
            with path.open("rb") as fh:
                r = client.post("/v1/assets", files={"file": (path.name, fh)})
            r.raise_for_status()
            ids[path.name] = r.json()["id"]
    return ids


def with_asset_ids(edit: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(edit)
    for name, asset_id in ids.items():
        text = text.replace(json.dumps(name), json.dumps(asset_id))
    return dict(json.loads(text))


def chunk_seams(edit_path: Path, chunk_seconds: float, fps: int) -> list[int]:
    """Where the chunks start (frames), as the service cuts them."""
    from reelforge.edit.timeline import resolve_timeline
    from reelforge.edit.validate import parse_edit
    from reelforge.render.segments import SegmentPolicy, segment_bounds
    from reelforge.settings import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    edit = parse_edit(json.loads(edit_path.read_text()))
    timeline = resolve_timeline(edit, Fraction(fps))
    policy = SegmentPolicy(1, settings.render_segment_clips or 1_000_000, chunk_seconds, split_clips=True)
    return segment_bounds(timeline, policy)[1:-1]


# ------------------------------------------------------------------ the simulation


def makespan(range_costs: list[float], chunk_costs: list[float], workers: int, mix: float) -> float:
    """The tasks in the queue's order (the audio ranges, then the picture chunks), each taken by
    the next free worker; worker 0 is the parent: it takes audio ranges only, and once none is
    left to take it waits for the last one to end and runs the mix's last pass (``mix`` seconds)
    before it takes picture chunks. The end of the last chunk or of the mix, whichever is
    later."""
    free = [(0.0, w) for w in range(workers)]
    heapq.heapify(free)
    tasks = [(True, c) for c in range_costs] + [(False, c) for c in chunk_costs]
    ranges_end = end = 0.0
    mixed = False
    i = 0
    while i < len(tasks):
        at, worker = heapq.heappop(free)
        if worker == 0 and not mixed and i >= len(range_costs):
            # The parent takes no picture chunk before its mix: it waits for the last range.
            start = max(at, ranges_end)
            mixed = True
            end = max(end, start + mix)
            heapq.heappush(free, (start + mix, 0))
            continue
        is_range, cost = tasks[i]
        i += 1
        if is_range:
            ranges_end = max(ranges_end, at + cost)
        end = max(end, at + cost)
        heapq.heappush(free, (at + cost, worker))
    if not mixed:
        parent_free = next(at for at, worker in free if worker == 0)
        end = max(end, max(parent_free, ranges_end) + mix)
    return end


def fit(lengths: list[float], times: list[float]) -> tuple[float, float]:
    """``time = a + b * seconds`` by least squares (a >= 0); ``a = 0`` when lengths do not vary."""
    if len(set(lengths)) < 2:
        return 0.0, statistics.fmean(times) / statistics.fmean(lengths)
    slope, intercept = statistics.linear_regression(lengths, times)
    if intercept < 0:
        return 0.0, sum(times) / sum(lengths)
    return intercept, slope


def fit_ranges(starts: list[float], times: list[float]) -> tuple[float, float]:
    """``time = ra + rc * start`` by least squares, ``rc >= 0`` and ``ra >= 0`` (a range costs
    the same wherever it is when the times do not grow with the start)."""
    mean = statistics.fmean(times)
    if len(set(starts)) < 2:
        return mean, 0.0
    slope, intercept = statistics.linear_regression(starts, times)
    if slope < 0:
        return mean, 0.0
    if intercept < 0:
        return 0.0, sum(times) / sum(starts)
    return intercept, slope


def simulate(
    a: float,
    b: float,
    range_model: tuple[float, float],
    serial_per_second: float,
    mix_per_second: float,
    minutes: float,
    chunk_seconds: float,
    max_workers: int,
    *,
    range_seconds: float,
) -> list[tuple[int, float, float]]:
    """(workers, seconds, speed-up over one worker) for 1..max_workers; audio ranges of
    ``range_seconds``, each costing ``range_model[0] + range_model[1] * its start (s)``."""
    total = minutes * 60
    count = math.ceil(total / chunk_seconds)
    lengths = [chunk_seconds] * (count - 1) + [total - chunk_seconds * (count - 1)]
    costs = [a + b * s for s in lengths]
    ra, rc = range_model
    range_costs = [ra + rc * k * range_seconds for k in range(math.ceil(total / range_seconds))]
    serial, mix = serial_per_second * total, mix_per_second * total
    one = serial + makespan(range_costs, costs, 1, mix)
    curve = []
    for n in range(1, max_workers + 1):
        t = serial + makespan(range_costs, costs, n, mix)
        curve.append((n, t, one / t))
    return curve


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--quality", default="medium")
    parser.add_argument("--chunk-seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=1, help="alternating rounds (default 1)")
    parser.add_argument("--quick", action="store_true", help="40 s of 8 clips at 640x360")
    parser.add_argument("--simulate-minutes", type=float, default=10.0)
    parser.add_argument("--max-workers", type=int, default=64)
    parser.add_argument("--cache-dir", type=Path, default=HERE / ".cache" / "chunks")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.seconds, args.sources, args.size, args.chunk_seconds = 8, 40.0, 4, "640x360", 10.0
    w, h = (int(x) for x in args.size.split("x"))
    work: Path = args.cache_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    ffmpeg = ffmpeg_binary()
    files = make_sources(ffmpeg, work, args.sources, (w, h), max(12.0, args.seconds / args.clips + 2))
    edit_path = make_edit(work, files, args.clips, args.seconds, (w, h), args.quality)
    seams = chunk_seams(edit_path, args.chunk_seconds, 30)

    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    timeout = max(3600.0, args.seconds * 30)
    chunking = {
        "REELFORGE_RENDER_CHUNK_MIN_SECONDS": str(min(args.seconds, 2 * args.chunk_seconds)),
        "REELFORGE_RENDER_CHUNK_SECONDS": str(args.chunk_seconds),
    }
    # The reference is one FFmpeg pass (not the sequential segments the memory policy would pick).
    off = {"REELFORGE_RENDER_CHUNK_MIN_SECONDS": "0", "REELFORGE_RENDER_SEGMENT_INPUTS": "0"}
    first = start_reelforge(data, workers=1, extra_env=off, log_name="unchunked-0.log")
    token = first.token
    try:
        ids = upload_sources(first, files)
    finally:
        first.stop()
    edit = with_asset_ids(json.loads(edit_path.read_text()), ids)

    results: dict[str, list[dict[str, Any]]] = {"unchunked": [], "chunked": []}
    chunk_times: list[float] = []
    range_times: list[float] = []
    mix_seconds = chunks_wall = 0.0
    outputs: dict[str, Path] = {}
    for run in range(args.runs):
        for mode in ("unchunked", "chunked") if run % 2 == 0 else ("chunked", "unchunked"):
            env = off if mode == "unchunked" else chunking
            count = 1 if mode == "unchunked" else 2
            servers = [
                start_reelforge(data, workers=1, extra_env=env, token=token, log_name=f"{mode}-{run}-{i}.log")
                for i in range(count)
            ]
            try:
                measured = render(servers[0], edit, servers, timeout)
            finally:
                for server in servers:
                    server.stop()
            path = work / f"{mode}.mp4"
            path.write_bytes(measured.pop("bytes"))
            outputs[mode] = path
            results[mode].append(measured)
            print(
                f"{mode:10} run {run}: wall {measured['wall']:.1f} s, CPU {measured['cpu']:.1f} s", flush=True
            )
            if mode == "chunked":
                log_text = servers[0].log.read_text(errors="replace")
                found = _CHUNK_TIMES.findall(log_text)
                if not found:
                    raise SystemExit("the chunked render was not chunked (no chunk times in the log)")
                chunk_times = [float(x) for x in found[-1].split(",")]
                found = _RANGE_TIMES.findall(log_text)
                if not found:
                    raise SystemExit("the chunked render mixed no audio ranges (no range times in the log)")
                range_times = [float(x) for x in found[-1].split(",")]
                phases = _CHUNK_PHASES.findall(log_text)
                if not phases:
                    raise SystemExit("the chunked render logged no chunk phases")
                mix_seconds, chunks_wall = (float(x) for x in phases[-1])

    wall = {m: statistics.median(r["wall"] for r in rs) for m, rs in results.items()}
    cpu = {m: statistics.median(r["cpu"] for r in rs) for m, rs in results.items()}
    print(
        f"\nchunked / unchunked: wall {wall['chunked'] / wall['unchunked']:.2f}, CPU {cpu['chunked'] / cpu['unchunked']:.2f}"
    )

    frames = {m: frame_count(ffmpeg, p) for m, p in outputs.items()}
    audio = {m: audio_md5(ffmpeg, p) for m, p in outputs.items()}
    ssim, psnr = compare(ffmpeg, outputs["chunked"], outputs["unchunked"])
    at_seams = [min(ssim[f - 1], ssim[f]) for f in seams if 0 < f < len(ssim)]
    finite = [p for p in psnr if math.isfinite(p)]
    print(f"frames: chunked {frames['chunked']}, unchunked {frames['unchunked']}")
    print(
        f"audio samples: chunked {audio['chunked'][1]}, unchunked {audio['unchunked'][1]}, same PCM: {audio['chunked'][0] == audio['unchunked'][0]}"
    )
    print(
        f"SSIM: mean {statistics.fmean(ssim):.4f}, min {min(ssim):.4f}, at the {len(at_seams)} joins min {min(at_seams, default=1):.4f}"
    )
    print(
        f"PSNR: mean of finite {statistics.fmean(finite) if finite else float('inf'):.1f} dB, min {min(psnr):.1f} dB"
    )

    # The cost model: chunk times against their lengths; the mix as measured; the rest of the
    # chunked wall time outside its chunk phase is what only the parent does (plan, queue,
    # join, check, store), per second of video.
    bounds = [0, *seams, round(args.seconds * 30)]
    lengths = [(e - s) / 30 for s, e in pairwise(bounds)]
    if len(lengths) != len(chunk_times):
        lengths = [args.seconds / len(chunk_times)] * len(chunk_times)
    a, b = fit(lengths, chunk_times)
    range_length = args.chunk_seconds if len(range_times) > 1 else args.seconds
    starts = [k * range_length for k in range(len(range_times))]
    # The last range may be shorter: fit the full-length ones (all of them if that leaves one).
    full = [
        (s, t) for s, t in zip(starts, range_times, strict=True) if s + range_length <= args.seconds + 1e-6
    ]
    if len(full) < 2:
        full = list(zip(starts, range_times, strict=True))
    ra, rc = fit_ranges([s for s, _ in full], [t for _, t in full])
    own = statistics.median(r["own"] for r in results["chunked"])
    serial_per_second = max(0.0, own - chunks_wall) / args.seconds
    mix_per_second = mix_seconds / args.seconds
    print(f"\nchunks: {len(chunk_times)}, times {[round(t, 1) for t in chunk_times]} s")
    print(
        f"audio ranges: {len(range_times)} of {range_length:g} s, times {[round(t, 1) for t in range_times]} s"
    )
    print(
        f"chunk phase {chunks_wall:.1f} s of the render's {own:.1f} s (created to finished; "
        f"{wall['chunked']:.1f} s from POST to seeing it finished); the mix's last pass {mix_seconds:.1f} s"
    )
    print(
        f"cost model: chunk = {a:.2f} s + {b:.3f} s per second of video; audio range = {ra:.2f} s + "
        f"{rc:.4f} s per second of its start; the mix's last pass {mix_per_second:.4f} s per second "
        f"(the parent's worker only); parent-only work before and after the chunks "
        f"{serial_per_second:.3f} s per second"
    )
    # Chunks are as long as cuts allow within the limit: simulate chunks of the length measured.
    chunk_length = min(args.chunk_seconds, args.seconds / len(chunk_times))
    # Ranges are as long as in this run (the chunks' limit), each costing what the fit says.
    curve = simulate(
        a,
        b,
        (ra, rc),
        serial_per_second,
        mix_per_second,
        args.simulate_minutes,
        chunk_length,
        args.max_workers,
        range_seconds=range_length,
    )
    flat = next((n for n, _, s in curve if s < 0.8 * n), None)
    print(
        f"\nsimulated {args.simulate_minutes:g} minutes in chunks of {chunk_length:.1f} s and audio ranges "
        f"of {range_length:g} s:"
    )
    print("workers  seconds  speed-up  efficiency")
    for n, t, s in curve:
        if n in (1, 2, 4, 8, 12, 16, 20, 24, 30, 32, 48, 64) or n == flat:
            print(f"{n:7d}  {t:7.1f}  {s:8.2f}  {s / n:10.2f}")
    print(f"speed-up below 0.8 x N from {flat} workers" if flat else "speed-up >= 0.8 x N up to the last N")
    (work / "results.json").write_text(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "ratios": {
                    "wall": wall["chunked"] / wall["unchunked"],
                    "cpu": cpu["chunked"] / cpu["unchunked"],
                },
                "frames": frames,
                "ssim_at_joins": at_seams,
                "ssim_mean": statistics.fmean(ssim),
                "psnr_min": min(psnr),
                "chunk_times": chunk_times,
                "range_times": range_times,
                "model": {
                    "a": a,
                    "b": b,
                    "range_a": ra,
                    "range_per_start_second": rc,
                    "serial_per_second": serial_per_second,
                    "last_mix_pass_per_second": mix_per_second,
                    "chunk_seconds": chunk_length,
                    "range_seconds": range_length,
                },
                "curve": curve,
                "flattens_at": flat,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
