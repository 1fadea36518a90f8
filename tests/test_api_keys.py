"""API keys, OAuth client credentials, errors and headers, through HTTP."""

from __future__ import annotations

import base64
from typing import Any

from service import Service


def test_bootstrap_key_reaches_the_workspace(service: Service) -> None:
    r = service.get("/v1/workspace")
    assert r.status_code == 200
    assert r.json()["object"] == "workspace" and "admin" in r.json()["scopes"]
    assert r.headers["x-request-id"].startswith("req_")
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"


def test_missing_malformed_unknown_and_revoked_credentials(service: Service) -> None:
    r = service.client.get("/v1/workspace")
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="api"'
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "unauthenticated" and body["request_id"] == r.headers["x-request-id"]
    r = service.client.get("/v1/workspace", headers={"Authorization": "Basic abc"})
    assert r.status_code == 400 and 'error="invalid_request"' in r.headers["www-authenticate"]
    fake = service.token[:-6] + "AAAAAA"
    r = service.get("/v1/workspace", token=fake)
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    key = service.post("/v1/keys", json={"scopes": ["assets:read"]}).json()
    assert service.get("/v1/workspace", token=key["token"]).status_code == 200
    assert service.post(f"/v1/keys/{key['id']}/revoke").status_code == 200
    r = service.get("/v1/workspace", token=key["token"])
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_keys_are_shown_once_and_listed_by_prefix(service: Service) -> None:
    created = service.post(
        "/v1/keys", json={"name": "ci", "scopes": ["renders:write", "renders:read"]}
    ).json()
    assert created["token"].startswith(created["prefix"]) and created["token"].endswith(created["last4"])
    listed = service.get("/v1/keys").json()
    assert listed["object"] == "list"
    assert all("token" not in k and "hash" not in k for k in listed["data"])
    assert created["id"] in {k["id"] for k in listed["data"]}
    got = service.get(f"/v1/keys/{created['id']}").json()
    assert "token" not in got and got["prefix"] == created["prefix"]


def test_scopes_are_enforced_and_cannot_be_escalated(service: Service) -> None:
    reader = service.new_key("keys:read")
    r = service.post("/v1/keys", token=reader, json={"scopes": ["assets:read"]})
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"
    assert 'error="insufficient_scope", scope="keys:write"' in r.headers["www-authenticate"]
    writer = service.new_key("keys:write")
    r = service.post("/v1/keys", token=writer, json={"scopes": ["admin"]})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_unknown_fields_and_scopes_are_refused(service: Service) -> None:
    r = service.post("/v1/keys", json={"scopes": ["assets:read"], "nmae": "typo"})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert {
        "pointer": "#/nmae",
        "detail": "unknown field (check its spelling)",
        "code": "extra_forbidden",
    } in errors
    r = service.post("/v1/keys", json={"scopes": ["assets:delete"]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/scopes"
    r = service.post("/v1/keys", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "invalid-json"


def test_roll_keeps_the_old_key_for_the_grace_period(service: Service) -> None:
    old = service.post("/v1/keys", json={"scopes": ["assets:read"]}).json()
    rolled = service.post(f"/v1/keys/{old['id']}/roll", json={"grace_seconds": 3600}).json()
    assert rolled["token"] != old["token"] and rolled["replaces"]["expires_at"] is not None
    assert service.get("/v1/workspace", token=old["token"]).status_code == 200
    assert service.get("/v1/workspace", token=rolled["token"]).status_code == 200
    immediate = service.post(f"/v1/keys/{rolled['id']}/roll", json={"grace_seconds": 0}).json()
    assert service.get("/v1/workspace", token=rolled["token"]).status_code == 401
    assert service.get("/v1/workspace", token=immediate["token"]).status_code == 200


def test_another_workspace_cannot_see_keys(service: Service) -> None:
    key = service.post("/v1/keys", json={"scopes": ["assets:read"]}).json()
    other = service.other_workspace_key()
    assert service.get(f"/v1/keys/{key['id']}", token=other).status_code == 404
    assert key["id"] not in {k["id"] for k in service.get("/v1/keys", token=other).json()["data"]}


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_oauth_client_credentials(service: Service) -> None:
    client: dict[str, Any] = service.post(
        "/v1/oauth/clients", json={"name": "cms", "scopes": ["assets:read", "keys:read"]}
    ).json()
    r = service.client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": "keys:read"},
        headers=_basic(client["id"], client["client_secret"]),
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    token = r.json()
    assert (
        token["token_type"] == "Bearer"
        and token["scope"] == "keys:read"
        and token["access_token"].count(".") == 2
    )
    assert service.get("/v1/keys", token=token["access_token"]).status_code == 200
    r = service.post("/v1/keys", token=token["access_token"], json={"scopes": ["assets:read"]})
    assert r.status_code == 403
    bad = service.client.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials"}, headers=_basic(client["id"], "wrong")
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert bad.headers["www-authenticate"] == 'Basic realm="oauth"'
    r = service.client.post(
        "/v1/oauth/token", data={"grant_type": "password"}, headers=_basic(client["id"], "x")
    )
    assert r.json()["error"] == "unsupported_grant_type"
    r = service.client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        headers=_basic(client["id"], client["client_secret"]),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    service.post(f"/v1/oauth/clients/{client['id']}/revoke")
    r = service.get("/v1/keys", token=token["access_token"])
    assert r.status_code == 401
    tampered = token["access_token"][:-4] + ("AAAA" if not token["access_token"].endswith("AAAA") else "BBBB")
    assert service.get("/v1/keys", token=tampered).status_code == 401


def test_pagination_with_cursor_and_link(service: Service) -> None:
    for i in range(5):
        service.post("/v1/keys", json={"name": f"k{i}", "scopes": ["assets:read"]})
    seen: list[str] = []
    url = "/v1/keys?limit=2"
    while True:
        r = service.get(url)
        body = r.json()
        seen += [k["id"] for k in body["data"]]
        if not body["has_more"]:
            assert "link" not in r.headers
            break
        assert r.headers["link"].endswith('rel="next"')
        url = f"/v1/keys?limit=2&cursor={body['next_cursor']}"
    assert len(seen) == len(set(seen)) == 6
    r = service.get("/v1/keys?cursor=garbage")
    assert r.status_code == 400 and r.json()["code"] == "invalid-cursor"
    r = service.get("/v1/keys?limit=500")
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "limit"


def test_unknown_route_and_method_are_problems(service: Service) -> None:
    r = service.get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = service.client.delete("/healthz")
    assert r.status_code == 405 and r.json()["code"] == "method-not-allowed"
    assert service.client.get("/healthz").json() == {"status": "ok"}
    assert service.client.get("/readyz").status_code == 200


def test_json_bodies_are_limited(sqlite_service: Service) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'", "scopes": ["assets:read"]}'
    r = sqlite_service.post("/v1/keys", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "content-too-large"

    def chunks() -> Any:
        yield big[:1000]
        yield big[1000:]

    r = sqlite_service.post("/v1/keys", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
