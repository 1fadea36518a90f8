"""Checks every request's parameters share, whatever the route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema

from reelforge.jobs.queue import PRIORITIES

from .problems import ApiError

__all__ = ["CampaignTags", "Priority", "Tag", "refuse_nul_characters"]

Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
"""A tag, as assets and batches take them: 1-100 characters, no control characters."""


def _unique(value: list[str]) -> list[str]:
    seen = [v for i, v in enumerate(value) if v in value[:i]]
    if seen:
        raise ValueError(f"given more than once: {', '.join(sorted(set(seen)))}")
    return value


CampaignTags = Annotated[list[Tag], Field(default_factory=list, max_length=20), AfterValidator(_unique)]
"""Campaign tags of a render, as a batch takes them (at most 20, each once): analytics groups
renders by them (``GET /v1/analytics/renders?group_by=tag``)."""


def _priority_value(value: object) -> object:
    if isinstance(value, str) and value in PRIORITIES:
        return PRIORITIES[value]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a priority is high, normal, low or an integer from -100 to 100")
    return value


Priority = Annotated[
    int,
    Field(ge=-100, le=100),
    BeforeValidator(_priority_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": list(PRIORITIES)},
                {"type": "integer", "minimum": -100, "maximum": 100},
            ],
            "default": "normal",
        }
    ),
]
"""A render's priority: ``high`` (10), ``normal`` (0, the default), ``low`` (-10) or an integer
from -100 to 100. Within a workspace, queued renders start by priority, then in creation order;
across workspaces, fairness comes first (the workspaces running fewest renders)."""


def refuse_nul_characters(request: Request) -> None:
    """A 422 naming the parameter for a NUL character (``%00``) in a path or query parameter.

    No identifier, name or filter holds one, and PostgreSQL cannot even compare text holding
    one: without this check such a request would fail inside the database."""
    found = [("path", k) for k, v in request.path_params.items() if isinstance(v, str) and "\x00" in v]
    found += [("query", k) for k, v in request.query_params.multi_items() if "\x00" in v or "\x00" in k]
    if not found:
        return
    where, name = found[0]
    raise ApiError(
        "validation-error",
        f"the {where} parameter `{name}` contains a NUL character",
        errors=[{"parameter": name, "code": "nul", "detail": "NUL characters (%00) are not allowed"}],
    )
