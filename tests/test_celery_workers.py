"""Renders on Celery workers, in real processes: an API process (`reelforge serve --no-worker`)
and worker processes (`reelforge worker`, with a gate the test controls: tests/gated_worker.py)
sharing PostgreSQL, a broker (Redis, and RabbitMQ) and the local storage on a shared directory.

One worker is killed with -9 while it holds a render with FFmpeg running: every render still
succeeds exactly once, the dead worker's FFmpeg dies with it, and no temporary file is left.
Storage is configured through the environment like everything else, so another backend only
changes :func:`cluster_env`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from mediagen import make_video
from reelforge.db.events import Event
from reelforge.db.models import Asset, Render
from reelforge.services.context import open_services
from reelforge.services.workspaces import bootstrap
from reelforge.settings import Settings
from service import database, require_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BROKERS = {
    "redis": ("redis://127.0.0.1:6379/3", 6379),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", 5672),
}
DEADLINE = 900.0  # seconds for the whole run on a loaded 2-core machine; polled, never slept


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def require_broker(kind: str) -> None:
    if not listening(BROKERS[kind][1]):
        if os.environ.get("CI"):
            pytest.fail(f"CI must test Celery on {kind}, and none answers on 127.0.0.1:{BROKERS[kind][1]}")
        pytest.skip(f"no {kind} on 127.0.0.1:{BROKERS[kind][1]}")


def poll(what: str, check: Any, timeout: float = DEADLINE, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def cluster_env(tmp: Path, database_url: str, broker_url: str) -> dict[str, str]:
    """The environment every process of the installation shares."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]),
        REELFORGE_DATA_DIR=str(tmp / "data"),
        REELFORGE_DATABASE_URL=database_url,
        REELFORGE_QUEUE="celery",
        REELFORGE_BROKER_URL=broker_url,
        REELFORGE_CELERY_QUEUE_PREFIX=f"t{uuid.uuid4().hex[:10]}",
        REELFORGE_WORKER_STALE_AFTER="4",
        REELFORGE_WORKER_SWEEP_INTERVAL="1",
        REELFORGE_WORKER_HEARTBEAT_INTERVAL="1",
        REELFORGE_RATE_LIMITING="false",
        REELFORGE_LOG_FORMAT="json",
    )
    return env


@dataclass
class Cluster:
    tmp: Path
    env: dict[str, str]
    gate: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    url: str = ""
    token: str = ""

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, *args],
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.tmp,
        )
        self.procs[name] = proc
        return proc

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, [str(ROOT / "tests" / "gated_worker.py"), str(self.gate), "--name", name])

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)


@contextmanager
def cluster(tmp: Path, broker: str, workers: int = 2, **api_env: str) -> Iterator[Cluster]:
    with database("postgresql", tmp) as url:
        env = cluster_env(tmp, url, BROKERS[broker][0])
        settings = Settings(
            data_dir=tmp / "data",
            database_url=url,
            queue="celery",
            broker_url=BROKERS[broker][0],
            _env_file=None,
        )  # type: ignore[call-arg]
        services = open_services(settings)  # migrates; makes the secrets every process shares
        token = bootstrap(services)
        services.engine.dispose()
        assert token is not None
        gate = tmp / "gate"
        gate.mkdir()
        c = Cluster(tmp, env, gate, token=token)
        try:
            c.start("api", ["-m", "reelforge", "serve", "--no-worker", "--port", "0"], **api_env)
            for i in range(workers):
                c.worker(f"w{i}")
            line = poll("the API to listen", lambda: _listening_line(c), timeout=120)
            c.url = line.split("Listening on ", 1)[1].split()[0]
            yield c
        finally:
            (gate / "open").touch()
            for proc in c.procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in c.procs.values():
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _listening_line(c: Cluster) -> str | None:
    api = c.procs["api"]
    assert api.poll() is None, f"the API exited: {c.log('api')}"
    return next((line for line in c.log("api").splitlines() if "Listening on " in line), None)


def children(pid: int, comm: str) -> list[int]:
    """Processes whose parent is ``pid`` and whose command name starts with ``comm`` (the
    kernel keeps 15 characters of it: ``ffmpeg-linux-x8``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(pid) and fields.get("Name", "").strip().startswith(comm):
            found.append(int(entry.name))
    return found


def ffmpeg_working_in(directory: Path) -> list[int]:
    """FFmpeg processes whose command line names a path under ``directory``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "ffmpeg" in cmdline.split("\0", 1)[0] and str(directory) in cmdline:
            found.append(int(entry.name))
    return found


def held(gate: Path) -> dict[str, int]:
    """Render id -> pid of the worker holding it at the gate."""
    return {
        p.name.removeprefix("held-"): int(p.read_text() or 0) for p in gate.glob("held-*") if p.read_text()
    }


def long_edit() -> dict[str, Any]:
    """Twenty seconds of blurred colour at the slowest quality: FFmpeg is still running when the
    render reports its first progress (where the gate holds it)."""
    clip = {"asset": {"type": "color", "color": "navy"}, "length": 20, "effects": {"blur": 20}}
    return {
        "timeline": {"tracks": [{"clips": [clip]}]},
        "outputs": [{"resolution": "360p", "fps": 25, "quality": "max", "audio": False}],
    }


def small_edit(src: str) -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": src}, "length": 1}]}]},
        "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
    }


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_twenty_renders_survive_a_worker_killed_mid_render(tmp_path: Path, broker: str) -> None:
    require_database("postgresql")
    require_broker(broker)
    with cluster(tmp_path, broker) as c, c.client() as api:
        clip = make_video(tmp_path / "clip.mp4", duration=2)
        r = api.post("/v1/assets", files={"file": ("clip.mp4", clip.read_bytes())})
        assert r.status_code in (200, 201), r.text
        asset_id = r.json()["id"]
        # Previews are made by a worker too.
        poll("the previews", lambda: api.get(f"/v1/assets/{asset_id}").json()["previews"] != "pending")
        assert api.get(f"/v1/assets/{asset_id}").json()["previews"] == "ready"

        # Two long renders, one held by each worker with FFmpeg running.
        ids = []
        for _ in range(2):
            r = api.post("/v1/renders", json={"edit": long_edit()})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        holds = poll(
            "both workers at the gate", lambda: (h := held(c.gate)) and len(set(h.values())) == 2 and h
        )
        victim_render, victim_pid = next(iter(holds.items()))
        victim = next(name for name, p in c.procs.items() if p.pid == victim_pid)
        ffmpegs = children(victim_pid, "ffmpeg")
        assert ffmpegs, "the held render's FFmpeg should be running"
        os.kill(victim_pid, signal.SIGKILL)
        c.procs[victim].wait(60)
        # Its FFmpeg dies with it (never an orphan finishing a render nobody owns).
        poll(
            "the dead worker's FFmpeg to go",
            lambda: not any(Path(f"/proc/{p}").exists() for p in ffmpegs),
            60,
        )
        c.worker("replacement")  # what a supervisor does

        for _ in range(18):
            r = api.post("/v1/renders", json={"edit": small_edit(asset_id)})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        (c.gate / "open").touch()

        def finished() -> list[dict[str, Any]] | None:
            renders = [api.get(f"/v1/renders/{i}").json() for i in ids]
            return (
                renders if all(x["state"] in ("succeeded", "failed", "cancelled") for x in renders) else None
            )

        renders = poll("every render to end", finished, every=0.5)
        assert [x["state"] for x in renders] == ["succeeded"] * 20, [
            (x["id"], x.get("error")) for x in renders
        ]

        engine = sa.create_engine(c.env["REELFORGE_DATABASE_URL"])
        try:
            with engine.connect() as db:
                attempts = {row.id: row.attempts for row in db.execute(sa.select(Render.id, Render.attempts))}
                succeeded = db.execute(
                    sa.select(Event.resource_id, sa.func.count())
                    .where(Event.type == "render.succeeded")
                    .group_by(Event.resource_id)
                ).all()
                made = set(db.scalars(sa.select(Asset.id).where(Asset.source == "render")))
        finally:
            engine.dispose()
        # Exactly once: one success each; the killed attempt made no asset (identical files
        # of several renders are one asset).
        assert dict(succeeded) == dict.fromkeys(ids, 1)
        assert attempts[victim_render] == 2
        assert all(attempts[i] == 1 for i in ids if i != victim_render)
        assert all(x["outputs"] for x in renders)
        assert made == {o["id"] for x in renders for o in x["outputs"]}

        # No FFmpeg left anywhere in the installation, no temporary files: the dead worker's
        # temporary directory is swept by the live ones, theirs are empty between renders.
        assert ffmpeg_working_in(tmp_path) == []
        temp = tmp_path / "data" / "storage" / ".tmp"

        def clean() -> bool:
            dirs = [p for p in temp.iterdir() if p.is_dir() and p.name != "uploads"]
            dead = [p for p in dirs if p.name.startswith(f"p{victim_pid}-")]
            scratch = [q for p in dirs for q in p.iterdir()]
            return not dead and not scratch

        poll("no temporary files", clean, timeout=60)

        # Progress flows back to the API's event stream, and a cancel reaches the worker.
        r = api.post("/v1/renders", json={"edit": long_edit()})
        assert r.status_code == 202, r.text
        cancelled = r.json()["id"]
        seen: list[tuple[str, dict[str, Any]]] = []
        with api.stream("GET", f"/v1/renders/{cancelled}/progress", timeout=DEADLINE) as stream:
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    body = json.loads(line.split(":", 1)[1])
                    seen.append((event, body))
                    running = event == "progress" and body["state"] == "rendering" and body["progress"] > 0
                    if running and not any(e == "asked" for e, _ in seen):
                        assert api.post(f"/v1/renders/{cancelled}/cancel").status_code == 202
                        seen.append(("asked", {}))
        assert any(e == "progress" for e, _ in seen)
        assert seen[-1][1]["state"] == "cancelled", seen[-1]
        poll("the cancelled render's FFmpeg to stop", lambda: ffmpeg_working_in(tmp_path) == [], 120)


def test_a_render_whose_nudge_is_lost_still_runs(tmp_path: Path) -> None:
    """The API cannot reach the broker (its nudges are lost): the workers' sweep finds the
    queued render, and the request was not held up by the broker."""
    require_database("postgresql")
    require_broker("redis")
    with (
        cluster(tmp_path, "redis", workers=1, REELFORGE_BROKER_URL="redis://127.0.0.1:1/0") as c,
        c.client() as api,
    ):
        (c.gate / "open").touch()
        edit = small_edit("unused")
        edit["timeline"]["tracks"][0]["clips"][0]["asset"] = {"type": "color", "color": "olive"}
        r = api.post("/v1/renders", json={"edit": edit})
        assert r.status_code == 202, r.text
        render_id = r.json()["id"]
        body = poll(
            "the render",
            lambda: (
                (b := api.get(f"/v1/renders/{render_id}").json())["state"] in ("succeeded", "failed") and b
            ),
            timeout=300,
        )
        assert body["state"] == "succeeded", body
        assert "nudge(s) dropped" in c.log("api")


def test_a_worker_past_max_renders_exits_after_its_render_without_taking_another(tmp_path: Path) -> None:
    """`--max-renders 1`: the worker finishes its render, takes no other and exits cleanly (a
    supervisor starts a fresh one, which takes the next render)."""
    require_database("postgresql")
    require_broker("redis")
    with cluster(tmp_path, "redis", workers=0) as c, c.client() as api:
        edit = long_edit()
        edit["timeline"]["tracks"][0]["clips"][0].update(length=2)
        ids = []
        for _ in range(2):
            r = api.post("/v1/renders", json={"edit": edit})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        first = c.start(
            "first",
            ["-m", "reelforge", "worker", "--queues", "renders", "--concurrency", "1", "--max-renders", "1"],
        )
        assert first.wait(DEADLINE) == 0, c.log("first")
        states = [api.get(f"/v1/renders/{i}").json()["state"] for i in ids]
        assert states == ["succeeded", "queued"], states
        c.start("second", ["-m", "reelforge", "worker", "--queues", "renders"])
        body = poll(
            "the second render",
            lambda: (b := api.get(f"/v1/renders/{ids[1]}").json())["state"] in ("succeeded", "failed") and b,
        )
        assert body["state"] == "succeeded", body
        engine = sa.create_engine(c.env["REELFORGE_DATABASE_URL"])
        try:
            with engine.connect() as db:
                attempts = db.scalar(sa.select(Render.attempts).where(Render.id == ids[1]))
        finally:
            engine.dispose()
        assert attempts == 1  # never claimed by the retiring worker


def test_webhooks_are_dispatched_by_a_worker_process(tmp_path: Path) -> None:
    """The API runs no dispatcher (`--no-worker`); a `reelforge worker --queues ...,webhooks`
    process delivers the render's events, each once."""
    from test_webhooks import Receiver

    require_database("postgresql")
    require_broker("redis")
    receiver = Receiver()
    allow = {"REELFORGE_WEBHOOKS_ALLOW_PRIVATE": "true"}
    try:
        with cluster(tmp_path, "redis", workers=0, **allow) as c, c.client() as api:
            c.start(
                "worker",
                ["-m", "reelforge", "worker", "--queues", "renders,webhooks", "--concurrency", "1"],
                **allow,
            )
            r = api.post("/v1/webhook_endpoints", json={"url": receiver.url()})
            assert r.status_code == 201, r.text
            edit = small_edit("unused")
            edit["timeline"]["tracks"][0]["clips"][0]["asset"] = {"type": "color", "color": "olive"}
            r = api.post("/v1/renders", json={"edit": edit})
            assert r.status_code == 202, r.text
            render_id = r.json()["id"]

            def delivered() -> list[dict[str, Any]]:
                bodies = [json.loads(x.body) for x in receiver.at("/hook")]
                done = [b for b in bodies if b["type"] == "render.succeeded"]
                return bodies if done else []

            bodies = poll("render.succeeded at the receiver", delivered, timeout=300)
            types = [b["type"] for b in bodies if b["data"].get("id") == render_id]
            assert types.count("render.succeeded") == 1, types
            assert "render.queued" in types
            ids = [x.headers["webhook-id"] for x in receiver.at("/hook")]
            assert len(ids) == len(set(ids))  # each message once
    finally:
        receiver.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_sweep_nudges_only_for_claimable_work_and_recovery_removes_chunks(
    tmp_path: Path, kind: str
) -> None:
    """The sweep makes up for lost nudges only when a worker would claim something: not for a
    render awaiting a transcript's approval, nor for a chunk of an attempt that is over. A
    recovery that requeues a render removes its chunks' rows and stored files."""
    from datetime import timedelta

    import redis

    from reelforge.db.models import RenderChunk, new_id, utcnow
    from reelforge.jobs.distributed import WorkerRuntime, make_celery, queue_name
    from service import running_service

    require_database(kind)
    require_broker("redis")
    settings = {
        "queue": "celery",
        "broker_url": "redis://127.0.0.1:6379/14",
        "celery_queue_prefix": f"sweep-{uuid.uuid4().hex[:8]}",  # this test's own queues
        "worker_stale_after": 30.0,
    }
    with running_service(tmp_path, kind, **settings) as svc:
        services = svc.services
        runtime = WorkerRuntime(
            services, make_celery(services.settings), roles=("renders",), concurrency=1, name="sweeper"
        )
        edit = {
            "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]},
            "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
        }
        r = svc.post("/v1/renders", json={"edit": edit})
        assert r.status_code == 202, r.text
        render_id = r.json()["id"]

        with services.sessions() as db:  # waiting for a transcript's approval
            db.execute(sa.update(Render).where(Render.id == render_id).values(awaiting_approval=True))
            db.commit()
        assert runtime.sweep() == 0

        # Running its first attempt (beating), with a chunk an earlier attempt left behind.
        chunk_file = tmp_path / "chunk.mp4"
        chunk_file.write_bytes(b"a chunk")
        with services.sessions() as db:
            render = db.get(Render, render_id)
            assert render is not None
            key = f"{render.workspace_id}/{render_id}/chunks/a1-0000-0.mp4"
            services.storage.put(key, chunk_file)
            db.execute(
                sa.update(Render)
                .where(Render.id == render_id)
                .values(
                    awaiting_approval=False,
                    state="rendering",
                    attempts=1,
                    worker="gone",
                    heartbeat_at=utcnow(),
                    started_at=utcnow(),
                )
            )

            def chunk(attempt: int, files: list[str]) -> RenderChunk:
                spec: dict[str, Any] = {"edit": edit, "start_frame": 0, "frames": 25, "pointers": {}}
                return RenderChunk(
                    id=new_id("chk"),
                    render_id=render_id,
                    attempt=attempt,
                    index=0,
                    spec=spec,
                    state="queued",
                    attempts=0,
                    files=files,
                )

            db.add(chunk(0, []))
            db.commit()
        assert runtime.sweep() == 0

        # The attempt's own chunk, a file stored; then its worker goes silent.
        with services.sessions() as db:
            db.add(chunk(1, [key]))
            db.commit()
        assert services.storage.local_path(key).is_file()
        with services.sessions() as db:
            db.execute(
                sa.update(Render)
                .where(Render.id == render_id)
                .values(heartbeat_at=utcnow() - timedelta(seconds=600))
            )
            db.commit()
        assert runtime.sweep() == 1  # recovered: queued again, and a worker would take it
        with services.sessions() as db:
            render = db.get(Render, render_id)
            assert render is not None and render.state == "queued"
            left = db.scalars(sa.select(RenderChunk.id).where(RenderChunk.render_id == render_id)).all()
        assert left == []
        assert not services.storage.local_path(key).exists()
        with redis.Redis.from_url(settings["broker_url"]) as client:
            client.delete(queue_name(services.settings, "renders"))  # the nudges sent here
