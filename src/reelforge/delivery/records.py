"""The API representations of destinations and deliveries (shown by the routes and carried by
``delivery.*`` events), so the worker and the API describe them alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.db.batches import BatchItem
from reelforge.db.delivery import Destination, OutputDelivery
from reelforge.db.models import Asset, Render

from .naming import aspect_of

__all__ = ["delivery_json", "destination_json", "naming_fields"]


def naming_fields(
    db: Session,
    render: Render,
    *,
    output: int,
    role: str,
    file_name: str,
    asset: Asset,
    row: int | None = None,
    locale: str | None = None,
) -> dict[str, Any]:
    """What a name template may use for one file of ``render`` (see
    :data:`reelforge.delivery.naming.FIELDS`); ``row`` and ``locale`` of a batch item when the
    file is named for one (a render shared by identical rows is named once per row)."""
    stem, dot, ext = file_name.rpartition(".")
    if not dot:
        stem, ext = file_name, ""
    # A poster's or a caption file's aspect is its video's: the output file of the same index.
    video = asset
    for ref in render.outputs or []:
        if isinstance(ref, dict) and ref.get("output") == output and ref.get("role") == "output":
            found = db.get(Asset, ref.get("asset_id"))
            if found is not None:
                video = found
    width, height = (video.media or {}).get("width"), (video.media or {}).get("height")
    if row is None:
        row = db.scalar(select(BatchItem.row).where(BatchItem.render_id == render.id).limit(1))
    return {
        "render": render.id,
        "template": render.template_id,
        "row": row,
        "locale": locale or render.locale,
        "aspect": aspect_of(width, height),
        "width": width,
        "height": height,
        "output": output,
        "role": role,
        "name": stem,
        "ext": ext,
    }


def destination_json(row: Destination) -> dict[str, Any]:
    """Never the credentials: only which of them are stored."""
    return {
        "id": row.id,
        "object": "destination",
        "name": row.name,
        "kind": row.kind,
        "config": dict(row.config or {}),
        "has_credentials": row.credentials is not None,
        "auto": row.auto,
        "enabled": row.enabled,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def delivery_json(row: OutputDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "delivery",
        "render_id": row.render_id,
        "destination_id": row.destination_id,
        "asset_id": row.asset_id,
        "output": row.output,
        "role": row.role,
        "file_name": row.file_name,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at if row.state in ("pending", "sending") else None,
        "location": row.location,
        "error": row.error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "delivered_at": row.delivered_at,
    }
