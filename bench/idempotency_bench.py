"""What the idempotency layer adds to ``POST /v1/renders``.

Usage: ``.venv/bin/python bench/idempotency_bench.py [--rounds N] [--requests N]``

One ``reelforge serve`` (a fresh data directory, SQLite, no worker, rate limiting off so only
this layer differs) answers three kinds of render creation, alternated in every round so all
see the same machine state and the same growing queue:

* ``plain``: no ``Idempotency-Key``, the reference;
* ``keyed``: a new key per request (the common case: claim the key in its own transaction,
  store the response in the render's transaction);
* ``replay``: one key sent again and again (the stored response is answered, nothing created).

Each request is a real enqueue (the render stays queued: no worker). Requests go one at a time
over one keep-alive connection, so latency is the server's work plus loopback. Reported per
kind: p50/p90 latency and the server's CPU time per request, medians over the rounds, and
ratios to ``plain``. Written as JSON to ``bench/.cache/idempotency_results.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from api_procs import proc_cpu_seconds, start_reelforge

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / ".cache" / "idempotency_results.json"
EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "#1d3557"}, "length": 2}]}]},
    "outputs": [{"resolution": "360p", "fps": 25, "quality": "draft"}],
}
KINDS = ("plain", "keyed", "replay")


def _batch(client: httpx.Client, kind: str, n: int, pid: int) -> tuple[list[float], float]:
    """``n`` sequential creations of ``kind``: latencies (ms) and server CPU seconds per request."""
    body = json.dumps({"edit": EDIT, "metadata": {"bench": kind}}).encode()
    replay_key = str(uuid.uuid4())
    headers = {"Content-Type": "application/json"}
    if kind == "replay":
        r = client.post("/v1/renders", content=body, headers={**headers, "Idempotency-Key": replay_key})
        assert r.status_code == 202, r.text
    latencies: list[float] = []
    cpu_before = proc_cpu_seconds(pid)
    for _ in range(n):
        extra = {
            "plain": {},
            "keyed": {"Idempotency-Key": str(uuid.uuid4())},
            "replay": {"Idempotency-Key": replay_key},
        }[kind]
        start = time.perf_counter()
        r = client.post("/v1/renders", content=body, headers={**headers, **extra})
        latencies.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 202, r.text
        assert (r.headers.get("idempotent-replayed") == "true") == (kind == "replay")
    return latencies, (proc_cpu_seconds(pid) - cpu_before) / n


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100, help="requests per kind per round")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="rf-idem-bench-"))
    server = start_reelforge(work / "data", extra_env={"REELFORGE_RATE_LIMITING": "false"})
    per_round: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
    try:
        with httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {server.token}"}, timeout=30
        ) as client:
            for kind in KINDS:  # warm-up: connections, caches, the first key row
                _batch(client, kind, 10, server.proc.pid)
            for round_no in range(args.rounds):
                order = KINDS if round_no % 2 == 0 else tuple(reversed(KINDS))
                for kind in order:
                    latencies, cpu = _batch(client, kind, args.requests, server.proc.pid)
                    per_round[kind].append(
                        {
                            "p50": statistics.median(latencies),
                            "p90": _pct(latencies, 0.9),
                            "cpu_ms": cpu * 1000,
                        }
                    )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    summary: dict[str, dict[str, float]] = {
        kind: {m: statistics.median(r[m] for r in rounds) for m in ("p50", "p90", "cpu_ms")}
        for kind, rounds in per_round.items()
    }
    ref = summary["plain"]
    print(f"POST /v1/renders, {args.rounds} rounds x {args.requests} requests per kind (medians over rounds)")
    print(f"{'kind':<8} {'p50 ms':>8} {'p90 ms':>8} {'cpu ms/req':>11} {'p50 ratio':>10} {'cpu ratio':>10}")
    for kind, s in summary.items():
        print(
            f"{kind:<8} {s['p50']:>8.2f} {s['p90']:>8.2f} {s['cpu_ms']:>11.2f} "
            f"{s['p50'] / ref['p50']:>10.2f} {s['cpu_ms'] / ref['cpu_ms']:>10.2f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "rounds": args.rounds,
        "requests": args.requests,
        "summary": summary,
        "ratios": {
            k: {"p50": s["p50"] / ref["p50"], "cpu": s["cpu_ms"] / ref["cpu_ms"]} for k, s in summary.items()
        },
    }
    RESULTS.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
