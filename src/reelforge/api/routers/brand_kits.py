"""Brand kits: logos, palette, fonts, caption style, intro/outro, watermark, safe zones and rules,
kept with versions; the workspace's compliance level; and the compliance check of a project.

A kit's ETag is its version number (``"3"``). Replacing a kit needs ``If-Match`` (428 without
it, 412 when stale) and writes a new version; renders name the version they used, so a change
affects later renders only. The bump is one ``UPDATE … WHERE version = :expected``, as for
project revisions (api/versioning.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.brands import COMPLIANCE_LEVELS, BrandKit, BrandKitVersion, WorkspaceCompliance
from reelforge.db.models import utcnow
from reelforge.media.storage import LocalStorage
from reelforge.services.context import Services

from .. import examples_brand_kits as exb
from ..audit import audit_actor
from ..auth import Principal, check_scope, require
from ..brands import BrandKitBody, BrandUse, check_kit_assets, compliance_level, current_kit, service_findings
from ..deps import get_db, get_services
from ..edits import PreparedEdit, prepare_service_edit
from ..idempotency import Idempotency, idempotency
from ..problems import ApiError
from ..versioning import Change, Versioned
from .projects import PROJECTS
from .templates import TEMPLATES, TemplateValues, merge_values

__all__ = ["compliance_report", "router"]

router = APIRouter(tags=["brand kits"])


# ---------------------------------------------------------------- representations


def kit_json(kit: BrandKit, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": kit.id,
        "object": "brand_kit",
        "version": kit.version,
        **body,
        "name": kit.name,
        "created_at": kit.created_at,
        "updated_at": kit.updated_at,
        "versions_url": f"/v1/brand_kits/{kit.id}/versions",
    }


def version_json(version: BrandKitVersion) -> dict[str, Any]:
    return {
        "object": "brand_kit_version",
        "brand_kit": version.kit_id,
        "number": version.number,
        "kit": version.body,
        "message": version.message,
        "created_at": version.created_at,
    }


KITS: Versioned[BrandKit, BrandKitVersion] = Versioned(
    BrandKit,
    BrandKitVersion,
    counter="version",
    owner="kit_id",
    content="body",
    id_prefix="bk",
    version_prefix="bkv",
    what="brand kit",
    unit="version",
    versions_list="brand_kit_versions",
    owner_filter="kit",
    show=kit_json,
    show_version=version_json,
)


# ---------------------------------------------------------------- kits


@router.post(
    "/v1/brand_kits",
    status_code=201,
    summary="Create a brand kit (version 1)",
    responses=exb.CREATE_KIT_RESPONSES,
)
def create_kit(
    body: Annotated[BrandKitBody, Body(openapi_examples=exb.CREATE_KIT_BODY)],
    response: Response,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("brand_kits:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Logos, watermark and intro/outro are asset ids of this workspace (images, videos), fonts
    are uploaded font assets (their family name is read from the file). Every problem comes
    back at once as 422 with a pointer into the body."""
    stored = check_kit_assets(body, db, services.storage, principal.workspace_id)
    kit = KITS.create(db, principal.workspace_id, body.name, stored, body.message)
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/brand_kits/{kit.id}"
    created = KITS.respond(response, kit, stored)
    idem.stage(db, created, status=201, headers=response.headers)  # commits with the kit
    db.commit()
    return created


@router.get("/v1/brand_kits", summary="List brand kits, newest first", responses=exb.LIST_KITS_RESPONSES)
def list_kits(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("brand_kits:read")),
) -> dict[str, Any]:
    return KITS.list_current(
        request,
        response,
        db,
        principal.workspace_id,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"list": "brand_kits"},
    )


@router.get(
    "/v1/brand_kits/{kit_id}",
    summary="Get a brand kit (its current version)",
    responses=exb.GET_KIT_RESPONSES,
)
def get_kit(
    kit_id: str,
    request: Request,
    response: Response,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("brand_kits:read")),
) -> Any:
    kit, version = KITS.current(db, principal.workspace_id, kit_id)
    return KITS.not_modified(request, kit) or KITS.respond(response, kit, version.body)


@router.put(
    "/v1/brand_kits/{kit_id}",
    summary="Replace a brand kit (a new version; needs If-Match)",
    responses=exb.REPLACE_KIT_RESPONSES,
)
def replace_kit(
    kit_id: str,
    body: Annotated[BrandKitBody, Body(openapi_examples=exb.REPLACE_KIT_BODY)],
    request: Request,
    response: Response,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("brand_kits:write")),
) -> dict[str, Any]:
    """The whole kit as for create. Renders made from now on use the new version; finished
    and queued renders keep the version they were made with."""

    def make(kit: BrandKit, current: BrandKitVersion) -> Change:
        return check_kit_assets(body, db, services.storage, principal.workspace_id), body.message, body.name

    kit, stored = KITS.change(request, db, principal.workspace_id, kit_id, make)
    return KITS.respond(response, kit, stored)


@router.delete(
    "/v1/brand_kits/{kit_id}",
    status_code=204,
    summary="Delete a brand kit and its versions",
    responses=exb.DELETE_KIT_RESPONSES,
)
def delete_kit(
    kit_id: str,
    request: Request,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("brand_kits:write")),
) -> Response:
    """Renders made with it keep their filled edits; edits that still name it no longer
    validate (`brand_not_found` at `/brand`)."""
    kit, _ = KITS.current(db, principal.workspace_id, kit_id)
    KITS.delete(request, db, kit)
    record_audit(
        db,
        workspace_id=principal.workspace_id,
        action="brand_kit.deleted",
        resource_type="brand_kit",
        resource_id=kit.id,
        details={"name": kit.name, "version": kit.version},
        **audit_actor(principal, request),
    )
    db.commit()
    return Response(status_code=204)


@router.get(
    "/v1/brand_kits/{kit_id}/versions",
    summary="List a brand kit's versions, newest first",
    responses=exb.LIST_VERSIONS_RESPONSES,
)
def list_versions(
    kit_id: str,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("brand_kits:read")),
) -> dict[str, Any]:
    kit, _ = KITS.current(db, principal.workspace_id, kit_id)
    return KITS.list_versions(
        request, response, db, kit, key=services.secrets.cursor_key, limit=limit, cursor=cursor
    )


@router.get(
    "/v1/brand_kits/{kit_id}/versions/{number}",
    summary="Get one version of a brand kit",
    responses=exb.GET_VERSION_RESPONSES,
)
def get_version(
    kit_id: str,
    number: int,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("brand_kits:read")),
) -> dict[str, Any]:
    kit, _ = KITS.current(db, principal.workspace_id, kit_id)
    return version_json(KITS.version(db, kit, number))


# ---------------------------------------------------------------- the workspace's level


class ComplianceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Literal["off", "warn", "block"] = Field(examples=["warn"])
    """`off`: no check before renders; `warn`: render and keep the findings on the render;
    `block`: refuse a render that breaks its kit's rules (422 `compliance-failed`)."""


def _settings_json(workspace_id: str, row: WorkspaceCompliance | None) -> dict[str, Any]:
    return {
        "object": "compliance_settings",
        "workspace": workspace_id,
        "level": row.level if row else "off",
        "levels": list(COMPLIANCE_LEVELS),
        "updated_at": row.updated_at if row else None,
    }


@router.get(
    "/v1/workspace/compliance",
    summary="The workspace's compliance level",
    responses=exb.GET_COMPLIANCE_RESPONSES,
)
def get_compliance(
    db: Session = Depends(get_db), principal: Principal = Depends(require("brand_kits:read"))
) -> dict[str, Any]:
    return _settings_json(principal.workspace_id, db.get(WorkspaceCompliance, principal.workspace_id))


@router.put(
    "/v1/workspace/compliance",
    summary="Set the workspace's compliance level (admin; audited)",
    responses=exb.PUT_COMPLIANCE_RESPONSES,
)
def put_compliance(
    body: Annotated[ComplianceSettings, Body(openapi_examples=exb.PUT_COMPLIANCE_BODY)],
    request: Request,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """Applies to every render created from now on whose edit names a brand kit."""
    row = db.get(WorkspaceCompliance, principal.workspace_id)
    before = row.level if row else "off"
    if row is None:
        row = WorkspaceCompliance(workspace_id=principal.workspace_id, level=body.level, updated_at=utcnow())
        db.add(row)
    else:
        row.level, row.updated_at = body.level, utcnow()
    if before != body.level:
        record_audit(
            db,
            workspace_id=principal.workspace_id,
            action="workspace.compliance_changed",
            resource_type="workspace",
            resource_id=principal.workspace_id,
            details={"from": before, "to": body.level},
            **audit_actor(principal, request),
        )
    db.commit()
    db.refresh(row)
    return _settings_json(principal.workspace_id, row)


# ---------------------------------------------------------------- the check


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    revision: int | None = Field(None, ge=1)
    """The project revision to check (default: the current one)."""
    brand_kit: str | None = Field(None, max_length=40)
    """Check against this kit instead of the one the edit names (`brand`)."""
    outputs: list[int] | None = Field(None, max_length=20)
    """Indexes of the edit's outputs to check (default: all)."""
    locale: str | None = Field(None, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    """Fill the kit's per-locale fonts for this locale."""


def compliance_report(
    db: Session,
    storage: LocalStorage,
    workspace_id: str,
    document: Any,
    *,
    pointer_prefix: str,
    kit_id: str | None = None,
    outputs: list[int] | None = None,
    locale: str | None = None,
    pointer_base: str = "#",
    prepared: PreparedEdit | None = None,
) -> dict[str, Any]:
    """Check an edit document (placeholders of a template already filled) against its kit, or
    ``kit_id`` when given: the report's ``findings`` point into the document with
    ``pointer_prefix``. For the templates' check route too, with the edit ``prepared`` already
    (its brand placeholders filled in the template, ``kit_id`` applied there)."""
    if prepared is None:
        if kit_id is not None and isinstance(document, dict):
            document = {**document, "brand": kit_id}
        prepared = prepare_service_edit(
            document, db, workspace_id, pointer_prefix=pointer_prefix, locale=locale
        )
    if prepared.brand is None:
        where = pointer_base + "/brand_kit" if kit_id is None else pointer_base + pointer_prefix + "/brand"
        raise ApiError(
            "validation-error",
            "there is no brand kit to check against: the edit names none",
            errors=[
                {
                    "pointer": where,
                    "code": "brand_missing",
                    "detail": 'give `brand_kit`, or add "brand": "bk_…" to the edit',
                }
            ],
        )
    count = len(prepared.edit.outputs)
    bad = [(i, o) for i, o in enumerate(outputs or []) if not 0 <= o < count]
    if bad:
        raise ApiError(
            "validation-error",
            f"the edit has {count} output{'s' if count != 1 else ''}",
            errors=[
                {
                    "pointer": f"{pointer_base}/outputs/{i}",
                    "code": "out_of_range",
                    "detail": f"no output {o} (0-{count - 1})",
                }
                for i, o in bad
            ],
        )
    findings = service_findings(db, storage, workspace_id, prepared.edit, prepared.brand.kit, outputs=outputs)
    brand: BrandUse = prepared.brand
    return {
        "object": "compliance_report",
        "brand_kit": brand.as_json(),
        "level": compliance_level(db, workspace_id),
        "passed": not any(f.severity == "error" for f in findings),
        "findings": [f.as_json(pointer_prefix) for f in findings],
    }


@router.post(
    "/v1/projects/{project_id}/check",
    summary="Check a project against its brand kit (fonts, colours, safe zones, logo, text size, captions)",
    responses=exb.CHECK_PROJECT_RESPONSES,
)
def check_project(
    project_id: str,
    body: Annotated[CheckRequest | None, Body(openapi_examples=exb.CHECK_PROJECT_BODY)] = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    """Each finding names the rule, its severity (`error` breaks a rule; `warning` could not be
    checked exactly), a message, the `pointer` into the project's edit (the clip or part) and
    the output (`output` index and `output_label` such as `9:16 1080x1920`). `passed` is true
    when there is no error. Needs `brand_kits:read` too."""
    check_scope(principal, "brand_kits:read")
    request = body or CheckRequest()
    project, _ = PROJECTS.current(db, principal.workspace_id, project_id)
    revision = PROJECTS.version(db, project, request.revision, "#/revision")
    if request.brand_kit is not None and current_kit(db, principal.workspace_id, request.brand_kit) is None:
        raise ApiError(
            "validation-error",
            f"no brand kit {request.brand_kit} in this workspace",
            errors=[{"pointer": "#/brand_kit", "code": "brand_not_found", "detail": "no such brand kit"}],
        )
    report = compliance_report(
        db,
        services.storage,
        principal.workspace_id,
        dict(revision.edit),
        pointer_prefix="",
        kit_id=request.brand_kit,
        outputs=request.outputs,
        locale=request.locale,
    )
    return {**report, "project_id": project.id, "revision": revision.number}


class TemplateCheck(TemplateValues):
    brand_kit: str | None = Field(None, max_length=40)
    """Check against this kit instead of the one the template's edit names (`brand`)."""
    outputs: list[int] | None = Field(None, max_length=20)
    """Indexes of the merged edit's outputs to check (default: all)."""


@router.post(
    "/v1/templates/{template_id}/check",
    summary="Check a template filled with values against its brand kit",
    responses=exb.CHECK_TEMPLATE_RESPONSES,
)
def check_template_values(
    template_id: str,
    body: Annotated[TemplateCheck, Body(openapi_examples=exb.CHECK_TEMPLATE_BODY)],
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    """The template is filled as `preview` fills it (values that do not fit: 422 `values-invalid`
    naming the variable), then checked like a project; the findings point into the merged edit
    as `preview` shows it. Needs `brand_kits:read` too."""
    check_scope(principal, "brand_kits:read")
    template, _ = TEMPLATES.current(db, principal.workspace_id, template_id)
    version = TEMPLATES.version(db, template, body.version, "#/version")
    if body.brand_kit is not None and current_kit(db, principal.workspace_id, body.brand_kit) is None:
        raise ApiError(
            "validation-error",
            f"no brand kit {body.brand_kit} in this workspace",
            errors=[{"pointer": "#/brand_kit", "code": "brand_not_found", "detail": "no such brand kit"}],
        )
    values = TemplateValues(values=body.values, locale=body.locale, version=body.version)
    # The override fills the template's `{{brand.…}}` as the edit's own kit would.
    prepared = merge_values(
        db, principal.workspace_id, template, version, values, brand_override=body.brand_kit
    )
    filled = dict(prepared.document)
    report = compliance_report(
        db,
        services.storage,
        principal.workspace_id,
        filled,
        pointer_prefix="/edit",
        kit_id=body.brand_kit,
        outputs=body.outputs,
        locale=body.locale,
        prepared=prepared,
    )
    return {
        **report,
        "template": {"id": template.id, "version": version.number, "locale": body.locale},
        "edit": filled,
    }
