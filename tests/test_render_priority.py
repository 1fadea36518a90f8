"""Render priority: within a workspace, queued renders start by priority, then in creation
order; across workspaces, fairness (the workspaces running fewest renders) comes first. Real
renders (FFmpeg), real databases (SQLite and PostgreSQL), the service's own worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reelforge.jobs.worker import RenderWorker
from service import Service, holding_renders, require_database, running_service
from test_batches import OUTPUTS, add_asset, batch_renders, create_batch, make_template
from test_render_quota import colour_edit, get, wait_all


@pytest.fixture(params=["sqlite", "postgresql"])
def queue_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """The API with no worker of its own: the tests start one when the queue is set up."""
    require_database(request.param)
    with running_service(tmp_path, request.param) as svc:
        yield svc


def create(svc: Service, colour: str, priority: Any = None, token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"edit": colour_edit(colour)}
    if priority is not None:
        body["priority"] = priority
    r = svc.post("/v1/renders", token=token, json=body)
    assert r.status_code == 202, r.text
    return dict(r.json())


def test_priority_is_a_name_or_a_bounded_integer(queue_service: Service) -> None:
    svc = queue_service
    given = [None, "high", "normal", "low", 100, -100, 7]
    made = [create(svc, "red", p)["priority"] for p in given]
    assert made == [0, 10, 0, -10, 100, -100, 7]
    for bad in ("urgent", 101, -101, True, 1.5, "10", None):
        r = svc.post("/v1/renders", json={"edit": colour_edit("red"), "priority": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["pointer"] for e in r.json()["errors"]] == ["#/priority"], (bad, r.json())


def test_a_workspace_s_renders_start_by_priority_then_in_creation_order(queue_service: Service) -> None:
    svc = queue_service
    low, normal1, high, five, normal2 = (
        create(svc, "red", "low"),
        create(svc, "green"),
        create(svc, "blue", "high"),
        create(svc, "white", 5),
        create(svc, "black", "normal"),
    )
    order = [high, five, normal1, normal2, low]
    # The place shown is the place it starts at.
    assert [get(svc, r["id"])["queue_position"] for r in order] == [1, 2, 3, 4, 5]
    listed = {r["id"]: r["queue_position"] for r in svc.get("/v1/renders").json()["data"]}
    assert [listed[r["id"]] for r in order] == [1, 2, 3, 4, 5]
    worker = RenderWorker(svc.services, concurrency=1, poll_interval=0.05)
    try:
        with holding_renders(worker) as gate:
            worker.start()
            started = []
            for _ in order:
                hold = gate.next()
                started.append(hold.render_id)
                hold.release()
        done = wait_all(svc, {r["id"]: None for r in order})
    finally:
        worker.stop()
    assert started == [r["id"] for r in order]
    assert {b["state"] for b in done.values()} == {"succeeded"}


def test_fairness_comes_before_priority_across_workspaces(queue_service: Service) -> None:
    """A workspace running a render does not pass, with its high-priority render, another
    workspace that runs none and queued a low-priority one."""
    svc = queue_service
    other = svc.other_workspace_key()
    first, second = create(svc, "red"), create(svc, "white")
    worker = RenderWorker(svc.services, concurrency=2, poll_interval=0.05)
    try:
        with holding_renders(worker) as gate:
            worker.start()
            running = [gate.next(first["id"]), gate.next(second["id"])]  # both threads busy
            urgent = create(svc, "green", "high")
            modest = create(svc, "blue", "low", other)
            assert modest["queue_position"] == 1 and urgent["queue_position"] == 1
            running[0].release()
            # The workspace still running a render waits for the one running none.
            assert gate.next().render_id == modest["id"]
            running[1].release()
            assert gate.next().render_id == urgent["id"]
        ids = {first["id"]: None, second["id"]: None, urgent["id"]: None, modest["id"]: other}
        done = wait_all(svc, ids)
    finally:
        worker.stop()
    assert {b["state"] for b in done.values()} == {"succeeded"}


def test_a_batch_gives_its_priority_to_every_render(queue_service: Service, media: Any) -> None:
    svc = queue_service
    clip = add_asset(svc, media.video(duration=1))
    template = make_template(svc)
    rows = [{"title": t, "price": 1, "clip": clip} for t in ("Mug", "Lamp")]
    batch = create_batch(svc, {"template_id": template, "rows": rows, "outputs": OUTPUTS, "priority": "low"})
    assert [r["priority"] for r in batch_renders(svc, batch["id"])] == [-10, -10]
    single = create(svc, "red")
    assert single["queue_position"] == 1  # before the batch's low-priority renders
    r = svc.post("/v1/batches", json={"template_id": template, "rows": rows, "priority": "soon"})
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["#/priority"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_priority_migration_goes_down_and_up_keeping_the_renders(kind: str, tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command
    from sqlalchemy.orm import Session

    from reelforge.db.models import Render, RenderChunk, Workspace, utcnow
    from reelforge.db.session import alembic_config, migrate
    from service import database

    require_database(kind)
    with database(kind, tmp_path) as url:
        migrate(url)
        engine = sa.create_engine(url)
        with Session(engine) as db:
            db.add(Workspace(id="ws_a", name="a", created_at=utcnow()))
            db.flush()
            db.add(Render(id="rnd_a", workspace_id="ws_a", edit={}, priority=10))
            db.flush()
            db.add(RenderChunk(id="chk_a", render_id="rnd_a", attempt=1, index=0, spec={}, state="queued",
                               attempts=0, files=[], created_at=utcnow()))  # fmt: skip
            db.commit()
        command.downgrade(alembic_config(url), "0021")
        with engine.connect() as conn:
            assert "priority" not in {c["name"] for c in sa.inspect(conn).get_columns("renders")}
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            # The render and the rows that reference it survive the table's rebuild (SQLite).
            assert conn.execute(sa.text("SELECT id, priority FROM renders")).one() == ("rnd_a", 0)
            assert conn.execute(sa.text("SELECT id FROM render_chunks")).scalar_one() == "chk_a"
        with Session(engine) as db:  # the analytics triggers survived the rebuild too
            db.add(Render(id="rnd_b", workspace_id="ws_a", edit={}))
            db.commit()
        with engine.connect() as conn:
            facts = "SELECT count(*) FROM render_facts WHERE render_id = 'rnd_b'"
            assert conn.execute(sa.text(facts)).scalar_one() > 0
        engine.dispose()
