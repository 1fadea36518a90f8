"""Webhook endpoints, the messages sent to them and each delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import JSONObject, Out, Page

__all__ = [
    "EndpointHealth",
    "WebhookAttemptList",
    "WebhookAttemptOut",
    "WebhookEndpointCreated",
    "WebhookEndpointList",
    "WebhookEndpointOut",
    "WebhookMessageList",
    "WebhookMessageOut",
    "WebhookRecovery",
]


class EndpointHealth(Out):
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    failures_since_success: int


class WebhookEndpointOut(Out):
    id: str
    object: Literal["webhook_endpoint"]
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None
    """While the previous secret still signs too (after a rotation)."""
    health: EndpointHealth
    created_at: datetime
    updated_at: datetime
    messages_url: str


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str
    """The signing secret (``whsec_…``), in this response only."""


class WebhookEndpointList(Page):
    data: list[WebhookEndpointOut]


class WebhookMessageOut(Out):
    id: str
    object: Literal["webhook_message"]
    endpoint_id: str
    event_type: str
    event_id: str | None = None
    status: Literal["pending", "sending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_response_status: int | None = None
    last_error: str | None = None
    created_at: datetime
    payload: JSONObject
    """The body sent (Standard Webhooks: ``type``, ``timestamp``, ``data``)."""
    attempts_url: str


class WebhookMessageList(Page):
    data: list[WebhookMessageOut]


class WebhookAttemptOut(Out):
    id: str
    object: Literal["webhook_attempt"]
    message_id: str
    endpoint_id: str
    number: int
    trigger: str
    attempted_at: datetime
    duration_ms: float
    response_status: int | None = None
    response_headers: dict[str, str]
    response_body: str
    error_class: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


class WebhookAttemptList(Page):
    data: list[WebhookAttemptOut]


class WebhookRecovery(Out):
    object: Literal["webhook_recovery"]
    endpoint_id: str
    since: datetime
    until: datetime
    messages: int
    """How many failed messages are sent again."""
