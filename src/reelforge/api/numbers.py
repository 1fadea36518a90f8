"""Integer parameters with the range of the column they are compared with: a number no row can
hold is refused with 422 naming the parameter, before any query (see ``db/integers.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from reelforge.db.integers import INTEGER_MAX

__all__ = ["INTEGER_MAX", "VersionNumber"]

VersionNumber = Annotated[
    int, Path(ge=1, le=INTEGER_MAX, description=f"A revision or version number, from 1 to {INTEGER_MAX}.")
]
"""A revision or version in a path. An unknown number in that range is 404; a number outside it
cannot exist and is 422, as any other malformed parameter."""
