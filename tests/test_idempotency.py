"""Idempotency-Key on the creating POSTs: a retried request never creates twice.

Real service, real databases (SQLite and PostgreSQL), and for the timeout and concurrency cases
a real uvicorn server on loopback with real sockets. The slow first request is made slow
deterministically: a database lock held by the test (the request waits on it), or an upload
whose body the test streams in two halves.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from reelforge.db import idempotency as store
from reelforge.db.models import ApiKey, Asset, OAuthClient, Project, ProjectRevision, Render, utcnow
from service import Service, live_server

EDIT: dict[str, Any] = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]},
    "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
}
REPLAYED = "idempotent-replayed"


def key() -> str:
    return str(uuid.uuid4())


def with_key(k: str, **extra: str) -> dict[str, str]:
    return {"Idempotency-Key": k, **extra}


def count(svc: Service, model: Any, **where: Any) -> int:
    with svc.services.sessions() as db:
        query = sa.select(sa.func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(db.scalar(query) or 0)


def workspace_of(svc: Service, token: str | None = None) -> str:
    return str(svc.get("/v1/workspace", token=token).json()["id"])


def row(svc: Service, workspace_id: str, k: str) -> store.IdempotencyKey | None:
    with svc.services.sessions() as db:
        return store.stored(db, workspace_id, k)


def is_sqlite(svc: Service) -> bool:
    return svc.services.engine.dialect.name == "sqlite"


# ------------------------------------------------------------------ a live server, a held lock


@contextmanager
def renders_blocked(svc: Service) -> Iterator[None]:
    """Hold a lock that makes creating a render wait: PostgreSQL, the renders table (reads and
    the idempotency claim go on); SQLite, the database's write lock (the claim waits too)."""
    if is_sqlite(svc):
        conn = sqlite3.connect(svc.services.engine.url.database or "", isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    with svc.services.engine.connect() as conn:
        conn.execute(sa.text("LOCK TABLE renders IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def post_until_done(base: str, token: str, path: str, **kw: Any) -> httpx.Response:
    """What a careful client does: retry while the key is in progress, after ``Retry-After``."""
    for _ in range(30):
        r = httpx.post(
            base + path,
            headers={"Authorization": f"Bearer {token}", **kw.pop("headers", {})},
            timeout=10,
            **kw,
        )
        if r.status_code != 409 or r.json()["code"] != "idempotency-request-in-progress":
            return r
        kw["headers"] = dict(r.request.headers)
        time.sleep(float(r.headers["retry-after"]))
    raise AssertionError("the key stayed in progress")


# ------------------------------------------------------------------ renders: the guarantee


def test_same_key_same_body_replays_the_first_response(service: Service) -> None:
    k = key()
    first = service.post("/v1/renders", json={"edit": EDIT, "metadata": {"n": 1}}, headers=with_key(k))
    assert first.status_code == 202, first.text
    assert REPLAYED not in first.headers
    second = service.post("/v1/renders", json={"edit": EDIT, "metadata": {"n": 1}}, headers=with_key(k))
    assert second.status_code == 202
    assert second.headers[REPLAYED] == "true"
    assert second.content == first.content  # byte for byte
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert count(service, Render) == 1
    # The quoted form (an RFC 8941 string) is the same key.
    third = service.post("/v1/renders", json={"edit": EDIT, "metadata": {"n": 1}}, headers=with_key(f'"{k}"'))
    assert third.headers[REPLAYED] == "true" and third.content == first.content
    # Without a key every request creates.
    for _ in range(2):
        assert service.post("/v1/renders", json={"edit": EDIT}).status_code == 202
    assert count(service, Render) == 3


def test_same_key_with_another_body_path_or_query_is_refused(service: Service) -> None:
    k = key()
    assert service.post("/v1/renders", json={"edit": EDIT}, headers=with_key(k)).status_code == 202
    for body, url in (
        ({"edit": EDIT, "metadata": {"x": 1}}, "/v1/renders"),
        ({"edit": EDIT}, "/v1/renders?dry_run=false"),
        ({"name": "p", "edit": EDIT}, "/v1/projects"),
    ):
        r = service.post(url, json=body, headers=with_key(k))
        assert r.status_code == 422, (url, r.text)
        problem = r.json()
        assert problem["code"] == "idempotency-key-reused"
        assert problem["errors"] == [
            {"header": "Idempotency-Key", "detail": "already used for another request", "code": "reused"}
        ]
    # Byte-identical means byte-identical: the same JSON with other spacing is another body.
    r = service.client.post(
        "/v1/renders",
        content=httpx.Request("POST", "/", json={"edit": EDIT}).content + b" ",
        headers=service.headers(**with_key(k), **{"Content-Type": "application/json"}),
    )
    assert r.status_code == 422 and r.json()["code"] == "idempotency-key-reused"
    assert count(service, Render) == 1 and count(service, Project) == 0


@pytest.mark.parametrize("bad", ["", '""', "a b", "caf\u00e9", "x" * 256, '"' + "x" * 256 + '"', "tab\there"])
def test_malformed_keys_are_refused(sqlite_service: Service, bad: str) -> None:
    r = sqlite_service.client.post(
        "/v1/renders",
        json={"edit": EDIT},
        headers={**sqlite_service.headers(), "Idempotency-Key": bad.encode()},
    )
    assert r.status_code == 400, r.text
    assert (
        r.json()["code"] == "idempotency-key-invalid" and r.json()["errors"][0]["header"] == "Idempotency-Key"
    )
    assert count(sqlite_service, Render) == 0


def test_longest_key_and_reads_ignoring_the_header(sqlite_service: Service) -> None:
    svc = sqlite_service
    longest = "~" * 255
    assert svc.post("/v1/renders", json={"edit": EDIT}, headers=with_key(longest)).status_code == 202
    assert svc.post("/v1/renders", json={"edit": EDIT}, headers=with_key(longest)).headers[REPLAYED] == "true"
    # GET does not look at the header at all (even a malformed one).
    assert svc.get("/v1/renders", headers={"Idempotency-Key": "not valid"}).status_code == 200


def test_a_timed_out_request_retried_with_its_key_never_creates_twice(service: Service) -> None:
    """The user-facing guarantee: the client gives up while the server is still creating; the
    server finishes; the client's retry with the same key gets that render, not a second one."""
    k = key()
    body = {"edit": EDIT, "metadata": {"order": "A-1001"}}
    ws = workspace_of(service)  # the key was used before (so its verification is cached)
    with live_server(service) as base:
        with renders_blocked(service), pytest.raises(httpx.ReadTimeout):
            httpx.post(
                base + "/v1/renders",
                json=body,
                timeout=0.5,
                headers={"Authorization": f"Bearer {service.token}", **with_key(k)},
            )
        # The lock is gone: the abandoned request completes on the server, unseen by the client,
        # while the client backs off before its retry.
        wait_for(
            lambda: (r := row(service, ws, k)) is not None and r.state == "completed", "the first request"
        )
        retried = post_until_done(base, service.token, "/v1/renders", json=body, headers=with_key(k))
    assert retried.status_code == 202, retried.text
    assert retried.headers[REPLAYED] == "true"
    with service.services.sessions() as db:
        renders = list(db.scalars(sa.select(Render)))
    assert [r.id for r in renders] == [retried.json()["id"]]
    assert renders[0].meta == {"order": "A-1001"}


def test_a_concurrent_request_with_the_key_in_progress_gets_409(service: Service) -> None:
    """The first request holds the key while it waits for the renders table; the second, with
    the same key and body, is told to retry (409, Retry-After: 1) instead of creating."""
    if is_sqlite(service):
        pytest.skip(
            "SQLite's lock is database-wide: the claim itself would wait (the upload test covers SQLite)"
        )
    k = key()
    ws = workspace_of(service)
    first: dict[str, httpx.Response] = {}
    with live_server(service) as base:
        with renders_blocked(service):
            thread = threading.Thread(
                target=lambda: first.setdefault(
                    "r",
                    httpx.post(
                        base + "/v1/renders",
                        json={"edit": EDIT},
                        timeout=30,
                        headers={"Authorization": f"Bearer {service.token}", **with_key(k)},
                    ),
                )
            )
            thread.start()
            wait_for(lambda: (r := row(service, ws, k)) is not None and r.state == "in_progress", "the claim")
            second = httpx.post(
                base + "/v1/renders",
                json={"edit": EDIT},
                timeout=10,
                headers={"Authorization": f"Bearer {service.token}", **with_key(k)},
            )
            assert second.status_code == 409, second.text
            assert second.json()["code"] == "idempotency-request-in-progress"
            assert second.headers["retry-after"] == "1"
            assert "r" not in first  # still waiting for the lock
        thread.join(timeout=30)
        assert first["r"].status_code == 202 and REPLAYED not in first["r"].headers
        third = httpx.post(
            base + "/v1/renders",
            json={"edit": EDIT},
            timeout=10,
            headers={"Authorization": f"Bearer {service.token}", **with_key(k)},
        )
    assert third.status_code == 202 and third.headers[REPLAYED] == "true"
    assert third.content == first["r"].content
    assert count(service, Render) == 1


def test_a_burst_of_identical_requests_creates_one_render(service: Service) -> None:
    """Eight threads send the same keyed request at once: whatever the interleaving, one render
    exists, every 202 names it, and the rest were told to retry."""
    k = key()
    results: list[httpx.Response] = []
    lock = threading.Lock()
    with live_server(service) as base:
        start = threading.Barrier(8)

        def send() -> None:
            start.wait()
            r = httpx.post(
                base + "/v1/renders",
                json={"edit": EDIT},
                timeout=30,
                headers={"Authorization": f"Bearer {service.token}", **with_key(k)},
            )
            with lock:
                results.append(r)

        threads = [threading.Thread(target=send) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert len(results) == 8
    assert {r.status_code for r in results} <= {202, 409}, [r.text for r in results]
    created = [r for r in results if r.status_code == 202]
    assert created and len({r.json()["id"] for r in created}) == 1
    assert sum(REPLAYED not in r.headers for r in created) == 1
    assert count(service, Render) == 1


# ------------------------------------------------------------------ expiry, scope, takeover


def test_keys_expire_after_24_hours(service: Service) -> None:
    k = key()
    ws = workspace_of(service)
    assert service.post("/v1/renders", json={"edit": EDIT}, headers=with_key(k)).status_code == 202
    with service.services.sessions() as db:
        db.execute(
            sa.update(store.IdempotencyKey)
            .where(store.IdempotencyKey.key == k)
            .values(created_at=utcnow() - timedelta(hours=24, seconds=1))
        )
        db.commit()
    # An expired key is a new key: another body is no longer "reused", it simply creates.
    r = service.post("/v1/renders", json={"edit": EDIT, "metadata": {"again": True}}, headers=with_key(k))
    assert r.status_code == 202 and REPLAYED not in r.headers
    assert count(service, Render) == 2
    fresh = row(service, ws, k)
    assert fresh is not None and fresh.created_at > utcnow() - timedelta(minutes=1)
    # Garbage collection removes what is older than 24 h and keeps the rest.
    old = key()
    assert service.post("/v1/renders", json={"edit": EDIT}, headers=with_key(old)).status_code == 202
    with service.services.sessions() as db:
        db.execute(
            sa.update(store.IdempotencyKey)
            .where(store.IdempotencyKey.key == old)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
        db.commit()
        assert store.purge_expired(db) == 1
    assert row(service, ws, old) is None and row(service, ws, k) is not None


def test_keys_are_scoped_to_the_workspace(service: Service) -> None:
    k = key()
    other = service.other_workspace_key()
    mine = service.post("/v1/renders", json={"edit": EDIT}, headers=with_key(k))
    theirs = service.post("/v1/renders", json={"edit": EDIT}, headers=with_key(k), token=other)
    assert mine.status_code == theirs.status_code == 202
    assert REPLAYED not in theirs.headers and theirs.json()["id"] != mine.json()["id"]
    assert count(service, Render, workspace_id=workspace_of(service)) == 1
    assert count(service, Render, workspace_id=workspace_of(service, other)) == 1
    # Every credential of a workspace shares its keys: a new key of the same workspace replays.
    again = service.post(
        "/v1/renders", json={"edit": EDIT}, headers=with_key(k), token=service.new_key("renders:write")
    )
    assert again.headers[REPLAYED] == "true" and again.content == mine.content


def test_a_crashed_request_is_taken_over_after_its_lock_expires(service: Service) -> None:
    ws = workspace_of(service)
    held, crashed = key(), key()
    with service.services.sessions() as db:
        for k, until in (
            (held, utcnow() + timedelta(seconds=60)),
            (crashed, utcnow() - timedelta(seconds=1)),
        ):
            db.add(
                store.IdempotencyKey(
                    workspace_id=ws,
                    key=k,
                    state="in_progress",
                    lock_token="dead" * 8,
                    locked_until=until,
                    created_at=utcnow(),
                )
            )
        db.commit()
    r = service.post("/v1/renders", json={"edit": EDIT}, headers=with_key(held))
    assert r.status_code == 409 and r.headers["retry-after"] == "1"
    r = service.post("/v1/renders", json={"edit": EDIT}, headers=with_key(crashed))
    assert r.status_code == 202 and REPLAYED not in r.headers
    done = row(service, ws, crashed)
    assert done is not None and done.state == "completed" and done.response_status == 202
    assert count(service, Render) == 1


def test_a_request_that_lost_its_lock_cannot_complete(service: Service) -> None:
    """Compare-and-set on the lock token: the slow owner's completion fails after a takeover."""
    ws = workspace_of(service)
    k = key()
    with service.services.sessions() as db:
        slow = store.claim(db, ws, k, "f" * 64, timedelta(seconds=60))
        assert slow.outcome == "claimed" and slow.token
        assert store.claim(db, ws, k, "f" * 64, timedelta(seconds=60)).outcome == "in_progress"
        assert store.claim(db, ws, k, "e" * 64, timedelta(seconds=60)).outcome == "mismatch"
        db.execute(sa.update(store.IdempotencyKey).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.commit()
        fast = store.claim(db, ws, k, "f" * 64, timedelta(seconds=60))
        assert fast.outcome == "claimed" and fast.token != slow.token
        answer = store.StoredResponse(201, {"content-type": "application/json"}, b"{}", False)
        assert store.complete(db, ws, k, slow.token, "f" * 64, answer) is False
        assert store.complete(db, ws, k, fast.token or "", "f" * 64, answer) is True
        db.commit()
        replay = store.claim(db, ws, k, "f" * 64, timedelta(seconds=60))
        assert replay.outcome == "completed" and replay.response == answer


# ------------------------------------------------------------------ what is and is not stored


def test_validation_failures_auth_failures_and_5xx_release_the_key(service: Service) -> None:
    ws = workspace_of(service)
    k = key()
    # Request validation (an unknown field), an invalid edit, a missing scope: nothing stored.
    r = service.post("/v1/renders", json={"edit": EDIT, "bogus": 1}, headers=with_key(k))
    assert r.status_code == 422 and r.json()["code"] == "validation-error"
    assert row(service, ws, k) is None
    r = service.post("/v1/renders", json={"edit": {"outputs": []}}, headers=with_key(k))
    assert r.status_code == 422 and r.json()["code"] == "edit-invalid"
    assert row(service, ws, k) is None
    r = service.post(
        "/v1/renders", json={"edit": EDIT}, headers=with_key(k), token=service.new_key("renders:read")
    )
    assert r.status_code == 403
    assert row(service, ws, k) is None
    # A server error: the renders table is briefly gone, the request fails with 500.
    with service.services.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE renders RENAME TO renders_away"))
    try:
        client = TestClient(service.client.app, raise_server_exceptions=False)
        r = client.post("/v1/renders", json={"edit": EDIT}, headers=service.headers(**with_key(k)))
        assert r.status_code == 500 and r.json()["code"] == "internal-error"
        assert row(service, ws, k) is None
    finally:
        with service.services.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE renders_away RENAME TO renders"))
    # So the same key still works, for the body the client meant.
    r = service.post("/v1/renders", json={"edit": EDIT}, headers=with_key(k))
    assert r.status_code == 202 and REPLAYED not in r.headers
    assert count(service, Render) == 1


def test_a_business_answer_is_stored_and_replayed(service: Service) -> None:
    k = key()
    first = service.post(
        "/v1/renders", json={"project_id": "prj_01jd8v4x0p5k3n2m1q9r7s6t5w"}, headers=with_key(k)
    )
    assert first.status_code == 404 and first.json()["code"] == "not-found"
    again = service.post(
        "/v1/renders", json={"project_id": "prj_01jd8v4x0p5k3n2m1q9r7s6t5w"}, headers=with_key(k)
    )
    assert again.status_code == 404 and again.headers[REPLAYED] == "true" and again.content == first.content
    assert again.headers["content-type"] == "application/problem+json"


def test_a_dry_run_creates_nothing_and_keeps_nothing(service: Service) -> None:
    ws = workspace_of(service)
    k = key()
    r = service.post("/v1/renders?dry_run=true", json={"edit": EDIT}, headers=with_key(k))
    assert r.status_code == 200 and r.json()["object"] == "render_plan"
    assert row(service, ws, k) is None and count(service, Render) == 0


# ------------------------------------------------------------------ the other creating POSTs


def test_projects_and_restores_are_idempotent(service: Service) -> None:
    k = key()
    body = {"name": "promo", "edit": EDIT}
    first = service.post("/v1/projects", json=body, headers=with_key(k))
    second = service.post("/v1/projects", json=body, headers=with_key(k))
    assert first.status_code == second.status_code == 201
    assert second.headers[REPLAYED] == "true" and second.content == first.content
    assert second.headers["location"] == first.headers["location"] and second.headers["etag"] == '"1"'
    assert count(service, Project) == 1
    pid = first.json()["id"]
    changed = {**EDIT, "outputs": [{"resolution": "720p", "quality": "draft", "fps": 25}]}
    assert (
        service.client.put(
            f"/v1/projects/{pid}", json={"edit": changed}, headers=service.headers(**{"If-Match": '"1"'})
        ).status_code
        == 200
    )
    # Restoring revision 1 with If-Match "2": the retry must not answer 412 (the project moved on
    # because of the first attempt), nor make revision 4.
    r = key()
    restore = service.post(
        f"/v1/projects/{pid}/revisions/1/restore",
        json={"message": "back"},
        headers=with_key(r, **{"If-Match": '"2"'}),
    )
    retry = service.post(
        f"/v1/projects/{pid}/revisions/1/restore",
        json={"message": "back"},
        headers=with_key(r, **{"If-Match": '"2"'}),
    )
    assert restore.status_code == retry.status_code == 200, retry.text
    assert retry.headers[REPLAYED] == "true" and retry.content == restore.content
    assert retry.headers["etag"] == restore.headers["etag"] == '"3"'
    assert count(service, ProjectRevision, project_id=pid) == 3


def test_keys_and_oauth_clients_replay_their_secret_stored_encrypted(service: Service) -> None:
    ws = workspace_of(service)
    for path, body, model, secret_field in (
        ("/v1/keys", {"name": "ci", "scopes": ["renders:read"]}, ApiKey, "token"),
        ("/v1/oauth/clients", {"name": "cms", "scopes": ["renders:read"]}, OAuthClient, "client_secret"),
    ):
        k = key()
        before = count(service, model)
        first = service.post(path, json=body, headers=with_key(k))
        second = service.post(path, json=body, headers=with_key(k))
        assert first.status_code == second.status_code == 201, first.text
        assert second.headers[REPLAYED] == "true" and second.content == first.content
        assert count(service, model) == before + 1
        secret = first.json()[secret_field]
        stored = row(service, ws, k)
        assert stored is not None and stored.response_encrypted and stored.response_body
        assert secret.encode() not in stored.response_body and b'"id"' not in stored.response_body


def multipart(
    fields: dict[str, str], filename: str, content: bytes, file_field: str = "file"
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_uploads_are_idempotent_whatever_the_multipart_boundary(service: Service, media: Any) -> None:
    video = media.video().read_bytes()
    k = key()
    sent = [multipart({"tags": "intro"}, "clip.mp4", video) for _ in range(2)]
    assert sent[0][1] != sent[1][1]  # a new boundary per attempt, as HTTP clients do
    first, second = (
        service.post("/v1/assets", content=body, headers=with_key(k, **{"Content-Type": ctype}))
        for body, ctype in sent
    )
    assert first.status_code == second.status_code == 201, first.text
    assert second.headers[REPLAYED] == "true" and second.content == first.content
    assert (
        second.headers["location"] == first.headers["location"]
        and second.headers["etag"] == first.headers["etag"]
    )
    assert count(service, Asset) == 1
    # Other content or other fields under the same key: refused, nothing stored.
    for fields, content in (({"tags": "intro"}, media.image().read_bytes()), ({"tags": "outro"}, video)):
        body, ctype = multipart(fields, "clip.mp4", content)
        r = service.post("/v1/assets", content=body, headers=with_key(k, **{"Content-Type": ctype}))
        assert r.status_code == 422 and r.json()["code"] == "idempotency-key-reused", r.text
    assert count(service, Asset) == 1
    # A deduplicated upload (the bytes are already an asset) is stored too, as its 200.
    d = key()
    body, ctype = multipart({}, "again.mp4", video)
    dedup = service.post("/v1/assets", content=body, headers=with_key(d, **{"Content-Type": ctype}))
    replay = service.post("/v1/assets", content=body, headers=with_key(d, **{"Content-Type": ctype}))
    assert dedup.status_code == replay.status_code == 200 and dedup.json()["deduplicated"] is True
    assert replay.headers[REPLAYED] == "true" and replay.content == dedup.content


def test_a_concurrent_upload_with_the_same_key_gets_409_at_once(service: Service, media: Any) -> None:
    """The first upload's body is streamed in two halves with a pause the test controls: it
    holds the key meanwhile, and a second upload with the key is answered 409 without waiting."""
    video = media.video().read_bytes()
    body, ctype = multipart({"name": "slow"}, "slow.mp4", video)
    ws = workspace_of(service)
    k = key()
    resume = threading.Event()
    first: dict[str, httpx.Response] = {}

    def halves() -> Iterator[bytes]:
        yield body[: len(body) // 2]
        resume.wait(30)
        yield body[len(body) // 2 :]

    with live_server(service) as base:
        auth = {"Authorization": f"Bearer {service.token}", **with_key(k)}
        thread = threading.Thread(
            target=lambda: first.setdefault(
                "r",
                httpx.post(
                    base + "/v1/assets", content=halves(), headers={**auth, "Content-Type": ctype}, timeout=30
                ),
            )
        )
        thread.start()
        try:
            wait_for(lambda: (r := row(service, ws, k)) is not None and r.state == "in_progress", "the claim")
            other_body, other_type = multipart({"name": "slow"}, "slow.mp4", video)
            second = httpx.post(
                base + "/v1/assets",
                content=other_body,
                headers={**auth, "Content-Type": other_type},
                timeout=10,
            )
            assert second.status_code == 409 and second.headers["retry-after"] == "1", second.text
            assert second.json()["code"] == "idempotency-request-in-progress"
        finally:
            resume.set()
            thread.join(timeout=30)
        assert first["r"].status_code == 201, first["r"].text
        third = httpx.post(
            base + "/v1/assets", content=other_body, headers={**auth, "Content-Type": other_type}, timeout=10
        )
    assert (
        third.status_code == 201 and third.headers[REPLAYED] == "true" and third.content == first["r"].content
    )
    assert count(service, Asset) == 1
    assert hashlib.sha256(video).hexdigest() == first["r"].json()["sha256"]


def test_a_failed_upload_releases_its_key(sqlite_service: Service, tmp_path: Path) -> None:
    svc = sqlite_service
    ws = workspace_of(svc)
    k = key()
    body, ctype = multipart({}, "notes.txt", b"just text, not media")
    r = svc.post("/v1/assets", content=body, headers=with_key(k, **{"Content-Type": ctype}))
    assert r.status_code == 422 and r.json()["code"] == "media-unsupported"
    assert row(svc, ws, k) is None


TEMPLATE: dict[str, Any] = {
    "name": "title card",
    "edit": {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "text", "text": "{{title}}", "style": {"size": 0.1}}, "length": 1}
                    ]
                },
                {"clips": [{"asset": {"type": "color", "color": "navy"}, "length": 1}]},
            ]
        },
        "outputs": [{"width": 160, "height": 90, "quality": "draft", "fps": 25}],
    },
    "variables": [{"name": "title", "type": "text", "required": True}],
}


def replayed_once(svc: Service, path: str, status: int, **send: Any) -> httpx.Response:
    """Send the same keyed request twice; the second is the stored first. The first answer."""
    k = key()
    headers = send.pop("headers", {})
    first = svc.post(path, headers=with_key(k, **headers), **send)
    second = svc.post(path, headers=with_key(k, **headers), **send)
    assert first.status_code == status, first.text
    assert REPLAYED not in first.headers
    assert second.status_code == status and second.headers[REPLAYED] == "true", second.text
    assert second.content == first.content
    assert second.headers.get("location") == first.headers.get("location")
    return first


def test_templates_brand_kits_batches_and_webhook_endpoints_are_idempotent(service: Service) -> None:
    from reelforge.db.batches import Batch
    from reelforge.db.brands import BrandKit
    from reelforge.db.templates import Template
    from reelforge.db.webhooks import WebhookEndpoint

    tid = replayed_once(service, "/v1/templates", 201, json=TEMPLATE).json()["id"]
    assert count(service, Template) == 1
    replayed_once(service, f"/v1/templates/{tid}/renders", 202, json={"values": {"title": "Hello"}})
    assert count(service, Render) == 1
    replace = {"edit": TEMPLATE["edit"], "variables": TEMPLATE["variables"], "name": "title card v2"}
    assert (
        service.client.put(
            f"/v1/templates/{tid}", json=replace, headers=service.headers(**{"If-Match": '"1"'})
        ).status_code
        == 200
    )
    restored = replayed_once(
        service, f"/v1/templates/{tid}/versions/1/restore", 200, json={}, headers={"If-Match": '"2"'}
    )
    assert restored.headers["etag"] == '"3"'
    replayed_once(service, "/v1/brand_kits", 201, json={"name": "house style"})
    assert count(service, BrandKit) == 1
    hook = replayed_once(
        service, "/v1/webhook_endpoints", 201, json={"url": "https://hooks.example.com/reelforge"}
    ).json()
    assert count(service, WebhookEndpoint) == 1
    ws = workspace_of(service)
    with service.services.sessions() as db:
        stored = db.scalars(
            sa.select(store.IdempotencyKey).where(store.IdempotencyKey.workspace_id == ws)
        ).all()
    secrets = [r for r in stored if r.response_encrypted]
    assert secrets and all(hook["secret"].encode() not in (r.response_body or b"") for r in stored)
    # A batch, as JSON, then as a multipart form whose boundary differs on the retry.
    replayed_once(
        service, "/v1/batches", 202, json={"template_id": tid, "rows": [{"title": "a"}, {"title": "b"}]}
    )
    assert count(service, Batch) == 1 and count(service, Render) == 3
    k = key()
    answers = []
    for _ in range(2):
        body, ctype = multipart(
            {"batch": json.dumps({"template_id": tid})}, "rows.csv", b"title\nc\nd\n", "rows_csv"
        )
        answers.append(
            service.post("/v1/batches", content=body, headers=with_key(k, **{"Content-Type": ctype}))
        )
    assert answers[0].status_code == answers[1].status_code == 202, answers[0].text
    assert answers[1].headers[REPLAYED] == "true" and answers[1].content == answers[0].content
    assert count(service, Batch) == 2 and count(service, Render) == 5


def test_rolling_a_key_is_idempotent(service: Service) -> None:
    created = service.post("/v1/keys", json={"name": "ci", "scopes": ["renders:read"]}).json()
    first = replayed_once(service, f"/v1/keys/{created['id']}/roll", 201, json={"grace_seconds": 60})
    assert first.json()["replaces"]["id"] == created["id"]
    assert count(service, ApiKey, name="ci") == 2
