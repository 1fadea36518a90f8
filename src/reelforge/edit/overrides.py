"""Per-output clip overrides: one clip as each output sees it.

A clip's ``overrides`` maps an aspect ratio (``"9:16"``) or an output's ``name`` to clip fields
that differ there. :func:`resolve_clip` merges them into the clip for one output, so the
compiler (and the compliance check) work on one plain clip per output and never see overrides.
Pure functions of the edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from pydantic import ValidationError

from .encoding import frame_size
from .errors import Problem, pointer
from .models import OVERRIDE_SHARED_ASSET_FIELDS, Clip, Edit, Output

__all__ = ["aspect_matches", "clip_variants", "override_keys", "override_problems", "resolve_clip"]


def aspect_matches(label: str, width: int, height: int) -> bool:
    """Whether a ``"w:h"`` label names the aspect ratio of a ``width`` x ``height`` canvas.

    Sizes are rounded to even pixels, so 1080x1920 is exactly 9:16 but 608x1080 is not: a
    ratio within 1 % matches."""
    w, _, h = label.partition(":")
    if not (w.isascii() and h.isascii() and w.isdigit() and h.isdigit()) or int(w) == 0 or int(h) == 0:
        return False
    want = Fraction(int(w), int(h))
    return abs(Fraction(width, height) - want) <= want / 100


def override_keys(clip: Clip, output: Output, size: tuple[int, int] | None = None) -> list[str]:
    """The keys of ``clip.overrides`` that apply to ``output``, in the order they apply:
    aspect ratios first, then the output's name (the more specific wins)."""
    if not clip.overrides:
        return []
    width, height = size or frame_size(output)
    keys = [k for k in clip.overrides if ":" in k and aspect_matches(k, width, height)]
    if output.name is not None and output.name in clip.overrides:
        keys.append(output.name)
    return keys


def _merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` merged into ``base``: objects merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merged_document(clip: Clip, keys: list[str]) -> dict[str, Any]:
    assert clip.overrides is not None
    document = clip.model_dump(exclude_unset=True, exclude={"overrides"})
    for key in keys:
        document = _merge(document, clip.overrides[key].model_dump(exclude_unset=True))
    return document


def resolve_clip(clip: Clip, output: Output, size: tuple[int, int] | None = None) -> Clip:
    """``clip`` as ``output`` shows it: its overrides for that output applied, none left.

    ``size``: the output's pixel size, when the caller has it (default: computed)."""
    if not clip.overrides:
        return clip
    keys = override_keys(clip, output, size)
    if not keys:
        return clip.model_copy(update={"overrides": None})
    return Clip.model_validate(_merged_document(clip, keys))


def clip_variants(clip: Clip) -> list[tuple[str | None, Clip]]:
    """``clip`` as each of its overrides makes it (``None`` first: the clip as written), for
    checks that must hold in every output whichever outputs the edit has."""
    variants: list[tuple[str | None, Clip]] = [(None, clip.model_copy(update={"overrides": None}))]
    for key in clip.overrides or {}:
        variants.append((key, Clip.model_validate(_merged_document(clip, [key]))))
    return variants


def override_problems(edit: Edit) -> list[Problem]:
    """What pydantic cannot see in the overrides: shared asset fields, and a merged clip that
    does not validate (a partial asset is checked only once merged), each with its pointer."""
    from .validate import problems_from_validation_error

    problems: list[Problem] = []
    for t, track in enumerate(edit.timeline.tracks):
        for c, clip in enumerate(track.clips):
            if not clip.overrides:
                continue
            for key, override in clip.overrides.items():
                here = ("timeline", "tracks", t, "clips", c, "overrides", key)
                asset = override.asset or {}
                shared = [f for f in OVERRIDE_SHARED_ASSET_FIELDS if f in asset]
                for name in shared:
                    problems.append(
                        Problem(
                            pointer(*here, "asset", name),
                            f"`{name}` cannot differ per output: every output shares the clip's "
                            "source and sound",
                        )
                    )
                if shared:
                    continue
                # A merged value that breaks the clip is an error in this override.
                try:
                    Clip.model_validate(_merged_document(clip, [key]))
                except ValidationError as exc:
                    problems += problems_from_validation_error(exc, here)
            names = {o.name for o in edit.outputs if o.name}
            for key in clip.overrides:
                if ":" not in key and key not in names:
                    problems.append(
                        Problem(
                            pointer("timeline", "tracks", t, "clips", c, "overrides", key),
                            f"no output is named {key!r}; a key is an aspect ratio such as "
                            '"9:16" or the `name` of an output',
                        )
                    )
    return problems
