"""Verify the webhooks a Reelforge server sends (Standard Webhooks v1), without the server's
dependencies: the HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{body}`` under the
endpoint's ``whsec_`` secret, compared in constant time with each ``v1,`` signature.

    from reelforge.client.webhooks import verify_webhook

    event = verify_webhook(request.body, request.headers, secret="whsec_...")
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["TOLERANCE_SECONDS", "WebhookVerificationError", "sign_webhook", "verify_webhook"]

TOLERANCE_SECONDS = 300
"""How far ``webhook-timestamp`` may be from now, either way (replays of old messages fail)."""
SECRET_PREFIX = "whsec_"


class WebhookVerificationError(ValueError):
    """The message is not a genuine, fresh webhook of the endpoint with this secret."""


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from exc


def sign_webhook(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 signature>`` of exactly these body bytes (what the server sends)."""
    mac = hmac.new(_key(secret), f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """The event of a verified webhook (its JSON body), or :class:`WebhookVerificationError`.

    ``body`` must be the raw bytes received (parsing and re-serialising changes them);
    ``headers`` any mapping with the ``webhook-id``, ``webhook-timestamp`` and
    ``webhook-signature`` headers (names in any case). During a secret rotation the header has
    a signature by each secret: one match is enough."""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        webhook_id = lower["webhook-id"]
        stamp = lower["webhook-timestamp"]
        signatures = lower["webhook-signature"]
    except KeyError as exc:
        raise WebhookVerificationError(f"the {exc.args[0]} header is missing") from exc
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not a number of seconds") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is too far from now (a replay?)")
    expected = sign_webhook(secret, webhook_id, timestamp, raw).encode()
    if not any(
        hmac.compare_digest(expected, given.encode())
        for given in signatures.split()
        if given.startswith("v1,")
    ):
        raise WebhookVerificationError("no signature matches this secret")
    try:
        event: dict[str, Any] = json.loads(raw)
    except ValueError as exc:
        raise WebhookVerificationError("the body is not JSON") from exc
    return event
