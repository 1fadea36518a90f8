"""Queue benchmark: renders through Celery workers against the in-process worker, side by side
in the same run, on the same machine, with the same database server.

Usage: ``.venv/bin/python bench/celery_bench.py [--renders 200] [--latency 30] [--memory 100]
[--broker redis://127.0.0.1:6379/3] [--quick]``

Each side is a real installation in processes: PostgreSQL (``REELFORGE_BENCH_POSTGRES``, default
the test database, a schema of its own), files in a temporary directory, and

* ``inprocess``: ``reelforge serve`` with its worker threads (``REELFORGE_WORKERS=2``);
* ``celery``: ``reelforge serve --no-worker`` and two ``reelforge worker --concurrency 1``
  processes on the broker (Redis by default; ``amqp://guest:guest@127.0.0.1:5672//`` for RabbitMQ).

Measured, every figure also as the ratio celery / inprocess:

* **start latency**: a tiny render posted to an idle installation, from ``created_at`` to
  ``started_at`` (the database's clock on both sides), one at a time: p50 and p99;
* **throughput**: ``--renders`` tiny renders posted at once, renders per second from the first
  POST to the last ``finished_at``;
* **worker memory**: the resident memory of one Celery worker process over ``--memory``
  consecutive renders (sampled every tenth), and the ratio of the last sample to the one after
  the first ten (flat: close to 1).

A tiny render is half a second of 360p colour at draft quality without audio: what is measured is
the queue, not FFmpeg. Results are printed and written to ``bench/.cache/celery.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from reelforge.services.context import open_services  # noqa: E402
from reelforge.services.workspaces import bootstrap  # noqa: E402
from reelforge.settings import Settings  # noqa: E402

POSTGRES = os.environ.get("REELFORGE_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def tiny_edit(colour: str = "teal") -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": colour}, "length": 0.5}]}]},
        "outputs": [{"resolution": "360p", "fps": 25, "quality": "draft", "audio": False}],
    }


@contextmanager
def schema() -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {name}"))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@dataclass
class Installation:
    directory: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    url: str = ""
    token: str = ""

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "reelforge", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
        )
        self.procs[name] = proc
        return proc

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=120)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def installation(kind: str, broker: str) -> Iterator[Installation]:
    with tempfile.TemporaryDirectory(prefix=f"rf-bench-{kind}-") as tmp, schema() as url:
        directory = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
        env.update(
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
            REELFORGE_DATA_DIR=str(directory / "data"),
            REELFORGE_DATABASE_URL=url,
            REELFORGE_RATE_LIMITING="false",
            REELFORGE_LOG_FORMAT="json",
            REELFORGE_WEBHOOKS_DISPATCHER="false",
            REELFORGE_DELIVERY_WORKER="false",
        )
        if kind == "celery":
            env.update(
                REELFORGE_QUEUE="celery",
                REELFORGE_BROKER_URL=broker,
                REELFORGE_CELERY_QUEUE_PREFIX=f"bench{uuid.uuid4().hex[:8]}",
            )
        else:
            env.update(REELFORGE_WORKERS="2")
        settings = Settings(
            data_dir=directory / "data",
            database_url=url,
            queue="celery" if kind == "celery" else "inprocess",
            broker_url=broker,
            _env_file=None,
        )  # type: ignore[call-arg]
        services = open_services(settings)
        token = bootstrap(services)
        services.engine.dispose()
        assert token is not None
        inst = Installation(directory, env, token=token)
        try:
            if kind == "celery":
                inst.start("api", "serve", "--no-worker", "--port", "0")
                for i in range(2):
                    inst.start(
                        f"worker{i}", "worker", "--concurrency", "1", "--queues", "renders", "--name", f"w{i}"
                    )
            else:
                inst.start("api", "serve", "--port", "0")
            deadline = time.monotonic() + 120
            while not inst.url:
                text = (directory / "api.log").read_text(errors="replace")
                line = next((x for x in text.splitlines() if "Listening on " in x), None)
                if line:
                    inst.url = line.split("Listening on ", 1)[1].split()[0]
                elif time.monotonic() > deadline or inst.procs["api"].poll() is not None:
                    raise RuntimeError(f"the API did not start: {text[-2000:]}")
                else:
                    time.sleep(0.1)
            yield inst
        finally:
            inst.stop()


def when(body: dict[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(body[key].replace("Z", "+00:00"))


def post(api: httpx.Client, colour: str = "teal") -> str:
    r = api.post("/v1/renders", json={"edit": tiny_edit(colour)})
    r.raise_for_status()
    return str(r.json()["id"])


def wait(api: httpx.Client, ids: list[str], timeout: float = 3600) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(ids):
        for render_id in ids:
            if render_id in done:
                continue
            body = api.get(f"/v1/renders/{render_id}").json()
            if body["state"] in ("succeeded", "failed", "cancelled"):
                if body["state"] != "succeeded":
                    raise RuntimeError(f"render {render_id} {body['state']}: {body.get('error')}")
                done[render_id] = body
        if time.monotonic() > deadline:
            raise RuntimeError("renders did not finish in time")
        time.sleep(0.05)
    return [done[i] for i in ids]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(inst: Installation, count: int) -> dict[str, float]:
    with inst.client() as api:
        wait(api, [post(api)])  # warm-up: connections, caches, the first FFmpeg start
        seconds = []
        for _ in range(count):
            (body,) = wait(api, [post(api)])
            seconds.append((when(body, "started_at") - when(body, "created_at")).total_seconds())
    return {"p50": statistics.median(seconds), "p99": percentile(seconds, 0.99)}


def throughput(inst: Installation, count: int) -> dict[str, float]:
    with inst.client() as api:
        first = None
        ids = []
        for i in range(count):
            render_id = post(api, ("teal", "navy", "olive", "maroon")[i % 4])
            ids.append(render_id)
            if first is None:
                first = api.get(f"/v1/renders/{render_id}").json()
        bodies = wait(api, ids)
    assert first is not None
    span = (max(when(b, "finished_at") for b in bodies) - when(first, "created_at")).total_seconds()
    return {"renders": count, "seconds": span, "per_second": count / span}


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(inst: Installation, count: int) -> dict[str, Any]:
    """Renders one after another on one worker (the other stopped), its memory every tenth."""
    inst.procs["worker1"].send_signal(signal.SIGTERM)
    inst.procs["worker1"].wait(60)
    pid = inst.procs["worker0"].pid
    samples = [resident_mb(pid)]
    with inst.client() as api:
        for i in range(count):
            wait(api, [post(api)])
            if (i + 1) % 10 == 0:
                samples.append(resident_mb(pid))
    settled = samples[1] if len(samples) > 2 else samples[0]
    return {"mb": [round(s, 1) for s in samples], "last_over_after_ten": samples[-1] / settled}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--renders", type=int, default=200, help="renders of the throughput run")
    parser.add_argument("--latency", type=int, default=30, help="renders timed one at a time")
    parser.add_argument("--memory", type=int, default=100, help="consecutive renders on one worker")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--quick", action="store_true", help="40 renders, 10 timed, 30 for memory")
    args = parser.parse_args()
    if args.quick:
        args.renders, args.latency, args.memory = 40, 10, 30
    results: dict[str, Any] = {"broker": args.broker.split(":", 1)[0]}
    for kind in ("inprocess", "celery"):
        with installation(kind, args.broker) as inst:
            print(f"{kind}: start latency over {args.latency} renders ...", flush=True)
            results.setdefault(kind, {})["latency"] = latency(inst, args.latency)
            print(f"{kind}: throughput of {args.renders} renders ...", flush=True)
            results[kind]["throughput"] = throughput(inst, args.renders)
            if kind == "celery":
                print(f"celery: worker memory over {args.memory} renders ...", flush=True)
                results[kind]["memory"] = memory(inst, args.memory)
    inp, cel = results["inprocess"], results["celery"]
    results["ratios"] = {
        "start_p50": cel["latency"]["p50"] / inp["latency"]["p50"],
        "start_p99": cel["latency"]["p99"] / inp["latency"]["p99"],
        "throughput": cel["throughput"]["per_second"] / inp["throughput"]["per_second"],
        "worker_memory_last_over_after_ten": cel["memory"]["last_over_after_ten"],
    }
    print()
    print(f"{'':24}{'in-process':>12}{'celery':>12}{'celery/in-process':>20}")
    for label, a, b in (
        ("start p50 (s)", inp["latency"]["p50"], cel["latency"]["p50"]),
        ("start p99 (s)", inp["latency"]["p99"], cel["latency"]["p99"]),
        ("renders per second", inp["throughput"]["per_second"], cel["throughput"]["per_second"]),
    ):
        print(f"{label:24}{a:12.3f}{b:12.3f}{b / a:20.2f}")
    print(f"celery worker memory (MiB, every 10 renders): {cel['memory']['mb']}")
    print(f"last / after the first ten: {cel['memory']['last_over_after_ten']:.3f}")
    out = HERE / ".cache" / "celery.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
