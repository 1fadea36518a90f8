"""Batches through HTTP: a template filled from JSON or CSV rows, in several locales and aspect
ratios, rendered for real; rejected rows, all-or-nothing, duplicates, cancelling, filtering,
events and workspace isolation. SQLite and PostgreSQL; FFmpeg on tiny 320x180 media.

``scripts/record_examples.py batches`` records the OpenAPI examples of the batch operations
again from a real service, with this module's helpers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reelforge.db.events import Event
from reelforge.ffmpeg.probe import probe
from service import Service, holding_renders

TERMINAL = ("succeeded", "failed", "cancelled")

# A product card: the clip (an asset variable) for `seconds`, under the localisable title and
# the price. Tiny outputs at draft quality keep every render well under a second.
TEMPLATE: dict[str, Any] = {
    "name": "product card",
    "edit": {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {
                            "asset": {"type": "video", "src": "{{clip}}"},
                            "length": "{{seconds}}",
                            "fit": "cover",
                        }
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{title}} {{price}} EUR",
                                "style": {"size": 0.1},
                            },
                            "length": "{{seconds}}",
                        }
                    ]
                },
            ]
        },
        "outputs": [{"width": 160, "height": 90, "quality": "draft", "fps": 25}],
    },
    "variables": [
        {
            "name": "title",
            "type": "text",
            "required": True,
            "localizable": True,
            "validation": {"max_length": 40},
        },
        {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
        {"name": "clip", "type": "asset", "required": True, "kinds": ["video"]},
        {"name": "seconds", "type": "duration", "default": 0.6, "validation": {"min": 0.2, "max": 1}},
    ],
    "locales": ["en", "fr"],
    "default_locale": "en",
}
OUTPUTS = [
    {"aspect_ratio": "16:9", "height": 90, "quality": "draft", "fps": 25},
    {"aspect_ratio": "9:16", "width": 90, "quality": "draft", "fps": 25},
]


# ------------------------------------------------------------------ helpers


def add_asset(svc: Service, path: Path, token: str | None = None) -> str:
    r = svc.post("/v1/assets", token=token, files={"file": (path.name, path.read_bytes())})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


def make_template(svc: Service, clip: str | None = None, token: str | None = None, **changes: Any) -> str:
    body = json.loads(json.dumps({**TEMPLATE, **changes}))
    r = svc.post("/v1/templates", token=token, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def create_batch(
    svc: Service, body: dict[str, Any], status: int = 202, token: str | None = None
) -> dict[str, Any]:
    r = svc.post("/v1/batches", token=token, json=body)
    assert r.status_code == status, r.text
    if status == 202:
        assert r.headers["location"].endswith(f"/v1/batches/{r.json()['id']}")
    return dict(r.json())


def wait_batch(svc: Service, batch_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = svc.get(f"/v1/batches/{batch_id}").json()
        if body["finished_at"] is not None:
            return dict(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def batch_renders(svc: Service, batch_id: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 100, **params}
    while True:
        r = svc.get(f"/v1/batches/{batch_id}/renders", params=query)
        assert r.status_code == 200, r.text
        found += r.json()["data"]
        if not r.json()["has_more"]:
            return found
        query["cursor"] = r.json()["next_cursor"]


def events_of(svc: Service, resource_id: str) -> list[str]:
    with svc.services.sessions() as db:
        return list(
            db.scalars(select(Event.type).where(Event.resource_id == resource_id).order_by(Event.seq))
        )


def download(svc: Service, asset_id: str, to: Path) -> Path:
    r = svc.get(f"/v1/assets/{asset_id}/content")
    assert r.status_code == 200
    to.write_bytes(r.content)
    return to


# ------------------------------------------------------------------ rendering for real


@pytest.mark.slow
def test_csv_batch_rows_locales_and_aspect_ratios(rendering: Service, media: Any, tmp_path: Path) -> None:
    """3 valid CSV rows x 2 locales x 2 aspect ratios: 6 renders of 2 outputs each, every output
    probed (size per aspect ratio, duration per row); line 4 is bad and reported, the rest run."""
    svc = rendering
    clip = add_asset(svc, media.video(duration=1))
    template = make_template(svc)
    csv_text = (
        "title@en,title@fr,price,clip,seconds\n"
        f"Mug,Tasse,9.5,{clip},0.4\n"
        f"Lamp,Lampe,24,{clip},0.6\n"
        f"Broken,Cassé,cheap,{clip},0.5\n"
        f'"Chair, oak","Chaise, chêne",120,{clip},0.8\n'
    )
    batch = create_batch(
        svc,
        {
            "template_id": template,
            "rows_csv": csv_text,
            "locales": ["en", "fr"],
            "outputs": OUTPUTS,
            "tags": ["spring-sale"],
            "metadata": {"campaign": "spring"},
        },
    )
    assert batch["object"] == "batch" and batch["state"] == "running"
    assert batch["rows"] == {"source": "csv", "total": 4, "rejected": 1}
    assert batch["items"] == 6 and batch["renders"] == 6 and batch["duplicates"] == []
    # the bad line, once per locale, with its line number, column and pointer
    assert [(r["row"], r["locale"]) for r in batch["rejected"]] == [(4, "en"), (4, "fr")]
    for rejected in batch["rejected"]:
        [error] = rejected["errors"]
        assert error["pointer"] == "#/rows_csv/4/price" and error["line"] == 4 and error["column"] == "price"
        assert "number" in error["detail"]

    done = wait_batch(svc, batch["id"])
    assert done["state"] == "succeeded", done
    assert done["counts"] == {"queued": 0, "running": 0, "succeeded": 6, "failed": 0, "cancelled": 0}
    assert done["progress"] == 100.0 and done["finished_at"] is not None
    renders = batch_renders(svc, batch["id"])
    assert len(renders) == 6
    seconds = {2: 0.4, 3: 0.6, 5: 0.8}
    seen = set()
    for render in renders:
        [item] = render["metadata"]["batch"]["items"]
        assert render["metadata"]["batch"]["id"] == batch["id"]
        assert render["metadata"]["batch"]["tags"] == ["spring-sale"]
        assert render["template"] == {"id": template, "version": 1, "locale": item["locale"]}
        seen.add((item["row"], item["locale"]))
        videos = [o for o in render["outputs"] if o["role"] == "output"]
        assert len(videos) == 2, render
        sizes = set()
        for output in videos:
            assert "spring-sale" in output["tags"]  # campaign tags on every output asset
            info = probe(download(svc, output["id"], tmp_path / f"{output['id']}.mp4"))
            sizes.add((info.width, info.height))
            assert info.duration is not None
            assert abs(float(info.duration) - seconds[item["row"]]) < 0.1, (item, info.duration)
        assert sizes == {(160, 90), (90, 160)}
    assert seen == {(row, locale) for row in (2, 3, 5) for locale in ("en", "fr")}
    # the locale picked the title: the merged edits differ only there
    with svc.services.sessions() as db:
        from reelforge.db.models import Render

        texts = {
            (r["metadata"]["batch"]["items"][0]["row"], r["metadata"]["batch"]["items"][0]["locale"]): db.get(
                Render, r["id"]
            ).edit["timeline"]["tracks"][1]["clips"][0]["asset"]["text"]  # type: ignore
            for r in renders
        }
    assert texts[(2, "en")] == "Mug 9.5 EUR" and texts[(2, "fr")] == "Tasse 9.5 EUR"
    assert texts[(5, "fr")] == "Chaise, chêne 120 EUR"
    assert events_of(svc, batch["id"]) == ["batch.created", "batch.completed"]
    tagged = svc.get("/v1/assets", params={"tag": "spring-sale", "limit": 100}).json()["data"]
    assert len([a for a in tagged if a["kind"] == "video"]) == 12


def test_identical_rows_are_rendered_once(rendering: Service, media: Any) -> None:
    """Duplicate rows and locales that change nothing share one render, which runs once; the
    batch says which row x locale shares which render; batch.completed comes from the worker."""
    svc = rendering
    clip = add_asset(svc, media.video(duration=1))
    template = make_template(
        svc,
        variables=[{**v, "localizable": False} if v["name"] == "title" else v for v in TEMPLATE["variables"]],
    )
    row = {"title": "Mug", "price": 9.5, "clip": clip, "seconds": 0.3}
    batch = create_batch(
        svc,
        {
            "template_id": template,
            "rows": [row, {"title": "Lamp", "price": 3, "clip": clip, "seconds": 0.3}, dict(row)],
            "locales": ["en", "fr"],
            "outputs": OUTPUTS[:1],
        },
    )
    assert batch["items"] == 6 and batch["renders"] == 2
    shared = {(d["row"], d["locale"]): d["same_as"] for d in batch["duplicates"]}
    assert shared == {
        (0, "fr"): {"row": 0, "locale": "en"},
        (1, "fr"): {"row": 1, "locale": "en"},
        (2, "en"): {"row": 0, "locale": "en"},
        (2, "fr"): {"row": 0, "locale": "en"},
    }
    with svc.services.sessions() as db:
        from reelforge.db.models import Render

        assert db.query(Render).count() == 2
    done = wait_batch(svc, batch["id"])
    assert done["state"] == "succeeded" and done["counts"]["succeeded"] == 2
    # row 2 finds the render of row 0, which lists every row x locale it makes
    [render] = batch_renders(svc, batch["id"], row=2, locale="fr")
    assert {(i["row"], i["locale"]) for i in render["metadata"]["batch"]["items"]} == {
        (0, "en"),
        (0, "fr"),
        (2, "en"),
        (2, "fr"),
    }
    assert events_of(svc, batch["id"]) == ["batch.created", "batch.completed"]
    with svc.services.sessions() as db:
        event = db.scalars(select(Event).where(Event.type == "batch.completed")).one()
        assert event.data["state"] == "succeeded" and event.data["counts"]["succeeded"] == 2


# ------------------------------------------------------------------ validation


def test_bad_json_rows_are_reported_and_the_rest_queued(service: Service, media: Any) -> None:
    svc = service
    clip = add_asset(svc, media.video(duration=1))
    image = add_asset(svc, media.image())
    template = make_template(svc)
    rows = [
        {"title": "Mug", "price": 9.5, "clip": clip},
        {"title": "Lamp", "price": "cheap", "clip": clip},  # wrong type
        {"price": 3, "clip": clip},  # missing required
        {"title": "Desk", "price": 3, "clip": clip, "colour": "red"},  # unknown variable
        {"title": "Pen", "price": 1, "clip": image},  # an image where a video goes
        "not an object",
    ]
    batch = create_batch(svc, {"template_id": template, "rows": rows, "outputs": OUTPUTS})
    assert batch["rows"] == {"source": "json", "total": 6, "rejected": 5}
    assert batch["items"] == 1 and batch["renders"] == 1 and batch["counts"]["queued"] == 1
    by_row = {r["row"]: r for r in batch["rejected"]}
    assert all(r["locale"] is None for r in batch["rejected"])
    assert [(e["pointer"], e["code"]) for e in by_row[1]["errors"]] == [("#/rows/1/price", "wrong_type")]
    assert [(e["pointer"], e["code"]) for e in by_row[2]["errors"]] == [("#/rows/2/title", "missing")]
    assert [e["pointer"] for e in by_row[3]["errors"]] == ["#/rows/3/colour"]
    assert "unknown variable" in by_row[3]["errors"][0]["detail"]
    assert [(e["pointer"], e["code"]) for e in by_row[4]["errors"]] == [("#/rows/4/clip", "asset_kind")]
    assert [e["pointer"] for e in by_row[5]["errors"]] == ["#/rows/5"]
    # GET shows the same
    assert svc.get(f"/v1/batches/{batch['id']}").json()["rejected"] == batch["rejected"]


def test_all_or_nothing_refuses_and_creates_nothing(service: Service, media: Any) -> None:
    svc = service
    clip = add_asset(svc, media.video(duration=1))
    template = make_template(svc)
    csv_text = f"title,price,clip\nMug,9.5,{clip}\nLamp,-2,{clip}\nDesk,3,{clip},extra\n"
    r = svc.post(
        "/v1/batches",
        json={"template_id": template, "rows_csv": csv_text, "locales": ["en", "fr"], "all_or_nothing": True},
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "validation-error" and "all_or_nothing" in problem["detail"]
    located = {(e["row"], e["locale"], e["pointer"], e.get("column")) for e in problem["errors"]}
    assert located == {
        (3, "en", "#/rows_csv/3/price", "price"),
        (3, "fr", "#/rows_csv/3/price", "price"),
        (4, "en", "#/rows_csv/4", None),
        (4, "fr", "#/rows_csv/4", None),
    }
    assert [(r["row"], r["locale"]) for r in problem["rejected"]] == [
        (3, "en"),
        (3, "fr"),
        (4, "en"),
        (4, "fr"),
    ]
    assert svc.get("/v1/batches").json()["data"] == []
    assert svc.get("/v1/renders").json()["data"] == []
    # and when no row is valid, nothing is created either (without all_or_nothing)
    r = svc.post("/v1/batches", json={"template_id": template, "rows": [{"title": "x"}]})
    assert r.status_code == 422 and "no row is valid" in r.json()["detail"]
    assert r.json()["errors"][0]["pointer"] in ("#/rows/0/price", "#/rows/0/clip")


def test_request_problems(service: Service, media: Any) -> None:
    svc = service
    clip = add_asset(svc, media.video(duration=1))
    template = make_template(svc)
    row = {"title": "Mug", "price": 1, "clip": clip}

    def problem(body: dict[str, Any], status: int = 422) -> dict[str, Any]:
        r = svc.post("/v1/batches", json=body)
        assert r.status_code == status, r.text
        return dict(r.json())

    p = problem(
        {"template_id": template, "rows": [row], "outputs": [{"aspect_ratio": "wide"}, {"format": "avi"}]}
    )
    assert {e["pointer"] for e in p["errors"]} == {"#/outputs/0/aspect_ratio", "#/outputs/1/format"}
    p = problem({"template_id": template, "rows": [row], "rows_csv": "title\nx\n"})
    assert p["errors"][0]["code"] == "one_of"
    p = problem({"template_id": template})
    assert p["errors"][0]["code"] == "one_of"
    p = problem({"template_id": template, "rows": [row], "locales": ["en", "de"]})
    assert p["errors"] == [{"pointer": "#/locales/1", "detail": p["detail"], "code": "unknown_locale"}]
    p = problem({"template_id": template, "rows": [row], "locales": ["en", "en"]})
    assert p["errors"][0]["pointer"] == "#/locales"
    p = problem({"template_id": template, "rows": [row], "colour": "red"})
    assert p["errors"][0] == {
        "pointer": "#/colour",
        "detail": "unknown field (check its spelling)",
        "code": "extra_forbidden",
    }
    p = problem({"template_id": template, "rows_csv": "title,title\nx,y\n"})
    assert p["errors"][0]["code"] == "duplicate_column" and p["errors"][0]["pointer"] == "#/rows_csv/1"
    p = problem({"template_id": template, "rows_csv": "title,price,clip\n"})
    assert "no rows" in p["detail"]
    p = problem({"template_id": "tpl_01jdzzzzzzzzzzzzzzzzzzzzzz", "rows": [row]}, 404)
    assert p["errors"][0]["pointer"] == "#/template_id"
    p = problem({"template_id": template, "version": 7, "rows": [row]}, 404)
    assert p["errors"][0]["pointer"] == "#/version"
    # scopes beyond batches:write
    for missing in ("templates:read", "renders:write"):
        scopes = {"batches:write", "templates:read", "renders:write"} - {missing}
        r = svc.post("/v1/batches", token=svc.new_key(*scopes), json={"template_id": template, "rows": [row]})
        assert r.status_code == 403 and r.json()["required_scope"] == missing


def test_multipart_csv_upload_and_list_items(service: Service, media: Any) -> None:
    """An uploaded CSV file: list variables from indexed columns or a JSON cell, typed cells."""
    svc = service
    clip = add_asset(svc, media.video(duration=1))
    template = make_template(
        svc,
        edit={
            "timeline": {
                "tracks": [
                    {
                        "clips": [
                            {
                                "group": [
                                    {
                                        "asset": {"type": "text", "text": "{{item.name}} {{item.price}}"},
                                        "length": 0.3,
                                    },
                                    {
                                        "asset": {"type": "video", "src": "{{clip}}"},
                                        "length": 0.3,
                                        "if": "item.highlight",
                                    },
                                ],
                                "repeat": {"for": "products", "as": "item"},
                            }
                        ]
                    }
                ]
            },
            "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
        },
        variables=[
            {"name": "clip", "type": "asset", "required": True},
            {
                "name": "products",
                "type": "list",
                "fields": [
                    {"name": "name", "type": "text", "required": True},
                    {"name": "price", "type": "number"},
                    {"name": "highlight", "type": "boolean", "default": False},
                ],
            },
        ],
        locales=[],
        default_locale=None,
    )
    csv_text = (
        "clip,products.0.name,products.0.price,products[1].name,products[1].highlight,products.2.name\n"
        f"{clip},Mug,9.5,Lamp,yes,\n"
        f"{clip},Desk,x,,,\n"
    )
    r = svc.post(
        "/v1/batches",
        files={"rows_csv": ("feed.csv", csv_text.encode(), "text/csv")},
        data={"batch": json.dumps({"template_id": template})},
    )
    assert r.status_code == 202, r.text
    batch = r.json()
    assert batch["rows"] == {"source": "csv", "total": 2, "rejected": 1}
    [rejected] = batch["rejected"]
    assert rejected["row"] == 3 and rejected["errors"][0]["column"] == "products.0.price"
    assert rejected["errors"][0]["pointer"] == "#/rows_csv/3/products/0/price"
    [render] = batch_renders(svc, batch["id"])
    with svc.services.sessions() as db:
        from reelforge.db.models import Render

        edit = db.get(Render, render["id"]).edit  # type: ignore[union-attr]
    clips = edit["timeline"]["tracks"][0]["clips"]
    # Mug (no highlight: its video left out), then Lamp with its video
    assert [c["asset"].get("text") or c["asset"]["type"] for c in clips] == ["Mug 9.5", "Lamp ", "video"]

    # a JSON cell for the list works too
    cell = json.dumps([{"name": "Pen", "price": 2}]).replace('"', '""')
    r = svc.post(
        "/v1/batches",
        files={"rows_csv": ("feed.csv", f'clip,products\n{clip},"{cell}"\n'.encode(), "text/csv")},
        data={"batch": json.dumps({"template_id": template})},
    )
    assert r.status_code == 202 and r.json()["rejected"] == [], r.text
    # not a CSV, no batch part, unknown parts
    r = svc.post(
        "/v1/batches",
        files={"rows_csv": ("x.png", media.image().read_bytes(), "image/png")},
        data={"batch": json.dumps({"template_id": template})},
    )
    assert r.status_code == 415 and r.json()["code"] == "unsupported-media-type"
    r = svc.post("/v1/batches", files={"rows_csv": ("feed.csv", b"clip\n", "text/csv")})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/batch"
    r = svc.post(
        "/v1/batches",
        files={"rows_csv": ("feed.csv", b"clip\n", "text/csv")},
        data={"batch": json.dumps({"template_id": template, "rows_cvs": 1})},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/batch/rows_cvs"


# ------------------------------------------------------------------ following, filtering, cancelling


def test_list_filter_and_cancel(service: Service, media: Any) -> None:
    svc = service
    clip = add_asset(svc, media.video(duration=1))
    template = make_template(svc)
    rows = [
        {"title": {"$locales": {"en": f"Item {i}", "fr": f"Article {i}"}}, "price": i, "clip": clip}
        for i in range(3)
    ]
    first = create_batch(svc, {"template_id": template, "rows": rows[:1], "outputs": OUTPUTS[:1]})
    batch = create_batch(
        svc, {"template_id": template, "rows": rows, "locales": ["en", "fr"], "outputs": OUTPUTS}
    )
    assert batch["renders"] == 6 and batch["counts"]["queued"] == 6 and batch["progress"] == 0.0

    # listing batches, newest first, with a cursor
    page1 = svc.get("/v1/batches", params={"limit": 1}).json()
    assert [b["id"] for b in page1["data"]] == [batch["id"]] and page1["has_more"]
    page2 = svc.get("/v1/batches", params={"limit": 1, "cursor": page1["next_cursor"]}).json()
    assert [b["id"] for b in page2["data"]] == [first["id"]] and not page2["has_more"]
    assert svc.get("/v1/batches", params={"template_id": "tpl_other"}).json()["data"] == []

    # renders by row and locale
    assert len(batch_renders(svc, batch["id"])) == 6
    [one] = batch_renders(svc, batch["id"], row=1, locale="fr")
    assert (
        one["metadata"]["batch"]["items"] == [{"row": 1, "locale": "fr"}]
        and one["template"]["locale"] == "fr"
    )
    assert len(batch_renders(svc, batch["id"], locale="en")) == 3
    assert len(batch_renders(svc, batch["id"], row=2)) == 2
    assert batch_renders(svc, batch["id"], row=9) == []
    assert len(batch_renders(svc, batch["id"], state="queued")) == 6
    assert batch_renders(svc, batch["id"], state="running") == []
    pages = svc.get(f"/v1/batches/{batch['id']}/renders", params={"limit": 4}).json()
    assert len(pages["data"]) == 4 and pages["has_more"]

    # cancel: every queued render at once; the batch is cancelled and complete
    r = svc.post(f"/v1/batches/{batch['id']}/cancel")
    assert r.status_code == 202, r.text
    cancelled = r.json()
    assert cancelled["state"] == "cancelled" and cancelled["cancel_requested"]
    assert cancelled["counts"]["cancelled"] == 6 and cancelled["finished_at"] is not None
    assert all(r["state"] == "cancelled" for r in batch_renders(svc, batch["id"]))
    assert events_of(svc, batch["id"]) == ["batch.created", "batch.cancelled", "batch.completed"]
    r = svc.post(f"/v1/batches/{batch['id']}/cancel")
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    # the other batch is untouched, and a render cancelled by itself completes its batch too
    [alone] = batch_renders(svc, first["id"])
    assert svc.post(f"/v1/renders/{alone['id']}/cancel").status_code == 200
    finished = svc.get(f"/v1/batches/{first['id']}").json()
    assert finished["state"] == "cancelled" and finished["finished_at"] is not None
    assert events_of(svc, first["id"]) == ["batch.created", "batch.completed"]


def test_cancel_stops_the_running_render(rendering: Service) -> None:
    """The running render is asked to stop (its worker ends FFmpeg), the queued one is dropped at
    once; the batch completes from the worker's final transition, with one batch.completed."""
    svc = rendering
    template = make_template(
        svc,
        edit={
            "timeline": {
                "tracks": [{"clips": [{"asset": {"type": "color", "color": "{{colour}}"}, "length": 1}]}]
            },
            "outputs": [{"width": 160, "height": 90, "quality": "draft", "audio": False}],
        },
        variables=[{"name": "colour", "type": "color", "required": True}],
        locales=[],
        default_locale=None,
    )
    with holding_renders(svc) as gate:
        rows = [{"colour": "red"}, {"colour": "blue"}]
        batch = create_batch(svc, {"template_id": template, "rows": rows})
        gate.next()  # the first render is held in `rendering`; the second waits in the queue
        assert svc.get(f"/v1/batches/{batch['id']}").json()["counts"]["running"] == 1
        r = svc.post(f"/v1/batches/{batch['id']}/cancel")
        assert r.status_code == 202
        assert (
            r.json()["state"] == "running"
            and r.json()["counts"]["cancelled"] == 1
            and r.json()["finished_at"] is None
        )
        again = svc.post(f"/v1/batches/{batch['id']}/cancel")  # asked twice: no second event
        assert again.status_code == 202 and again.json()["cancel_requested"]
    done = wait_batch(svc, batch["id"], timeout=60)
    assert done["state"] == "cancelled" and done["counts"]["cancelled"] == 2
    assert all(r["state"] == "cancelled" and r["cancel_requested"] for r in batch_renders(svc, batch["id"]))
    assert events_of(svc, batch["id"]) == ["batch.created", "batch.cancelled", "batch.completed"]


def test_a_row_whose_render_fails_leaves_the_batch_partially_failed(rendering: Service, media: Any) -> None:
    """One source is corrupt after upload: its render fails, the other succeeds; the batch ends
    `partially_failed` with counts to match and exactly one `batch.completed`."""
    from reelforge.db.models import Asset

    svc = rendering
    good = add_asset(svc, media.video(duration=1))
    bad = add_asset(svc, media.video(duration=1, color="red"))
    with svc.services.sessions() as db:
        asset = db.get(Asset, bad)
        assert asset is not None
        key = asset.storage_key
    svc.services.storage.local_path(key).write_bytes(b"not a video any more" * 10)
    template = make_template(svc)
    batch = create_batch(
        svc,
        {
            "template_id": template,
            "rows": [{"title": "A", "price": 1, "clip": good}, {"title": "B", "price": 2, "clip": bad}],
        },
    )
    done = wait_batch(svc, batch["id"])
    assert done["state"] == "partially_failed", done
    assert done["counts"] == {"queued": 0, "running": 0, "succeeded": 1, "failed": 1, "cancelled": 0}
    assert done["progress"] == 100.0
    states = {r["metadata"]["batch"]["items"][0]["row"]: r["state"] for r in batch_renders(svc, batch["id"])}
    assert states == {0: "succeeded", 1: "failed"}
    assert events_of(svc, batch["id"]).count("batch.completed") == 1
    assert svc.post(f"/v1/batches/{batch['id']}/cancel").status_code == 409


def test_numbers_that_are_not_json_deep_bodies_and_literal_braces(service: Service, media: Any) -> None:
    svc = service
    clip = add_asset(svc, media.video(duration=1))
    template = make_template(svc)
    headers = svc.headers(**{"Content-Type": "application/json"})

    def raw(text: str) -> Any:
        return svc.client.post("/v1/batches", content=text, headers=headers)

    def body(**fields: Any) -> str:
        # NaN, Infinity and deep nesting written into the JSON text where "@NaN" etc. stand
        text = json.dumps({"template_id": template, **fields})
        return (
            text.replace('"@NaN"', "NaN")
            .replace('"@Infinity"', "Infinity")
            .replace('"@deep"', "[" * 100_000 + "1" + "]" * 100_000)
        )

    row = {"title": "Mug", "price": 1, "clip": clip}
    r = raw(body(rows=[row], metadata={"x": "@NaN"}))
    assert r.status_code == 422, r.text  # not PostgreSQL's 500
    assert r.json()["errors"] == [
        {
            "pointer": "#/metadata/x",
            "code": "invalid",
            "detail": "numbers must be finite (not NaN or Infinity)",
        }
    ]
    r = raw(body(rows=[{**row, "price": "@Infinity"}]))
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/rows/0/price", r.text
    r = raw(body(rows=["@deep"]))
    assert r.status_code == 400 and r.json()["code"] == "invalid-json", r.text
    # CSV: 1e999 holds no number, a 400-digit integer is too large; both are the row's problems
    csv_text = f"title,price,clip\nA,1e999,{clip}\nB,{'9' * 400},{clip}\nC,3,{clip}\n"
    batch = create_batch(svc, {"template_id": template, "rows_csv": csv_text})
    by_line = {r["row"]: r["errors"] for r in batch["rejected"]}
    assert [(e["pointer"], e["code"]) for e in by_line[2]] == [("#/rows_csv/2/price", "wrong_type")]
    assert [(e["pointer"], e["code"]) for e in by_line[3]] == [("#/rows_csv/3/price", "out_of_range")]
    # A value's text is its text: "{{price}}" is not filled in again.
    batch = create_batch(
        svc,
        {"template_id": template, "rows": [{"title": "{{price}} {{brand.name}}", "price": 4, "clip": clip}]},
    )
    assert batch["rejected"] == []
    [render] = batch_renders(svc, batch["id"])
    from reelforge.db.models import Render

    with svc.services.sessions() as db:
        stored = db.get(Render, render["id"])
        assert stored is not None
        assert (
            stored.edit["timeline"]["tracks"][1]["clips"][0]["asset"]["text"]
            == "{{price}} {{brand.name}} 4 EUR"
        )


def test_another_workspace_sees_no_batch(service: Service, media: Any) -> None:
    svc = service
    clip = add_asset(svc, media.video(duration=1))
    template = make_template(svc)
    batch = create_batch(svc, {"template_id": template, "rows": [{"title": "Mug", "price": 1, "clip": clip}]})
    other = svc.other_workspace_key()
    for method, url in (
        ("GET", f"/v1/batches/{batch['id']}"),
        ("GET", f"/v1/batches/{batch['id']}/renders"),
        ("POST", f"/v1/batches/{batch['id']}/cancel"),
    ):
        r = svc.client.request(method, url, headers=svc.headers(other))
        assert r.status_code == 404 and r.json()["code"] == "not-found", (method, url)
    assert svc.get("/v1/batches", token=other).json()["data"] == []
    # nor can it fill this workspace's template, or use its assets in its own template
    r = svc.post("/v1/batches", token=other, json={"template_id": template, "rows": [{"title": "x"}]})
    assert r.status_code == 404
    own = make_template(svc, token=other)
    r = svc.post(
        "/v1/batches",
        token=other,
        json={"template_id": own, "rows": [{"title": "x", "price": 1, "clip": clip}]},
    )
    assert r.status_code == 422
    assert (
        r.json()["errors"][0]["pointer"] == "#/rows/0/clip" and "no asset" in r.json()["errors"][0]["detail"]
    )
    assert svc.get(f"/v1/batches/{batch['id']}").json()["state"] == "running"


# ------------------------------------------------------------------ the OpenAPI examples


def check_openapi_examples(checker: Any, svc: Service, media: Any) -> None:
    """Called by tests/test_openapi.py: every batch operation, its request examples sent to the
    service (with the examples' template and asset ids standing for ones made here)."""
    from reelforge.api import examples_batches as bx

    example_rows = bx.BATCH_CREATE_JSON["rows"]
    checker.ids[example_rows[0]["clip"]] = add_asset(svc, media.video(duration=1))
    checker.ids[example_rows[1]["clip"]] = add_asset(svc, media.video(duration=1, color="orange"))
    checker.ids[bx.BATCH_CREATE_JSON["template_id"]] = make_template(svc)
    made = checker.send_examples("POST", "/v1/batches")
    checker.send_examples(
        "POST",
        "/v1/batches",
        "multipart/form-data",
        send=lambda form: {
            "files": {"rows_csv": ("products.csv", form["rows_csv"].encode(), "text/csv")},
            "data": {"batch": form["batch"]},
        },
    )
    target = {"batch_id": next(iter(made.values()))["id"]}
    checker.call("GET", "/v1/batches", expect=200)
    checker.call("GET", "/v1/batches/{batch_id}", params=target, expect=200)
    checker.call("GET", "/v1/batches/{batch_id}/renders", params=target, expect=200)
    checker.call("POST", "/v1/batches/{batch_id}/cancel", params=target, expect=202)
