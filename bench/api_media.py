"""Media for the service benchmarks, generated locally (nothing is downloaded).

FFmpeg is the binary of the ``imageio-ffmpeg`` wheel (``REELFORGE_FFMPEG`` is honoured, as
Reelforge does); the PNGs are drawn in-process with Pillow.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

__all__ = ["WAV_BYTES_PER_SECOND", "ffmpeg", "make_wav", "tiny_png", "tiny_video", "tiny_wav"]

WAV_RATE = 48_000
WAV_CHANNELS = 2
WAV_BYTES_PER_SECOND = WAV_RATE * WAV_CHANNELS * 2
"""16-bit stereo at 48 kHz: 1 GiB is about 93 minutes, inside the default 4-hour limit."""
_WAV_HEADER = 44  # RIFF + fmt + data chunk headers with -fflags +bitexact and no metadata


def ffmpeg() -> str:
    return os.environ.get("REELFORGE_FFMPEG", "").strip() or imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    cmd = [
        ffmpeg(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        *args,
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:a",
        "+bitexact",
    ]
    # The output format follows the final name; write to a temporary name, then rename, so an
    # interrupted run leaves no truncated file that a later run would take as done.
    fmt = {".mp4": "mp4", ".wav": "wav"}[out.suffix]
    proc = subprocess.run([*cmd, "-f", fmt, str(part)], capture_output=True, check=False)
    if proc.returncode != 0:
        part.unlink(missing_ok=True)
        raise RuntimeError(f"FFmpeg failed making {out.name}: {proc.stderr.decode(errors='replace')[-1500:]}")
    part.replace(out)
    return out


def tiny_png(index: int, size: int = 32) -> bytes:
    """A small PNG, different for every ``index`` (its colour and one pixel encode it)."""
    img = Image.new("RGB", (size, size), ((index * 37) % 256, (index * 91) % 256, (index * 53) % 256))
    img.putpixel((0, 0), (index % 256, (index // 256) % 256, 255))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def tiny_video(out: Path) -> Path:
    """One second of 320x180 H.264 with an AAC tone."""
    if out.is_file():
        return out
    return _run(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x180:r=25:d=1",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-flags:v",
            "+bitexact",
        ],
        out,
    )


def tiny_wav(out: Path, *, seconds: float = 1.0, tone_hz: int = 660) -> Path:
    if out.is_file():
        return out
    return _run(
        [
            "-f",
            "lavfi",
            "-i",
            f"sine=f={tone_hz}:r={WAV_RATE}:d={seconds}",
            "-ac",
            str(WAV_CHANNELS),
            "-c:a",
            "pcm_s16le",
        ],
        out,
    )


def make_wav(out: Path, size_bytes: int, *, tone_hz: int = 440) -> Path:
    """A 16-bit stereo WAV of about ``size_bytes`` (exact to 4 bytes): a sine tone, cheap to make
    and real media, so the service accepts it. Kept and reused when it is already there."""
    samples = max(1, (size_bytes - _WAV_HEADER) // (WAV_CHANNELS * 2))
    if out.is_file() and out.stat().st_size == _WAV_HEADER + samples * WAV_CHANNELS * 2:
        return out
    seconds = samples / WAV_RATE + 1
    return _run(
        [
            "-f",
            "lavfi",
            "-i",
            f"sine=f={tone_hz}:r={WAV_RATE}:d={seconds:.3f}",
            "-ac",
            str(WAV_CHANNELS),
            "-af",
            f"atrim=end_sample={samples}",
            "-c:a",
            "pcm_s16le",
        ],
        out,
    )
