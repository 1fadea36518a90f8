"""Projects: stored edits with revisions, changed by replacing (PUT) or by JSON Patch (PATCH).

A project's ETag is its revision number (``"3"``). Changes are conditional-required: PUT,
PATCH and restore need ``If-Match`` (428 without it, 412 when stale), so two editors cannot
overwrite each other. The check and the bump are one ``UPDATE … WHERE revision = :expected``;
whoever updates zero rows lost the race and gets 412, whatever the timing (api/versioning.py,
shared with templates and brand kits).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import jsonpatch
import jsonpointer
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.models import Project, ProjectRevision
from reelforge.representations import project_json, record_project_event
from reelforge.services.context import Services
from reelforge.services.edits import validate_service_edit

from .. import examples as ex
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import get_db, get_services
from ..idempotency import Idempotency, idempotency
from ..problems import ApiError
from ..versioning import Change, Versioned

router = APIRouter(tags=["projects"])

JSON_PATCH = "application/json-patch+json"
MAX_PATCH_BYTES = 1024 * 1024
"""A JSON body's limit (conventions §9.2); a patch is small by nature."""
MAX_PATCH_OPS = 1000


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, examples=[ex.PROJECT_CREATE["name"]])
    edit: dict[str, Any] = Field(examples=[ex.EDIT])
    """An edit (see the edit format); files are referred to by asset id."""
    message: str = Field("", max_length=500, examples=["first cut"])
    """Says what this revision is, in the revision history."""


class ProjectReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    """A new name; omitted keeps the current one."""
    edit: dict[str, Any] = Field(examples=[ex.EDIT])
    message: str = Field("", max_length=500)


class RevisionRestore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str | None = Field(None, max_length=500)
    """Default: "restored revision N"."""


# ---------------------------------------------------------------- representations


# project_json lives in reelforge.representations, beside the thin form events record.


def revision_json(revision: ProjectRevision) -> dict[str, Any]:
    return {
        "object": "project_revision",
        "project": revision.project_id,
        "number": revision.number,
        "edit": revision.edit,
        "message": revision.message,
        "created_at": revision.created_at,
    }


def _updated(
    db: Session, project: Project, number: int, name: str | None, at: datetime, message: str
) -> None:
    record_project_event(
        db, project, "project.updated", revision=number, name=name, updated_at=at, message=message
    )


PROJECTS: Versioned[Project, ProjectRevision] = Versioned(
    Project,
    ProjectRevision,
    counter="revision",
    owner="project_id",
    content="edit",
    id_prefix="prj",
    version_prefix="rev",
    what="project",
    unit="revision",
    versions_list="revisions",
    owner_filter="project",
    show=project_json,
    show_version=revision_json,
    on_update=_updated,
)


# ---------------------------------------------------------------- JSON Patch


def _patch_summary(ops: Sequence[dict[str, Any]]) -> str:
    shown = ", ".join(f"{op.get('op')} {op.get('path')}" for op in ops[:3])
    more = f" and {len(ops) - 3} more" if len(ops) > 3 else ""
    return f"JSON Patch: {shown}{more}"[:500]


def _reason(exc: Exception) -> str:
    # jsonpointer's messages quote the whole document ("member 'x' not found in {...}"): cut it.
    text = re.split(r" in [\[{]", str(exc), maxsplit=1)[0].strip()
    return text[:300] or type(exc).__name__


def apply_patch(document: dict[str, Any], ops: Sequence[dict[str, Any]]) -> Any:
    """Apply RFC 6902 operations in order to a copy of ``document``; the first one that cannot
    be applied is a 422 located at its index (``#/3``), and nothing is stored."""
    doc: Any = copy.deepcopy(document)
    for index, op in enumerate(ops):
        try:
            doc = jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
        except jsonpatch.JsonPatchTestFailed:
            detail, code = (
                f"`test` failed: the value at {op.get('path')!r} is not the one given",
                "patch_test_failed",
            )
        except jsonpatch.InvalidJsonPatch as exc:
            detail, code = f"not a valid operation: {_reason(exc)}", "patch_invalid_operation"
        except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
            detail, code = f"cannot {op.get('op')} {op.get('path')!r}: {_reason(exc)}", "patch_conflict"
        except (TypeError, ValueError, LookupError, AttributeError) as exc:
            # Odd operands (a `from` that is a number, ...) must not become a 500.
            detail, code = f"cannot apply this operation: {_reason(exc)}", "patch_conflict"
        else:
            continue
        raise ApiError(
            "validation-error",
            f"operation {index} of the patch cannot be applied; nothing was changed",
            errors=[{"pointer": f"#/{index}", "detail": detail, "code": code}],
        )
    return doc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def json_patch_body(request: Request) -> list[dict[str, Any]]:
    """The body as a list of operations. Read here (not by a model) because it is a JSON array
    under its own media type, and bounded while streaming."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != JSON_PATCH:
        hint = "; to replace the whole edit use PUT" if media_type == "application/json" else ""
        raise ApiError(
            "unsupported-media-type",
            f"send a JSON Patch (RFC 6902) as Content-Type: {JSON_PATCH}{hint}",
            errors=[
                {
                    "header": "Content-Type",
                    "detail": f"expected {JSON_PATCH}",
                    "code": "unsupported_media_type",
                }
            ],
            headers={"Accept-Patch": JSON_PATCH},
        )
    too_large = ApiError("content-too-large", f"a patch may be at most {MAX_PATCH_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PATCH_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PATCH_BYTES:
            raise too_large
        chunks.append(chunk)
    try:
        ops = json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            "invalid-json",
            "the body is not valid JSON",
            errors=[{"pointer": "#", "detail": str(exc)[:300], "code": "json_invalid"}],
        ) from None
    if not isinstance(ops, list) or not ops:
        raise ApiError(
            "validation-error",
            "a JSON Patch is a non-empty array of operations",
            errors=[
                {
                    "pointer": "#",
                    "detail": "expected an array of operations such as "
                    '[{"op": "replace", "path": "/timeline/background", "value": "#101010"}]',
                    "code": "invalid_patch",
                }
            ],
        )
    if len(ops) > MAX_PATCH_OPS:
        raise ApiError(
            "validation-error",
            f"a patch may have at most {MAX_PATCH_OPS} operations",
            errors=[{"pointer": "#", "detail": "too many operations", "code": "too_long"}],
        )
    bad = [i for i, op in enumerate(ops) if not isinstance(op, dict)]
    if bad:
        raise ApiError(
            "validation-error",
            "every operation is an object with `op` and `path`",
            errors=[
                {"pointer": f"#/{i}", "detail": "an operation is a JSON object", "code": "invalid_patch"}
                for i in bad
            ],
        )
    return ops


# ---------------------------------------------------------------- routes


@router.post(
    "/v1/projects",
    status_code=201,
    summary="Create a project from an edit (revision 1)",
    responses=ex.CREATE_PROJECT_RESPONSES,
)
def create_project(
    body: Annotated[ProjectCreate, Body(openapi_examples=ex.CREATE_PROJECT_BODY)],
    response: Response,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("projects:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The edit is validated as a render would be: the edit language's rules, and every file it
    names must be an asset id of this workspace of a fitting kind. Problems come back together
    as 422 `edit-invalid`, each with a pointer into the body."""
    validate_service_edit(body.edit, db, principal.workspace_id)
    project = PROJECTS.create(db, principal.workspace_id, body.name, body.edit, body.message)
    record_project_event(db, project, "project.created", message=body.message)
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/projects/{project.id}"
    created = PROJECTS.respond(response, project, body.edit)
    idem.stage(db, created, status=201, headers=response.headers)  # commits with the project
    db.commit()
    return created


@router.get("/v1/projects", summary="List projects, newest first", responses=ex.LIST_PROJECTS_RESPONSES)
def list_projects(
    request: Request,
    response: Response,
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
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    return PROJECTS.list_current(
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
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("projects:read")),
) -> Any:
    project, current = PROJECTS.current(db, principal.workspace_id, project_id)
    not_modified = PROJECTS.not_modified(request, project)
    if not_modified is not None:
        return not_modified
    response.headers["Accept-Patch"] = JSON_PATCH
    return PROJECTS.respond(response, project, current.edit)


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
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("projects:write")),
) -> dict[str, Any]:
    """`If-Match` must be the project's current ETag (from GET): 428 without it, 412 when
    someone changed the project since; `If-Match: *` overwrites whatever is there."""

    def make(project: Project, current: ProjectRevision) -> Change:
        validate_service_edit(body.edit, db, principal.workspace_id)
        return body.edit, body.message, body.name

    project, edit = PROJECTS.change(request, db, principal.workspace_id, project_id, make)
    return PROJECTS.respond(response, project, edit)


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
    message: Annotated[
        str | None,
        Query(max_length=500, description="The revision's message (default: a summary of the operations)"),
    ] = None,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("projects:write")),
    ops: list[dict[str, Any]] = Depends(json_patch_body),
) -> dict[str, Any]:
    """Send `Content-Type: application/json-patch+json` and `If-Match`. The operations apply in
    order to the current edit, all or nothing; paths are JSON Pointers into the edit as GET
    shows it. `add` sets a member whether or not the stored edit has it; `replace` fails on a
    member the stored edit omits (a default is not stored). A `test` operation first makes the
    change conditional on what you saw."""

    def make(project: Project, current: ProjectRevision) -> Change:
        patched = apply_patch(current.edit, ops)
        # Pointers of an edit invalid after patching point into the edit, as GET shows it.
        validate_service_edit(patched, db, principal.workspace_id, pointer_prefix="")
        return patched, message if message is not None else _patch_summary(ops), None

    project, edit = PROJECTS.change(request, db, principal.workspace_id, project_id, make)
    return PROJECTS.respond(response, project, edit)


@router.delete(
    "/v1/projects/{project_id}",
    status_code=204,
    summary="Delete a project and its revisions (If-Match optional)",
    responses=ex.DELETE_PROJECT_RESPONSES,
)
def delete_project(
    project_id: str,
    request: Request,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("projects:write")),
) -> Response:
    project, _ = PROJECTS.current(db, principal.workspace_id, project_id)
    PROJECTS.delete(request, db, project)
    # Revisions go with it (ON DELETE CASCADE); renders keep their own copy of the edit.
    record_project_event(db, project, "project.deleted")
    record_audit(
        db,
        workspace_id=project.workspace_id,
        action="project.deleted",
        resource_type="project",
        resource_id=project.id,
        details={"name": project.name, "revision": project.revision},
        **audit_actor(principal, request),
    )
    db.commit()
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
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    project, _ = PROJECTS.current(db, principal.workspace_id, project_id)
    return PROJECTS.list_versions(
        request, response, db, project, key=services.secrets.cursor_key, limit=limit, cursor=cursor
    )


@router.get(
    "/v1/projects/{project_id}/revisions/{number}",
    summary="Get one revision of a project",
    responses=ex.GET_REVISION_RESPONSES,
)
def get_revision(
    project_id: str,
    number: int,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    project, _ = PROJECTS.current(db, principal.workspace_id, project_id)
    return revision_json(PROJECTS.version(db, project, number))


@router.post(
    "/v1/projects/{project_id}/revisions/{number}/restore",
    summary="Make an old revision's edit current again (a new revision; needs If-Match)",
    responses=ex.RESTORE_RESPONSES,
)
def restore_revision(
    project_id: str,
    number: int,
    request: Request,
    response: Response,
    body: Annotated[RevisionRestore | None, Body(openapi_examples=ex.RESTORE_BODY)] = None,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("projects:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The old revision's edit is checked again (an asset it names may be gone) and becomes a
    new revision; the history is never rewritten."""

    def check(edit: dict[str, Any]) -> None:
        # The current edit must stay renderable. Pointers are into the restored edit.
        validate_service_edit(edit, db, principal.workspace_id, pointer_prefix="")

    project, edit = PROJECTS.restore(
        request,
        db,
        idem,
        principal.workspace_id,
        project_id,
        number,
        body.message if body is not None else None,
        check,
    )
    return PROJECTS.respond(response, project, edit)
