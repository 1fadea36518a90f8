"""A render's (or a batch's) files under names from a template: one file's download name, and
the entries of a ZIP of many (streamed by :func:`reelforge.media.zipstream.zip_stream`).

Names come from :mod:`reelforge.delivery.naming` (``{template}-{row}-{locale}-{aspect}.{ext}``
and the like); two files that would get the same name in one archive are told apart with
``-2``, ``-3``... before the extension. Expired outputs (retention) are left out of archives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.db.batches import Batch, BatchItem
from reelforge.db.models import Asset, Render
from reelforge.db.retention import AssetRetention
from reelforge.delivery.naming import check_template, file_name
from reelforge.delivery.records import naming_fields

from .context import Services, owned
from .errors import Conflict, Invalid, NotFound

__all__ = [
    "BATCH_TEMPLATE",
    "FILE_TEMPLATE",
    "ROLES",
    "NamedFile",
    "batch_files",
    "checked_template",
    "render_file",
    "render_files",
]

FILE_TEMPLATE = "{name}.{ext}"
"""A file's own name in its render (each output's, also for identical files)."""
BATCH_TEMPLATE = "{row}-{locale}-{aspect}-{role}.{ext}"
ROLES = ("output", "poster", "thumbnail", "subtitles")


@dataclass(frozen=True)
class NamedFile:
    name: str
    path: Path
    content_type: str
    modified: datetime


def checked_template(template: str | None, default: str) -> str:
    """``template`` (or ``default``) if it can name files; 422 pointing at the parameter."""
    value = template or default
    why = check_template(value)
    if why is not None:
        raise Invalid(why, errors=[{"parameter": "name_template", "code": "invalid", "detail": why}])
    return value


def _refs(render: Render) -> list[dict[str, Any]]:
    return [r for r in render.outputs or [] if isinstance(r, dict) and isinstance(r.get("asset_id"), str)]


def _expired(db: Session, asset_ids: list[str]) -> set[str]:
    if not asset_ids:
        return set()
    return set(
        db.scalars(
            select(AssetRetention.asset_id).where(
                AssetRetention.asset_id.in_(asset_ids), AssetRetention.expired_at.is_not(None)
            )
        )
    )


def render_file(
    db: Session, workspace_id: str, render_id: str, index: int, template: str
) -> tuple[Asset, str]:
    """The render's ``index``-th file (in the order its ``outputs`` list them: one identical
    asset may be two files of a render) and the name ``template`` gives it; 404 when there is
    no such file."""
    render = owned(db, Render, render_id, workspace_id, "render")
    refs = [r for r in render.outputs or [] if isinstance(r, dict)]
    ref = refs[index] if 0 <= index < len(refs) else None
    asset = db.get(Asset, ref.get("asset_id")) if ref is not None else None
    if ref is None or asset is None or asset.workspace_id != workspace_id:
        raise NotFound(f"render {render_id} has no file {index}")
    own = str(ref.get("name") or asset.name)
    fields = naming_fields(
        db, render, output=int(ref.get("output") or 0), role=str(ref.get("role")), file_name=own, asset=asset
    )
    return asset, file_name(template, fields)


def _unused(name: str, taken: set[str]) -> str:
    """``name``, or with ``-2``, ``-3``... before its extension: the first not in ``taken``
    (which holds every name given, the changed ones too, so a file already called ``a-2.mp4``
    does not meet a renamed second ``a.mp4``)."""
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    count = 2
    while (candidate := f"{stem}-{count}.{ext}" if dot else f"{name}-{count}") in taken:
        count += 1
    return candidate


def _named(
    db: Session,
    services: Services,
    render: Render,
    template: str,
    roles: tuple[str, ...],
    taken: set[str],
    row: int | None = None,
    locale: str | None = None,
) -> list[NamedFile]:
    refs = [r for r in _refs(render) if r.get("role") in roles]
    expired = _expired(db, [r["asset_id"] for r in refs])
    files = []
    for ref in refs:
        asset = db.get(Asset, ref["asset_id"])
        if asset is None or asset.id in expired:
            continue
        own = str(ref.get("name") or asset.name)
        fields = naming_fields(
            db,
            render,
            output=int(ref.get("output") or 0),
            role=str(ref.get("role")),
            file_name=own,
            asset=asset,
            row=row,
            locale=locale,
        )
        name = _unused(file_name(template, fields), taken)
        taken.add(name)
        files.append(
            NamedFile(
                name, services.storage.local_path(asset.storage_key), asset.content_type, asset.created_at
            )
        )
    return files


def render_files(
    db: Session, services: Services, workspace_id: str, render_id: str, template: str, roles: tuple[str, ...]
) -> list[NamedFile]:
    """The files of a succeeded render (409 before it succeeded), named by ``template``."""
    render = owned(db, Render, render_id, workspace_id, "render")
    if render.state != "succeeded":
        raise Conflict(f"render {render_id} is {render.state}; its files exist once it succeeded")
    return _named(db, services, render, template, roles, set())


def batch_files(
    db: Session, services: Services, workspace_id: str, batch_id: str, template: str, roles: tuple[str, ...]
) -> list[NamedFile]:
    """The files of a batch's succeeded renders, each item (row x locale) named for itself."""
    owned(db, Batch, batch_id, workspace_id, "batch")
    taken: set[str] = set()
    files: list[NamedFile] = []
    items = db.execute(
        select(BatchItem.row, BatchItem.locale, Render)
        .join(Render, Render.id == BatchItem.render_id)
        .where(BatchItem.batch_id == batch_id, Render.state == "succeeded")
        .order_by(BatchItem.position)
    ).all()
    for row, locale, render in items:
        files += _named(db, services, render, template, roles, taken, row=row, locale=locale)
    return files
