"""Retention: render outputs older than the workspace's ``output_retention_days`` lose their
bytes (the asset row stays, marked expired, so renders still name their outputs); pinned assets
are never expired, nor an asset a render still running reads. Old events, audit entries,
idempotency records and finished deliveries are pruned. Nothing else is touched.

A run happens in the server process every ``retention_interval`` seconds
(:class:`RetentionScheduler`) and on demand with ``reelforge retention run``; two runs at once
are harmless (each asset is marked once, a missing file is not an error).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reelforge.db.audit import AuditEntry
from reelforge.db.events import Event
from reelforge.db.idempotency import purge_expired
from reelforge.db.models import TERMINAL_STATES, Asset, Render, RenderAsset, Workspace, utcnow
from reelforge.db.retention import AssetRetention
from reelforge.db.webhooks import WebhookEndpoint
from reelforge.db.workers import Heartbeat
from reelforge.delivery.worker import prune as prune_deliveries
from reelforge.media.ingest import remove_empty_dirs
from reelforge.render.limits import OUTPUT_RETENTION

from .asset_versions import expire_approvals
from .context import Services
from .errors import NotFound
from .limits import limits_of

__all__ = [
    "RetentionReport",
    "RetentionScheduler",
    "expire_outputs",
    "expired_at",
    "pin_asset",
    "prune_logs",
    "run_retention",
]

log = logging.getLogger("reelforge.retention")

BATCH = 200


@dataclass
class RetentionReport:
    expired_assets: int = 0
    freed_bytes: int = 0
    events: int = 0
    audit_entries: int = 0
    idempotency_records: int = 0
    deliveries: int = 0
    render_callbacks: int = 0
    approvals_expired: int = 0
    """Asset version approvals that ended (``approved_until``), told once by ``asset.approval_expired``."""
    expired_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _retention(db: Session, asset_id: str, workspace_id: str) -> AssetRetention:
    row = db.get(AssetRetention, asset_id)
    if row is None:
        row = AssetRetention(asset_id=asset_id, workspace_id=workspace_id, pinned=False, updated_at=utcnow())
        db.add(row)
    return row


def pin_asset(db: Session, workspace_id: str, asset_id: str, pinned: bool) -> dict[str, Any]:
    """Pin (or unpin) an asset: a pinned one is never expired. Committed."""
    asset = db.get(Asset, asset_id)
    if asset is None or asset.workspace_id != workspace_id:
        raise NotFound(f"no asset {asset_id}")
    row = _retention(db, asset_id, workspace_id)
    row.pinned, row.updated_at = pinned, utcnow()
    db.commit()
    return {
        "object": "asset_retention",
        "asset_id": asset_id,
        "pinned": row.pinned,
        "expired_at": row.expired_at,
    }


def expired_at(db: Session, asset_id: str) -> datetime | None:
    """When the asset's bytes were removed by retention (None: they are stored)."""
    return db.scalar(select(AssetRetention.expired_at).where(AssetRetention.asset_id == asset_id))


def expire_outputs(services: Services, now: datetime | None = None) -> RetentionReport:
    """Remove the bytes of render outputs past their workspace's retention."""
    now = now or utcnow()
    report = RetentionReport()
    with services.sessions() as db:
        workspaces = list(db.scalars(select(Workspace.id)))
        days = {ws: float(limits_of(db, ws, services.settings)[OUTPUT_RETENTION]) for ws in workspaces}
    for workspace_id, keep in days.items():
        if not keep:
            continue
        cutoff = now - timedelta(days=keep)
        kept = select(AssetRetention.asset_id).where(
            (AssetRetention.pinned.is_(True)) | AssetRetention.expired_at.is_not(None)
        )
        in_use = (
            select(RenderAsset.asset_id)
            .join(Render, Render.id == RenderAsset.render_id)
            .where(Render.state.not_in(TERMINAL_STATES))
        )
        while True:
            with services.sessions() as db:
                batch = list(
                    db.scalars(
                        select(Asset)
                        .where(
                            Asset.workspace_id == workspace_id,
                            Asset.source == "render",
                            Asset.created_at < cutoff,
                            Asset.id.not_in(kept),
                            Asset.id.not_in(in_use),
                        )
                        .order_by(Asset.created_at, Asset.id)
                        .limit(BATCH)
                    )
                )
                if not batch:
                    break
                keys: list[str] = []
                for asset in batch:
                    keys += [k for k in (asset.storage_key, asset.thumbnail_key, asset.waveform_key) if k]
                    row = _retention(db, asset.id, workspace_id)
                    row.expired_at, row.updated_at = now, now
                    report.expired_assets += 1
                    report.freed_bytes += asset.size_bytes
                    report.expired_ids.append(asset.id)
                db.commit()
            # Bytes go after the commit: a failure leaves an orphan file, never a stored asset
            # without its bytes.
            for key in keys:
                try:
                    services.storage.delete(key)
                except OSError as exc:
                    log.warning("retention could not remove %s: %s", key, exc)
            remove_empty_dirs(services.storage, keys)
    return report


def prune_logs(
    services: Services, now: datetime | None = None, report: RetentionReport | None = None
) -> RetentionReport:
    """Forget events, audit entries, idempotency records and finished deliveries past their age."""
    now = now or utcnow()
    report = report or RetentionReport()
    settings = services.settings
    with services.sessions() as db:
        result = db.execute(
            delete(Event)
            .where(Event.created_at < now - timedelta(days=settings.event_retention_days))
            .execution_options(synchronize_session=False)
        )
        report.events = int(getattr(result, "rowcount", 0) or 0)
        result = db.execute(
            delete(AuditEntry)
            .where(AuditEntry.created_at < now - timedelta(days=settings.audit_retention_days))
            .execution_options(synchronize_session=False)
        )
        report.audit_entries = int(getattr(result, "rowcount", 0) or 0)
        # One-off render callbacks (and their delivery logs, by cascade) once their render is old.
        result = db.execute(
            delete(WebhookEndpoint)
            .where(
                WebhookEndpoint.render_id.is_not(None),
                WebhookEndpoint.created_at < now - timedelta(days=settings.delivery_log_retention_days),
            )
            .execution_options(synchronize_session=False)
        )
        report.render_callbacks = int(getattr(result, "rowcount", 0) or 0)
        db.commit()
        report.idempotency_records = purge_expired(db, now)
    report.deliveries = prune_deliveries(
        services.sessions, now - timedelta(days=settings.delivery_log_retention_days)
    )
    return report


def run_retention(services: Services, now: datetime | None = None) -> RetentionReport:
    """One retention run: expired outputs, then the logs."""
    now = now or utcnow()
    report = expire_outputs(services, now)
    prune_logs(services, now, report)
    with services.sessions() as db:
        report.approvals_expired = expire_approvals(db, now)
    log.info(
        "retention: %d outputs expired (%d bytes), pruned %d events, %d audit entries, "
        "%d idempotency records, %d deliveries",
        report.expired_assets,
        report.freed_bytes,
        report.events,
        report.audit_entries,
        report.idempotency_records,
        report.deliveries,
    )
    return report


class RetentionScheduler:
    """Runs :func:`run_retention` every ``interval`` seconds in a thread (the embedded default)."""

    def __init__(self, services: Services, interval: float, *, name: str | None = None):
        self.services = services
        self.interval = interval
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}:retention"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat: Heartbeat | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()
        self._heartbeat = Heartbeat(
            self.services.sessions,
            self.name,
            "retention",
            self.alive,
            interval=self.services.settings.worker_heartbeat_interval,
        )
        self._heartbeat.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def stop(self) -> None:
        if self._heartbeat is not None:  # first: a clean stop is recorded as one, not seen as a death
            self._heartbeat.stop()
            self._heartbeat = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _run(self) -> None:
        # The first run waits one interval: a restart loop must not make a run per start.
        while not self._stop.wait(self.interval):
            try:
                run_retention(self.services)
            except Exception:
                log.exception("retention run failed")
