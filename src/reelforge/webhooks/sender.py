"""Sending one attempt (signed POST through the SSRF-safe transport, the first 4 KiB of the
answer kept) and writing finished attempts to the attempt log."""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from datetime import datetime

import httpx
from sqlalchemy.orm import Session, sessionmaker

from reelforge import metrics
from reelforge.db.models import utcnow
from reelforge.settings import Settings
from reelforge.tracing import span

from .delivery import (
    ERROR_TEXT,
    LOGGED_HEADERS,
    RESPONSE_BODY_LIMIT,
    Claimed,
    Outcome,
    record_outcomes,
    url_policy,
)
from .signing import SecretBox, signature_header
from .ssrf import Resolver, SafeAsyncTransport, UnsafeURL, check_url, unsafe_cause

__all__ = ["USER_AGENT", "SecretCache", "open_client", "record_batch", "send"]

log = logging.getLogger("reelforge.webhooks")

USER_AGENT = "Reelforge-Webhooks/1.0"


def open_client(settings: Settings, resolver: Resolver) -> httpx.AsyncClient:
    """The client every attempt goes through: no redirects followed, no proxy from the
    environment, connections only to addresses the URL policy allows (checked when connecting)."""
    transport = SafeAsyncTransport(url_policy(settings).addresses, resolver=resolver)
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(settings.webhooks_timeout),
        headers={"User-Agent": USER_AGENT},
    )


class SecretCache:
    """Endpoints' signing secrets, decrypted once per stored value."""

    def __init__(self, box: SecretBox, size: int = 10_000):
        self.box = box
        self._size = size
        self._opened: dict[tuple[str, str], str] = {}

    def __call__(
        self,
        endpoint_id: str,
        sealed: str,
        previous: str | None,
        previous_until: datetime | None,
        now: datetime,
    ) -> list[str]:
        """The endpoint's signing secrets now (the previous one too while it is valid); none
        when one cannot be decrypted (the attempt then fails as ``internal``)."""
        wanted = [sealed]
        if previous and previous_until is not None and previous_until > now:
            wanted.append(previous)
        found: list[str] = []
        for value in wanted:
            key = (endpoint_id, value)
            if key not in self._opened:
                try:
                    if len(self._opened) > self._size:
                        self._opened.clear()
                    self._opened[key] = self.box.open(value, endpoint_id)
                except ValueError:
                    log.error(
                        "webhook endpoint %s: its secret cannot be decrypted (was secrets.json replaced?)",
                        endpoint_id,
                    )
                    return []
            found.append(self._opened[key])
        return found


async def send(client: httpx.AsyncClient, claim: Claimed, settings: Settings) -> Outcome:
    """One attempt; every failure is an :class:`Outcome` with its error class, never raised.
    Traced as a ``webhook.deliver`` client span with the delivery's id and the outcome."""
    with span(
        "webhook.deliver", kind="client", reelforge__webhook__delivery=claim.delivery_id
    ) as attempt_span:
        outcome = await _send(client, claim, settings)
        if attempt_span is not None:
            attempt_span.set_attribute("reelforge.webhook.succeeded", outcome.succeeded)
            if outcome.status is not None:
                attempt_span.set_attribute("http.response.status_code", outcome.status)
            if outcome.error_class:
                attempt_span.set_attribute("error.type", outcome.error_class)
        return outcome


async def _send(client: httpx.AsyncClient, claim: Claimed, settings: Settings) -> Outcome:
    attempted_at = utcnow()
    started = time.perf_counter()
    outcome = Outcome(attempted_at=attempted_at, duration_ms=0.0)
    try:
        if not claim.secrets:
            raise _Refused("internal", "the endpoint's secret cannot be read by this server")
        try:
            url = check_url(claim.url, url_policy(settings))  # the rules may have changed since
        except UnsafeURL:
            raise _Refused("ssrf_blocked", ERROR_TEXT["ssrf_blocked"]) from None
        timestamp = int(time.time())
        headers = {
            "webhook-id": claim.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(claim.secrets, claim.message_id, timestamp, claim.body),
            "content-type": "application/json",
        }
        async with asyncio.timeout(settings.webhooks_timeout):
            async with client.stream("POST", url, content=claim.body, headers=headers) as response:
                outcome.status = response.status_code
                outcome.headers = {k: response.headers[k] for k in LOGGED_HEADERS if k in response.headers}
                outcome.body = await _head(response)
        if not outcome.succeeded:
            outcome.error_class = "http_status"
            kind = "a redirect (never followed)" if 300 <= response.status_code < 400 else "not a 2xx"
            outcome.error = f"HTTP {response.status_code}: {kind}"
    except _Refused as exc:
        outcome.error_class, outcome.error = exc.error_class, exc.detail
    except (TimeoutError, httpx.TimeoutException):
        outcome.error_class, outcome.error = "timeout", ERROR_TEXT["timeout"]
    except Exception as exc:
        outcome.error_class = _error_class(exc)
        outcome.error = ERROR_TEXT.get(outcome.error_class, exc.__class__.__name__)
        if outcome.error_class == "connect" and not isinstance(exc, httpx.HTTPError):
            log.exception("webhook delivery %s: unexpected error", claim.delivery_id)
    outcome.duration_ms = (time.perf_counter() - started) * 1000
    label = metrics.label_value(outcome.error_class, default="success")
    metrics.WEBHOOK_ATTEMPTS.labels(label).inc()
    metrics.WEBHOOK_DURATION.labels(label).observe(outcome.duration_ms / 1000)
    return outcome


def record_batch(
    sessions: sessionmaker[Session],
    batch: list[tuple[Claimed, Outcome]],
    settings: Settings,
    *,
    dispatcher: str,
    rng: random.Random,
) -> None:
    """Write finished attempts in one transaction; when that fails, one by one (so one bad row
    does not lose the others)."""
    with sessions() as db:
        try:
            record_outcomes(db, batch, settings, dispatcher=dispatcher, rng=rng)
            return
        except Exception:
            if len(batch) == 1:
                raise
            db.rollback()
            log.exception("webhook dispatcher: a batch of attempts failed; writing them one by one")
    for item in batch:
        with sessions() as db:
            try:
                record_outcomes(db, [item], settings, dispatcher=dispatcher, rng=rng)
            except Exception:
                log.exception("webhook delivery %s: could not record the attempt", item[0].delivery_id)


class _Refused(Exception):
    def __init__(self, error_class: str, detail: str):
        super().__init__(detail)
        self.error_class = error_class
        self.detail = detail


def _error_class(exc: BaseException) -> str:
    unsafe = unsafe_cause(exc)
    if unsafe is not None:
        return "dns" if unsafe.reason == "dns" else "ssrf_blocked"
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return "tls"
        seen = seen.__cause__ or seen.__context__
    return "connect"


async def _head(response: httpx.Response) -> str:
    """The first 4 KiB of the body; the rest is not read."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= RESPONSE_BODY_LIMIT:
            break
    return data[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")
