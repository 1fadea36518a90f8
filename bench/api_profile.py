"""Per-request CPU cost of Reelforge's read endpoints, in-process, with an optional profile.

Usage: ``.venv/bin/python bench/api_profile.py [--requests N] [--profile] [--database URL]``

Builds the app the way ``reelforge serve`` does (``create_app``) on a fresh SQLite database
(or ``--database``), seeds it with rows like ``api_bench.py`` makes (200 image assets with tags
and metadata, a video, a WAV and a queued render), then drives the ASGI app directly with
hand-made ``scope``/``receive``/``send`` callables, so nothing but the app (middleware,
routing, dependencies, database, serialisation, thread-pool hops) costs CPU in this process.
It prints the process CPU time per request (``time.process_time``: every thread, the
thread pool included; the least of 5 batches, as other load only ever inflates it) and, with ``--profile``, a pyinstrument profile of each endpoint.

The figures are comparable across code versions on one machine, not with the HTTP benchmark:
uvicorn's parsing and the socket are not in them. The bare reference (``bare_app.py``'s
``async def`` endpoint returning the same document) is measured the same way for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bare_app import make_app  # noqa: E402
from reelforge.api.app import create_app  # noqa: E402
from reelforge.db.models import Asset, AssetTag, Render, new_id  # noqa: E402
from reelforge.services.context import open_services  # noqa: E402
from reelforge.services.workspaces import bootstrap  # noqa: E402
from reelforge.settings import Settings  # noqa: E402

UNLIMITED = {name: "1000000000/minute" for name in ("reads", "writes", "workspace-reads", "workspace-writes")}
"""Rate limits far above any load: the middleware still runs (its cost is counted) but never refuses."""


def seed(services: Any) -> str:
    """Rows shaped like the benchmark's; returns the render's id."""
    with services.sessions() as db:
        ws = db.execute(__import__("sqlalchemy").text("select id from workspaces")).scalar_one()
        now = datetime.now(UTC)
        for i in range(200):
            aid = new_id("ast")
            db.add(
                Asset(
                    id=aid,
                    workspace_id=ws,
                    name=f"still-{i:03d}.png",
                    kind="image",
                    content_type="image/png",
                    size_bytes=1234 + i,
                    sha256=f"{i:064x}",
                    storage_key=f"{ws}/{aid}/original.png",
                    media={
                        "format": "png_pipe",
                        "duration": None,
                        "duration_exact": None,
                        "width": 32,
                        "height": 32,
                        "coded_width": 32,
                        "coded_height": 32,
                        "rotation": 0,
                        "fps": 25.0,
                        "fps_exact": "25/1",
                        "video_codec": "png",
                        "pix_fmt": "rgb24",
                        "has_alpha": False,
                        "has_video": True,
                        "has_audio": False,
                        "audio_codec": None,
                        "audio_channels": None,
                        "sample_rate": None,
                        "bit_rate": None,
                    },
                    meta={"index": i},
                    source="upload",
                    derived_from={},
                    thumbnail_key=f"{ws}/{aid}/thumbnail.png",
                    created_at=now + timedelta(milliseconds=i),
                )
            )
            db.flush()
            db.add_all([AssetTag(asset_id=aid, tag="bench"), AssetTag(asset_id=aid, tag="still")])
        rid = new_id("rnd")
        db.add(Render(id=rid, seq=1, workspace_id=ws, edit={"timeline": {}}, state="queued", meta={}))
        db.commit()
        return rid


def asgi_get(app: Any, path: str, query: str, token: str) -> Any:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"wrk"),
        (b"accept", b"*/*"),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def call() -> tuple[int, bytes]:
        scope = dict(scope_base)
        status = 0
        body = bytearray()

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await app(scope, receive, send)
        return status, bytes(body)

    return call


async def measure(call: Any, n: int, concurrency: int) -> tuple[float, float, bytes]:
    status, body = await call()
    if status != 200:
        raise RuntimeError(f"status {status}: {body[:500]!r}")
    for _ in range(50):
        await call()
    per_worker = n // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    # The least CPU per request of 5 batches: other processes on a busy machine inflate a batch's
    # CPU time (caches, frequency), never deflate it.
    done = per_worker * concurrency
    best_cpu = best_wall = float("inf")
    for _ in range(5):
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        best_cpu = min(best_cpu, (time.process_time() - cpu) * 1000 / done)
        best_wall = min(best_wall, (time.perf_counter() - wall) * 1000 / done)
    return best_cpu, best_wall, body


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="per batch (5 batches; the best counts)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight at once")
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile per endpoint")
    parser.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--only", action="append", help="renders, assets (repeatable)")
    parser.add_argument(
        "--log",
        choices=("console", "json"),
        help="configure logging as `reelforge serve` does (lines go to /dev/null), so the "
        "request log's cost is counted; the bare app then logs nothing",
    )
    args = parser.parse_args()
    if args.log:
        import logging

        from reelforge.logs import configure_logging

        configure_logging(args.log)
        logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115
    tmp = Path(tempfile.mkdtemp(prefix="reelforge-apiprof-"))
    settings = Settings(
        data_dir=tmp / "data",
        workers=0,
        _env_file=None,  # type: ignore[call-arg]
        rate_limits=UNLIMITED,
        rate_limiting=not os.environ.get("NO_RATE_LIMITING"),
        **({"database_url": args.database} if args.database else {}),
    )
    services = open_services(settings)
    token = bootstrap(services)
    assert token is not None
    render_id = seed(services)
    app = create_app(services=services, start_worker=False)
    if os.environ.get("REORDER_ROUTERS"):  # an experiment: what route matching costs by position
        routes = app.router.routes
        hot = [
            r
            for r in routes
            if any(
                getattr(x, "path", "") in ("/v1/assets", "/v1/renders/{render_id}")
                for x in getattr(getattr(r, "original_router", None), "routes", [])
            )
        ]
        routes[:] = hot + [r for r in routes if r not in hot]
        app.router._mark_routes_changed()

    async def run() -> None:
        targets = {"renders": (f"/v1/renders/{render_id}", ""), "assets": ("/v1/assets", "limit=50")}
        for name, (path, query) in targets.items():
            if args.only and name not in args.only:
                continue
            call = asgi_get(app, path, query, token)
            cpu, wall, body = await measure(call, args.requests, args.concurrency)
            bare = make_app({"doc": json.loads(body)})
            bcpu, _bwall, _ = await measure(
                asgi_get(bare, "/doc/doc", "", token), args.requests, args.concurrency
            )
            print(
                f"{name:<8} reelforge {cpu:7.3f} ms CPU/req ({wall:7.3f} wall)   bare {bcpu:7.3f} ms CPU/req   "
                f"bare/ours {bcpu / cpu:5.2f}   body {len(body)} B",
                flush=True,
            )
            if args.profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0002, async_mode="disabled")
                profiler.start()
                await measure(call, min(args.requests, 200), args.concurrency)
                profiler.stop()
                print(
                    profiler.output_text(
                        unicode=False,
                        color=False,
                        show_all=bool(os.environ.get("PROFILE_ALL")),
                        timeline=False,
                    )
                )

    async def lifespan_run() -> None:
        await run()

    asyncio.run(lifespan_run())
    services.engine.dispose()


if __name__ == "__main__":
    main()
