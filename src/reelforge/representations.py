"""The API representations of assets, renders, projects, keys and workspaces, outside the API package.

The API answers with them, and the event outbox records them: the render worker (``jobs``) and
ingest (``media``) write events in the same transaction as their changes, and neither may import
``api``. So the pure serialisation lives here, depending only on the tables; the routers use
these very functions, which keeps an event's ``data`` identical to what ``GET`` shows at that
moment.

Event payloads are *thin* (the conventions sheet asks for < 20 KB): a render is its full
representation (it never includes its edit), an asset its full representation, and a project
its representation without ``edit`` (fetch ``GET /v1/projects/{id}`` for that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.db.brands import BRAND_META
from reelforge.db.events import Event, record_event
from reelforge.db.models import (
    ApiKey,
    Asset,
    AssetTag,
    OAuthClient,
    Project,
    ProjectRevision,
    Render,
    Workspace,
)

__all__ = [
    "OutputAssets",
    "asset_json",
    "client_json",
    "client_metadata",
    "event_json",
    "json_ready",
    "key_json",
    "output_assets",
    "output_refs",
    "project_event_json",
    "project_json",
    "record_asset_event",
    "record_project_event",
    "record_render_event",
    "render_json",
    "render_seconds",
    "revision_json",
    "workspace_json",
]

_ANY = TypeAdapter(Any)


def json_ready(body: Any) -> Any:
    """``body`` with datetimes as RFC 3339 UTC ``…Z`` strings, exactly as responses write them."""
    return _ANY.dump_python(body, mode="json")


# ------------------------------------------------------------------ assets


def asset_json(asset: Asset, tags: list[str], collections: Sequence[str] = ()) -> dict[str, Any]:
    """The asset resource; ``collections`` are the named collections it belongs to."""
    base = f"/v1/assets/{asset.id}"
    return {
        "id": asset.id,
        "object": "asset",
        "name": asset.name,
        "kind": asset.kind,
        "content_type": asset.content_type,
        "size_bytes": asset.size_bytes,
        "sha256": asset.sha256,
        "media": asset.media,
        "tags": sorted(tags),
        "collections": sorted(collections),
        "metadata": asset.meta,
        "source": asset.source,
        "derived_from": asset.derived_from,
        "created_at": asset.created_at,
        "thumbnail_url": f"{base}/thumbnail" if asset.thumbnail_key else None,
        "waveform_url": f"{base}/waveform" if asset.waveform_key else None,
        "previews": asset.previews or ("ready" if asset.thumbnail_key or asset.waveform_key else "none"),
        "content_url": f"{base}/content",
        "version": asset.version or 1,
        "versions_url": f"{base}/versions",
        "external_ref": (
            {"system": asset.external_system, "id": asset.external_id} if asset.external_system else None
        ),
    }


# ------------------------------------------------------------------ renders

OutputAssets = dict[str, tuple[Asset, list[str]]]
"""Output assets and their tags, by asset id."""


def client_metadata(render: Render) -> dict[str, Any]:
    return {k: v for k, v in (render.meta or {}).items() if k != BRAND_META}


def output_refs(render: Render) -> list[dict[str, Any]]:
    """``[{"asset_id", "role", "output"}]`` in the order the files were made."""
    return [dict(r) for r in (render.outputs or []) if isinstance(r, dict)]


def _output_json(
    render_id: str, index: int, ref: dict[str, Any], asset: Asset, tags: list[str]
) -> dict[str, Any]:
    # The asset resource as GET /v1/assets/{id} shows it, plus what it is to this render.
    # ``file_name``: the file's own name in this render. An identical file made earlier (the same
    # captions for a 16:9 and a 9:16 output) is one asset, whose name is the first file's.
    return {
        **asset_json(asset, tags),
        "role": ref.get("role"),
        "output": ref.get("output"),
        "file_name": ref.get("name") or asset.name,
        "file_url": f"/v1/renders/{render_id}/files/{index}",
    }


def render_seconds(render: Render) -> float | None:
    if render.started_at is None or render.finished_at is None:
        return None
    return round((render.finished_at - render.started_at).total_seconds(), 3)


def render_json(render: Render, assets: OutputAssets, queue_position: int | None = None) -> dict[str, Any]:
    """The render resource; ``assets`` holds output assets and their tags by id (an output
    deleted since is left out); ``queue_position`` (while queued) from
    :func:`reelforge.jobs.queue.queue_positions`."""
    outputs = [
        _output_json(render.id, index, ref, *assets[ref["asset_id"]])
        for index, ref in enumerate(output_refs(render))
        if ref.get("asset_id") in assets
    ]
    return {
        "id": render.id,
        "object": "render",
        "state": render.state,
        "queue_position": queue_position,
        "priority": render.priority,
        "awaiting_approval": bool(render.awaiting_approval),
        "progress": round(render.progress or 0.0, 1),
        "eta_seconds": render.eta_seconds,
        "duration": render.duration,
        "project_id": render.project_id,
        "revision": render.revision,
        "created_at": render.created_at,
        "started_at": render.started_at,
        "finished_at": render.finished_at,
        "render_seconds": render_seconds(render),
        "attempts": render.attempts,
        "cancel_requested": render.cancel_requested,
        "error": render.error,
        "outputs": outputs,
        "metadata": client_metadata(render),
        "tags": list(render.tags or []),
        "brand": (render.meta or {}).get(BRAND_META),
        "template": (
            {"id": render.template_id, "version": render.template_version, "locale": render.locale}
            if render.template_id
            else None
        ),
        "purpose": render.purpose or "draft",
        "asset_versions": list(render.asset_versions or []),
    }


def output_assets(db: Session, renders: Sequence[Render]) -> OutputAssets:
    ids = {ref["asset_id"] for r in renders for ref in output_refs(r) if isinstance(ref.get("asset_id"), str)}
    if not ids:
        return {}
    tags: dict[str, list[str]] = {}
    for asset_id, tag in db.execute(
        select(AssetTag.asset_id, AssetTag.tag).where(AssetTag.asset_id.in_(ids))
    ):
        tags.setdefault(asset_id, []).append(tag)
    return {a.id: (a, tags.get(a.id, [])) for a in db.scalars(select(Asset).where(Asset.id.in_(ids)))}


# ------------------------------------------------------------------ projects


def project_json(project: Project, edit: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": project.id,
        "object": "project",
        "name": project.name,
        "revision": project.revision,
        "edit": edit,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "revisions_url": f"/v1/projects/{project.id}/revisions",
    }


def revision_json(revision: ProjectRevision) -> dict[str, Any]:
    return {
        "object": "project_revision",
        "project": revision.project_id,
        "number": revision.number,
        "edit": revision.edit,
        "message": revision.message,
        "created_at": revision.created_at,
    }


def project_event_json(
    project: Project,
    *,
    revision: int | None = None,
    name: str | None = None,
    updated_at: Any = None,
    message: str | None = None,
) -> dict[str, Any]:
    """A project for an event: its representation without ``edit`` (an edit can be large), plus
    the new revision's ``message``. ``revision``/``name``/``updated_at`` override the row's values
    when the change was written with a bulk UPDATE not yet reflected on ``project``."""
    body = project_json(project, {})
    del body["edit"]
    if revision is not None:
        body["revision"] = revision
    if name is not None:
        body["name"] = name
    if updated_at is not None:
        body["updated_at"] = updated_at
    if message is not None:
        body["revision_message"] = message
    return body


# ------------------------------------------------------------------ recording events


def record_render_event(db: Session, render: Render, type: str, queue_position: int | None = None) -> Event:
    """Record ``render.<what>`` with the render as ``GET /v1/renders/{id}`` shows it now (flush
    pending changes first, or pass a refreshed row); a queued render's ``queue_position`` comes
    from :func:`reelforge.jobs.queue.queue_positions` (a module above this one)."""
    data = json_ready(render_json(render, output_assets(db, [render]), queue_position))
    return record_event(
        db,
        workspace_id=render.workspace_id,
        type=type,
        resource_type="render",
        resource_id=render.id,
        data=data,
    )


def record_asset_event(
    db: Session, asset: Asset, tags: list[str], type: str = "asset.ready", collections: Sequence[str] = ()
) -> Event:
    return record_event(
        db,
        workspace_id=asset.workspace_id,
        type=type,
        resource_type="asset",
        resource_id=asset.id,
        data=json_ready(asset_json(asset, tags, collections)),
    )


def record_project_event(db: Session, project: Project, type: str, **overrides: Any) -> Event:
    return record_event(
        db,
        workspace_id=project.workspace_id,
        type=type,
        resource_type="project",
        resource_id=project.id,
        data=json_ready(project_event_json(project, **overrides)),
    )


# ------------------------------------------------------------------ the event resource


def event_json(event: Event) -> dict[str, Any]:
    """An event as ``GET /v1/events`` shows it (Standard-Webhooks-like: ``type``, ``data``)."""
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created_at": event.created_at,
        "sequence": event.seq,
        "resource": {"type": event.resource_type, "id": event.resource_id},
        "data": event.data,
    }


# ------------------------------------------------------------------ credentials and workspaces


def key_json(key: ApiKey, token: str | None = None) -> dict[str, Any]:
    """An API key as shown (``token`` only in the answer that made it, never again)."""
    body: dict[str, Any] = {
        "id": key.id,
        "object": "api_key",
        "name": key.name,
        "prefix": key.prefix,
        "last4": key.last4,
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }
    if token is not None:
        body["token"] = token
    return body


def client_json(client: OAuthClient, secret: str | None = None) -> dict[str, Any]:
    """An OAuth client as shown (``client_secret`` only in the answer that made it)."""
    body: dict[str, Any] = {
        "id": client.id,
        "object": "oauth_client",
        "name": client.name,
        "scopes": list(client.scopes),
        "created_at": client.created_at,
        "revoked_at": client.revoked_at,
    }
    if secret is not None:
        body["client_secret"] = secret
    return body


def workspace_json(ws: Workspace) -> dict[str, Any]:
    return {"id": ws.id, "object": "workspace", "name": ws.name, "created_at": ws.created_at}
