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
import shutil
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
from reelforge.db.models import Asset, Render, RenderChunk
from reelforge.render.engine import joined_streams
from reelforge.services.context import open_services
from reelforge.services.workspaces import bootstrap
from reelforge.settings import Settings
from service import database, require_database, s3_storage_settings
from test_chunks import compare
from test_s3_storage import bucket_client

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

    def worker(self, name: str, **env: str) -> subprocess.Popen[bytes]:
        return self.start(
            name, [str(ROOT / "tests" / "gated_worker.py"), str(self.gate), "--name", name], **env
        )

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)


@contextmanager
def cluster(
    tmp: Path,
    broker: str,
    workers: int = 2,
    storage: dict[str, Any] | None = None,
    broker_url: str | None = None,
    **api_env: str,
) -> Iterator[Cluster]:
    """An API process and ``workers`` gated workers; ``storage`` (settings such as
    :func:`service.s3_storage_settings` makes) for every process, ``broker_url`` instead of
    the broker's shared one."""
    storage = storage or {}
    broker_url = broker_url or BROKERS[broker][0]
    with database("postgresql", tmp) as url:
        env = cluster_env(tmp, url, broker_url)
        env.update({f"REELFORGE_{k.upper()}": _env_value(v) for k, v in storage.items()})
        settings = Settings(
            data_dir=tmp / "data",
            database_url=url,
            queue="celery",
            broker_url=broker_url,
            _env_file=None,
            **storage,
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


def _env_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


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

        # Progress flows back to the API's event stream, and a cancel reaches the worker: the gate
        # holds the render at its first progress report (committed before the hold), so the
        # stream shows it rendering with progress whatever the machine's speed.
        (c.gate / "open").unlink()
        r = api.post("/v1/renders", json={"edit": long_edit()})
        assert r.status_code == 202, r.text
        cancelled = r.json()["id"]
        poll("the render held at its first progress", lambda: (c.gate / f"held-{cancelled}").exists())
        seen: list[tuple[str, dict[str, Any]]] = []
        with api.stream("GET", f"/v1/renders/{cancelled}/progress", timeout=DEADLINE) as stream:
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    body = json.loads(line.split(":", 1)[1])
                    seen.append((event, body))
                    if body["state"] == "rendering" and not any(e == "asked" for e, _ in seen):
                        assert api.post(f"/v1/renders/{cancelled}/cancel").status_code == 202
                        seen.append(("asked", {}))
                        (c.gate / "open").touch()
        assert any(b.get("state") == "rendering" and b["progress"] > 0 for _, b in seen), seen
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


FPS = 25
CHUNKING = {
    # 4.8 s of timeline in chunks of 1.2 s; a dead worker's chunk is taken over after 4 s.
    "REELFORGE_RENDER_CHUNK_MIN_SECONDS": "2",
    "REELFORGE_RENDER_CHUNK_SECONDS": "1.2",
    "REELFORGE_RENDER_CHUNK_LEASE": "4",
}


def chained_edit(sources: list[str]) -> dict[str, Any]:
    """8 chained 0.6 s clips of three sources with their own tones, blurred, at 720p and the
    slowest quality: a chunk's FFmpeg still runs at its first progress report (where the gate
    holds it)."""
    clips = [
        {
            "asset": {"type": "video", "src": sources[i % 3], "trim": 0.1},
            "length": 0.6,
            "effects": {"blur": 20},
        }
        for i in range(8)
    ]
    return {
        "timeline": {"background": "#203040", "tracks": [{"clips": clips}]},
        "outputs": [{"width": 1280, "height": 720, "fps": FPS, "quality": "max"}],
    }


def sha256_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_on_s3_a_chunked_render_spreads_over_two_workers_and_survives_one_killed(
    tmp_path: Path, s3_server: str, broker: str
) -> None:
    """API + 2 Celery workers on PostgreSQL with the S3 backend: a chunked render's chunks are
    spread over both workers; the worker holding a chunk (not the render) is killed with -9
    while its FFmpeg runs; its chunk is taken over after its lease and the render succeeds
    once, with the timeline's frame count and seams like the unchunked render's."""
    require_database("postgresql")
    require_broker(broker)
    storage = s3_storage_settings(s3_server)
    with cluster(tmp_path, broker, workers=0, storage=storage) as c, c.client() as api:
        # First the unchunked reference, by a plain worker that does not chunk.
        plain = c.start(
            "plain",
            ["-m", "reelforge", "worker", "--queues", "renders,previews", "--concurrency", "1"],
            REELFORGE_RENDER_CHUNK_MIN_SECONDS="0",
        )
        sources = []
        for i, source in enumerate(("testsrc2", "smptebars", "rgbtestsrc")):
            clip = make_video(tmp_path / f"s{i}.mp4", duration=1.2, tone_hz=300 + 90 * i, source=source)
            r = api.post("/v1/assets", files={"file": (clip.name, clip.read_bytes())})
            assert r.status_code in (200, 201), r.text
            sources.append(r.json()["id"])
        poll(
            "the previews",
            lambda: all(api.get(f"/v1/assets/{a}").json()["previews"] != "pending" for a in sources),
        )
        edit = chained_edit(sources)

        def ended(render_id: str) -> dict[str, Any] | None:
            body: dict[str, Any] = api.get(f"/v1/renders/{render_id}").json()
            return body if body["state"] in ("succeeded", "failed", "cancelled") else None

        r = api.post("/v1/renders", json={"edit": edit})
        assert r.status_code == 202, r.text
        single = poll("the unchunked render", lambda: ended(r.json()["id"]), every=0.5)
        assert single["state"] == "succeeded", single["error"]
        plain.send_signal(signal.SIGTERM)
        assert plain.wait(120) == 0, c.log("plain")

        for name in ("w0", "w1"):
            c.worker(name, **CHUNKING)
        r = api.post("/v1/renders", json={"edit": edit})
        assert r.status_code == 202, r.text
        render_id = r.json()["id"]
        engine = sa.create_engine(c.env["REELFORGE_DATABASE_URL"])
        try:

            def chunk_held_by_the_other_worker() -> tuple[str, str] | None:
                assert ended(render_id) is None, "the render ended with no chunk held"
                with engine.connect() as db:
                    parent = db.scalar(sa.select(Render.worker).where(Render.id == render_id))
                    running = db.execute(
                        sa.select(RenderChunk.id, RenderChunk.worker).where(
                            RenderChunk.render_id == render_id, RenderChunk.state == "running"
                        )
                    ).all()
                pids = {int(p.read_text()) for p in c.gate.glob("chunk-*") if p.read_text()}
                for chunk_id, worker in running:
                    if parent and worker and worker != parent and c.procs[worker].pid in pids:
                        return chunk_id, worker
                return None

            victim_chunk, victim = poll("a chunk held by the other worker", chunk_held_by_the_other_worker)
            victim_pid = c.procs[victim].pid
            ffmpegs = children(victim_pid, "ffmpeg")
            assert ffmpegs, "the held chunk's FFmpeg should be running"
            os.kill(victim_pid, signal.SIGKILL)
            c.procs[victim].wait(60)
            poll(
                "the dead worker's FFmpeg to go",
                lambda: not any(Path(f"/proc/{p}").exists() for p in ffmpegs),
                60,
            )
            (c.gate / "open").touch()
            chunked = poll("the chunked render", lambda: ended(render_id), every=0.5)
            assert chunked["state"] == "succeeded", chunked["error"]

            with engine.connect() as db:
                attempts = db.scalar(sa.select(Render.attempts).where(Render.id == render_id))
                succeeded = db.scalar(
                    sa.select(sa.func.count()).where(
                        Event.type == "render.succeeded", Event.resource_id == render_id
                    )
                )
                keys = {
                    row.id: (row.storage_key, row.sha256)
                    for row in db.execute(sa.select(Asset.id, Asset.storage_key, Asset.sha256))
                }
        finally:
            engine.dispose()
        assert attempts == 1 and succeeded == 1  # the render itself was never retried
        # The killed worker's chunk was rendered again, once, by a live worker.
        live = "".join(c.log(n) for n, p in c.procs.items() if n != victim and n != "api")
        taken_over = f"chunk {victim_chunk} of render {render_id}: succeeded"
        assert live.count(taken_over) == 1, live[-3000:]

        # Outputs are in the bucket and match their sha256, as does what the API serves.
        s3 = bucket_client(s3_server)
        files = {}
        for body in (single, chunked):
            out = next(o for o in body["outputs"] if o["role"] == "output")
            key, sha = keys[out["id"]]
            stored = s3.get_object(Bucket=storage["s3_bucket"], Key=f"{storage['s3_prefix']}/{key}")
            assert sha256_of(stored["Body"].read()) == sha
            served = api.get(f"/v1/assets/{out['id']}/content")
            assert served.status_code == 200 and sha256_of(served.content) == sha
            files[body["id"]] = tmp_path / f"{body['id']}.mp4"
            files[body["id"]].write_bytes(served.content)
        one, joined = files[single["id"]], files[render_id]

        frames = 8 * 15  # 0.6 s at 25 fps
        streams = joined_streams(joined)
        assert streams.video_frames == frames
        assert streams.audio_end is not None and streams.audio_frame is not None
        assert abs(streams.audio_end - streams.video_end) <= streams.audio_frame
        ssim = compare(joined, one, "ssim")
        assert len(ssim) == frames
        at_seams = [min(ssim[at - 1], ssim[at]) for at in (30, 60, 90)]
        assert min(at_seams) >= 0.99, at_seams
        assert ffmpeg_working_in(tmp_path) == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, without persistence: stopping
    it loses every message it held (the harshest broker restart)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if shutil.which("redis-server") is None:
            if os.environ.get("CI"):
                pytest.fail("CI must test a broker restart, and redis-server is not installed")
            pytest.skip("redis-server is not installed")
        log = (self.tmp / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        poll("the private redis-server", lambda: listening(self.port), timeout=60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(60)
        poll("the private redis-server to stop", lambda: not listening(self.port), timeout=60)


def test_no_render_is_lost_or_run_twice_when_the_broker_restarts(tmp_path: Path) -> None:
    """The broker (a private redis-server) is killed while two renders run and four wait, and
    started again on the same port, empty: the workers reconnect, the queued renders (whose
    nudges the broker lost) are found in the database, and each render succeeds exactly once."""
    require_database("postgresql")
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        with cluster(tmp_path, "redis", broker_url=redis.url) as c, c.client() as api:
            ids = []
            for _ in range(2):
                r = api.post("/v1/renders", json={"edit": long_edit()})
                assert r.status_code == 202, r.text
                ids.append(r.json()["id"])
            poll("both workers at the gate", lambda: (h := held(c.gate)) and len(set(h.values())) == 2)
            for colour in ("olive", "teal", "maroon", "purple"):
                edit = small_edit("unused")
                edit["timeline"]["tracks"][0]["clips"][0]["asset"] = {"type": "color", "color": colour}
                r = api.post("/v1/renders", json={"edit": edit})
                assert r.status_code == 202, r.text
                ids.append(r.json()["id"])
            redis.stop()
            # The running renders go on without the broker (a nudge a worker had prefetched may
            # start a queued one too; the others wait for the broker).
            (c.gate / "open").touch()
            poll(
                "the held renders to end without the broker",
                lambda: all(api.get(f"/v1/renders/{i}").json()["state"] == "succeeded" for i in ids[:2]),
            )
            redis.start()

            def finished() -> list[dict[str, Any]] | None:
                renders = [api.get(f"/v1/renders/{i}").json() for i in ids]
                ended = all(x["state"] in ("succeeded", "failed", "cancelled") for x in renders)
                return renders if ended else None

            renders = poll("every render to end", finished, every=0.5)
            assert [x["state"] for x in renders] == ["succeeded"] * 6, [
                (x["id"], x.get("error")) for x in renders
            ]
            assert all(p.poll() is None for p in c.procs.values()), "a process died with the broker"
            for name in ("w0", "w1"):  # each worker saw the broker go and reconnects
                assert "Connection to broker lost" in c.log(name)
                # A worker with nothing left to do may still be in its retry back-off when the
                # renders end: wait for its second connection rather than expect it done.
                poll(
                    f"{name} to connect to the broker again",
                    lambda name=name: c.log(name).count("Connected to redis://") >= 2,
                )
            engine = sa.create_engine(c.env["REELFORGE_DATABASE_URL"])
            try:
                with engine.connect() as db:
                    attempts = dict(db.execute(sa.select(Render.id, Render.attempts)).all())
                    succeeded = db.execute(
                        sa.select(Event.resource_id, sa.func.count())
                        .where(Event.type == "render.succeeded")
                        .group_by(Event.resource_id)
                    ).all()
            finally:
                engine.dispose()
            assert dict(succeeded) == dict.fromkeys(ids, 1)
            assert attempts == dict.fromkeys(ids, 1)
    finally:
        redis.stop()


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
