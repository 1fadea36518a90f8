"""Assets: streaming upload, list and filter, edit, download with Range, delete.

Upload (``POST /v1/assets``) is read by :mod:`reelforge.api.multipart` (streamed to a temporary
file, hashed on the way, 413 past ``max_upload_bytes``); downloads answer Range requests with
:mod:`reelforge.api.ranges`. What an upload becomes, the queries, the delete policy (refused
with 409 while an unfinished render reads the asset) are :mod:`reelforge.services.assets`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from reelforge.media.ingest import clean_name
from reelforge.services import assets, imports
from reelforge.services.assets import MAX_COLLECTIONS, MAX_METADATA_BYTES, MAX_TAGS
from reelforge.services.inputs import InputModel
from reelforge.settings import Settings

from .. import examples as ex
from .. import examples_uploads as uex
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import ServicesDep, SessionDep, services_of
from ..idempotency import Idempotency, idempotency, idempotency_streamed, upload_fingerprint
from ..multipart import receive_upload
from ..pagination import check_utc_range, decode_cursor, encode_cursor, list_body, next_link
from ..problems import ApiError
from ..ranges import content_disposition, file_response, parse_range
from ..responses import (
    conditional_json,
    etag_matches,
    json_bytes,
    json_ready,
    json_response,
    page_of,
    read_db,
    strong_etag,
)

__all__ = ["content_disposition", "parse_range", "router"]

router = APIRouter(tags=["assets"])

FORM_FIELDS = ("name", "tags", "collections", "metadata")

Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/\\]+$"),
]


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


class AssetFields(InputModel):
    """The upload's form fields, validated together after the stream ends."""

    name: Name | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    collections: list[Tag] = Field(default_factory=list, max_length=MAX_COLLECTIONS)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _meta = field_validator("metadata")(_check_metadata)


def _no_default(schema: dict[str, Any]) -> None:
    # "" only marks "not given" (model_fields_set decides); it is no valid name, so the schema
    # must not offer it as the default (OpenAPI validators check defaults against the schema).
    schema.pop("default", None)


class AssetPatch(InputModel):
    """Fields present replace the stored value (tags and metadata as a whole); absent ones stay."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.ASSET_PATCH]})
    name: Name = Field(
        "", description="The display name (also the download's file name).", json_schema_extra=_no_default
    )
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    collections: list[Tag] = Field(
        default_factory=list,
        max_length=MAX_COLLECTIONS,
        description="The named collections the asset belongs to (the same rules as tags).",
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free JSON, at most 16 KiB.")

    _meta = field_validator("metadata")(_check_metadata)


# ------------------------------------------------------------------------------ representation


# asset_json lives in reelforge.representations: ingest records it in `asset.ready` events.


def _etag(body: Mapping[str, Any]) -> str:
    """A strong ETag of the representation (assets have no version column): of the very bytes
    ``GET /v1/assets/{id}`` sends."""
    return strong_etag(json_bytes(body))


def _if_match(request: Request) -> assets.Precondition | None:
    """The request's ``If-Match`` as a check of the asset's representation (412 when stale)."""
    header = request.headers.get("if-match")
    if header is None:
        return None

    def check(body: dict[str, Any]) -> None:
        etag = _etag(body)
        if not etag_matches(header, etag):
            raise ApiError(
                "precondition-failed",
                "the asset changed since you read it (If-Match does not match)",
                headers={"ETag": etag},
                errors=[{"header": "If-Match", "detail": "stale ETag", "code": "stale"}],
            )

    return check


def _jsonable(body: dict[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = json_ready(body)
    return encoded


def _upload_answer(
    body: dict[str, Any], created: bool, settings: Settings
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers of an upload's response."""
    body = {**body, "deduplicated": not created}
    headers = {"ETag": _etag({k: v for k, v in body.items() if k != "deduplicated"})}
    if created:
        headers["Location"] = f"{settings.public_url.rstrip('/')}/v1/assets/{body['id']}"
    return (201 if created else 200), _jsonable(body), headers


# ------------------------------------------------------------------------------ upload


def _parse_fields(raw: Mapping[str, bytearray]) -> AssetFields:
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for key, buf in raw.items():
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError:
            errors.append({"pointer": f"#/{key}", "detail": "not valid UTF-8", "code": "unicode"})
            continue
        if key in ("tags", "collections"):
            stripped = text.strip()
            if stripped.startswith("["):
                try:
                    values[key] = json.loads(stripped)
                except json.JSONDecodeError:
                    errors.append(
                        {"pointer": f"#/{key}", "detail": "not a JSON list", "code": "json_invalid"}
                    )
            else:
                values[key] = [t for t in (p.strip() for p in text.split(",")) if t]
        elif key == "metadata":
            try:
                values["metadata"] = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError:
                errors.append(
                    {
                        "pointer": "#/metadata",
                        "detail": "not valid JSON (send a JSON object)",
                        "code": "json_invalid",
                    }
                )
        else:
            values[key] = text
    if not errors:
        try:
            return AssetFields.model_validate(values)
        except ValidationError as exc:
            for err in exc.errors():
                loc = "".join(f"/{p}" for p in err["loc"])
                errors.append(
                    {
                        "pointer": f"#{loc}",
                        "detail": str(err["msg"]).removeprefix("Value error, "),
                        "code": err["type"],
                    }
                )
    count = len(errors)
    raise ApiError(
        "validation-error", f"{count} problem{'s' if count != 1 else ''} in the form", errors=errors
    )


@router.post(
    "/v1/assets",
    status_code=201,
    summary="Upload a file (streaming multipart) and make it an asset",
    openapi_extra={"requestBody": ex.UPLOAD_BODY},
    responses=ex.UPLOAD_RESPONSES,
)
async def upload(
    request: Request,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:write")),
    idem: Idempotency = Depends(idempotency_streamed),
) -> Response:
    """Send the file as the `file` part of `multipart/form-data`, with optional `name`, `tags`,
    `collections` (both comma-separated or a JSON list) and `metadata` fields. The content is sniffed and probed (the client's Content-Type and
    file name are not trusted); identical bytes already in the workspace return that asset with
    200 and `"deduplicated": true` (its tags and metadata unchanged)."""
    settings = services.settings
    async with receive_upload(
        request,
        fields=FORM_FIELDS,
        limit=settings.max_upload_bytes,
        temp_dir=services.storage.temp_dir(),
        idem=idem,
    ) as received:
        # The parts, not the raw bytes: a client picks a new multipart boundary on each attempt.
        idem.settle(
            upload_fingerprint(
                request,
                received.sha256,
                {
                    "filename": received.filename,
                    **{k: v.decode("utf-8", "replace") for k, v in received.fields.items()},
                },
            )
        )
        fields = _parse_fields(received.fields)
        body, created = await run_in_threadpool(
            lambda: assets.ingest_upload(
                services,
                principal.workspace_id,
                received.path,
                name=fields.name or clean_name(received.filename),
                sha256=received.sha256,
                tags=fields.tags,
                collections=fields.collections,
                metadata=fields.metadata,
                stager=idem,
                answer=lambda asset: _upload_answer(asset, True, settings),
            )
        )
    if idem.staged is not None:
        return idem.response()  # exactly what was stored with the new asset
    status, answer, headers = _upload_answer(body, created, settings)
    await idem.store_now(answer, status=status, headers=headers)  # deduplicated: nothing was created
    return JSONResponse(answer, status_code=status, headers=headers)


# ------------------------------------------------------------------------------ import from a URL


class ImportCreate(InputModel):
    """What to fetch, and the new asset's name, tags and metadata (as on an upload)."""

    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="An http(s) URL of a public server (no private, loopback or metadata address)."
    )
    name: Name | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    collections: list[Tag] = Field(default_factory=list, max_length=MAX_COLLECTIONS)
    metadata: dict[str, Any] = Field(default_factory=dict)
    asset_id: str | None = Field(
        None,
        max_length=40,
        description="Make the fetched file a new version of this asset (name, tags, collections and metadata "
        "are then not used).",
    )

    _meta = field_validator("metadata")(_check_metadata)


@router.post(
    "/v1/assets/imports",
    status_code=202,
    summary="Import media from an http(s) URL (fetched in the background)",
    responses=uex.CREATE_IMPORT_RESPONSES,
)
async def create_import(
    body: Annotated[ImportCreate, Body(openapi_examples=uex.CREATE_IMPORT_BODY)],
    services: ServicesDep,
    principal: Principal = Depends(require("assets:write")),
    idem: Idempotency = Depends(idempotency),
) -> Response:
    """The URL is checked at once (422 `url-not-allowed`: scheme, port, user info, a literal
    private address); the fetch then runs in the background under the same rules as webhook
    delivery (every address checked when connecting, redirects re-checked, size and time
    limits), resumed with Range when the server allows it. Follow it with
    `GET /v1/assets/imports/{id}` or the events `import.progress`, `import.succeeded` (with
    `asset_id`) and `import.failed`. The asset records the URL in `derived_from`."""
    base = services.settings.public_url.rstrip("/")

    def stage(db: Any, shown: dict[str, Any]) -> None:
        idem.stage(
            db, json_ready(shown), status=202, headers={"Location": f"{base}/v1/assets/imports/{shown['id']}"}
        )

    shown = await run_in_threadpool(
        lambda: imports.create_import(
            services,
            principal.workspace_id,
            body.url,
            name=body.name,
            tags=list(dict.fromkeys(body.tags)),
            collections=list(dict.fromkeys(body.collections)),
            metadata=body.metadata,
            before_commit=stage,
            version_of=body.asset_id,
        )
    )
    return json_response(
        json_bytes(json_ready(shown)),
        status=202,
        headers={"Location": f"{base}/v1/assets/imports/{shown['id']}"},
    )


@router.get(
    "/v1/assets/imports/{import_id}",
    summary="An import: its state, progress and asset",
    responses=uex.GET_IMPORT_RESPONSES,
)
async def get_import(
    import_id: str, services: ServicesDep, principal: Principal = Depends(require("assets:read"))
) -> Response:
    shown = await run_in_threadpool(imports.read_import, services, principal.workspace_id, import_id)
    return json_response(json_bytes(json_ready(shown)))


# ------------------------------------------------------------------------------ read, edit, delete

Kind = Literal["video", "image", "audio", "subtitles", "font", "lut"]
Source = Literal["upload", "render", "import"]
ReviewState = Literal["draft", "in_review", "approved", "rejected", "archived"]


@router.get(
    "/v1/assets", summary="List assets, newest first, with filters", responses=ex.LIST_ASSETS_RESPONSES
)
async def list_assets(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    kind: Kind | None = None,
    tag: Annotated[
        list[Tag] | None, Query(description="Repeat to require several tags (all must match).")
    ] = None,
    collection: Annotated[Tag | None, Query(description="Assets of this named collection.")] = None,
    name: Annotated[str | None, Query(max_length=255, description="Part of the name, any case.")] = None,
    created_after: Annotated[AwareDatetime | None, Query(description="RFC 3339; inclusive.")] = None,
    created_before: Annotated[AwareDatetime | None, Query(description="RFC 3339; exclusive.")] = None,
    source: Source | None = None,
    review_state: Annotated[
        ReviewState | None, Query(description="The review state of the asset's newest version.")
    ] = None,
    approved_at: Annotated[
        AwareDatetime | None, Query(description="RFC 3339: assets with a version approved at that time.")
    ] = None,
    external_system: Annotated[str | None, Query(max_length=64)] = None,
    external_id: Annotated[str | None, Query(max_length=255)] = None,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    """Filters combine (all must match): `kind`, `source` (`upload`, `render`, `import`), `tag`
    (repeat it to require several), `collection`, `name` (a part of it, any case), `created_after` and
    `created_before` (RFC 3339), `review_state` (of the newest version), `approved_at` (a
    version was approved then, and its approval had not ended), `external_system` and
    `external_id` (the DAM reference)."""
    check_utc_range("created_after", created_after)
    check_utc_range("created_before", created_before)
    check_utc_range("approved_at", approved_at)
    return await asset_list_response(
        request,
        principal.workspace_id,
        limit=limit,
        cursor=cursor,
        kind=kind,
        tags=tag or [],
        collection=collection,
        name=name,
        created_after=created_after,
        created_before=created_before,
        source=source,
        review_state=review_state,
        approved_at=approved_at,
        external_system=external_system,
        external_id=external_id,
    )


async def asset_list_response(
    request: Request,
    workspace_id: str,
    *,
    limit: int,
    cursor: str | None,
    kind: str | None = None,
    tags: list[str] | None = None,
    collection: str | None = None,
    name: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    source: str | None = None,
    review_state: str | None = None,
    approved_at: datetime | None = None,
    external_system: str | None = None,
    external_id: str | None = None,
) -> Response:
    """``GET /v1/assets``'s answer for validated parameters; 400 ``invalid-cursor`` for a cursor of another list."""
    tags = sorted(set(tags or []))
    filters = {
        "kind": kind,
        "source": source,
        "tag": tags or None,
        **({"collection": collection} if collection else {}),
        "name": name,
        "created_after": _iso(created_after),
        "created_before": _iso(created_before),
        **({"review_state": review_state} if review_state else {}),
        **({"approved_at": _iso(approved_at)} if approved_at else {}),
        **({"external_system": external_system} if external_system else {}),
        **({"external_id": external_id} if external_id else {}),
    }
    services = services_of(request)
    after = decode_cursor(services.secrets.cursor_key, cursor, filters) if cursor else None

    def read(conn: Connection) -> tuple[list[assets.PageRow], dict[str, bytes]]:
        return assets.list_page(
            conn,
            workspace_id,
            limit=limit,
            after=after,
            cache=services.asset_docs,
            encode=json_bytes,
            kind=kind,
            source=source,
            tags=tags,
            collection=collection,
            name=name,
            created_after=created_after,
            created_before=created_before,
            review_state=review_state,
            approved_at=approved_at,
            external_system=external_system,
            external_id=external_id,
        )

    page, docs = await read_db(request, read)
    rows, next_cursor, headers = page_of(request, page, limit, filters)
    # An asset deleted between the two reads is left out.
    data = [orjson.Fragment(docs[row.id]) for row in rows if row.id in docs]
    return json_response(json_bytes(list_body(request, data, next_cursor)), headers=headers)


_COLLECTIONS_LIST = {"list": "collections"}
"""The filters digest of the collections' cursors: a cursor of another list is refused."""
_NAME_KEYED = datetime(1970, 1, 1, tzinfo=UTC)
"""The time slot of a collections cursor, which the name alone orders."""


@router.get(
    "/v1/collections",
    summary="List the workspace's collections with their asset counts",
    responses=ex.LIST_COLLECTIONS_RESPONSES,
)
async def list_collections(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    """Each collection that holds at least one asset, by name (A to Z), with how many it holds;
    `assets_url` lists them."""
    services = services_of(request)
    key = services.secrets.cursor_key
    after = decode_cursor(key, cursor, _COLLECTIONS_LIST)[1] if cursor else None
    rows = await read_db(
        request,
        lambda conn: assets.list_collections(conn, principal.workspace_id, limit=limit, after=after),
    )
    next_cursor = None
    headers: dict[str, str] = {}
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(key, _NAME_KEYED, rows[-1][0], _COLLECTIONS_LIST)
        headers["Link"] = next_link(request, next_cursor)
    data = [
        {
            "object": "collection",
            "name": name,
            "asset_count": count,
            "assets_url": f"/v1/assets?{urlencode({'collection': name})}",
        }
        for name, count in rows
    ]
    return json_response(json_bytes(list_body(request, data, next_cursor)), headers=headers)


def _iso(value: datetime | None) -> str | None:
    return json_ready(value) if value is not None else None


@router.get("/v1/assets/{asset_id}", summary="Get an asset", responses=ex.GET_ASSET_RESPONSES)
async def get_asset(
    asset_id: str, request: Request, principal: Principal = Depends(require("assets:read"))
) -> Response:
    body = await read_db(request, lambda conn: assets.read_asset(conn, principal.workspace_id, asset_id))
    return conditional_json(request, json_bytes(body))


@router.patch(
    "/v1/assets/{asset_id}",
    summary="Rename an asset or replace its tags, collections or metadata",
    responses=ex.PATCH_ASSET_RESPONSES,
)
def patch_asset(
    asset_id: str,
    body: Annotated[AssetPatch, Body(openapi_examples=ex.PATCH_ASSET_BODY)],
    request: Request,
    db: SessionDep,
    principal: Principal = Depends(require("assets:write")),
) -> JSONResponse:
    """`If-Match` with the asset's ETag makes the change conditional (412 when it changed)."""
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    result = assets.patch_asset(
        db, principal.workspace_id, asset_id, changes, precondition=_if_match(request)
    )
    return JSONResponse(_jsonable(result), headers={"ETag": _etag(result)})


@router.delete(
    "/v1/assets/{asset_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an asset (refused with 409 while an unfinished render uses it)",
    responses=ex.DELETE_ASSET_RESPONSES,
)
def delete_asset(
    asset_id: str,
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:write")),
) -> Response:
    """Refused with 409 `conflict` while a queued, preparing, rendering or finishing render reads
    the asset (the problem lists them in `renders`); otherwise the row, its tags and its stored
    bytes and previews go at once. `If-Match` is honoured."""
    assets.delete_asset(
        db,
        services,
        principal.workspace_id,
        asset_id,
        precondition=_if_match(request),
        actor=audit_actor(principal, request),
    )
    return Response(status_code=204)


# ------------------------------------------------------------------------------ download


@router.get(
    "/v1/assets/{asset_id}/content",
    summary="Download the original bytes (HTTP Range supported)",
    response_class=Response,
    operation_id="download_asset_content",
    responses=ex.DOWNLOAD_RESPONSES,
)
@router.head(
    "/v1/assets/{asset_id}/content",
    summary="The download's headers (size, type, ETag) without the bytes",
    response_class=Response,
    operation_id="head_asset_content",
    responses=ex.DOWNLOAD_RESPONSES,
)
def download(
    asset_id: str,
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    """One range per request (`bytes=a-b`, `bytes=a-`, `bytes=-n`) gets 206; several ranges get the
    whole file. `If-Range` and `If-None-Match` compare with the ETag, the content's sha256."""
    asset = assets.find_asset(db, principal.workspace_id, asset_id)
    return file_response(
        request,
        lambda: assets.open_content(services, asset),
        etag=f'"{asset.sha256}"',
        filename=assets.download_name(asset),
        media_type=asset.content_type,
        locate=lambda disposition: assets.content_location(services, asset, disposition),
    )


def _preview(
    db: SessionDep, services: ServicesDep, principal: Principal, asset_id: str, which: str
) -> Response:
    data = assets.preview_bytes(db, services, principal.workspace_id, asset_id, which)
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    return Response(data, media_type="image/png", headers={"ETag": etag})


@router.get(
    "/v1/assets/{asset_id}/thumbnail",
    summary="The asset's thumbnail (PNG)",
    response_class=Response,
    responses=ex.THUMBNAIL_RESPONSES,
)
def thumbnail(
    asset_id: str,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    return _preview(db, services, principal, asset_id, "thumbnail")


@router.get(
    "/v1/assets/{asset_id}/waveform",
    summary="An audio asset's waveform (PNG)",
    response_class=Response,
    responses=ex.WAVEFORM_RESPONSES,
)
def waveform(
    asset_id: str,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    return _preview(db, services, principal, asset_id, "waveform")
