"""The examples of batches (``reelforge.api.examples_batches``), recorded from a running service.

The helpers come from ``tests/test_batches.py``, which checks the examples against a service.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from service import running_service
from test_batches import add_asset, make_template, wait_batch

NO_SUCH = "01jdzzzzzzzzzzzzzzzzzzzzzz"


def record(root: Path) -> dict[str, Any]:
    import mediagen

    files = {
        "mug": mediagen.make_video(root / "media" / "mug.mp4", duration=1, size=(640, 360), faststart=True),
        "lamp": mediagen.make_video(
            root / "media" / "lamp.mp4", duration=1, size=(640, 360), color="orange", faststart=True
        ),
    }
    kept: dict[str, Any] = {}

    def keep(name: str, value: Any) -> Any:
        assert name not in kept, name
        kept[name] = value
        return value

    with running_service(root / "service", workers=1) as svc:

        def ok(name: str | None, r: Any, status: int) -> Any:
            assert r.status_code == status, (name, r.status_code, r.text)
            return keep(name, r.json()) if name else r.json()

        def problem(name: str, r: Any, status: int, code: str) -> None:
            assert r.status_code == status and r.json()["code"] == code, (name, r.status_code, r.text)
            keep(name, r.json())

        mug, lamp = (add_asset(svc, files[k]) for k in ("mug", "lamp"))
        template = make_template(svc)
        outputs = [
            {"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft"},
            {"aspect_ratio": "9:16", "resolution": "360p", "quality": "draft"},
        ]
        body = keep(
            "BATCH_CREATE_JSON",
            {
                "template_id": template,
                "rows": [
                    {
                        "title": {"$locales": {"en": "Stoneware mug", "fr": "Tasse en grès"}},
                        "price": 9.5,
                        "clip": mug,
                        "seconds": 0.6,
                    },
                    {
                        "title": {"$locales": {"en": "Desk lamp", "fr": "Lampe de bureau"}},
                        "price": 24,
                        "clip": lamp,
                        "seconds": 0.6,
                    },
                ],
                "locales": ["en", "fr"],
                "outputs": outputs,
                "tags": ["spring-sale"],
                "metadata": {"campaign": "spring-2027"},
            },
        )
        r = svc.post("/v1/batches", json=body)
        created = ok("BATCH_CREATED", r, 202)
        keep("BATCH_CREATED_HEADERS", {"Location": r.headers["location"]})
        deadline = time.monotonic() + 120
        while True:
            running = svc.get(f"/v1/batches/{created['id']}").json()
            if running["counts"]["succeeded"] >= 1 and running["finished_at"] is None:
                keep("BATCH_RUNNING", running)
                break
            assert running["finished_at"] is None and time.monotonic() < deadline, running
            time.sleep(0.02)
        keep("BATCH_SUCCEEDED", wait_batch(svc, created["id"]))
        ok(
            "BATCH_RENDERS",
            svc.get(f"/v1/batches/{created['id']}/renders", params={"row": 1, "locale": "fr"}),
            200,
        )
        problem(
            "ERROR_BATCH_CANCEL_FINISHED", svc.post(f"/v1/batches/{created['id']}/cancel"), 409, "conflict"
        )

        csv_text = (
            "title@en,title@fr,price,clip\n"
            f"Stoneware mug,Tasse en grès,9.5,{mug}\n"
            f"Desk lamp,Lampe de bureau,cheap,{lamp}\n"
            f"Oak chair,Chaise en chêne,120,{mug}\n"
        )
        body = keep(
            "BATCH_CREATE_CSV_TEXT",
            {"template_id": template, "rows_csv": csv_text, "locales": ["fr"], "outputs": outputs[:1]},
        )
        queued = ok("BATCH_CREATED_CSV", svc.post("/v1/batches", json=body), 202)
        ok("BATCH_CANCELLING", svc.post(f"/v1/batches/{queued['id']}/cancel"), 202)
        keep("BATCH_CANCELLED", wait_batch(svc, queued["id"]))
        part = {"template_id": template, "locales": ["en"], "tags": ["catalogue"]}
        keep("BATCH_CREATE_MULTIPART", {"batch": json.dumps(part), "rows_csv": csv_text})
        r = svc.post(
            "/v1/batches",
            files={"rows_csv": ("products.csv", csv_text.encode(), "text/csv")},
            data={"batch": json.dumps(part)},
        )
        uploaded = ok("BATCH_CREATED_UPLOAD", r, 202)
        wait_batch(svc, uploaded["id"])
        ok("BATCH_LIST", svc.get("/v1/batches", params={"limit": 1}), 200)

        body = {"template_id": template, "rows_csv": csv_text, "all_or_nothing": True}
        problem("ERROR_BATCH_ALL_OR_NOTHING", svc.post("/v1/batches", json=body), 422, "validation-error")
        body = {"template_id": template, "rows_csv": csv_text, "outputs": [{"aspect_ratio": "wide"}]}
        problem("ERROR_BATCH_OUTPUTS", svc.post("/v1/batches", json=body), 422, "validation-error")
        r = svc.post("/v1/batches", json={"template_id": f"tpl_{NO_SUCH}", "rows": [{}]})
        problem("ERROR_BATCH_TEMPLATE_NOT_FOUND", r, 404, "not-found")
        r = svc.post(
            "/v1/batches",
            files={"rows_csv": ("products.xlsx", b"PK\x03\x04", "application/zip")},
            data={"batch": json.dumps(part)},
        )
        problem("ERROR_BATCH_CSV_TYPE", r, 415, "unsupported-media-type")
        problem("ERROR_BATCH_NOT_FOUND", svc.get(f"/v1/batches/bat_{NO_SUCH}"), 404, "not-found")
        reader = svc.new_key("batches:read")
        writer = svc.new_key("batches:write")
        problem("ERROR_SCOPE_BATCHES_READ", svc.get("/v1/batches", token=writer), 403, "insufficient-scope")
        problem(
            "ERROR_SCOPE_BATCHES_WRITE",
            svc.post("/v1/batches", token=reader, json={}),
            403,
            "insufficient-scope",
        )
        problem(
            "ERROR_SCOPE_TEMPLATES_READ",
            svc.post("/v1/batches", token=writer, json={}),
            403,
            "insufficient-scope",
        )
        r = svc.post("/v1/batches", token=svc.new_key("batches:write", "templates:read"), json={})
        problem("ERROR_SCOPE_RENDERS_WRITE", r, 403, "insufficient-scope")
        r = svc.get(f"/v1/batches/{created['id']}/renders", token=reader)
        problem("ERROR_SCOPE_RENDERS_READ", r, 403, "insufficient-scope")
    return kept
