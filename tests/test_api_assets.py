"""Assets through HTTP: streaming upload, sniffing and probing, dedup, previews, list filters,
edits, Range downloads, workspace isolation, delete while a render needs the asset; plus the
service's source resolver."""

from __future__ import annotations

import hashlib
import threading
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

import mediagen
from reelforge.api.app import create_app
from reelforge.db.models import Asset, Render, RenderAsset, new_id
from reelforge.media.ingest import complete_previews, ingest_file
from reelforge.media.previews import PreviewRunner
from reelforge.media.resolver import AssetResolver, asset_ids_in
from reelforge.render.sources import SourceError
from service import Service, live_app, running_service, with_previews

PNG = b"\x89PNG\r\n\x1a\n"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SRT = "1\n00:00:00,000 --> 00:00:01,500\nHello\n\n2\n00:00:02,000 --> 00:00:03,250\nWorld\n"


def upload(
    service: Service,
    path: Path,
    *,
    filename: str | None = None,
    content_type: str = "application/octet-stream",
    token: str | None = None,
    **fields: str,
) -> Any:
    with path.open("rb") as fh:
        return service.post(
            "/v1/assets", token=token, files={"file": (filename or path.name, fh, content_type)}, data=fields
        )


def created(service: Service, path: Path, **kw: Any) -> dict[str, Any]:
    r = upload(service, path, **kw)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def cube(path: Path, size: int = 2) -> Path:
    rows = [
        f"{r / (size - 1):.4f} {g / (size - 1):.4f} {b / (size - 1):.4f}"
        for b in range(size)
        for g in range(size)
        for r in range(size)
    ]
    body = "\n".join(rows)
    path.write_text(f'TITLE "identity"\nLUT_3D_SIZE {size}\n{body}\n')
    return path


# ------------------------------------------------------------------------------ upload and probe


def test_video_upload_is_probed_and_gets_a_thumbnail(service: Service, media: Any) -> None:
    video = media.video()
    # The client's name and type are wrong on purpose: what counts is the content.
    r = upload(
        service,
        video,
        filename="clip.txt",
        content_type="text/plain",
        tags="intro, brand",
        metadata='{"campaign": "spring"}',
    )
    assert r.status_code == 201, r.text
    asset, etag = r.json(), r.headers["etag"]
    assert r.headers["location"].endswith(f"/v1/assets/{asset['id']}")
    assert asset["id"].startswith("ast_") and asset["object"] == "asset" and asset["deduplicated"] is False
    assert asset["kind"] == "video" and asset["content_type"] == "video/mp4"
    assert asset["name"] == "clip.txt" and asset["source"] == "upload" and asset["derived_from"] == {}
    assert asset["size_bytes"] == video.stat().st_size
    assert asset["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    assert asset["tags"] == ["brand", "intro"] and asset["metadata"] == {"campaign": "spring"}
    m = asset["media"]
    assert m["duration"] == pytest.approx(1.0, abs=0.05)
    assert (m["width"], m["height"], m["fps"], m["rotation"]) == (320, 180, 25.0, 0)
    assert (m["video_codec"], m["audio_codec"], m["audio_channels"], m["sample_rate"]) == (
        "h264",
        "aac",
        2,
        48000,
    )
    # The upload answers before the previews are made; the asset says so, and later has them.
    assert asset["previews"] == "pending" and asset["thumbnail_url"] is None and asset["waveform_url"] is None
    done = with_previews(service, asset)
    assert done["previews"] == "ready" and done["thumbnail_url"] == f"/v1/assets/{asset['id']}/thumbnail"
    assert done["waveform_url"] is None
    thumb = service.get(done["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert thumb.content.startswith(PNG)
    r = service.get(f"/v1/assets/{asset['id']}/waveform")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    got = service.get(f"/v1/assets/{asset['id']}")
    assert got.status_code == 200 and got.headers["etag"] != etag  # the previews changed the representation
    changed = ("created_at", "deduplicated", "previews", "thumbnail_url")
    assert {k: v for k, v in got.json().items() if k not in changed} == {
        k: v for k, v in asset.items() if k not in changed
    }
    assert (
        service.get(f"/v1/assets/{asset['id']}", headers={"If-None-Match": got.headers["etag"]}).status_code
        == 304
    )
    # The same bytes again answer the asset as it is now, with the ETag GET gives it.
    again = upload(service, video)
    assert again.status_code == 200 and again.headers["etag"] == got.headers["etag"]
    assert {k: v for k, v in again.json().items() if k != "deduplicated"} == got.json()


def test_rotated_video_reports_display_size(service: Service, media: Any) -> None:
    asset = created(service, media.rotated_video(rotation=90))
    m = asset["media"]
    assert (m["width"], m["height"], m["rotation"], m["coded_width"]) == (180, 320, 90, 320)


def test_audio_image_subtitles_font_and_lut(service: Service, media: Any, tmp_path: Path) -> None:
    wav = created(service, media.audio())
    assert (wav["kind"], wav["content_type"]) == ("audio", "audio/wav")
    assert (wav["media"]["audio_channels"], wav["media"]["sample_rate"], wav["media"]["audio_codec"]) == (
        2,
        48000,
        "pcm_s16le",
    )
    wav = with_previews(service, wav)
    assert wav["previews"] == "ready" and wav["thumbnail_url"] is None and wav["waveform_url"]
    wave = service.get(wav["waveform_url"])
    assert wave.status_code == 200 and wave.content.startswith(PNG)

    png = created(service, media.image(), filename="logo.png")
    assert (png["kind"], png["content_type"], png["media"]["width"], png["media"]["height"]) == (
        "image",
        "image/png",
        320,
        180,
    )
    assert png["media"]["duration"] is None
    assert service.get(with_previews(service, png)["thumbnail_url"]).content.startswith(PNG)

    srt = tmp_path / "subs.srt"
    srt.write_text(SRT)
    r = upload(service, srt)
    subs = r.json()
    assert (subs["kind"], subs["content_type"]) == ("subtitles", "application/x-subrip")
    assert subs["media"] == {"format": "srt", "cue_count": 2, "duration": 3.25}
    assert subs["previews"] == "none" and subs["thumbnail_url"] is None and subs["waveform_url"] is None
    got = service.get(f"/v1/assets/{subs['id']}")  # nothing pending: the upload's ETag is GET's
    assert got.headers["etag"] == r.headers["etag"]
    assert got.json() == {k: v for k, v in subs.items() if k != "deduplicated"}

    font = created(service, FONT)
    assert (font["kind"], font["content_type"]) == ("font", "font/ttf")
    assert font["media"]["family"] == "DejaVu Sans"
    assert service.get(with_previews(service, font)["thumbnail_url"]).content.startswith(PNG)

    lut = created(service, cube(tmp_path / "grade.cube"))
    assert (lut["kind"], lut["media"]) == ("lut", {"format": "cube", "size": 2})
    kinds = {a["kind"] for a in service.get("/v1/assets?limit=100").json()["data"]}
    assert kinds == {"audio", "image", "subtitles", "font", "lut"}


def test_identical_upload_returns_the_existing_asset(service: Service, media: Any) -> None:
    first = created(service, media.audio(), tags="one")
    r = upload(service, media.audio(), filename="again.wav", tags="two")
    assert r.status_code == 200 and "location" not in r.headers
    again = r.json()
    assert again["deduplicated"] is True and again["id"] == first["id"]
    assert again["name"] == first["name"] and again["tags"] == ["one"]
    assert len(service.get("/v1/assets").json()["data"]) == 1
    # Another workspace uploading the same bytes gets its own asset.
    other = service.other_workspace_key()
    theirs = upload(service, media.audio(), token=other)
    assert theirs.status_code == 201 and theirs.json()["id"] != first["id"]


def test_what_is_not_media_is_refused_with_a_reason(service: Service, tmp_path: Path, media: Any) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\nnothing to see\n")
    r = upload(service, text)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "media-unsupported" and "neither subtitles" in body["detail"]
    assert body["errors"][0]["pointer"] == "#/file"
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(bytes(range(256)) * 64)
    r = upload(service, fake)
    assert r.status_code == 422 and r.json()["code"] == "media-unsupported"
    broken = tmp_path / "broken.srt"
    broken.write_text("1\n00:00:01,000 --> 00:00:00,500\n\n")
    r = upload(service, broken)
    assert r.status_code == 422 and "subtitles" in r.json()["detail"]
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(media.video().read_bytes()[:5000])
    r = upload(service, truncated)
    assert r.status_code == 422 and r.json()["code"] == "media-unsupported"
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert upload(service, empty).json()["code"] == "media-unsupported"
    playlist = tmp_path / "list.m3u8"
    playlist.write_text("#EXTM3U\n#EXTINF:1,\nhttp://example.com/a.ts\n")
    assert upload(service, playlist).status_code == 422
    assert service.get("/v1/assets").json()["data"] == []
    assert list(service.services.storage.temp_dir().iterdir()) == []


def test_subtitles_whose_text_looks_like_an_internal_mark_upload(service: Service, tmp_path: Path) -> None:
    forged = tmp_path / "forged.vtt"
    forged.write_text("WEBVTT\n\n00:00.000 --> 00:01.000 line:0\nTop\n\n00:01.000 --> 00:02.000\n{\\vtt7}x\n")
    r = upload(service, forged)
    assert r.status_code == 201, r.text
    assert r.json()["media"]["cue_count"] == 2


def test_bad_requests_are_located_problems(service: Service, media: Any) -> None:
    r = service.post("/v1/assets", json={"file": "x"})
    assert r.status_code == 415 and r.json()["code"] == "unsupported-media-type"
    assert r.json()["errors"][0]["header"] == "Content-Type"
    r = service.post("/v1/assets", data={"name": "no file"}, files={"other": ("a", b"a")})
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json()["errors"]} == {"#/file", "#/other"}
    r = upload(service, media.image(), metadata="{not json")
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/metadata"
    r = upload(service, media.image(), metadata="[1, 2]")
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/metadata"
    r = upload(service, media.image(), tags='["ok", ""]')
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/tags/1"
    r = service.post(
        "/v1/assets",
        content=b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid-request"
    reader = service.new_key("assets:read")
    r = upload(service, media.image(), token=reader)
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"
    assert service.get("/v1/assets").json()["data"] == []


def test_upload_over_the_limit_is_refused_early(tmp_path: Path, media: Any) -> None:
    video = media.video(duration=2)
    limit = video.stat().st_size // 2
    with running_service(tmp_path, max_upload_bytes=limit) as service:
        # Content-Length within the allowance for form overhead: stopped while streaming.
        r = upload(service, video)
        assert r.status_code == 413 and r.json()["code"] == "content-too-large"
        assert r.json()["errors"][0]["pointer"] == "#/file"
        # Content-Length far beyond the limit: refused before reading the body.
        big = tmp_path / "big.bin"
        big.write_bytes(b"\0" * (limit + 2 * 1024 * 1024))
        r = upload(service, big)
        assert r.status_code == 413
        assert list(service.services.storage.temp_dir().iterdir()) == []
        with service.services.sessions() as db:
            assert db.scalar(select(Asset.id)) is None
        assert upload(service, media.image()).status_code == 201


# ------------------------------------------------------------------------------ download


def test_download_with_ranges(service: Service, media: Any) -> None:
    video = media.video()
    data = video.read_bytes()
    size = len(data)
    asset = created(service, video, filename="Vidéo d'été.mp4")
    url = asset["content_url"]
    full = service.get(url)
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "video/mp4" and full.headers["accept-ranges"] == "bytes"
    assert full.headers["etag"] == f'"{asset["sha256"]}"'
    assert full.headers["content-length"] == str(size)
    disposition = full.headers["content-disposition"]
    assert (
        disposition.startswith("attachment;")
        and f"filename*=UTF-8''{quote(asset['name'], safe='')}" in disposition
    )

    cases = {
        "bytes=0-99": (0, 99),
        "bytes=-100": (size - 100, size - 1),
        "bytes=100-": (100, size - 1),
        f"bytes=10-{size + 50}": (10, size - 1),
        f"bytes=-{size * 2}": (0, size - 1),
    }
    for header, (first, last) in cases.items():
        r = service.get(url, headers={"Range": header})
        assert r.status_code == 206, header
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}", header
        assert r.content == data[first : last + 1], header
        assert r.headers["content-length"] == str(last - first + 1)
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        r = service.get(url, headers={"Range": header})
        assert r.status_code == 416, header
        assert r.headers["content-range"] == f"bytes */{size}"
        assert r.json()["code"] == "range-not-satisfiable"
    # Several ranges, or a range that is not bytes: the whole file.
    for header in ("bytes=0-9,20-29", "items=0-9", "bytes=9-3"):
        r = service.get(url, headers={"Range": header})
        assert r.status_code == 200 and r.content == data, header
    # If-Range with another validator: the whole file, not a piece of something else.
    r = service.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200 and len(r.content) == size
    r = service.get(url, headers={"Range": "bytes=0-9", "If-Range": full.headers["etag"]})
    assert r.status_code == 206 and r.content == data[:10]
    assert service.get(url, headers={"If-None-Match": full.headers["etag"]}).status_code == 304
    head = service.client.head(url, headers=service.headers())
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(size)


# ------------------------------------------------------------------------------ list, edit


def test_list_filters_and_pagination(service: Service, media: Any, tmp_path: Path) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    video = created(service, media.video(), filename="Intro Clip.mp4", tags="brand,intro")
    image = created(service, media.image(), filename="logo.png", tags='["brand"]')
    audio = created(service, media.audio(), filename="music.wav", tags="music")
    srt = tmp_path / "intro-captions.srt"
    srt.write_text(SRT)
    subs = created(service, srt)

    def ids(query: str) -> list[str]:
        r = service.get(f"/v1/assets?{query}")
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["data"]]

    assert ids("") == [subs["id"], audio["id"], image["id"], video["id"]]
    assert ids("kind=video") == [video["id"]]
    assert ids("tag=brand") == [image["id"], video["id"]]
    assert ids("tag=brand&tag=intro") == [video["id"]]
    assert ids("name=INTRO") == [subs["id"], video["id"]]
    assert ids("name=%25") == []  # a literal percent sign, not a wildcard
    assert ids("source=upload&kind=audio") == [audio["id"]]
    assert ids("source=render") == []
    after = quote(before.isoformat())
    assert len(ids(f"created_after={after}")) == 4
    assert ids(f"created_before={after}") == []
    assert service.get("/v1/assets?kind=spreadsheet").json()["errors"][0]["parameter"] == "kind"
    r = service.get("/v1/assets?created_after=2026-01-01T00:00:00")
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "created_after"

    seen: list[str] = []
    url = "/v1/assets?limit=3"
    while url:
        r = service.get(url)
        body = r.json()
        seen += [a["id"] for a in body["data"]]
        url = f"/v1/assets?limit=3&cursor={body['next_cursor']}" if body["has_more"] else ""
        if body["has_more"]:
            assert r.headers["link"].endswith('rel="next"')
    assert seen == ids("limit=100")
    two = service.get("/v1/assets?limit=1&tag=brand").json()
    assert two["has_more"]
    r = service.get(f"/v1/assets?limit=1&tag=intro&cursor={two['next_cursor']}")
    assert r.status_code == 400 and r.json()["code"] == "invalid-cursor"
    assert ids(f"limit=1&tag=brand&cursor={two['next_cursor']}") == [video["id"]]


def test_patch_name_tags_and_metadata(service: Service, media: Any) -> None:
    asset = created(service, media.image(), filename="../../etc/logo.png", tags="a,b", metadata='{"x": 1}')
    assert asset["name"] == "logo.png"
    with_previews(service, asset)  # the thumbnail landing changes the ETag once
    named = created(service, media.audio(), name="Theme tune")
    assert named["name"] == "Theme tune"
    assert "Theme%20tune.wav" in service.get(named["content_url"]).headers["content-disposition"]
    url = f"/v1/assets/{asset['id']}"
    r = service.client.patch(
        url, headers=service.headers(), json={"tags": ["c", "b", "c"], "metadata": {"y": [1, 2]}}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tags"] == ["b", "c"] and body["metadata"] == {"y": [1, 2]} and body["name"] == asset["name"]
    etag = r.headers["etag"]
    r = service.client.patch(
        url, headers=service.headers(**{"If-Match": etag}), json={"name": "Logo final.png"}
    )
    assert r.status_code == 200 and r.json()["name"] == "Logo final.png" and r.json()["tags"] == ["b", "c"]
    r = service.client.patch(url, headers=service.headers(**{"If-Match": etag}), json={"name": "stale"})
    assert r.status_code == 412 and r.json()["code"] == "precondition-failed"
    r = service.client.patch(url, headers=service.headers(), json={"nmae": "typo", "tags": [""]})
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json()["errors"]} == {"#/nmae", "#/tags/0"}
    r = service.client.patch(url, headers=service.headers(), json={"name": None})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/name"
    r = service.client.patch(url, headers=service.headers(), json={"metadata": {"big": "x" * 20000}})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/metadata"
    assert service.get(url).json()["name"] == "Logo final.png"
    assert [a["id"] for a in service.get("/v1/assets?tag=c").json()["data"]] == [asset["id"]]
    assert service.get("/v1/assets?tag=a").json()["data"] == []


# ------------------------------------------------------------------------------ isolation, delete


def test_another_workspace_sees_nothing(service: Service, media: Any) -> None:
    asset = created(service, media.audio())
    other = service.other_workspace_key()
    base = f"/v1/assets/{asset['id']}"
    for url in (base, f"{base}/content", f"{base}/thumbnail", f"{base}/waveform"):
        r = service.get(url, token=other)
        assert r.status_code == 404, url
        assert asset["sha256"] not in r.text
    assert (
        service.client.patch(base, headers=service.headers(other), json={"name": "mine"}).status_code == 404
    )
    assert service.client.delete(base, headers=service.headers(other)).status_code == 404
    assert service.get("/v1/assets", token=other).json()["data"] == []
    assert service.get(base).json()["name"] == asset["name"]
    # Someone else's id reads exactly like an id that does not exist.
    missing = new_id("ast")
    assert service.get(f"/v1/assets/{missing}", token=other).json()["detail"].replace(
        missing, "ID"
    ) == service.get(base, token=other).json()["detail"].replace(asset["id"], "ID")


def _render(service: Service, asset_id: str, state: str) -> str:
    with service.services.sessions() as db:
        workspace = db.scalar(select(Asset.workspace_id).where(Asset.id == asset_id))
        render = Render(id=new_id("rnd"), workspace_id=workspace, edit={"timeline": {}}, state=state)
        db.add(render)
        db.flush()
        db.add(RenderAsset(render_id=render.id, asset_id=asset_id))
        db.commit()
        return render.id


def test_delete_is_refused_while_a_render_needs_the_asset(service: Service, media: Any) -> None:
    asset = with_previews(service, created(service, media.video(), tags="x"))
    url = f"/v1/assets/{asset['id']}"
    with service.services.sessions() as db:
        row = db.get(Asset, asset["id"])
        assert row is not None
        keys = [row.storage_key, row.thumbnail_key]
    storage = service.services.storage
    assert all(k and storage.local_path(k).is_file() for k in keys)
    _render(service, asset["id"], "succeeded")  # finished renders do not hold the asset
    render_id = _render(service, asset["id"], "queued")
    r = service.client.delete(url, headers=service.headers())
    assert r.status_code == 409 and r.json()["code"] == "conflict" and r.json()["renders"] == [render_id]
    assert render_id in r.json()["detail"]
    assert service.get(url).status_code == 200
    assert service.get(asset["content_url"]).content == media.video().read_bytes()
    with service.services.sessions() as db:
        render = db.get(Render, render_id)
        assert render is not None
        render.state = "cancelled"
        db.commit()
    r = service.client.delete(url, headers=service.headers())
    assert r.status_code == 204 and r.content == b""
    assert service.get(url).status_code == 404
    assert service.get(asset["content_url"]).status_code == 404
    assert not any(storage.local_path(k).exists() for k in keys if k)
    assert service.client.delete(url, headers=service.headers()).status_code == 404
    # The same bytes can come back as a new asset.
    assert created(service, media.video())["id"] != asset["id"]


# ------------------------------------------------------------------------------ resolver, ingest


def test_asset_resolver_maps_ids_of_its_workspace_only(service: Service, media: Any) -> None:
    mine = created(service, media.audio())
    theirs = upload(service, media.image(), token=service.other_workspace_key()).json()
    with service.services.sessions() as db:
        workspace = db.scalar(select(Asset.workspace_id).where(Asset.id == mine["id"]))
    assert workspace is not None
    resolver = AssetResolver(service.services.sessions, service.services.storage, workspace)
    path = resolver.resolve(mine["id"])
    assert path.is_file() and path.read_bytes() == media.audio().read_bytes() and path.suffix == ".wav"
    reasons = []
    for src in (theirs["id"], new_id("ast")):
        with pytest.raises(SourceError) as caught:
            resolver.resolve(src)
        reasons.append(caught.value.reason)
    assert reasons[0] == reasons[1] == "no such asset in this workspace"
    for src in (str(path), "music.wav", "http://example.com/a.mp4", "../" + mine["id"]):
        with pytest.raises(SourceError, match="asset id"):
            resolver.resolve(src)


def test_asset_ids_in_an_edit() -> None:
    ids = [new_id("ast") for _ in range(7)]
    edit = {
        "timeline": {
            "soundtrack": {"src": ids[0]},
            "fonts": [ids[1]],
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": ids[2]}, "effects": {"lut": ids[3]}},
                        {"asset": {"type": "caption", "src": ids[4]}},
                        {"asset": {"type": "text", "text": f"see {ids[6]}"}},
                    ]
                }
            ],
        },
        "outputs": [{"format": "mp4", "watermark": {"src": ids[5]}}],
    }
    assert asset_ids_in(edit) == set(ids[:6])


def test_concurrent_identical_ingests_make_one_asset(service: Service, media: Any, tmp_path: Path) -> None:
    workspace = service.get("/v1/workspace").json()["id"]
    copies = []
    for i in range(2):
        copy = tmp_path / f"copy{i}.mp4"
        copy.write_bytes(media.video().read_bytes())
        copies.append(copy)
    barrier = threading.Barrier(2)
    results: list[tuple[str, bool]] = []

    def run(path: Path) -> None:
        with service.services.sessions() as db:
            barrier.wait()
            asset, new = ingest_file(
                db,
                service.services.storage,
                workspace_id=workspace,
                path=path,
                name=path.name,
                settings=service.services.settings,
            )
            results.append((asset.id, new))

    threads = [threading.Thread(target=run, args=(c,)) for c in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0][0] == results[1][0]
    assert sorted(new for _, new in results) == [False, True]
    assert len(service.get("/v1/assets").json()["data"]) == 1
    stored = [p for p in service.services.storage.root.rglob("original*")]
    assert len(stored) == 1


# ------------------------------------------------------------------------------ previews after the answer


def _pending(service: Service, path: Path, name: str) -> str:
    """An asset ingested the way uploads are, its previews left pending (as a stopped process leaves them)."""
    workspace = service.get("/v1/workspace").json()["id"]
    with service.services.sessions() as db:
        asset, new = ingest_file(
            db,
            service.services.storage,
            workspace_id=workspace,
            path=path,
            name=name,
            settings=service.services.settings,
            defer_previews=True,
            move=False,
        )
    assert new and asset.previews == "pending"
    return asset.id


def test_previews_left_pending_are_made_by_the_next_runner(service: Service, media: Any) -> None:
    asset_id = _pending(service, media.audio(), "theme.wav")
    body = service.get(f"/v1/assets/{asset_id}").json()
    assert body["previews"] == "pending" and body["waveform_url"] is None
    runner = PreviewRunner(service.services.sessions, service.services.storage, workers=1)
    try:
        assert runner.recover() == 1  # what a restarted service does first
        assert runner.wait(60)
    finally:
        runner.shutdown()
    body = service.get(f"/v1/assets/{asset_id}").json()
    assert body["previews"] == "ready" and body["waveform_url"] == f"/v1/assets/{asset_id}/waveform"
    assert service.get(body["waveform_url"]).content.startswith(PNG)
    events = service.get("/v1/events", params={"type": "asset.updated", "resource_id": asset_id}).json()[
        "data"
    ]
    assert [e["data"] for e in events] == [body]
    assert (
        complete_previews(service.services.sessions, service.services.storage, asset_id) is None
    )  # done once


def test_a_preview_that_cannot_be_made_is_recorded_as_failed(service: Service, media: Any) -> None:
    asset_id = _pending(service, media.video(), "clip.mp4")
    with service.services.sessions() as db:
        row = db.get(Asset, asset_id)
        assert row is not None
        stored = service.services.storage.local_path(row.storage_key)
    stored.write_bytes(b"\x00" * 4096)  # FFmpeg finds no frame in it
    assert complete_previews(service.services.sessions, service.services.storage, asset_id) == "failed"
    body = service.get(f"/v1/assets/{asset_id}").json()
    assert body["previews"] == "failed" and body["thumbnail_url"] is None
    assert service.get(f"/v1/assets/{asset_id}/thumbnail").status_code == 404


def test_an_asset_deleted_while_its_previews_are_pending_leaves_nothing(service: Service, media: Any) -> None:
    asset_id = _pending(service, media.image(), "logo.png")
    with service.services.sessions() as db:
        row = db.get(Asset, asset_id)
        assert row is not None
        folder = service.services.storage.local_path(row.storage_key).parent
    opened = 0

    def sessions() -> Any:
        nonlocal opened
        opened += 1
        if opened == 2:  # the thumbnail is made and stored; the asset goes before it is recorded
            assert (
                service.client.delete(f"/v1/assets/{asset_id}", headers=service.headers()).status_code == 204
            )
            assert any(folder.glob("thumbnail.png"))
        return service.services.sessions()

    assert complete_previews(sessions, service.services.storage, asset_id) is None
    assert opened == 2 and not folder.exists()  # its thumbnail went too
    assert complete_previews(service.services.sessions, service.services.storage, asset_id) is None


# ------------------------------------------------------------------------------ memory


def test_upload_memory_stays_flat(sqlite_service: Service, tmp_path: Path) -> None:
    """A ~63 MB WAV over real HTTP (uvicorn on loopback, httpx streaming the file): the peak
    of Python allocations in this process, client and server together, stays far below it."""
    wav = mediagen.make_silence(tmp_path / "long.wav", duration=330)
    size = wav.stat().st_size
    assert size > 60_000_000
    app = create_app(services=sqlite_service.services, start_worker=False)
    with live_app(app) as base:
        tracemalloc.start()
        with wav.open("rb") as fh:
            r = httpx.post(
                f"{base}/v1/assets",
                headers=sqlite_service.headers(),
                files={"file": ("long.wav", fh, "audio/wav")},
                timeout=120,
            )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["size_bytes"] == size and body["media"]["duration"] == pytest.approx(330, abs=0.1)
    assert body["sha256"] == hashlib.sha256(wav.read_bytes()).hexdigest()
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB upload"
