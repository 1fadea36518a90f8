"""``/readyz``: the database, storage, the render queue and the workers' heartbeats; a worker
that stops (cleanly, or by dying without a word) is reported, and readiness fails when no live
worker exists where one is expected. ``/healthz`` stays a cheap liveness answer."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from service import ServeProcess, Service, live_server, require_database, running_service

FAST = {"worker_heartbeat_interval": 0.1, "worker_stale_after": 1.0}
"""Heartbeats every 0.1 s, stale after a second without one (30 s by default)."""


def scoped_key(svc: Service, scope: str) -> str:
    """A key of the first workspace with ``scope`` (``metrics``, ``operator``), made as the CLI
    makes it (the API grants neither)."""
    from reelforge.services.keys import create_key
    from reelforge.services.workspaces import workspace_or_first

    with svc.services.sessions() as db:
        first = workspace_or_first(db, None)
        _, token = create_key(db, svc.services, first.id, scope, [scope])
    return token


def poll(check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_readyz_reports_every_part_and_a_stopped_worker(kind: str, tmp_path: Path) -> None:
    require_database(kind)
    with running_service(tmp_path, kind, workers=1, **FAST) as svc, live_server(svc) as base:
        scraper = {"Authorization": f"Bearer {scoped_key(svc, 'metrics')}"}
        ready = poll(
            lambda: (r := httpx.get(f"{base}/readyz", headers=scraper, timeout=60)).status_code == 200 and r
        )
        body = ready.json()
        assert body["status"] == "ok"
        assert body["checks"] == {
            "database": "ok",
            "storage": "ok",
            "broker": "ok",
            "worker": "ok",
            "webhook_dispatcher": "ok",
            "delivery_worker": "ok",
            "import_runner": "ok",
            "transcript_runner": "ok",
            "retention": "ok",
            "workers": "ok",
        }
        assert body["queue"] == {"queued": 0, "running": 0}
        worker = svc.services.worker
        (mine,) = [w for w in body["workers"] if w["name"] == worker.name]
        assert mine["state"] == "live" and mine["kind"] == "render" and mine["concurrency"] == 1

        worker.stop()  # the test stops the worker: it says so in its row
        r = httpx.get(f"{base}/readyz", headers=scraper, timeout=60)
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        body = r.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["worker"] == "error: stopped"
        assert body["checks"]["workers"] == "error: no live worker"
        (mine,) = [w for w in body["workers"] if w["name"] == worker.name]
        assert mine["state"] == "stopped"
        assert svc.post("/v1/renders", json={"edit": _colour()}).status_code == 202
        assert httpx.get(f"{base}/readyz", headers=scraper, timeout=60).json()["queue"] == {
            "queued": 1,
            "running": 0,
        }
        # Liveness does not depend on any of it.
        assert httpx.get(f"{base}/healthz", timeout=60).json() == {"status": "ok"}


LOOPS = {
    "webhook_dispatcher": "webhooks",
    "delivery_worker": "delivery",
    "import_runner": "imports",
    "transcript_runner": "transcripts",
    "retention": "retention",
}
"""The background loops besides the render worker: their ``/readyz`` check (also their entry in
``Services.extras``) and their heartbeat's kind."""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_background_loop_heartbeats_and_one_stopped_or_dead_is_reported(
    kind: str, tmp_path: Path
) -> None:
    require_database(kind)
    with running_service(tmp_path, kind, **FAST) as svc:
        operator = scoped_key(svc, "operator")
        loops = {check: svc.services.extras[check] for check in LOOPS}

        def rows(state: str) -> dict[str, Any] | None:
            """/readyz once each loop's row is in ``state`` (else None)."""
            r = svc.get("/readyz", token=operator)
            body: dict[str, Any] = r.json()
            by_name = {w["name"]: w for w in body["workers"]}
            for check, loop in loops.items():
                row = by_name.get(loop.name)
                if row is None or row["kind"] != LOOPS[check] or row["state"] != state:
                    return None
            return {**body, "status_code": r.status_code}

        body = poll(lambda: rows("live"))
        assert body["status_code"] == 200
        assert all(body["checks"][check] == "ok" for check in LOOPS)
        # A render worker is required here, and none runs: the other kinds do not stand for one.
        svc.services.settings.readyz_requires_worker = True
        r = svc.get("/readyz", token=operator)
        assert r.status_code == 503 and r.json()["checks"]["workers"] == "error: no live worker"
        svc.services.settings.readyz_requires_worker = False

        # Stopped cleanly: it says so in its row, and this process's check fails.
        dispatcher = loops.pop("webhook_dispatcher")
        dispatcher.stop()
        r = svc.get("/readyz", token=operator)
        assert r.status_code == 503
        assert r.json()["checks"]["webhook_dispatcher"] == "error: stopped"
        (row,) = [w for w in r.json()["workers"] if w["name"] == dispatcher.name]
        assert row["state"] == "stopped" and row["kind"] == "webhooks"

        # A loop whose thread ends without its stop() (as when it dies on an error) stops
        # beating: its row goes stale once `worker_stale_after` (1 s here) passes.
        deliverer = loops.pop("delivery_worker")
        deliverer._stopping.set()
        deliverer.wake()

        def stale() -> dict[str, Any] | None:
            body: dict[str, Any] = svc.get("/readyz", token=operator).json()
            found = [w for w in body["workers"] if w["name"] == deliverer.name and w["state"] == "stale"]
            return body if found else None

        body = poll(stale)
        assert body["status"] == "unavailable" and body["checks"]["delivery_worker"] == "error: stopped"
        # The others beat on.
        assert poll(lambda: rows("live"))["checks"]["retention"] == "ok"
        # The public answer names no worker.
        public = svc.client.get("/readyz").json()
        assert "workers" not in public and public["checks"]["delivery_worker"] == "error: stopped"


def _colour() -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]},
        "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
    }


def test_a_worker_that_dies_without_a_word_is_reported_stale(tmp_path: Path) -> None:
    """A worker process killed outright (SIGKILL: no clean stop) stops heartbeating; the API
    process, which runs no worker but requires one, reports it stale and answers 503."""
    with running_service(tmp_path, workers=0, readyz_requires_worker=True, **FAST) as svc:
        r = svc.client.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["workers"] == "error: no live worker"
        env = {
            **os.environ,
            "REELFORGE_DATA_DIR": str(svc.data_dir),
            "REELFORGE_DATABASE_URL": svc.services.settings.resolved_database_url(),
            "REELFORGE_WORKERS": "1",
            "REELFORGE_WORKER_NAME": "doomed",
            "REELFORGE_WORKER_HEARTBEAT_INTERVAL": "0.1",
            "REELFORGE_WEBHOOKS_DISPATCHER": "false",
            "PYTHONUNBUFFERED": "1",
        }
        with ServeProcess(tmp_path, env, "--port", "0") as worker:
            worker.wait_listening()

            operator = scoped_key(svc, "operator")

            def doomed(state: str) -> dict[str, Any] | None:
                body: dict[str, Any] = svc.get("/readyz", token=operator).json()
                found = [w for w in body["workers"] if w["name"] == "doomed" and w["state"] == state]
                return body if found else None

            body = poll(lambda: doomed("live"))
            assert body["status"] == "ok" and body["checks"]["workers"] == "ok"
            worker.proc.send_signal(signal.SIGKILL)
            worker.proc.wait(timeout=60)
            body = poll(lambda: doomed("stale"))
        assert body["status"] == "unavailable"
        assert body["checks"]["workers"] == "error: no live worker (1 stale)"
        public = svc.client.get("/readyz")
        assert public.status_code == 503
        assert public.json() == {"status": "unavailable", "checks": body["checks"]}


def test_readyz_shows_workers_and_queue_only_to_a_metrics_or_operator_credential(tmp_path: Path) -> None:
    """Anyone may ask whether the process is ready; worker names (host and process id) and the
    queue of every workspace are for the scraper and the operator."""
    with running_service(tmp_path, workers=1, **FAST) as svc:
        name = svc.services.worker.name
        assert svc.post("/v1/renders", json={"edit": _colour()}).status_code == 202
        for token in (None, svc.new_key("renders:read")):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = svc.client.get("/readyz", headers=headers)
            assert set(r.json()) == {"status", "checks"}, r.json()
            assert name not in r.text and "queue" not in r.text
        for scope in ("metrics", "operator"):
            body = svc.get("/readyz", token=scoped_key(svc, scope)).json()
            assert name in [w["name"] for w in body["workers"]]
            assert set(body["queue"]) == {"queued", "running"}
        bad = svc.client.get("/readyz", headers={"Authorization": "Bearer rf_not_a_key"})
        assert bad.status_code == 401


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_readyz_of_a_celery_api_without_a_worker_checks_no_webhook_dispatcher(
    kind: str, tmp_path: Path
) -> None:
    """`serve --no-worker` with `queue=celery`: the webhook dispatcher runs in a Celery worker,
    this process only nudges it through the broker, and has no loop of its own to check."""
    from fastapi.testclient import TestClient

    from reelforge.api.app import create_app
    from reelforge.services.context import open_services
    from reelforge.settings import Settings
    from service import database
    from test_celery_workers import BROKERS, require_broker

    require_database(kind)
    require_broker("redis")
    with database(kind, tmp_path, migrated=True) as url:
        config = Settings(
            data_dir=tmp_path / "data",
            database_url=url,
            workers=0,
            queue="celery",
            broker_url=BROKERS["redis"][0],
            _env_file=None,
        )  # type: ignore[call-arg]
        services = open_services(config)
        try:
            with TestClient(create_app(services=services, start_worker=False)) as client:
                assert "webhook_nudges" in services.extras
                r = client.get("/readyz")
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["status"] == "ok"
                assert "webhook_dispatcher" not in body["checks"]
            assert "webhook_nudges" not in services.extras
        finally:
            services.engine.dispose()
