"""A running Reelforge service for tests: real database (SQLite or PostgreSQL), real files,
requests through httpx against the ASGI app."""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.services.context import Services, open_services
from reelforge.services.workspaces import bootstrap
from reelforge.settings import Settings

PG_URL = os.environ.get("REELFORGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@functools.cache
def postgres_available() -> bool:
    try:
        with sa.create_engine(PG_URL).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False


def require_database(kind: str) -> None:
    """Skip a test parametrised over databases on PostgreSQL when none answers; in CI fail
    instead, as PostgreSQL must be tested there."""
    if kind == "postgresql" and not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("CI must test against PostgreSQL, and none answers at REELFORGE_TEST_POSTGRES")
        pytest.skip("no PostgreSQL at REELFORGE_TEST_POSTGRES")


class _Templates:
    """Databases migrated once per test process, copied for each test that asks for a migrated
    one: running every migration for every test cost seconds each (SQLite rewrites tables in
    batch mode, each statement committed). The copy is what ``migrate`` would have made; tests
    of the migrations themselves start from an empty database instead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sqlite: Path | None = None
        self._postgres: str | None = None
        self._dropping: queue.Queue[str | None] = queue.Queue()
        self._dropper: threading.Thread | None = None
        self._cleanup_registered = False

    def _on_exit(self) -> None:
        if not self._cleanup_registered:
            self._cleanup_registered = True
            atexit.register(self.close)

    def sqlite(self) -> Path:
        with self._lock:
            if self._sqlite is None:
                from reelforge.db.session import migrate

                self._on_exit()
                path = Path(tempfile.mkdtemp(prefix="reelforge-template-")) / "reelforge.db"
                migrate(f"sqlite:///{path}")
                # The migrations' connection is closed: the file holds everything (no -wal left).
                assert not path.with_name(path.name + "-wal").exists()
                self._sqlite = path
            return self._sqlite

    def postgres(self) -> str:
        """The name of this process's migrated template database."""
        with self._lock:
            if self._postgres is None:
                from reelforge.db.session import migrate

                self._on_exit()
                drop_orphans()
                name = database_name("template")
                _admin_execute(f'CREATE DATABASE "{name}"')
                self._postgres = name
                migrate(_pg_url(name))  # its connections are closed after: it can be copied
            return self._postgres

    def drop_later(self, name: str) -> None:
        """Drop a test's database in the background: DROP DATABASE may wait for a checkpoint."""
        with self._lock:
            if self._dropper is None:
                self._on_exit()
                self._dropper = threading.Thread(target=self._drop_all, daemon=True)
                self._dropper.start()
        self._dropping.put(name)

    def _drop_all(self) -> None:
        while (name := self._dropping.get()) is not None:
            with suppress(Exception):  # the server went away: nothing left to clean
                _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Drop what is left (at the end of the session, or of the process)."""
        with self._lock:
            dropper, self._dropper = self._dropper, None
            template, self._postgres = self._postgres, None
            sqlite, self._sqlite = self._sqlite, None
        if dropper is not None:
            self._dropping.put(None)
            dropper.join(timeout=120)
        if template is not None:
            with suppress(Exception):
                _admin_execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        if sqlite is not None:
            shutil.rmtree(sqlite.parent, ignore_errors=True)


def close_templates() -> None:
    """Drop the migrated templates and the databases copied from them still waiting to be."""
    _templates.close()


def _host_id() -> str:
    """This machine and process namespace, short: a process id only names a process among the
    processes of its host (its boot) and pid namespace, so a database name carries both. Runs
    sharing one PostgreSQL from other machines or containers have other ids."""
    parts = [socket.gethostname()]
    with suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))  # "pid:[4026531836]"
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


HOST_ID = _host_id()


def database_name(kind: str) -> str:
    """A name for a test database of this process: ``rf_<kind>_<host>_<pid>_<random>``, under 40
    characters (PostgreSQL keeps 63)."""
    return f"rf_{kind}_{HOST_ID}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


_TEST_DATABASE = re.compile(r"rf_(?:template|test)_([0-9a-f]{8})_([0-9]+)_[0-9a-f]+")


def orphaned(
    names: Iterable[str], host: str = HOST_ID, alive: Callable[[int], bool] | None = None
) -> list[str]:
    """The test databases among ``names`` whose process is gone: only this host's (another
    host's process ids mean nothing here), and only when their process does not answer."""
    alive = alive or _process_exists
    found: list[str] = []
    for name in names:
        m = _TEST_DATABASE.fullmatch(name)
        if m is not None and m[1] == host and not alive(int(m[2])):
            found.append(name)
    return found


def drop_orphans() -> None:
    """Drop the databases a test process of this host left behind when it was killed (their
    names carry the host and its process id); those of processes still running are theirs to
    drop, those of other hosts theirs to judge. A database anything is still connected to is
    never dropped (nor forced: a connection arriving meanwhile makes the drop fail)."""
    admin = sa.create_engine(PG_URL, poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:
            names = conn.execute(
                sa.text(
                    "SELECT d.datname FROM pg_database d WHERE d.datname LIKE :prefix AND NOT EXISTS "
                    "(SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)"
                ),
                {"prefix": "rf\\_%"},
            ).scalars()
            orphans = orphaned(names)
    finally:
        admin.dispose()
    for name in orphans:
        with suppress(Exception):  # another process dropped it first, or something connected
            _admin_execute(f'DROP DATABASE IF EXISTS "{name}"')


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pg_url(database: str) -> str:
    return sa.make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _admin_execute(statement: str) -> None:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        admin.dispose()


_templates = _Templates()


@contextmanager
def database(kind: str, tmp: Path, *, migrated: bool = False) -> Iterator[str]:
    """A fresh database: a SQLite file, or on PostgreSQL a schema dropped afterwards. Empty, or
    with ``migrated`` already at the newest revision (a copy of a database migrated once per
    process: a file copy, or a PostgreSQL database made from a template and dropped afterwards)."""
    if kind == "sqlite":
        path = tmp / "reelforge.db"
        if migrated:
            path.parent.mkdir(parents=True, exist_ok=True)  # as the engine would make it
            shutil.copyfile(_templates.sqlite(), path)
        yield f"sqlite:///{path}"
        return
    if migrated:
        name = database_name("test")
        _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{_templates.postgres()}"')
        try:
            yield _pg_url(name)
        finally:
            _templates.drop_later(name)
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@dataclass
class Service:
    client: TestClient
    services: Services
    token: str
    data_dir: Path

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}", **extra}

    def get(self, url: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.get(url, headers={**self.headers(token), **kw.pop("headers", {})}, **kw)

    def post(self, url: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.post(url, headers={**self.headers(token), **kw.pop("headers", {})}, **kw)

    def new_key(self, *scopes: str) -> str:
        r = self.post("/v1/keys", json={"name": "test", "scopes": list(scopes)})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def other_workspace_key(self) -> str:
        """An admin key of a second workspace."""
        from reelforge.db.models import Workspace, new_id
        from reelforge.services.keys import create_key

        with self.services.sessions() as db:
            ws = Workspace(id=new_id("ws"), name="other")
            db.add(ws)
            db.commit()
            _, token = create_key(db, self.services, ws.id, "other", ["admin"])
        return token


@contextmanager
def running_service(tmp: Path, kind: str = "sqlite", **settings: Any) -> Iterator[Service]:
    with database(kind, tmp, migrated=True) as url:
        config = Settings(
            data_dir=tmp / "data",
            database_url=url,
            workers=settings.pop("workers", 0),
            _env_file=None,
            **settings,
        )  # type: ignore[call-arg]
        services = open_services(config)
        token = bootstrap(services)
        assert token is not None
        app = create_app(services=services)
        with TestClient(app) as client:
            yield Service(client, services, token, config.data_dir)
        services.engine.dispose()


TERMINAL = ("succeeded", "failed", "cancelled")


def with_previews(
    service: Service, asset: dict[str, Any], timeout: float = 30, token: str | None = None
) -> dict[str, Any]:
    """The asset once its previews, made after the upload answered, are done (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = service.get(f"/v1/assets/{asset['id']}", token=token).json()
        if body["previews"] != "pending" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def wait_render(
    svc: Service,
    render_id: str,
    states: tuple[str, ...] = TERMINAL,
    timeout: float = 120,
) -> dict[str, Any]:
    """Poll ``GET /v1/renders/{id}`` until the render is in one of ``states``; the render then."""
    deadline = time.monotonic() + timeout
    while True:
        body = svc.get(f"/v1/renders/{render_id}").json()
        if body["state"] in states:
            return dict(body)
        assert time.monotonic() < deadline, f"render stuck in {body['state']}: {body}"
        time.sleep(0.02)


@contextmanager
def live_app(app: Any) -> Iterator[str]:
    """An ASGI app behind a real uvicorn on a free loopback port; its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # Generous: on a loaded machine a thread can wait seconds for its first time slice.
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def live_server(svc: Service) -> Iterator[str]:
    """The service's app over real HTTP (see :func:`live_app`)."""
    with live_app(svc.client.app) as base:
        yield base


# ------------------------------------------------------------------ holding renders


HOLD_LIMIT = 120.0
"""A held render goes on by itself after this long: a failing test must not hang its worker."""


@dataclass
class Hold:
    """A render held by a :class:`RenderGate` in its job's thread, at ``point`` (a state, or
    ``progress`` with the ``fraction`` just recorded), until :meth:`release`."""

    render_id: str
    point: str
    fraction: float | None
    go: threading.Event
    taken: bool = False

    def release(self) -> None:
        self.go.set()


class RenderGate:
    """An observer of render jobs (:class:`reelforge.jobs.observers.RenderObserver`) that holds
    each render when it enters one of ``states`` and, with ``progress``, at each progress report,
    until the test releases it: while held, the render cannot advance. The state or progress is
    committed before the hold, so a test sees it in the API; a cancel asked during a hold ends the
    render ``cancelled`` (the job reads the request again before it finishes).

    Register it with :func:`holding_renders`; take holds in arrival order with :meth:`next`."""

    def __init__(self, states: tuple[str, ...] = ("rendering",), *, progress: bool = False):
        self.states = states
        self.progress = progress
        self._cond = threading.Condition()
        self._holds: list[Hold] = []
        self._taken = 0
        self._open = False

    def on_state(self, render_id: str, state: str) -> None:
        if state in self.states:
            self._hold(Hold(render_id, state, None, threading.Event()))

    def on_progress(self, render_id: str, fraction: float) -> None:
        if self.progress:
            self._hold(Hold(render_id, "progress", fraction, threading.Event()))

    def _hold(self, hold: Hold) -> None:
        with self._cond:
            if self._open:
                return
            self._holds.append(hold)
            self._cond.notify_all()
        hold.go.wait(HOLD_LIMIT)

    def next(self, render_id: str | None = None, timeout: float = 90) -> Hold:
        """The next render to arrive at a hold (of ``render_id`` if given), once it is there."""

        def waiting() -> Hold | None:
            return next((h for h in self._holds if not h.taken and render_id in (None, h.render_id)), None)

        with self._cond:
            assert self._cond.wait_for(lambda: waiting() is not None, timeout), "no render came to the gate"
            hold = waiting()
            assert hold is not None
            hold.taken = True
            return hold

    def open(self) -> None:
        """Release every held render and hold none from now on."""
        with self._cond:
            self._open = True
            for hold in self._holds:
                hold.release()


@contextmanager
def holding_renders(target: Service | Any, gate: RenderGate | None = None) -> Iterator[RenderGate]:
    """``gate`` (by default: hold at ``rendering``) observing the renders of ``target``'s worker
    (a :class:`Service` with workers, or a ``RenderWorker``); opened and removed afterwards."""
    gate = gate or RenderGate()
    worker = target.services.worker if isinstance(target, Service) else target
    assert worker is not None, "the service runs no worker"
    worker.observers.add(gate)
    try:
        yield gate
    finally:
        gate.open()
        worker.observers.remove(gate)


class ServeProcess:
    """``reelforge serve`` in a child process, as a user starts it. A thread reads its output as
    it comes (so a full pipe never stalls the server); waits on it poll with deadlines."""

    def __init__(self, cwd: Path, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reelforge", "serve", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.url = ""
        self._closed = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 120, start: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` in a line at or after line ``start``, waiting for it."""
        deadline = time.monotonic() + timeout
        seen = start
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if m := re.search(pattern, line):
                        return m
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    why = "exited" if self._closed else f"printed nothing like it in {timeout} s"
                    raise AssertionError(
                        f"waiting for {pattern!r}: the server {why}:\n" + "".join(self.lines)
                    )
                self._changed.wait(left)

    def wait_listening(self, timeout: float = 120) -> str:
        """The URL the server listens on, once it accepts requests."""
        self.url = self.wait_for(r"Listening on (http://\S+)", timeout)[1]
        return self.url

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the server did not stop in {timeout} s:\n" + self.output) from None

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------ S3 storage


def s3_storage_settings(endpoint: str, *, download: str = "stream", **extra: Any) -> dict[str, Any]:
    """Settings of a service storing its assets in a fresh bucket of the S3 server at
    ``endpoint`` (moto's, on loopback), under a prefix."""
    import boto3

    bucket = f"reelforge-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return {
        "storage_backend": "s3",
        "s3_bucket": bucket,
        "s3_prefix": "install/one",
        "s3_endpoint_url": endpoint,
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
        "s3_path_style": True,
        "s3_download": download,
        **extra,
    }
