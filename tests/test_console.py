"""The web console over HTTP (no browser): sign-in sessions, CSRF, scopes and workspaces as in
the API, the assets grid's filters and pages, upload, previews and the player's Range requests.
The browser tests are in tests/test_console_browser.py."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from mediagen import make_image, make_video
from people import PASSWORD, member, workspace_id
from reelforge.db.accounts import ConsoleSession
from reelforge.db.models import utcnow
from service import Service, holding_renders, running_service, wait_render, with_previews
from test_batches import OUTPUTS as BATCH_OUTPUTS
from test_batches import TEMPLATE as BATCH_TEMPLATE
from test_webhooks import FAST as WEBHOOKS_FAST
from test_webhooks import Answer, Receiver


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("console")) as service:
        yield service


def browser(svc: Service) -> TestClient:
    """A client with its own cookie jar, on the service's app."""
    client = TestClient(svc.client.app, base_url="http://testserver")
    return client


def sign_in(client: TestClient, token: str, next_path: str = "") -> Any:
    form = client.get("/console/sign-in")
    assert form.status_code == 200
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert nonce is not None
    return client.post(
        "/console/sign-in",
        data={"api_key": token, "csrf": nonce.group(1), "next": next_path},
        follow_redirects=False,
    )


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def upload(client: TestClient, path: Path, csrf: str, tags: str = "") -> Any:
    with path.open("rb") as fh:
        return client.post(
            "/console/assets/upload",
            files={"file": (path.name, fh, "application/octet-stream")},
            data={"tags": tags},
            headers={"X-CSRF-Token": csrf},
        )


def test_sign_in_sets_an_http_only_cookie_and_signs_out_with_csrf(svc: Service) -> None:
    client = browser(svc)
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/sign-in"
    answer = sign_in(client, svc.token, "/console/assets")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/assets"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("rf_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS it is Secure (tests/test_accounts.py)
    assert svc.token not in cookie  # the credential stays on the server
    grid = client.get("/console/assets")
    assert grid.status_code == 200 and "<h1>Assets</h1>" in grid.text
    # Without the form's token, signing out is refused and the session stays.
    refused = client.post("/console/sign-out", data={"csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert client.get("/console/assets").status_code == 200
    out = client.post("/console/sign-out", data={"csrf": csrf_of(grid.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
    again = client.get("/console/assets", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/console/sign-in")


def test_sign_in_refuses_bad_keys_forged_forms_and_foreign_redirects(svc: Service) -> None:
    client = browser(svc)
    bad = sign_in(client, "rf_live_not_a_key")
    assert bad.status_code == 401 and "Not signed in" in bad.text
    forged = client.post(
        "/console/sign-in", data={"api_key": svc.token, "csrf": "x.y"}, follow_redirects=False
    )
    assert forged.status_code == 403 and "rf_session=" not in forged.headers.get("set-cookie", "")
    away = sign_in(client, svc.token, "//evil.example/")
    assert away.status_code == 303 and away.headers["location"] == "/console/assets"
    # A forged session cookie is no session.
    fresh = browser(svc)
    fresh.cookies.set("rf_session", "made-up.0000", path="/")
    assert fresh.get("/console/assets", follow_redirects=False).status_code == 303


def test_a_revoked_key_ends_its_console_session(svc: Service) -> None:
    created = svc.post("/v1/keys", json={"name": "revoke me", "scopes": ["assets:read"]}).json()
    client = browser(svc)
    assert sign_in(client, created["token"]).status_code == 303
    assert client.get("/console/assets").status_code == 200
    assert svc.post(f"/v1/keys/{created['id']}/revoke").status_code == 200
    svc.services.credentials.clear()  # what another process notices within the cache's few seconds
    answer = client.get("/console/assets", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/sign-in")


# ------------------------------------------------------------------------------ people


def sign_in_as(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "") -> Any:
    form = client.get("/console/sign-in")
    assert form.status_code == 200 and 'name="password"' in form.text
    return client.post(
        "/console/sign-in",
        data={"email": email, "password": password, "csrf": csrf_of(form.text), "next": next_path},
        follow_redirects=False,
    )


def test_a_person_signs_in_with_a_password_and_acts_with_their_role(svc: Service, tmp_path: Path) -> None:
    member(svc, "vera@example.com", "viewer")
    client = browser(svc)
    wrong = sign_in_as(client, "vera@example.com", "not the password")
    nobody = sign_in_as(client, "nobody@example.com", "not the password")
    assert wrong.status_code == nobody.status_code == 401
    assert "rf_session=" not in wrong.headers.get("set-cookie", "")
    assert wrong.text.replace("vera@", "x@") == nobody.text.replace("nobody@", "x@")  # no enumeration
    answer = sign_in_as(client, "vera@example.com", next_path="/console/renders")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/renders"
    grid = client.get("/console/assets")
    assert grid.status_code == 200 and "vera@example.com" in grid.text and "viewer" in grid.text
    # A viewer reads, and does not change anything: no upload, no keys, no webhooks.
    assert "dropzone" not in grid.text
    denied = upload(client, make_image(tmp_path / "v.png", color="blue"), csrf_of(grid.text))
    assert denied.status_code == 403 and denied.json()["required_scope"] == "assets:write"
    for url, scope in (("/console/keys", "keys:read"), ("/console/webhooks", "webhooks:read")):
        page = client.get(url)
        assert page.status_code == 403 and scope in page.text, url
    # Promoted to editor, the same session may upload at once.
    member(svc, "vera@example.com", "editor")
    made = upload(client, make_image(tmp_path / "e.png", color="blue"), csrf_of(grid.text))
    assert made.status_code == 201, made.text


def test_a_reviewer_cannot_render_or_manage_keys(rendering: Service) -> None:
    member(rendering, "rita@example.com", "reviewer")
    client = browser(rendering)
    assert sign_in_as(client, "rita@example.com").status_code == 303
    page = client.get("/console/templates")
    assert page.status_code == 200 and "rita@example.com" in page.text
    csrf = csrf_of(page.text)
    created = client.post("/console/keys", data={"csrf": csrf, "name": "x", "scopes": ["assets:read"]})
    assert created.status_code == 403 and "keys:" in created.text
    refused = client.post("/console/renders/rnd_none/cancel", data={"csrf": csrf}, follow_redirects=False)
    assert refused.status_code == 403 and "renders:write" in refused.text


def test_sessions_live_in_the_database_across_processes_and_restarts(svc: Service) -> None:
    from reelforge.api.app import create_app

    member(svc, "sam@example.com", "editor")
    client = browser(svc)
    assert sign_in_as(client, "sam@example.com").status_code == 303
    cookie = client.cookies.get("rf_session")
    assert cookie is not None
    # A second app on the same database (another process, or this one restarted) knows it.
    with TestClient(create_app(services=svc.services), base_url="http://testserver") as other:
        other.cookies.set("rf_session", cookie, path="/")
        page = other.get("/console/assets")
        assert page.status_code == 200 and "sam@example.com" in page.text
        # Signing out everywhere there ends the session here too.
        out = other.post(
            "/console/sign-out", data={"csrf": csrf_of(page.text), "everywhere": "1"}, follow_redirects=False
        )
        assert out.status_code == 303
    gone = client.get("/console/assets", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/console/sign-in")


def test_a_member_switches_workspaces_and_loses_access_when_removed(svc: Service) -> None:
    from reelforge.db.models import Workspace, new_id

    with svc.services.sessions() as db:
        second = Workspace(id=new_id("ws"), name="second")
        db.add(second)
        db.commit()
        second_id = second.id
    user_id = member(svc, "wes@example.com", "viewer")
    member(svc, "wes@example.com", "editor", workspace=second_id)
    client = browser(svc)
    assert sign_in_as(client, "wes@example.com").status_code == 303
    page = client.get("/console/assets").text
    assert 'id="workspace-switch"' in page and second_id in page
    first_id = workspace_id(svc)
    assert re.search(rf'value="{first_id}"\s+selected', page)
    stranger = client.post(
        "/console/workspace",
        data={"csrf": csrf_of(page), "workspace_id": "ws_not_mine"},
        follow_redirects=False,
    )
    assert stranger.status_code == 404
    forged = client.post("/console/workspace", data={"csrf": "x", "workspace_id": second_id})
    assert forged.status_code == 403
    moved = client.post(
        "/console/workspace", data={"csrf": csrf_of(page), "workspace_id": second_id}, follow_redirects=False
    )
    assert moved.status_code == 303
    page = client.get("/console/assets").text
    assert re.search(rf'value="{second_id}"\s+selected', page) and "dropzone" in page  # an editor there
    # Removed from the second workspace, the session falls back to the first one, as a viewer.
    from reelforge.services import accounts

    with svc.services.sessions() as db:
        row = accounts.membership(db, second_id, user_id)
        assert row is not None
        db.delete(row)
        db.commit()
    page = client.get("/console/assets").text
    assert 'id="workspace-switch"' not in page and "dropzone" not in page and first_id in page


def test_single_sign_on_is_offered_only_when_configured(svc: Service) -> None:
    assert "single sign-on" not in browser(svc).get("/console/sign-in").text
    # The flow itself (a real OIDC provider on loopback) is in tests/test_sso.py; it lands on
    # the path the console asks for, with the same session cookie.


def test_upload_grid_filters_detail_and_player(svc: Service, tmp_path: Path) -> None:
    client = browser(svc)
    sign_in(client, svc.token)
    csrf = csrf_of(client.get("/console/assets").text)
    video = make_video(tmp_path / "clip.mp4", duration=1)
    image = make_image(tmp_path / "card.png", color="red")
    made = upload(client, video, csrf, "spring, hero")
    assert made.status_code == 201, made.text
    asset_id = made.json()["id"]
    assert made.json()["page"] == f"/console/assets/{asset_id}"
    again = upload(client, video, csrf)
    assert again.status_code == 200 and again.json()["deduplicated"] is True
    card = upload(client, image, csrf).json()["id"]
    with_previews(svc, {"id": asset_id})
    with_previews(svc, {"id": card})

    grid = client.get("/console/assets").text
    assert asset_id in grid and card in grid and f"/console/assets/{asset_id}/thumbnail.png" in grid
    videos = client.get("/console/assets", params={"kind": "video", "tag": "hero"}).text
    assert asset_id in videos and card not in videos
    assert asset_id not in client.get("/console/assets", params={"kind": "image"}).text
    assert asset_id not in client.get("/console/assets", params={"since": "2999-01-01"}).text
    assert asset_id in client.get("/console/assets", params={"until": "2999-01-01"}).text
    # One per page: the next page's link leads to the older asset.
    first = client.get("/console/assets", params={"limit": "1"}).text
    assert card in first and asset_id not in first
    more = re.search(r'href="(/console/assets\?[^"]*cursor=[^"]+)"', first)
    assert more is not None
    second = client.get(more.group(1).replace("&amp;", "&")).text
    assert asset_id in second and card not in second

    for params, where in (
        ({"kind": "movie"}, "kind"),
        ({"since": "soon"}, "since"),
        ({"limit": "0"}, "limit"),
    ):
        refused = client.get("/console/assets", params=params)
        assert refused.status_code == 422 and f"<code>{where}</code>" in refused.text, refused.text

    detail = client.get(f"/console/assets/{asset_id}")
    assert detail.status_code == 200
    assert '<video id="player"' in detail.text and "video_codec" in detail.text and "h264" in detail.text
    assert "spring" in detail.text
    thumb = client.get(f"/console/assets/{asset_id}/thumbnail.png")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
    part = client.get(f"/console/assets/{asset_id}/content", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == video.read_bytes()[:10]
    assert client.get("/console/assets/ast_missing").status_code == 404


def test_upload_needs_the_session_its_csrf_token_and_assets_write(svc: Service, tmp_path: Path) -> None:
    image = make_image(tmp_path / "x.png", color="green")
    anonymous = browser(svc)
    assert upload(anonymous, image, "x").status_code == 401
    client = browser(svc)
    sign_in(client, svc.token)
    refused = upload(client, image, "forged")
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    reader = browser(svc)
    sign_in(reader, svc.new_key("assets:read"))
    csrf = csrf_of(reader.get("/console/assets").text)
    assert "dropzone" not in reader.get("/console/assets").text  # no upload offered
    denied = upload(reader, image, csrf)
    assert denied.status_code == 403 and denied.json()["required_scope"] == "assets:write"


def test_scopes_and_workspaces_apply_as_in_the_api(svc: Service, tmp_path: Path) -> None:
    owner = browser(svc)
    sign_in(owner, svc.token)
    csrf = csrf_of(owner.get("/console/assets").text)
    secret = upload(owner, make_image(tmp_path / "secret.png", color="yellow"), csrf, "secret").json()
    # A key without assets:read sees a clear 403 page, and nothing of the assets.
    narrow = browser(svc)
    sign_in(narrow, svc.new_key("renders:read"))
    for url in (
        "/console/assets",
        f"/console/assets/{secret['id']}",
        f"/console/assets/{secret['id']}/content",
    ):
        page = narrow.get(url)
        assert page.status_code == 403 and "assets:read" in page.text, url
        assert secret["id"] not in page.text and "secret.png" not in page.text
    # Another workspace's admin does not find it at all.
    other = browser(svc)
    sign_in(other, svc.other_workspace_key())
    assert secret["id"] not in other.get("/console/assets").text
    assert other.get(f"/console/assets/{secret['id']}").status_code == 404
    assert other.get(f"/console/assets/{secret['id']}/thumbnail.png").status_code == 404


# ------------------------------------------------------------------------------ renders


@pytest.fixture(scope="module")
def rendering(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("console-renders"), workers=1) as service:
        yield service


def start_render(svc: Service, tmp_path: Path, duration: float = 1) -> str:
    clip = svc.post(
        "/v1/assets",
        files={"file": ("clip.mp4", make_video(tmp_path / "c.mp4", duration=duration).read_bytes())},
    )
    assert clip.status_code in (200, 201), clip.text
    edit = {
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "video", "src": clip.json()["id"]}, "length": duration}]}
            ]
        },
        "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
    }
    created = svc.post("/v1/renders", json={"edit": edit})
    assert created.status_code == 202, created.text
    return str(created.json()["id"])


def test_renders_list_detail_progress_stream_and_outputs(rendering: Service, tmp_path: Path) -> None:
    render_id = start_render(rendering, tmp_path)
    done = wait_render(rendering, render_id)
    assert done["state"] == "succeeded", done["error"]
    client = browser(rendering)
    sign_in(client, rendering.token)
    listed = client.get("/console/renders")
    assert listed.status_code == 200 and f'data-render-id="{render_id}"' in listed.text
    assert render_id in client.get("/console/renders", params={"state": "succeeded"}).text
    assert render_id not in client.get("/console/renders", params={"state": "failed"}).text
    refused = client.get("/console/renders", params={"state": "done"})
    assert refused.status_code == 422 and "<code>state</code>" in refused.text
    detail = client.get(f"/console/renders/{render_id}").text
    output = done["outputs"][0]
    assert f'src="/console/assets/{output["id"]}/content"' in detail and "Cancel render" not in detail
    assert "data-stream" not in detail  # a finished render is not followed
    # The stream of a finished render: its final state, then it ends.
    with client.stream("GET", f"/console/renders/{render_id}/progress") as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    assert "event: render" in text and '"state":"succeeded"' in text and '"progress":100' in text
    played = client.get(f"/console/assets/{output['id']}/content", headers={"Range": "bytes=0-99"})
    assert played.status_code == 206 and len(played.content) == 100
    # Cancelling a finished render is refused as in the API (409), on an HTML page.
    csrf = csrf_of(client.get("/console/renders").text)
    refused_cancel = client.post(f"/console/renders/{render_id}/cancel", data={"csrf": csrf})
    assert refused_cancel.status_code == 409


def test_cancel_from_the_console_needs_csrf_and_renders_write(rendering: Service, tmp_path: Path) -> None:
    with holding_renders(rendering) as gate:
        render_id = start_render(rendering, tmp_path, duration=2)
        hold = gate.next(render_id)
        client = browser(rendering)
        sign_in(client, rendering.token)
        detail = client.get(f"/console/renders/{render_id}").text
        assert "Cancel render" in detail and f'data-stream="/console/renders/{render_id}/progress"' in detail
        assert client.post(f"/console/renders/{render_id}/cancel", data={"csrf": "x"}).status_code == 403
        reader = browser(rendering)
        sign_in(reader, rendering.new_key("renders:read"))
        reader_page = reader.get(f"/console/renders/{render_id}").text
        assert "Cancel render" not in reader_page
        denied = reader.post(f"/console/renders/{render_id}/cancel", data={"csrf": csrf_of(reader_page)})
        assert denied.status_code == 403 and "renders:write" in denied.text
        answer = client.post(
            f"/console/renders/{render_id}/cancel", data={"csrf": csrf_of(detail)}, follow_redirects=False
        )
        assert answer.status_code == 303 and answer.headers["location"] == f"/console/renders/{render_id}"
        hold.release()
    assert wait_render(rendering, render_id)["state"] == "cancelled"
    # Another workspace finds nothing; a key without renders:read gets the 403 page.
    other = browser(rendering)
    sign_in(other, rendering.other_workspace_key())
    assert other.get(f"/console/renders/{render_id}").status_code == 404
    assert render_id not in other.get("/console/renders").text
    narrow = browser(rendering)
    sign_in(narrow, rendering.new_key("assets:read"))
    page = narrow.get("/console/renders")
    assert page.status_code == 403 and "renders:read" in page.text and render_id not in page.text
    assert narrow.get(f"/console/renders/{render_id}/progress").status_code == 403


# ------------------------------------------------------------------------------ batches


def test_batch_matrix_of_rows_locales_and_outputs(rendering: Service, tmp_path: Path) -> None:
    clip = rendering.post(
        "/v1/assets", files={"file": ("b.mp4", make_video(tmp_path / "b.mp4", duration=1).read_bytes())}
    ).json()["id"]
    template = rendering.post("/v1/templates", json=BATCH_TEMPLATE)
    assert template.status_code == 201, template.text
    rows = [
        {"title": "Lamp", "price": 3, "clip": clip, "seconds": 0.3},
        {"title": "Mug", "price": -1, "clip": clip},  # rejected: price below its minimum
        {"title": {"$locales": {"en": "Throw", "fr": "Plaid"}}, "price": 5, "clip": clip, "seconds": 0.3},
    ]
    created = rendering.post(
        "/v1/batches",
        json={
            "template_id": template.json()["id"],
            "rows": rows,
            "locales": ["en", "fr"],
            "outputs": BATCH_OUTPUTS,
        },
    )
    assert created.status_code == 202, created.text
    batch_id = created.json()["id"]
    deadline = time.monotonic() + 180
    while rendering.get(f"/v1/batches/{batch_id}").json()["finished_at"] is None:
        assert time.monotonic() < deadline, "the batch did not finish"
        time.sleep(0.1)
    client = browser(rendering)
    sign_in(client, rendering.token)
    listed = client.get("/console/batches")
    assert listed.status_code == 200 and f'data-batch-id="{batch_id}"' in listed.text
    page = client.get(f"/console/batches/{batch_id}")
    assert page.status_code == 200
    html = page.text
    for row in (0, 2):
        for locale in ("en", "fr"):
            cell = re.search(rf'<td data-row="{row}" data-locale="{locale}">(.*?)</td>', html, re.S)
            assert cell is not None, (row, locale)
            assert ">succeeded</a>" in cell.group(1)
            assert cell.group(1).count("/console/assets/") == len(BATCH_OUTPUTS)
    assert 'data-row="1"' not in html and "Rejected rows" in html and "#/rows/1/price" in html
    # batches:read alone does not show the renders (the API asks renders:read too).
    narrow = browser(rendering)
    sign_in(narrow, rendering.new_key("batches:read"))
    assert narrow.get("/console/batches").status_code == 200
    refused = narrow.get(f"/console/batches/{batch_id}")
    assert refused.status_code == 403 and "renders:read" in refused.text
    other = browser(rendering)
    sign_in(other, rendering.other_workspace_key())
    assert other.get(f"/console/batches/{batch_id}").status_code == 404


# ------------------------------------------------------------------------------ templates


def test_template_form_stills_per_aspect_ratio_and_render(rendering: Service, tmp_path: Path) -> None:
    clip = rendering.post(
        "/v1/assets", files={"file": ("t.mp4", make_video(tmp_path / "t.mp4", duration=1).read_bytes())}
    ).json()["id"]
    template_id = rendering.post("/v1/templates", json=BATCH_TEMPLATE).json()["id"]
    client = browser(rendering)
    sign_in(client, rendering.token)
    assert f'data-template-id="{template_id}"' in client.get("/console/templates").text
    form = client.get(f"/console/templates/{template_id}")
    assert form.status_code == 200
    html = form.text
    # One typed input per variable, the clip picked among the workspace's videos, the locales.
    assert 'type="number" id="f-price"' in html and 'min="0"' in html
    assert re.search(rf'<option value="{clip}">[^<]+ \(video\)</option>', html)
    assert '<option value="fr"' in html and 'id="f-seconds"' in html
    csrf = csrf_of(html)
    values = {"csrf": csrf, "locale": "fr", "v.title": "Lampe", "v.price": "3", "v.clip": clip, "at": "0.2"}
    stills = client.post(f"/console/templates/{template_id}/stills", data=values)
    assert stills.status_code == 200, stills.text
    sizes = re.findall(
        r'<figure data-ratio="([0-9:]+)"[^>]*>\s*<div class="still">\s*<img src="data:image/jpeg;base64,[^"]+" width="(\d+)" height="(\d+)"',
        stills.text,
    )
    assert [(r, int(w), int(h)) for r, w, h in sizes] == [
        ("16:9", 640, 360),
        ("1:1", 360, 360),
        ("9:16", 360, 640),
    ]
    # Problems come back with their pointers, for the form's fields.
    for changed, pointer in (
        ({"v.price": "-3"}, "#/values/price"),
        ({"v.price": "cheap"}, "#/values/price"),
        ({"at": "9"}, "#/at"),
    ):
        refused = client.post(f"/console/templates/{template_id}/stills", data={**values, **changed})
        assert refused.status_code == 422 and f"<code>{pointer}</code>" in refused.text, refused.text
        assert refused.text.count("<li>") == 1
    assert (
        client.post(f"/console/templates/{template_id}/stills", data={**values, "csrf": "x"}).status_code
        == 403
    )
    # Render: a template render like POST /v1/templates/{id}/renders, then its page.
    queued = client.post(f"/console/templates/{template_id}/render", data=values, follow_redirects=False)
    assert queued.status_code == 303
    render_id = queued.headers["location"].rsplit("/", 1)[1]
    done = wait_render(rendering, render_id)
    assert done["state"] == "succeeded" and done["template"] == {
        "id": template_id,
        "version": 1,
        "locale": "fr",
    }
    # A key that may read templates but not render sees no Render button and is refused.
    reader = browser(rendering)
    sign_in(reader, rendering.new_key("templates:read"))
    page = reader.get(f"/console/templates/{template_id}").text
    assert 'id="render-button"' not in page and clip not in page  # no assets:read: no asset names
    denied = reader.post(f"/console/templates/{template_id}/render", data={**values, "csrf": csrf_of(page)})
    assert denied.status_code == 403 and "renders:write" in denied.text
    other = browser(rendering)
    sign_in(other, rendering.other_workspace_key())
    assert other.get(f"/console/templates/{template_id}").status_code == 404


# ------------------------------------------------------------------------------ API keys


def test_keys_create_shown_once_roll_and_revoke(svc: Service) -> None:
    client = browser(svc)
    sign_in(client, svc.token)
    listed = client.get("/console/keys")
    assert listed.status_code == 200 and 'id="create-key"' in listed.text
    csrf = csrf_of(listed.text)
    made = client.post(
        "/console/keys", data={"csrf": csrf, "name": "catalogue team", "scopes": ["assets:read"]}
    )
    assert made.status_code == 201
    token = re.search(r'id="token" type="text" readonly value="([^"]+)"', made.text)
    assert token is not None
    assert svc.get("/v1/assets", token=token.group(1)).status_code == 200  # a working key
    assert token.group(1) not in client.get("/console/keys").text  # shown once only
    key_id = svc.get("/v1/keys").json()["data"][0]["id"]
    rolled = client.post(f"/console/keys/{key_id}/roll", data={"csrf": csrf})
    assert rolled.status_code == 201 and "Key rolled" in rolled.text
    new_token = re.search(r'id="token" type="text" readonly value="([^"]+)"', rolled.text)
    assert new_token is not None and new_token.group(1) != token.group(1)
    assert svc.get("/v1/assets", token=new_token.group(1)).status_code == 200
    new_id = next(
        k["id"]
        for k in svc.get("/v1/keys").json()["data"]
        if k["id"] != key_id and k["name"] == "catalogue team"
    )
    gone = client.post(f"/console/keys/{new_id}/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert gone.status_code == 303
    svc.services.credentials.clear()
    assert svc.get("/v1/assets", token=new_token.group(1)).status_code == 401
    # Refusals: no scope, an unknown scope, a forged form, a scope the key does not hold.
    for data, status, where in (
        ({"csrf": csrf, "name": "x"}, 422, "scopes"),
        ({"csrf": csrf, "name": "x", "scopes": ["everything"]}, 422, "scopes"),
        ({"csrf": "forged", "name": "x", "scopes": ["assets:read"]}, 403, "csrf"),
    ):
        refused = client.post("/console/keys", data=data)
        assert refused.status_code == status and f"<code>{where}</code>" in refused.text, refused.text
    reader = browser(svc)
    sign_in(reader, svc.new_key("keys:read", "keys:write", "assets:read"))
    page = reader.get("/console/keys").text
    assert 'value="renders:write"' not in page  # only the scopes the key holds are offered
    refused = reader.post(
        "/console/keys", data={"csrf": csrf_of(page), "name": "x", "scopes": ["renders:write"]}
    )
    assert refused.status_code == 403
    narrow = browser(svc)
    sign_in(narrow, svc.new_key("keys:read"))
    shown = narrow.get("/console/keys").text
    assert 'id="create-key"' not in shown and "Revoke" not in shown


# ------------------------------------------------------------------------------ webhooks


def test_webhooks_delivery_log_test_event_and_redeliver(tmp_path: Path) -> None:
    receiver = Receiver()
    receiver.script("/hook", Answer(503, b"busy right now"), Answer(200, b"thanks"))
    try:
        with running_service(tmp_path, **WEBHOOKS_FAST) as svc:
            made = svc.post(
                "/v1/webhook_endpoints", json={"url": receiver.url(), "event_types": ["render.*"]}
            )
            assert made.status_code == 201, made.text
            endpoint_id = made.json()["id"]
            client = browser(svc)
            sign_in(client, svc.token)
            listed = client.get("/console/webhooks")
            assert listed.status_code == 200 and f'data-endpoint-id="{endpoint_id}"' in listed.text
            log = client.get(f"/console/webhooks/{endpoint_id}")
            assert "No messages yet" in log.text
            sent = client.post(
                f"/console/webhooks/{endpoint_id}/test",
                data={"csrf": csrf_of(log.text)},
                follow_redirects=False,
            )
            assert sent.status_code == 303
            receiver.wait("/hook", 1)
            deadline = time.monotonic() + 60
            while True:  # the first answer (503) is recorded, then the retry's 200
                page = client.get(f"/console/webhooks/{endpoint_id}").text
                if 'data-status="succeeded"' in page:
                    break
                assert time.monotonic() < deadline, page
                time.sleep(0.1)
            assert "HTTP 503" in page and "busy right now" in page and "HTTP 200" in page and "thanks" in page
            message_id = re.search(r'data-message-id="([^"]+)"', page)
            assert message_id is not None
            again = client.post(
                f"/console/webhooks/{endpoint_id}/messages/{message_id.group(1)}/retry",
                data={"csrf": csrf_of(page)},
                follow_redirects=False,
            )
            assert again.status_code == 303
            receiver.wait("/hook", 3)
            refused = client.post(f"/console/webhooks/{endpoint_id}/test", data={"csrf": "forged"})
            assert refused.status_code == 403
            reader = browser(svc)
            sign_in(reader, svc.new_key("webhooks:read"))
            shown = reader.get(f"/console/webhooks/{endpoint_id}").text
            assert "Send a test event" not in shown and "Redeliver" not in shown
            assert (
                reader.post(
                    f"/console/webhooks/{endpoint_id}/test", data={"csrf": csrf_of(shown)}
                ).status_code
                == 403
            )
            other = browser(svc)
            sign_in(other, svc.other_workspace_key())
            assert other.get(f"/console/webhooks/{endpoint_id}").status_code == 404
    finally:
        receiver.close()


def _color_edit(color: str, length: float = 1) -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": color}, "length": length}]}]},
        "outputs": [{"resolution": "360p", "fps": 25, "quality": "draft"}],
    }


def test_projects_history_diff_restore_validate_and_plan(svc: Service, tmp_path: Path) -> None:
    made = svc.post(
        "/v1/projects", json={"name": "Spring teaser", "edit": _color_edit("red"), "message": "first cut"}
    )
    assert made.status_code == 201, made.text
    project_id = made.json()["id"]
    changed = svc.client.put(
        f"/v1/projects/{project_id}",
        json={"edit": _color_edit("blue", 2), "message": "bluer, longer"},
        headers={**svc.headers(None), "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    client = browser(svc)
    sign_in(client, svc.token)
    listed = client.get("/console/projects", params={"name": "spring"})
    assert listed.status_code == 200 and f'href="/console/projects/{project_id}"' in listed.text
    assert project_id not in client.get("/console/projects", params={"name": "autumn"}).text
    shown = client.get(f"/console/projects/{project_id}")
    assert shown.status_code == 200
    assert "bluer, longer" in shown.text and "first cut" in shown.text and "&#34;blue&#34;" in shown.text
    csrf = csrf_of(shown.text)

    diff = client.get(f"/console/projects/{project_id}/diff", params={"from": 1, "to": 2})
    assert diff.status_code == 200
    assert 'data-pointer="#/timeline/tracks/0/clips/0/asset/color"' in diff.text
    assert 'data-pointer="#/timeline/tracks/0/clips/0/length"' in diff.text
    fragment = client.get(
        f"/console/projects/{project_id}/diff", params={"from": 2, "to": 1}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text and "&#34;red&#34;" in fragment.text
    for params, where in (({"from": "x", "to": "1"}, "from"), ({"from": "1"}, "to")):
        refused = client.get(f"/console/projects/{project_id}/diff", params=params)
        assert refused.status_code == 422 and f"<code>{where}</code>" in refused.text
    missing = client.get(f"/console/projects/{project_id}/diff", params={"from": 1, "to": 9})
    assert missing.status_code == 404 and "<code>#/to</code>" in missing.text

    ok = client.post(f"/console/projects/{project_id}/validate", data={"csrf": csrf})
    assert ok.status_code == 200 and 'data-ok="true"' in ok.text and "Revision 2 is valid" in ok.text
    plan = client.post(f"/console/projects/{project_id}/plan", data={"csrf": csrf})
    assert plan.status_code == 200 and 'id="plan-outputs"' in plan.text and "640x360" in plan.text
    assert client.post(f"/console/projects/{project_id}/plan", data={"csrf": "forged"}).status_code == 403

    # Restoring revision 1 makes revision 3 with its edit; a stale page's restore is refused.
    restored = client.post(
        f"/console/projects/{project_id}/revisions/1/restore",
        data={"csrf": csrf, "revision": "2"},
        follow_redirects=False,
    )
    assert restored.status_code == 303, restored.text
    now = svc.get(f"/v1/projects/{project_id}").json()
    assert (
        now["revision"] == 3 and now["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["color"] == "red"
    )
    stale = client.post(
        f"/console/projects/{project_id}/revisions/2/restore", data={"csrf": csrf, "revision": "2"}
    )
    assert stale.status_code == 412 and svc.get(f"/v1/projects/{project_id}").json()["revision"] == 3

    # An asset the edit names is gone: validation shows the problem at its pointer.
    still = make_image(tmp_path / "gone.png", color="red")
    with still.open("rb") as fh:
        asset = svc.post("/v1/assets", files={"file": ("gone.png", fh, "image/png")}).json()
    edit = _color_edit("red")
    edit["timeline"]["tracks"].append(
        {"clips": [{"asset": {"type": "image", "src": asset["id"]}, "length": 1}]}
    )
    broken = svc.post("/v1/projects", json={"name": "Loses its image", "edit": edit}).json()
    assert svc.client.delete(f"/v1/assets/{asset['id']}", headers=svc.headers(None)).status_code == 204
    bad = client.post(f"/console/projects/{broken['id']}/validate", data={"csrf": csrf})
    assert bad.status_code == 422 and "<code>#/timeline/tracks/1/clips/0/asset/src</code>" in bad.text, (
        bad.text
    )


def test_projects_follow_scopes_and_workspaces(svc: Service) -> None:
    made = svc.post("/v1/projects", json={"name": "Private cut", "edit": _color_edit("green")}).json()
    reader = browser(svc)
    sign_in(reader, svc.new_key("projects:read"))
    page = reader.get(f"/console/projects/{made['id']}")
    assert page.status_code == 200 and "Restore" not in page.text and 'id="plan-button"' not in page.text
    csrf = csrf_of(page.text)
    plan = reader.post(f"/console/projects/{made['id']}/plan", data={"csrf": csrf})
    assert plan.status_code == 403 and "renders:write" in plan.text
    restore = reader.post(
        f"/console/projects/{made['id']}/revisions/1/restore", data={"csrf": csrf, "revision": "1"}
    )
    assert restore.status_code == 403 and "projects:write" in restore.text
    narrow = browser(svc)
    sign_in(narrow, svc.new_key("assets:read"))
    for url in ("/console/projects", f"/console/projects/{made['id']}"):
        denied = narrow.get(url)
        assert (
            denied.status_code == 403 and "projects:read" in denied.text and "Private cut" not in denied.text
        )
    other = browser(svc)
    sign_in(other, svc.other_workspace_key())
    assert "Private cut" not in other.get("/console/projects").text
    assert other.get(f"/console/projects/{made['id']}").status_code == 404


HTMX = {"HX-Request": "true"}


def assert_fragment(answer: Any, status: int) -> str:
    """An htmx request's refusal: the status, a fragment (no page around it) with an alert."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "<html" not in answer.text and "<h1" not in answer.text
    assert 'role="alert"' in answer.text and f'data-status="{status}"' in answer.text
    return str(answer.text)


def test_htmx_refusals_are_fragments_shown_in_place(svc: Service) -> None:
    made = svc.post("/v1/projects", json={"name": "Refusals", "edit": _color_edit("red")}).json()
    project_id = made["id"]
    assert (
        svc.client.put(
            f"/v1/projects/{project_id}",
            json={"edit": _color_edit("blue")},
            headers={**svc.headers(None), "If-Match": '"1"'},
        ).status_code
        == 200
    )
    client = browser(svc)
    sign_in(client, svc.token)
    here = f"http://testserver/console/projects/{project_id}"
    csrf = csrf_of(client.get(f"/console/projects/{project_id}").text)

    # 403, a stale CSRF token: it says so and links the page to reload.
    stale = client.post(
        f"/console/projects/{project_id}/validate",
        data={"csrf": "stale"},
        headers={**HTMX, "HX-Current-URL": here},
    )
    text = assert_fragment(stale, 403)
    assert "CSRF token is missing or stale" in text and "<code>csrf</code>" in text
    assert f'<a href="/console/projects/{project_id}">Reload the page</a>' in text
    # The link is a path of the console, never a page of another site.
    away = client.post(
        f"/console/projects/{project_id}/plan",
        data={"csrf": "stale"},
        headers={**HTMX, "HX-Current-URL": "https://evil.example/phish"},
    )
    assert '<a href="/console">Reload the page</a>' in assert_fragment(away, 403)
    # 403, a missing scope.
    reader = browser(svc)
    sign_in(reader, svc.new_key("projects:read"))
    reader_csrf = csrf_of(reader.get(f"/console/projects/{project_id}").text)
    scope = reader.post(f"/console/projects/{project_id}/plan", data={"csrf": reader_csrf}, headers=HTMX)
    assert "<code>renders:write</code>" in assert_fragment(scope, 403)

    # 404: a revision that does not exist, with its pointer; htmx swaps all of it into the target.
    missing = client.get(f"/console/projects/{project_id}/diff", params={"from": 1, "to": 9}, headers=HTMX)
    assert "<code>#/to</code>" in assert_fragment(missing, 404)
    assert missing.headers["HX-Reswap"] == "innerHTML" and missing.headers["HX-Reselect"] == ".problem"
    gone = client.post("/console/projects/prj_missing/validate", data={"csrf": csrf}, headers=HTMX)
    assert 'data-ok="false"' in assert_fragment(gone, 404)

    # 412: a restore from a page older than the project's current revision.
    old = client.post(
        f"/console/projects/{project_id}/revisions/1/restore",
        data={"csrf": csrf, "revision": "1"},
        headers=HTMX,
    )
    assert "The resource changed since you read it." in assert_fragment(old, 412)
    assert svc.get(f"/v1/projects/{project_id}").json()["revision"] == 2

    # 409: rolling a key that was revoked meanwhile.
    key = svc.post("/v1/keys", json={"name": "gone soon", "scopes": ["assets:read"]}).json()
    assert svc.post(f"/v1/keys/{key['id']}/revoke").status_code == 200
    keys_csrf = csrf_of(client.get("/console/keys").text)
    rolled = client.post(f"/console/keys/{key['id']}/roll", data={"csrf": keys_csrf}, headers=HTMX)
    assert "a revoked key cannot be rolled" in assert_fragment(rolled, 409)

    # Without htmx the same refusals are pages of their own, as before.
    page = client.post(f"/console/keys/{key['id']}/roll", data={"csrf": keys_csrf})
    assert page.status_code == 409 and "<html" in page.text and "<h1>" in page.text
    page = client.post(
        f"/console/projects/{project_id}/revisions/1/restore",
        data={"csrf": "stale", "revision": "2"},
        headers={"Referer": here},
    )
    assert page.status_code == 403 and "<html" in page.text
    assert f'<a href="/console/projects/{project_id}">Reload the page</a>' in page.text


def test_an_expired_session_sends_htmx_to_the_sign_in_page(svc: Service) -> None:
    """htmx would follow a redirect and swap the sign-in page into its target: it is told to
    load the sign-in page itself (``HX-Redirect``), with the page to return to."""
    user_id = member(svc, "ida@example.com", "editor")
    made = svc.post("/v1/projects", json={"name": "Expiring", "edit": _color_edit("green")}).json()
    here = f"/console/projects/{made['id']}"
    client = browser(svc)
    assert sign_in_as(client, "ida@example.com").status_code == 303
    csrf = csrf_of(client.get(here).text)
    with svc.services.sessions() as db:  # signed in too long ago
        db.execute(
            update(ConsoleSession)
            .where(ConsoleSession.user_id == user_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.commit()
    sign_in_here = "/console/sign-in?" + urlencode({"next": here})
    for answer in (
        client.post(
            f"{here}/validate",
            data={"csrf": csrf},
            headers={**HTMX, "HX-Current-URL": f"http://testserver{here}"},
            follow_redirects=False,
        ),
        client.get(
            f"{here}/diff",
            params={"from": 1, "to": 1},
            headers={**HTMX, "HX-Current-URL": f"http://testserver{here}"},
            follow_redirects=False,
        ),
    ):
        assert answer.status_code == 401 and answer.headers["HX-Redirect"] == sign_in_here
        assert "location" not in answer.headers and answer.text == ""
    # Only a path of this console is returned to.
    away = client.post(
        f"{here}/plan",
        data={"csrf": csrf},
        headers={**HTMX, "HX-Current-URL": "https://evil.example/phish"},
        follow_redirects=False,
    )
    assert away.status_code == 401 and away.headers["HX-Redirect"] == "/console/sign-in"
    # Without htmx: a redirect, as before.
    plain = client.get(here, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == sign_in_here
    # Signing in on that page returns to where the person was.
    again = sign_in_as(client, "ida@example.com", next_path=here)
    assert again.status_code == 303 and again.headers["location"] == here


@pytest.mark.slow
def test_numbers_no_form_makes_are_refused_by_name(svc: Service) -> None:
    """Digits `int` cannot read ("²" is a digit to `str.isdigit`), numbers too long to convert and
    numbers past the column's range are the console's 422 naming what was wrong, never a 500."""
    made = svc.post("/v1/projects", json={"name": "Odd numbers", "edit": _color_edit("red")}).json()
    project = f"/console/projects/{made['id']}"
    client = TestClient(svc.client.app, base_url="http://testserver", raise_server_exceptions=False)
    sign_in(client, svc.token)
    csrf = csrf_of(client.get(project).text)
    for number in ("99999999999999999999", "2147483648", "\u00b2", "0", "-1", "1" * 5000):
        for headers, whole in (({}, True), (HTMX, False)):
            refused = client.post(
                f"{project}/revisions/{number}/restore", data={"csrf": csrf, "revision": "1"}, headers=headers
            )
            assert refused.status_code == 422, (number, refused.text)
            assert "<code>number</code>" in refused.text and ("<html" in refused.text) is whole
    for revision in ("\u00b2", "1" * 5000, "99999999999999999999"):
        refused = client.post(f"{project}/revisions/1/restore", data={"csrf": csrf, "revision": revision})
        assert refused.status_code == 422 and "<code>revision</code>" in refused.text, refused.text
    for params, where in (({"from": "\u00b2", "to": "1"}, "from"), ({"from": "1", "to": "9" * 5000}, "to")):
        refused = client.get(f"{project}/diff", params=params)
        assert refused.status_code == 422 and f"<code>{where}</code>" in refused.text, refused.text
    assert client.get(f"{project}/diff", params={"from": "1", "to": "1"}).status_code == 200
    # A transcript correction is checked before the transcript is looked up.
    correct = "/console/assets/ast_none/transcripts/trn_none/correct"
    for form, where in (
        ({"revision": "1" * 5000}, "revision"),
        ({"revision": "\u00b2"}, "revision"),
        ({"revision": "99999999999999999999"}, "revision"),
        ({"revision": "1", "cue.0": "hello", "cue.\u00b2": "x"}, "cue.\u00b2"),
        ({"revision": "1", "cue.0": "hello", "cue." + "1" * 5000: "x"}, "cue." + "1" * 5000),
    ):
        refused = client.post(correct, data={"csrf": csrf, **form}, follow_redirects=False)
        assert refused.status_code == 422 and f"<code>{where}</code>" in refused.text, (where, refused.text)
    for revision in ("0", "1"):  # a new transcript is at revision 0
        assert (
            client.post(correct, data={"csrf": csrf, "revision": revision, "cue.0": "x"}).status_code == 404
        )
    # The grid's page size and a tus header are read the same way.
    assert client.get("/console/assets", params={"limit": "\u00b2"}).status_code == 422
    tus = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
    for length in (b"\xb2", b"99999999999999999999"):
        refused = client.post("/console/uploads", headers={**tus, "Upload-Length": length})  # type: ignore[arg-type]
        assert refused.status_code == 400 and refused.json()["errors"][0]["header"] == "Upload-Length"


def test_a_console_tus_chunk_takes_the_tus_limit_not_the_json_one(tmp_path: Path) -> None:
    """The console's script sends chunks of megabytes: its PATCH gets the tus limit
    (``max_upload_patch_bytes``), as ``/v1/uploads`` does, and the limit's 413 says Tus-Resumable."""
    with running_service(tmp_path, max_json_body_bytes=1024, max_upload_patch_bytes=4096) as small:
        client = browser(small)
        sign_in(client, small.token)
        grid = client.get("/console/assets").text
        assert 'data-chunk-bytes="4096"' in grid  # the page's chunks fit the limit
        csrf = csrf_of(grid)
        tus = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
        made = client.post("/console/uploads", headers={**tus, "Upload-Length": "10000"})
        assert made.status_code == 201, made.text
        url = made.headers["location"]
        octets = {**tus, "Content-Type": "application/offset+octet-stream"}
        chunk = client.patch(url, content=b"\0" * 3000, headers={**octets, "Upload-Offset": "0"})
        assert chunk.status_code == 204, chunk.text
        assert chunk.headers["upload-offset"] == "3000"
        over = client.patch(url, content=b"\0" * 5000, headers={**octets, "Upload-Offset": "3000"})
        assert over.status_code == 413 and over.json()["max_bytes"] == 4096, over.text
        assert over.headers["tus-resumable"] == "1.0.0"
        resumed = client.head(url, headers=tus)
        assert resumed.status_code == 200 and resumed.headers["upload-offset"] == "3000"
        # Other console forms keep the JSON limit.
        big = client.post("/console/sign-out", data={"csrf": csrf, "pad": "x" * 2000})
        assert big.status_code == 413 and "tus-resumable" not in big.headers


def test_transcript_review_correct_and_approve(tmp_path: Path) -> None:
    """The real speech model on a synthesised sentence; skips without espeak-ng (make speech)."""
    from speechgen import espeak, make_speech, speech_clips

    if espeak() is None:
        pytest.skip("espeak-ng is not installed (make speech)")
    from test_transcripts import model_dir, wait_transcript

    clip = next(c for c in speech_clips() if c.name == "weather")
    path = tmp_path / "weather.mp4"
    make_speech(path, clip)
    with running_service(tmp_path / "svc", asr_model=model_dir(), asr_cache_dir=tmp_path / "cache") as svc:
        with path.open("rb") as fh:
            asset = svc.post("/v1/assets", files={"file": ("weather.mp4", fh, "video/mp4")}).json()
        client = browser(svc)
        sign_in(client, svc.token)
        detail = client.get(f"/console/assets/{asset['id']}")
        csrf = csrf_of(detail.text)
        assert "Transcribe" in detail.text
        started = client.post(
            f"/console/assets/{asset['id']}/transcripts", data={"csrf": csrf}, follow_redirects=False
        )
        assert started.status_code == 303, started.text
        url = started.headers["location"]
        transcript_id = url.rsplit("/", 1)[-1]
        done = wait_transcript(svc, f"/v1/assets/{asset['id']}/transcripts/{transcript_id}")
        assert done["state"] == "succeeded", done
        review = client.get(url)
        assert review.status_code == 200 and 'data-state="succeeded"' in review.text
        cues = re.findall(r'name="(cue\.\d+)" value="([^"]*)"', review.text)
        assert cues and " ".join(v for _, v in cues).split() == [w["text"] for w in done["words"]]
        assert f'href="{url}"' in client.get(f"/console/assets/{asset['id']}").text

        # One word corrected: the transcript's text changes there, and only there.
        words = [w["text"] for w in done["words"]]
        target = next(i for i, w in enumerate(words) if w.lower().startswith("warm"))
        form: dict[str, str] = {"csrf": csrf, "revision": "0"}
        seen = 0
        for name, value in cues:
            parts = value.split()
            form[name] = " ".join("hot" if seen + i == target else p for i, p in enumerate(parts))
            seen += len(parts)
        saved = client.post(f"{url}/correct", data=form, follow_redirects=False)
        assert saved.status_code == 303, saved.text
        fixed = svc.get(f"/v1/assets/{asset['id']}/transcripts/{transcript_id}").json()
        assert fixed["revision"] == 1 and fixed["words"][target]["text"] == "hot"
        assert [w["text"] for i, w in enumerate(fixed["words"]) if i != target] == [
            w for i, w in enumerate(words) if i != target
        ]
        stale = client.post(f"{url}/correct", data=form)  # still says revision 0
        assert stale.status_code == 409
        assert client.post(f"{url}/correct", data={**form, "revision": "x"}).status_code == 422

        # Correcting needs assets:write, approving assets:approve (as in the API).
        writer = browser(svc)
        sign_in(writer, svc.new_key("assets:read", "assets:write"))
        page = writer.get(url)
        assert 'id="save-words"' in page.text and 'id="approve-button"' not in page.text
        denied = writer.post(f"{url}/approve", data={"csrf": csrf_of(page.text)})
        assert denied.status_code == 403 and "assets:approve" in denied.text
        reader = browser(svc)
        sign_in(reader, svc.new_key("assets:read"))
        page = reader.get(url)
        assert 'id="save-words"' not in page.text and "hot" in page.text
        refused = reader.post(f"{url}/correct", data={**form, "csrf": csrf_of(page.text), "revision": "1"})
        assert refused.status_code == 403 and "assets:write" in refused.text

        approved = client.post(f"{url}/approve", data={"csrf": csrf}, follow_redirects=False)
        assert approved.status_code == 303
        assert svc.get(f"/v1/assets/{asset['id']}/transcripts/{transcript_id}").json()["approved"] is True
        assert 'data-approved="true"' in client.get(url).text
        other = browser(svc)
        sign_in(other, svc.other_workspace_key())
        assert other.get(url).status_code == 404


def test_resumable_upload_by_tus_from_the_console(svc: Service, tmp_path: Path) -> None:
    import base64

    video = make_video(tmp_path / "resumed.mp4", duration=1, size=(256, 144))  # bytes no other test uploads
    data = video.read_bytes()
    client = browser(svc)
    sign_in(client, svc.token)
    grid = client.get("/console/assets").text
    assert 'data-tus="/console/uploads"' in grid
    csrf = csrf_of(grid)
    tus = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in (("filename", "resumed.mp4"), ("tags", "tus"))
    )
    made = client.post(
        "/console/uploads", headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta}
    )
    assert made.status_code == 201, made.text
    url = made.headers["location"]
    assert url.startswith("/console/uploads/upl_")
    half = len(data) // 2
    octets = {**tus, "Content-Type": "application/offset+octet-stream"}
    first = client.patch(url, content=data[:half], headers={**octets, "Upload-Offset": "0"})
    assert first.status_code == 204 and first.headers["upload-offset"] == str(half)
    # A page opened later asks where to go on, then sends the rest.
    assert client.head(url, headers=tus).headers["upload-offset"] == str(half)
    wrong = client.patch(url, content=data[half:], headers={**octets, "Upload-Offset": "0"})
    assert wrong.status_code == 409
    rest = client.patch(url, content=data[half:], headers={**octets, "Upload-Offset": str(half)})
    assert rest.status_code == 204, rest.text
    asset_id = rest.headers["reelforge-asset-id"]
    asset = svc.get(f"/v1/assets/{asset_id}").json()
    assert asset["name"] == "resumed.mp4" and asset["tags"] == ["tus"] and asset["size_bytes"] == len(data)
    assert client.head(url, headers=tus).headers["reelforge-asset-id"] == asset_id

    # The session, its CSRF token, assets:write and tus itself, as on /v1/uploads.
    length = {"Upload-Length": "10"}
    assert browser(svc).post("/console/uploads", headers={**tus, **length}).status_code == 401
    forged = client.post("/console/uploads", headers={**tus, **length, "X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    no_tus = client.post("/console/uploads", headers={"X-CSRF-Token": csrf, **length})
    assert no_tus.status_code == 412 and no_tus.json()["errors"][0]["header"] == "Tus-Resumable"
    no_length = client.post("/console/uploads", headers=tus)
    assert no_length.status_code == 400 and no_length.json()["errors"][0]["header"] == "Upload-Length"
    reader = browser(svc)
    sign_in(reader, svc.new_key("assets:read"))
    reader_csrf = csrf_of(reader.get("/console/assets").text)
    denied = reader.post("/console/uploads", headers={**tus, **length, "X-CSRF-Token": reader_csrf})
    assert denied.status_code == 403 and denied.json()["required_scope"] == "assets:write"
    other = browser(svc)
    sign_in(other, svc.other_workspace_key())
    other_csrf = csrf_of(other.get("/console/assets").text)
    assert other.head(url, headers={**tus, "X-CSRF-Token": other_csrf}).status_code == 404


def rows_template(kit_id: str | None) -> dict[str, Any]:
    edit: dict[str, Any] = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {
                            "repeat": {"for": "items", "as": "item"},
                            "asset": {
                                "type": "text",
                                "text": "{{item.name}} {{item.price}}",
                                "style": {"size": 0.02},
                            },
                            "length": 0.5,
                            "anchor": "bottom",
                        }
                    ]
                },
                {"clips": [{"asset": {"type": "color", "color": "navy"}, "start": 0, "length": "end"}]},
            ]
        },
        "outputs": [{"width": 160, "height": 90, "quality": "draft", "fps": 25}],
    }
    if kit_id:
        edit["brand"] = kit_id
    return {
        "name": "Price list" if kit_id else "Plain price list",
        "edit": edit,
        "variables": [
            {
                "name": "items",
                "type": "list",
                "validation": {"min_items": 1, "max_items": 4},
                "fields": [
                    {"name": "name", "type": "text", "required": True, "localizable": True},
                    {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
                ],
            }
        ],
        "locales": ["en", "fr"],
    }


def test_template_list_rows_brand_findings_and_safe_zones(rendering: Service) -> None:
    kit = rendering.post("/v1/brand_kits", json={"name": "Acme"})
    assert kit.status_code == 201, kit.text
    branded = rendering.post("/v1/templates", json=rows_template(kit.json()["id"]))
    assert branded.status_code == 201, branded.text
    template_id = branded.json()["id"]
    client = browser(rendering)
    sign_in(client, rendering.token)
    html = client.get(f"/console/templates/{template_id}").text
    # A list variable is rows of typed fields (one row to start: min_items), with a blank row to add.
    assert 'data-list="items"' in html and 'name="v.items.0.name"' in html
    assert 'type="number" id="f-items-0-price"' in html and 'name="v.items.__row__.price"' in html
    assert 'data-max="4"' in html
    csrf = csrf_of(html)
    # Rows arrive in the order of their numbers; a row's field that is not its type has its pointer.
    values = {"csrf": csrf, "locale": "en", "at": "0.2", "v.items.0.name": "Lamp", "v.items.0.price": "3",
              "v.items.1.name": "Throw", "v.items.1.price": "5"}  # fmt: skip
    stills = client.post(f"/console/templates/{template_id}/stills", data=values)
    assert stills.status_code == 200, stills.text
    assert 'id="brand-check" data-passed="false"' in stills.text and "Acme" in stills.text
    # The kit's findings point into the merged edit, drawn on the still of their output...
    findings = re.findall(
        r'<li class="finding (\w+)"><strong>\w+</strong> ([\w_]+): [^<]*<code>([^<]+)</code>', stills.text
    )
    assert findings and all(p.startswith("#/edit/timeline/tracks/0/clips/") for _, _, p in findings), (
        stills.text
    )
    assert {rule for _, rule, _ in findings} >= {"text_too_small", "safe_zone"}
    # ...and the 9:16 still shows the kit's safe zones (the default: top 14 %, bottom 20 %).
    portrait = stills.text.split('data-ratio="9:16"', 1)[1].split("</figure>", 1)[0]
    assert 'data-side="top" title="Safe zone: top 14.0 %"' in portrait
    assert 'class="zone zone-bottom" style="height: 20.0%"' in portrait
    landscape = stills.text.split('data-ratio="16:9"', 1)[1].split("</figure>", 1)[0]
    assert "zone-top" not in landscape
    bad = client.post(f"/console/templates/{template_id}/stills", data={**values, "v.items.1.price": "cheap"})
    # Rows are read in the order of their numbers, whatever they are; a number no form makes is not a row.
    gaps = {k.replace("v.items.1.", "v.items.7."): v for k, v in values.items()}
    odd = {**gaps, "v.items.7.price": "cheap", "v.items." + "9" * 5000 + ".name": "x"}
    shifted = client.post(f"/console/templates/{template_id}/stills", data=odd)
    assert shifted.status_code == 422 and "<code>#/values/items/1/price</code>" in shifted.text, shifted.text
    assert bad.status_code == 422 and "<code>#/values/items/1/price</code>" in bad.text
    missing = client.post(f"/console/templates/{template_id}/stills", data={**values, "v.items.1.name": ""})
    assert missing.status_code == 422 and "<code>#/values/items/1/name</code>" in missing.text, missing.text
    empty = {k: v for k, v in values.items() if not k.startswith("v.items")}
    none = client.post(f"/console/templates/{template_id}/stills", data=empty)
    assert none.status_code == 422 and "<code>#/values/items</code>" in none.text, none.text

    # Without a kit: no findings, the platforms' default zones on 9:16.
    plain = rendering.post("/v1/templates", json=rows_template(None)).json()["id"]
    shown = client.post(f"/console/templates/{plain}/stills", data=values)
    assert shown.status_code == 200 and 'data-passed="true"' in shown.text and "No brand kit" in shown.text
    assert 'class="finding' not in shown.text and "zone-bottom" in shown.text


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_console_sessions_migration_and_the_chain_since_0016_go_down_and_up(
    kind: str, tmp_path: Path
) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from reelforge.db.models import Base
    from reelforge.db.session import alembic_config, migrate
    from service import database, require_database

    require_database(kind)
    with database(kind, tmp_path) as url:
        migrate(url)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            columns = {c["name"]: c for c in sa.inspect(conn).get_columns("console_sessions")}
            assert {"api_key_id", "workspace_id"} <= set(columns) and columns["user_id"]["nullable"]
        command.downgrade(alembic_config(url), "0024")
        with engine.connect() as conn:
            columns = {c["name"]: c for c in sa.inspect(conn).get_columns("console_sessions")}
            assert "api_key_id" not in columns and not columns["user_id"]["nullable"]
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            assert "api_key_id" in {c["name"] for c in sa.inspect(conn).get_columns("console_sessions")}
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        # The whole chain since uploads (0016) goes down and up again, to the models' tables.
        command.downgrade(alembic_config(url), "0016")
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        engine.dispose()
