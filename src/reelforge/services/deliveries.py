"""A render's deliveries (one per output file and destination): list, read, deliver again.

The deliveries themselves are made when the render succeeds and sent by the delivery worker
(:mod:`reelforge.delivery.worker`)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from reelforge.db.delivery import OutputDelivery
from reelforge.db.models import Render, utcnow

from .context import Services, owned
from .errors import Conflict, NotFound

__all__ = ["deliveries_query", "delivery", "redeliver", "wake"]


def deliveries_query(db: Session, workspace_id: str, render_id: str, state: str | None = None) -> Select[Any]:
    owned(db, Render, render_id, workspace_id, "render")
    query = select(OutputDelivery).where(
        OutputDelivery.render_id == render_id, OutputDelivery.workspace_id == workspace_id
    )
    return query.where(OutputDelivery.state == state) if state else query


def delivery(db: Session, workspace_id: str, render_id: str, delivery_id: str) -> OutputDelivery:
    found = db.scalar(
        select(OutputDelivery).where(
            OutputDelivery.id == delivery_id,
            OutputDelivery.render_id == render_id,
            OutputDelivery.workspace_id == workspace_id,
        )
    )
    if found is None:
        raise NotFound(f"no delivery {delivery_id} of render {render_id}")
    return cast(OutputDelivery, found)


def redeliver(db: Session, workspace_id: str, render_id: str, delivery_id: str) -> OutputDelivery:
    """Send a finished delivery again now (a failed one, or a file removed at the destination);
    409 while it is still being tried. Its attempts and the retry schedule start over."""
    row = delivery(db, workspace_id, render_id, delivery_id)
    if row.state in ("pending", "sending"):
        raise Conflict(f"delivery {delivery_id} is {row.state}; it is already being delivered")
    now = utcnow()
    row.state, row.next_attempt_at, row.error, row.updated_at = "pending", now, None, now
    row.attempts = 0
    return row


def wake(services: Services) -> None:
    """Tell this process's delivery worker that something is due now (after the commit)."""
    worker = services.extras.get("delivery_worker")
    if worker is not None:
        worker.wake()
