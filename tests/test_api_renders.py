"""Renders through HTTP: create, follow, cancel, fail, survive restarts; the worker's queue.

Real FFmpeg on tiny media, real databases (SQLite and PostgreSQL). Renders that should succeed
are small (a second of 640x360 at draft quality) so the whole file stays quick.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from reelforge.db.models import Asset, Project, ProjectRevision, Render, new_id, utcnow
from reelforge.ffmpeg.probe import probe
from reelforge.jobs.worker import RenderWorker
from service import RenderGate, Service, holding_renders, with_previews
from service import wait_render as wait

# ------------------------------------------------------------------ helpers


def workspace_id(svc: Service, token: str | None = None) -> str:
    return str(svc.get("/v1/workspace", token=token).json()["id"])


def add_asset(svc: Service, path: Path, token: str | None = None) -> str:
    """Upload a media file as an asset of the key's workspace, once its previews are made (they
    are made after the upload answers, with temporary files of their own)."""
    r = svc.post("/v1/assets", token=token, files={"file": (path.name, path.read_bytes())})
    assert r.status_code in (200, 201), r.text
    return str(with_previews(svc, r.json(), token=token)["id"])


def small_edit(src: str, *, length: float = 1, **output: Any) -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": src}, "length": length}]}]},
        "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25, **output}],
    }


def long_edit() -> dict[str, Any]:
    """A minute of blurred 720p colour at the slowest quality: FFmpeg reports progress several
    times before it ends (tests hold it with a gate, they do not count on it being slow)."""
    return {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "red"}, "length": 60, "effects": {"blur": 20}}
                    ]
                }
            ]
        },
        "outputs": [{"resolution": "720p", "fps": 25, "quality": "max", "audio": False}],
    }


def create(svc: Service, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    r = svc.post("/v1/renders", token=token, json=body)
    assert r.status_code == 202, r.text
    assert r.headers["location"].endswith(f"/v1/renders/{r.json()['id']}")
    return dict(r.json())


def leftovers(svc: Service) -> list[Path]:
    """What is left in the scratch directory once the outputs' previews (made after a render
    succeeds, with temporary files of their own) are done."""
    assert svc.services.previews().wait(timeout=120)
    return list(svc.services.storage.temp_dir().iterdir())


@pytest.fixture
def video(media: Any) -> Path:
    return Path(media.video())


# ------------------------------------------------------------------ end to end


def test_inline_edit_renders_to_assets(rendering: Service, video: Path) -> None:
    src = add_asset(rendering, video)
    edit = small_edit(src, poster={"time": 0.5, "format": "jpg"})
    created = create(rendering, {"edit": edit, "metadata": {"campaign": "spring"}})
    assert created["object"] == "render" and created["state"] == "queued" and created["outputs"] == []
    assert created["metadata"] == {"campaign": "spring"} and created["project_id"] is None

    done = wait(rendering, created["id"])
    assert done["state"] == "succeeded", done["error"]
    assert done["progress"] == 100 and done["attempts"] == 1 and done["error"] is None
    assert done["started_at"] and done["finished_at"] and done["render_seconds"] > 0
    assert done["duration"] == pytest.approx(1.0)
    roles = {o["role"]: o for o in done["outputs"]}
    assert set(roles) == {"output", "poster"}
    video_out, poster = roles["output"], roles["poster"]
    # Probed from the file by ingest, not copied from the edit.
    assert video_out["kind"] == "video" and video_out["content_type"] == "video/mp4"
    assert (video_out["media"]["width"], video_out["media"]["height"]) == (640, 360)
    assert video_out["media"]["duration"] == pytest.approx(1.0, abs=0.05) and video_out["media"]["has_audio"]
    assert poster["kind"] == "image" and poster["media"]["width"] == 640
    with rendering.services.sessions() as db:
        stored = db.get(Asset, video_out["id"])
        assert stored is not None and stored.source == "render" and stored.render_id == created["id"]
        assert stored.derived_from["render"] == created["id"] and stored.derived_from["project"] is None
        path = rendering.services.storage.local_path(stored.storage_key)
    info = probe(path)
    assert (info.width, info.height, info.has_audio) == (640, 360, True)
    r = rendering.get(video_out["content_url"])
    assert r.status_code == 200 and r.content == path.read_bytes()
    assert rendering.get(f"/v1/assets/{poster['id']}").json()["derived_from"]["role"] == "poster"
    assert leftovers(rendering) == []
    listed = rendering.get("/v1/renders?state=succeeded").json()
    assert [x["id"] for x in listed["data"]] == [created["id"]]


def test_render_a_project_revision(rendering: Service, video: Path, media: Any) -> None:
    red = add_asset(rendering, Path(media.video(color="red", duration=1)))
    blue = add_asset(rendering, video)
    with rendering.services.sessions() as db:
        project = Project(id=new_id("prj"), workspace_id=workspace_id(rendering), name="promo", revision=2)
        db.add(project)
        db.flush()
        db.add_all(
            [
                ProjectRevision(id=new_id("rev"), project_id=project.id, number=1, edit=small_edit(red)),
                ProjectRevision(
                    id=new_id("rev"), project_id=project.id, number=2, edit=small_edit(blue, length=0.5)
                ),
            ]
        )
        db.commit()
        project_id = project.id

    # A key that may render but not read projects cannot render one.
    renderer = rendering.new_key("renders:write", "renders:read")
    r = rendering.post("/v1/renders", token=renderer, json={"project_id": project_id})
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"
    r = rendering.post("/v1/renders", json={"project_id": project_id, "revision": 9})
    assert r.status_code == 404 and r.json()["errors"][0]["pointer"] == "#/revision"
    r = rendering.post("/v1/renders", json={"project_id": "prj_nothing"})
    assert r.status_code == 404 and r.json()["errors"][0]["pointer"] == "#/project_id"

    old = create(rendering, {"project_id": project_id, "revision": 1})
    current = create(rendering, {"project_id": project_id})
    assert (old["project_id"], old["revision"], current["revision"]) == (project_id, 1, 2)
    old, current = wait(rendering, old["id"]), wait(rendering, current["id"])
    assert old["state"] == current["state"] == "succeeded"
    assert old["duration"] == pytest.approx(1.0) and current["duration"] == pytest.approx(0.5, abs=0.05)
    red_asset = rendering.get(f"/v1/assets/{red}").json()
    assert old["outputs"][0]["derived_from"] == {
        "render": old["id"],
        "project": project_id,
        "revision": 1,
        "role": "output",
        "output": 0,
        # The versions the render resolved: re-rendering its recorded edit reproduces it.
        "asset_versions": [{"asset": red, "version": 1, "sha256": red_asset["sha256"]}],
    }
    listed = rendering.get(f"/v1/renders?project_id={project_id}").json()["data"]
    assert {x["id"] for x in listed} == {old["id"], current["id"]}


# ------------------------------------------------------------------ validation and dry runs


def test_dry_run_plans_without_creating(service: Service, media: Any) -> None:
    src = add_asset(service, Path(media.video(duration=2)))
    edit = small_edit(src, length=2)
    edit["outputs"].append({"name": "square", "aspect_ratio": "1:1", "resolution": "360p", "fps": 30})
    for r in (
        service.post("/v1/renders?dry_run=true", json={"edit": edit}),
        service.post("/v1/renders", json={"edit": edit, "dry_run": True}),
    ):
        assert r.status_code == 200, r.text
        plan = r.json()
        assert plan["object"] == "render_plan" and plan["duration"] == pytest.approx(2.0)
        assert [(o["width"], o["height"], o["fps"], o["frames"], o["format"]) for o in plan["outputs"]] == [
            (640, 360, 25.0, 50, "mp4"),
            (360, 360, 30.0, 60, "mp4"),
        ]
        assert plan["outputs"][1]["name"] == "square.mp4"
        assert 0 < plan["estimated_render_seconds"] < 60
    assert service.get("/v1/renders").json()["data"] == []
    # A dry run also reports what only the media can tell (a trim past the end of the source).
    edit = small_edit(src)
    edit["timeline"]["tracks"][0]["clips"][0]["asset"]["trim"] = 5
    r = service.post("/v1/renders?dry_run=true", json={"edit": edit})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["pointer"] == "#/edit/timeline/tracks/0/clips/0/asset/trim"
    assert leftovers(service) == []


def test_invalid_requests_are_refused_with_pointers(service: Service, video: Path) -> None:
    src = add_asset(service, video)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"edit": small_edit(src), "metdata": {}}, "#/metdata"),
        ({"edit": small_edit(src), "project_id": "prj_x"}, "#/edit"),
        ({}, "#"),
        ({"edit": small_edit(src), "revision": 2}, "#/revision"),
        ({"edit": {"outputs": []}}, "#/edit/timeline"),
        (
            {"edit": small_edit("ast_01jd8v4x0p5k3n2m1q9r7s6t5w")},
            "#/edit/timeline/tracks/0/clips/0/asset/src",
        ),
        ({"edit": small_edit("/etc/passwd")}, "#/edit/timeline/tracks/0/clips/0/asset/src"),
        ({"edit": small_edit(src), "metadata": {"x": "y" * 20000}}, "#/metadata"),
    ]
    for body, where in cases:
        r = service.post("/v1/renders", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert where in [e.get("pointer") for e in r.json()["errors"]], (where, r.json())
    r = service.get("/v1/renders?state=done")
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "state"
    assert service.get("/v1/renders").json()["data"] == []


def test_another_workspace_sees_nothing(service: Service, video: Path) -> None:
    src = add_asset(service, video)
    render = create(service, {"edit": small_edit(src)})
    other = service.other_workspace_key()
    assert service.get(f"/v1/renders/{render['id']}", token=other).status_code == 404
    assert service.post(f"/v1/renders/{render['id']}/cancel", token=other).status_code == 404
    assert service.get("/v1/renders", token=other).json()["data"] == []
    # Nor can it use this workspace's assets.
    r = service.post("/v1/renders", token=other, json={"edit": small_edit(src)})
    assert r.status_code == 422 and r.json()["code"] == "edit-invalid"
    reader = service.new_key("renders:read")
    assert service.post("/v1/renders", token=reader, json={"edit": small_edit(src)}).status_code == 403
    assert service.get(f"/v1/renders/{render['id']}", token=reader).status_code == 200


def test_list_pagination_etag_and_queued_cancel(service: Service, video: Path) -> None:
    src = add_asset(service, video)
    ids = [create(service, {"edit": small_edit(src)})["id"] for _ in range(3)]
    seen: list[str] = []
    url = "/v1/renders?limit=2&state=queued"
    while url:
        body = service.get(url).json()
        seen += [x["id"] for x in body["data"]]
        url = f"/v1/renders?limit=2&state=queued&cursor={body['next_cursor']}" if body["has_more"] else ""
    assert seen == ids[::-1]
    r = service.get(f"/v1/renders/{ids[0]}")
    etag = r.headers["etag"]
    assert service.get(f"/v1/renders/{ids[0]}", headers={"If-None-Match": etag}).status_code == 304
    # Queued: cancelled at once (nothing runs with workers=0); a second cancel is a conflict.
    # An asset a queued render reads cannot be deleted until the render is over.
    assert service.client.delete(f"/v1/assets/{src}", headers=service.headers()).status_code == 409
    r = service.post(f"/v1/renders/{ids[0]}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled" and r.json()["finished_at"]
    assert service.get(f"/v1/renders/{ids[0]}", headers={"If-None-Match": etag}).status_code == 200
    r = service.post(f"/v1/renders/{ids[0]}/cancel")
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert service.post("/v1/renders/rnd_nothing/cancel").status_code == 404


# ------------------------------------------------------------------ cancelling and failing


def test_cancel_stops_a_running_render(rendering: Service) -> None:
    with holding_renders(rendering, RenderGate(states=(), progress=True)) as gate:
        render = create(rendering, {"edit": long_edit()})
        while True:  # held at each progress report until one is under way
            hold = gate.next(render["id"])
            body = rendering.get(f"/v1/renders/{render['id']}").json()
            assert body["state"] == "rendering" and hold.fraction is not None
            if 0 < hold.fraction < 1:
                break
            hold.release()
        assert 0 < body["progress"] < 100 and body["eta_seconds"] > 0 and body["duration"] == 60
        asked = time.monotonic()
        r = rendering.post(f"/v1/renders/{render['id']}/cancel")
        assert r.status_code == 202 and r.json()["cancel_requested"] is True
    done = wait(rendering, render["id"], timeout=15)
    assert done["state"] == "cancelled" and time.monotonic() - asked < 8
    assert done["outputs"] == [] and done["finished_at"]
    with rendering.services.sessions() as db:
        assert db.scalars(select(Asset).where(Asset.render_id == render["id"])).all() == []
    assert leftovers(rendering) == []
    assert rendering.post(f"/v1/renders/{render['id']}/cancel").status_code == 409


def test_missing_file_fails_with_code_and_pointer(rendering: Service, media: Any) -> None:
    src = add_asset(rendering, Path(media.video(color="green", duration=1)))
    with rendering.services.sessions() as db:
        asset = db.get(Asset, src)
        assert asset is not None
        rendering.services.storage.delete(asset.storage_key)  # behind the database's back
    edit = small_edit(src)
    edit["timeline"]["tracks"].insert(
        0, {"clips": [{"asset": {"type": "color", "color": "black"}, "length": 1}]}
    )
    render = create(rendering, {"edit": edit})
    done = wait(rendering, render["id"])
    assert done["state"] == "failed" and done["outputs"] == []
    error = done["error"]
    assert error["code"] in ("asset_missing", "media_invalid")
    assert error["pointer"] == "/timeline/tracks/1/clips/0/asset/src"
    assert src in error["message"]
    assert leftovers(rendering) == []


# ------------------------------------------------------------------ the worker and its queue


def queued(svc: Service, count: int, src: str) -> list[str]:
    return [create(svc, {"edit": small_edit(src, length=0.5)})["id"] for _ in range(count)]


def drain(svc: Service, ids: list[str], timeout: float = 60) -> list[dict[str, Any]]:
    return [wait(svc, i, timeout=timeout) for i in ids]


def test_queue_runs_in_creation_order(service: Service, video: Path) -> None:
    ids = queued(service, 3, add_asset(service, video))
    worker = RenderWorker(service.services, concurrency=1, poll_interval=0.1)
    worker.start()
    try:
        assert worker.alive()
        done = drain(service, ids)
    finally:
        worker.stop()
    assert not worker.alive()
    assert [d["state"] for d in done] == ["succeeded"] * 3
    starts = [datetime.fromisoformat(d["started_at"]) for d in done]
    finishes = [datetime.fromisoformat(d["finished_at"]) for d in done]
    # One at a time, oldest first: each starts after the one before it finished.
    assert all(f <= s for f, s in zip(finishes, starts[1:], strict=False))


def test_two_workers_never_claim_the_same_render(service: Service, video: Path) -> None:
    ids = queued(service, 4, add_asset(service, video))
    workers = [
        RenderWorker(service.services, concurrency=2, name=f"w{i}", poll_interval=0.05) for i in range(2)
    ]
    for w in workers:
        w.start()
    try:
        done = drain(service, ids)
    finally:
        for w in workers:
            w.stop()
    assert [(d["state"], d["attempts"]) for d in done] == [("succeeded", 1)] * 4
    with service.services.sessions() as db:
        assert {r.worker for r in db.scalars(select(Render))} <= {"w0", "w1"}


def _as_interrupted(svc: Service, render_id: str, attempts: int) -> None:
    """Make a queued render look like one a crashed worker left mid-render."""
    with svc.services.sessions() as db:
        db.execute(
            update(Render)
            .where(Render.id == render_id)
            .values(
                state="rendering",
                worker="dead-worker",
                attempts=attempts,
                progress=40.0,
                started_at=utcnow() - timedelta(minutes=5),
                heartbeat_at=utcnow() - timedelta(minutes=5),
            )
        )
        db.commit()
    (svc.services.storage.temp_dir() / f"render-{render_id}-a{attempts}").mkdir()


def test_interrupted_renders_are_retried_then_failed(service: Service, video: Path) -> None:
    retry, give_up = queued(service, 2, add_asset(service, video))
    limit = service.services.settings.max_render_attempts
    _as_interrupted(service, retry, 1)
    _as_interrupted(service, give_up, limit)
    worker = RenderWorker(service.services, concurrency=1, poll_interval=0.1)
    worker.start()
    try:
        first, second = drain(service, [retry, give_up])
    finally:
        worker.stop()
    assert first["state"] == "succeeded" and first["attempts"] == 2 and first["outputs"]
    assert second["state"] == "failed" and second["attempts"] == limit and second["outputs"] == []
    assert (
        second["error"]["code"] == "interrupted"
        and f"interrupted {limit} times" in second["error"]["message"]
    )
    assert leftovers(service) == []


def test_stopping_the_worker_puts_the_running_render_back(service: Service) -> None:
    (render_id,) = [create(service, {"edit": long_edit()})["id"]]
    worker = RenderWorker(service.services, concurrency=1, name="restarting", poll_interval=0.05)
    try:
        with holding_renders(worker) as gate:
            worker.start()
            gate.next(render_id)  # held in `rendering`, before FFmpeg starts
            stopping = threading.Thread(target=worker.stop, kwargs={"timeout": 30})
            stopping.start()
            deadline = time.monotonic() + 30
            while worker.alive():  # stop() interrupts the render right after this turns False
                assert time.monotonic() < deadline
                time.sleep(0.01)
        stopping.join(40)
        assert not stopping.is_alive()
    finally:
        worker.stop()
    again = service.get(f"/v1/renders/{render_id}").json()
    assert again["state"] == "queued" and again["attempts"] == 1 and again["progress"] == 0
    assert leftovers(service) == []
    # The next start picks it up again from the start; cancel it there to keep the test short.
    worker = RenderWorker(service.services, concurrency=1, name="restarting", poll_interval=0.05)
    try:
        with holding_renders(worker) as gate:  # the gate is there before the worker can claim it
            worker.start()
            gate.next(render_id)
            assert service.get(f"/v1/renders/{render_id}").json()["attempts"] == 2
            assert service.post(f"/v1/renders/{render_id}/cancel").status_code == 202
        assert wait(service, render_id, timeout=60)["state"] == "cancelled"
    finally:
        worker.stop()


def test_readyz_reports_the_worker(rendering: Service) -> None:
    assert rendering.client.get("/readyz").json()["checks"]["worker"] == "ok"
