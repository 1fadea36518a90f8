"""The Python SDK of the Reelforge API: sync and async clients on httpx, typed models of every
request and response (generated from the OpenAPI document), retries with backoff and jitter,
an ``Idempotency-Key`` per create, typed exceptions, render waiting, resumable uploads, cursor
pages, downloads and webhook verification. It imports nothing of the server: ``httpx`` is all
it needs (``rich`` for progress bars).

    from reelforge.client import Client

    rf = Client("https://reelforge.example.com", api_key="rf_...")
    render = rf.renders.create(edit=edit).wait(progress=True)
    render.download("out/")

The CLI's own uploads and pushes use :class:`ServiceClient` (:mod:`reelforge.client.tus`).
"""

from __future__ import annotations

from . import models
from ._core import RetryPolicy, new_idempotency_key
from .aio import AsyncClient, AsyncPage, AsyncRender
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GoneError,
    InternalServerError,
    LockedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    ReelforgeError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
)
from .sync import Client, Page, Render
from .tus import CHUNK_BYTES, ServiceClient, ServiceError, default_state_file
from .webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "CHUNK_BYTES",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPage",
    "AsyncRender",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "GoneError",
    "InternalServerError",
    "LockedError",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "ReelforgeError",
    "Render",
    "RetryPolicy",
    "ServiceClient",
    "ServiceError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "WebhookVerificationError",
    "default_state_file",
    "models",
    "new_idempotency_key",
    "verify_webhook",
]
