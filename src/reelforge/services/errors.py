"""Domain errors: what an operation refuses, in the service's words, with no HTTP in them.

Every error names a problem type by its stable ``code`` (the slug of the API's problem catalogue,
which maps each code to an HTTP status in one place, ``reelforge.api.problems``). ``errors``
lists located problems (``pointer`` into a document, ``parameter``, ``field``); ``extra`` members
travel with the error as they are (``current_revision``, ``limit``...). The CLI prints them; the
API answers them as RFC 9457 problem details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "PreconditionFailed",
    "PreconditionRequired",
    "ServiceError",
    "TooLarge",
    "Unavailable",
]


class ServiceError(Exception):
    """An operation refused; ``code`` is the problem type (a class's default, or given)."""

    default_code: ClassVar[str] = "conflict"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.code = code or self.default_code
        self.detail = detail
        self.errors = [dict(e) for e in errors] if errors else None
        self.extra = extra


class NotFound(ServiceError):
    """The resource does not exist in the caller's workspace (another workspace's row included)."""

    default_code = "not-found"


class Conflict(ServiceError):
    """The resource's state does not allow the operation now (a render already finished...)."""

    default_code = "conflict"


class Invalid(ServiceError):
    """The input is not valid; ``code`` says which kind (``edit-invalid``, ``values-invalid``...)."""

    default_code = "validation-error"


class Forbidden(ServiceError):
    default_code = "forbidden"


class PreconditionFailed(ServiceError):
    """The caller's revision or ETag is not the current one; ``etag`` is the current one (the
    API sends it as the ``ETag`` header, so a client can retry without another read)."""

    default_code = "precondition-failed"

    def __init__(self, detail: str, *, etag: str | None = None, **kwargs: Any):
        super().__init__(detail, **kwargs)
        self.etag = etag


class PreconditionRequired(ServiceError):
    default_code = "precondition-required"


class TooLarge(ServiceError):
    default_code = "content-too-large"


class Unavailable(ServiceError):
    """Something the service depends on (the object store) did not answer; try again later."""

    default_code = "temporary-reduced-capacity"
