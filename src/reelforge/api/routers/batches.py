"""Batches: one template, many value rows, several locales and outputs, as ordinary renders.

``POST /v1/batches`` fills the template once per row x locale, validates each merged edit like
an inline render, and queues one render per distinct merged edit (all the batch's outputs in
that one render, so FFmpeg decodes each source once for every aspect ratio). Rows that fail are
reported in the answer; the others run (unless ``all_or_nothing``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import Field, StringConstraints, ValidationError, field_validator

from reelforge.db.batches import Batch, batch_json, batches_json
from reelforge.db.models import Render
from reelforge.db.models import RenderState as RenderStateName
from reelforge.edit.templates import LOCALE_PATTERN
from reelforge.representations import output_assets, render_json
from reelforge.services import batches
from reelforge.services.batches import (
    MAX_CSV_BYTES,
    MAX_LOCALES,
    MAX_METADATA_BYTES,
    MAX_OUTPUTS,
    MAX_ROWS,
    BatchRequest,
)
from reelforge.services.edits import non_finite
from reelforge.services.inputs import InputModel

from .. import examples_batches as ex
from ..audit import audit_actor
from ..auth import Principal, check_scope, require
from ..deps import ServicesDep, SessionDep
from ..idempotency import Idempotency, idempotency
from ..numbers import INTEGER_MAX
from ..pagination import list_body, page
from ..params import Priority
from ..problems import ApiError

router = APIRouter(tags=["batches"])
CSV_TYPES = (
    "text/csv",
    "application/csv",
    "text/plain",
    "application/octet-stream",
    "application/vnd.ms-excel",
)

Locale = Annotated[str, StringConstraints(strip_whitespace=True, pattern=LOCALE_PATTERN, max_length=35)]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
RenderState = Literal[RenderStateName, "running"]
"""A render state, or ``running`` for any of the running ones."""


class BatchCreate(InputModel):
    """Give the value rows as ``rows`` (a JSON list of objects) or as ``rows_csv`` (CSV text), or
    send ``multipart/form-data`` with this object as the ``batch`` part and the CSV file as the
    ``rows_csv`` part."""

    template_id: str = Field(max_length=40)
    version: int | None = Field(None, ge=1, le=INTEGER_MAX)
    """The template version to fill (default: its current version)."""
    rows: list[Any] | None = Field(None, max_length=MAX_ROWS)
    """Value rows, each an object of variable values; numbered by their 0-based index."""
    rows_csv: str | None = Field(None, max_length=MAX_CSV_BYTES)
    """Value rows as CSV text (header line of variable names); rows numbered by their 1-based line."""
    locales: list[Locale] = Field(default_factory=list, max_length=MAX_LOCALES)
    """Each row is rendered once per locale (default: once, without a locale)."""
    outputs: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=MAX_OUTPUTS)
    """The outputs of every render (the edit language's Output objects), instead of the template's."""
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    """Campaign tags: on every render's `metadata.batch` and on every output asset."""
    priority: Priority = 0
    """The priority of every render (see `POST /v1/renders`): `high`, `normal`, `low` or an
    integer from -100 to 100."""
    all_or_nothing: bool = False
    """Refuse the whole batch (422) when any row x locale is not valid."""
    require_approval: bool = False
    """Each render waits (queued, `awaiting_approval`) until the transcripts its speech captions
    use are approved; missing ones are started."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    purpose: Literal["publication", "draft", "preview"] | None = None
    """``publication``: rows naming media that is not approved are rejected (one error per
    place). Default: ``publication`` when ``REELFORGE_REQUIRE_APPROVED_MEDIA`` is set, else
    ``draft``."""

    @field_validator("locales", "tags")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        seen = [v for i, v in enumerate(value) if v in value[:i]]
        if seen:
            raise ValueError(f"given more than once: {', '.join(sorted(set(seen)))}")
        return value

    @field_validator("metadata")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, default=str)) > MAX_METADATA_BYTES:
            raise ValueError(f"at most {MAX_METADATA_BYTES // 1024} KiB of metadata")
        return value


# ------------------------------------------------------------------ reading the request


def _body_errors(exc: ValidationError, where: tuple[str, ...]) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": ("body", *where, *e["loc"])} for e in exc.errors()])


async def _read_request(request: Request) -> tuple[BatchCreate, str | None]:
    """The batch request, and the CSV text (from ``rows_csv`` or the uploaded file)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=4)
        try:
            raw = form.get("batch")
            if not isinstance(raw, str):
                raise ApiError(
                    "validation-error",
                    "the multipart form needs a `batch` part with the request as JSON",
                    errors=[{"pointer": "#/batch", "detail": "this part is required", "code": "missing"}],
                )
            try:
                body = BatchCreate.model_validate_json(raw)
            except ValidationError as exc:
                if any(e["type"] == "json_invalid" for e in exc.errors()):
                    raise ApiError(
                        "invalid-json",
                        "the `batch` part is not valid JSON",
                        errors=[{"pointer": "#/batch", "detail": "not valid JSON", "code": "json_invalid"}],
                    ) from None
                raise _body_errors(exc, ("batch",)) from None
            _finite(body)
            upload = form.get("rows_csv")
            unknown = sorted(set(form.keys()) - {"batch", "rows_csv"})
            if unknown:
                raise ApiError(
                    "validation-error",
                    f"unknown form part {unknown[0]!r}",
                    errors=[
                        {
                            "pointer": f"#/{name}",
                            "detail": "unknown part (send `batch` and `rows_csv`)",
                            "code": "extra_forbidden",
                        }
                        for name in unknown
                    ],
                )
            if upload is None or isinstance(upload, str):
                if body.rows is None and body.rows_csv is None:
                    raise ApiError(
                        "validation-error",
                        "attach the CSV as the `rows_csv` file part",
                        errors=[
                            {
                                "pointer": "#/rows_csv",
                                "detail": "a CSV file part is required",
                                "code": "missing",
                            }
                        ],
                    )
                return body, body.rows_csv
            if body.rows is not None or body.rows_csv is not None:
                raise ApiError(
                    "validation-error",
                    "give the rows once: the uploaded file or `rows`/`rows_csv`",
                    errors=[{"pointer": "#/rows_csv", "detail": "rows given twice", "code": "one_of"}],
                )
            content_type = (upload.content_type or "text/csv").split(";")[0].strip().lower()
            if content_type not in CSV_TYPES:
                raise ApiError(
                    "unsupported-media-type",
                    f"`rows_csv` must be a CSV file, not {content_type}",
                    errors=[{"pointer": "#/rows_csv", "detail": "send text/csv", "code": "media_type"}],
                )
            data = await upload.read(MAX_CSV_BYTES + 1)
            if len(data) > MAX_CSV_BYTES:
                raise ApiError(
                    "content-too-large",
                    f"the CSV is larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB",
                    errors=[{"pointer": "#/rows_csv", "detail": "too large", "code": "too_large"}],
                )
            try:
                return body, data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ApiError(
                    "validation-error",
                    "the CSV must be UTF-8 text",
                    errors=[{"pointer": "#/rows_csv", "detail": "not UTF-8", "code": "encoding"}],
                ) from None
        finally:
            await form.close()
    if kind not in ("application/json", ""):
        raise ApiError("unsupported-media-type", f"send application/json or multipart/form-data, not {kind}")
    raw_body = await request.body()
    try:
        document = json.loads(raw_body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise ApiError("invalid-json", "the body is not valid JSON (or is nested too deeply)") from None
    try:
        body = BatchCreate.model_validate(document)
    except ValidationError as exc:
        raise _body_errors(exc, ()) from None
    _finite(body)
    return body, body.rows_csv


def _finite(body: BatchCreate) -> None:
    """NaN and Infinity are not JSON (Python's parser takes them; PostgreSQL refuses them)."""
    parts = {"rows": body.rows, "outputs": body.outputs, "metadata": body.metadata}
    infinite = list(non_finite({k: v for k, v in parts.items() if v is not None}))
    if infinite:
        count = len(infinite)
        raise ApiError(
            "validation-error",
            f"{count} problem{'s' if count != 1 else ''} in the request",
            errors=[{"pointer": "#" + p.pointer, "code": p.code, "detail": p.message} for p in infinite],
        )


# ------------------------------------------------------------------ routes


@router.post(
    "/v1/batches",
    status_code=202,
    summary="Render a template for many value rows, locales and outputs",
    responses=ex.CREATE_BATCH_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": BatchCreate.model_json_schema(ref_template="#/components/schemas/{model}"),
                    "examples": ex.CREATE_BATCH_JSON_EXAMPLES,
                },
                "multipart/form-data": {
                    "schema": ex.MULTIPART_SCHEMA,
                    "examples": ex.CREATE_BATCH_MULTIPART_EXAMPLES,
                },
            },
        }
    },
)
async def create_batch(
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("batches:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Fill template `template_id` (at `version`, default its current one) with each value row,
    once per locale in `locales`, and queue one ordinary render per row x locale with every
    output in `outputs` (the edit language's Output objects; default the template's), so all
    aspect ratios of a row come out of one FFmpeg run. Needs `templates:read` and
    `renders:write` too.

    Rows: `rows` (JSON objects, numbered by 0-based index, pointers `#/rows/<i>/<variable>`),
    `rows_csv` (CSV text), or `multipart/form-data` with this object as the `batch` part and a
    CSV file as the `rows_csv` part. CSV rows are numbered by their 1-based line (the header is
    line 1), pointers `#/rows_csv/<line>/<variable>`, plus `line` and `column`. Columns are
    variables; a list variable takes a JSON cell or `list.<n>.<field>` columns; cells are typed by
    the variable's type; an empty cell is not given (the default applies).

    A row x locale that is not valid (wrong type, missing required value, unknown variable, bad
    CSV line, an asset not in the workspace) is listed in `rejected` with its `row`, `locale` and
    every problem's pointer; the others run. With `all_or_nothing`, or when no row is valid,
    nothing is created: 422 `validation-error` listing them all. Identical merged edits (same
    values, or a locale that changes nothing) are rendered once: `duplicates` says which
    row x locale shares which render. Each render's `metadata.batch` names the batch, its rows
    and locales, and the campaign `tags` (also given to every output asset)."""
    check_scope(principal, "templates:read")
    check_scope(principal, "renders:write")
    body, csv_text = await _read_request(request)

    def staged() -> tuple[int, dict[str, Any], dict[str, str]]:
        # Inside the batch's commit: the response is stored with the batch and its renders.
        created = [o for o in db.identity_map.values() if isinstance(o, Batch)]
        assert len(created) == 1
        url = f"{services.settings.public_url.rstrip('/')}/v1/batches/{created[0].id}"
        return 202, batch_json(db, created[0]), {"Location": url}

    idem.stage_at_commit(db, staged)
    purpose = body.purpose or ("publication" if services.settings.require_approved_media else "draft")
    request_ = BatchRequest(**{**body.model_dump(exclude={"rows_csv"}), "purpose": purpose})
    batch = await run_in_threadpool(lambda: batches.create(db, services, principal, request_, csv_text))
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/batches/{batch.id}"
    if idem.staged is not None:
        return idem.staged_body()  # the first response as stored (a replay answers the same)
    return await run_in_threadpool(batch_json, db, batch)


@router.get("/v1/batches", summary="List batches, newest first", responses=ex.LIST_BATCHES_RESPONSES)
def list_batches(
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    template_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("batches:read")),
) -> dict[str, Any]:
    rows, nxt = page(
        request,
        response,
        batches.batches(principal.workspace_id, template_id),
        Batch,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"template_id": template_id},
        db=db,
    )
    return list_body(request, batches_json(db, rows), nxt)


@router.get(
    "/v1/batches/{batch_id}",
    summary="Get a batch: counts per state, progress, rejected rows",
    responses=ex.GET_BATCH_RESPONSES,
)
def get_batch(
    batch_id: str, db: SessionDep, principal: Principal = Depends(require("batches:read"))
) -> dict[str, Any]:
    """`state` is `running` while any render is queued or running, then `succeeded` (every
    render succeeded), `partially_failed` (some succeeded, others failed or were cancelled),
    `failed` (none succeeded) or `cancelled` (the batch was cancelled). `counts` are per render
    (`running` is preparing, rendering or finishing), a render shared by duplicate rows counts
    once; `progress` is their average (0-100). `finished_at` is set when the last render ended,
    with a `batch.completed` event."""
    return batch_json(db, batches.batch(db, principal.workspace_id, batch_id))


@router.get(
    "/v1/batches/{batch_id}/renders",
    summary="List a batch's renders, filtered by row, locale and state",
    responses=ex.LIST_BATCH_RENDERS_RESPONSES,
)
def list_batch_renders(
    db: SessionDep,
    services: ServicesDep,
    batch_id: str,
    request: Request,
    response: Response,
    row: Annotated[
        int | None,
        Query(ge=0, le=INTEGER_MAX, description="the row number: 0-based JSON index or 1-based CSV line"),
    ] = None,
    locale: Annotated[str | None, Query(max_length=35)] = None,
    state: Annotated[
        RenderState | None, Query(description="a render state, or `running` for any running one")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("batches:read")),
) -> dict[str, Any]:
    """The renders (as `GET /v1/renders/{id}` shows them), newest first. Each render's
    `metadata.batch.items` lists the rows and locales it makes (several when rows were
    identical). Needs `renders:read` too."""
    check_scope(principal, "renders:read")
    batch, query = batches.batch_renders(
        db, principal.workspace_id, batch_id, row=row, locale=locale, state=state
    )
    rows, nxt = page(
        request,
        response,
        query,
        Render,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"batch": batch.id, "row": row, "locale": locale, "state": state},
        db=db,
    )
    assets = output_assets(db, rows)
    return list_body(request, [render_json(r, assets) for r in rows], nxt)


@router.post(
    "/v1/batches/{batch_id}/cancel",
    status_code=202,
    summary="Cancel a batch",
    responses=ex.CANCEL_BATCH_RESPONSES,
)
def cancel_batch(
    db: SessionDep,
    batch_id: str,
    request: Request,
    principal: Principal = Depends(require("batches:write")),
) -> dict[str, Any]:
    """Queued renders are cancelled at once; running ones are asked to stop (as
    `POST /v1/renders/{id}/cancel` does: FFmpeg stops within seconds, one already `finishing`
    completes). Answers 202 with the batch; it is `cancelled` once its last render ended. A batch
    whose renders have all ended cannot be cancelled (409)."""
    batch = batches.cancel(db, principal.workspace_id, batch_id, audit_actor(principal, request))
    return batch_json(db, batch)
