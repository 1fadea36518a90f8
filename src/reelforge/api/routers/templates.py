"""Templates: an edit with typed variables, stored with versions; previewed and rendered with values.

A template's ETag is its version number (``"3"``), as a project's is its revision: PUT and
restore need ``If-Match`` (428 without it, 412 when stale) and the version bump is one
``UPDATE … WHERE version = :expected``. A render from a template is an ordinary render that
records the template, version and locale it came from.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Annotated, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import CursorResult, and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reelforge.db.events import record_event
from reelforge.db.models import Asset, new_id, utcnow
from reelforge.db.templates import Template, TemplateVersion
from reelforge.jobs.worker import queue_positions
from reelforge.media.resolver import is_asset_id
from reelforge.representations import json_ready, render_json
from reelforge.spec import templates as spec
from reelforge.spec.errors import EditError, Problem, pointer
from reelforge.spec.models import Edit

from .. import examples_templates as ex
from ..auth import Principal, check_scope, require
from ..edits import prepare_service_edit
from ..idempotency import Idempotency, idempotency
from ..pagination import decode_cursor, encode_cursor, list_body, page
from ..problems import ApiError
from ..services import Services, get_db, get_services
from .projects import STAR_RETRIES, _none_match, _Precondition, etag, stale
from .renders import MAX_METADATA_BYTES, _dry_run, enqueue_render

router = APIRouter(tags=["templates"])

MAX_VALUES_BYTES = 256 * 1024


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    edit: dict[str, Any]
    """The edit, with `{{placeholders}}`, `repeat`, `if` and `unless` (see the edit format's Templates)."""
    variables: list[Any] = Field(default_factory=list, max_length=200)
    """The declared variables: name, type, default, required, validation, localizable…"""
    locales: list[Any] = Field(default_factory=list, max_length=100)
    default_locale: str | None = Field(None, max_length=35)
    message: str = Field("", max_length=500)
    """Says what this version is, in the version history."""


class TemplateReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    """A new name; omitted keeps the current one."""
    edit: dict[str, Any]
    variables: list[Any] = Field(default_factory=list, max_length=200)
    locales: list[Any] = Field(default_factory=list, max_length=100)
    default_locale: str | None = Field(None, max_length=35)
    message: str = Field("", max_length=500)


class VersionRestore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str | None = Field(None, max_length=500)
    """Default: "restored version N"."""


class TemplateValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any] = Field(default_factory=dict)
    """The variables' values by name; a localizable one may be `{"$locales": {"en": …, "fr": …}}`."""
    locale: str | None = Field(None, max_length=35)
    """Which locale's values to use (default: the template's default locale)."""
    version: int | None = Field(None, ge=1)
    """A version of the template (default: the current one)."""


class TemplateRenderCreate(TemplateValues):
    outputs: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=20)
    """Outputs instead of the template's own (e.g. other aspect ratios)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free JSON kept with the render (at most 16 KiB)."""
    dry_run: bool = False
    """Validate and return the plan; create nothing."""


# ---------------------------------------------------------------- representations


def _document(body: TemplateCreate | TemplateReplace) -> dict[str, Any]:
    doc: dict[str, Any] = {"edit": body.edit, "variables": body.variables}
    if body.locales:
        doc["locales"] = body.locales
    if body.default_locale is not None:
        doc["default_locale"] = body.default_locale
    return doc


def template_json(template: Template, document: dict[str, Any]) -> dict[str, Any]:
    base = f"/v1/templates/{template.id}"
    return {"id": template.id, "object": "template", "name": template.name, "version": template.version,
            "edit": document.get("edit"), "variables": document.get("variables", []),
            "locales": document.get("locales", []), "default_locale": document.get("default_locale"),
            "created_at": template.created_at, "updated_at": template.updated_at,
            "versions_url": f"{base}/versions", "variables_url": f"{base}/variables"}


def version_json(version: TemplateVersion) -> dict[str, Any]:
    doc = version.document
    return {"object": "template_version", "template": version.template_id, "number": version.number,
            "edit": doc.get("edit"), "variables": doc.get("variables", []), "locales": doc.get("locales", []),
            "default_locale": doc.get("default_locale"), "message": version.message,
            "created_at": version.created_at}


def _event(db: Session, template: Template, type: str, *, version: int | None = None, name: str | None = None,
           updated_at: Any = None, message: str | None = None) -> None:
    """``template.<what>`` with the template as the API shows it, without its edit (thin events)."""
    data = template_json(template, {})
    for key in ("edit", "variables", "locales", "default_locale"):
        data.pop(key)
    data.update({k: v for k, v in (("version", version), ("name", name), ("updated_at", updated_at)) if v is not None})
    if message is not None:
        data["version_message"] = message
    record_event(db, workspace_id=template.workspace_id, type=type, resource_type="template",
                 resource_id=template.id, data=json_ready(data))


def _respond(response: Response, template: Template, document: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = etag(template.version)
    return template_json(template, document)


# ---------------------------------------------------------------- checking


def _problems(code: str, detail: str, problems: list[Problem], prefix: str = "", **extra: Any) -> ApiError:
    return ApiError(code, detail, errors=[{"pointer": "#" + prefix + p.pointer, "detail": p.message, "code": p.code}
                                          for p in problems], **extra)


def _count(problems: list[Problem]) -> str:
    return f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"


def _literal_assets(edit: Any, path: tuple[str | int, ...] = ("edit",)) -> list[tuple[str, str]]:
    """Asset ids written in the template itself (not through a variable), with their pointers."""
    found: list[tuple[str, str]] = []
    if isinstance(edit, str) and is_asset_id(edit):
        found.append((edit, pointer(*path)))
    elif isinstance(edit, dict):
        for key, value in edit.items():
            found.extend(_literal_assets(value, (*path, key)))
    elif isinstance(edit, list):
        for i, value in enumerate(edit):
            found.extend(_literal_assets(value, (*path, i)))
    return found


def check_template(document: dict[str, Any], db: Session, workspace_id: str) -> spec.Template:
    """The parsed template, or 422 ``template-invalid`` listing every problem with its pointer
    into the body: variable definitions, placeholders without a variable, repeats, conditions,
    the edit's own fields, and asset ids written in the template that this workspace lacks."""
    try:
        template = spec.parse_template(document)
    except EditError as exc:
        raise _problems("template-invalid", f"{_count(list(exc.problems))} in the template",
                        list(exc.problems)) from None
    literal = _literal_assets(template.edit)
    if literal:
        ids = {a for a, _ in literal}
        present = set(db.scalars(select(Asset.id).where(Asset.workspace_id == workspace_id, Asset.id.in_(ids))))
        missing = [Problem(ptr, f"no asset {a} in this workspace", "asset_not_found")
                   for a, ptr in literal if a not in present]
        if missing:
            raise _problems("template-invalid", f"{_count(missing)} in the template", missing)
    return template


def asset_lookup(db: Session, workspace_id: str) -> Callable[[str], spec.AssetFacts | None]:
    """``asset_info`` for :func:`spec.fill_template` in the service: an asset variable takes an
    asset id of this workspace; its kind and probed size come from the asset's row."""
    cache: dict[str, spec.AssetFacts | None] = {}

    def lookup(ref: str) -> spec.AssetFacts | None:
        if ref not in cache:
            row = db.execute(select(Asset.kind, Asset.media).where(Asset.id == ref, Asset.workspace_id == workspace_id)
                             ).first() if is_asset_id(ref) else None
            media = dict(row.media or {}) if row is not None else {}
            cache[ref] = None if row is None else {"kind": row.kind, "width": media.get("width"),
                                                   "height": media.get("height")}
        return cache[ref]

    return lookup


def merge_values(db: Session, workspace_id: str, template: Template, version: TemplateVersion,
                 body: TemplateValues, outputs: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], Edit]:
    """The template filled with the body's values, checked as a render would be: 422
    ``values-invalid`` (pointers ``#/values/…``, ``#/locale``) for values that do not fit the
    variables, 422 ``edit-invalid`` for a merged edit the service cannot render (pointers into
    the template version, or ``#/outputs/…`` for the outputs given)."""
    parsed = spec.parse_template(version.document)
    if len(json.dumps(body.values, default=str)) > MAX_VALUES_BYTES:
        raise ApiError("content-too-large", f"values may be at most {MAX_VALUES_BYTES // 1024} KiB")
    try:
        filled, origin = spec.fill_template_traced(parsed, body.values, locale=body.locale,
                                                   asset_info=asset_lookup(db, workspace_id))
    except EditError as exc:
        problems = list(exc.problems)
        raise _problems("values-invalid", f"{_count(problems)} in the values for template {template.id} "
                        f"(version {version.number})", problems, template_id=template.id,
                        version=version.number) from None
    if outputs is not None:
        filled["outputs"] = copy.deepcopy(outputs)
    locale = body.locale or parsed.default_locale
    try:
        # A brand kit the edit names fills its `{{brand.…}}` placeholders (in the locale's fonts).
        prepared = prepare_service_edit(filled, db, workspace_id, pointer_prefix="", locale=locale)
    except ApiError as exc:
        errors = []
        for err in exc.errors or []:
            ptr = str(err.get("pointer", "#"))[1:]
            if outputs is not None and (ptr == "/outputs" or ptr.startswith("/outputs/")):
                where = "#" + ptr
            else:
                where = "#" + origin(ptr)
            errors.append({**err, "pointer": where})
        raise ApiError(exc.code, f"version {version.number} of template {template.id} filled with these values: "
                       f"{exc.detail} (pointers into the template, or into this body's `outputs`)",
                       errors=errors, template_id=template.id, version=version.number) from None
    return dict(prepared.document), prepared.edit


# ---------------------------------------------------------------- lookups and versions


def _template(db: Session, principal: Principal, template_id: str) -> tuple[Template, TemplateVersion]:
    """The template and its current version; another workspace's template does not exist."""
    row = db.execute(
        select(Template, TemplateVersion)
        .join(TemplateVersion, and_(TemplateVersion.template_id == Template.id,
                                    TemplateVersion.number == Template.version))
        .where(Template.id == template_id, Template.workspace_id == principal.workspace_id)
    ).first()
    if row is None:
        raise ApiError("not-found", f"no template {template_id}")
    return row[0], row[1]


def _version(db: Session, template: Template, number: int | None, where: str | None = None) -> TemplateVersion:
    number = number or template.version
    version = db.scalar(select(TemplateVersion).where(TemplateVersion.template_id == template.id,
                                                      TemplateVersion.number == number))
    if version is None:
        errors = [{"pointer": where, "code": "not_found", "detail": f"no version {number}"}] if where else None
        raise ApiError("not-found", f"template {template.id} has no version {number} (the latest is "
                       f"{template.version})", errors=errors)
    return version


class _LostRace(Exception):
    pass


def _new_version(db: Session, template: Template, expected: int, document: dict[str, Any], message: str,
                 name: str | None) -> None:
    """Make version ``expected + 1`` current, only if the template is still at ``expected`` (the
    UPDATE's WHERE is the check, as for project revisions)."""
    now = utcnow()
    values: dict[str, Any] = {"version": Template.version + 1, "updated_at": now}
    if name is not None:
        values["name"] = name
    result = cast(CursorResult[Any], db.execute(
        update(Template).where(Template.id == template.id, Template.version == expected).values(**values)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        db.rollback()
        raise _LostRace
    db.add(TemplateVersion(id=new_id("tpv"), template_id=template.id, number=expected + 1, document=document,
                           message=message, created_at=now))
    _event(db, template, "template.updated", version=expected + 1, name=name, updated_at=now, message=message)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise _LostRace from None
    db.refresh(template)


def _change(request: Request, db: Session, principal: Principal, template_id: str,
            make: Callable[[Template, TemplateVersion], tuple[dict[str, Any], str, str | None]],
            ) -> tuple[Template, dict[str, Any]]:
    attempts = 1
    while True:
        template, current = _template(db, principal, template_id)
        condition = _Precondition(request, template.version, required=True, what="template", unit="version")
        document, message, name = make(template, current)
        try:
            _new_version(db, template, template.version, document, message, name)
        except _LostRace:
            if condition.star and attempts < STAR_RETRIES:
                attempts += 1
                continue
            now = db.scalar(select(Template.version).where(Template.id == template_id))
            raise stale(now, request.headers.get("if-match"), what="template", unit="version") from None
        return template, document


# ---------------------------------------------------------------- routes


@router.post("/v1/templates", status_code=201, summary="Create a template (version 1)",
             responses=ex.CREATE_TEMPLATE_RESPONSES)
def create_template(body: Annotated[TemplateCreate, Body(openapi_examples=ex.CREATE_TEMPLATE_BODY)],
                    response: Response, db: Session = Depends(get_db),
                    services: Services = Depends(get_services),
                    principal: Principal = Depends(require("templates:write")),
                    idem: Idempotency = Depends(idempotency)) -> dict[str, Any]:
    """The template is checked whole: variable definitions and defaults, every `{{placeholder}}`
    names a declared variable (or `brand.*`, `locale`, or inside a `repeat` its item), repeats
    and conditions name fitting variables, the edit's own fields are valid, and asset ids
    written in it exist. Problems come back together as 422 `template-invalid`, each with a
    pointer into the body."""
    document = _document(body)
    check_template(document, db, principal.workspace_id)
    now = utcnow()
    template = Template(id=new_id("tpl"), workspace_id=principal.workspace_id, name=body.name, version=1,
                        created_at=now, updated_at=now)
    db.add(template)
    db.flush()
    db.add(TemplateVersion(id=new_id("tpv"), template_id=template.id, number=1, document=document,
                           message=body.message, created_at=now))
    _event(db, template, "template.created", message=body.message)
    location = f"{services.settings.public_url.rstrip('/')}/v1/templates/{template.id}"
    created = template_json(template, document)
    idem.stage(db, created, status=201, headers={"Location": location, "ETag": etag(1)})
    db.commit()
    response.headers["Location"] = location
    return _respond(response, template, document)


@router.get("/v1/templates", summary="List templates, newest first", responses=ex.LIST_TEMPLATES_RESPONSES)
def list_templates(
    request: Request, response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200,
                                      description="Templates whose name contains this text (case-insensitive)")] = None,
    db: Session = Depends(get_db), services: Services = Depends(get_services),
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    query = select(Template).where(Template.workspace_id == principal.workspace_id)
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Template.name.ilike(f"%{escaped}%", escape="\\"))
    rows, nxt = page(request, response, query, Template, key=services.secrets.cursor_key, limit=limit, cursor=cursor,
                     filters={"name": name, "list": "templates"}, db=db)
    documents: dict[str, dict[str, Any]] = {}
    if rows:
        found = db.execute(
            select(TemplateVersion.template_id, TemplateVersion.document)
            .join(Template, and_(Template.id == TemplateVersion.template_id, Template.version == TemplateVersion.number))
            .where(TemplateVersion.template_id.in_([t.id for t in rows])))
        documents = {row.template_id: row.document for row in found}
    return list_body(request, [template_json(t, documents[t.id]) for t in rows if t.id in documents], nxt)


@router.get("/v1/templates/{template_id}", summary="Get a template with its current version",
            responses=ex.GET_TEMPLATE_RESPONSES)
def get_template(template_id: str, request: Request, response: Response, db: Session = Depends(get_db),
                 principal: Principal = Depends(require("templates:read"))) -> Any:
    template, current = _template(db, principal, template_id)
    if _none_match(request, template.version):
        return Response(status_code=304, headers={"ETag": etag(template.version)})
    return _respond(response, template, current.document)


@router.put("/v1/templates/{template_id}", summary="Replace a template (a new version; needs If-Match)",
            responses=ex.REPLACE_TEMPLATE_RESPONSES)
def replace_template(template_id: str,
                     body: Annotated[TemplateReplace, Body(openapi_examples=ex.REPLACE_TEMPLATE_BODY)],
                     request: Request, response: Response, db: Session = Depends(get_db),
                     principal: Principal = Depends(require("templates:write"))) -> dict[str, Any]:
    """`If-Match` must be the template's current ETag (from GET): 428 without it, 412 when
    someone changed it since; `If-Match: *` overwrites whatever is there. Renders already made
    keep the version they were made from."""
    document = _document(body)

    def make(template: Template, current: TemplateVersion) -> tuple[dict[str, Any], str, str | None]:
        check_template(document, db, principal.workspace_id)
        return document, body.message, body.name

    template, document = _change(request, db, principal, template_id, make)
    return _respond(response, template, document)


@router.delete("/v1/templates/{template_id}", status_code=204,
               summary="Delete a template and its versions (If-Match optional)",
               responses=ex.DELETE_TEMPLATE_RESPONSES)
def delete_template(template_id: str, request: Request, db: Session = Depends(get_db),
                    principal: Principal = Depends(require("templates:write"))) -> Response:
    template, _ = _template(db, principal, template_id)
    condition = _Precondition(request, template.version, required=False, what="template", unit="version")
    query = delete(Template).where(Template.id == template.id).execution_options(synchronize_session=False)
    if not condition.star:
        query = query.where(Template.version == template.version)
    result = cast(CursorResult[Any], db.execute(query))
    if result.rowcount != 1:
        db.rollback()
        current = db.scalar(select(Template.version).where(Template.id == template.id))
        if current is None:
            raise ApiError("not-found", f"no template {template_id}")
        raise stale(current, request.headers.get("if-match"), what="template", unit="version")
    # Versions go with it (ON DELETE CASCADE); renders keep their edit and the template's id.
    _event(db, template, "template.deleted")
    db.commit()
    return Response(status_code=204)


@router.get("/v1/templates/{template_id}/versions", summary="List a template's versions, newest first",
            responses=ex.LIST_VERSIONS_RESPONSES)
def list_versions(template_id: str, request: Request, response: Response,
                  limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: str | None = None,
                  db: Session = Depends(get_db), services: Services = Depends(get_services),
                  principal: Principal = Depends(require("templates:read"))) -> dict[str, Any]:
    template, _ = _template(db, principal, template_id)
    filters = {"list": "template_versions", "template": template.id}
    query = select(TemplateVersion).where(TemplateVersion.template_id == template.id)
    if cursor:
        _, after = decode_cursor(services.secrets.cursor_key, cursor, filters)
        if not after.isdigit():
            raise ApiError("invalid-cursor", "the cursor is not valid for this list",
                           errors=[{"parameter": "cursor", "detail": "invalid cursor", "code": "invalid_cursor"}])
        query = query.where(TemplateVersion.number < int(after))
    rows = list(db.scalars(query.order_by(TemplateVersion.number.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(services.secrets.cursor_key, last.created_at, str(last.number), filters)
        params = {k: v for k, v in request.query_params.items() if k != "cursor"}
        params["cursor"] = next_cursor
        response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return list_body(request, [version_json(v) for v in rows], next_cursor)


@router.get("/v1/templates/{template_id}/versions/{number}", summary="Get one version of a template",
            responses=ex.GET_VERSION_RESPONSES)
def get_version(template_id: str, number: int, db: Session = Depends(get_db),
                principal: Principal = Depends(require("templates:read"))) -> dict[str, Any]:
    template, _ = _template(db, principal, template_id)
    return version_json(_version(db, template, number))


@router.post("/v1/templates/{template_id}/versions/{number}/restore",
             summary="Make an old version current again (a new version; needs If-Match)",
             responses=ex.RESTORE_VERSION_RESPONSES)
def restore_version(template_id: str, number: int, request: Request, response: Response,
                    body: Annotated[VersionRestore | None, Body(openapi_examples=ex.RESTORE_VERSION_BODY)] = None,
                    db: Session = Depends(get_db),
                    principal: Principal = Depends(require("templates:write")),
                    idem: Idempotency = Depends(idempotency)) -> dict[str, Any]:
    """The old version is checked again (an asset it names may be gone) and becomes a new
    version; the history is never rewritten."""
    restored: dict[str, Any] = {}

    def make(template: Template, current: TemplateVersion) -> tuple[dict[str, Any], str, str | None]:
        old = _version(db, template, number)
        check_template(old.document, db, principal.workspace_id)
        message = body.message if body is not None and body.message is not None else f"restored version {number}"
        restored["document"] = copy.deepcopy(old.document)
        return restored["document"], message, None

    def staged() -> tuple[int, dict[str, Any], dict[str, str]]:
        # Inside the new version's commit: the response as it will be sent.
        template = db.get(Template, template_id, populate_existing=True)
        assert template is not None
        return 200, template_json(template, restored["document"]), {"ETag": etag(template.version)}

    idem.stage_at_commit(db, staged)
    template, document = _change(request, db, principal, template_id, make)
    return _respond(response, template, document)


@router.get("/v1/templates/{template_id}/variables", summary="The template's values as JSON Schema",
            responses=ex.VARIABLES_RESPONSES)
def get_variables(template_id: str,
                  version: Annotated[int | None, Query(ge=1, description="A version (default: the current one)")] = None,
                  db: Session = Depends(get_db),
                  principal: Principal = Depends(require("templates:read"))) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the `values` object that preview and renders take: one
    property per variable with its type, constraints, default and description; a localizable
    variable also accepts `{"$locales": {"en": …, "fr": …}}`. Asset variables carry their
    allowed kinds in `x-asset-kinds` (and `x-min-width`/`x-min-height`)."""
    template, _ = _template(db, principal, template_id)
    chosen = _version(db, template, version)
    schema = spec.values_schema(spec.parse_template(chosen.document))
    schema["$id"] = f"/v1/templates/{template.id}/variables?version={chosen.number}"
    return schema


@router.post("/v1/templates/{template_id}/preview", summary="Fill a template with values, without rendering",
             responses=ex.PREVIEW_RESPONSES)
def preview_template(template_id: str, body: Annotated[TemplateValues, Body(openapi_examples=ex.PREVIEW_BODY)],
                     db: Session = Depends(get_db),
                     principal: Principal = Depends(require("templates:read"))) -> dict[str, Any]:
    """The merged edit, checked as a render would check it: values that do not fit the variables
    come back together as 422 `values-invalid` with pointers `#/values/<name>[/<index>/<field>]`
    (and `#/locale`), each naming the variable; a merged edit the service cannot render as 422
    `edit-invalid` with pointers into the template."""
    template, _ = _template(db, principal, template_id)
    version = _version(db, template, body.version, "#/version")
    filled, _ = merge_values(db, principal.workspace_id, template, version, body)
    parsed = spec.parse_template(version.document)
    return {"object": "template_preview", "template": {"id": template.id, "version": version.number,
                                                       "locale": body.locale or parsed.default_locale},
            "edit": filled}


@router.post("/v1/templates/{template_id}/renders", status_code=202,
             summary="Render a template filled with values", responses=ex.RENDER_TEMPLATE_RESPONSES)
def render_template(template_id: str,
                    body: Annotated[TemplateRenderCreate, Body(openapi_examples=ex.RENDER_TEMPLATE_BODY)],
                    response: Response, db: Session = Depends(get_db),
                    services: Services = Depends(get_services),
                    principal: Principal = Depends(require("templates:read")),
                    idem: Idempotency = Depends(idempotency)) -> dict[str, Any]:
    """Fill the template (as preview does) and queue an ordinary render of the merged edit
    (needs `renders:write` too). The render shows `template: {id, version, locale}`. `outputs`
    replaces the template's outputs. `dry_run` returns the plan instead (200), creating nothing."""
    check_scope(principal, "renders:write")
    template, _ = _template(db, principal, template_id)
    version = _version(db, template, body.version, "#/version")
    if len(json.dumps(body.metadata, default=str)) > MAX_METADATA_BYTES:
        raise ApiError("validation-error", "1 problem in the request", errors=[
            {"pointer": "#/metadata", "code": "too_large", "detail": f"at most {MAX_METADATA_BYTES // 1024} KiB"}])
    filled, edit = merge_values(db, principal.workspace_id, template, version, body, body.outputs)
    locale = body.locale or spec.parse_template(version.document).default_locale
    if body.dry_run:
        services_plan = _dry_run(services, principal.workspace_id, edit, "")
        response.status_code = 200
        return {**services_plan, "template": {"id": template.id, "version": version.number, "locale": locale}}
    render = enqueue_render(db, services, principal, filled, edit=edit, pointer_prefix="",
                            metadata=body.metadata, template_id=template.id, template_version=version.number,
                            locale=locale, commit=False)
    location = f"{services.settings.public_url.rstrip('/')}/v1/renders/{render.id}"
    created = render_json(render, {}, queue_positions(db, [render]).get(render.id))
    idem.stage(db, created, status=202, headers={"Location": location})  # commits with the render
    db.commit()
    if services.worker is not None:
        services.worker.wake()
    response.headers["Location"] = location
    return created
