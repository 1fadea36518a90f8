"""Filling a template with values: the values are checked against the variables (every
problem at once, at ``/values/<name>``), then the edit is expanded into the merged edit
document, which the caller validates like any edit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from .errors import EditError, Problem, pointer
from .models import Edit
from .template_expand import Context, TooManyClips, as_text, expand, to_template_pointer
from .template_model import LOCALE_RE, AssetFacts, Template
from .template_values import check_locale_tags, check_record, is_number, locale_chain

# --------------------------------------------------------------------------- filling


def fill_template(
    template: Template,
    values: Mapping[str, Any],
    *,
    locale: str | None = None,
    asset_info: Callable[[str], AssetFacts | None] | None = None,
) -> dict[str, Any]:
    """The edit document for ``values`` in ``locale``; raise :class:`EditError` listing every
    problem in the values, each at ``/values/<name>[/<index>/<field>]`` naming the variable.

    ``{{brand.*}}`` placeholders are kept as written. ``asset_info`` looks
    an asset reference up (kind, width, height) to check asset variables' kinds and resolution;
    without it, asset values are only checked to be references.
    """
    edit, _ = fill_template_traced(template, values, locale=locale, asset_info=asset_info)
    return edit


def fill_template_traced(
    template: Template,
    values: Mapping[str, Any],
    *,
    locale: str | None = None,
    asset_info: Callable[[str], AssetFacts | None] | None = None,
) -> tuple[dict[str, Any], Callable[[str], str]]:
    """:func:`fill_template`, and a function taking a pointer into the filled edit (a problem
    found when validating it) to the pointer in the template it comes from
    (``/timeline/tracks/1/clips/3/asset/text`` -> ``/edit/timeline/tracks/1/clips/0/group/1/asset/text``)."""
    problems: list[Problem] = []
    if not isinstance(values, Mapping):
        raise EditError(
            [Problem("/values", "values are a JSON object of variable name: value", "wrong_type")]
        )
    if locale is not None:
        if not isinstance(locale, str) or not LOCALE_RE.fullmatch(locale):
            problems.append(
                Problem(
                    "/locale", f"{locale!r} is not a locale tag such as en, fr or pt-BR", "invalid_locale"
                )
            )
            locale = None
        elif template.locales and not any(tag in template.locales for tag in locale_chain(locale, None)):
            problems.append(
                Problem(
                    "/locale",
                    f"the template has no locale {locale!r} (it has {', '.join(template.locales)})",
                    "unknown_locale",
                )
            )
    locale_used = locale or template.default_locale
    check_locale_tags(template, values, ("values",), problems)
    checked = check_record(
        template.variables,
        values,
        ("values",),
        "",
        locale_used,
        template.default_locale,
        asset_info,
        problems,
        check_assets=True,
    )
    if problems:
        raise EditError(problems)
    checked["locale"] = locale_used
    context = Context(checked)
    try:
        edit, origins = expand(template, context)
    except TooManyClips as exc:
        raise EditError(
            [
                Problem(
                    pointer("values", exc.list_name),
                    f"{exc.list_name}: with these items the repeats make {exc.what} in one edit; "
                    "give fewer items (or split them over several renders)",
                    "too_long",
                )
            ]
        ) from None
    if context.budget.problems:
        raise EditError(context.budget.problems)
    return _numbers_as_text(edit), lambda ptr: to_template_pointer(ptr, origins)


def _numbers_as_text(edit: dict[str, Any]) -> dict[str, Any]:
    """``"text": "{{price}}"`` with a number: where the edit takes text, the number is written as
    text (a whole-string placeholder keeps its type everywhere else)."""
    try:
        Edit.model_validate(edit)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            if err["type"] != "string_type" or not (
                is_number(err["input"]) or isinstance(err["input"], bool)
            ):
                continue
            parent: Any = edit
            where = tuple(err["loc"])
            # The discriminated union puts the asset's type in the location, after "asset".
            loc = [
                part
                for i, part in enumerate(where)
                if not (i > 0 and where[i - 1] == "asset" and part in _ASSET_TAGS)
            ]
            try:
                for part in loc[:-1]:
                    parent = parent[part]
                if parent[loc[-1]] is err["input"]:
                    parent[loc[-1]] = as_text(err["input"])
            except (KeyError, IndexError, TypeError):
                continue
    return edit


_ASSET_TAGS = ("video", "image", "audio", "text", "caption", "color", "shape")
