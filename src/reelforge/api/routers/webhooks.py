"""Webhook endpoints of a workspace: register, change, rotate their secret, test them, read
their delivery log and send messages again.

Deliveries follow Standard Webhooks (conventions sheet §2) and are sent by the background
dispatcher (:mod:`reelforge.webhooks.dispatcher`). A URL is checked here (shape, scheme, port,
and the addresses its host resolves to, SSRF §9.1) and again at every delivery, where the
connection goes only to the address that was checked.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.models import new_id, utcnow
from reelforge.db.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from reelforge.services.context import Services
from reelforge.webhooks.delivery import (
    EVENT_TYPE_PATTERN,
    disable_endpoint,
    endpoint_json,
    new_delivery,
    ping_message,
    url_policy,
)
from reelforge.webhooks.signing import SecretBox, generate_secret
from reelforge.webhooks.ssrf import BlockedAddress, ResolutionFailed, UnsafeURL, check_url, resolve_safe

from .. import examples_webhooks as exw
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import get_db, get_services
from ..idempotency import Idempotency, idempotency
from ..pagination import list_body, page, page_by_number
from ..problems import ApiError

__all__ = ["router"]

router = APIRouter(tags=["webhooks"])

BASE = "/v1/webhook_endpoints"
ONE = BASE + "/{endpoint_id}"
MAX_GRACE = 7 * 86400


def _event_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    bad = [t for t in value if not EVENT_TYPE_PATTERN.match(t)]
    if bad:
        raise ValueError(
            f"not event type patterns: {bad}; use a type (render.succeeded), a prefix "
            "(render.*) or * for every event"
        )
    return list(dict.fromkeys(value))


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2048)
    """Where deliveries are POSTed: https, port 443 or 80, a public address."""
    event_types: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=100)
    """Which events it receives: exact types (``render.succeeded``), prefixes (``render.*``), ``*``."""
    description: str = Field("", max_length=500)
    enabled: bool = True

    _types = field_validator("event_types")(_event_types)


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(None, min_length=1, max_length=2048)
    event_types: list[str] | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = None

    _types = field_validator("event_types")(_event_types)


class SecretRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_seconds: int | None = Field(None, ge=0, le=MAX_GRACE)
    """How long the previous secret keeps signing next to the new one (default 24 h; 0 drops it now)."""


class Recover(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: datetime
    until: datetime | None = None
    """Default: now."""

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-28T09:00:00Z")
        return value


# ---------------------------------------------------------------- helpers


def _endpoint(db: Session, principal: Principal, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    """The workspace's endpoint; with ``lock``, its row is locked until the commit (PostgreSQL:
    concurrent read-modify-writes of one endpoint take turns instead of losing one change)."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.workspace_id == principal.workspace_id
    )
    endpoint = db.scalar(query.with_for_update() if lock else query)
    if endpoint is None:
        raise ApiError("not-found", f"no webhook endpoint {endpoint_id}")
    return endpoint


def _box(services: Services) -> SecretBox:
    box = services.extras.get("webhook_secret_box")
    if box is None:
        box = services.extras["webhook_secret_box"] = SecretBox(services.secrets.pepper)
    return cast(SecretBox, box)


def _wake(services: Services) -> None:
    dispatcher = services.extras.get("webhook_dispatcher")
    if dispatcher is not None:
        dispatcher.wake()


def _audit(
    db: Session,
    request: Request,
    principal: Principal,
    action: str,
    endpoint_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    record_audit(
        db,
        workspace_id=principal.workspace_id,
        action=action,
        resource_type="webhook_endpoint",
        resource_id=endpoint_id,
        details=details,
        **audit_actor(principal, request),
    )


def _refuse_url(detail: str, code: str) -> ApiError:
    return ApiError("url-not-allowed", detail, errors=[{"pointer": "#/url", "detail": detail, "code": code}])


def checked_url(url: str, services: Services) -> str:
    """The URL, normalised, if deliveries may go there; else 422 ``url-not-allowed``.

    A host that resolves now must resolve only to allowed addresses; one that does not resolve
    (yet) is accepted, since every delivery resolves and checks again."""
    policy = url_policy(services.settings)
    try:
        parsed = check_url(url, policy)
    except UnsafeURL as exc:
        raise _refuse_url(str(exc), exc.reason) from None
    try:
        resolve_safe(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80), policy.addresses)
    except BlockedAddress as exc:
        raise _refuse_url(str(exc), exc.reason) from None
    except ResolutionFailed:
        pass
    return str(parsed)


def message_json(delivery: WebhookDelivery, message: WebhookMessage) -> dict[str, Any]:
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


def _delivery(
    db: Session, endpoint: WebhookEndpoint, message_id: str
) -> tuple[WebhookDelivery, WebhookMessage]:
    row = db.execute(
        select(WebhookDelivery, WebhookMessage)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.message_id == message_id)
    ).first()
    if row is None:
        raise ApiError("not-found", f"webhook endpoint {endpoint.id} has no message {message_id}")
    return row[0], row[1]


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise ApiError(
            "conflict",
            f"webhook endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}); "
            f"enable it first (POST {BASE}/{endpoint.id}/enable)",
        )


def _location(services: Services, path: str) -> str:
    return f"{services.settings.public_url.rstrip('/')}{path}"


# ---------------------------------------------------------------- endpoints


@router.post(
    BASE,
    status_code=201,
    summary="Register a webhook endpoint (its secret is shown once)",
    responses=exw.CREATE_ENDPOINT_RESPONSES,
)
def create_endpoint(
    body: Annotated[EndpointCreate, Body(openapi_examples=exw.CREATE_ENDPOINT_BODY)],
    request: Request,
    response: Response,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The response's `secret` (`whsec_…`) signs every delivery; it is not shown again (rotate it
    to get a new one). The URL must be https on port 443 or 80 and reach a public address."""
    url = checked_url(body.url, services)
    now = utcnow()
    secret = generate_secret()
    endpoint_id = new_id("we")
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        workspace_id=principal.workspace_id,
        url=url,
        description=body.description,
        event_types=body.event_types,
        enabled=body.enabled,
        disabled_reason=None if body.enabled else "manual",
        disabled_at=None if body.enabled else now,
        secret=_box(services).seal(secret, endpoint_id),
        failures_since_success=0,
        created_at=now,
        updated_at=now,
    )
    db.add(endpoint)
    _audit(
        db,
        request,
        principal,
        "webhook_endpoint.created",
        endpoint_id,
        {"url": url, "event_types": body.event_types, "enabled": body.enabled},
    )
    response.headers["Location"] = _location(services, f"{BASE}/{endpoint_id}")
    created = {**endpoint_json(endpoint, now), "secret": secret}
    idem.stage(db, created, status=201, headers=response.headers, secret=True)
    db.commit()
    return created


@router.get(BASE, summary="List webhook endpoints, newest first", responses=exw.LIST_ENDPOINTS_RESPONSES)
def list_endpoints(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    enabled: Annotated[
        bool | None, Query(description="Only enabled (true) or disabled (false) endpoints")
    ] = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("webhooks:read")),
) -> dict[str, Any]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.workspace_id == principal.workspace_id)
    if enabled is not None:
        query = query.where(WebhookEndpoint.enabled.is_(enabled))
    rows, nxt = page(
        request,
        response,
        query,
        WebhookEndpoint,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"list": "webhook_endpoints", "enabled": enabled},
        db=db,
    )
    now = utcnow()
    return list_body(request, [endpoint_json(e, now) for e in rows], nxt)


@router.get(ONE, summary="Get a webhook endpoint", responses=exw.GET_ENDPOINT_RESPONSES)
def get_endpoint(
    endpoint_id: str, db: Session = Depends(get_db), principal: Principal = Depends(require("webhooks:read"))
) -> dict[str, Any]:
    return endpoint_json(_endpoint(db, principal, endpoint_id))


@router.patch(
    ONE,
    summary="Change a webhook endpoint's URL, event types, description or enabled state",
    responses=exw.UPDATE_ENDPOINT_RESPONSES,
)
def update_endpoint(
    endpoint_id: str,
    body: Annotated[EndpointUpdate, Body(openapi_examples=exw.UPDATE_ENDPOINT_BODY)],
    request: Request,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("webhooks:write")),
) -> dict[str, Any]:
    """Members left out keep their value. Disabling (`"enabled": false`) fails the messages
    waiting for the endpoint (replay them with recover after enabling it again)."""
    url = checked_url(body.url, services) if body.url is not None else None  # resolves: before the lock
    endpoint = _endpoint(db, principal, endpoint_id, lock=True)
    changes: dict[str, Any] = {}
    if url is not None and url != endpoint.url:
        changes["url"] = url
    if body.event_types is not None and body.event_types != list(endpoint.event_types):
        changes["event_types"] = body.event_types
    if body.description is not None and body.description != endpoint.description:
        changes["description"] = body.description
    if changes:
        for name, value in changes.items():
            setattr(endpoint, name, value)
        endpoint.updated_at = utcnow()
        _audit(db, request, principal, "webhook_endpoint.updated", endpoint.id, changes)
    if body.enabled is True and not endpoint.enabled:
        _enable(db, request, principal, endpoint)
    db.flush()
    if body.enabled is False and endpoint.enabled:
        disable_endpoint(
            db,
            endpoint.id,
            "manual",
            actor_type=principal.kind,
            actor_id=principal.credential_id,
            request_id=getattr(request.state, "request_id", None),
        )
    db.commit()
    db.refresh(endpoint)
    return endpoint_json(endpoint)


@router.delete(
    ONE,
    status_code=204,
    summary="Delete a webhook endpoint and its delivery log",
    responses=exw.DELETE_ENDPOINT_RESPONSES,
)
def delete_endpoint(
    endpoint_id: str,
    request: Request,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("webhooks:write")),
) -> Response:
    endpoint = _endpoint(db, principal, endpoint_id)
    _audit(db, request, principal, "webhook_endpoint.deleted", endpoint.id, {"url": endpoint.url})
    # Deliveries and attempts go with it (ON DELETE CASCADE); messages other endpoints share stay.
    db.execute(
        delete(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return Response(status_code=204)


@router.post(
    ONE + "/rotate_secret",
    summary="Rotate the signing secret (the old one signs too for 24 h)",
    responses=exw.ROTATE_SECRET_RESPONSES,
)
def rotate_secret(
    endpoint_id: str,
    request: Request,
    body: Annotated[SecretRotate | None, Body(openapi_examples=exw.ROTATE_SECRET_BODY)] = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Returns the new `secret` (shown once). Until `previous_secret_expires_at` every delivery
    carries two signatures (`webhook-signature: v1,<new> v1,<old>`), so receivers can switch to
    the new secret without missing a delivery. Rotating again drops the older one at once.
    Concurrent rotations take turns; where the database cannot lock the row (SQLite) the one
    that lost the race gets 409 `conflict` (and its secret is never used)."""
    endpoint = _endpoint(db, principal, endpoint_id, lock=True)
    grace = (
        body.grace_seconds
        if body is not None and body.grace_seconds is not None
        else services.settings.webhooks_secret_overlap
    )
    now = utcnow()
    secret = generate_secret()
    current = endpoint.secret
    rotated_values = {
        "secret": _box(services).seal(secret, endpoint.id),
        "updated_at": now,
        "previous_secret": current if grace > 0 else None,
        "previous_secret_expires_at": now + timedelta(seconds=grace) if grace > 0 else None,
    }
    # Compare-and-set on the secret read above: a rotation committed in between is never undone.
    swapped = cast(
        CursorResult[Any],
        db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.secret == current)
            .values(**rotated_values)
            .execution_options(synchronize_session=False)
        ),
    )
    if swapped.rowcount != 1:
        db.rollback()
        raise ApiError(
            "conflict",
            "the secret was rotated by another request at the same moment; "
            "rotate again if you need a newer secret",
        )
    db.refresh(endpoint)
    _audit(db, request, principal, "webhook_endpoint.secret_rotated", endpoint.id, {"grace_seconds": grace})
    rotated = {**endpoint_json(endpoint, now), "secret": secret}
    idem.stage(db, rotated, status=200, secret=True)
    db.commit()
    return rotated


def _enable(db: Session, request: Request, principal: Principal, endpoint: WebhookEndpoint) -> None:
    now = utcnow()
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.disabled_at = None
    endpoint.failing_since = None
    endpoint.failures_since_success = 0
    endpoint.updated_at = now
    _audit(db, request, principal, "webhook_endpoint.enabled", endpoint.id)


@router.post(
    ONE + "/enable",
    summary="Enable a webhook endpoint again (after it was disabled)",
    responses=exw.ENABLE_ENDPOINT_RESPONSES,
)
def enable_endpoint(
    endpoint_id: str,
    request: Request,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("webhooks:write")),
) -> dict[str, Any]:
    """New events are delivered again; messages that failed meanwhile are not re-sent by
    themselves: use recover. Enabling an enabled endpoint changes nothing."""
    endpoint = _endpoint(db, principal, endpoint_id, lock=True)
    if not endpoint.enabled:
        _enable(db, request, principal, endpoint)
        db.commit()
    return endpoint_json(endpoint)


@router.post(
    ONE + "/test",
    status_code=202,
    summary="Send a test (`ping`) message to the endpoint",
    responses=exw.TEST_ENDPOINT_RESPONSES,
)
def test_endpoint(
    endpoint_id: str,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """A `ping` message, signed and delivered like any other (whatever the endpoint's event
    types); follow it in the delivery log."""
    endpoint = _endpoint(db, principal, endpoint_id)
    _require_enabled(endpoint)
    message = ping_message(endpoint)
    db.add(message)
    db.flush()
    delivery = new_delivery(message.id, endpoint.id, trigger="manual")
    db.add(delivery)
    body = message_json(delivery, message)
    idem.stage(db, body, status=202)
    db.commit()
    _wake(services)
    return body


# ---------------------------------------------------------------- delivery log


@router.get(
    ONE + "/messages",
    summary="List the messages sent (or to send) to an endpoint, newest first",
    responses=exw.LIST_MESSAGES_RESPONSES,
)
def list_messages(
    endpoint_id: str,
    request: Request,
    response: Response,
    status: Annotated[
        Literal["pending", "sending", "succeeded", "failed"] | None,
        Query(description="Only messages in this delivery state"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("webhooks:read")),
) -> dict[str, Any]:
    endpoint = _endpoint(db, principal, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows, nxt = page(
        request,
        response,
        query,
        WebhookDelivery,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"list": "webhook_messages", "endpoint": endpoint.id, "status": status},
        db=db,
    )
    messages = (
        {
            m.id: m
            for m in db.scalars(
                select(WebhookMessage).where(WebhookMessage.id.in_([d.message_id for d in rows]))
            )
        }
        if rows
        else {}
    )
    return list_body(
        request, [message_json(d, messages[d.message_id]) for d in rows if d.message_id in messages], nxt
    )


@router.get(
    ONE + "/messages/{message_id}",
    summary="Get one message of an endpoint and its delivery state",
    responses=exw.GET_MESSAGE_RESPONSES,
)
def get_message(
    endpoint_id: str,
    message_id: str,
    db: Session = Depends(get_db),
    principal: Principal = Depends(require("webhooks:read")),
) -> dict[str, Any]:
    return message_json(*_delivery(db, _endpoint(db, principal, endpoint_id), message_id))


@router.get(
    ONE + "/messages/{message_id}/attempts",
    summary="List a message's delivery attempts, newest first",
    responses=exw.LIST_ATTEMPTS_RESPONSES,
)
def list_attempts(
    endpoint_id: str,
    message_id: str,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("webhooks:read")),
) -> dict[str, Any]:
    """Each attempt: when, how long, the status code, allow-listed response headers, the first
    4 KiB of the response body, the error class (`timeout`, `dns`, `connect`, `tls`,
    `ssrf_blocked`, `http_status`) and when the next attempt is due."""
    delivery, _ = _delivery(db, _endpoint(db, principal, endpoint_id), message_id)
    filters = {"list": "webhook_attempts", "delivery": delivery.id}
    query = select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
    rows, next_cursor = page_by_number(
        request,
        response,
        query,
        WebhookAttempt.number,
        stamp=WebhookAttempt.attempted_at,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters=filters,
        db=db,
        then=[WebhookAttempt.id.desc()],
    )
    return list_body(request, [attempt_json(a, delivery) for a in rows], next_cursor)


@router.post(
    ONE + "/messages/{message_id}/retry",
    status_code=202,
    summary="Send a message to the endpoint again",
    responses=exw.RETRY_MESSAGE_RESPONSES,
)
def retry_message(
    endpoint_id: str,
    message_id: str,
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """An attempt is made at once, with the same `webhook-id` (receivers deduplicate on it), a
    new timestamp and signature; if it fails, the retry schedule starts again. Succeeded
    messages may be sent again too."""
    endpoint = _endpoint(db, principal, endpoint_id)
    delivery, message = _delivery(db, endpoint, message_id)
    _require_enabled(endpoint)
    now = utcnow()
    result = cast(
        CursorResult[Any],
        db.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id, WebhookDelivery.status != "sending")
            .values(status="pending", next_attempt_at=now, schedule_step=0, trigger="manual", updated_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        db.rollback()
        raise ApiError("conflict", f"an attempt to deliver {message_id} is in flight; look at its attempts")
    db.refresh(delivery)
    body = message_json(delivery, message)
    idem.stage(db, body, status=202)
    db.commit()
    _wake(services)
    return body


@router.post(
    ONE + "/recover",
    status_code=202,
    summary="Send every failed message of a time window again",
    responses=exw.RECOVER_RESPONSES,
)
def recover_messages(
    endpoint_id: str,
    body: Annotated[Recover, Body(openapi_examples=exw.RECOVER_BODY)],
    db: Session = Depends(get_db),
    services: Services = Depends(get_services),
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """After an outage of your receiver: every message of the endpoint that failed and was
    created in `[since, until)` is delivered again (same `webhook-id`s), with a fresh retry
    schedule."""
    endpoint = _endpoint(db, principal, endpoint_id)
    now = utcnow()
    until = body.until or now
    if until <= body.since:
        raise ApiError(
            "validation-error",
            "`until` must be after `since`",
            errors=[{"pointer": "#/until", "detail": "must be after since", "code": "invalid_window"}],
        )
    _require_enabled(endpoint)
    result = cast(
        CursorResult[Any],
        db.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.status == "failed",
                WebhookDelivery.created_at >= body.since,
                WebhookDelivery.created_at < until,
            )
            .values(status="pending", next_attempt_at=now, schedule_step=0, trigger="manual", updated_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    recovery = {
        "object": "webhook_recovery",
        "endpoint_id": endpoint.id,
        "since": body.since,
        "until": until,
        "messages": int(result.rowcount),
    }
    idem.stage(db, recovery, status=202)
    db.commit()
    _wake(services)
    return recovery
