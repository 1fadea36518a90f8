"""Turn a complete local file into an asset: hash, dedup, sniff and probe, store, preview.

:func:`ingest_file` is the one way bytes become an :class:`~reelforge.db.models.Asset`, for
uploads and for render outputs alike. What a file *is* comes from its content, never from the
client's name or Content-Type: known media signatures and fonts by their magic bytes, then
subtitles and LUTs for text, and FFmpeg (:func:`reelforge.ffmpeg.probe.probe`) has the last
word on media. The name only breaks ties for text formats and words error messages.

Dedup is per workspace on the content's sha256 (a unique constraint); two uploads of the same
bytes racing each other both end with the one asset that won the insert.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import ImageFont
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reelforge.db.models import Asset, AssetCollection, AssetTag, AssetVersion, new_id, utcnow
from reelforge.db.retention import AssetRetention
from reelforge.edit.timing import parse_time
from reelforge.ffmpeg.probe import MAX_SIDE, MediaInfo, MediaProbeError, probe
from reelforge.ffmpeg.rasterise import SvgError, is_svg, rasterise_svg
from reelforge.render.captions import CaptionFileError, load_cues
from reelforge.render.effects import LutFileError, parse_cube_file
from reelforge.representations import record_asset_event
from reelforge.settings import Settings

from . import thumbnails
from .storage import Storage

__all__ = [
    "KINDS",
    "MAX_DIMENSION",
    "MAX_FPS",
    "IngestError",
    "Sniffed",
    "clean_name",
    "complete_previews",
    "discard_stored",
    "fail_previews",
    "file_sha256",
    "ingest_file",
    "pending_previews",
    "sniff",
    "store_version",
    "version_row",
]

log = logging.getLogger("reelforge.ingest")

KINDS = ("video", "image", "audio", "subtitles", "font", "lut")
MAX_DIMENSION = MAX_SIDE
"""The largest picture side accepted (probing already refuses bigger pictures unopened)."""
MAX_FPS = 240
MAX_LUT_BYTES = 64 * 2**20
"""A 129³ LUT is about 55 MB of text; a bigger 'LUT' is a mistake and would be read into memory."""
_HEAD = 4096
_CHUNK = 1 << 20


class IngestError(Exception):
    """The file cannot become an asset. ``code`` is a problem slug the API answers with:
    ``media-unsupported`` (not media, subtitles, fonts or LUTs; corrupt; absurd dimensions or
    frame rate) or ``content-too-large`` (more bytes or a longer duration than allowed)."""

    def __init__(self, code: str, reason: str):
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


@dataclass(frozen=True)
class Sniffed:
    """What a file is: asset ``kind``, the canonical ``content_type`` and file ``suffix``, and
    the probed ``media`` facts stored on the asset."""

    kind: str
    content_type: str
    suffix: str
    media: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- names and hashes

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(name: str | None, fallback: str = "untitled") -> str:
    """A display name from a client's file name: no directories, no control characters, NFC,
    at most 255 characters (keeping the extension when it has to cut)."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = _CONTROL.sub("", text).strip()
    if len(text) > 255:
        stem, dot, ext = text.rpartition(".")
        text = stem[: 255 - len(ext) - 1] + dot + ext if dot and 0 < len(ext) <= 16 else text[:255]
    return text or fallback


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- sniffing

_FONT_MAGIC = {
    b"\x00\x01\x00\x00": ("truetype", "font/ttf", ".ttf"),
    b"true": ("truetype", "font/ttf", ".ttf"),
    b"OTTO": ("opentype", "font/otf", ".otf"),
    b"ttcf": ("collection", "font/collection", ".ttc"),
}
_WEB_FONT_MAGIC = (b"wOFF", b"wOF2")
_SUBTITLE_SUFFIXES = (".srt", ".vtt", ".webvtt", ".ass", ".ssa")


def _media_signature(head: bytes) -> bool:
    """Bytes that say 'binary media container' before any text heuristics run."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return True
    prefixes = (
        b"RIFF",
        b"\x1aE\xdf\xa3",
        b"ID3",
        b"OggS",
        b"fLaC",
        b"GIF87a",
        b"GIF89a",
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff",
        b"FLV",
        b"\x00\x00\x01\xba",
        b"\x30\x26\xb2\x75",
        b"BM",
        b"II*\x00",
        b"MM\x00*",
    )
    return head.startswith(prefixes) or (len(head) > 188 and head[0] == 0x47 and head[188] == 0x47)


def _is_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 subtitles have NULs but are text
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3 or len(head) < _HEAD:  # not a character cut off by the read
            try:  # old SRT files are often Windows-1252
                head.decode("cp1252")
            except UnicodeDecodeError:
                return False
    return True


def _sniff_font(path: Path, head: bytes) -> Sniffed:
    fmt, content_type, suffix = _FONT_MAGIC[head[:4]]
    try:
        font = ImageFont.truetype(str(path), 16)
        family, style = font.getname()
    except (OSError, ValueError) as exc:
        raise IngestError(
            "media-unsupported", f"looks like a font file but it cannot be read ({exc})"
        ) from None
    if not family:
        raise IngestError("media-unsupported", "the font has no family name")
    return Sniffed("font", content_type, suffix, {"format": fmt, "family": family, "style": style or ""})


def _sniff_lut(path: Path) -> Sniffed:
    if path.stat().st_size > MAX_LUT_BYTES:
        raise IngestError(
            "media-unsupported", f"a .cube LUT larger than {MAX_LUT_BYTES // 2**20} MiB is not accepted"
        )
    try:
        parse_cube_file(path)
    except LutFileError as exc:
        raise IngestError("media-unsupported", f"not a usable 3D LUT: {exc.reason}") from None
    size = None
    with path.open("rb") as fh:
        for raw in fh:
            line = raw.split(b"#", 1)[0].strip()
            if line.startswith(b"LUT_3D_SIZE"):
                size = int(line.split()[1])
                break
    return Sniffed("lut", "application/x-cube-lut", ".cube", {"format": "cube", "size": size})


def _subtitle_format(head: bytes) -> str:
    text = head.decode("utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8", "replace")
    text = text.lstrip("\ufeff \t\r\n")
    if text.startswith("WEBVTT"):
        return "vtt"
    if text.startswith("[Script Info]"):
        return "ssa" if re.search(r"(?im)^ScriptType:\s*v4\.00\s*$", text) else "ass"
    return "srt"


_SUBTITLE_TYPES = {
    "srt": ("application/x-subrip", ".srt"),
    "vtt": ("text/vtt", ".vtt"),
    "ass": ("text/x-ssa", ".ass"),
    "ssa": ("text/x-ssa", ".ssa"),
}


def _sniff_text(path: Path, head: bytes, name: str) -> Sniffed:
    suffix = Path(name).suffix.lower()
    if suffix == ".cube" or re.search(rb"(?m)^LUT_3D_SIZE", head):
        return _sniff_lut(path)
    if re.search(rb"(?m)^LUT_1D_SIZE", head):
        raise IngestError(
            "media-unsupported", "1D LUTs are not supported; use a 3D LUT (.cube with LUT_3D_SIZE)"
        )
    try:
        cues = load_cues(path)
    except CaptionFileError as exc:
        if suffix in _SUBTITLE_SUFFIXES or b"-->" in head or head.lstrip().startswith(b"[Script Info]"):
            raise IngestError("media-unsupported", f"not usable subtitles: {exc.reason}") from None
        raise IngestError(
            "media-unsupported",
            "a text file that is neither subtitles (SRT, WebVTT, ASS/SSA) "
            "nor a 3D LUT (.cube); media must be video, audio or an image",
        ) from None
    fmt = _subtitle_format(head)
    content_type, canonical = _SUBTITLE_TYPES[fmt]
    ends = [parse_time(c.end).seconds for c in cues]
    duration = max((float(e) for e in ends if e is not None), default=None)
    return Sniffed(
        "subtitles", content_type, canonical, {"format": fmt, "cue_count": len(cues), "duration": duration}
    )


def _frac(value: Any) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def _media_type(info: MediaInfo, head: bytes) -> tuple[str, str]:
    """(content type, suffix) from the container FFmpeg found, not from any name."""
    names = info.format_name.split(",")
    kind = info.kind
    if "mov" in names:
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime", ".mov"
        if brand.startswith(b"3g"):
            return ("audio/3gpp", ".3gp") if kind == "audio" else ("video/3gpp", ".3gp")
        return ("audio/mp4", ".m4a") if kind == "audio" else ("video/mp4", ".mp4")
    if "matroska" in names:
        webm = b"webm" in head[:64]
        if kind == "audio":
            return ("audio/webm", ".webm") if webm else ("audio/x-matroska", ".mka")
        return ("video/webm", ".webm") if webm else ("video/x-matroska", ".mkv")
    if "ogg" in names:
        if kind != "audio":
            return "video/ogg", ".ogv"
        return ("audio/ogg", ".opus") if info.audio_codec == "opus" else ("audio/ogg", ".ogg")
    table = {
        "png_pipe": ("image/png", ".png"),
        "apng": ("image/apng", ".png"),
        "jpeg_pipe": ("image/jpeg", ".jpg"),
        "webp_pipe": ("image/webp", ".webp"),
        "bmp_pipe": ("image/bmp", ".bmp"),
        "tiff_pipe": ("image/tiff", ".tif"),
        "gif": ("image/gif", ".gif"),
        "wav": ("audio/wav", ".wav"),
        "mp3": ("audio/mpeg", ".mp3"),
        "flac": ("audio/flac", ".flac"),
        "aac": ("audio/aac", ".aac"),
        "mpegts": ("video/mp2t", ".ts"),
        "avi": ("video/x-msvideo", ".avi"),
        "mpeg": ("video/mpeg", ".mpg"),
        "flv": ("video/x-flv", ".flv"),
        "asf": ("video/x-ms-asf", ".wmv"),
        "aiff": ("audio/aiff", ".aiff"),
    }
    for name in names:
        if name in table:
            return table[name]
    if names[0] == "image2" and info.video_codec:
        codec = {
            "png": ("image/png", ".png"),
            "mjpeg": ("image/jpeg", ".jpg"),
            "webp": ("image/webp", ".webp"),
        }
        if info.video_codec in codec:
            return codec[info.video_codec]
    return "application/octet-stream", ""


def _sniff_media(path: Path, head: bytes) -> Sniffed:
    try:
        info = probe(path)
    except MediaProbeError as exc:
        raise IngestError("media-unsupported", exc.reason) from None
    content_type, suffix = _media_type(info, head)
    media = {
        "format": info.format_name,
        "duration": float(info.duration) if info.duration is not None else None,
        "duration_exact": _frac(info.duration),
        "width": info.width,
        "height": info.height,
        "coded_width": info.coded_width,
        "coded_height": info.coded_height,
        "rotation": info.rotation,
        "fps": float(info.fps) if info.fps is not None else None,
        "fps_exact": _frac(info.fps),
        "video_codec": info.video_codec,
        "pix_fmt": info.pix_fmt,
        "has_alpha": info.has_alpha,
        "has_video": info.has_video,
        "has_audio": info.has_audio,
        "audio_codec": info.audio_codec,
        "audio_channels": info.audio_channels,
        "sample_rate": info.sample_rate,
        "bit_rate": info.bit_rate,
    }
    return Sniffed(info.kind, content_type, suffix, media)


def sniff(path: Path, name: str = "") -> Sniffed:
    """Say what ``path`` is from its content; raise :class:`IngestError` if it is nothing usable."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
    if not head:
        raise IngestError("media-unsupported", "the file is empty")
    if head[:4] in _FONT_MAGIC:
        return _sniff_font(path, head)
    if head[:4] in _WEB_FONT_MAGIC:
        raise IngestError(
            "media-unsupported", "web fonts (WOFF/WOFF2) are not supported; upload the TTF or OTF file"
        )
    if not _media_signature(head) and _is_text(head):
        return _sniff_text(path, head, name)
    return _sniff_media(path, head)


def check_limits(sniffed: Sniffed, settings: Settings) -> None:
    """Refuse media that would be absurd to decode (decoder bombs, hours beyond the limit)."""
    media = sniffed.media
    if sniffed.kind not in ("video", "image", "audio"):
        return
    duration = media.get("duration")
    if duration is not None and duration > settings.max_media_duration:
        raise IngestError(
            "content-too-large",
            f"the media lasts {duration:.0f} s; the limit is {settings.max_media_duration:.0f} s",
        )
    width, height = media.get("width") or 0, media.get("height") or 0
    if sniffed.kind in ("video", "image") and (width <= 0 or height <= 0):
        # A picture whose size is unknown cannot be bounded: it would be drawn at whatever
        # size its decoder picks (an SVG's declared 16000x16000, say).
        raise IngestError(
            "media-unsupported",
            "the picture's width and height cannot be read; use PNG, JPEG, WebP, GIF, BMP or TIFF "
            "(or a video) of a known size",
        )
    if width > MAX_DIMENSION or height > MAX_DIMENSION:
        raise IngestError(
            "media-unsupported",
            f"the picture is {width}x{height}; at most {MAX_DIMENSION}x{MAX_DIMENSION} is accepted",
        )
    fps = media.get("fps")
    if fps is not None and fps > MAX_FPS:
        raise IngestError(
            "media-unsupported", f"the frame rate is {fps:g} fps; at most {MAX_FPS} is accepted"
        )


# --------------------------------------------------------------------------- ingest


def _existing(db: Session, workspace_id: str, sha256: str) -> Asset | None:
    return db.scalar(select(Asset).where(Asset.workspace_id == workspace_id, Asset.sha256 == sha256))


def _restore_expired(db: Session, storage: Storage, asset: Asset, path: Path, *, move: bool) -> None:
    """The same bytes as an asset whose bytes retention removed: they are stored again at its
    key and its expiry cleared (its previews are made again), so the answer has its content."""
    retention = db.get(AssetRetention, asset.id)
    if retention is None or retention.expired_at is None:
        return
    if move:
        storage.put(asset.storage_key, path)
    else:
        with storage.temp_file(Path(asset.storage_key).suffix) as copy:
            shutil.copyfile(path, copy)
            storage.put(asset.storage_key, copy)
    retention.expired_at, retention.updated_at = None, utcnow()
    asset.thumbnail_key, asset.waveform_key = None, None
    asset.previews = "pending" if _preview_jobs(path, asset.kind, asset.media or {}) else "none"
    db.commit()


def _preview_jobs(path: Path, kind: str, media: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, make(out)) for each preview an asset of ``kind`` gets; none for subtitles and LUTs."""
    if kind == "video":
        return [
            ("thumbnail", lambda out: thumbnails.video_thumbnail(path, out, duration=media.get("duration")))
        ]
    if kind == "image":
        return [("thumbnail", lambda out: thumbnails.image_thumbnail(path, out))]
    if kind == "audio":
        return [("waveform", lambda out: thumbnails.waveform(path, out))]
    if kind == "font":
        return [("thumbnail", lambda out: thumbnails.font_specimen(path, out))]
    return []


def _previews(storage: Storage, path: Path, sniffed: Sniffed) -> dict[str, Path]:
    """Make the thumbnail (and waveform) in storage's temp dir; a failure only costs the preview."""
    made: dict[str, Path] = {}
    tmp = storage.temp_dir()
    for label, make in _preview_jobs(path, sniffed.kind, sniffed.media):
        out = tmp / f"{new_id('pv')}.png"
        try:
            make(out)
            made[label] = out
        except thumbnails.PreviewError as exc:
            out.unlink(missing_ok=True)
            if not path.exists():  # the asset was deleted meanwhile: nothing is wrong, nothing to keep
                for done in made.values():
                    done.unlink(missing_ok=True)
                return {}
            log.warning("no %s for %s: %s", label, path.name, exc)
    return made


def _is_svg_file(path: Path) -> bool:
    with path.open("rb") as fh:
        return is_svg(fh.read(_HEAD))


def ingest_file(
    db: Session,
    storage: Storage,
    *,
    workspace_id: str,
    path: Path,
    name: str,
    source: str = "upload",
    derived_from: dict[str, Any] | None = None,
    render_id: str | None = None,
    settings: Settings,
    sha256: str | None = None,
    tags: Iterable[str] = (),
    collections: Iterable[str] = (),
    metadata: Mapping[str, Any] | None = None,
    move: bool = True,
    defer_previews: bool = False,
    rasterised_from: str | None = None,
    created_by: str | None = None,
    external_version: str | None = None,
) -> tuple[Asset, bool]:
    """Make ``path`` an asset of the workspace; return it and whether it is new.

    Same bytes already in the workspace: the existing asset and ``False`` (nothing changes,
    ``tags``/``collections``/``metadata`` are not applied). Else the file is sniffed and probed, limits are
    enforced (for ``source != "render"``: render outputs are bounded by the edit language, not
    by the upload limits), it is stored under ``<ws>/<asset>/original<suffix>`` (moved there
    when ``move``, copied otherwise), previews are made, and the row is committed.

    ``defer_previews``: make no previews here; a new asset that gets some is committed with
    ``previews="pending"``, and the caller runs :func:`complete_previews` for it later (the API
    does, on a thread pool, so the upload answers without waiting for FFmpeg).

    An SVG (not from a render) is drawn into a PNG of bounded size first, and the PNG is the
    asset, named after the drawing, its ``media`` saying ``rasterised_from``.

    ``sha256`` may be passed when the caller hashed while receiving. The session is committed
    (or rolled back on failure). On any failure nothing is left in storage; the file at
    ``path`` is left where it is unless it was already moved into storage.
    Raises :class:`IngestError`.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise IngestError("media-unsupported", "the file is empty")
    if source != "render" and rasterised_from is None and size > settings.max_upload_bytes:
        raise IngestError(
            "content-too-large", f"the file has {size} bytes; the limit is {settings.max_upload_bytes}"
        )
    if source != "render" and rasterised_from is None and _is_svg_file(path):
        # A drawing has no pixel size: it is drawn once, here, at a size Reelforge chooses, and
        # the PNG is the asset (the engine never sees SVG).
        with storage.temp_file(".png") as png:
            try:
                rasterise_svg(path, png)
            except SvgError as exc:
                raise IngestError("media-unsupported", str(exc)) from None
            stem = Path(clean_name(name, fallback="untitled.svg")).stem or "untitled"
            return ingest_file(
                db,
                storage,
                workspace_id=workspace_id,
                path=png,
                name=f"{stem}.png",
                source=source,
                derived_from=derived_from,
                render_id=render_id,
                settings=settings,
                tags=tags,
                collections=collections,
                metadata=metadata,
                move=True,
                defer_previews=defer_previews,
                rasterised_from="image/svg+xml",
                created_by=created_by,
                external_version=external_version,
            )
    digest = sha256 or file_sha256(path)
    existing = _existing(db, workspace_id, digest)
    if existing is not None:
        _restore_expired(db, storage, existing, path, move=move)
        return existing, False

    sniffed = sniff(path, name)
    if rasterised_from is not None:
        sniffed.media["rasterised_from"] = rasterised_from
    if source != "render":
        check_limits(sniffed, settings)
    asset_id = new_id("ast")
    prefix = f"{workspace_id}/{asset_id}"
    display = clean_name(name, fallback=f"untitled{sniffed.suffix}")
    stored: list[str] = []
    previews: dict[str, Path] = {}
    try:
        jobs = _preview_jobs(path, sniffed.kind, sniffed.media)
        if not defer_previews:
            previews = _previews(storage, path, sniffed)
        state = ("pending" if defer_previews else "ready" if previews else "failed") if jobs else "none"
        keys = _store_previews(storage, previews, prefix, stored)
        original = f"{prefix}/original{sniffed.suffix}"
        if move:
            storage.put(original, path)
        else:
            with storage.temp_file(sniffed.suffix) as copy:
                shutil.copyfile(path, copy)
                storage.put(original, copy)
        stored.append(original)
        asset = Asset(
            id=asset_id,
            workspace_id=workspace_id,
            name=display,
            kind=sniffed.kind,
            content_type=sniffed.content_type,
            size_bytes=size,
            sha256=digest,
            storage_key=original,
            media=sniffed.media,
            meta=dict(metadata or {}),
            source=source,
            derived_from=dict(derived_from or {}),
            render_id=render_id,
            thumbnail_key=keys.get("thumbnail"),
            waveform_key=keys.get("waveform"),
            previews=state,
        )
        db.add(asset)
        db.flush()  # the asset row first: tags reference it (PostgreSQL checks the key at once)
        db.add(version_row(asset, 1, created_by=created_by, external_version=external_version))
        unique_tags = list(dict.fromkeys(tags))
        db.add_all(AssetTag(asset_id=asset_id, tag=tag) for tag in unique_tags)
        unique_collections = list(dict.fromkeys(collections))
        db.add_all(AssetCollection(asset_id=asset_id, collection=c) for c in unique_collections)
        # The outbox row commits with the asset, so `asset.ready` exists exactly when it does.
        record_asset_event(db, asset, unique_tags, collections=unique_collections)
        db.commit()
    except IntegrityError:
        # Lost a race with an identical upload: keep the winner, drop our copy.
        db.rollback()
        _discard(storage, stored)
        winner = _existing(db, workspace_id, digest)
        if winner is None:
            raise
        return winner, False
    except BaseException:
        db.rollback()
        _discard(storage, stored)
        raise
    finally:
        for preview in previews.values():
            preview.unlink(missing_ok=True)
    return asset, True


def version_row(asset: Asset, number: int, **extra: Any) -> AssetVersion:
    """Version ``number`` of ``asset`` as its content columns describe it now (a draft)."""
    return AssetVersion(
        id=new_id("avr"),
        asset_id=asset.id,
        workspace_id=asset.workspace_id,
        number=number,
        kind=asset.kind,
        content_type=asset.content_type,
        size_bytes=asset.size_bytes,
        sha256=asset.sha256,
        storage_key=asset.storage_key,
        media=dict(asset.media or {}),
        thumbnail_key=asset.thumbnail_key,
        waveform_key=asset.waveform_key,
        source=asset.source,
        derived_from=dict(asset.derived_from or {}),
        created_at=utcnow(),
        state="draft",
        review_comment="",
        expiry_notified=False,
        revision=1,
        **extra,
    )


def store_version(
    storage: Storage,
    *,
    prefix: str,
    path: Path,
    name: str,
    settings: Settings,
    move: bool = True,
) -> tuple[Sniffed, str, dict[str, str], str]:
    """Check and store the bytes of a new version of an existing asset under ``<prefix>``:
    what sniffing found, the stored key, the previews' keys (made now) and their state. The same
    checks as a new asset's (type sniffing, size, duration, dimensions, frame rate); an SVG is
    drawn into a PNG first. Raises :class:`IngestError`; nothing is left in storage then."""
    size = path.stat().st_size
    if size == 0:
        raise IngestError("media-unsupported", "the file is empty")
    if size > settings.max_upload_bytes:
        raise IngestError(
            "content-too-large", f"the file has {size} bytes; the limit is {settings.max_upload_bytes}"
        )
    if _is_svg_file(path):
        with storage.temp_file(".png") as png:
            try:
                rasterise_svg(path, png)
            except SvgError as exc:
                raise IngestError("media-unsupported", str(exc)) from None
            sniffed, key, keys, state = store_version(
                storage, prefix=prefix, path=png, name="drawing.png", settings=settings
            )
            sniffed.media["rasterised_from"] = "image/svg+xml"
            return sniffed, key, keys, state
    sniffed = sniff(path, name)
    check_limits(sniffed, settings)
    stored: list[str] = []
    previews: dict[str, Path] = {}
    try:
        jobs = _preview_jobs(path, sniffed.kind, sniffed.media)
        previews = _previews(storage, path, sniffed)
        state = ("ready" if previews else "failed") if jobs else "none"
        keys = _store_previews(storage, previews, prefix, stored)
        key = f"{prefix}/original{sniffed.suffix}"
        if move:
            storage.put(key, path)
        else:
            with storage.temp_file(sniffed.suffix) as copy:
                shutil.copyfile(path, copy)
                storage.put(key, copy)
        stored.append(key)
    except BaseException:
        _discard(storage, stored)
        raise
    finally:
        for preview in previews.values():
            preview.unlink(missing_ok=True)
    return sniffed, key, keys, state


def discard_stored(storage: Storage, keys: Iterable[str]) -> None:
    """Remove stored files (a version whose row did not commit)."""
    _discard(storage, keys)


def complete_previews(sessions: Callable[[], Session], storage: Storage, asset_id: str) -> str | None:
    """Make the previews of an asset ingested with ``defer_previews`` and record them: the keys,
    ``previews`` ``ready`` (or ``failed`` when FFmpeg could make none) and an ``asset.updated``
    event, in one commit. Returns the new state, or None when there was nothing to do (the asset
    is gone or not pending). An asset deleted meanwhile leaves nothing behind in storage."""
    with sessions() as db:
        asset = db.get(Asset, asset_id)
        if asset is None or asset.previews != "pending":
            return None
        workspace_id, kind, media = asset.workspace_id, asset.kind, dict(asset.media or {})
        source = storage.local_path(asset.storage_key)
    sniffed = Sniffed(kind, "", source.suffix, media)
    made = _previews(storage, source, sniffed) if source.is_file() else {}
    stored: list[str] = []
    try:
        keys = _store_previews(storage, made, f"{workspace_id}/{asset_id}", stored)
        state = "ready" if keys else "failed"
        with sessions() as db:
            # Only a row still pending: a deleted asset (or one finished by another process) is left alone.
            updated = db.execute(
                update(Asset)
                .where(Asset.id == asset_id, Asset.previews == "pending")
                .values(
                    thumbnail_key=keys.get("thumbnail"), waveform_key=keys.get("waveform"), previews=state
                )
            )
            if getattr(updated, "rowcount", 0) != 1:
                db.rollback()
                # Deleted: remove what we stored. Finished by another process: its keys are ours too.
                row = db.get(Asset, asset_id)
                kept = {row.thumbnail_key, row.waveform_key} if row is not None else set()
                _discard(storage, [k for k in stored if k not in kept])
                return None
            asset = db.get(Asset, asset_id)
            assert asset is not None
            # The version whose bytes they show keeps them when a newer version arrives.
            db.execute(
                update(AssetVersion)
                .where(AssetVersion.asset_id == asset_id, AssetVersion.storage_key == asset.storage_key)
                .values(thumbnail_key=keys.get("thumbnail"), waveform_key=keys.get("waveform"))
            )
            tags = list(db.scalars(select(AssetTag.tag).where(AssetTag.asset_id == asset_id)))
            record_asset_event(db, asset, tags, "asset.updated")
            db.commit()
        return state
    except BaseException:
        _discard(storage, stored)
        raise
    finally:
        for preview in made.values():
            preview.unlink(missing_ok=True)


def _store_previews(
    storage: Storage, previews: Mapping[str, Path], prefix: str, stored: list[str]
) -> dict[str, str]:
    """Store each preview as ``<prefix>/<label>.png``; their keys by label. Each key is added to
    ``stored`` as soon as it is written, so a failure can remove what is there."""
    keys: dict[str, str] = {}
    for label, preview in previews.items():
        key = f"{prefix}/{label}.png"
        storage.put(key, preview)
        stored.append(key)
        keys[label] = key
    return keys


def fail_previews(sessions: Callable[[], Session], asset_id: str) -> None:
    """Mark a pending asset's previews ``failed`` (after an unexpected error making them)."""
    with sessions() as db:
        db.execute(
            update(Asset).where(Asset.id == asset_id, Asset.previews == "pending").values(previews="failed")
        )
        db.commit()


def pending_previews(sessions: Callable[[], Session]) -> list[str]:
    """Assets whose previews were never completed (the process stopped first), oldest first."""
    with sessions() as db:
        return list(
            db.scalars(select(Asset.id).where(Asset.previews == "pending").order_by(Asset.created_at))
        )


def _discard(storage: Storage, keys: Iterable[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except OSError as exc:  # best effort: an orphan file is better than a masked error
            log.warning("could not remove %s: %s", key, exc)
    remove_empty_dirs(storage, keys)


def remove_empty_dirs(storage: Storage, keys: Iterable[str]) -> None:
    """Remove the asset's directory once its files are gone (``<ws>/<asset>/``)."""
    storage.remove_empty_parents(keys)
