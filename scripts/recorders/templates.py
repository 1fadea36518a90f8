"""The examples of templates (``reelforge.api.examples_templates``), recorded from a running service.

The helpers come from ``tests/test_api_templates.py``, which checks the examples against a service.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from service import running_service
from service import wait_render as wait
from test_api_templates import put, upload


def record(root: Path) -> dict[str, Any]:
    import mediagen

    kept: dict[str, Any] = {}
    files = {
        name: mediagen.make_image(root / name, size=(1200, 1200), color=colour)
        for name, colour in (("sunset-lamp.png", "orange"), ("lagoon-mug.png", "teal"))
    }
    with running_service(root / "service", workers=1) as svc:

        def ok(name: str | None, r: Any, status: int) -> Any:
            assert r.status_code == status, (name, r.status_code, r.text)
            if name:
                kept[name] = r.json()
            return r.json()

        def problem(name: str, r: Any, status: int, code: str) -> None:
            assert r.status_code == status and r.json()["code"] == code, (name, r.status_code, r.text)
            kept[name] = r.json()

        lamp = upload(svc, files["sunset-lamp.png"], "sunset-lamp.png")["id"]
        mug = upload(svc, files["lagoon-mug.png"], "lagoon-mug.png")["id"]
        doc = json.loads(
            (Path(__file__).resolve().parents[2] / "examples" / "product-template.json").read_text()
        )
        doc["edit"]["timeline"].pop("soundtrack")
        doc["edit"].pop("name")
        doc["edit"]["outputs"] = [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}]
        create_body = {"name": "Weekly picks", **doc, "message": "first version"}
        kept["TEMPLATE_CREATE"] = create_body
        r = svc.post("/v1/templates", json=create_body)
        created = ok("TEMPLATE_CREATED", r, 201)
        kept["TEMPLATE_CREATED_HEADERS"] = {"ETag": r.headers["etag"], "Location": r.headers["location"]}
        tid = created["id"]
        ok("TEMPLATE", svc.get(f"/v1/templates/{tid}"), 200)
        ok("TEMPLATE_LIST", svc.get("/v1/templates", params={"limit": 1}), 200)
        replace = copy.deepcopy(create_body)
        replace.pop("name")
        replace["edit"]["timeline"]["tracks"][2]["clips"][0]["asset"]["style"]["size"] = 0.08
        replace["message"] = "a bigger sale badge"
        kept["TEMPLATE_REPLACE"] = replace
        ok("TEMPLATE_REPLACED", put(svc, tid, replace, '"1"'), 200)
        ok("TEMPLATE_VERSION_LIST", svc.get(f"/v1/templates/{tid}/versions", params={"limit": 2}), 200)
        ok("TEMPLATE_VERSION", svc.get(f"/v1/templates/{tid}/versions/1"), 200)
        kept["TEMPLATE_RESTORE"] = {"message": "back to the smaller badge"}
        ok(
            "TEMPLATE_RESTORED",
            svc.post(
                f"/v1/templates/{tid}/versions/1/restore",
                headers={"If-Match": '"2"'},
                json=kept["TEMPLATE_RESTORE"],
            ),
            200,
        )
        ok("TEMPLATE_VARIABLES", svc.get(f"/v1/templates/{tid}/variables"), 200)
        values = {
            "title": {"$locales": {"en": "This week's picks", "fr": "La sélection de la semaine"}},
            "products": [
                {
                    "image": lamp,
                    "name": {"$locales": {"en": "Sunset Lamp", "fr": "Lampe Couchant"}},
                    "price": 49,
                },
                {
                    "image": mug,
                    "name": {"$locales": {"en": "Lagoon Mug", "fr": "Tasse Lagon"}},
                    "price": 12.5,
                },
            ],
            "sale": {"$locales": {"en": "-20% this week", "fr": "-20 % cette semaine"}},
        }
        kept["TEMPLATE_PREVIEW_REQUEST"] = {"values": values, "locale": "fr"}
        ok(
            "TEMPLATE_PREVIEW",
            svc.post(f"/v1/templates/{tid}/preview", json=kept["TEMPLATE_PREVIEW_REQUEST"]),
            200,
        )
        kept["TEMPLATE_RENDER_REQUEST"] = {
            "values": values,
            "locale": "fr",
            "metadata": {"campaign": "week-48"},
        }
        r = svc.post(f"/v1/templates/{tid}/renders", json=kept["TEMPLATE_RENDER_REQUEST"])
        ok("TEMPLATE_RENDER_QUEUED", r, 202)
        kept["TEMPLATE_RENDER_DRY_RUN"] = {
            "values": values,
            "locale": "en",
            "dry_run": True,
            "outputs": [{"aspect_ratio": "9:16", "resolution": "360p"}],
        }
        ok(
            "TEMPLATE_RENDER_PLAN",
            svc.post(f"/v1/templates/{tid}/renders", json=kept["TEMPLATE_RENDER_DRY_RUN"]),
            200,
        )

        narrow = svc.new_key("renders:read")
        problem("ERROR_SCOPE_TEMPLATES_READ", svc.get("/v1/templates", narrow), 403, "insufficient-scope")
        problem(
            "ERROR_SCOPE_TEMPLATES_WRITE",
            svc.post("/v1/templates", narrow, json=create_body),
            403,
            "insufficient-scope",
        )
        problem(
            "ERROR_TEMPLATE_NOT_FOUND",
            svc.get("/v1/templates/tpl_01jdzzzzzzzzzzzzzzzzzzzzzz"),
            404,
            "not-found",
        )
        bad = copy.deepcopy(create_body)
        bad["edit"]["timeline"]["tracks"][1]["clips"][1]["asset"]["text"] = (
            "{{product.title}} · €{{product.price}}"
        )
        bad["variables"][2]["validation"]["pattern"] = "^\\d"
        problem("ERROR_TEMPLATE_INVALID", svc.post("/v1/templates", json=bad), 422, "template-invalid")
        problem(
            "ERROR_TEMPLATE_VALIDATION",
            svc.post("/v1/templates", json={**create_body, "title": "x"}),
            422,
            "validation-error",
        )
        problem("ERROR_TEMPLATE_STALE", put(svc, tid, replace, '"1"'), 412, "precondition-failed")
        problem("ERROR_TEMPLATE_NO_IF_MATCH", put(svc, tid, replace, None), 428, "precondition-required")
        problem(
            "ERROR_TEMPLATE_VERSION_NOT_FOUND", svc.get(f"/v1/templates/{tid}/versions/9"), 404, "not-found"
        )
        wrong = {
            "values": {
                "title": "Picks",
                "products": [
                    {"image": lamp, "name": "Sunset Lamp", "price": "49€"},
                    {"name": "Lagoon Mug", "price": 12.5},
                ],
                "colour": "red",
            },
            "locale": "de",
        }
        problem(
            "ERROR_VALUES_INVALID",
            svc.post(f"/v1/templates/{tid}/preview", json=wrong),
            422,
            "values-invalid",
        )
        r = svc.post(
            f"/v1/templates/{tid}/preview",
            json={
                "values": {**values, "seconds": 2, "products": [{**values["products"][0], "image": lamp}]},
                "locale": "en",
            },
        )
        assert r.status_code == 200, r.text
        long_sale = {"$locales": {"en": "x" * 20}}
        r = svc.post(
            f"/v1/templates/{tid}/renders",
            json={
                "values": {**values, "sale": long_sale},
                "outputs": [{"aspect_ratio": "9:16", "resolution": "360p", "codec": "vp9"}],
            },
        )
        problem("ERROR_TEMPLATE_EDIT_INVALID", r, 422, "edit-invalid")
        reader = svc.new_key("templates:read")
        problem(
            "ERROR_TEMPLATE_RENDERS_SCOPE",
            svc.post(f"/v1/templates/{tid}/renders", reader, json=kept["TEMPLATE_RENDER_REQUEST"]),
            403,
            "insufficient-scope",
        )
        wait(svc, kept["TEMPLATE_RENDER_QUEUED"]["id"])
    return kept
