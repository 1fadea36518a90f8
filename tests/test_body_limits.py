"""Request body limits per route: 413 ``content-too-large`` before the body is read in full.

A real uvicorn server and raw sockets show the "before": the answer arrives while the client
has sent only the headers (declared length) or part of a chunked body, never the rest.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from reelforge.api.middleware import route_limit
from service import Service, running_service
from test_idempotency import EDIT, live_server

KIB = 1024
MIB = 1024 * 1024


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Service]:
    """Small limits, so the tests send little: JSON 64 KiB, edits 256 KiB, uploads 256 KiB."""
    with running_service(
        tmp_path,
        "sqlite",
        max_json_body_bytes=64 * KIB,
        max_edit_body_bytes=256 * KIB,
        max_upload_bytes=256 * KIB,
    ) as svc:
        yield svc


def padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON, padded with insignificant whitespace to ``size`` bytes."""
    raw = json.dumps(body).encode()
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


def raw_exchange(base: str, head: str, body_parts: list[bytes]) -> tuple[int, dict[str, str], bytes]:
    """Send a request's head and then ``body_parts`` on a socket, and read the answer: the test
    never sends more than those parts (a body left unfinished on purpose)."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10) as sock:
        sock.sendall(head.encode())
        for part in body_parts:
            sock.sendall(part)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, "the server closed without answering"
            data += chunk
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, headers, rest


def head(method: str, path: str, token: str, **headers: str) -> str:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items()),
    ]
    return "\r\n".join(lines) + "\r\n\r\n"


def assert_too_large(status: int, headers: dict[str, str], body: bytes, limit: int, path: str) -> None:
    assert status == 413, body
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-request-id"].startswith("req_")
    problem = json.loads(body)
    assert problem["code"] == "content-too-large" and problem["status"] == 413
    assert problem["max_bytes"] == limit and problem["instance"] == path
    assert problem["request_id"] == headers["x-request-id"]


def test_each_route_has_its_limit(limited: Service) -> None:
    svc = limited
    # A JSON route: 64 KiB.
    r = svc.post(
        "/v1/keys",
        content=padded({"name": "k", "scopes": ["renders:read"]}, 64 * KIB),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    r = svc.post(
        "/v1/keys",
        content=padded({"name": "k", "scopes": ["renders:read"]}, 64 * KIB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["max_bytes"] == 64 * KIB
    # Routes carrying edits: 256 KiB, whatever the content type claims.
    for path, body, ok in (
        ("/v1/projects", {"name": "big", "edit": EDIT}, 201),
        ("/v1/renders", {"edit": EDIT}, 202),
    ):
        r = svc.post(path, content=padded(body, 200 * KIB), headers={"Content-Type": "application/json"})
        assert r.status_code == ok, r.text
        r = svc.post(path, content=padded(body, 256 * KIB + 1), headers={"Content-Type": "text/plain"})
        assert r.status_code == 413 and r.json()["max_bytes"] == 256 * KIB
    # Form bodies too (the token endpoint).
    r = svc.client.post(
        "/v1/oauth/token",
        content=b"grant_type=client_credentials&x=" + b"a" * 64 * KIB,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


def test_a_declared_length_over_the_limit_is_refused_before_any_body_byte(limited: Service) -> None:
    with live_server(limited) as base:
        for path, limit in (
            ("/v1/keys", 64 * KIB),
            ("/v1/projects", 256 * KIB),
            ("/v1/assets", 256 * KIB + MIB),
        ):
            status, headers, body = raw_exchange(
                base,
                head(
                    "POST",
                    path,
                    limited.token,
                    Content_Type="application/json",
                    Content_Length=str(limit + 1),
                ),
                [],
            )
            assert_too_large(status, headers, body, limit, path)
            assert headers.get("connection") == "close"


def test_a_chunked_body_is_cut_at_the_limit(limited: Service) -> None:
    """Chunks past the limit, and no final chunk: the answer comes anyway."""
    chunk = b"a" * 16 * KIB
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with live_server(limited) as base:
        status, headers, body = raw_exchange(
            base,
            head(
                "POST",
                "/v1/keys",
                limited.token,
                Content_Type="application/json",
                Transfer_Encoding="chunked",
            ),
            [framed] * 5,
        )  # 80 KiB > 64 KiB, never terminated
        assert_too_large(status, headers, body, 64 * KIB, "/v1/keys")
        # An upload is cut at its own limit (the file limit plus the multipart overhead).
        boundary = "b0undary"
        start = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        status, headers, body = raw_exchange(
            base,
            head(
                "POST",
                "/v1/assets",
                limited.token,
                Content_Type=f"multipart/form-data; boundary={boundary}",
                Transfer_Encoding="chunked",
            ),
            [f"{len(start):x}\r\n".encode() + start + b"\r\n", *[framed] * 90],
        )  # 1.4 MiB, unterminated
        assert status == 413, body
        assert json.loads(body)["code"] == "content-too-large"


def test_a_body_within_the_limit_sent_chunked_is_read_whole(limited: Service) -> None:
    payload = json.dumps({"name": "chunked", "scopes": ["renders:read"]}).encode()
    parts = [payload[:10], payload[10:]]
    framed = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts] + [b"0\r\n\r\n"]
    with live_server(limited) as base:
        status, _, body = raw_exchange(
            base,
            head(
                "POST",
                "/v1/keys",
                limited.token,
                Content_Type="application/json",
                Transfer_Encoding="chunked",
            ),
            framed,
        )
    assert status == 201 and json.loads(body)["name"] == "chunked"


def test_the_default_limits_and_their_classes() -> None:
    limits = {"json": MIB, "edit": 5 * MIB, "upload": 2 * 1024 * MIB + MIB}
    assert route_limit("POST", "/v1/keys", limits) == ("json", MIB)
    assert route_limit("POST", "/v1/projects", limits) == ("edit", 5 * MIB)
    assert route_limit("PATCH", "/v1/projects/prj_1", limits) == ("edit", 5 * MIB)
    assert route_limit("POST", "/v1/projects/prj_1/revisions/1/restore", limits) == ("json", MIB)
    assert route_limit("POST", "/v1/renders", limits) == ("edit", 5 * MIB)
    assert route_limit("POST", "/v1/renders/rnd_1/cancel", limits) == ("json", MIB)
    assert route_limit("POST", "/v1/assets", limits)[0] == "upload"
    assert route_limit("PATCH", "/v1/assets/ast_1", limits) == ("json", MIB)


def test_a_body_cut_at_the_limit_never_reaches_the_route(limited: Service) -> None:
    """A valid JSON object in the first chunk, then (after a pause) padding past the limit: the
    route must not run on the valid prefix (it would create a key while answering 413)."""
    before = {k["id"] for k in limited.get("/v1/keys").json()["data"]}
    valid = json.dumps({"name": "smuggled", "scopes": ["renders:read"]}).encode()
    pad = b" " * 16 * KIB
    with live_server(limited) as base:
        parsed = urlsplit(base)
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 80), timeout=10
        ) as sock:
            sock.sendall(
                head(
                    "POST",
                    "/v1/keys",
                    limited.token,
                    Content_Type="application/json",
                    Transfer_Encoding="chunked",
                ).encode()
            )
            sock.sendall(f"{len(valid):x}\r\n".encode() + valid + b"\r\n")
            time.sleep(0.2)  # the app has the valid object before the padding arrives
            try:
                for _ in range(5):  # 80 KiB > 64 KiB, never terminated
                    sock.sendall(f"{len(pad):x}\r\n".encode() + pad + b"\r\n")
            except OSError:
                pass  # the server may answer and close while the padding is still going out
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                assert chunk, "the server closed without answering"
                data += chunk
    assert data.split(b" ", 2)[1] == b"413", data
    after = {k["id"] for k in limited.get("/v1/keys").json()["data"]}
    assert after == before, "the route ran on the cut body"
