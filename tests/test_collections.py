"""Asset collections: named groupings set at upload, on the DAM sync and by PATCH, shown on the
asset, filtering the list (with cursor pagination) and narrowing query references; on SQLite and
PostgreSQL, through the API, with real files and the real database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.db.models import Asset, AssetCollection, Workspace, utcnow
from reelforge.db.session import alembic_config, migrate
from service import Service, database, live_server, require_database, running_service
from test_asset_versions import WEEKLY_TEMPLATE, dev_service, image_edit, review, sync, upload
from test_imports import media_server, wait_import
from test_uploads import TUS, b64

__all__ = ["dev_service"]  # the fixture, imported for this module's tests


def ids(service: Service, query: str, token: str | None = None) -> list[str]:
    r = service.get(f"/v1/assets?{query}", token=token)
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["data"]]


def patch(service: Service, asset_id: str, body: dict[str, Any], **headers: str) -> Any:
    return service.client.patch(f"/v1/assets/{asset_id}", headers=service.headers(**headers), json=body)


def test_collections_are_set_shown_replaced_and_move_the_etag(service: Service, media: Any) -> None:
    asset = upload(service, media.image(color="red"), collections="spring-campaign, product-x-hero")
    assert asset["collections"] == ["product-x-hero", "spring-campaign"]
    assert asset["tags"] == []
    # A JSON list works as for tags; duplicates count once.
    other = upload(service, media.image(color="green"), collections='["spring-campaign", "spring-campaign"]')
    assert other["collections"] == ["spring-campaign"]
    got = service.get(f"/v1/assets/{asset['id']}")
    assert got.json()["collections"] == ["product-x-hero", "spring-campaign"]
    etag = got.headers["ETag"]
    r = patch(service, asset["id"], {"collections": ["autumn"]}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["collections"] == ["autumn"] and r.headers["ETag"] != etag
    again = service.get(f"/v1/assets/{asset['id']}")
    assert again.json()["collections"] == ["autumn"] and again.headers["ETag"] == r.headers["ETag"]
    # The old ETag is stale now: the change of collections moved the asset's revision.
    stale = patch(service, asset["id"], {"collections": []}, **{"If-Match": etag})
    assert stale.status_code == 412
    # Tags and collections are apart: changing one leaves the other.
    r = patch(service, asset["id"], {"tags": ["hero"]})
    assert r.json()["tags"] == ["hero"] and r.json()["collections"] == ["autumn"]
    r = patch(service, asset["id"], {"collections": []})
    assert r.status_code == 200 and r.json()["collections"] == []
    with service.services.sessions() as db:
        assert list(db.scalars(select(AssetCollection).where(AssetCollection.asset_id == asset["id"]))) == []


def test_bad_collection_names_are_refused_with_a_pointer(service: Service, media: Any) -> None:
    asset = upload(service, media.image(color="red"), collections="keep")
    for bad, pointer in (
        (["ok", ""], "#/collections/1"),
        (["a\x01b"], "#/collections/0"),
        (["x" * 101], "#/collections/0"),
        ([f"c{i}" for i in range(51)], "#/collections"),
        ("not-a-list", "#/collections"),
    ):
        r = patch(service, asset["id"], {"collections": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert pointer in [e["pointer"] for e in r.json()["errors"]], (bad, r.json())
    r = service.post(
        "/v1/assets",
        files={"file": ("b.png", media.image(color="blue").read_bytes())},
        data={"collections": "[broken"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/collections"
    r = service.get("/v1/assets?collection=a%01b")
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "collection"
    # Nothing stored changed.
    assert service.get(f"/v1/assets/{asset['id']}").json()["collections"] == ["keep"]


def test_the_list_filters_by_collection_with_the_other_filters_and_pages(
    service: Service, media: Any
) -> None:
    colors = ("red", "green", "blue", "yellow", "white")
    spring = [upload(service, media.image(color=c), collections="spring", tags="hero")["id"] for c in colors]
    upload(service, media.image(color="black"), collections="autumn", tags="hero")
    upload(service, media.image(color="orange"), tags="hero")
    newest_first = list(reversed(spring))
    assert ids(service, "collection=spring") == newest_first
    assert ids(service, "collection=spring&tag=hero") == newest_first
    assert ids(service, "collection=nothing") == []
    assert review(service, spring[0], 1, "approved").status_code == 200
    assert ids(service, "collection=spring&review_state=approved") == [spring[0]]
    # Pages of two walk the collection exactly once, in order.
    seen: list[str] = []
    url = "/v1/assets?collection=spring&limit=2"
    while url:
        body = service.get(url).json()
        seen.extend(a["id"] for a in body["data"])
        cursor = body.get("next_cursor")
        url = f"/v1/assets?collection=spring&limit=2&cursor={cursor}" if cursor else ""
    assert seen == newest_first
    # A cursor of the collection's list is no cursor of another list.
    first = service.get("/v1/assets?collection=spring&limit=2").json()
    r = service.get(f"/v1/assets?collection=autumn&limit=2&cursor={first['next_cursor']}")
    assert r.status_code == 400


def test_the_collections_are_listed_with_their_counts_page_by_page(service: Service, media: Any) -> None:
    upload(service, media.image(color="red"), collections="b-roll,spring")
    upload(service, media.image(color="green"), collections="spring")
    upload(service, media.image(color="blue"), collections="autumn & winter")
    upload(service, media.image(color="yellow"))
    other = service.other_workspace_key()
    upload(service, media.image(color="white"), token=other, collections="theirs,spring")
    seen: list[tuple[str, int]] = []
    url = "/v1/collections?limit=2"
    while url:
        r = service.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        seen.extend((c["name"], c["asset_count"]) for c in body["data"])
        url = f"/v1/collections?limit=2&cursor={body['next_cursor']}" if body["has_more"] else ""
        assert ("Link" in r.headers) == body["has_more"]
    assert seen == [("autumn & winter", 1), ("b-roll", 1), ("spring", 2)]
    first = service.get("/v1/collections").json()["data"][0]
    # Its assets_url lists them (the name escaped for the query string).
    listed = service.get(first["assets_url"]).json()["data"]
    assert [a["collections"] for a in listed] == [["autumn & winter"]]
    # Another list's cursor is refused; the other workspace sees its own.
    assets_cursor = service.get("/v1/assets?limit=1").json()["next_cursor"]
    assert service.get(f"/v1/collections?cursor={assets_cursor}").status_code == 400
    theirs = service.get("/v1/collections", token=other).json()["data"]
    assert [(c["name"], c["asset_count"]) for c in theirs] == [("spring", 1), ("theirs", 1)]
    # Emptied collections are gone from the list.
    for asset in service.get("/v1/assets?collection=spring").json()["data"]:
        r = service.client.patch(
            f"/v1/assets/{asset['id']}", headers=service.headers(), json={"collections": []}
        )
        assert r.status_code == 200
    names = [c["name"] for c in service.get("/v1/collections").json()["data"]]
    assert names == ["autumn & winter"]


def test_the_dam_sync_sets_collections_of_a_new_asset(service: Service, media: Any) -> None:
    r = sync(service, "dam", "A1", "1", media.image(color="red"), collections="spring,print")
    assert r.status_code == 201, r.text
    assert r.json()["asset"]["collections"] == ["print", "spring"]
    assert ids(service, "collection=print") == [r.json()["asset"]["id"]]


def test_a_url_import_sets_collections_of_its_new_asset(dev_service: Service, media: Any) -> None:
    svc = dev_service
    with media_server({"hero.png": media.image(color="red").read_bytes()}) as server:
        body = {"url": f"{server.base}/hero.png", "collections": ["spring", "spring", "print"]}
        r = svc.post("/v1/assets/imports", json=body)
        assert r.status_code == 202, r.text
        done = wait_import(svc, r.json()["id"])
    assert done["state"] == "succeeded", done
    assert svc.get(f"/v1/assets/{done['asset_id']}").json()["collections"] == ["print", "spring"]
    r = svc.post("/v1/assets/imports", json={"url": f"{server.base}/x.png", "collections": [""]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/collections/0"


def test_a_resumable_upload_sets_collections_from_its_metadata(service: Service, media: Any) -> None:
    data = media.image(color="red").read_bytes()
    metadata = f"filename {b64('hero.png')},collections {b64('spring, print')}"
    r = service.post(
        "/v1/uploads", headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": metadata}
    )
    assert r.status_code == 201, r.text
    r = service.client.patch(
        f"/v1/uploads/{r.json()['id']}",
        content=data,
        headers=service.headers(
            **TUS, **{"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
        ),
    )
    assert r.status_code == 204, r.text
    asset = service.get(f"/v1/assets/{r.headers['Reelforge-Asset-Id']}").json()
    assert asset["collections"] == ["print", "spring"]


def test_a_query_reference_names_a_collection(service: Service, media: Any) -> None:
    spring = upload(service, media.image(color="red"), tags="hero", collections="spring")
    autumn = upload(service, media.image(color="green"), tags="hero", collections="autumn")
    for asset in (spring, autumn):
        assert review(service, asset["id"], 1, "approved").status_code == 200
    for src in (
        {"query": {"tags": ["hero"], "collection": "autumn"}},
        "asset?tag=hero&collection=autumn",
        {"query": {"collection": "autumn"}},
    ):
        r = service.post("/v1/renders", json={"edit": image_edit(src), "dry_run": True})
        assert r.status_code == 200, (src, r.text)
        r = service.post("/v1/renders", json={"edit": image_edit(src)})
        assert r.status_code == 202, r.text
        assert r.json()["asset_versions"][0]["asset"] == autumn["id"]
    # Nothing in that collection: the error points at the clip and names the collection.
    r = service.post(
        "/v1/renders",
        json={"edit": image_edit({"query": {"tags": ["hero"], "collection": "winter"}}), "dry_run": True},
    )
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["pointer"] == "#/edit/timeline/tracks/0/clips/0/asset/src"
    assert error["code"] == "reference_unresolved" and "'winter'" in error["detail"]


def test_a_template_stores_a_collection_query_and_a_batch_resolves_it(service: Service, media: Any) -> None:
    template_body = json.loads(json.dumps(WEEKLY_TEMPLATE))
    clip = template_body["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]
    clip["src"] = {"query": {"tags": ["hero"], "collection": "spring campaign", "pick": "newest"}}
    r = service.post("/v1/templates", json=template_body)
    assert r.status_code == 201, r.text
    template = r.json()
    src = template["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["src"]
    assert src == "asset?tag=hero&collection=spring+campaign&pick=newest"
    upload(service, media.image(color="green"), tags="hero", collections="autumn")
    body = {"template_id": template["id"], "rows": [{"headline": "Week 1"}], "purpose": "publication"}
    r = service.post("/v1/batches", json=body)
    assert r.status_code == 422 and "tracks/0/clips/0/asset/src" in r.text, r.text
    hero = upload(service, media.image(color="red"), tags="hero", collections="spring campaign")
    assert review(service, hero["id"], 1, "approved").status_code == 200
    r = service.post("/v1/batches", json=body)
    assert r.status_code == 202, r.text
    [render] = service.get(f"/v1/batches/{r.json()['id']}/renders?limit=100").json()["data"]
    assert [(v["asset"], v["version"]) for v in render["asset_versions"]] == [(hero["id"], 1)]


def test_collections_are_isolated_between_workspaces(service: Service, media: Any) -> None:
    mine = upload(service, media.image(color="red"), tags="hero", collections="spring")
    assert review(service, mine["id"], 1, "approved").status_code == 200
    other = service.other_workspace_key()
    assert ids(service, "collection=spring", token=other) == []
    query = image_edit({"query": {"collection": "spring"}})
    r = service.post("/v1/renders", token=other, json={"edit": query, "dry_run": True})
    assert r.status_code == 422 and mine["id"] not in r.text
    r = service.client.patch(
        f"/v1/assets/{mine['id']}", headers=service.headers(other), json={"collections": ["stolen"]}
    )
    assert r.status_code == 404
    # Its own asset of the same bytes and collection name is apart from ours.
    theirs = upload(service, media.image(color="red"), token=other, collections="spring")
    assert theirs["id"] != mine["id"]
    assert ids(service, "collection=spring", token=other) == [theirs["id"]]
    assert ids(service, "collection=spring") == [mine["id"]]
    with service.services.sessions() as db:
        assert db.scalar(select(Asset.workspace_id).where(Asset.id == mine["id"])) != db.scalar(
            select(Asset.workspace_id).where(Asset.id == theirs["id"])
        )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_collections_migration_goes_down_and_up(kind: str, tmp_path: Path) -> None:
    require_database(kind)
    with database(kind, tmp_path) as url:
        migrate(url)
        command.downgrade(alembic_config(url), "0022")
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            assert "asset_collections" not in inspector.get_table_names()
            assert "collections" not in {c["name"] for c in inspector.get_columns("imports")}
        command.upgrade(alembic_config(url), "head")
        with Session(engine) as db:
            db.add(Workspace(id="ws_a", name="a", created_at=utcnow()))
            db.flush()
            db.add(
                Asset(id="ast_a", workspace_id="ws_a", name="a.png", kind="image", content_type="image/png",
                      size_bytes=1, sha256="0" * 64, storage_key="k", media={}, meta={}, source="upload",
                      derived_from={})
            )  # fmt: skip
            db.commit()
            before = db.scalar(select(Asset.revision).where(Asset.id == "ast_a"))
            db.add(AssetCollection(asset_id="ast_a", collection="spring"))
            db.commit()
            # The membership moved the revision: the triggers exist again after the way down and up.
            assert db.scalar(select(Asset.revision).where(Asset.id == "ast_a")) == (before or 0) + 1
        engine.dispose()


def test_the_python_client_uploads_with_collections_both_ways(tmp_path: Path, media: Any) -> None:
    from reelforge.client import Client

    with running_service(tmp_path) as svc, live_server(svc) as base, Client(base, api_key=svc.token) as rf:
        small = rf.assets.upload(media.image(color="red"), collections=["spring", "print"], resumable=False)
        assert small["collections"] == ["print", "spring"]
        resumed = rf.assets.upload(media.image(color="green"), collections=["spring"], resumable=True)
        assert resumed["collections"] == ["spring"]
        listed = rf.assets.list(collection="spring")
        assert {a["id"] for a in listed} == {small["id"], resumed["id"]}
