"""Reelforge's webhook dispatch throughput against a bare HTTP client, in the same run.

Usage: ``.venv/bin/python bench/webhook_bench.py [--messages N] [--runs N] [--endpoints N]
[--database sqlite|postgresql]``

1. Starts ``bench/bare_app.py`` (a FastAPI app under uvicorn, in its own process) as the
   receiver: its ``POST /sink`` reads the body and answers 200, so both contenders pay the same
   receiving cost.
2. Runs ``--runs`` rounds (after an untimed warm-up), each alternating:
   * ``reference``: one ``httpx.AsyncClient`` (keep-alive) POSTs N Standard Webhooks requests,
     each signed with a fresh timestamp (the same bytes and headers the dispatcher sends), at
     most ``webhooks_max_in_flight`` (10) at once per endpoint: the least any sender must do;
   * ``reelforge``: N events are committed to the outbox in one transaction, and the clock runs
     until the dispatcher has delivered and recorded every one: fan-out into messages and
     deliveries, claiming, the SSRF-checked pinned connection, signing, the POST, and the
     attempt log and delivery state written to the database, each in its own transaction.
   Deliveries per second, and their ratio (reelforge / reference), are reported as medians.
3. The database is SQLite (a file under a temporary directory) unless ``--database
   postgresql`` (``REELFORGE_TEST_POSTGRES``, a schema made and dropped here).

The results are printed and written as JSON to ``bench/.cache/webhook_results.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import func, select

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from api_procs import start_bare  # noqa: E402
from reelforge.db.events import record_event  # noqa: E402
from reelforge.db.models import Workspace, new_id, utcnow  # noqa: E402
from reelforge.db.webhooks import WebhookDelivery, WebhookEndpoint  # noqa: E402
from reelforge.services.context import open_services  # noqa: E402
from reelforge.services.workspaces import bootstrap  # noqa: E402
from reelforge.settings import Settings  # noqa: E402
from reelforge.webhooks.dispatcher import WebhookDispatcher  # noqa: E402
from reelforge.webhooks.signing import SecretBox, generate_secret, minified, signature_header  # noqa: E402

PG_URL = os.environ.get("REELFORGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def payload(i: int) -> bytes:
    """What a render.succeeded delivery carries (a thin payload of the usual size)."""
    return minified(
        {
            "type": "render.succeeded",
            "timestamp": "2026-11-28T09:00:00.000Z",
            "api_version": "v1",
            "data": {
                "id": f"rnd_{i:026d}",
                "object": "render",
                "state": "succeeded",
                "progress": 100.0,
                "duration": 12.0,
                "outputs": [{"id": f"ast_{i:026d}", "object": "asset"}],
                "metadata": {"cms_entry": f"post-{i}"},
            },
        }
    )


async def reference(url: str, count: int, endpoints: int, in_flight: int) -> float:
    """Seconds for a bare client to send ``count`` signed messages to each endpoint."""
    secret = generate_secret()
    bodies = [payload(i) for i in range(count)]
    limits = httpx.Limits(
        max_connections=in_flight * endpoints, max_keepalive_connections=in_flight * endpoints
    )
    async with httpx.AsyncClient(limits=limits, timeout=15, trust_env=False) as client:
        gates = [asyncio.Semaphore(in_flight) for _ in range(endpoints)]

        async def send(gate: asyncio.Semaphore, i: int) -> None:
            async with gate:
                msg_id = f"msg_{i:026d}"
                ts = int(time.time())
                headers = {
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(ts),
                    "webhook-signature": signature_header([secret], msg_id, ts, bodies[i]),
                    "content-type": "application/json",
                }
                r = await client.post(url, content=bodies[i], headers=headers)
                assert r.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(send(gate, i) for gate in gates for i in range(count)))
        return time.perf_counter() - started


def reelforge(
    services: Any, dispatcher: WebhookDispatcher, workspace_id: str, count: int, endpoints: int
) -> float:
    """Seconds from committing ``count`` events until every delivery is recorded as succeeded."""
    with services.sessions() as db:
        before = (
            db.scalar(
                select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "succeeded")
            )
            or 0
        )
    target = before + count * endpoints
    started = time.perf_counter()
    with services.sessions() as db:
        for i in range(count):
            record_event(
                db,
                workspace_id=workspace_id,
                type="render.succeeded",
                resource_type="render",
                resource_id=f"rnd_{i:026d}",
                data=json.loads(payload(i))["data"],
            )
        db.commit()
    deadline = time.monotonic() + 600
    while True:
        with services.sessions() as db:
            done = (
                db.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.status == "succeeded")
                )
                or 0
            )
        if done >= target:
            return time.perf_counter() - started
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done - before} of {count * endpoints} delivered")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="events per round (default 1000)")
    parser.add_argument("--runs", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument(
        "--endpoints", type=int, default=1, help="endpoints receiving every event (default 1)"
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        receiver = start_bare(None, tmp)
        schema = None
        try:
            url = f"sqlite:///{tmp / 'bench.db'}"
            if args.database == "postgresql":
                schema = f"b_{uuid.uuid4().hex[:10]}"
                with sa.create_engine(PG_URL).begin() as conn:
                    conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
                url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            settings = Settings(
                data_dir=tmp / "data",
                database_url=url,
                workers=0,
                webhooks_allow_private=True,
                _env_file=None,
            )  # type: ignore[call-arg]
            services = open_services(settings)
            bootstrap(services)
            with services.sessions() as db:
                workspace_id = db.scalar(select(Workspace.id))
                assert workspace_id is not None
                box = SecretBox(services.secrets.pepper)
                for _ in range(args.endpoints):
                    endpoint_id = new_id("we")
                    db.add(
                        WebhookEndpoint(
                            id=endpoint_id,
                            workspace_id=workspace_id,
                            url=f"{receiver.base}/sink",
                            description="bench",
                            event_types=["render.*"],
                            enabled=True,
                            secret=box.seal(generate_secret(), endpoint_id),
                            failures_since_success=0,
                            created_at=utcnow(),
                            updated_at=utcnow(),
                        )
                    )
                db.commit()
            dispatcher = WebhookDispatcher(services.sessions, settings, box, poll_interval=0.2)
            dispatcher.start()
            in_flight = settings.webhooks_max_in_flight
            sink = f"{receiver.base}/sink"
            results: dict[str, list[float]] = {
                "reference": [],
                "reelforge": [],
                "reference_cpu_ms": [],
                "reelforge_cpu_ms": [],
            }
            try:
                warm = max(50, args.messages // 10)
                asyncio.run(reference(sink, warm, args.endpoints, in_flight))
                reelforge(services, dispatcher, workspace_id, warm, args.endpoints)
                for run in range(args.runs):
                    total = args.messages * args.endpoints
                    order = ("reference", "reelforge") if run % 2 == 0 else ("reelforge", "reference")
                    for name in order:
                        cpu = time.process_time()
                        if name == "reference":
                            seconds = asyncio.run(reference(sink, args.messages, args.endpoints, in_flight))
                        else:
                            seconds = reelforge(
                                services, dispatcher, workspace_id, args.messages, args.endpoints
                            )
                        cpu_ms = (time.process_time() - cpu) * 1000 / total
                        results[name].append(total / seconds)
                        results[f"{name}_cpu_ms"].append(cpu_ms)
                        print(
                            f"round {run + 1} {name:>9}: {total / seconds:8.0f} deliveries/s ({seconds:.2f} s), "
                            f"{cpu_ms:.2f} ms CPU per delivery in this process"
                        )
            finally:
                dispatcher.stop()
                services.engine.dispose()
        finally:
            receiver.stop()
            if schema is not None:
                with sa.create_engine(PG_URL).begin() as conn:
                    conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))

    ref, ours = statistics.median(results["reference"]), statistics.median(results["reelforge"])
    cpu_ref, cpu_ours = (
        statistics.median(results["reference_cpu_ms"]),
        statistics.median(results["reelforge_cpu_ms"]),
    )
    summary = {
        "database": args.database,
        "messages": args.messages,
        "endpoints": args.endpoints,
        "runs": args.runs,
        "reference_per_s": round(ref),
        "reelforge_per_s": round(ours),
        "ratio": round(ours / ref, 3),
        "reference_cpu_ms": round(cpu_ref, 3),
        "reelforge_cpu_ms": round(cpu_ours, 3),
        "cpu_ratio": round(cpu_ours / cpu_ref, 2),
        "rounds": results,
    }
    print(
        f"\nmedian: reelforge {ours:.0f}/s, bare client {ref:.0f}/s, ratio {ours / ref:.2f} "
        f"({args.database}, {args.endpoints} endpoint(s), {args.messages} messages per round); CPU per delivery "
        f"in this process: {cpu_ours:.2f} ms vs {cpu_ref:.2f} ms ({cpu_ours / cpu_ref:.1f}x)"
    )
    out = BENCH_DIR / ".cache" / "webhook_results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
