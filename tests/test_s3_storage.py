"""Assets, previews and outputs in an S3 bucket (``REELFORGE_STORAGE_BACKEND=s3``).

A real S3 API on loopback (moto's server, real HTTP), real FFmpeg, real databases. The cache
of local copies is tested across real processes (fork), as worker processes share it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from reelforge.db.models import Asset
from reelforge.media.cache import SourceCache, entry_name
from reelforge.media.s3 import S3Target
from reelforge.media.s3storage import S3Storage
from service import require_database, running_service, s3_storage_settings, wait_render, with_previews
from test_api_assets import test_download_with_ranges as download_with_ranges
from test_api_renders import test_inline_edit_renders_to_assets as inline_edit_renders_to_assets

MiB = 1024**2


def bucket_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )


def objects(endpoint: str, bucket: str) -> dict[str, int]:
    listed = bucket_client(endpoint).list_objects_v2(Bucket=bucket)
    return {o["Key"]: o["Size"] for o in listed.get("Contents", [])}


def s3_storage(endpoint: str, tmp_path: Path, **kw: Any) -> S3Storage:
    settings = s3_storage_settings(endpoint)
    target = S3Target(
        bucket=settings["s3_bucket"],
        endpoint_url=endpoint,
        access_key_id="test",
        secret_access_key="test",
        path_style=True,
    )
    return S3Storage(
        target, prefix="p/q", local_root=tmp_path / "cache", **{"cache_max_bytes": 100 * MiB, **kw}
    )


# ------------------------------------------------------------------ the bounded cache


def test_cache_keeps_at_most_its_bytes_dropping_the_least_recently_used(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path, max_bytes=3000, min_age=0)

    def put(name: str, size: int) -> Path:
        return cache.fetch(name, lambda target: target.write_bytes(os.urandom(size)))

    a, b = put("a", 1000), put("b", 1000)
    old = time.time() - 100
    os.utime(a, (old, old))
    os.utime(b, (old + 1, old + 1))
    # Using "a" makes it the most recent: "b" goes first when the cache overflows.
    assert cache.fetch("a", lambda target: pytest.fail("a is cached, nothing to download")) == a
    put("c", 1500)
    assert a.exists() and not b.exists() and cache.size() == 2500
    # An entry in use (pinned) stays even when it is the oldest; the next oldest goes.
    os.utime(a, (old, old))
    with cache.pinned("a"):
        put("d", 1000)
    assert a.exists() and not cache.path("c").exists() and cache.size() == 2000
    assert os.listdir(cache.incoming) == []


def test_cache_keeps_entries_used_within_its_minimum_age(tmp_path: Path) -> None:
    """A caller between fetch and open must not lose its file: recent entries stay, over the
    bound for a while."""
    cache = SourceCache(tmp_path, max_bytes=1000, min_age=3600)
    cache.fetch("a", lambda target: target.write_bytes(b"x" * 800))
    cache.fetch("b", lambda target: target.write_bytes(b"y" * 800))
    assert cache.path("a").exists() and cache.path("b").exists()


def _fetch_in_child(root: str, log: str, barrier: Any) -> None:
    cache = SourceCache(Path(root), max_bytes=10 * MiB)

    def download(target: Path) -> None:
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        # Written in pieces, slowly: a reader that saw the file before the rename would see
        # it short.
        with target.open("wb") as out:
            for _ in range(20):
                out.write(b"z" * 50_000)
                time.sleep(0.01)

    barrier.wait()
    path = cache.fetch("shared", download)
    assert path.stat().st_size == 1_000_000


def test_processes_sharing_the_cache_download_each_entry_once_and_see_it_whole(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(4)
    log = tmp_path / "downloads.log"
    children = [
        ctx.Process(target=_fetch_in_child, args=(str(tmp_path / "c"), str(log), barrier)) for _ in range(4)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
        assert child.exitcode == 0
    assert len(log.read_text().split()) == 1
    assert (tmp_path / "c" / "objects" / "shared").stat().st_size == 1_000_000
    assert os.listdir(tmp_path / "c" / "incoming") == []


# ------------------------------------------------------------------ the storage on S3


def test_s3_storage_uploads_in_parts_and_keeps_the_file_as_its_local_copy(
    s3_server: str, tmp_path: Path
) -> None:
    storage = s3_storage(s3_server, tmp_path, multipart_threshold=5 * MiB, multipart_chunk=5 * MiB)
    data = os.urandom(12 * MiB)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    storage.put("ws_a/ast_b/original.bin", source)
    assert not source.exists()  # moved into the cache, as LocalStorage moves it into place
    head = storage.head("ws_a/ast_b/original.bin")
    assert head is not None and head["ContentLength"] == len(data)
    assert str(head["ETag"]).strip('"').endswith("-3")  # three parts
    assert objects(s3_server, storage.bucket) == {"p/q/ws_a/ast_b/original.bin": len(data)}

    local = storage.local_path("ws_a/ast_b/original.bin")
    assert local.read_bytes() == data and local.parent == storage.cache.objects
    # Another process's cache (another machine's) downloads it.
    other = S3Storage(storage.target, prefix="p/q", local_root=tmp_path / "other", cache_max_bytes=100 * MiB)
    copy = other.local_path("ws_a/ast_b/original.bin")
    assert copy.read_bytes() == data and copy != local
    assert other.size("ws_a/ast_b/original.bin") == len(data)

    with other.open("ws_a/ast_b/original.bin") as fh:
        assert fh.seek(0, os.SEEK_END) == len(data)
        fh.seek(5 * MiB - 3)
        assert fh.read(10) == data[5 * MiB - 3 : 5 * MiB + 7]
        fh.seek(100)
        assert fh.read(5) == data[100:105]

    storage.delete("ws_a/ast_b/original.bin")
    assert objects(s3_server, storage.bucket) == {}
    assert not storage.local_path("ws_a/ast_b/original.bin").exists()
    with pytest.raises(FileNotFoundError):
        storage.open("ws_a/ast_b/original.bin")
    with pytest.raises(ValueError):
        storage.local_path("../etc/passwd")


def test_a_replaced_object_is_never_read_from_a_stale_local_copy(s3_server: str, tmp_path: Path) -> None:
    storage = s3_storage(s3_server, tmp_path)
    reader = S3Storage(
        storage.target, prefix="p/q", local_root=tmp_path / "reader", cache_max_bytes=100 * MiB
    )
    for content in (b"first", b"second"):
        source = tmp_path / "f.txt"
        source.write_bytes(content)
        storage.put("ws_a/ast_b/f.txt", source)
        assert reader.local_path("ws_a/ast_b/f.txt").read_bytes() == content
    assert entry_name("k", "1") != entry_name("k", "2")


# ------------------------------------------------------------------ the service on S3


def test_asset_download_with_ranges_streamed_from_s3(s3_server: str, tmp_path: Path, media: Any) -> None:
    """The local storage's download test, unchanged, against a service on S3 that streams."""
    with running_service(tmp_path, "sqlite", **s3_storage_settings(s3_server, download="stream")) as svc:
        download_with_ranges(svc, media)
        stored = objects(s3_server, svc.services.settings.s3_bucket)
        original = [k for k in stored if k.endswith("/original.mp4")]
        assert len(original) == 1 and original[0].startswith("install/one/ws_")
        assert stored[original[0]] == media.video().stat().st_size
        # The thumbnail went to the bucket too, and the API reads it from there.
        assert any(k.endswith(".png") for k in stored)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_asset_download_redirects_to_a_presigned_url(
    kind: str, s3_server: str, tmp_path: Path, media: Any
) -> None:
    require_database(kind)
    with running_service(tmp_path, kind, **s3_storage_settings(s3_server, download="redirect")) as svc:
        video = media.video()
        data = video.read_bytes()
        r = svc.post("/v1/assets", files={"file": ("clip.mp4", data, "video/mp4")})
        assert r.status_code == 201, r.text
        asset = with_previews(svc, r.json())
        answer = svc.get(asset["content_url"], follow_redirects=False)
        assert answer.status_code == 307 and answer.headers["etag"] == f'"{asset["sha256"]}"'
        location = answer.headers["location"]
        assert location.startswith(s3_server + "/") and "X-Amz-Signature=" in location
        # The store answers the presigned URL, Range included, without our credentials.
        with httpx.Client() as plain:
            whole = plain.get(location)
            assert whole.status_code == 200 and whole.content == data
            assert whole.headers["content-type"] == "video/mp4"
            assert "filename*=UTF-8''clip.mp4" in whole.headers["content-disposition"]
            part = plain.get(location, headers={"Range": "bytes=10-19"})
            assert part.status_code == 206 and part.content == data[10:20]
        # An unchanged copy is still answered here.
        same = svc.get(asset["content_url"], headers={"If-None-Match": answer.headers["etag"]})
        assert same.status_code == 304
        # Deleted: 404 from the API, not a URL to nothing.
        assert svc.client.delete(f"/v1/assets/{asset['id']}", headers=svc.headers()).status_code == 204
        assert svc.get(asset["content_url"], follow_redirects=False).status_code == 404
        assert objects(s3_server, svc.services.settings.s3_bucket) == {}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_render_from_and_to_s3(kind: str, s3_server: str, tmp_path: Path, media: Any) -> None:
    """The local storage's end-to-end render test, unchanged, on S3: the worker reads its
    source from the cache and uploads its outputs to the bucket."""
    require_database(kind)
    settings = s3_storage_settings(s3_server, download="stream", workers=1)
    with running_service(tmp_path, kind, **settings) as svc:
        inline_edit_renders_to_assets(svc, Path(media.video()))
        stored = objects(s3_server, settings["s3_bucket"])
        with svc.services.sessions() as db:
            outputs = db.query(Asset).filter(Asset.source == "render").all()
            assert outputs
            for asset in outputs:
                key = f"install/one/{asset.storage_key}"
                assert stored[key] == asset.size_bytes
                body = (
                    bucket_client(s3_server).get_object(Bucket=settings["s3_bucket"], Key=key)["Body"].read()
                )
                assert hashlib.sha256(body).hexdigest() == asset.sha256


def test_render_fails_cleanly_when_its_source_object_is_gone(
    s3_server: str, tmp_path: Path, media: Any
) -> None:
    settings = s3_storage_settings(s3_server, download="stream", workers=1)
    with running_service(tmp_path, "sqlite", **settings) as svc:
        r = svc.post("/v1/assets", files={"file": ("clip.mp4", media.video().read_bytes(), "video/mp4")})
        asset = r.json()
        with svc.services.sessions() as db:
            row = db.get(Asset, asset["id"])
            assert row is not None
            key = row.storage_key
        bucket_client(s3_server).delete_object(Bucket=settings["s3_bucket"], Key=f"install/one/{key}")
        edit = {
            "timeline": {
                "tracks": [{"clips": [{"asset": {"type": "video", "src": asset["id"]}, "length": 1}]}]
            },
            "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
        }
        created = svc.post("/v1/renders", json={"edit": edit})
        assert created.status_code == 202, created.text
        done = wait_render(svc, created.json()["id"])
        # Not the local copy the upload left in the cache: the bucket says the object is gone.
        assert done["state"] == "failed" and done["error"]["code"] == "asset_missing"
        assert done["error"]["pointer"] == "/timeline/tracks/0/clips/0/asset/src"


def test_a_store_that_does_not_answer_is_a_503_problem_not_a_500(tmp_path: Path, media: Any) -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    settings = s3_storage_settings(endpoint, download="stream")
    try:
        with running_service(tmp_path, "sqlite", **settings) as svc:
            r = svc.post("/v1/assets", files={"file": ("clip.mp4", media.video().read_bytes(), "video/mp4")})
            asset = with_previews(svc, r.json())
            assert svc.get(asset["content_url"]).status_code == 200
            server.stop()
            r = svc.get(asset["content_url"])
            assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "temporary-reduced-capacity"
            assert svc.get(asset["thumbnail_url"]).status_code == 503
    finally:
        server.stop()
