"""The examples of members, invitations, connected apps and the OAuth authorization server
(``reelforge.api.examples_accounts``), recorded from a running service.

A person connects an app through the real sign-in and consent pages (``tests/people.py``), as
``tests/test_accounts.py`` and ``tests/test_connected_apps.py`` check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from people import connect_app, member, sign_in
from service import running_service


def record(root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with running_service(root, "sqlite") as svc:

        def ok(r: Any, status: int = 200) -> Any:
            assert r.status_code == status, (r.status_code, r.text)
            return r.json()

        def problem(r: Any, status: int, code: str) -> Any:
            assert r.status_code == status and r.json()["code"] == code, (r.status_code, r.text)
            return r.json()

        def oauth_error(r: Any, status: int, error: str) -> Any:
            assert r.status_code == status and r.json()["error"] == error, (r.status_code, r.text)
            return r.json()

        narrow = ok(svc.post("/v1/keys", json={"name": "reader", "scopes": ["keys:read"]}), 201)["token"]
        member(svc, "ed@example.com", "editor")
        member(svc, "rita@example.com", "reviewer")
        invite = out["INVITATION_CREATE"] = {"email": "vera@example.com", "role": "viewer"}
        out["INVITATION_CREATED"] = ok(svc.post("/v1/invitations", json=invite), 201)
        out["ERROR_INVITATION_ROLE"] = problem(
            svc.post("/v1/invitations", json={"email": "x@example.com", "role": "king"}),
            422,
            "validation-error",
        )
        out["ERROR_SCOPE_ADMIN"] = problem(svc.get("/v1/members", narrow), 403, "insufficient-scope")
        members = out["MEMBER_LIST"] = ok(svc.get("/v1/members"))
        rita = next(m for m in members["data"] if m["email"] == "rita@example.com")
        change = out["MEMBER_UPDATE"] = {"role": "editor"}
        patch = svc.client.patch
        out["MEMBER_UPDATED"] = ok(patch(f"/v1/members/{rita['id']}", json=change, headers=svc.headers()))
        out["ERROR_MEMBER_NOT_FOUND"] = problem(
            patch("/v1/members/mem_none", json=change, headers=svc.headers()), 404, "not-found"
        )
        assert svc.client.delete(f"/v1/members/{rita['id']}", headers=svc.headers()).status_code == 204

        create = out["APP_CREATE"] = {
            "name": "CMS plugin",
            "redirect_uris": ["https://cms.example.com/reelforge/callback"],
            "client_type": "confidential",
            "scopes": ["assets:read", "renders:read", "renders:write"],
        }
        app = out["APP_CREATED"] = ok(svc.post("/v1/oauth/apps", json=create), 201)
        out["ERROR_APP_INVALID"] = problem(
            svc.post("/v1/oauth/apps", json={**create, "redirect_uris": []}), 422, "validation-error"
        )
        out["ERROR_SCOPE_KEYS_WRITE"] = problem(
            svc.post("/v1/oauth/apps", narrow, json=create), 403, "insufficient-scope"
        )
        out["ERROR_SCOPE_KEYS_READ"] = problem(
            svc.get(
                "/v1/oauth/apps", ok(svc.post("/v1/keys", json={"scopes": ["assets:read"]}), 201)["token"]
            ),
            403,
            "insufficient-scope",
        )
        out["APP_LIST"] = ok(svc.get("/v1/oauth/apps", params={"limit": 2}))
        roll = out["SECRET_ROLL"] = {"grace_seconds": 3600}
        rolled = out["APP_ROLLED"] = ok(svc.post(f"/v1/oauth/apps/{app['id']}/roll-secret", json=roll), 201)
        out["ERROR_APP_NOT_FOUND"] = problem(
            svc.post("/v1/oauth/apps/app_none/roll-secret", json=roll), 404, "not-found"
        )
        out["ERROR_ROLL_GRACE"] = problem(
            svc.post(f"/v1/oauth/apps/{app['id']}/roll-secret", json={"grace_seconds": 10**7}),
            422,
            "validation-error",
        )

        tokens = connect_app(
            svc,
            {**app, "client_secret": rolled["client_secret"]},
            "ed@example.com",
            "assets:read renders:read",
        )
        out["CONNECTED_APP_LIST"] = ok(svc.get("/v1/connected-apps"))
        grant_id = out["CONNECTED_APP_LIST"]["data"][0]["id"]

        out["INTROSPECT_FORM"] = {"token": "<an access or refresh token>", "token_type_hint": "access_token"}
        out["INTROSPECTION"] = ok(svc.post("/v1/oauth/introspect", data={"token": tokens["access_token"]}))
        out["INTROSPECTION_INACTIVE"] = ok(svc.post("/v1/oauth/introspect", data={"token": "not-a-token"}))
        out["REVOKE_FORM"] = {"token": "<a refresh or access token>", "token_type_hint": "refresh_token"}
        basic = (app["client_id"], rolled["client_secret"])
        revoked = svc.client.post("/v1/oauth/revoke", data={"token": tokens["refresh_token"]}, auth=basic)
        assert revoked.status_code == 200 and revoked.content == b"", revoked.text
        out["REVOKE_ERROR_CLIENT"] = oauth_error(
            svc.client.post("/v1/oauth/revoke", data={"token": "x"}, auth=(app["client_id"], "wrong")),
            401,
            "invalid_client",
        )
        out["REVOKE_ERROR_REQUEST"] = oauth_error(
            svc.client.post("/v1/oauth/revoke", data={}, auth=basic), 400, "invalid_request"
        )

        connect_app(svc, {**app, "client_secret": rolled["client_secret"]}, "ed@example.com", "assets:read")
        live = ok(svc.get("/v1/connected-apps"))["data"][0]["id"]
        out["CONNECTED_APP_REVOKED"] = ok(svc.post(f"/v1/connected-apps/{live}/revoke"))
        out["ERROR_CONNECTED_APP_NOT_FOUND"] = problem(
            svc.post("/v1/connected-apps/grt_none/revoke"), 404, "not-found"
        )
        assert grant_id != live
        out["APP_REVOKED"] = ok(svc.post(f"/v1/oauth/apps/{app['id']}/revoke"))

        client = ok(svc.post("/v1/oauth/clients", json={"name": "zapier", "scopes": ["renders:read"]}), 201)
        out["CLIENT_ROLLED"] = ok(svc.post(f"/v1/oauth/clients/{client['id']}/roll-secret", json=roll), 201)
        out["ERROR_CLIENT_NOT_FOUND"] = problem(
            svc.post("/v1/oauth/clients/cli_none/roll-secret", json=roll), 404, "not-found"
        )
        out["METADATA"] = ok(svc.client.get("/.well-known/oauth-authorization-server"))

        # A person's own session (the cookie) and the apps they connected.
        dam = ok(
            svc.post("/v1/oauth/apps", json={**create, "name": "DAM plugin", "scopes": ["assets:read"]}), 201
        )
        connect_app(svc, dam, "ed@example.com", "assets:read")
        browser = TestClient(svc.client.app, base_url="http://testserver", follow_redirects=False)
        out["ERROR_NO_SESSION"] = problem(browser.get("/auth/session"), 401, "unauthenticated")
        assert sign_in(browser, "ed@example.com").status_code == 303
        session = out["SESSION"] = ok(browser.get("/auth/session"))
        csrf = {"X-CSRF-Token": session["csrf_token"]}
        workspace = session["memberships"][0]["workspace_id"]
        mine = out["MY_CONNECTED_APPS"] = ok(
            browser.get("/auth/connected-apps", params={"workspace_id": workspace})
        )
        out["ERROR_CSRF"] = problem(
            browser.post(f"/auth/connected-apps/{mine['data'][0]['id']}/revoke"), 403, "forbidden"
        )
        out["MY_CONNECTED_APP_REVOKED"] = ok(
            browser.post(f"/auth/connected-apps/{mine['data'][0]['id']}/revoke", headers=csrf)
        )
        out["ERROR_MY_CONNECTED_APP_NOT_FOUND"] = problem(
            browser.post("/auth/connected-apps/grt_none/revoke", headers=csrf), 404, "not-found"
        )
        out["SIGNED_OUT_EVERYWHERE"] = ok(browser.post("/auth/sign-out-everywhere", headers=csrf))
    return out
