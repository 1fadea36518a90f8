"""The web console over HTTP (no browser): sign-in sessions, CSRF, scopes and workspaces as in
the API, the assets grid's filters and pages, upload, previews and the player's Range requests.
The browser tests are in tests/test_console_browser.py."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mediagen import make_image, make_video
from people import PASSWORD, member, workspace_id
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
        r'<figure data-ratio="([0-9:]+)">\s*<img src="data:image/jpeg;base64,[^"]+" width="(\d+)" height="(\d+)"',
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


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_console_sessions_migration_goes_down_and_up(kind: str, tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command

    from reelforge.db.session import alembic_config, migrate
    from service import database, require_database

    require_database(kind)
    with database(kind, tmp_path) as url:
        migrate(url)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            columns = {c["name"]: c for c in sa.inspect(conn).get_columns("console_sessions")}
            assert {"api_key_id", "workspace_id"} <= set(columns) and columns["user_id"]["nullable"]
        command.downgrade(alembic_config(url), "0023")
        with engine.connect() as conn:
            columns = {c["name"]: c for c in sa.inspect(conn).get_columns("console_sessions")}
            assert "api_key_id" not in columns and not columns["user_id"]["nullable"]
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            assert "api_key_id" in {c["name"] for c in sa.inspect(conn).get_columns("console_sessions")}
        engine.dispose()
