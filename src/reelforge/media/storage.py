"""Where asset bytes live. The service talks to :class:`Storage`; local files are the default.

Keys are opaque relative names chosen by the service (``ws_…/ast_…/original``), never user
input, so a key cannot point outside the storage root.

Temporary files (uploads being received, previews being made, render work directories) live
under ``<root>/.tmp/<owner>/``, one directory per process and storage, next to a lock file
``<owner>.lock`` that the process holds (``flock``) as long as it lives. The kernel drops the
lock when the process dies, however it dies (kill -9 included), so at start
:meth:`LocalStorage.sweep_temp` removes exactly the directories whose lock it can take: no
live process owns them. Several processes may share one storage directory (and one database):
each sweeps only what nobody holds. Entries directly under ``.tmp`` (the layout before owner
directories) have no owner to ask; they are removed once nothing in them changed for
:data:`LEGACY_TEMP_AGE` seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["LEGACY_TEMP_AGE", "UPLOADS_DIR", "LocalStorage", "Storage", "check_key"]

log = logging.getLogger("reelforge.storage")

_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_OWNER = re.compile(r"^p[0-9]+-[0-9a-f]{16}$")
UPLOADS_DIR = "uploads"
"""Under ``.tmp``: the bytes of resumable uploads and imports, never swept with the rest."""
LEGACY_TEMP_AGE = 24 * 3600
"""Seconds without change after which an entry directly under ``.tmp`` (no owner) is removed."""


def check_key(key: str) -> str:
    """``key`` if it is a storage key (relative, no ``..``); ValueError otherwise."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"bad storage key {key!r}")
    return key


class Storage(Protocol):
    """Where asset bytes live: :class:`LocalStorage` (the default) or
    :class:`reelforge.media.s3storage.S3Storage`."""

    @property
    def root(self) -> Path:
        """The local directory this storage writes (named, not shown, in error messages)."""
        ...

    def put(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key`` (moving it when it can)."""
        ...

    def open(self, key: str) -> BinaryIO: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...

    def local_path(self, key: str) -> Path:
        """A local file holding the bytes (the renderer reads files)."""
        ...

    def temp_dir(self) -> Path:
        """A directory on the same filesystem for uploads in progress."""
        ...

    def uploads_dir(self) -> Path:
        """A directory on the same filesystem for resumable uploads and imports: shared by every
        process and kept across restarts (their rows say when the bytes expire)."""
        ...

    def temp_file(self, suffix: str = "") -> AbstractContextManager[Path]: ...

    def sweep_temp(self, *, legacy_age: float = ...) -> int: ...

    def download_url(self, key: str, *, disposition: str, content_type: str) -> str | None:
        """Where a client can fetch the bytes itself (a presigned URL); None: the API sends them."""
        ...

    def remove_empty_parents(self, keys: Iterable[str]) -> None:
        """Tidy up what storing ``keys`` made once they are deleted (empty directories)."""
        ...


class LocalStorage:
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".tmp").mkdir(exist_ok=True)
        self._temp: Path | None = None
        self._temp_lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError:
            shutil.copyfile(source, target)
            source.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def download_url(self, key: str, *, disposition: str, content_type: str) -> str | None:
        return None

    def remove_empty_parents(self, keys: Iterable[str]) -> None:
        """Remove the directories of ``keys`` (``<ws>/<asset>/``) once they are empty."""
        for parent in {self._path(k).parent for k in keys}:
            with contextlib.suppress(OSError):
                parent.rmdir()

    def temp_dir(self) -> Path:
        """This process's temporary directory (made, and its lock taken, on first use)."""
        with self._temp_lock:
            if self._temp is None or not self._temp.is_dir():
                self._temp = self._own_temp_dir()
            return self._temp

    def uploads_dir(self) -> Path:
        path = self.root / ".tmp" / UPLOADS_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _own_temp_dir(self) -> Path:
        base = self.root / ".tmp"
        base.mkdir(exist_ok=True)
        for _ in range(10):
            owner = f"p{os.getpid()}-{secrets.token_hex(8)}"
            lock = base / f"{owner}.lock"
            # The lock file first, then the directory: a directory without its lock file is an orphan.
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                # A sweeper may have taken the fresh file before us, and removed it since.
                if os.stat(lock).st_ino != os.fstat(fd).st_ino:
                    raise FileNotFoundError(lock)
            except OSError:
                os.close(fd)
                continue
            # Held until this storage object goes away or the process ends, whichever is first.
            weakref.finalize(self, os.close, fd)
            path = base / owner
            path.mkdir()
            return path
        raise OSError(f"cannot make a temporary directory in {base}")

    def sweep_temp(self, *, legacy_age: float = LEGACY_TEMP_AGE) -> int:
        """Remove what dead processes left in ``.tmp`` (see the module docstring); return how
        many entries were removed. Never touches a directory whose owner still holds its lock."""
        base = self.root / ".tmp"
        removed = 0
        try:
            entries = list(base.iterdir())
        except FileNotFoundError:
            return 0
        names = {e.name for e in entries}
        for entry in entries:
            name = entry.name
            if name == UPLOADS_DIR:
                continue  # resumable uploads outlive processes; their expiry removes them
            try:
                if name.endswith(".lock") and _OWNER.match(name[: -len(".lock")]):
                    removed += self._sweep_owner(base, name[: -len(".lock")])
                elif _OWNER.match(name):
                    # A lock file is made before its directory and removed after it.
                    if f"{name}.lock" not in names and not (base / f"{name}.lock").exists():
                        shutil.rmtree(entry, ignore_errors=True)
                        removed += 1
                elif time.time() - _newest_mtime(entry) > legacy_age:
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
                    removed += 1
            except OSError as exc:  # best effort: the next start tries again
                log.warning("could not sweep %s: %s", entry, exc)
        if removed:
            log.info("removed %d temporary entries left by stopped processes", removed)
        return removed

    def _sweep_owner(self, base: Path, owner: str) -> int:
        lock = base / f"{owner}.lock"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return 0  # another process swept it first
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # its process is alive
            # Ours now: the owner is gone. The directory first, then the lock (see temp_dir).
            shutil.rmtree(base / owner, ignore_errors=True)
            lock.unlink(missing_ok=True)
            return 1
        finally:
            os.close(fd)

    @contextmanager
    def temp_file(self, suffix: str = "") -> Iterator[Path]:
        fd, name = tempfile.mkstemp(dir=self.temp_dir(), suffix=suffix)
        os.close(fd)
        path = Path(name)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)


def _newest_mtime(path: Path) -> float:
    """The latest modification time of ``path`` and anything under it (a live render's work
    directory changes as its output grows)."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for dirpath, dirnames, filenames in os.walk(path):
            for name in [*dirnames, *filenames]:
                with contextlib.suppress(OSError):
                    newest = max(newest, os.lstat(os.path.join(dirpath, name)).st_mtime)
    return newest
