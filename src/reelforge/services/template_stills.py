"""Stills of a template filled with values, one per aspect ratio, for people who edit by
looking: the merged edit (as ``POST /v1/templates/{id}/preview`` makes it) rendered as JPEG
frames at one moment, every aspect ratio out of one FFmpeg run (the engine's still outputs)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reelforge.db.models import Asset
from reelforge.db.templates import Template as TemplateRow
from reelforge.edit.errors import EditError
from reelforge.edit.template_model import Variable
from reelforge.media.resolver import AssetResolver
from reelforge.render.engine import render_edit

from . import templates
from .context import Services
from .errors import Invalid

__all__ = ["ASPECT_RATIOS", "Still", "TemplateForm", "recent_templates", "template_form", "template_stills"]

ASPECT_RATIOS = ("16:9", "1:1", "9:16")


@dataclass(frozen=True)
class Still:
    aspect_ratio: str
    width: int
    height: int
    jpeg: bytes


def template_stills(
    services: Services,
    workspace_id: str,
    template_id: str,
    values: Mapping[str, Any],
    locale: str | None,
    *,
    at: float,
    resolution: str = "360p",
    aspect_ratios: Sequence[str] = ASPECT_RATIOS,
    number: int | None = None,
) -> list[Still]:
    """The template (its current version, or ``number``) filled with ``values`` in ``locale``,
    as a still at ``at`` seconds per aspect ratio. Values that do not fit raise 422
    ``values-invalid`` with pointers ``#/values/…``; a moment after the end, ``edit-invalid`` with
    the pointer ``#/outputs/<i>/time``."""
    outputs = [
        {"name": f"still-{i}", "format": "jpg", "resolution": resolution, "aspect_ratio": ratio, "time": at}
        for i, ratio in enumerate(aspect_ratios)
    ]
    with services.sessions() as db:
        template, _ = templates.current(db, workspace_id, template_id)
        chosen = templates.version(db, template, number, "#/version")
        info = templates.stored_template(template, chosen)
        prepared = templates.merge_values(
            db, workspace_id, template, chosen, values, locale, outputs, info=info
        )
    resolver = AssetResolver(services.sessions, services.storage, workspace_id)
    with tempfile.TemporaryDirectory(dir=services.storage.temp_dir(), prefix="stills-") as tmp:
        try:
            result = render_edit(
                prepared.edit, out_dir=Path(tmp) / "out", work_dir=Path(tmp) / "work", resolver=resolver
            )
        except EditError as exc:
            count = len(exc.problems)
            raise Invalid(
                f"{count} problem{'s' if count != 1 else ''} in the filled template",
                code="edit-invalid",
                errors=[
                    {"pointer": "#" + p.pointer, "detail": p.message, "code": p.code} for p in exc.problems
                ],
            ) from None
        return [
            Still(ratio, int(out.info.width or 0), int(out.info.height or 0), out.path.read_bytes())
            for ratio, out in zip(aspect_ratios, result.outputs, strict=True)
        ]


# ------------------------------------------------------------------ what a values form needs


@dataclass(frozen=True)
class AssetChoice:
    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class TemplateForm:
    """What a form for a template's values shows: its variables, locales, and the workspace's
    assets each asset variable may take."""

    id: str
    name: str
    version: int
    variables: tuple[Variable, ...]
    locales: tuple[str, ...]
    default_locale: str | None
    choices: dict[str, list[AssetChoice]]


MAX_CHOICES = 200
"""Assets offered per asset variable (the newest)."""


def template_form(services: Services, workspace_id: str, template_id: str) -> TemplateForm:
    with services.sessions() as db:
        template, _ = templates.current(db, workspace_id, template_id)
        info = templates.stored_template(template, templates.version(db, template))
        spec = info.template
        choices: dict[str, list[AssetChoice]] = {}
        for variable in _asset_variables(spec.variables):
            query = select(Asset.id, Asset.name, Asset.kind).where(Asset.workspace_id == workspace_id)
            if variable.kinds:
                query = query.where(Asset.kind.in_(variable.kinds))
            rows = db.execute(query.order_by(Asset.created_at.desc()).limit(MAX_CHOICES)).all()
            choices[variable.name] = [AssetChoice(r.id, r.name, r.kind) for r in rows]
        return TemplateForm(
            template.id,
            template.name,
            template.version,
            spec.variables,
            spec.locales,
            spec.default_locale,
            choices,
        )


def _asset_variables(variables: Sequence[Variable]) -> list[Variable]:
    return [v for v in variables if v.type == "asset"]


def recent_templates(services: Services, workspace_id: str, limit: int) -> list[dict[str, Any]]:
    """The workspace's templates, last changed first: id, name, version, updated_at."""
    with services.sessions() as db:
        rows = db.scalars(
            select(TemplateRow)
            .where(TemplateRow.workspace_id == workspace_id)
            .order_by(TemplateRow.updated_at.desc(), TemplateRow.id.desc())
            .limit(limit)
        )
        return [{"id": t.id, "name": t.name, "version": t.version, "updated_at": t.updated_at} for t in rows]
