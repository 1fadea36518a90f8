"""Wall time and peak memory of whole processes, and the statistics the report uses.

Each command runs as a child of this process (``subprocess.Popen``) and is reaped with
``os.wait4``, whose resource usage on Linux covers the child *and every descendant it waited
for*: ``ru_maxrss`` is then the largest resident set over that process tree. So Reelforge's
CLI, which runs FFmpeg as its own child, is measured with FFmpeg included, and each run is
measured on its own (unlike ``getrusage(RUSAGE_CHILDREN)``, whose maximum never goes down).
:func:`tree_rss_works` checks this on the running system.

The same usage gives the tree's CPU time (user + system), which measures the work done and is
much less disturbed than wall time when other processes share the machine. How much they
used during each run is measured too (``Sample.foreign``, from ``/proc/stat``).

``ru_maxrss`` is the largest resident set of any *one* process of the tree, not of the tree:
Reelforge's CLI stays resident while its FFmpeg runs, and the two add up. So the tree's peak
is also sampled while the command runs (:class:`TreeRssPoller`): every 20 ms the resident sets
of the process and all its descendants (``/proc/<pid>/task/<tid>/children``) are summed from
``/proc/<pid>/statm``. Sampling can miss a peak shorter than its interval; it can only read
low, never high, and the wait4 figure bounds it from below.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CommandFailed",
    "Sample",
    "TreeRssPoller",
    "machine_busy",
    "median",
    "run_measured",
    "run_sequence",
    "tree_rss_works",
]


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
    cpu: float
    """CPU seconds (user + system) of the process tree."""
    foreign: float | None = None
    """Share of the machine's CPU capacity (0 to 1) that *other* processes used during the
    run; ``None`` where ``/proc/stat`` is not available. Above about 0.1 the wall time is
    disturbed by other load."""

    tree_rss_kib: int | None = None
    """Largest sum of the resident sets of the whole process tree at one moment, sampled every
    20 ms (see :class:`TreeRssPoller`); ``None`` where ``/proc`` is not available."""

    @property
    def max_rss_mib(self) -> float:
        return self.max_rss_kib / 1024

    @property
    def peak_mib(self) -> float:
        """The tree's peak: the sampled sum where known (never below the largest process)."""
        return max(self.max_rss_kib, self.tree_rss_kib or 0) / 1024


_CPUS = os.cpu_count() or 1
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy() -> float | None:
    """CPU seconds every process of the machine has used so far (all CPUs), or ``None``."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / _TICK


def _foreign(busy_before: float | None, busy_after: float | None, ours: float, wall: float) -> float | None:
    if busy_before is None or busy_after is None or wall <= 0:
        return None
    return min(1.0, max(0.0, (busy_after - busy_before - ours) / (wall * _CPUS)))


_PAGE_KIB = (os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096) // 1024


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from the kernel's per-thread children lists."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{p}/task/{tid}/children", encoding="ascii") as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                continue
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE_KIB
    except (OSError, ValueError, IndexError):
        return 0  # gone between the listing and the read


class TreeRssPoller:
    """Samples the summed resident set of a process tree every ``interval`` seconds, in a
    thread, until stopped; ``peak_kib`` is the largest sum seen (``None`` without ``/proc``)."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid = pid
        self.interval = interval
        self.peak_kib: int | None = None if not os.path.exists(f"/proc/{pid}/statm") else 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeRssPoller:
        if self.peak_kib is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(_rss_kib(p) for p in _descendants(self.pid))
            self.peak_kib = max(self.peak_kib or 0, total)
            self._stop.wait(self.interval)


def run_measured(cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Sample:
    """Run ``cmd`` to completion: its wall time, and its process tree's peak RSS and CPU time."""
    with tempfile.TemporaryFile(mode="w+b") as log:
        busy = machine_busy()
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
        )
        # The poller reads the tree while it runs; wait4 then reaps it (a reaped child's /proc
        # entry is gone, so the poller stops finding it).
        with TreeRssPoller(proc.pid) as poller:
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        busy_after = machine_busy()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if proc.returncode != 0:
            log.seek(0)
            raise CommandFailed(cmd, proc.returncode, log.read().decode("utf-8", "replace"))
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(wall, int(usage.ru_maxrss), cpu, _foreign(busy, busy_after, cpu, wall), poller.peak_kib)


def run_sequence(
    cmds: Sequence[Sequence[str]], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Sample:
    """Several commands one after another: total wall and CPU time, largest peak RSS."""
    samples = [run_measured(c, cwd=cwd, env=env) for c in cmds]
    wall = sum(s.wall for s in samples)
    shares = [s.foreign for s in samples]
    foreign = None if None in shares else sum((s.foreign or 0) * s.wall for s in samples) / wall
    trees = [s.tree_rss_kib for s in samples]
    tree = None if None in trees else max(t or 0 for t in trees)
    return Sample(wall, max(s.max_rss_kib for s in samples), sum(s.cpu for s in samples), foreign, tree)


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
