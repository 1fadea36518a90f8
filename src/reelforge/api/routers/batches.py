"""Batches: one template, many value rows, several locales and outputs, as ordinary renders.

``POST /v1/batches`` fills the template once per row x locale, validates each merged edit like
an inline render, and queues one render per distinct merged edit (all the batch's outputs in
that one render, so FFmpeg decodes each source once for every aspect ratio). Rows that fail are
reported in the answer; the others run (unless ``all_or_nothing``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.batches import (
    Batch,
    BatchItem,
    batch_json,
    batches_json,
    record_batch_event,
    settle_batches,
)
from reelforge.db.models import Render, new_id, utcnow
from reelforge.edit.errors import EditError
from reelforge.edit.models import Edit
from reelforge.edit.templates import LOCALE_PATTERN
from reelforge.edit.validate import parse_edit
from reelforge.jobs.queue import RUNNING_STATES, rows_updated
from reelforge.representations import output_assets, record_render_event, render_json
from reelforge.services.context import Services, owned
from reelforge.services.renders import enqueue_render

from .. import batch_templates as templates_access
from .. import examples_batches as ex
from ..audit import audit_actor
from ..auth import Principal, check_scope, require
from ..batch_rows import CsvRow, parse_csv_rows
from ..brands import BrandUse
from ..deps import get_db, get_services
from ..edits import PreparedEdit, non_finite, prepare_service_edit
from ..idempotency import Idempotency, idempotency
from ..pagination import list_body, page
from ..problems import ApiError

router = APIRouter(tags=["batches"])

MAX_ROWS = 1000
MAX_ITEMS = 1000
"""Rows x locales in one batch."""
MAX_LOCALES = 20
MAX_OUTPUTS = 10
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_METADATA_BYTES = 16 * 1024
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
RenderState = Literal[
    "queued", "preparing", "rendering", "finishing", "running", "succeeded", "failed", "cancelled"
]


class BatchCreate(BaseModel):
    """Give the value rows as ``rows`` (a JSON list of objects) or as ``rows_csv`` (CSV text), or
    send ``multipart/form-data`` with this object as the ``batch`` part and the CSV file as the
    ``rows_csv`` part."""

    model_config = ConfigDict(extra="forbid")
    template_id: str = Field(max_length=40)
    version: int | None = Field(None, ge=1)
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
    all_or_nothing: bool = False
    """Refuse the whole batch (422) when any row x locale is not valid."""
    metadata: dict[str, Any] = Field(default_factory=dict)

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


# ------------------------------------------------------------------ planning the items


@dataclass
class _Row:
    number: int
    values: Any
    pointer: str
    """Where the row is in the request: ``#/rows/3`` or ``#/rows_csv/4`` (CSV line 4)."""
    columns: Mapping[str, str] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def from_csv(self) -> bool:
        return self.pointer.startswith("#/rows_csv/")


@dataclass
class _Item:
    position: int
    source: _Row
    locale: str | None
    document: dict[str, Any]
    edit: Edit
    key: str
    origin: Callable[[str], str] | None
    prepared: PreparedEdit
    duplicate_of: int | None = None
    render_id: str | None = None

    @property
    def row(self) -> int:
        return self.source.number


def _rows(
    body: BatchCreate, csv_text: str | None, template: templates_access.TemplateInfo
) -> tuple[str, list[_Row]]:
    if (body.rows is None) == (csv_text is None):
        raise ApiError(
            "validation-error",
            "give the value rows as `rows` (JSON) or `rows_csv` (CSV), one of them",
            errors=[{"pointer": "#/rows", "detail": "give `rows` or `rows_csv`", "code": "one_of"}],
        )
    if body.rows is not None:
        if not body.rows:
            raise ApiError(
                "validation-error",
                "`rows` is empty",
                errors=[{"pointer": "#/rows", "detail": "give at least one row", "code": "too_short"}],
            )
        return "json", [_Row(i, values, f"#/rows/{i}") for i, values in enumerate(body.rows)]
    assert csv_text is not None
    parsed, problems = parse_csv_rows(csv_text, template.type_of, template.default_locale)
    if problems:
        raise ApiError(
            "validation-error",
            f"the CSV cannot be read: {problems[0]['detail']}",
            errors=[
                {
                    "pointer": f"#/rows_csv/{p['line']}",
                    **{k: v for k, v in p.items() if k != "line"},
                    "line": p["line"],
                }
                for p in problems
            ],
        )
    if not parsed:
        raise ApiError(
            "validation-error",
            "the CSV has a header but no rows",
            errors=[
                {
                    "pointer": "#/rows_csv",
                    "detail": "give at least one row after the header",
                    "code": "too_short",
                }
            ],
        )
    if len(parsed) > MAX_ROWS:
        raise ApiError(
            "validation-error",
            f"at most {MAX_ROWS} rows in a batch",
            errors=[{"pointer": "#/rows_csv", "detail": f"{len(parsed)} rows", "code": "too_long"}],
        )
    return "csv", [_csv_row(r) for r in parsed]


def _csv_row(row: CsvRow) -> _Row:
    out = _Row(row.line, row.values, f"#/rows_csv/{row.line}", row.columns)
    for problem in row.problems:
        entry = {
            "pointer": out.pointer + problem.get("pointer", ""),
            "detail": problem["detail"],
            "code": problem["code"],
            "line": row.line,
        }
        if "column" in problem:
            entry["column"] = problem["column"]
        out.problems.append(entry)
    return out


def _value_problems(row: _Row, exc: EditError) -> list[dict[str, Any]]:
    """The template's problems with the row's values, located in the request (and the CSV)."""
    out = []
    for problem in exc.problems:
        inner = problem.pointer.removeprefix("/values")
        entry: dict[str, Any] = {
            "pointer": row.pointer + inner,
            "detail": problem.message,
            "code": problem.code,
        }
        if row.from_csv:
            entry["line"] = row.number
            column = _column_of(row.columns, inner)
            if column is not None:
                entry["column"] = column
        out.append(entry)
    return out


def _column_of(columns: Mapping[str, str], inner: str) -> str | None:
    # The deepest pointer the CSV made that contains the problem's place.
    best = None
    for ptr, column in columns.items():
        if (inner == ptr or inner.startswith(ptr + "/")) and (best is None or len(ptr) > len(best[0])):
            best = (ptr, column)
    return best[1] if best else None


def _edit_problems(
    row: _Row, exc: ApiError, origin: Callable[[str], str] | None, own_outputs: bool
) -> list[dict[str, Any]]:
    """Problems of the merged edit (a value the service cannot render with, …): ``pointer`` is
    the row, ``template_pointer`` the place in the template the problem comes from."""
    out = []
    for error in exc.errors or []:
        inner = str(error.get("pointer", "#/edit")).removeprefix("#").removeprefix("/edit")
        entry = {"pointer": row.pointer, "detail": error.get("detail"), "code": error.get("code")}
        if own_outputs and (inner == "/outputs" or inner.startswith("/outputs/")):
            entry["pointer"] = "#" + inner
        elif origin is not None:
            entry["template_pointer"] = origin(inner)
        if row.from_csv:
            entry["line"] = row.number
        out.append(entry)
    return out


def _outputs_problems(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch's outputs checked by the edit language itself, pointers into ``#/outputs``."""
    probe = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "black"}, "length": 1}]}]},
        "outputs": outputs,
    }
    try:
        parse_edit(probe)
    except EditError as exc:
        return [{"pointer": "#" + p.pointer, "detail": p.message, "code": p.code} for p in exc.problems]
    return []


def _key(document: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def _plan(
    db: Session,
    principal: Principal,
    body: BatchCreate,
    template: templates_access.TemplateInfo,
    rows: Sequence[_Row],
) -> tuple[list[_Item], list[dict[str, Any]]]:
    """Every row x locale merged and validated: the items to render and the rejected ones."""
    locales: list[str | None] = list(body.locales) or [None]
    if len(rows) * len(locales) > MAX_ITEMS:
        raise ApiError(
            "validation-error",
            f"{len(rows)} rows x {len(locales)} locales is more than {MAX_ITEMS} renders; split the batch",
            errors=[
                {"pointer": "#/locales", "detail": f"at most {MAX_ITEMS} rows x locales", "code": "too_many"}
            ],
        )
    unknown = [
        {"pointer": f"#/locales/{i}", "detail": why, "code": "unknown_locale"}
        for i, locale in enumerate(body.locales)
        if (why := template.locale_problem(locale))
    ]
    if unknown:
        raise ApiError("validation-error", unknown[0]["detail"], errors=unknown)
    items: list[_Item] = []
    rejected: list[dict[str, Any]] = []
    first: dict[str, _Item] = {}
    for row in rows:
        for locale in locales:
            problems = list(row.problems)
            document: dict[str, Any] | None = None
            if not problems and not isinstance(row.values, dict):
                problems.append(
                    {
                        "pointer": row.pointer,
                        "detail": "a row is an object of variable values",
                        "code": "type",
                    }
                )
            origin: Callable[[str], str] | None = None
            brand: BrandUse | None = None
            if not problems:
                try:
                    # As a render from the template does: a brand kit the edit names fills the
                    # template's brand placeholders in the row's locale, before the values go in.
                    filled = template.fill(db, row.values, locale)
                    document, origin, brand = filled.document, filled.origin, filled.brand
                except EditError as exc:
                    problems = _value_problems(row, exc)
                except templates_access.BrandProblems as exc:
                    problems = [
                        {
                            "pointer": row.pointer,
                            "detail": p.message,
                            "code": p.code,
                            "template_pointer": p.pointer,
                            **({"line": row.number} if row.from_csv else {}),
                        }
                        for p in exc.problems
                    ]
            if document is not None and body.outputs is not None:
                document = {**document, "outputs": body.outputs}
            prepared = None
            if document is not None and not problems:
                try:
                    prepared = prepare_service_edit(
                        document,
                        db,
                        principal.workspace_id,
                        pointer_prefix="/edit",
                        branded=brand,
                        filled_template=True,
                    )
                except ApiError as exc:
                    problems = _edit_problems(row, exc, origin, body.outputs is not None)
            if problems or document is None or prepared is None:
                rejected.append({"row": row.number, "locale": locale, "errors": problems})
                continue
            item = _Item(len(items), row, locale, document, prepared.edit, _key(document), origin, prepared)
            if item.key in first:
                item.duplicate_of = first[item.key].position
            else:
                first[item.key] = item
            items.append(item)
    return items, rejected


# ------------------------------------------------------------------ creating


def _problem_list(rejected: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**error, "row": r["row"], "locale": r["locale"]} for r in rejected for error in r["errors"]]


def _create(
    db: Session, services: Services, principal: Principal, body: BatchCreate, csv_text: str | None
) -> Batch:
    template = templates_access.load(db, principal.workspace_id, body.template_id, body.version)
    outputs_problems = _outputs_problems(body.outputs) if body.outputs is not None else []
    if outputs_problems:
        raise ApiError(
            "validation-error", f"{len(outputs_problems)} problem(s) in `outputs`", errors=outputs_problems
        )
    source, rows = _rows(body, csv_text, template)
    items, rejected = _plan(db, principal, body, template, rows)
    if rejected and (body.all_or_nothing or not items):
        raise _refused(rejected, bool(items))
    batch = Batch(
        id=new_id("bat"),
        workspace_id=principal.workspace_id,
        template_id=template.id,
        template_version=template.version,
        locales=list(body.locales),
        outputs=list(body.outputs or []),
        tags=list(body.tags),
        meta=dict(body.metadata),
        all_or_nothing=body.all_or_nothing,
        rows_source=source,
        rows_total=len(rows),
        rejected=[],
        created_at=utcnow(),
    )
    db.add(batch)
    db.flush()
    groups: dict[int, list[_Item]] = {}
    for item in items:
        groups.setdefault(item.position if item.duplicate_of is None else item.duplicate_of, []).append(item)
    accepted: list[_Item] = []
    for group in groups.values():
        made = group[0]
        tag = {
            "id": batch.id,
            "items": [{"row": i.row, "locale": i.locale} for i in group],
            "tags": list(body.tags),
        }
        try:
            render = enqueue_render(
                db,
                services,
                principal,
                made.document,
                prepared=made.prepared,
                metadata={"batch": tag},
                template_id=template.id,
                template_version=template.version,
                locale=made.locale,
                commit=False,
            )
        except ApiError as exc:
            if exc.status != 422:
                raise
            # The workspace's brand compliance blocks this one (it writes nothing before refusing).
            rejected += [
                {
                    "row": i.row,
                    "locale": i.locale,
                    "errors": _edit_problems(i.source, exc, i.origin, body.outputs is not None),
                }
                for i in group
            ]
            continue
        for item in group:
            item.render_id = render.id
        accepted += group
    if rejected and (body.all_or_nothing or not accepted):
        db.rollback()
        raise _refused(rejected, bool(accepted))
    order: list[str | None] = list(body.locales) or [None]
    batch.rejected = sorted(rejected, key=lambda r: (r["row"], order.index(r["locale"])))
    db.add_all(
        BatchItem(
            batch_id=batch.id,
            position=i.position,
            row=i.row,
            locale=i.locale,
            render_id=i.render_id,
            duplicate_of=i.duplicate_of,
        )
        for i in accepted
    )
    record_batch_event(db, batch, "batch.created")
    db.commit()
    if services.worker is not None:
        services.worker.wake()
    return batch


def _refused(rejected: list[dict[str, Any]], some_valid: bool) -> ApiError:
    count = len(rejected)
    why = "`all_or_nothing` is set" if some_valid else "no row is valid"
    return ApiError(
        "validation-error",
        f"{count} row x locale combination{'s' if count != 1 else ''} "
        f"{'are' if count != 1 else 'is'} not valid and {why}: nothing was created",
        errors=_problem_list(rejected),
        rejected=rejected,
    )


def _batch(db: Session, principal: Principal, batch_id: str) -> Batch:
    return owned(db, Batch, batch_id, principal.workspace_id, "batch")


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
    request: Request,
    response: Response,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
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
    batch = await run_in_threadpool(_create, db, services, principal, body, csv_text)
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/batches/{batch.id}"
    if idem.staged is not None:
        return idem.staged_body()  # the first response as stored (a replay answers the same)
    return await run_in_threadpool(batch_json, db, batch)


@router.get("/v1/batches", summary="List batches, newest first", responses=ex.LIST_BATCHES_RESPONSES)
def list_batches(
    request: Request,
    response: Response,
    template_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("batches:read")),
) -> dict[str, Any]:
    query = select(Batch).where(Batch.workspace_id == principal.workspace_id)
    if template_id is not None:
        query = query.where(Batch.template_id == template_id)
    rows, nxt = page(
        request,
        response,
        query,
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
    batch_id: str, db: Session = Depends(get_db), principal: Principal = Depends(require("batches:read"))
) -> dict[str, Any]:
    """`state` is `running` while any render is queued or running, then `succeeded` (every
    render succeeded), `partially_failed` (some succeeded, others failed or were cancelled),
    `failed` (none succeeded) or `cancelled` (the batch was cancelled). `counts` are per render
    (`running` is preparing, rendering or finishing), a render shared by duplicate rows counts
    once; `progress` is their average (0-100). `finished_at` is set when the last render ended,
    with a `batch.completed` event."""
    return batch_json(db, _batch(db, principal, batch_id))


@router.get(
    "/v1/batches/{batch_id}/renders",
    summary="List a batch's renders, filtered by row, locale and state",
    responses=ex.LIST_BATCH_RENDERS_RESPONSES,
)
def list_batch_renders(
    batch_id: str,
    request: Request,
    response: Response,
    row: Annotated[
        int | None, Query(ge=0, description="the row number: 0-based JSON index or 1-based CSV line")
    ] = None,
    locale: Annotated[str | None, Query(max_length=35)] = None,
    state: Annotated[
        RenderState | None, Query(description="a render state, or `running` for any running one")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("batches:read")),
) -> dict[str, Any]:
    """The renders (as `GET /v1/renders/{id}` shows them), newest first. Each render's
    `metadata.batch.items` lists the rows and locales it makes (several when rows were
    identical). Needs `renders:read` too."""
    check_scope(principal, "renders:read")
    batch = _batch(db, principal, batch_id)
    items = select(BatchItem.render_id).where(BatchItem.batch_id == batch.id)
    if row is not None:
        items = items.where(BatchItem.row == row)
    if locale is not None:
        items = items.where(BatchItem.locale == locale)
    query = select(Render).where(Render.workspace_id == principal.workspace_id, Render.id.in_(items))
    if state == "running":
        query = query.where(Render.state.in_(RUNNING_STATES))
    elif state is not None:
        query = query.where(Render.state == state)
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
    batch_id: str,
    request: Request,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("batches:write")),
) -> dict[str, Any]:
    """Queued renders are cancelled at once; running ones are asked to stop (as
    `POST /v1/renders/{id}/cancel` does: FFmpeg stops within seconds, one already `finishing`
    completes). Answers 202 with the batch; it is `cancelled` once its last render ended. A batch
    whose renders have all ended cannot be cancelled (409)."""
    _batch(db, principal, batch_id)
    now = utcnow()
    # Locked as settle_batches locks it, and claimed by one conditional write (which also takes
    # SQLite's write lock): a render ending meanwhile either finished the batch first (409 here)
    # or waits for this cancel and then finishes the batch as cancelled. Two cancels: one wins.
    db.scalars(select(Batch.id).where(Batch.id == batch_id).with_for_update()).one()
    claimed = rows_updated(
        db,
        update(Batch)
        .where(Batch.id == batch_id, Batch.finished_at.is_(None), Batch.cancel_requested.is_(False))
        .values(cancel_requested=True, cancelled_at=now),
    )
    batch = db.scalars(
        select(Batch).where(Batch.id == batch_id).execution_options(populate_existing=True)
    ).one()
    if not claimed:
        if batch.finished_at is not None:
            db.rollback()
            raise ApiError(
                "conflict",
                f"the batch already finished ({batch_json(db, batch)['state']}); there is nothing to cancel",
            )
        # Asked already: the renders were told then; asking again changes nothing and emits nothing.
        db.commit()
        return batch_json(db, batch)
    renders = select(BatchItem.render_id).where(BatchItem.batch_id == batch.id)
    queued = list(db.scalars(select(Render.id).where(Render.id.in_(renders), Render.state == "queued")))
    dropped = []
    for render_id in queued:
        # One by one and conditional, since a worker may claim any of them right now.
        if (
            rows_updated(
                db,
                update(Render)
                .where(Render.id == render_id, Render.state == "queued")
                .values(state="cancelled", cancel_requested=True, finished_at=now, eta_seconds=None),
            )
            == 1
        ):
            dropped.append(render_id)
    # Running: each worker sees the flag with its next heartbeat and stops FFmpeg.
    rows_updated(
        db,
        update(Render)
        .where(Render.id.in_(renders), Render.state.in_(RUNNING_STATES))
        .values(cancel_requested=True),
    )
    db.flush()
    for render in db.scalars(
        select(Render).where(Render.id.in_(dropped)).execution_options(populate_existing=True)
    ):
        record_render_event(db, render, "render.cancelled")
    record_batch_event(db, batch, "batch.cancelled")
    record_audit(
        db,
        workspace_id=batch.workspace_id,
        action="batch.cancelled",
        resource_type="batch",
        resource_id=batch.id,
        details={"renders_cancelled": len(dropped)},
        **audit_actor(principal, request),
    )
    settle_batches(db, dropped)
    db.commit()
    db.refresh(batch)
    return batch_json(db, batch)
