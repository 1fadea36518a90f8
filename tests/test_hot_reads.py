"""The hot reads (``GET /v1/renders/{id}``, ``GET /v1/assets``) answer exactly as their routes do,
and the asset list's representation cache never serves a stale asset, whoever changed it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Integer, String, bindparam, column, select, table, text, update
from sqlalchemy.exc import InvalidRequestError

from reelforge.api.app import create_app, open_services
from reelforge.api.hot_reads import HotReadsMiddleware
from reelforge.db.models import Asset, AssetTag, Render, new_id
from reelforge.db.reads import PreparedSelect, fetch_rows
from reelforge.db.triggers import SQLITE_TRIGGERS
from reelforge.logs import configure_logging
from service import Service, with_previews

VARYING = {"x-request-id", "date", "ratelimit", "ratelimit-policy"}
"""Headers that differ from one request to the next whoever answers."""


@pytest.fixture
def reference(service: Service) -> Iterator[TestClient]:
    """The same service (same database and secrets) without the hot reads, and with caches of its
    own: every request goes to its route, and the asset list makes every representation afresh."""
    services = open_services(service.services.settings)
    app = create_app(services=services, start_worker=False)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not HotReadsMiddleware]
    with TestClient(app) as client:
        yield client
    services.engine.dispose()


def _answer(response: Any) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k not in VARYING}
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        body = response.json()
        body.pop("request_id", None)  # each request has its own
        return response.status_code, headers, body
    return response.status_code, headers, response.content


def assert_same(
    service: Service, reference: TestClient, url: str, token: str | None = None, **headers: str
) -> Any:
    """``url`` answered alike with and without the hot reads; the hot answer."""
    auth = {} if token == "" else service.headers(token)
    hot = service.client.get(url, headers={**auth, **headers})
    slow = reference.get(url, headers={**auth, **headers})
    assert _answer(hot) == _answer(slow), (url, dict(hot.headers), dict(slow.headers))
    return hot


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


def test_a_render_reads_the_same_hot_and_through_its_route(
    service: Service, reference: TestClient, assets: list[dict[str, Any]]
) -> None:
    r = service.post(
        "/v1/renders",
        json={
            "edit": {
                "timeline": {
                    "tracks": [{"clips": [{"asset": {"type": "color", "color": "#102030"}, "length": 1}]}]
                },
                "outputs": [{"resolution": "360p", "fps": 25, "quality": "draft"}],
            }
        },
    )
    assert r.status_code == 202, r.text
    queued = r.json()["id"]
    # A finished render with outputs, written as the worker writes it: its outputs are assets.
    done = new_id("rnd")
    with service.services.sessions() as db:
        workspace = db.scalar(select(Asset.workspace_id).where(Asset.id == assets[0]["id"]))
        db.add(
            Render(
                id=done,
                seq=99,
                workspace_id=workspace,
                edit={},
                state="succeeded",
                progress=100.0,
                meta={"campaign": "spring"},
                cancel_requested=False,
                outputs=[
                    {"asset_id": assets[0]["id"], "role": "video", "output": "main"},
                    {"asset_id": assets[1]["id"], "role": "poster", "output": "main"},
                ],
            )
        )
        db.commit()

    for render_id in (queued, done):
        hot = assert_same(service, reference, f"/v1/renders/{render_id}")
        assert hot.status_code == 200 and hot.json()["id"] == render_id
        etag = hot.headers["etag"]
        assert (
            assert_same(service, reference, f"/v1/renders/{render_id}", **{"If-None-Match": etag}).status_code
            == 304
        )
        assert (
            assert_same(service, reference, f"/v1/renders/{render_id}", **{"If-None-Match": "*"}).status_code
            == 304
        )
        weak = assert_same(
            service, reference, f"/v1/renders/{render_id}", **{"If-None-Match": f'"a", W/{etag}'}
        )
        assert weak.status_code == 304  # If-None-Match compares weakly (RFC 9110 13.1.2)
        assert (
            assert_same(
                service, reference, f"/v1/renders/{render_id}", **{"If-None-Match": '"x"'}
            ).status_code
            == 200
        )
    body = service.get(f"/v1/renders/{done}").json()
    assert [o["id"] for o in body["outputs"]] == [assets[0]["id"], assets[1]["id"]]
    assert body["cancel_requested"] is False and body["metadata"] == {"campaign": "spring"}

    # What the hot read passes on is answered by the route, the same way.
    assert assert_same(service, reference, "/v1/renders/rnd_nosuchrender").status_code == 404
    assert assert_same(service, reference, f"/v1/renders/{queued}", token="").status_code == 401
    assert assert_same(service, reference, f"/v1/renders/{queued}", token="rf_live_bogus").status_code == 401
    assert (
        assert_same(
            service, reference, f"/v1/renders/{queued}", token=service.new_key("assets:read")
        ).status_code
        == 403
    )
    assert (
        assert_same(
            service, reference, f"/v1/renders/{queued}", token=service.other_workspace_key()
        ).status_code
        == 404
    )
    assert (
        assert_same(
            service, reference, f"/v1/renders/{queued}", token=service.new_key("renders:read")
        ).status_code
        == 200
    )


def test_asset_pages_read_the_same_hot_and_through_their_route(
    service: Service, reference: TestClient, assets: list[dict[str, Any]]
) -> None:
    seen = []
    url: str | None = "/v1/assets?limit=2"
    while url:
        page = assert_same(service, reference, url)
        assert page.status_code == 200
        body = page.json()
        seen += [a["id"] for a in body["data"]]
        url = f"/v1/assets?limit=2&cursor={body['next_cursor']}" if body["has_more"] else None
    assert seen == [a["id"] for a in reversed(assets)]
    first = assert_same(service, reference, "/v1/assets").json()  # the default page size
    assert [a["id"] for a in first["data"]] == seen
    assert first["data"][0] == service.get(f"/v1/assets/{seen[0]}").json()

    # Parameters the hot read does not take, bad values and missing rights: the route answers.
    for query in (
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=%2B5",
        "limit=2&limit=3",
        "cursor=nonsense",
        "kind=image",
        "kind=nothing",
        "tag=red",
        "tag=hot&tag=red&limit=1",
        "name=PNG",
        "source=upload",
        "created_after=2020-01-01T00:00:00Z",
        "unknown=1",
        "limit=100",
        "limit=007",
    ):
        assert_same(service, reference, f"/v1/assets?{query}")
    assert assert_same(service, reference, "/v1/assets", token="").status_code == 401
    assert (
        assert_same(service, reference, "/v1/assets", token=service.new_key("renders:read")).status_code
        == 403
    )
    other = assert_same(service, reference, "/v1/assets", token=service.other_workspace_key())
    assert other.status_code == 200 and other.json()["data"] == []


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
            assert set(SQLITE_TRIGGERS) <= names
        else:
            names = set(
                conn.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").scalars()
            )
            assert {"assets_revision_bump", "asset_tags_revision_bump", "asset_tags_truncate_bump"} <= names


def test_a_prepared_select_gives_the_rows_sqlalchemy_gives(
    service: Service, assets: list[dict[str, Any]]
) -> None:
    from reelforge.api.routers.assets import _GET_ASSET, _LIST_AFTER, _LIST_FIRST
    from reelforge.api.routers.renders import _READ_RENDER

    r = service.post(
        "/v1/renders",
        json={
            "edit": {
                "timeline": {
                    "tracks": [{"clips": [{"asset": {"type": "color", "color": "#102030"}, "length": 1}]}]
                },
                "outputs": [{"resolution": "360p", "fps": 25}],
            }
        },
    )
    render_id = r.json()["id"]
    with service.services.sessions() as db:
        workspace = db.scalar(select(Asset.workspace_id).where(Asset.id == assets[0]["id"]))
        newest = db.scalar(select(Asset).where(Asset.id == assets[-1]["id"]))
        assert newest is not None
        after = {"after_created": newest.created_at, "after_id": newest.id}
    cases = [
        (_READ_RENDER, {"id": render_id, "workspace_id": workspace}),
        (_LIST_FIRST, {"workspace_id": workspace, "limit": 3}),
        (_LIST_AFTER, {"workspace_id": workspace, "limit": 10, **after}),
    ]
    with service.services.engine.connect() as conn:
        for prepared, params in cases:
            expected = [tuple(row) for row in conn.execute(prepared.statement, params).all()]
            assert expected, prepared.statement
            assert fetch_rows(conn, prepared, params) == expected
            assert fetch_rows(conn, prepared.statement, params) == expected
        # A flag reads as a bool, not SQLite's 0/1.
        row = fetch_rows(conn, _READ_RENDER, cases[0][1])[0]
        assert row[list(_READ_RENDER.statement.selected_columns.keys()).index("cancel_requested")] is False
        assert len(fetch_rows(conn, _LIST_AFTER, cases[2][1])) == len(assets) - 1
        if conn.dialect.name == "sqlite":  # elsewhere a PreparedSelect is plain conn.execute
            per_call_list = PreparedSelect(_GET_ASSET.where(Asset.id.in_(bindparam("ids", expanding=True))))
            with pytest.raises(ValueError, match="cannot take 'ids': an IN list"):
                per_call_list.rows(conn, {"id": "x", "workspace_id": "y", "ids": ["a"]})
            computed = PreparedSelect(
                _GET_ASSET.where(Asset.size_bytes > bindparam("n", callable_=lambda: 1))
            )
            with pytest.raises(ValueError, match="computed on each execution"):
                computed.rows(conn, {"id": "x", "workspace_id": "y"})
            with pytest.raises(InvalidRequestError, match="required for bind parameter 'workspace_id'"):
                _READ_RENDER.rows(conn, {"id": "x"})


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


def test_the_kept_read_connection_recovers_from_a_failed_read(tmp_path: Path) -> None:
    from sqlalchemy.exc import OperationalError

    from service import running_service

    with running_service(tmp_path) as svc:
        services = svc.services
        first = services.loop_read(lambda conn: conn)
        assert services.loop_read(lambda conn: conn) is first  # kept between reads
        with pytest.raises(OperationalError):
            services.loop_read(lambda conn: conn.exec_driver_sql("SELECT * FROM no_such_table"))
        assert first.closed
        # A new one takes its place, and a read that begins a transaction leaves none open.
        assert services.loop_read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar()) == 1
        second = services.loop_read(lambda conn: conn)
        assert second is not first and not second.in_transaction()

        def begin_then_fail(conn: Any) -> None:
            conn.begin()
            raise LookupError("not a database error: the connection stays")

        with pytest.raises(LookupError):
            services.loop_read(begin_then_fail)
        assert services.loop_read(lambda conn: conn) is second and not second.in_transaction()


def test_the_representation_cache_serves_only_the_current_revision_within_its_budget() -> None:
    from reelforge.api.services import RepresentationCache

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
