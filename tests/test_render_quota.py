"""The quota of running renders per workspace: renders over it wait in the queue, in order,
with their place shown, while other workspaces' renders use the free workers. Real renders
(FFmpeg), real database (SQLite and PostgreSQL), several worker threads and workers."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from reelforge.jobs.worker import RenderWorker
from service import TERMINAL, Service, holding_renders, require_database, running_service


def colour_edit(colour: str) -> dict[str, Any]:
    """A second of 360p colour: a fraction of a second of FFmpeg, long enough to overlap."""
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": colour}, "length": 1.5}]}]},
        "outputs": [{"resolution": "360p", "fps": 25, "quality": "draft", "audio": False}],
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def quota_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """The API (no worker of its own) with a quota of one running render per workspace."""
    require_database(request.param)
    with running_service(tmp_path, request.param, max_running_renders_per_workspace=1) as svc:
        yield svc


def create(svc: Service, colour: str, token: str | None = None) -> dict[str, Any]:
    r = svc.post("/v1/renders", token=token, json={"edit": colour_edit(colour)})
    assert r.status_code == 202, r.text
    return dict(r.json())


def get(svc: Service, render_id: str, token: str | None = None) -> dict[str, Any]:
    r = svc.get(f"/v1/renders/{render_id}", token=token)
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_all(svc: Service, ids: dict[str, str | None], timeout: float = 90) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(ids):
        for render_id, token in ids.items():
            if render_id not in done and (body := get(svc, render_id, token))["state"] in TERMINAL:
                done[render_id] = body
        assert time.monotonic() < deadline, f"renders stuck: {set(ids) - set(done)}"
        time.sleep(0.05)
    return done


def span(body: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(body["started_at"]), datetime.fromisoformat(body["finished_at"])


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    (s1, f1), (s2, f2) = span(a), span(b)
    return s1 < f2 and s2 < f1


def test_a_workspace_at_its_quota_waits_while_another_runs(quota_service: Service) -> None:
    svc = quota_service
    other = svc.other_workspace_key()
    a1, a2 = create(svc, "red"), create(svc, "green")
    b1 = create(svc, "blue", other)
    # Queued: each shows its place in its own workspace's queue.
    assert (a1["queue_position"], a2["queue_position"], b1["queue_position"]) == (1, 2, 1)
    assert get(svc, a2["id"])["queue_position"] == 2
    listed = {r["id"]: r["queue_position"] for r in svc.get("/v1/renders").json()["data"]}
    assert listed == {a1["id"]: 1, a2["id"]: 2}

    worker = RenderWorker(svc.services, concurrency=2, poll_interval=0.05)
    try:
        with holding_renders(worker) as gate:
            worker.start()
            # While the first runs (held), the second waits, first in line; the other
            # workspace's render runs alongside (held too, so the two overlap).
            gate.next(a1["id"])
            second = get(svc, a2["id"])
            assert (second["state"], second["queue_position"]) == ("queued", 1), second
            gate.next(b1["id"])
            assert get(svc, a2["id"])["state"] == "queued"
        done = wait_all(svc, {a1["id"]: None, a2["id"]: None, b1["id"]: other})
    finally:
        worker.stop()
    assert {b["state"] for b in done.values()} == {"succeeded"}
    assert all(b["queue_position"] is None for b in done.values())
    r1, r2, rb = done[a1["id"]], done[a2["id"]], done[b1["id"]]
    # One workspace's renders one after the other, in creation order; the other's alongside.
    assert span(r1)[1] <= span(r2)[0], (span(r1), span(r2))
    assert overlap(r1, rb), (span(r1), span(rb))


def test_two_workers_keep_the_quota_between_them(quota_service: Service) -> None:
    """Four claiming threads in two workers (each with its own name, as separate processes
    would be) never run two renders of one workspace at once."""
    svc = quota_service
    ids = [create(svc, c)["id"] for c in ("red", "green", "blue")]
    assert [get(svc, i)["queue_position"] for i in ids] == [1, 2, 3]
    workers = [RenderWorker(svc.services, concurrency=2, name=f"w{i}", poll_interval=0.02) for i in range(2)]
    for w in workers:
        w.start()
    try:
        done = wait_all(svc, dict.fromkeys(ids))
    finally:
        for w in workers:
            w.stop()
    bodies = [done[i] for i in ids]
    assert [b["state"] for b in bodies] == ["succeeded"] * 3
    for earlier, later in itertools.pairwise(bodies):
        assert span(earlier)[1] <= span(later)[0], [span(b) for b in bodies]


def test_without_a_quota_a_workspace_uses_every_worker(tmp_path: Path) -> None:
    """The control: the same two renders of one workspace overlap when no quota is set."""
    with running_service(tmp_path) as svc:
        a1, a2 = create(svc, "red"), create(svc, "green")
        worker = RenderWorker(svc.services, concurrency=2, poll_interval=0.05)
        try:
            with holding_renders(worker) as gate:
                worker.start()
                gate.next(a1["id"])
                gate.next(a2["id"])  # both running at once
            done = wait_all(svc, {a1["id"]: None, a2["id"]: None})
        finally:
            worker.stop()
    assert overlap(done[a1["id"]], done[a2["id"]])


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_batch_of_500_does_not_starve_another_workspace(tmp_path: Path, kind: str) -> None:
    """Without a quota, the next free worker takes the render of the workspace running fewest:
    a single render queued behind one workspace's 500 starts as soon as a worker frees up."""
    require_database(kind)
    with running_service(tmp_path, kind, rate_limiting=False) as svc:
        other = svc.other_workspace_key()
        batch = [create(svc, "red")["id"] for _ in range(500)]
        worker = RenderWorker(svc.services, concurrency=2, poll_interval=0.05)
        try:
            with holding_renders(worker) as gate:
                worker.start()
                first, second = gate.next(), gate.next()  # both threads busy with the batch
                assert {first.render_id, second.render_id} == set(batch[:2])
                single = create(svc, "blue", other)
                assert single["queue_position"] == 1
                first.release()
                # The next render to start is the other workspace's, not the 498 before it.
                assert gate.next().render_id == single["id"]
                second.release()
                assert gate.next().render_id == batch[2]
        finally:
            worker.stop()
