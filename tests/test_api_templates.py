"""Templates through the REST service, on SQLite and PostgreSQL: versions with If-Match, the
values' JSON Schema, preview, and real renders from a template (durations probed).

Run as a script (``.venv/bin/python tests/test_api_templates.py``) it records the OpenAPI
examples of src/reelforge/api/examples_templates.py from a running service.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reelforge.ffmpeg.probe import probe
from service import Service
from service import wait_render as wait

PROBLEM = "application/problem+json"


def upload(svc: Service, path: Path, name: str) -> dict[str, Any]:
    r = svc.post("/v1/assets", files={"file": (name, path.read_bytes())})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def slideshow() -> dict[str, Any]:
    return {
        "name": "Weekly picks",
        "edit": {
            "timeline": {
                "tracks": [
                    {
                        "clips": [
                            {
                                "repeat": {"for": "products", "as": "product"},
                                "asset": {"type": "image", "src": "{{product.image}}"},
                                "length": "{{seconds}}",
                            }
                        ]
                    },
                    {
                        "clips": [
                            {
                                "repeat": {"for": "products", "as": "product"},
                                "asset": {
                                    "type": "text",
                                    "text": "{{product.name}} · €{{product.price}}",
                                    "style": {"size": 0.1},
                                },
                                "length": "{{seconds}}",
                                "anchor": "bottom",
                            }
                        ]
                    },
                    {
                        "if": "sale",
                        "clips": [
                            {
                                "asset": {"type": "text", "text": "{{sale}}"},
                                "start": 0,
                                "length": "end",
                                "anchor": "top-right",
                            }
                        ],
                    },
                ]
            },
            "outputs": [{"width": 160, "height": 90, "fps": 10, "quality": "draft", "audio": False}],
        },
        "variables": [
            {
                "name": "products",
                "type": "list",
                "validation": {"min_items": 1, "max_items": 10},
                "fields": [
                    {
                        "name": "image",
                        "type": "asset",
                        "kinds": ["image"],
                        "required": True,
                        "validation": {"min_width": 100},
                    },
                    {"name": "name", "type": "text", "localizable": True, "required": True},
                    {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
                ],
            },
            {"name": "seconds", "type": "duration", "default": 0.5, "validation": {"min": 0.2, "max": 5}},
            {"name": "sale", "type": "text", "localizable": True},
        ],
        "locales": ["en", "fr"],
        "message": "first version",
    }


@pytest.fixture
def assets(service: Service, media: Any) -> dict[str, str]:
    return {
        "image": upload(service, media.image(size=(320, 180)), "lamp.png")["id"],
        "small": upload(service, media.image(size=(64, 36), color="red"), "tiny.png")["id"],
        "audio": upload(service, media.audio(duration=0.5), "tone.wav")["id"],
    }


def create(svc: Service, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    r = svc.post("/v1/templates", json=doc or slideshow())
    assert r.status_code == 201, r.text
    return dict(r.json())


def items(image: str, n: int) -> list[dict[str, Any]]:
    return [
        {"image": image, "name": {"$locales": {"en": f"Lamp {i}", "fr": f"Lampe {i}"}}, "price": 9.5 + i}
        for i in range(n)
    ]


def put(svc: Service, template_id: str, doc: dict[str, Any], if_match: str | None) -> Any:
    headers = svc.headers(**({"If-Match": if_match} if if_match else {}))
    return svc.client.put(f"/v1/templates/{template_id}", headers=headers, json=doc)


def events(svc: Service, resource_id: str) -> list[str]:
    r = svc.get("/v1/events", params={"resource_id": resource_id, "order": "asc"})
    assert r.status_code == 200, r.text
    return [e["type"] for e in r.json()["data"]]


# --------------------------------------------------------------------------- CRUD and versions


def test_create_get_list_replace_with_versions(service: Service) -> None:
    r = service.post("/v1/templates", json=slideshow())
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["etag"] == '"1"' and r.headers["location"].endswith(f"/v1/templates/{created['id']}")
    assert created["id"].startswith("tpl_") and created["version"] == 1 and created["locales"] == ["en", "fr"]
    assert created["variables"][0]["name"] == "products"
    tid = created["id"]
    got = service.get(f"/v1/templates/{tid}")
    assert got.status_code == 200 and got.json() == created
    assert service.get(f"/v1/templates/{tid}", headers={"If-None-Match": '"1"'}).status_code == 304
    listed = service.get("/v1/templates", params={"name": "weekly"}).json()
    assert [t["id"] for t in listed["data"]] == [tid]
    assert service.get("/v1/templates", params={"name": "nothing"}).json()["data"] == []

    changed = slideshow()
    changed["edit"]["timeline"]["tracks"][1]["clips"][0]["asset"]["style"]["size"] = 0.12
    changed["message"] = "bigger names"
    r = put(service, tid, changed, None)
    assert r.status_code == 428 and r.json()["code"] == "precondition-required"
    assert "changing a template needs If-Match" in r.json()["detail"]
    r = put(service, tid, changed, '"7"')
    assert r.status_code == 412 and r.headers["etag"] == '"1"'
    assert "it is now at version 1" in r.json()["detail"]
    r = put(service, tid, {**changed, "name": "Weekly picks v2"}, '"1"')
    assert r.status_code == 200 and r.json()["version"] == 2 and r.headers["etag"] == '"2"'
    assert r.json()["name"] == "Weekly picks v2"

    versions = service.get(f"/v1/templates/{tid}/versions").json()["data"]
    assert [(v["number"], v["message"]) for v in versions] == [(2, "bigger names"), (1, "first version")]
    first = service.get(f"/v1/templates/{tid}/versions/1").json()
    assert first["edit"] == slideshow()["edit"]
    assert service.get(f"/v1/templates/{tid}/versions/9").json()["code"] == "not-found"
    page = service.get(f"/v1/templates/{tid}/versions", params={"limit": 1})
    assert page.json()["has_more"] and 'rel="next"' in page.headers["link"]
    nxt = service.get(
        f"/v1/templates/{tid}/versions", params={"limit": 1, "cursor": page.json()["next_cursor"]}
    )
    assert [v["number"] for v in nxt.json()["data"]] == [1]

    r = service.post(f"/v1/templates/{tid}/versions/1/restore", headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["version"] == 3 and r.json()["edit"] == slideshow()["edit"]
    assert service.get(f"/v1/templates/{tid}/versions/3").json()["message"] == "restored version 1"
    assert events(service, tid) == ["template.created", "template.updated", "template.updated"]

    r = service.client.delete(f"/v1/templates/{tid}", headers=service.headers(**{"If-Match": '"2"'}))
    assert r.status_code == 412
    assert service.client.delete(f"/v1/templates/{tid}", headers=service.headers()).status_code == 204
    assert service.get(f"/v1/templates/{tid}").status_code == 404
    assert events(service, tid)[-1] == "template.deleted"


def test_a_placeholder_without_a_variable_is_refused_at_save_with_its_pointer(service: Service) -> None:
    doc = slideshow()
    doc["edit"]["timeline"]["tracks"][1]["clips"][0]["asset"]["text"] = "{{product.title}} {{discount}}"
    doc["variables"].append({"name": "badge", "type": "colour"})
    r = service.post("/v1/templates", json=doc)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == "template-invalid"
    errors = {(e["pointer"], e["detail"]) for e in body["errors"]}
    assert (
        "#/variables/3/type",
        "expected 'text', 'number', 'integer', 'boolean', 'color', 'duration', 'asset' or 'list'",
    ) in errors
    # Placeholders are checked once the definitions parse: fix the variable, see the placeholders.
    doc["variables"][3]["type"] = "color"
    body = service.post("/v1/templates", json=doc).json()
    text = "#/edit/timeline/tracks/1/clips/0/asset/text"
    assert {(e["pointer"], e["detail"]) for e in body["errors"]} == {
        (
            text,
            "{{product.title}}: the items of products have no field 'title' (they have image, name, price)",
        ),
        (text, "{{discount}} has no declared variable; declare it in `variables`"),
    }
    assert service.get("/v1/templates").json()["data"] == []


def test_asset_ids_written_in_the_template_must_exist(service: Service) -> None:
    doc = slideshow()
    doc["edit"]["timeline"]["tracks"].append(
        {
            "clips": [
                {
                    "asset": {"type": "image", "src": "ast_01jdzzzzzzzzzzzzzzzzzzzzzz"},
                    "length": "end",
                    "start": 0,
                    "width": 0.2,
                    "height": 0.2,
                }
            ]
        }
    )
    body = service.post("/v1/templates", json=doc).json()
    assert body["code"] == "template-invalid"
    assert body["errors"] == [
        {
            "pointer": "#/edit/timeline/tracks/3/clips/0/asset/src",
            "code": "asset_not_found",
            "detail": "no asset ast_01jdzzzzzzzzzzzzzzzzzzzzzz in this workspace",
        }
    ]


def test_the_variables_as_json_schema(service: Service, assets: dict[str, str]) -> None:
    tid = create(service)["id"]
    r = service.get(f"/v1/templates/{tid}/variables")
    assert r.status_code == 200
    schema = r.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors({"products": items(assets["image"], 2), "sale": "-20%"})) == []
    assert [e.message for e in validator.iter_errors({"products": [], "seconds": True})] != []
    image = schema["properties"]["products"]["items"]["properties"]["image"]
    assert image["x-asset-kinds"] == ["image"] and image["x-min-width"] == 100
    assert service.get(f"/v1/templates/{tid}/variables", params={"version": 4}).json()["code"] == "not-found"


# --------------------------------------------------------------------------- preview


def test_preview_fills_the_template_in_the_locale(service: Service, assets: dict[str, str]) -> None:
    tid = create(service)["id"]
    values = {"products": items(assets["image"], 2), "sale": {"$locales": {"en": "Sale", "fr": "Soldes"}}}
    r = service.post(f"/v1/templates/{tid}/preview", json={"values": values, "locale": "fr"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["template"] == {"id": tid, "version": 1, "locale": "fr"}
    tracks = body["edit"]["timeline"]["tracks"]
    assert [c["asset"]["text"] for c in tracks[1]["clips"]] == ["Lampe 0 · €9.5", "Lampe 1 · €10.5"]
    assert [c["length"] for c in tracks[0]["clips"]] == [0.5, 0.5]
    assert tracks[2]["clips"][0]["asset"]["text"] == "Soldes"
    # No sale: the badge's track is left out.
    r = service.post(f"/v1/templates/{tid}/preview", json={"values": {"products": items(assets["image"], 1)}})
    assert len(r.json()["edit"]["timeline"]["tracks"]) == 2 and r.json()["template"]["locale"] == "en"


def test_every_bad_value_is_reported_at_once_with_the_variables_name(
    service: Service, assets: dict[str, str]
) -> None:
    tid = create(service)["id"]
    values = {
        "products": [
            {"image": assets["audio"], "name": "A", "price": "free"},
            {"image": assets["small"], "price": 3},
            {"image": "ast_01jdzzzzzzzzzzzzzzzzzzzzzz", "name": "C", "price": -1},
        ],
        "seconds": "soon",
        "colour": "red",
    }
    r = service.post(f"/v1/templates/{tid}/preview", json={"values": values, "locale": "de"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == "values-invalid" and body["detail"].startswith("9 problems in the values")
    got = {e["pointer"]: (e["code"], e["detail"]) for e in body["errors"]}
    assert got == {
        "#/locale": ("unknown_locale", "the template has no locale 'de' (it has en, fr)"),
        "#/values/colour": (
            "unknown_variable",
            "colour: unknown variable; this template declares products, sale, seconds",
        ),
        "#/values/products/0/image": (
            "asset_kind",
            f"products[0].image: {assets['audio']} is an audio asset; this variable takes image",
        ),
        "#/values/products/0/price": ("wrong_type", "products[0].price: expected a number, got text"),
        "#/values/products/1/image": (
            "resolution",
            f"products[1].image: {assets['small']} is 64 pixels wide; at least 100 needed",
        ),
        "#/values/products/1/name": ("missing", "products[1].name: required, and no value was given"),
        "#/values/products/2/image": (
            "asset_not_found",
            "products[2].image: no asset ast_01jdzzzzzzzzzzzzzzzzzzzzzz",
        ),
        "#/values/products/2/price": ("out_of_range", "products[2].price: -1 is below the minimum 0"),
        "#/values/seconds": (
            "invalid_duration",
            'seconds: expected a number of seconds (2.5), "hh:mm:ss.mmm" '
            '("00:01:02.500"), or frames ("48f"), got \'soon\'',
        ),
    }
    r = service.post(f"/v1/templates/{tid}/preview", json={"values": {}, "version": 5})
    assert r.status_code == 404 and r.json()["errors"][0]["pointer"] == "#/version"
    r = service.post(f"/v1/templates/{tid}/preview", json={"vals": {}})
    assert r.status_code == 422 and r.json()["code"] == "validation-error"


def test_a_merged_edit_that_cannot_render_points_into_the_template(
    service: Service, assets: dict[str, str]
) -> None:
    doc = slideshow()
    # `scale` takes a number; a duration variable written there is fine at save time, not with "2s".
    doc["edit"]["timeline"]["tracks"][0]["clips"][0]["scale"] = "{{seconds}}"
    tid = create(service, doc)["id"]
    r = service.post(
        f"/v1/templates/{tid}/preview",
        json={"values": {"products": items(assets["image"], 3), "seconds": "2s"}},
    )
    body = r.json()
    assert r.status_code == 422 and body["code"] == "edit-invalid"
    assert {e["pointer"] for e in body["errors"]} == {"#/edit/timeline/tracks/0/clips/0/scale"}
    assert body["template_id"] == tid and body["version"] == 1


# --------------------------------------------------------------------------- renders


def test_renders_from_a_template_follow_the_number_of_items(rendering: Service, media: Any) -> None:
    svc = rendering
    image = upload(svc, media.image(size=(320, 180)), "lamp.png")["id"]
    tid = create(svc)["id"]
    made = {}
    for n in (2, 3):
        r = svc.post(
            f"/v1/templates/{tid}/renders",
            json={"values": {"products": items(image, n)}, "locale": "fr", "metadata": {"n": n}},
        )
        assert r.status_code == 202, r.text
        assert r.json()["template"] == {"id": tid, "version": 1, "locale": "fr"}
        assert r.headers["location"].endswith(f"/v1/renders/{r.json()['id']}")
        made[n] = r.json()["id"]
    for n, render_id in made.items():
        done = wait(svc, render_id)
        assert done["state"] == "succeeded", done["error"]
        assert done["template"] == {"id": tid, "version": 1, "locale": "fr"} and done["metadata"] == {"n": n}
        video = next(o for o in done["outputs"] if o["role"] == "output")
        content = svc.get(f"/v1/assets/{video['id']}/content")
        path = svc.data_dir / f"n{n}.mp4"
        path.write_bytes(content.content)
        assert probe(path).duration == pytest.approx(0.5 * n, abs=0.05)
    # Other outputs than the template's, and a dry run that creates nothing.
    r = svc.post(
        f"/v1/templates/{tid}/renders",
        json={
            "values": {"products": items(image, 2)},
            "dry_run": True,
            "outputs": [{"width": 90, "height": 160, "fps": 10, "quality": "draft"}],
        },
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["duration"] == 1.0 and [(o["width"], o["height"]) for o in plan["outputs"]] == [(90, 160)]
    assert plan["template"] == {"id": tid, "version": 1, "locale": "en"}
    r = svc.post(
        f"/v1/templates/{tid}/renders",
        json={
            "values": {"products": items(image, 1)},
            "outputs": [{"width": 90, "height": 160, "format": "avi"}],
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "edit-invalid"
    assert r.json()["errors"][0]["pointer"] == "#/outputs/0/format"
    assert len(svc.get("/v1/renders").json()["data"]) == 2


def test_rendering_needs_renders_write_and_another_workspace_sees_nothing(
    service: Service, assets: dict[str, str]
) -> None:
    tid = create(service)["id"]
    reader = service.new_key("templates:read")
    values = {"values": {"products": items(assets["image"], 1)}}
    r = service.post(f"/v1/templates/{tid}/renders", reader, json=values)
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"
    assert service.post(f"/v1/templates/{tid}/preview", reader, json=values).status_code == 200
    assert service.post("/v1/templates", reader, json=slideshow()).status_code == 403
    other = service.other_workspace_key()
    assert service.get(f"/v1/templates/{tid}", other).status_code == 404
    assert service.post(f"/v1/templates/{tid}/preview", other, json=values).status_code == 404
    assert service.get("/v1/templates", other).json()["data"] == []


def test_an_idempotency_key_makes_one_template_and_one_render(
    service: Service, assets: dict[str, str]
) -> None:
    first = service.post("/v1/templates", json=slideshow(), headers={"Idempotency-Key": "tpl-create-1"})
    again = service.post("/v1/templates", json=slideshow(), headers={"Idempotency-Key": "tpl-create-1"})
    assert first.status_code == again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true" and again.headers["etag"] == '"1"'
    tid = first.json()["id"]
    body = {"values": {"products": items(assets["image"], 1)}}
    first = service.post(
        f"/v1/templates/{tid}/renders", json=body, headers={"Idempotency-Key": "tpl-render-1"}
    )
    again = service.post(
        f"/v1/templates/{tid}/renders", json=body, headers={"Idempotency-Key": "tpl-render-1"}
    )
    assert first.status_code == again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    assert len(service.get("/v1/renders").json()["data"]) == 1
    assert len(service.get("/v1/templates").json()["data"]) == 1
    r = put(service, tid, slideshow(), '"1"')
    assert r.status_code == 200, r.text
    restore = {"headers": {"Idempotency-Key": "tpl-restore-1", "If-Match": '"2"'}}
    first = service.post(f"/v1/templates/{tid}/versions/1/restore", **restore)
    again = service.post(f"/v1/templates/{tid}/versions/1/restore", **restore)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert again.json()["version"] == 3 and again.headers["etag"] == '"3"'
    assert service.get(f"/v1/templates/{tid}").json()["version"] == 3


# --------------------------------------------------------------------------- limits, brands, odd input

PLAIN_OUTPUTS = [{"width": 160, "height": 90, "fps": 10, "quality": "draft", "audio": False}]


def branded(kit: str | None = None) -> dict[str, Any]:
    """A text over the kit's primary colour; the text is a variable."""
    edit: dict[str, Any] = {
        "timeline": {
            "background": "{{brand.colors.primary}}",
            "tracks": [{"clips": [{"asset": {"type": "text", "text": "{{t}}"}, "length": 1}]}],
        },
        "outputs": PLAIN_OUTPUTS,
    }
    if kit is not None:
        edit["brand"] = kit
    return {"name": "branded", "edit": edit, "variables": [{"name": "t", "type": "text"}]}


def kit(svc: Service, primary: str, token: str | None = None) -> str:
    r = svc.post(
        "/v1/brand_kits", token=token, json={"name": f"kit {primary}", "colors": {"primary": primary}}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def raw_post(svc: Service, url: str, text: str) -> Any:
    return svc.client.post(url, content=text, headers=svc.headers(**{"Content-Type": "application/json"}))


def test_values_are_not_scanned_for_placeholders_the_brand_fills_the_template(rendering: Service) -> None:
    from reelforge.db.models import Render

    service = rendering
    red = kit(service, "#ff0000")
    tid = create(service, branded(red))["id"]
    text = "Hi {{brand.colors.primary}} {{t}} {{nobody}}"
    r = service.post(f"/v1/templates/{tid}/preview", json={"values": {"t": text}})
    assert r.status_code == 200, r.text
    edit = r.json()["edit"]
    assert edit["timeline"]["background"] == "#ff0000"
    assert edit["timeline"]["tracks"][0]["clips"][0]["asset"]["text"] == text
    r = service.post(f"/v1/templates/{tid}/renders", json={"values": {"t": text}})
    assert r.status_code == 202, r.text
    assert wait(service, r.json()["id"])["state"] == "succeeded"  # the worker takes the text as written too
    with service.services.sessions() as db:
        stored = db.get(Render, r.json()["id"])
        assert stored is not None
        assert stored.edit["timeline"]["tracks"][0]["clips"][0]["asset"]["text"] == text
        assert stored.edit["timeline"]["background"] == "#ff0000"
    # Without a kit, the template's own brand placeholder is the problem (not the value's).
    plain = create(service, branded())["id"]
    body = service.post(f"/v1/templates/{plain}/preview", json={"values": {"t": text}}).json()
    assert body["code"] == "edit-invalid"
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [
        ("#/edit/timeline/background", "brand_missing")
    ]


def test_check_with_a_brand_kit_override_uses_it(service: Service) -> None:
    red, blue = kit(service, "#ff0000"), kit(service, "#0000ff")
    for named in (None, red):
        tid = create(service, branded(named))["id"]
        r = service.post(f"/v1/templates/{tid}/check", json={"values": {"t": "x"}, "brand_kit": blue})
        assert r.status_code == 200, r.text
        assert r.json()["brand_kit"]["id"] == blue
        assert r.json()["edit"]["timeline"]["background"] == "#0000ff"
        assert r.json()["edit"]["brand"] == blue


def test_a_template_naming_a_brand_kit_of_another_workspace_is_refused(service: Service) -> None:
    theirs = kit(service, "#ff0000", token=service.other_workspace_key())
    for named in (theirs, "bk_" + "0" * 26):
        body = service.post("/v1/templates", json=branded(named)).json()
        assert body["code"] == "template-invalid", body
        assert body["errors"] == [
            {
                "pointer": "#/edit/brand",
                "code": "brand_not_found",
                "detail": f"no brand kit {named} in this workspace",
            }
        ]


def test_numbers_that_are_not_json_or_too_large_are_422(service: Service) -> None:
    doc = json.dumps(branded()).replace('"length": 1', '"length": NaN')
    body = raw_post(service, "/v1/templates", doc).json()
    assert body["code"] == "template-invalid"
    assert body["errors"][0]["pointer"] == "#/edit/timeline/tracks/0/clips/0/length"
    variables = [{"name": "t", "type": "text"}, {"name": "n", "type": "number"}]
    tid = create(
        service,
        {
            **branded(),
            "edit": {
                **branded()["edit"],
                "timeline": {
                    "tracks": [{"clips": [{"asset": {"type": "text", "text": "{{t}} {{n}}"}, "length": 1}]}]
                },
            },
            "variables": variables,
        },
    )["id"]
    r = raw_post(service, f"/v1/templates/{tid}/preview", '{"values": {"n": 1' + "0" * 400 + "}}")
    assert r.status_code == 422 and r.json()["code"] == "values-invalid", r.text
    assert r.json()["errors"][0]["pointer"] == "#/values/n" and "too large" in r.json()["errors"][0]["detail"]
    r = raw_post(service, f"/v1/templates/{tid}/preview", '{"values": {"n": NaN}}')
    assert r.json()["errors"][0]["detail"].startswith("n: not a finite number"), r.text
    r = raw_post(
        service, f"/v1/templates/{tid}/renders", '{"values": {"t": "a"}, "metadata": {"x": Infinity}}'
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {
            "pointer": "#/metadata/x",
            "code": "invalid",
            "detail": "numbers must be finite (not NaN or Infinity)",
        }
    ]


def test_a_locale_with_a_newline_is_refused(service: Service) -> None:
    tid = create(
        service,
        {
            **branded(),
            "edit": {
                **branded()["edit"],
                "timeline": {
                    "tracks": [
                        {"clips": [{"asset": {"type": "text", "text": "{{t}} {{locale}}"}, "length": 1}]}
                    ]
                },
            },
        },
    )["id"]
    assert (
        service.post(f"/v1/templates/{tid}/preview", json={"values": {}, "locale": "en"}).status_code == 200
    )
    r = service.post(f"/v1/templates/{tid}/preview", json={"values": {}, "locale": "en\n"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["pointer"] == "#/locale"


def test_a_stored_version_a_newer_rule_refuses_is_422_not_500(
    service: Service, assets: dict[str, str]
) -> None:
    from sqlalchemy import select

    from reelforge.db.templates import TemplateVersion

    tid = create(service)["id"]
    with service.services.sessions() as db:
        stored = db.scalars(select(TemplateVersion).where(TemplateVersion.template_id == tid)).one()
        document = copy.deepcopy(stored.document)
        document["edit"]["timeline"]["tracks"][0]["clips"][0]["start"] = 0  # refused since
        stored.document = document
        db.commit()
    values = {"values": {"products": items(assets["image"], 1)}}
    for method, url, body in (
        ("post", f"/v1/templates/{tid}/preview", values),
        ("post", f"/v1/templates/{tid}/renders", values),
        ("get", f"/v1/templates/{tid}/variables", None),
    ):
        r = getattr(service, method)(url, **({"json": body} if body is not None else {}))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "edit-invalid"
        assert r.json()["errors"][0]["pointer"] == "#/edit/timeline/tracks/0/clips/0/start"


# --------------------------------------------------------------------------- the OpenAPI examples


def check_openapi_examples(checker: Any, svc: Service, media: Any) -> None:
    """Called by tests/test_openapi.py: every template operation, its request examples sent to
    the service (with the examples' asset and template ids standing for ones made here)."""
    from reelforge.api import examples_templates as tx

    for i, product in enumerate(tx.TEMPLATE_PREVIEW_REQUEST["values"]["products"]):
        picture = media.image(size=(640, 640), color=("orange", "teal")[i % 2])
        checker.ids[product["image"]] = upload(svc, picture, f"product-{i}.png")["id"]
    created = next(iter(checker.send_examples("POST", "/v1/templates").values()))
    checker.ids[tx.TEMPLATE_CREATED["id"]] = created["id"]
    target = {"template_id": created["id"]}

    def current() -> dict[str, str]:
        return {"If-Match": svc.get(f"/v1/templates/{created['id']}").headers["etag"]}

    checker.call("GET", "/v1/templates", expect=200)
    checker.call("GET", "/v1/templates/{template_id}", params=target, expect=200)
    checker.send_examples("PUT", "/v1/templates/{template_id}", params=lambda: target, headers=current)
    checker.call("GET", "/v1/templates/{template_id}/versions", params=target, expect=200)
    checker.call(
        "GET", "/v1/templates/{template_id}/versions/{number}", params={**target, "number": "1"}, expect=200
    )
    checker.send_examples(
        "POST",
        "/v1/templates/{template_id}/versions/{number}/restore",
        params=lambda: {**target, "number": "1"},
        headers=current,
    )
    checker.call("GET", "/v1/templates/{template_id}/variables", params=target, expect=200)
    checker.send_examples("POST", "/v1/templates/{template_id}/preview", params=lambda: target)
    checker.send_examples("POST", "/v1/templates/{template_id}/renders", params=lambda: target)
    doomed = svc.post("/v1/templates", json=checker.real(tx.TEMPLATE_CREATE)).json()
    checker.call("DELETE", "/v1/templates/{template_id}", params={"template_id": doomed["id"]}, expect=204)
