"""The examples of a project as OpenTimelineIO and a project made from a timeline
(``reelforge.api.examples_otio``), recorded from a running service.

The helpers come from ``tests/test_otio.py``, which checks the examples against a service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service import running_service
from test_otio import api_edit


def record(root: Path) -> dict[str, Any]:
    import mediagen

    kept: dict[str, Any] = {}
    video = mediagen.make_video(root / "intro.mp4", duration=2)
    with running_service(root / "service") as svc:

        def problem(name: str, r: Any, status: int, code: str) -> None:
            assert r.status_code == status and r.json()["code"] == code, (name, r.status_code, r.text)
            kept[name] = r.json()

        r = svc.post("/v1/assets", files={"file": ("intro.mp4", video.read_bytes())})
        assert r.status_code == 201, r.text
        asset_id = r.json()["id"]
        kept["OTIO_ASSET_ID"] = asset_id
        r = svc.post("/v1/projects", json={"name": "Spring promo", "edit": api_edit(asset_id)})
        assert r.status_code == 201, r.text
        project = r.json()
        r = svc.get(f"/v1/projects/{project['id']}/otio")
        assert r.status_code == 200, r.text
        kept["PROJECT_OTIO"] = r.json()
        body = {
            "name": "Spring promo (conformed)",
            "timeline": r.json()["timeline"],
            "message": "from Resolve",
        }
        kept["PROJECT_FROM_OTIO_BODY"] = body
        r = svc.post("/v1/projects/otio", json=body)
        assert r.status_code == 201, r.text
        kept["PROJECT_FROM_OTIO"] = r.json()
        problem(
            "ERROR_NOT_OTIO",
            svc.post("/v1/projects/otio", json={"name": "x", "timeline": {"OTIO_SCHEMA": "Nonsense.1"}}),
            422,
            "validation-error",
        )
    return kept
