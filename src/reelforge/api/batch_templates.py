"""A stored template version as a batch fills it: its variables' types (to read CSV cells) and
the merge of one row's values in one locale, with asset values checked against the workspace."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.db.models import Asset
from reelforge.db.templates import Template as TemplateRow
from reelforge.db.templates import TemplateVersion
from reelforge.spec.errors import EditError
from reelforge.spec.templates import AssetFacts, Template, fill_template_traced, parse_template

from .problems import ApiError

__all__ = ["TemplateInfo", "load"]


@dataclass
class TemplateInfo:
    id: str
    version: int
    template: Template
    workspace_id: str
    _assets: dict[str, AssetFacts | None] = field(default_factory=dict)

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

    def fill(self, db: Session, values: Mapping[str, Any],
             locale: str | None) -> tuple[dict[str, Any], Callable[[str], str]]:
        """The merged edit document, and where a pointer into it comes from in the template;
        :class:`EditError` with problems at ``/values/…``."""
        self._prefetch(db, values)
        return fill_template_traced(self.template, values, locale=locale, asset_info=self._assets.get)

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
        rows = db.execute(select(Asset.id, Asset.kind, Asset.media).where(Asset.workspace_id == self.workspace_id,
                                                                         Asset.id.in_(refs)))
        for asset_id, kind, media in rows:
            media = dict(media or {})
            facts = {"kind": kind}
            facts.update({k: media[k] for k in ("width", "height") if isinstance(media.get(k), int | float)})
            self._assets[asset_id] = facts


def load(db: Session, workspace_id: str, template_id: str, version: int | None) -> TemplateInfo:
    """The template version (the current one when ``version`` is None), or 404."""
    row = db.get(TemplateRow, template_id)
    if row is None or row.workspace_id != workspace_id:
        raise ApiError("not-found", f"no template {template_id}",
                       errors=[{"pointer": "#/template_id", "code": "not_found", "detail": "no such template"}])
    number = version or row.version
    stored = db.scalar(select(TemplateVersion).where(TemplateVersion.template_id == row.id,
                                                     TemplateVersion.number == number))
    if stored is None:
        raise ApiError("not-found", f"template {row.id} has no version {number} (the latest is {row.version})",
                       errors=[{"pointer": "#/version", "code": "not_found", "detail": f"no version {number}"}])
    try:
        template = parse_template(dict(stored.document))
    except EditError as exc:  # saved templates were checked; a newer rule may refuse an old one
        raise ApiError("edit-invalid", f"version {number} of template {row.id} is no longer valid",
                       errors=[{"pointer": "#/template_id", "detail": f"{p.pointer}: {p.message}", "code": p.code}
                               for p in exc.problems]) from None
    return TemplateInfo(row.id, number, template, workspace_id)
