"""Integer parameters with the range of the column they are compared with: a number no row can
hold is refused with 422 naming the parameter, before any query (see ``db/integers.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from reelforge.db.integers import BIGINT_MAX, INTEGER_MAX

__all__ = ["BIGINT_MAX", "INTEGER_MAX", "VersionNumber", "ascii_number"]

VersionNumber = Annotated[
    int, Path(ge=1, le=INTEGER_MAX, description=f"A revision or version number, from 1 to {INTEGER_MAX}.")
]
"""A revision or version in a path. An unknown number in that range is 404; a number outside it
cannot exist and is 422, as any other malformed parameter."""


def ascii_number(text: str | None, low: int = 1, high: int = INTEGER_MAX) -> int | None:
    """The number ``text`` spells in ASCII digits, if it is from ``low`` to ``high``; ``None``
    for anything else. ``str.isdigit`` alone lets through digits ``int`` cannot read ("²") and
    strings too long for ``int`` to convert (over 4300 digits): both would otherwise be a 500."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None
