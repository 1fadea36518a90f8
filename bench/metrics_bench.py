"""What the HTTP metrics middleware costs per request, measured inside one process.

Usage: ``.venv/bin/python bench/metrics_bench.py [--requests 3000] [--rounds 7]``

``api_bench.py --metrics-overhead`` measures the same over loopback at a fixed rate, which is
what a client sees; on a busy machine its latencies are dominated by the other load. This one
calls two instances of the real app directly as ASGI (no socket, no client), one with
``REELFORGE_METRICS_ENABLED`` and one without, on the same data, alternating in every round,
and reports the CPU time per request of each and their ratio (median over rounds):

* ``GET /healthz``: the cheapest route; the middleware's share is the largest here.
* ``GET /v1/renders/{id}``: a typical authenticated read (credential cache, database read,
  rate limiter, the response's headers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reelforge.api.app import create_app  # noqa: E402
from reelforge.services.context import open_services  # noqa: E402
from reelforge.services.workspaces import bootstrap  # noqa: E402
from reelforge.settings import Settings  # noqa: E402

EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]},
    "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
}


async def call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="requests per app, route and round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reelforge-metricsbench-"))
    limits = {
        n: "1000000000/minute"
        for n in ("reads", "writes", "renders", "workspace-reads", "workspace-writes", "workspace-renders")
    }
    base = Settings(
        data_dir=work / "data", workers=0, webhooks_dispatcher=False, rate_limits=limits, _env_file=None
    )  # type: ignore[call-arg]
    services = open_services(base)
    token = bootstrap(services)
    assert token is not None
    apps = {
        "with": create_app(services=services, start_worker=False),
        "without": create_app(
            base.model_copy(update={"metrics_enabled": False}), services=services, start_worker=False
        ),
    }
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"host", b"127.0.0.1:8000")]

    async def run() -> dict[str, dict[str, list[float]]]:
        body = b'{"edit": ' + json.dumps(EDIT).encode() + b"}"
        status = await call(
            apps["with"], "POST", "/v1/renders", [*headers, (b"content-type", b"application/json")], body
        )
        assert status == 202, status
        from sqlalchemy import select

        from reelforge.db.models import Render

        with services.sessions() as db:
            render_id = db.scalar(select(Render.id))
        routes = {"GET /healthz": "/healthz", "GET /v1/renders/{id}": f"/v1/renders/{render_id}"}
        times: dict[str, dict[str, list[float]]] = {r: {"with": [], "without": []} for r in routes}
        for path in routes.values():  # warm-up: caches, the route table, first imports
            for app in apps.values():
                for _ in range(200):
                    assert await call(app, "GET", path, headers) == 200
        for rnd in range(args.rounds):
            for name, path in routes.items():
                order = ("with", "without") if rnd % 2 == 0 else ("without", "with")
                for which in order:
                    app = apps[which]
                    started = time.process_time()
                    for _ in range(args.requests):
                        await call(app, "GET", path, headers)
                    times[name][which].append((time.process_time() - started) / args.requests * 1e6)
        return times

    times = asyncio.run(run())
    print(
        f"\nHTTP metrics middleware: CPU time per request, in process ({args.rounds} rounds x {args.requests} requests)"
    )
    print(f"{'route':<22} {'with µs':>9} {'without µs':>11} {'ratio':>7} {'added µs':>9}  rounds (ratio)")
    for name, by in times.items():
        ratios = [a / b for a, b in zip(by["with"], by["without"], strict=True)]
        with_us, without_us = statistics.median(by["with"]), statistics.median(by["without"])
        print(
            f"{name:<22} {with_us:>9.1f} {without_us:>11.1f} {statistics.median(ratios):>7.3f} "
            f"{with_us - without_us:>9.1f}  " + ", ".join(f"{r:.3f}" for r in ratios)
        )
    # The middleware's own bookkeeping (a timer, two label lookups, two updates), timed alone:
    # far steadier than the whole request on a busy machine.
    from reelforge import metrics

    n = 100_000
    started = time.process_time()
    for _ in range(n):
        begun = time.perf_counter()
        metrics.HTTP_DURATION.labels("/healthz", "GET").observe(time.perf_counter() - begun)
        metrics.HTTP_REQUESTS.labels("/healthz", "GET", "200").inc()
    alone = (time.process_time() - started) / n * 1e6
    healthz = statistics.median(times["GET /healthz"]["without"])
    print(
        f"bookkeeping alone: {alone:.2f} µs per request = {alone / healthz:.4f} of a /healthz request "
        f"without metrics ({healthz:.1f} µs)"
    )
    services.engine.dispose()


if __name__ == "__main__":
    main()
