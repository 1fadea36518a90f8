"""A stored template version as the service fills it (templates' preview, check and renders, and
batches): parsed once per request, its variables' types (to read CSV cells), and the merge of
one set of values in one locale, with asset values checked against the workspace.

A brand kit fills the template's own ``{{brand.…}}`` placeholders before the values go in, so a
value is never scanned for placeholders: the text "Hi {{brand.name}}" given for a variable is
rendered as written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.db.models import Asset
from reelforge.db.templates import Template as TemplateRow
from reelforge.db.templates import TemplateVersion
from reelforge.edit.errors import EditError, Problem
from reelforge.edit.templates import AssetFacts, Template, fill_template_traced, parse_template
from reelforge.edit.variables import find_placeholders

from .brands import BrandUse, resolve_brand
from .problems import ApiError

__all__ = ["BrandProblems", "Filled", "TemplateInfo", "load", "parsed"]


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
        raise ApiError(
            "edit-invalid",
            f"version {number} of template {template_id} is no longer valid: save it "
            "again with the problems fixed",
            errors=errors,
        ) from None
    return TemplateInfo(template_id, number, template, workspace_id)


def load(db: Session, workspace_id: str, template_id: str, version: int | None) -> TemplateInfo:
    """The template version (the current one when ``version`` is None), or 404."""
    row = db.get(TemplateRow, template_id)
    if row is None or row.workspace_id != workspace_id:
        raise ApiError(
            "not-found",
            f"no template {template_id}",
            errors=[{"pointer": "#/template_id", "code": "not_found", "detail": "no such template"}],
        )
    number = version or row.version
    stored = db.scalar(
        select(TemplateVersion).where(TemplateVersion.template_id == row.id, TemplateVersion.number == number)
    )
    if stored is None:
        raise ApiError(
            "not-found",
            f"template {row.id} has no version {number} (the latest is {row.version})",
            errors=[{"pointer": "#/version", "code": "not_found", "detail": f"no version {number}"}],
        )
    return parsed(row.id, number, stored.document, workspace_id, pointer="#/template_id")
