"""Downloads with HTTP Range (RFC 9110 §14): one byte range per request gets 206, an
unsatisfiable one 416 with ``Content-Range: bytes */size``; several ranges, a malformed header
or an ``If-Range`` that does not match get the whole file. ``If-None-Match`` gets 304."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO, Literal
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from reelforge.metrics import DELIVERED_BYTES

from .problems import ApiError
from .responses import etag_matches

__all__ = ["DOWNLOAD_CHUNK", "content_disposition", "file_response", "parse_range"]

DOWNLOAD_CHUNK = 256 * 1024

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


def _chunks(fh: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    with fh:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            data = fh.read(min(DOWNLOAD_CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            DELIVERED_BYTES.labels(via="download").inc(len(data))
            yield data


def file_response(
    request: Request,
    open_file: Callable[[], BinaryIO],
    *,
    etag: str,
    filename: str,
    media_type: str,
    locate: Callable[[str], str | None] | None = None,
) -> Response:
    """The answer to a GET or HEAD of a file: 304, 200, 206 or 416, or 307 to where the storage
    serves the bytes itself (a presigned URL, Range answered there) when ``locate``, given the
    ``Content-Disposition``, says where. ``open_file`` is called only when bytes (or their size)
    are needed; it raises when the file is gone."""
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Disposition": content_disposition(filename),
    }
    if etag_matches(request.headers.get("if-none-match"), etag, weak=True):
        return Response(status_code=304, headers=headers)
    url = locate(headers["Content-Disposition"]) if locate is not None else None
    if url is not None:
        # Not cached: the URL expires, the ETag names the bytes.
        return RedirectResponse(url, status_code=307, headers={"ETag": etag, "Cache-Control": "no-store"})
    fh = open_file()
    size = fh.seek(0, os.SEEK_END)  # a file's size, and an object's without fetching it
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
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(
        _chunks(fh, start, length), status_code=status, headers=headers, media_type=media_type
    )
