"""Assets: streaming upload with sniffing and dedup, list and filter, edit, download with Range, delete.

Upload (``POST /v1/assets``) parses the multipart body as it arrives and writes the file part
straight to a temporary file beside the storage, hashing and counting on the way, so memory
stays flat whatever the size and the bytes are written once (the temp file is then renamed
into place). Past ``max_upload_bytes`` the upload stops with 413 at once.

Delete policy: **refuse**. ``DELETE /v1/assets/{id}`` answers 409 ``conflict`` (naming the
renders) while a render that reads the asset is queued, preparing, rendering or finishing;
once those renders end (or are cancelled) the delete goes through and removes the row, its
tags and the stored bytes and previews at once. Renders that already finished keep their
outputs, which are assets of their own. The check and the delete run in one transaction with
the asset row locked, so a render created at the same moment either sees the asset or not.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import queue
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, Literal, NamedTuple, cast
from urllib.parse import quote

import anyio
import orjson
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from reelforge.db.audit import record_audit
from reelforge.db.models import RUNNING_STATES, Asset, AssetTag, Render, RenderAsset
from reelforge.media.ingest import IngestError, clean_name, ingest_file, remove_empty_dirs
from reelforge.representations import asset_json, record_asset_event
from reelforge.services.context import Services
from reelforge.settings import Settings

from .. import examples as ex
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import get_db, get_services, services_of
from ..idempotency import Idempotency, idempotency_streamed, upload_fingerprint
from ..pagination import decode_cursor, list_body
from ..problems import ApiError
from ..responses import (
    conditional_json,
    decode_json_fields,
    etag_matches,
    json_bytes,
    json_ready,
    json_response,
    page_of,
    raw_datetime_column,
    raw_json_column,
    read_db,
    strong_etag,
)

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

__all__ = ["ACTIVE_RENDER_STATES", "asset_json", "router"]

log = logging.getLogger("reelforge.api.assets")

router = APIRouter(tags=["assets"])

ACTIVE_RENDER_STATES = ("queued", *RUNNING_STATES)
"""Renders in these states still read their assets; an asset they use cannot be deleted."""
FORM_FIELDS = ("name", "tags", "metadata")
FIELD_LIMIT = 64 * 1024
"""Largest non-file form field, bytes."""
FORM_OVERHEAD = 1024 * 1024
"""What a Content-Length may exceed the file limit by (boundaries, part headers, fields)."""
FLUSH_BYTES = 1024 * 1024
"""Received file bytes are written and hashed off the event loop in batches of this size."""
MAX_TAGS = 50
MAX_METADATA_BYTES = 16 * 1024
DOWNLOAD_CHUNK = 256 * 1024

Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/\\]+$"),
]


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


class AssetFields(BaseModel):
    """The upload's form fields, validated together after the stream ends."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _meta = field_validator("metadata")(_check_metadata)


def _no_default(schema: dict[str, Any]) -> None:
    # "" only marks "not given" (model_fields_set decides); it is no valid name, so the schema
    # must not offer it as the default (OpenAPI validators check defaults against the schema).
    schema.pop("default", None)


class AssetPatch(BaseModel):
    """Fields present replace the stored value (tags and metadata as a whole); absent ones stay."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ex.ASSET_PATCH]})
    name: Name = Field(
        "", description="The display name (also the download's file name).", json_schema_extra=_no_default
    )
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free JSON, at most 16 KiB.")

    _meta = field_validator("metadata")(_check_metadata)


# ------------------------------------------------------------------------------ representation


# asset_json lives in reelforge.representations: ingest records it in `asset.ready` events.


def _etag(body: Mapping[str, Any]) -> str:
    """A strong ETag of the representation (assets have no version column): of the very bytes
    ``GET /v1/assets/{id}`` sends."""
    return strong_etag(json_bytes(body))


# Reads run Core statements on a connection: plain rows with just the resource's columns (no ORM
# objects), and the tags in the same query, joined with a separator no tag can hold.
_ASSETS = Asset.__table__.c
_TAGS = AssetTag.__table__.c
_TAG_SEPARATOR = "\x1f"  # tags cannot hold control characters (Tag)


class AssetRow(NamedTuple):
    """A read row with plain attributes (a SQLAlchemy Row's named access costs ~0.5 µs per field):
    what ``asset_json`` reads, and the tags joined by ``_TAG_SEPARATOR``."""

    id: str
    name: str
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    media: dict[str, Any]
    meta: dict[str, Any]
    source: str
    derived_from: dict[str, Any]
    created_at: datetime
    thumbnail_key: str | None
    waveform_key: str | None
    previews: str | None
    revision: int
    tag_list: str | None


class PageRow(NamedTuple):
    """An asset of a list page: its place in the order and the revision of its representation.
    ``created_at`` is SQLite's text there (parsed only for the cursor), a datetime elsewhere."""

    id: str
    revision: int
    created_at: Any


_READ_FIELDS = AssetRow._fields[:-1]
_JSON_FIELDS = ("media", "meta", "derived_from")
_JSON_INDEXES = tuple(_READ_FIELDS.index(c) for c in _JSON_FIELDS)
_DATETIME_INDEXES = (_READ_FIELDS.index("created_at"),)
_READ_COLUMNS = (
    *(
        raw_json_column(_ASSETS[c])
        if c in _JSON_FIELDS
        else raw_datetime_column(_ASSETS[c])
        if c == "created_at"
        else _ASSETS[c]
        for c in _READ_FIELDS
    ),
    select(func.aggregate_strings(_TAGS.tag, _TAG_SEPARATOR))
    .where(_TAGS.asset_id == _ASSETS.id)
    .scalar_subquery()
    .label("tag_list"),
)
_GET_ASSET = select(*_READ_COLUMNS).where(
    _ASSETS.id == bindparam("id"), _ASSETS.workspace_id == bindparam("workspace_id")
)


def _list_query(*, cursor: bool) -> Select[Any]:
    """A page of the workspace's assets (:class:`PageRow`), newest first (keyset pagination, as
    pagination.page())."""
    query = select(_ASSETS.id, _ASSETS.revision, raw_datetime_column(_ASSETS.created_at)).where(
        _ASSETS.workspace_id == bindparam("workspace_id")
    )
    if cursor:
        after = bindparam("after_created", type_=_ASSETS.created_at.type)
        after_id = bindparam("after_id", type_=_ASSETS.id.type)
        query = query.where(
            or_(_ASSETS.created_at < after, and_(_ASSETS.created_at == after, _ASSETS.id < after_id))
        )
    return query.order_by(_ASSETS.created_at.desc(), _ASSETS.id.desc()).limit(bindparam("limit"))


_LIST_FIRST = _list_query(cursor=False)
_LIST_AFTER = _list_query(cursor=True)


def _row_tags(row: AssetRow) -> list[str]:
    return row.tag_list.split(_TAG_SEPARATOR) if row.tag_list else []


def _tags_of(db: Session, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for row in db.execute(select(AssetTag.asset_id, AssetTag.tag).where(AssetTag.asset_id.in_(ids))):
            found[row.asset_id].append(row.tag)
    return found


def _asset(db: Session, principal: Principal, asset_id: str, *, lock: bool = False) -> Asset:
    query = select(Asset).where(Asset.id == asset_id, Asset.workspace_id == principal.workspace_id)
    asset = db.scalar(query.with_for_update() if lock else query)
    if asset is None:
        raise ApiError("not-found", f"no asset {asset_id}")
    return asset


def _require_match(request: Request, etag: str) -> None:
    header = request.headers.get("if-match")
    if header is not None and not etag_matches(header, etag):
        raise ApiError(
            "precondition-failed",
            "the asset changed since you read it (If-Match does not match)",
            headers={"ETag": etag},
            errors=[{"header": "If-Match", "detail": "stale ETag", "code": "stale"}],
        )


# ------------------------------------------------------------------------------ upload


class _MultipartSink:
    """python-multipart callbacks: the ``file`` part goes into ``pending`` (flushed to disk by the
    caller), the small fields into buffers; nothing else is kept.

    ``pending`` holds views of the received chunks, not a copy: the parser hands over slices of
    the (immutable) bytes it was given, and copying them into one buffer cost the event loop as
    much as parsing did."""

    def __init__(self, limit: int):
        self.limit = limit
        self.size = 0
        self.over = False
        self.pending: list[memoryview] = []
        self.pending_bytes = 0
        self.filename: str | None = None
        self.fields: dict[str, bytearray] = {}
        self.errors: list[dict[str, Any]] = []
        self.file_parts = 0
        self.ended = False
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._target: str | None = None  # "file", a field name, or None (discarded)

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field_cb,
            "on_header_value": self._header_value_cb,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._target = None

    def _header_field_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value.decode("latin-1")
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        field = params.get(b"name", b"").decode("utf-8", "replace")
        if field == "file":
            self.file_parts += 1
            if self.file_parts > 1:
                self.errors.append(
                    {"pointer": "#/file", "detail": "send one file per request", "code": "duplicate"}
                )
                return
            raw = params.get(b"filename")
            if raw is not None:
                # Browsers send the name as raw UTF-8 bytes; the parser hands them over as latin-1.
                try:
                    self.filename = raw.decode("utf-8")
                except UnicodeDecodeError:
                    self.filename = raw.decode("latin-1")
            self._target = "file"
        elif field in FORM_FIELDS:
            if field in self.fields:
                self.errors.append(
                    {"pointer": f"#/{field}", "detail": "this field appears twice", "code": "duplicate"}
                )
                return
            self.fields[field] = bytearray()
            self._target = field
        else:
            self.errors.append(
                {
                    "pointer": "#/" + field.replace("~", "~0").replace("/", "~1"),
                    "detail": "unknown field (check its spelling)",
                    "code": "extra_forbidden",
                }
            )

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._target == "file":
            self.size += end - start
            if self.size > self.limit:
                self.over = True
                return
            self.pending.append(memoryview(data)[start:end])
            self.pending_bytes += end - start
        elif self._target is not None:
            buf = self.fields[self._target]
            if len(buf) + end - start > FIELD_LIMIT:
                self.errors.append(
                    {
                        "pointer": f"#/{self._target}",
                        "detail": f"longer than {FIELD_LIMIT} bytes",
                        "code": "too_long",
                    }
                )
                self._target = None
                return
            buf += data[start:end]

    def _end(self) -> None:
        self.ended = True

    def take(self) -> list[memoryview]:
        """The file bytes received so far, handed over whole (a fresh list takes their place)."""
        data, self.pending, self.pending_bytes = self.pending, [], 0
        return data


class _Spool:
    """Write received bytes to the temp file and hash them, each on a thread of its own, so the
    disk, sha256 and the event loop (receiving and parsing) work at the same time.

    Bounded queues give back-pressure and keep memory flat: at most ``DEPTH`` buffers wait.
    ``abort()`` is synchronous so it also runs when the request is cancelled.
    """

    DEPTH = 4

    def __init__(self, fh: BinaryIO):
        self.digest = hashlib.sha256()
        self.error: BaseException | None = None
        self._stop = False
        self._queues: list[queue.Queue[list[memoryview] | None]] = [
            queue.Queue(self.DEPTH),
            queue.Queue(self.DEPTH),
        ]
        self._threads = [
            threading.Thread(target=self._drain, args=(q, op), daemon=True, name=f"upload-{label}")
            for q, op, label in zip(
                self._queues, (fh.write, self.digest.update), ("write", "hash"), strict=True
            )
        ]
        for thread in self._threads:
            thread.start()

    def _drain(self, q: queue.Queue[list[memoryview] | None], op: Callable[[memoryview], object]) -> None:
        while (buf := q.get()) is not None:
            if self.error is None and not self._stop:
                try:
                    for piece in buf:
                        op(piece)
                except BaseException as exc:  # handed to the request, which answers for it
                    self.error = exc

    async def put(self, buf: list[memoryview]) -> None:
        for q in self._queues:
            try:
                q.put_nowait(buf)
            except queue.Full:
                await anyio.to_thread.run_sync(q.put, buf)
        if self.error is not None:
            raise self.error

    async def finish(self) -> None:
        """Wait until every buffer is written and hashed."""
        for q in self._queues:
            await anyio.to_thread.run_sync(q.put, None)
        for thread in self._threads:
            await anyio.to_thread.run_sync(thread.join)
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """Stop the threads without waiting (a no-op after :meth:`finish`)."""
        self._stop = True
        for q in self._queues:
            with contextlib.suppress(queue.Empty):
                while True:
                    q.get_nowait()
            with contextlib.suppress(queue.Full):
                q.put_nowait(None)
        for thread in self._threads:
            thread.join(timeout=5)  # a write or hash in progress ends within milliseconds


def _parse_fields(raw: Mapping[str, bytearray]) -> AssetFields:
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for key, buf in raw.items():
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError:
            errors.append({"pointer": f"#/{key}", "detail": "not valid UTF-8", "code": "unicode"})
            continue
        if key == "tags":
            stripped = text.strip()
            if stripped.startswith("["):
                try:
                    values["tags"] = json.loads(stripped)
                except json.JSONDecodeError:
                    errors.append({"pointer": "#/tags", "detail": "not a JSON list", "code": "json_invalid"})
            else:
                values["tags"] = [t for t in (p.strip() for p in text.split(",")) if t]
        elif key == "metadata":
            try:
                values["metadata"] = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError:
                errors.append(
                    {
                        "pointer": "#/metadata",
                        "detail": "not valid JSON (send a JSON object)",
                        "code": "json_invalid",
                    }
                )
        else:
            values[key] = text
    if not errors:
        try:
            return AssetFields.model_validate(values)
        except ValidationError as exc:
            for err in exc.errors():
                loc = "".join(f"/{p}" for p in err["loc"])
                errors.append(
                    {
                        "pointer": f"#{loc}",
                        "detail": str(err["msg"]).removeprefix("Value error, "),
                        "code": err["type"],
                    }
                )
    count = len(errors)
    raise ApiError(
        "validation-error", f"{count} problem{'s' if count != 1 else ''} in the form", errors=errors
    )


def _too_large(limit: int) -> ApiError:
    return ApiError(
        "content-too-large",
        f"the file is larger than the limit of {limit} bytes",
        errors=[{"pointer": "#/file", "detail": f"at most {limit} bytes", "code": "too_large"}],
    )


@router.post(
    "/v1/assets",
    status_code=201,
    summary="Upload a file (streaming multipart) and make it an asset",
    openapi_extra={"requestBody": ex.UPLOAD_BODY},
    responses=ex.UPLOAD_RESPONSES,
)
async def upload(
    request: Request,
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("assets:write")),
    idem: Idempotency = Depends(idempotency_streamed),
) -> Response:
    """Send the file as the `file` part of `multipart/form-data`, with optional `name`, `tags`
    and `metadata` fields. The content is sniffed and probed (the client's Content-Type and
    file name are not trusted); identical bytes already in the workspace return that asset with
    200 and `"deduplicated": true` (its tags and metadata unchanged)."""
    settings = services.settings
    limit = settings.max_upload_bytes
    media_type, params = parse_options_header(request.headers.get("content-type"))
    if media_type != b"multipart/form-data":
        raise ApiError(
            "unsupported-media-type",
            "send the file as multipart/form-data with a `file` part",
            errors=[
                {"header": "Content-Type", "detail": "expected multipart/form-data", "code": "unsupported"}
            ],
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(
            "invalid-request",
            "the multipart Content-Type has no boundary",
            errors=[{"header": "Content-Type", "detail": "missing boundary", "code": "missing"}],
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise _too_large(limit)

    sink = _MultipartSink(limit)
    try:
        parser = MultipartParser(boundary, sink.callbacks())
    except (FormParserError, ValueError):
        raise ApiError(
            "invalid-request",
            "the multipart boundary is not valid",
            errors=[{"header": "Content-Type", "detail": "bad boundary", "code": "invalid"}],
        ) from None
    fd, name = tempfile.mkstemp(dir=services.storage.temp_dir(), prefix="upload-")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            spool = _Spool(fh)
            try:
                async for chunk in request.stream():
                    parser.write(chunk)
                    if sink.over:
                        raise _too_large(limit)
                    await idem.keep_alive()  # a long upload keeps its idempotency key
                    if sink.pending_bytes >= FLUSH_BYTES:
                        await spool.put(sink.take())
                parser.finalize()
                if sink.pending:
                    await spool.put(sink.take())
                await spool.finish()
            except FormParserError as exc:
                raise ApiError("invalid-request", f"the multipart body is malformed ({exc})") from None
            except ClientDisconnect:
                log.info("upload abandoned by the client after %d bytes", sink.size)
                raise ApiError("invalid-request", "the client disconnected during the upload") from None
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                log.error("upload refused: storage is full (%s)", exc)
                raise ApiError(
                    "temporary-reduced-capacity",
                    "the server has no storage space left; try again later",
                    headers={"Retry-After": "60"},
                ) from None
            finally:
                spool.abort()
        if not sink.ended:
            raise ApiError("invalid-request", "the multipart body ends before its closing boundary")
        if sink.file_parts == 0:
            sink.errors.insert(
                0, {"pointer": "#/file", "detail": "this field is required", "code": "missing"}
            )
        if sink.errors:
            count = len(sink.errors)
            raise ApiError(
                "validation-error",
                f"{count} problem{'s' if count != 1 else ''} in the form",
                errors=sink.errors,
            )
        # The parts, not the raw bytes: a client picks a new multipart boundary on each attempt.
        idem.settle(
            upload_fingerprint(
                request,
                spool.digest.hexdigest(),
                {
                    "filename": sink.filename,
                    **{k: v.decode("utf-8", "replace") for k, v in sink.fields.items()},
                },
            )
        )
        fields = _parse_fields(sink.fields)
        display = fields.name or clean_name(sink.filename)
        body, created = await run_in_threadpool(
            _ingest, services, principal.workspace_id, temp, display, spool.digest.hexdigest(), fields, idem
        )
    finally:
        temp.unlink(missing_ok=True)
    if idem.staged is not None:
        return idem.response()  # exactly what was stored with the new asset
    status, answer, headers = _upload_answer(body, created, settings)
    await idem.store_now(answer, status=status, headers=headers)  # deduplicated: nothing was created
    return JSONResponse(answer, status_code=status, headers=headers)


def _upload_answer(
    body: dict[str, Any], created: bool, settings: Settings
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers of an upload's response."""
    body = {**body, "deduplicated": not created}
    headers = {"ETag": _etag({k: v for k, v in body.items() if k != "deduplicated"})}
    if created:
        headers["Location"] = f"{settings.public_url.rstrip('/')}/v1/assets/{body['id']}"
    return (201 if created else 200), _jsonable(body), headers


def _jsonable(body: dict[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = json_ready(body)
    return encoded


def _ingest(
    services: Services,
    workspace_id: str,
    path: Path,
    name: str,
    sha256: str,
    fields: AssetFields,
    idem: Idempotency | None = None,
) -> tuple[dict[str, Any], bool]:
    with services.sessions() as db:
        if idem is not None:

            def staged() -> tuple[int, dict[str, Any], dict[str, str]]:
                # Inside the new asset's commit: its response is stored with it.
                asset = db.scalar(
                    select(Asset).where(Asset.workspace_id == workspace_id, Asset.sha256 == sha256)
                )
                assert asset is not None
                return _upload_answer(
                    asset_json(asset, _tags_of(db, [asset.id])[asset.id]), True, services.settings
                )

            idem.stage_at_commit(db, staged)
        try:
            # Previews (FFmpeg may decode the whole file for a waveform) are made after the answer.
            asset, created = ingest_file(
                db,
                services.storage,
                workspace_id=workspace_id,
                path=path,
                name=name,
                settings=services.settings,
                sha256=sha256,
                tags=fields.tags,
                metadata=fields.metadata,
                defer_previews=True,
            )
        except IngestError as exc:
            code = exc.code if exc.code in ("media-unsupported", "content-too-large") else "media-unsupported"
            raise ApiError(
                code,
                exc.reason,
                errors=[{"pointer": "#/file", "detail": exc.reason, "code": code.replace("-", "_")}],
            ) from None
        if created and asset.previews == "pending":
            services.previews().submit(asset.id)
        return asset_json(asset, _tags_of(db, [asset.id])[asset.id]), created


# ------------------------------------------------------------------------------ read, edit, delete

Kind = Literal["video", "image", "audio", "subtitles", "font", "lut"]
Source = Literal["upload", "render", "import"]


@router.get(
    "/v1/assets", summary="List assets, newest first, with filters", responses=ex.LIST_ASSETS_RESPONSES
)
async def list_assets(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    kind: Kind | None = None,
    tag: Annotated[
        list[Tag] | None, Query(description="Repeat to require several tags (all must match).")
    ] = None,
    name: Annotated[str | None, Query(max_length=255, description="Part of the name, any case.")] = None,
    created_after: Annotated[AwareDatetime | None, Query(description="RFC 3339; inclusive.")] = None,
    created_before: Annotated[AwareDatetime | None, Query(description="RFC 3339; exclusive.")] = None,
    source: Source | None = None,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    """Filters combine (all must match): `kind`, `source` (`upload`, `render`, `import`), `tag`
    (repeat it to require several), `name` (a part of it, any case), `created_after` and
    `created_before` (RFC 3339)."""
    return await asset_list_response(
        request,
        principal.workspace_id,
        limit=limit,
        cursor=cursor,
        kind=kind,
        tags=tag or [],
        name=name,
        created_after=created_after,
        created_before=created_before,
        source=source,
    )


async def asset_list_response(
    request: Request,
    workspace_id: str,
    *,
    limit: int,
    cursor: str | None,
    kind: str | None = None,
    tags: list[str] | None = None,
    name: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    source: str | None = None,
) -> Response:
    """``GET /v1/assets``'s answer for validated parameters; 400 ``invalid-cursor`` for a cursor of another list."""
    tags = sorted(set(tags or []))
    filters = {
        "kind": kind,
        "source": source,
        "tag": tags or None,
        "name": name,
        "created_after": _iso(created_after),
        "created_before": _iso(created_before),
    }
    params: dict[str, Any] = {"workspace_id": workspace_id, "limit": limit + 1}
    if cursor:
        params["after_created"], params["after_id"] = decode_cursor(
            services_of(request).secrets.cursor_key, cursor, filters
        )
    if any(v is not None for v in filters.values()):
        built = _list_query(cursor=bool(cursor))
        if kind:
            built = built.where(_ASSETS.kind == kind)
        if source:
            built = built.where(_ASSETS.source == source)
        for t in tags:
            built = built.where(_ASSETS.id.in_(select(_TAGS.asset_id).where(_TAGS.tag == t)))
        if name:
            built = built.where(_ASSETS.name.icontains(name, autoescape=True))
        if created_after:
            built = built.where(_ASSETS.created_at >= created_after)
        if created_before:
            built = built.where(_ASSETS.created_at < created_before)
        query: Select[Any] = built
    else:
        query = _LIST_AFTER if cursor else _LIST_FIRST  # built once: no statement to build or cache-key

    cache = services_of(request).asset_docs

    def read(conn: Connection) -> tuple[list[PageRow], dict[str, bytes]]:
        rows = [PageRow._make(row) for row in conn.execute(query, params or {}).all()]
        docs: dict[str, bytes] = {}
        missing = []
        for row in rows[:limit]:
            doc = cache.get(row.id, row.revision)
            if doc is None:
                missing.append(row.id)
            else:
                docs[row.id] = doc
        if missing:  # made once per revision of an asset, then served from the cache
            for asset in _read_assets(conn, _ASSETS.id.in_(missing)):
                docs[asset.id] = json_bytes(asset_json(cast(Asset, asset), _row_tags(asset)))
                cache.put(asset.id, asset.revision, docs[asset.id])
        return rows, docs

    page, docs = await read_db(request, read)
    rows, next_cursor, headers = page_of(request, page, limit, filters)
    # An asset deleted between the two reads is left out.
    data = [orjson.Fragment(docs[row.id]) for row in rows if row.id in docs]
    return json_response(json_bytes(list_body(request, data, next_cursor)), headers=headers)


def _read_assets(conn: Connection, where: ColumnElement[bool]) -> list[AssetRow]:
    rows = conn.execute(select(*_READ_COLUMNS).where(where)).all()
    return [AssetRow._make(row) for row in decode_json_fields(rows, _JSON_INDEXES, _DATETIME_INDEXES)]


def _iso(value: datetime | None) -> str | None:
    return json_ready(value) if value is not None else None


@router.get("/v1/assets/{asset_id}", summary="Get an asset", responses=ex.GET_ASSET_RESPONSES)
async def get_asset(
    asset_id: str, request: Request, principal: Principal = Depends(require("assets:read"))
) -> Response:
    def read(conn: Connection) -> AssetRow | None:
        row = conn.execute(_GET_ASSET, {"id": asset_id, "workspace_id": principal.workspace_id}).first()
        return (
            None
            if row is None
            else AssetRow._make(decode_json_fields([row], _JSON_INDEXES, _DATETIME_INDEXES)[0])
        )

    row = await read_db(request, read)
    if row is None:
        raise ApiError("not-found", f"no asset {asset_id}")
    return conditional_json(request, json_bytes(asset_json(cast(Asset, row), _row_tags(row))))


@router.patch(
    "/v1/assets/{asset_id}",
    summary="Rename an asset or replace its tags or metadata",
    responses=ex.PATCH_ASSET_RESPONSES,
)
def patch_asset(
    asset_id: str,
    body: Annotated[AssetPatch, Body(openapi_examples=ex.PATCH_ASSET_BODY)],
    request: Request,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("assets:write")),
) -> JSONResponse:
    """`If-Match` with the asset's ETag makes the change conditional (412 when it changed)."""
    asset = _asset(db, principal, asset_id, lock=True)
    tags = _tags_of(db, [asset.id])[asset.id]
    _require_match(request, _etag(asset_json(asset, tags)))
    given = body.model_fields_set
    if "name" in given:
        asset.name = body.name
    if "metadata" in given:
        asset.meta = body.metadata
    if "tags" in given:
        tags = list(dict.fromkeys(body.tags))
        db.execute(delete(AssetTag).where(AssetTag.asset_id == asset.id))
        db.add_all(AssetTag(asset_id=asset.id, tag=t) for t in tags)
    db.commit()
    result = asset_json(asset, tags)
    return JSONResponse(_jsonable(result), headers={"ETag": _etag(result)})


@router.delete(
    "/v1/assets/{asset_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an asset (refused with 409 while an unfinished render uses it)",
    responses=ex.DELETE_ASSET_RESPONSES,
)
def delete_asset(
    asset_id: str,
    request: Request,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("assets:write")),
) -> Response:
    """Refused with 409 `conflict` while a queued, preparing, rendering or finishing render reads
    the asset (the problem lists them in `renders`); otherwise the row, its tags and its stored
    bytes and previews go at once. `If-Match` is honoured."""
    asset = _asset(db, principal, asset_id, lock=True)
    if request.headers.get("if-match") is not None:
        _require_match(request, _etag(asset_json(asset, _tags_of(db, [asset.id])[asset.id])))
    busy = list(
        db.scalars(
            select(Render.id)
            .join(RenderAsset, RenderAsset.render_id == Render.id)
            .where(
                RenderAsset.asset_id == asset.id,
                Render.workspace_id == asset.workspace_id,
                Render.state.in_(ACTIVE_RENDER_STATES),
            )
            .order_by(Render.id)
        )
    )
    if busy:
        db.rollback()
        shown = ", ".join(busy[:10]) + (f" and {len(busy) - 10} more" if len(busy) > 10 else "")
        raise ApiError(
            "conflict",
            f"asset {asset.id} is used by renders that have not finished ({shown}); "
            "cancel them or wait until they end",
            renders=busy,
        )
    keys = [k for k in (asset.storage_key, asset.thumbnail_key, asset.waveform_key) if k]
    record_asset_event(db, asset, _tags_of(db, [asset.id])[asset.id], "asset.deleted")
    record_audit(
        db,
        workspace_id=asset.workspace_id,
        action="asset.deleted",
        resource_type="asset",
        resource_id=asset.id,
        details={
            "name": asset.name,
            "kind": asset.kind,
            "sha256": asset.sha256,
            "size_bytes": asset.size_bytes,
        },
        **audit_actor(principal, request),
    )
    db.execute(delete(AssetTag).where(AssetTag.asset_id == asset.id))
    db.delete(asset)
    db.commit()
    # Files go after the commit: a failure here leaves an orphan file, never a row without bytes.
    for key in keys:
        try:
            services.storage.delete(key)
        except OSError as exc:
            log.warning("could not remove %s: %s", key, exc)
    remove_empty_dirs(services.storage, keys)
    return Response(status_code=204)


# ------------------------------------------------------------------------------ download

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_FILENAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/]')


def parse_range(header: str | None, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """A single byte range as (first, last), inclusive; None to send the whole file.

    Multiple ranges and malformed headers are answered with the whole file, as RFC 9110 §14.2
    allows a server to ignore Range.
    """
    if header is None:
        return None
    m = _RANGE.match(header.strip().replace(" ", ""))
    if m is None:
        return None
    first, last = m.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last n bytes
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignore it
    if start >= size:
        return "unsatisfiable"
    return start, min(int(last), size - 1) if last else size - 1


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the exact name in RFC 8187 encoding (RFC 6266)."""
    safe = _FILENAME_UNSAFE.sub("_", name).strip() or "download"
    ascii_name = safe.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(safe, safe='')}"


def _download_name(asset: Asset) -> str:
    suffix = Path(asset.storage_key).suffix
    name = asset.name
    return name if Path(name).suffix or not suffix else name + suffix


def _chunks(fh: Any, start: int, length: int) -> Iterator[bytes]:
    with fh:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            data = fh.read(min(DOWNLOAD_CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data


@router.get(
    "/v1/assets/{asset_id}/content",
    summary="Download the original bytes (HTTP Range supported)",
    response_class=Response,
    operation_id="download_asset_content",
    responses=ex.DOWNLOAD_RESPONSES,
)
@router.head(
    "/v1/assets/{asset_id}/content",
    summary="The download's headers (size, type, ETag) without the bytes",
    response_class=Response,
    operation_id="head_asset_content",
    responses=ex.DOWNLOAD_RESPONSES,
)
def download(
    asset_id: str,
    request: Request,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    """One range per request (`bytes=a-b`, `bytes=a-`, `bytes=-n`) gets 206; several ranges get the
    whole file. `If-Range` and `If-None-Match` compare with the ETag, the content's sha256."""
    asset = _asset(db, principal, asset_id)
    etag = f'"{asset.sha256}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Disposition": content_disposition(_download_name(asset)),
    }
    if etag_matches(request.headers.get("if-none-match"), etag, weak=True):
        return Response(status_code=304, headers=headers)
    path = services.storage.local_path(asset.storage_key)
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        log.error("asset %s: stored file %s is missing", asset.id, asset.storage_key)
        raise ApiError("not-found", f"the content of asset {asset.id} is missing from storage") from None
    size = os.fstat(fh.fileno()).st_size
    if_range = request.headers.get("if-range")
    wanted = parse_range(request.headers.get("range"), size) if if_range in (None, etag) else None
    if wanted == "unsatisfiable":
        fh.close()
        raise ApiError(
            "range-not-satisfiable",
            f"the range is outside the file of {size} bytes",
            headers={"Content-Range": f"bytes */{size}", **headers},
            errors=[{"header": "Range", "detail": f"the file has {size} bytes", "code": "unsatisfiable"}],
        )
    status, start, length = 200, 0, size
    if wanted is not None:
        first, last = wanted
        status, start, length = 206, first, last - first + 1
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        fh.close()
        return Response(status_code=status, headers=headers, media_type=asset.content_type)
    return StreamingResponse(
        _chunks(fh, start, length), status_code=status, headers=headers, media_type=asset.content_type
    )


def _preview(db: Session, services: Services, principal: Principal, asset_id: str, which: str) -> Response:
    asset = _asset(db, principal, asset_id)
    key = asset.thumbnail_key if which == "thumbnail" else asset.waveform_key
    if not key:
        raise ApiError("not-found", f"asset {asset_id} has no {which}")
    try:
        data = services.storage.local_path(key).read_bytes()
    except FileNotFoundError:
        raise ApiError("not-found", f"the {which} of asset {asset_id} is missing from storage") from None
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    return Response(data, media_type="image/png", headers={"ETag": etag})


@router.get(
    "/v1/assets/{asset_id}/thumbnail",
    summary="The asset's thumbnail (PNG)",
    response_class=Response,
    responses=ex.THUMBNAIL_RESPONSES,
)
def thumbnail(
    asset_id: str,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    return _preview(db, services, principal, asset_id, "thumbnail")


@router.get(
    "/v1/assets/{asset_id}/waveform",
    summary="An audio asset's waveform (PNG)",
    response_class=Response,
    responses=ex.WAVEFORM_RESPONSES,
)
def waveform(
    asset_id: str,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    return _preview(db, services, principal, asset_id, "waveform")
