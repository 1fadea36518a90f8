"""Authorisation hardening: no credential acts on a credential holding more than itself, expired
access tokens are refused at once, and events show only the families the reader may read."""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx

from reelforge.jobs.redact import PathRedactor
from service import Service, holding_renders, running_service, wait_render
from test_events import COLOUR, SSE, live, sse_get
from test_webhooks import (
    Receiver,
    attempts,
    create_endpoint,
    emit,
    hooked,
    messages,
    receiver,
    settled,
    wait_for,
)

__all__ = ["hooked", "receiver"]  # fixtures shared with the webhook tests


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


# ------------------------------------------------------------------ credentials acting on credentials


def test_a_key_cannot_revoke_or_roll_a_key_holding_more(service: Service) -> None:
    writer = service.new_key("keys:write", "keys:read")
    admin = service.post("/v1/keys", json={"name": "ops", "scopes": ["admin"]}).json()
    for action in ("revoke", "roll"):
        r = service.post(f"/v1/keys/{admin['id']}/{action}", token=writer)
        assert r.status_code == 403, (action, r.text)
        body = r.json()
        assert body["code"] == "forbidden" and f"cannot {action}" in body["detail"]
        assert "admin" in body["detail"]
    # Nothing happened: the admin key still works and was not replaced.
    assert service.get("/v1/workspace", token=admin["token"]).status_code == 200
    assert service.get(f"/v1/keys/{admin['id']}").json()["revoked_at"] is None
    # A key with more than the caller's scopes, though not admin, is refused the same way.
    wider = service.post("/v1/keys", json={"scopes": ["keys:write", "assets:read"]}).json()
    r = service.post(f"/v1/keys/{wider['id']}/revoke", token=writer)
    assert r.status_code == 403 and "assets:read" in r.json()["detail"]
    # Within its own scopes it may (itself included); an admin may revoke anything.
    narrow = service.post("/v1/keys", json={"scopes": ["keys:read"]}).json()
    assert service.post(f"/v1/keys/{narrow['id']}/revoke", token=writer).status_code == 200
    assert service.post(f"/v1/keys/{wider['id']}/revoke").status_code == 200


def test_a_key_cannot_revoke_an_oauth_client_holding_more(service: Service) -> None:
    writer = service.new_key("keys:write")
    client = service.post("/v1/oauth/clients", json={"name": "cms", "scopes": ["admin"]}).json()
    r = service.post(f"/v1/oauth/clients/{client['id']}/revoke", token=writer)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert "cannot revoke" in r.json()["detail"]
    token = service.client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=_basic(client["id"], client["client_secret"]),
    )
    assert token.status_code == 200  # the client was not revoked
    mine = service.post("/v1/oauth/clients", token=writer, json={"scopes": ["keys:write"]}).json()
    assert service.post(f"/v1/oauth/clients/{mine['id']}/revoke", token=writer).status_code == 200
    assert service.post(f"/v1/oauth/clients/{client['id']}/revoke").status_code == 200


# ------------------------------------------------------------------ expired access tokens


def _token(service: Service, scopes: list[str], ttl: int) -> str:
    """An access token signed by the server for a real client, with ``ttl`` (negative: expired
    that many seconds ago)."""
    client = service.post("/v1/oauth/clients", json={"scopes": scopes}).json()
    with service.services.sessions() as db:
        from reelforge.db.models import OAuthClient

        row = db.get(OAuthClient, client["id"])
        assert row is not None
        workspace_id = row.workspace_id
    return service.services.secrets.issue_token(
        issuer=service.services.issuer,
        audience=service.services.audience,
        client_id=client["id"],
        workspace_id=workspace_id,
        scopes=scopes,
        ttl=ttl,
    )


def test_an_access_token_is_refused_as_soon_as_it_expires(service: Service) -> None:
    assert service.get("/v1/keys", token=_token(service, ["keys:read"], 60)).status_code == 200
    r = service.get("/v1/keys", token=_token(service, ["keys:read"], -2))
    assert r.status_code == 401 and r.json()["detail"] == "the access token expired"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


# ------------------------------------------------------------------ events show what the reader may read


def _upload(service: Service, path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        r = service.post("/v1/assets", files={"file": ("secret-plan.png", f)})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def test_events_show_only_families_the_reader_may_read(service: Service, media: Any) -> None:
    asset = _upload(service, media.image())
    service.post("/v1/renders", json={"edit": COLOUR}).raise_for_status()  # no worker: stays queued
    project = service.post("/v1/projects", json={"name": "p", "edit": COLOUR}).json()
    everything = service.get("/v1/events", params={"limit": 100}).json()["data"]
    assert {e["type"] for e in everything} >= {"asset.ready", "render.queued", "project.created"}
    asset_event = next(e for e in everything if e["type"] == "asset.ready")

    events_only = service.new_key("events:read")
    assert service.get("/v1/events", events_only).json()["data"] == []
    r = service.get(f"/v1/events/{asset_event['id']}", events_only)
    assert r.status_code == 404 and "secret-plan" not in r.text
    r = service.get("/v1/events", events_only, params={"resource_id": asset["id"]})
    assert r.json()["data"] == []

    projects = service.new_key("events:read", "projects:read")
    seen = service.get("/v1/events", projects, params={"limit": 100}).json()["data"]
    assert [e["resource"]["id"] for e in seen] == [project["id"]]
    assert "secret-plan" not in json.dumps(seen)

    assets = service.new_key("events:read", "assets:read")
    seen = service.get("/v1/events", assets, params={"type": "*"}).json()["data"]
    assert "asset.ready" in {e["type"] for e in seen}
    assert all(e["type"].startswith("asset.") for e in seen)  # asset.updated too, once previews are made
    assert service.get(f"/v1/events/{asset_event['id']}", assets).json() == asset_event


def test_the_event_stream_shows_only_families_the_reader_may_read(service: Service, media: Any) -> None:
    _upload(service, media.image())
    service.post("/v1/renders", json={"edit": COLOUR}).raise_for_status()
    first = service.post("/v1/projects", json={"name": "first", "edit": COLOUR}).json()
    reader = service.new_key("events:read", "projects:read")
    with (
        live(service) as base,
        httpx.Client(base_url=base, timeout=httpx.Timeout(30, read=10)) as client,
        sse_get(client, "/v1/events/stream", reader, **{"Last-Event-ID": "0"}) as response,
    ):
        assert response.status_code == 200
        stream = SSE(response)
        service.post("/v1/renders", json={"edit": COLOUR}).raise_for_status()
        last = service.post("/v1/projects", json={"name": "last", "edit": COLOUR}).json()
        got: list[dict[str, str]] = []
        while not got or json.loads(got[-1]["data"])["resource"]["id"] != last["id"]:
            message = stream.next()
            assert message is not None
            got.append(message)
    # Events come in sequence order: a render or asset event shown would be among these.
    assert [(m["event"], json.loads(m["data"])["resource"]["id"]) for m in got] == [
        ("project.created", first["id"]),
        ("project.created", last["id"]),
    ]


def test_the_webhook_delivery_log_shows_only_families_the_reader_may_read(
    hooked: Service, receiver: Receiver
) -> None:
    svc = hooked
    endpoint = create_endpoint(svc, receiver.url("/all"))
    emit(svc, "render.succeeded", state="succeeded")
    emit(svc, "asset.ready", "ast_01test", filename="secret-plan.png")
    receiver.wait("/all", 2)
    sent = settled(svc, endpoint["id"], "succeeded", 2)
    by_type = {m["event_type"]: m["id"] for m in sent}
    base = f"/v1/webhook_endpoints/{endpoint['id']}/messages"

    hooks_only = svc.new_key("webhooks:read")
    r = svc.get(base, hooks_only)
    assert r.status_code == 200 and r.json()["data"] == []
    r = svc.get(f"{base}/{by_type['asset.ready']}", hooks_only)
    assert r.status_code == 404 and "secret-plan" not in r.text
    assert svc.get(f"{base}/{by_type['asset.ready']}/attempts", hooks_only).status_code == 404

    renders = svc.new_key("webhooks:read", "renders:read")
    seen = svc.get(base, renders).json()["data"]
    assert [m["event_type"] for m in seen] == ["render.succeeded"]
    assert svc.get(f"{base}/{by_type['render.succeeded']}", renders).status_code == 200
    assert svc.get(f"{base}/{by_type['asset.ready']}", renders).status_code == 404
    # a retry answers with the message (its payload): the same rule
    retrier = svc.new_key("webhooks:write", "renders:read")
    r = svc.post(f"{base}/{by_type['asset.ready']}/retry", retrier)
    assert r.status_code == 404 and "secret-plan" not in r.text
    assert svc.post(f"{base}/{by_type['render.succeeded']}/retry", retrier).status_code == 202


# ------------------------------------------------------------------ webhook registration asks no DNS


class Lookups:
    """Every host name this process asks the system resolver for, seen through Python's audit
    events (``socket.getaddrinfo``): an observer only, resolution itself is untouched. An audit
    hook cannot be removed, so one is installed once and records only while a test watches."""

    hook_installed = False
    watching: list[str] | None = None

    @classmethod
    def _hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.getaddrinfo" and cls.watching is not None and args:
            host = args[0]
            cls.watching.append(host.decode() if isinstance(host, bytes) else str(host))

    def __enter__(self) -> list[str]:
        if not Lookups.hook_installed:
            sys.addaudithook(Lookups._hook)
            Lookups.hook_installed = True
        Lookups.watching = []
        return Lookups.watching

    def __exit__(self, *exc: object) -> None:
        Lookups.watching = None


NEVER_RESOLVES = "hooks.reelforge-test.invalid"  # RFC 2606: .invalid never resolves


def test_registering_a_webhook_url_makes_no_dns_query(tmp_path: Path) -> None:
    settings = {"webhooks_retry_schedule": [30]}  # one attempt is enough to look at
    with running_service(tmp_path, "sqlite", **settings) as svc:
        with Lookups() as lookups:
            r = svc.post("/v1/webhook_endpoints", json={"url": f"https://{NEVER_RESOLVES}/hook"})
            assert r.status_code == 201, r.text
            endpoint = r.json()
            r = svc.client.patch(
                f"/v1/webhook_endpoints/{endpoint['id']}",
                headers=svc.headers(),
                json={"url": f"https://other.{NEVER_RESOLVES}/hook"},
            )
            assert r.status_code == 200, r.text
            assert not [h for h in lookups if NEVER_RESOLVES in h], lookups
        # literal addresses and loopback names are still refused at once, without DNS
        for url in ("https://127.0.0.1/hook", "https://[::ffff:10.0.0.1]/", "https://localhost/x"):
            r = svc.post("/v1/webhook_endpoints", json={"url": url})
            assert r.status_code == 422 and r.json()["code"] == "url-not-allowed", (url, r.text)
        # the delivery resolves the name, and fails safely: nothing is sent anywhere
        with Lookups() as lookups:
            emit(svc, "render.succeeded")
            message = wait_for(lambda: [m for m in messages(svc, endpoint["id"]) if m["attempts"] == 1])[0]
        (attempt,) = attempts(svc, endpoint["id"], message["id"])
        assert attempt["error_class"] == "dns" and attempt["response_status"] is None
        assert f"other.{NEVER_RESOLVES}" in lookups


# ------------------------------------------------------------------ a failed render shows no server path


def test_a_failed_renders_log_names_assets_not_server_paths(rendering: Service, media: Any) -> None:
    """The asset's stored file turns to garbage after the render was planned (held at
    `rendering`, before FFmpeg starts): FFmpeg itself fails, naming the file it could not open."""
    svc = rendering
    with Path(media.video(duration=0.4)).open("rb") as f:
        r = svc.post("/v1/assets", files={"file": ("clip.mp4", f)})
    assert r.status_code in (200, 201), r.text
    asset = r.json()
    with svc.services.sessions() as db:
        from reelforge.db.models import Asset

        row = db.get(Asset, asset["id"])
        assert row is not None
        stored = svc.services.storage.local_path(row.storage_key)
    edit = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": asset["id"]}}]}]},
        "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
    }
    with holding_renders(svc) as gate:
        render = svc.post("/v1/renders", json={"edit": edit}).json()
        hold = gate.next(render["id"])
        stored.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is no longer a video")
        hold.release()
        done = wait_render(svc, render["id"])
    assert done["state"] == "failed" and done["error"]["code"] == "ffmpeg_failed", done
    log_tail = done["error"]["log_tail"]
    assert any(asset["id"] in line for line in log_tail), log_tail  # the input, by its asset id
    events = svc.get("/v1/events", params={"resource_id": render["id"], "limit": 100}).json()["data"]
    with svc.services.sessions() as db:
        from reelforge.db.models import Render

        stored_tail = db.get(Render, render["id"]).log_tail  # type: ignore[union-attr]
    shown = json.dumps([done, events, stored_tail])
    server_paths = {
        str(svc.data_dir),
        str(svc.data_dir.resolve()),
        str(svc.services.storage.root),
        str(svc.services.storage.temp_dir()),
        str(stored),
        "/tmp/",
    }
    for path in server_paths:
        assert path not in shown, (path, shown)
    assert not re.search(r"(?<![\w./:-])/(?:[\w.-]+/)+[\w.-]+", " ".join(log_tail)), log_tail
    assert " @ 0x" not in shown  # nor the server's memory layout


def test_the_redactor_keeps_pointers_and_names_and_drops_the_rest(tmp_path: Path) -> None:
    work = tmp_path / "render-rnd_x-a1"
    source = tmp_path / "storage" / "ws_1" / "ast_1" / "original.mp4"
    redactor = PathRedactor({source: "ast_1", work: "", tmp_path / "storage": "storage"})
    error = {
        "code": "ffmpeg_failed",
        "message": f"cannot read {source} (at /timeline/tracks/0/clips/0/asset/src)",
        "pointer": "/timeline/tracks/0/clips/0/asset/src",
        "log_tail": [
            f"[in#0 @ 0x5631d2a0] Error opening input file {source}.",
            f"{work}/work/graph.txt: Invalid argument",
            f"[out#0/mp4 @ 0x1] Error opening output {work}/out/video.mp4: Permission denied",
            'Could not load font "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf": cannot open resource',
            "fps 30/1, time base 1/15360",
        ],
    }
    assert redactor.error(error) == {
        "code": "ffmpeg_failed",
        "message": "cannot read ast_1 (at /timeline/tracks/0/clips/0/asset/src)",
        "pointer": "/timeline/tracks/0/clips/0/asset/src",
        "log_tail": [
            "[in#0] Error opening input file ast_1.",
            "work/graph.txt: Invalid argument",
            "[out#0/mp4] Error opening output out/video.mp4: Permission denied",
            'Could not load font "DejaVuSans.ttf": cannot open resource',
            "fps 30/1, time base 1/15360",
        ],
    }


def test_server_paths_with_blanks_are_hidden_whole(tmp_path: Path) -> None:
    data = tmp_path / "reel forge data"
    work = data / "work dir" / "render-rnd_x-a1"
    source = data / "storage" / "ws_1" / "ast_1" / "original.mp4"
    font = data / "fonts cache" / "Deja Vu.ttf"
    for path in (work, source.parent, font.parent):
        path.mkdir(parents=True)
    font.write_bytes(b"")
    redactor = PathRedactor({source: "ast_1", work: "", data: "data"})
    escaped = str(work).replace("\\", "\\\\").replace(" ", "\\ ").replace(":", "\\:")
    lines = [
        f"Error opening input file {source}.",
        f"[Parsed_subtitles_0 @ 0x1] Unable to open {escaped}/work/captions.ass",
        f"{work}/out/video.mp4: Permission denied",
        f"fontselect: (Deja Vu, 400, 0) -> {font}, 0, DejaVuSans",
        f"Could not open {tmp_path}/reel forge data/fonts cache",
    ]
    shown = [redactor.log_line(line) for line in lines]
    assert shown == [
        "Error opening input file ast_1.",
        "[Parsed_subtitles_0] Unable to open work/captions.ass",
        "out/video.mp4: Permission denied",
        "fontselect: (Deja Vu, 400, 0) -> data/fonts cache/Deja Vu.ttf, 0, DejaVuSans",
        "Could not open data/fonts cache",
    ]
    # A path the redactor was not told of: taken whole across its blanks, shown as its last part.
    unknown = PathRedactor({})
    assert unknown.log_line(f"cannot open {font}: no such file") == "cannot open Deja Vu.ttf: no such file"
    assert (
        unknown.message(f"read {font} (at /timeline/tracks/0)") == "read Deja Vu.ttf (at /timeline/tracks/0)"
    )
    assert "forge" not in unknown.log_line(f"in {data}/storage and more words")


def test_an_endpoint_receives_only_events_its_registrant_can_read(sqlite_service: Service) -> None:
    """Deliveries carry payloads to whoever runs the receiver: subscribing needs the read scopes."""
    svc = sqlite_service
    writer = svc.new_key("webhooks:write", "renders:read")
    r = svc.post("/v1/webhook_endpoints", writer, json={"url": f"https://{NEVER_RESOLVES}/x"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text  # "*" by default
    assert "assets:read" in r.json()["detail"]
    assert r.json()["errors"][0]["pointer"] == "#/event_types"
    r = svc.post(
        "/v1/webhook_endpoints",
        writer,
        json={"url": f"https://{NEVER_RESOLVES}/x", "event_types": ["render.*", "asset.ready"]},
    )
    assert r.status_code == 403 and "`assets:read` (for asset.ready)" in r.json()["detail"]
    r = svc.post(
        "/v1/webhook_endpoints",
        writer,
        json={"url": f"https://{NEVER_RESOLVES}/x", "event_types": ["render.*"]},
    )
    assert r.status_code == 201, r.text
    endpoint = r.json()
    r = svc.client.patch(
        f"/v1/webhook_endpoints/{endpoint['id']}",
        headers=svc.headers(writer),
        json={"event_types": ["project.*"]},
    )
    assert r.status_code == 403 and "projects:read" in r.json()["detail"]
    assert svc.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()["event_types"] == ["render.*"]
    # nor point an endpoint receiving more at a receiver of its own
    everything = svc.post("/v1/webhook_endpoints", json={"url": f"https://all.{NEVER_RESOLVES}/x"}).json()
    r = svc.client.patch(
        f"/v1/webhook_endpoints/{everything['id']}",
        headers=svc.headers(writer),
        json={"url": f"https://mine.{NEVER_RESOLVES}/x"},
    )
    assert r.status_code == 403 and "assets:read" in r.json()["detail"]
    assert svc.get(f"/v1/webhook_endpoints/{everything['id']}").json()["url"] == everything["url"]
    r = svc.client.patch(
        f"/v1/webhook_endpoints/{endpoint['id']}",
        headers=svc.headers(writer),
        json={"url": f"https://mine.{NEVER_RESOLVES}/x", "description": "mine"},
    )
    assert r.status_code == 200, r.text
    assert svc.post("/v1/webhook_endpoints", json={"url": f"https://{NEVER_RESOLVES}/y"}).status_code == 201
