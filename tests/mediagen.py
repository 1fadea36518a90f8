"""Tiny test media, generated with the real FFmpeg from lavfi sources.

Every helper writes one file and returns its :class:`~pathlib.Path`. They are fast (tiny
sizes, ``ultrafast`` x264, a second of content by default) and idempotent: the same call
writes the same bytes again (``+bitexact``, no encoder/creation-time tags), and a file is
written to a temporary name and renamed into place, so an interrupted run never leaves a
half-written file behind.

The container and codecs follow the file suffix::

    make_video(p / "clip.mp4")                       # h264 + aac, testsrc2 pattern + 440 Hz tone
    make_video(p / "red.mp4", color="red", duration=2, audio=False)
    make_video(p / "ntsc.mp4", fps=Fraction(24000, 1001))
    make_video(p / "anim.gif")                       # animated GIF (never has audio)
    make_image(p / "still.png", color="blue")        # png / jpg / webp / bmp / gif
    make_image(p / "bars.jpg", pattern="smptebars")
    make_audio(p / "tone.mp3", tone_hz=880, volume_db=-6)   # wav / mp3 / m4a / aac / ogg / opus / flac
    make_silence(p / "quiet.wav", duration=0.5)
    make_rotated_video(p / "portrait.mp4", rotation=90)     # 320x180 stored, shown as 180x320

Use the session-scoped ``media`` fixture (tests/conftest.py) rather than calling these
directly when a test only needs "some video": it caches files across the session.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg

__all__ = [
    "MediaGenError",
    "ffmpeg_exe",
    "make_audio",
    "make_click_track",
    "make_flash_and_beep",
    "make_image",
    "make_rotated_video",
    "make_silence",
    "make_vfr_video",
    "make_video",
    "run_ffmpeg",
]

Size = tuple[int, int]
Rate = int | float | Fraction | str

#: Output options that make the bytes reproducible (no encoder version or timestamps).
_BITEXACT = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]

#: Per-codec video encoder options: the fastest settings that still give a normal file.
_VIDEO_CODEC_ARGS: dict[str, list[str]] = {
    "libx264": ["-preset", "ultrafast", "-threads", "1"],
    "libx265": ["-preset", "ultrafast", "-x265-params", "log-level=error:pools=1"],
    "libvpx": ["-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k"],
    "libvpx-vp9": ["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "0", "-b:v", "500k"],
    "libsvtav1": ["-preset", "12"],
    "mpeg4": ["-q:v", "5"],
    "mjpeg": ["-q:v", "5"],
    "prores_ks": ["-profile:v", "0"],
}

#: Default pixel format per video codec (None: let FFmpeg choose).
_VIDEO_PIX_FMT: dict[str, str | None] = {
    "libx264": "yuv420p",
    "libx265": "yuv420p",
    "libvpx": "yuv420p",
    "libvpx-vp9": "yuv420p",
    "libsvtav1": "yuv420p",
    "mpeg4": "yuv420p",
    "mjpeg": "yuvj420p",
    "prores_ks": "yuv422p10le",
}

#: Audio codec per container suffix, for make_video's tone and make_audio.
_AUDIO_CODEC_BY_SUFFIX: dict[str, list[str]] = {
    ".mp4": ["-c:a", "aac", "-b:a", "96k"],
    ".m4v": ["-c:a", "aac", "-b:a", "96k"],
    ".mov": ["-c:a", "aac", "-b:a", "96k"],
    ".mkv": ["-c:a", "aac", "-b:a", "96k"],
    ".ts": ["-c:a", "aac", "-b:a", "96k"],
    ".webm": ["-c:a", "libopus", "-b:a", "64k"],
    ".avi": ["-c:a", "pcm_s16le"],
    ".wav": ["-c:a", "pcm_s16le"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    ".m4a": ["-c:a", "aac", "-b:a", "96k"],
    ".aac": ["-c:a", "aac", "-b:a", "96k"],
    ".ogg": ["-c:a", "libvorbis", "-q:a", "2"],
    ".opus": ["-c:a", "libopus", "-b:a", "64k"],
    ".flac": ["-c:a", "flac"],
}

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


class MediaGenError(RuntimeError):
    """FFmpeg failed to generate a test file; the message carries its stderr."""


def ffmpeg_exe() -> str:
    """The FFmpeg binary bundled in the imageio-ffmpeg wheel."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(args: Sequence[str]) -> None:
    """Run FFmpeg quietly with ``args`` (after the global options); raise MediaGenError on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace").strip()
        raise MediaGenError(f"ffmpeg failed ({exc.returncode}): {' '.join(cmd)}\n{stderr}") from None


def _rate(fps: Rate) -> str:
    if isinstance(fps, Fraction):
        return f"{fps.numerator}/{fps.denominator}"
    return str(fps)


def _num(value: float) -> str:
    # Plain decimal for FFmpeg (no exponent form such as 1e-05).
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _check_size(size: Size) -> str:
    w, h = size
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return f"{w}x{h}"


def _write(path: str | os.PathLike[str], build: Callable[[Path], None]) -> Path:
    """Run ``build(tmp)`` to create a temporary file beside ``path``, then rename it into place."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Keep the real suffix: FFmpeg picks the muxer from it.
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}{out.suffix}")
    try:
        build(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _video_source(source: str, color: str | None, size: Size, fps: Rate) -> str:
    dims = _check_size(size)
    if color is not None:
        return f"color=c={color}:size={dims}:rate={_rate(fps)}"
    sep = ":" if "=" in source else "="
    return f"{source}{sep}size={dims}:rate={_rate(fps)}"


def _tone_source(tone_hz: float, sample_rate: int) -> str:
    return f"sine=frequency={_num(tone_hz)}:sample_rate={sample_rate}"


def make_video(
    path: str | os.PathLike[str],
    *,
    duration: float = 1.0,
    size: Size = (320, 180),
    fps: Rate = 25,
    source: str = "testsrc2",
    color: str | None = None,
    audio: bool = True,
    tone_hz: float = 440,
    codec: str = "libx264",
    pix_fmt: str | None = None,
    vf: str | None = None,
    sample_rate: int = 48000,
    channels: int = 2,
    faststart: bool = False,
    audio_duration: float | None = None,
) -> Path:
    """Write a video of ``duration`` seconds from a lavfi ``source`` (or a solid ``color``).

    ``fps`` may be an int, a Fraction or a string such as ``"24000/1001"`` (a float like
    23.976 is *not* 24000/1001 to FFmpeg). ``audio=True`` adds a ``tone_hz`` sine, encoded to
    suit the container (aac for mp4/mov/mkv, opus for webm, pcm for avi). A ``.gif`` path gives
    an animated GIF and ``.apng`` an animated PNG (no audio); ``.webm`` switches the default codec to VP9. ``faststart``
    moves the mp4 index to the front (by default it is written at the end, as a camera does).
    ``audio_duration`` gives the sound its own length (longer than the picture's, as in a
    camera file whose audio outlasts its video).
    ``vf`` is an extra filter chain applied to the picture, e.g.
    ``"drawbox=x=0:y=0:w=iw/2:h=ih:color=red:t=fill"`` to paint the left half red.
    """
    if duration <= 0:
        raise ValueError("duration must be positive")
    out = Path(path)
    suffix = out.suffix.lower()
    vsrc = _video_source(source, color, size, fps)
    filters = ["-vf", vf] if vf else []

    if suffix in {".gif", ".apng"}:

        def build_anim(tmp: Path) -> None:
            run_ffmpeg(
                [
                    "-f",
                    "lavfi",
                    "-i",
                    vsrc,
                    "-t",
                    _num(duration),
                    *filters,
                    "-c:v",
                    suffix[1:],
                    *_BITEXACT,
                    str(tmp),
                ]
            )

        return _write(out, build_anim)

    if suffix == ".webm" and codec == "libx264":
        codec = "libvpx-vp9"
    vargs = ["-c:v", codec, *_VIDEO_CODEC_ARGS.get(codec, [])]
    fmt = pix_fmt or _VIDEO_PIX_FMT.get(codec)
    if fmt:
        vargs += ["-pix_fmt", fmt]

    inputs = ["-f", "lavfi", "-i", vsrc]
    aargs: list[str] = []
    if audio:
        inputs += ["-f", "lavfi", "-i", _tone_source(tone_hz, sample_rate)]
        aargs = ["-ac", str(channels), *_AUDIO_CODEC_BY_SUFFIX.get(suffix, ["-c:a", "aac"])]
    extra = ["-movflags", "+faststart"] if faststart and suffix in {".mp4", ".m4v", ".mov"} else []

    length = ["-t", _num(duration)]
    if audio and audio_duration is not None:
        # Each input cut to its own length, the file as long as the longer one.
        inputs = ["-t", _num(duration), *inputs[:4], "-t", _num(audio_duration), *inputs[4:]]
        length = []

    def build(tmp: Path) -> None:
        run_ffmpeg([*inputs, *length, *filters, *vargs, *aargs, *extra, *_BITEXACT, str(tmp)])

    return _write(out, build)


def make_image(
    path: str | os.PathLike[str],
    *,
    size: Size = (320, 180),
    color: str = "blue",
    pattern: str | None = None,
    alpha: bool = False,
) -> Path:
    """Write a single still image, format by suffix (png, jpg/jpeg, webp, bmp, gif, tif).

    A solid ``color`` (any FFmpeg colour, e.g. ``"red"``, ``"0x336699"``, ``"white@0.5"``)
    unless ``pattern`` names a lavfi source (``"testsrc2"``, ``"smptebars"``, ``"rgbtestsrc"``,
    ...). ``alpha=True`` keeps an alpha channel (png/webp/tif): ``color="red@0.5"`` is then
    half transparent.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in _IMAGE_SUFFIXES:
        raise ValueError(f"unsupported image suffix {suffix!r} (use one of {sorted(_IMAGE_SUFFIXES)})")
    src = _video_source(pattern, None, size, 1) if pattern else _video_source("", color, size, 1)
    vf: list[str] = []
    if alpha:
        if suffix not in {".png", ".webp", ".tif", ".tiff"}:
            raise ValueError(f"{suffix} cannot store an alpha channel")
        vf = ["-vf", "format=rgba" if suffix != ".webp" else "format=yuva420p"]
    codec_args: list[str] = []
    if suffix in {".jpg", ".jpeg"}:
        codec_args = ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p"]
    elif suffix == ".webp":
        codec_args = ["-c:v", "libwebp", "-lossless", "1"]
    elif suffix == ".gif":
        codec_args = ["-c:v", "gif"]

    def build(tmp: Path) -> None:
        # The image2 muxer (png, jpg, bmp, tif) wants -update 1 to write one plain file.
        update = ["-update", "1"] if suffix not in {".webp", ".gif"} else []
        run_ffmpeg(
            ["-f", "lavfi", "-i", src, *vf, "-frames:v", "1", *codec_args, *update, *_BITEXACT, str(tmp)]
        )

    return _write(out, build)


def _audio_args(out: Path) -> list[str]:
    suffix = out.suffix.lower()
    try:
        return _AUDIO_CODEC_BY_SUFFIX[suffix]
    except KeyError:
        raise ValueError(f"unsupported audio suffix {suffix!r}") from None


def make_audio(
    path: str | os.PathLike[str],
    *,
    duration: float = 1.0,
    tone_hz: float = 440,
    volume_db: float | None = None,
    sample_rate: int = 48000,
    channels: int = 2,
) -> Path:
    """Write a sine tone of ``tone_hz``; codec by suffix (wav, mp3, m4a/aac, ogg, opus, flac).

    The lavfi sine has amplitude 1/8 (about -18 dBFS peak); ``volume_db`` adds gain on top
    (negative to attenuate).
    """
    if duration <= 0:
        raise ValueError("duration must be positive")
    out = Path(path)
    codec = _audio_args(out)
    af = ["-af", f"volume={_num(volume_db)}dB"] if volume_db is not None else []

    def build(tmp: Path) -> None:
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                _tone_source(tone_hz, sample_rate),
                "-t",
                _num(duration),
                *af,
                "-ac",
                str(channels),
                "-ar",
                str(sample_rate),
                *codec,
                *_BITEXACT,
                str(tmp),
            ]
        )

    return _write(out, build)


def make_silence(
    path: str | os.PathLike[str],
    *,
    duration: float = 1.0,
    sample_rate: int = 48000,
    channels: int = 2,
) -> Path:
    """Write digital silence (every sample zero); codec by suffix as for :func:`make_audio`."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    out = Path(path)
    codec = _audio_args(out)
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")

    def build(tmp: Path) -> None:
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"anullsrc=channel_layout={layout}:sample_rate={sample_rate}",
                "-t",
                _num(duration),
                *codec,
                *_BITEXACT,
                str(tmp),
            ]
        )

    return _write(out, build)


def make_rotated_video(
    path: str | os.PathLike[str],
    *,
    rotation: int = 90,
    **video_kwargs: object,
) -> Path:
    """Write a video whose *display* is rotated ``rotation`` degrees clockwise by metadata.

    This is what a phone writes for a portrait clip: the frames are stored landscape
    (``size``, default 320x180) and a display matrix says "turn me 90° clockwise", so players
    show 180x320. ``rotation`` uses that clockwise convention (the legacy ``rotate`` tag's,
    and :attr:`reelforge.ffmpeg.probe.MediaInfo.rotation`'s). FFmpeg 9 has no ``rotate`` tag
    any more: this re-muxes a plain video with the input option ``-display_rotation``, which
    takes a *counter-clockwise* angle, hence the sign flip. ``video_kwargs`` go to
    :func:`make_video`; the suffix must be a container with a display matrix (mp4, mov, mkv).
    """
    out = Path(path)
    if out.suffix.lower() not in {".mp4", ".mov", ".m4v", ".mkv"}:
        raise ValueError("rotation metadata needs an mp4, mov or mkv file")
    if rotation % 90:
        raise ValueError("rotation must be a multiple of 90")

    def build(tmp: Path) -> None:
        base = tmp.with_name(f"{tmp.stem}.base{tmp.suffix}")
        try:
            make_video(base, **video_kwargs)  # type: ignore[arg-type]
            run_ffmpeg(
                [
                    "-display_rotation",
                    str(-rotation % 360),
                    "-i",
                    str(base),
                    "-c",
                    "copy",
                    *_BITEXACT,
                    str(tmp),
                ]
            )
        finally:
            base.unlink(missing_ok=True)

    return _write(out, build)


def make_flash_and_beep(
    path: str | os.PathLike[str],
    *,
    fps: Rate,
    flash_frame: int,
    duration: float = 2.0,
    size: Size = (320, 180),
    sample_rate: int = 48000,
    keyframe_interval: int = 12,
    video_duration: float | None = None,
) -> Path:
    """Write a black video whose frame ``flash_frame`` is white, with a 1 kHz beep (amplitude
    0.5) that starts at that frame's timestamp, to the sample, and silence before it.

    A sync test source: a trim or a cut that reads the source one frame early or late moves
    the flash off its frame, and the beep tells where the sound went. The audio is PCM (mov or
    mkv), so the beep's first sample is exact; keyframes every ``keyframe_interval`` frames,
    so a seek lands between keyframes. ``video_duration`` makes the picture shorter than the
    sound (``duration``), as a camera file whose audio outlasts its video.
    """
    out = Path(path)
    if out.suffix.lower() not in {".mov", ".mkv"}:
        raise ValueError("the flash-and-beep source is written as mov or mkv (PCM audio)")
    rate = Fraction(_rate(fps))
    onset = Fraction(flash_frame) / rate * sample_rate
    if onset.denominator != 1:
        raise ValueError(f"frame {flash_frame} at {fps} fps does not start on a whole sample")
    beep = f"if(gte(n,{onset.numerator}),0.5*sin(2*PI*1000*(n-{onset.numerator})/{sample_rate}),0)"
    picture = (
        f"color=c=black:size={_check_size(size)}:rate={_rate(fps)},"
        f"drawbox=c=white:t=fill:enable='eq(n,{flash_frame})'"
    )

    def build(tmp: Path) -> None:
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-t",
                _num(video_duration or duration),
                "-i",
                picture,
                "-f",
                "lavfi",
                "-t",
                _num(duration),
                "-i",
                f"aevalsrc='{beep}':s={sample_rate}:c=stereo",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-threads",
                "1",
                "-g",
                str(keyframe_interval),
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "pcm_s16le",
                *_BITEXACT,
                str(tmp),
            ]
        )

    return _write(out, build)


def make_click_track(
    path: str | os.PathLike[str],
    *,
    duration: float = 2.0,
    every: int = 2400,
    click: int = 4,
    amplitude: float = 0.99,
    bed: float = 0.02,
    sample_rate: int = 48000,
) -> Path:
    """Write a click track: a ``click``-sample pulse of ``amplitude`` every ``every`` samples
    over a quiet 100 Hz bed (amplitude ``bed``), the hardest case for a true-peak limiter."""
    out = Path(path)
    codec = _audio_args(out)
    expr = f"if(lt(mod(n,{every}),{click}),{_num(amplitude)},0)+{_num(bed)}*sin(2*PI*100*n/{sample_rate})"

    def build(tmp: Path) -> None:
        run_ffmpeg(
            [
                *("-f", "lavfi", "-i", f"aevalsrc='{expr}':s={sample_rate}:c=stereo"),
                *("-t", _num(duration), *codec, *_BITEXACT, str(tmp)),
            ]
        )

    return _write(out, build)


def make_vfr_video(
    path: str | os.PathLike[str],
    *,
    fps: Rate = Fraction(30000, 1001),
    frames: int = 31,
    held_frame: int = 9,
    size: Size = (320, 180),
) -> Path:
    """Write a variable-frame-rate mp4 (no audio): ``frames`` testsrc2 frames one period of
    ``fps`` apart, except frame ``held_frame``, which stays on screen for two periods. The
    video track's time base is the rate's own (1/30000 for 29.97), so its timestamps are exact."""
    rate = Fraction(_rate(fps))
    tick = rate.denominator
    pts = f"(N+gte(N,{held_frame + 1}))*{tick}"

    def build(tmp: Path) -> None:
        run_ffmpeg(
            [
                *("-f", "lavfi", "-i", f"testsrc2=size={_check_size(size)}:rate={_rate(fps)}"),
                *("-frames:v", str(frames), "-vf", f"settb=1/{rate.numerator},setpts='{pts}'"),
                *("-fps_mode", "passthrough", "-video_track_timescale", str(rate.numerator)),
                *("-c:v", "libx264", *_VIDEO_CODEC_ARGS["libx264"], "-pix_fmt", "yuv420p"),
                *_BITEXACT,
                str(tmp),
            ]
        )

    return _write(path, build)
