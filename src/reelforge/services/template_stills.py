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
from reelforge.render.layout import DEFAULT_SAFE_ZONES, SafeZone, safe_zone_for

from . import templates
from .brand_kits import service_findings
from .context import Services
from .edits import PreparedEdit
from .errors import Invalid

__all__ = [
    "ASPECT_RATIOS",
    "Still",
    "StillCheck",
    "TemplateForm",
    "checked_stills",
    "recent_templates",
    "template_form",
    "template_stills",
]

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
    stills, _ = _stills(
        services, workspace_id, template_id, values, locale, at, resolution, aspect_ratios, number
    )
    return stills


@dataclass(frozen=True)
class StillCheck:
    """What the brand kit says of a template's stills: its compliance ``findings`` (each with
    ``output``, the index of its still, and a ``pointer`` into the merged edit) and the safe zone
    of each still (by index: the fractions of each side the platforms' UI covers)."""

    brand_kit: dict[str, Any] | None
    """The kit checked against (id, version, name); None when the template's edit names none."""
    findings: list[dict[str, Any]]
    zones: dict[int, dict[str, float]]
    passed: bool


def checked_stills(
    services: Services,
    workspace_id: str,
    template_id: str,
    values: Mapping[str, Any],
    locale: str | None,
    *,
    at: float,
    resolution: str = "360p",
    aspect_ratios: Sequence[str] = ASPECT_RATIOS,
) -> tuple[list[Still], StillCheck]:
    """:func:`template_stills`, and the stills' edit checked against its brand kit as a render
    is (``POST /v1/templates/{id}/check``'s findings, for these outputs). Without a kit, there
    are no findings and the zones are the platforms' defaults (the top 14 % and bottom 20 % of
    9:16), which a kit that sets none applies too."""
    stills, prepared = _stills(
        services, workspace_id, template_id, values, locale, at, resolution, aspect_ratios, None
    )
    zones: Mapping[str, SafeZone] = DEFAULT_SAFE_ZONES
    findings: list[dict[str, Any]] = []
    kit: dict[str, Any] | None = None
    if prepared.brand is not None:
        kit = prepared.brand.as_json()
        stored = prepared.brand.kit.get("safe_zones")
        if isinstance(stored, Mapping):
            zones = {label: SafeZone(**zone) for label, zone in stored.items()}
        with services.sessions() as db:
            found = service_findings(db, services.storage, workspace_id, prepared.edit, prepared.brand.kit)
        findings = [f.as_json("/edit") for f in found]
    by_still: dict[int, dict[str, float]] = {}
    for i, still in enumerate(stills):
        match = safe_zone_for(zones, still.width, still.height)
        if match is not None:
            zone = match[1]
            by_still[i] = {"top": zone.top, "bottom": zone.bottom, "left": zone.left, "right": zone.right}
    passed = not any(f["severity"] == "error" for f in findings)
    return stills, StillCheck(kit, findings, by_still, passed)


def _stills(
    services: Services,
    workspace_id: str,
    template_id: str,
    values: Mapping[str, Any],
    locale: str | None,
    at: float,
    resolution: str,
    aspect_ratios: Sequence[str],
    number: int | None,
) -> tuple[list[Still], PreparedEdit]:
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
        stills = [
            Still(ratio, int(out.info.width or 0), int(out.info.height or 0), out.path.read_bytes())
            for ratio, out in zip(aspect_ratios, result.outputs, strict=True)
        ]
    return stills, prepared


# ------------------------------------------------------------------ what a values form needs


@dataclass(frozen=True)
class AssetChoice:
    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class TemplateForm:
    """What a form for a template's values shows: its variables, locales, and the workspace's
    assets each asset variable may take (by name; ``list.field`` for a list's rows)."""

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
        for key, variable in _asset_variables(spec.variables):
            query = select(Asset.id, Asset.name, Asset.kind).where(Asset.workspace_id == workspace_id)
            if variable.kinds:
                query = query.where(Asset.kind.in_(variable.kinds))
            rows = db.execute(query.order_by(Asset.created_at.desc()).limit(MAX_CHOICES)).all()
            choices[key] = [AssetChoice(r.id, r.name, r.kind) for r in rows]
        return TemplateForm(
            template.id,
            template.name,
            template.version,
            spec.variables,
            spec.locales,
            spec.default_locale,
            choices,
        )


def _asset_variables(variables: Sequence[Variable]) -> list[tuple[str, Variable]]:
    """The asset variables by the key of their choices: ``name``, or ``list.field`` for a field
    of a list variable's rows."""
    found = [(v.name, v) for v in variables if v.type == "asset"]
    for v in variables:
        found += [(f"{v.name}.{f.name}", f) for f in v.fields if f.type == "asset"]
    return found


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
