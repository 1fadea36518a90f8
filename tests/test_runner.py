"""The FFmpeg runner against the real bundled FFmpeg (no mocks)."""

from __future__ import annotations

import os
import pickle
import subprocess
import threading
import time
from pathlib import Path

import pytest

from reelforge.ffmpeg.binary import FFMPEG_ENV, MAX_PIXELS, base_args, ffmpeg_exe, input_args
from reelforge.ffmpeg.runner import (
    CancelToken,
    FFmpegError,
    Progress,
    RenderCancelled,
    RenderTimeout,
    run_ffmpeg,
)

# Slow enough (about 15 s here) that a cancel or timeout always lands mid-run.
SLOW_RENDER = ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=60", "-c:v", "libx264", "-preset", "veryslow"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s 320x180 clip with audio."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    subprocess.run(
        [
            ffmpeg_exe(), *base_args(),
            "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=2",
            "-f", "lavfi", "-i", "sine=d=2",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def _processes() -> list[tuple[int, int, int]]:
    """(pid, ppid, process group) of every process, read from /proc."""
    procs = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # The fields after "(comm)": state, ppid, pgrp, ...
        _state, ppid, pgrp = stat.rpartition(")")[2].split()[:3]
        procs.append((int(entry.name), int(ppid), int(pgrp)))
    return procs


def _ffmpeg_children() -> list[int]:
    return [pid for pid, ppid, _ in _processes() if ppid == os.getpid()]


def _assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, not merely a zombie
    # FFmpeg leads its own process group: nothing may be left in it either.
    assert not [p for p, _, pgrp in _processes() if pgrp == pid]


def test_success_reports_monotone_progress_ending_at_one(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    reports: list[Progress] = []
    # Frequent reports, and the input read at no more than 4x real time: the 2 s clip takes at
    # least 0.5 s however fast the machine, so there is a sequence of reports to check.
    args = [
        *base_args(),
        "-stats_period",
        "0.02",
        *input_args(clip, options=["-readrate", "4"]),
        "-preset",
        "ultrafast",
        str(out),
    ]
    result = run_ffmpeg(
        args,
        duration=2.0,
        outputs=[out],
        on_progress=reports.append,
    )
    assert result.returncode == 0
    assert result.elapsed > 0
    assert out.stat().st_size > 0
    fractions = [r.fraction for r in reports]
    assert len(fractions) >= 3
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert reports[-1].frame == 50
    assert reports[-1].eta_seconds == 0.0
    assert reports[-1].out_time == pytest.approx(2.0, abs=0.1)


def test_relative_cwd_and_colon_in_file_name(clip: Path, tmp_path: Path) -> None:
    (tmp_path / "take:1.mp4").write_bytes(clip.read_bytes())
    # Relative paths resolve against cwd, for FFmpeg and for the clean-up alike.
    result = run_ffmpeg(
        [*base_args(), *input_args(Path("take:1.mp4"), options=["-t", "1"]), "-f", "null", "-"],
        duration=1.0,
        cwd=tmp_path,
    )
    assert result.returncode == 0
    assert input_args(Path("a:b.mp4"))[-1] == "./a:b.mp4"
    assert input_args("/x/a:b.mp4", options=["-ss", "1"]) == [
        "-protocol_whitelist", "file", "-max_pixels", str(MAX_PIXELS), "-ss", "1", "-i", "/x/a:b.mp4",
    ]  # fmt: skip


def test_failure_raises_with_ffmpeg_error_and_removes_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"stale")
    with pytest.raises(FFmpegError) as info:
        run_ffmpeg(
            [*base_args(), "-f", "lavfi", "-i", "testsrc2=d=1", "-vf", "nosuchfilter", str(out)],
            duration=1.0,
            outputs=[out],
        )
    err = info.value
    assert type(err) is FFmpegError
    assert err.returncode not in (0, None)
    assert any("No such filter: 'nosuchfilter'" in line for line in err.log_tail)
    assert "No such filter" in str(err)
    assert not out.exists()
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.returncode, clone.log_tail, str(clone)) == (err.returncode, err.log_tail, str(err))


def test_empty_output_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(FFmpegError, match="Output file is empty"):
        run_ffmpeg(
            [*base_args(), "-f", "lavfi", "-i", "testsrc2=d=1", "-ss", "5", str(out)],
            duration=1.0,
            outputs=[out],
        )
    assert not out.exists()


REFUSED = ["concat:{clip}|{clip}", "http://127.0.0.1:9/", "subfile,,start,0,end,0,,:{clip}"]


@pytest.mark.parametrize("url", REFUSED)
def test_protocol_whitelist_refuses_non_file_inputs(clip: Path, url: str) -> None:
    with pytest.raises(FFmpegError) as info:
        run_ffmpeg([*base_args(), *input_args(url.format(clip=clip)), "-f", "null", "-"], duration=1.0)
    assert any("not on whitelist 'file'" in line for line in info.value.log_tail)


def test_cancel_stops_ffmpeg_and_removes_partial_output(tmp_path: Path) -> None:
    out = tmp_path / "slow.mp4"
    token = CancelToken()
    pids: set[int] = set()

    def on_progress(p: Progress) -> None:
        pids.update(_ffmpeg_children())
        assert out.exists()  # a partial file is there to clean up
        token.cancel()

    start = time.monotonic()
    with pytest.raises(RenderCancelled):
        run_ffmpeg([*base_args(), *SLOW_RENDER, str(out)], duration=60, outputs=[out],
                   on_progress=on_progress, cancel=token)  # fmt: skip
    assert time.monotonic() - start < 8
    assert token.cancelled
    assert len(pids) == 1
    _assert_gone(pids.pop())
    assert not out.exists()


def test_cancel_from_another_thread(tmp_path: Path) -> None:
    out = tmp_path / "slow.mp4"
    token = CancelToken()
    timer = threading.Timer(1.0, token.cancel)
    timer.start()
    try:
        with pytest.raises(RenderCancelled):
            run_ffmpeg([*base_args(), *SLOW_RENDER, str(out)], duration=60, outputs=[out], cancel=token)
    finally:
        timer.cancel()
    assert not _ffmpeg_children()
    assert not out.exists()


def test_timeout_raises_and_removes_output(tmp_path: Path) -> None:
    out = tmp_path / "slow.mp4"
    start = time.monotonic()
    with pytest.raises(RenderTimeout) as info:
        run_ffmpeg([*base_args(), *SLOW_RENDER, str(out)], duration=60, outputs=[out], timeout=1.0)
    assert 1.0 <= time.monotonic() - start < 8
    assert isinstance(info.value, FFmpegError)
    assert "timed out" in str(info.value)
    assert not _ffmpeg_children()
    assert not out.exists()


def test_keyboard_interrupt_in_caller_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "slow.mp4"
    pids: list[int] = []

    def on_progress(p: Progress) -> None:
        pids.extend(_ffmpeg_children())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ffmpeg(
            [*base_args(), *SLOW_RENDER, str(out)], duration=60, outputs=[out], on_progress=on_progress
        )
    assert len(pids) == 1
    _assert_gone(pids[0])
    assert not out.exists()


def test_ffmpeg_exe_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = ffmpeg_exe()
    monkeypatch.setenv(FFMPEG_ENV, bundled)
    assert ffmpeg_exe() == bundled
    monkeypatch.setenv(FFMPEG_ENV, "/nonexistent/ffmpeg")
    with pytest.raises(FileNotFoundError, match=FFMPEG_ENV):
        ffmpeg_exe()
