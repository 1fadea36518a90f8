"""What the rate-limit layer costs on ``GET /v1/renders/{id}`` and ``POST /v1/renders``.

Usage: ``.venv/bin/python bench/ratelimit_bench.py [--rounds N] [--duration S] [--no-redis]``

Three ``reelforge serve`` processes (fresh data directories, SQLite, no worker) differ only in
their rate limiting:

* ``off``: ``REELFORGE_RATE_LIMITING=false`` (no middleware at all), the reference;
* ``memory``: the default in-process limiter;
* ``redis``: the limiter in the machine's Redis (one Lua script call per request), when one
  answers at ``REELFORGE_BENCH_REDIS`` (default ``redis://127.0.0.1:6379/0``).

The limiting servers get quotas far above what the run can send, so every request goes through
the whole check (authentication, every policy of the request, the headers) and none is
refused: the cost measured is the layer's, not a 429's. Each round loads every server in turn
from a separate process (``api_load.py`` for the GET, this script's own keep-alive POST
generator for render creation), so all three see the same machine state. Reported per
endpoint and server: requests/s, p50/p99 and the server's CPU time per request (what the layer
adds, less disturbed by other load on the machine than wall-clock figures), medians over the
rounds, and their ratios to ``off``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from api_load import LoadResult, _connect, _summary, run_load
from api_procs import Server, proc_cpu_seconds, start_reelforge

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / ".cache" / "ratelimit_results.json"
REDIS_URL = os.environ.get("REELFORGE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "#1d3557"}, "length": 2}]}]},
    "outputs": [{"resolution": "360p", "fps": 25, "quality": "draft"}],
}
HUGE = "1000000000/minute"
POLICIES = ("reads", "writes", "renders", "workspace-reads", "workspace-writes", "workspace-renders")


# ------------------------------------------------------------------ the POST generator


async def _post_max(
    url: str, headers: dict[str, str], body: bytes, concurrency: int, duration: float, warmup: float
) -> LoadResult:
    parts = httpx.URL(url)
    host, port = parts.host, parts.port or 80
    lines = [
        f"POST {parts.raw_path.decode()} HTTP/1.1",
        f"Host: {host}:{port}",
        "Accept: application/json",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    latencies: list[float] = []
    errors = answered = 0
    start = time.perf_counter()
    window, end = start + warmup, start + warmup + duration

    async def worker() -> None:
        nonlocal errors, answered
        conn = None
        while (now := time.perf_counter()) < end:
            try:
                if conn is None:
                    conn = await _connect(host, port)
                status = await asyncio.wait_for(conn.send(request), 10)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                errors += 1
                conn = None
                continue
            answered += 1
            if now >= window:
                if 200 <= status < 300:
                    latencies.append(time.perf_counter() - now)
                else:
                    errors += 1
        if conn is not None:
            conn.writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return _summary("python", "max", latencies, errors, min(time.perf_counter(), end) - window, answered)


def post_load(
    url: str, headers: dict[str, str], body: bytes, *, concurrency: int, duration: float, warmup: float = 0.5
) -> LoadResult:
    """Load ``url`` with POSTs of ``body`` from a separate process."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--post-load",
        url,
        "--body",
        body.decode(),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        *(a for k, v in headers.items() for a in ("--header", f"{k}: {v}")),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + warmup + 60, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the POST generator failed:\n{out.stderr[-2000:]}")
    return LoadResult(**json.loads(out.stdout))


# ------------------------------------------------------------------ the run


def start(name: str, work: Path, env: dict[str, str]) -> tuple[Server, str]:
    server = start_reelforge(work / name, workers=0, extra_env=env)
    with httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    ) as c:
        r = c.post("/v1/renders", json={"edit": EDIT})
        r.raise_for_status()
        render_id = r.json()["id"]
        r = c.get(f"/v1/renders/{render_id}")
        r.raise_for_status()
        limited = "ratelimit" in r.headers
    if limited != (name != "off"):
        raise RuntimeError(f"{name}: RateLimit headers {'present' if limited else 'missing'}")
    return server, render_id


def measure(server: Server, kind: str, path: str, args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {server.token}"}
    cpu0 = proc_cpu_seconds(server.pid)
    if kind == "get":
        res = run_load(
            server.base + path,
            headers,
            mode="max",
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=0.5,
            use_wrk=False,
        )
    else:
        res = post_load(
            server.base + path,
            headers,
            json.dumps({"edit": EDIT}).encode(),
            concurrency=args.post_concurrency,
            duration=args.duration,
        )
    cpu = proc_cpu_seconds(server.pid) - cpu0
    answered = res.answered or res.requests
    return {**asdict(res), "server_cpu_us_per_request": round(cpu / answered * 1e6, 1) if answered else None}


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per timed run")
    parser.add_argument("--concurrency", type=int, default=16, help="connections for the GET runs")
    parser.add_argument("--post-concurrency", type=int, default=4, help="connections for the POST runs")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS)
    # The POST generator's own process:
    parser.add_argument("--post-load", help=argparse.SUPPRESS)
    parser.add_argument("--body", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=float, default=0.5, help=argparse.SUPPRESS)
    parser.add_argument("--header", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.post_load:
        headers = dict(h.split(": ", 1) for h in args.header)
        res = asyncio.run(
            _post_max(
                args.post_load, headers, args.body.encode(), args.concurrency, args.duration, args.warmup
            )
        )
        print(json.dumps(asdict(res)))
        return

    configs: dict[str, dict[str, str]] = {"off": {"REELFORGE_RATE_LIMITING": "false"}}
    limits = json.dumps(dict.fromkeys(POLICIES, HUGE))
    configs["memory"] = {"REELFORGE_RATE_LIMITS": limits}
    prefix = f"rfbench:{uuid.uuid4().hex[:8]}:"
    if not args.no_redis:
        try:
            import redis

            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
            configs["redis"] = {
                "REELFORGE_RATE_LIMITS": limits,
                "REELFORGE_REDIS_URL": REDIS_URL,
                "REELFORGE_REDIS_PREFIX": prefix,
            }
        except Exception as exc:
            print(f"no Redis at {REDIS_URL} ({exc}): measuring without it")
    work = Path(tempfile.mkdtemp(prefix="reelforge-rlbench-"))
    servers: dict[str, tuple[Server, str]] = {}
    runs: list[dict[str, Any]] = []
    try:
        for name, env in configs.items():
            print(f"starting {name} ...", flush=True)
            servers[name] = start(name, work, env)
        for server, render_id in servers.values():  # warm-up, untimed
            measure(
                server,
                "get",
                f"/v1/renders/{render_id}",
                argparse.Namespace(**{**vars(args), "duration": 1.0}),
            )
        for rnd in range(1, args.rounds + 1):
            for kind in ("get", "post"):
                for name, (server, render_id) in servers.items():
                    path = f"/v1/renders/{render_id}" if kind == "get" else "/v1/renders"
                    run = {"round": rnd, "kind": kind, "server": name, **measure(server, kind, path, args)}
                    runs.append(run)
                    print(
                        f"  round {rnd} {kind:<4} {name:<6} {run['rps']:>8.1f} req/s  p50 {run['p50_ms']:6.2f} ms  "
                        f"p99 {run['p99_ms']:6.2f} ms  cpu {run['server_cpu_us_per_request']} us/req  "
                        f"errors {run['errors']}",
                        flush=True,
                    )
        rows = []
        for kind in ("get", "post"):
            base: dict[str, float] = {}
            for name in servers:
                picked = [r for r in runs if r["kind"] == kind and r["server"] == name]
                row = {
                    "endpoint": "GET /v1/renders/{id}" if kind == "get" else "POST /v1/renders",
                    "server": name,
                    "rps": median([r["rps"] for r in picked]),
                    "p50_ms": median([r["p50_ms"] for r in picked]),
                    "p99_ms": median([r["p99_ms"] for r in picked]),
                    "cpu_us": median([r["server_cpu_us_per_request"] for r in picked]),
                    "errors": sum(r["errors"] for r in picked),
                }
                if name == "off":
                    base = row
                row["rps_ratio"] = round(row["rps"] / base["rps"], 3)
                row["p50_ratio"] = round(row["p50_ms"] / base["p50_ms"], 3)
                row["cpu_ratio"] = round(row["cpu_us"] / base["cpu_us"], 3)
                rows.append(row)
        print(
            f"\n{'endpoint':<22} {'limits':<7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu us':>7} "
            f"{'req/s vs off':>12} {'p50 vs off':>10} {'cpu vs off':>10}"
        )
        for row in rows:
            print(
                f"{row['endpoint']:<22} {row['server']:<7} {row['rps']:>8.1f} {row['p50_ms']:>7.2f} "
                f"{row['p99_ms']:>7.2f} {row['cpu_us']:>7.0f} {row['rps_ratio']:>12.3f} {row['p50_ratio']:>10.3f} "
                f"{row['cpu_ratio']:>10.3f}"
            )
        meta = {
            "rounds": args.rounds,
            "duration": args.duration,
            "concurrency": args.concurrency,
            "post_concurrency": args.post_concurrency,
            "cpus": os.cpu_count(),
            "loadavg_end": os.getloadavg(),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"meta": meta, "rows": rows, "runs": runs}, indent=1), encoding="utf-8"
        )
        print(f"\nresults: {args.json}")
    finally:
        for server, _ in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
        if "redis" in configs:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)


if __name__ == "__main__":
    main()
