"""A ZIP archive written as a stream of byte chunks, never whole in memory or on disk.

Entries are stored (media is already compressed) with ZIP64 headers and data descriptors, so
files of any size go through in chunks and the archive is read by every unzip tool."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

__all__ = ["CHUNK", "zip_stream"]

CHUNK = 1024 * 1024


class _Sink(io.RawIOBase):
    """Collects what zipfile writes; unseekable, so zipfile writes data descriptors."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def zip_stream(entries: Iterable[tuple[str, Path, datetime]]) -> Iterator[bytes]:
    """The archive of ``(name in the archive, file, modification time)`` entries, chunk by chunk."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, path, modified in entries:
            info = zipfile.ZipInfo(name, date_time=modified.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as dest, path.open("rb") as src:
                while piece := src.read(CHUNK):
                    dest.write(piece)
                    if chunk := sink.drain():
                        yield chunk
            if chunk := sink.drain():
                yield chunk
    if chunk := sink.drain():
        yield chunk
