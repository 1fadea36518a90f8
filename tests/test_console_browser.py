"""The web console in a real browser: Debian's Chromium driven by Playwright (never a browser
Playwright downloads), offline (every request to another host is aborted and fails the test).

Covers sign-in with a password, drag-and-drop upload with progress, a resumable (tus) upload
broken off and resumed from the server's offset, the grid's htmx filters, the detail page's player
playing, a project's diff, validation, plan and restore (and a refusal, a stale form token, shown
in place with what to do), a template's list rows added and reordered with brand findings and
safe zones on its stills, sign-out, a viewer who sees the assets but may not upload nor see the
keys, a key without ``assets:read`` or ``projects:read`` (the API-key way in) seeing a 403 page
and nothing of them, the main pages (the transcript review among them, where speech can be
synthesised) at phone width, and axe-core (tests/console_js, from the npm registry) finding no
serious or critical violation on
each page. The screenshots taken on the way go to docs/console/*.png (shown in docs/console.md)
when REELFORGE_UPDATE_SCREENSHOTS=1, else to a scratch folder, so a test run leaves the tree as
it found it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mediagen import make_image, make_video
from people import PASSWORD, member
from service import RenderGate, Service, holding_renders, live_server, running_service
from speechgen import espeak, make_speech, speech_clips
from test_batches import OUTPUTS as BATCH_OUTPUTS
from test_batches import TEMPLATE as BATCH_TEMPLATE
from test_console import rows_template
from test_transcripts import model_dir
from test_webhooks import FAST as WEBHOOKS_FAST
from test_webhooks import Receiver

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
AXE = Path(__file__).parent / "console_js" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = (
    Path(__file__).resolve().parents[1] / "docs" / "console"
    if os.environ.get("REELFORGE_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / f"reelforge-console-{os.getpid()}"
)


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("console-browser")
    speech = {"asr_model": model_dir(), "asr_cache_dir": root / "asr-cache"}
    # Request bodies are limited to 16 KiB, below the 32 KiB chunks of the resumable upload below:
    # its PATCHes must take the tus limit, not the JSON one.
    with running_service(
        root / "svc", workers=1, max_json_body_bytes=16 * 1024, **WEBHOOKS_FAST, **speech
    ) as service:
        yield service


def follow(page: Any, link: Any) -> None:
    """Click a link and wait for the new page's load event: htmx binds its forms and buttons when
    the document is parsed, so a click before that would send a form the ordinary way."""
    with page.expect_navigation():
        link.click()


def chromium_or_fail() -> Any:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: .ci/run installs /usr/bin/chromium")
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `cd tests/console_js && npm install` (.ci/run does)")
    return pytest.importorskip("playwright.sync_api")


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return found


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/console")
    page.wait_for_url(f"{base}/console/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base}/console/assets")


def sign_in_with_key(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/console")
    page.wait_for_url(f"{base}/console/sign-in")
    page.get_by_text("Sign in with an API key instead").click()
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Sign in with the key").click()
    page.wait_for_url(f"{base}/console/assets")


def sign_out(page: Any, base: str) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{base}/console/sign-in")


@pytest.mark.slow
def test_console_in_a_browser(svc: Service, tmp_path: Path) -> None:
    sync_api = chromium_or_fail()
    video = make_video(tmp_path / "launch-teaser.mp4", duration=2)
    still = make_image(tmp_path / "poster.png", color="orange")
    long_take = make_video(tmp_path / "long-take.mp4", duration=2, fps=24)
    narrow_key = svc.new_key("renders:read")
    member(svc, "olivia@example.com", "owner")
    member(svc, "victor@example.com", "viewer")
    with live_server(svc) as base, sync_api.sync_playwright() as pw:
        host = urlsplit(base).hostname
        blocked: list[str] = []

        def only_loopback(route: Any) -> None:
            if urlsplit(route.request.url).hostname == host:
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            service_workers="block",
            viewport={"width": 1280, "height": 800},
        )
        try:
            context.route("**/*", only_loopback)
            page = context.new_page()
            page.set_default_timeout(60_000)  # a loaded 2-core machine is slow, never wrong

            # Sign-in page: accessible, then a wrong password is refused with a message.
            page.goto(f"{base}/console/sign-in")
            assert serious_violations(page) == []
            shoot(page, "sign-in")
            page.get_by_label("E-mail address").fill("olivia@example.com")
            page.get_by_label("Password").fill("not the password")
            page.get_by_role("button", name="Sign in", exact=True).click()
            page.get_by_role("alert").filter(has_text="password is wrong").wait_for()
            cookies = {c["name"]: c for c in context.cookies()}
            assert "rf_session" not in cookies

            sign_in(page, base, "olivia@example.com")
            session = next(c for c in context.cookies() if c["name"] == "rf_session")
            assert session["httpOnly"] and session["sameSite"] == "Lax"
            assert page.evaluate("document.cookie") == ""  # nothing readable by scripts
            assert "olivia@example.com" in page.locator("#signed-in-as").inner_text()

            # Upload two files through the file input (the drop zone's other way in).
            page.get_by_label("Tags (comma-separated)").fill("launch")
            page.locator("#upload-files").set_input_files([str(video), str(still)])
            done = page.locator("#upload-list li[data-asset-id]")
            page.wait_for_function("document.querySelectorAll('#upload-list li[data-asset-id]').length === 2")
            assert page.locator("#upload-list progress").evaluate_all("bars => bars.map(b => b.value)") == [
                100,
                100,
            ]
            video_id = done.nth(0).get_attribute("data-asset-id")
            still_id = done.nth(1).get_attribute("data-asset-id")
            # A dropped file goes the same way (a DataTransfer dispatched as the browser would).
            page.evaluate(
                """() => {
                    const dt = new DataTransfer();
                    dt.items.add(new File(['WEBVTT\\n\\n00:00.000 --> 00:01.000\\nHello\\n'], 'hello.vtt', {type: 'text/vtt'}));
                    document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
                }"""
            )
            page.wait_for_function("document.querySelectorAll('#upload-list li[data-asset-id]').length === 3")
            # A resumable upload (tus) broken off mid-way resumes where the server stopped.
            # Chunks of 32 KiB (above the fixture's 16 KiB JSON limit): several PATCHes for a small file.
            page.evaluate("document.getElementById('dropzone').dataset.chunkBytes = '32768'")
            patches: list[str] = []

            def break_second_patch(route: Any) -> None:
                if route.request.method == "PATCH":
                    patches.append(route.request.headers.get("upload-offset", ""))
                    if len(patches) == 2:
                        route.abort()
                        return
                route.fallback()

            page.route("**/console/uploads/*", break_second_patch)
            page.locator("#upload-files").set_input_files(str(long_take))
            resume = page.get_by_role("button", name="Resume the upload of long-take.mp4")
            resume.wait_for()
            page.unroute("**/console/uploads/*")
            resume.click()
            page.wait_for_function("document.querySelectorAll('#upload-list li[data-asset-id]').length === 4")
            assert patches[:2] == ["0", "32768"] and "0" not in patches[2:]  # never sent again from 0
            long_id = page.locator("#upload-list li[data-asset-id]").nth(3).get_attribute("data-asset-id")
            assert svc.get(f"/v1/assets/{long_id}").json()["size_bytes"] == long_take.stat().st_size
            # The grid shows them once the previews are made (reloaded until they are).
            for _ in range(120):
                page.goto(f"{base}/console/assets")
                if page.locator(f'[data-asset-id="{video_id}"] img').count():
                    break
                page.wait_for_timeout(500)
            page.locator(f'[data-asset-id="{video_id}"] img').wait_for()
            page.wait_for_function(
                "id => { const i = document.querySelector(`[data-asset-id='${id}'] img`); return i && i.complete && i.naturalWidth > 0 }",
                arg=video_id,
            )
            assert serious_violations(page) == []
            shoot(page, "assets")
            # Filtering by type swaps the grid in place (htmx) and keeps the URL shareable.
            page.get_by_label("Type").select_option("image")
            page.wait_for_function("id => !document.querySelector(`[data-asset-id='${id}']`)", arg=video_id)
            assert page.locator(f'#grid [data-asset-id="{still_id}"]').count() == 1
            assert "kind=image" in page.url

            # The detail page: probe, provenance, and the player plays the asset.
            page.goto(f"{base}/console/assets/{video_id}")
            assert "h264" in page.locator("#probe").inner_text()
            page.evaluate("document.getElementById('player').muted = true")
            page.evaluate("document.getElementById('player').play()")
            page.wait_for_function("document.getElementById('player').currentTime > 0.2")
            assert page.evaluate("document.getElementById('player').videoWidth") == 320
            assert serious_violations(page) == []
            shoot(page, "asset")

            # A long render: its page follows the progress live; cancelled with its button.
            long_edit = {
                "timeline": {
                    "tracks": [
                        {
                            "clips": [
                                {
                                    "asset": {"type": "color", "color": "red"},
                                    "length": 30,
                                    "effects": {"blur": 20},
                                }
                            ]
                        }
                    ]
                },
                "outputs": [{"resolution": "360p", "fps": 25, "quality": "max", "audio": False}],
            }
            with holding_renders(svc, RenderGate(progress=True)) as gate:
                created = svc.post("/v1/renders", json={"edit": long_edit})
                assert created.status_code == 202, created.text
                long_id = created.json()["id"]
                page.goto(f"{base}/console/renders/{long_id}")
                hold = gate.next(long_id)
                while not hold.fraction:  # on to a report past the start
                    hold.release()
                    hold = gate.next(long_id)
                percent = round(100 * hold.fraction, 1)
                # Pushed by the stream while the render is held mid-way: no reload, no polling.
                page.wait_for_function(
                    "p => document.getElementById('render-state').textContent === 'rendering'"
                    " && Math.abs(document.getElementById('render-progress').value - p) < 0.2",
                    arg=percent,
                )
                shoot(page, "render-progress")
                page.get_by_role("button", name="Cancel render").click()
                page.wait_for_url(f"{base}/console/renders/{long_id}")
                gate.open()
            # The page reloads itself when the stream says the render ended: wait for the page the
            # server wrote for the ended render (no stream), or the next navigation would race it.
            page.wait_for_function(
                "(() => { const box = document.getElementById('render-status');"
                " return box !== null && !box.dataset.stream"
                " && document.getElementById('render-state').textContent === 'cancelled'; })()"
            )
            page.wait_for_load_state()

            # A render of the uploaded video, followed to its end, then its output plays.
            edit = {
                "timeline": {
                    "tracks": [{"clips": [{"asset": {"type": "video", "src": video_id}, "length": 2}]}]
                },
                "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
            }
            created = svc.post("/v1/renders", json={"edit": edit})
            assert created.status_code == 202, created.text
            render_id = created.json()["id"]
            page.goto(f"{base}/console/renders/{render_id}")
            page.locator(".output-player").wait_for()
            assert page.locator("#render-state").inner_text() == "succeeded"
            page.evaluate("document.querySelector('.output-player').muted = true")
            page.evaluate("document.querySelector('.output-player').play()")
            page.wait_for_function("document.querySelector('.output-player').currentTime > 0.2")
            assert page.evaluate("document.querySelector('.output-player').videoHeight") == 360
            assert page.get_by_role("link", name="Download").first.get_attribute("download")
            assert serious_violations(page) == []
            shoot(page, "render")
            page.goto(f"{base}/console/renders")
            page.locator(f'[data-render-id="{render_id}"]').wait_for()
            assert serious_violations(page) == []
            shoot(page, "renders")

            # A template: the form, stills per aspect ratio, then a render of it that plays.
            template = svc.post("/v1/templates", json=BATCH_TEMPLATE)
            assert template.status_code == 201, template.text
            page.goto(f"{base}/console/templates")
            follow(page, page.get_by_role("link", name=BATCH_TEMPLATE["name"]))
            page.get_by_label("Locale").select_option("fr")
            page.get_by_label("title (required)").fill("Lampe")
            page.get_by_label("price (required)").fill("12")
            page.get_by_label("seconds", exact=True).fill(
                "5"
            )  # past the variable's maximum: the server says so
            page.get_by_label("clip (required)").select_option(video_id)
            page.get_by_label("Preview at (seconds)").fill("0.3")
            page.get_by_role("button", name="Preview").click()
            page.locator("#problems code", has_text="#/values/seconds").wait_for()  # a 422 shown in place
            page.get_by_label("seconds", exact=True).fill("0.6")
            page.get_by_role("button", name="Preview").click()
            page.wait_for_function("document.querySelectorAll('#stills figure img').length === 3")
            ratios = page.locator("#stills figure").evaluate_all("fs => fs.map(f => f.dataset.ratio)")
            assert ratios == ["16:9", "1:1", "9:16"]
            page.wait_for_function(
                "[...document.querySelectorAll('#stills img')].every(i => i.complete && i.naturalWidth > 0)"
            )
            assert serious_violations(page) == []
            shoot(page, "template")
            page.get_by_role("button", name="Render").click()
            page.wait_for_url(f"{base}/console/renders/rnd_*")
            page.locator(".output-player").wait_for()
            page.evaluate("document.querySelector('.output-player').muted = true")
            page.evaluate("document.querySelector('.output-player').play()")
            page.wait_for_function("document.querySelector('.output-player').currentTime > 0")

            # A project: its history, a diff in place, validate and plan, then a restore.
            project = svc.post(
                "/v1/projects", json={"name": "Teaser cut", "edit": edit, "message": "first cut"}
            )
            assert project.status_code == 201, project.text
            project_id = project.json()["id"]
            longer = {
                **edit,
                "timeline": {
                    "tracks": [{"clips": [{"asset": {"type": "video", "src": video_id}, "length": 1.5}]}]
                },
            }
            changed = svc.client.put(
                f"/v1/projects/{project_id}",
                json={"edit": longer, "message": "shorter"},
                headers={**svc.headers(None), "If-Match": '"1"'},
            )
            assert changed.status_code == 200, changed.text
            page.goto(f"{base}/console/projects")
            follow(page, page.get_by_role("link", name="Teaser cut"))
            page.get_by_role("button", name="Compare").click()
            page.locator('#diff-result li[data-pointer="#/timeline/tracks/0/clips/0/length"]').wait_for()
            page.get_by_role("button", name="Validate").click()
            page.locator('#checks .checks[data-ok="true"]').wait_for()
            page.get_by_role("button", name="Plan").click()
            page.locator("#plan-outputs").wait_for()
            assert "640x360" in page.locator("#plan-outputs").inner_text()
            assert serious_violations(page) == []
            shoot(page, "project")
            # A refusal shows in place: a form token gone stale (the session changed since the
            # page was loaded) says so and what to do, where the answer was expected.
            page.evaluate("document.querySelector('form.actions input[name=csrf]').value = 'stale'")
            page.get_by_role("button", name="Validate").click()
            refusal = page.locator('#checks [role="alert"][data-status="403"]')
            refusal.wait_for()
            assert "CSRF token is missing or stale" in refusal.inner_text()
            assert refusal.get_by_role("link", name="Reload the page").get_attribute("href") == (
                f"/console/projects/{project_id}"
            )
            # An answer that is not one of the console's own (the API layer's problem+json) is
            # shown in place alike, written by the console's script from what it says.
            page.evaluate(
                "htmx.ajax('GET', '/console/uploads/upl_none', {target: '#diff', swap: 'innerHTML'})"
            )
            page.locator('#diff [role="alert"][data-status="405"]').wait_for()
            page.get_by_role("button", name="Restore revision 1").click()
            page.locator("#project-revision", has_text="3").wait_for()
            assert svc.get(f"/v1/projects/{project_id}").json()["edit"]["timeline"] == edit["timeline"]

            # A template with a list variable: rows added and reordered, then stills with the
            # brand kit's findings and safe zones; switching the locale previews again.
            kit = svc.post("/v1/brand_kits", json={"name": "Acme"}).json()
            listed = svc.post("/v1/templates", json=rows_template(kit["id"]))
            assert listed.status_code == 201, listed.text
            page.goto(f"{base}/console/templates/{listed.json()['id']}")
            page.get_by_label("name (required) of items row 1").fill("Throw")
            page.get_by_label("price (required) of items row 1").fill("5")
            page.get_by_role("button", name="Add a row to items").click()
            page.get_by_label("name (required) of items row 2").fill("Lamp")
            page.get_by_label("price (required) of items row 2").fill("3")
            page.get_by_role("button", name="Move items row 2 up").click()
            assert page.locator('[name="v.items.0.name"]').input_value() == "Lamp"
            assert page.locator('[name="v.items.1.name"]').input_value() == "Throw"
            page.get_by_label("Preview at (seconds)").fill("0.2")
            page.get_by_role("button", name="Preview").click()
            page.wait_for_function("document.querySelectorAll('#stills figure img').length === 3")
            assert page.locator('#stills figure[data-ratio="9:16"] .zone-top').count() == 1
            assert page.locator('#stills figure[data-ratio="16:9"] .zone').count() == 0
            assert page.locator("#stills .finding").count() > 0
            with page.expect_response(lambda r: r.url.endswith("/stills") and r.status == 200):
                page.get_by_label("Locale").select_option("fr")
            page.wait_for_function(
                "[...document.querySelectorAll('#stills img')].every(i => i.complete && i.naturalWidth > 0)"
            )
            assert serious_violations(page) == []
            shoot(page, "template-rows")

            # A batch: its matrix of rows x locales x outputs.
            rows = [
                {"title": "Lamp", "price": 3, "clip": video_id, "seconds": 0.3},
                {
                    "title": {"$locales": {"en": "Throw", "fr": "Plaid"}},
                    "price": 5,
                    "clip": video_id,
                    "seconds": 0.3,
                },
            ]
            batch = svc.post(
                "/v1/batches",
                json={
                    "template_id": template.json()["id"],
                    "rows": rows,
                    "locales": ["en", "fr"],
                    "outputs": BATCH_OUTPUTS,
                },
            )
            assert batch.status_code == 202, batch.text
            batch_id = batch.json()["id"]
            page.goto(f"{base}/console/batches")
            follow(page, page.get_by_role("link", name=batch_id))
            for _ in range(240):  # reloaded until the batch is done (its page says so)
                if page.locator("#batch-state").inner_text() != "running":
                    break
                page.wait_for_timeout(500)
                page.reload()
            assert page.locator("#batch-state").inner_text() == "succeeded"
            assert page.locator("#matrix td a", has_text="succeeded").count() == 4
            assert serious_violations(page) == []
            shoot(page, "batch")

            # A transcript (where speech can be synthesised here): made from the asset's page,
            # reviewed against the player, a word corrected, approved.
            transcript_path: str | None = None
            if espeak() is not None:
                clip = next(c for c in speech_clips() if c.name == "weather")
                spoken = tmp_path / "weather.mp4"
                make_speech(spoken, clip)
                with spoken.open("rb") as fh:
                    speech_id = svc.post(
                        "/v1/assets", files={"file": ("weather.mp4", fh, "video/mp4")}
                    ).json()["id"]
                page.goto(f"{base}/console/assets/{speech_id}")
                page.get_by_role("button", name="Transcribe").click()
                page.wait_for_url(f"{base}/console/assets/{speech_id}/transcripts/trn_*")
                # The page looks again every 2 s until the model is done.
                page.locator('#transcript-status[data-state="succeeded"]').wait_for(timeout=180_000)
                cues = page.locator("#cues li.cue")
                assert cues.count() >= 1
                page.evaluate("document.getElementById('player').muted = true")
                last = cues.last
                last.locator("button.seek").click()
                start = float(last.get_attribute("data-start") or 0)
                page.wait_for_function("s => document.getElementById('player').currentTime >= s", arg=start)
                page.wait_for_function(
                    "document.querySelector('#cues li.cue:last-child').getAttribute('aria-current') === 'true'"
                )
                page.evaluate("document.getElementById('player').pause()")
                first = page.get_by_label("Words of cue 1")
                words = first.input_value().split()
                first.fill(
                    " ".join(["sunny" if w == words[0] and i == 0 else w for i, w in enumerate(words)])
                )
                assert serious_violations(page) == []
                shoot(page, "transcript")
                page.get_by_role("button", name="Save corrections").click()
                page.locator("#transcript-status", has_text="revision 1").wait_for()
                page.get_by_role("button", name="Approve transcript").click()
                page.locator('#transcript-status[data-approved="true"]').wait_for()
                transcript_path = urlsplit(page.url).path

            # Keys: a new key's token is shown once, in a labelled field.
            page.goto(f"{base}/console/keys")
            page.get_by_label("Name").fill("catalogue team")
            page.get_by_label("assets:read").check()
            page.get_by_role("button", name="Create key").click()
            token = page.get_by_label("Token of catalogue team").input_value()
            assert svc.get("/v1/assets", token=token).status_code == 200
            assert serious_violations(page) == []
            shoot(page, "keys")

            # Webhooks: send a test event, then read its delivery in the log.
            receiver = Receiver()
            try:
                made = svc.post(
                    "/v1/webhook_endpoints", json={"url": receiver.url(), "event_types": ["render.*"]}
                )
                assert made.status_code == 201, made.text
                page.goto(f"{base}/console/webhooks")
                follow(page, page.get_by_role("link", name=receiver.url()))
                page.get_by_role("button", name="Send a test event").click()
                receiver.wait("/hook", 1)
                for _ in range(120):  # reloaded until the log shows the answer
                    if page.locator('#delivery-log li[data-status="succeeded"]').count():
                        break
                    page.wait_for_timeout(250)
                    page.reload()
                page.locator("#delivery-log summary").first.click()
                page.get_by_text("HTTP 200").first.wait_for()
                assert serious_violations(page) == []
                shoot(page, "webhook")
            finally:
                receiver.close()

            # On a phone: one column, nothing wider than the screen, still accessible.
            page.set_viewport_size({"width": 390, "height": 844})
            for url in (
                "/console/assets",
                f"/console/assets/{video_id}",
                f"/console/renders/{render_id}",
                f"/console/projects/{project_id}",
                f"/console/templates/{listed.json()['id']}",
                *([transcript_path] if transcript_path else []),
            ):
                page.goto(f"{base}{url}")
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url
                assert serious_violations(page) == []
            page.goto(f"{base}/console/assets")
            shoot(page, "assets-phone")
            page.set_viewport_size({"width": 1280, "height": 800})

            sign_out(page, base)
            page.goto(f"{base}/console/assets")
            page.wait_for_url(f"{base}/console/sign-in?next=%2Fconsole%2Fassets")

            # A viewer sees the assets, and neither uploads nor reaches the keys.
            sign_in(page, base, "victor@example.com")
            assert "viewer" in page.locator("#signed-in-as").inner_text()
            page.get_by_text("launch-teaser").first.wait_for()
            assert page.locator("#dropzone, .dropzone").count() == 0
            answer = page.goto(f"{base}/console/keys")
            assert answer is not None and answer.status == 403
            assert "keys:read" in page.locator("main").inner_text()
            assert serious_violations(page) == []
            sign_out(page, base)

            # A key without assets:read: a clear 403 page, and nothing of the assets.
            sign_in_with_key(page, base, narrow_key)
            assert (
                page.get_by_role("heading", level=1).inner_text() == "The credential lacks a required scope."
            )
            text = page.locator("main").inner_text()
            assert "assets:read" in text and "launch-teaser" not in text
            for url in (
                f"/console/assets/{video_id}",
                f"/console/assets/{video_id}/content",
                "/console/projects",
                f"/console/projects/{project_id}",
            ):
                answer = page.goto(f"{base}{url}")
                assert answer is not None and answer.status == 403
            assert serious_violations(page) == []
            shoot(page, "forbidden")
        finally:
            context.close()
            assert not blocked, f"requests to other hosts (aborted): {blocked}"
