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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel

from .errors import pointer

TRANSCRIBE_CLIP_PREFIX = "clip:"
"""A caption's ``transcribe`` starting with this names a clip of the edit, not a file."""

__all__ = [
    "ASSET_ID",
    "ASSET_ID_PREFIX",
    "FONT_SUFFIXES",
    "PICKS",
    "QUERY_PREFIX",
    "QUERY_STATES",
    "TRANSCRIBE_CLIP_PREFIX",
    "AssetQuery",
    "Reference",
    "ReferenceKind",
    "VersionRef",
    "asset_id_of",
    "asset_ids_in",
    "asset_references",
    "is_asset_id",
    "normalise_references",
    "parse_query",
    "parse_version_ref",
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


# ----------------------------------------------------------------------------- version references
#
# A file may be named by an asset id alone (its newest version), or by a version reference:
#   "ast_…@3"          version 3 (pinned: what a render records)
#   "ast_…@latest"     the newest version
#   "ast_…@approved"   the newest version approved at the time of the render
#   "asset?tag=hero&tag=product-x&state=approved&pick=newest"   a query resolving to one asset
#   "asset?collection=spring-campaign&tag=hero"   the same within a named collection
# The JSON forms {"asset": "ast_…", "version": 3|"latest"|"approved"} and
# {"query": {"tags": [...], "collection": …, "state": …, "kind": …, "pick": …}} are written in these forms by
# :func:`normalise_references` before an edit is parsed; the service resolves them all to
# pinned versions before the engine sees the edit.

_VERSION_REF = re.compile(r"^(ast_[0-9a-z]{26})@([1-9][0-9]{0,8}|latest|approved)$")
QUERY_PREFIX = "asset?"
QUERY_STATES = ("approved", "any", "draft", "in_review", "rejected", "archived")
"""What a query's ``state`` may ask for: ``approved`` (approved now), ``any`` (the newest
version whatever its state), or a version in exactly that review state."""
PICKS = ("only", "newest", "oldest")
"""Which asset a query resolves to when several match: ``only`` refuses ties."""
_QUERY_KINDS = ("video", "image", "audio", "subtitles", "font", "lut")


@dataclass(frozen=True, slots=True)
class VersionRef:
    asset: str
    version: int | Literal["latest", "approved"]


@dataclass(frozen=True, slots=True)
class AssetQuery:
    tags: tuple[str, ...] = ()
    state: str = "approved"
    collection: str | None = None
    kind: str | None = None
    pick: str = "only"
    problems: tuple[str, ...] = field(default=())
    """What is wrong with the query as written (empty when it is usable)."""


def parse_version_ref(value: object) -> VersionRef | None:
    """``"ast_…@3"``, ``"ast_…@latest"`` or ``"ast_…@approved"`` read; None for anything else."""
    if not isinstance(value, str):
        return None
    match = _VERSION_REF.match(value)
    if match is None:
        return None
    version = match.group(2)
    return VersionRef(match.group(1), int(version) if version.isdecimal() else version)  # type: ignore[arg-type]


def asset_id_of(value: object) -> str | None:
    """The asset a plain id or a version reference names; None for anything else."""
    if is_asset_id(value):
        return str(value)
    ref = parse_version_ref(value)
    return ref.asset if ref is not None else None


def parse_query(value: object) -> AssetQuery | None:
    """A query reference (``asset?…``) read; None when ``value`` is not one."""
    if not isinstance(value, str) or not value.startswith(QUERY_PREFIX):
        return None
    tags: list[str] = []
    state, kind, pick = "approved", None, "only"
    collection: str | None = None
    problems: list[str] = []
    for key, item in parse_qsl(value[len(QUERY_PREFIX) :], keep_blank_values=True):
        if key == "tag" and item:
            tags.append(item)
        elif key == "collection" and item and collection is None:
            collection = item
        elif key == "state" and item in QUERY_STATES:
            state = item
        elif key == "kind" and item in _QUERY_KINDS:
            kind = item
        elif key == "pick" and item in PICKS:
            pick = item
        else:
            problems.append(f"{key}={item!r} is not a query term (tag, collection, state, kind, pick)")
    if not tags and kind is None and collection is None:
        problems.append("a query needs at least one tag, a collection or a kind")
    return AssetQuery(
        tuple(dict.fromkeys(tags)),
        state,
        collection=collection,
        kind=kind,
        pick=pick,
        problems=tuple(problems),
    )


def _reference_text(value: Mapping[str, Any]) -> str | None:
    """The string form of a JSON version reference or query; None when it is neither."""
    if set(value) == {"asset", "version"} and is_asset_id(value["asset"]):
        version = value["version"]
        if (isinstance(version, int) and not isinstance(version, bool) and 1 <= version <= 999_999_999) or (
            version in ("latest", "approved")
        ):
            return f"{value['asset']}@{version}"
        return None
    if set(value) == {"query"} and isinstance(value["query"], Mapping):
        query = value["query"]
        terms: list[tuple[str, str]] = []
        for key, item in query.items():
            if key == "tags" and isinstance(item, list) and all(isinstance(t, str) for t in item):
                terms.extend(("tag", t) for t in item)
            elif key in ("collection", "state", "kind", "pick") and isinstance(item, str):
                terms.append((key, item))
            else:
                terms.append((str(key), str(item)))
        return QUERY_PREFIX + urlencode(terms)
    return None


def _source_slots(document: Any) -> Iterator[tuple[Any, str | int]]:
    """(container, key) of each place a clip, the soundtrack or a watermark names its file."""
    timeline = _get(document, "timeline")
    for track in _items(_get(timeline, "tracks")):
        for clip in _items(_get(track, "clips")):
            asset = _get(clip, "asset")
            if isinstance(asset, dict) and asset.get("type") in _CLIP_SOURCES:
                yield asset, "src"
    soundtrack = _get(timeline, "soundtrack")
    if isinstance(soundtrack, dict):
        yield soundtrack, "src"
    for output in _items(_get(document, "outputs")):
        watermark = _get(output, "watermark")
        if isinstance(watermark, dict):
            yield watermark, "src"


def normalise_references(document: Any) -> int:
    """Write the JSON forms of version references and queries in ``document`` (a raw edit, changed
    in place) in their string forms; how many were rewritten. Anything else is left for the
    edit's own checks to report."""
    count = 0
    for container, key in _source_slots(document):
        value = container.get(key)
        if isinstance(value, Mapping):
            text = _reference_text(value)
            if text is not None:
                container[key] = text
                count += 1
    return count


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
            named = asset_id_of(node)
            if named is not None:
                found.add(named)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
