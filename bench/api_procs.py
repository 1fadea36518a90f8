"""Server processes for the service benchmarks: ``reelforge serve`` and the bare FastAPI app.

Each server runs as its own process on a free loopback port, as a user would start it, with
its output going to a log file (a pipe nobody reads would eventually block the server). The
helpers here also read what Linux says about a process (resident memory, CPU time) and how
busy the whole machine is, so a report can say when other load disturbed a measurement.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = [
    "CpuMeter",
    "RssSampler",
    "Server",
    "ServerFailed",
    "free_port",
    "proc_cpu_seconds",
    "proc_status_kib",
    "start_bare",
    "start_reelforge",
]

BENCH_DIR = Path(__file__).resolve().parent
_TICK = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1
_TOKEN = re.compile(r"\b(rf_(?:live|test)_\S+)")


class ServerFailed(RuntimeError):
    """A server did not come up; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    token: str | None = None
    """The admin API key ``reelforge serve`` printed on first start (None for the bare app)."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful shutdown), then SIGKILL if it hangs."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _wait_ready(server: Server, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise ServerFailed(
                    f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
                )
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    server.stop()
    raise ServerFailed(f"{server.name} did not answer {url} within {timeout:.0f} s:\n{server.log_tail()}")


def _spawn(
    name: str, cmd: list[str], *, cwd: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:  # the child keeps its own descriptor
        return subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT
        )


def start_reelforge(
    data_dir: Path,
    *,
    workers: int = 0,
    timeout: float = 120,
    extra_env: dict[str, str] | None = None,
    token: str | None = None,
    log_name: str = "serve.log",
) -> Server:
    """``python -m reelforge serve`` on a free port with its data in ``data_dir`` (created).

    The process runs in ``data_dir`` so a ``.env`` of the user's working directory does not
    leak in. The first-start admin key is read from its output; a second server on the same
    data (``token``: the key the first one printed) prints none.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "REELFORGE_DATA_DIR": str(data_dir),
        "REELFORGE_WORKERS": str(workers),
        "REELFORGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",  # the key line must reach the log before we look for it
        "COLUMNS": "400",  # rich must not wrap the printed key
        # Rate limits far above any load: the limiter still runs on every request (its cost is
        # measured) but never refuses one (the defaults allow 20 reads/s per key).
        "REELFORGE_RATE_LIMITS": json.dumps(
            {
                name: "1000000000/minute"
                for name in (
                    "reads",
                    "writes",
                    "renders",
                    "workspace-reads",
                    "workspace-writes",
                    "workspace-renders",
                )
            }
        ),
        **(extra_env or {}),
    }
    log = data_dir / log_name
    proc = _spawn(
        "reelforge",
        [sys.executable, "-m", "reelforge", "serve", "--port", str(port)],
        cwd=data_dir,
        env=env,
        log=log,
    )
    server = Server("reelforge serve", proc, port, log)
    _wait_ready(server, f"{server.base}/healthz", timeout)
    if token is not None:
        server.token = token
        return server
    match = _TOKEN.search(log.read_text(encoding="utf-8", errors="replace"))
    if match is None:
        server.stop()
        raise ServerFailed(
            f"reelforge serve printed no API key (is {data_dir} a fresh directory?):\n{server.log_tail()}"
        )
    server.token = match[1]
    return server


def start_bare(doc: Path | None, workdir: Path, *, timeout: float = 60) -> Server:
    """``bench/bare_app.py`` serving the JSON documents in ``doc`` (if any)."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = workdir / "bare.log"
    cmd = [sys.executable, str(BENCH_DIR / "bare_app.py"), "--port", str(port)]
    proc = _spawn("bare", [*cmd, "--doc", str(doc)] if doc else cmd, cwd=workdir, env=env, log=log)
    server = Server("bare FastAPI app", proc, port, log)
    _wait_ready(server, f"{server.base}/healthz", timeout)
    return server


# ------------------------------------------------------------------ what Linux says about a process


def proc_status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), or None."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def proc_cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone); with ``children``,
    those of its children that ended and were waited for instead (FFmpeg runs of the server)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            # The command name may hold spaces; the fields after its closing parenthesis are fixed.
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    first = 13 if children else 11  # cutime, cstime / utime, stime
    return (int(fields[first]) + int(fields[first + 1])) / _TICK


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found += [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        pass
    return found


def _machine_busy() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user and nice)
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


@dataclass
class CpuMeter:
    """CPU used during a measurement by ``pids`` (ours) and by everything else (foreign).

    ``foreign`` is the share of the machine's capacity other processes took, 0 to 1: above
    about 0.1 the figures were measured on a busy machine and absolute values are disturbed.
    """

    pids: list[int]
    """Processes alive for the whole measurement (the servers)."""
    extra: float = 0.0
    """CPU seconds of our processes that ended inside the measurement (the load generator,
    reaped with ``os.wait4``); the caller adds them before the block ends."""
    _busy: float | None = None
    _start: float = 0.0
    _self: float = 0.0
    ours: dict[int, float] = field(default_factory=dict)
    foreign: float | None = None
    wall: float = 0.0

    def __enter__(self) -> CpuMeter:
        self._busy = _machine_busy()
        self.ours = {p: -proc_cpu_seconds(p) for p in self.pids}
        times = os.times()
        self._self = -(times.user + times.system)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._start
        for p in self.pids:
            self.ours[p] += proc_cpu_seconds(p)
        times = os.times()
        self._self += times.user + times.system
        busy = _machine_busy()
        if self._busy is not None and busy is not None and self.wall > 0:
            other = busy - self._busy - sum(self.ours.values()) - self.extra - self._self
            self.foreign = min(1.0, max(0.0, other / (self.wall * CPUS)))


class RssSampler:
    """Sample the resident memory of a process, and of it with its children (FFmpeg), every
    ``interval`` seconds in a thread, keeping the peaks."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.peak_tree_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    def _run(self) -> None:
        while not self._stop.is_set():
            own = proc_status_kib(self.pid, "VmRSS") or 0
            tree = own + sum(proc_status_kib(c, "VmRSS") or 0 for c in _children(self.pid))
            self.peak_kib = max(self.peak_kib, own)
            self.peak_tree_kib = max(self.peak_tree_kib, tree)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
