"""The Python SDK (``reelforge.client``) against a live service over real HTTP on loopback.

Faults come from a real HTTP proxy in front of the service (:class:`FaultyProxy`): it answers
some requests itself with 5xx or 429, drops connections, or forwards a request and holds the
answer past the client's timeout. Renders are real (FFmpeg on a second of 360p colour)."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelforge.client import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    GoneError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    UnprocessableEntityError,
    WebhookVerificationError,
    verify_webhook,
)
from reelforge.client._core import server_advice
from reelforge.webhooks.signing import generate_secret, signature_header
from service import live_server, running_service

ROOT = Path(__file__).resolve().parents[1]
FAST = RetryPolicy(max_retries=3, initial_delay=0.05, max_delay=0.2)
GATE_LIMIT = 300.0
"""The longest a gated answer waits for its test (a failed test sets no gate)."""


def color_edit(seconds: float = 1) -> dict[str, Any]:
    return {
        "timeline": {
            "tracks": [{"clips": [{"asset": {"type": "color", "color": "navy"}, "length": seconds}]}]
        },
        "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25, "audio": False}],
    }


# ------------------------------------------------------------------ a proxy that fails on cue


@dataclass
class Fault:
    """What the proxy does to the next request matching ``method`` and ``path`` (a prefix):
    ``status`` answers it with that status without forwarding; ``drop`` closes the connection
    unanswered; ``hold`` forwards it, then holds the answer that many seconds; ``gate`` forwards
    it, then holds the answer until the test sets the gate. ``taken`` is called when the proxy
    takes the request (before forwarding it)."""

    method: str
    path: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    hold: float = 0.0
    gate: threading.Event | None = None
    taken: Callable[[], None] | None = None


class FaultyProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.seen: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()
        self.upstream_client = httpx.Client(base_url=upstream, trust_env=False, timeout=60)

    def take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and path.startswith(fault.path):
                    self.faults.remove(fault)
                    return fault
        return None

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy.lock:
                    proxy.seen.append((self.command, self.path, self.headers.get("Idempotency-Key")))
                fault = proxy.take(self.command, self.path)
                if fault is not None and fault.taken is not None:
                    fault.taken()
                if fault is not None and fault.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault is not None and fault.status is not None:
                    problem = json.dumps(
                        {"type": "about:blank", "status": fault.status, "code": "proxy", "detail": "injected"}
                    ).encode()
                    self.send_response(fault.status)
                    for name, value in {**fault.headers, "Content-Type": "application/problem+json"}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(problem)))
                    self.end_headers()
                    self.wfile.write(problem)
                    return
                skip = {"host", "content-length", "connection", "transfer-encoding"}
                answer = proxy.upstream_client.request(
                    self.command,
                    self.path,
                    content=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in skip},
                )
                if fault is not None and fault.hold:
                    time.sleep(fault.hold)
                if fault is not None and fault.gate is not None:
                    fault.gate.wait(GATE_LIMIT)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in skip | {"content-encoding"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

        return Handler


@contextmanager
def faulty_proxy(upstream: str) -> Iterator[tuple[FaultyProxy, str]]:
    proxy = FaultyProxy(upstream)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), proxy.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        proxy.upstream_client.close()


# ------------------------------------------------------------------ no drift, no server deps


def test_models_are_generated_from_the_openapi_document() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_client_models
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    expected = gen_client_models.render(gen_client_models.current_document())
    current = (ROOT / "src" / "reelforge" / "client" / "models.py").read_text(encoding="utf-8")
    assert current == expected, "run: PYTHONPATH=src python scripts/gen_client_models.py"


def test_the_sdk_reference_is_generated_from_the_docstrings() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_sdk_docs
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    current = (ROOT / "docs" / "sdk.md").read_text(encoding="utf-8")
    assert current == gen_sdk_docs.render(), "run: PYTHONPATH=src python scripts/gen_sdk_docs.py"


BLOCKING_IMPORTER = """
import sys
BLOCKED = {"fastapi", "starlette", "sqlalchemy", "alembic", "av", "uvicorn", "sse_starlette",
           "cryptography", "pydantic", "pydantic_settings", "numpy", "cv2", "PIL", "boto3", "paramiko"}
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is a server dependency")
        return None
sys.meta_path.insert(0, Refuse())
import reelforge.client as rc
from reelforge.client import Client, AsyncClient, models, verify_webhook
from reelforge.client.webhooks import sign_webhook
c = Client("http://127.0.0.1:9", api_key="k")
c.close()
secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
sig = sign_webhook(secret, "msg_1", 1700000000, b"{}")
assert verify_webhook(b"{}", {"webhook-id": "msg_1", "webhook-timestamp": "1700000000",
                              "webhook-signature": sig}, secret, now=1700000000) == {}
print(sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
"""


def test_the_sdk_imports_without_the_server_dependencies() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKING_IMPORTER],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------ retries


def test_retries_network_errors_and_5xx_until_the_server_answers(tmp_path: Path) -> None:
    with (
        running_service(tmp_path) as svc,
        live_server(svc) as base,
        faulty_proxy(base) as (proxy, url),
        Client(url, api_key=svc.token, retry=FAST) as rf,
    ):
        proxy.faults = [
            Fault("GET", "/v1/projects", status=503),
            Fault("GET", "/v1/projects", drop=True),
            Fault("GET", "/v1/projects", status=502),
        ]
        page = rf.projects.list()
        assert page.data == []
        assert [s[:2] for s in proxy.seen].count(("GET", "/v1/projects")) == 4

        # Out of retries: the last answer is raised, typed.
        proxy.faults = [Fault("GET", "/v1/projects", status=504) for _ in range(4)]
        with pytest.raises(ServiceUnavailableError) as failed:
            rf.projects.list()
        assert failed.value.status_code == 504


def test_429_waits_as_long_as_the_server_asks(tmp_path: Path) -> None:
    with (
        running_service(tmp_path) as svc,
        live_server(svc) as base,
        faulty_proxy(base) as (proxy, url),
        Client(url, api_key=svc.token, retry=FAST) as rf,
    ):
        proxy.faults = [Fault("GET", "/v1/projects", status=429, headers={"Retry-After": "1"})]
        started = time.monotonic()
        rf.projects.list()
        # The backoff alone would have waited at most 0.05 s: the second came from the server.
        assert time.monotonic() - started >= 1.0

        # A wait longer than the client accepts is raised at once.
        patient = RetryPolicy(max_retries=3, initial_delay=0.05, max_retry_after=5)
        with Client(url, api_key=svc.token, retry=patient) as impatient:
            proxy.faults = [Fault("GET", "/v1/projects", status=429, headers={"Retry-After": "3600"})]
            with pytest.raises(RateLimitError) as limited:
                impatient.projects.list()
            assert limited.value.retry_after == 3600


def test_server_advice_reads_retry_after_and_ratelimit() -> None:
    def advice(**headers: str) -> float | None:
        return server_advice(httpx.Response(429, headers=headers))

    assert advice(**{"Retry-After": "7"}) == 7
    assert advice(RateLimit='"default";r=0;t=4, "writes";r=3;t=1') == 4
    assert advice(RateLimit='"default";r=2;t=4') is None
    assert advice() is None
    backoffs = [FAST.backoff(2) for _ in range(50)]
    assert all(0.15 <= b <= 0.2 for b in backoffs) and len(set(backoffs)) > 1  # jittered


def test_a_create_retried_after_a_client_timeout_makes_one_render(tmp_path: Path) -> None:
    answer = threading.Event()
    with (
        running_service(tmp_path) as svc,
        live_server(svc) as base,
        faulty_proxy(base) as (proxy, url),
        Client(url, api_key=svc.token, retry=FAST, timeout=1.0) as rf,
    ):

        def patient() -> None:
            # The first attempt left with its 1 s timeout; the retries get time enough for a
            # real create on a loaded machine.
            rf.timeout = 120.0

        # The first create reaches the service (it creates the render), and its answer is held
        # until the test is done: the client times out and sends the create again.
        proxy.faults = [Fault("POST", "/v1/renders", gate=answer, taken=patient)]
        try:
            render = rf.renders.create(edit=color_edit())
        finally:
            answer.set()
        posts = [s for s in proxy.seen if s[:2] == ("POST", "/v1/renders")]
        assert len(posts) >= 2
        keys = {key for _, _, key in posts}
        assert len(keys) == 1 and None not in keys
        listed = list(rf.renders.list())
        assert [r.id for r in listed] == [render.id]

        # Two creates without a shared key are two renders: the key is per create.
        rf.renders.create(edit=color_edit())
        assert len(list(rf.renders.list())) == 2


def test_a_timeout_and_a_refused_connection_are_typed(tmp_path: Path) -> None:
    with (
        running_service(tmp_path) as svc,
        live_server(svc) as base,
        faulty_proxy(base) as (proxy, url),
    ):
        with Client(
            url, api_key=svc.token, retry=RetryPolicy(max_retries=1, initial_delay=0.01), timeout=0.5
        ) as rf:
            proxy.faults = [Fault("GET", "/v1/projects", hold=2.0) for _ in range(2)]
            with pytest.raises(APITimeoutError):
                rf.projects.list()
        closed = httpx.Client(trust_env=False)
        port = closed_port()
        with Client(
            f"http://127.0.0.1:{port}", api_key="k", retry=RetryPolicy(max_retries=1, initial_delay=0.01)
        ) as rf:
            with pytest.raises(APIConnectionError) as refused:
                rf.projects.list()
            assert not isinstance(refused.value, APITimeoutError)
        closed.close()


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ pages, errors


def test_iteration_goes_through_every_cursor_page(tmp_path: Path) -> None:
    with running_service(tmp_path) as svc, live_server(svc) as base, Client(base, api_key=svc.token) as rf:
        made = [rf.projects.create(name=f"p{i}", edit=color_edit())["id"] for i in range(5)]
        first = rf.projects.list(limit=2)
        assert len(first.data) == 2 and first.has_more
        assert [len(p.data) for p in first.pages()] == [2, 2, 1]
        assert sorted(p["id"] for p in first) == sorted(made)


def test_every_refusal_is_a_typed_exception_with_its_request_id(tmp_path: Path) -> None:
    with (
        running_service(tmp_path, max_upload_bytes=2048) as svc,
        live_server(svc) as base,
        faulty_proxy(base) as (proxy, url),
        Client(url, api_key=svc.token, retry=RetryPolicy(max_retries=0)) as rf,
    ):

        def refused(kind: type[Exception], call: Any) -> Any:
            with pytest.raises(kind) as caught:
                call()
            error = caught.value
            assert getattr(error, "request_id", None), error
            return error

        with Client(url, api_key="rf_not_a_key", retry=RetryPolicy(max_retries=0)) as stranger:
            refused(AuthenticationError, stranger.projects.list)
        reader = svc.new_key("renders:read")
        with Client(url, api_key=reader, retry=RetryPolicy(max_retries=0)) as weak:
            denied = refused(PermissionDeniedError, lambda: weak.renders.create(edit=color_edit()))
            assert denied.code == "insufficient-scope"
        missing = refused(NotFoundError, lambda: rf.renders.get("rnd_0000000000000000000000000"))
        assert missing.status_code == 404
        invalid = refused(
            UnprocessableEntityError,
            lambda: rf.renders.create(edit={"timeline": {"tracks": []}, "outputs": [{"fps": -1}]}),
        )
        assert any(e.get("pointer", "").startswith("#/edit") for e in invalid.errors), invalid.errors
        refused(BadRequestError, lambda: rf.renders.create(edit=color_edit(), idempotency_key="has a space"))
        project = rf.projects.create(name="p", edit=color_edit())
        stale = refused(
            PreconditionFailedError,
            lambda: rf.request(
                "PUT",
                f"/v1/projects/{project['id']}",
                json={"name": "q", "edit": color_edit()},
                headers={"If-Match": '"stale"'},
            ),
        )
        assert stale.status_code == 412
        big = tmp_path / "big.wav"
        big.write_bytes(b"\0" * 4096)
        refused(PayloadTooLargeError, lambda: rf.assets.upload(big, resumable=False))
        upload = rf.request("POST", "/v1/uploads", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"})
        place = httpx.URL(upload.headers["location"]).path
        rf.request("DELETE", place, headers={"Tus-Resumable": "1.0.0"})
        refused(
            GoneError,
            lambda: rf.request(
                "PATCH",
                place,
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                },
            ),
        )

        proxy.faults = [Fault("GET", "/v1/projects", status=500, headers={"X-Request-Id": "req_proxy"})]
        crashed = refused(InternalServerError, rf.projects.list)
        assert crashed.request_id == "req_proxy"
        proxy.faults = [
            Fault("GET", "/v1/projects", status=429, headers={"Retry-After": "1", "X-Request-Id": "req_x"})
        ]
        refused(RateLimitError, rf.projects.list)


def test_cancelling_a_finished_render_is_a_conflict(tmp_path: Path) -> None:
    with (
        running_service(tmp_path, workers=1) as svc,
        live_server(svc) as base,
        Client(base, api_key=svc.token) as rf,
    ):
        render = rf.renders.create(edit=color_edit()).wait(timeout=180)
        assert render.state == "succeeded"
        with pytest.raises(ConflictError) as conflict:
            render.cancel()
        assert conflict.value.request_id


# ------------------------------------------------------------------ waiting, files


def test_wait_follows_the_event_stream_and_downloads_the_outputs(tmp_path: Path) -> None:
    with (
        running_service(tmp_path, workers=1) as svc,
        live_server(svc) as base,
        Client(base, api_key=svc.token) as rf,
    ):
        seen: list[str] = []
        render = rf.renders.create(edit=color_edit()).wait(
            progress=True, timeout=180, on_update=lambda r: seen.append(r.state)
        )
        assert render.state == "succeeded", render.data
        assert seen[-1] == "succeeded" and len(seen) >= 2
        files = render.download(tmp_path / "out")
        assert len(files) == len(render.outputs) >= 1
        for path, output in zip(files, render.outputs, strict=True):
            assert path.stat().st_size == output["size_bytes"]

        polled = rf.renders.create(edit=color_edit()).wait(follow="poll", poll_interval=0.2, timeout=180)
        assert polled.state == "succeeded"


def test_uploads_switch_to_resumable_for_large_files_and_download(tmp_path: Path, media: Any) -> None:
    video, red = Path(media.video()), Path(media.video(color="red"))
    with running_service(tmp_path) as svc, live_server(svc) as base:
        with Client(base, api_key=svc.token) as rf:
            sent: list[tuple[int, int]] = []
            small = rf.assets.upload(
                video, name="small", tags=["sdk"], progress=lambda a, b: sent.append((a, b))
            )
            assert small["size_bytes"] == video.stat().st_size and small["tags"] == ["sdk"]
            assert sent == [(video.stat().st_size,) * 2]  # one multipart request
        # A file over the threshold goes up with tus: progress starts at offset 0.
        with Client(base, api_key=svc.token, resumable_threshold=1024) as rf:
            sent = []
            resumed = rf.assets.upload(red, name="tus", progress=lambda a, b: sent.append((a, b)))
            size = red.stat().st_size
            assert sent[0] == (0, size) and sent[-1] == (size, size)
            assert resumed["name"] == "tus" and resumed["size_bytes"] == size
            (tmp_path / "dl").mkdir()
            got = rf.assets.download(resumed["id"], tmp_path / "dl")
            assert got.name == "tus" and got.read_bytes() == red.read_bytes()


def test_the_async_client(tmp_path: Path) -> None:
    async def scenario(base: str, token: str) -> None:
        async with AsyncClient(base, api_key=token) as rf:
            for i in range(3):
                await rf.projects.create(name=f"a{i}", edit=color_edit())
            page = await rf.projects.list(limit=2)
            assert len([p async for p in page]) == 3
            render = await (await rf.renders.create(edit=color_edit())).wait(timeout=180)
            assert render.state == "succeeded"
            files = await render.download(tmp_path / "async-out")
            assert files and all(f.stat().st_size > 0 for f in files)
            with pytest.raises(NotFoundError):
                await rf.renders.get("rnd_0000000000000000000000000")

    with running_service(tmp_path, workers=1) as svc, live_server(svc) as base:
        asyncio.run(scenario(base, svc.token))


# ------------------------------------------------------------------ webhooks


def test_webhook_verification_matches_the_servers_signatures() -> None:
    old, new = generate_secret(), generate_secret()
    body = b'{"type":"render.succeeded","data":{"id":"rnd_1"}}'
    now = int(time.time())
    headers = {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(now),
        "Webhook-Signature": signature_header([old, new], "msg_1", now, body),
    }
    assert verify_webhook(body, headers, new)["type"] == "render.succeeded"
    assert verify_webhook(body, headers, old)["data"] == {"id": "rnd_1"}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body.replace(b"rnd_1", b"rnd_2"), headers, new)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, generate_secret())
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, new, now=now + 3600)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, {k: v for k, v in headers.items() if k != "Webhook-Id"}, new)


@pytest.mark.slow
def test_the_sdk_example_renders_through_a_live_server(tmp_path: Path) -> None:
    with running_service(tmp_path, workers=1) as svc, live_server(svc) as base:
        done = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "sdk_render.py"), "-o", str(tmp_path / "out")],
            capture_output=True,
            text=True,
            env={**os.environ, "REELFORGE_SERVER": base, "REELFORGE_API_KEY": svc.token},
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        written = [Path(line) for line in done.stdout.split()]
        assert written and all(p.is_file() and p.stat().st_size > 0 for p in written)
