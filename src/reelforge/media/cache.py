"""A bounded local copy of stored objects, shared by the processes of one machine.

An S3-backed process renders from local files (FFmpeg seeks in its inputs), so it downloads
each source once into ``<root>/objects/`` and reads it from there. The cache is bounded by
bytes; the least recently used entries go first. Several worker processes share one cache:

- an entry appears only whole: it is downloaded to ``<root>/incoming/`` and renamed into
  place (``rename`` is atomic on one filesystem), so a reader never sees half a file;
- one download per entry at a time: the downloader holds the entry's lock file exclusively
  (``flock``), a second process wanting the same entry waits for it and then finds it there;
- a reader that needs an entry to stay holds its lock shared (:meth:`SourceCache.pinned`);
  eviction takes each lock exclusively without waiting and skips the entries it cannot take.
  An entry unlinked while a process has it open stays readable to that process (POSIX), so
  eviction never breaks a running FFmpeg; entries used in the last ``min_age`` seconds are
  kept as well, for a caller between :meth:`fetch` and opening the file;
- "recently used" is the entry's modification time, set on every use (``atime`` is often
  not kept).

The kernel drops ``flock`` locks when a process dies (kill -9 included); what a dead
downloader left in ``incoming/`` is removed by the next eviction once it is an hour old.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SourceCache", "entry_name"]

log = logging.getLogger("reelforge.cache")

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_INCOMING_AGE = 3600.0


def entry_name(key: str, version: str) -> str:
    """The cache's file name for version ``version`` (an ETag) of object ``key``: a digest of
    both, then the key's last segment (its suffix tells tools the format)."""
    digest = hashlib.sha256(f"{key}\0{version}".encode()).hexdigest()[:32]
    tail = _SAFE.sub("_", key.rsplit("/", 1)[-1])[-64:]
    return f"{digest}-{tail}"


class SourceCache:
    def __init__(self, root: Path, max_bytes: int, *, min_age: float = 60.0):
        self.root = root
        self.max_bytes = max_bytes
        self.min_age = min_age
        self.objects = root / "objects"
        self.incoming = root / "incoming"
        self.locks = root / "locks"
        for path in (self.objects, self.incoming, self.locks):
            path.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.objects / name

    def fetch(self, name: str, download: Callable[[Path], None]) -> Path:
        """The entry ``name``, downloaded first (by ``download(target)``) if absent."""
        path = self.objects / name
        if self._touch(path):
            return path
        with self._lock(name, fcntl.LOCK_EX):
            if self._touch(path):  # another process downloaded it while we waited
                return path
            part = self.incoming / f"{name}.{secrets.token_hex(6)}"
            try:
                download(part)
                os.replace(part, path)
            finally:
                part.unlink(missing_ok=True)
        self.evict()
        return path

    def adopt(self, name: str, source: Path) -> bool:
        """Move ``source`` (a file just uploaded) in as entry ``name``, sparing a download;
        False when it cannot be moved (another filesystem), ``source`` then left in place."""
        path = self.objects / name
        with self._lock(name, fcntl.LOCK_EX):
            try:
                os.replace(source, path)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                return False
            self._touch(path)
        self.evict()
        return True

    @contextmanager
    def pinned(self, name: str) -> Iterator[None]:
        """Keep entry ``name`` from eviction while the block runs."""
        with self._lock(name, fcntl.LOCK_SH):
            yield

    def size(self) -> int:
        total = 0
        for entry in os.scandir(self.objects):
            with contextlib.suppress(FileNotFoundError):
                total += entry.stat().st_size
        return total

    def evict(self) -> int:
        """Remove least recently used entries until the cache holds at most ``max_bytes``
        (entries in use or used in the last ``min_age`` seconds stay); the bytes removed.
        One process evicts at a time; the others skip it."""
        fd = os.open(self.root / "evict.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
            self._sweep_incoming()
            entries: list[tuple[float, int, str]] = []
            for entry in os.scandir(self.objects):
                with contextlib.suppress(FileNotFoundError):
                    st = entry.stat()
                    entries.append((st.st_mtime, st.st_size, entry.name))
            total = sum(size for _, size, _ in entries)
            removed = 0
            now = time.time()
            for mtime, size, name in sorted(entries):
                if total <= self.max_bytes:
                    break
                if now - mtime < self.min_age:
                    break  # sorted by last use: every later entry is younger still
                if self._remove_unused(name):
                    total -= size
                    removed += size
            if removed:
                log.info("cache: evicted %d bytes, %d kept", removed, total)
            return removed
        finally:
            os.close(fd)

    def _remove_unused(self, name: str) -> bool:
        fd = os.open(self.locks / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # pinned or being downloaded
            (self.objects / name).unlink(missing_ok=True)
            return True
        finally:
            os.close(fd)

    def _sweep_incoming(self) -> None:
        now = time.time()
        for entry in os.scandir(self.incoming):
            with contextlib.suppress(FileNotFoundError):
                if now - entry.stat().st_mtime > _INCOMING_AGE:
                    os.unlink(entry.path)

    @contextmanager
    def _lock(self, name: str, mode: int) -> Iterator[None]:
        fd = os.open(self.locks / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)

    @staticmethod
    def _touch(path: Path) -> bool:
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        return True
