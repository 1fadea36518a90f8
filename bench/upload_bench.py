"""Reelforge's upload benchmark: a large streaming upload against a plain local file copy.

Usage: ``.venv/bin/python bench/upload_bench.py [--quick] [--size-mb N] [--small-mb N] [--runs N]``

1. Makes a WAV of ``--size-mb`` MiB (default 1024) and one of ``--small-mb`` MiB (default 64)
   with FFmpeg: 16-bit stereo 48 kHz sine tones, real media the service accepts.
2. For each size, starts a fresh ``reelforge serve`` (SQLite, ``REELFORGE_WORKERS=0``, data in
   the work directory, so its storage is on the same filesystem as the copy), uploads a
   tiny WAV to warm it up, then runs ``--runs`` rounds, each alternating:
   * ``copy``: ``shutil.copyfile`` of the file to another file in the same directory;
   * ``sink``: the same upload to ``bench/bare_app.py``'s ``POST /sink``, which reads the body
     and discards it: what uvicorn and Starlette alone cost to receive it;
   * ``new``: the streaming multipart upload with httpx (the file object is streamed, never
     read into memory), timed until the answer arrives: receive, parse, write, sha256, then
     sniff and probe, the move into storage and the database row (the waveform preview is
     made after the answer, off the request);
   * ``duplicate``: the same bytes again, which the service recognises by their sha256 and
     answers with the existing asset: receive, parse, write and hash only;
   * ``sha256``: ``hashlib.file_digest`` of the file in this process, the hashing rate of
     this machine, which bounds the upload (the service hashes what it receives);
   * the asset is deleted so the next round's upload is new again.
   The server's resident memory is sampled every 50 ms (``/proc/<pid>/status``), with and
   without its FFmpeg children, and its ``VmHWM`` read at the end.
3. Times the ingest's later phases from outside on the same file: Reelforge's ``probe`` and
   the waveform preview (``reelforge.media.thumbnails.waveform``).

Caches are warm for every contender: the file was just written, so the copy, the upload and
the hash all read it from the page cache, and nothing is synced to disk by either side.
The table is printed and written as JSON to ``bench/.cache/upload_results.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from api_media import WAV_BYTES_PER_SECOND, make_wav, tiny_wav
from api_procs import (
    CPUS,
    CpuMeter,
    RssSampler,
    Server,
    proc_cpu_seconds,
    proc_status_kib,
    start_bare,
    start_reelforge,
)

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / ".cache" / "upload_results.json"
RATIO_TARGET = 0.7
RSS_GROWTH_LIMIT_MIB = 32.0
"""Peak server memory may differ this much between the small and the large upload and still
count as flat (allocator and interpreter noise; the upload path itself holds a few MiB)."""
MIB = 2**20


@dataclass
class Upload:
    seconds: float
    status: int
    server_cpu: float
    ffmpeg_cpu: float
    """CPU of the FFmpeg processes the server ran and reaped during the upload."""
    client_cpu: float
    peak_rss_kib: int
    peak_tree_rss_kib: int
    foreign_cpu: float | None


@dataclass
class SizeResult:
    size_bytes: int
    copy: list[float] = field(default_factory=list)
    sink: list[float] = field(default_factory=list)
    """The same upload to the bare app's ``POST /sink``, which only reads the body."""
    new: list[Upload] = field(default_factory=list)
    duplicate: list[Upload] = field(default_factory=list)
    sha256: list[float] = field(default_factory=list)
    previews_ready: list[float] = field(default_factory=list)
    """Seconds from the new upload's answer until its previews were made (in the background)."""
    rss_before_kib: int = 0
    hwm_end_kib: int = 0
    probe_seconds: float | None = None
    waveform_seconds: float | None = None


def timed_copy(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    shutil.copyfile(src, dst)
    elapsed = time.perf_counter() - start
    dst.unlink()
    return elapsed


def timed_sha256(path: Path) -> float:
    start = time.perf_counter()
    with path.open("rb") as fh:
        hashlib.file_digest(fh, "sha256")
    return time.perf_counter() - start


def timed_sink(bare: Server, path: Path) -> float:
    with path.open("rb") as fh, httpx.Client(base_url=bare.base, timeout=httpx.Timeout(None)) as client:
        start = time.perf_counter()
        r = client.post("/sink", files={"file": (path.name, fh, "audio/wav")})
        elapsed = time.perf_counter() - start
    r.raise_for_status()
    if r.json()["bytes"] <= path.stat().st_size:
        raise RuntimeError(f"the sink received {r.json()['bytes']} bytes, less than the file")
    return elapsed


def upload(server: Server, client: httpx.Client, path: Path) -> tuple[Upload, dict[str, Any]]:
    """POST the file as multipart, streamed by httpx from the open file; measure around it."""
    pid = server.pid
    with path.open("rb") as fh, RssSampler(pid) as rss, CpuMeter([pid]) as meter:
        ffmpeg_before = proc_cpu_seconds(pid, children=True)
        times = os.times()
        start = time.perf_counter()
        r = client.post("/v1/assets", files={"file": (path.name, fh, "audio/wav")})
        elapsed = time.perf_counter() - start
        after = os.times()
        ffmpeg = proc_cpu_seconds(pid, children=True) - ffmpeg_before
        meter.extra = ffmpeg
    if r.status_code not in (200, 201):
        raise RuntimeError(f"upload of {path.name} answered {r.status_code}: {r.text[:1000]}")
    client_cpu = (after.user + after.system) - (times.user + times.system)
    return Upload(
        round(elapsed, 4),
        r.status_code,
        round(meter.ours[pid], 3),
        round(ffmpeg, 3),
        round(client_cpu, 3),
        rss.peak_kib,
        rss.peak_tree_kib,
        meter.foreign,
    ), r.json()


def wait_for_previews(client: httpx.Client, asset: dict[str, Any], timeout: float = 600) -> float:
    """Poll the asset until its previews are no longer pending; seconds waited."""
    start = time.perf_counter()
    while asset.get("previews") == "pending":
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"the previews of {asset['id']} were still pending after {timeout:.0f} s")
        time.sleep(0.05)
        asset = client.get(f"/v1/assets/{asset['id']}").json()
    return time.perf_counter() - start


def measure_size(path: Path, work: Path, runs: int, bare: Server, log: Any) -> SizeResult:
    size = path.stat().st_size
    result = SizeResult(size)
    data = work / f"serve-{size // MIB}M"
    shutil.rmtree(data, ignore_errors=True)
    server = start_reelforge(data, workers=0)
    try:
        with httpx.Client(
            base_url=server.base,
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=httpx.Timeout(None),
        ) as client:
            upload(server, client, tiny_wav(work / "warmup.wav"))  # loads the upload, probe and preview code
            result.rss_before_kib = proc_status_kib(server.pid, "VmRSS") or 0
            for rnd in range(1, runs + 1):
                result.copy.append(round(timed_copy(path, work / "copy.bin"), 4))
                result.sink.append(round(timed_sink(bare, path), 4))
                new, body = upload(server, client, path)
                if new.status != 201:
                    raise RuntimeError(
                        f"round {rnd}: the upload was not new ({new.status}); was the asset deleted?"
                    )
                result.new.append(new)
                # The waveform is made after the answer; let it finish so the next contenders
                # do not share the CPU with it, and report how long it took.
                result.previews_ready.append(round(wait_for_previews(client, body), 4))
                dup, dup_body = upload(server, client, path)
                if dup.status != 200 or not dup_body.get("deduplicated"):
                    raise RuntimeError(f"round {rnd}: the second upload was not deduplicated: {dup_body}")
                result.duplicate.append(dup)
                result.sha256.append(round(timed_sha256(path), 4))
                r = client.delete(f"/v1/assets/{body['id']}")
                if r.status_code != 204:
                    raise RuntimeError(f"deleting {body['id']}: {r.status_code} {r.text}")
                mb = size / MIB
                log(
                    f"  {mb:.0f} MiB round {rnd}: copy {result.copy[-1]:.2f} s, bare sink {result.sink[-1]:.2f} s, "
                    f"new {new.seconds:.2f} s (previews {result.previews_ready[-1]:.2f} s later), "
                    f"duplicate {dup.seconds:.2f} s, sha256 {result.sha256[-1]:.2f} s, "
                    f"server peak RSS {new.peak_rss_kib / 1024:.0f} MiB, other load {new.foreign_cpu or 0:.2f}"
                )
            result.hwm_end_kib = proc_status_kib(server.pid, "VmHWM") or 0
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
    result.probe_seconds, result.waveform_seconds = time_phases(path, work)
    return result


def time_phases(path: Path, work: Path) -> tuple[float | None, float | None]:
    """The service's probe and waveform preview, run on the same file from this process."""
    from reelforge.ffmpeg.probe import probe
    from reelforge.media.thumbnails import PreviewError, waveform

    start = time.perf_counter()
    probe(path)
    probed = time.perf_counter() - start
    out = work / "waveform.png"
    start = time.perf_counter()
    try:
        waveform(path, out)
        drawn: float | None = time.perf_counter() - start
    except PreviewError:
        drawn = None
    out.unlink(missing_ok=True)
    return round(probed, 4), round(drawn, 4) if drawn is not None else None


# ------------------------------------------------------------------ report


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rows_for(res: SizeResult, *, main: bool) -> list[dict[str, Any]]:
    mb = res.size_bytes / MIB
    label = f"{mb:.0f} MiB"

    def row(
        measure: str,
        seconds: float | None,
        ratio: float | None = None,
        *,
        target: str = "",
        verdict: str = "",
        note: str = "",
        phase: bool = False,
    ) -> dict[str, Any]:
        rate = mb / seconds if seconds and not phase else None
        return {
            "size": label,
            "measure": measure,
            "seconds": round(seconds, 3) if seconds is not None else None,
            "mib_per_s": round(rate, 1) if rate else None,
            "ratio": round(ratio, 3) if ratio is not None else None,
            "target": target,
            "verdict": verdict,
            "note": note,
        }

    copy = med(res.copy)
    new_ratios = [c / u.seconds for c, u in zip(res.copy, res.new, strict=True)]
    dup_ratios = [c / u.seconds for c, u in zip(res.copy, res.duplicate, strict=True)]
    sha_ratios = [c / s for c, s in zip(res.copy, res.sha256, strict=True)]
    sink_ratios = [c / t for c, t in zip(res.copy, res.sink, strict=True)]
    new_ratio = med(new_ratios)
    rows = [
        row(
            "local copy (shutil.copyfile)",
            copy,
            note="rounds: " + ", ".join(f"{c:.2f}" for c in res.copy) + " s",
        ),
        row(
            "upload, new asset (whole request)",
            med([u.seconds for u in res.new]),
            new_ratio,
            target=f">= {RATIO_TARGET}" if main else "",
            verdict=("ok" if new_ratio >= RATIO_TARGET else "MISSED") if main else "",
            note="ratio = upload rate / copy rate, median of rounds: "
            + ", ".join(f"{x:.2f}" for x in new_ratios),
        ),
        row(
            "upload to a bare app that only reads",
            med(res.sink),
            med(sink_ratios),
            note="bare_app.py POST /sink: uvicorn + Starlette receiving the same multipart body, discarding it",
        ),
        row(
            "upload, duplicate (receive+write+hash)",
            med([u.seconds for u in res.duplicate]),
            med(dup_ratios),
            note="same bytes again: no probe, no preview; rounds "
            + ", ".join(f"{x:.2f}" for x in dup_ratios),
        ),
        row(
            "sha256 of the file, one thread (bound)",
            med(res.sha256),
            med(sha_ratios),
            note="hashlib.file_digest in this process: the service cannot receive faster than it hashes",
        ),
        row(
            "  phase: probe (outside)",
            res.probe_seconds,
            phase=True,
            note="reelforge.ffmpeg.probe.probe on the file",
        ),
        row(
            "  phase: waveform preview (outside)",
            res.waveform_seconds,
            phase=True,
            note="reelforge.media.thumbnails.waveform: FFmpeg decodes the whole file (after the 201, not in it)",
        ),
        row(
            "  previews ready, after the answer",
            med(res.previews_ready),
            phase=True,
            note="the waveform, made in the background: GET shows previews=pending until then",
        ),
        row(
            "  phase: new - duplicate",
            med([u.seconds for u in res.new]) - med([u.seconds for u in res.duplicate]),
            note="what a new asset adds: sniff/probe, move into storage, the row",
            phase=True,
        ),
    ]
    cpu = {
        "server CPU s, new": med([u.server_cpu for u in res.new]),
        "FFmpeg CPU s, new": med([u.ffmpeg_cpu for u in res.new]),
        "server CPU s, duplicate": med([u.server_cpu for u in res.duplicate]),
        "client CPU s, new": med([u.client_cpu for u in res.new]),
    }
    rows.append(
        {
            "size": label,
            "measure": "CPU (median of rounds)",
            "seconds": None,
            "mib_per_s": None,
            "ratio": None,
            "target": "",
            "verdict": "",
            "note": ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()),
        }
    )
    return rows


def memory_row(res: SizeResult) -> dict[str, Any]:
    return {
        "size": f"{res.size_bytes / MIB:.0f} MiB",
        "rss_before_mib": round(res.rss_before_kib / 1024, 1),
        "peak_new_mib": round(max(u.peak_rss_kib for u in res.new) / 1024, 1),
        "peak_duplicate_mib": round(max(u.peak_rss_kib for u in res.duplicate) / 1024, 1),
        "peak_with_ffmpeg_mib": round(max(u.peak_tree_rss_kib for u in res.new) / 1024, 1),
        "vmhwm_end_mib": round(res.hwm_end_kib / 1024, 1),
    }


def print_report(
    rows: list[dict[str, Any]], memory: list[dict[str, Any]], growth: dict[str, Any], meta: dict[str, Any]
) -> None:
    print(
        f"\nUpload benchmark: {meta['runs']} rounds, {meta['cpus']} CPUs; page cache warm for every contender, "
        "nothing synced to disk"
    )
    print(
        f"{'size':<9} {'measure':<40} {'seconds':>8} {'MiB/s':>8} {'ratio':>6} {'target':>7} {'verdict':>7}  note"
    )
    for r in rows:
        sec = f"{r['seconds']:.2f}" if r["seconds"] is not None else ""
        rate = f"{r['mib_per_s']:.1f}" if r["mib_per_s"] else ""
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else ""
        print(
            f"{r['size']:<9} {r['measure']:<40} {sec:>8} {rate:>8} {ratio:>6} {r['target']:>7} {r['verdict']:>7}  "
            f"{r['note']}"
        )
    print(
        f"\n{'server memory (MiB)':<20} {'before':>8} {'peak new':>9} {'peak dup':>9} {'+FFmpeg':>8} {'VmHWM':>8}"
    )
    for m in memory:
        print(
            f"{m['size']:<20} {m['rss_before_mib']:>8.1f} {m['peak_new_mib']:>9.1f} {m['peak_duplicate_mib']:>9.1f} "
            f"{m['peak_with_ffmpeg_mib']:>8.1f} {m['vmhwm_end_mib']:>8.1f}"
        )
    if growth:
        print(
            f"peak RSS growth {growth['from']} -> {growth['to']}: {growth['growth_mib']:+.1f} MiB "
            f"(target: flat, within {RSS_GROWTH_LIMIT_MIB:g} MiB): {growth['verdict']}"
        )
    if meta.get("max_foreign_cpu", 0) > 0.1:
        print(
            f"\nnote: other processes used up to {meta['max_foreign_cpu']:.0%} of the machine's CPU during the "
            "uploads; times are disturbed (alternated rounds keep the ratios fairer)."
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, help="the large upload, MiB (default 1024; quick 128)")
    parser.add_argument(
        "--small-mb",
        type=int,
        help="the small upload to compare memory with, MiB (default 64; quick 16; 0: skip)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="128 MiB against 16 MiB: checks that everything works"
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds per size; medians are taken")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=BENCH_DIR / ".cache" / "upload",
        help="where the files, the copy and the server's data go (one filesystem)",
    )
    parser.add_argument("--keep-media", action="store_true", help="keep the generated WAVs for the next run")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.size_mb is None:
        args.size_mb = 128 if args.quick else 1024
    if args.small_mb is None:
        args.small_mb = 16 if args.quick else 64
    if args.size_mb < 1 or args.runs < 1:
        parser.error("--size-mb and --runs must be at least 1")

    def log(msg: str) -> None:
        print(msg, flush=True)

    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted({s for s in (args.small_mb, args.size_mb) if s > 0})
    files: dict[int, Path] = {}
    results: dict[int, SizeResult] = {}
    try:
        for mb in sizes:
            start = time.perf_counter()
            files[mb] = make_wav(work / f"tone-{mb}M.wav", mb * MIB, tone_hz=440 + mb % 500)
            minutes = files[mb].stat().st_size / WAV_BYTES_PER_SECOND / 60
            log(
                f"{files[mb].name}: {files[mb].stat().st_size} bytes, {minutes:.1f} min of 16-bit stereo 48 kHz "
                f"({time.perf_counter() - start:.1f} s to make)"
            )
        bare = start_bare(None, work)
        try:
            for mb in sizes:
                log(f"{mb} MiB: fresh reelforge serve, {args.runs} rounds ...")
                results[mb] = measure_size(files[mb], work, args.runs, bare, log)
        finally:
            bare.stop()
    finally:
        (work / "copy.bin").unlink(missing_ok=True)
        if not args.keep_media:
            for f in files.values():
                f.unlink(missing_ok=True)
            (work / "warmup.wav").unlink(missing_ok=True)
    rows = [r for mb in sizes for r in rows_for(results[mb], main=mb == args.size_mb)]
    memory = [memory_row(results[mb]) for mb in sizes]
    growth: dict[str, Any] = {}
    if len(sizes) == 2:
        small, big = memory
        g = big["peak_new_mib"] - small["peak_new_mib"]
        growth = {
            "from": small["size"],
            "to": big["size"],
            "growth_mib": round(g, 1),
            "verdict": "ok" if g <= RSS_GROWTH_LIMIT_MIB else "GROWS",
        }
    foreign = [u.foreign_cpu or 0.0 for r in results.values() for u in (*r.new, *r.duplicate)]
    meta = {
        "runs": args.runs,
        "cpus": CPUS,
        "sizes_mib": sizes,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "work_dir": str(work),
        "max_foreign_cpu": round(max(foreign), 2),
        "loadavg_end": os.getloadavg(),
    }
    print_report(rows, memory, growth, meta)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "meta": meta,
                "rows": rows,
                "memory": memory,
                "growth": growth,
                "raw": {mb: asdict(r) for mb, r in results.items()},
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    log(f"\nresults: {args.json}")


if __name__ == "__main__":
    main()
