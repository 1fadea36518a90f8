"""Templates (spec side, engine and CLI): typed variables, repeats, conditions, locales.

Real renders of tiny generated media: a list of N products makes a video whose length follows
N, a condition shows or hides a clip (checked by the frames' colours), and an Arabic caption
file picked by locale renders right to left.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from frames import close, mean_rgb, video_frames
from reelforge.cli import app
from reelforge.edit.errors import EditError
from reelforge.edit.templates import (
    MAX_CLIPS,
    MAX_GROUP_DEPTH,
    fill_template,
    fill_template_traced,
    is_template_document,
    parse_template,
    values_schema,
)
from reelforge.edit.validate import parse_edit
from reelforge.ffmpeg.probe import probe
from reelforge.render.engine import render_edit

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def slideshow() -> dict[str, Any]:
    """A product slideshow: one picture and one caption per product, an optional price badge."""
    return {
        "edit": {
            "timeline": {
                "background": "#000000",
                "tracks": [
                    {
                        "clips": [
                            {
                                "repeat": {"for": "products"},
                                "asset": {"type": "image", "src": "{{item.image}}"},
                                "length": "{{seconds}}",
                            }
                        ]
                    },
                    {
                        "clips": [
                            {
                                "repeat": {"for": "products"},
                                "asset": {
                                    "type": "text",
                                    "text": "{{number}}. {{item.name}}",
                                    "style": {"size": 0.1, "color": "{{text_color}}"},
                                },
                                "length": "{{seconds}}",
                                "anchor": "bottom",
                            }
                        ]
                    },
                    {
                        "if": "show_price",
                        "clips": [
                            {
                                "asset": {"type": "color", "color": "{{badge}}"},
                                "length": "end",
                                "start": 0,
                                "width": 0.3,
                                "height": 0.3,
                                "anchor": "top-left",
                            }
                        ],
                    },
                ],
            },
            "outputs": [{"width": 160, "height": 90, "fps": 10, "quality": "draft", "audio": False}],
        },
        "variables": [
            {
                "name": "products",
                "type": "list",
                "validation": {"min_items": 1, "max_items": 20},
                "fields": [
                    {"name": "image", "type": "asset", "kinds": ["image"], "required": True},
                    {
                        "name": "name",
                        "type": "text",
                        "required": True,
                        "localizable": True,
                        "validation": {"max_length": 40},
                    },
                    {"name": "price", "type": "number", "validation": {"min": 0}},
                ],
            },
            {"name": "seconds", "type": "duration", "default": 1, "validation": {"min": 0.5, "max": 10}},
            {"name": "show_price", "type": "boolean", "default": False},
            {"name": "badge", "type": "color", "default": "#ff0000"},
            {"name": "text_color", "type": "color", "default": "white"},
            {"name": "title", "type": "text", "localizable": True, "default": "Our picks"},
        ],
        "locales": ["en", "fr", "ar"],
        "default_locale": "en",
    }


def products(n: int, image: str = "blue.png") -> list[dict[str, Any]]:
    return [{"image": image, "name": f"Lamp {i}", "price": 10 + i} for i in range(n)]


def problems(exc: pytest.ExceptionInfo[EditError]) -> dict[str, str]:
    return {p.pointer: p.message for p in exc.value.problems}


# --------------------------------------------------------------------------- parsing


def test_a_template_document_is_told_from_an_edit() -> None:
    assert is_template_document(slideshow())
    assert not is_template_document(slideshow()["edit"])


def test_a_placeholder_without_a_variable_is_reported_at_its_pointer() -> None:
    doc = slideshow()
    doc["edit"]["timeline"]["tracks"][1]["clips"][0]["asset"]["text"] = "{{item.nmae}} {{subtitle}}"
    doc["edit"]["timeline"]["tracks"][2]["clips"][0]["asset"]["color"] = "{{badge_colour}}"
    doc["edit"]["outputs"][0]["name"] = "{{index}}"
    with pytest.raises(EditError) as info:
        parse_template(doc)
    found = [(p.pointer, p.message) for p in info.value.problems]
    text_ptr = "/edit/timeline/tracks/1/clips/0/asset/text"
    assert (
        text_ptr,
        "{{item.nmae}}: the items of products have no field 'nmae' (they have image, name, price)",
    ) in found
    assert (text_ptr, "{{subtitle}} has no declared variable (did you mean 'title'?)") in found
    assert (
        "/edit/timeline/tracks/2/clips/0/asset/color",
        "{{badge_colour}} has no declared variable (did you mean 'badge'?)",
    ) in found
    assert ("/edit/outputs/0/name", "{{index}} is the item's position, only inside a `repeat`") in found
    assert len(found) == 4


def test_bad_variable_definitions_are_all_reported_with_pointers() -> None:
    doc = slideshow()
    doc["variables"] += [
        {"name": "count", "type": "number", "validation": {"max_length": 3}},
        {"name": "count", "type": "integer"},
        {"name": "brand", "type": "text"},
        {"name": "logo", "type": "image"},
        {"name": "items", "type": "list"},
        {"name": "pattern", "type": "text", "validation": {"pattern": "("}},
    ]
    with pytest.raises(EditError) as info:
        parse_template(doc)
    found = problems(info)
    assert "`max_length` does not apply to a number" in found["/variables/6/validation/max_length"]
    assert found["/variables/7/name"] == "a second variable named 'count'"
    assert "reserved" in found["/variables/8/name"]
    assert found["/variables/9/type"].startswith("expected 'text', 'number'")
    assert found["/variables/10/fields"] == "a list variable declares its items' `fields`"
    assert found["/variables/11/validation/pattern"].startswith("not a regular expression")


def test_defaults_are_checked_against_their_type() -> None:
    doc = slideshow()
    doc["variables"][3]["default"] = "reddish"
    doc["variables"][1]["default"] = 60
    with pytest.raises(EditError) as info:
        parse_template(doc)
    found = problems(info)
    assert "colour" in found["/variables/3/default"]
    assert "above the maximum 10 s" in found["/variables/1/default"]


def test_repeats_and_conditions_name_fitting_variables() -> None:
    doc = slideshow()
    tracks = doc["edit"]["timeline"]["tracks"]
    tracks[0]["clips"][0]["repeat"] = {"for": "seconds"}
    tracks[2]["if"] = "show_prices"
    with pytest.raises(EditError) as info:
        parse_template(doc)
    found = problems(info)
    assert found["/edit/timeline/tracks/0/clips/0/repeat/for"] == "`for` names a list variable (products)"
    assert "did you mean 'show_price'" in found["/edit/timeline/tracks/2/if"]


def test_the_edit_itself_is_checked_with_sample_values_at_its_template_pointer() -> None:
    doc = slideshow()
    group = {
        "group": [
            {"asset": {"type": "image", "src": "{{item.image}}"}, "length": 1},
            {"asset": {"type": "color", "color": "red"}, "lenght": 1},
        ],
        "repeat": {"for": "products"},
    }
    doc["edit"]["timeline"]["tracks"][0]["clips"] = [group]
    doc["edit"]["timeline"]["tracks"][2]["clips"][0]["anchor"] = "middle"
    with pytest.raises(EditError) as info:
        parse_template(doc)
    found = problems(info)
    assert found["/edit/timeline/tracks/0/clips/0/group/1/lenght"] == "unknown field (check its spelling)"
    assert "/edit/timeline/tracks/2/clips/0/anchor" in found


# --------------------------------------------------------------------------- filling


def test_typed_substitution_keeps_numbers_and_interpolates_text() -> None:
    template = parse_template(slideshow())
    doc = fill_template(
        template, {"products": products(2), "seconds": 2.5, "show_price": True, "badge": "#00ff00"}
    )
    clips = doc["timeline"]["tracks"][0]["clips"]
    assert [c["length"] for c in clips] == [2.5, 2.5]  # a number, not "2.5"
    assert [c["asset"]["src"] for c in clips] == ["blue.png", "blue.png"]
    texts = [c["asset"]["text"] for c in doc["timeline"]["tracks"][1]["clips"]]
    assert texts == ["1. Lamp 0", "2. Lamp 1"]
    assert doc["timeline"]["tracks"][2]["clips"][0]["asset"]["color"] == "#00ff00"
    assert not any(k in c for c in clips for k in ("repeat", "if"))
    edit = parse_edit(doc)
    assert len(edit.timeline.tracks[0].clips) == 2


def test_a_number_placed_where_the_edit_takes_text_is_written_as_text() -> None:
    doc = slideshow()
    doc["edit"]["timeline"]["tracks"][1]["clips"][0]["asset"]["text"] = "{{item.price}}"
    filled = fill_template(parse_template(doc), {"products": [{"image": "a.png", "name": "A", "price": 9.5}]})
    assert filled["timeline"]["tracks"][1]["clips"][0]["asset"]["text"] == "9.5"
    parse_edit(filled)


def test_a_bad_colour_is_rejected_naming_the_variable() -> None:
    with pytest.raises(EditError) as info:
        fill_template(parse_template(slideshow()), {"products": products(1), "badge": "reddish"})
    assert [(p.pointer, p.code) for p in info.value.problems] == [("/values/badge", "invalid_color")]
    assert info.value.problems[0].message.startswith("badge: 'reddish' is not a CSS colour name")


def test_every_bad_value_is_reported_at_once_naming_its_variable() -> None:
    values = {
        "products": [{"image": "a.png", "name": "A", "price": "cheap"}, {"name": 7}, "oops"],
        "seconds": "soon",
        "show_price": "yes",
        "colour": "unknown",
        "show_prize": True,
    }
    with pytest.raises(EditError) as info:
        fill_template(parse_template(slideshow()), values)
    found = problems(info)
    assert found == {
        "/values/colour": "colour: unknown variable; this template declares badge, products, seconds, "
        "show_price, text_color, title",
        "/values/show_prize": "show_prize: unknown variable (did you mean 'show_price'?)",
        "/values/products/0/price": "products[0].price: expected a number, got text",
        "/values/products/1/image": "products[1].image: required, and no value was given",
        "/values/products/1/name": "products[1].name: expected text, got a number",
        "/values/products/2": "products[2]: expected an object with image, name, price, got text",
        "/values/seconds": 'seconds: expected a number of seconds (2.5), "hh:mm:ss.mmm" ("00:01:02.500"), or '
        "frames (\"48f\"), got 'soon'",
        "/values/show_price": "show_price: expected true or false, got text",
    }


def test_missing_required_and_validation_limits() -> None:
    template = parse_template(slideshow())
    with pytest.raises(EditError) as info:
        fill_template(template, {})
    assert problems(info) == {"/values/products": "products: at least 1 item, got 0"}
    with pytest.raises(EditError) as info:
        fill_template(
            template, {"products": [{"image": "a.png", "name": "x" * 41, "price": -1}], "seconds": 11}
        )
    found = problems(info)
    assert found["/values/products/0/name"] == "products[0].name: at most 40 characters, got 41"
    assert found["/values/products/0/price"] == "products[0].price: -1 is below the minimum 0"
    assert found["/values/seconds"] == "seconds: 11 s is above the maximum 10 s"


def test_localised_values_pick_the_locale_then_the_default() -> None:
    doc = slideshow()
    doc["edit"]["timeline"]["tracks"][1]["clips"][0]["asset"]["text"] = "{{title}}: {{item.name}}"
    template = parse_template(doc)
    values = {
        "title": {"$locales": {"en": "Our picks", "fr": "Notre sélection"}},
        "products": [{"image": "a.png", "name": {"$locales": {"en": "Lamp", "fr": "Lampe"}}}],
    }

    def text(locale: str | None) -> str:
        return str(
            fill_template(template, values, locale=locale)["timeline"]["tracks"][1]["clips"][0]["asset"][
                "text"
            ]
        )

    assert text("fr") == "Notre sélection: Lampe"
    assert text("en") == "Our picks: Lamp"
    assert text(None) == "Our picks: Lamp"  # the default locale
    assert text("ar") == "Our picks: Lamp"  # no Arabic value: the default locale's
    with pytest.raises(EditError) as info:
        fill_template(template, values, locale="de")
    assert problems(info) == {"/locale": "the template has no locale 'de' (it has en, fr, ar)"}
    with pytest.raises(EditError) as info:
        fill_template(
            template, {**values, "seconds": {"$locales": {"fr": 2}}, "title": {"$locales": {"es": "x"}}}
        )
    found = problems(info)
    assert found["/values/seconds"] == "seconds: this variable is not localizable; give one value"
    assert found["/values/title/$locales/es"] == "title: the template has no locale 'es' (it has en, fr, ar)"
    with pytest.raises(EditError) as info:
        fill_template(template, {**values, "title": {"en": "Hi", "fr": "Salut"}})
    assert 'per-locale values are written {"$locales"' in problems(info)["/values/title"]


def test_brand_placeholders_are_left_for_the_brand_kit() -> None:
    doc = slideshow()
    doc["edit"]["timeline"]["tracks"][2]["clips"][0]["asset"]["color"] = "{{brand.colors.primary}}"
    template = parse_template(doc)
    values = {"products": products(1), "show_price": True}
    kept = fill_template(template, values)
    # The service fills them from the kit (api/brands.py), in the template before the values go in.
    assert kept["timeline"]["tracks"][2]["clips"][0]["asset"]["color"] == "{{brand.colors.primary}}"


def test_groups_repeat_together_and_conditions_read_the_item() -> None:
    doc = slideshow()
    doc["edit"]["timeline"]["tracks"][0]["clips"] = [
        {"asset": {"type": "color", "color": "black"}, "length": 0.5},
        {
            "group": [
                {"asset": {"type": "image", "src": "{{p.image}}"}, "length": 1},
                {"asset": {"type": "color", "color": "red"}, "length": 0.2, "if": "p.price"},
            ],
            "repeat": {"for": "products", "as": "p"},
        },
    ]
    template = parse_template(doc)
    items = [{"image": "a.png", "name": "A", "price": 5}, {"image": "b.png", "name": "B"}]
    filled, origin = fill_template_traced(template, {"products": items})
    clips = filled["timeline"]["tracks"][0]["clips"]
    assert [c["asset"].get("src", c["asset"].get("color")) for c in clips] == [
        "black",
        "a.png",
        "red",
        "b.png",
    ]
    assert (
        origin("/timeline/tracks/0/clips/3/asset/src") == "/edit/timeline/tracks/0/clips/1/group/0/asset/src"
    )
    assert origin("/timeline/tracks/0/clips/2/length") == "/edit/timeline/tracks/0/clips/1/group/1/length"


def test_a_track_whose_clips_are_all_left_out_is_left_out() -> None:
    filled = fill_template(parse_template(slideshow()), {"products": products(1)})
    assert len(filled["timeline"]["tracks"]) == 2


def test_values_schema_accepts_good_values_and_refuses_bad_ones() -> None:
    schema = values_schema(parse_template(slideshow()))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = {
        "products": [{"image": "a.png", "name": {"$locales": {"fr": "Lampe"}}, "price": 3}],
        "seconds": "2s",
        "badge": "#ff0000",
    }
    assert list(validator.iter_errors(good)) == []
    bad = {"products": [{"name": 3}], "show_price": "yes", "extra": 1}
    messages = " ".join(e.message for e in validator.iter_errors(bad))
    assert "'image' is a required property" in messages and "'yes' is not of type 'boolean'" in messages
    assert "Additional properties" in messages
    assert schema["properties"]["products"]["minItems"] == 1
    assert schema["required"] == []


# --------------------------------------------------------------------------- limits and edge cases


def one_text(variables: list[dict[str, Any]], clips: list[Any] | None = None) -> dict[str, Any]:
    """A template of one track holding ``clips`` (default one text clip of {{t}})."""
    clips = clips or [{"asset": {"type": "text", "text": "{{t}}"}, "length": 1}]
    return {
        "edit": {
            "timeline": {"tracks": [{"clips": clips}]},
            "outputs": [{"width": 160, "height": 90, "fps": 10, "quality": "draft", "audio": False}],
        },
        "variables": variables,
    }


def test_a_pattern_matches_in_linear_time_and_one_re2_cannot_run_is_refused_at_save() -> None:
    import time

    template = parse_template(one_text([{"name": "t", "type": "text", "validation": {"pattern": "^(a+)+$"}}]))
    started = time.monotonic()
    with pytest.raises(EditError) as info:
        fill_template(template, {"t": "a" * 30 + "!"})  # Python's re backtracks for minutes on this
    assert time.monotonic() - started < 0.5
    assert problems(info)["/values/t"].startswith("t: 'aaaa")
    assert (
        fill_template(template, {"t": "aaa"})["timeline"]["tracks"][0]["clips"][0]["asset"]["text"] == "aaa"
    )
    with pytest.raises(EditError) as info:
        parse_template(
            one_text(
                [
                    {"name": "t", "type": "text", "validation": {"pattern": r"^(a)\1$"}},
                    {"name": "u", "type": "text", "validation": {"pattern": "(?=x)"}},
                ]
            )
        )
    found = problems(info)
    assert set(found) == {"/variables/0/validation/pattern", "/variables/1/validation/pattern"}
    assert "backreferences and lookaround are not supported" in found["/variables/0/validation/pattern"]


def nested_repeats(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"asset": {"type": "text", "text": "x"}, "length": 0.1}
    for alias in "abcdefgh"[:levels]:
        node = {"repeat": {"for": "p", "as": alias}, "group": [node]}
    return one_text([{"name": "p", "type": "list", "fields": [{"name": "x", "type": "text"}]}], [node])


def test_repeats_that_multiply_past_the_clip_limit_are_refused_at_the_list() -> None:
    template = parse_template(nested_repeats(4))
    assert len(fill_template(template, {"p": [{}] * 6})["timeline"]["tracks"][0]["clips"]) == 6**4
    with pytest.raises(EditError) as info:
        fill_template(template, {"p": [{}] * 10})  # 10,000 clips
    assert list(problems(info)) == ["/values/p"]
    assert f"more than {MAX_CLIPS} clips" in problems(info)["/values/p"]
    assert info.value.problems[0].code == "too_long"
    # A condition that leaves every copy out still bounds the work done.
    inner = {"asset": {"type": "text", "text": "x"}, "length": 0.1}
    doc = one_text(
        [{"name": "p", "type": "list", "fields": [{"name": "x", "type": "text"}]}],
        [
            {
                "repeat": {"for": "p", "as": "a"},
                "group": [{"repeat": {"for": "p", "as": "b"}, "if": "b.x", "group": [inner]}],
            },
            inner,
        ],
    )
    with pytest.raises(EditError) as info:
        fill_template(parse_template(doc), {"p": [{}] * 5000})
    assert list(problems(info)) == ["/values/p"]


def test_groups_nest_a_bounded_depth_and_deep_documents_are_refused_before_any_copy() -> None:
    parse_template(nested_repeats(MAX_GROUP_DEPTH))
    node: dict[str, Any] = {"asset": {"type": "color", "color": "red"}, "length": 1}
    for _ in range(MAX_GROUP_DEPTH + 1):
        node = {"group": [node]}
    with pytest.raises(EditError) as info:
        parse_template(one_text([], [node]))
    [(where, message)] = problems(info).items()
    assert where == "/edit/timeline/tracks/0/clips/0" + "/group/0" * MAX_GROUP_DEPTH + "/group"
    assert message == f"groups nest at most {MAX_GROUP_DEPTH} deep"
    for _ in range(400):  # deeper than copy.deepcopy and pydantic could follow
        node = {"group": [node]}
    with pytest.raises(EditError) as info:
        parse_template(one_text([], [node]))
    [problem] = info.value.problems
    assert problem.code == "too_deep" and problem.message == "nested more than 64 levels deep"


def test_numbers_huge_or_not_finite_are_refused_with_a_clear_message() -> None:
    template = parse_template(
        one_text(
            [
                {"name": "t", "type": "text"},
                {"name": "n", "type": "number"},
                {"name": "i", "type": "integer"},
                {"name": "d", "type": "duration"},
            ]
        )
    )
    with pytest.raises(EditError) as info:
        fill_template(template, {"n": 10**400, "i": -(10**20), "d": 10**400, "t": float("inf")})
    found = problems(info)
    assert found["/values/n"] == "n: too large: numbers are at most 1,000,000,000,000,000 in size"
    assert found["/values/i"].startswith("i: too large")
    assert found["/values/d"].startswith("d: too long")
    assert found["/values/t"] == "t: expected text, got a non-finite number (NaN or Infinity)"
    with pytest.raises(EditError) as info:
        fill_template(template, {"n": float("nan"), "i": float("inf")})
    assert problems(info) == {
        "/values/n": "n: not a finite number (NaN and Infinity are not numbers here)",
        "/values/i": "i: not a finite number (NaN and Infinity are not numbers here)",
    }
    assert fill_template(template, {"t": "x", "n": 10**15, "i": 7})["timeline"]["tracks"][0]["clips"][0]
    with pytest.raises(EditError) as info:
        parse_template(
            one_text(
                [
                    {"name": "t", "type": "text"},
                    {"name": "n", "type": "number", "validation": {"max": float("inf")}},
                    {"name": "m", "type": "number", "validation": {"enum": [1, float("nan")]}},
                ]
            )
        )
    assert problems(info) == {
        "/variables/1/validation/max": "Input should be a finite number",
        "/variables/2/validation/enum/1": "not a finite number",
    }


def test_a_repeated_clip_with_a_fixed_start_is_refused_at_save() -> None:
    variables = [{"name": "p", "type": "list", "fields": [{"name": "at", "type": "duration"}]}]
    clip = {"asset": {"type": "color", "color": "red"}, "length": 1}
    with pytest.raises(EditError) as info:
        parse_template(
            one_text(
                variables,
                [
                    {**clip, "repeat": {"for": "p"}, "start": 0},
                    {"repeat": {"for": "p"}, "group": [{**clip, "start": 2}, clip]},
                ],
            )
        )
    found = problems(info)
    assert set(found) == {
        "/edit/timeline/tracks/0/clips/0/start",
        "/edit/timeline/tracks/0/clips/1/group/0/start",
    }
    assert found["/edit/timeline/tracks/0/clips/0/start"].startswith(
        "a repeated clip's copies follow each other"
    )
    # "auto", or a start per item, is fine; so is a fixed start outside any repeat.
    template = parse_template(
        one_text(
            variables,
            [
                {**clip, "start": 0},
                {**clip, "repeat": {"for": "p"}},
                {**clip, "repeat": {"for": "p"}, "start": "{{item.at}}"},
            ],
        )
    )
    clips = parse_edit(fill_template(template, {"p": [{"at": 5}, {"at": 7}]})).timeline.tracks[0].clips
    assert [c.start for c in clips] == [0, "auto", "auto", 5, 7]


def test_many_unknown_value_names_are_summarised_quickly() -> None:
    import time

    template = parse_template(
        one_text(
            [{"name": f"variable_{i}", "type": "text"} for i in range(200)],
            [{"asset": {"type": "text", "text": "{{variable_0}}"}, "length": 1}],
        )
    )
    started = time.monotonic()
    with pytest.raises(EditError) as info:
        fill_template(template, {f"variabl_{i:05d}": 1 for i in range(2000)})
    assert time.monotonic() - started < 1
    assert len(info.value.problems) == 21
    assert "did you mean" in info.value.problems[0].message
    assert info.value.problems[-1].pointer == "/values"
    assert info.value.problems[-1].message.startswith("1980 more unknown variables (variabl_00020, ")


def test_a_locale_with_a_trailing_newline_is_no_locale() -> None:
    template = parse_template(
        {**one_text([{"name": "t", "type": "text", "localizable": True}]), "locales": ["en", "fr"]}
    )
    with pytest.raises(EditError) as info:
        fill_template(template, {"t": {"$locales": {"en\n": "x"}}}, locale="en\n")
    found = problems(info)
    assert found["/locale"] == "'en\\n' is not a locale tag such as en, fr or pt-BR"
    assert "/values/t/$locales/en\n" in found
    with pytest.raises(EditError) as info:
        parse_template({**one_text([]), "locales": ["en\n"]})
    assert "/locales/0" in problems(info)


# --------------------------------------------------------------------------- real renders


@pytest.fixture
def workdir(tmp_path: Path, media: Any) -> Path:
    for name, colour in (("blue.png", "blue"), ("green.png", "green")):
        (tmp_path / name).write_bytes(media.image(color=colour, size=(160, 90)).read_bytes())
    return tmp_path


def render_template(
    workdir: Path,
    values: dict[str, Any],
    name: str,
    locale: str | None = None,
    document: dict[str, Any] | None = None,
) -> Path:
    filled = fill_template(parse_template(document or slideshow()), values, locale=locale)
    result = render_edit(parse_edit(filled), out_dir=workdir / "out", base_dir=workdir, name=name)
    return result.outputs[0].path


@pytest.mark.parametrize("count", [2, 3])
def test_the_video_length_follows_the_number_of_items(workdir: Path, count: int) -> None:
    path = render_template(workdir, {"products": products(count), "seconds": 0.5}, f"n{count}")
    assert probe(path).duration == pytest.approx(0.5 * count, abs=0.05)
    frames = video_frames(path)
    assert len(frames) == 5 * count


def test_a_condition_shows_and_hides_a_clip(workdir: Path) -> None:
    values: dict[str, Any] = {"products": products(1, "blue.png"), "seconds": 0.5, "text_color": "#00000000"}
    shown = video_frames(render_template(workdir, {**values, "show_price": True}, "shown"))
    hidden = video_frames(render_template(workdir, {**values, "show_price": False}, "hidden"))
    corner = (slice(2, 20), slice(2, 40))  # inside the top-left badge (30 % of 160x90)
    assert close(mean_rgb(shown[2][corner]), (255, 0, 0), tol=40)
    assert close(mean_rgb(hidden[2][corner]), (0, 0, 255), tol=40)
    # Elsewhere the picture is the same blue either way.
    assert close(mean_rgb(shown[2][60:80, 120:150]), (0, 0, 255), tol=40)


# --------------------------------------------------------------------------- right to left, by locale

SRT = "1\n00:00:00,000 --> 00:00:01,000\n{text}\n"
# A short first word and a long second one (letters that all join, so the space is the widest gap):
# right to left puts the short word on the right, so the gap lies right of the middle.
ARABIC = "بيت مستقبلكم"
LATIN = "abc defghijklmnop"


def captions_template() -> dict[str, Any]:
    return {
        "edit": {
            "timeline": {
                "tracks": [
                    {"clips": [{"asset": {"type": "color", "color": "black"}, "length": 1}]},
                    {
                        "clips": [
                            {
                                "asset": {
                                    "type": "caption",
                                    "src": "{{captions}}",
                                    "style": {"size": 0.12, "position": "center", "outline": 0},
                                }
                            }
                        ]
                    },
                ]
            },
            "outputs": [{"width": 320, "height": 180, "fps": 10, "quality": "high", "audio": False}],
        },
        "variables": [
            {
                "name": "captions",
                "type": "asset",
                "kinds": ["subtitles"],
                "localizable": True,
                "required": True,
            }
        ],
        "locales": ["en", "ar"],
    }


def widest_gap_centre(frame: np.ndarray) -> tuple[float, float]:
    """The middle of the widest run of empty columns inside the text, and the text's middle."""
    ink = frame.max(axis=2) > 100
    columns = np.flatnonzero(ink.any(axis=0))
    x0, x1 = int(columns[0]), int(columns[-1])
    best, best_at, run_start = 0, 0.0, None
    for x in range(x0, x1 + 1):
        if not ink[:, x].any():
            run_start = x if run_start is None else run_start
            if x - run_start + 1 > best:
                best, best_at = x - run_start + 1, (run_start + x) / 2
        else:
            run_start = None
    assert best >= 3, "no space between the words"
    return best_at, (x0 + x1) / 2


def test_an_arabic_caption_file_chosen_by_locale_renders_right_to_left(workdir: Path) -> None:
    (workdir / "en.srt").write_text(SRT.format(text=LATIN), encoding="utf-8")
    (workdir / "ar.srt").write_text(SRT.format(text=ARABIC), encoding="utf-8")
    values = {"captions": {"$locales": {"en": "en.srt", "ar": "ar.srt"}}}
    arabic = video_frames(render_template(workdir, values, "ar", "ar", captions_template()))[5]
    latin = video_frames(render_template(workdir, values, "en", "en", captions_template()))[5]
    gap, middle = widest_gap_centre(arabic)
    assert gap > middle + 5  # the first (short) word is on the right
    gap, middle = widest_gap_centre(latin)
    assert gap < middle - 5  # control: left to right puts it on the left


def dominant_hz(samples: np.ndarray, rate: int = 48000) -> float:
    mono = samples.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[int(spectrum.argmax())])


def test_a_voice_over_per_locale_plays_the_locales_file(workdir: Path, media: Any) -> None:
    from frames import audio_samples

    for name, hz in (("voice-en.wav", 440), ("voice-fr.wav", 880)):
        (workdir / name).write_bytes(media.audio(tone_hz=hz, duration=1).read_bytes())
    document = {
        "edit": {
            "timeline": {
                "tracks": [
                    {"clips": [{"asset": {"type": "color", "color": "black"}, "length": 1}]},
                    {"clips": [{"asset": {"type": "audio", "src": "{{voice}}", "role": "voice"}}]},
                ]
            },
            "outputs": [{"format": "wav"}],
        },
        "variables": [
            {"name": "voice", "type": "asset", "kinds": ["audio"], "localizable": True, "required": True}
        ],
        "locales": ["en", "fr"],
    }
    values = {"voice": {"$locales": {"en": "voice-en.wav", "fr": "voice-fr.wav"}}}
    french = audio_samples(render_template(workdir, values, "voice-fr", "fr", document))
    english = audio_samples(render_template(workdir, values, "voice-en", "en", document))
    assert dominant_hz(french[4800:43200]) == pytest.approx(880, abs=5)
    assert dominant_hz(english[4800:43200]) == pytest.approx(440, abs=5)


def test_per_locale_values_without_the_locale_say_so() -> None:
    doc = slideshow()
    doc.pop("locales")
    doc.pop("default_locale")
    template = parse_template(doc)
    values = {"products": [{"image": "a.png", "name": {"$locales": {"fr": "Lampe"}}}]}
    with pytest.raises(EditError) as info:
        fill_template(template, values, locale="de")
    assert problems(info) == {
        "/values/products/0/name": "products[0].name: no value for the locale 'de'; given for fr"
    }
    assert (
        fill_template(template, values, locale="fr-CA")["timeline"]["tracks"][1]["clips"][0]["asset"]["text"]
        == "1. Lampe"
    )


# --------------------------------------------------------------------------- the command line


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400"}  # one problem per line
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_cli_renders_a_template_with_vars_and_locale(workdir: Path) -> None:
    doc = slideshow()
    doc["edit"]["timeline"]["tracks"][1]["clips"][0]["asset"]["text"] = "{{item.name}}"
    template = workdir / "slideshow.json"
    template.write_text(json.dumps(doc), encoding="utf-8")
    values = workdir / "values.json"
    values.write_text(
        json.dumps(
            {
                "products": [
                    {"image": "blue.png", "name": {"$locales": {"en": "Lamp", "fr": "Lampe"}}},
                    {"image": "green.png", "name": {"$locales": {"en": "Chair", "fr": "Chaise"}}},
                ],
                "seconds": 0.5,
            }
        )
    )
    proc = run(
        "render", str(template), "--vars", str(values), "--locale", "fr", "-o", str(workdir / "cli"), "-q"
    )
    assert proc.returncode == 0, proc.stderr
    out = workdir / "cli" / "slideshow.mp4"
    assert probe(out).duration == pytest.approx(1.0, abs=0.05)
    frames = video_frames(out)
    assert close(mean_rgb(frames[2][5:20, 5:30]), (0, 0, 255), tol=40)
    assert close(mean_rgb(frames[7][5:20, 5:30]), (0, 128, 0), tol=40)
    proc = run("plan", str(template), "--vars", str(values), "--locale", "fr", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["timelines"]["10/1"]["frames"] == 10
    proc = run("validate", str(template), "--vars", str(values), "--locale", "fr")
    assert proc.returncode == 0 and "valid" in proc.stdout


def run_here(*args: str) -> Any:
    """The command in this process (no interpreter start-up): exit code and output."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})


def test_cli_reports_bad_values_and_template_problems(workdir: Path) -> None:
    template = workdir / "slideshow.json"
    template.write_text(json.dumps(slideshow()), encoding="utf-8")
    values = workdir / "bad.json"
    values.write_text(
        json.dumps(
            {
                "products": [{"image": "missing.png", "name": "A"}, {"image": "en.srt"}],
                "badge": "nope",
                "extra": 1,
            }
        )
    )
    (workdir / "en.srt").write_text(SRT.format(text="hi"), encoding="utf-8")
    proc = run_here("validate", str(template), "--vars", str(values))
    assert proc.exit_code == 2 and "Traceback" not in proc.output
    for expected in (
        "/values/products/0/image",
        "products[0].image: no asset missing.png",
        "/values/products/1/image",
        "products[1].image: en.srt is a subtitles asset; this variable takes image",
        "/values/products/1/name",
        "/values/badge",
        "/values/extra",
    ):
        assert expected in proc.output, (expected, proc.output)
    good = workdir / "good.json"
    good.write_text(json.dumps({"products": products(1)}))
    proc = run_here("render", str(template), "--locale", "de", "--vars", str(good))
    assert (
        proc.exit_code == 2 and "/locale: the template has no locale 'de' (it has en, fr, ar)" in proc.output
    )
    broken = copy.deepcopy(slideshow())
    broken["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["src"] = "{{photo}}"
    template.write_text(json.dumps(broken), encoding="utf-8")
    proc = run_here("validate", str(template))
    assert proc.exit_code == 2 and "/edit/timeline/tracks/0/clips/0/asset/src" in proc.output
    edit = workdir / "edit.json"
    edit.write_text(
        json.dumps(
            {"timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]}}
        )
    )
    proc = run_here("validate", str(edit), "--locale", "fr")
    assert proc.exit_code == 2 and "not a template" in proc.output


def test_the_example_template_plans_from_the_cli() -> None:
    subprocess.run([sys.executable, str(EXAMPLES / "make_media.py")], check=True, capture_output=True)
    proc = run(
        "plan",
        str(EXAMPLES / "product-template.json"),
        "--vars",
        str(EXAMPLES / "product-template.vars.json"),
        "--locale",
        "fr",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    # The title card, then three products of 2.5 s each.
    assert plan["duration"] == pytest.approx(2 + 3 * 2.5, abs=0.01)
    assert len(plan["outputs"]) == 2


# --------------------------------------------------------------------------- the documentation's claims

DOC = Path(__file__).resolve().parent.parent / "docs" / "edit-format.md"


def doc_block(marker: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(marker)
    body = text[start:].split("```", 2)[1]
    return body.split("\n", 1)[1]


def test_the_documented_template_lasts_as_the_document_says() -> None:
    from fractions import Fraction

    from reelforge.edit.timeline import resolve_timeline

    template = parse_template(json.loads(doc_block("<!-- template -->")))
    values = json.loads(doc_block("<!-- values -->"))
    edit = parse_edit(fill_template(template, values, locale="fr"))
    assert resolve_timeline(edit, Fraction(30)).duration == 11
    assert len(edit.timeline.tracks) == 2  # no sale badge
    assert edit.timeline.tracks[1].clips[1].asset.text == "1. Lampe Couchant · €49"  # type: ignore[union-attr]
    values["products"] = values["products"] + values["products"][:2]
    assert resolve_timeline(parse_edit(fill_template(template, values)), Fraction(30)).duration == 17


def test_the_documented_problems_are_what_the_cli_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "template.json").write_text(doc_block("<!-- template -->"), encoding="utf-8")
    (tmp_path / "values.json").write_text(json.dumps({"products": [{"name": 7}], "colour": "red"}))
    monkeypatch.chdir(tmp_path)
    result = run_here("validate", "template.json", "--vars", "values.json")
    assert result.exit_code == 2
    text = DOC.read_text(encoding="utf-8")
    start = text.index("```text\ntemplate.json with values.json") + len("```text\n")
    shown = text[start : text.index("```", start)].strip()
    assert result.output.strip() == shown
