"""The asset list's representation cache never serves a stale asset, whoever changed it (the
database's revision triggers), and the request log line keeps its format."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, String, column, select, table, text, update

from reelforge.db.models import Asset, AssetTag
from reelforge.db.triggers import SQLITE_COLLECTION_TRIGGERS, SQLITE_TRIGGERS
from reelforge.logs import configure_logging
from service import Service, with_previews


def _upload(service: Service, path: Path, **fields: str) -> dict[str, Any]:
    with path.open("rb") as fh:
        r = service.post("/v1/assets", files={"file": (path.name, fh, "image/png")}, data=fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture
def assets(service: Service, media: Any) -> list[dict[str, Any]]:
    colors = ("red", "green", "blue", "yellow", "white")
    made = [
        _upload(service, media.image(color=c), tags=f"hot,{c}", metadata=json.dumps({"n": i}))
        for i, c in enumerate(colors)
    ]
    # Settled: previews are made after the upload answers, and would change an asset between two reads.
    return [with_previews(service, asset) for asset in made]


def _names(service: Service) -> dict[str, tuple[str, list[str], Any]]:
    listed = service.get("/v1/assets?limit=100").json()["data"]
    for asset in listed:  # each as the asset itself reads now
        assert asset == service.get(f"/v1/assets/{asset['id']}").json()
    return {a["id"]: (a["name"], a["tags"], a["metadata"]) for a in listed}


def test_the_asset_list_never_shows_a_stale_asset(service: Service, assets: list[dict[str, Any]]) -> None:
    target = assets[2]["id"]
    assert _names(service)[target] == (assets[2]["name"], ["blue", "hot"], {"n": 2})

    # Through the API.
    r = service.client.patch(
        f"/v1/assets/{target}",
        headers=service.headers(),
        json={"name": "renamed.png", "tags": ["x"], "metadata": {"n": 20}},
    )
    assert r.status_code == 200, r.text
    assert _names(service)[target] == ("renamed.png", ["x"], {"n": 20})

    # Behind the API's back, as another process or a migration would: the database's own
    # revision triggers keep the cached representation from being served.
    with service.services.engine.begin() as conn:
        conn.execute(update(Asset).where(Asset.id == target).values(name="elsewhere.png"))
    assert _names(service)[target][0] == "elsewhere.png"
    with service.services.engine.begin() as conn:
        conn.execute(AssetTag.__table__.insert().values(asset_id=target, tag="added"))
    assert _names(service)[target][1] == ["added", "x"]
    with service.services.engine.begin() as conn:
        conn.execute(AssetTag.__table__.delete().where(AssetTag.asset_id == target, AssetTag.tag == "x"))
    assert _names(service)[target][1] == ["added"]
    with service.services.engine.begin() as conn:
        conn.execute(
            text("UPDATE assets SET meta = :meta WHERE id = :id"), {"meta": '{"n": 21}', "id": target}
        )
    assert _names(service)[target][2] == {"n": 21}

    if service.services.engine.dialect.name == "postgresql":  # TRUNCATE fires no row trigger
        with service.services.engine.begin() as conn:
            conn.execute(text("TRUNCATE asset_tags"))
        assert all(tags == [] for _, tags, _ in _names(service).values())

    # Deleted: gone from the list.
    assert service.client.delete(f"/v1/assets/{target}", headers=service.headers()).status_code == 204
    assert target not in _names(service)


def test_revisions_move_with_every_change_of_an_asset_or_its_tags(
    service: Service, assets: list[dict[str, Any]]
) -> None:
    target = assets[0]["id"]
    revisions = table("assets", column("id", String), column("revision", Integer))

    def revision() -> int:
        with service.services.engine.connect() as conn:
            return int(
                conn.execute(select(revisions.c.revision).where(revisions.c.id == target)).scalar_one()
            )

    seen = [revision()]
    changes = [
        update(Asset).where(Asset.id == target).values(previews="failed"),
        AssetTag.__table__.insert().values(asset_id=target, tag="one"),
        AssetTag.__table__.update()
        .where(AssetTag.asset_id == target, AssetTag.tag == "one")
        .values(tag="two"),
        AssetTag.__table__.delete().where(AssetTag.asset_id == target, AssetTag.tag == "two"),
    ]
    for change in changes:
        with service.services.engine.begin() as conn:
            conn.execute(change)
        seen.append(revision())
    assert seen == sorted(set(seen)), seen  # strictly increasing


def test_the_revision_triggers_exist_at_the_head_revision(service: Service) -> None:
    # A later SQLite migration that batch-alters assets or asset_tags drops them (reelforge.db.triggers).
    with service.services.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            names = set(
                conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
            )
            assert set(SQLITE_TRIGGERS) | set(SQLITE_COLLECTION_TRIGGERS) <= names
        else:
            names = set(
                conn.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").scalars()
            )
            assert {
                "assets_revision_bump",
                "asset_tags_revision_bump",
                "asset_tags_truncate_bump",
                "asset_collections_revision_bump",
                "asset_collections_truncate_bump",
            } <= names


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_the_request_line_keeps_the_log_format_and_escapes_the_path(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(fmt)
        fields = {
            "request_id": "req_1",
            "method": "GET",
            "path": "/v1/a b\n[error] forged\x1b[2J",
            "status": 404,
            "duration_ms": 0.5,
        }
        logging.getLogger("reelforge.access").info("request", extra={"access": fields})
        logging.getLogger("reelforge.other").info("plain %s", "line")
        logging.getLogger("reelforge.other").info("big", extra={"size": 2**70, "by_id": {1: "a"}})
        lines = capsys.readouterr().out.splitlines()
    finally:
        root.handlers, level = saved
        root.setLevel(level)
    assert len(lines) == 3, lines  # the forged newline did not start a line
    assert "1180591620717411303424" in lines[2]  # other lines keep structlog's rendering, whatever they hold
    if fmt == "json":
        access, plain, big = (json.loads(line) for line in lines)
        assert big["size"] == 2**70
        assert access == {
            "event": "request",
            "level": "info",
            "logger": "reelforge.access",
            **fields,
            "timestamp": access["timestamp"],
        }
        assert access["timestamp"].endswith("Z") and plain["event"] == "plain line"
        assert set(plain) == {"event", "level", "logger", "timestamp"}
    else:
        assert (
            "[info     ] request                        [reelforge.access] duration_ms=0.5 method=GET "
            "path='/v1/a b\\n[error] forged\\x1b[2J' request_id=req_1 status=404" in lines[0]
        )
        assert "\x1b" not in lines[0] and lines[0][:27].endswith("Z")
        assert "plain line" in lines[1] and "[reelforge.other]" in lines[1]


def test_the_representation_cache_serves_only_the_current_revision_within_its_budget() -> None:
    from reelforge.services.context import RepresentationCache

    cache = RepresentationCache(budget=10_000)
    cache.put("ast_1", 3, b"x" * 1000)
    assert cache.get("ast_1", 3) == b"x" * 1000
    assert cache.get("ast_1", 2) is None and cache.get("ast_1", 4) is None and cache.get("ast_2", 3) is None
    cache.put("ast_1", 4, b"y" * 1000)  # replaces, does not add up
    assert cache.get("ast_1", 3) is None and cache.get("ast_1", 4) == b"y" * 1000
    for i in range(20):  # 20 KB through a 10 KB budget: it starts again rather than grow
        cache.put(f"ast_{i + 10}", 1, b"z" * 1000)
    held = [i for i in range(20) if cache.get(f"ast_{i + 10}", 1) is not None]
    assert 0 < len(held) < 10 and held == list(range(20 - len(held), 20))
