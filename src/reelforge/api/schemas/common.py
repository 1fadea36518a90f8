"""What every resource shares: the base model, list envelopes, references."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["JSONObject", "Out", "Page", "ResourceRef"]

JSONObject = dict[str, Any]
"""A JSON object of the client's own (metadata) or of another language (an edit)."""


class Out(BaseModel):
    """A response body. Unknown members are allowed: a client must ignore fields added later."""

    model_config = ConfigDict(extra="allow")


class Page(Out):
    """A page of a list, newest first; pass ``next_cursor`` as ``cursor`` for the next one.
    Subclasses type ``data``."""

    object: Literal["list"]
    data: list[Any]
    has_more: bool
    next_cursor: str | None = None
    url: str


class ResourceRef(Out):
    """A resource named by its type and id (``{"type": "render", "id": "rnd_…"}``)."""

    type: str
    id: str | None = None
