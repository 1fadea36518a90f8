"""Sources read to the frame and to the sample: trims, auto lengths, ranges, levels and codecs,
checked on the pixels and samples of real renders of generated media."""

from __future__ import annotations

import math
import re
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

import mediagen
from frames import audio_samples, video_frames
from reelforge.edit.validate import parse_edit
from reelforge.render.engine import RenderResult, render_edit
from reelforge.render.sources import LocalResolver

RATES = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001), "59.94": Fraction(60000, 1001)}
AVCOL_RANGE_MPEG = 1
"""FFmpeg's limited ("tv") colour range."""
FLASH = 40
"""The flash-and-beep source's white frame: its start is a whole sample at every rate above."""


def render(doc: dict[str, Any], tmp_path: Path) -> RenderResult:
    edit = parse_edit(doc)
    return render_edit(
        edit, out_dir=tmp_path / "out", base_dir=tmp_path, resolver=LocalResolver(tmp_path, [tmp_path])
    )


def bright_frames(path: Path) -> list[int]:
    return [i for i, frame in enumerate(video_frames(path)) if frame.mean() > 128]


def beep_onset(path: Path) -> int:
    """The first sample of the beep: the first above a tenth of its peak (the silence before it
    is digital zero, give or take the codec's noise)."""
    samples = np.abs(audio_samples(path)[:, 0])
    loud = np.flatnonzero(samples > samples.max() / 10)
    assert loud.size, "no beep in the output"
    return int(loud[0])


@pytest.mark.parametrize(
    ("fps", "trim_frames", "container"),
    [
        ("23.976", Fraction(304, 10), ".mov"),
        ("29.97", Fraction(304, 10), ".mov"),
        ("59.94", Fraction(304, 10), ".mov"),
        ("29.97", Fraction(30), ".mov"),  # exactly on a frame, written in frames
        ("29.97", Fraction(30), ".mkv"),  # millisecond timestamps
    ],
)
def test_trim_shows_the_frame_on_screen_at_the_in_point(
    tmp_path: Path, fps: str, trim_frames: Fraction, container: str
) -> None:
    rate = RATES[fps]
    src = mediagen.make_flash_and_beep(tmp_path / f"flash{container}", fps=rate, flash_frame=FLASH)
    # Between source frames 30 and 31 (or on 30): frame 30 is on screen at the in-point, so
    # the flash (frame 40) is output frame 10.
    trim: Any = f"{int(trim_frames)}f" if trim_frames.denominator == 1 else float(trim_frames / rate)
    doc = {
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "video", "src": src.name, "trim": trim}, "length": 0.6}]}
            ]
        },
        "outputs": [{"width": 320, "height": 180, "fps": fps, "quality": "draft", "format": "mov"}],
    }
    out = render(doc, tmp_path).outputs[0].path
    assert bright_frames(out) == [FLASH - 30]
    # The sound follows the same clock: the beep starts where the source's did, to the sample
    # (the in-point is cut at its exact sample); AAC smears the onset by a sample or two, and
    # Matroska's millisecond packet times put the source's own beep up to half a ms off.
    in_point = trim_frames / rate if isinstance(trim, str) else Fraction(trim)
    expected = round((Fraction(FLASH) / rate - in_point) * 48000)
    assert abs(beep_onset(out) - expected) <= (3 if container == ".mov" else 24), (beep_onset(out), expected)


def test_auto_length_is_the_pictures_when_the_sound_outlasts_it(tmp_path: Path) -> None:
    # 1 s of picture, 1.3 s of sound: two such clips back to back must not flash black between.
    src = mediagen.make_video(tmp_path / "long-sound.mp4", color="red", duration=1, audio_duration=1.3)
    clip = {"asset": {"type": "video", "src": src.name}}
    doc = {
        "timeline": {"tracks": [{"clips": [clip, clip]}]},
        "outputs": [{"width": 320, "height": 180, "fps": 60, "quality": "draft"}],
    }
    result = render(doc, tmp_path)
    frames = video_frames(result.outputs[0].path)
    assert len(frames) == 120
    dark = [i for i, frame in enumerate(frames) if frame.mean() < 40]
    assert dark == []


def test_auto_length_keeps_the_last_frame_of_an_ntsc_clip(tmp_path: Path) -> None:
    # 32 frames at 29.97 last 32032/30000 s: 1067733.3 us, which rounded to the microsecond
    # was a hair short of 32 frames.
    rate = Fraction(30000, 1001)
    src = mediagen.make_video(tmp_path / "ntsc.mp4", fps=rate, duration=float(32 / rate), audio=False)
    doc = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": src.name}}]}]},
        "outputs": [{"width": 320, "height": 180, "fps": "29.97", "quality": "draft", "audio": False}],
    }
    result = render(doc, tmp_path)
    assert result.plan.outputs[0].frames == 32
    assert len(video_frames(result.outputs[0].path)) == 32


def first_frame_luma(path: Path) -> tuple[np.ndarray, int, str]:
    """The first frame's Y plane as stored (no range conversion), the stream's colour range
    and its pixel format."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frame = next(container.decode(stream))
        plane = frame.planes[0]
        rows = np.frombuffer(bytes(plane), np.uint8).reshape(frame.height, plane.line_size)
        return rows[:, : frame.width].astype(int), int(stream.codec_context.color_range), frame.format.name


def test_outputs_hold_limited_range_with_full_range_jpeg_sources(tmp_path: Path) -> None:
    # JPEG stores full range: its white is 255 and its mid grey 128, which in the limited range
    # of an H.264 output are 235 and 16 + 128 * 219 / 255 = 126.
    mediagen.make_image(tmp_path / "grey.jpg", color="0x808080", size=(320, 180))
    mediagen.make_image(tmp_path / "white.jpg", color="white", size=(80, 60))
    doc = {
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "image", "src": "grey.jpg"}, "length": 0.2}]},
                {"clips": [{"asset": {"type": "image", "src": "white.jpg"}, "length": 0.2, "fit": "none"}]},
            ]
        },
        "outputs": [{"width": 320, "height": 180, "fps": 25, "quality": "high", "audio": False}],
    }
    luma, colour_range, pix_fmt = first_frame_luma(render(doc, tmp_path).outputs[0].path)
    assert colour_range == AVCOL_RANGE_MPEG
    assert pix_fmt == "yuv420p"
    assert abs(luma[90, 160] - 235) <= 2, luma[90, 160]  # the white picture, centred
    assert abs(luma[10, 10] - 126) <= 2, luma[10, 10]  # the grey around it


def test_crf_0_with_h264_stays_in_a_profile_players_take(tmp_path: Path) -> None:
    doc = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "teal"}, "length": 0.2}]}]},
        "outputs": [{"width": 320, "height": 180, "fps": 25, "crf": 0, "audio": False}],
    }
    with av.open(str(render(doc, tmp_path).outputs[0].path)) as container:
        context = container.streams.video[0].codec_context
        assert context.profile == "High" and context.pix_fmt == "yuv420p"


def true_peak(path: Path) -> float:
    """The true peak (linear) of a file's sound as FFmpeg's ebur128 meter measures it."""
    proc = subprocess.run(
        [
            *(mediagen.ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0"),
            *("-af", "ebur128=peak=true:metadata=1,ametadata=print:key=lavfi.r128.true_peak"),
            *("-f", "null", "-"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    values = re.findall(r"lavfi\.r128\.true_peak=([0-9.]+)", proc.stderr)
    assert values, proc.stderr[-2000:]
    return max(float(v) for v in values)


@pytest.mark.parametrize("fmt", ["mp4", "wav"])
def test_true_peak_stays_under_the_ceiling_on_a_click_track(tmp_path: Path, fmt: str) -> None:
    mediagen.make_click_track(tmp_path / "clicks.wav")
    doc = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "audio", "src": "clicks.wav"}}]}]},
        "outputs": [{"format": fmt, "width": 320, "height": 180, "fps": 25, "quality": "draft"}],
    }
    peak = true_peak(render(doc, tmp_path).outputs[0].path)
    assert 20 * math.log10(peak) <= -1.0, 20 * math.log10(peak)  # the documented -1 dBTP


def test_webvtt_cue_position_is_honoured_in_the_render(tmp_path: Path) -> None:
    (tmp_path / "top.vtt").write_text(
        "WEBVTT\n\n00:00.000 --> 00:01.000 line:0 position:5% align:start\nHello\n", encoding="utf-8"
    )
    doc = {
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "color", "color": "black"}, "length": 0.4}]},
                {
                    "clips": [
                        {
                            "asset": {"type": "caption", "src": "top.vtt", "style": {"size": 0.12}},
                            "length": 0.4,
                        }
                    ]
                },
            ]
        },
        "outputs": [{"width": 320, "height": 180, "fps": 25, "quality": "high", "audio": False}],
    }
    frame = video_frames(render(doc, tmp_path).outputs[0].path)[5]
    ys, xs = np.nonzero(frame.max(axis=2) > 100)
    assert len(xs) > 50
    assert ys.max() < 90 and xs.min() < 80  # top left, not the style's bottom centre


def test_auto_length_of_a_variable_frame_rate_clip_keeps_its_last_frame(tmp_path: Path) -> None:
    # 31 frames, frame 9 held for two periods: 32 periods of 1001/30000 s, 1067733.3 us, which
    # rounded to the microsecond was a hair short of 32 frames at 29.97.
    src = mediagen.make_vfr_video(tmp_path / "vfr.mp4", frames=31, held_frame=9)
    doc = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": src.name}}]}]},
        "outputs": [{"width": 320, "height": 180, "fps": "29.97", "quality": "high", "audio": False}],
    }
    frames = video_frames(render(doc, tmp_path).outputs[0].path).astype(int)
    assert len(frames) == 32
    change = [float(np.abs(frames[i + 1] - frames[i]).mean()) for i in range(31)]
    assert change[9] < 1 and min(change[:9] + change[10:]) > 1  # frame 9 shown twice, no other
