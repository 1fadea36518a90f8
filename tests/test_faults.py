"""Faults, as an operator meets them: the server killed (SIGKILL) mid-render and mid-upload, a
webhook receiver down for a while, the storage directory full. Afterwards nothing is lost,
nothing is duplicated, and every state is consistent.

The server runs as a user starts it (``reelforge serve`` in a child process); a crash is a
SIGKILL of it and of everything it started (FFmpeg runs in its own session, so it is killed by
pid, as a machine or container stop would)."""

from __future__ import annotations

import errno
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.jobs.render_job import ERROR_CODES
from reelforge.services.context import open_services
from reelforge.services.workspaces import bootstrap
from reelforge.settings import Settings
from service import (
    RenderGate,
    ServeProcess,
    Service,
    database,
    holding_renders,
    require_database,
    running_service,
    with_previews,
)
from service import wait_render as wait_rendered

pytestmark = pytest.mark.slow

RUNNING = ("preparing", "rendering", "finishing")
TERMINAL = ("succeeded", "failed", "cancelled")

# Long enough that a render seen ``rendering`` is still rendering a moment later however fast
# the machine (VP9 at 720p: seconds of work), short enough to render again after the restart.
LONG = {
    "timeline": {
        "tracks": [
            {"clips": [{"asset": {"type": "text", "text": "Crash test"}, "length": 40}]},
            {"clips": [{"asset": {"type": "color", "color": "blue"}, "length": 40}]},
        ]
    },
    "outputs": [{"width": 1280, "height": 720, "quality": "high", "format": "webm"}],
}
EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 0.5}]}]},
    "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
}


# ------------------------------------------------------------------ the server as a process


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children of each of its threads, recursively)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def crash(server: ServeProcess) -> None:
    """SIGKILL the server and every process it started: no clean-up of any kind."""
    pids = [server.proc.pid, *_descendants(server.proc.pid)]
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.proc.wait(timeout=60)
    deadline = time.monotonic() + 60
    for pid in pids[1:]:  # FFmpeg is not our child: wait until the kernel has it gone
        while Path(f"/proc/{pid}").exists() and _state(pid) not in ("Z", "X", ""):
            assert time.monotonic() < deadline, f"process {pid} survived SIGKILL"
            time.sleep(0.02)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return ""


class Api:
    """A client of one server process, with the workspace's first key."""

    def __init__(self, base: str, token: str) -> None:
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.get(url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.post(url, **kw)

    def all(self, url: str, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            r = self.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            body = r.json()
            found += body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return found

    def close(self) -> None:
        self.client.close()


@contextmanager
def served(tmp: Path, env: dict[str, str], token: str | None = None) -> Iterator[tuple[ServeProcess, Api]]:
    """``reelforge serve --port 0`` on ``env``; the process and a client with ``token`` (the
    first start prints the key)."""
    with ServeProcess(tmp, env, "--port", "0") as server:
        base = server.wait_listening()
        key = token or server.wait_for(r"\b(rf_live_\S+)")[1]
        api = Api(base, key)
        try:
            yield server, api
        finally:
            api.close()


def _env(tmp: Path, url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "REELFORGE_DATA_DIR": str(tmp / "data"),
        "REELFORGE_DATABASE_URL": url,
        "REELFORGE_WORKERS": "1",
        # The same name after the restart: its renders are taken back at once, not after the
        # heartbeat goes stale (as an operator's service unit would name it).
        "REELFORGE_WORKER_NAME": "faults-1",
        "REELFORGE_RATE_LIMITING": "false",
        **extra,
    }


def wait_state(api: Api, render_id: str, states: tuple[str, ...], timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/v1/renders/{render_id}").json()
        if body["state"] in states:
            return dict(body)
        assert time.monotonic() < deadline, f"render stuck in {body['state']}: {body}"
        time.sleep(0.02)


def _leftovers(data: Path) -> list[str]:
    """Render work directories and partial uploads anywhere under the storage's temp directory."""
    tmp = data / "storage" / ".tmp"
    if not tmp.exists():
        return []
    return sorted(
        str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.name.startswith(("render-", "upload-"))
    )


# ------------------------------------------------------------------ kill -9 mid-render


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_render_killed_mid_way_is_recovered_and_succeeds_exactly_once(kind: str, tmp_path: Path) -> None:
    require_database(kind)
    data = tmp_path / "data"
    with database(kind, tmp_path, migrated=True) as url:
        env = _env(tmp_path, url)
        with served(tmp_path, env) as (server, api):
            token = api.client.headers["Authorization"].split()[1]
            r = api.post("/v1/renders", json={"edit": LONG})
            assert r.status_code == 202, r.text
            render_id = r.json()["id"]
            # Killing as soon as FFmpeg runs: the point is what a restart makes of it.
            before = wait_state(api, render_id, ("rendering", *TERMINAL))
            assert before["state"] == "rendering", before
            # Its work directory is made as the render starts running FFmpeg: wait for it (a
            # loaded machine may show the state first).
            deadline = time.monotonic() + 120
            while not any(
                p.name.startswith(f"render-{render_id}-a1") for p in (data / "storage" / ".tmp").rglob("*")
            ):
                assert time.monotonic() < deadline, "the render's work directory never appeared"
                time.sleep(0.02)
            crash(server)
        with served(tmp_path, env, token) as (server, api):
            done = wait_state(api, render_id, TERMINAL)
            assert done["state"] == "succeeded", done
            assert done["attempts"] == 2, done  # the killed attempt counted, one more ran
            events = api.all("/v1/events", resource_id=render_id)
            kinds = [e["type"] for e in reversed(events)]  # newest first in the API
            # Exactly one success; the interrupted attempt was put back in the queue once.
            assert kinds.count("render.succeeded") == 1, kinds
            assert kinds.count("render.started") == 2, kinds
            assert kinds.count("render.queued") == 2 and "render.failed" not in kinds, kinds
            # Its outputs: one per output of the edit, probed, and no asset left by the killed
            # attempt.
            made = [
                a for a in api.all("/v1/assets") if (a.get("derived_from") or {}).get("render") == render_id
            ]
            out_ids = sorted(o["id"] for o in done["outputs"])
            assert sorted(a["id"] for a in made) == out_ids, (made, done["outputs"])
            videos = [a for a in made if a["derived_from"].get("role") == "output"]
            assert len(videos) == 1, made
            video = videos[0]
            info = video["media"]
            assert (info["width"], info["height"]) == (1280, 720) and abs(info["duration"] - 40) < 0.5, video
            content = api.get(f"/v1/assets/{video['id']}/content")
            assert content.status_code == 200 and content.content[:4] == b"\x1a\x45\xdf\xa3"  # WebM
            # The dead process's scratch files were swept, the new one's removed when it ended.
            assert _leftovers(data) == [], _leftovers(data)
            server.stop()


# ------------------------------------------------------------------ kill -9 mid-upload


class _Feed:
    """A multipart upload body the test feeds: the head, then chunks until told to stop."""

    def __init__(self, boundary: str) -> None:
        self.boundary = boundary
        self.sent = 0
        self.stop = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        while not self.stop.is_set():
            chunk = b"\0" * 65536
            self.sent += len(chunk)
            yield chunk
            if self.sent >= 4 * 1024 * 1024:
                self.stop.wait(120)  # hold the upload open, half done, until the server is gone


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_upload_killed_mid_way_leaves_nothing_and_a_retry_succeeds(
    kind: str, tmp_path: Path, media: Any
) -> None:
    require_database(kind)
    data = tmp_path / "data"
    with database(kind, tmp_path, migrated=True) as url:
        env = _env(tmp_path, url, REELFORGE_WORKERS="0")
        with served(tmp_path, env) as (server, api):
            token = api.client.headers["Authorization"].split()[1]
            feed = _Feed("faultsboundary")
            failure: list[BaseException] = []

            def upload() -> None:
                try:
                    api.post(
                        "/v1/assets",
                        content=iter(feed),
                        headers={"Content-Type": f"multipart/form-data; boundary={feed.boundary}"},
                    )
                except httpx.HTTPError as exc:
                    failure.append(exc)

            thread = threading.Thread(target=upload, daemon=True)
            thread.start()
            # The upload is being received: its temporary file is on disk and growing.
            deadline = time.monotonic() + 120
            while True:
                partial = [
                    p for p in (data / "storage" / ".tmp").rglob("upload-*") if p.stat().st_size > 1024**2
                ]
                if partial:
                    break
                assert time.monotonic() < deadline and thread.is_alive(), "the upload never reached the disk"
                time.sleep(0.02)
            crash(server)
            feed.stop.set()
            thread.join(60)
            assert not thread.is_alive() and failure, "the upload did not fail with the server gone"
            assert partial[0].exists()  # nothing removed it: the process died
        with served(tmp_path, env, token) as (server, api):
            # No asset came of the half upload; its temporary file was swept at start.
            assert api.all("/v1/assets") == []
            assert not partial[0].exists() and _leftovers(data) == [], _leftovers(data)
            assert [e["type"] for e in api.all("/v1/events") if e["type"].startswith("asset.")] == []
            # The same upload again, whole this time.
            path = media.audio(duration=2)
            with path.open("rb") as fh:
                r = api.post("/v1/assets", files={"file": ("big.wav", fh, "audio/wav")})
            assert r.status_code == 201, r.text
            asset = r.json()
            assert asset["size_bytes"] == path.stat().st_size and abs(asset["media"]["duration"] - 2) < 0.1, (
                asset
            )
            assert [a["id"] for a in api.all("/v1/assets")] == [asset["id"]]
            assert _leftovers(data) == [], _leftovers(data)
            server.stop()


# ------------------------------------------------------------------ a webhook receiver down


class _LateReceiver:
    """A webhook receiver on a loopback port that refuses connections (the port is held, bound
    but not listening) until :meth:`come_up`; then it answers 200 and records each request."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def come_up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.received.append((self.headers["webhook-id"], body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler, bind_and_activate=False)
        server.socket.close()
        server.socket = self.sock  # the same port, never released in between
        server.server_activate()  # listen(): connections are accepted from now on
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server

    def ids(self) -> list[str]:
        with self.lock:
            return [webhook_id for webhook_id, _ in self.received]

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        else:
            self.sock.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_receiver_down_for_a_while_gets_every_event_once_when_it_returns(kind: str, tmp_path: Path) -> None:
    require_database(kind)
    receiver = _LateReceiver()
    # Retries every ~0.25 s, for far longer than the receiver stays down: minutes compressed.
    schedule = {"webhooks_retry_schedule": [0.25] * 200, "webhooks_retry_jitter": 0.2}
    try:
        with running_service(tmp_path, kind, webhooks_allow_private=True, **schedule) as svc:
            r = svc.post("/v1/webhook_endpoints", json={"url": receiver.url(), "event_types": ["project.*"]})
            assert r.status_code == 201, r.text
            endpoint = r.json()["id"]
            projects = []
            for i in range(8):
                r = svc.post("/v1/projects", json={"name": f"p{i}", "edit": EDIT})
                assert r.status_code == 201, r.text
                projects.append(r.json()["id"])

            def listed() -> list[dict[str, Any]]:
                r = svc.get(f"/v1/webhook_endpoints/{endpoint}/messages", params={"limit": 100})
                assert r.status_code == 200, r.text
                return list(r.json()["data"])

            # Down: every message fails at the connection, again and again, and stays pending.
            deadline = time.monotonic() + 120
            while not ((found := listed()) and len(found) == 8 and all(m["attempts"] >= 3 for m in found)):
                assert time.monotonic() < deadline, found
                time.sleep(0.05)
            assert all(m["status"] in ("pending", "sending") for m in found), found
            assert receiver.ids() == []
            receiver.come_up()
            deadline = time.monotonic() + 120
            while True:
                found = listed()
                assert not any(m["status"] == "failed" for m in found), found
                if all(m["status"] == "succeeded" for m in found):
                    break
                assert time.monotonic() < deadline, found
                time.sleep(0.05)
            time.sleep(1)  # nothing more arrives: a late duplicate would show here
            got = receiver.ids()
            # Nothing lost, nothing duplicated: one request per message, one message per project.
            assert sorted(got) == sorted(m["id"] for m in found), (got, found)
            assert len(set(got)) == len(got) == 8, got
            created = sorted(m["payload"]["data"]["id"] for m in found)
            assert created == sorted(projects)
            for message in found:
                r = svc.get(f"/v1/webhook_endpoints/{endpoint}/messages/{message['id']}/attempts")
                log = list(reversed(r.json()["data"]))  # oldest first
                # Attempts numbered in order: refusals, then the one success, last.
                assert (
                    [a["number"] for a in log]
                    == list(range(1, len(log) + 1))
                    == list(range(1, message["attempts"] + 1))
                ), log
                assert all(a["response_status"] is None and a["error_class"] for a in log[:-1]), log
                assert log[-1]["response_status"] == 200 and log[-1]["next_attempt_at"] is None, log
            health = svc.get(f"/v1/webhook_endpoints/{endpoint}").json()
            assert health["health"]["failures_since_success"] == 0, health
    finally:
        receiver.close()


# ------------------------------------------------------------------ the storage directory full


@contextmanager
def small_disk(where: Path, size: str = "8m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (skips the test where mounting is not allowed:
    not root, or a container without the capability)."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=60)


def fill(disk: Path, name: str, leave: int = 0) -> Path:
    """A file taking all the free space of ``disk`` but ``leave`` bytes (or all of it)."""
    path = disk / name
    with path.open("wb") as fh:
        try:
            while True:
                room = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize - leave
                if room <= 0:
                    break
                fh.write(b"\0" * min(room, 1024**2))
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return path


def _consistent(svc: Any, storage: Path) -> None:
    """Every asset's files exist, and every stored file belongs to an asset; no scratch left."""
    from sqlalchemy import select

    from reelforge.db.models import Asset

    with svc.services.sessions() as db:
        rows = db.execute(select(Asset.storage_key, Asset.thumbnail_key, Asset.waveform_key)).all()
    keys = {k for row in rows for k in row if k}
    for key in keys:
        assert (storage / key).is_file(), f"asset file {key} missing"
    files = {
        str(p.relative_to(storage))
        for p in storage.rglob("*")
        if p.is_file() and ".tmp" not in p.relative_to(storage).parts and not p.name.startswith("filler")
    }
    assert files <= keys, f"files without an asset: {sorted(files - keys)}"
    assert _leftovers(storage.parent / "data") == []
    scratch = [p for p in (storage / ".tmp").rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    assert scratch == [], scratch


def test_a_full_storage_directory_refuses_work_clearly_and_recovers(tmp_path: Path, media: Any) -> None:
    """The storage directory on a small tmpfs (the database elsewhere), filled up: an upload is
    refused with 503 and Retry-After, a render fails (it neither hangs nor half-succeeds),
    nothing is half stored; once space is freed both work again."""
    with (
        small_disk(tmp_path / "storage") as storage,
        running_service(tmp_path, "sqlite", workers=1, storage_dir=storage) as svc,
    ):
        audio = media.audio(duration=2)  # 375 KiB
        # Almost full: the upload starts being written and runs out of room.
        fillers = [fill(storage, "filler-1", leave=128 * 1024)]
        with audio.open("rb") as fh:
            r = svc.post("/v1/assets", files={"file": ("a.wav", fh, "audio/wav")})
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json" and r.headers["retry-after"]
        assert r.json()["code"] == "temporary-reduced-capacity", r.text
        assert "storage" in r.json()["detail"], r.text
        assert svc.get("/v1/assets").json()["data"] == []
        _consistent(svc, storage)
        # Full: a render's files cannot be written.
        fillers.append(fill(storage, "filler-2"))
        r = svc.post("/v1/renders", json={"edit": EDIT})
        assert r.status_code == 202, r.text
        failed = wait_rendered(svc, r.json()["id"])
        assert failed["state"] == "failed" and failed["outputs"] == [], failed
        # A stable code, and a message saying what happened (not a symptom of it, such as an
        # audio measurement that found no statistics).
        assert failed["error"]["code"] in ERROR_CODES, failed
        assert "ran out of storage space" in failed["error"]["message"], failed
        assert svc.get("/v1/assets").json()["data"] == []
        _consistent(svc, storage)
        # Room again: the same upload and render succeed, without a restart.
        for filler in fillers:
            filler.unlink()
        with audio.open("rb") as fh:
            r = svc.post("/v1/assets", files={"file": ("a.wav", fh, "audio/wav")})
        assert r.status_code == 201, r.text
        r = svc.post("/v1/renders", json={"edit": EDIT})
        assert r.status_code == 202, r.text
        done = wait_rendered(svc, r.json()["id"])
        assert done["state"] == "succeeded", done
        for asset in svc.get("/v1/assets").json()["data"]:
            assert with_previews(svc, asset, timeout=120)["previews"] != "pending"
        assert len(svc.get("/v1/assets").json()["data"]) == 1 + len(done["outputs"])
        _consistent(svc, storage)


# ------------------------------------------------------------------ PostgreSQL restarted


class PrivateCluster:
    """A PostgreSQL cluster of this test's own (initdb in a temporary directory, a free port,
    trust auth on loopback), so restarting it disturbs nobody else's database."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if os.geteuid() != 0 or not found or shutil.which("runuser") is None:
            pytest.skip("a private PostgreSQL cluster needs root, runuser and the server binaries")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("no postgres user to run a private cluster")
        self.bin = Path(found[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="reelforge-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, f"{tool}: {done.stdout}\n{done.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "120",
            "start",
        )

    def stop(self) -> None:
        """As a crash would: no checkpoint, connections cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "120", "stop")

    def close(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def test_a_postgresql_restart_during_renders_loses_and_repeats_nothing(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    cluster = PrivateCluster()
    try:
        cluster.start()
        config = Settings(
            data_dir=tmp_path / "data",
            database_url=cluster.url,
            workers=1,
            rate_limiting=False,
            _env_file=None,
        )  # type: ignore[call-arg]
        services = open_services(config)
        token = bootstrap(services)
        assert token is not None
        try:
            with TestClient(create_app(services=services)) as client:
                svc = Service(client, services, token, config.data_dir)
                # Held where the job next writes to the database: as FFmpeg starts, and with
                # the files made, before they become assets.
                with holding_renders(svc, RenderGate(("rendering", "finishing"))) as gate:
                    ids = []
                    for colour in ("red", "green", "blue"):  # different files: no output deduplicated
                        edit = json.loads(json.dumps(EDIT).replace('"red"', f'"{colour}"'))
                        r = svc.post("/v1/renders", json={"edit": edit})
                        assert r.status_code == 202, r.text
                        ids.append(r.json()["id"])
                    for point, render_id in [
                        ("rendering", ids[0]),
                        ("finishing", ids[0]),
                        ("rendering", ids[1]),
                    ]:
                        held = gate.next(render_id)
                        assert held.point == point, held
                        cluster.stop()
                        # Meanwhile the API says the service is briefly unavailable, not that it failed.
                        down = svc.get(f"/v1/renders/{ids[2]}")
                        assert down.status_code == 503 and down.headers["retry-after"], down.text
                        assert down.json()["code"] == "temporary-reduced-capacity", down.text
                        assert "127.0.0.1" not in down.text and "psycopg" not in down.text, down.text
                        cluster.start()
                        held.release()
                    gate.open()
                    # The API answers again and every render ends, without a restart of ours.
                    finals = [wait_rendered(svc, i, timeout=240) for i in ids]
                assert [f["state"] for f in finals] == ["succeeded"] * 3, finals
                assert [f["attempts"] for f in finals] == [1, 1, 1], finals  # none run twice
                for final in finals:
                    events = [e["type"] for e in _all(svc, "/v1/events", resource_id=final["id"])]
                    ends = [
                        e for e in events if e in ("render.succeeded", "render.failed", "render.cancelled")
                    ]
                    assert ends == ["render.succeeded"], events
                    assert len(final["outputs"]) >= 1, final
                    for output in final["outputs"]:
                        asset = svc.get(f"/v1/assets/{output['id']}").json()
                        assert (
                            asset["derived_from"]["render"] == final["id"] and asset["media"]["width"] == 160
                        )
                made = [a for a in _all(svc, "/v1/assets") if a["derived_from"].get("render")]
                assert len(made) == sum(len(f["outputs"]) for f in finals), made
        finally:
            services.engine.dispose()
    finally:
        cluster.close()


def _all(svc: Service, url: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = svc.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        found += r.json()["data"]
        cursor = r.json().get("next_cursor")
        if not cursor:
            return found
