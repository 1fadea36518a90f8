"""Read rendered files back as numbers: video frames as RGB arrays, audio as float samples."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np


def video_frames(path: Path, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """Every frame as uint8 RGB, shape (n, height, width, 3)."""
    w, h = size or _size(path)
    raw = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def _size(path: Path) -> tuple[int, int]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.codec_context.width, s.codec_context.height


def audio_samples(path: Path, *, rate: int = 48000) -> np.ndarray:
    """Samples as float32, shape (n, 2)."""
    raw = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-f",
            "f32le",
            "-ac",
            "2",
            "-ar",
            str(rate),
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.float32).reshape(-1, 2)


def integrated_loudness(path: Path) -> float:
    """EBU R128 integrated loudness (LUFS) as FFmpeg's loudnorm measures it."""
    proc = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-nostats",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-af",
            "loudnorm=print_format=json",
            "-f",
            "null",
            "-",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    text = proc.stderr
    doc = json.loads(text[text.rindex("{") : text.rindex("}") + 1])
    return float(doc["input_i"])


def mean_rgb(frame: np.ndarray) -> tuple[float, float, float]:
    m = frame.reshape(-1, 3).mean(axis=0)
    return float(m[0]), float(m[1]), float(m[2])


def close(rgb: tuple[float, float, float], expected: tuple[int, int, int], tol: float = 24) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(rgb, expected, strict=True))


def graph_planes(graph: object, label: str, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Run a filter graph fragment; the luma and alpha planes of every frame of ``label``, each
    shaped (n, h, w)."""
    from reelforge.ffmpeg.binary import base_args, ffmpeg_exe

    cmd = [
        ffmpeg_exe(),
        *base_args(),
        "-filter_complex",
        graph.render(),  # type: ignore[attr-defined]
        "-map",
        f"[{label}]",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuva420p",
        "-",
    ]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    w, h = size
    frame = w * h * 2 + 2 * (w // 2) * (h // 2)
    assert len(proc.stdout) % frame == 0, "output frame size differs from the expected size"
    data = np.frombuffer(proc.stdout, np.uint8).reshape(-1, frame)
    return data[:, : w * h].reshape(-1, h, w), data[:, -w * h :].reshape(-1, h, w)
