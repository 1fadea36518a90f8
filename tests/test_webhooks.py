"""Webhooks end to end: a real HTTP receiver on loopback (allowed by the development setting),
the real dispatcher, SQLite and PostgreSQL.

Deliveries are verified with the ``standardwebhooks`` package, as a customer's receiver would.
Retry schedules are shortened through the settings so retries happen in a fraction of a second.

``scripts/record_examples.py`` records the OpenAPI examples of the webhook routes again (``webhooks``),
with this module's receiver.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from standardwebhooks import Webhook, WebhookVerificationError

from reelforge.api.app import create_app
from reelforge.db.audit import AuditEntry
from reelforge.db.events import Event, record_event
from reelforge.db.models import utcnow
from reelforge.db.webhooks import WebhookDelivery, WebhookEndpoint
from reelforge.services.context import open_services
from reelforge.services.workspaces import bootstrap
from reelforge.settings import Settings
from reelforge.webhooks.delivery import Outcome, record_outcomes
from reelforge.webhooks.dispatcher import WebhookDispatcher
from reelforge.webhooks.signing import SecretBox
from service import Service, database, live_server, postgres_available, running_service

FAST = {
    "webhooks_allow_private": True,
    "webhooks_retry_schedule": [0.15, 0.15, 0.15, 0.15, 0.15],
    "webhooks_retry_jitter": 0.2,
}
"""Loopback receivers allowed; retries after ~0.15 s instead of 5 s, 5 min, ..."""
COLOUR = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 0.5}]}]},
    "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
}
_PG = postgres_available()


# ------------------------------------------------------------------ a receiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every request and answers from a script
    (per path: a list of answers used in turn, the last one repeated; or, with ``per_message``,
    the n-th answer for the n-th request of the same webhook-id)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.scripts: dict[str, list[Answer]] = {}
        self.per_message: dict[str, list[Answer]] = {}
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.active += 1
                    receiver.max_active = max(receiver.max_active, receiver.active)
                    receiver.requests.append(
                        Received(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()
                        )
                    )
                    by_id = receiver.per_message.get(self.path)
                    if by_id is not None:
                        seen = sum(
                            1
                            for r in receiver.requests
                            if r.path == self.path
                            and r.headers.get("webhook-id") == self.headers["webhook-id"]
                        )
                        answer = by_id[min(seen, len(by_id)) - 1]
                    else:
                        script = receiver.scripts.get(self.path, [Answer()])
                        answer = script.pop(0) if len(script) > 1 else script[0]
                try:
                    if answer.delay:
                        time.sleep(answer.delay)
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with receiver.lock:
                        receiver.active -= 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path] = list(answers)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def wait(self, path: str, count: int, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.at(path)) < count:
            assert time.monotonic() < deadline, f"{len(self.at(path))} of {count} requests at {path}"
            time.sleep(0.01)
        return self.at(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _skip_pg(kind: str) -> None:
    if kind == "postgresql" and not _PG:
        pytest.skip("no PostgreSQL at REELFORGE_TEST_POSTGRES")


@pytest.fixture(params=["sqlite", "postgresql"])
def hooked(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """The API with its dispatcher, loopback receivers allowed and a short retry schedule."""
    _skip_pg(request.param)
    with running_service(tmp_path, request.param, **FAST) as svc:
        yield svc


# ------------------------------------------------------------------ helpers


def workspace_id(svc: Service) -> str:
    return str(svc.get("/v1/workspace").json()["id"])


def emit(svc: Service, type: str, resource_id: str = "rnd_01test", **data: Any) -> str:
    """Record an outbox event as a change would (committed, which wakes the dispatcher)."""
    with svc.services.sessions() as db:
        event = record_event(
            db,
            workspace_id=workspace_id(svc),
            type=type,
            resource_type=type.split(".")[0],
            resource_id=resource_id,
            data={"id": resource_id, **data},
        )
        db.commit()
        return event.id


def create_endpoint(svc: Service, url: str, **body: Any) -> dict[str, Any]:
    r = svc.post("/v1/webhook_endpoints", json={"url": url, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def verify(secret: str, request: Received) -> Any:
    return Webhook(secret).verify(request.body, request.headers)


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def messages(svc: Service, endpoint_id: str, **params: str) -> list[dict[str, Any]]:
    r = svc.get(f"/v1/webhook_endpoints/{endpoint_id}/messages", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def attempts(svc: Service, endpoint_id: str, message_id: str) -> list[dict[str, Any]]:
    r = svc.get(f"/v1/webhook_endpoints/{endpoint_id}/messages/{message_id}/attempts")
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["data"]))  # oldest first


def settled(svc: Service, endpoint_id: str, status: str, count: int = 1) -> list[dict[str, Any]]:
    return list(
        wait_for(
            lambda: (found := messages(svc, endpoint_id, status=status)) and len(found) >= count and found
        )
    )


# ------------------------------------------------------------------ delivery


def test_deliveries_are_signed_standard_webhooks(hooked: Service, receiver: Receiver) -> None:
    svc = hooked
    renders = create_endpoint(svc, receiver.url("/renders"), event_types=["render.*"], description="CMS")
    everything = create_endpoint(svc, receiver.url("/all"))
    assert everything["event_types"] == ["*"]
    emit(svc, "render.succeeded", state="succeeded", duration=4.0, edit={"huge": "x" * 5000})
    emit(svc, "asset.ready", "ast_01test", kind="video")
    got = receiver.wait("/renders", 1)[0]
    both = receiver.wait("/all", 2)
    payload = verify(renders["secret"], got)
    assert payload["type"] == "render.succeeded" and payload["api_version"] == "v1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", payload["timestamp"])
    # thin: ids and small members; the large edit stays out
    assert payload["data"] == {"id": "rnd_01test", "object": "render", "state": "succeeded", "duration": 4.0}
    assert got.body == json.dumps(payload, separators=(",", ":")).encode()  # minified, signed as sent
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("Reelforge-Webhooks/")
    assert got.webhook_id.startswith("msg_") and "." not in got.webhook_id
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 30
    # the same event has the same webhook-id at every endpoint
    same = next(r for r in both if json.loads(r.body)["type"] == "render.succeeded")
    assert same.webhook_id == got.webhook_id
    for request in both:
        verify(everything["secret"], request)
    with pytest.raises(WebhookVerificationError):  # each endpoint has its own secret
        verify(renders["secret"], same)
    time.sleep(0.3)
    assert len(receiver.at("/renders")) == 1  # asset.ready is not a render.* event
    delivered = settled(svc, renders["id"], "succeeded")[0]
    assert delivered["id"] == got.webhook_id and delivered["attempts"] == 1
    assert delivered["payload"] == payload
    (attempt,) = attempts(svc, renders["id"], got.webhook_id)
    assert (
        attempt["response_status"] == 200
        and attempt["response_body"] == "ok"
        and attempt["error_class"] is None
    )
    assert attempt["duration_ms"] > 0 and attempt["next_attempt_at"] is None


def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt(
    hooked: Service, receiver: Receiver
) -> None:
    svc = hooked
    receiver.script("/flaky", Answer(500, b"database down"), Answer(503, b"busy"), Answer(502), Answer(200))
    endpoint = create_endpoint(svc, receiver.url("/flaky"))
    emit(svc, "render.failed", state="failed")
    got = receiver.wait("/flaky", 4)
    assert len({r.webhook_id for r in got}) == 1  # the same message every time
    assert len({r.body for r in got}) == 1
    for request in got:
        assert verify(endpoint["secret"], request)["type"] == "render.failed"
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    assert all(g >= 0.15 * 0.8 - 0.02 for g in gaps), gaps  # the schedule, minus jitter
    message = settled(svc, endpoint["id"], "succeeded")[0]
    assert message["attempts"] == 4
    log = attempts(svc, endpoint["id"], message["id"])
    assert [a["number"] for a in log] == [1, 2, 3, 4]
    assert [a["response_status"] for a in log] == [500, 503, 502, 200]
    assert [a["error_class"] for a in log] == ["http_status"] * 3 + [None]
    assert log[0]["response_body"] == "database down"
    assert all(a["next_attempt_at"] for a in log[:3]) and log[3]["next_attempt_at"] is None
    time.sleep(0.4)
    assert len(receiver.at("/flaky")) == 4
    health = svc.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()["health"]
    assert health["failures_since_success"] == 0 and health["last_success_at"] is not None


def test_the_schedule_runs_out_and_the_message_fails(hooked: Service, receiver: Receiver) -> None:
    svc = hooked
    receiver.script("/down", Answer(500))
    endpoint = create_endpoint(svc, receiver.url("/down"))
    watcher = create_endpoint(svc, receiver.url("/watcher"))  # every event type
    emit(svc, "render.succeeded")
    message = settled(svc, endpoint["id"], "failed")[0]
    assert message["attempts"] == 1 + len(FAST["webhooks_retry_schedule"])  # type: ignore[arg-type]
    assert message["next_attempt_at"] is None and message["last_response_status"] == 500
    # the give-up is an event (listed and streamed) ...
    exhausted = svc.get("/v1/events", params={"type": "webhook_message.exhausted"}).json()["data"]
    assert len(exhausted) == 1, exhausted
    assert exhausted[0]["resource"] == {"type": "webhook_message", "id": message["id"]}
    assert exhausted[0]["data"] == {
        "id": message["id"],
        "object": "webhook_message",
        "endpoint_id": endpoint["id"],
        "message_id": message["id"],
        "event_type": "render.succeeded",
        "attempts": message["attempts"],
    }
    # ... never sent by webhook: the other endpoint (subscribed to "*") got the render event only
    wait_for(lambda: settled(svc, watcher["id"], "succeeded"))
    time.sleep(0.3)
    assert [r.json()["type"] for r in receiver.at("/watcher")] == ["render.succeeded"]
    assert [m["event_type"] for m in messages(svc, watcher["id"])] == ["render.succeeded"]
    # the message can be sent again by hand, and recovered with every failed one of a window
    receiver.script("/down", Answer(200))
    r = svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/messages/{message['id']}/retry")
    assert r.status_code == 202 and r.json()["status"] == "pending"
    wait_for(lambda: messages(svc, endpoint["id"], status="succeeded"))
    log = attempts(svc, endpoint["id"], message["id"])
    assert log[-1]["trigger"] == "manual" and log[-1]["response_status"] == 200
    ids = {r.webhook_id for r in receiver.at("/down")}
    assert ids == {message["id"]}


def test_410_disables_the_endpoint_at_once(hooked: Service, receiver: Receiver) -> None:
    svc = hooked
    receiver.script("/gone", Answer(410, b"no such hook"))
    watcher = create_endpoint(svc, receiver.url("/watch"), event_types=["webhook_endpoint.*"])
    endpoint = create_endpoint(svc, receiver.url("/gone"))
    emit(svc, "render.succeeded")
    receiver.wait("/gone", 1)
    body = wait_for(
        lambda: (b := svc.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()) and not b["enabled"] and b
    )
    assert body["disabled_reason"] == "gone" and body["disabled_at"]
    assert settled(svc, endpoint["id"], "failed")[0]["attempts"] == 1
    # the disabled event is in the outbox, and goes to the endpoints that listen for it
    notice = receiver.wait("/watch", 1)[0]
    payload = verify(watcher["secret"], notice)
    assert payload["type"] == "webhook_endpoint.disabled"
    assert payload["data"]["id"] == endpoint["id"] and payload["data"]["disabled_reason"] == "gone"
    with svc.services.sessions() as db:
        assert db.scalar(
            select(Event.id).where(
                Event.type == "webhook_endpoint.disabled", Event.resource_id == endpoint["id"]
            )
        )
        actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.resource_id == endpoint["id"])))
    assert {"webhook_endpoint.created", "webhook_endpoint.disabled"} <= actions
    # nothing more is sent while it is disabled (its messages are logged as failed, unsent);
    # test and retry say why not
    emit(svc, "render.cancelled")
    missed = wait_for(
        lambda: [
            m for m in messages(svc, endpoint["id"], status="failed") if m["event_type"] == "render.cancelled"
        ]
    )[0]
    assert missed["attempts"] == 0
    time.sleep(0.3)
    assert len(receiver.at("/gone")) == 1
    assert svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/test").json()["code"] == "conflict"
    r = svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/messages/{missed['id']}/retry")
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    # enabled again (the receiver is back), and the failed messages recovered
    receiver.script("/gone", Answer(204, b""))
    r = svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/enable")
    assert r.status_code == 200 and r.json()["enabled"] and r.json()["disabled_reason"] is None
    r = svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/recover", json={"since": "2020-01-01T00:00:00Z"})
    assert r.status_code == 202 and r.json()["messages"] == 2, r.text
    replayed = receiver.wait("/gone", 3)[1:]
    assert {verify(endpoint["secret"], x)["type"] for x in replayed} == {
        "render.succeeded",
        "render.cancelled",
    }
    assert receiver.at("/gone")[0].webhook_id in {x.webhook_id for x in replayed}  # the same message again
    settled(svc, endpoint["id"], "succeeded", 2)


def test_sustained_failure_disables_the_endpoint(tmp_path: Path, receiver: Receiver) -> None:
    policy = {
        **FAST,
        "webhooks_retry_schedule": [0.05] * 20,
        "webhooks_disable_after": 0.4,
        "webhooks_disable_min_failures": 4,
    }
    with running_service(tmp_path, "sqlite", **policy) as svc:
        receiver.script("/failing", Answer(500))
        endpoint = create_endpoint(svc, receiver.url("/failing"))
        emit(svc, "render.succeeded")
        body = wait_for(
            lambda: (
                (b := svc.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()) and not b["enabled"] and b
            )
        )
        assert body["disabled_reason"] == "failing"
        count = len(receiver.at("/failing"))
        assert count >= 4
        time.sleep(0.3)
        assert len(receiver.at("/failing")) == count  # no retries after the disable
        assert settled(svc, endpoint["id"], "failed")


def test_retry_after_is_honoured(tmp_path: Path, receiver: Receiver) -> None:
    with running_service(tmp_path, "sqlite", **{**FAST, "webhooks_retry_schedule": [0.05, 0.05]}) as svc:
        receiver.script("/busy", Answer(429, headers={"Retry-After": "1"}), Answer(200))
        endpoint = create_endpoint(svc, receiver.url("/busy"))
        emit(svc, "render.succeeded")
        first, second = receiver.wait("/busy", 2)
        assert second.at - first.at >= 0.95
        log = attempts(svc, endpoint["id"], first.webhook_id)
        assert log[0]["response_headers"]["retry-after"] == "1"


def test_timeouts_and_redirects_are_failures(tmp_path: Path, receiver: Receiver) -> None:
    settings = {**FAST, "webhooks_timeout": 0.5, "webhooks_retry_schedule": [30]}
    with running_service(tmp_path, "sqlite", **settings) as svc:
        receiver.script("/slow", Answer(200, delay=2))
        receiver.script("/moved", Answer(302, headers={"Location": receiver.url("/elsewhere")}))
        slow = create_endpoint(svc, receiver.url("/slow"))
        moved = create_endpoint(svc, receiver.url("/moved"))
        emit(svc, "render.succeeded")
        for endpoint, error in ((slow, "timeout"), (moved, "http_status")):
            message = wait_for(lambda e=endpoint: [m for m in messages(svc, e["id"]) if m["attempts"] == 1])[
                0
            ]
            (attempt,) = attempts(svc, endpoint["id"], message["id"])
            assert attempt["error_class"] == error, attempt
            assert message["status"] == "pending" and message["next_attempt_at"]  # retried later
        assert attempt["response_status"] == 302
        assert attempt["response_headers"]["location"] == receiver.url("/elsewhere")
        time.sleep(0.3)
        assert receiver.at("/elsewhere") == []  # a redirect is never followed


def test_per_endpoint_concurrency_is_capped(tmp_path: Path, receiver: Receiver) -> None:
    with running_service(tmp_path, "sqlite", **{**FAST, "webhooks_max_in_flight": 2}) as svc:
        receiver.script("/slow", Answer(200, delay=0.25))
        create_endpoint(svc, receiver.url("/slow"))
        for i in range(6):
            emit(svc, "render.succeeded", f"rnd_{i:02d}")
        got = receiver.wait("/slow", 6)
        assert receiver.max_active == 2
        assert len({r.webhook_id for r in got}) == 6


@pytest.mark.slow
def test_a_claim_queued_past_its_lease_is_sent_once(tmp_path: Path, receiver: Receiver) -> None:
    """Two deliveries claimed together for an endpoint with room for one at a time: the second
    waits for its slot longer than its lease, while maintenance takes expired leases back. It
    is sent once (its lease is renewed when it gets the slot), never by two tasks."""
    with running_service(
        tmp_path, "sqlite", webhooks_dispatcher=False, webhooks_timeout=4.0, webhooks_max_in_flight=1, **FAST
    ) as svc:
        receiver.script("/slow", Answer(delay=3.5))
        endpoint = create_endpoint(svc, receiver.url("/slow"))
        dispatcher = WebhookDispatcher(
            svc.services.sessions,
            svc.services.settings,
            SecretBox(svc.services.secrets.pepper),
            lease_margin=0.5,
            poll_interval=0.2,
        )
        dispatcher.start()
        try:
            emit(svc, "render.succeeded", "rnd_a")
            emit(svc, "render.succeeded", "rnd_b")
            settled(svc, endpoint["id"], "succeeded", 2)
            time.sleep(1.0)  # room for a second send of a taken-back claim (it came at ~5.5 s)
        finally:
            dispatcher.stop(timeout=8)
    per_message = Counter(r.webhook_id for r in receiver.at("/slow"))
    assert len(per_message) == 2 and set(per_message.values()) == {1}, per_message


def test_secret_rotation_signs_with_both_secrets_during_the_overlap(
    hooked: Service, receiver: Receiver
) -> None:
    svc = hooked
    endpoint = create_endpoint(svc, receiver.url("/rot"))
    old = endpoint["secret"]
    r = svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret")
    assert r.status_code == 200, r.text
    rotated = r.json()
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old and rotated["previous_secret_expires_at"]
    emit(svc, "render.succeeded")
    got = receiver.wait("/rot", 1)[0]
    signatures = got.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert verify(new, got) == verify(old, got)
    for secret, signature in zip((new, old), signatures, strict=True):  # each signature by its own secret
        verify(secret, Received(got.path, {**got.headers, "webhook-signature": signature}, got.body, got.at))
    # without overlap the previous secret stops signing at once
    r = svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", json={"grace_seconds": 0})
    newest = r.json()["secret"]
    assert r.json()["previous_secret_expires_at"] is None
    emit(svc, "render.cancelled")
    got = receiver.wait("/rot", 2)[1]
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    verify(newest, got)
    for stale in (old, new):
        with pytest.raises(WebhookVerificationError):
            verify(stale, got)
    with svc.services.sessions() as db:
        actions = list(db.scalars(select(AuditEntry.action).where(AuditEntry.resource_id == endpoint["id"])))
    assert actions.count("webhook_endpoint.secret_rotated") == 2


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_concurrent_rotations_never_lose_a_secret(kind: str, tmp_path: Path) -> None:
    """Two rotations racing (held at the database until both are in): every secret a 200 returns
    signs deliveries. PostgreSQL locks the row, so both succeed in turn; SQLite refuses the loser
    with 409 ``conflict``."""
    _skip_pg(kind)
    with running_service(tmp_path, kind, webhooks_dispatcher=False) as svc:
        endpoint = create_endpoint(svc, "https://hooks.example.com/rotate")
        out: dict[int, httpx.Response] = {}
        with live_server(svc) as base, svc.services.engine.connect() as conn:
            if kind == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # writers wait for this one
            else:
                conn.execute(text("LOCK TABLE webhook_endpoints IN EXCLUSIVE MODE"))

            def rotate(n: int) -> None:
                out[n] = httpx.post(
                    f"{base}/v1/webhook_endpoints/{endpoint['id']}/rotate_secret",
                    headers=svc.headers(),
                    timeout=30,
                )

            threads = [threading.Thread(target=rotate, args=(n,)) for n in range(2)]
            for thread in threads:
                thread.start()
            time.sleep(1.5)  # both are in, waiting for the database
            conn.rollback()
            for thread in threads:
                thread.join(30)
        statuses = sorted(r.status_code for r in out.values())
        # (on a loaded machine a request may reach SQLite only after the other committed: 200, 200)
        assert statuses in ([[200, 409], [200, 200]] if kind == "sqlite" else [[200, 200]]), [
            r.text for r in out.values()
        ]
        returned = {r.json()["secret"] for r in out.values() if r.status_code == 200}
        box = SecretBox(svc.services.secrets.pepper)
        with svc.services.sessions() as db:
            row = db.get(WebhookEndpoint, endpoint["id"])
            assert row is not None
            signing = {box.open(row.secret, row.id)}
            if row.previous_secret:
                signing.add(box.open(row.previous_secret, row.id))
        assert returned <= signing
        conflict = next((r for r in out.values() if r.status_code == 409), None)
        if conflict is not None:
            assert conflict.json()["code"] == "conflict"


def test_test_ping_and_manual_retry(hooked: Service, receiver: Receiver) -> None:
    svc = hooked
    endpoint = create_endpoint(svc, receiver.url("/ping"), event_types=["render.succeeded"])
    r = svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/test")
    assert r.status_code == 202, r.text
    assert r.json()["event_type"] == "ping" and r.json()["status"] == "pending"
    got = receiver.wait("/ping", 1)[0]
    payload = verify(endpoint["secret"], got)
    assert payload["type"] == "ping" and payload["data"]["id"] == endpoint["id"]
    assert got.webhook_id == r.json()["id"]
    settled(svc, endpoint["id"], "succeeded")
    # a succeeded message may be sent again: same id, new timestamp and signature
    time.sleep(1.05)
    r = svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/messages/{got.webhook_id}/retry")
    assert r.status_code == 202
    again = receiver.wait("/ping", 2)[1]
    assert again.webhook_id == got.webhook_id and again.body == got.body
    assert again.headers["webhook-timestamp"] != got.headers["webhook-timestamp"]
    verify(endpoint["secret"], again)
    r = svc.post(f"/v1/webhook_endpoints/{endpoint['id']}/messages/msg_01jdzzzzzzzzzzzzzzzzzzzzzz/retry")
    assert r.status_code == 404 and r.json()["code"] == "not-found"


# ------------------------------------------------------------------ restarts and several dispatchers


@contextmanager
def app_on(url: str, data_dir: Path, **settings: Any) -> Iterator[Service]:
    """One life of the service on an existing database (a process start and a clean stop)."""
    config = Settings(
        data_dir=data_dir,
        database_url=url,
        workers=0,
        _env_file=None,  # type: ignore[call-arg]
        **{**FAST, **settings},
    )
    services = open_services(config)
    token = bootstrap(services)
    try:
        with TestClient(create_app(services=services)) as client:
            yield Service(client, services, token or "", data_dir)
    finally:
        services.engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_restart_mid_retry_delivers_exactly_once(kind: str, tmp_path: Path, receiver: Receiver) -> None:
    _skip_pg(kind)
    receiver.script("/restart", Answer(500), Answer(200))
    data = tmp_path / "data"
    with database(kind, tmp_path, migrated=True) as url:
        # The retry is due 8 s after the failure: the first process is gone by then even on a
        # loaded machine (it must not send the retry itself), and the second sends it.
        with app_on(url, data, webhooks_retry_schedule=[8.0]) as first:
            endpoint = create_endpoint(first, receiver.url("/restart"))
            secret = endpoint["secret"]
            emit(first, "render.succeeded")
            receiver.wait("/restart", 1)
            wait_for(
                lambda: [
                    m
                    for m in messages(first, endpoint["id"])
                    if m["attempts"] == 1 and m["status"] == "pending"
                ]
            )
            token = first.token
        # the process is gone with the retry waiting in the database
        assert len(receiver.at("/restart")) == 1
        with first.services.engine.connect() as conn:
            waiting = conn.execute(select(WebhookDelivery.status, WebhookDelivery.claimed_by)).all()
        assert [tuple(w) for w in waiting] == [("pending", None)]
        with app_on(url, data, webhooks_retry_schedule=[1.5]) as second:
            second.token = token
            receiver.wait("/restart", 2)
            settled(second, endpoint["id"], "succeeded")
            time.sleep(0.5)
    got = receiver.at("/restart")
    # The receiver deduplicates by webhook-id over everything it received: one message, the
    # failed attempt before the restart and exactly one after it.
    per_message = Counter(r.webhook_id for r in got)
    assert len(per_message) == 1, per_message
    assert list(per_message.values()) == [2], per_message
    for request in got:
        verify(secret, request)


def test_a_crashed_dispatchers_claim_is_taken_over(tmp_path: Path, receiver: Receiver) -> None:
    """A dispatcher that dies mid-attempt leaves its delivery 'sending'; once its lease runs
    out another dispatcher sends it (at least once: the receiver dedupes on webhook-id)."""
    with running_service(tmp_path, "sqlite", webhooks_dispatcher=False, **FAST) as svc:
        endpoint = create_endpoint(svc, receiver.url("/crash"))
        emit(svc, "render.succeeded")
        box = SecretBox(svc.services.secrets.pepper)
        lost = WebhookDispatcher(svc.services.sessions, svc.services.settings, box, name="lost")
        lost._fan_out()
        (claim,) = lost._claim()  # claimed, then the process "dies" before sending
        with svc.services.sessions() as db:
            db.execute(update(WebhookDelivery).values(claimed_until=WebhookDelivery.created_at))
            db.commit()
        heir = WebhookDispatcher(svc.services.sessions, svc.services.settings, box, name="heir")
        heir.start()
        try:
            got = receiver.wait("/crash", 1)[0]
            assert got.webhook_id == claim.message_id
            verify(endpoint["secret"], got)
            settled(svc, endpoint["id"], "succeeded")
        finally:
            heir.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_claim_taken_over_is_neither_sent_nor_judged_by_its_old_holder(kind: str, tmp_path: Path) -> None:
    """A stalled dispatcher's lease ran out and another took the delivery: the stalled one may
    not renew it (so it does not send), and an outcome it still reports is logged but decides
    nothing: not the delivery's state, not the endpoint's health (a 410 here disables nothing)."""
    _skip_pg(kind)
    with running_service(tmp_path, kind, webhooks_dispatcher=False, **FAST) as svc:
        endpoint = create_endpoint(svc, "https://hooks.example.com/taken")
        emit(svc, "render.succeeded")
        box = SecretBox(svc.services.secrets.pepper)
        stalled = WebhookDispatcher(svc.services.sessions, svc.services.settings, box, name="stalled")
        heir = WebhookDispatcher(svc.services.sessions, svc.services.settings, box, name="heir")
        stalled._fan_out()
        (claim,) = stalled._claim()
        with svc.services.sessions() as db:
            db.execute(update(WebhookDelivery).values(claimed_until=WebhookDelivery.created_at))
            db.commit()
        assert heir._recover_expired() == 1
        (again,) = heir._claim()
        assert not stalled._renew(claim) and heir._renew(again)
        late = Outcome(
            attempted_at=utcnow(),
            duration_ms=5.0,
            status=410,
            error_class="http_status",
            error="HTTP 410: not a 2xx",
        )
        with svc.services.sessions() as db:
            statuses = record_outcomes(
                db, [(claim, late)], svc.services.settings, dispatcher="stalled", rng=random.Random(1)
            )
        assert statuses == ["superseded"]
        shown = svc.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()
        assert shown["enabled"] and shown["health"]["failures_since_success"] == 0
        assert shown["health"]["failing_since"] is None
        with svc.services.sessions() as db:
            row = db.get(WebhookDelivery, claim.delivery_id)
            assert row is not None and (row.status, row.claimed_by) == ("sending", "heir")
        (logged,) = attempts(svc, endpoint["id"], claim.message_id)  # what was done is still logged
        assert logged["response_status"] == 410 and logged["next_attempt_at"] is None


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_dispatchers_send_each_message_once(kind: str, tmp_path: Path, receiver: Receiver) -> None:
    _skip_pg(kind)
    with running_service(tmp_path, kind, webhooks_dispatcher=False, **FAST) as svc:
        endpoint = create_endpoint(svc, receiver.url("/pair"))
        box = SecretBox(svc.services.secrets.pepper)
        pair = [
            WebhookDispatcher(
                svc.services.sessions, svc.services.settings, box, name=f"d{i}", poll_interval=0.05
            )
            for i in range(2)
        ]
        for dispatcher in pair:
            dispatcher.start()
        try:
            for i in range(40):
                emit(svc, "render.succeeded", f"rnd_{i:03d}")
            got = receiver.wait("/pair", 40)
            time.sleep(0.5)
            got = receiver.at("/pair")
            assert len(got) == 40 and len({r.webhook_id for r in got}) == 40
            for request in got:
                verify(endpoint["secret"], request)
            assert sum(d.sent for d in pair) == 40
        finally:
            for dispatcher in pair:
                dispatcher.stop()


def test_an_event_committed_late_is_not_skipped(tmp_path: Path, receiver: Receiver) -> None:
    """PostgreSQL takes ``seq`` at insert: an event of a transaction still open leaves a gap
    that a later, already committed event is behind. The cursor waits at the gap (it does not
    skip the late event), and goes on once that transaction ends, committed or rolled back."""
    _skip_pg("postgresql")
    with running_service(tmp_path, "postgresql", **FAST) as svc:
        endpoint = create_endpoint(svc, receiver.url("/late"))
        late = svc.services.sessions()
        try:
            record_event(
                late,
                workspace_id=workspace_id(svc),
                type="render.started",
                resource_type="render",
                resource_id="rnd_01late",
                data={"id": "rnd_01late"},
            )
            late.flush()  # seq taken, not committed
            emit(svc, "render.succeeded", "rnd_02early")
            time.sleep(1.0)
            assert receiver.at("/late") == []  # waiting at the gap, not past it
            late.commit()
        finally:
            late.close()
        got = receiver.wait("/late", 2)
        assert {verify(endpoint["secret"], x)["data"]["id"] for x in got} == {"rnd_01late", "rnd_02early"}
        # a rolled-back event leaves a gap for ever: it is passed once its transaction ended
        doomed = svc.services.sessions()
        try:
            record_event(
                doomed,
                workspace_id=workspace_id(svc),
                type="render.failed",
                resource_type="render",
                resource_id="rnd_03doomed",
                data={"id": "rnd_03doomed"},
            )
            doomed.flush()
            emit(svc, "render.succeeded", "rnd_04after")
            time.sleep(0.5)
            doomed.rollback()
        finally:
            doomed.close()
        third = receiver.wait("/late", 3)[2]
        assert verify(endpoint["secret"], third)["data"]["id"] == "rnd_04after"


# ------------------------------------------------------------------ the API


def test_endpoint_crud_audit_and_secrets_at_rest(hooked: Service, receiver: Receiver) -> None:
    svc = hooked
    created = create_endpoint(
        svc,
        receiver.url("/crud"),
        event_types=["render.*", "asset.ready", "render.*"],
        description="CMS publisher",
    )
    assert created["event_types"] == ["render.*", "asset.ready"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", created["secret"])
    endpoint_id = created["id"]
    assert endpoint_id.startswith("we_")
    got = svc.get(f"/v1/webhook_endpoints/{endpoint_id}").json()
    assert "secret" not in got and got["description"] == "CMS publisher"
    listed = svc.get("/v1/webhook_endpoints").json()
    assert [e["id"] for e in listed["data"]] == [endpoint_id] and "secret" not in listed["data"][0]
    with svc.services.sessions() as db:
        stored = db.get(WebhookEndpoint, endpoint_id)
        assert stored is not None and created["secret"] not in stored.secret
        assert created["secret"].removeprefix("whsec_") not in stored.secret
    r = svc.client.patch(
        f"/v1/webhook_endpoints/{endpoint_id}",
        headers=svc.headers(),
        json={"event_types": ["*"], "description": "everything"},
    )
    assert r.status_code == 200 and r.json()["event_types"] == ["*"]
    r = svc.client.patch(
        f"/v1/webhook_endpoints/{endpoint_id}", headers=svc.headers(), json={"enabled": False}
    )
    assert r.json()["enabled"] is False and r.json()["disabled_reason"] == "manual"
    assert svc.get("/v1/webhook_endpoints", params={"enabled": "true"}).json()["data"] == []
    r = svc.client.patch(
        f"/v1/webhook_endpoints/{endpoint_id}", headers=svc.headers(), json={"enabled": True}
    )
    assert r.json()["enabled"] is True
    # validation: located errors, unknown members refused
    r = svc.post("/v1/webhook_endpoints", json={"url": receiver.url(), "event_types": ["render..x"]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/event_types"
    r = svc.post("/v1/webhook_endpoints", json={"url": receiver.url(), "events": ["*"]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/events"
    r = svc.post("/v1/webhook_endpoints", json={"url": "ftp://example.com/x"})
    assert (
        r.status_code == 422
        and r.json()["code"] == "url-not-allowed"
        and r.json()["errors"][0]["pointer"] == "#/url"
    )
    r = svc.post(
        f"/v1/webhook_endpoints/{endpoint_id}/recover",
        json={"since": "2026-11-28T10:00:00Z", "until": "2026-11-28T09:00:00Z"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/until"
    r = svc.client.delete(f"/v1/webhook_endpoints/{endpoint_id}", headers=svc.headers())
    assert r.status_code == 204
    assert svc.get(f"/v1/webhook_endpoints/{endpoint_id}").status_code == 404
    with svc.services.sessions() as db:
        actions = list(
            db.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.resource_id == endpoint_id)
                .order_by(AuditEntry.created_at, AuditEntry.id)
            )
        )
    assert actions == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.disabled",
        "webhook_endpoint.enabled",
        "webhook_endpoint.deleted",
    ]


def test_creation_is_idempotent_and_replays_the_secret(sqlite_service: Service) -> None:
    svc = sqlite_service
    body = {"url": "https://hooks.example.com/reelforge", "event_types": ["render.*"]}
    key = {"Idempotency-Key": "c3b1f6a0-webhook-endpoint-1"}
    first = svc.post("/v1/webhook_endpoints", json=body, headers=key)
    again = svc.post("/v1/webhook_endpoints", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["secret"] == first.json()["secret"]
    assert len(svc.get("/v1/webhook_endpoints").json()["data"]) == 1


# ------------------------------------------------------------------ a real render's events


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_renders_events_arrive_signed(kind: str, tmp_path: Path, receiver: Receiver) -> None:
    _skip_pg(kind)
    with running_service(tmp_path, kind, workers=1, **FAST) as svc:
        endpoint = create_endpoint(svc, receiver.url("/cms"), event_types=["render.*"])
        r = svc.post("/v1/renders", json={"edit": COLOUR})
        assert r.status_code == 202, r.text
        render_id = r.json()["id"]
        got = wait_for(
            lambda: (
                (found := receiver.at("/cms"))
                and any(json.loads(x.body)["type"] in ("render.succeeded", "render.failed") for x in found)
                and found
            ),
            60,
        )
        payloads = {json.loads(x.body)["type"]: verify(endpoint["secret"], x) for x in got}
        assert {"render.queued", "render.succeeded"} <= set(payloads), list(payloads)
        assert all(
            p["data"]["id"] == render_id and p["data"]["object"] == "render" for p in payloads.values()
        )
        assert payloads["render.succeeded"]["data"]["state"] == "succeeded"
        assert len({x.webhook_id for x in got}) == len(got)
        with svc.services.sessions() as db:  # the webhook-id is derived from the outbox event's id
            event_ids = set(db.scalars(select(Event.id).where(Event.resource_id == render_id)))
        assert {x.webhook_id.removeprefix("msg_") for x in got} <= {e.removeprefix("evt_") for e in event_ids}


# ------------------------------------------------------------------ the OpenAPI examples against the service


def check_openapi_examples(c: Any, svc: Service) -> None:
    """Every webhook operation, its request examples sent to the service (``tests/test_openapi.py``
    calls this with its checker). The example URL does not resolve offline, which registration
    accepts (deliveries check again); online it is a public address."""
    base = "/v1/webhook_endpoints"
    one = base + "/{endpoint_id}"
    endpoint = next(iter(c.send_examples("POST", base).values()))
    target = {"endpoint_id": endpoint["id"]}
    c.call("GET", base, expect=200)
    c.call("GET", one, params=target, expect=200)
    c.send_examples("PATCH", one, params=lambda: target)
    c.send_examples("POST", one + "/rotate_secret", params=lambda: target)
    ping = c.call("POST", one + "/test", params=target, expect=202).json()
    message = {**target, "message_id": ping["id"]}
    wait_for(
        lambda: (
            svc.get(f"{base}/{endpoint['id']}/messages/{ping['id']}").json()["status"] != "sending"
            and svc.get(f"{base}/{endpoint['id']}/messages/{ping['id']}").json()["attempts"] >= 1
        ),
        20,
    )
    c.call("GET", one + "/messages", params=target, expect=200)
    c.call("GET", one + "/messages/{message_id}", params=message, expect=200)
    c.call("GET", one + "/messages/{message_id}/attempts", params=message, expect=200)
    c.call("POST", one + "/messages/{message_id}/retry", params=message, expect=202)
    c.send_examples("POST", one + "/recover", params=lambda: target)
    c.call("POST", one + "/enable", params=target, expect=200)
    c.call("DELETE", one, params=target, expect=204)
