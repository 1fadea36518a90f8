"""The streamed ZIP of a batch's files against copying the same files, in the same run.

Usage: ``.venv/bin/python bench/zip_bench.py [--files 20] [--mib 16] [--rounds 5]``

Makes ``--files`` files of ``--mib`` MiB of random bytes (compressed media looks like that),
then alternates, each round: (a) reading every file in 1 MiB chunks and writing them to
``/dev/null`` (the floor: what any download costs), (b) ``reelforge.media.zipstream.zip_stream``
over the same files, written to ``/dev/null`` (what ``GET /v1/batches/{id}/files.zip`` does
besides HTTP). Reports the medians and the ratio zip/copy, and the peak memory the ZIP's
process grew by (``ru_maxrss``, measured in a child process per mode), which stays near one
chunk whatever the archive's size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

CHUNK = 1024 * 1024


def copy(paths: list[Path]) -> int:
    total = 0
    with open(os.devnull, "wb") as out:
        for path in paths:
            with path.open("rb") as f:
                while piece := f.read(CHUNK):
                    out.write(piece)
                    total += len(piece)
    return total


def zipped(paths: list[Path]) -> int:
    from reelforge.media.zipstream import zip_stream

    now = datetime.now(UTC)
    total = 0
    with open(os.devnull, "wb") as out:
        for chunk in zip_stream((f"{i:04d}-{p.name}", p, now) for i, p in enumerate(paths)):
            out.write(chunk)
            total += len(chunk)
    return total


def child(mode: str, directory: str) -> None:
    import resource

    paths = sorted(Path(directory).iterdir())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    size = (zipped if mode == "zip" else copy)(paths)
    seconds = time.perf_counter() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(f"{seconds} {size} {grown}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--mib", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as directory:
        for i in range(args.files):
            Path(directory, f"out-{i}.mp4").write_bytes(os.urandom(args.mib * CHUNK))
        results: dict[str, list[tuple[float, int, int]]] = {"copy": [], "zip": []}
        for _ in range(args.rounds):
            for mode in ("copy", "zip"):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", mode, directory],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                seconds, size, grown = done.stdout.split()
                results[mode].append((float(seconds), int(size), int(grown)))
        median = {mode: statistics.median(r[0] for r in rows) for mode, rows in results.items()}
        total = args.files * args.mib
        for mode, rows in results.items():
            print(
                f"{mode:5s} {total} MiB: median {median[mode]:.3f} s ({total / median[mode]:.0f} MiB/s), "
                f"peak memory grew {max(r[2] for r in rows) / 1024:.1f} MiB"
            )
        print(f"zip / copy time: {median['zip'] / median['copy']:.2f}x")


if __name__ == "__main__":
    main()
