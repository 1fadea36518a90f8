"""Output geometry and encoder settings: what an :class:`Output` means in pixels and FFmpeg options."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from reelforge.edit.encoding import RESOLUTIONS, even, frame_size, parse_bitrate
from reelforge.edit.models import Output
from reelforge.edit.timing import parse_fps

from .graph import Filter, filt

__all__ = [
    "RESOLUTIONS",
    "OutputGeometry",
    "audio_codec_args",
    "even",
    "final_pixel_format",
    "geometry",
    "picture_range",
    "video_codec_args",
]


@dataclass(frozen=True, slots=True)
class OutputGeometry:
    width: int
    height: int
    fps: Fraction

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height}"


def geometry(output: Output) -> OutputGeometry:
    """Pixel size (see :func:`reelforge.edit.encoding.frame_size`) and frame rate."""
    width, height = frame_size(output)
    return OutputGeometry(width, height, parse_fps(output.fps))


def picture_range(output: Output) -> list[Filter]:
    """The last filter of a video output's picture: limited ("tv") range, what H.264, H.265,
    VP9 and ProRes video holds and players expect. Full-range sources (JPEG photos, phone
    footage tagged full range) are converted on their way in; without this, FFmpeg settled the
    whole graph on full range as soon as one source was, and tagged the output so."""
    if output.format in ("mp4", "mov", "webm"):
        return [filt("format", color_ranges="tv")]
    return []


# quality -> (x264/x265 crf, preset, vp9 crf)
_QUALITY = {
    "draft": (32, "ultrafast", 45),
    "low": (28, "veryfast", 40),
    "medium": (23, "veryfast", 33),
    "high": (20, "medium", 28),
    "max": (17, "slow", 20),
}


def video_codec_args(output: Output, stream: str = "v") -> list[str]:
    """Encoder options for the output's video stream (``-c:v`` and friends)."""
    crf, preset, vp9_crf = _QUALITY[output.quality]
    crf = output.crf if output.crf is not None else crf
    preset = output.preset or preset
    codec = output.codec or {"mp4": "h264", "mov": "h264", "webm": "vp9"}.get(output.format)
    # In bits per second: FFmpeg would read "4m" as 4 millibits.
    rate = ["-b:v", str(parse_bitrate(output.bitrate))] if output.bitrate else []
    if output.format == "gif":
        return ["-c:v", "gif", "-loop", "0"]
    if output.format == "png":
        return ["-c:v", "png", "-frames:v", "1", "-update", "1"]
    if output.format == "jpg":
        return ["-c:v", "mjpeg", "-q:v", "2", "-frames:v", "1", "-update", "1", "-pix_fmt", "yuvj420p"]
    if codec == "h264":
        # x264's CRF 0 is lossless, which only the High 4:4:4 Predictive profile can hold (even
        # in 4:2:0), and most players refuse that profile: CRF 1 stays in High, visually the same.
        quality = rate or ["-crf", str(max(crf, 1))]
        return ["-c:v", "libx264", "-preset", preset, *quality, "-pix_fmt", "yuv420p"]
    if codec == "h265":
        quality = rate or ["-crf", str(crf)]
        return [
            "-c:v",
            "libx265",
            "-preset",
            preset,
            *quality,
            "-pix_fmt",
            "yuv420p",
            "-tag:v",
            "hvc1",
            "-x265-params",
            "log-level=error",
        ]
    if codec == "vp9":
        quality = (
            [*rate] if rate else ["-crf", str(output.crf if output.crf is not None else vp9_crf), "-b:v", "0"]
        )
        return [
            "-c:v",
            "libvpx-vp9",
            *quality,
            "-row-mt",
            "1",
            "-deadline",
            "good",
            "-cpu-used",
            "4",
            "-pix_fmt",
            "yuv420p",
        ]
    if codec == "prores":
        return ["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le"]
    raise ValueError(f"no video codec for {output.format}/{codec}")


def final_pixel_format(output: Output) -> str:
    """The pixel format an output's picture is composed in and encoded from: 4:2:2 for ProRes,
    4:2:0 for everything else (still images and GIFs included: their encoders convert)."""
    codec = output.codec or {"mp4": "h264", "mov": "h264", "webm": "vp9"}.get(output.format)
    return "yuv422p" if codec == "prores" else "yuv420p"


def audio_codec_args(output: Output) -> list[str]:
    fmt = output.format
    if fmt in ("mp4", "m4a") or (fmt == "mov" and (output.codec or "h264") != "prores"):
        return ["-c:a", "aac", "-b:a", output.audio_bitrate]
    if fmt == "mov":
        return ["-c:a", "pcm_s16le"]
    if fmt == "webm":
        return ["-c:a", "libopus", "-b:a", output.audio_bitrate]
    if fmt == "mp3":
        return ["-c:a", "libmp3lame", "-b:a", output.audio_bitrate]
    if fmt == "wav":
        return ["-c:a", "pcm_s16le"]
    raise ValueError(f"{fmt} has no audio")


def container_args(output: Output) -> list[str]:
    if output.format in ("mp4", "mov", "m4a"):
        return ["-movflags", "+faststart"]
    return []
