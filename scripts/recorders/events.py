"""The examples of events, the progress and event streams, and the audit log (``reelforge.api.examples_events``), recorded from a running service.

The helpers come from ``tests/test_events.py``, which checks the examples against a service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from service import running_service
from test_events import SSE, all_events, live, sse_get, upload


def record(root: Path) -> dict[str, Any]:
    import mediagen

    kept: dict[str, Any] = {}
    # Long enough that the progress stream shows progress between states on a fast machine too.
    video = mediagen.make_video(root / "intro.mp4", duration=30, size=(640, 360))
    with running_service(root / "service", workers=1) as svc:

        def problem(name: str, r: Any, status: int, code: str) -> None:
            assert r.status_code == status and r.json()["code"] == code, (name, r.status_code, r.text)
            kept[name] = r.json()

        narrow = svc.new_key("renders:read", "keys:read")
        problem("ERROR_SCOPE_EVENTS_READ", svc.get("/v1/events", narrow), 403, "insufficient-scope")
        problem("ERROR_SCOPE_ADMIN", svc.get("/v1/audit", narrow), 403, "insufficient-scope")
        problem(
            "ERROR_EVENT_TYPE", svc.get("/v1/events", params={"type": "render*"}), 422, "validation-error"
        )
        problem(
            "ERROR_EVENT_NOT_FOUND", svc.get("/v1/events/evt_01jdzzzzzzzzzzzzzzzzzzzzzz"), 404, "not-found"
        )
        problem(
            "ERROR_LAST_EVENT_ID",
            svc.get("/v1/events/stream", headers={"Last-Event-ID": "evt_01jdzzzzzzzzzzzz"}),
            422,
            "validation-error",
        )

        asset = upload(svc, video, "intro.mp4", tags='["promo"]')
        edit = {
            "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": asset["id"]}}]}]},
            "outputs": [{"width": 640, "height": 360, "quality": "medium", "poster": {}}],
        }
        project = svc.post(
            "/v1/projects", json={"name": "Spring promo", "edit": edit, "message": "first cut"}
        ).json()
        r = svc.client.put(
            f"/v1/projects/{project['id']}",
            headers=svc.headers(**{"If-Match": '"1"'}),
            json={"edit": edit, "message": "tighter cut"},
        )
        assert r.status_code == 200, r.text
        with (
            live(svc) as base,
            httpx.Client(base_url=base, timeout=120) as client,
            sse_get(client, "/v1/events/stream?type=render.*", svc.token) as stream_response,
        ):
            stream = SSE(stream_response)
            render = client.post(
                "/v1/renders",
                json={"project_id": project["id"], "metadata": {"order": 1042}},
                headers=svc.headers(),
            ).json()
            with sse_get(client, f"/v1/renders/{render['id']}/progress", svc.token) as progress:
                progress_text = "".join(progress.iter_text())
            stream_text = ""
            for _ in range(3):
                message = stream.next()
                assert message is not None
                stream_text += f"id: {message['id']}\nevent: {message['event']}\ndata: {message['data']}\n\n"
        # the sample shows the first state, the first progress report and the last two messages
        blocks = [b for b in progress_text.replace("\r\n", "\n").split("\n\n") if b.strip()]
        progress_blocks = [b for b in blocks if "event: progress" in b]
        assert progress_blocks, blocks
        shown = list(dict.fromkeys([blocks[0], progress_blocks[0], *blocks[-2:]]))
        kept["PROGRESS_STREAM_SAMPLE"] = "\n\n".join(shown) + "\n\n"
        kept["EVENT_STREAM_SAMPLE"] = stream_text + ": ping\n\n"
        events = all_events(svc, resource_id=render["id"])
        kept["EVENT_LIST"] = svc.get("/v1/events", params={"resource_id": render["id"], "limit": 2}).json()
        kept["EVENT_RENDER_SUCCEEDED"] = events[0]
        kept["EVENT_ASSET_READY"] = all_events(svc, type="asset.ready", resource_id=asset["id"])[0]
        kept["EVENT_PROJECT_UPDATED"] = all_events(svc, type="project.updated")[0]

        key = svc.post("/v1/keys", json={"name": "cms-publisher", "scopes": ["renders:write"]}).json()
        svc.post(f"/v1/keys/{key['id']}/roll", json={"grace_seconds": 3600})
        svc.post(f"/v1/keys/{key['id']}/revoke")
        spare = upload(
            svc, mediagen.make_image(root / "old-logo.png", size=(64, 64), color="red"), "old-logo.png"
        )
        assert svc.client.delete(f"/v1/assets/{spare['id']}", headers=svc.headers()).status_code == 204
        kept["AUDIT_LIST"] = svc.get("/v1/audit", params={"limit": 3}).json()
    return kept
