"""Property-based tests of the edit language: the model, the compiler and the template filler.

Properties:

* any valid edit (tracks of clips of every asset type over tiny local media, transitions, text,
  outputs) validates and compiles to a plan;
* any document at all (a valid edit with arbitrary JSON mutations) either compiles or raises
  :class:`EditError` whose problems carry JSON pointers that resolve into the document (or
  name a missing key of an object that is there), never another exception;
* the same for the template filler: arbitrary values against declared variables give an edit
  document or problems located under ``/values``.

The number of examples comes from the Hypothesis profile (tests/conftest.py): ``ci`` by
default, ``REELFORGE_FUZZ=long`` for a longer run.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from reelforge.edit.errors import EditError
from reelforge.edit.templates import fill_template, parse_template
from reelforge.edit.validate import parse_edit
from reelforge.render.engine import plan_edit
from reelforge.render.fonts import coverage, font_chain
from reelforge.render.sources import LocalResolver

# ------------------------------------------------------------------ pointers


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def pointer_resolves(document: Any, ptr: str) -> bool:
    """True when ``ptr`` (RFC 6901) names a value of ``document``, or a key missing from an
    object that is there (a required field left out is reported where it should be)."""
    if ptr == "":
        return True
    if not ptr.startswith("/"):
        return False
    parts = [_unescape(p) for p in ptr[1:].split("/")]
    node = document
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, dict):
            if part in node:
                node = node[part]
                continue
            return last
        if isinstance(node, list):
            if part.isascii() and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            return False
        return False
    return True


def assert_located(exc: EditError, document: Any) -> None:
    assert exc.problems, "an EditError lists at least one problem"
    for problem in exc.problems:
        assert isinstance(problem.message, str) and problem.message
        assert pointer_resolves(document, problem.pointer), (problem.pointer, problem.message)


# ------------------------------------------------------------------ media and strategies


@pytest.fixture(scope="module")
def files(media: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Tiny local media of every kind, and a resolver that reaches only them."""
    work = tmp_path_factory.mktemp("fuzz")
    return {
        "video": str(media.video(duration=1, size=(160, 90))),
        "image": str(media.image(size=(160, 90))),
        "audio": str(media.audio(duration=1)),
        "resolver": LocalResolver(work, [work, media.dir]),
        "work": work,
    }


COLORS = st.sampled_from(["#ff0000", "#00ff0080", "white", "black", "red", "#123456"])
TRANSITIONS = st.sampled_from(
    ["fade", "fade-black", "dissolve", "wipe-left", "slide-up", "circle-open", "zoom", "pixelize", "radial"]
)


def _drawable() -> list[str]:
    """Every character the installed fonts can draw in text (regular) and in captions (bold)."""
    both = [
        set().union(*(coverage(face) for face in font_chain("DejaVu Sans", weight=weight)))
        for weight in ("normal", "bold")
    ]
    return [chr(c) for c in sorted(both[0] & both[1]) if not 0xD800 <= c <= 0xDFFF]


# Any Unicode text the installed fonts can draw, with controls and format characters (which
# draw nothing); text renders literally. A character no font has is refused (tests/test_fonts.py).
# Deferred: the fonts are read when a test first draws text, not when pytest collects this file.
TEXT = st.text(
    st.deferred(lambda: st.sampled_from(_drawable()))
    | st.characters(categories=("Cc", "Cf"), exclude_characters="\ud800"),
    min_size=1,
    max_size=30,
)
LENGTH = st.sampled_from([0.4, 0.5, 0.8, 1])


def asset(kind: str, src: dict[str, str]) -> st.SearchStrategy[dict[str, Any]]:
    if kind == "video":
        return st.fixed_dictionaries(
            {"type": st.just("video"), "src": st.just(src["video"])},
            optional={
                "trim": st.sampled_from([0, 0.1, 0.2]),
                "muted": st.booleans(),
                "speed": st.sampled_from([0.5, 1, 2]),
                "volume": st.sampled_from([0, 0.5, 1, "-6dB"]),
            },
        )
    if kind == "image":
        return st.fixed_dictionaries({"type": st.just("image"), "src": st.just(src["image"])})
    if kind == "audio":
        return st.fixed_dictionaries(
            {"type": st.just("audio"), "src": st.just(src["audio"])},
            optional={"volume": st.sampled_from([0.5, 1]), "fade_in": st.sampled_from([0, 0.1])},
        )
    if kind == "text":
        return st.fixed_dictionaries(
            {"type": st.just("text"), "text": TEXT},
            optional={
                "style": st.fixed_dictionaries(
                    {},
                    optional={
                        "color": COLORS,
                        "size": st.sampled_from([0.05, 0.1]),
                        "align": st.sampled_from(["left", "center", "right"]),
                        "direction": st.sampled_from(["auto", "ltr", "rtl"]),
                    },
                ),
                "animation_in": st.fixed_dictionaries(
                    {"type": st.sampled_from(["fade", "pop", "slide-up"]), "duration": st.just(0.1)}
                ),
            },
        )
    if kind == "caption":
        return st.fixed_dictionaries(
            {
                "type": st.just("caption"),
                "cues": st.lists(TEXT, min_size=1, max_size=3).map(
                    lambda texts: [
                        {"start": round(i * 0.1, 2), "end": round(i * 0.1 + 0.1, 2), "text": t}
                        for i, t in enumerate(texts)
                    ]
                ),
            }
        )
    if kind == "color":
        return st.fixed_dictionaries({"type": st.just("color"), "color": COLORS})
    assert kind == "shape"
    return st.fixed_dictionaries(
        {"type": st.just("shape"), "shape": st.sampled_from(["rectangle", "circle", "line"])},
        optional={"fill": COLORS},
    )


KINDS = ("video", "image", "audio", "text", "caption", "color", "shape")


@st.composite
def clips(draw: st.DrawFn, src: dict[str, str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    clip: dict[str, Any] = {"asset": draw(asset(kind, src)), "length": draw(LENGTH)}
    if kind not in ("audio", "caption"):
        clip.update(
            draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "opacity": st.sampled_from([0.5, 1]),
                        "fit": st.sampled_from(["cover", "contain", "fill", "none"]),
                        "width": st.sampled_from([0.3, 1]),
                        "anchor": st.sampled_from(["center", "top-left", "bottom-right"]),
                    },
                )
            )
        )
    return clip


@st.composite
def valid_edits(draw: st.DrawFn, src: dict[str, str]) -> dict[str, Any]:
    tracks = []
    for _ in range(draw(st.integers(1, 3))):
        track_clips = draw(st.lists(clips(src), min_size=1, max_size=3))
        for i in range(1, len(track_clips)):
            visual = {"video", "image", "color"}
            if (
                track_clips[i - 1]["asset"]["type"] in visual
                and track_clips[i]["asset"]["type"] in visual
                and draw(st.booleans())
            ):
                track_clips[i]["transition"] = {"type": draw(TRANSITIONS), "duration": 0.2}
        tracks.append({"clips": track_clips})
    outputs = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "width": st.sampled_from([160, 96]),
                    "height": st.sampled_from([90, 160]),
                    "fps": st.sampled_from([10, 12, "30000/1001"]),
                    "quality": st.just("draft"),
                },
                optional={"format": st.sampled_from(["mp4", "webm", "gif", "png"]), "audio": st.booleans()},
            ),
            min_size=1,
            max_size=2,
        )
    )
    for i, out in enumerate(outputs):
        out["name"] = f"out{i}"
    return {"timeline": {"background": draw(COLORS), "tracks": tracks}, "outputs": outputs}


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["auto", "end", "-6dB", "1/0", "99999999999999999999M", "{{x}}", "²", "", "\x00"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> Any:
    """A document with 1-3 mutations: a value replaced, a key dropped, an unknown key added."""
    doc: Any = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        parent: Any = None
        node = doc
        for part in path:
            parent, node = node, node[part]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace" or not path:
            value = draw(JSON)
            if parent is None:
                doc = value
                break
            parent[path[-1]] = value
        elif action == "drop" and isinstance(parent, dict | list):
            del parent[path[-1]]
        elif isinstance(node, dict):
            node[
                draw(st.sampled_from(["²", "bogus", "type", "length", "src", "0"]) | st.text(max_size=6))
            ] = draw(JSON)
    return doc


# ------------------------------------------------------------------ properties


def _plan(document: Any, files: dict[str, Any]) -> None:
    edit = parse_edit(document, placeholders=False)
    plan_edit(edit, resolver=files["resolver"], out_dir=files["work"] / "out", work_dir=files["work"] / "w")


SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.data())
def test_any_valid_edit_compiles(files: dict[str, Any], data: st.DataObject) -> None:
    doc = data.draw(valid_edits(files))
    note(json.dumps(doc))
    try:
        _plan(doc, files)
    except EditError as exc:  # pragma: no cover - shown with the document on failure
        pytest.fail(f"a valid edit was refused: {exc}")


@SETTINGS
@given(data=st.data())
@example(data=None)  # the unknown field named by a Unicode digit, found by an outside run
def test_any_document_compiles_or_gets_located_problems(files: dict[str, Any], data: Any) -> None:
    if data is None:
        doc: Any = {
            "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "²": 1}]}]}
        }
        doc["outputs"] = [{"width": 160, "height": 90}]
    else:
        doc = data.draw(mutated(valid_edits(files)))
    note(json.dumps(doc, default=str))
    try:
        _plan(doc, files)
    except EditError as exc:
        assert_located(exc, doc)


# ------------------------------------------------------------------ templates

TEMPLATE = {
    "edit": {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {
                            "repeat": {"for": "items", "as": "item"},
                            "asset": {"type": "text", "text": "{{item.name}} {{item.price}}"},
                            "length": "{{seconds}}",
                        },
                    ]
                },
                {
                    "clips": [
                        {"if": "show", "asset": {"type": "color", "color": "{{badge}}"}, "length": 1},
                        {"asset": {"type": "text", "text": "{{title}} {{count}}"}, "length": 1},
                    ]
                },
            ]
        },
        "outputs": [{"width": 160, "height": 90, "fps": 10, "quality": "draft"}],
    },
    "variables": [
        {
            "name": "items",
            "type": "list",
            "validation": {"min_items": 1, "max_items": 5},
            "fields": [
                {"name": "name", "type": "text", "required": True, "validation": {"max_length": 40}},
                {"name": "price", "type": "number", "validation": {"min": 0, "max": 1000}},
            ],
        },
        {"name": "seconds", "type": "duration", "default": 1, "validation": {"min": 0.5, "max": 10}},
        {"name": "show", "type": "boolean", "default": False},
        {"name": "badge", "type": "color", "default": "#ff0000"},
        {"name": "title", "type": "text", "default": "Hi", "validation": {"pattern": "^[^<>]*$"}},
        {"name": "count", "type": "integer", "default": 1, "validation": {"min": -5, "max": 5}},
    ],
}

WELL_TYPED = st.fixed_dictionaries(
    {
        "items": st.lists(
            st.fixed_dictionaries(
                {"name": TEXT}, optional={"price": st.floats(0, 1000, allow_nan=False) | st.integers(0, 1000)}
            ),
            min_size=1,
            max_size=5,
        )
    },
    optional={
        "seconds": st.sampled_from([0.5, 1, 2.5, "1.5s"]),
        "show": st.booleans(),
        "badge": COLORS,
        "title": TEXT,
        "count": st.integers(-5, 5),
    },
)

ANY_VALUES = st.dictionaries(
    st.sampled_from(["items", "seconds", "show", "badge", "title", "count", "²", "nope"]), JSON, max_size=6
)


@SETTINGS
@given(values=WELL_TYPED | ANY_VALUES | mutated(WELL_TYPED))
def test_template_values_fill_or_get_located_problems(files: dict[str, Any], values: Any) -> None:
    template = parse_template(copy.deepcopy(TEMPLATE))
    note(json.dumps(values, default=str))
    try:
        document = fill_template(template, values if isinstance(values, dict) else {"items": values})
    except EditError as exc:
        assert_located(exc, {"values": values if isinstance(values, dict) else {"items": values}})
        for problem in exc.problems:
            assert problem.pointer.startswith("/values"), problem
        return
    try:
        _plan(document, files)
    except EditError as exc:
        assert_located(exc, document)


@SETTINGS
@given(doc=mutated(st.just(TEMPLATE)))
def test_any_template_document_parses_or_gets_located_problems(doc: Any) -> None:
    note(json.dumps(doc, default=str))
    try:
        parse_template(doc)
    except EditError as exc:
        assert_located(exc, doc)


def test_the_pointer_check_itself() -> None:
    doc = {"a": [{"b": 1}], "c/d": {"~": 2}}
    assert pointer_resolves(doc, "") and pointer_resolves(doc, "/a/0/b") and pointer_resolves(doc, "/c~1d/~0")
    assert pointer_resolves(doc, "/a/0/missing")  # a key missing from an object that is there
    assert not pointer_resolves(doc, "/a/1") and not pointer_resolves(doc, "/x/y")
    assert not pointer_resolves(doc, "/a/²")
