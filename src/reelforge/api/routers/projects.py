"""Projects: stored edits with revisions, changed by replacing (PUT) or by JSON Patch (PATCH).

A project's ETag is its revision number (``"3"``). Changes are conditional-required: PUT,
PATCH and restore need ``If-Match`` (428 without it, 412 when stale), so two editors cannot
overwrite each other. The check and the bump are one ``UPDATE … WHERE revision = :expected``;
whoever updates zero rows lost the race and gets 412, whatever the timing. The operations are
``reelforge.services.projects``; this module parses requests and represents answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import Field

from reelforge.representations import revision_json
from reelforge.services import imports, projects, timelines
from reelforge.services.inputs import InputModel
from reelforge.services.projects import PROJECTS

from .. import examples as ex
from .. import examples_otio as exo
from ..audit import audit_actor
from ..auth import Principal, check_scope, require
from ..deps import ServicesDep, SessionDep
from ..idempotency import Idempotency, idempotency
from ..jsonpatch import JSON_PATCH, json_patch_body
from ..numbers import VersionNumber
from ..versioning import list_current, list_versions, not_modified, respond

__all__ = ["PROJECTS", "router"]

router = APIRouter(tags=["projects"])


class ProjectCreate(InputModel):
    name: str = Field(min_length=1, max_length=200, examples=[ex.PROJECT_CREATE["name"]])
    edit: dict[str, Any] = Field(examples=[ex.EDIT])
    """An edit (see the edit format); files are referred to by asset id."""
    message: str = Field("", max_length=500, examples=["first cut"])
    """Says what this revision is, in the revision history."""


class ProjectReplace(InputModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    """A new name; omitted keeps the current one."""
    edit: dict[str, Any] = Field(examples=[ex.EDIT])
    message: str = Field("", max_length=500)


class RevisionRestore(InputModel):
    message: str | None = Field(None, max_length=500)
    """Default: "restored revision N"."""


# ---------------------------------------------------------------- routes


def _if_match(request: Request) -> str | None:
    return request.headers.get("if-match")


@router.post(
    "/v1/projects",
    status_code=201,
    summary="Create a project from an edit (revision 1)",
    responses=ex.CREATE_PROJECT_RESPONSES,
)
def create_project(
    body: Annotated[ProjectCreate, Body(openapi_examples=ex.CREATE_PROJECT_BODY)],
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("projects:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The edit is validated as a render would be: the edit language's rules, and every file it
    names must be an asset id of this workspace of a fitting kind. Problems come back together
    as 422 `edit-invalid`, each with a pointer into the body."""
    # Sources given as http(s) URLs are imported first (once per URL) and named by asset id.
    if imports.names_urls(body.edit):
        check_scope(principal, "assets:write")  # importing a URL creates an asset
    body.edit = imports.import_url_sources(services, principal.workspace_id, body.edit)
    project = projects.create_project(db, principal.workspace_id, body.name, body.edit, body.message)
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/projects/{project.id}"
    created = respond(PROJECTS, response, project, body.edit)
    idem.stage(db, created, status=201, headers=response.headers)  # commits with the project
    db.commit()
    return created


class ProjectFromOtio(InputModel):
    name: str = Field(min_length=1, max_length=200)
    timeline: dict[str, Any]
    """An OpenTimelineIO timeline (the JSON of an ``.otio`` file); clips name media by asset id
    in their ``target_url``."""
    message: str = Field("", max_length=500)


@router.post(
    "/v1/projects/otio",
    status_code=201,
    summary="Create a project from an OpenTimelineIO timeline",
    responses=exo.PROJECT_FROM_OTIO_RESPONSES,
)
def create_project_from_otio(
    body: Annotated[ProjectFromOtio, Body(openapi_examples=exo.PROJECT_FROM_OTIO_REQUEST)],
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("projects:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The timeline becomes an edit (tracks, clips, gaps, dissolves, exact frame times) and
    revision 1 of a new project, validated as `POST /v1/projects` validates. `otio_notes` lists
    what could not be carried over (markers, nested stacks, offline media...), each with where
    it was in the timeline."""
    project, document, notes = timelines.project_from_otio(
        db, principal.workspace_id, body.name, body.timeline, body.message
    )
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/projects/{project.id}"
    created = {**respond(PROJECTS, response, project, document), "otio_notes": notes}
    idem.stage(db, created, status=201, headers=response.headers)
    db.commit()
    return created


@router.get(
    "/v1/projects/{project_id}/otio",
    summary="Read a project as an OpenTimelineIO timeline",
    responses=exo.PROJECT_OTIO_RESPONSES,
)
def get_project_otio(
    project_id: str,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    """The current revision as `timeline` (write it to a `.otio` file for an editor), with
    `notes` on what other editors will not see (layout, effects and generated clips ride in
    OTIO metadata so a round trip keeps them)."""
    return timelines.project_as_otio(db, services, principal.workspace_id, project_id)


@router.get("/v1/projects", summary="List projects, newest first", responses=ex.LIST_PROJECTS_RESPONSES)
def list_projects(
    request: Request,
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    name: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Projects whose name contains this text (case-insensitive)",
        ),
    ] = None,
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    return list_current(
        PROJECTS,
        request,
        response,
        db,
        principal.workspace_id,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"name": name},
        name=name,
    )


@router.get(
    "/v1/projects/{project_id}",
    summary="Get a project with its current edit",
    responses=ex.GET_PROJECT_RESPONSES,
)
def get_project(
    project_id: str,
    request: Request,
    response: Response,
    db: SessionDep,
    principal: Principal = Depends(require("projects:read")),
) -> Any:
    project, current = projects.get_project(db, principal.workspace_id, project_id)
    unchanged = not_modified(PROJECTS, request, project)
    if unchanged is not None:
        return unchanged
    response.headers["Accept-Patch"] = JSON_PATCH
    return respond(PROJECTS, response, project, current.edit)


@router.put(
    "/v1/projects/{project_id}",
    summary="Replace a project's edit (a new revision; needs If-Match)",
    responses=ex.REPLACE_PROJECT_RESPONSES,
)
def replace_project(
    project_id: str,
    body: Annotated[ProjectReplace, Body(openapi_examples=ex.REPLACE_PROJECT_BODY)],
    request: Request,
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("projects:write")),
) -> dict[str, Any]:
    """`If-Match` must be the project's current ETag (from GET): 428 without it, 412 when
    someone changed the project since; `If-Match: *` overwrites whatever is there."""
    if imports.names_urls(body.edit):
        check_scope(principal, "assets:write")  # importing a URL creates an asset
    body.edit = imports.import_url_sources(services, principal.workspace_id, body.edit)
    project, edit = projects.replace_project(
        db,
        principal.workspace_id,
        project_id,
        body.edit,
        body.message,
        body.name,
        if_match=_if_match(request),
    )
    return respond(PROJECTS, response, project, edit)


@router.patch(
    "/v1/projects/{project_id}",
    openapi_extra=ex.PATCH_PROJECT_OPENAPI,
    summary="Change a project's edit with a JSON Patch (RFC 6902; a new revision; needs If-Match)",
    responses=ex.PATCH_PROJECT_RESPONSES,
)
def patch_project(
    project_id: str,
    request: Request,
    response: Response,
    db: SessionDep,
    message: Annotated[
        str | None,
        Query(max_length=500, description="The revision's message (default: a summary of the operations)"),
    ] = None,
    principal: Principal = Depends(require("projects:write")),
    ops: list[dict[str, Any]] = Depends(json_patch_body),
) -> dict[str, Any]:
    """Send `Content-Type: application/json-patch+json` and `If-Match`. The operations apply in
    order to the current edit, all or nothing; paths are JSON Pointers into the edit as GET
    shows it. `add` sets a member whether or not the stored edit has it; `replace` fails on a
    member the stored edit omits (a default is not stored). A `test` operation first makes the
    change conditional on what you saw."""
    project, edit = projects.patch_project(
        db, principal.workspace_id, project_id, ops, message, if_match=_if_match(request)
    )
    return respond(PROJECTS, response, project, edit)


@router.delete(
    "/v1/projects/{project_id}",
    status_code=204,
    summary="Delete a project and its revisions (If-Match optional)",
    responses=ex.DELETE_PROJECT_RESPONSES,
)
def delete_project(
    project_id: str,
    request: Request,
    db: SessionDep,
    principal: Principal = Depends(require("projects:write")),
) -> Response:
    projects.delete_project(
        db,
        principal.workspace_id,
        project_id,
        if_match=_if_match(request),
        actor=audit_actor(principal, request),
    )
    return Response(status_code=204)


# ---------------------------------------------------------------- revisions


@router.get(
    "/v1/projects/{project_id}/revisions",
    summary="List a project's revisions, newest first",
    responses=ex.LIST_REVISIONS_RESPONSES,
)
def list_revisions(
    project_id: str,
    request: Request,
    response: Response,
    db: SessionDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    project, _ = projects.get_project(db, principal.workspace_id, project_id)
    return list_versions(
        PROJECTS, request, response, db, project, key=services.secrets.cursor_key, limit=limit, cursor=cursor
    )


@router.get(
    "/v1/projects/{project_id}/revisions/{number}",
    summary="Get one revision of a project",
    responses=ex.GET_REVISION_RESPONSES,
)
def get_revision(
    project_id: str,
    number: VersionNumber,
    db: SessionDep,
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    return revision_json(projects.get_revision(db, principal.workspace_id, project_id, number))


@router.post(
    "/v1/projects/{project_id}/revisions/{number}/restore",
    summary="Make an old revision's edit current again (a new revision; needs If-Match)",
    responses=ex.RESTORE_RESPONSES,
)
def restore_revision(
    project_id: str,
    number: VersionNumber,
    request: Request,
    response: Response,
    db: SessionDep,
    body: Annotated[RevisionRestore | None, Body(openapi_examples=ex.RESTORE_BODY)] = None,
    principal: Principal = Depends(require("projects:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The old revision's edit is checked again (an asset it names may be gone) and becomes a
    new revision; the history is never rewritten."""
    project, edit = projects.restore_revision(
        db,
        principal.workspace_id,
        project_id,
        number,
        body.message if body is not None else None,
        if_match=_if_match(request),
        stager=idem,
    )
    return respond(PROJECTS, response, project, edit)
