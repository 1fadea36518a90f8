"""Expanding a template's edit for one set of values: conditions keep or drop clips, groups
and tracks; ``repeat`` copies a clip or group per list item; placeholders are filled. Each
pointer of the result remembers where in the template it came from. The save-time check
expands the template once with sample values so a template that cannot render is refused
when it is saved."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .errors import EditError, Problem, pointer
from .models import Edit
from .template_filters import FilterError, apply_filters, parse_filters
from .template_model import (
    LOCALES_KEY,
    MAX_CLIPS,
    MAX_REPEAT_COPIES,
    REPEAT_NAMES,
    TEMPLATE_KEYS,
    Template,
    Variable,
)
from .validate import problems_from_validation_error
from .variables import PLACEHOLDER

# --------------------------------------------------------------------------- expanding the edit


@dataclass
class _Budget:
    clips: int = 0
    copies: int = 0
    problems: list[Problem] = field(default_factory=list)
    """Values a placeholder's filter cannot format, found while filling."""


class TooManyClips(Exception):
    def __init__(self, list_name: str, what: str) -> None:
        super().__init__(list_name)
        self.list_name = list_name
        self.what = what


@dataclass
class Context:
    values: dict[str, Any]
    """Variable values after checking, by name."""
    items: dict[str, tuple[Mapping[str, Any], int]] = field(default_factory=dict)
    """Repeat aliases in force: alias -> (the item, its index)."""
    sample: bool = False
    """Keep every conditional element and repeat once (checking the template at save time)."""
    raw: bool = False
    """Expand without filling placeholders."""
    budget: _Budget = field(default_factory=lambda: _Budget())
    """Shared by every context of one expansion."""
    lists: tuple[str, ...] = ()
    """The list variables whose repeats are in force, outermost first."""

    def lookup(self, name: str) -> tuple[bool, Any]:
        alias, _, rest = name.partition(".")
        if alias in self.items:
            item, _ = self.items[alias]
            return True, (item.get(rest) if rest else item)
        if name in REPEAT_NAMES and self.items:
            index = list(self.items.values())[-1][1]
            return True, index if name == "index" else index + 1
        if name in self.values:
            return True, self.values[name]
        return False, None

    def truthy(self, name: str) -> bool:
        _, value = self.lookup(name.strip())
        return value is not None and value is not False and value != "" and value != []

    def keeps(self, element: Mapping[str, Any]) -> bool:
        if self.sample:
            return True
        if "if" in element and not self.truthy(element["if"]):
            return False
        return not ("unless" in element and self.truthy(element["unless"]))


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))
    import json

    return json.dumps(value, ensure_ascii=False)


def _filtered(m: re.Match[str], value: Any, ctx: Context, path: Origin) -> Any:
    """``value`` through the placeholder's filter, in the render's locale."""
    if not m[2]:
        return value
    try:
        return apply_filters(value, parse_filters(m[2]), ctx.values.get("locale"))
    except FilterError as exc:
        # The save-time check fills sample values, which need not suit a filter.
        if not ctx.sample:
            ctx.budget.problems.append(Problem(pointer(*path), f"{m[0]}: {exc}", "invalid_filter"))
        return as_text(value)


def _fill(node: Any, ctx: Context, path: Origin = ()) -> Any:
    """``node`` with its placeholders filled; ``path``: where it is in the template, for errors."""
    if ctx.raw:
        return copy.deepcopy(node)
    if isinstance(node, str):
        value_of = ctx.lookup
        whole = PLACEHOLDER.fullmatch(node.strip())
        if whole:
            known, value = value_of(whole[1])
            return _filtered(whole, copy.deepcopy(value), ctx, path) if known else node

        def one(m: re.Match[str]) -> str:
            known, value = value_of(m[1])
            return as_text(_filtered(m, value, ctx, path)) if known else m[0]

        return PLACEHOLDER.sub(one, node)
    if isinstance(node, dict):
        return {key: _fill(value, ctx, (*path, key)) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, ctx, (*path, i)) for i, value in enumerate(node)]
    return node


Origin = tuple[str | int, ...]
"""Where an element of the filled edit comes from in the template's edit."""


def _expand_clips(elements: Sequence[Any], ctx: Context, path: Origin) -> list[tuple[Any, Origin]]:
    out: list[tuple[Any, Origin]] = []
    for c, element in enumerate(elements):
        here = (*path, c)
        if not isinstance(element, dict):
            out.append((element, here))
            continue
        for item_ctx in _repetitions(element, ctx):
            if not item_ctx.keeps(element):
                continue
            if "group" in element:
                out.extend(_expand_clips(element["group"], item_ctx, (*here, "group")))
            else:
                item_ctx.budget.clips += 1
                if item_ctx.budget.clips > MAX_CLIPS and item_ctx.lists:
                    raise TooManyClips(item_ctx.lists[-1], f"more than {MAX_CLIPS} clips")
                clip = {k: v for k, v in element.items() if k not in TEMPLATE_KEYS}
                out.append((_fill(clip, item_ctx, here), here))
    return out


def _repetitions(element: Mapping[str, Any], ctx: Context) -> Iterator[Context]:
    repeat = element.get("repeat")
    if not isinstance(repeat, dict):
        yield ctx
        return
    alias = repeat.get("as", "item")
    items = ctx.values.get(repeat["for"]) or []
    if ctx.sample:
        items = items[:1] or [_sample_record(ctx, repeat["for"])]
    for i, item in enumerate(items):
        ctx.budget.copies += 1
        if ctx.budget.copies > MAX_REPEAT_COPIES:
            raise TooManyClips(repeat["for"], f"more than {MAX_REPEAT_COPIES} repeated copies")
        yield Context(
            ctx.values,
            {**ctx.items, alias: (item, i)},
            ctx.sample,
            ctx.raw,
            ctx.budget,
            (*ctx.lists, repeat["for"]),
        )


def _sample_record(ctx: Context, name: str) -> dict[str, Any]:
    return ctx.values.get(f"\0fields:{name}", {})


def expand(template: Template, ctx: Context) -> tuple[dict[str, Any], dict[str, Origin]]:
    """The filled edit, and for each filled clip's pointer, where it comes from in the template."""
    origins: dict[str, Origin] = {}
    edit: dict[str, Any] = {}
    for key, value in template.edit.items():
        if key != "timeline" or not isinstance(value, dict):
            edit[key] = _fill(value, ctx, ("edit", key))
            continue
        timeline: dict[str, Any] = {}
        for tkey, tvalue in value.items():
            if tkey != "tracks" or not isinstance(tvalue, list):
                timeline[tkey] = _fill(tvalue, ctx, ("edit", "timeline", tkey))
                continue
            tracks: list[Any] = []
            for t, track in enumerate(tvalue):
                origin: Origin = ("edit", "timeline", "tracks", t)
                if not isinstance(track, dict):
                    tracks.append(track)
                    continue
                if not ctx.keeps(track):
                    continue
                new: dict[str, Any] = {}
                for key2, item in track.items():
                    if key2 in ("if", "unless"):
                        continue
                    if key2 == "clips" and isinstance(item, list):
                        clips = _expand_clips(item, ctx, (*origin, "clips"))
                        if not clips:
                            new = {}
                            break
                        for c, (_, where) in enumerate(clips):
                            origins[pointer("timeline", "tracks", len(tracks), "clips", c)] = where
                        new["clips"] = [clip for clip, _ in clips]
                    else:
                        new[key2] = _fill(item, ctx, (*origin, key2))
                if not new:
                    continue  # every clip of the track was left out: so is the track
                origins[pointer("timeline", "tracks", len(tracks))] = origin
                tracks.append(new)
            timeline["tracks"] = tracks
        edit["timeline"] = timeline
    return edit, origins


# --------------------------------------------------------------------------- save-time check


_SAMPLES: dict[str, Any] = {
    "text": "Sample",
    "number": 1,
    "integer": 1,
    "boolean": True,
    "color": "#808080",
    "duration": 1,
    "asset": "sample",
    "list": [],
}


def _sample(var: Variable) -> Any:
    default = var.default
    if isinstance(default, dict) and LOCALES_KEY in default:
        default = next(iter(default[LOCALES_KEY].values()), None)
    if default is not None:
        return default
    enum = var.validation.get("enum")
    if enum:
        return enum[0]
    if var.type in ("number", "integer", "duration") and var.validation.get("min") is not None:
        return var.validation["min"]
    return _SAMPLES[var.type]


def sample_check(template: Template) -> None:
    """Fill the edit with sample values (every condition kept, every repeat once) and validate it.

    Problems where a placeholder stands are left for fill time (they depend on the values);
    the rest (a misspelt field, a bad anchor, ...) are the template's, reported at their
    pointer in the template.
    """
    values: dict[str, Any] = {v.name: _sample(v) for v in template.variables}
    for v in template.variables:
        if v.type == "list":
            values[f"\0fields:{v.name}"] = {f.name: _sample(f) for f in v.fields}
    ctx = Context(values, sample=True)
    edit, origins = expand(template, ctx)
    raw, _ = expand(template, Context(values, sample=True, raw=True))
    # Pointers in the expanded (unfilled) edit where placeholders stand.
    from .variables import find_placeholders

    held = [p for ptrs in find_placeholders(raw).values() for p in ptrs]
    try:
        Edit.model_validate(edit)
    except ValidationError as exc:
        found = problems_from_validation_error(exc)
    else:
        return
    problems: list[Problem] = []
    for p in found:
        if any(
            p.pointer == h or p.pointer.startswith(h + "/") or h.startswith(p.pointer + "/") for h in held
        ):
            continue
        problems.append(Problem(to_template_pointer(p.pointer, origins), p.message, p.code))
    if problems:
        raise EditError(problems)


def to_template_pointer(ptr: str, origins: Mapping[str, Origin]) -> str:
    parts = ptr.split("/")
    # Longest known prefix: a clip ("/timeline/tracks/0/clips/3") or a track.
    for n in (6, 4):
        prefix = "/".join(parts[:n])
        if len(parts) >= n and prefix in origins:
            return pointer(*origins[prefix]) + ("/" + "/".join(parts[n:]) if len(parts) > n else "")
    return "/edit" + ptr
