"""The streaming multipart reader of uploads: the body is parsed as it arrives, and the file part
goes straight to a temporary file, written and hashed on threads of their own, so memory stays
flat whatever the size and the bytes are written once. Past the limit the upload stops with 413
at once.

:func:`receive_upload` reads one request; what the fields mean is the caller's business.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import queue
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio
from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from reelforge import metrics

from .idempotency import Idempotency
from .problems import ApiError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

__all__ = ["FIELD_LIMIT", "FORM_OVERHEAD", "Received", "receive_upload", "too_large"]

log = logging.getLogger("reelforge.api.assets")

FIELD_LIMIT = 64 * 1024
"""Largest non-file form field, bytes."""
FORM_OVERHEAD = 1024 * 1024
"""What a Content-Length may exceed the file limit by (boundaries, part headers, fields)."""
FLUSH_BYTES = 1024 * 1024
"""Received file bytes are written and hashed off the event loop in batches of this size."""


class _MultipartSink:
    """python-multipart callbacks: the ``file`` part goes into ``pending`` (flushed to disk by the
    caller), the small fields into buffers; nothing else is kept.

    ``pending`` holds views of the received chunks, not a copy: the parser hands over slices of
    the (immutable) bytes it was given, and copying them into one buffer cost the event loop as
    much as parsing did."""

    def __init__(self, limit: int, form_fields: tuple[str, ...]):
        self.limit = limit
        self.form_fields = form_fields
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
        elif field in self.form_fields:
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


def too_large(limit: int) -> ApiError:
    return ApiError(
        "content-too-large",
        f"the file is larger than the limit of {limit} bytes",
        errors=[{"pointer": "#/file", "detail": f"at most {limit} bytes", "code": "too_large"}],
    )


@dataclass(frozen=True)
class Received:
    """An upload read to its end: the file's bytes in ``path`` (a temporary file the caller
    removes), their ``sha256``, the client's file name and the raw form fields."""

    path: Path
    sha256: str
    filename: str | None
    fields: dict[str, bytearray]


@contextlib.asynccontextmanager
async def receive_upload(
    request: Request, *, fields: tuple[str, ...], limit: int, temp_dir: Path, idem: Idempotency
) -> AsyncIterator[Received]:
    """Read a ``multipart/form-data`` request with one ``file`` part and the small ``fields``
    (any other part is a located 422), the file into a temporary file in ``temp_dir`` (removed
    when the context ends). Errors are the request's problems: 415, 400, 413, 422, 503."""
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
    if (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > limit + FORM_OVERHEAD
    ):
        raise too_large(limit)

    sink = _MultipartSink(limit, fields)
    try:
        parser = MultipartParser(boundary, sink.callbacks())
    except (FormParserError, ValueError):
        raise ApiError(
            "invalid-request",
            "the multipart boundary is not valid",
            errors=[{"header": "Content-Type", "detail": "bad boundary", "code": "invalid"}],
        ) from None
    fd, name = tempfile.mkstemp(dir=temp_dir, prefix="upload-")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            spool = _Spool(fh)
            try:
                async for chunk in request.stream():
                    parser.write(chunk)
                    if sink.over:
                        raise too_large(limit)
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
        metrics.UPLOADED_BYTES.inc(sink.size)
        yield Received(temp, spool.digest.hexdigest(), sink.filename, sink.fields)
    finally:
        temp.unlink(missing_ok=True)
