"""Wall time and peak memory of whole processes, and the statistics the report uses.

Each command runs as a child of this process (``subprocess.Popen``) and is reaped with
``os.wait4``, whose resource usage on Linux covers the child *and every descendant it waited
for*: ``ru_maxrss`` is then the largest resident set over that process tree. So Reelforge's
CLI, which runs FFmpeg as its own child, is measured with FFmpeg included, and each run is
measured on its own (unlike ``getrusage(RUSAGE_CHILDREN)``, whose maximum never goes down).
:func:`tree_rss_works` checks this on the running system.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CommandFailed", "Sample", "median", "run_measured", "run_sequence", "tree_rss_works"]


class CommandFailed(RuntimeError):
    def __init__(self, cmd: Sequence[str], code: int, log: str):
        self.cmd = list(cmd)
        self.code = code
        self.log = log
        tail = "\n".join(log.strip().splitlines()[-15:])
        super().__init__(f"{Path(cmd[0]).name} exited with {code}:\n{tail}")


@dataclass(frozen=True)
class Sample:
    wall: float
    """Seconds from start to exit."""
    max_rss_kib: int
    """Largest resident set of the process tree, in KiB (Linux reports ``ru_maxrss`` in KiB)."""

    @property
    def max_rss_mib(self) -> float:
        return self.max_rss_kib / 1024


def run_measured(cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Sample:
    """Run ``cmd`` to completion; its wall time and its process tree's peak RSS."""
    with tempfile.TemporaryFile(mode="w+b") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if proc.returncode != 0:
            log.seek(0)
            raise CommandFailed(cmd, proc.returncode, log.read().decode("utf-8", "replace"))
    return Sample(wall, int(usage.ru_maxrss))


def run_sequence(cmds: Sequence[Sequence[str]], *, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> Sample:
    """Several commands one after another: total wall time, largest peak RSS."""
    samples = [run_measured(c, cwd=cwd, env=env) for c in cmds]
    return Sample(sum(s.wall for s in samples), max(s.max_rss_kib for s in samples))


def tree_rss_works() -> bool:
    """Whether a grandchild's memory shows in ``wait4``'s usage of the child (it does on Linux)."""
    grandchild = "b = bytearray(160 * 1024 * 1024); b[::4096] = bytes(len(b[::4096]))"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}], check=True)"
    try:
        sample = run_measured([sys.executable, "-c", child])
    except (OSError, CommandFailed):
        return False
    return sample.max_rss_mib > 150


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
