"""Webhook endpoints of a workspace: register, change, rotate their secret, test them, read
their delivery log and send messages again.

Deliveries follow Standard Webhooks (conventions sheet §2) and are sent by the background
dispatcher (:mod:`reelforge.webhooks.dispatcher`). A URL is checked here (shape, scheme, port,
a literal address; a host name is not looked up, SSRF §9.1) and again at every delivery, where
the name is resolved and the connection goes only to an address that was checked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import Field, field_validator
from sqlalchemy import select

from reelforge.db.models import utcnow
from reelforge.db.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from reelforge.services import webhooks
from reelforge.services.context import Services
from reelforge.services.inputs import InputModel
from reelforge.webhooks.delivery import EVENT_TYPE_PATTERN, endpoint_json

from .. import examples_webhooks as exw
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import ServicesDep, SessionDep
from ..idempotency import Idempotency, idempotency
from ..pagination import list_body, page, page_by_number

__all__ = ["router"]

router = APIRouter(tags=["webhooks"])

BASE = webhooks.BASE
message_json = webhooks.message_json
attempt_json = webhooks.attempt_json
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


class EndpointCreate(InputModel):
    url: str = Field(min_length=1, max_length=2048)
    """Where deliveries are POSTed: https, port 443 or 80, a public address."""
    event_types: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=100)
    """Which events it receives: exact types (``render.succeeded``), prefixes (``render.*``), ``*``."""
    description: str = Field("", max_length=500)
    enabled: bool = True

    _types = field_validator("event_types")(_event_types)


class EndpointUpdate(InputModel):
    url: str | None = Field(None, min_length=1, max_length=2048)
    event_types: list[str] | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = None

    _types = field_validator("event_types")(_event_types)


class SecretRotate(InputModel):
    grace_seconds: int | None = Field(None, ge=0, le=MAX_GRACE)
    """How long the previous secret keeps signing next to the new one (default 24 h; 0 drops it now)."""


class Recover(InputModel):
    since: datetime
    until: datetime | None = None
    """Default: now."""

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-28T09:00:00Z")
        return value


# ---------------------------------------------------------------- representations


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
    db: SessionDep,
    services: ServicesDep,
    body: Annotated[EndpointCreate, Body(openapi_examples=exw.CREATE_ENDPOINT_BODY)],
    request: Request,
    response: Response,
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """The response's `secret` (`whsec_…`) signs every delivery; it is not shown again (rotate it
    to get a new one). The URL must be https on port 443 or 80 and reach a public address. The
    credential must be able to read the events it subscribes to (`render.*` needs
    `renders:read`, `*` every family's read scope)."""
    endpoint, secret = webhooks.create_endpoint(
        db,
        services,
        principal.workspace_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
        held=principal.scopes,
        actor=audit_actor(principal, request),
    )
    response.headers["Location"] = _location(services, f"{BASE}/{endpoint.id}")
    created = {**endpoint_json(endpoint, endpoint.created_at), "secret": secret}
    idem.stage(db, created, status=201, headers=response.headers, secret=True)
    db.commit()
    return created


@router.get(BASE, summary="List webhook endpoints, newest first", responses=exw.LIST_ENDPOINTS_RESPONSES)
def list_endpoints(
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    enabled: Annotated[
        bool | None, Query(description="Only enabled (true) or disabled (false) endpoints")
    ] = None,
    principal: Principal = Depends(require("webhooks:read")),
) -> dict[str, Any]:
    rows, nxt = page(
        request,
        response,
        webhooks.endpoints_query(principal.workspace_id, enabled),
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
    endpoint_id: str, db: SessionDep, principal: Principal = Depends(require("webhooks:read"))
) -> dict[str, Any]:
    return endpoint_json(webhooks.endpoint(db, principal.workspace_id, endpoint_id))


@router.patch(
    ONE,
    summary="Change a webhook endpoint's URL, event types, description or enabled state",
    responses=exw.UPDATE_ENDPOINT_RESPONSES,
)
def update_endpoint(
    db: SessionDep,
    services: ServicesDep,
    endpoint_id: str,
    body: Annotated[EndpointUpdate, Body(openapi_examples=exw.UPDATE_ENDPOINT_BODY)],
    request: Request,
    principal: Principal = Depends(require("webhooks:write")),
) -> dict[str, Any]:
    """Members left out keep their value. Disabling (`"enabled": false`) fails the messages
    waiting for the endpoint (replay them with recover after enabling it again)."""
    endpoint = webhooks.update_endpoint(
        db,
        services.settings,
        principal.workspace_id,
        endpoint_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
        held=principal.scopes,
        actor=audit_actor(principal, request),
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
    db: SessionDep,
    endpoint_id: str,
    request: Request,
    principal: Principal = Depends(require("webhooks:write")),
) -> Response:
    webhooks.delete_endpoint(db, principal.workspace_id, endpoint_id, audit_actor(principal, request))
    db.commit()
    return Response(status_code=204)


@router.post(
    ONE + "/rotate_secret",
    summary="Rotate the signing secret (the old one signs too for 24 h)",
    responses=exw.ROTATE_SECRET_RESPONSES,
)
def rotate_secret(
    db: SessionDep,
    services: ServicesDep,
    endpoint_id: str,
    request: Request,
    body: Annotated[SecretRotate | None, Body(openapi_examples=exw.ROTATE_SECRET_BODY)] = None,
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Returns the new `secret` (shown once). Until `previous_secret_expires_at` every delivery
    carries two signatures (`webhook-signature: v1,<new> v1,<old>`), so receivers can switch to
    the new secret without missing a delivery. Rotating again drops the older one at once.
    Concurrent rotations take turns; where the database cannot lock the row (SQLite) the one
    that lost the race gets 409 `conflict` (and its secret is never used)."""
    endpoint, secret, now = webhooks.rotate_secret(
        db,
        services,
        principal.workspace_id,
        endpoint_id,
        body.grace_seconds if body is not None else None,
        audit_actor(principal, request),
    )
    rotated = {**endpoint_json(endpoint, now), "secret": secret}
    idem.stage(db, rotated, status=200, secret=True)
    db.commit()
    return rotated


@router.post(
    ONE + "/enable",
    summary="Enable a webhook endpoint again (after it was disabled)",
    responses=exw.ENABLE_ENDPOINT_RESPONSES,
)
def enable_endpoint(
    db: SessionDep,
    endpoint_id: str,
    request: Request,
    principal: Principal = Depends(require("webhooks:write")),
) -> dict[str, Any]:
    """New events are delivered again; messages that failed meanwhile are not re-sent by
    themselves: use recover. Enabling an enabled endpoint changes nothing."""
    endpoint, changed = webhooks.enable_endpoint(
        db, principal.workspace_id, endpoint_id, audit_actor(principal, request)
    )
    if changed:
        db.commit()
    return endpoint_json(endpoint)


@router.post(
    ONE + "/test",
    status_code=202,
    summary="Send a test (`ping`) message to the endpoint",
    responses=exw.TEST_ENDPOINT_RESPONSES,
)
def test_endpoint(
    db: SessionDep,
    services: ServicesDep,
    endpoint_id: str,
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """A `ping` message, signed and delivered like any other (whatever the endpoint's event
    types); follow it in the delivery log."""
    body = message_json(*webhooks.send_test(db, principal.workspace_id, endpoint_id))
    idem.stage(db, body, status=202)
    db.commit()
    webhooks.wake(services)
    return body


# ---------------------------------------------------------------- delivery log


@router.get(
    ONE + "/messages",
    summary="List the messages sent (or to send) to an endpoint, newest first",
    responses=exw.LIST_MESSAGES_RESPONSES,
)
def list_messages(
    db: SessionDep,
    services: ServicesDep,
    endpoint_id: str,
    request: Request,
    response: Response,
    status: Annotated[
        Literal["pending", "sending", "succeeded", "failed"] | None,
        Query(description="Only messages in this delivery state"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("webhooks:read")),
) -> dict[str, Any]:
    endpoint, query = webhooks.messages_query(
        db, principal.workspace_id, endpoint_id, status, principal.scopes
    )
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
    messages = webhooks.messages_by_id(db, rows)
    return list_body(
        request, [message_json(d, messages[d.message_id]) for d in rows if d.message_id in messages], nxt
    )


@router.get(
    ONE + "/messages/{message_id}",
    summary="Get one message of an endpoint and its delivery state",
    responses=exw.GET_MESSAGE_RESPONSES,
)
def get_message(
    db: SessionDep,
    endpoint_id: str,
    message_id: str,
    principal: Principal = Depends(require("webhooks:read")),
) -> dict[str, Any]:
    return message_json(
        *webhooks.delivery(db, principal.workspace_id, endpoint_id, message_id, principal.scopes)
    )


@router.get(
    ONE + "/messages/{message_id}/attempts",
    summary="List a message's delivery attempts, newest first",
    responses=exw.LIST_ATTEMPTS_RESPONSES,
)
def list_attempts(
    db: SessionDep,
    services: ServicesDep,
    endpoint_id: str,
    message_id: str,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    principal: Principal = Depends(require("webhooks:read")),
) -> dict[str, Any]:
    """Each attempt: when, how long, the status code, allow-listed response headers, the first
    4 KiB of the response body, the error class (`timeout`, `dns`, `connect`, `tls`,
    `ssrf_blocked`, `http_status`) and when the next attempt is due."""
    delivery, _ = webhooks.delivery(db, principal.workspace_id, endpoint_id, message_id, principal.scopes)
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
    db: SessionDep,
    services: ServicesDep,
    endpoint_id: str,
    message_id: str,
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """An attempt is made at once, with the same `webhook-id` (receivers deduplicate on it), a
    new timestamp and signature; if it fails, the retry schedule starts again. Succeeded
    messages may be sent again too."""
    body = message_json(
        *webhooks.retry(db, principal.workspace_id, endpoint_id, message_id, principal.scopes)
    )
    idem.stage(db, body, status=202)
    db.commit()
    webhooks.wake(services)
    return body


@router.post(
    ONE + "/recover",
    status_code=202,
    summary="Send every failed message of a time window again",
    responses=exw.RECOVER_RESPONSES,
)
def recover_messages(
    db: SessionDep,
    services: ServicesDep,
    endpoint_id: str,
    body: Annotated[Recover, Body(openapi_examples=exw.RECOVER_BODY)],
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """After an outage of your receiver: every message of the endpoint that failed and was
    created in `[since, until)` is delivered again (same `webhook-id`s), with a fresh retry
    schedule."""
    recovery = webhooks.recover(db, principal.workspace_id, endpoint_id, body.since, body.until)
    idem.stage(db, recovery, status=202)
    db.commit()
    webhooks.wake(services)
    return recovery
