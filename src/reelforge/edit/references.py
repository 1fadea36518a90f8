"""The files an edit names, found by one walker, and what an asset id is.

An edit names files in a handful of places (clip sources, caption files, font files, LUTs,
the soundtrack, ``timeline.fonts``, output watermarks). The engine resolves them, the service
checks them against its assets and records which assets a render reads; all of them ask
:func:`asset_references`, so they cannot disagree about where files hide.

The walker reads a parsed :class:`~reelforge.edit.models.Edit` and a raw JSON document alike,
tolerating any shape in the latter, so a document that does not validate yet still has its
files reported together with its other problems.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from .errors import pointer

TRANSCRIBE_CLIP_PREFIX = "clip:"
"""A caption's ``transcribe`` starting with this names a clip of the edit, not a file."""

__all__ = [
    "ASSET_ID",
    "ASSET_ID_PREFIX",
    "FONT_SUFFIXES",
    "TRANSCRIBE_CLIP_PREFIX",
    "Reference",
    "ReferenceKind",
    "asset_ids_in",
    "asset_references",
    "is_asset_id",
]

ASSET_ID_PREFIX = "ast_"
"""What every asset id starts with; a ``src`` with it is meant as an asset, even a wrong one."""

ASSET_ID = re.compile(r"^ast_[0-9a-z]{26}$")
"""An asset id as the service makes them: the prefix and a lower-case ULID."""

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
"""A ``style.font`` ending in one of these is a font file, not a family name."""

ReferenceKind = Literal["video", "audio", "image", "captions", "font", "lut"]
"""What the named file must be where it is named (a video clip needs a picture, a soundtrack
sound)."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One place an edit names a file."""

    pointer: str
    """JSON pointer to the string naming the file, e.g. ``/timeline/tracks/0/clips/2/asset/src``."""
    src: str
    kind: ReferenceKind


def is_asset_id(value: object) -> bool:
    """Whether ``value`` is exactly an asset id (text that merely mentions one is not)."""
    return isinstance(value, str) and ASSET_ID.match(value) is not None


def _get(node: Any, key: str) -> Any:
    """A field of a parsed model or a key of a JSON object; None for anything else."""
    if isinstance(node, BaseModel):
        return getattr(node, key, None)
    if isinstance(node, Mapping):
        return node.get(key)
    return None


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


_CLIP_SOURCES: dict[str, ReferenceKind] = {
    "video": "video",
    "audio": "audio",
    "image": "image",
    "caption": "captions",
}


def asset_references(edit: Any) -> list[Reference]:
    """Every file ``edit`` (an :class:`Edit` or its JSON document) names, in document order."""
    found: list[Reference] = []

    def add(src: str | None, kind: ReferenceKind, *parts: str | int) -> None:
        if src is not None:
            found.append(Reference(pointer(*parts), src, kind))

    timeline = _get(edit, "timeline")
    for t, track in enumerate(_items(_get(timeline, "tracks"))):
        for c, clip in enumerate(_items(_get(track, "clips"))):
            here = ("timeline", "tracks", t, "clips", c)
            asset = _get(clip, "asset")
            kind = _get(asset, "type")
            if isinstance(kind, str) and kind in _CLIP_SOURCES:
                add(_text(_get(asset, "src")), _CLIP_SOURCES[kind], *here, "asset", "src")
            # Speech to caption: a file or asset, unless it names a clip of the edit.
            spoken = _text(_get(asset, "transcribe")) if kind == "caption" else None
            if spoken is not None and not spoken.startswith(TRANSCRIBE_CLIP_PREFIX):
                add(spoken, "audio", *here, "asset", "transcribe")
            font = _text(_get(_get(asset, "style"), "font"))
            # Font files go through the resolver like media, so they cannot lead outside the roots.
            if kind in ("text", "caption") and font is not None and font.lower().endswith(FONT_SUFFIXES):
                add(font, "font", *here, "asset", "style", "font")
            add(_text(_get(_get(clip, "effects"), "lut")), "lut", *here, "effects", "lut")
            # A per-output override may name its own LUT or font file.
            overrides = _get(clip, "overrides")
            for key, override in overrides.items() if isinstance(overrides, Mapping) else ():
                at = (*here, "overrides", key)
                add(_text(_get(_get(override, "effects"), "lut")), "lut", *at, "effects", "lut")
                font = _text(_get(_get(_get(override, "asset"), "style"), "font"))
                if kind in ("text", "caption") and font is not None and font.lower().endswith(FONT_SUFFIXES):
                    add(font, "font", *at, "asset", "style", "font")
    add(_text(_get(_get(timeline, "soundtrack"), "src")), "audio", "timeline", "soundtrack", "src")
    for f, font in enumerate(_items(_get(timeline, "fonts"))):
        add(_text(font), "font", "timeline", "fonts", f)
    for o, output in enumerate(_items(_get(edit, "outputs"))):
        add(_text(_get(_get(output, "watermark"), "src")), "image", "outputs", o, "watermark", "src")
    return found


def asset_ids_in(document: Any) -> set[str]:
    """Every asset id anywhere in a JSON document, also in ``variables`` and merge values.

    Wider than :func:`asset_references` on purpose: a template's variables may hold ids that
    only become files once filled, and an asset a render may still read must not be deleted.
    Walked with a stack, not recursion, so a deeply nested document cannot overflow it.
    """
    found: set[str] = set()
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if is_asset_id(node):
                found.add(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
