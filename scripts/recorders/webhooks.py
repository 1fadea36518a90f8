"""The examples of webhook endpoints and their delivery log (``reelforge.api.examples_webhooks``), recorded from a running service.

The helpers come from ``tests/test_webhooks.py``, which checks the examples against a service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service import running_service
from test_webhooks import COLOUR, FAST, Answer, Receiver, messages, wait_for

#
# Run this file as a script to record the examples again from a real service and dispatcher.

NO_SUCH = "01jdzzzzzzzzzzzzzzzzzzzzzz"
SHOWN_URL = "https://hooks.example.com"


def record(root: Path) -> dict[str, Any]:
    receiver = Receiver()
    kept: dict[str, Any] = {}

    def keep(name: str, value: Any) -> Any:
        kept[name] = value
        return value

    def ok(name: str, r: Any, status: int) -> Any:
        assert r.status_code == status, (name, r.status_code, r.text)
        return keep(name, r.json())

    def problem(name: str, r: Any, status: int, code: str) -> None:
        assert r.status_code == status and r.json()["code"] == code, (name, r.text)
        keep(name, r.json())

    try:
        with running_service(
            root / "hooks", "sqlite", workers=1, **{**FAST, "webhooks_retry_schedule": [1, 1, 1, 60]}
        ) as svc:
            base = receiver.url("")
            receiver.per_message["/reelforge"] = [
                Answer(503, b'{"error":"database unavailable"}', {"Content-Type": "application/json"}),
                Answer(500, b"Internal Server Error"),
                Answer(502, b"Bad Gateway"),
                Answer(200, b'{"received":true}', {"Content-Type": "application/json"}),
            ]
            body = keep(
                "ENDPOINT_CREATE",
                {
                    "url": f"{base}/reelforge",
                    "event_types": ["render.*", "asset.ready"],
                    "description": "CMS: publish finished renders",
                },
            )
            r = svc.post("/v1/webhook_endpoints", json=body)
            created = ok("ENDPOINT_CREATED", r, 201)
            keep("ENDPOINT_CREATED_HEADERS", {"Location": r.headers["location"]})
            one = f"/v1/webhook_endpoints/{created['id']}"
            svc.post(
                "/v1/webhook_endpoints",
                json={"url": f"{base}/audit", "event_types": ["*"], "description": "audit trail"},
            )
            ok("ENDPOINT_LIST", svc.get("/v1/webhook_endpoints?limit=2"), 200)
            r = svc.post("/v1/renders", json={"edit": COLOUR, "metadata": {"cms_entry": "post-4711"}})
            assert r.status_code == 202, r.text
            message = wait_for(
                lambda: [
                    m
                    for m in messages(svc, created["id"], status="succeeded")
                    if m["attempts"] == 4 and m["event_type"] == "render.succeeded"
                ],
                60,
            )[0]
            ok("MESSAGE", svc.get(f"{one}/messages/{message['id']}"), 200)
            ok("ATTEMPT_LIST", svc.get(f"{one}/messages/{message['id']}/attempts"), 200)
            ok("ENDPOINT", svc.get(one), 200)
            body = keep(
                "ENDPOINT_UPDATE",
                {"event_types": ["render.*", "asset.*"], "description": "CMS: renders and assets"},
            )
            ok("ENDPOINT_UPDATED", svc.client.patch(one, headers=svc.headers(), json=body), 200)
            body = keep("ENDPOINT_ROTATE", {"grace_seconds": 3600})
            ok("ENDPOINT_ROTATED", svc.post(f"{one}/rotate_secret", json=body), 200)
            ok("TEST_MESSAGE", svc.post(f"{one}/test"), 202)
            wait_for(lambda: not messages(svc, created["id"], status="pending"), 30)
            # the receiver breaks: a render's messages fail, then it answers 410 and is disabled
            del receiver.per_message["/reelforge"]
            receiver.script("/reelforge", Answer(500, b"Internal Server Error"))
            svc.post("/v1/renders", json={"edit": COLOUR, "metadata": {"cms_entry": "post-4712"}})
            wait_for(
                lambda: (
                    len([m for m in messages(svc, created["id"], status="pending") if m["attempts"] >= 1])
                    >= 2
                ),
                60,
            )
            receiver.script("/reelforge", Answer(410, b"gone"))
            wait_for(lambda: not svc.get(one).json()["enabled"], 60)
            problem("ERROR_ENDPOINT_DISABLED", svc.post(f"{one}/test"), 409, "conflict")
            ok("MESSAGE_LIST", svc.get(f"{one}/messages?status=failed&limit=2"), 200)
            receiver.script(
                "/reelforge", Answer(200, b'{"received":true}', {"Content-Type": "application/json"})
            )
            ok("ENDPOINT_ENABLED", svc.post(f"{one}/enable"), 200)
            failed = messages(svc, created["id"], status="failed")[0]
            ok("MESSAGE_RETRIED", svc.post(f"{one}/messages/{failed['id']}/retry"), 202)
            body = keep("RECOVER", {"since": created["created_at"]})
            recovered = ok("RECOVERED", svc.post(f"{one}/recover", json=body), 202)
            assert recovered["messages"] >= 1, recovered
            r = svc.post(
                f"{one}/recover", json={"since": "2026-11-28T10:00:00Z", "until": "2026-11-28T09:00:00Z"}
            )
            problem("ERROR_RECOVER_WINDOW", r, 422, "validation-error")
            reader = svc.new_key("renders:read")
            problem(
                "ERROR_SCOPE_WEBHOOKS_READ",
                svc.get("/v1/webhook_endpoints", token=reader),
                403,
                "insufficient-scope",
            )
            problem(
                "ERROR_SCOPE_WEBHOOKS_WRITE",
                svc.post("/v1/webhook_endpoints", token=reader, json={}),
                403,
                "insufficient-scope",
            )
            problem(
                "ERROR_ENDPOINT_NOT_FOUND", svc.get(f"/v1/webhook_endpoints/we_{NO_SUCH}"), 404, "not-found"
            )
            problem(
                "ERROR_MESSAGE_NOT_FOUND", svc.get(f"{one}/messages/msg_{NO_SUCH}/attempts"), 404, "not-found"
            )
            r = svc.post(
                "/v1/webhook_endpoints",
                json={
                    "url": "https://hooks.example.com/x",
                    "event_types": ["Render.Succeeded"],
                    "secret": "mine",
                },
            )
            problem("ERROR_ENDPOINT_VALIDATION", r, 422, "validation-error")
        with running_service(root / "strict", "sqlite") as strict:
            r = strict.post("/v1/webhook_endpoints", json={"url": "https://169.254.169.254/latest/meta-data"})
            problem("ERROR_URL_PRIVATE", r, 422, "url-not-allowed")
            r = strict.post("/v1/webhook_endpoints", json={"url": "http://hooks.example.com/reelforge"})
            problem("ERROR_URL_SCHEME", r, 422, "url-not-allowed")
    finally:
        receiver.close()
    # The receiver's loopback address, shown as the public URL a production service accepts.
    text = json.dumps(kept).replace(f"http://127.0.0.1:{receiver.port}", SHOWN_URL)
    shown: dict[str, Any] = json.loads(text)
    return shown
