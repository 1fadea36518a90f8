"""Destinations and the deliveries of a render's files to them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import JSONObject, Out, Page

__all__ = [
    "AssetRetentionOut",
    "DeliveryList",
    "DeliveryOut",
    "DestinationCreated",
    "DestinationList",
    "DestinationOut",
]


class DestinationOut(Out):
    id: str
    object: Literal["destination"]
    name: str
    kind: Literal["folder", "s3", "http", "sftp"]
    config: JSONObject
    """What is not secret; credentials are never shown."""
    has_credentials: bool
    auto: bool
    """Every render of the workspace is delivered here."""
    enabled: bool
    created_at: datetime
    updated_at: datetime


class DestinationCreated(DestinationOut):
    secret: str | None = None
    """An HTTP destination's signing secret (``whsec_…``) when the server made it: in this
    response only."""


class DestinationList(Page):
    data: list[DestinationOut]


class DeliveryOut(Out):
    id: str
    object: Literal["delivery"]
    render_id: str
    destination_id: str
    asset_id: str
    output: int
    role: str
    file_name: str
    state: Literal["pending", "sending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime | None = None
    location: str | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None = None


class DeliveryList(Page):
    data: list[DeliveryOut]


class AssetRetentionOut(Out):
    object: Literal["asset_retention"]
    asset_id: str
    pinned: bool
    expired_at: datetime | None = None
    """When retention removed the asset's bytes (absent: they are stored)."""
