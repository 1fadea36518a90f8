"""The CLI's Rich consoles, made on first use.

Importing Rich's console takes about as long as the rest of a small command's start: a command
that prints only when it is done (``render`` prints after FFmpeg has run) should not make FFmpeg
wait for it. :class:`LazyConsole` stands in for a :class:`rich.console.Console` and makes the
real one the first time it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["LazyConsole", "escape"]


class LazyConsole:
    """A :class:`rich.console.Console` (on stderr with ``stderr=True``), made when first used."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        """The real console (for Rich objects that take one, such as a progress bar)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


def escape(text: str) -> str:
    """``text`` with Rich markup escaped (:func:`rich.markup.escape`)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)
