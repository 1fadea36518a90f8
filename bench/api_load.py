"""Load generation for ``api_bench.py``, always in a process of its own.

Two modes:

* ``max``: a fixed number of connections (``concurrency``), each sending its next request as
  soon as the previous answer arrived, for ``duration`` seconds: the server's throughput.
  ``wrk`` does this when it is installed (it is far cheaper per request than any Python
  client, so it takes less CPU from the server on a small machine); otherwise this module's
  own generator does (``python bench/api_load.py ...``).
* ``rate``: requests started on a fixed schedule (``rate`` per second, open loop) over a pool
  of keep-alive connections, for ``duration`` seconds: the latency a client sees at a
  moderate load. A request's latency counts from the moment it was *due*, so a server that
  stalls is not flattered by the client waiting for it ("coordinated omission"). Always this
  module's generator (``wrk`` has no fixed-rate mode).

The generator speaks HTTP/1.1 over asyncio streams with keep-alive, reading each answer by
its ``Content-Length`` (uvicorn sends one for JSON). Every answer's status is checked; errors
are counted and reported, never silently timed. The result is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["LoadResult", "run_load", "wrk_path"]

REQUEST_TIMEOUT = 10.0


@dataclass
class LoadResult:
    tool: str
    mode: str
    requests: int
    """Answers timed (2xx only; errors are counted apart)."""
    errors: int
    """Non-2xx answers, timeouts and connection failures."""
    duration: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    answered: int = 0
    """Every answer the server sent during the run, warm-up and errors included (to divide
    the server's CPU time by)."""
    cpu_seconds: float = 0.0
    """CPU time of the load generator process."""
    note: str = ""


# ------------------------------------------------------------------ the Python generator


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    async def send(self, request: bytes) -> int:
        """Send one request, read the whole answer; return its status."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked answers are not supported by this generator")
        if length is None:
            raise RuntimeError("an answer without Content-Length")
        if length:
            await self.reader.readexactly(length)
        return status


async def _connect(host: str, port: int) -> _Conn:
    reader, writer = await asyncio.open_connection(host, port)
    return _Conn(reader, writer)


def _request_bytes(url: str, headers: dict[str, str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host}:{port}",
        "Accept: application/json",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest rank: the smallest sample with at least ``q`` of all samples at or below it."""
    if not sorted_ms:
        return float("nan")
    rank = min(len(sorted_ms), max(1, math.ceil(q * len(sorted_ms) - 1e-9)))
    return sorted_ms[rank - 1]


def _summary(
    tool: str, mode: str, latencies: list[float], errors: int, duration: float, answered: int, note: str = ""
) -> LoadResult:
    ms = sorted(x * 1000 for x in latencies)
    return LoadResult(
        tool,
        mode,
        len(ms),
        errors,
        round(duration, 3),
        round(len(ms) / duration, 1) if duration else 0.0,
        round(_percentile(ms, 0.50), 3),
        round(_percentile(ms, 0.90), 3),
        round(_percentile(ms, 0.99), 3),
        round(ms[-1], 3) if ms else float("nan"),
        answered=answered,
        note=note,
    )


async def _max_mode(
    url: str, headers: dict[str, str], concurrency: int, duration: float, warmup: float, max_requests: int
) -> LoadResult:
    host, port, request = _request_bytes(url, headers)
    latencies: list[float] = []
    errors = 0
    answered = 0
    start = time.perf_counter()
    window = start + warmup
    end = window + duration

    async def worker() -> None:
        nonlocal errors, answered
        conn: _Conn | None = None
        while (now := time.perf_counter()) < end and len(latencies) < max_requests:
            try:
                if conn is None:
                    conn = await _connect(host, port)
                status = await asyncio.wait_for(conn.send(request), REQUEST_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                errors += 1
                conn = None
                continue
            done = time.perf_counter()
            answered += 1
            if now >= window:
                if 200 <= status < 300:
                    latencies.append(done - now)
                else:
                    errors += 1
        if conn is not None:
            conn.writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    measured = min(time.perf_counter(), end) - window
    return _summary("python", "max", latencies, errors, measured, answered)


async def _rate_mode(
    url: str, headers: dict[str, str], concurrency: int, duration: float, warmup: float, rate: float
) -> LoadResult:
    host, port, request = _request_bytes(url, headers)
    pool: asyncio.Queue[_Conn | None] = asyncio.Queue()
    for _ in range(concurrency):
        pool.put_nowait(None)  # connections are opened on first use and then kept
    latencies: list[float] = []
    errors = 0
    answered = 0
    late_starts = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(due: float, timed: bool) -> None:
        nonlocal errors, answered
        conn = await pool.get()
        try:
            if conn is None:
                conn = await _connect(host, port)
            status = await asyncio.wait_for(conn.send(request), REQUEST_TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
            errors += timed
            pool.put_nowait(None)
            return
        done = time.perf_counter()
        answered += 1
        pool.put_nowait(conn)
        if timed:
            if 200 <= status < 300:
                latencies.append(done - due)
            else:
                errors += 1

    total = int((warmup + duration) * rate)
    skip = int(warmup * rate)
    start = time.perf_counter() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            late_starts += 1  # this process fell behind its schedule (the latency still counts from `due`)
        task = asyncio.create_task(one(due, i >= skip))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT + 5)
    while not pool.empty():
        conn = pool.get_nowait()
        if conn is not None:
            conn.writer.close()
    note = f"{late_starts} requests started >5 ms late by the generator" if late_starts else ""
    return _summary("python", "rate", latencies, errors, duration, answered, note)


# ------------------------------------------------------------------ wrk


def wrk_path() -> str | None:
    return shutil.which("wrk")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _wrk_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if m is None:
        raise ValueError(f"cannot read a wrk duration {text!r}")
    return float(m[1]) * _UNITS[m[2]]


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, percentiles, the latency maximum and error counts from ``wrk --latency``."""
    found: dict[str, float] = {}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", output):
        found["rps"] = float(m[1])
    if m := re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", output):
        found["requests"] = int(m[1])
        found["duration"] = _wrk_ms(m[2] + m[3]) / 1000
    for pct in ("50", "90", "99"):
        if m := re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M):
            found[f"p{pct}_ms"] = _wrk_ms(m[1])
    if m := re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", output, re.M):
        found["max_ms"] = _wrk_ms(m[1])
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        errors += int(m[1])
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(g) for g in m.groups())
    found["errors"] = errors
    missing = {"rps", "requests", "duration", "p50_ms", "p99_ms"} - found.keys()
    if missing:
        raise ValueError(f"wrk's output lacks {sorted(missing)}:\n{output}")
    return found


# ------------------------------------------------------------------ running it as a process


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> float:
    """Reap ``proc`` (killing it past ``timeout``); return its CPU seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(0.02)


def run_load(
    url: str,
    headers: dict[str, str],
    *,
    mode: str,
    concurrency: int,
    duration: float,
    warmup: float = 0.5,
    rate: float = 100.0,
    max_requests: int = 2_000_000,
    use_wrk: bool = True,
) -> LoadResult:
    """Load ``url`` from a separate process and return what it measured."""
    wrk = wrk_path() if use_wrk and mode == "max" else None
    warmed = 0
    if wrk is not None:
        if warmup > 0:  # wrk has no warm-up phase: a short untimed run first
            pre = subprocess.run(
                [
                    wrk,
                    "-t1",
                    f"-c{concurrency}",
                    f"-d{max(1, round(warmup))}s",
                    url,
                    *(a for k, v in headers.items() for a in ("-H", f"{k}: {v}")),
                ],
                capture_output=True,
                check=False,
                timeout=warmup + 30,
                text=True,
            )
            if m := re.search(r"(\d+) requests in", pre.stdout):
                warmed = int(m[1])
        cmd = [
            wrk,
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            f"--timeout={REQUEST_TIMEOUT:.0f}s",
            *(a for k, v in headers.items() for a in ("-H", f"{k}: {v}")),
            url,
        ]
    else:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--url",
            url,
            "--mode",
            mode,
            "--concurrency",
            str(concurrency),
            "--duration",
            str(duration),
            "--warmup",
            str(warmup),
            "--rate",
            str(rate),
            "--max-requests",
            str(max_requests),
            *(a for k, v in headers.items() for a in ("--header", f"{k}: {v}")),
        ]
    # Output to files, not pipes: the process is reaped with wait4 (for its CPU time), which
    # Popen.communicate would do first.
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out_f, stderr=err_f)
        cpu = _wait(proc, duration + warmup + 60)
        out_f.seek(0)
        err_f.seek(0)
        out = out_f.read().decode("utf-8", "replace")
        err = err_f.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} exited with {proc.returncode}:\n{err[-2000:]}")
    if wrk is not None:
        w = parse_wrk(out)
        result = LoadResult(
            "wrk",
            mode,
            int(w["requests"]),
            int(w["errors"]),
            w["duration"],
            w["rps"],
            w["p50_ms"],
            w.get("p90_ms", float("nan")),
            w["p99_ms"],
            w.get("max_ms", float("nan")),
            answered=warmed + int(w["requests"]),
        )
    else:
        result = LoadResult(**json.loads(out))
    result.cpu_seconds = round(cpu, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="HTTP load generator (see the module docstring).")
    parser.add_argument("--url", required=True)
    parser.add_argument("--header", action="append", default=[], help="'Name: value'; repeatable")
    parser.add_argument("--mode", choices=("max", "rate"), default="max")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds timed")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds sent before timing starts")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second in rate mode")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="stop after this many (max mode)")
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    if args.mode == "max":
        result = asyncio.run(
            _max_mode(args.url, headers, args.concurrency, args.duration, args.warmup, args.max_requests)
        )
    else:
        result = asyncio.run(
            _rate_mode(args.url, headers, args.concurrency, args.duration, args.warmup, args.rate)
        )
    json.dump(asdict(result), sys.stdout)


if __name__ == "__main__":
    main()
