"""Asset versions, review and approval, and references that resolve to versions: on SQLite and
PostgreSQL, through the API, with real files, real FFmpeg renders and the real database."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from reelforge.db.models import AssetVersion, Render
from reelforge.services.retention import run_retention
from service import (
    RenderGate,
    Service,
    holding_renders,
    live_server,
    require_database,
    running_service,
    wait_render,
    with_previews,
)
from test_imports import media_server, wait_import
from test_uploads import TUS, b64


def upload(svc: Service, path: Path, token: str | None = None, **fields: str) -> dict[str, Any]:
    r = svc.post("/v1/assets", token=token, files={"file": (path.name, path.read_bytes())}, data=fields)
    assert r.status_code in (200, 201), r.text
    return with_previews(svc, r.json(), token=token)


def new_version(svc: Service, asset_id: str, path: Path, token: str | None = None) -> Any:
    return svc.post(
        f"/v1/assets/{asset_id}/versions", token=token, files={"file": (path.name, path.read_bytes())}
    )


def review(
    svc: Service, asset_id: str, number: int, state: str, token: str | None = None, **extra: Any
) -> Any:
    headers = {"If-Match": extra.pop("if_match")} if "if_match" in extra else {}
    return svc.post(
        f"/v1/assets/{asset_id}/versions/{number}/review",
        token=token,
        json={"state": state, **extra},
        headers=headers,
    )


def sync(
    svc: Service, system: str, ref: str, version: str, path: Path, token: str | None = None, **fields: str
) -> Any:
    return svc.client.put(
        f"/v1/assets/by-ref/{system}/{ref}/{version}",
        headers=svc.headers(token),
        files={"file": (path.name, path.read_bytes())},
        data=fields,
    )


def image_edit(src: Any) -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "image", "src": src}, "length": 1}]}]},
        "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25, "audio": False}],
    }


# ------------------------------------------------------------------------------ versions


def test_versions_keep_the_id_and_each_has_its_own_bytes(service: Service, media: Any) -> None:
    red, green = media.image(color="red"), media.image(color="green")
    asset = upload(service, red, name="hero.png")
    assert asset["version"] == 1
    r = new_version(service, asset["id"], green)
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert v2["version"] == 2 and v2["sha256"] == hashlib.sha256(green.read_bytes()).hexdigest()
    assert v2["review"]["state"] == "draft" and v2["current"] and v2["media"]["width"] == 320
    shown = service.get(f"/v1/assets/{asset['id']}").json()
    assert shown["version"] == 2 and shown["sha256"] == v2["sha256"] and shown["name"] == "hero.png"
    # The same bytes again: that version, nothing new.
    again = new_version(service, asset["id"], green)
    assert again.status_code == 200 and again.json()["version"] == 2
    listed = service.get(f"/v1/assets/{asset['id']}/versions").json()["data"]
    assert [v["version"] for v in listed] == [2, 1] and [v["current"] for v in listed] == [True, False]
    # Any version downloads; the asset's content is the newest.
    assert service.get(f"/v1/assets/{asset['id']}/versions/1/content").content == red.read_bytes()
    assert service.get(f"/v1/assets/{asset['id']}/versions/2/content").content == green.read_bytes()
    assert service.get(f"/v1/assets/{asset['id']}/content").content == green.read_bytes()
    # Restore version 1 as the newest (version 3), a draft again.
    r = service.post(f"/v1/assets/{asset['id']}/versions/1/restore")
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 3 and r.json()["sha256"] == asset["sha256"]
    assert r.json()["derived_from"] == {"restored_from": 1}
    assert service.get(f"/v1/assets/{asset['id']}/content").content == red.read_bytes()
    assert service.get(f"/v1/assets/{asset['id']}/versions/9").status_code == 404


def test_a_version_is_checked_like_any_upload(service: Service, media: Any, tmp_path: Path) -> None:
    asset = upload(service, media.image(color="red"))
    text = tmp_path / "notes.txt"
    text.write_text("not media at all\n")
    r = new_version(service, asset["id"], text)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["pointer"] == "#/file"
    # Another kind than the asset's: refused, naming the file.
    r = new_version(service, asset["id"], media.video())
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "kind_mismatch"
    # The bytes of another asset are that asset.
    other = upload(service, media.image(color="blue"))
    r = new_version(service, asset["id"], media.image(color="blue"))
    assert r.status_code == 409 and other["id"] in r.json()["detail"]
    assert service.get(f"/v1/assets/{asset['id']}").json()["version"] == 1


def test_the_dam_sync_upsert_runs_twice_without_duplicates(service: Service, media: Any) -> None:
    first = sync(service, "bynder", "PX-1", "a1", media.image(color="red"), tags="hero,product-x")
    assert first.status_code == 201, first.text
    asset_id = first.json()["asset"]["id"]
    assert first.json()["asset"]["external_ref"] == {"system": "bynder", "id": "PX-1"}
    again = sync(service, "bynder", "PX-1", "a1", media.image(color="red"), tags="hero,product-x")
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["asset"]["id"] == asset_id
    second = sync(service, "bynder", "PX-1", "a2", media.image(color="green"))
    assert second.status_code == 201 and second.json()["version"]["version"] == 2
    assert second.json()["version"]["external_version"] == "a2"
    # The whole nightly run again: nothing new.
    for version, color in (("a1", "red"), ("a2", "green")):
        r = sync(service, "bynder", "PX-1", version, media.image(color=color))
        assert r.status_code == 200 and r.json()["created"] is False
    listed = service.get("/v1/assets?external_system=bynder&external_id=PX-1").json()["data"]
    assert [a["id"] for a in listed] == [asset_id] and listed[0]["version"] == 2
    assert len(service.get(f"/v1/assets/{asset_id}/versions").json()["data"]) == 2


@pytest.fixture(params=["sqlite", "postgresql"])
def dev_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """The service with imports from private addresses allowed (the development setting)."""
    require_database(request.param)
    with running_service(tmp_path, request.param, imports_allow_private=True) as svc:
        yield svc


def test_versions_arrive_by_resumable_upload_and_url_import(dev_service: Service, media: Any) -> None:
    svc = dev_service
    asset = upload(svc, media.image(color="red"))
    # tus: `asset_id` in Upload-Metadata makes the finished upload a new version.
    data = media.image(color="green").read_bytes()
    r = svc.post(
        "/v1/uploads",
        headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": f"asset_id {b64(asset['id'])}"},
    )
    assert r.status_code == 201, r.text
    r = svc.client.patch(
        f"/v1/uploads/{r.json()['id']}",
        content=data,
        headers=svc.headers(
            **TUS, **{"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
        ),
    )
    assert r.status_code == 204, r.text
    assert r.headers["Reelforge-Asset-Id"] == asset["id"]
    v2 = svc.get(f"/v1/assets/{asset['id']}/versions/2").json()
    assert v2["sha256"] == hashlib.sha256(data).hexdigest() and "upload" in v2["derived_from"]
    # An unknown asset is refused when the upload is created, naming the header.
    r = svc.post(
        "/v1/uploads",
        headers={**TUS, "Upload-Length": "10", "Upload-Metadata": f"asset_id {b64('ast_' + '0' * 26)}"},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["header"] == "Upload-Metadata"
    # A URL import with `asset_id`: version 3, its URL recorded.
    blue = media.image(color="blue").read_bytes()
    with media_server({"v3.png": blue}) as server:
        r = svc.post("/v1/assets/imports", json={"url": f"{server.base}/v3.png", "asset_id": asset["id"]})
        assert r.status_code == 202, r.text
        done = wait_import(svc, r.json()["id"])
    assert done["state"] == "succeeded" and done["asset_id"] == asset["id"], done
    v3 = svc.get(f"/v1/assets/{asset['id']}/versions/3").json()
    assert v3["source"] == "import" and v3["derived_from"]["url"] == f"{server.base}/v3.png"
    assert svc.get(f"/v1/assets/{asset['id']}").json()["version"] == 3
    r = svc.post("/v1/assets/imports", json={"url": f"{server.base}/x.png", "asset_id": "ast_" + "0" * 26})
    assert r.status_code == 404 and r.json()["errors"][0]["pointer"] == "#/asset_id"


# ------------------------------------------------------------------------------ review


def test_review_needs_the_approve_scope_and_is_serialised(service: Service, media: Any) -> None:
    asset = upload(service, media.image(color="red"))
    writer = service.new_key("assets:read", "assets:write")
    r = review(service, asset["id"], 1, "approved", token=writer)
    assert r.status_code == 403 and "assets:approve" in r.text
    approver = service.new_key("assets:read", "assets:approve")
    etag = service.get(f"/v1/assets/{asset['id']}/versions/1").headers["etag"]
    r = review(service, asset["id"], 1, "approved", token=approver, comment="cleared by legal", if_match=etag)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["review"]["state"] == "approved" and body["review"]["comment"] == "cleared by legal"
    assert body["review"]["by"] is not None and body["approved"] is True
    # A second reviewer acting on what they read before: 412 with the current ETag.
    stale = review(service, asset["id"], 1, "rejected", token=approver, if_match=etag)
    assert stale.status_code == 412 and stale.headers["etag"] == r.headers["etag"]
    assert service.get(f"/v1/assets/{asset['id']}/versions/1").json()["review"]["state"] == "approved"
    # Audited, and told as events.
    audit = service.get("/v1/audit?action=asset.approved").json()["data"]
    assert [e["resource"]["id"] for e in audit] == [asset["id"]]
    assert audit[0]["details"]["comment"] == "cleared by legal"
    types = [e["type"] for e in service.get("/v1/events?limit=100").json()["data"]]
    assert "asset.approved" in types
    # Bad input is located.
    r = review(service, asset["id"], 1, "rejected", approved_until="2099-01-01T00:00:00Z")
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/approved_until"
    r = review(service, asset["id"], 1, "shipped")
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"].endswith("/state")


def _race_reviews(service: Service, asset_id: str, etag: str) -> list[int]:
    """Four reviewers with the same If-Match, released together: their statuses."""
    results: list[int] = []
    start = threading.Barrier(4)

    def reviewer(state: str) -> None:
        start.wait(30)
        results.append(review(service, asset_id, 1, state, if_match=etag).status_code)

    threads = [
        threading.Thread(target=reviewer, args=(s,))
        for s in ("approved", "rejected", "in_review", "archived")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_racing_reviews_with_the_same_etag_have_one_winner(service: Service, media: Any) -> None:
    asset = upload(service, media.image(color="red"))
    for round_ in range(3):
        etag = service.get(f"/v1/assets/{asset['id']}/versions/1").headers["etag"]
        assert etag == f'"{1 + round_}"'
        results = _race_reviews(service, asset["id"], etag)
        assert sorted(results) == [200, 412, 412, 412], results
    history = service.get(f"/v1/audit?resource_id={asset['id']}").json()["data"]
    assert len([e for e in history if e["details"].get("version") == 1 and "state" in e["details"]]) == 3


def test_filters_by_review_state_tag_and_approved_at_a_time(service: Service, media: Any) -> None:
    hero = upload(service, media.image(color="red"), tags="hero")
    other = upload(service, media.image(color="blue"), tags="hero")
    before = datetime.now(UTC)
    assert review(service, hero["id"], 1, "approved").status_code == 200
    after = datetime.now(UTC) + timedelta(milliseconds=5)

    def ids(query: str) -> list[str]:
        r = service.client.get(f"/v1/assets?{query}", headers=service.headers())
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["data"]]

    assert ids("review_state=approved&tag=hero") == [hero["id"]]
    assert ids("review_state=draft") == [other["id"]]
    assert ids(f"approved_at={after.isoformat().replace('+00:00', 'Z')}") == [hero["id"]]
    assert ids(f"approved_at={before.isoformat().replace('+00:00', 'Z')}") == []
    # Rejected later: it was approved then, it is not now.
    assert review(service, hero["id"], 1, "rejected").status_code == 200
    later = datetime.now(UTC) + timedelta(milliseconds=5)
    assert ids(f"approved_at={after.isoformat().replace('+00:00', 'Z')}") == [hero["id"]]
    assert ids(f"approved_at={later.isoformat().replace('+00:00', 'Z')}") == []


def test_an_approval_expires_and_an_event_fires(service: Service, media: Any) -> None:
    asset = upload(service, media.image(color="red"), tags="licensed")
    until = datetime.now(UTC) + timedelta(hours=1)
    r = review(service, asset["id"], 1, "approved", approved_until=until.isoformat())
    assert r.status_code == 200 and r.json()["approved"] is True
    query = image_edit({"query": {"tags": ["licensed"], "state": "approved"}})
    assert service.post("/v1/renders", json={"edit": query, "dry_run": True}).status_code == 200
    # The licence ends (moved into the past in the database, as time passing would).
    with service.services.sessions() as db:
        db.execute(
            update(AssetVersion)
            .where(AssetVersion.asset_id == asset["id"])
            .values(approved_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.commit()
    shown = service.get(f"/v1/assets/{asset['id']}/versions/1").json()
    assert shown["approved"] is False and shown["review"]["state"] == "approved"
    r = service.post("/v1/renders", json={"edit": query, "dry_run": True})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "reference_unresolved"
    assert r.json()["errors"][0]["pointer"] == "#/edit/timeline/tracks/0/clips/0/asset/src"
    assert run_retention(service.services).approvals_expired == 1
    assert run_retention(service.services).approvals_expired == 0  # told once
    events = service.get("/v1/events?limit=100").json()["data"]
    expired = [e for e in events if e["type"] == "asset.approval_expired"]
    assert len(expired) == 1 and expired[0]["data"]["version"]["version"] == 1


# ------------------------------------------------------------------------------ references


def test_a_query_reference_resolves_differently_after_an_approval(service: Service, media: Any) -> None:
    first = upload(service, media.image(color="red"), tags="hero,product-x")
    second = upload(service, media.image(color="green"), tags="hero,product-x")
    upload(service, media.image(color="blue"), tags="hero")
    query = {"query": {"tags": ["hero", "product-x"], "state": "approved", "pick": "newest"}}
    r = service.post("/v1/renders", json={"edit": image_edit(query), "dry_run": True})
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["pointer"] == "#/edit/timeline/tracks/0/clips/0/asset/src"
    assert error["code"] == "reference_unresolved"
    assert review(service, first["id"], 1, "approved").status_code == 200
    r = service.post("/v1/renders", json={"edit": image_edit(query)})
    assert r.status_code == 202, r.text
    [resolved] = r.json()["asset_versions"]
    assert resolved["asset"] == first["id"] and resolved["version"] == 1 and resolved["approved"]
    assert review(service, second["id"], 1, "approved").status_code == 200
    r = service.post("/v1/renders", json={"edit": image_edit(query)})
    assert r.json()["asset_versions"][0]["asset"] == second["id"]
    # Two match and the query says `only`: ambiguous, naming both.
    only = {"query": {"tags": ["hero", "product-x"]}}
    r = service.post("/v1/renders", json={"edit": image_edit(only), "dry_run": True})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "reference_ambiguous"
    assert first["id"] in r.json()["errors"][0]["detail"] and second["id"] in r.json()["errors"][0]["detail"]
    # Pinned, latest and approved forms, in the JSON and the string spelling.
    assert new_version(service, first["id"], media.image(color="yellow")).status_code == 201
    for src, version in (
        ({"asset": first["id"], "version": 1}, 1),
        (f"{first['id']}@latest", 2),
        ({"asset": first["id"], "version": "approved"}, 1),
        (first["id"], 2),
    ):
        r = service.post("/v1/renders", json={"edit": image_edit(src)})
        assert r.status_code == 202, r.text
        assert r.json()["asset_versions"][0]["version"] == version, src
    r = service.post("/v1/renders", json={"edit": image_edit({"asset": first["id"], "version": 7})})
    assert r.status_code == 422 and "no version 7" in r.json()["errors"][0]["detail"]


def test_publication_renders_refuse_unapproved_media_listing_each_clip(service: Service, media: Any) -> None:
    approved = upload(service, media.image(color="red"))
    draft = upload(service, media.image(color="green"))
    assert review(service, approved["id"], 1, "approved").status_code == 200
    edit = image_edit(approved["id"])
    edit["timeline"]["tracks"][0]["clips"].append(
        {"asset": {"type": "image", "src": draft["id"]}, "length": 1, "start": 1}
    )
    edit["timeline"]["tracks"][0]["clips"][0]["start"] = 0
    r = service.post("/v1/renders", json={"edit": edit, "purpose": "publication"})
    assert r.status_code == 422 and r.json()["type"].endswith("unapproved-media"), r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["#/edit/timeline/tracks/0/clips/1/asset/src"]
    assert draft["id"] in r.json()["errors"][0]["detail"]
    # A draft or preview opts in to unapproved media.
    for purpose in ("draft", "preview"):
        r = service.post("/v1/renders", json={"edit": edit, "purpose": purpose})
        assert r.status_code == 202 and r.json()["purpose"] == purpose
    assert review(service, draft["id"], 1, "approved").status_code == 200
    assert service.post("/v1/renders", json={"edit": edit, "purpose": "publication"}).status_code == 202


def test_rerendering_the_recorded_edit_reproduces_the_files_byte_for_byte(
    rendering: Service, media: Any
) -> None:
    svc = rendering
    asset = upload(svc, media.image(color="red"), tags="hero")
    assert review(svc, asset["id"], 1, "approved").status_code == 200
    query = image_edit({"query": {"tags": ["hero"], "state": "approved"}})
    first = wait_render(
        svc, svc.post("/v1/renders", json={"edit": query, "purpose": "publication"}).json()["id"]
    )
    assert first["state"] == "succeeded", first
    recorded = svc.get(f"/v1/renders/{first['id']}/edit").json()
    assert recorded["timeline"]["tracks"][0]["clips"][0]["asset"]["src"] == f"{asset['id']}@1"
    # A new version arrives and is approved: the query now means it, the recorded edit does not.
    assert new_version(svc, asset["id"], media.image(color="green")).status_code == 201
    assert review(svc, asset["id"], 2, "approved").status_code == 200
    again = wait_render(svc, svc.post("/v1/renders", json={"edit": recorded}).json()["id"])
    fresh = wait_render(svc, svc.post("/v1/renders", json={"edit": query}).json()["id"])
    assert again["asset_versions"][0]["version"] == 1 and fresh["asset_versions"][0]["version"] == 2

    def video(render: dict[str, Any]) -> bytes:
        [out] = [o for o in render["outputs"] if o["role"] == "output"]
        return bytes(svc.get(f"/v1/assets/{out['id']}/content").content)

    assert video(again) == video(first)
    assert video(fresh) != video(first)
    # Each output's manifest names the versions it was made from.
    [out] = [o for o in fresh["outputs"] if o["role"] == "output"]
    assert out["derived_from"]["asset_versions"] == [
        {"asset": asset["id"], "version": 2, "sha256": fresh["asset_versions"][0]["sha256"]}
    ]


def test_an_asset_a_running_render_uses_cannot_be_deleted(rendering: Service, media: Any) -> None:
    svc = rendering
    asset = upload(svc, media.image(color="red"))
    assert new_version(svc, asset["id"], media.image(color="green")).status_code == 201
    with holding_renders(svc, RenderGate(("rendering",))) as gate:
        render = svc.post(
            "/v1/renders", json={"edit": image_edit({"asset": asset["id"], "version": 1})}
        ).json()
        hold = gate.next()
        r = svc.client.delete(f"/v1/assets/{asset['id']}", headers=svc.headers())
        assert r.status_code == 409 and render["id"] in r.json()["renders"]
        hold.release()
    assert wait_render(svc, render["id"])["state"] == "succeeded"
    assert svc.client.delete(f"/v1/assets/{asset['id']}", headers=svc.headers()).status_code == 204


def test_versions_and_references_are_isolated_between_workspaces(service: Service, media: Any) -> None:
    mine = upload(service, media.image(color="red"), tags="hero")
    assert review(service, mine["id"], 1, "approved").status_code == 200
    assert sync(service, "dam", "X", "1", media.image(color="blue")).status_code == 201
    other = service.other_workspace_key()
    assert service.get(f"/v1/assets/{mine['id']}/versions", token=other).status_code == 404
    assert service.get(f"/v1/assets/{mine['id']}/versions/1/content", token=other).status_code == 404
    assert new_version(service, mine["id"], media.image(color="green"), token=other).status_code == 404
    assert review(service, mine["id"], 1, "rejected", token=other).status_code == 404
    assert service.post(f"/v1/assets/{mine['id']}/versions/1/restore", token=other).status_code == 404
    # Another workspace's query finds nothing of ours; its pinned reference is an unknown asset.
    query = image_edit({"query": {"tags": ["hero"]}})
    r = service.post("/v1/renders", token=other, json={"edit": query, "dry_run": True})
    assert r.status_code == 422 and mine["id"] not in r.text
    r = service.post(
        "/v1/renders", token=other, json={"edit": image_edit(f"{mine['id']}@1"), "dry_run": True}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "asset_not_found"
    assert service.get("/v1/assets?review_state=approved", token=other).json()["data"] == []
    # Its own sync of the same reference is its own asset.
    r = sync(service, "dam", "X", "1", media.image(color="blue"), token=other)
    assert r.status_code == 201
    assert (
        service.get("/v1/assets?external_system=dam", token=other).json()["data"][0]["id"]
        == r.json()["asset"]["id"]
    )


# ------------------------------------------------------------------------------ the documented examples


def check_openapi_examples(c: Any, svc: Service, media: Any) -> None:
    """Called by tests/test_openapi.py: every operation of this module's routes, its documented
    answers against ``svc``."""
    red, green = media.image(color="orange"), media.image(color="purple")
    r = svc.post("/v1/assets", files={"file": (red.name, red.read_bytes())})
    asset_id = r.json()["id"]
    params = {"asset_id": asset_id}
    c.call(
        "POST",
        "/v1/assets/{asset_id}/versions",
        params=params,
        files={"file": (green.name, green.read_bytes())},
        expect=201,
    )
    c.call(
        "POST",
        "/v1/assets/{asset_id}/versions",
        params=params,
        files={"file": (green.name, green.read_bytes())},
        expect=200,
    )
    c.call("GET", "/v1/assets/{asset_id}/versions", params=params, expect=200)
    two = {**params, "number": "2"}
    c.call("GET", "/v1/assets/{asset_id}/versions/{number}", params=two, expect=200)
    c.call("GET", "/v1/assets/{asset_id}/versions/{number}/content", params=two, expect=200)
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    c.call(
        "POST",
        "/v1/assets/{asset_id}/versions/{number}/review",
        params=two,
        json={"state": "approved", "comment": "ok", "approved_until": until},
        expect=200,
    )
    c.call(
        "POST",
        "/v1/assets/{asset_id}/versions/{number}/restore",
        params={**params, "number": "1"},
        expect=201,
    )
    path = "/v1/assets/by-ref/{system}/{external_id}/{external_version}"
    ref = {"system": "bynder", "external_id": "PX-1042", "external_version": "7"}
    blue = media.image(color="navy")
    c.call(
        "PUT",
        path,
        params=ref,
        files={"file": (blue.name, blue.read_bytes())},
        data={"tags": "hero"},
        expect=201,
    )
    c.call("PUT", path, params=ref, files={"file": (blue.name, blue.read_bytes())}, expect=200)
    render = svc.post("/v1/renders", json={"edit": image_edit(asset_id)}).json()
    c.call("GET", "/v1/renders/{render_id}/edit", params={"render_id": render["id"]}, expect=200)
    c.call("POST", "/v1/assets/check", json={"edit": image_edit(asset_id)}, expect=200)


# ------------------------------------------------------------------------------ templates and batches

WEEKLY_TEMPLATE: dict[str, Any] = {
    "name": "weekly hero",
    "edit": {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "image",
                                "src": {
                                    "query": {
                                        "tags": ["hero", "product-x"],
                                        "state": "approved",
                                        "pick": "newest",
                                    }
                                },
                            },
                            "length": 1,
                            "fit": "cover",
                        }
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {"type": "text", "text": "{{headline}}", "style": {"size": 0.1}},
                            "length": 1,
                        }
                    ]
                },
            ]
        },
        "outputs": [
            {"aspect_ratio": "16:9", "height": 90, "quality": "draft", "fps": 25},
            {"aspect_ratio": "1:1", "height": 90, "quality": "draft", "fps": 25},
            {"aspect_ratio": "9:16", "width": 90, "quality": "draft", "fps": 25},
        ],
    },
    "variables": [{"name": "headline", "type": "text", "required": True}],
}


def test_a_template_query_reference_and_a_batch_resolving_once(service: Service, media: Any) -> None:
    r = service.post("/v1/templates", json=WEEKLY_TEMPLATE)
    assert r.status_code == 201, r.text
    template = r.json()
    src = template["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["src"]
    assert src == "asset?tag=hero&tag=product-x&state=approved&pick=newest"
    broken = json.loads(json.dumps(WEEKLY_TEMPLATE))
    broken["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["src"] = {
        "query": {"tags": ["x"], "pick": "best"}
    }
    r = service.post("/v1/templates", json=broken)
    assert (
        r.status_code == 422
        and r.json()["errors"][0]["pointer"] == "#/edit/timeline/tracks/0/clips/0/asset/src"
    )
    hero = upload(service, media.image(color="red"), tags="hero,product-x")
    rows = [{"headline": f"Week {n}"} for n in range(3)]
    body = {"template_id": template["id"], "rows": rows, "purpose": "publication"}
    # Nothing approved yet: every row is refused, pointing at the clip.
    r = service.post("/v1/batches", json=body)
    assert r.status_code == 422, r.text
    assert "tracks/0/clips/0/asset/src" in r.text
    assert review(service, hero["id"], 1, "approved").status_code == 200
    r = service.post("/v1/batches", json=body)
    assert r.status_code == 202, r.text
    renders = service.get(f"/v1/batches/{r.json()['id']}/renders?limit=100").json()["data"]
    assert len(renders) == 3
    resolved = {(v["asset"], v["version"]) for rnd in renders for v in rnd["asset_versions"]}
    assert resolved == {(hero["id"], 1)} and {rnd["purpose"] for rnd in renders} == {"publication"}
    # A newer approved version: the next batch uses it, the one made before keeps its versions.
    assert new_version(service, hero["id"], media.image(color="green")).status_code == 201
    assert review(service, hero["id"], 2, "approved").status_code == 200
    r = service.post("/v1/batches", json=body)
    later = service.get(f"/v1/batches/{r.json()['id']}/renders?limit=100").json()["data"]
    assert {v["version"] for rnd in later for v in rnd["asset_versions"]} == {2}
    again = service.get(f"/v1/renders/{renders[0]['id']}").json()
    assert again["asset_versions"][0]["version"] == 1


# ------------------------------------------------------------------------------ the CLI and the example

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, token: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "XDG_CACHE_HOME": str(home), "COLUMNS": "200"}
    env["REELFORGE_TOKEN"] = token
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_validate_on_the_server_reports_unapproved_expired_and_missing_versions(
    tmp_path: Path, media: Any
) -> None:
    with running_service(tmp_path / "svc") as svc, live_server(svc) as base:
        draft = upload(svc, media.image(color="red"))
        licensed = upload(svc, media.image(color="blue"))
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert review(svc, licensed["id"], 1, "approved", approved_until=until).status_code == 200
        with svc.services.sessions() as db:  # the licence ends
            db.execute(
                update(AssetVersion)
                .where(AssetVersion.asset_id == licensed["id"])
                .values(approved_until=datetime.now(UTC) - timedelta(seconds=1))
            )
            db.commit()
        edit = image_edit(draft["id"])
        clips = edit["timeline"]["tracks"][0]["clips"]
        clips.append({"asset": {"type": "image", "src": licensed["id"]}, "start": 1, "length": 1})
        clips.append(
            {"asset": {"type": "image", "src": {"asset": draft["id"], "version": 4}}, "start": 2, "length": 1}
        )
        path = tmp_path / "edit.json"
        path.write_text(json.dumps(edit))
        done = _run(
            "-m", "reelforge", "validate", str(path), "--server", base, token=svc.token, home=tmp_path
        )
        assert done.returncode == 2, done.stdout + done.stderr
        lines = done.stderr
        assert "clips/0/asset/src" in lines and "unapproved_media" in lines
        assert "clips/1/asset/src" in lines and "approval_expired" in lines
        assert "clips/2/asset/src" in lines and "no version 4" in lines
        # Approved now, nothing missing: valid.
        assert review(svc, draft["id"], 1, "approved").status_code == 200
        assert review(svc, licensed["id"], 1, "approved").status_code == 200
        clips.pop()
        path.write_text(json.dumps(edit))
        done = _run(
            "-m", "reelforge", "validate", str(path), "--server", base, token=svc.token, home=tmp_path
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{draft['id']} version 1 (approved)" in done.stdout


def test_the_weekly_pipeline_example_runs_end_to_end(tmp_path: Path) -> None:
    with running_service(tmp_path / "svc", workers=1) as svc, live_server(svc) as base:
        svc.services.settings.public_url = base
        out = tmp_path / "out"
        done = _run(
            str(ROOT / "examples" / "weekly_pipeline.py"),
            "--server",
            base,
            "--out",
            str(out),
            "--wait",
            "600",
            token=svc.token,
            home=tmp_path,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "unchanged" in done.stdout  # the second sync run
        files = sorted(out.iterdir())
        assert len(files) == 9  # 3 rows x 16:9, 1:1, 9:16
        assert all(f.stat().st_size > 0 for f in files)
    with svc.services.sessions() as db:
        used = {tuple(v.values())[2:4] for r in db.scalars(select(Render)) for v in r.asset_versions}
    assert len(used) == 1  # every render of the batch: the same approved version


def test_the_compliance_check_reports_unapproved_media(service: Service, media: Any, tmp_path: Path) -> None:
    from test_compliance import _kit_and_project

    _, project = _kit_and_project(service, media, tmp_path)
    report = service.post(f"/v1/projects/{project['id']}/check", json={}).json()["media"]
    assert report["object"] == "media_report" and report["passed"] is False
    assert {p["code"] for p in report["problems"]} == {"unapproved_media"}
    for f in report["files"]:
        assert review(service, f["asset"], f["version"], "approved").status_code == 200
    report = service.post(f"/v1/projects/{project['id']}/check", json={}).json()["media"]
    assert report["passed"] is True and report["files"] and all(f["approved"] for f in report["files"])
