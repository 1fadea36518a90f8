"""The base of every request body the service takes: unknown fields are refused (a typo is an
error, not a silent default), and no text field holds a NUL character.

PostgreSQL's text columns cannot store NUL, so a name or message holding one would fail at the
database; refused here, it is a 422 naming the field like any other bad value. Free-form JSON
(an edit, metadata, template values) is stored as JSON and keeps what it holds: only fields
typed as text, and the text directly inside a list or mapping field (its items, keys and values:
a brand kit's logo names and asset ids), are checked.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["InputModel"]


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, dict):
            texts: Any = [*value.keys(), *value.values()]
        else:
            texts = value if isinstance(value, list | tuple | set | frozenset) else (value,)
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("text must not contain a NUL character (U+0000)")
        return value
