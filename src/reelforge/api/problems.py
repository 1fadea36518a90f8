"""RFC 9457 problem details for every error the API returns.

Each problem type has a stable slug (its ``code``), a documentation URL as its ``type`` and a
fixed title; ``detail`` says what went wrong this time, and ``errors`` lists located problems
(``pointer`` into the body, ``parameter`` for query/path, ``header``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from reelforge.services.errors import PreconditionFailed, ServiceError

__all__ = ["CATALOGUE", "ApiError", "install_problem_handlers", "problem_response"]

log = logging.getLogger("reelforge.api")

PROBLEM_BASE = "https://reelforge.dev/problems/"

# slug -> (status, title). A published type never changes meaning.
CATALOGUE: dict[str, tuple[int, str]] = {
    "invalid-request": (400, "The request is malformed."),
    "invalid-json": (400, "The body is not valid JSON."),
    "invalid-cursor": (400, "The pagination cursor is not valid for this list."),
    "idempotency-key-invalid": (400, "The Idempotency-Key header is not valid."),
    "unauthenticated": (401, "Authentication is required."),
    "forbidden": (403, "You are not allowed to do this."),
    "insufficient-scope": (403, "The credential lacks a required scope."),
    "not-found": (404, "The resource does not exist."),
    "method-not-allowed": (405, "The method is not allowed on this resource."),
    "conflict": (409, "The request conflicts with the resource's state."),
    "upload-offset-mismatch": (409, "Upload-Offset is not the upload's current offset."),
    "upload-gone": (410, "The upload expired or was terminated."),
    "tus-version-unsupported": (412, "The Tus-Resumable version is not supported."),
    "idempotency-request-in-progress": (409, "A request with this idempotency key is still in progress."),
    "precondition-failed": (412, "The resource changed since you read it."),
    "content-too-large": (413, "The body is larger than allowed."),
    "unsupported-media-type": (415, "The content type is not supported here."),
    "range-not-satisfiable": (416, "The requested range is outside the file."),
    "validation-error": (422, "Your request is not valid."),
    "idempotency-key-reused": (422, "The idempotency key was used for a different request."),
    "edit-invalid": (422, "The edit is not valid."),
    "template-invalid": (422, "The template is not valid."),
    "values-invalid": (422, "The values do not fit the template's variables."),
    "compliance-failed": (422, "The edit breaks its brand kit's rules."),
    "unapproved-media": (422, "A render for publication names media that is not approved."),
    "media-unsupported": (422, "The file is not media Reelforge can use."),
    "url-not-allowed": (422, "The URL is not allowed."),
    "import-failed": (422, "The URL could not be imported."),
    "url-not-imported": (422, "A dry run imports nothing and a URL in the edit was never imported."),
    "upload-locked": (423, "Another request is appending to this upload."),
    "limit-exceeded": (422, "The request asks for more work than the workspace's limits allow."),
    "quota-exceeded": (403, "The workspace's storage quota (bytes or assets) would be exceeded."),
    "precondition-required": (428, "This request must be conditional (If-Match)."),
    "rate-limited": (429, "Too many requests."),
    "checksum-mismatch": (460, "The body does not match its Upload-Checksum."),
    "render-budget-exhausted": (429, "The workspace has used its render seconds for today."),
    "internal-error": (500, "An unexpected error occurred."),
    "temporary-reduced-capacity": (503, "The service is temporarily unable to handle the request."),
}

PROBLEM_JSON = "application/problem+json"


class ApiError(ServiceError):
    """An answer only HTTP has (a header to send, a status of its own): raise it from the API
    layer. Services raise :class:`~reelforge.services.errors.ServiceError`s, answered alike."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
        **extra: Any,
    ):
        if code not in CATALOGUE:
            raise ValueError(f"unknown problem type {code!r}")
        super().__init__(detail, code=code, errors=errors, **extra)
        self.status = status or CATALOGUE[code][0]
        self.headers = dict(headers or {})


def problem_response(
    request: Request,
    code: str,
    detail: str,
    *,
    status: int | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    status = status or CATALOGUE[code][0]
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": CATALOGUE[code][1],
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        "request_id": getattr(request.state, "request_id", None),
    }
    if errors:
        body["errors"] = list(errors)
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's errors as located entries: body -> ``pointer``, query/path -> ``parameter``."""
    out: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        where = loc[0] if loc else "body"
        kind = str(err.get("type", "invalid"))
        message = "unknown field (check its spelling)" if kind == "extra_forbidden" else str(err.get("msg"))
        if kind == "missing":
            message = "this field is required"
        message = message.removeprefix("Value error, ")
        entry: dict[str, Any] = {"detail": message, "code": kind}
        if where == "body":
            entry["pointer"] = "#" + "".join("/" + _escape(p) for p in loc[1:])
        elif where in ("query", "path"):
            entry["parameter"] = str(loc[1]) if len(loc) > 1 else ""
        elif where == "header":
            entry["header"] = str(loc[1]) if len(loc) > 1 else ""
        else:
            entry["pointer"] = "#" + "".join("/" + _escape(p) for p in loc)
        out.append(entry)
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        # The one place a domain error becomes HTTP: its code's status, or ApiError's own.
        if isinstance(exc, ApiError):
            status, headers = exc.status, exc.headers
        else:
            status, headers = CATALOGUE[exc.code][0], {}
            if isinstance(exc, PreconditionFailed) and exc.etag is not None:
                headers = {"ETag": exc.etag}
            if "retry_after" in exc.extra:
                headers = {"Retry-After": str(exc.extra["retry_after"])}
        return problem_response(
            request, exc.code, exc.detail, status=status, errors=exc.errors, headers=headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        if any(e["code"] == "json_invalid" for e in errors):
            return problem_response(request, "invalid-json", "the body is not valid JSON", errors=errors)
        count = len(errors)
        return problem_response(
            request,
            "validation-error",
            f"{count} problem{'s' if count != 1 else ''} in the request",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not-found",
            405: "method-not-allowed",
            413: "content-too-large",
            415: "unsupported-media-type",
            401: "unauthenticated",
            403: "forbidden",
            409: "conflict",
            400: "invalid-request",
        }.get(exc.status_code, "invalid-request" if exc.status_code < 500 else "internal-error")
        detail = exc.detail if isinstance(exc.detail, str) else CATALOGUE[code][1]
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route or resource at {request.url.path}"
        return problem_response(request, code, detail, status=exc.status_code, headers=exc.headers)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if not _database_unreachable(exc):
            raise exc  # a real error: the handler of unexpected errors below answers it
        log.warning("database unreachable: %s", type(exc.orig).__name__)
        return problem_response(
            request,
            "temporary-reduced-capacity",
            "the database is briefly unavailable; try again shortly",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"request_id": getattr(request.state, "request_id", None)})
        return problem_response(request, "internal-error", "An unexpected error occurred.")


def _database_unreachable(exc: DBAPIError) -> bool:
    """The database cannot be reached now (restarting, failing over, connections cut): a
    passing condition the client should retry, not a fault of the request. PostgreSQL's
    operational errors are such; SQLite's (a missing table, a locked file) are not."""
    if exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError) and type(exc.orig).__module__.split(".")[0] == "psycopg"
