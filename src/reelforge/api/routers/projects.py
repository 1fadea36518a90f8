"""Projects: stored edits with revisions, changed by replacing (PUT) or by JSON Patch (PATCH).

A project's ETag is its revision number (``"3"``). Changes are conditional-required: PUT,
PATCH and restore need ``If-Match`` (428 without it, 412 when stale), so two editors cannot
overwrite each other. The check and the bump are one ``UPDATE … WHERE revision = :expected``;
whoever updates zero rows lost the race and gets 412, whatever the timing.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, cast
from urllib.parse import urlencode

import jsonpatch
import jsonpointer
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import CursorResult, and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.models import Project, ProjectRevision, new_id, utcnow
from reelforge.representations import project_json, record_project_event

from .. import examples as ex
from ..audit import audit_actor
from ..auth import Principal, require
from ..edits import validate_service_edit
from ..idempotency import Idempotency, idempotency
from ..pagination import decode_cursor, encode_cursor, list_body, page
from ..problems import ApiError
from ..services import Services, get_db, get_services

router = APIRouter(tags=["projects"])

JSON_PATCH = "application/json-patch+json"
MAX_PATCH_BYTES = 1024 * 1024
"""A JSON body's limit (conventions §9.2); a patch is small by nature."""
MAX_PATCH_OPS = 1000
STAR_RETRIES = 5
"""``If-Match: *`` means "whatever is current": on a lost race, re-read and try again."""

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


def etag(revision: int) -> str:
    return f'"{revision}"'


# project_json lives in reelforge.representations, beside the thin form events record.


def revision_json(revision: ProjectRevision) -> dict[str, Any]:
    return {"object": "project_revision", "project": revision.project_id, "number": revision.number,
            "edit": revision.edit, "message": revision.message, "created_at": revision.created_at}


def _project_response(response: Response, project: Project, edit: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = etag(project.revision)
    return project_json(project, edit)


# ---------------------------------------------------------------- lookups


def _project(db: Session, principal: Principal, project_id: str) -> tuple[Project, ProjectRevision]:
    """The project and its current revision; another workspace's project does not exist."""
    row = db.execute(
        select(Project, ProjectRevision)
        .join(ProjectRevision, and_(ProjectRevision.project_id == Project.id,
                                    ProjectRevision.number == Project.revision))
        .where(Project.id == project_id, Project.workspace_id == principal.workspace_id)
    ).first()
    if row is None:
        raise ApiError("not-found", f"no project {project_id}")
    return row[0], row[1]


def _current_revision(db: Session, project_id: str) -> int | None:
    return db.scalar(select(Project.revision).where(Project.id == project_id))


# ---------------------------------------------------------------- conditional requests

_TAG = re.compile(r'^(W/)?"([^"]*)"$')


def _entity_tags(value: str, header: str) -> list[tuple[bool, str]] | None:
    """``*`` -> None; else [(weak, opaque)]. A malformed list is a client bug, so say so (400)
    rather than answer 412 to an ETag without its quotes forever."""
    if value.strip() == "*":
        return None
    tags: list[tuple[bool, str]] = []
    for item in value.split(","):
        match = _TAG.match(item.strip())
        if match is None:
            raise ApiError("invalid-request", f"{header} must be * or quoted ETags such as \"3\"",
                           errors=[{"header": header, "detail": f"not an entity tag: {item.strip()!r}",
                                    "code": "invalid_etag"}])
        tags.append((match.group(1) is not None, match.group(2)))
    return tags


class _Precondition:
    """What ``If-Match`` asks of a change: ``expected`` is the revision to update from, ``star``
    whether any current revision will do."""

    def __init__(self, request: Request, current: int, *, required: bool, what: str = "project",
                 unit: str = "revision"):
        header = request.headers.get("if-match")
        self.star = False
        if header is None:
            if required:
                raise ApiError("precondition-required",
                               f"changing a {what} needs If-Match with its ETag (from GET), so concurrent "
                               "editors cannot overwrite each other; If-Match: * to overwrite whatever is there",
                               errors=[{"header": "If-Match", "detail": "this header is required", "code": "missing"}])
            self.star = True
            return
        tags = _entity_tags(header, "If-Match")
        if tags is None:
            self.star = True
            return
        # Strong comparison (RFC 9110 §13.1.1): a weak tag never matches If-Match.
        if not any(not weak and opaque == str(current) for weak, opaque in tags):
            raise stale(current, header, what=what, unit=unit)

    @property
    def retries(self) -> int:
        return STAR_RETRIES if self.star else 1


def stale(current: int | None, sent: str | None, *, what: str = "project", unit: str = "revision") -> ApiError:
    headers = {"ETag": etag(current)} if current is not None else {}
    now = f"it is now at {unit} {current}" if current is not None else "it changed"
    return ApiError("precondition-failed",
                    f"the {what} changed since you read it ({now}); GET it again, re-apply your change "
                    "and send the new ETag in If-Match",
                    errors=[{"header": "If-Match", "detail": f"{sent} does not match the current ETag",
                             "code": "stale_etag"}],
                    headers=headers)


def _none_match(request: Request, current: int) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = _entity_tags(header, "If-None-Match")
    # Weak comparison for If-None-Match (RFC 9110 §13.1.2).
    return tags is None or any(opaque == str(current) for _, opaque in tags)


class _LostRace(Exception):
    pass


def _new_revision(db: Session, project: Project, expected: int, edit: dict[str, Any], message: str,
                  name: str | None = None) -> None:
    """Make revision ``expected + 1`` current, only if the project is still at ``expected``.

    The UPDATE's WHERE is the check: a writer that waited for the row lock (PostgreSQL) or the
    write lock (SQLite) re-reads the revision there and updates nothing once someone else won.
    """
    now = utcnow()
    values: dict[str, Any] = {"revision": Project.revision + 1, "updated_at": now}
    if name is not None:
        values["name"] = name
    result = cast(CursorResult[Any], db.execute(
        update(Project).where(Project.id == project.id, Project.revision == expected).values(**values)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        db.rollback()
        raise _LostRace
    db.add(ProjectRevision(id=new_id("rev"), project_id=project.id, number=expected + 1, edit=edit,
                           message=message, created_at=now))
    record_project_event(db, project, "project.updated", revision=expected + 1, name=name, updated_at=now,
                         message=message)
    try:
        db.commit()
    except IntegrityError:
        # The unique (project, number) is a second guard; losing there is the same lost race.
        db.rollback()
        raise _LostRace from None
    db.refresh(project)


Change = tuple[dict[str, Any], str, str | None]
"""What a change makes: the new edit, the revision's message, and a new name (None: keep it)."""


def _change(request: Request, db: Session, principal: Principal, project_id: str,
            make: Callable[[Project, ProjectRevision], Change]) -> tuple[Project, dict[str, Any]]:
    """Read, check If-Match, build the new edit with ``make`` (which validates), write it.

    With ``If-Match: *`` a lost race is retried on the newer revision (the client asked for
    "whatever is current"); with an ETag it is a 412.
    """
    attempts = 1
    while True:
        project, current = _project(db, principal, project_id)
        condition = _Precondition(request, project.revision, required=True)
        edit, message, name = make(project, current)
        try:
            _new_revision(db, project, project.revision, edit, message, name)
        except _LostRace:
            if attempts < condition.retries:
                attempts += 1
                continue
            raise stale(_current_revision(db, project_id), request.headers.get("if-match")) from None
        return project, edit


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
            detail, code = f"`test` failed: the value at {op.get('path')!r} is not the one given", "patch_test_failed"
        except jsonpatch.InvalidJsonPatch as exc:
            detail, code = f"not a valid operation: {_reason(exc)}", "patch_invalid_operation"
        except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
            detail, code = f"cannot {op.get('op')} {op.get('path')!r}: {_reason(exc)}", "patch_conflict"
        except (TypeError, ValueError, LookupError, AttributeError) as exc:
            # Odd operands (a `from` that is a number, ...) must not become a 500.
            detail, code = f"cannot apply this operation: {_reason(exc)}", "patch_conflict"
        else:
            continue
        raise ApiError("validation-error", f"operation {index} of the patch cannot be applied; nothing was changed",
                       errors=[{"pointer": f"#/{index}", "detail": detail, "code": code}])
    return doc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def json_patch_body(request: Request) -> list[dict[str, Any]]:
    """The body as a list of operations. Read here (not by a model) because it is a JSON array
    under its own media type, and bounded while streaming."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != JSON_PATCH:
        hint = "; to replace the whole edit use PUT" if media_type == "application/json" else ""
        raise ApiError("unsupported-media-type",
                       f"send a JSON Patch (RFC 6902) as Content-Type: {JSON_PATCH}{hint}",
                       errors=[{"header": "Content-Type", "detail": f"expected {JSON_PATCH}",
                                "code": "unsupported_media_type"}],
                       headers={"Accept-Patch": JSON_PATCH})
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
        raise ApiError("invalid-json", "the body is not valid JSON",
                       errors=[{"pointer": "#", "detail": str(exc)[:300], "code": "json_invalid"}]) from None
    if not isinstance(ops, list) or not ops:
        raise ApiError("validation-error", "a JSON Patch is a non-empty array of operations",
                       errors=[{"pointer": "#", "detail": "expected an array of operations such as "
                                '[{"op": "replace", "path": "/timeline/background", "value": "#101010"}]',
                                "code": "invalid_patch"}])
    if len(ops) > MAX_PATCH_OPS:
        raise ApiError("validation-error", f"a patch may have at most {MAX_PATCH_OPS} operations",
                       errors=[{"pointer": "#", "detail": "too many operations", "code": "too_long"}])
    bad = [i for i, op in enumerate(ops) if not isinstance(op, dict)]
    if bad:
        raise ApiError("validation-error", "every operation is an object with `op` and `path`",
                       errors=[{"pointer": f"#/{i}", "detail": "an operation is a JSON object",
                                "code": "invalid_patch"} for i in bad])
    return ops


# ---------------------------------------------------------------- routes


@router.post("/v1/projects", status_code=201, summary="Create a project from an edit (revision 1)",
             responses=ex.CREATE_PROJECT_RESPONSES)
def create_project(body: Annotated[ProjectCreate, Body(openapi_examples=ex.CREATE_PROJECT_BODY)],
                   response: Response, db: Session = Depends(get_db),
                   services: Services = Depends(get_services),
                   principal: Principal = Depends(require("projects:write")),
                   idem: Idempotency = Depends(idempotency)) -> dict[str, Any]:
    """The edit is validated as a render would be: the edit language's rules, and every file it
    names must be an asset id of this workspace of a fitting kind. Problems come back together
    as 422 `edit-invalid`, each with a pointer into the body."""
    validate_service_edit(body.edit, db, principal.workspace_id)
    now = utcnow()
    project = Project(id=new_id("prj"), workspace_id=principal.workspace_id, name=body.name, revision=1,
                      created_at=now, updated_at=now)
    db.add(project)
    db.flush()
    db.add(ProjectRevision(id=new_id("rev"), project_id=project.id, number=1, edit=body.edit,
                           message=body.message, created_at=now))
    record_project_event(db, project, "project.created", message=body.message)
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}/v1/projects/{project.id}"
    created = _project_response(response, project, body.edit)
    idem.stage(db, created, status=201, headers=response.headers)  # commits with the project
    db.commit()
    return created


@router.get("/v1/projects", summary="List projects, newest first", responses=ex.LIST_PROJECTS_RESPONSES)
def list_projects(
    request: Request, response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200,
                                      description="Projects whose name contains this text (case-insensitive)")] = None,
    db: Session = Depends(get_db), services: Services = Depends(get_services),
    principal: Principal = Depends(require("projects:read")),
) -> dict[str, Any]:
    query = select(Project).where(Project.workspace_id == principal.workspace_id)
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Project.name.ilike(f"%{escaped}%", escape="\\"))
    rows, nxt = page(request, response, query, Project, key=services.secrets.cursor_key, limit=limit, cursor=cursor,
                     filters={"name": name}, db=db)
    edits: dict[str, dict[str, Any]] = {}
    if rows:
        found = db.execute(
            select(ProjectRevision.project_id, ProjectRevision.edit)
            .join(Project, and_(Project.id == ProjectRevision.project_id, Project.revision == ProjectRevision.number))
            .where(ProjectRevision.project_id.in_([p.id for p in rows])))
        edits = {row.project_id: row.edit for row in found}
    # A project deleted between the two queries has no edit left: leave it out.
    return list_body(request, [project_json(p, edits[p.id]) for p in rows if p.id in edits], nxt)


@router.get("/v1/projects/{project_id}", summary="Get a project with its current edit",
            responses=ex.GET_PROJECT_RESPONSES)
def get_project(project_id: str, request: Request, response: Response, db: Session = Depends(get_db),
                principal: Principal = Depends(require("projects:read"))) -> Any:
    project, current = _project(db, principal, project_id)
    if _none_match(request, project.revision):
        return Response(status_code=304, headers={"ETag": etag(project.revision)})
    response.headers["Accept-Patch"] = JSON_PATCH
    return _project_response(response, project, current.edit)


@router.put("/v1/projects/{project_id}", summary="Replace a project's edit (a new revision; needs If-Match)",
            responses=ex.REPLACE_PROJECT_RESPONSES)
def replace_project(project_id: str,
                    body: Annotated[ProjectReplace, Body(openapi_examples=ex.REPLACE_PROJECT_BODY)],
                    request: Request, response: Response, db: Session = Depends(get_db),
                    principal: Principal = Depends(require("projects:write"))) -> dict[str, Any]:
    """`If-Match` must be the project's current ETag (from GET): 428 without it, 412 when
    someone changed the project since; `If-Match: *` overwrites whatever is there."""

    def make(project: Project, current: ProjectRevision) -> Change:
        validate_service_edit(body.edit, db, principal.workspace_id)
        return body.edit, body.message, body.name

    project, edit = _change(request, db, principal, project_id, make)
    return _project_response(response, project, edit)


@router.patch("/v1/projects/{project_id}", openapi_extra=ex.PATCH_PROJECT_OPENAPI,
              summary="Change a project's edit with a JSON Patch (RFC 6902; a new revision; needs If-Match)",
              responses=ex.PATCH_PROJECT_RESPONSES)
def patch_project(
    project_id: str, request: Request, response: Response,
    message: Annotated[str | None, Query(max_length=500, description="The revision's message "
                                         "(default: a summary of the operations)")] = None,
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

    project, edit = _change(request, db, principal, project_id, make)
    return _project_response(response, project, edit)


@router.delete("/v1/projects/{project_id}", status_code=204,
               summary="Delete a project and its revisions (If-Match optional)",
               responses=ex.DELETE_PROJECT_RESPONSES)
def delete_project(project_id: str, request: Request, db: Session = Depends(get_db),
                   principal: Principal = Depends(require("projects:write"))) -> Response:
    project, _ = _project(db, principal, project_id)
    condition = _Precondition(request, project.revision, required=False)
    query = delete(Project).where(Project.id == project.id).execution_options(synchronize_session=False)
    if not condition.star:
        query = query.where(Project.revision == project.revision)
    result = cast(CursorResult[Any], db.execute(query))
    if result.rowcount != 1:
        db.rollback()
        current = _current_revision(db, project.id)
        if current is None:
            raise ApiError("not-found", f"no project {project_id}")
        raise stale(current, request.headers.get("if-match"))
    # Revisions go with it (ON DELETE CASCADE); renders keep their own copy of the edit.
    record_project_event(db, project, "project.deleted")
    record_audit(db, workspace_id=project.workspace_id, action="project.deleted", resource_type="project",
                 resource_id=project.id, details={"name": project.name, "revision": project.revision},
                 **audit_actor(principal, request))
    db.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- revisions


def _revision(db: Session, project: Project, number: int) -> ProjectRevision:
    revision = db.scalar(select(ProjectRevision).where(ProjectRevision.project_id == project.id,
                                                       ProjectRevision.number == number))
    if revision is None:
        raise ApiError("not-found", f"project {project.id} has no revision {number}")
    return revision


@router.get("/v1/projects/{project_id}/revisions", summary="List a project's revisions, newest first",
            responses=ex.LIST_REVISIONS_RESPONSES)
def list_revisions(project_id: str, request: Request, response: Response,
                   limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: str | None = None,
                   db: Session = Depends(get_db), services: Services = Depends(get_services),
                   principal: Principal = Depends(require("projects:read"))) -> dict[str, Any]:
    project, _ = _project(db, principal, project_id)
    # Keyset on the revision number (not time): numbers are the history's true order.
    filters = {"list": "revisions", "project": project.id}
    query = select(ProjectRevision).where(ProjectRevision.project_id == project.id)
    if cursor:
        _, after = decode_cursor(services.secrets.cursor_key, cursor, filters)
        if not after.isdigit():
            raise ApiError("invalid-cursor", "the cursor is not valid for this list",
                           errors=[{"parameter": "cursor", "detail": "invalid cursor", "code": "invalid_cursor"}])
        query = query.where(ProjectRevision.number < int(after))
    rows = list(db.scalars(query.order_by(ProjectRevision.number.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(services.secrets.cursor_key, last.created_at, str(last.number),
                                    filters)
        params = {k: v for k, v in request.query_params.items() if k != "cursor"}
        params["cursor"] = next_cursor
        response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return list_body(request, [revision_json(r) for r in rows], next_cursor)


@router.get("/v1/projects/{project_id}/revisions/{number}", summary="Get one revision of a project",
            responses=ex.GET_REVISION_RESPONSES)
def get_revision(project_id: str, number: int, db: Session = Depends(get_db),
                 principal: Principal = Depends(require("projects:read"))) -> dict[str, Any]:
    project, _ = _project(db, principal, project_id)
    return revision_json(_revision(db, project, number))


@router.post("/v1/projects/{project_id}/revisions/{number}/restore",
             summary="Make an old revision's edit current again (a new revision; needs If-Match)",
             responses=ex.RESTORE_RESPONSES)
def restore_revision(project_id: str, number: int, request: Request, response: Response,
                     body: Annotated[RevisionRestore | None, Body(openapi_examples=ex.RESTORE_BODY)] = None,
                     db: Session = Depends(get_db),
                     principal: Principal = Depends(require("projects:write")),
                     idem: Idempotency = Depends(idempotency)) -> dict[str, Any]:
    """The old revision's edit is checked again (an asset it names may be gone) and becomes a
    new revision; the history is never rewritten."""
    restored: dict[str, Any] = {}

    def make(project: Project, current: ProjectRevision) -> Change:
        old = _revision(db, project, number)
        # Checked again: an asset it names may have been deleted since, and the current edit
        # must stay renderable. Pointers are into the restored edit.
        validate_service_edit(old.edit, db, principal.workspace_id, pointer_prefix="")
        message = body.message if body is not None and body.message is not None else f"restored revision {number}"
        restored["edit"] = copy.deepcopy(old.edit)
        return restored["edit"], message, None

    def staged() -> tuple[int, dict[str, Any], dict[str, str]]:
        # Inside the new revision's commit: the response as it will be sent.
        project = db.get(Project, project_id, populate_existing=True)
        assert project is not None
        return 200, project_json(project, restored["edit"]), {"ETag": etag(project.revision)}

    idem.stage_at_commit(db, staged)
    project, edit = _change(request, db, principal, project_id, make)
    return _project_response(response, project, edit)
