"""Resumable uploads (tus 1.0): create, find, append to, complete and terminate an upload.

The bytes go to a file in the storage's upload area (``<id>.part``), the state to the
``uploads`` table. Appending is guarded twice:

* the caller's offset must be the committed one (else :class:`OffsetMismatch`, 409);
* one request at a time holds the upload's *writer claim*, taken with a conditional UPDATE
  (``writer`` is NULL or its deadline passed, and the offset is still the caller's), so two
  clients appending at once, in one process or several, cannot both write: the second waits a
  few seconds for the first to end and then gets :class:`UploadLocked` (423), or 409 when the
  first moved the offset. The claim is renewed at each checkpoint and lapses when a process dies.

The writer truncates the file to the committed offset before writing (bytes of a request that
died after its last checkpoint are dropped), streams the body into it and commits the offset at
checkpoints (every :data:`CHECKPOINT_BYTES`) and at the end, so a dropped connection keeps what
arrived. With ``Upload-Checksum`` nothing is committed before the whole body is verified: a
mismatch (460) leaves the offset where it was.

The content's sha256 is computed while the bytes arrive, kept per process between requests
(valid while the offset it covers is the upload's); a finished upload whose requests reached
several processes is hashed again from the file. Completion goes through the same ingest as a
multipart upload (sniff, probe, dedup by sha256, previews) and records ``upload.completed``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import os
import re
import secrets
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from reelforge.db.events import record_event
from reelforge.db.models import Asset, new_id, utcnow
from reelforge.db.uploads import Upload
from reelforge.media.ingest import clean_name, file_sha256
from reelforge.render.limits import UPLOAD_EXPIRY
from reelforge.representations import json_ready

from . import asset_versions, assets
from .audit import SYSTEM_ACTOR
from .context import Services
from .errors import Invalid, NotFound, ServiceError
from .limits import check_upload_quota, limits_of

__all__ = [
    "CHECKPOINT_BYTES",
    "CHECKSUM_ALGORITHMS",
    "EXTENSIONS",
    "TUS_VERSION",
    "BodyInterrupted",
    "Checksum",
    "ChecksumMismatch",
    "OffsetMismatch",
    "UploadGone",
    "UploadLocked",
    "UploadView",
    "append",
    "create_upload",
    "ensure_complete",
    "parse_checksum",
    "parse_metadata",
    "read_upload",
    "sweep_expired",
    "terminate",
]

log = logging.getLogger("reelforge.uploads")

TUS_VERSION = "1.0.0"
EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "termination",
    "checksum",
    "expiration",
)
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5", "crc32")
MAX_LIFETIME = timedelta(days=7)
"""An unfinished upload expires its workspace's ``upload_expiry_hours`` after its last
successful append, and at the latest this long (or that, if longer) after its creation."""
TOMBSTONE = timedelta(days=7)
"""An expired or terminated upload answers 410 this long, then 404."""
CHECKPOINT_BYTES = 16 * 2**20
"""An append commits its offset after each this many bytes (a dropped request keeps them)."""
CLAIM_SECONDS = 60.0
"""A writer claim lapses this long after its last renewal (its process died)."""
LOCK_WAIT_SECONDS = 5.0
"""How long an append waits for another request's claim to end before answering 423."""
MAX_METADATA_HEADER = 4096
MAX_METADATA_KEYS = 32
_KEY = re.compile(r"^[\x21-\x2b\x2d-\x7e]+$")  # printable ASCII without space and comma
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ------------------------------------------------------------------------------ errors


class OffsetMismatch(ServiceError):
    """The caller's ``Upload-Offset`` is not the committed one (409, carrying ``offset``)."""

    default_code = "upload-offset-mismatch"


class UploadLocked(ServiceError):
    """Another request is appending to the upload (423; retry shortly)."""

    default_code = "upload-locked"


class UploadGone(ServiceError):
    """The upload expired or was terminated (410)."""

    default_code = "upload-gone"


class ChecksumMismatch(ServiceError):
    """The body does not match ``Upload-Checksum`` (tus 460); nothing of it was kept."""

    default_code = "checksum-mismatch"


class TooLarge(ServiceError):
    default_code = "content-too-large"


class BodyInterrupted(Exception):
    """The client went away in the middle of the body."""


# ------------------------------------------------------------------------------ parsing


def parse_metadata(header: str | None) -> dict[str, str | None]:
    """``Upload-Metadata`` (``key base64,key2 base64,key3``) decoded; 400 ``invalid-request``
    naming the pair when it is malformed. Values must be UTF-8 text without control
    characters (they end up in names and tags)."""
    if header is None or not header.strip():
        return {}
    if len(header) > MAX_METADATA_HEADER:
        raise _header_error("Upload-Metadata", f"is longer than {MAX_METADATA_HEADER} characters")
    pairs = header.split(",")
    if len(pairs) > MAX_METADATA_KEYS:
        raise _header_error("Upload-Metadata", f"has more than {MAX_METADATA_KEYS} keys")
    found: dict[str, str | None] = {}
    for index, pair in enumerate(pairs):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or not _KEY.match(key) or len(parts) > 2:
            raise _header_error("Upload-Metadata", f"pair {index + 1} is not `key base64value`")
        if key in found:
            raise _header_error("Upload-Metadata", f"key {key!r} appears twice")
        if len(parts) == 1 or parts[1] == "":
            found[key] = None
            continue
        try:
            text = base64.b64decode(parts[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _header_error(
                "Upload-Metadata", f"the value of {key!r} is not base64 of UTF-8 text"
            ) from None
        if _CONTROL.search(text):
            raise _header_error("Upload-Metadata", f"the value of {key!r} contains control characters")
        found[key] = text
    return found


def _header_error(header: str, detail: str) -> Invalid:
    return Invalid(
        f"{header} {detail}", code="invalid-request", errors=[{"header": header, "detail": detail}]
    )


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes, /) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


@dataclass
class Checksum:
    """``Upload-Checksum``: the algorithm and the expected digest of one request's body."""

    algorithm: str
    expected: bytes

    def hasher(self) -> _Digest:
        return _Crc32() if self.algorithm == "crc32" else hashlib.new(self.algorithm)


def parse_checksum(header: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; 400 for an unknown algorithm or a bad
    digest."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise _header_error(
            "Upload-Checksum", f"algorithm {algorithm!r} is not one of {', '.join(CHECKSUM_ALGORITHMS)}"
        )
    try:
        expected = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise _header_error("Upload-Checksum", "the digest is not base64") from None
    return Checksum(algorithm, expected)


# ------------------------------------------------------------------------------ the resource


@dataclass(frozen=True)
class UploadView:
    id: str
    workspace_id: str
    state: str
    offset: int
    length: int | None
    raw_metadata: str | None
    meta: dict[str, Any]
    asset_id: str | None
    error: dict[str, Any] | None
    created_at: datetime
    expires_at: datetime

    @property
    def finished(self) -> bool:
        return self.length is not None and self.offset == self.length

    def json(self) -> dict[str, Any]:
        """The upload as ``GET /v1/uploads/{id}`` and its events show it."""
        return {
            "id": self.id,
            "object": "upload",
            "state": self.state,
            "offset": self.offset,
            "length": self.length,
            "metadata": self.meta,
            "asset_id": self.asset_id,
            "error": self.error,
            "created_at": self.created_at,
            "expires_at": self.expires_at if self.state == "receiving" else None,
        }


def _view(row: Upload) -> UploadView:
    return UploadView(
        row.id,
        row.workspace_id,
        row.state,
        row.offset,
        row.length,
        row.raw_metadata,
        dict(row.meta or {}),
        row.asset_id,
        row.error,
        row.created_at,
        row.expires_at,
    )


def part_path(services: Services, upload_id: str) -> Path:
    return services.storage.uploads_dir() / f"{upload_id}.part"


def _expiry(db: Session, workspace_id: str, created: datetime, now: datetime) -> datetime:
    sliding = timedelta(hours=float(limits_of(db, workspace_id)[UPLOAD_EXPIRY]))
    return min(now + sliding, created + max(MAX_LIFETIME, sliding))


def _find(db: Session, workspace_id: str, upload_id: str) -> Upload:
    """The workspace's upload, or 404 (another workspace's included) / 410 (expired or
    terminated, within the tombstone period)."""
    row = db.scalar(select(Upload).where(Upload.id == upload_id, Upload.workspace_id == workspace_id))
    if row is None:
        raise NotFound(f"no upload {upload_id}")
    now = utcnow()
    gone = row.state in ("terminated", "expired") or (row.state == "receiving" and row.expires_at <= now)
    if gone:
        if max(row.updated_at, row.expires_at) + TOMBSTONE <= now:
            raise NotFound(f"no upload {upload_id}")
        raise UploadGone(f"upload {upload_id} {'was terminated' if row.state == 'terminated' else 'expired'}")
    return row


def create_upload(
    services: Services,
    workspace_id: str,
    *,
    length: int | None,
    raw_metadata: str | None,
    before_commit: Callable[[Session, UploadView], None] | None = None,
) -> UploadView:
    """A new upload of ``length`` bytes (None: deferred); 413 past the largest upload.
    ``before_commit`` runs in the creating transaction (an idempotent request stores its answer)."""
    meta = parse_metadata(raw_metadata)
    _check_length(services, length)
    sweep_expired(services)
    now = utcnow()
    row = Upload(
        id=new_id("upl"),
        workspace_id=workspace_id,
        length=length,
        offset=0,
        meta=meta,
        raw_metadata=raw_metadata.strip() if raw_metadata and raw_metadata.strip() else None,
        state="receiving",
        created_at=now,
        updated_at=now,
    )
    with services.sessions() as db:
        target = meta.get("asset_id")
        if "asset_id" in meta and (
            target is None
            or db.scalar(select(Asset.id).where(Asset.id == target, Asset.workspace_id == workspace_id))
            is None
        ):
            # The upload would become a new version of an asset the workspace lacks.
            raise _header_error("Upload-Metadata", f"no asset {target} in this workspace (`asset_id`)")
        row.expires_at = _expiry(db, workspace_id, now, now)
        _check_open_uploads(services, db, workspace_id, now)
        check_upload_quota(db, workspace_id, length or 0)
    part_path(services, row.id).touch()
    with services.sessions() as db:
        db.add(row)
        db.flush()
        view = _view(row)
        if before_commit is not None:
            before_commit(db, view)
        db.commit()
        return view


def _check_open_uploads(services: Services, db: Session, workspace_id: str, now: datetime) -> None:
    """Refuse a new upload (422 ``limit-exceeded``) while the workspace holds
    ``max_open_uploads`` unfinished ones (each may hold bytes on disk until it expires)."""
    limit = services.settings.max_open_uploads
    open_now = db.scalar(
        select(func.count(Upload.id)).where(
            Upload.workspace_id == workspace_id, Upload.state == "receiving", Upload.expires_at > now
        )
    )
    if (open_now or 0) >= limit:
        raise ServiceError(
            f"this workspace has {open_now} unfinished uploads, the most it may hold at once: "
            "finish or terminate (DELETE) some first",
            code="limit-exceeded",
            limit="max_open_uploads",
            value=open_now,
        )


def _check_length(services: Services, length: int | None) -> None:
    limit = services.settings.max_upload_bytes
    if length is not None and length > limit:
        raise TooLarge(
            f"Upload-Length {length} is more than the largest upload, {limit} bytes",
            errors=[{"header": "Upload-Length", "detail": f"at most {limit}"}],
        )


def read_upload(services: Services, workspace_id: str, upload_id: str) -> UploadView:
    with services.sessions() as db:
        return _view(_find(db, workspace_id, upload_id))


# ------------------------------------------------------------------------------ the writer claim


def _try_claim(
    services: Services, workspace_id: str, upload_id: str, offset: int, token: str, length: int | None
) -> UploadView:
    """Take the writer claim at ``offset``; the upload as it is then. Raises 404/410,
    :class:`OffsetMismatch`, :class:`UploadLocked`, or 400 for a changed ``Upload-Length``."""
    with services.sessions() as db:
        row = _find(db, workspace_id, upload_id)
        if row.state != "receiving":
            raise OffsetMismatch(
                f"upload {upload_id} is complete; it holds {row.offset} bytes", offset=row.offset
            )
        if length is not None:
            if row.length is None:
                _check_length(services, length)
                if length < row.offset:
                    raise _header_error(
                        "Upload-Length", f"is less than the {row.offset} bytes already stored"
                    )
                check_upload_quota(db, workspace_id, length, excluding=upload_id)
                row.length = length
                db.commit()
            elif row.length != length:
                raise _header_error("Upload-Length", f"differs from the upload's length, {row.length}")
        if row.offset != offset:
            raise OffsetMismatch(
                f"Upload-Offset {offset} is not the upload's offset, {row.offset}: HEAD it and resume there",
                offset=row.offset,
            )
        now = utcnow()
        claimed = db.execute(
            update(Upload)
            .where(
                Upload.id == upload_id,
                Upload.offset == offset,
                Upload.state == "receiving",
                or_(Upload.writer.is_(None), Upload.writer_until < now),
            )
            .values(writer=token, writer_until=now + timedelta(seconds=CLAIM_SECONDS))
        )
        db.commit()
        if getattr(claimed, "rowcount", 0) != 1:
            current = db.scalar(select(Upload.offset).where(Upload.id == upload_id))
            if current != offset:
                raise OffsetMismatch(
                    f"Upload-Offset {offset} is not the upload's offset, {current}: HEAD it and resume there",
                    offset=current,
                )
            raise UploadLocked(f"another request is appending to upload {upload_id}; retry shortly")
        db.refresh(row)
        return _view(row)


async def _claim(
    services: Services, workspace_id: str, upload_id: str, offset: int, token: str, length: int | None
) -> UploadView:
    deadline = asyncio.get_running_loop().time() + LOCK_WAIT_SECONDS
    while True:
        try:
            return await asyncio.to_thread(
                _try_claim, services, workspace_id, upload_id, offset, token, length
            )
        except UploadLocked:
            # The other request usually ends at once (its client went away): wait a little.
            if asyncio.get_running_loop().time() >= deadline:
                raise
            await asyncio.sleep(0.1)


def _commit_offset(services: Services, upload_id: str, token: str, offset: int, *, release: bool) -> bool:
    """Record ``offset`` (and renew or release the claim); False when the claim was lost (the
    upload was terminated, or the claim lapsed and another request took it)."""
    now = utcnow()
    with services.sessions() as db:
        row = db.get(Upload, upload_id)
        if row is None or row.writer != token or row.state != "receiving":
            return False
        row.offset = offset
        row.updated_at = now
        row.expires_at = _expiry(db, row.workspace_id, row.created_at, now)
        row.writer = None if release else token
        row.writer_until = None if release else now + timedelta(seconds=CLAIM_SECONDS)
        db.commit()
        return True


def _release(services: Services, upload_id: str, token: str) -> None:
    with services.sessions() as db:
        db.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.writer == token)
            .values(writer=None, writer_until=None)
        )
        db.commit()


# ------------------------------------------------------------------------------ the running hash


_HASHES_KEY = "upload_hashes"
_MAX_HASHES = 256


def _hashes(services: Services) -> OrderedDict[str, tuple[int, Any]]:
    found: OrderedDict[str, tuple[int, Any]] = services.extras.setdefault(_HASHES_KEY, OrderedDict())
    return found


def _take_hash(services: Services, upload_id: str, offset: int) -> Any:
    """The sha256 of the upload's first ``offset`` bytes if this process has it, else a new
    one when ``offset`` is 0, else None (hashed from the file at the end)."""
    kept = _hashes(services).pop(upload_id, None)
    if kept is not None and kept[0] == offset:
        return kept[1]
    return hashlib.sha256() if offset == 0 else None


def _keep_hash(services: Services, upload_id: str, offset: int, digest: Any) -> None:
    table = _hashes(services)
    table[upload_id] = (offset, digest)
    while len(table) > _MAX_HASHES:
        table.popitem(last=False)


# ------------------------------------------------------------------------------ appending


async def append(
    services: Services,
    workspace_id: str,
    upload_id: str,
    *,
    offset: int,
    body: AsyncIterator[bytes],
    checksum: Checksum | None = None,
    length: int | None = None,
) -> UploadView:
    """Append the request ``body`` at ``offset`` (see the module docstring); the upload after
    it, completed into an asset when it holds all its bytes. ``length`` sets a deferred length.

    A body that stops early (:class:`BodyInterrupted` from ``body``) keeps what arrived (unless
    a checksum was sent) and re-raises. Data beyond the length is refused (413) after the bytes
    that fit are kept."""
    token = secrets.token_hex(16)
    view = await _claim(services, workspace_id, upload_id, offset, token, length)
    path = part_path(services, upload_id)
    total = view.length
    # A deferred length is bounded by the largest upload as the bytes arrive.
    cap = total if total is not None else services.settings.max_upload_bytes
    running = _take_hash(services, upload_id, offset)
    before = running.copy() if running is not None else None
    check = checksum.hasher() if checksum is not None else None
    written = offset
    committed = offset
    overflow = False
    lost = False
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        await asyncio.to_thread(_release, services, upload_id, token)
        raise
    try:
        os.ftruncate(fd, offset)  # bytes of a request that died after its last checkpoint
        os.lseek(fd, offset, os.SEEK_SET)
        try:
            async for chunk in body:
                if not chunk:
                    continue
                if written + len(chunk) > cap:
                    chunk = chunk[: cap - written]
                    overflow = True
                _write_all(fd, chunk)
                if running is not None:
                    running.update(chunk)
                if check is not None:
                    check.update(chunk)
                written += len(chunk)
                if overflow:
                    break
                if check is None and written - committed >= CHECKPOINT_BYTES:
                    if not await asyncio.to_thread(
                        _commit_offset, services, upload_id, token, written, release=False
                    ):
                        lost = True
                        break
                    committed = written
        except BodyInterrupted:
            if check is None and written > committed:
                await asyncio.to_thread(_commit_offset, services, upload_id, token, written, release=True)
                if running is not None:
                    _keep_hash(services, upload_id, written, running)
            else:
                os.ftruncate(fd, committed)
                await asyncio.to_thread(_release, services, upload_id, token)
                if before is not None and committed == offset:
                    _keep_hash(services, upload_id, offset, before)
            raise
    finally:
        os.close(fd)
    if lost:
        raise UploadGone(f"upload {upload_id} was terminated while this request appended to it")
    if check is not None and checksum is not None and check.digest() != checksum.expected:
        try:
            os.truncate(path, offset)
        except FileNotFoundError:  # terminated meanwhile: its file is gone, and so is the upload
            await asyncio.to_thread(_release, services, upload_id, token)
            raise UploadGone(f"upload {upload_id} was terminated while this request appended to it") from None
        await asyncio.to_thread(_release, services, upload_id, token)
        if before is not None:
            _keep_hash(services, upload_id, offset, before)
        raise ChecksumMismatch(
            f"the body does not match Upload-Checksum ({checksum.algorithm}); nothing of it was kept",
            offset=offset,
        )
    if not await asyncio.to_thread(_commit_offset, services, upload_id, token, written, release=False):
        raise UploadGone(f"upload {upload_id} was terminated while this request appended to it")
    try:
        if total is not None and written == total:
            digest = running.hexdigest() if running is not None else None
            return await asyncio.to_thread(_complete, services, workspace_id, upload_id, token, digest)
        if running is not None:
            _keep_hash(services, upload_id, written, running)
    finally:
        await asyncio.to_thread(_release, services, upload_id, token)
    if overflow and total is None:
        raise TooLarge(
            f"the upload goes past the largest upload, {cap} bytes; the bytes that fit were kept",
            offset=written,
            errors=[{"header": "Content-Length", "detail": f"at most {cap - offset} bytes at this offset"}],
        )
    if overflow:
        assert total is not None
        raise TooLarge(
            f"the body goes past Upload-Length ({total}); the bytes that fit were kept",
            offset=written,
            errors=[{"header": "Content-Length", "detail": f"at most {total - offset} bytes at this offset"}],
        )
    return await asyncio.to_thread(read_upload, services, workspace_id, upload_id)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        done = os.write(fd, view)
        view = view[done:]


# ------------------------------------------------------------------------------ completion


def _complete(
    services: Services, workspace_id: str, upload_id: str, token: str, digest: str | None
) -> UploadView:
    """Make the finished upload an asset (the caller holds the writer claim): the same ingest as
    a multipart upload. Idempotent: a completed upload is returned as it is."""
    with services.sessions() as db:
        row = db.get(Upload, upload_id)
        assert row is not None
        if row.state != "receiving" or row.writer != token:
            return _view(row)
        meta = dict(row.meta or {})
    path = part_path(services, upload_id)
    if not path.is_file():
        return _fail(services, upload_id, "upload-gone", "the upload's bytes are gone from storage")
    digest = digest or file_sha256(path)
    tags = [t.strip() for t in (meta.get("tags") or "").split(",") if t.strip()][: assets.MAX_TAGS]
    collections = [c.strip() for c in (meta.get("collections") or "").split(",") if c.strip()]
    name = clean_name(meta.get("name") or meta.get("filename") or meta.get("title"))
    try:
        if meta.get("asset_id"):
            # `asset_id` in the metadata: the upload is a new version of that asset.
            version, _created = asset_versions.add_version(
                services,
                workspace_id,
                str(meta["asset_id"]),
                path,
                name=name,
                sha256=digest,
                actor=SYSTEM_ACTOR,
                source="upload",
                derived_from={"upload": upload_id},
            )
            body = {"id": version["asset_id"]}
        else:
            body, _created = assets.ingest_upload(
                services,
                workspace_id,
                path,
                name=name,
                sha256=digest,
                tags=[t[:100] for t in tags],
                collections=[c[:100] for c in collections[: assets.MAX_COLLECTIONS]],
                metadata={},
                source="upload",
                derived_from={"upload": upload_id},
            )
    except ServiceError as exc:
        path.unlink(missing_ok=True)
        _fail(services, upload_id, exc.code, exc.detail)
        raise
    path.unlink(missing_ok=True)  # a deduplicated upload left its bytes here
    _hashes(services).pop(upload_id, None)
    with services.sessions() as db:
        row = db.get(Upload, upload_id)
        assert row is not None
        row.state = "complete"
        row.asset_id = body["id"]
        row.updated_at = utcnow()
        view = _view(row)
        record_event(
            db,
            workspace_id=workspace_id,
            type="upload.completed",
            resource_type="upload",
            resource_id=upload_id,
            data=json_ready(view.json()),
        )
        db.commit()
        return view


def _fail(services: Services, upload_id: str, code: str, detail: str) -> UploadView:
    with services.sessions() as db:
        row = db.get(Upload, upload_id)
        assert row is not None
        row.state = "failed"
        row.error = {"code": code, "detail": detail}
        row.updated_at = utcnow()
        view = _view(row)
        record_event(
            db,
            workspace_id=row.workspace_id,
            type="upload.failed",
            resource_type="upload",
            resource_id=upload_id,
            data=json_ready(view.json()),
        )
        db.commit()
        return view


async def ensure_complete(services: Services, view: UploadView) -> UploadView:
    """An upload holding all its bytes but no asset yet (its process stopped before the ingest,
    or its length was 0) is completed now; any other upload is returned as it is."""
    if view.state != "receiving" or not view.finished:
        return view
    token = secrets.token_hex(16)
    try:
        await _claim(services, view.workspace_id, view.id, view.offset, token, None)
    except (UploadLocked, OffsetMismatch):
        return await asyncio.to_thread(read_upload, services, view.workspace_id, view.id)
    try:
        return await asyncio.to_thread(_complete, services, view.workspace_id, view.id, token, None)
    finally:
        await asyncio.to_thread(_release, services, view.id, token)


# ------------------------------------------------------------------------------ termination, expiry


def terminate(services: Services, workspace_id: str, upload_id: str) -> None:
    """Terminate the upload: its bytes are removed, an append in progress stops at its next
    checkpoint, and it answers 410 from now on. A completed upload's asset stays."""
    with services.sessions() as db:
        row = _find(db, workspace_id, upload_id)
        row.state = "terminated"
        row.writer = None
        row.writer_until = None
        row.updated_at = utcnow()
        db.commit()
    _hashes(services).pop(upload_id, None)
    part_path(services, upload_id).unlink(missing_ok=True)


def sweep_expired(services: Services, *, limit: int = 100) -> int:
    """Remove the bytes of uploads that expired unfinished (marking them ``expired``) and forget
    tombstones older than :data:`TOMBSTONE`; how many uploads expired."""
    now = utcnow()
    with services.sessions() as db:
        expired = list(
            db.scalars(
                select(Upload.id).where(Upload.state == "receiving", Upload.expires_at <= now).limit(limit)
            )
        )
        if expired:
            db.execute(
                update(Upload)
                .where(Upload.id.in_(expired), Upload.state == "receiving")
                .values(state="expired", updated_at=now, writer=None, writer_until=None)
            )
        db.execute(
            delete(Upload).where(
                and_(Upload.state.in_(("expired", "terminated")), Upload.updated_at < now - TOMBSTONE)
            )
        )
        db.commit()
    for upload_id in expired:
        part_path(services, upload_id).unlink(missing_ok=True)
    return len(expired)
