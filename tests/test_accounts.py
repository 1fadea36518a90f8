"""People: invitations, password sign-in (lockout, rate limits, no enumeration), console
sessions (cookies, CSRF, timeouts, sign-out everywhere), members and roles, the operator's
first-owner command, and the role x scope matrix; on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from people import PASSWORD, member, sign_in, workspace_id
from reelforge.db.accounts import ConsoleSession, User
from reelforge.db.audit import AuditEntry
from reelforge.db.models import utcnow
from reelforge.services.accounts import ROLE_SCOPES, ROLES, role_scopes
from reelforge.services.credentials import SCOPES
from service import Service, require_database, running_service


def invite(svc: Service, email: str, role: str, token: str | None = None) -> Any:
    return svc.post("/v1/invitations", token=token, json={"email": email, "role": role})


def test_an_invitation_link_works_once(service: Service) -> None:
    r = invite(service, "Reviewer@Example.com", "reviewer")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["email"] == "reviewer@example.com" and body["role"] == "reviewer"
    path = body["link"].removeprefix(service.services.issuer)
    token = path.rsplit("/", 1)[1]
    page = service.client.get(path)
    assert page.status_code == 200 and page.headers["x-frame-options"] == "DENY"
    # Too short a password: refused, nothing made.
    short = service.client.post(
        "/auth/invitations/accept", data={"token": token, "password": "short"}, follow_redirects=False
    )
    assert short.status_code == 422
    joined = service.client.post(
        "/auth/invitations/accept",
        data={"token": token, "password": PASSWORD, "name": "Rae"},
        follow_redirects=False,
    )
    assert joined.status_code == 303
    cookie = joined.headers["set-cookie"]
    assert (
        "rf_session=" in cookie
        and "HttpOnly" in cookie
        and "SameSite=lax" in cookie
        and "Secure" not in cookie
    )
    me = service.client.get("/auth/session").json()
    assert me["user"]["email"] == "reviewer@example.com"
    assert me["memberships"][0]["role"] == "reviewer" and "assets:approve" in me["memberships"][0]["scopes"]
    again = service.client.post(
        "/auth/invitations/accept", data={"token": token, "password": PASSWORD}, follow_redirects=False
    )
    assert again.status_code == 404
    with service.services.sessions() as db:
        actions = [a for (a,) in db.query(AuditEntry.action).order_by(AuditEntry.created_at)]
    assert "invitation.created" in actions and "member.added" in actions


def test_invitations_never_beyond_the_inviter(service: Service) -> None:
    assert invite(service, "a@example.com", "owner").status_code == 403  # an admin key is no owner
    assert invite(service, "a@example.com", "boss").status_code == 422
    assert invite(service, "not-an-address", "viewer").status_code == 422
    assert invite(service, "a@example.com", "viewer", token=service.new_key("assets:read")).status_code == 403


def test_sign_in_does_not_tell_who_exists_and_locks_after_failures(tmp_path: Path) -> None:
    with running_service(tmp_path, sign_in_max_failures=3, sign_in_attempts=1000) as svc:
        member(svc, "ed@example.com", "editor")
        unknown = sign_in(svc.client, "nobody@example.com", "wrong password!!")
        wrong = sign_in(svc.client, "ed@example.com", "wrong password!!")
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.text == wrong.text and "set-cookie" not in wrong.headers
        assert sign_in(svc.client, "ed@example.com").status_code == 303  # a right one resets the count
        for _ in range(3):
            assert sign_in(svc.client, "ed@example.com", "wrong password!!").status_code == 401
        locked = sign_in(svc.client, "ed@example.com")
        assert locked.status_code == 401 and locked.text == unknown.text
        with svc.services.sessions() as db:  # the lockout's quarter hour has passed
            db.execute(update(User).values(locked_until=utcnow() - timedelta(seconds=1)))
            db.commit()
        assert sign_in(svc.client, "ed@example.com").status_code == 303


def test_sign_in_attempts_are_limited_per_address(tmp_path: Path) -> None:
    with running_service(tmp_path, sign_in_attempts=3, sign_in_window=3600) as svc:
        member(svc, "ed@example.com", "editor")
        for _ in range(3):
            assert sign_in(svc.client, "nobody@example.com", "x" * 12).status_code == 401
        limited = sign_in(svc.client, "ed@example.com")
        assert limited.status_code == 429 and "set-cookie" not in limited.headers


def test_sessions_csrf_timeouts_and_sign_out_everywhere(service: Service) -> None:
    member(service, "ed@example.com", "editor")
    from fastapi.testclient import TestClient

    first, second = TestClient(service.client.app), TestClient(service.client.app)
    for browser in (first, second):
        assert sign_in(browser, "ed@example.com").status_code == 303
    me = first.get("/auth/session").json()
    assert first.post("/auth/sign-out").status_code == 403  # no CSRF token
    assert first.post("/auth/sign-out", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    r = first.post("/auth/sign-out-everywhere", headers={"X-CSRF-Token": me["csrf_token"]})
    assert r.status_code == 200 and r.json() == {"ended": 2}
    assert first.get("/auth/session").status_code == 401 and second.get("/auth/session").status_code == 401

    assert sign_in(first, "ed@example.com").status_code == 303
    assert first.get("/auth/session").status_code == 200
    with service.services.sessions() as db:  # half an hour without a request
        db.execute(update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
        db.commit()
    assert first.get("/auth/session").status_code == 401
    assert sign_in(first, "ed@example.com").status_code == 303
    with service.services.sessions() as db:  # used all along, but signed in too long ago
        db.execute(update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert first.get("/auth/session").status_code == 401
    assert sign_in(first, "ed@example.com").status_code == 303
    csrf = first.get("/auth/session").json()["csrf_token"]
    signed_out = first.post("/auth/sign-out", headers={"X-CSRF-Token": csrf})
    assert signed_out.status_code == 204 and 'rf_session=""' in signed_out.headers["set-cookie"]


def test_sign_in_only_redirects_to_this_server(service: Service) -> None:
    member(service, "ed@example.com", "editor")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = service.client.post(
            "/auth/sign-in",
            data={"email": "ed@example.com", "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/auth/session"


def test_members_and_owner_rules(service: Service) -> None:
    ws = workspace_id(service)
    from reelforge.services import accounts

    with service.services.sessions() as db:
        owner, _ = accounts.create_owner(db, ws, "owner@example.com", PASSWORD)
    member(service, "ed@example.com", "editor")
    listed = {m["email"]: m for m in service.get("/v1/members").json()["data"]}
    assert listed["owner@example.com"]["role"] == "owner" and listed["ed@example.com"]["role"] == "editor"
    owner_id, editor_id = listed["owner@example.com"]["id"], listed["ed@example.com"]["id"]
    patch = service.client.patch
    # An admin key cannot touch owners, nor make one.
    assert (
        patch(f"/v1/members/{owner_id}", json={"role": "viewer"}, headers=service.headers()).status_code
        == 403
    )
    assert (
        patch(f"/v1/members/{editor_id}", json={"role": "owner"}, headers=service.headers()).status_code
        == 403
    )
    r = patch(f"/v1/members/{editor_id}", json={"role": "reviewer"}, headers=service.headers())
    assert r.status_code == 200 and r.json()["role"] == "reviewer"
    assert (
        patch(f"/v1/members/{editor_id}", json={"role": "king"}, headers=service.headers()).status_code == 422
    )
    assert service.client.delete(f"/v1/members/{owner_id}", headers=service.headers()).status_code == 403
    assert service.get("/v1/members", token=service.new_key("keys:read")).status_code == 403
    # A list like every other: newest first, paged by cursor, the next page in `Link` too.
    first = service.get("/v1/members", params={"limit": 1})
    body = first.json()
    assert body["object"] == "list" and body["url"] == "/v1/members" and body["has_more"] is True
    assert body["data"][0]["email"] == "ed@example.com"  # the newest
    assert f"cursor={body['next_cursor']}" in first.headers["link"]
    rest = service.get("/v1/members", params={"limit": 100, "cursor": body["next_cursor"]}).json()
    assert rest["has_more"] is False and rest["next_cursor"] is None
    assert "owner@example.com" in [m["email"] for m in rest["data"]]
    assert "ed@example.com" not in [m["email"] for m in rest["data"]]
    bad = service.get("/v1/members", params={"cursor": body["next_cursor"][:-2] + "xx"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["parameter"] == "cursor"
    assert service.get("/v1/members", params={"limit": 0}).status_code == 422
    # The workspace keeps its last owner, even against the owner.
    with service.services.sessions() as db:
        from reelforge.services.errors import Conflict

        with pytest.raises(Conflict):
            accounts.set_role(db, service.services, ws, owner_id, "admin", actor_role="owner", actor={})
    assert owner.id


def test_the_operator_makes_the_first_owner(tmp_path: Path) -> None:
    with running_service(tmp_path) as svc:
        env = {
            **os.environ,
            "REELFORGE_DATA_DIR": str(svc.data_dir),
            "REELFORGE_DATABASE_URL": str(svc.services.settings.resolved_database_url()),
            "PYTHONPATH": str(Path(__file__).parents[1] / "src"),
        }
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "reelforge",
                "users",
                "create-owner",
                "--email",
                "Boss@Example.com",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "boss@example.com  owner of ws_" in done.stdout
        assert sign_in(svc.client, "boss@example.com").status_code == 303
        roles = [m["role"] for m in svc.client.get("/auth/session").json()["memberships"]]
        assert roles == ["owner"]
        weak = subprocess.run(
            [
                sys.executable,
                "-m",
                "reelforge",
                "users",
                "create-owner",
                "--email",
                "x@example.com",
                "--password-stdin",
            ],
            input="short\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert weak.returncode == 2 and "12 characters" in weak.stderr


# ------------------------------------------------------------------ the scope matrix, by role

PROBES: dict[str, tuple[str, str]] = {
    # scope -> a request that needs it: a read lists; a write posts an empty body, which is
    # refused 403 without the scope and 422 (the body) with it.
    "assets:read": ("GET", "/v1/assets"),
    "projects:read": ("GET", "/v1/projects"),
    "renders:read": ("GET", "/v1/renders"),
    "events:read": ("GET", "/v1/events"),
    "templates:read": ("GET", "/v1/templates"),
    "brand_kits:read": ("GET", "/v1/brand_kits"),
    "batches:read": ("GET", "/v1/batches"),
    "keys:read": ("GET", "/v1/keys"),
    "webhooks:read": ("GET", "/v1/webhook_endpoints"),
    "projects:write": ("POST", "/v1/projects"),
    "renders:write": ("POST", "/v1/renders"),
    "templates:write": ("POST", "/v1/templates"),
    "brand_kits:write": ("POST", "/v1/brand_kits"),
    "batches:write": ("POST", "/v1/batches"),
    "keys:write": ("POST", "/v1/keys"),
    "webhooks:write": ("POST", "/v1/webhook_endpoints"),
    "admin": ("GET", "/v1/audit"),
}


def test_every_role_is_a_documented_scope_set() -> None:
    assert list(ROLE_SCOPES) == list(ROLES)
    for role, named in ROLE_SCOPES.items():
        assert set(named) <= {*SCOPES, "assets:approve"}, role
    assert role_scopes("owner") == role_scopes("admin") >= set(SCOPES)
    assert role_scopes("viewer") < role_scopes("reviewer") and role_scopes("viewer") < role_scopes("editor")
    assert "assets:approve" in role_scopes("reviewer") and "assets:approve" not in role_scopes("editor")
    assert not {s for s in role_scopes("editor") if s.startswith(("keys:", "webhooks:"))}
    docs = (Path(__file__).parents[1] / "docs" / "accounts.md").read_text()
    for role, named in ROLE_SCOPES.items():
        row = next(line for line in docs.splitlines() if line.startswith(f"| `{role}` |"))
        assert all(f"`{s}`" in row for s in named), (role, row)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_scope_matrix_by_role(kind: str, tmp_path: Path) -> None:
    """Each role's connected-app token, granted everything the app may ask, against a request
    per scope: allowed exactly when the role holds the scope."""
    require_database(kind)
    from service import live_server
    from test_connected_apps import CALLBACK, connect

    with running_service(tmp_path, kind) as svc, live_server(svc) as base:
        import httpx

        app = svc.post(
            "/v1/oauth/apps",
            json={"name": "matrix", "redirect_uris": [CALLBACK], "scopes": [*SCOPES, "assets:approve"]},
        ).json()
        for role in ROLES:
            email = f"{role}@example.com"
            member(svc, email, role)
            _, token = connect(base, app, email, " ".join([*SCOPES, "assets:approve"]))
            held = role_scopes(role)
            assert set(token["scope"].split()) == held & {*SCOPES, "assets:approve"}, role
            for scope, (method, path) in PROBES.items():
                r = httpx.request(
                    method,
                    base + path,
                    json={} if method == "POST" else None,
                    headers={"Authorization": f"Bearer {token['access_token']}"},
                    timeout=60,
                )
                allowed = scope in held
                assert (r.status_code != 403) == allowed, (role, scope, r.status_code, r.text[:200])
                assert r.status_code not in (401, 500), (role, scope, r.text[:200])


def check_openapi_examples(c: Any, svc: Service) -> None:
    """The documented examples of members, invitations, connected apps and the OAuth endpoints,
    sent to a service (``tests/test_openapi.py`` runs it with its checker)."""
    from people import connect_app

    c.send_examples("POST", "/v1/invitations")
    member(svc, "checker-editor@example.com", "editor")
    member(svc, "checker-reviewer@example.com", "reviewer")
    members = c.call("GET", "/v1/members", expect=200).json()["data"]
    reviewer = next(m for m in members if m["email"] == "checker-reviewer@example.com")
    c.send_examples("PATCH", "/v1/members/{member_id}", params=lambda: {"member_id": reviewer["id"]})
    c.call("DELETE", "/v1/members/{member_id}", params={"member_id": reviewer["id"]}, expect=204)

    app = next(iter(c.send_examples("POST", "/v1/oauth/apps").values()))
    c.call("GET", "/v1/oauth/apps", expect=200)
    rolled = next(
        iter(
            c.send_examples(
                "POST", "/v1/oauth/apps/{app_id}/roll-secret", params=lambda: {"app_id": app["id"]}
            ).values()
        )
    )
    app = {**app, "client_secret": rolled["client_secret"]}
    tokens = connect_app(svc, app, "checker-editor@example.com", "assets:read")
    c.call("GET", "/v1/connected-apps", expect=200)
    c.send_examples(
        "POST",
        "/v1/oauth/introspect",
        "application/x-www-form-urlencoded",
        send=lambda form: {"data": {**form, "token": tokens["access_token"]}},
    )
    as_app = {"auth": (app["client_id"], app["client_secret"]), "headers": {"Authorization": None}}
    c.call("POST", "/v1/oauth/revoke", data={"token": tokens["refresh_token"]}, expect=200, **as_app)
    assert svc.post("/v1/oauth/introspect", data={"token": tokens["access_token"]}).json() == {
        "active": False
    }
    connect_app(svc, app, "checker-editor@example.com", "assets:read")
    grant = svc.get("/v1/connected-apps").json()["data"][0]  # newest first
    c.call("POST", "/v1/connected-apps/{grant_id}/revoke", params={"grant_id": grant["id"]}, expect=200)
    c.call("POST", "/v1/oauth/apps/{app_id}/revoke", params={"app_id": app["id"]}, expect=200)
    client = svc.post("/v1/oauth/clients", json={"name": "checker", "scopes": ["renders:read"]}).json()
    c.send_examples(
        "POST", "/v1/oauth/clients/{client_id}/roll-secret", params=lambda: {"client_id": client["id"]}
    )
