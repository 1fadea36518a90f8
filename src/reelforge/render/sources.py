"""Where a clip's ``src`` points: one resolver interface, so the engine never knows about storage.

The CLI and the library resolve paths relative to the edit file (:class:`LocalResolver`); the
service resolves asset ids to stored files with its own resolver. Either way the engine gets a
local file path it may read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["LocalResolver", "SourceError", "SourceResolver"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class SourceError(Exception):
    """A ``src`` that cannot be used; ``reason`` says why in words a user can act on."""

    def __init__(self, src: str, reason: str):
        self.src = src
        self.reason = reason
        super().__init__(f"{src!r}: {reason}")


@runtime_checkable
class SourceResolver(Protocol):
    def resolve(self, src: str) -> Path:
        """Return a readable local file for ``src`` or raise :class:`SourceError`."""
        ...


class LocalResolver:
    """Paths relative to ``base_dir``; nothing outside ``allowed_roots`` (default: ``base_dir``).

    Symlinks are followed before the check, so a link cannot lead outside the roots either.
    URLs and other protocols (``http:``, ``concat:``, ``pipe:``) are refused: remote media
    comes in through the service's import, which guards against SSRF.
    """

    def __init__(
        self, base_dir: str | os.PathLike[str], allowed_roots: Sequence[str | os.PathLike[str]] | None = None
    ):
        self.base_dir = Path(base_dir).resolve()
        roots = allowed_roots if allowed_roots is not None else [self.base_dir]
        self.allowed_roots = [Path(r).resolve() for r in roots]

    def resolve(self, src: str) -> Path:
        if "\x00" in src:
            raise SourceError(src, "the path contains a NUL character")
        # A Windows drive letter is not a scheme, but we run on POSIX: any "x:" prefix is refused
        # unless it is a plain relative name without a slash before the colon.
        if _SCHEME.match(src) and not Path(src).exists():
            raise SourceError(src, "URLs and protocols are not allowed here; give a file path")
        candidate = Path(src).expanduser() if src.startswith("~") else Path(src)
        if not candidate.is_absolute():
            candidate = self.base_dir / candidate
        try:
            real = candidate.resolve(strict=True)
        except FileNotFoundError:
            raise SourceError(src, f"no such file ({candidate})") from None
        except (OSError, RuntimeError) as exc:
            raise SourceError(src, f"cannot open: {exc}") from None
        if not any(real == root or root in real.parents for root in self.allowed_roots):
            raise SourceError(
                src,
                "the path leads outside the allowed folders ("
                + ", ".join(str(r) for r in self.allowed_roots)
                + ")",
            )
        if not real.is_file():
            raise SourceError(src, "not a regular file")
        if not os.access(real, os.R_OK):
            raise SourceError(src, "the file is not readable (permissions)")
        return real
