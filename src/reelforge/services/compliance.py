"""Brand compliance: the workspace's level, and the check of a project's or a filled template's
edit against a brand kit (the rules themselves are :mod:`reelforge.render.compliance`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.brands import COMPLIANCE_LEVELS, WorkspaceCompliance
from reelforge.db.models import Project, ProjectRevision, utcnow
from reelforge.media.storage import Storage

from . import templates
from .asset_versions import media_report
from .audit import Actor
from .brand_kits import BrandUse, compliance_level, current_kit, service_findings
from .edits import PreparedEdit, prepare_service_edit
from .errors import Invalid, NotFound

__all__ = [
    "check_project",
    "check_template",
    "compliance_report",
    "compliance_settings",
    "set_compliance_level",
]


# ---------------------------------------------------------------- the workspace's level


def _settings_json(workspace_id: str, row: WorkspaceCompliance | None) -> dict[str, Any]:
    return {
        "object": "compliance_settings",
        "workspace": workspace_id,
        "level": row.level if row else "off",
        "levels": list(COMPLIANCE_LEVELS),
        "updated_at": row.updated_at if row else None,
    }


def compliance_settings(db: Session, workspace_id: str) -> dict[str, Any]:
    return _settings_json(workspace_id, db.get(WorkspaceCompliance, workspace_id))


def set_compliance_level(db: Session, workspace_id: str, level: str, actor: Actor) -> dict[str, Any]:
    """Sets the level for renders created from now on; a change is audited. Commits."""
    row = db.get(WorkspaceCompliance, workspace_id)
    before = row.level if row else "off"
    if row is None:
        row = WorkspaceCompliance(workspace_id=workspace_id, level=level, updated_at=utcnow())
        db.add(row)
    else:
        row.level, row.updated_at = level, utcnow()
    if before != level:
        record_audit(
            db,
            workspace_id=workspace_id,
            action="workspace.compliance_changed",
            resource_type="workspace",
            resource_id=workspace_id,
            details={"from": before, "to": level},
            **actor,
        )
    db.commit()
    db.refresh(row)
    return _settings_json(workspace_id, row)


# ---------------------------------------------------------------- the check


def compliance_report(
    db: Session,
    storage: Storage,
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
    ``pointer_prefix``. For the templates' check too, with the edit ``prepared`` already (its
    brand placeholders filled in the template, ``kit_id`` applied there)."""
    if prepared is None:
        if kit_id is not None and isinstance(document, dict):
            document = {**document, "brand": kit_id}
        prepared = prepare_service_edit(
            document, db, workspace_id, pointer_prefix=pointer_prefix, locale=locale
        )
    if prepared.brand is None:
        where = pointer_base + "/brand_kit" if kit_id is None else pointer_base + pointer_prefix + "/brand"
        raise Invalid(
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
        raise Invalid(
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
        # Which asset versions the files resolve to now, and which are not approved.
        # (The prepared edit: the kit's files filled in, every file pinned as a render would.)
        "media": media_report(db, workspace_id, prepared.document, pointer_prefix=pointer_prefix),
    }


def _kit_exists(db: Session, workspace_id: str, kit_id: str | None) -> None:
    if kit_id is not None and current_kit(db, workspace_id, kit_id) is None:
        raise Invalid(
            f"no brand kit {kit_id} in this workspace",
            errors=[{"pointer": "#/brand_kit", "code": "brand_not_found", "detail": "no such brand kit"}],
        )


def _project_revision(
    db: Session, workspace_id: str, project_id: str, number: int | None
) -> tuple[Project, ProjectRevision]:
    """The project and its revision ``number`` (None: the current one), or 404."""
    project = db.scalar(select(Project).where(Project.id == project_id, Project.workspace_id == workspace_id))
    if project is None:
        raise NotFound(f"no project {project_id}")
    number = project.revision if number is None else number
    revision = db.scalar(
        select(ProjectRevision).where(
            and_(ProjectRevision.project_id == project.id, ProjectRevision.number == number)
        )
    )
    if revision is None:
        raise NotFound(
            f"project {project.id} has no revision {number} (the latest is {project.revision})",
            errors=[{"pointer": "#/revision", "code": "not_found", "detail": f"no revision {number}"}],
        )
    return project, revision


def check_project(
    db: Session,
    storage: Storage,
    workspace_id: str,
    project_id: str,
    *,
    revision: int | None,
    kit_id: str | None,
    outputs: list[int] | None,
    locale: str | None,
) -> dict[str, Any]:
    """A revision of a project (default: the current one) against its kit, or ``kit_id``."""
    project, chosen = _project_revision(db, workspace_id, project_id, revision)
    _kit_exists(db, workspace_id, kit_id)
    report = compliance_report(
        db,
        storage,
        workspace_id,
        dict(chosen.edit),
        pointer_prefix="",
        kit_id=kit_id,
        outputs=outputs,
        locale=locale,
    )
    return {**report, "project_id": project.id, "revision": chosen.number}


def check_template(
    db: Session,
    storage: Storage,
    workspace_id: str,
    template_id: str,
    values: Mapping[str, Any],
    *,
    locale: str | None,
    version: int | None,
    kit_id: str | None,
    outputs: list[int] | None,
) -> dict[str, Any]:
    """A template filled as its preview fills it, checked like a project; the findings point
    into the merged edit, which the report carries."""
    template, _ = templates.current(db, workspace_id, template_id)
    chosen = templates.version(db, template, version, "#/version")
    _kit_exists(db, workspace_id, kit_id)
    # The override fills the template's `{{brand.…}}` as the edit's own kit would.
    prepared = templates.merge_values(
        db, workspace_id, template, chosen, values, locale, brand_override=kit_id
    )
    filled = dict(prepared.document)
    report = compliance_report(
        db,
        storage,
        workspace_id,
        filled,
        pointer_prefix="/edit",
        kit_id=kit_id,
        outputs=outputs,
        locale=locale,
        prepared=prepared,
    )
    return {
        **report,
        "template": {"id": template.id, "version": chosen.number, "locale": locale},
        "edit": filled,
    }
