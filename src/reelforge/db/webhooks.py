"""Webhook endpoints, the messages sent to them, one delivery per (message, endpoint) and the
log of each delivery's attempts; plus the dispatcher's cursor into the event outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["WebhookAttempt", "WebhookCursor", "WebhookDelivery", "WebhookEndpoint", "WebhookMessage"]


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_workspace_created", "workspace_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    """Patterns: an exact type (``render.succeeded``), a prefix (``render.*``) or ``*``."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    """``manual``, ``gone`` (the receiver answered 410) or ``failing`` (sustained failure)."""
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    secret: Mapped[str] = mapped_column(Text)
    """The signing secret, encrypted (:class:`reelforge.webhooks.signing.SecretBox`)."""
    previous_secret: Mapped[str | None] = mapped_column(Text, default=None)
    """The secret before the last rotation, which still signs until ``previous_secret_expires_at``."""
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    """The first failed attempt since the last success (None while healthy)."""
    failures_since_success: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    render_id: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    """A one-off endpoint: the ``webhook_url`` of one render's request, which receives that
    render's events (and its deliveries') only; not listed with the workspace's endpoints
    (migration 0014)."""


class WebhookMessage(Base):
    """What is sent: the exact body bytes, so every retry and every endpoint gets the same ones."""

    __tablename__ = "webhook_messages"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """``msg_…``: the ``webhook-id`` header (the receivers' idempotency key)."""
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    """The outbox event it reports; None for test (``ping``) messages."""
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One message to one endpoint: made once (unique pair), then attempted until it succeeds,
    fails for good, or the endpoint is disabled."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id", name="uq_webhook_deliveries_message_endpoint"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("webhook_messages.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending`` (an attempt is due at ``next_attempt_at``), ``sending`` (claimed by a
    dispatcher until ``claimed_until``), ``succeeded`` or ``failed``."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Attempts made so far (the next one is number ``attempts + 1``)."""
    schedule_step: Mapped[int] = mapped_column(Integer, default=0)
    """Failures in the current round of the retry schedule (a manual retry starts a new round)."""
    trigger: Mapped[str] = mapped_column(String(16), default="scheduled")
    """What the next attempt is: ``scheduled`` or ``manual`` (a retry, recovery or test)."""
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "number"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(16), default="scheduled")
    """``scheduled`` or ``manual`` (a retry, recovery or test asked for by a user)."""
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    response_body: Mapped[str] = mapped_column(Text, default="")
    """The first 4 KiB of the response (decoded leniently)."""
    error_class: Mapped[str | None] = mapped_column(String(32), default=None)
    """``timeout``, ``dns``, ``connect``, ``tls``, ``ssrf_blocked``, ``http_status``, ``internal`` (the
    secret cannot be decrypted) or None (success)."""
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    dispatcher: Mapped[str | None] = mapped_column(String(100), default=None)


class WebhookCursor(Base):
    """How far the dispatchers have fanned the event outbox out (every ``seq`` <= ``last_seq``)."""

    __tablename__ = "webhook_cursor"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
