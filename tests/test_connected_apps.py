"""Connected apps end to end: a real OAuth client (Authlib's) against the service on loopback,
a member consenting in a browser (httpx with cookies), on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from sqlalchemy import update

from people import PASSWORD, consent, member, scopes_listed, sign_in
from reelforge.db.accounts import Membership, OAuthCode
from reelforge.db.audit import AuditEntry
from reelforge.db.events import Event
from reelforge.db.models import utcnow
from service import Service, live_server, require_database, running_service

CALLBACK = "http://127.0.0.1:9/callback"
"""Never requested: the browser stops at the redirect and hands the URL to the app."""


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    require_database(request.param)
    with running_service(tmp_path, request.param) as svc, live_server(svc) as base:
        yield svc, base


def register(svc: Service, scopes: list[str], client_type: str = "confidential") -> dict[str, Any]:
    r = svc.post(
        "/v1/oauth/apps",
        json={
            "name": "CMS plugin",
            "redirect_uris": [CALLBACK],
            "client_type": client_type,
            "scopes": scopes,
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def browser_for(base: str, email: str) -> httpx.Client:
    browser = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    assert sign_in(browser, email).status_code == 303
    return browser


def client_for(base: str, app: dict[str, Any], scope: str) -> OAuth2Client:
    return OAuth2Client(
        client_id=app["client_id"],
        client_secret=app.get("client_secret"),
        redirect_uri=CALLBACK,
        scope=scope,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if app.get("client_secret") else "none",
        timeout=60,
    )


def authorize(base: str, browser: httpx.Client, client: OAuth2Client) -> tuple[str, str]:
    """The consent given: the redirect to the app, and the PKCE verifier."""
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    location = consent(browser, url).headers["location"]
    assert location.startswith(CALLBACK + "?")
    return location, verifier


def connect(base: str, app: dict[str, Any], email: str, scope: str) -> tuple[OAuth2Client, dict[str, Any]]:
    client = client_for(base, app, scope)
    location, verifier = authorize(base, browser_for(base, email), client)
    token = client.fetch_token(
        f"{base}/v1/oauth/token", authorization_response=location, code_verifier=verifier
    )
    return client, dict(token)


def api(base: str, token: str, method: str = "GET", path: str = "/v1/assets", **kw: Any) -> httpx.Response:
    return httpx.request(method, base + path, headers={"Authorization": f"Bearer {token}"}, timeout=60, **kw)


def test_metadata_names_the_endpoints(live: tuple[Service, str]) -> None:
    svc, base = live
    doc = httpx.get(f"{base}/.well-known/oauth-authorization-server", timeout=60).json()
    assert doc["issuer"] == svc.services.issuer
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["token_endpoint"].endswith("/v1/oauth/token") and doc["revocation_endpoint"].endswith(
        "/v1/oauth/revoke"
    )
    assert (
        "authorization_code" in doc["grant_types_supported"] and "assets:approve" in doc["scopes_supported"]
    )


def test_happy_path_refresh_rotation_and_reuse_detection(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read", "renders:read", "renders:write"])
    client, token = connect(base, app, "editor@example.com", "assets:read renders:read")
    assert token["token_type"].lower() == "bearer" and token["scope"] == "assets:read renders:read"
    assert api(base, token["access_token"]).status_code == 200
    # Only what was granted: renders:write was registered but not asked for.
    assert api(base, token["access_token"], "POST", "/v1/renders", json={}).status_code == 403

    first_refresh = token["refresh_token"]
    refreshed = dict(client.refresh_token(f"{base}/v1/oauth/token", refresh_token=first_refresh))
    assert refreshed["refresh_token"] != first_refresh and refreshed["access_token"] != token["access_token"]
    assert api(base, refreshed["access_token"]).status_code == 200

    # The spent refresh token again: reuse, so the whole grant goes.
    with pytest.raises(OAuthError) as reused:
        client.refresh_token(f"{base}/v1/oauth/token", refresh_token=first_refresh)
    assert reused.value.error == "invalid_grant"
    with pytest.raises(OAuthError):
        client.refresh_token(f"{base}/v1/oauth/token", refresh_token=refreshed["refresh_token"])
    assert api(base, refreshed["access_token"]).status_code == 401
    with svc.services.sessions() as db:
        reasons = [
            e.details.get("reason")
            for e in db.query(AuditEntry).filter(AuditEntry.action == "oauth_grant.revoked")
        ]
        assert reasons == ["refresh_token_reused"]


def test_public_client_with_pkce_alone(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "viewer@example.com", "viewer")
    app = register(svc, ["assets:read"], client_type="public")
    assert "client_secret" not in app
    _, token = connect(base, app, "viewer@example.com", "assets:read")
    assert api(base, token["access_token"]).status_code == 200


def test_revocation_ends_the_grant(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"])
    client, token = connect(base, app, "editor@example.com", "assets:read")
    client.revoke_token(
        f"{base}/v1/oauth/revoke", token=token["refresh_token"], token_type_hint="refresh_token"
    )
    assert api(base, token["access_token"]).status_code == 401
    with pytest.raises(OAuthError):
        client.refresh_token(f"{base}/v1/oauth/token", refresh_token=token["refresh_token"])
    # An access token revokes its grant too; an unknown token is answered 200, nothing done.
    client2, token2 = connect(base, app, "editor@example.com", "assets:read")
    assert client2.revoke_token(f"{base}/v1/oauth/revoke", token="not-a-token").status_code == 200
    assert api(base, token2["access_token"]).status_code == 200
    client2.revoke_token(f"{base}/v1/oauth/revoke", token=token2["access_token"])
    assert api(base, token2["access_token"]).status_code == 401


def test_introspection_for_admins(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"])
    client, token = connect(base, app, "editor@example.com", "assets:read")
    admin = {"Authorization": f"Bearer {svc.token}"}
    r = httpx.post(
        f"{base}/v1/oauth/introspect", data={"token": token["access_token"]}, headers=admin, timeout=60
    )
    body = r.json()
    assert r.status_code == 200 and body["active"] is True and body["scope"] == "assets:read"
    assert body["client_id"] == app["client_id"]
    assert httpx.post(
        f"{base}/v1/oauth/introspect", data={"token": "nope"}, headers=admin, timeout=60
    ).json() == {"active": False}
    # Not for the member's own tokens, nor for other credentials without admin.
    reader = svc.new_key("assets:read")
    r = httpx.post(
        f"{base}/v1/oauth/introspect",
        data={"token": token["access_token"]},
        headers={"Authorization": f"Bearer {reader}"},
        timeout=60,
    )
    assert r.status_code == 403
    client.revoke_token(f"{base}/v1/oauth/revoke", token=token["refresh_token"])
    r = httpx.post(
        f"{base}/v1/oauth/introspect", data={"token": token["access_token"]}, headers=admin, timeout=60
    )
    assert r.json() == {"active": False}


def test_a_wrong_redirect_uri_is_never_redirected_to(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"])
    browser = browser_for(base, "editor@example.com")
    for wrong in (
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/other",
        "https://evil.example/callback",
    ):
        client = OAuth2Client(
            client_id=app["client_id"], redirect_uri=wrong, scope="assets:read", code_challenge_method="S256"
        )
        url, _ = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
        r = browser.get(url)
        assert r.status_code == 400 and "location" not in r.headers
    # The token endpoint refuses a redirect_uri other than the authorization request's.
    client = client_for(base, app, "assets:read")
    location, verifier = authorize(base, browser, client)
    code = parse_qs(urlsplit(location).query)["code"][0]
    r = httpx.post(
        f"{base}/v1/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK + "x",
            "code_verifier": verifier,
        },
        auth=(app["client_id"], app["client_secret"]),
        timeout=60,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_pkce_is_required_and_checked(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"])
    browser = browser_for(base, "editor@example.com")
    # No challenge, or a plain one: an error sent back to the app, no consent page.
    for extra in ({}, {"code_challenge": "x" * 43, "code_challenge_method": "plain"}):
        r = browser.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": app["client_id"],
                "redirect_uri": CALLBACK,
                "state": "s1",
                **extra,
            },
        )
        assert r.status_code == 303
        query = parse_qs(urlsplit(r.headers["location"]).query)
        assert query["error"] == ["invalid_request"] and query["state"] == ["s1"]
    token_url = f"{base}/v1/oauth/token"
    for verifier in (None, generate_token(48)):  # missing, wrong
        client = client_for(base, app, "assets:read")
        location, _ = authorize(base, browser, client)
        code = parse_qs(urlsplit(location).query)["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
        if verifier:
            form["code_verifier"] = verifier
        r = httpx.post(token_url, data=form, auth=(app["client_id"], app["client_secret"]), timeout=60)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text


def test_a_malformed_exchange_is_refused_and_leaves_the_code_usable(live: tuple[Service, str]) -> None:
    """A verifier outside RFC 7636 (non-ASCII, too short, too long, a reserved character) or
    another redirect_uri is refused as invalid_grant, never a 500, and before the code is used
    up: the right exchange still succeeds afterwards."""
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"], client_type="public")
    browser = browser_for(base, "editor@example.com")
    client = client_for(base, app, "assets:read")
    location, verifier = authorize(base, browser, client)
    code = parse_qs(urlsplit(location).query)["code"][0]
    token_url = f"{base}/v1/oauth/token"
    good = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        "client_id": app["client_id"],
    }
    for bad in (
        {"code_verifier": "é" * 50},
        {"code_verifier": "a" * 42},
        {"code_verifier": "a" * 129},
        {"code_verifier": "a" * 42 + "/"},
        {"redirect_uri": CALLBACK + "x"},
    ):
        r = httpx.post(token_url, data={**good, **bad}, timeout=60)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", (bad, r.text)
    r = httpx.post(token_url, data=good, timeout=60)
    assert r.status_code == 200, r.text
    assert api(base, r.json()["access_token"]).status_code == 200


def test_expired_and_replayed_codes(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"])
    browser = browser_for(base, "editor@example.com")
    token_url = f"{base}/v1/oauth/token"

    client = client_for(base, app, "assets:read")
    location, verifier = authorize(base, browser, client)
    with svc.services.sessions() as db:  # the code's minute has passed
        db.execute(update(OAuthCode).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    with pytest.raises(OAuthError) as expired:
        client.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
    assert expired.value.error == "invalid_grant"

    client = client_for(base, app, "assets:read")
    location, verifier = authorize(base, browser, client)
    token = client.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
    assert api(base, token["access_token"]).status_code == 200
    with pytest.raises(OAuthError) as replayed:
        client.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
    assert replayed.value.error == "invalid_grant"
    # A replayed code may have leaked: what it gave is revoked too.
    assert api(base, token["access_token"]).status_code == 401


def test_consent_denied_and_never_beyond_the_members_role(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "viewer@example.com", "viewer")
    app = register(svc, ["assets:read", "assets:write", "keys:read"])
    browser = browser_for(base, "viewer@example.com")
    client = client_for(base, app, "assets:read assets:write")
    url, _ = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
    page = browser.get(url)
    assert scopes_listed(page.text) == ["assets:read", "assets:write"]
    assert "assets:write" in page.text.split("Not granted")[1]
    denied = consent(browser, url, decision="deny").headers["location"]
    assert parse_qs(urlsplit(denied).query)["error"] == ["access_denied"]
    _, token = connect(base, app, "viewer@example.com", "assets:read assets:write")
    assert token["scope"] == "assets:read"
    # Scopes the member holds none of: invalid_scope, sent back to the app.
    r = browser.get(
        client_for(base, app, "keys:read").create_authorization_url(
            f"{base}/oauth/authorize", code_verifier=generate_token(48)
        )[0]
    )
    assert r.status_code == 303 and parse_qs(urlsplit(r.headers["location"]).query)["error"] == [
        "invalid_scope"
    ]
    # Unknown to the app: invalid_scope too.
    r = browser.get(
        client_for(base, app, "webhooks:read").create_authorization_url(
            f"{base}/oauth/authorize", code_verifier=generate_token(48)
        )[0]
    )
    assert parse_qs(urlsplit(r.headers["location"]).query)["error"] == ["invalid_scope"]


def test_signing_in_first_then_consenting(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"])
    client = client_for(base, app, "assets:read")
    url, _ = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
    anonymous = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    r = anonymous.get(url)
    assert r.status_code == 303 and r.headers["location"].startswith(
        "/auth/sign-in?next=%2Foauth%2Fauthorize"
    )
    next_path = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    signed = anonymous.post(
        "/auth/sign-in", data={"email": "editor@example.com", "password": PASSWORD, "next": next_path}
    )
    assert signed.status_code == 303 and signed.headers["location"] == next_path
    assert anonymous.get(next_path).status_code == 200


def test_a_token_follows_the_members_role(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read", "projects:write"])
    _, token = connect(base, app, "editor@example.com", "assets:read projects:write")
    access = token["access_token"]
    assert api(base, access, "POST", "/v1/projects", json={}).status_code == 422  # allowed: the body is wrong
    members = svc.get("/v1/members").json()["data"]
    editor = next(m for m in members if m["email"] == "editor@example.com")
    assert (
        svc.client.patch(
            f"/v1/members/{editor['id']}", json={"role": "viewer"}, headers=svc.headers()
        ).status_code
        == 200
    )
    assert api(base, access, "POST", "/v1/projects", json={}).status_code == 403
    assert api(base, access).status_code == 200
    assert svc.client.delete(f"/v1/members/{editor['id']}", headers=svc.headers()).status_code == 204
    assert api(base, access).status_code == 401
    with svc.services.sessions() as db:
        assert db.query(Membership).filter(Membership.id == editor["id"]).count() == 0


def test_listing_and_disconnecting_apps(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"])
    _, token = connect(base, app, "editor@example.com", "assets:read")
    browser = browser_for(base, "editor@example.com")
    ws = svc.get("/v1/workspace").json()["id"]
    mine = browser.get("/auth/connected-apps", params={"workspace_id": ws}).json()["data"]
    assert [g["app"]["name"] for g in mine] == ["CMS plugin"]
    everyone = svc.get("/v1/connected-apps").json()["data"]
    assert [g["id"] for g in everyone] == [mine[0]["id"]]
    # Both are lists like every other: the envelope, `limit` and `cursor`.
    connect(base, app, "editor@example.com", "assets:read")  # a second grant
    paged = svc.get("/v1/connected-apps", params={"limit": 1})
    page1 = paged.json()
    assert page1["object"] == "list" and page1["url"] == "/v1/connected-apps" and page1["has_more"]
    assert 'rel="next"' in paged.headers["link"]
    page2 = svc.get("/v1/connected-apps", params={"limit": 1, "cursor": page1["next_cursor"]}).json()
    assert page2["has_more"] is False and page2["data"][0]["id"] == mine[0]["id"]  # the older one
    own = browser.get("/auth/connected-apps", params={"workspace_id": ws, "limit": 1}).json()
    assert own["object"] == "list" and own["has_more"] and own["data"] == page1["data"]
    # A cursor is one list's: the workspace's list's is refused on the member's own.
    other = browser.get("/auth/connected-apps", params={"workspace_id": ws, "cursor": page1["next_cursor"]})
    assert other.status_code == 400 and other.json()["errors"][0]["parameter"] == "cursor"
    assert browser.get("/auth/connected-apps", params={"workspace_id": ws, "limit": 101}).status_code == 422
    assert svc.post(f"/v1/connected-apps/{page1['data'][0]['id']}/revoke").status_code == 200
    csrf = browser.get("/auth/session").json()["csrf_token"]
    assert browser.post(f"/auth/connected-apps/{mine[0]['id']}/revoke").status_code == 403  # no CSRF token
    r = browser.post(f"/auth/connected-apps/{mine[0]['id']}/revoke", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert api(base, token["access_token"]).status_code == 401
    assert svc.get("/v1/connected-apps").json()["data"] == []


def test_secrets_roll_with_an_overlap(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"])
    old = app["client_secret"]
    rolled = svc.post(f"/v1/oauth/apps/{app['id']}/roll-secret", json={"grace_seconds": 3600})
    assert rolled.status_code == 201 and rolled.json()["client_secret"] != old
    for secret in (old, rolled.json()["client_secret"]):
        _, token = connect(base, {**app, "client_secret": secret}, "editor@example.com", "assets:read")
        assert api(base, token["access_token"]).status_code == 200
    # Rolled again with no overlap: the previous secret is refused at once.
    newest = svc.post(f"/v1/oauth/apps/{app['id']}/roll-secret", json={"grace_seconds": 0}).json()[
        "client_secret"
    ]
    with pytest.raises(OAuthError) as refused:
        connect(
            base,
            {**app, "client_secret": rolled.json()["client_secret"]},
            "editor@example.com",
            "assets:read",
        )
    assert refused.value.error == "invalid_client"
    connect(base, {**app, "client_secret": newest}, "editor@example.com", "assets:read")

    # An OAuth client's (client credentials) secret rolls the same way.
    created = svc.post("/v1/oauth/clients", json={"name": "etl", "scopes": ["assets:read"]}).json()
    r = svc.post(f"/v1/oauth/clients/{created['id']}/roll-secret", json={"grace_seconds": 3600})
    assert r.status_code == 201
    for secret in (created["client_secret"], r.json()["client_secret"]):
        got = httpx.post(
            f"{base}/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(created["id"], secret),
            timeout=60,
        )
        assert got.status_code == 200, got.text
    svc.post(f"/v1/oauth/clients/{created['id']}/roll-secret", json={"grace_seconds": 0})
    got = httpx.post(
        f"{base}/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created["id"], created["client_secret"]),
        timeout=60,
    )
    assert got.status_code == 401
    with svc.services.sessions() as db:
        audited = {a for (a,) in db.query(AuditEntry.action)}
        evented = {t for (t,) in db.query(Event.type)}
    changes = {
        "oauth_app.created",
        "oauth_app.secret_rolled",
        "oauth_client.secret_rolled",
        "oauth_grant.created",
        "member.added",
    }
    assert changes <= audited and changes <= evented


def test_registration_is_validated(live: tuple[Service, str]) -> None:
    svc, _ = live
    r = svc.post(
        "/v1/oauth/apps",
        json={
            "name": "x",
            "redirect_uris": ["http://cms.example.com/cb", "https://ok.example/cb#frag"],
            "scopes": ["nope"],
        },
    )
    assert r.status_code == 422
    pointers = {e["pointer"] for e in r.json()["errors"]}
    assert {"/redirect_uris/0", "/redirect_uris/1", "/scopes/0"} <= pointers
    narrow = svc.new_key("keys:write", "assets:read")
    r = svc.post(
        "/v1/oauth/apps",
        token=narrow,
        json={"name": "x", "redirect_uris": [CALLBACK], "scopes": ["renders:write"]},
    )
    assert r.status_code == 403


def test_the_cms_plugin_example_runs(tmp_path: Path) -> None:
    """examples/cms_plugin.py as a user runs it, this test being the person's browser."""
    import os
    import socket
    import subprocess
    import sys
    import threading

    with running_service(tmp_path) as svc, live_server(svc) as base:
        # The server's public URL is the one it listens on (the metadata names its endpoints).
        svc.services.settings = svc.services.settings.model_copy(update={"public_url": base})
        member(svc, "editor@example.com", "editor")
        with socket.socket() as probe:  # a free port for the example's callback
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        script = Path(__file__).parents[1] / "examples" / "cms_plugin.py"
        proc = subprocess.Popen(
            [sys.executable, str(script), "--server", base, "--key", svc.token, "--callback-port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ.copy(),
        )
        lines: list[str] = []
        link = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if "/oauth/authorize?" in line:
                    link.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            assert link.wait(120), "".join(lines)
            url = next(line.strip() for line in lines if "/oauth/authorize?" in line)
            back = consent(browser_for(base, "editor@example.com"), url).headers["location"]
            assert back.startswith(f"http://127.0.0.1:{port}/callback?")
            httpx.get(back, timeout=60)  # the browser follows the redirect to the plugin
            assert proc.wait(timeout=120) == 0, "".join(lines)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out = "".join(lines)
        assert "granted: assets:read renders:read" in out and "refreshed" in out
        assert "the access token now gets 401" in out


def test_bad_input_is_refused_not_a_500(live: tuple[Service, str]) -> None:
    svc, base = live
    member(svc, "editor@example.com", "editor")
    app = register(svc, ["assets:read"])
    token_url = f"{base}/v1/oauth/token"
    for client_id in ("app_\x00x", "a" * 500):
        for grant in ("authorization_code", "refresh_token", "client_credentials"):
            r = httpx.post(
                token_url,
                data={"grant_type": grant, "client_id": client_id, "client_secret": "x"},
                timeout=60,
            )
            assert r.status_code == 401 and r.json()["error"] == "invalid_client", (grant, r.text)
        r = httpx.post(f"{base}/v1/oauth/revoke", data={"token": "x", "client_id": client_id}, timeout=60)
        assert r.status_code == 401
    r = httpx.post(
        token_url, data={"grant_type": "refresh_token"}, headers={"Authorization": "Basic !!"}, timeout=60
    )
    assert r.status_code == 400
    browser = browser_for(base, "editor@example.com")
    for challenge in ("x" * 500, "short", "x" * 42 + "!"):
        r = browser.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": app["client_id"],
                "redirect_uri": CALLBACK,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        assert r.status_code == 303 and "error=invalid_request" in r.headers["location"]
    r = svc.post(
        "/v1/oauth/apps",
        json={"name": "x", "redirect_uris": ["https://a.example/" + "x" * 3000], "scopes": ["assets:read"]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/redirect_uris/0"
    r = browser.post("/oauth/authorize", data={"client_id": "\x00", "redirect_uri": CALLBACK})
    assert r.status_code == 403  # no CSRF token: refused before anything is looked up
