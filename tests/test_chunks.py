"""One long video across workers: chunks of a render's picture as sub-jobs of the queue.

Real FFmpeg on tiny media (8 clips of 320x180, chunks of about a second), real databases, the
service's own worker pool (two threads) taking chunks; a "killed" worker is one that claimed a
chunk and then never beat again, as a process killed with -9 leaves it.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest
from sqlalchemy import select, update

from conftest import MediaFiles
from frames import audio_samples, video_frames
from reelforge.db.models import Asset, RenderChunk
from reelforge.jobs.chunks import ChunkJob, claim_chunk
from reelforge.render.engine import joined_streams
from service import (
    Service,
    require_database,
    running_service,
    s3_storage_settings,
    wait_render,
    with_previews,
)

CLIPS = 8
FPS = 25
CHUNKED = {"render_chunk_min_seconds": 2.0, "render_chunk_seconds": 1.2}


def upload(svc: Service, path: Path) -> str:
    r = svc.post("/v1/assets", files={"file": (path.name, path.read_bytes())})
    assert r.status_code in (200, 201), r.text
    return str(with_previews(svc, r.json())["id"])


def chunky_edit(svc: Service, media: MediaFiles, *, quality: str = "high") -> dict[str, Any]:
    """8 chained 0.6 s clips of three sources with their own tones, and music across them."""
    sources = [
        upload(svc, media.video(duration=1.2, tone_hz=300 + 90 * i, source=s))
        for i, s in enumerate(("testsrc2", "smptebars", "rgbtestsrc"))
    ]
    music = upload(svc, media.audio(duration=6.0, tone_hz=220))
    clips = [
        {"asset": {"type": "video", "src": sources[i % 3], "trim": 0.1}, "length": 0.6} for i in range(CLIPS)
    ]
    return {
        "timeline": {
            "background": "#203040",
            "tracks": [{"clips": clips}],
            "soundtrack": {"src": music, "volume": 0.3},
        },
        "outputs": [{"width": 320, "height": 180, "fps": FPS, "quality": quality}],
    }


def output_path(svc: Service, render: dict[str, Any]) -> Path:
    out = next(o for o in render["outputs"] if o["role"] == "output")
    with svc.services.sessions() as db:
        asset = db.get(Asset, out["id"])
        assert asset is not None
        return svc.services.storage.local_path(asset.storage_key)


def compare(a: Path, b: Path, metric: str) -> list[float]:
    """FFmpeg's ``ssim`` (the ``All`` value) or ``psnr`` (``psnr_avg``), frame by frame."""
    stats = a.with_name(f"{a.stem}.{metric}.log")
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(a), "-i", str(b),
         "-lavfi", f"[0:v][1:v]{metric}=stats_file={stats.name}", "-f", "null", "-"],
        capture_output=True, check=True, cwd=a.parent,
    )  # fmt: skip
    pattern = r"All:([0-9.]+)" if metric == "ssim" else r"psnr_avg:([0-9.inf]+)"
    return [float(m[1]) for m in re.finditer(pattern, stats.read_text())]


def chunk_rows(svc: Service, render_id: str) -> list[RenderChunk]:
    with svc.services.sessions() as db:
        return list(db.scalars(select(RenderChunk).where(RenderChunk.render_id == render_id)))


def wait_for(what: str, check: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.02)


def chunk_times(caplog: pytest.LogCaptureFixture, what: str = "render chunks took") -> list[float]:
    for record in caplog.records:
        m = re.search(re.escape(what) + r" \[([^\]]*)\]", record.getMessage())
        if m:
            return [float(x) for x in m[1].split(",")]
    return []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_chunked_render_matches_the_unchunked_one(
    kind: str, media: MediaFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture, record_property: Any
) -> None:
    require_database(kind)
    caplog.set_level(logging.INFO)
    with running_service(tmp_path, kind, workers=2, render_chunk_min_seconds=0) as svc:
        edit = chunky_edit(svc, media)
        single = wait_render(svc, svc.post("/v1/renders", json={"edit": edit}).json()["id"])
        assert single["state"] == "succeeded", single["error"]
        assert chunk_times(caplog) == []
        svc.services.settings.render_chunk_min_seconds = CHUNKED["render_chunk_min_seconds"]
        svc.services.settings.render_chunk_seconds = CHUNKED["render_chunk_seconds"]
        chunked = wait_render(svc, svc.post("/v1/renders", json={"edit": edit}).json()["id"])
        assert chunked["state"] == "succeeded", chunked["error"]
        times = chunk_times(caplog)
        assert len(times) == 4 and all(t > 0 for t in times)  # 4.8 s in chunks of 1.2 s
        # The audio too, in ranges of the chunks' length: 4 more tasks.
        ranges = chunk_times(caplog, "render audio ranges took")
        assert len(ranges) == 4 and all(t > 0 for t in ranges)
        # Each chunk and range rendered once (by either worker thread: the parent takes some too).
        ran = [r.getMessage() for r in caplog.records if re.match(r"chunk \S+ of render", r.getMessage())]
        assert len(ran) == 8 and all(m.endswith(": succeeded") for m in ran), ran
        assert chunk_rows(svc, chunked["id"]) == []  # rows and chunk files are removed
        assert svc.services.previews().wait(timeout=120)  # the outputs' previews, made after
        assert not list(svc.services.storage.temp_dir().iterdir())

        one, joined = output_path(svc, single), output_path(svc, chunked)
        frames = CLIPS * 15  # 0.6 s at 25 fps
        streams = joined_streams(joined)
        assert streams.video_frames == frames
        # The sample tables say what reading every packet says (the last packet's length aside:
        # the tables give a whole audio frame).
        packets = joined_streams(joined, read_packets=True)
        assert (streams.video_frames, streams.video_end) == (packets.video_frames, packets.video_end)
        assert streams.audio_end == pytest.approx(packets.audio_end, abs=1e-6)
        assert streams.audio_end is not None and streams.audio_frame is not None
        assert abs(streams.audio_end - streams.video_end) <= streams.audio_frame
        ssim, psnr = compare(joined, one, "ssim"), compare(joined, one, "psnr")
        assert len(ssim) == frames
        seams = [round(k * CHUNKED["render_chunk_seconds"] * FPS) for k in range(1, 4)]
        at_seams = [min(ssim[at - 1], ssim[at]) for at in seams]
        record_property("seam_ssim", at_seams)
        record_property("mean_ssim", sum(ssim) / len(ssim))
        # Identical frames have an infinite PSNR: the lowest says more.
        record_property("min_psnr", min(psnr))
        print(
            f"chunked vs one pass: seam SSIM {at_seams}, mean SSIM {np.mean(ssim):.4f}, min PSNR {min(psnr):.1f} dB"
        )
        assert min(at_seams) >= 0.99, at_seams
        assert np.mean(ssim) >= 0.99
        # The same audio, sample for sample: the ranges joined are the whole mix, normalised
        # and encoded once, as one pass does.
        a, b = audio_samples(joined), audio_samples(one)
        assert a.shape == b.shape and np.array_equal(a, b)


def test_chunks_run_from_and_to_s3(
    s3_server: str, media: MediaFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = s3_storage_settings(s3_server, workers=2, **CHUNKED)
    with running_service(tmp_path, "sqlite", **settings) as svc:
        done = wait_render(
            svc, svc.post("/v1/renders", json={"edit": chunky_edit(svc, media, quality="draft")}).json()["id"]
        )
        assert done["state"] == "succeeded", done["error"]
        assert len(chunk_times(caplog)) == 4
        assert joined_streams(output_path(svc, done)).video_frames == CLIPS * 15
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=s3_server,
            aws_access_key_id="t",
            aws_secret_access_key="t",
            region_name="us-east-1",
        )
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=settings["s3_bucket"]).get("Contents", [])]
        assert keys and not [k for k in keys if "/chunks/" in k]


def test_a_killed_workers_chunk_is_taken_over_after_its_lease(
    media: MediaFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with running_service(tmp_path, "sqlite", workers=0, render_chunk_lease=1.0, **CHUNKED) as svc:
        edit = chunky_edit(svc, media, quality="draft")
        render_id = svc.post("/v1/renders", json={"edit": edit}).json()["id"]
        from reelforge.jobs.worker import RenderWorker

        worker = RenderWorker(svc.services, concurrency=1, name="survivor", poll_interval=0.05)
        worker.start()
        try:
            # A worker process claims a chunk and is killed -9 at once: no heartbeat ever again.
            dead = wait_for(
                "a chunk to claim",
                lambda: claim_chunk(svc.services.sessions, "killed", lease=1.0, render_id=render_id),
            )
            done = wait_render(svc, render_id)
        finally:
            worker.stop()
        assert done["state"] == "succeeded", done["error"]
        assert any(
            f"chunk {dead.chunk_id} of render" in r.getMessage() and "taken over" in r.getMessage()
            for r in caplog.records
        )
        assert joined_streams(output_path(svc, done)).video_frames == CLIPS * 15


def test_a_failed_chunk_fails_the_render_with_its_clip(media: MediaFiles, tmp_path: Path) -> None:
    with running_service(tmp_path, "sqlite", workers=0, **CHUNKED) as svc:
        edit = chunky_edit(svc, media, quality="draft")
        render_id = svc.post("/v1/renders", json={"edit": edit}).json()["id"]
        from reelforge.jobs.worker import RenderWorker

        worker = RenderWorker(svc.services, concurrency=1, name="parent", poll_interval=0.05)
        worker.start()
        try:
            claim = wait_for(
                "a chunk to claim",
                lambda: claim_chunk(svc.services.sessions, "other", lease=60, render_id=render_id),
            )
            # The chunk's source vanished from under it (deleted between planning and rendering).
            # The first chunk claimed is the first audio range: its clips follow a silent one.
            with svc.services.sessions() as db:
                chunk = db.get(RenderChunk, claim.chunk_id)
                assert chunk is not None and chunk.spec["kind"] == "audio"
                spec = dict(chunk.spec)
                spec["edit"]["timeline"]["tracks"][1]["clips"][0]["asset"]["src"] = (
                    "ast_00000000000000000000000000"
                )
                db.execute(update(RenderChunk).where(RenderChunk.id == chunk.id).values(spec=spec))
                db.commit()
            assert ChunkJob(svc.services, claim).run() == "failed"
            done = wait_render(svc, render_id)
        finally:
            worker.stop()
        assert done["state"] == "failed"
        assert done["error"]["code"] == "asset_missing"
        assert chunk_rows(svc, render_id) == []


def test_cancelling_a_chunked_render_stops_its_chunks(media: MediaFiles, tmp_path: Path) -> None:
    with running_service(tmp_path, "sqlite", workers=0, **CHUNKED) as svc:
        edit = chunky_edit(svc, media, quality="draft")
        render_id = svc.post("/v1/renders", json={"edit": edit}).json()["id"]
        from reelforge.jobs.worker import RenderWorker

        worker = RenderWorker(
            svc.services, concurrency=1, name="parent", poll_interval=0.05, heartbeat_interval=0.1
        )
        worker.start()
        try:
            # Another worker holds a chunk (alive: it beats) so the render cannot finish first.
            claim = wait_for(
                "a chunk to claim",
                lambda: claim_chunk(svc.services.sessions, "other", lease=60, render_id=render_id),
            )
            held = ChunkJob(svc.services, claim, heartbeat_interval=0.05)
            stop = threading.Event()

            def beat() -> None:
                while not stop.wait(0.05):
                    held._beat()

            beater = threading.Thread(target=beat, daemon=True)
            beater.start()
            r = svc.post(f"/v1/renders/{render_id}/cancel")
            assert r.status_code in (200, 202), r.text
            done = wait_render(svc, render_id)
            # The held chunk's runner learns it at its next heartbeat.
            wait_for("the held chunk to be stopped", lambda: held.token.cancelled)
            stop.set()
            beater.join()
        finally:
            worker.stop()
        assert done["state"] == "cancelled"
        assert chunk_rows(svc, render_id) == []


def test_the_join_check_refuses_a_wrong_frame_count_or_audio_that_drifts(media: MediaFiles) -> None:
    from fractions import Fraction

    from reelforge.render.engine import RenderError, check_joined

    good = media.video(duration=2.0)
    found = check_joined(good, frames=50, fps=Fraction(FPS), audio=True)
    assert found.video_frames == 50 and found.audio_frame is not None
    with pytest.raises(RenderError) as short:
        check_joined(good, frames=51, fps=Fraction(FPS), audio=True)
    assert short.value.code == "join_invalid" and "50 frames, the timeline 51" in short.value.message
    # Sound that goes on 0.3 s past the picture: far more than one audio frame (21 ms).
    drifting = media.video(duration=2.0, audio_duration=2.3)
    with pytest.raises(RenderError) as drift:
        check_joined(drifting, frames=50, fps=Fraction(FPS), audio=True)
    assert drift.value.code == "join_invalid" and "ends" in drift.value.message
    # The sample tables and the packets say the same of both files.
    for read_packets in (False, True):
        found = joined_streams(drifting, read_packets=read_packets)
        assert (found.video_frames, found.video_end) == (50, pytest.approx(2.0))
        assert found.audio_end == pytest.approx(2.3, abs=0.025)
        assert joined_streams(good, read_packets=read_packets).video_frames == 50
    silent = media.video(duration=2.0, audio=False)
    with pytest.raises(RenderError, match="has no audio"):
        check_joined(silent, frames=50, fps=Fraction(FPS), audio=True)


def test_a_clip_longer_than_a_chunk_is_split_across_chunks(
    media: MediaFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with running_service(tmp_path, "sqlite", workers=2, render_chunk_min_seconds=0) as svc:
        source = upload(svc, media.video(duration=3.5, tone_hz=500))
        edit = {
            "timeline": {
                "tracks": [
                    {"clips": [{"asset": {"type": "video", "src": source, "trim": 0.2}, "length": 3.0}]}
                ]
            },
            "outputs": [{"width": 320, "height": 180, "fps": FPS, "quality": "draft"}],
        }
        single = wait_render(svc, svc.post("/v1/renders", json={"edit": edit}).json()["id"])
        assert single["state"] == "succeeded", single["error"]
        svc.services.settings.render_chunk_min_seconds = CHUNKED["render_chunk_min_seconds"]
        svc.services.settings.render_chunk_seconds = CHUNKED["render_chunk_seconds"]
        done = wait_render(svc, svc.post("/v1/renders", json={"edit": edit}).json()["id"])
        assert done["state"] == "succeeded", done["error"]
        # One 3 s clip in chunks of 1.2 s (30 frames): three parts, each seeking into the clip.
        assert len(chunk_times(caplog)) == 3
        assert len(chunk_times(caplog, "render audio ranges took")) == 3
        streams = joined_streams(output_path(svc, done))
        assert streams.video_frames == 75
        assert streams.audio_end is not None and streams.audio_frame is not None
        assert abs(streams.audio_end - streams.video_end) <= streams.audio_frame
        # Each part shows the one-pass frames, not their neighbours (the source changes every
        # frame), on both sides of both joins.
        a, b = video_frames(output_path(svc, done)), video_frames(output_path(svc, single))
        for n in (29, 30, 59, 60):
            same = np.abs(a[n].astype(int) - b[n].astype(int)).mean()
            assert same < np.abs(a[n].astype(int) - b[n - 1].astype(int)).mean(), n
            assert same < np.abs(a[n].astype(int) - b[n + 1].astype(int)).mean(), n
        assert np.array_equal(audio_samples(output_path(svc, done)), audio_samples(output_path(svc, single)))
