"""Resumable uploads: the tus 1.0 server at ``/v1/uploads`` (conventions sheet §1).

Core protocol plus the creation, creation-with-upload, creation-defer-length, termination,
checksum and expiration extensions. This module reads and writes the tus headers; what an
upload is, the writer claim that keeps two appends apart, and the ingest of a finished upload
are :mod:`reelforge.services.uploads`. Every response carries ``Tus-Resumable`` (errors too);
a finished upload's asset is named by ``Reelforge-Asset-Id`` (and a ``Link``) on the last
PATCH and on HEAD, and by ``asset_id`` in ``GET /v1/uploads/{id}``.
"""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from reelforge.services import uploads
from reelforge.services.errors import ServiceError

from .. import examples_uploads as ex
from ..auth import Principal, require
from ..deps import ServicesDep
from ..idempotency import Idempotency, IdempotentReplay, idempotency_streamed, upload_fingerprint
from ..numbers import BIGINT_MAX, ascii_number
from ..problems import ApiError
from ..responses import json_bytes, json_ready, json_response

__all__ = ["router"]

OFFSET_STREAM = "application/offset+octet-stream"
ASSET_HEADER = "Reelforge-Asset-Id"
OVERRIDABLE = ("PATCH", "DELETE", "HEAD")


class TusRoute(APIRoute):
    """Every answer of the tus routes, problems included, carries ``Tus-Resumable``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tus_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except (ServiceError, RequestValidationError, StarletteHTTPException, IdempotentReplay) as exc:
                response = await _problem(request, exc)
            response.headers["Tus-Resumable"] = uploads.TUS_VERSION
            return response

        return tus_handler


async def _problem(request: Request, exc: Exception) -> Response:
    """The app's own answer to ``exc`` (a problem, or a replayed creation), plus the tus headers
    an error needs."""
    handlers = request.app.exception_handlers
    handler = next(handlers[cls] for cls in type(exc).__mro__ if cls in handlers)
    response: Response = await handler(request, exc)
    extra = getattr(exc, "extra", {}) or {}
    if isinstance(exc, uploads.UploadLocked):
        response.headers["Retry-After"] = "1"
    if "offset" in extra and extra["offset"] is not None:
        response.headers["Upload-Offset"] = str(extra["offset"])
    return response


router = APIRouter(tags=["uploads"], route_class=TusRoute)


def _capabilities(max_size: int) -> dict[str, str]:
    return {
        "Tus-Version": uploads.TUS_VERSION,
        "Tus-Extension": ",".join(uploads.EXTENSIONS),
        "Tus-Max-Size": str(max_size),
        "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGORITHMS),
    }


def require_tus(request: Request) -> None:
    """412 (with ``Tus-Version``) unless the request speaks tus 1.0.0."""
    value = request.headers.get("tus-resumable")
    if value != uploads.TUS_VERSION:
        raise ApiError(
            "tus-version-unsupported",
            f"send Tus-Resumable: {uploads.TUS_VERSION}" + (f" (not {value!r})" if value else ""),
            headers={"Tus-Version": uploads.TUS_VERSION},
            errors=[{"header": "Tus-Resumable", "detail": f"must be {uploads.TUS_VERSION}"}],
        )


def tus_principal(scope: str) -> Callable[..., Principal]:
    """The caller's key, checked for ``scope``, on a request that speaks tus 1.0.0: credentials
    are checked first (401/403 before 412, as on every other route)."""
    authenticated = require(scope)

    def dependency(request: Request, principal: Principal = Depends(authenticated)) -> Principal:
        require_tus(request)
        return principal

    return dependency


def _integer_header(request: Request, name: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    value = ascii_number(raw, 0, BIGINT_MAX)
    if value is None:
        raise ApiError(
            "invalid-request",
            f"{name} must be a non-negative integer",
            errors=[{"header": name, "detail": "not a non-negative integer"}],
        )
    return value


def _expires(view: uploads.UploadView) -> str:
    return email.utils.format_datetime(view.expires_at.astimezone(), usegmt=True)


def _state_headers(request: Request, view: uploads.UploadView) -> dict[str, str]:
    headers = {"Upload-Offset": str(view.offset), "Cache-Control": "no-store"}
    if view.state == "receiving":
        headers["Upload-Expires"] = _expires(view)
    if view.asset_id:
        headers[ASSET_HEADER] = view.asset_id
        base = request.app.state.services.settings.public_url.rstrip("/")
        headers["Link"] = f'<{base}/v1/assets/{view.asset_id}>; rel="asset"'
    return headers


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives (never held whole); a client gone mid-body raises
    :class:`~reelforge.services.uploads.BodyInterrupted`."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise uploads.BodyInterrupted from None


def _check_fits(request: Request, offset: int, length: int | None) -> None:
    """413 at once when the declared body goes past the upload's length."""
    declared = _integer_header(request, "content-length")
    if declared is not None and length is not None and offset + declared > length:
        raise ApiError(
            "content-too-large",
            f"{declared} bytes at offset {offset} go past Upload-Length ({length})",
            errors=[{"header": "Content-Length", "detail": f"at most {length - offset} here"}],
        )


async def _append(
    request: Request, services: Any, workspace_id: str, upload_id: str, offset: int, length: int | None
) -> uploads.UploadView:
    try:
        return await uploads.append(
            services,
            workspace_id,
            upload_id,
            offset=offset,
            body=_body(request),
            checksum=uploads.parse_checksum(request.headers.get("upload-checksum")),
            length=length,
        )
    except uploads.BodyInterrupted:
        # The client is gone; the answer is for the logs. It resumes from HEAD.
        return await run_in_threadpool(uploads.read_upload, services, workspace_id, upload_id)


# ------------------------------------------------------------------------------ discovery


# Not in the OpenAPI document (no credential, no body): docs/api.md describes it.
@router.options("/v1/uploads", status_code=204, include_in_schema=False)
@router.options("/v1/uploads/{upload_id}", status_code=204, include_in_schema=False)
async def options(services: ServicesDep) -> Response:
    """`Tus-Version`, `Tus-Extension`, `Tus-Max-Size` and `Tus-Checksum-Algorithm`."""
    return Response(status_code=204, headers=_capabilities(services.settings.max_upload_bytes))


# ------------------------------------------------------------------------------ creation


@router.post(
    "/v1/uploads",
    status_code=201,
    summary="Create a resumable upload (tus creation, optionally with its first bytes)",
    responses=ex.CREATE_UPLOAD_RESPONSES,
)
async def create(
    request: Request,
    services: ServicesDep,
    principal: Principal = Depends(tus_principal("assets:write")),
    idem: Idempotency = Depends(idempotency_streamed),
) -> Response:
    """`Upload-Length` (or `Upload-Defer-Length: 1`) and `Upload-Metadata` (`filename`,
    `filetype`, `name`, `tags` and `collections` as comma-separated text). A body with
    `Content-Type: application/offset+octet-stream` is the first bytes (creation-with-upload).
    `Idempotency-Key` makes a retried creation answer the first one's upload."""
    length = _integer_header(request, "upload-length")
    defer = request.headers.get("upload-defer-length")
    if defer is not None and defer != "1":
        raise ApiError(
            "invalid-request",
            "Upload-Defer-Length must be 1",
            errors=[{"header": "Upload-Defer-Length", "detail": "must be 1"}],
        )
    if (length is None) == (defer is None):
        raise ApiError(
            "invalid-request",
            "send Upload-Length, or Upload-Defer-Length: 1 to give the length later (not both)",
            errors=[{"header": "Upload-Length", "detail": "required unless Upload-Defer-Length: 1"}],
        )
    raw_metadata = request.headers.get("upload-metadata")
    idem.settle(upload_fingerprint(request, "", {"length": length, "metadata": raw_metadata}))
    with_body = request.headers.get("content-type", "").split(";")[0].strip().lower() == OFFSET_STREAM
    if with_body:
        _check_fits(request, 0, length)
    base = services.settings.public_url.rstrip("/")

    def answer(view: uploads.UploadView) -> tuple[int, dict[str, Any], dict[str, str]]:
        return 201, json_ready(view.json()), {"Location": f"{base}/v1/uploads/{view.id}"}

    def stage(db: Any, view: uploads.UploadView) -> None:
        status, body, headers = answer(view)
        idem.stage(db, body, status=status, headers=headers)

    view = await run_in_threadpool(
        lambda: uploads.create_upload(
            services,
            principal.workspace_id,
            length=length,
            raw_metadata=raw_metadata,
            before_commit=stage if idem.active else None,
        )
    )
    if with_body:
        try:
            view = await _append(request, services, principal.workspace_id, view.id, 0, None)
        except ServiceError as exc:
            # The upload exists (a retry with the same Idempotency-Key answers it): say where,
            # so the client resumes it at Upload-Offset instead of leaving it behind.
            refused = await _problem(request, exc)
            refused.headers["Location"] = answer(view)[2]["Location"]
            return refused
    else:
        view = await uploads.ensure_complete(services, view)  # Upload-Length: 0
    status, body, headers = answer(view)
    return json_response(
        json_bytes(body), status=status, headers={**headers, **_state_headers(request, view)}
    )


# ------------------------------------------------------------------------------ the upload


@router.head(
    "/v1/uploads/{upload_id}",
    status_code=200,
    summary="The upload's offset (tus), and its asset once finished",
    response_class=Response,
    responses=ex.HEAD_UPLOAD_RESPONSES,
)
async def head(
    upload_id: str,
    request: Request,
    services: ServicesDep,
    principal: Principal = Depends(tus_principal("assets:write")),
) -> Response:
    """`Upload-Offset`, `Upload-Length` (or `Upload-Defer-Length: 1`), `Upload-Metadata` as sent,
    `Upload-Expires` while unfinished, `Reelforge-Asset-Id` once it is an asset. 404 for an
    unknown upload (or another workspace's), 410 once expired or terminated."""
    view = await run_in_threadpool(uploads.read_upload, services, principal.workspace_id, upload_id)
    view = await uploads.ensure_complete(services, view)
    headers = _state_headers(request, view)
    if view.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(view.length)
    if view.raw_metadata:
        headers["Upload-Metadata"] = view.raw_metadata
    return Response(status_code=200, headers=headers)


@router.patch(
    "/v1/uploads/{upload_id}",
    status_code=204,
    summary="Append bytes at the upload's offset (tus)",
    response_class=Response,
    responses=ex.PATCH_UPLOAD_RESPONSES,
)
async def patch(
    upload_id: str,
    request: Request,
    services: ServicesDep,
    principal: Principal = Depends(tus_principal("assets:write")),
) -> Response:
    """`Content-Type: application/offset+octet-stream`, `Upload-Offset` (the current one: 409
    otherwise, with the right one in `Upload-Offset`), optional `Upload-Checksum` of this body
    (`sha256`, `sha1`, `md5` or `crc32`; 460 on a mismatch, nothing kept) and `Upload-Length`
    for a deferred length. 423 while another request appends. The answer carries the new
    `Upload-Offset`; the last one also `Reelforge-Asset-Id`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != OFFSET_STREAM:
        raise ApiError(
            "unsupported-media-type",
            f"send the bytes as {OFFSET_STREAM}",
            errors=[{"header": "Content-Type", "detail": f"must be {OFFSET_STREAM}"}],
        )
    offset = _integer_header(request, "upload-offset")
    if offset is None:
        raise ApiError(
            "invalid-request",
            "Upload-Offset is required (HEAD the upload to learn it)",
            errors=[{"header": "Upload-Offset", "detail": "required"}],
        )
    length = _integer_header(request, "upload-length")
    view = await run_in_threadpool(uploads.read_upload, services, principal.workspace_id, upload_id)
    _check_fits(request, offset, length if view.length is None else view.length)
    view = await _append(request, services, principal.workspace_id, upload_id, offset, length)
    return Response(status_code=204, headers=_state_headers(request, view))


@router.delete(
    "/v1/uploads/{upload_id}",
    status_code=204,
    summary="Terminate an upload (tus termination)",
    response_class=Response,
    responses=ex.DELETE_UPLOAD_RESPONSES,
)
async def terminate(
    upload_id: str,
    services: ServicesDep,
    principal: Principal = Depends(tus_principal("assets:write")),
) -> Response:
    """Its bytes are removed and it answers 410 afterwards; a finished upload's asset stays."""
    await run_in_threadpool(uploads.terminate, services, principal.workspace_id, upload_id)
    return Response(status_code=204)


@router.post(
    "/v1/uploads/{upload_id}",
    summary="PATCH, DELETE or HEAD through X-HTTP-Method-Override (for clients that only POST)",
    response_class=Response,
    responses=ex.OVERRIDE_RESPONSES,
)
async def overridden(
    upload_id: str,
    request: Request,
    services: ServicesDep,
    principal: Principal = Depends(tus_principal("assets:write")),
) -> Response:
    method = request.headers.get("x-http-method-override", "").upper()
    if method not in OVERRIDABLE:
        raise ApiError(
            "method-not-allowed",
            "POST on an upload needs X-HTTP-Method-Override: PATCH, DELETE or HEAD",
            status=405,
            headers={"Allow": "HEAD, PATCH, DELETE, OPTIONS, GET"},
        )
    if method == "PATCH":
        return await patch(upload_id, request, services, principal)
    if method == "DELETE":
        return await terminate(upload_id, services, principal)
    return await head(upload_id, request, services, principal)


@router.get(
    "/v1/uploads/{upload_id}",
    summary="The upload as JSON: state, offset, metadata and its asset",
    responses=ex.GET_UPLOAD_RESPONSES,
)
async def get_upload(
    upload_id: str,
    request: Request,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    view = await run_in_threadpool(uploads.read_upload, services, principal.workspace_id, upload_id)
    return json_response(json_bytes(json_ready(view.json())), headers={"Cache-Control": "no-store"})
