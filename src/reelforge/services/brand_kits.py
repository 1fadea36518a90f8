"""Brand kits in the service: what a kit may hold, how an edit's ``{{brand.…}}`` placeholders
are filled from the kit's current version, and the compliance check around renders.

The kits' operations live here too; :mod:`reelforge.services.edits`
calls :func:`resolve_brand` before it validates an edit, so projects and renders see a kit the
same way, and :mod:`reelforge.services.templates` calls it on a template's own edit before the
values go in (the one way ``{{brand.…}}`` is filled; values are never scanned). The check itself is pure and lives in
:mod:`reelforge.render.compliance`; here it gets what it needs from the database.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from PIL import ImageFont
from pydantic import Field, StringConstraints
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.brands import BRAND_META, BrandKit, BrandKitVersion, WorkspaceCompliance
from reelforge.db.models import Asset, AssetVersion
from reelforge.edit.errors import Problem, pointer
from reelforge.edit.models import CaptionStyle, Edit, Watermark
from reelforge.edit.references import asset_references, parse_version_ref
from reelforge.edit.values import Color
from reelforge.edit.variables import find_placeholders, substitute
from reelforge.media.storage import Storage
from reelforge.render.compliance import (
    DEFAULT_MIN_TEXT_SIZE,
    DEFAULT_SAFE_ZONES,
    BrandKitView,
    Finding,
    SafeZone,
    check_compliance,
)

from .audit import Actor
from .errors import Invalid
from .inputs import InputModel
from .versioning import Change, Versioned

__all__ = [
    "BRAND_META",
    "KITS",
    "BrandKitBody",
    "BrandUse",
    "brand_values",
    "check_before_render",
    "check_kit_assets",
    "compliance_level",
    "create_kit",
    "current_kit",
    "delete_kit",
    "findings_problem",
    "kit_deleted",
    "kit_json",
    "kit_version",
    "kit_version_json",
    "kit_view",
    "locale_fonts",
    "replace_kit",
    "resolve_brand",
    "service_findings",
]

PartName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
AssetId = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class BrandFont(InputModel):
    """A font role (``heading``, ``body``…): an uploaded font asset, and per-locale overrides
    for scripts the main font lacks (``{"ar": "ast_…", "ja": "ast_…"}``)."""

    asset: AssetId
    locales: dict[Locale, AssetId] = Field(default_factory=dict)
    family: str | None = None
    """Read-only: the family name read from the font file (ignored on input)."""
    locale_families: dict[str, str] | None = None
    """Read-only: the family of each locale's font (ignored on input)."""


class BrandSafeZone(InputModel):
    """Fractions of the output reserved on each side for platform UI."""

    top: float = Field(0, ge=0, le=0.5)
    bottom: float = Field(0, ge=0, le=0.5)
    left: float = Field(0, ge=0, le=0.5)
    right: float = Field(0, ge=0, le=0.5)


class BrandRules(InputModel):
    require_logo: bool = False
    """Every output must show one of the kit's logos (as a clip or the watermark)."""
    require_captions: bool = False
    min_text_size: float | None = Field(DEFAULT_MIN_TEXT_SIZE, ge=0, le=0.2)
    """Readable minimum for text and captions, as a fraction of each output's shorter side;
    ``null`` turns the check off."""
    allowed_fonts_only: bool = False
    """Text and captions may use only the kit's font families."""
    allowed_colors_only: bool = False
    """Text, captions, shapes, colour clips and the background may use only the palette."""


class BrandKitBody(InputModel):
    """A brand kit as sent to create or replace it (every part optional but the name)."""

    name: str = Field(min_length=1, max_length=200)
    logos: dict[PartName, AssetId] = Field(default_factory=dict)
    """Named image assets: ``logo`` is the one ``{{brand.logo}}`` means."""
    colors: dict[PartName, Color] = Field(default_factory=dict)
    fonts: dict[PartName, BrandFont] = Field(default_factory=dict)
    caption_style: CaptionStyle | None = None
    intro: AssetId | None = None
    """A video asset to open with (``{{brand.intro}}``)."""
    outro: AssetId | None = None
    watermark: Watermark | None = None
    """An output watermark (``"watermark": "{{brand.watermark}}"``)."""
    safe_zones: (
        dict[Annotated[str, StringConstraints(pattern=r"^[1-9]\d{0,1}:[1-9]\d{0,1}$")], BrandSafeZone] | None
    ) = None
    """Per aspect ratio; default ``{"9:16": {"top": 0.14, "bottom": 0.2}}``."""
    rules: BrandRules = Field(default_factory=BrandRules)
    message: str = Field("", max_length=500)
    """Says what this version changed, in the version history."""


# ---------------------------------------------------------------------- storing a kit


_KINDS = {"image": "an image", "video": "a video", "font": "a font"}


def _font_family(path: Path) -> str | None:
    try:
        family = ImageFont.truetype(str(path), 16).getname()[0]
    except OSError:
        return None
    return family or None


def check_kit_assets(body: BrandKitBody, db: Session, storage: Storage, workspace_id: str) -> dict[str, Any]:
    """The kit as stored (defaults filled, font families read from the files), or 422 listing
    every asset that is missing or of the wrong kind, each with its pointer into the body."""
    wanted: list[tuple[str, str, str]] = []  # (asset id, pointer, kind)
    wanted += [(a, pointer("logos", n), "image") for n, a in body.logos.items()]
    for role, font in body.fonts.items():
        wanted.append((font.asset, pointer("fonts", role, "asset"), "font"))
        wanted += [(a, pointer("fonts", role, "locales", loc), "font") for loc, a in font.locales.items()]
    wanted += [(a, pointer(part), "video") for part, a in (("intro", body.intro), ("outro", body.outro)) if a]
    if body.watermark is not None:
        wanted.append((body.watermark.src, pointer("watermark", "src"), "image"))
    ids = sorted({a for a, _, _ in wanted})
    rows = (
        {
            a.id: a
            for a in db.scalars(select(Asset).where(Asset.workspace_id == workspace_id, Asset.id.in_(ids)))
        }
        if ids
        else {}
    )
    errors: list[dict[str, Any]] = []
    families: dict[str, str] = {}
    for asset_id, where, kind in wanted:
        asset = rows.get(asset_id)
        if asset is None:
            errors.append(
                {
                    "pointer": "#" + where,
                    "code": "asset_not_found",
                    "detail": f"no asset {asset_id} in this workspace",
                }
            )
        elif asset.kind != kind:
            errors.append(
                {
                    "pointer": "#" + where,
                    "code": "asset_kind",
                    "detail": f"{asset_id} is {_KINDS.get(asset.kind, 'a ' + asset.kind)} asset; "
                    f"this needs {_KINDS[kind]} asset",
                }
            )
        elif kind == "video" and (asset.media or {}).get("has_video") is False:
            errors.append(
                {"pointer": "#" + where, "code": "asset_kind", "detail": f"{asset_id} has no video stream"}
            )
        elif kind == "font" and asset_id not in families:
            family = _font_family(storage.local_path(asset.storage_key))
            if family is None:
                errors.append(
                    {
                        "pointer": "#" + where,
                        "code": "font_unreadable",
                        "detail": f"cannot read a family name from the font {asset_id}",
                    }
                )
            else:
                families[asset_id] = family
    if errors:
        count = len(errors)
        raise Invalid(f"{count} problem{'s' if count != 1 else ''} in the brand kit", errors=errors)
    stored = body.model_dump(mode="json", exclude={"message"})
    for font in stored["fonts"].values():
        font["family"] = families[font["asset"]]
        font["locale_families"] = {loc: families[a] for loc, a in font["locales"].items()}
    if stored["safe_zones"] is None:
        stored["safe_zones"] = {
            k: {"top": z.top, "bottom": z.bottom, "left": z.left, "right": z.right}
            for k, z in DEFAULT_SAFE_ZONES.items()
        }
    return stored


# ---------------------------------------------------------------------- using a kit


def _locale_match(locales: Mapping[str, Any], locale: str | None) -> Any:
    """The value for ``locale`` (``ar-EG`` falls back to ``ar``), or None."""
    if not locale:
        return None
    folded = {k.casefold(): v for k, v in locales.items()}
    wanted = locale.casefold()
    while wanted:
        if wanted in folded:
            return folded[wanted]
        wanted = wanted.rpartition("-")[0]
    return None


def brand_values(kit: Mapping[str, Any], locale: str | None = None) -> dict[str, Any]:
    """What each ``{{brand.…}}`` placeholder stands for, keyed by its full name
    (``"brand.colors.primary"``). Fonts are family names, per ``locale`` when the kit has one."""
    values: dict[str, Any] = {"brand.name": kit["name"]}
    for name, asset in kit.get("logos", {}).items():
        values[f"brand.logos.{name}"] = asset
    if "logo" in kit.get("logos", {}):
        values["brand.logo"] = kit["logos"]["logo"]
    for name, color in kit.get("colors", {}).items():
        values[f"brand.colors.{name}"] = color
    for role, font in kit.get("fonts", {}).items():
        local = _locale_match(font.get("locale_families") or {}, locale)
        values[f"brand.fonts.{role}"] = local or font["family"]
    for part in ("caption_style", "intro", "outro", "watermark"):
        if kit.get(part) is not None:
            values[f"brand.{part}"] = copy.deepcopy(kit[part])
    return values


def locale_fonts(kit: Mapping[str, Any]) -> list[str]:
    """Every font asset of the kit (main and per-locale), in a stable order."""
    out: list[str] = []
    for font in kit.get("fonts", {}).values():
        for asset in (font["asset"], *font.get("locales", {}).values()):
            if asset not in out:
                out.append(asset)
    return out


def kit_view(kit: Mapping[str, Any]) -> BrandKitView:
    rules = kit.get("rules") or {}
    fonts = kit.get("fonts", {}).values()
    families = {f["family"] for f in fonts} | {
        fam for f in fonts for fam in (f.get("locale_families") or {}).values()
    }
    logos = set(kit.get("logos", {}).values())
    if kit.get("watermark"):
        logos.add(kit["watermark"]["src"])
    return BrandKitView(
        colors=dict(kit.get("colors", {})),
        font_families=frozenset(families),
        logos=frozenset(logos),
        safe_zones={k: SafeZone(**z) for k, z in (kit.get("safe_zones") or {}).items()},
        require_logo=bool(rules.get("require_logo")),
        require_captions=bool(rules.get("require_captions")),
        min_text_size=rules.get("min_text_size", DEFAULT_MIN_TEXT_SIZE),
        allowed_fonts_only=bool(rules.get("allowed_fonts_only")),
        allowed_colors_only=bool(rules.get("allowed_colors_only")),
    )


@dataclass(frozen=True)
class BrandUse:
    """The kit version an edit was resolved with."""

    kit_id: str
    version: int
    name: str
    kit: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.kit_id, "version": self.version, "name": self.name}


def current_kit(db: Session, workspace_id: str, kit_id: str) -> tuple[BrandKit, BrandKitVersion] | None:
    row = db.execute(
        select(BrandKit, BrandKitVersion)
        .join(
            BrandKitVersion,
            and_(BrandKitVersion.kit_id == BrandKit.id, BrandKitVersion.number == BrandKit.version),
        )
        .where(BrandKit.id == kit_id, BrandKit.workspace_id == workspace_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def _describe(values: Mapping[str, Any], name: str) -> str:
    group = name.rsplit(".", 1)[0] + "."
    known = sorted(k for k in values if k.startswith(group)) or sorted(values)
    return ", ".join(known[:12]) or "none"


def resolve_brand(
    document: Any, db: Session, workspace_id: str, *, locale: str | None = None
) -> tuple[Any, BrandUse | None, list[Problem]]:
    """Fill ``document``'s ``{{brand.…}}`` placeholders from the current version of the kit its
    ``brand`` names, and list the kit's font files in ``timeline.fonts`` (so its families are
    usable by name, also without a placeholder). Returns the new document, the kit version
    used, and problems with pointers into the edit. Other placeholders are left as they are."""
    if not isinstance(document, dict):
        return document, None, []
    used = {name: where for name, where in find_placeholders(document).items() if name.startswith("brand.")}
    kit_id = document.get("brand")
    if kit_id is None:
        problems = [
            Problem(
                where, f'{{{{{name}}}}} needs a brand kit: add "brand": "bk_…" to the edit', "brand_missing"
            )
            for name, wheres in used.items()
            for where in wheres
        ]
        return document, None, problems
    if not isinstance(kit_id, str):
        return document, None, []  # the edit language reports the wrong type
    found = current_kit(db, workspace_id, kit_id)
    if found is None:
        return (
            document,
            None,
            [Problem(pointer("brand"), f"no brand kit {kit_id} in this workspace", "brand_not_found")],
        )
    kit, version = found
    values = brand_values(version.body, locale)
    problems = [
        Problem(
            where,
            f"the brand kit {kit.name!r} has no {name!r} (it has {_describe(values, name)})",
            "brand_part_unknown",
        )
        for name, wheres in used.items()
        if name not in values
        for where in wheres
    ]
    if problems:
        return document, None, problems
    resolved = substitute(document, values, strict=False)
    timeline = resolved.get("timeline")
    if isinstance(timeline, dict):
        fonts = timeline.get("fonts")
        fonts = list(fonts) if isinstance(fonts, list) else []
        timeline["fonts"] = fonts + [a for a in locale_fonts(version.body) if a not in fonts]
    return resolved, BrandUse(kit.id, version.number, kit.name, version.body), []


# ---------------------------------------------------------------------- compliance


def compliance_level(db: Session, workspace_id: str) -> str:
    row = db.get(WorkspaceCompliance, workspace_id)
    return row.level if row is not None else "off"


def service_findings(
    db: Session,
    storage: Storage,
    workspace_id: str,
    edit: Edit,
    kit: Mapping[str, Any],
    *,
    outputs: Sequence[int] | None = None,
) -> list[Finding]:
    """Run the check with the sizes of the edit's images and videos and its font files, as
    the render will see them."""
    srcs = {ref.src for ref in asset_references(edit) if ref.kind in ("image", "video")}
    ids = srcs | set(edit.timeline.fonts)
    rows = (
        list(db.scalars(select(Asset).where(Asset.workspace_id == workspace_id, Asset.id.in_(ids))))
        if ids
        else []
    )
    sizes = {
        a.id: (int(a.media["width"]), int(a.media["height"]))
        for a in rows
        if a.id in srcs and (a.media or {}).get("width") and (a.media or {}).get("height")
    }
    # Pinned versions (``ast_…@3``) have their own sizes and files, and show the kit's logo
    # when their asset is one.
    view = kit_view(kit)
    keys = {a.id: a.storage_key for a in rows}
    pinned = {src: ref for src in ids if (ref := parse_version_ref(src)) is not None}
    versions = (
        db.scalars(
            select(AssetVersion).where(
                AssetVersion.workspace_id == workspace_id,
                AssetVersion.asset_id.in_({ref.asset for ref in pinned.values()}),
            )
        )
        if pinned
        else ()
    )
    for version in versions:
        for src, ref in pinned.items():
            if ref.asset != version.asset_id or ref.version != version.number:
                continue
            keys[src] = version.storage_key
            media = version.media or {}
            if src in srcs and media.get("width") and media.get("height"):
                sizes[src] = (int(media["width"]), int(media["height"]))
    logos = {src for src, ref in pinned.items() if ref.asset in view.logos}
    if logos:
        view = dataclasses.replace(view, logos=view.logos | logos)
    fonts = [storage.local_path(keys[f]) for f in edit.timeline.fonts if f in keys]
    return check_compliance(edit, view, outputs=outputs, media_sizes=sizes, fonts=fonts)


def findings_problem(findings: Sequence[Finding], prefix: str, detail: str) -> Invalid:
    """422 ``compliance-failed``: one located entry per finding, and the findings themselves."""
    return Invalid(
        detail,
        code="compliance-failed",
        errors=[
            {"pointer": "#" + prefix + f.pointer, "detail": f.message, "code": f.rule, "output": f.output}
            for f in findings
        ],
        findings=[f.as_json(prefix) for f in findings],
    )


def check_before_render(
    db: Session, storage: Storage, workspace_id: str, edit: Edit, brand: BrandUse | None, prefix: str
) -> dict[str, Any] | None:
    """The workspace's level applied before a render: ``off`` or no kit -> nothing; ``warn`` ->
    the findings to keep with the render; ``block`` -> 422 when any finding is an error. The
    return value goes in the render's meta under :data:`BRAND_META`."""
    if brand is None:
        return None
    record: dict[str, Any] = {**brand.as_json(), "compliance": None}
    level = compliance_level(db, workspace_id)
    if level == "off":
        return record
    findings = service_findings(db, storage, workspace_id, edit, brand.kit)
    errors = [f for f in findings if f.severity == "error"]
    if level == "block" and errors:
        count = len(errors)
        raise findings_problem(
            findings,
            prefix,
            f"the edit breaks {count} rule{'s' if count != 1 else ''} of "
            f"the brand kit {brand.name!r} and this workspace blocks such renders",
        )
    record["compliance"] = {
        "level": level,
        "passed": not errors,
        "findings": [f.as_json(prefix) for f in findings],
    }
    return record


def kit_deleted(db: Session, kit: BrandKit, actor: Actor) -> None:
    """Audits a kit's deletion, in its transaction. Renders made with it keep their filled
    edits; edits that still name it no longer validate."""
    record_audit(
        db,
        workspace_id=kit.workspace_id,
        action="brand_kit.deleted",
        resource_type="brand_kit",
        resource_id=kit.id,
        details={"name": kit.name, "version": kit.version},
        **actor,
    )


# ---------------------------------------------------------------- kits with versions


def kit_json(kit: BrandKit, body: dict[str, Any]) -> dict[str, Any]:
    """A kit as the API shows it: its current version's ``body`` between its identity and its
    name and times."""
    return {
        "id": kit.id,
        "object": "brand_kit",
        "version": kit.version,
        **body,
        "name": kit.name,
        "created_at": kit.created_at,
        "updated_at": kit.updated_at,
        "versions_url": f"/v1/brand_kits/{kit.id}/versions",
    }


def kit_version_json(version: BrandKitVersion) -> dict[str, Any]:
    return {
        "object": "brand_kit_version",
        "brand_kit": version.kit_id,
        "number": version.number,
        "kit": version.body,
        "message": version.message,
        "created_at": version.created_at,
    }


KITS: Versioned[BrandKit, BrandKitVersion] = Versioned(
    BrandKit,
    BrandKitVersion,
    counter="version",
    owner="kit_id",
    content="body",
    id_prefix="bk",
    version_prefix="bkv",
    what="brand kit",
    unit="version",
    versions_list="brand_kit_versions",
    owner_filter="kit",
    show=kit_json,
    show_version=kit_version_json,
)
"""Brand kits kept with versions, as projects keep revisions: the ETag is the version number and
a change is one ``UPDATE … WHERE version = :expected`` (:mod:`reelforge.services.versioning`)."""


def create_kit(
    db: Session, storage: Storage, workspace_id: str, body: BrandKitBody
) -> tuple[BrandKit, dict[str, Any]]:
    """The kit (its assets checked, as stored) at version 1, and what it stores; flushed, not
    committed (the caller stages its answer for Idempotency-Key and commits)."""
    stored = check_kit_assets(body, db, storage, workspace_id)
    return KITS.create(db, workspace_id, body.name, stored, body.message), stored


def replace_kit(
    db: Session,
    storage: Storage,
    workspace_id: str,
    kit_id: str,
    body: BrandKitBody,
    *,
    if_match: str | None,
) -> tuple[BrandKit, dict[str, Any]]:
    """``body`` (its assets checked as they are then) as the kit's next version (``If-Match``
    required); returns the kit and what it stores. Later renders use it, earlier ones keep
    theirs."""

    def make(kit: BrandKit, current: BrandKitVersion) -> Change:
        return check_kit_assets(body, db, storage, workspace_id), body.message, body.name

    return KITS.update(db, workspace_id, kit_id, make, if_match=if_match)


def delete_kit(db: Session, workspace_id: str, kit_id: str, *, if_match: str | None, actor: Actor) -> None:
    """Delete the kit and its versions (``If-Match`` honoured when given); audited and
    committed."""
    kit, _ = KITS.current(db, workspace_id, kit_id)
    KITS.remove(db, kit, if_match=if_match)
    kit_deleted(db, kit, actor)
    db.commit()


def kit_version(db: Session, workspace_id: str, kit_id: str, number: int) -> BrandKitVersion:
    """Version ``number`` of the workspace's kit ``kit_id`` (404 for either)."""
    kit, _ = KITS.current(db, workspace_id, kit_id)
    return KITS.version(db, kit, number)
