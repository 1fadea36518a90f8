"""Run FFmpeg with live progress, cancellation, a timeout and clean-up of partial outputs."""

from __future__ import annotations

import collections
import contextlib
import contextvars
import logging
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from reelforge.ffmpeg.binary import ffmpeg_exe
from reelforge.tracing import span

__all__ = [
    "CancelToken",
    "FFmpegError",
    "Progress",
    "RenderCancelled",
    "RenderTimeout",
    "RunResult",
    "StderrLog",
    "run_ffmpeg",
]

log = logging.getLogger(__name__)

#: Lines of stderr kept for error reports.
LOG_TAIL_LINES = 20
#: Seconds FFmpeg gets to exit after SIGTERM before its process group is killed.
STOP_GRACE = 3.0
#: Upper bound on how long cancellation or a timeout waits to be noticed.
_POLL = 0.1


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux kill the child when the thread that started it dies: a
    worker killed with -9 leaves no FFmpeg running (its session of its own would otherwise
    outlive it). None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only where FFmpeg is run: planning an edit never loads it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return preexec


_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Progress:
    """One ``-progress`` report. ``fraction`` never decreases within a run."""

    fraction: float  # out_time / duration, clamped to 0..1
    frame: int  # video frames written so far (0 for audio-only outputs)
    fps: float  # encoding rate; FFmpeg reports 0 during the first second
    speed: float | None  # media seconds per wall second; None when FFmpeg says N/A
    out_time: float  # seconds of output written (last known value when FFmpeg says N/A)
    eta_seconds: float | None  # None until there is a non-zero fraction


class CancelToken:
    """Thread-safe flag: call :meth:`cancel` from anywhere to stop a running render."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a cancel; whether it came."""
        return self._event.wait(timeout)


class FFmpegError(Exception):
    """FFmpeg failed; ``log_tail`` holds the last lines it wrote to stderr."""

    # Positional parameters (all passed to Exception) keep the exception picklable,
    # e.g. across a process pool.
    def __init__(self, message: str, returncode: int | None = None, log_tail: Sequence[str] = ()) -> None:
        super().__init__(message, returncode, list(log_tail))
        self.message = message
        self.returncode = returncode
        self.log_tail = list(log_tail)

    def __str__(self) -> str:
        if not self.log_tail:
            return self.message
        return "\n".join([self.message, *("  " + line for line in self.log_tail)])


class RenderTimeout(FFmpegError):
    """The run exceeded its timeout and was stopped."""


class RenderCancelled(Exception):
    """The run was cancelled through its :class:`CancelToken` and was stopped."""


class StderrLog:
    """What FFmpeg wrote to stderr, bounded: the first lines up to half of ``max_bytes`` and the
    last ones up to the other half, with a line saying how many were left out between them (the
    start names the inputs and the graph, the end says how it ended). Thread-safe: FFmpeg's
    stderr is read by a thread of its own; :meth:`__call__` is the runner's ``stderr_lines``."""

    def __init__(self, max_bytes: int = 256 * 1024):
        self.max_bytes = max_bytes
        self._head: list[str] = []
        self._head_bytes = 0
        self._tail: collections.deque[str] = collections.deque()
        self._tail_bytes = 0
        self._omitted = 0
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        size = len(line.encode("utf-8", "replace")) + 1
        half = self.max_bytes // 2
        if size > half:  # one absurd line: cut, not dropped
            line = line.encode("utf-8", "replace")[: half - 2].decode("utf-8", "ignore") + "…"
            size = len(line.encode("utf-8")) + 1
        with self._lock:
            if not self._tail and self._head_bytes + size <= half:
                self._head.append(line)
                self._head_bytes += size
                return
            self._tail.append(line)
            self._tail_bytes += size
            while self._tail_bytes > half:
                dropped = self._tail.popleft()
                self._tail_bytes -= len(dropped.encode("utf-8", "replace")) + 1
                self._omitted += 1

    def lines(self) -> list[str]:
        with self._lock:
            gap = [f"[… {self._omitted} lines left out …]"] if self._omitted else []
            return [*self._head, *gap, *self._tail]


@dataclass
class RunResult:
    """A successful run: ``log_tail`` holds whatever FFmpeg still wrote to stderr (warnings)."""

    returncode: int
    elapsed: float
    log_tail: list[str]


def run_ffmpeg(
    args: list[str],
    *,
    duration: float,
    outputs: Sequence[Path] = (),
    on_progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
    timeout: float | None = None,
    cwd: Path | None = None,
    stderr_lines: Callable[[str], None] | None = None,
) -> RunResult:
    """Run ``ffmpeg <args>`` to completion, reporting progress.

    ``args`` is everything after the executable (typically starting with
    :func:`~reelforge.ffmpeg.binary.base_args`); ``duration`` is the expected output
    length in seconds, used for ``fraction`` (if it is not positive, ``fraction`` stays 0
    until the end). ``on_progress`` is called in the calling thread about twice a second,
    and once more with ``fraction == 1.0`` after a successful exit.

    On a non-zero exit, cancellation, timeout or any exception (including
    KeyboardInterrupt) FFmpeg is stopped, every existing file in ``outputs`` (relative
    paths are taken relative to ``cwd``) is deleted, and an exception is raised:
    :class:`FFmpegError`, :class:`RenderCancelled` or :class:`RenderTimeout`.
    ``stderr_lines`` hears every line FFmpeg writes to stderr (from another thread).
    """
    with span("ffmpeg.run", reelforge__ffmpeg__duration=duration) as run_span:
        result = _run_ffmpeg(args, duration, outputs, on_progress, cancel, timeout, cwd, stderr_lines)
        if run_span is not None:
            run_span.set_attribute("reelforge.ffmpeg.elapsed", result.elapsed)
        return result


def _run_ffmpeg(
    args: list[str],
    duration: float,
    outputs: Sequence[Path],
    on_progress: Callable[[Progress], None] | None,
    cancel: CancelToken | None,
    timeout: float | None,
    cwd: Path | None,
    stderr_lines: Callable[[str], None] | None,
) -> RunResult:
    cmd = [ffmpeg_exe(), "-nostats", "-progress", "pipe:1", *args]
    log.debug("running %s", shlex.join(cmd))
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)

    # A session of its own: a Ctrl-C on the terminal does not reach FFmpeg behind our back,
    # and the whole group can be killed at once.
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_die_with_parent(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    # stderr is drained by a thread so FFmpeg never blocks on a full pipe, whatever the
    # progress callback does.
    # In the caller's context: its log lines carry the caller's ids (a render's).
    drain = threading.Thread(
        target=contextvars.copy_context().run,
        args=(_drain, proc.stderr, tail, stderr_lines),
        name="ffmpeg-stderr",
        daemon=True,
    )
    drain.start()

    parser = _ProgressParser(duration, started)
    stopped: str | None = None  # "cancel" or "timeout" once we decided to stop FFmpeg
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            buf = b""
            eof = False
            while True:
                if cancel is not None and cancel.cancelled:
                    stopped = "cancel"
                elif deadline is not None and time.monotonic() >= deadline:
                    stopped = "timeout"
                if stopped:
                    _stop(proc)
                    break
                if eof:
                    # The progress pipe is closed; wait for the exit, still polling for stop.
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(_POLL)
                    if proc.returncode is not None:
                        break
                    continue
                if not sel.select(_POLL):
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    eof = True
                    continue
                *lines, buf = (buf + chunk).split(b"\n")
                for report in parser.feed(lines):
                    if on_progress is not None:
                        on_progress(report)
    except BaseException:
        _stop(proc)
        _finish(proc, drain)
        _remove(outputs, cwd)
        raise

    _finish(proc, drain)
    elapsed = time.monotonic() - started
    rc = proc.returncode
    log_tail = list(tail)
    if stopped or rc != 0:
        _remove(outputs, cwd)
        if stopped == "cancel":
            raise RenderCancelled(f"ffmpeg was cancelled after {elapsed:.1f}s")
        if stopped == "timeout":
            raise RenderTimeout(f"ffmpeg timed out after {timeout}s", rc, log_tail)
        raise FFmpegError(f"ffmpeg exited with code {rc}", rc, log_tail)
    if on_progress is not None:
        on_progress(parser.final())
    return RunResult(returncode=rc, elapsed=elapsed, log_tail=log_tail)


class _ProgressParser:
    """Turns FFmpeg's ``key=value`` lines into :class:`Progress`, one per block."""

    def __init__(self, duration: float, started: float) -> None:
        self._duration = duration
        self._started = started
        self._block: dict[str, str] = {}
        self._last = Progress(fraction=0.0, frame=0, fps=0.0, speed=None, out_time=0.0, eta_seconds=None)

    def feed(self, lines: Iterable[bytes]) -> list[Progress]:
        reports = []
        for raw in lines:
            key, sep, value = raw.decode("utf-8", "replace").partition("=")
            if not sep:
                continue
            key, value = key.strip(), value.strip()
            if key != "progress":
                self._block[key] = value
                continue
            # "progress=continue|end" closes a block. The "end" block is only reported,
            # as fraction 1.0, by final() once the exit status says the run succeeded.
            self._last = self._update(self._block)
            self._block = {}
            if value != "end":
                reports.append(self._last)
        return reports

    def final(self) -> Progress:
        return replace(self._last, fraction=1.0, eta_seconds=0.0)

    def _update(self, block: dict[str, str]) -> Progress:
        last = self._last
        out_time = _out_time(block)
        if out_time is None:
            # FFmpeg 9 reports N/A mid-run (e.g. while the mp4 muxer interleaves audio).
            out_time = last.out_time
        fraction = min(max(out_time / self._duration, 0.0), 1.0) if self._duration > 0 else 0.0
        fraction = max(fraction, last.fraction)  # out_time can step back slightly
        elapsed = time.monotonic() - self._started
        eta = elapsed * (1.0 - fraction) / fraction if fraction > 0 else None
        speed = _number(block.get("speed", "").removesuffix("x"))
        return Progress(
            fraction=fraction,
            frame=int(_number(block.get("frame", "")) or last.frame),
            fps=_number(block.get("fps", "")) or 0.0,
            speed=speed,
            out_time=out_time,
            eta_seconds=eta,
        )


def _out_time(block: dict[str, str]) -> float | None:
    # out_time_ms is microseconds too (a historical FFmpeg bug kept for compatibility).
    for key in ("out_time_us", "out_time_ms"):
        value = _number(block.get(key, ""))
        if value is not None:
            return value / 1e6
    return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # "N/A" or missing
        return None


# "[info] Stream mapping:" or "[mp4 @ 0x55d…] [error] Could not…": a line of a run logging
# with the `level` flag (a render's own run, see reelforge.ffmpeg.binary.RENDER_LOGLEVEL).
_LEVEL_TAG = re.compile(r"^((?:\[[^\]]* @ 0x[0-9a-fA-F]+\] )?)\[(\w+)\] ")
_QUIET_LEVELS = frozenset({"info", "verbose", "debug", "trace"})


def _drain(
    stream: IO[bytes], tail: collections.deque[str], stderr_lines: Callable[[str], None] | None
) -> None:
    with stream:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                tagged = _LEVEL_TAG.match(line)
                if tagged is None:
                    tail.append(line)
                elif tagged[2] not in _QUIET_LEVELS:
                    # The tail explains a failure: warnings and errors only, as they read untagged.
                    tail.append(tagged[1] + line[tagged.end() :])
                if stderr_lines is not None:
                    try:
                        stderr_lines(line)
                    except Exception:  # a listener's fault must not stall FFmpeg on a full pipe
                        log.warning("an FFmpeg log listener failed", exc_info=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask FFmpeg to quit (SIGTERM: -nostdin rules out ``q``), then kill its group."""
    if proc.poll() is not None:
        return
    try:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        # FFmpeg flushes its encoders before exiting; that can take a moment.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_GRACE)
    finally:
        # Also reached on a second Ctrl-C during the grace period.
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _finish(proc: subprocess.Popen[bytes], drain: threading.Thread) -> None:
    proc.wait()
    # stderr reaches EOF when FFmpeg exits; the bound only matters if something inherited it.
    drain.join(timeout=5)
    assert proc.stdout is not None
    proc.stdout.close()


def _remove(outputs: Iterable[Path], cwd: Path | None) -> None:
    for path in outputs:
        target = path if cwd is None else Path(cwd, path)
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:  # e.g. a directory: never removed recursively
            log.warning("could not remove partial output %s: %s", target, exc)
