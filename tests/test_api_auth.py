"""Every route, table-driven from the OpenAPI document, so a new route cannot forget auth:
missing, revoked and under-scoped credentials are refused, and another workspace gets 404."""

from __future__ import annotations

from typing import Any

from people import member
from people import sign_in as people_sign_in
from service import Service

# Public by their standards: the token endpoint authenticates the client in its form (RFC 6749),
# the server metadata is for anyone (RFC 8414).
PUBLIC = {"/healthz", "/readyz", "/v1/oauth/token", "/.well-known/oauth-authorization-server"}
# Revocation authenticates the client that holds the token (RFC 7009), not a key's scopes.
CLIENT_AUTHENTICATED = {"/v1/oauth/revoke"}
FAMILY_SCOPES = {
    "assets": "assets",
    "projects": "projects",
    "renders": "renders",
    "keys": "keys",
    "oauth": "keys",
    "brand_kits": "brand_kits",
    "batches": "batches",
    "events": "events",
    "audit": "admin",
    "templates": "templates",
    "webhook_endpoints": "webhooks",
    "workspaces": "admin",  # and `operator` to list or create
}


def _routes(service: Service) -> list[tuple[str, str]]:
    paths = service.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops if path not in PUBLIC]


def _workspace_of(service: Service, token: str) -> str:
    return str(service.client.get("/v1/workspace", headers={"Authorization": f"Bearer {token}"}).json()["id"])


def _session_only(service: Service) -> set[tuple[str, str]]:
    """A person's own routes: signed in by the session cookie, never by a key or token."""
    paths = service.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return {
        (method.upper(), path)
        for path, ops in paths.items()
        for method, op in ops.items()
        if op.get("security") and all(list(s) == ["sessionCookie"] for s in op["security"])
    }


def _family(path: str) -> str | None:
    parts = path.split("/")
    return FAMILY_SCOPES.get(parts[2]) if len(parts) > 2 else None


def _fill(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


COLOUR_EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]}
}


def _call(service: Service, method: str, url: str, token: str | None) -> Any:
    """The request, with a body valid enough that only auth or ownership can refuse it."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if url.startswith("/v1/uploads"):  # tus: what every tus client sends
        headers["Tus-Resumable"] = "1.0.0"
        if method == "PATCH" or (method == "POST" and url != "/v1/uploads"):  # POST: PATCH overridden
            headers.update({"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
            if method == "POST":
                headers["X-HTTP-Method-Override"] = "PATCH"
            return service.client.request(method, url, headers=headers, content=b"x")
    if method == "PATCH" and "/projects/" in url:
        headers["Content-Type"] = "application/json-patch+json"
        return service.client.request(
            method,
            url,
            headers={**headers, "If-Match": "*"},
            content=b'[{"op": "replace", "path": "/timeline/background", "value": "#000000"}]',
        )
    if method == "PUT" and "/brand_kits/" in url:
        return service.client.request(method, url, headers={**headers, "If-Match": "*"}, json={"name": "k"})
    if method == "PUT" and "/templates/" in url:
        return service.client.request(
            method, url, headers={**headers, "If-Match": "*"}, json={"edit": COLOUR_EDIT}
        )
    if method == "PUT" and "/projects/" in url:
        return service.client.request(
            method, url, headers={**headers, "If-Match": "*"}, json={"edit": COLOUR_EDIT}
        )
    if method == "PATCH" and "/workspaces/" in url:
        return service.client.request(method, url, headers=headers, json={"name": "renamed"})
    if method == "POST" and url.endswith("/recover"):
        return service.client.request(method, url, headers=headers, json={"since": "2026-01-01T00:00:00Z"})
    if method == "PATCH" and "/transcripts/" in url:
        return service.client.request(
            method, url, headers={**headers, "If-Match": "*"}, json={"text": "words"}
        )
    if method == "PATCH" and "/members/" in url:
        return service.client.request(method, url, headers=headers, json={"role": "viewer"})
    if method == "POST" and url.endswith("/review"):
        return service.client.request(method, url, headers=headers, json={"state": "approved"})
    if method in ("POST", "PUT", "PATCH"):
        return service.client.request(method, url, headers={**headers, "If-Match": "*"}, json={})
    return service.client.request(method, url, headers=headers)


def _code(r: Any) -> str | None:
    return r.json().get("code") if r.content else None


def _resources(service: Service, media: Any) -> dict[str, str]:
    """One resource of each kind in the service's workspace."""
    video = media.video(duration=0.4)
    with video.open("rb") as f:
        asset = service.post("/v1/assets", files={"file": ("clip.mp4", f, "video/mp4")}).json()
    edit = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": asset["id"]}}]}]},
        "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
    }
    project = service.post("/v1/projects", json={"name": "p", "edit": edit}).json()
    render = service.post("/v1/renders", json={"project_id": project["id"]}).json()
    key = service.post("/v1/keys", json={"scopes": ["assets:read"]}).json()
    client = service.post("/v1/oauth/clients", json={"scopes": ["assets:read"]}).json()
    kit = service.post("/v1/brand_kits", json={"name": "k"}).json()
    template = service.post("/v1/templates", json={"name": "t", "edit": edit}).json()
    batch = service.post("/v1/batches", json={"template_id": template["id"], "rows": [{}]}).json()
    event = service.get("/v1/events", params={"limit": 1}).json()["data"][0]
    hook = service.post("/v1/webhook_endpoints", json={"url": "https://hooks.example.com/reelforge"}).json()
    ping = service.post(f"/v1/webhook_endpoints/{hook['id']}/test").json()
    upload = service.client.post(
        "/v1/uploads",
        headers=service.headers(**{"Tus-Resumable": "1.0.0", "Upload-Length": "10"}),
    )
    assert upload.status_code == 201, upload.text
    return {
        "asset_id": asset["id"],
        "project_id": project["id"],
        "number": "1",
        "index": "0",
        "render_id": render["id"],
        "event_id": event["id"],
        "endpoint_id": hook["id"],
        "message_id": ping["id"],
        "key_id": key["id"],
        "client_id": client["id"],
        "kit_id": kit["id"],
        "batch_id": batch["id"],
        "template_id": template["id"],
        "workspace_id": service.get("/v1/workspace").json()["id"],
        "upload_id": upload.headers["Location"].rsplit("/", 1)[1],
    }


def test_every_route_refuses_bad_credentials(sqlite_service: Service, media: Any) -> None:
    service = sqlite_service
    ids = _resources(service, media)
    revoked = service.post("/v1/keys", json={"scopes": ["admin"]}).json()
    service.post(f"/v1/keys/{revoked['id']}/revoke")
    narrow = {
        "keys": service.new_key("assets:read", "assets:write"),
        "other": service.new_key("keys:read", "keys:write"),
    }
    routes = _routes(service)
    assert len(routes) >= 25
    failures = []
    session_only = _session_only(service)
    assert ("GET", "/auth/session") in session_only
    for method, path in routes:
        url = _fill(path, ids)
        r = _call(service, method, url, None)
        # A session route has no challenge to offer (no bearer scheme): 401 says sign in.
        challenged = (method, path) in session_only or "www-authenticate" in r.headers
        if r.status_code != 401 or not challenged:
            failures.append((method, path, "missing", r.status_code))
        r = _call(service, method, url, revoked["token"])
        if r.status_code != 401:
            failures.append((method, path, "revoked", r.status_code))
        family = _family(path)
        if family is not None and path not in CLIENT_AUTHENTICATED:
            token = narrow["keys"] if family == "keys" else narrow["other"]
            r = _call(service, method, url, token)
            if r.status_code != 403 or (method != "HEAD" and _code(r) != "insufficient-scope"):
                failures.append((method, path, "scope", r.status_code))
    assert failures == []


def test_another_workspace_sees_nothing(sqlite_service: Service, media: Any) -> None:
    service = sqlite_service
    ids = _resources(service, media)
    other = service.other_workspace_key()
    failures = []
    document = service.client.get("/openapi.json").json()
    operator_only = {
        (method.upper(), path)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if op.get("security") and all(list(s.values()) == [["operator"]] for s in op["security"])
    }
    session_only = _session_only(service)
    stranger = service.client.__class__(service.client.app)
    member(service, "stranger@example.com", "owner", workspace=_workspace_of(service, other))
    assert people_sign_in(stranger, "stranger@example.com").status_code == 303
    csrf = stranger.get("/auth/session").json()["csrf_token"]
    for method, path in _routes(service):
        if (method, path) in session_only:
            # A person of another workspace, signed in: what is not theirs is not found.
            if "{" in path:
                r = stranger.request(method, _fill(path, ids), headers={"X-CSRF-Token": csrf})
                if r.status_code != 404:
                    failures.append((method, path, r.status_code))
            continue
        if path.startswith("/v1/assets/by-ref/"):
            # The DAM sync names the caller's own reference: it creates in the caller's workspace.
            continue
        if "{" not in path:
            if method == "GET" and path not in ("/v1/workspace", "/v1/events/stream"):  # a stream never ends
                listed = _call(service, method, path, other).json()
                leaked = {d.get("id") for d in listed.get("data", [])} & set(ids.values())
                if leaked:
                    failures.append((method, path, "listed", leaked))
            continue
        r = _call(service, method, _fill(path, ids), other)
        if (method, path) in operator_only:
            # Refused for the scope before anything is looked up: it tells nothing of the id.
            if r.status_code != 403 or _code(r) != "insufficient-scope":
                failures.append((method, path, r.status_code))
        elif r.status_code != 404:
            failures.append((method, path, r.status_code))
    assert failures == [], failures
    # and the resources are untouched for their owner
    assert service.get(f"/v1/assets/{ids['asset_id']}").status_code == 200
    assert service.get(f"/v1/projects/{ids['project_id']}").json()["revision"] == 1
