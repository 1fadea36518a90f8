"""The API documentation works without internet.

* ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) answer without a credential and outside the rate
  limits, and their pages name only assets this service serves (no CDN, no web fonts).
* ``/docs`` loaded in headless Chromium (Debian's ``chromium``) with every request that is not
  to 127.0.0.1 aborted: every operation of the document renders, no request leaves the machine,
  and the Authorize dialog takes an API key and "Try it out" sends it.

The browser test skips where ``/usr/bin/chromium`` is missing; in CI (which installs it in
``.ci/run``) it fails instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from service import Service, live_server, running_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Name resolution fails for every host but loopback: a request that escaped routing could not
    # leave the machine either.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
METHODS = ("get", "head", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("docs")) as service:
        yield service


class _Links(HTMLParser):
    """Every URL a page names in ``src``, ``href`` or ``spec-url``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href", "spec-url") and value]


def local_urls(html: str) -> list[str]:
    """The URLs the page names, asserting each is a path on this service (not another host)."""
    parser = _Links()
    parser.feed(html)
    urls = parser.urls + re.findall(r"\burl: '([^']*)'", html)  # Swagger UI's document, in its script
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
    assert not re.search(r"https?://", html), "the page names another host"
    return urls


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        ("/docs", {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"}),
        ("/redoc", {"/docs/assets/redoc.standalone.js"}),
    ],
)
def test_pages_name_only_local_assets_and_need_no_credential(
    svc: Service, path: str, assets: set[str]
) -> None:
    r = svc.client.get(path)  # no Authorization
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "ratelimit" not in r.headers and "ratelimit-policy" not in r.headers
    urls = local_urls(r.text)
    assert assets | {"/docs/assets/favicon.png", "/openapi.json"} <= set(urls)
    for url in urls:
        asset = svc.client.get(url)
        assert asset.status_code == 200, url
        assert "ratelimit" not in asset.headers, url
    spec = svc.client.get("/openapi.json").json()
    assert "/docs" not in spec["paths"] and "/redoc" not in spec["paths"]


def test_swagger_ui_oauth2_redirect_page_is_served(svc: Service) -> None:
    r = svc.client.get("/docs/oauth2-redirect")
    assert r.status_code == 200 and "oauth2" in r.text
    assert not re.search(r"https?://", r.text)


# ------------------------------------------------------------------ in a browser, offline


def chromium_or_skip() -> Any:
    """Playwright's sync API, driving Debian's Chromium (never a browser Playwright downloads)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: .ci/run installs /usr/bin/chromium")
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    return pytest.importorskip("playwright.sync_api")


def operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, item in spec["paths"].items() for method in item if method in METHODS
    }


@pytest.mark.slow
def test_swagger_ui_renders_every_operation_offline(svc: Service, tmp_path: Path) -> None:
    sync_api = chromium_or_skip()
    spec: dict[str, Any] = svc.client.get("/openapi.json").json()
    with live_server(svc) as base, sync_api.sync_playwright() as pw:
        host = urlsplit(base).hostname
        seen: list[str] = []
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
        )
        try:
            context.route("**/*", only_loopback)
            context.on("request", lambda request: seen.append(request.url))
            page = context.new_page()
            page.set_default_timeout(60_000)  # a loaded 2-core machine parses a 1 MB document slowly
            page.goto(f"{base}/docs")
            wanted = operations(spec)
            # Every operation once; one under several tags shows under each.
            page.wait_for_function("n => document.querySelectorAll('.opblock').length >= n", arg=len(wanted))
            rendered = page.eval_on_selector_all(
                ".opblock",
                """blocks => blocks.map(b => [
                    b.querySelector('.opblock-summary-method').textContent,
                    b.querySelector('.opblock-summary-path').dataset.path])""",
            )
            assert {(method.upper(), path) for method, path in rendered} == wanted
            assert (
                page.locator(".information-container .title")
                .first.inner_text()
                .startswith(spec["info"]["title"])
            )
            authorize_and_try(page, svc, spec)
        finally:
            context.close()
            # Checked even when the page failed: a blocked asset is the likely cause.
            assert not blocked, f"requests to other hosts (aborted): {blocked}"
        assert seen and all(urlsplit(url).hostname == host for url in seen), seen


def authorize_and_try(page: Any, svc: Service, spec: dict[str, Any]) -> None:
    """The Authorize dialog takes the admin key as a bearer token; "Try it out" on
    ``GET /v1/workspace`` (which declares its security) then answers 200."""
    schemes = spec["components"]["securitySchemes"]
    bearer = next(
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer"
    )
    page.locator(".btn.authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.wait_for()
    container = dialog.locator(".auth-container").filter(has_text=bearer).first
    container.locator("input").first.fill(svc.token)
    container.locator("button.authorize").click()
    container.locator("button", has_text="Logout").wait_for()  # authorised
    dialog.locator("button.btn-done").first.click()
    dialog.wait_for(state="detached")

    assert spec["paths"]["/v1/workspace"]["get"]["security"]
    op = page.locator(".opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/v1/workspace"]')
    )
    op.locator(".opblock-summary").first.click()
    op.locator("button.try-out__btn").click()
    op.locator("button.execute").click()
    status = op.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
