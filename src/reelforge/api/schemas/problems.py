"""RFC 9457 problem details, the body of every error."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Problem", "ProblemError"]


class ProblemError(BaseModel):
    """One thing wrong, located by a JSON Pointer into the body, a query parameter or a header."""

    model_config = ConfigDict(extra="allow")

    pointer: str | None = None
    parameter: str | None = None
    header: str | None = None
    detail: str | None = None
    code: str | None = None


class Problem(BaseModel):
    """An error (``application/problem+json``); ``code`` is the type's stable slug (catalogue in
    docs/api.md). Some types add members (``max_bytes``, ``required_scope``, ``renders``...)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str = Field(description="The type's stable slug (catalogue in docs/api.md).")
    request_id: str
    errors: list[ProblemError] | None = None
