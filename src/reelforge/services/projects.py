"""Projects: stored edits with revisions, changed by replacing the edit or by a JSON Patch.

A project's ETag is its revision number (``"3"``). Changes are conditional-required: replace,
patch and restore need the caller's ``If-Match`` (428 without it, 412 when stale), so two
editors cannot overwrite each other (see :mod:`reelforge.services.versioning`, shared with
templates and brand kits).

Every edit a project stores is validated as a render would be
(:func:`reelforge.services.edits.validate_service_edit`: ``edit-invalid`` with a pointer per
problem).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import jsonpatch
import jsonpointer
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.models import Project, ProjectRevision
from reelforge.representations import project_json, record_project_event, revision_json

from .audit import Actor
from .edits import validate_service_edit
from .errors import Invalid
from .versioning import Change, CommitStager, Versioned

__all__ = [
    "MAX_PATCH_OPS",
    "PROJECTS",
    "apply_patch",
    "create_project",
    "delete_project",
    "get_project",
    "get_revision",
    "patch_project",
    "patch_summary",
    "recent_projects",
    "replace_project",
    "restore_revision",
    "revision_diff",
    "revision_history",
]

MAX_PATCH_OPS = 1000


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


def patch_summary(ops: Sequence[dict[str, Any]]) -> str:
    """The default message of a patch's revision: its first operations."""
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
        raise Invalid(
            f"operation {index} of the patch cannot be applied; nothing was changed",
            errors=[{"pointer": f"#/{index}", "detail": detail, "code": code}],
        )
    return doc


# ---------------------------------------------------------------- operations


def create_project(db: Session, workspace_id: str, name: str, edit: dict[str, Any], message: str) -> Project:
    """A new project at revision 1 (``project.created`` recorded); the caller commits."""
    validate_service_edit(edit, db, workspace_id)
    project = PROJECTS.create(db, workspace_id, name, edit, message)
    record_project_event(db, project, "project.created", message=message)
    return project


def get_project(db: Session, workspace_id: str, project_id: str) -> tuple[Project, ProjectRevision]:
    """The project and its current revision; another workspace's project does not exist."""
    return PROJECTS.current(db, workspace_id, project_id)


def replace_project(
    db: Session,
    workspace_id: str,
    project_id: str,
    edit: dict[str, Any],
    message: str,
    name: str | None,
    *,
    if_match: str | None,
) -> tuple[Project, dict[str, Any]]:
    """``edit`` (and ``name``, if given) as the next revision."""

    def make(project: Project, current: ProjectRevision) -> Change:
        validate_service_edit(edit, db, workspace_id)
        return edit, message, name

    return PROJECTS.update(db, workspace_id, project_id, make, if_match=if_match)


def patch_project(
    db: Session,
    workspace_id: str,
    project_id: str,
    ops: Sequence[dict[str, Any]],
    message: str | None,
    *,
    if_match: str | None,
) -> tuple[Project, dict[str, Any]]:
    """The current edit with the operations applied (all or nothing) as the next revision."""

    def make(project: Project, current: ProjectRevision) -> Change:
        patched = apply_patch(current.edit, ops)
        # Pointers of an edit invalid after patching point into the edit, as GET shows it.
        validate_service_edit(patched, db, workspace_id, pointer_prefix="")
        return patched, message if message is not None else patch_summary(ops), None

    return PROJECTS.update(db, workspace_id, project_id, make, if_match=if_match)


def delete_project(
    db: Session, workspace_id: str, project_id: str, *, if_match: str | None, actor: Actor
) -> None:
    """Delete the project and its revisions (``If-Match`` honoured when given); audited and
    committed. Renders keep their own copy of the edit."""
    project, _ = PROJECTS.current(db, workspace_id, project_id)
    PROJECTS.remove(db, project, if_match=if_match)
    # Revisions go with it (ON DELETE CASCADE).
    record_project_event(db, project, "project.deleted")
    record_audit(
        db,
        workspace_id=project.workspace_id,
        action="project.deleted",
        resource_type="project",
        resource_id=project.id,
        details={"name": project.name, "revision": project.revision},
        **actor,
    )
    db.commit()


def get_revision(db: Session, workspace_id: str, project_id: str, number: int) -> ProjectRevision:
    project, _ = PROJECTS.current(db, workspace_id, project_id)
    return PROJECTS.version(db, project, number)


def restore_revision(
    db: Session,
    workspace_id: str,
    project_id: str,
    number: int,
    message: str | None,
    *,
    if_match: str | None,
    stager: CommitStager | None = None,
) -> tuple[Project, dict[str, Any]]:
    """Revision ``number``'s edit, checked again (an asset it names may be gone), as the next
    revision; the history is never rewritten."""

    def check(edit: dict[str, Any]) -> None:
        # The current edit must stay renderable. Pointers are into the restored edit.
        validate_service_edit(edit, db, workspace_id, pointer_prefix="")

    return PROJECTS.restore_version(
        db, workspace_id, project_id, number, message, check, if_match=if_match, stager=stager
    )


# ---------------------------------------------------------------- history and differences


def recent_projects(db: Session, workspace_id: str, limit: int, name: str | None = None) -> list[Project]:
    """The workspace's projects, last changed first (``name``: whose name contains it)."""
    table: Any = Project
    query = PROJECTS.list_query(workspace_id, name).order_by(table.updated_at.desc(), table.id.desc())
    return list(db.scalars(query.limit(limit)))


def revision_history(
    db: Session, workspace_id: str, project_id: str, limit: int
) -> tuple[Project, list[ProjectRevision]]:
    """The project and its newest ``limit`` revisions, newest first."""
    project, _ = PROJECTS.current(db, workspace_id, project_id)
    query, _ = PROJECTS.versions_query(project)
    rows = db.scalars(query.order_by(ProjectRevision.number.desc()).limit(limit))
    return project, list(rows)


def _at(document: Any, path: str) -> Any:
    try:
        return jsonpointer.resolve_pointer(document, path)
    except (jsonpointer.JsonPointerException, TypeError):
        return None


def revision_diff(
    db: Session, workspace_id: str, project_id: str, old: int, new: int
) -> list[dict[str, Any]]:
    """What changed from revision ``old`` to revision ``new``: JSON Patch operations (RFC 6902)
    that turn the one edit into the other, each with its ``pointer`` into the edit and the value
    there before (``before``) and after (``after``); ``from`` for a move. 404 (pointer ``#/from``
    or ``#/to``) for a revision the project does not have."""
    project, _ = PROJECTS.current(db, workspace_id, project_id)
    before = PROJECTS.version(db, project, old, "#/from").edit
    after = PROJECTS.version(db, project, new, "#/to").edit
    changes: list[dict[str, Any]] = []
    for op in jsonpatch.make_patch(before, after).patch:
        path = op["path"]
        change: dict[str, Any] = {"op": op["op"], "pointer": "#" + path}
        if op["op"] in ("replace", "remove"):
            change["before"] = _at(before, path)
        if op["op"] in ("move", "copy"):
            change["from"] = "#" + op["from"]
            change["before"] = _at(before, op["from"])
        if op["op"] in ("add", "replace"):
            change["after"] = op["value"]
        elif op["op"] in ("move", "copy"):
            change["after"] = _at(after, path)
        changes.append(change)
    return changes
