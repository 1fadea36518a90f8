"""Destinations (where a workspace's render outputs are delivered: a folder on the server, an
S3-compatible bucket, an HTTP endpoint, an SFTP server), which destinations a render names, and
one delivery per (render output file, destination) with its state and attempts.

Deliveries are made in the same transaction as the render's ``succeeded`` state
(:func:`schedule_deliveries`), so a render that succeeded always has them; the delivery worker
(:mod:`reelforge.delivery`) claims due ones under a lease, as the webhook dispatcher does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, Render, new_id, utcnow

__all__ = [
    "DELIVERY_STATES",
    "DESTINATION_KINDS",
    "Destination",
    "DestinationKind",
    "OutputDelivery",
    "RenderDestination",
    "schedule_deliveries",
]

DestinationKind = Literal["folder", "s3", "http", "sftp"]
DESTINATION_KINDS: tuple[DestinationKind, ...] = get_args(DestinationKind)
DeliveryState = Literal["pending", "sending", "succeeded", "failed"]
DELIVERY_STATES: tuple[DeliveryState, ...] = get_args(DeliveryState)


LOCATION_LENGTH = 2048
"""The longest delivery location stored (longer ones, e.g. a receiver's ``Location``, are not)."""
ERROR_LENGTH = 1000
"""The longest delivery error stored (longer ones are cut)."""


class Destination(Base):
    __tablename__ = "destinations"
    __table_args__ = (Index("ix_destinations_workspace_created", "workspace_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    """One of :data:`DESTINATION_KINDS`."""
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What is not secret (path, bucket, prefix, URL, host, host key, name template...)."""
    credentials: Mapped[str | None] = mapped_column(Text, default=None)
    """The secret part (keys, passwords, signing secret) as a JSON object, encrypted
    (:class:`reelforge.delivery.crypto.CredentialBox`); never shown by the API."""
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    """Deliver every render of the workspace here, named on the request or not."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RenderDestination(Base):
    """A destination named on a render's request."""

    __tablename__ = "render_destinations"
    render_id: Mapped[str] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), primary_key=True)
    destination_id: Mapped[str] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class OutputDelivery(Base):
    """One file of a render to one destination."""

    __tablename__ = "output_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "render_id", "asset_id", "output", "role", "destination_id", name="uq_output_delivery"
        ),
        Index("ix_output_deliveries_due", "state", "next_attempt_at"),
        Index("ix_output_deliveries_render", "render_id", "id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """``odl_…`` (an output delivery)"""
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    render_id: Mapped[str] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"))
    destination_id: Mapped[str] = mapped_column(ForeignKey("destinations.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[str] = mapped_column(String(40))
    output: Mapped[int] = mapped_column(Integer)
    """The index of the render output the file belongs to."""
    role: Mapped[str] = mapped_column(String(16))
    """output, poster, thumbnail or subtitles."""
    file_name: Mapped[str] = mapped_column(String(255))
    """The file's own name in the render (before the destination's name template)."""
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """One of :data:`DELIVERY_STATES`."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    location: Mapped[str | None] = mapped_column(String(LOCATION_LENGTH), default=None)
    """Where the file landed (``s3://bucket/key``, ``sftp://host/path``, a URL, a path)."""
    error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH), default=None)
    """The last attempt's error, safe to show (no credentials, no response bodies)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


def schedule_deliveries(db: Session, render_id: str) -> int:
    """Add a pending delivery per file of the (succeeded) render and destination (those its
    request named plus the workspace's ``auto`` ones, enabled); in the caller's transaction."""
    render = db.get(Render, render_id)
    if render is None:
        return 0
    named = select(RenderDestination.destination_id).where(RenderDestination.render_id == render_id)
    targets = list(
        db.scalars(
            select(Destination).where(
                Destination.workspace_id == render.workspace_id,
                Destination.enabled.is_(True),
                (Destination.auto.is_(True)) | Destination.id.in_(named),
            )
        )
    )
    if not targets:
        return 0
    now = utcnow()
    made = 0
    for ref in render.outputs or []:
        if not isinstance(ref, dict) or not isinstance(ref.get("asset_id"), str):
            continue
        for target in targets:
            db.add(
                OutputDelivery(
                    id=new_id("odl"),
                    workspace_id=render.workspace_id,
                    render_id=render_id,
                    destination_id=target.id,
                    asset_id=ref["asset_id"],
                    output=int(ref.get("output") or 0),
                    role=str(ref.get("role") or "output"),
                    file_name=str(ref.get("name") or ref["asset_id"]),
                    state="pending",
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            made += 1
    return made
