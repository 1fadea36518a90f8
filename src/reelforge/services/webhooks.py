"""Webhook endpoints' operations: register (URL checked against SSRF rules, a secret made and
sealed), change, enable, rotate the secret, send a test message, retry one message and recover
a window of failed ones. Deliveries themselves are the dispatcher's (:mod:`reelforge.webhooks`).

Changes are made in the caller's transaction and the caller commits, so that an idempotent
request's answer is stored in the same transaction as its effect; audit entries go with them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, delete, or_, select, update
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.models import Render, new_id, utcnow
from reelforge.db.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from reelforge.settings import Settings
from reelforge.webhooks.delivery import (
    disable_endpoint,
    endpoint_json,
    new_delivery,
    ping_message,
    url_policy,
)
from reelforge.webhooks.signing import SecretBox, generate_secret
from reelforge.webhooks.ssrf import UnsafeURL, UrlPolicy, check_url

from .audit import Actor
from .context import Services
from .errors import Conflict, Forbidden, Invalid, NotFound
from .events import READ_SCOPES, read_scope, readable_families

__all__ = [
    "BASE",
    "check_subscription",
    "checked_url",
    "create_endpoint",
    "create_render_callback",
    "delete_endpoint",
    "delivery",
    "enable_endpoint",
    "endpoint",
    "endpoints_query",
    "messages_by_id",
    "messages_query",
    "recover",
    "retry",
    "rotate_secret",
    "send_test",
    "update_endpoint",
    "wake",
]

BASE = "/v1/webhook_endpoints"
"""Where endpoints are in the API (named in messages that tell the caller what to do next)."""


def endpoint(db: Session, workspace_id: str, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    """The workspace's endpoint; with ``lock``, its row is locked until the commit (PostgreSQL:
    concurrent read-modify-writes of one endpoint take turns instead of losing one change)."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id,
        WebhookEndpoint.workspace_id == workspace_id,
        WebhookEndpoint.render_id.is_(None),
    )
    found = db.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return found


def _box(services: Services) -> SecretBox:
    box = services.extras.get("webhook_secret_box")
    if box is None:
        box = services.extras["webhook_secret_box"] = SecretBox(services.secrets.pepper)
    return cast(SecretBox, box)


def wake(services: Services) -> None:
    """Tell the dispatcher that a delivery is due now (after the commit): this process's own,
    or through the broker the one a Celery worker runs."""
    for extra in ("webhook_dispatcher", "webhook_nudges"):
        dispatcher = services.extras.get(extra)
        if dispatcher is not None:
            dispatcher.wake()


def _audit(
    db: Session,
    workspace_id: str,
    actor: Actor,
    action: str,
    endpoint_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    record_audit(
        db,
        workspace_id=workspace_id,
        action=action,
        resource_type="webhook_endpoint",
        resource_id=endpoint_id,
        details=details,
        **actor,
    )


def _refuse_url(detail: str, code: str, pointer: str = "#/url") -> Invalid:
    return Invalid(
        detail, code="url-not-allowed", errors=[{"pointer": pointer, "detail": detail, "code": code}]
    )


def allowed_url(url: str, policy: UrlPolicy, *, pointer: str = "#/url", prefix: str = "") -> str:
    """The URL, normalised, if ``policy`` allows its shape; else 422 ``url-not-allowed`` at
    ``pointer`` (``prefix`` starts the message). The one check of webhook, destination and
    import URLs."""
    try:
        return str(check_url(url, policy))
    except UnsafeURL as exc:
        raise _refuse_url(f"{prefix}{exc}", exc.reason, pointer) from None


def checked_url(url: str, settings: Settings) -> str:
    """The URL, normalised, if deliveries may go there; else 422 ``url-not-allowed``.

    Only what the URL itself says is checked here: its shape, and a literal address (or a name
    that means loopback by definition, ``localhost``). A host name is never looked up at
    registration, so no client can make the server query DNS for names of its choosing (or
    probe which names resolve); every delivery resolves it and checks the addresses it would
    connect to (:class:`reelforge.webhooks.ssrf.SafeAsyncTransport`)."""
    return allowed_url(url, url_policy(settings))


def check_subscription(held: Collection[str], event_types: Sequence[str]) -> None:
    """An endpoint delivers its events' payloads to whoever runs the receiver, so whoever
    subscribes it must be able to read them: each pattern needs the read scope of the family it
    names (``asset.*`` needs ``assets:read``), ``*`` that of every family; 403 ``forbidden``."""
    missing: dict[str, list[str]] = {}
    for pattern in event_types:
        needed = set(READ_SCOPES.values()) if pattern == "*" else {read_scope(pattern.split(".", 1)[0])}
        for scope in sorted(needed - set(held)):
            missing.setdefault(scope, []).append(pattern)
    if missing:
        detail = "; ".join(
            f"`{scope}` (for {', '.join(p for p in patterns)})" for scope, patterns in missing.items()
        )
        raise Forbidden(
            f"an endpoint may only receive events this credential can read; it lacks {detail}",
            errors=[{"pointer": "#/event_types", "code": "forbidden", "detail": f"missing {detail}"}],
        )


def _require_enabled(found: WebhookEndpoint) -> None:
    if not found.enabled:
        raise Conflict(
            f"webhook endpoint {found.id} is disabled ({found.disabled_reason}); "
            f"enable it first (POST {BASE}/{found.id}/enable)"
        )


# ---------------------------------------------------------------- endpoints


def create_endpoint(
    db: Session,
    services: Services,
    workspace_id: str,
    *,
    url: str,
    event_types: list[str],
    description: str,
    enabled: bool,
    held: Collection[str],
    actor: Actor,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (``whsec_…``, shown once; only its sealed form is kept);
    ``held``: the caller's scopes (see :func:`check_subscription`)."""
    check_subscription(held, event_types)
    url = checked_url(url, services.settings)
    now = utcnow()
    secret = generate_secret()
    endpoint_id = new_id("we")
    created = WebhookEndpoint(
        id=endpoint_id,
        workspace_id=workspace_id,
        url=url,
        description=description,
        event_types=event_types,
        enabled=enabled,
        disabled_reason=None if enabled else "manual",
        disabled_at=None if enabled else now,
        secret=_box(services).seal(secret, endpoint_id),
        failures_since_success=0,
        created_at=now,
        updated_at=now,
    )
    db.add(created)
    _audit(
        db,
        workspace_id,
        actor,
        "webhook_endpoint.created",
        endpoint_id,
        {"url": url, "event_types": event_types, "enabled": enabled},
    )
    return created, secret


def create_render_callback(
    db: Session, services: Services, render: Render, url: str, *, held: Collection[str]
) -> str:
    """A one-off endpoint for a render's ``webhook_url`` (SSRF-checked like any endpoint; 422
    ``url-not-allowed`` pointing at ``#/webhook_url``): the render's events and its files'
    deliveries are sent there, signed with a secret of its own, returned (shown once)."""
    check_subscription(held, ["render.*"])
    try:
        url = str(check_url(url, url_policy(services.settings)))
    except UnsafeURL as exc:
        raise Invalid(
            str(exc),
            code="url-not-allowed",
            errors=[{"pointer": "#/webhook_url", "detail": str(exc), "code": exc.reason}],
        ) from None
    secret = generate_secret()
    endpoint_id = new_id("we")
    db.add(
        WebhookEndpoint(
            id=endpoint_id,
            workspace_id=render.workspace_id,
            url=url,
            description=f"callback of render {render.id}",
            event_types=["render.*", "delivery.*"],
            enabled=True,
            secret=_box(services).seal(secret, endpoint_id),
            failures_since_success=0,
            # As old as the render: its first event (render.queued) is sent too.
            created_at=render.created_at,
            updated_at=render.created_at,
            render_id=render.id,
        )
    )
    return secret


def endpoints_query(workspace_id: str, enabled: bool | None) -> Select[Any]:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.render_id.is_(None)
    )
    if enabled is not None:
        query = query.where(WebhookEndpoint.enabled.is_(enabled))
    return query


def _enable(db: Session, workspace_id: str, actor: Actor, found: WebhookEndpoint) -> None:
    now = utcnow()
    found.enabled = True
    found.disabled_reason = None
    found.disabled_at = None
    found.failing_since = None
    found.failures_since_success = 0
    found.updated_at = now
    _audit(db, workspace_id, actor, "webhook_endpoint.enabled", found.id)


def update_endpoint(
    db: Session,
    settings: Settings,
    workspace_id: str,
    endpoint_id: str,
    *,
    url: str | None,
    event_types: list[str] | None,
    description: str | None,
    enabled: bool | None,
    held: Collection[str],
    actor: Actor,
) -> WebhookEndpoint:
    """Members given as None keep their value. Disabling fails the messages waiting for the
    endpoint (replayable with recover after enabling it again). New ``event_types``, or a new
    ``url`` for the ones it has (pointing it elsewhere hands its events to another receiver),
    must be readable with ``held`` (see :func:`check_subscription`)."""
    checked = checked_url(url, settings) if url is not None else None
    found = endpoint(db, workspace_id, endpoint_id, lock=True)
    if event_types is not None or (checked is not None and checked != found.url):
        check_subscription(held, event_types if event_types is not None else list(found.event_types))
    changes: dict[str, Any] = {}
    if checked is not None and checked != found.url:
        changes["url"] = checked
    if event_types is not None and event_types != list(found.event_types):
        changes["event_types"] = event_types
    if description is not None and description != found.description:
        changes["description"] = description
    if changes:
        for name, value in changes.items():
            setattr(found, name, value)
        found.updated_at = utcnow()
        _audit(db, workspace_id, actor, "webhook_endpoint.updated", found.id, changes)
    if enabled is True and not found.enabled:
        _enable(db, workspace_id, actor, found)
    db.flush()
    if enabled is False and found.enabled:
        disable_endpoint(db, found.id, "manual", **actor)
    return found


def delete_endpoint(db: Session, workspace_id: str, endpoint_id: str, actor: Actor) -> None:
    found = endpoint(db, workspace_id, endpoint_id)
    _audit(db, workspace_id, actor, "webhook_endpoint.deleted", found.id, {"url": found.url})
    # Deliveries and attempts go with it (ON DELETE CASCADE); messages other endpoints share stay.
    db.execute(
        delete(WebhookEndpoint)
        .where(WebhookEndpoint.id == found.id)
        .execution_options(synchronize_session=False)
    )


def rotate_secret(
    db: Session,
    services: Services,
    workspace_id: str,
    endpoint_id: str,
    grace_seconds: int | None,
    actor: Actor,
) -> tuple[WebhookEndpoint, str, datetime]:
    """The endpoint with a new secret (returned once), the previous one still signing for
    ``grace_seconds`` (default: the setting); and the time of the rotation. Concurrent
    rotations take turns; where the database cannot lock the row (SQLite) the one that lost the
    race is refused with ``conflict`` (and its secret is never used)."""
    found = endpoint(db, workspace_id, endpoint_id, lock=True)
    grace = grace_seconds if grace_seconds is not None else services.settings.webhooks_secret_overlap
    now = utcnow()
    secret = generate_secret()
    current = found.secret
    rotated_values = {
        "secret": _box(services).seal(secret, found.id),
        "updated_at": now,
        "previous_secret": current if grace > 0 else None,
        "previous_secret_expires_at": now + timedelta(seconds=grace) if grace > 0 else None,
    }
    # Compare-and-set on the secret read above: a rotation committed in between is never undone.
    swapped = cast(
        CursorResult[Any],
        db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == found.id, WebhookEndpoint.secret == current)
            .values(**rotated_values)
            .execution_options(synchronize_session=False)
        ),
    )
    if swapped.rowcount != 1:
        db.rollback()
        raise Conflict(
            "the secret was rotated by another request at the same moment; "
            "rotate again if you need a newer secret"
        )
    db.refresh(found)
    _audit(db, workspace_id, actor, "webhook_endpoint.secret_rotated", found.id, {"grace_seconds": grace})
    return found, secret, now


def enable_endpoint(
    db: Session, workspace_id: str, endpoint_id: str, actor: Actor
) -> tuple[WebhookEndpoint, bool]:
    """The endpoint enabled, and whether it changed (enabling an enabled one does nothing)."""
    found = endpoint(db, workspace_id, endpoint_id, lock=True)
    if found.enabled:
        return found, False
    _enable(db, workspace_id, actor, found)
    return found, True


def send_test(db: Session, workspace_id: str, endpoint_id: str) -> tuple[WebhookDelivery, WebhookMessage]:
    """A ``ping`` message for the endpoint, delivered like any other (whatever its event types)."""
    found = endpoint(db, workspace_id, endpoint_id)
    _require_enabled(found)
    message = ping_message(found)
    db.add(message)
    db.flush()
    made = new_delivery(message.id, found.id, trigger="manual")
    db.add(made)
    return made, message


# ---------------------------------------------------------------- delivery log


def _readable_messages(scopes: Collection[str]) -> ColumnElement[bool] | None:
    """The messages a reader holding ``scopes`` may see (None: all): a message carries an event's
    payload, so the event's family rule applies (:data:`reelforge.services.events.READ_SCOPES`);
    a ``ping`` is about the endpoint itself."""
    families = readable_families(scopes)
    if families is None:
        return None
    return or_(
        WebhookMessage.type == "ping",
        *(WebhookMessage.type.startswith(f"{family}.", autoescape=True) for family in families),
    )


def _message_readable(message_type: str, scopes: Collection[str]) -> bool:
    family = "webhook_endpoint" if message_type == "ping" else message_type.split(".", 1)[0]
    return read_scope(family) in scopes


def messages_query(
    db: Session, workspace_id: str, endpoint_id: str, status: str | None, scopes: Collection[str]
) -> tuple[WebhookEndpoint, Select[Any]]:
    """The endpoint's deliveries whose messages a reader holding ``scopes`` may read."""
    found = endpoint(db, workspace_id, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == found.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    readable = _readable_messages(scopes)
    if readable is not None:
        query = query.where(WebhookDelivery.message_id.in_(select(WebhookMessage.id).where(readable)))
    return found, query


def messages_by_id(db: Session, deliveries: Sequence[WebhookDelivery]) -> dict[str, WebhookMessage]:
    """The messages of a page of deliveries, in one query."""
    if not deliveries:
        return {}
    ids = [d.message_id for d in deliveries]
    return {m.id: m for m in db.scalars(select(WebhookMessage).where(WebhookMessage.id.in_(ids)))}


def delivery(
    db: Session, workspace_id: str, endpoint_id: str, message_id: str, scopes: Collection[str]
) -> tuple[WebhookDelivery, WebhookMessage]:
    """One message of the endpoint and its delivery; 404 also when a reader holding ``scopes``
    may not read its event's family (as in the list)."""
    found = endpoint(db, workspace_id, endpoint_id)
    sent, message = _delivery_of(db, found, message_id)
    if not _message_readable(message.type, scopes):
        raise NotFound(f"webhook endpoint {found.id} has no message {message_id}")
    return sent, message


def _delivery_of(
    db: Session, found: WebhookEndpoint, message_id: str
) -> tuple[WebhookDelivery, WebhookMessage]:
    row = db.execute(
        select(WebhookDelivery, WebhookMessage)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.endpoint_id == found.id, WebhookDelivery.message_id == message_id)
    ).first()
    if row is None:
        raise NotFound(f"webhook endpoint {found.id} has no message {message_id}")
    return row[0], row[1]


def retry(
    db: Session, workspace_id: str, endpoint_id: str, message_id: str, scopes: Collection[str]
) -> tuple[WebhookDelivery, WebhookMessage]:
    """The message due again at once, with a fresh retry schedule (refused while an attempt is
    in flight); 404 for a message whose family a caller holding ``scopes`` may not read (the
    answer shows its payload)."""
    chosen, message = delivery(db, workspace_id, endpoint_id, message_id, scopes)
    found = endpoint(db, workspace_id, endpoint_id)
    _require_enabled(found)
    now = utcnow()
    result = cast(
        CursorResult[Any],
        db.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == chosen.id, WebhookDelivery.status != "sending")
            .values(status="pending", next_attempt_at=now, schedule_step=0, trigger="manual", updated_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        db.rollback()
        raise Conflict(f"an attempt to deliver {message_id} is in flight; look at its attempts")
    db.refresh(chosen)
    return chosen, message


def recover(
    db: Session, workspace_id: str, endpoint_id: str, since: datetime, until: datetime | None
) -> dict[str, Any]:
    """Every failed message of the endpoint created in ``[since, until)`` due again (same
    ``webhook-id``s, a fresh retry schedule); the ``webhook_recovery`` that says how many."""
    found = endpoint(db, workspace_id, endpoint_id)
    now = utcnow()
    end = until or now
    if end <= since:
        raise Invalid(
            "`until` must be after `since`",
            errors=[{"pointer": "#/until", "detail": "must be after since", "code": "invalid_window"}],
        )
    _require_enabled(found)
    result = cast(
        CursorResult[Any],
        db.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == found.id,
                WebhookDelivery.status == "failed",
                WebhookDelivery.created_at >= since,
                WebhookDelivery.created_at < end,
            )
            .values(status="pending", next_attempt_at=now, schedule_step=0, trigger="manual", updated_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    return {
        "object": "webhook_recovery",
        "endpoint_id": found.id,
        "since": since,
        "until": end,
        "messages": int(result.rowcount),
    }


# ------------------------------------------------------------------ representations


def message_json(delivery: WebhookDelivery, message: WebhookMessage) -> dict[str, Any]:
    """A message of an endpoint with its delivery state, as the API shows it."""
    return {
        "id": message.id,
        "object": "webhook_message",
        "endpoint_id": delivery.endpoint_id,
        "event_type": message.type,
        "event_id": message.event_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at if delivery.status in ("pending", "sending") else None,
        "last_attempt_at": delivery.last_attempt_at,
        "last_response_status": delivery.last_response_status,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "payload": json.loads(message.body),
        "attempts_url": f"{BASE}/{delivery.endpoint_id}/messages/{message.id}/attempts",
    }


def attempt_json(attempt: WebhookAttempt, delivery: WebhookDelivery) -> dict[str, Any]:
    """One delivery attempt: the response (status, headers, start of the body) or the error."""
    return {
        "id": attempt.id,
        "object": "webhook_attempt",
        "message_id": delivery.message_id,
        "endpoint_id": delivery.endpoint_id,
        "number": attempt.number,
        "trigger": attempt.trigger,
        "attempted_at": attempt.attempted_at,
        "duration_ms": attempt.duration_ms,
        "response_status": attempt.response_status,
        "response_headers": attempt.response_headers,
        "response_body": attempt.response_body,
        "error_class": attempt.error_class,
        "error": attempt.error,
        "next_attempt_at": attempt.next_attempt_at,
    }


def endpoints_shown(db: Session, workspace_id: str) -> list[dict[str, Any]]:
    """The workspace's endpoints as the API shows them, newest first."""
    query = endpoints_query(workspace_id, None).order_by(WebhookEndpoint.created_at.desc())
    return [endpoint_json(e) for e in db.scalars(query)]


def delivery_log(
    db: Session, workspace_id: str, endpoint_id: str, scopes: Collection[str], limit: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The endpoint and its newest ``limit`` messages a reader holding ``scopes`` may read, each
    with its attempts (newest first) under ``attempt_list``."""
    found, query = messages_query(db, workspace_id, endpoint_id, None, scopes)
    rows = list(
        db.scalars(query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit))
    )
    messages = messages_by_id(db, rows)
    attempts: dict[str, list[WebhookAttempt]] = {r.id: [] for r in rows}
    if rows:
        for attempt in db.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.number.desc())
        ):
            attempts[attempt.delivery_id].append(attempt)
    shown = [
        {
            **message_json(r, messages[r.message_id]),
            "attempt_list": [attempt_json(a, r) for a in attempts[r.id]],
        }
        for r in rows
        if r.message_id in messages
    ]
    return endpoint_json(found), shown
