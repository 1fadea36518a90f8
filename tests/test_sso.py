"""OpenID Connect single sign-on against a real provider on loopback (tests/oidc_provider.py):
discovery, PKCE, state, nonce, ID-token validation and group-to-role mapping; both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from people import workspace_id
from service import Service, live_app, require_database, running_service

GROUP_ROLES = {"marketing-reviewers": "reviewer", "video-editors": "editor", "it-admins": "admin"}


@pytest.fixture(params=["sqlite", "postgresql"])
def sso(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Service, Provider]]:
    require_database(request.param)
    provider = Provider()
    with live_app(provider.app()) as issuer:
        provider.issuer = issuer
        with running_service(
            tmp_path,
            request.param,
            oidc_issuer=issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            oidc_workspace="set below: the workspace made at the first start",
            oidc_group_roles=GROUP_ROLES,
        ) as svc:
            svc.services.settings = svc.services.settings.model_copy(
                update={"oidc_workspace": workspace_id(svc)}
            )
            yield svc, provider


def sign_in_with_sso(svc: Service, provider: Provider, state: str | None = None) -> httpx.Response:
    """The browser's trip: our start page, the provider, back to our callback."""
    start = svc.client.get("/auth/sso/start", params={"next": "/auth/session"}, follow_redirects=False)
    assert start.status_code == 303, start.text
    to_provider = start.headers["location"]
    query = parse_qs(urlsplit(to_provider).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert to_provider.startswith(provider.issuer + "/authorize?")
    back = httpx.get(to_provider, follow_redirects=False, timeout=60)
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    params = parse_qs(callback.query)
    if state is not None:
        params["state"] = [state]
    return svc.client.get(callback.path, params={k: v[0] for k, v in params.items()}, follow_redirects=False)


def person(groups: list[str], sub: str = "u-123") -> dict[str, object]:
    return {"sub": sub, "email": "Mia@Example.com", "name": "Mia", "groups": groups}


def test_sso_signs_in_with_the_role_of_the_groups(sso: tuple[Service, Provider]) -> None:
    svc, provider = sso
    provider.person = person(["staff", "marketing-reviewers"])
    r = sign_in_with_sso(svc, provider)
    assert r.status_code == 303 and r.headers["location"] == "/auth/session", r.text
    assert "rf_session=" in r.headers["set-cookie"]
    me = svc.client.get("/auth/session").json()
    assert me["user"]["email"] == "mia@example.com"
    assert [m["role"] for m in me["memberships"]] == ["reviewer"]
    # The highest role of the groups; set again at each sign-in (joining or leaving groups).
    provider.person = person(["marketing-reviewers", "video-editors"])
    assert sign_in_with_sso(svc, provider).status_code == 303
    assert [m["role"] for m in svc.client.get("/auth/session").json()["memberships"]] == ["editor"]
    members = [m for m in svc.get("/v1/members").json()["data"] if m["email"] == "mia@example.com"]
    assert len(members) == 1 and members[0]["source"] == "sso"


def test_no_mapped_group_no_access(sso: tuple[Service, Provider]) -> None:
    svc, provider = sso
    provider.person = person(["staff"])
    r = sign_in_with_sso(svc, provider)
    assert r.status_code == 403 and "rf_session=" not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize("tamper", ["nonce", "audience", "issuer", "expired", "key"])
def test_a_wrong_id_token_is_refused(sso: tuple[Service, Provider], tamper: str) -> None:
    svc, provider = sso
    provider.person = person(["it-admins"])
    provider.tamper = tamper
    r = sign_in_with_sso(svc, provider)
    assert r.status_code == 401 and "rf_session=" not in r.headers.get("set-cookie", ""), r.text
    assert svc.client.get("/auth/session").status_code == 401


def test_a_forged_state_or_a_missing_flow_is_refused(sso: tuple[Service, Provider]) -> None:
    svc, provider = sso
    provider.person = person(["it-admins"])
    assert sign_in_with_sso(svc, provider, state="forged").status_code == 401
    svc.client.cookies.clear()  # a callback without the flow cookie (another browser)
    r = svc.client.get("/auth/sso/callback", params={"code": "x", "state": "y"}, follow_redirects=False)
    assert r.status_code == 401


def test_an_unverified_address_never_takes_over_an_account(sso: tuple[Service, Provider]) -> None:
    svc, provider = sso
    from people import member

    member(svc, "mia@example.com", "viewer")  # a password account with the address
    provider.person = person(["it-admins"])
    assert sign_in_with_sso(svc, provider).status_code == 403
    provider.person = {**person(["it-admins"]), "email_verified": True}
    assert sign_in_with_sso(svc, provider).status_code == 303
    # Linked, and the role the invitation gave stays: groups set the roles of sign-on's members.
    assert [m["role"] for m in svc.client.get("/auth/session").json()["memberships"]] == ["viewer"]


def roles_of(svc: Service, email: str) -> list[tuple[str, str]]:
    return [(m["role"], m["source"]) for m in svc.get("/v1/members").json()["data"] if m["email"] == email]


def test_groups_leave_an_operators_membership_alone(sso: tuple[Service, Provider]) -> None:
    svc, provider = sso
    from reelforge.services.accounts import create_owner

    with svc.services.sessions() as db:
        create_owner(db, workspace_id(svc), "mia@example.com", None)
        db.commit()
    provider.person = {**person(["marketing-reviewers"]), "email_verified": True}
    assert sign_in_with_sso(svc, provider).status_code == 303
    assert roles_of(svc, "mia@example.com") == [("owner", "operator")]


def test_groups_never_demote_the_last_owner(sso: tuple[Service, Provider]) -> None:
    svc, provider = sso
    from people import member
    from reelforge.db.accounts import User
    from reelforge.services.accounts import add_member

    provider.person = person(["video-editors"])
    assert sign_in_with_sso(svc, provider).status_code == 303
    assert roles_of(svc, "mia@example.com") == [("editor", "sso")]
    with svc.services.sessions() as db:  # made the owner (an owner's PATCH; the source stays)
        mia = db.query(User).filter(User.email == "mia@example.com").one()
        add_member(db, workspace_id(svc), mia, "owner", source="sso")
        db.commit()
    provider.person = person(["marketing-reviewers"])
    assert sign_in_with_sso(svc, provider).status_code == 303
    assert roles_of(svc, "mia@example.com") == [("owner", "sso")]  # the only owner: kept
    member(svc, "boss@example.com", "owner")
    assert sign_in_with_sso(svc, provider).status_code == 303
    assert roles_of(svc, "mia@example.com") == [("reviewer", "sso")]  # another owner remains


def test_the_client_secret_stays_out_of_the_settings_repr(sso: tuple[Service, Provider]) -> None:
    svc, _ = sso
    settings = svc.services.settings
    assert CLIENT_SECRET not in repr(settings) and CLIENT_SECRET not in str(settings.model_dump())
    assert settings.oidc_client_secret is not None
    assert settings.oidc_client_secret.get_secret_value() == CLIENT_SECRET


def test_sso_signs_into_the_console(sso: tuple[Service, Provider]) -> None:
    """The console's sign-in page offers single sign-on; the trip ends on the console page asked
    for, with the same database-backed session, acting with the role the groups map to."""
    svc, provider = sso
    provider.person = person(["marketing-reviewers"], sub="u-console")
    form = svc.client.get("/console/sign-in", params={"next": "/console/renders"})
    link = re.search(r'href="(/auth/sso/start\?[^"]+)"', form.text)
    assert link is not None, form.text
    start = svc.client.get(link.group(1).replace("&amp;", "&"), follow_redirects=False)
    assert start.status_code == 303
    back = httpx.get(start.headers["location"], follow_redirects=False, timeout=60)
    callback = urlsplit(back.headers["location"])
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    landed = svc.client.get(callback.path, params=params, follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/console/renders", landed.text
    page = svc.client.get("/console/renders")
    assert page.status_code == 200 and "mia@example.com" in page.text and "reviewer" in page.text
    assert svc.client.get("/console/keys").status_code == 403  # a reviewer holds no keys scope
