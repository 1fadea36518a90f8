"""Locale-aware formatting filters in template placeholders: numbers, money, percentages and
dates written the way the render's locale writes them, and precise errors for a wrong filter."""

from __future__ import annotations

from typing import Any

import pytest

from reelforge.edit.errors import EditError
from reelforge.edit.templates import fill_template, parse_template
from reelforge.edit.variables import substitute

NBSP, NNBSP = "\u00a0", "\u202f"


def price_card(text: str) -> dict[str, Any]:
    return {
        "edit": {
            "timeline": {
                "tracks": [
                    {
                        "clips": [
                            {"asset": {"type": "text", "text": "Sale"}, "length": 1},
                            {
                                "repeat": {"for": "products"},
                                "asset": {"type": "text", "text": text},
                                "length": 1,
                            },
                        ]
                    }
                ]
            },
            "outputs": [{"width": 320, "height": 180}],
        },
        "variables": [
            {"name": "price", "type": "number", "default": 12.5},
            {"name": "visitors", "type": "integer", "default": 1234567},
            {"name": "share", "type": "number", "default": 0.256},
            {"name": "launch", "type": "text", "default": "2026-03-01"},
            {"name": "label", "type": "text", "default": "x"},
            {
                "name": "products",
                "type": "list",
                "default": [{"name": "Lamp", "cost": 9.99}],
                "fields": [{"name": "name", "type": "text"}, {"name": "cost", "type": "number"}],
            },
        ],
        "locales": ["en", "fr", "de"],
        "default_locale": "en",
    }


def filled(text: str, locale: str | None, values: dict[str, Any] | None = None) -> str:
    edit = fill_template(parse_template(price_card(text)), values or {}, locale=locale)
    return str(edit["timeline"]["tracks"][0]["clips"][1]["asset"]["text"])


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ('{{price | currency("EUR")}}', "en", "€12.50"),
        ('{{price | currency("EUR")}}', "fr", f"12,50{NBSP}€"),
        ('{{price | currency("EUR")}}', "de", f"12,50{NBSP}€"),
        ('{{price | currency("USD")}}', None, "$12.50"),  # the template's default locale
        ("{{visitors | number}}", "en", "1,234,567"),
        ("{{visitors | number}}", "fr", f"1{NNBSP}234{NNBSP}567"),
        ("{{price | number(2)}}", "de", "12,50"),
        ("{{share | percent}}", "en", "26%"),
        ("{{share | percent(1)}}", "fr", f"25,6{NBSP}%"),
        ('{{launch | date("long")}}', "en", "March 1, 2026"),
        ('{{launch | date("long")}}', "fr", "1 mars 2026"),
        ("{{launch | date}}", "de", "01.03.2026"),
        (
            'Now {{ price|currency("EUR") }} only, {{share | percent}} off',
            "fr",
            f"Now 12,50{NBSP}€ only, 26{NBSP}% off",
        ),
        ('{{item.name}}: {{item.cost | currency("EUR")}}', "en", "Lamp: €9.99"),
    ],
)
def test_filters_format_by_the_render_locale(text: str, locale: str | None, expected: str) -> None:
    assert filled(text, locale) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{price | money}}", "unknown filter 'money'; the filters are number, currency, percent, date"),
        ("{{price | currency}}", 'currency takes one argument: the currency code, e.g. currency("EUR")'),
        ('{{price | currency("EURO")}}', "'EURO' is not an ISO 4217 currency code such as EUR, USD or JPY"),
        ("{{price | currency(EUR)}}", "the arguments of currency are not understood"),
        ("{{price | number(12)}}", "number takes at most one argument: the decimals, 0 to 6"),
        ('{{launch | date("longest")}}', "date takes at most one argument: the style, one of short"),
        ('{{label | currency("EUR")}}', "currency formats a number; this is a text variable"),
        ("{{price | date}}", "date formats a date written as text (2026-03-01); this is a number variable"),
        ("{{item.name | percent}}", "percent formats a number; this is a text variable"),
        ("{{price | number | percent}}", "one filter per placeholder"),
    ],
)
def test_a_wrong_filter_is_refused_when_the_template_is_saved(text: str, message: str) -> None:
    with pytest.raises(EditError) as info:
        parse_template(price_card(text))
    found = {p.pointer: p.message for p in info.value.problems}
    assert list(found) == ["/edit/timeline/tracks/0/clips/1/asset/text"], found
    assert message in found["/edit/timeline/tracks/0/clips/1/asset/text"]
    assert info.value.problems[0].code == "invalid_filter"


def test_a_value_a_filter_cannot_format_is_reported_where_the_placeholder_is() -> None:
    template = parse_template(price_card('{{launch | date("long")}}'))
    with pytest.raises(EditError) as info:
        fill_template(template, {"launch": "next tuesday"}, locale="en")
    assert [(p.pointer, p.message) for p in info.value.problems] == [
        (
            "/edit/timeline/tracks/0/clips/1/asset/text",
            '{{launch | date("long")}}: date formats an ISO date such as 2026-03-01, got "next tuesday"',
        )
    ]


def test_filters_in_a_plain_edit_use_english() -> None:
    doc = {"a": '{{p | currency("EUR")}}', "b": "{{n | number(1)}} km"}
    assert substitute(doc, {"p": 3, "n": 1234.56}) == {"a": "€3.00", "b": "1,234.6 km"}
    with pytest.raises(EditError) as info:
        substitute({"x": ["{{p | percent}}"]}, {"p": "many"})
    assert [(p.pointer, p.message) for p in info.value.problems] == [
        ("/x/0", '{{p | percent}}: percent formats a number, got "many"')
    ]
