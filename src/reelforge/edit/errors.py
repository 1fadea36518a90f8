"""Problems found in an edit, each with a JSON pointer (RFC 6901) to where it is."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["EditError", "Problem", "pointer"]


def _escape(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def pointer(*parts: str | int) -> str:
    """``pointer("timeline", "tracks", 0)`` -> ``"/timeline/tracks/0"``."""
    return "".join("/" + _escape(p) for p in parts)


@dataclass(frozen=True, slots=True)
class Problem:
    pointer: str
    """Where: a JSON pointer into the edit ("" is the whole document)."""
    message: str
    code: str = "invalid"
    """A stable machine-readable kind, e.g. `missing`, `invalid`, `unknown_field`, `media`."""

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message, "code": self.code}


class EditError(ValueError):
    """An edit that cannot be rendered; ``problems`` lists every problem found, each located."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: Sequence[Problem] = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the edit"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))
