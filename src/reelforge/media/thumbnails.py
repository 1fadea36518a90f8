"""Preview images made at ingest: a PNG thumbnail per asset, and a waveform PNG for audio.

Everything runs the real FFmpeg (the same binary and input restrictions as rendering) or Pillow,
into files the caller chooses. Previews are a convenience: a failure raises
:class:`PreviewError` and the caller decides (ingest logs it and stores the asset without one).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from reelforge.ffmpeg.binary import base_args, input_args
from reelforge.ffmpeg.runner import FFmpegError, RenderTimeout, run_ffmpeg

__all__ = [
    "THUMBNAIL_MAX",
    "PreviewError",
    "font_specimen",
    "image_thumbnail",
    "video_thumbnail",
    "waveform",
]

THUMBNAIL_MAX = 480
"""The longer side of a thumbnail, pixels (smaller pictures are not enlarged)."""
WAVEFORM_SIZE = (800, 160)
WAVEFORM_COLOR = "0x3b82f6"
_TIMEOUT = 300  # a waveform of hours of audio decodes all of it

# Fit inside THUMBNAIL_MAX x THUMBNAIL_MAX keeping the aspect ratio, never enlarging. The commas
# inside min() are escaped because a bare comma separates filters in a filtergraph.
_SCALE = f"scale=w=min({THUMBNAIL_MAX}\\,iw):h=min({THUMBNAIL_MAX}\\,ih):force_original_aspect_ratio=decrease"


class PreviewError(Exception):
    """A preview could not be made; the message says why (FFmpeg's last lines included)."""


def _run(args: list[str], out: Path) -> None:
    # The toolkit's runner, as renders use it: FFmpeg in its own session, stopped at the
    # deadline, a partial file removed.
    try:
        run_ffmpeg([*base_args(), *args], duration=0, outputs=[out], timeout=_TIMEOUT)
    except RenderTimeout:
        raise PreviewError(f"FFmpeg took longer than {_TIMEOUT} s") from None
    except FFmpegError as exc:
        raise PreviewError(f"FFmpeg failed ({exc.returncode}): {' / '.join(exc.log_tail[-3:])}") from None
    except OSError as exc:
        raise PreviewError(f"cannot run FFmpeg: {exc}") from None
    if not out.is_file() or out.stat().st_size == 0:
        raise PreviewError("FFmpeg wrote no picture")


def _png_args(out: Path) -> list[str]:
    # image2 with -update 1 writes one plain file whatever its name.
    return ["-frames:v", "1", "-c:v", "png", "-f", "image2", "-update", "1", str(out)]


def video_thumbnail(src: Path, out: Path, *, duration: float | None) -> None:
    """A frame at 10 % of the duration (1 s when it is unknown), scaled down.

    10 % skips the black or fading first frames most clips start with. If seeking finds no
    frame (a broken index, a stated duration longer than the stream), the first frame is used.
    """
    at = duration * 0.1 if duration else 1.0
    try:
        _run(
            [*input_args(src, options=["-ss", f"{at:.3f}"]), "-map", "0:v:0", "-vf", _SCALE, *_png_args(out)],
            out,
        )
    except PreviewError:
        _run([*input_args(src), "-map", "0:v:0", "-vf", _SCALE, *_png_args(out)], out)


def image_thumbnail(src: Path, out: Path) -> None:
    """The picture scaled down (FFmpeg reads every format probing accepted)."""
    _run([*input_args(src), "-map", "0:v:0", "-vf", _SCALE, *_png_args(out)], out)


def waveform(src: Path, out: Path, *, size: tuple[int, int] = WAVEFORM_SIZE) -> None:
    """The whole first audio stream drawn as one mono waveform (FFmpeg's ``showwavespic``); a square-root
    scale keeps quiet audio visible."""
    w, h = size
    # showwavespic keeps every sample until the end: at 2 kHz a 4-hour file needs ~115 MB, not 1.7 GB.
    graph = (
        f"[0:a:0]aformat=channel_layouts=mono,aresample=2000,"
        f"showwavespic=s={w}x{h}:scale=sqrt:colors={WAVEFORM_COLOR}[w]"
    )
    _run([*input_args(src), "-filter_complex", graph, "-map", "[w]", *_png_args(out)], out)


def font_specimen(src: Path, out: Path, *, size: tuple[int, int] = (THUMBNAIL_MAX, 160)) -> None:
    """A sample of the font: its name and a line of letters and digits, black on white."""
    try:
        name_font = ImageFont.truetype(str(src), 28)
        sample_font = ImageFont.truetype(str(src), 40)
        family, style = name_font.getname()
        image = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(image)
        draw.text((16, 14), f"{family or ''} {style or ''}".strip(), font=name_font, fill="#555555")
        draw.text((16, 70), "Aa Bb Cc 0123", font=sample_font, fill="black")
        image.save(out, format="PNG")
    except (OSError, ValueError) as exc:
        raise PreviewError(f"cannot draw the font: {exc}") from None
