"""What webhook delivery decides, independent of how it runs: which endpoints an event goes
to, the payload, the retry schedule, what an attempt's outcome does to its delivery and its
endpoint (retry, give up, disable), in one transaction per outcome.

The dispatcher (:mod:`reelforge.webhooks.dispatcher`) moves the bytes; the webhook
services (``reelforge.services.webhooks``) use the same functions for retries, tests and disabling.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.events import Event, record_event
from reelforge.db.models import new_id, utcnow
from reelforge.db.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from reelforge.representations import json_ready
from reelforge.settings import Settings

from .signing import minified
from .ssrf import AddressPolicy, UrlPolicy

__all__ = [
    "EVENT_TYPE_PATTERN",
    "EXHAUSTED_EVENT",
    "NOT_DELIVERED",
    "Claimed",
    "Outcome",
    "disable_endpoint",
    "endpoint_json",
    "event_message",
    "matches",
    "ping_message",
    "record_outcomes",
    "url_policy",
]

API_VERSION = "v1"
EVENT_TYPE_PATTERN = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")
"""An exact type (``render.succeeded``), every type under a prefix (``render.*``) or ``*``."""
RESPONSE_BODY_LIMIT = 4096
THIN_VALUE_LIMIT = 512
"""A member of the event's resource larger than this (as JSON) stays out of the payload."""
THIN_PAYLOAD_LIMIT = 16 * 1024
THROTTLE_STATUSES = frozenset({429, 502, 503, 504})
"""A receiver saying it is overloaded: its Retry-After is honoured and its concurrency lowered."""
LOGGED_HEADERS = (
    "content-type",
    "content-length",
    "retry-after",
    "location",
    "date",
    "server",
    "x-request-id",
    "request-id",
)
ERROR_TEXT = {
    "timeout": "no complete response within the timeout",
    "dns": "the host name does not resolve",
    "connect": "the connection was refused or broken",
    "tls": "the TLS handshake failed (certificate or protocol)",
    "ssrf_blocked": "the URL is not allowed, or resolves to an address deliveries may not reach",
}


EXHAUSTED_EVENT = "webhook_message.exhausted"
NOT_DELIVERED = frozenset({EXHAUSTED_EVENT})
"""Event types never sent to webhook endpoints: an endpoint failing for good would otherwise
notify the others, and two failing endpoints would notify each other for ever."""


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------ endpoints


def url_policy(settings: Settings) -> UrlPolicy:
    """What webhook URLs may be, from the settings."""
    private = settings.webhooks_allow_private
    schemes = {"https", "http"} if private or settings.webhooks_allow_http else {"https"}
    ports = frozenset() if private else frozenset(settings.webhooks_allowed_ports)
    addresses = AddressPolicy.from_strings(allow_private=private, denied=settings.webhooks_denied_networks)
    return UrlPolicy(schemes=frozenset(schemes), ports=ports, addresses=addresses)


def matches(patterns: Iterable[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def endpoint_json(endpoint: WebhookEndpoint, now: datetime | None = None) -> dict[str, Any]:
    """The endpoint as the API shows it (never its secret)."""
    now = now or utcnow()
    overlap = (
        endpoint.previous_secret_expires_at
        if endpoint.previous_secret
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
        else None
    )
    return {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at,
        "previous_secret_expires_at": overlap,
        "health": {
            "last_success_at": endpoint.last_success_at,
            "failing_since": endpoint.failing_since,
            "failures_since_success": endpoint.failures_since_success,
        },
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "messages_url": f"/v1/webhook_endpoints/{endpoint.id}/messages",
    }


def disable_endpoint(
    db: Session,
    endpoint_id: str,
    reason: str,
    *,
    actor_type: str = "system",
    actor_id: str | None = None,
    request_id: str | None = None,
) -> bool:
    """Disable the endpoint (if enabled) in ``db``'s transaction: its waiting deliveries become
    ``failed`` (replayable with recover), ``webhook_endpoint.disabled`` is recorded as an event
    and in the audit log. True when this call disabled it (exactly one caller does)."""
    now = utcnow()
    result = cast(
        CursorResult[Any],
        db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        return False
    db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
        .values(status="failed", next_attempt_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    endpoint = db.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    assert endpoint is not None
    record_event(
        db,
        workspace_id=endpoint.workspace_id,
        type="webhook_endpoint.disabled",
        resource_type="webhook_endpoint",
        resource_id=endpoint.id,
        data=json_ready(endpoint_json(endpoint, now)),
    )
    record_audit(
        db,
        workspace_id=endpoint.workspace_id,
        action="webhook_endpoint.disabled",
        resource_type="webhook_endpoint",
        resource_id=endpoint.id,
        actor_type=actor_type,
        actor_id=actor_id,
        details={"reason": reason},
        request_id=request_id,
    )
    return True


# ------------------------------------------------------------------ messages


def message_id_for(event_id: str) -> str:
    """An event's ``webhook-id``: derived from the event's id, so it is the same for every
    endpoint and every dispatcher that fans the event out."""
    return "msg_" + event_id.split("_", 1)[-1]


def _reference(value: dict[str, Any]) -> dict[str, Any]:
    return {"id": value["id"], "object": value.get("object")}


def thin_data(event: Event) -> dict[str, Any]:
    """A thin payload: the resource's id and type, its scalar members (state, progress, ...),
    small objects (error, metadata) and, for nested resources (a render's output assets), their
    ids only. Receivers fetch the rest from the API, so payloads stay small (< 20 KB) and
    never go stale in a queue."""
    data: dict[str, Any] = {"id": event.resource_id, "object": event.resource_type}
    for key, value in (event.data or {}).items():
        if key in data:
            continue
        if value is None or isinstance(value, bool | int | float):
            data[key] = value
        elif isinstance(value, str):
            if len(value) <= THIN_VALUE_LIMIT:
                data[key] = value
        elif isinstance(value, dict) and "id" in value:
            data[key] = _reference(value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
            data[key] = [_reference(v) for v in value]
        elif len(minified(value)) <= THIN_VALUE_LIMIT:
            data[key] = value
    if len(minified(data)) > THIN_PAYLOAD_LIMIT:
        data = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    return data


def event_message(event: Event) -> WebhookMessage:
    body = {
        "type": event.type,
        "timestamp": utc_iso(event.created_at),
        "api_version": API_VERSION,
        "data": thin_data(event),
    }
    return WebhookMessage(
        id=message_id_for(event.id),
        workspace_id=event.workspace_id,
        event_id=event.id,
        type=event.type,
        body=minified(body).decode(),
        created_at=utcnow(),
    )


def ping_message(endpoint: WebhookEndpoint) -> WebhookMessage:
    now = utcnow()
    body = {
        "type": "ping",
        "timestamp": utc_iso(now),
        "api_version": API_VERSION,
        "data": {
            "id": endpoint.id,
            "object": "webhook_endpoint",
            "message": "a test event sent with POST /v1/webhook_endpoints/{id}/test",
        },
    }
    return WebhookMessage(
        id=new_id("msg"),
        workspace_id=endpoint.workspace_id,
        event_id=None,
        type="ping",
        body=minified(body).decode(),
        created_at=now,
    )


def new_delivery(
    message_id: str, endpoint_id: str, *, trigger: str = "scheduled", now: datetime | None = None
) -> WebhookDelivery:
    now = now or utcnow()
    return WebhookDelivery(
        id=new_id("dlv"),
        message_id=message_id,
        endpoint_id=endpoint_id,
        status="pending",
        attempts=0,
        schedule_step=0,
        trigger=trigger,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


# ------------------------------------------------------------------ attempts and their outcome


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher took for one attempt, with what it needs to send it."""

    delivery_id: str
    message_id: str
    endpoint_id: str
    url: str
    body: bytes
    secrets: list[str]
    number: int
    """This attempt's number (1 for the first)."""
    trigger: str
    schedule_step: int = 0


@dataclass
class Outcome:
    attempted_at: datetime
    duration_ms: float
    status: int | None = None
    error_class: str | None = None
    error: str | None = None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    next_attempt_at: datetime | None = None
    """Set when the outcome is recorded: when the next attempt is due (None: no more)."""

    @property
    def succeeded(self) -> bool:
        return self.error_class is None and self.status is not None and 200 <= self.status < 300

    def retry_after(self) -> float | None:
        """Seconds the receiver asked us to wait (429/502/503/504 only), if it said."""
        if self.status not in THROTTLE_STATUSES:
            return None
        value = self.headers.get("retry-after", "").strip()
        if not value:
            return None
        if value.isascii() and value.isdigit():  # "²" is a digit float() cannot read
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self.attempted_at).total_seconds())


def next_delay(settings: Settings, step: int, retry_after: float | None, rng: random.Random) -> float | None:
    """Seconds until the next attempt after the ``step``-th failure of a round (0-based), or None
    when the schedule is used up. ±jitter keeps retries of an outage from arriving together; a
    receiver's Retry-After is honoured (up to the schedule's longest step)."""
    schedule: Sequence[float] = settings.webhooks_retry_schedule
    if step >= len(schedule):
        return None
    jitter = settings.webhooks_retry_jitter
    delay = schedule[step] * rng.uniform(1 - jitter, 1 + jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(schedule)))
    return delay


def record_outcomes(
    db: Session,
    done: Sequence[tuple[Claimed, Outcome]],
    settings: Settings,
    *,
    dispatcher: str,
    rng: random.Random,
) -> list[str]:
    """Log attempts and move their deliveries and endpoints on, all in one transaction
    (committed): one commit for a batch of attempts, not one each. Returns the new statuses."""
    now = utcnow()
    ids = {claimed.endpoint_id for claimed, _ in done}
    endpoints = {e.id: e for e in db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(ids)))}
    statuses: list[str] = []
    attempts: list[dict[str, Any]] = []
    succeeded: set[str] = set()
    for claimed, outcome in done:
        endpoint = endpoints.get(claimed.endpoint_id)
        status = (
            "deleted"
            if endpoint is None
            else _move_on(db, claimed, outcome, endpoint, settings, dispatcher, rng, now)
        )
        statuses.append(status)
        if status == "deleted":  # deleted while the attempt was in flight: nothing to log it on
            continue
        attempts.append(
            {
                "id": new_id("att"),
                "delivery_id": claimed.delivery_id,
                "number": claimed.number,
                "trigger": claimed.trigger,
                "attempted_at": outcome.attempted_at,
                "duration_ms": round(outcome.duration_ms, 2),
                "response_status": outcome.status,
                "response_headers": outcome.headers,
                "response_body": outcome.body,
                "error_class": outcome.error_class,
                "error": (outcome.error or "")[:500] or None,
                "next_attempt_at": outcome.next_attempt_at,
                "dispatcher": dispatcher,
            }
        )
        if outcome.succeeded:
            succeeded.add(claimed.endpoint_id)
    if attempts:
        db.execute(insert(WebhookAttempt), attempts)
    for endpoint_id in succeeded:
        if any(c.endpoint_id == endpoint_id and not o.succeeded for c, o in done):
            continue  # a failure in the same batch counted already; the next success resets it
        stale = (
            (WebhookEndpoint.failing_since.is_not(None))
            | (WebhookEndpoint.failures_since_success != 0)
            | WebhookEndpoint.last_success_at.is_(None)
            | (WebhookEndpoint.last_success_at < now - timedelta(seconds=60))
        )
        # Skipped while the endpoint is healthy and recently recorded: no hot-row write per delivery.
        db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, stale)
            .values(failing_since=None, failures_since_success=0, last_success_at=now)
            .execution_options(synchronize_session=False)
        )
    db.commit()
    return statuses


def _move_on(
    db: Session,
    claimed: Claimed,
    outcome: Outcome,
    endpoint: WebhookEndpoint,
    settings: Settings,
    dispatcher: str,
    rng: random.Random,
    now: datetime,
) -> str:
    """The delivery's next state after this attempt (and, on failure, its endpoint's health)."""
    status: str
    next_at: datetime | None = None
    if outcome.succeeded:
        status = "succeeded"
    elif outcome.status == 410:
        status = "failed"
    else:
        delay = (
            next_delay(settings, claimed.schedule_step, outcome.retry_after(), rng)
            if endpoint.enabled
            else None
        )
        if delay is None:
            status = "failed"
        else:
            status, next_at = "pending", now + timedelta(seconds=delay)
    outcome.next_attempt_at = next_at
    # Only the claim's holder moves the delivery on (a stalled dispatcher whose lease expired
    # and was taken over still logs what it did, but decides nothing).
    moved = cast(
        CursorResult[Any],
        db.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claimed.delivery_id,
                WebhookDelivery.status == "sending",
                WebhookDelivery.claimed_by == dispatcher,
            )
            .values(
                status=status,
                next_attempt_at=next_at,
                claimed_by=None,
                claimed_until=None,
                attempts=claimed.number,
                schedule_step=0 if outcome.succeeded else claimed.schedule_step + 1,
                trigger="scheduled",
                last_attempt_at=outcome.attempted_at,
                last_response_status=outcome.status,
                last_error=outcome.error_class,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if moved.rowcount != 1:
        # Not our claim any more (deleted, or taken over after the lease ran out): the attempt is
        # logged, but its holder decides the delivery's fate and the endpoint's health.
        outcome.next_attempt_at = None
        if db.scalar(select(WebhookDelivery.id).where(WebhookDelivery.id == claimed.delivery_id)) is None:
            return "deleted"
        return "superseded"
    if status == "failed" and outcome.status != 410 and endpoint.enabled:
        _record_exhausted(db, claimed, endpoint)
    if not outcome.succeeded:
        db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id)
            .values(
                failing_since=func.coalesce(WebhookEndpoint.failing_since, outcome.attempted_at),
                failures_since_success=WebhookEndpoint.failures_since_success + 1,
            )
            .execution_options(synchronize_session=False)
        )
        db.refresh(endpoint)
        if outcome.status == 410:
            disable_endpoint(db, endpoint.id, "gone")
        elif (
            endpoint.enabled
            and endpoint.failing_since is not None
            and endpoint.failures_since_success >= settings.webhooks_disable_min_failures
            and now - endpoint.failing_since >= timedelta(seconds=settings.webhooks_disable_after)
        ):
            disable_endpoint(db, endpoint.id, "failing")
    return status


def _record_exhausted(db: Session, claimed: Claimed, endpoint: WebhookEndpoint) -> None:
    """``webhook_message.exhausted``: the retry schedule ran out for this message at this
    endpoint. An event (listed and streamed) but never delivered by webhook (see
    :data:`NOT_DELIVERED`)."""
    event_type = db.scalar(select(WebhookMessage.type).where(WebhookMessage.id == claimed.message_id))
    record_event(
        db,
        workspace_id=endpoint.workspace_id,
        type=EXHAUSTED_EVENT,
        resource_type="webhook_message",
        resource_id=claimed.message_id,
        data={
            "id": claimed.message_id,
            "object": "webhook_message",
            "endpoint_id": endpoint.id,
            "message_id": claimed.message_id,
            "event_type": event_type,
            "attempts": claimed.number,
        },
    )
