"""The API representations of destinations and deliveries (shown by the routes and carried by
``delivery.*`` events), so the worker and the API describe them alike."""

from __future__ import annotations

from typing import Any

from reelforge.db.delivery import Destination, OutputDelivery

__all__ = ["delivery_json", "destination_json"]


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
