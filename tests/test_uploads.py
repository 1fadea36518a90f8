"""Resumable uploads (tus 1.0) at /v1/uploads: the protocol, a real client (tuspy), uploads cut
and resumed, and two clients appending to one upload at once. Real HTTP against the real app
(uvicorn on loopback), SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import socket
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient import client as tus_client

from service import Service, live_server, require_database, running_service

TUS = {"Tus-Resumable": "1.0.0"}


@contextmanager
def tus_server(tmp: Path, kind: str = "sqlite", **settings: Any) -> Iterator[tuple[Service, str]]:
    """The service over real HTTP, its public URL the server's own (tus Location headers)."""
    with running_service(tmp, kind, **settings) as svc, live_server(svc) as base:
        svc.services.settings.public_url = base
        yield svc, base


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    require_database(request.param)
    with tus_server(tmp_path, request.param) as pair:
        yield pair


def noise_wav(path: Path, seconds: float = 1.0, seed: int = 0) -> Path:
    """A valid WAV of random samples: distinct bytes per seed (no deduplication between them)."""
    rng = random.Random(seed)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(rng.randbytes(int(16000 * seconds) * 2))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def create(client: httpx.Client, length: int | None, **headers: str) -> httpx.Response:
    sizes = {"Upload-Length": str(length)} if length is not None else {"Upload-Defer-Length": "1"}
    return client.post("/v1/uploads", headers={**TUS, **sizes, **headers})


def patch(client: httpx.Client, url: str, offset: int, data: bytes, **headers: str) -> httpx.Response:
    return client.patch(
        url,
        content=data,
        headers={
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            **headers,
        },
    )


def http(svc: Service, base: str, token: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token or svc.token}"}, timeout=60, trust_env=False
    )


# ------------------------------------------------------------------------------ a real client


def test_tuspy_upload_becomes_an_asset(served: tuple[Service, str], tmp_path: Path) -> None:
    svc, base = served
    wav = noise_wav(tmp_path / "voice.wav", seed=1)
    tus = tus_client.TusClient(f"{base}/v1/uploads", headers={"Authorization": f"Bearer {svc.token}"})
    uploader = tus.uploader(
        str(wav),
        chunk_size=7000,
        metadata={"filename": "voice.wav", "filetype": "audio/wav", "tags": "voice,take-1"},
        upload_checksum=True,  # sha1 of every chunk: the checksum extension
    )
    uploader.upload()
    path = urlsplit(uploader.url).path
    with http(svc, base) as client:
        head = client.head(path, headers=TUS)
        assert head.status_code == 200
        assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(wav.stat().st_size)
        assert head.headers["Tus-Resumable"] == "1.0.0"
        asset_id = head.headers["Reelforge-Asset-Id"]
        asset = client.get(f"/v1/assets/{asset_id}").json()
        assert asset["sha256"] == sha256(wav)
        assert asset["name"] == "voice.wav"
        assert asset["kind"] == "audio"
        assert sorted(asset["tags"]) == ["take-1", "voice"]
        assert asset["derived_from"] == {"upload": path.rsplit("/", 1)[1]}
        shown = client.get(path).json()
        assert shown["state"] == "complete" and shown["asset_id"] == asset_id
        events = client.get("/v1/events", params={"type": "upload.completed"}).json()["data"]
        assert [e["data"]["asset_id"] for e in events] == [asset_id]

        # Another workspace sees nothing: 404 everywhere, never the offset.
        with http(svc, base, svc.other_workspace_key()) as other:
            for method in ("HEAD", "GET", "DELETE"):
                r = other.request(method, path, headers=TUS)
                assert r.status_code == 404, (method, r.text)
                assert "Upload-Offset" not in r.headers
            assert patch(other, path, int(head.headers["Upload-Offset"]), b"x").status_code == 404


def test_same_bytes_twice_answer_the_same_asset(sqlite_service: Service, tmp_path: Path) -> None:
    wav = noise_wav(tmp_path / "a.wav", seed=2)
    data = wav.read_bytes()
    with live_server(sqlite_service) as base, http(sqlite_service, base) as client:
        sqlite_service.services.settings.public_url = base
        ids = []
        for _ in range(2):
            r = client.post(
                "/v1/uploads",
                content=data,
                headers={
                    **TUS,
                    "Upload-Length": str(len(data)),
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Metadata": f"filename {b64('a.wav')}",
                },
            )
            assert r.status_code == 201, r.text
            assert r.headers["Upload-Offset"] == str(len(data))
            assert r.headers["Location"].startswith(f"{base}/v1/uploads/upl_")
            ids.append(r.headers["Reelforge-Asset-Id"])
        assert ids[0] == ids[1]


# ------------------------------------------------------------------------------ the protocol


def test_protocol_answers(sqlite_service: Service, tmp_path: Path) -> None:
    svc = sqlite_service
    data = noise_wav(tmp_path / "p.wav", seed=3).read_bytes()
    n = len(data)
    with live_server(svc) as base, http(svc, base) as client:
        svc.services.settings.public_url = base
        options = httpx.options(f"{base}/v1/uploads", trust_env=False)
        assert options.status_code == 204
        assert options.headers["Tus-Version"] == "1.0.0"
        assert set(options.headers["Tus-Extension"].split(",")) >= {
            "creation",
            "creation-with-upload",
            "termination",
            "checksum",
            "expiration",
        }
        assert set(options.headers["Tus-Checksum-Algorithm"].split(",")) >= {"sha1", "sha256"}
        assert int(options.headers["Tus-Max-Size"]) == svc.services.settings.max_upload_bytes

        # No or another tus version: 412 with Tus-Version, nothing created.
        r = client.post("/v1/uploads", headers={"Upload-Length": "10"})
        assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"
        assert r.headers["content-type"] == "application/problem+json"
        assert (
            client.post("/v1/uploads", headers={"Upload-Length": "10", "Tus-Resumable": "0.2.2"}).status_code
            == 412
        )

        # Creation errors.
        assert client.post("/v1/uploads", headers=TUS).status_code == 400
        assert create(client, None, **{"Upload-Defer-Length": "2"}).status_code == 400
        r = create(client, svc.services.settings.max_upload_bytes + 1)
        assert r.status_code == 413 and r.json()["code"] == "content-too-large"
        r = create(client, 10, **{"Upload-Metadata": "filename not-base64!"})
        assert r.status_code == 400 and r.json()["errors"][0]["header"] == "Upload-Metadata"
        unauthenticated = httpx.post(
            f"{base}/v1/uploads", headers={**TUS, "Upload-Length": "10"}, trust_env=False
        )
        assert unauthenticated.status_code == 401 and unauthenticated.headers["Tus-Resumable"] == "1.0.0"

        r = create(client, n, **{"Upload-Metadata": f"filename {b64('p.wav')},tags {b64('x')},empty"})
        assert r.status_code == 201
        assert r.headers["Upload-Expires"].endswith(" GMT")
        url = urlsplit(r.headers["Location"]).path
        head = client.head(url, headers=TUS)
        assert head.headers["Upload-Offset"] == "0" and head.headers["Upload-Length"] == str(n)
        assert head.headers["Cache-Control"] == "no-store"
        assert head.headers["Upload-Metadata"] == f"filename {b64('p.wav')},tags {b64('x')},empty"

        # PATCH errors leave the upload as it was.
        assert client.patch(url, content=data[:10], headers={**TUS, "Upload-Offset": "0"}).status_code == 415
        r = client.patch(
            url, content=b"x", headers={**TUS, "Content-Type": "application/offset+octet-stream"}
        )
        assert r.status_code == 400
        r = patch(client, url, 5, data[:10])
        assert r.status_code == 409 and r.headers["Upload-Offset"] == "0"
        assert r.json()["code"] == "upload-offset-mismatch" and r.json()["offset"] == 0
        wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
        r = patch(client, url, 0, data[:1000], **{"Upload-Checksum": f"sha256 {wrong}"})
        assert r.status_code == 460 and r.json()["code"] == "checksum-mismatch"
        r = patch(client, url, 0, data[:1000], **{"Upload-Checksum": "whirlpool abc="})
        assert r.status_code == 400
        assert client.head(url, headers=TUS).headers["Upload-Offset"] == "0"

        # Appends with checksums (sha256, and sha1 for older clients).
        good = base64.b64encode(hashlib.sha256(data[:1000]).digest()).decode()
        r = patch(client, url, 0, data[:1000], **{"Upload-Checksum": f"sha256 {good}"})
        assert r.status_code == 204 and r.headers["Upload-Offset"] == "1000"
        assert r.headers["Upload-Expires"].endswith(" GMT")
        good1 = base64.b64encode(hashlib.sha1(data[1000:2000]).digest()).decode()
        r = patch(client, url, 1000, data[1000:2000], **{"Upload-Checksum": f"sha1 {good1}"})
        assert r.status_code == 204 and r.headers["Upload-Offset"] == "2000"

        # Past the length: 413 at once, nothing written.
        r = patch(client, url, 2000, data[2000:] + b"extra")
        assert r.status_code == 413
        assert client.head(url, headers=TUS).headers["Upload-Offset"] == "2000"

        # A POST with X-HTTP-Method-Override: PATCH appends.
        r = client.post(
            url,
            content=data[2000:],
            headers={
                **TUS,
                "X-HTTP-Method-Override": "PATCH",
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": "2000",
            },
        )
        assert r.status_code == 204, r.text
        assert r.headers["Upload-Offset"] == str(n)
        asset_id = r.headers["Reelforge-Asset-Id"]
        asset = client.get(f"/v1/assets/{asset_id}").json()
        assert asset["sha256"] == hashlib.sha256(data).hexdigest() and asset["tags"] == ["x"]

        # Termination: 204, then 410 (and no offset); the asset stays.
        r = create(client, n)
        url2 = urlsplit(r.headers["Location"]).path
        assert patch(client, url2, 0, data[:500]).status_code == 204
        assert client.delete(url2, headers=TUS).status_code == 204
        gone = client.head(url2, headers=TUS)
        assert gone.status_code == 410 and "Upload-Offset" not in gone.headers
        assert patch(client, url2, 500, data[500:]).status_code == 410
        assert not list(svc.services.storage.uploads_dir().glob("*.part"))
        assert client.delete(url, headers=TUS).status_code == 204
        assert client.get(f"/v1/assets/{asset_id}").status_code == 200

        # Deferred length: given on a later PATCH, then fixed.
        r = create(client, None, **{"Upload-Metadata": f"filename {b64('d.wav')}"})
        url3 = urlsplit(r.headers["Location"]).path
        assert client.head(url3, headers=TUS).headers["Upload-Defer-Length"] == "1"
        assert patch(client, url3, 0, data[:100]).status_code == 204
        r = patch(client, url3, 100, data[100:200], **{"Upload-Length": str(n)})
        assert r.status_code == 204
        assert patch(client, url3, 200, data[200:300], **{"Upload-Length": str(n + 1)}).status_code == 400
        r = patch(client, url3, 200, data[200:])
        assert r.status_code == 204 and r.headers["Reelforge-Asset-Id"] == asset_id  # same bytes

        # Bytes that are not media: the upload fails with the ingest's problem.
        r = create(client, 5)
        url4 = urlsplit(r.headers["Location"]).path
        r = patch(client, url4, 0, b"hello")
        assert r.status_code == 422 and r.json()["code"] == "media-unsupported"
        assert client.get(url4).json()["state"] == "failed"


@pytest.mark.parametrize("value", [b"\xb2", b"1" * 5000, b"9223372036854775808", b"-1", b"1e3"])
def test_a_length_or_offset_header_that_is_no_number_is_a_400_naming_it(
    sqlite_service: Service, value: bytes
) -> None:
    """Header values arrive as Latin-1: "²" is a digit to ``str.isdigit`` that ``int`` cannot read,
    and a number past a 64-bit integer cannot be stored; both were a 500."""
    svc = sqlite_service
    made = svc.post("/v1/uploads", headers={**TUS, "Upload-Length": "100"})
    assert made.status_code == 201, made.text
    for method, url, name in (
        ("POST", "/v1/uploads", "Upload-Length"),
        ("PATCH", made.headers["Location"], "Upload-Offset"),
    ):
        headers = [(k.encode(), v.encode()) for k, v in {**svc.headers(), **TUS}.items()]
        headers += [(name.encode(), value), (b"Content-Type", b"application/offset+octet-stream")]
        r = svc.client.request(method, url, headers=headers, content=b"x" if method == "PATCH" else b"")
        assert r.status_code == 400, (name, value, r.status_code, r.text)
        assert r.json()["errors"][0]["header"].lower() == name.lower()


def test_expired_upload_is_gone_and_swept(sqlite_service: Service) -> None:
    from datetime import timedelta

    from reelforge.db.models import utcnow
    from reelforge.db.uploads import Upload
    from reelforge.services import uploads

    svc = sqlite_service
    r = svc.post("/v1/uploads", headers={**TUS, "Upload-Length": "100"})
    upload_id = r.headers["Location"].rsplit("/", 1)[1]
    part = uploads.part_path(svc.services, upload_id)
    assert part.exists()
    with svc.services.sessions() as db:
        row = db.get(Upload, upload_id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
    assert svc.client.head(f"/v1/uploads/{upload_id}", headers={**svc.headers(), **TUS}).status_code == 410
    assert uploads.sweep_expired(svc.services) == 1
    assert not part.exists()
    assert svc.get(f"/v1/uploads/{upload_id}").json()["code"] == "upload-gone"


def test_each_workspace_keeps_unfinished_uploads_as_long_as_its_limit_says(sqlite_service: Service) -> None:
    from datetime import datetime, timedelta

    from reelforge.db.models import Workspace

    svc = sqlite_service

    def expires_in() -> timedelta:
        r = svc.post("/v1/uploads", headers={**TUS, "Upload-Length": "100"})
        assert r.status_code == 201, r.text
        upload = svc.get(f"/v1/uploads/{r.headers['Location'].rsplit('/', 1)[1]}").json()
        expires = datetime.fromisoformat(upload["expires_at"].replace("Z", "+00:00"))
        created = datetime.fromisoformat(upload["created_at"].replace("Z", "+00:00"))
        return expires - created

    assert expires_in() == timedelta(hours=24)  # the installation's default
    workspace_id = svc.get("/v1/workspace").json()["id"]
    with svc.services.sessions() as db:
        workspace = db.get(Workspace, workspace_id)
        assert workspace is not None
        workspace.limits = {**(workspace.limits or {}), "upload_expiry_hours": 2}
        db.commit()
    assert expires_in() == timedelta(hours=2)
    limits = svc.get(f"/v1/workspaces/{workspace_id}/limits").json()  # its own view names it too
    assert limits["limits"]["upload_expiry_hours"] == 2


def test_creation_is_idempotent(sqlite_service: Service) -> None:
    svc = sqlite_service
    headers = {**TUS, "Upload-Length": "100", "Idempotency-Key": "create-once-1"}
    first = svc.post("/v1/uploads", headers=headers)
    again = svc.post("/v1/uploads", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Tus-Resumable"] == "1.0.0"


# ------------------------------------------------------------------------------ interrupted, concurrent


def send_partial(
    base: str, token: str, path: str, offset: int, body: bytes, sent: int, **headers: str
) -> socket.socket:
    """Start a PATCH of ``body`` at ``offset`` by hand and send only its first ``sent`` bytes; the
    open socket (close it to cut the request)."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    assert host == "127.0.0.1" and port is not None
    sock = socket.create_connection((host, port), timeout=60)
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Upload-Offset: {offset}\r\nContent-Length: {len(body)}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + "\r\n"
    ).encode()
    sock.sendall(head + body[:sent])
    return sock


@pytest.mark.slow
def test_fifty_uploads_cut_and_resumed_are_intact(tmp_path: Path) -> None:
    rng = random.Random(15)
    with tus_server(tmp_path, rate_limiting=False) as (svc, base), http(svc, base) as client:
        tus = tus_client.TusClient(f"{base}/v1/uploads", headers={"Authorization": f"Bearer {svc.token}"})
        corrupt = []
        for i in range(50):
            wav = noise_wav(tmp_path / f"cut-{i}.wav", seconds=0.5 + rng.random(), seed=100 + i)
            data = wav.read_bytes()
            r = create(client, len(data), **{"Upload-Metadata": f"filename {b64(wav.name)}"})
            path = urlsplit(r.headers["Location"]).path
            cut = rng.randrange(1, len(data))
            # Cut mid-body: the server keeps what arrived, the client learns how much from HEAD.
            send_partial(base, svc.token, path, 0, data, cut).close()
            uploader = tus.uploader(
                file_stream=io.BytesIO(data),
                url=f"{base}{path}",
                chunk_size=rng.choice([4096, 65536, 10**9]),
                retries=20,
                retry_delay=0.05,
            )
            uploader.upload()  # HEADs the offset the cut left, sends the rest
            head = client.head(path, headers=TUS)
            asset = client.get(f"/v1/assets/{head.headers['Reelforge-Asset-Id']}").json()
            if asset["sha256"] != hashlib.sha256(data).hexdigest():
                corrupt.append(i)
        assert corrupt == []


def wait_writing(svc: Service, upload_id: str, timeout: float = 60) -> None:
    """Until a request holds the upload's writer claim (read from the database)."""
    from reelforge.db.uploads import Upload

    deadline = time.monotonic() + timeout
    while True:
        with svc.services.sessions() as db:
            row = db.get(Upload, upload_id)
            if row is not None and row.writer is not None:
                return
        assert time.monotonic() < deadline, "the first PATCH never started writing"
        time.sleep(0.02)


def test_two_clients_appending_at_once_cannot_corrupt(served: tuple[Service, str], tmp_path: Path) -> None:
    svc, base = served
    first = noise_wav(tmp_path / "first.wav", seed=7).read_bytes()
    second = noise_wav(tmp_path / "second.wav", seed=8).read_bytes()
    assert len(first) == len(second)
    with http(svc, base) as client:
        r = create(client, len(first), **{"Upload-Metadata": f"filename {b64('race.wav')}"})
        path = urlsplit(r.headers["Location"]).path
        # Client A holds the upload: its PATCH has sent half its body and is still sending.
        sock = send_partial(base, svc.token, path, 0, first, len(first) // 2)
        try:
            wait_writing(svc, path.rsplit("/", 1)[1])
            # Client B appends at the same offset meanwhile: refused, nothing of it written.
            answers: list[httpx.Response] = []
            thread = threading.Thread(target=lambda: answers.append(patch(client, path, 0, second)))
            thread.start()
            thread.join(timeout=120)
            assert answers and answers[0].status_code in (409, 423), answers[0].text
            if answers[0].status_code == 423:
                assert answers[0].headers["Retry-After"] == "1"
            # A finishes.
            sock.sendall(first[len(first) // 2 :])
            reply = sock.recv(65536).decode("latin-1")
            assert reply.startswith("HTTP/1.1 204"), reply
        finally:
            sock.close()
        # B comes back with its stale offset: 409 with the real one.
        late = patch(client, path, 0, second)
        assert late.status_code == 409 and late.headers["Upload-Offset"] == str(len(first))
        head = client.head(path, headers=TUS)
        asset = client.get(f"/v1/assets/{head.headers['Reelforge-Asset-Id']}").json()
        assert asset["sha256"] == hashlib.sha256(first).hexdigest()


def test_a_bad_checksum_racing_a_delete_answers_gone(sqlite_service: Service, tmp_path: Path) -> None:
    """The upload is terminated (its file removed) while a PATCH with a wrong checksum is still
    sending: the PATCH cannot put the file back to its offset, as there is none; it answers
    410 like any append to a terminated upload."""
    svc = sqlite_service
    data = noise_wav(tmp_path / "gone.wav", seed=11).read_bytes()
    wrong = base64.b64encode(hashlib.sha256(b"not these bytes").digest()).decode()
    with live_server(svc) as base, http(svc, base) as client:
        svc.services.settings.public_url = base
        path = urlsplit(create(client, len(data)).headers["Location"]).path
        sock = send_partial(
            base, svc.token, path, 0, data, len(data) // 2, **{"Upload-Checksum": f"sha256 {wrong}"}
        )
        try:
            wait_writing(svc, path.rsplit("/", 1)[1])
            assert client.delete(path, headers=TUS).status_code == 204
            sock.sendall(data[len(data) // 2 :])
            reply = b""
            while b"\r\n\r\n" not in reply:
                chunk = sock.recv(65536)
                assert chunk, reply
                reply += chunk
        finally:
            sock.close()
        assert reply.decode("latin-1").startswith("HTTP/1.1 410"), reply
        assert client.head(path, headers=TUS).status_code == 410


def test_first_bytes_refused_at_creation_still_say_where_the_upload_is(
    sqlite_service: Service, tmp_path: Path
) -> None:
    svc = sqlite_service
    data = noise_wav(tmp_path / "first.wav", seed=12).read_bytes()
    wrong = base64.b64encode(hashlib.sha256(b"not these bytes").digest()).decode()
    with live_server(svc) as base, http(svc, base) as client:
        svc.services.settings.public_url = base
        r = client.post(
            "/v1/uploads",
            content=data[:1000],
            headers={
                **TUS,
                "Upload-Length": str(len(data)),
                "Content-Type": "application/offset+octet-stream",
                "Upload-Checksum": f"sha256 {wrong}",
            },
        )
        assert r.status_code == 460 and r.json()["code"] == "checksum-mismatch", r.text
        assert r.headers["Upload-Offset"] == "0"
        location = r.headers["Location"]
        assert location.startswith(f"{base}/v1/uploads/upl_")
        # The client resumes the upload it was told of, from the start.
        path = urlsplit(location).path
        assert client.head(path, headers=TUS).headers["Upload-Offset"] == "0"
        assert patch(client, path, 0, data).status_code == 204
        assert client.head(path, headers=TUS).headers["Upload-Offset"] == str(len(data))


def test_subtitles_whose_text_looks_like_an_internal_mark_upload(sqlite_service: Service) -> None:
    svc = sqlite_service
    data = b"WEBVTT\n\n00:00.000 --> 00:01.000 line:0\nTop\n\n00:01.000 --> 00:02.000\n{\\vtt7}x\n"
    with live_server(svc) as base, http(svc, base) as client:
        svc.services.settings.public_url = base
        r = client.post(
            "/v1/uploads",
            content=data,
            headers={
                **TUS,
                "Upload-Length": str(len(data)),
                "Content-Type": "application/offset+octet-stream",
                "Upload-Metadata": f"filename {b64('forged.vtt')}",
            },
        )
        assert r.status_code == 201, r.text
        asset = client.get(f"/v1/assets/{r.headers['Reelforge-Asset-Id']}").json()
        assert asset["kind"] == "subtitles" and asset["media"]["cue_count"] == 2


def test_racing_appends_leave_one_whole_body(served: tuple[Service, str], tmp_path: Path) -> None:
    """Eight clients send different bodies at offset 0 at the same moment: exactly one wins and
    the asset is its bytes, whole."""
    svc, base = served
    bodies = [noise_wav(tmp_path / f"r{i}.wav", seed=200 + i).read_bytes() for i in range(8)]
    with http(svc, base) as client:
        r = create(client, len(bodies[0]))
        path = urlsplit(r.headers["Location"]).path
        start = threading.Barrier(len(bodies))
        statuses: dict[int, int] = {}

        def send(i: int) -> None:
            with http(svc, base) as own:
                start.wait()
                statuses[i] = patch(own, path, 0, bodies[i]).status_code

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        winners = [i for i, s in statuses.items() if s == 204]
        assert len(winners) == 1, statuses
        assert all(s in (409, 423) for i, s in statuses.items() if i not in winners), statuses
        head = client.head(path, headers=TUS)
        asset = client.get(f"/v1/assets/{head.headers['Reelforge-Asset-Id']}").json()
        assert asset["sha256"] == hashlib.sha256(bodies[winners[0]]).hexdigest()


def check_openapi_examples(c: Any, svc: Service) -> None:
    """Called by tests/test_openapi.py: the documented answers of these routes against ``svc``
    (the import's own example is checked in tests/test_imports.py, which runs a media server)."""
    data = noise_wav(svc.data_dir.parent / "openapi.wav", seed=99).read_bytes()
    r = c.call(
        "POST",
        "/v1/uploads",
        headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": f"filename {b64('openapi.wav')}"},
        expect=201,
    )
    upload_id = r.json()["id"]
    params = {"upload_id": upload_id}
    c.call("HEAD", "/v1/uploads/{upload_id}", params=params, headers=TUS, expect=200)
    octets = {**TUS, "Content-Type": "application/offset+octet-stream"}
    c.call(
        "PATCH",
        "/v1/uploads/{upload_id}",
        params=params,
        content=data[:100],
        headers={**octets, "Upload-Offset": "0"},
        expect=204,
    )
    override = {**octets, "Upload-Offset": "100", "X-HTTP-Method-Override": "PATCH"}
    r = c.call(
        "POST", "/v1/uploads/{upload_id}", params=params, content=data[100:], headers=override, expect=204
    )
    assert r.headers["Reelforge-Asset-Id"]
    c.call("GET", "/v1/uploads/{upload_id}", params=params, expect=200)
    c.call("DELETE", "/v1/uploads/{upload_id}", params=params, headers=TUS, expect=204)
    c.call("POST", "/v1/assets/imports", json={"url": "http://169.254.169.254/latest/"}, expect=422)
    c.call(
        "GET",
        "/v1/assets/imports/{import_id}",
        params={"import_id": "imp_01jd0000000000000000000000"},
        expect=404,
    )


# ------------------------------------------------------------------------------ disk limits


def test_a_deferred_length_upload_stops_at_the_largest_upload(tmp_path: Path) -> None:
    with tus_server(tmp_path, max_upload_bytes=4096) as (svc, base), http(svc, base) as client:
        made = create(client, None)
        assert made.status_code == 201, made.text
        url = made.headers["Location"]
        r = patch(client, url, 0, b"x" * 3000)
        assert r.status_code == 204, r.text
        r = patch(client, url, 3000, b"x" * 5000)
        assert r.status_code == 413, r.text
        assert r.json()["code"] == "content-too-large"
        offset = int(client.head(url, headers=TUS).headers["Upload-Offset"])
        assert offset <= 4096
        part = svc.services.storage.uploads_dir() / f"{url.rsplit('/', 1)[1]}.part"
        assert part.stat().st_size <= 4096
        # Nothing more is taken at the limit.
        r = patch(client, url, offset, b"x" * 10)
        assert r.status_code == 413 and part.stat().st_size <= 4096


def test_open_uploads_count_against_the_quota_and_are_capped(tmp_path: Path) -> None:
    with (
        tus_server(tmp_path, limit_storage_bytes=10_000, max_open_uploads=3) as (svc, base),
        http(svc, base) as client,
    ):
        assert create(client, 6000).status_code == 201
        # Together with the first (unfinished) one this would pass the storage quota.
        r = create(client, 6000)
        assert r.status_code == 403 and r.json()["code"] == "quota-exceeded", r.text
        deferred = create(client, None)
        assert deferred.status_code == 201
        r = patch(client, deferred.headers["Location"], 0, b"x", **{"Upload-Length": "6000"})
        assert r.status_code == 403 and r.json()["code"] == "quota-exceeded", r.text
        assert create(client, None).status_code == 201
        # The fourth unfinished upload is one too many.
        r = create(client, None)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "limit-exceeded" and r.json()["limit"] == "max_open_uploads"


def test_the_bytes_of_an_expired_output_uploaded_again_are_stored_again(tmp_path: Path) -> None:
    """Retention removed a render output's bytes; uploading the same bytes answers that asset
    with its content back, not an asset without content."""
    from datetime import timedelta

    from reelforge.db.models import utcnow
    from reelforge.services.retention import run_retention

    edit = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 0.5}]}]},
        "outputs": [{"width": 160, "height": 90, "quality": "draft", "audio": False}],
    }
    with (
        tus_server(tmp_path, workers=1, limit_output_retention_days=1, retention_interval=0) as (svc, base),
        http(svc, base) as client,
    ):
        render_id = svc.post("/v1/renders", json={"edit": edit}).json()["id"]
        deadline = time.monotonic() + 120
        while (done := svc.get(f"/v1/renders/{render_id}").json())["state"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, done
            time.sleep(0.05)
        assert done["state"] == "succeeded", done
        output = done["outputs"][0]["id"]
        data = svc.get(f"/v1/assets/{output}/content").content
        assert run_retention(svc.services, now=utcnow() + timedelta(days=2)).expired_ids == [output]
        assert svc.get(f"/v1/assets/{output}/content").status_code == 404
        r = client.post(
            "/v1/uploads",
            content=data,
            headers={
                **TUS,
                "Upload-Length": str(len(data)),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert r.status_code == 201, r.text
        assert r.headers["Reelforge-Asset-Id"] == output
        again = svc.get(f"/v1/assets/{output}/content")
        assert again.status_code == 200 and again.content == data


def test_a_chunk_over_the_body_limit_is_refused_with_the_tus_headers(tmp_path: Path) -> None:
    """The body limit of the tus routes (``max_upload_patch_bytes``) applies before the route
    reads a byte: a client sending chunks too large is told so as a tus answer, and the upload
    is left where it was for smaller chunks."""
    data = noise_wav(tmp_path / "big.wav", seconds=2, seed=9).read_bytes()
    with (
        tus_server(tmp_path, max_upload_patch_bytes=16 * 1024) as (svc, base),
        http(svc, base) as client,
    ):
        url = urlsplit(create(client, len(data)).headers["Location"]).path
        r = patch(client, url, 0, data[: 40 * 1024])
        assert r.status_code == 413 and r.json()["code"] == "content-too-large", r.text
        assert r.json()["max_bytes"] == 16 * 1024
        assert r.headers["Tus-Resumable"] == "1.0.0"

        # The same limit on a body whose length is not declared (cut as it arrives).
        def chunked() -> Iterator[bytes]:
            for at in range(0, 40 * 1024, 4096):
                yield data[at : at + 4096]

        r = client.patch(
            url,
            content=chunked(),
            headers={**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
        )
        assert r.status_code == 413 and r.headers["Tus-Resumable"] == "1.0.0", r.text
        # Creation with an upload too.
        r = client.post(
            "/v1/uploads",
            content=data[: 40 * 1024],
            headers={
                **TUS,
                "Upload-Length": str(len(data)),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert r.status_code == 413 and r.headers["Tus-Resumable"] == "1.0.0", r.text

        offset = int(client.head(url, headers=TUS).headers["Upload-Offset"])
        while offset < len(data):
            r = patch(client, url, offset, data[offset : offset + 16 * 1024])
            assert r.status_code == 204, r.text
            offset = int(r.headers["Upload-Offset"])
        asset = client.get(f"/v1/assets/{r.headers['Reelforge-Asset-Id']}").json()
        assert asset["sha256"] == hashlib.sha256(data).hexdigest()


def test_rate_limits_apply_to_the_tus_routes_with_the_tus_headers(tmp_path: Path) -> None:
    data = noise_wav(tmp_path / "r.wav", seed=10).read_bytes()
    with (
        tus_server(tmp_path, rate_limits={"writes": "3/minute"}) as (svc, base),
        http(svc, base) as client,
    ):
        url = urlsplit(create(client, len(data)).headers["Location"]).path
        assert patch(client, url, 0, data[:1000]).status_code == 204
        assert patch(client, url, 1000, data[1000:2000]).status_code == 204
        r = patch(client, url, 2000, data[2000:])
        assert r.status_code == 429 and r.json()["code"] == "rate-limited", r.text
        assert int(r.headers["Retry-After"]) > 0 and r.headers["Tus-Resumable"] == "1.0.0"
        # Nothing of the refused chunk was taken; reads are another class.
        head = client.head(url, headers=TUS)
        assert head.status_code == 200 and head.headers["Upload-Offset"] == "2000"
