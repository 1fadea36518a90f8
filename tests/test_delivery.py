"""Delivery of render outputs to destinations, each against a real server on loopback: a
folder under the delivery root, an HTTP receiver verifying the Standard Webhooks signature,
moto's S3 server (real HTTP on 127.0.0.1), an SFTP server (asyncssh, in a thread). SQLite and
PostgreSQL where the delivery state matters. Retries are shortened through the settings."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from reelforge.db.delivery import Destination
from reelforge.delivery.naming import check_template, file_name
from reelforge.media.s3 import S3Target, s3_client, upload_file
from service import Service, postgres_available, running_service

FAST = {
    "webhooks_allow_private": True,
    "delivery_retry_schedule": [0.1, 0.1, 0.1],
    "delivery_retry_jitter": 0.0,
    "workers": 1,
}
CAPTIONED = {
    "timeline": {
        "tracks": [
            {"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]},
            {
                "clips": [
                    {
                        "start": 0,
                        "length": "end",
                        "asset": {
                            "type": "caption",
                            "sidecar": ["srt"],
                            "cues": [{"start": 0, "end": 0.8, "text": "Hello"}],
                        },
                    }
                ]
            },
        ]
    },
    "outputs": [
        {"name": "wide", "width": 160, "height": 90, "quality": "draft", "audio": False},
        {"name": "tall", "width": 90, "height": 160, "quality": "draft", "audio": False},
    ],
}
SMALL = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "blue"}, "length": 0.5}]}]},
    "outputs": [{"name": "clip", "width": 160, "height": 90, "quality": "draft", "audio": False}],
}


def wait_for(check: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def render_to(
    svc: Service, destinations: list[str], edit: dict[str, Any] = SMALL, token: str | None = None
) -> dict[str, Any]:
    r = svc.post("/v1/renders", token=token, json={"edit": edit, "destinations": destinations})
    assert r.status_code == 202, r.text
    render_id = r.json()["id"]
    done = wait_for(
        lambda: (
            (b := svc.get(f"/v1/renders/{render_id}", token=token).json())["state"] in ("succeeded", "failed")
            and b
        )
    )
    assert done["state"] == "succeeded", done
    return dict(done)


def settled(svc: Service, render_id: str, count: int, token: str | None = None) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        found = svc.get(f"/v1/renders/{render_id}/deliveries", token=token).json()["data"]
        finished = [d for d in found if d["state"] in ("succeeded", "failed")]
        return found if len(finished) == count else None

    return list(wait_for(check))


def content(svc: Service, asset_id: str, token: str | None = None) -> bytes:
    r = svc.get(f"/v1/assets/{asset_id}/content", token=token)
    assert r.status_code == 200
    return bytes(r.content)


def verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    """What a receiver does (Standard Webhooks, written out here because the reference library
    parses the body as JSON, and a delivered file is not): HMAC-SHA256 over id.timestamp.body
    with the secret's key, compared in constant time with each ``v1,`` signature; a fresh
    timestamp."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    given = [s.removeprefix("v1,") for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    assert any(hmac.compare_digest(expected, g) for g in given), "bad signature"
    assert abs(time.time() - int(headers["webhook-timestamp"])) < 300


# ------------------------------------------------------------------ naming


def test_name_templates_are_checked_and_make_safe_names() -> None:
    assert check_template("{template}-{row}-{locale}-{aspect}.{ext}") is None
    assert "unknown field" in str(check_template("{nope}.{ext}"))
    assert check_template("a/{name}") is not None
    fields = {"template": "tpl_1", "row": 3, "locale": "fr-FR", "aspect": "9x16", "ext": "mp4"}
    assert file_name("{template}-{row}-{locale}-{aspect}.{ext}", fields) == "tpl_1-3-fr-FR-9x16.mp4"
    # A missing field and a hostile value cannot make a path or a hidden file.
    assert (
        file_name("{locale}-{name}.{ext}", {"name": "../../etc/passwd", "ext": "mp4"}) == "x-etc_passwd.mp4"
    )


# ------------------------------------------------------------------ folder


@pytest.fixture
def folder_svc(tmp_path: Path) -> Iterator[Service]:
    with running_service(tmp_path, delivery_folder_root=tmp_path / "delivered", **FAST) as svc:
        yield svc


def workspace_folder(svc: Service, destination_id: str) -> Path:
    """Where the destination's workspace gets its files: its own folder under the root."""
    with svc.services.sessions() as db:
        workspace_id = db.scalar(select(Destination.workspace_id).where(Destination.id == destination_id))
    root = svc.services.settings.delivery_folder_root
    assert root is not None and workspace_id
    return root / workspace_id


def test_folder_delivery_names_each_file_after_its_own_output(folder_svc: Service, tmp_path: Path) -> None:
    svc = folder_svc
    r = svc.post(
        "/v1/destinations",
        json={
            "name": "shared drive",
            "kind": "folder",
            "config": {"path": "campaign/spring", "name_template": "{aspect}-{role}.{ext}"},
        },
    )
    assert r.status_code == 201, r.text
    sent_before = REGISTRY.get_sample_value("reelforge_delivered_bytes_total", {"via": "folder"}) or 0.0
    render = render_to(svc, [r.json()["id"]], CAPTIONED)
    # The two caption files are identical (one asset), yet each output names its own.
    names = {(o["role"], o["output"]): o["file_name"] for o in render["outputs"]}
    assert names[("subtitles", 0)].startswith("wide") and names[("subtitles", 1)].startswith("tall")
    deliveries = settled(svc, render["id"], len(render["outputs"]))
    assert {d["state"] for d in deliveries} == {"succeeded"}
    root = workspace_folder(svc, r.json()["id"]) / "campaign" / "spring"
    for output in render["outputs"]:
        if output["role"] not in ("output", "subtitles"):
            continue
        aspect = "16x9" if output["output"] == 0 else "9x16"
        ext = output["file_name"].rsplit(".", 1)[1]
        path = root / f"{aspect}-{output['role']}.{ext}"
        assert path.read_bytes() == content(svc, output["id"]), path
    events = svc.get("/v1/events", params={"type": "delivery.succeeded"}).json()["data"]
    assert len(events) == len(deliveries)
    assert not list(root.glob(".*part"))
    sent = REGISTRY.get_sample_value("reelforge_delivered_bytes_total", {"via": "folder"}) or 0.0
    assert sent - sent_before == sum(p.stat().st_size for p in root.iterdir())


def test_folder_paths_cannot_leave_the_root(folder_svc: Service) -> None:
    for path in ("../outside", "/etc", "a/../../b"):
        r = folder_svc.post(
            "/v1/destinations", json={"name": "x", "kind": "folder", "config": {"path": path}}
        )
        assert r.status_code == 422, (path, r.text)
        assert r.json()["errors"][0]["pointer"] == "#/config/path"


def test_each_workspace_delivers_into_its_own_folder(tmp_path: Path) -> None:
    """Two workspaces naming the same path and file names never write over each other's files;
    the location shown is relative to the workspace's folder (not a server path); a root
    reached through a symbolic link works."""
    real = tmp_path / "shared-drive"
    real.mkdir()
    (tmp_path / "root-link").symlink_to(real)
    with running_service(tmp_path, delivery_folder_root=tmp_path / "root-link", **FAST) as svc:
        landed: list[tuple[Path, bytes]] = []
        for token, color in ((None, "blue"), (svc.other_workspace_key(), "red")):
            r = svc.post(
                "/v1/destinations",
                token=token,
                json={
                    "name": "d",
                    "kind": "folder",
                    "config": {"path": "out", "name_template": "{role}.{ext}"},
                },
            )
            assert r.status_code == 201, r.text
            edit = {
                **SMALL,
                "timeline": {
                    "tracks": [{"clips": [{"asset": {"type": "color", "color": color}, "length": 0.5}]}]
                },
            }
            render = render_to(svc, [r.json()["id"]], edit, token=token)
            deliveries = settled(svc, render["id"], len(render["outputs"]), token=token)
            assert {d["state"] for d in deliveries} == {"succeeded"}, deliveries
            for d in deliveries:
                assert not Path(d["location"]).is_absolute() and str(tmp_path) not in d["location"], d
                assert d["location"].startswith("out/"), d
                landed.append(
                    (
                        workspace_folder(svc, r.json()["id"]) / d["location"],
                        content(svc, d["asset_id"], token),
                    )
                )
        assert len({path for path, _ in landed}) == len(landed)
        for path, expected in landed:
            assert path.read_bytes() == expected, path
            assert real in path.resolve().parents


def test_redelivery_puts_a_removed_file_back(folder_svc: Service, tmp_path: Path) -> None:
    svc = folder_svc
    dst = svc.post("/v1/destinations", json={"name": "d", "kind": "folder", "config": {"path": "r"}}).json()
    render = render_to(svc, [dst["id"]])
    video = next(d for d in settled(svc, render["id"], len(render["outputs"])) if d["role"] == "output")
    assert not Path(video["location"]).is_absolute()
    landed = workspace_folder(svc, dst["id"]) / video["location"]
    assert landed.is_file()
    landed.unlink()
    r = svc.post(f"/v1/renders/{render['id']}/deliveries/{video['id']}/redeliver")
    assert r.status_code == 202, r.text
    wait_for(landed.is_file)
    again = svc.get(f"/v1/renders/{render['id']}/deliveries/{video['id']}").json()
    wait_for(
        lambda: svc.get(f"/v1/renders/{render['id']}/deliveries/{video['id']}").json()["state"] == "succeeded"
    )
    assert again["render_id"] == render["id"]


# ------------------------------------------------------------------ HTTP


class Receiver:
    """An HTTP server on 127.0.0.1 answering from a script (the last answer repeated)."""

    def __init__(self, statuses: list[int], headers: dict[str, str] | None = None) -> None:
        self.statuses = statuses
        extra = dict(headers or {})
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.requests.append(
                    (self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_http_put_is_signed_and_retried_until_accepted(kind: str, tmp_path: Path) -> None:
    if kind == "postgresql" and not postgres_available():
        pytest.skip("no PostgreSQL at REELFORGE_TEST_POSTGRES")
    receiver = Receiver([503, 500, 200])
    try:
        with running_service(tmp_path, kind, **FAST) as svc:
            r = svc.post(
                "/v1/destinations",
                json={
                    "name": "cms",
                    "kind": "http",
                    "config": {"url": receiver.url + "/incoming/{name}", "name_template": "{render}.{ext}"},
                },
            )
            assert r.status_code == 201, r.text
            created = r.json()
            secret = created["secret"]
            assert secret.startswith("whsec_") and "credentials" not in created
            render = render_to(svc, [created["id"]])
            deliveries = settled(svc, render["id"], len(render["outputs"]))
            assert {d["state"] for d in deliveries} == {"succeeded"}
            video = next(d for d in deliveries if d["role"] == "output")
            assert video["attempts"] == 3  # refused twice, then accepted
            puts = [q for q in receiver.requests if q[1] == f"/incoming/{render['id']}.mp4"]
            assert len(puts) == 3
            method, _, headers, body = puts[-1]
            assert method == "PUT" and headers["webhook-id"] == video["id"]
            verify(secret, headers, body)
            with pytest.raises(AssertionError, match="bad signature"):
                verify(secret, headers, body + b"x")
            output = next(o for o in render["outputs"] if o["role"] == "output")
            assert body == content(svc, output["id"])
            assert hashlib.sha256(body).hexdigest() == output["sha256"]
            # Never shown again, and not readable in the database.
            shown = svc.get(f"/v1/destinations/{created['id']}").json()
            assert "secret" not in shown and shown["has_credentials"] is True
            with svc.services.sessions() as db:
                stored = db.scalar(select(Destination.credentials).where(Destination.id == created["id"]))
            assert stored is not None and secret not in stored and secret.removeprefix("whsec_") not in stored
    finally:
        receiver.close()


def test_http_multipart_post_and_giving_up(tmp_path: Path) -> None:
    receiver = Receiver([500])
    try:
        with running_service(tmp_path, **FAST) as svc:
            dst = svc.post(
                "/v1/destinations",
                json={
                    "name": "social",
                    "kind": "http",
                    "config": {"url": receiver.url + "/upload", "method": "POST"},
                },
            ).json()
            render = render_to(svc, [dst["id"]])
            deliveries = settled(svc, render["id"], len(render["outputs"]))
            assert {d["state"] for d in deliveries} == {"failed"}
            assert all(d["attempts"] == 4 and "HTTP 500" in d["error"] for d in deliveries)
            _, _, headers, body = receiver.requests[0]
            assert headers["content-type"].startswith("multipart/form-data; boundary=")
            verify(dst["secret"], headers, body)
            assert b'name="file"' in body
            failed = svc.get("/v1/events", params={"type": "delivery.failed"}).json()["data"]
            assert len(failed) == len(deliveries)
            # Accepted now: a redelivery succeeds.
            receiver.statuses[:] = [200]
            first = deliveries[0]
            assert (
                svc.post(f"/v1/renders/{render['id']}/deliveries/{first['id']}/redeliver").status_code == 202
            )
            wait_for(
                lambda: (
                    svc.get(f"/v1/renders/{render['id']}/deliveries/{first['id']}").json()["state"]
                    == "succeeded"
                )
            )
    finally:
        receiver.close()


def test_http_urls_follow_the_ssrf_rules(tmp_path: Path) -> None:
    with running_service(tmp_path) as svc:  # production rules: no loopback, https only
        r = svc.post(
            "/v1/destinations", json={"name": "x", "kind": "http", "config": {"url": "http://127.0.0.1:9/x"}}
        )
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/config/url"
        r = svc.post(
            "/v1/destinations",
            json={"name": "x", "kind": "http", "config": {"url": "https://169.254.169.254/x"}},
        )
        assert r.status_code == 422
        r = svc.post(
            "/v1/destinations",
            json={
                "name": "x",
                "kind": "s3",
                "config": {"bucket": "b-1", "endpoint_url": "https://10.0.0.5:9000"},
                "credentials": {"access_key_id": "k", "secret_access_key": "s"},
            },
        )
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/config/endpoint_url"


# ------------------------------------------------------------------ S3 (moto's server, real HTTP)


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_s3_multipart_upload_of_a_large_file(s3_endpoint: str, tmp_path: Path) -> None:
    target = S3Target(
        bucket="big", endpoint_url=s3_endpoint, access_key_id="k", secret_access_key="s", path_style=True
    )
    client = s3_client(target)
    client.create_bucket(Bucket="big")
    path = tmp_path / "big.bin"
    path.write_bytes(b"".join(i.to_bytes(4, "big") * 4096 for i in range(700)))  # 11.5 MB
    head = upload_file(client, "big", "a/b.bin", path, threshold=5 * 1024**2, chunk=5 * 1024**2)
    assert "-" in head["ETag"]  # a multipart object's ETag: <md5 of part md5s>-<parts>
    got = client.get_object(Bucket="big", Key="a/b.bin")["Body"].read()
    assert got == path.read_bytes()


def test_s3_destination(s3_endpoint: str, tmp_path: Path) -> None:
    with running_service(tmp_path, **FAST) as svc:
        client = s3_client(
            S3Target(
                bucket="out",
                endpoint_url=s3_endpoint,
                access_key_id="k",
                secret_access_key="s",
                path_style=True,
            )
        )
        client.create_bucket(Bucket="out")
        r = svc.post(
            "/v1/destinations",
            json={
                "name": "bucket",
                "kind": "s3",
                "config": {"bucket": "out", "prefix": "renders/", "endpoint_url": s3_endpoint},
                "credentials": {"access_key_id": "k", "secret_access_key": "s3cr3t-value"},
            },
        )
        assert r.status_code == 201, r.text
        assert "s3cr3t-value" not in r.text
        render = render_to(svc, [r.json()["id"]])
        deliveries = settled(svc, render["id"], len(render["outputs"]))
        assert {d["state"] for d in deliveries} == {"succeeded"}, deliveries
        for d in deliveries:
            bucket, key = d["location"].removeprefix("s3://").split("/", 1)
            assert bucket == "out" and key.startswith("renders/")
            assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == content(svc, d["asset_id"])


# ------------------------------------------------------------------ SFTP (asyncssh server in a thread)


class SftpServer:
    def __init__(self, root: Path, password: str) -> None:
        import asyncssh

        self.key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key_line = self.key.export_public_key().decode().strip()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        class Auth(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, given: str) -> bool:
                return username == "deliver" and given == password

        async def main() -> None:
            self.acceptor = await asyncssh.listen(
                "127.0.0.1",
                0,
                server_host_keys=[self.key],
                server_factory=Auth,
                sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
            )
            self.port = self.acceptor.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(main())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.acceptor.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


def test_sftp_destination_verifies_the_host_key(tmp_path: Path) -> None:
    import asyncssh

    remote = tmp_path / "sftp-root"
    remote.mkdir()
    server = SftpServer(remote, "pw-123")
    try:
        with running_service(tmp_path, **FAST) as svc:
            config = {"host": "127.0.0.1", "port": server.port, "username": "deliver", "path": "/inbox"}
            good = svc.post(
                "/v1/destinations",
                json={
                    "name": "sftp",
                    "kind": "sftp",
                    "config": {**config, "host_key": server.host_key_line},
                    "credentials": {"password": "pw-123"},
                },
            ).json()
            other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
            wrong = svc.post(
                "/v1/destinations",
                json={
                    "name": "impostor",
                    "kind": "sftp",
                    "config": {**config, "path": "/never", "host_key": other},
                    "credentials": {"password": "pw-123"},
                },
            ).json()
            render = render_to(svc, [good["id"], wrong["id"]])
            deliveries = settled(svc, render["id"], 2 * len(render["outputs"]))
            by_destination = {d["destination_id"]: d for d in deliveries if d["role"] == "output"}
            ok, refused = by_destination[good["id"]], by_destination[wrong["id"]]
            assert ok["state"] == "succeeded" and ok["location"].startswith(
                f"sftp://127.0.0.1:{server.port}/inbox/"
            )
            name = ok["location"].rsplit("/", 1)[1]
            assert (remote / "inbox" / name).read_bytes() == content(svc, ok["asset_id"])
            # A host key that is not the stored one: no credentials sent, no retry.
            assert refused["state"] == "failed" and refused["attempts"] == 1
            assert "host key" in refused["error"]
            assert not (remote / "never").exists()
    finally:
        server.close()


# ------------------------------------------------------------------ a render's one-off webhook_url


def test_a_renders_webhook_url_gets_its_events_signed(folder_svc: Service) -> None:
    from standardwebhooks import Webhook

    svc = folder_svc
    receiver = Receiver([200])
    try:
        dst = svc.post(
            "/v1/destinations", json={"name": "d", "kind": "folder", "config": {"path": "cb"}}
        ).json()
        r = svc.post(
            "/v1/renders",
            json={"edit": SMALL, "destinations": [dst["id"]], "webhook_url": receiver.url + "/callback"},
        )
        assert r.status_code == 202, r.text
        render_id, secret = r.json()["id"], r.json()["webhook_secret"]
        assert "webhook_secret" not in svc.get(f"/v1/renders/{render_id}").json()

        def types() -> list[str]:
            return [Webhook(secret).verify(q[3], q[2])["type"] for q in list(receiver.requests)]

        wait_for(lambda: "render.succeeded" in types() and "delivery.succeeded" in types())
        # Another render's events never reach this callback.
        other = render_to(svc, [])
        assert all(Webhook(secret).verify(q[3], q[2])["data"]["id"] != other["id"] for q in receiver.requests)
        # It is not one of the workspace's endpoints.
        assert svc.get("/v1/webhook_endpoints").json()["data"] == []
    finally:
        receiver.close()


def test_a_webhook_url_follows_the_ssrf_rules(tmp_path: Path) -> None:
    with running_service(tmp_path) as svc:
        r = svc.post("/v1/renders", json={"edit": SMALL, "webhook_url": "http://127.0.0.1:8080/x"})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "url-not-allowed" and r.json()["errors"][0]["pointer"] == "#/webhook_url"
        assert svc.get("/v1/renders").json()["data"] == []


# ------------------------------------------------------------------ named downloads and ZIPs


def test_downloads_and_zips_name_each_file_for_its_own_output(tmp_path: Path, media: Any) -> None:
    import io
    import zipfile

    from test_batches import OUTPUTS, add_asset, create_batch, make_template, wait_batch

    with running_service(tmp_path, workers=1) as svc:
        render = render_to(svc, [], CAPTIONED)
        by = {(o["role"], o["output"]): o for o in render["outputs"]}
        wide, tall = by[("subtitles", 0)], by[("subtitles", 1)]
        assert wide["id"] == tall["id"]  # identical captions: one asset...
        for caption, name in ((wide, "wide"), (tall, "tall")):
            r = svc.get(caption["file_url"])
            assert r.status_code == 200
            # ... yet each download is named after its own output (the asset's name is the first's).
            assert f'filename="{name}.srt"' in r.headers["content-disposition"], r.headers
        r = svc.get(
            tall["file_url"],
            params={"name_template": "{aspect}-{role}.{ext}"},
        )
        assert 'filename="9x16-subtitles.srt"' in r.headers["content-disposition"]
        assert svc.get(tall["file_url"], params={"name_template": "{bad}"}).status_code == 422

        r = svc.get(f"/v1/renders/{render['id']}/files.zip", params={"role": ["output", "subtitles"]})
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(r.content))
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["tall.mp4", "tall.srt", "wide.mp4", "wide.srt"]
        assert archive.read("tall.mp4") == content(svc, by[("output", 1)]["id"])

        # A batch: 2 rows x 2 locales x 2 aspect ratios, each file named for its row and locale.
        clip = add_asset(svc, media.video(duration=1))
        template = make_template(svc)
        rows = [
            {"title": {"$locales": {"en": t, "fr": t + "!"}}, "price": p, "clip": clip}
            for t, p in (("Mug", 9), ("Lamp", 24))
        ]
        batch = create_batch(
            svc, {"template_id": template, "rows": rows, "locales": ["en", "fr"], "outputs": OUTPUTS}
        )
        wait_batch(svc, batch["id"])
        r = svc.get(
            f"/v1/batches/{batch['id']}/files.zip",
            params={"name_template": "{template}-{row}-{locale}-{aspect}.{ext}", "role": "output"},
        )
        assert r.status_code == 200, r.text
        names = sorted(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
        assert names == sorted(
            f"{template}-{row}-{locale}-{aspect}.mp4"
            for row in (0, 1)
            for locale in ("en", "fr")
            for aspect in ("16x9", "9x16")
        )


# ------------------------------------------------------------------ the OpenAPI examples


def check_openapi_examples(c: Any, svc: Service) -> None:
    """Called by tests/test_openapi.py: every destination, delivery and pin operation, the
    request examples sent to the service. The examples' destinations are deleted before any
    render could be delivered to them (their hosts are not ours); a folder destination under a
    root set here receives the render that the delivery operations are called on."""
    from reelforge.jobs.worker import RenderWorker

    base, one = "/v1/destinations", "/v1/destinations/{destination_id}"
    made = c.send_examples("POST", base)
    first = {"destination_id": next(iter(made.values()))["id"]}
    c.call("GET", base, expect=200)
    c.call("GET", one, params=first, expect=200)
    c.send_examples("PATCH", one, params=lambda: first)
    for destination in made.values():
        c.call("DELETE", one, params={"destination_id": destination["id"]}, expect=204)

    svc.services.settings.delivery_folder_root = svc.data_dir / "delivered"
    folder = svc.post(base, json={"name": "drive", "kind": "folder", "config": {"path": "api"}}).json()
    for queued in svc.get("/v1/renders", params={"state": "queued"}).json()["data"]:
        svc.post(f"/v1/renders/{queued['id']}/cancel")  # only this module's render runs here
    worker = RenderWorker(svc.services, concurrency=1)
    svc.services.worker = worker
    worker.start()
    try:
        render = render_to(svc, [folder["id"]])
    finally:
        worker.stop()
        svc.services.worker = None
    delivered = settled(svc, render["id"], len(render["outputs"]))
    target = {"render_id": render["id"], "delivery_id": delivered[0]["id"]}
    deliveries = "/v1/renders/{render_id}/deliveries"
    c.call("GET", deliveries, params={"render_id": render["id"]}, expect=200)
    c.call("GET", deliveries + "/{delivery_id}", params=target, expect=200)
    c.call("POST", deliveries + "/{delivery_id}/redeliver", params=target, expect=202)

    output = {"asset_id": render["outputs"][0]["id"]}
    c.call("PUT", "/v1/assets/{asset_id}/pin", params=output, expect=200)
    c.call("DELETE", "/v1/assets/{asset_id}/pin", params=output, expect=200)
    c.call(
        "GET",
        "/v1/renders/{render_id}/files/{index}",
        params={"render_id": render["id"], "index": "0"},
        expect=200,
    )
    c.call("GET", "/v1/renders/{render_id}/files.zip", params={"render_id": render["id"]}, expect=200)
    batch = svc.get("/v1/batches").json()["data"][0]["id"]
    c.call("GET", "/v1/batches/{batch_id}/files.zip", params={"batch_id": batch}, expect=200)


SOME_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
"""A well-formed host key no server here has: the refusals under test come before any handshake."""


def one_byte_file(tmp_path: Path) -> Any:
    """A delivery's file of one byte, for deliveries refused before anything is sent."""
    from reelforge.delivery.targets import OutgoingFile

    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    sha = hashlib.sha256(b"x").hexdigest()
    return OutgoingFile(path, "f.bin", "application/octet-stream", 1, sha, "odl_1", "rnd_1", "ws_1")


def test_sftp_and_s3_hosts_follow_the_ssrf_rules_at_delivery(tmp_path: Path) -> None:
    from reelforge.delivery.targets import DeliveryFailed, deliver
    from reelforge.settings import Settings

    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    file = one_byte_file(tmp_path)
    host_key = SOME_HOST_KEY
    for kind, config in (
        ("sftp", {"host": "127.0.0.1", "port": 22, "username": "u", "host_key": host_key}),
        ("s3", {"bucket": "b-1", "endpoint_url": "http://127.0.0.1:9000"}),
    ):
        with pytest.raises(DeliveryFailed) as refused:
            deliver(
                kind,
                config,
                {"password": "p", "access_key_id": "k", "secret_access_key": "s"},
                file,
                settings,
            )
        assert refused.value.retry is False, kind


def test_another_workspace_can_neither_see_nor_use_a_destination(folder_svc: Service) -> None:
    svc = folder_svc
    dst = svc.post(
        "/v1/destinations", json={"name": "mine", "kind": "folder", "config": {"path": "m"}}
    ).json()
    render = render_to(svc, [dst["id"]])
    delivery = settled(svc, render["id"], len(render["outputs"]))[0]
    other = svc.other_workspace_key()
    assert svc.get(f"/v1/destinations/{dst['id']}", token=other).status_code == 404
    assert svc.get("/v1/destinations", token=other).json()["data"] == []
    r = svc.post("/v1/renders", token=other, json={"edit": SMALL, "destinations": [dst["id"]]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/destinations/0"
    assert svc.get(f"/v1/renders/{render['id']}/deliveries", token=other).status_code == 404
    r = svc.post(f"/v1/renders/{render['id']}/deliveries/{delivery['id']}/redeliver", token=other)
    assert r.status_code == 404
    # A key without the scopes is refused.
    reader = svc.new_key("renders:read")
    assert svc.post("/v1/destinations", token=reader, json={"name": "x", "kind": "folder"}).status_code == 403
    assert svc.get(f"/v1/renders/{render['id']}/deliveries", token=reader).status_code == 200


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_several_workers_deliver_each_file_once(kind: str, tmp_path: Path) -> None:
    if kind == "postgresql" and not postgres_available():
        pytest.skip("no PostgreSQL at REELFORGE_TEST_POSTGRES")
    from collections import Counter

    from reelforge.delivery.worker import DeliveryWorker
    from reelforge.services.destinations import credential_box

    receiver = Receiver([200])
    try:
        with running_service(tmp_path, kind, **FAST) as svc:
            others = [
                DeliveryWorker(
                    svc.services.sessions,
                    svc.services.storage,
                    svc.services.settings,
                    credential_box(svc.services),
                    poll_interval=0.05,
                )
                for _ in range(2)
            ]
            for worker in others:
                worker.start()
            try:
                dst = svc.post(
                    "/v1/destinations",
                    json={"name": "cms", "kind": "http", "config": {"url": receiver.url + "/in"}},
                ).json()
                renders = [render_to(svc, [dst["id"]]) for _ in range(3)]
                files = sum(len(r["outputs"]) for r in renders)
                for render in renders:
                    assert {d["state"] for d in settled(svc, render["id"], len(render["outputs"]))} == {
                        "succeeded"
                    }
            finally:
                for worker in others:
                    worker.stop()
            assert all(q[0] == "PUT" and q[1].startswith("/in/rnd_") for q in receiver.requests)
            sent = Counter(q[2]["webhook-id"] for q in receiver.requests)
            assert len(sent) == files and set(sent.values()) == {1}, sent
    finally:
        receiver.close()


def _loopback_alias() -> str | None:
    """A name other than ``localhost`` that the system resolves to loopback only (an
    ``/etc/hosts`` entry such as the machine's own name), or None."""
    import socket

    from reelforge.webhooks.ssrf import system_resolver

    names = [socket.gethostname()]
    try:
        for line in Path("/etc/hosts").read_text().splitlines():
            fields = line.split("#", 1)[0].split()
            names += fields[1:]
    except OSError:
        pass
    for name in names:
        if name.lower().rstrip(".").rsplit(".", 1)[-1] == "localhost" or not name.isascii():
            continue
        try:
            found = system_resolver(name, 80)
        except OSError:
            continue
        if found and all(a.startswith("127.") for a in found):
            return name
    return None


def test_an_s3_endpoint_cannot_be_rebound_to_an_internal_address(s3_endpoint: str, tmp_path: Path) -> None:
    """The endpoint's name is checked at each connection, not once before boto3 resolves it on
    its own: a name answering a public address first and loopback afterwards never reaches the
    loopback store."""
    from urllib.parse import urlsplit

    from reelforge.delivery.targets import DeliveryFailed, OutgoingFile, deliver
    from reelforge.settings import Settings

    alias = _loopback_alias()
    if alias is None:
        pytest.skip("no name other than localhost resolves to loopback here")
    port = urlsplit(s3_endpoint).port
    client = s3_client(
        S3Target(
            bucket="inbox",
            endpoint_url=s3_endpoint,
            access_key_id="k",
            secret_access_key="s",
            path_style=True,
        )
    )
    client.create_bucket(Bucket="inbox")
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["93.184.216.34"] if len(lookups) == 1 else ["127.0.0.1"]

    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path, _env_file=None, webhooks_allow_http=True, webhooks_allowed_ports=[port]
    )
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    file = OutgoingFile(
        path,
        "f.bin",
        "application/octet-stream",
        1,
        hashlib.sha256(b"x").hexdigest(),
        "odl_1",
        "rnd_1",
        "ws_1",
    )
    with pytest.raises(DeliveryFailed) as refused:
        deliver(
            "s3",
            {"bucket": "inbox", "endpoint_url": f"http://{alias}:{port}", "path_style": True},
            {"access_key_id": "k", "secret_access_key": "s"},
            file,
            settings,
            resolver=rebinding,
        )
    assert refused.value.retry is False
    assert "127.0.0.1" not in str(refused.value)
    assert client.list_objects_v2(Bucket="inbox").get("KeyCount", 0) == 0
    assert lookups and set(lookups) == {alias}


def test_a_refused_address_is_not_named_to_the_tenant(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A destination whose name resolves into our network fails with a coarse reason; which
    address it resolved to is logged for the operator, never put in the delivery's error."""
    from reelforge.delivery.targets import DeliveryFailed, deliver
    from reelforge.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path, _env_file=None, webhooks_allow_http=True, webhooks_allowed_ports=[80]
    )
    file = one_byte_file(tmp_path)
    host_key = SOME_HOST_KEY

    def internal(host: str, port: int) -> list[str]:
        return ["10.20.30.40"]

    for kind, config in (
        ("http", {"url": "http://files.example.test/in"}),
        ("sftp", {"host": "files.example.test", "username": "u", "host_key": host_key}),
        ("s3", {"bucket": "b-1", "endpoint_url": "http://files.example.test"}),
    ):
        caplog.clear()
        with (
            caplog.at_level("WARNING", logger="reelforge.delivery"),
            pytest.raises(DeliveryFailed) as refused,
        ):
            deliver(
                kind,
                config,
                {
                    "secret": "whsec_" + base64.b64encode(b"k" * 24).decode(),
                    "password": "p",
                    "access_key_id": "k",
                    "secret_access_key": "s",
                },
                file,
                settings,
                resolver=internal,
            )
        assert refused.value.retry is False, kind
        assert str(refused.value) == "the destination's address is not allowed", (kind, str(refused.value))
        assert "10.20.30.40" in caplog.text, kind


def test_a_receivers_overlong_location_does_not_stop_the_outcome_being_recorded(tmp_path: Path) -> None:
    """PostgreSQL enforces the location column's length: a receiver answering with a longer
    ``Location`` must not leave the delivery 'sending' (and sent again at each lease expiry)."""
    if not postgres_available():
        pytest.skip("no PostgreSQL at REELFORGE_TEST_POSTGRES")
    receiver = Receiver([201], headers={"Location": "/files/" + "x" * 3000})
    try:
        with running_service(tmp_path, "postgresql", **FAST) as svc:
            dst = svc.post(
                "/v1/destinations",
                json={"name": "cms", "kind": "http", "config": {"url": receiver.url + "/in"}},
            ).json()
            render = render_to(svc, [dst["id"]])
            deliveries = settled(svc, render["id"], len(render["outputs"]))
            assert {d["state"] for d in deliveries} == {"succeeded"}, deliveries
            assert {d["attempts"] for d in deliveries} == {1}
            for d in deliveries:
                assert d["location"].startswith(receiver.url + "/in/rnd_"), d["location"][:100]
            assert len(receiver.requests) == len(deliveries)
    finally:
        receiver.close()


def test_a_zip_never_holds_two_entries_of_one_name(tmp_path: Path) -> None:
    """Output ``a``'s video and captions both named ``a.mp4`` by the template become ``a.mp4``
    and ``a-2.mp4``; output ``a-2``'s video, named ``a-2.mp4`` too, must then get another name."""
    import io
    import zipfile

    edit = {
        **CAPTIONED,
        "outputs": [
            {"name": name, "width": 160, "height": 90, "quality": "draft", "audio": False}
            for name in ("a", "a-2")
        ],
    }
    with running_service(tmp_path, workers=1) as svc:
        render = render_to(svc, [], edit)
        r = svc.get(
            f"/v1/renders/{render['id']}/files.zip",
            params={"role": ["output", "subtitles"], "name_template": "{name}.mp4"},
        )
        assert r.status_code == 200, r.text
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert len(names) == 4 and len(set(names)) == 4, names
        assert {"a.mp4", "a-2.mp4"} <= set(names), names


def test_a_put_keeps_the_urls_query_after_the_file_name(tmp_path: Path) -> None:
    """``https://host/up?sig=x`` takes the file at ``/up/<name>?sig=x``, not ``/up?sig=x/<name>``."""
    from reelforge.delivery.targets import OutgoingFile, deliver
    from reelforge.settings import Settings

    settings = Settings(data_dir=tmp_path, _env_file=None, webhooks_allow_private=True)  # type: ignore[call-arg]
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    file = OutgoingFile(
        path, "clip.mp4", "video/mp4", 1, hashlib.sha256(b"x").hexdigest(), "odl_1", "rnd_1", "ws_1"
    )
    receiver = Receiver([200])
    try:
        secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
        location = deliver(
            "http", {"url": receiver.url + "/up/?sig=a%2Fb&x=1"}, {"secret": secret}, file, settings
        )
        assert [(q[0], q[1]) for q in receiver.requests] == [("PUT", "/up/clip.mp4?sig=a%2Fb&x=1")]
        assert receiver.requests[0][3] == b"x"
        assert location == receiver.url + "/up/clip.mp4?sig=a%2Fb&x=1"
    finally:
        receiver.close()


def test_an_outcome_that_cannot_be_recorded_still_counts_an_attempt(tmp_path: Path) -> None:
    """When writing a delivery's success fails (here PostgreSQL itself refuses it, through a
    trigger), the attempt is recorded as a failure and retried on the schedule, then given up:
    never left 'sending' to be sent again at every lease expiry."""
    if not postgres_available():
        pytest.skip("no PostgreSQL at REELFORGE_TEST_POSTGRES")
    from sqlalchemy import text

    receiver = Receiver([200])
    try:
        with running_service(tmp_path, "postgresql", **FAST) as svc:
            with svc.services.engine.begin() as conn:
                conn.execute(
                    text(
                        "CREATE FUNCTION refuse_success() RETURNS trigger AS $$ BEGIN "
                        "IF NEW.state = 'succeeded' THEN RAISE EXCEPTION 'cannot store this outcome'; END IF; "
                        "RETURN NEW; END $$ LANGUAGE plpgsql"
                    )
                )
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse_success BEFORE UPDATE ON output_deliveries "
                        "FOR EACH ROW EXECUTE FUNCTION refuse_success()"
                    )
                )
            dst = svc.post(
                "/v1/destinations",
                json={"name": "cms", "kind": "http", "config": {"url": receiver.url + "/in"}},
            ).json()
            render = render_to(svc, [dst["id"]])
            deliveries = settled(svc, render["id"], len(render["outputs"]))
            assert {d["state"] for d in deliveries} == {"failed"}, deliveries
            tries = len(FAST["delivery_retry_schedule"]) + 1  # type: ignore[arg-type]
            assert {d["attempts"] for d in deliveries} == {tries}
            assert {d["error"] for d in deliveries} == {"the outcome of the delivery could not be recorded"}
            assert len(receiver.requests) == tries * len(deliveries)
    finally:
        receiver.close()
