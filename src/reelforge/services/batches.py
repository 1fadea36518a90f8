"""Batches: one template, many value rows, several locales and outputs, as ordinary renders.

A batch fills the template once per row x locale, validates each merged edit like an inline
render, and queues one render per distinct merged edit (all the batch's outputs in that one
render, so FFmpeg decodes each source once for every aspect ratio). Rows that fail are kept on
the batch as ``rejected``; the others run (unless ``all_or_nothing``). Rows come as JSON
objects or as CSV (:mod:`reelforge.services.batch_rows`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select, update
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
from reelforge.edit.validate import parse_edit
from reelforge.jobs.queue import RUNNING_STATES, rows_updated
from reelforge.representations import output_assets, record_render_event, render_json

from . import renders, templates
from .asset_versions import ResolutionCache
from .audit import Actor
from .batch_rows import CsvRow, parse_csv_rows
from .brand_kits import BrandUse
from .context import Services, owned
from .credentials import Principal
from .edits import PreparedEdit, prepare_service_edit
from .errors import Conflict, Invalid, ServiceError

__all__ = [
    "MAX_CSV_BYTES",
    "MAX_ITEMS",
    "MAX_LOCALES",
    "MAX_METADATA_BYTES",
    "MAX_OUTPUTS",
    "MAX_ROWS",
    "BatchRequest",
    "batch",
    "batch_renders",
    "batches",
    "cancel",
    "create",
]

MAX_ROWS = 1000
MAX_ITEMS = 1000
"""Rows x locales in one batch."""
MAX_LOCALES = 20
MAX_OUTPUTS = 10
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_METADATA_BYTES = 16 * 1024


@dataclass(frozen=True)
class BatchRequest:
    """What a batch is asked to do (the API's request body, read and checked for shape)."""

    template_id: str
    version: int | None = None
    rows: list[Any] | None = None
    locales: list[str] = field(default_factory=list)
    outputs: list[dict[str, Any]] | None = None
    tags: list[str] = field(default_factory=list)
    all_or_nothing: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    require_approval: bool = False
    """Each render waits until the transcripts its speech captions use are approved."""
    purpose: str = "draft"
    """``publication``: every row's media must be approved (a row naming other media is rejected)."""
    priority: int = 0
    """Every render's priority (see :data:`reelforge.jobs.queue.PRIORITIES`)."""


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
    body: BatchRequest, csv_text: str | None, template: templates.TemplateInfo
) -> tuple[str, list[_Row]]:
    if (body.rows is None) == (csv_text is None):
        raise Invalid(
            "give the value rows as `rows` (JSON) or `rows_csv` (CSV), one of them",
            errors=[{"pointer": "#/rows", "detail": "give `rows` or `rows_csv`", "code": "one_of"}],
        )
    if body.rows is not None:
        if not body.rows:
            raise Invalid(
                "`rows` is empty",
                errors=[{"pointer": "#/rows", "detail": "give at least one row", "code": "too_short"}],
            )
        return "json", [_Row(i, values, f"#/rows/{i}") for i, values in enumerate(body.rows)]
    assert csv_text is not None
    parsed, problems = parse_csv_rows(csv_text, template.type_of, template.default_locale)
    if problems:
        raise Invalid(
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
        raise Invalid(
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
        raise Invalid(
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
    row: _Row, exc: ServiceError, origin: Callable[[str], str] | None, own_outputs: bool
) -> list[dict[str, Any]]:
    """Problems of the merged edit (a value the service cannot render with, …): ``pointer`` is
    the row, ``template_pointer`` the place in the template the problem comes from."""
    out = []
    for error in exc.errors or []:
        inner = str(error.get("pointer", "#/edit")).removeprefix("#").removeprefix("/edit")
        entry = {"pointer": row.pointer, "detail": error.get("detail"), "code": error.get("code")}
        # A limit exceeded says which, by how much.
        entry.update({k: error[k] for k in ("limit", "value", "maximum") if k in error})
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
    workspace_id: str,
    body: BatchRequest,
    template: templates.TemplateInfo,
    rows: Sequence[_Row],
) -> tuple[list[_Item], list[dict[str, Any]]]:
    """Every row x locale merged and validated: the items to render and the rejected ones.
    Asset references resolve once, here at the start, so every row uses the same versions."""
    resolving = ResolutionCache()
    locales: list[str | None] = list(body.locales) or [None]
    if len(rows) * len(locales) > MAX_ITEMS:
        raise Invalid(
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
        raise Invalid(unknown[0]["detail"], errors=unknown)
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
                except templates.BrandProblems as exc:
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
                        workspace_id,
                        pointer_prefix="/edit",
                        branded=brand,
                        filled_template=True,
                        resolving=resolving,
                    )
                except ServiceError as exc:
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


def create(
    db: Session,
    services: Services,
    principal: Principal,
    body: BatchRequest,
    csv_text: str | None,
) -> Batch:
    """Plan the batch (every row x locale merged and validated), queue one render per distinct
    merged edit (the renders' own queueing, in this transaction), record the
    batch, its items and ``batch.created``, and commit. Rows that fail are kept on the batch as
    ``rejected``; when ``all_or_nothing`` is set or no row is valid, nothing is created: 422
    listing them all."""
    template = templates.load(db, principal.workspace_id, body.template_id, body.version)
    outputs_problems = _outputs_problems(body.outputs) if body.outputs is not None else []
    if outputs_problems:
        raise Invalid(f"{len(outputs_problems)} problem(s) in `outputs`", errors=outputs_problems)
    source, rows = _rows(body, csv_text, template)
    items, rejected = _plan(db, principal.workspace_id, body, template, rows)
    if rejected and (body.all_or_nothing or not items):
        raise _refused(rejected, bool(items))
    created = Batch(
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
    db.add(created)
    db.flush()
    groups: dict[int, list[_Item]] = {}
    for item in items:
        groups.setdefault(item.position if item.duplicate_of is None else item.duplicate_of, []).append(item)
    accepted: list[_Item] = []
    for group in groups.values():
        made = group[0]
        tag = {
            "id": created.id,
            "items": [{"row": i.row, "locale": i.locale} for i in group],
            "tags": list(body.tags),
        }
        try:
            render = renders.enqueue_render(
                db,
                services,
                principal,
                made.document,
                prepared=made.prepared,
                metadata={"batch": tag},
                template_id=template.id,
                template_version=template.version,
                locale=made.locale,
                tags=body.tags,
                priority=body.priority,
                batch_id=created.id,
                commit=False,
                require_approval=body.require_approval,
                purpose=body.purpose,
            )
        except ServiceError as exc:
            if not isinstance(exc, Invalid):
                raise
            # The workspace's brand compliance, or unapproved media in a publication batch, blocks
            # this one (it writes nothing before refusing).
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
    created.rejected = sorted(rejected, key=lambda r: (r["row"], order.index(r["locale"])))
    db.add_all(
        BatchItem(
            batch_id=created.id,
            position=i.position,
            row=i.row,
            locale=i.locale,
            render_id=i.render_id,
            duplicate_of=i.duplicate_of,
        )
        for i in accepted
    )
    record_batch_event(db, created, "batch.created")
    db.commit()
    services.wake_renders()
    return created


def _refused(rejected: list[dict[str, Any]], some_valid: bool) -> Invalid:
    count = len(rejected)
    why = "`all_or_nothing` is set" if some_valid else "no row is valid"
    return Invalid(
        f"{count} row x locale combination{'s' if count != 1 else ''} "
        f"{'are' if count != 1 else 'is'} not valid and {why}: nothing was created",
        errors=_problem_list(rejected),
        rejected=rejected,
    )


def batch(db: Session, workspace_id: str, batch_id: str) -> Batch:
    return owned(db, Batch, batch_id, workspace_id, "batch")


# ------------------------------------------------------------------ reading


def batches(workspace_id: str, template_id: str | None) -> Select[Any]:
    query = select(Batch).where(Batch.workspace_id == workspace_id)
    if template_id is not None:
        query = query.where(Batch.template_id == template_id)
    return query


def batch_renders(
    db: Session, workspace_id: str, batch_id: str, *, row: int | None, locale: str | None, state: str | None
) -> tuple[Batch, Select[Any]]:
    """The batch, and the query of its renders filtered by row, locale and state (``running``:
    any running state)."""
    found = batch(db, workspace_id, batch_id)
    items = select(BatchItem.render_id).where(BatchItem.batch_id == found.id)
    if row is not None:
        items = items.where(BatchItem.row == row)
    if locale is not None:
        items = items.where(BatchItem.locale == locale)
    query = select(Render).where(Render.workspace_id == workspace_id, Render.id.in_(items))
    if state == "running":
        query = query.where(Render.state.in_(RUNNING_STATES))
    elif state is not None:
        query = query.where(Render.state == state)
    return found, query


def recent(db: Session, workspace_id: str, limit: int) -> list[dict[str, Any]]:
    """The workspace's newest batches as ``GET /v1/batches/{id}`` shows them."""
    query = batches(workspace_id, None).order_by(Batch.created_at.desc(), Batch.id.desc()).limit(limit)
    return batches_json(db, list(db.scalars(query)))


@dataclass
class Matrix:
    """A batch laid out as rows x locales: each cell the render (as ``GET /v1/renders/{id}``
    shows it) that makes that row in that locale, its outputs included."""

    batch: dict[str, Any]
    rows: list[int]
    locales: list[str | None]
    cells: dict[tuple[int, str | None], dict[str, Any]]


def matrix(db: Session, workspace_id: str, batch_id: str) -> Matrix:
    found = batch(db, workspace_id, batch_id)
    items = list(
        db.scalars(select(BatchItem).where(BatchItem.batch_id == found.id).order_by(BatchItem.position))
    )
    made = list(db.scalars(select(Render).where(Render.id.in_({i.render_id for i in items}))))
    assets = output_assets(db, made)
    shown = {r.id: render_json(r, assets) for r in made}
    rows = list(dict.fromkeys(i.row for i in items))
    locales = list(dict.fromkeys(i.locale for i in items))
    cells = {(i.row, i.locale): shown[i.render_id] for i in items if i.render_id in shown}
    return Matrix(batch_json(db, found), rows, locales, cells)


# ------------------------------------------------------------------ cancelling


def cancel(db: Session, workspace_id: str, batch_id: str, actor: Actor) -> Batch:
    """Queued renders are cancelled at once, running ones asked to stop; the batch is
    ``cancelled`` once its last render ended. 409 when every render has ended already; asking
    twice changes nothing. Commits."""
    batch(db, workspace_id, batch_id)
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
    found = db.scalars(
        select(Batch).where(Batch.id == batch_id).execution_options(populate_existing=True)
    ).one()
    if not claimed:
        if found.finished_at is not None:
            db.rollback()
            raise Conflict(
                f"the batch already finished ({batch_json(db, found)['state']}); there is nothing to cancel",
            )
        # Asked already: the renders were told then; asking again changes nothing and emits nothing.
        db.commit()
        return found
    renders = select(BatchItem.render_id).where(BatchItem.batch_id == found.id)
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
    record_batch_event(db, found, "batch.cancelled")
    record_audit(
        db,
        workspace_id=found.workspace_id,
        action="batch.cancelled",
        resource_type="batch",
        resource_id=found.id,
        details={"renders_cancelled": len(dropped)},
        **actor,
    )
    settle_batches(db, dropped)
    db.commit()
    db.refresh(found)
    return found
