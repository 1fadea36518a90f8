"""Finding the subject of a source, for ``focus: "auto"`` cover crops.

A side effect (it decodes the file), so it runs at the edge, where sources are probed; the
compiler gets the result as data (:attr:`Source.focus`). A few frames spread over the source
are decoded small and examined: for faces first (OpenCV's Haar cascade), else for the region
that moves, else for the region that stands out from its surroundings (centre-surround
contrast). The focus is the weighted centre of what was found, as fractions of the picture.
"""

from __future__ import annotations

import itertools
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from reelforge.ffmpeg.binary import ffmpeg_exe, input_args
from reelforge.ffmpeg.probe import MediaInfo

from .plan import FocusPoint

__all__ = ["ANALYSIS_FRAMES", "ANALYSIS_WIDTH", "find_focus"]

ANALYSIS_FRAMES = 12
"""Frames sampled evenly over the source (one for a still)."""
ANALYSIS_WIDTH = 384
"""The width frames are analysed at: faces of a tenth of the frame are still found."""
_MOTION_FLOOR = 6.0
"""Mean change (of 255) of the most changing pixels below which a source counts as still."""

CENTRE = FocusPoint(0.5, 0.5, "centre")


def _sample_frames(path: Path, info: MediaInfo) -> list[Any]:
    """Up to :data:`ANALYSIS_FRAMES` greyscale frames (numpy arrays), evenly spread."""
    import numpy as np

    if not info.width or not info.height:
        return []
    width = min(ANALYSIS_WIDTH, info.width) // 2 * 2
    height = max(2, round(width * info.height / info.width / 2) * 2)
    duration = float(info.duration) if info.duration else 0.0
    count = ANALYSIS_FRAMES if duration > 0 and (info.fps or 0) > 0 else 1
    picks = [f"fps={count / duration:.6f}"] if count > 1 else []
    args = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        *input_args(path),
        "-map",
        "0:v:0",
        "-vf",
        ",".join([*picks, f"scale={width}:{height}", "format=gray"]),
        "-frames:v",
        str(count),
        "-f",
        "rawvideo",
        "-",
    ]
    try:
        done = subprocess.run(args, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []  # no focus found: the crop keeps the centre, as without `focus`
    if done.returncode != 0:
        return []
    data = np.frombuffer(done.stdout, np.uint8)
    frames = data[: data.size - data.size % (width * height)].reshape(-1, height, width)
    return list(frames)


@cache
def _face_detector() -> Any:
    import cv2

    # The wheel ships its Haar cascades next to the module.
    cascades = Path(cv2.__file__).parent / "data"
    return cv2.CascadeClassifier(str(cascades / "haarcascade_frontalface_default.xml"))


def _faces(frames: list[Any]) -> tuple[float, float] | None:
    """The area-weighted centre of the faces found in ``frames``, as fractions."""
    detector = _face_detector()
    total = sx = sy = 0.0
    for frame in frames:
        h, w = frame.shape
        side = max(16, w // 16)
        for x, y, fw, fh in detector.detectMultiScale(
            frame, scaleFactor=1.1, minNeighbors=5, minSize=(side, side)
        ):
            area = float(fw * fh)
            total += area
            sx += area * (x + fw / 2) / w
            sy += area * (y + fh / 2) / h
    return (sx / total, sy / total) if total else None


def _centroid(weights: Any) -> tuple[float, float] | None:
    """The weighted centre of a map's strongest tenth, as fractions of the map."""
    import numpy as np

    threshold = float(np.percentile(weights, 90))
    top = np.clip(weights - threshold, 0, None)
    total = float(top.sum())
    if total <= 0:
        return None
    h, w = weights.shape
    ys, xs = np.mgrid[0:h, 0:w]
    return float((top * (xs + 0.5)).sum() / total / w), float((top * (ys + 0.5)).sum() / total / h)


def _motion(frames: list[Any]) -> tuple[float, float] | None:
    """Where the picture changes between sampled frames, if it changes enough to tell."""
    import cv2
    import numpy as np

    if len(frames) < 2:
        return None
    change = np.mean([cv2.absdiff(a, b).astype(np.float32) for a, b in itertools.pairwise(frames)], axis=0)
    change = cv2.GaussianBlur(change, (0, 0), sigmaX=max(1.0, change.shape[1] / 64))
    if float(np.percentile(change, 99)) < _MOTION_FLOOR:
        return None
    return _centroid(change)


def _contrast(frames: list[Any]) -> tuple[float, float] | None:
    """Where the picture differs most from its blurred surroundings (centre-surround contrast)."""
    import cv2
    import numpy as np

    sigma = max(2.0, frames[0].shape[1] / 16)
    maps = []
    for frame in frames:
        f = frame.astype(np.float32)
        maps.append(np.abs(f - cv2.GaussianBlur(f, (0, 0), sigmaX=sigma)))
    contrast = cv2.GaussianBlur(np.mean(maps, axis=0), (0, 0), sigmaX=sigma / 4)
    return _centroid(contrast)


def find_focus(path: Path, info: MediaInfo) -> FocusPoint:
    """Where the subject of the picture at ``path`` is: faces, else motion, else contrast,
    else the centre."""
    frames = _sample_frames(path, info)
    if not frames:
        return CENTRE
    for method, finder in (("faces", _faces), ("motion", _motion), ("contrast", _contrast)):
        found = finder(frames)
        if found is not None:
            return FocusPoint(round(found[0], 4), round(found[1], 4), method)  # type: ignore[arg-type]
    return CENTRE
