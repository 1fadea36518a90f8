"""Media probing with PyAV: what is in a local file, and how big, long and fast it is.

:func:`probe` opens one local file and returns a :class:`MediaInfo`; every failure is a
:class:`MediaProbeError` naming the file and saying why in plain words (no PyAV exception
or traceback leaks out). :data:`probe_cache` does the same through a small LRU keyed on
(resolved path, mtime_ns, size), so an edit that uses one file in 200 clips probes it once.

Probing is safe for untrusted input paths: only the ``file`` protocol is allowed, playlists,
manifests and reference formats (HLS ``.m3u8``, ffconcat, SDP/RTP/RTSP, DASH, ...) are
refused both by sniffing the first bytes and by a demuxer whitelist, and only regular files
are opened (a FIFO would block forever).

Conventions:

* ``rotation`` is the clockwise turn a player applies to show the frames upright (0, 90,
  180 or 270), the convention of the legacy ``rotate`` tag: a portrait phone clip stored
  1920x1080 has ``rotation == 90``. FFmpeg's display matrix angle is counter-clockwise, so
  this is its negation. ``width``/``height`` are the displayed size (swapped for 90/270);
  ``coded_width``/``coded_height`` the stored frame size before rotation (not the
  macroblock-padded size).
* ``duration`` is an exact :class:`~fractions.Fraction` of seconds, from the container
  (PyAV's microsecond ``container.duration``) or else the longest stream, or else (an
  animated PNG/WebP states none) the end of its last frame; ``None`` for a still image.
  ``video_duration`` is where the picture ends, exact in the video stream's time base (a clip
  of the video lasts that long, however long its sound).
* Pictures are bounded before anything decodes them: a still image must be PNG (APNG),
  JPEG, GIF, WebP, BMP or TIFF, whose headers state the size, and that size (read with
  Pillow, which parses headers only) must be within :data:`MAX_SIDE` on each side, else the
  file is refused unopened. FFmpeg's probing of the other picture formats (``*_pipe``,
  ``image2``) would decode the whole picture to learn its size, and a vector format (SVG)
  is drawn at whatever size it declares, so they are not opened at all (ingest draws an
  uploaded SVG into a bounded PNG first: :mod:`reelforge.ffmpeg.rasterise`). Videos whose
  streams state a larger size are refused before the first frame is decoded.
* ``kind`` is ``"image"`` for a single still picture (PNG, JPEG, WebP, BMP, a one-frame
  GIF...), ``"video"`` for anything with moving pictures (an animated GIF too) and
  ``"audio"`` when there is no picture at all. Cover art in an MP3/M4A (an attached
  picture) does not count as video.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import stat
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from .binary import MAX_PIXELS, MAX_SIDE
from .sniff import is_svg

__all__ = [
    "MAX_PIXELS",
    "MAX_SIDE",
    "MediaInfo",
    "MediaKind",
    "MediaProbeError",
    "ProbeCache",
    "probe",
    "probe_cache",
]

MediaKind = Literal["video", "image", "audio"]

#: Bytes read up front to sniff playlists, text and known media signatures.
_HEAD_BYTES = 4096
#: Packets read while looking for the first decodable frame (and counting still frames).
_MAX_SCAN_PACKETS = 64
#: Packets read to time an animation whose container states no duration (APNG, WebP).
_MAX_MEASURE_PACKETS = 20_000

#: Demuxers that read other files or the network, run scripts, or describe media rather
#: than contain it. Refused whatever the file is called.
_BLOCKED_DEMUXERS = frozenset(
    {
        "hls",
        "applehttp",
        "dash",
        "concat",
        "ffconcat",
        "sdp",
        "rtp",
        "rtsp",
        "sap",
        "imf",
        "dvdvideo",
        "bluray",
        "avisynth",
        "vapoursynth",
        "lavfi",
        "webm_dash_manifest",
        "tee",
        "smoothstreaming",
    }
)
#: Suffixes of playlists and manifests, refused before anything is read.
_BLOCKED_SUFFIXES = frozenset(
    {".m3u8", ".m3u", ".ffconcat", ".concat", ".sdp", ".mpd", ".ism", ".vpy", ".avs"}
)
#: Demuxers of single pictures (a ``*_pipe`` demuxer is one as well).
_IMAGE_DEMUXERS = frozenset({"image2", "gif", "apng", "webp", "ico", "jpegxl_anim", "jxl_anim"})
#: The picture demuxers allowed to open a file: those of the formats whose size
#: :func:`_declared_size` reads from the header first. Every other picture demuxer (SVG, EXR,
#: JPEG XL, PSD, DPX, ``image2`` guessing a codec from the file name...) is left out of the
#: format whitelist, since FFmpeg decodes a whole picture just to learn its size.
_ALLOWED_IMAGE_DEMUXERS = frozenset(
    {"png_pipe", "apng", "jpeg_pipe", "gif", "gif_pipe", "webp_pipe", "webp", "bmp_pipe", "tiff_pipe"}
)
#: Pillow's names for those formats (its PNG plugin reads APNG, its JPEG one MPO).
_PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
#: PyAV's time base for container timestamps (microseconds).
_AV_TIME_BASE = 1_000_000

#: ``scheme:`` at the start of a path (two letters at least, so ``C:`` is not one).
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")
#: FFmpeg protocols that take no ``//``: ``concat:a|b``, ``subfile:...``, ``fd:3``...
_BARE_PROTOCOLS = frozenset({"concat", "concatf", "subfile", "fd", "pipe", "data", "file", "crypto", "cache"})


def _looks_like_url(raw: str) -> bool:
    m = _URL_RE.match(raw)
    return m is not None and ("://" in raw or m.group(1).lower() in _BARE_PROTOCOLS)


class MediaProbeError(Exception):
    """A file could not be probed. ``path`` is the file, ``reason`` says why.

    ``code`` is a stable machine-readable category: ``not_found``, ``not_local``,
    ``is_directory``, ``not_regular``, ``permission_denied``, ``unreadable``, ``empty``,
    ``unsafe`` (playlist, manifest or network format), ``not_media``, ``vector`` (SVG and
    other drawings, never rasterised), ``too_large`` (a picture over :data:`MAX_SIDE`),
    ``corrupt`` or ``no_streams``.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, code: str = "error") -> None:
        super().__init__(path, reason, code)
        self.path = Path(path)
        self.reason = reason
        self.code = code
        # Path() folds "http://h/x" into "http:/h/x"; name the file as it was given.
        self._shown = path if isinstance(path, str) else str(self.path)

    def __str__(self) -> str:
        return f"cannot probe {self._shown!r}: {self.reason}"


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` found in one file. See the module docstring for conventions."""

    path: Path
    kind: MediaKind
    format_name: str
    duration: Fraction | None = None
    video_duration: Fraction | None = None
    """Where the picture ends (the video stream's own end, exact in its time base, from the
    file's start): shorter than ``duration`` when the sound outlasts it. ``None`` when the
    stream states no duration (Matroska, WebM) or there is no moving picture."""
    has_video: bool = False
    has_audio: bool = False
    width: int | None = None
    height: int | None = None
    coded_width: int | None = None
    coded_height: int | None = None
    rotation: int = 0
    fps: Fraction | None = None
    video_codec: str | None = None
    pix_fmt: str | None = None
    has_alpha: bool = False
    audio_codec: str | None = None
    audio_channels: int | None = None
    sample_rate: int | None = None
    bit_rate: int | None = None
    size_bytes: int = field(default=0)

    @property
    def is_still(self) -> bool:
        return self.kind == "image"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly values: the path as a string, ``duration`` and ``fps`` as floats
        with their exact value beside them as a ``"num/den"`` string
        (``fps`` ``"30000/1001"`` and ``fps_float`` 29.97...)."""
        return {
            "path": str(self.path),
            "kind": self.kind,
            "format_name": self.format_name,
            "duration": float(self.duration) if self.duration is not None else None,
            "duration_exact": _frac_str(self.duration),
            "video_duration": float(self.video_duration) if self.video_duration is not None else None,
            "video_duration_exact": _frac_str(self.video_duration),
            "has_video": self.has_video,
            "has_audio": self.has_audio,
            "width": self.width,
            "height": self.height,
            "coded_width": self.coded_width,
            "coded_height": self.coded_height,
            "rotation": self.rotation,
            "fps": _frac_str(self.fps),
            "fps_float": float(self.fps) if self.fps is not None else None,
            "video_codec": self.video_codec,
            "pix_fmt": self.pix_fmt,
            "has_alpha": self.has_alpha,
            "audio_codec": self.audio_codec,
            "audio_channels": self.audio_channels,
            "sample_rate": self.sample_rate,
            "bit_rate": self.bit_rate,
            "size_bytes": self.size_bytes,
        }


def _frac_str(value: Fraction | None) -> str | None:
    if value is None:
        return None
    return f"{value.numerator}/{value.denominator}"


# --------------------------------------------------------------------------- checks


def _check_file(path: str | os.PathLike[str]) -> tuple[Path, os.stat_result]:
    """Resolve ``path`` and make sure it is a non-empty regular local file."""
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if not raw:
        raise MediaProbeError(raw, "empty path", code="not_found")
    try:
        st = os.stat(raw)
    except FileNotFoundError:
        if _looks_like_url(raw):
            raise MediaProbeError(
                raw, "only local files can be probed, not URLs or FFmpeg protocols", code="not_local"
            ) from None
        raise MediaProbeError(raw, "file not found", code="not_found") from None
    except NotADirectoryError:
        raise MediaProbeError(raw, "file not found (a parent is not a directory)", code="not_found") from None
    except PermissionError:
        raise MediaProbeError(raw, "permission denied", code="permission_denied") from None
    except (OSError, ValueError) as exc:
        raise MediaProbeError(raw, f"cannot access file: {_describe(exc)}", code="unreadable") from None
    resolved = Path(raw).resolve()
    if stat.S_ISDIR(st.st_mode):
        raise MediaProbeError(resolved, "is a directory, not a file", code="is_directory")
    if not stat.S_ISREG(st.st_mode):
        raise MediaProbeError(resolved, "not a regular file (a device, FIFO or socket)", code="not_regular")
    if st.st_size == 0:
        raise MediaProbeError(resolved, "file is empty (0 bytes)", code="empty")
    return resolved, st


def _read_head(path: Path) -> bytes:
    """The first bytes of ``path``; also proves the file is readable by this process."""
    try:
        with open(path, "rb") as fh:
            return fh.read(_HEAD_BYTES)
    except PermissionError:
        raise MediaProbeError(
            path, "permission denied (file is not readable)", code="permission_denied"
        ) from None
    except OSError as exc:
        raise MediaProbeError(path, f"cannot read file: {_describe(exc)}", code="unreadable") from None


def _text_start(head: bytes) -> bytes:
    """``head`` without a UTF-8/UTF-16 BOM and leading whitespace, for text sniffing."""
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    return head.lstrip()


def _reject_unsafe(path: Path, head: bytes) -> None:
    """Refuse playlists, manifests and scripts by name and by content."""
    suffix = path.suffix.lower()
    if suffix in _BLOCKED_SUFFIXES:
        raise MediaProbeError(
            path, f"{suffix} playlists, manifests and scripts are not media and are not opened", code="unsafe"
        )
    text = _text_start(head)
    checks: list[tuple[bool, str]] = [
        (text.startswith(b"#EXTM3U"), "an M3U/HLS playlist"),
        (text.lower().startswith(b"ffconcat version"), "an FFmpeg concat script"),
        (re.match(rb"v=0\r?\n", text) is not None, "an SDP session description"),
        (text.startswith(b"<?xml") and b"<MPD" in text, "a DASH manifest"),
        (text.startswith(b"<SmoothStreamingMedia"), "a Smooth Streaming manifest"),
    ]
    for hit, what in checks:
        if hit:
            raise MediaProbeError(
                path,
                f"file is {what}, which can reference other files or the network; "
                "only self-contained media files are probed",
                code="unsafe",
            )


def _is_image_demuxer(name: str) -> bool:
    return name in _IMAGE_DEMUXERS or name.endswith("_pipe")


def _reject_vector(path: Path, head: bytes) -> None:
    """Refuse SVG by content (whatever its name and encoding): a drawing has no pixel size of
    its own, FFmpeg's rasteriser draws it at the size it declares, and that is the attacker's
    choice (16000x16000 in 200 bytes is a gigabyte of pixels). It is never opened."""
    if is_svg(head):
        raise MediaProbeError(
            path,
            "SVG and other vector drawings are not read directly (they have no fixed pixel size); "
            "upload the SVG as an asset (it is drawn into a PNG) or export it as a PNG of at most "
            f"{MAX_SIDE}x{MAX_SIDE} pixels",
            code="vector",
        )


def _too_large(path: Path, width: int, height: int, what: str = "picture") -> MediaProbeError:
    return MediaProbeError(
        path,
        f"the {what} is {width}x{height} pixels; at most {MAX_SIDE}x{MAX_SIDE} is accepted",
        code="too_large",
    )


def _declared_size(path: Path, head: bytes) -> tuple[int, int] | None:
    """The size a still-picture file states in its header, read before anything decodes it;
    None for files that are not one of the accepted picture formats (videos, audio...).

    Pillow parses only the header here (``Image.open`` is lazy). A file with a strong picture
    signature (PNG, GIF, WebP, TIFF) whose header Pillow cannot read is refused: FFmpeg would
    learn its size only by decoding it. For the short JPEG and BMP signatures FFmpeg decides,
    its decoder bounded to :data:`MAX_PIXELS`.
    """
    sig = _signature(head)
    picture = sig in ("PNG", "JPEG", "GIF", "WebP") or head.startswith((b"BM", b"II*\x00", b"MM\x00*"))
    if not picture:
        return None
    from PIL import Image, UnidentifiedImageError  # only for pictures: a video never loads Pillow

    try:
        with Image.open(path, formats=_PILLOW_FORMATS) as im:
            width, height = im.size
    except Image.DecompressionBombError:
        # Pillow's own refusal (over twice its MAX_IMAGE_PIXELS): far over our limit too.
        raise MediaProbeError(
            path,
            f"the picture declares more than {MAX_PIXELS} pixels; at most {MAX_SIDE}x{MAX_SIDE} is accepted",
            code="too_large",
        ) from None
    except UnidentifiedImageError:
        if head.startswith(b"BM") or sig == "JPEG":
            return None  # short signatures that other files may start with: see the docstring
        raise MediaProbeError(
            path, f"corrupt picture: looks like {sig or 'TIFF'} but its header cannot be read", code="corrupt"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaProbeError(path, f"corrupt picture: {_describe(exc)}", code="corrupt") from None
    if width > MAX_SIDE or height > MAX_SIDE or width <= 0 or height <= 0:
        raise _too_large(path, width, height)
    return width, height


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the read is still text.
        return exc.start >= len(head) - 3 and len(head) == _HEAD_BYTES
    return True


def _signature(head: bytes) -> str | None:
    """Name a media container from its first bytes, if it is a well-known one."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "MP4/MOV"
    if head.startswith(b"RIFF"):
        return {b"WAVE": "WAV", b"AVI ": "AVI", b"WEBP": "WebP"}.get(head[8:12], "RIFF")
    prefixes = [
        (b"\x1aE\xdf\xa3", "Matroska/WebM"),
        (b"ID3", "MP3"),
        (b"OggS", "Ogg"),
        (b"fLaC", "FLAC"),
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"\xff\xd8\xff", "JPEG"),
        (b"FLV", "FLV"),
        (b"\x00\x00\x01\xba", "MPEG-PS"),
        (b"\x30\x26\xb2\x75", "ASF/WMV"),
    ]
    for prefix, name in prefixes:
        if head.startswith(prefix):
            return name
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "MPEG-TS"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MPEG audio"
    return None


def _describe(exc: BaseException) -> str:
    """A one-line description of an exception without its traceback."""
    import av

    if isinstance(exc, av.FFmpegError):
        text = exc.strerror or str(exc)
        return str(text)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- opening


@functools.cache
def _format_whitelist(image2: bool) -> str:
    """Every input format PyAV has, less the blocked ones, devices (no-file formats) and the
    picture demuxers of formats whose size is not read first. ``image2`` (which picks a
    decoder from the file name) only for a file whose header :func:`_declared_size` read:
    FFmpeg's own JPEGs are sometimes not recognised by content, only by name."""
    import av

    allowed: list[str] = []
    for name in sorted(av.formats_available):
        try:
            fmt = av.format.ContainerFormat(name, "r")
        except Exception:  # a muxer only, or unknown
            continue
        parts = set(name.split(","))
        if parts & _BLOCKED_DEMUXERS:
            continue
        if name == "image2":
            if image2:
                allowed.append(name)
            continue
        if _is_image_demuxer(name) and name not in _ALLOWED_IMAGE_DEMUXERS:
            continue
        if fmt.no_file:
            continue
        allowed.append(name)
    return ",".join(allowed)


def _open_options(*, image2: bool = False) -> dict[str, str]:
    return {
        # Only plain files: no http/tcp/..., no concat:/subfile:/fd:, also for nested opens.
        "protocol_whitelist": "file",
        "format_whitelist": _format_whitelist(image2),
        # image2: treat the name literally, never as a %d / glob sequence pattern.
        "pattern_type": "none",
    }


def _open_error(path: Path, head: bytes, exc: BaseException) -> MediaProbeError:
    import av

    detail = _describe(exc)
    if isinstance(exc, av.error.ArgumentError):
        return MediaProbeError(
            path,
            "the format is not allowed for probing: pictures must be PNG, JPEG, GIF, WebP, BMP or TIFF, "
            "and playlists, network and device formats are refused",
            code="unsafe",
        )
    if isinstance(exc, av.error.PermissionError):
        return MediaProbeError(path, "permission denied", code="permission_denied")
    if isinstance(exc, av.error.FileNotFoundError):
        return MediaProbeError(path, "file not found", code="not_found")
    if isinstance(exc, av.error.IsADirectoryError):
        return MediaProbeError(path, "is a directory, not a file", code="is_directory")
    sig = _signature(head)
    if sig is not None:
        return MediaProbeError(
            path,
            f"corrupt or truncated media: looks like {sig} but FFmpeg cannot read it ({detail})",
            code="corrupt",
        )
    if _looks_like_text(head):
        return MediaProbeError(path, "not a media file (it looks like text)", code="not_media")
    return MediaProbeError(path, f"not a recognised media file ({detail})", code="not_media")


# --------------------------------------------------------------------------- inspection


def _is_attached_picture(stream: Any) -> bool:
    import av

    try:
        return bool(stream.disposition & av.stream.Disposition.attached_pic)
    except Exception:
        return False


def _rotation_from_tag(stream: Any) -> int | None:
    tag = stream.metadata.get("rotate")
    if tag is None:
        return None
    try:
        return round(float(tag) / 90.0) * 90 % 360
    except (ValueError, OverflowError):
        return None


def _clockwise(ccw_degrees: float) -> int:
    """FFmpeg's counter-clockwise display-matrix angle as a clockwise multiple of 90."""
    if not math.isfinite(ccw_degrees):
        return 0
    return round(-ccw_degrees / 90.0) * 90 % 360


def _has_alpha(pix_fmt: str | None, metadata: dict[str, str]) -> bool:
    import av

    # VP8/VP9 in WebM store alpha as a side channel of a yuv420p stream.
    if metadata.get("alpha_mode", metadata.get("ALPHA_MODE")) == "1":
        return True
    if not pix_fmt:
        return False
    try:
        return any(c.is_alpha for c in av.video.format.VideoFormat(pix_fmt).components)
    except Exception:
        return False


@dataclass
class _Scan:
    frame_width: int | None = None
    frame_height: int | None = None
    rotation_ccw: float | None = None
    packets: int = 0
    end_pts: int | None = None  # max(pts + duration) seen, in the stream's time base
    decoded: bool = False
    errors: list[str] = field(default_factory=list)
    decoder_missing: bool = False


def _scan(
    container: Any, stream: Any, *, want_packets: int, want_rotation: bool, measure: bool = False
) -> _Scan:
    """Demux ``stream`` until one frame decodes and ``want_packets`` packets were seen
    (or, with ``measure``, to the end, to time an animation that states no duration).

    The first decoded video frame carries the display matrix (container rotation, JPEG
    EXIF orientation) as side data, which PyAV does not expose on the stream itself.
    """
    import av

    scan = _Scan()
    ctx = stream.codec_context
    if ctx is None:
        scan.decoder_missing = True
    else:
        with contextlib.suppress(Exception):
            ctx.thread_count = 1  # no decoder threads to spin up for one frame
        with contextlib.suppress(Exception):
            ctx.options = {**ctx.options, "max_pixels": str(MAX_PIXELS)}  # no frame above the limit
    try:
        for packet in container.demux(stream):
            if packet.size:
                scan.packets += 1
                if packet.pts is not None:
                    end = packet.pts + (packet.duration or 0)
                    scan.end_pts = end if scan.end_pts is None else max(scan.end_pts, end)
            if not scan.decoded and not scan.decoder_missing:
                _decode_first(scan, stream, packet, want_rotation)
            done_decoding = scan.decoded or scan.decoder_missing
            limit = _MAX_MEASURE_PACKETS if measure else _MAX_SCAN_PACKETS
            if (done_decoding and scan.packets >= want_packets and not measure) or scan.packets >= limit:
                break
    except (av.FFmpegError, OSError, ValueError) as exc:
        # A demux error after the first frame (damage further in) is not our concern here.
        scan.errors.append(_describe(exc))
    return scan


def _decode_first(scan: _Scan, stream: Any, packet: Any, want_rotation: bool) -> None:
    import av

    try:
        frames = stream.decode(packet)
    except av.error.DecoderNotFoundError:
        scan.decoder_missing = True
        return
    except (av.FFmpegError, ValueError) as exc:
        scan.errors.append(_describe(exc))
        return
    if not frames:
        return
    scan.decoded = True
    frame = frames[0]
    if stream.type == "video":
        scan.frame_width, scan.frame_height = frame.width, frame.height
        if want_rotation:
            # frame.side_data is not used: PyAV 18 raises ValueError on side data types
            # its enum does not know (FFmpeg 8's EXIF, on every JPEG with EXIF).
            try:
                scan.rotation_ccw = float(frame.rotation)
            except Exception:
                scan.rotation_ccw = None


def _mov_truncated(container: Any, size: int) -> bool:
    """True when an MP4/MOV index points at sample data past the end of the file."""
    for stream in container.streams:
        try:
            entries = stream.index_entries
            n = len(entries)
            if n:
                last = entries[n - 1]
                if last.size > 0 and last.pos + last.size > size:
                    return True
        except Exception:
            continue
    return False


def _duration(container: Any, streams: list[Any]) -> Fraction | None:
    if container.duration is not None and container.duration > 0:
        return Fraction(int(container.duration), _AV_TIME_BASE)
    best: Fraction | None = None
    for s in streams:
        if s.duration is not None and s.duration > 0 and s.time_base is not None:
            d = s.duration * Fraction(s.time_base)
            if best is None or d > best:
                best = d
    return best


def _stream_start(stream: Any) -> Fraction:
    if stream.start_time is None or stream.time_base is None:
        return Fraction(0)
    return stream.start_time * Fraction(stream.time_base)


def _video_end(vstream: Any, streams: list[Any]) -> Fraction | None:
    """The end of the video stream's last frame, in seconds from the file's start (its
    earliest stream), exact: a microsecond rounding could lose the last frame."""
    if not vstream.duration or vstream.duration <= 0 or vstream.time_base is None:
        return None
    end = _stream_start(vstream) + vstream.duration * Fraction(vstream.time_base)
    return end - min(_stream_start(s) for s in streams)


def _fps(stream: Any) -> Fraction | None:
    for attr in ("average_rate", "guessed_rate", "base_rate"):
        rate = getattr(stream, attr, None)
        if rate:
            return Fraction(rate)
    return None


def _inspect(path: Path, st: os.stat_result, container: Any) -> MediaInfo:
    format_name = str(container.format.name)
    if set(format_name.split(",")) & _BLOCKED_DEMUXERS:
        raise MediaProbeError(
            path,
            f"the {format_name!r} demuxer is not allowed for probing "
            "(it can reference other files or the network)",
            code="unsafe",
        )

    videos = [s for s in container.streams.video if not _is_attached_picture(s)]
    audios = list(container.streams.audio)
    if not videos and not audios:
        others = sorted({s.type for s in container.streams})
        what = f" (only {', '.join(others)} streams)" if others else ""
        raise MediaProbeError(path, f"no audio or video stream{what}", code="no_streams")
    if "mov" in format_name.split(",") and _mov_truncated(container, st.st_size):
        raise MediaProbeError(
            path,
            "corrupt media: the file is truncated (its index points past the end of the file)",
            code="corrupt",
        )

    vstream = videos[0] if videos else None
    astream = audios[0] if audios else None
    image_family = _is_image_demuxer(format_name)
    if image_family and format_name not in _ALLOWED_IMAGE_DEMUXERS | {"image2"}:  # not whitelisted
        raise MediaProbeError(path, f"the {format_name!r} picture format is not accepted", code="not_media")
    stated = vstream.codec_context if vstream is not None else None
    if stated is not None and (stated.width > MAX_SIDE or stated.height > MAX_SIDE):
        # Refused on what the stream states, before the first frame is decoded.
        raise _too_large(path, stated.width, stated.height, "video" if not image_family else "picture")

    # One pass over the primary stream: a decodable first frame (sanity + rotation + size),
    # and for picture formats whether there is more than one frame.
    primary: Any = vstream if vstream is not None else astream  # one exists: checked above
    could_be_still = vstream is not None and astream is None and image_family
    unknown_duration = _duration(container, [primary]) is None
    scan = _scan(
        container,
        primary,
        want_packets=2 if could_be_still else 1,
        want_rotation=vstream is not None,
        measure=could_be_still and unknown_duration,
    )
    if not scan.decoded and not scan.decoder_missing:
        if scan.packets == 0:
            raise MediaProbeError(path, "corrupt media: the stream contains no frames", code="corrupt")
        why = f" ({scan.errors[0]})" if scan.errors else ""
        raise MediaProbeError(path, f"corrupt media: no frame could be decoded{why}", code="corrupt")

    kind: MediaKind
    if vstream is None:
        kind = "audio"
    elif could_be_still and scan.packets <= 1:
        kind = "image"
    else:
        kind = "video"

    info: dict[str, Any] = {}
    if vstream is not None:
        vctx = vstream.codec_context
        coded_w = int(vctx.width) if vctx is not None and vctx.width else scan.frame_width
        coded_h = int(vctx.height) if vctx is not None and vctx.height else scan.frame_height
        rotation = _rotation_from_tag(vstream)
        if scan.rotation_ccw is not None and (rotation is None or scan.rotation_ccw != 0):
            rotation = _clockwise(scan.rotation_ccw)
        rotation = rotation or 0
        width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
        pix_fmt = vctx.pix_fmt if vctx is not None else None
        info.update(
            width=width,
            height=height,
            coded_width=coded_w,
            coded_height=coded_h,
            rotation=rotation,
            fps=None if kind == "image" else _fps(vstream),
            video_codec=vstream.codec.canonical_name if vctx is not None else None,
            pix_fmt=pix_fmt,
            has_alpha=_has_alpha(pix_fmt, dict(vstream.metadata)),
        )
    if astream is not None:
        actx = astream.codec_context
        info.update(
            audio_codec=astream.codec.canonical_name if actx is not None else None,
            audio_channels=int(actx.channels) if actx is not None and actx.channels else None,
            sample_rate=int(actx.sample_rate) if actx is not None and actx.sample_rate else None,
        )

    duration = None if kind == "image" else _duration(container, [s for s in (vstream, astream) if s])
    if duration is None and kind == "video" and scan.end_pts and primary.time_base is not None:
        start = primary.start_time or 0
        duration = (scan.end_pts - start) * Fraction(primary.time_base) or None
    if kind == "video" and vstream is not None:
        info["video_duration"] = _video_end(vstream, [s for s in (vstream, astream) if s])
    bit_rate = int(container.bit_rate or 0) or None
    return MediaInfo(
        path=path,
        kind=kind,
        format_name=format_name,
        duration=duration,
        has_video=vstream is not None,
        has_audio=astream is not None,
        bit_rate=None if kind == "image" else bit_rate,
        size_bytes=int(st.st_size),
        **info,
    )


# --------------------------------------------------------------------------- public API


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Probe one local media file.

    Raises :class:`MediaProbeError` (never a PyAV exception) when the file is missing, a
    directory, unreadable, empty, not media, corrupt, or a playlist/manifest that could
    make FFmpeg read other files or the network. ``MediaInfo.path`` is the resolved path.
    """
    import av  # lazily: commands that probe nothing start quicker

    resolved, st = _check_file(path)
    head = _read_head(resolved)
    _reject_unsafe(resolved, head)
    _reject_vector(resolved, head)
    declared = _declared_size(resolved, head)
    try:
        container = av.open(
            str(resolved),
            mode="r",
            container_options=_open_options(image2=declared is not None),
            # Bounds the frames FFmpeg decodes while probing streams, whatever a video declares.
            options={"max_pixels": str(MAX_PIXELS)},
            metadata_errors="replace",
        )
    except Exception as exc:
        raise _open_error(resolved, head, exc) from None
    try:
        with container:
            return _inspect(resolved, st, container)
    except MediaProbeError:
        raise
    except Exception as exc:
        raise MediaProbeError(resolved, f"corrupt media: {_describe(exc)}", code="corrupt") from None


class ProbeCache:
    """:func:`probe` behind an LRU keyed on (resolved path, mtime_ns, size).

    A file changed in place (new mtime or size) is probed again; errors are not cached.
    ``cache_info()`` and ``cache_clear()`` are those of :func:`functools.lru_cache`.
    """

    def __init__(self, maxsize: int = 1024) -> None:
        self._cached = functools.lru_cache(maxsize=maxsize)(self._probe_key)

    @staticmethod
    def _probe_key(resolved: str, mtime_ns: int, size: int) -> MediaInfo:
        return probe(resolved)

    def __call__(self, path: str | os.PathLike[str]) -> MediaInfo:
        resolved, st = _check_file(path)
        return self._cached(str(resolved), st.st_mtime_ns, st.st_size)

    def cache_info(self) -> Any:
        return self._cached.cache_info()

    def cache_clear(self) -> None:
        self._cached.cache_clear()


#: The shared cache: ``probe_cache(path)`` is ``probe(path)``, at most once per file version.
probe_cache = ProbeCache()
