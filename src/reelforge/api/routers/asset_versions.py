"""Asset versions: upload a new version, list and read them, download any of them, restore an
older one, review them (``assets:approve``), and the DAM sync's idempotent upsert by external
reference. The operations are :mod:`reelforge.services.asset_versions`."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from reelforge.db.models import AssetVersion
from reelforge.media.ingest import clean_name
from reelforge.services import asset_versions as versions
from reelforge.services.assets import MAX_METADATA_BYTES, MAX_TAGS
from reelforge.services.inputs import InputModel

from .. import examples_asset_versions as vex
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import ServicesDep, SessionDep
from ..idempotency import Idempotency, idempotency_streamed, upload_fingerprint
from ..multipart import Received, receive_upload
from ..numbers import INTEGER_MAX
from ..problems import ApiError
from ..ranges import file_response
from ..responses import json_ready

__all__ = ["router"]

router = APIRouter(tags=["assets"])

VersionNumber = Annotated[
    int, Path(ge=1, le=INTEGER_MAX, description="The version's number (1 is the first).")
]
RefPart = Annotated[
    str,
    Path(
        min_length=1,
        max_length=255,
        pattern=r"^[^\x00-\x1f\x7f/]+$",
        description="As the source system spells it.",
    ),
]


def _answer(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(json_ready(body), status_code=status, headers=headers)


def _fields(received: Received) -> dict[str, Any]:
    """The small form fields of a version upload or a sync (name, tags, metadata), checked."""
    found: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for key, raw in received.fields.items():
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.append({"pointer": f"#/{key}", "detail": "not valid UTF-8", "code": "unicode"})
            continue
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            errors.append(
                {"pointer": f"#/{key}", "detail": "control characters are not allowed", "code": "pattern"}
            )
        elif key in ("tags", "collections"):
            names = [t.strip() for t in text.split(",") if t.strip()]
            if len(names) > MAX_TAGS or any(len(t) > 100 for t in names):
                errors.append(
                    {
                        "pointer": f"#/{key}",
                        "detail": f"at most {MAX_TAGS} {key} of 100 characters",
                        "code": "too_long",
                    }
                )
            found[key] = list(dict.fromkeys(names))
        elif key == "metadata":
            try:
                value = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError:
                value = None
            if not isinstance(value, dict) or len(text.encode()) > MAX_METADATA_BYTES:
                errors.append(
                    {
                        "pointer": "#/metadata",
                        "detail": "a JSON object of at most 16 KiB",
                        "code": "json_invalid",
                    }
                )
            else:
                found["metadata"] = value
        elif key == "name":
            if len(text) > 255:
                errors.append({"pointer": "#/name", "detail": "at most 255 characters", "code": "too_long"})
            found["name"] = text.strip()
    if errors:
        raise ApiError("validation-error", f"{len(errors)} problem(s) in the form", errors=errors)
    return found


def _etag(version: dict[str, Any]) -> str:
    return f'"{version["revision"]}"'


@router.get(
    "/v1/assets/{asset_id}/versions",
    summary="List an asset's versions, newest first",
    responses=vex.LIST_VERSIONS_RESPONSES,
)
def list_versions(
    asset_id: str, db: SessionDep, principal: Principal = Depends(require("assets:read"))
) -> JSONResponse:
    data = versions.list_versions(db, principal.workspace_id, asset_id)
    return _answer({"object": "list", "data": data}, 200)


@router.post(
    "/v1/assets/{asset_id}/versions",
    status_code=201,
    summary="Upload a new version of an asset",
    openapi_extra=vex.VERSION_BODY,
    responses=vex.UPLOAD_VERSION_RESPONSES,
)
async def upload_version(
    asset_id: str,
    request: Request,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:write")),
    idem: Idempotency = Depends(idempotency_streamed),
) -> Response:
    """`multipart/form-data` with the file as `file` (and an optional `name`, used for type
    sniffing only). Checked like any upload (type sniffing, size, duration, dimensions); it must
    be of the asset's kind. The same bytes as one of the asset's versions answer that version
    (200); the same bytes as another asset are refused (409). A new version is a `draft`."""
    settings = services.settings
    # An unknown asset (another workspace's included) is 404 before the body is read.
    await run_in_threadpool(versions.asset_exists, services, principal.workspace_id, asset_id)
    async with receive_upload(
        request,
        fields=("name",),
        limit=settings.max_upload_bytes,
        temp_dir=services.storage.temp_dir(),
        idem=idem,
    ) as received:
        idem.settle(
            upload_fingerprint(request, received.sha256, {"filename": received.filename, "asset": asset_id})
        )
        fields = _fields(received)
        body, created = await run_in_threadpool(
            lambda: versions.add_version(
                services,
                principal.workspace_id,
                asset_id,
                received.path,
                name=fields.get("name") or clean_name(received.filename),
                sha256=received.sha256,
                actor=audit_actor(principal, request),
            )
        )
    status = 201 if created else 200
    headers = {"ETag": _etag(body)}
    if created:
        headers["Location"] = (
            f"{settings.public_url.rstrip('/')}/v1/assets/{asset_id}/versions/{body['version']}"
        )
    answer = json_ready(body)
    await idem.store_now(answer, status=status, headers=headers)
    return JSONResponse(answer, status_code=status, headers=headers)


@router.get(
    "/v1/assets/{asset_id}/versions/{number}",
    summary="Get one version of an asset",
    responses=vex.GET_VERSION_RESPONSES,
)
def get_version(
    asset_id: str,
    number: VersionNumber,
    db: SessionDep,
    principal: Principal = Depends(require("assets:read")),
) -> JSONResponse:
    """The version with its review state; the `ETag` is its revision (send it as `If-Match`
    when reviewing)."""
    asset, version = versions.find_version(db, principal.workspace_id, asset_id, number)
    body = versions.version_json(version, asset.version)
    return _answer(body, 200, {"ETag": _etag(body)})


def _version_file(version: AssetVersion, services: ServicesDep) -> Any:
    try:
        return services.storage.local_path(version.storage_key).open("rb")
    except FileNotFoundError:
        raise ApiError(
            "not-found", f"the content of version {version.number} is missing from storage"
        ) from None


@router.get(
    "/v1/assets/{asset_id}/versions/{number}/content",
    summary="Download one version's bytes (HTTP Range supported)",
    response_class=Response,
    responses=vex.VERSION_CONTENT_RESPONSES,
)
def download_version(
    asset_id: str,
    number: VersionNumber,
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    asset, version = versions.find_version(db, principal.workspace_id, asset_id, number)
    return file_response(
        request,
        lambda: _version_file(version, services),
        etag=f'"{version.sha256}"',
        filename=asset.name,
        media_type=version.content_type,
    )


@router.post(
    "/v1/assets/{asset_id}/versions/{number}/restore",
    status_code=201,
    summary="Make an older version the newest again (as a new version)",
    responses=vex.RESTORE_RESPONSES,
)
def restore_version(
    asset_id: str,
    number: VersionNumber,
    request: Request,
    db: SessionDep,
    principal: Principal = Depends(require("assets:write")),
) -> JSONResponse:
    """A new version with the bytes of version `number` (stored once); it is a `draft`, reviewed
    again like any new version."""
    body = versions.restore_version(
        db, principal.workspace_id, asset_id, number, audit_actor(principal, request)
    )
    return _answer(body, 201, {"ETag": _etag(body)})


class ReviewBody(InputModel):
    state: Literal["draft", "in_review", "approved", "rejected", "archived"]
    comment: Annotated[str, StringConstraints(max_length=2000)] = ""
    approved_until: AwareDatetime | None = Field(
        None, description="An approval ends here (licensed media); RFC 3339, in the future."
    )


@router.post(
    "/v1/assets/{asset_id}/versions/{number}/review",
    summary="Set a version's review state (approve, reject, archive…)",
    responses=vex.REVIEW_RESPONSES,
)
def review_version(
    asset_id: str,
    number: VersionNumber,
    body: Annotated[ReviewBody, Body(openapi_examples=vex.REVIEW_EXAMPLES)],
    request: Request,
    db: SessionDep,
    principal: Principal = Depends(require("assets:approve")),
) -> JSONResponse:
    """Needs the `assets:approve` scope (`assets:write` is not enough). `If-Match` with the
    version's ETag makes it conditional: of two reviewers acting on what they read, the second
    gets 412. Recorded with who, when and the comment (audit log, history); events
    `asset.approved`, `asset.rejected` or `asset.review_changed`."""
    header = request.headers.get("if-match")
    expected = None
    if header is not None:
        text = header.strip().removeprefix("W/").strip('"')
        if not text.isdecimal():
            raise ApiError(
                "precondition-failed",
                "If-Match must be the version's ETag",
                errors=[{"header": "If-Match", "detail": "not a version ETag", "code": "stale"}],
            )
        expected = int(text)
    shown = versions.review_version(
        db,
        principal.workspace_id,
        asset_id,
        number,
        state=body.state,
        comment=body.comment,
        approved_until=body.approved_until,
        actor=audit_actor(principal, request),
        if_match=expected,
    )
    return _answer(shown, 200, {"ETag": _etag(shown)})


@router.put(
    "/v1/assets/by-ref/{system}/{external_id}/{external_version}",
    summary="DAM sync: create the asset or add this version, once",
    openapi_extra=vex.SYNC_BODY,
    responses=vex.SYNC_RESPONSES,
)
async def upsert_by_ref(
    system: RefPart,
    external_id: RefPart,
    external_version: RefPart,
    request: Request,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:write")),
    idem: Idempotency = Depends(idempotency_streamed),
) -> Response:
    """`multipart/form-data` with the file as `file` and optional `name`, `tags` and
    `collections` (comma separated) and `metadata` (for a new asset). The asset with external reference
    `system`/`external_id` (unique per workspace) gets `external_version` as its newest version,
    or is created with it (201); a version already synced answers 200 with nothing changed, so a
    nightly sync can run twice without duplicates."""
    settings = services.settings
    async with receive_upload(
        request,
        fields=("name", "tags", "collections", "metadata"),
        limit=settings.max_upload_bytes,
        temp_dir=services.storage.temp_dir(),
        idem=idem,
    ) as received:
        idem.settle(
            upload_fingerprint(
                request, received.sha256, {"ref": f"{system}/{external_id}/{external_version}"}
            )
        )
        fields = _fields(received)
        asset, version, created = await run_in_threadpool(
            lambda: versions.upsert_by_ref(
                services,
                principal.workspace_id,
                system,
                external_id,
                external_version,
                received.path,
                name=fields.get("name") or clean_name(received.filename, fallback=external_id),
                sha256=received.sha256,
                tags=fields.get("tags", []),
                collections=fields.get("collections", []),
                metadata=fields.get("metadata", {}),
                actor=audit_actor(principal, request),
            )
        )
    status = 201 if created else 200
    answer = json_ready({"object": "asset_sync", "created": created, "asset": asset, "version": version})
    await idem.store_now(answer, status=status, headers={})
    return JSONResponse(answer, status_code=status)


class MediaCheck(InputModel):
    edit: dict[str, Any] = Field(description="An edit (or a filled template's edit).")


@router.post(
    "/v1/assets/check",
    summary="Check an edit's media before rendering: versions, approval, expiry",
    responses=vex.MEDIA_CHECK_RESPONSES,
)
def check_media(
    body: Annotated[MediaCheck, Body(openapi_examples=vex.MEDIA_CHECK_EXAMPLES)],
    db: SessionDep,
    principal: Principal = Depends(require("assets:read")),
) -> JSONResponse:
    """What each file of the edit resolves to now (asset ids, pinned versions, `@latest`,
    `@approved`, queries) and every problem a render for publication would meet, with its
    pointer: `asset_not_found`, `reference_unresolved`, `reference_ambiguous`,
    `unapproved_media`, `approval_expired`. `passed` is true when there is none. Nothing is
    stored; `reelforge validate --server` asks this."""
    return _answer(versions.media_report(db, principal.workspace_id, body.edit, pointer_prefix="/edit"), 200)
