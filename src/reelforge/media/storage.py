"""Where asset bytes live. The service talks to :class:`Storage`; local files are the default.

Keys are opaque relative names chosen by the service (``ws_…/ast_…/original``), never user
input, so a key cannot point outside the storage root.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["LocalStorage", "Storage"]

_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class Storage(Protocol):
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


class LocalStorage:
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".tmp").mkdir(exist_ok=True)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"bad storage key {key!r}")
        return self.root / key

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

    def temp_dir(self) -> Path:
        return self.root / ".tmp"

    @contextmanager
    def temp_file(self, suffix: str = "") -> Iterator[Path]:
        fd, name = tempfile.mkstemp(dir=self.temp_dir(), suffix=suffix)
        os.close(fd)
        path = Path(name)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)
