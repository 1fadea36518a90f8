"""Imports from URLs: a media server on 127.0.0.1 (allowed only through the development setting
``imports_allow_private``), Range resumption, redirects, limits, events and provenance; and
the SSRF list refused without the setting."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from service import Service, require_database, running_service


@dataclass
class MediaServer:
    """Serves files over HTTP with ETag and Range; can break off the first transfer of a file
    after ``cut_after`` bytes and redirect ``/go/<name>`` to ``/<name>``."""

    files: dict[str, bytes]
    base: str = ""
    cut_after: int | None = None
    ranges: bool = True
    etag: str | None = None
    """The ETag sent for every file (else one from its content)."""
    stall_after: int | None = None
    """Send this many bytes of a file, then nothing more until the server stops."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)


@contextmanager
def media_server(files: dict[str, bytes], **options: Any) -> Iterator[MediaServer]:
    state = MediaServer(files, **options)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, head_only: bool) -> None:
            state.requests.append(
                {"path": self.path, "range": self.headers.get("Range"), "method": self.command}
            )
            if self.path.startswith("/go/"):
                self.send_response(302)
                self.send_header("Location", "/" + self.path[4:])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path.startswith("/loop"):
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path.startswith("/metadata"):
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = state.files.get(self.path.lstrip("/"))
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = state.etag or '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            start = 0
            wanted = self.headers.get("Range")
            if wanted and state.ranges and self.headers.get("If-Range") in (None, etag):
                start = int(wanted.removeprefix("bytes=").split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "application/octet-stream")
            if state.ranges:
                self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if head_only:
                return
            if state.stall_after is not None and self.command == "GET":
                self.wfile.write(body[: state.stall_after])
                self.wfile.flush()
                state.stopping.wait()
                self.close_connection = True
                return
            cut = state.cut_after
            if cut is not None and start == 0 and self.command == "GET":
                state.cut_after = None  # only the first transfer breaks off
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send(False)

        def do_HEAD(self) -> None:
            self._send(True)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.stopping.set()
        server.shutdown()
        server.server_close()


def wait_import(svc: Service, import_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = svc.get(f"/v1/assets/imports/{import_id}").json()
        if body["state"] in ("succeeded", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
def dev_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """The service with imports from private addresses allowed (the development setting)."""
    require_database(request.param)
    with running_service(tmp_path, request.param, imports_allow_private=True) as svc:
        yield svc


def test_import_from_a_local_server(dev_service: Service, media: Any) -> None:
    svc = dev_service
    video = media.video().read_bytes()
    with media_server({"clip.mp4": video}) as server:
        r = svc.post(
            "/v1/assets/imports",
            json={"url": f"{server.base}/go/clip.mp4", "tags": ["imported"], "metadata": {"source": "cms"}},
        )
        assert r.status_code == 202, r.text
        assert r.headers["Location"].endswith(f"/v1/assets/imports/{r.json()['id']}")
        done = wait_import(svc, r.json()["id"])
    assert done["state"] == "succeeded", done
    asset = svc.get(f"/v1/assets/{done['asset_id']}").json()
    assert asset["sha256"] == hashlib.sha256(video).hexdigest()
    assert asset["source"] == "import" and asset["kind"] == "video"
    assert asset["derived_from"]["url"] == f"{server.base}/go/clip.mp4"
    assert asset["derived_from"]["import"] == done["id"] and asset["derived_from"]["etag"]
    assert asset["name"] == "clip.mp4" and asset["tags"] == ["imported"]
    assert asset["metadata"] == {"source": "cms"}
    types = [e["type"] for e in svc.get("/v1/events", params={"type": "import.*"}).json()["data"]]
    assert "import.succeeded" in types and "import.created" in types
    succeeded = svc.get("/v1/events", params={"type": "import.succeeded"}).json()["data"][0]
    assert succeeded["data"]["asset_id"] == asset["id"]
    # The import, its asset and its events belong to the workspace: another one sees none of them.
    other = svc.other_workspace_key()
    assert svc.get(f"/v1/assets/imports/{done['id']}", token=other).status_code == 404
    assert svc.get(f"/v1/assets/{asset['id']}", token=other).status_code == 404
    assert svc.get("/v1/events", token=other, params={"type": "import.*"}).json()["data"] == []


def test_broken_transfer_resumes_with_range(tmp_path: Path, media: Any) -> None:
    video = media.video(duration=2).read_bytes()
    with running_service(tmp_path / "dev", imports_allow_private=True) as svc:
        with media_server({"long.mp4": video}, cut_after=len(video) // 3) as server:
            r = svc.post("/v1/assets/imports", json={"url": f"{server.base}/long.mp4"})
            done = wait_import(svc, r.json()["id"])
        assert done["state"] == "succeeded", done
        asset = svc.get(f"/v1/assets/{done['asset_id']}").json()
        assert asset["sha256"] == hashlib.sha256(video).hexdigest()
        gets = [q for q in server.requests if q["method"] == "GET"]
        assert gets[0]["range"] is None
        assert gets[1]["range"] == f"bytes={len(video) // 3}-"


def test_broken_transfer_without_ranges_starts_over(tmp_path: Path, media: Any) -> None:
    video = media.video().read_bytes()
    with running_service(tmp_path, imports_allow_private=True) as svc:
        with media_server({"c.mp4": video}, cut_after=1000, ranges=False) as server:
            done = wait_import(
                svc, svc.post("/v1/assets/imports", json={"url": f"{server.base}/c.mp4"}).json()["id"]
            )
        assert done["state"] == "succeeded", done
        assert svc.get(f"/v1/assets/{done['asset_id']}").json()["sha256"] == hashlib.sha256(video).hexdigest()
        assert all(q["range"] is None for q in server.requests)


def test_failures_are_coarse(tmp_path: Path) -> None:
    with (
        running_service(tmp_path, imports_allow_private=True, max_upload_bytes=4096) as svc,
        media_server({"big.bin": b"x" * 10000, "text.txt": b"not media at all"}) as server,
    ):
        cases = {
            "/missing.mp4": ("import-failed", "http_4xx"),
            "/big.bin": ("import-failed", "too_large"),
            "/loop": ("import-failed", "redirects"),
            "/text.txt": ("media-unsupported", "media"),
        }
        for path, (code, reason) in cases.items():
            done = wait_import(
                svc, svc.post("/v1/assets/imports", json={"url": server.base + path}).json()["id"]
            )
            assert done["state"] == "failed", (path, done)
            assert (done["error"]["code"], done["error"]["reason"]) == (code, reason), (path, done)
        failed = svc.get("/v1/events", params={"type": "import.failed"}).json()["data"]
        assert len(failed) == len(cases)


def test_a_stalled_transfer_stops_at_the_time_limit_after_reporting_progress(
    tmp_path: Path, media: Any
) -> None:
    """A server that sends a third of the file and then nothing: the import reports what has
    arrived (``import.progress``), and fails at ``imports_timeout`` (the whole fetch's limit;
    a stalled read would wait ``imports_read_timeout``, far longer here)."""
    video = media.video().read_bytes()
    with (
        running_service(
            tmp_path, imports_allow_private=True, imports_timeout=3, imports_read_timeout=600
        ) as svc,
        media_server({"slow.mp4": video}, stall_after=len(video) // 3) as server,
    ):
        done = wait_import(
            svc, svc.post("/v1/assets/imports", json={"url": f"{server.base}/slow.mp4"}).json()["id"]
        )
        assert done["state"] == "failed", done
        assert (done["error"]["code"], done["error"]["reason"]) == ("import-failed", "timeout"), done
        assert done["asset_id"] is None
        progress = svc.get("/v1/events", params={"type": "import.progress"}).json()["data"]
        assert progress and progress[0]["data"]["id"] == done["id"]
        assert 0 < progress[0]["data"]["received_bytes"] <= len(video) // 3
        assert progress[0]["data"]["total_bytes"] == len(video)
        assert not list(svc.services.storage.uploads_dir().glob(f"{done['id']}*"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/clip.mp4",
        "http://localhost:{port}/clip.mp4",
        "http://10.0.0.8/clip.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/clip.mp4",
        "http://2130706433/clip.mp4",
        "ftp://example.com/clip.mp4",
        "http://user:pass@example.com/clip.mp4",
        "file:///etc/passwd",
    ],
)
def test_ssrf_list_refused_without_the_setting(sqlite_service: Service, url: str) -> None:
    with media_server({"clip.mp4": b"x"}) as server:
        port = server.base.rsplit(":", 1)[1]
        r = sqlite_service.post("/v1/assets/imports", json={"url": url.format(port=port)})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "url-not-allowed"
        assert r.json()["errors"][0]["pointer"] == "#/url"
        assert server.requests == []


def test_redirect_to_metadata_address_is_refused_when_connecting(tmp_path: Path) -> None:
    """A public-looking first hop that redirects to the metadata address: the redirect is
    re-checked. (Private addresses are allowed here to reach the test server, so the metadata
    hop is refused by the configured denied network, as a production policy refuses it.)"""
    with (
        running_service(
            tmp_path, imports_allow_private=True, imports_denied_networks=["169.254.0.0/16"]
        ) as svc,
        media_server({}) as server,
    ):
        done = wait_import(
            svc, svc.post("/v1/assets/imports", json={"url": f"{server.base}/metadata"}).json()["id"]
        )
        assert done["state"] == "failed"
        assert done["error"]["code"] == "url-not-allowed"
        assert [q["path"] for q in server.requests] == ["/metadata"]
        # The refused address is the network's detail: neither the import nor its event says it.
        failed = svc.get("/v1/events", params={"type": "import.failed"}).json()["data"]
        assert "169.254" not in str(done["error"]) and "169.254" not in str(failed)


def test_host_resolving_to_loopback_is_refused_at_connection(tmp_path: Path) -> None:
    """A name is only checked when connecting: one resolving to loopback fails there."""
    import asyncio

    from reelforge.jobs.fetch import FetchFailed, FetchLimits, fetch_to_file, url_policy
    from reelforge.webhooks.ssrf import SafeAsyncTransport  # noqa: F401  (the transport under test)

    with media_server({"a.mp4": b"abc"}) as server:
        port = int(server.base.rsplit(":", 1)[1])
        policy = url_policy(allow_private=False, ports=[port], denied=[])
        with pytest.raises(FetchFailed) as caught:
            asyncio.run(
                fetch_to_file(
                    f"http://media.example.test:{port}/a.mp4",
                    tmp_path / "a.part",
                    policy=policy,
                    limits=FetchLimits(max_bytes=10**6, deadline=30),
                    resolver=lambda host, p: ["127.0.0.1"],
                )
            )
        assert caught.value.code == "url-not-allowed" and caught.value.reason == "ssrf_blocked"
        assert "127.0.0.1" not in caught.value.detail
        assert server.requests == []


# ------------------------------------------------------------------------------ URLs in edits


def url_edit(src: str) -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": src}, "length": 1}]}]},
        "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
    }


def test_url_sources_in_edits_are_imported_once(tmp_path: Path, media: Any) -> None:
    video = media.video().read_bytes()
    with (
        running_service(tmp_path, imports_allow_private=True) as svc,
        media_server({"clip.mp4": video}) as server,
    ):
        url = f"{server.base}/clip.mp4"
        r = svc.post("/v1/projects", json={"name": "from a URL", "edit": url_edit(url)})
        assert r.status_code == 201, r.text
        asset_id = r.json()["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["src"]
        asset = svc.get(f"/v1/assets/{asset_id}").json()
        assert asset["derived_from"]["url"] == url and asset["sha256"] == hashlib.sha256(video).hexdigest()
        # Again, in a render and a template: the same asset, the file not fetched again (the
        # server is asked whether its ETag changed).
        r = svc.post("/v1/renders", json={"edit": url_edit(url), "dry_run": True})
        assert r.status_code == 200, r.text
        template = svc.post("/v1/templates", json={"name": "t", "edit": url_edit(url)})
        assert template.status_code == 201, template.text
        assert template.json()["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["src"] == asset_id
        assert [q["method"] for q in server.requests] == ["GET", "HEAD"]  # the dry run asks nothing
        # The file changes behind the URL (a new ETag): imported again.
        server.files["clip.mp4"] = media.video(color="red").read_bytes()
        r = svc.post("/v1/projects", json={"name": "changed", "edit": url_edit(url)})
        assert r.json()["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["src"] != asset_id


def test_url_source_refused_without_the_setting(sqlite_service: Service) -> None:
    with media_server({"clip.mp4": b"x"}) as server:
        edit = url_edit(f"{server.base}/clip.mp4")
        r = sqlite_service.post("/v1/renders", json={"edit": edit})
        assert r.status_code == 422
        assert r.json()["code"] == "url-not-allowed"
        assert r.json()["errors"][0]["pointer"] == "#/edit/timeline/tracks/0/clips/0/asset/src"
        assert server.requests == []


def test_nothing_is_fetched_for_an_edit_wrong_anyway(tmp_path: Path) -> None:
    with (
        running_service(tmp_path, imports_allow_private=True) as svc,
        media_server({"clip.mp4": b"x"}) as server,
    ):
        edit = url_edit(f"{server.base}/clip.mp4")
        edit["timeline"]["tracks"][0]["clips"][0]["length"] = -1
        r = svc.post("/v1/renders", json={"edit": edit})
        assert r.status_code == 422 and r.json()["code"] == "edit-invalid"
        pointers = {e["pointer"]: e["code"] for e in r.json()["errors"]}
        assert pointers["#/edit/timeline/tracks/0/clips/0/asset/src"] == "not_an_asset_id"
        assert "#/edit/timeline/tracks/0/clips/0/length" in pointers
        assert server.requests == []


def test_url_sources_need_assets_write_and_a_dry_run_imports_nothing(tmp_path: Path, media: Any) -> None:
    video = media.video().read_bytes()
    with (
        running_service(tmp_path, imports_allow_private=True) as svc,
        media_server({"clip.mp4": video}) as server,
    ):
        url = f"{server.base}/clip.mp4"
        renders_only = svc.new_key("renders:write", "renders:read")
        projects_only = svc.new_key("projects:write", "projects:read")
        templates_only = svc.new_key("templates:write", "templates:read")
        for path, token, body in [
            ("/v1/renders", renders_only, {"edit": url_edit(url)}),
            ("/v1/renders", renders_only, {"edit": url_edit(url), "dry_run": True}),
            ("/v1/projects", projects_only, {"name": "p", "edit": url_edit(url)}),
            ("/v1/templates", templates_only, {"name": "t", "edit": url_edit(url)}),
        ]:
            r = svc.post(path, token=token, json=body)
            assert r.status_code == 403, (path, r.text)
            assert r.json()["code"] == "insufficient-scope" and "assets:write" in r.json()["detail"]
        assert server.requests == []
        # A dry run checks the URL's shape but imports nothing: no request, no asset.
        r = svc.post("/v1/renders", json={"edit": url_edit(url), "dry_run": True})
        assert r.status_code == 422 and r.json()["code"] == "url-not-imported", r.text
        assert r.json()["errors"][0]["pointer"] == "#/edit/timeline/tracks/0/clips/0/asset/src"
        assert server.requests == []
        assert svc.get("/v1/assets").json()["data"] == []
        assert svc.get("/v1/events", params={"type": "import.*"}).json()["data"] == []
        # A URL imported before is planned with its asset, still without a request.
        done = wait_import(svc, svc.post("/v1/assets/imports", json={"url": url}).json()["id"])
        before = len(server.requests)
        r = svc.post("/v1/renders", json={"edit": url_edit(url), "dry_run": True})
        assert r.status_code == 200, r.text
        assert len(server.requests) == before and done["state"] == "succeeded"


def test_a_long_etag_is_stored_bounded(dev_service: Service, media: Any) -> None:
    """An ETag longer than the column (PostgreSQL refuses it) is stored as its hash; the
    import succeeds and a later edit naming the URL still recognises the unchanged file."""
    svc = dev_service
    video = media.video().read_bytes()
    with media_server({"clip.mp4": video}, etag='"' + "e" * 400 + '"') as server:
        url = f"{server.base}/clip.mp4"
        done = wait_import(svc, svc.post("/v1/assets/imports", json={"url": url}).json()["id"])
        assert done["state"] == "succeeded", done
        asset = svc.get(f"/v1/assets/{done['asset_id']}").json()
        assert len(asset["derived_from"]["etag"]) <= 255
        r = svc.post("/v1/projects", json={"name": "p", "edit": url_edit(url)})
        assert r.status_code == 201, r.text
        assert r.json()["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["src"] == asset["id"]
        assert [q["method"] for q in server.requests] == ["GET", "HEAD"]


def test_an_import_another_process_holds_is_not_fetched_twice(dev_service: Service, media: Any) -> None:
    """A live lease of another process keeps the import from this one (recovery and a direct
    run alike); once the lease lapsed, the import is taken up and finished."""
    from datetime import timedelta

    from reelforge.db.models import utcnow
    from reelforge.db.uploads import Import
    from reelforge.services import imports

    svc = dev_service
    workspace_id = svc.get("/v1/workspace").json()["id"]
    with media_server({"clip.mp4": media.video().read_bytes()}) as server:
        made = imports.create_import(svc.services, workspace_id, f"{server.base}/clip.mp4", start=False)
        with svc.services.sessions() as db:
            row = db.get(Import, made["id"])
            assert row is not None
            row.state, row.claimed_by = "fetching", "another-process"
            row.claimed_until = utcnow() + timedelta(minutes=5)
            db.commit()
        imports.run_import(svc.services, made["id"])
        assert imports.runner(svc.services).recover() == 0
        assert server.requests == []
        with svc.services.sessions() as db:
            row = db.get(Import, made["id"])
            assert row is not None and row.claimed_by == "another-process" and row.attempts == 0
            row.claimed_until = utcnow() - timedelta(seconds=1)  # that process died
            db.commit()
        assert imports.runner(svc.services).recover() == 1
        done = wait_import(svc, made["id"])
    assert done["state"] == "succeeded", done
    with svc.services.sessions() as db:
        row = db.get(Import, made["id"])
        assert row is not None and row.claimed_by is None and row.attempts == 1
