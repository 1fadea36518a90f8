"""People for the account tests: members with a role and a password, signed in through the
real sign-in page, and a browser that follows the OAuth consent page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx

from reelforge.db.accounts import User
from reelforge.db.models import Workspace, new_id
from reelforge.services import accounts
from service import Service

PASSWORD = "correct horse battery staple"


def workspace_id(svc: Service) -> str:
    with svc.services.sessions() as db:
        return str(db.query(Workspace.id).order_by(Workspace.created_at).first()[0])  # type: ignore[index]


def member(
    svc: Service, email: str, role: str, password: str = PASSWORD, workspace: str | None = None
) -> str:
    """A user with ``password``, a member of the workspace with ``role``; the user's id."""
    ws = workspace or workspace_id(svc)
    with svc.services.sessions() as db:
        user = db.query(User).filter(User.email == email).one_or_none()
        if user is None:
            user = User(id=new_id("usr"), email=email, name=email.split("@")[0], failed_sign_ins=0)
            user.password_hash = accounts.hash_password(password)
            db.add(user)
        accounts.add_member(db, ws, user, role, source="invitation")
        db.commit()
        return user.id


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    """POST the sign-in form; the response (303 with the session cookie when right)."""
    return client.post(
        "/auth/sign-in",
        data={"email": email, "password": password, "next": "/auth/session"},
        follow_redirects=False,
    )


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def hidden_fields(html: str) -> dict[str, str]:
    form = _Form()
    form.feed(html)
    return form.fields


def consent(browser: httpx.Client, authorize_url: str, decision: str = "allow") -> httpx.Response:
    """Open the consent page at ``authorize_url`` as the signed-in ``browser`` and answer it;
    the redirect (303) to the app."""
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text
    fields = hidden_fields(page.text)
    assert fields["csrf_token"]
    answer = browser.post("/oauth/authorize", data={**fields, "decision": decision})
    assert answer.status_code == 303, answer.text
    return answer


def scopes_listed(html: str) -> list[str]:
    return re.findall(r"<li><code>([^<]+)</code></li>", html)


def connect_app(svc: Service, app: dict[str, Any], email: str, scope: str) -> dict[str, Any]:
    """``email`` (a member with :data:`PASSWORD`) connects ``app`` in a browser of its own (sign-in,
    consent, PKCE S256), and the app exchanges the code: the token answer (access and refresh)."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import parse_qs, urlencode, urlsplit

    from fastapi.testclient import TestClient

    browser = TestClient(svc.client.app, base_url="http://testserver", follow_redirects=False)
    assert sign_in(browser, email).status_code == 303
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    redirect_uri = app["redirect_uris"][0]
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    answer = consent(browser, f"/oauth/authorize?{query}")  # type: ignore[arg-type]
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    form["code_verifier"] = verifier
    auth = (app["client_id"], app["client_secret"]) if app.get("client_secret") else None
    if auth is None:
        form["client_id"] = app["client_id"]
    token = svc.client.post("/v1/oauth/token", data=form, auth=auth)
    assert token.status_code == 200, token.text
    return dict(token.json())
