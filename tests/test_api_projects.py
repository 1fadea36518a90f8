"""Projects through HTTP: stored edits, revisions, If-Match, JSON Patch, asset references."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import sqlalchemy as sa

from reelforge.db.models import Asset, new_id
from service import Service

PATCH = {"Content-Type": "application/json-patch+json"}


# ---------------------------------------------------------------- helpers


def add_asset(service: Service, kind: str = "video", *, workspace_id: str | None = None, **media: Any) -> str:
    """An asset row as the assets API would store it after probing (no upload needed here)."""
    defaults: dict[str, dict[str, Any]] = {
        "video": {
            "kind": "video",
            "duration": 2.0,
            "has_video": True,
            "has_audio": True,
            "width": 320,
            "height": 180,
        },
        "audio": {"kind": "audio", "duration": 2.0, "has_video": False, "has_audio": True},
        "image": {"kind": "image", "has_video": True, "has_audio": False, "width": 320, "height": 180},
    }
    ws = workspace_id or service.get("/v1/workspace").json()["id"]
    asset_id = new_id("ast")
    with service.services.sessions() as db:
        db.add(
            Asset(
                id=asset_id,
                workspace_id=ws,
                name=f"{kind}.bin",
                kind=kind,
                content_type="application/octet-stream",
                size_bytes=1,
                sha256=hashlib.sha256(asset_id.encode()).hexdigest(),
                storage_key=asset_id,
                media={**defaults.get(kind, {}), **media},
            )
        )
        db.commit()
    return asset_id


def an_edit(first: str, second: str, title: str = "Hello") -> dict[str, Any]:
    return {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": first}, "length": 1, "name": "first"},
                        {"asset": {"type": "video", "src": second}, "length": 1, "name": "second"},
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {"type": "text", "text": title, "style": {"color": "#ffffff"}},
                            "start": 0,
                            "length": 1,
                        }
                    ]
                },
            ]
        },
        "outputs": [{"resolution": "360p", "quality": "draft"}],
    }


def create(
    service: Service, edit: dict[str, Any] | None = None, name: str = "promo", **kw: Any
) -> dict[str, Any]:
    if edit is None:
        edit = an_edit(add_asset(service), add_asset(service))
    r = service.post("/v1/projects", json={"name": name, "edit": edit, **kw})
    assert r.status_code == 201, r.text
    return dict(r.json())


def patch(service: Service, project_id: str, ops: Any, etag: str | None = '"1"', **kw: Any) -> Any:
    headers = {**PATCH, **({"If-Match": etag} if etag is not None else {}), **kw.pop("headers", {})}
    return service.client.patch(
        f"/v1/projects/{project_id}", json=ops, headers=service.headers(**headers), **kw
    )


def put(
    service: Service, project_id: str, body: dict[str, Any], etag: str | None, token: str | None = None
) -> Any:
    extra = {"If-Match": etag} if etag is not None else {}
    return service.client.put(
        f"/v1/projects/{project_id}", json=body, headers=service.headers(token, **extra)
    )


def pointers(response: Any) -> list[str]:
    return [e["pointer"] for e in response.json()["errors"]]


# ---------------------------------------------------------------- create, get, list


def test_create_get_and_conditional_get(service: Service) -> None:
    edit = an_edit(add_asset(service), add_asset(service))
    r = service.post("/v1/projects", json={"name": "Spring promo", "edit": edit, "message": "first cut"})
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["object"] == "project" and project["id"].startswith("prj_")
    assert project["revision"] == 1 and project["edit"] == edit and project["name"] == "Spring promo"
    assert project["revisions_url"] == f"/v1/projects/{project['id']}/revisions"
    assert r.headers["etag"] == '"1"' and r.headers["location"].endswith(f"/v1/projects/{project['id']}")

    r = service.get(f"/v1/projects/{project['id']}")
    assert r.status_code == 200 and r.headers["etag"] == '"1"' and r.json() == project
    assert r.headers["accept-patch"] == "application/json-patch+json"

    r = service.get(f"/v1/projects/{project['id']}", headers={"If-None-Match": '"1"'})
    assert r.status_code == 304 and r.headers["etag"] == '"1"' and r.content == b""
    r = service.get(f"/v1/projects/{project['id']}", headers={"If-None-Match": 'W/"1"'})
    assert r.status_code == 304
    r = service.get(f"/v1/projects/{project['id']}", headers={"If-None-Match": '"7", "8"'})
    assert r.status_code == 200 and r.json()["revision"] == 1

    first = service.get(f"/v1/projects/{project['id']}/revisions/1").json()
    assert first == {
        "object": "project_revision",
        "project": project["id"],
        "number": 1,
        "edit": edit,
        "message": "first cut",
        "created_at": first["created_at"],
    }
    assert service.get("/v1/projects/prj_nothing").status_code == 404


def test_list_with_name_filter_and_cursor(service: Service) -> None:
    v1, v2 = add_asset(service), add_asset(service)
    ids = [
        create(service, an_edit(v1, v2), name=name)["id"]
        for name in ("Promo A", "promo b", "Teaser", "50%_off")
    ]
    seen: list[str] = []
    url = "/v1/projects?limit=3"
    while True:
        r = service.get(url)
        body = r.json()
        assert r.status_code == 200 and body["object"] == "list"
        assert all(p["object"] == "project" and "edit" in p for p in body["data"])
        seen += [p["id"] for p in body["data"]]
        if not body["has_more"]:
            break
        assert 'rel="next"' in r.headers["link"]
        url = f"/v1/projects?limit=3&cursor={body['next_cursor']}"
    assert seen == ids[::-1]
    assert [p["name"] for p in service.get("/v1/projects?name=PROMO").json()["data"]] == [
        "promo b",
        "Promo A",
    ]
    # LIKE wildcards in the filter are literal text.
    assert [p["name"] for p in service.get("/v1/projects?name=%25_").json()["data"]] == ["50%_off"]
    first = service.get("/v1/projects?limit=1").json()["next_cursor"]
    r = service.get(f"/v1/projects?limit=1&name=promo&cursor={first}")
    assert r.status_code == 400 and r.json()["code"] == "invalid-cursor"


# ---------------------------------------------------------------- validation


def test_assets_are_referred_to_by_id_of_a_fitting_kind(service: Service) -> None:
    video, audio, image = add_asset(service), add_asset(service, "audio"), add_asset(service, "image")
    silent = add_asset(service, has_audio=False)
    font, lut = add_asset(service, "font"), add_asset(service, "lut")
    elsewhere = add_asset(service, workspace_id=_other_workspace(service))
    missing = new_id("ast")
    edit = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": video}, "length": 1, "effects": {"lut": lut}},
                        {"asset": {"type": "video", "src": missing}, "length": 1},
                        {"asset": {"type": "video", "src": "media/city.mp4"}, "length": 1},
                        {"asset": {"type": "video", "src": audio}, "length": 1},
                        {"asset": {"type": "video", "src": elsewhere}, "length": 1},
                    ]
                },
                {
                    "clips": [
                        {"asset": {"type": "image", "src": image}, "length": 1},
                        {"asset": {"type": "audio", "src": video}, "length": 1},
                        {"asset": {"type": "text", "text": "x", "style": {"font": font}}, "length": 1},
                    ]
                },
            ],
            "soundtrack": {"src": silent},
            "fonts": [font, image],
        },
        "outputs": [{"watermark": {"src": "https://example.com/logo.png"}}],
    }
    r = service.post("/v1/projects", json={"name": "refs", "edit": edit})
    assert r.status_code == 422 and r.json()["code"] == "edit-invalid"
    errors = {e["pointer"]: e for e in r.json()["errors"]}
    clips0, clips1 = "#/edit/timeline/tracks/0/clips", "#/edit/timeline/tracks/1/clips"
    assert set(errors) == {
        f"{clips0}/1/asset/src",
        f"{clips0}/2/asset/src",
        f"{clips0}/3/asset/src",
        f"{clips0}/4/asset/src",
        f"{clips1}/2/asset/style/font",
        "#/edit/timeline/soundtrack/src",
        "#/edit/timeline/fonts/1",
        "#/edit/outputs/0/watermark/src",
    }
    assert errors[f"{clips0}/1/asset/src"]["code"] == "asset_not_found"
    assert errors[f"{clips0}/4/asset/src"]["code"] == "asset_not_found"  # another workspace's: not disclosed
    assert errors[f"{clips0}/2/asset/src"]["code"] == "not_an_asset_id"
    assert "by id" in errors[f"{clips0}/2/asset/src"]["detail"]
    assert errors["#/edit/outputs/0/watermark/src"]["code"] == "not_an_asset_id"
    assert errors[f"{clips0}/3/asset/src"]["code"] == "asset_kind"
    assert "audio asset" in errors[f"{clips0}/3/asset/src"]["detail"]
    assert "no audio stream" in errors["#/edit/timeline/soundtrack/src"]["detail"]
    assert "timeline.fonts" in errors[f"{clips1}/2/asset/style/font"]["detail"]
    # Nothing was stored.
    assert service.get("/v1/projects").json()["data"] == []


def test_a_plain_path_and_an_unknown_asset_are_refused_with_their_pointer(service: Service) -> None:
    video = add_asset(service)
    r = service.post("/v1/projects", json={"name": "p", "edit": an_edit(video, "clips/b.mp4")})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "pointer": "#/edit/timeline/tracks/0/clips/1/asset/src",
            "code": "not_an_asset_id",
            "detail": r.json()["errors"][0]["detail"],
        }
    ]
    unknown = new_id("ast")
    r = service.post("/v1/projects", json={"name": "p", "edit": an_edit(unknown, video)})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "pointer": "#/edit/timeline/tracks/0/clips/0/asset/src",
            "code": "asset_not_found",
            "detail": f"no asset {unknown} in this workspace",
        }
    ]


def test_an_invalid_edit_reports_every_problem_with_its_pointer(service: Service) -> None:
    edit = an_edit(add_asset(service), add_asset(service))
    clip = edit["timeline"]["tracks"][0]["clips"][0]
    clip["opacity"] = 3
    clip["lenght"] = 2
    edit["timeline"]["tracks"][1]["clips"][0]["asset"]["style"]["color"] = "not a colour"
    edit["outputs"][0]["format"] = "avi"
    r = service.post("/v1/projects", json={"name": "bad", "edit": edit})
    assert r.status_code == 422 and r.json()["code"] == "edit-invalid"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert set(pointers(r)) == {
        "#/edit/timeline/tracks/0/clips/0/opacity",
        "#/edit/timeline/tracks/0/clips/0/lenght",
        "#/edit/timeline/tracks/1/clips/0/asset/style/color",
        "#/edit/outputs/0/format",
    }
    assert r.json()["detail"] == "4 problems in the edit"
    # NaN is accepted by Python's JSON parser but is not JSON: refused, not stored.
    r = service.post(
        "/v1/projects",
        content=b'{"name": "n", "edit": {"timeline": {"background": NaN}}}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422) and r.status_code != 500


def test_unknown_top_level_fields_are_refused(service: Service) -> None:
    edit = an_edit(add_asset(service), add_asset(service))
    r = service.post("/v1/projects", json={"name": "p", "edit": edit, "mesage": "typo"})
    assert (
        r.status_code == 422
        and {"pointer": "#/mesage", "detail": "unknown field (check its spelling)", "code": "extra_forbidden"}
        in r.json()["errors"]
    )
    r = service.post("/v1/projects", json={"name": "p"})
    assert r.status_code == 422 and pointers(r) == ["#/edit"]
    project = create(service, edit)
    r = put(service, project["id"], {"edit": edit, "nmae": "x"}, '"1"')
    assert r.status_code == 422 and pointers(r) == ["#/nmae"]
    r = service.post(
        f"/v1/projects/{project['id']}/revisions/1/restore",
        json={"massage": "x"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 422 and pointers(r) == ["#/massage"]


# ---------------------------------------------------------------- PUT and If-Match


def test_put_needs_the_current_etag(service: Service) -> None:
    v1, v2 = add_asset(service), add_asset(service)
    project = create(service, an_edit(v1, v2))
    pid = project["id"]
    changed = an_edit(v2, v1, title="Bye")

    r = put(service, pid, {"edit": changed}, None)
    assert r.status_code == 428 and r.json()["code"] == "precondition-required"
    assert r.json()["errors"][0]["header"] == "If-Match"
    r = put(service, pid, {"edit": changed}, '"7"')
    assert r.status_code == 412 and r.json()["code"] == "precondition-failed" and r.headers["etag"] == '"1"'
    r = put(service, pid, {"edit": changed}, 'W/"1"')  # weak tags never match If-Match
    assert r.status_code == 412
    r = put(service, pid, {"edit": changed}, "1")  # unquoted: say what is wrong, not just 412
    assert r.status_code == 400 and r.json()["errors"][0]["header"] == "If-Match"
    assert service.get(f"/v1/projects/{pid}").json()["revision"] == 1

    r = put(service, pid, {"edit": changed, "name": "renamed", "message": "swap"}, '"1"')
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    assert r.json()["revision"] == 2 and r.json()["edit"] == changed and r.json()["name"] == "renamed"
    r = put(service, pid, {"edit": project["edit"]}, '"1"')
    assert r.status_code == 412 and r.headers["etag"] == '"2"'
    r = put(service, pid, {"edit": project["edit"]}, '"5", "2"')
    assert r.status_code == 200 and r.headers["etag"] == '"3"' and r.json()["name"] == "renamed"
    r = put(service, pid, {"edit": changed}, "*")
    assert r.status_code == 200 and r.headers["etag"] == '"4"'

    # An invalid replacement changes nothing.
    bad = an_edit(v1, "local.mp4")
    r = put(service, pid, {"edit": bad}, '"4"')
    assert r.status_code == 422 and pointers(r) == ["#/edit/timeline/tracks/0/clips/1/asset/src"]
    current = service.get(f"/v1/projects/{pid}").json()
    assert current["revision"] == 4 and current["edit"] == changed


# ---------------------------------------------------------------- JSON Patch


def test_json_patch_moves_trims_and_restyles_clips(service: Service) -> None:
    v1, v2 = add_asset(service), add_asset(service)
    project = create(service, an_edit(v1, v2))
    pid = project["id"]
    clips = "/timeline/tracks/0/clips"

    # Move: the second clip first.
    r = patch(service, pid, [{"op": "move", "from": f"{clips}/1", "path": f"{clips}/0"}], '"1"')
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"' and r.json()["revision"] == 2
    assert [c["name"] for c in r.json()["edit"]["timeline"]["tracks"][0]["clips"]] == ["second", "first"]

    # Trim: start clip 1 half a second into its source.
    r = patch(
        service,
        pid,
        [
            {"op": "add", "path": f"{clips}/1/asset/trim", "value": 0.5},
            {"op": "replace", "path": f"{clips}/1/asset/trim", "value": 0.25},
        ],
        '"2"',
    )
    assert r.status_code == 200 and r.headers["etag"] == '"3"'
    assert r.json()["edit"]["timeline"]["tracks"][0]["clips"][1]["asset"]["trim"] == 0.25

    # Restyle the title, guarded by a test of its text.
    style = "/timeline/tracks/1/clips/0/asset"
    r = patch(
        service,
        pid,
        [
            {"op": "test", "path": f"{style}/text", "value": "Hello"},
            {"op": "replace", "path": f"{style}/style/color", "value": "#ffd700"},
        ],
        '"3"',
        params={"message": "gold title"},
    )
    assert r.status_code == 200 and r.headers["etag"] == '"4"'
    assert r.json()["edit"]["timeline"]["tracks"][1]["clips"][0]["asset"]["style"] == {"color": "#ffd700"}

    revisions = service.get(f"/v1/projects/{pid}/revisions").json()["data"]
    assert [rev["number"] for rev in revisions] == [4, 3, 2, 1]
    assert revisions[0]["message"] == "gold title"
    assert revisions[2]["message"].startswith("JSON Patch: move")
    assert service.get(f"/v1/projects/{pid}").json()["edit"] == revisions[0]["edit"]


def test_a_patch_that_cannot_apply_or_leaves_an_invalid_edit_changes_nothing(service: Service) -> None:
    v1, v2 = add_asset(service), add_asset(service)
    pid = create(service, an_edit(v1, v2))["id"]
    clips = "/timeline/tracks/0/clips"

    r = patch(
        service,
        pid,
        [
            {"op": "replace", "path": f"{clips}/0/length", "value": 2},
            {"op": "test", "path": "/timeline/tracks/1/clips/0/asset/text", "value": "Bye"},
        ],
    )
    assert r.status_code == 422 and r.json()["code"] == "validation-error"
    assert pointers(r) == ["#/1"] and r.json()["errors"][0]["code"] == "patch_test_failed"
    r = patch(
        service,
        pid,
        [
            {"op": "remove", "path": f"{clips}/0/length"},
            {"op": "replace", "path": f"{clips}/9/length", "value": 2},
            {"op": "remove", "path": "/nothing"},
        ],
    )
    assert (
        r.status_code == 422 and pointers(r) == ["#/1"] and r.json()["errors"][0]["code"] == "patch_conflict"
    )
    assert "{" not in r.json()["errors"][0]["detail"]  # the document is not echoed
    r = patch(
        service,
        pid,
        [{"op": "replace", "path": f"{clips}/0/length", "value": 1}, {"op": "frobnicate", "path": "/x"}],
    )
    assert r.status_code == 422 and pointers(r) == ["#/1"]
    assert r.json()["errors"][0]["code"] == "patch_invalid_operation"
    r = patch(service, pid, [{"op": "move", "from": 3, "path": "/x"}])
    assert r.status_code == 422 and pointers(r) == ["#/0"]

    # Applies, but the edit is then invalid: pointers into the edit.
    r = patch(
        service,
        pid,
        [
            {"op": "add", "path": f"{clips}/0/opacity", "value": 2},
            {"op": "replace", "path": f"{clips}/1/asset/src", "value": new_id("ast")},
        ],
    )
    assert r.status_code == 422 and r.json()["code"] == "edit-invalid"
    assert pointers(r) == [f"#{clips}/0/opacity", f"#{clips}/1/asset/src"]
    r = patch(service, pid, [{"op": "replace", "path": "", "value": []}])
    assert r.status_code == 422 and r.json()["code"] == "edit-invalid"

    # The request itself.
    r = service.client.patch(f"/v1/projects/{pid}", json=[], headers=service.headers(**{"If-Match": '"1"'}))
    assert r.status_code == 415 and r.headers["accept-patch"] == "application/json-patch+json"
    r = patch(service, pid, [])
    assert r.status_code == 422 and pointers(r) == ["#"]
    r = patch(service, pid, {"op": "remove", "path": "/name"})
    assert r.status_code == 422 and pointers(r) == ["#"]
    r = patch(service, pid, [{"op": "remove", "path": "/name"}, "remove"])
    assert r.status_code == 422 and pointers(r) == ["#/1"]
    r = service.client.patch(
        f"/v1/projects/{pid}", content=b"[{nope", headers=service.headers(**PATCH, **{"If-Match": '"1"'})
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid-json"
    r = service.client.patch(
        f"/v1/projects/{pid}",
        content=b"x" * (1024 * 1024 + 1),
        headers=service.headers(**PATCH, **{"If-Match": '"1"'}),
    )
    assert r.status_code == 413
    r = patch(service, pid, [{"op": "remove", "path": f"{clips}/0/name"}], etag=None)
    assert r.status_code == 428
    r = patch(service, pid, [{"op": "remove", "path": f"{clips}/0/name"}], etag='"9"')
    assert r.status_code == 412 and r.headers["etag"] == '"1"'
    r = patch(service, "prj_missing", [{"op": "remove", "path": "/name"}])
    assert r.status_code == 404

    current = service.get(f"/v1/projects/{pid}").json()
    assert current["revision"] == 1 and current["edit"] == an_edit(v1, v2)
    assert [rev["number"] for rev in service.get(f"/v1/projects/{pid}/revisions").json()["data"]] == [1]


def test_concurrent_writers_with_the_same_etag_one_wins(service: Service) -> None:
    """Both requests read revision 1 and pass the If-Match check while another connection holds
    the row (PostgreSQL) or the write lock (SQLite); once it lets go, only the atomic
    UPDATE … WHERE revision = 1 decides, and exactly one of them may win."""
    v1, v2 = add_asset(service), add_asset(service)
    pid = create(service, an_edit(v1, v2))["id"]
    results: list[int] = []

    def writer(color: str) -> None:
        ops = [{"op": "replace", "path": "/timeline/tracks/1/clips/0/asset/style/color", "value": color}]
        results.append(patch(service, pid, ops, '"1"').status_code)

    with service.services.engine.connect() as blocker:
        blocker.execute(sa.text("UPDATE projects SET name = name WHERE id = :id"), {"id": pid})
        threads = [threading.Thread(target=writer, args=(c,)) for c in ("#ff0000", "#00ff00")]
        for t in threads:
            t.start()
        time.sleep(0.5)  # let both reach their UPDATE (if one is late it gets 412 from the read instead)
        assert results == []  # both wait for the lock: neither has answered
        blocker.commit()
    for t in threads:
        t.join(30)
    assert sorted(results) == [200, 412]
    project = service.get(f"/v1/projects/{pid}").json()
    assert project["revision"] == 2
    assert [r["number"] for r in service.get(f"/v1/projects/{pid}/revisions").json()["data"]] == [2, 1]

    # And without a lock held, racing rounds still never produce two winners.
    for round_ in range(3):
        etag = f'"{2 + round_}"'
        results.clear()
        barrier = threading.Barrier(2)

        def racer(color: str, etag: str = etag, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            ops = [{"op": "replace", "path": "/timeline/tracks/1/clips/0/asset/style/color", "value": color}]
            results.append(patch(service, pid, ops, etag).status_code)

        threads = [threading.Thread(target=racer, args=(c,)) for c in ("#111111", "#222222")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == [200, 412]
    assert service.get(f"/v1/projects/{pid}").json()["revision"] == 5


# ---------------------------------------------------------------- revisions


def test_revisions_list_get_and_restore(service: Service) -> None:
    v1, v2 = add_asset(service), add_asset(service)
    original = an_edit(v1, v2)
    pid = create(service, original, message="v1")["id"]
    for n, title in enumerate(("Two", "Three"), start=1):
        r = put(service, pid, {"edit": an_edit(v1, v2, title=title), "message": title}, f'"{n}"')
        assert r.status_code == 200

    page1 = service.get(f"/v1/projects/{pid}/revisions?limit=2")
    assert [r["number"] for r in page1.json()["data"]] == [3, 2] and page1.json()["has_more"]
    assert 'rel="next"' in page1.headers["link"]
    page2 = service.get(f"/v1/projects/{pid}/revisions?limit=2&cursor={page1.json()['next_cursor']}").json()
    assert [r["number"] for r in page2["data"]] == [1] and not page2["has_more"]
    assert all(r["object"] == "project_revision" and r["project"] == pid for r in page1.json()["data"])
    # A cursor of one list is no good for another.
    r = service.get(f"/v1/projects?cursor={page1.json()['next_cursor']}")
    assert r.status_code == 400 and r.json()["code"] == "invalid-cursor"

    assert service.get(f"/v1/projects/{pid}/revisions/2").json()["message"] == "Two"
    assert service.get(f"/v1/projects/{pid}/revisions/9").status_code == 404
    r = service.get(f"/v1/projects/{pid}/revisions/two")
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "number"

    restore = f"/v1/projects/{pid}/revisions/1/restore"
    assert service.post(restore).status_code == 428
    r = service.post(restore, headers={"If-Match": '"2"'})
    assert r.status_code == 412 and r.headers["etag"] == '"3"'
    r = service.post(restore, headers={"If-Match": '"3"'})
    assert r.status_code == 200 and r.headers["etag"] == '"4"'
    assert r.json()["revision"] == 4 and r.json()["edit"] == original
    assert service.get(f"/v1/projects/{pid}/revisions/4").json()["message"] == "restored revision 1"
    r = service.post(
        f"/v1/projects/{pid}/revisions/3/restore",
        json={"message": "back to Three"},
        headers={"If-Match": '"4"'},
    )
    assert (
        r.status_code == 200
        and r.json()["edit"]["timeline"]["tracks"][1]["clips"][0]["asset"]["text"] == "Three"
    )
    assert (
        service.post(f"/v1/projects/{pid}/revisions/42/restore", headers={"If-Match": '"5"'}).status_code
        == 404
    )

    # A revision naming an asset that is gone cannot become current again.
    with service.services.sessions() as db:
        db.execute(sa.delete(Asset).where(Asset.id == v1))
        db.commit()
    r = service.post(f"/v1/projects/{pid}/revisions/1/restore", headers={"If-Match": '"5"'})
    assert r.status_code == 422 and pointers(r) == ["#/timeline/tracks/0/clips/0/asset/src"]
    assert service.get(f"/v1/projects/{pid}").json()["revision"] == 5


# ---------------------------------------------------------------- delete, workspaces, scopes


def test_delete_with_optional_if_match(service: Service) -> None:
    first, second = create(service)["id"], create(service)["id"]
    delete = service.client.delete
    r = delete(f"/v1/projects/{first}", headers=service.headers(**{"If-Match": '"2"'}))
    assert r.status_code == 412 and r.headers["etag"] == '"1"'
    r = delete(f"/v1/projects/{first}", headers=service.headers(**{"If-Match": '"1"'}))
    assert r.status_code == 204 and r.content == b""
    assert service.get(f"/v1/projects/{first}").status_code == 404
    assert service.get(f"/v1/projects/{first}/revisions").status_code == 404
    assert delete(f"/v1/projects/{first}", headers=service.headers()).status_code == 404
    assert delete(f"/v1/projects/{second}", headers=service.headers()).status_code == 204
    with service.services.sessions() as db:  # revisions went with their projects
        assert db.scalar(sa.text("SELECT count(*) FROM project_revisions")) == 0


def _other_workspace(service: Service) -> str:
    token = service.other_workspace_key()
    return str(service.get("/v1/workspace", token=token).json()["id"])


def test_another_workspace_sees_nothing(service: Service) -> None:
    project = create(service)
    pid = project["id"]
    other = service.other_workspace_key()
    assert service.get(f"/v1/projects/{pid}", token=other).status_code == 404
    assert service.get(f"/v1/projects/{pid}/revisions", token=other).status_code == 404
    assert service.get(f"/v1/projects/{pid}/revisions/1", token=other).status_code == 404
    assert put(service, pid, {"edit": project["edit"]}, '"1"', token=other).status_code == 404
    r = service.client.patch(
        f"/v1/projects/{pid}",
        json=[{"op": "remove", "path": "/name"}],
        headers=service.headers(other, **PATCH, **{"If-Match": '"1"'}),
    )
    assert r.status_code == 404
    assert (
        service.post(
            f"/v1/projects/{pid}/revisions/1/restore", token=other, headers={"If-Match": '"1"'}
        ).status_code
        == 404
    )
    assert service.client.delete(f"/v1/projects/{pid}", headers=service.headers(other)).status_code == 404
    assert service.get("/v1/projects", token=other).json()["data"] == []
    # Nor can it use this workspace's assets in its own project.
    r = service.post("/v1/projects", token=other, json={"name": "theft", "edit": project["edit"]})
    assert r.status_code == 422 and {e["code"] for e in r.json()["errors"]} == {"asset_not_found"}
    assert service.get(f"/v1/projects/{pid}").json()["revision"] == 1


def test_scopes(service: Service) -> None:
    project = create(service)
    reader = service.new_key("projects:read")
    assert service.get(f"/v1/projects/{project['id']}", token=reader).status_code == 200
    r = put(service, project["id"], {"edit": project["edit"]}, '"1"', token=reader)
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"
    writer = service.new_key("projects:write")
    assert service.get("/v1/projects", token=writer).status_code == 403
    assert put(service, project["id"], {"edit": project["edit"]}, '"1"', token=writer).status_code == 200
    assert service.client.get("/v1/projects").status_code == 401
