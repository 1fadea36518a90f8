"""Asset bytes in an S3-compatible bucket (``REELFORGE_STORAGE_BACKEND=s3``).

Every API and worker process of an installation sees the same objects, so renders can run on
any machine. Objects are written once under keys the service chooses and never changed in
place; a process that needs a file (FFmpeg reads files) gets it from its :class:`SourceCache`,
named by the object's key and ETag, so a copy is never stale. Uploads of files from
``s3_multipart_threshold`` bytes go in parts (:func:`reelforge.media.s3.upload_file`); the file
just uploaded becomes the cache's copy, so the previews made right after an upload, or the
delivery of an output just rendered, download nothing.

Scratch space (uploads being received, render work directories) stays local, under the
cache directory, with the same per-process ownership and sweeping as :class:`LocalStorage`.
"""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from botocore.exceptions import BotoCoreError, ClientError

from .cache import SourceCache, entry_name
from .s3 import MULTIPART_CHUNK, MULTIPART_THRESHOLD, S3Error, S3Target, join_key, s3_client, upload_file
from .storage import LEGACY_TEMP_AGE, LocalStorage, check_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Object", "S3Storage", "StorageUnavailable"]

_MISSING = ("404", "NoSuchKey", "NotFound")


class StorageUnavailable(OSError):
    """The store refused or did not answer a request (an OSError, as a failing disk's errors
    are: callers handle both alike). The message is safe to show (no credentials)."""


def _unavailable(exc: Exception) -> StorageUnavailable:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return StorageUnavailable(f"S3 refused the request: {error.get('Code', 'error')}")
    return StorageUnavailable(f"S3 request failed: {exc.__class__.__name__}")


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3Storage:
    def __init__(
        self,
        target: S3Target,
        *,
        prefix: str,
        local_root: Path,
        cache_max_bytes: int,
        presign_seconds: int = 900,
        redirect_downloads: bool = True,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        multipart_chunk: int = MULTIPART_CHUNK,
        client: S3Client | None = None,
    ):
        self.target = target
        self.bucket = target.bucket
        self.prefix = prefix
        self.client: S3Client = client or s3_client(target)
        self.presign_seconds = presign_seconds
        self.redirect_downloads = redirect_downloads
        self.multipart_threshold = multipart_threshold
        self.multipart_chunk = multipart_chunk
        self._local = LocalStorage(local_root)
        self.root = self._local.root
        """The local directory of scratch files and cached copies (named in error messages)."""
        self.cache = SourceCache(self.root / "sources", cache_max_bytes)

    def _object(self, key: str) -> str:
        return join_key(self.prefix, check_key(key))

    # -------------------------------------------------------------------- objects

    def put(self, key: str, source: Path) -> None:
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        try:
            head = upload_file(
                self.client,
                self.bucket,
                self._object(key),
                source,
                content_type=content_type,
                threshold=self.multipart_threshold,
                chunk=self.multipart_chunk,
            )
        except S3Error as exc:
            raise StorageUnavailable(str(exc)) from None
        if not self.cache.adopt(entry_name(key, str(head["ETag"])), source):
            source.unlink(missing_ok=True)

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=self._object(key)))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise _unavailable(exc) from None
        except BotoCoreError as exc:
            raise _unavailable(exc) from None

    def open(self, key: str) -> BinaryIO:
        head = self.head(key)
        if head is None:
            raise FileNotFoundError(key)
        return cast(
            BinaryIO, S3Object(self.client, self.bucket, self._object(key), int(head["ContentLength"]))
        )

    def size(self, key: str) -> int:
        head = self.head(key)
        if head is None:
            raise FileNotFoundError(key)
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._object(key))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from None

    def local_path(self, key: str) -> Path:
        """A local copy of the object (downloaded into the cache if it has none); a path that
        does not exist when the object does not."""
        head = self.head(key)
        name = entry_name(key, str(head["ETag"]) if head else "missing")
        if head is None:
            return self.cache.path(name)

        def download(target: Path) -> None:
            try:
                self.client.download_file(self.bucket, self._object(key), str(target))
            except (ClientError, BotoCoreError) as exc:
                raise _unavailable(exc) from None

        return self.cache.fetch(name, download)

    def download_url(self, key: str, *, disposition: str, content_type: str) -> str | None:
        """A presigned GET URL of the object, answered with these ``Content-Disposition`` and
        ``Content-Type`` (the store serves Range itself); None when downloads are streamed
        through the API."""
        if not self.redirect_downloads:
            return None
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._object(key),
                "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type,
            },
            ExpiresIn=self.presign_seconds,
        )

    def remove_empty_parents(self, keys: Iterable[str]) -> None:
        """Nothing to do: a bucket has no directories."""

    # -------------------------------------------------------------------- local scratch

    def temp_dir(self) -> Path:
        return self._local.temp_dir()

    def uploads_dir(self) -> Path:
        return self._local.uploads_dir()

    def sweep_temp(self, *, legacy_age: float = LEGACY_TEMP_AGE) -> int:
        removed = self._local.sweep_temp(legacy_age=legacy_age)
        self.cache.evict()
        return removed

    def temp_file(self, suffix: str = "") -> AbstractContextManager[Path]:
        return self._local.temp_file(suffix)


class S3Object(io.RawIOBase):
    """An object read like a file: each read after a seek is a ranged GET from that offset, the
    rest of the response streamed; ``seek(0, 2)`` answers the size without a request."""

    def __init__(self, client: S3Client, bucket: str, key: str, size: int):
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self.size = size
        self._pos = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        pos = max(0, base + offset)
        if pos != self._pos:
            self._drop()
            self._pos = pos
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self.size or len(view) == 0:
            return 0
        try:
            if self._body is None:
                response = self._client.get_object(
                    Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-"
                )
                self._body = response["Body"]
            data = self._body.read(len(view))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from None
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _drop(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop()
        super().close()
