"""Claims on deliveries: who sends what, under a lease, in the database.

Due deliveries are claimed with a conditional ``UPDATE … WHERE status = 'pending'`` (the row
count says who won, as the render worker claims renders), with a lease renewed from the moment
a claim gets its slot to send; the attempt's outcome is written by the lease holder only. A
dispatcher that dies leaves its claims to expire and be taken again (at-least-once: the
receiver may see a message twice, with the same ``webhook-id``); a dispatcher stopped cleanly
hands its claims back. Retries wait in the database (``next_attempt_at``), so they survive
restarts. Retention (:func:`prune`) forgets finished deliveries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Row, delete, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from reelforge.db.models import utcnow
from reelforge.db.webhooks import WebhookDelivery, WebhookEndpoint, WebhookMessage

from .delivery import Claimed

__all__ = [
    "CLAIM_SCAN",
    "claim_due",
    "hand_back",
    "next_due",
    "prune",
    "recover_expired",
    "release",
    "renew",
]

log = logging.getLogger("reelforge.webhooks")

CLAIM_SCAN = 200
"""Due deliveries looked at per claim."""

Secrets = Callable[[str, str, str | None, datetime | None, datetime], list[str]]
"""(endpoint id, sealed secret, previous sealed secret, its expiry, now) -> the signing secrets."""


def _back_to_pending(now: datetime, due: datetime) -> dict[str, Any]:
    return {
        "status": "pending",
        "claimed_by": None,
        "claimed_until": None,
        "next_attempt_at": due,
        "updated_at": now,
    }


def release(sessions: sessionmaker[Session], name: str, at_start: bool) -> int:
    """Hand back the claims of dispatcher ``name``: at start, those a previous life of the same
    name left; at stop, those whose attempts were cancelled. They are due at once."""
    with sessions() as db:
        now = utcnow()
        result = cast(
            CursorResult[Any],
            db.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.status == "sending", WebhookDelivery.claimed_by == name)
                .values(**_back_to_pending(now, now))
                .execution_options(synchronize_session=False)
            ),
        )
        db.commit()
        if result.rowcount:
            log.info(
                "webhook dispatcher %s handed back %d deliveries (%s)",
                name,
                result.rowcount,
                "start" if at_start else "stop",
            )
        return int(result.rowcount)


def recover_expired(sessions: sessionmaker[Session]) -> int:
    """Claims whose lease ran out (their dispatcher died or stalled) are due again."""
    with sessions() as db:
        now = utcnow()
        result = cast(
            CursorResult[Any],
            db.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.status == "sending", WebhookDelivery.claimed_until < now)
                .values(**_back_to_pending(now, now))
                .execution_options(synchronize_session=False)
            ),
        )
        db.commit()
        if result.rowcount:
            log.warning("webhook deliveries taken back from a lost dispatcher: %d", result.rowcount)
        return int(result.rowcount)


def prune(sessions: sessionmaker[Session], retention_days: int) -> None:
    """Forget finished deliveries (and their attempts) past the retention period."""
    cutoff = utcnow() - timedelta(days=retention_days)
    with sessions() as db:
        db.execute(
            delete(WebhookDelivery)
            .where(WebhookDelivery.status.in_(("succeeded", "failed")), WebhookDelivery.updated_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        db.execute(
            delete(WebhookMessage)
            .where(
                WebhookMessage.created_at < cutoff,
                ~exists().where(WebhookDelivery.message_id == WebhookMessage.id),
            )
            .execution_options(synchronize_session=False)
        )
        db.commit()


def next_due(sessions: sessionmaker[Session]) -> float | None:
    """Seconds until the earliest waiting delivery is due (None: nothing waits)."""
    with sessions() as db:
        due = db.scalar(
            select(func.min(WebhookDelivery.next_attempt_at)).where(WebhookDelivery.status == "pending")
        )
    if due is None:
        return None
    if due.tzinfo is None:
        due = due.replace(tzinfo=utcnow().tzinfo)
    return (due - utcnow()).total_seconds()


def claim_due(
    sessions: sessionmaker[Session],
    name: str,
    lease: float,
    *,
    excluded: Sequence[str],
    choose: Callable[[Sequence[Row[str, str]]], list[str]],
    secrets: Secrets,
) -> list[Claimed]:
    """Claim for dispatcher ``name`` the due deliveries that ``choose`` picks (from the
    earliest due, rows of ``id, endpoint_id``), leaving out the ``excluded`` endpoints in SQL so
    one busy endpoint's backlog never hides the others' behind the scan's LIMIT."""
    now = utcnow()
    with sessions() as db:
        query = select(WebhookDelivery.id, WebhookDelivery.endpoint_id).where(
            WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now
        )
        if excluded:
            query = query.where(WebhookDelivery.endpoint_id.not_in(excluded))
        rows = db.execute(query.order_by(WebhookDelivery.next_attempt_at).limit(CLAIM_SCAN)).all()
        if not rows:
            return []
        chosen = choose(rows)
        if not chosen:
            return []
        until = now + timedelta(seconds=lease)
        won = list(
            db.scalars(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id.in_(chosen),
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= now,
                )
                .values(status="sending", claimed_by=name, claimed_until=until, updated_at=now)
                .returning(WebhookDelivery.id)
                .execution_options(synchronize_session=False)
            )
        )
        db.commit()
        if not won:
            return []
        found = db.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.attempts,
                WebhookDelivery.trigger,
                WebhookDelivery.schedule_step,
                WebhookMessage.id.label("message_id"),
                WebhookMessage.body,
                WebhookEndpoint.id.label("endpoint_id"),
                WebhookEndpoint.url,
                WebhookEndpoint.secret,
                WebhookEndpoint.previous_secret,
                WebhookEndpoint.previous_secret_expires_at,
            )
            .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id.in_(won))
        ).all()
        return [
            Claimed(
                item.id,
                item.message_id,
                item.endpoint_id,
                item.url,
                item.body.encode(),
                secrets(
                    item.endpoint_id, item.secret, item.previous_secret, item.previous_secret_expires_at, now
                ),
                item.attempts + 1,
                item.trigger,
                item.schedule_step,
            )
            for item in found
        ]


def renew(sessions: sessionmaker[Session], claim: Claimed, name: str, lease: float) -> bool:
    """Extend the claim's lease from now, for one send; False when the claim is no longer
    ``name``'s (its lease expired and the delivery was taken back) or the endpoint was disabled
    or deleted meanwhile (the delivery then fails like the endpoint's other waiting ones,
    replayable with recover)."""
    with sessions() as db:
        now = utcnow()
        ours = (
            WebhookDelivery.id == claim.delivery_id,
            WebhookDelivery.status == "sending",
            WebhookDelivery.claimed_by == name,
        )
        enabled = exists().where(
            WebhookEndpoint.id == WebhookDelivery.endpoint_id, WebhookEndpoint.enabled.is_(True)
        )
        renewed = cast(
            CursorResult[Any],
            db.execute(
                update(WebhookDelivery)
                .where(*ours, enabled)
                .values(claimed_until=now + timedelta(seconds=lease), updated_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
        if renewed.rowcount == 1:
            db.commit()
            return True
        failed = cast(
            CursorResult[Any],
            db.execute(
                update(WebhookDelivery)
                .where(*ours)
                .values(
                    status="failed", next_attempt_at=None, claimed_by=None, claimed_until=None, updated_at=now
                )
                .execution_options(synchronize_session=False)
            ),
        )
        db.commit()
        log.info(
            "webhook delivery %s not sent: %s",
            claim.delivery_id,
            "its endpoint was disabled" if failed.rowcount else "its claim was taken over",
        )
        return False


def hand_back(sessions: sessionmaker[Session], claim: Claimed, name: str, delay: float) -> None:
    """Give a claim back unsent, due in ``delay`` seconds (its endpoint asked for a pause)."""
    with sessions() as db:
        now = utcnow()
        db.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claim.delivery_id,
                WebhookDelivery.status == "sending",
                WebhookDelivery.claimed_by == name,
            )
            .values(**_back_to_pending(now, now + timedelta(seconds=delay)))
            .execution_options(synchronize_session=False)
        )
        db.commit()
