"""Projects to and from OpenTimelineIO (``reelforge[otio]``): a project's current edit as an
``.otio`` timeline, and a new project from one, with the notes on what did not map."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from reelforge.db.models import Project
from reelforge.edit.errors import EditError
from reelforge.media.resolver import AssetResolver

from .context import Services
from .edits import prepare_service_edit
from .errors import Invalid, ServiceError
from .projects import create_project, get_project

__all__ = ["project_as_otio", "project_from_otio"]


def _otio() -> Any:
    try:
        import opentimelineio
    except ImportError:
        raise ServiceError(
            "this server has no OpenTimelineIO support (install reelforge[otio])", code="conflict"
        ) from None
    return opentimelineio


def project_as_otio(db: Session, services: Services, workspace_id: str, project_id: str) -> dict[str, Any]:
    """The current revision of a project as an OTIO timeline (its assets probed for
    ``length: "auto"``) with the notes on what other editors will not see."""
    otio = _otio()
    from reelforge.interchange import edit_to_otio

    project, current = get_project(db, workspace_id, project_id)
    prepared = prepare_service_edit(current.edit, db, workspace_id)
    resolver = AssetResolver(services.sessions, services.storage, workspace_id)
    try:
        timeline, notes = edit_to_otio(prepared.document, resolver, edit=prepared.edit)
    except EditError as exc:
        raise Invalid(
            "the project's edit cannot be laid out",
            code="edit-invalid",
            errors=[
                {"pointer": "#/edit" + p.pointer, "detail": p.message, "code": p.code} for p in exc.problems
            ],
        ) from None
    return {
        "object": "otio_timeline",
        "project_id": project.id,
        "revision": current.number,
        "timeline": json.loads(otio.adapters.write_to_string(timeline, "otio_json")),
        "notes": [n.to_dict() for n in notes],
    }


def project_from_otio(
    db: Session, workspace_id: str, name: str, timeline: dict[str, Any], message: str
) -> tuple[Project, dict[str, Any], list[dict[str, str]]]:
    """A new project whose edit is the OTIO ``timeline`` (media named by asset id in its
    clips' target URLs); the project, its edit, and the notes. The caller commits."""
    otio = _otio()
    from reelforge.interchange import otio_to_edit

    try:
        read = otio.adapters.read_from_string(json.dumps(timeline), "otio_json")
    except Exception as exc:  # OTIO's parser raises its own exception types
        raise Invalid(
            "not an OpenTimelineIO document",
            errors=[{"pointer": "#/timeline", "detail": str(exc)[:300], "code": "otio"}],
        ) from None
    if not isinstance(read, otio.schema.Timeline):
        raise Invalid(
            "the OpenTimelineIO document is not a timeline",
            errors=[{"pointer": "#/timeline", "detail": f"a {type(read).__name__}", "code": "otio"}],
        )
    try:
        document, notes = otio_to_edit(read)
    except EditError as exc:
        raise Invalid(
            "nothing in the timeline can be imported",
            code="edit-invalid",
            errors=[{"pointer": "#/timeline", "detail": p.message, "code": p.code} for p in exc.problems],
        ) from None
    except (otio.exceptions.OTIOError, ValueError, TypeError) as exc:
        # A well-formed document OTIO cannot time (a clip with no range anywhere, say).
        raise Invalid(
            "the timeline cannot be read as an edit",
            errors=[{"pointer": "#/timeline", "detail": str(exc)[:300], "code": "otio"}],
        ) from None
    project = create_project(db, workspace_id, name, document, message)
    return project, document, [n.to_dict() for n in notes]
