"""Exceptions of the SDK: one class per HTTP status the API answers with a problem
(``application/problem+json``), carrying the problem, its stable ``code``, its located
``errors`` and the ``request_id`` to quote to an operator; and the failures to reach the server
at all (:class:`APIConnectionError`, :class:`APITimeoutError`)."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "GoneError",
    "InternalServerError",
    "LockedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "ReelforgeError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "error_for",
]


class ReelforgeError(Exception):
    """Every error the SDK raises."""


class APIConnectionError(ReelforgeError):
    """The server could not be reached, or the connection broke, after every retry."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout, after every retry."""


class APIStatusError(ReelforgeError):
    """The server answered with an error status; ``problem`` is its problem+json body."""

    status_code: int = 0

    def __init__(self, status_code: int, problem: dict[str, Any], headers: httpx.Headers | None = None):
        self.status_code = status_code
        self.problem = problem
        self.headers = headers if headers is not None else httpx.Headers()
        self.code: str | None = problem.get("code")
        self.request_id: str | None = problem.get("request_id") or self.headers.get("x-request-id")
        self.errors: list[dict[str, Any]] = list(problem.get("errors") or [])
        detail = problem.get("detail") or problem.get("title") or f"HTTP {status_code}"
        located = "; ".join(
            f"{e.get('pointer') or e.get('header') or e.get('parameter') or ''}: {e.get('detail')}"
            for e in self.errors
        )
        text = f"{status_code} {self.code or 'error'}: {detail}"
        if located:
            text += f" ({located})"
        if self.request_id:
            text += f" [request {self.request_id}]"
        super().__init__(text)

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or "")


class BadRequestError(APIStatusError):
    """400: the request is malformed (``invalid-json``, ``idempotency-key-invalid``...)."""


class AuthenticationError(APIStatusError):
    """401: no credential, or one that is unknown, revoked or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the credential lacks a scope, or a workspace quota is used up."""


class NotFoundError(APIStatusError):
    """404: no such resource in this workspace."""


class ConflictError(APIStatusError):
    """409: the resource's state does not allow this (or the same idempotency key is in use)."""


class GoneError(APIStatusError):
    """410: the resource existed and is gone (an expired upload, a deleted output)."""


class PreconditionFailedError(APIStatusError):
    """412: ``If-Match`` named a version that is no longer current."""


class PayloadTooLargeError(APIStatusError):
    """413: the body or file is larger than the server accepts."""


class UnsupportedMediaTypeError(APIStatusError):
    """415: the body's content type is not one the route reads."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but invalid; ``errors`` locate each problem."""


class LockedError(APIStatusError):
    """423: another request still holds the resource (a tus upload being appended to)."""


class RateLimitError(APIStatusError):
    """429: a rate limit was hit; ``retry_after`` is the server's advice, in seconds."""

    @property
    def retry_after(self) -> float | None:
        try:
            return float(self.headers["retry-after"])
        except (KeyError, ValueError):
            return None


class InternalServerError(APIStatusError):
    """5xx: the server failed (``request_id`` finds it in the server's log)."""


class ServiceUnavailableError(InternalServerError):
    """502, 503, 504: the server or a proxy in front of it is unavailable for now."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableEntityError,
    423: LockedError,
    429: RateLimitError,
    502: ServiceUnavailableError,
    503: ServiceUnavailableError,
    504: ServiceUnavailableError,
}


def error_for(response: httpx.Response) -> APIStatusError:
    """The typed exception of an error response (its body read as a problem when it is one)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    problem: dict[str, Any] = (
        body if isinstance(body, dict) else {"detail": response.text[:500] or f"HTTP {response.status_code}"}
    )
    status = response.status_code
    kind = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return kind(status, problem, response.headers)
