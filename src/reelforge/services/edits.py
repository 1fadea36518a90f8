"""Validate an edit for the service: the edit language's own checks, then every file it names
must be an uploaded asset of the caller's workspace, of a kind that fits where it is used.

Projects and renders both call :func:`validate_service_edit`, so a project that saves can be
rendered and an inline edit is held to the same rules. Every problem is reported at once, each
with a JSON pointer into the request body (``pointer_prefix`` says where the edit sits in it).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.db.models import Asset, AssetVersion
from reelforge.edit.errors import EditError, Problem, pointer
from reelforge.edit.models import Edit
from reelforge.edit.references import (
    ASSET_ID_PREFIX,
    FONT_SUFFIXES,
    asset_references,
    normalise_references,
    parse_version_ref,
)
from reelforge.edit.validate import parse_edit
from reelforge.render.glyphs import text_problems

from .asset_versions import Resolution, ResolutionCache, resolve_references, unapproved_problems
from .brand_kits import BrandUse, resolve_brand
from .errors import Invalid
from .limits import check_edit_limits

__all__ = [
    "ASSET_ID_PREFIX",
    "PURPOSES",
    "PreparedEdit",
    "non_finite",
    "prepare_service_edit",
    "refuse_unapproved",
    "validate_service_edit",
]


# What each use of a file needs: the asset kinds accepted and the stream the probe must have found.
# ``None`` as the stream means the kind alone decides (fonts, LUTs, subtitles carry no streams).
_NEEDS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    # need: (accepted kinds, required media flag, what the use is called in messages)
    "video": (("video",), "has_video", "a video clip"),
    "audio": (("audio", "video"), "has_audio", "an audio clip or soundtrack"),
    "image": (("image",), "has_video", "an image clip or watermark"),
    "captions": (("subtitles",), None, "a caption clip"),
    "font": (("font",), None, "a font"),
    "lut": (("lut",), None, "a LUT"),
}

_HINTS = {
    ("video", "audio"): "; use an audio clip for sound",
    ("video", "image"): "; use an image clip for a still",
    ("image", "video"): "; use a video clip for moving pictures",
}


Use = tuple[str, str, str]
"""(src, pointer, need): one place an edit names a file, and what it needs there."""


def _uses_of_edit(edit: Edit) -> list[Use]:
    """The files a valid edit names (the engine's own walker, so the two agree)."""
    return [(ref.src, ref.pointer, ref.kind) for ref in asset_references(edit)]


def _uses_of_document(document: Any) -> list[Use]:
    """The same from raw JSON that failed validation, so an unknown asset is reported together
    with the edit's other problems rather than on the next attempt."""
    return [(ref.src, ref.pointer, ref.kind) for ref in asset_references(document)]


def _font_names_that_are_ids(edit: Edit) -> Iterable[Problem]:
    """``style.font`` is a family name or a font file; an asset id there would be looked up as a
    family and fail at render time, so say now where font assets go."""
    for t, track in enumerate(edit.timeline.tracks):
        for c, clip in enumerate(track.clips):
            asset = clip.asset
            if asset.type not in ("text", "caption"):
                continue
            font = asset.style.font
            if font.startswith(ASSET_ID_PREFIX) and not font.lower().endswith(FONT_SUFFIXES):
                yield Problem(
                    pointer("timeline", "tracks", t, "clips", c, "asset", "style", "font"),
                    f'put font assets in `timeline.fonts` (e.g. ["{font}"]) and name the font\'s family here',
                    "font_asset",
                )


def _font_problems(edit: Edit) -> list[Problem]:
    """Unknown font families and characters no installed font has. An edit with font files of
    its own (uploaded font assets) is checked by the render's plan instead, which reads them."""
    if edit.timeline.fonts:
        return []
    for track in edit.timeline.tracks:
        for clip in track.clips:
            style = getattr(clip.asset, "style", None)
            if style is not None and any(
                name.lower().endswith(FONT_SUFFIXES) for name in (style.font, *style.fallback)
            ):
                return []
    return text_problems(edit)


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _fits(asset_kind: str, media: Mapping[str, Any], need: str) -> str | None:
    """Why an asset of ``asset_kind`` cannot serve ``need``, or None when it can."""
    kinds, flag, use = _NEEDS[need]
    if asset_kind not in kinds:
        hint = _HINTS.get((need, asset_kind), "")
        return f"it is {_a(asset_kind)} asset; {use} needs {_a(' or '.join(kinds))} asset{hint}"
    # Lenient when the probe did not record the flag: the render's own probe still checks.
    if flag is not None and media.get(flag) is False:
        stream = "video" if flag == "has_video" else "audio"
        return f"the asset has no {stream} stream, which {use} needs"
    return None


def _asset_problems(uses: list[Use], db: Session, workspace_id: str) -> list[Problem]:
    ids = sorted({src for src, _, _ in uses if src.startswith(ASSET_ID_PREFIX) and "@" not in src})
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    if ids:
        rows = db.execute(
            select(Asset.id, Asset.kind, Asset.media).where(
                Asset.workspace_id == workspace_id, Asset.id.in_(ids)
            )
        )
        found = {row.id: (row.kind, dict(row.media or {})) for row in rows}
    # A pinned version is checked as it is (its probe data may differ from the newest version's).
    for src, _, _ in uses:
        ref = parse_version_ref(src)
        if ref is not None and isinstance(ref.version, int) and src not in found:
            row = db.execute(
                select(AssetVersion.kind, AssetVersion.media).where(
                    AssetVersion.asset_id == ref.asset,
                    AssetVersion.number == ref.version,
                    AssetVersion.workspace_id == workspace_id,
                )
            ).first()
            if row is not None:
                found[src] = (row.kind, dict(row.media or {}))
    problems: list[Problem] = []
    for src, ptr, need in uses:
        if src[:8].lower().startswith(("http://", "https://")):
            # URL sources are imported (reelforge.services.imports) once the rest is valid.
            problems.append(
                Problem(ptr, f"{src!r} is imported once the rest of the edit is valid", "not_an_asset_id")
            )
        elif not src.startswith(ASSET_ID_PREFIX):
            problems.append(
                Problem(
                    ptr,
                    f"refer to uploaded assets by id ({ASSET_ID_PREFIX}…) or by an http(s) URL; the "
                    f"service does not read file paths such as {src!r}",
                    "not_an_asset_id",
                )
            )
        elif src not in found:
            # The same answer for another workspace's asset: ids are not disclosed.
            ref = parse_version_ref(src)
            named = ref.asset if ref is not None else src
            problems.append(Problem(ptr, f"no asset {named} in this workspace", "asset_not_found"))
        else:
            reason = _fits(*found[src], need)
            if reason is not None:
                problems.append(Problem(ptr, f"cannot use {src}: {reason}", "asset_kind"))
    return problems


def _document_order(problem: Problem) -> list[tuple[int, int, str]]:
    # Numeric indexes compare as numbers, so clip 10 comes after clip 2.
    # ASCII digits only: "²" is a digit that int() cannot read, and a field may be named so.
    return [
        (0, int(part), "") if part.isascii() and part.isdecimal() else (1, 0, part)
        for part in problem.pointer.split("/")
    ]


def _raise(problems: list[Problem], prefix: str) -> NoReturn:
    problems = sorted(problems, key=_document_order)
    count = len(problems)
    raise Invalid(
        f"{count} problem{'s' if count != 1 else ''} in the edit",
        code="edit-invalid",
        errors=[{"pointer": "#" + prefix + p.pointer, "detail": p.message, "code": p.code} for p in problems],
    )


def non_finite(document: Any) -> Iterator[Problem]:
    """NaN and Infinity: Python's JSON parser accepts them, JSON (and PostgreSQL) does not.
    Walked with a stack, not recursion, so a deeply nested body cannot overflow it."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, parts = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            yield Problem(pointer(*parts), "numbers must be finite (not NaN or Infinity)", "invalid")
        elif isinstance(value, dict):
            stack.extend((item, (*parts, str(key))) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, (*parts, index)) for index, item in enumerate(value))


@dataclass(frozen=True)
class PreparedEdit:
    """An edit ready to render: the checked :class:`Edit`, the document it was parsed from
    (with ``{{brand.…}}`` filled, which is what a render stores) and the brand kit version used."""

    edit: Edit
    document: Any
    brand: BrandUse | None
    resolutions: tuple[Resolution, ...] = ()
    """The asset version each file of the edit resolved to (``document`` names them pinned)."""


def prepare_service_edit(
    document: Any,
    db: Session,
    workspace_id: str,
    *,
    pointer_prefix: str = "/edit",
    locale: str | None = None,
    branded: BrandUse | None = None,
    filled_template: bool = False,
    resolving: ResolutionCache | None = None,
) -> PreparedEdit:
    """:func:`validate_service_edit`, keeping the brand-resolved document and the kit version.

    ``filled_template``: the document is a template filled with values, its ``{{brand.…}}``
    placeholders filled already (in the template's own edit, before the values went in: see
    :mod:`reelforge.services.templates`) with the kit version ``branded``; it is not scanned
    for placeholders again, so a value holding ``{{…}}`` stays as written."""
    brand = branded
    if not filled_template:
        document, brand, problems = resolve_brand(document, db, workspace_id, locale=locale)
        if problems:
            _raise(problems, pointer_prefix)
    # Version references and queries resolve to pinned versions before the edit is compiled.
    document, resolutions, unresolved = resolve_references(
        _normalised(document), db, workspace_id, cache=resolving
    )
    try:
        edit = _checked(document, db, workspace_id, pointer_prefix, final=filled_template)
    except Invalid as exc:
        if not unresolved or exc.code != "edit-invalid":
            raise
        # Every problem at once: what the references resolve to, then the edit's own (a place
        # whose reference did not resolve is reported once, as that).
        places = {"#" + pointer_prefix + p.pointer for p in unresolved}
        located = [e for e in exc.errors or [] if e.get("pointer") not in places]
        problems = [
            Problem(str(e["pointer"])[1 + len(pointer_prefix) :], str(e["detail"]), str(e["code"]))
            for e in located
        ]
        _raise([*unresolved, *problems], pointer_prefix)
    if unresolved:
        _raise(unresolved, pointer_prefix)
    return PreparedEdit(edit, document, brand, tuple(resolutions))


PURPOSES = ("publication", "draft", "preview")
"""What a render is for: ``publication`` uses approved media only; a draft or preview may use
any version (it says so explicitly)."""


def refuse_unapproved(prepared: PreparedEdit, purpose: str, pointer_prefix: str) -> None:
    """For a ``publication`` render: 422 ``unapproved-media`` listing each place whose version
    is not approved now (never approved, rejected, or its approval ended)."""
    if purpose != "publication":
        return
    unapproved = unapproved_problems(list(prepared.resolutions))
    if unapproved:
        count = len(unapproved)
        raise Invalid(
            f"{count} place{'s' if count != 1 else ''} of the edit name{'s' if count == 1 else ''} media that "
            "is not approved; approve the versions, or render as a draft or preview",
            code="unapproved-media",
            errors=[
                {"pointer": "#" + pointer_prefix + p.pointer, "detail": p.message, "code": p.code}
                for p in sorted(unapproved, key=_document_order)
            ],
        )


def _normalised(document: Any) -> Any:
    """The document with JSON version references in their string forms (a copy when changed)."""
    if not isinstance(document, dict):
        return document
    copied = copy.deepcopy(document)
    return copied if normalise_references(copied) else document


def validate_service_edit(
    document: Any, db: Session, workspace_id: str, *, pointer_prefix: str = "/edit"
) -> Edit:
    """The checked :class:`Edit` for ``document``, or :class:`Invalid` ``edit-invalid`` (422)
    listing every problem with a pointer ``#<pointer_prefix><pointer into the edit>``. An edit
    naming a brand kit is checked with its ``{{brand.…}}`` placeholders filled from the kit."""
    return prepare_service_edit(document, db, workspace_id, pointer_prefix=pointer_prefix).edit


def _checked(
    document: Any, db: Session, workspace_id: str, pointer_prefix: str, *, final: bool = False
) -> Edit:
    problems = list(non_finite(document))
    if not problems:
        try:
            edit = parse_edit(document, placeholders=not final)
        except EditError as exc:
            problems = list(exc.problems)
        else:
            problems = [
                *_font_names_that_are_ids(edit),
                *_asset_problems(_uses_of_edit(edit), db, workspace_id),
            ]
            if not problems:
                problems = _font_problems(edit)
            if problems:
                _raise(problems, pointer_prefix)
            # A valid edit may still ask for more work than the workspace allows.
            check_edit_limits(edit, db, workspace_id, pointer_prefix)
            return edit
    # The edit language found problems: add what is wrong with its files, once per place.
    located = {p.pointer for p in problems}
    uses = [use for use in _uses_of_document(document) if use[1] not in located]
    _raise([*problems, *_asset_problems(uses, db, workspace_id)], pointer_prefix)
