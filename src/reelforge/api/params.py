"""Checks every request's parameters share, whatever the route."""

from __future__ import annotations

from fastapi import Request

from .problems import ApiError

__all__ = ["refuse_nul_characters"]


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
