"""Fan-out: new outbox events (``events.seq``) become webhook messages and one delivery per
matching endpoint, exactly once whatever number of dispatchers share the database.

A cursor row (``webhook_cursor``) says how far the outbox was read. It moves with a conditional
``UPDATE … WHERE last_seq = :seen`` in the transaction that creates the messages and
deliveries, so a restart continues where the committed cursor is. On PostgreSQL a transaction
may commit a lower ``seq`` after a higher one is visible; the cursor waits at such a gap until
every transaction running when it was seen has finished (or ``gap_timeout`` passed; a
rolled-back insert leaves a gap for ever).
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reelforge.db.events import Event
from reelforge.db.models import utcnow
from reelforge.db.webhooks import WebhookCursor, WebhookDelivery, WebhookEndpoint, WebhookMessage

from .delivery import NOT_DELIVERED, event_message, matches, new_delivery

__all__ = ["CURSOR", "FAN_OUT_BATCH", "GAP_SETTLE", "FanOut"]

log = logging.getLogger("reelforge.webhooks")

CURSOR = "events"
FAN_OUT_BATCH = 500
GAP_SETTLE = 0.2
"""Seconds after first seeing a gap before taking the reference snapshot (the transaction that
holds the missing ``seq`` has surely got its transaction id by then)."""

_MESSAGE_COLUMNS = [c.key for c in WebhookMessage.__table__.columns]
_DELIVERY_COLUMNS = [c.key for c in WebhookDelivery.__table__.columns]


def _about_render(event: Event, render_id: str) -> bool:
    """The event concerns the render a one-off endpoint was given for (the render itself, or
    the delivery of one of its files)."""
    if event.resource_type == "render":
        return event.resource_id == render_id
    return event.resource_type == "delivery" and (event.data or {}).get("render_id") == render_id


class FanOut:
    """One dispatcher's reader of the outbox; it remembers the gaps it is waiting at."""

    def __init__(self, sessions: sessionmaker[Session], *, gap_timeout: float = 60.0):
        self.sessions = sessions
        self.gap_timeout = gap_timeout
        self.gaps: dict[int, tuple[float, int | None]] = {}
        """Missing ``seq`` -> (first seen, monotonic; the snapshot's xmax when taken)."""

    def run(self) -> int:
        """Turn new outbox events into messages and deliveries; return how many events were read."""
        with self.sessions() as db:
            cursor = db.scalar(select(WebhookCursor.last_seq).where(WebhookCursor.name == CURSOR))
            if cursor is None:  # the first pass ever on this database
                try:
                    db.add(WebhookCursor(name=CURSOR, last_seq=0, updated_at=utcnow()))
                    db.commit()
                except IntegrityError:  # another dispatcher made it first
                    db.rollback()
                cursor = int(
                    db.scalar(select(WebhookCursor.last_seq).where(WebhookCursor.name == CURSOR)) or 0
                )
            events = list(
                db.scalars(select(Event).where(Event.seq > cursor).order_by(Event.seq).limit(FAN_OUT_BATCH))
            )
            if not events:
                return 0
            usable = self._contiguous(db, cursor, events)
            if not usable:
                return 0
            now = utcnow()
            result = cast(
                CursorResult[Any],
                db.execute(
                    update(WebhookCursor)
                    .where(WebhookCursor.name == CURSOR, WebhookCursor.last_seq == cursor)
                    .values(last_seq=usable[-1].seq, updated_at=now)
                    .execution_options(synchronize_session=False)
                ),
            )
            if result.rowcount != 1:  # another dispatcher fanned these out first
                db.rollback()
                return 0
            workspaces = {e.workspace_id for e in usable}
            # Disabled endpoints get their messages too, logged as failed without an attempt, so
            # that recover replays everything an outage missed once the endpoint is enabled again.
            endpoints = list(
                db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.workspace_id.in_(workspaces)))
            )
            made = 0
            messages: list[dict[str, Any]] = []
            deliveries: list[dict[str, Any]] = []
            for event in usable:
                if event.type in NOT_DELIVERED:
                    continue
                targets = [
                    ep
                    for ep in endpoints
                    if ep.workspace_id == event.workspace_id
                    and ep.created_at <= event.created_at
                    and matches(ep.event_types, event.type)
                    # an endpoint is never told about itself (no feedback loop of failures)
                    and not (event.resource_type == "webhook_endpoint" and event.resource_id == ep.id)
                    and (ep.render_id is None or _about_render(event, ep.render_id))
                ]
                if not targets:
                    continue
                message = event_message(event)
                messages.append({c: getattr(message, c) for c in _MESSAGE_COLUMNS})
                for endpoint in targets:
                    delivery = new_delivery(message.id, endpoint.id, now=now)
                    if not endpoint.enabled:
                        delivery.status, delivery.next_attempt_at = "failed", None
                    deliveries.append({c: getattr(delivery, c) for c in _DELIVERY_COLUMNS})
                    made += 1
            if messages:  # executemany: one statement per table for the whole batch
                db.execute(insert(WebhookMessage), messages)
                db.execute(insert(WebhookDelivery), deliveries)
            db.commit()
            if made:
                log.debug("fanned out %d events into %d deliveries", len(usable), made)
            return len(events)

    def _contiguous(self, db: Session, cursor: int, events: list[Event]) -> list[Event]:
        """The events up to the first gap in ``seq`` that may still fill (PostgreSQL only)."""
        out: list[Event] = []
        expected = cursor + 1
        for event in events:
            if event.seq > expected and not self._gap_settled(db, expected):
                break
            out.append(event)
            expected = event.seq + 1
        self.gaps = {seq: v for seq, v in self.gaps.items() if seq >= expected}
        return out

    def _gap_settled(self, db: Session, missing: int) -> bool:
        if db.get_bind().dialect.name != "postgresql":
            return True  # SQLite serialises writers: a gap is a deleted or rolled-back row
        now = time.monotonic()
        first, reference = self.gaps.get(missing, (now, None))
        if now - first >= self.gap_timeout:
            log.warning(
                "event seq %d never committed after %.0f s; going on without it", missing, self.gap_timeout
            )
            return True
        if reference is None:
            if now - first >= GAP_SETTLE:
                reference = int(
                    db.scalar(text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))
                )
            self.gaps[missing] = (first, reference)
            return False
        oldest = int(db.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")))
        return oldest >= reference  # every transaction running when the gap was seen has ended
