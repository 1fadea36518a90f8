"""Examples recorded from a running service, as data: one JSON file per examples module, each an
object from a constant's name to its value.

``scripts/record_examples.py`` writes the files (real uploads, real renders, the problems the
service answered to real bad requests); the ``examples*`` modules arrange the values per
operation. They ship as package data and are read once, at import.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = ["load"]


@cache
def load(name: str) -> dict[str, Any]:
    """The recorded values of ``<name>.json``, by constant name (shared: never change them)."""
    data: dict[str, Any] = json.loads(files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
    return data
