"""The edit-format reference (docs/edit-format.md) must agree with the code.

* Every JSON block marked in the document is validated:
  ``<!-- edit -->`` as a whole edit (and its timeline resolved to frames),
  ``<!-- clip -->`` as the only clip of a minimal edit's first track,
  ``<!-- asset -->`` as the asset of such a clip,
  ``<!-- output -->`` as the only output of a minimal edit,
  ``<!-- invalid-edit -->`` must fail, with exactly the problems listed in the ``text`` block
  that follows it (the sample output of ``reelforge validate``).
* ``<!-- fields: Model -->`` marks the field table of a model: it must list exactly the model's
  fields, with their real defaults.
* Every field of every model, and every value of every fixed choice (``Literal``), must be
  mentioned in the document, so the document cannot fall behind the models.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from reelforge.edit import models
from reelforge.edit.errors import EditError
from reelforge.edit.timeline import resolve_timeline, source_key
from reelforge.edit.timing import parse_fps
from reelforge.edit.validate import parse_edit
from reelforge.edit.variables import find_placeholders

DOC = Path(__file__).resolve().parents[1] / "docs" / "edit-format.md"
TEXT = DOC.read_text(encoding="utf-8")
LINES = TEXT.splitlines()

BLOCK_KINDS = ("edit", "clip", "asset", "output", "invalid-edit", "template", "values")
MARKER = re.compile(r"^<!--\s*(?P<kind>[a-z-]+)\s*-->\s*$")
FIELDS_MARKER = re.compile(r"^<!--\s*fields:\s*(?P<model>\w+)\s*-->\s*$")

# Values tried, in order, for a placeholder whose first dummy value does not validate
# (a placeholder can stand for a string, a number or a colour).
DUMMY_VALUES: tuple[Any, ...] = ("x", 1, "#000000")
# Duration given to every source when resolving an edit's timeline (no media is read).
DUMMY_DURATION = Fraction(60)


@dataclass(frozen=True)
class Block:
    kind: str
    line: int
    """1-based line of the opening fence."""
    text: str

    @property
    def id(self) -> str:
        return f"{self.kind}@line{self.line}"


def _fenced_blocks() -> list[tuple[int, str, str, str | None]]:
    """Every fenced block: (fence line, language, body, marker kind on the line before)."""
    blocks = []
    i = 0
    while i < len(LINES):
        m = re.match(r"^```(\w*)\s*$", LINES[i])
        if not m or not m[1]:
            i += 1
            continue
        start = i
        body: list[str] = []
        i += 1
        while i < len(LINES) and LINES[i].strip() != "```":
            body.append(LINES[i])
            i += 1
        marker = MARKER.match(LINES[start - 1]) if start > 0 else None
        blocks.append((start + 1, m[1], "\n".join(body), marker["kind"] if marker else None))
        i += 1
    return blocks


FENCED = _fenced_blocks()
BLOCKS = [Block(kind, line, body) for line, lang, body, kind in FENCED if lang == "json" and kind is not None]


def _blocks(kind: str) -> list[Block]:
    return [b for b in BLOCKS if b.kind == kind]


def _params(kind: str) -> Any:
    return pytest.mark.parametrize("block", _blocks(kind), ids=lambda b: b.id)


# --------------------------------------------------------------------------- the markers themselves


def test_markers_are_known_and_precede_json_fences() -> None:
    for n, line in enumerate(LINES):
        m = MARKER.match(line)
        if not m or FIELDS_MARKER.match(line):
            continue
        assert m["kind"] in BLOCK_KINDS, f"line {n + 1}: unknown marker {m['kind']!r}"
        following = LINES[n + 1] if n + 1 < len(LINES) else ""
        assert following.strip() == "```json", f"line {n + 1}: a marker must sit right before a ```json fence"


def test_every_kind_of_block_is_present() -> None:
    for kind in BLOCK_KINDS:
        assert _blocks(kind), f"no <!-- {kind} --> block in the document"


@pytest.mark.parametrize(
    "line,body", [(line, body) for line, lang, body, _ in FENCED if lang == "json"], ids=lambda v: str(v)[:20]
)
def test_every_json_block_is_json(line: int, body: str) -> None:
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        pytest.fail(f"the ```json block at line {line} is not JSON: {exc}")


# --------------------------------------------------------------------------- validating examples


def _minimal_edit() -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "#000000"}, "length": 1}]}]}
    }


def _validate(document: dict[str, Any]) -> models.Edit:
    """parse_edit, with every placeholder filled by a dummy value that fits where it stands."""
    names = list(find_placeholders(document))
    if not names:
        return parse_edit(document)
    pointers = find_placeholders(document)
    choice = dict.fromkeys(names, 0)
    while True:
        variables = {name: DUMMY_VALUES[choice[name]] for name in names}
        try:
            return parse_edit(document, variables)
        except EditError as exc:
            failing = {p.pointer for p in exc.problems}
            retry = [n for n in names if failing & set(pointers[n]) and choice[n] + 1 < len(DUMMY_VALUES)]
            if not retry:
                raise
            for n in retry:
                choice[n] += 1


def _load(block: Block) -> Any:
    return json.loads(block.text)


def _resolve(edit: models.Edit) -> None:
    durations = {}
    for track in edit.timeline.tracks:
        for clip in track.clips:
            key = source_key(clip)
            if key is not None:
                durations[key] = DUMMY_DURATION
    for output in edit.outputs:
        resolve_timeline(edit, parse_fps(output.fps), durations)


@_params("edit")
def test_edit_examples_validate(block: Block) -> None:
    document = _load(block)
    try:
        edit = _validate(document)
        _resolve(edit)
    except EditError as exc:
        pytest.fail(f"the edit at line {block.line} of {DOC.name} is invalid:\n{exc}")


@_params("clip")
def test_clip_examples_validate(block: Block) -> None:
    clip = _load(block)
    assert isinstance(clip, dict) and "asset" in clip, (
        f"line {block.line}: a clip is an object with an `asset`"
    )
    document = _minimal_edit()
    clips = [clip]
    if "transition" in clip:
        # A transition needs a previous clip to come from.
        clips.insert(0, {"asset": {"type": "color", "color": "#000000"}, "length": 10})
    document["timeline"]["tracks"][0]["clips"] = clips
    try:
        _validate(document)
    except EditError as exc:
        pytest.fail(f"the clip at line {block.line} of {DOC.name} is invalid:\n{exc}")


@_params("asset")
def test_asset_examples_validate(block: Block) -> None:
    asset = _load(block)
    assert isinstance(asset, dict) and "type" in asset, (
        f"line {block.line}: an asset is an object with a `type`"
    )
    document = _minimal_edit()
    document["timeline"]["tracks"][0]["clips"] = [{"asset": asset}]
    try:
        _validate(document)
    except EditError as exc:
        pytest.fail(f"the asset at line {block.line} of {DOC.name} is invalid:\n{exc}")


@_params("output")
def test_output_examples_validate(block: Block) -> None:
    output = _load(block)
    document = _minimal_edit()
    document["outputs"] = [output]
    try:
        _validate(document)
    except EditError as exc:
        pytest.fail(f"the output at line {block.line} of {DOC.name} is invalid:\n{exc}")


def _text_block_after(line: int) -> list[str]:
    """The lines of the first ```text block after the given (1-based) fence line."""
    for fence_line, lang, body, _ in FENCED:
        if fence_line > line and lang == "text":
            return body.splitlines()
    raise AssertionError(f"no ```text block after line {line}")


@_params("invalid-edit")
def test_invalid_edit_examples_report_what_the_document_shows(block: Block) -> None:
    with pytest.raises(EditError) as info:
        _validate(_load(block))
    shown = _text_block_after(block.line)
    header, listed = shown[0], shown[1:]
    count = len(info.value.problems)
    assert header.endswith(f": {count} problem{'s' if count != 1 else ''}"), header
    assert listed == [f"  {p.pointer or '/'}: {p.message}" for p in info.value.problems]


@_params("values")
def test_template_examples_fill_with_the_values_after_them(block: Block) -> None:
    """A ``<!-- values -->`` block fills the ``<!-- template -->`` block before it, in every locale."""
    from reelforge.edit.templates import fill_template, parse_template

    (template_block,) = [b for b in _blocks("template") if b.line < block.line][-1:]
    template = parse_template(_load(template_block))
    for locale in (None, *template.locales):
        edit = parse_edit(fill_template(template, _load(block), locale=locale))
        _resolve(edit)


def test_three_clips_with_two_transitions_last_28_seconds() -> None:
    (block,) = [b for b in _blocks("edit") if _load(b).get("name") == "three-clips"]
    edit = _validate(_load(block))
    timeline = resolve_timeline(edit, Fraction(30))
    assert timeline.duration == 28
    assert [c.start for c in timeline.clips()] == [0, 9 * 30, 18 * 30]


# --------------------------------------------------------------------------- coverage of the models


def _model_classes() -> dict[str, type[BaseModel]]:
    """Every model listed in models.__all__, plus every model reachable from Edit."""
    found: dict[str, type[BaseModel]] = {}

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation.__name__ not in found:
                found[annotation.__name__] = annotation
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        for arg in typing.get_args(annotation):
            visit(arg)

    for name in models.__all__:
        visit(getattr(models, name))
    return found


MODELS = _model_classes()


def _literal_values(annotation: Any) -> set[str]:
    values: set[str] = set()
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return {v for v in typing.get_args(annotation) if isinstance(v, str)}
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            values |= _literal_values(arg)
    return values


def test_models_are_found() -> None:
    for name in ("Edit", "Timeline", "Clip", "Output", "VideoAsset", "ChromaKey", "Range"):
        assert name in MODELS


@pytest.mark.parametrize("model", sorted(MODELS), ids=str)
def test_every_field_is_mentioned(model: str) -> None:
    missing = [f for f in MODELS[model].model_fields if f"`{f}`" not in TEXT]
    assert not missing, f"{model} fields not mentioned in {DOC.name} (as `name`): {missing}"


@pytest.mark.parametrize("model", sorted(MODELS), ids=str)
def test_every_choice_is_mentioned(model: str) -> None:
    missing = sorted(
        value
        for field in MODELS[model].model_fields.values()
        for value in _literal_values(field.annotation)
        if f"`{value}`" not in TEXT and f'`"{value}"`' not in TEXT
    )
    assert not missing, f"{model}: values not mentioned in {DOC.name}: {missing}"


def _field_tables() -> dict[str, list[list[str]]]:
    """Rows (cells) of every table marked with <!-- fields: Model -->."""
    tables: dict[str, list[list[str]]] = {}
    for n, line in enumerate(LINES):
        m = FIELDS_MARKER.match(line)
        if not m:
            continue
        assert m["model"] not in tables, f"line {n + 1}: a second field table for {m['model']}"
        rows: list[list[str]] = []
        i = n + 1
        while i < len(LINES) and LINES[i].startswith("|"):
            rows.append([cell.strip() for cell in LINES[i].strip().strip("|").split("|")])
            i += 1
        assert len(rows) >= 3, f"line {n + 1}: a field table needs a header, a separator and rows"
        assert [c.lower() for c in rows[0]] == ["field", "type", "default", "meaning"], (
            f"line {n + 2}: {rows[0]}"
        )
        tables[m["model"]] = rows[2:]
    return tables


TABLES = _field_tables()


def test_every_model_has_a_field_table() -> None:
    assert sorted(set(MODELS) - set(TABLES)) == []
    assert sorted(set(TABLES) - set(MODELS)) == []


@pytest.mark.parametrize("model", sorted(MODELS), ids=str)
def test_field_tables_match_the_models(model: str) -> None:
    cls = MODELS[model]
    rows = TABLES.get(model)
    if rows is None:
        pytest.fail(f"no <!-- fields: {model} --> table")
    by_name: dict[str, list[str]] = {}
    for row in rows:
        assert len(row) == 4, f"{model}: a row needs 4 cells: {row}"
        name = row[0].strip("`")
        assert name not in by_name, f"{model}: `{name}` listed twice"
        by_name[name] = row
    assert sorted(by_name) == sorted(cls.model_fields), f"{model}: the table's fields differ from the model's"
    for name, field in cls.model_fields.items():
        default_cell = by_name[name][2]
        if field.default is PydanticUndefined and field.default_factory is None:
            assert default_cell == "required", f"{model}.{name} is required; the table says {default_cell!r}"
            continue
        assert default_cell != "required", f"{model}.{name} has a default; the table says required"
        if field.default_factory is not None or isinstance(field.default, BaseModel):
            continue  # described in words
        m = re.search(r"`([^`]*)`", default_cell)
        assert m, f"{model}.{name}: the default cell must hold the default as `json`: {default_cell!r}"
        assert json.loads(m[1]) == field.default, (
            f"{model}.{name}: default is {field.default!r}, the table says {m[1]}"
        )
