"""Brand kits: logos, palette, fonts, caption style, intro/outro, watermark, safe zones and rules,
kept with versions; the workspace's compliance level; and the compliance check of a project.

A kit's ETag is its version number (``"3"``). Replacing a kit needs ``If-Match`` (428 without
it, 412 when stale) and writes a new version; renders name the version they used, so a change
affects later renders only. The bump is one ``UPDATE … WHERE version = :expected``, as for
project revisions (services/versioning.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import Field

from reelforge.services import brand_kits, compliance
from reelforge.services.brand_kits import KITS, BrandKitBody, kit_version_json
from reelforge.services.inputs import InputModel

from .. import examples_brand_kits as exb
from .. import versioning
from ..audit import audit_actor
from ..auth import Principal, check_scope, require
from ..deps import ServicesDep, SessionDep
from ..idempotency import Idempotency, idempotency
from ..numbers import INTEGER_MAX, VersionNumber
from ..template_bodies import TemplateValues

__all__ = ["router"]

router = APIRouter(tags=["brand kits"])


# ---------------------------------------------------------------- kits


@router.post(
    "/v1/brand_kits",
    status_code=201,
    summary="Create a brand kit (version 1)",
    responses=exb.CREATE_KIT_RESPONSES,
)
def create_kit(
    db: SessionDep,
    services: ServicesDep,
    body: Annotated[BrandKitBody, Body(openapi_examples=exb.CREATE_KIT_BODY)],
    response: Response,
    principal: Principal = Depends(require("brand_kits:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Logos, watermark and intro/outro are asset ids of this workspace (images, videos), fonts
    are uploaded font assets (their family name is read from the file). Every problem comes
    back at once as 422 with a pointer into the body."""
    kit, stored = brand_kits.create_kit(db, services.storage, principal.workspace_id, body)
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/brand_kits/{kit.id}"
    created = versioning.respond(KITS, response, kit, stored)
    idem.stage(db, created, status=201, headers=response.headers)  # commits with the kit
    db.commit()
    return created


@router.get("/v1/brand_kits", summary="List brand kits, newest first", responses=exb.LIST_KITS_RESPONSES)
def list_kits(
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("brand_kits:read")),
) -> dict[str, Any]:
    return versioning.list_current(
        KITS,
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
    db: SessionDep,
    kit_id: str,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("brand_kits:read")),
) -> Any:
    kit, version = KITS.current(db, principal.workspace_id, kit_id)
    return versioning.not_modified(KITS, request, kit) or versioning.respond(
        KITS, response, kit, version.body
    )


@router.put(
    "/v1/brand_kits/{kit_id}",
    summary="Replace a brand kit (a new version; needs If-Match)",
    responses=exb.REPLACE_KIT_RESPONSES,
)
def replace_kit(
    db: SessionDep,
    services: ServicesDep,
    kit_id: str,
    body: Annotated[BrandKitBody, Body(openapi_examples=exb.REPLACE_KIT_BODY)],
    request: Request,
    response: Response,
    principal: Principal = Depends(require("brand_kits:write")),
) -> dict[str, Any]:
    """The whole kit as for create. Renders made from now on use the new version; finished
    and queued renders keep the version they were made with."""
    kit, stored = brand_kits.replace_kit(
        db, services.storage, principal.workspace_id, kit_id, body, if_match=request.headers.get("if-match")
    )
    return versioning.respond(KITS, response, kit, stored)


@router.delete(
    "/v1/brand_kits/{kit_id}",
    status_code=204,
    summary="Delete a brand kit and its versions",
    responses=exb.DELETE_KIT_RESPONSES,
)
def delete_kit(
    db: SessionDep,
    kit_id: str,
    request: Request,
    principal: Principal = Depends(require("brand_kits:write")),
) -> Response:
    """Renders made with it keep their filled edits; edits that still name it no longer
    validate (`brand_not_found` at `/brand`)."""
    brand_kits.delete_kit(
        db,
        principal.workspace_id,
        kit_id,
        if_match=request.headers.get("if-match"),
        actor=audit_actor(principal, request),
    )
    return Response(status_code=204)


@router.get(
    "/v1/brand_kits/{kit_id}/versions",
    summary="List a brand kit's versions, newest first",
    responses=exb.LIST_VERSIONS_RESPONSES,
)
def list_versions(
    db: SessionDep,
    services: ServicesDep,
    kit_id: str,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("brand_kits:read")),
) -> dict[str, Any]:
    kit, _ = KITS.current(db, principal.workspace_id, kit_id)
    return versioning.list_versions(
        KITS, request, response, db, kit, key=services.secrets.cursor_key, limit=limit, cursor=cursor
    )


@router.get(
    "/v1/brand_kits/{kit_id}/versions/{number}",
    summary="Get one version of a brand kit",
    responses=exb.GET_VERSION_RESPONSES,
)
def get_version(
    db: SessionDep,
    kit_id: str,
    number: VersionNumber,
    principal: Principal = Depends(require("brand_kits:read")),
) -> dict[str, Any]:
    return kit_version_json(brand_kits.kit_version(db, principal.workspace_id, kit_id, number))


# ---------------------------------------------------------------- the workspace's level


class ComplianceSettings(InputModel):
    level: Literal["off", "warn", "block"] = Field(examples=["warn"])
    """`off`: no check before renders; `warn`: render and keep the findings on the render;
    `block`: refuse a render that breaks its kit's rules (422 `compliance-failed`)."""


@router.get(
    "/v1/workspace/compliance",
    summary="The workspace's compliance level",
    responses=exb.GET_COMPLIANCE_RESPONSES,
)
def get_compliance(
    db: SessionDep, principal: Principal = Depends(require("brand_kits:read"))
) -> dict[str, Any]:
    return compliance.compliance_settings(db, principal.workspace_id)


@router.put(
    "/v1/workspace/compliance",
    summary="Set the workspace's compliance level (admin; audited)",
    responses=exb.PUT_COMPLIANCE_RESPONSES,
)
def put_compliance(
    db: SessionDep,
    body: Annotated[ComplianceSettings, Body(openapi_examples=exb.PUT_COMPLIANCE_BODY)],
    request: Request,
    principal: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """Applies to every render created from now on whose edit names a brand kit."""
    return compliance.set_compliance_level(
        db, principal.workspace_id, body.level, audit_actor(principal, request)
    )


# ---------------------------------------------------------------- the check


class CheckRequest(InputModel):
    revision: int | None = Field(None, ge=1, le=INTEGER_MAX)
    """The project revision to check (default: the current one)."""
    brand_kit: str | None = Field(None, max_length=40)
    """Check against this kit instead of the one the edit names (`brand`)."""
    outputs: list[int] | None = Field(None, max_length=20)
    """Indexes of the edit's outputs to check (default: all)."""
    locale: str | None = Field(None, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    """Fill the kit's per-locale fonts for this locale."""


@router.post(
    "/v1/projects/{project_id}/check",
    summary="Check a project against its brand kit (fonts, colours, safe zones, logo, text size, captions)",
    responses=exb.CHECK_PROJECT_RESPONSES,
)
def check_project(
    db: SessionDep,
    services: ServicesDep,
    project_id: str,
    body: Annotated[CheckRequest | None, Body(openapi_examples=exb.CHECK_PROJECT_BODY)] = None,
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    """Each finding names the rule, its severity (`error` breaks a rule; `warning` could not be
    checked exactly), a message, the `pointer` into the project's edit (the clip or part) and
    the output (`output` index and `output_label` such as `9:16 1080x1920`). `passed` is true
    when there is no error. Needs `brand_kits:read` too."""
    check_scope(principal, "brand_kits:read")
    request = body or CheckRequest()
    return compliance.check_project(
        db,
        services.storage,
        principal.workspace_id,
        project_id,
        revision=request.revision,
        kit_id=request.brand_kit,
        outputs=request.outputs,
        locale=request.locale,
    )


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
    db: SessionDep,
    services: ServicesDep,
    template_id: str,
    body: Annotated[TemplateCheck, Body(openapi_examples=exb.CHECK_TEMPLATE_BODY)],
    principal: Principal = Depends(require("templates:read")),
) -> dict[str, Any]:
    """The template is filled as `preview` fills it (values that do not fit: 422 `values-invalid`
    naming the variable), then checked like a project; the findings point into the merged edit
    as `preview` shows it. Needs `brand_kits:read` too."""
    check_scope(principal, "brand_kits:read")
    return compliance.check_template(
        db,
        services.storage,
        principal.workspace_id,
        template_id,
        body.values,
        locale=body.locale,
        version=body.version,
        kit_id=body.brand_kit,
        outputs=body.outputs,
    )
