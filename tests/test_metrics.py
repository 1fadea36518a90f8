"""``/metrics``: who may read it, and that each metric counts what it says, over real HTTP
against the real app (one process, and several processes sharing the multiprocess directory)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from reelforge.db.models import Asset, Workspace
from reelforge.services.keys import create_key
from reelforge.services.workspaces import workspace_or_first
from service import (
    RenderGate,
    ServeProcess,
    Service,
    holding_renders,
    live_server,
    running_service,
    wait_render,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

COLOUR = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]},
    "outputs": [{"width": 160, "height": 90, "quality": "draft", "fps": 25}],
}


def metrics_key(svc: Service, *scopes: str) -> str:
    """A key of the first workspace holding ``scopes`` (as ``reelforge keys create`` makes it)."""
    with svc.services.sessions() as db:
        ws = workspace_or_first(db, None)
        _, token = create_key(db, svc.services, ws.id, "scraper", list(scopes))
    return token


def parse(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def scrape(base: str, token: str) -> Samples:
    r = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_until(check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)


# ------------------------------------------------------------------ access


def test_metrics_needs_the_metrics_scope(sqlite_service: Service) -> None:
    svc = sqlite_service
    assert svc.client.get("/metrics").status_code == 401
    r = svc.get("/metrics")  # the workspace's admin key: `admin` does not include `metrics`
    assert r.status_code == 403 and r.json()["required_scope"] == "metrics"
    assert svc.get("/metrics", token=metrics_key(svc, "metrics")).status_code == 200
    assert svc.get("/metrics", token=metrics_key(svc, "operator")).status_code == 200
    # The API never grants it: only the operator's CLI does.
    r = svc.post("/v1/keys", json={"name": "scraper", "scopes": ["metrics"]})
    assert r.status_code == 422, r.text
    # Not an operation of the REST API's document.
    assert "/metrics" not in svc.client.app.openapi()["paths"]  # type: ignore[attr-defined]


def test_the_cli_makes_a_metrics_key(sqlite_service: Service, tmp_path: Path) -> None:
    svc = sqlite_service
    env = {
        **os.environ,
        "REELFORGE_DATA_DIR": str(svc.data_dir),
        "REELFORGE_DATABASE_URL": svc.services.settings.resolved_database_url(),
        "COLUMNS": "400",
    }
    made = subprocess.run(
        [sys.executable, "-m", "reelforge", "keys", "create", "--metrics", "--name", "prometheus"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.split()[1]
    assert svc.get("/metrics", token=token).status_code == 200
    # It reads metrics and nothing else.
    assert svc.get("/v1/workspace", token=token).json()["scopes"] == ["metrics"]
    assert svc.get("/v1/renders", token=token).status_code == 403


# ------------------------------------------------------------------ HTTP


def test_http_requests_are_counted_by_route_template(tmp_path: Path) -> None:
    with running_service(tmp_path, rate_limits={"reads": "3/minute"}) as svc, live_server(svc) as base:
        token = metrics_key(svc, "metrics")
        before = scrape(base, token)
        headers = svc.headers()
        statuses = [
            httpx.get(f"{base}/v1/renders/rnd_{i}", headers=headers, timeout=60).status_code for i in range(5)
        ]
        assert statuses[:3] == [404, 404, 404] and statuses[3:] == [429, 429]
        assert httpx.get(f"{base}/no/such/route", timeout=60).status_code == 404
        text = httpx.get(f"{base}/metrics", headers=svc.headers(token), timeout=60).text
        after = parse(text)
    route = "/v1/renders/{render_id}"
    counted = "reelforge_http_requests_total"
    assert (
        value(after, counted, route=route, method="GET", status="404")
        - value(before, counted, route=route, method="GET", status="404")
        == 3
    )
    # Refused by the rate limiter before routing: still under the route's template.
    assert (
        value(after, counted, route=route, method="GET", status="429")
        - value(before, counted, route=route, method="GET", status="429")
        == 2
    )
    assert value(after, counted, route="(unmatched)", method="GET", status="404") >= 1
    timed = "reelforge_http_request_duration_seconds_count"
    assert (
        value(after, timed, route=route, method="GET") - value(before, timed, route=route, method="GET") == 5
    )
    rejected = "reelforge_rate_limit_rejections_total"
    assert value(after, rejected, policy="reads") - value(before, rejected, policy="reads") == 2
    # Never a raw path (an id) in a label.
    assert "rnd_1" not in text and "/no/such/route" not in text


def test_redis_fallback_is_counted(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens there once the socket is closed
    with (
        running_service(tmp_path, redis_url=f"redis://127.0.0.1:{closed}/0") as svc,
        live_server(svc) as base,
    ):
        token = metrics_key(svc, "metrics")
        before = scrape(base, token)
        for _ in range(3):
            assert httpx.get(f"{base}/v1/workspace", headers=svc.headers(), timeout=60).status_code == 200
        after = scrape(base, token)
    fallback = "reelforge_rate_limit_redis_fallback_total"
    assert value(after, fallback) - value(before, fallback) >= 3
    assert value(after, "reelforge_rate_limit_redis_degraded") == 1


# ------------------------------------------------------------------ idempotency, bytes


def test_idempotency_outcomes_and_bytes_are_counted(sqlite_service: Service, media: Any) -> None:
    svc = sqlite_service
    with live_server(svc) as base:
        token = metrics_key(svc, "metrics")
        before = scrape(base, token)

        def create(key: str, name: str) -> int:
            r = httpx.post(
                f"{base}/v1/projects",
                headers=svc.headers(**{"Idempotency-Key": key}),
                json={"name": name, "edit": COLOUR},
                timeout=60,
            )
            return r.status_code

        assert create("key-0001", "first") == 201
        assert create("key-0001", "first") == 201  # replayed
        assert create("key-0001", "other") == 422  # the key was used for another body
        assert create("bad key", "first") == 400
        path = Path(media.video())
        r = httpx.post(
            f"{base}/v1/assets",
            headers=svc.headers(),
            files={"file": (path.name, path.read_bytes())},
            timeout=60,
        )
        assert r.status_code == 201, r.text
        asset = r.json()
        download = httpx.get(f"{base}/v1/assets/{asset['id']}/content", headers=svc.headers(), timeout=60)
        assert download.status_code == 200
        after = scrape(base, token)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    outcomes = "reelforge_idempotency_requests_total"
    assert grew(outcomes, outcome="new") == 1
    assert grew(outcomes, outcome="replayed") == 1
    assert grew(outcomes, outcome="mismatch") == 1
    assert grew(outcomes, outcome="invalid") == 1
    size = path.stat().st_size
    assert grew("reelforge_uploaded_bytes_total") == size
    assert grew("reelforge_delivered_bytes_total", via="download") == size == len(download.content)


# ------------------------------------------------------------------ renders


def test_render_metrics_come_from_the_worker_observer(tmp_path: Path, media: Any) -> None:
    with running_service(tmp_path, workers=1) as svc, live_server(svc) as base:
        token = metrics_key(svc, "metrics")
        before = scrape(base, token)
        ok = svc.post("/v1/renders", json={"edit": COLOUR})
        assert ok.status_code == 202, ok.text
        assert wait_render(svc, ok.json()["id"])["state"] == "succeeded"
        # A render that fails: its source file is gone behind the database's back.
        path = Path(media.video(color="green"))
        r = svc.post("/v1/assets", files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 201, r.text
        src = r.json()["id"]
        with svc.services.sessions() as db:
            asset = db.get(Asset, src)
            assert asset is not None
            svc.services.storage.delete(asset.storage_key)
        bad = svc.post(
            "/v1/renders",
            json={
                "edit": {
                    "timeline": {
                        "tracks": [{"clips": [{"asset": {"type": "video", "src": src}, "length": 1}]}]
                    },
                    "outputs": [{"format": "webm", "width": 160, "height": 90, "quality": "draft"}],
                }
            },
        )
        assert bad.status_code == 202, bad.text
        failed = wait_render(svc, bad.json()["id"])
        assert failed["state"] == "failed"
        after = scrape(base, token)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    renders = "reelforge_renders_total"
    assert grew(renders, state="succeeded", format="mp4", failure_code="") == 1
    assert grew(renders, state="failed", format="webm", failure_code=failed["error"]["code"]) == 1
    assert grew(renders, state="preparing", format="mp4", failure_code="") == 1
    assert grew(renders, state="rendering", format="mp4", failure_code="") == 1
    assert grew("reelforge_render_duration_seconds_count", state="succeeded") == 1
    assert grew("reelforge_render_duration_seconds_count", state="failed") == 1
    assert grew("reelforge_render_queue_wait_seconds_count") == 2
    assert grew("reelforge_render_realtime_factor_count") == 1
    # One second of timeline made one output of about a second.
    assert 0.9 <= grew("reelforge_render_output_seconds_total") <= 1.1


def test_queue_gauges_by_workspace_are_bounded(tmp_path: Path) -> None:
    with running_service(tmp_path, workers=1, metrics_top_workspaces=1) as svc, live_server(svc) as base:
        token = metrics_key(svc, "metrics")
        other = svc.other_workspace_key()
        with svc.services.sessions() as db:
            for ws in db.query(Workspace).all():
                ws.name = "main" if ws.name == "default" else "second"
            db.commit()
        with holding_renders(svc, RenderGate(("rendering",))) as gate:
            held = svc.post("/v1/renders", json={"edit": COLOUR}).json()["id"]
            gate.next(held)
            for _ in range(2):
                assert svc.post("/v1/renders", json={"edit": COLOUR}).status_code == 202
            assert svc.post("/v1/renders", token=other, json={"edit": COLOUR}).status_code == 202
            samples = scrape(base, token)
    assert value(samples, "reelforge_renders_running", workspace="main") == 1
    assert value(samples, "reelforge_renders_queued", workspace="main") == 2
    # Only the busiest workspace has its own label; the rest add up under `(other)`.
    assert value(samples, "reelforge_renders_queued", workspace="(other)") == 1
    assert not any(labels and ("workspace", "second") in labels for _, labels in samples)
    assert not any("ws_" in v for _, labels in samples for _, v in labels)
    assert value(samples, "reelforge_workers", kind="render", state="live") == 1


# ------------------------------------------------------------------ webhooks


class _Receiver:
    """A loopback HTTP receiver answering every POST with 204."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    found = _Receiver()
    yield found
    found.server.shutdown()


def test_webhook_attempts_are_counted_by_outcome(tmp_path: Path, receiver: _Receiver) -> None:
    with running_service(tmp_path, webhooks_allow_private=True) as svc, live_server(svc) as base:
        token = metrics_key(svc, "metrics")
        before = scrape(base, token)
        r = svc.post("/v1/webhook_endpoints", json={"url": receiver.url})
        assert r.status_code == 201, r.text
        assert svc.post(f"/v1/webhook_endpoints/{r.json()['id']}/test").status_code == 202

        def delivered() -> Samples | None:
            now = scrape(base, token)
            name = "reelforge_webhook_attempts_total"
            return (
                now if value(now, name, outcome="success") > value(before, name, outcome="success") else None
            )

        after = wait_until(delivered)
    name = "reelforge_webhook_attempt_duration_seconds_count"
    assert value(after, name, outcome="success") - value(before, name, outcome="success") >= 1


# ------------------------------------------------------------------ several processes


def test_multiprocess_mode_adds_up_every_process(tmp_path: Path) -> None:
    """Two ``reelforge serve`` processes of one installation share the multiprocess directory:
    a scrape of either counts the requests both answered."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
        "REELFORGE_DATA_DIR": str(data),
        "REELFORGE_WORKERS": "0",
        "REELFORGE_WEBHOOKS_DISPATCHER": "false",
        "COLUMNS": "400",
        "PYTHONUNBUFFERED": "1",
    }
    with ServeProcess(tmp_path, env, "--port", "0") as first:
        base1 = first.wait_listening()
        token = first.wait_for(r"\b(rf_live_\S+)")[1]
        with ServeProcess(tmp_path, env, "--port", "0") as second:
            base2 = second.wait_listening()
            from reelforge.services.context import open_services
            from reelforge.settings import Settings

            services = open_services(Settings(data_dir=data, _env_file=None))  # type: ignore[call-arg]
            with services.sessions() as db:
                ws = workspace_or_first(db, None)
                _, scraper = create_key(db, services, ws.id, "scraper", ["metrics"])
            services.engine.dispose()
            headers = {"Authorization": f"Bearer {token}"}
            for base, n in ((base1, 3), (base2, 4)):
                for _ in range(n):
                    assert httpx.get(f"{base}/v1/workspace", headers=headers, timeout=60).status_code == 200
            one, two = scrape(base1, scraper), scrape(base2, scraper)
            second.stop()
        first.stop()
    assert {p.name.split("_")[0] for p in shared.iterdir()} >= {"counter", "histogram"}
    for samples in (one, two):
        count = value(
            samples, "reelforge_http_requests_total", route="/v1/workspace", method="GET", status="200"
        )
        assert count == 7, json.dumps({f"{k[0]}{dict(k[1])}": v for k, v in samples.items()})[:2000]
