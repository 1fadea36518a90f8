"""Events: the outbox rows every change writes, `GET /v1/events`, and the two Server-Sent Events
streams followed over real HTTP (a live uvicorn) while the worker renders with FFmpeg.

``scripts/record_examples.py`` records the OpenAPI examples of these routes again (``events``), with this
module's helpers.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from reelforge.db.events import EVENTS_COMMITTED, Event, record_event
from reelforge.db.models import Project, ProjectRevision, new_id, utcnow
from service import RenderGate, ServeProcess, Service, holding_renders, wait_render

COLOUR = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]},
    "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
}


def _long(seconds: float, width: int = 320, height: int = 180) -> dict[str, Any]:
    """A plain colour render ``seconds`` long (tests that need it held hold it with a gate)."""
    return {
        "timeline": {
            "tracks": [{"clips": [{"asset": {"type": "color", "color": "blue"}, "length": seconds}]}]
        },
        "outputs": [{"width": width, "height": height, "quality": "high"}],
    }


# ------------------------------------------------------------------ helpers


def all_events(svc: Service, token: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """Every page of GET /v1/events with ``params``."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = svc.get("/v1/events", token, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        found += body["data"]
        cursor = body["next_cursor"]
        if not cursor:
            return found


def newest_sequence(svc: Service, token: str | None = None) -> int:
    """The sequence of the workspace's newest event (0 for none): a test takes it before acting
    and looks only at the events after it, since the first start already made a key (an event)."""
    r = svc.get("/v1/events", token, params={"limit": 1})
    assert r.status_code == 200, r.text
    return int(r.json()["data"][0]["sequence"]) if r.json()["data"] else 0


def events_after(svc: Service, mark: int, token: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """The events of :func:`all_events` with a sequence above ``mark``."""
    return [e for e in all_events(svc, token, **params) if e["sequence"] > mark]


def upload(svc: Service, path: Path, name: str = "clip.mp4", **fields: str) -> dict[str, Any]:
    with path.open("rb") as f:
        r = svc.post("/v1/assets", files={"file": (name, f)}, data=fields)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


# ------------------------------------------------------------------ live HTTP


@contextmanager
def live(svc: Service) -> Iterator[str]:
    """The service's app (lifespan and worker already running) on a real socket."""
    server = uvicorn.Server(
        uvicorn.Config(
            svc.client.app,
            host="127.0.0.1",
            port=0,  # the system's choice: no other process can take it in between
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # generous: a loaded machine can be slow to schedule it
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "uvicorn did not stop"


class SSE:
    """A Server-Sent Events reader over a real HTTP response (comments kept as ``(":", text)``)."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.lines = response.iter_lines()
        self.comments: list[str] = []

    def next(self) -> dict[str, str] | None:
        """The next message (``event``, ``id``, ``data``), or None when the stream ended."""
        message: dict[str, str] = {}
        for line in self.lines:
            if line == "":
                if message:
                    return message
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            message[field] = message[field] + "\n" + value if field in message else value
        return message or None

    def __iter__(self) -> Iterator[dict[str, str]]:
        while (message := self.next()) is not None:
            yield message


def sse_get(client: httpx.Client, url: str, token: str, **headers: str) -> Any:
    return client.stream("GET", url, headers={"Authorization": f"Bearer {token}", **headers})


# ------------------------------------------------------------------ lifecycle


def test_render_lifecycle_records_events_in_order(rendering: Service, media: Any) -> None:
    svc = rendering
    asset = upload(svc, Path(media.video(duration=0.5)))
    ready = all_events(svc, type="asset.ready", resource_id=asset["id"])
    assert [e["type"] for e in ready] == ["asset.ready"]
    assert ready[0]["data"] == {
        k: v for k, v in asset.items() if k != "deduplicated"
    }  # as the upload answered
    assert ready[0]["resource"] == {"type": "asset", "id": asset["id"]}
    if asset["previews"] == "pending":  # previews are made after the answer: `asset.updated` says when
        deadline = time.monotonic() + 30
        while not (updated := all_events(svc, type="asset.updated", resource_id=asset["id"])):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert updated[0]["data"] == svc.get(f"/v1/assets/{asset['id']}").json()
        assert updated[0]["data"]["previews"] == "ready"
    # the same bytes again: deduplicated, nothing new happened, no second event
    upload(svc, Path(media.video(duration=0.5)))
    assert len(all_events(svc, type="asset.ready", resource_id=asset["id"])) == 1

    edit = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": asset["id"]}}]}]},
        "outputs": [{"width": 160, "height": 90, "quality": "draft", "poster": {}}],
    }
    project = svc.post("/v1/projects", json={"name": "promo", "edit": edit, "message": "first cut"}).json()
    created = svc.post("/v1/renders", json={"project_id": project["id"], "metadata": {"job": 7}})
    assert created.status_code == 202, created.text
    render = wait_render(svc, created.json()["id"])
    assert render["state"] == "succeeded", render

    events = all_events(svc, resource_id=render["id"], order="asc")
    assert [e["type"] for e in events] == ["render.queued", "render.started", "render.succeeded"]
    queued, started, succeeded = (e["data"] for e in events)
    assert queued == created.json()  # the representation POST answered with
    assert queued["state"] == "queued" and queued["attempts"] == 0 and queued["metadata"] == {"job": 7}
    assert started["state"] == "preparing" and started["attempts"] == 1 and started["started_at"]
    # The outputs' previews are made once the render has succeeded, as an upload's are once it
    # has answered: the event shows them pending, and each output's `asset.updated` says when
    # they are ready.
    previews = ("previews", "thumbnail_url", "waveform_url")

    def without_previews(r: dict[str, Any]) -> dict[str, Any]:
        return {**r, "outputs": [{k: v for k, v in o.items() if k not in previews} for o in r["outputs"]]}

    assert without_previews(succeeded) == without_previews(svc.get(f"/v1/renders/{render['id']}").json())
    assert [o["role"] for o in succeeded["outputs"]] == ["output", "poster"]
    assert all(o["previews"] == "pending" and o["thumbnail_url"] is None for o in succeeded["outputs"])
    for output in succeeded["outputs"]:
        deadline = time.monotonic() + 60
        while not (updated := all_events(svc, type="asset.updated", resource_id=output["id"])):
            assert time.monotonic() < deadline, f"no asset.updated for {output['name']}"
            time.sleep(0.05)
        assert updated[0]["data"]["previews"] == "ready" and updated[0]["data"]["thumbnail_url"]
    assert len(json.dumps(succeeded)) < 20_000
    seqs = [e["sequence"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    # each output became an asset, with its own asset.ready, committed before render.succeeded
    outputs = {o["id"] for o in succeeded["outputs"]}
    out_events = [
        e for e in all_events(svc, type="asset.ready", order="asc") if e["resource"]["id"] in outputs
    ]
    assert {e["resource"]["id"] for e in out_events} == outputs
    assert all(e["data"]["source"] == "render" for e in out_events)
    assert max(e["sequence"] for e in out_events) < events[-1]["sequence"]
    # one event by id, and the prefix filter
    one = svc.get(f"/v1/events/{events[1]['id']}")
    assert one.status_code == 200 and one.json() == events[1]
    assert one.json()["object"] == "event" and one.json()["type"] == "render.started"
    renders_only = all_events(svc, type="render.*")
    assert {e["type"] for e in renders_only} == {"render.queued", "render.started", "render.succeeded"}


def test_project_revisions_each_record_an_event(service: Service) -> None:
    svc = service
    p = svc.post("/v1/projects", json={"name": "p", "edit": COLOUR}).json()
    etag = f'"{p["revision"]}"'
    svc.client.put(
        f"/v1/projects/{p['id']}",
        headers=svc.headers(**{"If-Match": etag}),
        json={"edit": COLOUR, "name": "renamed", "message": "second"},
    ).raise_for_status()
    svc.client.patch(
        f"/v1/projects/{p['id']}",
        headers=svc.headers(**{"If-Match": '"2"', "Content-Type": "application/json-patch+json"}),
        content=b'[{"op": "add", "path": "/timeline/background", "value": "#112233"}]',
    ).raise_for_status()
    r = svc.post(f"/v1/projects/{p['id']}/revisions/1/restore", headers={"If-Match": '"3"'})
    assert r.status_code == 200, r.text
    events = all_events(svc, resource_id=p["id"], order="asc")
    assert [(e["type"], e["data"]["revision"]) for e in events] == [
        ("project.created", 1),
        ("project.updated", 2),
        ("project.updated", 3),
        ("project.updated", 4),
    ]
    assert events[1]["data"]["name"] == "renamed" and events[1]["data"]["revision_message"] == "second"
    assert events[3]["data"]["revision_message"] == "restored revision 1"
    assert "edit" not in events[0]["data"]  # thin: fetch the project for its edit
    current = svc.get(f"/v1/projects/{p['id']}").json()
    assert events[3]["data"]["updated_at"] == current["updated_at"]
    assert {k: v for k, v in current.items() if k != "edit"} == {
        k: v for k, v in events[3]["data"].items() if k != "revision_message"
    }
    # a stale change is refused and leaves no event
    r = svc.client.put(
        f"/v1/projects/{p['id']}", headers=svc.headers(**{"If-Match": '"1"'}), json={"edit": COLOUR}
    )
    assert r.status_code == 412
    assert len(all_events(svc, resource_id=p["id"])) == 4
    assert svc.client.delete(f"/v1/projects/{p['id']}", headers=svc.headers()).status_code == 204
    deleted = all_events(svc, resource_id=p["id"], type="project.deleted")
    assert len(deleted) == 1 and deleted[0]["data"]["revision"] == 4


def test_an_event_exists_only_if_its_change_commits(service: Service) -> None:
    """The outbox row shares the change's transaction: a change that fails takes its event with it."""
    svc = service
    ws = svc.get("/v1/workspace").json()["id"]
    mark = newest_sequence(svc)
    p = svc.post("/v1/projects", json={"name": "p", "edit": COLOUR}).json()
    sessions = svc.services.sessions
    with sessions() as db:
        before = db.scalar(select(func.count()).select_from(Event))
    generation = EVENTS_COMMITTED.generation
    # revision 1 exists: a second revision 1 violates the unique constraint at commit
    with sessions() as db:
        db.add(
            ProjectRevision(id=new_id("rev"), project_id=p["id"], number=1, edit=COLOUR, created_at=utcnow())
        )
        record_event(
            db,
            workspace_id=ws,
            type="project.updated",
            resource_type="project",
            resource_id=p["id"],
            data={"id": p["id"]},
        )
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            db.commit()
        db.rollback()
    with sessions() as db:
        record_event(
            db,
            workspace_id=ws,
            type="project.updated",
            resource_type="project",
            resource_id=p["id"],
            data={"id": p["id"]},
        )
        db.rollback()
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Event)) == before
        assert db.get(Project, p["id"]) is not None
    assert EVENTS_COMMITTED.generation == generation  # nobody was woken for nothing
    # an invalid create makes neither the project nor an event
    r = svc.post("/v1/projects", json={"name": "bad", "edit": {"timeline": {"tracks": "nope"}}})
    assert r.status_code == 422
    assert [e["type"] for e in events_after(svc, mark)] == ["project.created"]


def test_cancelled_and_failed_renders(rendering: Service, media: Any) -> None:
    svc = rendering
    with holding_renders(svc) as gate:
        running = svc.post("/v1/renders", json={"edit": COLOUR}).json()
        waiting = svc.post("/v1/renders", json={"edit": COLOUR}).json()
        gate.next(running["id"])  # held in `rendering`, the other one queued behind it
        # queued: cancelled by the API at once
        assert svc.post(f"/v1/renders/{waiting['id']}/cancel").status_code == 200
        # running: the worker stops FFmpeg and records the cancellation
        assert svc.post(f"/v1/renders/{running['id']}/cancel").status_code == 202
    assert wait_render(svc, running["id"])["state"] == "cancelled"
    assert [e["type"] for e in all_events(svc, resource_id=waiting["id"], order="asc")] == [
        "render.queued",
        "render.cancelled",
    ]
    types = [e["type"] for e in all_events(svc, resource_id=running["id"], order="asc")]
    assert types == ["render.queued", "render.started", "render.cancelled"]
    cancelled = all_events(svc, resource_id=running["id"], type="render.cancelled")[0]["data"]
    assert cancelled == svc.get(f"/v1/renders/{running['id']}").json()

    # a render whose source became unreadable fails, and says why in the event
    asset = upload(svc, Path(media.video(duration=0.4, color="green")))
    with svc.services.sessions() as db:
        from reelforge.db.models import Asset

        key = db.get(Asset, asset["id"]).storage_key  # type: ignore[union-attr]
    svc.services.storage.local_path(key).write_bytes(b"\x00\x00\x00\x18ftypmp42 this is no longer a video")
    edit = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": asset["id"]}}]}]},
        "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
    }
    broken = svc.post("/v1/renders", json={"edit": edit}).json()
    assert wait_render(svc, broken["id"])["state"] == "failed"
    events = all_events(svc, resource_id=broken["id"], order="asc")
    assert [e["type"] for e in events] == ["render.queued", "render.started", "render.failed"]
    assert events[-1]["data"]["error"]["code"] in ("media_invalid", "ffmpeg_failed")
    assert events[-1]["data"] == svc.get(f"/v1/renders/{broken['id']}").json()


def test_a_requeued_render_is_queued_again_and_an_exhausted_one_failed(service: Service) -> None:
    """A worker that stops mid-render gives the render back: `render.queued` again (with its
    place in the queue), and after the last attempt `render.failed` with `interrupted`."""
    from reelforge.jobs.render_job import release
    from reelforge.jobs.worker import RenderWorker

    svc = service
    render = svc.post("/v1/renders", json={"edit": COLOUR}).json()
    worker = RenderWorker(svc.services, concurrency=1, name="test-worker")  # never started: claims by hand
    limit = svc.services.settings.max_render_attempts
    for attempt in range(1, limit + 1):
        claim = worker.claim()
        assert claim is not None and claim.attempt == attempt
        assert release(svc.services, claim) == ("queued" if attempt < limit else "failed")
    types = [
        (e["type"], e["data"]["attempts"], e["data"]["queue_position"])
        for e in all_events(svc, resource_id=render["id"], order="asc")
    ]
    expected = [("render.queued", 0, 1)]
    for attempt in range(1, limit + 1):
        expected.append(("render.started", attempt, None))
        expected.append(
            ("render.queued", attempt, 1) if attempt < limit else ("render.failed", attempt, None)
        )
    assert types == expected
    last = all_events(svc, resource_id=render["id"], type="render.failed")[0]["data"]
    assert last["error"]["code"] == "interrupted" and last == svc.get(f"/v1/renders/{render['id']}").json()


# ------------------------------------------------------------------ listing


def test_pagination_and_filters(service: Service) -> None:
    svc = service
    mark = newest_sequence(svc)
    ids = [svc.post("/v1/projects", json={"name": f"p{i}", "edit": COLOUR}).json()["id"] for i in range(5)]
    r = svc.post(f"/v1/projects/{ids[0]}/revisions/1/restore", headers={"If-Match": "*"})
    assert r.status_code == 200
    newest = events_after(svc, mark, limit=2)
    assert [e["resource"]["id"] for e in newest] == [ids[0], *reversed(ids)]
    assert [e["sequence"] for e in newest] == sorted((e["sequence"] for e in newest), reverse=True)
    oldest = events_after(svc, mark, limit=2, order="asc")
    assert oldest == list(reversed(newest))
    first = svc.get("/v1/events", params={"limit": 2})
    assert first.json()["has_more"] and 'rel="next"' in first.headers["link"]

    assert [e["type"] for e in all_events(svc, type="project.updated")] == ["project.updated"]
    assert len(all_events(svc, type="project.*")) == 6
    assert len(all_events(svc, type=["project.updated", "render.*"])) == 1
    assert all_events(svc, type="render.*") == []
    assert len(events_after(svc, mark, type="*")) == 6
    assert len(all_events(svc, resource_id=ids[0])) == 2
    pivot = newest[2]["created_at"]
    later = events_after(svc, mark, **{"created[gte]": pivot})
    earlier = events_after(svc, mark, **{"created[lt]": pivot})
    assert len(later) + len(earlier) == 6 and newest[2] in later

    bad = svc.get("/v1/events", params={"type": "render.*.x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "type"
    naive = svc.get("/v1/events", params={"created[gte]": "2026-01-01T00:00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["parameter"] == "created[gte]"
    cursor = first.json()["next_cursor"]
    other_filter = svc.get("/v1/events", params={"limit": 2, "cursor": cursor, "order": "asc"})
    assert other_filter.status_code == 400 and other_filter.json()["code"] == "invalid-cursor"
    tampered = svc.get("/v1/events", params={"limit": 2, "cursor": cursor[:-2] + "AA"})
    assert tampered.status_code == 400
    assert svc.get(f"/v1/events/evt_{'0' * 26}").status_code == 404


def test_another_workspace_sees_no_events(service: Service) -> None:
    svc = service
    mark = newest_sequence(svc)
    svc.post("/v1/projects", json={"name": "mine", "edit": COLOUR})
    mine = events_after(svc, mark)
    assert len(mine) == 1
    other = svc.other_workspace_key()
    # the other workspace sees only its own: the event of the key made for it
    theirs = all_events(svc, other)
    assert [e["type"] for e in theirs] == ["key.created"]
    assert not {e["id"] for e in theirs} & {e["id"] for e in all_events(svc)}
    r = svc.get(f"/v1/events/{mine[0]['id']}", other)
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    assert svc.get(f"/v1/events/{mine[0]['id']}").status_code == 200
    narrow = svc.new_key("renders:read")
    r = svc.get("/v1/events", narrow)
    assert r.status_code == 403 and r.json()["required_scope"] == "events:read"
    assert svc.get("/v1/events", svc.new_key("events:read")).status_code == 200


def test_every_credential_change_is_an_event(service: Service) -> None:
    """Keys and OAuth clients made, rolled and revoked are events as well as audit entries; no
    event carries a secret."""
    svc = service
    mark = newest_sequence(svc)
    key = svc.post("/v1/keys", json={"name": "ci", "scopes": ["renders:read"]})
    assert key.status_code == 201, key.text
    key_id = key.json()["id"]
    rolled = svc.post(f"/v1/keys/{key_id}/roll", json={"grace_seconds": 60})
    assert rolled.status_code in (200, 201), rolled.text
    new_key_id = rolled.json()["id"]
    assert svc.post(f"/v1/keys/{new_key_id}/revoke").status_code == 200
    client = svc.post("/v1/oauth/clients", json={"name": "etl", "scopes": ["renders:read"]})
    assert client.status_code == 201, client.text
    client_id = client.json()["id"]
    r = svc.post(f"/v1/oauth/clients/{client_id}/roll-secret", json={"grace_seconds": 60})
    assert r.status_code in (200, 201), r.text
    assert svc.post(f"/v1/oauth/clients/{client_id}/revoke").status_code == 200
    events = events_after(svc, mark, order="asc")
    assert [(e["type"], e["resource"]) for e in events] == [
        ("key.created", {"type": "api_key", "id": key_id}),
        ("key.created", {"type": "api_key", "id": new_key_id}),
        ("key.rolled", {"type": "api_key", "id": key_id}),
        ("key.revoked", {"type": "api_key", "id": new_key_id}),
        ("oauth_client.created", {"type": "oauth_client", "id": client_id}),
        ("oauth_client.secret_rolled", {"type": "oauth_client", "id": client_id}),
        ("oauth_client.revoked", {"type": "oauth_client", "id": client_id}),
    ]
    assert events[0]["data"]["scopes"] == ["renders:read"] and events[2]["data"]["replaced_by"] == new_key_id
    secrets = [
        key.json()["token"],
        rolled.json()["token"],
        client.json()["client_secret"],
        r.json()["client_secret"],
    ]
    text = json.dumps(events)
    assert not [s for s in secrets if s in text]
    # each is audited as well, under the same action
    audit = svc.get("/v1/audit", params={"limit": 100}).json()["data"]
    audited = {(a["action"], a["resource"]["id"]) for a in audit}
    assert {(e["type"], e["resource"]["id"]) for e in events} <= audited
    # credential events are an admin's: a reader of events and renders does not see them
    assert events_after(svc, mark, svc.new_key("events:read", "renders:read")) == []


# ------------------------------------------------------------------ Server-Sent Events over HTTP


def test_progress_stream_follows_a_render_to_success(rendering: Service) -> None:
    svc = rendering
    # Each state and progress report is held until the stream has shown it, so the stream shows
    # every step (whatever the speed of the render) and at least one progress report (the last).
    gate = RenderGate(("preparing", "rendering", "finishing"), progress=True)
    with (
        live(svc) as base,
        httpx.Client(base_url=base, timeout=60) as client,
        holding_renders(svc, gate),
    ):
        render = client.post("/v1/renders", json={"edit": _long(2)}, headers=svc.headers()).json()
        with sse_get(client, f"/v1/renders/{render['id']}/progress", svc.token) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            stream = SSE(response)
            messages: list[dict[str, str]] = []
            while True:
                hold = gate.next(render["id"])
                now = svc.get(f"/v1/renders/{render['id']}").json()
                while not messages or json.loads(messages[-1]["data"]) != now:
                    message = stream.next()
                    assert message is not None, (hold, now, messages)
                    messages.append(message)
                hold.release()
                if hold.point == "finishing":
                    break
            gate.open()
            messages += list(stream)  # the server ends the stream after the terminal state
        bodies = [json.loads(m["data"]) for m in messages]
        order = ["queued", "preparing", "rendering", "finishing", "succeeded"]
        states = [b["state"] for b in bodies]
        assert states[-1] == "succeeded" and states == sorted(states, key=order.index), states
        assert messages[0]["event"] == "state"
        for prev, m, body in zip([None, *bodies], messages, bodies, strict=False):
            assert m["event"] == ("state" if prev is None or prev["state"] != body["state"] else "progress")
        progress = [b["progress"] for b in bodies if b["state"] == "rendering"]
        assert progress == sorted(progress)
        assert any(m["event"] == "progress" for m in messages), (
            states
        )  # progress is streamed, not only states
        assert bodies[-1] == svc.get(f"/v1/renders/{render['id']}").json()
        assert bodies[-1]["outputs"] and [m["id"] for m in messages] == [
            str(i + 1) for i in range(len(messages))
        ]
        # a finished render: its final state at once, then the end
        with sse_get(client, f"/v1/renders/{render['id']}/progress", svc.token) as response:
            again = list(SSE(response))
        assert [json.loads(m["data"])["state"] for m in again] == ["succeeded"]
        # errors are problems before the stream starts
        r = client.get(f"/v1/renders/rnd_{'0' * 26}/progress", headers=svc.headers())
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        other = svc.other_workspace_key()
        assert (
            client.get(f"/v1/renders/{render['id']}/progress", headers=svc.headers(other)).status_code == 404
        )


def test_event_stream_delivers_new_events_and_resumes(rendering: Service) -> None:
    svc = rendering
    svc.post("/v1/projects", json={"name": "before", "edit": COLOUR})  # before the stream: not sent
    # reads wait at most 10 s (pings come every 15 s): a missing event fails instead of hanging
    with live(svc) as base, httpx.Client(base_url=base, timeout=httpx.Timeout(60, read=10)) as client:
        with sse_get(client, "/v1/events/stream?type=render.*", svc.token) as response:
            assert response.status_code == 200
            stream = SSE(response)
            render = client.post("/v1/renders", json={"edit": COLOUR}, headers=svc.headers()).json()
            client.post("/v1/projects", json={"name": "filtered out", "edit": COLOUR}, headers=svc.headers())
            got = []
            while not got or got[-1]["event"] not in ("render.succeeded", "render.failed"):
                message = stream.next()
                assert message is not None
                got.append(message)
        assert [m["event"] for m in got] == ["render.queued", "render.started", "render.succeeded"]
        listed = all_events(svc, resource_id=render["id"], order="asc")
        assert [json.loads(m["data"]) for m in got] == listed
        assert [m["id"] for m in got] == [e["id"] for e in listed]

        # reconnecting with Last-Event-ID replays what came after it (all types this time)
        with sse_get(client, "/v1/events/stream", svc.token, **{"Last-Event-ID": got[0]["id"]}) as response:
            stream = SSE(response)
            replay = [stream.next() for _ in range(2)]
        types_after = [
            e["type"] for e in all_events(svc, order="asc") if e["sequence"] > listed[0]["sequence"]
        ]
        assert [m["event"] for m in replay if m] == types_after[:2]
        assert {"render.started", "render.succeeded"} <= set(types_after)

        r = client.get("/v1/events/stream", headers=svc.headers(**{"Last-Event-ID": "evt_nope"}))
        assert r.status_code == 422 and r.json()["errors"][0]["header"] == "Last-Event-ID"
        # another workspace's stream hears nothing of this one (a read gives up after 1.5 s of silence):
        # replayed from the start, it holds only its own event, the making of its key
        other = svc.other_workspace_key()
        with (
            httpx.Client(base_url=base, timeout=httpx.Timeout(30, read=1.5)) as quiet,
            sse_get(quiet, "/v1/events/stream", other, **{"Last-Event-ID": "0"}) as response,
        ):
            assert response.status_code == 200
            svc.post("/v1/projects", json={"name": "mine", "edit": COLOUR})
            other_stream = SSE(response)
            own = other_stream.next()
            assert own is not None and own["event"] == "key.created"
            with pytest.raises(httpx.ReadTimeout):
                other_stream.next()


def test_event_stream_delivers_an_event_committed_late(
    service: Service, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL numbers an event at insert: one whose transaction commits after a later one's
    is still delivered (SQLite serialises writers, so this cannot happen there)."""
    if "sqlite" in request.node.callspec.id:
        pytest.skip("SQLite commits in sequence order")
    svc = service
    ws = svc.get("/v1/workspace").json()["id"]

    def event(db: Any, name: str) -> str:
        row = record_event(
            db,
            workspace_id=ws,
            type="project.updated",
            resource_type="project",
            resource_id=f"prj_{name}",
            data={"name": name},
        )
        db.flush()  # takes its sequence number now
        return row.id

    # A read waits at most 10 s (pings come every 15 s): a lost event fails instead of hanging.
    with (
        live(svc) as base,
        httpx.Client(base_url=base, timeout=httpx.Timeout(30, read=10)) as client,
        sse_get(client, "/v1/events/stream", svc.token) as response,
    ):
        stream = SSE(response)
        slow = svc.services.sessions()
        try:
            late = event(slow, "slow")
            with svc.services.sessions() as fast:
                early = event(fast, "fast")
                fast.commit()
            first = stream.next()
            assert first is not None and first["id"] == early
            time.sleep(1.2)  # the stream has looked again meanwhile and passed the gap
            slow.commit()
        finally:
            slow.close()
        second = stream.next()
        assert second is not None and second["id"] == late
        assert json.loads(second["data"])["sequence"] < json.loads(first["data"])["sequence"]


def test_streams_end_when_their_key_is_revoked(service: Service) -> None:
    """Both streams check the credential again as they go: a revoked key stops them, and no
    event committed after the revocation reaches it."""
    svc = service
    r = svc.post(
        "/v1/keys", json={"name": "viewer", "scopes": ["events:read", "renders:read", "projects:read"]}
    )
    key_id, token = r.json()["id"], r.json()["token"]
    render = svc.post("/v1/renders", json={"edit": COLOUR}).json()  # no worker here: it stays queued
    with (
        live(svc) as base,
        httpx.Client(base_url=base, timeout=httpx.Timeout(30, read=10)) as client,
        sse_get(client, "/v1/events/stream", token) as events,
        sse_get(client, f"/v1/renders/{render['id']}/progress", token) as progress,
    ):
        assert events.status_code == 200 and progress.status_code == 200
        feed, follow = SSE(events), SSE(progress)
        first = follow.next()
        assert first is not None and json.loads(first["data"])["state"] == "queued"
        svc.post("/v1/projects", json={"name": "before", "edit": COLOUR})
        seen = feed.next()
        assert seen is not None and seen["event"] == "project.created"
        assert svc.post(f"/v1/keys/{key_id}/revoke").status_code == 200
        svc.post("/v1/projects", json={"name": "after the revocation", "edit": COLOUR})
        started = time.monotonic()
        assert feed.next() is None  # the stream ended, without the new event
        assert follow.next() is None
        assert time.monotonic() - started < 8


def test_idle_streams_hold_no_database_connection(sqlite_service: Service) -> None:
    svc = sqlite_service
    pool = svc.services.engine.pool
    with live(svc) as base, httpx.Client(base_url=base, timeout=30) as client:
        with sse_get(client, "/v1/events/stream", svc.token) as response:
            assert response.status_code == 200
            stream = SSE(response)
            # Idle for a few of the stream's polls, the pool must be seen with nothing checked
            # out: a stream holding a connection would keep it out the whole time. (Background
            # workers of the service, delivery and retention, take one now and then.)
            opened, deadline = time.monotonic(), time.monotonic() + 60
            while time.monotonic() - opened < 1.5 or pool.checkedout():  # type: ignore[attr-defined]
                assert time.monotonic() < deadline, "an idle stream kept a connection checked out"
                time.sleep(0.01)
            svc.post("/v1/projects", json={"name": "wake", "edit": COLOUR})
            message = stream.next()
            assert message is not None and message["event"] == "project.created"
        # the client went away: the server's stream ends and nothing stays checked out
        deadline = time.monotonic() + 5
        while pool.checkedout() and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_open_streams_do_not_block_server_shutdown(tmp_path: Path) -> None:
    """`reelforge serve` with an open event stream stops promptly on SIGTERM (and SIGINT)."""
    env = {**os.environ, "REELFORGE_DATA_DIR": str(tmp_path / "data"), "REELFORGE_WORKERS": "1"}
    with ServeProcess(tmp_path, env, "--port", "0") as server:
        base = server.wait_listening()
        token = server.wait_for(r"\b(rf_live_\S+)")[1]
        with httpx.Client(base_url=base, timeout=30) as client:
            render = client.post(
                "/v1/renders", json={"edit": _long(120)}, headers={"Authorization": f"Bearer {token}"}
            ).json()
            with (
                sse_get(client, "/v1/events/stream", token) as events,
                sse_get(client, f"/v1/renders/{render['id']}/progress", token) as progress,
            ):
                assert events.status_code == 200 and progress.status_code == 200
                assert SSE(progress).next() is not None
                started = time.monotonic()
                server.stop(signal.SIGTERM, timeout=20)
                assert time.monotonic() - started < 10


# ------------------------------------------------------------------ the OpenAPI examples


def check_openapi_examples(c: Any, svc: Service) -> None:
    """Called by tests/test_openapi.py: the documented examples of these routes against ``svc``
    (its service has no worker, so a render is cancelled to give the progress stream an end)."""
    c.call("GET", "/v1/events", expect=200)
    render = svc.post("/v1/renders", json={"edit": COLOUR}).json()
    assert svc.post(f"/v1/renders/{render['id']}/cancel").status_code == 200
    event = all_events(svc, type="render.cancelled", resource_id=render["id"])[0]
    c.call("GET", "/v1/events/{event_id}", params={"event_id": event["id"]}, name="render.succeeded")
    r = c.call("GET", "/v1/renders/{render_id}/progress", params={"render_id": render["id"]}, expect=200)
    assert r.headers["content-type"].startswith("text/event-stream") and "event: state" in r.text
    # The test client cannot read an endless stream: its success is followed over real HTTP in
    # test_event_stream_delivers_new_events_and_resumes; here its documented refusal.
    c.call("GET", "/v1/events/stream", headers={"Last-Event-ID": "evt_nope"}, expect=422)
    c.call("GET", "/v1/audit", expect=200)
