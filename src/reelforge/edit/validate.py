"""Turn JSON into a checked :class:`Edit`, reporting every problem at once with its pointer."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .encoding import output_problems
from .errors import EditError, Problem, pointer
from .models import ASSET_TYPES, OVERRIDE_TIMING_FIELDS, VISUAL_TYPES, Edit
from .overrides import override_problems
from .timing import parse_time
from .variables import substitute

__all__ = ["load_edit", "parse_edit", "problems_from_validation_error"]

_MESSAGES = {
    "missing": "this field is required",
    "extra_forbidden": "unknown field (check its spelling)",
}


def _loc_to_parts(loc: tuple[str | int, ...]) -> list[str | int]:
    parts: list[str | int] = []
    for i, part in enumerate(loc):
        # Discriminated unions put the chosen tag in the location; a pointer into the
        # document must not contain it.
        if i > 0 and loc[i - 1] == "asset" and part in ASSET_TYPES:
            continue
        # Unions of literals and values (e.g. "auto" | time) add branch names.
        if isinstance(part, str) and (part.startswith(("literal[", "function-")) or part in ("str", "float")):
            continue
        parts.append(part)
    return parts


def problems_from_validation_error(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        ptr = pointer(*prefix, *_loc_to_parts(tuple(err["loc"])))
        kind = err["type"]
        message = _MESSAGES.get(kind) or str(err["msg"])
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if kind == "union_tag_invalid":
            message = f"unknown asset type {err['input'].get('type')!r}; use one of {', '.join(ASSET_TYPES)}"
        elif kind == "union_tag_not_found":
            message = f"an asset needs a `type`: one of {', '.join(ASSET_TYPES)}"
        if kind == "literal_error" and "expected" in err.get("ctx", {}):
            message = f"expected {err['ctx']['expected']}"
        loc = tuple(err["loc"])
        if (
            kind == "extra_forbidden"
            and len(loc) >= 3
            and loc[-3] == "overrides"
            and loc[-1] in OVERRIDE_TIMING_FIELDS
        ):
            message = f"`{loc[-1]}` cannot differ per output: every output shares one timeline"
        code = {"missing": "missing", "extra_forbidden": "unknown_field"}.get(kind, "invalid")
        problems.append(Problem(ptr, message, code))
    return _merge_branch_errors(problems)


def _merge_branch_errors(problems: list[Problem]) -> list[Problem]:
    """Where a value failed every branch of a union, say so once."""
    by_pointer: dict[str, list[Problem]] = {}
    for p in problems:
        by_pointer.setdefault(p.pointer, []).append(p)
    merged: list[Problem] = []
    for ptr, group in by_pointer.items():
        if len(group) == 1:
            merged.append(group[0])
        else:
            messages = list(dict.fromkeys(p.message for p in group))
            merged.append(Problem(ptr, "; or ".join(messages), group[0].code))
    return merged


def _semantic_problems(edit: Edit) -> list[Problem]:
    """Checks that need more than one field: what pydantic cannot see locally."""
    problems: list[Problem] = []
    for t, track in enumerate(edit.timeline.tracks):
        for c, clip in enumerate(track.clips):
            here = ("timeline", "tracks", t, "clips", c)
            kind = clip.asset.type
            if clip.transition is not None:
                if c == 0:
                    problems.append(
                        Problem(
                            pointer(*here, "transition"),
                            "the first clip of a track has no previous clip to transition from; "
                            "use `transition_in` for an entrance",
                        )
                    )
                elif kind not in VISUAL_TYPES or track.clips[c - 1].asset.type not in VISUAL_TYPES:
                    problems.append(
                        Problem(
                            pointer(*here, "transition"),
                            "transitions join two visual clips (not audio or captions)",
                        )
                    )
            for field in ("transition_in", "transition_out", "motion", "effects", "keyframes"):
                if getattr(clip, field) is not None and kind in ("audio", "caption"):
                    if field == "keyframes" and kind == "audio":
                        kf = clip.keyframes
                        assert kf is not None
                        extra = [
                            n
                            for n in ("opacity", "offset_x", "offset_y", "scale", "rotate")
                            if getattr(kf, n)
                        ]
                        if extra:
                            problems.append(
                                Problem(
                                    pointer(*here, "keyframes"),
                                    f"an audio clip can only animate volume, not {', '.join(extra)}",
                                )
                            )
                        continue
                    problems.append(
                        Problem(pointer(*here, field), f"a {kind} clip has no picture to apply `{field}` to")
                    )
            if clip.keyframes is not None:
                for name in ("opacity", "offset_x", "offset_y", "scale", "rotate", "volume"):
                    frames = getattr(clip.keyframes, name)
                    if not frames:
                        continue
                    times = [parse_time(k.time).seconds for k in frames]
                    if any(a is not None and b is not None and b < a for a, b in itertools.pairwise(times)):
                        problems.append(
                            Problem(pointer(*here, "keyframes", name), "keyframes must be in time order")
                        )
                    if name == "opacity" and any(not 0 <= k.value <= 1 for k in frames):
                        problems.append(
                            Problem(pointer(*here, "keyframes", name), "opacity values are between 0 and 1")
                        )
                    # The ranges of the clip's own `scale` and `volume`.
                    if name == "scale" and any(not 0 < k.value <= 10 for k in frames):
                        problems.append(
                            Problem(pointer(*here, "keyframes", name), "scale values are above 0, at most 10")
                        )
                    if name == "volume" and any(not 0 <= k.value <= 16 for k in frames):
                        problems.append(
                            Problem(pointer(*here, "keyframes", name), "volume values are 0 to 16 (+24 dB)")
                        )
            if kind == "video" and clip.asset.loop and clip.asset.freeze:  # type: ignore[union-attr]
                problems.append(
                    Problem(pointer(*here, "asset", "freeze"), "choose `loop` or `freeze`, not both")
                )
            if kind == "text":
                out_anim = clip.asset.animation_out  # type: ignore[union-attr]
                if out_anim is not None and out_anim.type == "typewriter":
                    problems.append(
                        Problem(
                            pointer(*here, "asset", "animation_out", "type"),
                            "typewriter is an entrance; use it as `animation_in`",
                        )
                    )
            if clip.focus is not None and (kind not in ("video", "image") or clip.fit not in (None, "cover")):
                problems.append(
                    Problem(
                        pointer(*here, "focus"),
                        "`focus` chooses what a `cover` crop keeps of a video or image"
                        + (f"; this clip's fit is {clip.fit!r}" if kind in ("video", "image") else ""),
                    )
                )
            if clip.motion is not None and kind not in ("video", "image", "color"):
                problems.append(
                    Problem(pointer(*here, "motion"), "motion (Ken Burns) moves video and images")
                )
    for o, out in enumerate(edit.outputs):
        problems += [
            Problem(pointer("outputs", o, *where), message) for where, message in output_problems(out)
        ]
        if out.is_still and out.poster is not None:
            problems.append(
                Problem(pointer("outputs", o, "poster"), "a still output has no poster; it is one")
            )
    files = [f"{out.name}.{out.format}" for out in edit.outputs if out.name]
    for o, out in enumerate(edit.outputs):
        if out.name and files.count(f"{out.name}.{out.format}") > 1:
            problems.append(
                Problem(
                    pointer("outputs", o, "name"), f"two outputs would both write {out.name}.{out.format}"
                )
            )
    return problems


def parse_edit(
    document: Any, variables: Mapping[str, Any] | None = None, *, placeholders: bool = True
) -> Edit:
    """Validate an edit given as parsed JSON; raise :class:`EditError` listing every problem.

    ``variables`` fill ``{{name}}`` placeholders first; a placeholder without a value is a problem.
    ``placeholders=False``: the document is final (a filled template, a stored render), its
    text taken as written: a value that says "{{name}}" is text, not a placeholder.
    """
    if not isinstance(document, dict):
        raise EditError([Problem("", "an edit is a JSON object with `timeline` and `outputs`")])
    if placeholders:
        # Strict: a placeholder left without a value would render as literal "{{name}}".
        document = substitute(document, variables or {})
    try:
        edit = Edit.model_validate(document)
    except ValidationError as exc:
        raise EditError(problems_from_validation_error(exc)) from None
    problems = _semantic_problems(edit) + override_problems(edit)
    if problems:
        raise EditError(problems)
    return edit


def load_edit(path: str | Path, variables: Mapping[str, Any] | None = None) -> Edit:
    """Read and validate an edit file. JSON syntax errors are reported with line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EditError([Problem("", f"no such edit file: {path}", "file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EditError([Problem("", f"cannot read {path}: {exc}", "file")]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditError(
            [
                Problem(
                    "",
                    f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                    "json",
                )
            ]
        ) from None
    return parse_edit(document, variables)
