"""Templates: an edit with typed variables, stored with versions; previewed and rendered with values.

A template's ETag is its version number (``"3"``), as a project's is its revision: PUT and
restore need ``If-Match`` (428 without it, 412 when stale) and the version bump is one
``UPDATE … WHERE version = :expected`` (api/versioning.py). A render from a template is an ordinary render that
records the template, version and locale it came from.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.events import record_event
from reelforge.db.models import Asset
from reelforge.db.templates import Template, TemplateVersion
from reelforge.edit import templates as spec
from reelforge.edit.errors import EditError, Problem, pointer
from reelforge.edit.variables import PLACEHOLDER
from reelforge.media.resolver import is_asset_id
from reelforge.representations import json_ready
from reelforge.services.context import Services
from reelforge.services.renders import MAX_METADATA_BYTES, enqueue_render, queued_answer
from reelforge.services.renders import plan_render as _dry_run

from .. import batch_templates as templates_access
from .. import examples_templates as ex
from ..audit import audit_actor
from ..auth import Principal, check_scope, require
from ..brands import current_kit
from ..deps import get_db, get_services
from ..edits import PreparedEdit, non_finite, prepare_service_edit
from ..idempotency import Idempotency, idempotency
from ..problems import ApiError
from ..versioning import Change, Versioned, etag

router = APIRouter(tags=["templates"])

MAX_VALUES_BYTES = 256 * 1024


class TemplateReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    """A new name; omitted keeps the current one."""
    edit: dict[str, Any]
    """The edit, with `{{placeholders}}`, `repeat`, `if` and `unless` (see the edit format's Templates)."""
    variables: list[Any] = Field(default_factory=list, max_length=200)
    """The declared variables: name, type, default, required, validation, localizable…"""
    locales: list[Any] = Field(default_factory=list, max_length=100)
    default_locale: str | None = Field(None, max_length=35)
    message: str = Field("", max_length=500)
    """Says what this version is, in the version history."""


class TemplateCreate(TemplateReplace):
    # A template's first version: as a replacement, with its name. (No docstring: it would
    # become the schema's description.)
    name: str = Field(min_length=1, max_length=200)


class VersionRestore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str | None = Field(None, max_length=500)
    """Default: "restored version N"."""


class TemplateValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any] = Field(default_factory=dict)
    """The variables' values by name; a localizable one may be `{"$locales": {"en": …, "fr": …}}`."""
    locale: str | None = Field(None, max_length=35, pattern=spec.LOCALE_PATTERN)
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
    return {
        "id": template.id,
        "object": "template",
        "name": template.name,
        "version": template.version,
        "edit": document.get("edit"),
        "variables": document.get("variables", []),
        "locales": document.get("locales", []),
        "default_locale": document.get("default_locale"),
        "created_at": template.created_at,
        "updated_at": template.updated_at,
        "versions_url": f"{base}/versions",
        "variables_url": f"{base}/variables",
    }


def version_json(version: TemplateVersion) -> dict[str, Any]:
    doc = version.document
    return {
        "object": "template_version",
        "template": version.template_id,
        "number": version.number,
        "edit": doc.get("edit"),
        "variables": doc.get("variables", []),
        "locales": doc.get("locales", []),
        "default_locale": doc.get("default_locale"),
        "message": version.message,
        "created_at": version.created_at,
    }


def _event(
    db: Session,
    template: Template,
    type: str,
    *,
    version: int | None = None,
    name: str | None = None,
    updated_at: Any = None,
    message: str | None = None,
) -> None:
    """``template.<what>`` with the template as the API shows it, without its edit (thin events)."""
    data = template_json(template, {})
    for key in ("edit", "variables", "locales", "default_locale"):
        data.pop(key)
    data.update(
        {k: v for k, v in (("version", version), ("name", name), ("updated_at", updated_at)) if v is not None}
    )
    if message is not None:
        data["version_message"] = message
    record_event(
        db,
        workspace_id=template.workspace_id,
        type=type,
        resource_type="template",
        resource_id=template.id,
        data=json_ready(data),
    )


def _updated(
    db: Session, template: Template, number: int, name: str | None, at: datetime, message: str
) -> None:
    _event(db, template, "template.updated", version=number, name=name, updated_at=at, message=message)


TEMPLATES: Versioned[Template, TemplateVersion] = Versioned(
    Template,
    TemplateVersion,
    counter="version",
    owner="template_id",
    content="document",
    id_prefix="tpl",
    version_prefix="tpv",
    what="template",
    unit="version",
    versions_list="template_versions",
    owner_filter="template",
    show=template_json,
    show_version=version_json,
    on_update=_updated,
)


# ---------------------------------------------------------------- checking


def _problems(code: str, detail: str, problems: list[Problem], prefix: str = "", **extra: Any) -> ApiError:
    return ApiError(
        code,
        detail,
        errors=[{"pointer": "#" + prefix + p.pointer, "detail": p.message, "code": p.code} for p in problems],
        **extra,
    )


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
    # NaN and Infinity parse in Python (and PostgreSQL refuses them); they are no JSON numbers.
    infinite = list(non_finite(document))
    if infinite:
        raise _problems("template-invalid", f"{_count(infinite)} in the template", infinite)
    try:
        template = spec.parse_template(document)
    except EditError as exc:
        raise _problems(
            "template-invalid", f"{_count(list(exc.problems))} in the template", list(exc.problems)
        ) from None
    missing: list[Problem] = []
    literal = _literal_assets(template.edit)
    if literal:
        ids = {a for a, _ in literal}
        present = set(
            db.scalars(select(Asset.id).where(Asset.workspace_id == workspace_id, Asset.id.in_(ids)))
        )
        missing += [
            Problem(ptr, f"no asset {a} in this workspace", "asset_not_found")
            for a, ptr in literal
            if a not in present
        ]
    kit = template.edit.get("brand")
    if isinstance(kit, str) and not PLACEHOLDER.search(kit) and current_kit(db, workspace_id, kit) is None:
        # The same answer for another workspace's kit: ids are not disclosed.
        missing.append(Problem("/edit/brand", f"no brand kit {kit} in this workspace", "brand_not_found"))
    if missing:
        raise _problems("template-invalid", f"{_count(missing)} in the template", missing)
    return template


def stored_template(template: Template, version: TemplateVersion) -> templates_access.TemplateInfo:
    """The version, parsed once for the request (422 ``edit-invalid`` with pointers into it when
    a rule added since it was saved refuses it)."""
    return templates_access.parsed(template.id, version.number, version.document, template.workspace_id)


def merge_values(
    db: Session,
    workspace_id: str,
    template: Template,
    version: TemplateVersion,
    body: TemplateValues,
    outputs: list[dict[str, Any]] | None = None,
    *,
    info: templates_access.TemplateInfo | None = None,
    brand_override: str | None = None,
) -> PreparedEdit:
    """The template filled with the body's values, checked as a render would be: 422
    ``values-invalid`` (pointers ``#/values/…``, ``#/locale``) for values that do not fit the
    variables, 422 ``edit-invalid`` for a merged edit the service cannot render (pointers into
    the template version, or ``#/outputs/…`` for the outputs given). The brand kit the edit
    names (or ``brand_override``) fills the template's ``{{brand.…}}`` before the values go in."""
    info = info or stored_template(template, version)
    if len(json.dumps(body.values, default=str)) > MAX_VALUES_BYTES:
        raise ApiError("content-too-large", f"values may be at most {MAX_VALUES_BYTES // 1024} KiB")
    where = f"version {version.number} of template {template.id} filled with these values"
    try:
        filled = info.fill(db, body.values, body.locale, brand_kit=brand_override)
    except EditError as exc:
        problems = list(exc.problems)
        raise _problems(
            "values-invalid",
            f"{_count(problems)} in the values for template {template.id} (version {version.number})",
            problems,
            template_id=template.id,
            version=version.number,
        ) from None
    except templates_access.BrandProblems as exc:
        raise _problems(
            "edit-invalid",
            f"{where}: {_count(exc.problems)} with the brand kit (pointers into the template)",
            exc.problems,
            template_id=template.id,
            version=version.number,
        ) from None
    document = filled.document
    if outputs is not None:
        document["outputs"] = copy.deepcopy(outputs)
    try:
        return prepare_service_edit(
            document, db, workspace_id, pointer_prefix="", branded=filled.brand, filled_template=True
        )
    except ApiError as exc:
        errors = []
        for err in exc.errors or []:
            ptr = str(err.get("pointer", "#"))[1:]
            if outputs is not None and (ptr == "/outputs" or ptr.startswith("/outputs/")):
                at = "#" + ptr
            else:
                at = "#" + filled.origin(ptr)
            errors.append({**err, "pointer": at})
        raise ApiError(
            exc.code,
            f"{where}: {exc.detail} (pointers into the template, or into this body's `outputs`)",
            errors=errors,
            template_id=template.id,
            version=version.number,
        ) from None


# ---------------------------------------------------------------- routes


@router.post(
    "/v1/templates",
    status_code=201,
    summary="Create a template (version 1)",
    responses=ex.CREATE_TEMPLATE_RESPONSES,
)
def create_template(
    body: Annotated[TemplateCreate, Body(openapi_examples=ex.CREATE_TEMPLATE_BODY)],
    response: Response,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("templates:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The template is checked whole: variable definitions and defaults, every `{{placeholder}}`
    names a declared variable (or `brand.*`, `locale`, or inside a `repeat` its item), repeats
    and conditions name fitting variables, the edit's own fields are valid, and asset ids
    written in it exist. Problems come back together as 422 `template-invalid`, each with a
    pointer into the body."""
    document = _document(body)
    check_template(document, db, principal.workspace_id)
    template = TEMPLATES.create(db, principal.workspace_id, body.name, document, body.message)
    _event(db, template, "template.created", message=body.message)
    location = f"{services.settings.public_url.rstrip('/')}/v1/templates/{template.id}"
    created = template_json(template, document)
    idem.stage(db, created, status=201, headers={"Location": location, "ETag": etag(1)})
    db.commit()
    response.headers["Location"] = location
    return TEMPLATES.respond(response, template, document)


@router.get("/v1/templates", summary="List templates, newest first", responses=ex.LIST_TEMPLATES_RESPONSES)
def list_templates(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    name: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Templates whose name contains this text (case-insensitive)",
        ),
    ] = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    return TEMPLATES.list_current(
        request,
        response,
        db,
        principal.workspace_id,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"name": name, "list": "templates"},
        name=name,
    )


@router.get(
    "/v1/templates/{template_id}",
    summary="Get a template with its current version",
    responses=ex.GET_TEMPLATE_RESPONSES,
)
def get_template(
    template_id: str,
    request: Request,
    response: Response,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("templates:read")),
) -> Any:
    template, current = TEMPLATES.current(db, principal.workspace_id, template_id)
    return TEMPLATES.not_modified(request, template) or TEMPLATES.respond(
        response, template, current.document
    )


@router.put(
    "/v1/templates/{template_id}",
    summary="Replace a template (a new version; needs If-Match)",
    responses=ex.REPLACE_TEMPLATE_RESPONSES,
)
def replace_template(
    template_id: str,
    body: Annotated[TemplateReplace, Body(openapi_examples=ex.REPLACE_TEMPLATE_BODY)],
    request: Request,
    response: Response,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("templates:write")),
) -> dict[str, Any]:
    """`If-Match` must be the template's current ETag (from GET): 428 without it, 412 when
    someone changed it since; `If-Match: *` overwrites whatever is there. Renders already made
    keep the version they were made from."""
    document = _document(body)

    def make(template: Template, current: TemplateVersion) -> Change:
        check_template(document, db, principal.workspace_id)
        return document, body.message, body.name

    template, document = TEMPLATES.change(request, db, principal.workspace_id, template_id, make)
    return TEMPLATES.respond(response, template, document)


@router.delete(
    "/v1/templates/{template_id}",
    status_code=204,
    summary="Delete a template and its versions (If-Match optional)",
    responses=ex.DELETE_TEMPLATE_RESPONSES,
)
def delete_template(
    template_id: str,
    request: Request,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("templates:write")),
) -> Response:
    template, _ = TEMPLATES.current(db, principal.workspace_id, template_id)
    TEMPLATES.delete(request, db, template)
    # Versions go with it (ON DELETE CASCADE); renders keep their edit and the template's id.
    _event(db, template, "template.deleted")
    record_audit(
        db,
        workspace_id=template.workspace_id,
        action="template.deleted",
        resource_type="template",
        resource_id=template.id,
        details={"name": template.name, "version": template.version},
        **audit_actor(principal, request),
    )
    db.commit()
    return Response(status_code=204)


@router.get(
    "/v1/templates/{template_id}/versions",
    summary="List a template's versions, newest first",
    responses=ex.LIST_VERSIONS_RESPONSES,
)
def list_versions(
    template_id: str,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    template, _ = TEMPLATES.current(db, principal.workspace_id, template_id)
    return TEMPLATES.list_versions(
        request, response, db, template, key=services.secrets.cursor_key, limit=limit, cursor=cursor
    )


@router.get(
    "/v1/templates/{template_id}/versions/{number}",
    summary="Get one version of a template",
    responses=ex.GET_VERSION_RESPONSES,
)
def get_version(
    template_id: str,
    number: int,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    template, _ = TEMPLATES.current(db, principal.workspace_id, template_id)
    return version_json(TEMPLATES.version(db, template, number))


@router.post(
    "/v1/templates/{template_id}/versions/{number}/restore",
    summary="Make an old version current again (a new version; needs If-Match)",
    responses=ex.RESTORE_VERSION_RESPONSES,
)
def restore_version(
    template_id: str,
    number: int,
    request: Request,
    response: Response,
    body: Annotated[VersionRestore | None, Body(openapi_examples=ex.RESTORE_VERSION_BODY)] = None,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("templates:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The old version is checked again (an asset it names may be gone) and becomes a new
    version; the history is never rewritten."""

    def check(document: dict[str, Any]) -> None:
        check_template(document, db, principal.workspace_id)

    template, document = TEMPLATES.restore(
        request,
        db,
        idem,
        principal.workspace_id,
        template_id,
        number,
        body.message if body is not None else None,
        check,
    )
    return TEMPLATES.respond(response, template, document)


@router.get(
    "/v1/templates/{template_id}/variables",
    summary="The template's values as JSON Schema",
    responses=ex.VARIABLES_RESPONSES,
)
def get_variables(
    template_id: str,
    version: Annotated[int | None, Query(ge=1, description="A version (default: the current one)")] = None,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the `values` object that preview and renders take: one
    property per variable with its type, constraints, default and description; a localizable
    variable also accepts `{"$locales": {"en": …, "fr": …}}`. Asset variables carry their
    allowed kinds in `x-asset-kinds` (and `x-min-width`/`x-min-height`)."""
    template, _ = TEMPLATES.current(db, principal.workspace_id, template_id)
    chosen = TEMPLATES.version(db, template, version)
    schema = spec.values_schema(stored_template(template, chosen).template)
    schema["$id"] = f"/v1/templates/{template.id}/variables?version={chosen.number}"
    return schema


@router.post(
    "/v1/templates/{template_id}/preview",
    summary="Fill a template with values, without rendering",
    responses=ex.PREVIEW_RESPONSES,
)
def preview_template(
    template_id: str,
    body: Annotated[TemplateValues, Body(openapi_examples=ex.PREVIEW_BODY)],
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    """The merged edit, checked as a render would check it: values that do not fit the variables
    come back together as 422 `values-invalid` with pointers `#/values/<name>[/<index>/<field>]`
    (and `#/locale`), each naming the variable; a merged edit the service cannot render as 422
    `edit-invalid` with pointers into the template."""
    template, _ = TEMPLATES.current(db, principal.workspace_id, template_id)
    version = TEMPLATES.version(db, template, body.version, "#/version")
    info = stored_template(template, version)
    prepared = merge_values(db, principal.workspace_id, template, version, body, info=info)
    return {
        "object": "template_preview",
        "template": {
            "id": template.id,
            "version": version.number,
            "locale": body.locale or info.default_locale,
        },
        "edit": dict(prepared.document),
    }


@router.post(
    "/v1/templates/{template_id}/renders",
    status_code=202,
    summary="Render a template filled with values",
    responses=ex.RENDER_TEMPLATE_RESPONSES,
)
def render_template(
    template_id: str,
    body: Annotated[TemplateRenderCreate, Body(openapi_examples=ex.RENDER_TEMPLATE_BODY)],
    response: Response,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("templates:read")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Fill the template (as preview does) and queue an ordinary render of the merged edit
    (needs `renders:write` too). The render shows `template: {id, version, locale}`. `outputs`
    replaces the template's outputs. `dry_run` returns the plan instead (200), creating nothing."""
    check_scope(principal, "renders:write")
    template, _ = TEMPLATES.current(db, principal.workspace_id, template_id)
    version = TEMPLATES.version(db, template, body.version, "#/version")
    infinite = list(non_finite(body.metadata))
    if infinite:
        raise ApiError(
            "validation-error",
            f"{_count(infinite)} in the request",
            errors=[
                {"pointer": "#/metadata" + p.pointer, "code": p.code, "detail": p.message} for p in infinite
            ],
        )
    if len(json.dumps(body.metadata, default=str)) > MAX_METADATA_BYTES:
        raise ApiError(
            "validation-error",
            "1 problem in the request",
            errors=[
                {
                    "pointer": "#/metadata",
                    "code": "too_large",
                    "detail": f"at most {MAX_METADATA_BYTES // 1024} KiB",
                }
            ],
        )
    info = stored_template(template, version)
    prepared = merge_values(db, principal.workspace_id, template, version, body, body.outputs, info=info)
    locale = body.locale or info.default_locale
    if body.dry_run:
        services_plan = _dry_run(services, principal.workspace_id, prepared.edit, "")
        response.status_code = 200
        return {**services_plan, "template": {"id": template.id, "version": version.number, "locale": locale}}
    render = enqueue_render(
        db,
        services,
        principal,
        dict(prepared.document),
        prepared=prepared,
        pointer_prefix="",
        metadata=body.metadata,
        template_id=template.id,
        template_version=version.number,
        locale=locale,
        commit=False,
    )
    return queued_answer(db, services, idem, response, render)
