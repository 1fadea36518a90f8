"""Templates: an edit with typed variables, stored with versions; previewed and rendered with values.

A template's ETag is its version number (``"3"``), as a project's is its revision: PUT and
restore need ``If-Match`` (428 without it, 412 when stale) and the version bump is one
``UPDATE … WHERE version = :expected`` (services/versioning.py). A render from a template is an ordinary render that
records the template, version and locale it came from.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import Field

from reelforge.services import imports, templates
from reelforge.services.edits import refuse_unapproved
from reelforge.services.inputs import InputModel
from reelforge.services.renders import MAX_METADATA_BYTES, enqueue_render, plan_render, queued_answer
from reelforge.services.templates import TEMPLATES

from .. import examples_templates as ex
from .. import versioning
from ..audit import audit_actor
from ..auth import Principal, check_scope, require
from ..deps import ServicesDep, SessionDep
from ..idempotency import Idempotency, idempotency
from ..numbers import INTEGER_MAX, VersionNumber
from ..params import CampaignTags
from ..template_bodies import TemplateValues

router = APIRouter(tags=["templates"])


class TemplateReplace(InputModel):
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


class VersionRestore(InputModel):
    message: str | None = Field(None, max_length=500)
    """Default: "restored version N"."""


class TemplateRenderCreate(TemplateValues):
    outputs: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=20)
    """Outputs instead of the template's own (e.g. other aspect ratios)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free JSON kept with the render (at most 16 KiB)."""
    tags: CampaignTags
    """Campaign tags (at most 20): `GET /v1/analytics/renders?group_by=tag` groups by them."""
    dry_run: bool = False
    """Validate and return the plan; create nothing."""
    purpose: Literal["publication", "draft", "preview"] | None = None
    """``publication`` refuses media that is not approved (422 ``unapproved-media``). Default:
    ``publication`` when ``REELFORGE_REQUIRE_APPROVED_MEDIA`` is set, else ``draft``."""


def _document(body: TemplateCreate | TemplateReplace) -> dict[str, Any]:
    doc: dict[str, Any] = {"edit": body.edit, "variables": body.variables}
    if body.locales:
        doc["locales"] = body.locales
    if body.default_locale is not None:
        doc["default_locale"] = body.default_locale
    return doc


# ---------------------------------------------------------------- routes


@router.post(
    "/v1/templates",
    status_code=201,
    summary="Create a template (version 1)",
    responses=ex.CREATE_TEMPLATE_RESPONSES,
)
def create_template(
    db: SessionDep,
    services: ServicesDep,
    body: Annotated[TemplateCreate, Body(openapi_examples=ex.CREATE_TEMPLATE_BODY)],
    response: Response,
    principal: Principal = Depends(require("templates:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The template is checked whole: variable definitions and defaults, every `{{placeholder}}`
    names a declared variable (or `brand.*`, `locale`, or inside a `repeat` its item), repeats
    and conditions name fitting variables, the edit's own fields are valid, and asset ids
    written in it exist. Problems come back together as 422 `template-invalid`, each with a
    pointer into the body."""
    document = _document(body)
    if imports.names_urls(body.edit):
        check_scope(principal, "assets:write")  # importing a URL creates an asset
    # Sources given as http(s) URLs are imported first (once per URL) and named by asset id.
    document["edit"] = imports.import_url_sources(
        services,
        principal.workspace_id,
        body.edit,
        check_first=False,  # a template is checked whole later
    )
    template = templates.create_template(db, principal.workspace_id, body.name, document, body.message)
    location = f"{services.settings.public_url.rstrip('/')}/v1/templates/{template.id}"
    created = templates.template_json(template, document)
    idem.stage(db, created, status=201, headers={"Location": location, "ETag": versioning.etag(1)})
    db.commit()
    response.headers["Location"] = location
    return versioning.respond(TEMPLATES, response, template, document)


@router.get("/v1/templates", summary="List templates, newest first", responses=ex.LIST_TEMPLATES_RESPONSES)
def list_templates(
    db: SessionDep,
    services: ServicesDep,
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
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    return versioning.list_current(
        TEMPLATES,
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
    db: SessionDep,
    template_id: str,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("templates:read")),
) -> Any:
    template, current = templates.current(db, principal.workspace_id, template_id)
    return versioning.not_modified(TEMPLATES, request, template) or versioning.respond(
        TEMPLATES, response, template, current.document
    )


@router.put(
    "/v1/templates/{template_id}",
    summary="Replace a template (a new version; needs If-Match)",
    responses=ex.REPLACE_TEMPLATE_RESPONSES,
)
def replace_template(
    db: SessionDep,
    template_id: str,
    body: Annotated[TemplateReplace, Body(openapi_examples=ex.REPLACE_TEMPLATE_BODY)],
    request: Request,
    response: Response,
    principal: Principal = Depends(require("templates:write")),
) -> dict[str, Any]:
    """`If-Match` must be the template's current ETag (from GET): 428 without it, 412 when
    someone changed it since; `If-Match: *` overwrites whatever is there. Renders already made
    keep the version they were made from."""
    template, document = templates.replace_template(
        db,
        principal.workspace_id,
        template_id,
        _document(body),
        body.message,
        body.name,
        if_match=request.headers.get("if-match"),
    )
    return versioning.respond(TEMPLATES, response, template, document)


@router.delete(
    "/v1/templates/{template_id}",
    status_code=204,
    summary="Delete a template and its versions (If-Match optional)",
    responses=ex.DELETE_TEMPLATE_RESPONSES,
)
def delete_template(
    db: SessionDep,
    template_id: str,
    request: Request,
    principal: Principal = Depends(require("templates:write")),
) -> Response:
    templates.delete_template(
        db,
        principal.workspace_id,
        template_id,
        if_match=request.headers.get("if-match"),
        actor=audit_actor(principal, request),
    )
    return Response(status_code=204)


@router.get(
    "/v1/templates/{template_id}/versions",
    summary="List a template's versions, newest first",
    responses=ex.LIST_VERSIONS_RESPONSES,
)
def list_versions(
    db: SessionDep,
    services: ServicesDep,
    template_id: str,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    template, _ = templates.current(db, principal.workspace_id, template_id)
    return versioning.list_versions(
        TEMPLATES,
        request,
        response,
        db,
        template,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/v1/templates/{template_id}/versions/{number}",
    summary="Get one version of a template",
    responses=ex.GET_VERSION_RESPONSES,
)
def get_version(
    db: SessionDep,
    template_id: str,
    number: VersionNumber,
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    template, _ = templates.current(db, principal.workspace_id, template_id)
    return templates.version_json(templates.version(db, template, number))


@router.post(
    "/v1/templates/{template_id}/versions/{number}/restore",
    summary="Make an old version current again (a new version; needs If-Match)",
    responses=ex.RESTORE_VERSION_RESPONSES,
)
def restore_version(
    db: SessionDep,
    template_id: str,
    number: VersionNumber,
    request: Request,
    response: Response,
    body: Annotated[VersionRestore | None, Body(openapi_examples=ex.RESTORE_VERSION_BODY)] = None,
    principal: Principal = Depends(require("templates:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The old version is checked again (an asset it names may be gone) and becomes a new
    version; the history is never rewritten."""
    template, document = templates.restore_version(
        db,
        principal.workspace_id,
        template_id,
        number,
        body.message if body is not None else None,
        if_match=request.headers.get("if-match"),
        stager=idem,
    )
    return versioning.respond(TEMPLATES, response, template, document)


@router.get(
    "/v1/templates/{template_id}/variables",
    summary="The template's values as JSON Schema",
    responses=ex.VARIABLES_RESPONSES,
)
def get_variables(
    db: SessionDep,
    template_id: str,
    version: Annotated[
        int | None, Query(ge=1, le=INTEGER_MAX, description="A version (default: the current one)")
    ] = None,
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the `values` object that preview and renders take: one
    property per variable with its type, constraints, default and description; a localizable
    variable also accepts `{"$locales": {"en": …, "fr": …}}`. Asset variables carry their
    allowed kinds in `x-asset-kinds` (and `x-min-width`/`x-min-height`)."""
    template, _ = templates.current(db, principal.workspace_id, template_id)
    return templates.values_schema(template, templates.version(db, template, version))


@router.post(
    "/v1/templates/{template_id}/preview",
    summary="Fill a template with values, without rendering",
    responses=ex.PREVIEW_RESPONSES,
)
def preview_template(
    db: SessionDep,
    template_id: str,
    body: Annotated[TemplateValues, Body(openapi_examples=ex.PREVIEW_BODY)],
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    """The merged edit, checked as a render would check it: values that do not fit the variables
    come back together as 422 `values-invalid` with pointers `#/values/<name>[/<index>/<field>]`
    (and `#/locale`), each naming the variable; a merged edit the service cannot render as 422
    `edit-invalid` with pointers into the template."""
    return templates.preview(db, principal.workspace_id, template_id, body.values, body.locale, body.version)


@router.post(
    "/v1/templates/{template_id}/renders",
    status_code=202,
    summary="Render a template filled with values",
    responses=ex.RENDER_TEMPLATE_RESPONSES,
)
def render_template(
    db: SessionDep,
    services: ServicesDep,
    template_id: str,
    body: Annotated[TemplateRenderCreate, Body(openapi_examples=ex.RENDER_TEMPLATE_BODY)],
    response: Response,
    principal: Principal = Depends(require("templates:read")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Fill the template (as preview does) and queue an ordinary render of the merged edit
    (needs `renders:write` too). The render shows `template: {id, version, locale}`. `outputs`
    replaces the template's outputs. `dry_run` returns the plan instead (200), creating nothing."""
    check_scope(principal, "renders:write")
    made = templates.prepare_render(
        db,
        principal.workspace_id,
        template_id,
        body.values,
        body.locale,
        body.version,
        body.outputs,
        body.metadata,
        max_metadata_bytes=MAX_METADATA_BYTES,
    )
    purpose = body.purpose or ("publication" if services.settings.require_approved_media else "draft")
    refuse_unapproved(made.prepared, purpose, "")
    if body.dry_run:
        plan = plan_render(services, principal.workspace_id, made.prepared.edit, "")
        response.status_code = 200
        return {**plan, "template": made.origin}
    render = enqueue_render(
        db,
        services,
        principal,
        dict(made.prepared.document),
        prepared=made.prepared,
        pointer_prefix="",
        metadata=body.metadata,
        template_id=made.template.id,
        template_version=made.version,
        locale=made.locale,
        tags=body.tags,
        commit=False,
        purpose=purpose,
    )
    return queued_answer(db, services, idem, response, render)
