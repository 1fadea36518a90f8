"""A running Reelforge service for tests: real database (SQLite or PostgreSQL), real files,
requests through httpx against the ASGI app."""

from __future__ import annotations

import functools
import os
import pprint
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from reelforge.api.app import bootstrap, create_app, open_services
from reelforge.services.context import Services
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


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'reelforge.db'}"
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
        from reelforge.api.routers.keys import create_key
        from reelforge.db.models import Workspace, new_id

        with self.services.sessions() as db:
            ws = Workspace(id=new_id("ws"), name="other")
            db.add(ws)
            db.commit()
            _, token = create_key(db, self.services, ws.id, "other", ["admin"])
        return token


@contextmanager
def running_service(tmp: Path, kind: str = "sqlite", **settings: Any) -> Iterator[Service]:
    with database(kind, tmp) as url:
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


CAPTURED_BEGIN, CAPTURED_END = "# --- captured: begin", "# --- captured: end"
"""The block of an ``api/examples*.py`` module that a test module records from a running service."""


def write_captured(module: Path, kept: dict[str, Any], script: str) -> None:
    """Replace ``module``'s captured block with one constant per recorded value, in the order
    recorded; ``script`` is the test module that records them (named in the block)."""
    lines = [
        CAPTURED_BEGIN,
        f"# Recorded by `python {script}` from a running service; do not edit by hand.",
        "",
    ]
    for name, value in kept.items():
        kind = "str" if isinstance(value, str) else "dict[str, Any]" if isinstance(value, dict) else "Any"
        indent = len(name) + len(kind) + 5  # where `name: kind = ` ends
        text = pprint.pformat(value, width=110 - indent, sort_dicts=False, compact=True)
        lines.append(f"{name}: {kind} = " + text.replace("\n", "\n" + " " * indent))
    source = module.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(CAPTURED_BEGIN) + ".*?" + re.escape(CAPTURED_END), re.S)
    assert pattern.search(source), f"{module} has no captured block"
    module.write_text(pattern.sub(lambda _: "\n".join([*lines, CAPTURED_END]), source), encoding="utf-8")


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
