"""Templates' operations: checking a template before it is stored, finding a version, filling
it with values (preview, check, renders, batches), and the events a change records.

A stored version is parsed once per request (:class:`TemplateInfo`): its variables' types (to
read CSV cells), and the merge of one set of values in one locale, with asset values checked
against the workspace.

A brand kit fills the template's own ``{{brand.…}}`` placeholders before the values go in, so a
value is never scanned for placeholders: the text "Hi {{brand.name}}" given for a variable is
rendered as written.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.events import record_event
from reelforge.db.models import Asset
from reelforge.db.templates import Template as TemplateRow
from reelforge.db.templates import TemplateVersion
from reelforge.edit import templates as spec
from reelforge.edit.errors import EditError, Problem
from reelforge.edit.errors import pointer as json_pointer
from reelforge.edit.references import asset_id_of, asset_references, normalise_references, parse_query
from reelforge.edit.templates import AssetFacts, Template, fill_template_traced, parse_template
from reelforge.edit.variables import PLACEHOLDER, find_placeholders
from reelforge.representations import json_ready

from .audit import Actor
from .brand_kits import BrandUse, current_kit, resolve_brand
from .edits import PreparedEdit, non_finite, prepare_service_edit
from .errors import Invalid, NotFound, ServiceError, TooLarge
from .versioning import Change, CommitStager, Versioned

__all__ = [
    "MAX_VALUES_BYTES",
    "TEMPLATES",
    "BrandProblems",
    "Filled",
    "TemplateInfo",
    "TemplateRender",
    "check_metadata",
    "check_template",
    "create_template",
    "current",
    "delete_template",
    "deleted",
    "load",
    "merge_values",
    "parsed",
    "prepare_render",
    "preview",
    "record_template_event",
    "replace_template",
    "restore_version",
    "stored_template",
    "template_json",
    "values_schema",
    "version",
    "version_json",
]

MAX_VALUES_BYTES = 256 * 1024


class BrandProblems(Exception):
    """The template's ``{{brand.…}}`` placeholders cannot be filled (no kit, no such kit, a part
    the kit lacks): problems with pointers into the template (``/edit/…``)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} brand problem(s)")
        self.problems = problems


@dataclass(frozen=True)
class Filled:
    document: dict[str, Any]
    """The merged edit document, ``{{brand.…}}`` filled."""
    origin: Callable[[str], str]
    """Where a pointer into the document comes from in the template."""
    brand: BrandUse | None
    """The kit version that filled it (None: the edit names no kit)."""


@dataclass
class TemplateInfo:
    id: str
    version: int
    template: Template
    workspace_id: str
    _assets: dict[str, AssetFacts | None] = field(default_factory=dict)
    _branded: dict[tuple[str, str | None], tuple[Template, BrandUse | None]] = field(default_factory=dict)

    @property
    def default_locale(self) -> str | None:
        return self.template.default_locale

    def type_of(self, name: str, item_field: str | None) -> str | None:
        """The type of variable ``name`` (or of ``item_field`` of its items); None if unknown."""
        var = self.template.variable(name)
        if var is None:
            return None
        if item_field is None:
            return var.type
        found = next((f for f in var.fields if f.name == item_field), None)
        return found.type if found else None

    def fill(
        self, db: Session, values: Mapping[str, Any], locale: str | None, *, brand_kit: str | None = None
    ) -> Filled:
        """The merged edit: :class:`EditError` with problems at ``/values/…`` for values that do
        not fit, :class:`BrandProblems` when the kit (the edit's ``brand``, or ``brand_kit``
        instead) cannot fill the template's brand placeholders."""
        self._prefetch(db, values)
        document, origin = fill_template_traced(
            self.template, values, locale=locale, asset_info=self._assets.get
        )
        kit_id = brand_kit if brand_kit is not None else document.get("brand")
        if kit_id is None and not self._uses_brand():
            return Filled(document, origin, None)
        # The kit may come from a value ("brand": "{{kit}}"), so it is known once the values are.
        branded, brand = self._with_brand(db, kit_id, locale or self.default_locale)
        document, origin = fill_template_traced(branded, values, locale=locale, asset_info=self._assets.get)
        return Filled(document, origin, brand)

    def _uses_brand(self) -> bool:
        return any(name.startswith("brand.") for name in find_placeholders(self.template.edit))

    def _with_brand(self, db: Session, kit_id: Any, locale: str | None) -> tuple[Template, BrandUse | None]:
        """The template with its brand placeholders filled from the kit's current version (and the
        kit's fonts in ``timeline.fonts``), once per kit and locale."""
        key = (repr(kit_id), locale)
        if key not in self._branded:
            edit = dict(self.template.edit)
            if kit_id is not None:
                edit["brand"] = kit_id
            resolved, brand, problems = resolve_brand(edit, db, self.workspace_id, locale=locale)
            if problems:
                raise BrandProblems([dataclasses.replace(p, pointer="/edit" + p.pointer) for p in problems])
            self._branded[key] = (dataclasses.replace(self.template, edit=resolved), brand)
        return self._branded[key]

    def locale_problem(self, locale: str) -> str | None:
        """Why the template cannot be rendered in ``locale`` (None when it can)."""
        declared = self.template.locales
        if not declared or locale in declared or locale.split("-")[0] in declared:
            return None
        return f"the template has no locale {locale!r} (it has {', '.join(declared)})"

    def _prefetch(self, db: Session, values: Any) -> None:
        # Every string in the row that could be an asset id, looked up once for the whole batch.
        refs: set[str] = set()
        stack = [values]
        while stack:
            node = stack.pop()
            if isinstance(node, str) and node.startswith("ast_") and node not in self._assets:
                refs.add(node)
            elif isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        if not refs:
            return
        self._assets.update(dict.fromkeys(refs))
        rows = db.execute(
            select(Asset.id, Asset.kind, Asset.media).where(
                Asset.workspace_id == self.workspace_id, Asset.id.in_(refs)
            )
        )
        for asset_id, kind, media in rows:
            media = dict(media or {})
            facts = {"kind": kind}
            facts.update({k: media[k] for k in ("width", "height") if isinstance(media.get(k), int | float)})
            self._assets[asset_id] = facts


def parsed(
    template_id: str,
    number: int,
    document: Mapping[str, Any],
    workspace_id: str,
    *,
    pointer: str | None = None,
) -> TemplateInfo:
    """A stored version, parsed (once per request), or 422 ``edit-invalid`` when a rule added since
    it was saved refuses it: pointers into the template, or all at ``pointer`` (a request field
    naming the template) with the template's pointer in the detail."""
    try:
        template = parse_template(dict(document))
    except EditError as exc:  # saved templates were checked; a newer rule may refuse an old one
        errors = [
            {"pointer": "#" + p.pointer, "detail": p.message, "code": p.code}
            if pointer is None
            else {"pointer": pointer, "detail": f"{p.pointer}: {p.message}", "code": p.code}
            for p in exc.problems
        ]
        raise Invalid(
            f"version {number} of template {template_id} is no longer valid: save it "
            "again with the problems fixed",
            code="edit-invalid",
            errors=errors,
        ) from None
    return TemplateInfo(template_id, number, template, workspace_id)


def load(db: Session, workspace_id: str, template_id: str, version: int | None) -> TemplateInfo:
    """The template version (the current one when ``version`` is None), or 404."""
    row = db.get(TemplateRow, template_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(
            f"no template {template_id}",
            errors=[{"pointer": "#/template_id", "code": "not_found", "detail": "no such template"}],
        )
    number = version or row.version
    stored = db.scalar(
        select(TemplateVersion).where(TemplateVersion.template_id == row.id, TemplateVersion.number == number)
    )
    if stored is None:
        raise NotFound(
            f"template {row.id} has no version {number} (the latest is {row.version})",
            errors=[{"pointer": "#/version", "code": "not_found", "detail": f"no version {number}"}],
        )
    return parsed(row.id, number, stored.document, workspace_id, pointer="#/template_id")


# ---------------------------------------------------------------- finding a version


def current(db: Session, workspace_id: str, template_id: str) -> tuple[TemplateRow, TemplateVersion]:
    """The template and its current version; another workspace's template does not exist."""
    found = db.execute(
        select(TemplateRow, TemplateVersion)
        .join(
            TemplateVersion,
            and_(
                TemplateVersion.template_id == TemplateRow.id, TemplateVersion.number == TemplateRow.version
            ),
        )
        .where(TemplateRow.id == template_id, TemplateRow.workspace_id == workspace_id)
    ).first()
    if found is None:
        raise NotFound(f"no template {template_id}")
    return found[0], found[1]


def version(
    db: Session, template: TemplateRow, number: int | None = None, where: str | None = None
) -> TemplateVersion:
    """Version ``number`` (None: the current one); 404 naming the body's ``where`` if given."""
    number = template.version if number is None else number
    found = db.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id, TemplateVersion.number == number
        )
    )
    if found is None:
        errors = (
            [{"pointer": where, "code": "not_found", "detail": f"no version {number}"}] if where else None
        )
        raise NotFound(
            f"template {template.id} has no version {number} (the latest is {template.version})",
            errors=errors,
        )
    return found


# ---------------------------------------------------------------- representations and events


def template_json(template: TemplateRow, document: dict[str, Any]) -> dict[str, Any]:
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


def record_template_event(
    db: Session,
    template: TemplateRow,
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


def updated(
    db: Session, template: TemplateRow, number: int, name: str | None, at: datetime, message: str
) -> None:
    """Records ``template.updated`` for a new version, in its transaction."""
    record_template_event(
        db, template, "template.updated", version=number, name=name, updated_at=at, message=message
    )


def deleted(db: Session, template: TemplateRow, actor: Actor) -> None:
    """Records the deletion (event and audit entry); versions go with the row (ON DELETE
    CASCADE), renders keep their edit and the template's id."""
    record_template_event(db, template, "template.deleted")
    record_audit(
        db,
        workspace_id=template.workspace_id,
        action="template.deleted",
        resource_type="template",
        resource_id=template.id,
        details={"name": template.name, "version": template.version},
        **actor,
    )


TEMPLATES: Versioned[TemplateRow, TemplateVersion] = Versioned(
    TemplateRow,
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
    on_update=updated,
)
"""Templates kept with versions, as projects keep revisions: the ETag is the version number and
a change is one ``UPDATE … WHERE version = :expected`` (:mod:`reelforge.services.versioning`)."""


# ---------------------------------------------------------------- changes


def create_template(
    db: Session, workspace_id: str, name: str, document: dict[str, Any], message: str
) -> TemplateRow:
    """``document`` checked whole and stored as version 1, with its ``template.created`` event;
    flushed, not committed (the caller stages its answer for Idempotency-Key and commits)."""
    check_template(document, db, workspace_id)
    template = TEMPLATES.create(db, workspace_id, name, document, message)
    record_template_event(db, template, "template.created", message=message)
    return template


def replace_template(
    db: Session,
    workspace_id: str,
    template_id: str,
    document: dict[str, Any],
    message: str,
    name: str | None,
    *,
    if_match: str | None,
) -> tuple[TemplateRow, dict[str, Any]]:
    """``document`` (checked against the workspace as it is then) as the next version
    (``If-Match`` required); returns the template and the document."""

    def make(template: TemplateRow, current: TemplateVersion) -> Change:
        check_template(document, db, workspace_id)
        return document, message, name

    return TEMPLATES.update(db, workspace_id, template_id, make, if_match=if_match)


def delete_template(
    db: Session, workspace_id: str, template_id: str, *, if_match: str | None, actor: Actor
) -> None:
    """Delete the template and its versions (``If-Match`` honoured when given); recorded and
    committed."""
    template, _ = current(db, workspace_id, template_id)
    TEMPLATES.remove(db, template, if_match=if_match)
    deleted(db, template, actor)
    db.commit()


def restore_version(
    db: Session,
    workspace_id: str,
    template_id: str,
    number: int,
    message: str | None,
    *,
    if_match: str | None,
    stager: CommitStager | None = None,
) -> tuple[TemplateRow, dict[str, Any]]:
    """Version ``number``, checked again (an asset it names may be gone), as the next version;
    the history is never rewritten."""

    def check(document: dict[str, Any]) -> None:
        check_template(document, db, workspace_id)

    return TEMPLATES.restore_version(
        db, workspace_id, template_id, number, message, check, if_match=if_match, stager=stager
    )


# ---------------------------------------------------------------- checking


def _problems(code: str, detail: str, problems: list[Problem], prefix: str = "", **extra: Any) -> Invalid:
    return Invalid(
        detail,
        code=code,
        errors=[{"pointer": "#" + prefix + p.pointer, "detail": p.message, "code": p.code} for p in problems],
        **extra,
    )


def _count(problems: list[Problem]) -> str:
    return f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"


def _literal_assets(edit: Any, path: tuple[str | int, ...] = ("edit",)) -> list[tuple[str, str]]:
    """Asset ids written in the template itself (not through a variable), with their pointers."""
    found: list[tuple[str, str]] = []
    named = asset_id_of(edit)
    if named is not None:
        found.append((named, json_pointer(*path)))
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
    # Version references and queries written as JSON objects are stored in their string forms
    # (``ast_…@approved``, ``asset?tag=…``): they resolve when a render is made from the template.
    normalise_references(document.get("edit"))
    try:
        template = spec.parse_template(document)
    except EditError as exc:
        raise _problems(
            "template-invalid", f"{_count(list(exc.problems))} in the template", list(exc.problems)
        ) from None
    missing: list[Problem] = []
    for ref in asset_references(template.edit):
        query = parse_query(ref.src)
        if query is not None and query.problems:
            missing.append(Problem("/edit" + ref.pointer, "; ".join(query.problems), "reference_invalid"))
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


# ---------------------------------------------------------------- filling


def stored_template(template: TemplateRow, version: TemplateVersion) -> TemplateInfo:
    """The version, parsed once for the request (422 ``edit-invalid`` with pointers into it when
    a rule added since it was saved refuses it)."""
    return parsed(template.id, version.number, version.document, template.workspace_id)


def values_schema(template: TemplateRow, version: TemplateVersion) -> dict[str, Any]:
    """The JSON Schema of the values the version takes, with its own ``$id``."""
    schema = spec.values_schema(stored_template(template, version).template)
    schema["$id"] = f"/v1/templates/{template.id}/variables?version={version.number}"
    return schema


def merge_values(
    db: Session,
    workspace_id: str,
    template: TemplateRow,
    version: TemplateVersion,
    values: Mapping[str, Any],
    locale: str | None,
    outputs: list[dict[str, Any]] | None = None,
    *,
    info: TemplateInfo | None = None,
    brand_override: str | None = None,
) -> PreparedEdit:
    """The template filled with ``values``, checked as a render would be: 422
    ``values-invalid`` (pointers ``#/values/…``, ``#/locale``) for values that do not fit the
    variables, 422 ``edit-invalid`` for a merged edit the service cannot render (pointers into
    the template version, or ``#/outputs/…`` for the outputs given). The brand kit the edit
    names (or ``brand_override``) fills the template's ``{{brand.…}}`` before the values go in."""
    info = info or stored_template(template, version)
    if len(json.dumps(values, default=str)) > MAX_VALUES_BYTES:
        raise TooLarge(f"values may be at most {MAX_VALUES_BYTES // 1024} KiB")
    where = f"version {version.number} of template {template.id} filled with these values"
    try:
        filled = info.fill(db, values, locale, brand_kit=brand_override)
    except EditError as exc:
        problems = list(exc.problems)
        raise _problems(
            "values-invalid",
            f"{_count(problems)} in the values for template {template.id} (version {version.number})",
            problems,
            template_id=template.id,
            version=version.number,
        ) from None
    except BrandProblems as exc:
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
    except ServiceError as exc:
        errors = []
        for err in exc.errors or []:
            ptr = str(err.get("pointer", "#"))[1:]
            if outputs is not None and (ptr == "/outputs" or ptr.startswith("/outputs/")):
                at = "#" + ptr
            else:
                at = "#" + filled.origin(ptr)
            errors.append({**err, "pointer": at})
        raise Invalid(
            f"{where}: {exc.detail} (pointers into the template, or into this body's `outputs`)",
            code=exc.code,
            errors=errors,
            template_id=template.id,
            version=version.number,
        ) from None


def preview(
    db: Session,
    workspace_id: str,
    template_id: str,
    values: Mapping[str, Any],
    locale: str | None,
    number: int | None,
) -> dict[str, Any]:
    """The template filled with ``values``, as a ``template_preview``."""
    template, _ = current(db, workspace_id, template_id)
    chosen = version(db, template, number, "#/version")
    info = stored_template(template, chosen)
    prepared = merge_values(db, workspace_id, template, chosen, values, locale, info=info)
    return {
        "object": "template_preview",
        "template": {"id": template.id, "version": chosen.number, "locale": locale or info.default_locale},
        "edit": dict(prepared.document),
    }


def check_metadata(metadata: Mapping[str, Any], max_bytes: int) -> None:
    """A render's free ``metadata``: finite numbers, at most ``max_bytes`` of JSON."""
    infinite = list(non_finite(metadata))
    if infinite:
        raise Invalid(
            f"{_count(infinite)} in the request",
            errors=[
                {"pointer": "#/metadata" + p.pointer, "code": p.code, "detail": p.message} for p in infinite
            ],
        )
    if len(json.dumps(metadata, default=str)) > max_bytes:
        raise Invalid(
            "1 problem in the request",
            errors=[
                {"pointer": "#/metadata", "code": "too_large", "detail": f"at most {max_bytes // 1024} KiB"}
            ],
        )


@dataclass(frozen=True)
class TemplateRender:
    """What a render from a template needs: the merged edit and where it came from."""

    template: TemplateRow
    version: int
    locale: str | None
    prepared: PreparedEdit

    @property
    def origin(self) -> dict[str, Any]:
        return {"id": self.template.id, "version": self.version, "locale": self.locale}


def prepare_render(
    db: Session,
    workspace_id: str,
    template_id: str,
    values: Mapping[str, Any],
    locale: str | None,
    number: int | None,
    outputs: list[dict[str, Any]] | None,
    metadata: Mapping[str, Any],
    *,
    max_metadata_bytes: int,
) -> TemplateRender:
    """The template filled with ``values`` (as :func:`preview`), its ``outputs`` replaced when
    given, and the render's ``metadata`` checked: ready to queue or to plan."""
    template, _ = current(db, workspace_id, template_id)
    chosen = version(db, template, number, "#/version")
    check_metadata(metadata, max_metadata_bytes)
    info = stored_template(template, chosen)
    prepared = merge_values(db, workspace_id, template, chosen, values, locale, outputs, info=info)
    return TemplateRender(template, chosen.number, locale or info.default_locale, prepared)
