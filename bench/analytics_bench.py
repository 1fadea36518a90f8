"""``GET /v1/analytics/renders`` over 100,000 renders on the embedded default (SQLite).

Usage: ``.venv/bin/python bench/analytics_bench.py [--renders N] [--days D] [--rounds R]``

A fresh data directory gets the service's schema (every migration) and ``--renders`` renders
(default 100,000) of one workspace, created over ``--days`` (default 60) days: states, failure
codes, seconds queued and running, output totals, 0-2 campaign tags and 1-2 output formats each,
as the render job writes them. The app is served by uvicorn on loopback and queried with httpx
over keep-alive HTTP, for the 30 days before the newest render (about half the renders), with
each ``group_by`` and with none. Requests are interleaved round by round, so every variant sees
the same machine state.

References, measured in the same run: the same HTTP route answering ``GET /v1/workspace``
(the cost of a request: authentication, middleware, JSON) and a plain ``SELECT count(*)`` of the
same 30 days' renders on the same database (what reading the rows costs, without HTTP). Reported
per variant: p50 and p95 in ms and the p95 as a ratio to each reference. The target: a p95
below 200 ms on the embedded default.

Before and after, in the same run (``--no-compare`` skips it): each grouping is also computed
in-process (no HTTP) by the service (``render_facts``, migration 0019) and by the SQL it replaced
(``bench/analytics_previous.py``: ``renders`` and a window function), after checking that both
give the same figures on this data set; reported as p50/p95 and the previous p95 over the new.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, insert, select, text

from analytics_previous import render_analytics as previous_analytics
from reelforge.api.app import create_app
from reelforge.db.facts import create_fact_triggers, drop_fact_triggers, fact_backfill
from reelforge.db.models import Render, RenderLabel, new_id
from reelforge.services.analytics import render_analytics
from reelforge.services.context import open_services
from reelforge.services.workspaces import bootstrap
from reelforge.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / ".cache" / "analytics_results.json"
GROUPS = (None, "tag", "template", "batch", "format", "locale", "day")
CODES = ("ffmpeg_failed", "asset_missing", "timeout", "media_invalid")
STATES = ("succeeded",) * 8 + ("failed", "cancelled")


def seed(services: Any, workspace_id: str, count: int, days: int, now: datetime) -> None:
    rng = random.Random(16)
    templates = [f"tpl_{i:02d}" for i in range(20)]
    batches = [f"bat_{i:03d}" for i in range(200)]
    renders, labels = [], []
    for i in range(count):
        created = now - timedelta(seconds=rng.uniform(0, days * 86400))
        state = rng.choice(STATES)
        finished = state != "cancelled"
        queue = rng.uniform(0, 20) if finished else None
        run = rng.expovariate(1 / 15) if finished else None
        render_id = new_id("rnd")
        tags = rng.sample(["spring", "summer", "autumn", "winter", "emea", "apac"], rng.randint(0, 2))
        renders.append(
            {
                "id": render_id,
                "seq": i,
                "workspace_id": workspace_id,
                "edit": {},
                "state": state,
                "progress": 100.0,
                "attempts": 1,
                "cancel_requested": state == "cancelled",
                "meta": {},
                "outputs": [],
                "log_tail": "",
                "tags": tags,
                "created_at": created,
                "started_at": created + timedelta(seconds=queue) if queue is not None else None,
                "finished_at": created + timedelta(seconds=(queue or 0) + (run or 0)),
                "failure_code": rng.choice(CODES) if state == "failed" else None,
                "queue_seconds": queue,
                "run_seconds": run,
                "output_seconds": rng.choice((6.0, 15.0, 30.0)) if state == "succeeded" else None,
                "output_bytes": rng.randint(100_000, 20_000_000) if state == "succeeded" else None,
                "template_id": rng.choice(templates),
                "batch_id": rng.choice(batches) if rng.random() < 0.6 else None,
                "locale": rng.choice(("en-US", "fr-FR", "de-DE", "ja-JP")),
            }
        )
        labels += [{"render_id": render_id, "kind": "tag", "value": t} for t in tags]
        labels += [
            {"render_id": render_id, "kind": "format", "value": f}
            for f in rng.sample(["mp4", "webm", "gif"], rng.randint(1, 2))
        ]
    # Written as migration 0019 copies renders stored before it: without the triggers that keep
    # render_facts, then copied into it at once (row by row, the triggers make seeding slow).
    dialect = services.engine.dialect.name
    with services.sessions() as db:
        for statement in drop_fact_triggers(dialect):
            db.execute(text(statement))
        for start in range(0, len(renders), 5000):
            db.execute(insert(Render), renders[start : start + 5000])
        for start in range(0, len(labels), 10000):
            db.execute(insert(RenderLabel), labels[start : start + 10000])
        for statement in fact_backfill(dialect):
            db.execute(text(statement))
        for statement in create_fact_triggers(dialect):
            db.execute(text(statement))
        db.commit()
    with services.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


@contextmanager
def served(app: Any) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        help="skip the in-process before/after comparison with the previous SQL",
    )
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="reelforge-analytics-bench-") as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data", workers=0, rate_limiting=False, log_format="json", _env_file=None
        )  # type: ignore[call-arg]
        services = open_services(settings)
        token = bootstrap(services)
        assert token is not None
        with services.sessions() as db:
            from reelforge.db.models import Workspace

            workspace_id = db.scalars(select(Workspace.id)).one()
        started = time.monotonic()
        seed(services, workspace_id, args.renders, args.days, now)
        print(f"seeded {args.renders} renders over {args.days} days in {time.monotonic() - started:.1f} s")
        start, end = now - timedelta(days=30), now + timedelta(seconds=1)
        with services.engine.connect() as conn:
            in_range = conn.scalar(
                select(func.count())
                .select_from(Render)
                .where(
                    Render.workspace_id == workspace_id, Render.created_at >= start, Render.created_at < end
                )
            )
        print(f"{in_range} renders in the 30 days queried")
        params = {
            "from": start.isoformat().replace("+00:00", "Z"),
            "to": end.isoformat().replace("+00:00", "Z"),
        }
        timings: dict[str, list[float]] = {}
        in_process: list[tuple[str, Any]] = []
        if args.compare:
            for group in GROUPS:
                for label, compute in (("service", render_analytics), ("previous", previous_analytics)):

                    def call(group: Any = group, compute: Any = compute) -> dict[str, Any]:
                        with services.engine.connect() as conn:
                            found: dict[str, Any] = compute(
                                conn, workspace_id, group_by=group, start=start, end=end
                            )
                            return found

                    in_process.append((f"{label} {group or '(none)'}", call))
            for group in GROUPS:  # the same figures, or the comparison means nothing
                with services.engine.connect() as conn:
                    new = render_analytics(conn, workspace_id, group_by=group, start=start, end=end)
                    old = previous_analytics(conn, workspace_id, group_by=group, start=start, end=end)
                if new != old:
                    raise SystemExit(f"group_by={group}: the service and the previous SQL disagree")
            print("the service and the previous SQL give the same figures for every grouping")
        app = create_app(services=services)
        with (
            served(app) as base,
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=300) as client,
        ):
            variants: list[tuple[str, Any]] = [
                ("GET /v1/workspace (reference)", lambda: client.get("/v1/workspace"))
            ]
            variants.append(("SELECT count(*) (reference)", None))
            for group in GROUPS:
                query = {**params, **({"group_by": group} if group else {})}
                variants.append(
                    (
                        f"group_by={group or '(none)'}",
                        lambda q=query: client.get("/v1/analytics/renders", params=q),
                    )
                )
            for round_ in range(args.rounds + 2):  # two warm-up rounds, not counted
                for name, compute in in_process:
                    t0 = time.perf_counter()
                    compute()
                    if round_ >= 2:
                        timings.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
                for name, call in variants:
                    t0 = time.perf_counter()
                    if call is None:
                        with services.engine.connect() as conn:
                            conn.scalar(
                                select(func.count())
                                .select_from(Render)
                                .where(
                                    Render.workspace_id == workspace_id,
                                    Render.created_at >= start,
                                    Render.created_at < end,
                                )
                            )
                    else:
                        response = call()
                        if response.status_code != 200:
                            raise SystemExit(f"{name}: {response.status_code} {response.text}")
                    elapsed = (time.perf_counter() - t0) * 1000
                    if round_ >= 2:
                        timings.setdefault(name, []).append(elapsed)
        services.engine.dispose()
    request_ref = quantile(timings["GET /v1/workspace (reference)"], 0.95)
    count_ref = quantile(timings["SELECT count(*) (reference)"], 0.95)
    rows = []
    print(f"\n{'variant':34} {'p50 ms':>8} {'p95 ms':>8} {'x request':>10} {'x count(*)':>11}")
    for name, values in timings.items():
        if name.startswith(("service ", "previous ")):
            continue
        p50, p95 = statistics.median(values), quantile(values, 0.95)
        rows.append(
            {
                "variant": name,
                "p50_ms": p50,
                "p95_ms": p95,
                "x_request": p95 / request_ref,
                "x_count": p95 / count_ref,
            }
        )
        print(f"{name:34} {p50:8.1f} {p95:8.1f} {p95 / request_ref:10.1f} {p95 / count_ref:11.1f}")
    worst = max(r["p95_ms"] for r in rows if r["variant"].startswith("group_by"))
    print(f"\nslowest analytics p95: {worst:.1f} ms (target < 200 ms)")
    before_after = []
    if args.compare:
        print(
            f"\n{'in-process, no HTTP':20} {'new p50':>8} {'new p95':>8} {'old p50':>8} {'old p95':>8} {'old/new':>8}"
        )
        for group in GROUPS:
            new, old = timings[f"service {group or '(none)'}"], timings[f"previous {group or '(none)'}"]
            entry = {
                "group_by": group,
                "new_p50_ms": statistics.median(new),
                "new_p95_ms": quantile(new, 0.95),
                "previous_p50_ms": statistics.median(old),
                "previous_p95_ms": quantile(old, 0.95),
            }
            entry["previous_over_new_p95"] = entry["previous_p95_ms"] / entry["new_p95_ms"]
            before_after.append(entry)
            print(
                f"{group or '(none)':20} {entry['new_p50_ms']:8.1f} {entry['new_p95_ms']:8.1f} "
                f"{entry['previous_p50_ms']:8.1f} {entry['previous_p95_ms']:8.1f} "
                f"{entry['previous_over_new_p95']:8.1f}"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "renders": args.renders,
                "days": args.days,
                "in_range": in_range,
                "rounds": args.rounds,
                "rows": rows,
                "before_after": before_after,
            },
            indent=2,
        )
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
