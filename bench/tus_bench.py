"""Reelforge's resumable-upload benchmark: a large tus upload against a bare endpoint that only
hashes and writes the same body, side by side in the same run.

Usage: ``.venv/bin/python bench/tus_bench.py [--quick] [--size-mb N] [--chunk-mb N] [--runs N]``

1. Makes a WAV of ``--size-mb`` MiB (default 1024; ``--quick`` 128) with ``api_media.make_wav``:
   real media the service accepts.
2. Starts ``bench/bare_app.py`` and a fresh ``reelforge serve`` (SQLite, no render worker, data
   in the work directory: the same filesystem for both), then runs ``--runs`` rounds, each:
   * ``bare``: the file streamed in one ``POST /hash-write`` to the bare app, which hashes
     (sha256) and writes each chunk as it arrives: the least an upload endpoint can do;
   * ``tus``: a tus upload of the same file to ``/v1/uploads``: the creation POST, then PATCHes
     of ``--chunk-mb`` MiB (default 50, the chunk the docs advise; 0: the whole file in one
     PATCH), timed until the last PATCH answers, which is after the finished upload became an
     asset (sniff, probe, move into storage, database row); every PATCH is authenticated,
     rate-limited and claims the upload;
   * the asset is deleted so the next round's upload is new again.
   The order of the two alternates from round to round. Both clients stream the file from disk with an explicit ``Content-Length`` (httpx).
   The Reelforge server's resident memory is sampled every 50 ms during the tus upload
   (``/proc/<pid>/status``): its peak, and the growth over what it held before the upload.
3. Prints medians and the ratio ``bare seconds / tus seconds`` (>= 0.8 is the target: the tus
   server receives at least 80 % as fast as the bare endpoint), and writes them as JSON to
   ``bench/.cache/tus_results.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from api_media import make_wav
from api_procs import RssSampler, Server, proc_status_kib, start_bare, start_reelforge

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / ".cache" / "tus_results.json"
RATIO_TARGET = 0.8
MIB = 2**20
_READ = 1 << 20


def file_chunks(path: Path, start: int, size: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(start)
        left = size
        while left > 0:
            data = fh.read(min(_READ, left))
            if not data:
                return
            left -= len(data)
            yield data


def timed_bare(bare: Server, path: Path) -> float:
    size = path.stat().st_size
    with httpx.Client(base_url=bare.base, timeout=httpx.Timeout(None), trust_env=False) as client:
        start = time.perf_counter()
        r = client.post(
            "/hash-write",
            content=file_chunks(path, 0, size),
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )
        elapsed = time.perf_counter() - start
    r.raise_for_status()
    assert r.json()["bytes"] == size
    return elapsed


def timed_tus(server: Server, path: Path, chunk: int) -> tuple[float, str, int]:
    """Seconds of the whole tus upload, the asset id, and the number of PATCHes."""
    size = path.stat().st_size
    chunk = chunk or size
    tus = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {server.token}"}
    name = base64.b64encode(path.name.encode()).decode()
    with httpx.Client(base_url=server.base, timeout=httpx.Timeout(None), trust_env=False) as client:
        start = time.perf_counter()
        r = client.post(
            "/v1/uploads", headers={**tus, "Upload-Length": str(size), "Upload-Metadata": f"filename {name}"}
        )
        r.raise_for_status()
        url = httpx.URL(r.headers["Location"]).path
        offset = 0
        patches = 0
        while offset < size:
            part = min(chunk, size - offset)
            r = client.patch(
                url,
                content=file_chunks(path, offset, part),
                headers={
                    **tus,
                    "Upload-Offset": str(offset),
                    "Content-Length": str(part),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            if r.status_code != 204:
                raise RuntimeError(f"PATCH at {offset} answered {r.status_code}: {r.text}")
            offset = int(r.headers["Upload-Offset"])
            patches += 1
        elapsed = time.perf_counter() - start
        asset = r.headers["Reelforge-Asset-Id"]
    return elapsed, asset, patches


def delete_asset(server: Server, asset_id: str) -> None:
    r = httpx.delete(
        f"{server.base}/v1/assets/{asset_id}",
        headers={"Authorization": f"Bearer {server.token}"},
        trust_env=False,
    )
    r.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, help="the upload, MiB (default 1024; quick 128)")
    parser.add_argument("--chunk-mb", type=int, default=50, help="MiB per PATCH (0: one PATCH); default 50")
    parser.add_argument("--runs", type=int, default=3, help="rounds; medians are taken")
    parser.add_argument("--quick", action="store_true", help="128 MiB, 2 rounds")
    parser.add_argument("--work", type=Path, default=BENCH_DIR / ".cache" / "tus")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    size_mb = args.size_mb or (128 if args.quick else 1024)
    runs = 2 if args.quick and args.runs == 3 else args.runs
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    wav = make_wav(work / f"tus-{size_mb}mb.wav", size_mb * MIB)
    size = wav.stat().st_size
    data_dir = work / f"data-{int(time.time())}"
    bare = start_bare(None, work)
    server = start_reelforge(data_dir)
    bare_times: list[float] = []
    tus_times: list[float] = []
    peaks: list[int] = []
    growth: list[int] = []
    patches = 0
    try:
        # Warm both up (imports, first connection, the first database writes).
        small = make_wav(work / "warm.wav", 2 * MIB)
        timed_bare(bare, small)
        _, warm_asset, _ = timed_tus(server, small, 0)
        delete_asset(server, warm_asset)
        for round_no in range(runs):
            # The order alternates, so a machine that gets busier or quieter favours neither side.
            if round_no % 2 == 0:
                bare_times.append(timed_bare(bare, wav))
            before = proc_status_kib(server.pid, "VmRSS") or 0
            with RssSampler(server.pid) as rss:
                seconds, asset, patches = timed_tus(server, wav, args.chunk_mb * MIB)
            tus_times.append(seconds)
            if round_no % 2 == 1:
                bare_times.append(timed_bare(bare, wav))
            peaks.append(rss.peak_kib)
            growth.append(rss.peak_kib - before)
            delete_asset(server, asset)
            print(
                f"round {round_no + 1}: bare {size / MIB / bare_times[-1]:.0f} MiB/s, "
                f"tus {size / MIB / seconds:.0f} MiB/s ({patches} PATCHes), "
                f"server peak RSS {rss.peak_kib / 1024:.0f} MiB (+{(rss.peak_kib - before) / 1024:.1f})",
                flush=True,
            )
    finally:
        server.stop()
        bare.stop()
    bare_med, tus_med = statistics.median(bare_times), statistics.median(tus_times)
    ratio = bare_med / tus_med
    result: dict[str, Any] = {
        "size_bytes": size,
        "chunk_bytes": args.chunk_mb * MIB or size,
        "patches": patches,
        "runs": runs,
        "bare_seconds": bare_times,
        "tus_seconds": tus_times,
        "bare_mib_s": size / MIB / bare_med,
        "tus_mib_s": size / MIB / tus_med,
        "ratio": ratio,
        "ratio_target": RATIO_TARGET,
        "server_peak_rss_mib": max(peaks) / 1024,
        "server_rss_growth_mib": max(growth) / 1024,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
    }
    print()
    print(f"{'upload of':<28}{size / MIB:>10.0f} MiB")
    print(f"{'bare hash+write':<28}{result['bare_mib_s']:>10.0f} MiB/s   (median of {runs})")
    print(f"{'tus /v1/uploads':<28}{result['tus_mib_s']:>10.0f} MiB/s   ({patches} PATCHes, ingest included)")
    verdict = "ok" if ratio >= RATIO_TARGET else "BELOW TARGET"
    print(f"{'ratio tus / bare':<28}{ratio:>10.2f}x       (target >= {RATIO_TARGET}: {verdict})")
    print(f"{'server peak RSS':<28}{result['server_peak_rss_mib']:>10.0f} MiB")
    print(f"{'server RSS growth':<28}{result['server_rss_growth_mib']:>10.1f} MiB   (during the upload)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
